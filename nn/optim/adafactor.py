"""Adafactor: Adam's second moment without its memory cost. A matrix (or a batch of
them: the last two axes) keeps only running means of its gradient's squares along
each row and each column, whose outer product estimates the full second moment; a
vector keeps the full average. The step is relative to the parameter's size (its
RMS) and clipped by the update's own RMS, so there is no first moment and little to tune.

As PyTorch's, but for eps1=None (each parameter's dtype's machine epsilon), which PyTorch
takes from the group's first parameter for all of them, and for an empty parameter, which
is left alone where PyTorch's step divides by its zero size."""
from autograd import Tensor

from .hyperparameter_checks import check_at_least_zero
from .optimizer import Optimizer, _is_number, lerp_, owned_copy


def adafactor_update(param, grad, row_var, col_var, variance, *, step, lr, beta2_decay, eps1, eps2, d,
                     weight_decay, maximize, backend):
    """One Adafactor step on backend arrays, in place, in PyTorch's arithmetic order;
    ``step`` is the count including this step. A parameter with two axes or more has
    ``row_var`` and ``col_var`` (``variance`` None), the others ``variance``."""
    if param.size == 0:  # nothing to update (PyTorch divides by the zero size and raises)
        return
    xp = backend.xp
    if maximize:
        grad = backend.scaled(grad, -1)
    one_minus_beta2 = step ** beta2_decay
    relative_step = min(lr, 1 / (step ** 0.5))
    step_size = max(eps2, _rms(xp, param)) * relative_step  # from the parameter before its decay
    if weight_decay != 0:
        param *= 1 - lr * weight_decay
    if variance is None:
        lerp_(backend, row_var, _mean_square(xp, grad, axis=-1), one_minus_beta2)
        lerp_(backend, col_var, _mean_square(xp, grad, axis=-2), one_minus_beta2)
        estimate = backend.matmul(row_var, col_var, scratch=True)  # their outer product, over the last two axes
        estimate /= xp.clip(xp.mean(row_var, axis=-2, keepdims=True), eps1, None)
    else:
        squared = owned_copy(backend, grad)
        squared *= grad
        lerp_(backend, variance, squared, one_minus_beta2)
        del squared
        estimate = variance  # (clip below makes a new array)
    # eps1 squared: its square root bounds the denominator below by eps1
    update = backend.sqrt(xp.clip(estimate, eps1 * eps1, None))
    del estimate
    update = 1 / update
    update *= grad
    clipping = max(1.0, _rms(xp, update) / d)
    backend.axpy_(param, -step_size / clipping, update)


def _rms(xp, a):
    """The root mean square of array ``a``'s elements, as PyTorch's ``a.norm() / numel ** 0.5``."""
    return float(xp.sqrt(xp.sum(a * a))) / (a.size ** 0.5)


def _mean_square(xp, grad, axis):
    """The mean of ``grad``'s squares along ``axis`` (kept), as PyTorch's squared norm over
    the axis's length (a square root and a square, not a plain mean of squares)."""
    mean = xp.sqrt(xp.sum(grad * grad, axis=axis, keepdims=True))
    mean *= mean
    mean /= grad.shape[axis]
    return mean


class Adafactor(Optimizer):
    _state_keys = ("step",)  # and row_var and col_var, or variance: see _required_state

    # foreach: PyTorch's implementation switch (see nn.optim.optimizer).
    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *,
                 foreach=None, maximize=False):
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _check_types(self, hyper):
        # eps is a pair here, (eps1, eps2), where every other optimizer's is one number
        if "eps" in hyper:
            eps = hyper["eps"]
            if isinstance(eps, (tuple, list)) and len(eps) != 2:
                raise ValueError(f"Adafactor: eps must be a pair (eps1, eps2), got {eps!r}")
            if not isinstance(eps, (tuple, list)) or not (eps[0] is None or _is_number(eps[0])) \
                    or not _is_number(eps[1]):
                raise TypeError("Adafactor: eps must be a pair of numbers (eps1, eps2), eps1 None for the "
                                f"machine epsilon of each parameter's dtype, got {eps!r}")
        super()._check_types({key: value for key, value in hyper.items() if key != "eps"})

    @staticmethod
    def _check_hyperparameters(h):
        check_at_least_zero("Adafactor", h, ("lr",))
        if not h["beta2_decay"] <= 0:
            raise ValueError(f"Adafactor: invalid beta2_decay {h['beta2_decay']}; it must be <= 0")
        eps1, eps2 = h["eps"]
        if eps1 is not None and not eps1 >= 0:
            raise ValueError(f"Adafactor: invalid eps1 {eps1}; it must be >= 0 (or None)")
        if not eps2 >= 0:
            raise ValueError(f"Adafactor: invalid eps2 {eps2}; it must be >= 0")
        if not h["d"] >= 1:
            raise ValueError(f"Adafactor: invalid clipping threshold d {h['d']}; it must be >= 1")
        check_at_least_zero("Adafactor", h, ("weight_decay",))

    def _required_state(self, param):
        return ("step", "row_var", "col_var") if param.ndim > 1 else ("step", "variance")

    def _state_shape(self, key, param):
        shape = param.shape
        if key == "row_var":
            return shape[:-1] + (1,)
        if key == "col_var":
            return shape[:-2] + (1, shape[-1])
        return shape

    def _update_group(self, group, params):
        eps1, eps2 = group["eps"]
        # Python floats: a NumPy float64 hyperparameter would turn float32 state into float64
        settings = dict(lr=float(group["lr"]), beta2_decay=float(group["beta2_decay"]), eps2=float(eps2),
                        d=float(group["d"]), weight_decay=float(group["weight_decay"]), maximize=group["maximize"])
        for p in params:
            state = self.state[p]
            if not state:
                state["step"] = self._new_step()
                for key in self._required_state(p)[1:]:
                    xp = p._backend.xp
                    state[key] = Tensor._make(xp.zeros(self._state_shape(key, p), dtype=p.data.dtype), p._backend)
            factored = p.ndim > 1
            # eps1=None: each parameter's own dtype's epsilon (see the module docstring)
            adafactor_update(p.data, p.grad.data, state["row_var"].data if factored else None,
                             state["col_var"].data if factored else None,
                             None if factored else state["variance"].data, step=self._advance(state["step"]),
                             eps1=float(p._backend.xp.finfo(p.data.dtype).eps if eps1 is None else eps1),
                             backend=p._backend, **settings)
