"""Creation functions (ag.tensor, zeros, full, arange, linspace, eye, rand, randint, the
*_like ones, manual_seed, set_default_dtype) against PyTorch: dtypes, shapes, values,
copies and errors, on every backend."""
import math
from fractions import Fraction

import numpy as np
import pytest

import autograd as ag
import backends

from tests.torch_versions import torch_older_than


def dtype_name(t):
    return str(t.dtype).replace("torch.", "")


def has_float16(device):
    try:
        backends.get(device).native_dtype(ag.float16)
    except TypeError:
        return False
    return True


# --- ag.tensor: dtype inference ---------------------------------------------------------
PYTHON_DATA = [3, 2.5, True, [], [[], []], [1, 2], [1.0, 2], [True, 2], [True, 1.5], [[1, 2], [3.5, 4]],
               (1.0, 2.0), [[True], [False]]]


@pytest.mark.parametrize("data", PYTHON_DATA, ids=repr)
def test_tensor_from_python_data_matches_torch(device, torch, data):
    got, want = ag.tensor(data), torch.tensor(data)
    assert got.device == device
    assert got.shape == tuple(want.shape) and dtype_name(got) == dtype_name(want)
    assert got.tolist() == want.tolist()


@pytest.mark.parametrize("name", ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"])
def test_tensor_from_numpy_keeps_its_dtype_as_torch(device, torch, name):
    if name == "float16" and not has_float16(device):
        pytest.skip("no float16 on this device")
    array = np.arange(4).reshape(2, 2).astype(name)
    got, want = ag.tensor(array), torch.tensor(array)
    assert dtype_name(got) == dtype_name(want) == name
    np.testing.assert_array_equal(got.numpy(), array)


def make_list(m, kind):
    """Lists whose elements carry dtypes of their own (tensors, NumPy values)."""
    f64 = (lambda v: m.tensor(v, dtype=m.float64)) if m is not ag else (lambda v: ag.tensor(v, dtype="float64"))
    return {
        "float64 0-d tensors": lambda: [f64(1.5), f64(2.5)],
        "float64 0-d tensor and a float": lambda: [f64(1.5), 2.0],
        "int 0-d tensors": lambda: [m.tensor(1), m.tensor(2)],
        "float32 0-d tensor and an int": lambda: [m.tensor(1.5), 2],
        "numpy float64 scalars": lambda: [np.float64(1.5), np.float64(2.5)],
        "numpy float64 rows": lambda: [np.array([1.0, 2.0]), np.array([3.0, 4.0])],
        "numpy int32 scalars": lambda: [np.int32(1), np.int32(2)],
    }[kind]()


@pytest.mark.filterwarnings("ignore:Creating a tensor from a list of numpy")
@pytest.mark.parametrize("kind", ["float64 0-d tensors", "float64 0-d tensor and a float", "int 0-d tensors",
                                  "float32 0-d tensor and an int", "numpy float64 scalars", "numpy float64 rows",
                                  "numpy int32 scalars"])
def test_list_of_typed_elements_keeps_their_dtype_on_every_device(device, torch, kind):
    """torch.tensor([t64, t64]) is float64; ag gave float32 (numpy's float64 read as a
    Python float), and off the CPU a list of tensors failed outright."""
    got, want = ag.tensor(make_list(ag, kind)), torch.tensor(make_list(torch, kind))
    assert got.device == device
    assert dtype_name(got) == dtype_name(want)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_list_of_pytorch_tensors_is_read_as_torch_reads_it(device, torch):
    """ag.tensor(a_torch_tensor) worked, but a list of them failed: 'unsupported dtype torch.float32'."""
    for data in ([torch.tensor(1.0), torch.tensor(2.0)], [torch.tensor(3), torch.tensor(4)],
                 [torch.tensor(1.0, dtype=torch.float64), 2.0]):
        got, want = ag.tensor(data), torch.tensor(data)
        assert got.device == device and dtype_name(got) == dtype_name(want)
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_list_of_float32_tensors_stays_float32_under_a_float64_default(device, torch):
    ag.set_default_dtype("float64")
    try:
        assert ag.tensor([ag.tensor(1.0, dtype="float32")]).dtype == ag.float32
        assert ag.tensor([np.float32(1.5), 2.0]).dtype == ag.float64  # a Python float counts as the default
        assert ag.tensor([np.float32(1.5)]).dtype == ag.float32
    finally:
        ag.set_default_dtype("float32")
    assert torch.tensor([np.float32(1.5)]).dtype == torch.float32


def test_ragged_and_non_numeric_lists_are_clear_errors(device):
    with pytest.raises(ValueError, match="inhomogeneous"):
        ag.tensor([[1, 2], [3]])
    for bad in ([1.0, None], ["a"], 1j, [2 ** 64]):
        with pytest.raises((TypeError, OverflowError)):
            ag.tensor(bad)


def test_integer_tensors_cannot_require_grad(device, torch):
    with pytest.raises(RuntimeError):
        torch.tensor([1, 2], requires_grad=True)
    for make in (lambda: ag.tensor([1, 2], requires_grad=True), lambda: ag.zeros(2, dtype="int64", requires_grad=True),
                 lambda: ag.full((2,), 3, requires_grad=True), lambda: ag.arange(3, requires_grad=True)):
        with pytest.raises(TypeError, match="floating"):
            make()


# --- ag.tensor: copies ------------------------------------------------------------------
def test_tensor_copies_a_numpy_array_and_a_tensor(device):
    array = np.array([1.0, 2.0])
    t = ag.tensor(array)
    array[0] = 99.0
    source = ag.tensor([1.0, 2.0])
    u = ag.tensor(source)
    source.add_(1.0)
    assert t.tolist() == [1.0, 2.0] and u.tolist() == [1.0, 2.0]


def test_tensor_copies_array_likes_that_numpy_only_views(device, torch):
    """np.asarray(torch_tensor) and np.asarray(masked_array) are views: ag.tensor kept
    them, so writes to the source showed in the tensor (torch.tensor copies)."""
    source = torch.tensor([1.0, 2.0])
    masked = np.ma.array([1.0, 2.0])
    from_torch, from_masked = ag.tensor(source), ag.tensor(masked)
    source[0] = 99.0
    masked[0] = 99.0
    assert from_torch.tolist() == [1.0, 2.0]
    assert from_masked.tolist() == [1.0, 2.0]


# --- shapes -----------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 3), ((2, 3),), ([2, 3],), (np.int64(2), 3), ((),), (0,), (np.int32(4),)],
                         ids=repr)
