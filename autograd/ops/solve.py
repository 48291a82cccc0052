"""Inverses, determinants and linear systems of batched matrices: ``inv``, ``det``,
``slogdet``, ``solve`` and the pseudo-inverse ``pinv``, with the Array API's
signatures and PyTorch's gradients.

Each gradient is written with the ops themselves (the inverse's with the inverse,
the solve's with a solve of the transposed system), so they differentiate again.
A singular matrix makes inv and solve raise LinAlgError. det's gradient is the
matrix of cofactors, (det A) A^-T; at a matrix singular to working precision, where
A^-T does not exist or loses the cofactors' derivatives to cancellation, it is formed
from the SVD, matrix by matrix (U diag(products of the other singular values) V^T, times
det(U V^T)): 0 where the rank is n - 2 or less, the transposed adjugate at rank n - 1.
That is what PyTorch gives under create_graph=True; its first-order gradient there
is 0 (it multiplies by det = 0), which is not the derivative."""
import math
from collections import namedtuple

import backends

from ..autocast_mode import autocast_op
from ..function import Function
from ..shapes import broadcast_shapes
from .decompositions import svd
from .elementwise import constant, floating, operands, where
from .linalg import matmul
from .matrices import (LinAlgError, cutoff, factorize, matrices, mT, mT_array, square_matrices, tolerances,
                       triangle)
from .scan import products_of_the_others
from .shape import broadcast_to, expand_dims, reshape

_SINGULAR = "the matrix is singular (not invertible)"


class Inv(Function):
    @staticmethod
    def forward(ctx, x):
        y = factorize("inv", _SINGULAR, x._backend.xp.linalg.inv, x, check_finite=True)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return inv_backward(y, gy)


def inv_backward(y, gy):
    """The gradient reaching A from ``gy``, that of its inverse ``y``: d(A^-1) = -A^-1 dA A^-1."""
    yt = mT(y)
    return -matmul(yt, matmul(gy, yt))


@autocast_op("inv")
def inv(x):
    """The inverse of each square matrix in the last two axes. A singular one raises
    LinAlgError. Integers give the default float, as exp does."""
    x = floating(x)
    square_matrices("inv", x)
    return Inv.apply(x)


class Det(Function):
    @staticmethod
    def forward(ctx, x):
        d = x._backend.xp.linalg.det(x.data)
        ctx.save_for_backward(x, d)
        return d

    @staticmethod
    def backward(ctx, gd):
        x, d = ctx.saved_tensors
        g = expand_dims(expand_dims(gd, -1), -1)
        xp = x._backend.xp
        near = _singular_to_working_precision(xp, x.data, d.data)
        if not bool(xp.any(near)):
            return g * expand_dims(expand_dims(d, -1), -1) * mT(inv(x))
        if bool(xp.all(near)):
            return g * cofactors(x)
        # Each route sees a stand-in where the other one's matrices are, so that none of their
        # inf or NaN reaches a gradient through the branch where() drops: I for the inverse, and
        # for the SVD a matrix of distinct singular values (repeated ones divide 0 by 0 there).
        mask = constant(xp.expand_dims(xp.expand_dims(near, -1), -1), x)
        n = x.shape[-1]
        eye = constant(xp.eye(n, dtype=x.data.dtype), x)
        distinct = eye * constant(xp.arange(1, n + 1, dtype=x.data.dtype), x)
        regular = where(mask, eye, x)
        return g * where(mask, cofactors(where(mask, x, distinct)),
                         expand_dims(expand_dims(d, -1), -1) * mT(inv(regular)))


