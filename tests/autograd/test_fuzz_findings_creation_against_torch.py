"""What a differential fuzz of the creation and conversion API against PyTorch turned up:
ag.tensor from nested lists with None, strings and NumPy scalars under a given dtype,
arange in float64 past 2**53 and with dtype bool, manual_seed with negative seeds, and
from_dlpack of arrays that no tensor dtype holds."""
from fractions import Fraction

import numpy as np
import pytest

import autograd as ag

torch = pytest.importorskip("torch")


# --- ag.tensor: what is not a number, under a given dtype ----------------------------------
@pytest.mark.parametrize("data, dtype", [
    ([1.0, None], "float32"), (None, "float16"), ([[1.0], [None]], "float64"), ("1", "int64"), (["a"], "bool"),
    (np.array(["1", "2"]), "float32"), (np.array([None, 1.0], dtype=object), "float64"),
], ids=repr)
def test_none_and_strings_under_a_dtype_are_refused_as_torch(device, data, dtype):
    """With a dtype given, NumPy casts what it is handed: [1.0, None] became [1.0, nan],
    "1" the number 1 and ["a"] True. PyTorch refuses them, with a dtype or without."""
    with pytest.raises((TypeError, ValueError)):
        torch.tensor(data, dtype=getattr(torch, dtype))
    with pytest.raises(TypeError, match="no tensor dtype holds it"):
        ag.tensor(data, dtype=dtype)
    with pytest.raises(TypeError, match="no tensor dtype holds it"):
        ag.tensor(data)


def test_numbers_python_converts_still_take_a_given_dtype_as_torch(device):
    """The refusal above is for None and strings only: a Fraction, which float() reads,
    becomes a number under a dtype in both (and stays an error without one)."""
    assert ag.tensor([Fraction(1, 2), 2], dtype="float32").tolist() == \
        torch.tensor([Fraction(1, 2), 2], dtype=torch.float32).tolist() == [0.5, 2.0]
    with pytest.raises(TypeError):
        ag.tensor([Fraction(1, 2)])


@pytest.mark.parametrize("item", [np.int64(300), np.int64(2 ** 62), np.int32(256)], ids=repr)
def test_numpy_ints_in_a_list_that_the_dtype_cannot_hold_are_refused_as_torch(device, item):
    """np.int64(300) in a list became 44 in uint8 (and 2**62 became 0): NumPy wraps its own
    scalars in the cast, where it refuses Python's 300. PyTorch refuses both."""
    with pytest.raises(RuntimeError, match="without overflow"):
        torch.tensor([item], dtype=torch.uint8)
    with pytest.raises(OverflowError, match="out of bounds for uint8"):
        ag.tensor([item, 1], dtype="uint8")


@pytest.mark.parametrize("data, dtype", [
    ([np.int64(200), 1], "uint8"), ([np.float32(0.1), 1.0], None), ([np.float16(0.1)], "float64"),
    ([np.int8(-3), 2], None), ([np.uint8(7), True], None), ([[np.float64(1.5)], [2]], "int32"),
], ids=repr)
def test_numpy_scalars_in_a_list_keep_their_values_and_dtype_as_torch(device, data, dtype):
    got = ag.tensor(data, dtype=dtype)
    want = torch.tensor(data, dtype=getattr(torch, dtype) if dtype else None)
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    assert got.tolist() == want.tolist()


# --- arange ----------------------------------------------------------------------------------
@pytest.mark.parametrize("args, dtype", [
    ((2 ** 53, 2 ** 53 + 4), "float64"), ((2.0 ** 53, 2.0 ** 53 + 8, 2.0), "float64"),
    ((-(2.0 ** 53) - 4, -(2.0 ** 53)), "float64"), ((2.0 ** 24, 2.0 ** 24 + 6, 2.0), "float32"),
], ids=repr)
def test_float_arange_keeps_counting_where_the_dtype_is_coarse_as_torch(device, args, dtype):
    """NumPy steps by (start + step) - start, which rounds to 0 at 2**53 in float64:
    arange(2**53, 2**53 + 4, dtype=float64) gave 2**53 four times; PyTorch computes each
    value as start + i * step and rounds it once."""
    got, want = ag.arange(*args, dtype=dtype), torch.arange(*args, dtype=getattr(torch, dtype))
    assert str(got.dtype) == dtype
    assert got.tolist() == want.tolist()


