"""PyTorch's ``inplace=True`` for the elementwise ops (activations and dropout):
the result is written into the input's memory where the graph allows it, else it
is a new tensor with the same values and gradients. One helper, so every such op
overwrites by the same rules; a second for the functional in-place activations
(``F.relu_`` and kin), which always write into the input, as Tensor's in-place
methods do."""
from .arguments import floating


def overwrite(op, input, result_of):
    """PyTorch's ``inplace=True`` for an activation: ``result_of(input)`` is written into
    ``input``'s memory and ``input`` takes the result's place in the graph, wherever
    the graph allows that (see ``relu``); elsewhere the result is a new tensor. The op
    runs on a copy of the old values when the graph is recorded, so what it saved for
    backward stays valid; ``relu`` alone has an in-place kernel."""
    if not input._graph_allows_overwrite():
        return result_of(input)
    return input._inplace(op, lambda old, _: result_of(old), None)


def in_place(op, input, result_of):
    """``result_of(input)`` written into ``input``, which is returned and takes the
    result's place in the graph, as ``Tensor.exp_`` does; refused, as the in-place
    methods are, for a leaf that requires grad (outside ``no_grad()``) and for a
    broadcast view. A view writes through to its base, as in PyTorch."""
    floating(op, input)
    return input._inplace(op, lambda old, _: result_of(old), None)
