"""Exponentials, logarithms and their relatives beyond exp, log and log1p
(elementwise.py): exp2, expm1, log2, log10, the stable binary logaddexp, square,
reciprocal, hypot, and the error functions erf and erfc, which the Array API lacks.

Integer and bool inputs take the default float, as in PyTorch, except in square,
which keeps an integer dtype (a bool squared is int64, as torch.square gives).
logaddexp and hypot lift integers too (PyTorch refuses them; NumPy lifts them).
Each backward is PyTorch's formula, but expm1's (exp(x), where y + 1 cancels)."""
import math

from backends import dtypes

from ..autocast_mode import autocast_op
from ..function import Function
from .elementwise import as_tensor, astype, constant, exp, floating, operands, sigmoid, sign, where
from .quiet import without_floating_point_warnings

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


class Exp2(Function):
    @staticmethod
    def forward(ctx, x):
        y = x._backend.exp2(x.data)  # (the standard has no exp2)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy * y * _LN2


def exp2(x):
    return Exp2.apply(floating(x))


class Expm1(Function):
    """exp(x) - 1, accurate for small |x|, where exp(x) - 1 cancels."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x._backend.xp.expm1(x.data)

    @staticmethod
    def backward(ctx, gy):
        # exp(x), not PyTorch's y + 1: for x << 0, y is -1 plus a tail that its rounding
        # loses (2e-8 off at x = -20, and 0 for exp(-40) = 4e-18)
        x, = ctx.saved_tensors
        return gy * exp(x)


@autocast_op("expm1")
def expm1(x):
    return Expm1.apply(floating(x))


class Log2(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x._backend.xp.log2(x.data)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy / (x * _LN2)


@autocast_op("log2")
def log2(x):
    return Log2.apply(floating(x))


class Log10(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x._backend.xp.log10(x.data)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy / (x * _LN10)


@autocast_op("log10")
def log10(x):
    return Log10.apply(floating(x))


class Logaddexp(Function):
    """log(exp(a) + exp(b)) without overflow or underflow (the namespace's kernel)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a._backend.xp.logaddexp(a.data, b.data)

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        # exp(a - y) = 1 / (1 + exp(b - a)), PyTorch's form, which stays right where one
        # side is infinite (NaN where both are -inf, as in PyTorch)
        return (gy * sigmoid(a - b) if need_a else None), (gy * sigmoid(b - a) if need_b else None)


def logaddexp(a, b):
    """log(exp(a) + exp(b)), elementwise and broadcasting, computed stably."""
    a, b = operands("logaddexp", a, b, to_float=True)
    return Logaddexp.apply(floating(a), floating(b))


class Square(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x._backend.xp.square(x.data)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * (x * 2)


def square(x):
    """``x * x``; integers stay integers, and bools become int64, as in PyTorch."""
    x = as_tensor(x)
    if x.dtype == dtypes.bool_:
        x = astype(x, dtypes.int64)
    return Square.apply(x)


class Reciprocal(Function):
    @staticmethod
    def forward(ctx, x):
        y = 1 / x.data
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return -gy * (y * y)


@autocast_op("reciprocal")
def reciprocal(x):
    return Reciprocal.apply(floating(x))


class Hypot(Function):
    """sqrt(a^2 + b^2) without overflow or underflow in the squares."""

    @staticmethod
    def forward(ctx, a, b):
        y = a._backend.xp.hypot(a.data, b.data)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        a, b, y = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (gy * _hypot_slope(a, b, y) if need_a else None), (gy * _hypot_slope(b, a, y) if need_b else None)


def _hypot_slope(x, other, y):
    """d hypot / dx = x / y, or its limit sign(x) where x is infinite and ``other`` finite
    (x / y is inf / inf there; PyTorch's is NaN). Both infinite, it depends on the way
    there, and stays NaN, as PyTorch's."""
    xp = x._backend.xp
    at_limit = constant(xp.isinf(x.data) & xp.isfinite(other.data), x)  # (no "any?" test: a device sync)
    return where(at_limit, sign(x), x) / where(at_limit, 1.0, y)


def hypot(a, b):
    """sqrt(a^2 + b^2), elementwise and broadcasting (NaN gradients at (0, 0), as in PyTorch)."""
    a, b = operands("hypot", a, b, to_float=True)
    return Hypot.apply(floating(a), floating(b))


# W. J. Cody's rational approximations (Math. Comp. 23, 1969, netlib specfun CALERF):
# erf on |x| <= 0.5, erfc*exp(x^2) on [0.5, 4] and beyond 4; about 1e-16 relative error.
# Here for float64's erf and erfc (float32's have their own fit, below), and in erfcx, ndtr
# and log_ndtr (special_functions.py).
_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)
_ERF_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
          2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
          2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_ERF_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
          1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
          3.43936767414372164e03, 1.23033935480374942e03)
