"""Mean softmax cross-entropy of logits against integer labels, and its gradient."""


def softmax_cross_entropy(xp, logits, labels):
    """The loss (a 0-d array, left on the device) and d(loss)/d(logits)."""
    n = logits.shape[0]
    shifted = logits - xp.max(logits, axis=1, keepdims=True)
    exp = xp.exp(shifted)
    sums = xp.sum(exp, axis=1, keepdims=True)
    rows = xp.arange(n)
    loss = xp.mean(xp.log(sums[:, 0]) - shifted[rows, labels])
    grad = exp
    grad /= sums
    grad[rows, labels] -= 1
    grad /= n
    return loss, grad
