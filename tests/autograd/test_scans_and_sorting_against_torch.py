"""Edge cases of prod, the scans (cumsum, cumprod, diff), sorting (sort, argsort, topk,
median) and the norms, against PyTorch (and NumPy where PyTorch has no answer): zeros
in products, empty axes, ties, NaN, k at its bounds, integer inputs and the errors.
The op table (test_ops_table.py) covers the smooth cases and second order."""
import functools
import math
import types

import numpy as np
import pytest

import autograd as ag
import nn.functional as F
from backends.base import Backend
from backends.cupy_namespace import array_api_namespace
from tests.autograd.torch_pairs import check_grads, leaf_pair, same_but_cuda_ulps

_pair = leaf_pair
_check_grads = functools.partial(check_grads, tolerances={"float64": (1e-10, 1e-12), "float32": (2e-5, 1e-6)})


# --- prod and cumprod with zeros: no division by x --------------------------------------

WITH_ZEROS = {
    "one_zero": [[1.5, 0.0, -2.0, 0.5], [2.0, 3.0, -1.0, 0.25], [0.7, 1.1, 1.3, 0.0]],
    "two_zeros": [[0.0, 2.0, 0.0, 3.0], [1.0, 0.0, 4.0, 0.0], [0.0, 0.0, 0.0, 0.5]],
    "all_nonzero": [[1.5, -0.5, 2.0, 0.8], [0.3, 1.2, -1.1, 2.5], [1.0, 1.0, -3.0, 0.1]],
}


@pytest.mark.parametrize("values", WITH_ZEROS.values(), ids=WITH_ZEROS.keys())
@pytest.mark.parametrize("axis", [None, 1, -1, 0])
def test_prod_with_zeros_matches_torch_to_second_order(device, torch, values, axis):
    tfn = (lambda t: t.prod()) if axis is None else (lambda t: t.prod(axis))
    _check_grads(torch, lambda x: x.prod(axis), tfn, values)
    assert ag.gradgradcheck(lambda x: ag.prod(x, axis), [ag.tensor(values, dtype="float64", requires_grad=True)])


@pytest.mark.parametrize("values", WITH_ZEROS.values(), ids=WITH_ZEROS.keys())
@pytest.mark.parametrize("axis", [1, -2])
def test_cumprod_with_zeros_matches_torch_to_second_order(device, torch, values, axis):
    _check_grads(torch, lambda x: ag.cumprod(x, axis), lambda t: t.cumprod(axis), values)
    assert ag.gradgradcheck(lambda x: x.cumprod(axis), [ag.tensor(values, dtype="float64", requires_grad=True)])


def test_prod_with_one_zero_gives_it_the_product_of_the_others(device):
    x = ag.tensor([2.0, 0.0, -3.0, 0.5], dtype="float64", requires_grad=True)
    x.prod().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, -3.0, 0.0, 0.0])
    two = ag.tensor([2.0, 0.0, -3.0, 0.0], dtype="float64", requires_grad=True)
    two.prod().backward()
    np.testing.assert_array_equal(two.grad.numpy(), np.zeros(4))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_prod_and_cumprod_in_float32_and_tuple_axes_match_torch(device, torch, dtype):
    values = np.random.default_rng(0).uniform(0.5, 1.5, (3, 4, 5))
    values[1, 2, 3] = 0.0
    _check_grads(torch, lambda x: ag.prod(x, (-1, 0), keepdims=True),
                 lambda t: t.prod(2, keepdim=True).prod(0, keepdim=True), values, dtype, dtype == "float64")
    _check_grads(torch, lambda x: ag.cumprod(x, -1), lambda t: t.cumprod(-1), values, dtype, dtype == "float64")


def test_long_cumprod_line_takes_several_doubling_steps(device, torch):
    values = np.random.default_rng(1).uniform(0.6, 1.4, (2, 37))
    values[0, 5] = values[0, 20] = values[1, 36] = 0.0
    _check_grads(torch, lambda x: ag.cumprod(x, 1), lambda t: t.cumprod(1), values)


# --- empty axes, integer inputs, axis handling ---------------------------------------------

