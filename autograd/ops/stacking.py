"""NumPy's remaining shape and construction functions: atleast_1d/2d/3d, hstack,
vstack, dstack, column_stack, fliplr, flipud, rot90, kron, inner, diagflat, vander,
append, insert and delete, with NumPy's arguments and results.

None is a primitive: each is a composition of reshape, flip, transpose, concat, take,
mul, tensordot or cumprod, so its gradient is theirs, exact, and differentiates again.
insert and delete work out which element goes where (from ``obj``, an index), on the
host for a few positions and on the device for many, and then gather the result with
one ``take``, whose gradient is one scatter-add. Like NumPy's, every function here gives
a new tensor, except atleast_*d (the tensor itself, or a view of it), flipud, fliplr and
rot90 (views)."""
import builtins
import numbers

from backends import dtypes

from ..shapes import INTEGER, single_axis
from ..tensor import Tensor, on_one_device
from .elementwise import as_tensor, astype, mul
from .gather import take
from .indexing import _clamped
from .linalg import tensordot
from .matrix_parts import _offset, diag
from .rearrange import flip, moveaxis, unstack
from .scan import cumprod
from .shape import broadcast_to, flatten, joined, reshape, tensors_on_one_device, transpose


# --- at least n dimensions, and the stacks built on them ------------------------------------------
def _at_least(shape, ndim):
    """The shape NumPy's atleast_{ndim}d gives: a 1-D (n,) becomes (1, n) and, for 3-D,
    (1, n, 1); a 2-D one (m, n) becomes (m, n, 1)."""
    if len(shape) >= ndim:
        return shape
    if ndim == 3 and len(shape) == 2:
        return shape + (1,)
    if ndim == 3 and len(shape) == 1:
        return (1,) + shape + (1,)
    return (1,) * (ndim - len(shape)) + shape


def _atleast(ndim, arys):
    tensors = [as_tensor(a) for a in arys]
    out = tuple(t if t.ndim >= ndim else reshape(t, _at_least(t.shape, ndim)) for t in tensors)
    return out[0] if len(out) == 1 else out


def atleast_1d(*arys):
    """Each input with at least one axis (a 0-d tensor becomes shape (1,)); one tensor
    for one input, else a tuple, as NumPy's. A tensor that has enough axes comes back as
    it is; one that has not, as a view."""
    return _atleast(1, arys)


def atleast_2d(*arys):
    """Each input with at least two axes: (n,) becomes (1, n), as NumPy's."""
    return _atleast(2, arys)


def atleast_3d(*arys):
    """Each input with at least three axes: (n,) becomes (1, n, 1) and (m, n) becomes
    (m, n, 1), as NumPy's."""
    return _atleast(3, arys)


def _sequence(op, tup, dtype):
    """``tup``'s tensors, each cast to ``dtype`` where one is given (NumPy's ``dtype=``).
    A tensor is the sequence of its rows, as an array is to NumPy."""
    if isinstance(tup, Tensor):
        tup = unstack(tup)
    elif not isinstance(tup, (list, tuple)):  # a generator, as NumPy 2 refuses it
        raise TypeError(f"{op}: takes a sequence of tensors (a list or a tuple), not {type(tup).__name__}")
    tensors = tensors_on_one_device(tup)
    if dtype is not None:
        tensors = [astype(t, dtype, copy=False) for t in tensors]
    return tensors


def hstack(tup, *, dtype=None):
    """The tensors joined along their second axis (their first, for 1-D ones), after
    atleast_1d, as NumPy's."""
    tensors = [reshape(t, (1,)) if t.ndim == 0 else t for t in _sequence("hstack", tup, dtype)]
    return joined("hstack", tensors, 0 if tensors and tensors[0].ndim == 1 else 1)


def vstack(tup, *, dtype=None):
    """The tensors joined along their first axis, after atleast_2d (1-D ones become
    rows), as NumPy's (PyTorch's vstack too)."""
    tensors = _sequence("vstack", tup, dtype)
    return joined("vstack", [reshape(t, _at_least(t.shape, 2)) for t in tensors], 0)


