"""The CuPy backend's last-write-wins for x[rows] = values with repeated rows, shown with
NumPy as the array namespace: CuPy keeps any one of the values written to a repeated row,
so each write takes the value of the last write to its row, and then any order of the
writes leaves NumPy's result."""
import numpy as np
import pytest

from backends.cupy_backend import last_write_of_each_row


@pytest.mark.parametrize("seed", range(20))
def test_any_order_of_the_writes_leaves_numpys_result(seed):
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(1, 8)), int(rng.integers(1, 40))
    rows = rng.integers(0, n, k)
    values = rng.standard_normal((k, 3))
    want = np.zeros((n, 3))
    want[rows] = values
    written = last_write_of_each_row(np, rows, values)
    for order in (range(k), range(k - 1, -1, -1), rng.permutation(k)):  # as a GPU may order them
        got = np.zeros((n, 3))
        for i in order:
            got[rows[i]] = written[i]
        np.testing.assert_array_equal(got, want)


def test_rows_without_repeats_keep_their_own_values():
    rows = np.array([3, 0, 2])
    values = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(last_write_of_each_row(np, rows, values), values)


@pytest.mark.parametrize("many", [False, True])
def test_repeated_writes_through_any_index_keep_the_last_value(monkeypatch, many):
    """put_last_ for an index other than rows numbers the writes and keeps each place's
    highest number with cupyx.scatter_max, which takes int32, uint32, uint64 and floats but
    no int64. From 2**31 writes the numbers are uint64 (an int64 scratch raised TypeError);
    shown here by lowering that count to 4, with a scatter_max that refuses as CuPy's."""
    import sys
    import types

    from backends import cupy_backend
    from tests.backends.test_cupy_contract import cupy_backend_on_a_stand_in

    def scatter_max(a, slices, value):
        if a.dtype not in (np.int32, np.uint32, np.uint64, np.float32, np.float64):
            raise TypeError("scatter_max only supports int32, float32, float64, uint32, uint64 as data type")
        np.maximum.at(a, slices, value)

    monkeypatch.setitem(sys.modules, "cupyx", types.SimpleNamespace(scatter_max=scatter_max))
    if many:
        monkeypatch.setattr(cupy_backend, "INT32_WRITES", 4)
    backend = cupy_backend_on_a_stand_in(monkeypatch)
    index = (np.array([[0, 1, 0], [2, 1, 0]]), np.array([2, 2, 2]))  # (0, 2) three times, (1, 2) twice
    values = np.arange(6.0).reshape(2, 3) + 1
    got, want = np.zeros((3, 4)), np.zeros((3, 4))
    backend.put_last_(got, index, values)
    want[index] = values
    np.testing.assert_array_equal(got, want)
    assert got[0, 2] == 6.0 and got[1, 2] == 5.0
