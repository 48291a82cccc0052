"""Integer ids to vectors: ``embedding`` (rows of a weight table, with PyTorch's
``padding_idx``, ``max_norm`` and ``scale_grad_by_freq``) and ``one_hot``. The plain
lookup is ``weight[indices]``, kept as cheap as a bare lookup; each option adds
its checks and work only when asked for. ``check_embedding_options`` and
``normalize_padding_idx`` are shared with the ``Embedding`` layer, which checks at
construction."""
import math
import numbers

from autograd import Function, Tensor, is_grad_enabled
from autograd.ops.elementwise import where
from autograd.ops.indexing import IndexAdd
from autograd.tensor import count_change
from backends import dtypes

from .arguments import real, require_tensor


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """Rows of ``weight`` (num_embeddings, embedding_dim) at the integer ids in
    ``input``; the result has shape ``input.shape + (embedding_dim,)``. The row at
    ``padding_idx`` is looked up as usual but gets no gradient, as in PyTorch.

    With ``max_norm``, every row the ids reference whose ``norm_type``-norm exceeds
    it is first rescaled in place in ``weight`` to norm ``max_norm`` (outside
    autograd, as PyTorch does). With ``scale_grad_by_freq``, each row's gradient is
    divided by how often its id occurs in ``input``. ``sparse=True`` is refused:
    gradients here are always dense."""
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError("embedding: weight must be a 2-D tensor (num_embeddings, embedding_dim), got "
                         f"{getattr(weight, 'shape', type(weight).__name__)}")
    num_embeddings = weight.shape[0]
    padding_idx = normalize_padding_idx(padding_idx, num_embeddings)
    plain = (max_norm is None and scale_grad_by_freq is False and sparse is False
             and type(norm_type) is float and norm_type == 2.0)
    if not plain:
        check_embedding_options("embedding", max_norm, norm_type, scale_grad_by_freq, sparse)
    indices = _as_indices(input, weight)
    if plain:  # the common case, kept as cheap as a bare lookup
        rows = weight[indices]
    else:
        if max_norm is not None:
            _renorm_rows_(weight, indices, max_norm, norm_type)
        if scale_grad_by_freq and weight.requires_grad and is_grad_enabled():  # else no gradient to scale
            rows = _FrequencyScaledLookup.apply(weight, (indices.data,), _inverse_counts(weight, indices))
        else:
            rows = weight[indices]
    if padding_idx is not None and rows.requires_grad:
        # Same values everywhere; where the id is the padding one, the value comes
        # from a detached copy, so the gradient skips the padding row.
        keep = Tensor._make(indices.data != padding_idx, weight._backend)
        rows = where(keep.expand_dims(-1), rows, rows.detach())
    return rows


def normalize_padding_idx(padding_idx, num_embeddings):
    if padding_idx is None:
        return None
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, numbers.Integral):  # NumPy ints too, as PyTorch
        raise TypeError(f"embedding: padding_idx must be an int or None, not {type(padding_idx).__name__}")
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"embedding: padding_idx {padding_idx} is out of range for {num_embeddings} "
                         f"embeddings; it must lie in [-{num_embeddings}, {num_embeddings - 1}]")
    return int(padding_idx) % num_embeddings


def check_embedding_options(op, max_norm, norm_type, scale_grad_by_freq, sparse):
    """Reject bad ``max_norm``/``norm_type``/``scale_grad_by_freq``/``sparse`` before anything changes."""
    if max_norm is not None:
        if not real(max_norm):
            raise TypeError(f"{op}: max_norm must be a positive number or None, not {type(max_norm).__name__}")
        if not max_norm > 0:  # also rejects NaN
            raise ValueError(f"{op}: max_norm must be a positive number or None, got {max_norm!r}")
    if not real(norm_type):
        raise TypeError(f"{op}: norm_type must be a positive number (the p of the p-norm), "
                        f"not {type(norm_type).__name__}")
    if not norm_type > 0:
        raise ValueError(f"{op}: norm_type must be a positive number (the p of the p-norm, "
                         f"math.inf for the max-norm), got {norm_type!r}")
    for name, value in (("scale_grad_by_freq", scale_grad_by_freq), ("sparse", sparse)):
        if not isinstance(value, bool):
            raise TypeError(f"{op}: {name} must be True or False, not {type(value).__name__}")
    if sparse:
        raise ValueError(f"{op}: sparse=True asks for a sparse gradient, but topograd has no sparse "
                         "tensors; use sparse=False (the weight's gradient is then a dense tensor)")


