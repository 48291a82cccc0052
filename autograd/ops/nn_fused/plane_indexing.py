"""Reads from and writes into the planes of (N, C, H, W) images at flat per-plane
indices (row * W + col, as max pooling's ``return_indices`` gives them): max
unpooling, and the gradient of adaptive max pooling.

The indices become one flat index into all N * C planes at once (``flat_index``),
so each op is a single ``take``, scatter-add or put over the whole batch. Gather
and ScatterAdd are linear and each other's adjoint, so each one's backward is the
other and every order of derivative is one of the two."""
import math

from ...function import Function


def flat_index(backend, indices, plane_size):
    """Per-plane indices (N, C, ...) as one 1-D int64 index into the N * C planes of
    ``plane_size`` elements laid end to end: plane p's index i becomes p * plane_size + i."""
    xp = backend.xp
    shape = indices.shape
    planes = shape[0] * shape[1]
    per_plane = math.prod(shape[2:])
    offsets = xp.reshape(xp.arange(planes, dtype=xp.int64) * plane_size, (planes, 1))
    local = xp.reshape(xp.astype(indices, xp.int64, copy=False), (planes, per_plane))
    return xp.reshape(local + offsets, (planes * per_plane,))


class Gather(Function):
    """``x``'s elements at ``index`` (from flat_index), shaped ``shape``; ``known``
    is that result where the caller has it already (adaptive max pooling's maxima),
    which spares the gather."""

    @staticmethod
    def forward(ctx, x, index, shape, known=None):
        ctx.x_shape = x.shape
        ctx.save_for_backward(index)
        if known is not None:
            return known
        xp = x._backend.xp
        return xp.reshape(xp.take(xp.reshape(x.data, (-1,)), index), shape)

    @staticmethod
    def backward(ctx, gy):
        (index,) = ctx.saved_tensors
        return ScatterAdd.apply(gy, index.data, ctx.x_shape), None, None, None


class ScatterAdd(Function):
    """Zeros of ``shape`` with ``g`` added at ``index`` (from flat_index); an index that
    appears more than once (overlapping adaptive bins) gets the sum of its values."""

    @staticmethod
    def forward(ctx, g, index, shape):
        ctx.g_shape = g.shape
        ctx.save_for_backward(index)
        backend = g._backend
        xp = backend.xp
        out = backend.scatter_add((math.prod(shape),), (index,), xp.reshape(g.data, (-1,)))
        return xp.reshape(out, shape)

    @staticmethod
    def backward(ctx, gg):
        (index,) = ctx.saved_tensors
        return Gather.apply(gg, index.data, ctx.g_shape, None), None, None


class MaxUnpool2d(Function):
    """Zeros of ``shape`` with ``x`` written at ``index`` (from flat_index). As in
    PyTorch, a repeated index keeps one of its values (the last, on the CPU), and the
    gradient of every element of ``x`` is the output gradient at its index."""

    @staticmethod
    def forward(ctx, x, index, shape):
        ctx.x_shape = x.shape
        ctx.save_for_backward(index)
        backend = x._backend
        xp = backend.xp
        out = xp.zeros((math.prod(shape),), dtype=x.data.dtype)
        backend.put_(out, (index,), xp.reshape(x.data, (-1,)))
        return xp.reshape(out, shape)

    @staticmethod
    def backward(ctx, gy):
        (index,) = ctx.saved_tensors
        return Gather.apply(gy, index.data, ctx.x_shape, None), None, None


def max_unpool2d(x, indices, out_size):
    """(N, C, H, W) ``x`` written into zeros of (N, C) + ``out_size`` at ``indices``, an
    (N, C, H, W) integer array of flat positions in each output plane, all in range."""
    n, c = x.shape[:2]
    index = flat_index(x._backend, indices, out_size[0] * out_size[1])
    return MaxUnpool2d.apply(x, index, (n, c) + tuple(out_size))
