"""NumPy's NaN-aware reductions and statistics functions (ops/nan_reductions.py,
ops/statistics.py) where the op table does not reach: the functions without a gradient
(histogram, bincount's counts, isin, argwhere), slices with no numbers (NumPy's results
and warnings), empty inputs, ddof past the count, float16 and integer inputs, and the
errors, against NumPy and PyTorch."""
import math
import re
import warnings

import numpy as np
import pytest

import autograd as ag

NAN = math.nan


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


# --- histogram --------------------------------------------------------------------------
DATA = np.random.default_rng(3).standard_normal(200)


@pytest.mark.parametrize("options", [
    {}, {"bins": 7, "range": (-1.0, 1.5)}, {"bins": [-2.0, -0.5, 0.0, 0.1, 3.0]}, {"bins": 4, "weights": True},
    {"bins": 5, "density": True}, {"bins": [-1.0, 0.0, 2.0], "weights": True, "density": True},
], ids=repr)
def test_histogram_matches_numpy_and_torch(options, device, torch):
    weights = np.abs(DATA) if options.get("weights") else None
    kwargs = {**options, "weights": weights}
    hist, edges = ag.histogram(ag.tensor(DATA, dtype="float64"), **{
        **kwargs, "weights": None if weights is None else ag.tensor(weights, dtype="float64")})
    want_hist, want_edges = np.histogram(DATA, **kwargs)
    np.testing.assert_allclose(edges.numpy(), want_edges, rtol=1e-15)
    np.testing.assert_allclose(hist.numpy(), want_hist, rtol=1e-13)
    assert hist.dtype == want_hist.dtype and edges.dtype == want_edges.dtype
    bins = options.get("bins", 10)
    more = {"density": bool(options.get("density")), "weight": None if weights is None else torch.tensor(weights)}
    if isinstance(bins, list):
        theirs = torch.histogram(torch.tensor(DATA), torch.tensor(bins, dtype=torch.float64), **more)
    else:
        theirs = torch.histogram(torch.tensor(DATA), bins, range=options.get("range"), **more)
    np.testing.assert_allclose(hist.numpy(), theirs.hist.numpy(), rtol=1e-13)
    np.testing.assert_allclose(edges.numpy(), theirs.bin_edges.numpy(), rtol=1e-15)


def test_histogram_edges_of_float32_and_integers_are_numpys(device):
    values = np.array([0.1, 0.7, 0.3, 0.9, 0.45], dtype=np.float32)
    for data, kwargs in [(values, {"bins": 6}), (values, {"bins": 3, "range": (0.1, 0.4)}),
                         (np.array([1, 2, 2, 7, 3]), {"bins": 3}), (np.full(3, 2.0), {"bins": 2}),
                         (np.zeros(0, np.float32), {"bins": 3})]:
        hist, edges = ag.histogram(ag.tensor(data), **kwargs)
        want_hist, want_edges = np.histogram(data, **kwargs)
        np.testing.assert_array_equal(edges.numpy(), want_edges)
        np.testing.assert_array_equal(hist.numpy(), want_hist)
        assert edges.dtype == want_edges.dtype and hist.dtype == want_hist.dtype


def test_histogram_leaves_out_nan_and_values_outside_the_range_and_takes_no_gradient():
    x = ag.tensor([1.0, NAN, 5.0, -1.0, 4.0, 2.0], requires_grad=True)
    hist, edges = ag.histogram(x, 2, range=(0, 4))
    np.testing.assert_array_equal(hist.numpy(), np.histogram(x.numpy(), 2, range=(0, 4))[0])  # [1, 2]: 4 in the last
    assert not hist.requires_grad and not edges.requires_grad