def dstack(tup, *, dtype=None):
    """The tensors joined along their third axis, after atleast_3d, as NumPy's."""
    tensors = _sequence("dstack", tup, dtype)
    return joined("dstack", [reshape(t, _at_least(t.shape, 3)) for t in tensors], 2)


def column_stack(tup):
    """1-D tensors as the columns of a 2-D one (and 2-D ones joined along axis 1), as
    NumPy's: a 0-d or 1-D tensor of n elements becomes an (n, 1) column."""
    tensors = _sequence("column_stack", tup, None)
    return joined("column_stack", [reshape(t, (-1, 1)) if t.ndim < 2 else t for t in tensors], 1)


# --- flips and rotations (views) -------------------------------------------------------------
def fliplr(m):
    """``m`` with its columns (axis 1) in reverse order, as a view, as NumPy's."""
    m = as_tensor(m)
    if m.ndim < 2:
        raise ValueError(f"fliplr: needs at least 2 dimensions, got shape {m.shape}; "
                         "for a 1-D tensor use flipud, or flip(x, axis=0)")
    return flip(m, 1)


def flipud(m):
    """``m`` with its rows (axis 0) in reverse order, as a view, as NumPy's."""
    m = as_tensor(m)
    if m.ndim < 1:
        raise ValueError("flipud: needs at least 1 dimension, got a 0-d tensor, which has no rows to reverse")
    return flip(m, 0)


def rot90(m, k=1, axes=(0, 1)):
    """``m`` rotated by 90 degrees ``k`` times in the plane of ``axes``, from the first
    axis toward the second, as NumPy's (and torch.rot90 with ``dims``); a view."""
    m = as_tensor(m)
    if not isinstance(k, INTEGER) or isinstance(k, bool):
        raise TypeError(f"rot90: k must be an int, not {k!r}")
    if not isinstance(axes, (tuple, list)) or len(axes) != 2:
        raise ValueError(f"rot90: axes must be a pair of axes, as (0, 1), not {axes!r}")
    if m.ndim < 2:
        raise ValueError(f"rot90: needs at least 2 dimensions, got shape {m.shape}")
    first, second = (single_axis("rot90", a, m.ndim) for a in axes)
    if first == second:
        raise ValueError(f"rot90: axes {tuple(axes)} name the same axis twice; give two different axes")
    k = int(k) % 4
    if k == 0:
        return flip(m, ())  # a view, as NumPy's m[:]
    if k == 2:
        return flip(m, (first, second))
    order = list(range(m.ndim))
    order[first], order[second] = second, first
    if k == 1:
        return transpose(flip(m, second), tuple(order))
    return flip(transpose(m, tuple(order)), second)


# --- products, diagonals and powers -----------------------------------------------------------------
def kron(a, b):
    """The Kronecker product: the blocks ``a[i, j, ...] * b``, as NumPy's (and PyTorch's):
    the tensor with fewer axes takes leading ones. One broadcast product of ``a`` and ``b``
    with their axes interleaved, reshaped."""
    a, b = tensors_on_one_device((a, b))
    on_one_device("kron", a, b)
    ndim = builtins.max(a.ndim, b.ndim)
    a_shape = (1,) * (ndim - a.ndim) + a.shape
    b_shape = (1,) * (ndim - b.ndim) + b.shape
    spread_a = reshape(a, tuple(d for n in a_shape for d in (n, 1)))
    spread_b = reshape(b, tuple(d for n in b_shape for d in (1, n)))
    return reshape(mul(spread_a, spread_b), tuple(m * n for m, n in zip(a_shape, b_shape)))


def inner(a, b):
    """The sum of products over the last axes of ``a`` and ``b`` (a product, for a 0-d
    one), as NumPy's and PyTorch's: of shape a.shape[:-1] + b.shape[:-1]."""
    a, b = tensors_on_one_device((a, b))
    on_one_device("inner", a, b)
    if a.ndim == 0 or b.ndim == 0:
        return mul(a, b)
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"inner: the last axes of shapes {a.shape} and {b.shape} differ in size; "
                         "they are summed over together")
    return tensordot(a, b, ((a.ndim - 1,), (b.ndim - 1,)))


