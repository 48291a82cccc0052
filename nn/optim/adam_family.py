"""The steps Adam, AdamW, NAdam and RAdam share, on backend arrays and in place, in
PyTorch's arithmetic order (so that their updates match PyTorch's to the last bit)."""
from .optimizer import decayed_grad, lerp_


def weight_decayed_grad(backend, param, grad, *, lr, weight_decay, decoupled_weight_decay, maximize):
    """The gradient the moments follow. Decoupled decay (AdamW's) shrinks ``param`` in
    place by ``lr * weight_decay`` first and leaves the gradient alone; L2 decay adds
    ``weight_decay * param`` to the gradient."""
    if weight_decay != 0 and decoupled_weight_decay:
        param *= 1 - lr * weight_decay
        return decayed_grad(backend, param, grad, weight_decay=0, maximize=maximize)
    return decayed_grad(backend, param, grad, weight_decay, maximize)


def update_moments_(backend, exp_avg, exp_avg_sq, grad, beta1, beta2):
    """The running averages of the gradient and of its square, updated in place."""
    lerp_(backend, exp_avg, grad, 1 - beta1)
    exp_avg_sq *= beta2
    squared = backend.scaled(grad, 1 - beta2)
    squared *= grad
    exp_avg_sq += squared
