"""cummax, cummin and logcumsumexp against PyTorch: the index reported on ties (the last),
NaN and infinities, integer and bool inputs, empty axes and 0-d tensors, gradients
(a scatter-add to the indices; logcumsumexp's in log space, finite at +-1000 and at -inf
entries), second order, float16/32/64, and the errors. The op table covers the smooth
cases on every backend."""
import functools
import math

import numpy as np
import pytest

import autograd as ag
from tests.autograd.torch_pairs import check_grads

inf, nan = math.inf, math.nan
_check_grads = functools.partial(check_grads, tolerances={"float64": (1e-10, 1e-12), "float32": (2e-5, 1e-6)})

LINES = {  # one line per row, scanned along axis 1
    "ties": [[1.0, 3.0, 3.0, 2.0, 3.0, 0.5], [3.0, 1.0, 1.0, 0.0, 0.0, 3.0]],
    "nan": [[1.0, nan, 2.0, nan, 5.0, -1.0], [nan, 1.0, nan, 0.0, -2.0, nan]],
    "infinities": [[-inf, -inf, 1.0, inf, inf, -inf], [inf, inf, -inf, -inf, 0.0, 2.0]],
    "signed_zeros": [[0.0, -0.0, 0.0, -1.0, -0.0, 1.0], [-0.0, 0.0, -0.0, 1.0, 0.0, -1.0]],
}


def _both(torch, values, dtype="float64", requires_grad=True):
    array = np.asarray(values, dtype=dtype)
    return (ag.tensor(array, requires_grad=requires_grad),
            torch.tensor(array, requires_grad=requires_grad))


def _same_pair(result, expected):
    """A (values, indices) result equal to PyTorch's, bit for bit (NaN where it has NaN, the
    sign of a zero too)."""
    values, indices = result
    assert values.shape == tuple(expected.values.shape) and indices.dtype == ag.int64
    want = expected.values.detach().numpy()
    np.testing.assert_array_equal(values.numpy(), want)
    np.testing.assert_array_equal(np.signbit(values.numpy()), np.signbit(want))
    np.testing.assert_array_equal(indices.numpy(), expected.indices.numpy())


# --- cummax and cummin: values, indices and gradients -------------------------------------

@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("values", LINES.values(), ids=LINES.keys())
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_running_extremes_and_their_gradients_match_torch(device, torch, name, values, dtype):
    x, tx = _both(torch, values, dtype)
    for axis in (1, -1, 0):
        result, expected = getattr(ag, name)(x, axis), getattr(torch, name)(tx, axis)
        assert type(result).__name__ == name.capitalize() and result._fields == ("values", "indices")
        _same_pair(result, expected)
        cotangent = np.random.default_rng(axis + 5).standard_normal(x.shape).astype(dtype)
        gx, = ag.grad(result.values, x, ag.tensor(cotangent))
        tgx, = torch.autograd.grad(expected.values, tx, torch.tensor(cotangent))
        np.testing.assert_allclose(gx.numpy(), tgx.numpy(), rtol=1e-6, atol=0)  # (sums of several in float32)


