"""First and second derivatives in float64 against exact references (mpmath with digits enough
for the cancellations of the derivatives' closed forms, or fractions), and against PyTorch where it
is right.

Where the formulas PyTorch uses lose digits: expm1's y + 1 for x << 0; 1 - x^2 near +-1 (arcsin,
arccos, arctanh) and x^2 - 1 near 1 (arccosh); x^2 + 1 and x^2 - 1 past 1.3e154 (arcsinh, arccosh)
and a^2 + b^2 below 1e-154 and above 1e154 (arctan2), where the squares underflow or overflow;
erfcx's 2 x erfcx(x) - 2/sqrt(pi) for large x (and log_ndtr's second derivative, taken through
it); the exact GELU's 1 + erf(x/sqrt(2)) for x << 0; softsign's quotient rule for large |x|.

Further: prod and cumprod gradients where the prefix or suffix products over- or underflow and
the result does not; hypot's gradient at (+-inf, finite); the slopes of i0e and i1e for large
|x|, where i1e(x) - sign(x) i0e(x) cancels; and the second derivatives of i1 and i1e beside 0,
through I1(x)/x."""
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


# --- prod and cumprod, hypot, and the modified Bessel functions ----------------------------------
def _float(value):
    """A Fraction rounded to float64, +-inf past its range."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _product(values):
    out = Fraction(1)
    for v in values:
        out *= v
    return out


def _jacobian(slope, x):
    """d slope / d x, one row per entry of slope (all of x's shape), with slope flattened."""
    flat = slope.reshape(-1)
    return np.stack([ag.grad(flat[i], [x], retain_graph=True)[0].numpy().ravel() for i in range(flat.shape[0])])


# Lines whose running products and gradients are finite normal numbers, but whose products
# after an entry are not (1e200 * 1e200, 1e250 * 1e100), beside lines with one and two zeros
# and an ordinary one, which take the products' way.
LINES = [[1e-150, 1e-150, 1e200, 1e200], [1e-200, 1e-100, 1e250, 1e100], [2.0, 0.0, 3.0, 5.0],
         [0.5, 3.0, 0.0, 0.0], [1.5, -2.0, 0.25, 7.0]]


def _prod_references(line):
    exact = [Fraction(v) for v in line]
    n = len(exact)
    slope = [_product(exact[:i] + exact[i + 1:]) for i in range(n)]
    hessian = [[0 if i == j else _product(v for k, v in enumerate(exact) if k not in (i, j)) for j in range(n)]
               for i in range(n)]
    return slope, hessian


def _cumprod_references(line):
    exact = [Fraction(v) for v in line]
    n = len(exact)
    # d/dx_i sum_j y_j = sum_{j>=i} prod_{k<=j, k!=i} x_k, and its derivative in x_m
    slope = [sum(_product(exact[k] for k in range(j + 1) if k != i) for j in range(i, n)) for i in range(n)]
    hessian = [[0 if i == m else sum(_product(exact[k] for k in range(j + 1) if k not in (i, m))
                                     for j in range(max(i, m), n)) for m in range(n)] for i in range(n)]
    return slope, hessian


@pytest.mark.parametrize("name, references", [("prod", _prod_references), ("cumprod", _cumprod_references)])
def test_prod_and_cumprod_gradients_where_partial_products_overflow_but_the_result_does_not(device, name, references):
    # The products before times after an entry: the first line's 1e-150s got inf (1e-150 times
    # inf), and cumprod's 1e-100 in the second line too (the sums past it hold 1e250 * 1e100).
    # PyTorch divides y by x in lines without zeros; so does topograd where y is a normal number.
    if device.startswith("cuda"):
        pytest.skip("CuPy's scans multiply and add in a tree, so where float64 partial products overflow, which of them do differs from a sequential scan's (README: known differences on CUDA)")
    x = ag.tensor(LINES, dtype="float64", device=device, requires_grad=True)
    out = ag.prod(x, axis=1) if name == "prod" else ag.cumprod(x, axis=1)
    slope, = ag.grad(out.sum(), [x], create_graph=True)
    hessian = _jacobian(slope, x)
    n = len(LINES[0])
    for row, line in enumerate(LINES):
        want_slope, want_hessian = references(line)
        np.testing.assert_allclose(slope.numpy()[row], [_float(v) for v in want_slope], rtol=4e-16, atol=0,
                                   err_msg=f"{name} slope, line {row}")
        block = hessian[row * n:(row + 1) * n, row * n:(row + 1) * n]
        np.testing.assert_allclose(block, [[_float(v) for v in r] for r in want_hessian], rtol=8e-16, atol=0,
                                   err_msg=f"{name} second derivative, line {row}")
    off_the_lines = hessian.copy()
    for row in range(len(LINES)):
        off_the_lines[row * n:(row + 1) * n, row * n:(row + 1) * n] = 0
    assert np.array_equal(off_the_lines, np.zeros_like(off_the_lines))


def test_prod_and_cumprod_gradients_where_partial_products_overflow_match_torch(device, torch):
    line = [1e-20, 1e-10, 1e20, 1e20]  # float32: 1e20 * 1e20 overflows, the running products do not
    for dtype in ("float32", "float64"):
        x = ag.tensor(line, dtype=dtype, device=device, requires_grad=True)
        tx = torch.tensor(line, dtype=getattr(torch, dtype), requires_grad=True)
        for ours, theirs in ((ag.prod, torch.prod), (lambda v: ag.cumprod(v, 0), lambda v: torch.cumprod(v, 0))):
            got, = ag.grad(ours(x).sum(), [x])
            want, = torch.autograd.grad(theirs(tx).sum(), [tx])
            assert np.isfinite(got.numpy()).all()
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=2e-6 if dtype == "float32" else 1e-15)


