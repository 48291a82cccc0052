"""Sums and maxima over runs, in Array API calls only (every backend's route): a run
is a stretch of consecutive entries, ``counts[j]`` of them for run j (embedding_bag's
bags, CSR's rows), each entry naming a row of ``x`` (``rows[i]``, or entry i itself
where ``rows`` is None). A run of no entries is empty. Sums and spreads may scale each
entry by ``weights[i]`` (embedding_bag's per_sample_weights), and ``dot_runs`` is their
derivative in those weights. The NumPy backend overrides these with routes that avoid
``np.add.at`` and (entries, dim) temporaries (see numpy_runs.py)."""


def run_of_entries(xp, counts, n):
    """The run each of the ``n`` entries (n = the sum of ``counts``) falls in."""
    ends = xp.cumulative_sum(counts)
    return xp.searchsorted(ends, xp.arange(n, dtype=ends.dtype), side="right")


def sum_runs(backend, x, rows, counts, weights=None):
    xp = backend.xp
    n = x.shape[0] if rows is None else rows.shape[0]
    values = x if rows is None else xp.take(x, rows, axis=0)
    if weights is not None:
        values = values * per_entry(xp, weights, values.ndim)
    return backend.scatter_add((counts.shape[0],) + tuple(x.shape[1:]), (run_of_entries(xp, counts, n),), values)


def spread_runs(backend, g, rows, counts, size, weights=None):
    xp = backend.xp
    values = xp.take(g, run_of_entries(xp, counts, size if rows is None else rows.shape[0]), axis=0)
    if weights is not None:
        values = values * per_entry(xp, weights, values.ndim)
    return values if rows is None else backend.scatter_add((size,) + tuple(g.shape[1:]), (rows,), values)


def dot_runs(backend, g, x, rows, counts):
    xp = backend.xp
    n = x.shape[0] if rows is None else rows.shape[0]
    products = xp.take(g, run_of_entries(xp, counts, n), axis=0) * (x if rows is None else xp.take(x, rows, axis=0))
    return xp.sum(products, axis=tuple(range(1, products.ndim))) if products.ndim > 1 else products


def per_entry(xp, weights, ndim):
    """``weights`` (one per entry) shaped to scale an (entries, ...) array of ``ndim`` axes."""
    return xp.reshape(weights, weights.shape + (1,) * (ndim - 1))


def first_max_of_runs(backend, x, rows, counts):
    """A segmented running max (a Hillis-Steele scan: log2 of the longest run passes of
    elementwise ops, no sort) carries each entry's best value and its place from the
    start of its run, so each run's last entry holds the run's first maximum."""
    xp = backend.xp
    n, dim = rows.shape[0], x.shape[1]
    if not n:
        return xp.zeros((counts.shape[0], dim), dtype=xp.int64)
    run_of = run_of_entries(xp, counts, n)
    best = xp.take(x, rows, axis=0)  # (entries, dim), a new array, updated in place below
    # PyTorch's loop keeps a value while nothing is greater: a NaN first in its run stays,
    # a later one never wins (as -inf would not).
    first = xp.concat((xp.ones((1,), dtype=xp.bool), run_of[1:] != run_of[:-1]))
    best = xp.where(xp.isnan(best) & ~xp.reshape(first, (n, 1)), xp.asarray(-xp.inf, dtype=best.dtype), best)
    position_dtype = xp.int32 if n < 2 ** 31 else xp.int64  # half the memory traffic
    where_best = xp.reshape(xp.arange(n, dtype=position_dtype), (n, 1)) + xp.zeros((1, dim), dtype=position_dtype)
    longest = int(xp.max(counts))
    shift = 1
    while shift < longest:  # best[i] covers up to 2 * shift entries of i's run ending at i
        same_run = xp.reshape(run_of[shift:] == run_of[:-shift], (-1, 1))
        earlier, current = best[:-shift, ...], best[shift:, ...]
        # ties to the earlier entry (the first maximum); a NaN left is its run's first
        take = same_run & ((earlier >= current) | xp.isnan(earlier))
        # (each right side is a new array before it is written over the old values; the
        # backend's where: take is a random pattern, on which NumPy's mispredicts, 10x slower)
        where_best[shift:, ...] = backend.where(take, where_best[:-shift, ...], where_best[shift:, ...])
        best[shift:, ...] = backend.where(take, earlier, current)
        shift *= 2
    last = xp.where(counts > 0, xp.cumulative_sum(counts) - 1, xp.zeros_like(counts))  # each run's last entry
    return xp.astype(xp.take(where_best, last, axis=0), xp.int64)
