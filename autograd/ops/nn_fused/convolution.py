"""2-D convolution (cross-correlation) on NCHW: im2col and one GEMM forward, and
each gradient its own op placed under it, so that all of it is twice differentiable."""
from backends import dtypes

from ..reduction import Sum
from ...function import Function
from . import depthwise


def _matmul_groups(backend, a, b, groups):
    """``groups`` independent products in one (batched) GEMM: a (G*M, K) and
    b (G*K, P) give (G*M, P), block g of a's rows times block g of b's rows."""
    xp = backend.xp
    if groups == 1:
        return backend.matmul(a, b, scratch=True)
    m, k = a.shape[0] // groups, a.shape[1]
    out = backend.matmul(xp.reshape(a, (groups, m, k)), xp.reshape(b, (groups, k, b.shape[1])))
    return xp.reshape(out, (groups * m, b.shape[1]))


def _im2col(backend, data, kernel_hw, window):
    """The (C*KH*KW, N*OH*OW) matrix of every window: rows are (channel, kernel
    offset), columns (image, output pixel), so each row copies in long runs. It
    is written into the backend's scratch memory, reused from step to step."""
    xp = backend.xp
    win = backend.sliding_windows(window.pad(xp, data, 0), kernel_hw, window.stride, window.dilation)
    oh, ow = window.out_size
    if win.shape[2:4] != (oh, ow):
        # a transposed convolution's output_padding, when at least its stride (it may
        # be up to the dilation), leaves room for windows past the ones it was made of
        win = win[:, :, :oh, :ow, ...]
    n, c, _, _, kh, kw = win.shape
    cols = backend.scratch((c, kh, kw, n, oh, ow), data.dtype)
    cols[...] = xp.permute_dims(win, (1, 4, 5, 0, 2, 3))
    return xp.reshape(cols, (c * kh * kw, n * oh * ow))


def _window_grads(backend, w, rows):
    """Each window's gradient, (C*K, N*L) (per group, stacked): the grouped weight w
    (G, O/G, C/G*K) transposed times the output gradient's (O, N*L) rows, one GEMM."""
    xp = backend.xp
    groups, og = w.shape[:2]
    if groups == 1:
        return backend.matmul(xp.permute_dims(w[0, ...], (1, 0)), rows, scratch=True)
    return backend.matmul(xp.permute_dims(w, (0, 2, 1)), xp.reshape(rows, (groups, og, -1)))


def _channel_rows(xp, gy):
    """(N, O, OH, OW) -> the (O, N*OH*OW) layout the GEMMs take (and likewise with
    an output depth, for conv3d)."""
    n, o = gy.shape[:2]
    return xp.reshape(xp.permute_dims(gy, (1, 0) + tuple(range(2, gy.ndim))), (o, -1))


def _summed_in(backend, gy, weight, rows):
    """``weight``'s array and ``rows`` in the dtype an input gradient's window sums add
    up in: float32 where both are float16, as PyTorch's kernels do. A pixel gathers up
    to KH*KW windows' values, and float16 partial sums, each rounded, doubled the error
    of one rounding at the end."""
    if gy.dtype == weight.dtype == dtypes.float16:
        wide = backend.native_dtype(dtypes.float32)
        return backend.xp.astype(weight.data, wide), backend.xp.astype(rows, wide)
    return weight.data, rows


def _finished(xp, image, bias, out_dtype):
    """``image`` (a fresh or scratch array no one else holds, or a view of one) plus
    ``bias`` per channel, in place, then rounded once to ``out_dtype``."""
    if bias is not None:
        image += xp.reshape(bias.data, (-1,) + (1,) * (image.ndim - 2))
    return image if image.dtype == out_dtype else xp.astype(image, out_dtype)


class ConvFamily:
    """The ops of a convolution and its gradients, which each one's backward applies,
    and its im2col. The 3-D ops subclass the 2-D ones, and a node finds its own
    dimension's siblings through the ``family`` its class names."""
    __slots__ = ("conv", "input_grad", "weight_grad", "im2col")

    def __init__(self, conv, input_grad, weight_grad, im2col):
        self.conv, self.input_grad, self.weight_grad, self.im2col = conv, input_grad, weight_grad, im2col