def test_cummax_sends_each_gradient_to_the_last_index_that_reached_the_maximum(device):
    x = ag.tensor([1.0, 3.0, 3.0, 2.0, nan, 4.0, nan], dtype="float64", requires_grad=True)
    values, indices = ag.cummax(x, 0)
    np.testing.assert_array_equal(indices.numpy(), [0, 1, 2, 2, 4, 4, 6])
    values.backward(ag.tensor([1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6], dtype="float64"))
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 10.0, 1100.0, 0.0, 110000.0, 0.0, 1e6])


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_long_lines_with_ties_and_nan_take_several_scan_steps(device, torch, name):
    # 37 places: six doubling steps on the array-api-strict backend, which has no one-pass scan.
    rng = np.random.default_rng(2)
    values = rng.integers(-3, 4, (3, 37)).astype(np.float64)
    values[1, 20] = values[2, 3] = values[2, 30] = nan
    x, tx = _both(torch, values)
    for axis in (1, 0):
        _same_pair(getattr(ag, name)(x, axis), getattr(torch, name)(tx, axis))


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "int64", "bool"])
def test_integers_and_bools_give_values_of_their_dtype_and_no_gradient(device, torch, name, dtype):
    values = np.array([[3, 0, 3, 1, 2, 0], [0, 1, 1, 2, 0, 2]]).astype(dtype)
    result = getattr(ag, name)(ag.tensor(values), 1)
    _same_pair(result, getattr(torch, name)(torch.tensor(values), 1))
    assert result.values.dtype == dtype and not result.values.requires_grad


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_float16_matches_torch(torch, name):
    values = np.array([[0.5, 2.0, 2.0, nan, 1.0], [-inf, 1e4, 6e4, 6e4, -6e4]])
    x, tx = _both(torch, values, "float16")
    _same_pair(getattr(ag, name)(x, 1), getattr(torch, name)(tx, 1))


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_empty_axes_zero_d_tensors_and_axis_none(device, torch, name):
    for shape, axis in [((2, 0), 1), ((0, 3), 0), ((0, 3), 1)]:
        result = getattr(ag, name)(ag.zeros(*shape, requires_grad=True), axis)
        assert result.values.shape == result.indices.shape == shape
        result.values.sum().backward()
    zero_d = ag.tensor(2.5, requires_grad=True)
    for axis in (0, -1):
        result = getattr(ag, name)(zero_d, axis)
        _same_pair(result, getattr(torch, name)(torch.tensor(2.5), axis))
    result.values.backward()
    assert zero_d.grad.item() == 1.0
    # axis=None scans the flattened tensor, as cumsum's (torch needs a dim: flatten it there)
    values = [[2.0, 1.0, 5.0], [5.0, 0.0, 7.0]]
    x, tx = _both(torch, values)
    _same_pair(getattr(ag, name)(x, None), getattr(torch, name)(tx.reshape(-1), 0))
    assert getattr(ag, name)(ag.tensor(2.5), None).values.shape == ag.cumsum(ag.tensor(2.5), None).shape == (1,)


def test_cummax_differentiates_again_in_its_cotangent(device, torch):
    # The gradient is a scatter-add of gy to the indices: linear in gy, whose own gradient is the
    # gather at the same indices (x's second derivative is 0, and PyTorch gives none).
    values = LINES["ties"]
    x, tx = _both(torch, values)
    cotangent = np.random.default_rng(0).standard_normal((2, 6))
    v = np.random.default_rng(1).standard_normal((2, 6))
    gy, tgy = _both(torch, cotangent)
    gx, = ag.grad(ag.cummax(x, 1).values, x, gy, create_graph=True)
    tgx, = torch.autograd.grad(torch.cummax(tx, 1).values, tx, tgy, create_graph=True)
    ggy, = ag.grad((gx * ag.tensor(v)).sum(), gy)
    tggy, = torch.autograd.grad((tgx * torch.tensor(v)).sum(), tgy)
    np.testing.assert_array_equal(ggy.numpy(), tggy.numpy())
    assert ag.gradgradcheck(lambda t: ag.cummin(t, 0).values, [ag.tensor(values, dtype="float64", requires_grad=True)])


@pytest.mark.parametrize("name", ["cummax", "cummin", "logcumsumexp"])
def test_bad_axes_are_refused_naming_the_op(device, name):
    fn = getattr(ag, name)
    with pytest.raises(ValueError, match=rf"^{name}: axis 2 is out of range for a tensor with 2 dimensions$"):
        fn(ag.ones(2, 3), 2)
    with pytest.raises(ValueError, match=rf"^{name}: axis 1 is out of range for a tensor with 0 dimensions$"):
        fn(ag.tensor(1.0), 1)
    with pytest.raises(TypeError, match=rf"^{name}: axis must be one int, not \(0, 1\)$"):
        fn(ag.ones(2, 3), (0, 1))


# --- logcumsumexp ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_logcumsumexp_matches_torch_to_second_order(device, torch, dtype, axis):
    values = np.random.default_rng(4).standard_normal((4, 7)) * 3
    _check_grads(torch, lambda x: x.logcumsumexp(axis), lambda t: t.logcumsumexp(axis), values, dtype,
                 dtype == "float64")


def test_logcumsumexp_is_stable_at_plus_and_minus_a_thousand(device, torch):
    values = [[-1000.0, 0.0, 1000.0, -1000.0], [1000.0, -1000.0, 999.0, 1000.0], [-800.0, -800.0, -800.0, -801.0]]
    _check_grads(torch, lambda x: ag.logcumsumexp(x, 1), lambda t: t.logcumsumexp(1), values)
    # float32 against PyTorch's float64: near 1000 a float32 y is good to its step, 6e-5, and the
    # gradient to about as much (PyTorch's float32 one is off by 6e-5 here too).
    x, tx = ag.tensor(values, dtype="float32", requires_grad=True), torch.tensor(values, requires_grad=True)
    cotangent = np.random.default_rng(3).standard_normal((3, 4))
    y = ag.logcumsumexp(x, 1)
    np.testing.assert_array_equal(y.numpy(), torch.logcumsumexp(torch.tensor(values, dtype=torch.float32), 1).numpy())
    y.backward(ag.tensor(cotangent, dtype="float32"))
    torch.logcumsumexp(tx, 1).backward(torch.tensor(cotangent))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=0, atol=6e-5)


