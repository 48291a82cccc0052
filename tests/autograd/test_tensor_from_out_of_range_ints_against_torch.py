"""ag.tensor of Python numbers that the integer dtype asked for cannot hold, against PyTorch:
a negative int wraps into an unsigned dtype (uint8's -1 is 255) down to -max, as
torch.tensor takes it; anything else past the dtype's range is refused (OverflowError) with a message that
names the value, the dtype and the fix (NumPy raised "Python integer -1 out of bounds for
uint8" from inside its conversion, wrapping nothing)."""
import numpy as np
import pytest

import autograd as ag

EDGES = {
    "uint8": [-1, -128, -129, -255, -256, 255, 256, 300],
    "uint16": [-1, -65535, -65536, 65535, 65536],
    "uint32": [-1, -(2 ** 32) + 1, -(2 ** 32), 2 ** 32 - 1, 2 ** 32],
    "uint64": [-1, 2 ** 63, 2 ** 64 - 1],
    "int8": [-128, -129, 127, 128, 255, -256],
    "int16": [-32768, -32769, 32767, 32768, 65535],
    "int32": [-(2 ** 31), -(2 ** 31) - 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1],
    "int64": [-(2 ** 63), 2 ** 63 - 1, 2 ** 63, -(2 ** 63) - 1, 2 ** 64 - 1],
}
CASES = [(dtype, value) for dtype, values in EDGES.items() for value in values]
SHAPES = {"scalar": lambda v: v, "list": lambda v: [v], "nested": lambda v: [[1, 2], [3, v]],
          "tuple": lambda v: (0, v)}


def _torch_result(torch, data, dtype):
    try:
        return torch.tensor(data, dtype=getattr(torch, dtype)).tolist()
    except (RuntimeError, ValueError, OverflowError):
        return None


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype,value", CASES, ids=lambda x: repr(x))
def test_a_python_int_at_the_edge_of_an_integer_dtype_as_torch(device, torch, dtype, value, shape):
    data = SHAPES[shape](value)
    want = _torch_result(torch, data, dtype)
    if want is not None:
        got = ag.tensor(data, dtype=dtype)
        assert str(got.dtype) == dtype
        assert got.tolist() == want
    else:
        with pytest.raises(OverflowError, match=f"{value} does not fit in {dtype}|{value} needs more than 64 bits"):
            ag.tensor(data, dtype=dtype)


@pytest.mark.parametrize("data", [[-1.0], [300.0], [2, -1.0], [-0.5, 300], [float("inf")], [1e300]], ids=repr)
def test_a_float_outside_an_integer_dtype_is_refused_as_torch(device, torch, data):
    assert _torch_result(torch, data, "uint8") is None
    with pytest.raises((OverflowError, ValueError), match="does not fit in uint8|integers have no inf"):
        ag.tensor(data, dtype="uint8")


def test_the_refusal_names_the_value_the_dtype_and_the_fix(device):
    with pytest.raises(OverflowError) as refused:
        ag.tensor([1, 300], dtype="uint8")
    message = str(refused.value)
    assert "300" in message and "uint8" in message and "0 to 255" in message and "wider dtype" in message


def test_a_bool_and_a_negative_int_mix_as_torch(device, torch):
    want = torch.tensor([True, -1], dtype=torch.uint8).tolist()
    assert ag.tensor([True, -1], dtype="uint8").tolist() == want == [1, 255]


def test_numpy_scalars_in_a_list_are_taken_as_their_python_numbers(device, torch):
    assert _torch_result(torch, [np.int64(300)], "uint8") is None
    with pytest.raises(OverflowError, match="300 does not fit in uint8"):
        ag.tensor([np.int64(300)], dtype="uint8")
    assert ag.tensor([np.int64(-1)], dtype="uint8").tolist() == torch.tensor([np.int64(-1)], dtype=torch.uint8).tolist()


def test_an_array_is_cast_with_wrapping_as_torch(device, torch):
    # only Python numbers are checked; an array's values are cast, keeping their low bits
    data = np.array([-1, 300])
    assert ag.tensor(data, dtype="uint8").tolist() == torch.tensor(data, dtype=torch.uint8).tolist() == [255, 44]
