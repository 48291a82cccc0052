"""Parameter: a leaf Tensor that a Module registers as learnable."""
from autograd import Tensor
from autograd.tensor import init


class Parameter(Tensor):
    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        if isinstance(data, Tensor):
            init(self, data.data, data._backend)
        else:
            Tensor.__init__(self, data)
        if requires_grad:
            self.requires_grad = True

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
