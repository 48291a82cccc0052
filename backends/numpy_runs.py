"""The NumPy backend's sums and maxima over runs (see runs.py for the terms). The
Array API route adds each entry into its run with ``np.add.at``, whose loop takes a
few ns an element, and finds maxima by a log2-pass scan. Here runs of one length are
taken together as a (runs, length, ...) block and reduced along the length axis, an
ordinary vectorized sum or max: one pass per distinct run length (bags of ~20 ids
have a few dozen lengths, repeats of an id a handful). Sums add each run's entries in
order, as add.at does. Weighted sums (per_sample_weights, scale_grad_by_freq) scale each
block as it is taken, and ``dot_runs`` multiplies and adds up one block at a time too:
no (entries, dim) array is ever made whole. (Several of them at once, 2.7 MB each for
10,000 ids of 64 floats, grew the heap past glibc's trim threshold, so each step gave
the memory back and faulted it in again: thousands of page faults, 4 ms a step.)"""
import numpy as np


def runs_by_length(counts):
    """Per distinct nonzero run length: (the runs of that length, or None for all runs
    in order, and the (runs, length) positions of their entries)."""
    if not counts.shape[0]:
        return
    starts = np.cumsum(counts) - counts
    low, high = int(counts.min()), int(counts.max())
    if low == high:  # a 2-D input's bags: one block, no shuffling
        if high:
            yield None, np.reshape(starts, (-1, 1)) + np.arange(high)
        return
    order = np.argsort(counts, kind="stable")
    grouped = counts[order]
    cuts = (np.flatnonzero(grouped[1:] != grouped[:-1]) + 1).tolist()
    for begin, end in zip([0, *cuts], [*cuts, counts.shape[0]]):
        length = int(grouped[begin])
        if length:
            runs = order[begin:end]
            yield runs, np.reshape(starts[runs], (-1, 1)) + np.arange(length)


def sum_runs(x, rows, counts, weights=None):
    out = None
    for runs, positions in runs_by_length(counts):
        if runs is None:  # one block of all the entries in order: no positions to take
            block = x if rows is None else np.take(x, rows, axis=0)
            block = np.reshape(block, positions.shape + x.shape[1:])
        else:
            block = np.take(x, positions if rows is None else np.take(rows, positions), axis=0)
        taken = rows is not None or runs is not None  # else the block may be a view of x
        if weights is not None:
            scale = np.reshape(np.take(weights, positions), positions.shape + (1,) * (x.ndim - 1))
            block = np.multiply(block, scale, out=block if taken else None)
        sums = block[:, 0] if positions.shape[1] == 1 else np.sum(block, axis=1)
        if runs is None:
            return sums if taken or weights is not None or positions.shape[1] > 1 else np.array(sums)
        if out is None:
            out = np.zeros((counts.shape[0],) + x.shape[1:], dtype=x.dtype)
        out[runs] = sums
    return np.zeros((counts.shape[0],) + x.shape[1:], dtype=x.dtype) if out is None else out


def spread_runs(g, rows, counts, size, weights=None):
    if rows is None:
        spread = np.repeat(g, counts, axis=0)
        if weights is not None:
            spread *= np.reshape(weights, weights.shape + (1,) * (g.ndim - 1))
        return spread
    out = np.zeros((size,) + g.shape[1:], dtype=g.dtype)
    n = rows.shape[0]
    if not n:
        return out
    # Each row's entries, in entry order: a sort of row * n + entry (all different, so
    # any sort keeps entry order, and quicksort takes a fifth of a stable sort's time).
    if size * n < 2 ** 62:
        order = np.argsort(rows.astype(np.int64) * n + np.arange(n))
    else:
        order = np.argsort(rows, kind="stable")
    grouped = np.take(rows, order)
    firsts = np.concatenate(([0], np.flatnonzero(grouped[1:] != grouped[:-1]) + 1))
    repeats = np.diff(np.append(firsts, n))
    run_of = np.repeat(np.arange(counts.shape[0]), counts)
    out[np.take(grouped, firsts)] = sum_runs(g, np.take(run_of, order), repeats,
                                             None if weights is None else np.take(weights, order))
    return out


def dot_runs(g, x, rows, counts):
    """Per run length, the block of x's rows times its runs' rows of g, added up over
    the axes after the entries' (contiguous: NumPy's pairwise sum, as a sum of the
    whole (entries, dim) product along its rows would)."""
    n = x.shape[0] if rows is None else rows.shape[0]
    out = np.zeros((n,), dtype=np.result_type(g, x))
    for runs, positions in runs_by_length(counts):
        block = np.take(x, positions if rows is None else np.take(rows, positions), axis=0)  # (runs, length, ...)
        np.multiply(block, np.expand_dims(g if runs is None else np.take(g, runs, axis=0), 1), out=block)
        out[positions] = np.sum(block, axis=tuple(range(2, block.ndim))) if block.ndim > 2 else block
    return out


def first_max_of_runs(x, rows, counts):
    """Each block's max along the length axis ignoring NaN, then the first entry that
    equals it; PyTorch's loop keeps a value while nothing is greater, so a NaN first in
    its run wins and a later one never does."""
    out = np.zeros((counts.shape[0], x.shape[1]), dtype=np.int64)
    for runs, positions in runs_by_length(counts):
        block = np.take(x, np.take(rows, positions), axis=0)  # (runs, length, dim)
        length = positions.shape[1]
        top = np.fmax.reduce(block, axis=1, keepdims=True)
        place_dtype = np.int32 if length < 2 ** 31 else np.int64
        place = np.where(block == top, np.arange(length, dtype=place_dtype).reshape(1, -1, 1),
                         place_dtype(length)).min(axis=1)
        place[np.isnan(block[:, 0])] = 0  # (an all-NaN column too, where nothing equals)
        winner = np.take_along_axis(positions, place, axis=1)
        if runs is None:
            return winner
        out[runs] = winner
    return out
