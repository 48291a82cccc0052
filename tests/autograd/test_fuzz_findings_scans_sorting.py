"""What a differential fuzz of the scans, sorting, searching and set ops against PyTorch
found: float32 running sums and products that drifted (PyTorch's CPU scans accumulate in
float64), an even-length median that overflowed, and a searchsorted sorter out of range
reported without naming the op."""
import numpy as np
import pytest

import autograd as ag


# --- float32 scans accumulate in float64, as PyTorch's CPU scans ----------------------------

def test_float32_cumsum_keeps_counting_past_two_to_the_24_as_torch(device, torch):
    """One number at a time, float32 stops at 2**24: 2**24 + 1 rounds back to 2**24."""
    values = np.array([2.0 ** 24, 1, 1, 1, 1, 1], dtype=np.float32)
    got = ag.cumsum(ag.tensor(values), 0).numpy()
    np.testing.assert_array_equal(got, torch.tensor(values).cumsum(0).numpy())
    assert got[-1] == 2.0 ** 24 + 4  # the float32 nearest the exact 2**24 + 5


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_float32_cumsum_and_cumprod_match_torch_bit_for_bit(device, torch, axis):
    rng = np.random.default_rng(0)
    values = rng.uniform(0, 1, (64, 3000)).astype(np.float32)
    if axis == 0:
        values = values.T.copy()
    factors = (0.95 + 0.1 * values).astype(np.float32)
    np.testing.assert_array_equal(ag.cumsum(ag.tensor(values), axis).numpy(),
                                  torch.tensor(values).cumsum(axis).numpy())
    np.testing.assert_array_equal(ag.cumprod(ag.tensor(factors), axis).numpy(),
                                  torch.tensor(factors).cumprod(axis).numpy())
    # cumsum's gradient is a reversed cumsum, so it accumulates the same way
    x, tx = ag.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    cotangent = rng.standard_normal(values.shape).astype(np.float32)
    ag.cumsum(x, axis).backward(ag.tensor(cotangent))
    tx.cumsum(axis).backward(torch.tensor(cotangent))
    assert x.grad.dtype == ag.float32
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


# --- median: the mean of the middle two without overflow -----------------------------------

def test_even_median_of_large_float16_matches_numpy(device):
    if device == "strict":
        pytest.skip("array-api-strict has no float16")
    # 60000 + 62000 overflows float16 (largest 65504); the mean of the two does not
    values = np.array([60000.0, 62000.0, 1.0, 65000.0], dtype=np.float16)
    got = ag.median(ag.tensor(values))
    assert got.dtype == ag.float16
    assert got.item() == np.median(values) == 61000.0


def test_even_median_of_large_float32_matches_torch_quantile_with_its_gradient(device, torch):
    # NumPy's float32 median gives inf here; torch.quantile's interpolation does not overflow
    values = np.array([[3.0e38, -1.0, 3.2e38, 3.3e38], [1.0, 2.0, 3.0, 4.0]], dtype=np.float32)
    x, tx = ag.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    got, want = ag.median(x, axis=1), torch.quantile(tx, 0.5, dim=1)
    np.testing.assert_array_equal(got.numpy(), want.detach().numpy())
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


# --- searchsorted: a sorter out of range is refused by name ---------------------------------

@pytest.mark.parametrize("sorter", [[1, 0, 3], [-1, 0, 1]])
def test_searchsorted_refuses_a_sorter_out_of_range_naming_the_op(device, torch, sorter):
    x1, x2 = [2.0, 1.0, 3.0], [1.5]
    with pytest.raises(RuntimeError, match="sorter index out of range"):
        torch.searchsorted(torch.tensor(x1), torch.tensor(x2), sorter=torch.tensor(sorter))
    with pytest.raises(ValueError, match=r"searchsorted: sorter holds indices outside \[0, 3\).*ag\.argsort\(x1\)"):
        ag.searchsorted(ag.tensor(x1), ag.tensor(x2), sorter=ag.tensor(sorter))
    good = ag.searchsorted(ag.tensor(x1), ag.tensor(x2), sorter=ag.tensor([1, 0, 2]))
    assert good.tolist() == [1]
