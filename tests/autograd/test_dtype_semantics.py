"""Dtype and scalar semantics, checked against PyTorch (and NumPy where PyTorch has no
answer): result dtypes of mixed operands, gradient dtypes, reductions of int and bool
tensors, creation functions and in-place ops, on every backend."""
import math

import numpy as np
import pytest

import autograd as ag


def _torch_name(t):
    return str(t.dtype).replace("torch.", "")


def _needs_float16(device):
    if device == "strict":
        pytest.skip("the Array API standard has no float16")


# --- binary ops: PyTorch's promotion --------------------------------------------------

PROMOTIONS = [  # (left, right): each a (values, dtype) pair, or a Python scalar
    (([1, 2], "int64"), 0.5),
    (([1, 2], "int64"), ([1.0, 2.0], "float32")),
    (([1.0, 2.0], "float32"), (2.0, "float64")),  # a 0-d tensor yields within its category
    (([1, 2], "int32"), (3, "int64")),
    (([True, False], "bool"), 1),
    (([True, False], "bool"), ([1, 2], "int32")),
    (2.5, ([1, 2], "int32")),
    (True, ([1.0, 2.0], "float64")),
]


@pytest.mark.parametrize("op", ["add", "mul", "truediv", "maximum", "lt"])
@pytest.mark.parametrize("left,right", PROMOTIONS)
def test_binary_op_dtype_and_values_match_torch(device, torch, op, left, right):
    def make(spec, lib):
        if not isinstance(spec, tuple):
            return spec
        values, dtype = spec
        array = np.array(values, dtype=dtype)
        return ag.tensor(array) if lib is ag else torch.tensor(array)

    def run(lib, a, b):
        if op == "maximum":
            return lib.maximum(a, b)
        return {"add": a + b, "mul": a * b, "truediv": a / b, "lt": a < b}[op]

    if op == "maximum" and not (isinstance(left, tuple) and isinstance(right, tuple)):
        pytest.skip("torch.maximum takes tensors only")
    got = run(ag, make(left, ag), make(right, ag))
    want = run(torch, make(left, torch), make(right, torch))
    assert str(got.dtype) == _torch_name(want)
    np.testing.assert_allclose(got.numpy().astype(float), want.double().numpy())


def test_float32_leaf_gets_float32_grad_whatever_it_meets(device):
    x = ag.tensor([1.5, 2.5], requires_grad=True)
    y = (x * ag.tensor(2.0, dtype="float64")) + x / ag.tensor([2.0, 4.0], dtype="float64") + 3 ** x
    y.sum().backward()
    assert y.dtype == ag.float64 and x.grad.dtype == ag.float32
    want = 2 + 1 / np.array([2.0, 4.0]) + np.log(3) * 3 ** np.array([1.5, 2.5])
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-5)


def test_integer_inputs_to_float_ops_take_the_default_float(device):
    i = ag.tensor([1, 4])
    assert ag.exp(i).dtype == ag.mean(i).dtype == ag.sqrt(i).dtype == (i / i).dtype == ag.float32
    ag.set_default_dtype(ag.float64)
    try:
        assert ag.sqrt(i).dtype == (i + 0.5).dtype == ag.float64
        assert (ag.tensor([1.0], dtype="float32") + 0.5).dtype == ag.float32
    finally:
        ag.set_default_dtype(ag.float32)


# --- bool tensors behave the same on every backend ------------------------------------

@pytest.mark.parametrize("expr", ["b < c", "b >= c", "b.max()", "b.min(axis=0)", "sign(b)", "clip(b, 1, 3)"])
def test_bool_tensor_ops_match_torch_on_every_backend(device, torch, expr):
    """array-api-strict refuses bools in ordering comparisons, max, min, sign and clip;
    topograd must give PyTorch's answer there as it does on NumPy."""
    b_np, c_np = np.array([True, False, True]), np.array([True, True, False])
    got = eval(expr, {"sign": ag.sign, "clip": ag.clip}, {"b": ag.tensor(b_np), "c": ag.tensor(c_np)})
    want = eval(expr.replace("axis=", "dim="), {"sign": torch.sign, "clip": torch.clip},
                {"b": torch.tensor(b_np), "c": torch.tensor(c_np)})
    if expr.startswith("b.min"):
        want = want.values
    assert str(got.dtype) == _torch_name(want)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_bool_power_stays_bool_as_in_torch(device, torch):
    b = np.array([True, False])
    got, want = ag.tensor(b) ** True, torch.tensor(b) ** True
    assert str(got.dtype) == _torch_name(want)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_comparison_with_an_out_of_range_python_int_is_exact(device):
    """As NumPy 2: the comparison is done on the values, not after squeezing 2**40 into
    int32 (which raises a raw OverflowError now)."""
    x = ag.tensor([1, 2], dtype="int32")
    np.testing.assert_array_equal((x == 2 ** 40).numpy(), [False, False])
    np.testing.assert_array_equal((x < 2 ** 40).numpy(), [True, True])


