"""Conv1d, Conv2d and Conv3d: im2col plus one GEMM per call (Conv1d and Conv3d through
conv2d's kernel), with groups, dilation and padding modes; ConvTranspose1d/2d/3d, their
transposes (conv2d's input gradient run forward), with output_padding and output_size."""
import numbers

from autograd import Tensor, empty

from .. import functional as F
from .. import init
from ..functional.arguments import pair, single, triple
from ..module import Module
from ..parameter import Parameter
from .arguments import channels_last_hint, positive_int

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
TUPLES = {1: single, 2: pair, 3: triple}  # the argument check for each number of convolved axes
AXES = {1: "L", 2: "H, W", 3: "D, H, W"}


class _ConvNd(Module):
    """A convolution over the last ``_n`` axes: weight (out_channels, in_channels/groups,
    *kernel_size), bias (out_channels,), initialized as PyTorch does (U(+-1/sqrt(fan_in)),
    fan_in = in/groups * prod(kernel_size)). Subclasses name ``_n`` and ``_conv``."""
    _n = 0
    transposed = False

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
        ntuple = TUPLES[self._n]
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = ntuple(name, "kernel_size", kernel_size, 1)
        self.stride = ntuple(name, "stride", stride, 1)
        self.dilation = ntuple(name, "dilation", dilation, 1)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"{name}: padding must be an int, a {('1-tuple', 'pair', 'triple')[self._n - 1]}, "
                                 f"'valid' or 'same', not {padding!r}")
            if padding == "same" and self.stride != (1,) * self._n:
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = ntuple(name, "padding", padding, 0)
        self.padding_mode = padding_mode
        self.output_padding = (0,) * self._n
        # PyTorch's layouts: (out, in/groups, *kernel), and for a transposed convolution
        # (in, out/groups, *kernel), the weight of the convolution it transposes
        if self.transposed:
            channels = (in_channels, out_channels // groups)
        else:
            channels = (out_channels, in_channels // groups)
        self.weight = Parameter(empty(channels + self.kernel_size, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(empty((out_channels,), dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.default_weight_and_bias_(self.weight, self.bias)

    def forward(self, input):
        try:
            if self.padding_mode == "zeros":
                return self._conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                                  self.groups)
            padded = _pad_by_mode(type(self).__name__, input, self._pads(), self.padding_mode)
            return self._conv(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        except ValueError:  # checked only on failure, so a call that fits pays nothing
            self._refuse_input_of_another_width(input)
            raise

    def _refuse_input_of_another_width(self, input):
        """Name this layer when the input's channel count does not fit it (F.conv2d's message
        names only the op and the weight's shape), and say how to fix channels-last images."""
        n = self._n
        if not isinstance(input, Tensor) or input.ndim not in (n + 1, n + 2):
            return
        axis = input.ndim - n - 1  # 1 for a batch, 0 for one unbatched sample
        # The weight in use (functional_call may give another): PyTorch's layouts, above
        in_channels = self.weight.shape[0] if self.transposed else self.weight.shape[1] * self.groups
        if input.shape[axis] == in_channels:
            return
        layout = f"({'N, ' if axis else ''}C, {AXES[n]})"
        raise ValueError(f"{type(self).__name__}({self.extra_repr()}): the input has {input.shape[axis]} channels "
                         f"but the weight {self.weight.shape} expects {in_channels} (axis {axis} of the "
                         f"{layout} input of shape {input.shape})"
                         + channels_last_hint(input.shape, in_channels, axis)) from None

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
        if self.output_padding != (0,) * self._n:
            s += f", output_padding={self.output_padding}"
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


class Conv3d(_ConvNd):
    """Over (N, C, D, H, W) or (C, D, H, W) inputs; weight (out_channels, in_channels/groups, KD, KH, KW)."""
    _n = 3

    @staticmethod
    def _conv(*args):
        return F.conv3d(*args)


class _ConvTransposeNd(_ConvNd):
    """A transposed convolution: weight (in_channels, out_channels/groups, *kernel_size),
    initialized as PyTorch does (fan_in from that shape: out/groups * prod(kernel_size)).
    Only 'zeros' padding, as in PyTorch. An output_padding that is not smaller than the
    stride or the dilation is refused here, where PyTorch waits for the first call."""
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        name = type(self).__name__
        if padding_mode != "zeros":
            raise ValueError(f'{name}: only "zeros" padding mode is supported for {name}, not {padding_mode!r}')
        ntuple = TUPLES[self._n]
        padding = ntuple(name, "padding", padding, 0)  # 'same' and 'valid' are for convolutions only
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype)
        self.output_padding = ntuple(name, "output_padding", output_padding, 0)
        if any(q >= s and q >= d for q, s, d in zip(self.output_padding, self.stride, self.dilation)):
            raise ValueError(f"{name}: output_padding {self.output_padding} must be smaller than either stride "
                             f"{self.stride} or dilation {self.dilation} along each axis; lower it, or pass "
                             "output_size= to forward")

    def forward(self, input, output_size=None):
        if self.padding_mode != "zeros":
            name = type(self).__name__
            raise ValueError(f'{name}: only "zeros" padding mode is supported for {name}, not '
                             f"{self.padding_mode!r}")
        output_padding = self.output_padding if output_size is None else self._output_padding(input, output_size)
        try:
            return self._conv(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                              self.groups, self.dilation)
        except ValueError:
            self._refuse_input_of_another_width(input)
            raise

    def _output_padding(self, input, output_size):
        """The output_padding that makes the output ``output_size`` (the convolved axes'
        sizes, optionally after the batch and channel sizes), as PyTorch's layer does."""
        name, n = type(self).__name__, self._n
        axes = AXES[n]
        if not isinstance(input, Tensor) or input.ndim not in (n + 1, n + 2):
            raise ValueError(f"{name}: expected a (N, C, {axes}) or (C, {axes}) input, got "
                             f"{getattr(input, 'shape', type(input).__name__)}")
        if isinstance(output_size, (str, bytes)) or not hasattr(output_size, "__len__"):
            raise TypeError(f"{name}: output_size must be a sequence of ints, not {output_size!r}")
        sizes = tuple(output_size)
        lead = input.ndim - n
        if len(sizes) == lead + n:
            sizes = sizes[lead:]
        if len(sizes) != n:
            raise ValueError(f"{name}: for a {input.ndim}-D input, output_size must have {n} or {lead + n} "
                             f"elements, got {len(tuple(output_size))}")
        if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in sizes):
            raise TypeError(f"{name}: output_size must be a sequence of ints, not {output_size!r}")
        spatial = input.shape[lead:]
        smallest = [(size - 1) * s - 2 * p + d * (k - 1) + 1 for size, s, p, d, k in
                    zip(spatial, self.stride, self.padding, self.dilation, self.kernel_size)]
        largest = [m + s - 1 for m, s in zip(smallest, self.stride)]
        if not all(lo <= int(v) <= hi for v, lo, hi in zip(sizes, smallest, largest)):
            raise ValueError(f"{name}: requested an output size of {tuple(int(v) for v in sizes)}, but valid "
                             f"sizes range from {tuple(smallest)} to {tuple(largest)} (for an input of {spatial})")
        return tuple(int(v) - m for v, m in zip(sizes, smallest))


class ConvTranspose1d(_ConvTransposeNd):
    """Over (N, C, L) or (C, L) inputs; weight (in_channels, out_channels/groups, K)."""
    _n = 1

    @staticmethod
    def _conv(*args):
        return F.conv_transpose1d(*args)


class ConvTranspose2d(_ConvTransposeNd):
    """Over (N, C, H, W) or (C, H, W) inputs; weight (in_channels, out_channels/groups, KH, KW)."""
    _n = 2

    @staticmethod
    def _conv(*args):
        return F.conv_transpose2d(*args)


class ConvTranspose3d(_ConvTransposeNd):
    """Over (N, C, D, H, W) or (C, D, H, W) inputs; weight (in_channels, out_channels/groups, KD, KH, KW)."""
    _n = 3

    @staticmethod
    def _conv(*args):
        return F.conv_transpose3d(*args)


def _pad_by_mode(layer, x, pads, mode):
    """Pad the last len(pads) axes, by (before, after) each, in ``mode`` (F.pad's)."""
    n = len(pads)
    if not isinstance(x, Tensor) or x.ndim not in (n + 1, n + 2):
        axes = AXES[n]
        raise ValueError(f"{layer}: expected a (N, C, {axes}) or (C, {axes}) input, got "
                         f"{getattr(x, 'shape', type(x).__name__)}")
    return F.pad(x, tuple(p for axis in reversed(pads) for p in axis), mode)
