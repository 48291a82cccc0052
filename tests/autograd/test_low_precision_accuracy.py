"""float16 and float32 values and slopes of the elementwise ops and activations against float64
references rounded to the dtype, where PyTorch computes float16 in float32 and rounds once (or
has no float16 kernel): sinc's pi x, logaddexp2's cancellation, softplus's beta x, the slopes of
the special functions, logaddexp2's slope through sigmoid(d ln 2), and the second derivatives of
sigmoid, tanh and the ELU family."""
import numpy as np
import pytest

import autograd as ag
import nn.functional as F

torch = pytest.importorskip("torch")

S = ag.special


def _ulps(got, want, dtype):
    """|got - want| in units of the last place of ``want`` rounded to ``dtype`` (want: float64)."""
    with np.errstate(over="ignore"):  # (a want past the dtype's range: its ulp, inf, makes it 0)
        rounded = np.abs(want.astype(dtype))
        return np.abs(got.astype(np.float64) - want) / np.spacing(rounded).astype(np.float64)


def _value_and_slope(fn, points, dtype, device="cpu"):
    x = ag.tensor(np.asarray(points, dtype=dtype), device=device, requires_grad=True)
    y = fn(x)
    slope, = ag.grad(y, x, ag.ones_like(y))
    return y.numpy(), slope.numpy()


def _torch_value_and_slope(fn, points, dtype):
    x = torch.tensor(np.asarray(points, dtype=np.float64), dtype=dtype, requires_grad=True)
    y = fn(x)
    y.backward(torch.ones_like(y))
    return y.detach().double().numpy(), x.grad.double().numpy()


def test_float16_sinc_is_finite_where_pi_x_overflows_float16(device):
    if device == "strict":
        pytest.skip("the Array API standard has no float16")
    # pi x passes 65504 from |x| = 20850: the value and the slope were NaN there (PyTorch's value is right)
    points = np.array([20864.0, -25000.0, 30048.0, 65504.0, 1000.5, 2.5], dtype=np.float16)
    value, slope = _value_and_slope(S.sinc, points, "float16", device)
    want_value, want_slope = _torch_value_and_slope(torch.sinc, points, torch.float64)
    assert np.isfinite(value).all() and np.isfinite(slope).all()
    # (at the whole numbers sin(pi x) is 0 to float32's rounding of pi x: a float16 ulp of the tiny values
    # does not apply, so the check is absolute there, and relative at 1000.5 and 2.5)
    np.testing.assert_allclose(value, want_value, rtol=1e-3, atol=1e-7)
    np.testing.assert_allclose(slope, want_slope, rtol=2e-3, atol=1e-6)


def test_logaddexp2_slope_keeps_its_digits_where_one_side_is_far_behind(device):
    # sigmoid((a - b) ln 2) rounded (a - b) ln 2 first: 55 float32 ulps off at a - b = -117, and 13
    # float16 ulps at -13; the exact share is 1 / (1 + 2**(b - a)), which PyTorch computes
    for dtype, leads in (("float32", [-117.0, -100.5, -30.25, 3.0, 0.0]), ("float16", [-13.03125, -12.0, -5.5, 2.0])):
        if device == "strict" and dtype == "float16":
            continue
        a = ag.tensor(np.array(leads, dtype=dtype), device=device, requires_grad=True)
        b = ag.zeros_like(a)
        ga, = ag.grad(ag.logaddexp2(a, b).sum(), a)
        want = 1 / (1 + 2.0 ** -np.array(leads))
        assert _ulps(ga.numpy(), want, dtype).max() <= 1, (dtype, ga.numpy(), want)


def test_float16_logaddexp2_near_zero_is_rounded_once(device):
    if device == "strict":
        pytest.skip("the Array API standard has no float16")
    # the larger input and the correction cancel: each rounded to float16 put the result 130 ulps off
    a = np.array([-0.04742, -0.0312, -0.5], dtype=np.float16)
    b = np.array([-4.965, -5.5, -1.0], dtype=np.float16)
    got = ag.logaddexp2(ag.tensor(a, device=device), ag.tensor(b, device=device)).numpy()
    want = np.logaddexp2(a.astype(np.float64), b.astype(np.float64))
    assert _ulps(got, want, np.float16).max() <= 0.5
    mirror = torch.logaddexp2(torch.tensor(a), torch.tensor(b)).numpy()
    np.testing.assert_array_equal(got, mirror)


