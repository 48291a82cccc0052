"""The floating-point representation: ``copysign``, ``signbit`` and ``nextafter``, the
Array API's names and NumPy's values (a NaN's sign bit counts, as does -0.0's).

copysign is differentiable in its first operand, as PyTorch's: the magnitude comes
from x1, so its gradient is ±1 (the sign x1 had times the sign it is given), 0 at
x1 == 0 (and ±1 at x1 = ±inf, where PyTorch's is NaN); x2 gives only a sign bit, and
its gradient is 0. signbit (bool) and
nextafter (a step to the next representable number) have none."""
from backends import dtypes

from ..function import Function
from ..tensor import Tensor, default_dtype
from .elementwise import as_tensor, constant, floating, operands, sign, zero_gradient


class Copysign(Function):
    @staticmethod
    def forward(ctx, x1, x2):
        xp = x1._backend.xp
        if ctx.needs_input_grad[0]:
            # The sign each result is given (+1 or -1), from x2's sign bit: -0.0 and -NaN flip too
            given = xp.where(xp.signbit(x2.data), xp.asarray(-1, dtype=x1.data.dtype),
                             xp.asarray(1, dtype=x1.data.dtype))
            ctx.save_for_backward(x1, constant(given, x1))
        return xp.copysign(x1.data, x2.data)

    @staticmethod
    def backward(ctx, gy):
        need_x1, need_x2 = ctx.needs_input_grad
        g1 = None
        if need_x1:
            x1, given = ctx.saved_tensors
            g1 = gy * sign(x1) * given  # sign(x1): 0 at x1 == 0, where PyTorch masks it too
        return g1, (zero_gradient(gy) if need_x2 else None)


def copysign(x1, x2):
    """``|x1|`` with the sign bit of ``x2``, elementwise; integers and bools give the
    default float, as in PyTorch (NumPy gives float64)."""
    x1, x2 = operands("copysign", x1, x2, to_float=True)
    return Copysign.apply(floating(x1), floating(x2))


def signbit(x):
    """Whether each element's sign bit is set, as a bool tensor: True for -0.0 and for a
    NaN with the bit set, as NumPy's; integers are negative or not, bools never."""
    x = as_tensor(x)
    xp = x._backend.xp
    if dtypes.is_floating(x.dtype):
        return constant(xp.signbit(x.data), x)
    if x.dtype == dtypes.bool_:
        return constant(xp.zeros(x.data.shape, dtype=xp.bool), x)
    return constant(x.data < 0, x)  # (the standard's signbit takes floating arrays only)


def nextafter(x1, x2):
    """The next number after ``x1`` toward ``x2`` in their floating dtype, elementwise
    (not differentiable: a step of one unit in the last place)."""
    x1, x2 = operands("nextafter", x1, x2)
    if not dtypes.is_floating(x1.dtype):
        raise TypeError(f"nextafter: takes floating tensors, not {x1.dtype}, whose next value is a matter of "
                        f"the float it becomes; convert first, with .astype(ag.{default_dtype()}) say")
    return Tensor._make(x1._backend.xp.nextafter(x1.data, x2.data), x1._backend)
