"""Fractional max pooling (Graham, 2014) over the last n axes of (N, C, ...) inputs:
the maximum of each region of a fixed kernel, placed along each axis at pseudo-random
starts drawn from one sample per plane and axis by PyTorch's rule, and, per region,
the flat index (d * H * W + h * W + w) of the cell PyTorch picks: the first maximum in
raster order, or the last NaN of a region holding one (as adaptive max pooling's).

Every region's cells are laid out at once as a (K, N * C, *out) array, K the kernel's
cells, by one take from the flattened batch (regions may share cells, so they are no
view of it), and reduced along the first axis by adaptive max pooling's reductions
(along a last axis for kernels of many cells). The output is then a gather from the
flattened batch at the picked indices, AdaptiveMaxPool2d's op, so the gradient is a
scatter-add there and differentiable again."""
import math

from ... import grad_mode
from ...tensor import Tensor
from ..shape import reshape
from .adaptive_max_pool import WIDE_BIN, AdaptiveMaxPool2d, _first_max_along_last, _first_max_at
from .plane_indexing import flat_index


def region_starts(xp, samples, size, out, kernel):
    """(B, out) int64: the starts along an axis of ``size`` of ``out`` regions of
    ``kernel`` cells, one row per sample of ``samples`` (B,), in [0, 1). PyTorch's rule,
    in the samples' dtype as PyTorch computes it, so that the same samples give the same
    regions: with alpha = (size - kernel) / (out - 1), region i < out - 1 starts at
    int((i + u) alpha) - int(u alpha), and the last one at size - kernel (flush with the
    end)."""
    b = samples.shape[0]
    last = xp.full((b, min(out, 1)), size - kernel, dtype=xp.int64)
    if out <= 1:
        return last
    dtype = samples.dtype
    alpha = xp.asarray(size - kernel, dtype=dtype) / xp.asarray(out - 1, dtype=dtype)
    u = xp.reshape(samples, (b, 1))
    steps = xp.astype(xp.arange(out - 1, dtype=xp.int64), dtype)
    # the float -> int casts truncate, as C's do (every value here is non-negative)
    starts = xp.astype((steps + u) * alpha, xp.int64) - xp.astype(u * alpha, xp.int64)
    return xp.concat([starts, last], axis=1)


def _cell_positions(xp, starts, in_size, kernel, cells_last):
    """int64 flat positions in its plane of every cell of every region: (K, B, *out), one
    slice per kernel cell in raster order, or with ``cells_last`` (B, *out, K). ``starts``
    holds each axis's (B, out) region starts."""
    n = len(in_size)
    strides = [math.prod(in_size[a + 1:]) for a in range(n)]
    corner = 0  # (B, *out): each region's first cell
    for a, (s, stride) in enumerate(zip(starts, strides)):
        shape = [s.shape[0]] + [1] * n
        shape[a + 1] = s.shape[1]
        corner = corner + xp.reshape(s, tuple(shape)) * stride
    offsets = 0  # (*kernel): each kernel cell's offset from the corner
    for a, (k, stride) in enumerate(zip(kernel, strides)):
        shape = [1] * n
        shape[a] = k
        offsets = offsets + xp.reshape(xp.arange(k, dtype=xp.int64) * stride, tuple(shape))
    offsets = xp.reshape(offsets, (-1,))
    if cells_last:
        return xp.expand_dims(corner, axis=-1) + offsets
    return xp.reshape(offsets, offsets.shape + (1,) * (n + 1)) + corner


def _region_max(backend, data, kernel, starts, with_indices):
    """The maximum of each region of (N, C, *in) ``data`` and, with ``with_indices``, the
    flat index in its plane of the cell PyTorch takes it from (else None), both (N, C,
    *out)."""
    xp = backend.xp
    n, c, *in_size = data.shape
    planes, plane_size = n * c, math.prod(in_size)
    out_shape = (n, c) + tuple(s.shape[1] for s in starts)
    cells_last = math.prod(kernel) > WIDE_BIN
    positions = _cell_positions(xp, starts, in_size, kernel, cells_last)
    per_plane = (planes,) + (1,) * (len(in_size) + cells_last)  # broadcasts against positions' (B, ...)
    plane_offsets = xp.reshape(xp.arange(planes, dtype=xp.int64) * plane_size, per_plane)
    cells = xp.reshape(xp.take(xp.reshape(data, (-1,)), xp.reshape(positions + plane_offsets, (-1,))),
                       positions.shape)
    m = xp.reshape(xp.max(cells, axis=-1 if cells_last else 0), out_shape)
    if not with_indices:
        return m, None
    regions = math.prod(out_shape)
    if cells_last:
        at = _first_max_along_last(backend, cells, xp.reshape(m, cells.shape[:-1]))
        where = xp.arange(regions, dtype=xp.int64) * cells.shape[-1] + xp.reshape(at, (-1,))
    else:
        at = _first_max_at(backend, cells, xp.reshape(m, cells.shape[1:]))
        where = xp.reshape(at, (-1,)) * regions + xp.arange(regions, dtype=xp.int64)
    return m, xp.reshape(xp.take(xp.reshape(positions, (-1,)), where), out_shape)


class FractionalMaxPool2d(AdaptiveMaxPool2d):
    """AdaptiveMaxPool2d's gather from the flattened batch at the maxima's indices,
    under this op's name in graphs and profiles."""


class FractionalMaxPool3d(AdaptiveMaxPool2d):
    """AdaptiveMaxPool2d's gather, under the 3-D op's name."""


def fractional_max_pool(x, kernel, out_size, samples, with_indices):
    """(N, C, *in) ``x`` (2 or 3 spatial axes) max-pooled over regions of ``kernel``
    placed by ``samples``, an (N, C, n) array of x's dtype in [0, 1), column a the sample
    of spatial axis a, into ``out_size``; returns the output and, with ``with_indices``,
    the int64 (N, C, *out) indices (outside the graph), else None."""
    backend = x._backend
    xp = backend.xp
    n, c, *in_size = x.shape
    samples = xp.reshape(samples, (n * c, len(in_size)))
    starts = [region_starts(xp, samples[:, a], size, out, k)
              for a, (size, out, k) in enumerate(zip(in_size, out_size, kernel))]
    recorded = x.requires_grad and grad_mode.state.enabled  # else the gradient's index is not needed
    m, indices = _region_max(backend, x.data, kernel, starts, with_indices or recorded)
    if recorded:
        op = FractionalMaxPool2d if len(in_size) == 2 else FractionalMaxPool3d
        y = op.apply(reshape(x, (-1,)), (flat_index(backend, indices, math.prod(in_size)),), True, m)
    else:
        y = Tensor._make(m, backend)
    return y, (Tensor._make(indices, backend) if with_indices else None)
