"""PyTorch's pointwise combinations of three tensors, which optimizers and moving
averages are written with: ``lerp`` (``ema.lerp_(param, 1 - decay)``), ``addcmul``
and ``addcdiv`` (``exp_avg_sq.addcmul_(grad, grad, value=1 - beta2)``). NumPy has
none of them. Each is a composition of existing ops, so its gradient is theirs and
differentiates again; float16 is worked in float32 and rounded once, as PyTorch's
kernels do. The in-place forms are Tensor methods (``lerp_``...)."""
import numbers

from backends import dtypes

from ..dtype_functions import result_type
from ..shapes import broadcast_shapes
from ..tensor import Tensor
from .comparison import less
from .elementwise import abs as absolute
from .elementwise import add, astype, div, in_float32, mul, operands, sub, where


def _floating_pair(op, start, end):
    start, end = operands(op, start, end)
    if not dtypes.is_floating(start.dtype):
        raise TypeError(f"{op}: takes floating tensors, not {start.dtype} (as PyTorch's); cast them first, "
                        "as in start.astype(ag.float32)")
    return start, end


def lerp(start, end, weight):
    """``start + weight * (end - start)``, as PyTorch's lerp: for a weight of 0.5 or more
    it is computed as ``end - (end - start) * (1 - weight)``, so a weight of 1 gives
    ``end`` exactly. ``weight`` is a number or a tensor, which takes the result's dtype
    (PyTorch's does not promote for it). Differentiable in all three."""
    start, end = _floating_pair("lerp", start, end)
    if isinstance(weight, Tensor):
        broadcast_shapes("lerp", start.shape, end.shape, weight.shape)
        if weight.dtype != start.dtype:
            weight = astype(weight, start.dtype)
    elif not isinstance(weight, numbers.Real):
        raise TypeError(f"lerp: weight must be a number or a Tensor, not {type(weight).__name__}")
    if start.dtype == dtypes.float16:  # (a number weight stays a number: float16 would round it)
        if isinstance(weight, Tensor):
            return in_float32(_lerp, start, end, weight)
        return in_float32(lambda s, e: _lerp(s, e, weight), start, end)
    return _lerp(start, end, weight)


def _lerp(start, end, weight):
    step = sub(end, start)
    if not isinstance(weight, Tensor):  # one branch, picked here
        return add(start, mul(step, weight)) if abs(weight) < 0.5 else sub(end, mul(step, 1 - weight))
    return where(less(absolute(weight), 0.5), add(start, mul(step, weight)), sub(end, mul(step, sub(1, weight))))


def _tensors_and_dtype(op, x, tensor1, tensor2, value):
    """The three tensors (refused where not tensors, as PyTorch's), their common dtype,
    checked against ``value``, and whether they broadcast together."""
    for name, t in (("input", x), ("tensor1", tensor1), ("tensor2", tensor2)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, not {type(t).__name__} (as PyTorch's)")
    broadcast_shapes(op, x.shape, tensor1.shape, tensor2.shape)
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: value must be a real number, not {type(value).__name__}")
    dtype = result_type(x, tensor1, tensor2)
    if not dtypes.is_floating(dtype) and not isinstance(value, numbers.Integral):
        # PyTorch's truncates it: value=0.5 adds nothing to integer tensors
        raise TypeError(f"{op}: value={value} is not an integer, but the tensors are {dtype}; cast them to a "
                        "floating dtype first, or pass an integer value")
    return dtype


def addcmul(x, tensor1, tensor2, value=1):
    """``x + value * tensor1 * tensor2``, as PyTorch's addcmul: the three broadcast
    together and promote to one dtype. Differentiable in the three tensors."""
    if _tensors_and_dtype("addcmul", x, tensor1, tensor2, value) == dtypes.float16:
        return in_float32(lambda a, b, c: add(a, mul(mul(b, c), value)), x, tensor1, tensor2)
    product = mul(tensor1, tensor2)
    return add(x, product if value == 1 else mul(product, value))


def addcdiv(x, tensor1, tensor2, value=1):
    """``x + value * tensor1 / tensor2``, as PyTorch's addcdiv (true division). As there,
    integer tensor1 and tensor2 are refused. Differentiable in the three tensors."""
    dtype = _tensors_and_dtype("addcdiv", x, tensor1, tensor2, value)
    if not dtypes.is_floating(tensor1.dtype) and not dtypes.is_floating(tensor2.dtype):
        raise TypeError(f"addcdiv: tensor1 and tensor2 are {tensor1.dtype} and {tensor2.dtype}; PyTorch's refuses "
                        "integer division here: cast one to a floating dtype first")
    if dtype == dtypes.float16:
        return in_float32(lambda a, b, c: add(a, mul(div(b, c), value)), x, tensor1, tensor2)
    quotient = div(tensor1, tensor2)
    return add(x, quotient if value == 1 else mul(quotient, value))
