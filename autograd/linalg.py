"""``ag.linalg``: the Array API's linalg extension, with PyTorch's numerics and
gradients, batched over leading axes.

The decompositions (cholesky, qr, eigh, eigvalsh, svd, svdvals, matrix_rank) are in
ops/decompositions.py, the inverses and solvers (inv, det, slogdet, solve, pinv) in
ops/solve.py, least squares (lstsq) in ops/least_squares.py, the LU factorization (lu,
lu_factor, lu_solve) in ops/lu.py, the triangular solve (solve_triangular) in
ops/triangular.py, the exponential (matrix_exp) in ops/matrix_functions.py, each a
primitive with its gradient, and PyTorch's variants that report a failure in an ``info``
tensor (cholesky_ex, inv_ex, solve_ex, lu_factor_ex) in ops/linalg_ex.py. Compositions
elsewhere: the product of a chain of matrices in its cheapest order (multi_dot) in
ops/matrix_chain.py, tensorinv and tensorsolve in ops/tensor_equations.py, vander in
ops/vandermonde.py. Here are compositions of Tensor ops, with no gradient code: the norms
(``norm`` dispatching to vector_norm and matrix_norm), the condition number ``cond``,
matrix_power, matrix_transpose, householder_product, cross and vecdot. Where a norm is 0
its gradient is 0, as PyTorch's norm backward masks it (the plain root's would be 0 / 0
there)."""
import math
import numbers

import backends
from backends import dtypes

from .autocast_mode import autocast_op
from .ops.decompositions import (EighResult, QRResult, SVDResult, cholesky, eigh, eigvalsh, matrix_rank, qr, svd,
                                 svdvals)
from .ops.euclidean_norm import euclidean_norm
from .ops.elementwise import as_tensor, clone, constant, floating, in_float32, operands, sqrt, where
from .ops.least_squares import LstsqResult, lstsq
from .ops.lu import LUFactorResult, LUResult, lu, lu_factor, lu_solve
from .ops.linalg_ex import (CholeskyExResult, InvExResult, LUFactorExResult, SolveExResult, cholesky_ex, inv_ex,
                            lu_factor_ex, solve_ex)
from .ops.linalg import matmul, outer, tensordot  # the standard has these in linalg too
from .ops import matrix_parts
from .ops.matrices import LinAlgError, matrices, mT, square_matrices
from .ops.matrix_chain import multi_dot
from .ops.tensor_equations import tensorinv, tensorsolve
from .ops.vandermonde import vander
from .ops.matrix_functions import matrix_exp
from .ops.rearrange import moveaxis
from .ops.reduction import max as _max, min as _min, sum as _sum
from .ops.shape import stack
from .ops.solve import SlogdetResult, det, inv, pinv, slogdet, solve
from .ops.triangular import solve_triangular
from .shapes import INTEGER, broadcast_shapes, normalize_axis

__all__ = ["CholeskyExResult", "EighResult", "InvExResult", "LUFactorExResult", "LUFactorResult", "LUResult",
           "LinAlgError", "LstsqResult", "QRResult", "SVDResult", "SlogdetResult", "SolveExResult", "cholesky",
           "cholesky_ex", "cond", "cross", "det", "diagonal", "eigh", "eigvalsh", "householder_product", "inv",
           "inv_ex", "lstsq", "lu", "lu_factor", "lu_factor_ex", "lu_solve", "matmul", "matrix_exp", "matrix_norm",
           "matrix_power", "matrix_rank", "matrix_transpose", "multi_dot", "norm", "outer", "pinv", "qr", "slogdet",
           "solve", "solve_ex", "solve_triangular", "svd", "svdvals", "tensordot", "tensorinv", "tensorsolve", "trace",
           "vander", "vecdot", "vector_norm"]


def diagonal(x, offset=0, *, axis1=-2, axis2=-1):
    """The ``offset`` diagonal of each matrix on the last two axes (the Array API's
    axes; ``ag.diagonal`` takes NumPy's, the first two), or on ``axis1`` and ``axis2``
    (torch.linalg.diagonal's dim1 and dim2), as a view."""
    return matrix_parts.diagonal(x, offset, axis1, axis2)


def matrix_transpose(x):
    """Each matrix on the last two axes transposed, as a view (``Tensor.mT``)."""
    x = as_tensor(x)
    matrices("matrix_transpose", x, kernel=False)
    return mT(x)


