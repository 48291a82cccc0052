"""3-D convolution (cross-correlation) on NCDHW and its transpose: the 2-D ops
(convolution.py, conv_transpose.py) subclassed, with a 3-D im2col and col2im. As
there, one GEMM forward and each gradient its own op placed under it, so that all
of it is twice differentiable; each op's ``family`` names its 3-D siblings.

The im2col takes the backend's 2-D sliding windows over every depth slice of the
padded volume, and each depth kernel offset's strided run of slices: KD copies into
one (C*KD*KH*KW, N*OD*OH*OW) matrix. col2im is the adjoint: the backend's 2-D col2im
per depth offset, added onto that offset's run of slices. Earlier the 3-D forms ran
the 2-D ops on a copy with the kernel's depth folded into the channels, which cost
a KD-fold gather, its gradient, and the padding's, on top of the same GEMMs: forward
and backward of an (8, 16, 16, 16, 16) float32 input with a (32, 16, 3, 3, 3) kernel,
padding 1, took 48 ms on one thread, and 42 this way; conv_transpose3d of (8, 32, 8,
8, 8), kernel 4, stride 2, 27 ms and 19."""
from .conv_transpose import ConvTranspose2d
from .convolution import (Conv2d, Conv2dInputGrad, Conv2dWeightGrad, ConvFamily, _channel_rows, _finished,
                          _summed_in, _window_grads)


def _im2col3d(backend, data, kernel, volume):
    """The (C*KD*KH*KW, N*OD*OH*OW) matrix of every window of (N, C, D, H, W) ``data``:
    rows (channel, kernel offset), columns (volume, output cell), in the backend's
    scratch memory."""
    xp = backend.xp
    plane = volume.plane
    kd, kh, kw = kernel
    win = backend.sliding_windows(volume.pad(backend, data), (kh, kw), plane.stride, plane.dilation)
    od, (oh, ow) = volume.out_depth, plane.out_size
    n, c = data.shape[:2]
    cols = backend.scratch((c, kd, kh, kw, n, od, oh, ow), data.dtype)
    for k, depths in enumerate(volume.depth_taps()):
        # win[:, :, depths] is (N, C, OD, OH', OW', KH, KW); a transposed convolution's
        # output_padding may leave room for windows past OH, OW
        cols[:, k, ...] = xp.permute_dims(win[:, :, depths, :oh, :ow, ...], (1, 5, 6, 0, 2, 3, 4))
    return xp.reshape(cols, (c * kd * kh * kw, n * od * oh * ow))


class Conv3d(Conv2d):
    """3-D cross-correlation on NCDHW: Conv2d's forward and backward with the 3-D
    im2col, the (O, N*OD*OH*OW) result an (N, O, OD, OH, OW) view, channels first in
    memory."""


