"""Keyword arguments that PyTorch's tensor functions take and ported training code passes
(``div(rounding_mode=)``, ``cumsum(dtype=)``...), checked against PyTorch: values, dtypes,
gradients, and the errors for what PyTorch refuses too."""
import numpy as np
import pytest

import autograd as ag
from tests.torch_versions import with_torch_marks


def same_dtype(ours, ref):
    return str(ours.dtype) == str(ref.dtype).replace("torch.", "")


# --- div(rounding_mode=) ------------------------------------------------------------------------
DIVIDENDS = [7, -7, 6, -6, 0, 5, -5, 9]
DIVISORS = [2, 2, -3, -3, 4, -2, -2, 3]


@pytest.mark.parametrize("dtype", ["int64", "int32", "int8", "float32", "float64"])
@pytest.mark.parametrize("mode", [None, "trunc", "floor"])
def test_div_rounding_mode_is_pytorchs(device, torch, dtype, mode):
    """Integers stay integers under "trunc" (C's division, toward zero) and "floor" (``//``),
    and become the default float without a rounding mode, as in PyTorch."""
    a0, b0 = np.array(DIVIDENDS, dtype=dtype), np.array(DIVISORS, dtype=dtype)
    y = ag.div(ag.tensor(a0), ag.tensor(b0), rounding_mode=mode)
    ref = torch.div(torch.tensor(a0), torch.tensor(b0), rounding_mode=mode)
    assert same_dtype(y, ref)
    np.testing.assert_array_equal(y.numpy(), ref.numpy())
    # a Python number on either side, as PyTorch takes it
    assert np.array_equal(ag.divide(ag.tensor(a0), 2, rounding_mode=mode).numpy(),
                          torch.div(torch.tensor(a0), 2, rounding_mode=mode).numpy())


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy warns at the divisions by 0
@pytest.mark.parametrize("mode", ["trunc", "floor"])
def test_div_rounding_mode_of_floats_at_the_edges_and_its_zero_gradient(device, torch, mode):
    a0 = np.array([7.5, -7.5, 1e300, -0.5, 1.0, -1.0, 0.0, np.inf, np.nan, 3.0])
    b0 = np.array([2.0, 2.0, 1e-300, 4.0, 0.0, 0.0, 0.0, 2.0, 1.0, np.inf])
    a, b = ag.tensor(a0, requires_grad=True), ag.tensor(b0, requires_grad=True)
    at, bt = torch.tensor(a0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    y, yt = ag.div(a, b, rounding_mode=mode), torch.div(at, bt, rounding_mode=mode)
    np.testing.assert_array_equal(y.numpy(), yt.detach().numpy())  # NaN, inf and -0.0 where PyTorch's are
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), at.grad.numpy())
    np.testing.assert_array_equal(b.grad.numpy(), bt.grad.numpy())


def test_div_without_a_rounding_mode_is_true_division_with_its_gradient(device):
    a = ag.tensor([1.5, -2.0, 3.0], dtype=ag.float64, requires_grad=True)
    b = ag.tensor([0.5, 4.0, -3.0], dtype=ag.float64, requires_grad=True)
    assert ag.gradgradcheck(lambda x, z: ag.div(x, z, rounding_mode=None), [a, b])
    np.testing.assert_array_equal(ag.divide(a, b).numpy(), (a / b).numpy())


def test_div_refuses_an_unknown_rounding_mode_and_an_integer_zero_divisor(device, torch):
    x = ag.tensor([4, 6])
    with pytest.raises(ValueError, match=r"div: rounding_mode must be None, 'trunc' or 'floor', not 'round'"):
        ag.div(x, 2, rounding_mode="round")
    with pytest.raises(RuntimeError):
        torch.div(torch.tensor([4, 6]), 2, rounding_mode="round")
    for mode in ("trunc", "floor"):
        with pytest.raises(ZeroDivisionError, match="div: integer division by zero"):
            ag.div(x, ag.tensor([1, 0]), rounding_mode=mode)
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            torch.div(torch.tensor([4, 6]), torch.tensor([1, 0]), rounding_mode=mode)


