"""What a differential fuzz of the reductions, scans, sorting and gathering against
PyTorch (NaN, inf, ties, empty axes, 0-d tensors, keepdims, tuple axes, float32 and
float64, first and second derivatives) turned up: each test pins one mismatch that was
fixed."""
import warnings

import numpy as np
import pytest

import autograd as ag

nan = np.nan


# --- max and min of a slice that holds NaN: the NaNs take the gradient --------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("values", [[1.0, nan, 3.0, nan], [[1.0, nan], [2.0, -np.inf]], [nan],
                                    [[nan, nan], [nan, nan]]])
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_and_min_over_everything_send_a_nan_result_s_gradient_to_the_nans_as_torch(device, torch, dtype, values,
                                                                                      name):
    """torch.max(x) splits the gradient of a NaN result among the NaNs; the tie rule
    (x == result) found none of them and divided 0 by 0, giving every element NaN with a
    RuntimeWarning from NumPy."""
    array = np.asarray(values, dtype=dtype)
    x = ag.tensor(array, requires_grad=True)
    t = torch.tensor(array, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = getattr(x, name)()
        gx, = ag.grad(y, x, ag.tensor(np.asarray(1.5, dtype=dtype)))
    ty = getattr(t, name)()
    tgx, = torch.autograd.grad(ty, t, torch.tensor(1.5, dtype=getattr(torch, dtype)))
    assert np.isnan(y.item()) and np.isnan(ty.item())
    np.testing.assert_array_equal(gx.numpy(), tgx.numpy())


@pytest.mark.parametrize("keepdims", [False, True])
def test_max_and_min_along_an_axis_give_a_line_s_one_nan_its_gradient_and_split_ties_as_torch(device, torch, keepdims):
    """Along an axis the gradient of a NaN result goes to the line's NaN, as torch.max(x,
    dim) sends it to its index; lines without NaN still split ties evenly, as amax."""
    array = np.array([[[2.0, nan, 2.0], [1.0, 4.0, 4.0]], [[-np.inf, 0.0, nan], [3.0, 3.0, 3.0]]])
    cotangent = np.random.default_rng(0).standard_normal((2, 2))
    for name, (one, ties) in {"max": ("max", "amax"), "min": ("min", "amin")}.items():
        x = ag.tensor(array, requires_grad=True)
        gx, = ag.grad(getattr(x, name)(axis=-1, keepdims=keepdims), x,
                      ag.tensor(cotangent.reshape((2, 2, 1) if keepdims else (2, 2))))
        t = torch.tensor(array, requires_grad=True)
        tgx_one, = torch.autograd.grad(getattr(t, one)(-1).values, t, torch.tensor(cotangent))
        tgx_ties, = torch.autograd.grad(getattr(t, ties)(-1), t, torch.tensor(cotangent))
        has_nan = np.isnan(array).any(axis=-1, keepdims=True)
        np.testing.assert_allclose(gx.numpy(), np.where(has_nan, tgx_one.numpy(), tgx_ties.numpy()), rtol=1e-15)
        assert np.isnan(tgx_ties.numpy()[np.broadcast_to(has_nan, array.shape)]).all()  # amax's 0 / 0 is not taken up


def test_max_over_tuple_axes_with_nan_gives_each_nan_an_even_share(device):
    x = ag.tensor([[[nan, 1.0], [nan, 2.0]], [[0.5, 1.0], [1.0, 0.25]]], dtype="float64", requires_grad=True)
    gx, = ag.grad(x.max(axis=(1, -1)), x, ag.tensor([4.0, 2.0], dtype="float64"))
    np.testing.assert_array_equal(gx.numpy(), [[[2.0, 0.0], [2.0, 0.0]], [[0.0, 1.0], [1.0, 0.0]]])


# --- float16 sums and scans accumulate in float32, as PyTorch's -------------------------------
def test_float16_cumsum_and_strided_sum_accumulate_in_float32_as_torch(device, torch):
    """NumPy adds float16 in float16 in its scans and along a strided axis: 2048 + 1 rounds
    back to 2048, so a running sum of 4000 ones stalled at 2048."""
    if device == "strict":
        pytest.skip("array-api-strict has no float16")
    ones = np.ones(4000, dtype=np.float16)
    assert ag.tensor(ones).cumsum().numpy()[-1] == torch.tensor(ones).cumsum(0)[-1].item() == 4000
    block = np.array([[2048.0] + [1.0] * 7] * 3, dtype=np.float16).T.copy()  # reduced along its strided axis
    for x in (ag.tensor(block), ag.tensor(block, requires_grad=True)):
        y = x.sum(axis=0)
        assert str(y.dtype) == "float16"
        np.testing.assert_array_equal(y.numpy(), torch.tensor(block).sum(0).numpy())
        np.testing.assert_array_equal(y.numpy(), [2056.0] * 3)
    np.testing.assert_array_equal(ag.tensor(block).cumsum(axis=0).numpy(), torch.tensor(block).cumsum(0).numpy())


def test_float16_products_are_rounded_once_from_float32(device, torch):
    """cumprod as PyTorch's; prod the same float32 product rounded once, along either axis
    (PyTorch's float16 prod rounds at every step: 1.3 ** 30 gives 2604 there, 2608 here)."""
    if device == "strict":
        pytest.skip("array-api-strict has no float16")
    lines = np.full((30, 2), 1.3, dtype=np.float16)
    exact = np.prod(lines.astype(np.float64), axis=0).astype(np.float16)
    x = ag.tensor(lines, requires_grad=True)
    np.testing.assert_array_equal(x.prod(axis=0).numpy(), exact)
    np.testing.assert_array_equal(ag.tensor(lines.T.copy()).prod(axis=1).numpy(), exact)
    np.testing.assert_array_equal(x.cumprod(axis=0).numpy(), torch.tensor(lines).cumprod(0).numpy())
    gx, = ag.grad(x.cumprod(axis=0).sum(), x)
    assert str(gx.dtype) == "float16" and np.isfinite(gx.numpy()).all()


# --- argmax and argmin of nothing: the op's own error, as max's ------------------------------
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_and_argmin_of_an_empty_axis_name_the_op_and_the_shape(device, torch, name):
    """NumPy's 'attempt to get argmax of an empty sequence' named neither; PyTorch raises
    too. An empty axis that is not reduced still gives an empty result."""
    x = ag.zeros((2, 0))
    for axis in (None, 1, -1):
        with pytest.raises(ValueError, match=rf"{name}: cannot reduce an empty axis of a tensor of shape \(2, 0\)"):
            getattr(x, name)(axis=axis)
        with pytest.raises(IndexError):
            getattr(torch.zeros(2, 0), name)(axis)
    assert getattr(x, name)(axis=0).shape == tuple(getattr(torch.zeros(2, 0), name)(0).shape) == (0,)


def test_float16_std_takes_its_root_before_rounding(torch):
    """The variance of [60000, 60000, 30000] overflows float16; PyTorch takes the root in
    float32 and rounds once (14144), and so does std now (it gave inf)."""
    values = [60000.0, 60000.0, 30000.0]
    x = ag.tensor(values, dtype="float16", requires_grad=True)
    y = ag.std(x)
    expected = torch.std(torch.tensor(values, dtype=torch.float16), correction=0)
    assert y.dtype == ag.float16 and float(y.item()) == float(expected)
    y.backward()
    assert x.grad.dtype == ag.float16 and np.all(np.isfinite(x.grad.numpy()))
