"""The normal-distribution, log-product, logit and Bessel special functions
(autograd/ops/special_functions.py): values, gradients and second derivatives against
PyTorch at special values (0, -0.0, +-1, tiny, huge, inf, NaN), accuracy against SciPy over
wide ranges in float64, float32 and float16 (and against mpmath where SciPy itself is off),
dtypes, and errors. Where topograd deliberately differs from PyTorch 2.13, the point is
listed in DEVIATIONS and checked against the true value instead."""
import math
import warnings

import numpy as np
import pytest

import autograd as ag
import backends

inf, nan = math.inf, math.nan
special = pytest.importorskip("scipy.special")

UNARY = {  # name: (topograd, PyTorch's name under torch, SciPy's)
    "erfinv": (ag.erfinv, "erfinv", special.erfinv),
    "ndtr": (ag.special.ndtr, "special.ndtr", special.ndtr),
    "ndtri": (ag.special.ndtri, "special.ndtri", special.ndtri),
    "log_ndtr": (ag.special.log_ndtr, "special.log_ndtr", special.log_ndtr),
    "erfcx": (ag.special.erfcx, "special.erfcx", special.erfcx),
    "logit": (ag.logit, "logit", special.logit),
    "entr": (ag.special.entr, "special.entr", special.entr),
    "i0": (ag.i0, "i0", special.i0),
    "i0e": (ag.special.i0e, "special.i0e", special.i0e),
    "i1": (ag.special.i1, "special.i1", special.i1),
    "i1e": (ag.special.i1e, "special.i1e", special.i1e),
}

GRID = [-inf, -1e300, -800.0, -712.0, -40.0, -27.0, -2.0, -1.0, -0.75, -0.5, -1e-300, -0.0, 0.0, 5e-324,
        1e-300, 1e-8, 0.25, 0.5, 0.75, 1.0, 2.0, 15.0, 27.0, 40.0, 712.0, 800.0, 1e300, inf, nan]

# (name, "value" / "grad" / "gradgrad") -> grid points where PyTorch 2.13 is wrong and topograd
# is not; test_where_torch_is_wrong checks them against the true values.
DEVIATIONS = {
    ("ndtr", "value"): [-27.0],                           # PyTorch underflows to 0 (7.4e-161)
    ("log_ndtr", "grad"): [-inf, -1e300, -800.0, -712.0],  # NaN past x^2 overflowing; digits lost before
    ("log_ndtr", "gradgrad"): [-800.0, -712.0, -40.0, -27.0],
    ("i0", "value"): [-inf, -712.0, 712.0, inf],          # NaN at +-inf, inf before 713.99
    ("i0", "grad"): [-inf, -712.0, 712.0, inf],
    ("i0", "gradgrad"): [-712.0, 712.0, nan],             # (PyTorch's i1 gradient is 0.5 at NaN)
    ("i1", "value"): [-inf, -712.0, 712.0, inf],
    ("i1", "grad"): [-712.0, 712.0, nan],
    ("i1", "gradgrad"): [-712.0, 712.0, nan],
    ("i1e", "grad"): [nan],
    ("i1e", "gradgrad"): [nan, -1e-300, 5e-324, 1e-300],  # 0 beside 0, where it is -sign(x)
    ("erfcx", "grad"): [inf],                             # NaN (2 x erfcx(x) at inf is inf * 0)
    ("erfcx", "gradgrad"): [1e300, inf],                  # 1.1e-300 (it underflows to 0) and NaN
}


def _derivatives(fn, x):
    """fn(x), its gradient and second derivative (elementwise functions: of the sums)."""
    y = fn(x)
    g, = ag.grad(y.sum(), [x], create_graph=True)
    gg, = ag.grad(g.sum(), [x])
    return y, g, gg


def _torch_derivatives(torch, fn, x):
    y = fn(x)
    g, = torch.autograd.grad(y.sum(), x, create_graph=True)
    gg, = torch.autograd.grad(g.sum(), x)
    return y, g, gg


def _torch_function(torch, path):
    for part in path.split("."):
        torch = getattr(torch, part)
    return torch


