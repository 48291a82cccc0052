"""Adam, and AdamW: Adam with weight decay decoupled from the gradient."""
from .adam_family import update_moments_, weight_decayed_grad
from .optimizer import Optimizer


def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, step, lr, beta1, beta2, eps,
                weight_decay, amsgrad, maximize, decoupled_weight_decay, backend):
    """One Adam step on backend arrays, in place, in PyTorch's arithmetic order; ``step``
    is the count including this step. Temporaries live in the backend's scratch memory."""
    grad = weight_decayed_grad(backend, param, grad, lr=lr, weight_decay=weight_decay,
                               decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    step_size = lr / bias_correction1
    if not amsgrad and backend.fused_adam_(param, grad, exp_avg, exp_avg_sq, beta1=beta1, beta2=beta2,
                                           step_size=step_size, root_correction2=bias_correction2 ** 0.5,
                                           eps=eps):
        return
    update_moments_(backend, exp_avg, exp_avg_sq, grad, beta1, beta2)
    if amsgrad:
        max_exp_avg_sq[...] = backend.xp.maximum(max_exp_avg_sq, exp_avg_sq)
    denom = backend.sqrt(max_exp_avg_sq if amsgrad else exp_avg_sq)
    denom /= bias_correction2 ** 0.5
    denom += eps
    update = backend.scaled(exp_avg, -step_size)
    update /= denom
    param += update


class Adam(Optimizer):
    _state_keys = ("step", "exp_avg", "exp_avg_sq")  # max_exp_avg_sq is made on demand

    # foreach, capturable, differentiable and fused: PyTorch's implementation switches (see
    # nn.optim.optimizer).
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable, differentiable=differentiable,
                        fused=fused, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    @classmethod
    def _check_hyperparameters(cls, h):
        name = cls.__name__
        if not h["lr"] >= 0:
            raise ValueError(f"{name}: invalid learning rate {h['lr']}; it must be >= 0")
        if not h["eps"] >= 0:
            raise ValueError(f"{name}: invalid eps {h['eps']}; it must be >= 0")
        for i, beta in enumerate(h["betas"]):  # (a pair of numbers: Optimizer._check_types)
            if not 0 <= beta < 1:
                raise ValueError(f"{name}: invalid beta at index {i}: {beta}; each beta must be in [0, 1)")
        if not h["weight_decay"] >= 0:
            raise ValueError(f"{name}: invalid weight_decay {h['weight_decay']}; it must be >= 0")

    def _update_group(self, group, params):
        beta1, beta2 = (float(beta) for beta in group["betas"])
        amsgrad = group["amsgrad"]
        # Python floats: a NumPy float64 hyperparameter would turn float32 state into float64
        settings = dict(lr=float(group["lr"]), beta1=beta1, beta2=beta2, eps=float(group["eps"]),
                        weight_decay=float(group["weight_decay"]), amsgrad=amsgrad, maximize=group["maximize"],
                        decoupled_weight_decay=group["decoupled_weight_decay"])
        for p in params:
            state = self.state[p]
            if not state:
                state["step"] = self._new_step()
                state["exp_avg"] = self._zeros_like(p)
                state["exp_avg_sq"] = self._zeros_like(p)
            if amsgrad and "max_exp_avg_sq" not in state:
                state["max_exp_avg_sq"] = self._zeros_like(p)
            adam_update(p.data, p.grad.data, state["exp_avg"].data, state["exp_avg_sq"].data,
                        state["max_exp_avg_sq"].data if amsgrad else None,
                        step=self._advance(state["step"]), backend=p._backend, **settings)


class AdamW(Adam):
    """Adam whose weight decay shrinks the parameters directly instead of joining the gradient."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for group in self.param_groups:  # a state saved by Adam must not turn the decay back into L2
            group["decoupled_weight_decay"] = True
