"""Activations, with PyTorch's names and arguments (``softmax``, ``log_softmax``,
``softmin`` and ``glu`` take ``axis``, as every tensor op does): relu, relu6,
leaky_relu, rrelu, prelu, elu, selu, celu, gelu, silu, mish, sigmoid, hardsigmoid,
logsigmoid, tanh, hardtanh, hardswish, softplus, softsign, tanhshrink, hardshrink,
softshrink, threshold, glu, softmax, softmin and log_softmax; and PyTorch's
functional in-place ones, relu_, leaky_relu_, rrelu_, hardtanh_, elu_, selu_, celu_
and threshold_, which always write into their input.

The numerically fragile ones (softmax, log_softmax, softplus and what is built on
it, gelu's erfc, the ELU family's expm1, hardswish's gradient at NaN) and the
piecewise-linear ones (leaky_relu, hardtanh and the hard activations built on it,
threshold, the shrinks, prelu: their gradients must stay connected to their input for
higher derivatives, and stop at their kinks where PyTorch's do) call the fused
primitives of ``autograd.ops.nn_fused``; the rest are compositions of Tensor ops
with no gradient code of their own. rrelu's random slopes come from the backend's
seeded generator and enter as a constant factor, as dropout's mask does."""
import math
import numbers
import warnings

from autograd.autocast_mode import autocast_op
from autograd.ops import nn_fused
from autograd.ops.elementwise import abs as _abs, constant, relu as _relu, sigmoid as _sigmoid, sign as _sign
from autograd.ops.elementwise import in_float32, tanh as _tanh, where
from autograd.ops.shape import reshape, split
from autograd.user_code import user_stacklevel
from backends import dtypes

from .arguments import floating, real_number, require_tensor, same_dtype
from .inplace import in_place, overwrite


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
    negative_slope = real_number("leaky_relu", "negative_slope", negative_slope)
    if inplace:
        return overwrite("leaky_relu_", input, lambda x: leaky_relu(x, negative_slope))
    return nn_fused.leaky_relu(input, negative_slope)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """The randomized leaky ReLU (Xu et al. 2015), as PyTorch's: in training, x where
    x > 0, else x times a slope drawn from U(lower, upper) per element (from the
    backend's seeded generator; the gradient there is that slope); otherwise the
    leaky ReLU with the mean slope (lower + upper) / 2. ``inplace=True`` writes the
    result over ``input`` (see ``overwrite``)."""
    op = "rrelu"
    floating(op, input)
    lower, upper = real_number(op, "lower", lower), real_number(op, "upper", upper)
    if lower > upper:
        raise ValueError(f"{op}: lower must be at most upper, got lower={lower} > upper={upper}")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    if inplace:
        return overwrite("rrelu_", input, lambda x: _random_slopes(x, lower, upper))
    return _random_slopes(input, lower, upper)


def _random_slopes(x, lower, upper):
    """x where x > 0, else x times a slope from U(lower, upper), one per element; the
    slopes (1 where x > 0) enter as a constant factor, so the gradient is the slope.
    Where x is 0 the slope is drawn too, as PyTorch's kernel does (x <= 0)."""
    backend = x._backend
    xp = backend.xp
    slopes = backend.uniform(x.shape, lower, upper, x.dtype)
    return x * constant(xp.where(x.data <= 0, slopes, xp.ones_like(slopes)), x)


@autocast_op("prelu")
def prelu(input, weight):
    """x where x > 0, else weight * x, with ``weight`` one value or one per channel
    (axis 1), as PyTorch's; the gradient at 0 is the weight's, and the weight's there is 0."""
    floating("prelu", input)
    require_tensor("prelu", weight, "weight")
    same_dtype("prelu", input, weight, "weight")
    if weight.ndim > 1:
        raise ValueError(f"prelu: expected the weight to be a scalar or 1-D tensor, got shape {weight.shape}")
    if weight.size != 1:
        if input.ndim == 0:
            raise ValueError(f"prelu: a 0-d input takes a weight of one value, got {weight.size}")
        channels = input.shape[1] if input.ndim > 1 else 1
        if weight.size != channels:
            raise ValueError(f"prelu: the weight has {weight.size} values but the input of shape {input.shape} has "
                             f"{channels} channels (axis 1); give one value or one per channel")
    if weight.ndim != input.ndim:  # along axis 1, or a scalar for every element
        weight = reshape(weight, tuple(weight.size if i == 1 else 1 for i in range(input.ndim)))
    # One test, x > 0, splits x for the value and both gradients, as PyTorch's: at 0 and at NaN
    # x's gradient is the weight and the weight's is x; at +inf the weight's is 0, not 0 * inf
    return nn_fused.sign_part(input, True) + weight * nn_fused.sign_part(input, False)


