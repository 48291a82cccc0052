"""Pooling over 2-D windows: ``max_pool2d`` and ``avg_pool2d`` through the fused
window kernels, ``adaptive_avg_pool2d`` and ``adaptive_max_pool2d`` over PyTorch's
adaptive bins, and ``max_unpool2d``, which puts max pooling's maxima back; their 1-D
forms run the same kernels over (N, C, 1, L) views of sequences. The window
(kernel, stride, padding, dilation, ceil_mode) is checked and memoized per input
size, as a layer asks for the same few windows every step; window counts, divisors
and bins follow PyTorch's rules."""
import functools
import numbers

from autograd.autocast_mode import autocast_op
from autograd.ops import nn_fused
from autograd.ops.elementwise import constant, where
from autograd.ops.reduction import mean as _mean, sum as _sum
from autograd.ops.shape import reshape, transpose

from .arguments import (batched_images, batched_sequences_as_images, cached, kind, pair, require_tensor,
                        rounded, sequences_from_images, single, unbatch, widened, window_out)


def _pool_window(op, x, kernel_size, stride, padding, dilation, ceil_mode):
    h, w = x.shape[-2:]
    return cached(_make_pool_window, op, kernel_size, stride, padding, dilation, bool(ceil_mode), h, w)


def pool_arguments(op, ntuple, kernel_size, stride, padding, dilation=1):
    """A pool's kernel, stride, padding and dilation as ``ntuple`` (single, pair or
    triple) gives them, with PyTorch's rules: the stride defaults to the kernel (None or
    an empty sequence), and padding is at most half the kernel."""
    kernel = ntuple(op, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and not stride) \
        else ntuple(op, "stride", stride, 1)
    padding = ntuple(op, "padding", padding, 0)
    dilation = ntuple(op, "dilation", dilation, 1)
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel size {kernel}")
    return kernel, stride, padding, dilation


@functools.lru_cache(maxsize=256, typed=True)
def _make_pool_window(op, kernel_size, stride, padding, dilation, ceil_mode, h, w):
    kernel, stride, padding, dilation = pool_arguments(op, pair, kernel_size, stride, padding, dilation)
    out, pads = [], []
    for size, k, s, d, p in zip((h, w), kernel, stride, dilation, padding):
        n = window_out(op, size, k, s, d, p, p, ceil_mode)
        out.append(n)
        # ceil_mode may let the last window run past the padding: pad that much more
        pads.append((p, max(p, (n - 1) * s + d * (k - 1) + 1 - size - p)))
    return nn_fused.Window(kernel, stride, dilation, (*pads[0], *pads[1]), (h, w), tuple(out))


@functools.lru_cache(maxsize=256, typed=True)
def _make_pool1d_window(op, kernel_size, stride, padding, dilation, ceil_mode, length):
    """The 2-D window over a 1 x length image with a 1 x kernel_size kernel."""
    (k,) = single(op, "kernel_size", kernel_size, 1)
    # (not stride == (): a NumPy integer compared with () is an empty array, not False)
    (s,) = (k,) if stride is None or isinstance(stride, (tuple, list)) and not stride \
        else single(op, "stride", stride, 1)
    (p,) = single(op, "padding", padding, 0)
    (d,) = single(op, "dilation", dilation, 1)
    if p > k // 2:
        raise ValueError(f"{op}: padding {p} must be at most half the kernel size {k}")
    return _make_pool_window(op, (1, k), (1, s), (0, p), (1, d), ceil_mode, 1, length)


