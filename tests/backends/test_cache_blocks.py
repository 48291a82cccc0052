"""cache_blocks: the blocks that kernels of many passes (max pooling's window offsets, the
direct depthwise convolution) work through cover each entry of the two leading axes once,
about BLOCK_BYTES at a time, and are one block on a backend whose calls are kernel launches."""
import numpy as np
import pytest

import backends
from autograd.ops.nn_fused import cache_blocks as module
from autograd.ops.nn_fused.cache_blocks import cache_blocks
from backends.cupy_backend import CupyBackend


@pytest.mark.parametrize("shape, plane_bytes", [((7, 5), 100), ((3, 40), 100), ((2, 3), 5000), ((1, 1), 10 ** 9),
                                                ((0, 4), 100), ((4, 0), 100), ((6, 2), 0)])
def test_blocks_cover_the_leading_axes_once(monkeypatch, shape, plane_bytes):
    monkeypatch.setattr(module, "BLOCK_BYTES", 1000)
    monkeypatch.setattr(module, "WHOLE_BLOCKS", 0)
    seen = np.zeros(shape, dtype=int)
    blocks = cache_blocks(backends.get("cpu"), shape, plane_bytes)
    for a, b in blocks:
        seen[a, b] += 1
        assert seen[a, b].size * max(plane_bytes, 1) <= 1000 or seen[a, b].size == 1
    assert (seen == 1).all()
    if np.prod(shape) and plane_bytes * shape[1] > 1000:
        assert all(a.stop - a.start == 1 for a, _ in blocks)  # one entry of the first axis at a time


def test_a_small_array_is_one_block(monkeypatch):
    monkeypatch.setattr(module, "BLOCK_BYTES", 1000)
    assert cache_blocks(backends.get("cpu"), (4, 10), 100) == [(slice(None), slice(None))]  # 4 blocks' worth
    assert len(cache_blocks(backends.get("cpu"), (5, 10), 100)) == 5


def test_one_block_where_calls_are_kernel_launches():
    assert CupyBackend.works_in_cache_blocks is False  # (the class: no GPU needed)

    class Launching:
        works_in_cache_blocks = False
    assert cache_blocks(Launching(), (64, 64), 1 << 20) == [(slice(None), slice(None))]
