"""sinc's slope is exact near 0, where the composed (cos(pi x) - sinc(x)) / x cancels, and
differentiates again on both sides of the seam where a series takes over."""
import math
import warnings

import numpy as np
import pytest

import autograd as ag

mp = pytest.importorskip("mpmath")


def _sinc_slope_exact(x):
    """pi (t cos t - sin t) / t^2 at t = pi x, with digits enough for the difference's
    cancellation (about t^3 / 3 of terms about t)."""
    if x == 0:
        return 0.0
    with mp.workdps(60 + 2 * max(0, -math.floor(math.log10(abs(x))))):
        t = mp.pi * mp.mpf(x)
        return float(mp.pi * (t * mp.cos(t) - mp.sin(t)) / (t * t))


POINTS = [1e-310, -5e-324, 1e-300, 1e-20, 1e-8, -1e-5, 0.1, 0.3, 1 / math.pi - 1e-12, 1 / math.pi + 1e-12,
          0.5, -1.3, 2.0, 7.25]


def test_sinc_slope_is_within_a_few_ulp_near_zero_and_across_the_seam(device):
    # The composed slope (cos(pi x) - sinc(x)) / x cancels: at x = 1e-8 PyTorch's is 36% off
    # (-2.1e-8 against -3.29e-8), and at subnormal x it was inf - inf = NaN
    x = ag.tensor(POINTS, dtype="float64", device=device, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        slope, = ag.grad(ag.sinc(x).sum(), x)
    want = np.array([_sinc_slope_exact(v) for v in POINTS])
    np.testing.assert_allclose(slope.numpy(), want, rtol=1e-15, atol=0)


def test_sinc_slope_in_float32_keeps_its_relative_precision_near_zero(device):
    x = ag.tensor([1e-30, 1e-4, -0.2], dtype="float32", device=device, requires_grad=True)
    slope, = ag.grad(ag.sinc(x).sum(), x)
    want = np.array([_sinc_slope_exact(float(v)) for v in x.numpy()])
    np.testing.assert_allclose(slope.numpy(), want, rtol=3e-7)


def test_sinc_is_twice_differentiable_on_both_sides_of_the_seam(device):
    x = ag.tensor([0.0, 0.05, 0.3, 1 / math.pi - 1e-3, 1 / math.pi + 1e-3, 0.7, -2.4], dtype="float64",
                  device=device, requires_grad=True)
    assert ag.gradcheck(ag.sinc, (x,))
    assert ag.gradgradcheck(ag.sinc, (x,))
