"""Losses with PyTorch's names, arguments and reductions (the deprecated
``size_average``/``reduce`` flags included): classification (cross-entropy, nll,
binary cross-entropy), regression (mse, l1, huber, smooth l1) and likelihoods and
divergences (kl_div, poisson_nll_loss, gaussian_nll_loss); the margin and ranking
losses are in ``margin_loss``. Cross-entropy from logits, binary cross-entropy,
the Huber and smooth l1 kernels and the softplus of binary cross-entropy with logits
are fused, stable primitives (``nn_fused``); the rest are compositions of Tensor ops.
Targets, weights and reductions are checked in ``loss_arguments``, the same way for
every loss."""
import math
import warnings

from autograd import Tensor
from autograd.autocast_mode import autocast_op
from autograd.grad_mode import is_grad_enabled
from autograd.ops import nn_fused
from autograd.ops.elementwise import constant, exp, log, where
from autograd.ops.reduction import divide_by_count, sum as _sum
from autograd.ops.shape import expand_dims, reshape, transpose
from autograd.user_code import user_stacklevel
from autograd.shapes import broadcast_shapes
from backends import dtypes

from .arguments import floating, integer, kind, real, real_number, require_tensor, rounded, widened
from .clamping import clamped_values
from .loss_arguments import elementwise_weight, reduce_loss, resolve_reduction, same_shapes, weight_like


def _class_count(input):
    """The number of classes of an input (C,) or (N, C, d1, ...); 0 for a 0-d input, which
    _class_targets refuses."""
    return input.shape[0] if input.ndim == 1 else input.shape[1] if input.ndim >= 2 else 0


def _class_weight(op, weight, input, c, differentiable=False):
    """The (C,) class weight in the input's dtype: detached for the fused class-index kernels,
    which read its values only; ``differentiable`` for probability targets, whose composed
    loss differentiates it, as PyTorch's does."""
    if weight is None:
        return None
    weight = weight_like(op, weight, "weight", input)
    if weight.shape != (c,):
        raise ValueError(f"{op}: weight must have one value per class, shape ({c},), got {weight.shape}")
    if differentiable:
        return weight
    if weight.requires_grad and is_grad_enabled():  # as PyTorch: refused, not silently left without a .grad
        raise RuntimeError(f"{op}: the class weight requires grad, but the loss of class-index targets is not "
                           "differentiable in it (as in PyTorch); pass weight.detach(), or class probabilities "
                           "as the target")
    return weight.detach()


def _class_targets(op, input, target, ignore_index):
    """Class-index targets checked against input (N, C, d1, ...) or (C,): returns the
    input as (M, C), the targets as (M,), the shape of a per-element loss, and
    whether no target equals ignore_index."""
    target = _integer_targets(op, target)
    shape, t = input.data.shape, target.data
    if len(shape) == 1:
        expected = ()
    elif len(shape) >= 2:
        expected = shape[:1] + shape[2:]
    else:
        raise ValueError(f"{op}: expected an input of shape (C,), (N, C) or (N, C, d1, ...), got {input.shape}")
    if t.shape != expected:
        # Integer one-hot rows have the input's shape: name the conversion to class indices
        one_hot = f"; for one-hot targets pass target.argmax(axis={min(len(shape) - 1, 1)})" if t.shape == shape else ""
        raise ValueError(f"{op}: the input of shape {input.shape} needs a target of shape {expected}, "
                         f"got {target.shape}{one_hot}")
    c = _class_count(input)
    all_valid = _targets_in_bounds(op, target, c, ignore_index)
    if len(shape) == 2:
        return input, target, expected, all_valid
    if len(shape) == 1:
        return reshape(input, (1, c)), reshape(target, (1,)), expected, all_valid
    if len(shape) > 2:  # (N, C, d1, ...) -> (N*d1*..., C): classes on the last axis
        input = transpose(input, (0,) + tuple(range(2, input.ndim)) + (1,))
    return reshape(input, (t.size, c)), reshape(target, (t.size,)), expected, all_valid  # (not -1: C may be 0)


