"""CuPy's main namespace, completed where it falls short of the Array API standard.

The engine calls only the standard's functions on ``xp`` (the strict backend shows it
on the CPU), but CuPy's main namespace follows NumPy's, and NumPy 2's only from CuPy
14 on: CuPy 13 has no ``concat``, ``permute_dims``, ``astype`` or ``bool``, names the
inverse trigonometric functions ``arcsin`` and so on (the standard's ``asin``...), and
its ``asarray`` takes no ``copy=``; no CuPy release so far takes ``clip(x, min=, max=)``,
whose bounds it names ``a_min`` and ``a_max``. CuPy 13 also names the shifts ``left_shift``
and ``right_shift``, and has no ``unique_*`` functions, which its ``unique`` gives here;
neither CuPy 13 nor 14 has ``vecdot``.
(array-api-compat's CuPy wrapper fills in the same names.) ``array_api_namespace``
returns CuPy's namespace with the standard's form of each of these added, and CuPy's
own taken wherever it has one. Its ``asarray`` also keeps the sign of a zero scalar
where the module's loses it, as every CuPy release so far does (see
_asarray_keeping_signed_zeros).
"""
import inspect
import math
import types

import numpy as np


class _Namespace(types.ModuleType):
    """Everything the wrapped module holds, copied once (as quick to look up as the
    module's own names), plus the names added here. Named after the module, so that
    ``importlib.import_module(f"{xp.__name__}.lib.stride_tricks")`` still finds CuPy's."""

    def __init__(self, module):
        super().__init__(module.__name__, module.__doc__)
        self.__dict__.update((k, v) for k, v in vars(module).items() if not k.startswith("__"))
        self.__dict__["_wrapped"] = module

    def __getattr__(self, name):  # names the module makes on first use
        return getattr(self.__dict__["_wrapped"], name)


def array_api_namespace(module):
    """``module`` (CuPy) with the Array API names the engine calls that it lacks."""
    namespace = _Namespace(module)
    if not hasattr(module, "bool"):
        namespace.bool = module.bool_
    if not hasattr(module, "concat"):
        namespace.concat = module.concatenate  # same arguments: (arrays, axis=0)
    if not hasattr(module, "permute_dims"):
        namespace.permute_dims = module.transpose  # same arguments: (x, axes)
    if not hasattr(module, "astype"):
        namespace.astype = _astype
    if "copy" not in _parameters(module.asarray):
        namespace.asarray = _asarray_taking_copy(module)
    if not module.signbit(module.asarray(-0.0)):  # (one read from the device, once)
        namespace.asarray = _asarray_keeping_signed_zeros(namespace.asarray)
    if "min" not in _parameters(module.clip):
        namespace.clip = _clip_taking_min_max(module)
    if "descending" not in _parameters(module.argsort):
        namespace.argsort = _argsort_taking_descending(module)
    for name, numpy_name in _NUMPY_NAMES:
        if not hasattr(module, name):  # (CuPy 13: NumPy 1's names only)
            setattr(namespace, name, getattr(module, numpy_name))
    for name, scan in (("cumulative_sum", module.cumsum), ("cumulative_prod", module.cumprod)):
        if not hasattr(module, name):  # (CuPy 13)
            setattr(namespace, name, _cumulative(scan))
    for name, parts in _UNIQUE_PARTS.items():
        if not hasattr(module, name):  # (CuPy 13)
            setattr(namespace, name, _unique_parts(module.unique, parts))
    if not hasattr(module, "vecdot"):  # (CuPy 13 and 14)
        namespace.vecdot = _vecdot(module)
    return namespace


# The standard's names for functions NumPy 1 (and CuPy 13) name otherwise, same arguments.
_NUMPY_NAMES = (("asin", "arcsin"), ("acos", "arccos"), ("atan", "arctan"), ("atan2", "arctan2"),
                ("asinh", "arcsinh"), ("acosh", "arccosh"), ("atanh", "arctanh"), ("bitwise_invert", "invert"),
                ("bitwise_left_shift", "left_shift"), ("bitwise_right_shift", "right_shift"))


def _parameters(function):
    try:
        return inspect.signature(function).parameters
    except (TypeError, ValueError):  # no signature to read: wrap it, which is always right
        return ()


def _astype(x, dtype, /, *, copy=True):
    return x.astype(dtype, copy=copy)


