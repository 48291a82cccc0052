"""Sorting: ``sort`` and ``argsort`` (the Array API's signatures), PyTorch's ``topk``
and ``kthvalue``, and the order statistics composed from them: NumPy's ``median``,
``nanmedian``, ``quantile`` and ``nanquantile``.

NaN sorts last ascending and first descending, as in NumPy and PyTorch (topk takes
NaN as the largest value). The values are gathered along the axis by the sorting
permutation (TakeAlongAxis), whose gradient writes each gradient back to the place
its value came from; argsort's indices take no gradient."""
from collections import namedtuple

from backends import dtypes

from ..autocast_mode import autocast_op
from ..function import Function
from ..shapes import INTEGER, normalize_axis, reduced_shape, single_axis
from ..tensor import Tensor
from .elementwise import as_tensor, astype, floating, where
from .gather import take_along_axis
from .nan_reductions import warn_of_slices
from .nonfinite import isfinite
from .rearrange import moveaxis
from .reduction import grouped, mean
from .shape import broadcast_to, reshape


class TakeAlongAxis(Function):
    """``x``'s entries at ``indices`` along ``axis``, where the indices are distinct
    within each line (a sort's, a top-k's), so that the gradient is a plain scatter."""

    @staticmethod
    def forward(ctx, x, indices, axis):
        ctx.axis, ctx.x_shape = axis, x.data.shape
        ctx.save_for_backward(indices)
        return x._backend.xp.take_along_axis(x.data, indices, axis=axis)

    @staticmethod
    def backward(ctx, gy):
        indices, = ctx.saved_tensors
        return ScatterAlongAxis.apply(gy, indices.data, ctx.axis, ctx.x_shape), None, None


class ScatterAlongAxis(Function):
    """Zeros of ``shape`` with ``g`` written at ``indices`` along ``axis``: linear in g,
    so its own gradient is the gather at the same indices."""

    @staticmethod
    def forward(ctx, g, indices, axis, shape):
        ctx.axis = axis
        ctx.save_for_backward(indices)
        return g._backend.scatter_along_axis(shape, indices, g.data, axis)

    @staticmethod
    def backward(ctx, gg):
        indices, = ctx.saved_tensors
        return TakeAlongAxis.apply(gg, indices.data, ctx.axis), None, None, None


def _lines(op, x, axis):
    """``x`` and the axis to work along: None flattens, as in NumPy, and a 0-d tensor is
    one line of one (as in PyTorch); also the shape to give back a 0-d result, or None."""
    x = as_tensor(x)
    if axis is None:
        return reshape(x, (-1,)), 0, None
    axis = single_axis(op, axis, x.ndim)
    if x.ndim == 0:
        return reshape(x, (1,)), 0, ()
    return x, axis, None


def _lines_to_pick(op, x, k, axis, first):
    """_lines, for picking ``k`` entries (topk, first=0) or the k-th (kthvalue, first=1, k
    counting from 1) along ``axis``: ``k`` checked to be an int from ``first`` to its length."""
    if not isinstance(k, INTEGER) or isinstance(k, bool):
        raise TypeError(f"{op}: k must be an int, not {k!r}")
    lines, axis, shape = _lines(op, x, axis)
    n = lines.shape[axis]
    if not first <= k <= n:
        fix = f"give {first} <= k <= {n}" if n or not first else "an empty axis has no k-th value"
        counting = " (k counts from 1)" if first else ""
        raise ValueError(f"{op}: k={k} is out of range for an axis of size {n}; {fix}{counting}")
    return lines, axis, shape


def sort(x, axis=-1, descending=False, stable=True):
    """The values of ``x`` sorted along ``axis`` (None: flattened), ties kept in order
    where ``stable``. The gradient goes back through the permutation."""
    x, axis, shape = _lines("sort", x, axis)
    values = TakeAlongAxis.apply(x, x._backend.argsort(x.data, axis, bool(descending), bool(stable)), axis)
    return values if shape is None else reshape(values, shape)