def _integer_targets(op, target):
    """Class-index targets as int64, refusing float ones with the fix."""
    if kind(target) not in "iu":
        # Only cross_entropy also takes class probabilities; nll_loss would refuse the float target it suggests
        probabilities = "pass a float target of the input's shape" if op == "cross_entropy" else \
            "use cross_entropy on the logits, which takes them as a float target of the input's shape"
        raise TypeError(f"{op}: class-index targets must be integers, not {target.dtype}; convert them with "
                        f"target.astype(ag.int64) (for class probabilities {probabilities})")
    if target.dtype != dtypes.int64:  # so ignore_index compares with any target (-100 is no uint8)
        target = target.astype(dtypes.int64)
    return target


def _targets_in_bounds(op, target, c, ignore_index):
    """Refuse a target outside [0, c) that is not ignore_index; returns whether no
    target equals ignore_index. Targets in [0, c) with ignore_index outside it, the
    usual case, take one read from the device (on a GPU, each read waits for the work
    queued before it); targets that hold ignore_index take a second."""
    t = target.data
    backend = target._backend
    xp = backend.xp
    if 0 in t.shape:
        return True
    low, high = backend.read_ints(xp.min(t), xp.max(t))
    if low < 0 or high >= c:
        bad = ((t < 0) | (t >= c)) & (t != ignore_index)
        if bool(xp.any(bad)):
            value = int(xp.max(xp.where(bad, t, low)))
            if c == 0:
                raise ValueError(f"{op}: target {value} is out of bounds: the input has 0 classes, so every "
                                 f"target must equal ignore_index={ignore_index}")
            raise ValueError(f"{op}: target {value} is out of bounds for {c} classes; targets must lie in "
                             f"[0, {c - 1}] (or equal ignore_index={ignore_index})")
        return False
    if low <= ignore_index <= high:
        return not bool(xp.any(t == ignore_index))
    return True


@autocast_op("cross_entropy")
def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross-entropy of logits against class indices (one fused, stable op) or, with
    a float target of the input's shape, against class probabilities. ``weight``,
    ``ignore_index``, ``label_smoothing`` and the weighted mean follow PyTorch."""
    op = "cross_entropy"
    floating(op, input)
    require_tensor(op, target, "target", like=input)
    ignore_index = integer(op, "ignore_index", ignore_index)
    reduction = resolve_reduction(op, size_average, reduce, reduction)
    if not real(label_smoothing) or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must lie in [0, 1], got {label_smoothing!r}")
    c = _class_count(input)
    probabilities = kind(target) == "f"
    weight = _class_weight(op, weight, input, c, differentiable=probabilities)
    if probabilities:
        if ignore_index >= 0:  # a class index, which probability targets have no use for
            raise ValueError(f"{op}: ignore_index={ignore_index} applies to class-index targets, not to "
                             "class probabilities (a float target); leave ignore_index at its default")
        return _soft_cross_entropy(op, input, target, weight, reduction, label_smoothing)
    logits, targets, shape, all_valid = _class_targets(op, input, target, ignore_index)
    if c == 0:
        return _loss_of_no_classes(logits, shape, label_smoothing, reduction)
    loss = nn_fused.cross_entropy(logits, targets, weight, ignore_index, float(label_smoothing), reduction,
                                  all_valid)
    return reshape(loss, shape) if reduction == "none" else loss


def _loss_of_no_classes(logits, shape, smoothing, reduction):
    """Class-index cross-entropy or nll_loss of an input with 0 classes, whose targets all equal
    ignore_index (_class_targets refuses others), as PyTorch's: each element's loss is 0, or NaN
    with label smoothing (its share smoothing / C of each class is inf, of no class); 'sum' is
    their sum, NaN with label smoothing even over no elements; 'mean' is NaN (no target counted,
    and PyTorch divides by 0). Made from the (M, 0) input, to which its (empty) gradient flows."""
    loss = reshape(_sum(logits, 1), shape)  # zeros, connected to the input
    if smoothing:
        loss = loss + math.nan
    if reduction == "none":
        return loss
    total = _sum(loss)
    return total + math.nan if reduction == "mean" or smoothing else total


def _soft_cross_entropy(op, input, target, weight, reduction, smoothing):
    if target.shape != input.shape:
        if input.ndim >= 1 and target.shape == input.shape[:1] * (input.ndim > 1) + input.shape[2:]:
            # The shape of class indices: labels stored as floats (e.g. read from a CSV), not probabilities
            raise TypeError(f"{op}: class-index targets must be integers, not {target.dtype}; convert them "
                            f"with target.astype(ag.int64) (a float target holds class probabilities and "
                            f"needs the input's shape {input.shape})")
        raise ValueError(f"{op}: probability targets must have the input's shape {input.shape}, "
                         f"got {target.shape}")
    axis = 0 if input.ndim == 1 else 1
    c = input.shape[axis]
    # In the common dtype (logp meets it below), as PyTorch: a float64 target gives a float64 loss
    target = target.astype(dtypes.promote(input.dtype, target.dtype), copy=False)
    if smoothing and c:  # (with 0 classes, there is nothing to smooth)
        target = target * (1 - smoothing) + smoothing / c
    logp = nn_fused.log_softmax(input, axis)
    if weight is not None:
        logp = logp * reshape(weight, (c,) + (1,) * (input.ndim - axis - 1))
    loss = -_sum(logp * target, axis)
    return reduce_loss(loss, reduction)


@autocast_op("nll_loss")
def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """The negative log-likelihood of log-probabilities at class indices; 'mean' is
    the weighted mean over targets that are not ``ignore_index``, as PyTorch's."""
    op = "nll_loss"
    floating(op, input)
    require_tensor(op, target, "target", like=input)
    ignore_index = integer(op, "ignore_index", ignore_index)
    reduction = resolve_reduction(op, size_average, reduce, reduction)
    c = _class_count(input)
    weight = _class_weight(op, weight, input, c)
    logp, targets, shape, all_valid = _class_targets(op, input, target, ignore_index)
    if c == 0:
        return _loss_of_no_classes(logp, shape, 0.0, reduction)
    xp = input._backend.xp
    t = targets.data
    valid = t != ignore_index
    safe = t * xp.astype(valid, t.dtype)
    rows = xp.arange(t.shape[0])
    picked = logp[constant(rows, input), constant(safe, input)]
    if not all_valid:  # an ignored row's pick may be -inf (a masked class), which its 0 weight would make NaN
        picked = where(constant(valid, input), picked, 0)
    row_weight = xp.astype(valid, logp.data.dtype)
    if weight is not None:
        row_weight = xp.take(weight.data, safe) * row_weight
    loss = -picked * constant(row_weight, input)
    if reduction == "mean":
        total = xp.sum(row_weight)
        if bool(total != 0):  # (a negative total of weights divides, as PyTorch's)
            return _sum(loss) / constant(total, input)
        # Nothing counted (an empty batch, every target ignored or weighing 0): NaN, as
        # in PyTorch, with its gradients: 0 on ignored rows (not 0/0), NaN on counted ones.
        return _sum(-picked * constant(xp.where(valid, row_weight * math.nan, 0), input)) + math.nan
    if reduction == "sum":
        return _sum(loss)
    return reshape(loss, shape)