@pytest.mark.parametrize("mode", [None, "trunc", "floor"])
def test_div_in_place_takes_a_rounding_mode(device, torch, mode):
    """``x.div_(y, rounding_mode=)``: an integer tensor may be divided in place with a
    rounding mode (the result is an integer), not without one (it would be a float)."""
    f0 = np.array([7.5, -7.5, 3.0])
    x, xt = ag.tensor(f0), torch.tensor(f0)
    assert x.div_(2, rounding_mode=mode) is x
    xt.div_(2, rounding_mode=mode)
    np.testing.assert_array_equal(x.numpy(), xt.numpy())
    i0 = np.array(DIVIDENDS)
    x, xt = ag.tensor(i0), torch.tensor(i0)
    if mode is None:
        with pytest.raises(TypeError, match="div_: the result is floating point but the tensor is int64"):
            x.div_(ag.tensor(DIVISORS))
        with pytest.raises(RuntimeError):
            xt.div_(torch.tensor(DIVISORS))
        np.testing.assert_array_equal(x.numpy(), i0)  # left as it was
        return
    x.div_(ag.tensor(DIVISORS), rounding_mode=mode)
    xt.div_(torch.tensor(DIVISORS), rounding_mode=mode)
    assert same_dtype(x, xt)
    np.testing.assert_array_equal(x.numpy(), xt.numpy())
    with pytest.raises(TypeError, match="div_: the result is floating point but the tensor is int64"):
        x.div_(2.5, rounding_mode=mode)  # a float divisor makes a float, as in PyTorch
    with pytest.raises(RuntimeError):
        xt.div_(2.5, rounding_mode=mode)


def test_div_in_place_with_a_rounding_mode_refuses_a_bad_mode_before_any_change(device):
    x = ag.tensor([7.0, -7.0])
    version = x._version
    with pytest.raises(ValueError, match="rounding_mode must be None, 'trunc' or 'floor'"):
        x.div_(2, rounding_mode="ceil")
    assert x._version == version
    np.testing.assert_array_equal(x.numpy(), [7.0, -7.0])


def test_div_in_place_with_a_rounding_mode_records_a_zero_gradient(device, torch):
    w = ag.tensor([7.5, -7.5], dtype=ag.float64, requires_grad=True)
    wt = torch.tensor([7.5, -7.5], dtype=torch.float64, requires_grad=True)
    y, yt = w * 3, wt * 3
    y.div_(2, rounding_mode="floor")
    yt.div_(2, rounding_mode="floor")
    (y * y).sum().backward()
    (yt * yt).sum().backward()
    np.testing.assert_array_equal(y.numpy(), yt.detach().numpy())
    np.testing.assert_array_equal(w.grad.numpy(), wt.grad.numpy())


# --- cumsum(dtype=), cumprod(dtype=) -------------------------------------------------------------
@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
@pytest.mark.parametrize("source, dtype", [("float32", "float64"), ("int8", "int8"), ("int32", "int16"),
                                           ("bool", "int32"), ("int64", "float32"), ("float16", "float32"),
                                           ("float64", "float16")])
def test_a_scan_in_a_dtype_is_pytorchs(device, torch, name, source, dtype):
    """dtype= (PyTorch's and NumPy's): the input cast first and the running sums or
    products in that dtype, an int8 one wrapping around as there."""
    if device == "strict" and "float16" in (source, dtype):
        pytest.skip("the Array API standard has no float16")
    x0 = (np.arange(1, 13).reshape(3, 4) * 47 % 13).astype(source)
    for axis in (0, 1, -1):
        y = getattr(ag, name)(ag.tensor(x0), axis, dtype=getattr(ag, dtype))
        ref = getattr(torch, name)(torch.tensor(x0), axis, dtype=getattr(torch, dtype))
        assert same_dtype(y, ref)
        np.testing.assert_allclose(y.numpy().astype(np.float64), ref.numpy().astype(np.float64), rtol=1e-6)
        method = getattr(ag.tensor(x0), name)(axis, dtype=getattr(ag, dtype))
        np.testing.assert_array_equal(method.numpy(), y.numpy())


