"""The gamma family, as PyTorch has it: lgamma (log|Gamma(x)|), digamma, polygamma, the
multivariate log-gamma mvlgamma, and the Hurwitz zeta function (torch.special.zeta).

Each is computed with the Array API's elementwise calls only, the same way for every element,
in float64: float16 and float32 inputs too, rounded back at the end, which makes them correctly
rounded nearly everywhere (PyTorch's float32 lgamma is; its digamma is 500 ulp off near its zero,
and computing in float32 itself left lgamma 400 ulp off near its negative zeros). In float64:
- x >= 8: the asymptotic (Stirling) series, with Bernoulli numbers.
- 0 < x < 8: the recurrence Gamma(x + 1) = x Gamma(x), down to x in [1, 2) (up from (0, 1)),
  and there a polynomial in s = x - 1 that has the zeros of lgamma (s = 0, 1) and of
  digamma (s = 0.4616...) as factors, so that the results keep their relative precision
  next to those zeros. The polynomials are Chebyshev fits by mpmath at 50 digits
  (``mpmath.chebyfit`` of lgamma(1 + s) / (s (s - 1)) and digamma(1 + s) / (s - s0) on
  s in [0, 1], in the variable s - 1/2, with 21 and 23 terms): relative error under 1e-17.
- x < 0: the reflection formulas, with sin(pi x) and cot(pi x) taken from the distance
  of x to its nearest integer, which is exact, so that they stay exact for large |x|.
- polygamma(n >= 1, x) is (-1)^(n + 1) n! zeta(n + 1, x), and zeta is summed directly
  over its first terms, then by the Euler-Maclaurin formula; for x < 0 and even n, its pairs
  of sums that cancel near the half-integers are, there, the reflection formula's derivative
  of pi cot(pi x), a polynomial in cot(pi x) whose terms never cancel.

Poles and special values are PyTorch's: lgamma is inf at 0, -0.0, the negative integers
and both infinities; digamma is -inf at 0, inf at -0.0, NaN at the negative integers and
-inf; polygamma(n >= 1) is (-1)^(n + 1) inf at the poles. Where PyTorch's number is an
artefact of its algorithm, these give the function's value (as SciPy does) instead:
polygamma(1, x) is inf at the negative integers and -inf (PyTorch: finite numbers such as
6.6e32 at x = -1, where sin(pi x) is not exactly 0, and NaN at -inf); polygamma(n >= 2) and
zeta are 0 where their sum underflows (x = +inf, or zeta's s = +inf or 1e300 with q > 1), their
limit (PyTorch: NaN). (PyTorch's polygamma(n >= 2, x) and zeta(s, x) do not return for x below
about -1e16: their sum steps x up by 1 until it passes 9.)
"""
import decimal
import functools
import math
from fractions import Fraction

from backends import dtypes

from ..function import Function
from ..shapes import INTEGER
from ..tensor import Tensor
from .elementwise import floating, operands
from .polynomial import horner
from .quiet import without_floating_point_warnings

# B_2, B_4, ..., B_24, the Bernoulli numbers the asymptotic series take
_BERNOULLI = tuple(Fraction(n, d) for n, d in (
    (1, 6), (-1, 30), (1, 42), (-1, 30), (5, 66), (-691, 2730), (7, 6), (-3617, 510), (43867, 798),
    (-174611, 330), (854513, 138), (-236364091, 2730)))
# Stirling: lgamma(x) = (x - 1/2) log x - x + log(2 pi)/2 + sum B_2k / (2k (2k - 1) x^(2k - 1));
# ten terms reach 1e-17 from x = 8
_STIRLING = tuple(float(b / (2 * k * (2 * k - 1))) for k, b in enumerate(_BERNOULLI[:10], 1))
# digamma(x) = log x - 1 / (2x) - sum B_2k / (2k x^2k); eleven terms from x = 8
_DIGAMMA_SERIES = tuple(float(b / (2 * k)) for k, b in enumerate(_BERNOULLI[:11], 1))
# Euler-Maclaurin's B_2j / (2j)!, j = 1..12
_EULER_MACLAURIN = tuple(float(b / math.factorial(2 * j)) for j, b in enumerate(_BERNOULLI, 1))
_ASYMPTOTIC_FROM = 8.0
_ZETA_TERMS = 9  # zeta's terms summed before Euler-Maclaurin takes the rest, from q + 9 on
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_LOG_PI = math.log(math.pi)
_FACTORIAL_FINITE_UP_TO = 170  # (n! passes the largest float from n = 171)
_PI_60 = decimal.Decimal("3.14159265358979323846264338327950288419716939937510582097494")
_INTEGRAL_FROM = 2.0 ** 60  # every float64 of this size or more is an integer
_SMALLEST = math.ulp(0.0)  # the smallest float64 above 0 (the kernels run in float64)

