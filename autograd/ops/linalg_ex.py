"""PyTorch's ``_ex`` variants of the factorizations: ``cholesky_ex``, ``inv_ex``, ``solve_ex``
and ``lu_factor_ex``, which report a matrix they cannot take in an int32 ``info`` tensor
(one per matrix) instead of raising, unless ``check_errors=True``.

``info`` is LAPACK's, as PyTorch gives it: 0 where the factorization succeeded; for
cholesky the order of the first leading minor that is not positive definite (NaN counts
as not positive); for the LU-based ones the 1-based index of the first zero on U's diagonal.

Each first runs the plain factorization over the whole batch, its fast path. Only where
that fails (one bad matrix fails the whole batch) is info worked out, with whole-batch
array steps, no Python loop over the matrices: the backend's LU (lu_factor) for inv and
solve, which then solve from it (so a singular matrix gives inf and NaN entries, as
PyTorch's); an unblocked Cholesky, one column per step, for cholesky, whose failed matrices
come out NaN (PyTorch's hold whatever LAPACK left there). The gradients are the plain
functions'."""
from collections import namedtuple

import backends
from backends import dtypes

from ..autocast_mode import autocast_op
from ..function import Function
from ..tensor import Tensor
from .decompositions import cholesky_backward
from .elementwise import floating
from .lu import LUFactor, _check_pivot
from .matrices import LinAlgError, diagonal, factorize, matrices, mT, mT_array, square_matrices
from .solve import inv_backward, solve_backward, solve_operands

CholeskyExResult = namedtuple("CholeskyExResult", ["L", "info"])
InvExResult = namedtuple("InvExResult", ["inverse", "info"])
SolveExResult = namedtuple("SolveExResult", ["result", "info"])
LUFactorExResult = namedtuple("LUFactorExResult", ["LU", "pivots", "info"])


def _no_failures(backend, batch):
    xp = backend.xp
    return xp.zeros(batch, dtype=backend.native_dtype(dtypes.int32))


def _first_zero_on_diagonal(backend, lu):
    """LAPACK getrf's info per matrix: the 1-based index of the first 0 on the diagonal of
    the compact LU, or 0 where there is none."""
    xp = backend.xp
    zero = xp.astype(diagonal(Tensor._make(lu, backend)).data == 0, backend.native_dtype(dtypes.int32))
    if zero.shape[-1] == 0:
        return _no_failures(backend, lu.shape[:-2])
    first = xp.argmax(zero, axis=-1) + 1
    return xp.astype(xp.where(xp.any(zero != 0, axis=-1), first, xp.zeros_like(first)),
                     backend.native_dtype(dtypes.int32))


def _solve_by_lu(backend, a, b, transposed=False):
    """X with A X = B for each matrix of ``a`` and ``b`` (one batch shape), from the backend's
    LU with partial pivoting (of A^T where ``transposed``: A^T X = B is solved from A's LU, as
    PyTorch's lu_solve with adjoint), and getrf's info of those LUs: a matrix with a zero on
    U's diagonal gives inf and NaN entries, as LAPACK's getrs."""
    xp = backend.xp
    lu, _, rows = backend.lu_factor(mT_array(xp, a) if transposed else a)
    with backends.floating_point_warnings_off():  # (the inf and NaN of a singular matrix are the answer)
        if transposed:  # A = P L U: A^-T B = P L^-T U^-T B
            lu_t = mT_array(xp, lu)
            inner = backend.solve_triangular(lu_t, b, upper=False, unitriangular=False)
            x = _rows_placed(xp, backend.solve_triangular(lu_t, inner, upper=True, unitriangular=True), rows)
        else:  # A^-1 B = U^-1 L^-1 P^T B
            inner = backend.solve_triangular(lu, _rows_taken(xp, b, rows), upper=False, unitriangular=True)
            x = backend.solve_triangular(lu, inner, upper=True, unitriangular=False)
    return x, _first_zero_on_diagonal(backend, lu)


# The permutations P (P[rows[i], i] = 1) applied by moving rows, not by a product with P, whose
# zeros would spread a singular solve's inf and NaN (0 * inf) over every row, where LAPACK's
# row exchanges keep them in their places.
def _rows_taken(xp, b, rows):
    """P^T B: row i of the result is row rows[i] of ``b``."""
    return xp.take_along_axis(b, xp.broadcast_to(xp.expand_dims(rows, -1), b.shape), axis=-2)


def _rows_placed(xp, z, rows):
    """P Z: row i of ``z`` goes to row rows[i] (a take by the inverse permutation)."""
    return _rows_taken(xp, z, xp.argsort(rows, axis=-1))


