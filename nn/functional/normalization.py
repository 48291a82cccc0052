"""Normalization: ``batch_norm`` (per channel, by the batch's statistics in
training, updating the running buffers in place as PyTorch does, and by the
running statistics otherwise), ``instance_norm`` (per sample and channel, with
the same running buffers), ``group_norm`` (per sample and group of channels) and
``layer_norm`` and ``rms_norm`` (over the trailing axes), and
``local_response_norm`` (over a window of neighbouring channels, through the
average-pool primitive). Batch norm in training, ``instance_norm`` by the input's
statistics (as PyTorch's, a batch norm of (1, N * C, ...)), ``layer_norm``, ``group_norm``
and ``rms_norm`` call fused primitives (``nn_fused.batch_norm``, ``nn_fused.layer_norm``,
``nn_fused.rms_norm``: a composition ran 1.5 to 4 times slower than PyTorch), which raise
no floating-point warnings at overflowing statistics, as PyTorch's kernels raise none; so
does normalization by the running statistics (``nn_fused.running_stats_norm``, whose
composition warned at infinities); the rest are compositions of Tensor ops with no gradient
code of their own. All are differentiable to any order."""
import functools
import numbers

from autograd import no_grad
from autograd.autocast_mode import autocast_op
from autograd.ops import nn_fused
from autograd.ops.reduction import mean as _mean
from autograd.ops.shape import reshape
from backends import dtypes, floating_point_warnings_off

from .arguments import floating, real_number, require_tensor, rounded, same_dtype, widened


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """Normalize each channel (axis 1) of (N, C, ...) by the batch's statistics in
    training, else by ``running_mean`` / ``running_var``. In training, given running
    buffers are updated in place: running = (1 - momentum) running + momentum batch,
    with the unbiased batch variance, as PyTorch does; an empty batch gives an empty
    output and leaves them alone."""
    op = "batch_norm"
    floating(op, input)
    if input.ndim < 2:
        raise ValueError(f"{op}: expected an input of shape (N, C, ...), got {input.shape}")
    _check_channel_vectors(op, input, running_mean=running_mean, running_var=running_var, weight=weight,
                           bias=bias)
    if training:
        _check_running_pair(op, running_mean, running_var)
    # as PyTorch: eps > 0 in training (a constant channel divides by sqrt(eps)), eps >= 0 otherwise
    if not (eps > 0 if training else eps >= 0):
        raise ValueError(f"{op}: eps must be {'positive in training' if training else 'non-negative'}, "
                         f"got {eps!r}")
    c = input.shape[1]
    dtype, input = input.dtype, widened(input)
    if training and input.size == 0:  # an empty batch, as in PyTorch: empty output, running stats left alone
        out = input * 1  # a new (empty) tensor, not the input itself
    elif training:
        count = input.size // c
        if count == 1:
            raise ValueError(f"{op}: expected more than 1 value per channel when training, got input "
                             f"shape {input.shape}")
        # one fused op, scale and shift included; a widened float16 input is scaled and shifted after
        # it, as its float16 weight and bias take float16 gradients
        fused = input.dtype == dtype
        out, mean, var = nn_fused.batch_norm(input, weight if fused else None, bias if fused else None, eps)
        _update_running_stats(running_mean, running_var, mean, var, 1, count, momentum)
        if fused:
            return out
    else:
        if running_mean is None or running_var is None:
            raise ValueError(f"{op}: evaluation (training=False) needs running_mean and running_var")
        return nn_fused.running_stats_norm(input, running_mean, running_var, weight, bias, eps, dtype)
    return _scale_and_shift(out, weight, bias, dtype)


@autocast_op("layer_norm")
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the trailing ``normalized_shape`` axes (biased variance)."""
    op = "layer_norm"
    axes = _trailing_axes(op, input, normalized_shape, weight=weight, bias=bias)
    dtype, x = input.dtype, widened(input)
    if x.dtype == dtype:  # one fused op, scale and shift included
        return nn_fused.layer_norm(x, weight, bias, len(axes), eps)
    # float16, normalized in float32: its float16 weight and bias take float16 gradients through a composition
    out = nn_fused.layer_norm(x, None, None, len(axes), eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return rounded(out, dtype)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """Divide by the root mean square over the trailing ``normalized_shape`` axes,
    x / sqrt(mean(x^2) + eps), then scale elementwise by ``weight``. As PyTorch,
    eps=None means the machine epsilon of the computation's dtype (float32's for a
    float16 input, which is normalized and scaled in float32, then rounded once, as
    PyTorch 2.13's CPU kernel does). A weight of another dtype is taken as PyTorch takes
    it (a float32 module given float64 data): the input is normalized in its own dtype,
    scaled in the promoted one and rounded back to the input's."""
    op = "rms_norm"
    axes = _trailing_axes(op, input, normalized_shape, same_dtype_params=False, weight=weight)
    dtype, x = input.dtype, widened(input)
    if eps is None:
        eps = float(x._backend.xp.finfo(x.data.dtype).eps)
    else:
        eps = real_number(op, "eps", eps)
    if x.dtype == dtype and (weight is None or weight.dtype == dtype):  # one fused op, the scale included
        return nn_fused.rms_norm(x, weight, len(axes), eps)
    # float16 normalized in float32, or a weight of another dtype: scaled by a composition, so
    # that the weight's gradient comes in its own dtype
    out = nn_fused.rms_norm(x, None, len(axes), eps)
    return rounded(out if weight is None else out * weight, dtype)


