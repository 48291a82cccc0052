"""``conv2d``: 2-D cross-correlation as im2col plus one GEMM (``nn_fused.conv2d``),
and ``conv1d``: the same kernel over (N, C, 1, L) views of sequences.
The checks turn PyTorch's stride, padding (ints, 'valid' or 'same'), dilation and
groups into a ``Window``, memoized per input size, as a layer asks for the same
few windows every step."""
import functools
import numbers

from autograd.ops import nn_fused
from autograd.ops.shape import reshape

from .arguments import (batched_images, batched_sequences_as_images, cached, floating, pair, require_tensor,
                        same_dtype, sequences_from_images, single, unbatch, window_out)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of (N, C, H, W) with (O, C/groups, KH, KW): im2col plus
    one GEMM. ``padding`` is an int, a pair, 'valid' or 'same' (stride 1 only)."""
    op = "conv2d"
    x, unbatched = batched_images(op, input)
    _check_conv(op, x, weight, bias, groups, ("out_channels", "in_channels/groups", "KH", "KW"))
    window = cached(_conv_window, op, weight.shape[2:], stride, padding, dilation, *x.shape[2:])
    return unbatch(nn_fused.conv2d(x, weight, bias, window, groups), unbatched)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation of (N, C, L) with (O, C/groups, K). It runs conv2d's
    kernel on the (N, C, 1, L) view with an (O, C/groups, 1, K) weight, so it is as
    fast and as many times differentiable. ``padding`` is an int, a 1-tuple, 'valid'
    or 'same' (stride 1 only)."""
    op = "conv1d"
    x, unbatched = batched_sequences_as_images(op, input)
    _check_conv(op, x, weight, bias, groups, ("out_channels", "in_channels/groups", "K"))
    o, cg, k = weight.shape
    window = cached(_conv1d_window, op, k, stride, padding, dilation, x.shape[3])
    y = nn_fused.conv2d(x, reshape(weight, (o, cg, 1, k)), bias, window, groups)
    return sequences_from_images(y, unbatched)


def _check_conv(op, x, weight, bias, groups, weight_axes):
    """The weight (named by ``weight_axes``), bias and groups against a batched input."""
    floating(op, weight, "weight")
    if weight.ndim != len(weight_axes):
        raise ValueError(f"{op}: weight must be {len(weight_axes)}-D ({', '.join(weight_axes)}), "
                         f"got shape {weight.shape}")
    same_dtype(op, x, weight, "the weight")
    if type(groups) is not int and (isinstance(groups, bool) or not isinstance(groups, numbers.Integral)) \
            or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    o, cg = weight.shape[:2]
    if not o or 0 in weight.shape[2:]:
        raise ValueError(f"{op}: weight {weight.shape} must have at least one output channel and a kernel of "
                         f"at least {'x'.join('1' * (weight.ndim - 2))}")
    c = x.shape[1]
    if cg * groups != c:
        raise ValueError(f"{op}: the input has {c} channels but the weight {weight.shape} with groups={groups} "
                         f"expects {cg * groups}")
    if o % groups:
        raise ValueError(f"{op}: out_channels ({o}) must be divisible by groups ({groups})")
    if bias is not None:
        require_tensor(op, bias, "bias")
        if bias.shape != (o,):
            raise ValueError(f"{op}: bias must have shape ({o},), got {bias.shape}")
        same_dtype(op, x, bias, "the bias")


@functools.lru_cache(maxsize=256, typed=True)
def _conv1d_window(op, k, stride, padding, dilation, length):
    """conv2d's window over a 1 x length image with a 1 x k kernel."""
    (s,) = single(op, "stride", stride, 1)
    (d,) = single(op, "dilation", dilation, 1)
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"{op}: padding must be an int, a 1-tuple, 'valid' or 'same', not {padding!r}")
        if padding == "same" and s != 1:
            raise ValueError(f"{op}: padding='same' needs stride 1, got stride {s}")
    else:
        padding = (0, single(op, "padding", padding, 0)[0])
    return _conv_window(op, (1, k), (1, s), padding, (1, d), 1, length)


@functools.lru_cache(maxsize=256, typed=True)
def _conv_window(op, kernel, stride, padding, dilation, h, w):
    (kh, kw) = kernel
    stride = pair(op, "stride", stride, 1)
    dilation = pair(op, "dilation", dilation, 1)
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
        ph, pw = pair(op, "padding", padding, 0)
        pads = (ph, ph, pw, pw)
    out = (window_out(op, h, kh, stride[0], dilation[0], pads[0], pads[1]),
           window_out(op, w, kw, stride[1], dilation[1], pads[2], pads[3]))
    return nn_fused.Window((kh, kw), stride, dilation, pads, (h, w), out)
