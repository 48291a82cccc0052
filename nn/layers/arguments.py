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
