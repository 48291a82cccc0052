"""ASGD: averaged stochastic gradient descent, SGD with a decaying step ``eta`` that also
keeps ``ax``, a running average of the parameters from step ``t0`` on."""
from .hyperparameter_checks import check_at_least_zero
from .optimizer import Optimizer, decayed_grad


def asgd_update(param, grad, ax, eta, mu, *, step, lr, lambd, alpha, t0, weight_decay, maximize, backend):
    """One ASGD step on backend arrays, in place, in PyTorch's arithmetic order. ``eta``
    and ``mu`` (0-d arrays of scalar_state_dtype(), as PyTorch keeps them) are replaced in place by the
    values for the next step; ``step`` is the count including this step."""
    grad = decayed_grad(backend, param, grad, weight_decay, maximize)
    eta_value = float(eta)
    param *= 1 - lambd * eta_value  # the decay
    backend.axpy_(param, -eta_value, grad)
    if float(mu) != 1:
        moved = backend.difference(param, ax)
        moved *= float(mu)
        ax += moved
        del moved
    else:
        ax[...] = param
    eta[...] = lr / ((1 + lambd * lr * step) ** alpha)  # (rounded to its dtype)
    mu[...] = 1 / max(1, step - t0)


class ASGD(Optimizer):
    _state_keys = ("step", "eta", "mu", "ax")
    _scalar_state_keys = ("step", "eta", "mu")

    # foreach, differentiable and capturable: PyTorch's implementation switches (see nn.optim.optimizer),
    # positional as in PyTorch's signature.
    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    @staticmethod
    def _check_hyperparameters(h):
        check_at_least_zero("ASGD", h, ("lr", "weight_decay"))

    def _update_group(self, group, params):
        # Python floats: a NumPy float64 hyperparameter would turn float32 state into float64
        settings = dict(lr=float(group["lr"]), lambd=float(group["lambd"]), alpha=float(group["alpha"]),
                        t0=float(group["t0"]), weight_decay=float(group["weight_decay"]), maximize=group["maximize"])
        for p in params:
            state = self.state[p]
            if not state:
                state["step"] = self._new_step()
                state["eta"] = self._new_scalar(float(group["lr"]))
                state["mu"] = self._new_scalar(1.0)
                state["ax"] = self._zeros_like(p)
            asgd_update(p.data, p.grad.data, state["ax"].data, state["eta"].data, state["mu"].data,
                        step=self._advance(state["step"]), backend=p._backend, **settings)
