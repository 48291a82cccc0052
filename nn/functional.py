"""nn.functional: layers and losses as functions, with PyTorch's names and
arguments (``softmax`` and ``log_softmax`` take ``axis``, as every tensor op does).

Hot or numerically fragile ops call the fused primitives of
``autograd.ops.nn_fused`` (linear, conv2d, pooling, softmax, cross-entropy,
softplus, erf, binary cross-entropy); the rest are compositions of Tensor ops
with no gradient code of their own. Arguments are checked here, so a mistake
raises a clear error before any work is done.
"""
import functools
import math
import numbers

from autograd import Function, Tensor, is_grad_enabled, no_grad
from autograd.ops import nn_fused
from autograd.ops.elementwise import clip, constant, exp, relu as _relu, sigmoid as _sigmoid
from autograd.ops.elementwise import sqrt, tanh as _tanh, where
from autograd.ops.indexing import IndexAdd
from autograd.ops.reduction import mean as _mean, sum as _sum
from autograd.ops.shape import reshape, transpose
from autograd.tensor import count_change
from backends import dtypes

__all__ = [
    "linear", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "dropout", "relu", "leaky_relu",
    "elu", "gelu", "sigmoid", "tanh", "softplus", "softmax", "log_softmax", "batch_norm", "layer_norm",
    "one_hot", "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "huber_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "embedding",
]


# --- argument checking ---------------------------------------------------------------

def _tensor(op, value, name="input"):
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, not {type(value).__name__}")
    return value


# Caches keyed by (backend, native dtype), as dtype objects differ between backends
_FLOATING = {}  # -> is it floating point
_KINDS = {}     # -> NumPy's kind letter ('f', 'i', 'u', 'b')


def _kind(t):
    key = (t._backend, t.data.dtype)
    kind = _KINDS.get(key)
    if kind is None:
        kind = _KINDS[key] = t.dtype.kind
    return kind


def _real(value):
    return type(value) in (float, int) or isinstance(value, numbers.Real) and not isinstance(value, bool)


def _floating(op, value, name="input"):
    if isinstance(value, Tensor):
        key = (value._backend, value.data.dtype)
        floating = _FLOATING.get(key)
        if floating is None:
            floating = _FLOATING[key] = dtypes.is_floating(value.dtype)
        if floating:
            return value
        raise TypeError(f"{op}: {name} must be floating point, not {value.dtype}; "
                        "convert it with .astype(ag.float32)")
    raise TypeError(f"{op}: {name} must be a Tensor, not {type(value).__name__}")


def _same_dtype(op, x, other, name):
    if other is not None and (other._backend is not x._backend or other.data.dtype != x.data.dtype) \
            and other.dtype != x.dtype:
        raise TypeError(f"{op}: {name} is {other.dtype} but the input is {x.dtype}; use one dtype "
                        "(model.to(dtype=...) or x.astype(...))")


def _pair(op, name, value, minimum):
    """An int or a pair of ints, as the pair PyTorch's 2-D layers use."""
    if type(value) is int:  # the common cases, without the slower ABC checks
        if value >= minimum:
            return (value, value)
    elif type(value) is tuple and len(value) == 2 and type(value[0]) is int and type(value[1]) is int:
        if min(value) >= minimum:
            return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value):
        value = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, not {value!r}")
    if min(value) < minimum:
        raise ValueError(f"{op}: {name} must be at least {minimum}, got {value}")
    return value


def _batched_images(op, x):
    """(N, C, H, W) as is, (C, H, W) as a batch of one; returns (x, was_unbatched)."""
    _floating(op, x)
    if x.ndim == 3:
        return reshape(x, (1,) + x.shape), True
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a (N, C, H, W) or (C, H, W) input, got shape {x.shape}")
    return x, False


def _window_out(op, size, kernel, stride, dilation, pad_before, pad_after, ceil_mode=False):
    extent = dilation * (kernel - 1) + 1
    span = size + pad_before + pad_after - extent
    if span < 0:
        raise ValueError(f"{op}: the input size {size} (padded to {size + pad_before + pad_after}) is "
                         f"smaller than the kernel's extent {extent}")
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + pad_before:
        out -= 1  # PyTorch: the last window must start inside the input or its left padding
    return out


def _cached(make, *args):
    """``make(*args)``, memoized: a layer asks for the same few windows every step.
    Lists become tuples; arguments that cannot be hashed skip the cache (and make's
    checks then report what is wrong with them)."""
    args = tuple(tuple(a) if isinstance(a, list) else a for a in args)
    try:
        return make(*args)
    except TypeError as exc:
        if "unhashable" not in str(exc):
            raise
        return make.__wrapped__(*args)


def _pool_window(op, x, kernel_size, stride, padding, dilation, ceil_mode):
    h, w = x.shape[-2:]
    return _cached(_make_pool_window, op, kernel_size, stride, padding, dilation, bool(ceil_mode), h, w)


