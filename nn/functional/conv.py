"""``conv2d``: 2-D cross-correlation as im2col plus one GEMM (``nn_fused.conv2d``),
and ``conv1d``: the same kernel over (N, C, 1, L) views of sequences;
``conv_transpose2d`` and ``conv_transpose1d``: their transposes (conv2d's input
gradient run forward, ``nn_fused.conv_transpose2d``).
The checks turn PyTorch's stride, padding (ints, 'valid' or 'same'), output_padding,
dilation and groups into a ``Window``, memoized per input size, as a layer asks for
the same few windows every step. A transposed convolution's window is that of the
conv2d it transposes: it slides over the transposed output.

``conv3d`` and ``conv_transpose3d``: the same with a depth axis (``nn_fused.conv3d``,
``nn_fused.conv_transpose3d``), their geometry a ``VolumeWindow``."""
import functools
import numbers

from autograd.autocast_mode import autocast_op
from autograd.ops import nn_fused
from autograd.ops.shape import reshape

from .arguments import (batched_images, batched_sequences_as_images, batched_volumes, cached, floating, pair,
                        require_tensor, same_dtype, sequences_from_images, single, triple, unbatch, window_out)


@autocast_op("conv2d")
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of (N, C, H, W) with (O, C/groups, KH, KW): im2col plus
    one GEMM. ``padding`` is an int, a pair, 'valid' or 'same' (stride 1 only)."""
    op = "conv2d"
    x, unbatched = batched_images(op, input)
    _check_conv(op, x, weight, bias, groups, ("out_channels", "in_channels/groups", "KH", "KW"))
    window = cached(_conv_window, op, weight.shape[2:], stride, padding, dilation, *x.shape[2:])
    return unbatch(nn_fused.conv2d(x, weight, bias, window, groups), unbatched)


@autocast_op("conv1d")
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


@autocast_op("conv_transpose2d")
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution of (N, C_in, H, W) with (C_in, C_out/groups, KH, KW), as
    PyTorch's: the input gradient of the conv2d with these arguments, so an
    (N, C_out, H_out, W_out) output, H_out = (H - 1) * stride - 2 * padding +
    dilation * (KH - 1) + output_padding + 1 (W_out likewise). ``output_padding``
    (less than the stride or the dilation) adds rows and columns at the bottom and
    right, which only the bias reaches."""
    op = "conv_transpose2d"
    x, unbatched = batched_images(op, input)
    _check_conv_transpose(op, x, weight, bias, groups, ("in_channels", "out_channels/groups", "KH", "KW"))
    window = cached(_conv_transpose_window, op, weight.shape[2:], stride, padding, output_padding, dilation,
                    *x.shape[2:])
    return unbatch(nn_fused.conv_transpose2d(x, weight, bias, window, groups), unbatched)


@autocast_op("conv_transpose1d")
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-D transposed convolution of (N, C_in, L) with (C_in, C_out/groups, K): the
    transpose of conv1d, L_out = (L - 1) * stride - 2 * padding + dilation * (K - 1) +
    output_padding + 1. It runs conv_transpose2d's kernel on the (N, C_in, 1, L) view
    with a (C_in, C_out/groups, 1, K) weight, as conv1d runs conv2d's."""
    op = "conv_transpose1d"
    x, unbatched = batched_sequences_as_images(op, input)
    _check_conv_transpose(op, x, weight, bias, groups, ("in_channels", "out_channels/groups", "K"))
    c, og, k = weight.shape
    window = cached(_conv_transpose1d_window, op, k, stride, padding, output_padding, dilation, x.shape[3])
    y = nn_fused.conv_transpose2d(x, reshape(weight, (c, og, 1, k)), bias, window, groups)
    return sequences_from_images(y, unbatched)


