"""lgamma, digamma, polygamma, mvlgamma and zeta (ops/gamma_functions.py) against PyTorch at the
poles and special values, in float64, float32 and float16, against SciPy over wide ranges for
accuracy, and their errors. (The op table checks values, gradients and second gradients on
every backend.)"""
import math
import warnings

import numpy as np
import pytest

import autograd as ag
import backends

INF, NAN = math.inf, math.nan
# (the grids reach inputs whose results overflow, where NumPy warns as for 1 / 0: expected here)
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
# poles (0, -0.0, negative integers, -inf), negative non-integers, tiny and huge x, inf and NaN
GRID = [0.0, -0.0, -1.0, -2.0, -7.0, -0.5, -1.5, -2.3, -10.7, -1e-30, 1e-30, 1e-38, 1.0, 2.0, 0.5, 1.4616321,
        3.7, 1e10, 1e30, 3e38, INF, -INF, NAN]
GRID64 = GRID + [-1e20, -1e-300, -5e-324, 1e-300, 5e-324, 1e300, 2.5e305, 1e306, -1e15 - 0.5]
# where PyTorch's number is an artefact of its algorithm, these take the function's value (see the
# module's docstring): trigamma at the negative integers and -inf, polygamma(n >= 2) at +inf
DEVIATIONS = {1: lambda x: (x < 0) & (x == np.floor(x)), 2: lambda x: x == INF, 3: lambda x: x == INF}


