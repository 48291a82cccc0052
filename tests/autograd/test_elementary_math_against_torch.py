"""Edge cases of the elementary math ops (ops/trigonometric.py, exponential.py,
rounding.py, nonfinite.py, logical.py) against PyTorch: the dtypes of integer and
bool inputs, NaN, infinities and signed zeros, the gradients at the edges of a domain,
empty and 0-d tensors, integer division by zero, the operators, and bad arguments.
The op table (test_ops_table.py) checks values and first and second gradients on
smooth domains; this file checks what the table's smooth domains leave out."""
import math
from fractions import Fraction

import numpy as np
import pytest

import autograd as ag

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's invalid value / divide by zero

# (ag name, torch name): one-argument ops
UNARY = [("tan", "tan"), ("arcsin", "asin"), ("arccos", "acos"), ("arctan", "atan"), ("sinh", "sinh"),
         ("cosh", "cosh"), ("arcsinh", "asinh"), ("arccosh", "acosh"), ("arctanh", "atanh"), ("exp2", "exp2"),
         ("expm1", "expm1"), ("log2", "log2"), ("log10", "log10"), ("square", "square"),
         ("reciprocal", "reciprocal"), ("erf", "erf"), ("erfc", "erfc"), ("floor", "floor"), ("ceil", "ceil"),
         ("round", "round"), ("trunc", "trunc"), ("nan_to_num", "nan_to_num")]
# (ag name, torch name): two-argument ops with gradients (floor_divide's is PyTorch's div(rounding_mode="floor"))
BINARY = [("arctan2", "atan2"), ("logaddexp", "logaddexp"), ("hypot", "hypot"), ("fmod", "fmod"),
          ("remainder", "remainder")]

SPECIAL = [-math.inf, -1e300, -30.0, -2.5, -2.0, -1.0, -0.5, -1e-30, -0.0, 0.0, 1e-30, 0.5, 1.0, 1.5, 2.0, 2.5,
           30.0, 1e300, math.inf, math.nan]
# name: {point: the true gradient} where PyTorch 2.13's loses it (its x^2 overflows, its expm1 slope y + 1
# cancels) and ours does not (test_gradient_accuracy.py checks more points against mpmath)
TORCH_GRADIENT_IS_WRONG = {"arcsinh": {-1e300: 1e-300, 1e300: 1e-300}, "arccosh": {-1e300: 1e-300, 1e300: 1e-300},
                           "expm1": {-30.0: math.exp(-30.0)}}


def _check_same(ours, theirs, what, rtol=1e-12, signed_zeros=True):
    theirs = theirs.detach().numpy()
    ours = ours.numpy()
    assert ours.shape == theirs.shape, what
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=0, equal_nan=True, err_msg=what)
    if signed_zeros:  # (infinities' signs are checked above)
        both_zero = (ours == 0) & (theirs == 0)
        np.testing.assert_array_equal(np.signbit(ours[both_zero]), np.signbit(theirs[both_zero]), err_msg=what)


# --- dtypes -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name, torch_name", UNARY, ids=[u[0] for u in UNARY])
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_unary_dtype_of_integer_and_bool_inputs_matches_torch(name, torch_name, dtype, device, torch):
    values = [True, False, True] if dtype == "bool" else [3, -1, 0]
    x = ag.tensor(values, dtype=dtype)
    tx = torch.tensor(values, dtype=getattr(torch, dtype))
    try:
        want = getattr(torch, torch_name)(tx)
    except (RuntimeError, NotImplementedError):  # PyTorch refuses it (a floor of bools): so do we
        with pytest.raises(TypeError, match=f"^{name}: not defined for bool tensors"):
            getattr(ag, name)(x)
        return
    got = getattr(ag, name)(x)
    assert str(got.dtype) == str(want.dtype).replace("torch.", ""), f"{name} of {dtype}"
    _check_same(got.astype(ag.float64), want.double(), f"{name} of {dtype}", rtol=1e-6)


@pytest.mark.parametrize("name, torch_name", BINARY + [("floor_divide", "floor_divide")],
                         ids=[b[0] for b in BINARY] + ["floor_divide"])