@pytest.mark.parametrize("call, message", [
    (lambda: ag.histogram(ag.ones(3), 0), "histogram: bins must be at least 1"),
    (lambda: ag.histogram(ag.ones(3), 2, range=(2, 1)), "histogram: range=(2, 1) runs backward"),
    (lambda: ag.histogram(ag.ones(3), 2, range=(0, math.inf)), "histogram: range=(0, inf) is not finite"),
    (lambda: ag.histogram(ag.tensor([1.0, NAN])), "histogram: a's values run from nan to nan"),
    (lambda: ag.histogram(ag.ones(3), [0.0, 2.0, 1.0]), "histogram: bin edges must increase monotonically"),
    (lambda: ag.histogram(ag.ones(3), "auto"), "histogram: bins='auto': NumPy's bin estimators are not offered"),
    (lambda: ag.histogram(ag.ones(3), 2, weights=ag.ones(2)), "histogram: weights of shape (2,) must match"),
])
def test_histogram_errors(call, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        call()


# --- bincount ---------------------------------------------------------------------------
def test_bincount_counts_match_numpy_and_torch(device, torch):
    values = np.array([0, 3, 3, 1, 5, 0, 3])
    for minlength in (0, 4, 9):
        got = ag.bincount(ag.tensor(values), minlength=minlength)
        want = np.bincount(values, minlength=minlength)
        np.testing.assert_array_equal(got.numpy(), want)
        np.testing.assert_array_equal(got.numpy(), torch.bincount(torch.tensor(values), minlength=minlength).numpy())
        assert got.dtype == ag.int64
    np.testing.assert_array_equal(ag.bincount(ag.zeros(0, dtype=ag.int64), minlength=3).numpy(), [0, 0, 0])
    np.testing.assert_array_equal(ag.bincount(ag.tensor([True, False, True])).numpy(), [1, 2])


def test_bincount_weights_dtypes_and_float16_sums_in_float32():
    index = ag.tensor([0, 1, 1])
    integer = ag.bincount(index, ag.tensor([1, 2, 3]))
    assert integer.dtype == ag.float64  # as NumPy's and PyTorch's
    np.testing.assert_array_equal(integer.numpy(), [1.0, 5.0])
    assert ag.bincount(index, ag.tensor([1.0, 2.0, 3.0])).dtype == ag.float32  # NumPy: float64
    # 3000 thirds: a float16 running sum stalls far below 1000
    thirds = ag.bincount(ag.zeros(3000, dtype=ag.int64), ag.full((3000,), 1 / 3, dtype=ag.float16))
    assert thirds.dtype == ag.float16
    assert thirds.numpy()[0] == np.float16(np.bincount(np.zeros(3000, int), np.full(3000, np.float16(1 / 3)))[0])


def test_bincount_weight_gradient_reads_each_bin():
    w = ag.tensor([0.5, -1.0, 2.0, 3.0], dtype="float64", requires_grad=True)
    out = ag.bincount(ag.tensor([2, 0, 2, 4]), w, minlength=6)
    (out * ag.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], dtype="float64")).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 1.0, 3.0, 5.0])


@pytest.mark.parametrize("call, error, message", [
    (lambda: ag.bincount(ag.tensor([0, -1])), ValueError, "bincount: x holds negative values (the least is -1)"),
    (lambda: ag.bincount(ag.tensor([0.0, 1.0])), TypeError, "bincount: x must hold non-negative integers, not float32"),
    (lambda: ag.bincount(ag.zeros(2, 2, dtype=ag.int64)), ValueError, "bincount: x must be 1-d, got shape (2, 2)"),
    (lambda: ag.bincount(ag.tensor([0, 1]), ag.ones(3)), ValueError, "bincount: weights of shape (3,) must match"),
    (lambda: ag.bincount(ag.tensor([0, 1]), minlength=-1), ValueError, "bincount: minlength must be at least 0"),
])
def test_bincount_errors(call, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}"):
        call()


