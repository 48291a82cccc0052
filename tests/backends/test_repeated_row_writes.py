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
