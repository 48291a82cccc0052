"""quantile, nanquantile, nanmedian and kthvalue against PyTorch (and NumPy where the two
part ways, or PyTorch has no answer): every method with ties and NaN, which input gets
the gradient, q's forms and errors, float32 positions, empty axes, integer inputs and
infinities. The op table (test_ops_table.py) covers the smooth cases and second order."""
import math

import numpy as np
import pytest

import autograd as ag
from tests.autograd.torch_pairs import leaf_pair

METHODS = ["linear", "lower", "higher", "midpoint", "nearest"]
NAN = math.nan
WITH_TIES_AND_NAN = [[3.0, 1.0, 3.0, 1.0, 2.0, 3.0],
                     [0.5, NAN, -1.0, 2.0, 0.5, 4.0],
                     [NAN, 2.0, NAN, 2.0, 2.0, -3.0],
                     [NAN, NAN, NAN, NAN, NAN, NAN],
                     [7.0, -2.0, 0.0, 1.5, 1.5, 6.0]]


def _values_and_gradient(torch, fn, tfn, values, dtype="float64"):
    """The same values (to the last bit or two: PyTorch's lerp fuses its multiply-add, where
    topograd's is NumPy's, bit for bit) and the same gradient through one random cotangent
    as PyTorch's."""
    x, tx = leaf_pair(torch, values, dtype)
    y, ty = fn(x), tfn(tx)
    assert y.shape == tuple(ty.shape) and str(y.dtype) == dtype
    tolerance = 1e-14 if dtype == "float64" else 1e-6
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=tolerance, atol=tolerance)
    cotangent = np.random.default_rng(5).standard_normal(y.shape).astype(dtype)
    ag.backward(y, ag.tensor(cotangent))
    ty.backward(torch.tensor(cotangent))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=tolerance, atol=tolerance)


# --- quantile and nanquantile: values and gradients -------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("nan", [False, True], ids=["quantile", "nanquantile"])
def test_quantile_with_ties_and_nan_matches_torch(device, torch, method, nan, dtype):
    """Ties go to the stable sort's order, a line holding a NaN gives NaN with the gradient
    on the NaN (nanquantile: the numbers' quantile; a line of NaNs gives NaN, the gradient
    on its first), and a 1-D q puts its axis first."""
    fn, tfn = (ag.nanquantile, torch.nanquantile) if nan else (ag.quantile, torch.quantile)
    levels = [0.0, 0.1, 0.37, 0.5, 0.9, 1.0]
    _values_and_gradient(torch, lambda x: fn(x, levels, axis=1, method=method),
                         lambda t: tfn(t, torch.tensor(levels, dtype=t.dtype), dim=1, interpolation=method),
                         WITH_TIES_AND_NAN, dtype)
    _values_and_gradient(torch, lambda x: fn(x, 0.6, axis=0, keepdims=True, method=method),
                         lambda t: tfn(t, 0.6, dim=0, keepdim=True, interpolation=method), WITH_TIES_AND_NAN, dtype)


@pytest.mark.parametrize("method", METHODS)
def test_quantile_over_axis_none_and_tuples_matches_numpy(device, method):
    values = np.random.default_rng(2).standard_normal((3, 4, 5))
    values[0, 1, :3] = values[2, 3, 4]  # ties
    for axis in (None, (0, 2), (-1, 0, 1), 1):
        for keepdims in (False, True):
            for q in (0.3, [0.0, 0.45, 1.0]):
                got = ag.quantile(ag.tensor(values), q, axis, keepdims, method)
                want = np.quantile(values, q, axis, keepdims=keepdims, method=method)
                assert got.shape == want.shape
                np.testing.assert_array_equal(got.numpy(), want)


def test_nearest_takes_a_half_to_the_even_index_as_numpy_and_torch(device, torch):
    x = ag.arange(6.0)  # q = 0.1, 0.3, ... fall at 0.5, 1.5, 2.5, 3.5, 4.5
    levels = [0.1, 0.3, 0.5, 0.7, 0.9]
    got = ag.quantile(x, levels, method="nearest").numpy()
    np.testing.assert_array_equal(got, [0.0, 2.0, 2.0, 4.0, 4.0])
    np.testing.assert_array_equal(got, torch.quantile(torch.arange(6.0), torch.tensor(levels), interpolation="nearest"))