def _renorm_rows_(weight, indices, max_norm, norm_type):
    """Rescale, in place, each row of ``weight`` that ``indices`` references and whose
    ``norm_type``-norm exceeds ``max_norm`` to norm ``max_norm``, as torch.embedding_renorm_:
    by ``max_norm / (norm + 1e-7)``, computed in float64, applied in the weight's dtype."""
    backend = weight._backend
    xp = backend.xp
    data = weight.data
    max_norm, norm_type = float(max_norm), float(norm_type)  # NumPy scalars do not mix with every namespace
    if indices.size and data.shape[1]:
        # Row-selecting masks, not integer arrays: the standard only sets items through masks.
        used = backend.scatter_add((data.shape[0],), (indices.data,), xp.ones(indices.shape, dtype=xp.float32)) > 0
        rows = data[used]
        # float16 rows are measured in float32 (their norm rounded back), as PyTorch does:
        # float16 squares overflow past 256, and a row of norm 500 came out all zeros.
        wide = xp.astype(rows, xp.float32) if weight.dtype == dtypes.float16 else rows
        norms = xp.astype(xp.astype(_row_norms(xp, wide, norm_type), data.dtype), xp.float64)
        scale = xp.astype(max_norm / (norms + 1e-7), data.dtype)
        over = xp.expand_dims(norms > max_norm, axis=-1)
        data[used] = xp.where(over, rows * xp.expand_dims(scale, axis=-1), rows)
    # PyTorch bumps the weight's version on every renorm call (changed rows or not), so
    # backward through an op that saved the weight before this lookup fails there as
    # here, whatever the data: "modified in place", fixed by passing it a clone.
    count_change(weight)


def _row_norms(xp, rows, p):
    magnitudes = xp.abs(rows)
    if p == math.inf:
        return xp.max(magnitudes, axis=-1)
    if p == 1:
        return xp.sum(magnitudes, axis=-1)
    if p == 2:
        return xp.sqrt(xp.sum(rows * rows, axis=-1))
    return xp.sum(magnitudes ** p, axis=-1) ** (1 / p)


def _inverse_counts(weight, indices):
    """1 / (how often each position's id occurs in ``indices``), shaped ``indices.shape + (1,)``
    to scale looked-up rows; in float64 for float64 weights, else float32, cast to the weight's dtype."""
    backend = weight._backend
    xp = backend.xp
    count_dtype = xp.float64 if weight.data.dtype == xp.float64 else xp.float32
    index = (indices.data,)
    counts = backend.scatter_add((weight.shape[0],), index, xp.ones(indices.shape, dtype=count_dtype))
    inverse = 1 / backend.gather(counts, index)
    return xp.expand_dims(xp.astype(inverse, weight.data.dtype), axis=-1)


class _FrequencyScaledLookup(Function):
    """``weight[index]`` whose gradient reaches each row scaled by ``inverse_counts``
    (PyTorch's scale_grad_by_freq). The backward is Tensor ops (a scale, then the
    indexing op's scatter-add), so it differentiates again under create_graph. Its
    second derivative is that scaled backward's exact derivative, so it carries the
    scale too; PyTorch's double backward leaves the scale out there."""

    @staticmethod
    def forward(ctx, weight, index, inverse_counts):
        ctx.weight_shape = weight.data.shape
        ctx.save_for_backward(inverse_counts, *index)  # freed after backward, as any saved array
        return weight._backend.gather(weight.data, index)

    @staticmethod
    def backward(ctx, gy):
        scale, *index = ctx.saved_tensors
        return IndexAdd.apply(gy * scale, tuple(t.data for t in index), True, ctx.weight_shape), None, None


def _as_indices(input, weight):
    """``input`` as an integer tensor on the weight's device, every id checked to be a valid row."""
    backend = weight._backend
    if isinstance(input, Tensor):
        if input._backend is not backend:
            raise ValueError(f"embedding: the indices are on {input.device} but the weight is on "
                             f"{weight.device}; move one with .to(device)")
        indices = input
    else:
        try:
            indices = Tensor(input, device=backend)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"embedding: indices must be integers (a Tensor, list or array), "
                            f"got {type(input).__name__}") from exc
    if indices.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must have an integer dtype, not {indices.dtype}; "
                        "convert them with .astype(ag.int64)")
    if indices.dtype != dtypes.int64 and indices.dtype != dtypes.int32:
        indices = indices.astype(dtypes.int64)  # so padding_idx compares with any id (300 is no uint8)
    num_embeddings = weight.shape[0]
    if indices.size:
        xp = backend.xp
        low, high = backend.read_ints(xp.min(indices.data), xp.max(indices.data))  # (one wait on a GPU)
        if low < 0 or high >= num_embeddings:
            bad = low if low < 0 else high
            raise IndexError(f"embedding: index {bad} is out of range; indices must lie in "
                             f"[0, {num_embeddings - 1}] for a table of {num_embeddings} embeddings")
    return indices


def one_hot(tensor, num_classes=-1):
    """int64 one-hot vectors along a new last axis; ``num_classes=-1`` uses max + 1."""
    require_tensor("one_hot", tensor)
    if tensor.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer tensor of class indices, not {tensor.dtype}")
    xp = tensor._backend.xp
    data = tensor.data
    low, high = tensor._backend.read_ints(xp.min(data), xp.max(data)) if tensor.size else (0, -1)  # (one wait)
    if num_classes == -1:
        if not tensor.size:  # no largest class to count from, as PyTorch refuses too
            raise ValueError("one_hot: cannot infer the number of classes from an empty tensor; give num_classes")
        num_classes = high + 1
    if low < 0 or high >= num_classes:
        raise ValueError(f"one_hot: class values must lie in [0, {num_classes - 1}], found {low if low < 0 else high}")
    # Compared as int64: classes in a narrow dtype wrap (uint8: 261 reads as 5, two ones in a row)
    classes = xp.arange(num_classes, dtype=xp.int64)
    onehot = xp.reshape(xp.astype(data, xp.int64, copy=False), data.shape + (1,)) == classes
    return Tensor._make(xp.astype(onehot, xp.int64), tensor._backend)
