"""Picking elements by integer index along an axis: ``take`` and ``take_along_axis``,
with NumPy's (and the Array API's) arguments.

Both are advanced indexing (ops/indexing.py): a gather forward and a scatter-add
backward, so repeated indices add up their gradients and every order differentiates."""
from backends import dtypes

from ..shapes import single_axis
from ..tensor import Tensor
from .elementwise import as_tensor
from .indexing import getitem
from .shape import flatten


def _indices(op, indices, like):
    """``indices`` as an integer Tensor on ``like``'s device."""
    if not isinstance(indices, Tensor):  # its own dtype (ints: int64), not like's
        indices = Tensor(indices, device=like._backend)
    if dtypes.category(indices.dtype) != 1:  # bool masks and floats are refused, as by NumPy
        raise TypeError(f"{op}: indices must be integers, got {indices.dtype}")
    return indices


def take(x, indices, axis=None):
    """The elements of ``x`` at ``indices`` along ``axis`` (of the flattened tensor when
    None); the indices' shape replaces that axis."""
    x = as_tensor(x)
    indices = _indices("take", indices, x)
    if axis is None:
        return getitem(flatten(x), indices)
    axis = single_axis("take", axis, x.ndim)
    if x.ndim == 0:
        raise ValueError("take: a 0-d tensor has no axis to take along; use axis=None")
    return getitem(x, (slice(None),) * axis + (indices,))


def take_along_axis(x, indices, axis=-1):
    """``out[..., i, ...] = x[..., indices[..., i, ...], ...]`` along ``axis``: the
    indices hold, for each position, which element of that axis to take (the output of
    argsort or argmax with keepdims, say). ``indices`` has ``x``'s number of axes; its
    other axes broadcast against ``x``'s, as NumPy's."""
    x = as_tensor(x)
    indices = _indices("take_along_axis", indices, x)
    if indices.ndim != x.ndim:
        raise ValueError(f"take_along_axis: indices of shape {indices.shape} need as many axes as x, "
                         f"of shape {x.shape}")
    if x.ndim == 0:
        raise ValueError("take_along_axis: a 0-d tensor has no axis to take along")
    axis = single_axis("take_along_axis", axis, x.ndim)
    xp = x._backend.xp
    index = []
    for a in range(x.ndim):  # an arange on every other axis, shaped to broadcast with the indices
        if a == axis:
            index.append(indices)
        else:
            positions = xp.reshape(x._backend.asarray(range(x.shape[a]), dtypes.int64),
                                   tuple(-1 if b == a else 1 for b in range(x.ndim)))
            index.append(Tensor._make(positions, x._backend))
    return getitem(x, tuple(index))
