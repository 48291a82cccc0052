"""Norms, distances and similarities of vectors with PyTorch's names and numerics:
``normalize``, ``pairwise_distance``, ``pdist`` and ``cosine_similarity`` (``normalize`` and
``cosine_similarity`` take ``axis``, as every tensor op does), and the p-norm along
an axis (autograd.linalg's, which the triplet-margin loss shares). Compositions of
Tensor ops, with no gradient code: each ``eps`` sits where PyTorch puts it."""
from autograd.autocast_mode import autocast_op
from autograd.linalg import norm_order, p_norm
from autograd.ops import nn_fused
from autograd.ops.nn_fused.pdist import composed_pdist
from autograd.ops.elementwise import clip
from autograd.ops.reduction import sum as _sum
from autograd.ops.shape import broadcast_to
from autograd.shapes import broadcast_shapes, single_axis
from backends import dtypes

from .arguments import floating, kind, real_number, require_tensor
from .clamping import clamped_values


@autocast_op("normalize")
def normalize(input, p=2.0, axis=1, eps=1e-12, out=None):
    """``input / max(||input||_p, eps)``, the p-norm taken along ``axis`` (an int or a
    tuple). A zero vector stays zero; below eps the norm gets no gradient, as PyTorch's
    clamp_min. ``out=`` is PyTorch's non-differentiable output buffer, refused here."""
    op = "normalize"
    if out is not None:
        raise TypeError(f"{op}: out= is not supported (it writes into a buffer outside the graph); use the "
                        "returned tensor, or copy it into yours with out[...] = result")
    floating(op, input)
    p = norm_order(op, p)
    return input / clip(p_norm(op, input, p, axis, keepdims=True), min=real_number(op, "eps", eps))


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p along the last axis of the broadcast shape, as PyTorch
    computes it: the eps inside the norm keeps the distance (and its gradient)
    finite and nonzero where x1 == x2. Integer inputs give the default float."""
    op = "pairwise_distance"
    p = norm_order(op, p)
    for name, x in (("x1", x1), ("x2", x2)):
        if kind(require_tensor(op, x, name)) not in "fiu":
            raise TypeError(f"{op}: {name} must be a number tensor, not {x.dtype}")
    ndim = len(broadcast_shapes(op, x1.shape, x2.shape))
    difference = x1 - x2 + real_number(op, "eps", eps)
    return p_norm(op, difference, p, ndim - 1 if ndim else -1, keepdims=bool(keepdim))


@autocast_op("pdist")
def pdist(input, p=2.0):
    """The p-norm distance between every pair of rows of ``input`` (N, M): the upper
    triangle of the (N, N) distance matrix, row by row, N (N - 1) / 2 values, as
    PyTorch's. One gather of each pair's rows, then the norm of their difference, whose
    gradient is 0 where two rows are equal (PyTorch's too). The Euclidean distance of
    float32 and float64 rows is one op with the same values (nn_fused.pdist), 100x faster
    on a CPU."""
    op = "pdist"
    floating(op, input)
    if input.ndim != 2:
        raise ValueError(f"{op}: expected a 2-D input (N, M) of N row vectors, got shape {input.shape}")
    p = norm_order(op, p)
    if p < 0:
        raise ValueError(f"{op}: p must be non-negative (pdist only supports p >= 0), got {p}")
    if p == 2 and input.dtype in (dtypes.float32, dtypes.float64) and input._backend.works_in_cache_blocks:
        return nn_fused.pdist(input)  # (a row at a time: on a GPU each row's calls would be kernel launches)
    return composed_pdist(input, p)


@autocast_op("cosine_similarity")
def cosine_similarity(x1, x2, axis=1, eps=1e-8):
    """<x1, x2> / (max(||x1||, eps) max(||x2||, eps)) along ``axis``, computed as
    PyTorch 2 does: each input is divided by its own clamped norm first, so no product
    overflows and the result stays in [-1, 1]. The clamp changes the values only, as
    PyTorch's (done under no_grad): the gradient is that of the norm itself, 0 at a
    zero vector. Integer inputs take the common dtype, as in PyTorch."""
    op = "cosine_similarity"
    require_tensor(op, x1, "x1")
    require_tensor(op, x2, "x2")
    common = dtypes.promote(x1.dtype, x2.dtype, x1.ndim == 0, x2.ndim == 0)
    if not dtypes.is_floating(common):
        raise TypeError(f"{op}: x1 ({x1.dtype}) and x2 ({x2.dtype}) have no floating common dtype; "
                        "convert one with .astype(ag.float32)")
    # Only integer inputs are cast, as PyTorch does: a float32 x1 keeps its float32 norm
    x1, x2 = (x if dtypes.is_floating(x.dtype) else x.astype(common) for x in (x1, x2))
    eps = real_number(op, "eps", eps, at_least=0)  # a negative floor would let a zero norm divide
    shape = broadcast_shapes(op, x1.shape, x2.shape)
    # Broadcast first, as PyTorch: a size-1 axis repeated along ``axis`` has a larger norm
    if x1.shape != shape:
        x1 = broadcast_to(x1, shape)
    if x2.shape != shape:
        x2 = broadcast_to(x2, shape)
    axis = single_axis(op, axis, len(shape))  # a 0-d pair takes axis 0 or -1, and sums nothing
    axes = (axis,) if shape else ()
    n1 = clamped_values(p_norm(op, x1, 2, axes, keepdims=True), eps)
    n2 = clamped_values(p_norm(op, x2, 2, axes, keepdims=True), eps)
    return _sum((x1 / n1) * (x2 / n2), axes)
