"""Matrix products: matmul with NumPy's rules, einsum, and outer and tensordot, which
reduce to a broadcast product and to one matmul."""
import math
import string

from backends import dtypes

from ..autocast_mode import autocast_op
from ..function import Function
from ..shapes import INTEGER, broadcast_shapes, single_axis
from ..tensor import Tensor
from .elementwise import constant, mul, operands
from .shape import reshape, swapaxes, transpose


class MatMul(Function):
    """Batched matrix product of operands with at least two dimensions each; the
    engine sums the gradient over broadcast batch dimensions."""

    @staticmethod
    def forward(ctx, a, b):
        need_a, need_b = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        # Each input's gradient needs only the other input (as in Mul and PyTorch): one not
        # kept may change in place before backward (c @ w for a constant c, then a step on w).
        ctx.save_for_backward(a if need_b else None, b if need_a else None)
        return a._backend.matmul(a.data, b.data)

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (matmul(gy, swapaxes(b, -1, -2)) if need_a else None,
                matmul(swapaxes(a, -1, -2), gy) if need_b else None)


@autocast_op("matmul")
def matmul(a, b):
    a, b = operands("matmul", a, b, broadcast=False)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands need at least one dimension, got shapes {a.shape} and {b.shape}")
    # As PyTorch and the Array API (NumPy alone takes it). operands() gave both one dtype.
    if a.data.dtype == a._backend.native_dtype(dtypes.bool_):
        raise TypeError("matmul: bool tensors have no matrix product; convert them first, "
                        "as in a.astype(ag.int64) @ b.astype(ag.int64)")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align")
    if a.ndim > 2 or b.ndim > 2:
        try:
            broadcast_shapes("matmul", a.shape[:-2], b.shape[:-2] if b.ndim > 1 else ())
        except ValueError:  # named with the operands' shapes, not just their batch parts
            raise ValueError(f"matmul: the batch dimensions of shapes {a.shape} and {b.shape} "
                             "do not broadcast") from None
    if a.ndim > 1 and b.ndim > 1:
        return MatMul.apply(a, b)
    # 1-D operands become matrices for the product, and lose that axis after it.
    a2 = reshape(a, (1, a.shape[0])) if a.ndim == 1 else a
    b2 = reshape(b, (b.shape[0], 1)) if b.ndim == 1 else b
    y = MatMul.apply(a2, b2)
    if b.ndim == 1:
        y = reshape(y, y.shape[:-1])
    if a.ndim == 1:
        y = reshape(y, y.shape[:-2] + y.shape[-1:] if b.ndim > 1 else y.shape[:-1])
    return y


class Einsum(Function):
    @staticmethod
    def forward(ctx, spec, *operands):
        ctx.spec = spec
        ctx.save_for_backward(*operands)
        backend = operands[0]._backend
        y = backend.einsum(spec.text, *(o.data for o in operands))
        # NumPy and CuPy return a view of the operand for a transpose or a diagonal
        # ('ij->ji', 'ii->i'): a copy, so that changing the result in place cannot
        # change the operand behind its version counter.
        if any(backend.may_share_memory(y, o.data) for o in operands):
            y = backend.xp.asarray(y, copy=True)
        return y

    @staticmethod
    def backward(ctx, gy):
        operands = ctx.saved_tensors
        spec = ctx.spec
        grads = [None]
        for i, x in enumerate(operands):
            if not ctx.needs_input_grad[i + 1]:
                grads.append(None)
                continue
            others = [o for j, o in enumerate(operands) if j != i]
            other_subs = [s for j, s in enumerate(spec.inputs) if j != i]
            target = spec.inputs[i]
            # Letters of this operand that appear nowhere else were summed away, and a
            # letter repeated in it (a diagonal) is one axis of the product: compute
            # over its distinct remaining letters, then broadcast back to every axis.
            present = set(spec.output).union(*other_subs) if other_subs else set(spec.output)
            kept = "".join(dict.fromkeys(c for c in target if c in present))
            g = einsum(",".join([spec.output, *other_subs]) + "->" + kept, gy, *others)
            if kept != target:
                firsts = {c: target.index(c) for c in kept}
                g = reshape(g, tuple(g.shape[kept.index(c)] if firsts.get(c) == axis else 1
                                     for axis, c in enumerate(target)))
            full = tuple(spec.sizes[c] for c in target)
            if g.shape != full:  # (the engine sums it back over axes where x has size 1)
                g = g.broadcast_to(full)
            if len(set(target)) != len(target):  # only the diagonal got the values
                g = g * constant(_diagonal_mask(x._backend.xp, target, full, x.data.dtype), x)
            grads.append(g)
        return tuple(grads)