# --- isin and argwhere ------------------------------------------------------------------
@pytest.mark.parametrize("element, test", [
    (np.array([[1.0, 2.5, NAN], [4.0, 5.0, 6.0]]), np.array([6.0, 2.5, NAN, 1.0])),
    (np.array([1, 2, 3, 7]), np.array([7.0, 2.5, 3.0])),
    (np.array([True, False]), np.array([True])),
    (np.array([3, 1]), np.zeros(0, dtype=np.int64)),
    (np.array(3), np.array([[1, 3], [5, 7]])),
], ids=["nan", "int-in-float", "bool", "empty-test", "0-d"])
@pytest.mark.parametrize("invert", [False, True])
def test_isin_matches_numpy_and_torch(element, test, invert, device, torch):
    got = ag.isin(ag.tensor(element), ag.tensor(test), invert=invert)
    want = np.isin(element, test, invert=invert)
    assert got.dtype == ag.bool and got.shape == want.shape
    np.testing.assert_array_equal(got.numpy(), want)
    if element.dtype != bool:  # torch.isin takes no bools
        theirs = torch.isin(torch.tensor(element), torch.tensor(test), invert=invert)
        np.testing.assert_array_equal(got.numpy(), theirs.numpy())


def test_isin_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="^isin: kind must be None, 'sort' or 'table', not 'hash'"):
        ag.isin(ag.ones(2), ag.ones(2), kind="hash")


@pytest.mark.parametrize("a", [np.array([[0.0, 2.0, NAN], [0.0, 0.0, -1.0]]), np.zeros((2, 0)), np.array(3.0),
                               np.array(0.0), np.array([False, True, True])], ids=["2-d", "empty", "0-d", "0-d-zero",
                                                                                  "bool"])
def test_argwhere_matches_numpy_and_torch(a, device, torch):
    got = ag.argwhere(ag.tensor(a))
    want = np.argwhere(a)
    assert got.dtype == ag.int64 and got.shape == want.shape
    np.testing.assert_array_equal(got.numpy(), want)
    np.testing.assert_array_equal(got.numpy(), torch.argwhere(torch.tensor(a)).numpy())


# --- NaN-aware reductions: slices with no numbers ----------------------------------------
ALL_NAN_ROW = np.array([[1.0, NAN, 3.0], [NAN, NAN, NAN]])


@pytest.mark.parametrize("name, warned", [("nanmean", True), ("nanvar", True), ("nanstd", True), ("nanmax", True),
                                          ("nanmin", True), ("nansum", False), ("nanprod", False)])
def test_an_all_nan_slice_gives_numpys_result_and_warning(name, warned, device):
    x = ag.tensor(ALL_NAN_ROW)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = getattr(ag, name)(x, 1)
    mine = [w for w in caught if str(w.message).startswith(f"{name}: ")]
    assert len(mine) == (1 if warned else 0), [str(w.message) for w in caught]
    assert all(issubclass(w.category, RuntimeWarning) for w in caught)
    assert len(caught) == len(mine), "a 0 / 0 on the way warned too"
    np.testing.assert_array_equal(got.numpy(), _quiet(getattr(np, name), ALL_NAN_ROW.astype(np.float32), 1))


@pytest.mark.parametrize("name", ["nanargmax", "nanargmin"])
def test_nanargmax_of_an_all_nan_slice_is_an_error(name):
    with pytest.raises(ValueError, match=f"^{name}: a slice along axis 1 is all NaN, so it has no index to give"):
        getattr(ag, name)(ag.tensor(ALL_NAN_ROW), 1)
    with pytest.raises(ValueError, match=f"^{name}: x is all NaN"):
        getattr(ag, name)(ag.tensor([NAN, NAN]))
    assert getattr(ag, name)(ag.tensor(ALL_NAN_ROW)).item() == getattr(np, name)(ALL_NAN_ROW)
    some = np.array([[NAN, 2.0, -1.0], [NAN, NAN, 5.0]])
    np.testing.assert_array_equal(getattr(ag, name)(ag.tensor(some), 1, keepdims=True).numpy(),
                                  getattr(np, name)(some, 1, keepdims=True))