def test_binary_dtype_of_integer_inputs(name, torch_name, device, torch):
    a, b = [7, -7, 7, -7, 0], [2, 2, -2, -2, 3]
    got = getattr(ag, name)(ag.tensor(a), ag.tensor(b))
    try:
        want = getattr(torch, torch_name)(torch.tensor(a), torch.tensor(b))
    except (RuntimeError, NotImplementedError):  # logaddexp, hypot: PyTorch refuses integers, NumPy lifts them
        assert got.dtype == ag.float32
        np.testing.assert_allclose(got.numpy(), getattr(np, name)(np.array(a, float), np.array(b, float)), rtol=1e-6)
        return
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_float_int_mixes_promote_as_torch(device, torch):
    i, f = ag.tensor([5, -5, 7]), ag.tensor([1.5, 2.0, -2.5])
    ti, tf = torch.tensor([5, -5, 7]), torch.tensor([1.5, 2.0, -2.5])
    for got, want in [(i % 1.5, ti % 1.5), (i // 2.0, ti // 2.0), (ag.fmod(i, f), torch.fmod(ti, tf)),
                      (7 % i, 7 % ti), (7.5 // i, 7.5 // ti), (ag.arctan2(i, f), torch.atan2(ti, tf))]:
        assert str(got.dtype) == str(want.dtype).replace("torch.", "")
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


# --- values and gradients at NaN, infinities, zeros and the edges of domains --------------------
@pytest.mark.parametrize("name, torch_name", UNARY, ids=[u[0] for u in UNARY])
def test_unary_values_and_gradients_at_special_points_match_torch(name, torch_name, device, torch):
    x = ag.tensor(SPECIAL, dtype="float64", requires_grad=True)
    tx = torch.tensor(SPECIAL, dtype=torch.float64, requires_grad=True)
    y, ty = getattr(ag, name)(x), getattr(torch, torch_name)(tx)
    _check_same(y, ty, f"{name} values")
    y.sum().backward()
    ty.sum().backward()
    want = tx.grad.clone()
    for point, gradient in TORCH_GRADIENT_IS_WRONG.get(name, {}).items():
        want[SPECIAL.index(point)] = gradient
    _check_same(x.grad, want, f"{name} gradients")


@pytest.mark.parametrize("name, torch_name", BINARY, ids=[b[0] for b in BINARY])
def test_binary_values_and_gradients_at_special_points_match_torch(name, torch_name, device, torch):
    points = [-math.inf, -3.0, -1.5, -0.0, 0.0, 1.5, 3.0, 1e300, math.inf, math.nan]
    a, b = np.meshgrid(points, points, indexing="ij")
    x, y = (ag.tensor(v.ravel(), dtype="float64", requires_grad=True) for v in (a, b))
    tx, ty = (torch.tensor(v.ravel(), dtype=torch.float64, requires_grad=True) for v in (a, b))
    out, tout = getattr(ag, name)(x, y), getattr(torch, torch_name)(tx, ty)
    # A zero remainder takes the divisor's sign, as in NumPy, Python and the Array API; PyTorch's
    # takes the dividend's.
    _check_same(out, tout, f"{name} values", signed_zeros=name != "remainder")
    out.sum().backward()
    tout.sum().backward()
    want_a, want_b = tx.grad.clone(), ty.grad.clone()
    if name == "arctan2":  # PyTorch's a^2 + b^2 overflows beside 1e300: the exact (b, -a) / (a^2 + b^2) there
        for i, (p, q) in enumerate(zip(a.ravel(), b.ravel())):
            if 1e300 in (abs(p), abs(q)) and math.isfinite(p) and math.isfinite(q):
                squares = Fraction(p) ** 2 + Fraction(q) ** 2
                for want, exact in ((want_a, Fraction(q) / squares), (want_b, -Fraction(p) / squares)):
                    if exact:  # (PyTorch's signed zeros are right)
                        want[i] = float(exact)
    if name == "hypot":  # PyTorch's a / hypot is inf / inf at (+-inf, finite): the limit there is sign(a)
        for want, own, other in ((want_a, a.ravel(), b.ravel()), (want_b, b.ravel(), a.ravel())):
            limit = np.isinf(own) & np.isfinite(other)
            want[torch.from_numpy(limit)] = torch.from_numpy(np.sign(own[limit]))
    _check_same(x.grad, want_a, f"{name} gradient of a")
    _check_same(y.grad, want_b, f"{name} gradient of b")


def test_floor_divide_matches_torch_values_with_a_zero_gradient(device, torch):
    points = [-math.inf, -3.0, -1.5, -0.0, 0.0, 1.5, 3.0, math.inf, math.nan]
    a, b = (v.ravel() for v in np.meshgrid(points, points, indexing="ij"))
    x, y = ag.tensor(a, dtype="float64", requires_grad=True), ag.tensor(b, dtype="float64", requires_grad=True)
    out = x // y
    _check_same(out, torch.floor_divide(torch.tensor(a), torch.tensor(b)), "floor_divide values")
    out.sum().backward()
    assert np.all(x.grad.numpy() == 0) and np.all(y.grad.numpy() == 0)


def test_gradients_at_the_edges_of_domains():
    """As PyTorch's (checked against it above): infinite where the derivative blows up."""
    x = ag.tensor([-1.0, 1.0], dtype="float64", requires_grad=True)
    for fn, want in [(ag.arccos, [-np.inf, -np.inf]), (ag.arcsin, [np.inf, np.inf]), (ag.arctanh, [np.inf, np.inf])]:
        (g,) = ag.grad(fn(x).sum(), [x])
        np.testing.assert_array_equal(g.numpy(), want)
    one = ag.tensor([1.0], dtype="float64", requires_grad=True)
    (g,) = ag.grad(ag.arccosh(one).sum(), [one])
    assert g.item() == np.inf



@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, torch_name, points", [
    ("arcsin", "asin", [-1.0, 1.0, -0.5, 0.9]), ("arccos", "acos", [-1.0, 1.0, 0.25]),
    ("arctanh", "atanh", [-1.0, 1.0, -0.75]), ("arccosh", "acosh", [1.0, -1.0, 1.5, 3.0, -2.0])])
def test_second_derivatives_at_the_edges_of_domains_match_torch(name, torch_name, points, dtype, device, torch):
    """The second derivatives blow up at the domain's edge as the first do: arcsin's
    x / (1 - x^2)^(3/2) is +-inf at +-1, as PyTorch's. They were NaN: the slope's
    1 - x^2 was differentiated as the product (1 - x)(1 + x), whose factor 0 met the inf
    coming back (inf * 0), and arccosh's sqrt(|x| - 1) sqrt(|x| + 1) likewise. (Points
    near the edges, where PyTorch's slopes cancel, are test_gradient_accuracy.py's.)"""
    x = ag.tensor(points, dtype=dtype, requires_grad=True)
    t = torch.tensor(points, dtype=getattr(torch, dtype), requires_grad=True)
    (g,) = ag.grad(getattr(ag, name)(x).sum(), [x], create_graph=True)
    (gt,) = torch.autograd.grad(getattr(torch, torch_name)(t).sum(), [t], create_graph=True)
    (gg,) = ag.grad(g.sum(), [x])
    (ggt,) = torch.autograd.grad(gt.sum(), [t])
    rtol = 1e-12 if dtype == "float64" else 1e-5
    _check_same(g, gt, f"{name} gradient", rtol=rtol)
    _check_same(gg, ggt, f"{name} second derivative", rtol=rtol)

def test_arctan2_gradient_at_the_origin_is_zero_not_nan():
    # (1e-200, 0) is no origin: its gradient, (0, -1e200), is in test_gradient_accuracy.py
    a = ag.tensor([0.0, 0.0], dtype="float64", requires_grad=True)
    b = ag.tensor([0.0, -0.0], dtype="float64", requires_grad=True)
    ag.arctan2(a, b).sum().backward()
    assert np.all(a.grad.numpy() == 0) and np.all(b.grad.numpy() == 0)


def test_logaddexp_is_stable_where_the_naive_form_overflows(device):
    a = ag.tensor([1000.0, -1000.0, 0.0, -math.inf], dtype="float64", requires_grad=True)
    b = ag.tensor([1000.0, -1000.0, -800.0, 5.0], dtype="float64", requires_grad=True)
    y = ag.logaddexp(a, b)
    np.testing.assert_allclose(y.numpy(), [1000 + math.log(2), -1000 + math.log(2), 0.0, 5.0], rtol=1e-15)
    y.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [0.5, 0.5, 1.0, 0.0], rtol=1e-15)
    np.testing.assert_allclose(b.grad.numpy(), [0.5, 0.5, 0.0, 1.0], atol=1e-300)