# --- reductions -------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["bool", "int32", "uint8"])
def test_sum_of_integers_and_bools_is_int64_as_in_torch(device, torch, dtype):
    a = np.array([200, 100, 0], dtype=dtype) if dtype != "bool" else np.array([True, True, False])
    got, want = ag.tensor(a).sum(), torch.tensor(a).sum()
    assert str(got.dtype) == _torch_name(want)
    assert (got - 400).item() == (want - 400).item()  # no unsigned wrap-around


def test_empty_reductions(device):
    empty = ag.zeros(0, 3, dtype="int64")
    s = empty.sum()
    assert s.dtype == ag.int64 and s.item() == 0
    np.testing.assert_array_equal(empty.sum(axis=0).numpy(), [0, 0, 0])
    with pytest.raises(ValueError, match="empty"):
        empty.max()
    with pytest.raises(ValueError, match="empty"):
        ag.zeros(0).min(axis=0)


def test_float16_variance_does_not_overflow(device, torch):
    """PyTorch accumulates float16 reductions in float32: the sum of squares of 20,000
    values of +-10 passes float16's 65504, the variance (100) does not."""
    _needs_float16(device)
    a = np.tile([-10.0, 10.0], 10_000).astype(np.float16)
    got, want = ag.tensor(a).var(), torch.tensor(a).var(correction=0)
    assert got.dtype == ag.float16
    np.testing.assert_allclose(float(got.item()), want.item(), rtol=1e-3)
    np.testing.assert_allclose(float(ag.tensor(a).std().item()), 10.0, rtol=1e-3)


# --- creation ---------------------------------------------------------------------------

@pytest.mark.parametrize("make,want", [
    (lambda: ag.arange(5), "int64"),
    (lambda: ag.arange(0.0, 1.0, 0.25), "float32"),
    (lambda: ag.full((2,), 3), "int64"),
    (lambda: ag.full((2,), True), "bool"),
    (lambda: ag.full((2,), np.float64(3.0)), "float32"),
    (lambda: ag.tensor([1, 2.5]), "float32"),
    (lambda: ag.tensor([True, 2]), "int64"),
    (lambda: ag.tensor(np.array([1, 2], dtype=np.int32)), "int32"),
    (lambda: ag.tensor(np.float64(2.5)), "float64"),
    (lambda: ag.linspace(0, 1, 5), "float32"),
])
def test_creation_dtype_inference(device, make, want):
    assert str(make().dtype) == want


@pytest.mark.parametrize("data", [np.array([1 + 2j]), [1 + 2j], ["a", "b"], np.array([1, "a"], dtype=object)])
def test_tensor_refuses_unsupported_element_types(device, data):
    """A complex (or string, or object) tensor is not one topograd supports: today NumPy
    makes one silently (and exp() then drops the imaginary part) and the strict backend
    fails with a KeyError; it should be one clear TypeError naming the dtype."""
    with pytest.raises(TypeError, match="dtype"):
        ag.tensor(data)


@pytest.mark.parametrize("fn", [ag.rand, ag.randn])
@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_random_floats_refuse_a_non_float_dtype(device, fn, dtype):
    """rand(3, dtype=int64) gives all zeros today (uniform [0, 1) truncated); PyTorch refuses."""
    with pytest.raises(TypeError, match="float"):
        fn(3, dtype=dtype)


def test_arange_with_zero_step_is_a_clear_error(device):
    with pytest.raises(ValueError, match="step"):
        ag.arange(0, 5, 0)


# --- in place ---------------------------------------------------------------------------

