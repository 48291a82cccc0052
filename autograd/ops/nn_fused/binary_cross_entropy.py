"""Binary cross-entropy of probabilities, with PyTorch's clamped logs."""
from ..elementwise import log, maximum, where
from ...function import Function


def _clamped_log(xp, a):
    """log(a) clamped to >= -100 as PyTorch's BCE does, with log(0) = -100 and no warning."""
    positive = a > 0
    return xp.where(positive, xp.maximum(xp.log(xp.where(positive, a, 1)), -100), -100)


def _clamped_log_tensor(a):
    positive = a > 0
    return where(positive, maximum(log(where(positive, a, 1)), -100), -100)


_BCE_EPS = 9.999999960041972e-13  # PyTorch's EPSILON: 1e-12 as a float32


class BinaryCrossEntropy(Function):
    """-(t log p + (1 - t) log(1 - p)) elementwise, logs clamped to >= -100; the
    gradient is PyTorch's (p - t) / max(p (1 - p), 1e-12), finite at p = 0 or 1.
    The target's gradient is that of the clamped loss, so it stays finite too
    (PyTorch's is inf at p = 0 or 1)."""

    @staticmethod
    def forward(ctx, p, t):
        xp = p._backend.xp
        ctx.save_for_backward(p, t)
        return -(t.data * _clamped_log(xp, p.data) + (1 - t.data) * _clamped_log(xp, 1 - p.data))

    @staticmethod
    def backward(ctx, gy):
        p, t = ctx.saved_tensors
        need_p, need_t = ctx.needs_input_grad
        gp = gy * (p - t) / maximum(p * (1 - p), _BCE_EPS) if need_p else None
        gt = gy * (_clamped_log_tensor(1 - p) - _clamped_log_tensor(p)) if need_t else None
        return gp, gt


def binary_cross_entropy(p, t):
    return BinaryCrossEntropy.apply(p, t)
