"""The backends' run kernels (sum_runs, spread_runs, first_max_of_runs, behind
embedding_bag) against a loop over the runs, on every backend, for run layouts that
take each of the NumPy routes: all runs one length (one block), many lengths, empty
runs first, in the middle and last, no entries at all, and rows named many times."""
import numpy as np
import pytest

import backends

LAYOUTS = {
    "one length": [3, 3, 3, 3],
    "runs of one": [1, 1, 1, 1, 1],
    "mixed with empty runs": [0, 2, 0, 5, 1, 2, 0, 7, 1, 0],
    "all empty": [0, 0, 0],
    "no runs": [],
    "one long run": [40],
}


def layout(name, seed=0, size=6, dim=3):
    rng = np.random.default_rng(seed)
    counts = np.array(LAYOUTS[name], dtype=np.int64)
    n = int(counts.sum())
    rows = rng.integers(0, size, n)  # (few rows, so each is named many times)
    x = rng.standard_normal((size, dim))
    return x, rows, counts


def sums_by_loop(x, rows, counts):
    out = np.zeros((len(counts),) + x.shape[1:])
    start = 0
    for j, c in enumerate(counts):
        for i in range(start, start + c):
            out[j] += x[i if rows is None else rows[i]]
        start += c
    return out


def spread_by_loop(g, rows, counts, size):
    out = np.zeros((size,) + g.shape[1:])
    run_of = np.repeat(np.arange(len(counts)), counts)
    for i, j in enumerate(run_of):
        out[i if rows is None else rows[i]] += g[j]
    return out


def first_max_by_loop(x, rows, counts):
    """PyTorch's loop: a value stays until a greater one comes."""
    out = np.zeros((len(counts), x.shape[1]), dtype=np.int64)
    start = 0
    for j, c in enumerate(counts):
        for col in range(x.shape[1]):
            for i in range(start, start + c):
                if i == start or x[rows[i], col] > x[rows[out[j, col]], col]:
                    out[j, col] = i
        start += c
    return out


def on(backend, *arrays):
    return [None if a is None else backend.from_numpy(a) for a in arrays]


@pytest.mark.parametrize("name", LAYOUTS)
@pytest.mark.parametrize("seed", range(3))
def test_sum_runs_adds_each_runs_rows(device, name, seed):
    backend = backends.get(device)
    x, rows, counts = layout(name, seed)
    got = backend.sum_runs(*on(backend, x, rows, counts))
    np.testing.assert_allclose(backend.to_numpy(got), sums_by_loop(x, rows, counts), rtol=1e-14, atol=1e-15)
    entries = np.random.default_rng(seed).standard_normal((int(counts.sum()), 2))  # rows None: the entries
    got = backend.sum_runs(*on(backend, entries, None, counts))
    np.testing.assert_allclose(backend.to_numpy(got), sums_by_loop(entries, None, counts), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", LAYOUTS)
@pytest.mark.parametrize("seed", range(3))
def test_spread_runs_is_the_adjoint_of_sum_runs(device, name, seed):
    backend = backends.get(device)
    x, rows, counts = layout(name, seed)
    g = np.random.default_rng(seed + 10).standard_normal((len(counts), x.shape[1]))
    got = backend.to_numpy(backend.spread_runs(*on(backend, g, rows, counts), x.shape[0]))
    np.testing.assert_allclose(got, spread_by_loop(g, rows, counts, x.shape[0]), rtol=1e-14, atol=1e-15)
    # <sum_runs(x), g> == <x, spread_runs(g)>
    np.testing.assert_allclose(np.sum(sums_by_loop(x, rows, counts) * g), np.sum(x * got), rtol=1e-12, atol=1e-14)
    got = backend.to_numpy(backend.spread_runs(*on(backend, g, None, counts), int(counts.sum())))
    np.testing.assert_array_equal(got, np.repeat(g, counts, axis=0))


@pytest.mark.parametrize("name", LAYOUTS)
@pytest.mark.parametrize("seed", range(3))
def test_first_max_of_runs_finds_each_runs_first_maximum(device, name, seed):
    backend = backends.get(device)
    x, rows, counts = layout(name, seed)
    x = np.round(x)  # ties, within a run and across its rows
    x[np.random.default_rng(seed).random(x.shape) < 0.2] = np.nan  # NaNs first in a run and later
    got = backend.first_max_of_runs(*on(backend, x, rows, counts))
    assert backend.canonical_dtype(got.dtype) == np.int64
    np.testing.assert_array_equal(backend.to_numpy(got), first_max_by_loop(x, rows, counts))


def test_spread_runs_sums_a_rows_entries_in_their_order():
    """The NumPy route adds a row's entries in entry order, as np.add.at does: the same
    float32 sums, bit for bit."""
    rng = np.random.default_rng(5)
    counts = rng.integers(0, 6, 300)
    rows = rng.integers(0, 20, int(counts.sum()))
    g = (rng.standard_normal((300, 4)) * 10.0 ** rng.integers(-4, 5, (300, 1))).astype(np.float32)
    want = np.zeros((20, 4), dtype=np.float32)
    np.add.at(want, rows, np.repeat(g, counts, axis=0))
    np.testing.assert_array_equal(backends.get("cpu").spread_runs(g, rows, counts, 20), want)