def trace(x, offset=0):
    """The sum of the ``offset`` diagonal of each matrix on the last two axes (autocast
    casts it as matrix_parts.trace, which declares the name)."""
    return matrix_parts.trace(x, offset, -2, -1)


def norm_order(op, p):
    """``p`` of a p-norm as a float (inf for the largest entry); NaN is refused."""
    if not isinstance(p, numbers.Real) or isinstance(p, bool):
        raise TypeError(f"{op}: p must be a real number (2 for the Euclidean norm, math.inf for the largest "
                        f"entry), not {p!r}")
    if math.isnan(p):
        raise ValueError(f"{op}: p must be a number, got nan")
    return float(p)


def p_norm(op, x, p, axis, keepdims=False):
    """The p-norm of ``x`` along ``axis`` (``op`` names the caller in errors), as
    torch.linalg.vector_norm: p = 0 counts the nonzero entries, p = inf and -inf take
    the largest and smallest magnitude (ties share the gradient), any other p gives
    (sum |x|^p)^(1/p)."""
    if x.dtype == dtypes.float16:  # accumulated in float32, as PyTorch does: float16 squares overflow from
        # |x| = 256 and vanish below 2.4e-4, which made the norm inf, or 0 with a zero gradient
        return in_float32(lambda wide: p_norm(op, wide, p, axis, keepdims), x)
    axes = normalize_axis(op, axis, x.ndim)
    if p == 2:
        return euclidean_norm(x, axes, keepdims)
    size = abs(x)
    if p == 1:
        return _sum(size, axes, keepdims)
    if math.isinf(p):
        if any(x.shape[a] == 0 for a in axes):
            raise ValueError(f"{op}: the {'inf' if p > 0 else '-inf'} norm of an empty axis is undefined (it has "
                             f"no largest entry); the input has shape {x.shape}")
        return (_max if p > 0 else _min)(size, axes, keepdims)
    if p == 0:  # counts the nonzeros (NaN among them, as PyTorch's), and keeps the result in the
        # graph with a zero gradient: |x|'s is 0 where x is 0, the only place it is taken
        return _sum(where(size != 0, 1.0, size), axes, keepdims)
    # |x|^p with a zero gradient at x = 0, where p |x|^(p-1) is 0 * inf for p < 1; a zero
    # entry makes a negative-p sum infinite (and so the norm 0), as in PyTorch. A NaN
    # entry is not zero: it makes the norm NaN (a test of > 0 would drop it).
    nonzero = size != 0
    powered = where(nonzero, where(nonzero, size, 1) ** p, 0 if p > 0 else math.inf)
    return _root(_sum(powered, axes, keepdims), p)


def _root(total, p):
    """total^(1/p) with a zero gradient where total is 0 (as PyTorch's norm backward
    masks it), where the derivative total^(1/p - 1) / p is infinite."""
    if p < 0:  # the sum of |x|^p is never 0 there (unless nothing was summed)
        return total ** (1 / p)
    nonzero = total != 0  # NaN included, which stays NaN (a test of > 0 would make it 0)
    safe = where(nonzero, total, 1)
    return where(nonzero, sqrt(safe) if p == 2 else safe ** (1 / p), 0)


def _norm_input(op, x, dtype):
    """``x`` as the floating tensor a norm is taken of: cast to ``dtype`` where given, as
    PyTorch's ``dtype=`` (the norm is computed and returned in it; the gradient comes back in
    x's dtype), which must be a floating dtype no narrower than x's (PyTorch refuses narrowing
    too); otherwise integers give the default float."""
    if dtype is None:
        return floating(x)
    x = as_tensor(x)
    dtype = dtypes.canonical(dtype)
    if not dtypes.is_floating(dtype):
        raise TypeError(f"{op}: dtype must be a floating dtype (float16, float32 or float64) to compute the norm in, "
                        f"not {dtype}")
    if dtypes.is_floating(x.dtype) and dtype.itemsize < x.dtype.itemsize:
        raise TypeError(f"{op}: dtype={dtype} is narrower than the input's {x.dtype}; the norm is computed in dtype, "
                        f"so cast x first (x.astype(ag.{dtype})) if you mean to drop its precision")
    return x if x.dtype == dtype else x.astype(dtype)