def test_hypot_does_not_overflow_or_underflow(device):
    got = ag.hypot(ag.tensor([3e200, 3e-200], dtype="float64"), ag.tensor([4e200, 4e-200], dtype="float64"))
    np.testing.assert_allclose(got.numpy(), [5e200, 5e-200], rtol=1e-15)


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-14), ("float32", 2e-6)])
def test_erfc_keeps_its_precision_where_one_minus_erf_cancels(dtype, rtol, device):
    points = [0.3, 1.0, 3.0, 5.0, 6.5, 9.0] + ([15.0, 26.0] if dtype == "float64" else [])
    got = ag.erfc(ag.tensor(points, dtype=dtype)).numpy()
    want = np.array([math.erfc(p) for p in points])
    np.testing.assert_allclose(got, want, rtol=rtol)
    assert (1 - ag.erf(ag.tensor([9.0], dtype=dtype))).item() == 0  # the difference erfc avoids
    np.testing.assert_allclose(ag.erfc(ag.tensor([-3.0, -30.0, 30.0, math.inf], dtype=dtype)).numpy(),
                               [math.erfc(-3.0), 2.0, 0.0, 0.0], rtol=rtol)


def test_erf_and_erfc_in_float16_go_through_float32(torch):
    """Cody's rational functions overflow float16 from |x| = 2.5 (NaN); PyTorch computes
    half precision in float32, and so do these (as does gelu, which takes erf)."""
    values = [-6.0, -3.0, -0.3, 0.0, 0.3, 1.0, 2.5, 3.0, 5.0, 12.0]
    for name in ["erf", "erfc"]:
        got = getattr(ag, name)(ag.tensor(values, dtype="float16"))
        want = getattr(torch, name)(torch.tensor(values, dtype=torch.float16))
        assert got.dtype == ag.float16
        np.testing.assert_array_equal(got.numpy(), want.numpy(), err_msg=name)


