"""PyTorch's special functions of the normal distribution, products with logarithms, the
logit and the modified Bessel functions: erfinv, ndtr, ndtri, log_ndtr, erfcx, xlogy,
xlog1py, logit, entr, i0, i0e, i1 and i1e.

The kernels use only the Array API standard, building on the error function kernels of
exponential.py (Cody's rational approximations); float16 is computed through float32, and
integer and bool inputs take the default float, as in PyTorch. Each backward is PyTorch's
formula in Tensor ops (so it differentiates again), except where a docstring says so."""
import math
import numbers

from backends import dtypes

from ..autocast_mode import autocast_op
from ..function import Function
from .elementwise import AsType, constant, exp, floating, log, operands, sign, where
from .exponential import _ERF_P, _ERF_Q, _erf_near, _exp_square, _rational, _scaled_erfc, _special
from .polynomial import horner
from .quiet import without_floating_point_warnings

_SQRT2 = math.sqrt(2.0)
_SQRT_HALF = math.sqrt(0.5)
_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)


def _full(xp, value, like):
    """``value`` as a 0-d array of ``like``'s dtype, for the standard's where."""
    return xp.asarray(value, dtype=like.dtype)


def _smallest_subnormal(xp, like):
    info = xp.finfo(like.dtype)
    return info.smallest_normal * info.eps


def _in_working_precision(function, x):
    """``function.apply(x)`` for a floating ``x``; float16 through float32 and rounded once,
    backward included, as PyTorch computes float16. The kernels run in float32 already
    (_special), but the slopes' formulas, in float16's own arithmetic, lose digits or overflow:
    exp(z^2 / 2) after z^2 rounds (ndtri's slope 20 float16 ulps off), erfcx's difference near
    x = 4 (40 ulps), log_ndtr's quotient at x = -65504 (inf, where the slope is 65504), i1's
    i0(x) - i1(x) / x past x = 13.3 (inf - inf = NaN, where the slope overflows to inf; from
    x = 92, where float32's overflow too, it is NaN as float32's is), i1e's near its peak at
    1.56 (thousands of ulps), and erfinv's and ndtr's exp of a rounded square (9 and 6 ulps)."""
    x = floating(x)
    if x.dtype == dtypes.float16:
        return _QuietAsType.apply(function.apply(_QuietAsType.apply(x, dtypes.float32)), dtypes.float16)
    return function.apply(x)


@without_floating_point_warnings
class _QuietAsType(AsType):
    """A cast, both ways, without NumPy's warning where a value passes float16's range: a
    result or slope that overflows to inf there is the right answer, as in the kernels."""

    @staticmethod
    def forward(ctx, x, dtype):
        return AsType.forward(ctx, x, dtype)

    @staticmethod
    def backward(ctx, gy):
        return _QuietAsType.apply(gy, ctx.source), None


# --- erfcx, and the inverses of erf and erfc ----------------------------------------------------
def _erfcx(xp, x):
    """exp(x^2) erfc(x): exp(x^2) (1 - erf(x)) on [-0.5, 0.5], Cody's R(x) beyond 0.5 (no
    exponential, so no overflow or underflow up to inf), and 2 exp(x^2) - erfcx(-x) below
    -0.5, which overflows from x = -26.63, as the function does."""
    y = xp.abs(x)
    small = xp.clip(x, -0.5, 0.5)
    near = xp.exp(small * small) * (1 - _erf_near(xp, small))
    tail = _scaled_erfc(xp, y)
    y = xp.where(y <= 0.5, near, tail)
    left_at = xp.where(x < -0.5, xp.minimum(-x, 27.0), _full(xp, 0.5, x))  # (no overflow in other lanes)
    return xp.where(x < -0.5, 2 * _exp_square(xp, left_at, 1.0) - tail, y)