def _same(got, want, rtol):
    """Equal NaN patterns, equal infinities and zeros with their signs, finite values within rtol."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert np.array_equal(np.isnan(got), np.isnan(want)), (got, want)
    assert np.array_equal(np.isinf(got), np.isinf(want)), (got, want)
    assert np.array_equal(np.signbit(got[~np.isnan(got)]), np.signbit(want[~np.isnan(want)])), (got, want)
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=rtol, atol=0)


def _torch_dtype(torch, dtype):
    return getattr(torch, dtype)


FUNCTIONS = [("lgamma", ag.lgamma, lambda t, x: t.lgamma(x)), ("digamma", ag.digamma, lambda t, x: t.digamma(x))] + [
    (f"polygamma-{n}", (lambda n: lambda x: ag.polygamma(n, x))(n), (lambda n: lambda t, x: t.polygamma(n, x))(n))
    for n in (0, 1, 2, 3)]


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-9), ("float32", 2e-6), ("float16", 1e-3)])
@pytest.mark.parametrize("name, ours, theirs", FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
def test_poles_and_special_values_match_torch(name, ours, theirs, dtype, rtol, torch):
    n = int(name.split("-")[1]) if name.startswith("polygamma") else None
    grid = GRID64 if dtype == "float64" else GRID
    if n is not None and n >= 2:  # (PyTorch's zeta steps q up by 1 until it passes 9: forever from -1e20)
        grid = [v for v in grid if not v < -1e6]
    with np.errstate(over="ignore"):
        x = np.array(grid, dtype=dtype)  # (3e38 is inf in float16)
    got = ours(ag.tensor(x)).numpy()
    assert got.dtype == x.dtype
    want = theirs(torch, torch.tensor(x)).numpy()
    keep = ~DEVIATIONS[n](x) if n in DEVIATIONS else np.ones(x.shape, bool)
    if n == 1 and dtype == "float64":
        keep &= x != -1e15 - 0.5  # (PyTorch's sin(pi x) there is inexact: 10.877 for pi^2 = 9.8696)
    if dtype == "float32" and name in ("digamma", "polygamma-0"):
        # PyTorch's float32 digamma is up to 500 ulp off near its zero, which it puts on the wrong side of
        # 1.4616321 (float32's 1.46163213 is below the zero 1.46163214: mpmath gives -1.2036053e-8, not 1.1e-8)
        rtol, keep = 2e-5, keep & (x != np.float32(1.4616321))
        assert got[x == np.float32(1.4616321)] == pytest.approx(-1.2036053e-8, rel=1e-7)
    if dtype == "float32" and backends.get_default().device.startswith("cuda"):
        # CuPy compiles with -ftz=true: float32 subnormals read as 0 (the x of 1e-38) and
        # results flush to 0 with their sign (trigamma at 3e38, 3.3e-39)
        tiny = np.finfo(dtype).smallest_normal
        keep &= ~((x != 0) & (np.abs(x) < tiny))
        want = np.where(np.abs(want) < tiny, np.copysign(0, want), want)
    _same(got[keep], want[keep], rtol)


def test_where_pytorch_gives_an_artefact_the_values_are_the_functions(torch):
    special = pytest.importorskip("scipy.special")
    x = np.array([-1.0, -2.0, -7.0, -1e20, -INF, -1e15 - 0.5])
    got = ag.polygamma(1, ag.tensor(x)).numpy()
    np.testing.assert_array_equal(got[:5], INF)  # a pole of order 2: +inf from both sides, as SciPy's
    np.testing.assert_array_equal(got[:5], special.polygamma(1, x[:5]))
    assert got[5] == pytest.approx(math.pi ** 2, rel=1e-15)  # pi^2 / sin(pi x)^2 less trigamma(1 - x) ~ 1e-15
    assert torch.polygamma(1, torch.tensor([-1.0], dtype=torch.float64)).item() == pytest.approx(6.58e32, rel=1e-2)
    # polygamma(n >= 2) and zeta at q = +inf: their limit 0, with polygamma's sign (-1)^(n+1)
    at_inf = [ag.polygamma(n, ag.tensor([INF], dtype="float64")).numpy()[0] for n in (2, 3)]
    assert at_inf[0] == 0 and np.signbit(at_inf[0]) and at_inf[1] == 0 and not np.signbit(at_inf[1])
    assert ag.special.zeta(ag.tensor([2.0, 1e300]), ag.tensor([INF, 2.0])).numpy().tolist() == [0.0, 0.0]
    assert math.isnan(torch.special.zeta(torch.tensor(2.0), torch.tensor(INF)).item())  # PyTorch's


def test_zeta_special_values_match_torch(torch):
    s = [1.0, 0.5, -INF, NAN, 1.0, 2.0, 2.0, 2.0, 2.5, 2.5, 3.0, 3.0, 2.0, INF, INF, INF, 1e300, NAN, 4.0, 3.0]
    q = [2.0, 2.0, 2.0, 2.0, NAN, 0.0, -0.0, -3.0, -1.0, -0.5, -0.5, -100.5, -INF, 1.0, 0.5, -0.5, 0.5, -1.0, 1e-5, 7.5]
    for dtype in ("float64", "float32"):
        got = ag.special.zeta(ag.tensor(s, dtype=dtype), ag.tensor(q, dtype=dtype)).numpy()
        want = torch.special.zeta(torch.tensor(s, dtype=_torch_dtype(torch, dtype)),
                                  torch.tensor(q, dtype=_torch_dtype(torch, dtype))).numpy()
        _same(got, want, 1e-9 if dtype == "float64" else 2e-6)


def test_zeta_of_infinite_order_keeps_a_nan_q(torch):
    """s = inf took the first term's limit q^-inf with a NaN q read as 0.5, giving inf
    (and a gradient in q of -inf), where PyTorch's and SciPy's zeta(inf, NaN) are NaN."""
    s, q = [INF, INF, INF], [NAN, -INF, 1.0]
    x = ag.tensor(q, dtype="float64", requires_grad=True)
    got = ag.special.zeta(ag.tensor(s, dtype="float64"), x)
    want = torch.special.zeta(torch.tensor(s, dtype=torch.float64), torch.tensor(q, dtype=torch.float64))
    _same(got.detach().numpy(), want.numpy(), 0)
    got.sum().backward()
    assert math.isnan(x.grad.numpy()[0])


def test_no_warnings_where_the_results_do_not_overflow():
    """Each formula's lanes that another formula serves are kept quiet (no 1/0, inf - inf, sin(inf))."""
    x = ag.tensor([0.0, -0.0, -1.0, -2.0, -1e20, -0.5, -1.5, -1e-30, 1e-30, 1.0, 2.5, 1e10, 1e30, INF, -INF, NAN],
                  dtype="float64")
    s = ag.tensor([1.0, 0.5, 2.0, 2.5, INF, NAN, 3.0, 2.0, 2.0, -INF, 1e300, INF, 500.0], dtype="float64")
    q = ag.tensor([2.0, 2.0, 0.0, -1.5, 2.0, 1.0, -INF, INF, NAN, 1.0, 2.0, -0.5, 1.0], dtype="float64")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ag.lgamma(x), ag.digamma(x), ag.mvlgamma(x, 3), ag.special.zeta(s, q)
        for n in (1, 2, 5):
            ag.polygamma(n, x)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_gradients_at_special_points_match_torch(dtype, torch):
    x = [-0.0, 0.0, -0.5, -2.3, 1e-30, 0.5, 3.7, 1e10, NAN]
    # (+inf only for lgamma and mvlgamma: the gradients of digamma and polygamma(2) there are trigamma's
    # and polygamma(3)'s, NaN in PyTorch and 0 here, see above)
    for ours, theirs, points in [(ag.lgamma, torch.lgamma, x + [INF]), (ag.digamma, torch.digamma, x),
                                 (lambda v: ag.polygamma(2, v), lambda v: torch.polygamma(2, v), x),
                                 (lambda v: ag.mvlgamma(v, 1), lambda v: torch.mvlgamma(v, 1), x + [INF])]:
        a = ag.tensor(np.array(points, dtype=dtype), requires_grad=True)
        ours(a).backward(ag.ones_like(a))  # (not through a sum, which would add inf and -inf)
        t = torch.tensor(np.array(points, dtype=dtype), requires_grad=True)
        theirs(t).backward(torch.ones_like(t))
        _same(a.grad.numpy(), t.grad.numpy(), 1e-9 if dtype == "float64" else 2e-5)