def relu6(input, inplace=False):
    """min(max(x, 0), 6); the gradient is 0 at 0 and 6, as PyTorch's."""
    floating("relu6", input)
    if inplace:
        return overwrite("relu6_", input, relu6)
    return nn_fused.hardtanh(input, 0.0, 6.0)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """x clipped to [min_val, max_val]; the gradient is 0 at the bounds, as PyTorch's."""
    floating("hardtanh", input)
    min_val, max_val = real_number("hardtanh", "min_val", min_val), real_number("hardtanh", "max_val", max_val)
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, got {min_val} > {max_val}")
    if inplace:
        return overwrite("hardtanh_", input, lambda x: hardtanh(x, min_val, max_val))
    return nn_fused.hardtanh(input, min_val, max_val)


def elu(input, alpha=1.0, inplace=False):
    """x where x > 0, else alpha * expm1(x) (accurate near 0; it never overflows).
    ``inplace=True`` writes the result over ``input`` (see ``overwrite``)."""
    floating("elu", input)
    alpha = real_number("elu", "alpha", alpha)
    if inplace:
        return overwrite("elu_", input, lambda x: elu(x, alpha))
    return nn_fused.elu(input, alpha)


# Klambauer et al. 2017, to PyTorch's digits
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    """scale * elu(x, alpha) with the self-normalizing constants."""
    floating("selu", input)
    if inplace:
        return overwrite("selu_", input, selu)
    return nn_fused.elu(input, _SELU_ALPHA, _SELU_SCALE)


def celu(input, alpha=1.0, inplace=False):
    """x where x > 0, else alpha * expm1(x / alpha)."""
    floating("celu", input)
    alpha = real_number("celu", "alpha", alpha)
    if alpha == 0:
        raise ValueError("celu: alpha cannot be 0, as x is divided by it; give a nonzero alpha")
    if inplace:
        return overwrite("celu_", input, lambda x: celu(x, alpha))
    return nn_fused.elu(input, alpha, 1.0, 1.0 / alpha)


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def gelu(input, approximate="none"):
    """x * Phi(x), Phi the standard normal CDF through erfc (exact, the default), or
    PyTorch's tanh approximation with ``approximate='tanh'``. float16 is computed in
    float32 and rounded once, as PyTorch does: the tanh form's x^3 overflows float16
    from |x| = 41, and x^2 from 256, which made the gradient inf * 0 = NaN there.
    Phi(x) is erfc(-x / sqrt(2)) / 2, not PyTorch's (1 + erf(x / sqrt(2))) / 2, which
    cancels for x << 0 (its slope is 1.6e-12 off at x = -5 and 1% at x = -10). float16's tanh
    form is x * sigmoid(2 inner), the same function, whose float32 value rounds to float16's
    nearest: 1 + tanh cancels where tanh nears -1 (near x = -5.4 the value was 2.8 units off and
    the slope 42; PyTorch's, which keeps that form, 2.5 and 30)."""
    floating("gelu", input)
    if input.dtype == dtypes.float16:
        if approximate == "tanh":
            return in_float32(_tanh_gelu_through_sigmoid, input)
        return in_float32(lambda wide: gelu(wide, approximate), input)
    if approximate == "none":
        return nn_fused.gelu(input)  # (input * (erfc(input * -sqrt(1/2)) * 0.5), as one op)
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * _SQRT_2_OVER_PI
        return input * (_tanh(inner) + 1) * 0.5
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', not {approximate!r}")


def _tanh_gelu_through_sigmoid(x):
    return x * _sigmoid((x + x * x * x * 0.044715) * (2 * _SQRT_2_OVER_PI))  # (1 + tanh(u)) / 2 = sigmoid(2u)


def silu(input, inplace=False):
    """x * sigmoid(x) (the swish)."""
    floating("silu", input)
    if inplace:
        return overwrite("silu_", input, silu)
    if input.dtype == dtypes.float16:  # gy * x in the product rule overflowed: NaN from x = 20000
        return in_float32(silu, input)
    return input * _sigmoid(input)


def mish(input, inplace=False):
    """x * tanh(softplus(x)), with the overflow-free softplus."""
    floating("mish", input)
    if inplace:
        return overwrite("mish_", input, mish)
    if input.dtype == dtypes.float16:  # as silu's gradient, NaN from x = 20000
        return in_float32(mish, input)
    return input * _tanh(nn_fused.softplus(input))