def _diagonal_mask(xp, subscripts, shape, dtype):
    """1 where every repeated letter of ``subscripts`` indexes equal positions, else 0,
    broadcastable to ``shape``: one identity matrix per repeat of a letter."""
    mask = None
    first = {}
    for axis, c in enumerate(subscripts):
        if c not in first:
            first[c] = axis
            continue
        view = [1] * len(subscripts)
        view[first[c]] = view[axis] = shape[axis]
        eye = xp.reshape(xp.eye(shape[axis], dtype=dtype), tuple(view))
        mask = eye if mask is None else mask * eye
    return mask


class _Spec:
    """A parsed einsum: explicit output, ellipses spelled out with spare letters."""

    def __init__(self, subscripts, shapes, op="einsum"):
        text = subscripts.replace(" ", "")
        if text.count("->") > 1:
            raise ValueError(f"{op}: '{subscripts}' has more than one '->'")
        bad = [c for c in text.replace("->", "").replace("...", "").replace(",", "")
               if not (c.isascii() and c.isalpha())]
        if bad:
            raise ValueError(f"{op}: '{subscripts}' has '{bad[0]}', which is no subscript: subscripts are "
                             "letters, with ',' between operands, '...' and '->' before the output")
        if "->" in text:
            lhs, out = text.split("->")
        else:
            lhs, out = text, None
        ins = lhs.split(",")
        if len(ins) != len(shapes):
            raise ValueError(f"{op}: '{subscripts}' names {len(ins)} operands but {len(shapes)} were given")
        letters = set(c for c in text if c.isalpha())
        # the ellipsis's axes take letters the caller did not write, of both cases (as NumPy's 52)
        spare = [c for c in string.ascii_uppercase + string.ascii_lowercase if c not in letters]
        for s in ins if out is None else ins + [out]:
            if s.count("...") > 1:
                raise ValueError(f"{op}: '...' appears more than once in '{s}' of '{subscripts}'")
        for s, shape in zip(ins, shapes):  # (an ellipsis covers no negative number of axes)
            if "..." in s and len(s) - 3 > len(shape):
                raise ValueError(f"{op}: subscripts '{s}' do not match an operand of shape {tuple(shape)}")
        ell_ndim = max((len(shape) - len(s.replace("...", "")) for s, shape in zip(ins, shapes) if "..." in s),
                       default=0)
        if ell_ndim > len(spare):
            raise ValueError(f"{op}: '{subscripts}' needs {len(letters) + ell_ndim} distinct subscripts (with the "
                             f"{ell_ndim} axes under '...'), more than the 52 letters")
        ell = "".join(spare[:ell_ndim])
        expanded = []
        for s, shape in zip(ins, shapes):
            if "..." in s:
                n = len(shape) - len(s.replace("...", ""))
                s = s.replace("...", ell[ell_ndim - n:] if n else "")
            if len(s) != len(shape):
                raise ValueError(f"{op}: subscripts '{s}' do not match an operand of shape {tuple(shape)}")
            for c in set(s):
                dims = {d for letter, d in zip(s, shape) if letter == c}
                if len(dims) > 1:
                    raise ValueError(f"{op}: subscript '{c}' is repeated in '{s}' (a diagonal) over axes of "
                                     f"different sizes {sorted(dims)} in an operand of shape {tuple(shape)}")
            expanded.append(s)
        if out is None:
            counts = {}
            for s in expanded:
                for c in s:
                    counts[c] = counts.get(c, 0) + 1
            out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
        else:
            out = out.replace("...", ell)
            repeated = sorted(c for c in set(out) if out.count(c) > 1)
            if repeated:
                raise ValueError(f"{op}: output subscript '{repeated[0]}' appears more than once in '{subscripts}'")
            unknown = sorted(set(out) - set("".join(expanded)))
            if unknown:
                raise ValueError(f"{op}: output subscript '{unknown[0]}' appears in no operand of '{subscripts}'")
        sizes = {}
        for s, shape in zip(expanded, shapes):
            for c, d in zip(s, shape):
                if sizes.setdefault(c, d) != d:
                    if d != 1 and sizes[c] != 1:
                        if c in ell:  # a spare letter the caller never wrote: name the shapes instead
                            listed = " and ".join(str(tuple(x)) for x in shapes)
                            raise ValueError(f"{op}: the axes under '...' of shapes {listed} do not broadcast")
                        raise ValueError(f"{op}: subscript '{c}' has sizes {sizes[c]} and {d}")
                    sizes[c] = max(sizes[c], d)  # a size-1 axis broadcasts
        self.inputs, self.output, self.sizes = expanded, out, sizes
        self.text = ",".join(expanded) + "->" + out


