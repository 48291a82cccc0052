"""Pooling layers: MaxPool1d/2d, AvgPool1d/2d and AdaptiveAvgPool1d/2d."""
from .. import functional as F
from ..functional.arguments import pair, single
from ..module import Module


class _MaxPoolNd(Module):
    """What MaxPool1d and MaxPool2d share: PyTorch's arguments, stored as given, and
    checked at construction rather than at the first call."""
    _check = None  # single or pair, per argument
    _pool = None   # the functional form

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode
        name = type(self).__name__
        for argument, value, least in (("kernel_size", kernel_size, 1), ("stride", self.stride, 1),
                                       ("padding", padding, 0), ("dilation", dilation, 1)):
            type(self)._check(name, argument, value, least)

    def forward(self, input):
        return type(self)._pool(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                                self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool2d(_MaxPoolNd):
    _check, _pool = pair, F.max_pool2d


class AvgPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override
        pair("AvgPool2d", "kernel_size", kernel_size, 1)
        pair("AvgPool2d", "stride", self.stride, 1)
        pair("AvgPool2d", "padding", padding, 0)

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Averages into an ``output_size`` grid whatever the input size (None keeps that axis)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class MaxPool1d(_MaxPoolNd):
    """Over (N, C, L) or (C, L) inputs."""
    _check, _pool = single, F.max_pool1d


class AvgPool1d(Module):
    """Over (N, C, L) or (C, L) inputs; kernel_size, stride and padding are kept as
    1-tuples, as PyTorch keeps them."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        self.kernel_size = single("AvgPool1d", "kernel_size", kernel_size, 1)
        self.stride = single("AvgPool1d", "stride", stride, 1) if stride is not None else self.kernel_size
        self.padding = single("AvgPool1d", "padding", padding, 0)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool1d(Module):
    """Averages (N, C, L) or (C, L) into ``output_size`` bins whatever L is."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return F.adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"
