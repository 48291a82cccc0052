"""3-D pooling as two passes of the 2-D kernels: one over the (H, W) plane of every
depth slice, then one down depth, a (KD, 1) window over the (D, OH * OW) grid of the
first pass's outputs. A box is the product of a plane window and a run of depth
slices, so its maximum (or sum) is the maximum (sum) over those slices of their
plane windows' maxima (sums), and two passes give 3-D pooling exactly. The plane
pass goes first: it shrinks the data most, and only that order picks PyTorch's cell.

PyTorch's kernels scan a box in raster order (depth, row, column) and keep a value
that is greater or NaN: the first maximum, or in a box holding NaN its last NaN.
The first maximum in raster order lies in the first slice whose plane maximum is the
box's, at that slice's first maximum, and the last NaN in the last slice holding one,
at its last NaN; each pass picks exactly that (the first maximum, or the last NaN;
in a box of -inf, its first cell inside the input), so the gradient and the indices
land where PyTorch's do.

Each pass runs over a (1, B, rows, columns) view, B the batch's planes (or volumes)
laid end to end: max pooling lays its gradient buffer out channels first, (C, N, H,
W), which with N = 1 is the input's own order, so the gradient reshapes back to (N,
C, D, H, W) as a view, not a copy (an (8, 32, 16, 32, 32) float32 batch pooled by 2,
forward and backward, took 11.7 ms, and 12.3 with N the batch). A pass whose window
keeps every cell (kernel 1, stride 1, no padding) is left out by the caller, which
passes None for it, unless both would be (one pass then makes the copy that the
output must be)."""
from ... import grad_mode
from ...tensor import Tensor
from ..shape import reshape
from .adaptive_max_pool import AdaptiveMaxPool2d, _bin_max
from .plane_indexing import flat_index
from .pooling import avg_pool2d, max_pool2d, max_pool2d_with_indices


