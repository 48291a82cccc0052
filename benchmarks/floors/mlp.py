"""An MLP of Linear+ReLU layers whose last Linear gives logits, trained with
softmax cross-entropy and SGD. Weights are ``fc{i}.weight`` of shape (out, in)
and ``fc{i}.bias``, as PyTorch names them."""
from .sgd import sgd_update
from .softmax_cross_entropy import softmax_cross_entropy


class MLPFloor:
    def __init__(self, xp, params, layers):
        self.xp, self.params, self.layers = xp, params, layers

    def loss_and_grads(self, x, labels):
        xp, p = self.xp, self.params
        activations = [x]
        a = x
        for i in range(1, self.layers + 1):
            h = a @ p[f"fc{i}.weight"].T
            h += p[f"fc{i}.bias"]
            if i < self.layers:
                xp.maximum(h, 0, out=h)  # ReLU in place: its output is all backward needs
                activations.append(h)
            a = h
        loss, g = softmax_cross_entropy(xp, a, labels)
        del a, h
        grads = {}
        for i in range(self.layers, 0, -1):
            inputs = activations.pop()  # layer i's input: dropped once its gradients are made
            grads[f"fc{i}.weight"] = g.T @ inputs
            grads[f"fc{i}.bias"] = xp.sum(g, axis=0)
            if i > 1:
                g = g @ p[f"fc{i}.weight"]
                g *= inputs > 0
        return loss, grads

    def step(self, x, labels, lr):
        loss, grads = self.loss_and_grads(x, labels)
        sgd_update(self.params, grads, lr)
        return loss