def test_third_derivative_of_lgamma_is_polygamma_2(torch):
    x = np.array([0.3, 1.7, 4.2, -0.6, -3.5])
    a = ag.tensor(x, requires_grad=True)
    g1, = ag.grad(ag.lgamma(a).sum(), [a], create_graph=True)
    g2, = ag.grad(g1.sum(), [a], create_graph=True)
    g3, = ag.grad(g2.sum(), [a])
    t = torch.tensor(x, requires_grad=True)
    h1, = torch.autograd.grad(torch.lgamma(t).sum(), t, create_graph=True)
    h2, = torch.autograd.grad(h1.sum(), t, create_graph=True)
    h3, = torch.autograd.grad(h2.sum(), t)
    np.testing.assert_allclose(g2.numpy(), h2.detach().numpy(), rtol=1e-9)
    np.testing.assert_allclose(g3.numpy(), h3.numpy(), rtol=1e-9)


def _ulps(got, want):
    """The error in units of the last place of ``got``'s dtype, where ``want`` is finite and not 0
    (and the infinities and zeros equal)."""
    with np.errstate(over="ignore"):
        rounded = want.astype(got.dtype)
    finite = np.isfinite(rounded) & (rounded != 0)
    np.testing.assert_array_equal(got[~finite], rounded[~finite])
    got, want = got[finite], want[finite]
    return np.abs(got - want) / np.spacing(np.abs(want).astype(got.dtype))


def _wide(rng, count):
    """Positive x from 1e-300 to 1e300, evenly in log, and (0, 8) evenly, where the kernels change formula."""
    return np.concatenate([np.exp(rng.uniform(-690, 690, count)), rng.uniform(0, 8, count)])


def test_float64_accuracy_against_scipy_and_torch(torch):
    """Measured against mpmath at 40 digits: lgamma and digamma 2 ulp for x > 0; for x < 0, 6 and 14 ulp at
    the 99th percentile, up to 150 and 400 ulp within 0.01 of their zeros (the reflection's cancellation;
    SciPy's are up to 100 and 1,100 there). SciPy's gammaln is itself 150 ulp off near x = 0.97, so
    lgamma is checked against PyTorch's (glibc's, 1 ulp) for x > 0."""
    special = pytest.importorskip("scipy.special")
    rng = np.random.default_rng(0)
    x = _wide(rng, 20000)
    assert _ulps(ag.lgamma(ag.tensor(x)).numpy(), torch.lgamma(torch.tensor(x)).numpy()).max() <= 4
    assert _ulps(ag.digamma(ag.tensor(x)).numpy(), special.psi(x)).max() <= 4
    q = x[x < 1e100]  # (polygamma underflows past it)
    for n in (1, 2, 3, 6):
        assert _ulps(ag.polygamma(n, ag.tensor(q)).numpy(), special.polygamma(n, q)).max() <= 8, n
    # zeta: SciPy's is up to 14 ulp off for q ~ 1e8 (mpmath), and ours up to (s - 1) / 2 ulp where q + 9 rounds
    s = rng.uniform(1.01, 40, q.size)
    assert _ulps(ag.special.zeta(ag.tensor(s), ag.tensor(q)).numpy(), special.zeta(s, q)).max() <= 24
    # x < 0, against mpmath (SciPy's and PyTorch's digamma are 70 ulp off at the 99th percentile there):
    # away from the zeros, where the results are at least 0.1, and next to them in absolute terms
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    x = -rng.uniform(0, 30, 400)
    x = x[x != np.floor(x)]
    # (polygamma(2) there is zeta(3, f) - zeta(3, 1 - f) + ..., terms up to 8.4 that cancel)
    for ours, truth, bound in [(ag.lgamma, lambda v: mpmath.log(abs(mpmath.gamma(v))), 64),
                               (ag.digamma, mpmath.digamma, 64),
                               (lambda v: ag.polygamma(1, v), lambda v: mpmath.psi(1, v), 8),
                               (lambda v: ag.polygamma(2, v), lambda v: mpmath.psi(2, v), 256)]:
        got = ours(ag.tensor(x)).numpy()
        want = np.array([float(truth(mpmath.mpf(v))) for v in x])
        away = np.abs(want) > 0.1
        assert np.median(_ulps(got[away], want[away])) <= 1
        assert _ulps(got[away], want[away]).max() <= bound
        np.testing.assert_allclose(got[~away], want[~away], rtol=0, atol=bound * 2e-17)


