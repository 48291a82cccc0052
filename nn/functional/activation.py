"""Activations: relu, leaky_relu, elu, gelu, sigmoid, tanh, softplus, softmax and
log_softmax, with PyTorch's arguments (``softmax`` and ``log_softmax`` take
``axis``, as every tensor op does). The numerically fragile ones (softmax,
log_softmax, softplus, gelu's erf) and leaky_relu (whose gradient must stay
connected to its input for higher derivatives) call the fused primitives of
``autograd.ops.nn_fused``; the rest are compositions of Tensor ops with no
gradient code of their own."""
import math
import numbers

from autograd.ops import nn_fused
from autograd.ops.elementwise import clip, exp, relu as _relu, sigmoid as _sigmoid
from autograd.ops.elementwise import tanh as _tanh, where
from autograd.ops.shape import reshape

from .arguments import floating
from .inplace import overwrite


def relu(input, inplace=False):
    """max(x, 0). With ``inplace=True`` the result overwrites ``input``, which is
    returned (no output buffer; backward keeps only a one-byte mask), wherever the graph
    allows it. Where PyTorch would rewire the graph instead (``input`` is a view, as
    after Flatten, or its op kept it for backward, as max pooling does), the result
    is a new tensor with the same values and gradients. ``Tensor.relu_`` refuses there."""
    floating("relu", input)
    if inplace and input._graph_allows_overwrite():
        return input.relu_()
    return _relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, else negative_slope * x (the gradient at 0 is negative_slope, as PyTorch's).
    ``inplace=True`` writes the result over ``input`` (see ``overwrite``)."""
    floating("leaky_relu", input)
    if inplace:
        return overwrite("leaky_relu_", input, lambda x: leaky_relu(x, negative_slope))
    return nn_fused.leaky_relu(input, negative_slope)


def elu(input, alpha=1.0, inplace=False):
    """x where x > 0, else alpha * (exp(x) - 1); exp only sees x <= 0, so it never overflows.
    ``inplace=True`` writes the result over ``input`` (see ``overwrite``)."""
    floating("elu", input)
    if inplace:
        return overwrite("elu_", input, lambda x: elu(x, alpha))
    return _relu(input) + (exp(clip(input, max=0.0)) - 1) * alpha


_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def gelu(input, approximate="none"):
    """x * Phi(x), Phi the standard normal CDF through erf (exact, the default), or
    PyTorch's tanh approximation with ``approximate='tanh'``."""
    floating("gelu", input)
    if approximate == "none":
        return input * (nn_fused.erf(input * _SQRT_HALF) + 1) * 0.5
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * _SQRT_2_OVER_PI
        return input * (_tanh(inner) + 1) * 0.5
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', not {approximate!r}")


def sigmoid(input):
    return _sigmoid(floating("sigmoid", input))


def tanh(input):
    return _tanh(floating("tanh", input))


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, computed stably; linear where beta x > threshold, as PyTorch's."""
    floating("softplus", input)
    if beta == 1:
        scaled = input
        smooth = nn_fused.softplus(input)
    else:
        scaled = input * beta
        smooth = nn_fused.softplus(scaled) / beta
    return where(scaled > threshold, input, smooth)


def _axis(op, x, axis):
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{op}: axis must be an int, not {type(axis).__name__}")
    n = max(x.ndim, 1)
    if not -n <= axis < n:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor with {x.ndim} dimensions")
    return int(axis) % n


def softmax(input, axis=-1, dtype=None):
    """exp(x) / sum(exp(x)) along ``axis``, shifted by the max so it never overflows."""
    return _normalized_along(nn_fused.softmax, "softmax", input, axis, dtype)


def log_softmax(input, axis=-1, dtype=None):
    """x - logsumexp(x) along ``axis``, computed stably."""
    return _normalized_along(nn_fused.log_softmax, "log_softmax", input, axis, dtype)


def _normalized_along(fused, op, input, axis, dtype):
    """The checks and casts softmax and log_softmax share; a 0-d input is one class."""
    floating(op, input)
    if dtype is not None:
        input = input.astype(dtype)
    if input.ndim == 0:
        return fused(reshape(input, (1,)), 0).reshape(())
    return fused(input, _axis(op, input, axis))
