"""Freed memory stays in the process while the suite runs, for every contender alike.

By default glibc hands large freed blocks back to the OS (blocks from 128 KiB up are
mmap'ed, and the top of the heap is trimmed), so a step that allocates its buffers anew
pays a page fault per 4 KiB on first touch, every step, and how many depends on what
the contender before it left in the heap (``python -m benchmarks.page_faults``: the
NumPy floor of the LeNet step at batch 64 took 2,000 faults a step alone, about 100
beside PyTorch, and ran twice as long alone). topograd's NumPy backend keeps its large
buffers in a pool of its own and pays none, so the faults fell on the floor and on
PyTorch only: the floor, the cost of the arithmetic, read higher than a hand-written
step that reuses its memory costs, and ``topograd / floor`` lower than the engine's
overhead. With the mmap threshold fixed high and trimming off (glibc's ``mallopt``, as
``GLIBC_TUNABLES=glibc.malloc.mmap_threshold=...:glibc.malloc.trim_threshold=...``
would set them at startup), freed blocks are reused by whoever allocates next.
"""
import ctypes
import ctypes.util

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 << 20     # glibc's largest on 64-bit; larger blocks are still mmap'ed
TRIM_THRESHOLD = 1 << 30


def keep_freed_memory():
    """Set glibc's thresholds; returns what was set, or why nothing was (not glibc)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return {"applied": False, "reason": f"no glibc mallopt here (C library: {name})"}
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    if not (mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)):
        return {"applied": False, "reason": "mallopt refused the thresholds"}
    return {"applied": True, "mmap_threshold": MMAP_THRESHOLD, "trim_threshold": TRIM_THRESHOLD}
