"""Matrix decompositions: ``cholesky``, ``qr``, ``eigh`` and ``svd`` (with
``eigvalsh``, ``svdvals`` and ``matrix_rank`` beside them), the Array API's
signatures over batches of matrices, with PyTorch's gradients written in Tensor ops.

Where a decomposition is not unique its gradient is defined only for losses that do
not depend on the choice: an eigenvector or singular vector may flip sign, so a loss
should use, say, V diag(f(w)) V^T or U V^T, not V itself. Where eigenvalues (or
singular values) repeat, the vectors are not even unique up to sign: the gradient
through the vectors divides by the gaps between the values and is inf or NaN there,
as PyTorch's is; the gradient through the values alone stays finite.

cholesky and eigh read one triangle of their input (the lower one by default, as NumPy's
and PyTorch's do) and take it to be symmetric: their gradients are symmetric matrices,
the derivative along symmetric changes of the input, as PyTorch's are."""
import math
from collections import namedtuple

from backends import dtypes

from ..autocast_mode import autocast_op
from ..function import Function
from ..grad_mode import state as _grad_state
from ..tensor import Tensor
from .elementwise import constant, floating
from .linalg import matmul
from .matrices import (LinAlgError, cutoff, diag_embed, diagonal, eye, factorize, matrices, mT, square_matrices,
                       tolerances, triangle)
from .shape import concat, expand_dims
from .triangular import solve_triangular

_NOT_CONVERGED = "the decomposition did not converge"


def _needs_grad(x):
    return x._requires_grad and _grad_state.enabled


class Cholesky(Function):
    @staticmethod
    def forward(ctx, x):
        lower = factorize("cholesky", "the matrix is not positive definite", x._backend.xp.linalg.cholesky, x,
                          check_finite=True)
        ctx.save_for_backward(lower)
        return lower

    @staticmethod
    def backward(ctx, gl):
        lower, = ctx.saved_tensors
        return cholesky_backward(lower, gl)


def cholesky_backward(lower, gl):
    """The gradient reaching A = L L^T from ``gl``, that of its factor ``lower``: Murray
    (2016), arXiv:1602.07527, as PyTorch: with phi the lower triangle of L^T gL with its
    diagonal halved, gA = sym(L^-T phi L^-1). L^-1 is one triangular solve (faster than inv
    and than two solves with phi: benchmarks/factorization_backward.py)."""
    inverse = solve_triangular(lower, eye(lower, lower.shape[-1]), upper=False)
    phi = triangle(matmul(mT(lower), gl), lower=True, diagonal_scale=0.5)
    ga = matmul(mT(inverse), matmul(phi, inverse))
    return (ga + mT(ga)) * 0.5


@autocast_op("cholesky")
def cholesky(x, upper=False):
    """The Cholesky factor of each symmetric positive-definite matrix in the last two
    axes: lower triangular L with x = L L^T, or, with ``upper``, U = L^T (x = U^T U). Only
    the lower triangle of x is read, or with ``upper`` the upper one, as PyTorch's (that is
    the lower one of x^T, which gives the same symmetric matrix and gradient). A matrix
    that is not positive definite raises LinAlgError."""
    x = floating(x)
    square_matrices("cholesky", x)
    if upper:
        return mT(Cholesky.apply(mT(x)))
    return Cholesky.apply(x)


QRResult = namedtuple("QRResult", ["Q", "R"])


class QR(Function):
    @staticmethod
    def forward(ctx, x, mode):
        xp = x._backend.xp
        # mode='r' takes the reduced factorization (the standard's qr has no R-only mode) and
        # returns Q empty, as PyTorch's
        q, r = factorize("qr", _NOT_CONVERGED, lambda a: xp.linalg.qr(a, mode="reduced" if mode == "r" else mode), x)
        ctx.mode = mode
        ctx.set_materialize_grads(False)
        if mode == "r":
            return xp.zeros((0,), dtype=r.dtype), r
        ctx.save_for_backward(q, r)
        return q, r

    @staticmethod
    def backward(ctx, gq, gr):
        if ctx.mode == "r":
            raise ValueError("qr: the gradient of mode='r' is not defined: it needs Q, which mode='r' does not "
                             "return; use mode='reduced' to differentiate through qr (PyTorch refuses it too)")
        q, r = ctx.saved_tensors
        m, n = q.shape[-2], r.shape[-1]
        if ctx.mode == "complete" and m > n:
            raise ValueError(f"qr: the gradient of mode='complete' is not defined for matrices with more rows than "
                             f"columns ({m} x {n}): the last {m - n} columns of Q are any orthonormal basis of the "
                             "complement of A's columns. Use mode='reduced' (as PyTorch requires too)")
        if bool(q._backend.xp.any(diagonal(r).data == 0)):  # (the solve by R below would fail, naming solve)
            raise LinAlgError(f"qr: the gradient needs the first {min(m, n)} columns of each matrix linearly "
                              "independent, and a matrix here has R with a zero on its diagonal (a column that "
                              "depends on those before it), so R^-1 does not exist; PyTorch gives NaN there")
        if m >= n:
            return _qr_backward(q, r, gq, gr), None
        # Wide: A = [X | Y] with X = Q R1 (a square QR) and Y = Q R2, so R2 = Q^T Y: the
        # gradient reaching Q through R2 is Y gR2^T, and Y's is Q gR2.
        r1, g1 = r[..., :m], None if gr is None else gr[..., :m]
        if gr is None:
            gy = constant(q._backend.xp.zeros(r.shape[:-2] + (m, n - m), dtype=r.data.dtype), r)
        else:
            g2 = gr[..., m:]
            through_r2 = matmul(matmul(q, r[..., m:]), mT(g2))
            gq = through_r2 if gq is None else gq + through_r2
            gy = matmul(q, g2)
        return concat([_qr_backward(q, r1, gq, g1), gy], -1), None