@functools.lru_cache(maxsize=256, typed=True)
def _make_pool_window(op, kernel_size, stride, padding, dilation, ceil_mode, h, w):
    kernel = _pair(op, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and not stride) \
        else _pair(op, "stride", stride, 1)
    padding = _pair(op, "padding", padding, 0)
    dilation = _pair(op, "dilation", dilation, 1)
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel size {kernel}")
    out, pads = [], []
    for size, k, s, d, p in zip((h, w), kernel, stride, dilation, padding):
        n = _window_out(op, size, k, s, d, p, p, ceil_mode)
        out.append(n)
        # ceil_mode may let the last window run past the padding: pad that much more
        pads.append((p, max(p, (n - 1) * s + d * (k - 1) + 1 - size - p)))
    return nn_fused.Window(kernel, stride, dilation, (*pads[0], *pads[1]), (h, w), tuple(out))


def _unbatch(y, unbatched):
    return reshape(y, y.shape[1:]) if unbatched else y


# --- layers ---------------------------------------------------------------------------------

def linear(input, weight, bias=None):
    """``input @ weight.T + bias``: one fused GEMM plus bias; ``weight`` is (out, in)."""
    if isinstance(input, Tensor) and isinstance(weight, Tensor) and input._backend is weight._backend:
        x, w = input.data, weight.data  # the hot path: the checks in a few compares
        if (w.ndim == 2 and x.ndim and x.shape[-1] == w.shape[1] and x.dtype == w.dtype
                and _FLOATING.get((weight._backend, w.dtype))
                and (bias is None or isinstance(bias, Tensor) and bias._backend is input._backend
                     and bias.data.shape == w.shape[:1] and bias.data.dtype == x.dtype)):
            return nn_fused.linear(input, weight, bias)
    _floating("linear", input)
    _floating("linear", weight, "weight")
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape {weight.shape}")
    if input.ndim == 0:
        raise ValueError(f"linear: the input is 0-d, but needs a last axis of {weight.shape[1]} features; "
                         "give it shape (..., in_features)")
    if input.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: the input's last axis has size {input.shape[-1]} (shape {input.shape}) "
                         f"but the weight {weight.shape} expects {weight.shape[1]}")
    _same_dtype("linear", input, weight, "the weight")
    if bias is not None:
        _tensor("linear", bias, "bias")
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"linear: bias must have shape ({weight.shape[0]},), got {bias.shape}")
        _same_dtype("linear", input, bias, "the bias")
    return nn_fused.linear(input, weight, bias)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of (N, C, H, W) with (O, C/groups, KH, KW): im2col plus
    one GEMM. ``padding`` is an int, a pair, 'valid' or 'same' (stride 1 only)."""
    op = "conv2d"
    x, unbatched = _batched_images(op, input)
    _floating(op, weight, "weight")
    if weight.ndim != 4:
        raise ValueError(f"{op}: weight must be 4-D (out_channels, in_channels/groups, KH, KW), "
                         f"got shape {weight.shape}")
    _same_dtype(op, x, weight, "the weight")
    if type(groups) is not int and (isinstance(groups, bool) or not isinstance(groups, numbers.Integral)) \
            or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    o, cg, kh, kw = weight.shape
    c = x.shape[1]
    if cg * groups != c:
        raise ValueError(f"{op}: the input has {c} channels but the weight {weight.shape} with groups={groups} "
                         f"expects {cg * groups}")
    if o % groups:
        raise ValueError(f"{op}: out_channels ({o}) must be divisible by groups ({groups})")
    if bias is not None:
        _tensor(op, bias, "bias")
        if bias.shape != (o,):
            raise ValueError(f"{op}: bias must have shape ({o},), got {bias.shape}")
        _same_dtype(op, x, bias, "the bias")
    window = _cached(_conv_window, op, (kh, kw), stride, padding, dilation, *x.shape[2:])
    return _unbatch(nn_fused.conv2d(x, weight, bias, window, groups), unbatched)


@functools.lru_cache(maxsize=256, typed=True)
def _conv_window(op, kernel, stride, padding, dilation, h, w):
    (kh, kw) = kernel
    stride = _pair(op, "stride", stride, 1)
    dilation = _pair(op, "dilation", dilation, 1)
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0, 0, 0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' needs stride 1, got stride {stride}")
            # PyTorch's split of an odd total: the extra row/column goes after
            th, tw = dilation[0] * (kh - 1), dilation[1] * (kw - 1)
            pads = (th // 2, th - th // 2, tw // 2, tw - tw // 2)
        else:
            raise ValueError(f"{op}: padding must be an int, a pair, 'valid' or 'same', not {padding!r}")
    else:
        ph, pw = _pair(op, "padding", padding, 0)
        pads = (ph, ph, pw, pw)
    out = (_window_out(op, h, kh, stride[0], dilation[0], pads[0], pads[1]),
           _window_out(op, w, kw, stride[1], dilation[1], pads[2], pads[3]))
    return nn_fused.Window((kh, kw), stride, dilation, pads, (h, w), out)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over each window (stride defaults to kernel_size). The gradient goes to
    the first maximum of each window (its last NaN where it holds one), as in
    PyTorch; ``return_indices`` also gives its flat index into each input plane."""
    x, unbatched = _batched_images("max_pool2d", input)
    window = _pool_window("max_pool2d", x, kernel_size, stride, padding, dilation, ceil_mode)
    y = nn_fused.max_pool2d(x, window)
    if not return_indices:
        return _unbatch(y, unbatched)
    return _unbatch(y, unbatched), _unbatch(nn_fused.max_pool2d_indices(x, y, window), unbatched)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over each window (stride defaults to kernel_size). With padding, the
    count includes padded zeros unless ``count_include_pad=False``, as in PyTorch."""
    op = "avg_pool2d"
    x, unbatched = _batched_images(op, input)
    window = _pool_window(op, x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, numbers.Integral) \
                or divisor_override <= 0:
            raise ValueError(f"{op}: divisor_override must be a positive int, got {divisor_override!r}")
        divisor = int(divisor_override)
    else:
        divisor = _avg_divisor(x, window, count_include_pad)
    return _unbatch(nn_fused.avg_pool2d(x, window, divisor), unbatched)


def _avg_divisor(x, window, count_include_pad):
    """PyTorch's count per window: clipped to the padded input (or, without
    count_include_pad, to the input itself); a number when every window agrees."""
    counts = []
    for size, k, s, p, n in zip(window.in_size, window.kernel, window.stride, window.padding[::2],
                                window.out_size):
        axis = []
        for i in range(n):
            start = i * s - p
            end = min(start + k, size + p)
            if not count_include_pad:
                start, end = max(start, 0), min(end, size)
            axis.append(end - start)
        counts.append(axis)
    rows, cols = counts
    if len(set(rows)) == 1 and len(set(cols)) == 1:
        return rows[0] * cols[0]
    xp = x._backend.xp
    dtype = x.data.dtype
    return xp.reshape(xp.asarray(rows, dtype=dtype), (len(rows), 1)) * xp.asarray(cols, dtype=dtype)


def adaptive_avg_pool2d(input, output_size):
    """Average over PyTorch's adaptive bins: bin i of n over a size-L axis spans
    [floor(i L / n), ceil((i + 1) L / n)). A pool when the sizes divide evenly,
    else two small averaging matrices (bins are separable by axis)."""
    op = "adaptive_avg_pool2d"
    x, unbatched = _batched_images(op, input)
    h, w = x.shape[2:]
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2:
        oh, ow = (h if output_size[0] is None else output_size[0], w if output_size[1] is None else output_size[1])
    else:
        oh = ow = output_size
    (oh, ow) = _pair(op, "output_size", (oh, ow), 1)
    if (oh, ow) == (1, 1):
        y = _mean(x, (2, 3), keepdims=True)
    elif h % oh == 0 and w % ow == 0:
        k = (h // oh, w // ow)
        window = nn_fused.Window(k, k, (1, 1), (0, 0, 0, 0), (h, w), (oh, ow))
        y = nn_fused.avg_pool2d(x, window, k[0] * k[1])
    else:
        rows = _bin_matrix(x, oh, h)
        cols = _bin_matrix(x, ow, w)
        y = rows @ x @ transpose(cols)
    return _unbatch(y, unbatched)


def _bin_matrix(like, n, size):
    """(n, size): row i averages PyTorch's adaptive bin i."""
    values = [[0.0] * size for _ in range(n)]
    for i in range(n):
        start, end = (i * size) // n, -(-((i + 1) * size) // n)
        for j in range(start, end):
            values[i][j] = 1.0 / (end - start)
    backend = like._backend
    return constant(backend.asarray(values, dtype=like.dtype), like)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p), in
    training; the identity otherwise. ``inplace=True`` writes the result over
    ``input`` (see ``_overwrite``)."""
    _floating("dropout", input)
    if not _real(p) or not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p!r}")
    if not training or p == 0:
        return input
    if inplace:
        return _overwrite("dropout_", input, lambda x: _dropout(x, p))
    return _dropout(input, p)


def _dropout(input, p):
    backend = input._backend
    xp = backend.xp
    dtype = input.data.dtype
    if p == 1:
        return input * constant(xp.zeros(input.data.shape, dtype=dtype), input)
    keep = backend.uniform(input.data.shape, 0.0, 1.0, input.dtype) >= p
    return input * constant(xp.astype(keep, dtype) * (1.0 / (1.0 - p)), input)


def relu(input, inplace=False):
    """max(x, 0). With ``inplace=True`` the result overwrites ``input``, which is
    returned (no output buffer; backward keeps only a one-byte mask), wherever the graph
    allows it. Where PyTorch would rewire the graph instead (``input`` is a view, as
    after Flatten, or its op kept it for backward, as max pooling does), the result
    is a new tensor with the same values and gradients. ``Tensor.relu_`` refuses there."""
    _floating("relu", input)
    if inplace and input._graph_allows_overwrite():
        return input.relu_()
    return _relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, else negative_slope * x (the gradient at 0 is negative_slope, as PyTorch's).
    ``inplace=True`` writes the result over ``input`` (see ``_overwrite``)."""
    _floating("leaky_relu", input)
    if inplace:
        return _overwrite("leaky_relu_", input, lambda x: leaky_relu(x, negative_slope))
    xp = input._backend.xp
    # One multiply by a per-element factor (1 or the slope), which is constant almost
    # everywhere, so the gradient is that factor; cheaper than a branchy where.
    positive = xp.astype(input.data > 0, input.data.dtype)
    return input * constant(positive * (1 - negative_slope) + negative_slope, input)


