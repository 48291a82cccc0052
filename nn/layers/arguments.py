"""Checks of layer constructor arguments, shared by the layers."""
import numbers


def positive_int(layer, name, value, allow_zero=False):
    """``value`` as a Python int if it is an integer >= 1 (>= 0 with allow_zero), else a
    ValueError naming the layer. NumPy integers count, as in PyTorch: sizes such as
    ``ids.max() + 1`` come out of arrays as np.int64."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < (0 if allow_zero else 1):
        raise ValueError(f"{layer}: {name} must be a {'non-negative' if allow_zero else 'positive'} int, "
                         f"got {value!r}")
    return int(value)


def channels_last_hint(shape, channels, channel_axis):
    """The fix to add to a channel-count error when ``shape`` looks channels-last (images
    as (N, H, W, C), PIL's and TensorFlow's layout, given to a layer that wants channels
    at ``channel_axis``): the transpose that moves them there; else nothing."""
    if len(shape) < channel_axis + 2 or shape[-1] != channels:
        return ""
    last = len(shape) - 1
    axes = (*range(channel_axis), last, *range(channel_axis, last))
    return (f"; if the input is channels-last, with its {channels} channels on the last axis, move them to "
            f"axis {channel_axis} with x.transpose{axes}")