def test_prod_of_nothing_is_one_and_its_gradient_is_empty(device, torch):
    x = ag.zeros(2, 0, dtype="float64", requires_grad=True)
    y = ag.prod(x, axis=1)
    np.testing.assert_array_equal(y.numpy(), [1.0, 1.0])
    y.sum().backward()
    assert x.grad.shape == (2, 0)
    assert ag.prod(ag.zeros(0)).item() == 1.0
    empty_out = ag.prod(ag.zeros(0, 3, dtype="float64", requires_grad=True), axis=1)
    assert empty_out.shape == (0,)
    for fn in (ag.cumsum, ag.cumprod):
        assert fn(ag.zeros(2, 0), axis=1).shape == (2, 0)


@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
def test_integer_and_bool_scans_and_prod_accumulate_in_int64_as_torch(device, torch, dtype):
    values = np.array([[1, 0, 3], [2, 5, 1]], dtype=dtype)
    tx = torch.tensor(values)
    for ours, theirs, numpy in [(ag.cumsum(ag.tensor(values), 1), tx.cumsum(1), np.cumsum(values, 1)),
                                (ag.cumprod(ag.tensor(values), 1), tx.cumprod(1), np.cumprod(values, 1)),
                                (ag.prod(ag.tensor(values), 0), tx.prod(0), np.prod(values, 0)),
                                (ag.tensor(values).prod(), tx.prod(), np.prod(values))]:
        assert ours.dtype == ag.int64 and str(theirs.dtype) == "torch.int64" and numpy.dtype == np.int64
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_cumsum_axis_none_flattens_as_numpy_and_0d_is_returned_as_is(device):
    values = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(ag.cumsum(ag.tensor(values)).numpy(), np.cumsum(values))
    np.testing.assert_array_equal(ag.tensor(values).cumprod().numpy(), np.cumprod(values))
    assert ag.cumsum(ag.tensor(2.5)).shape == (1,)  # NumPy's: axis None flattens
    scalar = ag.cumsum(ag.tensor(2.5), axis=-1)  # PyTorch's: a 0-d tensor along its axis
    assert scalar.shape == () and scalar.item() == 2.5
    np.testing.assert_array_equal(ag.cumulative_prod(ag.tensor([2.0, 3.0]), include_initial=True).numpy(),
                                  [1.0, 2.0, 6.0])


@pytest.mark.parametrize("fn", [ag.cumulative_sum, ag.cumulative_prod])
def test_cumulative_functions_need_an_axis_past_one_dimension_as_the_standard(device, fn):
    """The standard's rule, which NumPy's cumulative_sum follows too: unlike cumsum, no silent flattening."""
    with pytest.raises(ValueError, match=rf"^{fn.__name__}: x has 2 axes, so axis is required"):
        fn(ag.ones(2, 3))
    np.testing.assert_array_equal(fn(ag.tensor([2.0, 3.0])).numpy(), getattr(np, fn.__name__)(np.array([2.0, 3.0])))


@pytest.mark.parametrize("fn", [ag.cumsum, ag.cumprod, ag.sort, ag.argsort, lambda x, axis: ag.topk(x, 1, axis),
                                lambda x, axis: ag.diff(x, axis=axis)])
def test_bad_axes_are_refused(device, fn):
    x = ag.ones(2, 3)
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        fn(x, axis=2)
    with pytest.raises(ValueError, match="axis -3 is out of range"):
        fn(x, axis=-3)
    with pytest.raises(TypeError, match="axis must be one int"):
        fn(x, axis=(0, 1))
    with pytest.raises(ValueError, match=r"prod: repeated axis"):
        ag.prod(x, axis=(1, -1))


# --- diff ------------------------------------------------------------------------------------

