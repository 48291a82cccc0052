"""The backends' run kernels (sum_runs and spread_runs, each with and without
per-entry weights, dot_runs, first_max_of_runs, behind embedding_bag) against a loop
over the runs, on every backend, for run layouts that take each of the NumPy routes:
all runs one length (one block), many lengths, empty runs first, in the middle and
last, no entries at all, and rows named many times."""
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


def sums_by_loop(x, rows, counts, weights=None):
    out = np.zeros((len(counts),) + x.shape[1:])
    start = 0
    for j, c in enumerate(counts):
        for i in range(start, start + c):
            out[j] += x[i if rows is None else rows[i]] * (1 if weights is None else weights[i])
        start += c
    return out


def spread_by_loop(g, rows, counts, size, weights=None):
    out = np.zeros((size,) + g.shape[1:])
    run_of = np.repeat(np.arange(len(counts)), counts)
    for i, j in enumerate(run_of):
        out[i if rows is None else rows[i]] += g[j] * (1 if weights is None else weights[i])
    return out


def dots_by_loop(g, x, rows, counts):
    run_of = np.repeat(np.arange(len(counts)), counts)
    return np.array([np.sum(g[j] * x[i if rows is None else rows[i]]) for i, j in enumerate(run_of)])


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
def test_weighted_sums_and_spreads_scale_each_entry_and_dot_runs_is_their_weights_derivative(device, name, seed):
    """sum_runs and spread_runs with weights, against loops (rows given and None), and
    the three kernels' adjoint identities: <sum_runs(x, w), g> = <x, spread_runs(g, w)>
    = <w, dot_runs(g, x)>."""
    backend = backends.get(device)
    x, rows, counts = layout(name, seed)
    rng = np.random.default_rng(seed + 20)
    w = rng.standard_normal(rows.shape[0])
    g = rng.standard_normal((len(counts), x.shape[1]))
    sums = backend.to_numpy(backend.sum_runs(*on(backend, x, rows, counts, w)))
    np.testing.assert_allclose(sums, sums_by_loop(x, rows, counts, w), rtol=1e-14, atol=1e-15)
    spread = backend.to_numpy(backend.spread_runs(*on(backend, g, rows, counts), x.shape[0], *on(backend, w)))
    np.testing.assert_allclose(spread, spread_by_loop(g, rows, counts, x.shape[0], w), rtol=1e-14, atol=1e-15)
    dots = backend.to_numpy(backend.dot_runs(*on(backend, g, x, rows, counts)))
    assert dots.shape == rows.shape
    np.testing.assert_allclose(dots, dots_by_loop(g, x, rows, counts), rtol=1e-14, atol=1e-15)
    inner = np.sum(sums * g)
    np.testing.assert_allclose([np.sum(x * spread), np.sum(w * dots)], [inner, inner], rtol=1e-12, atol=1e-14)
    entries = rng.standard_normal((rows.shape[0], 2))  # rows None: the entries themselves
    sums = backend.sum_runs(*on(backend, entries, None, counts, w))
    np.testing.assert_allclose(backend.to_numpy(sums), sums_by_loop(entries, None, counts, w), rtol=1e-14,
                               atol=1e-15)
    spread = backend.spread_runs(*on(backend, g[:, :2], None, counts), rows.shape[0], *on(backend, w))
    np.testing.assert_allclose(backend.to_numpy(spread), np.repeat(g[:, :2], counts, axis=0) * w[:, None],
                               rtol=1e-15)
    dots = backend.dot_runs(*on(backend, g[:, :2], entries, None, counts))
    np.testing.assert_allclose(backend.to_numpy(dots), dots_by_loop(g[:, :2], entries, None, counts), rtol=1e-14,
                               atol=1e-15)


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


def test_weighted_kernels_give_the_bits_of_the_products_they_stand_for():
    """The NumPy routes scale and multiply block by block, never making the (entries,
    dim) products whole, yet give the float32 bits of the whole products reduced by
    the unweighted kernels (embedding_bag's per_sample_weights values and gradients as
    they were before these kernels): the same products, added in the same order."""
    rng = np.random.default_rng(6)
    counts = rng.integers(0, 9, 300)
    n = int(counts.sum())
    rows = rng.integers(0, 40, n)
    x = (rng.standard_normal((40, 16)) * 10.0 ** rng.integers(-4, 5, (40, 1))).astype(np.float32)
    w = rng.standard_normal(n).astype(np.float32)
    g = rng.standard_normal((300, 16)).astype(np.float32)
    cpu = backends.get("cpu")
    products = np.take(x, rows, axis=0) * w[:, None]
    np.testing.assert_array_equal(cpu.sum_runs(x, rows, counts, w), cpu.sum_runs(products, None, counts))
    spread = np.repeat(g, counts, axis=0) * w[:, None]
    np.testing.assert_array_equal(cpu.spread_runs(g, rows, counts, 40, w),
                                  cpu.spread_runs(spread, rows, np.ones(n, dtype=np.int64), 40))
    np.testing.assert_array_equal(cpu.dot_runs(g, x, rows, counts),
                                  np.sum(np.repeat(g, counts, axis=0) * np.take(x, rows, axis=0), axis=1))
