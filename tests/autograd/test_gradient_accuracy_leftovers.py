"""What the gradient accuracy audits (test_gradient_accuracy_findings.py,
test_reduction_and_loss_accuracy_findings.py) left: prod and cumprod gradients where the prefix
or suffix products over- or underflow and the result does not; hypot's gradient at (+-inf,
finite); the slopes of i0e and i1e for large |x|, where i1e(x) - sign(x) i0e(x) cancels; and
the second derivatives of i1 and i1e beside 0, through I1(x)/x. First and second derivatives
in float64 against exact references (fractions, or mpmath with digits enough for the
cancellations), and against PyTorch where it is right."""
import math
from fractions import Fraction

import numpy as np
import pytest

import autograd as ag

mp = pytest.importorskip("mpmath")


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