_ERF_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
          1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERF_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
          6.05183413124413191e-2, 2.33520497626869185e-3)
_INV_SQRT_PI = 0.56418958354775628695
_ERFC_UNDERFLOW = 27.3  # erfc(x) underflows double from about here (erfc(27.2) = 1e-323)


def _rational(t, num, den, n):
    """Cody's nested form: (num[-1] t^(n+1) + num[0] t^n + ... + num[n]) / (t^(n+1) + den[0] t^n + ... + den[n])."""
    top, bottom = num[-1] * t, t
    for i in range(n):
        top = (top + num[i]) * t
        bottom = (bottom + den[i]) * t
    return (top + num[n]) / (bottom + den[n])


def _rational_of_array(t, num, den, n):
    """_rational on a backend array, the same operations in place on two new arrays:
    where each step made a new one (4n + 3 of them), erf's kernels took 25% longer on
    NumPy's cache-sized blocks (the rational functions are half their passes)."""
    top = num[-1] * t
    bottom = t + den[0]  # the first step's sum, a new array (t is not ours to change)
    for i in range(n):
        top += num[i]
        top *= t
        bottom *= t
        bottom += den[i + 1]
    top += num[n]
    top /= bottom
    return top


def _erf_near(xp, x):
    """erf(x) for |x| <= 0.5 (Cody's rational in x^2); computed everywhere, meaningful only there."""
    small = xp.minimum(xp.abs(x), 0.5)
    return x * _rational_of_array(small * small, _ERF_A, _ERF_B, 3)


def _always(mask):
    return True


def _scaled_erfc(xp, y, needed=_always):
    """exp(y^2) erfc(y) (erfcx) for y >= 0.5: Cody's R(y), the part of erfc without the
    exponential, so it neither overflows nor underflows up to y = inf; computed everywhere,
    meaningful only there. Past y = 1e9 the 1/y^2 correction is below 1e-18 and is
    computed at 1e9, so that y^2 does not overflow. ``needed(mask)`` (a backend's
    any_true) may say that no y is past 4, where the far form's passes are skipped."""
    mid = xp.clip(y, 0.5, 4.0)
    if not needed(y > 4.0):
        return _rational_of_array(mid, _ERF_C, _ERF_D, 7)
    far = xp.maximum(y, 4.0)
    bounded = xp.minimum(far, 1e9)
    inv = 1 / (bounded * bounded)
    far_r = (_INV_SQRT_PI - inv * _rational_of_array(inv, _ERF_P, _ERF_Q, 4)) / far
    return xp.where(y <= 4.0, _rational_of_array(mid, _ERF_C, _ERF_D, 7), far_r)


def _exp_square(xp, y, sign):
    """exp(sign * y^2), with y^2 split as yt^2 + (y - yt)(y + yt), yt = trunc(16 y)/16, so
    that rounding y^2 does not cost the exponential its precision (an error of y^2 ulp)."""
    yt = xp.trunc(y * 16) / 16
    return xp.exp(sign * (yt * yt)) * xp.exp(sign * ((y - yt) * (y + yt)))


def _tail(xp, y, needed=_always):
    """erfc(y) for y > 0.5: exp(-y^2) R(y), R from 0.5 to where erfc underflows;
    computed everywhere, meaningful only there."""
    tail_at = xp.clip(y, 0.5, _ERFC_UNDERFLOW)
    return _exp_square(xp, tail_at, -1.0) * _scaled_erfc(xp, tail_at, needed)


