"""``vander``: the Vandermonde matrices of vectors, with increasing powers, as
torch.linalg.vander. A composition (a running product), so it differentiates to any order."""
from backends import dtypes

from ..shapes import INTEGER
from .elementwise import as_tensor, constant
from .scan import cumprod
from .shape import broadcast_to, concat, expand_dims


def vander(x, N=None):
    """The Vandermonde matrix of each vector on the last axis of ``x`` (shape (..., n)):
    shape (..., n, N) with column j holding x ** j, the powers increasing, as
    torch.linalg.vander (numpy.vander's ``increasing=True``). ``N`` defaults to n and must be
    at least 2, as in PyTorch (which takes it by keyword only). The powers are a running
    product (PyTorch's too), so integer tensors stay integers and the gradient at x = 0 is
    exact; bool tensors are refused, as in PyTorch. (``ag.vander`` is NumPy's: one 1-D x,
    decreasing powers unless ``increasing``, any N >= 0.)"""
    x = as_tensor(x)
    if x.dtype == dtypes.bool_:
        raise TypeError("vander: bool tensors are not supported (PyTorch refuses them too); convert first, as in "
                        "vander(x.astype(ag.int64))")
    if x.ndim == 0:
        raise ValueError("vander: x must hold vectors on its last axis (at least 1 dimension), got a 0-d tensor")
    if N is None:
        N = x.shape[-1]
    elif not isinstance(N, INTEGER) or isinstance(N, bool):
        raise TypeError(f"vander: N must be an int (the number of columns), not {N!r}")
    if N < 2:
        raise ValueError(f"vander: N must be greater than 1 (the number of columns, x.shape[-1] by default), got {N}")
    column = expand_dims(x, -1)
    ones = constant(x._backend.xp.ones(column.shape, dtype=x.data.dtype), x)  # x ** 0, whose gradient is 0
    return concat([ones, cumprod(broadcast_to(column, x.shape + (int(N) - 1,)), axis=-1)], -1)
