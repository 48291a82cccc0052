"""The Array API standard's (2023.12) names in ``import autograd as ag`` that the op
table (test_ops_table.py) does not cover: the aliases, the floating-point bit functions,
the shifts and their operators, searching, sets and counting, the dtype functions, and
NumPy's isclose and allclose. Values against NumPy (and PyTorch where it has the
function), on every backend, the array-api-strict guard included, and the errors."""
import math

import numpy as np
import pytest

import autograd as ag
from autograd.tensor import version_of
from backends.base import Backend
from backends.cupy_namespace import array_api_namespace

NAN, INF = math.nan, math.inf
DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32",
          "float64"]
INTEGERS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]


def _same(got, want):
    """``got`` (a Tensor) equal to the NumPy array ``want`` in shape, dtype and values (NaN
    where NaN, the sign of each zero too)."""
    want = np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.shape, want.dtype)
    np.testing.assert_array_equal(got.numpy(), want)
    if want.dtype.kind == "f":
        np.testing.assert_array_equal(np.signbit(got.numpy()), np.signbit(want))


# --- aliases ------------------------------------------------------------------------------

def test_the_standards_names_for_existing_ops_are_those_ops():
    assert (ag.divide, ag.multiply, ag.subtract, ag.negative) == (ag.div, ag.mul, ag.sub, ag.neg)
    assert (ag.matrix_transpose, ag.vecdot) == (ag.linalg.matrix_transpose, ag.linalg.vecdot)


def test_positive_is_a_copy_and_refuses_bools(device):
    x = ag.tensor([1, -2, 3], dtype="int8")
    y = ag.positive(x)
    _same(y, np.positive(np.array([1, -2, 3], np.int8)))
    y += 1  # a tensor of its own, as NumPy's positive gives
    _same(x, np.array([1, -2, 3], np.int8))
    with pytest.raises(TypeError, match=r"^positive: not defined for bool tensors"):
        ag.positive(ag.tensor([True]))


@pytest.mark.parametrize("call", [ag.abs, ag.relu, lambda x: x.relu_(), lambda x: x.abs_(), abs],
                         ids=["abs", "relu", "relu_", "abs_", "builtin abs"])
def test_abs_and_relu_refuse_bools_on_every_backend_as_torch(device, call):
    """NumPy gave the bools back and the standard (strict, CuPy) raised its own error: one
    TypeError now, as PyTorch's, and nothing changed by the in-place forms."""
    x = ag.tensor([True, False])
    with pytest.raises(TypeError, match=r"^(abs|relu_?): not defined for bool tensors"):
        call(x)
    assert x.tolist() == [True, False] and version_of(x).value == 0
    assert ag.relu(ag.tensor([-1, 2])).tolist() == [0, 2] and ag.abs(ag.tensor([-3])).tolist() == [3]



def test_permute_dims_takes_every_axis_once(device):
    x = ag.zeros(2, 3, 4)
    assert ag.permute_dims(x, [2, 0, 1]).shape == (4, 2, 3)
    assert ag.permute_dims(ag.tensor(1.0), ()).shape == ()
    with pytest.raises(ValueError, match=r"^permute_dims: axes \(\) are not a permutation of the 3 axes"):
        ag.permute_dims(x, ())  # (transpose would reverse the axes)
    with pytest.raises(ValueError, match=r"^transpose: axes \(0, 0, 1\) are not a permutation"):
        ag.permute_dims(x, (0, 0, 1))
    with pytest.raises(TypeError, match=r"^permute_dims: axes must be a tuple naming every axis, not None"):
        ag.permute_dims(x, None)


def test_broadcast_arrays_gives_a_list_of_views(device):
    a, b = ag.tensor([[1.0], [2.0]]), ag.tensor([10.0, 20.0, 30.0])
    got = ag.broadcast_arrays(a, b)
    assert isinstance(got, list) and [g.shape for g in got] == [(2, 3), (2, 3)]
    for g, w in zip(got, np.broadcast_arrays(a.numpy(), b.numpy())):
        _same(g, w)
    with pytest.raises(RuntimeError, match="cannot be changed in place"):
        got[1].add_(1.0)  # a view repeating b's elements, as broadcast_to's
    assert ag.broadcast_arrays([a, b])[0].shape == (2, 3)
    assert ag.broadcast_arrays() == []
    with pytest.raises(ValueError, match=r"^broadcast_arrays: cannot broadcast shapes \(2, 1\) and \(3, 2\)"):
        ag.broadcast_arrays(a, ag.ones(3, 2))


