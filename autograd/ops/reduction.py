"""Reductions over ``axis`` (None, an int or a tuple; negatives allowed), with ``keepdims``."""
import math
import warnings

from backends import (dtypes, floating_point_warnings_off, restore_floating_point_warnings,
                      silence_floating_point_warnings)

from ..autocast_mode import autocast_op
from ..function import Function
from ..grad_mode import state as _grad_state
from ..shapes import kept_shape, normalize_axis, reduced_shape, single_axis
from ..tensor import Tensor
from ..user_code import user_stacklevel
from .elementwise import (accumulate, as_tensor, constant, float32_sum_dtype, float_sum, floating, in_dtype,
                          in_float32, where)
from .scan import products_of_the_others
from .shape import broadcast_to, reshape, transpose


def _spread(gy, x_shape, axes):
    """The gradient of a reduction, spread back over the reduced axes."""
    return broadcast_to(reshape(gy, kept_shape(x_shape, axes)), x_shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, x, axes, keepdims):
        ctx.x_shape, ctx.axes = x.data.shape, axes
        return accumulate(x._backend.xp.sum, x, axis=axes, keepdims=keepdims)  # int64 or float32 inside

    @staticmethod
    def backward(ctx, gy):
        return _spread(gy, ctx.x_shape, ctx.axes), None, None


@autocast_op("sum")
def sum(x, axis=None, keepdims=False, *, dtype=None):
    x = as_tensor(x)
    if dtype is not None:
        return in_dtype(sum, "sum", x, dtype, axis, keepdims)
    return Sum.apply(x, normalize_axis("sum", axis, x.ndim), keepdims)


class Prod(Function):
    @staticmethod
    def forward(ctx, x, axes, keepdims):
        ctx.axes = axes
        ctx.save_for_backward(x)
        # integers and bools in int64, float16 in float32; an empty product is 1
        return accumulate(x._backend.xp.prod, x, axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, gy):
        # Each element's gradient is the product of the others in its group, taken as
        # prefix times suffix products: exact with zeros, with no division by x.
        x, = ctx.saved_tensors
        lines, kept = grouped(x, ctx.axes)
        with floating_point_warnings_off():  # products past the range are inf, quietly, as PyTorch's
            gx = reshape(gy, kept + (1,)) * products_of_the_others(lines, lines.ndim - 1)
        return ungrouped(gx, x.shape, ctx.axes), None, None


@autocast_op("prod")
def prod(x, axis=None, keepdims=False, *, dtype=None):
    x = as_tensor(x)
    if dtype is not None:
        return in_dtype(prod, "prod", x, dtype, axis, keepdims)
    return Prod.apply(x, normalize_axis("prod", axis, x.ndim), keepdims)


def grouped(x, axes):
    """``x`` with ``axes`` moved to the end and merged into one, so that each line along
    the last axis is one group a reduction over ``axes`` combines; also the kept shape."""
    kept = [a for a in range(x.ndim) if a not in axes]
    kept_shape = tuple(x.shape[a] for a in kept)
    order = tuple(kept) + tuple(axes)
    moved = x if order == tuple(range(x.ndim)) else transpose(x, order)
    return reshape(moved, kept_shape + (_count(x.shape, axes),)), kept_shape


def ungrouped(lines, shape, axes):
    """The inverse of ``grouped``: lines back to a tensor of ``shape``."""
    kept = [a for a in range(len(shape)) if a not in axes]
    order = tuple(kept) + tuple(axes)
    moved = reshape(lines, tuple(shape[a] for a in order))
    if order == tuple(range(len(shape))):
        return moved
    return transpose(moved, tuple(order.index(a) for a in range(len(shape))))


class Mean(Function):
    @staticmethod
    def forward(ctx, x, axes, keepdims):
        ctx.x_shape, ctx.axes = x.data.shape, axes
        ctx.n = _count(x.data.shape, axes)
        return mean_array(x._backend, x.data, x.dtype, axes, keepdims, ctx.n)

    @staticmethod
    def backward(ctx, gy):
        return divide_by_count(_spread(gy, ctx.x_shape, ctx.axes), ctx.n), None, None


