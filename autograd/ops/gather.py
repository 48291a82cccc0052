"""Picking elements by integer index along an axis: ``take`` and ``take_along_axis``,
with NumPy's (and the Array API's) arguments; and the adjoint of ``take``, PyTorch's
``index_add``, which adds slices at indices along an axis, a repeated index adding each;
and PyTorch's ``scatter`` and ``scatter_add``, the writes and adds that undo
``take_along_axis`` (its ``gather``).

Both are advanced indexing (ops/indexing.py): a gather forward and a scatter-add
backward, so repeated indices add up their gradients and every order differentiates.
(The backend's scatter_along_axis, sorting's gradient, writes rather than adds: it
is for indices distinct within each line, which take_along_axis's need not be.)

take_along_axis indexes the flattened tensor with one array of flat positions: the
same gather, but the scatter-add of one integer array runs as one flat add, 3-5x
faster forward and 10x faster backward than NumPy's per-axis advanced indexing
((512, 1024) float32: 1.8 -> 0.5 ms forward, 5.5 -> 0.4 ms for the scatter-add)."""
import math

from backends import dtypes

from ..shapes import broadcast_shapes, single_axis
from ..tensor import Tensor, on_one_device
from .elementwise import as_tensor, astype
from .indexing import GetItem, IndexAdd, IndexPut, getitem
from .shape import flatten, reshape


def _indices(op, indices, like):
    """``indices`` as an integer Tensor on ``like``'s device."""
    on_one_device(op, like, indices)  # (take_along_axis reads them with like's namespace before any op checks)
    if not isinstance(indices, Tensor):  # its own dtype (ints: int64), not like's
        sequence = isinstance(indices, (list, tuple))
        indices = Tensor(indices, device=like._backend)
        if sequence and indices.size == 0:  # [] has no number to give it a dtype (it got float32):
            indices = astype(indices, dtypes.int64)  # an empty integer index, as NumPy's take and x[[]]
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


def index_add(x, axis, index, source, alpha=1):
    """PyTorch's index_add (``dim`` is ``axis``): ``x`` with ``alpha * source`` added along
    ``axis``, slice ``i`` of ``source`` at ``index[i]``; a repeated index adds each of its
    slices (``x[index] += source`` would add one). ``index`` is a vector of integers in
    [0, n), ``source`` has x's shape but ``len(index)`` along ``axis`` and x's dtype, as
    PyTorch requires. Differentiable in x and source (the gradient of source is a take)."""
    x = as_tensor(x)
    if not isinstance(source, Tensor):
        raise TypeError(f"index_add: source must be a Tensor, not {type(source).__name__} (as PyTorch's)")
    on_one_device("index_add", x, source)
    index = _indices("index_add", index, x)
    if index.ndim > 1:
        raise ValueError(f"index_add: index must be a vector, got shape {index.shape}")
    if x.ndim == 0:
        raise ValueError("index_add: a 0-d tensor has no axis to add along; reshape it to (1,) first")
    axis = single_axis("index_add", axis, x.ndim)
    n, count = x.shape[axis], index.size
    expected = x.shape[:axis] + (count,) + x.shape[axis + 1:]
    if source.shape != expected:
        raise ValueError(f"index_add: source has shape {source.shape}, but x of shape {x.shape} with {count} "
                         f"indices along axis {axis} needs {expected}")
    if source.dtype != x.dtype:
        raise TypeError(f"index_add: source is {source.dtype} but x is {x.dtype}; cast it first, as in "
                        "source.astype(x.dtype) (PyTorch's refuses the mix too)")
    positions = x._backend.xp.reshape(index.data, (count,))
    _within("index_add", x._backend, positions, n, axis)
    positions = x._backend.xp.astype(positions, x._backend.native_dtype(dtypes.int64))  # our own copy
    if not dtypes.is_floating(x.dtype) and not isinstance(alpha, int):
        raise TypeError(f"index_add: alpha={alpha!r} is not an integer, but x is {x.dtype}; pass an integer alpha")
    if alpha != 1:
        source = source * alpha
    return x + IndexAdd.apply(source, (slice(None),) * axis + (positions,), True, x.shape)


