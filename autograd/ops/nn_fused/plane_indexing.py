"""Reads from and writes into the planes of (N, C, H, W) images at flat per-plane
indices (row * W + col, as max pooling's ``return_indices`` gives them): max
unpooling here, and the gradient of adaptive max pooling.

``flat_index`` turns the indices into indices into all N * C planes laid end to end,
so that each op is the project's own indexing of the flattened batch, one op over
the whole batch: a put into zeros (IndexPut, whose gradient is a gather) or a gather
(GetItem, whose gradient is a scatter-add); each is the other's adjoint, so every
order of derivative is one of them."""
from ..elementwise import constant
from ..indexing import IndexPut
from ..shape import reshape


def flat_index(backend, indices, plane_size):
    """Per-plane int indices (N, C, ...) as int64 indices of the same shape into the
    N * C planes of ``plane_size`` elements laid end to end: plane p's index i becomes
    p * plane_size + i."""
    xp = backend.xp
    n, c = indices.shape[:2]
    offsets = xp.arange(n * c, dtype=xp.int64) * plane_size
    offsets = xp.reshape(offsets, (n, c) + (1,) * (indices.ndim - 2))
    return xp.astype(indices, xp.int64, copy=False) + offsets


def max_unpool2d(x, indices, out_size):
    """(N, C, H, W) ``x`` written into zeros of (N, C) + ``out_size`` at ``indices``, an
    (N, C, H, W) integer array of flat positions in each output plane, all in range. As
    in NumPy, a repeated index keeps the last of its values (see Backend.put_last_), and
    the gradient of every element of ``x`` is the output gradient at its index."""
    n, c = x.shape[:2]
    backend = x._backend
    index = flat_index(backend, indices, out_size[0] * out_size[1])
    zeros = constant(backend.xp.zeros((n * c * out_size[0] * out_size[1],), dtype=x.data.dtype), x)
    return reshape(IndexPut.apply(zeros, x, (index,), True), (n, c) + tuple(out_size))
