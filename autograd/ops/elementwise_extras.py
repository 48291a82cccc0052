"""NumPy's remaining elementwise functions: angle conversions (deg2rad, rad2deg and
their other names), fabs, the NaN-ignoring fmax and fmin, float_power, cbrt,
logaddexp2, heaviside, sinc, gcd and lcm, ldexp, frexp, modf, divmod, the rounding
names rint, fix and around, and polyval.

Most are compositions of existing ops, so their gradients are those ops' and
differentiate again: the angle conversions and fabs (a product, an abs), fmax and
fmin (a where: the gradient goes to the operand picked, to x1 on a tie, as PyTorch's),
float_power (pow in float64; gradients come back in each input's dtype, as PyTorch's),
divmod (floor_divide and remainder) and polyval (Horner's rule, as NumPy's).
The primitives are those whose values the standard cannot compose exactly: Cbrt,
Logaddexp2, Ldexp, Frexp and Modf (the backend's kernels, or exact compositions), Sinc
(whose composed gradient cancels near 0), and Heaviside, a step with zero gradients (PyTorch's has no derivative, and raises in backward).
gcd and lcm take integers, and have no gradient. As elsewhere, integer and bool inputs of
a floating function take the default float, as in PyTorch (NumPy gives float64)."""
import math

from backends import dtypes

from ..function import Function
from ..shapes import broadcast_shapes
from ..tensor import Tensor, on_one_device
from .comparison import greater_equal, less_equal
from .elementwise import abs, as_tensor, astype, constant, cos, floating, in_float32, mul, operands, pow, where
from .exponential import exp2
from .nonfinite import isnan
from .polynomial import horner
from .rearrange import unstack
from .rounding import FloorDivide, Remainder, Round, Trunc, _division, _StepOfTwo, _whole

_LN2 = math.log(2.0)
_LOG2E = 1 / _LN2


# --- angles -----------------------------------------------------------------------------------
def deg2rad(x):
    """Degrees to radians, ``x * (pi / 180)``, as NumPy's (radians) and PyTorch's."""
    return mul(floating(x), math.pi / 180)


def rad2deg(x):
    """Radians to degrees, ``x * (180 / pi)``, as NumPy's (degrees) and PyTorch's."""
    return mul(floating(x), 180 / math.pi)


def fabs(x):
    """``|x|`` as a floating tensor, as NumPy's fabs (integers take the default float)."""
    return abs(floating(x))


# --- NaN-ignoring extremes -----------------------------------------------------------------------
def _pick(op, x1, x2, first_wins):
    """``x1`` where ``first_wins(x1, x2)`` holds or ``x2`` is NaN, else ``x2``: NaN only
    where both are, as NumPy's fmax and fmin. One where, so the gradient goes to the
    operand picked (to x1 on a tie, and where both are NaN), as PyTorch's. The comparison
    is the comparison op's, which orders bools too (the standard's >= refuses them)."""
    x1, x2 = operands(op, x1, x2)
    picked = first_wins(x1, x2)
    if dtypes.is_floating(x2.dtype):
        picked = picked | isnan(x2)
    return where(picked, x1, x2)


def fmax(x1, x2):
    """The larger of ``x1`` and ``x2``, elementwise and broadcasting, ignoring a NaN
    (NaN only where both are), as NumPy's and PyTorch's fmax."""
    return _pick("fmax", x1, x2, greater_equal)


def fmin(x1, x2):
    """The smaller of ``x1`` and ``x2``, ignoring a NaN, as NumPy's and PyTorch's fmin."""
    return _pick("fmin", x1, x2, less_equal)


def float_power(x1, x2):
    """``x1 ** x2`` in float64 whatever the inputs' dtypes, as NumPy's and PyTorch's
    (a negative base to a fractional power is NaN); each input's gradient comes back in
    its own dtype. A Python number beside a tensor is taken in float64, not the tensor's
    dtype (0.1 is not float32's 0.1)."""
    x1, x2 = (astype(x, dtypes.float64, copy=False) if isinstance(x, Tensor) else x for x in (x1, x2))
    return pow(*operands("float_power", x1, x2))


# --- roots, logarithms and the floating-point representation -----------------------------------------
class Cbrt(Function):
    @staticmethod
    def forward(ctx, x):
        y = x._backend.cbrt(x.data)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy / (y * y * 3)  # inf at 0, where the root is vertical (as sqrt's)


