"""Max and average pooling over 2-D windows, vectorized over the kernel's offsets."""
import math

from backends import dtypes

from ...function import Function
from ...tensor import Tensor
from ..indexing import IndexAdd, save_index, saved_index
from ..shape import reshape
from .cache_blocks import cache_blocks


def _first_max_hits(backend, padded, m, window):
    """Per kernel offset: (rows, cols, mask) where the bool mask marks the windows whose
    maximum PyTorch picks sits at that offset: the first maximum in row-major kernel
    order, and in a window whose maximum is NaN, its last NaN (PyTorch's kernels take
    a value that is greater or NaN)."""
    xp = backend.xp
    last_nans = _last_nan_hits(xp, padded, m, window) if backend.may_hold_nan(m) else None
    # A window of -inf (padding included) has its maximum in the padding too: only cells
    # of the input may hold it, as PyTorch's kernels start from the first of those.
    inside = _inside_input(xp, window) if any(window.padding) else None
    unclaimed = None  # windows whose maximum is not found yet (a NaN window stays so)
    last = window.kernel[0] * window.kernel[1] - 1
    for k, rows, cols in window.offsets():
        hit = padded[..., rows, cols] == m
        if inside is not None:
            hit &= inside[k]
        if unclaimed is None:
            unclaimed = ~hit
        else:
            hit &= unclaimed
            if k != last:
                unclaimed ^= hit  # hit lies within unclaimed: this clears exactly the hits
        if last_nans is not None:
            hit |= last_nans[k]
        yield rows, cols, hit


