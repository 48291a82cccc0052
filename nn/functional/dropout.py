"""``dropout``: zero each element with probability ``p`` and scale the rest by
1/(1-p) in training, the identity otherwise. The mask is a constant factor, so
this is a composition of Tensor ops with no gradient code of its own."""
from autograd.ops.elementwise import constant

from .arguments import floating, real
from .inplace import overwrite


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p), in
    training; the identity otherwise. ``inplace=True`` writes the result over
    ``input`` (see ``overwrite``)."""
    floating("dropout", input)
    if not real(p) or not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p!r}")
    if not training or p == 0:
        return input
    if inplace:
        return overwrite("dropout_", input, lambda x: _dropout(x, p))
    return _dropout(input, p)


def _dropout(input, p):
    backend = input._backend
    xp = backend.xp
    dtype = input.data.dtype
    if p == 1:
        return input * constant(xp.zeros(input.data.shape, dtype=dtype), input)
    keep = backend.uniform(input.data.shape, 0.0, 1.0, input.dtype) >= p
    return input * constant(xp.astype(keep, dtype) * (1.0 / (1.0 - p)), input)
