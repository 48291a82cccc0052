"""Connectionist temporal classification (Graves et al. 2006): the negative log-likelihood
of each target sequence under per-frame log-probabilities, summed over every alignment,
as one op.

An alignment walks the extended labels (blank, l1, blank, l2, ..., blank: 2S + 1 states)
one state per frame, staying, stepping by one, or skipping a blank between two different
labels. The forward (alpha) recursion and, for the gradient, the backward (beta) one
run in log space, each a loop over time only: every step is a few elementwise calls on
the whole (batch, state) plane, with ``logaddexp`` adding probabilities without
overflow and -inf (an unreachable state) needing no special case.

The gradient with respect to log_probs is PyTorch's: exp(log_probs) minus the posterior
occupancy of each class (0 past a sample's input length). For log_probs that are
log-softmax outputs, exp(log_probs) sums to 1 over the classes and the log-softmax's
backward removes it, so the gradient through a log_softmax is the true one. For inputs
that are not normalized it is not the derivative of the returned loss (that would be
the occupancy term alone): kept as PyTorch's so that training code ports unchanged.
There is no second derivative, as in PyTorch: differentiating the gradient with respect
to log_probs raises (with respect to the incoming gradient, where it is linear, it works).
"""
import math

from ..reduction import sum as _sum
from ...function import Function
from ...grad_mode import state as _grad_state
from ...tensor import Tensor


def _extended_labels(xp, labels, blank):
    """(N, 2S + 1) states: blank at even positions, the labels between; and where a
    state may be entered from two states back, skipping a blank (a label that differs
    from the previous label: a repeat needs its blank)."""
    n, s = labels.shape
    states = xp.full((n, 2 * s + 1), blank, dtype=labels.dtype)
    states[:, 1::2] = labels
    can_skip = xp.zeros(states.shape, dtype=xp.bool)
    if s:
        can_skip[:, 2:] = (states[:, 2:] != blank) & (states[:, 2:] != states[:, :-2])
    return states, can_skip


def _skip_penalty(xp, can_skip, dtype):
    """The skip mask as a term to add to log-probabilities: 0 where allowed, -inf not."""
    return xp.where(can_skip, xp.asarray(0.0, dtype=dtype), xp.asarray(-math.inf, dtype=dtype))


class CTCLoss(Function):
    """Per-sample negative log-likelihoods (N,) of log_probs (T, N, C) for labels (N, S)
    (positions past a sample's target length hold the blank), with the input and
    target lengths as tuples of ints. With ``zero_infinity`` an impossible alignment's
    loss and gradient are 0; without it the loss is inf and the gradient NaN on the
    sample's frames, as PyTorch's."""

    @staticmethod
    def forward(ctx, log_probs, labels, input_lengths, target_lengths, blank, zero_infinity):
        backend = log_probs._backend
        xp = backend.xp
        lp = log_probs.data
        t_max, n, _ = lp.shape
        dtype = lp.dtype
        states, can_skip = _extended_labels(xp, labels.data, blank)
        width = states.shape[1]
        skip = _skip_penalty(xp, can_skip, dtype)
        rows = xp.reshape(xp.arange(n), (n, 1))
        emit = backend.gather(lp, (slice(None), rows, states))  # (T, N, 2S + 1)
        # Two columns of -inf in front stand for the states one and two before the first
        alpha = xp.full((t_max, n, width + 2), -math.inf, dtype=dtype)
        alpha[0, :, 2:] = xp.where(xp.arange(width) < 2, emit[0, ...], xp.asarray(-math.inf, dtype=dtype))
        for t in range(1, t_max):  # stay, step from the previous state, or skip from two back
            prev = alpha[t - 1, ...]
            reached = xp.logaddexp(xp.logaddexp(prev[:, 2:], prev[:, 1:-1]), prev[:, :-2] + skip)
            alpha[t, :, 2:] = reached + emit[t, ...]
        lengths = xp.asarray(input_lengths, dtype=xp.int64)
        ends = xp.asarray([2 * s for s in target_lengths], dtype=xp.int64)
        last = xp.asarray([max(i - 1, 0) for i in input_lengths], dtype=xp.int64)
        sample = xp.arange(n)
        # A path ends on the last label or the blank after it; with no label, column 1 is -inf
        likelihood = xp.logaddexp(backend.gather(alpha, (last, sample, ends + 2)),
                                  backend.gather(alpha, (last, sample, ends + 1)))
        empty = xp.asarray([0.0 if s == 0 else -math.inf for s in target_lengths], dtype=dtype)
        likelihood = xp.where(lengths == 0, empty, likelihood)  # no frames: only an empty target fits
        nll = -likelihood
        impossible = nll == math.inf
        if zero_infinity:
            nll = xp.where(impossible, xp.zeros((), dtype=dtype), nll)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(log_probs, alpha, emit, states, skip, likelihood, impossible)
            ctx.lengths = (tuple(input_lengths), tuple(target_lengths), zero_infinity)
        return nll

    @staticmethod
    def backward(ctx, gy):
        log_probs, alpha, emit, states, skip, likelihood, impossible = ctx.saved_tensors
        input_lengths, target_lengths, zero_infinity = ctx.lengths
        backend = log_probs._backend
        grad = _ctc_gradient(backend, log_probs.data, alpha.data, emit.data, states.data, skip.data,
                             likelihood.data, impossible.data, input_lengths, target_lengths, zero_infinity)
        if _grad_state.enabled:  # create_graph: linear in gy, with no derivative in log_probs
            return CTCLossGrad.apply(gy, log_probs, grad), None, None, None, None, None
        n = grad.shape[1]
        scaled = grad * backend.xp.reshape(gy.data, (1, n, 1))
        return Tensor._make(scaled, backend), None, None, None, None, None