# --- copysign, signbit, nextafter -------------------------------------------------------

SIGNED = [0.0, -0.0, 1.5, -2.0, INF, -INF, NAN, -NAN]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_copysign_and_signbit_read_the_sign_bit_as_numpy(device, dtype):
    values = np.array(SIGNED, dtype)
    x1, x2 = np.meshgrid(values, values)
    _same(ag.copysign(ag.tensor(x1), ag.tensor(x2)), np.copysign(x1, x2))
    _same(ag.signbit(ag.tensor(values)), np.signbit(values))
    _same(ag.copysign(ag.tensor(values), -0.0), np.copysign(values, np.array(-0.0, dtype)))


def test_copysign_gradient_matches_torch_at_zeros_and_signed_zeros(torch):
    a = [0.0, -0.0, 1.5, -2.0, 3.0, -1.0]
    b = [-1.0, 2.0, -0.0, 0.0, NAN, -NAN]
    x1, x2 = (ag.tensor(v, dtype="float64", requires_grad=True) for v in (a, b))
    t1, t2 = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (a, b))
    ag.copysign(x1, x2).backward(ag.tensor([1.0, 2, 3, 4, 5, 6], dtype="float64"))
    torch.copysign(t1, t2).backward(torch.tensor([1.0, 2, 3, 4, 5, 6], dtype=torch.float64))
    np.testing.assert_array_equal(x1.grad.numpy(), t1.grad.numpy())  # ±1, 0 where x1 is ±0
    np.testing.assert_array_equal(x2.grad.numpy(), t2.grad.numpy())  # all 0


def test_copysign_of_integers_gives_the_default_float_as_torch(device, torch):
    got = ag.copysign(ag.tensor([1, -2, 3]), ag.tensor([-1, 1, 0]))
    want = torch.copysign(torch.tensor([1, -2, 3]), torch.tensor([-1, 1, 0]))
    assert got.dtype == ag.float32 and want.dtype == torch.float32
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_signbit_of_integers_and_bools_as_numpy_and_torch(device, torch):
    for dtype in INTEGERS + ["bool"]:
        values = np.array([0, 1, 5] if dtype in ("bool",) or dtype.startswith("u") else [0, -1, 5, -128], dtype)
        _same(ag.signbit(ag.tensor(values)), np.signbit(values))
    np.testing.assert_array_equal(ag.signbit(ag.tensor([-3, 0, 2])).numpy(),
                                  torch.signbit(torch.tensor([-3, 0, 2])).numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nextafter_steps_one_unit_as_numpy(device, dtype):
    x1 = np.array([1.0, 1.0, 0.0, -0.0, 2.0, np.finfo(dtype).max, NAN, 1.0], dtype)
    x2 = np.array([2.0, 0.0, -1.0, 1.0, 2.0, INF, 1.0, NAN], dtype)
    with np.errstate(over="ignore"):  # (max toward inf: NumPy warns of the overflow, on the strict backend too)
        steps = [(ag.nextafter(ag.tensor(x1), ag.tensor(x2)), np.nextafter(x1, x2))]
    steps.append((ag.nextafter(ag.tensor(x1), 5.0), np.nextafter(x1, np.array(5.0, dtype))))
    for got, want in steps:
        if device.startswith("cuda") and dtype == "float32":
            # CuPy compiles with -ftz=true (cupy.nextafter's documented note): a float32 step off 0
            # lands on the smallest normal, not subnormal; every other step exact (rtol 0)
            np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=np.finfo(dtype).smallest_normal)
        else:
            _same(got, want)


def test_nextafter_refuses_integers_as_torch(device):
    with pytest.raises(TypeError, match=r"^nextafter: takes floating tensors, not int64"):
        ag.nextafter(ag.tensor([1, 2]), ag.tensor([3, 3]))


