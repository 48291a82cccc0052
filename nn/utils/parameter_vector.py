"""All parameters as one flat vector and back, as PyTorch's ``parameters_to_vector`` and
``vector_to_parameters`` (for second-order methods, evolution strategies, weight averaging)."""
from autograd import Tensor, concat, no_grad
from autograd.tensor import count_change


def parameters_to_vector(parameters):
    """The parameters flattened and joined in order into one 1-D tensor, differentiable
    with respect to each of them."""
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    if not parameters:
        raise ValueError("parameters_to_vector: no parameters to join; pass the parameters() of a model "
                         "that has some")
    devices = {p.device for p in parameters}
    if len(devices) > 1:
        raise ValueError(f"parameters_to_vector: the parameters are on different devices {sorted(devices)}; "
                         "move the model to one device first")
    return concat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Write consecutive slices of the 1-D ``vec`` into the parameters, in order, in place
    (each keeps its identity and dtype, so an optimizer holding it sees the new values);
    nothing is recorded for backward. As in PyTorch, entries of ``vec`` past the last
    parameter are left unused."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: vec must be a Tensor, not {type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"vector_to_parameters: vec must be 1-D (as parameters_to_vector gives), not of shape "
                         f"{vec.shape}")
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    needed = sum(p.size for p in parameters)
    if vec.shape[0] < needed:  # checked first, so a short vector changes no parameter
        raise ValueError(f"vector_to_parameters: vec has {vec.shape[0]} elements, but the parameters "
                         f"hold {needed}")
    for p in parameters:
        if p.device != vec.device:
            raise ValueError(f"vector_to_parameters: vec is on {vec.device} but a parameter is on {p.device}; "
                             "move one of them")
    start = 0
    with no_grad():
        for p in parameters:
            piece = vec.data[start:start + p.size]
            p.data[...] = p._backend.xp.reshape(p._backend.xp.astype(piece, p.data.dtype), p.shape)
            count_change(p)
            start += p.size