def _asarray_taking_copy(module):
    asarray, array, ndarray = module.asarray, module.array, module.ndarray

    def asarray_(obj, /, dtype=None, *, copy=None, **kwargs):
        if copy:
            return array(obj, dtype=dtype, copy=True, **kwargs)
        if copy is False and not (isinstance(obj, ndarray) and (dtype is None or obj.dtype == dtype)):
            raise ValueError("asarray(copy=False): this input can only be converted by copying it; "
                             "pass copy=None to allow a copy")
        return asarray(obj, dtype=dtype, **kwargs)

    return asarray_


def _asarray_keeping_signed_zeros(asarray):
    """``asarray`` with -0.0 kept. CuPy makes a 0-d array from a host scalar with
    ``ndarray.fill``, which writes any value equal to 0 as a memset of zero bytes, so
    ``asarray(-0.0)`` came out +0.0 (copysign(x, -0.0) gave |x|, a threshold's -0.0 fill
    +0.0). Such a scalar goes as a 1-element array instead, whose bytes are copied."""
    def asarray_(obj, /, dtype=None, **kwargs):
        if _signed_zero(obj):
            return asarray(np.asarray(obj, dtype=dtype).reshape(1), **kwargs).reshape(())
        return asarray(obj, dtype=dtype, **kwargs)

    return asarray_


def _signed_zero(obj):
    """Whether ``obj`` is a host scalar (a Python or NumPy float or complex, a 0-d NumPy
    array) equal to 0 with a sign bit set; cheap for every other argument."""
    if obj.__class__ is float:  # the common case, without NumPy
        return obj == 0 and math.copysign(1.0, obj) < 0
    if isinstance(obj, (complex, np.generic)) or (isinstance(obj, np.ndarray) and obj.ndim == 0):
        value = np.asarray(obj)
        return value.dtype.kind in "fc" and value == 0 and bool(np.signbit(value.real) | np.signbit(value.imag))
    return False


def _clip_taking_min_max(module):
    clip = module.clip

    def clip_(x, /, min=None, max=None):
        return clip(x, min, max)

    return clip_


def _argsort_taking_descending(module):
    argsort, flip = module.argsort, module.flip

    def argsort_(x, /, *, axis=-1, descending=False, stable=True):
        if not descending:
            return argsort(x, axis=axis)  # CuPy's sort is always stable
        # A stable sort of the reversed axis, reversed back and renumbered: ties stay in order
        reversed_order = argsort(flip(x, axis=axis), axis=axis)
        return (x.shape[axis] - 1) - flip(reversed_order, axis=axis)

    return argsort_


def _cumulative(scan):
    def cumulative_(x, /, *, axis=None, dtype=None):
        return scan(x, axis=axis, dtype=dtype)

    return cumulative_


# The standard's unique_* functions: which of unique's optional parts each returns
_UNIQUE_PARTS = {"unique_values": (), "unique_counts": ("counts",), "unique_inverse": ("inverse",),
                 "unique_all": ("index", "inverse", "counts")}


def _unique_parts(unique, parts):
    def unique_(x, /):
        # equal_nan=False: each NaN distinct, as the standard asks (unique's default merges them)
        found = unique(x, **{f"return_{part}": True for part in parts}, equal_nan=False)
        if not parts:
            return found
        found = list(found)
        if "inverse" in parts:  # in x's shape, as the standard's (unique's is flat)
            place = 1 + parts.index("inverse")
            found[place] = found[place].reshape(x.shape)
        return tuple(found)

    return unique_


def _vecdot(module):
    moveaxis, conj, sum_, result_type = module.moveaxis, module.conj, module.sum, module.result_type

    def vecdot_(x1, x2, /, *, axis=-1):
        """The standard's vecdot: sum(conj(x1) * x2) along ``axis`` of each operand, the
        other axes broadcast against each other; the result keeps the operands' dtype."""
        if x1.shape[axis] != x2.shape[axis]:
            raise ValueError(f"vecdot: the operands of shapes {x1.shape} and {x2.shape} have sizes "
                             f"{x1.shape[axis]} and {x2.shape[axis]} along axis {axis}; they must be equal")
        a, b = moveaxis(x1, axis, -1), moveaxis(x2, axis, -1)
        dtype = result_type(a, b)
        if dtype.kind == "c":
            a = conj(a)
        wide = dtype
        if dtype.kind == "f" and dtype.itemsize < 4:
            # as NumPy's float16 loop: products and sum in float32, rounded once at the end
            wide = module.dtype(module.float32)
            a, b = a.astype(wide), b.astype(wide)
        return sum_(a * b, axis=-1, dtype=wide).astype(dtype, copy=False)

    return vecdot_
