"""First and second derivatives in float64 against mpmath where the formulas PyTorch uses lose
digits: expm1's y + 1 for x << 0; 1 - x^2 near +-1 (arcsin, arccos, arctanh) and x^2 - 1 near 1
(arccosh); x^2 + 1 and x^2 - 1 past 1.3e154 (arcsinh, arccosh) and a^2 + b^2 below 1e-154 and
above 1e154 (arctan2), where the squares underflow or overflow; erfcx's 2 x erfcx(x) - 2/sqrt(pi)
for large x (and log_ndtr's second derivative, taken through it); the exact GELU's 1 + erf(x/sqrt(2))
for x << 0; softsign's quotient rule for large |x|. The references are the derivatives' closed
forms, evaluated with digits enough for their own cancellations."""
import math
from fractions import Fraction

import numpy as np
import pytest

import autograd as ag
import nn.functional as F

mp = pytest.importorskip("mpmath")


def _derivatives(fn, points, device):
    """fn's first and second derivatives at ``points`` (float64), elementwise."""
    x = ag.tensor(points, dtype="float64", device=device, requires_grad=True)
    slope, = ag.grad(fn(x).sum(), [x], create_graph=True)
    curvature, = ag.grad(slope.sum(), [x])
    return slope.numpy(), curvature.numpy()


def _exact(formula, points, digits=60):
    with mp.workdps(digits):
        return np.array([float(formula(mp.mpf(p))) for p in points])


def test_expm1_slope_is_exp_of_x_far_below_zero(device):
    # PyTorch's y + 1: 2e-8 off at x = -20, 1.7e-4 at -30, 0 at -40 (exp(-40) = 4.2e-18)
    points = [-20.0, -30.0, -40.0, -100.0, -700.0, -1e-10, 0.5, 3.0]
    slope, curvature = _derivatives(ag.expm1, points, device)
    want = _exact(mp.exp, points)
    np.testing.assert_allclose(slope, want, rtol=4e-16, atol=0)
    np.testing.assert_allclose(curvature, want, rtol=4e-16, atol=0)


NEAR_ONE = [1 - 1e-6, 1 - 1e-10, 1 - 2.0 ** -40, 1 - 2.0 ** -52, -(1 - 1e-10), 0.75, 0.3, 1e-8, 1e-20, -1e-300, 0.0]


@pytest.mark.parametrize("name, slope, curvature", [
    ("arcsin", lambda x: 1 / mp.sqrt(1 - x * x), lambda x: x / (1 - x * x) ** 1.5),
    ("arccos", lambda x: -1 / mp.sqrt(1 - x * x), lambda x: -x / (1 - x * x) ** 1.5),
    ("arctanh", lambda x: 1 / (1 - x * x), lambda x: 2 * x / (1 - x * x) ** 2),
])
def test_inverse_sine_cosine_and_tanh_slopes_keep_their_digits_near_one(device, name, slope, curvature):
    # PyTorch's 1 - x * x loses the digits x * x rounds away: arcsin's slope is 2.5e-11 off at
    # 1 - 1e-10; and the factored (1 - x)(1 + x) alone would cancel in the curvature near 0
    got_slope, got_curvature = _derivatives(getattr(ag, name), NEAR_ONE, device)
    np.testing.assert_allclose(got_slope, _exact(slope, NEAR_ONE), rtol=4e-16, atol=0)
    np.testing.assert_allclose(got_curvature, _exact(curvature, NEAR_ONE), rtol=8e-16, atol=0)


