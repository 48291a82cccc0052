"""Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay."""
from autograd import Tensor

from .optimizer import Optimizer, decayed_grad


def sgd_update(param, grad, momentum_buffer, *, lr, momentum, dampening, weight_decay, nesterov, maximize,
               backend):
    """One SGD step on backend arrays, changing ``param`` (and the buffer) in place, in
    PyTorch's arithmetic order. Returns the momentum buffer, new on the first step.
    Temporaries live in the backend's scratch memory (see Backend.scaled)."""
    grad = decayed_grad(backend, param, grad, weight_decay, maximize)
    if momentum != 0:
        if momentum_buffer is None:
            momentum_buffer = backend.xp.asarray(grad, copy=True)
        else:
            momentum_buffer *= momentum
            if dampening == 0:
                momentum_buffer += grad
            else:
                momentum_buffer += backend.scaled(grad, 1 - dampening)
        if nesterov:
            ahead = backend.scaled(momentum_buffer, momentum)
            ahead += grad  # grad + momentum * buffer
            grad = ahead
        else:
            grad = momentum_buffer
    backend.axpy_(param, -lr, grad)  # param.add_(grad, alpha=-lr), with no param-sized temporary
    return momentum_buffer


class SGD(Optimizer):
    # foreach, differentiable and fused: PyTorch's implementation switches (see nn.optim.optimizer).
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False,
                 foreach=None, differentiable=False, fused=None):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach, differentiable=differentiable,
                        fused=fused)
        super().__init__(params, defaults)

    @staticmethod
    def _check_hyperparameters(h):
        if not h["lr"] >= 0:
            raise ValueError(f"SGD: invalid learning rate {h['lr']}; it must be >= 0")
        if not h["momentum"] >= 0:
            raise ValueError(f"SGD: invalid momentum {h['momentum']}; it must be >= 0")
        if not h["weight_decay"] >= 0:
            raise ValueError(f"SGD: invalid weight_decay {h['weight_decay']}; it must be >= 0")
        if h["nesterov"] and (h["momentum"] <= 0 or h["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0, got "
                             f"momentum={h['momentum']}, dampening={h['dampening']}")

    def _update_group(self, group, params):
        momentum = float(group["momentum"])
        # Python floats: a NumPy float64 hyperparameter would turn float32 state into float64
        settings = dict(lr=float(group["lr"]), momentum=momentum, dampening=float(group["dampening"]),
                        weight_decay=float(group["weight_decay"]), nesterov=group["nesterov"],
                        maximize=group["maximize"])
        for p in params:
            # Like PyTorch, the state holds a momentum buffer only when momentum is on.
            state = self.state[p] if momentum != 0 else None
            held = None if state is None else state.get("momentum_buffer")
            buf = sgd_update(p.data, p.grad.data, None if held is None else held.data,
                             backend=p._backend, **settings)
            if state is not None and held is None:
                state["momentum_buffer"] = Tensor._make(buf, p._backend)
