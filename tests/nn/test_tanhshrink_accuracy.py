"""tanhshrink, x - tanh(x), against mpmath: its value and slope keep their digits near 0, where
the composition cancelled (the slope 1 - (1 - tanh(x)^2) was 11% off at x = 1e-8, 0 at 1e-20),
on both sides of the seam at |x| = 1 where the series hands over to the difference."""
import numpy as np
import pytest

import autograd as ag
import nn.functional as F

mp = pytest.importorskip("mpmath")

POINTS = [5e-324, 1e-300, -1e-20, 1e-8, 1e-4, -0.1, 0.5, 0.9999, 1.0, -1.0001, 1.5, 3.0, 20.0, -700.0]


def _exact(points, formula):
    with mp.workdps(700):  # (x - tanh(x) ~ x^3 / 3: digits enough for its cancellation at 1e-300)
        return np.array([float(formula(mp.mpf(p))) for p in points])


def test_value_and_slope_are_within_a_few_ulp_of_mpmath(device):
    x = ag.tensor(POINTS, dtype="float64", device=device, requires_grad=True)
    y = F.tanhshrink(x)
    slope, = ag.grad(y.sum(), x)
    np.testing.assert_allclose(y.numpy(), _exact(POINTS, lambda v: v - mp.tanh(v)), rtol=6e-16, atol=0)
    np.testing.assert_allclose(slope.numpy(), _exact(POINTS, lambda v: mp.tanh(v) ** 2), rtol=6e-16, atol=0)


def test_float32_and_float16_keep_their_relative_precision_near_zero(device):
    dtypes = ["float32"] + ([] if device == "strict" else ["float16"])
    for dtype in dtypes:
        points = np.array([1e-3, -0.05, 0.3, 0.999, 1.2, 4.0], dtype=dtype)
        y = F.tanhshrink(ag.tensor(points, device=device))
        want = _exact(points.astype(float), lambda v: v - mp.tanh(v)).astype(dtype)
        np.testing.assert_allclose(y.numpy(), want, rtol=2 * np.finfo(dtype).eps, atol=0)


def test_non_finite_inputs_and_higher_derivatives(device):
    x = ag.tensor([np.inf, -np.inf, np.nan], dtype="float64", device=device)
    np.testing.assert_array_equal(F.tanhshrink(x).numpy(), [np.inf, -np.inf, np.nan])
    x = ag.tensor([0.0, 1e-3, 0.7, 1.0, 1.3, -2.5], dtype="float64", device=device, requires_grad=True)
    assert ag.gradcheck(F.tanhshrink, (x,))
    assert ag.gradgradcheck(F.tanhshrink, (x,))
