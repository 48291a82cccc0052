"""Parameter: a leaf Tensor that a Module registers as learnable."""
from autograd import Tensor, empty, no_grad
from autograd.tensor import init, share_version, version_of


class Parameter(Tensor):
    """Wraps ``data`` (a Tensor, whose memory and in-place counter it shares, or anything ag.tensor takes)
    as a leaf that requires grad; ``Parameter()`` is an empty float tensor."""
    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = empty(0)
        if isinstance(data, Tensor):
            init(self, data.data, data._backend)
            # One memory, one in-place counter (as in PyTorch): an optimizer's step on the
            # parameter must fail a backward that saved the tensor it was made from.
            share_version(self, version_of(data))
        else:
            Tensor.__init__(self, data)
        if requires_grad:
            self.requires_grad = True

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


def zero_grads(params, set_to_none=True):
    """Drop each parameter's gradient (the default), or zero it in place; what both
    Module.zero_grad and Optimizer.zero_grad do."""
    for p in params:
        g = p.grad
        if g is None:
            continue
        if set_to_none:
            p.grad = None
            continue
        if g.grad_fn is not None:  # recorded with create_graph: leave that graph alone
            g = g.detach()
            p.grad = g
        with no_grad():
            g.zero_()
