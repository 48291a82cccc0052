"""Pooling layers: MaxPool1d/2d/3d, AvgPool1d/2d/3d, AdaptiveAvgPool1d/2d/3d,
AdaptiveMaxPool1d/2d/3d, MaxUnpool1d/2d/3d, max pooling's partial inverse,
LPPool1d/2d/3d, the p-norm of each window, and FractionalMaxPool2d/3d, max pooling
over pseudo-randomly placed regions."""
from autograd import Tensor

from .. import functional as F
from ..functional.arguments import pair, single, triple
from ..functional.fractional_pooling import output_ratios
from ..module import Module


class _MaxPoolNd(Module):
    """What MaxPool1d, MaxPool2d and MaxPool3d share: PyTorch's arguments, stored as given, and
    checked at construction rather than at the first call."""
    _check = None  # single, pair or triple, per argument
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


class MaxPool3d(_MaxPoolNd):
    """Over (N, C, D, H, W) or (C, D, H, W) inputs."""
    _check, _pool = triple, F.max_pool3d


class _AvgPoolNd(Module):
    """What AvgPool2d and AvgPool3d share: PyTorch's arguments, stored as given, and
    checked at construction."""
    _check = None  # pair or triple
    _pool = None   # the functional form

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override
        name, check = type(self).__name__, type(self)._check
        check(name, "kernel_size", kernel_size, 1)
        check(name, "stride", self.stride, 1)
        check(name, "padding", padding, 0)

    def forward(self, input):
        return type(self)._pool(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(_AvgPoolNd):
    _check, _pool = pair, F.avg_pool2d


class AvgPool3d(_AvgPoolNd):
    """Over (N, C, D, H, W) or (C, D, H, W) inputs."""
    _check, _pool = triple, F.avg_pool3d


class AdaptiveAvgPool2d(Module):
    """Averages into an ``output_size`` grid whatever the input size (None keeps that axis)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool3d(Module):
    """Averages (N, C, D, H, W) or (C, D, H, W) into an ``output_size`` box whatever the
    input size (None keeps that axis)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return F.adaptive_avg_pool3d(input, self.output_size)

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


class _AdaptiveMaxPoolNd(Module):
    """Max-pools into an ``output_size`` grid whatever the input size (None keeps that
    axis); with ``return_indices``, also gives each maximum's flat index in its plane."""
    _pool = None  # the functional form

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input):
        return type(self)._pool(input, self.output_size, self.return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    _pool = F.adaptive_max_pool2d


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Over (N, C, L) or (C, L) inputs."""
    _pool = F.adaptive_max_pool1d


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """Over (N, C, D, H, W) or (C, D, H, W) inputs."""
    _pool = F.adaptive_max_pool3d


class _MaxUnpoolNd(Module):
    """What MaxUnpool1d/2d/3d share: kernel_size, stride (kernel_size by
    default) and padding kept as PyTorch keeps them (1-tuples, pairs or triples), checked at
    construction; ``forward(input, indices, output_size=None)``."""
    _check = None  # single, pair or triple
    _unpool = None  # the functional form

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        name, check = type(self).__name__, type(self)._check
        self.kernel_size = check(name, "kernel_size", kernel_size, 1)
        self.stride = check(name, "stride", stride, 1) if stride is not None else self.kernel_size
        self.padding = check(name, "padding", padding, 0)

    def forward(self, input, indices, output_size=None):
        return type(self)._unpool(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool2d(_MaxUnpoolNd):
    _check, _unpool = pair, F.max_unpool2d


class MaxUnpool1d(_MaxUnpoolNd):
    """Over (N, C, L) or (C, L) inputs."""
    _check, _unpool = single, F.max_unpool1d


class MaxUnpool3d(_MaxUnpoolNd):
    """Over (N, C, D, H, W) or (C, D, H, W) inputs."""
    _check, _unpool = triple, F.max_unpool3d


class _LPPoolNd(Module):
    """What LPPool1d/2d/3d share: PyTorch's arguments (norm_type, kernel_size, stride,
    ceil_mode), stored as given and checked at construction."""
    _check = None  # single, pair or triple
    _pool = None   # the functional form

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type, self.kernel_size, self.stride, self.ceil_mode = norm_type, kernel_size, stride, ceil_mode
        name, check = type(self).__name__, type(self)._check
        check(name, "kernel_size", kernel_size, 1)
        if stride is not None:
            check(name, "stride", stride, 1)

    def forward(self, input):
        return type(self)._pool(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    """Over (N, C, L) or (C, L) inputs."""
    _check, _pool = single, F.lp_pool1d


class LPPool2d(_LPPoolNd):
    _check, _pool = pair, F.lp_pool2d


class LPPool3d(_LPPoolNd):
    """Over (N, C, D, H, W) or (C, D, H, W) inputs."""
    _check, _pool = triple, F.lp_pool3d


class _FractionalMaxPoolNd(Module):
    """What FractionalMaxPool2d and FractionalMaxPool3d share: PyTorch's arguments,
    kept as PyTorch keeps them (kernel_size, output_size and output_ratio as pairs or
    triples) and checked at construction; exactly one of output_size and output_ratio
    (in (0, 1)) is given. ``_random_samples``, if given, is a buffer (in state_dict, as
    PyTorch's) that places the regions on every call; else each call draws its own."""
    _check = None  # pair or triple
    _pool = None   # the functional form

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                 _random_samples=None):
        super().__init__()
        name, check = type(self).__name__, type(self)._check
        if (output_size is None) == (output_ratio is None):
            raise ValueError(f"{name}: give exactly one of output_size and output_ratio, got "
                             f"output_size={output_size!r} and output_ratio={output_ratio!r}")
        if _random_samples is not None and not isinstance(_random_samples, Tensor):
            raise TypeError(f"{name}: _random_samples must be a Tensor or None, not {type(_random_samples).__name__}")
        self.kernel_size = check(name, "kernel_size", kernel_size, 1)
        self.output_size = None if output_size is None else check(name, "output_size", output_size, 0)
        axes = len(self.kernel_size)
        self.output_ratio = None if output_ratio is None else output_ratios(name, axes, output_ratio)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)

    def forward(self, input):
        return type(self)._pool(input, self.kernel_size, self.output_size, self.output_ratio, self.return_indices,
                                _random_samples=self._random_samples)


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """Over (N, C, H, W) or (C, H, W) inputs."""
    _check, _pool = pair, F.fractional_max_pool2d


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """Over (N, C, D, H, W) or (C, D, H, W) inputs."""
    _check, _pool = triple, F.fractional_max_pool3d
