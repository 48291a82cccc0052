"""ScratchPool: large NumPy buffers reused from one training step to the next,
as CuPy's memory pool reuses device memory.

Fresh memory costs a page fault per 4 KiB page on first touch, and glibc hands
large freed blocks back to the OS, so arrays allocated anew every step pay those
faults every step: about 1,000 of them, a quarter of the time, in a LeNet step
at batch 64 on the development machine.

A block is handed out again only when nothing references it. Every array the pool
hands out is a view whose ``base`` is the block (NumPy points views of views at
the block too), so the block's reference count is back to the pool's own once
they are all gone.

Blocks are keyed by size in bytes, not by shape, so a gradient can take the block
an activation of the same size has just released. Among the free blocks of a
size, the one handed out most recently goes first: its memory is the likeliest
to be still in cache.
"""
import math
import sys
import threading
from collections import OrderedDict

import numpy as np


class ScratchPool:
    MIN_BYTES = 1 << 18         # smaller arrays come cheaply from malloc's free lists
    MAX_BYTES = 256 << 20       # never keep more than this alive for reuse
    PER_SIZE = 16               # blocks kept per size (more in use at once come from malloc)

    def __init__(self):
        self._blocks = OrderedDict()  # nbytes -> [uint8 blocks, most recently handed out last]
        self._bytes = 0
        self._lock = threading.Lock()
        self._unreferenced = _references([np.empty(1)], 0)  # the count of a block only the pool holds
        self._observer = None

    def take(self, shape, dtype):
        """An uninitialized array of ``shape`` and ``dtype``: pooled memory when large."""
        dtype = np.dtype(dtype)
        nbytes = dtype.itemsize * math.prod(shape)
        if nbytes < self.MIN_BYTES:
            return np.empty(shape, dtype)
        with self._lock:
            array = self._free_block(nbytes).view(dtype).reshape(shape)
            observer = self._observer
            in_use = None if observer is None else self._in_use()
        if observer is not None:  # outside the lock: it may ask the pool again
            observer(in_use)
        return array

    @property
    def reserved_bytes(self):
        """Bytes the pool keeps, in use or not."""
        return self._bytes

    def in_use_bytes(self):
        """Bytes of the pool's blocks that some array still uses."""
        with self._lock:
            return self._in_use()

    def set_observer(self, observer):
        """Call ``observer(bytes in use)`` after each block is handed out (a memory
        probe's hook; None stops it). Returns the previous observer."""
        with self._lock:
            previous, self._observer = self._observer, observer
        return previous

    def clear(self):
        """Forget every block; the memory goes back once no array uses it."""
        with self._lock:
            self._blocks.clear()
            self._bytes = 0

    def _free_block(self, nbytes):
        blocks = self._blocks.get(nbytes)
        if blocks is None:
            blocks = self._blocks[nbytes] = []
        else:
            self._blocks.move_to_end(nbytes)  # sizes are evicted least recently used first
        for i in range(len(blocks) - 1, -1, -1):
            if self._is_free(blocks, i):
                block = blocks.pop(i)
                blocks.append(block)
                return block
        block = np.empty(nbytes, np.uint8)
        if len(blocks) < self.PER_SIZE:
            self._make_room(nbytes)
            if self._bytes + nbytes <= self.MAX_BYTES:
                blocks.append(block)
                self._bytes += nbytes
        return block

    def _make_room(self, nbytes):
        """Drop free blocks of the least recently used sizes (other than ``nbytes``) until
        ``nbytes`` more fit. Blocks in use stay, so that what the pool keeps, and what it
        reports in use, stays true."""
        for size in list(self._blocks):
            if self._bytes + nbytes <= self.MAX_BYTES:
                return
            if size == nbytes:
                continue
            blocks = self._blocks[size]
            for i in range(len(blocks) - 1, -1, -1):
                if self._is_free(blocks, i):
                    del blocks[i]
                    self._bytes -= size
            if not blocks:
                del self._blocks[size]

    def _in_use(self):
        return sum(size for size, blocks in self._blocks.items()
                   for i in range(len(blocks)) if not self._is_free(blocks, i))

    def _is_free(self, blocks, i):
        """No array uses ``blocks[i]``: its reference count is what the pool alone gives it."""
        return _references(blocks, i) == self._unreferenced


def _references(blocks, i):
    return sys.getrefcount(blocks[i])