def test_even_order_polygamma_keeps_its_digits_near_the_negative_half_integers(torch):
    """polygamma(n, x) of even n for x < 0 is n! times zeta(n + 1, f) - zeta(n + 1, 1 - f) + ..., two
    sums that cancel near the half-integers (f = x - floor(x) near 1/2); they are taken there as the
    reflection's derivative of pi cot(pi x), which keeps the digits: before, up to 5e-5 of the result
    was lost at n = 6 (PyTorch's: 3e-5), now 1e-14 at most (measured 9e-15)."""
    # at the half-integers the even derivatives of cot vanish, and the reflection is exact:
    # polygamma(n, -k - 1/2) = polygamma(n, k + 3/2)
    k = np.arange(30.0)
    for n in (2, 4, 6, 8):
        got = ag.polygamma(n, ag.tensor(-k - 0.5)).numpy()
        assert _ulps(got, ag.polygamma(n, ag.tensor(k + 1.5)).numpy()).max() <= 1, n
    # and next to them, against mpmath, no worse than PyTorch
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    rng = np.random.default_rng(2)
    x = -(rng.integers(0, 30, 300) + 0.5 + rng.uniform(-0.02, 0.02, 300))
    for n in (2, 4, 6):
        want = np.array([float(mpmath.psi(n, mpmath.mpf(v))) for v in x])
        ours = np.abs(ag.polygamma(n, ag.tensor(x)).numpy() / want - 1).max()
        theirs = np.abs(torch.polygamma(n, torch.tensor(x)).numpy() / want - 1).max()
        assert ours <= 1e-14 and ours <= theirs, (n, ours, theirs)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_narrow_floats_are_float64_rounded(dtype):
    """float16 and float32 are computed in float64 and rounded once: within one ulp (PyTorch's float32
    digamma is up to 500 ulp off, near its zero at 1.4616)."""
    special = pytest.importorskip("scipy.special")
    rng = np.random.default_rng(1)
    top = 60000 if dtype == "float16" else 1e30
    x = np.concatenate([rng.uniform(-30, 8, 20000), np.exp(rng.uniform(-10, math.log(top), 5000))]).astype(dtype)
    x = x[x != np.floor(x)]
    wide = x.astype(np.float64)
    for ours, reference in [(ag.lgamma, special.gammaln), (ag.digamma, special.psi),
                            (lambda v: ag.polygamma(2, v), lambda v: special.polygamma(2, v))]:
        got = ours(ag.tensor(x)).numpy()
        assert got.dtype == x.dtype
        want = reference(wide)
        normal = np.abs(want) > np.finfo(dtype).tiny
        assert _ulps(got[normal], want[normal]).max() <= 1


def test_integer_and_bool_inputs_take_the_default_float(torch):
    cases = [(ag.lgamma, torch.lgamma, [True, False]), (ag.digamma, torch.digamma, [True, False]),
             (lambda v: ag.polygamma(1, v), lambda v: torch.polygamma(1, v), [True, False]),
             (lambda v: ag.mvlgamma(v, 2), lambda v: torch.mvlgamma(v, 2), [])]  # (mvlgamma refuses bools)
    for ours, theirs, bools in cases:
        for values in ([3, 4, 10], bools):
            got, want = ours(ag.tensor(values)), theirs(torch.tensor(values))
            assert got.dtype == ag.float32 and want.dtype == torch.float32
            _same(got.numpy(), want.numpy(), 1e-6)
    got = ag.special.zeta(ag.tensor([2, 3]), 2)
    want = torch.special.zeta(torch.tensor([2, 3]), 2)
    assert got.dtype == ag.float32 and want.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="may not be a boolean tensor"):
        torch.mvlgamma(torch.tensor([True]), 1)
    with pytest.raises(TypeError, match=r"^mvlgamma: x may not be a bool tensor, as in PyTorch"):
        ag.mvlgamma(ag.tensor([True]), 1)


