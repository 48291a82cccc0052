"""Comparisons, and NumPy's isclose and allclose: bool tensors, outside the graph (they
have no gradient)."""
from backends import dtypes

from ..tensor import Tensor
from .elementwise import astype, operands

# For a Python int outside the tensor's integer range: (tensor below it, tensor above it).
_ANSWERS = {"less": (True, False), "less_equal": (True, False), "greater": (False, True),
            "greater_equal": (False, True), "equal": (False, False), "not_equal": (True, True)}
_MIRRORED = {"less": "greater", "less_equal": "greater_equal", "greater": "less",
             "greater_equal": "less_equal", "equal": "equal", "not_equal": "not_equal"}


# Python's int and NumPy's integer scalars (which count as Python ints beside a tensor)
_INTEGER_TYPES = frozenset([int] + [dtypes.canonical(name).type for name in dtypes.NAMES
                                    if dtypes.category(name) == 1])


def _beyond_range(name, a, b):
    """The answer, as NumPy 2 gives it, for an integer tensor against a Python int its dtype
    cannot hold (which the dtype would wrap around); None otherwise."""
    if b.__class__ not in _INTEGER_TYPES or not isinstance(a, Tensor):
        if a.__class__ not in _INTEGER_TYPES or not isinstance(b, Tensor):
            return None  # (the common case, decided by two cheap tests)
        a, b, name = b, a, _MIRRORED[name]
    b = int(b)
    if dtypes.category(a.dtype) != 1:
        return None
    xp = a._backend.xp
    info = xp.iinfo(a.data.dtype)
    if info.min <= b <= info.max:
        return None
    value = _ANSWERS[name][0 if b > info.max else 1]
    return Tensor._make(xp.full(a.data.shape, value, dtype=xp.bool), a._backend)


def holding_ints(a, b):
    """``a`` and ``b``, with an integer tensor widened where the other is a Python int its
    dtype cannot hold, which operands() would wrap into it (300 is int8's 44): for ops that
    compare values, as NumPy 2 compares them. (The comparisons answer such a case at once,
    in _beyond_range.) To int64, or past 64 bits to float64, which keeps the order."""
    for t, other in ((a, b), (b, a)):
        if other.__class__ in _INTEGER_TYPES and isinstance(t, Tensor) and dtypes.category(t.dtype) == 1:
            low, high = dtypes.value_range(t.dtype)
            if not low <= int(other) <= high:
                wide = astype(t, dtypes.int64 if t.dtype.itemsize < 8 else dtypes.float64)
                return (wide, b) if t is a else (a, wide)
    return a, b


def _compare(name, fn):
    def compare(a, b):
        beyond = _beyond_range(name, a, b)
        if beyond is not None:
            return beyond
        a, b = operands(name, a, b)
        xp = a._backend.xp
        da, db = a.data, b.data
        if a.dtype == dtypes.bool_ and name not in ("equal", "not_equal"):  # the standard orders no bools
            int32 = a._backend.native_dtype(dtypes.int32)
            da, db = xp.astype(da, int32), xp.astype(db, int32)
        return Tensor._make(fn(xp, da, db), a._backend)
    compare.__name__ = name
    compare.__doc__ = f"Elementwise {name}, as a bool tensor."
    return compare


less = _compare("less", lambda xp, a, b: xp.less(a, b))
less_equal = _compare("less_equal", lambda xp, a, b: xp.less_equal(a, b))
greater = _compare("greater", lambda xp, a, b: xp.greater(a, b))
greater_equal = _compare("greater_equal", lambda xp, a, b: xp.greater_equal(a, b))
equal = _compare("equal", lambda xp, a, b: xp.equal(a, b))
not_equal = _compare("not_equal", lambda xp, a, b: xp.not_equal(a, b))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether ``a`` and ``b`` are equal within ``atol + rtol * |b|``, elementwise, as a
    bool tensor, as NumPy's isclose (not symmetric: the tolerance scales with b).
    Equal infinities are close, others are not; NaN is close to NaN only with
    ``equal_nan``. Integers and bools are compared in float64, as NumPy does, past an
    exact test for equality."""
    for name, tolerance in (("rtol", rtol), ("atol", atol)):
        if not tolerance >= 0:  # (NaN too) NumPy takes any; a negative one would make nothing close
            raise ValueError(f"isclose: {name} must be a number >= 0, got {tolerance!r}")
    a, b = operands("isclose", *holding_ints(a, b))
    xp = a._backend.xp
    equal = xp.equal(a.data, b.data)
    da, db = a.data, b.data
    if not dtypes.is_floating(a.dtype):  # integers and bools (as 0 and 1, so atol=2 makes them close)
        float64 = a._backend.native_dtype(dtypes.float64)
        da, db = xp.astype(da, float64), xp.astype(db, float64)
    if equal_nan:
        equal = equal | (xp.isnan(da) & xp.isnan(db))
    finite = xp.isfinite(da) & xp.isfinite(db)
    zero = xp.zeros_like(da)
    da, db = xp.where(finite, da, zero), xp.where(finite, db, zero)  # no inf - inf (a warning, and NaN)
    close = equal | (finite & (xp.abs(da - db) <= atol + rtol * xp.abs(db)))
    return Tensor._make(close, a._backend)


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether every element of ``a`` is close to ``b``'s (see isclose), as a Python bool."""
    close = isclose(a, b, rtol, atol, equal_nan)
    return bool(close._backend.xp.all(close.data))
