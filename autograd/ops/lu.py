"""The LU factorization with partial pivoting: ``lu`` (P, L, U), ``lu_factor`` (LU and
pivots, LAPACK's compact form) and ``lu_solve``, PyTorch's functions, batched.

The factorization is the backend's ``lu_factor`` kernel (the Array API standard has no
LU). The gradients are PyTorch's (linalg_lu_backward), for square, wide and tall
matrices, written in Tensor ops so they differentiate again; their triangular solves are
solve_triangular's (O(n^2) per column, where the general solve factors the matrix again:
benchmarks/factorization_backward.py). Like PyTorch's they need U's leading k x k block
invertible (A of full rank), and a rank-deficient matrix raises LinAlgError there. lu_solve is composed
of Tensor ops (a permutation and two triangular solves, solve_triangular's, which read L and
U from LU itself), so its gradient reaches LU and B."""
from collections import namedtuple

from backends import dtypes

from ..function import Function
from ..shapes import broadcast_shapes
from ..tensor import Tensor
from .elementwise import constant, floating, operands
from .linalg import matmul
from .matrices import LinAlgError, diagonal, matrices, mT, square_matrices, triangle
from .shape import broadcast_to, concat
from .triangular import solve_triangular

LUResult = namedtuple("LUResult", ["P", "L", "U"])
LUFactorResult = namedtuple("LUFactorResult", ["LU", "pivots"])


def _permutation_array(xp, rows, dtype):
    """The permutation matrices P with P[rows[i], i] = 1 (so that A = P L U)."""
    placed = xp.expand_dims(rows, -2) == xp.expand_dims(xp.arange(rows.shape[-1], dtype=rows.dtype), -1)
    return xp.astype(placed, dtype)


def _permutation(like, rows):
    """_permutation_array as a constant in ``like``'s dtype."""
    return constant(_permutation_array(like._backend.xp, rows, like.data.dtype), like)


def _unpacked(lu):
    """L (m x k, unit lower trapezoidal) and U (k x n, upper trapezoidal) from the compact
    LU, in Tensor ops."""
    m, n = lu.shape[-2:]
    k = min(m, n)
    lower = triangle(lu[..., :k], lower=True, k=-1) + constant(lu._backend.xp.eye(m, k, dtype=lu.data.dtype), lu)
    return lower, triangle(lu[..., :k, :], lower=False)


def _zero_on_diagonal(u):
    """Whether some matrix's U (or compact LU) has a 0 on its diagonal (one read)."""
    entries = diagonal(Tensor._make(u.data, u._backend)).data  # (outside the graph)
    return bool(u._backend.xp.any(entries == 0))


