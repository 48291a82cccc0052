"""RAdam: Adam whose adaptive step is rectified for the variance of its early estimates,
falling back to momentum SGD while too few steps have been seen (rho_t <= 5)."""
from .adam_family import update_moments_, weight_decayed_grad
from .hyperparameter_checks import check_adam_like
from .optimizer import Optimizer, owned_copy


def radam_update(param, grad, exp_avg, exp_avg_sq, *, step, lr, beta1, beta2, eps, weight_decay,
                 decoupled_weight_decay, maximize, backend):
    """One RAdam step on backend arrays, in place, in PyTorch's arithmetic order; ``step``
    is the count including this step. Temporaries live in the backend's scratch memory."""
    grad = weight_decayed_grad(backend, param, grad, lr=lr, weight_decay=weight_decay,
                               decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
    update_moments_(backend, exp_avg, exp_avg_sq, grad, beta1, beta2)
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    update = owned_copy(backend, exp_avg)
    update /= bias_correction1
    update *= lr
    # the length of the approximated simple moving average, and its limit
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
    if rho_t > 5.0:
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        root = backend.sqrt(exp_avg_sq)
        root += eps
        # the adaptive learning rate, sqrt(bias_correction2) / root, made in scratch memory
        # (a scalar divided by an array has no in-place form in the Array API)
        rate = owned_copy(backend, root)
        rate[...] = bias_correction2 ** 0.5
        rate /= root
        del root
        update *= rate
        del rate
        update *= rect
    param -= update


class RAdam(Optimizer):
    _state_keys = ("step", "exp_avg", "exp_avg_sq")

    # foreach, capturable and differentiable: PyTorch's implementation switches (see nn.optim.optimizer).
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
                 *, foreach=None, maximize=False, capturable=False, differentiable=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    @staticmethod
    def _check_hyperparameters(h):
        check_adam_like("RAdam", h)

    def _update_group(self, group, params):
        beta1, beta2 = (float(beta) for beta in group["betas"])
        # Python floats: a NumPy float64 hyperparameter would turn float32 state into float64
        settings = dict(lr=float(group["lr"]), beta1=beta1, beta2=beta2, eps=float(group["eps"]),
                        weight_decay=float(group["weight_decay"]),
                        decoupled_weight_decay=group["decoupled_weight_decay"], maximize=group["maximize"])
        for p in params:
            state = self.state[p]
            if not state:
                state["step"] = self._new_step()
                state["exp_avg"] = self._zeros_like(p)
                state["exp_avg_sq"] = self._zeros_like(p)
            radam_update(p.data, p.grad.data, state["exp_avg"].data, state["exp_avg_sq"].data,
                         step=self._advance(state["step"]), backend=p._backend, **settings)
