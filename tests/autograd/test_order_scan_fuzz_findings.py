"""What a differential fuzz of the order statistics and scans against PyTorch (and of the
strict backend against NumPy) found: bools that only the NumPy backend could sort, cummax's
float16 gradient added up in float16, cumprod gradients that turned NaN where a sum past a
zero overflowed, and logcumsumexp second derivatives that a +inf input made NaN along its
whole line."""
import math

import numpy as np
import pytest

import autograd as ag


# --- sorting bools: the standard's argsort takes real numbers only ---------------------------

@pytest.mark.parametrize("descending", [False, True])
def test_sort_argsort_topk_and_kthvalue_of_bools_on_every_backend(device, torch, descending):
    """array-api-strict refused them ('Only real numeric dtypes are allowed in argsort'), so
    CuPy-shaped code leaned on NumPy taking bools."""
    values = np.array([[True, False, True, False, False], [False, False, True, True, False]])
    x = ag.tensor(values)
    want = torch.sort(torch.tensor(values), dim=1, descending=descending, stable=True)
    got = ag.sort(x, 1, descending=descending)
    assert got.dtype == ag.bool
    np.testing.assert_array_equal(got.numpy(), want.values.numpy())
    np.testing.assert_array_equal(ag.argsort(x, 1, descending=descending).numpy(), want.indices.numpy())
    # topk and kthvalue (PyTorch refuses bools for both): a stable sort's first entries
    order = np.argsort(~values if descending else values, axis=1, kind="stable")
    top = ag.topk(x, 3, 1, largest=descending)
    np.testing.assert_array_equal(top.indices.numpy(), order[:, :3])
    np.testing.assert_array_equal(top.values.numpy(), np.take_along_axis(values, order[:, :3], 1))
    kth = ag.kthvalue(x, 4, 1)
    np.testing.assert_array_equal(kth.values.numpy(), [True, True])
    np.testing.assert_array_equal(kth.indices.numpy(), [0, 2])


# --- cummax and cummin: a float16 gradient adds up in float32 ---------------------------------

@pytest.mark.parametrize("largest", [True, False])
def test_float16_cummax_gradient_matches_torch_bit_for_bit(torch, largest):
    """The entry that holds the running value gets the sum of every gy after it; PyTorch adds
    them in float32 and rounds once. Added in float16 one at a time, 5,000 gy of 0.1 stopped
    at 256, where adding 0.1 rounds to nothing; the sum rounds to 500, as PyTorch's."""
    rng = np.random.default_rng(0)
    values = np.concatenate([[5.0 if largest else -5.0], rng.uniform(-1, 1, 4999)]).astype(np.float16)
    cotangent = np.full(values.shape, 0.1, dtype=np.float16)
    x, tx = ag.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    (ag.cummax if largest else ag.cummin)(x, 0).values.backward(ag.tensor(cotangent))
    (torch.cummax if largest else torch.cummin)(tx, 0).values.backward(torch.tensor(cotangent))
    assert x.grad.dtype == ag.float16
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    assert x.grad.numpy()[0] == np.float16(cotangent.astype(np.float64).sum())


# --- cumprod: nothing past a zero reaches the gradient, even where its sum overflows -----------

@pytest.mark.parametrize("dtype, large, count", [("float16", 2.0, 20), ("float32", 1e30, 4), ("float64", 1e200, 3)])
def test_cumprod_gradient_past_a_zero_that_overflows_matches_torch(device, torch, dtype, large, count):
    """gx_0 = gy_0 + gy_1 x_1 + gy_2 x_1 x_2 + ... = gy_0 where x_1 = 0, and every y from the zero
    on is 0, so the entries after it get 0; but the sums of products after the zero overflow
    (2**20 in float16), and 0 * inf made NaN there. PyTorch gives 1, inf, then zeros."""
    if device == "strict" and dtype == "float16":
        pytest.skip("array-api-strict has no float16")
    if device.startswith("cuda") and dtype == "float64":  # (float16 and float32 scan in float64)
        pytest.skip("CuPy's scans multiply and add in a tree, so where float64 partial products overflow, which of them do differs from a sequential scan's (README: known differences on CUDA)")
    values = np.array([1.5, 0.0] + [large] * count + [0.5], dtype=dtype)
    x, tx = ag.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    ag.cumprod(x, 0).backward(ag.ones(values.shape, dtype=dtype))
    tx.cumprod(0).backward(torch.ones(values.shape, dtype=getattr(torch, dtype)))
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, math.inf] + [0.0] * (count + 1))


def test_float16_cumprod_gradient_whose_sums_pass_65504_matches_torch(device, torch):
    """gx_i = y_{i-1} S_i: here y_{i-1} = 2**-18 and S_i sums 2**k up to 2**19, so S_i overflowed
    float16 and gx_i was inf where it is 512 or 4 (PyTorch's, and float64's rounded). float16
    works it out in float32, as logcumsumexp's gradient."""
    if device == "strict":
        pytest.skip("array-api-strict has no float16")
    values = np.array([2.0 ** -6] * 3 + [2.0] * 20, dtype=np.float16)
    x, tx = ag.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    ag.cumprod(x, 0).backward(ag.ones(values.shape, dtype="float16"))
    tx.cumprod(0).backward(torch.ones(values.shape, dtype=torch.float16))
    assert x.grad.dtype == ag.float16
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    wide = ag.tensor(values, dtype="float64", requires_grad=True)
    ag.cumprod(wide, 0).backward(ag.ones(values.shape, dtype="float64"))
    np.testing.assert_array_equal(x.grad.numpy(), wide.grad.numpy().astype(np.float16))


# --- logcumsumexp: a +inf input's NaN stays its own in a second derivative --------------------

def test_logcumsumexp_second_derivative_with_an_infinite_input_matches_torch(device, torch):
    """The +inf x_2's gradient is NaN (inf - inf), as PyTorch's; its second derivative made every
    other entry of the line NaN too, where PyTorch's are finite before it and 0 after it."""
    values = np.array([1.0, -0.0, math.inf, 2.0, 0.0])
    cotangent, weight = np.array([0.1, 0.9, -0.7, 0.08, -1.0]), np.array([0.57, 1.27, -0.17, 0.06, 0.19])
    x = ag.tensor(values, dtype="float64", requires_grad=True)
    g, = ag.grad(ag.logcumsumexp(x, 0), [x], ag.tensor(cotangent, dtype="float64"), create_graph=True)
    got, = ag.grad((g * ag.tensor(weight, dtype="float64")).sum(), [x])
    tx = torch.tensor(values, requires_grad=True)
    tg, = torch.autograd.grad(torch.logcumsumexp(tx, 0), [tx], torch.tensor(cotangent), create_graph=True)
    want, = torch.autograd.grad((tg * torch.tensor(weight)).sum(), [tx])
    np.testing.assert_array_equal(np.isnan(g.numpy()), [False, False, True, False, False])
    np.testing.assert_allclose(g.numpy(), tg.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-15)
    assert np.isfinite(got.numpy()[[0, 1, 3, 4]]).all()