def _singular_to_working_precision(xp, a, d):
    """Whether each matrix of ``a`` (determinants ``d``) is singular to working precision, where
    det A^-T loses the derivatives of the cofactors to cancellation (by about the condition
    number times the rounding; 65% of the second derivative where the singular values are 1,
    0.5 and 1e-16): |det A| at most 100 eps times the product of A's column norms, the bound
    Hadamard's inequality puts on it. PyTorch compares |det A| with 100 eps alone, which sends
    a small well-conditioned matrix such as 1e-3 I (6 x 6) to the SVD, whose repeated singular
    values make its second derivative NaN; unscaled, the two agree. Computed in logarithms,
    the norms of columns scaled by their largest entry, so that no product overflows."""
    largest = xp.max(xp.abs(a), axis=-2)
    zero_column = xp.any(largest == 0, axis=-1)
    safe = xp.where(largest > 0, largest, xp.ones_like(largest))
    scaled = a / xp.expand_dims(safe, -2)
    with backends.floating_point_warnings_off():  # (log 0: a zero column or determinant, singular anyway)
        log_norms = xp.log(safe) + 0.5 * xp.log(xp.sum(scaled * scaled, axis=-2))
        ratio = xp.log(xp.abs(d)) - xp.sum(log_norms, axis=-1)
    return (d == 0) | zero_column | (ratio <= math.log(100 * float(xp.finfo(a.dtype).eps)))


def cofactors(x):
    """The matrix of cofactors of each square matrix (the gradient of its determinant),
    from its SVD, so that it exists at singular matrices: det(U V^T) U diag(c) V^T, where
    c_i is the product of the singular values other than the i-th."""
    u, s, vh = svd(x)
    xp = x._backend.xp
    orientation = xp.linalg.det(u.data) * xp.linalg.det(vh.data)  # +-1, locally constant
    scale = products_of_the_others(s, s.ndim - 1) * constant(xp.expand_dims(orientation, -1), x)
    return matmul(u * expand_dims(scale, -2), vh)


def det(x):
    """The determinant of each square matrix in the last two axes. Its gradient is the
    matrix of cofactors, also at singular matrices (see the module's notes)."""
    x = floating(x)
    square_matrices("det", x)
    return Det.apply(x)


SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])


class Slogdet(Function):
    @staticmethod
    def forward(ctx, x):
        sign, logabsdet = x._backend.xp.linalg.slogdet(x.data)
        ctx.mark_non_differentiable(sign)
        ctx.save_for_backward(x, sign)
        return sign, logabsdet

    @staticmethod
    def backward(ctx, gsign, glogabsdet):
        x, sign = ctx.saved_tensors
        if bool(x._backend.xp.any(sign.data == 0)):
            raise LinAlgError("slogdet: the gradient of logabsdet at a singular matrix (where logabsdet is -inf) is "
                              "infinite; PyTorch gives inf entries there")
        return expand_dims(expand_dims(glogabsdet, -1), -1) * mT(inv(x))


def slogdet(x):
    """The sign and the natural log of the absolute value of the determinant of each
    square matrix, as the Array API's (a named tuple ``(sign, logabsdet)``); for a
    singular matrix, sign 0 and logabsdet -inf. The sign takes no gradient;
    logabsdet's is A^-T (a singular matrix raises LinAlgError in backward)."""
    x = floating(x)
    square_matrices("slogdet", x)
    return SlogdetResult(*Slogdet.apply(x))


class Solve(Function):
    """X = A^-1 B for matrices A and B with the same batch shape."""

    @staticmethod
    def forward(ctx, a, b):
        out = factorize("solve", _SINGULAR, a._backend.xp.linalg.solve, a, b, check_finite=True)
        ctx.save_for_backward(a, out if ctx.needs_input_grad[0] else None)
        return out

    @staticmethod
    def backward(ctx, gx):
        a, x = ctx.saved_tensors
        return solve_backward(a, x, gx, ctx.needs_input_grad[0])


def solve_backward(a, x, gx, needs_a):
    """The gradients reaching A (where ``needs_a``) and B from ``gx``, that of X = A^-1 B:
    dX = A^-1 (dB - dA X), so gB = A^-T gX and gA = -gB X^T."""
    gb = Solve.apply(mT(a), gx)
    return (-matmul(gb, mT(x)) if needs_a else None), gb


