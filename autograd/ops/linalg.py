"""Matrix products: matmul with NumPy's rules, and einsum."""
from ..function import Function
from ..shapes import broadcast_shapes
from .elementwise import operands
from .shape import reshape, swapaxes


class MatMul(Function):
    """Batched matrix product of operands with at least two dimensions each; the
    engine sums the gradient over broadcast batch dimensions."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a._backend.xp.matmul(a.data, b.data)

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (matmul(gy, swapaxes(b, -1, -2)) if need_a else None,
                matmul(swapaxes(a, -1, -2), gy) if need_b else None)


def matmul(a, b):
    a, b = operands("matmul", a, b, broadcast=False)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands need at least one dimension, got shapes {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align")
    if a.ndim > 2 or b.ndim > 2:
        broadcast_shapes("matmul", a.shape[:-2], b.shape[:-2] if b.ndim > 1 else ())
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
        return operands[0]._backend.einsum(spec.text, *(o.data for o in operands))

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
            # Letters of this operand that appear nowhere else were summed away:
            # compute without them, then broadcast back.
            present = set(spec.output).union(*other_subs) if other_subs else set(spec.output)
            kept = "".join(c for c in target if c in present)
            g = einsum(",".join([spec.output, *other_subs]) + "->" + kept, gy, *others)
            if kept != target:
                shape = tuple(x.shape[target.index(c)] if c in kept else 1 for c in target)
                g = reshape(g, shape).broadcast_to(x.shape)
            grads.append(g)
        return tuple(grads)


class _Spec:
    """A parsed einsum: explicit output, ellipses spelled out with spare letters."""

    def __init__(self, subscripts, shapes, op="einsum"):
        text = subscripts.replace(" ", "")
        if "->" in text:
            lhs, out = text.split("->")
        else:
            lhs, out = text, None
        ins = lhs.split(",")
        if len(ins) != len(shapes):
            raise ValueError(f"{op}: '{subscripts}' names {len(ins)} operands but {len(shapes)} were given")
        letters = set(c for c in text if c.isalpha())
        spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in letters]
        ell_ndim = max((len(shape) - len(s.replace("...", "")) for s, shape in zip(ins, shapes) if "..." in s),
                       default=0)
        ell = "".join(spare[:ell_ndim])
        expanded = []
        for s, shape in zip(ins, shapes):
            if "..." in s:
                n = len(shape) - len(s.replace("...", ""))
                s = s.replace("...", ell[ell_ndim - n:] if n else "")
            if len(s) != len(shape):
                raise ValueError(f"{op}: subscripts '{s}' do not match an operand of shape {tuple(shape)}")
            if len(set(s)) != len(s):
                raise ValueError(f"{op}: repeated subscripts within one operand ('{s}', a diagonal) "
                                 "are not supported")
            expanded.append(s)
        if out is None:
            counts = {}
            for s in expanded:
                for c in s:
                    counts[c] = counts.get(c, 0) + 1
            out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
        else:
            out = out.replace("...", ell)
        sizes = {}
        for s, shape in zip(expanded, shapes):
            for c, d in zip(s, shape):
                if sizes.setdefault(c, d) != d and d != 1 and sizes[c] != 1:
                    raise ValueError(f"{op}: subscript '{c}' has sizes {sizes[c]} and {d}")
        self.inputs, self.output = expanded, out
        self.text = ",".join(expanded) + "->" + out


def einsum(subscripts, *tensors):
    """Einstein summation, as NumPy's einsum (no repeated letters within one operand)."""
    if not tensors:
        raise ValueError("einsum: needs at least one operand")
    tensors = list(tensors)
    for i in range(1, len(tensors)):  # lift and promote every operand to one dtype
        tensors[0], tensors[i] = operands("einsum", tensors[0], tensors[i], broadcast=False)
    if len(tensors) > 2 and len({t.dtype for t in tensors}) > 1:
        return einsum(subscripts, *(t.astype(tensors[0].dtype) for t in tensors))
    spec = _Spec(subscripts, [t.shape for t in tensors])
    return Einsum.apply(spec, *tensors)
