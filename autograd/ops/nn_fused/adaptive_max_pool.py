"""Adaptive max pooling: the maximum of each of PyTorch's adaptive bins (bin i of n
over an axis of L spans [floor(i L / n), ceil((i + 1) L / n)), so neighbours may
share a cell) and, per bin, the flat index (row * W + col) of the cell PyTorch picks:
the first maximum in row-major order, or the last NaN of a bin holding one.

The cells of all bins are laid out at once as a (KH * KW, N, C, OH, OW) array, KH x KW
the largest bin (a reshape where the bins tile the input, else two takes), and reduced
along its first axis (wide bins: along a last axis of KH * KW). A narrower bin repeats
its last row or column to fill the width: a repeat comes after the cell it copies, so
it is never the first maximum, and the last NaN it may be is that same cell. The
gradient is a scatter-add of the output gradient at the indices (bins may share a
cell), whose own gradient is a gather there: the project's indexing ops, GetItem's
backward and its own.

Bins that tile the input could go through max pooling's window kernels instead. On
NumPy they were no faster without gradients and slower with them: a (32, 64, 14, 14)
float32 batch into 7 x 7, forward and backward, took 0.81 ms there and 0.71 ms here,
and with the indices 1.36 ms against 0.72 (timeit, one thread; PyTorch's CPU kernels
took 2.3 ms)."""
import functools

from ... import grad_mode
from ...tensor import Tensor
from ..indexing import GetItem, save_index
from ..shape import reshape
from .plane_indexing import flat_index

# Bins of more cells than this reduce along a last axis, one row per bin: the loop
# over a bin's cells that _first_max_at runs costs more than NumPy's argmax along
# such rows (one bin of 1,000 cells in each of 2,048 planes: 2.3 ms against 0.13).
WIDE_BIN = 64