def _pool1d_window(op, x, kernel_size, stride, padding, dilation, ceil_mode):
    return cached(_make_pool1d_window, op, kernel_size, stride, padding, dilation, bool(ceil_mode), x.shape[3])


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over each window (stride defaults to kernel_size). The gradient goes to
    the first maximum of each window (its last NaN where it holds one), as in
    PyTorch; ``return_indices`` also gives its flat index into each input plane."""
    x, unbatched = batched_images("max_pool2d", input)
    window = _pool_window("max_pool2d", x, kernel_size, stride, padding, dilation, ceil_mode)
    if not return_indices:
        return unbatch(nn_fused.max_pool2d(x, window), unbatched)
    y, indices = nn_fused.max_pool2d_with_indices(x, window)
    return unbatch(y, unbatched), unbatch(indices, unbatched)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over each window (stride defaults to kernel_size). With padding, the
    count includes padded zeros unless ``count_include_pad=False``, as in PyTorch."""
    op = "avg_pool2d"
    x, unbatched = batched_images(op, input)
    window = _pool_window(op, x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, numbers.Integral) \
                or divisor_override <= 0:
            raise ValueError(f"{op}: divisor_override must be a positive int, got {divisor_override!r}")
        divisor = int(divisor_override)
    else:
        divisor = _avg_divisor(x, window, count_include_pad)
    return unbatch(nn_fused.avg_pool2d(x, window, divisor), unbatched)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """``max_pool2d`` over the (N, C, 1, L) view of (N, C, L) or (C, L); the indices
    are positions along L."""
    op = "max_pool1d"
    x, unbatched = batched_sequences_as_images(op, input)
    window = _pool1d_window(op, x, kernel_size, stride, padding, dilation, ceil_mode)
    if not return_indices:
        return sequences_from_images(nn_fused.max_pool2d(x, window), unbatched)
    y, indices = nn_fused.max_pool2d_with_indices(x, window)
    return sequences_from_images(y, unbatched), sequences_from_images(indices, unbatched)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """``avg_pool2d`` over the (N, C, 1, L) view of (N, C, L) or (C, L)."""
    op = "avg_pool1d"
    x, unbatched = batched_sequences_as_images(op, input)
    window = _pool1d_window(op, x, kernel_size, stride, padding, 1, ceil_mode)
    y = nn_fused.avg_pool2d(x, window, _avg_divisor(x, window, count_include_pad))
    return sequences_from_images(y, unbatched)


def _avg_divisor(x, window, count_include_pad):
    """PyTorch's count per window: clipped to the padded input (or, without
    count_include_pad, to the input itself); a number when every window agrees."""
    (h, w), (kh, kw), (sh, sw), (top, _, left, _), (oh, ow) = (window.in_size, window.kernel, window.stride,
                                                               window.padding, window.out_size)
    rows = _window_counts(h, kh, sh, top, oh, count_include_pad)
    cols = _window_counts(w, kw, sw, left, ow, count_include_pad)
    if len(set(rows)) == 1 and len(set(cols)) == 1:
        return rows[0] * cols[0]
    xp = x._backend.xp
    dtype = x.data.dtype
    return xp.reshape(xp.asarray(rows, dtype=dtype), (len(rows), 1)) * xp.asarray(cols, dtype=dtype)


def _window_counts(size, kernel, stride, padding, n, count_include_pad):
    """The count of each of the n windows along one axis, as _avg_divisor takes it."""
    counts = []
    for i in range(n):
        start = i * stride - padding
        end = min(start + kernel, size + padding)
        if not count_include_pad:
            start, end = max(start, 0), min(end, size)
        counts.append(end - start)
    return counts


@autocast_op("adaptive_avg_pool2d")
def adaptive_avg_pool2d(input, output_size):
    """Average over PyTorch's adaptive bins: bin i of n over a size-L axis spans
    [floor(i L / n), ceil((i + 1) L / n)). A pool when the sizes divide evenly,
    else two small averaging matrices (bins are separable by axis). An output size of
    0 gives an empty output, as in PyTorch."""
    op = "adaptive_avg_pool2d"
    x, unbatched = batched_images(op, input)
    h, w = x.shape[2:]
    if not h or not w:
        raise ValueError(f"{op}: the input's height and width must be non-zero (there is nothing to average), "
                         f"got shape {input.shape}")
    oh, ow = _adaptive_size(op, output_size, h, w, 0)
    return unbatch(_adaptive_avg(x, oh, ow), unbatched)


