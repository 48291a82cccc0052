"""NumPy's NaN-aware reductions and scans: ``nansum``, ``nanmean``, ``nanvar``, ``nanstd``,
``nanmax``, ``nanmin``, ``nanargmax``, ``nanargmin``, ``nanprod``, ``nancumsum`` and
``nancumprod`` (``nanmedian`` and ``nanquantile`` sit with the sorts, in sorting.py).

Each treats NaN as missing: the plain op on ``where(isnan(x), identity, x)``, whose
gradient selects, so a NaN position gets a zero gradient, as in PyTorch's nansum and
nanmean (also in a slice that is all NaN, whose nanmean PyTorch gives a NaN gradient).
nanmax and nanmin are max's and min's Function skipping NaN, so that NaNs take no share
of a tie (with a -inf filled in for them they would).
A slice with no numbers gives what NumPy gives (0 for nansum, 1 for nanprod, NaN for the
means, variances and extremes, an error for the arg-reductions), with a RuntimeWarning
where NumPy warns. Integer and bool tensors hold no NaN: the plain op. float16 adds up in
float32, as the plain reductions do."""
import math
import warnings

from backends import dtypes

from ..shapes import normalize_axis, single_axis
from ..tensor import Tensor
from ..user_code import user_stacklevel
from .elementwise import as_tensor, floating, in_dtype, in_float32, where
from .nonfinite import isnan
from .reduction import Max, Min, StdSqrt, _index_reduction, max, min, prod, removed_degrees, sum
from .scan import cumprod, cumsum


def _filled(x, value):
    """``x`` with its NaNs replaced by ``value`` (gradient 0 there), or x itself where it
    cannot hold NaN."""
    return where(isnan(x), value, x) if dtypes.is_floating(x.dtype) else x


def warn_of_slices(op, problem, result):
    warnings.warn(f"{op}: {problem}, so the result there is {result}; drop or fill those slices first "
                  "(ag.nan_to_num), or reduce over more elements", RuntimeWarning, stacklevel=user_stacklevel())


def nansum(x, axis=None, keepdims=False, *, dtype=None):
    """The sum over ``axis`` of the values that are not NaN (0 for none); ``dtype`` as
    sum's, after the NaNs became 0 (PyTorch's and NumPy's order)."""
    x = as_tensor(x)
    return sum(_filled(x, 0), normalize_axis("nansum", axis, x.ndim), keepdims, dtype=dtype)


def nanprod(x, axis=None, keepdims=False):
    """The product over ``axis`` of the values that are not NaN (1 for none)."""
    x = as_tensor(x)
    return prod(_filled(x, 1), normalize_axis("nanprod", axis, x.ndim), keepdims)


def nancumsum(x, axis=None):
    """Running sums along ``axis`` (None: flattened) with NaN counted as 0."""
    x = as_tensor(x)
    if axis is not None:
        single_axis("nancumsum", axis, x.ndim)  # (checked here, so that the error names nancumsum)
    return cumsum(_filled(x, 0), axis)


def nancumprod(x, axis=None):
    """Running products along ``axis`` (None: flattened) with NaN counted as 1."""
    x = as_tensor(x)
    if axis is not None:
        single_axis("nancumprod", axis, x.ndim)
    return cumprod(_filled(x, 1), axis)


def _mean_and_count(op, x, axes, keepdims):
    """The mean of ``x``'s numbers over ``axes`` (NaN where there are none, with NumPy's
    warning, and without a 0 / 0 that would warn again) and how many there are (a constant
    of x's dtype), both with ``keepdims``."""
    present = ~isnan(x)
    xp = x._backend.xp
    count = Tensor._make(xp.sum(xp.astype(present.data, x.data.dtype), axis=axes, keepdims=keepdims), x._backend)
    none = count == 0
    if bool(xp.any(none.data)):
        warn_of_slices(op, "a slice holds no numbers (all NaN, or empty)", "nan")
    total = sum(where(present, x, 0), axes, keepdims)
    return where(none, math.nan, total / where(none, 1, count)), count


def nanmean(x, axis=None, keepdims=False, *, dtype=None):
    """The mean over ``axis`` of the values that are not NaN: NaN, with a RuntimeWarning
    as NumPy's, where there are none. Integers give the default float, as mean; ``dtype``
    (a floating one) as mean's."""
    if dtype is not None:
        if not dtypes.is_floating(dtypes.canonical(dtype)):
            raise TypeError(f"nanmean: dtype={dtype} is not floating; a mean is a floating point number "
                            "(PyTorch's refuses it too)")
        return in_dtype(nanmean, "nanmean", as_tensor(x), dtype, axis, keepdims)
    x = floating(x)
    if x.dtype == dtypes.float16:  # the sum in float32, divided there and rounded once
        return in_float32(lambda wide: nanmean(wide, axis, keepdims), x)
    axes = normalize_axis("nanmean", axis, x.ndim)
    return _mean_and_count("nanmean", x, axes, keepdims)[0]


def nanvar(x, axis=None, ddof=0, keepdims=False, *, correction=None):
    """The variance over ``axis`` of the values that are not NaN, with ``ddof`` (or
    ``correction``, as var's) degrees of freedom removed: NaN, with a RuntimeWarning as
    NumPy's, where no more than ``ddof`` numbers remain (where np.var gives inf)."""
    return _nan_variance("nanvar", x, axis, removed_degrees("nanvar", ddof, correction), keepdims)