def test_nansum_and_nanmean_gradients_match_torch_and_are_0_at_nan(torch):
    data = np.array([[1.0, NAN, 3.0, -2.0], [NAN, 0.5, NAN, 4.0]])
    for name in ("nansum", "nanmean"):
        x = ag.tensor(data, dtype="float64", requires_grad=True)
        tx = torch.tensor(data, requires_grad=True)
        (getattr(ag, name)(x, 1) * ag.tensor([2.0, -3.0], dtype="float64")).sum().backward()
        (getattr(torch, name)(tx, 1) * torch.tensor([2.0, -3.0])).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-15)
        assert (x.grad.numpy()[np.isnan(data)] == 0).all()


@pytest.mark.parametrize("name", ["nanmean", "nanvar", "nanstd", "nanmax", "nanmin", "nansum", "nanprod"])
def test_an_all_nan_slice_gets_a_zero_gradient(name):
    """PyTorch's nanmean gives such a slice NaN gradients (0 / 0); here each NaN gets 0."""
    x = ag.tensor(ALL_NAN_ROW, dtype="float64", requires_grad=True)
    _quiet(getattr(ag, name), x, 1)[0].backward()
    grad = x.grad.numpy()
    np.testing.assert_array_equal(grad[1], [0.0, 0.0, 0.0])
    assert grad[0, 1] == 0 and np.isfinite(grad).all()


def test_nanmax_gives_nans_no_share_of_a_tie(torch):
    """A slice whose largest number is -inf, beside NaN: the gradient goes to the -inf
    entries alone, shared as PyTorch's amax shares a tie."""
    x = ag.tensor([NAN, -math.inf, -math.inf, NAN], dtype="float64", requires_grad=True)
    ag.nanmax(x).backward()
    tx = torch.tensor([-math.inf, -math.inf], dtype=torch.float64, requires_grad=True)
    torch.amax(tx).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, *tx.grad.numpy(), 0.0])


# --- empty inputs and ddof past the count --------------------------------------------------
def test_empty_inputs_give_numpys_results():
    empty = np.zeros((0, 3))
    for name in ("nansum", "nanprod", "nanmean", "nanvar"):
        got = _quiet(getattr(ag, name), ag.tensor(empty, dtype="float64"), 0)
        np.testing.assert_array_equal(got.numpy(), _quiet(getattr(np, name), empty, 0))
    assert ag.cov(ag.zeros(0, 3)).shape == (0, 0) == np.cov(np.zeros((0, 3))).shape
    for name in ("nanmax", "nanmin", "nanargmax", "nanargmin", "ptp"):
        with pytest.raises(ValueError, match=f"^{name}: cannot reduce an empty axis of a tensor of shape \\(0, 3\\)"):
            getattr(ag, name)(ag.tensor(empty), 0)
    with pytest.raises(ValueError, match="^cumulative_trapezoid: y has no points along axis 0"):
        ag.cumulative_trapezoid(ag.zeros(0))
    assert ag.trapezoid(ag.zeros(0)).item() == np.trapezoid(np.zeros(0)) == 0


def test_ddof_past_the_count_gives_nan_with_a_warning(device, torch):
    data = np.array([[1.0, NAN, 2.0], [1.0, 2.0, 4.0]])
    with pytest.warns(RuntimeWarning, match="^nanvar: ddof=2 leaves no degrees of freedom in a slice"):
        got = ag.nanvar(ag.tensor(data), 1, ddof=2)
    np.testing.assert_allclose(got.numpy(), _quiet(np.nanvar, data.astype(np.float32), 1, ddof=2), rtol=1e-6)
    assert np.isnan(got.numpy()[0])  # NaN, where np.var's division by 0 gives inf
    with pytest.warns(RuntimeWarning, match="^cov: ddof=1 leaves no degrees of freedom for 1 observations"):
        one = _quiet_divide(ag.cov, ag.ones(2, 1, dtype="float64"))
    np.testing.assert_array_equal(one.numpy(), _quiet(np.cov, np.ones((2, 1))))
    with warnings.catch_warnings():  # PyTorch warns of the same
        warnings.simplefilter("ignore", UserWarning)
        np.testing.assert_array_equal(one.numpy(), torch.cov(torch.ones(2, 1, dtype=torch.float64)).numpy())


