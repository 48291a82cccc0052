"""2-D transposed convolution on NCHW: conv2d's input gradient, run forward.

A transposed convolution of x with a (C_in, C_out/G, KH, KW) weight is the input
gradient of the conv2d that maps a C_out-channel image of the output's size to
x's size with that weight read as (O, C/G, KH, KW). So its forward is
``Conv2dInputGrad``'s GEMM and col2im, plus the bias; its gradients are the ones
``Conv2dInputGrad`` has: conv2d itself for x, and conv2d's weight gradient with the
image and output-gradient roles swapped for the weight. The ``Window`` is that
conv2d's: in_size the transposed output's size, out_size x's."""
from ...function import Function
from ..reduction import Sum
from .convolution import Conv2d, bias_axes
from .depthwise import is_depthwise


class ConvTranspose2d(Function):
    """y = Conv2dInputGrad(x, weight) + bias, under its own name in graphs and profiles.
    ``family`` names the convolution it transposes (ConvTranspose3d names Conv3d's)."""
    family = Conv2d.family

    @staticmethod
    def forward(ctx, x, weight, bias, window, groups):
        # saves x and weight in ctx; float16 adds the bias before its one rounding
        return ctx.family.input_grad.image(ctx, x, weight, window, groups, bias=bias)

    @staticmethod
    def backward(ctx, gy):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        window, groups, family = ctx.window, ctx.groups, ctx.family
        # the input gradient's backward's two ops, sharing gy's im2col matrix (the larger
        # side here), which both GEMMs read: made once, a step at batch 64, 16 -> 8
        # channels, 14x14 -> 28x28 took 4.0 ms instead of 4.6
        shared = need_x and need_w and not (gy.ndim == 4 and is_depthwise(weight.shape, groups))  # (no im2col)
        cols = family.im2col(gy._backend, gy.data, weight.shape[2:], window) if shared else None
        gx = family.conv.apply(gy, weight, None, window, groups, cols) if need_x else None
        gw = family.weight_grad.apply(x, gy, weight.shape, window, groups, None, cols) if need_w else None
        gb = Sum.apply(gy, bias_axes(gy), False) if need_b else None
        return gx, gw, gb, None, None


def conv_transpose2d(x, weight, bias, window, groups):
    return ConvTranspose2d.apply(x, weight, bias, window, groups)
