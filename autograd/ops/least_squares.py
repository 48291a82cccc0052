"""Least squares, ``lstsq``: the X that minimizes ||A X - B|| for batches of m x n
matrices A, as torch.linalg.lstsq, with its result (solution, residuals, rank,
singular_values), its drivers and its gradients.

The Array API has no lstsq, so the drivers are built from its factorizations:
'gels' (full rank assumed) from a QR decomposition of A (of A^T where A is wide,
for the minimum-norm solution), as LAPACK's gels; 'gelsd' and 'gelss' from the SVD,
where singular values at most rcond times the largest count as 0, as LAPACK's;
'gelsy' (the default) from the SVD with the same rule, where LAPACK's gelsy works
from a QR decomposition with column pivoting. The two agree at full rank, and at a
lower rank where the singular values below the cut are negligible (an exactly
rank-deficient A). Where rcond cuts singular values that are not negligible, gelsy
may count the rank differently (from a condition estimate of the pivoted R, not the
singular values), and its solution differs from the truncated SVD's by about the
size of what was cut; here 'gelsy' gives the truncated SVD's, as 'gelsd' does.

The gradient is PyTorch's: the solution's is that of pinv(A) B (through pinv's
gradient), which holds wherever the rank does not change nearby (at full rank in
particular); the residuals' is that of ||A X - B||^2 with X held fixed, exact at the
least-squares X. Both are written in Tensor ops, so they differentiate again. The
pinv is cut where the solution was (rcond; none for 'gels'): PyTorch's gradient cuts
at pinv's default instead, so with a larger rcond it is the derivative of the uncut
solution, off by orders of magnitude. pinv's gradient holds the cut values fixed at 0,
so where they are not 0 it is still off by about their size over the smallest kept one."""
from collections import namedtuple
import math
import numbers

from backends import dtypes

from ..autocast_mode import autocast_op
from ..function import Function
from ..shapes import broadcast_shapes
from ..tensor import Tensor
from .elementwise import as_tensor, operands
from .linalg import matmul
from .matrices import LinAlgError, factorize, matrices, mT, mT_array
from .shape import expand_dims, reshape
from .solve import pinv, pinv_backward

LstsqResult = namedtuple("LstsqResult", ["solution", "residuals", "rank", "singular_values"])

DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


class Lstsq(Function):
    """The least-squares solutions of A X = B, for A (..., m, n) and B (..., m, k) whose
    batch axes broadcast, with the residuals, rank and singular values ``driver``
    reports (an empty array for each it does not). A is factorized once per matrix of
    its own batch, so the rank and singular values have A's batch shape (as PyTorch's),
    the solution and residuals the broadcast one."""

    @staticmethod
    def forward(ctx, a, b, rcond, driver):
        xp = a._backend.xp
        m, n = a.data.shape[-2:]
        batch = broadcast_shapes("lstsq", a.data.shape[:-2], b.data.shape[:-2])
        if driver == "gels":
            x, rank, s = _full_rank_solution(xp, a, b, batch), None, None
        else:
            x, rank, s = _minimum_norm_solution(xp, a, b, batch, rcond)
        # As PyTorch: residuals where the system is overdetermined and X is the unique
        # solution (every matrix of full rank); gelsy never reports them.
        if m > n and driver != "gelsy" and (rank is None or bool(xp.all(rank == n))):
            r = xp.matmul(a.data, x) - b.data
            residuals = xp.sum(r * r, axis=-2)
        else:
            residuals = xp.zeros((0,), dtype=a.data.dtype)
        if rank is None:
            rank = xp.zeros((0,), dtype=a._backend.native_dtype(dtypes.int64))
        if driver not in ("gelsd", "gelss"):
            s = xp.zeros((0,), dtype=a.data.dtype)
        ctx.mark_non_differentiable(s)  # (the rank, an integer, never is)
        ctx.set_materialize_grads(False)
        ctx.rtol = 0.0 if driver == "gels" else rcond  # the pinv the solution is (see the module's notes)
        ctx.save_for_backward(a, b, x)
        return x, residuals, rank, s

    @staticmethod
    def backward(ctx, gx, gresiduals, grank, gs):
        # (Gradients come out in the broadcast batch shape; the engine sums each back.)
        a, b, x = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        ga = gb = None
        if gx is not None:  # X = pinv(A) B
            p = pinv(a, ctx.rtol)
            if need_a:
                ga = pinv_backward(a, p, matmul(gx, mT(b)))
            if need_b:
                gb = matmul(mT(p), gx)
        if gresiduals is not None and gresiduals.size:  # (an empty one was never computed)
            weighted = expand_dims(gresiduals, -2) * (matmul(a, x) - b)
            if need_a:
                term = matmul(weighted, mT(x)) * 2
                ga = term if ga is None else ga + term
            if need_b:
                term = weighted * -2
                gb = term if gb is None else gb + term
        return ga, gb, None, None


