"""What every loss checks and how it reduces: the reduction argument (with
PyTorch's deprecated ``size_average``/``reduce`` flags), the reduction itself, an
input and target of one shape, and weights in the input's dtype. Shared by the
losses in ``loss``, ``margin_loss`` and ``ctc_loss`` and by the loss modules."""
from autograd.ops.reduction import mean as _mean, sum as _sum
from backends import dtypes

from .arguments import floating, require_tensor


_REDUCTIONS = ("mean", "sum", "none")


def resolve_reduction(op, size_average, reduce, reduction):
    """PyTorch's deprecated size_average/reduce flags, when given, decide the reduction."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', not {reduction!r}")
    return reduction


def reduce_loss(loss, reduction):
    """The per-element loss averaged, summed, or as it is for 'none'."""
    if reduction == "mean":
        return _mean(loss)
    if reduction == "sum":
        return _sum(loss)
    return loss


def same_shapes(op, input, target, promote=False):
    """Input and target of one shape, the target in the input's dtype; with ``promote``
    both in their common dtype instead, as PyTorch's mse and l1 compute (a float64 target
    gives a float64 loss, not one of the target rounded to the input's float32)."""
    floating(op, input)
    target = require_tensor(op, target, "target", like=input)
    if input.shape != target.shape:
        raise ValueError(f"{op}: the input has shape {input.shape} but the target has shape {target.shape}; "
                         "they must match (reshape one, e.g. target.reshape(input.shape))")
    if promote:
        return promoted(input, target)
    if target.dtype != input.dtype:
        target = target.astype(input.dtype)
    return input, target


def promoted(input, target):
    """Input and target in their common dtype, by PyTorch's promotion rules."""
    common = dtypes.promote(input.dtype, target.dtype, input.ndim == 0, target.ndim == 0)
    return (input if input.dtype == common else input.astype(common),
            target if target.dtype == common else target.astype(common))


def elementwise_weight(op, weight, name, input):
    """A weight that broadcasts to the input's shape (never past it, which would
    change the loss's shape), in the input's dtype."""
    weight = weight_like(op, weight, name, input)
    shape, target = weight.shape, input.shape
    if len(shape) > len(target) or any(w not in (1, t) for w, t in zip(shape[::-1], target[::-1])):
        raise ValueError(f"{op}: {name} of shape {shape} does not broadcast to the input's shape {target}; "
                         "give it the input's shape or one that broadcasts to it")
    return weight


def weight_like(op, weight, name, input):
    """A loss weight in the input's dtype, as PyTorch computes (a float64 weight
    does not turn a float32 loss into float64)."""
    require_tensor(op, weight, name, like=input)
    return weight if weight.dtype == input.dtype else weight.astype(input.dtype)
