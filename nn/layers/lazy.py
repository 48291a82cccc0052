"""Lazy layers: Linear, ConvNd, ConvTransposeNd, BatchNormNd and InstanceNormNd whose
input size (in_features, in_channels, num_features) their first input gives.

Until then a lazy layer holds UninitializedParameter and UninitializedBuffer placeholders
(see nn.parameter). Its first call (a forward pre-hook, as in PyTorch) reads the size from
the input, gives every placeholder its shape in place, turns the module into the ordinary
layer (``cls_to_become``: a LazyLinear becomes a Linear, with Linear's forward, repr and
state_dict) and initializes it as that layer's constructor does, drawing the same random
numbers from the same seed. Loading a state_dict into a lazy layer does the same with the
sizes the loaded shapes give. The placeholders are the same objects as the parameters they
become, so an optimizer built before the first call trains them as PyTorch's does.
"""
from autograd import Tensor

from ..parameter import UninitializedBuffer, UninitializedParameter, is_lazy
from .arguments import positive_int
from .conv import AXES, Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .linear import Linear
from .normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d, InstanceNorm2d,
                            InstanceNorm3d)


class LazyModuleMixin:
    """What the lazy layers share. Each names ``cls_to_become``, the attribute its input
    sets (``_size_name``) and defines ``_lazy_shapes(size)`` (the shape of each tensor that
    depends on the size), ``_size_of_input(input)`` and ``_size_from(name, shape)`` (the size
    a loaded tensor implies), and ``_check_size(size, source)``."""
    cls_to_become = None
    _size_name = ""

    def _become_lazy(self):
        """Replace each tensor that depends on the input size (made by the ordinary layer's
        constructor from a stand-in size) with a placeholder of its dtype and device, and
        initialize on the first call."""
        for name in self._lazy_shapes(0):
            old = getattr(self, name)
            kind = UninitializedParameter if name in self._parameters else UninitializedBuffer
            setattr(self, name, kind(old.requires_grad, old._backend, old.dtype))
        setattr(self, self._size_name, 0)  # PyTorch's value before the first call (in the repr too)
        self._initialize_hook = self.register_forward_pre_hook(_initialize_on_first_call, with_kwargs=True)

    def has_uninitialized_params(self):
        """Whether any parameter or buffer of this module (not its children) has no shape yet."""
        return any(is_lazy(t) for t in (*self._parameters.values(), *self._buffers.values()))

    def initialize_parameters(self, input, *args, **kwargs):
        """Take the size from ``input`` and become the ordinary layer, initialized (what the
        first call does before its forward). A bad input raises and changes nothing."""
        if not isinstance(input, Tensor):
            raise TypeError(f"{type(self).__name__}: expected a Tensor input, not {type(input).__name__}")
        size, source = self._size_of_input(input)
        self._check_size(size, source)
        self._initialize(size)

    def reset_parameters(self):
        """Nothing to initialize before the first call, which initializes as the ordinary layer."""

    def _initialize(self, size):
        setattr(self, self._size_name, size)
        for name, shape in self._lazy_shapes(size).items():
            tensor = getattr(self, name)
            if is_lazy(tensor):
                tensor.materialize(shape)
        self._initialize_hook.remove()
        del self._initialize_hook
        self.__class__ = self.cls_to_become
        self.reset_parameters()  # the ordinary layer's: the same draws as its constructor

    def _shapes_from_state(self, prefix, state_dict):
        """For load_state_dict: the shape each placeholder takes from the loaded state, by id,
        and the function that gives them (None where the state holds no value for any)."""
        given = [(name, state_dict[prefix + name]) for name in self._lazy_shapes(0)
                 if prefix + name in state_dict and not is_lazy(state_dict[prefix + name])]
        if not given or not self.has_uninitialized_params():
            return None
        for name, value in given:
            shape = getattr(value, "shape", None)
            size = None if shape is None else self._size_from(name, tuple(shape))
            if size is not None:
                self._check_size(size, f"from {prefix + name!r} of shape {tuple(shape)}")
                shapes = {id(getattr(self, n)): s for n, s in self._lazy_shapes(size).items()}
                return shapes, lambda: self._initialize(size)
        raise ValueError(f"{', '.join(repr(prefix + n) for n, _ in given)}: {type(self).__name__} has no "
                         f"{self._size_name} yet, and these values do not give it; include the values of "
                         f"{', '.join(repr(prefix + n) for n in self._lazy_shapes(0))} from the saved model, or "
                         "call the module once before loading")


def _initialize_on_first_call(module, args, kwargs):
    module.initialize_parameters(*args, **kwargs)


class LazyLinear(LazyModuleMixin, Linear):
    """A Linear layer whose in_features is the last axis of its first input."""
    cls_to_become = Linear
    _size_name = "in_features"

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        super().__init__(0, out_features, bias, device, dtype)
        self._become_lazy()

    def _lazy_shapes(self, size):
        shapes = {"weight": (self.out_features, size)}
        if self.bias is not None:
            shapes["bias"] = (self.out_features,)
        return shapes

    def _size_of_input(self, input):
        if input.ndim == 0:
            raise ValueError("LazyLinear: the input is 0-d, but its last axis gives in_features; give it shape "
                             "(..., in_features)")
        return input.shape[-1], f"the last axis of an input of shape {input.shape}"

    def _size_from(self, name, shape):
        return shape[-1] if name == "weight" and shape else None

    def _check_size(self, size, source):
        positive_int("LazyLinear", f"in_features ({source})", size, allow_zero=True)