def _adaptive_size(op, output_size, h, w, minimum):
    """An adaptive pool's (OH, OW): an int, or a pair whose None entries keep that input size."""
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2:
        oh, ow = (h if output_size[0] is None else output_size[0], w if output_size[1] is None else output_size[1])
    elif isinstance(output_size, (tuple, list)):
        raise TypeError(f"{op}: output_size must be an int or a pair, not {output_size!r}")
    else:
        oh = ow = output_size
    return pair(op, "output_size", (oh, ow), minimum)


@autocast_op("adaptive_avg_pool1d")
def adaptive_avg_pool1d(input, output_size):
    """``adaptive_avg_pool2d`` over the (N, C, 1, L) view of (N, C, L) or (C, L)."""
    op = "adaptive_avg_pool1d"
    x, unbatched = batched_sequences_as_images(op, input)
    if not x.shape[3]:
        raise ValueError(f"{op}: the input's length must be non-zero (there is nothing to average), "
                         f"got shape {input.shape}")
    (n,) = single(op, "output_size", output_size, 0)
    return sequences_from_images(_adaptive_avg(x, 1, n), unbatched)


def _adaptive_avg(x, oh, ow):
    """(N, C, H, W) averaged into PyTorch's oh x ow adaptive bins: each bin's sum divided
    by its height, then by its width, as PyTorch's."""
    n, c, h, w = x.shape
    if not (oh and ow):
        return reshape(x[:, :, :0, :0], (n, c, oh, ow))  # empty, and still of the graph
    if (oh, ow) == (1, 1):
        return _mean(x, (2, 3), keepdims=True)  # (PyTorch's mean too)
    if h % oh == 0 and w % ow == 0 and (_power_of_two(h // oh) or _power_of_two(w // ow)):
        # Even bins, one division by their size: the same as PyTorch's two where either
        # side is a power of two (that division is exact); 30% faster than the sums' path
        k = (h // oh, w // ow)
        window = nn_fused.Window(k, k, (1, 1), (0, 0, 0, 0), (h, w), (oh, ow))
        return nn_fused.avg_pool2d(x, window, k[0] * k[1])
    # float16 in float32, rounded once, as PyTorch's: in float16 each product rounded
    dtype, x = x.dtype, widened(x)
    y, rows, columns = adaptive_sums(x, oh, ow)
    xp = x._backend.xp
    if oh != h:  # (bins of one cell divide by 1)
        y = y / constant(xp.reshape(rows, (oh, 1)), y)
    if ow != w:
        y = y / constant(columns, y)
    return rounded(y, dtype)


def adaptive_sums(x, oh, ow):
    """(N, C, H, W) summed over PyTorch's oh x ow adaptive bins, and the bins' heights
    (oh,) and widths (ow,): PyTorch's means are the sums divided by the one, then by the
    other (averaging per axis, with rounded 1/count weights, was off by an ulp or two,
    and a bin of whole numbers summing to 0 came out 1e-17)."""
    h, w = x.shape[2:]
    rows, columns = _bin_counts(x, oh, h), _bin_counts(x, ow, w)
    if h % oh == 0 and w % ow == 0:
        k = (h // oh, w // ow)
        window = nn_fused.Window(k, k, (1, 1), (0, 0, 0, 0), (h, w), (oh, ow))
        return nn_fused.avg_pool2d(x, window, 1), rows, columns
    # One summing matrix per axis (an axis kept at its size, a 1-D input's, needs none):
    # fast, but its zeros times an inf or NaN would make NaN bins that do not hold it, so
    # an input holding one takes the gather of each bin's own cells (8x slower backward).
    xp = x._backend.xp
    if bool(xp.all(xp.isfinite(x.data))):
        y = x if oh == h else _bin_matrix(x, oh, h) @ x
        y = y if ow == w else y @ transpose(_bin_matrix(x, ow, w))
    else:
        y = x if oh == h else _bin_sum(x, oh, 2)
        y = y if ow == w else _bin_sum(y, ow, 3)
    return y, rows, columns


def _power_of_two(k):
    return k & (k - 1) == 0


def _bins(n, size):
    """PyTorch's n adaptive bins over an axis of ``size``: bin i spans [floor(i size / n),
    ceil((i + 1) size / n))."""
    return [((i * size) // n, -(-((i + 1) * size) // n)) for i in range(n)]


def _bin_counts(like, n, size):
    """(n,): the cell count of each bin, in like's dtype."""
    return like._backend.asarray([float(end - start) for start, end in _bins(n, size)], dtype=like.dtype)


def _bin_matrix(like, n, size):
    """(n, size): row i sums PyTorch's adaptive bin i (ones over its cells)."""
    values = [[0.0] * size for _ in range(n)]
    for i, (start, end) in enumerate(_bins(n, size)):
        for j in range(start, end):
            values[i][j] = 1.0
    backend = like._backend
    return constant(backend.asarray(values, dtype=like.dtype), like)


def _bin_sum(x, n, axis):
    """(N, C, H, W) summed into PyTorch's n adaptive bins along ``axis`` (2 or 3): each
    bin's cells gathered (a short bin padded with its last cell, masked out) and summed,
    so an inf or NaN reaches only the bins that hold it, as in PyTorch."""
    bins = _bins(n, x.shape[axis])
    width = max(end - start for start, end in bins)
    index = [[min(start + j, end - 1) for j in range(width)] for start, end in bins]
    inside = [[start + j < end for j in range(width)] for start, end in bins]
    xp = x._backend.xp
    index, inside = xp.asarray(index, dtype=xp.int64), xp.asarray(inside, dtype=xp.bool)
    if axis == 2:  # (N, C, n, width, W)
        cells = x[:, :, constant(index, x), :]
        inside = xp.reshape(inside, (n, width, 1))
    else:  # (N, C, H, n, width)
        cells = x[:, :, :, constant(index, x)]
    return _sum(where(constant(inside, x), cells, 0), axis + 1)  # over each bin's cells


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over PyTorch's adaptive bins (see ``adaptive_avg_pool2d``); an output size of 0
    gives an empty output, as in PyTorch. The gradient goes to the first maximum of each
    bin (its last NaN where it holds one), and ``return_indices`` also gives its flat
    index into each input plane, as ``max_pool2d``'s."""
    op = "adaptive_max_pool2d"
    x, unbatched = batched_images(op, input)
    _require_non_empty(op, input)
    size = _adaptive_size(op, output_size, *x.shape[2:], 0)
    y, indices = nn_fused.adaptive_max_pool2d(x, size, return_indices)
    if not return_indices:
        return unbatch(y, unbatched)
    return unbatch(y, unbatched), unbatch(indices, unbatched)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """``adaptive_max_pool2d`` over the (N, C, 1, L) view of (N, C, L) or (C, L); the
    indices are positions along L."""
    op = "adaptive_max_pool1d"
    x, unbatched = batched_sequences_as_images(op, input)
    _require_non_empty(op, input)
    (n,) = single(op, "output_size", output_size, 0)
    y, indices = nn_fused.adaptive_max_pool2d(x, (1, n), return_indices)
    if not return_indices:
        return sequences_from_images(y, unbatched)
    return sequences_from_images(y, unbatched), sequences_from_images(indices, unbatched)


def _require_non_empty(op, input):
    """Every axis but the first (the batch's, or an unbatched input's channels) must be
    non-empty, as PyTorch requires."""
    if 0 in input.shape[1:]:
        raise ValueError(f"{op}: expected a non-zero size in every axis but the first, got shape {input.shape}")


def _unpool_arguments(op, ntuple, kernel_size, stride, padding):
    """An unpool's kernel, stride (the kernel by default) and padding, as ``ntuple``
    (single, pair or triple) gives them."""
    kernel = ntuple(op, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None else ntuple(op, "stride", stride, 1)
    return kernel, stride, ntuple(op, "padding", padding, 0)


@autocast_op("max_unpool2d")
def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of ``max_pool2d``: zeros with each input value written at its
    index, flat in its output plane as ``max_pool2d(..., return_indices=True)`` gives it.
    The output is (in - 1) * stride - 2 * padding + kernel_size per axis (stride defaults
    to kernel_size), or ``output_size`` (two sizes, or four whose last two count), which
    must lie within a stride of that, as in PyTorch. The gradient of each input value is
    the output gradient at its index; ``indices`` takes none."""
    op = "max_unpool2d"
    x, unbatched = batched_images(op, input)
    _require_non_empty(op, input)
    _check_unpool_indices(op, input, indices)
    kernel, stride, padding = _unpool_arguments(op, pair, kernel_size, stride, padding)
    size = _unpool_size(op, x.shape[2:], kernel, stride, padding, output_size)
    _check_unpool_range(op, indices, size, f"{size[0]}x{size[1]}")
    index = x._backend.xp.reshape(indices.data, x.shape)
    return unbatch(nn_fused.max_unpool2d(x, index, size), unbatched)


@autocast_op("max_unpool1d")
def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """``max_unpool2d`` over (N, C, L) or (C, L) inputs, ``indices`` being positions along
    the output's length (as ``max_pool1d`` gives them); ``output_size`` holds one size,
    or three whose last counts."""
    op = "max_unpool1d"
    x, unbatched = batched_sequences_as_images(op, input)
    _require_non_empty(op, input)
    _check_unpool_indices(op, input, indices)
    kernel, stride, padding = _unpool_arguments(op, single, kernel_size, stride, padding)
    (length,) = _unpool_size(op, x.shape[3:], kernel, stride, padding, output_size)
    _check_unpool_range(op, indices, (1, length), f"{length}")
    index = x._backend.xp.reshape(indices.data, x.shape)
    return sequences_from_images(nn_fused.max_unpool2d(x, index, (1, length)), unbatched)


def _check_unpool_indices(op, input, indices):
    require_tensor(op, indices, "indices")
    if kind(indices) not in "iu":
        raise TypeError(f"{op}: indices must be an integer tensor (int64, as max pooling's return_indices gives), "
                        f"not {indices.dtype}")
    if indices._backend is not input._backend:
        raise ValueError(f"{op}: indices are on {indices.device} but the input is on {input.device}; "
                         "move one with .to(device)")
    if indices.shape != input.shape:
        raise ValueError(f"{op}: indices must have the input's shape {input.shape}, got {indices.shape}")


def _unpool_size(op, in_size, kernel, stride, padding, output_size):
    """PyTorch's unpooled size per axis: (in - 1) * stride - 2 * padding + kernel, or the
    last len(kernel) entries of ``output_size``, which must each lie strictly within a
    stride of that and be non-negative."""
    axes = len(kernel)
    default = tuple((n - 1) * s - 2 * p + k for n, k, s, p in zip(in_size, kernel, stride, padding))
    if output_size is None:
        size = default
    else:
        if not isinstance(output_size, (tuple, list)) or not all(
                isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in output_size):
            raise TypeError(f"{op}: output_size must be a tuple of ints, not {output_size!r}")
        if len(output_size) not in (axes, axes + 2):
            raise ValueError(f"{op}: output_size must hold {axes} or {axes + 2} sizes, got {len(output_size)}: "
                             f"{tuple(output_size)}")
        size = tuple(int(v) for v in output_size[-axes:])
        for axis, (n, d, s) in enumerate(zip(size, default, stride)):
            if not d - s < n < d + s:
                raise ValueError(f"{op}: output_size {tuple(output_size)} is out of range: size {axis} must be "
                                 f"between {d - s} and {d + s}, exclusive (the default, {d}, plus or minus the "
                                 f"stride {s})")
    for axis, n in enumerate(size):
        if n < 0:
            raise ValueError(f"{op}: the output size must be non-negative, got {n} for spatial axis {axis} "
                             "(the kernel and stride are too small for the padding)")
    return size


def _check_unpool_range(op, indices, size, size_text):
    """Each index must point into an output plane of ``size`` (one device round trip)."""
    if not indices.size:
        return
    backend = indices._backend
    low, high = backend.read_ints(backend.xp.min(indices.data), backend.xp.max(indices.data))
    plane = size[0] * size[1]
    if low < 0 or high >= plane:
        raise ValueError(f"{op}: index {high if high >= plane else low} is out of range for an output of size "
                         f"{size_text} (indices must lie in [0, {plane}); check kernel_size, stride, padding "
                         "and output_size against the max pooling that made them)")
