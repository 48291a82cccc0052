"""Findings of a differential fuzz of NumPy's functions added as ops (nan_reductions.py,
statistics.py, stacking.py, elementwise_extras.py and the creation functions) against
NumPy 2 and PyTorch: histogram's densities over integer edges and its float edges beside
integers, fmax/fmin of bools on the strict backend, gcd at an integer dtype's least value,
and sinc's higher derivatives at 0."""
import math

import numpy as np
import pytest

import autograd as ag


# --- histogram --------------------------------------------------------------------------------
@pytest.mark.parametrize("edges", [[-2, 0, 2], [-3, -2, 1, 1], [-6, 0, 3]], ids=str)
def test_histogram_density_over_integer_edges_keeps_float_weights(edges, device):
    # The weights' sums were cast to the edges' int64 before dividing: 0.25 came out NaN
    a = np.array([-5, 0, 0, -4, -3, 1, -1], dtype=np.int32)
    weights = np.array([0.3, 0.2, 0.4, 0.1, 0.6, 0.7, 0.05], dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero-width bin's density is inf, as NumPy's
        want, _ = np.histogram(a, np.array(edges), density=True, weights=weights)
        hist, _ = ag.histogram(ag.tensor(a), ag.tensor(np.array(edges)), density=True, weights=ag.tensor(weights))
    assert hist.dtype == ag.float32
    np.testing.assert_allclose(hist.numpy(), want, rtol=1e-6)


def test_histogram_float_edges_beside_integers_are_float64(device, torch):
    # Python floats as edges of integer data were made float32: 16777219.5 became 16777220,
    # which moved 16777219 into the second bin
    a = np.array([16777219, 3, 20000000], dtype=np.int64)
    edges = [0.0, 16777219.5, 2e7]
    hist, got_edges = ag.histogram(ag.tensor(a), edges)
    want_hist, want_edges = np.histogram(a, edges)
    assert got_edges.dtype == want_edges.dtype == np.float64
    np.testing.assert_array_equal(got_edges.numpy(), want_edges)
    np.testing.assert_array_equal(hist.numpy(), want_hist)
    theirs = torch.histogram(torch.tensor(a, dtype=torch.float64), torch.tensor(edges, dtype=torch.float64))
    np.testing.assert_array_equal(hist.numpy(), theirs.hist.numpy())


# --- fmax and fmin ----------------------------------------------------------------------------
def test_fmax_fmin_of_bools_on_every_backend(device, torch):
    # The strict backend refused the standard's >= on bools (a TypeError); NumPy's answer is or/and
    a = np.array([True, False, True, False])
    b = np.array([True, True, False, False])
    for ours, theirs, np_fn in [(ag.fmax, torch.fmax, np.fmax), (ag.fmin, torch.fmin, np.fmin)]:
        got = ours(ag.tensor(a), ag.tensor(b))
        assert got.dtype == ag.bool
        np.testing.assert_array_equal(got.numpy(), np_fn(a, b))
        np.testing.assert_array_equal(got.numpy(), theirs(torch.tensor(a), torch.tensor(b)).numpy())


# --- gcd and lcm ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["int8", "int16", "int64"])
def test_gcd_at_the_dtypes_least_value_matches_numpy_and_torch(dtype, device, torch):
    # abs(-128) is -128 in int8: Euclid's algorithm on it gave gcd(9, -128) = -1
    least = np.iinfo(dtype).min
    a = np.array([9, least, 0, 6, least, 12, -7], dtype=dtype)
    b = np.array([least, 0, least, least, least, -8, 21], dtype=dtype)
    got = ag.gcd(ag.tensor(a), ag.tensor(b))
    np.testing.assert_array_equal(got.numpy(), np.gcd(a, b))
    # (PyTorch's gcd(6, least) is -2, its own overflow: compared on the others)
    theirs = torch.gcd(torch.tensor(a), torch.tensor(b)).numpy()
    np.testing.assert_array_equal(np.delete(got.numpy(), 3), np.delete(theirs, 3))
    np.testing.assert_array_equal(ag.lcm(ag.tensor(a), ag.tensor(b)).numpy(), np.lcm(a, b))


# --- sinc -------------------------------------------------------------------------------------
def test_sinc_derivatives_at_zero_are_the_true_ones(device, torch):
    # The value at 0 was a constant 1, so every derivative there was 0: the second is -pi**2/3
    # (PyTorch's is NaN); elsewhere they are PyTorch's
    points = np.array([0.0, -0.0, 0.5, -1.3, 2.0])
    x = ag.tensor(points, dtype="float64", requires_grad=True)
    tx = torch.tensor(points, requires_grad=True)
    y, ty = ag.sinc(x), torch.sinc(tx)
    np.testing.assert_array_equal(y.numpy(), np.sinc(points))
    derivatives, current, t_current = [], y, ty
    for _ in range(4):
        current, = ag.grad(current.sum(), x, create_graph=True)
        t_current, = torch.autograd.grad(t_current.sum(), tx, create_graph=True)
        derivatives.append(current.numpy())
        np.testing.assert_allclose(current.numpy()[2:], t_current.detach().numpy()[2:], rtol=1e-12)
    true_at_zero = [0.0, -math.pi ** 2 / 3, 0.0, math.pi ** 4 / 5]
    for order, want in enumerate(true_at_zero):
        np.testing.assert_allclose(derivatives[order][:2], want, rtol=1e-14, atol=0)


def test_sinc_of_huge_values_keeps_its_gradient_finite(device):
    # the series taken at 0 only: its powers of a huge x must not reach the gradient as inf * 0
    x = ag.tensor([1e300, -3e200, 0.0], dtype="float64", requires_grad=True)
    g, = ag.grad(ag.sinc(x).sum(), x, create_graph=True)
    gg, = ag.grad(g.sum(), x)
    assert np.isfinite(g.numpy()).all() and np.isfinite(gg.numpy()).all()
