"""Functions that make new tensors on the default (or a given) device."""
import math

import backends
from backends import dtypes

from .shapes import INTEGER, shape_arg, single_axis
from .tensor import Tensor, default_dtype, refuse_unsupported_dtype


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new leaf tensor holding a copy of ``data`` (floats default to ag.get_default_dtype()),
    on ``device``; without one, a Tensor's copy stays on its device (as PyTorch's) and
    anything else goes to the default device."""
    if device is None and isinstance(data, Tensor):
        device = data._backend
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


def _sizes(op, shape):
    """``shape_arg``'s sizes, refusing negative ones with the op's name (NumPy says only
    "negative dimensions are not allowed", from deep inside its random generator)."""
    sizes = shape_arg(shape, op)
    if any(d < 0 for d in sizes):
        raise ValueError(f"{op}: negative size in {sizes}; every size must be >= 0")
    return sizes


def _filled(op, fill, shape, dtype, device, requires_grad):
    backend = backends.get(device)
    dtype = _dtype(dtype)
    t = Tensor._make(fill(backend.xp, _sizes(op, shape), backend.native_dtype(dtype)), backend)
    return t.requires_grad_() if requires_grad else t


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    return _filled("zeros", lambda xp, s, d: xp.zeros(s, dtype=d), shape, dtype, device, requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False):
    return _filled("ones", lambda xp, s, d: xp.ones(s, dtype=d), shape, dtype, device, requires_grad)


def empty(*shape, dtype=None, device=None, requires_grad=False):
    return _filled("empty", lambda xp, s, d: xp.empty(s, dtype=d), shape, dtype, device, requires_grad)


def full(shape, fill_value, dtype=None, device=None, requires_grad=False):
    shape = _sizes("full", (shape,))
    if hasattr(fill_value, "item"):  # a NumPy scalar, a 0-d array or tensor: the standard's full takes Python scalars
        fill_value = fill_value.item()
    if not isinstance(fill_value, (int, float)):  # NumPy would fill None as nan and 1j as 0
        raise TypeError(f"full: fill_value must be a real number or a bool, not {type(fill_value).__name__}")
    if dtype is None and isinstance(fill_value, bool):
        dtype = dtypes.bool_
    elif dtype is None and isinstance(fill_value, int):
        dtype = dtypes.int64
    dtype = _dtype(dtype)
    fill_value = dtypes.check_fill("full", fill_value, dtype)
    if isinstance(fill_value, float) and dtypes.category(dtype) == 1:
        fill_value = int(fill_value)  # truncated toward zero, as PyTorch
    return _filled("full", lambda xp, s, d: xp.full(s, fill_value, dtype=d), shape, dtype, device, requires_grad)


def arange(start, stop=None, step=1, dtype=None, device=None, requires_grad=False):
    if stop is None:
        start, stop = 0, start
    # NumPy scalars as the Python numbers they stand for (np.int64(5) is an int here, as in NumPy)
    start, stop, step = (v.item() if hasattr(v, "item") else v for v in (start, stop, step))
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if not all(math.isfinite(v) for v in (start, stop, step)):
        raise ValueError(f"arange: start, stop and step must be finite, got {start}, {stop}, {step}")
    if (stop - start) * step < 0:  # NumPy gives an empty tensor, which hides a sign slip
        raise ValueError(f"arange: step {step} goes away from stop: from {start} it never reaches {stop}; "
                         "flip the step's sign or swap start and stop")
    if dtype is None:
        is_int = all(isinstance(v, int) for v in (start, stop, step))
        dtype = dtypes.int64 if is_int else default_dtype()
    dtype = dtypes.canonical(dtype)
    if dtype == dtypes.bool_:  # NumPy's counts to 2 at most; PyTorch has none
        raise TypeError("arange: dtype bool has no range to count; make an integer range and compare it, "
                        "as in arange(n) < k")
    if dtypes.category(dtype) == 1:
        # As PyTorch: an integer arange counts in integers, its bounds and step truncated
        # toward zero (NumPy steps by int(start + step) - int(start), which can be 0).
        start, stop, step = int(start), int(stop), int(step)
        if step == 0:
            raise ValueError(f"arange: step truncates to 0 for the integer dtype {dtype}; "
                             "use a step of at least 1, or a floating dtype")
    backend = backends.get(device)
    xp = backend.xp
    if dtypes.is_floating(dtype):
        # Each value start + i * step in float64, rounded once to the dtype (PyTorch's
        # vectorized kernel can differ in the last place): NumPy steps by (start + step) -
        # start, which rounds to 0 past 2**53 in float64 (and past 2**24 in float32), so its
        # values stopped growing.
        count = math.ceil((float(stop) - float(start)) / float(step))
        float64 = backend.native_dtype(dtypes.float64)
        array = xp.astype(xp.arange(count, dtype=float64) * step + start, backend.native_dtype(dtype))
    else:
        array = xp.arange(start, stop, step, dtype=backend.native_dtype(dtype))
    t = Tensor._make(array, backend)
    return t.requires_grad_() if requires_grad else t


def linspace(start, stop, num=50, dtype=None, device=None, requires_grad=False, endpoint=True):
    (num,) = _sizes("linspace", (num,))
    backend = backends.get(device)
    dtype = _dtype(dtype)
    # 0-d tensors and NumPy scalars as the Python numbers they hold (a tensor off the CPU has no __float__)
    start, stop = (v.item() if hasattr(v, "item") else v for v in (start, stop))
    for name, end in (("start", start), ("stop", stop)):
        if not isinstance(end, (int, float)):  # NumPy dropped 1j's imaginary part, and raised its own error for "0"
            raise TypeError(f"linspace: {name} must be a real number, not {end!r}")
        # an end the dtype cannot hold is refused, as by PyTorch: NumPy wrapped 300 to 44 in
        # uint8, and overflowed 1e39 to inf in float32
        dtypes.check_fill("linspace", end, dtype)
    xp = backend.xp
    if dtypes.is_floating(dtype):
        array = xp.linspace(start, stop, num, dtype=backend.native_dtype(dtype), endpoint=endpoint)
    else:  # computed in float64 and truncated toward zero, as PyTorch (NumPy rounds down: -0.5 to -1)
        array = xp.astype(xp.linspace(start, stop, num, dtype=backend.native_dtype(dtypes.float64),
                                      endpoint=endpoint), backend.native_dtype(dtype))
    t = Tensor._make(array, backend)
    return t.requires_grad_() if requires_grad else t


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0, *, device=None,
             requires_grad=False):
    """``base ** linspace(start, stop, num)``, as NumPy's: worked out in float64 and cast
    once to ``dtype`` (the default float when None, where NumPy's is float64; an integer
    dtype truncates). ``start`` and ``stop`` are numbers, so ``axis`` can only be 0."""
    single_axis("logspace", axis, 1)
    (num,) = _sizes("logspace", (num,))
    exponents = linspace(start, stop, num, dtype=dtypes.float64, device=device, endpoint=endpoint)
    if hasattr(base, "item"):
        base = base.item()
    if not isinstance(base, (int, float)) or isinstance(base, bool):
        raise TypeError(f"logspace: base must be a real number, not {base!r}")
    return _cast_from_float64(float(base) ** exponents.data, exponents._backend, dtype, requires_grad)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0, *, device=None, requires_grad=False):
    """``num`` numbers from ``start`` to ``stop`` evenly spaced on a log scale (each a
    constant multiple of the one before), as NumPy's: the ends exact, worked out in
    float64 and cast once to ``dtype`` (the default float when None). Both ends negative
    gives the negated sequence; ends of opposite signs, or 0, are refused (NumPy gives
    NaN for the first, and raises for the second)."""
    single_axis("geomspace", axis, 1)
    (num,) = _sizes("geomspace", (num,))
    start, stop = (float(v.item() if hasattr(v, "item") else v) for v in (start, stop))
    if start == 0 or stop == 0:
        raise ValueError("geomspace: a geometric sequence cannot include zero; start both ends on one side of it")
    if (start < 0) != (stop < 0):
        raise ValueError(f"geomspace: start {start} and stop {stop} have opposite signs, and a geometric sequence "
                         "of real numbers cannot cross zero; give both ends one sign")
    sign = -1.0 if start < 0 else 1.0
    exponents = linspace(math.log10(sign * start), math.log10(sign * stop), num, dtype=dtypes.float64,
                         device=device, endpoint=endpoint)
    values = 10.0 ** exponents.data
    if values.shape[0]:  # NumPy's exact ends, where 10 ** log10(x) can be an ulp off
        values[0] = sign * start
    if values.shape[0] > 1 and endpoint:
        values[-1] = sign * stop
    return _cast_from_float64(values * sign, exponents._backend, dtype, requires_grad)


def _cast_from_float64(values, backend, dtype, requires_grad):
    t = Tensor._make(backend.xp.astype(values, backend.native_dtype(_dtype(dtype))), backend)
    return t.requires_grad_() if requires_grad else t


def tril_indices(n, k=0, m=None, *, device=None):
    """The row and column indices of the lower triangle of an (n, m) matrix (m = n when
    None): entries (i, j) with j <= i + k, in row-major order, as two int64 tensors, as
    NumPy's (PyTorch's tril_indices stacks them into one (2, N) tensor)."""
    return _triangle_indices("tril_indices", n, k, m, device, lambda offset: offset <= k)


def triu_indices(n, k=0, m=None, *, device=None):
    """The row and column indices of the upper triangle of an (n, m) matrix: entries
    (i, j) with j >= i + k, as NumPy's (see tril_indices)."""
    return _triangle_indices("triu_indices", n, k, m, device, lambda offset: offset >= k)


