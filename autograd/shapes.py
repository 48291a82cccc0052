"""Shape arithmetic shared by the ops: broadcasting and axis normalization."""
import numbers
import operator

# What counts as an integer argument: Python ints first (the common case, checked
# fastest), then NumPy's and any other registered integer types (an axis or a size
# read off a NumPy computation), as NumPy and PyTorch take them.
INTEGER = (int, numbers.Integral)


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
    non-negative axes; None means every axis. A 0-d tensor takes axis 0 and -1, as
    NumPy's reductions and PyTorch do, and has nothing to reduce there: ()."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        axes = axis
    elif isinstance(axis, INTEGER):
        axes = (axis,)
    else:
        raise TypeError(f"{op}: axis must be an int or a tuple of ints, not {type(axis).__name__}")
    span = max(ndim, 1)  # a 0-d tensor is checked as if it had one axis
    out = []
    for a in axes:
        if a.__class__ is not int:  # the rare case, kept off the common path
            if not isinstance(a, numbers.Integral) or isinstance(a, bool):
                raise TypeError(f"{op}: axis must be an int or a tuple of ints, not {type(a).__name__}")
            a = int(a)
        if not -span <= a < span:
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(a % span)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(out)) if ndim else ()


def single_axis(op, axis, ndim):
    """One axis (an int, negatives allowed) as a non-negative int, for the ops that take
    exactly one; a tuple or any other type is a TypeError naming the op. A 0-d tensor
    takes 0 and -1 (as in normalize_axis), which give 0: callers handle 0-d tensors."""
    if not isinstance(axis, INTEGER) or isinstance(axis, bool):
        raise TypeError(f"{op}: axis must be one int, not {axis!r}")
    span = max(ndim, 1)
    if not -span <= axis < span:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor with {ndim} dimensions")
    return int(axis) % span


def kept_shape(shape, axes):
    """``shape`` with each reduced axis kept as 1 (the keepdims=True shape)."""
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


def reduced_shape(shape, axes, keepdims):
    if keepdims:
        return kept_shape(shape, axes)
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def shape_arg(shape, op=None):
    """Accept ``f(2, 3)`` and ``f((2, 3))`` alike (NumPy integers as ints). Sizes that are
    not integers (``n / 2``, ``"3"``) are refused, as in PyTorch: int() would truncate
    or parse them, hiding a bug in the caller's arithmetic."""
    if len(shape) == 1:
        first = shape[0]
        # the tuple test first: it spares the common f((2, 3)) the slower integer-ABC test
        if isinstance(first, (tuple, list)) or not isinstance(first, INTEGER):
            # a 0-d integer tensor or array is one size, as PyTorch takes it, not a shape to iterate
            shape = (first,) if getattr(first, "ndim", None) == 0 else first
    try:
        sizes = tuple(map(operator.index, shape))
        if bool in map(type, shape):  # operator.index takes True as 1
            raise TypeError
        return sizes
    except TypeError:
        entries = shape if isinstance(shape, (tuple, list)) else (shape,)
        bad = next((d for d in entries if not isinstance(d, INTEGER) or d.__class__ is bool), shape)
        prefix = f"{op}: " if op else ""
        raise TypeError(f"{prefix}a shape takes integer sizes, got {bad!r} ({type(bad).__name__}) in {shape!r}; "
                        "use // or int() where a size is computed") from None