@pytest.mark.parametrize("values,dtype,op,other", [
    ([1, 2], "int64", "add_", 1.5),
    ([1, 2], "int64", "div_", 2),
    ([1, 2], "int64", "mul_", (2.0, "float32")),
    ([True, False], "bool", "mul_", ([1, 2], "int64")),
])
def test_inplace_refuses_a_wider_result_and_changes_nothing(device, values, dtype, op, other):
    x = ag.tensor(np.array(values, dtype=dtype))
    if isinstance(other, tuple):
        other = ag.tensor(np.array(other[0], dtype=other[1]))
    with pytest.raises(TypeError, match="cannot hold it"):
        getattr(x, op)(other)
    assert x.dtype == dtype
    np.testing.assert_array_equal(x.numpy(), np.array(values, dtype=dtype))


def test_inplace_keeps_the_dtype_and_float32_grad(device):
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    y.mul_(ag.tensor([2.0, 3.0], dtype="float64"))
    y += 1
    assert y.dtype == ag.float32
    y.sum().backward()
    assert x.grad.dtype == ag.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 3.0])
    i = ag.tensor([1, 2])
    i.copy_(ag.tensor([1.7, -2.7]))
    assert i.dtype == ag.int64 and i.tolist() == [1, -2]  # truncation, as torch's copy_


def test_fill_takes_a_zero_d_tensor(device, torch):
    x = ag.tensor([1, 2])
    x.fill_(ag.tensor(3.5))
    want = torch.tensor([1, 2]).fill_(torch.tensor(3.5))
    assert x.dtype == ag.int64 and x.tolist() == want.tolist()


# --- helpers of the mixed-dtype checks below ---------------------------------------------
def _same(got, want):
    assert str(got.dtype) == _torch_name(want)
    np.testing.assert_allclose(got.numpy().astype(np.float64), want.double().numpy(), rtol=1e-6)


def _skip_float16_where_missing(device, *dtypes):
    if "float16" in dtypes:
        _needs_float16(device)


def _pair(torch, values, dtype):
    array = np.array(values, dtype=dtype)
    return ag.tensor(array), torch.tensor(array)


# --- ops whose result is floating: integers go to the float from their own dtype ----------

@pytest.mark.parametrize("op", ["div", "rdiv", "atan2"])
@pytest.mark.parametrize("other", [(-1, "int8"), (-3, "int16"), (-2, "int64"), -2])
def test_integer_operands_of_a_floating_op_are_not_cast_to_uint8_first(device, torch, op, other):
    """A 0-d int8 -1 beside a uint8 tensor was promoted to uint8 (255) and only then to
    float32, so -1 / 2 gave 127.5; a Python -2 was refused with NumPy's OverflowError.
    PyTorch takes each integer to the float as it is."""
    if op == "atan2" and not isinstance(other, tuple):
        pytest.skip("torch.atan2 takes no Python scalar")
    ag_u, torch_u = _pair(torch, [1, 2, 200], "uint8")
    if isinstance(other, tuple):
        ag_o, torch_o = _pair(torch, *other)
    else:
        ag_o = torch_o = other
    run = {"div": lambda lib, u, o: u / o, "rdiv": lambda lib, u, o: o / u,
           "atan2": lambda lib, u, o: lib.atan2(u, o) if lib is torch else lib.arctan2(u, o)}[op]
    _same(run(ag, ag_u, ag_o), run(torch, torch_u, torch_o))


@pytest.mark.parametrize("op", ["hypot", "logaddexp"])
def test_hypot_and_logaddexp_lift_each_integer_as_numpy_does(device, op):
    """PyTorch refuses integers here; topograd lifts them, so the reference is NumPy's,
    which takes each integer to the float as it is (-1, not 255)."""
    u, i = np.array([1, 2, 200], dtype=np.uint8), np.array(-1, dtype=np.int8)
    got = getattr(ag, op)(ag.tensor(i), ag.tensor(u))
    want = getattr(np, op)(i.astype(np.float64), u.astype(np.float64))
    assert got.dtype == ag.float32
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)


# --- a Python int the tensor's integer dtype cannot hold -----------------------------------

@pytest.mark.parametrize("expr", ["x + (-1)", "x * -3", "-2 - x", "x // -2", "x % -3", "x & -2", "x | 300",
                                  "y + 1000", "y * 300", "y + 2 ** 63", "where(x > 1, x, -2)",
                                  "x.masked_fill(x > 1, -2)"])