# --- shifts -------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", INTEGERS)
def test_shifts_match_numpy_for_every_count_up_to_past_the_width(device, dtype):
    bits = 8 * np.dtype(dtype).itemsize
    info = np.iinfo(dtype)
    values = np.array([0, 1, 3, info.max, info.min, info.max // 3] + ([-1, -5] if info.min else []), dtype)
    counts = np.arange(bits + 3).astype(dtype)
    x, n = values[:, None], counts[None, :]
    _same(ag.bitwise_left_shift(ag.tensor(x), ag.tensor(n)), np.left_shift(x, n))
    _same(ag.bitwise_right_shift(ag.tensor(x), ag.tensor(n)), np.right_shift(x, n))


def test_shift_operators_reflected_and_in_place(device, torch):
    x = ag.tensor([1, -8, 3], dtype="int32")
    t = torch.tensor([1, -8, 3], dtype=torch.int32)
    for ours, theirs in [(x << 2, t << 2), (x >> 1, t >> 1), (1 << ag.abs(x), 1 << t.abs()),
                         (-64 >> ag.abs(x), -64 >> t.abs()), (x << ag.tensor([1, 2, 3], dtype="int32"),
                                                              t << torch.tensor([1, 2, 3], dtype=torch.int32))]:
        assert ours.dtype == ag.int32
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    y = ag.tensor([1, 2, 3], dtype="int16")
    z = y
    y <<= 2
    y >>= 1
    assert y is z and y.dtype == ag.int16
    np.testing.assert_array_equal(y.numpy(), [2, 4, 6])


def test_a_python_count_past_the_width_does_not_wrap_into_the_dtype(device, torch):
    x = ag.tensor([1, 200], dtype="uint8")
    t = torch.tensor([1, 200], dtype=torch.uint8)
    for count in (8, 9, 300):  # 300 taken as uint8 would be 44
        np.testing.assert_array_equal((x << count).numpy(), (t << count).numpy())
        np.testing.assert_array_equal((x >> count).numpy(), (t >> count).numpy())
    np.testing.assert_array_equal((ag.tensor([-5], dtype="int8") >> 1000).numpy(), [-1])


def test_shifts_refuse_negative_counts_floats_and_bools(device):
    # NumPy and PyTorch give 0 for a negative count; the standard asks for counts >= 0
    with pytest.raises(ValueError, match=r"^bitwise_left_shift \(<<\): shift counts must be >= 0"):
        ag.tensor([8]) << ag.tensor([-1])
    with pytest.raises(ValueError, match=r"^bitwise_right_shift \(>>\): shift counts must be >= 0"):
        ag.tensor([8]) >> -1
    with pytest.raises(TypeError, match=r"^bitwise_left_shift \(<<\): takes integers, not float32"):
        ag.tensor([1.0]) << 1
    with pytest.raises(TypeError, match=r"^bitwise_right_shift \(>>\): takes integers, not bool"):
        ag.tensor([True]) >> 1
    with pytest.raises(TypeError, match=r"^bitwise_left_shift \(<<\): takes integers, not float32"):
        ag.tensor([1]) << 1.5
    x = ag.tensor([1, 2])
    with pytest.raises(TypeError, match=r"^<<=: the result is floating point"):
        x <<= 1.0
    np.testing.assert_array_equal(x.numpy(), [1, 2])


# --- nonzero, searchsorted, count_nonzero ---------------------------------------------------

NONZERO_CASES = [np.array([0.0, -0.0, NAN, 2.0, 0.0]), np.array([[0, 3, 0], [1, 0, 2]]),
                 np.array([[[True, False], [False, True]], [[False, False], [True, True]]]), np.zeros((2, 0))]


@pytest.mark.parametrize("values", NONZERO_CASES, ids=["float_with_nan", "int_2d", "bool_3d", "empty"])
def test_nonzero_gives_a_tuple_of_index_tensors_as_numpy_and_torch(device, torch, values):
    got = ag.nonzero(ag.tensor(values))
    want = np.nonzero(values)
    assert isinstance(got, tuple) and len(got) == len(want)
    for g, w, t in zip(got, want, torch.nonzero(torch.as_tensor(values), as_tuple=True)):
        _same(g, w.astype(np.int64))
        np.testing.assert_array_equal(g.numpy(), t.numpy())


def test_nonzero_refuses_a_0d_tensor_as_numpy(device):
    with pytest.raises(ValueError, match=r"^nonzero: a 0-d tensor has no axes"):
        ag.nonzero(ag.tensor(1.0))


@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted_matches_numpy_and_torch(device, torch, side):
    x1 = np.array([-1.0, 0.0, 0.0, 2.5, 2.5, 2.5, 7.0, NAN])
    x2 = np.array([[-5.0, 0.0, 2.5], [7.0, 8.0, NAN]])
    got = ag.searchsorted(ag.tensor(x1), ag.tensor(x2), side=side)
    _same(got, np.searchsorted(x1, x2, side=side).astype(np.int64))  # NaN sorts last, as in ag.sort
    x1 = x1[:-1]  # PyTorch's searchsorted takes no NaN as largest
    got = ag.searchsorted(ag.tensor(x1), ag.tensor(x2[:, :2]), side=side)
    np.testing.assert_array_equal(got.numpy(), torch.searchsorted(torch.tensor(x1), torch.tensor(x2[:, :2]),
                                                                  side=side).numpy())
    _same(ag.searchsorted(ag.tensor(x1), 2.5, side=side), np.array(np.searchsorted(x1, 2.5, side=side), np.int64))


def test_searchsorted_with_a_sorter_and_integers(device, torch):
    x1 = np.array([30, 10, 20, 10])
    sorter = np.argsort(x1, kind="stable")
    x2 = np.array([5, 10, 25, 40])
    for side in ("left", "right"):
        got = ag.searchsorted(ag.tensor(x1), ag.tensor(x2), side=side, sorter=ag.tensor(sorter))
        _same(got, np.searchsorted(x1, x2, side=side, sorter=sorter).astype(np.int64))
        want = torch.searchsorted(torch.tensor(x1), torch.tensor(x2), side=side, sorter=torch.tensor(sorter))
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    _same(ag.searchsorted(ag.tensor([False, True, True]), ag.tensor([True, False])), np.array([1, 0]))


def test_searchsorted_errors(device):
    with pytest.raises(ValueError, match=r"^searchsorted: x1 must be 1-d \(a sorted sequence\), got shape \(2, 2\)"):
        ag.searchsorted(ag.zeros(2, 2), ag.zeros(1))
    with pytest.raises(ValueError, match=r"^searchsorted: side must be 'left' or 'right', not 'middle'"):
        ag.searchsorted(ag.zeros(2), ag.zeros(1), side="middle")
    with pytest.raises(ValueError, match=r"^searchsorted: sorter must be integer indices of x1's shape \(3,\)"):
        ag.searchsorted(ag.zeros(3), ag.zeros(1), sorter=ag.tensor([0, 1]))


@pytest.mark.parametrize("axis, keepdims", [(None, False), (None, True), (0, False), (-1, True), ((0, 2), False),
                                            ((), False)])
def test_count_nonzero_matches_numpy(device, axis, keepdims):
    values = np.array([[[0.0, NAN], [-0.0, 3.0]], [[1.0, 0.0], [2.0, 0.0]], [[0.0, 0.0], [0.0, 5.0]]])
    for x in (values, values != 0, np.nan_to_num(values).astype(np.int32)):
        want = np.asarray(np.count_nonzero(x, axis=axis, keepdims=keepdims)).astype(np.int64)
        _same(ag.count_nonzero(ag.tensor(x), axis=axis, keepdims=keepdims), want)


def test_count_nonzero_matches_torch(torch):
    values = np.array([[0.0, NAN, 1.0], [0.0, 0.0, -2.0]])
    for dim in (None, 0, (0, 1)):
        got = ag.count_nonzero(ag.tensor(values), axis=dim)
        want = torch.count_nonzero(torch.tensor(values), dim=dim)
        assert got.dtype == ag.int64 and want.dtype == torch.int64
        np.testing.assert_array_equal(got.numpy(), want.numpy())


# --- unique_* -------------------------------------------------------------------------------

UNIQUE_CASES = {
    "floats_with_nans": np.array([2.0, NAN, -0.0, 1.0, NAN, 2.0, 0.0, INF]),
    "int_2d": np.array([[3, 1, 3], [2, 1, 1]], dtype=np.int16),
    "bool": np.array([True, False, True]),
    "0d": np.array(5.0),
    "empty": np.zeros((0, 3)),
}


@pytest.mark.parametrize("values", UNIQUE_CASES.values(), ids=UNIQUE_CASES.keys())
def test_unique_functions_match_numpy_each_nan_distinct(device, values):
    x = ag.tensor(values)
    _same(ag.unique_values(x), np.sort(np.unique_values(values)))  # sorted, as the others (NumPy 2.3+'s: any order)
    for function, fields in [("unique_counts", ("values", "counts")),
                             ("unique_inverse", ("values", "inverse_indices")),
                             ("unique_all", ("values", "indices", "inverse_indices", "counts"))]:
        got, want = getattr(ag, function)(x), getattr(np, function)(values)
        assert got._fields == fields == want._fields
        _same(got.values, want.values)
        for name in fields[1:]:
            _same(getattr(got, name), getattr(want, name).astype(np.int64))
    values_, inverse = ag.unique_inverse(x)
    np.testing.assert_array_equal(values_.numpy()[inverse.numpy()], values)


def test_unique_matches_torch_without_nans(device, torch):
    values = np.array([[3.0, -1.0, 3.0], [0.5, -1.0, -1.0]])
    got = ag.unique_all(ag.tensor(values))
    want, inverse, counts = torch.unique(torch.tensor(values), return_inverse=True, return_counts=True)
    for g, w in [(got.values, want), (got.inverse_indices, inverse), (got.counts, counts)]:
        np.testing.assert_array_equal(g.numpy(), w.numpy())


def test_unique_and_shift_names_filled_in_for_a_cupy_13_shaped_namespace():
    """CuPy 13 has unique (merging NaNs unless told) and left_shift, not the standard's names."""
    import types
    module = types.ModuleType("cupy_13_shaped")
    module.__dict__.update((k, v) for k, v in vars(np).items() if not k.startswith("_"))
    for name in ("unique_values", "unique_counts", "unique_inverse", "unique_all", "bitwise_left_shift",
                 "bitwise_right_shift"):
        delattr(module, name)
    xp = Backend("cupy-shaped", array_api_namespace(module)).xp
    values = np.array([[2.0, NAN], [1.0, NAN]])
    np.testing.assert_array_equal(xp.unique_values(values), np.unique(values, equal_nan=False))
    for name in ("unique_counts", "unique_inverse", "unique_all"):
        for got, want in zip(getattr(xp, name)(values), getattr(np, name)(values)):
            np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(xp.bitwise_right_shift(np.array([-8]), 1), [-4])


# --- finfo, iinfo, result_type, can_cast, isdtype -------------------------------------------

@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_finfo_matches_numpy_and_torch(dtype, torch):
    got, want = ag.finfo(dtype), np.finfo(dtype)
    theirs = torch.finfo(getattr(torch, dtype))
    assert got.dtype == np.dtype(dtype) and got.bits == want.bits == theirs.bits
    for field in ("eps", "max", "min", "smallest_normal"):
        assert type(getattr(got, field)) is float
        assert getattr(got, field) == float(getattr(want, field)) == getattr(theirs, field)
    assert ag.finfo(ag.zeros(1, dtype=dtype)) == got


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_finfo_has_torchs_tiny_and_resolution_and_defaults_to_the_default_dtype(dtype, torch):
    """`torch.finfo(x.dtype).tiny` (a clamp floor before a log) and `.resolution` failed here
    with "'FInfo' object has no attribute 'tiny'", and finfo() without a dtype, which gives the
    default dtype's in PyTorch, with a missing argument."""
    got, theirs, numpys = ag.finfo(dtype), torch.finfo(getattr(torch, dtype)), np.finfo(dtype)
    assert got.tiny == theirs.tiny == float(numpys.tiny) and type(got.tiny) is float
    assert got.resolution == theirs.resolution and type(got.resolution) is float
    assert np.dtype(dtype).type(got.resolution) == numpys.resolution  # (NumPy's is of the dtype itself)
    assert len(got) == 6  # still the standard's six fields, as a tuple
    previous = ag.get_default_dtype()
    try:
        ag.set_default_dtype(dtype if dtype != "float16" else "float64")
        torch.set_default_dtype(getattr(torch, dtype if dtype != "float16" else "float64"))
        assert ag.finfo() == ag.finfo(ag.get_default_dtype()) and ag.finfo().eps == torch.finfo().eps
    finally:
        ag.set_default_dtype(previous)
        torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("dtype", INTEGERS)
def test_iinfo_matches_numpy(dtype):
    got, want = ag.iinfo(dtype), np.iinfo(dtype)
    assert (got.bits, got.max, got.min, got.dtype) == (want.bits, want.max, want.min, np.dtype(dtype))
    assert type(got.max) is int and ag.iinfo(ag.zeros(1, dtype=dtype)) == got


def test_finfo_and_iinfo_errors():
    with pytest.raises(TypeError, match=r"^finfo: int32 is not a floating dtype; for integers use ag.iinfo"):
        ag.finfo(ag.int32)
    with pytest.raises(TypeError, match=r"^iinfo: bool is not an integer dtype; for floating dtypes use ag.finfo"):
        ag.iinfo(ag.bool)
    with pytest.raises(TypeError, match=r"^finfo: expected a dtype or a Tensor, got list"):
        ag.finfo([1.0])


def _operand(kind, dtype, device):
    """An operand of ``dtype`` with dimensions, 0-d, or a Python scalar of its kind."""
    if kind == "scalar":
        return {"b": True, "i": 1, "u": 1, "f": 1.0}[np.dtype(dtype).kind]
    shape = (2,) if kind == "dims" else ()
    return ag.ones(shape, dtype=dtype, device=device)


@pytest.mark.parametrize("default", ["float32", "float64"])
@pytest.mark.parametrize("kinds", [("dims", "dims"), ("dims", "0d"), ("0d", "dims"), ("0d", "0d"),
                                   ("dims", "scalar"), ("scalar", "0d")])
def test_result_type_is_what_add_gives_for_every_pair(kinds, default):
    previous = ag.get_default_dtype()
    ag.set_default_dtype(default)
    try:
        for dtype_a in DTYPES:
            for dtype_b in DTYPES:
                a, b = _operand(kinds[0], dtype_a, "cpu"), _operand(kinds[1], dtype_b, "cpu")
                assert ag.result_type(a, b) == ag.add(a, b).dtype, (kinds, dtype_a, dtype_b)
    finally:
        ag.set_default_dtype(previous)


def test_result_type_of_dtypes_and_several_operands(torch):
    assert ag.result_type(ag.int64, ag.float16) == ag.float16  # the higher category's, as PyTorch (NumPy: float64)
    assert ag.result_type("int8", "uint8") == np.dtype("int16")
    assert ag.result_type(ag.int8) == np.dtype("int8")
    # dimensions first, then a 0-d tensor of a higher category, then a scalar of a higher one still
    assert ag.result_type(ag.ones(2, dtype="bool"), ag.tensor(3, dtype="int8"), ag.tensor(1, dtype="int64")) \
        == np.dtype("int64")
    assert ag.result_type(ag.ones(2, dtype="uint8"), ag.tensor(3, dtype="int16"), 2.5) == ag.float32
    assert ag.result_type(ag.ones(2, dtype="int8"), ag.tensor(3.0, dtype="float64")) == \
        ag.float64 == np.dtype(str(torch.result_type(torch.ones(2, dtype=torch.int8), torch.tensor(3.0,
                                                     dtype=torch.float64))).removeprefix("torch."))
    with pytest.raises(ValueError, match=r"^result_type: give at least one tensor or dtype"):
        ag.result_type()
    with pytest.raises(TypeError, match=r"^result_type: Python scalars alone have no dtype"):
        ag.result_type(1, 2.0)


def test_can_cast_follows_the_promotion_rules(torch):
    for source in DTYPES:
        for target in DTYPES:
            assert ag.can_cast(source, target) == (ag.result_type(source, target) == np.dtype(target))
            if np.dtype(source).kind.replace("u", "i") == np.dtype(target).kind.replace("u", "i"):
                # within a category, NumPy's safe casting is the same rule
                assert ag.can_cast(source, target) == np.can_cast(source, target), (source, target)
    assert ag.can_cast(ag.int64, ag.float16) and not np.can_cast(np.int64, np.float16)
    assert not ag.can_cast(ag.float64, ag.float32) and torch.can_cast(torch.float64, torch.float32)
    assert not ag.can_cast(ag.zeros(1), ag.int64)


KINDS = ["bool", "signed integer", "unsigned integer", "integral", "real floating", "complex floating", "numeric",
         ("bool", "real floating"), ("unsigned integer", np.dtype("int8"))]


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_isdtype_matches_numpy(kind):
    for dtype in DTYPES:
        assert ag.isdtype(np.dtype(dtype), kind) == np.isdtype(np.dtype(dtype), kind), (dtype, kind)
    assert ag.isdtype(ag.float32, ag.float32) and not ag.isdtype(ag.float32, ag.float64)


def test_isdtype_errors():
    with pytest.raises(ValueError, match=r"^isdtype: unknown kind 'integer'; use a dtype or one of 'bool'"):
        ag.isdtype(ag.int32, "integer")
    with pytest.raises(TypeError, match=r"^isdtype: expected a dtype, got a Tensor; pass its .dtype"):
        ag.isdtype(ag.zeros(1), "numeric")


# --- isclose, allclose ------------------------------------------------------------------------

A = np.array([1.0, 1.0, 1e10, 1e-8, 0.0, INF, INF, -INF, NAN, NAN, 1.0, 100.0])
B = np.array([1.0 + 1e-6, 1.1, 1.00001e10, 0.0, 1e-9, INF, -INF, 1e38, NAN, 1.0, INF, 100.001])


@pytest.mark.parametrize("equal_nan", [False, True])
@pytest.mark.parametrize("tolerances", [{}, {"rtol": 0.0, "atol": 0.0}, {"rtol": 0.2}, {"atol": 1.0}])
def test_isclose_matches_numpy(device, equal_nan, tolerances):
    for a, b in ((A, B), (B, A), (A.astype(np.float32), B.astype(np.float32))):
        got = ag.isclose(ag.tensor(a), ag.tensor(b), equal_nan=equal_nan, **tolerances)
        _same(got, np.isclose(a, b, equal_nan=equal_nan, **tolerances))
        assert ag.allclose(ag.tensor(a), ag.tensor(b), equal_nan=equal_nan, **tolerances) is \
            bool(np.allclose(a, b, equal_nan=equal_nan, **tolerances))


def test_isclose_of_integers_bools_scalars_and_broadcasts(device, torch):
    big = np.array([2**62, 2**62 + 1, -5, 7], dtype=np.int64)
    _same(ag.isclose(ag.tensor(big), ag.tensor(big[::-1].copy()), rtol=0), np.isclose(big, big[::-1], rtol=0))
    _same(ag.isclose(ag.tensor([3, 4], dtype="uint8"), 4), np.isclose(np.array([3, 4], np.uint8), 4))
    _same(ag.isclose(ag.tensor([True, False]), ag.tensor([True, True])), np.array([True, False]))
    a, b = np.array([[1.0], [2.0]]), np.array([1.0, 2.00001, 3.0])
    got = ag.isclose(ag.tensor(a), ag.tensor(b))
    _same(got, np.isclose(a, b))
    np.testing.assert_array_equal(got.numpy(), torch.isclose(torch.tensor(a), torch.tensor(b)).numpy())
    assert ag.allclose(ag.ones(3), 1.0) is True and ag.allclose(ag.zeros(0), ag.ones(0)) is True


def test_isclose_errors(device):
    with pytest.raises(ValueError, match=r"^isclose: rtol must be a number >= 0, got -0.1"):
        ag.isclose(ag.ones(2), ag.ones(2), rtol=-0.1)
    with pytest.raises(ValueError, match=r"^isclose: atol must be a number >= 0, got nan"):
        ag.allclose(ag.ones(2), ag.ones(2), atol=NAN)
    with pytest.raises(ValueError, match=r"^isclose: cannot broadcast shapes \(2,\) and \(3,\)"):
        ag.isclose(ag.ones(2), ag.ones(3))


# --- a review's findings: Python ints that an integer tensor's dtype cannot hold -------------------

@pytest.mark.parametrize("dtype, count", [("uint8", -1), ("int8", -250), ("uint8", -256)])
def test_a_negative_python_count_is_refused_before_it_wraps(device, dtype, count):
    """-1 became uint8's 255 (and -250 int8's 6) before the count was checked, so the shift ran."""
    x = ag.tensor([1, 3], dtype=dtype)
    with pytest.raises(ValueError, match=r"shift counts must be >= 0"):
        x << count
    with pytest.raises(ValueError, match=r"shift counts must be >= 0"):
        x >>= count
    _same(x, np.array([1, 3], dtype=dtype))


def test_isclose_and_searchsorted_compare_python_ints_past_the_dtype_as_numpy(device):
    """operands() wraps 300 into int8 (44): they answered True and 1, as if 44 had been given."""
    _same(ag.isclose(ag.tensor([44], dtype="int8"), 300), np.isclose(np.array([44], np.int8), 300))
    _same(ag.isclose(ag.tensor([255], dtype="uint8"), -1), np.isclose(np.array([255], np.uint8), -1))
    _same(ag.searchsorted(ag.tensor([1, 50, 100], dtype="int8"), 300), np.int64(3))
    _same(ag.searchsorted(ag.tensor([1, 2, 3], dtype="uint8"), -1), np.int64(0))
    big = np.array([0, 2**63 + 5], dtype=np.uint64)  # no int64 holds it: compared as float64
    _same(ag.searchsorted(ag.tensor(big), -1), np.int64(0))
    _same(ag.isclose(ag.tensor(big), -1), np.isclose(big, -1))
    _same(ag.searchsorted(ag.tensor([1, 2]), 2**70), np.int64(2))


def test_isclose_of_bools_counts_them_as_0_and_1(device, torch):
    a, b = np.array([True, False]), np.array([False, False])
    _same(ag.isclose(ag.tensor(a), ag.tensor(b), atol=2), np.isclose(a, b, atol=2))
    np.testing.assert_array_equal(ag.isclose(ag.tensor(a), ag.tensor(b), atol=2).numpy(),
                                  torch.isclose(torch.tensor(a), torch.tensor(b), atol=2).numpy())


def test_the_new_functions_are_tensor_methods_too(device):
    """As NumPy's ndarray and PyTorch's Tensor have them: each method gives its function's result."""
    x, y = ag.tensor([0.0, -2.0, 3.0, NAN]), ag.tensor([-1.0, 1.0, -0.0, 2.0])
    ints = ag.tensor([1, 3, 5])
    pairs = [(x.copysign(y), ag.copysign(x, y)), (x.signbit(), ag.signbit(x)), (x.nextafter(y), ag.nextafter(x, y)),
             (x.count_nonzero(), ag.count_nonzero(x)), (x.isclose(y, equal_nan=True), ag.isclose(x, y, equal_nan=True)),
             (ints.searchsorted(4, side="right"), ag.searchsorted(ints, 4, side="right")),
             (ints.bitwise_left_shift(2), ag.bitwise_left_shift(ints, 2)),
             (ints.bitwise_right_shift(1), ag.bitwise_right_shift(ints, 1))]
    for method, function in pairs:
        _same(method, function.numpy())
    for method, function in zip(x.nonzero(), ag.nonzero(x)):
        _same(method, function.numpy())
    assert x.allclose(x, equal_nan=True) is True and x.allclose(y) is False
