"""Ops that move elements around without changing them."""
import math

from ..function import Function
from ..shapes import INTEGER, broadcast_shapes, normalize_axis, shape_arg, single_axis
from ..tensor import Tensor, on_one_device, share_version, version_of
from .elementwise import accumulate


def _view(out, x, remake, write_back):
    """Outputs that may alias their input share its in-place version counter,
    so changing one in place is caught wherever the other was saved. They also
    know their base, the counter's value when they were taken, and two recipes,
    each ``(function, args)``:
    - ``remake``, ``function(base, *args)``, takes the same view of the base again:
      a view used after an in-place change of its base is first remade from the
      base's new place in the graph (Tensor._rebase), as PyTorch regenerates a
      view's grad_fn;
    - ``write_back``, ``function(base, values, *args)``, gives the base with the
      view's elements replaced by ``values``: an in-place change of the view is
      recorded as that change of its base (Tensor._change_through_view). It is
      None for a view that repeats elements, which cannot be changed in place.
    A shape op makes such a view even where it changes nothing, as NumPy's and PyTorch's:
    handed back ``x`` itself, a hook, retain_grad() or requires_grad_() on the result
    would act on ``x``."""
    share_version(out, version_of(x))
    if out is not x:
        version = out._version.value
        out._base = (x, write_back, version, remake)
        if out.grad_fn is not None:
            out.grad_fn.view_version = version
    return out


def _tensor(x):
    if isinstance(x, Tensor):
        return x
    from .elementwise import as_tensor
    return as_tensor(x)


def tensors_on_one_device(values):
    """``values`` as Tensors, a number, list or array among them made on the device of the
    first Tensor (the default device where there is none): it has no device of its own,
    and made on the default one it was refused beside tensors on another as a second device."""
    device = next((v._backend for v in values if isinstance(v, Tensor)), None)
    return [v if isinstance(v, Tensor) else Tensor(v, device=device) for v in values]


class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.x_shape = x.data.shape
        return x._backend.xp.reshape(x.data, shape)

    @staticmethod
    def backward(ctx, gy):
        return reshape(gy, ctx.x_shape), None


def _resolve_shape(x, shape):
    size = x.size
    if shape.count(-1) > 1:
        raise ValueError(f"reshape: only one dimension can be -1, got {shape}")
    known = 1
    for d in shape:
        if d != -1:
            if d < 0:
                raise ValueError(f"reshape: invalid dimension {d} in {shape}")
            known *= d
    if -1 in shape:
        if known == 0 or size % known:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} ({size} elements) into {shape}")
        shape = tuple(size // known if d == -1 else d for d in shape)
    elif known != size:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} ({size} elements) into {shape}")
    return shape


def reshape(x, *shape):
    x = _tensor(x)
    shape = _resolve_shape(x, shape_arg(shape, "reshape"))
    out = Reshape.apply(x, shape)
    if x._backend.may_share_memory(out.data, x.data):
        return _view(out, x, (reshape, shape), (_reshaped_back, ()))
    # A copy, as NumPy's reshape of an input whose memory order allows no view (a
    # transposed matrix, say): a tensor of its own, free to change in place.
    return out


def _reshaped_back(base, values):
    """``base`` with all its elements replaced by ``values``, a view of it that keeps
    every element (reshape's, or a broadcast's that only adds ones), in the same order."""
    # The op, not reshape(): the result becomes the base's values, not a view of ``values``.
    return Reshape.apply(values, base.shape)


class Transpose(Function):
    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return x._backend.xp.permute_dims(x.data, axes)

    @staticmethod
    def backward(ctx, gy):
        return transpose(gy, _inverse_permutation(ctx.axes)), None


def _inverse_permutation(axes):
    inverse = [0] * len(axes)
    for i, a in enumerate(axes):
        inverse[a] = i
    return tuple(inverse)


def _transposed_back(base, values, axes):
    """``base`` with all its elements replaced by ``values``, its view ``transpose(base, axes)``."""
    return Transpose.apply(values, _inverse_permutation(axes))  # (the op: see _reshaped_back)


def transpose(x, *axes):
    """Permute axes (reverse them when none are given), as NumPy's transpose."""
    x = _tensor(x)
    if len(axes) == 1 and not isinstance(axes[0], INTEGER):
        axes = () if axes[0] is None else tuple(axes[0])  # (None reverses the axes, as in NumPy)
    if not axes:
        axes = tuple(range(x.ndim - 1, -1, -1))
    for a in axes:  # checked one by one: a % ndim would take axis 2 of a matrix as axis 0
        if not isinstance(a, INTEGER) or isinstance(a, bool):
            raise TypeError(f"transpose: axes must be ints, not {a!r} in {axes}")
        if not -x.ndim <= a < x.ndim:
            raise ValueError(f"transpose: axis {a} is out of range for a tensor with {x.ndim} dimensions")
    if sorted(a % x.ndim for a in axes) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of the {x.ndim} axes of shape {x.shape}")
    axes = tuple(int(a) % x.ndim for a in axes)
    return _view(Transpose.apply(x, axes), x, (transpose, axes), (_transposed_back, (axes,)))


