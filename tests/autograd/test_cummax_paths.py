"""cummax and cummin on the paths that the small cases of
test_cummax_logcumsumexp_against_torch.py do not reach: the NumPy backend's scan that
steps along the axis a slice of lines at a time (from SCAN_BY_SLICES_MIN_LINES lines,
where another axis holds adjacent elements: axis 0, a middle axis, a transposed or
broadcast tensor), its in-place form, and indices that stay the caller's to change."""
import numpy as np
import pytest

import autograd as ag
from backends.numpy_backend import SCAN_BY_SLICES_MIN_LINES, NumpyBackend

LINES = 300
assert LINES >= SCAN_BY_SLICES_MIN_LINES  # (else these tests leave the slice scan untried)

# (shape of the array made, how the tensor is seen here and in PyTorch, axis): every case
# has LINES lines or more
CASES = {
    "axis_0": ((40, LINES), lambda t: t, lambda t: t, 0),
    "middle_axis": ((3, 40, 100), lambda t: t, lambda t: t, 1),
    "transposed_last_axis": ((40, LINES), lambda t: t.T, lambda t: t.T, 1),
    "broadcast_rows": ((1, LINES), lambda t: ag.broadcast_to(t, (40, LINES)), lambda t: t.expand(40, LINES), 0),
}


def _with_ties_nan_zeros_and_infinities(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    values = rng.integers(-3, 4, shape).astype(dtype)
    flat = values.reshape(-1)
    spots = rng.permutation(flat.size)
    for value, places in [(np.nan, spots[:5]), (-0.0, spots[5:40]), (np.inf, spots[40:44]), (-np.inf, spots[44:48])]:
        flat[places] = value
    values[(0,) * (len(shape) - 1) + (slice(None),)] = -0.0  # lines that start at -0 and tie with +0 later
    return values


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_many_lines_match_torch_bit_for_bit_with_their_gradients(device, torch, name, case, dtype):
    shape, view, torch_view, axis = CASES[case]
    values = _with_ties_nan_zeros_and_infinities(shape, dtype, seed=len(case))
    x = ag.tensor(values, requires_grad=True)
    tx = torch.tensor(values, requires_grad=True)
    seen = view(x)
    result, expected = getattr(ag, name)(seen, axis), getattr(torch, name)(torch_view(tx), axis)
    want = expected.values.detach().numpy()
    np.testing.assert_array_equal(result.values.numpy(), want)
    np.testing.assert_array_equal(np.signbit(result.values.numpy()), np.signbit(want))
    np.testing.assert_array_equal(result.indices.numpy(), expected.indices.numpy())
    assert result.indices.dtype == ag.int64
    cotangent = np.random.default_rng(1).standard_normal(seen.shape).astype(dtype)
    gx, = ag.grad(result.values, x, ag.tensor(cotangent))
    tgx, = torch.autograd.grad(expected.values, tx, torch.tensor(cotangent))
    # (the broadcast case sums 40 gradients per entry, in another order than PyTorch's)
    np.testing.assert_allclose(gx.numpy(), tgx.numpy(), rtol=1e-6, atol=1e-5 if dtype == "float32" else 0)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("dtype", ["int32", "uint8", "bool", "float16"])
def test_many_lines_of_other_dtypes_match_torch(device, torch, name, dtype):
    if device == "strict" and dtype == "float16":
        pytest.skip("the Array API standard has no float16")
    values = np.random.default_rng(3).integers(0, 3, (30, LINES)).astype(dtype)
    result, expected = getattr(ag, name)(ag.tensor(values), 0), getattr(torch, name)(torch.tensor(values), 0)
    assert result.values.dtype == dtype
    np.testing.assert_array_equal(result.values.numpy(), expected.values.numpy())
    np.testing.assert_array_equal(result.indices.numpy(), expected.indices.numpy())


@pytest.mark.parametrize("shape, axis", [((50, LINES), 0), ((4, 50, 100), 1), ((LINES, 50), 1), ((5, 3), 0)],
                         ids=["slices", "middle_slices", "accumulate_last_axis", "accumulate_few_lines"])
@pytest.mark.parametrize("largest", [True, False])
def test_the_numpy_kernel_matches_accumulate_and_overwrites_only_when_allowed(shape, axis, largest):
    backend = NumpyBackend()
    x = _with_ties_nan_zeros_and_infinities(shape, "float32", seed=7)
    want = (np.maximum if largest else np.minimum).accumulate(x, axis=axis)
    kept = x.copy()
    np.testing.assert_array_equal(backend.cumulative_extreme(x, axis, largest), want)
    np.testing.assert_array_equal(x, kept)  # left as it was
    scanned = backend.cumulative_extreme(x, axis, largest, overwrite=True)
    np.testing.assert_array_equal(scanned, want)
    assert np.shares_memory(scanned, x)


def test_indices_changed_in_place_leave_the_gradient_as_it_was(device, torch):
    # backward keeps indices of its own: the caller's may change, as before backward ran
    values = _with_ties_nan_zeros_and_infinities((20, LINES), "float64", seed=4)
    x, tx = ag.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    result = ag.cummax(x, 0)
    result.indices[...] = 0
    cotangent = np.random.default_rng(5).standard_normal(values.shape)
    gx, = ag.grad(result.values, x, ag.tensor(cotangent))
    tgx, = torch.autograd.grad(torch.cummax(tx, 0).values, tx, torch.tensor(cotangent))
    assert result.indices.numpy().max() == 0
    np.testing.assert_allclose(gx.numpy(), tgx.numpy(), rtol=1e-12, atol=0)