def cbrt(x):
    """The real cube root, negative for negative ``x``, as NumPy's (where ``x ** (1/3)``
    is NaN for x < 0)."""
    return Cbrt.apply(floating(x))


class Logaddexp2(Function):
    """log2(2**a + 2**b) without overflow or underflow, as NumPy's logaddexp2."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        xp = a._backend.xp
        # The larger plus log2(1 + 2**-|a - b|), and a + 1 where a == b: both infinite too,
        # where a - b would be NaN (so they are kept out of the difference).
        same = a.data == b.data
        zero = xp.zeros((), dtype=a.data.dtype)
        gap = xp.abs(xp.where(same, zero, a.data) - xp.where(same, zero, b.data))
        tail = xp.log1p(2.0 ** -gap) * _LOG2E
        return xp.where(same, a.data + 1, xp.maximum(a.data, b.data) + tail)

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return ((gy * _share_of_two_powers(a - b)) if need_a else None,
                (gy * _share_of_two_powers(b - a)) if need_b else None)


def _share_of_two_powers(lead):
    """2**a / (2**a + 2**b) for ``lead`` = a - b: 1 / (1 + 2**-lead), or 2**lead / (1 + 2**lead)
    where lead < 0, so that 2 is raised to -|lead| only and nothing overflows. (As sigmoid(lead
    ln 2), the rounding of lead * ln 2 cost |lead| ln 2 half-ulps: 55 float32 ulps at lead = -117,
    13 float16 ulps at -13, where PyTorch's 1 / (1 + 2**-lead) is within 2.)"""
    ahead = constant(lead.data >= 0, lead)  # (NaN, where a and b are one infinity, stays NaN)
    power = exp2(where(ahead, -lead, lead))
    return where(ahead, 1 / (power + 1), power / (power + 1))


def logaddexp2(x1, x2):
    """log2(2**x1 + 2**x2), elementwise and broadcasting, computed stably, as NumPy's and
    PyTorch's (integers are lifted to the default float, as logaddexp's). float16 is computed
    in float32 and rounded once, as PyTorch computes it: where the result is near 0, the larger
    input and the correction added to it cancel, and their float16 roundings put it 130 ulps off."""
    x1, x2 = operands("logaddexp2", x1, x2, to_float=True)
    x1, x2 = floating(x1), floating(x2)
    if x1.dtype == dtypes.float16:
        return in_float32(Logaddexp2.apply, x1, x2)
    return Logaddexp2.apply(x1, x2)


class Ldexp(Function):
    @staticmethod
    def forward(ctx, x, e):
        ctx.save_for_backward(e)
        return x._backend.ldexp(x.data, e.data)

    @staticmethod
    def backward(ctx, gy):
        e, = ctx.saved_tensors
        return Ldexp.apply(gy, e), None  # d(x * 2**e)/dx = 2**e, applied as exactly


def ldexp(x1, x2):
    """``x1 * 2 ** x2`` for integer exponents ``x2``, exactly (no overflow in 2 ** x2 on
    the way), as NumPy's; differentiable in ``x1``, as PyTorch's."""
    if isinstance(x1, Tensor):
        x1 = floating(x1)
        if not isinstance(x2, Tensor):
            x2 = Tensor(x2, device=x1._backend)
    elif isinstance(x2, Tensor):
        x1 = as_tensor(x1, x2, to_float=True)
    else:
        raise TypeError(f"ldexp: expected at least one Tensor, got {type(x1).__name__} and {type(x2).__name__}")
    if dtypes.category(x2.dtype) != 1:
        raise TypeError(f"ldexp: the exponents x2 must be integers, not {x2.dtype}, as NumPy's; round them "
                        "first, with x2.round().astype(ag.int64) say (or use x1 * ag.exp2(x2))")
    broadcast_shapes("ldexp", x1.shape, x2.shape)
    # int64 exponents: NumPy's ldexp takes no uint64 ones, and the standard clips no unsigned to -n
    return Ldexp.apply(floating(x1), astype(x2, dtypes.int64, copy=False))


class Frexp(Function):
    @staticmethod
    def forward(ctx, x):
        mantissa, exponent = x._backend.frexp(x.data)
        # A copy: the exponent output is outside the graph, so nothing would catch an in-place
        # change of it (e += 1) before backward read it
        ctx.save_for_backward(x._backend.xp.asarray(exponent, copy=True))
        return mantissa, exponent  # (the int32 exponent is outside the graph)

    @staticmethod
    def backward(ctx, g_mantissa, g_exponent):
        exponent, = ctx.saved_tensors
        return Ldexp.apply(g_mantissa, -exponent)  # the mantissa is x * 2**-exponent, as PyTorch's


def frexp(x):
    """``(mantissa, exponent)`` with ``x == mantissa * 2 ** exponent`` and 0.5 <= |mantissa|
    < 1 (both 0 for x = 0; the mantissa is x for inf and NaN, the exponent 0), the exponent
    int32, as NumPy's and PyTorch's; the mantissa is differentiable, as PyTorch's."""
    return Frexp.apply(floating(x))


class Modf(Function):
    @staticmethod
    def forward(ctx, x):
        xp = x._backend.xp
        whole = xp.trunc(x.data)
        # x's sign on both parts, as C's modf: -0.0 for the fraction of -2.0, and 0 for an
        # infinity's (0 - 0, where inf - inf would be NaN)
        infinite = xp.isinf(x.data)
        zero = xp.zeros((), dtype=x.data.dtype)
        fraction = xp.where(infinite, zero, x.data) - xp.where(infinite, zero, whole)
        return xp.copysign(fraction, x.data), whole

    @staticmethod
    def backward(ctx, g_fraction, g_whole):
        return g_fraction  # the fraction is x less a step, whose gradient is zero


def modf(x):
    """``(fraction, whole)``: the fractional and the integral parts of ``x``, each with x's
    sign, as NumPy's (integers take the default float). The fraction's gradient is 1, the
    whole part's 0."""
    return Modf.apply(floating(_whole("modf", x)))


# --- steps --------------------------------------------------------------------------------------------
class Heaviside(_StepOfTwo):
    @staticmethod
    def forward(ctx, x1, x2):
        xp = x1._backend.xp
        one = xp.ones((), dtype=x1.data.dtype)
        if x1.dtype == dtypes.bool_:  # never negative: True is positive, False zero
            return xp.where(x1.data, one, x2.data)
        zero = xp.zeros((), dtype=x1.data.dtype)
        out = xp.where(x1.data < 0, zero, xp.where(x1.data == 0, x2.data, one))
        return xp.where(x1.data != x1.data, x1.data, out)  # NaN stays NaN, as NumPy's and PyTorch's


def heaviside(x1, x2):
    """The step function: 0 where ``x1 < 0``, ``x2`` where ``x1 == 0``, 1 where ``x1 > 0``
    (NaN where x1 is), elementwise and broadcasting, as NumPy's and PyTorch's. Integers keep
    their dtype, as PyTorch's. Its gradients are zero (PyTorch's backward raises)."""
    return Heaviside.apply(*operands("heaviside", x1, x2))


# d/dt (sin t / t) = sum over k >= 1 of (-1)^k 2k t^(2k - 1) / (2k + 1)!: ten terms reach 1e-18
# of its size for |t| < 1, highest power first
_SINC_SLOPE_SERIES = tuple((-1) ** k * 2 * k / math.factorial(2 * k + 1) for k in range(10, 0, -1))


class Sinc(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        xp, data = x._backend.xp, x.data
        at_zero = data == 0
        one = xp.ones((), dtype=data.dtype)
        angle = xp.where(at_zero, one, data) * math.pi  # (kept out of 0 / 0)
        return xp.where(at_zero, one, xp.sin(angle) / angle)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * _sinc_slope(x)


def _sinc_slope(x):
    """The derivative of sinc, (cos(pi x) - sinc(x)) / x, in Tensor ops (so it differentiates
    again). That difference cancels for small x (its two terms agree to 16 digits at x = 1e-8,
    where PyTorch's slope is 36% off, and it is inf - inf at subnormal x), so below |pi x| = 1
    the slope is the series of pi d/dt (sin t / t) at t = pi x instead; each form is taken at a
    harmless point in the other's places, so neither sends a NaN into higher derivatives."""
    small = constant(x._backend.xp.abs(x.data) < 1 / math.pi, x)
    t = where(small, x, 0) * math.pi
    far = where(small, 1, x)
    return where(small, t * horner(t * t, _SINC_SLOPE_SERIES) * math.pi, (cos(far * math.pi) - sinc(far)) / far)


def sinc(x):
    """sin(pi x) / (pi x), and 1 at x = 0, as NumPy's and PyTorch's. Its derivatives of every
    order are the true ones at 0 too (0, -pi**2/3, 0, pi**4/5...; PyTorch's second is NaN).
    float16 is computed in float32 and rounded once, as PyTorch computes it: pi x overflows
    float16 from |x| = 20850, which made the value and the slope NaN there."""
    x = floating(x)
    if x.dtype == dtypes.float16:
        return in_float32(sinc, x)
    return Sinc.apply(x)


# --- integer parts ------------------------------------------------------------------------------------
def _integers(op, x1, x2):
    """``x1`` and ``x2`` broadcast to one integer dtype, as bare arrays, and their backend."""
    x1, x2 = operands(op, x1, x2)
    if dtypes.category(x1.dtype) != 1:
        raise TypeError(f"{op}: takes integer tensors, not {x1.dtype}; convert first, with .astype(ag.int64) say")
    return (*x1._backend.xp.broadcast_arrays(x1.data, x2.data), x1._backend)


def _gcd(xp, a, b):
    """Euclid's algorithm on every pair at once: until every divisor is 0, a pair with a
    nonzero one (b) becomes (b, a mod b). At most about 92 rounds for int64. On the signed
    values, |a mod b| < |b| as well; the abs is taken at the end, where it can overflow only
    for a gcd that is the dtype's least value itself (-128 for int8), as in NumPy's."""
    zero, one = xp.zeros((), dtype=a.dtype), xp.ones((), dtype=a.dtype)
    while bool(xp.any(b != 0)):
        going = b != 0
        a, b = xp.where(going, b, a), xp.where(going, a % xp.where(going, b, one), zero)
    return xp.abs(a)


def gcd(x1, x2):
    """The greatest common divisor of ``|x1|`` and ``|x2|``, elementwise and broadcasting,
    for integers (gcd(0, 0) = 0), as NumPy's and PyTorch's."""
    a, b, backend = _integers("gcd", x1, x2)
    return Tensor._make(_gcd(backend.xp, a, b), backend)


def lcm(x1, x2):
    """The least common multiple of ``|x1|`` and ``|x2|``, elementwise and broadcasting,
    for integers (0 where either is 0), as NumPy's and PyTorch's."""
    a, b, backend = _integers("lcm", x1, x2)
    xp = backend.xp
    divisor = _gcd(xp, a, b)
    zero = divisor == 0
    divisor = xp.where(zero, xp.ones((), dtype=a.dtype), divisor)
    # |a| / gcd * |b|, wrapping around where it overflows as NumPy's and PyTorch's
    return Tensor._make(xp.where(zero, xp.zeros((), dtype=a.dtype), xp.abs(a) // divisor * xp.abs(b)), backend)


def divmod(x1, x2):
    """``(floor_divide(x1, x2), remainder(x1, x2))``, as NumPy's divmod and Python's
    (``divmod(tensor, other)`` calls it); the remainder's gradients are remainder's."""
    a, b = _division("divmod", x1, x2)
    return FloorDivide.apply(a, b), Remainder.apply(a, b)


def rint(x):
    """``x`` rounded to the nearest whole number, halves to even, as NumPy's rint: a
    floating tensor (integers take the default float); a zero gradient."""
    return Round.apply(floating(_whole("rint", x)), 0)


def fix(x):
    """``x`` rounded toward zero, as NumPy's fix (trunc); integers keep their dtype."""
    return Trunc.apply(_whole("fix", x))


# --- polynomials --------------------------------------------------------------------------------------
def polyval(p, x):
    """The polynomial with coefficients ``p`` (highest power first) at ``x``, by Horner's
    rule, as NumPy's: p[0] * x**(n-1) + ... + p[n-1], of x's shape (of p[i]'s and x's
    broadcast, for a p of more than one axis). Differentiable in both."""
    if not isinstance(x, Tensor):  # a number takes p's dtype, as beside any tensor
        x = as_tensor(x, p if isinstance(p, Tensor) else None)
    p = as_tensor(p, x)
    on_one_device("polyval", p, x)
    if p.ndim == 0:
        raise ValueError("polyval: p must be a sequence of coefficients (highest power first), not a 0-d tensor; "
                         "for a constant polynomial use [c]")
    # NumPy starts from zeros of x's dtype: the result has x's shape and promoted dtype
    y = constant(x._backend.xp.zeros_like(x.data), x)
    for coefficient in unstack(p):
        y = y * x + coefficient
    return y