def permute_dims(x, axes):
    """The Array API's transpose: ``x``'s axes in the order ``axes``, which names every
    axis once (transpose's "no axes: reverse them" is not taken), as a view."""
    x = _tensor(x)
    if not isinstance(axes, (tuple, list)):
        raise TypeError(f"permute_dims: axes must be a tuple naming every axis, not {axes!r}; "
                        "to reverse the axes use ag.transpose(x)")
    if len(axes) != x.ndim:
        raise ValueError(f"permute_dims: axes {tuple(axes)} are not a permutation of the {x.ndim} axes of shape "
                         f"{x.shape}")
    return transpose(x, tuple(axes))


def swapaxes(x, a, b):
    x = _tensor(x)
    a, b = single_axis("swapaxes", a, x.ndim), single_axis("swapaxes", b, x.ndim)
    if x.ndim == 0:  # its axis 0 (or -1) swapped with itself, as PyTorch allows
        return transpose(x, ())
    axes = list(range(x.ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return transpose(x, tuple(axes))


class BroadcastTo(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.x_shape = x.data.shape
        xp = x._backend.xp
        if math.prod(shape) == math.prod(x.data.shape):
            # Only ones added: a reshape, which stays writable (NumPy's broadcast views are
            # read-only, and in-place ops refuse only views that share elements).
            return xp.reshape(x.data, shape)
        return xp.broadcast_to(x.data, shape)

    @staticmethod
    def backward(ctx, gy):
        return sum_to(gy, ctx.x_shape), None


def broadcast_to(x, *shape):
    x = _tensor(x)
    shape = shape_arg(shape, "broadcast_to")
    if any(d < 0 for d in shape):  # NumPy's -1 is no "keep this size" (PyTorch's expand): refused by name
        raise ValueError(f"broadcast_to: sizes must be non-negative, got {shape}; give every size explicitly")
    if broadcast_shapes("broadcast_to", x.shape, shape) != shape:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}")
    out = BroadcastTo.apply(x, shape)
    # Only a broadcast that adds ones keeps each element once, and so may be written through.
    write_back = (_reshaped_back, ()) if out.size == x.size else None
    return _view(out, x, (broadcast_to, shape), write_back)


def broadcast_arrays(*arrays):
    """The tensors broadcast against each other, as a list of broadcast_to views of them."""
    if len(arrays) == 1 and isinstance(arrays[0], (tuple, list)):  # (NumPy's f([a, b]) as well as f(a, b))
        arrays = tuple(arrays[0])
    tensors = tensors_on_one_device(arrays)
    shape = broadcast_shapes("broadcast_arrays", *(t.shape for t in tensors)) if tensors else ()
    return [broadcast_to(t, shape) for t in tensors]


class SumTo(Function):
    """Sum a broadcast gradient back to ``shape``: the engine's one un-broadcast."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.x_shape = x.data.shape
        xp = x._backend.xp
        lead = x.data.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(shape)
                                          if d == 1 and x.data.shape[lead + i] != 1)
        # float16 adds up in float32, as the sums do (see accumulate) and PyTorch's un-broadcast
        y = accumulate(xp.sum, x, axis=axes, keepdims=True) if axes else x.data
        return xp.reshape(y, shape) if lead else y

    @staticmethod
    def backward(ctx, gy):
        return broadcast_to(gy, ctx.x_shape), None


def sum_to(x, *shape):
    shape = shape_arg(shape)
    if x.shape == shape:
        return x
    if broadcast_shapes("sum_to", x.shape, shape) != x.shape:
        raise ValueError(f"sum_to: a gradient of shape {x.shape} cannot be summed to shape {shape}")
    return SumTo.apply(x, shape)


def expand_dims(x, axis):
    x = _tensor(x)
    n = x.ndim + 1
    if not isinstance(axis, INTEGER) or isinstance(axis, bool):
        raise TypeError(f"expand_dims: axis must be one int, not {axis!r}")
    if not -n <= axis < n:
        raise ValueError(f"expand_dims: axis {axis} is out of range for a result with {n} dimensions")
    axis = int(axis) % n
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def squeeze(x, axis=None):
    x = _tensor(x)
    if axis is None:
        return reshape(x, tuple(d for d in x.shape if d != 1))
    axes = normalize_axis("squeeze", axis, x.ndim)
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"squeeze: axis {a} has size {x.shape[a]}, not 1, in shape {x.shape}")
    return reshape(x, tuple(d for i, d in enumerate(x.shape) if i not in axes))


def flatten(x, start_axis=0, end_axis=-1):
    x = _tensor(x)
    if x.ndim == 0:
        return reshape(x, (1,))
    start, end = single_axis("flatten", start_axis, x.ndim), single_axis("flatten", end_axis, x.ndim)
    if start > end:
        raise ValueError(f"flatten: start_axis {start_axis} comes after end_axis {end_axis}")
    n = 1
    for d in x.shape[start:end + 1]:
        n *= d
    return reshape(x, x.shape[:start] + (n,) + x.shape[end + 1:])


class Concat(Function):
    @staticmethod
    def forward(ctx, axis, *xs):
        ctx.axis = axis
        ctx.sizes = [x.data.shape[axis] for x in xs]
        return xs[0]._backend.xp.concat([x.data for x in xs], axis=axis)

    @staticmethod
    def backward(ctx, gy):
        return (None,) + tuple(split(gy, _offsets(ctx.sizes), ctx.axis))


def _offsets(sizes):
    out, total = [], 0
    for s in sizes[:-1]:
        total += s
        out.append(total)
    return out


def concat(tensors, axis=0):
    """Join along ``axis``; with axis=None, the tensors flattened, joined (as the Array API's)."""
    return joined("concat", tensors, axis)


def joined(op, tensors, axis):
    """concat, its errors naming ``op`` (the ops built on it: hstack, append...)."""
    tensors = tensors_on_one_device(tensors)
    if not tensors:
        raise ValueError(f"{op}: needs at least one tensor")
    on_one_device(op, *tensors)
    if axis is None:
        tensors, axis = [reshape(t, (-1,)) for t in tensors], 0
    first = tensors[0]
    if first.ndim == 0:
        raise ValueError(f"{op}: zero-dimensional tensors cannot be concatenated; use stack")
    axis = single_axis(op, axis, first.ndim)
    for t in tensors[1:]:
        if t.ndim != first.ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, first.shape)) if i != axis):
            raise ValueError(f"{op}: shapes {first.shape} and {t.shape} differ outside axis {axis}")
    if len({t.dtype for t in tensors}) > 1:
        from backends.dtypes import promote
        from .elementwise import astype
        common = first.dtype
        for t in tensors[1:]:
            common = promote(common, t.dtype)
        tensors = [astype(t, common, copy=False) for t in tensors]
    return Concat.apply(axis, *tensors)


