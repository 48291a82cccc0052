"""The CUDA backend, on CuPy. CuPy is imported only when a CUDA device is asked for."""

from .base import Backend, below, has_zero_stride
from .cupy_namespace import array_api_namespace
from .numpy_backend import add_windows, diagonal_view, windows_view

INSTALL_HINT = ("install CuPy for CUDA 12 with `pip install 'topograd[cuda]'` "
                "(or `pip install cupy-cuda12x`) on a machine with an NVIDIA GPU")


class BackendUnavailable(RuntimeError):
    pass


def _import_cupy():
    try:
        import cupy
    except ImportError as exc:
        raise BackendUnavailable(f"device 'cuda' needs CuPy, which is not installed: {INSTALL_HINT}") from exc
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA driver missing or broken
        raise BackendUnavailable(f"device 'cuda' needs a working CUDA GPU ({exc}); {INSTALL_HINT}") from exc
    if count == 0:
        raise BackendUnavailable(f"device 'cuda' needs a CUDA GPU, and none was found; {INSTALL_HINT}")
    return cupy


class CupyBackend(Backend):
    name = "cupy"

    def __init__(self, index=0):
        cupy = _import_cupy()
        if index >= cupy.cuda.runtime.getDeviceCount():
            raise BackendUnavailable(f"device 'cuda:{index}' does not exist; this machine has "
                                     f"{cupy.cuda.runtime.getDeviceCount()} CUDA device(s)")
        super().__init__(f"cuda:{index}", array_api_namespace(cupy))  # CuPy 13 lacks some standard names
        self.index = index
        self._device = cupy.cuda.Device(index)
        self.seed(0)

    def asarray(self, data, dtype=None):
        with self._device:
            return self.xp.asarray(data, dtype=dtype)

    def to_numpy(self, array):
        return self.xp.asnumpy(array)

    def from_numpy(self, array):
        with self._device:
            return self.xp.asarray(array)

    def owns_memory(self, array):
        return array.base is None

    def repeats_elements(self, array):
        return has_zero_stride(array)  # (to_numpy would copy to the host, and lose the strides)

    def writable(self, array):
        return not has_zero_stride(array)  # (CuPy has no read-only arrays; to_numpy would copy)

    def may_share_memory(self, a, b):
        if a.size == 0 or b.size == 0:  # (see Backend.may_share_memory)
            return True
        return bool(self.xp.may_share_memory(a, b))  # (to_numpy would copy to the host)

    def synchronize(self):
        self._device.synchronize()

    def record_event(self):
        with self._device:
            event = self.xp.cuda.Event()
            event.record()
        return event

    def elapsed_ns(self, begin, end):
        end.synchronize()
        return int(self.xp.cuda.get_elapsed_time(begin, end) * 1e6)  # CuPy gives milliseconds

    def seed(self, seed):
        with self._device:
            self.rng = self.xp.random.default_rng(seed)

    def uniform(self, shape, low, high, dtype):
        with self._device:
            draw = dtype if self.xp.dtype(dtype).itemsize >= 4 else self.xp.float32  # as in normal()
            out = (self.rng.random(shape, dtype=draw) * (high - low) + low).astype(dtype, copy=False)
            return self.xp.minimum(out, below(high, low, dtype)) if low < high else out  # (see base.below)

    def normal(self, shape, mean, std, dtype):
        with self._device:
            # CuPy draws normals in float32 or float64 only: draw in float32 for float16
            draw = dtype if self.xp.dtype(dtype).itemsize >= 4 else self.xp.float32
            return (self.rng.standard_normal(shape, dtype=draw) * std + mean).astype(dtype, copy=False)

    def integers(self, low, high, shape):
        with self._device:
            return self.rng.integers(low, high, shape)

    def check_index_bounds(self, shape, index):
        # CuPy would wrap an index past the end around; one device sync, for users' indices only
        check_index_bounds(self.xp, shape, index)

    def scatter_add(self, shape, index, values):
        import cupyx
        out = self.xp.zeros(shape, dtype=values.dtype)
        cupyx.scatter_add(out, index, values)
        return out

    def einsum(self, subscripts, *operands):
        return self.xp.einsum(subscripts, *operands)

    def sliding_windows(self, x, window, stride, dilation):
        return windows_view(x, window, stride, dilation, _cupy_as_strided)

    def diagonal_view(self, x, offset):
        return diagonal_view(x, offset, _cupy_as_strided)

    def axpy_(self, y, alpha, x):
        with self._device:
            _kernel("axpy")(x, y.dtype.type(alpha), y)  # one fused kernel, no temporary

    def relu_(self, x):
        with self._device:
            self.xp.maximum(x, 0, out=x)  # no full-size temporary, unlike the generic form
            return self.relu_mask(x)

    def fmod(self, a, b):
        with self._device:
            return self.xp.fmod(a, b)  # one kernel, where the generic form takes four

    def cbrt(self, x):
        with self._device:
            return self.xp.cbrt(x)  # C's cbrt and the two below, where the generic forms compose several

    def ldexp(self, x, e):
        with self._device:
            return self.xp.ldexp(x, e)

    def frexp(self, x):
        with self._device:
            return self.xp.frexp(x)

    def sqrt(self, x):
        with self._device:
            return self.xp.sqrt(x)  # CuPy's pool reuses the memory; sqrt, unlike a power of 0.5, is exact

    def relu_mask(self, y):
        with self._device:
            return _kernel("relu_mask")(y)  # one kernel, where the generic form takes two

    def masked(self, values, keep, out=None):
        select = _kernel("masked")
        with self._device:  # one kernel, straight into a strided ``out`` too
            return select(values, keep) if out is None else select(values, keep, out)

    def col2im(self, windows, shape, stride, dilation):
        with self._device:
            return add_windows(self.xp.zeros(shape, dtype=windows.dtype), windows, stride, dilation)


