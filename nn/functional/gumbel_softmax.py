"""``gumbel_softmax``: a differentiable sample of a categorical distribution given by
its logits (Jang et al. 2017; Maddison et al. 2017), as PyTorch's: softmax((logits +
g) / tau) with g standard Gumbel noise from the backend's seeded generator, or, with
``hard=True``, the one-hot of its largest entry whose gradient is the soft sample's
(the straight-through estimator). It takes ``axis``, as softmax here does. The noise
enters as a constant, so this is a composition of Tensor ops with no gradient code."""
import warnings

from autograd.ops.elementwise import constant
from autograd.user_code import user_stacklevel

from .activation import softmax
from .arguments import floating, real_number


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, axis=-1):
    """A sample along ``axis`` of the categorical distribution softmax(logits), relaxed
    with temperature ``tau`` (soft; each slice sums to 1), or, with ``hard=True``, its
    one-hot, whose gradient is the relaxed sample's. ``eps`` is PyTorch's deprecated
    argument: it warns and does nothing, as there."""
    op = "gumbel_softmax"
    floating(op, logits)
    tau = real_number(op, "tau", tau)
    if not tau > 0:
        raise ValueError(f"{op}: tau (the temperature) must be positive, got {tau}")
    if eps != 1e-10:
        warnings.warn("gumbel_softmax: `eps` parameter is deprecated and has no effect.",
                      stacklevel=user_stacklevel())
    backend = logits._backend
    xp = backend.xp
    uniform = backend.uniform(logits.shape, 0.0, 1.0, logits.dtype)
    # -log(1 - u) is Exp(1) (finite: u < 1), floored so that its log is finite too
    exponential = -xp.log1p(-uniform)
    exponential = xp.maximum(exponential, xp.asarray(xp.finfo(uniform.dtype).smallest_normal, dtype=uniform.dtype))
    gumbels = constant(-xp.log(exponential), logits)
    y_soft = softmax((logits + gumbels) / tau, axis)
    if not hard:
        return y_soft
    if y_soft.ndim == 0:  # one class: its one-hot is 1
        return y_soft - y_soft.detach() + 1.0
    axis = axis % y_soft.ndim  # softmax has checked it
    winner = xp.argmax(y_soft.data, axis=axis, keepdims=True)
    shape = tuple(n if a == axis else 1 for a, n in enumerate(y_soft.shape))
    classes = xp.reshape(xp.arange(y_soft.shape[axis], dtype=winner.dtype), shape)
    y_hard = constant(xp.astype(classes == winner, y_soft.data.dtype), logits)
    return y_hard - y_soft.detach() + y_soft