@pytest.mark.parametrize("name", sorted(UNARY))
def test_values_and_derivatives_at_special_points_match_torch(name, torch):
    ours, path, _ = UNARY[name]
    x = ag.tensor(GRID, dtype="float64", requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # log(0), exp(800): NumPy's warnings
        got = _derivatives(ours, x)
    leaf = torch.tensor(GRID, dtype=torch.float64, requires_grad=True)
    want = _torch_derivatives(torch, _torch_function(torch, path), leaf)
    grid = np.array(GRID)
    for what, g, w, atol in zip(("value", "grad", "gradgrad"), got, want, (1e-300, 1e-300, 1e-8)):
        g, w = g.numpy(), w.detach().numpy()
        points = DEVIATIONS.get((name, what), [])
        skip = np.isin(grid, points) | (np.isnan(grid) & any(math.isnan(p) for p in points))
        if name == "logit" and what == "gradgrad":
            skip |= ~((grid >= 0) & (grid <= 1))  # (NaN's derivative outside the domain: 0 here, NaN there)
        np.testing.assert_allclose(g[~skip], w[~skip], rtol=1e-9, atol=atol, err_msg=f"{name} {what}")
        if what == "value":
            zeros = (w == 0) & ~skip
            assert np.array_equal(np.signbit(g[zeros]), np.signbit(w[zeros])), f"{name}: the sign of a zero"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # (the references' inf / inf and 1 / 0)
def test_where_torch_is_wrong():
    """The DEVIATIONS points against the true values (SciPy's, or from an identity)."""
    def derivatives(fn, points):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return [t.numpy() for t in _derivatives(fn, ag.tensor(points, dtype="float64", requires_grad=True))]

    np.testing.assert_allclose(ag.special.ndtr(ag.tensor(-27.0, dtype="float64")).item(), 7.38948100688502e-161,
                               rtol=1e-14)  # (mpmath)
    # log_ndtr' = phi/Phi = sqrt(2/pi) / erfcx(-x/sqrt(2)) for x < 0, and log_ndtr'' = -r (x + r), r = log_ndtr'
    x = np.array([-inf, -1e300, -800.0, -712.0, -40.0, -27.0])
    _, g, gg = derivatives(ag.special.log_ndtr, x)
    r = math.sqrt(2 / math.pi) / special.erfcx(-x / math.sqrt(2))
    np.testing.assert_allclose(g, r, rtol=1e-14)
    np.testing.assert_allclose(gg[2:], -r[2:] * (x[2:] + r[2:]), rtol=1e-9)
    # I0 and I1 are finite to 713.99 and infinite at inf; i0' = i1, i1' = i0 - i1/x
    x = np.array([-inf, -712.0, 712.0, inf])
    scaled_exp = np.exp(np.abs(x[1:3]) / 2)
    i0 = np.array([inf, *(special.i0e(x[1:3]) * scaled_exp * scaled_exp), inf])
    i1 = np.array([-inf, *(special.i1e(x[1:3]) * scaled_exp * scaled_exp), inf])
    for fn, want, want_grad in ((ag.i0, i0, i1), (ag.special.i1, i1, i0 - i1 / x)):
        value, grad, _ = derivatives(fn, x)
        np.testing.assert_allclose(value, want, rtol=1e-14)
        np.testing.assert_allclose(grad[1:3], want_grad[1:3], rtol=1e-14)
    # erfcx' = -1/(sqrt(pi) x^2) (1 + O(1/x^2)) and erfcx'' = 2/(sqrt(pi) x^3) (...) underflow to 0
    # at 1e300 and tend to 0 at inf
    _, g, gg = derivatives(ag.special.erfcx, [1e300, inf])
    assert np.all(g == 0) and np.all(gg == 0)
    # a NaN input gives NaN gradients (PyTorch's i1 and i1e give their value at 0, 0.5)
    for fn in (ag.special.i1, ag.special.i1e, ag.i0):
        _, grad, gradgrad = derivatives(fn, [nan])
        assert np.isnan(grad).all() and np.isnan(gradgrad).all()
    # i1e(x) = x/2 - x^2/2 + O(x^3) for x > 0 (odd): i1e'' is -sign(x) beside 0
    _, _, gradgrad = derivatives(ag.special.i1e, [-1e-300, 5e-324, 1e-300])
    np.testing.assert_array_equal(gradgrad, [1.0, -1.0, -1.0])


def test_the_limits_at_zero_and_the_kink_of_the_scaled_functions_match_torch(torch):
    """i1'(0) = i1e'(0) = 1/2 (I1(x)/x is 0/0 there), the second derivatives through that
    limit, and i0e's kink: its gradient is -sign(x) + O(x) beside 0, and 0 at 0. (i1e's
    second derivative beside 0 is -sign(x), where PyTorch's is 0.)"""
    points = [-1e-300, -0.0, 0.0, 1e-300]
    for name in ("i1", "i1e", "i0e"):
        ours, path, _ = UNARY[name]
        got = _derivatives(ours, ag.tensor(points, dtype="float64", requires_grad=True))
        leaf = torch.tensor(points, dtype=torch.float64, requires_grad=True)
        want = _torch_derivatives(torch, _torch_function(torch, path), leaf)
        if name == "i1e":
            want = (*want[:2], -torch.sign(leaf))
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.numpy(), w.detach().numpy(), rtol=1e-12, atol=1e-300, err_msg=name)
    for fn in (ag.special.i1, ag.special.i1e):
        x = ag.tensor([0.0], requires_grad=True)
        fn(x).sum().backward()
        assert x.grad.item() == 0.5