@autocast_op("solve")
def solve(a, b, *, left=True):
    """The solution ``x`` of ``a @ x = b`` for square matrices ``a`` (with ``left=False``,
    PyTorch's, of ``x @ a = b``), with NumPy 2's and the Array API's rule for ``b``: a 1-D
    ``b`` of n entries is one vector (for every matrix of ``a``, giving shape
    ``a.shape[:-1]``; with ``left=False`` a row vector, where PyTorch raises); otherwise
    ``b`` holds n x k matrices in its last two axes (k x n with ``left=False``), whose batch
    axes broadcast against ``a``'s. (NumPy 1 and PyTorch also take a ``b`` of shape
    ``a.shape[:-1]`` as a batch of vectors; here, as in NumPy 2, pass ``b[..., None]`` and
    take ``[..., 0]`` of the result.) A singular ``a`` raises LinAlgError. ``x @ a = b`` is
    solved as ``a^T x^T = b^T``, so its gradient is the same solve's."""
    a, b, finish = solve_operands("solve", a, b, left)
    return finish(Solve.apply(a, b))


def solve_operands(op, a, b, left):
    """solve's operands, checked, as ``(a, b, finish)``: square matrices ``a`` and matrices
    ``b`` of one batch shape with ``a @ x = b`` the system to solve (``x @ a = b`` and a 1-D
    ``b`` turned into it), and the function that turns that system's solution into the
    one asked for."""
    a, b = operands(op, a, b, broadcast=False)
    a, b = floating(a), floating(b)
    if not isinstance(left, bool):
        raise TypeError(f"{op}: left must be True (solve a @ x = b) or False (x @ a = b), not {left!r}")
    square_matrices(op, a)
    n = a.shape[-1]
    if b.ndim == 0:
        raise ValueError(f"{op}: b must be a vector of n entries or n x k matrices, got a 0-d tensor")
    if b.ndim == 1:
        if b.shape[0] != n:
            raise ValueError(f"{op}: b of shape {b.shape} does not match matrices of shape {a.shape[-2:]} "
                             f"(a has shape {a.shape}); b needs {n} entries")
        batch = a.shape[:-2]
        return (a if left else mT(a), broadcast_to(reshape(b, (n, 1)), batch + (n, 1)),
                lambda x: reshape(x, batch + (n,)))
    if b.shape[-2 if left else -1] != n:
        hint = (f"; for a batch of vectors of shape {b.shape}, pass b[..., None] and take [..., 0] of the result"
                if left and b.shape == a.shape[:-1] else "")
        equation = "a @ x = b, n x k" if left else "x @ a = b (left=False), k x n"
        raise ValueError(f"{op}: b of shape {b.shape} holds {b.shape[-2]} x {b.shape[-1]} matrices, which do not "
                         f"match a's {n} x {n} (a has shape {a.shape}); {equation} matrices are needed{hint}")
    try:
        batch = broadcast_shapes(op, a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"{op}: the batch dimensions of a {a.shape} and b {b.shape} do not broadcast") from None
    if a.shape[:-2] != batch:
        a = broadcast_to(a, batch + a.shape[-2:])
    if b.shape[:-2] != batch:
        b = broadcast_to(b, batch + b.shape[-2:])
    if left:
        return a, b, lambda x: x
    return mT(a), mT(b), mT