def test_hypot_gradient_at_an_infinite_and_a_finite_operand_is_its_limit(device, torch):
    # d hypot / da = a / hypot(a, b) is inf / inf at (+-inf, finite), where PyTorch gives NaN: the
    # limit is sign(a), and the second derivatives' limits are 0. Both infinite the limit depends
    # on the way there: NaN, as PyTorch's; a NaN operand gives NaN too.
    inf, nan = math.inf, math.nan
    a_values = [inf, -inf, 3.0, 3.0, inf, -inf, inf, nan]
    b_values = [2.0, -0.5, inf, -inf, inf, inf, nan, inf]
    a, b = (ag.tensor(v, dtype="float64", device=device, requires_grad=True) for v in (a_values, b_values))
    slope_a, slope_b = ag.grad(ag.hypot(a, b).sum(), [a, b], create_graph=True)
    np.testing.assert_array_equal(slope_a.numpy(), [1.0, -1.0, 0.0, 0.0, nan, nan, nan, nan])
    np.testing.assert_array_equal(slope_b.numpy(), [0.0, -0.0, 1.0, -1.0, nan, nan, nan, nan])
    for second in ag.grad(slope_a.sum(), [a, b], retain_graph=True) + ag.grad(slope_b.sum(), [a, b]):
        np.testing.assert_array_equal(second.numpy()[:4], 0.0)
        assert np.isnan(second.numpy()[4:]).all()
    ta, tb = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (a_values, b_values))
    want_a, want_b = torch.autograd.grad(torch.hypot(ta, tb).sum(), [ta, tb])
    finite_limit = np.array([True] * 4 + [False] * 4)
    np.testing.assert_array_equal(slope_a.numpy()[~finite_limit], want_a.numpy()[~finite_limit])
    np.testing.assert_array_equal(slope_b.numpy()[~finite_limit], want_b.numpy()[~finite_limit])
    # broadcast: each input's gradient is summed over the other's axis
    a = ag.tensor([inf, -inf, 3.0], dtype="float64", device=device, requires_grad=True)
    b = ag.tensor([[4.0], [-5.0]], dtype="float64", device=device, requires_grad=True)
    grad_a, grad_b = ag.grad(ag.hypot(a, b).sum(), [a, b])
    np.testing.assert_allclose(grad_a.numpy(), [2.0, -2.0, 3 / 5 + 3 / math.sqrt(34)], rtol=1e-15)
    np.testing.assert_allclose(grad_b.numpy(), [[4 / 5], [-5 / math.sqrt(34)]], rtol=1e-15)


