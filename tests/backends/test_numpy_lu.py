"""The NumPy backend's blocked LU (backends/numpy_lu.py) against the generic Array-API kernel
it replaces (Backend.lu_factor): the same pivots and row order, factors equal to rounding; and
its row order from pivots (lu_rows) against the generic one."""
import numpy as np
import pytest

import backends
from backends import numpy_lu
from backends.base import Backend


def _matrices(shape, kind, rng):
    a = rng.normal(size=shape)
    if kind == "singular" and min(shape[-2:]) > 1:  # a zero column and a repeated row: zero pivots on the way
        a[..., 1] = 0
        a[..., -1, :] = a[..., 0, :]
    elif kind == "ties":  # equal magnitudes in a column: the first largest is the pivot, as LAPACK's
        a = rng.integers(-2, 3, size=shape).astype(np.float64)
    return a


@pytest.mark.parametrize("shape", [(5, 5), (3, 4, 4), (2, 7, 5), (2, 5, 7), (1, 70, 70), (2, 45, 80), (90, 33),
                                   (4, 0, 3), (0, 3, 3), (2, 0, 0), (1, 1)])
@pytest.mark.parametrize("kind", ["random", "singular", "ties"])
def test_blocked_lu_matches_the_generic_kernel(shape, kind, monkeypatch):
    monkeypatch.setattr(numpy_lu, "PANEL", 8)  # several panels at these sizes, and a partial last one
    cpu = backends.get("cpu")
    assert type(cpu).lu_factor is not Backend.lu_factor  # the blocked kernel is the one under test
    a = _matrices(shape, kind, np.random.default_rng(len(shape) + shape[-1]))
    lu, pivots, rows = cpu.lu_factor(a)
    want_lu, want_pivots, want_rows = Backend.lu_factor(cpu, a)
    np.testing.assert_array_equal(pivots, want_pivots)
    assert pivots.dtype == np.int32
    np.testing.assert_array_equal(rows, want_rows)
    np.testing.assert_allclose(lu, want_lu, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(a, _matrices(shape, kind, np.random.default_rng(len(shape) + shape[-1])))  # a kept


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_blocked_lu_keeps_the_dtype(dtype):
    a = np.random.default_rng(0).normal(size=(3, 40, 40)).astype(dtype)
    lu, _, rows = backends.get("cpu").lu_factor(a)
    assert lu.dtype == dtype
    k = min(a.shape[-2:])
    lower = np.tril(lu.astype(np.float64), -1) + np.eye(k)
    rebuilt = lower @ np.triu(lu.astype(np.float64))
    np.testing.assert_allclose(rebuilt, np.take_along_axis(a.astype(np.float64), rows[..., None], axis=1),
                               atol=0.05 if dtype == np.float16 else 1e-4)


@pytest.mark.parametrize("shape, m", [((5,), 5), ((3, 4), 4), ((2, 5), 7), ((2, 3, 6), 6), ((0,), 0), ((4, 0), 3),
                                      ((0, 3), 3)])
def test_row_order_from_pivots_matches_the_generic_kernel(shape, m):
    cpu = backends.get("cpu")
    assert type(cpu).lu_rows is not Backend.lu_rows  # the in-place exchanges are the ones under test
    rng = np.random.default_rng(m)
    k = shape[-1]
    pivots = (rng.integers(0, m, size=shape) % np.maximum(m - np.arange(k), 1) + np.arange(k) + 1).astype(np.int32)
    rows = cpu.lu_rows(pivots, m)
    want = Backend.lu_rows(cpu, pivots, m)
    assert rows.dtype == want.dtype == np.int32
    np.testing.assert_array_equal(rows, want)
    # and it is the order lu_factor gives alongside those pivots
    a = rng.normal(size=(2, 6, 6))
    _, factored_pivots, factored_rows = cpu.lu_factor(a)
    np.testing.assert_array_equal(cpu.lu_rows(factored_pivots, 6), factored_rows)