def _full_rank_solution(xp, a, b, batch):
    """'gels': X = R^-1 Q^T B from A = Q R where m >= n; the minimum-norm
    X = Q R^-T B from A^T = Q R where m < n. A zero on R's diagonal (A of lower
    rank) raises LinAlgError, as LAPACK's gels reports it."""
    m, n = a.data.shape[-2:]
    k = b.data.shape[-1]
    if min(m, n) == 0:
        return xp.zeros(batch + (n, k), dtype=a.data.dtype)
    tall = m >= n
    q, r = factorize("lstsq", "the QR decomposition failed",
                     lambda x: xp.linalg.qr(x if tall else mT_array(xp, x)), a)
    size = r.shape[-1]  # (R's diagonal: every (size + 1)-th entry of the flattened matrix, as matrix_parts reads it)
    if bool(xp.any(xp.reshape(r, r.shape[:-2] + (size * size,))[..., ::size + 1] == 0)):
        raise LinAlgError("lstsq: driver='gels' needs matrices of full rank, and a has one of lower rank (a zero "
                          "on the diagonal of R in its QR decomposition); use driver='gelsy', 'gelsd' or 'gelss', "
                          "which give the minimum-norm solution at any rank")
    square = batch + (size, size)
    if tall:
        return xp.linalg.solve(xp.broadcast_to(r, square), xp.matmul(mT_array(xp, q), b.data))
    return xp.matmul(q, xp.linalg.solve(xp.broadcast_to(mT_array(xp, r), square),
                                        xp.broadcast_to(b.data, batch + (m, k))))


def _minimum_norm_solution(xp, a, b, batch, rcond):
    """'gelsy', 'gelsd', 'gelss': X = V S^+ U^T B from A = U S V^T, where S^+ inverts
    the singular values above ``rcond`` times the largest and zeroes the others
    (whose count is the rank); returns X, the ranks and the singular values."""
    m, n = a.data.shape[-2:]
    k = b.data.shape[-1]
    if min(m, n) == 0:
        own = a.data.shape[:-2]
        return (xp.zeros(batch + (n, k), dtype=a.data.dtype),
                xp.zeros(own, dtype=a._backend.native_dtype(dtypes.int64)), xp.zeros(own + (0,), dtype=a.data.dtype))
    u, s, vh = factorize("lstsq", "the SVD did not converge", lambda x: xp.linalg.svd(x, full_matrices=False), a)
    keep = s > rcond * s[..., :1]
    s_inv = xp.where(keep, 1 / xp.where(keep, s, xp.ones_like(s)), xp.zeros_like(s))
    x = xp.matmul(mT_array(xp, vh), xp.expand_dims(s_inv, -1) * xp.matmul(mT_array(xp, u), b.data))
    return x, xp.sum(xp.astype(keep, a._backend.native_dtype(dtypes.int64)), axis=-1), s


def _real_floating(name, x, like=None):
    x = x if isinstance(x, Tensor) else as_tensor(x, like)
    if x.dtype not in (dtypes.float32, dtypes.float64):
        raise TypeError(f"lstsq: {name} has dtype {x.dtype}; lstsq takes float32 or float64 tensors (as PyTorch's), "
                        f"so convert it first, as in {name}.astype(ag.float64)")
    return x