@functools.lru_cache(maxsize=256)
def _bins(size, n):
    """(starts, stops, cells, width) of PyTorch's n adaptive bins over an axis of
    ``size``: ``cells`` lists, bin after bin, ``width`` cells each, a narrower bin's
    last cell repeated to fill it."""
    starts = tuple(i * size // n for i in range(n))
    stops = tuple(-(-(i + 1) * size // n) for i in range(n))
    width = max((b - a for a, b in zip(starts, stops)), default=1)
    cells = tuple(min(a + j, b - 1) for a, b in zip(starts, stops) for j in range(width))
    return starts, stops, cells, width


def _cells(xp, data, axis, size, n):
    """``data`` with ``axis`` (of ``size``) replaced by (n, width) cells, the bins' cells;
    a reshape where the bins tile the axis, else a take."""
    _, _, cells, width = _bins(size, n)
    shape = data.shape[:axis] + (n, width) + data.shape[axis + 1:]
    if n == 0 or size % n:
        data = xp.take(data, xp.asarray(cells, dtype=xp.int64), axis=axis)
    return xp.reshape(data, shape)


def _bin_cells(xp, data, out_size, cells_last):
    """The cells of the bins of (N, C, H, W) ``data``, in row-major order within a bin:
    as a (KH * KW, N, C, OH, OW) array, one slice per cell, or with ``cells_last``, as
    (N, C, OH, OW, KH * KW), one row per bin (a view of a contiguous input when one bin
    covers it all)."""
    n, c, h, w = data.shape
    (oh, ow), kh, kw = out_size, _bins(h, out_size[0])[3], _bins(w, out_size[1])[3]
    cells = _cells(xp, _cells(xp, data, 2, h, oh), 4, w, ow)  # (N, C, OH, KH, OW, KW)
    if cells_last:
        return xp.reshape(xp.permute_dims(cells, (0, 1, 2, 4, 3, 5)), (n, c, oh, ow, kh * kw))
    # flattened first, so that the cells land in this order in memory (a reshape that
    # could keep a strided view did: (32, 64, 1000) into 333 bins then took 21 ms, not 0.5)
    flat = xp.reshape(xp.permute_dims(cells, (3, 5, 0, 1, 2, 4)), (-1,))
    return xp.reshape(flat, (kh * kw, n, c, oh, ow))


def _first_max_at(backend, cells, m):
    """Per bin, the position in ``cells`` (from _bin_cells, cells first) of PyTorch's pick:
    the first cell equal to the maximum ``m``, or, in a bin whose maximum is NaN, its last
    NaN. Counted as the number of cells before it: a running count with masks, which ran
    4 times as fast as a chain of NumPy's where, and 10 times as fast as its argmax
    along the first axis."""
    xp = backend.xp
    k = cells.shape[0]
    at = xp.zeros(m.shape, dtype=xp.int64)
    found = cells[0, ...] == m
    for i in range(1, k):
        at += xp.astype(~found, xp.int64)
        if i < k - 1:
            found |= cells[i, ...] == m
    if backend.may_hold_nan(m):
        last_nan = xp.full(m.shape, k - 1, dtype=xp.int64)
        found = xp.isnan(cells[k - 1, ...])
        for i in range(k - 2, -1, -1):
            last_nan -= xp.astype(~found, xp.int64)
            found |= xp.isnan(cells[i, ...])
        at = xp.where(xp.isnan(m), last_nan, at)
    return at


def _first_max_along_last(backend, cells, m):
    """_first_max_at for ``cells`` laid out cells last: an argmax per row."""
    xp = backend.xp
    at = xp.astype(xp.argmax(cells, axis=-1), xp.int64)  # the first maximum
    if backend.may_hold_nan(m):
        flipped = xp.astype(xp.flip(xp.isnan(cells), axis=-1), xp.int8)
        at = xp.where(xp.isnan(m), (cells.shape[-1] - 1) - xp.argmax(flipped, axis=-1), at)
    return at


def _flat_positions(xp, h, w, out_size):
    """A (KH * KW * OH * OW,) int64 table: entry (cell, bin) is the flat position
    (row * W + col) of that cell of that bin; a repeated cell gives the one it repeats."""
    oh, ow = out_size
    _, _, rows, kh = _bins(h, oh)
    _, _, cols, kw = _bins(w, ow)
    rows = xp.permute_dims(xp.reshape(xp.asarray(rows, dtype=xp.int64), (oh, kh)), (1, 0))
    cols = xp.permute_dims(xp.reshape(xp.asarray(cols, dtype=xp.int64), (ow, kw)), (1, 0))
    table = xp.reshape(rows, (kh, 1, oh, 1)) * w + xp.reshape(cols, (1, kw, 1, ow))
    return xp.reshape(table, (kh * kw * oh * ow,))


def _bin_max(backend, data, out_size, with_indices):
    """The maximum of each bin of (N, C, H, W) ``data`` and, with ``with_indices``, the
    flat index of the cell PyTorch takes it from (else None), both (N, C, OH, OW)."""
    xp = backend.xp
    (h, w), (oh, ow) = data.shape[2:], out_size
    cells_last = _bins(h, oh)[3] * _bins(w, ow)[3] > WIDE_BIN
    cells = _bin_cells(xp, data, out_size, cells_last)
    m = xp.max(cells, axis=-1 if cells_last else 0)
    if not with_indices:
        return m, None
    at = (_first_max_along_last if cells_last else _first_max_at)(backend, cells, m)
    bins = xp.reshape(xp.arange(oh * ow, dtype=xp.int64), (oh, ow))
    where = xp.reshape(at * (oh * ow) + bins, (-1,))
    return m, xp.reshape(xp.take(_flat_positions(xp, h, w, out_size), where), m.shape)


class AdaptiveMaxPool2d(GetItem):
    """The bins' maxima as a gather from the flattened batch at their indices, so that
    the gradient is GetItem's (a scatter-add there, differentiable again), under a name
    of its own in graphs and profiles. _bin_max found the maxima already, so forward
    returns them instead of gathering them a second time."""

    @staticmethod
    def forward(ctx, flat, index, advanced, maxima):
        ctx.x_shape, ctx.advanced = flat.data.shape, advanced
        save_index(ctx, index)
        return maxima

    @staticmethod
    def backward(ctx, gy):
        return (*GetItem.backward(ctx, gy), None)


def adaptive_max_pool2d(x, out_size, with_indices):
    """(N, C, H, W) ``x`` max-pooled into ``out_size`` adaptive bins; returns the output
    and, with ``with_indices``, the int64 (N, C, OH, OW) indices (outside the graph),
    else None."""
    h, w = x.shape[2:]
    backend = x._backend
    recorded = x.requires_grad and grad_mode.state.enabled  # else the gradient's index is not needed
    m, indices = _bin_max(backend, x.data, out_size, with_indices or recorded)
    if recorded:
        y = AdaptiveMaxPool2d.apply(reshape(x, (-1,)), (flat_index(backend, indices, h * w),), True, m)
    else:
        y = Tensor._make(m, backend)
    return y, (Tensor._make(indices, backend) if with_indices else None)