def _trailing_axes(op, input, normalized_shape, same_dtype_params=True, **params):
    """The trailing axes that ``normalized_shape`` (an int or a sequence of ints) names
    in ``input``, after checking that they match and that each given parameter is a
    Tensor of that shape, in the input's dtype unless ``same_dtype_params`` is False."""
    floating(op, input)
    normalized_shape = tuple(normalized_shape) if hasattr(normalized_shape, "__iter__") else (normalized_shape,)
    if any(type(d) is not int and (isinstance(d, bool) or not isinstance(d, numbers.Integral))
           for d in normalized_shape):
        raise TypeError(f"{op}: normalized_shape must be an int or a sequence of ints, got {normalized_shape!r}")
    k = len(normalized_shape)
    if k == 0 or input.shape[input.ndim - k:] != normalized_shape or input.ndim < k:
        raise ValueError(f"{op}: normalized_shape {normalized_shape} does not match the trailing axes of "
                         f"the input's shape {input.shape}")
    for name, t in params.items():
        if t is not None and require_tensor(op, t, name).shape != normalized_shape:
            raise ValueError(f"{op}: {name} must have shape {normalized_shape}, got {t.shape}")
    if same_dtype_params:
        _check_dtypes(op, input, params)
    return tuple(range(input.ndim - k, input.ndim))