def _elementwise_loss(op, loss, weight, reduction, weighted_mean):
    """Apply PyTorch's optional same-shape ``weight``; a weighted 'mean' divides by
    the weights' sum (mse, l1) or by the element count (huber), as PyTorch does."""
    if weight is None:
        return reduce_loss(loss, reduction)
    weight = weight_like(op, weight, "weight", loss)
    if weight.shape != loss.shape:
        raise ValueError(f"{op}: weight must have the input's shape {loss.shape}, got {weight.shape}")
    loss = loss * weight
    if reduction == "mean" and weighted_mean:
        return _sum(loss) / _sum(weight)
    return reduce_loss(loss, reduction)


@autocast_op("mse_loss")
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    reduction = resolve_reduction("mse_loss", size_average, reduce, reduction)
    input, target = same_shapes("mse_loss", input, target, promote=True)
    dtype = input.dtype
    diff = widened(input) - widened(target)
    return rounded(_elementwise_loss("mse_loss", diff * diff, weight, reduction, True), dtype)


@autocast_op("l1_loss")
def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    reduction = resolve_reduction("l1_loss", size_average, reduce, reduction)
    input, target = same_shapes("l1_loss", input, target, promote=True)
    return _elementwise_loss("l1_loss", abs(input - target), weight, reduction, True)


