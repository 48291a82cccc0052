"""The connectionist temporal classification loss with PyTorch's arguments, shapes and
reductions: its arguments checked and brought to one form (padded int64 labels, lengths
as tuples of ints), the per-sample losses from the fused op
``autograd.ops.nn_fused.ctc_loss``, then the reduction ('mean' divides each loss by its
target length, at least 1, before averaging, as PyTorch's).

Stricter than PyTorch where it would quietly compute on a mistake: a target equal to
the blank, or outside [0, C), is refused (PyTorch reads past its array or counts the
blank as a label); so are float targets or lengths, which it rounds. A target longer
than its input is no error: no alignment fits, so the loss is inf (0 with
``zero_infinity``), as PyTorch's."""
import numbers

from autograd import Tensor
from autograd.autocast_mode import autocast_op
from autograd.ops import nn_fused
from autograd.ops.elementwise import constant
from autograd.ops.reduction import mean as _mean, sum as _sum
from autograd.ops.shape import reshape

from .arguments import floating, kind, require_tensor, rounded, widened
from .loss_arguments import resolve_reduction


def _integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _lengths(op, name, value, n, unbatched):
    """Lengths as a tuple of n ints, from a sequence of ints or an integer tensor of shape
    (N,) (for an unbatched input also an int, a 0-d tensor or a one-element sequence)."""
    shapes = "an int, a 0-d or 1-element integer tensor, or a sequence of one int" if unbatched else \
        f"a sequence of {n} ints or an integer tensor of shape ({n},)"
    if isinstance(value, Tensor):
        if kind(value) not in "iu":
            raise TypeError(f"{op}: {name} must hold integers, not {value.dtype}; give {shapes} "
                            "(convert with .astype(ag.int64))")
        if value.shape not in ((n,), ()) or value.ndim == 0 and not unbatched:
            raise ValueError(f"{op}: {name} must be {shapes}, got a tensor of shape {value.shape}")
        lengths = value.tolist()
        lengths = (lengths,) if value.ndim == 0 else tuple(lengths)
    elif _integer(value) and unbatched:
        lengths = (int(value),)
    elif isinstance(value, (tuple, list)):
        if not all(_integer(v) for v in value):
            raise TypeError(f"{op}: {name} must be {shapes}, got {value!r}")
        if len(value) != n:
            raise ValueError(f"{op}: {name} has {len(value)} entries but the batch has {n}; give {shapes}")
        lengths = tuple(int(v) for v in value)
    else:
        raise TypeError(f"{op}: {name} must be {shapes}, not {type(value).__name__}")
    return lengths


def _padded_labels(targets, target_lengths, blank):
    """Targets (N, S) padded or 1-D concatenated, as int64 (N, max target length) with the
    blank past each sample's length."""
    xp = targets._backend.xp
    data = targets.data
    if data.dtype != xp.int64:
        data = xp.astype(data, xp.int64)
    n, width = len(target_lengths), max(target_lengths)
    positions = xp.reshape(xp.arange(width), (1, width))
    used = positions < xp.reshape(xp.asarray(target_lengths, dtype=xp.int64), (n, 1))
    if data.ndim == 2:
        labels = data[:, :width]
    else:  # concatenated: sample i's labels start after those of the samples before it
        starts, total = [], 0
        for length in target_lengths:
            starts.append(total)
            total += length
        index = xp.reshape(xp.asarray(starts, dtype=xp.int64), (n, 1)) + positions
        index = xp.where(used, index, xp.zeros((), dtype=xp.int64))
        labels = xp.reshape(xp.take(data, xp.reshape(index, (-1,))), (n, width)) if total else \
            xp.zeros((n, width), dtype=xp.int64)
    return xp.where(used, labels, xp.asarray(blank, dtype=xp.int64)), used


def _check_labels(op, xp, labels, used, classes, blank):
    """Every label a sample uses is a class other than the blank."""
    outside = used & ((labels < 0) | (labels >= classes))
    if bool(xp.any(outside)):
        zero = xp.zeros((), dtype=labels.dtype)
        high = outside & (labels >= classes)
        value = int(xp.max(xp.where(high, labels, zero))) if bool(xp.any(high)) else \
            int(xp.min(xp.where(outside, labels, zero)))
        raise ValueError(f"{op}: target {value} is out of range for {classes} classes; labels must lie in "
                         f"[0, {classes - 1}] (padding past each target length is ignored)")
    if bool(xp.any(used & (labels == blank))):
        raise ValueError(f"{op}: a target holds the blank label {blank}; targets hold the other classes only "
                         "(the blank is implied between labels): remove it, or choose another blank=")


