"""Sorting: ``sort`` and ``argsort`` (the Array API's signatures), PyTorch's ``topk``,
and NumPy's ``median`` composed from them.

NaN sorts last ascending and first descending, as in NumPy and PyTorch (topk takes
NaN as the largest value). The values are gathered along the axis by the sorting
permutation (TakeAlongAxis), whose gradient writes each gradient back to the place
its value came from; argsort's indices take no gradient."""
from collections import namedtuple

from ..function import Function
from ..shapes import INTEGER, normalize_axis, reduced_shape, single_axis
from ..tensor import Tensor
from .elementwise import as_tensor, floating, where
from .nonfinite import isfinite
from .reduction import grouped, mean
from .shape import reshape


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
    x = as_tensor(x)
    if not isinstance(k, INTEGER) or isinstance(k, bool):
        raise TypeError(f"topk: k must be an int, not {k!r}")
    x, axis, shape = _lines("topk", x, axis)
    n = x.shape[axis]
    if not 0 <= k <= n:
        raise ValueError(f"topk: k={k} is out of range for an axis of size {n}; give 0 <= k <= {n}")
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
        lower = ordered[..., n // 2 - 1]
        total = lower + middle
        # Their sum halved, as NumPy's; where it overflows (two values past half the dtype's
        # largest), each halved first, which is exact but for subnormals (5e-324 / 2 is 0).
        middle = where(isfinite(total), total / 2, lower / 2 + middle / 2)
    last = ordered[..., n - 1]  # NaN sorts last, so a line holding one ends with it
    return reshape(where(last != last, last, middle), reduced_shape(x.shape, axes, keepdims))