def elu(input, alpha=1.0, inplace=False):
    """x where x > 0, else alpha * (exp(x) - 1); exp only sees x <= 0, so it never overflows.
    ``inplace=True`` writes the result over ``input`` (see ``_overwrite``)."""
    _floating("elu", input)
    if inplace:
        return _overwrite("elu_", input, lambda x: elu(x, alpha))
    return _relu(input) + (exp(clip(input, max=0.0)) - 1) * alpha


def _overwrite(op, input, result_of):
    """PyTorch's ``inplace=True`` for an activation: ``result_of(input)`` is written into
    ``input``'s memory and ``input`` takes the result's place in the graph, wherever
    the graph allows that (see ``relu``); elsewhere the result is a new tensor. The op
    runs on a copy of the old values when the graph is recorded, so what it saved for
    backward stays valid; ``relu`` alone has an in-place kernel."""
    if not input._graph_allows_overwrite():
        return result_of(input)
    return input._inplace(op, lambda old, _: result_of(old), None)


_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def gelu(input, approximate="none"):
    """x * Phi(x), Phi the standard normal CDF through erf (exact, the default), or
    PyTorch's tanh approximation with ``approximate='tanh'``."""
    _floating("gelu", input)
    if approximate == "none":
        return input * (nn_fused.erf(input * _SQRT_HALF) + 1) * 0.5
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * _SQRT_2_OVER_PI
        return input * (_tanh(inner) + 1) * 0.5
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', not {approximate!r}")