# Fitted for this module (mpmath, 40 digits: Chebyshev nodes, then Lawson's reweighting
# toward the least largest relative error), after Giles, "Approximating the erfinv function"
# (GPU Computing Gems, 2011): in a variable made of log(1 - x^2) or log(q), erfinv is smooth
# enough for one polynomial or rational function to be right to double precision, with no
# Newton or Halley step after it.
# erfinv(x)/x for |x| <= 0.5 as a polynomial in v = log(1 - x^2) in [log(3/4), 0] (Giles' -w),
# relative error 1.2e-17:
_ERFINV_CENTER = (0.886226925452758, -0.23201366653464922, 0.011549342038692546, 0.0023351016546003223,
                  -0.00012804309471004877, -4.6609729591908834e-05, 2.028527294302858e-06, 1.0370808085652823e-06)
# For q <= 1/2, s = sqrt(-log q): erfcinv(q) is s less a correction, 0.07 to 0.36, whose rounding
# errors shrink with it; the correction as a ratio of polynomials (numerator, denominator) in s,
# expanded at 0, where their terms do not cancel: relative error 1.5e-17 of erfcinv on s in
# [sqrt(log 2), 3] (q down to 1.2e-4), and 2.3e-17 on [3, 27.3], past the smallest subnormal's 27.29.
_ERFCINV_NEAR = ((-0.00019090349297817274, 1.0027876825112134, 3.0140159629198893, 5.108050858179061,
                  5.658401911280031, 4.191766342077981, 1.1371952675658559, 0.06621787837434591,
                  0.0001642942496972701),
                 (1.0, 3.9191185604629326, 8.503415086059112, 12.966276861440607, 13.539560767419733,
                  10.24845624684809, 4.593744641075093, 0.7471260076550957, 0.026770937108645785))
_ERFCINV_FAR = ((0.09268736181784816, 0.5173206598567156, 1.6749561466099214, -0.42388286762430083,
                 -0.7694492783498763, -0.15306744954956658, -0.009252750371057125, -0.00017808960007975266,
                 -8.404167593881769e-07, -1.5286631783150294e-10),
                (1.0, 1.4881799255442176, 2.024447123228915, 0.5027508691969332, -1.6106020916598727,
                 -0.7459553478651499, -0.09724897132455997, -0.004410518434620841, -6.591627567682322e-05,
                 -2.3278254915844827e-07))
_ERFCINV_SWITCH = 3.0  # s between the two (q = 1.2e-4)


def _power_series(t, coefficients):
    """The power series with ``coefficients``, lowest power first, at t."""
    return horner(t, coefficients[::-1])


def _erfcinv_of(s, fit):
    numerator, denominator = fit
    return s - _power_series(s, numerator) / _power_series(s, denominator)


def _where_needed(xp, y, mask, kernel, *arrays):
    """y with kernel(*arrays) computed only in mask's places, if there are any (y is changed in place)."""
    if xp.any(mask):
        y = xp.asarray(y)  # (NumPy's 0-d arithmetic makes a scalar, which takes no assignment)
        y[mask] = kernel(*(a[mask] for a in arrays))
    return y


def _erfinv_center(xp, x):
    """erfinv(x) for |x| <= 0.5, from _ERFINV_CENTER; computed everywhere, meaningful only there."""
    return x * _power_series(xp.log1p(-(x * x)), _ERFINV_CENTER)


def _erfcinv_tail(xp, q):
    """The y >= 0.47 with erfc(y) = q, for 0 < q <= 0.5 (subnormal q too), inf at q = 0 and
    NaN below, from _ERFCINV_NEAR and _ERFCINV_FAR (the far one only where some s needs it).
    The rounding of s (the logarithm's half ulp halved, the square root's) reaches y at most
    1.6 times over, at q = 1/2 (1.15 times at q = 1e-4)."""
    s = xp.sqrt(-xp.log(xp.clip(q, _smallest_subnormal(xp, q), 0.5)))
    y = _erfcinv_of(s, _ERFCINV_NEAR)
    y = _where_needed(xp, y, s > _ERFCINV_SWITCH, lambda far: _erfcinv_of(far, _ERFCINV_FAR), s)
    return xp.where(q > 0, y, xp.where(q == 0, _full(xp, math.inf, q), _full(xp, math.nan, q)))


