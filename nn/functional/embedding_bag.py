"""``embedding_bag``: the sum, mean or max of each bag of looked-up rows, without
the (bags, length, dim) tensor of rows in between, as PyTorch's. Bags are the rows of
a 2-D input (fixed length), or runs of a 1-D input cut at ``offsets``; ids equal to
``padding_idx`` are left out of their bag (and of its count), and an empty bag gives
zeros.

Vectorized over every id at once, with no loop over bags: each kept id's row is
looked up (``weight[ids]``, the embedding's lookup), optionally scaled by its
``per_sample_weights``, and scatter-added into its bag (``IndexAdd``, whose backward
gathers). 'max' finds each bag's winning id per column with a segmented running max
(bags are runs of consecutive ids) and gathers those entries of ``weight``, so the
gradient goes to the first maximum of each bag and column, as PyTorch's. Compositions of autograd
ops, with no gradient code of their own."""
from autograd import Tensor, is_grad_enabled
from autograd.ops.elementwise import constant, where
from autograd.ops.indexing import IndexAdd
from autograd.ops.shape import expand_dims, reshape

from .arguments import floating, rounded, same_dtype, widened
from .embedding import (_FrequencyScaledLookup, _as_indices, _inverse_counts, _renorm_rows_,
                        check_embedding_options, normalize_padding_idx)

MODES = ("sum", "mean", "max")


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """The ``mode`` ('sum', 'mean' or 'max') of each bag's rows of ``weight``
    (num_embeddings, embedding_dim); the result is (bags, embedding_dim).

    ``input`` is (bags, length), one bag per row (``offsets`` must be None), or 1-D
    ids with ``offsets``, the start of each bag (the first 0, non-decreasing); with
    ``include_last_offset`` the last offset is the end of the last bag instead of a
    start (CSR's row pointers; as in PyTorch, the last bag runs to the input's end
    whatever it says). ``per_sample_weights`` (``input``'s shape, 'sum' only) scales each id's
    row. ``max_norm``, ``norm_type`` and ``scale_grad_by_freq`` work as in
    ``embedding`` (not 'max' with ``scale_grad_by_freq``, as in PyTorch)."""
    op = "embedding_bag"
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError(f"{op}: weight must be a 2-D tensor (num_embeddings, embedding_dim), got "
                         f"{getattr(weight, 'shape', type(weight).__name__)}")
    floating(op, weight, "weight")
    if mode not in MODES:
        raise ValueError(f"{op}: mode must be one of 'sum', 'mean' or 'max', not {mode!r}")
    check_embedding_options(op, max_norm, norm_type, scale_grad_by_freq, sparse)
    if mode == "max" and scale_grad_by_freq:
        raise ValueError(f"{op}: max mode does not support scaling the gradient by the frequency "
                         "(scale_grad_by_freq=True)")
    if per_sample_weights is not None:
        if mode != "sum":
            raise ValueError(f"{op}: per_sample_weights is only supported for mode='sum', got mode={mode!r}")
        floating(op, per_sample_weights, "per_sample_weights")
        same_dtype(op, weight, per_sample_weights, "per_sample_weights")
        if per_sample_weights.shape != getattr(input, "shape", None):
            raise ValueError(f"{op}: per_sample_weights ({per_sample_weights.shape}) must have the same shape as "
                             f"the input ({getattr(input, 'shape', None)})")
    if not isinstance(include_last_offset, bool):
        raise TypeError(f"{op}: include_last_offset must be True or False, not "
                        f"{type(include_last_offset).__name__}")
    num_embeddings, dim = weight.shape
    padding_idx = normalize_padding_idx(padding_idx, num_embeddings)
    indices = _as_indices(input, weight)
    backend = weight._backend
    xp = backend.xp
    ids, bag_of, bags, keep = _bags(op, indices, offsets, include_last_offset, weight)
    if max_norm is not None:  # every id of the input, as PyTorch renormalizes them
        _renorm_rows_(weight, indices, max_norm, norm_type)
    if padding_idx is not None:
        keep = ids != padding_idx if keep is None else keep & (ids != padding_idx)
    scale = None if per_sample_weights is None else reshape(per_sample_weights, (-1,))
    if keep is not None and not bool(xp.all(keep)):
        ids, bag_of = ids[keep], bag_of[keep]
        if scale is not None:
            scale = scale[constant(keep, scale)]
    if mode == "max":
        return _bag_max(weight, ids, bag_of, bags)
    kept = Tensor._make(ids, backend)
    if scale_grad_by_freq and weight.requires_grad and is_grad_enabled():
        rows = _FrequencyScaledLookup.apply(weight, (ids,), _inverse_counts(weight, kept))
    else:
        rows = weight[kept]
    rows = widened(rows)  # float16 bags add up in float32 and round once, as PyTorch's (5x its error row by row)
    if scale is not None:
        rows = rows * expand_dims(scale, -1)
    total = IndexAdd.apply(rows, (bag_of,), True, (bags, dim))
    if mode == "mean":
        counts = backend.scatter_add((bags,), (bag_of,), xp.ones(bag_of.shape, dtype=total.data.dtype))
        total = total / constant(xp.reshape(xp.maximum(counts, xp.ones_like(counts)), (bags, 1)), total)
    return rounded(total, weight.dtype)


