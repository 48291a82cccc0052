"""The exact GELU, x Phi(x) with Phi(x) = erfc(-x / sqrt(2)) / 2, as one op: composed,
its erfc's rational functions and the eight passes of its backward each went over
memory on their own, 13 times PyTorch's time. Here forward and backward each run in
the backend's blockwise, so their passes stay in cache, with the composition's values:
x * erfc(x * -sqrt(1/2)) * 0.5 (but where that overflows, past half the range: there
x * (erfc(...) * 0.5)), and its backward as the engine ran it.
Under create_graph the backward is that composition's in Tensor ops, so it
differentiates again as before."""
import math

from backends import floating_point_warnings_off

from ..elementwise import exp
from ..exponential import _INV_SQRT_PI, _erfc, erfc
from ...function import Function
from ...grad_mode import state as _grad_state
from ...tensor import Tensor

_SQRT_HALF = math.sqrt(0.5)
_ERFC_SLOPE = -2 * _INV_SQRT_PI  # d erfc(u) / du = _ERFC_SLOPE * exp(-u^2)


class Gelu(Function):
    @staticmethod
    def forward(ctx, x):
        backend = x._backend

        def kernel(v):
            with floating_point_warnings_off():  # (as erfc's own op, see ops.quiet; and -inf * 0 is NaN)
                e = _erfc(backend, v * -_SQRT_HALF)
                y = v * e
                y *= 0.5
                # Where x erfc(...) overflowed (x past half the largest float), Phi first, so
                # that x Phi(x) stays finite (gelu(1e308) was inf). Not everywhere: halving
                # a subnormal erfc rounds (x < -13 in float32), and the product was 0 where
                # the composition's is not (-1e-44 at x = -14.2236).
                overflowed = backend.xp.isinf(y)
                if backend.any_true(overflowed):
                    y = backend.where(overflowed, v * (e * 0.5), y)
                return y, e

        y, e = backend.blockwise(kernel, x.data)
        ctx.save_for_backward(x, e)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, e = ctx.saved_tensors
        if _grad_state.enabled:  # create_graph: the composition's backward, recorded
            u = x * -_SQRT_HALF
            g = gy * 0.5
            with floating_point_warnings_off():
                gu = g * x * exp(-(u * u)) * _ERFC_SLOPE
            return g * erfc(u) + gu * -_SQRT_HALF
        backend = gy._backend

        def kernel(g, v, ev):
            g = g * 0.5
            u = v * -_SQRT_HALF
            with floating_point_warnings_off():
                gu = g * v * backend.xp.exp(-(u * u)) * _ERFC_SLOPE
            return g * ev + gu * -_SQRT_HALF

        return Tensor._make(backend.blockwise(kernel, gy.data, x.data, e.data), backend)


def gelu(x):
    """x Phi(x) for a float32 or float64 ``x`` (float16 is the caller's to widen)."""
    return Gelu.apply(x)