def _erf_parts(xp, x, needed=_always):
    """``|x|``, erf(x) for |x| <= 0.5 (``near``), and erfc(|x|) for |x| > 0.5 (``tail``),
    each computed everywhere and meaningful only on its own range."""
    y = xp.abs(x)
    return y, _erf_near(xp, x), _tail(xp, y, needed)


def _by_range(backend, x, near_of, far_of):
    """``near_of(x)`` where |x| <= 0.5 and ``far_of(x)`` elsewhere (NaN included): near_of
    runs everywhere, far_of on the far elements only, gathered and put back over it.
    Where the backend works in cache blocks (NumPy), computing the tail everywhere and
    selecting ran its 50 passes over the near half of normal values too; gathering its
    own elements costs less than that (not so for the near rational's 20 passes, which
    therefore still run everywhere). Both are elementwise, so the bits are the same."""
    xp = backend.xp
    flat = xp.reshape(x, (-1,))
    out = near_of(flat)
    outer = xp.nonzero(xp.logical_not(xp.abs(flat) <= 0.5))[0]
    backend.put_(out, (outer,), far_of(xp.take(flat, outer)))
    return xp.reshape(out, x.shape)


# float32's erf and erfc, fitted for this module (mpmath values to 40 digits on 6000 Chebyshev
# nodes, float64 least squares, Lawson's reweighting toward the least largest relative error,
# the rational functions linearized as P - f Q over the last iterate's Q), each one rational
# function on its whole range, with no branch: erf(x) = x P(x^2) / Q(x^2) on |x| <= 4, relative
# error 2.0e-9 (so that erf(4), which every |x| >= 4 takes, rounds to 1, as it does from
# x = 3.9192), and erfc(y) = exp(-y^2) P(y) / Q(y) for y = |x| <= 10.2 (it rounds to float32 0
# past 10.0542), relative error 5.9e-9. Powers lowest first; each Q monic, its leading 1 left out.
_ERF32_P = (17879.35552516082, 2934.5726666382893, 860.6602934388261, 60.99763307472906, 6.014972070500303,
            0.07423133594618661, -0.00020919269150930517)
_ERF32_Q = (15845.166244080163, 7882.420669257534, 1805.6889359462427, 244.99920380503494, 20.71864971643333)
_ERF32_ONE_FROM = 4.0
_ERFC32_P = (17.156683099177872, 21.26145832377693, 12.567037648007549, 3.9398535018307506, 0.5641962109186607)
_ERFC32_Q = (17.156682998805458, 40.62071210343146, 41.245756963931, 22.76718755151245, 6.983654543918007)
_ERFC32_ZERO_FROM = 10.2


def _power_series_of_array(t, coefficients):
    """c[0] + c[1] t + ... + c[n] t^n on a backend array, Horner's steps in place on one new array."""
    out = coefficients[-1] * t
    for c in coefficients[-2:0:-1]:
        out += c
        out *= t
    out += coefficients[0]
    return out


def _monic_of_array(t, coefficients):
    """t^n + c[n-1] t^(n-1) + ... + c[0] on a backend array, as _power_series_of_array."""
    out = t + coefficients[-1]
    for c in coefficients[-2::-1]:
        out *= t
        out += c
    return out


def _erf_float32(backend, x):
    """erf of a float32 array: the fit above, evaluated in float64, where x^2 is exact and
    its rounding errors are 1e-16, and rounded to float32 once: at most 0.534 ulp from the
    exact value (every float32 checked), so at most one ulp from the rounded one. Cody's
    double-precision functions (degrees 4 and 8) in float32 arithmetic, with a branch
    between them, took 2.3 times as long and were 3.4 ulp off (erfc's 9.4: its exp(-y^2) and
    rational each rounded). One formula for all x: both routes of _erf give its bits."""
    xp = backend.xp
    flat = xp.astype(xp.clip(xp.reshape(x, (-1,)), -_ERF32_ONE_FROM, _ERF32_ONE_FROM), xp.float64)
    s = flat * flat
    y = _power_series_of_array(s, _ERF32_P)
    y /= _monic_of_array(s, _ERF32_Q)
    y *= flat  # (-0 stays -0, NaN NaN)
    return xp.reshape(xp.astype(y, xp.float32), x.shape)


