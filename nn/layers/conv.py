"""Conv2d: im2col plus one GEMM per call, with groups, dilation and padding modes."""

from autograd import Tensor, empty

from .. import functional as F
from .. import init
from ..functional.arguments import pair
from ..module import Module
from ..parameter import Parameter
from .arguments import positive_int

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class Conv2d(Module):
    """weight (out_channels, in_channels/groups, KH, KW), bias (out_channels,),
    initialized as PyTorch does (U(+-1/sqrt(fan_in)), fan_in = in/groups * KH * KW)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        positive_int("Conv2d", "in_channels", in_channels)
        positive_int("Conv2d", "out_channels", out_channels)
        positive_int("Conv2d", "groups", groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: in_channels ({in_channels}) and out_channels ({out_channels}) must both "
                             f"be divisible by groups ({groups})")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"Conv2d: padding_mode must be one of {PADDING_MODES}, not {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair("Conv2d", "kernel_size", kernel_size, 1)
        self.stride = pair("Conv2d", "stride", stride, 1)
        self.dilation = pair("Conv2d", "dilation", dilation, 1)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"Conv2d: padding must be an int, a pair, 'valid' or 'same', not {padding!r}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError("Conv2d: padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = pair("Conv2d", "padding", padding, 0)
        self.padding_mode = padding_mode
        self.output_padding = (0, 0)
        kh, kw = self.kernel_size
        self.weight = Parameter(empty((out_channels, in_channels // groups, kh, kw), dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(empty((out_channels,), dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.default_weight_and_bias_(self.weight, self.bias)

    def forward(self, input):
        if self.padding_mode == "zeros":
            return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        padded = _pad_by_mode(input, self._pads(), self.padding_mode)
        return F.conv2d(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def _pads(self):
        """(top, bottom, left, right), with PyTorch's split of 'same' padding."""
        if self.padding == "valid":
            return (0, 0, 0, 0)
        if self.padding == "same":
            (kh, kw), (dh, dw) = self.kernel_size, self.dilation
            th, tw = dh * (kh - 1), dw * (kw - 1)
            return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
        ph, pw = self.padding
        return (ph, ph, pw, pw)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


def _source_index(i, size, mode):
    """The input row read at padded position ``i`` (which may be outside [0, size))."""
    if mode == "circular":
        return i % size
    if mode == "replicate":
        return min(max(i, 0), size - 1)
    # reflect, without repeating the edge: -1 -> 1, size -> size - 2
    period = 2 * (size - 1) if size > 1 else 1
    i = abs(i) % period
    return period - i if i >= size else i


def _pad_by_mode(x, pads, mode):
    """Pad the last two axes by reading input rows and columns at reflected, clamped
    or wrapped positions; an indexing op, so the gradient flows back by scatter-add."""
    if not isinstance(x, Tensor) or x.ndim not in (3, 4):
        raise ValueError(f"Conv2d: expected a (N, C, H, W) or (C, H, W) input, got "
                         f"{getattr(x, 'shape', type(x).__name__)}")
    top, bottom, left, right = pads
    h, w = x.shape[-2:]
    if mode in ("reflect", "circular") and (max(top, bottom) >= h + (mode == "circular")
                                           or max(left, right) >= w + (mode == "circular")):
        raise ValueError(f"Conv2d: padding {pads} is too large for {mode} padding of a {h}x{w} input")
    rows = [_source_index(i, h, mode) for i in range(-top, h + bottom)]
    cols = [_source_index(j, w, mode) for j in range(-left, w + right)]
    lead = (slice(None),) * (x.ndim - 2)
    return x[lead + (rows,)][lead + (slice(None), cols)]
