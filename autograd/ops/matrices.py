"""What the matrix functions (solve.py, decompositions.py) share: the checks of their
inputs' shapes, the error for a matrix a factorization cannot take (singular, not
positive definite), and the transposes, diagonals and triangles of batched matrices
that their backward passes are written with, as Tensor ops (so they differentiate).

The factorizations themselves are the backends' ``xp.linalg`` (the Array API's linalg
extension: NumPy, CuPy and array-api-strict have it), batched over leading axes."""
import contextlib
import numbers

from backends import dtypes

from ..shapes import broadcast_shapes
from ..tensor import Tensor, on_one_device
from . import matrix_parts
from .elementwise import constant, where
from .shape import swapaxes


class LinAlgError(ValueError):
    """A matrix the operation cannot take: singular for inv and solve, not positive
    definite for cholesky, or a factorization that did not converge. A ValueError, as
    NumPy's numpy.linalg.LinAlgError is (PyTorch raises a RuntimeError)."""


def matrices(op, x, kernel=True):
    """Check that ``x`` holds matrices in its last two axes, in a dtype the backends'
    ``xp.linalg`` takes when ``op`` hands them to it (``kernel``)."""
    if x.ndim < 2:
        raise ValueError(f"{op}: expects matrices in the last two axes (at least 2 dimensions), "
                         f"got a tensor of shape {x.shape}")
    if kernel:
        _kernel_dtype(op, x)


def square_matrices(op, x, kernel=True):
    """Check that ``x`` holds square matrices in its last two axes (and its dtype, as
    ``matrices`` does)."""
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{op}: expects square matrices in the last two axes, got a tensor of shape {x.shape}")
    if kernel:
        _kernel_dtype(op, x)


def tolerances(op, x, atol, rtol):
    """pinv's and matrix_rank's ``atol`` and ``rtol``, checked, as PyTorch's: ``(atol, rtol,
    batch)``. atol None is 0; rtol None is max(m, n) times the dtype's machine epsilon, or 0
    where atol is given and above 0 (per matrix for a tensor atol). Each is a float, or a
    tensor of one per matrix (as the Array API allows), whose shape broadcasts against x's
    batch axes to ``batch``."""
    batch = x.shape[:-2]
    if atol is not None:
        atol, batch = tolerance(op, "atol", x, atol)
    if rtol is not None:
        rtol, rtol_batch = tolerance(op, "rtol", x, rtol)
        batch = broadcast_shapes(op, batch, rtol_batch)
    elif isinstance(atol, Tensor):
        rtol = where(atol > 0, 0.0, default_relative_tolerance(x))
    else:
        rtol = 0.0 if atol is not None and atol > 0 else default_relative_tolerance(x)
    return 0.0 if atol is None else atol, rtol, batch


def cutoff(xp, sizes, atol, rtol):
    """max(atol, rtol times the largest of ``sizes``) per matrix, shape (..., 1), in sizes'
    dtype (the standard mixes no float32 with float64): the singular values (or absolute
    eigenvalues) ``sizes`` at most this count as 0. atol and rtol as ``tolerances`` gives them."""
    dtype = sizes.dtype

    def per_matrix(t):
        return xp.asarray(t, dtype=dtype) if isinstance(t, float) else xp.expand_dims(xp.astype(t.data, dtype), -1)

    atol = per_matrix(atol)
    relative = per_matrix(rtol) * xp.max(sizes, axis=-1, keepdims=True)
    return xp.where(relative > atol, relative, atol)


def default_relative_tolerance(x):
    """max(m, n) times the machine epsilon of ``x``'s dtype, as PyTorch's and the Array API's."""
    return max(x.shape[-2:]) * float(x._backend.xp.finfo(x.data.dtype).eps)


def tolerance(op, name, x, value):
    """A tolerance argument ``name`` (rtol, atol) of ``op``, not None, checked, with the batch
    shape it gives: a real number at least 0 as a float, or a tensor of one per matrix, its
    shape broadcast against x's batch axes."""
    if isinstance(value, Tensor):
        on_one_device(op, x, value)  # (another device's array failed inside the namespace)
        try:
            return value, broadcast_shapes(op, x.shape[:-2], value.shape)
        except ValueError:  # (NumPy's own error named neither the op nor the argument)
            raise ValueError(f"{op}: {name} of shape {value.shape} (one per matrix) does not broadcast against the "
                             f"batch axes of x, of shape {x.shape}") from None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {name} must be a real number or a tensor, not {value!r}")
    if not value >= 0:
        raise ValueError(f"{op}: {name} must be at least 0, got {value}")
    return float(value), x.shape[:-2]


def _kernel_dtype(op, x):
    # NumPy's own message ("array type float16 is unsupported in linalg") names neither the op nor a fix;
    # PyTorch refuses float16 here too.
    if x.dtype == dtypes.float16:
        raise TypeError(f"{op}: float16 matrices are not supported (the linear algebra kernels take float32 and "
                        f"float64); convert first, as in {op}(x.astype(ag.float32))")


def factorize(op, failure, fn, *tensors, check_finite=False):
    """``fn`` (an ``xp.linalg`` function) of the tensors' arrays, with its
    failure raised as a LinAlgError that names ``op`` and says ``failure`` (NumPy's
    LinAlgError is a ValueError; the shapes were checked before, so no other ValueError
    comes from here). With ``check_finite``, an inf or NaN result from finite inputs is
    that failure too, and the backend reports the factorization's own status (CuPy does
    not unless told to: it would wait for the device)."""
    checked = tensors[0]._backend.linalg_status_checked() if check_finite else contextlib.nullcontext()
    try:
        with checked:
            out = fn(*(t.data for t in tensors))
    except ValueError as e:
        raise LinAlgError(f"{op}: {failure} ({e})") from None
    if check_finite:
        xp = tensors[0]._backend.xp
        if not bool(xp.all(xp.isfinite(out))) and all(bool(xp.all(xp.isfinite(t.data))) for t in tensors):
            raise LinAlgError(f"{op}: {failure}")
    return out


def mT(x):
    """Each matrix of ``x`` transposed (the Array API's matrix_transpose)."""
    return swapaxes(x, -1, -2)


def mT_array(xp, a):
    """mT of a bare array ``a``, for kernels that work outside the graph (a view)."""
    return xp.permute_dims(a, tuple(range(a.ndim - 2)) + (a.ndim - 1, a.ndim - 2))


def diagonal(x):
    """The main diagonal of each matrix of ``x``."""
    return matrix_parts.diagonal(x, 0, -2, -1)


def eye(like, n):
    """The n x n identity in ``like``'s dtype, outside the graph."""
    xp = like._backend.xp
    return constant(xp.eye(n, dtype=like.data.dtype), like)


def diag_embed(v):
    """Square matrices with ``v``'s last axis on their diagonals (zeros elsewhere, even
    where ``v`` holds inf or NaN)."""
    n = v.shape[-1]
    return matrix_parts.OntoDiagonal.apply(v, n, n, 0)


def triangle(x, lower, k=0, diagonal_scale=None):
    """tril (``lower``) or triu of ``x`` at the ``k``-th diagonal; ``diagonal_scale``
    multiplies the main diagonal as well (exactly, for the 0.5 the backward passes use)."""
    part = matrix_parts.tril(x, k) if lower else matrix_parts.triu(x, k)
    if diagonal_scale is None:
        return part
    return part - diag_embed(diagonal(x)) * (1 - diagonal_scale)
