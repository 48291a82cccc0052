"""2-D convolution (stride 1, no padding) as im2col plus one GEMM, and its
backward: the weight gradient is one GEMM, the input gradient one GEMM plus a
scatter of the KH*KW window offsets back onto the image (col2im).

Images are laid out channels first, batch second: (C, N, H, W). Then every row
of the im2col matrix (C*KH*KW, N*OH*OW) is a shifted copy of one channel, made
of contiguous runs of OW floats; the GEMM ``W (O, C*KH*KW) @ cols`` gives
(O, N*OH*OW), which already is the next layer's (C, N, H, W); and col2im adds
contiguous blocks. Weights keep PyTorch's (O, C, KH, KW) shape.
"""
import importlib


def windows(xp, x, kh, kw):
    """A view (C, KH, KW, N, OH, OW) of every window of ``x`` (C, N, H, W);
    windows overlap in memory, so it is only ever read."""
    c, n, h, w = x.shape
    sc, sn, sh, sw = x.strides
    # numpy.lib.stride_tricks and cupy.lib.stride_tricks have the same as_strided
    as_strided = importlib.import_module(f"{xp.__name__}.lib.stride_tricks").as_strided
    return as_strided(x, shape=(c, kh, kw, n, h - kh + 1, w - kw + 1), strides=(sc, sh, sw, sn, sh, sw))


def conv2d_forward(xp, x, weight, bias):
    """The output (O, N, OH, OW) and the im2col matrix, which backward reuses."""
    o, c, kh, kw = weight.shape
    view = windows(xp, x, kh, kw)
    n, oh, ow = view.shape[3:]
    cols = xp.ascontiguousarray(view).reshape(c * kh * kw, n * oh * ow)
    y = weight.reshape(o, -1) @ cols
    y += bias[:, None]
    return y.reshape(o, n, oh, ow), cols


def conv2d_backward(xp, gy, cols, x_shape, weight, need_input_grad=True):
    """Gradients for the input (None unless asked), the weight and the bias."""
    o, n, oh, ow = gy.shape
    _, c, kh, kw = weight.shape
    g = gy.reshape(o, n * oh * ow)
    grad_weight = (g @ cols.T).reshape(weight.shape)
    grad_bias = xp.sum(g, axis=1)
    grad_input = None
    if need_input_grad:
        gcols = (weight.reshape(o, -1).T @ g).reshape(c, kh, kw, n, oh, ow)
        grad_input = xp.zeros(x_shape, dtype=gy.dtype)
        for i in range(kh):
            for j in range(kw):
                grad_input[:, :, i:i + oh, j:j + ow] += gcols[:, i, j]
    return grad_input, grad_weight, grad_bias
