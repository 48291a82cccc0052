"""Copying a tensor between devices, differentiably."""
import backends

from ..function import Function
from ..tensor import Tensor


class ToDevice(Function):
    @staticmethod
    def forward(ctx, x, target):
        ctx.source = x._backend
        array = target.from_numpy(x._backend.to_numpy(x.data))
        return Tensor._make(array, target)

    @staticmethod
    def backward(ctx, gy):
        return to_device(gy, ctx.source), None


def to_device(x, device):
    """``x`` on ``device`` (a name such as ``"cuda:0"``, or a Backend), as a copy whose
    gradient flows back to ``x``'s device; ``x`` itself where it already is."""
    if not isinstance(x, Tensor):
        raise TypeError(f"to_device: expected a Tensor, got {type(x).__name__}; make it one with ag.tensor(...)")
    backend = backends.get(device)
    if x._backend is backend:
        return x
    return ToDevice.apply(x, backend)