# lgamma(1 + s) / (s (s - 1)) for s in [0, 1], in powers of s - 1/2, highest first
_LGAMMA_CORE = (
    1.1820969445467145e-05, -1.8527803997032962e-05, 1.3584275459130943e-05, -2.148770252062576e-05,
    4.281642862794779e-05, -6.793733027397047e-05, 0.00010541715222185904, -0.0001685717945035172,
    0.00027130273545114005, -0.00043803516132580534, 0.0007115202752051298, -0.001164411377219605,
    0.0019229162321227923, -0.0032120742206072908, 0.005446457842219553, -0.009425622444829649,
    0.01679709863121395, -0.03130848750105327, 0.06291140107456485, -0.14595989591430594,
    0.4831289505409809)
# digamma(1 + s) / (s - s0) for s in [0, 1], in powers of s - 1/2, highest first
_DIGAMMA_CORE = (
    0.00011881232908510335, -0.0001782188548855923, 9.653646261410062e-05, -0.00014480643368061614,
    0.00032395945401345196, -0.00048595039220036254, 0.0006909255761282986, -0.0010364584817312839,
    0.0015633696313653504, -0.0023454947397380833, 0.003518106563802472, -0.005279937255532708,
    0.007927021796868154, -0.011908220105959716, 0.017907248317313294, -0.026975796659787055,
    0.040760833940846085, -0.06192213327548831, 0.09498872445289039, -0.14840492305388092,
    0.24054248424078697, -0.4236274212814606, 0.9510558760318328)
# s0 = 0.46163214496836234126..., digamma's zero less 1, as the nearest double and the rest, so
# that s - s0 keeps its relative precision next to the zero
_DIGAMMA_ZERO = (0.46163214496836236, -1.5522348162858677e-17)


def _in_float64(kernel, x, *others):
    """``kernel(xp, x's array, others' arrays...)``, computed in float64 and returned in x's dtype."""
    xp = x._backend.xp
    dtype = x.data.dtype
    wide = [xp.astype(t.data, xp.float64, copy=False) for t in (x,) + others]
    result = kernel(xp, *wide)
    return result if dtype == xp.float64 else xp.astype(result, dtype)


def _offset_from_integer(xp, x):
    """x - round(x), exact, for x <= 0 (other lanes give anything finite): the argument that
    keeps sin(pi x) and cot(pi x) exact for large |x|."""
    x = xp.clip(x, -_INTEGRAL_FROM, 0)
    return x - xp.round(x)


def _away_from_zero(xp, a):
    """``a``, with 1/2 for 0: at the poles, where a reflection would divide by 0 (and warn),
    and the caller puts the pole's value instead."""
    return xp.where(a == 0, 0.5, a)


def _cot_pi(xp, x):
    """cot(pi x) for x <= 0 (0 at the poles, where the caller puts the pole's value), from
    a = |x - round(x)| in (0, 1/2]: as tan(pi (1/2 - a)) from a = 1/4 on, exactly 0 at a = 1/2,
    where 1 / tan(pi a) would leave tan's 1e16 at the rounded pi / 2."""
    offset = _offset_from_integer(xp, x)
    a = _away_from_zero(xp, xp.abs(offset))
    near = a <= 0.25
    cot = xp.where(near, 1 / xp.tan(math.pi * xp.where(near, a, 0.25)), xp.tan(math.pi * (0.5 - a)))
    return xp.copysign(cot, offset)


def _negative_integer(xp, x):
    """Where x is 0, -0.0, a negative integer or -inf: the poles."""
    return (x <= 0) & (x == xp.floor(x))