def _bessel_references(name, x, digits):
    """The first and second derivatives of ``name`` at x, from their closed forms in I0 and I1."""
    with mp.workdps(digits):
        v = mp.mpf(x)
        a, s = abs(v), mp.sign(v)
        i0, i1 = mp.besseli(0, a), mp.besseli(1, a)
        slope1 = i0 - i1 / a                            # I1'(a)
        curvature1 = i1 - i0 / a + 2 * i1 / a ** 2     # I1''(a)
        if name == "i1":  # odd
            return float(slope1), float(s * curvature1)
        scale = mp.exp(-a)
        if name == "i1e":  # odd: (exp(-a) I1(a))' and ''
            return float(scale * (slope1 - i1)), float(s * scale * (curvature1 - 2 * slope1 + i1))
        # i0e, even: (exp(-a) I0(a))' = exp(-a) (I1 - I0), times sign(x); '' = exp(-a) (I0 - 2 I1 + I1')
        return float(s * scale * (i1 - i0)), float(scale * (i0 - 2 * i1 + slope1))


def _bessel_derivatives(name, points, device):
    x = ag.tensor(points, dtype="float64", device=device, requires_grad=True)
    slope, = ag.grad(getattr(ag.special, name)(x).sum(), [x], create_graph=True)
    curvature, = ag.grad(slope.sum(), [x])
    return slope.numpy(), curvature.numpy()


@pytest.mark.parametrize("name", ["i0e", "i1e"])
def test_scaled_bessel_slopes_keep_their_digits_for_large_x(device, name):
    # i1e(x) - sign(x) i0e(x) is about i0e(x) / (2x): it lost 1e-8 of its value at 1e8 and all of
    # it from 1e20, and the second derivative 2 (i0e - i1e) - i1e/x was 130% off at 1e8
    points = [20.0, 40.0, 700.0, 1e4, 1e8, 1e20, 1e150, -50.0, -1e8, -1e20]
    slope, curvature = _bessel_derivatives(name, points, device)
    want = [_bessel_references(name, p, 40 + 3 * int(math.log10(abs(p)))) for p in points]  # (the cancellations)
    np.testing.assert_allclose(slope, [w[0] for w in want], rtol=1e-15, atol=0)
    np.testing.assert_allclose(curvature, [w[1] for w in want], rtol=2e-15, atol=0)


@pytest.mark.parametrize("name", ["i1", "i1e"])
def test_i1_and_i1e_second_derivatives_beside_zero(device, name):
    # Through I1(x)/x, I0(x) - I1(x)/x differentiated again cancels beside 0 (i1'' was 99% off at
    # 1e-8) and was the constant 1/2 below eps: i1'' = 3x/8 + O(x^3) there (PyTorch: 0), and
    # i1e'' = -sign(x) + O(x) (PyTorch: 0)
    points = [1e-300, 1e-20, 1e-8, 1e-4, 0.3, 2.0, -1e-300, -1e-8, -0.3]
    slope, curvature = _bessel_derivatives(name, points, device)
    want = [_bessel_references(name, p, 700) for p in points]
    np.testing.assert_allclose(slope, [w[0] for w in want], rtol=2e-15, atol=0)
    np.testing.assert_allclose(curvature, [w[1] for w in want], rtol=4e-15, atol=0)
