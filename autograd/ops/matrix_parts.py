"""Parts of matrices: the triangles (tril, triu), a diagonal (diagonal, diag), and
the trace. Each works on a stack of matrices and takes NumPy's arguments.

A diagonal is read and written through a strided slice of the matrix flattened to
one axis: the entry (i, i + offset) of an (n, m) matrix sits at i * (m + 1) + offset.
So the forward copies only the diagonal, and its gradient writes only the diagonal
into zeros, with nothing outside the Array API standard. The two are each other's
gradient, so every order of derivative comes from the same pair of functions."""
from ..autocast_mode import autocast_op
from ..function import Function
from ..shapes import INTEGER, single_axis
from .elementwise import as_tensor, where
from .reduction import sum as sum_over
from .shape import _view, transpose


def _offset(op, k):
    if not isinstance(k, INTEGER) or isinstance(k, bool):
        raise TypeError(f"{op}: the diagonal offset must be an int, not {k!r}")
    return int(k)


def _matrices(op, x):
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"{op}: needs a matrix (or a stack of them), got shape {x.shape}")
    return x


class Tril(Function):
    @staticmethod
    def forward(ctx, x, k):
        ctx.k = k
        return x._backend.xp.tril(x.data, k=k)

    @staticmethod
    def backward(ctx, gy):
        return Tril.apply(gy, ctx.k), None


class Triu(Function):
    @staticmethod
    def forward(ctx, x, k):
        ctx.k = k
        return x._backend.xp.triu(x.data, k=k)

    @staticmethod
    def backward(ctx, gy):
        return Triu.apply(gy, ctx.k), None


def tril(x, k=0):
    """The lower triangle of the last two axes: entries (i, j) with j <= i + k, zeros above."""
    return Tril.apply(_matrices("tril", x), _offset("tril", k))


def triu(x, k=0):
    """The upper triangle of the last two axes: entries (i, j) with j >= i + k, zeros below."""
    return Triu.apply(_matrices("triu", x), _offset("triu", k))


def _diagonal_slice(n, m, offset):
    """The slice of a flattened (n, m) matrix that holds its ``offset`` diagonal, and
    that diagonal's length."""
    length = max(0, min(n, m - offset)) if offset >= 0 else max(0, min(n + offset, m))
    start = offset if offset >= 0 else -offset * m
    return slice(start, start + (length - 1) * (m + 1) + 1 if length else start, m + 1), length


class LastDiagonal(Function):
    """The ``offset`` diagonal of each matrix on the last two axes, as a new last axis."""

    @staticmethod
    def forward(ctx, x, offset):
        xp = x._backend.xp
        *batch, n, m = x.shape
        ctx.offset, ctx.n, ctx.m = offset, n, m
        where, _ = _diagonal_slice(n, m, offset)
        flat = xp.reshape(x.data, (*batch, n * m))
        return xp.asarray(flat[..., where], copy=True)  # a copy: a later change to x leaves it alone

    @staticmethod
    def backward(ctx, gy):
        return OntoDiagonal.apply(gy, ctx.n, ctx.m, ctx.offset), None


class DiagonalView(LastDiagonal):
    """LastDiagonal as a view of ``x``'s memory where the backend can make one (see
    diagonal), so that in-place changes reach through it in both directions."""

    @staticmethod
    def forward(ctx, x, offset):
        view = x._backend.diagonal_view(x.data, offset)
        if view is None:
            return LastDiagonal.forward(ctx, x, offset)
        ctx.offset, ctx.n, ctx.m = offset, *x.shape[-2:]
        return view


def _last_diagonal_view(x, offset):
    """The ``offset`` diagonal of the last two axes of ``x``, as a view of ``x`` (how the
    view is remade after an in-place change of ``x``, see ops.shape._view)."""
    out = DiagonalView.apply(x, offset)
    if not x._backend.may_share_memory(out.data, x.data):
        return out  # a copy (a backend without strided views): no view to keep in step
    return _view(out, x, (_last_diagonal_view, (offset,)), (_onto_last_diagonal, (offset,)))


def _onto_last_diagonal(x, values, offset):
    """``x`` with its ``offset`` diagonal (of the last two axes) replaced by ``values``:
    how a change of the diagonal view reaches ``x``, differentiable in both."""
    *_, n, m = x.shape
    ones = as_tensor(x._backend.xp.ones(values.shape[-1:], dtype=x._backend.xp.bool), x)
    on_diagonal = OntoDiagonal.apply(ones, n, m, offset)
    return where(on_diagonal, OntoDiagonal.apply(values, n, m, offset), x)


class OntoDiagonal(Function):
    """(n, m) matrices of zeros with the last axis of ``v`` on their ``offset`` diagonal."""

    @staticmethod
    def forward(ctx, v, n, m, offset):
        xp = v._backend.xp
        ctx.offset = offset
        batch = v.shape[:-1]
        where, _ = _diagonal_slice(n, m, offset)
        out = xp.zeros((*batch, n * m), dtype=v.data.dtype)
        out[..., where] = v.data
        return xp.reshape(out, (*batch, n, m))

    @staticmethod
    def backward(ctx, gy):
        return LastDiagonal.apply(gy, ctx.offset), None, None, None


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The ``offset`` diagonal of the matrices on ``axis1`` and ``axis2`` (NumPy's and
    PyTorch's default: the first two axes; the Array API's ``linalg.diagonal`` takes the
    last two), as the last axis of the result; offset > 0 is above the main diagonal.
    As PyTorch's, a view: an in-place change of it changes ``x``, and the other way round."""
    return _diagonal("diagonal", x, offset, axis1, axis2, _last_diagonal_view)


@autocast_op("trace")
def trace(x, offset=0, axis1=0, axis2=1):
    """The sum of the ``offset`` diagonal, over the axes ``diagonal`` takes."""
    return sum_over(_diagonal("trace", x, offset, axis1, axis2, LastDiagonal.apply), axis=-1)


def _diagonal(op, x, offset, axis1, axis2, last_diagonal):
    """``diagonal``, its errors naming ``op``, through ``last_diagonal`` (a copy or a view)."""
    x = _matrices(op, x)
    offset = _offset(op, offset)
    axis1, axis2 = single_axis(op, axis1, x.ndim), single_axis(op, axis2, x.ndim)
    if axis1 == axis2:
        raise ValueError(f"{op}: axis1 and axis2 must differ, both are {axis1}")
    rest = [a for a in range(x.ndim) if a not in (axis1, axis2)]
    return last_diagonal(transpose(x, (*rest, axis1, axis2)), offset)


def diag(v, k=0):
    """As NumPy's: a 1-D ``v`` becomes the square matrix with ``v`` on its ``k`` diagonal;
    a 2-D ``v`` gives its ``k`` diagonal."""
    v = as_tensor(v)
    k = _offset("diag", k)
    if v.ndim == 1:
        size = v.shape[0] + abs(k)
        return OntoDiagonal.apply(v, size, size, k)
    if v.ndim == 2:
        return LastDiagonal.apply(v, k)
    raise ValueError(f"diag: takes a vector or a matrix, got shape {v.shape}")