def _erfinv(xp, x):
    """erfinv(x): the center up to |x| = 0.5, then the tail of erfc(|y|) = 1 - |x|, exact
    there, only where some |x| is beyond; +-inf at +-1 and NaN outside [-1, 1]."""
    y = _erfinv_center(xp, xp.clip(x, -0.5, 0.5))
    return _where_needed(xp, y, xp.abs(x) > 0.5,
                         lambda beyond: xp.copysign(_erfcinv_tail(xp, 1 - xp.abs(beyond)), beyond), x)


def _ndtri(xp, p):
    """The standard normal's p-quantile: sqrt(2) erfinv(2p - 1) on [1/4, 3/4], where 2p - 1
    is exact, and -+sqrt(2) erfcinv(2 min(p, 1 - p)) outside, 1 - p exact there, so that the
    tails keep their precision down to the smallest subnormal p; -inf at 0, inf at 1."""
    def tail(outside):
        lower = outside < 0.5
        z = _SQRT2 * _erfcinv_tail(xp, 2 * xp.where(lower, outside, 1 - outside))
        return xp.where(lower, -z, z)
    z = _SQRT2 * _erfinv_center(xp, xp.clip(2 * p - 1, -0.5, 0.5))
    return _where_needed(xp, z, xp.abs(p - 0.5) > 0.25, tail, p)


def _upper_tail(xp, x):
    """The parts of ndtr(-|x|), the standard normal's tail beyond |x|: ``z`` = |x|/sqrt(2),
    ``near`` = (1 - erf(z))/2, the tail for z <= 1/2, and ``half_scaled`` = erfcx(z)/2; the
    tail beyond is erfcx(z)/2 exp(-x^2/2), with x^2/2 split as _exp_square does, so that it
    does not feel the rounding of z (PyTorch's erfc(z)/2 loses up to x^2 ulp to it: 1600 at
    x = -37). Each is computed everywhere and meaningful on its own range; z stops at the
    largest float, where erfcx(inf) = 0 would make a log(0)."""
    z = xp.minimum(xp.abs(x) * _SQRT_HALF, xp.finfo(x.dtype).max)
    return z, 0.5 - 0.5 * _erf_near(xp, xp.minimum(z, 0.5)), 0.5 * _scaled_erfc(xp, z)


def _ndtr_of_parts(xp, x, z, near, half_scaled):
    """ndtr(-|x|) from _upper_tail's parts (it underflows from |x| = 38.5; 40 stands for beyond)."""
    return xp.where(z <= 0.5, near, half_scaled * _exp_square(xp, xp.minimum(xp.abs(x), 40.0), -0.5))


def _ndtr(xp, x):
    """The standard normal distribution function."""
    tail = _ndtr_of_parts(xp, x, *_upper_tail(xp, x))
    return xp.where(x < 0, tail, 1 - tail)


def _log_ndtr(xp, x):
    """log ndtr(x): for x < 0 the log of the tail, as log(erfcx(z)/2) - x^2/2 beyond z = 1/2,
    which stays right where ndtr(x) underflows (log_ndtr(-40) = -804.6); from 0,
    log1p(-ndtr(-x)), right where ndtr(x) rounds to 1. (PyTorch's log1p(-erfc(x/sqrt(2))/2)
    from x = -1 loses a few bits on [-1, 0] and up to x^2 ulp for large x.)"""
    z, near, half_scaled = _upper_tail(xp, x)
    a = xp.abs(x)
    left = xp.where(z <= 0.5, xp.log(near), xp.log(half_scaled) - a * (a * 0.5))  # (not a^2 / 2: a^2 overflows first)
    right = xp.log1p(-_ndtr_of_parts(xp, x, z, near, half_scaled))
    return xp.where(x < 0, left, right)