def test_inverse_hyperbolic_cosine_and_sine_slopes_near_one_and_past_the_squares_overflow(device):
    # PyTorch's sqrt(x^2 - 1) cancels near 1 (7.5e-11 off at 1 + 1e-10), and both its square
    # roots overflow past 1.3e154, where its slopes are 0 rather than 1/|x|
    points = [1 + 1e-10, 1 + 2.0 ** -40, 1.5, 1e10, 1e155, 1e200, 1e300]
    slope, curvature = _derivatives(ag.arccosh, points, device)
    np.testing.assert_allclose(slope, _exact(lambda x: 1 / mp.sqrt(x * x - 1), points), rtol=4e-16, atol=0)
    want = _exact(lambda x: -x / (x * x - 1) ** 1.5, points)
    np.testing.assert_allclose(curvature, want, rtol=8e-16, atol=1e-320)  # (0 past 1e155: it underflows)
    points = [1e155, -1e200, 1e300, -1e-300, 0.5, 3.0]
    slope, curvature = _derivatives(ag.arcsinh, points, device)
    np.testing.assert_allclose(slope, _exact(lambda x: 1 / mp.sqrt(x * x + 1), points), rtol=4e-16, atol=0)
    want = _exact(lambda x: -x / (x * x + 1) ** 1.5, points)
    np.testing.assert_allclose(curvature, want, rtol=8e-16, atol=1e-320)


def test_arctan2_gradient_where_the_squares_underflow_or_overflow(device):
    # (b, -a) / (a^2 + b^2): PyTorch's is 0 at a = b = 1e-200 (5e199 there), inf at 1e-160, and
    # 0 beside 1e200 or 1e300
    a_points = [1e-200, 3e-300, 1e-160, 1e200, 1e300, -3.0, 2.0, 0.0, -0.0]
    b_points = [1e-200, 4e-300, -1e-160, 1e200, 3.0, 1e300, -5.0, 1e-200, 0.0]
    a = ag.tensor(a_points, dtype="float64", device=device, requires_grad=True)
    b = ag.tensor(b_points, dtype="float64", device=device, requires_grad=True)
    ga, gb = ag.grad(ag.arctan2(a, b).sum(), [a, b])
    squares = [Fraction(p) ** 2 + Fraction(q) ** 2 for p, q in zip(a_points, b_points)]
    want_a = [float(Fraction(q) / s) if s else 0.0 for q, s in zip(b_points, squares)]
    want_b = [float(-Fraction(p) / s) if s else 0.0 for p, s in zip(a_points, squares)]
    np.testing.assert_allclose(ga.numpy(), want_a, rtol=1e-15, atol=0)
    np.testing.assert_allclose(gb.numpy(), want_b, rtol=1e-15, atol=0)


def test_arctan2_is_twice_differentiable_at_tiny_and_huge_points_and_finite_at_the_origin(device):
    # d/da of b / (a^2 + b^2) is -2ab / (a^2 + b^2)^2, d/db of it (a^2 - b^2) / (a^2 + b^2)^2 (about
    # 1/a^2, which overflows below a = 1e-154 and underflows above 1e154)
    a_points, b_points = [1e-150, 1e150, 2.0, 0.0], [2e-150, 3e150, -1.0, 0.0]
    a = ag.tensor(a_points, dtype="float64", device=device, requires_grad=True)
    b = ag.tensor(b_points, dtype="float64", device=device, requires_grad=True)
    ga, _ = ag.grad(ag.arctan2(a, b).sum(), [a, b], create_graph=True)
    gaa, gab = ag.grad(ga.sum(), [a, b])
    squares = [Fraction(p) ** 2 + Fraction(q) ** 2 for p, q in zip(a_points, b_points)]
    want_aa = [float(-2 * Fraction(p) * Fraction(q) / s ** 2) if s else 0.0 for p, q, s in zip(a_points, b_points, squares)]
    want_ab = [float((Fraction(p) ** 2 - Fraction(q) ** 2) / s ** 2) if s else 0.0
               for p, q, s in zip(a_points, b_points, squares)]
    np.testing.assert_allclose(gaa.numpy()[:3], want_aa[:3], rtol=4e-15, atol=0)
    np.testing.assert_allclose(gab.numpy()[:3], want_ab[:3], rtol=4e-15, atol=0)
    assert np.isfinite(gaa.numpy()[3]) and np.isfinite(gab.numpy()[3])  # (no 0 / 0 at the origin)


def _erfcx(x):
    return mp.exp(x * x) * mp.erfc(x)