def _lgamma(xp, x):
    y = xp.abs(x)
    log_y = xp.log(xp.maximum(y, _SMALLEST))  # (y = 0 is a pole, which takes inf below)
    # 0 < y < 8: lgamma(y) = log((y-1)(y-2)...(y-k)) + lgamma(1 + s), s = y - floor(y), over the
    # factors >= 1; below 1, lgamma(y) = lgamma(1 + y) - log(y)
    small = xp.minimum(y, _ASYMPTOTIC_FROM)
    s = small - xp.floor(small)
    product = xp.maximum(small - 1, 1)
    for j in range(2, 7):
        product = product * xp.maximum(small - j, 1)
    small = s * (s - 1) * horner(s - 0.5, _LGAMMA_CORE) + xp.log(product) - xp.minimum(log_y, 0)
    # y >= 8: Stirling; (y - 1/2)(log y - 1) - 1/2 is (y - 1/2) log y - y, without the overflow of
    # (y - 1/2) log y just below lgamma's own
    large = xp.maximum(y, _ASYMPTOTIC_FROM)
    inverse = 1 / large
    large = ((large - 0.5) * (log_y - 1) + (_HALF_LOG_2PI - 0.5)
             + inverse * horner(inverse * inverse, _STIRLING[::-1]))
    result = xp.where(y < _ASYMPTOTIC_FROM, small, large)
    negative = x < 0
    if bool(xp.any(negative)):  # (the reflection, only for inputs that need it)
        # Gamma(x) Gamma(-x) = -pi / (x sin(pi x)): lgamma(x) = log(pi / |x sin(pi a)|) - lgamma(-x), with
        # a = |x - round(x)|; log(pi / sin(pi a)) = log(pi a / sin(pi a)) - log(a), and from t = tan(pi a / 2)
        # (tan is ten times faster than sin in NumPy), pi a / sin(pi a) = (pi a / 2) (1 + t^2) / t
        a = _away_from_zero(xp, xp.abs(_offset_from_integer(xp, x)))
        half_angle = (math.pi / 2) * a
        t = xp.tan(half_angle)
        reflected = xp.log(half_angle * (1 + t * t) / t) - xp.log(a) - log_y - result
        result = xp.where(negative, reflected, result)
    return xp.where(_negative_integer(xp, x), math.inf, result)


def _digamma(xp, x):
    negative = x < 0
    reflect = bool(xp.any(negative))  # (the reflection, only for inputs that need it)
    # digamma(x) = digamma(1 - x) - pi cot(pi x) for x < 0: the positive part on z = 1 - x there
    z = xp.where(negative, 1 - x, x) if reflect else x
    # 0 < z < 8: digamma(z) = digamma(1 + s) + 1/(z - 1) + ... + 1/(z - k), over the z - j >= 1,
    # s = z - floor(z); below 1, digamma(z) = digamma(1 + z) - 1/z
    small = xp.minimum(z, _ASYMPTOTIC_FROM)
    s = small - xp.floor(small)
    result = ((s - _DIGAMMA_ZERO[0]) - _DIGAMMA_ZERO[1]) * horner(s - 0.5, _DIGAMMA_CORE)
    for j in range(1, 7):
        d = small - j
        result = result + 1 / xp.where(d >= 1, d, math.inf)
    below_one = (small < 1) & (small > 0)
    small = result - 1 / xp.where(below_one, small, math.inf)
    large = xp.maximum(z, _ASYMPTOTIC_FROM)
    inverse = 1 / large
    w = inverse * inverse
    large = xp.log(large) - 0.5 * inverse - w * horner(w, _DIGAMMA_SERIES[::-1])
    result = xp.where(z < _ASYMPTOTIC_FROM, small, large)
    if reflect:
        result = xp.where(negative, result - math.pi * _cot_pi(xp, x), result)
        result = xp.where(_negative_integer(xp, x) & negative, math.nan, result)
    return xp.where(x == 0, xp.copysign(math.inf, -x), result)  # -inf at 0, inf at -0.0, as 1/x's sign


def _inverse_power(xp, a, s):
    """a^-s; the square of 1/a for s = 2 (trigamma, digamma's gradient), five times faster than pow."""
    if isinstance(s, int) and s == 2:
        inverse = 1 / a
        return inverse * inverse
    return xp.pow(a, -s)


def _zeta_positive(xp, s, q):
    """zeta(s, q) = sum over k >= 0 of (q + k)^-s for q > 0 and s > 1: the first terms summed,
    the rest from a = q + 9 by Euler-Maclaurin, a^(1-s)/(s-1) + a^-s/2 + sum over j of
    B_2j/(2j)! s(s+1)...(s+2j-2) a^(-s-2j+1), in nested form."""
    total = _inverse_power(xp, q, s)
    for k in range(1, _ZETA_TERMS):
        total = total + _inverse_power(xp, q + k, s)
    a = q + _ZETA_TERMS
    tail = _inverse_power(xp, a, s - 1)  # a^(1 - s)
    inverse_square = 1 / (a * a)
    if not isinstance(s, int):
        s = xp.minimum(s, 400.0)  # (past 400, a^(1 - s) <= 9^-399 is 0 in float64; this keeps the series finite)
    series = _EULER_MACLAURIN[-1]
    for j in range(len(_EULER_MACLAURIN) - 1, 0, -1):
        series = _EULER_MACLAURIN[j - 1] + series * ((s + (2 * j - 1)) * (s + 2 * j)) * inverse_square
    return total + tail * (1 / (s - 1) + (0.5 + s * series / a) / a)