class _LazyConvMixin(LazyModuleMixin):
    """in_channels from the channel axis of the first (N, C, *spatial) or (C, *spatial) input."""
    _size_name = "in_channels"

    def _stand_in_channels(self, out_channels, groups):
        """Check what PyTorch checks once in_channels is known, now, without it; then the
        in_channels for the ordinary constructor: the smallest it accepts."""
        name = type(self).__name__
        positive_int(name, "groups", groups)
        positive_int(name, "out_channels", out_channels)
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        return groups

    def _lazy_shapes(self, size):
        if self.transposed:
            channels = (size, self.out_channels // self.groups)
        else:
            channels = (self.out_channels, size // self.groups)
        shapes = {"weight": channels + self.kernel_size}
        if self.bias is not None:
            shapes["bias"] = (self.out_channels,)
        return shapes

    def _size_of_input(self, input):
        n = self._n
        if input.ndim not in (n + 1, n + 2):
            raise ValueError(f"{type(self).__name__}: expected a (N, C, {AXES[n]}) or (C, {AXES[n]}) input, got "
                             f"shape {input.shape}")
        axis = input.ndim - n - 1
        return input.shape[axis], f"axis {axis} of an input of shape {input.shape}"

    def _size_from(self, name, shape):
        if name != "weight" or len(shape) < 2:
            return None
        return shape[0] if self.transposed else shape[1] * self.groups

    def _check_size(self, size, source):
        name = type(self).__name__
        positive_int(name, f"in_channels ({source})", size)
        if size % self.groups:
            raise ValueError(f"{name}: in_channels ({size}, {source}) must be divisible by groups "
                             f"({self.groups})")


class _LazyConvNd(_LazyConvMixin):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        in_channels = self._stand_in_channels(out_channels, groups)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype)
        self._become_lazy()


class _LazyConvTransposeNd(_LazyConvMixin):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True,
                 dilation=1, padding_mode="zeros", device=None, dtype=None):
        in_channels = self._stand_in_channels(out_channels, groups)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, output_padding, groups, bias,
                         dilation, padding_mode, device, dtype)
        self._become_lazy()


class LazyConv1d(_LazyConvNd, Conv1d):
    """A Conv1d whose in_channels is the channel axis of its first input."""
    cls_to_become = Conv1d


class LazyConv2d(_LazyConvNd, Conv2d):
    """A Conv2d whose in_channels is the channel axis of its first input."""
    cls_to_become = Conv2d


class LazyConv3d(_LazyConvNd, Conv3d):
    """A Conv3d whose in_channels is the channel axis of its first input."""
    cls_to_become = Conv3d


class LazyConvTranspose1d(_LazyConvTransposeNd, ConvTranspose1d):
    """A ConvTranspose1d whose in_channels is the channel axis of its first input."""
    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTransposeNd, ConvTranspose2d):
    """A ConvTranspose2d whose in_channels is the channel axis of its first input."""
    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTransposeNd, ConvTranspose3d):
    """A ConvTranspose3d whose in_channels is the channel axis of its first input."""
    cls_to_become = ConvTranspose3d


class _LazyNormBase(LazyModuleMixin):
    """num_features from the channel axis of the first input. PyTorch's defaults, for
    instance norm too: affine=True, track_running_stats=True."""
    _size_name = "num_features"

    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None, dtype=None,
                 *, bias=True):
        super().__init__(1, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        self._become_lazy()

    def _lazy_shapes(self, size):
        names = ("weight", "bias", "running_mean", "running_var")
        return {name: (size,) for name in names if getattr(self, name) is not None}

    def _size_from(self, name, shape):
        return shape[0] if shape else None

    def _check_size(self, size, source):
        positive_int(type(self).__name__, f"num_features ({source})", size)


class _LazyBatchNorm(_LazyNormBase):
    def _size_of_input(self, input):
        if input.ndim not in self._dims:
            dims = " or ".join(f"{d}D" for d in self._dims)
            raise ValueError(f"{type(self).__name__}: expected {dims} input, got {input.ndim}D input of shape "
                             f"{input.shape}")
        return input.shape[1], f"axis 1 of an input of shape {input.shape}"


class _LazyInstanceNorm(_LazyNormBase):
    def _size_of_input(self, input):
        unbatched = self._spatial_axes + 1
        if input.ndim not in (unbatched, unbatched + 1):
            raise ValueError(f"{type(self).__name__}: expected {unbatched}D (unbatched) or {unbatched + 1}D input, "
                             f"got {input.ndim}D input of shape {input.shape}")
        axis = input.ndim - unbatched  # the channel axis of a batched or an unbatched input
        return input.shape[axis], f"axis {axis} of an input of shape {input.shape}"


class LazyBatchNorm1d(_LazyBatchNorm, BatchNorm1d):
    """A BatchNorm1d whose num_features is axis 1 of its first input."""
    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyBatchNorm, BatchNorm2d):
    """A BatchNorm2d whose num_features is axis 1 of its first input."""
    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyBatchNorm, BatchNorm3d):
    """A BatchNorm3d whose num_features is axis 1 of its first input."""
    cls_to_become = BatchNorm3d


class LazyInstanceNorm1d(_LazyInstanceNorm, InstanceNorm1d):
    """An InstanceNorm1d whose num_features is the channel axis of its first input."""
    cls_to_become = InstanceNorm1d


class LazyInstanceNorm2d(_LazyInstanceNorm, InstanceNorm2d):
    """An InstanceNorm2d whose num_features is the channel axis of its first input."""
    cls_to_become = InstanceNorm2d


class LazyInstanceNorm3d(_LazyInstanceNorm, InstanceNorm3d):
    """An InstanceNorm3d whose num_features is the channel axis of its first input."""
    cls_to_become = InstanceNorm3d