def test_a_scan_in_a_dtype_differentiates_and_refuses_what_pytorch_refuses(device, torch):
    x = ag.tensor([1.5, 2.5, -1.0], dtype=ag.float64, requires_grad=True)
    assert ag.gradgradcheck(lambda t: ag.cumsum(t * t, dtype=ag.float64) * ag.cumprod(t, 0, dtype=ag.float64), [x])
    wide = ag.tensor([1.5, 2.5, -1.0], requires_grad=True)  # float32, scanned in float64
    wide_t = torch.tensor([1.5, 2.5, -1.0], requires_grad=True)
    g, = ag.grad((wide.cumprod(0, dtype=ag.float64) + wide.cumsum(0, dtype=ag.float64)).sum(), wide)
    (wide_t.cumprod(0, dtype=torch.float64) + wide_t.cumsum(0, dtype=torch.float64)).sum().backward()
    assert g.dtype == ag.float32
    np.testing.assert_allclose(g.numpy(), wide_t.grad.numpy(), rtol=1e-6)
    with pytest.raises(TypeError, match="cumsum: dtype=int64 is not floating, so the result would have no gradient"):
        x.cumsum(0, dtype=ag.int64)
    with pytest.raises(RuntimeError):
        torch.tensor([1.5], requires_grad=True).cumsum(0, dtype=torch.int64)


@pytest.mark.parametrize("name, identity", [("cumulative_sum", 0), ("cumulative_prod", 1)])
def test_the_array_apis_cumulative_sum_and_prod_take_its_dtype(device, name, identity):
    x0 = np.array([100, 27, 3], dtype=np.int8)
    y = getattr(ag, name)(ag.tensor(x0), dtype=ag.int16, include_initial=True)
    ref = getattr(np, name)(x0, dtype=np.int16, include_initial=True)
    assert y.dtype == ag.int16
    np.testing.assert_array_equal(y.numpy(), ref)
    assert y.numpy()[0] == identity


# --- var(unbiased=), std(unbiased=) ----------------------------------------------------------
@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize("unbiased", [True, False])
def test_var_and_std_take_pytorchs_unbiased(device, torch, name, unbiased):
    """PyTorch's older spelling of correction: unbiased=True is correction=1, False 0."""
    x0 = np.random.default_rng(3).standard_normal((3, 5))
    for axis, keepdims in ((None, False), (1, False), (0, True)):
        x, xt = ag.tensor(x0, dtype=ag.float64, requires_grad=True), torch.tensor(x0, requires_grad=True)
        y = getattr(ag, name)(x, axis, keepdims=keepdims, unbiased=unbiased)
        kw = {} if axis is None else {"dim": axis, "keepdim": keepdims}
        yt = getattr(torch, name)(xt, unbiased=unbiased, **kw)
        np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12)
        y.sum().backward()
        yt.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-10)
        method = getattr(x, name)(axis, keepdims=keepdims, unbiased=unbiased)
        np.testing.assert_array_equal(method.numpy(), y.numpy())


@pytest.mark.parametrize("name", ["var", "std"])
def test_unbiased_with_another_name_for_it_or_not_a_bool_is_refused(device, name):
    x = ag.tensor([1.0, 2.0, 4.0])
    with pytest.raises(ValueError, match=f"{name}: unbiased=True and correction=1 are two names for one thing"):
        getattr(x, name)(unbiased=True, correction=1)
    with pytest.raises(ValueError, match=f"{name}: unbiased=False and ddof=1 are two names for one thing"):
        getattr(ag, name)(x, ddof=1, unbiased=False)
    with pytest.raises(TypeError, match=f"{name}: unbiased must be True or False, not 'yes'"):
        getattr(x, name)(unbiased="yes")


