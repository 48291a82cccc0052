"""The depthwise 2-D convolution (groups == in_channels == out_channels, MobileNet's 3x3
layers), computed directly: each kernel offset's strided slice of the padded image times
that offset's per-channel weight, added up, with no im2col. Through im2col, each output
channel was a (1, 9) x (9, N*OH*OW) GEMM of its own, batched over channels: the im2col
copy (9x the image) and the thin products cost more than the multiply-adds themselves,
3x PyTorch's time on (32, 64, 56, 56).

The three kernels here (the convolution, its input gradient and its weight gradient)
are what Conv2d, Conv2dInputGrad and Conv2dWeightGrad run where ``is_depthwise`` holds,
so their backward and double-backward structure is theirs. Each works on the
channels-first layout those ops keep ((C, N, H, W) memory behind (N, C, H, W) views),
a block of channels (and images) at a time, so that a block's padded image, its
products and its sums stay in cache. The sums over kernel offsets run in row-major
offset order (a GEMM adds in its own order: the values agree to rounding). float16
adds up in float32 and rounds once, as the GEMMs do."""
from backends import dtypes

from .cache_blocks import cache_blocks


def is_depthwise(weight_shape, groups):
    """Whether a 2-D convolution's (O, C/G, KH, KW) weight is depthwise: one input and one
    output channel per group, more than one group."""
    return groups > 1 and len(weight_shape) == 4 and weight_shape[1] == 1 and weight_shape[0] == groups


def _work_dtype(backend, *arrays):
    """The dtype the sums run in: the arrays' common one, float32 for float16."""
    xp = backend.xp
    common = xp.result_type(*arrays)
    wide = backend.canonical_dtype(common) == dtypes.float16
    return (backend.native_dtype(dtypes.float32) if wide else common), common


def _padded(xp, block, window, dtype):
    """``block`` (C', N', H, W) zero-padded by ``window`` to its padded size, in ``dtype``."""
    top, bottom, left, right = window.padding
    if not (top or bottom or left or right):
        return block if block.dtype == dtype else xp.astype(block, dtype)
    h, w = window.in_size
    out = xp.zeros(block.shape[:2] + window.padded_size, dtype=dtype)
    out[:, :, top:top + h, left:left + w] = block
    return out


def _per_offset(xp, weight, dtype):
    """The (KH*KW, C, 1, 1, 1) weights of each kernel offset, in ``dtype``."""
    c, _, kh, kw = weight.shape
    w = xp.permute_dims(xp.reshape(xp.astype(weight, dtype), (c, kh * kw)), (1, 0))
    return xp.reshape(w, (kh * kw, c, 1, 1, 1))


def _channels_first(xp, data):
    return xp.permute_dims(data, (1, 0, 2, 3))


def convolve(backend, x, weight, window):
    """(C, N, OH, OW) channels-first memory of the depthwise convolution of x (N, C, H, W),
    in x's and the weight's common dtype (bias not added)."""
    xp = backend.xp
    work, out_dtype = _work_dtype(backend, x, weight)
    xc = _channels_first(xp, x)
    w = _per_offset(xp, weight, work)
    out = xp.empty(xc.shape[:2] + window.out_size, dtype=work)
    hp, wp = window.padded_size
    for cs, ns in cache_blocks(backend, xc.shape, hp * wp * xp.finfo(work).bits // 8):
        image = _padded(xp, xc[cs, ns, ...], window, work)
        total = None
        for k, rows, cols in window.offsets():
            term = image[:, :, rows, cols] * w[k, cs, ...]
            if total is None:
                total = term
            else:
                total += term
        out[cs, ns, ...] = total
    return out if out.dtype == out_dtype else xp.astype(out, out_dtype)


def input_grad(backend, gy, weight, window):
    """(C, N, Hp, Wp) channels-first memory of the padded input gradient, from gy
    (N, C, OH, OW), in the work dtype (float32 for float16), and whether it is only the
    image (C, N, H, W), unpadded: at stride 1, the correlation of gy, zero-padded by the
    kernel's reach, with the flipped kernel, whose reads are strided and writes
    contiguous (twice as fast); else each offset's windows of gy times its weight, added
    onto the padded image."""
    xp = backend.xp
    work, _ = _work_dtype(backend, gy, weight)
    gc = _channels_first(xp, gy)
    w = _per_offset(xp, weight, work)
    if window.stride == (1, 1):
        return _stride_1_input_grad(backend, gc, w, window, work), True
    gx = xp.empty(gc.shape[:2] + window.padded_size, dtype=work)
    hp, wp = window.padded_size
    for cs, ns in cache_blocks(backend, gc.shape, hp * wp * xp.finfo(work).bits // 8):
        block = gc[cs, ns, ...]
        if block.dtype != work:
            block = xp.astype(block, work)
        image = xp.zeros(block.shape[:2] + (hp, wp), dtype=work)
        for k, rows, cols in window.offsets():
            image[:, :, rows, cols] += block * w[k, cs, ...]
        gx[cs, ns, ...] = image
    return gx, False


def _stride_1_input_grad(backend, gc, w, window, work):
    """gx[y, x] = the sum over offsets (i, j) of w[i, j] gy[y + top - i dh, x + left - j dw],
    gy 0 outside its (OH, OW): gy placed at (dh (KH-1), dw (KW-1)) in zeros of the padded
    size plus that reach, each offset reads a slice (H, W) of it."""
    xp = backend.xp
    (kh, kw), (dh, dw), (h, wd) = window.kernel, window.dilation, window.in_size
    top, _, left, _ = window.padding
    (oh, ow), (hp, wp) = window.out_size, window.padded_size
    reach_h, reach_w = dh * (kh - 1), dw * (kw - 1)
    gx = xp.empty(gc.shape[:2] + (h, wd), dtype=work)
    for cs, ns in cache_blocks(backend, gc.shape, (hp + reach_h) * (wp + reach_w) * xp.finfo(work).bits // 8):
        block = gc[cs, ns, ...]
        spread = xp.zeros(block.shape[:2] + (hp + reach_h, wp + reach_w), dtype=work)
        spread[:, :, reach_h:reach_h + oh, reach_w:reach_w + ow] = block
        total = None
        for k, _, _ in window.offsets():
            i, j = divmod(k, kw)
            r, c = top + dh * (kh - 1 - i), left + dw * (kw - 1 - j)
            term = spread[:, :, r:r + h, c:c + wd] * w[k, cs, ...]
            if total is None:
                total = term
            else:
                total += term
        gx[cs, ns, ...] = total
    return gx


def weight_grad(backend, gy, x, weight_shape, window):
    """The (C, 1, KH, KW) weight gradient from gy (N, C, OH, OW) and x (N, C, H, W): per
    channel and kernel offset, the sum of gy times that offset's windows of x."""
    xp = backend.xp
    work, out_dtype = _work_dtype(backend, gy, x)
    gc, xc = _channels_first(xp, gy), _channels_first(xp, x)
    c, _, kh, kw = weight_shape
    gw = xp.zeros((c, kh * kw), dtype=work)
    hp, wp = window.padded_size
    for cs, ns in cache_blocks(backend, xc.shape, hp * wp * xp.finfo(work).bits // 8):
        image = _padded(xp, xc[cs, ns, ...], window, work)
        block = gc[cs, ns, ...]
        if block.dtype != work:
            block = xp.astype(block, work)
        for k, rows, cols in window.offsets():
            gw[cs, k] += xp.sum(block * image[:, :, rows, cols], axis=(1, 2, 3))
    gw = xp.reshape(gw, weight_shape)
    return gw if gw.dtype == out_dtype else xp.astype(gw, out_dtype)
