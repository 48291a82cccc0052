"""Pooling over 3-D windows, with PyTorch's arguments: ``max_pool3d``, ``avg_pool3d``,
``adaptive_avg_pool3d``, ``adaptive_max_pool3d`` and ``max_unpool3d``, over (N, C, D,
H, W) or unbatched (C, D, H, W) volumes. A box is separable, so each pool runs the
2-D kernels twice, over every depth slice's (H, W) plane, then down depth (see
``autograd.ops.nn_fused.volume_pooling``); here the two 2-D windows are built, checked
and memoized per input size, with the window counts, divisors and bins of PyTorch's
rules (those of ``pooling``, per axis)."""
import functools
import numbers

from autograd.autocast_mode import autocast_op
from autograd.ops import nn_fused
from autograd.ops.elementwise import constant
from autograd.ops.reduction import mean as _mean
from autograd.ops.shape import reshape

from .arguments import batched_volumes, cached, rounded, triple, unbatch, widened
from .pooling import (_avg_divisor, _check_unpool_indices, _check_unpool_range, _make_pool_window, adaptive_sums,
                      _require_non_empty, _unpool_arguments, _unpool_size, _window_counts, pool_arguments)


@functools.lru_cache(maxsize=256, typed=True)
def _make_pool3d_windows(op, kernel_size, stride, padding, dilation, ceil_mode, d, h, w):
    """(plane, depth): the 2-D window over each (H, W) plane and the (KD, 1) window
    down the (D, OH * OW) grid of its outputs; None for a pass that would keep every
    cell, unless both would."""
    kernel, stride, padding, dilation = pool_arguments(op, triple, kernel_size, stride, padding, dilation)
    plane = _make_pool_window(op, kernel[1:], stride[1:], padding[1:], dilation[1:], ceil_mode, h, w)
    oh, ow = plane.out_size
    depth = _make_pool_window(op, (kernel[0], 1), (stride[0], 1), (padding[0], 0), (dilation[0], 1), ceil_mode,
                              d, oh * ow)
    if _keeps_every_cell(plane):
        return None, depth
    return plane, None if _keeps_every_cell(depth) else depth


def _keeps_every_cell(window):
    return window.kernel == (1, 1) and window.stride == (1, 1) and not any(window.padding)


def _pool3d_windows(op, x, kernel_size, stride, padding, dilation, ceil_mode):
    d, h, w = x.shape[2:]
    return cached(_make_pool3d_windows, op, kernel_size, stride, padding, dilation, bool(ceil_mode), d, h, w)


def _require_non_empty_volumes(op, input):
    """Every axis but a batch's must be non-empty (an unbatched input's channels too), as
    PyTorch's 3-D pools require."""
    if 0 in (input.shape[1:] if input.ndim == 5 else input.shape):
        raise ValueError(f"{op}: expected a non-zero size in every axis but the batch's, got shape {input.shape}")


@autocast_op("max_pool3d")
def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over each box (stride defaults to kernel_size). The gradient goes to the
    first maximum of each box in (depth, row, column) order (its last NaN where it
    holds one), as in PyTorch; ``return_indices`` also gives its flat index
    (d * H * W + h * W + w) into each input volume."""
    op = "max_pool3d"
    x, unbatched = batched_volumes(op, input)
    _require_non_empty_volumes(op, input)
    plane, depth = _pool3d_windows(op, x, kernel_size, stride, padding, dilation, ceil_mode)
    y, indices = nn_fused.max_pool3d(x, plane, depth, return_indices)
    if not return_indices:
        return unbatch(y, unbatched)
    return unbatch(y, unbatched), unbatch(indices, unbatched)


@autocast_op("avg_pool3d")
def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over each box (stride defaults to kernel_size). With padding, the count
    includes padded zeros unless ``count_include_pad=False``, as in PyTorch; a box's
    count is the product of its counts along the three axes."""
    op = "avg_pool3d"
    x, unbatched = batched_volumes(op, input)
    _require_non_empty_volumes(op, input)
    plane, depth = _pool3d_windows(op, x, kernel_size, stride, padding, 1, ceil_mode)
    kernel = triple(op, "kernel_size", kernel_size, 1)
    if any(size < k for size, k in zip(x.shape[2:], kernel)):
        # PyTorch's avg_pool3d (alone among the pools) refuses this, whatever the padding or ceil_mode
        raise ValueError(f"{op}: the input's (D, H, W) {x.shape[2:]} is smaller than kernel_size {kernel}; each "
                         "axis must be at least as long as the kernel, whatever the padding: use a smaller "
                         "kernel_size")
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, numbers.Integral) \
                or divisor_override <= 0:
            raise ValueError(f"{op}: divisor_override must be a positive int, got {divisor_override!r}")
    # float16 boxes sum in float32, rounded once at the end, as PyTorch's: a plane's float16
    # sum would overflow where the box's mean does not, and each pass would round again
    dtype, x = x.dtype, widened(x)
    if divisor_override is not None:
        divisor = int(divisor_override)
    else:
        divisor = _box_divisor(x, plane, depth, count_include_pad)
    # One division of each box's sum, as PyTorch's: the first pass sums, the last divides
    # (a pass each, 3x3x3's sum / 9 / 3, was off by an ulp, and a box of whole numbers
    # summing to 0 came out 1.9e-17)
    plane_divisor, depth_divisor = (1, divisor) if depth is not None else (divisor, None)
    y = nn_fused.avg_pool3d(x, plane, depth, plane_divisor, depth_divisor)
    return unbatch(rounded(y, dtype), unbatched)