def diagflat(v, k=0):
    """A square matrix with ``v``, flattened, on its ``k`` diagonal, as NumPy's (PyTorch's
    diagflat with ``offset``)."""
    return diag(flatten(as_tensor(v)), _offset("diagflat", k))


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of the 1-D ``x``: columns x**(N-1), ..., x**1, x**0 (the
    other way round with ``increasing``), N = len(x) by default, as NumPy's and PyTorch's.
    The powers are running products, as theirs are; integers and bools give int64."""
    x = as_tensor(x)
    if x.ndim != 1:
        raise ValueError(f"vander: x must be 1-D, got shape {x.shape}")
    if N is None:
        N = x.shape[0]
    if not isinstance(N, INTEGER) or isinstance(N, bool):
        raise TypeError(f"vander: N must be an int, not {N!r}")
    if N < 0:
        raise ValueError(f"vander: N must be >= 0, not {N}")
    if not dtypes.is_floating(x.dtype):
        x = astype(x, dtypes.int64, copy=False)
    columns = reshape(x, (-1, 1))
    ones = Tensor._make(x._backend.xp.ones((x.shape[0], builtins.min(int(N), 1)), dtype=x.data.dtype), x._backend)
    parts = [ones]
    if N > 1:
        parts.append(cumprod(broadcast_to(columns, (x.shape[0], int(N) - 1)), axis=1))
    out = joined("vander", parts, 1)
    return out if increasing else flip(out, 1)


# --- appending, inserting and deleting ---------------------------------------------------------------
# insert and delete work out which entry goes where in a loop in Python along an axis up to
# this long, and on the device past it: the loop costs less than the device's calls
# (2-6 us) on a few entries, and 4-7 ms on the 98,304 of a (256, 384) tensor flattened.
# Positions (or a bool mask) longer than this are checked on the device too: the loop in
# _positions took 8-10 ms over 20,000 of them.
_SHORT_AXIS = 128


def _along(op, arr, axis):
    """``arr`` and the axis to work along: the flattened tensor for axis=None, as NumPy's."""
    if axis is None:
        return flatten(arr), 0
    if arr.ndim == 0:
        raise ValueError(f"{op}: a 0-d tensor has no axis {axis}; use axis=None")
    return arr, single_axis(op, axis, arr.ndim)


def append(arr, values, axis=None):
    """``values`` joined to the end of ``arr`` along ``axis``; both flattened first when
    axis is None, as NumPy's. With an axis, ``values`` needs arr's number of dimensions."""
    arr = as_tensor(arr)
    values = as_tensor(values, arr)
    if axis is None:
        return joined("append", [flatten(arr), flatten(values)], 0)
    if values.ndim != arr.ndim:
        raise ValueError(f"append: values of shape {values.shape} and arr of shape {arr.shape} have different "
                         "numbers of dimensions; reshape values to arr's, as values[None] for one more row")
    return joined("append", [arr, values], axis)


def _positions(op, obj, n, axis, backend):
    """``obj`` (an int, a slice, or a sequence, array or tensor of ints) as positions in
    0..n (n itself only for insert), negatives counted from the end, and whether it was
    one int; out-of-range ones raise IndexError, as NumPy's. The positions are a list, or
    past _SHORT_AXIS of them an int64 array on the device."""
    if isinstance(obj, slice):
        picked = range(*obj.indices(n))
        if len(picked) <= _SHORT_AXIS:
            return list(picked), False
        return backend.xp.arange(picked.start, picked.stop, picked.step,
                                 dtype=backend.native_dtype(dtypes.int64)), False
    last = n if op == "insert" else n - 1
    many = None if type(obj) is int else _many_positions(obj, n, last, backend)
    if many is not None:
        return many, False
    if isinstance(obj, Tensor) or hasattr(obj, "tolist"):  # a tensor or a NumPy array
        obj = obj.tolist()
    scalar = not isinstance(obj, (list, tuple))
    items = [obj] if scalar else obj
    out = []
    for i in items:
        if isinstance(i, bool) or not isinstance(i, numbers.Integral):
            raise TypeError(f"{op}: obj must be an int, a slice, or a sequence of ints, not {obj!r}")
        if not -n <= i <= last:
            raise IndexError(f"{op}: index {i} is out of bounds for axis {axis} with size {n}")
        out.append(int(i) + n if i < 0 else int(i))
    return out, scalar


