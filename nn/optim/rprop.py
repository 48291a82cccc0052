"""Rprop: resilient backpropagation, a per-coordinate step size that grows while the
gradient keeps its sign and shrinks when it flips; only the gradient's sign is used."""
from .hyperparameter_checks import check_at_least_zero
from .optimizer import Optimizer, decayed_grad, owned_copy


def rprop_update(param, grad, prev, step_size, *, etaminus, etaplus, step_size_min, step_size_max, maximize,
                 backend):
    """One Rprop step on backend arrays, in place, in PyTorch's arithmetic order: ``prev``
    (the last gradient followed) and ``step_size`` change in place. Signs are PyTorch's,
    0 for NaN, so a NaN gradient moves nothing and changes no step size."""
    xp = backend.xp
    grad = decayed_grad(backend, param, grad, 0, maximize)
    agreement = owned_copy(backend, grad)
    agreement *= prev
    held, flipped = agreement > 0, agreement < 0
    del agreement
    # etaplus where the sign held, etaminus where it flipped, 1 where either was 0 (or NaN)
    factor = xp.where(flipped, xp.asarray(etaminus, dtype=step_size.dtype), xp.asarray(1, dtype=step_size.dtype))
    factor = xp.where(held, xp.asarray(etaplus, dtype=step_size.dtype), factor)
    del held
    step_size *= factor
    del factor
    step_size[...] = xp.clip(step_size, step_size_min, step_size_max)
    # where the sign flipped, this step neither moves nor remembers the gradient
    prev[...] = xp.where(flipped, xp.zeros((), dtype=prev.dtype), grad)
    del flipped
    move = xp.astype(prev > 0, step_size.dtype)
    move -= xp.astype(prev < 0, step_size.dtype)  # the sign of the gradient followed
    move *= step_size
    param -= move


class Rprop(Optimizer):
    _state_keys = ("step", "prev", "step_size")

    # capturable, foreach and differentiable: PyTorch's implementation switches (see nn.optim.optimizer).
    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False, foreach=None,
                 maximize=False, differentiable=False):
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    @staticmethod
    def _check_hyperparameters(h):
        check_at_least_zero("Rprop", h, ("lr",))
        etaminus, etaplus = h["etas"]
        if not 0 < etaminus < 1 < etaplus:
            raise ValueError(f"Rprop: invalid etas ({etaminus}, {etaplus}); they must satisfy "
                             "0 < etaminus < 1 < etaplus")

    def _update_group(self, group, params):
        etaminus, etaplus = (float(eta) for eta in group["etas"])
        step_size_min, step_size_max = (float(size) for size in group["step_sizes"])
        for p in params:
            state = self.state[p]
            if not state:
                state["step"] = self._new_step()
                state["prev"] = self._zeros_like(p)
                # (the first step size is the learning rate, which is read only here)
                state["step_size"] = self._zeros_like(p, float(group["lr"]))
            self._advance(state["step"])
            rprop_update(p.data, p.grad.data, state["prev"].data, state["step_size"].data, etaminus=etaminus,
                         etaplus=etaplus, step_size_min=step_size_min, step_size_max=step_size_max,
                         maximize=group["maximize"], backend=p._backend)
