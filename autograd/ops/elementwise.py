"""Elementwise ops. Binary ones broadcast like NumPy; the engine reduces their
gradients back to each input's shape, so no op here un-broadcasts."""
import builtins
import math
import numbers

from backends import dtypes, restore_floating_point_warnings, silence_floating_point_warnings

from ..autocast_mode import autocast_op
from ..function import Function
from ..grad_mode import state as _grad_state
from ..shapes import broadcast_shapes
from ..tensor import Tensor, count_change, default_dtype, on_one_device, refuse_a_list_that_drops_gradients

_PY_SCALARS = (int, float, bool)
_FLOAT16, _FLOAT32 = dtypes.float16, dtypes.float32


def constant(array, like):
    """A tensor outside the graph on ``like``'s backend (masks, signs)."""
    return Tensor._make(array, like._backend)


def zero_gradient(like):
    """Zeros like ``like``, outside the graph: the gradient of an op whose derivative is
    zero (sign, a ReLU's gradient with respect to the ReLU's input)."""
    return constant(like._backend.xp.zeros_like(like.data), like)


def as_tensor(value, like=None, to_float=False):
    """``value`` as a Tensor; Python scalars (and NumPy's) take ``like``'s dtype where its
    category holds them, as in PyTorch, and an int that an integer dtype cannot hold wraps
    around in it, as there. With ``to_float`` (an op whose result is floating), a scalar
    beside an integer or bool tensor takes the default float at once: -1 beside a uint8
    tensor must not become 255 on its way to the division."""
    if isinstance(value, Tensor):
        return value
    if like is None:
        refuse_a_list_that_drops_gradients("an op's operand", value)
        return Tensor(value)
    if isinstance(value, dtypes.NUMPY_SCALAR):
        value = value.item()
    if isinstance(value, _PY_SCALARS):
        dtype = like.dtype
        if (to_float or isinstance(value, float)) and not dtypes.is_floating(dtype):
            dtype = default_dtype()
        elif isinstance(value, int) and not isinstance(value, bool) and dtype == dtypes.bool_:
            dtype = dtypes.int64
        try:
            array = like._backend.asarray(value, dtype)
        except OverflowError:  # NumPy refuses such an int; PyTorch keeps its low bits
            if dtypes.category(dtype) != 1:
                raise
            array = like._backend.asarray(dtypes.wrapped(value, dtype), dtype)
        return Tensor._make(array, like._backend)
    if hasattr(value, "dtype"):  # an array: keep its dtype, move it to like's device
        return Tensor._make(like._backend.asarray(value), like._backend)
    # (x * [w[0], w[1]] read w's entries as plain numbers, dropping its gradient)
    refuse_a_list_that_drops_gradients("an op's operand", value)
    return Tensor(value, device=like._backend)


def floating(x):
    """``x`` as a Tensor of a floating dtype: an integer or bool tensor takes the default
    float, as in PyTorch (the exp of an int tensor is float32), on every backend."""
    if not isinstance(x, Tensor):
        x = as_tensor(x)
    if x.data.dtype in x._backend.floating_dtypes:
        return x
    return astype(x, default_dtype())


def operands(op, a, b, broadcast=True, to_float=False):
    """Two tensors ready for a binary op: scalars lifted, dtypes promoted, and
    (for elementwise ops) shapes checked to broadcast. ``to_float`` is for ops whose
    result is floating (true division, arctan2...): where the promoted dtype is an
    integer or bool, each operand goes to the default float from its own dtype, as in
    PyTorch, not through their common integer dtype (a 0-d int8 -1 beside a uint8 tensor
    would be 255). The caller still makes operands of one integer dtype floating."""
    if isinstance(a, Tensor):
        if b.__class__ is not Tensor and not isinstance(b, Tensor):
            if b.__class__ is list or b.__class__ is tuple:
                refuse_a_list_that_drops_gradients(op, b)
            b = as_tensor(b, a, to_float)
    elif isinstance(b, Tensor):
        if a.__class__ is list or a.__class__ is tuple:
            refuse_a_list_that_drops_gradients(op, a)
        a = as_tensor(a, b, to_float)
    else:
        raise TypeError(f"{op}: expected at least one Tensor, got {type(a).__name__} and {type(b).__name__}")
    if a._backend is not b._backend:
        on_one_device(op, a, b)  # (here, not in Function.apply, so that ops built on others say their name)
    elif a.data.dtype != b.data.dtype:
        common = dtypes.promote(a.dtype, b.dtype, a.data.ndim == 0, b.data.ndim == 0)
        if to_float and not dtypes.is_floating(common):
            common = default_dtype()
        a, b = astype(a, common, copy=False), astype(b, common, copy=False)
    if broadcast and a.data.shape != b.data.shape:
        broadcast_shapes(op, a.shape, b.shape)
    return a, b


def _on_bools(a, b, logical):
    """``a`` and ``b`` combined by the namespace's ``logical`` function where both are
    bool (the standard has no arithmetic on bools; NumPy and CuPy give the same values);
    anything else re-raises the TypeError the namespace raised."""
    if a.data.dtype == b.data.dtype and a.dtype == dtypes.bool_:
        return getattr(a._backend.xp, logical)(a.data, b.data)
    raise


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        try:
            return a.data + b.data
        except TypeError:  # the Array API standard adds no bools: bool + bool is "or", as in NumPy
            return _on_bools(a, b, "logical_or")

    @staticmethod
    def backward(ctx, gy):
        return gy, gy


