"""LU factorization with partial pivoting for the NumPy backend, blocked as LAPACK's getrf.

NumPy has no LU, and SciPy is no dependency. The backend's generic kernel (Backend.lu_factor)
keeps to the Array API: each column step rebuilds the whole array to exchange two rows and
subtracts a new outer product from the whole trailing block, 100x PyTorch's time at 256 x 256.
Here rows are exchanged in place (two rows' worth of copying) and the elimination runs in
panels of PANEL columns: inside a panel, each column step updates the panel's columns
alone; then the rows of U to the panel's right are solved for (a short forward substitution)
and the trailing block takes all of the panel's outer products at once, in one GEMM. The
pivots are the generic kernel's (the first largest entry of each column, as LAPACK's idamax),
so the factors agree with it to rounding.
"""
import math

import numpy as np

# Columns per panel: wide enough that the trailing GEMM runs at BLAS speed, narrow enough that
# the column steps inside a panel (each a pass over the panel's rows) stay short.
PANEL = 32


def lu_factor(a, matmul):
    """``(lu, pivots, rows)`` of ``a`` (..., m, n), as Backend.lu_factor documents them;
    ``matmul`` is the backend's (float16 in float32, rounded once)."""
    *batch, m, n = a.shape
    k = min(m, n)
    count = math.prod(batch)
    lu = np.array(a, copy=True, order="C").reshape(count, m, n)
    rows = np.tile(np.arange(m), (count, 1))
    pivots = np.empty((count, k), dtype=np.int64)
    every = np.arange(count)
    for start in range(0, k, PANEL):
        stop = min(start + PANEL, k)
        for j in range(start, stop):
            p = np.argmax(np.abs(lu[:, j:, j]), axis=-1) + j
            pivots[:, j] = p
            _exchange(lu, every, j, p)
            _exchange(rows, every, j, p)
            pivot = lu[:, j, j]
            # a zero pivot column (all of it zero) is left as it is, as LAPACK's
            lu[:, j + 1:, j] /= np.where(pivot == 0, 1, pivot)[:, None]
            if j + 1 < stop:
                lu[:, j + 1:, j + 1:stop] -= lu[:, j + 1:, j, None] * lu[:, j, None, j + 1:stop]
        if stop < n:
            # U's rows right of the panel: L11^-1 A12, L11 the panel's unit lower triangle
            for j in range(start, stop - 1):
                lu[:, j + 1:stop, stop:] -= lu[:, j + 1:stop, j, None] * lu[:, j, None, stop:]
            if stop < m:
                lu[:, stop:, stop:] -= matmul(lu[:, stop:, start:stop], lu[:, start:stop, stop:])
    pivots = (pivots + 1).astype(np.int32)
    return lu.reshape(*batch, m, n), pivots.reshape(*batch, k), rows.reshape(*batch, m)


def lu_rows(pivots, m):
    """The row order that LAPACK's 1-based ``pivots`` (..., k) give, as Backend.lu_rows:
    the exchanges made in place, two entries per matrix each, where the generic kernel
    rebuilds the whole order per pivot (2.5 ms at n = 256)."""
    *batch, k = pivots.shape
    count = math.prod(batch)
    exchanges = pivots.reshape(count, k).astype(np.intp) - 1
    rows = np.tile(np.arange(m, dtype=pivots.dtype), (count, 1))
    every = np.arange(count)
    for j in range(k):
        _exchange(rows, every, j, exchanges[:, j])
    return rows.reshape(*batch, m)


def _exchange(x, every, j, p):
    """Rows j and p[i] of each matrix x[i] exchanged, in place (nothing where p[i] is j)."""
    row_j = x[:, j].copy()
    x[:, j] = x[every, p]
    x[every, p] = row_j
