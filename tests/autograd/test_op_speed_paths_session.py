"""The faster routes found by timing the op table against PyTorch and NumPy: each gives
the values of the route it replaced, bit for bit, and each op through it is checked
against NumPy (and PyTorch) on every backend, at sizes that take the new route.

- NumPy's scatter-add (the gradient of take along an axis, x[:, ids]) adds single
  elements of a flat array where the index has whole axes before its integer arrays;
- insert and delete find which entry goes where on the device along a long axis;
- the NumPy backend's where selects bits on large arrays (np.where branches per element).
"""
import numpy as np
import pytest

import autograd as ag
from autograd.ops import stacking
from backends.numpy_backend import WHERE_BITS_MIN, NumpyBackend

LONG = stacking._SHORT_AXIS + 37  # an axis that takes the device route of insert and delete


def _same_bits(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got.view(np.uint8), want.view(np.uint8))


# --- scatter-add after whole axes ---------------------------------------------------------------
@pytest.mark.parametrize("shape, index", [
    ((40, 385), (slice(None), np.r_[np.arange(385), [0, 0, 384, -1, -385]])),   # repeats and negatives
    ((4, 5, 6, 3), (slice(None), slice(None), np.array([[5, 0], [5, 5], [-1, 2]]))),  # a block after them
    ((4, 5, 6), (slice(None), np.array([1, 4, 1, 0]), np.array([-6, 2, 0, 5]))),  # two arrays
    ((3, 4), (slice(None), np.array([], dtype=np.int64))),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_scatter_add_after_whole_axes_adds_as_add_at(shape, index, dtype):
    """The sums of NumPy's own add.at, in its order (float32 sums of repeats differ with it)."""
    rng = np.random.default_rng(0)
    values = (rng.standard_normal(np.zeros(shape)[index].shape) * 1e3).astype(dtype)
    want = np.zeros(shape, dtype)
    np.add.at(want, index, values)
    _same_bits(NumpyBackend().scatter_add(shape, index, values), want)


@pytest.mark.parametrize("bad", [385, -386])
def test_scatter_add_after_whole_axes_refuses_an_index_past_the_axis(bad):
    """An index past the axis would land in the next row of the flat array: it raises instead."""
    with pytest.raises(ValueError, match="invalid entry in coordinates array"):
        NumpyBackend().scatter_add((2, 385), (slice(None), np.array([0, bad])), np.ones((2, 2), np.float32))


def test_take_along_an_axis_gradient_sums_repeats(device):
    rng = np.random.default_rng(1)
    data = rng.standard_normal((30, 200))
    ids = np.r_[rng.integers(-200, 200, 300), [7, 7, 7]]
    x = ag.tensor(data, requires_grad=True)
    y = ag.take(x, ag.tensor(ids), axis=1)
    np.testing.assert_array_equal(y.numpy(), np.take(data, ids, axis=1))
    cotangent = rng.standard_normal(y.shape)
    y.backward(ag.tensor(cotangent))
    want = np.zeros_like(data)
    np.add.at(want, (slice(None), ids), cotangent)
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12, atol=1e-12)


# --- insert and delete along a long axis ------------------------------------------------------------
@pytest.mark.parametrize("obj, axis", [
    (slice(None, None, 2), None), (slice(-3, 4, -5), None), (slice(10, 10_000), 1), ([0, 5, 5, -1], 1),
    (3, 1), ([], None), (np.arange(LONG) % 3 == 0, 1), (ag.tensor([2, 0, LONG - 1]), 1),
])
def test_delete_along_a_long_axis_matches_numpy(obj, axis, device):
    rng = np.random.default_rng(2)
    data = rng.standard_normal((3, LONG))
    x = ag.tensor(data, requires_grad=True)
    np_obj = obj.numpy() if isinstance(obj, ag.Tensor) else obj
    if isinstance(obj, ag.Tensor):
        obj = obj.to(x.device)  # (a tensor of positions on another device is refused)
    y = ag.delete(x, obj, axis=axis)
    want = np.delete(data, np_obj, axis=axis)
    np.testing.assert_array_equal(y.numpy(), want)
    cotangent = rng.standard_normal(want.shape)
    y.backward(ag.tensor(cotangent))
    # the gradient goes back to the kept entries: the same delete of each entry's own position
    kept = np.delete(np.arange(data.size).reshape(data.shape), np_obj, axis=axis)
    grad = np.zeros(data.size)
    grad[kept.ravel()] = cotangent.ravel()
    np.testing.assert_array_equal(x.grad.numpy(), grad.reshape(data.shape))


@pytest.mark.parametrize("obj, values_shape, axis", [
    ([1, 1, -1, LONG, 0, 50], (6,), None), ([LONG - 1, 2, 2], (3, 3), 1), (4, (3,), 1), (7, (2, 3), 1),
    (slice(0, LONG, 40), (1,), 1), (0, (), None),
])
def test_insert_along_a_long_axis_matches_numpy(obj, values_shape, axis, device):
    rng = np.random.default_rng(3)
    data, values = rng.standard_normal((3, LONG)), rng.standard_normal(values_shape)
    x, v = ag.tensor(data, requires_grad=True), ag.tensor(values, requires_grad=True)
    y = ag.insert(x, obj, v, axis=axis)
    want = np.insert(data, obj, values, axis=axis)
    np.testing.assert_array_equal(y.numpy(), want)
    # each entry of the result as its source: x's entries by position, values' as -1 - position
    sources = np.insert(np.arange(data.size).reshape(data.shape), obj,
                        -1 - np.arange(values.size).reshape(values_shape), axis=axis)
    cotangent = rng.standard_normal(want.shape)
    y.backward(ag.tensor(cotangent))
    from_x = sources >= 0
    grad_x = np.zeros(data.size)
    grad_x[sources[from_x]] = cotangent[from_x]
    grad_v = np.zeros(values.size)
    np.add.at(grad_v, -1 - sources[~from_x], cotangent[~from_x])  # values broadcast: their gradients add up
    np.testing.assert_array_equal(x.grad.numpy(), grad_x.reshape(data.shape))
    np.testing.assert_allclose(v.grad.numpy(), grad_v.reshape(values_shape), rtol=1e-12)


# --- where on large arrays ----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32, np.int64, np.uint16, np.int8])
@pytest.mark.parametrize("shapes", [((96, 128), (96, 128), (128,)), ((96, 128), (128,), ()),
                                    ((96, 1), (1, 128), (96, 128)), ((2, 2), (2, 2), (2, 2))])
def test_where_kernel_gives_numpys_bits(dtype, shapes):
    rng = np.random.default_rng(4)
    condition_shape, a_shape, b_shape = shapes
    condition = rng.random(condition_shape) > 0.5
    a = (rng.standard_normal(a_shape) * 100).astype(dtype)
    b = (rng.standard_normal(b_shape) * 100).astype(dtype)
    if a.dtype.kind == "f":
        a.flat[:3] = [np.nan, -0.0, np.inf]
    assert max(condition.size, a.size, b.size) >= WHERE_BITS_MIN or shapes[0] == (2, 2)  # the bit route, but the last
    _same_bits(NumpyBackend().where(condition, a, b), np.where(condition, a, b))


@pytest.mark.parametrize("fn", ["fmax", "fmin"])
def test_fmax_fmin_on_large_inputs_match_numpy_and_torch(fn, device, torch):
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((96, 128)), rng.standard_normal(128)
    a[0, :5], b[:3] = np.nan, np.nan  # both NaN at (0, 0)...(0, 2)
    x, y = ag.tensor(a, requires_grad=True), ag.tensor(b, requires_grad=True)
    out = getattr(ag, fn)(x, y)
    np.testing.assert_array_equal(out.numpy(), getattr(np, fn)(a, b))
    cotangent = rng.standard_normal(out.shape)
    out.backward(ag.tensor(cotangent))
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    getattr(torch, fn)(tx, ty).backward(torch.tensor(cotangent))
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-12, atol=1e-12)
