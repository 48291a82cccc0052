"""``x[index]``: basic indexing through the namespace, advanced (integer arrays,
masks) through the backend's gather, and scatter-add for the gradient; and
``x[index] = values``, which records an out-of-place IndexPut where the graph
needs it and writes straight into the memory where it does not."""
import numbers

from backends import dtypes

from .. import grad_mode
from ..function import Function
from ..shapes import broadcast_shapes
from ..tensor import Tensor, count_change, refuse_a_list_that_drops_gradients
from .elementwise import as_tensor, astype
from .shape import _view, reshape


class IndexTypeError(IndexError, TypeError):
    """An index of the wrong type: IndexError as NumPy and PyTorch raise it, and TypeError
    as topograd's rule for wrong types says, so that either ``except`` catches it."""


class GetItem(Function):
    @staticmethod
    def forward(ctx, x, index, advanced):
        ctx.x_shape, ctx.advanced = x.data.shape, advanced
        save_index(ctx, index)
        return x._backend.gather(x.data, index) if advanced else x.data[index]

    @staticmethod
    def backward(ctx, gy):
        return IndexAdd.apply(gy, saved_index(ctx), ctx.advanced, ctx.x_shape), None, None


class IndexAdd(Function):
    """Zeros of ``shape`` with ``g`` added at ``index``; repeated indices accumulate.
    It is linear in ``g``, so its backward is a gather at the same index."""

    @staticmethod
    def forward(ctx, g, index, advanced, shape):
        ctx.advanced = advanced
        save_index(ctx, index)
        backend = g._backend
        if advanced:
            return backend.scatter_add(shape, index, g.data)
        out = backend.xp.zeros(shape, dtype=g.data.dtype)
        values = g.data
        if any(p is None for p in index):  # the standard forbids None (new axes) in setitem
            index = tuple(p for p in index if p is not None)
            values = backend.xp.reshape(values, out[index].shape)
        out[index] = values
        return out

    @staticmethod
    def backward(ctx, gg):
        return GetItem.apply(gg, saved_index(ctx), ctx.advanced), None, None, None


class IndexPut(Function):
    """``x`` with ``values`` written at ``index`` (broadcast over the indexed region),
    as a new array. The gradient of x is g with that region zeroed; that of values is
    g at the index, which the engine sums down to values' shape where they broadcast."""

    @staticmethod
    def forward(ctx, x, values, index, advanced):
        ctx.advanced = advanced
        save_index(ctx, index)
        out = x._backend.xp.asarray(x.data, copy=True)
        x._backend.put_last_(out, index, values.data)  # (a repeated place keeps its last value)
        return out

    @staticmethod
    def backward(ctx, g):
        need_x, need_values = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        index = saved_index(ctx)
        gx = IndexPut.apply(g, as_tensor(0, g), index, ctx.advanced) if need_x else None
        gv = GetItem.apply(g, index, ctx.advanced) if need_values else None
        return gx, gv, None, None


_AN_ARRAY = object()  # where an index array stood in ctx.index; the array itself is saved


def save_index(ctx, index):
    """Keep the index for backward: its arrays through save_for_backward, so that the
    engine frees them after backward with everything else the node saved (as PyTorch
    frees an index op's saved indices); ints, slices, None and Ellipsis as they are."""
    arrays = [p for p in index if hasattr(p, "shape")]
    if arrays:
        ctx.save_for_backward(*arrays)
        index = tuple(_AN_ARRAY if hasattr(p, "shape") else p for p in index)
    ctx.index = index


def saved_index(ctx):
    """The index save_index kept (saved_tensors raises once backward has freed it)."""
    if not any(p is _AN_ARRAY for p in ctx.index):
        return ctx.index
    arrays = iter([t.data for t in ctx.saved_tensors])
    return tuple(next(arrays) if p is _AN_ARRAY else p for p in ctx.index)