@without_floating_point_warnings
class Erfinv(Function):
    @staticmethod
    def forward(ctx, x):
        y = _special(_erfinv, x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy * exp(y * y) * (_SQRT_PI / 2)


@autocast_op("erfinv")
def erfinv(x):
    """The inverse of erf on [-1, 1]: +-inf at +-1, NaN outside."""
    return _in_working_precision(Erfinv, x)


@without_floating_point_warnings
class Ndtr(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _special(_ndtr, x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * exp(x * x * -0.5) * (1 / _SQRT_2PI)


def ndtr(x):
    """The standard normal distribution function, the integral of its density up to x."""
    return _in_working_precision(Ndtr, x)


@without_floating_point_warnings
class Ndtri(Function):
    @staticmethod
    def forward(ctx, p):
        z = _special(_ndtri, p)
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx, gz):
        z, = ctx.saved_tensors
        return gz * exp(z * z * 0.5) * _SQRT_2PI


def ndtri(p):
    """The inverse of ndtr: the standard normal's p-quantile; -inf at 0, inf at 1, NaN outside."""
    return _in_working_precision(Ndtri, p)


@without_floating_point_warnings
class LogNdtr(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _special(_log_ndtr, x)

    @staticmethod
    def backward(ctx, gy):
        # The density over ndtr: sqrt(2/pi) / erfcx(-x/sqrt(2)) for x < 0, exp(-x^2/2) /
        # (sqrt(2 pi) ndtr(x)) from 0. (PyTorch's exp(-x^2/2 - log_ndtr(x)) / sqrt(2 pi) loses
        # digits to that difference, and is NaN from where x^2 overflows.) Each form is taken
        # at 0 in the other's places, where it would overflow and make a NaN second derivative.
        x, = ctx.saved_tensors
        negative = constant(x.data < 0, x)
        left, right = where(negative, x, 0), where(negative, 0, x)
        return gy * where(negative, (2 / _SQRT_PI * _SQRT_HALF) / erfcx(left * -_SQRT_HALF),
                          exp(right * right * -0.5) / ndtr(right) * (1 / _SQRT_2PI))


def log_ndtr(x):
    """log(ndtr(x)), accurate far into the left tail, where ndtr(x) underflows."""
    return _in_working_precision(LogNdtr, x)


@without_floating_point_warnings
class Erfcx(Function):
    @staticmethod
    def forward(ctx, x):
        y = _special(_erfcx, x)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        # PyTorch's 2 x erfcx(x) - 2/sqrt(pi) cancels for large x, where the two agree to
        # 2 log10(x) digits (1.6e-8 off at x = 1e4, 0 from 1e8, where it is -5.6e-17).
        # Beyond 4 it is -2 u R(u), u = 1/x^2, from Cody's erfcx(x) = (1/sqrt(pi) - u R(u)) / x
        # that forward takes there; u is (1/x)^2, whose derivative at x = inf is 0, not
        # 0 * inf. Each form sees 4 in the other's places, so that no inf * 0 (x erfcx(x)
        # at x = inf) reaches a second derivative.
        x, y = ctx.saved_tensors
        far = constant(x.data > 4.0, x)
        near_x, far_x = where(far, 4.0, x), where(far, x, 4.0)
        u = (1 / far_x) ** 2
        return gy * where(far, -2 * u * _rational(u, _ERF_P, _ERF_Q, 4), near_x * y * 2 - 2 / _SQRT_PI)


def erfcx(x):
    """The scaled complementary error function exp(x^2) erfc(x), finite for large x, where
    erfc underflows; it overflows below x = -26.63, as exp(x^2) does."""
    return _in_working_precision(Erfcx, x)


# --- products with logarithms, logit, entropy ------------------------------------------------
def _x_log(xp, log, x, y):
    """x log(y) (``log``: the namespace's log or log1p), 0 where x == 0 unless y is NaN;
    the log sees 1 there, so that 0 * log(0) meets no -inf."""
    zero = x == 0
    product = x * log(xp.where(zero, _full(xp, 1, y), y))
    return xp.where(xp.isnan(y), y, xp.where(zero, _full(xp, 0, y), product))


@without_floating_point_warnings
class XLogY(Function):
    """x log(y), or x log(1 + y) where ``plus_one`` (xlog1py)."""

    @staticmethod
    def forward(ctx, x, y, plus_one):
        ctx.save_for_backward(x, y)
        ctx.plus_one = plus_one
        return _special(lambda xp, a, b: _x_log(xp, xp.log1p if plus_one else xp.log, a, b), x, y)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad[:2]
        gx = gy = None
        if need_x:  # PyTorch's: the op on (g, y), with 0 where x == 0 and the log is -inf or NaN
            pole = -1 if ctx.plus_one else 0
            flat = constant((x.data == 0) & (y.data <= pole), x)
            gx = where(flat, 0, XLogY.apply(g, y, ctx.plus_one))
        if need_y:
            gy = g * x / (y + 1 if ctx.plus_one else y)
        return gx, gy, None


def _x_log_operands(op, x, y):
    x, y = operands(op, x, y, to_float=True)
    return floating(x), floating(y)


def xlogy(x, y):
    """x * log(y), broadcasting, with 0 where x == 0 (even where y is 0 or inf) unless y is NaN."""
    return XLogY.apply(*_x_log_operands("xlogy", x, y), False)


def xlog1py(x, y):
    """x * log1p(y), broadcasting, with 0 where x == 0 (even where y is -1 or inf) unless y is NaN."""
    return XLogY.apply(*_x_log_operands("xlog1py", x, y), True)


def _logit(xp, x):
    """log(x / (1 - x)); near x = 1/2, where that loses the relative precision of a result
    near 0, log1p((2x - 1) / (1 - x)), whose 2x - 1 and 1 - x are exact there."""
    near_half = xp.clip(x, 0.25, 0.75)  # (so that other places make no log1p(-1))
    central = xp.log1p((2 * near_half - 1) / (1 - near_half))
    return xp.where(xp.abs(x - 0.5) < 0.25, central, xp.log(x / (1 - x)))


def _clamped(xp, x, eps):
    """x below eps raised to eps and x above 1 - eps lowered to it, in that order, as
    PyTorch's (with eps > 1/2 every x goes to one bound or the other); NaN stays NaN."""
    low = _full(xp, eps, x)
    high = 1 - low
    return xp.where(x < low, low, xp.where(x > high, high, x))


@without_floating_point_warnings
class Logit(Function):
    @staticmethod
    def forward(ctx, x, eps):
        ctx.save_for_backward(x)
        ctx.eps = eps
        if eps is not None:  # (clamped in x's dtype, float16 too, as PyTorch's)
            x = constant(_clamped(x._backend.xp, x.data, eps), x)
        return _special(_logit, x)

    @staticmethod
    def backward(ctx, gy):
        # PyTorch's: gy / (x (1 - x)) on [0, 1] (NaN outside) without eps, and 0 below eps
        # and above 1 - eps with it, where the clamp is flat (NaN stays NaN). The quotient is
        # taken at 1/2 in the other places, so that its derivative there is no 0 * inf.
        x, = ctx.saved_tensors
        data = x.data
        if ctx.eps is None:
            inside, outside = (data >= 0) & (data <= 1), math.nan
        else:
            low = _full(x._backend.xp, ctx.eps, data)
            inside, outside = ~((data < low) | (data > 1 - low)), 0.0
        inside = constant(inside, x)
        at = where(inside, x, 0.5)
        return where(inside, gy / (at * (1 - at)), outside), None


def logit(x, eps=None):
    """log(x / (1 - x)), the inverse of the sigmoid. With ``eps`` >= 0, x is clamped to
    [eps, 1 - eps] first and the gradient is 0 outside it; a negative eps is no eps, as in PyTorch."""
    if eps is not None and (not isinstance(eps, numbers.Real) or isinstance(eps, bool)):
        raise TypeError(f"logit: eps must be a float or None, not {eps!r}")
    return Logit.apply(floating(x), None if eps is None or eps < 0 else float(eps))


def _entr(xp, x):
    """-x log(x), -inf below 0; |x| gives +0 at +-0 and NaN at NaN, and the log sees 1 where x <= 0."""
    positive = xp.where(x > 0, x, _full(xp, 1, x))
    rest = xp.where(x < 0, _full(xp, -math.inf, x), xp.abs(x))
    return xp.where(x > 0, -positive * xp.log(positive), rest)


@without_floating_point_warnings
class Entr(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _special(_entr, x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return -gy * (log(x) + 1)


def entr(x):
    """The elementwise entropy -x log(x): 0 at 0, -inf for x < 0."""
    return Entr.apply(floating(x))


# --- the modified Bessel functions of the first kind, orders 0 and 1 ------------------------
_BESSEL_SWITCH = 15.0
# Up to |x| = 15 the power series in t = x^2/4, I0 = sum t^k / k!^2 and I1 = x/2 sum t^k /
# (k! (k+1)!), all of whose terms are positive: 31 terms reach 1e-19 of the sum at 15.
_I0_SERIES = tuple(1 / math.factorial(k) ** 2 for k in range(31))
_I1_SERIES = tuple(1 / (math.factorial(k) * math.factorial(k + 1)) for k in range(31))
# Beyond, sqrt(x) exp(-x) I_n(x) as a Chebyshev series in s = 30/x - 1 (x = 15 to inf is s =
# 1 to -1), its first 16 coefficients computed to 50 digits (mpmath, 48 Chebyshev nodes);
# the rest are below 1e-18.
_I0E_FAR = (0.40065427309849361, 0.001729097766121346, 1.7434430373127665e-05, 3.3910025441966124e-07,
            1.0138667624444682e-08, 4.2129876734018444e-10, 2.3058717862674895e-11, 1.6147708215256484e-12,
            1.4303543725035587e-13, 1.6049334215286977e-14, 2.2704188628641549e-15, 3.8393184081163722e-16,
            6.7545692996993668e-17, 9.1151381868768884e-18, -3.7296872062108843e-19, -8.6194373460430326e-19)
_I1E_FAR = (0.39387344257891854, -0.005096919601757146, -2.8535397545255077e-05, -4.6592292885305759e-07,
            -1.2784201115939271e-08, -5.0457179222626383e-10, -2.6675862091929103e-11, -1.821391325559129e-12,
            -1.5817686172772877e-13, -1.7462536263157719e-14, -2.4386758100566812e-15, -4.0897932113542137e-16,
            -7.1816701350186473e-17, -9.8050610571287052e-18, 3.1337761514865682e-19, 8.8229889008137508e-19)
# The slopes' differences, which cancel about log10(2x) digits taken between those two series
# (1e-8 of i0e's slope at x = 1e8, all of it from 1e20), as their own series alike (18 terms):
# sqrt(x) (i0e(x) - i1e(x)) = t E(s) and sqrt(x) i0e''(x) = sqrt(x) (2 (i0e(x) - i1e(x)) -
# i1e(x) / x) = t^2 K(s), t = 30/x = 1 + s (both vanish as x goes to inf).
_I0E_LESS_I1E_FAR = (
    0.0067364054429671416, 8.885015321580804e-05, 1.5235433910843538e-06, 4.2415838788743176e-08,
    1.6712978835974859e-09, 8.730292482975602e-11, 5.8373858758984776e-12, 4.9146332765502618e-13,
    5.2011762961025082e-14, 6.9377443790929434e-15, 1.1364892376784185e-15, 2.074664913918913e-16,
    3.4400103431916122e-17, 2.4580904386367249e-18, -1.4758858211783849e-18, -8.7901146781944559e-19,
    -2.5457649255408049e-19, -2.5081221237874543e-20)
_I0E_CURVATURE_FAR = (
    0.00033988799375427867, 7.616279098773315e-06, 1.8670727427123912e-07, 6.8397533719606766e-09,
    3.3810273001607636e-10, 2.1512776793065738e-11, 1.7215351985671622e-12, 1.7208711952245466e-13,
    2.156996137864181e-14, 3.3651336795439646e-15, 6.1491786285254916e-16, 1.1356593280172316e-16,
    1.5081525187264475e-17, -1.3407893585751908e-18, -1.9139139784252807e-18, -7.5581781029769799e-19,
    -1.4931619826253068e-19, 1.2145386700251458e-20)
# I1(x)/x = sum c_k t^k / 2 near 0 (c_k of _I1_SERIES), and its slope x/4 sum k c_k t^(k-1)
_I1_SLOPE_SERIES = tuple(k * c for k, c in enumerate(_I1_SERIES))[1:]
_OVERFLOWED = 1500.0  # I0 and I1 overflow double from x = 713.99; exp(x/2) stays finite to here


def _chebyshev_series(s, coefficients):
    """sum c_k T_k(s) by Clenshaw's recurrence."""
    b1 = b2 = 0.0
    for c in reversed(coefficients[1:]):
        b1, b2 = 2 * s * b1 - b2 + c, b1
    return s * b1 - b2 + coefficients[0]


def _bessel(xp, x, order, scaled):
    """I0 or I1 (``order``) of x, or with ``scaled`` exp(-|x|) times it (i0e, i1e); I1 odd.
    Both ranges are computed everywhere, each on |x| clipped to it."""
    a = xp.abs(x)
    y = xp.where(a <= _BESSEL_SWITCH, _bessel_near(xp, a, order, scaled), _bessel_far(xp, a, order, scaled))
    return xp.where(x < 0, -y, y) if order else y


def _bessel_near(xp, a, order, scaled):
    """_bessel at a = |x| clipped to at most 15: the power series."""
    near_at = xp.minimum(a, _BESSEL_SWITCH)
    near = _power_series(near_at * near_at / 4, _I1_SERIES if order else _I0_SERIES)
    if order:
        near = near * (near_at / 2)
    return near * xp.exp(-near_at) if scaled else near


def _bessel_far(xp, a, order, scaled):
    """_bessel at a = |x| clipped to at least 15: the Chebyshev series."""
    far_at = xp.maximum(a, _BESSEL_SWITCH)
    if not scaled:
        # exp(x) in halves, so that I(x) is finite up to 713.99 where exp(x) overflows at 709.78
        far_at = xp.minimum(far_at, _OVERFLOWED)
        half = xp.exp(far_at / 2)
    far = _chebyshev_series(30 / far_at - 1, _I1E_FAR if order else _I0E_FAR) / xp.sqrt(far_at)
    return far if scaled else half * (far * half)


def _difference(xp, a, curvature):
    """At a = |x|: i0e(a) - i1e(a), i0e's slope but for its sign, or with ``curvature``
    i0e''(a) = 2 (i0e(a) - i1e(a)) - i1e(a) / a; beyond 15, their own series."""
    near = _bessel_near(xp, a, 0, True) - _bessel_near(xp, a, 1, True)
    if curvature:
        near = 2 * near - _ratio(xp, xp.minimum(a, _BESSEL_SWITCH), True, False)
    far_at = xp.maximum(a, _BESSEL_SWITCH)
    t = 30 / far_at
    series = _I0E_CURVATURE_FAR if curvature else _I0E_LESS_I1E_FAR
    far = _chebyshev_series(t - 1, series) * (t * t if curvature else t) / xp.sqrt(far_at)
    return xp.where(a <= _BESSEL_SWITCH, near, far)


def _ratio(xp, a, scaled, slope):
    """At a = |x|: I1(a) / a, or with ``slope`` its derivative, exp(-a) times each with
    ``scaled`` (the derivative of the product). Up to 15, their power series (see
    _I1_SLOPE_SERIES): near 0, I1(a) / a and (I0(a) - 2 I1(a) / a) / a are 0/0."""
    near_at = xp.minimum(a, _BESSEL_SWITCH)
    t = near_at * near_at / 4
    near = ratio = _power_series(t, _I1_SERIES) / 2
    if slope:
        near = near_at / 4 * _power_series(t, _I1_SLOPE_SERIES) - (ratio if scaled else 0)
    if scaled:
        near = near * xp.exp(-near_at)
    far_at = xp.maximum(a, _BESSEL_SWITCH)
    far = ratio = _bessel_far(xp, far_at, 1, scaled) / far_at
    if slope:
        base = _difference(xp, far_at, False) if scaled else _bessel_far(xp, far_at, 0, False)
        far = (base - 2 * ratio) / far_at  # (I0 - 2 I1/a) / a; scaled, ((i0e - i1e) - 2 i1e/a) / a
    return xp.where(a <= _BESSEL_SWITCH, near, far)


def _away_from_zero(x):
    """x as a mask of |x| > the dtype's eps (NaN included) and x with eps in the other
    places, where a quotient by x that is 0/0 at 0 is replaced by its limit."""
    xp = x._backend.xp
    eps = xp.finfo(x.data.dtype).eps
    away = constant(~(xp.abs(x.data) <= eps), x)
    return away, where(away, x, eps)


@without_floating_point_warnings
class BesselDifference(Function):
    """i0e(|x|) - i1e(|x|), or with ``curvature`` i0e''(|x|) (see _difference): even in x."""

    @staticmethod
    def forward(ctx, x, curvature):
        ctx.curvature = curvature
        ctx.save_for_backward(x)
        return _special(lambda xp, v: _difference(xp, xp.abs(v), curvature), x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        # In a = |x|: (i0e - i1e)' = i1e/a - 2 (i0e - i1e), which is -i0e'', whose own
        # derivative is then -2 i0e'' - (i1e/a)'.
        slope = -BesselDifference.apply(x, True)
        if ctx.curvature:
            slope = 2 * slope - BesselRatio.apply(x, True, True)
        return gy * sign(x) * slope, None


@without_floating_point_warnings
class BesselRatio(Function):
    """I1(|x|) / |x| (which is I1(x) / x), or with ``slope`` its derivative at |x|; exp(-|x|)
    times each with ``scaled`` (see _ratio): even in x."""

    @staticmethod
    def forward(ctx, x, scaled, slope):
        ctx.scaled, ctx.slope = scaled, slope
        ctx.save_for_backward(x)
        return _special(lambda xp, v: _ratio(xp, xp.abs(v), scaled, slope), x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        scaled = ctx.scaled
        if not ctx.slope:
            return gy * sign(x) * BesselRatio.apply(x, scaled, True), None, None
        # Bessel's equation for r = I1(a)/a: r'' = r - 3 r'/a; with exp(-a), r_e'' =
        # -2 r_e' - 3 (r_e' + r_e)/a. Both of those quotients are 1/8 at 0.
        ratio, ratio_slope = BesselRatio.apply(x, scaled, False), BesselRatio.apply(x, scaled, True)
        away, at = _away_from_zero(abs(x))
        over_a = where(away, (ratio_slope + ratio if scaled else ratio_slope) / at, 0.125)
        curvature = -2 * ratio_slope - 3 * over_a if scaled else ratio - 3 * over_a
        return gy * sign(x) * curvature, None, None


@without_floating_point_warnings
class I0(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _special(lambda xp, a: _bessel(xp, a, 0, False), x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * i1(x)


def i0(x):
    """The modified Bessel function of the first kind of order 0."""
    return _in_working_precision(I0, x)


@without_floating_point_warnings
class I0e(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _special(lambda xp, a: _bessel(xp, a, 0, True), x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        # i1e(x) - sign(x) i0e(x), taken whole (see _difference). At the kink, 0, as that
        # formula, whose derivative there (i1e'(0) = 1/2, PyTorch's) is kept.
        slope = -sign(x) * BesselDifference.apply(x, False)
        if bool(x._backend.xp.any(x.data == 0)):
            slope = where(x == 0, i1e(x), slope)
        return gy * slope


def i0e(x):
    """exp(-|x|) i0(x), finite where i0 overflows."""
    return _in_working_precision(I0e, x)


@without_floating_point_warnings
class I1(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _special(lambda xp, a: _bessel(xp, a, 1, False), x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * (i0(x) - BesselRatio.apply(x, False, False))  # I0(x) - I1(x)/x


def i1(x):
    """The modified Bessel function of the first kind of order 1."""
    return _in_working_precision(I1, x)


@without_floating_point_warnings
class I1e(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _special(lambda xp, a: _bessel(xp, a, 1, True), x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        # i0e(x) - i1e(x) (sign(x) + 1/x), as i0e(|x|) - i1e(|x|) - i1e(|x|)/|x| (it is even)
        return gy * (BesselDifference.apply(x, False) - BesselRatio.apply(x, True, False))


def i1e(x):
    """exp(-|x|) i1(x), finite where i1 overflows."""
    return _in_working_precision(I1e, x)