def _quiet_divide(fn, *args):
    with np.errstate(divide="ignore", invalid="ignore"):
        return fn(*args)


# --- dtypes ---------------------------------------------------------------------------------
def test_float16_adds_up_in_float32():  # (the strict backend has no float16)
    data = np.full(5000, 1 / 3, dtype=np.float16)
    data[::7] = np.nan
    wide = data.astype(np.float32)
    x = ag.tensor(data)
    for name in ("nansum", "nanmean", "nanvar", "nanstd"):
        got = getattr(ag, name)(x)
        assert got.dtype == ag.float16
        assert got.item() == np.float16(getattr(np, name)(wide)), name
    assert ag.nancumsum(x)[-1].item() == np.float16(np.nancumsum(wide)[-1])  # float16's own stalls at 256
    weights = np.full(5000, 0.5, dtype=np.float16)
    assert ag.average(ag.tensor(np.nan_to_num(data)), weights=ag.tensor(weights)).item() == \
        np.float16(np.average(np.nan_to_num(wide), weights=weights.astype(np.float32)))


def test_integer_inputs(device):
    data = np.array([[1, 5, 3], [2, 2, 9]], dtype=np.int32)
    x = ag.tensor(data)
    for name in ("nansum", "nanprod", "nancumsum"):  # int64, as NumPy's on 64-bit Linux
        got, want = getattr(ag, name)(x, 1), getattr(np, name)(data, 1)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got.numpy(), want)
    for name in ("nanmax", "nanmin", "nanargmax", "nanargmin", "ptp"):  # their own dtype, or int64 indices
        got, want = getattr(ag, name)(x, 1), getattr(np, name)(data, 1)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got.numpy(), want)
    # the default float where NumPy gives float64, as mean and median do here
    for got, want in [(ag.nanmean(x, 1), np.nanmean(data, 1)), (ag.nanvar(x, 1), np.nanvar(data, 1)),
                      (ag.average(x, 1, weights=ag.tensor([1, 2, 3])), np.average(data, 1, weights=[1, 2, 3])),
                      (ag.cov(x), np.cov(data)), (ag.trapezoid(x), np.trapezoid(data)),
                      (ag.interp(ag.tensor([0, 1, 2]), ag.tensor([0, 2]), ag.tensor([1, 5])),
                       np.interp([0, 1, 2], [0, 2], [1, 5]))]:
        assert got.dtype == ag.float32
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)


