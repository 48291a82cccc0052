"""Checks of layer constructor arguments, shared by the layers."""


def positive_int(layer, name, value, allow_zero=False):
    """``value`` if it is an int >= 1 (>= 0 with allow_zero), else a ValueError naming the layer."""
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
        raise ValueError(f"{layer}: {name} must be a {'non-negative' if allow_zero else 'positive'} int, "
                         f"got {value!r}")
    return value