def scatter(x, axis, index, src):
    """PyTorch's scatter (``dim`` is ``axis``): ``x`` with, for each place ``p`` of ``index``,
    ``src[p]`` (or the number ``src``) written at ``p`` but with ``index[p]`` along ``axis``
    (``out[index[i, j], j] = src[i, j]`` along axis 0). Where ``index`` names a place twice,
    the last write stays (PyTorch leaves it unspecified). Differentiable in x (zero where
    written) and src (the gradient at the place each of its entries went)."""
    x, index, axis = _scatter_operands("scatter", x, axis, index)
    if isinstance(src, Tensor):
        values = _used_part("scatter", x, axis, index, src)
    else:
        if isinstance(src, dtypes.NUMPY_SCALAR):
            src = src.item()
        values = as_tensor(dtypes.check_fill("scatter", src, x.dtype), x)  # 2.5 into int64 is 2, as PyTorch's
        if values.dtype != x.dtype:
            values = astype(values, x.dtype)
    places = _scatter_places("scatter", x, axis, index)
    return reshape(IndexPut.apply(reshape(x, (-1,)), values, (places,), True), x.shape)


def scatter_add(x, axis, index, src):
    """PyTorch's scatter_add: as ``scatter``, but each ``src[p]`` is added at its place, a
    place named twice getting both. Differentiable in x and src."""
    x, index, axis = _scatter_operands("scatter_add", x, axis, index)
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add: src must be a Tensor, not {type(src).__name__} (as PyTorch's)")
    values = _used_part("scatter_add", x, axis, index, src)
    places = _scatter_places("scatter_add", x, axis, index)
    return x + reshape(IndexAdd.apply(values, (places,), True, (x.size,)), x.shape)


def _scatter_operands(op, x, axis, index):
    x = as_tensor(x)
    index = _indices(op, index, x)
    if x.ndim == 0:
        raise ValueError(f"{op}: a 0-d tensor has no axis to scatter along; reshape it to (1,) first")
    axis = single_axis(op, axis, x.ndim)
    if index.ndim != x.ndim:
        raise ValueError(f"{op}: index has {index.ndim} axes but x has {x.ndim}; they need as many, as "
                         "take_along_axis's do")
    for d in range(x.ndim):
        if d != axis and index.shape[d] > x.shape[d]:
            raise ValueError(f"{op}: index of shape {index.shape} is larger than x of shape {x.shape} along "
                             f"axis {d} (only axis {axis} may differ)")
    return x, index, axis


def _used_part(op, x, axis, index, src):
    """The entries of ``src`` that ``index`` places (its leading corner of index's shape),
    flattened; PyTorch's ignores the rest too."""
    on_one_device(op, x, src)
    if src.dtype != x.dtype:
        raise TypeError(f"{op}: src is {src.dtype} but x is {x.dtype}; cast it first, as in src.astype(x.dtype) "
                        "(PyTorch's refuses the mix too)")
    if src.ndim != x.ndim or any(i > s for i, s in zip(index.shape, src.shape)):
        raise ValueError(f"{op}: src of shape {src.shape} needs x's number of axes and at least index's shape "
                         f"{index.shape}")
    if src.shape != index.shape:
        src = src[tuple(slice(0, n) for n in index.shape)]
    return reshape(src, (-1,))


def _within(op, backend, positions, n, axis):
    """Refuse ``positions`` (integers, any shape) outside [0, n) along ``axis``, as PyTorch's
    index_add and scatter do (negative ones too)."""
    if positions.size:
        low, high = backend.read_ints(backend.xp.min(positions), backend.xp.max(positions))
        if low < 0 or high >= n:
            raise IndexError(f"{op}: index {low if low < 0 else high} is out of bounds for axis {axis} of size {n} "
                             "(negative indices are refused, as by PyTorch)")


def _scatter_places(op, x, axis, index):
    """The flat place in ``x`` of each entry of ``index``: its value along ``axis``, its
    own place along the others (a new int64 array, as IndexAdd and IndexPut keep it)."""
    backend = x._backend
    xp, int64 = backend.xp, backend.native_dtype(dtypes.int64)
    places = xp.astype(index.data, int64)  # (a copy: the caller may change index afterwards)
    _within(op, backend, places, x.shape[axis], axis)
    strides = [math.prod(x.shape[d + 1:]) for d in range(x.ndim)]
    if strides[axis] != 1:
        places *= strides[axis]
    for d in range(x.ndim):
        if d != axis and index.shape[d] > 1:
            along = xp.arange(index.shape[d], dtype=int64) * strides[d]
            places = places + xp.reshape(along, tuple(-1 if b == d else 1 for b in range(x.ndim)))
    return xp.reshape(places, (index.size,))


def take_along_axis(x, indices, axis=-1):
    """``out[..., i, ...] = x[..., indices[..., i, ...], ...]`` along ``axis``: the
    indices hold, for each position, which element of that axis to take (the output of
    argsort or argmax with keepdims, say). ``indices`` has ``x``'s number of axes; its
    other axes broadcast against ``x``'s, as NumPy's. ``axis=None`` takes along the
    flattened ``x`` (1-d indices), as NumPy's does, to pair with ``argsort(x, axis=None)``."""
    x = as_tensor(x)
    indices = _indices("take_along_axis", indices, x)
    if axis is None:
        x, axis = flatten(x), 0
    if indices.ndim != x.ndim:
        raise ValueError(f"take_along_axis: indices of shape {indices.shape} need as many axes as x, "
                         f"of shape {x.shape}")
    if x.ndim == 0:
        raise ValueError("take_along_axis: a 0-d tensor has no axis to take along")
    axis = single_axis("take_along_axis", axis, x.ndim)
    try:
        shape = list(broadcast_shapes("take_along_axis", *(tuple(1 if a == axis else d for a, d in enumerate(s))
                                                            for s in (x.shape, indices.shape))))
    except ValueError:
        raise ValueError(f"take_along_axis: indices of shape {indices.shape} do not broadcast against x of "
                         f"shape {x.shape} outside axis {axis}") from None
    shape[axis] = indices.shape[axis]
    backend, n = x._backend, x.shape[axis]
    xp = backend.xp
    index = indices.data
    if index.size:
        low, high = backend.read_ints(xp.min(index), xp.max(index))  # (one wait on a GPU)
        if low < -n or high >= n:
            bad = low if low < -n else high
            raise IndexError(f"take_along_axis: index {bad} is out of bounds for axis {axis} of size {n}")
    flat = xp.astype(index, backend.native_dtype(dtypes.int64), copy=False)
    if index.size and low < 0:
        flat = xp.where(flat < 0, flat + n, flat)
    return gather_along_axis(x, flat, axis, tuple(shape))


def gather_along_axis(x, index, axis, shape=None):
    """take_along_axis for the engine's own ``index`` (a backend integer array, in bounds and
    not negative, that broadcasts to ``shape``, by default its own): no checks. One
    getitem of the flattened ``x``, so the gradient is a scatter-add, which sums the
    gradients of a repeated index. The positions are ours, so GetItem takes them as they
    are (getitem would copy them, as it copies a caller's array, and check their bounds)."""
    flat = _flat_positions(x.shape, index, axis, x._backend)
    flat = x._backend.xp.broadcast_to(flat, index.shape if shape is None else shape)
    return GetItem.apply(reshape(x, (-1,)), (flat,), True)


def scatter_add_along_axis(g, index, axis, shape):
    """The adjoint of gather_along_axis: zeros of ``shape`` with ``g`` (of ``index``'s
    shape) added at ``index`` along ``axis``, a repeated index summing its entries
    (cummax's gradient). Differentiable: its own gradient is the gather."""
    flat = _flat_positions(shape, index, axis, g._backend)
    return reshape(IndexAdd.apply(g, (flat,), True, (math.prod(shape),)), shape)


def _flat_positions(shape, index, axis, backend):
    """The flat position in an array of ``shape`` of each entry of ``index`` along
    ``axis``: its index times that axis's stride, plus its place on the other axes times
    theirs (a small array, broadcast). int64, as int32 indices times a stride may pass
    2**31; never ``index`` itself, which the caller may change after the getitem or
    IndexAdd that keeps this for backward."""
    xp = backend.xp
    # arange, not asarray(range(n)), which reads n Python ints (3 ms at n = 1e5), and only
    # as long as the other axes: the axis itself takes ``index``, not the ramp
    ramp = xp.arange(max((n for a, n in enumerate(shape) if a != axis), default=1),
                     dtype=backend.native_dtype(dtypes.int64))
    offsets, stride, along = None, 1, 1
    for a in range(len(shape) - 1, -1, -1):
        if a == axis:
            along = stride
        elif shape[a] > 1:
            place = xp.reshape(ramp[:shape[a]] * stride, tuple(-1 if b == a else 1 for b in range(len(shape))))
            offsets = place if offsets is None else offsets + place
        stride *= shape[a]
    flat = xp.astype(index, backend.native_dtype(dtypes.int64))  # our own, so changed in place
    if along != 1:
        flat *= along
    if offsets is not None:
        # In place where index has every axis of its own (not one to broadcast along): the
        # time goes mostly in first touching fresh memory, more than in the passes.
        if all(o == 1 or o == f for o, f in zip(offsets.shape, flat.shape)):
            flat += offsets
        else:
            flat = flat + offsets
    return flat