def test_mvlgamma_matches_torch_also_where_x_is_at_most_p_minus_1_over_2(torch):
    """torch 2.13 refuses only p < 1: x <= (p - 1) / 2 gives the sum of lgammas, inf at a pole."""
    x = np.array([[2.5, 3.0, 1.0, -3.3], [2.6, 10.0, 0.25, 4.75]])
    for p in (1, 2, 6):
        _same(ag.mvlgamma(ag.tensor(x), p).numpy(), torch.mvlgamma(torch.tensor(x), p).numpy(), 1e-12)
        smooth = x[x != np.floor(2 * x) / 2]  # (away from the poles of its terms)
        a, t = ag.tensor(smooth, requires_grad=True), torch.tensor(smooth, requires_grad=True)
        ag.mvlgamma(a, p).sum().backward()
        torch.mvlgamma(t, p).sum().backward()
        _same(a.grad.numpy(), t.grad.numpy(), 1e-9)
    assert ag.mvlgamma(ag.tensor(2.5), 3).shape == ()
    assert ag.mvlgamma(ag.zeros(0, 3), 3).shape == (0, 3)


def test_zeta_gradient_in_q_and_refused_in_x_as_in_torch(torch):
    s, q = [2.0, 3.5], [1.5, -0.25]
    a, b = ag.tensor(s, dtype="float64"), ag.tensor(q, dtype="float64", requires_grad=True)
    ts, tq = torch.tensor(s, dtype=torch.float64), torch.tensor(q, dtype=torch.float64, requires_grad=True)
    ag.special.zeta(a, b).sum().backward()
    torch.special.zeta(ts, tq).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), tq.grad.numpy(), rtol=1e-12)
    a.requires_grad = True
    out = ag.special.zeta(a, b).sum()
    with pytest.raises(NotImplementedError, match=r"zeta: the derivative with respect to x .* pass x\.detach\(\)"):
        out.backward()
    ts.requires_grad = True
    with pytest.raises(NotImplementedError, match="the derivative for 'zeta' is not implemented"):
        torch.special.zeta(ts, tq).sum().backward()


@pytest.mark.parametrize("call, error, message", [
    (lambda x: ag.polygamma(-1, x), ValueError, r"^polygamma: n must be >= 0 \(0 is digamma\), got -1$"),
    (lambda x: ag.polygamma(1.0, x), TypeError, r"^polygamma: n must be an int, not float \(1\.0\)$"),
    (lambda x: ag.polygamma(True, x), TypeError, r"^polygamma: n must be an int, not bool \(True\)$"),
    (lambda x: x.polygamma(None), TypeError, r"^polygamma: n must be an int, not NoneType \(None\)$"),
    (lambda x: ag.mvlgamma(x, 0), ValueError, r"^mvlgamma: p must be >= 1 \(the dimension\), got 0$"),
    (lambda x: x.mvlgamma(2.0), TypeError, r"^mvlgamma: p must be an int, not float \(2\.0\)$"),
    (lambda x: ag.special.zeta(2.0, 3.0), TypeError, r"^zeta: expected at least one Tensor"),
    (lambda x: ag.special.zeta(x, ag.ones(2)), ValueError, r"zeta"),
])
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call(ag.tensor([2.5, 3.0, 4.0]))


def test_names_methods_and_polygamma_0():
    x = ag.tensor([-1.5, 0.25, 2.0, 7.5], dtype="float64")
    assert ag.special.gammaln is ag.lgamma and ag.special.psi is ag.digamma is ag.special.digamma
    assert ag.special.multigammaln is ag.mvlgamma and ag.special.polygamma is ag.polygamma
    np.testing.assert_array_equal(x.lgamma().numpy(), ag.lgamma(x).numpy())
    np.testing.assert_array_equal(x.digamma().numpy(), ag.polygamma(0, x).numpy())
    np.testing.assert_array_equal(x.polygamma(2).numpy(), ag.polygamma(2, x).numpy())
    np.testing.assert_array_equal(x.mvlgamma(1).numpy(), ag.lgamma(x).numpy())
    assert ag.lgamma(x).grad_fn is None and ag.lgamma(ag.tensor(2.0, requires_grad=True)).requires_grad