@autocast_op("local_response_norm")
def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """Divide each value of (N, C, ...) by (k + alpha * mean of the squares over a
    window of ``size`` channels) ** beta. As PyTorch, the window around channel c runs
    from c - size // 2 to c + (size - 1) // 2, and channels past either end count as
    zeros (the mean always divides by ``size``)."""
    op = "local_response_norm"
    floating(op, input)
    if input.ndim < 3:
        raise ValueError(f"{op}: expected an input of 3 or more dimensions (N, C, ...), got shape {input.shape}")
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
        raise ValueError(f"{op}: size must be a positive int, got {size!r}")
    alpha, beta, k = (real_number(op, name, v) for name, v in (("alpha", alpha), ("beta", beta), ("k", k)))
    if input.size == 0:
        return input
    n, c = input.shape[:2]
    size = int(size)
    # channels as the rows of (N, 1, C, rest) images: a (size x 1) mean pool, zero-padded unevenly as PyTorch
    window = _channel_window(size, c, input.size // (n * c))
    squares = reshape(input * input, (n, 1, c, window.in_size[1]))
    average = reshape(nn_fused.avg_pool2d(squares, window, size), input.shape)
    return input / (average * alpha + k) ** beta


@functools.lru_cache(maxsize=64)
def _channel_window(size, channels, rest):
    before, after = size // 2, (size - 1) // 2
    return nn_fused.Window((size, 1), (1, 1), (1, 1), (before, after, 0, 0), (channels, rest), (channels, rest))


def _update_running_stats(running_mean, running_var, mean, var, samples, count, momentum):
    """running = (1 - momentum) running + momentum batch, in place, for each buffer given, with
    the batch's ``mean`` and biased ``var``: (samples * C,) statistics of ``count`` values each,
    averaged over the samples, the variance made unbiased. Quietly, as PyTorch's: a float16
    buffer takes inf where the variance passes 65504."""
    with no_grad(), floating_point_warnings_off():
        if running_mean is not None:
            batch_mean = _mean(reshape(mean.detach(), (samples, -1)), 0)
            running_mean.copy_(running_mean * (1 - momentum) + batch_mean * momentum)
        if running_var is not None:
            batch_var = _mean(reshape(var.detach(), (samples, -1)), 0) * (count / (count - 1))
            running_var.copy_(running_var * (1 - momentum) + batch_var * momentum)


def _check_channel_vectors(op, input, **vectors):
    """Each given vector is a Tensor of shape (C,) in the input's dtype (see _check_dtypes)."""
    c = input.shape[1]
    for name, t in vectors.items():
        if t is not None:
            require_tensor(op, t, name)
            if t.shape != (c,):
                raise ValueError(f"{op}: {name} must have shape ({c},) for an input with {c} channels, "
                                 f"got {t.shape}")
    _check_dtypes(op, input, vectors)


def _check_dtypes(op, input, params):
    """The parameters and buffers given take the input's dtype, or all float32 for a float16
    input, as PyTorch's mixed-type norms: a float16 input is normalized in float32 anyway
    (see arguments.widened), and under autocast a float32 model's norm meets the float16 output of
    a convolution or linear layer."""
    given = [t for t in params.values() if t is not None]
    if given and input.dtype == dtypes.float16 and all(t.dtype == dtypes.float32 for t in given):
        return
    for name, t in params.items():
        same_dtype(op, input, t, name)


def _check_running_pair(op, running_mean, running_var):
    """Running statistics are updated as a pair, as PyTorch requires: one buffer alone
    would drift from the other."""
    if (running_mean is None) != (running_var is None):
        given, missing = ("running_mean", "running_var") if running_var is None else ("running_var", "running_mean")
        raise ValueError(f"{op}: got {given} without {missing}; pass both running buffers to update them, "
                         "or neither")


def _scale_and_shift(out, weight, bias, dtype):
    """out * weight + bias per channel (axis 1), rounded to ``dtype`` (see arguments.widened)."""
    shape = (1, out.shape[1]) + (1,) * (out.ndim - 2)
    if weight is not None:
        out = out * reshape(weight, shape)
    if bias is not None:
        out = out + reshape(bias, shape)
    return rounded(out, dtype)


@autocast_op("group_norm")
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalize (N, C, ...) over each sample's groups of C / num_groups channels
    (with their spatial axes; biased variance), then scale and shift each channel."""
    op = "group_norm"
    floating(op, input)
    if input.ndim < 2:
        raise ValueError(f"{op}: expected an input of shape (N, C, ...), got {input.shape}")
    if isinstance(num_groups, bool) or not isinstance(num_groups, numbers.Integral):
        raise TypeError(f"{op}: num_groups must be an int, not {type(num_groups).__name__}")
    if num_groups < 1:
        raise ValueError(f"{op}: num_groups must be positive, got {num_groups}")
    n, c = input.shape[:2]
    if c % num_groups:
        raise ValueError(f"{op}: the input's {c} channels (axis 1 of {input.shape}) do not divide into "
                         f"num_groups={num_groups} groups; pick a num_groups that divides {c}")
    _check_channel_vectors(op, input, weight=weight, bias=bias)
    dtype, input = input.dtype, widened(input)
    if input.size == 0:  # nothing to normalize (and no mean of an empty group to warn about)
        return _scale_and_shift(input * 1, weight, bias, dtype)
    # one fused op over (N, G, C / G, rest), each channel's scale and shift broadcast as (G, C / G, 1)
    num_groups = int(num_groups)
    groups = reshape(input, (n, num_groups, c // num_groups, input.size // (n * c)))
    if input.dtype != dtype:  # float16: its float16 weight and bias take float16 gradients through a composition
        out = nn_fused.layer_norm(groups, None, None, 2, eps)
        return _scale_and_shift(reshape(out, input.shape), weight, bias, dtype)
    per_channel = groups.shape[1:3] + (1,)
    out = nn_fused.layer_norm(groups, None if weight is None else reshape(weight, per_channel),
                              None if bias is None else reshape(bias, per_channel), 2, eps)
    return reshape(out, input.shape)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Normalize each sample's channels of (N, C, ...) over their spatial axes
    (biased variance), then scale and shift each channel. With ``use_input_stats``
    and running buffers, the buffers are updated in place as PyTorch does: by the
    batch's average of the per-sample means and unbiased variances, with
    ``momentum``; an empty batch leaves them alone. Without it, the running
    statistics normalize instead."""
    op = "instance_norm"
    floating(op, input)
    if input.ndim < 2:
        raise ValueError(f"{op}: expected an input of shape (N, C, ...), got {input.shape}")
    _check_channel_vectors(op, input, running_mean=running_mean, running_var=running_var, weight=weight,
                           bias=bias)
    n, c = input.shape[:2]
    count = 1  # values per sample and channel
    for d in input.shape[2:]:
        count *= d
    if not use_input_stats and (running_mean is None or running_var is None):
        raise ValueError(f"{op}: use_input_stats=False needs running_mean and running_var")
    if use_input_stats:
        _check_running_pair(op, running_mean, running_var)
    if use_input_stats and count == 1:
        raise ValueError(f"{op}: expected more than 1 spatial element per channel when using the input's "
                         f"statistics, got input shape {input.shape}")
    dtype, input = input.dtype, widened(input)
    if not use_input_stats:
        return nn_fused.running_stats_norm(input, running_mean, running_var, weight, bias, eps, dtype)
    if input.size == 0:  # an empty batch or empty spatial axes: empty output, running stats left alone
        return _scale_and_shift(input * 1, weight, bias, dtype)
    # as PyTorch: batch norm of (1, N * C, ...), each sample's channel a channel of its own
    out, mean, var = nn_fused.batch_norm(reshape(input, (1, n * c) + input.shape[2:]), None, None, eps)
    _update_running_stats(running_mean, running_var, mean, var, n, count, momentum)
    return _scale_and_shift(reshape(out, input.shape), weight, bias, dtype)