@autocast_op("vector_norm")
def vector_norm(x, ord=2, axis=None, keepdims=False, *, dtype=None):
    """The ``ord``-norm over ``axis`` (None: every element), as the Array API's and
    torch.linalg.vector_norm: 2, 1, inf, -inf, 0 (the count of nonzeros) or any other
    real p. Integer tensors give the default float; ``dtype`` (PyTorch's) is the one to
    compute and return in."""
    return p_norm("vector_norm", _norm_input("vector_norm", x, dtype), norm_order("vector_norm", ord), axis, keepdims)


_MATRIX_ORDERS = "'fro', 'nuc', 1, -1, 2, -2, inf or -inf"


def matrix_norm(x, ord="fro", keepdims=False, *, axis=(-2, -1), dtype=None):
    """The ``ord``-norm of each matrix in the last two axes, as the Array API's and
    torch.linalg.matrix_norm: 'fro' (Frobenius), 'nuc' (nuclear: the sum of the singular
    values), 2 and -2 (the largest and smallest singular value), 1 and -1 (the largest and
    smallest column sum of |x|), inf and -inf (the same over rows). Ties of the max share
    its gradient, as in PyTorch; the singular values' gradient is U diag(g) V^T (see svdvals).
    As PyTorch's ``dim`` and ``dtype``: ``axis`` names the matrices' two axes, rows first,
    and ``dtype`` is the one to compute and return in."""
    x = _norm_input("matrix_norm", x, dtype)
    if isinstance(axis, (tuple, list)) and tuple(axis) == (-2, -1):
        return _matrix_norm(x, ord, keepdims)
    if not isinstance(axis, (tuple, list)) or len(axis) != 2:
        raise ValueError(f"matrix_norm: axis must name two axes, the rows' and the columns', not {axis!r}")
    normalize_axis("matrix_norm", axis, x.ndim)  # (checks the types, the range and repeats)
    return _matrix_norm_over(x, ord, tuple(a % x.ndim for a in axis), keepdims)


def _matrix_norm(x, ord, keepdims):
    """matrix_norm of the matrices in the last two axes of ``x``."""
    x = floating(x)
    if x.ndim < 2:
        raise ValueError(f"matrix_norm: needs matrices in the last two axes, got a tensor of shape {x.shape}")
    if isinstance(ord, str):
        if ord == "fro":
            return p_norm("matrix_norm", x, 2, (-2, -1), keepdims)
        if ord == "nuc":
            return _singular_value_norm(_sum, x, keepdims)
        raise ValueError(f"matrix_norm: ord={ord!r} is not supported; use {_MATRIX_ORDERS}")
    if isinstance(ord, bool) or not isinstance(ord, numbers.Real):
        raise TypeError(f"matrix_norm: ord must be {_MATRIX_ORDERS}, not {ord!r}")
    if ord not in (1, -1, 2, -2, math.inf, -math.inf):
        raise ValueError(f"matrix_norm: ord={ord!r} is not supported; use {_MATRIX_ORDERS}")
    if ord > 0 and 0 in x.shape[-2:]:  # the zero map, whose norms are 0 (PyTorch's and NumPy's too): the
        # sum of no entries, where there are no singular values or sums to take the largest of
        if ord == 2:
            matrices("matrix_norm", x)  # (float16 refused, as where there are singular values)
        return p_norm("matrix_norm", x, 1, (-2, -1), keepdims)
    if abs(ord) == 2:
        if 0 in x.shape[-2:]:  # (no singular values, so no smallest one)
            raise ValueError(f"matrix_norm: the ord={ord} norm of a matrix with no rows or no columns is undefined; "
                             f"the input has shape {x.shape}")
        return _singular_value_norm(_max if ord > 0 else _min, x, keepdims)
    summed, across = (-2, -1) if abs(ord) == 1 else (-1, -2)  # 1: sums down columns; inf: along rows
    if x.shape[across] == 0:  # (sums of no rows are 0, but the smallest of no sums is undefined)
        raise ValueError(f"matrix_norm: the ord={ord} norm of a matrix with no {'columns' if abs(ord) == 1 else 'rows'}"
                         f" is undefined; the input has shape {x.shape}")
    sums = _sum(abs(x), summed, keepdims=True)
    out = (_max if ord > 0 else _min)(sums, across, keepdims=True)
    return out if keepdims else out.reshape(x.shape[:-2])