def add(a, b, *, alpha=1):
    """a + b, or PyTorch's ``a + alpha * b``."""
    if alpha != 1:
        return Add.apply(*_scaled_second("add", a, b, alpha))
    return Add.apply(*operands("add", a, b))


def add_pair(a, b):
    """a + b: the + operator's op, without add's ``alpha`` (its check cost the operator 3%)."""
    return Add.apply(*operands("add", a, b))


def _scaled_second(op, a, b, alpha):
    """``a`` and ``alpha * b`` for PyTorch's add and sub with ``alpha``: an integer alpha
    for integer tensors, as PyTorch asks (a fractional one would change their dtype)."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
        raise TypeError(f"{op}: alpha must be an int or a float, not {type(alpha).__name__} {alpha!r}")
    a, b = operands(op, a, b)
    if isinstance(alpha, float) and not dtypes.is_floating(a.dtype):
        raise TypeError(f"{op}: alpha={alpha} is fractional but the tensors are {a.dtype}; pass an integer alpha, "
                        "or convert the tensors first with .astype(ag.float32) say")
    return a, mul(b, alpha)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a.data - b.data

    @staticmethod
    def backward(ctx, gy):
        return gy, (-gy if ctx.needs_input_grad[1] else None)


def sub(a, b, *, alpha=1):
    """a - b, or PyTorch's ``a - alpha * b``."""
    if alpha != 1:
        return Sub.apply(*_scaled_second("sub", a, b, alpha))
    return Sub.apply(*operands("sub", a, b))


def sub_pair(a, b):
    """a - b: the - operator's op, without sub's ``alpha``."""
    return Sub.apply(*operands("sub", a, b))


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        need_a, need_b = ctx.needs_input_grad
        # Each input's gradient needs only the other input: keep no more alive than that.
        ctx.save_for_backward(b if need_a else None, a if need_b else None)
        try:
            return a.data * b.data
        except TypeError:  # as in Add: bool * bool is "and"
            return _on_bools(a, b, "logical_and")

    @staticmethod
    def backward(ctx, gy):
        b, a = ctx.saved_tensors
        if _grad_state.enabled:  # create_graph: recorded, so it can be differentiated again
            return (gy * b if b is not None else None), (gy * a if a is not None else None)
        # A plain backward: the products on the bare arrays, with no op dispatch (forward
        # gave a, b and so gy one dtype; the engine sums a broadcast product to its input).
        backend, g = gy._backend, gy.data
        return (None if b is None else Tensor._make(g * b.data, backend),
                None if a is None else Tensor._make(g * a.data, backend))


def mul(a, b):
    # float16_beside_a_float, written out: a call more on every mul is the hot path's cost
    if b.__class__ is float and is_float16(a) or a.__class__ is float and is_float16(b):
        return by_a_python_float(mul, a, b)
    return Mul.apply(*operands("mul", a, b))


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        # b's gradient takes a, not the output a / b, as PyTorch's does: a kept output would
        # forbid an in-place change of it (h = x / norm followed by h.relu_()).
        ctx.save_for_backward(b, a if ctx.needs_input_grad[1] else None)
        return a.data / b.data

    @staticmethod
    def backward(ctx, gy):
        b, a = ctx.saved_tensors
        ga = gy / b
        if not ctx.needs_input_grad[1]:
            return ga, None
        # -gy a / b^2 as (gy * out) / b (out = a / b, the output bit for bit): 0 at a = 0 and
        # at gy = 0, where (gy / b) * out and PyTorch's gy * (out / b) make 0 * inf = NaN once
        # gy / b or out / b overflows (a float16 b of 1e-5). gy * out itself can overflow where
        # the gradient does not, in float16 already at 300 * 300: there it runs in float32.
        out = a / b
        if out.dtype == dtypes.float16:
            return ga, in_float32(_divisor_gradient, gy, out, b)
        return ga, _divisor_gradient(gy, out, b)


def _divisor_gradient(gy, out, b):
    return -(gy * out) / b


def div(a, b):
    # float16_beside_a_float, written out: a call more on every div is the hot path's cost
    if b.__class__ is float and is_float16(a) or a.__class__ is float and is_float16(b):
        return by_a_python_float(div, a, b)
    a, b = operands("div", a, b, to_float=True)
    return Div.apply(floating(a), floating(b))  # true division of integers gives the default float


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return -x.data

    @staticmethod
    def backward(ctx, gy):
        return -gy


def neg(x):
    return Neg.apply(as_tensor(x))


def positive(x):
    """``+x`` as a new tensor (the Array API's positive, a copy as NumPy's): differentiable,
    the gradient passing through unchanged. Bools have no ``+``, as in NumPy and PyTorch."""
    x = as_tensor(x)
    if x.dtype == dtypes.bool_:
        raise TypeError("positive: not defined for bool tensors (as NumPy's and PyTorch's unary +); "
                        "convert first, with .astype(ag.int64) say")
    return clone(x)


