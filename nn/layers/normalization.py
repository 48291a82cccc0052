"""BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d, GroupNorm, LayerNorm, RMSNorm and
LocalResponseNorm, with PyTorch's parameters, buffers and running-statistics rules."""
import numbers
import warnings

from autograd import Tensor, ones, tensor, zeros
from autograd.ops.shape import reshape
from backends import dtypes

from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter
from .arguments import channels_last_hint, positive_int


def _register_affine(module, shape, affine, bias, dtype, device):
    """The elementwise scale (``weight``, ones) and shift (``bias``, zeros) of ``shape``,
    each registered as None where left out, as PyTorch registers them."""
    module.register_parameter("weight", Parameter(ones(shape, dtype=dtype, device=device)) if affine else None)
    module.register_parameter("bias", Parameter(zeros(shape, dtype=dtype, device=device)) if affine and bias
                              else None)


def _reset_affine(module):
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class _NormBase(Module):
    """Per-channel learnable scale (weight) and shift (bias) when ``affine``, and the
    running_mean/running_var/num_batches_tracked buffers when ``track_running_stats``:
    what batch and instance normalization share."""
    _optional_state = ("num_batches_tracked",)  # older checkpoints lack it; PyTorch loads them too

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        super().__init__()
        name = type(self).__name__
        num_features = positive_int(name, "num_features", num_features)
        if momentum is not None and not (isinstance(momentum, numbers.Real) and 0 <= momentum <= 1):
            raise ValueError(f"{name}: momentum must lie in [0, 1] or be None, got {momentum!r}")
        if not eps > 0:
            raise ValueError(f"{name}: eps must be positive, got {eps!r}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        _register_affine(self, (num_features,), affine, bias, dtype, device)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype, device=device))
            self.register_buffer("running_var", ones(num_features, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=dtypes.int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            self.num_batches_tracked.fill_(0)

    def reset_parameters(self):
        self.reset_running_stats()
        _reset_affine(self)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    """Per-channel normalization with learnable scale (weight) and shift (bias).

    In training it uses the batch's statistics and, when track_running_stats,
    updates running_mean/running_var (unbiased) by ``momentum`` (or, with
    momentum=None, by a cumulative average over num_batches_tracked); in eval it
    uses those running statistics.
    """
    _dims = ()

    def forward(self, input):
        if not isinstance(input, Tensor):
            raise TypeError(f"{type(self).__name__}: expected a Tensor, not {type(input).__name__}")
        if input.ndim not in self._dims:
            dims = " or ".join(f"{d}D" for d in self._dims)
            # One sample, (C, H, W), where BatchNorm2d needs (N, C, H, W); PyTorch's takes no unbatched input either
            one_sample = (input.ndim == self._dims[0] - 1 and input.ndim and input.shape[0] == self.num_features)
            raise ValueError(f"{type(self).__name__}: expected {dims} input, got {input.ndim}D input "
                             f"of shape {input.shape}"
                             + ("; for one sample, add the batch axis with x.expand_dims(0)" if one_sample else ""))
        if input.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}: expected {self.num_features} channels (axis 1), got input "
                             f"of shape {input.shape}" + channels_last_hint(input.shape, self.num_features, 1))
        factor = 0.0 if self.momentum is None else self.momentum
        counting = self.training and self.track_running_stats
        if counting and self.momentum is None:  # a cumulative moving average, this batch included
            factor = 1.0 / (int(self.num_batches_tracked.item()) + 1)
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        out = F.batch_norm(input, self.running_mean if track else None, self.running_var if track else None,
                           self.weight, self.bias, use_batch_stats, factor, self.eps)
        if counting:  # once batch_norm accepted the batch: a refused one changes nothing
            self.num_batches_tracked.add_(1)
        return out


class BatchNorm1d(_BatchNorm):
    """Over (N, C) or (N, C, L) inputs."""
    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Over (N, C, H, W) inputs."""
    _dims = (4,)


class BatchNorm3d(_BatchNorm):
    """Over (N, C, D, H, W) inputs."""
    _dims = (5,)


class _InstanceNorm(_NormBase):
    """Per-sample, per-channel normalization over the spatial axes; PyTorch's defaults
    (affine=False, track_running_stats=False) and rules: with track_running_stats it
    updates the running statistics in training (momentum=None counts as 0, and
    num_batches_tracked stays 0, as in PyTorch) and normalizes by them in eval."""
    _spatial_axes = 0

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False,
                 device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def forward(self, input):
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor, not {type(input).__name__}")
        unbatched = self._spatial_axes + 1  # (C, *spatial)
        if input.ndim not in (unbatched, unbatched + 1):
            raise ValueError(f"{name}: expected {unbatched}D (unbatched) or {unbatched + 1}D input, got "
                             f"{input.ndim}D input of shape {input.shape}")
        channel_axis = input.ndim - unbatched
        if input.shape[channel_axis] != self.num_features:
            if self.affine or self.track_running_stats:
                raise ValueError(f"{name}: expected {self.num_features} channels (axis {channel_axis}), got "
                                 f"input of shape {input.shape}")
            warnings.warn(f"{name}: the input's {input.shape[channel_axis]} channels (axis {channel_axis}) do "
                          f"not match num_features={self.num_features}, which is unused as affine=False and "
                          f"track_running_stats=False", stacklevel=2)
        x = reshape(input, (1,) + input.shape) if channel_axis == 0 else input
        out = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                              self.training or not self.track_running_stats,
                              0.0 if self.momentum is None else self.momentum, self.eps)
        return reshape(out, input.shape) if channel_axis == 0 else out


class InstanceNorm1d(_InstanceNorm):
    """Over (N, C, L) or (C, L) inputs."""
    _spatial_axes = 1


class InstanceNorm2d(_InstanceNorm):
    """Over (N, C, H, W) or (C, H, W) inputs."""
    _spatial_axes = 2


class InstanceNorm3d(_InstanceNorm):
    """Over (N, C, D, H, W) or (C, D, H, W) inputs."""
    _spatial_axes = 3


class GroupNorm(Module):
    """Normalizes each sample over groups of num_channels / num_groups channels, with
    a per-channel scale and shift (ones and zeros at first) when ``affine``."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        num_groups = positive_int("GroupNorm", "num_groups", num_groups)
        num_channels = positive_int("GroupNorm", "num_channels", num_channels)
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        _register_affine(self, (num_channels,), affine, bias, dtype, device)

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, input):
        if isinstance(input, Tensor) and input.ndim >= 2 and input.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm: expected {self.num_channels} channels (axis 1), got input of shape "
                             f"{input.shape}")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