def _normalize_index(x, index, op="getitem"):
    """Index parts as backend arrays; returns (index, is_advanced)."""
    parts = index if isinstance(index, tuple) else (index,)
    out, advanced, explicit = [], False, 0
    bounded = []  # slices with a start or stop: (place in out, axes indexed before it, after an Ellipsis)
    after_ellipsis = False
    for p in parts:
        if isinstance(p, dtypes.NUMPY_SCALAR):  # as NumPy: np.int8(1) an int (a view; a 0-d array is not),
            p = p.item()  # np.True_ a 0-d mask as True (as_tensor would make it a number of x's dtype)
        if isinstance(p, numbers.Integral) and not isinstance(p, (bool, Tensor)):
            p = int(p)
        if isinstance(p, (range, tuple)):  # a sequence of ints (x[:, (0, 2)]), as NumPy and PyTorch take it
            p = list(p)
        if isinstance(p, list):  # 0-d tensors inside a list: their values (the strict backend refuses them)
            p = [e.item() if isinstance(e, Tensor) else e for e in p]
            part = next((e for e in p if e is None or e is Ellipsis or isinstance(e, slice)), False)
            if part is not False:  # PyTorch's old list-as-tuple form; NumPy refuses it too
                raise IndexTypeError(f"{op}: a list in an index is one integer array or mask, so it cannot hold "
                                     f"{part!r}; index several axes with a tuple: x[0, :], not x[[0, slice(None)]]")
        if p.__class__ is bool:  # True / False: a 0-d mask (a new axis of 1 or 0, none consumed), as NumPy
            p = Tensor._make(x._backend.asarray(p), x._backend)
        if isinstance(p, (Tensor, list)) or hasattr(p, "__array_namespace__") or hasattr(p, "__array__"):
            t = p if isinstance(p, Tensor) else as_tensor(p, x) if not isinstance(p, list) else \
                Tensor(p, device=x._backend, dtype=None if p else "int64")  # [] picks nothing, as an int index
            if isinstance(p, list) and t.size == 0:
                t = astype(t, "int64")  # [[]] too: an empty integer index, as in NumPy
            if t._backend is not x._backend:
                raise ValueError(f"{op}: the index is on {t.device} but the tensor is on {x.device}")
            if t.dtype.kind not in "biu":
                raise IndexTypeError(f"{op}: index arrays must be integer or bool, not {t.dtype}")
            # A copy of the caller's array: backward reuses the index, and the caller may
            # change that array in place later (an array made from a list is ours already).
            out.append(t.data if isinstance(p, list) else x._backend.xp.asarray(t.data, copy=True))
            advanced = True
            explicit += t.ndim if t.dtype.kind == "b" else 1
        elif p is None:
            out.append(p)
        elif p is Ellipsis:
            out.append(p)
            after_ellipsis = True
        elif isinstance(p, slice) or isinstance(p, int):
            if p.__class__ is slice and (p.start is not None or p.stop is not None):
                bounded.append((len(out), explicit, after_ellipsis))
            out.append(p)
            explicit += 1
        elif hasattr(p, "__index__"):
            out.append(int(p))
            explicit += 1
        else:
            raise IndexTypeError(f"{op}: unsupported index {p!r} of type {type(p).__name__}")
    if explicit > x.ndim:
        raise IndexError(f"{op}: too many indices ({explicit}) for a tensor of shape {x.shape}")
    for place, before, behind_ellipsis in bounded:
        axis = before + (x.ndim - explicit if behind_ellipsis else 0)  # the Ellipsis spans the axes left over
        out[place] = _clamped(out[place], x.shape[axis])
    if not advanced and not any(p is Ellipsis for p in out):
        out.append(Ellipsis)  # the standard asks for it when fewer axes than ndim are indexed
    return tuple(out), advanced


def _clamped(s, n):
    """Slice ``s`` with its bounds clamped to an axis of ``n``, as Python and NumPy clamp
    them (``x[:batch]`` on a short last batch): the standard leaves bounds past either end
    unspecified, and array-api-strict refuses them."""
    start, stop, step = s.indices(n)
    if (stop - start) * step <= 0:  # stop not past start in the step's direction: picks nothing
        return slice(0, 0, 1)
    return slice(start, None if stop < 0 else stop, step)  # stop -1 (before the first element) only as None


def getitem(x, index):
    x = as_tensor(x)
    index, advanced = _normalize_index(x, index)
    if advanced:
        x._backend.check_index_bounds(x.shape, index)
    out = GetItem.apply(x, index, advanced)
    if advanced:
        return out
    return _view(out, x, (getitem, (index,)), (IndexPut.apply, (index, False)))


def setitem(x, index, values):
    """``x[index] = values``: in place, as PyTorch's. Where the graph needs it (x or
    values requires grad, and recording is on), x becomes the output of an IndexPut
    of its old values, so gradients flow to both; elsewhere the values are written
    straight into x's memory. Either way it counts as an in-place change of x."""
    if not isinstance(x, Tensor):
        raise TypeError(f"setitem: expected a Tensor, got {type(x).__name__}")
    index, advanced = _normalize_index(x, index, "setitem")
    if values is None or isinstance(values, (str, bytes)):
        raise TypeError(f"setitem: cannot write a {type(values).__name__} into a tensor; give numbers")
    refuse_a_list_that_drops_gradients("setitem", values)
    if isinstance(values, dtypes.NUMPY_SCALAR):
        values = values.item()
    # a number x's dtype cannot hold (300 in int8, NaN in int64) is refused, as by fill_ and PyTorch
    values = as_tensor(dtypes.check_fill("setitem", values, x.dtype), x)
    if values._backend is not x._backend:
        raise ValueError(f"setitem: the values are on {values.device} but the tensor is on {x.device}; "
                         "move one with .to(device)")
    if advanced:
        x._backend.check_index_bounds(x.shape, index)  # before anything is written
    region = (x._backend.gather(x.data, index) if advanced else x.data[index]).shape
    while values.ndim > len(region) and values.shape[0] == 1:
        values = reshape(values, values.shape[1:])  # leading ones go, as in NumPy and PyTorch
    try:
        fits = broadcast_shapes("setitem", values.shape, region) == region
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"setitem: values of shape {values.shape} cannot fill the indexed region of "
                         f"shape {region}")
    if values.data.dtype != x.data.dtype:
        values = astype(values, x.dtype)  # as PyTorch: the tensor keeps its dtype
    if x._changes_through_base(values):
        x._inplace("setitem", lambda old, new: IndexPut.apply(old, new, index, advanced), values)
        return
    x._refuse_a_broadcast_view("setitem")  # (_inplace checks on its own)
    if grad_mode.state.enabled and (x._requires_grad or values._requires_grad):
        x._check_inplace("setitem")
        # IndexPut copies x before writing and keeps nothing, so x itself (not a copy)
        # may be its input although x is overwritten next.
        x._assign("setitem", IndexPut.apply(x, values, index, advanced))
        return
    count_change(x)  # counted first: should the write fail halfway, the change is on record
    x._backend.put_last_(x.data, index, values.data)
