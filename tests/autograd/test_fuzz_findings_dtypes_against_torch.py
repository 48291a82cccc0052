"""What a differential fuzz of dtype rules against PyTorch turned up: every binary, unary
and reduction op over float16/32/64, int8/16/32/64, uint8 and bool operands, n-d and 0-d,
beside Python and NumPy scalars, with result dtypes, values, gradient dtypes and in-place
refusals compared."""
import numpy as np
import pytest

import autograd as ag

torch = pytest.importorskip("torch")


def _same(got, want):
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    np.testing.assert_allclose(got.numpy().astype(np.float64), want.double().numpy(), rtol=1e-6)


def _skip_float16_where_missing(device, *dtypes):
    if device == "strict" and "float16" in dtypes:
        pytest.skip("the Array API standard has no float16")


def _pair(values, dtype):
    array = np.array(values, dtype=dtype)
    return ag.tensor(array), torch.tensor(array)


# --- ops whose result is floating: integers go to the float from their own dtype ----------

@pytest.mark.parametrize("op", ["div", "rdiv", "atan2"])
@pytest.mark.parametrize("other", [(-1, "int8"), (-3, "int16"), (-2, "int64"), -2])
def test_integer_operands_of_a_floating_op_are_not_cast_to_uint8_first(device, op, other):
    """A 0-d int8 -1 beside a uint8 tensor was promoted to uint8 (255) and only then to
    float32, so -1 / 2 gave 127.5; a Python -2 was refused with NumPy's OverflowError.
    PyTorch takes each integer to the float as it is."""
    if op == "atan2" and not isinstance(other, tuple):
        pytest.skip("torch.atan2 takes no Python scalar")
    ag_u, torch_u = _pair([1, 2, 200], "uint8")
    if isinstance(other, tuple):
        ag_o, torch_o = _pair(*other)
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
def test_an_out_of_range_python_int_wraps_around_as_in_torch(device, expr):
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


def test_an_int_wider_than_64_bits_is_refused_as_in_torch(device):
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
def test_numpy_scalars_promote_as_python_scalars(device, tensor, scalar, op):
    """NumPy scalars were lifted as 0-d tensors of their own dtype, so np.float32(2.5)
    made a 0-d float16 tensor float32 and np.float16 made an int tensor float16."""
    _skip_float16_where_missing(device, tensor[1], str(scalar.dtype))
    if op == "sub" and tensor[1] == "bool":
        pytest.skip("PyTorch subtracts no bools")
    ag_t, torch_t = _pair(*tensor)
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
def test_float16_sums_and_scans_accumulate_in_float32(device, expr):
    """A float16 running sum stops growing at 2048, where adding a number below 1 rounds
    to nothing: NumPy's sum along a strided axis and its cumsum gave 2048 for 40,000
    numbers near 0.5 (PyTorch: about 20,000)."""
    _skip_float16_where_missing(device, "float16")
    values = np.random.default_rng(0).uniform(0, 1, (40_000, 2)).astype(np.float16)
    got = eval(expr, {}, {"x": ag.tensor(values)})
    want = eval(expr.replace("axis=", "dim=").replace("logsumexp(dim=0)", "logsumexp(0)"), {},
                {"x": torch.tensor(values)})
    assert got.dtype == ag.float16
    np.testing.assert_allclose(got.numpy().astype(np.float64), want.double().numpy(), rtol=2e-3)


def test_float16_cumprod_accumulates_in_float32(device):
    """Each output is rounded to float16 (the second overflows), but the running product
    is not, as in PyTorch; the product is 300 as NumPy's (PyTorch's CPU prod gives inf)."""
    _skip_float16_where_missing(device, "float16")
    values = np.array([300.0, 300.0, 1 / 300], dtype=np.float16)
    ag_x, torch_x = ag.tensor(values), torch.tensor(values)
    with np.errstate(over="ignore"):
        _same(ag_x.cumprod(axis=0), torch_x.cumprod(0))  # [300, inf, 300]
        got = ag_x.prod()
    assert got.dtype == ag.float16 and got.item() == np.float16(np.prod(values.astype(np.float32)))


def test_float16_cumsum_gradient_accumulates_in_float32_and_keeps_the_leafs_dtype(device):
    """cumsum's gradient is a reversed cumsum of the output's: with float16 running sums
    it stopped at 2048 for a leaf of 3,000 rows."""
    _skip_float16_where_missing(device, "float16")
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