def tensor_norm(x, p="fro", axis=None, keepdims=False, dtype=None):
    """PyTorch's Tensor.norm, with ``axis=`` and ``keepdims=``: a number ``p`` is the vector
    p-norm over ``axis`` (None: every element, and keepdims keeps every axis as 1); 'fro' the
    2-norm over every element or over one or two axes; 'nuc' the nuclear norm over exactly
    two axes (every axis where None). ``dtype`` is the one to compute and return in."""
    if dtype is not None:
        x = floating(x).astype(dtype, copy=False)
    if not isinstance(p, str):
        return vector_norm(x, p, axis, keepdims)
    axes = normalize_axis("norm", axis, x.ndim)
    if p == "fro":
        if axis is not None and len(axes) > 2:
            raise ValueError(f"norm: p='fro' takes one or two axes, got {axis}; for more use p=2, the same "
                             "vector norm over all of them")
        return vector_norm(x, 2, axis, keepdims)
    if p != "nuc":
        raise ValueError(f"norm: p={p!r} is not supported; use 'fro', 'nuc' or a number")
    if len(axes) != 2:
        raise ValueError(f"norm: p='nuc' takes exactly two axes, the matrices', but got "
                         f"{'every axis of a tensor of shape ' + str(x.shape) if axis is None else axis}; "
                         "pass axis=(rows, columns)")
    return _matrix_norm_over(x, "nuc", axes, keepdims)


def norm(x, ord=None, axis=None, keepdims=False, *, dtype=None):
    """torch.linalg.norm and numpy.linalg.norm (NumPy's argument names ``axis`` and
    ``keepdims``, for PyTorch's ``dim`` and ``keepdim``): a vector norm (vector_norm) over one
    axis, a matrix norm (matrix_norm) of the matrices on two axes, the first of them the
    rows. With ``axis`` None, ``ord`` None gives the 2-norm of every element (x flattened);
    another ``ord`` needs a 1-D x (a vector norm) or a 2-D one (a matrix norm). ``ord`` None
    is 2 for a vector and 'fro' for a matrix. Integer tensors give the default float (PyTorch
    refuses them); a bool ``ord`` is refused (PyTorch reads True as 1). ``dtype`` (PyTorch's)
    is the one to compute and return in."""
    x = _norm_input("norm", x, dtype)
    if axis is None:
        if ord is None:
            return vector_norm(x, 2, None, keepdims)
        if x.ndim not in (1, 2):
            raise ValueError(f"norm: with an ord and no axis, x must be a vector (1-D) or a matrix (2-D), got a "
                             f"tensor of shape {x.shape}; name the axis (one for a vector norm, two for a matrix "
                             "norm), or pass ord=None for the 2-norm of every element")
        axis = tuple(range(x.ndim))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    if len(axes) not in (1, 2):
        raise ValueError(f"norm: axis must name one axis (a vector norm) or two (a matrix norm), got {axis!r}")
    normalize_axis("norm", axes, x.ndim)  # (checks the types, the range and repeats)
    if len(axes) == 1:
        if isinstance(ord, str):
            raise ValueError(f"norm: ord={ord!r} is a matrix norm, which needs two axes; axis={axis!r} names one")
        return vector_norm(x, 2 if ord is None else norm_order("norm", ord), axes, keepdims)
    if x.ndim < 2:  # (a 0-d tensor passed the range check of axis 0 and -1 above)
        raise ValueError(f"norm: a matrix norm needs a tensor of at least 2 dimensions, got shape {x.shape}")
    if not isinstance(ord, str) and ord is not None and (isinstance(ord, bool) or not isinstance(ord, numbers.Real)):
        raise TypeError(f"norm: ord must be {_MATRIX_ORDERS} for a matrix norm, not {ord!r}")
    if ord not in ("fro", "nuc", None, 1, -1, 2, -2, math.inf, -math.inf):
        raise ValueError(f"norm: ord={ord!r} is not a matrix norm; use {_MATRIX_ORDERS} (or name one axis for a "
                         "vector norm)")
    return _matrix_norm_over(x, "fro" if ord is None else ord, tuple(a % x.ndim for a in axes), keepdims)