@functools.lru_cache(maxsize=None)
def _shifted_powers_coefficients(s):
    """The polynomial in u = pi cot(pi x) that is the sum over all integers k of (x + k)^-s, as
    floats, highest power first, in powers of u^2 (times u for odd s). That sum is the (s - 1)th
    derivative of pi cot(pi x) = the sum of 1 / (x + k), over (-1)^(s - 1) (s - 1)!, and cot's
    derivatives are polynomials in cot: d^m cot / dt^m = P_m(cot t), P_0(c) = c,
    P_(m+1)(c) = -(1 + c^2) P_m'(c), whose coefficients all have the sign (-1)^m and one parity,
    so that the sum's terms never cancel. The coefficients are exact integers, scaled by powers of
    pi at 60 digits and rounded once."""
    m = s - 1
    p = [0, 1]  # P_0, lowest power first
    for _ in range(m):
        derivative = [j * p[j] for j in range(1, len(p))]
        p = [0] * (len(derivative) + 2)
        for j, d in enumerate(derivative):
            p[j] -= d
            p[j + 2] -= d
    with decimal.localcontext() as context:
        context.prec = 60
        scale = decimal.Decimal(math.factorial(m))
        coefficients = [float(decimal.Decimal(abs(p[j])) * _PI_60 ** (s - j) / scale) for j in range(s % 2, s + 1, 2)]
    return tuple(coefficients[::-1])


def _shifted_powers(xp, s, x):
    """The sum over all integers k of (x + k)^-s, for x <= 0 and an int s >= 2, without
    cancellation: the polynomial of _shifted_powers_coefficients in pi cot(pi x), which is exact
    at x's distance to its nearest integer (0 at the poles, where the caller puts inf)."""
    u = math.pi * _cot_pi(xp, x)
    even_part = horner(u * u, _shifted_powers_coefficients(s))
    return u * even_part if s % 2 else even_part


def _zeta(xp, s, q):
    """The Hurwitz zeta function with PyTorch's (Cephes') domain: inf at s = 1 and at the poles
    q = 0, -1, -2..., -inf; NaN for s < 1, and for q < 0 unless s is a whole number (q^-s is then
    complex). For q < 0, with f = q - floor(q), the first -floor(q) terms pair with those of
    zeta(s, 1 - f): zeta(s, q) = zeta(s, f) + (-1)^s (zeta(s, 1 - f) - zeta(s, 1 - q)), where the
    first two are the sum over all integers k of (f + k)^-s, for polygamma's odd s in closed form.
    ``s`` is an array, or a Python int (polygamma's orders, all > 1)."""
    integral_order = isinstance(s, int)
    # s = inf, and s <= 1, take their values below: s = 2 in their lanes keeps the sums quiet
    safe_s = s if integral_order else xp.where((s <= 1) | (s == math.inf), 2, s)
    result = _zeta_positive(xp, safe_s, xp.where(q <= 0, 1, q))  # (a NaN q passes)
    negative = q < 0
    if bool(xp.any(negative)):  # (its three more sums, only for the inputs that need them)
        clipped = xp.clip(q, -_INTEGRAL_FROM, 0)
        f, rest = clipped - xp.floor(clipped), xp.ceil(clipped) - clipped  # rest: 1 - f, exact also where f rounds
        between = negative & (f > 0)  # (other lanes take 1, where no power overflows)
        f, rest = xp.where(between, f, 1), xp.where(between, rest, 1)
        beyond = _zeta_positive(xp, safe_s, 1 - clipped)
        pairs = _zeta_positive(xp, safe_s, rest) - beyond
        if integral_order:
            pairs = pairs if s % 2 == 0 else -pairs
        else:
            half = safe_s / 2
            pairs = xp.where(half == xp.floor(half), pairs, -pairs)
        summed = _zeta_positive(xp, safe_s, f) + pairs
        if integral_order and s % 2 and s <= _FACTORIAL_FINITE_UP_TO + 1:
            # for odd s (polygamma's even orders), zeta(s, f) - zeta(s, 1 - f) cancels near the half-integers
            # (up to 5e-5 of the result was lost there, s = 7): from a quarter away from the integers on, it
            # is taken as what it is, the sum over all integer shifts, in closed form
            middle = xp.abs(_offset_from_integer(xp, clipped)) > 0.25
            summed = xp.where(middle, _shifted_powers(xp, s, clipped) + beyond, summed)
        result = xp.where(negative, summed, result)
    if integral_order:
        return xp.where(_negative_integer(xp, q), math.inf, result)
    # s = inf: the first term's limit, 0 past q = 1 (where PyTorch's sum gives NaN), 1 at q = 1, else inf;
    # NaN for a NaN q, which pow(NaN, -inf) keeps
    result = xp.where(s == math.inf, xp.pow(xp.where(q <= 0, 0.5, q), -math.inf), result)
    # Cephes' order, each rule over the ones before: q < 0 with s fractional NaN, a pole in q inf,
    # s < 1 NaN, s = 1 inf
    result = xp.where(negative & (s != xp.floor(s)), math.nan, result)
    result = xp.where(_negative_integer(xp, q), math.inf, result)
    return xp.where(s == 1, math.inf, xp.where(s < 1, math.nan, result))


