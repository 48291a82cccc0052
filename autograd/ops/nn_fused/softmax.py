"""The softmax family: softmax, log-softmax and cross-entropy from logits, each one
op computed with the max shifted out, so that large logits stay finite."""
import math

from backends import dtypes, restore_floating_point_warnings, silence_floating_point_warnings
from ..elementwise import exp, float_sum, in_float32, through_float32, where
from ..reduction import Sum
from ..shape import reshape
from ...function import Function
from ...grad_mode import state as _grad_state
from ...tensor import Tensor


def _along_an_empty_axis(ctx, xp, data):
    """softmax or log-softmax along an empty axis: nothing to normalize and no max to
    shift by, so an empty copy of the input (saved, as the output always is)."""
    out = xp.asarray(data, copy=True)
    ctx.save_for_backward(out)
    return out


def _in_float32_for_float16(kernel, x):
    """``kernel`` of x's array; float16 softmax and log-softmax compute in float32 and round
    once, forward and backward, as PyTorch's kernels (each float16 step rounded again, up to
    9 units off PyTorch's in the value and 90 in the gradient)."""
    return through_float32(kernel, x) if x.dtype == dtypes.float16 else kernel(x.data)


def _gradient_in_float32_for_float16(gradient, y, gy):
    """``gradient(y, gy)`` in Tensor ops, float16 in float32 (see above)."""
    return in_float32(gradient, y, gy) if y.dtype == dtypes.float16 else gradient(y, gy)


def _shifted_by_max(xp, data, axis):
    """``data`` less its max along ``axis``, quietly, as PyTorch's: an inf logit's inf - inf
    is the NaN its softmax takes there, and a logit so far below the max that the
    difference overflows to -inf has the exp 0 it would have had."""
    token = silence_floating_point_warnings()
    try:
        return data - xp.max(data, axis=axis, keepdims=True)
    finally:
        restore_floating_point_warnings(token)


def _float_sum(backend, data, axis):
    return float_sum(backend, data, backend.canonical_dtype(data.dtype), axis=axis, keepdims=True)


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis):
        backend = x._backend
        ctx.axis = axis
        if x.data.shape[axis] == 0:
            return _along_an_empty_axis(ctx, backend.xp, x.data)

        def kernel(data):
            e = backend.xp.exp(_shifted_by_max(backend.xp, data, axis))
            e /= _float_sum(backend, e, axis)
            return e
        e = _in_float32_for_float16(kernel, x)
        ctx.save_for_backward(e)
        return e

    @staticmethod
    def backward(ctx, gy):
        def gradient(y, gy):
            gyy = gy * y
            return gyy - y * Sum.apply(gyy, (ctx.axis,), True)
        y, = ctx.saved_tensors
        return _gradient_in_float32_for_float16(gradient, y, gy), None


def softmax(x, axis):
    return Softmax.apply(x, axis)


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, axis):
        backend = x._backend
        ctx.axis = axis
        if x.data.shape[axis] == 0:
            return _along_an_empty_axis(ctx, backend.xp, x.data)

        def kernel(data):
            shifted = _shifted_by_max(backend.xp, data, axis)
            shifted -= backend.xp.log(_float_sum(backend, backend.xp.exp(shifted), axis))
            return shifted
        shifted = _in_float32_for_float16(kernel, x)
        ctx.save_for_backward(shifted)
        return shifted

    @staticmethod
    def backward(ctx, gy):
        def gradient(y, gy):
            return gy - exp(y) * Sum.apply(gy, (ctx.axis,), True)
        y, = ctx.saved_tensors
        return _gradient_in_float32_for_float16(gradient, y, gy), None


def log_softmax(x, axis):
    return LogSoftmax.apply(x, axis)