def test_fmod_is_exact_where_a_remainder_shifted_by_the_divisor_is_not(device):
    """fmod on the strict device is composed from the standard's remainder: on magnitudes,
    not as remainder(a, b) - b, which rounds 1 - 1e-20 to 1 and gives 0 for -1e-20."""
    a = ag.tensor([-1e-20, 1e-20, -0.0, 5.5, -5.5, 5.5, -5.5, 1.0], dtype="float64")
    b = ag.tensor([1.0, -1.0, 2.0, 2.0, 2.0, -2.0, -2.0, math.inf], dtype="float64")
    got = ag.fmod(a, b).numpy()
    want = np.fmod(a.numpy(), b.numpy())
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    ints = ag.fmod(ag.tensor([-7, 7, -7, 7, 0]), ag.tensor([2, 2, -2, -2, -3]))
    np.testing.assert_array_equal(ints.numpy(), [-1, 1, -1, 1, 0])


@pytest.mark.parametrize("name", ["fmod", "remainder", "floor_divide"])
def test_integer_division_by_zero_raises(name, device):
    with pytest.raises(ZeroDivisionError, match=f"^{name}: integer division by zero$"):
        getattr(ag, name)(ag.tensor([4, 5]), ag.tensor([2, 0]))
    with pytest.raises(ZeroDivisionError):
        getattr(ag, name)(ag.tensor([4, 5]), 0)
    assert np.isnan(getattr(ag, name)(ag.tensor([0.0]), 0.0).item())  # floats: NaN, as everywhere


@pytest.mark.parametrize("name", ["fmod", "remainder", "floor_divide", "divmod"])
def test_integer_division_by_zero_into_an_empty_result_divides_nothing_as_torch(name, device, torch):
    """A zero divisor that meets no dividend (the broadcast result is empty) divides nothing,
    so there is nothing to refuse: PyTorch gives the empty result; this raised."""
    for a, b in [(np.zeros(0, np.int64), 0), (np.zeros((0, 3), np.int64), np.array([1, 0, 2])),
                 (np.zeros((2, 0), np.int32), np.array([[0], [3]], np.int32))]:
        got = getattr(ag, name)(ag.tensor(a), b if np.isscalar(b) else ag.tensor(b))
        if name == "divmod":
            theirs = (torch.floor_divide(torch.tensor(a), torch.tensor(b)), torch.remainder(torch.tensor(a), torch.tensor(b)))
        else:
            theirs = (getattr(torch, name)(torch.tensor(a), b if np.isscalar(b) else torch.tensor(b)),)
        for ours, ref in zip(got if name == "divmod" else (got,), theirs):
            assert ours.shape == tuple(ref.shape) and str(ours.dtype) == str(ref.dtype).replace("torch.", "")
    with pytest.raises(ZeroDivisionError):  # a zero that meets a dividend still raises
        getattr(ag, name)(ag.tensor(np.zeros((2, 3), np.int64)), ag.tensor(np.array([1, 0, 2])))