def _many_positions(obj, n, last, backend):
    """``obj``'s positions (see _positions) as an int64 array on the device, worked out
    there, where it is a 1-D sequence, array or tensor of more than _SHORT_AXIS ints, all
    in -n..last; else None: a short one, or one the loop in _positions refuses, naming
    the entry at fault as it does for a short one."""
    if isinstance(obj, (list, tuple)):
        # one pass in C over the entries' types: ints, not bools (which NumPy would read as 0 and 1)
        if len(obj) <= _SHORT_AXIS or not builtins.all(issubclass(t, numbers.Integral) and t is not bool
                                                       for t in set(map(type, obj))):
            return None
        try:
            positions = backend.asarray(obj, dtypes.int64)
        except OverflowError:  # an int past int64's range: out of bounds
            return None
    else:
        kind = _kind(obj)
        fits = kind == "i" or kind == "u" and obj.dtype.itemsize < 8  # in int64, as uint64 may not
        if not fits or obj.ndim != 1 or obj.shape[0] <= _SHORT_AXIS:
            return None
        positions = obj.data if isinstance(obj, Tensor) else backend.asarray(obj)
    xp = backend.xp
    positions = xp.astype(positions, backend.native_dtype(dtypes.int64), copy=False)
    if bool(xp.any((positions < -n) | (positions > last))):
        return None
    return xp.where(positions < 0, positions + n, positions)


def _kind(obj):
    """The kind of an array's or a tensor's dtype ("b", "i", "u", "f"...); None for other objects."""
    return getattr(getattr(obj, "dtype", None), "kind", None)


def _delete_mask(obj, n, backend):
    """``obj`` as delete's bool mask: for an axis up to _SHORT_AXIS long, the list of
    positions it deletes, else a bool array on the device; None where it is not a mask
    (a 1-D bool array or tensor, or a non-empty sequence of bools)."""
    if isinstance(obj, (list, tuple)):
        if not obj or type(obj[0]) is not bool or set(map(type, obj)) != {bool}:  # ints: at the first entry
            return None
        length = len(obj)
    elif _kind(obj) == "b" and obj.ndim == 1 and obj.shape[0]:
        length = obj.shape[0]
    else:
        return None
    if length != n:
        raise ValueError(f"delete: a bool mask obj must have the axis's length {n}, got {length}")
    if n <= _SHORT_AXIS:
        return [i for i, m in enumerate(obj if isinstance(obj, (list, tuple)) else obj.tolist()) if m]
    return obj.data if isinstance(obj, Tensor) else backend.asarray(obj, dtypes.bool_)