def sigmoid(input):
    return _sigmoid(floating("sigmoid", input))


def hardsigmoid(input, inplace=False):
    """min(max(x + 3, 0), 6) / 6, computed as (clip(x, -3, 3) + 3) / 6 (the same values)
    by an op whose gradient is 0 at -3, at 3 and at NaN, as PyTorch's."""
    floating("hardsigmoid", input)
    if inplace:
        return overwrite("hardsigmoid_", input, hardsigmoid)
    if input.dtype == dtypes.float16:  # rounded once, as PyTorch's: after x + 3, 9% of the values were a unit off
        return in_float32(hardsigmoid, input)
    return (nn_fused.hardsigmoid_clip(input) + 3) / 6


def hardswish(input, inplace=False):
    """x * min(max(x + 3, 0), 6) / 6. The gradient is 0 at -3 and 1 at 3 and at NaN, and
    the second derivative 0 at both kinks, as PyTorch's."""
    floating("hardswish", input)
    if inplace:
        return overwrite("hardswish_", input, hardswish)
    if input.dtype == dtypes.float16:  # x * 6 overflowed: inf from x = 10920, where the result is x
        return in_float32(hardswish, input)
    return nn_fused.hardswish(input)


def logsigmoid(input):
    """log(sigmoid(x)) = -softplus(-x), which neither overflows nor rounds to log(0). float16 is
    computed in float32 and rounded once, as PyTorch's (12% of float16 inputs were a unit off)."""
    floating("logsigmoid", input)
    if input.dtype == dtypes.float16:
        return in_float32(logsigmoid, input)
    return -nn_fused.softplus(-input)


def tanh(input):
    return _tanh(floating("tanh", input))


def softsign(input):
    """x / (1 + |x|); from |x| = 1 as sign(x) (1 - 1 / (1 + |x|)), the same values, whose
    slope 1 / (1 + |x|)^2 comes out whole: the quotient's is the difference of two terms
    near 1 / |x| (PyTorch's is 7e-7 off at x = 1e10, and 0 at 1e20), and it gives 1 at inf
    (PyTorch's inf / inf is NaN). Each form sees 0 in the other's places, so that no
    inf / inf reaches a second derivative. float16 is computed in float32 and rounded once (in
    float16 steps 16% of the values and 30% of the slopes were off, up to 1.4 and 2.9 units):
    float64's rounded once, where PyTorch's, composed in float16, is off on 18% and 56%."""
    floating("softsign", input)
    if input.dtype == dtypes.float16:
        return in_float32(softsign, input)
    size = _abs(input)
    near = constant(size.data < 1, input)
    near_x, far_size = where(near, input, 0), where(near, 0, size)
    return where(near, near_x / (_abs(near_x) + 1), _sign(input) * (1 - 1 / (far_size + 1)))


def tanhshrink(input):
    """x - tanh(x), computed without its cancellation near 0 (see nn_fused.Tanhshrink)."""
    floating("tanhshrink", input)
    return nn_fused.tanhshrink(input)


def threshold(input, threshold, value, inplace=False):
    """``value`` where x <= threshold, else x; the gradient is 0 at the threshold."""
    floating("threshold", input)
    threshold, value = real_number("threshold", "threshold", threshold), real_number("threshold", "value", value)
    if inplace:
        return overwrite("threshold_", input, lambda x: nn_fused.threshold(x, threshold, value))
    return nn_fused.threshold(input, threshold, value)


def hardshrink(input, lambd=0.5):
    """0 where -lambd <= x <= lambd, else x; the gradient is 0 at +-lambd."""
    floating("hardshrink", input)
    return nn_fused.shrink(input, real_number("hardshrink", "lambd", lambd), 0.0)


def softshrink(input, lambd=0.5):
    """0 where -lambd <= x <= lambd, else x moved lambd towards 0; the gradient is 0 at +-lambd."""
    floating("softshrink", input)
    lambd = real_number("softshrink", "lambd", lambd, at_least=0)
    return nn_fused.shrink(input, lambd, lambd)


