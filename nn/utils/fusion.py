"""Folding an eval-mode batch norm into the layer before it, as PyTorch's ``torch.nn.utils.fusion``:
``bn(conv(x))`` becomes one convolution (and ``bn(linear(x))`` one Linear) whose weight is scaled
per output channel by ``gamma / sqrt(running_var + eps)`` and whose bias absorbs the shift.
Inference then runs one op where it ran two, with the same values up to rounding.

The weights are computed without recording a graph, from the layers' current values; the
fused layer is a deep copy, so the originals are left as they were. A layer whose weight or bias is
computed before each call (pruned, parametrized, weight-normed) is refused up front with a ValueError
naming the fix (PyTorch's fails on the assignment, or in the fused layer's first forward)."""
import copy

from autograd import no_grad, ones_like, zeros, zeros_like

from ..parameter import Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights"]


def _check_eval(caller, *modules):
    if any(m.training for m in modules):
        raise ValueError(f"{caller}: fusion is only for eval mode (the batch norm would normalize by the batch's "
                         "statistics in training); call .eval() on both layers first")


def _check_running_stats(caller, bn):
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError(f"{caller}: the batch norm keeps no running statistics (track_running_stats=False), so "
                         "in eval mode it normalizes by each batch's and cannot be folded into a weight")


def _check_plain_weights(caller, layer):
    """Refuse a layer whose weight or bias is computed before each call (pruning, a parametrization,
    the hook-based weight_norm): its copy would compute it again, over the fused one, or refuse the
    Parameter (PyTorch's fails there too, on the assignment or in the first forward)."""
    for name in ("weight", "bias"):
        if getattr(layer, name, None) is not None and name not in layer._parameters:
            raise ValueError(f"{caller}: the {type(layer).__name__}'s {name} is computed from other tensors (pruned, "
                             "parametrized or weight-normed), so it cannot be replaced by the fused one; make it a "
                             "plain Parameter first (prune.remove, parametrize.remove_parametrizations or "
                             "remove_weight_norm)")


def fuse_conv_bn_eval(conv, bn, transpose=False):
    """A copy of ``conv`` that computes ``bn(conv(x))`` for eval-mode ``conv`` and ``bn``
    (``transpose``: conv is a transposed convolution, whose output channels are the weight's axis 1;
    grouped ones too, which PyTorch's refuses)."""
    _check_eval("fuse_conv_bn_eval", conv, bn)
    _check_plain_weights("fuse_conv_bn_eval", conv)
    # The wrong flag scales the input channels: silently wrong where there are as many as outputs
    transposed = getattr(conv, "transposed", transpose)
    if transposed != transpose:
        raise ValueError(f"fuse_conv_bn_eval: {type(conv).__name__} is {'a' if transposed else 'not a'} transposed "
                         f"convolution, but transpose={transpose}; pass transpose={transposed}")
    out_channels = getattr(conv, "out_channels", bn.num_features)
    if bn.num_features != out_channels:
        raise ValueError(f"fuse_conv_bn_eval: the batch norm normalizes {bn.num_features} channels, but the "
                         f"{type(conv).__name__} has {out_channels} output channels; they must be equal")
    _check_running_stats("fuse_conv_bn_eval", bn)
    fused = copy.deepcopy(conv)
    weight, groups = fused.weight, getattr(conv, "groups", 1)
    regroup = transpose and groups > 1
    if regroup:  # (in, out/groups, *kernel) as (in/groups, out, *kernel): axis 1 then runs over every output
        in_channels, per_group, *kernel = weight.shape
        with no_grad():
            weight = weight.reshape(groups, -1, per_group, *kernel).swapaxes(0, 1).reshape(
                in_channels // groups, -1, *kernel)
    weight, fused.bias = fuse_conv_bn_weights(weight, fused.bias, bn.running_mean, bn.running_var, bn.eps,
                                              bn.weight, bn.bias, transpose)
    if regroup:  # and back
        with no_grad():
            weight = weight.reshape(in_channels // groups, groups, per_group, *kernel).swapaxes(0, 1).reshape(
                in_channels, per_group, *kernel)
        weight = Parameter(weight, fused.weight.requires_grad)
    fused.weight = weight
    return fused


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose=False):
    """(weight, bias) Parameters of the convolution that computes ``bn(conv(x))``: ``conv_b``,
    ``bn_w`` and ``bn_b`` may be None (a zero bias, a scale of one, a shift of zero)."""
    with no_grad():
        conv_b = zeros_like(bn_rm).astype(conv_w.dtype, copy=False) if conv_b is None else conv_b
        bn_w = ones_like(bn_rm) if bn_w is None else bn_w
        bn_b = zeros_like(bn_rm) if bn_b is None else bn_b
        scale = bn_w * (bn_rv + bn_eps) ** -0.5
        # one factor per output channel: axis 0 of a convolution's weight, axis 1 of a transposed one's
        shape = (1, -1) if transpose else (-1, 1)
        weight = conv_w * scale.reshape(shape + (1,) * (conv_w.ndim - 2))
        bias = (conv_b - bn_rm) * scale + bn_b
    return (Parameter(weight.astype(conv_w.dtype, copy=False), conv_w.requires_grad),
            Parameter(bias.astype(conv_b.dtype, copy=False), conv_b.requires_grad))


def fuse_linear_bn_eval(linear, bn):
    """A copy of ``linear`` that computes ``bn(linear(x))`` for eval-mode layers; ``bn`` has
    one feature per output of ``linear``, or one for all of them."""
    _check_eval("fuse_linear_bn_eval", linear, bn)
    _check_plain_weights("fuse_linear_bn_eval", linear)
    if bn.num_features not in (linear.out_features, 1):
        raise ValueError(f"fuse_linear_bn_eval: the batch norm normalizes {bn.num_features} features, but the Linear "
                         f"has {linear.out_features} outputs; they must be equal, or the batch norm must have one")
    _check_running_stats("fuse_linear_bn_eval", bn)
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                      bn.eps, bn.weight, bn.bias)
    return fused


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """(weight, bias) Parameters of the Linear that computes ``bn(linear(x))``; ``linear_b``,
    ``bn_w`` and ``bn_b`` may be None."""
    with no_grad():
        # (one bias per output, also under a batch norm of one feature, whose (1,) PyTorch's would keep)
        linear_b = zeros(linear_w.shape[0], dtype=linear_w.dtype, device=linear_w.device) if linear_b is None \
            else linear_b
        bn_w = ones_like(bn_rm) if bn_w is None else bn_w
        bn_b = zeros_like(bn_rm) if bn_b is None else bn_b
        scale = bn_w * (bn_rv + bn_eps) ** -0.5
        weight = linear_w * scale.reshape(-1, 1)
        bias = (linear_b - bn_rm) * scale + bn_b
    return (Parameter(weight.astype(linear_w.dtype, copy=False), linear_w.requires_grad),
            Parameter(bias.astype(linear_b.dtype, copy=False), linear_b.requires_grad))