def test_zeros_and_ones_take_every_shape_form_as_torch(device, torch, shape):
    want = torch.zeros(*shape).shape
    assert ag.zeros(*shape).shape == tuple(want) == ag.ones(*shape).shape == ag.empty(*shape).shape
    assert ag.rand(*shape).shape == tuple(want) == ag.randn(*shape).shape


def test_torch_size_is_a_shape(device, torch):
    assert ag.zeros(torch.Size([2, 3])).shape == (2, 3) == ag.full(torch.Size([2, 3]), 1.0).shape


def test_a_0d_integer_tensor_is_a_size_as_torch(device, torch):
    """It was taken for a shape to iterate: 'a shape takes integer sizes, got tensor(3, dtype=int64)'."""
    for make, size in [(ag.zeros, ag.tensor(3)), (ag.ones, ag.tensor(3)), (ag.rand, ag.tensor(3)),
                       (ag.empty, np.array(3))]:
        assert make(size).shape == (3,) == tuple(torch.zeros(torch.tensor(3)).shape)
    assert ag.full(ag.tensor(2), 1.0).shape == (2,) and ag.linspace(0, 1, ag.tensor(3)).shape == (3,)
    assert ag.arange(6).reshape(ag.tensor(6)).shape == (6,) == tuple(torch.arange(6).reshape(torch.tensor(6)).shape)
    with pytest.raises(TypeError, match="integer sizes"):
        ag.zeros(ag.tensor(3.0))


@pytest.mark.parametrize("make", [lambda: ag.zeros(-1), lambda: ag.ones(2, -3), lambda: ag.empty((-1,)),
                                  lambda: ag.full((2, -1), 1.0), lambda: ag.rand(-2), lambda: ag.eye(-1),
                                  lambda: ag.randint(0, 3, (-1,))])
def test_negative_sizes_are_errors(device, make):
    with pytest.raises(ValueError, match="negative"):
        make()


def test_float_sizes_are_type_errors(device):
    for make in (lambda: ag.zeros(2.0), lambda: ag.rand(2, 1.5), lambda: ag.eye(2.0), lambda: ag.zeros(True),
                 lambda: ag.ones((2, False))):  # operator.index takes True as 1
        with pytest.raises(TypeError):
            make()


# --- full -------------------------------------------------------------------------------
@pytest.mark.parametrize("fill", [1.5, 3, True, np.float64(2.5), np.int32(7)], ids=repr)
def test_full_infers_its_dtype_from_the_fill_value_as_torch(device, torch, fill):
    got, want = ag.full((2, 2), fill), torch.full((2, 2), fill)
    assert dtype_name(got) == dtype_name(want)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("fill, dtype", [(1.7, "int64"), (-2.7, "int32"), (True, "float32"), (1.5, "bool"), (7, "float64")])
def test_full_with_a_dtype_converts_as_torch(device, torch, fill, dtype):
    got, want = ag.full((3,), fill, dtype=dtype), torch.full((3,), fill, dtype=getattr(torch, dtype))
    assert dtype_name(got) == dtype
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("fill", [None, 1j, "a"], ids=repr)
def test_full_refuses_a_fill_value_that_is_not_a_real_number(device, fill):
    """NumPy filled None as nan and 1j as 0 (dropping the imaginary part), silently."""
    with pytest.raises(TypeError, match="fill_value"):
        ag.full((2,), fill)


@pytest.mark.parametrize("fill", [math.inf, -math.inf, math.nan])
def test_full_refuses_inf_and_nan_for_integers_as_torch(device, torch, fill):
    """NumPy filled the most negative int64 there, with only a RuntimeWarning."""
    with pytest.raises(RuntimeError):
        torch.full((2,), fill, dtype=torch.int64)
    with pytest.raises(ValueError, match="int64"):
        ag.full((2,), fill, dtype="int64")
    with pytest.raises(ValueError, match="int64"):
        ag.full_like(ag.tensor([1, 2]), fill)


@pytest.mark.parametrize("fill, dtype", [(1e5, "float16"), (-70000.0, "float16"), (1e300, "float32"), (300, "uint8"),
                                         (2 ** 40, "int32"), (2 ** 70, "int64")], ids=repr)