def _nan_variance(op, x, axis, ddof, keepdims):
    x = floating(x)
    if x.dtype == dtypes.float16:  # a float16 sum of squares overflows first
        return in_float32(lambda wide: _nan_variance(op, wide, axis, ddof, keepdims), x)
    axes = normalize_axis(op, axis, x.ndim)
    with warnings.catch_warnings():  # an all-NaN slice: nanvar's own warning below says so
        warnings.simplefilter("ignore", RuntimeWarning)
        centre, count = _mean_and_count(op, x, axes, True)
    centered = where(isnan(x), 0, x - centre)
    squares = sum(centered * centered, axes, keepdims)
    if not keepdims:
        count = Tensor._make(x._backend.xp.reshape(count.data, squares.shape), x._backend)
    short = count <= ddof
    if bool(x._backend.xp.any(short.data)):
        warn_of_slices(op, f"ddof={ddof} leaves no degrees of freedom in a slice (all NaN, or too few numbers)", "nan")
    return where(short, math.nan, squares / where(short, 1, count - ddof))


def nanstd(x, axis=None, ddof=0, keepdims=False, *, correction=None):
    """The square root of ``nanvar`` (its gradient 0 where the std is 0, as std's)."""
    ddof = removed_degrees("nanstd", ddof, correction)
    x = floating(x)
    if x.dtype == dtypes.float16:  # the root taken in float32 too
        return in_float32(lambda wide: nanstd(wide, axis, ddof, keepdims), x)
    return StdSqrt.apply(_nan_variance("nanstd", x, axis, ddof, keepdims))


class NanMax(Max):
    """The largest value that is not NaN; NaN for an all-NaN slice. The gradient is max's,
    the NaNs taking no share of it."""

    skips_nan = True

    @staticmethod
    def reduce(xp, data, axes):
        return _skipping_nan(xp, xp.max, -math.inf, data, axes)


class NanMin(Min):
    skips_nan = True

    @staticmethod
    def reduce(xp, data, axes):
        return _skipping_nan(xp, xp.min, math.inf, data, axes)


def _skipping_nan(xp, extreme, loser, data, axes):
    """``extreme`` over ``axes`` (kept) of ``data`` with NaN read as ``loser``; NaN where a
    slice is all NaN."""
    nan = xp.isnan(data)
    found = extreme(xp.where(nan, xp.asarray(loser, dtype=data.dtype), data), axis=axes, keepdims=True)
    return xp.where(xp.all(nan, axis=axes, keepdims=True), xp.asarray(math.nan, dtype=data.dtype), found)


def _nan_extreme(op, fn, plain, x, axis, keepdims):
    x = as_tensor(x)
    if not dtypes.is_floating(x.dtype):
        return plain(x, axis, keepdims)
    out = fn.apply(x, normalize_axis(op, axis, x.ndim), keepdims)
    if bool(x._backend.xp.any(x._backend.xp.isnan(out.data))):
        warn_of_slices(op, "a slice is all NaN", "nan")
    return out


def nanmax(x, axis=None, keepdims=False):
    """The largest value over ``axis`` that is not NaN: NaN, with a RuntimeWarning as
    NumPy's, for an all-NaN slice; an empty axis is refused, as by max."""
    return _nan_extreme("nanmax", NanMax, max, x, axis, keepdims)


def nanmin(x, axis=None, keepdims=False):
    """The smallest value over ``axis`` that is not NaN (see nanmax)."""
    return _nan_extreme("nanmin", NanMin, min, x, axis, keepdims)


def _nan_index(op, pick, loser, x, axis, keepdims):
    x = as_tensor(x)
    if dtypes.is_floating(x.dtype) and x.size:
        xp = x._backend.xp
        nan = xp.isnan(x.data)
        axes = normalize_axis(op, None if axis is None else single_axis(op, axis, x.ndim), x.ndim)
        if bool(xp.any(xp.all(nan, axis=axes))):  # NumPy raises here too: no index is the answer
            which = "x is" if axis is None else f"a slice along axis {axis} is"
            raise ValueError(f"{op}: {which} all NaN, so it has no index to give; "
                             f"check for it with ag.isnan(x).all(axis), or fill the NaNs (ag.nan_to_num)")
        x = Tensor._make(xp.where(nan, xp.asarray(loser, dtype=x.data.dtype), x.data), x._backend)
    return _index_reduction(op, pick, x, axis, keepdims)


def nanargmax(x, axis=None, keepdims=False):
    """The index of the largest value that is not NaN over ``axis`` (None: flattened),
    as NumPy's: an all-NaN slice is a ValueError."""
    return _nan_index("nanargmax", lambda xp, d, a, k: xp.argmax(d, axis=a, keepdims=k), -math.inf,
                      x, axis, keepdims)


def nanargmin(x, axis=None, keepdims=False):
    """The index of the smallest value that is not NaN (see nanargmax)."""
    return _nan_index("nanargmin", lambda xp, d, a, k: xp.argmin(d, axis=a, keepdims=k), math.inf,
                      x, axis, keepdims)