def test_diff_edges_match_numpy(device, torch):
    values = np.array([[1.0, 4.0, 9.0, 16.0], [2.0, -1.0, 0.5, 3.0]])
    x = ag.tensor(values)
    assert ag.diff(x, 0) is x
    np.testing.assert_array_equal(ag.diff(x, 3, axis=1).numpy(), np.diff(values, 3, axis=1))
    assert ag.diff(x, 5).shape == np.diff(values, 5).shape == (2, 0)
    mask = np.array([True, True, False, True])
    got = ag.diff(ag.tensor(mask))
    assert got.dtype == ag.bool
    np.testing.assert_array_equal(got.numpy(), np.diff(mask))
    np.testing.assert_array_equal(ag.diff(ag.tensor([3, 7, 2])).numpy(), torch.diff(torch.tensor([3, 7, 2])).numpy())
    with pytest.raises(ValueError, match="n must be at least 0"):
        ag.diff(x, -1)
    with pytest.raises(TypeError, match="n must be an int"):
        ag.diff(x, 1.0)
    with pytest.raises(ValueError, match="0-d tensor"):
        ag.diff(ag.tensor(1.0))


# --- sort, argsort, topk: ties, NaN, k at its bounds -------------------------------------------

TIES = [[3.0, 1.0, 3.0, 2.0, 1.0, 3.0, -0.0, 0.0], [5.0, 5.0, 5.0, 5.0, 0.0, 5.0, 1.0, 5.0]]
WITH_NAN = [[3.0, math.nan, 1.0, math.nan, 2.0, -math.inf, 1.0], [math.nan, 0.0, math.inf, 0.0, 4.0, 4.0, 0.0]]


@pytest.mark.parametrize("values", [TIES, WITH_NAN], ids=["ties", "nan"])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("axis", [-1, 0])
def test_stable_sort_matches_torch_with_ties_and_nan(device, torch, values, descending, axis):
    x, tx = _pair(torch, values)
    got, want = ag.sort(x, axis, descending), torch.sort(tx, dim=axis, descending=descending, stable=True)
    np.testing.assert_array_equal(got.numpy(), want.values.detach().numpy())
    order = ag.argsort(x, axis=axis, descending=descending)
    assert order.dtype == ag.int64 and not order.requires_grad
    np.testing.assert_array_equal(order.numpy(), want.indices.numpy())
    cotangent = np.random.default_rng(0).standard_normal(x.shape)
    got.backward(ag.tensor(cotangent))
    want.values.backward(torch.tensor(cotangent))
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_sort_axis_none_flattens_and_0d_sorts_to_itself(device):
    values = np.array([[3.0, 1.0], [2.0, 0.0]])
    np.testing.assert_array_equal(ag.sort(ag.tensor(values), axis=None).numpy(), np.sort(values, axis=None))
    np.testing.assert_array_equal(ag.argsort(ag.tensor(values), axis=None).numpy(), np.argsort(values, axis=None))
    assert ag.sort(ag.tensor(4.0)).shape == () and ag.argsort(ag.tensor(4.0)).item() == 0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("largest", [True, False])
def test_topk_matches_torch_on_distinct_values(device, torch, dtype, largest):
    values = np.random.default_rng(5).permutation(60).reshape(3, 20) * 0.37 - 9.0
    for k in (0, 1, 4, 20):
        x, tx = _pair(torch, values, dtype)
        got, want = ag.topk(x, k, largest=largest), torch.topk(tx, k, largest=largest)
        assert got.values.dtype == dtype and got.indices.dtype == ag.int64
        np.testing.assert_array_equal(got.values.numpy(), want.values.detach().numpy())
        np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
        cotangent = np.random.default_rng(k).standard_normal(got.values.shape).astype(dtype)
        got.values.backward(ag.tensor(cotangent))
        want.values.backward(torch.tensor(cotangent))
        np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_topk_ties_go_to_the_lower_index_as_a_stable_sort(device, torch):
    """PyTorch leaves topk's choice among ties open (its CPU kernel picks by partial sort);
    topograd's is the stable sort's: the chosen set (and so the gradient, for a cotangent
    constant over ties) agrees with PyTorch's, and the order is torch.sort(stable=True)'s."""
    values = [[1.0, 3.0, 3.0, 2.0, 3.0, 0.0, 3.0], [2.0, 7.0, 7.0, 5.0, 7.0, 7.0, 1.0]]
    compared = 0
    for k, largest in [(1, True), (3, True), (4, True), (5, True), (7, True), (2, False), (4, False)]:
        x, tx = _pair(torch, values)
        got = ag.topk(x, k, largest=largest)
        stable = torch.sort(tx, descending=largest, stable=True)
        np.testing.assert_array_equal(got.indices.numpy(), stable.indices[:, :k].numpy())
        np.testing.assert_array_equal(got.values.numpy(), stable.values[:, :k].detach().numpy())
        want = torch.topk(tx, k, largest=largest)
        np.testing.assert_array_equal(got.values.numpy(), want.values.detach().numpy())
        got.values.sum().backward()
        ordered = np.sort(values, axis=1)[:, ::-1] if largest else np.sort(values, axis=1)
        if k == 7 or (ordered[:, k - 1] != ordered[:, k]).all():
            # every tie group chosen whole or not at all: the gradient cannot depend on the order
            want.values.sum().backward()
            np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
            compared += 1
    assert compared == 4
    boundary = ag.tensor([1.0, 3.0, 3.0, 2.0], requires_grad=True)
    ag.topk(boundary, 1).values.sum().backward()
    np.testing.assert_array_equal(boundary.grad.numpy(), [0.0, 1.0, 0.0, 0.0])


