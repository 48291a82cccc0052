"""Functions of a matrix: ``matrix_exp``, the exponential of each square matrix in the
last two axes, as torch.linalg.matrix_exp.

The forward pass is scaling and squaring with a diagonal Pade approximant (Higham,
"The scaling and squaring method for the matrix exponential revisited", SIAM J. Matrix
Anal. Appl. 26(4), 2005): the smallest degree m whose approximant of exp(A) is exact to
the dtype's rounding while ||A||_1 <= theta_m; a larger A is first divided by 2^s to reach
theta_13 (theta_7 in float32), and the result squared s times. Each matrix of a batch
gets its own s; all take the degree that the largest needs (a higher degree than needed
is no less accurate). Written with the backend's ``xp`` only (matmul and linalg.solve), so it
runs on NumPy, CuPy and array-api-strict.

The gradient is the adjoint of the Frechet derivative, L(A^T, G), the upper-right block of
exp([[A^T, G], [0, A^T]]) (Najfeld and Havel, 1995; PyTorch's too), computed with
matrix_exp itself, so it differentiates again. A matrix with an inf or NaN entry has an
all-NaN exponential, as in PyTorch. Where the exponential overflows, the squarings meet
inf * 0 and may give NaN off the diagonal, where PyTorch can keep a 0."""
import math

from backends import dtypes

from ..function import Function
from .elementwise import constant, floating
from .matrices import mT, square_matrices
from .shape import concat

# (m, theta_m): the largest 1-norm at which the [m/m] Pade approximant of exp meets the
# unit roundoff (Higham 2005, Table 2.3 for float64; the same bound at 2^-24 for float32).
_DEGREES = {
    dtypes.float64: ((3, 1.495585217958292e-2), (5, 2.539398330063230e-1), (7, 9.504178996162932e-1),
                     (9, 2.097847961257068), (13, 5.371920351148152)),
    dtypes.float32: ((3, 4.258730016922831e-1), (5, 1.880152677804762), (7, 3.925724783138660)),
}


def _pade_coefficients(m):
    """c_j of the [m/m] Pade approximant of exp, p(x) / p(-x) with p(x) = sum c_j x^j."""
    return [math.factorial(2 * m - j) * math.factorial(m) / (math.factorial(2 * m) * math.factorial(j)
                                                             * math.factorial(m - j)) for j in range(m + 1)]


def _pade(xp, a, m):
    """The [m/m] Pade approximant of exp at each matrix of ``a``: (V - U)^-1 (V + U), with U the
    odd part of p(A) and V the even part, both from the even powers of A."""
    c = _pade_coefficients(m)
    square = xp.matmul(a, a)
    power = xp.eye(a.shape[-1], dtype=a.dtype)
    odd = even = None
    for k in range(0, m, 2):
        if k:
            power = xp.matmul(power, square)
        odd = c[k + 1] * power if odd is None else odd + c[k + 1] * power
        even = c[k] * power if even is None else even + c[k] * power
    u = xp.matmul(a, odd)
    return xp.linalg.solve(even - u, even + u)


def _exp(xp, a, degrees):
    """exp of each matrix of the nonempty array ``a`` (float32 or float64)."""
    norms = xp.max(xp.sum(xp.abs(a), axis=-2), axis=-1)
    finite = xp.isfinite(norms)
    every_finite = bool(xp.all(finite))
    if not every_finite:  # zeros in their place for the arithmetic, NaN for the result
        norms = xp.where(finite, norms, xp.zeros_like(norms))
        a = xp.where(finite[..., None, None], a, xp.zeros_like(a))
    largest = float(xp.max(norms))
    m, theta = next(((m, theta) for m, theta in degrees if largest <= theta), degrees[-1])
    squarings = xp.ceil(xp.log2(xp.maximum(norms / theta, xp.ones_like(norms))))  # s per matrix, 0 where in reach
    steps = int(xp.max(squarings))
    if steps:
        a = a * (2.0 ** -squarings)[..., None, None]  # powers of two: exact
    r = _pade(xp, a, m)
    same_steps = bool(xp.all(squarings == steps))
    for step in range(steps):
        squared = xp.matmul(r, r)
        r = squared if same_steps else xp.where((squarings > step)[..., None, None], squared, r)
    if not every_finite:
        r = xp.where(finite[..., None, None], r, xp.full_like(r, math.nan))
    return r


class MatrixExp(Function):
    @staticmethod
    def forward(ctx, x):
        xp = x._backend.xp
        a = x.data
        ctx.save_for_backward(x)
        if a.size == 0:
            return xp.zeros_like(a)
        if x.dtype == dtypes.float16:  # (the backends' linalg has no float16: computed in float32)
            return xp.astype(_exp(xp, xp.astype(a, x._backend.native_dtype(dtypes.float32)),
                                  _DEGREES[dtypes.float32]), a.dtype)
        return _exp(xp, a, _DEGREES[x.dtype])

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        xp = x._backend.xp
        n = x.shape[-1]
        # L(A^T, G) is linear in G: each G is divided by its largest entry first (a constant),
        # so that a large G does not add squarings, which cost accuracy, and multiplied back after.
        # An empty x has nothing to scale, and goes through the (empty) block too, so that the
        # gradient stays in x's graph for create_graph, as PyTorch's.
        if n:
            largest = xp.max(xp.abs(gy.data), axis=(-2, -1), keepdims=True)
            scale = constant(xp.where((largest > 0) & xp.isfinite(largest), largest, xp.ones_like(largest)), gy)
        else:
            scale = 1
        xt = mT(x)
        zeros = constant(xp.zeros_like(x.data), x)
        block = concat([concat([xt, gy / scale], -1), concat([zeros, xt], -1)], -2)
        return MatrixExp.apply(block)[..., :n, n:] * scale


def matrix_exp(x):
    """The exponential of each square matrix in the last two axes (as torch.linalg.matrix_exp;
    see the module's notes). Integers give the default float, as exp does."""
    x = floating(x)
    square_matrices("matrix_exp", x, kernel=False)  # float16 is computed in float32
    return MatrixExp.apply(x)