def test_logcumsumexp_float32_runs_in_float64_as_torch(device, torch):
    # A long float32 line: rounding each running value to float32 would drift from PyTorch's
    # double accumulation; computed in float64 and rounded once, it is within one float32 step.
    values = np.random.default_rng(5).standard_normal(20000).astype(np.float32)
    got = ag.logcumsumexp(ag.tensor(values), 0).numpy()
    want = torch.logcumsumexp(torch.tensor(values), 0).numpy()
    np.testing.assert_allclose(got, want, rtol=1.2e-7, atol=0)


@pytest.mark.parametrize("values", [
    [[-inf, 0.0, -inf, 1.0], [0.0, -inf, -inf, -inf]],
    [[1.0, inf, -inf, 2.0], [nan, 1.0, 2.0, 3.0]],
], ids=["minus_inf_after_a_finite_value", "inf_and_nan"])
def test_logcumsumexp_infinities_and_nan_match_torch(device, torch, values):
    x, tx = _both(torch, values)
    y, ty = ag.logcumsumexp(x, 1), torch.logcumsumexp(tx, 1)
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    cotangent = np.array([[1.0, -2.0, 0.5, 3.0], [-1.0, 2.0, 0.25, -0.5]])
    gx, = ag.grad(y, x, ag.tensor(cotangent))
    tgx, = torch.autograd.grad(ty, tx, torch.tensor(cotangent))
    np.testing.assert_allclose(gx.numpy(), tgx.numpy(), rtol=1e-12, atol=1e-15)  # NaN where PyTorch's is


@pytest.mark.parametrize("values", [[[0.0, inf, nan, 1.0], [1.0, inf, 2.0, nan]], [[-inf, inf, nan, 0.0],
                                                                                  [2.0, inf, inf, nan]]],
                         ids=["nan_after_inf", "nan_after_infs"])
def test_logcumsumexp_gradient_of_a_line_with_nan_past_inf_is_nan_as_torchs(device, torch, values):
    """A NaN x_k makes every y_j from k on NaN, and each x_i's weight exp(x_i - y_j) in such a y_j
    NaN: the whole line's gradient is NaN (PyTorch's too). A step up to +inf carries nothing
    back, so the entries before the +inf got finite gradients."""
    x, tx = _both(torch, values)
    cotangent = np.array([[1.0, -2.0, 0.5, 3.0], [0.0, 2.0, 0.0, -0.5]])
    gx, = ag.grad(ag.logcumsumexp(x, 1), x, ag.tensor(cotangent))
    tgx, = torch.autograd.grad(torch.logcumsumexp(tx, 1), tx, torch.tensor(cotangent))
    np.testing.assert_array_equal(gx.numpy(), tgx.numpy())
    assert np.isnan(gx.numpy()).all()


def test_logcumsumexp_gradient_keeps_a_nan_cotangent_past_inf(device):
    """A NaN gy_j reaches every x_i with i <= j (gy_j times a weight, here 0 for x_0, is NaN);
    past a step up to +inf it was dropped. (PyTorch's sum in log space of |gy| drops a NaN gy
    everywhere; topograd's gradient is linear in gy, and keeps it, as a product does.)"""
    x = ag.tensor([[0.0, inf, 0.0, 1.0]], dtype="float64", requires_grad=True)
    gx, = ag.grad(ag.logcumsumexp(x, 1), x, ag.tensor([[1.0, 0.0, nan, 0.0]], dtype="float64"))
    np.testing.assert_array_equal(gx.numpy(), [[nan, nan, nan, 0.0]])


