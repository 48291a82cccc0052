"""Activations the Array API cannot compose stably or at all: softplus, which must
not overflow, tanhshrink, whose x - tanh(x) cancels near 0, the ELU family (elu, selu, celu), which needs expm1, the hardswish,
whose gradient a composition makes NaN at NaN, and the leaky ReLU and the
piecewise-linear activations (hardtanh, threshold, the shrinks, PReLU's parts), whose gradients
must stay connected to their input for higher derivatives. (erfc, for the exact
GELU, is ops.exponential's, beside erf.)"""
import math

from backends import dtypes

from ..elementwise import Relu, ReluGrad, in_float32, input_place, rounded_once, sigmoid, tanh, through_float32, where
from ..polynomial import horner
from ..quiet import without_floating_point_warnings
from ...function import Function
from ...grad_mode import state as _grad_state
from ...tensor import Tensor


class Softplus(Function):
    """log(1 + exp(x)), computed as max(x, 0) + log1p(exp(-|x|)) so it never overflows."""

    @staticmethod
    def forward(ctx, x):
        xp = x._backend.xp
        ctx.save_for_backward(x)
        return xp.maximum(x.data, 0) + xp.log1p(xp.exp(-xp.abs(x.data)))

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * sigmoid(x)


def softplus(x):
    return Softplus.apply(x)


# x cosh(x) - sinh(x) = the sum over k >= 1 of 2k x^(2k+1) / (2k+1)!, whose terms have one sign:
# ten reach 1e-17 of the sum for |x| <= 1 (as a polynomial in x^2, times x^3, highest power first)
_TANHSHRINK_SERIES = tuple(2 * k / math.factorial(2 * k + 1) for k in range(10, 0, -1))