def test_full_refuses_a_value_its_dtype_cannot_hold_as_torch(device, torch, fill, dtype):
    """NumPy filled inf for a float overflow, with only a RuntimeWarning."""
    if dtype == "float16" and not has_float16(device):
        pytest.skip("no float16 on this backend")
    with pytest.raises((RuntimeError, OverflowError)):
        torch.full((2,), fill, dtype=getattr(torch, dtype))
    with pytest.raises(ValueError, match=f"does not fit in {dtype}"):
        ag.full((2,), fill, dtype=dtype)
    x = ag.zeros(2, dtype=dtype)
    with pytest.raises(ValueError, match=f"does not fit in {dtype}"):
        x.fill_(fill)
    assert x.tolist() == [0, 0]  # refused whole


def test_full_takes_its_extremes_and_special_floats(device, torch):
    assert ag.full((1,), 255, dtype="uint8").tolist() == torch.full((1,), 255, dtype=torch.uint8).tolist()
    assert ag.full((1,), 2.9, dtype="uint8").tolist() == [2]
    with pytest.raises(RuntimeError):  # checked before truncation: -0.5 is below uint8's range
        torch.full((1,), -0.5, dtype=torch.uint8)
    with pytest.raises(ValueError, match="-0.5 does not fit in uint8"):
        ag.full((1,), -0.5, dtype="uint8")
    assert ag.full((1,), -0.5, dtype="int8").tolist() == [0]
    assert ag.full((1,), 3.4e38, dtype="float32").tolist() == torch.full((1,), 3.4e38).tolist()
    assert ag.full((1,), -math.inf).tolist() == [-math.inf] and math.isnan(ag.full((1,), math.nan).item())
    assert ag.full((2,), 7, dtype="bool").tolist() == [True, True]


def test_full_refuses_a_size_that_is_not_integers(device, torch):
    with pytest.raises(TypeError):
        torch.full(2.0, 1.0)
    with pytest.raises(TypeError, match="integer sizes"):
        ag.full(2.0, 1.0)


# --- *_like -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["zeros_like", "ones_like"])
@pytest.mark.parametrize("dtype", ["int32", "bool", "float64"])
def test_like_functions_keep_dtype_and_device_as_torch(device, torch, name, dtype):
    x = ag.tensor([[1, 0, 2]], dtype=dtype)
    got, want = getattr(ag, name)(x), getattr(torch, name)(torch.tensor([[1, 0, 2]], dtype=getattr(torch, dtype)))
    assert got.device == device and got.shape == (1, 3) and dtype_name(got) == dtype_name(want)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_like_functions_override_dtype_and_take_requires_grad(device, torch):
    x = ag.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    assert not ag.zeros_like(x).requires_grad  # as torch: a new leaf, out of the graph
    assert ag.zeros_like(x, dtype="float32").dtype == ag.float32
    y = ag.ones_like(x, requires_grad=True)
    assert y.requires_grad and y.is_leaf and y.dtype == ag.float64
    assert ag.full_like(ag.tensor([1, 2]), 2.5).tolist() == torch.full_like(torch.tensor([1, 2]), 2.5).tolist()
    z = ag.full_like(ag.tensor([1, 2]), 2.5, dtype="float32", requires_grad=True)
    assert z.dtype == ag.float32 and z.requires_grad and z.tolist() == [2.5, 2.5]
    with pytest.raises(TypeError, match="floating"):
        ag.ones_like(ag.tensor([1]), requires_grad=True)


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "full_like"])
def test_like_functions_refuse_an_array_with_a_clear_error_as_torch(device, torch, name):
    args = (1.0,) if name == "full_like" else ()
    with pytest.raises(TypeError):
        getattr(torch, name)(np.zeros(2), *args)
    with pytest.raises(TypeError, match=f"{name}: takes a Tensor"):
        getattr(ag, name)(np.zeros(2), *args)


# --- arange -----------------------------------------------------------------------------
@pytest.mark.parametrize("args", [(5,), (2, 8, 3), (5, 0, -1), (0, 1, 0.1), (1, 2.5, 0.5), (0, 0.3, 0.1),
                                  (-1, -3, -0.5), (5.0,), (0, 1, 1 / 3), (0, 10 ** 10, 10 ** 9), (3, 3)], ids=repr)
def test_arange_length_values_and_dtype_match_torch(device, torch, args):
    got, want = ag.arange(*args), torch.arange(*args)
    assert got.shape == tuple(want.shape) and dtype_name(got) == dtype_name(want)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


@pytest.mark.parametrize("args", [(0, 5, 1.5), (-2.5, 2.5), (0.5, 5), (0, 7.9, 2)], ids=repr)
def test_integer_arange_truncates_bounds_and_step_as_torch(device, torch, args):
    """NumPy steps by int(start + step) - int(start): arange(0, 5, 1.5, int64) gave
    [0, 1, 2, 3] where torch gives [0, 1, 2, 3, 4], and (-2.5, 2.5) one element more."""
    got, want = ag.arange(*args, dtype="int64"), torch.arange(*args, dtype=torch.int64)
    assert got.tolist() == want.tolist()


