"""Normalization by given (running) statistics, as one op, for eval-mode batch norm and
instance norm without the input's statistics: per channel (axis 1 of (N, C, ...)),
y = (x - mean) / sqrt(var + eps) * weight + bias, rounded to the input's dtype. As a
composition of Tensor ops its values were these, bit for bit, but its steps and its
gradients' sums warned at infinities that are the answers (an inf input times a zero
weight, an inf running mean or bias, a sum of +inf and -inf in the weight's gradient, a
float16 result past 65504), where PyTorch's one kernel raises no warning; this op raises
none either way.

With s = sqrt(var + eps) and xhat = (x - mean) / s, the gradients are
gx = gy weight / s, and, summed over all but the channel axis, gmean = -gx,
gvar = -gx xhat / (2 s), gweight = gy xhat and gbias = gy, each rounded once to its
input's dtype. They are Tensor ops, so second derivatives hold."""
from backends import dtypes

from ..elementwise import astype, sqrt
from ..quiet import without_floating_point_warnings
from ..reduction import sum as _sum
from ..shape import reshape
from ...function import Function


@without_floating_point_warnings
class RunningStatsNorm(Function):
    """``x`` is the input, float16 already widened to float32; the (C,) ``mean``, ``var``,
    ``weight`` and ``bias`` (these two may be None) are x's dtype or float16, widened here as
    the composition's promotion widened them; the output is rounded to ``dtype``."""

    @staticmethod
    def forward(ctx, x, mean, var, weight, bias, eps, dtype):
        ctx.save_for_backward(x, mean, var, weight, bias)
        ctx.eps = eps
        xp = x._backend.xp
        data = x.data

        def channel(vector):
            return xp.reshape(xp.astype(vector.data, data.dtype, copy=False), (1, -1) + (1,) * (data.ndim - 2))
        y = (data - channel(mean)) / xp.sqrt(channel(var) + eps)
        if weight is not None:
            y = y * channel(weight)
        if bias is not None:
            y = y + channel(bias)
        native = x._backend.native_dtype(dtype)
        return y if y.dtype == native else xp.astype(y, native)

    @staticmethod
    def backward(ctx, gy):
        x, mean, var, weight, bias = ctx.saved_tensors
        need_x, need_mean, need_var, need_weight, need_bias = ctx.needs_input_grad[:5]
        c = x.shape[1]
        shape = (1, c) + (1,) * (x.ndim - 2)
        axes = (0,) + tuple(range(2, x.ndim))

        def channel(vector):
            return reshape(_in(vector, x.dtype), shape)

        def summed(per_element):  # over all but the channel axis, as (C,)
            return reshape(_sum(per_element, axes), (c,))
        gy = _in(gy, x.dtype)
        inv_std = 1 / sqrt(channel(var) + ctx.eps)
        gx = gy * (inv_std if weight is None else channel(weight) * inv_std)
        xhat = (x - channel(mean)) * inv_std if need_var or need_weight else None
        return (gx if need_x else None,
                _in(-summed(gx), mean.dtype) if need_mean else None,
                _in(summed(gx * xhat) * reshape(inv_std * -0.5, (c,)), var.dtype) if need_var else None,
                _in(summed(gy * xhat), weight.dtype) if need_weight else None,
                _in(summed(gy), bias.dtype) if need_bias else None,
                None, None)


def _in(t, dtype):
    return t if t.dtype == dtype else astype(t, dtype)


def running_stats_norm(x, mean, var, weight, bias, eps, dtype):
    """(x - mean) / sqrt(var + eps) * weight + bias per channel of (N, C, ...), rounded to
    ``dtype`` (x's own, or float16 for a widened float16 input); see RunningStatsNorm."""
    return RunningStatsNorm.apply(x, mean, var, weight, bias, float(eps), dtypes.canonical(dtype))
