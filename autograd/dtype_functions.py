"""The Array API's data type functions: ``finfo``, ``iinfo``, ``can_cast``,
``result_type`` and ``isdtype``. Promotion follows topograd's own rules, those its ops
use (backends/dtypes.py, PyTorch's): across categories (bool, integer, floating) the
higher category's dtype, so ``result_type(int64, float16)`` is float16 where NumPy
gives float64; a 0-d tensor yields to one with dimensions within a category; and a
Python scalar takes the tensors' dtype where its category holds it."""
import math
import numbers
from collections import namedtuple

from backends import dtypes

from .tensor import Tensor, default_dtype


class FInfo(namedtuple("FInfo", ["bits", "eps", "max", "min", "smallest_normal", "dtype"])):
    """The standard's six fields, as a tuple, and the two more that NumPy's and PyTorch's
    finfo have, which code written for them reads (``finfo(x.dtype).tiny`` as a floor)."""
    __slots__ = ()

    @property
    def tiny(self):
        """NumPy's and PyTorch's name for smallest_normal."""
        return self.smallest_normal

    @property
    def resolution(self):
        """The decimal resolution, 10 ** -(the decimal digits eps leaves): 0.001 for float16."""
        return 10.0 ** -math.floor(-math.log10(self.eps))


IInfo = namedtuple("IInfo", ["bits", "max", "min", "dtype"])


def _dtype_of(op, value):
    """The dtype of a dtype (or its name) or a tensor's."""
    if isinstance(value, Tensor):
        return value.dtype
    try:
        return dtypes.canonical(value)
    except TypeError:
        raise TypeError(f"{op}: expected a dtype or a Tensor, got {type(value).__name__} {value!r}") from None


def finfo(type=None):
    """The limits of a floating dtype (or a tensor's; the default dtype's where none is
    given, as PyTorch's): bits, eps, max, min and smallest_normal (also as ``tiny``) and
    ``resolution`` as Python floats, and the dtype."""
    dtype = _dtype_of("finfo", default_dtype() if type is None else type)
    if not dtypes.is_floating(dtype):
        raise TypeError(f"finfo: {dtype} is not a floating dtype; for integers use ag.iinfo")
    info = dtypes.finfo(dtype)
    return FInfo(info.bits, float(info.eps), float(info.max), float(info.min), float(info.smallest_normal), dtype)


def iinfo(type):
    """The limits of an integer dtype (or a tensor's): bits, max and min as Python ints,
    and the dtype."""
    dtype = _dtype_of("iinfo", type)
    if dtypes.category(dtype) != 1:
        raise TypeError(f"iinfo: {dtype} is not an integer dtype; for floating dtypes use ag.finfo")
    info = dtypes.iinfo(dtype)
    return IInfo(info.bits, int(info.max), int(info.min), dtype)


_SCALAR_DTYPE = {0: dtypes.bool_, 1: dtypes.int64}  # and the default float for floats


def result_type(*arrays_and_dtypes):
    """The dtype an op on these tensors, dtypes and Python scalars gives (``ag.add``'s for
    two). As PyTorch's rules: dtypes and tensors with dimensions decide first; a 0-d
    tensor or a scalar changes that only where its category is higher (0-d tensors by
    their dtype, a scalar by its kind's default: bool, int64 or the default float)."""
    if not arrays_and_dtypes:
        raise ValueError("result_type: give at least one tensor or dtype")
    tiers = [None, None, None]  # with dimensions (and dtypes), 0-d tensors, Python scalars
    for value in arrays_and_dtypes:
        if isinstance(value, dtypes.NUMPY_SCALAR):  # as a Python number of its kind, as beside a tensor
            value = value.item()
        if isinstance(value, (bool, numbers.Number)) and not isinstance(value, Tensor):
            if not isinstance(value, (bool, int, float)):
                raise TypeError(f"result_type: takes real numbers, not {type(value).__name__} {value!r}")
            tier, dtype = 2, dtypes.of_scalar(value)
        else:
            tier, dtype = int(isinstance(value, Tensor) and value.ndim == 0), _dtype_of("result_type", value)
        tiers[tier] = dtype if tiers[tier] is None else dtypes.promote(tiers[tier], dtype)
    if tiers[0] is None and tiers[1] is None:
        raise TypeError("result_type: Python scalars alone have no dtype; give a tensor or a dtype as well")
    result = tiers[0]
    if tiers[1] is not None and (result is None or dtypes.category(tiers[1]) > dtypes.category(result)):
        result = tiers[1]
    if tiers[2] is not None and dtypes.category(tiers[2]) > dtypes.category(result):
        category = dtypes.category(tiers[2])
        result = _SCALAR_DTYPE[category] if category in _SCALAR_DTYPE else default_dtype()
    return result


def can_cast(from_, to):
    """Whether ``from_`` (a dtype or a tensor's) promotes to ``to``, so that a cast loses
    nothing the promotion rules would keep: result_type(from_, to) is ``to``. Across
    categories a higher one always holds a lower (int64 to float16 is True, as in
    PyTorch; NumPy says False); within one only a widening is (float64 to float32 is
    False, where PyTorch's can_cast says True)."""
    source, target = _dtype_of("can_cast", from_), _dtype_of("can_cast", to)
    return dtypes.promote(source, target) == target


_KINDS = {"bool": "b", "signed integer": "i", "unsigned integer": "u", "integral": "iu", "real floating": "f",
          "complex floating": "", "numeric": "iuf"}  # (topograd has no complex dtypes)


def isdtype(dtype, kind):
    """Whether ``dtype`` is of ``kind``: a dtype, one of the standard's kind names ('bool',
    'signed integer', 'unsigned integer', 'integral', 'real floating', 'complex floating',
    'numeric'), or a tuple of these (any of them)."""
    if isinstance(dtype, Tensor):
        raise TypeError("isdtype: expected a dtype, got a Tensor; pass its .dtype")
    dtype = _dtype_of("isdtype", dtype)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    for k in kinds:
        if isinstance(k, str):
            if k not in _KINDS:
                raise ValueError(f"isdtype: unknown kind {k!r}; use a dtype or one of {', '.join(map(repr, _KINDS))}")
            if dtype.kind in _KINDS[k]:
                return True
        elif dtype == _dtype_of("isdtype", k):
            return True
    return False
