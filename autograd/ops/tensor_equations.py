"""``tensorinv`` and ``tensorsolve``: inv and solve of a tensor read as a square matrix (its
leading axes the rows, the rest the columns), as torch.linalg's and numpy.linalg's.
Compositions of reshapes with inv and solve, whose gradients they take."""
import math

from ..shapes import INTEGER, normalize_axis
from .elementwise import floating, operands
from .rearrange import moveaxis
from .shape import reshape
from .solve import inv, solve


def tensorinv(a, ind=2):
    """The inverse of ``a`` for tensordot over ``ind`` axes: with a's first ``ind`` axes as the
    rows of a square matrix and the rest as its columns (their sizes' products equal), the
    inverse of that matrix, shaped a.shape[ind:] + a.shape[:ind], so that
    tensordot(tensorinv(a, ind), a, ind) is the identity of shape a.shape[ind:] * 2. As
    torch.linalg.tensorinv and numpy.linalg.tensorinv; a singular one raises LinAlgError."""
    a = floating(a)
    if not isinstance(ind, INTEGER) or isinstance(ind, bool):
        raise TypeError(f"tensorinv: ind must be an int (how many leading axes are the rows), not {ind!r}")
    if ind <= 0:
        raise ValueError(f"tensorinv: ind must be a positive int (how many leading axes are the rows), got {ind}")
    rows, columns = a.shape[:ind], a.shape[ind:]
    if math.prod(rows) != math.prod(columns):
        raise ValueError(f"tensorinv: a of shape {a.shape} does not read as a square matrix with ind={ind}: its first "
                         f"{ind} axes hold {math.prod(rows)} rows, the others {math.prod(columns)} columns; they must "
                         "be equal")
    size = math.prod(rows)
    return reshape(inv(reshape(a, (size, size))), columns + rows)


def tensorsolve(a, b, axes=None):
    """The tensor x with tensordot(a, x, x.ndim) = b, as numpy.linalg.tensorsolve and
    torch.linalg.tensorsolve (whose ``dims`` is NumPy's ``axes``): ``axes`` (of a) are moved
    to the end first, then a's first b.ndim axes are the rows of a square matrix and the
    rest its columns (x has their shape). A singular one raises LinAlgError."""
    a, b = operands("tensorsolve", a, b, broadcast=False)
    a, b = floating(a), floating(b)
    if axes is not None:
        normalize_axis("tensorsolve", axes, a.ndim)  # (checks the types, the range and repeats)
        axes = tuple(axes) if isinstance(axes, (tuple, list)) else (axes,)
        a = moveaxis(a, axes, tuple(range(a.ndim - len(axes), a.ndim)))
    rows, columns = a.shape[:b.ndim], a.shape[b.ndim:]
    if math.prod(rows) != math.prod(columns):
        raise ValueError(f"tensorsolve: a of shape {a.shape} (after moving axes) does not read as a square matrix "
                         f"for b of {b.ndim} dimensions: its first {b.ndim} axes hold {math.prod(rows)} rows, the "
                         f"others {math.prod(columns)} columns; they must be equal")
    size = math.prod(rows)
    if b.size != size:
        raise ValueError(f"tensorsolve: b of shape {b.shape} has {b.size} entries; a of shape {a.shape} needs "
                         f"{size}, one per row")
    return reshape(solve(reshape(a, (size, size)), reshape(b, (size,))), columns)