class Pinv(Function):
    """The Moore-Penrose pseudo-inverse, from the SVD (with ``hermitian``, from eigh, which
    reads the lower triangle): singular values (absolute eigenvalues) at most
    max(atol, rtol times the largest) count as 0, as PyTorch's. The gradient is PyTorch's
    (Golub and Pereyra's), written with the pseudo-inverse itself; it holds where the rank
    does not change nearby (in particular, at full rank). With ``hermitian`` it is taken at
    the symmetric matrix read, as PyTorch's is at a symmetric input (not symmetrized: along
    symmetric changes of the input it is the derivative)."""

    @staticmethod
    def forward(ctx, x, atol, rtol, hermitian):
        xp = x._backend.xp
        m, n = x.data.shape[-2:]
        ctx.hermitian = hermitian
        if min(m, n) == 0:
            p = xp.zeros(x.data.shape[:-2] + (n, m), dtype=x.data.dtype)
        elif hermitian:
            w, v = factorize("pinv", "the decomposition did not converge", xp.linalg.eigh, x)
            w_inv = _cut_reciprocal(xp, w, xp.abs(w), atol, rtol)
            p = xp.matmul(v * xp.expand_dims(w_inv, -2), mT_array(xp, v))
        else:
            u, s, vh = factorize("pinv", "the SVD did not converge",
                                 lambda a: xp.linalg.svd(a, full_matrices=False), x)
            s_inv = _cut_reciprocal(xp, s, s, atol, rtol)
            p = xp.matmul(mT_array(xp, vh) * xp.expand_dims(s_inv, -2), mT_array(xp, u))
        ctx.save_for_backward(x, p)
        return p

    @staticmethod
    def backward(ctx, gp):
        x, p = ctx.saved_tensors
        if ctx.hermitian:  # the symmetric matrix that eigh read, from x's lower triangle
            x = triangle(x, lower=True) + mT(triangle(x, lower=True, k=-1))
        return pinv_backward(x, p, gp), None, None, None


def _cut_reciprocal(xp, values, sizes, atol, rtol):
    """1 / ``values`` where ``sizes`` (singular values, or absolute eigenvalues) exceed
    the cutoff max(atol, rtol times the largest size of the matrix), 0 elsewhere."""
    keep = sizes > cutoff(xp, sizes, atol, rtol)
    return xp.where(keep, 1 / xp.where(keep, values, xp.ones_like(values)), xp.zeros_like(values))


def pinv_backward(a, p, gp):
    """The gradient reaching ``a`` from ``gp``, that of its pseudo-inverse ``p`` (also
    the least-squares solution's, whose value is pinv(A) B)."""
    m, n = a.shape[-2:]
    ph, gh = mT(p), mT(gp)
    if m <= n:  # (the order of products that keeps the intermediate matrices smallest)
        k = matmul(gh, p)
        kph = matmul(k, ph)
        return (-mT(matmul(p, k)) + kph - matmul(matmul(a, p), kph)
                + matmul(matmul(ph, p), gh - matmul(k, a)))
    k = matmul(p, gh)
    phk = matmul(ph, k)
    return (-mT(matmul(k, p)) + matmul(matmul(gh - matmul(a, k), p), ph) + phk
            - matmul(matmul(phk, p), a))


def pinv(x, rtol=None, *, atol=None, hermitian=False):
    """The pseudo-inverse of each matrix in the last two axes (shape (..., n, m) for
    (..., m, n)), as the Array API's and PyTorch's: singular values at most
    max(``atol``, ``rtol`` times the largest) are taken as 0. ``atol`` defaults to 0 and
    ``rtol`` to max(m, n) times the dtype's machine epsilon, or to 0 where ``atol`` is given
    and above 0 (PyTorch's rules; NumPy's pinv defaults to rcond 1e-15). A tensor ``atol``
    or ``rtol`` gives one per matrix, its shape broadcast against the batch axes (as the
    Array API's and PyTorch's; it takes no gradient). With ``hermitian`` (PyTorch's), each
    matrix is taken to be symmetric, only its lower triangle is read, and the pseudo-inverse
    comes from its eigenvalues (eigh) instead of its SVD."""
    x = floating(x)
    matrices("pinv", x)
    if not isinstance(hermitian, bool):
        raise TypeError(f"pinv: hermitian must be True or False, not {hermitian!r}")
    if hermitian:
        square_matrices("pinv", x)
    atol, rtol, batch = tolerances("pinv", x, atol, rtol)
    if x.shape[:-2] != batch:  # (a tensor tolerance's axes: the engine sums x's gradient back over them)
        x = broadcast_to(x, batch + x.shape[-2:])
    return Pinv.apply(x, atol, rtol, hermitian)
