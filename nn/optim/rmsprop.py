"""RMSprop: gradients scaled by a running root mean square, optionally centered and with momentum."""
from .optimizer import Optimizer, decayed_grad, lerp_, owned_copy


def rmsprop_update(param, grad, square_avg, grad_avg, momentum_buffer, *, lr, alpha, eps, weight_decay,
                   momentum, centered, maximize, backend):
    """One RMSprop step on backend arrays, in place, in PyTorch's arithmetic order.
    Temporaries live in the backend's scratch memory (see owned_copy)."""
    grad = decayed_grad(backend, param, grad, weight_decay, maximize)
    square_avg *= alpha
    squared = backend.scaled(grad, 1 - alpha)
    squared *= grad
    square_avg += squared
    del squared
    if centered:
        lerp_(backend, grad_avg, grad, 1 - alpha)
        variance = owned_copy(backend, grad_avg)
        variance *= grad_avg
        variance *= -1
        variance += square_avg  # square_avg - grad_avg ** 2
        avg = backend.sqrt(variance)
        del variance
    else:
        avg = backend.sqrt(square_avg)
    avg += eps
    if momentum > 0:
        step = owned_copy(backend, grad)
        step /= avg
        momentum_buffer *= momentum
        momentum_buffer += step
        del step
        param -= backend.scaled(momentum_buffer, lr)
    else:
        step = backend.scaled(grad, -lr)
        step /= avg
        param += step


class RMSprop(Optimizer):
    _state_keys = ("step", "square_avg")  # momentum_buffer and grad_avg are made on demand

    # capturable, foreach and differentiable: PyTorch's implementation switches (see
    # nn.optim.optimizer), positional as in PyTorch's signature.
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, capturable=capturable, foreach=foreach, maximize=maximize,
                        differentiable=differentiable)
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
        momentum, centered = float(group["momentum"]), group["centered"]
        # Python floats: a NumPy float64 hyperparameter would turn float32 state into float64
        settings = dict(lr=float(group["lr"]), alpha=float(group["alpha"]), eps=float(group["eps"]),
                        weight_decay=float(group["weight_decay"]), momentum=momentum, centered=centered,
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
                           backend=p._backend, **settings)