def _inside_input(xp, window):
    """Per kernel offset, an (OH, OW) bool array: the windows whose cell at that offset
    lies inside the input, not in its padding."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = window.kernel, window.stride, window.dilation, window.out_size
    (h, w), (top, _, left, _) = window.in_size, window.padding
    out = []
    for i in range(kh):
        rows = xp.arange(oh) * sh + (i * dh - top)
        rows_inside = xp.reshape((rows >= 0) & (rows < h), (oh, 1))
        for j in range(kw):
            cols = xp.arange(ow) * sw + (j * dw - left)
            out.append(rows_inside & ((cols >= 0) & (cols < w)))
    return out


def _last_nan_hits(xp, padded, m, window):
    """Per kernel offset, the windows whose maximum is NaN and whose last NaN sits at
    that offset: a walk over the offsets backwards, in the rare case of a NaN."""
    unseen = xp.isnan(m)  # NaN windows whose last NaN is not found yet
    hits = [None] * (window.kernel[0] * window.kernel[1])
    for k, rows, cols in reversed(window.offsets()):
        hits[k] = xp.isnan(padded[..., rows, cols]) & unseen
        unseen = unseen & ~hits[k]
    return hits


def _window_blocks(backend, data, window):
    """Index tuples of the cache_blocks of (N, C, H, W) ``data`` by its padded planes: each kernel offset's
    slices then read a block from cache, not memory (a 3x3 window reads each cell nine times)."""
    hp, wp = window.padded_size
    blocks = cache_blocks(backend, data.shape, hp * wp * backend.xp.finfo(data.dtype).bits // 8)
    return [(a, b, ...) for a, b in blocks]  # (the standard wants every axis named, or an ellipsis)


def _pool_grad_buffer(backend, shape, dtype, window):
    """Memory for a pooled activation's gradient (N, C, H, W), laid out as (C, N, H, W),
    the layout of conv2d's outputs, so that it matches the activation; in scratch
    memory, which the gradients of same-sized activations reuse from step to step.
    It is zeroed where the masked writes will not land: everywhere when windows
    overlap or leave gaps, else only the rows and columns past the last window (the
    writes cover the rest, and zeroing all of it first cost 10% of the gradient)."""
    n, c, h, w = shape
    out = backend.xp.permute_dims(backend.scratch((c, n, h, w), dtype), (1, 0, 2, 3))
    if not window.tiles:
        out[...] = 0
        return out
    (kh, kw), (oh, ow) = window.kernel, window.out_size
    out[..., oh * kh:, :] = 0
    out[..., :oh * kh, ow * kw:] = 0
    return out


class MaxPool2d(Function):
    """Max over each window: an elementwise maximum across the KH*KW kernel-offset
    slices, so the work is vectorized over all windows at once. Where the backend
    has a kernel that finds each maximum and its index (CUDA's) and the windows do not
    overlap, the gradient is a scatter-add at those indices instead, which then adds
    at most one value to each cell: deterministic, unlike atomic adds that collide."""

    @staticmethod
    def forward(ctx, x, window, found):
        """``found``: the backend kernel's (maxima, flat indices) of ``x`` where the
        caller has them already (max_pool2d_with_indices), so that the kernel runs
        once; else None."""
        backend = x._backend
        if found is None and not window.overlapping:
            found = backend.max_pool2d_argmax(x.data, window)
        ctx.by_index = found is not None and not window.overlapping
        if ctx.by_index:  # (neither x nor m is saved: the indices are all backward needs)
            m, at = found
            ctx.x_shape = x.data.shape
            save_index(ctx, (at,))
            return m
        if found is not None:  # overlapping windows: the kernel's maxima, the masked writes' gradient
            m = found[0]
        else:
            xp, data = backend.xp, x.data
            blocks = _window_blocks(backend, data, window)
            m = None if len(blocks) == 1 else xp.empty(data.shape[:2] + window.out_size, dtype=data.dtype)
            for block in blocks:
                padded = window.pad(xp, data[block], -math.inf)
                most, owned = None, False
                for _, rows, cols in window.offsets():
                    part = padded[..., rows, cols]
                    if most is None:
                        most = part
                    elif owned:  # in place, where a fresh array per offset cost 10% (LeNet's first pool)
                        backend.maximum_(most, part)
                    else:
                        most, owned = xp.maximum(most, part), True
                if m is None:  # one block: the maxima themselves (a copy where they are a view of x, a 1x1 kernel's)
                    m = xp.asarray(most, copy=True) if window.kernel == (1, 1) else most
                else:
                    m[block] = most
        ctx.window = window
        ctx.save_for_backward(x, m)
        return m

    @staticmethod
    def backward(ctx, gy):
        if ctx.by_index:  # a scatter-add at the maxima's indices, as adaptive pooling's
            flat = IndexAdd.apply(gy, saved_index(ctx), True, (math.prod(ctx.x_shape),))
            return reshape(flat, ctx.x_shape), None, None
        x, m = ctx.saved_tensors
        return MaxPool2dGrad.apply(gy, x, m, ctx.window), None, None


class MaxPool2dGrad(Function):
    """Sends each window's gradient to its maximum (see _first_max_hits): one masked
    write per kernel offset, never a loop over pixels. Linear in ``gy``."""

    @staticmethod
    def forward(ctx, gy, x, m, window):
        backend = gy._backend
        xp = backend.xp
        ctx.window = window
        ctx.save_for_backward(x, m)
        data, g = x.data, gy.data
        out = _pool_grad_buffer(backend, data.shape[:2] + window.padded_size, g.dtype, window)
        overlapping = window.overlapping
        if not overlapping:  # (a linear layer's gradient, flattened, comes batch-first)
            g = backend.in_memory_order_of(g, out)
        for block in _window_blocks(backend, data, window):  # (out[block]: a view)
            padded, out_block, g_block = window.pad(xp, data[block], -math.inf), out[block], g[block]
            for rows, cols, hit in _first_max_hits(backend, padded, m.data[block], window):
                keep = backend.keep_mask(hit)  # the generator is done with hit
                if overlapping:
                    out_block[..., rows, cols] = out_block[..., rows, cols] + backend.masked(g_block, keep)
                else:  # straight into the strided slice: one pass, not a temporary and a copy
                    backend.masked(g_block, keep, out=out_block[..., rows, cols])
        return window.crop(out)

    @staticmethod
    def backward(ctx, ggx):
        x, m = ctx.saved_tensors
        return MaxPool2dSelect.apply(ggx, x, m, ctx.window), None, None, None


class MaxPool2dSelect(Function):
    """Each window's value at the position of its maximum (of ``x``, see _first_max_hits): the
    adjoint of MaxPool2dGrad, for second derivatives."""

    @staticmethod
    def forward(ctx, values, x, m, window):
        backend = values._backend
        xp = backend.xp
        ctx.window = window
        ctx.save_for_backward(x, m)
        padded_x = window.pad(xp, x.data, -math.inf)
        padded_v = window.pad(xp, values.data, 0)
        out = None
        for rows, cols, hit in _first_max_hits(backend, padded_x, m.data, window):
            part = backend.masked(padded_v[..., rows, cols], backend.keep_mask(hit))
            out = part if out is None else out + part
        return out

    @staticmethod
    def backward(ctx, gy):
        x, m = ctx.saved_tensors
        return MaxPool2dGrad.apply(gy, x, m, ctx.window), None, None, None


def max_pool2d(x, window):
    return MaxPool2d.apply(x, window, None)


def max_pool2d_with_indices(x, window):
    """``max_pool2d`` and the int64 flat (row * W + col) index into its input plane of
    each window's maximum (see _first_max_hits), as PyTorch's return_indices gives,
    outside the graph. A backend kernel that finds both runs once for the two."""
    backend = x._backend
    found = backend.max_pool2d_argmax(x.data, window)
    y = MaxPool2d.apply(x, window, found)
    if found is not None:  # indices into the flattened batch: the planes are laid end to end
        h, w = window.in_size
        return y, Tensor._make(found[1] % (h * w), backend)
    return y, _indices_of_maxima(x, y, window)


def _indices_of_maxima(x, m, window):
    """max_pool2d_with_indices' indices op by op: per kernel offset, its cell's flat
    index where that offset holds the window's pick."""
    xp = x._backend.xp
    padded = window.pad(xp, x.data, -math.inf)
    (sh, sw), (dh, dw), (oh, ow) = window.stride, window.dilation, window.out_size
    top, _, left, _ = window.padding
    kw = window.kernel[1]
    base_rows = xp.reshape(xp.arange(oh, dtype=xp.int64) * sh - top, (oh, 1))
    base_cols = xp.arange(ow, dtype=xp.int64) * sw - left
    width = window.in_size[1]
    out = xp.zeros(m.data.shape, dtype=xp.int64)
    for k, (_, _, hit) in enumerate(_first_max_hits(x._backend, padded, m.data, window)):
        i, j = divmod(k, kw)
        flat = (base_rows + i * dh) * width + (base_cols + j * dw)
        out = out + xp.astype(hit, xp.int64) * flat
    return Tensor._make(out, x._backend)


class AvgPool2d(Function):
    """Mean over each window (``divisor``: a number, or an (OH, OW) array where the
    count varies at padded edges): a sum across the kernel-offset slices."""

    @staticmethod
    def forward(ctx, x, window, divisor):
        xp = x._backend.xp
        padded = window.pad(xp, _summable(x), 0)
        parts = (padded[..., rows, cols] for _, rows, cols in window.offsets())
        ctx.window, ctx.divisor = window, divisor
        total = next(parts)
        second = next(parts, None)
        if second is None:  # a 1x1 kernel: total is a view of the input
            return _in_dtype_of(x, total / divisor)
        total = total + second
        for part in parts:
            total += part
        total /= divisor
        return _in_dtype_of(x, total)

    @staticmethod
    def backward(ctx, gy):
        return AvgPool2dGrad.apply(gy, ctx.window, ctx.divisor), None, None


class AvgPool2dGrad(Function):
    """Spreads each window's gradient evenly over it, one slice write per kernel offset."""

    @staticmethod
    def forward(ctx, gy, window, divisor):
        xp = gy._backend.xp
        ctx.window, ctx.divisor = window, divisor
        share = _summable(gy) / divisor
        out = xp.zeros(gy.data.shape[:-2] + window.padded_size, dtype=share.dtype)
        overlapping = window.overlapping
        for _, rows, cols in window.offsets():
            out[..., rows, cols] = out[..., rows, cols] + share if overlapping else share
        return _in_dtype_of(gy, window.crop(out))

    @staticmethod
    def backward(ctx, ggx):
        return AvgPool2d.apply(ggx, ctx.window, ctx.divisor), None, None


def avg_pool2d(x, window, divisor):
    return AvgPool2d.apply(x, window, divisor)


def _summable(x):
    """x's array, in float32 where it is float16: PyTorch sums and divides float16 windows
    (and overlapping windows' gradients) in float32 and rounds once. In float16, 25 values of
    3000 summed to inf, and a divisor past 2048 was rounded (to inf from 65520)."""
    backend = x._backend
    return backend.xp.astype(x.data, backend.native_dtype(dtypes.float32)) if x.dtype == dtypes.float16 else x.data


def _in_dtype_of(x, array):
    """``array``, computed from ``_summable(x)``, in x's dtype."""
    return array if array.dtype == x.data.dtype else x._backend.xp.astype(array, x.data.dtype)