class CrossEntropy(Function):
    """Cross-entropy of logits (N, C) against class indices (N,), in one stable op:
    log-softmax by the max-shift, the target's log-probability picked out, PyTorch's
    ``weight``, ``ignore_index``, ``label_smoothing`` and reduction applied. Its
    gradient is (softmax - target distribution), scaled per row, so logits of any
    size give finite values. ``all_valid`` says no target equals ignore_index
    (nn.functional checks it anyway), which skips the masking."""

    @staticmethod
    def forward(ctx, logits, target, weight, ignore_index, smoothing, reduction, all_valid):
        backend = logits._backend
        xp = backend.xp
        z = logits.data
        n, c = z.shape
        keep, valid, safe_t, weights, scale = weighed_targets(xp, target.data, None if weight is None else weight.data,
                                                              ignore_index, all_valid, z.dtype, reduction)
        plain = keep is None and weights is None and not smoothing
        fused = backend.cross_entropy_rows(z, safe_t) if plain else None
        if fused is not None:  # one kernel for the losses and the softmax
            loss, e = fused
        else:
            if keep is not None:
                # Ignored rows count as logits of 0: a -inf logit there (a masked class, a
                # fully masked position) would make their 0 weight a NaN (0 * inf), not a 0.
                z = _ignored_rows_zeroed(xp, z, keep)
            shifted = _shifted_by_max(xp, z, 1)
            e = xp.exp(shifted)
            sums = float_sum(backend, e, logits.dtype, axis=1, keepdims=True)  # float16 in float32 (see float_sum)
            lse = xp.log(sums)[:, 0]
            loss = lse - backend.gather(shifted, (xp.arange(n), safe_t))
        if weights is not None:
            loss = loss * weights
        if smoothing:  # (1-s) nll + (s/C) sum_c w_c (-log p_c)
            token = silence_floating_point_warnings()  # (a logit far below the max: its sum is -inf, quietly)
            try:
                if weight is None:
                    smooth = lse * c - xp.sum(shifted, axis=1)
                else:
                    smooth = lse * xp.sum(weight.data) - xp.sum(shifted * weight.data, axis=1)
            finally:
                restore_floating_point_warnings(token)
            if valid is not None:
                smooth = smooth * valid
            loss = loss * (1 - smoothing) + smooth * (smoothing / c)
        if reduction != "none":
            token = silence_floating_point_warnings()  # (losses near the range's top add up to inf, quietly)
            try:
                loss = xp.sum(loss) * scale if reduction == "mean" else xp.sum(loss)
            finally:
                restore_floating_point_warnings(token)
        if ctx.needs_input_grad[0]:
            if fused is None:
                e /= sums  # the softmax, which the gradient is made of
            ctx.save_for_backward(logits, e, safe_t, weights, valid)
            ctx.settings = (weight, smoothing, reduction, scale)
        return loss

    @staticmethod
    def backward(ctx, gy):
        logits, probs, safe_t, weights, valid = ctx.saved_tensors
        weight, smoothing, reduction, scale = ctx.settings
        backend = logits._backend
        xp = backend.xp
        n, c = probs.shape
        dtype = probs.data.dtype
        recording = _grad_state.enabled
        if recording:  # create_graph: Tensor ops, with the softmax differentiable in the logits
            if valid is not None:  # ignored rows as in forward, so their gradient is 0, not NaN
                logits = where(reshape(valid, (n, 1)) > 0, logits, 0)
            probs = softmax(logits, 1)
        else:  # the same arithmetic below on the bare arrays: a few ufuncs, no op dispatch
            probs, gy = probs.data, gy.data
            if weights is None and not smoothing:
                grad = backend.cross_entropy_grad(probs, safe_t.data, gy, scale)  # one kernel, where there is one
                if grad is not None:
                    return Tensor._make(grad, backend), None, None, None, None, None, None
        onehot = xp.astype(xp.reshape(safe_t.data, (n, 1)) == xp.arange(c), dtype)
        if reduction == "none":
            gy = reshape(gy, (n, 1)) if recording else xp.reshape(gy, (n, 1))
        # each row's d(loss)/d(its nll): the scale, times the row's weight if any
        rows = scale if weights is None else _counted(xp, weights.data * scale, valid)
        if not smoothing:
            grad = (probs - onehot) * (gy * rows)
        else:
            # d/dz of (1-s) w_t nll + (s/C) sum_c w_c (-log p_c) is A p - B, row by row
            w = xp.ones(c, dtype=dtype) if weight is None else weight.data
            share = (smoothing / c) * (scale if valid is None else _counted(xp, valid.data * scale, valid))
            a = xp.asarray(rows * (1 - smoothing) + share * xp.sum(w), dtype=dtype)
            b = onehot * (rows * (1 - smoothing)) + share * w
            grad = (probs * a - b) * gy
        if not recording:
            grad = Tensor._make(grad, backend)
        return grad, None, None, None, None, None, None


def weighed_targets(xp, t, class_weight, ignore_index, all_valid, dtype, reduction):
    """How the rows of class-index targets ``t`` count, as PyTorch's cross-entropy counts
    them (arrays): ``keep``, the rows not ignored (None where ``all_valid``: no target is
    ignore_index); ``valid``, the same as 0 or 1 in ``dtype`` (or None); ``safe_t``, the
    targets with ignored rows pointing at class 0, which then weigh nothing; ``weights``,
    each row's class weight, 0 where ignored (None where every row weighs 1); and
    ``scale``, what 'mean' multiplies the sum of the rows' losses by (1.0 for the other
    reductions). Where nothing is counted (an empty batch, every target ignored or
    weighing 0) the mean is NaN, as PyTorch's, with no warning; a negative total of
    weights divides, as in PyTorch."""
    keep = valid = None
    if all_valid:
        safe_t = t
        weights = None if class_weight is None else xp.take(class_weight, t)
    else:
        keep = t != ignore_index
        valid = xp.astype(keep, dtype)
        safe_t = t * xp.astype(keep, t.dtype)
        weights = valid if class_weight is None else xp.take(class_weight, safe_t) * valid
    scale = 1.0
    if reduction == "mean":
        if weights is None:
            n = t.shape[0]
            scale = 1.0 / n if n else math.nan
        else:
            total = xp.sum(weights)
            scale = 1.0 / xp.where(total != 0, total, math.nan)
    return keep, valid, safe_t, weights, scale


def _ignored_rows_zeroed(xp, z, keep):
    return xp.where(xp.reshape(keep, (keep.shape[0], 1)), z, xp.zeros((), dtype=z.dtype))


def _counted(xp, per_row, valid):
    """A per-row factor as an (n, 1) column, 0 on ignored rows even where the scale is
    NaN (every target ignored: PyTorch's loss is NaN, its gradient 0)."""
    column = xp.reshape(per_row, (per_row.shape[0], 1))
    if valid is None:
        return column
    return xp.where(xp.reshape(valid.data, column.shape) > 0, column, 0)


def cross_entropy(logits, target, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="mean",
                  all_valid=False):
    return CrossEntropy.apply(logits, target, weight, ignore_index, label_smoothing, reduction, all_valid)
