"""``conv2d``: 2-D cross-correlation as im2col plus one GEMM (``nn_fused.conv2d``).
The checks turn PyTorch's stride, padding (ints, 'valid' or 'same'), dilation and
groups into a ``Window``, memoized per input size, as a layer asks for the same
few windows every step."""
import functools
import numbers

from autograd.ops import nn_fused

from .arguments import batched_images, cached, floating, pair, require_tensor, same_dtype, unbatch, window_out


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of (N, C, H, W) with (O, C/groups, KH, KW): im2col plus
    one GEMM. ``padding`` is an int, a pair, 'valid' or 'same' (stride 1 only)."""
    op = "conv2d"
    x, unbatched = batched_images(op, input)
    floating(op, weight, "weight")
    if weight.ndim != 4:
        raise ValueError(f"{op}: weight must be 4-D (out_channels, in_channels/groups, KH, KW), "
                         f"got shape {weight.shape}")
    same_dtype(op, x, weight, "the weight")
    if type(groups) is not int and (isinstance(groups, bool) or not isinstance(groups, numbers.Integral)) \
            or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    o, cg, kh, kw = weight.shape
    if not (o and kh and kw):
        raise ValueError(f"{op}: weight {weight.shape} must have at least one output channel and a kernel of "
                         f"at least 1x1")
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
    window = cached(_conv_window, op, (kh, kw), stride, padding, dilation, *x.shape[2:])
    return unbatch(nn_fused.conv2d(x, weight, bias, window, groups), unbatched)


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
