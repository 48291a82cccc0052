"""Rearranging a tensor's elements, with NumPy's names and arguments: flip, roll,
moveaxis, unstack, tile, repeat and meshgrid.

Three are primitives: Roll (a permutation: its gradient rolls back, one copy where a
roll composed of two slices and a concat paid two zero-filled gradients and a sum,
10x slower), Repeat by one count (the namespace's repeat, twice as fast as a
broadcast copied by reshape; its gradient sums each element's copies), and Unstack
(one node with an output per slice, as PyTorch's unbind, so that hooks on every
piece run and the pieces share one grad_fn; its gradient stacks). The rest are
compositions of indexing, split, reshape, transpose and broadcast_to, as fast as a
kernel of their own, whose gradients are exact and differentiate again. The names
follow NumPy: ``repeat`` repeats each element (PyTorch's repeat_interleave) and
``tile`` repeats the whole tensor (PyTorch's Tensor.repeat)."""
import numbers

from backends import dtypes

from ..function import Function
from ..shapes import INTEGER, normalize_axis, single_axis
from ..tensor import Tensor
from .elementwise import as_tensor, clone
from .indexing import getitem
from .reduction import sum as sum_
from .shape import _split_piece_back, _view, broadcast_to, expand_dims, flatten, reshape, split, transpose


def _along(axis, index):
    """The index that picks ``index`` on ``axis`` and everything on the others."""
    return (slice(None),) * axis + (index,)


def flip(x, axis=None):
    """``x`` with the order of its elements reversed along ``axis`` (every axis when
    None), as a view, as NumPy's."""
    x = as_tensor(x)
    axes = normalize_axis("flip", axis, x.ndim)
    if not axes:  # nothing to reverse (a 0-d tensor, or axis=()): still a view of its own
        return reshape(x, x.shape)
    return getitem(x, tuple(slice(None, None, -1) if a in axes else slice(None) for a in range(x.ndim)))


class Roll(Function):
    """``x`` rolled by ``shifts`` along ``axes`` (None: the flattened tensor, its shape
    kept). A permutation of the elements, so the gradient is the roll back."""

    @staticmethod
    def forward(ctx, x, shifts, axes):
        ctx.shifts, ctx.axes = shifts, axes
        if axes == ():  # nothing moves; still a copy, as NumPy's and PyTorch's roll
            return x._backend.xp.asarray(x.data, copy=True)
        return x._backend.xp.roll(x.data, shift=shifts, axis=axes)

    @staticmethod
    def backward(ctx, gy):
        back = -ctx.shifts if ctx.axes is None else tuple(-s for s in ctx.shifts)
        return Roll.apply(gy, back, ctx.axes), None, None


def _shift(s):
    if not isinstance(s, INTEGER) or isinstance(s, bool):
        raise TypeError(f"roll: shift must be an int or a tuple of ints, not {s!r}")
    return int(s)


def roll(x, shift, axis=None):
    """Elements shifted by ``shift`` places along ``axis``, those pushed off the end
    coming back at the start; with ``axis=None``, along the flattened tensor (its shape
    kept), as NumPy's. ``shift`` and ``axis`` may be tuples (a single shift applies to
    every axis; shifts of a repeated axis add up). Always a copy."""
    x = as_tensor(x)
    if axis is None:
        if isinstance(shift, (tuple, list)):
            raise ValueError("roll: with axis=None, shift must be one int (the flattened tensor has one axis)")
        return Roll.apply(x, _shift(shift) % x.size if x.size else 0, None)
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    shifts = tuple(shift) if isinstance(shift, (tuple, list)) else (shift,) * len(axes)
    if len(shifts) != len(axes):
        raise ValueError(f"roll: {len(shifts)} shifts for {len(axes)} axes; give one shift per axis, or one for all")
    if x.ndim == 0 and axes:  # as NumPy and PyTorch: a 0-d tensor has no axis 0 to roll along
        raise ValueError(f"roll: axis {axes[0]} is out of range for a 0-d tensor; use axis=None")
    total = {}
    for s, a in zip(shifts, axes):
        a = single_axis("roll", a, x.ndim)
        total[a] = total.get(a, 0) + _shift(s)
    # Shifts taken modulo the axis, and those that move nothing (an empty axis's) dropped.
    moved = {a: s % x.shape[a] for a, s in total.items() if x.shape[a] and s % x.shape[a]}
    return Roll.apply(x, tuple(moved.values()), tuple(moved))


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


