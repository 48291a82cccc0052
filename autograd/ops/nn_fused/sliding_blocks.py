"""im2col and col2im as ops: ``unfold`` lays every sliding block of a zero-padded image
batch out as a column (PyTorch's F.unfold layout, (N, C*KH*KW, L)), and ``fold`` adds
such columns back onto an image. Each is the other's adjoint, so each is the other's
backward, and both are differentiable any number of times. Both run on the backend's
convolution kernels (``sliding_windows`` and ``col2im``) and a ``Window``."""
from ...function import Function


class Unfold(Function):
    """(N, C, H, W) -> (N, C*KH*KW, OH*OW): rows ordered (channel, kernel row, kernel
    column), columns the blocks in row-major order."""

    @staticmethod
    def forward(ctx, x, window):
        backend = x._backend
        xp = backend.xp
        ctx.window = window
        (kh, kw), (oh, ow) = window.kernel, window.out_size
        n, c = x.data.shape[:2]
        win = backend.sliding_windows(window.pad(xp, x.data, 0), window.kernel, window.stride, window.dilation)
        win = win[:, :, :oh, :ow, ...]
        return xp.reshape(xp.permute_dims(win, (0, 1, 4, 5, 2, 3)), (n, c * kh * kw, oh * ow))

    @staticmethod
    def backward(ctx, gy):
        return Fold.apply(gy, ctx.window), None


class Fold(Function):
    """(N, C*KH*KW, OH*OW) columns -> (N, C, H, W), each block added back where
    ``Unfold`` takes it from (overlaps add up; the padding is cropped off)."""

    @staticmethod
    def forward(ctx, cols, window):
        backend = cols._backend
        xp = backend.xp
        ctx.window = window
        (kh, kw), (oh, ow) = window.kernel, window.out_size
        n = cols.data.shape[0]
        c = cols.data.shape[1] // (kh * kw)
        win = xp.permute_dims(xp.reshape(cols.data, (n, c, kh, kw, oh, ow)), (0, 1, 4, 5, 2, 3))
        image = backend.col2im(win, (n, c) + window.padded_size, window.stride, window.dilation)
        return window.crop(image)

    @staticmethod
    def backward(ctx, gy):
        return Unfold.apply(gy, ctx.window), None


def unfold(x, window):
    return Unfold.apply(x, window)


def fold(cols, window):
    return Fold.apply(cols, window)
