"""Margin and ranking losses with PyTorch's names, arguments and reductions:
margin_ranking_loss, hinge_embedding_loss, soft_margin_loss, cosine_embedding_loss,
triplet_margin_loss, triplet_margin_with_distance_loss, multilabel_soft_margin_loss,
multi_margin_loss and multilabel_margin_loss.
Compositions of Tensor ops, with no gradient code. Each hinge max(z, 0) is taken
as PyTorch takes it, so the gradient at the kink z = 0 is PyTorch's: clip(z, min=0)
passes it where PyTorch's clamp_min does (the pairwise losses), relu stops it where
PyTorch's kernel tests z > 0 (multi_margin_loss, multilabel_margin_loss). The logistic losses go through
the overflow-free softplus."""
from autograd.autocast_mode import autocast_op
from autograd.ops import nn_fused
from autograd.ops.elementwise import clip, constant, minimum, relu, sqrt, where
from autograd.ops.reduction import mean as _mean, sum as _sum
from autograd.ops.shape import reshape
from autograd.shapes import broadcast_shapes
from backends import dtypes

from .arguments import floating, kind, real_number, require_tensor
from .distance import norm_order, pairwise_distance
from .loss_arguments import reduce_loss, resolve_reduction, same_shapes, weight_like


def _where_target(target, value, like):
    """A constant mask of where ``target`` equals ``value``, on ``like``'s backend."""
    return constant(target.data == value, like)


@autocast_op("margin_ranking_loss")
def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """max(0, -target (input1 - input2) + margin): ``target`` 1 ranks input1 higher,
    -1 input2. The three must have one number of dimensions and broadcast, as in PyTorch."""
    op = "margin_ranking_loss"
    reduction = resolve_reduction(op, size_average, reduce, reduction)
    margin = real_number(op, "margin", margin)
    floating(op, input1, "input1")
    floating(op, input2, "input2")
    require_tensor(op, target, "target", like=input1)
    if not input1.ndim == input2.ndim == target.ndim:
        raise ValueError(f"{op}: input1, input2 and target must have the same number of dimensions, got shapes "
                         f"{input1.shape}, {input2.shape} and {target.shape}")
    broadcast_shapes(op, input1.shape, input2.shape, target.shape)
    return reduce_loss(clip(-target * (input1 - input2) + margin, min=0.0), reduction)


@autocast_op("hinge_embedding_loss")
def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    """``input`` where target is 1, max(0, margin - input) where it is -1 (both, added,
    for any other target value, as PyTorch computes it)."""
    op = "hinge_embedding_loss"
    reduction = resolve_reduction(op, size_average, reduce, reduction)
    margin = real_number(op, "margin", margin)
    floating(op, input)
    _matching_target(op, input, target)
    hinge = where(_where_target(target, 1, input), 0, clip(margin - input, min=0.0))
    return reduce_loss(hinge + where(_where_target(target, -1, input), 0, input), reduction)


def _matching_target(op, input, target):
    require_tensor(op, target, "target", like=input)
    if input.shape != target.shape:
        raise ValueError(f"{op}: the input has shape {input.shape} but the target has shape {target.shape}; "
                         "they must match (reshape one, e.g. target.reshape(input.shape))")
    return target