@autocast_op("huber_loss")
def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), d = input - target."""
    reduction = resolve_reduction("huber_loss", None, None, reduction)
    delta = real_number("huber_loss", "delta", delta)
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta!r}")
    input, target = same_shapes("huber_loss", input, target)
    return _elementwise_loss("huber_loss", nn_fused.huber(input - target, delta), weight, reduction, False)


@autocast_op("smooth_l1_loss")
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta, d = input - target (huber's
    loss over beta); beta = 0 is the l1 loss, as in PyTorch. At |d| = beta the linear
    branch is taken, so the second derivative there is 0, as PyTorch's."""
    op = "smooth_l1_loss"
    reduction = resolve_reduction(op, size_average, reduce, reduction)
    beta = real_number(op, "beta", beta, at_least=0)
    input, target = same_shapes(op, input, target, promote=True)
    diff = input - target
    if beta == 0:
        return reduce_loss(abs(diff), reduction)
    return reduce_loss(nn_fused.huber(diff, beta, beta), reduction)


_KL_REDUCTIONS = ("mean", "batchmean", "sum", "none")


def resolve_kl_reduction(op, size_average, reduce, reduction):
    """``resolve_reduction`` with kl_div's 'batchmean' (the sum over the batch size) as well."""
    if reduction not in _KL_REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'batchmean', 'mean', 'sum' or 'none', not {reduction!r}")
    if size_average is not None or reduce is not None:  # the legacy flags decide, as everywhere
        return resolve_reduction(op, size_average, reduce, "mean")
    return reduction


@autocast_op("kl_div")
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """The pointwise KL divergence target (log target - input) of log-probabilities
    ``input`` from ``target`` (probabilities, or log-probabilities with ``log_target``).
    target log target is taken as 0 where target is 0 (PyTorch's xlogy), where the
    target's gradient is NaN, as PyTorch's. 'batchmean' divides the sum by the batch
    size (the KL divergence's definition); 'mean' divides by the element count and
    warns, as PyTorch does."""
    op = "kl_div"
    batchmean = reduction == "batchmean"  # divides even a legacy flag's reduction, as PyTorch's
    legacy = size_average is not None or reduce is not None
    reduction = resolve_kl_reduction(op, size_average, reduce, reduction)
    floating(op, target, "target")
    input, target = same_shapes(op, input, target, promote=True)
    if reduction == "mean" and not legacy:
        warnings.warn("kl_div: reduction='mean' divides the total loss by both the batch size and the support "
                      "size; 'batchmean' divides only by the batch size, and aligns with the KL divergence's "
                      "math definition", UserWarning, stacklevel=user_stacklevel())
    if log_target:
        loss = exp(target) * (target - input)
    else:
        loss = _xlogx(target) - target * input
    loss = _sum(loss) if reduction == "batchmean" else reduce_loss(loss, reduction)
    if not (batchmean and input.ndim):
        return loss
    # An empty batch gives NaN, quietly as an empty mean does (0 / 0 would warn)
    return divide_by_count(loss, input.shape[0]) if input.shape[0] else loss * math.nan


def _xlogx(t):
    """t log t, 0 where t is 0. Its gradient there is NaN, as PyTorch's xlogy(t, t)
    (log t + t / t): the log is taken of t with its zeros replaced by NaN, which the
    outer where hides from the value but the product's gradient carries (both without
    a floating-point warning, as NaN operands raise none). Only a t that requires grad
    needs that NaN: elsewhere a 1 stands in, so detect_anomaly sees no NaN in forward."""
    zero = t == 0
    return where(zero, 0, t * log(where(zero, math.nan if t.requires_grad else 1.0, t)))


