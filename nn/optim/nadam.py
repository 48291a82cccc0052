"""NAdam: Adam with Nesterov momentum, its momentum warmed up by ``momentum_decay``."""
from .adam_family import update_moments_, weight_decayed_grad
from .hyperparameter_checks import check_adam_like, check_at_least_zero
from .optimizer import Optimizer, owned_copy


def nadam_update(param, grad, exp_avg, exp_avg_sq, mu_product, *, step, lr, beta1, beta2, eps, weight_decay,
                 momentum_decay, decoupled_weight_decay, maximize, backend):
    """One NAdam step on backend arrays, in place, in PyTorch's arithmetic order; ``step``
    is the count including this step, and ``mu_product`` (the product of the momentum
    factors so far, a 0-d array of scalar_state_dtype() as PyTorch keeps it) is multiplied in place."""
    bias_correction2 = 1 - beta2 ** step
    grad = weight_decayed_grad(backend, param, grad, lr=lr, weight_decay=weight_decay,
                               decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
    mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
    mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
    mu_product *= mu  # rounded to its dtype (float32 unless the default is float64), as PyTorch's
    mu_product_value = float(mu_product)
    mu_product_next = mu_product_value * mu_next
    update_moments_(backend, exp_avg, exp_avg_sq, grad, beta1, beta2)
    corrected = owned_copy(backend, exp_avg_sq)
    corrected /= bias_correction2
    denom = backend.sqrt(corrected)
    del corrected
    denom += eps
    update = backend.scaled(grad, -lr * (1.0 - mu) / (1.0 - mu_product_value))
    update /= denom
    param += update
    update = backend.scaled(exp_avg, (-lr * mu_next) / (1.0 - mu_product_next))
    update /= denom
    param += update


class NAdam(Optimizer):
    _state_keys = ("step", "mu_product", "exp_avg", "exp_avg_sq")
    _scalar_state_keys = ("step", "mu_product")

    # foreach, capturable and differentiable: PyTorch's implementation switches (see nn.optim.optimizer).
    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    @staticmethod
    def _check_hyperparameters(h):
        check_adam_like("NAdam", h)
        check_at_least_zero("NAdam", h, ("momentum_decay",))

    def _update_group(self, group, params):
        beta1, beta2 = (float(beta) for beta in group["betas"])
        # Python floats: a NumPy float64 hyperparameter would turn float32 state into float64
        settings = dict(lr=float(group["lr"]), beta1=beta1, beta2=beta2, eps=float(group["eps"]),
                        weight_decay=float(group["weight_decay"]), momentum_decay=float(group["momentum_decay"]),
                        decoupled_weight_decay=group["decoupled_weight_decay"], maximize=group["maximize"])
        for p in params:
            state = self.state[p]
            if not state:
                state["step"] = self._new_step()
                state["mu_product"] = self._new_scalar(1.0)
                state["exp_avg"] = self._zeros_like(p)
                state["exp_avg_sq"] = self._zeros_like(p)
            nadam_update(p.data, p.grad.data, state["exp_avg"].data, state["exp_avg_sq"].data,
                         state["mu_product"].data, step=self._advance(state["step"]), backend=p._backend,
                         **settings)
