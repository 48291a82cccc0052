"""A clamp that keeps the gradient of the value it clamps, as PyTorch's cosine
similarity and Gaussian NLL loss get by clamping a clone in place under no_grad."""
from autograd.ops.elementwise import where


def clamped_values(x, low):
    """``x`` with its values raised to at least ``low`` but the gradient of ``x`` itself,
    as PyTorch gets by clamping a clone in place under no_grad (cosine_similarity's
    norms, gaussian_nll_loss's variance): where x < low the result is x - x + low,
    exactly ``low`` in value, and x in the graph."""
    return where(x < low, x - x.detach() + low, x)