def test_round_halves_to_even_and_decimals_match_torch(device, torch):
    values = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 1.25, 0.125, 1234.5, 1250.0, -0.0]
    x, tx = ag.tensor(values, dtype="float64"), torch.tensor(values, dtype=torch.float64)
    for decimals in (0, 1, 2, -1, -2):
        _check_same(ag.round(x, decimals), torch.round(tx, decimals=decimals), f"decimals={decimals}")
    assert ag.round(ag.tensor([15, 25]), 2).tolist() == [15, 25]  # integers are round already


@pytest.mark.parametrize("decimals", [1, 2, 3, 5, 10, -1, -2, -5, -38])
def test_round_float16_with_decimals_matches_torch(torch, decimals):
    """float16 was scaled in float16: 10^5 overflows there (NaN everywhere from decimals=5
    or -5), and x * 10^decimals rounds (25 to 3 decimals gave 24.98, 1.35 to one 1.4).
    PyTorch scales in float32, rounding once."""
    values = [0.5, 1.35, 2.675, 25.0, -123.4, 0.05, 65504.0, -0.0, math.inf, math.nan]
    x = ag.tensor(values, dtype="float16", requires_grad=True)
    y = ag.round(x, decimals)
    _same(y.detach(), torch.round(torch.tensor(values, dtype=torch.float16), decimals=decimals))
    y.sum().backward()
    assert x.grad.dtype == ag.float16 and not x.grad.numpy().any()


def test_nan_to_num_replacements_and_gradient_match_torch(device, torch):
    values = [math.nan, math.inf, -math.inf, 2.0, -0.0]
    for kwargs in [{}, dict(nan=1.5), dict(nan=-1.0, posinf=9.0, neginf=-9.0), dict(posinf=1e300)]:
        for dtype in ["float32", "float64"]:
            x = ag.tensor(values, dtype=dtype, requires_grad=True)
            tx = torch.tensor(values, dtype=getattr(torch, dtype), requires_grad=True)
            y, ty = x.nan_to_num(**kwargs), torch.nan_to_num(tx, **kwargs)
            assert y.dtype == getattr(ag, dtype)
            _check_same(y.astype("float64"), ty.double(), f"{kwargs} {dtype}")
            y.sum().backward()
            ty.sum().backward()
            _check_same(x.grad.astype("float64"), tx.grad.double(), f"{kwargs} {dtype} gradient")
    ints = ag.tensor([3, -4])
    assert ag.nan_to_num(ints).tolist() == [3, -4] and ag.nan_to_num(ints).dtype == ag.int64


def test_classifications(device, torch):
    values = [math.nan, math.inf, -math.inf, 0.0, -1.5]
    x = ag.tensor(values, dtype="float64", requires_grad=True)
    tx = torch.tensor(values, dtype=torch.float64)
    for name in ["isnan", "isinf", "isfinite"]:
        got = getattr(ag, name)(x)
        assert got.dtype == ag.bool and not got.requires_grad and got.grad_fn is None
        assert got.tolist() == getattr(torch, name)(tx).tolist()
        assert getattr(x, name)().tolist() == got.tolist()
        for ints in (ag.tensor([1, 2]), ag.tensor([True, False])):
            assert getattr(ag, name)(ints).tolist() == [name == "isfinite"] * 2


# --- logical ops and the operators ------------------------------------------------------------
def test_logical_ops_take_truth_values_of_any_dtype(device, torch):
    a_values, b_values = [0.0, 1.5, math.nan, -0.0, 2.0], [3, 0, 0, 1, 0]
    a, b = ag.tensor(a_values, dtype="float64"), ag.tensor(b_values)
    ta, tb = torch.tensor(a_values, dtype=torch.float64), torch.tensor(b_values)
    for name in ["logical_and", "logical_or", "logical_xor"]:
        got = getattr(ag, name)(a, b)
        assert got.dtype == ag.bool and got.tolist() == getattr(torch, name)(ta, tb).tolist()
        assert getattr(a, name)(b).tolist() == got.tolist()
        assert getattr(ag, name)(a, True).tolist() == getattr(torch, name)(ta, torch.tensor(True)).tolist()
    assert ag.logical_not(a).tolist() == torch.logical_not(ta).tolist() == a.logical_not().tolist()
    # no promotion first: a 0-d float64 1e-50 beside a float32 tensor is still true
    assert ag.logical_and(ag.tensor([1.0]), ag.tensor(1e-50, dtype="float64")).tolist() == [True]