def test_float32_positions_are_worked_out_in_float64_as_numpy(device, torch):
    """q * (n - 1) in float64, as NumPy 2.3 and later: 15/22 * 11 is 7.4999... there but 7.5 in
    float32, where PyTorch (and NumPy before 2.3) works it out, so its 'nearest' rounds the other
    way. (NumPy's answer for float64 values is the float64 position's whatever its version.)"""
    values = np.arange(12, dtype=np.float32)
    got = ag.quantile(ag.tensor(values), 15 / 22, method="nearest")
    wide = np.quantile(values.astype(np.float64), 15 / 22, method="nearest")
    assert got.dtype == ag.float32 and got.item() == wide == 7.0
    assert torch.quantile(torch.tensor(values), 15 / 22, interpolation="nearest").item() == 8.0


def test_a_whole_number_position_gives_an_infinity_itself(device, torch):
    """NumPy's and PyTorch's interpolation make inf - inf of it (NaN) for 'linear' and
    'midpoint', where their 'lower' and 'higher' give it; between two values it stays NaN."""
    values = [1.0, math.inf, 3.0]
    x = ag.tensor(values, dtype="float64")
    for method in METHODS:
        assert ag.quantile(x, 1.0, method=method).item() == math.inf
    assert ag.quantile(ag.tensor([-math.inf, 0.0, 2.0]), 0.0).item() == -math.inf
    assert torch.quantile(torch.tensor(values), 1.0, interpolation="higher").item() == math.inf
    assert math.isnan(torch.quantile(torch.tensor(values), 1.0).item())
    assert math.isnan(ag.quantile(x, 0.75).item()) and math.isnan(np.quantile(values, 0.75))


# --- q: its forms, its gradient and its errors -------------------------------------------------

def test_q_forms_and_dtypes(device):
    values = np.random.default_rng(3).standard_normal((4, 5))
    x = ag.tensor(values, dtype="float64")
    want = np.quantile(values, [0.2, 0.7], axis=1)
    for q in ([0.2, 0.7], (0.2, 0.7), ag.tensor([0.2, 0.7], dtype="float64"), np.array([0.2, 0.7])):
        np.testing.assert_array_equal(ag.quantile(x, q, axis=1).numpy(), want)
    # 0-d q: no leading axis; q's dtype leaves the result in x's (PyTorch asks for the same dtype)
    assert ag.quantile(x, ag.tensor(0.5, dtype="float64"), axis=1).shape == (4,)
    assert ag.quantile(x, ag.tensor([0.25], dtype="float32"), axis=1).dtype == ag.float64
    assert ag.quantile(ag.tensor(values, dtype="float32"), ag.tensor([0.25], dtype="float64")).dtype == ag.float32
    np.testing.assert_array_equal(ag.quantile(x, ag.tensor([0, 1]), axis=1).numpy(),
                                  np.stack([values.min(1), values.max(1)]))  # integer levels
    assert ag.quantile(x, [], axis=1).shape == (0, 4)


