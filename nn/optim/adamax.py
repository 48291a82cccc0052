"""Adamax: Adam with the second moment replaced by a decaying infinity norm of the gradients."""
from .hyperparameter_checks import check_adam_like
from .optimizer import Optimizer, decayed_grad, lerp_


def adamax_update(param, grad, exp_avg, exp_inf, *, step, lr, beta1, beta2, eps, weight_decay, maximize, backend):
    """One Adamax step on backend arrays, in place, in PyTorch's arithmetic order; ``step``
    is the count including this step. Temporaries live in the backend's scratch memory."""
    grad = decayed_grad(backend, param, grad, weight_decay, maximize)
    lerp_(backend, exp_avg, grad, 1 - beta1)
    exp_inf *= beta2
    norm = backend.absolute(grad)
    norm += eps
    backend.maximum_(exp_inf, norm)
    del norm
    clr = lr / (1 - beta1 ** step)
    update = backend.scaled(exp_avg, -clr)
    update /= exp_inf
    param += update


class Adamax(Optimizer):
    _state_keys = ("step", "exp_avg", "exp_inf")

    # foreach, differentiable and capturable: PyTorch's implementation switches (see nn.optim.optimizer).
    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    @staticmethod
    def _check_hyperparameters(h):
        check_adam_like("Adamax", h)

    def _update_group(self, group, params):
        beta1, beta2 = (float(beta) for beta in group["betas"])
        # Python floats: a NumPy float64 hyperparameter would turn float32 state into float64
        settings = dict(lr=float(group["lr"]), beta1=beta1, beta2=beta2, eps=float(group["eps"]),
                        weight_decay=float(group["weight_decay"]), maximize=group["maximize"])
        for p in params:
            state = self.state[p]
            if not state:
                state["step"] = self._new_step()
                state["exp_avg"] = self._zeros_like(p)
                state["exp_inf"] = self._zeros_like(p)
            adamax_update(p.data, p.grad.data, state["exp_avg"].data, state["exp_inf"].data,
                          step=self._advance(state["step"]), backend=p._backend, **settings)
