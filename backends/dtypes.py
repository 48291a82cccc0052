"""The dtypes topograd knows, by name.

Tensors report NumPy dtype objects (CuPy uses the same ones), so
``t.dtype == ag.float32`` reads naturally. Backends whose namespace has dtype
objects of its own (array-api-strict) translate through the names here.
"""
import math

import numpy as np

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
bool_ = np.dtype("bool")

NAMES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64",
         "uint8", "uint16", "uint32", "uint64", "bool")
_KNOWN = frozenset(np.dtype(name) for name in NAMES)  # a quicker test than dtype.isnative


def canonical(dtype):
    """Turn a string, NumPy dtype, Python type or array dtype into a NumPy dtype (in this
    machine's byte order)."""
    if dtype is None:
        return None
    if isinstance(dtype, np.dtype):
        if dtype in _KNOWN or dtype.isnative:
            return dtype
        # Byte-swapped ('>f4', from a big-endian file): '>f4' is float32 but not equal to
        # ag.float32, so tensors and dtype checks take it in this machine's order.
        return dtype.newbyteorder("=")
    if dtype is bool:
        return bool_
    name = dtype if isinstance(dtype, str) else getattr(dtype, "name", None) or str(dtype)
    if name == "bool_":
        name = "bool"
    if name not in NAMES:
        try:
            resolved = np.dtype(dtype)
        except TypeError:
            resolved = None
        if resolved is None or resolved.name not in NAMES:
            raise TypeError(f"unsupported dtype {dtype!r}; use one of {', '.join(NAMES)}")
        return resolved.newbyteorder("=")
    return np.dtype(name)


def names_a_dtype(value):
    """Whether ``value`` names a dtype, one topograd holds or not: a name or dtype NumPy
    reads ('complex64'), or a PyTorch dtype. (Where a device may stand instead, as in
    Tensor.to's first argument, such a value is refused as a dtype, not as a device.)"""
    if type(value).__name__ == "dtype":  # NumPy's, PyTorch's
        return True
    try:
        np.dtype(value)
    except (TypeError, ValueError):
        return False
    return True


# NumPy's scalar types (np.float32(0.5), np.int64(3)): they count as Python numbers of their
# kind beside a tensor, as in PyTorch, not as 0-d tensors of their dtype.
NUMPY_SCALAR = np.generic

_FLOATING_DTYPES = frozenset({float16, float32, float64})


def is_floating(dtype):
    return canonical(dtype) in _FLOATING_DTYPES  # not by .name, which NumPy computes on each access


# PyTorch's dtype categories, lowest first: across categories the higher one wins.
_CATEGORY = {"b": 0, "i": 1, "u": 1, "f": 2}
CATEGORY_NAMES = ("bool", "integer", "floating point")


def category(dtype):
    """0 for bool, 1 for the integers, 2 for floating point."""
    return _CATEGORY[canonical(dtype).kind]


def of_scalar(value):
    """The dtype standing for a Python scalar's category, or an array's own dtype."""
    if isinstance(value, bool):
        return bool_
    if isinstance(value, int):
        return int64
    if isinstance(value, float):
        return float32
    return canonical(getattr(value, "dtype", None) or np.asarray(value).dtype)


def promote(a, b, a_is_0d=False, b_is_0d=False):
    """The dtype of an op between tensors of dtypes ``a`` and ``b``, by PyTorch's rules:
    across categories (bool, integer, floating) the dtype of the higher one, so an int64
    tensor times a float32 one stays float32 (NumPy's rules would give float64); within
    one, a 0-d tensor yields to one with dimensions (float32 times a 0-d float64 stays
    float32), else the wider dtype, as NumPy's rules give."""
    a, b = canonical(a), canonical(b)
    category_a, category_b = category(a), category(b)
    if category_a != category_b:
        return a if category_a > category_b else b
    if a_is_0d != b_is_0d:
        return b if a_is_0d else a
    return np.result_type(a, b)