def test_integer_arange_with_a_step_that_truncates_to_zero_is_an_error(device, torch):
    """arange(0, 1, 0.3, dtype=int64) gave [0, 0, 0, 0]; torch refuses (step 0)."""
    if not torch_older_than("2.13"):  # PyTorch 2.11 crashed the process here (2.13 raises)
        with pytest.raises(ValueError):
            torch.arange(0, 1, 0.3, dtype=torch.int64)
    with pytest.raises(ValueError, match="step"):
        ag.arange(0, 1, 0.3, dtype="int64")


@pytest.mark.parametrize("args", [(0, 5, -1), (5, 0, 1), (0.0, -1.0, 0.5)], ids=repr)
def test_arange_with_a_step_away_from_stop_is_an_error_as_torch(device, torch, args):
    """NumPy gives an empty tensor, which hides a sign slip."""
    with pytest.raises(RuntimeError, match="inconsistent"):
        torch.arange(*args)
    with pytest.raises(ValueError, match="flip the step's sign"):
        ag.arange(*args)
    assert ag.arange(0, 0, -1).shape == (0,)


@pytest.mark.parametrize("stop", [math.inf, math.nan])
def test_arange_to_inf_or_nan_is_an_error_as_torch(device, torch, stop):
    with pytest.raises(RuntimeError, match="unsupported range"):
        torch.arange(0, stop)
    with pytest.raises(ValueError, match="finite"):
        ag.arange(0, stop)


@pytest.mark.parametrize("args, dtype", [((16777216, 16777220), "float32"), ((2049, 2056), "float16"),
                                         ((0.0, 1.0, 0.1), "float32"), ((-3.0, 2.0, 0.7), "float16")], ids=repr)
def test_narrow_float_arange_rounds_each_value_once_as_torch(device, torch, args, dtype):
    """NumPy adds the step in the narrow dtype: past 2**24 a float32 arange repeated
    16777216 where torch counts 16777216, 16777216, 16777218, 16777220."""
    if dtype == "float16" and not has_float16(device):
        pytest.skip("no float16 on this backend")
    got, want = ag.arange(*args, dtype=dtype), torch.arange(*args, dtype=getattr(torch, dtype))
    assert dtype_name(got) == dtype
    assert got.tolist() == want.tolist()


def test_arange_zero_step_and_explicit_dtype(device, torch):
    for step in (0, 0.0):
        with pytest.raises(ValueError, match="step"):
            ag.arange(0, 5, step)
    got = ag.arange(5, dtype="float64")
    assert got.dtype == ag.float64 and got.tolist() == torch.arange(5, dtype=torch.float64).tolist()
    assert ag.arange(np.int32(4)).dtype == ag.int64 and ag.arange(ag.tensor(2.5)).tolist() == [0.0, 1.0, 2.0]


# --- linspace and eye -------------------------------------------------------------------
@pytest.mark.parametrize("args", [(0, 1, 0), (0, 1, 1), (2, 3, 1), (0, 1, 2), (0.1, 0.7, 7), (-3, 5, 9)], ids=repr)
def test_linspace_counts_and_exact_endpoints_as_torch(device, torch, args):
    got, want = ag.linspace(*args), torch.linspace(*args)
    assert got.shape == tuple(want.shape) and got.dtype == ag.float32
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-7)
    if args[2] >= 1:
        assert got.numpy()[0] == want.numpy()[0]
    if args[2] >= 2:
        assert got.numpy()[-1] == want.numpy()[-1]


@pytest.mark.parametrize("args", [(0, 10, 5), (0, 1, 5), (-1, 1, 5), (3, -3, 7), (-7, -1, 4), (0, 9, 4)], ids=repr)
def test_integer_linspace_truncates_as_torch(device, torch, args):
    """NumPy rounds down (-0.5 to -1): linspace(-1, 1, 5, int64) gave [-1, -1, 0, 0, 1]."""
    got, want = ag.linspace(*args, dtype="int64"), torch.linspace(*args, dtype=torch.int64)
    assert got.dtype == ag.int64 and got.tolist() == want.tolist()


def test_linspace_takes_zero_d_tensor_bounds_on_every_device(device, torch):
    """torch.linspace takes 0-d tensors; ag did on the CPU only."""
    got = ag.linspace(ag.tensor(0.0), ag.tensor(1.0), 3)
    assert got.tolist() == torch.linspace(torch.tensor(0.0), torch.tensor(1.0), 3).tolist()


@pytest.mark.parametrize("start, stop, dtype", [(0, 300, "uint8"), (-300, 0, "uint8"), (0, 2 ** 40, "int32"),
                                               (0, math.nan, "int64"), (0, math.inf, "int64"), (0, 1e39, "float32"),
                                               (-1e300, 0, "float32"), (0, 1e5, "float16")], ids=repr)
def test_linspace_refuses_ends_its_dtype_cannot_hold_as_torch(device, torch, start, stop, dtype):
    """NumPy wrapped them (linspace(0, 300, 3, uint8) gave [0, 150, 44]) or overflowed to inf."""
    if dtype == "float16" and not has_float16(device):
        pytest.skip("no float16 on this backend")
    with pytest.raises(RuntimeError, match="without overflow"):
        torch.linspace(start, stop, 3, dtype=getattr(torch, dtype))
    with pytest.raises(ValueError, match=dtype):
        ag.linspace(start, stop, 3, dtype=dtype)