def _lu_backward(p, lower, upper, gl, gu):
    """PyTorch's linalg_lu_backward: the gradient reaching A = P L U from those of L and U
    (either None), for square, wide (m < n) and tall (m > n) matrices."""
    if _zero_on_diagonal(upper):
        raise LinAlgError("lu: the gradient needs U invertible (A of full rank), and a matrix here has U with a zero "
                          "on its diagonal; PyTorch gives inf or NaN there")
    m, n = lower.shape[-2], upper.shape[-1]
    lt = mT(lower)
    if m == n:  # gA = P L^-T [tril(L^T gL, -1) + triu(gU U^T)] U^-T
        inner = None if gl is None else triangle(matmul(lt, gl), lower=True, k=-1)
        if gu is not None:
            part = triangle(matmul(gu, mT(upper)), lower=False)
            inner = part if inner is None else inner + part
        return matmul(p, solve_triangular(lt, solve_triangular(mT(upper), inner, upper=False, left=False), upper=True,
                                          unitriangular=True))
    if m < n:  # A = [A1 | A2], U = [U1 | U2]: gA1 = P L^-T [gU1 + tril(L^T gL - gU U^T, -1) U1^-T], gA2 = P L^-T gU2
        inner = None if gl is None else matmul(lt, gl)
        if gu is not None:
            part = matmul(triangle(gu, lower=False), mT(upper))
            inner = -part if inner is None else inner - part
        g = solve_triangular(mT(upper[..., :m]), triangle(inner, lower=True, k=-1), upper=False, left=False)
        if gu is not None:
            g = concat([g + triangle(gu[..., :m], lower=False), gu[..., m:]], -1)
        g = solve_triangular(lt, g, upper=True, unitriangular=True)
        if gu is None:
            g = concat([g, constant(g._backend.xp.zeros(g.shape[:-1] + (n - m,), dtype=g.data.dtype), g)], -1)
        return matmul(p, g)
    # Tall: L = [L1; L2]: gA1 = P [gL1 + L1^-T triu(gU U^T - L^T tril(gL, -1))] U^-T, gA2 = P gL2 U^-T
    inner = None if gu is None else matmul(gu, mT(upper))
    if gl is not None:
        part = matmul(lt, triangle(gl, lower=True, k=-1))
        inner = -part if inner is None else inner - part
    g = solve_triangular(mT(lower[..., :n, :]), triangle(inner, lower=False), upper=True, unitriangular=True)
    if gl is not None:
        g = concat([g + triangle(gl[..., :n, :], lower=True, k=-1), gl[..., n:, :]], -2)
    g = solve_triangular(mT(upper), g, upper=False, left=False)
    if gl is None:
        g = concat([g, constant(g._backend.xp.zeros(g.shape[:-2] + (m - n, n), dtype=g.data.dtype), g)], -2)
    return matmul(p, g)


class LU(Function):
    @staticmethod
    def forward(ctx, x):
        xp = x._backend.xp
        lu, _, rows = x._backend.lu_factor(x.data)
        m, n = lu.shape[-2:]
        k = min(m, n)
        p = _permutation_array(xp, rows, lu.dtype)
        lower = xp.tril(lu[..., :k], k=-1) + xp.eye(m, k, dtype=lu.dtype)
        upper = xp.triu(lu[..., :k, :])
        ctx.mark_non_differentiable(p)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(p, lower, upper)
        return p, lower, upper

    @staticmethod
    def backward(ctx, gp, gl, gu):
        p, lower, upper = ctx.saved_tensors
        if gl is None and gu is None:
            return None
        return _lu_backward(p, lower, upper, gl, gu)


class LUFactor(Function):
    @staticmethod
    def forward(ctx, x):
        lu, pivots, rows = x._backend.lu_factor(x.data)
        ctx.rows = rows
        ctx.mark_non_differentiable(pivots)
        ctx.save_for_backward(lu)
        return lu, pivots

    @staticmethod
    def backward(ctx, glu, gpivots):
        lu, = ctx.saved_tensors
        k = min(lu.shape[-2:])
        lower, upper = _unpacked(lu)
        return _lu_backward(_permutation(lu, ctx.rows), lower, upper, glu[..., :k], glu[..., :k, :])


def _check_pivot(op, pivot):
    if pivot is not True:
        raise ValueError(f"{op}: pivot={pivot!r} (LU without row exchanges) is not supported, as in PyTorch on the "
                         "CPU; use pivot=True")


def lu(x, *, pivot=True):
    """The LU factorization with partial pivoting of each matrix in the last two axes, as
    torch.linalg.lu: a named tuple (P, L, U) with x = P L U; for an m x n matrix and
    k = min(m, n), P is m x m (a permutation, no gradient), L m x k with a unit diagonal, U
    k x n. Singular matrices are factored too (U then has a zero on its diagonal); the
    gradient, PyTorch's, needs them of full rank."""
    x = floating(x)
    matrices("lu", x)
    _check_pivot("lu", pivot)
    return LUResult(*LU.apply(x))