def _triangle_indices(op, n, k, m, device, inside):
    n, m = _sizes(op, (n, n if m is None else m))
    if not isinstance(k, INTEGER) or isinstance(k, bool):
        raise TypeError(f"{op}: the diagonal offset k must be an int, not {k!r}")
    backend = backends.get(device)
    xp, int64 = backend.xp, backend.native_dtype(dtypes.int64)
    offset = xp.reshape(xp.arange(m, dtype=int64), (1, m)) - xp.reshape(xp.arange(n, dtype=int64), (n, 1))
    return tuple(Tensor._make(xp.astype(i, int64), backend) for i in xp.nonzero(inside(offset)))


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    n, m = _sizes("eye", (n, n if m is None else m))
    backend = backends.get(device)
    t = Tensor._make(backend.xp.eye(n, m, dtype=backend.native_dtype(_dtype(dtype))), backend)
    return t.requires_grad_() if requires_grad else t


def rand(*shape, dtype=None, device=None, requires_grad=False):
    """Uniform on [0, 1), from the device's seeded generator (see manual_seed)."""
    backend = backends.get(device)
    dtype = _floating_dtype("rand", dtype)
    t = Tensor._make(backend.uniform(_sizes("rand", shape), 0.0, 1.0, dtype), backend)
    return t.requires_grad_() if requires_grad else t


