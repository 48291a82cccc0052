"""Functions that make new tensors on the default (or a given) device."""
import math

import backends
from backends import dtypes

from .shapes import INTEGER, shape_arg
from .tensor import Tensor, default_dtype


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new leaf tensor holding a copy of ``data`` (floats default to ag.get_default_dtype())."""
    backend = backends.get(device)
    if isinstance(data, Tensor):
        data = data._backend.to_numpy(data.data)
    if hasattr(data, "__dlpack__") and not hasattr(data, "__array__"):  # a DLPack-only producer
        data = backend.xp.from_dlpack(data)
    t = Tensor(data, dtype=dtype, device=backend)
    # Never alias the caller's memory: only Python numbers and lists are sure to come out
    # as a new array; an array-like (a memmap, a PyTorch tensor) may come out as a view.
    if not isinstance(data, (list, tuple, int, float)):
        t.data = backend.xp.asarray(t.data, copy=True)
    if requires_grad:
        t.requires_grad = True
    return t


def _dtype(dtype):
    return default_dtype() if dtype is None else dtypes.canonical(dtype)


def _filled(fill, shape, dtype, device, requires_grad):
    backend = backends.get(device)
    dtype = _dtype(dtype)
    t = Tensor._make(fill(backend.xp, shape_arg(shape), backend.native_dtype(dtype)), backend)
    return t.requires_grad_() if requires_grad else t


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    return _filled(lambda xp, s, d: xp.zeros(s, dtype=d), shape, dtype, device, requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False):
    return _filled(lambda xp, s, d: xp.ones(s, dtype=d), shape, dtype, device, requires_grad)


def empty(*shape, dtype=None, device=None, requires_grad=False):
    return _filled(lambda xp, s, d: xp.empty(s, dtype=d), shape, dtype, device, requires_grad)


def full(shape, fill_value, dtype=None, device=None, requires_grad=False):
    shape = (shape,) if isinstance(shape, INTEGER) else tuple(shape)
    if hasattr(fill_value, "item"):  # a NumPy scalar, a 0-d array or tensor: the standard's full takes Python scalars
        fill_value = fill_value.item()
    if not isinstance(fill_value, (int, float)):  # NumPy would fill None as nan and 1j as 0
        raise TypeError(f"full: fill_value must be a real number or a bool, not {type(fill_value).__name__}")
    if isinstance(fill_value, float) and dtype is not None and dtypes.category(dtype) == 1:
        if not math.isfinite(fill_value):  # NumPy would fill the most negative integer
            raise ValueError(f"full: cannot fill a {dtypes.canonical(dtype)} tensor with {fill_value}; "
                             "integers have no inf or nan")
        fill_value = int(fill_value)  # truncated toward zero, as PyTorch
    if dtype is None and isinstance(fill_value, bool):
        dtype = dtypes.bool_
    elif dtype is None and isinstance(fill_value, int):
        dtype = dtypes.int64
    return _filled(lambda xp, s, d: xp.full(s, fill_value, dtype=d), shape, dtype, device, requires_grad)


def zeros_like(x, dtype=None, device=None, requires_grad=False):
    return zeros(x.shape, dtype=dtype or x.dtype, device=device or x._backend, requires_grad=requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad=False):
    return ones(x.shape, dtype=dtype or x.dtype, device=device or x._backend, requires_grad=requires_grad)


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False):
    return full(x.shape, fill_value, dtype=dtype or x.dtype, device=device or x._backend,
                requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None, device=None, requires_grad=False):
    if stop is None:
        start, stop = 0, start
    # NumPy scalars as the Python numbers they stand for (np.int64(5) is an int here, as in NumPy)
    start, stop, step = (v.item() if hasattr(v, "item") else v for v in (start, stop, step))
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if dtype is None:
        is_int = all(isinstance(v, int) for v in (start, stop, step))
        dtype = dtypes.int64 if is_int else default_dtype()
    elif dtypes.category(dtype) == 1:
        # As PyTorch: an integer arange counts in integers, its bounds and step truncated
        # toward zero (NumPy steps by int(start + step) - int(start), which can be 0).
        start, stop, step = int(start), int(stop), int(step)
        if step == 0:
            raise ValueError(f"arange: step truncates to 0 for the integer dtype {dtypes.canonical(dtype)}; "
                             "use a step of at least 1, or a floating dtype")
    backend = backends.get(device)
    t = Tensor._make(backend.xp.arange(start, stop, step, dtype=backend.native_dtype(dtypes.canonical(dtype))),
                     backend)
    return t.requires_grad_() if requires_grad else t


def linspace(start, stop, num=50, dtype=None, device=None, requires_grad=False, endpoint=True):
    backend = backends.get(device)
    dtype = _dtype(dtype)
    # 0-d tensors and NumPy scalars as the Python numbers they hold (a tensor off the CPU has no __float__)
    start, stop = (v.item() if hasattr(v, "item") else v for v in (start, stop))
    xp = backend.xp
    if dtypes.is_floating(dtype):
        array = xp.linspace(start, stop, num, dtype=backend.native_dtype(dtype), endpoint=endpoint)
    else:  # computed in float64 and truncated toward zero, as PyTorch (NumPy rounds down: -0.5 to -1)
        array = xp.astype(xp.linspace(start, stop, num, dtype=backend.native_dtype(dtypes.float64),
                                      endpoint=endpoint), backend.native_dtype(dtype))
    t = Tensor._make(array, backend)
    return t.requires_grad_() if requires_grad else t


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    backend = backends.get(device)
    t = Tensor._make(backend.xp.eye(n, m, dtype=backend.native_dtype(_dtype(dtype))), backend)
    return t.requires_grad_() if requires_grad else t


def rand(*shape, dtype=None, device=None, requires_grad=False):
    """Uniform on [0, 1), from the device's seeded generator (see manual_seed)."""
    backend = backends.get(device)
    dtype = _floating_dtype("rand", dtype)
    t = Tensor._make(backend.uniform(shape_arg(shape), 0.0, 1.0, dtype), backend)
    return t.requires_grad_() if requires_grad else t


def randn(*shape, dtype=None, device=None, requires_grad=False):
    """Standard normal, from the device's seeded generator (see manual_seed)."""
    backend = backends.get(device)
    dtype = _floating_dtype("randn", dtype)
    t = Tensor._make(backend.normal(shape_arg(shape), 0.0, 1.0, dtype), backend)
    return t.requires_grad_() if requires_grad else t


def _floating_dtype(op, dtype):
    dtype = _dtype(dtype)
    if not dtypes.is_floating(dtype):
        raise TypeError(f"{op}: dtype must be floating point, not {dtype}; use randint for integers")
    return dtype


def randint(low, high, shape, device=None):
    backend = backends.get(device)
    return Tensor._make(backend.integers(low, high, shape_arg((shape,)) if isinstance(shape, INTEGER) else tuple(shape)),
                        backend)


def manual_seed(seed):
    """Seed every device's random generator, for reproducible runs."""
    backends.manual_seed(int(seed))


def from_dlpack(obj):
    """A tensor sharing memory with any DLPack producer (NumPy, CuPy, PyTorch...)."""
    device_type, index = obj.__dlpack_device__()
    if int(device_type) == 1:
        backend = backends.get("cpu")
    elif int(device_type) == 2:
        backend = backends.get(f"cuda:{index}")
    else:
        raise ValueError(f"from_dlpack: unsupported DLPack device type {device_type}; "
                         "topograd takes CPU (1) and CUDA (2) arrays")
    return Tensor._make(backend.xp.from_dlpack(obj), backend)
