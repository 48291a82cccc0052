"""A float16 tensor multiplied, divided or floor-divided by a Python float, over every finite
float16, against PyTorch: PyTorch holds the number in float32 and rounds the result once, so
x * 0.1 is float32(0.1) x correctly rounded, and x * 70000 is 70 for x = 1e-3. The number
rounded to float16 first put a quarter of the products a unit off, made x * 70000 inf, and
x // 0.1 a whole unit off (1 for x = float16(0.1), which is below 0.1)."""
import numpy as np
import pytest

import autograd as ag

SCALARS = [0.1, 1 / 3, -0.7, 3.0001, 70000.0, 1e-8]


def _every_finite_float16():
    every = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    return every[np.isfinite(every)]


def _bits(values):
    return np.asarray(values).view(np.uint16)


@pytest.fixture
def every(device):
    if device == "strict":
        pytest.skip("the Array API standard has no float16")
    return _every_finite_float16()


@pytest.mark.filterwarnings("ignore:overflow encountered")  # (products past 65504 are inf, as PyTorch's)
@pytest.mark.parametrize("scalar", SCALARS)
@pytest.mark.parametrize("expr", ["x * s", "s * x", "x / s", "x // s"])
def test_values_are_rounded_once_as_torch(torch, every, expr, scalar):
    got = eval(expr, {}, {"x": ag.tensor(every), "s": scalar})
    want = eval(expr, {}, {"x": torch.tensor(every), "s": scalar})
    assert got.dtype == ag.float16
    np.testing.assert_array_equal(_bits(got.numpy()), _bits(want.numpy()))


@pytest.mark.filterwarnings("ignore:overflow encountered")
@pytest.mark.parametrize("scalar", SCALARS)
@pytest.mark.parametrize("expr", ["x * s", "x / s"])
def test_gradients_are_rounded_once_as_torch(torch, every, expr, scalar):
    incoming = np.random.default_rng(0).uniform(-2, 2, every.shape).astype(np.float16)
    x = ag.tensor(every, requires_grad=True)
    eval(expr, {}, {"x": x, "s": scalar}).backward(ag.tensor(incoming))
    t = torch.tensor(every, requires_grad=True)
    eval(expr, {}, {"x": t, "s": scalar}).backward(torch.tensor(incoming))
    assert x.grad.dtype == ag.float16
    np.testing.assert_array_equal(_bits(x.grad.numpy()), _bits(t.grad.numpy()))


@pytest.mark.parametrize("scalar", [0.1, -0.7, 70000.0])
def test_a_float_divided_by_float16_is_the_float32_quotient_rounded_once(every, scalar):
    """PyTorch's s / x is s * (1 / x), rounded twice (inf for 0.1 / 1.55e-6, whose quotient
    64516 rounds to float16's 64512); topograd divides once, in float32, as x / s."""
    with np.errstate(divide="ignore", over="ignore"):
        want = (np.float32(scalar) / every.astype(np.float32)).astype(np.float16)
        got = scalar / ag.tensor(every)
    np.testing.assert_array_equal(_bits(got.numpy()), _bits(want))


@pytest.mark.filterwarnings("ignore:overflow encountered")  # (rad2deg(65504) is inf, as PyTorch's)
def test_in_place_products_and_the_angle_conversions_round_once(torch, every):
    x = ag.tensor(every)
    x *= 0.1
    t = torch.tensor(every)
    t *= 0.1
    np.testing.assert_array_equal(_bits(x.numpy()), _bits(t.numpy()))
    for name in ("deg2rad", "rad2deg"):
        got, want = getattr(ag, name)(ag.tensor(every)), getattr(torch, name)(torch.tensor(every))
        np.testing.assert_array_equal(_bits(got.numpy()), _bits(want.numpy()), err_msg=name)


def test_other_dtypes_and_exact_float16_numbers_are_unchanged(device):
    """float32 keeps its one rounding of the product; a float16 number such as 0.5 gives
    the same bits either way; an integer tensor times a float takes the default float."""
    x = ag.tensor([1.5, -3.0, 1e-3], dtype="float32")
    np.testing.assert_array_equal((x * 0.1).numpy(), x.numpy() * np.float32(0.1))
    assert (ag.tensor([1, 2]) * 0.5).dtype == ag.float32
    assert (ag.tensor([1, 2]) * 0.5).tolist() == [0.5, 1.0]


def test_a_float16_tensor_from_big_endian_data_rounds_once_too(torch, every):
    """Its array's dtype is float16 but not NumPy's usual float16 object (a byte-swapped
    source gives another, equal one), which the quick check of the dtype must not miss."""
    x = ag.tensor(every.astype(">f2"))
    assert x.dtype == ag.float16
    np.testing.assert_array_equal(_bits((x * 0.1).numpy()), _bits((torch.tensor(every) * 0.1).numpy()))