def _qr_backward(q, r, gq, gr):
    """PyTorch's gradient of A = QR for m >= n: with M = gR R^T - Q^T gQ and T its
    upper triangle, gA = (Q (T + T^T - diag T) + gQ) R^-T."""
    if gr is None:
        inner = -matmul(mT(q), gq)
    elif gq is None:
        inner = matmul(gr, mT(r))
    else:
        inner = matmul(gr, mT(r)) - matmul(mT(q), gq)
    t = triangle(inner, lower=False)
    b = matmul(q, t + mT(t) - diag_embed(diagonal(t)))
    if gq is not None:
        b = b + gq
    return mT(solve_triangular(r, mT(b), upper=True))  # b R^-T, as (R^-1 b^T)^T


@autocast_op("qr")
def qr(x, mode="reduced"):
    """The QR decomposition of each matrix in the last two axes, as the Array API's: a
    named tuple (Q, R) with Q's columns orthonormal and R upper triangular; for an
    m x n matrix and k = min(m, n), Q is m x k and R k x n (``mode='reduced'``), or Q is
    m x m and R m x n (``mode='complete'``), or, as PyTorch's ``mode='r'``, Q empty (shape
    (0,)) and R k x n. The gradient, PyTorch's, needs R's leading k x k block invertible
    (A of full rank); mode='complete' of a tall matrix has none, and neither has mode='r'
    (it needs Q; backward raises, as PyTorch's does)."""
    x = floating(x)
    matrices("qr", x)
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"qr: mode must be 'reduced', 'complete' or 'r', not {mode!r}")
    return QRResult(*QR.apply(x, mode))


EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])


class Eigh(Function):
    @staticmethod
    def forward(ctx, x):
        w, v = factorize("eigh", _NOT_CONVERGED, x._backend.xp.linalg.eigh, x)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(w, v)
        return w, v

    @staticmethod
    def backward(ctx, gw, gv):
        # PyTorch's linalg_eig_backward for Hermitian matrices: with E_ij = w_j - w_i,
        # gA = V (diag(gw) + skew(V^T gV) / E) V^T, skew(X) = (X - X^T) / 2, which is
        # symmetric. The diagonal of skew(.) is 0, so E's is set to 1 to keep 0 / 0 out.
        w, v = ctx.saved_tensors
        inner = None
        if gv is not None:
            vtgv = matmul(mT(v), gv)
            gaps = expand_dims(w, -2) - expand_dims(w, -1) + eye(w, w.shape[-1])
            inner = (vtgv - mT(vtgv)) * 0.5 / gaps
        if gw is not None:
            inner = diag_embed(gw) if inner is None else inner + diag_embed(gw)
        return matmul(v, matmul(inner, mT(v)))


def _lower_triangle_read(op, x, UPLO):
    """``x``, or its transpose where ``UPLO`` names the upper triangle: the backends'
    eigh (the standard's, which takes no UPLO) reads the lower triangle, and the lower
    triangle of x^T is the upper one of x, which gives the same symmetric matrix. The
    symmetric gradient, transposed back, is unchanged, as PyTorch's is the same for both."""
    if UPLO not in ("L", "U", "l", "u"):  # (PyTorch takes either case)
        raise ValueError(f"{op}: UPLO must be 'L' (read the lower triangle) or 'U' (the upper one), not {UPLO!r}")
    return mT(x) if UPLO in ("U", "u") else x


