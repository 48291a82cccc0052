"""Spatial transformers' sampling, as PyTorch's: ``affine_grid`` (the sampling grid of
a batch of affine maps, 2-D and 3-D) and ``grid_sample`` (an image batch read at a
grid of normalized coordinates, 2-D and 3-D; modes 'bilinear' (trilinear in 3-D),
'nearest' and, in 2-D, 'bicubic'; padding modes 'zeros', 'border' and 'reflection';
``align_corners`` both ways).

Compositions of Tensor ops, with no gradient code of their own: a grid point's pixel
coordinates are a differentiable function of the grid (PyTorch's unnormalization,
clipping and reflection), each axis offers a few taps (a whole-number position and a
weight that is a differentiable function of the coordinate: 2 linear ones, or 4 cubic
ones), and every choice of one tap per axis is gathered from the image (advanced
indexing, whose gradient is a scatter-add into the image) and weighted by the product
of its taps' weights. So the gradient reaches both the image and the grid, and is
differentiable again; the taps' positions come from ``floor`` of the coordinates and
carry no gradient, as in PyTorch. The same code serves 2-D and 3-D."""
import itertools
import math
import numbers
import warnings

from autograd.autocast_mode import autocast_op
from autograd.ops.elementwise import constant, where
from autograd.ops.gather import gather_along_axis
from autograd.ops.linalg import matmul
from autograd.ops.shape import concat, reshape, transpose
from autograd.user_code import user_stacklevel
from backends import floating_point_warnings_off

from .arguments import floating, same_dtype
from .resampling import _cubic_far, _cubic_near  # PyTorch's cubic convolution, as interpolate's bicubic

GRID_SAMPLE_MODES = ("bilinear", "nearest", "bicubic")
CUBIC_A = -0.75  # PyTorch's cubic convolution coefficient
PADDING_MODES = ("zeros", "border", "reflection")


def _align_corners(op, align_corners):
    if align_corners is None:
        warnings.warn(f"{op}: Default grid_sample and affine_grid behavior has changed to align_corners=False "
                      "since PyTorch 1.3.0. Please specify align_corners=True if the old behavior is desired.",
                      UserWarning, stacklevel=user_stacklevel())
        return False
    if not isinstance(align_corners, bool):
        raise TypeError(f"{op}: align_corners must be a bool or None, not {align_corners!r}")
    return align_corners


def affine_grid(theta, size, align_corners=None):
    """The (N, H, W, 2) grid (or (N, D, H, W, 3) for a (N, 3, 4) ``theta``) of
    normalized source coordinates, ``theta`` applied to each output pixel's
    normalized (x, y[, z], 1); ``size`` is the output's (N, C, H, W) or (N, C, D, H,
    W). One matmul with the constant base grid, so the gradient reaches ``theta``."""
    op = "affine_grid"
    floating(op, theta, "theta")
    align_corners = _align_corners(op, align_corners)
    # int() would truncate a size of 4.5 to 4 without a word, as PyTorch refuses it
    if not isinstance(size, (tuple, list)) or not all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in size):
        raise TypeError(f"{op}: size must be a tuple of ints (N, C, H, W) or (N, C, D, H, W), got {size!r}")
    size = tuple(int(s) for s in size)
    spatial = len(size) - 2
    if spatial not in (2, 3):
        raise ValueError(f"{op}: size must be (N, C, H, W) or (N, C, D, H, W), got {size}")
    if min(size[2:]) <= 0 or min(size[:2]) < 0:  # an empty batch is fine (PyTorch refuses it), C < 0 is not
        raise ValueError(f"{op}: expected non-zero, positive output sizes and non-negative N and C, got {size}")
    if theta.ndim != 3 or theta.shape[1:] != (spatial, spatial + 1):
        raise ValueError(f"{op}: expected theta of shape (N, {spatial}, {spatial + 1}) for a size of {size}, got "
                         f"{theta.shape}")
    if theta.shape[0] != size[0]:
        raise ValueError(f"{op}: theta holds {theta.shape[0]} maps but size asks for a batch of {size[0]}")
    xp = theta._backend.xp
    dtype = theta.data.dtype
    axes = [_base_coordinates(xp, n, align_corners, dtype) for n in reversed(size[2:])]  # x, y[, z]
    shape = size[2:]
    columns = []
    for k, values in enumerate(axes):  # x varies along the last axis, y the one before, ...
        view = tuple(n if a == spatial - 1 - k else 1 for a, n in enumerate(shape))
        columns.append(xp.reshape(xp.broadcast_to(xp.reshape(values, view), shape), (-1,)))
    count = columns[0].shape[0]
    base = xp.stack(columns + [xp.ones((count,), dtype=dtype)], axis=-1)  # (points, spatial + 1)
    grid = matmul(constant(base, theta), transpose(theta, 0, 2, 1))  # (N, points, spatial)
    return reshape(grid, (size[0],) + shape + (spatial,))


