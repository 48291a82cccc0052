"""``embedding_bag``: the sum, mean or max of each bag of looked-up rows, without
the (bags, length, dim) tensor of rows in between, as PyTorch's. Bags are the rows of
a 2-D input (fixed length), or runs of a 1-D input cut at ``offsets``; ids equal to
``padding_idx`` are left out of their bag (and of its count), and an empty bag gives
zeros.

Vectorized over every id at once, with no loop over bags: a bag is a run of
consecutive kept ids, and the backend's run kernels (autograd.ops.runs) sum each
bag's rows of ``weight`` straight from the table, each scaled by its
``per_sample_weights`` where given; the gradient spreads each bag's gradient back to
its ids' rows (scaled the same way), and each per-sample weight's gradient is the dot
product of its bag's gradient and its id's row. With scale_grad_by_freq the spread
scales each id's share by 1 / its count instead, as np.add.at of the scaled gradients
would, without add.at. (float16, and scale_grad_by_freq with per_sample_weights, look
each id's row up first.) 'max' finds each bag's winning id per column
(``first_max_of_runs``: the first maximum, as PyTorch's loop) and gathers those
entries of ``weight``, which the gradient reaches alone. Compositions of autograd
ops, with no gradient code of their own."""
from autograd import Tensor, is_grad_enabled
from autograd.ops.elementwise import constant, where
from autograd.ops.runs import sum_runs, sum_runs_scaling_gradient
from autograd.ops.shape import expand_dims, reshape
from backends import dtypes

from .arguments import floating, rounded, same_dtype, widened
from .embedding import _as_indices, _inverse_counts, _renorm_rows_, check_embedding_options, normalize_padding_idx

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
    ids, counts, keep = _bags(op, indices, offsets, include_last_offset, weight)
    if max_norm is not None:  # every id of the input, as PyTorch renormalizes them
        _renorm_rows_(weight, indices, max_norm, norm_type)
    if padding_idx is not None:
        keep = ids != padding_idx if keep is None else keep & (ids != padding_idx)
    scale = None if per_sample_weights is None else reshape(per_sample_weights, (-1,))
    if keep is not None and not bool(xp.all(keep)):
        ids, counts = ids[keep], _kept_counts(xp, keep, counts)
        if scale is not None:
            scale = scale[constant(keep, scale)]
    if mode == "max":
        return _bag_max(weight, ids, counts)
    inverse = None  # with scale_grad_by_freq, 1 / how often each id occurs, which scales its gradient
    if scale_grad_by_freq and weight.requires_grad and is_grad_enabled():
        inverse = xp.reshape(_inverse_counts(weight, Tensor._make(ids, backend)), ids.shape)
    if weight.dtype == dtypes.float16 or (inverse is not None and scale is not None):
        total = _sum_of_looked_up_rows(weight, ids, counts, scale, inverse)
    elif inverse is None:  # straight from the table, never the (ids, dim) rows whole (see backends/numpy_runs.py)
        total = sum_runs(weight, ids, counts, scale)
    else:
        total = sum_runs_scaling_gradient(weight, ids, counts, inverse)
    if mode == "mean":
        divisor = xp.astype(xp.maximum(counts, xp.ones_like(counts)), total.data.dtype)
        total = total / constant(xp.reshape(divisor, (-1, 1)), total)
    return rounded(total, weight.dtype)


def _sum_of_looked_up_rows(weight, ids, counts, scale, inverse):
    """Each bag's sum by way of each id's row: ``weight[ids]`` as runs of one id (so the
    gradient takes the backend's spread, not add.at), scaled by ``inverse`` on the way
    back where given, times ``scale`` where given, then summed per bag. float16 rows add
    up in float32 and round once, as PyTorch's (5x its error row by row); with both
    scales, an id's gradient is multiplied by its ``scale``, then by its ``inverse``."""
    xp = weight._backend.xp
    ones = xp.ones(ids.shape, dtype=xp.int64)
    rows = sum_runs(weight, ids, ones) if inverse is None else sum_runs_scaling_gradient(weight, ids, ones, inverse)
    rows = widened(rows)
    if scale is not None:
        rows = rows * expand_dims(scale, -1)
    return sum_runs(rows, None, counts)

def _bags(op, indices, offsets, include_last_offset, weight):
    """(ids, number of ids in each bag, mask of the ids inside a bag or None): the flat
    ids of a 2-D input, its rows' lengths, or a 1-D input's ids and the bags' lengths
    by ``offsets``. Each bag is a run of consecutive ids."""
    backend = weight._backend
    xp = backend.xp
    data = indices.data
    if indices.ndim == 2:
        if offsets is not None:
            raise ValueError(f"{op}: a 2-D input is a batch of fixed-length bags, one per row, so offsets must "
                             "be None; give a 1-D input with offsets for bags of different lengths")
        bags, length = indices.shape
        return xp.reshape(data, (-1,)), xp.full((bags,), length, dtype=xp.int64), None
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
    if not starts.shape[0]:  # nothing to put the ids in
        return data, starts, xp.zeros((n,), dtype=xp.bool)
    ends = xp.concat((starts[1:], backend.asarray([n], dtype=dtypes.int64)))  # (CuPy's asarray takes no device=)
    return data, ends - starts, None


def _kept_counts(xp, keep, counts):
    """The number of kept ids in each bag (runs of ``counts`` consecutive ids)."""
    kept_before = xp.concat((xp.zeros((1,), dtype=xp.int64), xp.cumulative_sum(xp.astype(keep, xp.int64))))
    ends = xp.cumulative_sum(counts)
    return xp.take(kept_before, ends) - xp.take(kept_before, ends - counts)


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


def _bag_max(weight, ids, counts):
    """The largest entry of each bag's rows, column by column: the backend finds each
    bag's winning id per column, and the output gathers those entries of ``weight``,
    which the gradient reaches alone. Empty bags give 0."""
    backend = weight._backend
    xp = backend.xp
    bags, dim = counts.shape[0], weight.shape[1]
    if not ids.shape[0]:  # every bag empty: zeros, still of the graph (a sum of no rows)
        return sum_runs(weight, ids, counts)
    winner = backend.first_max_of_runs(weight.data, ids, counts)  # (bags, dim) places among the kept ids
    rows = xp.take(ids, xp.reshape(winner, (-1,)), axis=0)
    columns = xp.reshape(xp.broadcast_to(xp.arange(dim, dtype=rows.dtype), (bags, dim)), (-1,))
    picked = reshape(weight[constant(rows, weight), constant(columns, weight)], (bags, dim))
    return where(constant(xp.reshape(counts > 0, (bags, 1)), weight), picked, 0.0)