def test_logical_ops_broadcast_and_refuse_bad_shapes(device):
    got = ag.logical_or(ag.tensor([[True], [False]]), ag.tensor([False, True, False]))
    assert got.tolist() == [[True, True, True], [False, True, False]]
    with pytest.raises(ValueError, match="logical_and"):
        ag.logical_and(ag.tensor([True, False]), ag.tensor([True, False, True]))
    with pytest.raises(TypeError, match="logical_xor: expected at least one Tensor"):
        ag.logical_xor(True, False)


def test_operators_match_torch(device, torch):
    m, n = [True, False, True, False], [True, True, False, False]
    i, j = [6, -7, 0, 12], [3, 2, -5, 10]
    tm, tn, ti, tj = (torch.tensor(v) for v in (m, n, i, j))
    am, an, ai, aj = (ag.tensor(v) for v in (m, n, i, j))
    cases = [(am & an, tm & tn), (am | an, tm | tn), (am ^ an, tm ^ tn), (~am, ~tm),
             (ai & aj, ti & tj), (ai | aj, ti | tj), (ai ^ aj, ti ^ tj), (~ai, ~ti),
             (am & ai, tm & ti), (True & am, True & tm), (5 | ai, 5 | ti), (ai ^ 3, ti ^ 3),
             (ai % aj, ti % tj), (ai // aj, ti // tj), (-7 % aj, -7 % tj), (20 // aj, 20 // tj)]
    for got, want in cases:
        assert str(got.dtype) == str(want.dtype).replace("torch.", "")
        assert got.tolist() == want.tolist()


def test_in_place_operators_change_the_tensor_itself(device, torch):
    x = ag.tensor([7.5, -7.5, 3.0])
    alias = x
    x %= 2
    assert alias is x and x.tolist() == [1.5, 0.5, 1.0]
    x //= 0.5
    assert alias is x and x.tolist() == [3.0, 1.0, 2.0]
    mask = ag.tensor([True, False, True])
    other = mask
    mask &= ag.tensor([True, True, False])
    mask |= ag.tensor([False, True, False])
    mask ^= ag.tensor([True, False, False])
    assert other is mask and mask.tolist() == [False, True, False]
    with pytest.raises(TypeError, match="remainder_: the result is floating point but the tensor is int64"):
        ints = ag.tensor([1, 2])
        ints %= 1.5
    with pytest.raises(TypeError, match="bitwise_and_"):
        mask &= ag.tensor([1, 2, 3])


def test_in_place_remainder_is_differentiable(torch):
    w = ag.tensor([5.5, -2.0], dtype="float64", requires_grad=True)
    y = w * 1
    y %= ag.tensor([2.0, 3.0], dtype="float64")
    y.sum().backward()
    assert w.grad.tolist() == [1.0, 1.0]


def test_bitwise_operators_refuse_floats(device):
    with pytest.raises(TypeError, match=r"^bitwise_and \(&\): not defined for floating tensors .*ag.logical_and"):
        ag.tensor([1.0]) & ag.tensor([1.0])
    with pytest.raises(TypeError, match=r"^bitwise_invert \(~\): .*ag.logical_not"):
        ~ag.tensor([1.0])


# --- shapes: empty, 0-d, broadcasting -------------------------------------------------------------
@pytest.mark.parametrize("name", [u[0] for u in UNARY] + ["isnan", "isinf", "isfinite", "logical_not"])
@pytest.mark.parametrize("shape", [(0,), (2, 0), ()])
def test_unary_empty_and_0d(name, shape, device):
    x = ag.tensor(np.full(shape, 0.25), dtype="float64", requires_grad=True)
    y = getattr(ag, name)(x)
    assert y.shape == shape
    if y.requires_grad:
        y.sum().backward()
        assert x.grad.shape == shape


@pytest.mark.parametrize("name", [b[0] for b in BINARY] + ["floor_divide"])
def test_binary_broadcasts_and_names_itself_in_shape_errors(name, device):
    a = ag.tensor(np.full((2, 1, 3), 1.5), dtype="float64", requires_grad=True)
    b = ag.tensor(np.full((4, 1), 0.75), dtype="float64", requires_grad=True)
    y = getattr(ag, name)(a, b)
    assert y.shape == (2, 4, 3)
    y.sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    with pytest.raises(ValueError, match=name):
        getattr(ag, name)(ag.ones(2, 3), ag.ones(4))
    empty = getattr(ag, name)(ag.ones(0, 3), ag.ones(3))
    assert empty.shape == (0, 3)


# --- names, methods and bad arguments --------------------------------------------------------------
def test_array_api_names_are_the_same_functions():
    for short, long in [("asin", "arcsin"), ("acos", "arccos"), ("atan", "arctan"), ("atan2", "arctan2"),
                        ("asinh", "arcsinh"), ("acosh", "arccosh"), ("atanh", "arctanh")]:
        assert getattr(ag, short) is getattr(ag, long)
        assert getattr(ag.Tensor, short) is getattr(ag.Tensor, long)


def test_methods_mirror_the_functions():
    x = ag.tensor([0.3, -0.6], dtype="float64")
    for name in ["tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arctanh", "exp2", "expm1",
                 "log1p", "square", "reciprocal", "erf", "erfc", "floor", "ceil", "round", "trunc", "nan_to_num"]:
        assert getattr(x, name)().tolist() == getattr(ag, name)(x).tolist(), name
    for name in ["arctan2", "logaddexp", "hypot", "fmod", "remainder", "floor_divide"]:
        assert getattr(x, name)(0.7).tolist() == getattr(ag, name)(x, 0.7).tolist(), name
    assert (x.abs() + 1).log2().tolist() == ag.log2(x.abs() + 1).tolist()
    assert (x.abs() + 1).arccosh().tolist() == ag.arccosh(x.abs() + 1).tolist()


def test_step_functions_have_zero_gradients_even_through_a_second_derivative():
    x = ag.tensor([0.3, -1.7, 2.5], dtype="float64", requires_grad=True)
    for fn in [ag.floor, ag.ceil, ag.trunc, ag.round, lambda v: ag.round(v, 1), lambda v: v // 0.7]:
        (g,) = ag.grad((fn(x) * x).sum(), [x], create_graph=True)
        np.testing.assert_array_equal(g.numpy(), fn(x).numpy())  # d(step(x) * x) = step(x)


@pytest.mark.parametrize("call, error, message", [
    (lambda: ag.round(ag.ones(2), 1.5), TypeError, r"^round: decimals must be an int, not 1.5$"),
    (lambda: ag.round(ag.ones(2), True), TypeError, "round: decimals must be an int"),
    (lambda: ag.round(ag.tensor([15]), -1), TypeError, "round: decimals < 0 needs a floating tensor"),
    (lambda: ag.floor(ag.tensor([True])), TypeError, "^floor: not defined for bool tensors"),
    (lambda: ag.fmod(ag.tensor([True]), ag.tensor([True])), TypeError, "^fmod: not defined for bool tensors"),
    (lambda: ag.nan_to_num(ag.ones(2), nan="zero"), TypeError, "^nan_to_num: nan must be a number"),
    (lambda: ag.nan_to_num(ag.ones(2), posinf=True), TypeError, "^nan_to_num: posinf must be a number"),
    (lambda: ag.arctan2(1.0, 2.0), TypeError, "^arctan2: expected at least one Tensor"),
])
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


def _same(got, want):
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    np.testing.assert_array_equal(got.numpy(), want.numpy())


# --- round with a scale past float64's range --------------------------------------------------

@pytest.mark.parametrize("decimals", [309, 400, -309, -400])
def test_round_with_decimals_past_float64_range_gives_nan_as_torch(device, torch, decimals):
    """10.0 ** 309 overflows Python's float: round raised a bare OverflowError, where NumPy
    and PyTorch give NaN everywhere (their scale is inf)."""
    values = np.array([1.5, -2.25, 0.0, 1e300])
    x = ag.tensor(values, requires_grad=True)
    y = ag.round(x, decimals)
    _same(y.detach(), torch.round(torch.tensor(values), decimals=decimals))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(4))