@autocast_op("poisson_nll_loss")
def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    """The Poisson negative log-likelihood of ``target`` for the rate exp(input)
    (``log_input``) or input, less log(target!); with ``full`` it adds Stirling's
    approximation of log(target!) where target > 1, as PyTorch. The masked term adds
    nothing to the target's gradient where target <= 1 (PyTorch's is NaN at 0,
    from 0 * log 0 in its masked term: not copied)."""
    op = "poisson_nll_loss"
    reduction = resolve_reduction(op, size_average, reduce, reduction)
    eps = real_number(op, "eps", eps)
    input, target = same_shapes(op, input, target, promote=True)
    if log_input:
        loss = exp(input) - target * input
    else:
        loss = input - target * log(input + eps)
    if full:
        counted = target > 1
        t = where(counted, target, 2)  # a stand-in where the term is masked, so nothing there is NaN
        stirling = t * log(t) - t + log(t * (2 * math.pi)) * 0.5
        loss = loss + where(counted, stirling, 0)
    return reduce_loss(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """The Gaussian negative log-likelihood 0.5 (log var + (input - target)^2 / var) of
    ``target`` under mean ``input`` and variance ``var``, with PyTorch's shapes: ``var``
    has the input's shape, or one value per row (the input's shape less its last
    axis, or with a 1 there; homoscedastic), or is one non-negative number. ``var`` is
    raised to ``eps`` in value only, so its gradient is that of var itself, as
    PyTorch's (which clamps a clone under no_grad)."""
    op = "gaussian_nll_loss"
    floating(op, input)
    target = require_tensor(op, target, "target", like=input)
    if broadcast_shapes(op, input.shape, target.shape) != input.shape:
        raise ValueError(f"{op}: the input has shape {input.shape} but the target has shape {target.shape}; "
                         "the target must have the input's shape or broadcast to it (a 1 in one axis)")
    if isinstance(var, Tensor):
        if var.size and bool(var._backend.xp.any(var.data < 0)):
            raise ValueError(f"{op}: var has negative entries; variances must be at least 0")
        var = _variance_shaped(op, input, var)
    elif real(var) and not isinstance(var, bool):
        if not var >= 0:
            raise ValueError(f"{op}: var must be at least 0, got {var!r}")
        var = constant(input._backend.xp.full(input.data.shape, float(var), dtype=input.data.dtype), input)
    else:
        raise TypeError(f"{op}: var must be a Tensor or a number, not {type(var).__name__}")
    reduction = resolve_reduction(op, None, None, reduction)
    eps = real_number(op, "eps", eps)
    var = clamped_values(var, eps)
    diff = input - target
    loss = (log(var) + diff * diff / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce_loss(loss, reduction)


def _variance_shaped(op, input, var):
    """``var`` shaped to broadcast against the input, by PyTorch's rules."""
    if var.shape == input.shape:
        return var
    if var.shape == input.shape[:-1]:  # one variance per row: a trailing axis of 1
        return expand_dims(var, -1)
    if var.ndim == input.ndim and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1:
        return var  # a 1 in the one axis where the shapes differ
    raise ValueError(f"{op}: var of shape {var.shape} does not fit the input of shape {input.shape}; give var "
                     f"the input's shape, the input's shape less its last axis, or the input's shape with a 1 "
                     "in one axis")


@autocast_op("binary_cross_entropy")
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """-w (t log p + (1 - t) log(1 - p)) for probabilities p, logs clamped to >= -100
    as PyTorch's (so p = 0 or 1 gives a finite loss)."""
    op = "binary_cross_entropy"
    reduction = resolve_reduction(op, size_average, reduce, reduction)
    input, target = same_shapes(op, input, target)
    xp = input._backend.xp
    if input.size and bool(xp.any((input.data < 0) | (input.data > 1))):
        raise ValueError(f"{op}: all elements of the input must be probabilities in [0, 1]; for logits "
                         "use binary_cross_entropy_with_logits")
    if target.size and bool(xp.any((target.data < 0) | (target.data > 1))):
        raise ValueError(f"{op}: all elements of the target must lie in [0, 1] (0 or 1 for hard labels); "
                         "for class indices use cross_entropy")
    dtype, input, target = input.dtype, widened(input), widened(target)
    loss = nn_fused.binary_cross_entropy(input, target)
    if weight is not None:
        loss = loss * elementwise_weight(op, weight, "weight", input)
    return rounded(reduce_loss(loss, reduction), dtype)


@autocast_op("binary_cross_entropy_with_logits")
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Binary cross-entropy of sigmoid(input), computed from the logits without
    overflow: (1 - t) x + (1 + (pos_weight - 1) t) softplus(-x)."""
    op = "binary_cross_entropy_with_logits"
    reduction = resolve_reduction(op, size_average, reduce, reduction)
    input, target = same_shapes(op, input, target, promote=True)  # a float64 target: a float64 loss
    dtype, input, target = input.dtype, widened(input), widened(target)
    log_weight = 1
    if pos_weight is not None:
        log_weight = (elementwise_weight(op, pos_weight, "pos_weight", input) - 1) * target + 1
    loss = (1 - target) * input + nn_fused.softplus(-input) * log_weight
    if weight is not None:
        loss = loss * elementwise_weight(op, weight, "weight", input)
    return rounded(reduce_loss(loss, reduction), dtype)
