"""Dtype and scalar semantics, checked against PyTorch (and NumPy where PyTorch has no
answer): result dtypes of mixed operands, gradient dtypes, reductions of int and bool
tensors, creation functions and in-place ops, on every backend."""
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