def test_an_out_of_range_python_int_wraps_around_as_in_torch(device, torch, expr):
    """NumPy refuses such an int (OverflowError: Python integer -1 out of bounds for uint8);
    PyTorch keeps its low bits, so that x + (-1) is x - 1, wrapping at 0 as that does."""
    x_values, y_values = np.array([0, 1, 2, 200], dtype=np.uint8), np.array([-100, 1, 5, 100], dtype=np.int8)
    got = eval(expr, {"where": ag.where}, {"x": ag.tensor(x_values), "y": ag.tensor(y_values)})
    want = eval(expr, {"where": torch.where}, {"x": torch.tensor(x_values), "y": torch.tensor(y_values)})
    _same(got, want)


def test_adding_minus_one_is_subtracting_one(device):
    x = ag.tensor(np.array([0, 1, 255], dtype=np.uint8))
    np.testing.assert_array_equal((x + (-1)).numpy(), (x - 1).numpy())
    x.add_(-1)
    assert x.tolist() == [255, 0, 254]


def test_an_int_wider_than_64_bits_is_refused_as_in_torch(device, torch):
    x = ag.tensor([1, 2], dtype="int32")
    with pytest.raises(OverflowError):
        torch.tensor([1, 2], dtype=torch.int32) + 2 ** 70
    with pytest.raises(OverflowError, match="needs more than 64 bits"):
        x + 2 ** 70


@pytest.mark.parametrize("op", ["logical_and", "logical_or", "logical_xor"])
@pytest.mark.parametrize("dtype,scalar", [("uint8", 256), ("int8", -256), ("float16", 1e-50), ("float16", np.float64(1e-50))])
def test_logical_ops_take_a_scalar_by_its_truth(device, op, dtype, scalar):
    """A scalar took the tensor's dtype first, which changed its truth: 256 wrapped to 0 in
    uint8 and 1e-50 rounded to 0 in float16. NumPy's logical ops (PyTorch's take no
    scalar) look at the number itself."""
    _skip_float16_where_missing(device, dtype)
    values = np.array([0, 1, 3], dtype=dtype)
    got = getattr(ag, op)(ag.tensor(values), scalar)
    np.testing.assert_array_equal(got.numpy(), getattr(np, op)(values, bool(scalar)))
    np.testing.assert_array_equal(getattr(ag, op)(scalar, ag.tensor(values)).numpy(), got.numpy())


# --- NumPy scalars count as Python numbers, as in PyTorch --------------------------------

