"""NaN and the infinities: the tests isnan, isinf and isfinite (bool tensors, outside
the graph, as comparisons are), and nan_to_num, which replaces them by finite numbers.

Integer and bool tensors hold neither NaN nor an infinity: the tests give all False
(all True for isfinite) and nan_to_num a copy, as in NumPy and PyTorch."""
import numbers

from backends import dtypes

from ..function import Function
from ..tensor import Tensor
from .elementwise import as_tensor, constant


def _classify(name, test, otherwise):
    def classify(x):
        x = as_tensor(x)
        xp = x._backend.xp
        if dtypes.is_floating(x.dtype):
            return Tensor._make(test(xp, x.data), x._backend)
        return Tensor._make(xp.full(x.data.shape, otherwise, dtype=xp.bool), x._backend)
    classify.__name__ = name
    classify.__doc__ = f"Elementwise {name}, as a bool tensor outside the graph."
    return classify


isnan = _classify("isnan", lambda xp, a: xp.isnan(a), False)
isinf = _classify("isinf", lambda xp, a: xp.isinf(a), False)
isfinite = _classify("isfinite", lambda xp, a: xp.isfinite(a), True)


class NanToNum(Function):
    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        xp, data = x._backend.xp, x.data
        finite = xp.isfinite(data)
        ctx.save_for_backward(finite)
        info = xp.finfo(data.dtype)
        posinf = info.max if posinf is None else posinf
        neginf = info.min if neginf is None else neginf
        # Each replacement a 0-d array of x's dtype (out-of-range ones become inf there,
        # as in PyTorch); the standard's where takes no Python scalars before 2024.12.
        def fill(value):
            return xp.asarray(value, dtype=data.dtype)
        out = xp.where(xp.isnan(data), fill(nan), data)
        out = xp.where(data == xp.inf, fill(posinf), out)
        return xp.where(data == -xp.inf, fill(neginf), out)

    @staticmethod
    def backward(ctx, gy):
        finite, = ctx.saved_tensors
        # A product, as PyTorch's (grad * isfinite(x)): a NaN gradient stays NaN everywhere.
        return gy * constant(gy._backend.xp.astype(finite.data, gy.data.dtype), gy), None, None, None


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """``x`` with NaN replaced by ``nan``, inf by ``posinf`` and -inf by ``neginf``
    (by default the largest and smallest finite numbers of x's dtype), as NumPy's and
    PyTorch's. The gradient passes where x is finite, and is 0 where it was replaced."""
    for name, value in (("nan", nan), ("posinf", posinf), ("neginf", neginf)):
        if value is not None and (not isinstance(value, numbers.Real) or isinstance(value, bool)):
            raise TypeError(f"nan_to_num: {name} must be a number, not {value!r}")
    x = as_tensor(x)
    if not dtypes.is_floating(x.dtype):
        return Tensor._make(x._backend.xp.asarray(x.data, copy=True), x._backend)
    return NanToNum.apply(x, float(nan), None if posinf is None else float(posinf),
                          None if neginf is None else float(neginf))
