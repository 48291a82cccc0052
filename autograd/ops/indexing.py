"""``x[index]``: basic indexing through the namespace, advanced (integer arrays,
masks) through the backend's gather, and scatter-add for the gradient."""
from ..function import Function
from ..tensor import Tensor
from .elementwise import as_tensor
from .shape import _view


class GetItem(Function):
    @staticmethod
    def forward(ctx, x, index, advanced):
        ctx.x_shape, ctx.index, ctx.advanced = x.data.shape, index, advanced
        ctx.is_view = not advanced  # basic indexing returns a view of x's memory
        return x._backend.gather(x.data, index) if advanced else x.data[index]

    @staticmethod
    def backward(ctx, gy):
        return IndexAdd.apply(gy, ctx.index, ctx.advanced, ctx.x_shape), None, None


class IndexAdd(Function):
    """Zeros of ``shape`` with ``g`` added at ``index``; repeated indices accumulate.
    It is linear in ``g``, so its backward is a gather at the same index."""

    @staticmethod
    def forward(ctx, g, index, advanced, shape):
        ctx.index, ctx.advanced = index, advanced
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
        return GetItem.apply(gg, ctx.index, ctx.advanced), None, None, None


def _normalize_index(x, index):
    """Index parts as backend arrays; returns (index, is_advanced)."""
    parts = index if isinstance(index, tuple) else (index,)
    out, advanced, explicit = [], False, 0
    for p in parts:
        if isinstance(p, (Tensor, list)) or hasattr(p, "__array_namespace__") or hasattr(p, "__array__"):
            t = p if isinstance(p, Tensor) else as_tensor(p, x) if not isinstance(p, list) else Tensor(p, device=x._backend)
            if t._backend is not x._backend:
                raise ValueError(f"getitem: the index is on {t.device} but the tensor is on {x.device}")
            if t.dtype.kind not in "biu":
                raise TypeError(f"getitem: index arrays must be integer or bool, not {t.dtype}")
            out.append(t.data)
            advanced = True
            explicit += t.ndim if t.dtype.kind == "b" else 1
        elif p is None or p is Ellipsis:
            out.append(p)
        elif isinstance(p, slice) or isinstance(p, int):
            out.append(p)
            explicit += 1
        elif hasattr(p, "__index__"):
            out.append(int(p))
            explicit += 1
        else:
            raise TypeError(f"getitem: unsupported index {p!r} of type {type(p).__name__}")
    if explicit > x.ndim:
        raise IndexError(f"getitem: too many indices ({explicit}) for a tensor of shape {x.shape}")
    if not advanced and not any(p is Ellipsis for p in out):
        out.append(Ellipsis)  # the standard asks for it when fewer axes than ndim are indexed
    return tuple(out), advanced


def getitem(x, index):
    x = as_tensor(x)
    index, advanced = _normalize_index(x, index)
    out = GetItem.apply(x, index, advanced)
    return out if advanced else _view(out, x)