@autocast_op("lstsq")
def lstsq(a, b, rcond=None, driver=None):
    """The least-squares solution X of ``a @ X = b`` (the X with the smallest
    ||a @ X - b||, and of those the smallest ||X||) for each m x n matrix in the last
    two axes of ``a``, as torch.linalg.lstsq: a named tuple (solution, residuals, rank,
    singular_values).

    ``b`` holds m x k matrices, or, where it has one dimension fewer than ``a``,
    m-vectors (the solution then has one dimension fewer too); its batch axes
    broadcast against ``a``'s. ``driver`` is 'gelsy' (the default), 'gels' (full rank
    assumed: an exactly rank-deficient matrix raises LinAlgError), 'gelsd' or 'gelss'.
    For all but 'gels', singular values at most ``rcond`` times the largest count as 0
    (None: max(m, n) times the dtype's machine epsilon; a negative rcond means the
    machine epsilon, as in LAPACK's gelsd); see the module's notes on 'gelsy'. As in
    PyTorch, a field a driver does not compute is an empty tensor of shape (0,):

    - residuals, the squared norms ||a @ X - b||^2 of the columns (shape (..., k), k = 1
      for vectors): for m > n, with 'gels', or with 'gelsd' or 'gelss' where every
      matrix has rank n; never with 'gelsy';
    - rank (int64, one per matrix of ``a``): with 'gelsy', 'gelsd' and 'gelss';
    - singular_values (shape a.shape[:-2] + (min(m, n),)): with 'gelsd' and 'gelss'.

    The solution and the residuals are differentiable with respect to ``a`` and ``b``
    (see the module's notes); rank and singular_values take no gradient. Every driver
    works on every backend (PyTorch's CUDA has only 'gels', its default there)."""
    a = _real_floating("a", a, b if isinstance(b, Tensor) else None)  # a list goes to the tensor's device
    b = _real_floating("b", b, a)
    a, b = operands("lstsq", a, b, broadcast=False)  # (float32 with float64 gives float64, as solve does)
    matrices("lstsq", a)
    if driver is None:
        driver = "gelsy"
    elif not isinstance(driver, str):
        raise TypeError(f"lstsq: driver must be one of {', '.join(map(repr, DRIVERS))} or None (for 'gelsy'), "
                        f"not {driver!r}")
    elif driver not in DRIVERS:
        raise ValueError(f"lstsq: driver={driver!r} is not one of {', '.join(map(repr, DRIVERS))} (None gives "
                         "'gelsy')")
    m, n = a.shape[-2:]
    eps = a._backend.xp.finfo(a.data.dtype).eps
    if rcond is None:
        rcond = max(m, n) * eps
    elif isinstance(rcond, bool) or not isinstance(rcond, numbers.Real):
        raise TypeError(f"lstsq: rcond must be a real number or None, not {rcond!r}")
    elif math.isnan(rcond):
        raise ValueError("lstsq: rcond must be a number, got nan")
    elif rcond < 0:
        rcond = eps
    vectors = b.ndim == a.ndim - 1
    if b.ndim != a.ndim and not vectors:
        raise ValueError(f"lstsq: b of shape {b.shape} must have as many dimensions as a {a.shape} (m x k matrices) "
                         f"or one fewer (m-vectors)")
    rows, b_batch = (b.shape[-1], b.shape[:-1]) if vectors else (b.shape[-2], b.shape[:-2])
    if rows != m:
        held = f"vectors of {rows} entries" if vectors else f"{rows} x {b.shape[-1]} matrices"
        hint = (" (b has one dimension fewer than a, so it is read as vectors; for one m x k matrix shared by "
                "the batch, give b a batch axis of size 1)") if vectors and b.ndim > 1 else ""
        raise ValueError(f"lstsq: b of shape {b.shape} holds {held}, which do not match a's matrices of {m} rows "
                         f"(a has shape {a.shape}){hint}")
    try:
        broadcast_shapes("lstsq", a.shape[:-2], b_batch)
    except ValueError:
        raise ValueError(f"lstsq: the batch dimensions of a {a.shape} and b {b.shape} do not broadcast") from None
    x, residuals, rank, s = Lstsq.apply(a, expand_dims(b, -1) if vectors else b, float(rcond), driver)
    return LstsqResult(reshape(x, x.shape[:-1]) if vectors else x, residuals, rank, s)
