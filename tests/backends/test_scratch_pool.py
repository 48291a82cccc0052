"""The NumPy backend's scratch pool: large blocks are handed out again only once
nothing references them, by size in bytes, most recently handed out first."""
import numpy as np
import pytest

from backends.scratch_pool import ScratchPool

BIG = (256, 1024)  # float32: 1 MiB, above the pool's minimum


def address(array):
    return array.__array_interface__["data"][0]


def test_a_referenced_block_is_never_handed_out_again():
    pool = ScratchPool()
    kept = pool.take(BIG, np.float32)
    view_of_view = kept[1:][::2]
    del kept
    for _ in range(3):
        other = pool.take(BIG, np.float32)
        assert not np.shares_memory(other, view_of_view)


def test_a_dropped_block_is_reused_by_any_shape_and_dtype_of_its_size():
    pool = ScratchPool()
    first = pool.take(BIG, np.float32)
    where = address(first)
    del first
    again = pool.take((512, 256), np.float64)  # same bytes, another shape and dtype
    assert address(again) == where
    assert again.shape == (512, 256) and again.dtype == np.float64 and again.flags.c_contiguous


def test_the_most_recently_handed_out_free_block_goes_first():
    pool = ScratchPool()
    a, b = pool.take(BIG, np.float32), pool.take(BIG, np.float32)
    b_address = address(b)
    del a, b  # both free; b was handed out last, so its memory is the likelier in cache
    assert address(pool.take(BIG, np.float32)) == b_address


def test_small_arrays_come_from_malloc_not_the_pool():
    pool = ScratchPool()
    small = pool.take((16, 16), np.float32)
    assert small.base is None and pool.reserved_bytes == 0


def test_the_pool_keeps_at_most_its_byte_limit_and_evicts_only_free_blocks(monkeypatch):
    monkeypatch.setattr(ScratchPool, "MAX_BYTES", 3 * 2**20)
    pool = ScratchPool()
    live = [pool.take(BIG, np.float32) for _ in range(5)]  # 5 MiB in use at once
    assert pool.reserved_bytes == 3 * 2**20
    assert len({address(a) for a in live}) == 5  # the rest came from malloc, unshared
    pool.take((2 * 256, 1024), np.float32)      # no room: the 1 MiB blocks are all in use
    assert pool.reserved_bytes == 3 * 2**20 and pool.in_use_bytes() == 3 * 2**20
    del live[1:]                                 # one pooled block stays in use
    kept = pool.take((2 * 256, 1024), np.float32)  # the two free 1 MiB blocks make room
    assert pool.reserved_bytes == 3 * 2**20 and pool.in_use_bytes() == 3 * 2**20
    assert not np.shares_memory(kept, live[0])


def test_an_observer_may_ask_the_pool_about_itself():
    pool = ScratchPool()
    seen = []
    pool.set_observer(lambda in_use: seen.append((in_use, pool.in_use_bytes(), pool.reserved_bytes)))
    kept = pool.take(BIG, np.float32)
    assert seen == [(2**20, 2**20, 2**20)] and kept.nbytes == 2**20


def test_in_use_bytes_observer_and_clear():
    pool = ScratchPool()
    seen = []
    pool.set_observer(seen.append)
    a = pool.take(BIG, np.float32)
    b = pool.take(BIG, np.float32)
    assert seen == [2**20, 2 * 2**20]
    del a
    assert pool.in_use_bytes() == 2**20 and pool.reserved_bytes == 2 * 2**20
    pool.set_observer(None)
    pool.clear()
    assert pool.reserved_bytes == 0 and pool.in_use_bytes() == 0
    b[...] = 1  # still b's own memory: a cleared pool only forgets its blocks
    assert not np.shares_memory(pool.take(BIG, np.float32), b)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int64, np.bool_])
def test_handed_out_arrays_are_aligned_for_their_dtype(dtype):
    pool = ScratchPool()
    array = pool.take((2**20,), dtype)
    assert array.flags.aligned and array.flags.writeable and array.dtype == dtype
