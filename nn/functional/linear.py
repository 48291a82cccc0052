"""``linear``: ``input @ weight.T + bias`` as one fused GEMM plus bias
(``nn_fused.linear``). A call with well-formed arguments passes its checks in a
few compares (the hot path); anything else goes through the full checks, which
say what is wrong and how to fix it."""
from autograd import Tensor
from autograd.ops import nn_fused

from .arguments import FLOATING, floating, require_tensor, same_dtype


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``: one fused GEMM plus bias; ``weight`` is (out, in)."""
    if isinstance(input, Tensor) and isinstance(weight, Tensor) and input._backend is weight._backend:
        x, w = input.data, weight.data  # the hot path: the checks in a few compares
        if (w.ndim == 2 and x.ndim and x.shape[-1] == w.shape[1] and x.dtype == w.dtype
                and FLOATING.get((weight._backend, w.dtype))
                and (bias is None or isinstance(bias, Tensor) and bias._backend is input._backend
                     and bias.data.shape == w.shape[:1] and bias.data.dtype == x.dtype)):
            return nn_fused.linear(input, weight, bias)
    floating("linear", input)
    floating("linear", weight, "weight")
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape {weight.shape}")
    if input.ndim == 0:
        raise ValueError(f"linear: the input is 0-d, but needs a last axis of {weight.shape[1]} features; "
                         "give it shape (..., in_features)")
    if input.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: the input's last axis has size {input.shape[-1]} (shape {input.shape}) "
                         f"but the weight {weight.shape} expects {weight.shape[1]}")
    same_dtype("linear", input, weight, "the weight")
    if bias is not None:
        require_tensor("linear", bias, "bias")
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"linear: bias must have shape ({weight.shape[0]},), got {bias.shape}")
        same_dtype("linear", input, bias, "the bias")
    return nn_fused.linear(input, weight, bias)
