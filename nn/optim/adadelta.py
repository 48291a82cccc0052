"""Adadelta: steps scaled by the ratio of running root mean squares of past updates and
of gradients, so that ``lr`` (1.0 by default) only rescales them."""
from .hyperparameter_checks import check_at_least_zero
from .optimizer import Optimizer, decayed_grad, owned_copy


def adadelta_update(param, grad, square_avg, acc_delta, *, lr, rho, eps, weight_decay, maximize, backend):
    """One Adadelta step on backend arrays, in place, in PyTorch's arithmetic order.
    Temporaries live in the backend's scratch memory."""
    grad = decayed_grad(backend, param, grad, weight_decay, maximize)
    square_avg *= rho
    squared = backend.scaled(grad, 1 - rho)
    squared *= grad
    square_avg += squared
    del squared
    shifted = owned_copy(backend, square_avg)
    shifted += eps
    std = backend.sqrt(shifted)
    shifted[...] = acc_delta
    shifted += eps
    delta = backend.sqrt(shifted)
    del shifted
    delta /= std
    del std
    delta *= grad
    acc_delta *= rho
    squared = backend.scaled(delta, 1 - rho)
    squared *= delta
    acc_delta += squared
    del squared
    backend.axpy_(param, -lr, delta)


class Adadelta(Optimizer):
    _state_keys = ("step", "square_avg", "acc_delta")

    # foreach, capturable and differentiable: PyTorch's implementation switches (see nn.optim.optimizer).
    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    @staticmethod
    def _check_hyperparameters(h):
        check_at_least_zero("Adadelta", h, ("lr", "eps", "weight_decay"))
        if not 0 <= h["rho"] <= 1:
            raise ValueError(f"Adadelta: invalid rho {h['rho']}; the decay factor must be in [0, 1]")

    def _update_group(self, group, params):
        # Python floats: a NumPy float64 hyperparameter would turn float32 state into float64
        settings = dict(lr=float(group["lr"]), rho=float(group["rho"]), eps=float(group["eps"]),
                        weight_decay=float(group["weight_decay"]), maximize=group["maximize"])
        for p in params:
            state = self.state[p]
            if not state:
                state["step"] = self._new_step()
                state["square_avg"] = self._zeros_like(p)
                state["acc_delta"] = self._zeros_like(p)
            self._advance(state["step"])
            adadelta_update(p.data, p.grad.data, state["square_avg"].data, state["acc_delta"].data,
                            backend=p._backend, **settings)