# CUDA elementwise kernels, compiled on first use: (input params, output params, body).
_KERNEL_SOURCES = {
    "axpy": ("T x, T a", "T y", "y += a * x"),
    # a ReLU's output passes its gradient where it is not <= 0 (NaN passes, as in PyTorch)
    "relu_mask": ("T y", "bool keep", "keep = !(y <= (T)0)"),
    # a select, not a multiply: an inf or NaN where keep is false gives 0
    "masked": ("T v, bool keep", "T out", "out = keep ? v : (T)0"),
}
_KERNELS = {}


def _kernel(name):
    kernel = _KERNELS.get(name)
    if kernel is None:
        import cupy
        params, outputs, body = _KERNEL_SOURCES[name]
        kernel = _KERNELS[name] = cupy.ElementwiseKernel(params, outputs, body, f"topograd_{name}")
    return kernel


def check_index_bounds(xp, shape, index):
    """Raise NumPy's IndexError where an integer array in ``index`` (an index of an array
    of ``shape``) holds an entry outside its axis. CuPy's gather and scatter kernels take
    such an entry modulo the axis' size instead ("Difference between CuPy and NumPy":
    out-of-bounds indices wrap around), which would read or write the wrong elements.
    One transfer from the device for all the arrays' extremes."""
    parts = index if isinstance(index, tuple) else (index,)
    explicit = sum(_axes_indexed(p) for p in parts if p is not None and p is not Ellipsis)
    checked, axis = [], 0
    for p in parts:
        if p is Ellipsis:
            axis += len(shape) - explicit
        elif p is not None:
            if hasattr(p, "dtype") and p.dtype.kind in "iu" and p.size and axis < len(shape):
                checked.append((p, axis))
            axis += _axes_indexed(p)
    if not checked:
        return
    int64 = xp.int64
    extremes = xp.stack([xp.astype(f(a), int64) for a, _ in checked for f in (xp.min, xp.max)]).tolist()
    for i, (_, axis) in enumerate(checked):
        low, high, size = extremes[2 * i], extremes[2 * i + 1], shape[axis]
        if low < -size or high >= size:
            bad = high if high >= size else low
            raise IndexError(f"index {bad} is out of bounds for axis {axis} with size {size}")


def _axes_indexed(part):
    """How many axes of the indexed array an index part takes: a mask one per dimension."""
    return part.ndim if hasattr(part, "dtype") and part.dtype.kind == "b" else 1


def _cupy_as_strided(x, shape, strides, writeable=True):
    from cupy.lib.stride_tricks import as_strided
    return as_strided(x, shape=shape, strides=strides)