def delete(arr, obj, axis=None):
    """``arr`` without the entries ``obj`` (an int, a slice, a sequence of ints, or a bool
    mask as long as the axis) along ``axis`` (of the flattened tensor when None), as
    NumPy's; a new tensor, whose gradient goes back to the entries kept."""
    arr, axis = _along("delete", as_tensor(arr), axis)
    on_one_device("delete", arr, obj)  # as an index on another device is refused
    n = arr.shape[axis]
    backend = arr._backend
    if isinstance(obj, slice):
        gone = range(*obj.indices(n))
    else:
        gone = _delete_mask(obj, n, backend)
        if gone is None:
            if isinstance(obj, bool) or (_kind(obj) == "b" and obj.ndim == 0):
                raise TypeError(f"delete: obj must be an int, a slice, a sequence of ints or a bool mask, "
                                f"not {obj!r}")
            gone = _positions("delete", obj, n, axis, backend)[0]
    if n <= _SHORT_AXIS and isinstance(gone, (list, range)):
        gone = set(gone)
        kept = backend.asarray([i for i in range(n) if i not in gone], dtypes.int64)
    else:  # the entries kept, from a mask on the device
        xp = backend.xp
        if isinstance(gone, range):
            keep = xp.ones((n,), dtype=xp.bool)
            keep[_clamped(obj, n)] = False
        elif not isinstance(gone, list) and gone.dtype == xp.bool:  # a mask of those to delete
            keep = xp.logical_not(gone)
        else:
            keep = xp.ones((n,), dtype=xp.bool)
            if isinstance(gone, list):
                gone = backend.asarray(gone, dtypes.int64)
            if gone.shape[0]:
                backend.put_(keep, (gone,), xp.zeros(gone.shape, dtype=xp.bool))
        kept = xp.nonzero(keep)[0]
    return take(arr, Tensor._make(kept, backend), axis)


def insert(arr, obj, values, axis=None):
    """``arr`` with ``values`` inserted before the entries ``obj`` (an int, a slice or a
    sequence of ints; len(arr) appends) along ``axis`` (of the flattened tensor when None),
    as NumPy's: values take arr's dtype and broadcast to the slots they fill. For one
    int ``obj``, values' first axis runs along ``axis`` (as arr[:, i] = ... reads); for a
    sequence, values[j] goes before obj[j], those for one place in their order. One
    gather from arr and values joined; the gradient goes back to both."""
    arr, axis = _along("insert", as_tensor(arr), axis)
    on_one_device("insert", arr, obj, values)
    n = arr.shape[axis]
    backend = arr._backend
    places, scalar = _positions("insert", obj, n, axis, backend)
    values = astype(as_tensor(values, arr), arr.dtype, copy=False)
    if isinstance(places, list) and len(places) == 1:  # NumPy's one slice of new entries, as wide as values
        values = reshape(values, (1,) * (arr.ndim - values.ndim) + values.shape)
        if scalar:
            values = moveaxis(values, 0, axis)
        places = [places[0]] * values.shape[axis]
    count = len(places) if isinstance(places, list) else places.shape[0]
    slots = arr.shape[:axis] + (count,) + arr.shape[axis + 1:]
    try:
        values = broadcast_to(values, slots)
    except ValueError:
        raise ValueError(f"insert: values of shape {values.shape} do not broadcast to the {slots} entries "
                         f"they fill") from None
    # Each new entry's place in the result: obj's places in sorted (stable) order, each
    # pushed on by the new entries before it; the old entries fill the rest in order.
    if n <= _SHORT_AXIS and isinstance(places, list):
        order = sorted(range(count), key=places.__getitem__)
        source = [None] * (n + count)
        for shift, j in enumerate(order):
            source[places[j] + shift] = n + j
        old = iter(range(n))
        picks = backend.asarray([next(old) if s is None else s for s in source], dtypes.int64)
    else:  # the same on the device; the old entries fill the places left free, in order
        xp, int64 = backend.xp, backend.native_dtype(dtypes.int64)
        if isinstance(places, list):
            places = backend.asarray(places, dtypes.int64)
        order = backend.argsort(places, 0, False, True)
        new_at = xp.take(places, order) + xp.arange(count, dtype=int64)
        free = xp.ones((n + count,), dtype=xp.bool)
        backend.put_(free, (new_at,), xp.zeros((count,), dtype=xp.bool))
        picks = xp.empty((n + count,), dtype=int64)
        backend.put_(picks, (new_at,), xp.astype(order, int64, copy=False) + n)
        backend.put_(picks, (xp.nonzero(free)[0],), xp.arange(n, dtype=int64))
    return take(joined("insert", [arr, values], axis), Tensor._make(picks, backend), axis)