def glu(input, axis=-1):
    """The gated linear unit: the first half of ``axis`` times the sigmoid of the second."""
    floating("glu", input)
    if input.ndim == 0:
        raise ValueError("glu: a 0-d input has no axis to halve; give it an axis of even length")
    axis = _axis("glu", input, axis)
    if input.shape[axis] % 2:
        raise ValueError(f"glu: the halved axis must have an even length, but axis {axis} of the input of "
                         f"shape {input.shape} has {input.shape[axis]}")
    if input.dtype == dtypes.float16:  # in float32, rounded once, as PyTorch's (the sigmoid rounded first)
        return in_float32(lambda wide: glu(wide, axis), input)
    a, b = split(input, 2, axis)
    return a * _sigmoid(b)


@autocast_op("softplus")
def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, computed stably; linear where beta x > threshold, as PyTorch's.
    float16 is computed in float32 and rounded once, as PyTorch computes it: beta x rounded to
    float16 put the value 4 and the slope 6 ulps off (beta 100), and with beta 1, 12% of the
    float16 inputs were a unit off."""
    floating("softplus", input)
    if input.dtype == dtypes.float16:
        return in_float32(lambda wide: softplus(wide, beta, threshold), input)
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


@autocast_op("softmax")
def softmax(input, axis=None, dtype=None):
    """exp(x) / sum(exp(x)) along ``axis``, shifted by the max so it never overflows; an
    ``axis`` of None is PyTorch's implicit choice (see _implicit_axis)."""
    return _normalized_along(nn_fused.softmax, "softmax", input, axis, dtype)


@autocast_op("softmin")
def softmin(input, axis=None, dtype=None):
    """softmax(-x) along ``axis`` (None: PyTorch's implicit choice, see _implicit_axis)."""
    input = require_tensor("softmin", input)
    return _normalized_along(nn_fused.softmax, "softmin", -input, _implicit_axis("softmin", input, axis), dtype)


@autocast_op("log_softmax")
def log_softmax(input, axis=None, dtype=None):
    """x - logsumexp(x) along ``axis``, computed stably (None: PyTorch's implicit choice,
    see _implicit_axis)."""
    return _normalized_along(nn_fused.log_softmax, "log_softmax", input, axis, dtype)


def _normalized_along(fused, op, input, axis, dtype):
    """The checks and casts softmax and log_softmax share; a 0-d input is one class.
    ``dtype`` is cast to first, as in PyTorch, so an integer input may take a floating one."""
    require_tensor(op, input)
    if dtype is not None:
        if not dtypes.is_floating(dtype):  # the kernels would compute in it, or fail in NumPy's words
            raise TypeError(f"{op}: dtype must be a floating point type, not {dtype}; pass ag.float32, "
                            "say, or None to keep the input's")
        input = input.astype(dtype, copy=False)
    floating(op, input)
    axis = _axis(op, input, _implicit_axis(op, input, axis))  # (a 0-d input takes 0 or -1 only, as in PyTorch)
    if input.ndim == 0:
        return fused(reshape(input, (1,)), 0).reshape(())
    return fused(input, axis)


def _implicit_axis(op, input, axis, keyword="axis"):
    """``axis``, or where it is None, PyTorch's legacy choice with its warning: 0 for 0-, 1-
    and 3-D inputs, else 1 (a batch's classes or an image's channels), so that code ported
    without a dim normalizes along the axis it did there. The warning asks for ``keyword``,
    the caller's name for the argument (the nn.Softmax modules' is dim)."""
    if axis is not None:
        return axis
    warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call to include "
                  f"{keyword}=X as an argument.", stacklevel=user_stacklevel())
    return 0 if input.ndim in (0, 1, 3) else 1


# PyTorch's functional in-place activations: unlike ``inplace=True``, which falls back to
# a new tensor where the graph would need rewiring, these always write into ``input``
# and return it, and refuse what Tensor's in-place methods refuse (see ``in_place``).

def relu_(input):
    floating("relu_", input)
    return input.relu_()


def leaky_relu_(input, negative_slope=0.01):
    return in_place("leaky_relu_", input, lambda x: leaky_relu(x, negative_slope))


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return in_place("rrelu_", input, lambda x: rrelu(x, lower, upper, training))


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return in_place("hardtanh_", input, lambda x: hardtanh(x, min_val, max_val))


def elu_(input, alpha=1.0):
    return in_place("elu_", input, lambda x: elu(x, alpha))


def selu_(input):
    return in_place("selu_", input, selu)


def celu_(input, alpha=1.0):
    return in_place("celu_", input, lambda x: celu(x, alpha))


_threshold = threshold  # threshold_'s parameter of that name, PyTorch's, hides the function


def threshold_(input, threshold, value):
    return in_place("threshold_", input, lambda x: _threshold(x, threshold, value))