def randn(*shape, dtype=None, device=None, requires_grad=False):
    """Standard normal, from the device's seeded generator (see manual_seed)."""
    backend = backends.get(device)
    dtype = _floating_dtype("randn", dtype)
    t = Tensor._make(backend.normal(_sizes("randn", shape), 0.0, 1.0, dtype), backend)
    return t.requires_grad_() if requires_grad else t


def _floating_dtype(op, dtype):
    dtype = _dtype(dtype)
    if not dtypes.is_floating(dtype):
        raise TypeError(f"{op}: dtype must be floating point, not {dtype}; use randint for integers")
    return dtype


def randint(low=0, high=None, size=None, *, dtype=None, device=None, requires_grad=False):
    """Integers uniform on [low, high), from the device's seeded generator; int64 unless
    ``dtype`` says otherwise. As in PyTorch, ``randint(high, size)`` counts from 0."""
    if high is None:  # randint(high, size=...)
        low, high = 0, low
    elif size is None and not isinstance(high, INTEGER):  # randint(high, size)
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint: missing the size, as in randint(low, high, (2, 3)) or randint(high, (2, 3))")
    if not (isinstance(low, INTEGER) and isinstance(high, INTEGER)):
        raise TypeError(f"randint: low and high must be integers, got {low!r} and {high!r}")
    if low >= high:
        raise ValueError(f"randint: low must be below high, got low={low} and high={high}")
    backend = backends.get(device)
    dtype = dtypes.int64 if dtype is None else dtypes.canonical(dtype)
    smallest, largest = dtypes.value_range(dtype)
    if low < smallest or high - 1 > largest:  # the cast below would wrap the draws around
        raise ValueError(f"randint: [{low}, {high}) does not fit in {dtype}, which holds {smallest} to {largest}; "
                         "use a wider dtype")
    array = backend.integers(low, high, _sizes("randint", (size,)))
    if dtype != dtypes.int64:
        array = backend.xp.astype(array, backend.native_dtype(dtype))
    t = Tensor._make(array, backend)
    return t.requires_grad_() if requires_grad else t