def _erfc_float32(backend, x):
    """erfc of a float32 array as _erf_float32: e = erfc(|x|) from the fit, its relative
    precision kept down to the subnormals, rounded once; then 2 - e for x < 0, in float32
    (e <= 1 there: its rounding moves 2 - e by a quarter of an ulp at most). At most
    0.80 ulp from the exact value (every float32 checked), one from the rounded one."""
    xp = backend.xp
    flat = xp.reshape(x, (-1,))
    y = xp.astype(xp.clip(xp.abs(flat), 0.0, _ERFC32_ZERO_FROM), xp.float64)  # (inf's lane finite)
    e = _power_series_of_array(y, _ERFC32_P)
    bottom = _monic_of_array(y, _ERFC32_Q)
    y *= y
    bottom *= xp.exp(y)  # (exp(y^2) <= exp(104): one division takes exp(-y^2) and the rational's)
    e /= bottom
    e = xp.astype(e, xp.float32)
    return xp.reshape(backend.where(flat < 0, 2 - e, e), x.shape)


def _erf(backend, x):
    """erf(x): float32's from its own fit (_erf_float32); float64's from Cody's, its ranges
    computed apart (_by_range) or, where the backend does not work in cache blocks,
    everywhere and joined by the backend's where: NumPy's own branches per element and
    mispredicts on |x| <= 0.5 over normal values."""
    xp, needed = backend.xp, backend.any_true
    if x.dtype == xp.float32:
        return _erf_float32(backend, x)
    if backend.works_in_cache_blocks:
        return _by_range(backend, x, lambda v: _erf_near(xp, v),
                         lambda v: xp.sign(v) * (1 - _tail(xp, xp.abs(v), needed)))
    y, near, tail = _erf_parts(xp, x, needed)
    return backend.where(y <= 0.5, near, xp.sign(x) * (1 - tail))


def _erfc(backend, x):
    """erfc(x) straight from Cody's tail for x > 0.5, so that it keeps its relative
    precision where 1 - erf(x) would cancel to 0 (from x = 6 in double, 4 in float);
    the ranges apart or joined, as in _erf; float32's from its own fit (_erfc_float32)."""
    xp, needed = backend.xp, backend.any_true
    if x.dtype == xp.float32:
        return _erfc_float32(backend, x)

    def far(v, y, tail):
        tail = backend.where(y > _ERFC_UNDERFLOW, xp.zeros((), dtype=tail.dtype), tail)  # (far stops there)
        return backend.where(v > 0, tail, 2 - tail)

    if backend.works_in_cache_blocks:
        return _by_range(backend, x, lambda v: 1 - _erf_near(xp, v),
                         lambda v: far(v, xp.abs(v), _tail(xp, xp.abs(v), needed)))
    y, near, tail = _erf_parts(xp, x, needed)
    return backend.where(y <= 0.5, 1 - near, far(x, y, tail))


def _special(kernel, x, *more):
    """``kernel`` (elementwise) on the arrays of x (and of ``more``, tensors of x's dtype),
    through the backend's blockwise; float16 through float32, as PyTorch computes it: the
    rational functions' terms pass float16's largest number (65504) from |x| = 2.5."""
    backend = x._backend
    xp = backend.xp
    if x.dtype == dtypes.float16:
        def run(*arrays):
            return xp.astype(kernel(xp, *(xp.astype(a, xp.float32) for a in arrays)), arrays[0].dtype)
    else:
        def run(*arrays):
            return kernel(xp, *arrays)
    return backend.blockwise(run, x.data, *(t.data for t in more))


@without_floating_point_warnings
class Erf(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _special(lambda xp, a: _erf(x._backend, a), x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * exp(-(x * x)) * (2 * _INV_SQRT_PI)


def erf(x):
    """The error function, 2/sqrt(pi) times the integral of exp(-t^2) from 0 to x."""
    return Erf.apply(floating(x))


@without_floating_point_warnings
class Erfc(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _special(lambda xp, a: _erfc(x._backend, a), x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * exp(-(x * x)) * (-2 * _INV_SQRT_PI)


def erfc(x):
    """1 - erf(x), computed without the cancellation of that difference for large x."""
    return Erfc.apply(floating(x))