@pytest.mark.parametrize("args", [(0, 1, 0.1), (-10, 7, 0.1), (10, 0, -0.1), (0.1, 10, 0.001), (1, 2.2, 1.1),
                                  (-2.5, 1, 1 / 3), (0, 0.3, 0.1)], ids=repr)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float_arange_length_and_values_match_torch(device, args, dtype):
    got, want = ag.arange(*args, dtype=dtype), torch.arange(*args, dtype=getattr(torch, dtype))
    assert got.shape == tuple(want.shape)
    # PyTorch's vectorized kernel rounds some values differently: by an ulp of the range's size
    ulp = np.finfo(dtype).eps * max(abs(args[0]), abs(args[1]))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=0, atol=2 * ulp)


def test_bool_arange_is_refused_as_torch(device):
    """NumPy's bool arange counts to 2 and then raises its own message; PyTorch has none."""
    with pytest.raises(NotImplementedError):
        torch.arange(3, dtype=torch.bool)
    for args in ((2,), (0, 3)):
        with pytest.raises(TypeError, match="arange: dtype bool"):
            ag.arange(*args, dtype="bool")


# --- manual_seed -----------------------------------------------------------------------------
@pytest.mark.parametrize("seed, same_as", [(-1, 2 ** 64 - 1), (-(2 ** 63), 2 ** 63), (-5, 2 ** 64 - 5)], ids=repr)
def test_negative_seeds_count_as_their_twos_complement_as_torch(device, seed, same_as):
    """ag.manual_seed(-1) raised NumPy's "expected non-negative integer"; PyTorch takes any
    64-bit seed, a negative one as seed + 2**64."""
    torch.manual_seed(seed)
    assert torch.initial_seed() == same_as
    ag.manual_seed(seed)
    draws = ag.rand(4).tolist(), ag.randint(0, 100, (4,)).tolist()
    ag.manual_seed(same_as)
    assert (ag.rand(4).tolist(), ag.randint(0, 100, (4,)).tolist()) == draws


@pytest.mark.parametrize("seed", [2 ** 64, -(2 ** 63) - 1])
def test_a_seed_past_64_bits_is_refused_and_changes_nothing(device, seed):
    with pytest.raises((ValueError, RuntimeError)):
        torch.manual_seed(seed)
    ag.manual_seed(3)
    first = ag.rand(3).tolist()
    ag.manual_seed(3)
    with pytest.raises(ValueError, match="manual_seed: the seed .* does not fit in 64 bits"):
        ag.manual_seed(seed)
    assert ag.rand(3).tolist() == first


# --- from_dlpack -----------------------------------------------------------------------------
@pytest.mark.parametrize("make", [lambda: torch.tensor([1j, 2j]), lambda: np.array([1 + 1j])],
                         ids=["torch complex64", "numpy complex128"])
def test_from_dlpack_refuses_a_dtype_no_tensor_holds(make):
    """A complex array came in as a tensor that no op handles: its sum() was an int64 0.
    ag.tensor refuses the same array with the same message."""
    source = make()
    for convert in (ag.from_dlpack, ag.tensor):
        with pytest.raises(TypeError, match="its dtype would be complex"):
            convert(source)


@pytest.mark.parametrize("obj", [[1.0, 2.0], np.float64(1.0), 3], ids=repr)
def test_from_dlpack_of_what_is_no_dlpack_array_is_a_clear_type_error(obj):
    """It raised AttributeError: '...' object has no attribute '__dlpack_device__'."""
    with pytest.raises(TypeError, match="from_dlpack: takes an array that supports DLPack"):
        ag.from_dlpack(obj)


def test_from_dlpack_still_shares_memory_both_ways_as_torch():
    source = torch.tensor([1.0, 2.0])
    shared = ag.from_dlpack(source)
    shared.add_(1.0)
    source[1] = 10.0
    assert shared.tolist() == source.tolist() == [2.0, 10.0]