@pytest.mark.parametrize("end", [1j, "0", None], ids=repr)
def test_linspace_refuses_ends_that_are_not_real_numbers(device, end):
    """NumPy dropped 1j's imaginary part silently, and raised its own promotion error for "0"."""
    for args in [(end, 1), (0, end)]:
        with pytest.raises(TypeError, match="linspace: (start|stop) must be a real number"):
            ag.linspace(*args, 3)


@pytest.mark.parametrize("n, m", [(2, 3), (3, 2), (0, None), (1, None), (3, 0)])
def test_eye_matches_torch(device, torch, n, m):
    got = ag.eye(n, m)
    want = torch.eye(n) if m is None else torch.eye(n, m)
    assert got.shape == tuple(want.shape) and got.dtype == ag.float32
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert ag.eye(2, dtype="int64").tolist() == torch.eye(2, dtype=torch.int64).tolist()


# --- random -----------------------------------------------------------------------------
def test_rand_in_float16_stays_below_one(device):
    """rand's draws were rounded into float16 after the fact: one in about 4,000 became
    1.0, outside the [0, 1) that rand promises (and torch keeps)."""
    if not has_float16(device):
        pytest.skip("no float16 on this device")
    x = ag.rand(40_000, dtype="float16").numpy()
    assert x.min() >= 0 and x.max() < 1


def test_uniform_draws_never_reach_the_upper_bound(device):
    """[1, 1 + 2**-20) holds only 8 float32 numbers: a draw rounded into float32 landed
    on the bound itself about one time in 16."""
    backend = backends.get(device)
    x = backend.to_numpy(backend.uniform((20_000,), 1.0, 1.0 + 2.0 ** -20, ag.float32))
    assert x.dtype == np.float32 and x.min() >= 1.0 and x.max() < np.float32(1.0 + 2.0 ** -20)


def test_random_shapes_ranges_and_dtypes(device):
    r, n = ag.rand(200, 3), ag.randn(2, 3, dtype="float64")
    assert r.shape == (200, 3) and r.dtype == ag.float32 and 0 <= r.numpy().min() and r.numpy().max() < 1
    assert n.shape == (2, 3) and n.dtype == ag.float64
    i = ag.randint(-2, 3, (500,))
    assert i.dtype == ag.int64 and i.shape == (500,)
    assert set(i.tolist()) == {-2, -1, 0, 1, 2}
    assert ag.randint(0, 5, 4).shape == (4,) and ag.randint(0, 5, ()).shape == ()
    with pytest.raises(ValueError):
        ag.randint(5, 5, (3,))


def test_randint_takes_torchs_forms_and_keywords(device, torch):
    ag.manual_seed(0)
    for got, want in [(ag.randint(3, (40,)), torch.randint(3, (40,))),
                      (ag.randint(3, size=(40,)), torch.randint(3, size=(40,))),
                      (ag.randint(high=3, size=(40,)), torch.randint(high=3, size=(40,))),
                      (ag.randint(-1, 2, size=(40,)), torch.randint(-1, 2, size=(40,))),
                      (ag.randint(1, 3, (40,), dtype="int32"), torch.randint(1, 3, (40,), dtype=torch.int32))]:
        assert got.shape == tuple(want.shape) and dtype_name(got) == dtype_name(want) and got.device == device
        assert set(got.tolist()) == set(want.tolist())  # 40 draws from 2 or 3 values: all of them, both
    x = ag.randint(0, 3, (5,), dtype="float32", requires_grad=True)
    assert x.dtype == ag.float32 and x.requires_grad and x.is_leaf and set(x.tolist()) <= {0.0, 1.0, 2.0}


def test_randint_mistakes_are_clear_errors(device, torch):
    with pytest.raises(RuntimeError, match="floating point"):
        torch.randint(0, 3, (2,), requires_grad=True)
    with pytest.raises(TypeError, match="floating"):
        ag.randint(0, 3, (2,), requires_grad=True)
    with pytest.raises(TypeError, match="missing the size"):
        ag.randint(0, 3)
    with pytest.raises(TypeError, match="integers"):
        ag.randint(0.5, 3, (2,))
    with pytest.raises(ValueError, match="below high"):
        ag.randint(0, (2,))  # randint(high=0, size=(2,)): nothing to draw from
    with pytest.raises(ValueError, match=r"\[0, 300\) does not fit in uint8"):
        ag.randint(0, 300, (2,), dtype="uint8")  # drawn in int64, the cast would wrap 256.. to 0..
    assert set(ag.randint(0, 2, (50,), dtype="bool").tolist()) == {False, True}


def test_manual_seed_reproduces_and_devices_draw_independently(device):
    others = [d for d in backends.available_devices() if d != device]
    ag.manual_seed(7)
    first = [ag.rand(4).tolist(), ag.randn(3).tolist(), ag.randint(0, 100, (5,)).tolist()]
    ag.manual_seed(7)
    for other in others:  # draws elsewhere leave this device's stream alone
        ag.rand(50, device=other)
    again = [ag.rand(4).tolist(), ag.randn(3).tolist(), ag.randint(0, 100, (5,)).tolist()]
    assert first == again
    ag.manual_seed(8)
    assert ag.rand(4).tolist() != first[0]


