"""Shape arithmetic shared by the ops: broadcasting and axis normalization."""


def broadcast_shapes(op, *shapes):
    """NumPy's broadcast of ``shapes``, or a ValueError naming the op and the shapes."""
    ndim = max(len(s) for s in shapes)
    out = [1] * ndim
    for shape in shapes:
        for i, d in enumerate(shape, ndim - len(shape)):
            if d != 1:
                if out[i] != 1 and out[i] != d:
                    listed = " and ".join(str(tuple(s)) for s in shapes)
                    raise ValueError(f"{op}: cannot broadcast shapes {listed}")
                out[i] = d
    return tuple(out)


def normalize_axis(op, axis, ndim):
    """``axis`` (None, an int or a tuple, negatives allowed) as a sorted tuple of
    non-negative axes; None means every axis."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not isinstance(a, int):
            raise TypeError(f"{op}: axis must be an int or a tuple of ints, not {type(a).__name__}")
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(out))


def kept_shape(shape, axes):
    """``shape`` with each reduced axis kept as 1 (the keepdims=True shape)."""
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


def reduced_shape(shape, axes, keepdims):
    if keepdims:
        return kept_shape(shape, axes)
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def shape_arg(shape):
    """Accept ``f(2, 3)`` and ``f((2, 3))`` alike."""
    if len(shape) == 1 and not isinstance(shape[0], int):
        shape = shape[0]
    return tuple(int(d) for d in shape)