def _ctc_gradient(backend, lp, alpha, emit, states, skip, likelihood, impossible, input_lengths,
                  target_lengths, zero_infinity):
    """PyTorch's d(nll)/d(log_probs) for each sample, (T, N, C): exp(log_probs) less the
    posterior occupancy of each class, on a sample's frames only."""
    xp = backend.xp
    t_max, n, classes = lp.shape
    width = states.shape[1]
    dtype = lp.dtype
    # The beta recursion, from the end: two columns of -inf behind the last state
    skip_ahead = xp.concat([skip, xp.full((n, 2), -math.inf, dtype=dtype)], axis=1)[:, 2:]
    positions = xp.reshape(xp.arange(width), (1, width))
    ends = xp.reshape(xp.asarray([2 * s for s in target_lengths], dtype=xp.int64), (n, 1))
    final = (positions == ends) | (positions == ends - 1)  # (N, 2S + 1): where paths may end
    last = xp.asarray([i - 1 for i in input_lengths], dtype=xp.int64)
    starts = set(input_lengths)
    beta = xp.full((t_max, n, width + 2), -math.inf, dtype=dtype)
    for t in range(t_max - 1, -1, -1):
        if t == t_max - 1:
            step = xp.full((n, width), -math.inf, dtype=dtype)
        else:
            after = beta[t + 1, ...]
            step = xp.logaddexp(xp.logaddexp(after[:, :width], after[:, 1:width + 1]), after[:, 2:] + skip_ahead)
        if t + 1 in starts:  # samples whose last frame is t start here, at their final states
            step = xp.where(final & xp.reshape(last == t, (n, 1)), xp.zeros((), dtype=dtype), step)
        beta[t, :, :width] = step + emit[t, ...]
    # Occupancy of each state: alpha beta / (p(target) y), both alpha and beta holding y.
    # An impossible sample's likelihood is taken as 0 here (its states are all -inf) so
    # that nothing computes inf - inf; its gradient is set below.
    safe = xp.where(impossible, xp.zeros((), dtype=dtype), likelihood)
    occupancy = xp.exp(alpha[:, :, 2:] + beta[:, :, :width] - emit - xp.reshape(safe, (1, n, 1)))
    # Summed per class: one scatter-add of rows over time, at flat (sample, class) indices
    flat = xp.reshape(xp.arange(n), (n, 1)) * classes + states
    per_class = backend.scatter_add((n * classes, t_max), (flat,), xp.permute_dims(occupancy, (1, 2, 0)))
    per_class = xp.permute_dims(xp.reshape(per_class, (n, classes, t_max)), (2, 0, 1))
    on_frames = xp.reshape(xp.arange(t_max), (t_max, 1)) < xp.reshape(xp.asarray(input_lengths, dtype=xp.int64),
                                                                      (1, n))
    on_frames = xp.reshape(on_frames, (t_max, n, 1))
    grad = xp.where(on_frames, xp.exp(lp) - per_class, xp.zeros((), dtype=dtype))
    if bool(xp.any(impossible)):
        dead = xp.reshape(impossible, (1, n, 1))
        if zero_infinity:
            grad = xp.where(dead, xp.zeros((), dtype=dtype), grad)
        else:  # PyTorch's: exp(lp) - exp(-inf + inf - lp) on the sample's frames
            grad = xp.where(dead & on_frames, xp.asarray(math.nan, dtype=dtype), grad)
    return grad


class CTCLossGrad(Function):
    """The CTC gradient ``gy * grad`` under create_graph, ``grad`` computed off the graph.
    Linear in gy, so that derivative is exact; PyTorch has no second derivative in
    log_probs, nor does this op (asking for one raises)."""

    @staticmethod
    def forward(ctx, gy, log_probs, grad):
        ctx.save_for_backward(grad)
        n = grad.shape[1]
        return grad * gy._backend.xp.reshape(gy.data, (1, n, 1))

    @staticmethod
    def backward(ctx, g):
        if ctx.needs_input_grad[1]:
            raise RuntimeError("ctc_loss: the second derivative with respect to log_probs is not implemented (nor "
                               "is it in PyTorch); take the gradient without create_graph=True, or detach "
                               "log_probs from the part of the graph that is differentiated twice")
        grad, = ctx.saved_tensors
        return _sum(g * grad, (0, 2)), None, None


def ctc_loss(log_probs, labels, input_lengths, target_lengths, blank, zero_infinity):
    """Per-sample CTC losses (N,); see CTCLoss. Arguments are validated by nn.functional."""
    return CTCLoss.apply(log_probs, labels, tuple(input_lengths), tuple(target_lengths), int(blank),
                         bool(zero_infinity))