# --- the default dtype ------------------------------------------------------------------
def test_a_float64_default_reaches_every_float_creation_but_not_integers(device, torch):
    ag.set_default_dtype(ag.float64)
    try:
        floats = [ag.tensor([1.0]), ag.tensor(2.5), ag.zeros(2), ag.ones(2), ag.empty(2), ag.full((2,), 1.5),
                  ag.arange(3.0), ag.arange(0, 1, 0.5), ag.linspace(0, 1, 3), ag.eye(2), ag.rand(2), ag.randn(2)]
        assert all(t.dtype == ag.float64 for t in floats)
        integers = [ag.tensor([1]), ag.full((2,), 3), ag.arange(3), ag.randint(0, 3, (2,))]
        assert all(t.dtype == ag.int64 for t in integers)
        assert ag.tensor(np.ones(2, np.float32)).dtype == ag.float32  # an array keeps its own
        assert ag.ones_like(ag.zeros(2, dtype="float32")).dtype == ag.float32
    finally:
        ag.set_default_dtype(ag.float32)
    assert ag.zeros(1).dtype == ag.float32


# --- ag.tensor: what is not a number, under a given dtype ----------------------------------
@pytest.mark.parametrize("data, dtype", [
    ([1.0, None], "float32"), (None, "float16"), ([[1.0], [None]], "float64"), ("1", "int64"), (["a"], "bool"),
    (np.array(["1", "2"]), "float32"), (np.array([None, 1.0], dtype=object), "float64"),
], ids=repr)
def test_none_and_strings_under_a_dtype_are_refused_as_torch(device, torch, data, dtype):
    """With a dtype given, NumPy casts what it is handed: [1.0, None] became [1.0, nan],
    "1" the number 1 and ["a"] True. PyTorch refuses them, with a dtype or without."""
    with pytest.raises((TypeError, ValueError)):
        torch.tensor(data, dtype=getattr(torch, dtype))
    with pytest.raises(TypeError, match="no tensor dtype holds it"):
        ag.tensor(data, dtype=dtype)
    with pytest.raises(TypeError, match="no tensor dtype holds it"):
        ag.tensor(data)


def test_numbers_python_converts_still_take_a_given_dtype_as_torch(device, torch):
    """The refusal above is for None and strings only: a Fraction, which float() reads,
    becomes a number under a dtype in both (and stays an error without one)."""
    assert ag.tensor([Fraction(1, 2), 2], dtype="float32").tolist() == \
        torch.tensor([Fraction(1, 2), 2], dtype=torch.float32).tolist() == [0.5, 2.0]
    with pytest.raises(TypeError):
        ag.tensor([Fraction(1, 2)])


@pytest.mark.parametrize("item", [np.int64(300), np.int64(2 ** 62), np.int32(256)], ids=repr)
def test_numpy_ints_in_a_list_that_the_dtype_cannot_hold_are_refused_as_torch(device, torch, item):
    """np.int64(300) in a list became 44 in uint8 (and 2**62 became 0): NumPy wraps its own
    scalars in the cast, where it refuses Python's 300. PyTorch refuses both."""
    with pytest.raises(RuntimeError, match="without overflow"):
        torch.tensor([item], dtype=torch.uint8)
    with pytest.raises(OverflowError, match=f"{int(item)} does not fit in uint8"):
        ag.tensor([item, 1], dtype="uint8")


@pytest.mark.parametrize("data, dtype", [
    ([np.int64(200), 1], "uint8"), ([np.float32(0.1), 1.0], None), ([np.float16(0.1)], "float64"),
    ([np.int8(-3), 2], None), ([np.uint8(7), True], None), ([[np.float64(1.5)], [2]], "int32"),
], ids=repr)
def test_numpy_scalars_in_a_list_keep_their_values_and_dtype_as_torch(device, torch, data, dtype):
    got = ag.tensor(data, dtype=dtype)
    want = torch.tensor(data, dtype=getattr(torch, dtype) if dtype else None)
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    assert got.tolist() == want.tolist()


# --- arange ----------------------------------------------------------------------------------
@pytest.mark.parametrize("args, dtype", [
    ((2 ** 53, 2 ** 53 + 4), "float64"), ((2.0 ** 53, 2.0 ** 53 + 8, 2.0), "float64"),
    ((-(2.0 ** 53) - 4, -(2.0 ** 53)), "float64"), ((2.0 ** 24, 2.0 ** 24 + 6, 2.0), "float32"),
], ids=repr)
def test_float_arange_keeps_counting_where_the_dtype_is_coarse_as_torch(device, torch, args, dtype):
    """NumPy steps by (start + step) - start, which rounds to 0 at 2**53 in float64:
    arange(2**53, 2**53 + 4, dtype=float64) gave 2**53 four times; PyTorch computes each
    value as start + i * step and rounds it once."""
    got, want = ag.arange(*args, dtype=dtype), torch.arange(*args, dtype=getattr(torch, dtype))
    assert str(got.dtype) == dtype
    assert got.tolist() == want.tolist()


@pytest.mark.parametrize("args", [(0, 1, 0.1), (-10, 7, 0.1), (10, 0, -0.1), (0.1, 10, 0.001), (1, 2.2, 1.1),
                                  (-2.5, 1, 1 / 3), (0, 0.3, 0.1)], ids=repr)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float_arange_length_and_values_match_torch(device, torch, args, dtype):
    got, want = ag.arange(*args, dtype=dtype), torch.arange(*args, dtype=getattr(torch, dtype))
    assert got.shape == tuple(want.shape)
    # PyTorch's vectorized kernel rounds some values differently: by an ulp of the range's size
    ulp = np.finfo(dtype).eps * max(abs(args[0]), abs(args[1]))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=0, atol=2 * ulp)