def _box_divisor(x, plane, depth, count_include_pad):
    """Each box's count, the product of its plane window's and its depth run's: a number
    where all agree, else an array that broadcasts against the last pass's (OD, OH * OW)
    output (or the plane pass's (OH, OW) where there is no depth pass)."""
    plane_counts = 1 if plane is None else _avg_divisor(x, plane, count_include_pad)
    if depth is None:
        return plane_counts
    depth_counts = _depth_divisor(x, depth, count_include_pad)
    if not hasattr(plane_counts, "shape"):
        return depth_counts * plane_counts
    xp = x._backend.xp
    return depth_counts * xp.reshape(plane_counts, (1, -1))


def _depth_divisor(x, window, count_include_pad):
    """The depth pass's counts: a number when every window agrees, else an (OD, 1)
    array (its windows are one column wide)."""
    counts = _window_counts(window.in_size[0], window.kernel[0], window.stride[0], window.padding[0],
                            window.out_size[0], count_include_pad)
    if len(set(counts)) == 1:
        return counts[0]
    xp = x._backend.xp
    return xp.reshape(xp.asarray(counts, dtype=x.data.dtype), (len(counts), 1))


def _adaptive_size(op, output_size, sizes):
    """An adaptive pool's (OD, OH, OW): an int, or a triple whose None entries keep that
    input size."""
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 3:
            raise TypeError(f"{op}: output_size must be an int or a triple, not {output_size!r}")
        output_size = tuple(size if v is None else v for v, size in zip(output_size, sizes))
    return triple(op, "output_size", output_size, 0)


@autocast_op("adaptive_avg_pool3d")
def adaptive_avg_pool3d(input, output_size):
    """Average over PyTorch's adaptive bins (bin i of n over a size-L axis spans
    [floor(i L / n), ceil((i + 1) L / n))), per axis: over each depth slice's plane,
    then down depth. An output size of 0 gives an empty output, as in PyTorch."""
    op = "adaptive_avg_pool3d"
    x, unbatched = batched_volumes(op, input)
    _require_non_empty(op, input)
    n, c, d, h, w = x.shape
    od, oh, ow = _adaptive_size(op, output_size, (d, h, w))
    if not (od and oh and ow):
        y = reshape(x[:, :, :0, :0, :0], (n, c, od, oh, ow))  # empty, and still of the graph
    elif (od, oh, ow) == (1, 1, 1):
        y = _mean(x, (2, 3, 4), keepdims=True)
    else:
        # Sums per pass, divided by each bin's depth, height and width in turn, as PyTorch's
        # (a mean per pass rounded each); float16 in float32, rounded once
        dtype, x = x.dtype, widened(x)
        xp = x._backend.xp
        divisors = []  # (bin sizes, the shape that broadcasts them) along each axis resized
        y = reshape(x, (n, c, d, h * w))
        if (oh, ow) != (h, w):  # else the plane pass would copy
            y, heights, widths = adaptive_sums(reshape(x, (n, c * d, h, w)), oh, ow)
            divisors += [(heights, (oh, 1)), (widths, (ow,))]
        if od != d:
            y, depths, _ = adaptive_sums(reshape(y, (n, c, d, oh * ow)), od, oh * ow)
            divisors.insert(0, (depths, (od, 1, 1)))
        y = reshape(y, (n, c, od, oh, ow))
        for counts, shape in divisors:
            y = y / constant(xp.reshape(counts, shape), y)
        y = rounded(y if divisors else y * 1, dtype)  # (a new tensor where every axis keeps its size)
    return unbatch(y, unbatched)


@autocast_op("adaptive_max_pool3d")
def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max over PyTorch's adaptive bins (see ``adaptive_avg_pool3d``); an output size of
    0 gives an empty output, as in PyTorch. The gradient goes to the first maximum of
    each bin in (depth, row, column) order (its last NaN where it holds one), and
    ``return_indices`` also gives its flat index into each input volume, as
    ``max_pool3d``'s."""
    op = "adaptive_max_pool3d"
    x, unbatched = batched_volumes(op, input)
    _require_non_empty(op, input)
    size = _adaptive_size(op, output_size, x.shape[2:])
    y, indices = nn_fused.adaptive_max_pool3d(x, size, return_indices)
    if not return_indices:
        return unbatch(y, unbatched)
    return unbatch(y, unbatched), unbatch(indices, unbatched)


@autocast_op("max_unpool3d")
def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of ``max_pool3d``: zeros with each input value written at its
    index, flat in its output volume as ``max_pool3d(..., return_indices=True)`` gives
    it. The output is (in - 1) * stride - 2 * padding + kernel_size per axis (stride
    defaults to kernel_size), or ``output_size`` (three sizes, or five whose last three
    count), which must lie within a stride of that, as in PyTorch. The gradient of each
    input value is the output gradient at its index; ``indices`` takes none."""
    op = "max_unpool3d"
    x, unbatched = batched_volumes(op, input)
    _require_non_empty(op, input)
    _check_unpool_indices(op, input, indices)
    kernel, stride, padding = _unpool_arguments(op, triple, kernel_size, stride, padding)
    od, oh, ow = _unpool_size(op, x.shape[2:], kernel, stride, padding, output_size)
    # a volume is a (D, H * W) plane of max_unpool2d's, whose flat indices are the volume's
    _check_unpool_range(op, indices, (od, oh * ow), f"{od}x{oh}x{ow}")
    n, c, d, h, w = x.shape
    index = x._backend.xp.reshape(indices.data, (n, c, d, h * w))
    y = nn_fused.max_unpool2d(reshape(x, (n, c, d, h * w)), index, (od, oh * ow))
    return unbatch(reshape(y, (n, c, od, oh, ow)), unbatched)
