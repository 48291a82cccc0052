"""Plain SGD, in place: ``p -= lr * g`` with no temporary array."""


def sgd_update(params, grads, lr):
    for name, g in grads.items():
        g *= lr
        params[name] -= g
