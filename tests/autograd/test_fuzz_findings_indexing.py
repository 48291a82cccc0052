"""What a differential fuzz of indexing against PyTorch 2.13 and NumPy turned up: ``x[index]``
and ``x[index] = values`` with every index kind mixed (index arrays of every integer dtype,
masks, 0-d bools, None, Ellipsis, slices), ``take``/``take_along_axis``, ``masked_fill`` and
``where``, compared in values, gradients of the base and of the values, and errors."""
import numpy as np
import pytest

import autograd as ag
from autograd.ops.indexing import IndexTypeError
from autograd.tensor import version_of


def f64(a, device, requires_grad=False):
    return ag.tensor(np.asarray(a, dtype=np.float64), dtype=ag.float64, device=device, requires_grad=requires_grad)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
def test_small_integer_index_arrays_on_a_long_axis_have_a_gradient(torch, device, dtype):
    """The scatter-add of x[i, j]'s backward added the axis' size to negative entries in the
    index's own dtype: int8 indices into an axis of 200 raised OverflowError in backward.
    PyTorch (which takes int64 indices) and np.add.at give the gradient."""
    n = {np.int8: 200, np.uint8: 300, np.int16: 40_000}[dtype]  # the size alone does not fit the dtype
    a = np.random.default_rng(0).standard_normal((n, 3))
    rows = np.array([-1, 2, -1] if dtype != np.uint8 else [255, 2, 255], dtype=dtype)
    cols = np.array([0, 2, 0], dtype=dtype)
    w = np.array([1.0, 2.0, 3.0])
    x = f64(a, device, requires_grad=True)
    y = x[rows, cols]
    (y * f64(w, device)).sum().backward()
    tx = torch.tensor(a, requires_grad=True)
    ty = tx[torch.from_numpy(rows.astype(np.int64)), torch.from_numpy(cols.astype(np.int64))]
    (ty * torch.from_numpy(w)).sum().backward()
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())  # the repeated index adds up: 1 + 3


def test_take_and_take_along_axis_of_an_empty_list_pick_nothing(device):
    """NumPy's take and topograd's own x[[]] read [] as an empty integer index; take made it a
    float32 tensor and refused it ("take: indices must be integers, got float32")."""
    a = np.arange(12.0).reshape(3, 4)
    x = f64(a, device, requires_grad=True)
    for got, expected in [(ag.take(x, []), np.take(a, [])),
                          (ag.take(x, (), axis=0), np.take(a, (), axis=0)),
                          (ag.take(x, [[]], axis=1), np.take(a, [[]], axis=1)),
                          (ag.take_along_axis(x, [[], [], []], axis=1), np.take_along_axis(a, np.zeros((3, 0), int), 1))]:
        assert got.shape == expected.shape
        got.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4)))
    with pytest.raises(TypeError, match="take: indices must be integers, got float32"):
        ag.take(x, [1.5])  # a list with numbers keeps their dtype, and is checked


def test_numpy_bool_scalars_index_as_0d_masks(device):
    """NumPy: a[np.True_] is a[True] (a new axis of 1; np.False_ one of 0). topograd made
    np.True_ a float64 0-d tensor and refused it as "index arrays must be ... not float64"."""
    a = np.arange(24.0).reshape(2, 3, 4)
    x = f64(a, device, requires_grad=True)
    for index in (np.True_, (0, np.False_), (np.True_, 1, np.int32(2))):
        got = x[index]
        assert got.shape == a[index].shape
        np.testing.assert_array_equal(got.detach().numpy(), a[index])
    (x[np.True_, 1] * 2).sum().backward()
    expected = np.zeros_like(a)
    expected[1] = 2
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    y = f64([1.0, 2.0, 3.0], device)
    y[np.False_] = 5.0
    assert y.tolist() == [1.0, 2.0, 3.0]
    y[np.True_] = 5.0
    assert y.tolist() == [5.0, 5.0, 5.0]
    with pytest.raises(IndexError, match="getitem: unsupported index 1.5 of type float"):
        x[np.float64(1.5)]


@pytest.mark.parametrize("index", [(slice(None), (1, 3, 3)), ((0, 2), 1), ([0, 1], (3, 0)), ((),),
                                   (((0, 1), (1, 1)),)])
def test_a_tuple_inside_the_index_is_a_sequence_of_ints(torch, device, index):
    """x[:, (1, 3)] picks columns 1 and 3 in NumPy and PyTorch; topograd raised
    "unsupported index (1, 3) of type tuple". Values, gradients and setitem as PyTorch's."""
    a = np.random.default_rng(1).standard_normal((3, 4))
    x, tx = f64(a, device, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = x[index], tx[index]
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    w = np.random.default_rng(2).standard_normal(tuple(ty.shape))
    (y * f64(w, device)).sum().backward()
    (ty * torch.from_numpy(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    v, tv = f64(w, device, requires_grad=True), torch.tensor(w, requires_grad=True)
    b, tb = x * 1, tx * 1
    b[index] = v
    tb[index] = tv
    np.testing.assert_array_equal(b.detach().numpy(), tb.detach().numpy())


def test_a_list_holding_slices_or_none_is_refused_as_an_index_error_that_says_to_use_a_tuple(device):
    """PyTorch reads x[[0, slice(None)]] as x[0, :] (its old list-as-tuple rule); NumPy refuses
    it with IndexError. topograd refused it as "cannot make a tensor of this list (its dtype
    would be object)", a TypeError that does not say it is about the index."""
    x = f64(np.zeros((2, 3)), device)
    before = version_of(x).value
    for index in ([0, slice(None)], [None, 0], [Ellipsis], ([0, 1], (slice(None), 0))):
        with pytest.raises(IndexError, match="is one integer array or mask, so it cannot hold .* with a tuple"):
            x[index]
        with pytest.raises(IndexTypeError, match="setitem: a list in an index"):
            x[index] = 1.0
    assert x.tolist() == [[0.0] * 3] * 2 and version_of(x).value == before


def test_masked_fill_and_where_take_a_python_bool_as_a_bool_mask(device):
    """A Python True became a number of x's dtype on its way in, so masked_fill(x, True, v)
    and where(True, a, b) raised "the mask must be a bool tensor, not float64" for a bool.
    It is a 0-d bool mask, as NumPy's where takes it (PyTorch refuses non-tensor masks)."""
    a = np.array([1.0, -2.0, 3.0])
    x = f64(a, device, requires_grad=True)
    np.testing.assert_array_equal(ag.where(True, x, 0.0).detach().numpy(), np.where(True, a, 0.0))
    np.testing.assert_array_equal(ag.where(np.False_, x, 0.0).detach().numpy(), np.where(False, a, 0.0))
    filled = ag.masked_fill(x, True, 7.0)
    assert filled.tolist() == [7.0, 7.0, 7.0]
    (ag.masked_fill(x, False, 7.0) * f64([1.0, 2.0, 3.0], device)).sum().backward()
    assert x.grad.tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(TypeError, match="masked_fill: the mask must be a bool tensor, not int64"):
        ag.masked_fill(x, [1, 0, 1], 0.0)  # integers are still no mask, as in PyTorch
