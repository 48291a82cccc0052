"""2-D max pooling over the last two axes with a square window equal to its
stride (PyTorch's ``MaxPool2d(k)``); rows and columns that do not fill a window
are dropped. The max is taken elementwise across the k*k strided slices (one per
position in the window), which is far faster than reducing a length-k*k axis.
The gradient goes to the first maximum of each window, as in PyTorch."""


def _slices(x, k, oh, ow):
    return [x[..., i:oh * k:k, j:ow * k:k] for i in range(k) for j in range(k)]


def max_pool2d_forward(xp, x, k):
    oh, ow = x.shape[-2] // k, x.shape[-1] // k
    slices = _slices(x, k, oh, ow)
    y = slices[0].copy()
    for s in slices[1:]:
        xp.maximum(y, s, out=y)
    return y


def max_pool2d_backward(xp, gy, x, y, k):
    """The gradient for ``x``, given the forward's input and output."""
    oh, ow = y.shape[-2:]
    grad = xp.zeros(x.shape, dtype=gy.dtype)
    unclaimed = xp.ones(y.shape, dtype=bool)  # windows whose maximum has not been found yet
    hit = xp.empty(y.shape, dtype=bool)
    for s, target in zip(_slices(x, k, oh, ow), _slices(grad, k, oh, ow)):
        xp.equal(s, y, out=hit)
        hit &= unclaimed
        unclaimed ^= hit  # hit is within unclaimed, so this clears exactly the hits
        xp.multiply(gy, hit, out=target)
    return grad