def _base_coordinates(xp, n, align_corners, dtype):
    """PyTorch's normalized pixel positions along an axis of n: the centres (or, with
    align_corners, the corners) spread over [-1, 1]; a single pixel sits at 0."""
    if n <= 1:
        return xp.zeros((n,), dtype=dtype)
    steps = xp.linspace(-1.0, 1.0, n, dtype=dtype)
    return steps if align_corners else steps * ((n - 1) / n)


@autocast_op("grid_sample")
def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """``input`` (N, C, H, W) read at ``grid`` (N, OH, OW, 2), or (N, C, D, H, W) at (N,
    OD, OH, OW, 3): (x, y[, z]) in [-1, 1] (the corner pixels' centres with
    ``align_corners``, else the image's edges), giving (N, C, OH, OW) or (N, C, OD, OH,
    OW). 'bilinear' (trilinear in 3-D) weights the 2 or 8 neighbours, 'bicubic' (4-D
    input only) the 4 x 4 around the point by PyTorch's cubic convolution (A = -0.75);
    the gradient of both reaches the grid. 'nearest' takes the closest (ties to even, as
    PyTorch's). Outside the image, 'zeros' reads 0, 'border' the nearest edge pixel,
    'reflection' the image mirrored at its border; 'bicubic' pads its taps, not the
    point, as PyTorch does."""
    op = "grid_sample"
    floating(op, input)
    floating(op, grid, "grid")
    same_dtype(op, input, grid, "the grid")
    if mode not in GRID_SAMPLE_MODES:
        raise ValueError(f"{op}: mode must be 'bilinear', 'nearest' or 'bicubic', not {mode!r}")
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"{op}: padding_mode must be 'zeros', 'border' or 'reflection', not {padding_mode!r}")
    align_corners = _align_corners(op, align_corners)
    if input.ndim not in (4, 5):
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W) or a 5-D input (N, C, D, H, W), got shape "
                         f"{input.shape}")
    spatial = input.ndim - 2
    if mode == "bicubic" and spatial == 3:
        raise ValueError(f"{op}: mode='bicubic' needs a 4-D input (N, C, H, W), got shape {input.shape}; sample "
                         "a 5-D input with 'bilinear' or 'nearest'")
    if grid.ndim != input.ndim or grid.shape[-1] != spatial or grid.shape[0] != input.shape[0]:
        expected = "(N, OH, OW, 2)" if spatial == 2 else "(N, OD, OH, OW, 3)"
        raise ValueError(f"{op}: expected a grid of shape {expected} with N = {input.shape[0]} for an input of "
                         f"shape {input.shape}, got {grid.shape}")
    n, c, sizes = input.shape[0], input.shape[1], input.shape[2:]
    if not min(sizes):
        raise ValueError(f"{op}: the input's spatial sizes must be non-zero, got shape {input.shape}")
    # quietly, as PyTorch's: a grid point at inf, NaN or past the dtype's range over its pixel
    # coordinate overflows, and inf - floor(inf) is NaN, on the way to the answer (the backward
    # passes stay quiet: they meet only the NaN made here)
    with floating_point_warnings_off():
        out = _sample(input, grid, mode, padding_mode, align_corners)
    return reshape(out, (n, c) + tuple(grid.shape[1:-1]))


def _sample(input, grid, mode, padding_mode, align_corners):
    """grid_sample's (N, C, P) output, its arguments checked."""
    n, spatial, sizes = input.shape[0], input.ndim - 2, input.shape[2:]
    # the grid's last axis runs x, y[, z]: its entry k reads the input's axis -1 - k
    points = [_unnormalize(grid[..., spatial - 1 - a], size, align_corners) for a, size in enumerate(sizes)]
    planes = _planes_and_zero(input)
    xp = input._backend.xp
    if mode == "nearest":
        padded = [_pad(x, size, padding_mode, align_corners) for x, size in zip(points, sizes)]
        out = _pixels_at(planes, [xp.round(x.data) for x in padded], sizes)
        if grid.requires_grad:  # as in PyTorch, the grid gets a zero gradient (not none): x joins unselected
            everywhere = constant(xp.ones((n, 1) + out.shape[2:], dtype=xp.bool), out)
            out = where(everywhere, out, _per_point(padded[-1]))
    else:
        taps = _cubic_taps if mode == "bicubic" else _linear_taps
        out = _weighted_sum(planes, [taps(x, size, padding_mode, align_corners) for x, size in zip(points, sizes)],
                            sizes)
    return out


def _linear_taps(x, size, padding_mode, align_corners):
    """An axis's two neighbours of the padded point x and their linear weights."""
    x = _pad(x, size, padding_mode, align_corners)
    low = x._backend.xp.floor(x.data)
    far = x - constant(low, x)  # the weight of the far neighbour
    return [(low, 1 - far), (low + 1, far)]