class Unstack(Function):
    """The slices of ``x`` along ``axis``: one node with one output per slice, each a
    view, as PyTorch's unbind. The gradient stacks the slices' gradients (the engine
    gives zeros to those that received none): one op for all n, where a node per slice
    gave each a gradient of x's full size, O(n^2)."""

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        lead = (slice(None),) * axis
        # The Ellipsis keeps each slice a view: NumPy's x[i] of a vector is a scalar, and the Array
        # API (array-api-strict) wants an index that names every axis.
        return tuple(x.data[lead + (i, ...)] for i in range(x.data.shape[axis]))

    @staticmethod
    def backward(ctx, *grads):
        return UnstackGrad.apply(ctx.axis, *grads), None


class UnstackGrad(Function):
    """Unstack's gradient: the slices' gradients stacked along ``axis`` in one op (stack()
    takes an op per slice to give each its axis first). Its own gradient unstacks again."""

    @staticmethod
    def forward(ctx, axis, *grads):
        ctx.axis = axis
        return grads[0]._backend.xp.stack([g.data for g in grads], axis=axis)

    @staticmethod
    def backward(ctx, gy):
        return (None,) + Unstack.apply(gy, ctx.axis)


def unstack(x, axis=0):
    """The slices of ``x`` along ``axis``, as a tuple of views (the Array API's unstack,
    PyTorch's unbind)."""
    x = as_tensor(x)
    if x.ndim == 0:
        raise ValueError("unstack: a 0-d tensor has no axis to unstack along")
    axis = single_axis("unstack", axis, x.ndim)
    if x.shape[axis] == 0:
        return ()
    pieces = Unstack.apply(x, axis)
    return tuple(_view(p, x, (_unstack_piece, (axis, i)), (_unstack_piece_back, (axis, i)))
                 for i, p in enumerate(pieces))


def _unstack_piece(x, axis, i):
    """Slice ``i`` of ``unstack(x, axis)``, taken again (how a piece is remade, see
    shape._view) from a split around it: remaking all n slices for each piece would cost
    O(n^2) ops when every piece is used after its base changed."""
    return unstack(split(x, (i, i + 1), axis)[1], axis)[0]


def _unstack_piece_back(x, values, axis, i):
    """``x`` with slice ``i`` along ``axis`` replaced by ``values`` (how a change of a
    piece reaches ``x``, see shape._view)."""
    return _split_piece_back(x, expand_dims(values, axis), (i, i + 1), axis, 1)


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
    out = reshape(copies, tuple(r * n for r, n in zip(reps, shape)))
    # Where the copies need no new memory (every count 1, or counts only on axes of size 1)
    # the reshape is a view of x, and a write to it would change x or repeat in its copies:
    # a tensor of its own instead, as NumPy's tile and PyTorch's repeat always give.
    if x._backend.may_share_memory(out.data, x.data):
        out = clone(out)
    return out


class Repeat(Function):
    """Each element repeated ``r`` times along ``axis``. The gradient sums each
    element's ``r`` copies, which lie side by side: one reshape and one sum."""

    @staticmethod
    def forward(ctx, x, r, axis):
        ctx.r, ctx.axis, ctx.n = r, axis, x.data.shape[axis]
        return x._backend.xp.repeat(x.data, r, axis=axis)

    @staticmethod
    def backward(ctx, gy):
        r, axis = ctx.r, ctx.axis
        copies = reshape(gy, gy.shape[:axis] + (ctx.n, r) + gy.shape[axis + 1:])
        if not 1 <= r <= 16:
            return sum_(copies, axis + 1), None, None
        # A few copies: added slice by slice. NumPy sums a short innermost axis 30-50x
        # slower than this ((512, 2048) float32, r=2: 7.3 ms against 0.14 ms).
        total = copies[(slice(None),) * (axis + 1) + (0,)]
        for k in range(1, r):
            total = total + copies[(slice(None),) * (axis + 1) + (k,)]
        return total, None, None


def repeat(x, repeats, axis=None):
    """Each element repeated ``repeats`` times along ``axis`` (the flattened tensor when
    None), as NumPy's repeat (PyTorch's repeat_interleave; PyTorch's Tensor.repeat is
    ``tile`` here). ``repeats`` is an int, or one count per element along the axis (a
    sequence, an array or an integer tensor), whose gradient is a scatter-add."""
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
        return Repeat.apply(x, r, axis)
    if isinstance(repeats, bool) or not (isinstance(repeats, (tuple, list, Tensor)) or hasattr(repeats, "tolist")):
        raise TypeError(f"repeat: repeats must be an int or a sequence of ints, not {repeats!r}")
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