def test_topk_takes_nan_as_largest_as_torch(device, torch):
    x, tx = _pair(torch, [[3.0, math.nan, 1.0, 5.0, 2.0, -1.0, 0.0, 4.0, 6.0, 7.0, 8.0, 9.0]])
    for k, largest in [(2, True), (3, False), (12, True)]:
        got, want = ag.topk(x, k, largest=largest), torch.topk(tx, k, largest=largest)
        np.testing.assert_array_equal(got.values.numpy(), want.values.detach().numpy())
        np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())


def test_large_topk_selects_then_sorts_as_the_full_sort(device, torch):
    rng = np.random.default_rng(2)
    values = rng.standard_normal((4, 300))
    values[1, ::7] = values[1, 3]  # a row full of ties, some at the boundary
    values[2] = np.round(values[2], 1)
    x, tx = _pair(torch, values)
    for largest in (True, False):
        got = ag.topk(x, 10, axis=-1, largest=largest)
        stable = torch.sort(tx, descending=largest, stable=True)
        np.testing.assert_array_equal(got.indices.numpy(), stable.indices[:, :10].numpy())
        got = ag.topk(x, 3, axis=0, largest=largest)
        stable = torch.sort(tx, dim=0, descending=largest, stable=True)
        np.testing.assert_array_equal(got.indices.numpy(), stable.indices[:3].numpy())


def test_topk_refuses_k_out_of_range_and_of_the_wrong_type(device):
    x = ag.ones(2, 3)
    for k in (-1, 4):
        with pytest.raises(ValueError, match=rf"topk: k={k} is out of range for an axis of size 3"):
            ag.topk(x, k)
    with pytest.raises(ValueError, match="axis of size 2"):
        x.topk(3, axis=0)
    for k in (1.0, True, None):
        with pytest.raises(TypeError, match="topk: k must be an int"):
            ag.topk(x, k)
    values, indices = ag.topk(ag.tensor(4.0), 1)  # a 0-d tensor is a line of one, as in PyTorch
    assert values.shape == indices.shape == () and values.item() == 4.0 and indices.item() == 0


def test_integer_sort_and_topk_take_no_gradient(device, torch):
    values = np.array([[4, 1, 4, 0, 2]], dtype="int32")
    got = ag.sort(ag.tensor(values), descending=True)
    assert got.dtype == ag.int32 and not got.requires_grad
    np.testing.assert_array_equal(got.numpy(), torch.sort(torch.tensor(values), descending=True, stable=True)
                                  .values.numpy())
    np.testing.assert_array_equal(ag.topk(ag.tensor(values), 2).indices.numpy(), [[0, 2]])


# --- median ------------------------------------------------------------------------------------