def test_a_tensor_q_gets_a_gradient_through_the_linear_weights_as_in_torch(device, torch):
    values = [[3.0, 1.0, 2.0, 7.0], [0.0, 5.0, -1.0, 2.0]]
    q = ag.tensor([0.2, 0.5, 0.9], dtype="float64", requires_grad=True)
    tq = torch.tensor([0.2, 0.5, 0.9], dtype=torch.float64, requires_grad=True)
    (ag.quantile(ag.tensor(values, dtype="float64"), q, axis=1) ** 2).sum().backward()
    (torch.quantile(torch.tensor(values, dtype=torch.float64), tq, dim=1) ** 2).sum().backward()
    np.testing.assert_allclose(q.grad.numpy(), tq.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("q, error, message", [
    (1.5, ValueError, r"^quantile: q must be in \[0, 1\], got 1.5; a percentile p is q = p / 100$"),
    (-0.1, ValueError, r"q must be in \[0, 1\], got -0.1"),
    (math.nan, ValueError, r"q must be in \[0, 1\], got nan"),
    ([0.1, 1.5], ValueError, r"q must be in \[0, 1\], got 1.5"),
    ([[0.1, 0.5]], ValueError, r"^quantile: q must be a number or 1-D, got shape \(1, 2\); flatten it first$"),
    (True, TypeError, r"^quantile: q must be a number in \[0, 1\] or a sequence of them, not a bool$"),
    ("0.5", TypeError, r"cannot make a tensor of this str"),
])
def test_bad_q_is_refused_naming_q_and_the_range(device, q, error, message):
    x = ag.ones(3, 4)
    with pytest.raises(error, match=message):
        ag.quantile(x, q)


def test_bad_tensor_q_and_method_are_refused(device):
    x = ag.ones(3, 4)
    with pytest.raises(ValueError, match=r"^nanquantile: q must be in \[0, 1\], got 2.0"):
        ag.nanquantile(x, ag.tensor([0.5, 2.0]))
    with pytest.raises(TypeError, match=r"^quantile: q must hold numbers in \[0, 1\], not bools$"):
        ag.quantile(x, ag.tensor([True]))
    with pytest.raises(ValueError, match=r"^quantile: method must be one of 'linear', 'lower', 'higher', "
                                         r"'midpoint', 'nearest', got 'inverted_cdf'$"):
        ag.quantile(x, 0.5, method="inverted_cdf")
    other = "cpu" if device != "cpu" else "strict"
    with pytest.raises(ValueError, match=rf"^quantile: q is on {other} and x on {device}; move q with q.to\("):
        ag.quantile(x, ag.tensor(0.5, device=other))


# --- empty axes and integer inputs: as median ---------------------------------------------------

def test_an_empty_axis_gives_nan_as_median(device, torch):
    """NumPy raises an IndexError and PyTorch refuses empty input; median's NaN here."""
    for fn in (ag.quantile, ag.nanquantile):
        got = fn(ag.zeros(2, 0), [0.5, 0.2], axis=1)
        assert got.shape == (2, 2) and np.isnan(got.numpy()).all()
        assert math.isnan(fn(ag.zeros(0), 0.5).item())
        assert fn(ag.zeros(0, 3), [0.5, 0.2], axis=1).shape == (2, 0)  # no lines: nothing to compute
    assert np.isnan(ag.nanmedian(ag.zeros(3, 0), axis=1).numpy()).all()
    with pytest.raises(RuntimeError, match="non-empty"):
        torch.quantile(torch.zeros(2, 0), 0.5, dim=1)


@pytest.mark.parametrize("method", METHODS)
def test_integers_give_the_default_float_as_median(device, method):
    """PyTorch refuses integer input; NumPy gives float64, or keeps the integers for
    'lower', 'higher' and 'nearest'. topograd gives the default float, as median and mean."""
    values = np.array([[3, 1, 8, 2], [5, 5, 0, 9]])
    got = ag.quantile(ag.tensor(values), [0.3, 0.5], axis=1, method=method)
    assert got.dtype == ag.float32
    np.testing.assert_allclose(got.numpy(), np.quantile(values, [0.3, 0.5], axis=1, method=method), rtol=1e-7)
    assert ag.nanmedian(ag.tensor([3, 1, 2, 8])).item() == 2.5


# --- nanmedian: NumPy's, as this median ---------------------------------------------------------

def test_nanmedian_is_numpys_the_mean_of_the_middle_two(device, torch):
    """torch.nanmedian takes the lower of the middle two; topograd's (as its median) their
    mean, with torch.nanquantile's 0.5 gradient: half to each."""
    values = np.array([[3.0, NAN, 1.0, 2.0], [1.0, 2.0, 4.0, 3.0], [NAN, NAN, NAN, 5.0], [NAN] * 4, [1.0, 4.0, 4.0, NAN]])
    for axis in (None, 0, 1, (0, 1)):
        np.testing.assert_array_equal(ag.nanmedian(ag.tensor(values), axis).numpy(), np.nanmedian(values, axis))
    assert ag.nanmedian(ag.tensor(values[1])).item() == 2.5 and torch.nanmedian(torch.tensor(values[1])).item() == 2.0
    _values_and_gradient(torch, lambda x: ag.nanmedian(x, 1), lambda t: torch.nanquantile(t, 0.5, dim=1), values)


def test_nanmedian_equals_median_without_nan_where_the_sum_overflows(device):
    values = np.random.default_rng(6).standard_normal((3, 6)).astype(np.float32)
    values[1, :2] = [3.0e38, 3.2e38]
    values[1, 2:] = 3.1e38
    for axis in (None, 1, 0):
        x = ag.tensor(values)
        np.testing.assert_array_equal(ag.nanmedian(x, axis).numpy(), ag.median(x, axis).numpy())
    assert np.isfinite(ag.nanmedian(ag.tensor(values), 1).numpy()).all()


# --- kthvalue ---------------------------------------------------------------------------------

@pytest.mark.parametrize("axis, keepdims", [(-1, False), (0, True), (1, False)])
def test_kthvalue_matches_torch_for_every_k(device, torch, axis, keepdims):
    values = np.random.default_rng(8).standard_normal((4, 5))
    n = values.shape[axis]
    for k in range(1, n + 1):
        got = ag.kthvalue(ag.tensor(values, dtype="float64"), k, axis, keepdims)
        want = torch.kthvalue(torch.tensor(values), k, axis, keepdims)
        np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
        np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    _values_and_gradient(torch, lambda x: ag.kthvalue(x, 3, axis, keepdims).values,
                         lambda t: torch.kthvalue(t, 3, axis, keepdims).values, values)


def test_kthvalue_ties_nan_integers_and_a_0d_tensor(device, torch):
    """Ties are taken in index order (PyTorch's tied index is unspecified: its values
    agree), NaN counts as the largest, integers keep their dtype."""
    values = [3.0, 1.0, 3.0, 1.0, 2.0, 1.0]
    x = ag.tensor(values, requires_grad=True)
    kth = ag.kthvalue(x, 2)
    assert kth.values.item() == torch.kthvalue(torch.tensor(values), 2).values.item() == 1.0
    assert kth.indices.item() == 3
    kth.values.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 0, 1, 0, 0])
    with_nan = ag.tensor([1.0, NAN, 0.0])
    assert math.isnan(ag.kthvalue(with_nan, 3).values.item()) and ag.kthvalue(with_nan, 3).indices.item() == 1
    assert ag.kthvalue(with_nan, 2).indices.item() == 0
    ints = ag.kthvalue(ag.tensor([[5, 4, 3], [0, 9, 2]]), 2)
    assert ints.values.dtype == ag.int64 and ints.values.tolist() == [4, 2]
    scalar = ag.kthvalue(ag.tensor(4.0), 1, axis=0, keepdims=True)
    assert scalar.values.shape == () and scalar.indices.item() == 0
    flat = ag.kthvalue(ag.tensor([[3.0, 1.0], [0.0, 2.0]]), 3, axis=None, keepdims=True)
    assert flat.values.shape == (1, 1) and flat.values.item() == 2.0 and flat.indices.item() == 3


