"""The backward of a fused op under create_graph, by recomputation: the op's outputs made
again from ops whose backward is recorded, and differentiated, as activation
checkpointing does. The fused ops' plain backward works on bare arrays, which a
recorded backward cannot; this keeps their gradients differentiable to any order
without a second copy of their formulas in Tensor ops."""
from ...function import Function


def recomputed_backward(ctx, recompute, output_grads, n_inputs):
    """A fused op's backward under create_graph: ``recompute(ctx, *inputs)`` makes its
    outputs again from ops whose backward is written in Tensor ops (the recurrent step
    ops; linear and cross-entropy), then ag.grad of that graph, recorded, gives the
    gradients for ``output_grads``. The op's first ``n_inputs`` arguments are its
    tensors, saved first, in order. The recomputation starts from aliases of them, and
    ag.grad stops at those: at the inputs themselves it would run their hooks, which the
    pass that called this runs too."""
    from ...engine import grad  # (the engine imports the ops)
    inputs = ctx.saved_tensors[:n_inputs]
    needs = [need and x.requires_grad for x, need in zip(inputs, ctx.needs_input_grad)]
    aliases = [_Alias.apply(x) if need else x for x, need in zip(inputs, needs)]
    outputs = recompute(ctx, *aliases)
    pairs = [(out, g) for out, g in zip(outputs, output_grads) if g is not None]
    wanted = [alias for alias, need in zip(aliases, needs) if need]
    others = (None,) * (len(ctx.needs_input_grad) - n_inputs)  # for the op's other arguments
    if not pairs or not wanted:
        return (None,) * n_inputs + others
    found = iter(grad([out for out, _ in pairs], wanted, [g for _, g in pairs], create_graph=True,
                      allow_unused=True))
    return tuple(next(found) if need else None for need in needs) + others


class _Alias(Function):
    """The input itself, as the output of a node of its own (see recomputed_backward)."""

    @staticmethod
    def forward(ctx, x):
        return x.data

    @staticmethod
    def backward(ctx, g):
        return g
