"""Rearranging a tensor's elements, with NumPy's names and arguments: flip, roll,
moveaxis, unstack, tile, repeat and meshgrid.

Each is a composition of indexing, concat, reshape, transpose and broadcast_to, whose
gradients are exact and differentiate again, so nothing here has gradient code. The
names follow NumPy: ``repeat`` repeats each element (PyTorch's repeat_interleave) and
``tile`` repeats the whole tensor (PyTorch's Tensor.repeat)."""
import numbers

from backends import dtypes

from ..shapes import INTEGER, normalize_axis, single_axis
from ..tensor import Tensor
from .elementwise import as_tensor
from .indexing import getitem
from .shape import broadcast_to, concat, flatten, reshape, transpose


def _along(axis, index):
    """The index that picks ``index`` on ``axis`` and everything on the others."""
    return (slice(None),) * axis + (index,)


def flip(x, axis=None):
    """``x`` with the order of its elements reversed along ``axis`` (every axis when
    None), as a view, as NumPy's."""
    x = as_tensor(x)
    axes = normalize_axis("flip", axis, x.ndim)
    if not axes:
        return x
    return getitem(x, tuple(slice(None, None, -1) if a in axes else slice(None) for a in range(x.ndim)))


def roll(x, shift, axis=None):
    """Elements shifted by ``shift`` places along ``axis``, those pushed off the end
    coming back at the start; with ``axis=None``, along the flattened tensor (its shape
    kept). ``shift`` and ``axis`` may be tuples; a single shift applies to every axis."""
    x = as_tensor(x)
    if axis is None:
        if isinstance(shift, (tuple, list)):
            raise ValueError("roll: with axis=None, shift must be one int (the flattened tensor has one axis)")
        return reshape(roll(flatten(x), shift, 0), x.shape)
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    shifts = tuple(shift) if isinstance(shift, (tuple, list)) else (shift,) * len(axes)
    if len(shifts) != len(axes):
        raise ValueError(f"roll: {len(shifts)} shifts for {len(axes)} axes; give one shift per axis, or one for all")
    for s in shifts:
        if not isinstance(s, INTEGER) or isinstance(s, bool):
            raise TypeError(f"roll: shift must be an int or a tuple of ints, not {s!r}")
    for s, a in zip(shifts, axes):
        a = single_axis("roll", a, x.ndim)
        n = x.shape[a] if x.ndim else 1
        s = int(s) % n if n else 0
        if s:
            x = concat([getitem(x, _along(a, slice(n - s, None))), getitem(x, _along(a, slice(0, n - s)))], a)
    return x