def sigmoid(input):
    return _sigmoid(_floating("sigmoid", input))


def tanh(input):
    return _tanh(_floating("tanh", input))


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, computed stably; linear where beta x > threshold, as PyTorch's."""
    _floating("softplus", input)
    if beta == 1:
        scaled = input
        smooth = nn_fused.softplus(input)
    else:
        scaled = input * beta
        smooth = nn_fused.softplus(scaled) / beta
    return where(scaled > threshold, input, smooth)


def _axis(op, x, axis):
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{op}: axis must be an int, not {type(axis).__name__}")
    n = max(x.ndim, 1)
    if not -n <= axis < n:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor with {x.ndim} dimensions")
    return int(axis) % n


def softmax(input, axis=-1, dtype=None):
    """exp(x) / sum(exp(x)) along ``axis``, shifted by the max so it never overflows."""
    _floating("softmax", input)
    if dtype is not None:
        input = input.astype(dtype)
    if input.ndim == 0:
        return nn_fused.softmax(reshape(input, (1,)), 0).reshape(())
    return nn_fused.softmax(input, _axis("softmax", input, axis))


def log_softmax(input, axis=-1, dtype=None):
    """x - logsumexp(x) along ``axis``, computed stably."""
    _floating("log_softmax", input)
    if dtype is not None:
        input = input.astype(dtype)
    if input.ndim == 0:
        return nn_fused.log_softmax(reshape(input, (1,)), 0).reshape(())
    return nn_fused.log_softmax(input, _axis("log_softmax", input, axis))


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """Normalize each channel (axis 1) of (N, C, ...) by the batch's statistics in
    training, else by ``running_mean`` / ``running_var``. In training, given running
    buffers are updated in place: running = (1 - momentum) running + momentum batch,
    with the unbiased batch variance, as PyTorch does."""
    op = "batch_norm"
    _floating(op, input)
    if input.ndim < 2:
        raise ValueError(f"{op}: expected an input of shape (N, C, ...), got {input.shape}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None:
            _tensor(op, t, name)
            _same_dtype(op, input, t, name)  # as PyTorch: the buffers must not take another dtype
            if t.shape != (c,):
                raise ValueError(f"{op}: {name} must have shape ({c},) for an input with {c} channels, "
                                 f"got {t.shape}")
    axes = (0,) + tuple(range(2, input.ndim))
    shape = (1, c) + (1,) * (input.ndim - 2)
    if training:
        count = input.size // c
        if count <= 1:
            raise ValueError(f"{op}: expected more than 1 value per channel when training, got input "
                             f"shape {input.shape}")
        mean = _mean(input, axes, keepdims=True)
        centered = input - mean
        var = _mean(centered * centered, axes, keepdims=True)
        out = centered / sqrt(var + eps)
        if running_mean is not None or running_var is not None:
            with no_grad():
                if running_mean is not None:
                    running_mean.copy_(running_mean * (1 - momentum) + reshape(mean.detach(), (c,)) * momentum)
                if running_var is not None:
                    unbiased = reshape(var.detach(), (c,)) * (count / (count - 1))
                    running_var.copy_(running_var * (1 - momentum) + unbiased * momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError(f"{op}: evaluation (training=False) needs running_mean and running_var")
        out = (input - reshape(running_mean, shape)) / sqrt(reshape(running_var, shape) + eps)
    if weight is not None:
        out = out * reshape(weight, shape)
    if bias is not None:
        out = out + reshape(bias, shape)
    return out


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the trailing ``normalized_shape`` axes (biased variance)."""
    op = "layer_norm"
    _floating(op, input)
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) \
        else tuple(normalized_shape)
    k = len(normalized_shape)
    if k == 0 or input.shape[input.ndim - k:] != normalized_shape or input.ndim < k:
        raise ValueError(f"{op}: normalized_shape {normalized_shape} does not match the trailing axes of "
                         f"the input's shape {input.shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and _tensor(op, t, name).shape != normalized_shape:
            raise ValueError(f"{op}: {name} must have shape {normalized_shape}, got {t.shape}")
        _same_dtype(op, input, t, name)
    axes = tuple(range(input.ndim - k, input.ndim))
    centered = input - _mean(input, axes, keepdims=True)
    var = _mean(centered * centered, axes, keepdims=True)
    out = centered / sqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def one_hot(tensor, num_classes=-1):
    """int64 one-hot vectors along a new last axis; ``num_classes=-1`` uses max + 1."""
    _tensor("one_hot", tensor)
    if tensor.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer tensor of class indices, not {tensor.dtype}")
    xp = tensor._backend.xp
    data = tensor.data
    low = int(xp.min(data)) if tensor.size else 0
    high = int(xp.max(data)) if tensor.size else -1
    if num_classes == -1:
        num_classes = high + 1
    if low < 0 or high >= num_classes:
        raise ValueError(f"one_hot: class values must lie in [0, {num_classes - 1}], found {low if low < 0 else high}")
    classes = xp.arange(num_classes, dtype=data.dtype)
    onehot = xp.reshape(data, data.shape + (1,)) == classes
    return Tensor._make(xp.astype(onehot, xp.int64), tensor._backend)


# --- losses -------------------------------------------------------------------------------------

_REDUCTIONS = ("mean", "sum", "none")


def _reduction(op, size_average, reduce, reduction):
    """PyTorch's deprecated size_average/reduce flags, when given, decide the reduction."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', not {reduction!r}")
    return reduction


def _reduce(loss, reduction):
    if reduction == "mean":
        return _mean(loss)
    if reduction == "sum":
        return _sum(loss)
    return loss


def _same_shapes(op, input, target):
    _floating(op, input)
    target = _tensor(op, target, "target")
    if input.shape != target.shape:
        raise ValueError(f"{op}: the input has shape {input.shape} but the target has shape {target.shape}; "
                         "they must match (reshape one, e.g. target.reshape(input.shape))")
    if target.dtype != input.dtype:
        target = target.astype(input.dtype)
    return target


def _class_weight(op, weight, input, c):
    if weight is None:
        return None
    weight = _weight_like(op, weight, "weight", input)
    if weight.shape != (c,):
        raise ValueError(f"{op}: weight must have one value per class, shape ({c},), got {weight.shape}")
    return weight.detach()


def _class_targets(op, input, target, ignore_index):
    """Class-index targets checked against input (N, C, d1, ...) or (C,): returns the
    input as (M, C), the targets as (M,), the shape of a per-element loss, and
    whether no target equals ignore_index."""
    if _kind(target) not in "iu":
        raise TypeError(f"{op}: class-index targets must be integers, not {target.dtype} "
                        "(for class probabilities pass a float target of the input's shape)")
    shape, t = input.data.shape, target.data
    if len(shape) == 1:
        expected = ()
    elif len(shape) >= 2:
        expected = shape[:1] + shape[2:]
    else:
        raise ValueError(f"{op}: expected an input of shape (C,), (N, C) or (N, C, d1, ...), got {input.shape}")
    if t.shape != expected:
        raise ValueError(f"{op}: the input of shape {input.shape} needs a target of shape {expected}, "
                         f"got {target.shape}")
    c = shape[-1] if len(shape) == 1 else shape[1]
    xp = target._backend.xp
    all_valid = True
    if 0 not in t.shape:
        low, high = int(xp.min(t)), int(xp.max(t))
        if low < 0 or high >= c:
            bad = ((t < 0) | (t >= c)) & (t != ignore_index)
            if bool(xp.any(bad)):
                value = int(xp.max(xp.where(bad, t, low)))
                raise ValueError(f"{op}: target {value} is out of bounds for {c} classes; targets must lie in "
                                 f"[0, {c - 1}] (or equal ignore_index={ignore_index})")
            all_valid = False
        elif low <= ignore_index <= high:
            all_valid = not bool(xp.any(t == ignore_index))
    if len(shape) == 2:
        return input, target, expected, all_valid
    if len(shape) == 1:
        return reshape(input, (1, c)), reshape(target, (1,)), expected, all_valid
    if len(shape) > 2:  # (N, C, d1, ...) -> (N*d1*..., C): classes on the last axis
        input = transpose(input, (0,) + tuple(range(2, input.ndim)) + (1,))
    return reshape(input, (-1, c)), reshape(target, (-1,)), expected, all_valid


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross-entropy of logits against class indices (one fused, stable op) or, with
    a float target of the input's shape, against class probabilities. ``weight``,
    ``ignore_index``, ``label_smoothing`` and the weighted mean follow PyTorch."""
    op = "cross_entropy"
    _floating(op, input)
    _tensor(op, target, "target")
    reduction = _reduction(op, size_average, reduce, reduction)
    if not _real(label_smoothing) or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must lie in [0, 1], got {label_smoothing!r}")
    c = input.shape[-1] if input.ndim == 1 else input.shape[1] if input.ndim >= 2 else 0
    weight = _class_weight(op, weight, input, c)
    if _kind(target) == "f":
        return _soft_cross_entropy(op, input, target, weight, reduction, label_smoothing)
    logits, targets, shape, all_valid = _class_targets(op, input, target, ignore_index)
    loss = nn_fused.cross_entropy(logits, targets, weight, ignore_index, float(label_smoothing), reduction,
                                  all_valid)
    return reshape(loss, shape) if reduction == "none" else loss


def _soft_cross_entropy(op, input, target, weight, reduction, smoothing):
    if target.shape != input.shape:
        raise ValueError(f"{op}: probability targets must have the input's shape {input.shape}, "
                         f"got {target.shape}")
    axis = 0 if input.ndim == 1 else 1
    c = input.shape[axis]
    target = target.astype(input.dtype)
    if smoothing:
        target = target * (1 - smoothing) + smoothing / c
    logp = nn_fused.log_softmax(input, axis)
    if weight is not None:
        logp = logp * reshape(weight, (c,) + (1,) * (input.ndim - axis - 1))
    loss = -_sum(logp * target, axis)
    return _reduce(loss, reduction)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """The negative log-likelihood of log-probabilities at class indices; 'mean' is
    the weighted mean over targets that are not ``ignore_index``, as PyTorch's."""
    op = "nll_loss"
    _floating(op, input)
    _tensor(op, target, "target")
    reduction = _reduction(op, size_average, reduce, reduction)
    c = input.shape[-1] if input.ndim == 1 else input.shape[1] if input.ndim >= 2 else 0
    weight = _class_weight(op, weight, input, c)
    logp, targets, shape, _ = _class_targets(op, input, target, ignore_index)
    xp = input._backend.xp
    t = targets.data
    valid = t != ignore_index
    safe = t * xp.astype(valid, t.dtype)
    rows = xp.arange(t.shape[0])
    picked = logp[constant(rows, input), constant(safe, input)]
    row_weight = xp.astype(valid, logp.data.dtype)
    if weight is not None:
        row_weight = xp.take(weight.data, safe) * row_weight
    loss = -picked * constant(row_weight, input)
    if reduction == "mean":
        total = xp.sum(row_weight)
        if bool(total > 0):
            return _sum(loss) / constant(total, input)
        # Nothing counted (an empty batch, every target ignored or weighing 0): NaN, as
        # in PyTorch, with its gradients: 0 on ignored rows (not 0/0), NaN on counted ones.
        return _sum(-picked * constant(xp.where(valid, row_weight * math.nan, 0), input)) + math.nan
    if reduction == "sum":
        return _sum(loss)
    return reshape(loss, shape)


def _elementwise_loss(op, loss, weight, reduction, weighted_mean):
    """Apply PyTorch's optional same-shape ``weight``; a weighted 'mean' divides by
    the weights' sum (mse, l1) or by the element count (huber), as PyTorch does."""
    if weight is None:
        return _reduce(loss, reduction)
    weight = _weight_like(op, weight, "weight", loss)
    if weight.shape != loss.shape:
        raise ValueError(f"{op}: weight must have the input's shape {loss.shape}, got {weight.shape}")
    loss = loss * weight
    if reduction == "mean" and weighted_mean:
        return _sum(loss) / _sum(weight)
    return _reduce(loss, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    reduction = _reduction("mse_loss", size_average, reduce, reduction)
    target = _same_shapes("mse_loss", input, target)
    diff = input - target
    return _elementwise_loss("mse_loss", diff * diff, weight, reduction, True)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    reduction = _reduction("l1_loss", size_average, reduce, reduction)
    target = _same_shapes("l1_loss", input, target)
    return _elementwise_loss("l1_loss", abs(input - target), weight, reduction, True)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), d = input - target."""
    reduction = _reduction("huber_loss", None, None, reduction)
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta!r}")
    target = _same_shapes("huber_loss", input, target)
    size = abs(input - target)
    # 0.5 c^2 + delta (|d| - c) with c = min(|d|, delta) is both branches at once,
    # without a per-element branch.
    c = clip(size, max=float(delta))
    return _elementwise_loss("huber_loss", c * c * 0.5 + (size - c) * delta, weight, reduction, False)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """-w (t log p + (1 - t) log(1 - p)) for probabilities p, logs clamped to >= -100
    as PyTorch's (so p = 0 or 1 gives a finite loss)."""
    op = "binary_cross_entropy"
    reduction = _reduction(op, size_average, reduce, reduction)
    target = _same_shapes(op, input, target)
    xp = input._backend.xp
    if input.size and bool(xp.any((input.data < 0) | (input.data > 1))):
        raise ValueError(f"{op}: all elements of the input must be probabilities in [0, 1]; for logits "
                         "use binary_cross_entropy_with_logits")
    if target.size and bool(xp.any((target.data < 0) | (target.data > 1))):
        raise ValueError(f"{op}: all elements of the target must lie in [0, 1] (0 or 1 for hard labels); "
                         "for class indices use cross_entropy")
    loss = nn_fused.binary_cross_entropy(input, target)
    if weight is not None:
        loss = loss * _weight_like(op, weight, "weight", input)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Binary cross-entropy of sigmoid(input), computed from the logits without
    overflow: (1 - t) x + (1 + (pos_weight - 1) t) softplus(-x)."""
    op = "binary_cross_entropy_with_logits"
    reduction = _reduction(op, size_average, reduce, reduction)
    target = _same_shapes(op, input, target)
    log_weight = 1
    if pos_weight is not None:
        log_weight = (_weight_like(op, pos_weight, "pos_weight", input) - 1) * target + 1
    loss = (1 - target) * input + nn_fused.softplus(-input) * log_weight
    if weight is not None:
        loss = loss * _weight_like(op, weight, "weight", input)
    return _reduce(loss, reduction)


def _weight_like(op, weight, name, input):
    """A loss weight in the input's dtype, as PyTorch computes (a float64 weight
    does not turn a float32 loss into float64)."""
    _tensor(op, weight, name)
    return weight if weight.dtype == input.dtype else weight.astype(input.dtype)


# --- embedding ----------------------------------------------------------------------

def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """Rows of ``weight`` (num_embeddings, embedding_dim) at the integer ids in
    ``input``; the result has shape ``input.shape + (embedding_dim,)``. The row at
    ``padding_idx`` is looked up as usual but gets no gradient, as in PyTorch.

    With ``max_norm``, every row the ids reference whose ``norm_type``-norm exceeds
    it is first rescaled in place in ``weight`` to norm ``max_norm`` (outside
    autograd, as PyTorch does). With ``scale_grad_by_freq``, each row's gradient is
    divided by how often its id occurs in ``input``. ``sparse=True`` is refused:
    gradients here are always dense."""
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError("embedding: weight must be a 2-D tensor (num_embeddings, embedding_dim), got "
                         f"{getattr(weight, 'shape', type(weight).__name__)}")
    num_embeddings = weight.shape[0]
    padding_idx = _normalize_padding_idx(padding_idx, num_embeddings)
    plain = (max_norm is None and scale_grad_by_freq is False and sparse is False
             and type(norm_type) is float and norm_type == 2.0)
    if not plain:
        _check_embedding_options("embedding", max_norm, norm_type, scale_grad_by_freq, sparse)
    indices = _as_indices(input, weight)
    if plain:  # the common case, kept as cheap as a bare lookup
        rows = weight[indices]
    else:
        if max_norm is not None:
            _renorm_rows_(weight, indices, max_norm, norm_type)
        if scale_grad_by_freq and weight.requires_grad and is_grad_enabled():  # else no gradient to scale
            rows = _FrequencyScaledLookup.apply(weight, (indices.data,), _inverse_counts(weight, indices))
        else:
            rows = weight[indices]
    if padding_idx is not None and rows.requires_grad:
        # Same values everywhere; where the id is the padding one, the value comes
        # from a detached copy, so the gradient skips the padding row.
        keep = Tensor._make(indices.data != padding_idx, weight._backend)
        rows = where(keep.expand_dims(-1), rows, rows.detach())
    return rows


def _normalize_padding_idx(padding_idx, num_embeddings):
    if padding_idx is None:
        return None
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, int):
        raise TypeError(f"embedding: padding_idx must be an int or None, not {type(padding_idx).__name__}")
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"embedding: padding_idx {padding_idx} is out of range for {num_embeddings} "
                         f"embeddings; it must lie in [-{num_embeddings}, {num_embeddings - 1}]")
    return padding_idx % num_embeddings


def _check_embedding_options(op, max_norm, norm_type, scale_grad_by_freq, sparse):
    """Reject bad ``max_norm``/``norm_type``/``scale_grad_by_freq``/``sparse`` before anything changes."""
    if max_norm is not None:
        if not _real(max_norm):
            raise TypeError(f"{op}: max_norm must be a positive number or None, not {type(max_norm).__name__}")
        if not max_norm > 0:  # also rejects NaN
            raise ValueError(f"{op}: max_norm must be a positive number or None, got {max_norm!r}")
    if not _real(norm_type):
        raise TypeError(f"{op}: norm_type must be a positive number (the p of the p-norm), "
                        f"not {type(norm_type).__name__}")
    if not norm_type > 0:
        raise ValueError(f"{op}: norm_type must be a positive number (the p of the p-norm, "
                         f"math.inf for the max-norm), got {norm_type!r}")
    for name, value in (("scale_grad_by_freq", scale_grad_by_freq), ("sparse", sparse)):
        if not isinstance(value, bool):
            raise TypeError(f"{op}: {name} must be True or False, not {type(value).__name__}")
    if sparse:
        raise ValueError(f"{op}: sparse=True asks for a sparse gradient, but topograd has no sparse "
                         "tensors; use sparse=False (the weight's gradient is then a dense tensor)")


def _renorm_rows_(weight, indices, max_norm, norm_type):
    """Rescale, in place, each row of ``weight`` that ``indices`` references and whose
    ``norm_type``-norm exceeds ``max_norm`` to norm ``max_norm``, as torch.embedding_renorm_:
    by ``max_norm / (norm + 1e-7)``, computed in float64, applied in the weight's dtype."""
    backend = weight._backend
    xp = backend.xp
    data = weight.data
    max_norm, norm_type = float(max_norm), float(norm_type)  # NumPy scalars do not mix with every namespace
    if indices.size and data.shape[1]:
        # Row-selecting masks, not integer arrays: the standard only sets items through masks.
        used = backend.scatter_add((data.shape[0],), (indices.data,), xp.ones(indices.shape, dtype=xp.float32)) > 0
        rows = data[used]
        norms = xp.astype(_row_norms(xp, rows, norm_type), xp.float64)
        scale = xp.astype(max_norm / (norms + 1e-7), data.dtype)
        over = xp.expand_dims(norms > max_norm, axis=-1)
        data[used] = xp.where(over, rows * xp.expand_dims(scale, axis=-1), rows)
    # PyTorch bumps the weight's version on every renorm call (changed rows or not), so
    # backward through an op that saved the weight before this lookup fails there as
    # here, whatever the data: "modified in place", fixed by passing it a clone.
    count_change(weight)


def _row_norms(xp, rows, p):
    magnitudes = xp.abs(rows)
    if p == math.inf:
        return xp.max(magnitudes, axis=-1)
    if p == 1:
        return xp.sum(magnitudes, axis=-1)
    if p == 2:
        return xp.sqrt(xp.sum(rows * rows, axis=-1))
    return xp.sum(magnitudes ** p, axis=-1) ** (1 / p)


def _inverse_counts(weight, indices):
    """1 / (how often each position's id occurs in ``indices``), shaped ``indices.shape + (1,)``
    to scale looked-up rows; in float64 for float64 weights, else float32, cast to the weight's dtype."""
    backend = weight._backend
    xp = backend.xp
    count_dtype = xp.float64 if weight.data.dtype == xp.float64 else xp.float32
    index = (indices.data,)
    counts = backend.scatter_add((weight.shape[0],), index, xp.ones(indices.shape, dtype=count_dtype))
    inverse = 1 / backend.gather(counts, index)
    return xp.expand_dims(xp.astype(inverse, weight.data.dtype), axis=-1)


class _FrequencyScaledLookup(Function):
    """``weight[index]`` whose gradient reaches each row scaled by ``inverse_counts``
    (PyTorch's scale_grad_by_freq). The backward is Tensor ops (a scale, then the
    indexing op's scatter-add), so it differentiates again under create_graph. Its
    second derivative is that scaled backward's exact derivative, so it carries the
    scale too; PyTorch's double backward leaves the scale out there."""

    @staticmethod
    def forward(ctx, weight, index, inverse_counts):
        ctx.weight_shape, ctx.index, ctx.inverse_counts = weight.data.shape, index, inverse_counts
        return weight._backend.gather(weight.data, index)

    @staticmethod
    def backward(ctx, gy):
        scale = Tensor._make(ctx.inverse_counts, gy._backend)
        return IndexAdd.apply(gy * scale, ctx.index, True, ctx.weight_shape), None, None


def _as_indices(input, weight):
    """``input`` as an integer tensor on the weight's device, every id checked to be a valid row."""
    backend = weight._backend
    if isinstance(input, Tensor):
        if input._backend is not backend:
            raise ValueError(f"embedding: the indices are on {input.device} but the weight is on "
                             f"{weight.device}; move one with .to(device)")
        indices = input
    else:
        try:
            indices = Tensor(input, device=backend)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"embedding: indices must be integers (a Tensor, list or array), "
                            f"got {type(input).__name__}") from exc
    if indices.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must have an integer dtype, not {indices.dtype}; "
                        "convert them with .astype(ag.int64)")
    num_embeddings = weight.shape[0]
    if indices.size:
        xp = backend.xp
        low, high = int(xp.min(indices.data)), int(xp.max(indices.data))
        if low < 0 or high >= num_embeddings:
            bad = low if low < 0 else high
            raise IndexError(f"embedding: index {bad} is out of range; indices must lie in "
                             f"[0, {num_embeddings - 1}] for a table of {num_embeddings} embeddings")
    return indices