def _volume_indices(backend, plane_indices, depth_indices, plane_size):
    """Flat (d * H * W + h * W + w) indices into each (D, H, W) volume from the two
    passes' own: ``plane_indices`` (B, D, Q), for the Q outputs of each depth slice's
    plane pass, the cell of its (H, W) plane (``plane_size`` cells) they came from;
    ``depth_indices`` (B, OD, Q), for each final output, the first pass's output it
    came from, as d * Q + q. Either is None where its pass was left out."""
    xp = backend.xp
    if plane_indices is None:  # output q of a slice is its plane's cell q, and Q = H * W
        return depth_indices
    b, d, q = plane_indices.shape
    if depth_indices is None:  # every slice kept in place
        return plane_indices + xp.reshape(xp.arange(d, dtype=xp.int64) * plane_size, (1, d, 1))
    volumes = xp.reshape(xp.arange(b, dtype=xp.int64) * (d * q), (b, 1, 1))
    picked = backend.gather(xp.reshape(plane_indices, (-1,)), depth_indices + volumes)
    return (depth_indices // q) * plane_size + picked


def _two_passes(pool, x, plane, depth, plane_arg, depth_arg):
    """(N, C, D, H, W) ``x`` pooled by ``pool(images, window, arg)`` over the planes,
    then down depth; returns the four stages, each (1, B, rows, columns): the planes,
    the plane pass's outputs, the same as (D, OH * OW) grids, and the depth pass's."""
    n, c, d, h, w = x.shape
    planes = reshape(x, (1, n * c * d, h, w))
    first = planes if plane is None else pool(planes, plane, *plane_arg)
    slices = reshape(first, (1, n * c, d, first.shape[2] * first.shape[3]))
    pooled = slices if depth is None else pool(slices, depth, *depth_arg)
    return planes, first, slices, pooled


def _volumes(pooled, x, first):
    n, c = x.shape[:2]
    return reshape(pooled, (n, c, pooled.shape[2]) + first.shape[2:])


def max_pool3d(x, plane, depth, with_indices):
    """(N, C, D, H, W) ``x`` max-pooled over the 2-D windows ``plane`` (over each (H,
    W) plane) and ``depth`` (over the (D, OH * OW) grid), either None to leave its pass
    out; returns the output and, with ``with_indices``, the int64 flat index of each
    maximum in its (D, H, W) volume (outside the graph), else None."""
    if not with_indices:
        _, first, _, pooled = _two_passes(max_pool2d, x, plane, depth, (), ())
        return _volumes(pooled, x, first), None
    found = []  # each pass's indices, in the order the passes run

    def pool_noting_indices(images, window):
        y, indices = max_pool2d_with_indices(images, window)
        found.append(indices.data)
        return y
    _, first, slices, pooled = _two_passes(pool_noting_indices, x, plane, depth, (), ())
    y = _volumes(pooled, x, first)
    backend = x._backend
    xp = backend.xp
    n, c, d, h, w = x.shape
    q = slices.shape[3]
    plane_indices = None if plane is None else xp.reshape(found.pop(0), (n * c, d, q))
    depth_indices = None if depth is None else xp.reshape(found.pop(0), (n * c, pooled.shape[2], q))
    indices = _volume_indices(backend, plane_indices, depth_indices, h * w)
    return y, Tensor._make(xp.reshape(indices, y.shape), backend)


def avg_pool3d(x, plane, depth, plane_divisor, depth_divisor):
    """(N, C, D, H, W) ``x`` averaged over the 2-D windows ``plane`` and ``depth`` (as
    ``max_pool3d``'s), each pass dividing by its divisor (a number, or an array that
    broadcasts against its output's last two axes). The caller passes 1 to the first
    pass and each box's whole count to the last, so that a box's sum is divided once,
    as PyTorch's is (a division per pass rounds twice)."""
    _, first, _, pooled = _two_passes(avg_pool2d, x, plane, depth, (plane_divisor,), (depth_divisor,))
    return _volumes(pooled, x, first)


class AdaptiveMaxPool3d(AdaptiveMaxPool2d):
    """AdaptiveMaxPool2d's gather from the flattened batch at the maxima's indices,
    under the 3-D op's name in graphs and profiles."""


def adaptive_max_pool3d(x, out_size, with_indices):
    """(N, C, D, H, W) ``x`` max-pooled into PyTorch's (OD, OH, OW) adaptive bins in
    the two passes (bins are boxes too): the maxima and their indices from the
    adaptive 2-D kernel, over the planes, then down depth; the output is a gather at
    the indices, so its gradient is a scatter-add there. Returns the output and, with
    ``with_indices``, the int64 indices (outside the graph), else None."""
    n, c, d, h, w = x.shape
    od, oh, ow = out_size
    backend = x._backend
    xp = backend.xp
    recorded = x.requires_grad and grad_mode.state.enabled  # else the gradient's index is not needed
    needed = with_indices or recorded
    if (oh, ow) == (h, w) and od != d:  # the plane pass would copy
        first, plane_indices = x.data, None
    else:
        first, plane_indices = _bin_max(backend, xp.reshape(x.data, (n, c * d, h, w)), (oh, ow), needed)
    q = oh * ow
    slices = xp.reshape(first, (n, c, d, q))
    if od == d and plane_indices is not None:  # the depth pass would copy
        m, depth_indices = slices, None
    else:
        m, depth_indices = _bin_max(backend, slices, (od, q), needed)
    m = xp.reshape(m, (n, c) + tuple(out_size))
    if not needed:
        return Tensor._make(m, backend), None
    if not m.size:  # no bins: nothing to index (and no Q to divide by)
        indices = xp.zeros(m.shape, dtype=xp.int64)
    else:
        indices = xp.reshape(_volume_indices(
            backend, None if plane_indices is None else xp.reshape(plane_indices, (n * c, d, q)),
            None if depth_indices is None else xp.reshape(depth_indices, (n * c, od, q)), h * w), m.shape)
    if recorded:
        y = AdaptiveMaxPool3d.apply(reshape(x, (-1,)), (flat_index(backend, indices, d * h * w),), True, m)
    else:
        y = Tensor._make(m, backend)
    return y, (Tensor._make(indices, backend) if with_indices else None)