class Conv3dInputGrad(Conv2dInputGrad):
    """conv3d's input gradient (a transposed convolution): one GEMM gives each window's
    gradient, and col2im adds the windows back onto the volume (Conv2dInputGrad's
    forward and backward, with the 3-D ``image``). Linear in ``gy``."""

    @staticmethod
    def image(ctx, gy, weight, volume, groups, rows=None, bias=None):
        backend = gy._backend
        xp = backend.xp
        ctx.window, ctx.groups = volume, groups
        ctx.save_for_backward(gy, weight)
        if rows is None:
            rows = _channel_rows(xp, gy.data)
        out_dtype = xp.result_type(gy.data, weight.data)
        w, rows = _summed_in(backend, gy, weight, rows)
        o, cg, kd, kh, kw = w.shape
        w = xp.reshape(w, (groups, o // groups, cg * kd * kh * kw))
        n, c = gy.data.shape[0], cg * groups
        plane = volume.plane
        if groups == 1 and plane.stride == (1, 1) and 2 * plane.out_size[1] >= plane.padded_size[1]:
            gx = _input_grad_plane_stride_1(backend, w[0, ...], rows, n, volume)
        else:
            od, (oh, ow) = volume.out_depth, plane.out_size
            gcols = xp.reshape(_window_grads(backend, w, rows), (c, kd, kh, kw, n, od, oh, ow))
            gx = backend.scratch((c, n) + volume.padded_size, gcols.dtype)
            gx[...] = 0
            for k, depths in enumerate(volume.depth_taps()):
                # windows as (C, N, OD, OH, OW, KH, KW), as Conv2dInputGrad's
                win = xp.permute_dims(gcols[:, k, ...], (0, 3, 4, 5, 6, 1, 2))
                gx[:, :, depths, ...] += backend.col2im(win, (c, n, od) + plane.padded_size, plane.stride,
                                                        plane.dilation)
        return _finished(xp, volume.crop(xp.permute_dims(gx, (1, 0, 2, 3, 4))), bias, out_dtype)


# The bytes of GEMM output that _input_grad_plane_stride_1 makes and adds back at a
# time: small enough to stay in a CPU's last-level cache between the two.
_CHUNK_BYTES = 8 << 20


def _input_grad_plane_stride_1(backend, w, rows, n, volume):
    """The (C, N, Dp, Hp, Wp) input gradient of a convolution whose plane stride is 1
    (no groups), from its (O, N*OD*OH*OW) output-gradient rows and (O, C*KD*KH*KW)
    weight: Conv2d's ``_input_grad_stride_1`` with a depth axis. The rows padded with
    zeros to the image's width make each kernel offset's windows of one output depth
    one contiguous run of its slice's flat (Hp*Wp) plane, so the adds run OH*Wp long
    instead of OW.

    The GEMM runs a few volumes (or depths) at a time, each block's windows added back
    while they are still in cache: on (8, 16, 16, 16, 16) with a 3x3x3 kernel, 13 ms
    instead of 18 for the GEMM and the adds."""
    xp = backend.xp
    o = w.shape[0]
    plane = volume.plane
    kd, od = volume.kernel, volume.out_depth
    (kh, kw), (dh, dw), (oh, ow) = plane.kernel, plane.dilation, plane.out_size
    dp, hp, wp = volume.padded_size
    c = w.shape[1] // (kd * kh * kw)
    padded = backend.scratch((o, n, od, oh * wp), rows.dtype)
    padded[...] = 0
    xp.reshape(padded, (o, n, od, oh, wp))[..., :ow] = xp.reshape(rows, (o, n, od, oh, ow))
    wt = xp.permute_dims(w, (1, 0))
    gx = backend.scratch((c, n, dp, hp * wp), xp.result_type(w, rows))  # promoted, where a second order mixes dtypes
    gx[...] = 0
    length = (oh - 1) * wp + ow  # from a window's first element to its last
    depth_bytes = w.shape[1] * oh * wp * xp.finfo(gx.dtype).bits // 8  # one output depth's windows
    # whole volumes per block, or where one is too large, some of its depths
    volumes = max(1, _CHUNK_BYTES // (depth_bytes * od))
    depths = od if depth_bytes * od <= _CHUNK_BYTES else max(1, _CHUNK_BYTES // depth_bytes)
    for m in range(0, n, volumes):
        m_end = min(m + volumes, n)
        for a in range(0, od, depths):
            b = min(a + depths, od)
            block = xp.reshape(padded[:, m:m_end, a:b, :], (o, (m_end - m) * (b - a) * oh * wp))
            runs = xp.reshape(backend.matmul(wt, block, scratch=True), (c, kd, kh, kw, m_end - m, b - a, oh * wp))
            for k, taps in enumerate(volume.depth_taps(a, b)):
                for i in range(kh):
                    for j in range(kw):
                        start = i * dh * wp + j * dw
                        gx[:, m:m_end, taps, start:start + length] += runs[:, k, i, j, :, :, :length]
            del runs  # its block back to the scratch pool, for the next GEMM to write the same cached memory
    return xp.reshape(gx, (c, n, dp, hp, wp))


class Conv3dWeightGrad(Conv2dWeightGrad):
    """conv3d's weight gradient: Conv2dWeightGrad's GEMM with the 3-D im2col."""


class ConvTranspose3d(ConvTranspose2d):
    """y = Conv3dInputGrad(x, weight) + bias, as ConvTranspose2d is to Conv2d: the
    ``VolumeWindow`` is that of the conv3d it transposes (in the transposed output's
    size, out x's)."""


Conv3d.family = Conv3dInputGrad.family = Conv3dWeightGrad.family = ConvTranspose3d.family = ConvFamily(
    Conv3d, Conv3dInputGrad, Conv3dWeightGrad, _im2col3d)


def conv3d(x, weight, bias, volume, groups):
    return Conv3d.apply(x, weight, bias, volume, groups)


def conv_transpose3d(x, weight, bias, volume, groups):
    return ConvTranspose3d.apply(x, weight, bias, volume, groups)
