"""Reductions against exact references (float64 sums of the float32 data, mpmath): float32 sums
and means over an axis that NumPy adds one row at a time (a mean of 1e6 rows of 0.1 was
0.10096), a float32 variance of data with a large common offset (the rounded mean's shift,
squared), and logsumexp's gradient under create_graph where the log adds less than a unit to a
large x. PyTorch shares only the last (its exp(x - logsumexp(x)) is 1 for each of equal values
past 1e16)."""
import warnings

import numpy as np
import pytest

import autograd as ag

mp = pytest.importorskip("mpmath")


@pytest.mark.parametrize("shape, axis", [((1_000_000, 2), 0), ((1000, 1000, 2), (0, 1)), ((2, 1_000_000), 1)])
def test_float32_sum_and_mean_over_many_rows_keep_their_digits(device, shape, axis):
    # NumPy adds pairwise only along its innermost loop; over axis 0 of a (1e6, 2) array it
    # added one row at a time (0.10096 for this mean, 1% off; 0.0699 from 3e7 rows). A row
    # of the transposed view is strided in memory, so it is the same case.
    data = np.full(shape, 0.1, dtype=np.float32)
    exact = np.float32(0.1).astype(np.float64)
    x = ag.tensor(data, device=device)
    np.testing.assert_allclose(x.mean(axis=axis).numpy(), exact, rtol=1e-6)
    count = data.size // x.sum(axis=axis).size
    np.testing.assert_allclose(x.sum(axis=axis).numpy(), exact * count, rtol=1e-6)
    transposed = ag.tensor(np.ascontiguousarray(data.T), device=device).transpose()
    np.testing.assert_allclose(transposed.mean(axis=axis).numpy(), exact, rtol=1e-6)


def test_float32_bias_gradient_summed_over_many_rows(device):
    # the engine's un-broadcast goes through the same sum
    rows = ag.tensor(np.full((1_000_000, 3), 0.1, dtype=np.float32), device=device)
    bias = ag.zeros(3, device=device, requires_grad=True)
    ((rows + bias) * rows).sum().backward()
    np.testing.assert_allclose(bias.grad.numpy(), np.float32(0.1).astype(np.float64) * 1e6, rtol=1e-6)


@pytest.mark.parametrize("ddof", [0, 1])
def test_float32_variance_and_std_of_data_with_a_large_offset(device, ddof):
    # The float32 mean of 1e6 + N(0, 1) is rounded to 0.06 units, whose square, added n
    # times, put the variance 0.3% high (PyTorch's: exact); the gradient 2 (x - mean) / (n - ddof)
    data = (1e6 + np.random.default_rng(0).standard_normal((3, 2000))).astype(np.float32)
    wide = data.astype(np.float64)
    x = ag.tensor(data, device=device, requires_grad=True)
    want = wide.var(axis=1, ddof=ddof)
    np.testing.assert_allclose(x.var(axis=1, ddof=ddof).numpy(), want, rtol=3e-7)
    np.testing.assert_allclose(x.std(axis=1, ddof=ddof).numpy(), np.sqrt(want), rtol=3e-7)
    slope, = ag.grad(x.var(axis=1, ddof=ddof).sum(), [x])
    want_slope = 2 * (wide - wide.mean(axis=1, keepdims=True)) / (data.shape[1] - ddof)
    np.testing.assert_allclose(slope.numpy(), want_slope, rtol=0, atol=3e-7 * np.abs(want_slope).max())


@pytest.mark.parametrize("points", [[1e308, 1e308, 0.0], [1e17, 1e17, 1e17, -5.0], [1000.0, 999.0, -1000.0]])
def test_logsumexp_first_and_second_derivatives_under_create_graph(device, points):
    # exp(x - logsumexp(x)) gave 1 for each of equal values past 1e16 (their log n is lost
    # in the sum), where the softmax is 1 / n, and so a wrong second derivative
    weights = np.arange(1.0, len(points) + 1)
    with mp.workdps(60):
        xs = [mp.mpf(p) for p in points]
        top = max(xs)
        e = [mp.exp(v - top) for v in xs]
        p = [v / mp.fsum(e) for v in e]
        pw = mp.fsum(a * b for a, b in zip(p, weights))
        want_slope = np.array([float(v) for v in p])
        want_curvature = np.array([float(a * (w - pw)) for a, w in zip(p, weights)])
    x = ag.tensor(points, dtype="float64", device=device, requires_grad=True)
    slope, = ag.grad(ag.logsumexp(x, axis=0), [x], create_graph=True)
    curvature, = ag.grad((slope * ag.tensor(weights, dtype="float64", device=device)).sum(), [x])
    np.testing.assert_allclose(slope.numpy(), want_slope, rtol=4e-16, atol=0)
    np.testing.assert_allclose(curvature.numpy(), want_curvature, rtol=2e-15, atol=1e-300)


@pytest.mark.parametrize("reduce", [ag.sum, lambda t: ag.cumsum(t, 0)])
def test_a_widened_sum_past_the_dtypes_range_is_inf_quietly_as_torchs(torch, reduce):
    # float16 adds up in float32 and rounds once; the rounding of 300,000 to float16 printed NumPy's
    # "overflow encountered in cast", where PyTorch's is silent
    values = np.full(300, 1000, np.float16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = reduce(ag.tensor(values)).numpy()
    want = (torch.sum if reduce is ag.sum else lambda t: torch.cumsum(t, 0))(torch.tensor(values))
    np.testing.assert_array_equal(got, want.numpy())