def _raise_first_failure(op, backend, info, says):
    """LinAlgError naming the first failed matrix (its batch index) and ``says(its info)``."""
    info = backend.to_numpy(info)
    if not info.any():
        return
    index = tuple(int(axis[0]) for axis in info.nonzero()) if info.ndim else ()
    where = f"the matrix at batch index {index}" if index else "the matrix"
    raise LinAlgError(f"{op}: {where} {says(int(info[index]))}")


def _check_flag(op, check_errors):
    if not isinstance(check_errors, bool):
        raise TypeError(f"{op}: check_errors must be True (raise where a matrix fails, as the plain function) or "
                        f"False (report it in info), not {check_errors!r}")


def _singular(i):
    return (f"is singular: entry {i} on the diagonal of U, its LU factorization's, is zero (info = {i}), so it has "
            "no inverse")


class InvEx(Function):
    @staticmethod
    def forward(ctx, x):
        backend = x._backend
        try:
            y = factorize("inv_ex", "", backend.xp.linalg.inv, x, check_finite=True)
            info = _no_failures(backend, x.data.shape[:-2])
        except LinAlgError:
            eye = backend.xp.eye(x.data.shape[-1], dtype=x.data.dtype)
            y, info = _solve_by_lu(backend, x.data, backend.xp.broadcast_to(eye, x.data.shape))
        ctx.mark_non_differentiable(info)
        ctx.save_for_backward(y)
        return y, info

    @staticmethod
    def backward(ctx, gy, ginfo):
        y, = ctx.saved_tensors
        return inv_backward(y, gy)


@autocast_op("inv_ex")
def inv_ex(A, *, check_errors=False):
    """torch.linalg.inv_ex: a named tuple (inverse, info) of each square matrix of ``A``, with
    info (int32, one per matrix) 0 where it is invertible, else the 1-based index of the
    first zero on the diagonal of its LU factor's U (that matrix's inverse then holds inf and
    NaN). With ``check_errors`` a singular matrix raises LinAlgError, as inv does. The
    gradient is inv's."""
    _check_flag("inv_ex", check_errors)
    A = floating(A)
    square_matrices("inv_ex", A)
    inverse, info = InvEx.apply(A)
    if check_errors:
        _raise_first_failure("inv_ex", A._backend, info.data, _singular)
    return InvExResult(inverse, info)


class SolveEx(Function):
    """X = A^-1 B for matrices A and B of one batch shape, and getrf's info of A's LU (of
    A^T's where ``transposed``: X @ A^T = B^T, PyTorch's left=False, factors A^T), for the
    matrices of ``batch`` (A's own batch shape, before it broadcast against B's)."""

    @staticmethod
    def forward(ctx, a, b, transposed, batch):
        backend = a._backend
        try:
            x = factorize("solve_ex", "", backend.xp.linalg.solve, a, b, check_finite=True)
            info = _no_failures(backend, batch)
        except LinAlgError:
            x, info = _solve_by_lu(backend, a.data, b.data, transposed)
            extra = info.ndim - len(batch)  # (equal along the axes that broadcast: the first of each)
            info = info[(0,) * extra + tuple(slice(None) if n > 1 else slice(0, 1) for n in batch)]
        ctx.mark_non_differentiable(info)
        ctx.save_for_backward(a, x if ctx.needs_input_grad[0] else None)
        return x, info

    @staticmethod
    def backward(ctx, gx, ginfo):
        a, x = ctx.saved_tensors
        return solve_backward(a, x, gx, ctx.needs_input_grad[0]) + (None, None)


def solve_ex(A, B, *, left=True, check_errors=False):
    """torch.linalg.solve_ex: a named tuple (result, info), the solution of A @ X = B (or, with
    ``left=False``, X @ A = B) as ``solve`` gives it, with info (int32, of A's batch shape, as
    PyTorch's) 0 where A is invertible, else the 1-based index of the first zero on the
    diagonal of the U of A's LU factorization (the result then holds inf and NaN, in PyTorch's
    places). ``B`` follows solve's rule (NumPy 2's: a 1-D B is one vector). With
    ``check_errors`` a singular A raises LinAlgError, as solve does. The gradient is solve's."""
    _check_flag("solve_ex", check_errors)
    batch = A.shape[:-2] if isinstance(A, Tensor) else None
    a, b, finish = solve_operands("solve_ex", A, B, left)
    x, info = SolveEx.apply(a, b, not left, a.shape[:-2] if batch is None else batch)
    if check_errors:
        _raise_first_failure("solve_ex", a._backend, info.data, _singular)
    return SolveExResult(finish(x), info)


