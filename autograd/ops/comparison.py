"""Comparisons: bool tensors, outside the graph (they have no gradient)."""
from backends import dtypes

from ..tensor import Tensor
from .elementwise import operands

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
