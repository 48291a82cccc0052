"""A CPU backend on ``array-api-strict``, for tests only.

That namespace refuses anything outside the Array API standard, so the op test
table passing here shows the engine needs nothing NumPy-only, and so runs on
CuPy too. Its named kernels go through NumPy: they are the backend's own code,
which is allowed to be device-specific.
"""
import numpy as np

from . import dtypes
from .base import Backend
from .numpy_backend import NumpyBackend


class StrictBackend(Backend):
    name = "array_api_strict"

    def __init__(self, device="strict"):
        import array_api_strict
        super().__init__(device, array_api_strict)
        self._numpy = NumpyBackend()
        self._array_type = type(array_api_strict.asarray(0))
        self._to_native = {np.dtype(n): getattr(array_api_strict, n) for n in dtypes.NAMES
                           if hasattr(array_api_strict, n)}  # the standard has no float16
        self._to_canonical = {v: k for k, v in self._to_native.items()}
        self.seed(0)

    def native_dtype(self, dtype):
        native = self._to_native.get(dtype)
        if native is None:
            raise TypeError(f"device 'strict' has no {dtype}: the Array API standard does not define it")
        return native

    def canonical_dtype(self, native):
        canonical = self._to_canonical.get(native)
        if canonical is None:
            raise TypeError(f"unsupported dtype {native}; use one of {', '.join(dtypes.NAMES)}")
        return canonical

    def asarray(self, data, dtype=None):
        if dtype is None and isinstance(data, np.ndarray) and data.dtype.name in dtypes.NAMES:
            dtype = data.dtype  # checked below: float16, which the standard lacks, gets this backend's message
        if dtype is not None:
            dtype = self.native_dtype(np.dtype(dtype))
        if isinstance(data, np.ndarray):
            data = data.copy()
        return self.xp.asarray(data, dtype=dtype)

    def to_numpy(self, array):
        return np.from_dlpack(array) if isinstance(array, self._array_type) else np.asarray(array)

    def from_numpy(self, array):
        # A copy, as CuPy's host-to-device one: this backend stands in for another device, so
        # a tensor moved here must not alias the NumPy memory it came from. native_dtype
        # refuses float16 by this backend's message.
        dtype = self.native_dtype(np.dtype(array.dtype))
        return self.xp.asarray(np.array(array, order="C"), dtype=dtype)

    def float32_sum_dtype(self, array, axis):
        # its sums are NumPy's, which add one row at a time across the innermost loop
        return self.native_dtype(np.dtype(np.float64)) if self._numpy.float32_sum_dtype(
            self.to_numpy(array), axis) is not None else None

    def gather(self, x, index):
        return self.from_numpy(self.to_numpy(x)[_index_to_numpy(self, index)])

    def put_(self, x, index, values):
        # Through a NumPy copy, then one whole-array write, which the standard allows.
        patched = np.array(self.to_numpy(x))
        patched[_index_to_numpy(self, index)] = self.to_numpy(values)
        x[...] = self.from_numpy(patched)

    def scatter_add(self, shape, index, values):
        values = self.to_numpy(values)
        index = _index_to_numpy(self, index)
        return self.from_numpy(self._numpy.scatter_add(shape, index, values))

    def einsum(self, subscripts, *operands):
        return self.from_numpy(self._numpy.einsum(subscripts, *(self.to_numpy(o) for o in operands)))

    def sliding_windows(self, x, window, stride, dilation):
        view = self._numpy.sliding_windows(self.to_numpy(x), window, stride, dilation)
        return self.from_numpy(view)

    def col2im(self, windows, shape, stride, dilation):
        return self.from_numpy(self._numpy.col2im(self.to_numpy(windows), shape, stride, dilation))


def _index_to_numpy(backend, index):
    if isinstance(index, tuple):
        return tuple(_index_to_numpy(backend, i) for i in index)
    if isinstance(index, backend._array_type):
        return backend.to_numpy(index)
    return index