@pytest.mark.parametrize("name, points", [
    ("ndtri", [1.633e-05, 7.87e-06, 2.5e-4, 0.999, 0.3]),       # exp(z^2 / 2) after z^2 rounds: 20 ulps
    ("erfcx", [3.805, 3.455, 3.596, 2.0, 0.75, -1.5]),         # 2 x erfcx(x) - 2 / sqrt(pi) cancels: 43 ulps
    ("log_ndtr", [-65504.0, -56864.0, -300.0, -3.0, 1.5]),     # inf at -65504, where the slope is 65504
    ("i1", [13.5, 20.0, 60.0, 2.0]),                           # i0 - i1 / x = inf - inf: NaN, the slope is inf
    ("i1e", [1.547, 1.541, 1.6, 5.0]),                         # its slope cancels near its peak: 2600 ulps
])
def test_float16_slopes_of_the_special_functions_are_rounded_once(device, name, points):
    if device == "strict":
        pytest.skip("the Array API standard has no float16")
    points = np.array(points, dtype=np.float16)
    _, slope = _value_and_slope(getattr(S, name), points, "float16", device)
    _, want = _torch_value_and_slope(getattr(torch.special, name), points, torch.float64)
    with np.errstate(over="ignore"):
        rounded = want.astype(np.float16)
    finite = np.isfinite(rounded)
    np.testing.assert_array_equal(slope[~finite], rounded[~finite])  # (inf where it overflows)
    assert _ulps(slope[finite], want[finite], np.float16).max() <= 1, (slope, want)


def test_float16_softplus_with_a_beta_is_rounded_once(device):
    if device == "strict":
        pytest.skip("the Array API standard has no float16")
    # beta x rounded to float16 first put the value 4 and the slope 6 ulps off; PyTorch's are within 0.5
    points = np.array([-0.04025, -0.0415, -0.04932, 0.0123, -0.2], dtype=np.float16)
    value, slope = _value_and_slope(lambda x: F.softplus(x, beta=100.0), points, "float16", device)
    want_value, want_slope = _torch_value_and_slope(
        lambda x: torch.nn.functional.softplus(x, beta=100.0), points, torch.float64)
    assert _ulps(value, want_value, np.float16).max() <= 0.5
    assert _ulps(slope, want_slope, np.float16).max() <= 0.5


_SELU = 1.6732632423543772848170429916717 * 1.0507009873554804934193349852946  # alpha * scale


@pytest.mark.parametrize("name, ours, theirs, second, low, high, bound", [
    # sigmoid's and tanh's from their float16 output y, as both libraries take them; the ELU family's
    # bound: half an ulp and float32's rounding
    ("sigmoid", ag.sigmoid, torch.sigmoid, lambda x, y: y * (1 - y) * (1 - 2 * y), -10, 10, 1.5),
    ("tanh", ag.tanh, torch.tanh, lambda x, y: -2 * y * (1 - y * y), -5, 5, 1.5),
    ("elu", F.elu, torch.nn.functional.elu, lambda x, y: np.where(x < 0, np.exp(x), 0.0), -10, 3, 0.51),
    ("selu", F.selu, torch.nn.functional.selu, lambda x, y: np.where(x < 0, _SELU * np.exp(x), 0.0), -10, 3, 0.51),
    ("celu", lambda x: F.celu(x, 0.7), lambda x: torch.nn.functional.celu(x, 0.7),
     lambda x, y: np.where(x < 0, np.exp(x / 0.7) / 0.7, 0.0), -10, 3, 0.51)])
def test_float16_second_derivatives_are_rounded_once(name, ours, theirs, second, low, high, bound):
    """The derivative of the slope kernel in its output (sigmoid's, tanh's) or input (the ELU
    family's), g * gy * (1 - 2 y) and the like, in float32 and rounded once, as the slope is: in
    float16 steps it was up to 2.3 ulps off (sigmoid; the ELU family 1.4, PyTorch's 1.4 to 2.9).
    sigmoid's and tanh's then round once more, in the slope kernel of the first backward."""
    rng = np.random.default_rng(3)
    x, gy, g = (rng.uniform(*span, 5000).astype(np.float16) for span in ((low, high), (0.5, 2), (0.5, 2)))
    wide = ag.tensor(x, requires_grad=True)
    y = ours(wide)
    slope, = ag.grad(y, wide, ag.tensor(gy), create_graph=True)
    got, = ag.grad(slope, wide, ag.tensor(g))
    assert got.dtype == ag.float16
    want = second(x.astype(np.float64), y.numpy().astype(np.float64)) * gy.astype(np.float64) * g
    t = torch.tensor(x, requires_grad=True)
    t_slope, = torch.autograd.grad(theirs(t), t, torch.tensor(gy), create_graph=True)
    t_got, = torch.autograd.grad(t_slope, t, torch.tensor(g))
    ulps = _ulps(got.numpy(), want, np.float16)
    t_ulps = _ulps(t_got.numpy(), want, np.float16)
    tiny = np.abs(want) < np.finfo(np.float16).smallest_subnormal  # (ulp 0: compare absolutely)
    assert np.abs(got.numpy()[tiny]).max(initial=0) <= np.abs(t_got.numpy()[tiny]).max(initial=0)
    assert ulps[~tiny].max() <= min(bound, t_ulps[~tiny].max()), name
    assert ulps[~tiny].mean() <= t_ulps[~tiny].mean(), name
