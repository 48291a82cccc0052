"""Adagrad: per-coordinate learning rates from the running sum of squared gradients."""
from .optimizer import Optimizer, decayed_grad, owned_copy


def adagrad_update(param, grad, state_sum, *, step, lr, lr_decay, weight_decay, eps, maximize, backend):
    """One Adagrad step on backend arrays, in place, in PyTorch's arithmetic order; ``step``
    is the count including this step. Temporaries live in the backend's scratch memory."""
    grad = decayed_grad(backend, param, grad, weight_decay, maximize)
    clr = lr / (1 + (step - 1) * lr_decay)
    squared = owned_copy(backend, grad)
    squared *= grad
    state_sum += squared
    del squared
    std = backend.sqrt(state_sum)
    std += eps
    update = backend.scaled(grad, -clr)
    update /= std
    param += update


class Adagrad(Optimizer):
    _state_keys = ("step", "sum")

    # foreach, differentiable and fused: PyTorch's implementation switches (see nn.optim.optimizer).
    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    @staticmethod
    def _check_hyperparameters(h):
        for key, label in (("lr", "learning rate"), ("lr_decay", "lr_decay"), ("weight_decay", "weight_decay"),
                           ("initial_accumulator_value", "initial_accumulator_value"), ("eps", "eps")):
            if not h[key] >= 0:
                raise ValueError(f"Adagrad: invalid {label} {h[key]}; it must be >= 0")

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        # Like PyTorch, Adagrad's state exists from the start: the accumulator begins at
        # initial_accumulator_value, not at zero.
        group = self.param_groups[-1]
        for p in group["params"]:
            self.state[p] = self._fresh_state(p, group)

    def _fresh_state(self, p, group):
        return {"step": self._new_step(), "sum": self._zeros_like(p, group["initial_accumulator_value"])}

    def _update_group(self, group, params):
        # Python floats: a NumPy float64 hyperparameter would turn float32 state into float64
        settings = dict(lr=float(group["lr"]), lr_decay=float(group["lr_decay"]),
                        weight_decay=float(group["weight_decay"]), eps=float(group["eps"]), maximize=group["maximize"])
        for p in params:
            state = self.state[p]
            if not state:  # e.g. dropped by loading a state_dict that had none for it
                state.update(self._fresh_state(p, group))
            adagrad_update(p.data, p.grad.data, state["sum"].data, step=self._advance(state["step"]),
                           backend=p._backend, **settings)