def test_logcumsumexp_gradient_at_leading_minus_inf_is_zero_where_no_gradient_reaches_it(device, torch):
    # PyTorch gives NaN to every entry whose running value is -inf. Each weight exp(x_i - y_j) lies
    # in [0, 1], so a zero cotangent adds nothing: the -inf entries get exactly 0 unless a nonzero
    # cotangent meets a -inf running value (then NaN, as PyTorch's).
    x = ag.tensor([[-inf, -inf, 0.0, 1.0], [-inf, -inf, -inf, -inf], [-inf, -inf, 2.0, -inf]],
                  dtype="float64", requires_grad=True)
    y = ag.logcumsumexp(x, 1)
    np.testing.assert_array_equal(y.numpy()[1], [-inf] * 4)
    tx = torch.tensor(x.numpy(), requires_grad=True)
    cotangent = [[0.0, 0.0, 1.0, -2.0], [0.0, 0.0, 0.0, 0.0], [1.0, 0.0, 1.0, 1.0]]
    gx, = ag.grad(y, x, ag.tensor(cotangent, dtype="float64"))
    tgx, = torch.autograd.grad(torch.logcumsumexp(tx, 1), tx, torch.tensor(cotangent, dtype=torch.float64))
    e = math.e  # row 0: y = [-inf, -inf, 0, log(1 + e)]; row 2: the first cotangent meets y_0 = -inf
    want = [[0.0, 0.0, 1.0 - 2.0 / (1.0 + e), -2.0 * e / (1.0 + e)], [0.0, 0.0, 0.0, 0.0], [nan, 0.0, 2.0, 0.0]]
    np.testing.assert_allclose(gx.numpy(), want, rtol=1e-12, atol=0)
    finite = np.isfinite(tgx.numpy())  # PyTorch: NaN on every leading -inf, the rest the same
    np.testing.assert_allclose(gx.numpy()[finite], tgx.numpy()[finite], rtol=1e-12, atol=0)
    assert np.isnan(tgx.numpy()[:, :2]).all()


def test_logcumsumexp_gradient_differentiates_in_a_cotangent_that_holds_zeros(device):
    # The gradient is linear in gy, so its derivative in a gy_j that is 0 is still x_i's weight in
    # y_j (a sum in log space of log|gy|, as PyTorch's, has none there).
    assert ag.gradgradcheck(lambda t, g: ag.grad(ag.logcumsumexp(t, 0), t, g, create_graph=True)[0],
                            [ag.tensor([0.3, -1.2, 2.0], dtype="float64", requires_grad=True),
                             ag.tensor([0.0, 1.5, 0.0], dtype="float64", requires_grad=True)])


def test_logcumsumexp_integers_take_the_default_float_and_empty_and_zero_d(device, torch):
    # PyTorch's logcumsumexp refuses integers; here they take the default float, as logsumexp's.
    y = ag.logcumsumexp(ag.tensor([[1, 0, 2], [3, 3, 0]]), 1)
    assert y.dtype == ag.float32
    np.testing.assert_allclose(y.numpy(), torch.logcumsumexp(torch.tensor([[1.0, 0, 2], [3, 3, 0]]), 1).numpy(),
                               rtol=1e-6)
    assert ag.logcumsumexp(ag.tensor([True, False]), 0).dtype == ag.float32
    empty = ag.zeros(2, 0, requires_grad=True)
    y = ag.logcumsumexp(empty, 1)
    assert y.shape == (2, 0)
    y.sum().backward()
    assert empty.grad.shape == (2, 0)
    zero_d = ag.tensor(-3.5, dtype="float64", requires_grad=True)
    y = ag.logcumsumexp(zero_d, -1)
    assert y.shape == () and y.item() == torch.logcumsumexp(torch.tensor(-3.5), -1).item()
    y.backward()
    assert zero_d.grad.item() == 1.0


def test_logcumsumexp_float16_matches_torch(torch):
    values = np.array([[0.5, 2.0, -3.0, 8.0, 8.0], [-inf, 10.0, 11.0, -60.0, 11.0]])
    x, tx = _both(torch, values, "float16")
    y, ty = ag.logcumsumexp(x, 1), torch.logcumsumexp(tx, 1)
    assert y.dtype == ag.float16
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    # The gradient against PyTorch's in float64, to float16's precision (y near 11 is good to its
    # step, 0.008; PyTorch's float16 gradient is off by 0.006 at [1, 1], this one by 0.001).
    gx, = ag.grad(y, x, ag.ones(2, 5, dtype="float16"))
    wide = torch.tensor(values, requires_grad=True)
    want, = torch.autograd.grad(torch.logcumsumexp(wide, 1), wide, torch.ones(2, 5, dtype=torch.float64))
    assert gx.dtype == ag.float16
    np.testing.assert_allclose(gx.numpy().astype(np.float64), want.numpy(), rtol=2e-3, atol=1e-3)  # NaN at [1, 0]


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