def test_erfcx_slope_and_curvature_for_large_x(device):
    # 2 x erfcx(x) - 2/sqrt(pi) agree to 2 log10(x) digits: PyTorch's slope is 1.6e-8 off at
    # x = 1e4 and 0 from 1e8 (-5.6e-17 there), its curvature 1e16 times too large at 1e8
    points = [3.0, 4.0, 4.5, 10.0, 700.0, 1e4, 1e8, 1e10, 1e100]
    slope, curvature = _derivatives(ag.special.erfcx, points, device)
    with mp.workdps(500):  # (the slope's difference cancels 200 digits at 1e100, the curvature's 200 more)
        want_slope = [2 * x * _erfcx(x) - 2 / mp.sqrt(mp.pi) for x in map(mp.mpf, points)]
        want_curvature = [2 * _erfcx(x) + 2 * x * s for x, s in zip(map(mp.mpf, points), want_slope)]
        want_slope, want_curvature = (np.array([float(v) for v in w]) for w in (want_slope, want_curvature))
    # (a few ulp of Cody's R itself, which erfcx damps: its u R(u) is a small part of 1/sqrt(pi);
    # up to 4, 2 x erfcx(x) - 2/sqrt(pi) still cancels 35 times over, and the curvature's twice)
    np.testing.assert_allclose(slope, want_slope, rtol=1e-14, atol=0)
    np.testing.assert_allclose(curvature, want_curvature, rtol=2e-13, atol=0)


def test_log_ndtr_curvature_far_in_the_left_tail(device):
    # -r (x + r), r = phi(x) / Phi(x), through erfcx's slope: 0.97 off at x = -1e8 and 0 at -1e10
    # before (PyTorch's is -1.8e16 and NaN there); it tends to -1
    points = [-5.0, -40.0, -1e4, -1e8, -1e10, -1e20]

    def curvature(x):
        r = mp.npdf(x) / mp.ncdf(x)
        return -r * (x + r)

    _, got = _derivatives(ag.special.log_ndtr, points, device)
    np.testing.assert_allclose(got, _exact(curvature, points, digits=100), rtol=1e-14, atol=0)


def test_exact_gelu_slope_far_below_zero(device):
    # Phi(x) + x phi(x); PyTorch's 1 + erf(x / sqrt(2)) cancels: 1.6e-12 off at x = -5, 1% at -10
    points = [-5.0, -10.0, -20.0, -30.0, -1.0, 0.0, 2.0, 10.0]
    slope, _ = _derivatives(F.gelu, points, device)
    want = _exact(lambda x: mp.ncdf(x) + x * mp.npdf(x), points)
    # (x / sqrt(2) is rounded on the way in, as in PyTorch: erfc turns that into x^2 ulp of Phi)
    np.testing.assert_allclose(slope, want, rtol=2e-13, atol=0)


def test_softsign_slope_and_curvature_for_large_inputs(device):
    # 1 / (1 + |x|)^2, which the quotient rule gets as a difference of two terms near 1/|x|:
    # PyTorch's is 6.8e-7 off at 1e10 and 0 at 1e20
    points = [1e10, -1e10, 1e20, -1e300, 1.0, -1.0, 0.999, 0.25, -1e-8]
    slope, curvature = _derivatives(F.softsign, points, device)
    np.testing.assert_allclose(slope, _exact(lambda x: 1 / (1 + abs(x)) ** 2, points), rtol=4e-16, atol=0)
    want = _exact(lambda x: -2 * mp.sign(x) / (1 + abs(x)) ** 3, points)
    np.testing.assert_allclose(curvature, want, rtol=8e-16, atol=0)


def test_softsign_is_its_limit_at_the_infinities(device):
    x = ag.tensor([-math.inf, math.inf, math.nan], dtype="float64", device=device, requires_grad=True)
    y = F.softsign(x)
    slope, = ag.grad(y.sum(), [x])
    np.testing.assert_array_equal(y.numpy(), [-1.0, 1.0, math.nan])  # (PyTorch's inf / inf is NaN)
    np.testing.assert_array_equal(slope.numpy(), [0.0, 0.0, math.nan])
