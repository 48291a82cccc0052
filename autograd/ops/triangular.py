"""``solve_triangular``: X with A X = B (or X A = B) for triangular A, as
torch.linalg.solve_triangular, batched, O(n^2) per right-hand side where the general
``solve`` factors A in O(n^3).

The solve is the backend's ``solve_triangular`` kernel (the Array API standard has none).
Only A's named triangle is read, and with ``unitriangular`` not its diagonal. The gradient
is PyTorch's: gB = A^-T gX (the transposed triangle, solved again), gA = -gB X^T kept to
A's triangle (strictly, with ``unitriangular``), since the entries never read take none.
It is written in Tensor ops, this solve among them, so it differentiates again."""
import backends

from ..function import Function
from ..shapes import broadcast_shapes
from .elementwise import floating, operands
from .linalg import matmul
from .matrices import mT, square_matrices, triangle
from .shape import broadcast_to


class SolveTriangular(Function):
    """X = A^-1 B for triangular A and matrices B of A's batch shape."""

    @staticmethod
    def forward(ctx, a, b, upper, unitriangular):
        with backends.floating_point_warnings_off():  # a zero on A's diagonal gives inf and NaN, as PyTorch's
            x = a._backend.solve_triangular(a.data, b.data, upper=upper, unitriangular=unitriangular)
        ctx.upper, ctx.unitriangular = upper, unitriangular
        ctx.save_for_backward(a, x if ctx.needs_input_grad[0] else None)
        return x

    @staticmethod
    def backward(ctx, gx):
        a, x = ctx.saved_tensors
        gb = SolveTriangular.apply(mT(a), gx, not ctx.upper, ctx.unitriangular)  # A^-T gX
        if not ctx.needs_input_grad[0]:
            return None, gb, None, None
        # dX = A^-1 (dB - dA X); dA lies in A's triangle (off its diagonal, with unitriangular)
        off_diagonal = 1 if ctx.unitriangular else 0
        ga = triangle(-matmul(gb, mT(x)), lower=not ctx.upper, k=off_diagonal if ctx.upper else -off_diagonal)
        return ga, gb, None, None


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """The solution X of A X = B (``left=False``: X A = B) for triangular square matrices A,
    as torch.linalg.solve_triangular: only the ``upper`` (True) or lower (False) triangle of
    A is read, and with ``unitriangular`` not its diagonal, taken as 1s. B holds n x k
    matrices (k x n with ``left=False``); the batch axes of A and B broadcast. A zero on the
    diagonal gives inf or NaN entries (no error), as PyTorch's. Integer tensors give the
    default float; float16 is refused, as by the other solvers."""
    A, B = operands("solve_triangular", A, B, broadcast=False)
    A, B = floating(A), floating(B)
    for name, flag in (("upper", upper), ("left", left), ("unitriangular", unitriangular)):
        if not isinstance(flag, bool):
            raise TypeError(f"solve_triangular: {name} must be True or False, not {flag!r}")
    square_matrices("solve_triangular", A)
    n = A.shape[-1]
    if B.ndim < 2:
        raise ValueError(f"solve_triangular: B of shape {B.shape} must hold matrices (at least 2 dimensions); for a "
                         "vector b, pass b[..., None] and take [..., 0] of the result")
    if B.shape[-2 if left else -1] != n:
        equation = "A @ X = B, n x k" if left else "X @ A = B (left=False), k x n"
        raise ValueError(f"solve_triangular: B of shape {B.shape} holds {B.shape[-2]} x {B.shape[-1]} matrices, which "
                         f"do not match A's {n} x {n} (A has shape {A.shape}); {equation} matrices are needed")
    try:
        batch = broadcast_shapes("solve_triangular", A.shape[:-2], B.shape[:-2])
    except ValueError:
        raise ValueError(f"solve_triangular: the batch dimensions of A {A.shape} and B {B.shape} do not "
                         "broadcast") from None
    if A.shape[:-2] != batch:
        A = broadcast_to(A, batch + A.shape[-2:])
    if B.shape[:-2] != batch:
        B = broadcast_to(B, batch + B.shape[-2:])
    if left:
        return SolveTriangular.apply(A, B, upper, unitriangular)
    # X A = B is A^T X^T = B^T, and A^T's triangle is the other one
    return mT(SolveTriangular.apply(mT(A), mT(B), not upper, unitriangular))