@autocast_op("einsum")
def einsum(subscripts, *tensors):
    """Einstein summation, as NumPy's einsum, diagonals ('ii->i') included; a sum over one
    integer or bool operand gives int64, as PyTorch's, and so does a sum over bool operands
    (a count of the terms that are all True)."""
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum: the first argument is the subscripts, a string such as 'ij,jk->ik', not "
                        f"{type(subscripts).__name__} (the sublist form einsum(x, [0, 1]) is not supported)")
    if not tensors:
        raise ValueError("einsum: needs at least one operand")
    if len(tensors) == 1 and not isinstance(tensors[0], Tensor):
        raise TypeError(f"einsum: expected a Tensor, got {type(tensors[0]).__name__}; wrap it with ag.tensor()")
    tensors = list(tensors)
    for i in range(1, len(tensors)):  # lift and promote every operand to one dtype
        tensors[0], tensors[i] = operands("einsum", tensors[0], tensors[i], broadcast=False)
    if len(tensors) > 2 and len({t.dtype for t in tensors}) > 1:
        return einsum(subscripts, *(t.astype(tensors[0].dtype, copy=False) for t in tensors))
    spec = _Spec(subscripts, [t.shape for t in tensors])
    summed = set("".join(spec.inputs)) - set(spec.output)
    if summed and (dtypes.category(tensors[0].dtype) == 0 or len(tensors) == 1 and
                   dtypes.category(tensors[0].dtype) == 1):
        # A sum over one integer or bool operand adds up in int64, as sum and PyTorch's einsum
        # do: NumPy's would keep int8 (wrapping) and OR bools together instead of counting them.
        # Over several bool operands it counts too, as PyTorch's where it computes one ('ij,j->j');
        # where it contracts two bools ('ij,jk->ik') PyTorch's raises "bmm not implemented for Bool"
        tensors = [t.astype(dtypes.int64, copy=False) for t in tensors]
    return Einsum.apply(spec, *tensors)


def outer(a, b):
    """The outer product of two vectors: ``out[i, j] = a[i] * b[j]``."""
    a, b = operands("outer", a, b, broadcast=False)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"outer: takes two vectors, got shapes {a.shape} and {b.shape}; "
                         "flatten them first, or use einsum")
    return mul(reshape(a, (a.shape[0], 1)), reshape(b, (1, b.shape[0])))


def _contracted_axes(a, b, axes):
    """tensordot's ``axes`` as two equally long tuples of non-negative axes of a and b."""
    if isinstance(axes, INTEGER) and not isinstance(axes, bool):
        if not 0 <= axes <= min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: axes={axes} is more than shapes {a.shape} and {b.shape} can contract")
        return tuple(range(a.ndim - axes, a.ndim)), tuple(range(axes))
    try:
        if isinstance(axes, str):
            raise TypeError
        axes_a, axes_b = axes
    except (TypeError, ValueError):
        raise TypeError(f"tensordot: axes must be an int or a pair of axis sequences, not {axes!r}") from None
    axes_a = (axes_a,) if isinstance(axes_a, INTEGER) else tuple(axes_a)
    axes_b = (axes_b,) if isinstance(axes_b, INTEGER) else tuple(axes_b)
    if len(axes_a) != len(axes_b):
        raise ValueError(f"tensordot: {len(axes_a)} axes of a and {len(axes_b)} of b; they pair up one to one")
    axes_a = tuple(single_axis("tensordot", ax, a.ndim) for ax in axes_a)
    axes_b = tuple(single_axis("tensordot", ax, b.ndim) for ax in axes_b)
    if len(set(axes_a)) < len(axes_a) or len(set(axes_b)) < len(axes_b):
        raise ValueError(f"tensordot: an axis is repeated in {axes!r}")
    return axes_a, axes_b


@autocast_op("tensordot")
def tensordot(a, b, axes=2):
    """The sum of products over ``axes`` (an int N: the last N axes of a with the first
    N of b; or a pair of axis sequences), as NumPy's: a's other axes, then b's. It is
    one matmul between a and b, each permuted and reshaped to a matrix."""
    a, b = operands("tensordot", a, b, broadcast=False)
    axes_a, axes_b = _contracted_axes(a, b, axes)
    for i, j in zip(axes_a, axes_b):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"tensordot: axis {i} of shape {a.shape} and axis {j} of shape {b.shape} "
                             "differ in size")
    free_a = [i for i in range(a.ndim) if i not in axes_a]
    free_b = [j for j in range(b.ndim) if j not in axes_b]
    kept_a, kept_b = tuple(a.shape[i] for i in free_a), tuple(b.shape[j] for j in free_b)
    inner = math.prod(a.shape[i] for i in axes_a)
    rows = reshape(transpose(a, (*free_a, *axes_a)), (math.prod(kept_a), inner))
    cols = reshape(transpose(b, (*axes_b, *free_b)), (inner, math.prod(kept_b)))
    return reshape(matmul(rows, cols), kept_a + kept_b)