def _bags(op, indices, offsets, include_last_offset, weight):
    """(ids, bag of each id, number of bags, mask of the ids inside a bag or None):
    the flat ids of a 2-D input and its row numbers, or a 1-D input's ids and the
    bag each falls in by ``offsets``."""
    backend = weight._backend
    xp = backend.xp
    data = indices.data
    if indices.ndim == 2:
        if offsets is not None:
            raise ValueError(f"{op}: a 2-D input is a batch of fixed-length bags, one per row, so offsets must "
                             "be None; give a 1-D input with offsets for bags of different lengths")
        bags, length = indices.shape
        ids = xp.reshape(data, (-1,))
        position = xp.arange(bags * length, dtype=xp.int64)
        return ids, position // max(length, 1), bags, None
    if indices.ndim != 1:
        raise ValueError(f"{op}: input must be 1-D (with offsets) or 2-D (one bag per row), got shape "
                         f"{indices.shape}")
    if offsets is None:
        raise ValueError(f"{op}: a 1-D input needs offsets, the start of each bag (a 1-D integer tensor)")
    n = indices.shape[0]
    starts = _offsets(op, offsets, n, backend)
    if include_last_offset:
        if not starts.shape[0]:
            raise ValueError(f"{op}: with include_last_offset=True, offsets must hold at least one value (the end "
                             "of the last bag)")
        # The last offset should be the input's length (CSR's row pointers); where it is
        # less, the last bag still runs to the end of the input, as in PyTorch.
        starts = starts[:-1]
    bags = starts.shape[0]
    if not bags:  # nothing to put the ids in
        return data, xp.zeros((n,), dtype=xp.int64), 0, xp.zeros((n,), dtype=xp.bool)
    bag_of = xp.searchsorted(starts, xp.arange(n, dtype=starts.dtype), side="right") - 1
    return data, bag_of, bags, None


def _offsets(op, offsets, n, backend):
    """``offsets`` as an int64 array on the weight's device, checked as PyTorch checks
    them (the first 0, none past the input's end), and non-decreasing."""
    if isinstance(offsets, Tensor):
        if offsets._backend is not backend:
            raise ValueError(f"{op}: offsets are on {offsets.device} but the weight is on {backend.device}; move "
                             "one with .to(device)")
    else:
        try:
            offsets = Tensor(offsets, device=backend)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{op}: offsets must be integers (a Tensor, list or array), got "
                            f"{type(offsets).__name__}") from exc
    if offsets.dtype.kind not in "iu":
        raise TypeError(f"{op}: offsets must have an integer dtype, not {offsets.dtype}")
    if offsets.ndim != 1:
        raise ValueError(f"{op}: offsets must be 1-D, got shape {offsets.shape}")
    xp = backend.xp
    starts = xp.astype(offsets.data, xp.int64)
    if starts.shape[0]:
        first, last = int(starts[0]), int(starts[-1])
        if first != 0:
            raise ValueError(f"{op}: offsets[0] must be 0 (the first bag starts at the first id), got {first}")
        if last > n:
            raise ValueError(f"{op}: offsets[-1] ({last}) cannot be greater than the input's length {n}")
        if starts.shape[0] > 1 and not bool(xp.all(starts[1:] >= starts[:-1])):
            raise ValueError(f"{op}: offsets must be non-decreasing (each bag starts where the previous one "
                             "ends or after)")
    return starts


def _bag_max(weight, ids, bag_of, bags):
    """The largest entry of each bag's rows, column by column: a segmented running max
    (a Hillis-Steele scan: log2 of the longest bag passes of elementwise ops, no sort)
    carries each entry's best value and its position from the start of its bag, so
    each bag's last entry holds the bag's first maximum; the output gathers those
    entries of ``weight``, which the gradient reaches alone. Empty bags give 0."""
    backend = weight._backend
    xp = backend.xp
    dim = weight.shape[1]
    if not ids.shape[0]:  # every bag empty: zeros, still of the graph (a scatter of no rows)
        return IndexAdd.apply(weight[:0], (bag_of,), True, (bags, dim))
    n = ids.shape[0]
    best = backend.gather(weight.data, (ids,))  # (kept ids, dim), a new array, updated in place below
    position_dtype = xp.int32 if n < 2 ** 31 else xp.int64  # half the memory traffic
    where_best = xp.reshape(xp.arange(n, dtype=position_dtype), (n, 1)) + xp.zeros((1, dim), dtype=position_dtype)
    counts = backend.scatter_add((bags,), (bag_of,), xp.ones(bag_of.shape, dtype=xp.int64))
    longest = int(xp.max(counts))
    shift = 1
    while shift < longest:  # best[i] covers up to 2 * shift entries of i's bag ending at i
        same_bag = xp.reshape(bag_of[shift:] == bag_of[:-shift], (-1, 1))
        earlier, current = best[:-shift, ...], best[shift:, ...]
        take = same_bag & (earlier >= current)  # ties to the earlier entry: the first maximum
        # (each right side is a new array before it is written over the old values; the
        # backend's where: take is a random pattern, on which NumPy's mispredicts, 10x slower)
        where_best[shift:, ...] = backend.where(take, where_best[:-shift, ...], where_best[shift:, ...])
        best[shift:, ...] = backend.where(take, earlier, current)
        shift *= 2
    nonempty = counts > 0
    last = xp.where(nonempty, xp.cumulative_sum(counts) - 1, xp.zeros_like(counts))  # each bag's last entry
    winner = xp.astype(xp.take(where_best, last, axis=0), xp.int64)  # (bags, dim) positions among the kept ids
    rows = xp.take(ids, xp.reshape(winner, (-1,)), axis=0)
    columns = xp.reshape(xp.broadcast_to(xp.arange(dim, dtype=rows.dtype), (bags, dim)), (-1,))
    picked = reshape(weight[constant(rows, weight), constant(columns, weight)], (bags, dim))
    return where(constant(xp.reshape(nonempty, (bags, 1)), weight), picked, 0.0)
