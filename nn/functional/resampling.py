"""``interpolate`` (PyTorch's modes 'nearest', 'nearest-exact', 'linear', 'bilinear',
'bicubic', 'trilinear' and 'area', and antialiasing for 'bilinear' and 'bicubic'), and
the rearrangements ``pixel_shuffle`` / ``pixel_unshuffle`` and ``channel_shuffle`` (each a
reshape and a transpose).

Every mode but 'area' is separable: along each resized axis, output position i is a
weighted sum of a few input positions (its taps), with PyTorch's source-index
arithmetic: its scale (from scale_factor where one is given, else from the sizes), its
half-pixel offset, its clamping at the edges, and its floor in the dtype PyTorch
computes in, so that 'nearest' picks PyTorch's pixel exactly. Each axis is resized by
``nn_fused.resample_axis``, one gather per tap, whose backward gathers by the
transposed taps; a short axis that grows by interpolation goes faster as one matmul
with the dense (out, in) matrix (forward and backward are GEMMs), unless the input
holds an inf or NaN, which the matrix's zeros would spread along the whole axis.
Either way it is linear in the input, so any order of derivative comes free. 'area'
is adaptive average pooling, as in PyTorch."""
import functools
import math
import numbers

from autograd.autocast_mode import autocast_op
from autograd.ops import nn_fused
from autograd.ops.elementwise import constant
from autograd.ops.shape import reshape, swapaxes, transpose
from backends import dtypes

from .arguments import floating, real, require_tensor, rounded, widened
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d
from .pooling3d import adaptive_avg_pool3d

_UINT8 = dtypes.canonical("uint8")

MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")
_INPUT_DIMS = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}
_AREA = {3: adaptive_avg_pool1d, 4: adaptive_avg_pool2d, 5: adaptive_avg_pool3d}


@autocast_op("interpolate")
def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """``input`` (N, C, d1[, d2[, d3]]) resized to ``size`` or by ``scale_factor`` (one
    of them; an int/float or one per spatial axis), as PyTorch's F.interpolate."""
    op = "interpolate"
    if mode not in MODES:
        raise ValueError(f"{op}: unknown mode {mode!r}; use one of {', '.join(map(repr, MODES))}")
    _check_dtype(op, input, mode)
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(f"{op}: align_corners option can only be set with the interpolating modes: "
                             f"linear | bilinear | bicubic | trilinear (got mode {mode!r})")
    elif align_corners is None:
        align_corners = False
    elif not isinstance(align_corners, bool):
        raise TypeError(f"{op}: align_corners must be a bool or None, not {align_corners!r}")
    dim = input.ndim - 2
    spatial = input.shape[2:]
    sizes, scales = _sizes_and_scales(op, input, dim, size, scale_factor, recompute_scale_factor)
    if antialias and not (mode in ("bilinear", "bicubic") and input.ndim == 4):
        raise ValueError(f"{op}: the anti-alias option is restricted to bilinear and bicubic modes and requires "
                         f"a 4-D tensor as input (got mode {mode!r} and a {input.ndim}-D input)")
    if input.ndim not in (3, 4, 5):
        raise ValueError(f"{op}: only 3-D, 4-D and 5-D inputs (N, C, d1[, d2[, d3]]) are supported, got a "
                         f"{input.ndim}-D input of shape {input.shape} (mode {mode!r})")
    needed = _INPUT_DIMS.get(mode)
    if needed is not None and input.ndim != needed:
        raise ValueError(f"{op}: got a {input.ndim}-D input, but {mode} mode needs a {needed}-D input "
                         "(linear: 3-D, bilinear and bicubic: 4-D, trilinear: 5-D; nearest, nearest-exact and "
                         "area take any of them)")
    if mode == "area":
        sizes = sizes if scales is None else tuple(int(math.floor(n * s)) for n, s in zip(spatial, scales))
        return _AREA[input.ndim](input, sizes)
    if scales is not None:  # PyTorch's output size: the product truncated
        sizes = tuple(int(n * s) for n, s in zip(spatial, scales))
    if min(spatial) < 1 or min(sizes) < 1:
        names = ("W",) if dim == 1 else ("H", "W") if dim == 2 else ("D", "H", "W")
        raise ValueError(f"{op}: input and output sizes should be greater than 0, but got input "
                         f"({', '.join(f'{a}: {n}' for a, n in zip(names, spatial))}) output "
                         f"({', '.join(f'{a}: {n}' for a, n in zip(names, sizes))})")
    kind = "aa-" + mode if antialias else mode
    dtype = input.dtype
    if not mode.startswith("nearest"):
        # weighted sums in float32, rounded once, as PyTorch's: in float16 the weights were
        # rounded, and so was each resized axis (bilinear was 5x PyTorch's error shrinking)
        input = widened(input)
    axes = [(input.ndim - dim + k, spatial[k], sizes[k], None if scales is None else
             _kernel_scale(mode, dim, spatial[k], sizes[k], scales[k])) for k in range(dim)]
    axes.sort(key=lambda a: a[2] / a[1])  # shrinking axes first: the later matmuls see fewer elements
    y = input
    finite = None
    for axis, n, out, scale in axes:
        taps = _axis_taps(input._backend, input.data.dtype, n, out, scale, kind, align_corners)
        if taps is None:  # PyTorch copies an axis kept at its size
            continue
        if _matrix_is_faster(taps, kind) and finite is None:
            xp = input._backend.xp
            finite = bool(xp.all(xp.isfinite(input.data)))
        if finite and _matrix_is_faster(taps, kind):
            y = _resize_by_matrix(y, axis, taps)
        else:
            y = nn_fused.resample_axis(y, axis, taps)
    if y.dtype != dtype:  # (widened: the rounding is already a new tensor)
        return rounded(y, dtype)
    return y if y is not input else _copy(input)