@autocast_op("ctc_loss")
def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    """The CTC loss of log-probabilities (T, N, C) (log_softmax outputs; or (T, C) for one
    sequence) for targets (N, S) padded or concatenated into one 1-D tensor, each
    sequence's frames and labels given by ``input_lengths`` and ``target_lengths``.
    'none' gives one loss per sequence, 'sum' their sum, 'mean' the mean of each divided
    by its target length (at least 1). Impossible alignments (a target too long for its
    input) give inf, or 0 and no gradient with ``zero_infinity``. The gradient is
    PyTorch's (exp(log_probs) - occupancy), the true one through a log_softmax; there is
    no second derivative, as in PyTorch."""
    op = "ctc_loss"
    floating(op, log_probs, "log_probs")
    reduction = resolve_reduction(op, None, None, reduction)
    require_tensor(op, targets, "targets")
    if targets.device != log_probs.device:  # moved, as PyTorch does (cuDNN's CTC takes CPU targets)
        targets = targets.to(log_probs.device)
    if log_probs.ndim not in (2, 3):
        raise ValueError(f"{op}: expected log_probs of shape (T, N, C), or (T, C) for one sequence, got "
                         f"{log_probs.shape}")
    if log_probs.size == 0:
        raise ValueError(f"{op}: log_probs must not be empty, got shape {log_probs.shape}")
    unbatched = log_probs.ndim == 2
    frames, n, classes = (log_probs.shape[0], 1, log_probs.shape[1]) if unbatched else log_probs.shape
    if not _integer(blank):
        raise TypeError(f"{op}: blank must be an int (a class index), not {blank!r}")
    blank = int(blank)  # a Python int: the Array API compares arrays with no NumPy integer
    if not 0 <= blank < classes:
        raise ValueError(f"{op}: blank={blank} is out of range for {classes} classes; it must lie in "
                         f"[0, {classes - 1}]")
    if kind(targets) not in "iu":
        raise TypeError(f"{op}: targets must be class indices (integers), not {targets.dtype}; convert them "
                        "with .astype(ag.int64)")
    input_lengths = _lengths(op, "input_lengths", input_lengths, n, unbatched)
    target_lengths = _lengths(op, "target_lengths", target_lengths, n, unbatched)
    for i, length in enumerate(input_lengths):
        if not 0 <= length <= frames:
            raise ValueError(f"{op}: input_lengths[{i}] = {length} is out of range; each must lie in "
                             f"[0, {frames}] (log_probs has {frames} frames)")
    for i, length in enumerate(target_lengths):
        if length < 0:
            raise ValueError(f"{op}: target_lengths[{i}] = {length} is negative; each must be at least 0")
    if unbatched:
        if targets.ndim == 2 and targets.shape[0] == 1:
            targets = reshape(targets, targets.shape[1:])
        if targets.ndim != 1:
            raise ValueError(f"{op}: log_probs of shape {log_probs.shape} (one sequence) need targets of shape "
                             f"(S,), got {targets.shape}")
        targets = reshape(targets, (1,) + targets.shape)
        log_probs = reshape(log_probs, (frames, 1, classes))
    if targets.ndim == 2:
        if targets.shape[0] != n:
            raise ValueError(f"{op}: padded targets must have one row per sequence, shape ({n}, S), got "
                             f"{targets.shape}")
        if targets.shape[1] < max(target_lengths):
            raise ValueError(f"{op}: target_lengths asks for up to {max(target_lengths)} labels but the padded "
                             f"targets of shape {targets.shape} hold {targets.shape[1]} per sequence")
    elif targets.ndim == 1:
        if targets.shape[0] != sum(target_lengths):
            raise ValueError(f"{op}: concatenated targets must hold sum(target_lengths) = {sum(target_lengths)} "
                             f"labels, got {targets.shape[0]}; or pass them padded, shape ({n}, S)")
    else:
        raise ValueError(f"{op}: targets must be padded, shape ({n}, S), or concatenated, 1-D; got shape "
                         f"{targets.shape}")
    labels, used = _padded_labels(targets, target_lengths, blank)
    xp = log_probs._backend.xp
    _check_labels(op, xp, labels, used, classes, blank)
    # float16 in float32 (PyTorch refuses float16): its alpha and beta sums, hundreds below 0
    # after a few hundred frames, would be held to a quarter, and each occupancy with them
    dtype, log_probs = log_probs.dtype, widened(log_probs)
    loss = nn_fused.ctc_loss(log_probs, constant(labels, log_probs), input_lengths, target_lengths, blank,
                             zero_infinity)
    if reduction == "mean":
        divisors = xp.asarray([max(length, 1) for length in target_lengths], dtype=log_probs.data.dtype)
        loss = _mean(loss / constant(divisors, log_probs))
    elif reduction == "sum":
        loss = _sum(loss)
    elif unbatched:
        loss = reshape(loss, ())
    return rounded(loss, dtype)