def mean_array(backend, data, dtype, axes, keepdims, n):
    """The mean of a bare array ``data`` of canonical ``dtype`` over ``axes``, which hold
    ``n`` elements: Mean's forward, for the fused ops that work on arrays."""
    xp = backend.xp
    if n == 0:  # NumPy's mean of nothing warns (a division by 0); PyTorch's is a quiet NaN
        return xp.full_like(xp.sum(data, axis=axes, keepdims=keepdims), math.nan)
    wider = float32_sum_dtype(backend, data, dtype, axes)
    token = silence_floating_point_warnings()  # a sum past the range is inf, quietly (see accumulate)
    try:
        if wider is not None:  # added up in float64 where float32 would add one row at a time (see accumulate)
            return xp.astype(xp.sum(data, axis=axes, keepdims=keepdims, dtype=wider) / n, data.dtype)
        return xp.mean(data, axis=axes, keepdims=keepdims)
    finally:
        restore_floating_point_warnings(token)


def divide_by_count(x, n):
    """``x / n`` for a count ``n``. Past 2048 float16 no longer holds every integer, and
    from 65520 it rounds ``n`` to inf (a float16 mean's gradient was 0 there): a float16
    ``x`` is then divided in float32 and rounded once, as PyTorch divides."""
    if x.dtype == dtypes.float16 and n > 2048:
        return in_float32(lambda wide: wide / n, x)
    return x / n


def mean(x, axis=None, keepdims=False, *, dtype=None):
    if dtype is not None:
        if not dtypes.is_floating(dtypes.canonical(dtype)):
            raise TypeError(f"mean: dtype={dtype} is not floating; a mean is a floating point number (PyTorch's "
                            "refuses it too)")
        return in_dtype(mean, "mean", as_tensor(x), dtype, axis, keepdims)
    x = floating(x)  # as true division of integers: the default float
    return Mean.apply(x, normalize_axis("mean", axis, x.ndim), keepdims)


class _Extreme(Function):
    """max and min; tied elements share the gradient equally, as in PyTorch's amax. A NaN
    extreme (NaN propagates) came from the NaNs of its slice, and they share its gradient,
    as in PyTorch's max over all elements (amax's 0 / 0 gives the whole slice NaN).
    Subclasses that skip NaN (nanmax, nanmin) give NaNs no share, and an all-NaN slice none."""

    skips_nan = False

    @staticmethod
    def reduce(xp, data, axes):
        raise NotImplementedError

    @classmethod
    def forward(cls, ctx, x, axes, keepdims):
        xp = x._backend.xp
        # Only an empty reduced axis has no extreme; (2, 0, 3) over axis 2 gives shape (2, 0).
        if x.size == 0 and 0 in [x.data.shape[a] for a in axes]:
            raise ValueError(f"{cls.__name__.lower()}: cannot reduce an empty axis of a tensor of shape {x.shape}")
        y = cls.reduce(xp, x.data, axes)
        if not keepdims:
            y = xp.reshape(y, reduced_shape(x.data.shape, axes, False))
        # Saved as returned, so that it is recognized as the output (whose in-place
        # changes backward must catch), not taken for a constant.
        ctx.save_for_backward(x, y)
        ctx.axes, ctx.skips_nan = axes, cls.skips_nan
        return y

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        xp = x._backend.xp
        kept = xp.reshape(y.data, reduced_shape(x.data.shape, ctx.axes, True))
        hit = x.data == kept
        if dtypes.is_floating(x.dtype) and not ctx.skips_nan:  # NaN != NaN: without this a NaN slice
            hit = hit | xp.isnan(x.data)  # has no hit, and 0 / 0 (a slice whose extreme is a number holds no NaN)
        hit = xp.astype(hit, x.data.dtype)
        # ties counted in float32 for float16, whose running count stops at 2048
        ties = float_sum(x._backend, hit, x.dtype, axis=ctx.axes, keepdims=True)
        if ctx.skips_nan:  # an all-NaN slice has no hit: 0 / 1 there, not 0 / 0
            ties = xp.where(ties == 0, xp.ones_like(ties), ties)
        share = constant(hit / ties, x)
        return _spread(gy, x.data.shape, ctx.axes) * share, None, None


