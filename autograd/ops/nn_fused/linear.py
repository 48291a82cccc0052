"""The fully connected layer's product, ``x @ weight.T + bias``, as one op."""
import operator

from ..elementwise import accumulate
from ..reduction import Sum
from ..shape import reshape
from ...function import Function
from ...grad_mode import state as _grad_state
from ...tensor import Tensor


class Linear(Function):
    """``x @ weight.T + bias`` for ``x`` of shape (..., in): one GEMM, the bias added
    in place into the GEMM's fresh output."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        xp = x._backend.xp
        data = x.data
        # Each gradient needs only the other operand (as in MatMul and PyTorch's addmm): one
        # that is not kept may be changed in place before backward.
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None, weight if ctx.needs_input_grad[0] else None)
        ctx.x_shape = data.shape
        flat = data if data.ndim == 2 else xp.reshape(data, (-1, data.shape[-1]))
        y = x._backend.matmul(flat, xp.permute_dims(weight.data, (1, 0)))
        if bias is not None:
            y += bias.data
        return y if data.ndim == 2 else xp.reshape(y, data.shape[:-1] + (y.shape[-1],))

    @staticmethod
    def backward(ctx, gy):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        backend = gy._backend
        x_shape = ctx.x_shape
        recording = _grad_state.enabled
        gb = None
        if need_b:  # over every axis but the last; float16 adds up in float32, as the sums and PyTorch's do
            batch_axes = tuple(range(gy.ndim - 1))
            gb = Sum.apply(gy, batch_axes, False) if recording else accumulate(backend.xp.sum, gy, axis=batch_axes)
        if recording:  # create_graph: the products below on Tensors, recorded
            flat, product = reshape, operator.matmul
        else:  # a plain backward: the same products on the bare arrays, with no op dispatch
            gy = gy.data
            x = None if x is None else x.data
            weight = None if weight is None else weight.data
            flat, product = backend.xp.reshape, backend.matmul
        if gy.ndim != 2:  # (..., out): the leading axes are one batch axis for the GEMMs
            gy = flat(gy, (-1, gy.shape[-1]))
            x = None if x is None else flat(x, (-1, x_shape[-1]))
        gx = None
        if need_x:
            gx = product(gy, weight)
            if len(x_shape) != 2:
                gx = flat(gx, x_shape)
        gw = product(gy.T, x) if need_w else None
        if recording:
            return gx, gw, gb
        return Tensor._make_each((gx, gw, gb), backend)


def linear(x, weight, bias=None):
    return Linear.apply(x, weight, bias)
