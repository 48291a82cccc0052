"""Conv1d and Conv2d: im2col plus one GEMM per call (Conv1d through conv2d's kernel),
with groups, dilation and padding modes."""

from autograd import Tensor, empty

from .. import functional as F
from .. import init
from ..functional.arguments import pair, single
from ..module import Module
from ..parameter import Parameter
from .arguments import positive_int

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """A convolution over the last ``_n`` axes: weight (out_channels, in_channels/groups,
    *kernel_size), bias (out_channels,), initialized as PyTorch does (U(+-1/sqrt(fan_in)),
    fan_in = in/groups * prod(kernel_size)). Subclasses name ``_n`` and ``_conv``."""
    _n = 0

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        positive_int(name, "in_channels", in_channels)
        positive_int(name, "out_channels", out_channels)
        positive_int(name, "groups", groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must both "
                             f"be divisible by groups ({groups})")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {PADDING_MODES}, not {padding_mode!r}")
        ntuple = pair if self._n == 2 else single
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = ntuple(name, "kernel_size", kernel_size, 1)
        self.stride = ntuple(name, "stride", stride, 1)
        self.dilation = ntuple(name, "dilation", dilation, 1)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"{name}: padding must be an int, a {'pair' if self._n == 2 else '1-tuple'}, "
                                 f"'valid' or 'same', not {padding!r}")
            if padding == "same" and self.stride != (1,) * self._n:
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = ntuple(name, "padding", padding, 0)
        self.padding_mode = padding_mode
        self.output_padding = (0,) * self._n
        self.weight = Parameter(empty((out_channels, in_channels // groups) + self.kernel_size, dtype=dtype,
                                      device=device))
        if bias:
            self.bias = Parameter(empty((out_channels,), dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.default_weight_and_bias_(self.weight, self.bias)

    def forward(self, input):
        if self.padding_mode == "zeros":
            return self._conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        padded = _pad_by_mode(type(self).__name__, input, self._pads(), self.padding_mode)
        return self._conv(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def _pads(self):
        """(before, after) per convolved axis, with PyTorch's split of 'same' padding
        (the extra one goes after)."""
        if self.padding == "valid":
            return ((0, 0),) * self._n
        if self.padding == "same":
            totals = [d * (k - 1) for k, d in zip(self.kernel_size, self.dilation)]
            return tuple((t // 2, t - t // 2) for t in totals)
        return tuple((p, p) for p in self.padding)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self._n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._n:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """Over (N, C, L) or (C, L) inputs; weight (out_channels, in_channels/groups, K)."""
    _n = 1

    @staticmethod
    def _conv(*args):
        return F.conv1d(*args)


class Conv2d(_ConvNd):
    """Over (N, C, H, W) or (C, H, W) inputs; weight (out_channels, in_channels/groups, KH, KW)."""
    _n = 2

    @staticmethod
    def _conv(*args):
        return F.conv2d(*args)


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


def _pad_by_mode(layer, x, pads, mode):
    """Pad the last len(pads) axes, by (before, after) each, by reading the input at
    reflected, clamped or wrapped positions; an indexing op, so the gradient flows
    back by scatter-add."""
    n = len(pads)
    if not isinstance(x, Tensor) or x.ndim not in (n + 1, n + 2):
        axes = "L" if n == 1 else "H, W"
        raise ValueError(f"{layer}: expected a (N, C, {axes}) or (C, {axes}) input, got "
                         f"{getattr(x, 'shape', type(x).__name__)}")
    sizes = x.shape[x.ndim - n:]
    if mode in ("reflect", "circular") and any(max(p) >= size + (mode == "circular")
                                               for p, size in zip(pads, sizes)):
        flat = tuple(p for axis in pads for p in axis)
        raise ValueError(f"{layer}: padding {flat} is too large for {mode} padding of a "
                         f"{'x'.join(map(str, sizes))} input")
    for axis, ((before, after), size) in enumerate(zip(pads, sizes), start=x.ndim - n):
        if not (before or after):
            continue
        positions = [_source_index(i, size, mode) for i in range(-before, size + after)]
        x = x[(slice(None),) * axis + (positions,)]
    return x