def test_bool_arange_is_refused_as_torch(device, torch):
    """NumPy's bool arange counts to 2 and then raises its own message; PyTorch has none."""
    with pytest.raises(NotImplementedError):
        torch.arange(3, dtype=torch.bool)
    for args in ((2,), (0, 3)):
        with pytest.raises(TypeError, match="arange: dtype bool"):
            ag.arange(*args, dtype="bool")


# --- manual_seed -----------------------------------------------------------------------------
@pytest.mark.parametrize("seed, same_as", [(-1, 2 ** 64 - 1), (-(2 ** 63), 2 ** 63), (-5, 2 ** 64 - 5)], ids=repr)
def test_negative_seeds_count_as_their_twos_complement_as_torch(device, torch, seed, same_as):
    """ag.manual_seed(-1) raised NumPy's "expected non-negative integer"; PyTorch takes any
    64-bit seed, a negative one as seed + 2**64."""
    torch.manual_seed(seed)
    assert torch.initial_seed() == same_as
    ag.manual_seed(seed)
    draws = ag.rand(4).tolist(), ag.randint(0, 100, (4,)).tolist()
    ag.manual_seed(same_as)
    assert (ag.rand(4).tolist(), ag.randint(0, 100, (4,)).tolist()) == draws


@pytest.mark.parametrize("seed", [2 ** 64, -(2 ** 63) - 1])
def test_a_seed_past_64_bits_is_refused_and_changes_nothing(device, torch, seed):
    with pytest.raises((ValueError, RuntimeError)):
        torch.manual_seed(seed)
    ag.manual_seed(3)
    first = ag.rand(3).tolist()
    ag.manual_seed(3)
    with pytest.raises(ValueError, match="manual_seed: the seed .* does not fit in 64 bits"):
        ag.manual_seed(seed)
    assert ag.rand(3).tolist() == first


# --- from_dlpack -----------------------------------------------------------------------------
@pytest.mark.parametrize("make", [lambda torch: torch.tensor([1j, 2j]), lambda torch: np.array([1 + 1j])],
                         ids=["torch complex64", "numpy complex128"])
def test_from_dlpack_refuses_a_dtype_no_tensor_holds(torch, make):
    """A complex array came in as a tensor that no op handles: its sum() was an int64 0.
    ag.tensor refuses the same array with the same message."""
    source = make(torch)
    for convert in (ag.from_dlpack, ag.tensor):
        with pytest.raises(TypeError, match="its dtype would be complex"):
            convert(source)


@pytest.mark.parametrize("obj", [[1.0, 2.0], np.float64(1.0), 3], ids=repr)
def test_from_dlpack_of_what_is_no_dlpack_array_is_a_clear_type_error(obj):
    """It raised AttributeError: '...' object has no attribute '__dlpack_device__'."""
    with pytest.raises(TypeError, match="from_dlpack: takes an array that supports DLPack"):
        ag.from_dlpack(obj)


def test_from_dlpack_still_shares_memory_both_ways_as_torch(torch):
    source = torch.tensor([1.0, 2.0])
    shared = ag.from_dlpack(source)
    shared.add_(1.0)
    source[1] = 10.0
    assert shared.tolist() == source.tolist() == [2.0, 10.0]


# --- ag.tensor of byte-swapped NumPy arrays (a big-endian file's) and of Python ints past int64 ---
def test_a_big_endian_array_makes_a_tensor_of_the_native_dtype(device):
    """Its dtype was '>f4', which is float32 but not equal to ag.float32: requires_grad refused
    it as not floating point and repr showed two dtypes. (PyTorch refuses such arrays; NumPy
    casts them: the values are the array's, in this machine's byte order.)"""
    big = np.array([0.5, -1.5, 2.0], dtype=">f4")
    x = ag.tensor(big, requires_grad=True)
    assert x.dtype == ag.float32 and "dtype=float32" in repr(x)
    np.testing.assert_array_equal(x.numpy(), big.astype(np.float32))
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2 * big.astype(np.float32))
    assert ag.tensor(np.arange(3, dtype=">i8")).dtype == ag.int64
    # a byte-swapped dtype asked for by name or object is the native one, as np.dtype(...).name says
    assert ag.zeros(2, dtype=">f8").dtype == ag.float64
    assert ag.ones(2).to(np.dtype(">f8")).dtype == ag.float64


def test_a_python_int_past_int64_is_an_overflow_as_torch(torch):
    """A bare 2**63 became a uint64 tensor (NumPy's choice); in a list it already overflowed,
    and PyTorch refuses both. The largest int64 still fits."""
    for value in (2 ** 63, [2 ** 63]):
        with pytest.raises((OverflowError, ValueError)):
            torch.tensor(value)
        with pytest.raises(OverflowError):
            ag.tensor(value)
    for value in (2 ** 63 - 1, -2 ** 63):
        t, tt = ag.tensor(value), torch.tensor(value)
        assert (t.dtype.name, t.item()) == (str(tt.dtype).removeprefix("torch."), tt.item())