def lu_factor(x, *, pivot=True):
    """The LU factorization of ``lu`` in LAPACK's compact form, as torch.linalg.lu_factor: a
    named tuple (LU, pivots), LU of x's shape with U on and above the diagonal and L below
    it, pivots (int32, 1-based, min(m, n) per matrix) the row that step i swapped row i
    with. A matrix whose U has a zero on its diagonal raises LinAlgError, as PyTorch's
    does (lu_solve would divide by it; ``lu`` takes such a matrix). The gradient reaches x
    through LU (PyTorch's, as that of lu's L and U)."""
    x = floating(x)
    matrices("lu_factor", x)
    _check_pivot("lu_factor", pivot)
    lu_, pivots = LUFactor.apply(x)
    if _zero_on_diagonal(lu_):
        raise LinAlgError("lu_factor: a matrix here is singular: its U has a zero on its diagonal, by which "
                          "lu_solve would divide; use ag.linalg.lu, which factors singular matrices, as PyTorch "
                          "suggests")
    return LUFactorResult(lu_, pivots)


def lu_solve(LU, pivots, B, *, left=True, adjoint=False):
    """The solution X of A X = B (``left=False``: X A = B; ``adjoint``: with A^T in A's
    place) for square A given as lu_factor's (LU, pivots), as torch.linalg.lu_solve. B holds
    n x k matrices (k x n with ``left=False``), whose batch axes broadcast against LU's.
    Composed of Tensor ops (a permutation and two triangular solves, O(n^2) per column of
    B), so the gradient reaches LU and B, as PyTorch's does. A U with a zero on its diagonal raises LinAlgError."""
    LU, B = operands("lu_solve", LU, B, broadcast=False)
    LU, B = floating(LU), floating(B)
    square_matrices("lu_solve", LU)
    for name, flag in (("left", left), ("adjoint", adjoint)):
        if not isinstance(flag, bool):
            raise TypeError(f"lu_solve: {name} must be True or False, not {flag!r}")
    n = LU.shape[-1]
    if not isinstance(pivots, Tensor) or dtypes.category(pivots.dtype) != 1:
        raise TypeError(f"lu_solve: pivots must be an integer tensor (lu_factor's second output), not {pivots!r}")
    if pivots.shape != LU.shape[:-1]:
        raise ValueError(f"lu_solve: pivots of shape {pivots.shape} do not match LU of shape {LU.shape}; lu_factor "
                         f"gives pivots of shape {LU.shape[:-1]}")
    if B.ndim < 2 or B.shape[-2 if left else -1] != n:
        need = "n x k" if left else "k x n (left=False)"
        raise ValueError(f"lu_solve: B of shape {B.shape} must hold {need} matrices for LU's {n} x {n} (LU has shape "
                         f"{LU.shape})")
    xp = LU._backend.xp
    if n and not bool(xp.all((pivots.data >= 1) & (pivots.data <= n))):
        raise ValueError(f"lu_solve: pivots must lie in 1..{n} (LAPACK's 1-based rows, as lu_factor gives them)")
    if _zero_on_diagonal(LU):
        raise LinAlgError("lu_solve: the matrix is singular: U has a zero on its diagonal")
    try:
        batch = broadcast_shapes("lu_solve", LU.shape[:-2], B.shape[:-2])
    except ValueError:
        raise ValueError(f"lu_solve: the batch dimensions of LU {LU.shape} and B {B.shape} do not broadcast") from None
    if not left:  # X A = B is A^T X^T = B^T
        return mT(lu_solve(LU, pivots, mT(B), left=True, adjoint=not adjoint))
    if LU.shape[:-2] != batch:
        LU = broadcast_to(LU, batch + LU.shape[-2:])
    if B.shape[:-2] != batch:
        B = broadcast_to(B, batch + B.shape[-2:])
    p = _permutation(LU, xp.broadcast_to(LU._backend.lu_rows(pivots.data, n), batch + (n,)))
    # Triangular solves read L (unit lower) and U straight from LU, O(n^2) per column of B
    if adjoint:  # A^T = U^T L^T P^T: X = P L^-T U^-T B
        lu_t = mT(LU)
        return matmul(p, solve_triangular(lu_t, solve_triangular(lu_t, B, upper=False), upper=True,
                                          unitriangular=True))
    inner = solve_triangular(LU, matmul(mT(p), B), upper=False, unitriangular=True)
    return solve_triangular(LU, inner, upper=True)  # X = U^-1 L^-1 P^T B
