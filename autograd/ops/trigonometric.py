"""Trigonometric and hyperbolic functions beyond sin, cos and tanh (elementwise.py):
tan, the inverse functions (arcsin, arccos, arctan, the two-argument arctan2), sinh,
cosh and their inverses. NumPy's names; the Array API's (asin, acos, atan, atan2,
asinh, acosh, atanh) are the same functions.

Integer and bool inputs take the default float, as in PyTorch. Each backward is
PyTorch's formula, so the gradients at the edges of a domain agree with it: arcsin
and arccos give +-inf at +-1, arctanh inf, arccosh inf at 1 and NaN below it."""
from ..autocast_mode import autocast_op
from ..function import Function
from .elementwise import constant, floating, operands, sqrt, where


class Tan(Function):
    @staticmethod
    def forward(ctx, x):
        y = x._backend.xp.tan(x.data)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy * (y * y + 1)


@autocast_op("tan")
def tan(x):
    return Tan.apply(floating(x))


class Arcsin(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x._backend.xp.asin(x.data)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy / sqrt(1 - x * x)


@autocast_op("asin")
def arcsin(x):
    return Arcsin.apply(floating(x))


class Arccos(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x._backend.xp.acos(x.data)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return -gy / sqrt(1 - x * x)


@autocast_op("acos")
def arccos(x):
    return Arccos.apply(floating(x))


class Arctan(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x._backend.xp.atan(x.data)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy / (x * x + 1)


def arctan(x):
    return Arctan.apply(floating(x))


class Arctan2(Function):
    """The angle of the point (b, a): ``arctan(a / b)`` in the right quadrant."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a._backend.xp.atan2(a.data, b.data)

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        recip = 1 / (a * a + b * b)
        # At the origin (and where a^2 + b^2 underflows) the gradient is taken as 0, as
        # PyTorch's, not the 0 * inf = NaN of the formula.
        recip = where(constant(recip._backend.xp.isinf(recip.data), recip), 0, recip)
        return (gy * b * recip if need_a else None), (gy * -a * recip if need_b else None)


@autocast_op("atan2")
def arctan2(a, b):
    """The angle of the point (b, a), in (-pi, pi], elementwise; ``a`` and ``b``
    broadcast, as NumPy's arctan2 (PyTorch's atan2)."""
    a, b = operands("arctan2", a, b, to_float=True)
    return Arctan2.apply(floating(a), floating(b))


class Sinh(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x._backend.xp.sinh(x.data)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * cosh(x)


@autocast_op("sinh")
def sinh(x):
    return Sinh.apply(floating(x))


class Cosh(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x._backend.xp.cosh(x.data)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * sinh(x)


@autocast_op("cosh")
def cosh(x):
    return Cosh.apply(floating(x))


class Arcsinh(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x._backend.xp.asinh(x.data)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy / sqrt(x * x + 1)


def arcsinh(x):
    return Arcsinh.apply(floating(x))


class Arccosh(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x._backend.xp.acosh(x.data)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy / sqrt(x * x - 1)


def arccosh(x):
    return Arccosh.apply(floating(x))


class Arctanh(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x._backend.xp.atanh(x.data)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy / (1 - x * x)


def arctanh(x):
    return Arctanh.apply(floating(x))


# The Array API's names for the same functions.
asin, acos, atan, atan2 = arcsin, arccos, arctan, arctan2
asinh, acosh, atanh = arcsinh, arccosh, arctanh