# --- empty_like, rand_like, randn_like and randint_like -----------------------------------
@pytest.mark.parametrize("name", ["empty_like", "rand_like", "randn_like"])
def test_empty_rand_and_randn_like_take_shape_dtype_and_overrides_as_torch(device, torch, name):
    x, tx = ag.ones((2, 3), dtype=ag.float64), torch.ones((2, 3), dtype=torch.float64)
    for kwargs, tkwargs in (({}, {}), ({"dtype": ag.float32}, {"dtype": torch.float32})):
        ours, theirs = getattr(ag, name)(x, **kwargs), getattr(torch, name)(tx, **tkwargs)
        assert (ours.shape, ours.dtype.name, ours.device) == (tuple(theirs.shape),
                                                              str(theirs.dtype).removeprefix("torch."), x.device)
    assert getattr(ag, name)(x, requires_grad=True).requires_grad
    if name != "empty_like":  # random floats only, as PyTorch
        with pytest.raises(NotImplementedError):
            getattr(torch, name)(torch.tensor([1, 2]))
        with pytest.raises(TypeError, match="floating point"):
            getattr(ag, name)(ag.tensor([1, 2]))
    if name == "rand_like":
        draws = ag.rand_like(ag.zeros(1000)).numpy()
        assert 0 <= draws.min() and draws.max() < 1


def test_randint_like_takes_torchs_forms(device, torch):
    x, tx = ag.zeros((50, 40), dtype=ag.int32), torch.zeros((50, 40), dtype=torch.int32)
    for args in ((5,), (-3, 2)):
        ours, theirs = ag.randint_like(x, *args), torch.randint_like(tx, *args)
        assert (ours.shape, ours.dtype.name) == (tuple(theirs.shape), "int32")
        low, high = (0, *args) if len(args) == 1 else args
        assert set(ours.numpy().ravel().tolist()) == set(range(low, high)) == set(theirs.unique().tolist())
    assert ag.randint_like(ag.zeros(3), 10).dtype == ag.float32 == np.dtype(str(torch.randint_like(
        torch.zeros(3), 10).dtype).removeprefix("torch."))


# --- sizes that are not non-negative integers -----------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: ag.zeros(4, 2.5),        # silently (4, 2) now
    lambda: ag.randn(4, 2.5),        # silently (4, 2) now
    lambda: ag.ones((4, 2.5)),       # silently (4, 2) now
    lambda: ag.zeros(4, "3"),        # silently (4, 3) now
    lambda: ag.zeros(2.5),           # "'float' object is not iterable" now
], ids=["zeros-args", "randn-args", "ones-tuple", "zeros-str", "zeros-one-float"])
def test_creation_refuses_a_non_integer_size(device, make):
    """torch.zeros(4, 2.5) raises 'must be tuple of ints'; truncating n / 2 to an int
    hides a bug in the user's arithmetic."""
    with pytest.raises(TypeError, match=r"(?i)integer|int\b"):
        make()


@pytest.mark.parametrize("make, op", [
    (lambda: ag.zeros(-1, 3), "zeros"),
    (lambda: ag.ones((2, -3)), "ones"),
    (lambda: ag.empty(-1), "empty"),
    (lambda: ag.full((-2,), 1.0), "full"),
    (lambda: ag.rand(-1, 2), "rand"),
    (lambda: ag.randn(-1), "randn"),
    (lambda: ag.randint(0, 3, (-1,)), "randint"),
    (lambda: ag.eye(2, -1), "eye"),
    (lambda: ag.linspace(0, 1, -1), "linspace"),
])
def test_creation_with_a_negative_size_names_the_op(device, make, op):
    """Now NumPy's bare "negative dimensions are not allowed" (raised inside its random
    generator for randn) or "Number of samples, -1, must be non-negative"."""
    with pytest.raises(ValueError, match=rf"^{op}: negative size in \(.*-\d.*\); every size must be >= 0"):
        make()


def test_creation_with_a_float_size_names_the_op(device):
    with pytest.raises(TypeError, match=r"^eye: a shape takes integer sizes, got 2\.5"):
        ag.eye(2.5)
    with pytest.raises(TypeError, match=r"^reshape: a shape takes integer sizes, got 3\.0"):
        ag.zeros(6).reshape(2, 3.0)


# --- manual_seed given a seed that is not an integer ----------------------------------------------

@pytest.mark.parametrize("seed, shown", [(0.5, "float 0.5"), ("42", "str '42'"), (np.float32(1.5), "float32")])
def test_manual_seed_refuses_a_seed_that_is_not_an_integer(device, seed, shown):
    """PyTorch runs int(seed): 0.1 and 0.9 both seed 0, silently, and '42' is read as 42."""
    ag.manual_seed(3)
    expected = ag.rand(4).numpy()
    ag.manual_seed(3)
    with pytest.raises(TypeError, match=rf"^manual_seed: the seed must be an integer, got {shown}"):
        ag.manual_seed(seed)
    np.testing.assert_array_equal(ag.rand(4).numpy(), expected)  # the generator was left as it was


def test_manual_seed_still_takes_whole_floats_and_numpy_ints(device):
    draws = []
    for seed in (7, 7.0, np.int64(7), np.float64(7.0)):
        ag.manual_seed(seed)
        draws.append(ag.rand(3).numpy())
    for d in draws[1:]:
        np.testing.assert_array_equal(d, draws[0])