def moveaxis(x, source, destination):
    """``x`` with the axes ``source`` (an int or a tuple) moved to ``destination``,
    the other axes keeping their order, as NumPy's (PyTorch's movedim)."""
    x = as_tensor(x)
    source = tuple(source) if isinstance(source, (tuple, list)) else (source,)
    destination = tuple(destination) if isinstance(destination, (tuple, list)) else (destination,)
    if len(source) != len(destination):
        raise ValueError(f"moveaxis: {len(source)} source axes but {len(destination)} destinations")
    src = [single_axis("moveaxis", a, x.ndim) for a in source]
    dst = [single_axis("moveaxis", a, x.ndim) for a in destination]
    if len(set(src)) < len(src) or len(set(dst)) < len(dst):
        raise ValueError(f"moveaxis: repeated axis in source {source} or destination {destination}")
    order = [a for a in range(x.ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, tuple(order))


def unstack(x, axis=0):
    """The slices of ``x`` along ``axis``, as a tuple (the Array API's unstack,
    PyTorch's unbind)."""
    x = as_tensor(x)
    if x.ndim == 0:
        raise ValueError("unstack: a 0-d tensor has no axis to unstack along")
    axis = single_axis("unstack", axis, x.ndim)
    return tuple(getitem(x, _along(axis, i)) for i in range(x.shape[axis]))


def _counts(op, reps):
    reps = tuple(reps) if isinstance(reps, (tuple, list)) else (reps,)
    for r in reps:
        if not isinstance(r, INTEGER) or isinstance(r, bool) or r < 0:
            raise ValueError(f"{op}: repetitions must be ints >= 0, got {reps}")
    return tuple(int(r) for r in reps)


def tile(x, reps):
    """``x`` repeated ``reps[i]`` times along axis i, as NumPy's tile (PyTorch's
    Tensor.repeat): shorter ``reps`` apply to the last axes, longer ones give ``x``
    leading axes of size 1. One broadcast and one reshape; the gradient sums the copies."""
    x = as_tensor(x)
    reps = _counts("tile", reps)
    ndim = max(x.ndim, len(reps))
    shape = (1,) * (ndim - x.ndim) + x.shape
    reps = (1,) * (ndim - len(reps)) + reps
    interleaved = reshape(x, tuple(d for n in shape for d in (1, n)))
    copies = broadcast_to(interleaved, tuple(d for r, n in zip(reps, shape) for d in (r, n)))
    return reshape(copies, tuple(r * n for r, n in zip(reps, shape)))


def repeat(x, repeats, axis=None):
    """Each element repeated ``repeats`` times along ``axis`` (the flattened tensor when
    None), as NumPy's repeat (PyTorch's repeat_interleave). ``repeats`` is an int, or
    one count per element along the axis (a sequence, an array or an integer tensor)."""
    x = as_tensor(x)
    if axis is None:
        x, axis = flatten(x), 0
    elif x.ndim == 0:
        x, axis = reshape(x, (1,)), single_axis("repeat", axis, 0)
    else:
        axis = single_axis("repeat", axis, x.ndim)
    n = x.shape[axis]
    if isinstance(repeats, numbers.Integral) and not isinstance(repeats, bool):
        (r,) = _counts("repeat", repeats)
        shape = x.shape[:axis + 1] + (r,) + x.shape[axis + 1:]
        copies = broadcast_to(reshape(x, x.shape[:axis + 1] + (1,) + x.shape[axis + 1:]), shape)
        return reshape(copies, x.shape[:axis] + (n * r,) + x.shape[axis + 1:])
    counts = repeats.tolist() if isinstance(repeats, Tensor) or hasattr(repeats, "tolist") else list(repeats)
    counts = _counts("repeat", counts)
    if len(counts) == 1:
        return repeat(x, counts[0], axis)
    if len(counts) != n:
        raise ValueError(f"repeat: {len(counts)} repetition counts for {n} elements along axis {axis}")
    index = [i for i, c in enumerate(counts) for _ in range(c)]
    picks = Tensor._make(x._backend.asarray(index, dtypes.int64), x._backend)
    return getitem(x, _along(axis, picks))


def meshgrid(*xs, indexing="xy"):
    """Coordinate grids from 1-D tensors, as NumPy's: with ``indexing='xy'`` (the
    default, NumPy's and the Array API's) the first two axes are swapped, so the grids
    have shape (len(x2), len(x1), ...); with 'ij' they have (len(x1), len(x2), ...)."""
    if len(xs) == 1 and isinstance(xs[0], (tuple, list)):
        xs = tuple(xs[0])
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', not {indexing!r}")
    xs = [as_tensor(x) for x in xs]
    for x in xs:
        if x.ndim != 1:
            raise ValueError(f"meshgrid: takes 1-D tensors, got one of shape {x.shape}")
    shape = [x.shape[0] for x in xs]
    if indexing == "xy" and len(xs) > 1:
        shape[0], shape[1] = shape[1], shape[0]
    grids = []
    for i, x in enumerate(xs):
        place = (1 - i if i < 2 else i) if indexing == "xy" and len(xs) > 1 else i
        axes = [1] * len(xs)
        axes[place] = x.shape[0]
        grids.append(broadcast_to(reshape(x, tuple(axes)), tuple(shape)))
    return tuple(grids)
