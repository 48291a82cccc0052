"""What a differential fuzz against PyTorch of the non-arithmetic elementwise ops and the
Tensor's in-place methods turned up: rounding, sign, the parts of a division, comparisons,
logical and bitwise ops, NaN tests, where, clip, maximum/minimum, nan_to_num, atan2, hypot
and logaddexp, and add_... masked_fill_, fill_, copy_ and item assignment over float, integer
and bool tensors, with values, dtypes, gradients to second order and refusals compared."""
import math

import numpy as np
import pytest

import autograd as ag

torch = pytest.importorskip("torch")


def _same(got, want):
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    np.testing.assert_array_equal(got.numpy(), want.numpy())


# --- clip with min > max, and a NaN tensor bound -----------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "int64"])
def test_clip_with_min_above_max_gives_max_everywhere_as_torch(device, dtype):
    """A scalar min above max raised ValueError, where PyTorch and NumPy give max for every
    element (topograd's tensor-bound clip did already); the gradient is 0 throughout, as there."""
    values = np.array([-3, 0, 1, 2, 5], dtype=dtype)
    _same(ag.clip(ag.tensor(values), 2, 1), torch.clamp(torch.tensor(values), 2, 1))
    _same(ag.tensor(values).clamp_(2, 1), torch.tensor(values).clamp_(2, 1))
    if dtype == "float64":
        x, t = ag.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
        ag.clip(x, 2.0, 1.0).sum().backward()
        torch.clamp(t, 2.0, 1.0).sum().backward()
        _same(x.grad, t.grad)


@pytest.mark.parametrize("side", ["min", "max"])
def test_a_nan_tensor_bound_gives_nan_as_torch(device, side):
    """x past neither bound kept its value where a tensor bound was NaN; PyTorch's clamp gives
    NaN there (as its scalar clamp, and topograd's, do)."""
    values, bound = np.array([-3.0, 0.5, 3.0, 0.5]), np.array([np.nan, np.nan, 1.0, 0.0])
    _same(ag.clip(ag.tensor(values), **{side: ag.tensor(bound)}),
          torch.clamp(torch.tensor(values), **{side: torch.tensor(bound)}))
    other = "max" if side == "min" else "min"  # here a scalar beside the tensor bound (a 0-d one in PyTorch)
    _same(ag.clip(ag.tensor(values), **{side: ag.tensor(bound), other: 0.25}),
          torch.clamp(torch.tensor(values), **{side: torch.tensor(bound), other: torch.tensor(0.25)}))


# --- writing a Python number an integer dtype cannot hold ----------------------------------

@pytest.mark.parametrize("dtype, value", [("int8", 300), ("uint8", -256), ("int64", math.nan),
                                          ("int32", math.inf), ("uint8", -0.5)], ids=repr)
@pytest.mark.parametrize("how", ["masked_fill_", "setitem", "masked_fill"])
def test_a_number_the_dtype_cannot_hold_is_refused_as_torch(device, how, dtype, value):
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


@pytest.mark.parametrize("how", ["fill_", "setitem", "masked_fill_", "full"])
def test_a_negative_int_wraps_into_uint8_as_torch(device, how):
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
        _same(write(ag, value), write(torch, value))


# --- integer powers with negative exponents -------------------------------------------------

def test_integer_tensor_to_negative_tensor_exponents_as_torch(device):
    """NumPy refuses any negative integer exponent, so this raised its ValueError; PyTorch
    computes 1 / base^-exponent truncated: 1 for base 1, +-1 for base -1, else 0 (0 too)."""
    base = np.array([[-1], [1], [0], [2], [-3]], dtype=np.int64)
    exponent = np.array([-3, -2, 0, 2, 3], dtype=np.int64)
    _same(ag.tensor(base) ** ag.tensor(exponent), torch.tensor(base) ** torch.tensor(exponent))
    _same(2 ** ag.tensor(exponent), 2 ** torch.tensor(exponent))
    x, t = ag.tensor(base[:, 0].copy()), torch.tensor(base[:, 0].copy())
    _same(x.pow_(ag.tensor(-1)), t.pow_(torch.tensor(-1)))


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int64"])
@pytest.mark.parametrize("exponent", [-1, 300])
def test_a_python_int_exponent_an_integer_tensor_cannot_take_is_refused(device, dtype, exponent):
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


# --- round with a scale past float64's range --------------------------------------------------

@pytest.mark.parametrize("decimals", [309, 400, -309, -400])
def test_round_with_decimals_past_float64_range_gives_nan_as_torch(device, decimals):
    """10.0 ** 309 overflows Python's float: round raised a bare OverflowError, where NumPy
    and PyTorch give NaN everywhere (their scale is inf)."""
    values = np.array([1.5, -2.25, 0.0, 1e300])
    x = ag.tensor(values, requires_grad=True)
    y = ag.round(x, decimals)
    _same(y.detach(), torch.round(torch.tensor(values), decimals=decimals))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(4))