@autocast_op("soft_margin_loss")
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + exp(-target input)), the logistic loss of labels -1 and 1, through
    softplus, which never overflows (PyTorch's is inf past exp's range)."""
    op = "soft_margin_loss"
    reduction = resolve_reduction(op, size_average, reduce, reduction)
    input, target = same_shapes(op, input, target)  # the input's dtype, as PyTorch computes in place
    return reduce_loss(nn_fused.softplus(-input * target), reduction)


_EPSILON = 1e-12  # PyTorch's, added to each squared magnitude


@autocast_op("cosine_embedding_loss")
def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """1 - cos(input1, input2) where target is 1, max(0, cos - margin) where it is -1
    (0 elsewhere), the cosine along the last axis of (N, D) inputs with an (N,)
    target, or of (D,) inputs with a 0-d target; computed as PyTorch's, with 1e-12
    added to each squared magnitude."""
    op = "cosine_embedding_loss"
    reduction = resolve_reduction(op, size_average, reduce, reduction)
    margin = real_number(op, "margin", margin)
    floating(op, input1, "input1")
    floating(op, input2, "input2")
    require_tensor(op, target, "target", like=input1)
    if target.ndim > 1:
        raise ValueError(f"{op}: expected a 0-d or 1-D target (one label per pair), got shape {target.shape}")
    if input1.ndim != target.ndim + 1 or input2.ndim != target.ndim + 1:
        expected = "(N, D) inputs with an (N,) target" if target.ndim else "(D,) inputs with a 0-d target"
        raise ValueError(f"{op}: expected {expected}, got inputs of shapes {input1.shape} and {input2.shape} and "
                         f"a target of shape {target.shape}")
    shape = broadcast_shapes(op, input1.shape, input2.shape)
    broadcast_shapes(op, shape[:-1], target.shape)
    axis = target.ndim
    magnitudes = _sum(input1 * input1, axis) + _EPSILON
    magnitudes = magnitudes * (_sum(input2 * input2, axis) + _EPSILON)
    cos = _sum(input1 * input2, axis) / sqrt(magnitudes)
    similar = where(_where_target(target, 1, cos), 1 - cos, 0)
    return reduce_loss(similar + where(_where_target(target, -1, cos), clip(cos - margin, min=0.0), 0), reduction)


@autocast_op("triplet_margin_loss")
def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    """max(0, margin + d(anchor, positive) - d(anchor, negative)), d the p-norm
    ``pairwise_distance`` along the last axis; with ``swap``, d(anchor, negative) is
    the smaller of it and d(positive, negative) (Balntas et al. 2016)."""
    op = "triplet_margin_loss"
    reduction = resolve_reduction(op, size_average, reduce, reduction)
    margin = real_number(op, "margin", margin)
    if not margin > 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    p = norm_order(op, p)
    for name, x in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        floating(op, x, name)
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise ValueError(f"{op}: anchor, positive and negative must have the same number of dimensions, got "
                         f"shapes {anchor.shape}, {positive.shape} and {negative.shape}")
    closer = pairwise_distance(anchor, positive, p, eps)
    farther = pairwise_distance(anchor, negative, p, eps)
    if swap:
        farther = minimum(farther, pairwise_distance(positive, negative, p, eps))
    return reduce_loss(clip(closer - farther + margin, min=0.0), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """The mean over the classes (the last axis) of the binary logistic loss of
    each label, target log sigmoid(x) + (1 - target) log sigmoid(-x) negated, each
    weighted by ``weight`` (broadcast along the classes); one loss per sample."""
    op = "multilabel_soft_margin_loss"
    reduction = resolve_reduction(op, size_average, reduce, reduction)
    floating(op, input)
    if input.ndim == 0:
        raise ValueError(f"{op}: expected an input of shape (C,) or (N, C), got a 0-d input")
    input, target = same_shapes(op, input, target, promote=True)
    loss = target * nn_fused.softplus(-input) + (1 - target) * nn_fused.softplus(input)
    if weight is not None:
        require_tensor(op, weight, "weight")
        shape, target_shape = weight.shape, loss.shape
        if len(shape) > len(target_shape) or any(w not in (1, t) for w, t in zip(shape[::-1], target_shape[::-1])):
            raise ValueError(f"{op}: weight of shape {weight.shape} does not broadcast to the input's shape "
                             f"{loss.shape}; give one weight per class, shape ({input.shape[-1]},)")
        loss = loss * weight  # in the common dtype, as PyTorch's (a float64 weight gives a float64 loss)
    return reduce_loss(_mean(loss, -1), reduction)  # an empty class axis: NaN, quietly, as PyTorch's


@autocast_op("multi_margin_loss")
def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    """The multi-class hinge loss of scores (N, C), (C,) or 0-d at class indices y: the
    mean over the classes j != y of w[y] max(0, margin - x[y] + x[j])^p, p 1 or 2."""
    op = "multi_margin_loss"
    reduction = resolve_reduction(op, size_average, reduce, reduction)
    if p not in (1, 2) or isinstance(p, bool):
        raise ValueError(f"{op}: p must be 1 or 2, got {p!r}")
    margin = real_number(op, "margin", margin)
    floating(op, input)
    require_tensor(op, target, "target", like=input)
    if not (input.ndim == 0 or input.ndim <= 2 and input.shape[-1] != 0):
        raise ValueError(f"{op}: expected scores of shape (N, C) or (C,) with C > 0, or a 0-d score, got "
                         f"{input.shape}")
    frames, classes = (input.shape[0], input.shape[1]) if input.ndim == 2 else (1, max(input.size, 1))
    if kind(target) not in "iu":
        raise TypeError(f"{op}: targets must be class indices (integers), not {target.dtype}")
    if target.ndim > 1 or target.size != frames:
        raise ValueError(f"{op}: scores of shape {input.shape} need a target of shape ({frames},), got "
                         f"{target.shape}")
    xp = input._backend.xp
    if target.dtype != dtypes.int64:  # so it compares with arange on every namespace (uint8 with int64 is no pair)
        target = target.astype(dtypes.int64)
    t = xp.reshape(target.data, (frames,))
    low, high = input._backend.read_ints(xp.min(t), xp.max(t)) if frames else (0, 0)  # (one wait on a GPU)
    if low < 0 or high >= classes:
        bad = low if low < 0 else high
        raise ValueError(f"{op}: target {bad} is out of bounds for {classes} classes; targets must lie in "
                         f"[0, {classes - 1}]")
    scores = reshape(input, (frames, classes))
    rows = xp.arange(frames)
    picked = scores[constant(rows, input), constant(t, input)]
    is_target = constant(xp.arange(classes)[None, :] == t[:, None], input)
    hinge = where(is_target, 0, relu(scores - reshape(picked, (frames, 1)) + margin))
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        weight = weight_like(op, weight, "weight", input)
        if weight.ndim != 1 or weight.shape[0] != classes:
            raise ValueError(f"{op}: weight must have one value per class, shape ({classes},), got {weight.shape}")
        hinge = hinge * constant(xp.reshape(xp.take(weight.data, t), (frames, 1)), input)
    loss = _sum(hinge, 1) / classes
    if reduction == "none":
        return loss if target.ndim else reshape(loss, ())
    # The mean of an empty batch is NaN, as every loss's here (PyTorch's kernel returns
    # whatever its output buffer held)
    return reduce_loss(loss, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0, swap=False,
                                      reduction="mean"):
    """max(0, margin + d(anchor, positive) - d(anchor, negative)) for any distance d, a
    callable of two tensors (``pairwise_distance`` by default); with ``swap``,
    d(anchor, negative) is the smaller of it and d(positive, negative)."""
    op = "triplet_margin_with_distance_loss"
    reduction = resolve_reduction(op, None, None, reduction)
    margin = real_number(op, "margin", margin)
    if not margin > 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    if distance_function is None:
        distance_function = pairwise_distance
    elif not callable(distance_function):
        raise TypeError(f"{op}: distance_function must be a callable of two tensors (or None for "
                        f"pairwise_distance), not {type(distance_function).__name__}")
    for name, x in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        require_tensor(op, x, name)
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise ValueError(f"{op}: anchor, positive and negative must have the same number of dimensions, got "
                         f"shapes {anchor.shape}, {positive.shape} and {negative.shape}")
    closer = distance_function(anchor, positive)
    farther = distance_function(anchor, negative)
    if swap:
        farther = minimum(farther, distance_function(positive, negative))
    return reduce_loss(clip(closer - farther + margin, min=0.0), reduction)


BLOCK_ELEMENTS = 1 << 20  # multilabel_margin_loss's (frames, block, classes) intermediates at most


@autocast_op("multilabel_margin_loss")
def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """The multi-label hinge loss of scores (N, C), (C,) or 0-d: the target row holds
    class indices up to its first -1 (the rest is ignored), and the loss is the sum over
    those targets j and the classes i not among them of max(0, 1 - (x[j] - x[i])),
    over C. A class listed twice counts twice, as in PyTorch's kernel."""
    op = "multilabel_margin_loss"
    reduction = resolve_reduction(op, size_average, reduce, reduction)
    floating(op, input)
    require_tensor(op, target, "target", like=input)
    if kind(target) not in "iu":
        raise TypeError(f"{op}: targets must be class indices (integers, -1 ending each row), not {target.dtype}")
    if not (input.ndim == 0 or input.ndim <= 2 and input.shape[-1] != 0):
        raise ValueError(f"{op}: expected scores of shape (N, C) or (C,) with C > 0, or a 0-d score, got "
                         f"{input.shape}")
    if target.shape != input.shape:
        raise ValueError(f"{op}: the target must have the input's shape {input.shape} (class indices, each row "
                         f"ended by -1), got {target.shape}")
    frames, classes = (input.shape[0], input.shape[1]) if input.ndim == 2 else (1, max(input.size, 1))
    xp = input._backend.xp
    if target.dtype != dtypes.int64:  # so -1 and arange compare with it on every namespace
        target = target.astype(dtypes.int64)
    t = xp.reshape(target.data, (frames, classes))
    low, high = input._backend.read_ints(xp.min(t), xp.max(t)) if t.size else (0, 0)  # (one wait on a GPU)
    if low < -1 or high >= classes:
        bad = low if low < -1 else high
        raise ValueError(f"{op}: target {bad} is out of range for {classes} classes; targets must lie in "
                         f"[0, {classes - 1}], or be -1 to end a row")
    positions = xp.arange(classes)
    ended = xp.where(t == -1, positions, xp.asarray(classes, dtype=positions.dtype))
    listed = positions < xp.min(ended, axis=1, keepdims=True)  # (frames, classes): before the first -1
    safe = xp.where(listed, t, xp.zeros((), dtype=t.dtype))
    rows = xp.reshape(xp.arange(frames), (frames, 1))
    # Which classes are targets: each listed position marks its class
    hits = input._backend.scatter_add((frames * classes,), (xp.reshape(rows * classes + safe, (-1,)),),
                                      xp.reshape(xp.astype(listed, input.data.dtype), (-1,)))
    others = xp.reshape(hits, (frames, classes)) == 0
    scores = reshape(input, (frames, classes))
    # Target positions a block at a time, (frames, block, classes) each: one block for
    # most inputs, and memory linear in frames * classes for long target lists.
    longest = int(xp.max(xp.sum(xp.astype(listed, xp.int64), axis=1))) if listed.size else 0
    block = max(1, BLOCK_ELEMENTS // max(frames * classes, 1))
    total = None
    for first in range(0, longest, block):
        span = slice(first, min(first + block, longest))
        width = span.stop - span.start
        picked = scores[constant(rows, input), constant(safe[:, span], input)]  # (frames, width)
        counted = xp.reshape(listed[:, span], (frames, width, 1)) & xp.reshape(others, (frames, 1, classes))
        z = reshape(scores, (frames, 1, classes)) - reshape(picked, (frames, width, 1)) + 1
        part = _sum(where(constant(counted, input), relu(z), 0), (1, 2))
        total = part if total is None else total + part
    if total is None:  # no row lists a target: every loss is 0, still of the graph (and finite)
        total = _sum(where(constant(xp.zeros((frames, classes), dtype=xp.bool), input), scores, 0), 1)
    loss = total / classes
    if reduction == "none":
        return loss if input.ndim == 2 else reshape(loss, ())
    return reduce_loss(loss, reduction)  # an empty batch: NaN for 'mean', as every loss's here