@autocast_op("eigh")
def eigh(x, UPLO="L"):
    """The eigenvalues (ascending) and eigenvectors (columns) of each symmetric matrix
    in the last two axes, as the Array API's: a named tuple (eigenvalues, eigenvectors).
    Only the lower triangle is read, or with ``UPLO='U'`` (PyTorch's and NumPy's
    argument) the upper one. See the module's notes on the gradient: it needs distinct
    eigenvalues wherever the loss depends on the eigenvectors."""
    x = floating(x)
    square_matrices("eigh", x)
    return EighResult(*Eigh.apply(_lower_triangle_read("eigh", x, UPLO)))


@autocast_op("eigvalsh")
def eigvalsh(x, UPLO="L"):
    """The eigenvalues (ascending) of each symmetric matrix in the last two axes (only
    the lower triangle is read, or with ``UPLO='U'`` the upper one). Their gradient
    V diag(g) V^T is finite also where they repeat; the eigenvectors are computed for it
    when x requires grad."""
    x = floating(x)
    square_matrices("eigvalsh", x)
    x = _lower_triangle_read("eigvalsh", x, UPLO)
    if _needs_grad(x):
        return Eigh.apply(x)[0]
    return Tensor._make(factorize("eigvalsh", _NOT_CONVERGED, x._backend.xp.linalg.eigvalsh, x), x._backend)


SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])


class SVD(Function):
    @staticmethod
    def forward(ctx, x, full_matrices):
        u, s, vh = factorize("svd", _NOT_CONVERGED, lambda a: _scaled_svd(
            x._backend, lambda b: x._backend.xp.linalg.svd(b, full_matrices=full_matrices), a), x)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(u, s, vh)
        return u, s, vh

    @staticmethod
    def backward(ctx, gu, gs, gvh):
        u, s, vh = ctx.saved_tensors
        m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
        if u.shape[-1] != k or vh.shape[-2] != k:  # full_matrices=True of a non-square matrix
            gu, gvh = _reduced("U", gu, u, k, -1), _reduced("Vh", gvh, vh, k, -2)
            u, vh = u[..., :k], vh[..., :k, :]
        return _svd_backward(u, s, vh, gu, gs, gvh, m, n), None


def _reduced(name, g, vectors, k, axis):
    """The gradient of the first k singular vectors from that of all of them, which must
    not reach the others: they are any orthonormal basis of a complement."""
    if g is None:
        return None
    extra = g[..., k:] if axis == -1 else g[..., k:, :]
    xp = g._backend.xp
    if bool(xp.any(extra.data != 0)):
        raise ValueError(f"svd: the gradient of full_matrices=True is not defined when the loss depends on the last "
                         f"{vectors.shape[axis] - k} singular vectors of {name} (for an {vectors.shape[-2]} x "
                         f"{vectors.shape[-1]} {name}), which are any orthonormal basis of a complement; use "
                         "full_matrices=False")
    return g[..., :k] if axis == -1 else g[..., :k, :]


def _svd_backward(u, s, vh, gu, gs, gvh, m, n):
    """PyTorch's svd_backward, for distinct nonzero singular values (where the loss
    uses the singular vectors; the values alone need nothing)."""
    if gu is None and gvh is None:
        return matmul(u * expand_dims(gs, -2), vh)
    s_row, s_col = expand_dims(s, -2), expand_dims(s, -1)
    # E_ij = s_j^2 - s_i^2, divided by as (s_j + s_i) then (s_j - s_i): PyTorch's squares overflow
    # past 1.3e154 and underflow below 1.5e-154, which makes its gradient NaN at such scales
    # (the diagonals are set to 1: the skew numerators are 0 there).
    ones = eye(s, s.shape[-1])
    sums, gaps = s_row + s_col + ones, s_row - s_col + ones
    if gu is not None:
        utgu = matmul(mT(u), gu)
        utgu = utgu - mT(utgu)
    if gvh is not None:
        vtgv = matmul(vh, mT(gvh))
        vtgv = vtgv - mT(vtgv)
    if gu is not None and gvh is not None:
        inner = (utgu * s_row + s_col * vtgv) / sums / gaps
    elif gu is not None:
        inner = utgu * (s_row / sums) / gaps
    else:
        inner = (s_col / sums) * vtgv / gaps
    if gs is not None:
        inner = inner + diag_embed(gs)
    if m > n and gu is not None:  # gA = [U inner + (I - U U^T) gU S^-1] V^T
        gu_s = gu / s_row
        ga = matmul(u, inner) + gu_s - matmul(u, matmul(mT(u), gu_s))
        return matmul(ga, vh)
    if m < n and gvh is not None:  # gA = U [inner V^T + S^-1 gV^T (I - V V^T)]
        s_gvh = gvh / s_col
        ga = matmul(inner, vh) + s_gvh - matmul(matmul(s_gvh, mT(vh)), vh)
        return matmul(u, ga)
    return matmul(u, matmul(inner, vh))