def _check_dtype(op, input, mode):
    """A floating input, or a uint8 one (an image, a mask) in the nearest modes, which copy
    pixels, as PyTorch's do. (PyTorch's other uint8 kernels round in their own fixed point.)"""
    require_tensor(op, input)
    if input.dtype == _UINT8 and mode in ("nearest", "nearest-exact"):
        return
    if input.dtype == _UINT8:
        raise TypeError(f"{op}: a uint8 input takes mode 'nearest' or 'nearest-exact', not {mode!r}; convert it "
                        "with .astype(ag.float32) to interpolate")
    floating(op, input)


def _kernel_scale(mode, dim, n, out, scale):
    """The scale_factor that PyTorch's kernel applies along an axis of n resized to out:
    its 2-D 'nearest' kernel goes by the sizes alone where an axis keeps its size (a
    copy) or doubles it (the index halved), whatever the scale_factor; its 1-D and 3-D
    ones apply the scale_factor there too."""
    if mode == "nearest" and dim == 2 and out in (n, 2 * n):
        return None
    return scale


def _matrix_is_faster(taps, kind):
    """Whether a matmul with the dense (out, n) matrix beats the gathers: where an axis
    grows by interpolation and is short, a GEMM's n multiply-adds per output cost less
    than each tap's gather (and the transpose's gathers backward). Measured on one core:
    bilinear 2x of (16, 32, 32, 32) takes 4.8 ms forward and backward by matrices and
    12 ms by gathers, of (8, 32, 96, 96) 63 against 72 ms, of (4, 16, 128, 128) 32
    against 22 ms; nearest copies, and shrinking axes, were faster by gathers at every
    size tried."""
    return kind not in ("nearest", "nearest-exact") and taps.out > taps.n and taps.n <= 96


def _copy(x):
    return x * 1  # a new tensor of the graph, as PyTorch returns one


