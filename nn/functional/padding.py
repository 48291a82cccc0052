"""``pad``: PyTorch's F.pad, its four modes on the fused ``nn_fused.pad`` (one strided
copy per border, and the same copies added back for the gradient).

``pad`` lists (before, after) pairs from the last axis backwards, as PyTorch's does:
(left, right, top, bottom, front, back). 'constant' pads any of the trailing axes and
crops where a padding is negative; 'reflect', 'replicate' and 'circular' pad the last
one, two or three axes of a batched or unbatched input (2-D or 3-D, 3-D or 4-D, 4-D or
5-D), and crop too, as PyTorch's do."""
import math
import numbers

from autograd.autocast_mode import autocast_op
from autograd.ops import nn_fused
from backends import dtypes

from .arguments import real, require_tensor

MODES = ("constant", "reflect", "replicate", "circular")


@autocast_op("pad")
def pad(input, pad, mode="constant", value=None):
    """``input`` padded by ``pad`` ((left, right[, top, bottom[, front, back...]]),
    negative entries crop) in ``mode``; ``value`` fills 'constant' padding (default 0)."""
    op = "pad"
    require_tensor(op, input)
    pads = _int_tuple(op, pad)
    if mode not in MODES:
        raise ValueError(f"{op}: unrecognised padding mode {mode!r}; use one of {', '.join(map(repr, MODES))}")
    if len(pads) % 2:
        raise ValueError(f"{op}: padding length must be divisible by 2 (a (before, after) pair per axis), "
                         f"got {len(pads)}")
    k = len(pads) // 2
    if k > input.ndim:
        raise ValueError(f"{op}: padding length should be at most twice the input's dimensions, but got "
                         f"padding length {len(pads)} for a {input.ndim}-D input")
    if mode == "constant":
        if value is None:
            value = 0
        elif not real(value):
            raise TypeError(f"{op}: value must be a real number, not {value!r}")
        if input.dtype.kind in "iu":
            _check_integer_fill(op, value, input.dtype)
        # Python numbers: the Array API's full takes no NumPy scalar (np.float32(0.5))
        value = int(value) if input.dtype.kind in "iub" and float(value).is_integer() else float(value)
    else:
        if value is not None and value != 0:
            raise ValueError(f'{op}: padding mode "{mode}" doesn\'t take in value argument (it is for '
                             "mode='constant')")
        if not 1 <= k <= 3 or input.ndim not in (k + 1, k + 2):
            raise ValueError(f"{op}: padding size {len(pads)} is not supported for a {input.ndim}-D input in "
                             f"mode {mode!r}: non-constant padding takes 2 entries for a 2-D or 3-D input (the "
                             "last axis), 4 for a 3-D or 4-D input (the last 2), 6 for a 4-D or 5-D input (the "
                             "last 3)")
        value = None
    shape = input.shape
    first = input.ndim - k
    pairs = [(pads[2 * (input.ndim - 1 - axis)], pads[2 * (input.ndim - 1 - axis) + 1])
             for axis in range(first, input.ndim)]
    if mode in ("reflect", "replicate"):
        kept = shape[1:] if input.ndim == k + 2 else shape
        if 0 in kept:
            raise ValueError(f"{op}: {mode} padding needs an input whose axes are non-zero (the batch axis "
                             f"may be 0), got shape {shape}")
    out_shape = list(shape)
    for axis, (before, after) in zip(range(first, input.ndim), pairs):
        size = shape[axis]
        _check_axis(op, mode, axis, size, before, after, shape, pads, k)
        out_shape[axis] = size + before + after
    runs = tuple(nn_fused.padding_axis_runs(shape[axis], before, after, mode)
                 for axis, (before, after) in zip(range(first, input.ndim), pairs))
    return nn_fused.pad(input, runs, tuple(out_shape), value)


def _check_axis(op, mode, axis, size, before, after, shape, pads, k):
    out = size + before + after
    if mode == "reflect" and (before >= size or after >= size):
        raise ValueError(f"{op}: padding ({before}, {after}) is too large for reflect padding of a {size} input "
                         f"axis (axis {axis} of shape {shape}): it must be smaller than the axis it pads; use "
                         "mode='replicate' or 'constant', or pad less")
    if mode == "circular":
        cropped = size - max(-before, 0) - max(-after, 0)
        if max(before, after) > min(size, max(cropped, 0)):
            raise ValueError(f"{op}: padding ({before}, {after}) is too large for circular padding of a {size} "
                             f"input axis (axis {axis} of shape {shape}): it would wrap around more than once; "
                             f"pad at most {min(size, max(cropped, 0))} on each side")
    # PyTorch's 1-D reflection and replication refuse an empty output; its 2-D and 3-D ones allow it
    if out < 0 or out == 0 and mode in ("reflect", "replicate") and k == 1:
        raise ValueError(f"{op}: padding {pads} leaves axis {axis} of size {size} with {out} elements "
                         f"(input shape {shape}); crop less")


def _int_tuple(op, pad):
    if not isinstance(pad, (tuple, list)):
        raise TypeError(f"{op}: pad must be a tuple of ints, not {type(pad).__name__}")
    for position, entry in enumerate(pad):
        if isinstance(entry, bool) or not isinstance(entry, numbers.Integral):
            raise TypeError(f"{op}: pad must be a tuple of ints, but found an element of type "
                            f"{type(entry).__name__} at position {position}")
    return tuple(int(entry) for entry in pad)


def _check_integer_fill(op, value, dtype):
    """Refuse a fill an integer ``dtype`` cannot hold, as PyTorch's pad does (NumPy would
    fill the most negative integer for inf and nan, and wrap -1 into uint8)."""
    low, high = dtypes.value_range(dtype)
    if isinstance(value, float) and not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{op}: value {value!r} does not fit in {dtype}, which holds {low} to {high}; "
                         "pad a floating tensor, or pick a value in range")
