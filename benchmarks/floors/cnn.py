"""The LeNet-style CNN: conv(1->8, 3x3), ReLU, max-pool 2, conv(8->16, 3x3), ReLU,
max-pool 2, flatten, linear(400->10), softmax cross-entropy; SGD in place.

The input arrives as PyTorch's (N, 1, H, W); with one channel that is already
(C, N, H, W) memory, the layout the floor works in throughout (see conv.py).
Only the flatten goes back to PyTorch's per-sample (C, H, W) order, which the
linear layer's weight expects.
"""
from .conv import conv2d_backward, conv2d_forward
from .pool import max_pool2d_backward, max_pool2d_forward
from .sgd import sgd_update
from .softmax_cross_entropy import softmax_cross_entropy

POOL = 2


class CNNFloor:
    def __init__(self, xp, params):
        self.xp, self.params = xp, params

    def loss_and_grads(self, x, labels):
        xp, p = self.xp, self.params
        n, c, h, w = x.shape
        if c != 1:
            raise ValueError(f"CNNFloor: expects one input channel, got input of shape {x.shape}")
        x = x.reshape(1, n, h, w)
        h1, cols1 = conv2d_forward(xp, x, p["conv1.weight"], p["conv1.bias"])
        xp.maximum(h1, 0, out=h1)
        a1 = max_pool2d_forward(xp, h1, POOL)
        h2, cols2 = conv2d_forward(xp, a1, p["conv2.weight"], p["conv2.bias"])
        xp.maximum(h2, 0, out=h2)
        a2 = max_pool2d_forward(xp, h2, POOL)
        flat = a2.transpose(1, 0, 2, 3).reshape(n, -1)
        logits = flat @ p["fc.weight"].T
        logits += p["fc.bias"]
        loss, g = softmax_cross_entropy(xp, logits, labels)
        # Backward drops each buffer after its last use, as an engine frees saved tensors.
        del logits
        grads = {"fc.weight": g.T @ flat, "fc.bias": xp.sum(g, axis=0)}
        del flat
        g = (g @ p["fc.weight"]).reshape(n, a2.shape[0], *a2.shape[2:]).transpose(1, 0, 2, 3)
        g = max_pool2d_backward(xp, g, h2, a2, POOL)
        del a2
        g *= h2 > 0
        del h2
        g, grads["conv2.weight"], grads["conv2.bias"] = conv2d_backward(xp, g, cols2, a1.shape, p["conv2.weight"])
        del cols2
        g = max_pool2d_backward(xp, g, h1, a1, POOL)
        del a1
        g *= h1 > 0
        del h1
        _, grads["conv1.weight"], grads["conv1.bias"] = conv2d_backward(
            xp, g, cols1, x.shape, p["conv1.weight"], need_input_grad=False)
        return loss, grads

    def step(self, x, labels, lr):
        loss, grads = self.loss_and_grads(x, labels)
        sgd_update(self.params, grads, lr)
        return loss