def test_kthvalue_errors_name_k_and_its_range(device):
    x = ag.ones(2, 3)
    for k in (0, 4, -1):
        with pytest.raises(ValueError, match=rf"^kthvalue: k={k} is out of range for an axis of size 3; "
                                             r"give 1 <= k <= 3 \(k counts from 1\)$"):
            ag.kthvalue(x, k)
    with pytest.raises(ValueError, match=r"axis of size 0; an empty axis has no k-th value"):
        ag.kthvalue(ag.zeros(2, 0), 1)
    assert ag.kthvalue(ag.zeros(0, 3), 1).values.shape == (0,)  # no lines, as PyTorch
    for k in (2.0, True):
        with pytest.raises(TypeError, match=rf"^kthvalue: k must be an int, not {k!r}$"):
            ag.kthvalue(x, k)
    with pytest.raises(TypeError, match=r"^kthvalue: axis must be one int"):
        ag.kthvalue(x, 1, axis=(0, 1))


def test_the_tensor_methods_are_the_functions():
    x = ag.tensor(np.random.default_rng(3).standard_normal((4, 5)))
    x.data[1, 2] = NAN
    np.testing.assert_array_equal(x.quantile([0.2, 0.9], axis=1, method="nearest").numpy(),
                                  ag.quantile(x, [0.2, 0.9], axis=1, method="nearest").numpy())
    np.testing.assert_array_equal(x.nanquantile(0.3, axis=0, keepdims=True).numpy(),
                                  ag.nanquantile(x, 0.3, axis=0, keepdims=True).numpy())
    np.testing.assert_array_equal(x.median(axis=1).numpy(), ag.median(x, axis=1).numpy())
    np.testing.assert_array_equal(x.nanmedian(axis=1).numpy(), np.nanmedian(x.numpy(), axis=1))
    values, indices = x.kthvalue(2, axis=0)
    np.testing.assert_array_equal(values.numpy(), ag.kthvalue(x, 2, axis=0).values.numpy())
    np.testing.assert_array_equal(indices.numpy(), ag.kthvalue(x, 2, axis=0).indices.numpy())
