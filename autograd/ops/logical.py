"""Logical ops: logical_and, logical_or, logical_xor and logical_not, and the
Tensor's ``&``, ``|``, ``^`` and ``~``. All give tensors outside the graph.

The logical ops take any dtype, as NumPy's and PyTorch's: a nonzero number (NaN
included) is true, and the result is bool. The operators are NumPy's and PyTorch's
bitwise ones (the Array API's bitwise_and, bitwise_or, bitwise_xor, bitwise_invert):
logical on bools, bitwise on integers (a bool beside an integer counts as 0 or 1),
refused on floating tensors. The shifts (``<<`` and ``>>``, the standard's
bitwise_left_shift and bitwise_right_shift) take integers only, and counts >= 0."""
from backends import dtypes

from ..shapes import broadcast_shapes
from ..tensor import Tensor, on_one_device
from .elementwise import as_tensor, operands


def truth(x):
    """``x``'s truth values, as a bool array."""
    return x.data if x.dtype == dtypes.bool_ else x.data != 0


def _lifted(value, like):
    """``value`` beside the tensor ``like``, as a tensor; a number by its truth alone, which
    taking ``like``'s dtype could change (1e-50 becomes 0 in float16, 256 wraps to 0 in uint8)."""
    if isinstance(value, (int, float, dtypes.NUMPY_SCALAR)):
        value = bool(value)
    return as_tensor(value, like)


def _logical(name):
    def logical(a, b):
        # Scalars lifted, but no dtype promotion: a cast could change a truth value (a
        # 0-d float64 1e-50 beside a float32 tensor would become 0).
        if isinstance(a, Tensor):
            b = _lifted(b, a)
        elif isinstance(b, Tensor):
            a = _lifted(a, b)
        else:
            raise TypeError(f"{name}: expected at least one Tensor, got {type(a).__name__} and {type(b).__name__}")
        on_one_device(name, a, b)
        broadcast_shapes(name, a.shape, b.shape)
        return Tensor._make(getattr(a._backend.xp, name)(truth(a), truth(b)), a._backend)
    logical.__name__ = name
    logical.__doc__ = f"Elementwise {name} of the truth values of ``a`` and ``b``, as a bool tensor."
    return logical


logical_and = _logical("logical_and")
logical_or = _logical("logical_or")
logical_xor = _logical("logical_xor")


def logical_not(x):
    """Elementwise not of the truth values of ``x``, as a bool tensor."""
    x = as_tensor(x)
    return Tensor._make(x._backend.xp.logical_not(truth(x)), x._backend)


def _refuse_floating(name, symbol, logical, x):
    if dtypes.is_floating(x.dtype):
        raise TypeError(f"{name} ({symbol}): not defined for floating tensors ({x.dtype}); it is bitwise on "
                        f"integers and logical on bools (for the truth values of numbers use ag.{logical})")


def _bitwise(name, symbol, logical):
    def bitwise(a, b):
        a, b = operands(name, a, b)
        _refuse_floating(name, symbol, logical, a)
        xp = a._backend.xp
        if a.dtype == dtypes.bool_:  # (b's too, after promotion) the standard has no bitwise ops on bools
            return Tensor._make(getattr(xp, logical)(a.data, b.data), a._backend)
        return Tensor._make(getattr(xp, name)(a.data, b.data), a._backend)
    bitwise.__name__ = name
    bitwise.__doc__ = f"``a {symbol} b``: logical on bools, bitwise on integers."
    return bitwise


bitwise_and = _bitwise("bitwise_and", "&", "logical_and")
bitwise_or = _bitwise("bitwise_or", "|", "logical_or")
bitwise_xor = _bitwise("bitwise_xor", "^", "logical_xor")


def bitwise_invert(x):
    """``~x``: logical not on bools, bitwise not (two's complement) on integers."""
    x = as_tensor(x)
    _refuse_floating("bitwise_invert", "~", "logical_not", x)
    xp = x._backend.xp
    if x.dtype == dtypes.bool_:
        return Tensor._make(xp.logical_not(x.data), x._backend)
    return Tensor._make(xp.bitwise_invert(x.data), x._backend)


def _shift(name, symbol, kernel):
    def shift(x1, x2):
        x1, x2 = (v.item() if isinstance(v, dtypes.NUMPY_SCALAR) else v for v in (x1, x2))
        for operand in (x1, x2):  # checked before promotion, which would make a bool beside an int an int
            dtype = operand.dtype if isinstance(operand, Tensor) else dtypes.of_scalar(operand)
            if dtypes.category(dtype) != 1:
                raise TypeError(f"{name} ({symbol}): takes integers, not {dtype}; for a power of two "
                                "use multiplication or ag.exp2")
        if isinstance(x2, int) and x2 < 0:  # before operands wraps it into x1's dtype (-1 is uint8's 255)
            _negative_count(name, symbol)
        if isinstance(x2, int) and isinstance(x1, Tensor) and x2 > 0:
            # A count past the width (any such count gives the same result) is capped before
            # it takes x1's dtype, in which 300 would wrap to 44 in uint8
            x2 = min(x2, 8 * x1.dtype.itemsize)
        x1, x2 = operands(name, x1, x2)
        xp = x1._backend.xp
        if bool(xp.any(x2.data < 0)):
            _negative_count(name, symbol)
        return Tensor._make(kernel(xp, x1.data, x2.data, 8 * x1.dtype.itemsize), x1._backend)
    shift.__name__ = name
    shift.__doc__ = (f"``x1 {symbol} x2`` for integer tensors, counts >= 0: a count of the width or more "
                     "gives what NumPy and PyTorch give (0, or -1 for a negative number shifted right).")
    return shift


def _negative_count(name, symbol):
    raise ValueError(f"{name} ({symbol}): shift counts must be >= 0, as the Array API standard asks "
                     "(NumPy and PyTorch give 0 for a negative count); shift the other way instead")


# A count of the width or more is spelt out, not left to the kernel: C leaves such a
# shift undefined, and a device's kernel may take the count modulo the width.
def _within_width(xp, count, bits):
    return xp.minimum(count, xp.asarray(bits - 1, dtype=count.dtype))


def _left_shifted(xp, x, count, bits):
    return xp.where(count < bits, xp.bitwise_left_shift(x, _within_width(xp, count, bits)), xp.zeros_like(x))


def _right_shifted(xp, x, count, bits):
    # Past the width every bit is the sign's: -1 for a negative number, which its shift by
    # width - 1 already gives, else 0
    shifted = xp.bitwise_right_shift(x, _within_width(xp, count, bits))
    return xp.where((count < bits) | (x < 0), shifted, xp.zeros_like(x))


bitwise_left_shift = _shift("bitwise_left_shift", "<<", _left_shifted)
bitwise_right_shift = _shift("bitwise_right_shift", ">>", _right_shifted)
