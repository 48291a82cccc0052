"""Power-average pooling: ``lp_pool1d``, ``lp_pool2d`` and ``lp_pool3d``, the p-norm
of each window, (sum of x^p)^(1/p), by PyTorch's own formula: the average pool of
x^p (no padding; ``ceil_mode`` as average pooling takes it, so a window cut short at
the edge still counts ``kernel_size`` cells), times the window's size, to the power
1/p; p = inf and -inf take the largest and smallest magnitude with max pooling.
Compositions of the pooling ops, with no gradient code: the average goes through
``sign(avg) * relu(|avg|)``, as in PyTorch, whose ReLU masks the root's infinite
derivative where a window sums to 0, so the gradient there is 0."""
import math

from autograd.ops.elementwise import abs as _abs, relu, sign

from .arguments import floating, pair, real_number, single, triple
from .pooling import avg_pool1d, avg_pool2d, max_pool1d, max_pool2d
from .pooling3d import avg_pool3d, max_pool3d


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """The ``norm_type``-norm of each window of (N, C, L) or (C, L); stride defaults to kernel_size."""
    return _lp_pool("lp_pool1d", single, avg_pool1d, max_pool1d, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """The ``norm_type``-norm of each window of (N, C, H, W) or (C, H, W)."""
    return _lp_pool("lp_pool2d", pair, avg_pool2d, max_pool2d, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """The ``norm_type``-norm of each box of (N, C, D, H, W) or (C, D, H, W)."""
    return _lp_pool("lp_pool3d", triple, avg_pool3d, max_pool3d, input, norm_type, kernel_size, stride, ceil_mode)


def _lp_pool(op, ntuple, avg_pool, max_pool, input, norm_type, kernel_size, stride, ceil_mode):
    floating(op, input)
    p = real_number(op, "norm_type", norm_type)
    if p == 0 or math.isnan(p):
        raise ValueError(f"{op}: norm_type must be a nonzero number (the p of the p-norm; the result is taken "
                         f"to the power 1/p), got {norm_type!r}")
    cells = math.prod(ntuple(op, "kernel_size", kernel_size, 1))
    if math.isinf(p):
        magnitude = _abs(input)
        if p > 0:
            return max_pool(magnitude, kernel_size, stride, 0, 1, ceil_mode)
        return -max_pool(-magnitude, kernel_size, stride, 0, 1, ceil_mode)
    average = avg_pool(input ** p, kernel_size, stride, 0, ceil_mode)
    return (sign(average) * relu(_abs(average)) * float(cells)) ** (1.0 / p)