# --- the composed functions' corners -------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("axis, keepdims", [(1, False), (0, True), (None, False), ((0, 1), True)])
def test_ptp_of_a_slice_with_nan_has_torchs_nan_gradient(device, torch, dtype, axis, keepdims):
    """ptp's gradient is max's minus min's, and both gave a NaN entry the whole gradient of
    a NaN range: +1 - 1, so 0 at every entry. PyTorch's amax - amin (and aminmax) gives NaN
    over the slice (0 / 0 ties); slices without NaN keep their gradient, infinities too."""
    data = np.array([[1.0, NAN, 3.0, 3.0], [2.0, -1.0, 2.0, 5.0], [math.inf, 1.0, -math.inf, 0.0],
                     [math.inf, math.inf, math.inf, math.inf]], dtype=dtype)
    x = ag.tensor(data, requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    dim = tuple(range(data.ndim)) if axis is None else axis
    got = _quiet(ag.ptp, x, axis, keepdims)  # (inf - inf, in the last row, warns as NumPy's)
    want = torch.amax(t, dim, keepdims) - torch.amin(t, dim, keepdims)
    np.testing.assert_array_equal(got.numpy(), want.detach().numpy())
    cotangent = np.random.default_rng(0).standard_normal(want.shape).astype(dtype)
    got.backward(ag.tensor(cotangent))
    want.backward(torch.tensor(cotangent))
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_cov_and_corrcoef_of_one_variable_are_0_d(torch):
    x = np.array([1.0, 2.0, 4.0, 7.0])
    assert ag.cov(ag.tensor(x, dtype="float64")).shape == () == np.cov(x).shape
    np.testing.assert_allclose(ag.cov(ag.tensor(x, dtype="float64")).item(), torch.cov(torch.tensor(x)).item())
    assert ag.corrcoef(ag.tensor(x)).item() == np.corrcoef(x) == 1.0


def test_cumulative_trapezoid_matches_scipy():
    integrate = pytest.importorskip("scipy.integrate")
    y, x = np.random.default_rng(5).standard_normal((3, 4)), np.array([0.0, 0.5, 1.5, 1.75])
    for kwargs in [{}, {"x": x}, {"dx": 0.25, "axis": 0, "initial": 0}, {"x": x, "initial": 0}]:
        got = ag.cumulative_trapezoid(ag.tensor(y, dtype="float64"), **kwargs)
        np.testing.assert_allclose(got.numpy(), integrate.cumulative_trapezoid(y, **kwargs), rtol=1e-14)


def test_interp_corners_match_numpy():
    knots, values = np.array([0.0, 1.0, 1.0, 2.0]), np.array([0.0, 1.0, 3.0, 4.0])  # a repeated point: a jump
    x = np.array([-0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, NAN])
    got = ag.interp(ag.tensor(x, dtype="float64"), knots, ag.tensor(values, dtype="float64"))
    np.testing.assert_array_equal(got.numpy(), np.interp(x, knots, values))
    np.testing.assert_array_equal(ag.interp(ag.tensor([-1.0, 0.0, 2.0]), [0.0], [5.0]).numpy(),
                                  np.interp([-1.0, 0.0, 2.0], [0.0], [5.0]))
    scalar = ag.interp(2.5, [0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 3.0, 4.0])
    assert scalar.shape == () and scalar.item() == np.interp(2.5, [0, 1, 2, 3], [0, 1, 3, 4])


def test_interp_gradient_at_a_sample_point_is_the_slope_to_its_right():
    x = ag.tensor([1.0, 3.0], dtype="float64", requires_grad=True)
    ag.interp(x, [0.0, 1.0, 3.0], ag.tensor([0.0, 2.0, 3.0], dtype="float64")).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.5, 0.0])  # the last point: fp's end beyond it


@pytest.mark.parametrize("call, error, message", [
    (lambda: ag.average(ag.ones(3), weights=[1.0, -1.0, 0.0]), ZeroDivisionError,
     "average: the weights sum to zero"),
    (lambda: ag.average(ag.ones(2, 3), weights=[1.0, 1.0, 1.0]), ValueError,
     "average: weights of shape (3,) differ from a's shape (2, 3); give the axis"),
    (lambda: ag.average(ag.ones(2, 3), 1, weights=[1.0, 1.0]), ValueError,
     "average: weights of shape (2,) do not fit axis 1 of a, of shape (2, 3); give weights of shape (3,)"),
    (lambda: ag.cov(ag.ones(2, 1, 1)), ValueError, "cov: takes at most 2-d input"),
    (lambda: ag.cov(ag.ones(2, 3), fweights=[1, 2]), ValueError, "cov: fweights must be 1-d, one per observation (3)"),
    (lambda: ag.cov(ag.ones(2, 3), fweights=[1, 2, 1.5]), TypeError, "cov: fweights must hold whole numbers"),
    (lambda: ag.cov(ag.ones(2, 3), aweights=[1.0, -2.0, 1.0]), ValueError, "cov: aweights cannot be negative"),
    (lambda: ag.cov(ag.ones(2, 3), ddof=1.5), TypeError, "cov: ddof must be an integer"),
    (lambda: ag.interp(ag.ones(2), [1.0, 2.0], [1.0]), ValueError, "interp: xp has 2 points and fp 1 values"),
    (lambda: ag.interp(ag.ones(2), ag.zeros(0), ag.zeros(0)), ValueError, "interp: xp is empty"),
    (lambda: ag.interp(ag.ones(2), [1.0, 2.0], [1.0, 2.0], period=0), ValueError, "interp: period must be nonzero"),
    (lambda: ag.trapezoid(ag.ones(3), ag.ones(4)), ValueError, "trapezoid: x has 4 points where y has 3 along axis 0"),
    (lambda: ag.cumulative_trapezoid(ag.ones(3), initial=1), ValueError,
     "cumulative_trapezoid: initial must be None or 0"),
])
def test_errors_name_the_op_and_the_fix(call, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}"):
        call()