def _normalized_shape(layer, normalized_shape):
    """An int or a sequence of positive ints, as a tuple."""
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (normalized_shape,)
    elif not hasattr(normalized_shape, "__iter__"):  # a float such as d_model / 2: named below
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    if not normalized_shape or any(isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1
                                   for d in normalized_shape):
        raise ValueError(f"{layer}: normalized_shape must be positive ints, got {normalized_shape!r}")
    return tuple(int(d) for d in normalized_shape)


class LayerNorm(Module):
    """Normalizes over the trailing ``normalized_shape`` axes of each sample, with an
    elementwise scale and shift (ones and zeros at first)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _normalized_shape("LayerNorm", normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        _register_affine(self, self.normalized_shape, elementwise_affine, bias, dtype, device)

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class RMSNorm(Module):
    """Divides by the root mean square over the trailing ``normalized_shape`` axes of
    each sample, then scales elementwise by ``weight`` (ones at first) when
    ``elementwise_affine``. eps=None means the machine epsilon of the computation's
    dtype, as in PyTorch."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _normalized_shape("RMSNorm", normalized_shape)
        if eps is not None and not eps >= 0:
            raise ValueError(f"RMSNorm: eps must be non-negative or None, got {eps!r}")
        self.eps, self.elementwise_affine = eps, elementwise_affine
        # a scale only: PyTorch's RMSNorm has no bias attribute at all
        self.register_parameter("weight", Parameter(ones(self.normalized_shape, dtype=dtype, device=device))
                                if elementwise_affine else None)

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, input):
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class LocalResponseNorm(Module):
    """Divides each value of (N, C, ...) by (k + alpha * mean of the squares over
    ``size`` neighbouring channels) ** beta, as in AlexNet (see
    nn.functional.local_response_norm). No parameters."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size = positive_int("LocalResponseNorm", "size", size)
        self.alpha, self.beta, self.k = alpha, beta, k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