def _polygamma(xp, n, x):
    """polygamma(n, x) = (-1)^(n + 1) n! zeta(n + 1, x), for n >= 1."""
    scale = float(math.factorial(n)) if n <= _FACTORIAL_FINITE_UP_TO else math.inf
    return (scale if n % 2 else -scale) * _zeta(xp, n + 1, x)


@without_floating_point_warnings
class Lgamma(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _in_float64(_lgamma, x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * digamma(x)


def lgamma(x):
    """log|Gamma(x)|, elementwise; inf at the poles 0, -1, -2... (torch.lgamma, scipy's gammaln)."""
    return Lgamma.apply(floating(x))


@without_floating_point_warnings
class Digamma(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _in_float64(_digamma, x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * polygamma(1, x)


def digamma(x):
    """The derivative of lgamma, Gamma'(x) / Gamma(x) (torch.digamma, scipy's psi)."""
    return Digamma.apply(floating(x))


@without_floating_point_warnings
class Polygamma(Function):
    @staticmethod
    def forward(ctx, x, n):
        ctx.save_for_backward(x)
        ctx.n = n
        return _in_float64(lambda xp, data: _polygamma(xp, n, data), x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * polygamma(ctx.n + 1, x), None


def polygamma(n, x):
    """The n-th derivative of digamma (n = 0: digamma itself), as torch.polygamma(n, x)."""
    if not isinstance(n, INTEGER) or isinstance(n, bool):
        raise TypeError(f"polygamma: n must be an int, not {type(n).__name__} ({n!r})")
    if n < 0:
        raise ValueError(f"polygamma: n must be >= 0 (0 is digamma), got {n}")
    if n == 0:
        return digamma(x)
    return Polygamma.apply(floating(x), int(n))


def mvlgamma(x, p):
    """The multivariate log-gamma function of dimension ``p``, elementwise:
    p (p - 1) / 4 log(pi) + the sum of lgamma(x - j / 2) for j = 0..p-1 (torch.mvlgamma, scipy's
    multigammaln). Defined for x > (p - 1) / 2; like torch 2.13, other x are not refused,
    and give that sum (inf where one of its terms is at a pole)."""
    if not isinstance(p, INTEGER) or isinstance(p, bool):
        raise TypeError(f"mvlgamma: p must be an int, not {type(p).__name__} ({p!r})")
    if p < 1:
        raise ValueError(f"mvlgamma: p must be >= 1 (the dimension), got {p}")
    if isinstance(x, Tensor) and x.dtype == dtypes.bool_:
        raise TypeError("mvlgamma: x may not be a bool tensor, as in PyTorch; convert it with x.astype(ag.float32)")
    x = floating(x)
    offsets = Tensor._make(x._backend.asarray([(j + 1 - p) / 2 for j in range(p)], x.dtype), x._backend)
    terms = lgamma(x.expand_dims(-1) + offsets)
    return terms.sum(axis=-1) + p * (p - 1) / 4 * _LOG_PI


@without_floating_point_warnings
class Zeta(Function):
    @staticmethod
    def forward(ctx, x, q):
        ctx.save_for_backward(x, q)
        return _in_float64(_zeta, x, q)

    @staticmethod
    def backward(ctx, gy):
        x, q = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("zeta: the derivative with respect to x (the exponent, the first argument) "
                                      "is not implemented, as in PyTorch; pass x.detach() to differentiate in q only")
        return None, (-gy * x * zeta(x + 1, q) if ctx.needs_input_grad[1] else None)


def zeta(x, q):
    """The Hurwitz zeta function, the sum over k >= 0 of (q + k)^-x, elementwise and broadcasting
    (torch.special.zeta; x = 1 gives inf, x < 1 NaN). Differentiable in q, as in PyTorch; a
    gradient with respect to x raises NotImplementedError when backward reaches it, as there."""
    x, q = operands("zeta", x, q, to_float=True)
    return Zeta.apply(floating(x), floating(q))
