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


@pytest.mark.parametrize("axis, prepend, append", [
    (-1, 0.5, None), (0, None, -2.0), (1, 1.0, 3.0), (0, "row", None), (1, None, "column"), (1, "column", "column")])
def test_diff_with_prepend_and_append_matches_numpy_and_torchs_gradients(device, torch, axis, prepend, append):
    """The Array API's and NumPy's diff take prepend and append; topograd's did not."""
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal((3, 4))
    edges = {"row": rng.standard_normal((1, 4)), "column": rng.standard_normal((3, 1))}
    pre, app = (edges.get(v, v) if isinstance(v, str) else v for v in (prepend, append))
    x = ag.tensor(x0, dtype="float64", requires_grad=True)
    as_ag = [None if v is None else ag.tensor(v, dtype="float64", requires_grad=True) if isinstance(v, np.ndarray)
             else v for v in (pre, app)]
    out = ag.diff(x, n=2, axis=axis, prepend=as_ag[0], append=as_ag[1])
    np.testing.assert_allclose(out.numpy(), np.diff(x0, n=2, axis=axis, **{
        k: v for k, v in (("prepend", pre), ("append", app)) if v is not None}))

    xt = torch.tensor(x0, requires_grad=True)
    as_t = [None if v is None else torch.tensor(v, requires_grad=True) if isinstance(v, np.ndarray)
            else torch.full(x0.shape[:axis % 2] + (1,) + x0.shape[axis % 2 + 1:], v, dtype=torch.float64)
            for v in (pre, app)]
    weights = rng.standard_normal(out.shape)
    (out * ag.tensor(weights)).sum().backward()
    (torch.diff(xt, n=2, dim=axis, prepend=as_t[0], append=as_t[1]) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    for ours, theirs in zip(as_ag, as_t):
        if isinstance(ours, ag.Tensor):
            np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)


def test_diff_refuses_an_edge_of_the_wrong_rank(device):
    with pytest.raises(ValueError, match=r"diff: append must be a number or have x's 2 axes, got shape \(4,\)"):
        ag.diff(ag.ones((3, 4)), axis=0, append=ag.ones(4))


def test_tensor_sort_method_matches_the_function(device):
    x = ag.tensor([[3.0, 1.0, 2.0], [0.0, -1.0, 5.0]])
    np.testing.assert_array_equal(x.sort().numpy(), ag.sort(x).numpy())
    np.testing.assert_array_equal(x.sort(axis=0, descending=True).numpy(), [[3.0, 1.0, 5.0], [0.0, -1.0, 2.0]])