def argsort(x, axis=-1, descending=False, stable=True):
    """The indices (int64) that sort ``x`` along ``axis`` (None: flattened)."""
    x, axis, shape = _lines("argsort", x, axis)
    indices = Tensor._make(x._backend.argsort(x.data, axis, bool(descending), bool(stable)), x._backend)
    return indices if shape is None else reshape(indices, shape)


TopK = namedtuple("TopK", ["values", "indices"])


def topk(x, k, axis=-1, largest=True, sorted=True):
    """The ``k`` largest (or smallest) entries along ``axis`` and their indices, as
    PyTorch's topk: a (values, indices) pair, largest first (smallest first when not
    ``largest``). Ties go to the lower index, as a stable sort orders them (PyTorch
    leaves that unspecified). The values are always sorted, which ``sorted=False``
    allows. The gradient goes to the chosen entries."""
    x, axis, shape = _lines_to_pick("topk", x, k, axis, first=0)
    indices = x._backend.top_k(x.data, int(k), axis, bool(largest))
    values, indices = TakeAlongAxis.apply(x, indices, axis), Tensor._make(indices, x._backend)
    if shape is not None and k == 1:
        values, indices = reshape(values, shape), reshape(indices, shape)
    return TopK(values, indices)


def median(x, axis=None, keepdims=False):
    """NumPy's median over ``axis`` (None, an int or a tuple): the middle of the sorted
    values, or the mean of the middle two for an even count (torch.quantile's 0.5, where
    torch.median takes the lower one); NaN where the values hold a NaN, and for an empty
    axis. Integers give the default float, as mean does. Composed of sort."""
    x = floating(x)
    axes = normalize_axis("median", axis, x.ndim)
    lines, _ = grouped(x, axes)
    n = lines.shape[-1]
    if n == 0:
        return mean(x, axes, keepdims)  # NaN, as NumPy's (without its warning)
    ordered = sort(lines, -1)
    middle = ordered[..., n // 2]
    if n % 2 == 0:
        middle = _mean_of_two(ordered[..., n // 2 - 1], middle)
    last = ordered[..., n - 1]  # NaN sorts last, so a line holding one ends with it
    return reshape(where(last != last, last, middle), reduced_shape(x.shape, axes, keepdims))


def _mean_of_two(lower, upper):
    """Their sum halved, as NumPy's median; where it overflows (two values past half the
    dtype's largest), each halved first, which is exact but for subnormals (5e-324 / 2 is 0).
    Exactly ``lower`` where the two are one value."""
    total = lower + upper
    return where(isfinite(total), total / 2, lower / 2 + upper / 2)


def _last_indices(ordered, skip_nan):
    """The index of the last value of each line of sorted ``ordered`` (an int), or with
    ``skip_nan`` of its last value that is not NaN (float64, shape (..., 1); NaN sorts
    last, so the others come first), 0 for a line of NaNs."""
    if not skip_nan:
        return ordered.shape[-1] - 1
    xp = ordered._backend.xp
    float64 = ordered._backend.native_dtype(dtypes.float64)
    count = xp.sum(xp.astype(ordered.data == ordered.data, float64), axis=-1, keepdims=True)
    return xp.where(count > 0, count - 1, count)


def _take(ordered, positions):
    """The entries of ``ordered`` at ``positions`` (whole numbers, as floats) along its
    last axis, the others broadcasting; repeated positions add up their gradients."""
    backend = ordered._backend
    indices = backend.xp.astype(positions, backend.native_dtype(dtypes.int64))
    return take_along_axis(ordered, Tensor._make(indices, backend), -1)


def nanmedian(x, axis=None, keepdims=False):
    """NumPy's nanmedian: ``median`` of the values that are not NaN, so the mean of the
    middle two for an even count, as this module's median (torch.nanmedian takes the lower
    of the two, as torch.median does); NaN for a line of NaNs and for an empty axis.
    Integers give the default float, as median."""
    x = floating(x)
    axes = normalize_axis("nanmedian", axis, x.ndim)
    lines, _ = grouped(x, axes)
    if lines.shape[-1] == 0:
        return mean(x, axes, keepdims)  # NaN, as median's
    _warn_of_lines_without_numbers("nanmedian", lines)
    ordered = sort(lines, -1)
    xp = x._backend.xp
    half = _last_indices(ordered, True) / 2  # a line of n numbers: its middle (n - 1) / 2
    middle = _mean_of_two(_take(ordered, xp.floor(half)), _take(ordered, xp.ceil(half)))
    return reshape(middle, reduced_shape(x.shape, axes, keepdims))


def _warn_of_lines_without_numbers(op, lines):
    """NumPy's RuntimeWarning where a line is all NaN (its result is NaN)."""
    xp = lines._backend.xp
    if bool(xp.any(xp.all(xp.isnan(lines.data), axis=-1))):
        warn_of_slices(op, "a slice is all NaN", "nan")


QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


@autocast_op("quantile")
def quantile(x, q, axis=None, keepdims=False, method="linear", *, interpolation=None):
    """The ``q``-th quantiles of ``x`` over ``axis`` (None, an int or a tuple), as NumPy's
    quantile (and torch.quantile, whose ``interpolation`` is ``method`` here, and is taken
    under that name too). ``q`` is a
    number in [0, 1], a sequence of them or a 0-d or 1-d Tensor; a 1-d q of k levels puts
    an axis of k first. Level q falls at ``q * (n - 1)`` in a line of n sorted values,
    worked out in float64 (as NumPy 2.3+'s; PyTorch works it out in the input's dtype, so for
    float32 'lower', 'higher' and 'nearest' can pick a neighbour where it falls within
    float32 rounding of a whole number or a half). Between two values, ``method`` takes:
    'linear' the interpolation, 'lower'/'higher' the one below/above, 'midpoint' their
    mean, 'nearest' the nearer (a half to the even index, as NumPy and PyTorch).

    A line holding a NaN gives NaN (see nanquantile), and an empty one NaN, as median
    (NumPy raises an IndexError, PyTorch refuses empty input). Integers give the default
    float for every method, as median (NumPy keeps integers for 'lower', 'higher' and
    'nearest'; PyTorch refuses them); the result has x's dtype whatever q's (PyTorch asks
    for the same dtype, NumPy promotes). A whole-number position gives its value itself,
    so an infinite one stays infinite (NumPy and PyTorch give NaN for 'linear' and
    'midpoint' there, where 'lower' and 'higher' give the infinity). Composed of sort, so
    the gradient goes to the values used, by their interpolation weights, with ties in
    the stable sort's order; a Tensor q that requires grad gets one through the 'linear'
    weights, as in PyTorch."""
    return _quantile("quantile", x, q, axis, keepdims, _method("quantile", method, interpolation), skip_nan=False)


@autocast_op("nanquantile")
def nanquantile(x, q, axis=None, keepdims=False, method="linear", *, interpolation=None):
    """``quantile`` of the values that are not NaN in each line (NaN for a line of NaNs),
    as NumPy's nanquantile and torch.nanquantile."""
    return _quantile("nanquantile", x, q, axis, keepdims, _method("nanquantile", method, interpolation),
                     skip_nan=True)


def _method(op, method, interpolation):
    """NumPy's ``method``, or ``interpolation``, PyTorch's name for it: one of them."""
    if interpolation is None:
        return method
    if method != "linear" and method != interpolation:
        raise ValueError(f"{op}: interpolation={interpolation!r} and method={method!r} are two names for one thing; "
                         "give one")
    return interpolation


def _quantile(op, x, q, axis, keepdims, method, skip_nan):
    if method not in QUANTILE_METHODS:
        raise ValueError(f"{op}: method must be one of {', '.join(map(repr, QUANTILE_METHODS))}, got {method!r}")
    x = floating(x)
    axes = normalize_axis(op, axis, x.ndim)
    levels = _levels(op, q, x)
    shape = levels.shape + reduced_shape(x.shape, axes, keepdims)
    lines, _ = grouped(x, axes)
    if lines.shape[-1] == 0:
        return broadcast_to(mean(x, axes, keepdims), shape)  # NaN, as median's
    if skip_nan:
        _warn_of_lines_without_numbers(op, lines)
    ordered = sort(lines, -1)
    backend = x._backend
    xp = backend.xp
    # Each level's position in each line, on a last axis of its own: (1, ..., k), or one
    # per line with skip_nan. A Tensor, so that a q requiring grad gets one.
    last = _last_indices(ordered, skip_nan)
    positions = reshape(levels, (1,) * (ordered.ndim - 1) + (-1,))
    positions = positions * (last if isinstance(last, int) else Tensor._make(last, backend))
    below = xp.floor(positions.data)
    if method in ("lower", "higher", "nearest"):
        pick = {"lower": below, "higher": xp.ceil(positions.data), "nearest": xp.round(positions.data)}[method]
        values = _take(ordered, pick)  # xp.round takes a half to even, as NumPy's and PyTorch's
    else:
        above = xp.ceil(positions.data)
        weight = (positions - Tensor._make(below, backend) if method == "linear"
                  else Tensor._make((above - below) * 0.5, backend))  # midpoint: a half, or 0 on a value
        values = _lerp(_take(ordered, below), _take(ordered, above), astype(weight, x.dtype, copy=False))
    if not skip_nan:
        last_value = ordered[..., -1:]  # NaN sorts last, so a line holding one ends with it
        values = where(last_value != last_value, last_value, values)
    if levels.ndim:
        values = moveaxis(values, -1, 0)
    return reshape(values, shape)


def _levels(op, q, like):
    """``q`` as a float64 Tensor (0-d or 1-d) on ``like``'s device, each level checked to
    lie in [0, 1]."""
    if isinstance(q, bool):
        raise TypeError(f"{op}: q must be a number in [0, 1] or a sequence of them, not a bool")
    if not isinstance(q, Tensor):
        q = Tensor(q, device=like._backend, dtype=dtypes.float64)  # float64: 0.7 stays 0.7
    elif q._backend is not like._backend:
        raise ValueError(f"{op}: q is on {q.device} and x on {like.device}; move q with q.to({like.device!r})")
    elif dtypes.category(q.dtype) == 0:
        raise TypeError(f"{op}: q must hold numbers in [0, 1], not bools")
    if q.ndim > 1:
        raise ValueError(f"{op}: q must be a number or 1-D, got shape {q.shape}; flatten it first")
    for level in q._backend.to_numpy(q.data).reshape(-1).tolist():
        if not 0 <= level <= 1:  # NaN too
            raise ValueError(f"{op}: q must be in [0, 1], got {level}; a percentile p is q = p / 100")
    return astype(q, dtypes.float64, copy=False)


def _lerp(a, b, weight):
    """``a + (b - a) * weight`` in NumPy's and PyTorch's two-sided form (from b's side
    from 0.5 on, so exact at both ends), and ``a`` itself where the weight is 0, so that
    an infinite ``a`` is not lost to inf - inf there."""
    step = b - a
    between = where(weight < 0.5, a + step * weight, b - step * (1 - weight))
    return where(weight == 0, a, between)


KthValue = namedtuple("KthValue", ["values", "indices"])


def kthvalue(x, k, axis=-1, keepdims=False):
    """PyTorch's kthvalue: the ``k``-th smallest entry along ``axis`` (k counts from 1;
    None: flattened) and its index, as a (values, indices) pair. NaN counts as the
    largest value, and ties are taken in index order, as a stable sort orders them
    (PyTorch leaves which tied index unspecified). Integers keep their dtype. The
    gradient goes to the chosen entry. A selection of topk's smallest k."""
    x = as_tensor(x)
    lines, line_axis, _ = _lines_to_pick("kthvalue", x, k, axis, first=1)
    smallest = topk(lines, int(k), line_axis, largest=False)
    kth = (slice(None),) * line_axis + (slice(k - 1, k),)
    shape = reduced_shape(x.shape, normalize_axis("kthvalue", axis, x.ndim), keepdims)
    return KthValue(reshape(smallest.values[kth], shape), reshape(smallest.indices[kth], shape))
