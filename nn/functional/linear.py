"""``linear``: ``input @ weight.T + bias`` as one fused GEMM plus bias
(``nn_fused.linear``). A call with well-formed arguments passes its checks in a
few compares (the hot path); anything else goes through the full checks, which
say what is wrong and how to fix it. ``bilinear``: ``x1^T A x2 + b`` as two GEMMs."""
import math

from autograd import Tensor
from autograd.autocast_mode import autocast_op
from autograd.ops import nn_fused
from autograd.ops.linalg import matmul
from autograd.ops.shape import reshape, transpose

from .arguments import FLOATING, floating, require_tensor, same_dtype


@autocast_op("linear")
def linear(input, weight, bias=None):
    """``input @ weight.T + bias``: one fused GEMM plus bias; ``weight`` is (out, in). As in
    PyTorch, ``weight`` may also be (in,), which drops the output's last axis (its bias is
    0-d), and ``bias`` anything that broadcasts to the output, such as ()."""
    if isinstance(input, Tensor) and isinstance(weight, Tensor) and input._backend is weight._backend:
        x, w = input.data, weight.data  # the hot path: the checks in a few compares
        if (w.ndim == 2 and x.ndim and x.shape[-1] == w.shape[1] and x.dtype == w.dtype
                and FLOATING.get((weight._backend, w.dtype))
                and (bias is None or isinstance(bias, Tensor) and bias._backend is input._backend
                     and bias.data.shape == w.shape[:1] and bias.data.dtype == x.dtype)):
            return nn_fused.linear(input, weight, bias)
    floating("linear", input)
    floating("linear", weight, "weight")
    if weight.ndim not in (1, 2):
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features) or 1-D (in_features,), "
                         f"got shape {weight.shape}")
    if input.ndim == 0:
        raise ValueError(f"linear: the input is 0-d, but needs a last axis of {weight.shape[-1]} features; "
                         "give it shape (..., in_features)")
    if input.shape[-1] != weight.shape[-1]:
        raise ValueError(f"linear: the input's last axis has size {input.shape[-1]} (shape {input.shape}) "
                         f"but the weight {weight.shape} expects {weight.shape[-1]}")
    same_dtype("linear", input, weight, "the weight")
    if bias is not None:
        require_tensor("linear", bias, "bias")
        same_dtype("linear", input, bias, "the bias")
    if weight.ndim == 1:  # one output feature, whose axis the result drops
        if bias is not None and bias.shape != ():
            raise ValueError(f"linear: a weight of shape {weight.shape} takes a bias of shape (), got {bias.shape}")
        out = reshape(nn_fused.linear(input, reshape(weight, (1, weight.shape[0])), None), input.shape[:-1])
        return out if bias is None else out + bias
    if bias is None or bias.shape == (weight.shape[0],):
        return nn_fused.linear(input, weight, bias)
    out_shape = input.shape[:-1] + weight.shape[:1]
    if not _broadcasts_to(bias.shape, out_shape):
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},) or broadcast to the output's "
                         f"{out_shape}, got {bias.shape}")
    return nn_fused.linear(input, weight, None) + bias


def _broadcasts_to(shape, target):
    """Whether an array of ``shape`` broadcasts to ``target`` without changing it."""
    return len(shape) <= len(target) and all(s in (1, t) for s, t in zip(reversed(shape), reversed(target)))


@autocast_op("bilinear")
def bilinear(input1, input2, weight, bias=None):
    """``y_o = input1^T weight[o] input2 + bias[o]`` over the last axes of ``input1``
    (..., in1) and ``input2`` (..., in2), whose leading axes must agree; ``weight`` is
    (out, in1, in2), as PyTorch's. Two GEMMs: ``input1`` times the weight laid out as
    (in1, out * in2) gives every ``input1^T weight[o]`` at once, then a batched
    matrix-vector product with ``input2``; their gradients are GEMMs too."""
    op = "bilinear"
    floating(op, input1, "input1")
    floating(op, input2, "input2")
    floating(op, weight, "weight")
    if weight.ndim != 3:
        raise ValueError(f"{op}: weight must be 3-D (out_features, in1_features, in2_features), got shape "
                         f"{weight.shape}")
    out, in1, in2 = weight.shape
    if input1.ndim == 0 or input2.ndim == 0:
        raise ValueError(f"{op}: the inputs need a last axis of features, got shapes {input1.shape} and "
                         f"{input2.shape}")
    if input1.shape[-1] != in1 or input2.shape[-1] != in2:
        raise ValueError(f"{op}: the inputs' last axes ({input1.shape[-1]} and {input2.shape[-1]}, shapes "
                         f"{input1.shape} and {input2.shape}) must match the weight {weight.shape}: "
                         f"{in1} and {in2}")
    if input1.shape[:-1] != input2.shape[:-1]:
        raise ValueError(f"{op}: the inputs' leading axes must agree, got shapes {input1.shape} and "
                         f"{input2.shape}")
    same_dtype(op, input1, input2, "input2")
    same_dtype(op, input1, weight, "the weight")
    if bias is not None:
        require_tensor(op, bias, "bias")
        if bias.shape != (out,):
            raise ValueError(f"{op}: bias must have shape ({out},), got {bias.shape}")
        same_dtype(op, input1, bias, "the bias")
    lead = input1.shape[:-1]
    n = math.prod(lead)
    laid_out = reshape(transpose(weight, 1, 0, 2), (in1, out * in2))
    partial = reshape(matmul(reshape(input1, (n, in1)), laid_out), (n, out, in2))
    y = reshape(matmul(partial, reshape(input2, (n, in2, 1))), lead + (out,))
    return y if bias is None else y + bias
