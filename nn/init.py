"""nn.init: initializers with PyTorch's names and formulas. Each fills its tensor
in place (the same Parameter object, its version bumped), under no_grad, from the
random generator of the tensor's own device, which ag.manual_seed seeds."""
import math
import numbers

from autograd import Tensor, no_grad
from backends import dtypes

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_", "xavier_uniform_",
           "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"]


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (PyTorch's table)."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid")
    if nonlinearity in linear:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor):
    """fan_in = shape[1] * receptive field, fan_out = shape[0] * receptive field."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out cannot be computed for a tensor with fewer than 2 dimensions "
                         f"(shape {tensor.shape})")
    receptive = 1
    for d in tensor.shape[2:]:
        receptive *= d
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', not {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor, array):
    """Write ``array`` into ``tensor``'s storage, outside the graph."""
    with no_grad():
        tensor.copy_(Tensor._make(array, tensor._backend))
    return tensor


def _floating(name, tensor):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name}: expected a Tensor, not {type(tensor).__name__}")
    if not dtypes.is_floating(tensor.dtype):
        raise TypeError(f"{name}: needs a floating-point tensor, not {tensor.dtype}")


def uniform_(tensor, a=0.0, b=1.0):
    """Fill with values drawn uniformly from [a, b)."""
    _floating("uniform_", tensor)
    if a > b:
        raise ValueError(f"uniform_: a ({a}) must not exceed b ({b})")
    return _fill(tensor, tensor._backend.uniform(tensor.shape, float(a), float(b), tensor.dtype))


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with values drawn from N(mean, std^2)."""
    _floating("normal_", tensor)
    if std < 0:
        raise ValueError(f"normal_: std must be non-negative, got {std}")
    return _fill(tensor, tensor._backend.normal(tensor.shape, float(mean), float(std), tensor.dtype))


def constant_(tensor, val):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"constant_: expected a Tensor, not {type(tensor).__name__}")
    with no_grad():
        return tensor.fill_(val)


def zeros_(tensor):
    return constant_(tensor, 0)


def ones_(tensor):
    return constant_(tensor, 1)


def xavier_uniform_(tensor, gain=1.0):
    """Glorot: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))."""
    _floating("xavier_uniform_", tensor)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(2.0 / float(fan_in + fan_out)) * math.sqrt(3.0)
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    """Glorot: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    _floating("xavier_normal_", tensor)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)))


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """He: U(-b, b), b = gain * sqrt(3 / fan); with a=sqrt(5) this is PyTorch's
    default for Linear and Conv weights, U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    _floating("kaiming_uniform_", tensor)
    fan = _fan(tensor, mode)
    if fan == 0:
        return tensor  # PyTorch warns and leaves a zero-element tensor alone
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """He: N(0, std^2), std = gain / sqrt(fan)."""
    _floating("kaiming_normal_", tensor)
    fan = _fan(tensor, mode)
    if fan == 0:
        return tensor
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan))


def default_weight_and_bias_(weight, bias=None):
    """PyTorch's default for Linear and Conv layers: kaiming_uniform_ with a=sqrt(5)
    (uniform within 1/sqrt(fan_in)) for the weight, and the same bound for the bias."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = _calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound)