def stack(tensors, axis=0):
    tensors = tensors_on_one_device(tensors)
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    for t in tensors[1:]:
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: all tensors need one shape, got {tensors[0].shape} and {t.shape}")
    n = tensors[0].ndim + 1
    if not -n <= axis < n:
        raise ValueError(f"stack: axis {axis} is out of range for a result with {n} dimensions")
    return concat([expand_dims(t, axis) for t in tensors], axis)


class Split(Function):
    """One input, several outputs: the pieces between ``offsets`` along ``axis``."""

    @staticmethod
    def forward(ctx, x, offsets, axis):
        ctx.axis = axis
        bounds = [0, *offsets, x.data.shape[axis]]
        lead = (slice(None),) * axis
        return tuple(x.data[lead + (slice(a, b), ...)] for a, b in zip(bounds[:-1], bounds[1:]))

    @staticmethod
    def backward(ctx, *grads):
        return concat(grads, ctx.axis), None, None


def split(x, indices_or_sections, axis=0):
    """NumPy's split: a number of equal sections, or the offsets to cut at."""
    x = _tensor(x)
    if x.ndim == 0:
        raise ValueError("split: a 0-d tensor has no axis to split; reshape it to 1-d first")
    axis = single_axis("split", axis, x.ndim)
    n = x.shape[axis]
    if isinstance(indices_or_sections, INTEGER):
        k = int(indices_or_sections)
        if k <= 0 or n % k:
            raise ValueError(f"split: axis {axis} of size {n} cannot be split into {k} equal sections")
        offsets = [n // k * i for i in range(1, k)]
    else:
        # NumPy's rules: negative offsets count from the end, then clamp to the axis
        offsets = [min(max(int(i) + n if int(i) < 0 else int(i), 0), n) for i in indices_or_sections]
        if offsets != sorted(offsets):
            raise ValueError(f"split: offsets {list(indices_or_sections)} must be increasing")
    offsets = tuple(offsets)
    pieces = Split.apply(x, offsets, axis)
    return [_view(p, x, (_split_piece, (offsets, axis, i)), (_split_piece_back, (offsets, axis, i)))
            for i, p in enumerate(pieces)]


def _split_piece(x, offsets, axis, i):
    """Piece ``i`` of a split of ``x`` (how a piece is remade, see _view)."""
    return split(x, offsets, axis)[i]


def _split_piece_back(x, values, offsets, axis, i):
    """``x`` with piece ``i`` of its split replaced by ``values`` (how a change of a piece
    reaches ``x``, see _view)."""
    pieces = split(x, offsets, axis)
    pieces[i] = values
    return concat(pieces, axis)