def _cholesky_by_columns(backend, a):
    """The lower Cholesky factor of each matrix of ``a`` (its lower triangle read) and
    LAPACK potrf's info, one column per step over the whole batch: the order of the first
    leading minor that is not positive definite (the pivot, a_jj less the squares of the row
    before it, is not above 0, or is NaN); such a matrix's factor is NaN."""
    xp = backend.xp
    n = a.shape[-1]
    int32 = backend.native_dtype(dtypes.int32)
    lower = xp.zeros(a.shape, dtype=a.dtype)
    info = xp.zeros(a.shape[:-2], dtype=int32)
    with backends.floating_point_warnings_off():  # (a failed matrix carries on with a pivot of 1, and may overflow)
        for j in range(n):
            row = lower[..., j, :j]
            pivot = a[..., j, j] - xp.sum(row * row, axis=-1)
            positive = pivot > 0
            info = xp.where((info == 0) & ~positive, xp.asarray(j + 1, dtype=int32), info)
            root = xp.sqrt(xp.where(positive, pivot, xp.ones_like(pivot)))
            lower[..., j, j] = root
            below = a[..., j + 1:, j] - xp.sum(lower[..., j + 1:, :j] * xp.expand_dims(row, -2), axis=-1)
            lower[..., j + 1:, j] = below / xp.expand_dims(root, -1)
    failed = xp.expand_dims(xp.expand_dims(info != 0, -1), -1)
    return xp.where(failed, xp.asarray(float("nan"), dtype=a.dtype), lower), info


class CholeskyEx(Function):
    @staticmethod
    def forward(ctx, x):
        backend = x._backend
        xp = backend.xp
        try:
            lower = factorize("cholesky_ex", "", xp.linalg.cholesky, x, check_finite=True)
            # A NaN input passes: NumPy's cholesky factors it quietly, where LAPACK's potrf
            # (PyTorch's) stops at a NaN pivot; so a factor holding NaN is worked out again.
            failed = bool(xp.any(xp.isnan(lower)))
        except LinAlgError:
            failed = True
        if not failed:
            info = _no_failures(backend, x.data.shape[:-2])
        else:
            lower, info = _cholesky_by_columns(backend, x.data)
            good = xp.expand_dims(xp.expand_dims(info == 0, -1), -1)
            if bool(xp.any(good)):  # the good ones as cholesky gives them (LAPACK's blocked rounding)
                eye = xp.eye(x.data.shape[-1], dtype=x.data.dtype)
                lower = xp.where(good, backend.xp.linalg.cholesky(xp.where(good, x.data, eye)), lower)
        ctx.mark_non_differentiable(info)
        ctx.save_for_backward(lower)
        return lower, info

    @staticmethod
    def backward(ctx, gl, ginfo):
        lower, = ctx.saved_tensors
        return cholesky_backward(lower, gl)


@autocast_op("cholesky_ex")
def cholesky_ex(A, *, upper=False, check_errors=False):
    """torch.linalg.cholesky_ex: a named tuple (L, info), the Cholesky factor of each matrix
    as ``cholesky`` gives it (its lower triangle read; with ``upper``, U = L^T from the upper
    one), with info (int32, one per matrix) 0 where it is positive definite, else the order
    of its first leading minor that is not (that matrix's factor is then NaN; PyTorch's
    holds LAPACK's partial work). With ``check_errors`` such a matrix raises LinAlgError, as
    cholesky does. The gradient is cholesky's."""
    _check_flag("cholesky_ex", check_errors)
    if not isinstance(upper, bool):
        raise TypeError(f"cholesky_ex: upper must be True or False, not {upper!r}")
    A = floating(A)
    square_matrices("cholesky_ex", A)
    lower, info = CholeskyEx.apply(mT(A) if upper else A)
    if check_errors:
        _raise_first_failure("cholesky_ex", A._backend, info.data, lambda i: (
            f"is not positive definite: its leading minor of order {i} is not (info = {i})"))
    return CholeskyExResult(mT(lower) if upper else lower, info)


def lu_factor_ex(A, *, pivot=True, check_errors=False):
    """torch.linalg.lu_factor_ex: a named tuple (LU, pivots, info), lu_factor's compact LU and
    pivots of each matrix (singular ones too), with info (int32, one per matrix) 0, or the
    1-based index of the first zero on U's diagonal (by which lu_solve would divide). With
    ``check_errors`` such a matrix raises LinAlgError, as lu_factor does. The gradient is
    lu_factor's (it needs U invertible)."""
    _check_flag("lu_factor_ex", check_errors)
    A = floating(A)
    matrices("lu_factor_ex", A)
    _check_pivot("lu_factor_ex", pivot)
    lu, pivots = LUFactor.apply(A)
    info = Tensor._make(_first_zero_on_diagonal(A._backend, lu.data), A._backend)
    if check_errors:
        _raise_first_failure("lu_factor_ex", A._backend, info.data, lambda i: (
            f"is singular: U[{i},{i}] (1-based) is zero, by which lu_solve would divide; use lu_factor_ex without "
            "check_errors or ag.linalg.lu, which factor singular matrices"))
    return LUFactorExResult(lu, pivots, info)
