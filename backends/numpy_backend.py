"""The CPU backend: NumPy 2, whose main namespace follows the Array API."""
import sys
import threading
from collections import OrderedDict

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .base import Backend


class NumpyBackend(Backend):
    name = "numpy"

    def __init__(self, device="cpu"):
        super().__init__(device, np)
        self.seed(0)
        self._scratch = ScratchPool()

    def asarray(self, data, dtype=None):
        return np.asarray(data, dtype=dtype)

    def to_numpy(self, array):
        return array

    def from_numpy(self, array):
        return array

    def owns_memory(self, array):
        return array.base is None and array.flags.writeable

    def scatter_add(self, shape, index, values):
        out = np.zeros(shape, dtype=values.dtype)
        np.add.at(out, index, values)
        return out

    def einsum(self, subscripts, *operands):
        return np.einsum(subscripts, *operands, optimize=len(operands) > 2)

    def sliding_windows(self, x, window, stride, dilation):
        return windows_view(x, window, stride, dilation, as_strided)

    def scratch(self, shape, dtype):
        return self._scratch.take(shape, dtype)

    def scratch_like(self, x, dtype):
        """Scratch memory of ``x``'s shape laid out in ``x``'s memory order (a conv
        output is channels-first behind its (N, C, H, W) shape): elementwise work
        between the two then runs in one sequential pass, and the layout passes on."""
        if x.flags.c_contiguous:
            return self.scratch(x.shape, dtype)
        order = sorted(range(x.ndim), key=lambda axis: -abs(x.strides[axis]))
        dense = self.scratch(tuple(x.shape[axis] for axis in order), dtype)
        return np.permute_dims(dense, tuple(order.index(axis) for axis in range(x.ndim)))

    def relu(self, x):
        # Activations are kept until backward, so fresh ones would take fresh pages
        # from the OS (a page fault per 4 KiB) every step; pooled ones are reused.
        # (Pooling GEMM outputs too was measured slower: malloc hands back memory
        # still in cache, the pool memory that has gone cold.)
        y = self.scratch_like(x, x.dtype)
        np.maximum(x, 0, out=y)
        positive = self.scratch_like(x, np.bool_)
        np.greater(y, 0, out=positive)
        return y, positive

    def relu_(self, x):
        np.maximum(x, 0, out=x)
        positive = self.scratch_like(x, np.bool_)
        np.greater(x, 0, out=positive)
        return positive

    def axpy_(self, y, alpha, x):
        scaled = self.scratch(x.shape, x.dtype)  # reused across steps: no fresh pages each time
        np.multiply(x, alpha, out=scaled)
        y += scaled

    def col2im(self, windows, shape, stride, dilation):
        out = self.scratch(shape, windows.dtype)
        out[...] = 0
        return add_windows(out, windows, stride, dilation)


def windows_view(x, window, stride, dilation, as_strided):
    """Strided view shared by the NumPy and CuPy backends (same stride model)."""
    (kh, kw), (sh, sw), (dh, dw) = window, stride, dilation
    h, w = x.shape[-2:]
    oh = (h - dh * (kh - 1) - 1) // sh + 1
    ow = (w - dw * (kw - 1) - 1) // sw + 1
    *lead, s_h, s_w = x.strides
    shape = (*x.shape[:-2], oh, ow, kh, kw)
    strides = (*lead, s_h * sh, s_w * sw, s_h * dh, s_w * dw)
    return as_strided(x, shape=shape, strides=strides, writeable=False)


def add_windows(out, windows, stride, dilation):
    """Add ``windows`` (..., OH, OW, KH, KW) into ``out`` in place, one strided slab
    per kernel offset (KH*KW vectorized adds, never a loop over pixels); shared by
    the NumPy and CuPy backends."""
    (sh, sw), (dh, dw) = stride, dilation
    oh, ow, kh, kw = windows.shape[-4:]
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
        for j in range(kw):
            out[..., rows, j * dw:j * dw + sw * (ow - 1) + 1:sw] += windows[..., i, j]
    return out


class ScratchPool:
    """Large scratch arrays, reused from one training step to the next.

    Fresh memory costs a page fault per 4 KiB on first touch, and glibc returns
    large freed blocks to the OS, so an im2col matrix allocated anew every step
    pays those faults every step. A pooled array is handed out again only when
    nothing else references it: its reference count (which views of it raise,
    through their ``base``) is back to what the pool alone holds.
    """
    MIN_BYTES = 1 << 18         # smaller arrays come cheaply from malloc's free lists
    MAX_BYTES = 256 << 20       # never keep more than this alive for reuse
    PER_SHAPE = 4

    def __init__(self):
        self._arrays = OrderedDict()  # (shape, dtype) -> [arrays], least recently used first
        self._bytes = 0
        self._lock = threading.Lock()
        probe = [np.empty(1)]
        self._unreferenced = _references(probe, 0)  # what the count reads for an array only the pool holds

    def take(self, shape, dtype):
        shape, dtype = tuple(shape), np.dtype(dtype)
        nbytes = dtype.itemsize
        for d in shape:
            nbytes *= d
        if nbytes < self.MIN_BYTES:
            return np.empty(shape, dtype)
        key = (shape, dtype)
        with self._lock:
            arrays = self._arrays.get(key)
            if arrays is None:
                arrays = self._arrays[key] = []
            else:
                self._arrays.move_to_end(key)
            for i in range(len(arrays)):
                if _references(arrays, i) == self._unreferenced:
                    return arrays[i]
            array = np.empty(shape, dtype)
            if len(arrays) < self.PER_SHAPE:
                while self._bytes + nbytes > self.MAX_BYTES and len(self._arrays) > 1:
                    oldest, dropped = next(iter(self._arrays.items()))
                    if oldest == key:
                        break
                    del self._arrays[oldest]
                    self._bytes -= sum(a.nbytes for a in dropped)
                if self._bytes + nbytes <= self.MAX_BYTES:
                    arrays.append(array)
                    self._bytes += nbytes
            return array


def _references(arrays, i):
    return sys.getrefcount(arrays[i])