# --- nansum(dtype=), nanmean(dtype=) -------------------------------------------------------------
_INTEGER_NANSUM = ("2.13", "nansum sums into an integer dtype from 2.13 on (2.11: 'not implemented for Long')")


@pytest.mark.parametrize("dtype", with_torch_marks(["int64", "int8", "float64", "float32"],
                                                   {"int64": _INTEGER_NANSUM, "int8": _INTEGER_NANSUM}))
def test_nansum_in_a_dtype_is_pytorchs(device, torch, dtype):
    """The NaNs count as 0 first, then the sum in that dtype (each value cast first, as
    sum's dtype=): 1.5 + 2.5 in int64 is 3, as PyTorch's."""
    x0 = np.array([[1.5, np.nan, 2.5], [np.nan, -4.25, 7.0]], dtype=np.float32)
    for axis in (None, 1):
        y = ag.nansum(ag.tensor(x0), axis, dtype=getattr(ag, dtype))
        kw = {} if axis is None else {"dim": axis}
        ref = torch.nansum(torch.tensor(x0), dtype=getattr(torch, dtype), **kw)
        assert same_dtype(y, ref)
        np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-6)


def test_nanmean_in_a_dtype_is_pytorchs_and_differentiates(device, torch):
    x0 = np.array([[1.5, np.nan, 2.5], [np.nan, -4.25, 7.0]], dtype=np.float32)
    x, xt = ag.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    y, yt = ag.nanmean(x, 1, dtype=ag.float64), torch.nanmean(xt, 1, dtype=torch.float64)
    assert same_dtype(y, yt)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12)
    y.sum().backward()
    yt.sum().backward()
    assert x.grad.dtype == ag.float32
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())
    with pytest.raises(TypeError, match="nanmean: dtype=int64 is not floating"):
        ag.nanmean(ag.tensor(x0), dtype=ag.int64)
    with pytest.raises(RuntimeError):
        torch.nanmean(torch.tensor(x0), dtype=torch.int64)


# --- quantile(interpolation=) ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantile_takes_pytorchs_interpolation(device, torch, name, interpolation):
    """PyTorch's name for what NumPy calls method=."""
    x0 = np.random.default_rng(5).standard_normal((4, 7))
    x0[1, 2] = np.nan if name == "nanquantile" else x0[1, 2]
    q = [0.1, 0.5, 0.75]
    y = getattr(ag, name)(ag.tensor(x0), ag.tensor(q, dtype=ag.float64), 1, interpolation=interpolation)
    ref = getattr(torch, name)(torch.tensor(x0), torch.tensor(q, dtype=torch.float64), 1,
                               interpolation=interpolation)
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-12)
    method = getattr(ag.tensor(x0), name)(ag.tensor(q, dtype=ag.float64), 1, interpolation=interpolation)
    np.testing.assert_array_equal(method.numpy(), y.numpy())


def test_quantile_refuses_interpolation_and_a_different_method(device):
    x = ag.tensor([1.0, 2.0, 4.0])
    with pytest.raises(ValueError, match="quantile: interpolation='lower' and method='higher' are two names for one "
                                         "thing"):
        ag.quantile(x, 0.5, method="higher", interpolation="lower")
    with pytest.raises(ValueError, match="nanquantile: method must be one of"):
        x.nanquantile(0.5, interpolation="cubic")


# --- searchsorted(right=, out_int32=) ----------------------------------------------------------------
@pytest.mark.parametrize("right", [False, True])
@pytest.mark.parametrize("out_int32", [False, True])
def test_searchsorted_takes_pytorchs_right_and_out_int32(device, torch, right, out_int32):
    edges0, values0 = np.array([1.0, 2.0, 2.0, 3.0]), np.array([[0.5, 2.0], [2.5, 3.0]])
    y = ag.searchsorted(ag.tensor(edges0), ag.tensor(values0), right=right, out_int32=out_int32)
    ref = torch.searchsorted(torch.tensor(edges0), torch.tensor(values0), right=right, out_int32=out_int32)
    assert same_dtype(y, ref)
    np.testing.assert_array_equal(y.numpy(), ref.numpy())


