"""Fractional max pooling (Graham, 2014), with PyTorch's arguments:
``fractional_max_pool2d`` over (N, C, H, W) or unbatched (C, H, W) images and
``fractional_max_pool3d`` over (N, C, D, H, W) or (C, D, H, W) volumes. Each plane
takes the max over kernel-sized regions whose starts step by pseudo-random amounts,
placed by one sample in [0, 1) per plane and spatial axis with PyTorch's rule (see
``autograd.ops.nn_fused.fractional_max_pool``), so PyTorch's ``_random_samples`` give
PyTorch's output, indices and gradient. Without them the samples come from the
backend's seeded generator, which ``ag.manual_seed`` makes reproducible."""
from autograd.autocast_mode import autocast_op
from autograd.ops import nn_fused

from .arguments import batched_images, batched_volumes, pair, real, require_tensor, triple, unbatch
from .pooling import _require_non_empty

_AXES = {2: ("height", "width"), 3: ("depth", "height", "width")}


@autocast_op("fractional_max_pool2d")
def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """Max over kernel_size regions at pseudo-random starts, into ``output_size`` (an int
    or a pair) or ``output_ratio`` times the input's (H, W) (a number or a pair in (0, 1),
    truncated), of which exactly one is given. ``_random_samples`` (N, C, 2), of the
    input's dtype in [0, 1), place the regions as PyTorch's do (sample 0 the columns',
    sample 1 the rows'); by default they are drawn. An axis of size L holds at most L - k + 1
    regions of k cells. The gradient goes to the first maximum
    of each region (its last NaN where it holds one), and ``return_indices`` also gives its
    flat index (h * W + w) in each input plane, for ``max_unpool2d``."""
    op = "fractional_max_pool2d"
    x, unbatched = batched_images(op, input)
    y, indices = _fractional_max_pool(op, pair, x, input, kernel_size, output_size, output_ratio,
                                      return_indices, _random_samples)
    return (unbatch(y, unbatched), unbatch(indices, unbatched)) if return_indices else unbatch(y, unbatched)


@autocast_op("fractional_max_pool3d")
def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """``fractional_max_pool2d`` over volumes: sizes and ratios are triples (or one value),
    ``_random_samples`` are (N, C, 3), samples 0, 1 and 2 placing the regions along depth,
    height and width, an axis of size L holds at most L - k regions of k cells (PyTorch's
    3-D check is stricter than its 2-D one by one), and the indices are flat (d * H * W + h * W + w) in each input
    volume, for ``max_unpool3d``."""
    op = "fractional_max_pool3d"
    x, unbatched = batched_volumes(op, input)
    y, indices = _fractional_max_pool(op, triple, x, input, kernel_size, output_size, output_ratio,
                                      return_indices, _random_samples)
    return (unbatch(y, unbatched), unbatch(indices, unbatched)) if return_indices else unbatch(y, unbatched)


def _fractional_max_pool(op, ntuple, x, input, kernel_size, output_size, output_ratio, return_indices, samples):
    """The checks and the pooling that both forms share, over the batched ``x``."""
    _require_non_empty(op, input)
    in_size = x.shape[2:]
    kernel = ntuple(op, "kernel_size", kernel_size, 1)
    out_size = _output_size(op, ntuple, in_size, output_size, output_ratio)
    # The last region starts at size - k and each starts at least one past the one before,
    # so an axis holds size - k + 1 regions at most; PyTorch's 3-D form allows one fewer.
    spare = len(in_size) - 2
    for name, size, out, k in zip(_AXES[len(in_size)], in_size, out_size, kernel):
        if out + k - 1 + spare > size:
            raise ValueError(f"{op}: an output {name} of {out} with a kernel {name} of {k} needs an input {name} "
                             f"of at least {out + k - 1 + spare}, got {size}; use a smaller output_size, "
                             "output_ratio or kernel_size")
    samples = _samples(op, x, input, samples)
    if len(in_size) == 2:  # PyTorch's 2-D kernel reads each plane's width sample first
        samples = x._backend.xp.flip(samples, axis=-1)
    return nn_fused.fractional_max_pool(x, kernel, out_size, samples, return_indices)


def _output_size(op, ntuple, in_size, output_size, output_ratio):
    """The output's spatial size: ``output_size`` as ``ntuple`` takes it, or each axis's
    int(size * ratio)."""
    if (output_size is None) == (output_ratio is None):
        raise ValueError(f"{op}: give exactly one of output_size and output_ratio, got "
                         f"output_size={output_size!r} and output_ratio={output_ratio!r}")
    if output_size is not None:
        return ntuple(op, "output_size", output_size, 0)
    return tuple(int(size * r) for size, r in zip(in_size, output_ratios(op, len(in_size), output_ratio)))


def output_ratios(op, axes, output_ratio):
    """``output_ratio`` (a number, or one per axis) as a tuple of ``axes`` floats, each
    in (0, 1), as PyTorch's layers require."""
    ratios = (output_ratio,) * axes if real(output_ratio) else output_ratio
    if not isinstance(ratios, (tuple, list)) or len(ratios) != axes or not all(real(r) for r in ratios):
        raise TypeError(f"{op}: output_ratio must be a number or {axes} numbers, not {output_ratio!r}")
    if not all(0 < r < 1 for r in ratios):
        raise ValueError(f"{op}: output_ratio must be between 0 and 1, exclusive, got {output_ratio!r}")
    return tuple(float(r) for r in ratios)


def _samples(op, x, input, samples):
    """One sample in [0, 1) per plane and spatial axis of the batched ``x``, as an (N, C,
    axes) backend array of its dtype: ``samples``' first N rows (PyTorch takes more rows
    than the batch too, and ignores the rest), or drawn from the backend's generator."""
    n, c = x.shape[:2]
    axes = x.ndim - 2
    backend = x._backend
    if samples is None:
        return backend.uniform((n, c, axes), 0.0, 1.0, x.dtype)
    require_tensor(op, samples, "_random_samples")
    if samples._backend is not backend:
        raise ValueError(f"{op}: _random_samples are on {samples.device} but the input is on {input.device}; "
                         "move one with .to(device)")
    if samples.dtype != x.dtype:
        raise TypeError(f"{op}: _random_samples must have the input's dtype {x.dtype}, not {samples.dtype}")
    if samples.ndim != 3 or samples.shape[0] < n or samples.shape[1:] != (c, axes):
        raise ValueError(f"{op}: _random_samples must have shape (N, C, {axes}) = {(n, c, axes)}, one sample per "
                         f"plane and spatial axis (an unbatched input's N is 1), got {samples.shape}")
    xp = backend.xp
    data = samples.data[:n, ...]
    if data.size and not bool(xp.all((data >= 0) & (data < 1))):
        raise ValueError(f"{op}: _random_samples must lie in [0, 1), got values from {float(xp.min(data))} "
                         f"to {float(xp.max(data))}")
    return data