def _cubic_taps(x, size, padding_mode, align_corners):
    """An axis's four taps around the unpadded point x, by PyTorch's cubic convolution;
    each tap's position is padded on its own (its weight stays), and being a whole
    number it gets no gradient."""
    low = x._backend.xp.floor(x.data)
    t = x - constant(low, x)
    s = 1 - t
    weights = [_cubic_far(t + 1, CUBIC_A), _cubic_near(t, CUBIC_A), _cubic_near(s, CUBIC_A),
               _cubic_far(s + 1, CUBIC_A)]
    return [(_pad(constant(low + (k - 1), x), size, padding_mode, align_corners).data, weight)
            for k, weight in enumerate(weights)]


def _weighted_sum(planes, taps, sizes):
    """The sum, over every choice of one tap per axis (``taps[a]`` lists axis a's
    (positions, weight) pairs), of the pixel there times the product of the weights."""
    out = None
    for choice in itertools.product(*taps):
        weight = choice[0][1]
        for _, w in choice[1:]:
            weight = weight * w
        term = _pixels_at(planes, [positions for positions, _ in choice], sizes) * _per_point(weight)
        out = term if out is None else out + term
    return out


def _unnormalize(coordinate, size, align_corners):
    """A normalized grid coordinate as a pixel coordinate along an axis of ``size``."""
    if align_corners:
        return (coordinate + 1) * ((size - 1) / 2)
    return ((coordinate + 1) * size - 1) / 2


def _pad(x, size, padding_mode, align_corners):
    """A pixel coordinate clipped to the image ('border') or reflected into it
    ('reflection'), by PyTorch's grid_sampler_compute_source_index ('zeros' leaves it)."""
    if padding_mode == "border":
        return _clip(x, size - 1)
    if padding_mode == "reflection":
        x = _reflect(x, 0, 2 * (size - 1)) if align_corners else _reflect(x, -1, 2 * size - 1)
        return _clip(x, size - 1)
    return x


def _clip(x, high):
    """x clipped to [0, high] with PyTorch's clip_coordinates gradient: 1 strictly
    inside, 0 at and beyond either bound (clip's is 1 at the bounds). NaN (a NaN grid
    point, or an infinite one reflected) clips to 0, as PyTorch's max(NaN, 0) does."""
    xp = x._backend.xp
    inside = constant((x.data > 0) & (x.data < high), x)
    clipped = xp.clip(x.data, 0, high)
    clipped = xp.where(xp.isnan(clipped), xp.zeros_like(clipped), clipped)
    return where(inside, x, constant(clipped, x))


def _reflect(x, twice_low, twice_high):
    """x mirrored at twice_low / 2 and twice_high / 2 until it lies between them."""
    if twice_low == twice_high:
        return x * 0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    xp = x._backend.xp
    # |x - low| with the gradient +1 at x = low, as PyTorch's reflect_coordinates (abs's is 0 there)
    distance = where(constant(x.data < low, x), low - x, x - low)
    flips = xp.floor(distance.data / span)
    extra = distance - constant(flips * span, x)  # fmod(distance, span), with a gradient of 1
    even = constant(flips % 2 == 0, x)
    return where(even, extra + low, (span - extra) + low)


def _planes_and_zero(input):
    """``input``'s (N, C) planes of D * H * W pixels, each with a 0 after its last pixel
    (N, C, D * H * W + 1): points outside the image read that 0, so a gather needs no
    mask (and its gradient, a scatter-add, drops theirs there). The planes keep the
    input's layout, so the output needs no transpose, and each gather and scatter-add
    is one flat pass (a (N, P, C) row per point was a strided gather, a masked select
    and a transpose each way: grid_sample 6-7x PyTorch's time, see benchmarks.op_paths)."""
    n, c = input.shape[:2]
    pixels = reshape(input, (n, c, math.prod(input.shape[2:])))
    return concat([pixels, constant(input._backend.xp.zeros((n, c, 1), dtype=input.data.dtype), input)], axis=2)


def _pixels_at(planes, positions, sizes):
    """The (N, C, P) pixels of ``planes`` (from _planes_and_zero) at integer-valued float
    positions, one (N, *out) array per input axis; 0 where a position lies outside the
    image."""
    xp = planes._backend.xp
    n, c, outside = planes.shape[0], planes.shape[1], planes.shape[2] - 1
    inside = None
    for p, size in zip(positions, sizes):
        fits = (p >= 0) & (p <= size - 1)
        inside = fits if inside is None else inside & fits
    flat = None
    for p, size in zip(positions, sizes):  # in int64: a float32 flat index is inexact past 2**24 pixels
        index = xp.astype(xp.where(inside, p, xp.zeros_like(p)), xp.int64)
        flat = index if flat is None else flat * size + index
    flat = xp.where(inside, flat, xp.full_like(flat, outside))
    points = math.prod(flat.shape[1:])  # not -1 in the reshapes: N may be 0
    return gather_along_axis(planes, xp.reshape(flat, (n, 1, points)), 2, (n, c, points))


def _per_point(t):
    """(N, *out) as (N, 1, P), to scale the gathered (N, C, P) pixels."""
    return reshape(t, (t.shape[0], 1, math.prod(t.shape[1:])))