@pytest.mark.parametrize("tensor,scalar", [
    ((1.5, "float16"), np.float32(2.5)),      # a 0-d float16 tensor stays float16
    (([1, 2], "int8"), np.float16(2.5)),      # an integer tensor takes the default float, not float16
    ((3, "int8"), np.int64(2)),               # a 0-d int8 tensor stays int8
    (([True, False], "bool"), np.int32(3)),   # a bool tensor takes int64, not int32
    (([1, 200], "uint8"), np.int64(-1)),      # and wraps as a Python int does
])
@pytest.mark.parametrize("op", ["add", "mul", "sub", "floordiv"])
def test_numpy_scalars_promote_as_python_scalars(device, torch, tensor, scalar, op):
    """NumPy scalars were lifted as 0-d tensors of their own dtype, so np.float32(2.5)
    made a 0-d float16 tensor float32 and np.float16 made an int tensor float16."""
    _skip_float16_where_missing(device, tensor[1], str(scalar.dtype))
    if op == "sub" and tensor[1] == "bool":
        pytest.skip("PyTorch subtracts no bools")
    ag_t, torch_t = _pair(torch, *tensor)
    run = {"add": lambda t: t + scalar, "mul": lambda t: scalar * t, "sub": lambda t: t - scalar,
           "floordiv": lambda t: t // scalar}[op]
    _same(run(ag_t), run(torch_t))


def test_comparison_with_an_out_of_range_numpy_int_is_exact(device):
    """As with a Python int (NumPy 2's answer), not after wrapping np.int64(1000) to -24."""
    x = ag.tensor(np.array([-24, 5], dtype=np.int8))
    np.testing.assert_array_equal((x == np.int64(1000)).numpy(), [False, False])
    np.testing.assert_array_equal((x < np.int64(1000)).numpy(), [True, True])
    np.testing.assert_array_equal((np.int64(-1000) >= x).numpy(), [False, False])


# --- float16 sums and scans accumulate in float32, as PyTorch's ---------------------------

@pytest.mark.parametrize("expr", ["x.sum(axis=0)", "x.cumsum(axis=0)", "x.cumsum(axis=0)[-1]",
                                  "x.logsumexp(axis=0)"])
def test_float16_sums_and_scans_accumulate_in_float32(device, torch, expr):
    """A float16 running sum stops growing at 2048, where adding a number below 1 rounds
    to nothing: NumPy's sum along a strided axis and its cumsum gave 2048 for 40,000
    numbers near 0.5 (PyTorch: about 20,000)."""
    _needs_float16(device)
    values = np.random.default_rng(0).uniform(0, 1, (40_000, 2)).astype(np.float16)
    got = eval(expr, {}, {"x": ag.tensor(values)})
    want = eval(expr.replace("axis=", "dim=").replace("logsumexp(dim=0)", "logsumexp(0)"), {},
                {"x": torch.tensor(values)})
    assert got.dtype == ag.float16
    np.testing.assert_allclose(got.numpy().astype(np.float64), want.double().numpy(), rtol=2e-3)


def test_float16_cumprod_accumulates_in_float32(device, torch):
    """Each output is rounded to float16 (the second overflows), but the running product
    is not, as in PyTorch; the product is 300 as NumPy's (PyTorch's CPU prod gives inf)."""
    _needs_float16(device)
    values = np.array([300.0, 300.0, 1 / 300], dtype=np.float16)
    ag_x, torch_x = ag.tensor(values), torch.tensor(values)
    with np.errstate(over="ignore"):
        _same(ag_x.cumprod(axis=0), torch_x.cumprod(0))  # [300, inf, 300]
        got = ag_x.prod()
    assert got.dtype == ag.float16 and got.item() == np.float16(np.prod(values.astype(np.float32)))


def test_float16_cumsum_gradient_accumulates_in_float32_and_keeps_the_leafs_dtype(device, torch):
    """cumsum's gradient is a reversed cumsum of the output's: with float16 running sums
    it stopped at 2048 for a leaf of 3,000 rows."""
    _needs_float16(device)
    values = np.random.default_rng(1).uniform(0, 1, (3000, 2)).astype(np.float16)
    weights = np.array([1.0, 0.5], dtype=np.float16)
    x = ag.tensor(values, requires_grad=True)
    reference = torch.tensor(values, requires_grad=True)
    x.cumsum(axis=0).backward(ag.ones_like(x) * ag.tensor(weights))
    reference.cumsum(0).backward(torch.ones_like(reference) * torch.tensor(weights))
    assert x.grad.dtype == ag.float16
    np.testing.assert_allclose(x.grad.numpy().astype(np.float64), reference.grad.double().numpy(), rtol=2e-3)
    assert x.grad[0, 0].item() == 3000


def test_clip_of_integers_past_the_far_end_of_their_range_is_a_clear_error():
    """uint8 clipped to max=-2 (or min=300) would hold only the bound, which uint8 cannot:
    NumPy's raw OverflowError before (PyTorch wraps the bound, so max=-2 becomes 254 and
    changes nothing); a bound past the near end changes nothing (PyTorch's min=-2 wraps to
    254 and sets every element to it). NumPy scalar bounds count as Python numbers: the
    dtype stays."""
    x = ag.tensor([1, 200], dtype="uint8")
    for bounds in ({"max": -2}, {"min": 300}):
        with pytest.raises(OverflowError, match=r"lies outside uint8's range \[0, 255\]"):
            ag.clip(x, **bounds)
    np.testing.assert_array_equal(ag.clip(x, min=-2).numpy(), [1, 200])
    np.testing.assert_array_equal(ag.clip(x, max=300).numpy(), [1, 200])
    assert ag.clip(ag.tensor([0, 3, 7], dtype="int8"), min=np.int64(2)).dtype == "int8"
    assert ag.clip(ag.tensor([0, 3], dtype="int32"), min=np.float32(2.5)).dtype == ag.float32
    with pytest.raises(OverflowError, match="lies outside int8's range"):
        ag.clip(ag.tensor([0, 3], dtype="int8"), min=np.int64(200))


def _same_bits(got, want):
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    np.testing.assert_array_equal(got.numpy(), want.numpy())


# --- writing a Python number an integer dtype cannot hold ----------------------------------

@pytest.mark.parametrize("dtype, value", [("int8", 300), ("uint8", -256), ("int64", math.nan),
                                          ("int32", math.inf), ("uint8", -0.5)], ids=repr)
@pytest.mark.parametrize("how", ["masked_fill_", "setitem", "masked_fill"])
def test_a_number_the_dtype_cannot_hold_is_refused_as_torch(device, torch, how, dtype, value):
    """masked_fill and item assignment wrapped 300 into int8 (44) and wrote NaN into int64 as its
    most negative value; PyTorch refuses both, as fill_ and full do here."""
    mask = [True, False, True]

    def write(x, mask):
        if how == "setitem":
            x[mask] = value
            return x
        return getattr(x, how)(mask, value)

    with pytest.raises(RuntimeError, match="without overflow"):
        write(torch.tensor([1, 2, 3], dtype=getattr(torch, dtype)), torch.tensor(mask))
    x = ag.tensor([1, 2, 3], dtype=dtype)
    with pytest.raises(ValueError, match=f"{how.rstrip('_')}: .*(does not fit in {dtype}|integers have no inf or nan)"):
        write(x, ag.tensor(mask))
    assert x.tolist() == [1, 2, 3]  # refused before anything was written


@pytest.mark.parametrize("dtype, value, value_dtype", [
    ("int8", 300, "int64"), ("uint8", 256, "int64"), ("uint8", -256, "int64"), ("int32", 2 ** 40, "int64"),
    ("int64", math.nan, "float32"), ("int8", 200, "int16"), ("float16", 1e5, "float32"),
    ("float16", 65519.0, "float32"), ("float32", 1e300, "float64")], ids=repr)
@pytest.mark.parametrize("how", ["masked_fill", "masked_fill_"])
def test_a_zero_d_tensor_value_the_dtype_cannot_hold_is_refused_as_torch(device, torch, how, dtype, value, value_dtype):
    """A 0-d tensor value was cast without a look: 300 wrapped into int8 (44), 1e5 became
    float16's inf and NaN int64's most negative value. PyTorch reads the value and refuses
    these, as for a Python number."""
    if device == "strict" and "float16" in (dtype, value_dtype):
        pytest.skip("the Array API standard has no float16")
    mask = [True, False, True]
    t = torch.tensor([1, 2, 3], dtype=getattr(torch, dtype))
    with pytest.raises(RuntimeError, match="without overflow"):
        getattr(t, how)(torch.tensor(mask), torch.tensor(np.array(value, dtype=value_dtype)))
    x = ag.tensor([1, 2, 3], dtype=dtype)
    with pytest.raises(ValueError, match="masked_fill: .*(does not fit in|integers have no inf or nan)"):
        getattr(x, how)(ag.tensor(mask), ag.tensor(np.array(value, dtype=value_dtype)))
    assert x.tolist() == [1, 2, 3]


@pytest.mark.parametrize("dtype, value, value_dtype", [
    ("uint8", -1, "int64"), ("int8", -2.5, "float32"), ("float32", math.inf, "float64"), ("bool", 5, "int64"),
    ("int64", True, "bool"), ("float32", 0.1, "float64"), ("int16", 7, "int8")], ids=repr)
def test_a_zero_d_tensor_value_the_dtype_holds_is_cast_as_torch(device, torch, dtype, value, value_dtype):
    mask = [True, False, True]
    got = ag.tensor([1, 2, 3], dtype=dtype).masked_fill(ag.tensor(mask), ag.tensor(np.array(value, dtype=value_dtype)))
    want = torch.tensor([1, 2, 3], dtype=getattr(torch, dtype)).masked_fill(
        torch.tensor(mask), torch.tensor(np.array(value, dtype=value_dtype)))
    _same_bits(got, want)


@pytest.mark.parametrize("how", ["fill_", "setitem", "masked_fill_", "full"])
def test_a_negative_int_wraps_into_uint8_as_torch(device, torch, how):
    """PyTorch takes -1 ... -255 into an unsigned dtype by two's complement (-1 is uint8's
    255); fill_ and full refused it here, while item assignment took it."""
    def write(lib, value):
        uint8 = "uint8" if lib is ag else torch.uint8
        x = lib.zeros(2, dtype=uint8)
        if how == "fill_":
            return x.fill_(value)
        if how == "setitem":
            x[0] = value
            return x
        if how == "masked_fill_":
            return x.masked_fill_(lib.tensor([True, False]), value)
        return lib.full((2,), value, dtype=uint8)

    for value in (-1, -255):
        _same_bits(write(ag, value), write(torch, value))


# --- integer powers with negative exponents -------------------------------------------------

def test_integer_tensor_to_negative_tensor_exponents_as_torch(device, torch):
    """NumPy refuses any negative integer exponent, so this raised its ValueError; PyTorch
    computes 1 / base^-exponent truncated: 1 for base 1, +-1 for base -1, else 0 (0 too)."""
    base = np.array([[-1], [1], [0], [2], [-3]], dtype=np.int64)
    exponent = np.array([-3, -2, 0, 2, 3], dtype=np.int64)
    _same_bits(ag.tensor(base) ** ag.tensor(exponent), torch.tensor(base) ** torch.tensor(exponent))
    _same_bits(2 ** ag.tensor(exponent), 2 ** torch.tensor(exponent))
    x, t = ag.tensor(base[:, 0].copy()), torch.tensor(base[:, 0].copy())
    _same_bits(x.pow_(ag.tensor(-1)), t.pow_(torch.tensor(-1)))


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int64"])
@pytest.mark.parametrize("exponent", [-1, 300])
def test_a_python_int_exponent_an_integer_tensor_cannot_take_is_refused(device, torch, dtype, exponent):
    """uint8 ** -1 gave garbage (-1 wrapped to 255 first) and int8 ** 255 became int8 ** -1;
    PyTorch refuses a negative Python exponent of an integer tensor, and one past its range."""
    if exponent == 300 and dtype == "int64":
        pytest.skip("300 fits in int64")
    t = torch.tensor([2, 3], dtype=getattr(torch, dtype))
    with pytest.raises(RuntimeError):
        t ** exponent
    x = ag.tensor([2, 3], dtype=dtype)
    message = "negative power -1 is a fraction" if exponent < 0 else f"300 does not fit in {dtype}"
    with pytest.raises(ValueError, match=f"pow: an integer tensor to the {message}|pow: {message}"):
        x ** exponent
    with pytest.raises(ValueError, match="pow"):
        x.pow_(exponent)
    assert x.tolist() == [2, 3]


def test_float16_std_takes_its_root_before_rounding(torch):
    """The variance of [60000, 60000, 30000] overflows float16; PyTorch takes the root in
    float32 and rounds once (14144), and so does std now (it gave inf)."""
    values = [60000.0, 60000.0, 30000.0]
    x = ag.tensor(values, dtype="float16", requires_grad=True)
    y = ag.std(x)
    expected = torch.std(torch.tensor(values, dtype=torch.float16), correction=0)
    assert y.dtype == ag.float16 and float(y.item()) == float(expected)
    y.backward()
    assert x.grad.dtype == ag.float16 and np.all(np.isfinite(x.grad.numpy()))


# --- integer tensors into ops that need floats ----------------------------------------------------

@pytest.mark.parametrize("name", ["exp", "log", "log1p", "sqrt", "sin", "cos", "tanh", "sigmoid"])
def test_integer_input_to_float_op_gives_default_float_like_pytorch(device, torch, name):
    """torch.tensor([1, 2, 4]).exp() is float32 (the default dtype). Here the NumPy
    backend gives float64 (which a float32 model then refuses) and the strict backend
    raises array-api-strict's raw 'Only floating-point dtypes are allowed in exp'."""
    x = ag.tensor([1, 2, 4])
    y = getattr(ag, name)(x)
    expected = getattr(torch, name)(torch.tensor([1, 2, 4]))
    assert y.dtype == ag.float32
    np.testing.assert_allclose(y.numpy(), expected.numpy(), rtol=1e-6)


def test_integer_input_to_logsumexp_gives_default_float_like_pytorch(device, torch):
    y = ag.logsumexp(ag.tensor([1, 2, 4]), axis=0)
    assert y.dtype == ag.float32
    np.testing.assert_allclose(y.numpy(), torch.logsumexp(torch.tensor([1, 2, 4]), 0).numpy(), rtol=1e-6)