def wrapped(value, dtype):
    """The Python int ``value`` cast to the integer ``dtype`` as a cast keeps its low bits
    (two's complement), which is how PyTorch takes an int its tensor's dtype cannot hold:
    a uint8 tensor plus -1 is that tensor minus 1, wrapping at 0 as both do."""
    if not -(1 << 63) <= value < 1 << 64:  # (PyTorch refuses these too)
        raise OverflowError(f"the Python int {value} needs more than 64 bits, which no tensor dtype holds")
    dtype = canonical(dtype)
    bits = 8 * dtype.itemsize
    value %= 1 << bits
    if dtype.kind == "i" and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def as_torch_tensor_takes(op, value, dtype):
    """``value``, a Python number in the data of a new tensor of ``dtype``, as torch.tensor
    takes it: into an integer dtype, an int within the dtype's range, or a negative one down
    to -max into an unsigned dtype narrower than 64 bits, which wraps (uint8's -1 is 255;
    uint64 takes no negative int), or a float within the range before its truncation. Any
    other number is refused, naming the value, the dtype and the fix, with the OverflowError
    NumPy's conversion raised (PyTorch's is a RuntimeError)."""
    dtype = canonical(dtype)
    if dtype.kind not in "iu" or isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{op}: integers have no inf or nan, so {value} cannot go into a tensor of {dtype}; "
                         "use a floating dtype")
    if isinstance(value, int) and not -(1 << 63) <= value < 1 << 64:
        raise OverflowError(f"{op}: the Python int {value} needs more than 64 bits, which no tensor dtype holds")
    low, high = value_range(dtype)
    wraps = dtype.kind == "u" and dtype.itemsize < 8
    if isinstance(value, int) and wraps and -high <= value < 0:
        return wrapped(value, dtype)
    if not low <= value <= high:
        negatives = f" (and negative ints down to -{high}, which wrap around)" if wraps else ""
        raise OverflowError(f"{op}: {value} does not fit in {dtype}, which holds {low} to {high}{negatives}; "
                         f"use a wider dtype, or bring the value into that range first")
    return value


def finfo(dtype):
    """NumPy's limits of a floating dtype (the dtype objects are NumPy's on every backend)."""
    return np.finfo(canonical(dtype))


def iinfo(dtype):
    """NumPy's limits of an integer dtype."""
    return np.iinfo(canonical(dtype))


def value_range(dtype):
    """The smallest and largest finite values ``dtype`` holds (False and True for bool)."""
    dtype = canonical(dtype)
    if dtype == bool_:
        return False, True
    if dtype.kind == "f":
        info = np.finfo(dtype)
        return float(info.min), float(info.max)
    info = np.iinfo(dtype)
    return info.min, info.max


def check_fill(op, value, dtype):
    """``value``, a Python number written into a tensor of ``dtype`` (a fill, an item
    assignment, a masked fill), as that dtype takes it; one it cannot hold is refused, as
    PyTorch does, where NumPy would fill inf (float overflow), the most negative integer
    (nan) or raise its own error. A float must lie in an integer dtype's range before its
    truncation toward zero, as PyTorch checks it (-0.5 does not fit in uint8); a negative
    int down to -max wraps into an unsigned dtype, as in PyTorch (-1 is uint8's 255)."""
    dtype = canonical(dtype)
    if dtype == bool_ or not isinstance(value, (int, float)):
        return value
    if isinstance(value, float) and not np.isfinite(value):
        if dtype.kind != "f":
            raise ValueError(f"{op}: integers have no inf or nan, so {value} cannot fill a tensor of {dtype}; "
                             "use a floating dtype")
        return value
    low, high = value_range(dtype)
    if isinstance(value, int) and dtype.kind == "u" and -high <= value < 0:
        return wrapped(value, dtype)
    if not low <= value <= high:
        raise ValueError(f"{op}: {value} does not fit in {dtype}, which holds {low} to {high}; "
                         "use a wider dtype")
    return value
