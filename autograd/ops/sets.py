"""The distinct values of a tensor, as the Array API's ``unique_values``,
``unique_counts``, ``unique_inverse`` and ``unique_all`` (NumPy 2's functions of
the same names): sorted values of the flattened tensor, with int64 indices and
counts, outside the graph. Each NaN is distinct, as the standard asks (PyTorch's
unique also keeps NaNs apart), so a tensor with three NaNs has three of them."""
from collections import namedtuple

from backends import dtypes

from ..tensor import Tensor
from .elementwise import as_tensor

UniqueAllResult = namedtuple("UniqueAllResult", ["values", "indices", "inverse_indices", "counts"])
UniqueCountsResult = namedtuple("UniqueCountsResult", ["values", "counts"])
UniqueInverseResult = namedtuple("UniqueInverseResult", ["values", "inverse_indices"])


def _unique(name, x):
    """The namespace's ``name`` of ``x``: its parts as tensors, the values in x's dtype
    and the rest int64 (the inverse indices in x's shape)."""
    x = as_tensor(x)
    backend = x._backend
    found = getattr(backend.xp, name)(x.data)
    if name == "unique_values":
        return Tensor._make(_sorted(backend, found), backend)
    int64 = backend.native_dtype(dtypes.int64)
    parts = [found[0]] + [backend.xp.astype(part, int64, copy=False) for part in found[1:]]
    return [Tensor._make(part, backend) for part in parts]


def _sorted(backend, values):
    """``values`` sorted, as the other functions give them: NumPy 2.3's unique_values come
    in hash order (the standard leaves the order open)."""
    xp = backend.xp
    if values.dtype == xp.bool:  # the standard sorts no bools: False and True as 0 and 1
        as_integers = xp.astype(values, backend.native_dtype(dtypes.canonical("int8")))
        return xp.astype(xp.sort(as_integers), xp.bool)
    return xp.sort(values)


def unique_values(x):
    """The distinct values of ``x``, sorted, as a 1-d tensor."""
    return _unique("unique_values", x)


def unique_counts(x):
    """The distinct values of ``x`` and how often each occurs: (values, counts)."""
    return UniqueCountsResult(*_unique("unique_counts", x))


def unique_inverse(x):
    """The distinct values of ``x`` and, for each element of x (in x's shape), the index
    of its value among them: (values, inverse_indices); values[inverse_indices] is x."""
    return UniqueInverseResult(*_unique("unique_inverse", x))


def unique_all(x):
    """(values, indices, inverse_indices, counts): the distinct values of ``x``, where
    each first occurs in the flattened x, each element's index among them, and counts."""
    return UniqueAllResult(*_unique("unique_all", x))
