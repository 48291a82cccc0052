"""Huber's loss (and the smooth L1 loss, Huber's over its beta) of a difference d, one
element at a time, as one op: a composition with where took ten passes over memory and
ran ten times slower than PyTorch's kernel.

With m = min(|d|, delta) the loss is (|d| - m / 2) (m / divisor): 0.5 d^2 / divisor
inside [-delta, delta] and (|d| - delta / 2) (delta / divisor) outside, with no branch
(divisor 1 for Huber's loss, beta for the smooth L1 loss, where delta / beta is
exactly 1). The gradient is clip(d, -delta, delta) / divisor."""
from ..elementwise import constant, where
from ...function import Function


class Huber(Function):
    @staticmethod
    def forward(ctx, d, delta, divisor):
        xp, data = d._backend.xp, d.data
        ctx.save_for_backward(d)
        ctx.delta, ctx.divisor = delta, divisor
        size = xp.abs(data)
        m = xp.minimum(size, delta)
        return (size - m * 0.5) * (m / divisor if divisor != 1 else m)

    @staticmethod
    def backward(ctx, gy):
        d, = ctx.saved_tensors
        return HuberGrad.apply(gy, d, ctx.delta, ctx.divisor), None, None


class HuberGrad(Function):
    """``gy * clip(d, -delta, delta) / divisor``. Its derivative in d is gy / divisor
    strictly inside the bounds and 0 from them on: at |d| = delta the linear branch is
    taken, as in PyTorch's second derivative."""

    @staticmethod
    def forward(ctx, gy, d, delta, divisor):
        xp = d._backend.xp
        ctx.save_for_backward(gy, d)
        ctx.delta, ctx.divisor = delta, divisor
        slope = xp.clip(d.data, -delta, delta)
        return gy.data * (slope / divisor if divisor != 1 else slope)

    @staticmethod
    def backward(ctx, g):
        gy, d = ctx.saved_tensors
        need_gy, need_d = ctx.needs_input_grad[:2]
        delta, divisor = ctx.delta, ctx.divisor
        ggy = HuberGrad.apply(g, d, delta, divisor) if need_gy else None
        gd = None
        if need_d:
            # a where, not a product with a mask: an inf in gy outside the bounds gives 0 there
            gd = where(constant(d._backend.xp.abs(d.data) < delta, d), g * gy if divisor == 1 else g * gy / divisor, 0)
        return ggy, gd, None, None


def huber(d, delta, divisor=1.0):
    """The elementwise Huber loss of ``d`` at ``delta``, divided by ``divisor``."""
    return Huber.apply(d, float(delta), float(divisor))
