"""Trigonometric and hyperbolic functions beyond sin, cos and tanh (elementwise.py):
tan, the inverse functions (arcsin, arccos, arctan, the two-argument arctan2), sinh,
cosh and their inverses. NumPy's names; the Array API's (asin, acos, atan, atan2,
asinh, acosh, atanh) are the same functions.

Integer and bool inputs take the default float, as in PyTorch. Each backward is
PyTorch's formula, factored where PyTorch's loses digits: 1 - x^2 as (1 - x)(1 + x) from
|x| = 1/2, which does not cancel near +-1 (PyTorch's arcsin slope is 2.5e-11 off at 1 - 1e-10),
sqrt(x^2 + 1) as hypot(x, 1) and sqrt(x^2 - 1) as sqrt(|x| - 1) sqrt(|x| + 1), which do not
overflow past |x| = 1.3e154 (PyTorch's arcsinh slope is 0 there, not 1/|x|), and
arctan2's a^2 + b^2 through hypot, which neither underflows nor overflows. The gradients
at the edges of a domain agree with PyTorch's: arcsin and arccos give +-inf at +-1,
arctanh inf, arccosh inf at 1 and NaN below it; their second derivatives are +-inf there
too (1 - x^2 and sqrt(x^2 - 1) are Functions of their own, see OneMinusSquare)."""
from ..autocast_mode import autocast_op
from ..function import Function
from .elementwise import constant, floating, operands, sqrt, where
from .exponential import hypot


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
        return gy / sqrt(OneMinusSquare.apply(x))


class OneMinusSquare(Function):
    """1 - x^2, the slopes' denominator of arcsin, arccos and arctanh: (1 - x)(1 + x) from
    |x| = 1/2, both factors exact near +-1, where 1 - x * x loses the digits that x * x
    rounds away; below, 1 - x * x. A Function of its own so that its derivative is the
    one product -2x: the product rule on (1 - x)(1 + x) multiplies each factor by the
    gradient, and at x = +-1, where that gradient is infinite (the slope's pole), the factor
    that is 0 made inf * 0 = NaN of a second derivative that is +-inf, as PyTorch's."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        xp, data = x._backend.xp, x.data
        return xp.where(xp.abs(data) < 0.5, 1 - data * data, (1 - data) * (1 + data))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * (x * -2)


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
        return -gy / sqrt(OneMinusSquare.apply(x))


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
        # (b, -a) / (a^2 + b^2) as (b / r, -a / r) / r, r = hypot(a, b): the squares would
        # underflow below 1e-154 (a zero gradient where it is 5e199 at a = b = 1e-200) and
        # overflow above 1e154. At the origin the gradient is taken as (b, -a) * 0, signed
        # zeros, as PyTorch's: r is hypot(1, 1) there, so that no 0 / 0 reaches it or a
        # second derivative.
        origin = constant((a.data == 0) & (b.data == 0), a)
        r = hypot(where(origin, 1, a), where(origin, 1, b))
        return (gy * (b / r) / r if need_a else None), (gy * (-a / r) / r if need_b else None)


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
        return gy / hypot(x, 1)  # sqrt(x^2 + 1), whose square overflows past |x| = 1.3e154


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
        return gy / RootOfSquareMinusOne.apply(x)


class RootOfSquareMinusOne(Function):
    """sqrt(x^2 - 1), arccosh's slope's denominator, as sqrt(|x| - 1) sqrt(|x| + 1), which
    neither cancels near 1 nor overflows past 1.3e154 (of |x|, so that x <= -1, outside the
    domain, gets PyTorch's values too). A Function of its own so that its derivative is
    x / sqrt(x^2 - 1): the product rule on the two roots gave the root that is 0 at x = +-1
    the infinite gradient coming back, and inf * 0 = NaN of a second derivative that is
    -+inf there, as PyTorch's."""

    @staticmethod
    def forward(ctx, x):
        xp = x._backend.xp
        size = xp.abs(x.data)
        y = xp.sqrt(size - 1) * xp.sqrt(size + 1)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * (x / y)


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
        return gy / OneMinusSquare.apply(x)


def arctanh(x):
    return Arctanh.apply(floating(x))


# The Array API's names for the same functions.
asin, acos, atan, atan2 = arcsin, arccos, arctan, arctan2
asinh, acosh, atanh = arcsinh, arccosh, arctanh
