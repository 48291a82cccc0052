"""The CPU backend: NumPy 2, whose main namespace follows the Array API."""
import numpy as np
from numpy.lib.stride_tricks import as_strided

from .base import Backend


class NumpyBackend(Backend):
    name = "numpy"

    def __init__(self, device="cpu"):
        super().__init__(device, np)
        self.seed(0)

    def asarray(self, data, dtype=None):
        return np.asarray(data, dtype=dtype)

    def to_numpy(self, array):
        return array

    def from_numpy(self, array):
        return array

    def owns_memory(self, array):
        return array.base is None and array.flags.writeable

    def scatter_add(self, shape, index, values):
        out = np.zeros(shape, dtype=values.dtype)
        np.add.at(out, index, values)
        return out

    def einsum(self, subscripts, *operands):
        return np.einsum(subscripts, *operands, optimize=len(operands) > 2)

    def sliding_windows(self, x, window, stride, dilation):
        return windows_view(x, window, stride, dilation, as_strided)

    def col2im(self, windows, shape, stride, dilation):
        return add_windows(np.zeros(shape, dtype=windows.dtype), windows, stride, dilation)


def windows_view(x, window, stride, dilation, as_strided):
    """Strided view shared by the NumPy and CuPy backends (same stride model)."""
    (kh, kw), (sh, sw), (dh, dw) = window, stride, dilation
    h, w = x.shape[-2:]
    oh = (h - dh * (kh - 1) - 1) // sh + 1
    ow = (w - dw * (kw - 1) - 1) // sw + 1
    *lead, s_h, s_w = x.strides
    shape = (*x.shape[:-2], oh, ow, kh, kw)
    strides = (*lead, s_h * sh, s_w * sw, s_h * dh, s_w * dw)
    return as_strided(x, shape=shape, strides=strides, writeable=False)


def add_windows(out, windows, stride, dilation):
    """Add ``windows`` (..., OH, OW, KH, KW) into ``out`` in place, one strided slab
    per kernel offset (KH*KW vectorized adds, never a loop over pixels); shared by
    the NumPy and CuPy backends."""
    (sh, sw), (dh, dw) = stride, dilation
    oh, ow, kh, kw = windows.shape[-4:]
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
        for j in range(kw):
            out[..., rows, j * dw:j * dw + sw * (ow - 1) + 1:sw] += windows[..., i, j]
    return out