def _sizes_and_scales(op, input, dim, size, scale_factor, recompute_scale_factor):
    """PyTorch's checks of size, scale_factor and recompute_scale_factor: (output sizes,
    None) or (None, scale factors), the latter when the kernels see the scale factors."""
    spatial = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError(f"{op}: only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(f"{op}: input and output must have the same number of spatial dimensions, but "
                                 f"got input with spatial dimensions of {spatial} and output size of {size}. "
                                 "Please provide input tensor in (N, C, d1, d2, ...,dK) format and output size "
                                 "in (o1, o2, ...,oK) format.")
            sizes = tuple(size)
        else:
            sizes = (size,) * dim
        if not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in sizes):
            raise TypeError(f"{op}: expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                            f"Tuple[int, int, int], but got size {size!r}")
        if recompute_scale_factor:
            raise ValueError(f"{op}: recompute_scale_factor is not meaningful with an explicit size.")
        return tuple(int(n) for n in sizes), None
    if scale_factor is None:
        raise ValueError(f"{op}: either size or scale_factor should be defined")
    if isinstance(scale_factor, (list, tuple)):
        if len(scale_factor) != dim:
            raise ValueError(f"{op}: input and scale_factor must have the same number of spatial dimensions, "
                             f"but got input with spatial dimensions of {spatial} and scale_factor of shape "
                             f"{scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                             "scale_factor in (s1, s2, ...,sK) format.")
        scales = tuple(scale_factor)
    else:
        scales = (scale_factor,) * dim
    if not all(real(s) for s in scales):
        raise TypeError(f"{op}: scale_factor must be a real number or a tuple of them, not {scale_factor!r}")
    scales = tuple(float(s) for s in scales)
    if recompute_scale_factor:  # the kernels then see only the sizes
        return tuple(int(math.floor(n * s)) for n, s in zip(spatial, scales)), None
    return None, scales


def _taps(xp, dtype, n, out, scale, kind, align_corners):
    """The input positions and weights, each a list of (out,) arrays (one per tap), that
    make output positions 0..out-1 of an axis of n; None where PyTorch copies the axis."""
    opmath = xp.float64 if dtype == xp.float64 else xp.float32  # the dtype PyTorch computes indices in
    # PyTorch copies an axis kept at its size, whatever the scale_factor, but in the
    # nearest and bicubic modes, whose kernels apply a given one even there (2-D
    # 'nearest' has none by now: see _kernel_scale)
    if out == n and (scale is None or align_corners or kind not in ("nearest", "nearest-exact", "bicubic")):
        return None
    if kind.startswith("aa-"):
        return _antialias_taps(xp, opmath, n, out, scale, kind[3:], align_corners)
    d = xp.arange(out, dtype=opmath)
    if kind in ("nearest", "nearest-exact"):
        ratio = _scale(xp, opmath, n, out, scale, False)
        # floorf: the product rounded to float32 first, whatever the dtype
        real_index = xp.astype((d + 0.5 if kind == "nearest-exact" else d) * ratio, xp.float32)
        index = xp.minimum(xp.astype(xp.floor(real_index), xp.int64), xp.asarray(n - 1, dtype=xp.int64))
        return [index], [None]  # weight 1: a copy
    ratio = _scale(xp, opmath, n, out, scale, align_corners)
    cubic = kind == "bicubic"
    real_index = ratio * d if align_corners else ratio * (d + 0.5) - 0.5
    if not cubic and not align_corners:
        real_index = xp.maximum(real_index, xp.zeros((), dtype=opmath))
    last = xp.asarray(n - 1, dtype=xp.int64)
    index = xp.minimum(xp.astype(xp.floor(xp.astype(real_index, xp.float32)), xp.int64), last)
    t = xp.clip(real_index - xp.astype(index, opmath), 0.0, 1.0)
    if not cubic:
        upper = index + xp.astype(index < last, xp.int64)
        return [index, upper], [1.0 - t, t]
    first = xp.zeros((), dtype=xp.int64)
    indices = [xp.clip(index + (j - 1), first, last) for j in range(4)]
    a = -0.75  # PyTorch's (OpenCV's) cubic convolution coefficient
    s = 1.0 - t
    weights = [_cubic_far(t + 1.0, a), _cubic_near(t, a), _cubic_near(s, a), _cubic_far(s + 1.0, a)]
    return indices, weights


def _scale(xp, opmath, n, out, scale, align_corners):
    """PyTorch's area_pixel_compute_scale, in its dtype."""
    if align_corners:
        return xp.asarray(n - 1, dtype=opmath) / xp.asarray(out - 1, dtype=opmath) if out > 1 else \
            xp.zeros((), dtype=opmath)
    if scale is not None and scale > 0:
        return xp.asarray(1.0 / scale, dtype=opmath)
    return xp.asarray(n, dtype=opmath) / xp.asarray(out, dtype=opmath)


def _cubic_near(x, a):
    """The cubic convolution kernel for |x| <= 1."""
    return ((a + 2) * x - (a + 3)) * x * x + 1


def _cubic_far(x, a):
    """The cubic convolution kernel for 1 < |x| < 2."""
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a


def _antialias_taps(xp, opmath, n, out, scale, mode, align_corners):
    """PyTorch's antialiased weights: when shrinking, the filter (triangle for bilinear,
    Keys' cubic with a = -0.5 for bicubic) is stretched by the scale, so each output
    averages every input it covers; weights normalized to sum to 1."""
    ratio = _scale(xp, opmath, n, out, scale, align_corners)
    stretch = max(float(ratio), 1.0)
    interp_size = 2 if mode == "bilinear" else 4
    support = interp_size * 0.5 * stretch
    width = int(math.ceil(support)) * 2 + 1
    center = ratio * (xp.arange(out, dtype=opmath) + 0.5)
    # int64(center -+ support + 0.5) truncates towards zero
    low = xp.astype(center - support + 0.5, xp.int64)
    low = xp.maximum(low, xp.zeros((), dtype=xp.int64))
    high = xp.minimum(xp.astype(center + support + 0.5, xp.int64), xp.asarray(n, dtype=xp.int64))
    inv = 1.0 / stretch
    indices, weights = [], []
    for j in range(width):
        position = low + j
        x = xp.abs((xp.astype(position, opmath) - center + 0.5) * inv)
        if mode == "bilinear":
            w = xp.clip(1.0 - x, 0.0, None)
        else:
            w = xp.where(x < 1.0, _cubic_near(x, -0.5), xp.where(x < 2.0, _cubic_far(x, -0.5), 0.0))
        w = xp.where(position < high, w, 0.0)
        indices.append(xp.minimum(position, xp.asarray(n - 1, dtype=xp.int64)))
        weights.append(w)
    total = weights[0]
    for w in weights[1:]:
        total = total + w
    total = xp.where(total != 0.0, total, 1.0)
    return indices, [w / total for w in weights]


@functools.lru_cache(maxsize=256)
def _axis_taps(backend, dtype, n, out, scale, kind, align_corners):
    """``_taps`` of an axis as ``nn_fused.Taps`` (weights in ``dtype``), memoized: a layer
    resizes the same few shapes every step. None where PyTorch copies the axis."""
    xp = backend.xp
    taps = _taps(xp, dtype, n, out, scale, kind, align_corners)
    if taps is None:
        return None
    indices, weights = taps
    weights = [None if w is None else xp.astype(w, dtype) for w in weights]
    return nn_fused.Taps(backend, dtype, n, indices, weights)


@functools.lru_cache(maxsize=256)
def _matrices(taps):
    """The (out, n) matrix of ``taps`` and its transpose."""
    xp = taps.backend.xp
    columns = xp.reshape(xp.arange(taps.n, dtype=xp.int64), (1, taps.n))
    matrix = None
    for index, weight in zip(taps.indices, taps.weights):
        hit = xp.reshape(index, (-1, 1)) == columns
        term = xp.astype(hit, taps.dtype) if weight is None else \
            xp.where(hit, xp.reshape(weight, (-1, 1)), xp.zeros((), dtype=weight.dtype))
        matrix = term if matrix is None else matrix + term
    return matrix, xp.asarray(xp.permute_dims(matrix, (1, 0)), copy=True)


def _resize_by_matrix(x, axis, taps):
    """``x`` with ``axis`` resized by the (out, n) matrix of its taps: one matmul."""
    matrix, matrix_t = _matrices(taps)
    n, out = x.shape[axis], matrix.shape[0]
    if axis == x.ndim - 1:
        return x @ constant(matrix_t, x)
    rest = math.prod(x.shape[axis + 1:])
    y = constant(matrix, x) @ reshape(x, x.shape[:axis] + (n, rest))
    return reshape(y, x.shape[:axis] + (out,) + x.shape[axis + 1:])


def pixel_shuffle(input, upscale_factor):
    """(*, C * r^2, H, W) -> (*, C, H * r, W * r): each group of r^2 channels becomes
    an r x r block of pixels, as PyTorch's (a reshape and a transpose)."""
    op = "pixel_shuffle"
    require_tensor(op, input)
    r = _factor(op, "upscale_factor", upscale_factor)
    if input.ndim < 3:
        raise ValueError(f"{op}: expects input to have at least 3 dimensions, but got input with {input.ndim} "
                         "dimension(s)")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise ValueError(f"{op}: expects its input's 'channel' dimension to be divisible by the square of "
                         f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    lead = tuple(lead)
    k = len(lead)
    x = reshape(input, lead + (c // (r * r), r, r, h, w))
    x = transpose(x, *range(k + 1), k + 3, k + 1, k + 4, k + 2)  # (*, C, H, r, W, r)
    return reshape(x, lead + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H * r, W * r) -> (*, C * r^2, H, W): the inverse of ``pixel_shuffle``."""
    op = "pixel_unshuffle"
    require_tensor(op, input)
    r = _factor(op, "downscale_factor", downscale_factor)
    if input.ndim < 3:
        raise ValueError(f"{op}: expects input to have at least 3 dimensions, but got input with {input.ndim} "
                         "dimension(s)")
    *lead, c, h, w = input.shape
    for name, size, axis in (("height", h, -2), ("width", w, -1)):
        if size % r:
            raise ValueError(f"{op}: expects {name} to be divisible by downscale_factor, but "
                             f"input.size({axis})={size} is not divisible by {r}")
    lead = tuple(lead)
    k = len(lead)
    x = reshape(input, lead + (c, h // r, r, w // r, r))
    x = transpose(x, *range(k + 1), k + 2, k + 4, k + 1, k + 3)  # (*, C, r, r, H/r, W/r)
    return reshape(x, lead + (c * r * r, h // r, w // r))


def channel_shuffle(input, groups):
    """(N, C, *) with its C channels, seen as ``groups`` rows of C / groups, read out by
    columns (ShuffleNet's shuffle), as PyTorch's: a reshape and a transpose."""
    op = "channel_shuffle"
    require_tensor(op, input)
    g = _factor(op, "groups", groups)
    if input.ndim < 3:
        raise ValueError(f"{op}: expects an input with more than 2 dimensions (N, C, *), got shape {input.shape}")
    n, c, *rest = input.shape
    if c % g:
        raise ValueError(f"{op}: the number of channels must be divisible by groups, got {c} channels and "
                         f"{g} groups")
    x = reshape(input, (n, g, c // g, *rest))
    return reshape(swapaxes(x, 1, 2), input.shape)


def _factor(op, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{op}: {name} must be an int, not {value!r}")
    if value < 1:
        raise ValueError(f"{op}: expects a positive {name}, but got {value}")
    return int(value)