class Pow(Function):
    """``a ** b`` for tensors on both sides; scalar exponents arrive as 0-d tensors."""

    @staticmethod
    def forward(ctx, a, b):
        y = a._backend.power(a.data, b.data)
        ctx.save_for_backward(a, b, y if ctx.needs_input_grad[1] else None)  # y: for b's gradient only
        return y

    @staticmethod
    def backward(ctx, gy):
        a, b, y = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        ga = None
        if need_a:
            # b * a^(b-1), but with the exponent b itself (0) where b == 0: the gradient is 0
            # there, where a^-1 at a == 0 would make it 0 * inf = NaN (PyTorch masks b == 0
            # too). A constant exponent (the usual x ** 2) is worked out on the arrays, which
            # costs less than the b - 1 it replaces; one in the graph subtracts 1-or-0.
            xp = b._backend.xp
            if b._requires_grad:
                exponent = b - constant(xp.astype(b.data != 0, b.data.dtype), b)
                # Zeroed by where as well: through the exponent alone, this gradient's own
                # derivative in b at b == 0 would be a^0 = 1, where PyTorch's is 0.
                ga = where(constant(b.data == 0, b), 0, gy * b * a ** exponent)
            else:
                ga = gy * b * a ** constant(xp.where(b.data == 0, b.data, b.data - 1), b)
        gb = None
        if need_b:
            # d(a^b)/db = a^b log a, taken as 0 where a == 0 and b >= 0 (the limit for b > 0),
            # as PyTorch; for b < 0 it is a^b log a = inf * -inf, not 0 * inf = NaN.
            # 1 stands in for a there (y is 0 or 1), so no 0 * inf reaches a second order.
            limit_zero = constant((a.data == 0) & (b.data >= 0), a)
            gb = gy * y * log(where(limit_zero, 1, a))
        return ga, gb


@autocast_op("pow")
def pow(a, b):
    if isinstance(a, Tensor) and not dtypes.is_floating(a.dtype) and isinstance(b, numbers.Integral) \
            and not isinstance(b, bool):  # an int exponent of an int tensor, checked before it wraps into a's dtype
        if b < 0:
            raise ValueError(f"pow: an integer tensor to the negative power {b} is a fraction, which its dtype "
                             f"({a.dtype}) cannot hold; convert first, with .astype(ag.float32) say")
        dtypes.check_fill("pow", int(b), a.dtype)  # as PyTorch, no exponent past the dtype's range
    a, b = operands("pow", a, b)
    xp = a._backend.xp
    if a.dtype == dtypes.bool_ and b.dtype == dtypes.bool_:  # a ** b is "a or not b", a bool, as in PyTorch
        return constant(xp.logical_or(a.data, xp.logical_not(b.data)), a)
    if dtypes.category(a.dtype) == 1 and bool(xp.any(b.data < 0)):  # (integers have no gradient)
        return constant(_integer_power_of_negatives(a.data, b.data, xp), a)
    return Pow.apply(a, b)


def _integer_power_of_negatives(base, exponent, xp):
    """``base ** exponent`` for integers where some exponents are negative, as PyTorch gives
    it (NumPy refuses them): 1 / base^-exponent truncated toward zero, which is 1 for base 1,
    1 or -1 (by the exponent's parity) for base -1, and 0 for any other base, 0 included."""
    negative = exponent < 0
    power = base ** xp.where(negative, xp.zeros_like(exponent), exponent)
    unit = (base == 1) | (base == -1)  # (signed: only a signed exponent is negative, so base's dtype is too)
    return xp.where(negative, xp.where(unit, base ** (exponent & 1), xp.zeros_like(power)), power)


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        y = x._backend.xp.exp(x.data)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy * y


@autocast_op("exp")
def exp(x):
    return Exp.apply(floating(x))


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x._backend.xp.log(x.data)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy / x


@autocast_op("log")
def log(x):
    return Log.apply(floating(x))


