"""Reductions over ``axis`` (None, an int or a tuple; negatives allowed), with ``keepdims``."""

from ..function import Function
from ..shapes import kept_shape, normalize_axis, reduced_shape
from ..tensor import Tensor
from .elementwise import as_tensor, constant, log, sqrt
from .shape import broadcast_to, reshape


def _spread(gy, x_shape, axes):
    """The gradient of a reduction, spread back over the reduced axes."""
    return broadcast_to(reshape(gy, kept_shape(x_shape, axes)), x_shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, x, axes, keepdims):
        ctx.x_shape, ctx.axes = x.data.shape, axes
        return x._backend.xp.sum(x.data, axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, gy):
        return _spread(gy, ctx.x_shape, ctx.axes), None, None


def sum(x, axis=None, keepdims=False):
    x = as_tensor(x)
    return Sum.apply(x, normalize_axis("sum", axis, x.ndim), keepdims)


class Mean(Function):
    @staticmethod
    def forward(ctx, x, axes, keepdims):
        ctx.x_shape, ctx.axes = x.data.shape, axes
        n = 1
        for a in axes:
            n *= x.data.shape[a]
        ctx.n = n
        return x._backend.xp.mean(x.data, axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, gy):
        return _spread(gy, ctx.x_shape, ctx.axes) / ctx.n, None, None


def mean(x, axis=None, keepdims=False):
    x = as_tensor(x)
    return Mean.apply(x, normalize_axis("mean", axis, x.ndim), keepdims)


class _Extreme(Function):
    """max and min; tied elements share the gradient equally, as in PyTorch's amax."""

    @staticmethod
    def reduce(xp, data, axes):
        raise NotImplementedError

    @classmethod
    def forward(cls, ctx, x, axes, keepdims):
        xp = x._backend.xp
        if x.size == 0:
            raise ValueError(f"{cls.__name__.lower()}: cannot reduce an empty tensor of shape {x.shape}")
        y = cls.reduce(xp, x.data, axes)
        if not keepdims:
            y = xp.reshape(y, reduced_shape(x.data.shape, axes, False))
        # Saved as returned, so that it is recognized as the output (whose in-place
        # changes backward must catch), not taken for a constant.
        ctx.save_for_backward(x, y)
        ctx.axes = axes
        return y

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        xp = x._backend.xp
        kept = xp.reshape(y.data, reduced_shape(x.data.shape, ctx.axes, True))
        hit = xp.astype(x.data == kept, x.data.dtype)
        share = constant(hit / xp.sum(hit, axis=ctx.axes, keepdims=True), x)
        return _spread(gy, x.data.shape, ctx.axes) * share, None, None


class Max(_Extreme):
    @staticmethod
    def reduce(xp, data, axes):
        return xp.max(data, axis=axes, keepdims=True)


class Min(_Extreme):
    @staticmethod
    def reduce(xp, data, axes):
        return xp.min(data, axis=axes, keepdims=True)


def max(x, axis=None, keepdims=False):
    x = as_tensor(x)
    return Max.apply(x, normalize_axis("max", axis, x.ndim), keepdims)


def min(x, axis=None, keepdims=False):
    x = as_tensor(x)
    return Min.apply(x, normalize_axis("min", axis, x.ndim), keepdims)


def var(x, axis=None, ddof=0, keepdims=False):
    """Variance with ``ddof`` degrees of freedom removed (0 by default, as NumPy)."""
    x = as_tensor(x)
    axes = normalize_axis("var", axis, x.ndim)
    n = 1
    for a in axes:
        n *= x.shape[a]
    if n - ddof <= 0:
        raise ValueError(f"var: ddof={ddof} leaves no degrees of freedom for {n} elements")
    centered = x - mean(x, axes, keepdims=True)
    return sum(centered * centered, axes, keepdims) / (n - ddof)


def std(x, axis=None, ddof=0, keepdims=False):
    return sqrt(var(x, axis, ddof, keepdims))


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) without overflow: the max is taken out first (as a constant,
    which leaves the gradient, softmax, unchanged)."""
    x = as_tensor(x)
    axes = normalize_axis("logsumexp", axis, x.ndim)
    xp = x._backend.xp
    shift = xp.max(x.data, axis=axes, keepdims=True)
    shift = xp.where(xp.isfinite(shift), shift, xp.zeros_like(shift))
    m = constant(shift, x)
    out = log(sum((x - m).exp(), axes, keepdims=True)) + m
    return out if keepdims else reshape(out, reduced_shape(x.shape, axes, False))


def _index_reduction(name, fn, x, axis, keepdims):
    x = as_tensor(x)
    xp = x._backend.xp
    if axis is None:
        flat = xp.reshape(x.data, (-1,))
        out = fn(xp, flat, 0, False)
        if keepdims:
            out = xp.reshape(out, (1,) * x.ndim)
    else:
        (axis,) = normalize_axis(name, axis, x.ndim)
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