def _like(op, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: takes a Tensor, not {type(x).__name__}; "
                        f"for an array use ag.{op.removesuffix('_like')}(x.shape, dtype=...)")
    return x


def _like_maker(name, make):
    """``name(x, dtype=None, device=None, requires_grad=False)``: ``make`` in x's shape, with
    x's dtype and device unless given others."""
    def like(x, dtype=None, device=None, requires_grad=False):
        x = _like(name, x)
        return make(x.shape, dtype=dtype or x.dtype, device=device or x._backend, requires_grad=requires_grad)
    like.__name__ = like.__qualname__ = name
    like.__doc__ = f"ag.{make.__name__} in x's shape, with x's dtype and device unless given others."
    return like


zeros_like = _like_maker("zeros_like", zeros)
ones_like = _like_maker("ones_like", ones)
empty_like = _like_maker("empty_like", empty)
rand_like = _like_maker("rand_like", rand)
randn_like = _like_maker("randn_like", randn)


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False):
    x = _like("full_like", x)
    return full(x.shape, fill_value, dtype=dtype or x.dtype, device=device or x._backend,
                requires_grad=requires_grad)


def randint_like(x, low=0, high=None, *, dtype=None, device=None, requires_grad=False):
    """Integers on [low, high) in x's shape, dtype and device; ``randint_like(x, high)`` counts from 0."""
    x = _like("randint_like", x)
    return randint(low, high, x.shape, dtype=dtype or x.dtype, device=device or x._backend,
                   requires_grad=requires_grad)


def manual_seed(seed):
    """Seed every device's random generator, for reproducible runs. As PyTorch, a seed is
    any 64-bit int, signed or not: a negative one counts as its two's complement (-1 is
    2**64 - 1), which NumPy's generators, taking only non-negative seeds, need."""
    if isinstance(seed, (str, bytes)) or (hasattr(seed, "is_integer") and not seed.is_integer()):
        # int() would read '42' or truncate 0.5 to 0, so 0.1 and 0.9 silently seed alike
        raise TypeError(f"manual_seed: the seed must be an integer, got {type(seed).__name__} {seed!r}; "
                        "pass an int (int(seed) truncates a float)")
    seed = int(seed)
    if not -(1 << 63) <= seed < 1 << 64:
        raise ValueError(f"manual_seed: the seed {seed} does not fit in 64 bits; "
                         f"use one from {-(1 << 63)} to {(1 << 64) - 1}")
    backends.manual_seed(seed % (1 << 64))


def from_dlpack(obj):
    """A tensor sharing memory with any DLPack producer (NumPy, CuPy, PyTorch...)."""
    if not hasattr(obj, "__dlpack_device__"):
        raise TypeError(f"from_dlpack: takes an array that supports DLPack (NumPy, CuPy, a PyTorch tensor...), "
                        f"not {type(obj).__name__}; use ag.tensor for Python numbers and lists")
    device_type, index = obj.__dlpack_device__()
    if int(device_type) == 1:
        backend = backends.get("cpu")
    elif int(device_type) == 2:
        backend = backends.get(f"cuda:{index}")
    else:
        raise ValueError(f"from_dlpack: unsupported DLPack device type {device_type}; "
                         "topograd takes CPU (1) and CUDA (2) arrays")
    array = backend.xp.from_dlpack(obj)
    refuse_unsupported_dtype(array, backend, f"from_dlpack: cannot share this {type(obj).__name__}")
    return Tensor._make(array, backend)