# --- accuracy --------------------------------------------------------------------------------
def _ulps(got, want, dtype):
    """|got - want| in units of the last place of ``want`` in ``dtype`` (finite, normal want)."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    keep = np.isfinite(want) & (np.abs(want) >= np.finfo(dtype).smallest_normal)
    spacing = np.spacing(np.abs(want[keep]).astype(dtype)).astype(np.float64)
    return np.abs(got[keep] - want[keep]) / spacing


_RNG = np.random.default_rng(20240613)


def _log_uniform(low, high, n):
    return 10.0 ** _RNG.uniform(low, high, n)


def _symmetric(values):
    return np.concatenate([values, -values])


# Wide float64 grids, within the ranges where SciPy itself is right to a few ulp (its ndtr and
# log_ndtr lose up to x^2 ulp for large |x|, and its erfcx x^2/2 below -1: mpmath checks those).
WIDE = {
    "erfinv": np.concatenate([_RNG.uniform(-1, 1, 50000), _symmetric(1 - _log_uniform(-16, 0, 20000)),
                              _symmetric(_log_uniform(-300, 0, 10000))]),
    "ndtr": np.concatenate([_RNG.uniform(-1.5, 8, 50000), _symmetric(_log_uniform(-300, 0, 10000))]),
    "ndtri": np.concatenate([_RNG.uniform(0, 1, 50000), _log_uniform(-323, 0, 30000), 1 - _log_uniform(-16, 0, 20000)]),
    "log_ndtr": np.concatenate([_RNG.uniform(-40, 3, 50000), -_log_uniform(1, 150, 10000)]),
    "erfcx": np.concatenate([_RNG.uniform(-1, 40, 50000), _log_uniform(-300, 300, 20000)]),
    "logit": np.concatenate([_RNG.uniform(0, 1, 50000), _log_uniform(-300, 0, 10000), 1 - _log_uniform(-16, 0, 10000),
                             0.5 + _RNG.uniform(-1e-6, 1e-6, 10000)]),
    "entr": np.concatenate([_RNG.uniform(0, 5, 50000), _log_uniform(-300, 300, 20000)]),
    **{name: np.concatenate([_RNG.uniform(-30, 30, 50000), _symmetric(_RNG.uniform(30, 709, 10000)),
                             _symmetric(_log_uniform(-300, 1, 10000))]) for name in ("i0", "i1")},
    **{name: np.concatenate([_RNG.uniform(-30, 30, 50000), _symmetric(_log_uniform(-300, 300, 20000))])
       for name in ("i0e", "i1e")},
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_float64_is_within_a_few_ulp_of_scipy(name):
    ours, _, reference = UNARY[name]
    x = WIDE[name]
    got, want = ours(ag.tensor(x, dtype="float64")).numpy(), reference(x)
    assert np.array_equal(np.isnan(got), np.isnan(want)), name
    assert np.array_equal(got[np.isinf(want)], want[np.isinf(want)]), name
    assert _ulps(got, want, np.float64).max() <= 16, name  # (SciPy's own error is up to 12 ulp, its i1's)


MPMATH_CASES = {  # where SciPy is off, or to bound the error itself; (name, points, mpmath function)
    "ndtr tail": ("ndtr", -_RNG.uniform(1.5, 38, 200), lambda mp, x: mp.ncdf(x)),
    "log_ndtr right": ("log_ndtr", _RNG.uniform(3, 38, 200), lambda mp, x: mp.log1p(-mp.ncdf(-x))),
    "log_ndtr left": ("log_ndtr", -_RNG.uniform(0, 50, 200), lambda mp, x: mp.log(mp.ncdf(x))),
    "erfcx negative": ("erfcx", -_RNG.uniform(0.5, 26.6, 200), lambda mp, x: mp.exp(x * x) * mp.erfc(x)),
    "erfinv": ("erfinv", _RNG.uniform(-1, 1, 200), lambda mp, x: mp.erfinv(x)),
    "ndtri tail": ("ndtri", _log_uniform(-323, -2, 100),
                   lambda mp, p: mp.findroot(lambda z: mp.log(mp.ncdf(z)) - mp.log(p), -mp.sqrt(-2 * mp.log(p)))),
    "i0": ("i0", _RNG.uniform(-40, 40, 200), lambda mp, x: mp.besseli(0, x)),
    "i1": ("i1", _RNG.uniform(-40, 40, 200), lambda mp, x: mp.besseli(1, x)),
    "i0e": ("i0e", _RNG.uniform(-40, 40, 200), lambda mp, x: mp.exp(-abs(x)) * mp.besseli(0, x)),
    "i1e": ("i1e", _RNG.uniform(-40, 40, 200), lambda mp, x: mp.exp(-abs(x)) * mp.besseli(1, x)),
}


@pytest.mark.parametrize("case", sorted(MPMATH_CASES))
def test_float64_is_within_8_ulp_of_the_true_value(case):
    mp = pytest.importorskip("mpmath")
    name, x, exact = MPMATH_CASES[case]
    with mp.workdps(40):
        want = np.array([float(exact(mp, mp.mpf(float(v)))) for v in x])
    got = UNARY[name][0](ag.tensor(x, dtype="float64")).numpy()
    assert _ulps(got, want, np.float64).max() <= 8, case


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")  # (log_ndtr(-1e200) is -inf)
def test_the_far_tails():
    """log_ndtr stays right where ndtr underflows; ndtri reaches the smallest subnormal;
    erfcx neither overflows nor underflows for large x; erfinv is exact at +-1."""
    x = ag.tensor([-40.0, -1e10, -1e200], dtype="float64")
    np.testing.assert_allclose(ag.special.log_ndtr(x).numpy(),
                               [-804.6084420137538, -5e19 - math.log(1e10 * math.sqrt(2 * math.pi)), -5e399],
                               rtol=1e-15)
    np.testing.assert_allclose(ag.special.ndtri(ag.tensor([5e-324, 1e-300], dtype="float64")).numpy(),
                               special.ndtri([5e-324, 1e-300]), rtol=1e-15)
    np.testing.assert_allclose(ag.special.erfcx(ag.tensor([1e5, 1e300, inf], dtype="float64")).numpy(),
                               [special.erfcx(1e5), 1 / (math.sqrt(math.pi) * 1e300), 0.0], rtol=1e-15)
    np.testing.assert_array_equal(ag.erfinv(ag.tensor([-1.0, 1.0, 1.0 + 2 ** -52, -2.0, nan], dtype="float64")).numpy(),
                                  [-inf, inf, nan, nan, nan])


@pytest.mark.parametrize("dtype, bound", [("float32", 16), ("float16", 1)])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_float32_and_float16_are_within_a_few_ulp_of_scipy(name, dtype, bound):
    """float32 computes in float32; float16 in float32, rounded once (as PyTorch's)."""
    ours, _, reference = UNARY[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (the grids' huge numbers overflow float16)
        x = WIDE[name].astype(dtype)
        if dtype == "float32" and backends.get_default().device.startswith("cuda"):
            # CuPy compiles with -ftz=true: a float32 subnormal x reads as 0 (logit, ndtri: -inf)
            x = x[(x == 0) | ~(np.abs(x) < np.finfo(dtype).smallest_normal)]
        got = ours(ag.tensor(x)).numpy()
        want = reference(x.astype(np.float64)).astype(dtype)
    assert got.dtype == np.dtype(dtype)
    assert np.array_equal(np.isnan(got), np.isnan(want)), name
    assert np.array_equal(got[np.isinf(want)], want[np.isinf(want)]), name
    assert _ulps(got, want, dtype).max() <= bound, name


# --- products with logarithms ----------------------------------------------------------------
PAIR_VALUES = [0.0, -0.0, 1.0, -1.0, 2.0, -0.5, inf, -inf, nan]


@pytest.mark.parametrize("name", ["xlogy", "xlog1py"])
def test_products_with_logarithms_match_torch_on_every_pair_of_special_values(name, torch):
    x = [a for a in PAIR_VALUES for _ in PAIR_VALUES]
    y = [b for _ in PAIR_VALUES for b in PAIR_VALUES]
    ours = ag.tensor(x, dtype="float64", requires_grad=True), ag.tensor(y, dtype="float64", requires_grad=True)
    theirs = (torch.tensor(x, dtype=torch.float64, requires_grad=True),
              torch.tensor(y, dtype=torch.float64, requires_grad=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = getattr(ag.special, name)(*ours)
        ag.backward([got], [ag.ones_like(got)])
    want = getattr(torch.special, name)(*theirs)
    want.backward(torch.ones_like(want))
    pairs = ((got, want, "value"), (ours[0].grad, theirs[0].grad, "x grad"), (ours[1].grad, theirs[1].grad, "y grad"))
    for g, w, what in pairs:
        g, w = g.detach().numpy(), w.detach().numpy()
        np.testing.assert_allclose(g, w, rtol=1e-15, atol=0, err_msg=f"{name} {what}")  # (NaN and inf where torch's)
        assert np.array_equal(np.signbit(g[w == 0]), np.signbit(w[w == 0])), f"{name} {what}: the sign of a zero"


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("name", ["xlogy", "xlog1py"])
def test_products_with_logarithms_broadcast_and_take_a_scalar_on_either_side(name, torch):
    rng = np.random.default_rng(5)
    a, b = rng.uniform(-2, 2, (2, 1, 3)), rng.uniform(0.1, 3, (4, 1))
    a[0, 0, 1] = 0.0
    ours = getattr(ag.special, name)
    theirs = getattr(torch.special, name)
    cases = [(lambda f, x, y: f(x, y), True, True), (lambda f, x, y: f(2.5, y), False, True),
             (lambda f, x, y: f(x, 0.0), True, False), (lambda f, x, y: f(0.0, y), False, True)]
    for call, grad_x, grad_y in cases:
        x, y = ag.tensor(a, dtype="float64", requires_grad=True), ag.tensor(b, dtype="float64", requires_grad=True)
        tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        got, want = call(ours, x, y), call(theirs, tx, ty)
        np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-14)
        got.sum().backward()
        want.sum().backward()
        for leaf, tleaf, used in ((x, tx, grad_x), (y, ty, grad_y)):
            if used:
                np.testing.assert_allclose(leaf.grad.numpy(), tleaf.grad.numpy(), rtol=1e-14)
            else:
                assert leaf.grad is None


def test_products_with_logarithms_promote_as_torch(torch):
    ints = ag.tensor([1, 2]), torch.tensor([1, 2])
    for ours, theirs in ((ag.xlogy(ints[0], ints[0]), torch.xlogy(ints[1], ints[1])),
                         (ag.xlogy(ints[0], 3.0), torch.xlogy(ints[1], 3.0)),
                         (ag.special.xlog1py(ag.tensor(2.0, dtype="float64"), ag.ones(2)),
                          torch.special.xlog1py(torch.tensor(2.0, dtype=torch.float64), torch.ones(2))),
                         (ag.xlogy(ag.ones(2, dtype="float16"), ag.ones(2, dtype="float16") * 3),
                          torch.xlogy(torch.ones(2, dtype=torch.float16), torch.ones(2, dtype=torch.float16) * 3))):
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-3)


@pytest.mark.parametrize("call, error, message", [
    (lambda: ag.xlogy(ag.ones(2, 3), ag.ones(4)), ValueError, r"^xlogy: cannot broadcast shapes \(2, 3\) and \(4,\)$"),
    (lambda: ag.special.xlog1py(ag.ones(2), ag.ones(3)), ValueError, r"^xlog1py: cannot broadcast shapes"),
    (lambda: ag.xlogy(2.0, 3.0), TypeError, r"^xlogy: expected at least one Tensor, got float and float$"),
    (lambda: ag.logit(ag.ones(2), eps="0.1"), TypeError, r"^logit: eps must be a float or None, not '0.1'$"),
    (lambda: ag.ones(2).logit(True), TypeError, r"^logit: eps must be a float or None, not True$"),
])
def test_bad_arguments_name_the_problem(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --- logit's eps ----------------------------------------------------------------------------
@pytest.mark.parametrize("eps", [None, 0.0, 1e-6, 0.2, -1.0, 0.5, 0.6])
def test_logit_clamps_by_eps_as_torch_and_its_gradient_is_0_where_the_clamp_is_flat(eps, torch):
    """eps clamps to [eps, 1 - eps] (one past 1/2 sends every x to a bound; a negative one is
    no eps); the gradient is NaN outside [0, 1] without eps, and 0 outside [eps, 1 - eps] with
    it, NaN at NaN (PyTorch's first-order kernel; its create_graph formula gives 0 there)."""
    points = [-0.5, 0.0, 1e-8, 0.2, 0.3, 0.5, 0.7, 0.8, 1.0, 1.5, nan]
    x = ag.tensor(points, dtype="float64", requires_grad=True)
    tx = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = ag.logit(x, eps)
        got.sum().backward()
    want = torch.logit(tx, eps)
    want.sum().backward()
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-15)


def test_logit_with_eps_in_float32_and_float16_clamps_in_that_dtype(torch):
    for dtype, eps in (("float32", 1e-6), ("float16", 1e-3)):
        got = ag.logit(ag.tensor([1e-7, 0.5, 1.0], dtype=dtype), eps=eps)
        want = torch.logit(torch.tensor([1e-7, 0.5, 1.0], dtype=getattr(torch, dtype)), eps=eps)
        assert str(got.dtype) == dtype
        np.testing.assert_allclose(got.numpy().astype(np.float64), want.double().numpy(), rtol=1e-7)


# --- dtypes, names --------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("name", sorted(UNARY))
def test_integers_and_bools_give_the_default_float_and_float16_stays(name, torch):
    """As in PyTorch (whose CPU ndtri, log_ndtr and erfcx refuse float16, computed here
    through float32 as the others are)."""
    ours, path, _ = UNARY[name]
    assert str(ours(ag.tensor([1, 2])).dtype) == str(_torch_function(torch, path)(torch.tensor([1, 2])).dtype)[6:]
    assert str(ours(ag.tensor([True, False])).dtype) == "float32"
    assert str(ours(ag.tensor([0.25], dtype="float16")).dtype) == "float16"


def test_the_names_torch_has_at_the_top_level_and_as_methods():
    x = ag.tensor([0.1, 0.25, 0.5], dtype="float64")
    for name in ("erfinv", "xlogy", "logit", "i0"):
        assert getattr(ag.special, name) is getattr(ag, name)
    assert np.array_equal(x.erfinv().numpy(), ag.erfinv(x).numpy())
    assert np.array_equal(x.xlogy(x * 2).numpy(), ag.xlogy(x, x * 2).numpy())
    assert np.array_equal(x.logit(0.2).numpy(), ag.logit(x, eps=0.2).numpy())
    assert np.array_equal(x.i0().numpy(), ag.i0(x).numpy())


def test_erfinv_is_on_the_cuda_autocast_float32_list(monkeypatch):
    """PyTorch's documented CUDA list runs erfinv in float32 (its CPU list leaves it alone)."""
    from autograd import autocast_mode
    half = ag.full((3,), 0.5, dtype="float16", device="cpu")  # (the "cpu" blocks cast CPU tensors only)
    with ag.autocast("cpu"):
        assert str(ag.erfinv(half).dtype) == "float16"
    monkeypatch.setitem(autocast_mode.POLICIES, "cpu", autocast_mode.POLICIES["cuda"])
    with ag.autocast("cpu"):
        assert str(ag.erfinv(half).dtype) == "float32"
