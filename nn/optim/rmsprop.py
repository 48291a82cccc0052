"""RMSprop: gradients scaled by a running root mean square, optionally centered and with momentum."""
from .optimizer import Optimizer, lerp_


def rmsprop_update(param, grad, square_avg, grad_avg, momentum_buffer, *, lr, alpha, eps, weight_decay,
                   momentum, centered, maximize, xp):
    """One RMSprop step on backend arrays, in place, in PyTorch's arithmetic order."""
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad + param * weight_decay
    square_avg *= alpha
    square_avg += (1 - alpha) * grad * grad
    if centered:
        lerp_(grad_avg, grad, 1 - alpha)
        avg = xp.sqrt(square_avg - grad_avg * grad_avg)
    else:
        avg = xp.sqrt(square_avg)
    avg += eps
    if momentum > 0:
        momentum_buffer *= momentum
        momentum_buffer += grad / avg
        param -= momentum_buffer * lr
    else:
        update = grad * -lr
        update /= avg
        param += update


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, *,
                 maximize=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    @staticmethod
    def _check_hyperparameters(h):
        if not h["lr"] >= 0:
            raise ValueError(f"RMSprop: invalid learning rate {h['lr']}; it must be >= 0")
        if not h["eps"] >= 0:
            raise ValueError(f"RMSprop: invalid eps {h['eps']}; it must be >= 0")
        if not h["momentum"] >= 0:
            raise ValueError(f"RMSprop: invalid momentum {h['momentum']}; it must be >= 0")
        if not h["weight_decay"] >= 0:
            raise ValueError(f"RMSprop: invalid weight_decay {h['weight_decay']}; it must be >= 0")
        if not 0 <= h["alpha"] <= 1:
            raise ValueError(f"RMSprop: invalid alpha {h['alpha']}; the smoothing constant must be in [0, 1]")

    def _update_group(self, group, params):
        momentum, centered = group["momentum"], group["centered"]
        settings = dict(lr=float(group["lr"]), alpha=group["alpha"], eps=group["eps"],
                        weight_decay=group["weight_decay"], momentum=momentum, centered=centered,
                        maximize=group["maximize"])
        for p in params:
            state = self.state[p]
            if not state:
                state["step"] = self._new_step()
                state["square_avg"] = self._zeros_like(p)
            # Created on demand, so a momentum or centering switched on later (by a scheduler) works.
            if momentum > 0 and "momentum_buffer" not in state:
                state["momentum_buffer"] = self._zeros_like(p)
            if centered and "grad_avg" not in state:
                state["grad_avg"] = self._zeros_like(p)
            self._advance(state["step"])
            rmsprop_update(p.data, p.grad.data, state["square_avg"].data,
                           state["grad_avg"].data if centered else None,
                           state["momentum_buffer"].data if momentum > 0 else None,
                           xp=p._backend.xp, **settings)