class Max(_Extreme):
    @staticmethod
    def reduce(xp, data, axes):
        if data.dtype == xp.bool:  # the standard has no max of bools: any is the same
            return xp.any(data, axis=axes, keepdims=True)
        return xp.max(data, axis=axes, keepdims=True)


class Min(_Extreme):
    @staticmethod
    def reduce(xp, data, axes):
        if data.dtype == xp.bool:
            return xp.all(data, axis=axes, keepdims=True)
        return xp.min(data, axis=axes, keepdims=True)


def max(x, axis=None, keepdims=False):
    x = as_tensor(x)
    return Max.apply(x, normalize_axis("max", axis, x.ndim), keepdims)


def min(x, axis=None, keepdims=False):
    x = as_tensor(x)
    return Min.apply(x, normalize_axis("min", axis, x.ndim), keepdims)


def var(x, axis=None, ddof=0, keepdims=False, *, correction=None, unbiased=None):
    """Variance with ``ddof`` degrees of freedom removed (0 by default, as NumPy);
    ``correction`` is the same under the Array API's and PyTorch's name, and PyTorch's
    older ``unbiased`` says it as a bool (True: 1)."""
    return _variance("var", x, axis, removed_degrees("var", ddof, correction, unbiased), keepdims)


def removed_degrees(op, ddof, correction, unbiased=None):
    """NumPy's ``ddof``, or ``correction``, its name in the Array API and PyTorch (which
    NumPy 2 takes too), or PyTorch's ``unbiased`` (True for 1, False for 0): one of them,
    as NumPy's rule."""
    if unbiased is not None:
        if not isinstance(unbiased, bool):
            raise TypeError(f"{op}: unbiased must be True or False, not {unbiased!r}")
        given = ("correction", correction) if correction is not None else ("ddof", ddof) if ddof != 0 else None
        if given:
            raise ValueError(f"{op}: unbiased={unbiased} and {given[0]}={given[1]} are two names for one thing; "
                             "give one")
        return int(unbiased)
    if correction is None:
        return ddof
    if ddof != 0:
        raise ValueError(f"{op}: ddof={ddof} and correction={correction} are two names for one thing; give one")
    return correction


def _variance(caller, x, axis, ddof, keepdims):
    x = floating(x)  # integers as the default float, as their mean
    if x.dtype == dtypes.float16:  # accumulated in float32, as PyTorch does: a float16 sum of squares overflows
        return in_float32(lambda wide: _variance(caller, wide, axis, ddof, keepdims), x)
    axes = normalize_axis(caller, axis, x.ndim)
    if _count(x.shape, axes) <= ddof:
        # As NumPy and PyTorch: a warning and a division by 0 (inf, or NaN for 0 / 0),
        # not an error, so that code written for them (a std over a batch of one) ports.
        warnings.warn(f"{caller}: ddof={ddof} leaves no degrees of freedom for {_count(x.shape, axes)} elements, "
                      "so the result is inf or nan; pass a smaller ddof, or reduce over more elements",
                      RuntimeWarning, stacklevel=user_stacklevel())
    return Variance.apply(x, axes, ddof, keepdims)


def _count(shape, axes):
    """How many elements of an array of ``shape`` a reduction over ``axes`` combines."""
    n = 1
    for a in axes:
        n *= shape[a]
    return n