def bias_axes(gy):
    """The axes a bias's gradient sums ``gy`` (N, O, *spatial) over: all but O."""
    return (0,) + tuple(range(2, gy.ndim))


class Conv2d(Function):
    """2-D cross-correlation on NCHW: im2col then ONE GEMM (batched over groups)
    with the (O, C/G*KH*KW) weight.

    The GEMM's (O, N*OH*OW) result is returned as an (N, O, OH, OW) view, without a
    copy: the memory stays channels-first, which is the layout the next im2col
    copies fastest from and the layout this op's backward wants its gradient in
    (elementwise ops and pooling in between keep it). ``cols``, x's im2col matrix
    where the caller has it, spares making it again (a transposed convolution's
    backward shares it with its weight gradient)."""

    @staticmethod
    def forward(ctx, x, weight, bias, window, groups, cols=None):
        backend = x._backend
        xp = backend.xp
        o = weight.data.shape[0]
        ctx.window, ctx.groups = window, groups
        if x.ndim == 4 and depthwise.is_depthwise(weight.shape, groups):  # no im2col: see depthwise.py
            y = depthwise.convolve(backend, x.data, weight.data, window)
            if bias is not None:
                y += xp.reshape(xp.astype(bias.data, y.dtype), (o, 1, 1, 1))
            ctx.save_for_backward(x, weight, None)
            return xp.permute_dims(y, (1, 0, 2, 3))
        if cols is None:
            cols = ctx.family.im2col(backend, x.data, weight.data.shape[2:], window)
        y = _matmul_groups(backend, xp.reshape(weight.data, (o, -1)), cols, groups)
        if bias is not None:
            y += xp.reshape(bias.data, (o, 1))
        n = x.data.shape[0]
        out = window.out_size
        y = xp.permute_dims(xp.reshape(y, (o, n) + out), (1, 0) + tuple(range(2, 2 + len(out))))
        ctx.save_for_backward(x, weight, cols if ctx.needs_input_grad[1] else None)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, weight, cols = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        family = ctx.family
        direct = x.ndim == 4 and depthwise.is_depthwise(weight.shape, ctx.groups)  # (which take no rows)
        rows = _channel_rows(x._backend.xp, gy.data) if (need_x or need_w) and not direct else None
        gx = family.input_grad.apply(gy, weight, ctx.window, ctx.groups, rows) if need_x else None
        gw = (family.weight_grad.apply(gy, x, weight.shape, ctx.window, ctx.groups, rows,
                                       None if cols is None else cols.data) if need_w else None)
        gb = Sum.apply(gy, bias_axes(gy), False) if need_b else None
        return gx, gw, gb, None, None, None


