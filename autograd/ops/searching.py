"""Searching and counting, with the Array API's signatures: ``nonzero``,
``searchsorted`` and ``count_nonzero``. Their results are int64 indices or counts,
outside the graph (they have no gradient)."""
from backends import dtypes

from ..shapes import normalize_axis
from ..tensor import Tensor
from .comparison import holding_ints
from .elementwise import as_tensor, operands
from .logical import truth


def nonzero(x):
    """The indices of ``x``'s nonzero (true, NaN included) elements, as the standard's
    tuple of one int64 tensor per axis, in row-major order (PyTorch's
    ``nonzero(as_tuple=True)``)."""
    x = as_tensor(x)
    if x.ndim == 0:  # as NumPy 2 and the standard: a 0-d tensor has no axis to index
        raise ValueError("nonzero: a 0-d tensor has no axes to give indices along; reshape it to 1-d first")
    xp = x._backend.xp
    int64 = x._backend.native_dtype(dtypes.int64)
    return tuple(Tensor._make(xp.astype(i, int64, copy=False), x._backend) for i in xp.nonzero(truth(x)))


def searchsorted(x1, x2, side="left", sorter=None, *, right=False, out_int32=False):
    """Where each element of ``x2`` would go in the sorted 1-d ``x1`` (or in ``x1``
    ordered by the indices ``sorter``) to keep it sorted: before equal elements with
    side 'left', after them with 'right' (or PyTorch's ``right=True``). int64 indices,
    or int32 with PyTorch's ``out_int32=True``, of ``x2``'s shape."""
    for name, flag in (("right", right), ("out_int32", out_int32)):
        if not isinstance(flag, bool):
            raise TypeError(f"searchsorted: {name} must be True or False, not {flag!r}")
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', not {side!r}")
    side = "right" if right else side
    x1 = as_tensor(x1, x2 if isinstance(x2, Tensor) else None)  # a list beside x2 goes to x2's device
    if x1.ndim != 1:
        raise ValueError(f"searchsorted: x1 must be 1-d (a sorted sequence), got shape {x1.shape}")
    x1, x2 = operands("searchsorted", *holding_ints(x1, x2), broadcast=False)
    if x1.dtype == dtypes.bool_:  # the standard orders no bools (as comparisons, through integers)
        x1, x2 = (Tensor._make(x1._backend.xp.astype(t.data, x1._backend.native_dtype(dtypes.int32)), x1._backend)
                  for t in (x1, x2))
    if sorter is not None:
        sorter = as_tensor(sorter, x1)
        if dtypes.category(sorter.dtype) != 1 or sorter.shape != x1.shape:
            raise ValueError(f"searchsorted: sorter must be integer indices of x1's shape {x1.shape}, got "
                             f"{sorter.dtype} of shape {sorter.shape}; make it with ag.argsort(x1)")
        sorter = sorter.data
    xp = x1._backend.xp
    n = x1.shape[0]
    # Checked here: NumPy's own error names no op, and CuPy's gather wraps such indices around.
    if sorter is not None and n:
        low, high = x1._backend.read_ints(xp.min(sorter), xp.max(sorter))  # (one wait on a GPU)
        if low < 0 or high >= n:
            raise ValueError(f"searchsorted: sorter holds indices outside [0, {n}), x1's positions; "
                             f"make it with ag.argsort(x1)")
    found = xp.searchsorted(x1.data, x2.data, side=side, sorter=sorter)
    index_dtype = dtypes.int32 if out_int32 else dtypes.int64
    return Tensor._make(xp.astype(found, x1._backend.native_dtype(index_dtype), copy=False), x1._backend)


def count_nonzero(x, axis=None, keepdims=False):
    """The number of nonzero (true, NaN included) elements over ``axis`` (None: all), as
    an int64 tensor."""
    x = as_tensor(x)
    axes = normalize_axis("count_nonzero", axis, x.ndim)
    xp = x._backend.xp
    ones = xp.astype(truth(x), x._backend.native_dtype(dtypes.int64))
    return Tensor._make(xp.sum(ones, axis=axes, keepdims=bool(keepdims)), x._backend)