class Tanhshrink(Function):
    """x - tanh(x). Below |x| = 1, where tanh(x) agrees with x to ever more digits (the
    difference lost half its digits at x = 1e-4, all of them at 1e-8), as (x cosh(x) - sinh(x))
    / cosh(x), from that series; beyond, the difference loses at most 2 bits. The slope is
    tanh(x)^2, where the composition's 1 - (1 - tanh(x)^2) cancelled (11% off at x = 1e-8, 0
    at 1e-20). float16 is computed in float32 and rounded once, the slope too (tanh(x) and its
    square each rounded to float16 put 15% of the gradients off, up to 2.6 units)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        xp, data = x._backend.xp, x.data
        narrow = x.dtype == dtypes.float16
        work = xp.astype(data, x._backend.native_dtype(dtypes.float32)) if narrow else data
        near = xp.clip(work, -1.0, 1.0)
        square = near * near
        series = near * square * horner(square, _TANHSHRINK_SERIES)
        y = xp.where(xp.abs(work) <= 1, series / xp.cosh(near), work - xp.tanh(work))
        return xp.astype(y, data.dtype) if narrow else y

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        if x.dtype == dtypes.float16:
            return in_float32(_times_tanhshrink_slope, gy, x)
        return _times_tanhshrink_slope(gy, x)


def _times_tanhshrink_slope(gy, x):
    t = tanh(x)
    return gy * (t * t)


def tanhshrink(x):
    return Tanhshrink.apply(x)


class LeakyRelu(Function):
    """x where x > 0, else negative_slope * x: one multiply by a per-element factor (1
    or the slope), which is all backward keeps (so the gradient at 0 is the slope, as
    PyTorch's). Composed as x times a constant factor, its gradient would be that
    constant times gy, cut off from x: a higher derivative of a leaky ReLU of the
    variable alone (an input-gradient penalty or a Hessian-vector product through a
    network whose weights are frozen) would be missing instead of zero."""

    @staticmethod
    def forward(ctx, x, negative_slope):
        xp, data = x._backend.xp, x.data
        # float16 through a float32 factor, rounded once, as PyTorch computes it: a float16
        # slope (0.01 as 0.010002) would put a third of the negative results 1 ulp off
        wide = xp.float32 if x.dtype == dtypes.float16 else data.dtype
        factor = xp.astype(data > 0, wide) * (1 - negative_slope) + negative_slope
        ctx.save_for_backward(factor)
        return _times(xp, data, factor)

    @staticmethod
    def backward(ctx, gy):
        factor, = ctx.saved_tensors
        if _grad_state.enabled:  # create_graph: recorded, so it can be differentiated again
            return LeakyReluGrad.apply(gy, factor, input_place(ctx, factor)), None
        return Tensor._make(_times(gy._backend.xp, gy.data, factor.data), gy._backend), None


def _times(xp, values, factor):
    """``values * factor`` in values' dtype (a float16 one times a float32 factor, rounded once)."""
    product = values * factor
    return product if product.dtype == values.dtype else xp.astype(product, values.dtype)


class LeakyReluGrad(ReluGrad):
    """``gy * factor``, the leaky ReLU's per-element slope; linear in ``gy``. As
    ReluGrad's (whose backward it shares), ``x``, the leaky ReLU's input (or None), is
    never read: it keeps the result connected to x, with a zero derivative, as
    PyTorch's leaky_relu_backward is."""

    @staticmethod
    def forward(ctx, gy, factor, x):
        ctx.save_for_backward(factor, x)
        return _times(gy._backend.xp, gy.data, factor.data)


def leaky_relu(x, negative_slope):
    return LeakyRelu.apply(x, negative_slope)


@without_floating_point_warnings
class Elu(Function):
    """PyTorch's one kernel for elu, selu and celu: scale * x where x > 0, else
    alpha * scale * expm1(x * input_scale). Fused because a composition would lose
    accuracy near 0 (exp(x) - 1: the ops have no expm1, the Array API has), take six
    ops each way, and give at 0 the second derivative of the negative branch, where
    PyTorch's is 0 (though its first derivative there is the negative branch's). float16
    is computed in float32 and rounded once, forward and backward, as PyTorch's: with the
    coefficients and each step rounded to float16, 14% of selu's values were a unit off (some
    two) and 6-16% of the ELU family's gradients, up to 3 units. Quietly, as PyTorch's: scale * x
    past the dtype's range (float16 selu from x = 62,336) is inf, with no NumPy warning."""

    @staticmethod
    def forward(ctx, x, alpha, scale, input_scale):
        ctx.save_for_backward(x)
        ctx.coefficients = (alpha, scale, input_scale)
        if x.dtype == dtypes.float16:
            return through_float32(lambda data: Elu.kernel(x._backend, data, alpha, scale, input_scale), x)
        return Elu.kernel(x._backend, x.data, alpha, scale, input_scale)

    @staticmethod
    def kernel(backend, data, alpha, scale, input_scale):
        xp = backend.xp
        # Each branch is 0 on the other's side, so the sum is exact: no where, whose
        # per-element branch is slow on a random sign pattern (3x the whole forward).
        negative = xp.expm1(xp.minimum(data, 0) * input_scale) * (alpha * scale)  # exp(<= 0): no overflow
        return xp.maximum(data, 0) * scale + negative

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return EluGrad.apply(gy, x, *ctx.coefficients), None, None, None


@without_floating_point_warnings
class EluGrad(Function):
    """``gy`` times the ELU's slope: scale where x > 0 (and at NaN), else alpha * scale *
    input_scale * exp(x * input_scale) (at 0 too). Its derivative in x is the negative
    branch's where x < 0 and 0 elsewhere, as PyTorch's elu_double_backward."""

    @staticmethod
    def forward(ctx, gy, x, alpha, scale, input_scale):
        ctx.save_for_backward(gy, x)
        ctx.coefficients = (alpha, scale, input_scale)
        if x.dtype == dtypes.float16:  # (see Elu)
            return through_float32(lambda g, data: EluGrad.kernel(x._backend, g, data, alpha, scale, input_scale), gy, x)
        return EluGrad.kernel(x._backend, gy.data, x.data, alpha, scale, input_scale)

    @staticmethod
    def kernel(backend, gy, data, alpha, scale, input_scale):
        xp = backend.xp
        # A masked select (not a where: see Elu), exact whatever is on the side not taken.
        # NaN is not on the negative side, so its slope is scale, as PyTorch's (x <= 0 ?
        # the negative branch : scale), not the negative branch's NaN.
        negative = xp.exp(xp.minimum(data, 0) * input_scale) * (alpha * scale * input_scale)
        return gy * backend.masked_or(negative, backend.keep_mask(data <= 0), scale)

    @staticmethod
    def backward(ctx, g):
        gy, x = ctx.saved_tensors
        need_gy, need_x = ctx.needs_input_grad[:2]
        alpha, scale, input_scale = ctx.coefficients
        ggy = EluGrad.apply(g, x, alpha, scale, input_scale) if need_gy else None
        gx = None
        if need_x:  # d slope / dx = input_scale * (the slope) on the negative side; float16 rounded once
            gx = rounded_once(
                lambda g, gy, x: where(x < 0, EluGrad.apply(g * gy * input_scale, x, alpha, scale, input_scale), 0),
                g, gy, x)
        return ggy, gx, None, None, None


def elu(x, alpha, scale=1.0, input_scale=1.0):
    return Elu.apply(x, alpha, scale, input_scale)


class Hardswish(Function):
    """x * clip(x + 3, 0, 6) / 6, fused for its gradient, PyTorch's: 0 where x <= -3, gy
    where x >= 3 and at NaN. A composition (x times a hardsigmoid) gives NaN at NaN."""

    @staticmethod
    def forward(ctx, x):
        xp, data = x._backend.xp, x.data
        ctx.save_for_backward(x)
        return data * (xp.clip(data, -3.0, 3.0) + 3) / 6

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return HardswishGrad.apply(gy, x)


class HardswishGrad(Function):
    """``gy`` times the hardswish's slope: 0 where x <= -3, x / 3 + 0.5 where x < 3, else 1
    (NaN too). Its derivative in x is gy / 3 strictly between -3 and 3, 0 elsewhere, as
    PyTorch's hardswish_backward's."""

    @staticmethod
    def forward(ctx, gy, x):
        backend, data = x._backend, x.data
        ctx.save_for_backward(gy, x)
        # By the backend's masks, not a where (see Elu); NaN is neither < 3 nor <= -3: slope 1
        rising = backend.masked_or(data / 3 + 0.5, backend.keep_mask(data < 3), 1.0)
        return gy.data * backend.masked(rising, backend.keep_mask(backend.xp.logical_not(data <= -3)))

    @staticmethod
    def backward(ctx, g):
        gy, x = ctx.saved_tensors
        need_gy, need_x = ctx.needs_input_grad
        ggy = HardswishGrad.apply(g, x) if need_gy else None
        gx = None
        if need_x:
            data = x.data
            inside = Tensor._make(x._backend.xp.logical_and(data > -3, data < 3), x._backend)
            gx = where(inside, g * gy / 3, 0)
        return ggy, gx


def hardswish(x):
    return Hardswish.apply(x)


class PiecewiseLinear(Function):
    """Base of the activations that give, on each element, the input (perhaps shifted
    by a constant) or a constant. Backward is ReLU's: ``gy`` where the input's branch
    was taken (``keep``), 0 elsewhere, and connected to the input, as LeakyRelu's: a
    where or clip composition would cut the gradient off from x (a higher derivative
    missing instead of zero), and clip's would pass at its bounds, where PyTorch's stop."""

    @staticmethod
    def backward(ctx, gy):
        return Relu.backward(ctx, gy), None, None

    @staticmethod
    def keep(ctx, x, mask):
        """Where the gradient passes (``mask``, a bool array given up to the backend), in
        the form the backend's ``masked`` takes; saved for backward where it is needed."""
        keep = x._backend.keep_mask(mask)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(keep)
        return keep


class Hardtanh(PiecewiseLinear):
    """clip(x, low, high); the gradient passes strictly between the bounds (and at NaN)."""

    @staticmethod
    def forward(ctx, x, low, high):
        xp, data = x._backend.xp, x.data
        PiecewiseLinear.keep(ctx, x, xp.logical_not((data <= low) | (data >= high)))
        return xp.clip(data, low, high)


def hardtanh(x, low, high):
    return Hardtanh.apply(x, low, high)


class HardsigmoidClip(PiecewiseLinear):
    """clip(x, -3, 3), the inside of hardsigmoid: as PyTorch's hardsigmoid_backward tests
    -3 < x < 3, the gradient passes strictly between the bounds and, unlike hardtanh's,
    stops at NaN."""

    @staticmethod
    def forward(ctx, x):
        xp, data = x._backend.xp, x.data
        PiecewiseLinear.keep(ctx, x, (data > -3.0) & (data < 3.0))
        return xp.clip(data, -3.0, 3.0)

    @staticmethod
    def backward(ctx, gy):
        return Relu.backward(ctx, gy)


def hardsigmoid_clip(x):
    return HardsigmoidClip.apply(x)


class Threshold(PiecewiseLinear):
    """``value`` where x <= threshold, else x (NaN included)."""

    @staticmethod
    def forward(ctx, x, threshold, value):
        backend, data = x._backend, x.data
        keep = PiecewiseLinear.keep(ctx, x, backend.xp.logical_not(data <= threshold))
        # Masked as ReLU is, by the backend's kernels: a where is 15x slower on a random pattern.
        # (masked fills with +0.0: a value of -0.0 takes masked_or, as any other.)
        if value == 0 and math.copysign(1.0, value) > 0:
            return backend.masked(data, keep)
        return backend.masked_or(data, keep, value)


def threshold(x, threshold, value):
    return Threshold.apply(x, threshold, value)


class Shrink(PiecewiseLinear):
    """0 on [-lambd, lambd], x - shift * sign(x) beyond: the hard shrink (shift 0) and
    the soft shrink (shift lambd). Masked as ReLU's gradient is, by the backend's
    kernel: a where is three times slower on a random sign pattern."""

    @staticmethod
    def forward(ctx, x, lambd, shift):
        backend, data = x._backend, x.data
        outside = PiecewiseLinear.keep(ctx, x, backend.xp.logical_not((data >= -lambd) & (data <= lambd)))
        return backend.masked(data if shift == 0 else data - backend.xp.sign(data) * shift, outside)


def shrink(x, lambd, shift):
    return Shrink.apply(x, lambd, shift)


class SignPart(PiecewiseLinear):
    """x where x > 0 (``positive``), or where it is not (0, -0.0 and NaN among them), and 0
    elsewhere: PReLU's two parts, split by PyTorch's one test, so x's gradient at 0 and at
    NaN is the weight's (a ReLU passes NaN's gradient and a clip stops it, as PyTorch's do).
    Masked by the backend's kernel: a (256, 1024) float32 forward and backward on a random
    sign pattern takes 0.64 ms, where the relu + clip composition it replaced took 1.8 (and
    one of wheres 9)."""

    @staticmethod
    def forward(ctx, x, positive):
        backend, data = x._backend, x.data
        above = data > 0
        keep = PiecewiseLinear.keep(ctx, x, above if positive else backend.xp.logical_not(above))
        return backend.masked(data, keep)

    @staticmethod
    def backward(ctx, gy):
        return Relu.backward(ctx, gy), None


def sign_part(x, positive):
    return SignPart.apply(x, positive)
