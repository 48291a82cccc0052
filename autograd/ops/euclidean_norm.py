"""The 2-norm over axes, sqrt(sum(x * x)), as one op with PyTorch's gradient: x gy / norm,
and 0 where the norm is 0 (where the root's derivative is infinite). Composed (the squares,
their sum, a root masked at 0) it recorded six ops and backed through as many, and an inf
entry warned from NumPy (inf * 0) on its way to PyTorch's NaN. Norms are taken each step by
F.normalize, weight_norm and spectral_norm's power iterations, and by the users' own
regularizers."""
from backends import restore_floating_point_warnings, silence_floating_point_warnings

from ..function import Function
from ..grad_mode import state as _grad_state
from ..shapes import kept_shape, reduced_shape
from ..tensor import Tensor
from .elementwise import float_sum, sqrt, where
from .reduction import sum
from .shape import reshape


class EuclideanNorm(Function):
    @staticmethod
    def forward(ctx, x, axes, keepdims):
        backend, data = x._backend, x.data
        token = silence_floating_point_warnings()  # (squares past the range: inf, as PyTorch's)
        try:
            norm = backend.xp.sqrt(float_sum(backend, data * data, x.dtype, axis=axes, keepdims=True))
        finally:
            restore_floating_point_warnings(token)
        if not keepdims:
            norm = backend.xp.reshape(norm, reduced_shape(data.shape, axes, False))
        ctx.axes = axes
        ctx.save_for_backward(x, norm)  # the very array returned, so that an in-place change of it is caught
        return norm

    @staticmethod
    def backward(ctx, gy):
        x, norm = ctx.saved_tensors
        kept = kept_shape(x.shape, ctx.axes)
        g = reshape(gy, kept)
        if _grad_state.enabled:  # create_graph: the norm recomputed from x, so that it differentiates again
            squares = sum(x * x, ctx.axes, keepdims=True)
            nonzero = squares != 0  # (NaN included: it stays NaN)
            return x * where(nonzero, g / sqrt(where(nonzero, squares, 1)), 0), None, None
        xp = x._backend.xp
        token = silence_floating_point_warnings()  # (an inf entry: inf / inf, NaN, as PyTorch's)
        try:
            norm = xp.reshape(norm.data, kept)
            scale = g.data / norm
            scale = xp.where(norm == 0, xp.zeros_like(scale), scale)
            grad = x.data * scale
        finally:
            restore_floating_point_warnings(token)
        return Tensor._make(grad, x._backend), None, None


def euclidean_norm(x, axes, keepdims):
    """The 2-norm of floating ``x`` (float32 or float64) over ``axes``, a normalized tuple."""
    return EuclideanNorm.apply(x, axes, keepdims)