def test_median_matches_numpy_with_nan_empty_and_tuple_axes(device, torch):
    rng = np.random.default_rng(4)
    values = rng.standard_normal((3, 4, 5))
    for axis in (None, 0, (0, 2), -1):
        np.testing.assert_allclose(ag.median(ag.tensor(values), axis).numpy(), np.median(values, axis), rtol=1e-12)
    with_nan = values.copy()
    with_nan[1, 2, 3] = math.nan
    got = ag.median(ag.tensor(with_nan), axis=-1, keepdims=True).numpy()
    np.testing.assert_array_equal(got, np.median(with_nan, axis=-1, keepdims=True))
    assert np.isnan(got[1, 2, 0]) and not np.isnan(got[0, 0, 0])
    assert np.isnan(ag.median(ag.zeros(0)).item())
    assert ag.median(ag.tensor([3, 1, 2, 8])).item() == 2.5  # integers give the default float
    # The gradient of an even median splits between the middle two, as torch.quantile's 0.5
    x, tx = _pair(torch, values)
    ag.median(x, 1).sum().backward()
    torch.quantile(tx, 0.5, dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


# --- norms ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("ord", [2, 1, math.inf, -math.inf, 0, 3, 0.5, -1.5])
def test_vector_norm_matches_torch_with_zero_rows(device, torch, ord):
    values = [[0.0, 0.0, 0.0], [1.5, -2.0, 0.5], [0.0, 3.0, -1.0]]
    x, tx = _pair(torch, values)
    got, want = ag.linalg.vector_norm(x, ord, axis=1), torch.linalg.vector_norm(tx, ord, dim=1)
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-12)
    got.sum().backward()
    want.sum().backward()
    if ord == 0:  # a count: PyTorch's backward gives no gradient (None), topograd's a zero one
        assert tx.grad is None
        np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 3)))
        return
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    assert np.isfinite(x.grad.numpy()).all()


def test_vector_norm_of_integers_is_float_and_bad_orders_are_refused(device):
    assert ag.linalg.vector_norm(ag.tensor([3, 4])).item() == 5.0
    with pytest.raises(TypeError, match="p must be a real number"):
        ag.linalg.vector_norm(ag.ones(3), "fro")
    with pytest.raises(ValueError, match="got nan"):
        ag.linalg.vector_norm(ag.ones(3), math.nan)