@autocast_op("svd")
def svd(x, full_matrices=False):
    """The singular value decomposition of each matrix in the last two axes, as the
    Array API's: a named tuple (U, S, Vh) with x = U diag(S) Vh and S descending. The
    default is the reduced one (``full_matrices=False``, PyTorch's and NumPy's default
    is True): for an m x n matrix and k = min(m, n), U is m x k and Vh k x n. With
    ``full_matrices=True`` (U m x m, Vh n x n) the gradient is defined only for losses
    that do not use the extra vectors (others raise ValueError; PyTorch ignores their
    gradient). See the module's notes: the gradient through U and Vh needs distinct
    nonzero singular values."""
    x = floating(x)
    matrices("svd", x)
    return SVDResult(*SVD.apply(x, bool(full_matrices)))


@autocast_op("svdvals")
def svdvals(x):
    """The singular values, descending, of each matrix in the last two axes. Their
    gradient U diag(g) V^T is finite also where they repeat."""
    x = floating(x)
    matrices("svdvals", x)
    if _needs_grad(x):
        return SVD.apply(x, False)[1]
    return Tensor._make(_singular_values(x, "svdvals"), x._backend)


def _singular_values(x, op):
    xp = x._backend.xp
    return factorize(op, _NOT_CONVERGED,
                     lambda a: _scaled_svd(x._backend, lambda b: xp.linalg.svd(b, full_matrices=False)[1], a), x)


# A matrix whose largest entry lies past 2**+-k is scaled by a power of two (exactly) into
# [0.5, 1) for its SVD, and its singular values scaled back: cuSOLVER's SVD, unlike LAPACK's,
# does not scale such a matrix itself, and at 1e-300 products of its entries fell into the
# subnormals (singular vectors 6e-8 off). k is where LAPACK's own scaling starts (its smallest
# safe number, sqrt(smallest normal) / eps): 2**-458 for float64, 2**-39 for float32. Within that
# range the scale is 2**0: nothing changes.
def _svd_scaled_past(dtype):
    info = dtypes.finfo(dtype)
    return -math.frexp(math.sqrt(float(info.smallest_normal)) / float(info.eps))[1]


def _scaled_svd(backend, svd, a):
    """``svd(a)``, (U, S, Vh) or S alone, with each matrix of ``a`` scaled as above."""
    if a.size == 0:
        return svd(a)
    xp = backend.xp
    _, e = backend.frexp(xp.max(xp.abs(a), axis=(-2, -1), keepdims=True))
    past = _svd_scaled_past(backend.canonical_dtype(a.dtype))
    e = xp.where(xp.abs(e) > past, e, xp.zeros_like(e))  # (0 for inf and NaN too)
    out = svd(backend.ldexp(a, -e))
    e = e[..., 0]
    if isinstance(out, tuple):
        u, s, vh = out
        return u, backend.ldexp(s, e), vh
    return backend.ldexp(out, e)


def matrix_rank(x, *, atol=None, rtol=None, hermitian=False):
    """The rank of each matrix in the last two axes (int64, no gradient), as
    torch.linalg.matrix_rank (the Array API's takes rtol alone): the number of singular
    values above max(``atol``, ``rtol`` times the largest). ``atol`` defaults to 0 and
    ``rtol`` to max(m, n) times the dtype's machine epsilon, or to 0 where ``atol`` is given
    and above 0 (PyTorch's rule, as pinv's). A tensor ``atol`` or ``rtol`` gives one per
    matrix, its shape broadcast against the batch axes (and the result's). With
    ``hermitian``, each matrix is taken to be symmetric, only its lower triangle is read,
    and the absolute values of its eigenvalues stand for the singular values."""
    x = floating(x)
    matrices("matrix_rank", x)
    if not isinstance(hermitian, bool):
        raise TypeError(f"matrix_rank: hermitian must be True or False, not {hermitian!r}")
    if hermitian:
        square_matrices("matrix_rank", x)
    atol, rtol, batch = tolerances("matrix_rank", x, atol, rtol)
    xp = x._backend.xp
    if hermitian:
        s = xp.abs(factorize("matrix_rank", _NOT_CONVERGED, xp.linalg.eigvalsh, x))
    else:
        s = _singular_values(x, "matrix_rank")
    int64 = x._backend.native_dtype(dtypes.int64)
    if s.shape[-1] == 0:
        return Tensor._make(xp.zeros(batch, dtype=int64), x._backend)
    counted = xp.astype(s > cutoff(xp, s, atol, rtol), int64)
    return Tensor._make(xp.sum(xp.broadcast_to(counted, batch + s.shape[-1:]), axis=-1), x._backend)
