"""Rounding and the integer parts of a division: floor, ceil, round (half to even),
trunc, fmod, remainder, floor_divide, and PyTorch's div with its ``rounding_mode``.

floor, ceil, round and trunc are steps: their derivative is zero wherever it exists
and is taken as zero everywhere, as Sign's and PyTorch's. Integer inputs keep their
dtype (they are whole already); bools are refused, as PyTorch refuses them.

fmod and remainder are the two remainders of a division: fmod's has the dividend's
sign (C's fmod, torch.fmod), remainder's the divisor's (NumPy's remainder, Python's
and the Tensor's ``%``, torch.remainder). Their gradients are PyTorch's: 1 for the
dividend, -trunc(a / b) and -floor(a / b) for the divisor. floor_divide (``//``) is
floor(a / b) with a zero gradient (PyTorch has none, and raises in backward).
An integer division by zero raises ZeroDivisionError, as in PyTorch and Python,
where NumPy would give 0 and warn; a floating one gives inf or NaN, as everywhere."""
import math

from backends import dtypes

from ..function import Function
from ..shapes import INTEGER, broadcast_shapes
from .elementwise import as_tensor, by_a_python_float, float16_beside_a_float, in_float32, operands, zero_gradient
from .elementwise import div as true_divide


def _whole(op, x):
    """``x`` as a Tensor, refused where it is bool (PyTorch has no floor of a bool;
    NumPy's is float16)."""
    x = as_tensor(x)
    if x.dtype == dtypes.bool_:
        raise TypeError(f"{op}: not defined for bool tensors; convert first, with .astype(ag.float32) say")
    return x


class _Step(Function):
    """A piecewise-constant op of one tensor: a zero gradient."""

    @staticmethod
    def backward(ctx, gy):
        return zero_gradient(gy)


class Floor(_Step):
    @staticmethod
    def forward(ctx, x):
        return x._backend.xp.floor(x.data)


class Ceil(_Step):
    @staticmethod
    def forward(ctx, x):
        return x._backend.xp.ceil(x.data)


class Trunc(_Step):
    @staticmethod
    def forward(ctx, x):
        return x._backend.xp.trunc(x.data)


def floor(x):
    """The largest whole number <= x, elementwise."""
    return Floor.apply(_whole("floor", x))


def ceil(x):
    """The smallest whole number >= x, elementwise."""
    return Ceil.apply(_whole("ceil", x))


def trunc(x):
    """x rounded toward zero, elementwise."""
    return Trunc.apply(_whole("trunc", x))


class Round(Function):
    @staticmethod
    def forward(ctx, x, decimals):
        xp, data = x._backend.xp, x.data
        if decimals == 0:
            return xp.round(data)
        # NumPy's and PyTorch's way: scale, round half to even, scale back (so 1.25 at one
        # decimal gives 1.2: 12.5 rounds to 12). Dividing by 10^-decimals, not multiplying
        # by 10^decimals, keeps the scale exact for decimals < 0.
        try:
            scale = 10.0 ** abs(decimals)
        except OverflowError:  # past 1e308 the scale is inf, and NumPy's and PyTorch's give NaN everywhere
            return xp.full_like(data, math.nan)
        if decimals > 0:
            return xp.round(data * scale) / scale
        return xp.round(data / scale) * scale

    @staticmethod
    def backward(ctx, gy):
        return zero_gradient(gy), None


def round(x, decimals=0):
    """x rounded to ``decimals`` decimal places (negative: to tens, hundreds...),
    halves to even, as NumPy's round and torch.round(decimals=)."""
    if not isinstance(decimals, INTEGER) or isinstance(decimals, bool):
        raise TypeError(f"round: decimals must be an int, not {decimals!r}")
    x = _whole("round", x)
    if not dtypes.is_floating(x.dtype):
        if decimals < 0:
            raise TypeError("round: decimals < 0 needs a floating tensor (an integer one would be rounded "
                            "through a float); convert first, with .astype(ag.float64) say")
        decimals = 0  # an integer is already round to any number of decimals
    if decimals and x.dtype == dtypes.float16:
        # scaled in float32, as PyTorch's: float16's scale overflows from 10^5 (NaN everywhere)
        # and x * 10^decimals rounds (25 to 3 decimals came out 24.98)
        return in_float32(lambda wide: Round.apply(wide, int(decimals)), x)
    return Round.apply(x, int(decimals))