@autocast_op("conv3d")
def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D cross-correlation of (N, C, D, H, W) with (O, C/groups, KD, KH, KW): a 3-D
    im2col plus one GEMM (``nn_fused.conv3d``). ``padding`` is an int, a triple,
    'valid' or 'same' (stride 1 only)."""
    op = "conv3d"
    x, unbatched = batched_volumes(op, input)
    _check_conv(op, x, weight, bias, groups, ("out_channels", "in_channels/groups", "KD", "KH", "KW"))
    volume = cached(_conv3d_window, op, weight.shape[2:], stride, padding, dilation, *x.shape[2:])
    return unbatch(nn_fused.conv3d(x, weight, bias, volume, groups), unbatched)


@autocast_op("conv_transpose3d")
def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """3-D transposed convolution of (N, C_in, D, H, W) with (C_in, C_out/groups, KD,
    KH, KW), as PyTorch's (each output size as conv_transpose2d's formula gives it):
    conv3d's input gradient run forward (``nn_fused.conv_transpose3d``)."""
    op = "conv_transpose3d"
    x, unbatched = batched_volumes(op, input)
    _check_conv_transpose(op, x, weight, bias, groups, ("in_channels", "out_channels/groups", "KD", "KH", "KW"))
    volume = cached(_conv_transpose3d_window, op, weight.shape[2:], stride, padding, output_padding, dilation,
                    *x.shape[2:])
    return unbatch(nn_fused.conv_transpose3d(x, weight, bias, volume, groups), unbatched)


def _check_conv(op, x, weight, bias, groups, weight_axes):
    """The weight (named by ``weight_axes``), bias and groups against a batched input."""
    _check_weight_and_groups(op, x, weight, groups, weight_axes)
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
    _check_bias(op, x, bias, o)


def _check_conv_transpose(op, x, weight, bias, groups, weight_axes):
    """As ``_check_conv``, for a transposed convolution's (in_channels, out_channels/groups,
    *kernel) weight: its first axis matches the input's channels."""
    _check_weight_and_groups(op, x, weight, groups, weight_axes)
    c, og = weight.shape[:2]
    if not og or 0 in weight.shape[2:]:
        raise ValueError(f"{op}: weight {weight.shape} must have at least one output channel per group and a "
                         f"kernel of at least {'x'.join('1' * (weight.ndim - 2))}")
    if c != x.shape[1]:
        raise ValueError(f"{op}: the input has {x.shape[1]} channels but the weight {weight.shape} expects {c} "
                         "(a transposed convolution's weight is (in_channels, out_channels/groups, ...))")
    if c % groups:
        raise ValueError(f"{op}: in_channels ({c}, the weight's first axis) must be divisible by groups "
                         f"({groups})")
    _check_bias(op, x, bias, og * groups)


def _check_weight_and_groups(op, x, weight, groups, weight_axes):
    floating(op, weight, "weight")
    if weight.ndim != len(weight_axes):
        raise ValueError(f"{op}: weight must be {len(weight_axes)}-D ({', '.join(weight_axes)}), "
                         f"got shape {weight.shape}")
    same_dtype(op, x, weight, "the weight")
    if type(groups) is not int and (isinstance(groups, bool) or not isinstance(groups, numbers.Integral)) \
            or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")


def _check_bias(op, x, bias, channels):
    if bias is not None:
        require_tensor(op, bias, "bias")
        if bias.shape != (channels,):
            raise ValueError(f"{op}: bias must have shape ({channels},), got {bias.shape}")
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