def _matrix_norm_over(x, ord, axes, keepdims):
    """matrix_norm with the matrices' rows and columns along ``axes`` (two, not negative)."""
    result = _matrix_norm(moveaxis(x, axes, (-2, -1)), ord, keepdims)
    return moveaxis(result, (-2, -1), axes) if keepdims else result


def _singular_value_norm(reduce, x, keepdims):
    """``reduce`` (sum, max or min) of each matrix's singular values, with the matrix axes
    kept as 1s where ``keepdims``."""
    matrices("matrix_norm", x)  # (float16 refused here, not by svdvals, which the caller did not call)
    out = reduce(svdvals(x), -1)
    return out.reshape(out.shape + (1, 1)) if keepdims else out


def cond(x, p=None):
    """The condition number of each matrix in the last two axes in the ``p`` norm, as
    torch.linalg.cond (NumPy's ``p``): for p None, 2 and -2 the ratio of the largest singular
    value to the smallest (for -2 its inverse), for any m x n matrix; for 'nuc', as PyTorch,
    sum(s) * sum(1 / s) of the singular values s; for 'fro', 1, -1, inf and -inf,
    norm(x) * norm(inv(x)), for square matrices, inf where one is singular (its gradient
    there 0). A matrix with no entries gives 0, as PyTorch's (NumPy leaves it
    undefined). Integer tensors give the default float (PyTorch refuses them). PyTorch 2.13
    cannot differentiate the 'fro', 1, -1, inf and -inf ones (its backward raises an in-place
    error); here they take the gradient of the formula above."""
    x = floating(x)
    if isinstance(p, bool) or not (p is None or isinstance(p, (str, numbers.Real))):
        raise TypeError(f"cond: p must be None, {_MATRIX_ORDERS}, not {p!r}")
    if p not in (None, "fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf):
        raise ValueError(f"cond: p={p!r} is not supported; use None, {_MATRIX_ORDERS}")
    matrices("cond", x)
    if isinstance(p, str):
        square_matrices("cond", x)  # (before the empty case, as PyTorch's order of checks)
    if x.size == 0:  # (still in the graph, with a zero gradient)
        return _sum(x, (-2, -1)) * 0
    if p in (None, 2, -2, "nuc"):
        s = svdvals(x)
        with backends.floating_point_warnings_off():  # (quiet at a zero or singular matrix, as NumPy's cond)
            if p == "nuc":  # PyTorch's: sum(s) * sum(1 / s), inf or NaN at a singular matrix
                return _sum(s, -1) * _sum(1 / s, -1)
            largest, smallest = s[..., 0], s[..., -1]
            return smallest / largest if p == -2 else largest / smallest
    square_matrices("cond", x)
    inverse, info = inv_ex(x)
    singular = info != 0
    if bool(singular.any()):  # inverted again with the singular ones set to I, so that no inf or NaN of
        # theirs reaches the gradient through the branch where() drops
        eye = constant(x._backend.xp.eye(x.shape[-1], dtype=x.data.dtype), x)
        inverse = inv_ex(where(singular[..., None, None], eye, x)).inverse
    return where(singular, math.inf, matrix_norm(x, p) * matrix_norm(inverse, p))


@autocast_op("matrix_power")
def matrix_power(x, n):
    """Each square matrix of ``x`` to the integer power ``n``, by repeated squaring: the
    identity for n = 0 (with a zero gradient), the power of inv(x) for n < 0. Integer
    matrices stay integers for n >= 0, as in NumPy and PyTorch."""
    x = as_tensor(x)
    if not isinstance(n, INTEGER) or isinstance(n, bool):
        raise TypeError(f"matrix_power: n must be an int, not {n!r}")
    square_matrices("matrix_power", x, kernel=False)  # matmuls (inv checks n < 0)
    if n == 0:  # the identity, still in x's graph, as PyTorch's
        xp = x._backend.xp
        eye = constant(xp.eye(x.shape[-1], dtype=x.data.dtype), x)
        return where(constant(xp.ones(x.shape, dtype=xp.bool), x), eye, x)
    if n == 1:  # a new tensor, as PyTorch's, not x itself
        return clone(x)
    if n < 0:
        x, n = inv(x), -n
    result = None
    while True:  # the bits of n, lowest first
        if n & 1:
            result = x if result is None else matmul(result, x)
        n >>= 1
        if not n:
            return result
        x = matmul(x, x)


@autocast_op("householder_product")
def householder_product(x, tau):
    """The first n columns of the product H_1 H_2 ... H_k of Householder reflections
    H_i = I - tau_i v_i v_i^T, as torch.linalg.householder_product (LAPACK's orgqr): x holds
    m x n matrices (m >= n) whose column i below the diagonal is v_i (its entry i is 1, the
    ones above it 0), tau of shape x.shape[:-2] + (k,) the scales, k <= n. With the output of
    a QR decomposition in LAPACK's compact form (geqrf), that is its Q. One rank-1 update per
    reflection, in Tensor ops, so it differentiates to any order."""
    x, tau = operands("householder_product", x, tau, broadcast=False)
    x, tau = floating(x), floating(tau)
    matrices("householder_product", x, kernel=False)  # Tensor ops only
    m, n = x.shape[-2:]
    if m < n:
        raise ValueError(f"householder_product: x of shape {x.shape} holds {m} x {n} matrices; they need at least "
                         "as many rows as columns")
    if tau.shape[:-1] != x.shape[:-2] or tau.ndim != x.ndim - 1:
        raise ValueError(f"householder_product: tau of shape {tau.shape} must have shape {x.shape[:-2]} + (k,): "
                         f"one scale per reflection for each matrix of x (shape {x.shape})")
    k = tau.shape[-1]
    if k > n:
        raise ValueError(f"householder_product: tau holds {k} scales per matrix, but x (shape {x.shape}) holds "
                         f"only {n} reflections")
    eye = constant(x._backend.xp.eye(m, n, dtype=x.data.dtype), x)
    if k == 0:  # the identity's first columns, still in x's graph (with a zero gradient), as PyTorch's
        return where(constant(x._backend.xp.ones(x.shape, dtype=x._backend.xp.bool), x), eye, x)
    vectors = matrix_parts.tril(x, -1) + eye
    q = eye
    for i in reversed(range(k)):  # H_i (H_{i+1} ... H_k I), from the right
        v = vectors[..., i:i + 1]
        q = q - matmul(v * tau[..., i:i + 1, None], matmul(mT(v), q))
    return q


def _vector_axis(op, a, b, axis):
    """The operands (checked to broadcast), and ``axis`` of their broadcast shape as a
    negative number: counted from the end where negative, as the Array API asks; from
    the start of the broadcast shape otherwise, as in PyTorch."""
    a, b = operands(op, a, b)
    shape = broadcast_shapes(op, a.shape, b.shape)
    if not isinstance(axis, INTEGER) or isinstance(axis, bool):
        raise TypeError(f"{op}: axis must be an int, not {axis!r}")
    if not -min(a.ndim, b.ndim) <= axis < len(shape) or (axis >= 0 and len(shape) - axis > min(a.ndim, b.ndim)):
        raise ValueError(f"{op}: axis {axis} is out of range for operands of shapes {a.shape} and {b.shape}")
    axis = int(axis) - len(shape) if axis >= 0 else int(axis)
    if a.shape[axis] != b.shape[axis]:
        raise ValueError(f"{op}: the operands of shapes {a.shape} and {b.shape} have sizes {a.shape[axis]} and "
                         f"{b.shape[axis]} along axis {axis}; they must be equal")
    return a, b, axis


@autocast_op("vecdot")
def vecdot(x1, x2, axis=-1):
    """The dot products of the vectors along ``axis`` (the other axes broadcast), as the
    Array API's vecdot: sum(x1 * x2, axis) for real tensors."""
    x1, x2, axis = _vector_axis("vecdot", x1, x2, axis)
    return _sum(x1 * x2, axis)


@autocast_op("cross")
def cross(x1, x2, axis=-1):
    """The cross products of the 3-vectors along ``axis`` (the other axes broadcast), as
    the Array API's and torch.linalg.cross."""
    x1, x2, axis = _vector_axis("cross", x1, x2, axis)
    if x1.shape[axis] != 3:
        raise ValueError(f"cross: the vectors along axis {axis} must have 3 entries; the operands have shapes "
                         f"{x1.shape} and {x2.shape}")
    after = (slice(None),) * (-axis - 1)
    a = [x1[(Ellipsis, i) + after] for i in range(3)]
    b = [x2[(Ellipsis, i) + after] for i in range(3)]
    return stack([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]], axis)