class Conv2dInputGrad(Function):
    """conv2d's input gradient (a transposed convolution): one GEMM gives each
    window's gradient, and the backend's col2im adds the windows back onto the
    image (one vectorized add per kernel offset, or one kernel on CUDA); at stride 1,
    unless the kernel is nearly as wide as the image or col2im is one kernel, each
    offset's add is one contiguous run instead (see _input_grad_stride_1). Linear in ``gy``."""

    @staticmethod
    def forward(ctx, gy, weight, window, groups, rows=None):
        return ctx.family.input_grad.image(ctx, gy, weight, window, groups, rows)

    @staticmethod
    def image(ctx, gy, weight, window, groups, rows=None, bias=None):
        """The forward's array, plus ``bias`` per channel where given (a transposed
        convolution's): float16 windows add up in float32 and round once."""
        backend = gy._backend
        xp = backend.xp
        ctx.window, ctx.groups = window, groups
        ctx.save_for_backward(gy, weight)
        if rows is None:
            rows = _channel_rows(xp, gy.data)
        out_dtype = xp.result_type(gy.data, weight.data)
        if depthwise.is_depthwise(weight.shape, groups):  # no GEMM, no col2im: see depthwise.py
            gx, cropped = depthwise.input_grad(backend, gy.data, weight.data, window)
            gx = xp.permute_dims(gx, (1, 0, 2, 3))
            return _finished(xp, gx if cropped else window.crop(gx), bias, out_dtype)
        w, rows = _summed_in(backend, gy, weight, rows)
        o, cg, kh, kw = w.shape
        w = xp.reshape(w, (groups, o // groups, cg * kh * kw))
        n = gy.data.shape[0]
        if groups == 1 and window.stride == (1, 1) and 2 * window.out_size[1] >= window.padded_size[1] \
                and not backend.col2im_is_one_kernel:
            gx = _input_grad_stride_1(backend, w[0, ...], rows, n, window)
        else:
            gcols = _window_grads(backend, w, rows)
            oh, ow = window.out_size
            c = cg * groups
            # windows as (C, N, OH, OW, KH, KW): col2im adds contiguous blocks into a
            # channels-first image, returned as an (N, C, H, W) view like the forward's output
            win = xp.permute_dims(xp.reshape(gcols, (c, kh, kw, n, oh, ow)), (0, 3, 4, 5, 1, 2))
            gx = backend.col2im(win, (c, n) + window.padded_size, window.stride, window.dilation)
        return _finished(xp, window.crop(xp.permute_dims(gx, (1, 0, 2, 3))), bias, out_dtype)

    @staticmethod
    def backward(ctx, ggx):
        gy, weight = ctx.saved_tensors
        need_gy, need_w = ctx.needs_input_grad[:2]
        family = ctx.family
        g_gy = family.conv.apply(ggx, weight, None, ctx.window, ctx.groups) if need_gy else None
        g_w = family.weight_grad.apply(gy, ggx, weight.shape, ctx.window, ctx.groups) if need_w else None
        return g_gy, g_w, None, None, None


def _input_grad_stride_1(backend, w, rows, n, window):
    """The (C, N, Hp, Wp) input gradient of a stride-1 convolution (no groups) from its
    (O, N*OH*OW) output-gradient rows and its (O, C*KH*KW) weight.

    col2im adds each kernel offset's windows back onto the image, and a window row
    is only OW long, so the adds run in short strided pieces (KH*KW*C*N*OH of them).
    Padded with zeros to the image's width Wp, the rows of a kernel offset's windows
    become one contiguous run of the image's flat (H*W) layout, the zeros landing
    on the columns they wrap into: KH*KW*C*N long adds instead. It costs Wp/OW more
    GEMM work and memory, so the caller takes this path only where Wp <= 2 OW (a
    kernel as wide as the image would multiply both by the image's width). On
    LeNet's second layer (13/11) it took the input gradient from 635 to 525 us."""
    xp = backend.xp
    o = w.shape[0]
    (kh, kw), (dh, dw), (oh, ow) = window.kernel, window.dilation, window.out_size
    hp, wp = window.padded_size
    c = w.shape[1] // (kh * kw)
    padded = backend.scratch((o, n, oh, wp), rows.dtype)
    padded[...] = 0  # all of it: one pass, where the Wp - OW last columns alone are short runs
    padded[..., :ow] = xp.reshape(rows, (o, n, oh, ow))
    runs = backend.matmul(xp.permute_dims(w, (1, 0)), xp.reshape(padded, (o, n * oh * wp)), scratch=True)
    del padded  # back to the scratch pool before the image's buffer is taken
    runs = xp.reshape(runs, (c, kh, kw, n, oh * wp))
    gx = backend.scratch((c, n, hp * wp), runs.dtype)  # promoted, where a second order mixes dtypes
    length = (oh - 1) * wp + ow  # from a window's first element to its last
    # The first offset's run starts the image: copied, not added to zeros (a BLAS sum is
    # never -0.0, so 0 + x would be x bit for bit), and only what lies past it zeroed.
    gx[:, :, :length] = runs[:, 0, 0, :, :length]
    gx[:, :, length:] = 0
    for i in range(kh):
        for j in range(kw):
            if i or j:
                start = i * dh * wp + j * dw
                gx[:, :, start:start + length] += runs[:, i, j, :, :length]
    return xp.reshape(gx, (c, n, hp, wp))


class Conv2dWeightGrad(Function):
    """conv2d's weight gradient: one GEMM of the output gradient with the im2col
    matrix (reused from the forward pass when it is handed over). Linear in ``gy``."""

    @staticmethod
    def forward(ctx, gy, x, weight_shape, window, groups, rows=None, cols=None):
        backend = gy._backend
        xp = backend.xp
        ctx.window, ctx.groups = window, groups
        ctx.save_for_backward(gy, x)
        if x.ndim == 4 and depthwise.is_depthwise(weight_shape, groups):  # no im2col: see depthwise.py
            return depthwise.weight_grad(backend, gy.data, x.data, weight_shape, window)
        if rows is None:
            rows = _channel_rows(xp, gy.data)
        if cols is None:
            cols = ctx.family.im2col(backend, x.data, weight_shape[2:], window)
        if groups == 1:  # (not into scratch memory: gw is the op's output)
            gw = _rows_times_cols_transposed(backend, rows, cols)
        else:
            gw = _grouped_weight_grad(backend, rows, cols, groups)
        return xp.reshape(gw, weight_shape)

    @staticmethod
    def backward(ctx, ggw):
        gy, x = ctx.saved_tensors
        need_gy, need_x = ctx.needs_input_grad[:2]
        family = ctx.family
        g_gy = family.conv.apply(x, ggw, None, ctx.window, ctx.groups) if need_gy else None
        g_x = family.input_grad.apply(gy, ggw, ctx.window, ctx.groups) if need_x else None
        return g_gy, g_x, None, None, None, None, None


Conv2d.family = Conv2dInputGrad.family = Conv2dWeightGrad.family = ConvFamily(
    Conv2d, Conv2dInputGrad, Conv2dWeightGrad, _im2col)


# The GEMM's inner axis (N * output cells) against the (C * kernel cells) of cols from
# which multiplying the other way round is the faster (measured on OpenBLAS, one thread).
_LONG_INNER = 4


def _rows_times_cols_transposed(backend, rows, cols):
    """rows (O, L) @ cols.T (L, CK), the weight gradient's GEMM. Where L is long (a large
    batch or volume), OpenBLAS runs it as (cols @ rows.T).T faster, with the same values
    (each entry is the same dot product, whose terms some kernels add in another order, a
    unit or two apart: OpenBLAS's Haswell ones, cuBLAS): conv3d's (32, 65536) x (65536, 432) in 23 ms
    instead of 29, LeNet's first layer's (6, 36864) x (36864, 25) in 0.41 instead of
    0.58; with L short it is slower ((256, 392) x (392, 2304): 5.2 against 3.1 ms)."""
    xp = backend.xp
    if rows.shape[1] >= _LONG_INNER * cols.shape[0]:
        swapped = xp.permute_dims(backend.matmul(cols, xp.permute_dims(rows, (1, 0))), (1, 0))
        # through one flat axis: the gradient comes back in row order, as the other way's
        # (a reshape of the transposed view would stay a strided view), copying O x CK only
        return xp.reshape(xp.reshape(swapped, (-1,)), swapped.shape)
    return backend.matmul(rows, xp.permute_dims(cols, (1, 0)))


def _grouped_weight_grad(backend, rows, cols, groups):
    """Per group g: rows[g] (O/G, N*L) @ cols[g].T (N*L, C/G*KH*KW), as one batched GEMM."""
    xp = backend.xp
    o, length = rows.shape
    k = cols.shape[0] // groups
    out = backend.matmul(xp.reshape(rows, (groups, o // groups, length)),
                         xp.permute_dims(xp.reshape(cols, (groups, k, length)), (0, 2, 1)))
    return xp.reshape(out, (o, k))


def conv2d(x, weight, bias, window, groups):
    return Conv2d.apply(x, weight, bias, window, groups)