@functools.lru_cache(maxsize=256, typed=True)
def _conv3d_window(op, kernel, stride, padding, dilation, d, h, w):
    """conv3d's ``VolumeWindow``: the depth geometry and the (H, W) plane's ``Window``."""
    kd, kh, kw = kernel
    sd, sh, sw = triple(op, "stride", stride, 1)
    dd, dh, dw = triple(op, "dilation", dilation, 1)
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"{op}: padding must be an int, a triple, 'valid' or 'same', not {padding!r}")
        if padding == "same" and (sd, sh, sw) != (1, 1, 1):
            raise ValueError(f"{op}: padding='same' needs stride 1, got stride {(sd, sh, sw)}")
        total = dd * (kd - 1) if padding == "same" else 0
        before, after = total // 2, total - total // 2  # PyTorch's split of an odd total: the extra one after
        plane_padding = padding  # the plane's window splits its own the same way
    else:
        pd, ph, pw = triple(op, "padding", padding, 0)
        before = after = pd
        plane_padding = (ph, pw)
    od = window_out(op, d, kd, sd, dd, before, after)
    plane = _conv_window(op, (kh, kw), (sh, sw), plane_padding, (dh, dw), h, w)
    return nn_fused.VolumeWindow(kd, sd, dd, before, after, d, od, plane)


@functools.lru_cache(maxsize=256, typed=True)
def _conv_transpose3d_window(op, kernel, stride, padding, output_padding, dilation, d, h, w):
    """The ``VolumeWindow`` of the conv3d whose input gradient conv_transpose3d is: it
    slides over the (padded) transposed output, d x h x w times."""
    kd, kh, kw = kernel
    sd, sh, sw = triple(op, "stride", stride, 1)
    pd, ph, pw = triple(op, "padding", padding, 0)
    qd, qh, qw = triple(op, "output_padding", output_padding, 0)
    dd, dh, dw = triple(op, "dilation", dilation, 1)
    length = _transposed_size(op, "depth", d, kd, sd, pd, qd, dd)
    plane = _conv_transpose_window(op, (kh, kw), (sh, sw), (ph, pw), (qh, qw), (dh, dw), h, w)
    return nn_fused.VolumeWindow(kd, sd, dd, pd, pd, length, d, plane)


@functools.lru_cache(maxsize=256, typed=True)
def _conv_transpose1d_window(op, k, stride, padding, output_padding, dilation, length):
    """conv_transpose2d's window over a 1 x length input with a 1 x k kernel."""
    (s,) = single(op, "stride", stride, 1)
    (p,) = single(op, "padding", padding, 0)
    (q,) = single(op, "output_padding", output_padding, 0)
    (d,) = single(op, "dilation", dilation, 1)
    return _conv_transpose_window(op, (1, k), (1, s), (0, p), (0, q), (1, d), 1, length, ("height", "length"))


@functools.lru_cache(maxsize=256, typed=True)
def _conv_transpose_window(op, kernel, stride, padding, output_padding, dilation, h, w, axes=("height", "width")):
    """The window of the conv2d that a transposed convolution of an h x w input is the
    input gradient of: it slides over the (padded) transposed output, h x w times."""
    stride = pair(op, "stride", stride, 1)
    padding = pair(op, "padding", padding, 0)
    output_padding = pair(op, "output_padding", output_padding, 0)
    dilation = pair(op, "dilation", dilation, 1)
    out = tuple(_transposed_size(op, *args)
                for args in zip(axes, (h, w), kernel, stride, padding, output_padding, dilation))
    (ph, pw) = padding
    return nn_fused.Window(tuple(kernel), stride, dilation, (ph, ph, pw, pw), out, (h, w))


def _transposed_size(op, axis, size, kernel, stride, padding, output_padding, dilation):
    """The output size along one axis, PyTorch's formula, after its checks."""
    if size < 1:
        raise ValueError(f"{op}: the input's {axis} is 0; a transposed convolution needs at least one element "
                         "along each convolved axis")
    if output_padding >= stride and output_padding >= dilation:
        raise ValueError(f"{op}: output_padding ({output_padding}) must be smaller than either stride ({stride}) "
                         f"or dilation ({dilation}) along the {axis}; lower output_padding, or pass the layer an "
                         "output_size")
    out = (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
    if out < 1:
        raise ValueError(f"{op}: the output's {axis} would be {out} (input {size}, kernel {kernel}, stride "
                         f"{stride}, padding {padding}, dilation {dilation}, output_padding {output_padding}); "
                         f"padding can be at most {(out + 2 * padding - 1) // 2}")
    return out
