"""Muon: momentum whose update direction is orthogonalized, for the 2-D weights of hidden
layers (optimize biases, embeddings and the other parameters with AdamW or the like).
The momentum (Nesterov's by default) goes through a few Newton-Schulz iterations that
push its singular values towards 1, so that every direction moves at about one rate.

PyTorch runs the iterations in bfloat16. topograd has no bfloat16, so they run in float32
with each result rounded to bfloat16, which is what PyTorch's CPU kernels do (they
accumulate in float32 and round once): the updates match PyTorch's bit for bit on small
matrices, and on large ones differ where a float32 sum taken in another order lands on the
other side of a bfloat16 rounding boundary, by a bfloat16 rounding (2**-8 relative).

Where PyTorch's step refuses a group (ns_steps of 100 or more, ns_coefficients that are not
three numbers, a parameter that is not a matrix added by add_param_group), after updating
the groups before it, topograd refuses it when it is made or loaded, and a negative ns_steps
too (PyTorch's runs no iteration). An empty matrix is left alone (PyTorch's divides by its
zero width)."""
import math
import numbers

from backends import dtypes

from ..parameter import is_lazy
from .hyperparameter_checks import check_at_least_zero
from .optimizer import Optimizer, _is_number, lerp_, owned_copy

ADJUST_LR_FNS = (None, "original", "match_rms_adamw")


def muon_update(param, grad, momentum_buffer, *, lr, weight_decay, momentum, nesterov, ns_coefficients, eps,
                ns_steps, adjust_lr_fn, backend):
    """One Muon step on backend arrays (matrices), in place, in PyTorch's arithmetic order."""
    lerp_(backend, momentum_buffer, grad, 1 - momentum)
    if nesterov:
        direction = owned_copy(backend, grad)
        lerp_(backend, direction, momentum_buffer, momentum)
    else:
        direction = momentum_buffer
    rows, cols = param.shape
    if rows == 0 or cols == 0:  # nothing to update (PyTorch divides by the zero width and raises)
        return
    orthogonal = orthogonalize(backend, direction, ns_coefficients, ns_steps, eps)
    if weight_decay != 0:
        param *= 1 - lr * weight_decay
    if adjust_lr_fn == "match_rms_adamw":  # Moonshot's: the update's RMS near AdamW's
        ratio = 0.2 * math.sqrt(max(rows, cols))
    else:  # Keller Jordan's original
        ratio = math.sqrt(max(1, rows / cols))
    backend.axpy_(param, -(lr * ratio), backend.xp.astype(orthogonal, param.dtype, copy=False))


def orthogonalize(backend, matrix, coefficients, steps, eps):
    """``steps`` quintic Newton-Schulz iterations ``X <- a X + (b A + c A A) X``, ``A = X X^T``,
    from ``matrix`` over its norm: its singular values end near 1 (between about 0.5 and 1.5
    with Muon's coefficients, which favour speed over convergence). In bfloat16 values held
    in float32 (see the module docstring). A tall matrix is transposed first, so that the
    Gram matrix ``X X^T`` is the smaller of the two."""
    xp = backend.xp
    a, b, c = (float(k) for k in coefficients)
    x = _round_to_bfloat16(backend, xp.astype(matrix, backend.native_dtype(dtypes.float32)))
    tall = x.shape[0] > x.shape[1]
    if tall:
        x = x.T
    norm = _round_to_bfloat16(backend, xp.sqrt(xp.sum(x * x)))
    norm = _round_to_bfloat16(backend, xp.clip(norm, float(eps), None))
    x = _round_to_bfloat16(backend, x / norm)
    for _ in range(steps):
        gram = _round_to_bfloat16(backend, backend.matmul(x, x.T, scratch=True))
        polynomial = backend.matmul(gram, gram, scratch=True)
        polynomial *= c
        polynomial += gram * b
        polynomial = _round_to_bfloat16(backend, polynomial)
        product = backend.matmul(polynomial, x, scratch=True)
        product += x * a
        x = _round_to_bfloat16(backend, product)
    return x.T if tall else x


# Veltkamp's splitting: (s * x) - (s * x - x) with s = 2**45 + 1 rounds a float64 x to its
# 53 - 45 = 8 leading bits, bfloat16's precision, to nearest with ties to even.
_BFLOAT16_SPLITTER = 2.0 ** 45 + 1


def _round_to_bfloat16(backend, x):
    """Float32 array ``x`` rounded to bfloat16, as float32. Through float64, where ``x`` times
    the splitter cannot overflow; float32's subnormals (below 2**-126), where bfloat16 keeps
    fewer bits, keep 8 here."""
    xp = backend.xp
    wide = xp.astype(x, backend.native_dtype(dtypes.float64))
    split = wide * _BFLOAT16_SPLITTER
    split -= split - wide
    return xp.astype(split, x.dtype)


class Muon(Optimizer):
    _state_keys = ("momentum_buffer",)
    _scalar_state_keys = ()  # no step counter

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=(3.4445, -4.7750, 2.0315), eps=1e-7, ns_steps=5, adjust_lr_fn=None):
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)

    def _check_parameter(self, index, param):
        if is_lazy(param) or param.ndim != 2:
            found = "no shape yet (a Lazy module's)" if is_lazy(param) else f"shape {param.shape}"
            raise ValueError(f"Muon only supports 2-D parameters (matrices), but parameter {index} has {found}; "
                             "optimize the others (biases, embeddings) with another optimizer, such as AdamW")

    def _check_types(self, hyper):
        # What PyTorch's refuses at each step, refused here before anything changes, on
        # loading a state dict too
        super()._check_types(hyper)
        if "ns_coefficients" in hyper:
            coefficients = hyper["ns_coefficients"]
            if not isinstance(coefficients, (tuple, list)) or not all(map(_is_number, coefficients)):
                raise TypeError(f"Muon: ns_coefficients must be three numbers (a, b, c), got {coefficients!r}")
            if len(coefficients) != 3:
                raise ValueError(f"Muon: ns_coefficients must be three numbers (a, b, c), got {coefficients!r}")
        if "ns_steps" in hyper:
            steps = hyper["ns_steps"]
            if not isinstance(steps, numbers.Integral) or isinstance(steps, bool):
                raise TypeError(f"Muon: ns_steps must be an integer, got {type(steps).__name__} {steps!r}")
            if not 0 <= steps < 100:
                raise ValueError(f"Muon: invalid ns_steps {steps}; it must be in [0, 100) (PyTorch's bound, "
                                 "for the time a step takes)")
        if hyper.get("adjust_lr_fn") not in ADJUST_LR_FNS:
            raise ValueError(f"Muon: unknown adjust_lr_fn {hyper['adjust_lr_fn']!r}; use None or 'original' "
                             "(Keller Jordan's), or 'match_rms_adamw' (Moonshot's)")

    @staticmethod
    def _check_hyperparameters(h):
        check_at_least_zero("Muon", h, ("lr", "momentum", "weight_decay"))

    def _update_group(self, group, params):
        # Python floats: a NumPy float64 hyperparameter would turn float32 state into float64
        settings = dict(lr=float(group["lr"]), weight_decay=float(group["weight_decay"]),
                        momentum=float(group["momentum"]), nesterov=group["nesterov"],
                        ns_coefficients=group["ns_coefficients"], eps=float(group["eps"]),
                        ns_steps=int(group["ns_steps"]), adjust_lr_fn=group["adjust_lr_fn"])
        for p in params:
            state = self.state[p]
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = self._zeros_like(p)
            muon_update(p.data, p.grad.data, state["momentum_buffer"].data, backend=p._backend, **settings)
