"""Spatial transformers' sampling, as PyTorch's: ``affine_grid`` (the sampling grid of
a batch of affine maps, 2-D and 3-D) and ``grid_sample`` (an image batch read at a
grid of normalized coordinates, 2-D; modes 'bilinear' and 'nearest'; padding modes
'zeros', 'border' and 'reflection'; ``align_corners`` both ways).

Compositions of Tensor ops, with no gradient code of their own: a grid point's pixel
coordinates are a differentiable function of the grid (PyTorch's unnormalization,
clipping and reflection), each of the four neighbours is gathered from the image
(advanced indexing, whose gradient is a scatter-add into the image) and weighted by
its bilinear weight, so the gradient reaches both the image and the grid; the
neighbours' integer positions come from ``floor`` of the coordinates and carry no
gradient, as in PyTorch."""
import warnings

from autograd.ops.elementwise import constant, where
from autograd.ops.linalg import matmul
from autograd.ops.shape import reshape, transpose
from autograd.user_code import user_stacklevel

from .arguments import floating, same_dtype

GRID_SAMPLE_MODES = ("bilinear", "nearest")
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
    size = tuple(int(s) for s in size)
    spatial = len(size) - 2
    if spatial not in (2, 3):
        raise ValueError(f"{op}: size must be (N, C, H, W) or (N, C, D, H, W), got {size}")
    if theta.ndim != 3 or theta.shape[1:] != (spatial, spatial + 1):
        raise ValueError(f"{op}: expected theta of shape (N, {spatial}, {spatial + 1}) for a size of {size}, got "
                         f"{theta.shape}")
    if theta.shape[0] != size[0]:
        raise ValueError(f"{op}: theta holds {theta.shape[0]} maps but size asks for a batch of {size[0]}")
    if min(size[2:]) <= 0:
        raise ValueError(f"{op}: expected non-zero, positive output sizes, got {size}")
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


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """``input`` (N, C, H, W) read at ``grid`` (N, OH, OW, 2): (x, y) in [-1, 1] (the
    image's corner pixels' centres with ``align_corners``, else its edges), giving (N, C,
    OH, OW). 'bilinear' weights the four neighbours (its gradient reaches the grid),
    'nearest' takes the closest (ties to even, as PyTorch's). Outside the image,
    'zeros' reads 0, 'border' the nearest edge pixel, 'reflection' the image mirrored
    at its border."""
    op = "grid_sample"
    floating(op, input)
    floating(op, grid, "grid")
    same_dtype(op, input, grid, "the grid")
    if mode not in GRID_SAMPLE_MODES:
        raise ValueError(f"{op}: mode must be 'bilinear' or 'nearest', not {mode!r} ('bicubic' is not supported)")
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"{op}: padding_mode must be 'zeros', 'border' or 'reflection', not {padding_mode!r}")
    align_corners = _align_corners(op, align_corners)
    if input.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W), got shape {input.shape} (only 2-D sampling "
                         "is supported)")
    if grid.ndim != 4 or grid.shape[-1] != 2 or grid.shape[0] != input.shape[0]:
        raise ValueError(f"{op}: expected a grid of shape (N, OH, OW, 2) with N = {input.shape[0]}, got "
                         f"{grid.shape}")
    n, c, h, w = input.shape
    if not h or not w:
        raise ValueError(f"{op}: the input's height and width must be non-zero, got shape {input.shape}")
    _, oh, ow, _ = grid.shape
    x = _source_coordinates(grid[..., 0], w, padding_mode, align_corners)
    y = _source_coordinates(grid[..., 1], h, padding_mode, align_corners)
    pixels = transpose(reshape(input, (n, c, h * w)), 0, 2, 1)  # (N, H * W, C): one row per pixel
    xp = input._backend.xp
    if mode == "nearest":
        out = _pixels_at(pixels, xp.round(y.data), xp.round(x.data), h, w)
        if grid.requires_grad:  # as in PyTorch, the grid gets a zero gradient (not none): x joins unselected
            everywhere = constant(xp.ones((n, oh * ow, 1), dtype=xp.bool), out)
            out = where(everywhere, out, reshape(x, (n, oh * ow, 1)))
    else:
        x0, y0 = xp.floor(x.data), xp.floor(y.data)
        right, down = x - constant(x0, x), y - constant(y0, y)  # the weights of the far neighbours
        left, up = 1 - right, 1 - down
        out = None
        for dy, wy in ((0, up), (1, down)):
            for dx, wx in ((0, left), (1, right)):
                term = _pixels_at(pixels, y0 + dy, x0 + dx, h, w) * reshape(wy * wx, (n, oh * ow, 1))
                out = term if out is None else out + term
    return reshape(transpose(out, 0, 2, 1), (n, c, oh, ow))


def _source_coordinates(coordinate, size, padding_mode, align_corners):
    """A normalized grid coordinate as a pixel coordinate along an axis of ``size``,
    by PyTorch's grid_sampler_compute_source_index: unnormalized, then clipped to the
    image ('border') or reflected into it ('reflection')."""
    if align_corners:
        x = (coordinate + 1) * ((size - 1) / 2)
    else:
        x = ((coordinate + 1) * size - 1) / 2
    if padding_mode == "border":
        return _clip(x, size - 1)
    if padding_mode == "reflection":
        x = _reflect(x, 0, 2 * (size - 1)) if align_corners else _reflect(x, -1, 2 * size - 1)
        return _clip(x, size - 1)
    return x


def _clip(x, high):
    """x clipped to [0, high] with PyTorch's clip_coordinates gradient: 1 strictly
    inside, 0 at and beyond either bound (clip's is 1 at the bounds)."""
    xp = x._backend.xp
    inside = constant((x.data > 0) & (x.data < high), x)
    return where(inside, x, constant(xp.clip(x.data, 0, high), x))


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


def _pixels_at(pixels, rows, columns, h, w):
    """The (N, P, C) pixels of ``pixels`` (N, H * W, C) at integer-valued float
    positions (N, OH, OW); 0 where a position lies outside the image."""
    xp = pixels._backend.xp
    n = pixels.shape[0]
    inside = (columns >= 0) & (columns <= w - 1) & (rows >= 0) & (rows <= h - 1)
    flat = xp.where(inside, rows * w + columns, xp.zeros_like(rows))
    flat = xp.reshape(xp.astype(flat, xp.int64), (n, -1))
    batch = xp.reshape(xp.arange(n, dtype=xp.int64), (n, 1))
    picked = pixels[constant(batch, pixels), constant(flat, pixels)]
    return where(constant(xp.reshape(inside, (n, -1, 1)), pixels), picked, 0.0)