# --- the parts of a division -----------------------------------------------------------------
def _division(op, a, b):
    """``a`` and ``b`` ready for a division op: broadcast, promoted, not bool, and no
    integer divisor 0."""
    a, b = operands(op, a, b)
    if a.dtype == dtypes.bool_:  # (b's too, after promotion)
        raise TypeError(f"{op}: not defined for bool tensors; convert first, with .astype(ag.int64) say")
    # (only where the result has elements: a zero that meets no dividend divides nothing, as in PyTorch)
    if not dtypes.is_floating(a.dtype) and math.prod(broadcast_shapes(op, a.shape, b.shape)) \
            and bool(a._backend.xp.any(b.data == 0)):
        raise ZeroDivisionError(f"{op}: integer division by zero")
    return a, b



class Fmod(Function):
    @staticmethod
    def forward(ctx, a, b):
        if ctx.needs_input_grad[1]:
            ctx.save_for_backward(a, b)
        return a._backend.fmod(a.data, b.data)

    @staticmethod
    def backward(ctx, gy):
        ga = gy if ctx.needs_input_grad[0] else None
        if not ctx.needs_input_grad[1]:
            return ga, None
        a, b = ctx.saved_tensors
        return ga, -gy * TruncDivide.apply(a, b)


def fmod(a, b):
    """The remainder of a / b rounded toward zero: a - b * trunc(a / b), with a's sign
    (C's fmod, torch.fmod), computed exactly."""
    return Fmod.apply(*_division("fmod", a, b))


class Remainder(Function):
    @staticmethod
    def forward(ctx, a, b):
        if ctx.needs_input_grad[1]:
            ctx.save_for_backward(a, b)
        return a._backend.remainder(a.data, b.data)

    @staticmethod
    def backward(ctx, gy):
        ga = gy if ctx.needs_input_grad[0] else None
        if not ctx.needs_input_grad[1]:
            return ga, None
        a, b = ctx.saved_tensors
        return ga, -gy * FloorDivide.apply(a, b)


def remainder(a, b):
    """The remainder of a / b rounded down: a - b * floor(a / b), with b's sign (NumPy's
    remainder, Python's %, torch.remainder); ``tensor % other`` calls it."""
    return Remainder.apply(*_division("remainder", a, b))


class _StepOfTwo(Function):
    """A piecewise-constant op of two tensors: zero gradients."""

    @staticmethod
    def backward(ctx, gy):
        need_a, need_b = ctx.needs_input_grad
        return (zero_gradient(gy) if need_a else None), (zero_gradient(gy) if need_b else None)


class FloorDivide(_StepOfTwo):
    @staticmethod
    def forward(ctx, a, b):
        return a._backend.floor_divide(a.data, b.data)


class TruncDivide(_StepOfTwo):
    """trunc(a / b), as torch.div(rounding_mode="trunc") (and fmod's gradient): integers
    exactly, as C's division (a float quotient would round int64s past 2**53)."""

    @staticmethod
    def forward(ctx, a, b):
        backend, a, b = a._backend, a.data, b.data
        xp = backend.xp
        if xp.isdtype(a.dtype, "real floating"):
            return xp.trunc(a / b)
        # floor(a / b), one up where the exact quotient is negative and not whole
        floor = backend.floor_divide(a, b)
        up = xp.logical_and(backend.remainder(a, b) != 0, (a < 0) != (b < 0))
        return floor + xp.astype(up, floor.dtype)


def floor_divide(a, b):
    """floor(a / b), elementwise and broadcasting (Python's and the Tensor's ``//``);
    integers stay integers. Its gradient is zero. A Python float beside a float16 tensor is
    held in float32, as PyTorch's (x // 0.1 is 0 for x = float16(0.1), which is below 0.1)."""
    if float16_beside_a_float(a, b):
        return by_a_python_float(floor_divide, a, b)
    return FloorDivide.apply(*_division("floor_divide", a, b))


def check_rounding_mode(op, rounding_mode):
    if rounding_mode is not None and not (isinstance(rounding_mode, str) and rounding_mode in ("trunc", "floor")):
        raise ValueError(f"{op}: rounding_mode must be None, 'trunc' or 'floor', not {rounding_mode!r}")


def div(a, b, *, rounding_mode=None):
    """PyTorch's div: ``a / b`` (true division, integers giving the default float) without a
    rounding mode; with ``rounding_mode="trunc"`` the quotient rounded toward zero (C's
    integer division), with ``"floor"`` rounded down (``//``), integers staying integers.
    The rounded quotients have a zero gradient, as PyTorch's."""
    check_rounding_mode("div", rounding_mode)
    if rounding_mode is None:
        return true_divide(a, b)
    if rounding_mode == "floor" and float16_beside_a_float(a, b):
        return by_a_python_float(lambda a, b: div(a, b, rounding_mode="floor"), a, b)
    rounded = TruncDivide if rounding_mode == "trunc" else FloorDivide
    return rounded.apply(*_division("div", a, b))