def test_searchsorted_takes_right_beside_side_and_refuses_a_non_bool(device, torch):
    edges, values = ag.tensor([1.0, 2.0]), ag.tensor([2.0])
    assert ag.searchsorted(edges, values, side="right", right=True).numpy().tolist() == [2]
    with pytest.raises(TypeError, match="searchsorted: right must be True or False, not .yes."):
        ag.searchsorted(edges, values, right="yes")


# --- add(alpha=), sub(alpha=) ------------------------------------------------------------------------
@pytest.mark.parametrize("name, torch_name", [("add", "add"), ("sub", "sub"), ("subtract", "subtract")])
def test_add_and_sub_take_pytorchs_alpha(device, torch, name, torch_name):
    """a + alpha * b and a - alpha * b, differentiable in both; integers with an integer alpha."""
    a0, b0 = np.array([1.5, -2.0, 3.0]), np.array([0.5, 4.0, -3.0])
    a, b = ag.tensor(a0, requires_grad=True), ag.tensor(b0, requires_grad=True)
    at, bt = torch.tensor(a0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    y, yt = getattr(ag, name)(a, b, alpha=-2.5), getattr(torch, torch_name)(at, bt, alpha=-2.5)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-15)
    y.backward(ag.tensor([1.0, 2.0, 3.0], dtype=ag.float64))
    yt.backward(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    np.testing.assert_array_equal(a.grad.numpy(), at.grad.numpy())
    np.testing.assert_array_equal(b.grad.numpy(), bt.grad.numpy())
    assert ag.gradgradcheck(lambda p, q: getattr(ag, name)(p, q * q, alpha=3), [a, b])
    yi = getattr(ag, name)(ag.tensor([1, 2]), ag.tensor([3, 4]), alpha=3)
    yti = getattr(torch, torch_name)(torch.tensor([1, 2]), torch.tensor([3, 4]), alpha=3)
    assert same_dtype(yi, yti)
    np.testing.assert_array_equal(yi.numpy(), yti.numpy())


def test_add_refuses_a_fractional_alpha_for_integers_as_pytorch(device, torch):
    with pytest.raises(TypeError, match=r"add: alpha=0.5 is fractional but the tensors are int64"):
        ag.add(ag.tensor([1, 2]), ag.tensor([3, 4]), alpha=0.5)
    with pytest.raises(RuntimeError):
        torch.add(torch.tensor([1, 2]), torch.tensor([3, 4]), alpha=0.5)


# --- cov(correction=) --------------------------------------------------------------------------------
@pytest.mark.parametrize("correction", [0, 1, 2])
def test_cov_takes_pytorchs_correction(device, torch, correction):
    m0 = np.random.default_rng(7).standard_normal((3, 6))
    weights = np.array([1, 2, 1, 3, 1, 1])
    m, mt = ag.tensor(m0, requires_grad=True), torch.tensor(m0, requires_grad=True)
    y = ag.cov(m, correction=correction, fweights=ag.tensor(weights))
    yt = torch.cov(mt, correction=correction, fweights=torch.tensor(weights))
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12)
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(m.grad.numpy(), mt.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_cov_refuses_correction_beside_ddof_or_bias(device):
    m = ag.tensor([[1.0, 2.0, 4.0]])
    with pytest.raises(ValueError, match="cov: ddof=1 and correction=0 are two names for one thing"):
        ag.cov(m, ddof=1, correction=0)
    with pytest.raises(ValueError, match="cov: bias=True and correction=1 are two names for one thing"):
        ag.cov(m, bias=True, correction=1)