class Log1p(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x._backend.xp.log1p(x.data)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy / (x + 1)


@autocast_op("log1p")
def log1p(x):
    return Log1p.apply(floating(x))


class Sqrt(Function):
    @staticmethod
    def forward(ctx, x):
        y = x._backend.xp.sqrt(x.data)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy / (y * 2)


def sqrt(x):
    return Sqrt.apply(floating(x))


class Abs(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x._backend.xp.abs(x.data)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        # sign(x) as an op, not a constant: with create_graph the gradient stays connected
        # to x, so a higher derivative is zero, not "does not require grad" (as PyTorch).
        return gy * sign(x)


def _not_bool(op, x):
    """``x``, refused where it is bool, as PyTorch refuses it: NumPy would give x back and the
    standard (CuPy's, strict's) an error of its own, so the backends would disagree."""
    if x.dtype == dtypes.bool_:
        raise TypeError(f"{op}: not defined for bool tensors (as in PyTorch); convert first, with "
                        ".astype(ag.int64) say")
    return x


def abs(x):
    return Abs.apply(_not_bool("abs", as_tensor(x)))


class Sign(Function):
    """-1, 0 or 1; its derivative is zero wherever it exists (and taken as zero at 0)."""

    @staticmethod
    def forward(ctx, x):
        return x._backend.xp.sign(x.data)

    @staticmethod
    def backward(ctx, gy):
        return zero_gradient(gy)


def sign(x):
    x = as_tensor(x)
    if x.dtype == dtypes.bool_:  # a bool is its own sign (as PyTorch); the standard has no sign of bools
        return Tensor._make(x._backend.xp.asarray(x.data, copy=True), x._backend)
    return Sign.apply(x)


class Sin(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x._backend.xp.sin(x.data)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * cos(x)


def sin(x):
    return Sin.apply(floating(x))


class Cos(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x._backend.xp.cos(x.data)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return -gy * sin(x)


def cos(x):
    return Cos.apply(floating(x))


class Tanh(Function):
    """float16's slope (from the float16 output, as PyTorch's) is computed in float32 and
    rounded once, as PyTorch's: in float16 steps 7% of it was off, up to 16 units."""

    @staticmethod
    def forward(ctx, x):
        y = x._backend.xp.tanh(x.data)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        if _grad_state.enabled:  # create_graph: recorded, so it can be differentiated again
            return TanhGrad.apply(gy, y)
        return Tensor._make(TanhGrad.gradient(gy, y), gy._backend)  # a plain backward: no op dispatch


class TanhGrad(Function):
    """``gy * (1 - y**2)`` in one op (three otherwise, in the hottest backward)."""

    @staticmethod
    def forward(ctx, gy, y):
        ctx.save_for_backward(gy, y)
        return TanhGrad.gradient(gy, y)

    @staticmethod
    def gradient(gy, y):
        """``gy * (1 - y * y)`` of the tensors, as an array (float16 rounded once: see Tanh)."""
        if y.dtype == dtypes.float16:
            return through_float32(y._backend.tanh_gradient, gy, y)
        return y._backend.tanh_gradient(gy.data, y.data)

    @staticmethod
    def backward(ctx, g):
        gy, y = ctx.saved_tensors
        need_gy, need_y = ctx.needs_input_grad
        return (TanhGrad.apply(g, y) if need_gy else None,
                rounded_once(TanhGrad.slope_gradient, g, gy, y) if need_y else None)

    @staticmethod
    def slope_gradient(g, gy, y):
        return g * gy * y * -2


def tanh(x):
    return Tanh.apply(floating(x))


class Sigmoid(Function):
    """float16 is computed in float32 and rounded once, as PyTorch's forward kernel: in float16
    steps 14% of the values were a unit off PyTorch's (some two), which moved the slope, taken
    from the output as PyTorch's, up to 5,472 steps (0 near x = 7.6, where y rounded to 1). The slope
    rounds once too, where PyTorch's rounds each float16 step (2 units off that on 8% of inputs)."""

    @staticmethod
    def forward(ctx, x):
        y = through_float32(x._backend.sigmoid, x) if x.dtype == dtypes.float16 else x._backend.sigmoid(x.data)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        if _grad_state.enabled:  # create_graph: recorded, so it can be differentiated again
            return SigmoidGrad.apply(gy, y)
        return Tensor._make(SigmoidGrad.gradient(gy, y), gy._backend)  # a plain backward: no op dispatch


class SigmoidGrad(Function):
    """``gy * y * (1 - y)`` in one op."""

    @staticmethod
    def forward(ctx, gy, y):
        ctx.save_for_backward(gy, y)
        return SigmoidGrad.gradient(gy, y)

    @staticmethod
    def gradient(gy, y):
        """``gy * y * (1 - y)`` of the tensors, as an array (float16 rounded once: see Sigmoid)."""
        if y.dtype == dtypes.float16:
            return through_float32(y._backend.sigmoid_gradient, gy, y)
        return y._backend.sigmoid_gradient(gy.data, y.data)

    @staticmethod
    def backward(ctx, g):
        gy, y = ctx.saved_tensors
        need_gy, need_y = ctx.needs_input_grad
        return (SigmoidGrad.apply(g, y) if need_gy else None,
                rounded_once(SigmoidGrad.slope_gradient, g, gy, y) if need_y else None)

    @staticmethod
    def slope_gradient(g, gy, y):
        return g * gy * (1 - 2 * y)


def sigmoid(x):
    return Sigmoid.apply(floating(x))


class Relu(Function):
    @staticmethod
    def forward(ctx, x):
        y, keep = x._backend.relu(x.data)
        # Backward needs only where the gradient passes: a mask of a byte per element,
        # a quarter of y's bytes, so y itself is freed once the next layer is done with it.
        ctx.save_for_backward(keep)
        return y

    @staticmethod
    def backward(ctx, gy):
        keep, = ctx.saved_tensors
        if _grad_state.enabled:  # create_graph: recorded, so it can be differentiated again
            return ReluGrad.apply(gy, keep, input_place(ctx, keep))
        # A plain backward: the masked copy straight from the kernel, with no op dispatch.
        return Tensor._make(gy._backend.masked(gy.data, keep.data), gy._backend)


class ReluInPlace(Relu):
    """ReLU written over its input's memory (``relu_``, ``inplace=True``): no output
    buffer, and backward needs only the mask, which the output gives exactly as the
    input would. Tensor.relu_ makes the input tensor this node's output."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x._backend.relu_(x.data))
        return x.data


class ReluGrad(Function):
    """``gy`` where ``keep`` (the backend's ``relu_mask`` of the ReLU's output) holds,
    else 0; linear in ``gy``. ``x``, the ReLU's input (or None), is never read: it keeps
    the result connected to x, with a zero derivative, as PyTorch's threshold_backward
    is, so that a higher derivative through a ReLU alone is zero rather than missing."""

    @staticmethod
    def forward(ctx, gy, keep, x):
        ctx.save_for_backward(keep, x)
        return gy._backend.masked(gy.data, keep.data)

    @staticmethod
    def backward(ctx, ggy):
        keep, x = ctx.saved_tensors
        gx = zero_gradient(ggy) if ctx.needs_input_grad[2] else None
        return type(ctx).apply(ggy, keep, x), None, gx  # (LeakyReluGrad's too: linear in gy)


def input_place(ctx, stand_in):
    """A tensor at the place in the graph of the sole input of ``ctx``'s node, with
    ``stand_in``'s array in place of its values, which the node did not keep (only
    for ReluGrad and LeakyReluGrad, which never read them)."""
    producer, nr = ctx.next_functions[0]
    if producer is None:
        return None
    if nr == -1:
        return producer  # a leaf: the tensor itself
    t = Tensor._make(stand_in.data, stand_in._backend)
    t.grad_fn, t._output_nr, t._requires_grad = producer, nr, True
    return t


def relu(x):
    return Relu.apply(_not_bool("relu", as_tensor(x)))


def relu_(x):
    """ReLU in place: ``x`` itself is returned, now the output of a ReluInPlace node."""
    if not isinstance(x, Tensor):
        raise TypeError(f"relu_: expected a Tensor, got {type(x).__name__}")
    _not_bool("relu_", x)
    # Under saved-tensor hooks, through a copy as the other in-place ops go: pack_hook runs
    # after forward and may raise, and the kernel would have written x by then, leaving
    # ReLU's values under x's old place in the graph (a wrong gradient, silently).
    if x._changes_through_base() or _grad_state.saved_hooks and x._requires_grad:
        return x._inplace("relu_", lambda old, _: relu(old), None)
    x._refuse_a_broadcast_view("relu_")  # (_inplace checks on its own)
    x._check_inplace("relu_")
    # Counted before the kernel runs: should anything raise after it has written (the
    # anomaly check, say), the change is on record all the same.
    count_change(x)
    return x._take_place(ReluInPlace.apply(x))


class Clip(Function):
    @staticmethod
    def forward(ctx, x, low, high):
        xp = x._backend.xp
        ctx.save_for_backward(x)
        ctx.low, ctx.high = low, high
        if low is not None and high is not None and low > high:
            low = high  # every element becomes max, as in PyTorch and NumPy (the standard leaves it open)
        return xp.clip(x.data, low, high)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        xp = x._backend.xp
        inside = xp.ones(x.data.shape, dtype=xp.bool)
        if ctx.low is not None:
            inside = inside & (x.data >= ctx.low)
        if ctx.high is not None:
            inside = inside & (x.data <= ctx.high)
        return where(constant(inside, x), gy, 0), None, None


def clip(x, min=None, max=None):
    """``x`` limited to [min, max]. Scalar bounds take one fused op; tensor bounds
    (broadcasting against x) are differentiable, as torch.clamp's."""
    if min is None and max is None:
        raise ValueError("clip: give at least one of min and max")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return _clip_to_tensors(x, min, max)
    for name, bound in (("min", min), ("max", max)):
        if bound is not None and not hasattr(bound, "__float__"):  # "0" from a config file, a list...
            raise TypeError(f"clip: {name} must be a real number or a Tensor, not {type(bound).__name__} {bound!r}")
    # NumPy scalars as the Python numbers they hold, as beside a tensor in any op (NumPy
    # would promote an int8 tensor clipped to np.int64(-200) to int64)
    min, max = (b.item() if isinstance(b, dtypes.NUMPY_SCALAR) else b for b in (min, max))
    x = as_tensor(x)
    is_float = dtypes.is_floating(x.dtype)
    if not is_float and (isinstance(min, float) or isinstance(max, float)):
        x, is_float = astype(x, default_dtype()), True  # as x + 1.5 does: the default float
    elif x.dtype == dtypes.bool_:
        x = astype(x, dtypes.int64)  # as x + 1 does (and torch.clamp); the standard clips no bools
    if not is_float:
        min, max = _integer_bounds(x.dtype, min, max)
    return Clip.apply(x, None if min is None else builtins.float(min) if is_float else min,
                      None if max is None else builtins.float(max) if is_float else max)


def _integer_bounds(dtype, low, high):
    """The bounds to clip an integer tensor to. One past the far end of its dtype's range
    would leave only the bound, which the dtype cannot hold: refused. One past the near end
    changes nothing, and becomes that end (PyTorch wraps such a bound into the dtype first,
    or refuses it), which CuPy, unlike NumPy, needs: it refuses a bound its dtype cannot hold."""
    smallest, largest = dtypes.value_range(dtype)
    for name, bound, beyond in (("min", low, low is not None and low > largest),
                                ("max", high, high is not None and high < smallest)):
        if beyond:
            raise OverflowError(f"clip: {name}={bound} lies outside {dtype}'s range [{smallest}, {largest}], so every "
                                f"element would become {bound}, which {dtype} cannot hold; give a bound in that "
                                "range, or convert the tensor to a wider dtype first (x.to(dtype=...))")
    return (None if low is None else builtins.max(low, smallest),
            None if high is None else builtins.min(high, largest))


def _clip_to_tensors(x, low, high):
    """clip with a tensor bound, composed of where as torch.clamp computes it: the
    bound's value (and gradient) where x is past it, x's where x lies within, ties
    included; where both bounds cross (low > high), high wins, as in PyTorch. A NaN in x
    or in a bound gives NaN and sends no gradient to any of them, as PyTorch's clamp and
    the scalar-bound clip: through the where that chose it, a NaN x would pass its
    gradient on to whatever made the NaN."""
    x = as_tensor(x, low if isinstance(low, Tensor) else high)
    low, high = (None if b is None else as_tensor(b, x) for b in (low, high))
    # checked here, so that a mismatch is named clip's, not that of the comparison inside
    broadcast_shapes("clip", x.shape, *(b.shape for b in (low, high) if b is not None))
    clipped = x
    if low is not None:
        clipped = where(clipped < low, low, clipped)
    if high is not None:
        clipped = where(clipped > high, high, clipped)
    can_hold_nan = [t for t in (x, low, high) if t is not None and dtypes.is_floating(t.dtype)]
    if not can_hold_nan:
        return clipped
    xp = x._backend.xp
    nan = xp.isnan(can_hold_nan[0].data)
    for t in can_hold_nan[1:]:
        nan = nan | xp.isnan(t.data)
    return where(constant(nan, x), math.nan, clipped)


class Maximum(Function):
    """Ties send half the gradient to each side, as PyTorch does."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        try:
            return a._backend.xp.maximum(a.data, b.data)
        except TypeError:  # as in Add
            return _on_bools(a, b, "logical_or")

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        return _split_by_winner(ctx, gy, a.data < b.data, a.data > b.data, a.data == b.data, a)


class Minimum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        try:
            return a._backend.xp.minimum(a.data, b.data)
        except TypeError:  # as in Add
            return _on_bools(a, b, "logical_and")

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        return _split_by_winner(ctx, gy, a.data > b.data, a.data < b.data, a.data == b.data, a)


def _split_by_winner(ctx, gy, a_loses, b_loses, tie, like):
    """Each side's share of ``gy``: all of it, half on a tie, none where it loses. The
    loser's 0 is put there by where, not by a product with 0, so that an infinite or NaN
    ``gy`` (sqrt(maximum(x, 0)) where x is clamped) leaves it 0 rather than NaN, as in
    PyTorch; a NaN operand loses to nothing, so both sides get ``gy`` there, as in PyTorch."""
    need_a, need_b = ctx.needs_input_grad
    g = where(constant(tie, like), gy * 0.5, gy)
    return (where(constant(a_loses, like), 0, g) if need_a else None,
            where(constant(b_loses, like), 0, g) if need_b else None)


def maximum(a, b):
    return Maximum.apply(*operands("maximum", a, b))


def minimum(a, b):
    return Minimum.apply(*operands("minimum", a, b))


class Where(Function):
    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.save_for_backward(condition)
        return a._backend.where(condition.data, a.data, b.data)

    @staticmethod
    def backward(ctx, gy):
        condition, = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad[1:]
        return (None,
                where(condition, gy, 0) if need_a else None,
                where(condition, 0, gy) if need_b else None)


def where(condition, a, b):
    """``a`` where ``condition`` holds, else ``b``; differentiable in ``a`` and ``b``."""
    like = next((v for v in (a, b, condition) if isinstance(v, Tensor)), None)
    if like is None:
        raise TypeError("where: expected at least one Tensor argument")
    condition = _as_mask(condition, like)
    if condition.dtype != dtypes.bool_:
        raise TypeError(f"where: condition must be a bool tensor, not {condition.dtype}")
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):  # two scalars: the condition places them
        a = as_tensor(a, condition)
    a, b = operands("where", a, b)
    broadcast_shapes("where", condition.shape, a.shape, b.shape)
    return Where.apply(condition, a, b)


def _as_mask(mask, like):
    """``mask`` as a Tensor on ``like``'s device in its own dtype: a Python True is a bool
    mask, where as_tensor would make it a number of like's dtype."""
    return mask if isinstance(mask, Tensor) else Tensor(mask, device=like._backend)


def masked_fill(x, mask, value):
    """``x`` with ``value`` where the bool ``mask`` holds, as PyTorch's masked_fill: x and
    the mask broadcast together, and the result keeps x's dtype (a float value in an
    integer tensor is truncated). Differentiable in x and in a 0-d tensor value."""
    x = as_tensor(x)
    mask = _as_mask(mask, x)
    if mask.dtype != dtypes.bool_:
        raise TypeError(f"masked_fill: the mask must be a bool tensor, not {mask.dtype}; make one with a "
                        "comparison such as x > 0")
    if isinstance(value, Tensor) and value.ndim != 0:
        raise ValueError(f"masked_fill: value must be a Python number or a 0-d tensor, got shape {value.shape}; "
                         "for a tensor of values use ag.where(mask, values, x)")
    broadcast_shapes("masked_fill", mask.shape, x.shape)
    if isinstance(value, dtypes.NUMPY_SCALAR):
        value = value.item()
    if isinstance(value, Tensor):
        if value.dtype != x.dtype and dtypes.promote(value.dtype, x.dtype) != x.dtype:
            # a 0-d tensor of a dtype x's may not hold: its number is checked as a Python one's,
            # as PyTorch reads it (a device wait, only for these)
            dtypes.check_fill("masked_fill", value.item(), x.dtype)
    else:
        value = as_tensor(dtypes.check_fill("masked_fill", value, x.dtype), x)  # 300 in int8, NaN in int64: refused
    if value.dtype != x.dtype:
        value = astype(value, x.dtype)
    return where(mask, value, x)


class Clone(Function):
    """A copy in new memory that stays in the graph: what to change in place when the
    original is saved for backward."""

    @staticmethod
    def forward(ctx, x):
        return x._backend.xp.asarray(x.data, copy=True)

    @staticmethod
    def backward(ctx, gy):
        return gy


def clone(x):
    return Clone.apply(as_tensor(x))


class Overwrite(Function):
    """``new`` (broadcast) written over ``old``: what copy_ and fill_ record. The old
    values are gone, so ``old`` gets a zero gradient and ``new`` all of it."""

    @staticmethod
    def forward(ctx, old, new):
        xp = old._backend.xp
        return xp.asarray(xp.broadcast_to(new.data, old.data.shape), copy=True)

    @staticmethod
    def backward(ctx, gy):
        need_old, need_new = ctx.needs_input_grad
        return (gy * 0 if need_old else None), (gy if need_new else None)


def overwrite(old, new):
    if old._backend is not new._backend:
        raise ValueError(f"copy_: expected a tensor on {old.device}, got one on {new.device}")
    if new.dtype != old.dtype:
        new = astype(new, old.dtype)
    return Overwrite.apply(old, new)


class AsType(Function):
    @staticmethod
    def forward(ctx, x, dtype):
        ctx.source = x.dtype
        return x._backend.xp.astype(x.data, x._backend.native_dtype(dtype))

    @staticmethod
    def backward(ctx, gy):
        return astype(gy, ctx.source), None


def astype(x, dtype, copy=True):
    """Cast; gradients flow back in the source dtype. To the dtype ``x`` already has, a copy
    (as NumPy's and the Array API's astype), or ``x`` itself with ``copy=False``."""
    dtype = dtypes.canonical(dtype)
    if x.dtype == dtype:
        return clone(x) if copy else x
    if x._requires_grad and not dtypes.is_floating(dtype):
        return Tensor._make(x._backend.xp.astype(x.data, x._backend.native_dtype(dtype)), x._backend)
    return AsType.apply(x, dtype)


def in_float32(compute, *tensors):
    """``compute(*tensors)`` for float16 tensors, worked in float32 and rounded once to
    float16, as PyTorch computes float16: a step on the way (x * 6, a sum of squares, a
    count past 2048) can overflow or lose its bits where the result does not. The casts
    are ops, so gradients of every order come back in float16."""
    return astype(compute(*(astype(t, dtypes.float32) for t in tensors)), dtypes.float16)


def float16_beside_a_float(a, b):
    """Whether one of ``a`` and ``b`` is a Python float and the other a float16 tensor:
    where ``by_a_python_float`` applies."""
    return b.__class__ is float and is_float16(a) or a.__class__ is float and is_float16(b)


def is_float16(value):
    """Whether ``value`` is a float16 tensor. The array's dtype is looked at first, and most
    often it is NumPy's one float16 or float32 dtype object (on CuPy too), which settles it
    at once: a float32 tensor times a float pays little for the question."""
    if not isinstance(value, Tensor):
        return False
    native = value.data.dtype
    return native is _FLOAT16 or native is not _FLOAT32 and value.dtype == _FLOAT16


def by_a_python_float(apply, a, b):
    """``apply(a, b)`` for a float16 tensor and a Python float (``float16_beside_a_float``),
    worked in float32 and rounded once, as PyTorch holds the number in float32 for products
    and quotients. Rounded to float16 first (0.1 as 0.09998), the number put a quarter of the
    products x * 0.1 a unit off, made x * 70000 inf where x is 1e-3, and x // 0.1 a whole
    unit off. (For a number float16 holds, such as 0.5, the bits are the same either way:
    float32 carries the exact product or quotient of two float16s to one correct rounding.)"""
    if a.__class__ is float:
        return in_float32(lambda wide: apply(a, wide), b)
    return in_float32(lambda wide: apply(wide, b), a)


def in_dtype(reduce, op, x, dtype, *args):
    """``reduce(x, *args)`` worked and returned in ``dtype``, the ``dtype=`` of a reduction
    or scan in NumPy, the Array API and PyTorch: x is cast first (a float32 sum in float64
    adds in float64), and the result cast to it (an int8 sum in int8 wraps around, as
    theirs). The casts are ops, so the gradient comes back in x's dtype."""
    dtype = dtypes.canonical(dtype)
    if x._requires_grad and not dtypes.is_floating(dtype):
        raise TypeError(f"{op}: dtype={dtype} is not floating, so the result would have no gradient while x "
                        "requires one; pass a floating dtype, or x.detach()")
    result = reduce(x if x.dtype == dtype else astype(x, dtype), *args)
    return result if result.dtype == dtype else astype(result, dtype)


def rounded_once(compute, *tensors):
    """``compute(*tensors)``, through ``in_float32`` where they are float16, so that a
    differentiable formula of several steps (a second derivative's) rounds once, as its first
    derivative's fused kernel does; other dtypes compute as they are."""
    if all(t.dtype == dtypes.float16 for t in tensors):
        return in_float32(compute, *tensors)
    return compute(*tensors)


def through_float32(kernel, *tensors):
    """``kernel`` of float16 tensors' arrays worked in float32, an array rounded once to
    float16, as PyTorch's CPU kernels compute float16 (each float16 step rounds again):
    ``in_float32`` for the arrays inside a fused op."""
    xp, wide = tensors[0]._backend.xp, tensors[0]._backend.native_dtype(dtypes.float32)
    return xp.astype(kernel(*(xp.astype(t.data, wide) for t in tensors)), tensors[0].data.dtype)


def accumulate(kernel, x, scan=False, **options):
    """``kernel`` (the namespace's sum, prod or scan) of ``x``'s array, with ``options``.
    Integers and bools accumulate in int64, as in PyTorch (NumPy gives uint64 for unsigned
    ones, which wraps below zero); the standard sums no bools, so they count as int64.
    float16 accumulates in float32 and is rounded back once, as PyTorch's sums and scans
    do: a float16 running sum stops growing at 2048, where adding a number below 1 rounds
    to nothing. (PyTorch's CPU product of float16 alone stays in float16, so 300 * 300 / 300
    overflows there; here it is 300, as NumPy's.) A ``scan`` of float32 runs in float64 for
    the same reason, as PyTorch's CPU scans do: a running sum adds one number at a time (a
    sum adds pairwise), so a float32 one stops growing at 2**24, and its rounding errors
    build up along the line (a relative error of 3e-5 after a million uniform numbers)."""
    return _accumulate_array(kernel, x._backend, x.data, x.dtype, scan, **options)


def float_sum(backend, data, dtype, **options):
    """The sum (``options``: axis, keepdims) of a bare array of canonical ``dtype``, for
    the fused ops that work on arrays, by accumulate's rule: float16 adds up in float32
    and is rounded once (NumPy adds a float16 sum over a strided axis in float16, which
    stops growing at 2048 or 8192)."""
    return _accumulate_array(backend.xp.sum, backend, data, dtype, False, **options)


def float32_sum_dtype(backend, data, dtype, axis):
    """The wider native dtype in which the backend adds up a float32 array ``data`` over
    ``axis`` (None, an int or a tuple) for a pairwise sum's accuracy, or None (see
    Backend.float32_sum_dtype); None for other dtypes."""
    return backend.float32_sum_dtype(data, axis) if dtype == dtypes.float32 else None


def _float32_widening(kernel, backend, data, dtype, axis):
    """The wider native dtype a float32 sum or product of ``data`` runs in, or None (see
    Backend.float32_sum_dtype and Backend.float32_prod_dtype)."""
    if dtype != dtypes.float32:
        return None
    if kernel is backend.xp.sum:
        return backend.float32_sum_dtype(data, axis)
    return backend.float32_prod_dtype() if kernel is backend.xp.prod else None


def _accumulate_array(kernel, backend, data, dtype, scan, **options):
    """accumulate on a bare array ``data`` of canonical ``dtype``."""
    if not dtypes.is_floating(dtype):
        int64 = backend.native_dtype(dtypes.int64)
        data = backend.xp.astype(data, int64) if dtype == dtypes.bool_ else data
        return kernel(data, dtype=int64, **options)
    # a sum or product past the dtype's range is inf (or NaN where inf meets -inf or 0),
    # quietly, as PyTorch's, also where a wider one is rounded back (300 float16 values of
    # 1000); NumPy warned. Not by a with-statement: it costs 1 us, a small ag.sum 6.
    token = silence_floating_point_warnings()
    try:
        if dtype == dtypes.float16 or (scan and dtype == dtypes.float32):
            wider = backend.native_dtype(dtypes.float32 if dtype == dtypes.float16 else dtypes.float64)
        else:
            wider = _float32_widening(kernel, backend, data, dtype, options.get("axis"))
        if wider is None:
            return kernel(data, **options)
        return backend.xp.astype(kernel(data, dtype=wider, **options), data.dtype)  # rounded once
    finally:
        restore_floating_point_warnings(token)
