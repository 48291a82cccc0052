"""``unfold`` (im2col) and ``fold`` (col2im), PyTorch's F.unfold and F.fold, on the
fused ``nn_fused.unfold`` / ``nn_fused.fold`` pair, with the checks turned into a
``Window`` memoized per size, as ``conv`` does."""
import functools

from autograd.ops import nn_fused

from .arguments import batched_images, cached, floating, pair, unbatch


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """(N, C, H, W) or (C, H, W) -> (N, C * KH * KW, L) or (C * KH * KW, L): every
    sliding block of the zero-padded input as a column, L blocks in row-major order."""
    op = "unfold"
    floating(op, input)
    if input.ndim not in (3, 4):
        raise ValueError(f"{op}: only a 4-D (N, C, H, W) or 3-D (C, H, W) input is supported, got shape "
                         f"{input.shape}")
    x, unbatched = batched_images(op, input)
    window = cached(_window, op, kernel_size, dilation, padding, stride, *x.shape[2:])
    return unbatch(nn_fused.unfold(x, window), unbatched)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """(N, C * KH * KW, L) or (C * KH * KW, L) columns, as ``unfold`` makes them, summed
    back into an (N, C, *output_size) or (C, *output_size) image (overlaps add up)."""
    op = "fold"
    floating(op, input)
    if input.ndim not in (2, 3):
        raise ValueError(f"{op}: only a 3-D (N, C * prod(kernel_size), L) or 2-D (C * prod(kernel_size), L) "
                         f"input is supported, got shape {input.shape}")
    unbatched = input.ndim == 2
    cols = input.reshape((1,) + input.shape) if unbatched else input
    h, w = pair(op, "output_size", output_size, 1)
    window = cached(_window, op, kernel_size, dilation, padding, stride, h, w)
    (kh, kw), (oh, ow) = window.kernel, window.out_size
    if cols.shape[1] % (kh * kw):
        raise ValueError(f"{op}: expected the size of the input's dimension {1 - unbatched} to be divisible by "
                         f"the product of kernel_size, but got {cols.shape[1]} for kernel_size {(kh, kw)}")
    if cols.shape[2] != oh * ow:
        raise ValueError(f"{op}: given output_size={(h, w)}, kernel_size={(kh, kw)}, dilation="
                         f"{window.dilation}, padding={window.padding[::2]}, stride={window.stride}, expected "
                         f"the size of the input's dimension {2 - unbatched} to match the calculated number of "
                         f"sliding blocks {oh} * {ow} = {oh * ow}, but got {cols.shape[2]}")
    return unbatch(nn_fused.fold(cols, window), unbatched)


@functools.lru_cache(maxsize=256, typed=True)
def _window(op, kernel_size, dilation, padding, stride, h, w):
    kernel = pair(op, "kernel_size", kernel_size, 1)
    dilation = pair(op, "dilation", dilation, 1)
    ph, pw = pair(op, "padding", padding, 0)
    stride = pair(op, "stride", stride, 1)
    blocks = []
    for size, k, d, p, s in zip((h, w), kernel, dilation, (ph, pw), stride):
        span = size + 2 * p - d * (k - 1) - 1
        blocks.append(span // s + 1 if span >= 0 else 0)
    if min(blocks) < 1:
        raise ValueError(f"{op}: given a spatial size {(h, w)}, kernel_size={kernel}, dilation={dilation}, "
                         f"padding={(ph, pw)} and stride={stride}, the array of sliding blocks would be "
                         f"{tuple(blocks)}, but its components must be at least one; use a smaller kernel "
                         "or dilation, or more padding")
    return nn_fused.Window(kernel, stride, dilation, (ph, ph, pw, pw), (h, w), tuple(blocks))
