"""CuPy's main namespace, completed where it falls short of the Array API standard.

The engine calls only the standard's functions on ``xp`` (the strict backend shows it
on the CPU), but CuPy's main namespace follows NumPy's, and NumPy 2's only from CuPy
14 on: CuPy 13 has no ``concat``, ``permute_dims``, ``astype`` or ``bool``, names the
inverse trigonometric functions ``arcsin`` and so on (the standard's ``asin``...), and
its ``asarray`` takes no ``copy=``; no CuPy release so far takes ``clip(x, min=, max=)``,
whose bounds it names ``a_min`` and ``a_max``. CuPy 13 also names the shifts ``left_shift``
and ``right_shift``, and has no ``unique_*`` functions, which its ``unique`` gives here.
(array-api-compat's CuPy wrapper fills in the same names.) ``array_api_namespace``
returns CuPy's namespace with the standard's form of each of these added, and CuPy's
own taken wherever it has one.
"""
import inspect
import types


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