@pytest.mark.parametrize("op", ["nanmedian", "nanquantile"])
def test_all_nan_lines_warn_as_numpys(op):
    data = np.array([[np.nan, np.nan], [1.0, 2.0]])
    call = (lambda lib, x: getattr(lib, op)(x, axis=1)) if op == "nanmedian" else \
        (lambda lib, x: getattr(lib, op)(x, 0.5, axis=1))
    with pytest.warns(RuntimeWarning, match="All-NaN slice"):
        want = call(np, data)
    with pytest.warns(RuntimeWarning, match=f"{op}: a slice is all NaN"):
        got = call(ag, ag.tensor(data))
    np.testing.assert_array_equal(got.numpy(), want)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        call(ag, ag.tensor(data[1:]))  # no NaN line: no warning


# --- histogram --------------------------------------------------------------------------------
@pytest.mark.parametrize("edges", [[-2, 0, 2], [-3, -2, 1, 1], [-6, 0, 3]], ids=str)
def test_histogram_density_over_integer_edges_keeps_float_weights(edges, device):
    # The weights' sums were cast to the edges' int64 before dividing: 0.25 came out NaN
    a = np.array([-5, 0, 0, -4, -3, 1, -1], dtype=np.int32)
    weights = np.array([0.3, 0.2, 0.4, 0.1, 0.6, 0.7, 0.05], dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero-width bin's density is inf, as NumPy's
        want, _ = np.histogram(a, np.array(edges), density=True, weights=weights)
        hist, _ = ag.histogram(ag.tensor(a), ag.tensor(np.array(edges)), density=True, weights=ag.tensor(weights))
    assert hist.dtype == ag.float32
    np.testing.assert_allclose(hist.numpy(), want, rtol=1e-6)


def test_histogram_float_edges_beside_integers_are_float64(device, torch):
    # Python floats as edges of integer data were made float32: 16777219.5 became 16777220,
    # which moved 16777219 into the second bin
    a = np.array([16777219, 3, 20000000], dtype=np.int64)
    edges = [0.0, 16777219.5, 2e7]
    hist, got_edges = ag.histogram(ag.tensor(a), edges)
    want_hist, want_edges = np.histogram(a, edges)
    assert got_edges.dtype == want_edges.dtype == np.float64
    np.testing.assert_array_equal(got_edges.numpy(), want_edges)
    np.testing.assert_array_equal(hist.numpy(), want_hist)
    theirs = torch.histogram(torch.tensor(a, dtype=torch.float64), torch.tensor(edges, dtype=torch.float64))
    np.testing.assert_array_equal(hist.numpy(), theirs.hist.numpy())


def test_nan_scans_name_themselves_on_a_bad_axis():
    for op in (ag.nancumsum, ag.nancumprod):
        with pytest.raises(ValueError, match=f"{op.__name__}: axis 3 is out of range"):
            op(ag.ones(3), axis=3)