@pytest.mark.parametrize("ord", ["fro", 1, -1, math.inf, -math.inf])
def test_matrix_norm_matches_torch_with_ties_and_a_zero_matrix(device, torch, ord):
    values = [[[1.0, -2.0, 3.0], [3.0, 2.0, -1.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]
    x, tx = _pair(torch, values)
    got, want = ag.linalg.matrix_norm(x, ord), torch.linalg.matrix_norm(tx, ord)
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-12)
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_matrix_norm_refuses_what_it_cannot_compute(device):
    with pytest.raises(ValueError, match="'spectral' is not supported"):
        ag.linalg.matrix_norm(ag.ones(2, 2), "spectral")
    with pytest.raises(ValueError, match="ord=3 is not supported"):
        ag.linalg.matrix_norm(ag.ones(2, 2), 3)
    with pytest.raises(TypeError, match="ord must be"):
        ag.linalg.matrix_norm(ag.ones(2, 2), None)
    with pytest.raises(ValueError, match=r"needs matrices in the last two axes, got a tensor of shape \(3,\)"):
        ag.linalg.matrix_norm(ag.ones(3))
    with pytest.raises(ValueError, match="no rows is undefined"):
        ag.linalg.matrix_norm(ag.ones(0, 3), -math.inf)
    assert ag.linalg.matrix_norm(ag.ones(0, 3), 1).item() == 0.0  # as PyTorch: the largest of three empty sums


# --- the CuPy namespace adapter's sorting and scans, on a CuPy-shaped stand-in ---------------

def test_cupy_adapter_sorts_descending_stably_and_scans(torch):
    module = types.ModuleType("cupy_shaped")
    module.__dict__.update((k, v) for k, v in vars(np).items() if not k.startswith("_"))
    del module.cumulative_sum, module.cumulative_prod  # (CuPy 13)
    module.argsort = lambda a, axis=-1, kind=None: np.argsort(a, axis=axis, kind="stable")  # CuPy's: stable
    backend = Backend("cupy-shaped", array_api_namespace(module))
    values = np.array(TIES + [[math.nan, 1.0, math.nan, 1.0, 2.0, 0.0, 2.0, math.nan]])
    for descending in (False, True):
        want = torch.sort(torch.tensor(values), descending=descending, stable=True).indices.numpy()
        np.testing.assert_array_equal(backend.argsort(values, -1, descending, True), want)
    np.testing.assert_array_equal(backend.xp.cumulative_sum(values[:1], axis=1), np.cumsum(values[:1], axis=1))
    np.testing.assert_array_equal(backend.xp.cumulative_prod(values[:1], axis=1), np.cumprod(values[:1], axis=1))


# --- float16 p-norms ----------------------------------------------------------------------------
# float16 powers summed in float16 overflow from 256 and vanish below 2.4e-4, so the norm was inf,
# or 0 with a zero gradient (normalize, pairwise_distance and cosine_similarity go through it).
F16_ROWS = np.array([[300.0, 400.0, 0.0], [-60000.0, 1.0, 0.0], [1e-5, -2e-5, 0.0], [3.0, 4.0, 0.0]],
                    dtype=np.float16)


@pytest.mark.parametrize("p", [2.0, 3.0, 1.5])
def test_float16_vector_norms_are_accumulated_in_float32_as_torchs(torch, p):
    """float16 squares overflow from 256 and vanish below 2.4e-4: the norms of the first three
    rows were inf, inf and 0. The gradient is checked against float64 (PyTorch's float16
    backward divides by the float16-rounded norm, which is off by up to its rounding)."""
    x = ag.tensor(F16_ROWS, requires_grad=True)
    y = ag.linalg.vector_norm(x, ord=p, axis=-1)
    (g,) = ag.grad(y, [x], ag.ones(4, dtype=ag.float16))
    ref = torch.linalg.vector_norm(torch.tensor(F16_ROWS), ord=p, dim=-1)
    np.testing.assert_array_equal(y.numpy(), ref.numpy())
    wide = torch.tensor(F16_ROWS.astype(np.float64), requires_grad=True)
    (ref_g,) = torch.autograd.grad(torch.linalg.vector_norm(wide, ord=p, dim=-1).sum(), [wide])
    assert g.dtype == ag.float16
    np.testing.assert_allclose(g.numpy(), ref_g.numpy(), rtol=2e-3, atol=1e-7)


def test_float16_normalize_and_pairwise_distance_of_small_rows_are_torchs(torch):
    """Both go through the p-norm: a row of 1e-5s normalized was inf (its norm was 0), and
    pairwise_distance's eps = 1e-6 inside the norm vanished when squared, leaving a distance
    of 0 with no gradient where PyTorch's is 1.7e-6 with gradient 1 / sqrt(3) (0.586 in
    PyTorch's float16 backward, which divides by the rounded distance)."""
    rows = F16_ROWS[2:]
    normalized = F.normalize(ag.tensor(rows), axis=-1)
    np.testing.assert_allclose(normalized.numpy(), torch.nn.functional.normalize(torch.tensor(rows), dim=-1).numpy(),
                               rtol=2e-3)
    x1 = ag.tensor(rows, requires_grad=True)
    distance = F.pairwise_distance(x1, ag.tensor(rows))
    (g,) = ag.grad(distance.sum(), [x1])
    ref = torch.nn.functional.pairwise_distance(torch.tensor(rows), torch.tensor(rows))
    np.testing.assert_array_equal(distance.numpy(), ref.numpy())
    np.testing.assert_allclose(g.numpy(), np.full(rows.shape, 3 ** -0.5), rtol=2e-3)


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


def test_diff_of_order_0_is_x_without_prepend_or_append(device, torch):
    """n=0 joined prepend and append to x and returned that, (1, 5) here, where NumPy's and
    PyTorch's diff give x itself; the edges are still checked, as PyTorch's."""
    x = ag.tensor([[1.0, 2.0, 4.0]])
    got = ag.diff(x, n=0, prepend=0.5, append=ag.tensor([[9.0]]))
    want = torch.diff(torch.tensor([[1.0, 2.0, 4.0]]), n=0, prepend=torch.tensor([[0.5]]),
                      append=torch.tensor([[9.0]]))
    assert got is x and tuple(want.shape) == (1, 3)
    with pytest.raises(ValueError, match=r"diff: append of shape \(1, 2\) must match"):
        ag.diff(x, n=0, axis=0, append=ag.ones((1, 2)))


def test_diff_refuses_an_edge_of_the_wrong_rank(device):
    with pytest.raises(ValueError, match=r"diff: append must be a number or have x's 2 axes, got shape \(4,\)"):
        ag.diff(ag.ones((3, 4)), axis=0, append=ag.ones(4))


def test_diff_refuses_an_edge_of_another_shape_off_the_axis_naming_diff(device):
    """As NumPy's, no broadcasting; the error named the concat inside diff."""
    with pytest.raises(ValueError, match=r"diff: prepend of shape \(2, 3\) must match x's shape \(3, 2\) "
                                         r"outside axis 1"):
        ag.diff(ag.ones((3, 2)), prepend=ag.ones((2, 3)))
    with pytest.raises(ValueError, match=r"diff: append of shape \(1, 1\) must match x's shape \(3, 4\) "
                                         r"outside axis 0"):
        ag.diff(ag.ones((3, 4)), axis=0, append=ag.ones((1, 1)))


def test_tensor_sort_method_matches_the_function(device):
    x = ag.tensor([[3.0, 1.0, 2.0], [0.0, -1.0, 5.0]])
    np.testing.assert_array_equal(x.sort().numpy(), ag.sort(x).numpy())
    np.testing.assert_array_equal(x.sort(axis=0, descending=True).numpy(), [[3.0, 1.0, 5.0], [0.0, -1.0, 2.0]])


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


# --- an even median of subnormal values -----------------------------------------------------------

@pytest.mark.parametrize("values", [np.array([5e-324, 5e-324]), np.array([3e-5, 1.0, 3e-5, -1.0], dtype=np.float16),
                                    np.array([7e-45, 7e-45, 1e-45, 1.0], dtype=np.float32)],
                         ids=["float64", "float16", "float32"])
def test_even_median_of_subnormal_values_is_numpys(values):
    """Halving each middle value before adding lost the last bit of a subnormal: the median
    of two 5e-324 was 0, and that of two float16 3e-5 was 3.004e-5, outside the values."""
    got = ag.median(ag.tensor(values))
    assert got.dtype == ag.tensor(values).dtype
    want = np.median(values).astype(values.dtype)
    if values.dtype == np.float32 and got.device.startswith("cuda"):
        # CuPy compiles with -ftz=true: float32 subnormals read and come out as 0
        np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=np.finfo(np.float32).smallest_normal)
    else:
        np.testing.assert_array_equal(got.numpy(), want)


# --- vector_norm of a row with NaN ---------------------------------------------------------

NAN_ROWS = np.array([[np.nan, 1.0, 2.0], [np.inf, np.nan, 1.0], [3.0, 4.0, 0.0]])


@pytest.mark.filterwarnings("ignore:invalid value")
@pytest.mark.parametrize("p", [2.0, 3.0, 0.5, 1.0, -1.0, 0.0, math.inf, -math.inf])
def test_vector_norm_of_a_row_with_nan_is_torchs(device, torch, p):
    """The 2-norm's root and the general p-norm's |x|^p tested > 0, so a NaN entry was
    dropped: the 2-norm of [nan, 1, 2] was 0 and the 3-norm 2.08. PyTorch's are NaN,
    and its 0-"norm" counts NaN as nonzero (3; ours was NaN)."""
    ours = ag.linalg.vector_norm(ag.tensor(NAN_ROWS), p, axis=1)
    theirs = torch.linalg.vector_norm(torch.tensor(NAN_ROWS), p, dim=1)
    same_but_cuda_ulps(ours.numpy(), theirs.numpy(), device)