class Variance(Function):
    """The variance over ``axes`` with ``ddof`` degrees of freedom removed, as one op: its
    composition recorded nine ops and backed through eleven (a 16-element std took 30 ops
    with its sum and backward), and its gradient went through the mean's, which turned
    an inf into NaN everywhere (inf - inf in the centered values' sum, which is exactly 0).
    The gradient is PyTorch's: 2 (x - mean(x)) / (n - ddof) times gy."""

    @staticmethod
    def forward(ctx, x, axes, ddof, keepdims):
        backend, data = x._backend, x.data
        n = _count(data.shape, axes)
        m = mean_array(backend, data, x.dtype, axes, True, n)
        centered = data - m
        squares = float_sum(backend, centered * centered, x.dtype, axis=axes, keepdims=True)
        if n:
            # The mean is rounded (to half a unit of the offset: 0.03 at 1e6 in float32), which
            # leaves a common shift d in centered and adds n d^2 to the squares (a float32 variance
            # of 1e6 + N(0, 1) was 0.3% high); sum(centered)^2 / n is that term, and taking it
            # out (the corrected two-pass algorithm) keeps the variance to a few units of rounding.
            drift = float_sum(backend, centered, x.dtype, axis=axes, keepdims=True)
            squares = squares - drift * drift / n
            # The gradient's centered values take the shift d = drift / n off too, after x - mean,
            # which is exact near the mean; where d is finite: an inf input leaves the other
            # gradients -inf or inf, as PyTorch's, not NaN.
            xp = backend.xp
            shift = xp.where(xp.isfinite(drift), drift / n, xp.zeros_like(drift))
        else:
            shift = m  # (NaN, an empty slice's mean: its gradient is empty)
        ctx.axes, ctx.n, ctx.ddof = axes, n, ddof
        ctx.save_for_backward(x, m, shift)
        if n > ddof:
            v = squares / (n - ddof)
        else:
            with floating_point_warnings_off():  # (_variance warned already, in the user's words)
                v = squares / 0
        return v if keepdims else backend.xp.reshape(v, reduced_shape(data.shape, axes, False))

    @staticmethod
    def backward(ctx, gy):
        x, m, shift = ctx.saved_tensors
        scale = 2 / (ctx.n - ctx.ddof) if ctx.n > ctx.ddof else math.inf
        g = reshape(gy, kept_shape(x.shape, ctx.axes))
        if _grad_state.enabled:  # create_graph: the mean recorded too, so that it differentiates again
            return g * scale * ((x - mean(x, ctx.axes, keepdims=True)) - shift), None, None, None
        with floating_point_warnings_off():  # (inf - inf at an inf input: NaN there, as PyTorch's, quietly)
            grad = (g.data * scale) * ((x.data - m.data) - shift.data)
        return Tensor._make(grad, x._backend), None, None, None


class StdSqrt(Function):
    """The square root that turns a variance into a std. Where the std is 0 (a constant
    slice) its gradient is 0, as PyTorch's std backward masks it, not sqrt's 1 / 0,
    which would poison training with NaN (0 * inf) through a normalization."""

    @staticmethod
    def forward(ctx, v):
        y = v._backend.xp.sqrt(v.data)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        zero = constant(y.data == 0, y)
        # 1 stands in for the zeros in the division, so it stays finite (and so does its
        # own gradient, for a second order); the where then puts the 0 there.
        return where(zero, 0, gy / (where(zero, 1, y) * 2))


def std(x, axis=None, ddof=0, keepdims=False, *, correction=None, unbiased=None):
    """The square root of ``var`` (``ddof``, ``correction`` or ``unbiased``, as there)."""
    ddof = removed_degrees("std", ddof, correction, unbiased)
    x = as_tensor(x)
    if x.dtype == dtypes.float16:  # the root taken in float32 too: a float16 variance overflows first
        return std(x.astype(dtypes.float32), axis, ddof, keepdims).astype(dtypes.float16)
    return StdSqrt.apply(_variance("std", x, axis, ddof, keepdims))


class LogSumExp(Function):
    """log(sum(exp(x))) over ``axes`` in one op, the max taken out first so that nothing
    overflows (float16 computed in float32). One op rather than its composition: a row that
    is all -inf gives -inf from -inf, not a log of 0 made inside (which detect_anomaly would
    flag). The gradient is softmax(x) times gy: a plain backward is one pass over x's size,
    exp(x - max) (kept by forward) times gy / sum. Forward and backward of a (1000, 1000)
    float32 input along axis 1 take as long as the composition did (1.2 ms)."""

    @staticmethod
    def forward(ctx, x, axes, keepdims):
        xp, data = x._backend.xp, x.data
        work = xp.astype(data, x._backend.native_dtype(dtypes.float32)) if x.dtype == dtypes.float16 else data
        shift = _finite_max(xp, work, axes)
        # Quietly, as PyTorch's: what would warn is on the way to the right result, an element
        # so far below the max that x - max overflows (its exp is 0), a row of -inf (log 0).
        token = silence_floating_point_warnings()
        try:
            shifted = xp.exp(work - shift)
            total = xp.sum(shifted, axis=axes, keepdims=True)
            kept = xp.astype(xp.log(total) + shift, data.dtype, copy=False)
        finally:
            restore_floating_point_warnings(token)
        ctx.axes = axes
        ctx.save_for_backward(x, shifted, total)
        return kept if keepdims else xp.reshape(kept, reduced_shape(data.shape, axes, False))

    @staticmethod
    def backward(ctx, gy):
        x, shifted, total = ctx.saved_tensors
        g = reshape(gy, total.shape)
        if _grad_state.enabled:  # create_graph: softmax on Tensors, so it differentiates again
            # exp(x - shift) over its sum, as forward: exp(x - logsumexp(x)) loses what the log
            # adds to a large x (a row of equal values past 1e16 gave 1 each, not 1 / n)
            shifted = (x - constant(_finite_max(x._backend.xp, x.data, ctx.axes), x)).exp()
            return g * (shifted / sum(shifted, ctx.axes, keepdims=True)), None, None
        xp = x._backend.xp
        token = silence_floating_point_warnings()  # (an inf element: inf * 0, NaN, as PyTorch's)
        try:
            grad = shifted.data * (g.data / total.data)  # exp(x - max) / sum: softmax, in one pass over x's size
        finally:
            restore_floating_point_warnings(token)
        return Tensor._make(xp.astype(grad, x.data.dtype, copy=False), x._backend), None, None


def _finite_max(xp, data, axes):
    """The max over ``axes`` (kept), 0 where it is not finite: the shift that keeps exp in range."""
    if data.size == 0 and 0 in [data.shape[a] for a in axes]:  # no max to take out of an empty sum
        return xp.zeros(kept_shape(data.shape, axes), dtype=data.dtype)
    shift = xp.max(data, axis=axes, keepdims=True)
    return xp.where(xp.isfinite(shift), shift, xp.zeros_like(shift))


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) without overflow (see LogSumExp)."""
    x = floating(x)
    return LogSumExp.apply(x, normalize_axis("logsumexp", axis, x.ndim), keepdims)


def _index_reduction(name, fn, x, axis, keepdims):
    x = as_tensor(x)
    xp = x._backend.xp
    if axis is not None:
        axis = single_axis(name, axis, x.ndim)
    if x.size == 0 and (axis is None or x.shape[axis] == 0):  # (a 0-d tensor is never empty)
        raise ValueError(f"{name}: cannot reduce an empty axis of a tensor of shape {x.shape}")
    if axis is None or x.ndim == 0:  # over every element (a 0-d tensor's axis 0 or -1 is all of it)
        flat = xp.reshape(x.data, (-1,))
        out = fn(xp, flat, 0, False)
        if keepdims:
            out = xp.reshape(out, (1,) * x.ndim)
    else:
        out = fn(xp, x.data, axis, keepdims)
    return Tensor._make(out, x._backend)


def argmax(x, axis=None, keepdims=False):
    return _index_reduction("argmax", lambda xp, d, a, k: xp.argmax(d, axis=a, keepdims=k), x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    return _index_reduction("argmin", lambda xp, d, a, k: xp.argmin(d, axis=a, keepdims=k), x, axis, keepdims)


def any(x, axis=None, keepdims=False):
    x = as_tensor(x)
    return Tensor._make(x._backend.xp.any(x.data, axis=normalize_axis("any", axis, x.ndim), keepdims=keepdims),
                        x._backend)


def all(x, axis=None, keepdims=False):
    x = as_tensor(x)
    return Tensor._make(x._backend.xp.all(x.data, axis=normalize_axis("all", axis, x.ndim), keepdims=keepdims),
                        x._backend)
