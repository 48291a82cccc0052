"""The Tensor API and ops against NumPy (values, shapes, dtypes) and PyTorch
(gradients): corners the op table leaves out (0-d and empty tensors, ties, out-of-range
slices, mixed advanced indices, tensor bounds, NumPy integers as arguments) and the
errors a user meets there."""
import warnings

import numpy as np
import pytest

import autograd as ag


def f64(values, requires_grad=False):
    return ag.tensor(np.asarray(values, dtype=np.float64), dtype=ag.float64, requires_grad=requires_grad)


def assert_close(ours, ref):
    ref = ref.detach().numpy() if hasattr(ref, "detach") else np.asarray(ref)
    got = ours.numpy()
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def assert_grads_match_torch(torch, fn, torch_fn, *arrays):
    """Forward values and the gradient of every input, ours against PyTorch's, in float64."""
    ours = [f64(a, True) for a in arrays]
    theirs = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    y, yt = fn(*ours), torch_fn(*theirs)
    assert_close(y, yt)
    seed = np.random.default_rng(7).standard_normal(tuple(yt.shape))
    y.backward(f64(seed))
    yt.backward(torch.tensor(seed))
    for a, at in zip(ours, theirs):
        assert_close(a.grad, at.grad)


# --- indexing -------------------------------------------------------------------------------
def _both(np_index, torch):
    """The index for us (NumPy arrays become tensors on the default device) and for PyTorch."""
    parts = np_index if isinstance(np_index, tuple) else (np_index,)
    ours = tuple(ag.tensor(p) if isinstance(p, np.ndarray) else p for p in parts)
    theirs = tuple(torch.as_tensor(p) if isinstance(p, np.ndarray) else p for p in parts)
    return ours, theirs


GETITEM_CASES = {
    "arrays_apart": lambda: ([0, 2, 0], slice(None), [1, 3, 1]),        # result axis goes first
    "arrays_together": lambda: (slice(None), [0, 2], [4, 4]),
    "array_none_ellipsis": lambda: (None, [2, 0], Ellipsis, [1, 1]),
    "mask_then_int": lambda: (np.array([True, False, True]), 1),
    "int_then_2d_mask": lambda: (1, np.arange(20).reshape(4, 5) % 3 == 0),
    "slice_then_mask": lambda: (slice(1, None), np.array([True, False, True, True])),
    "int32_index": lambda: np.array([2, 0, 2], dtype=np.int32),
    "empty_index": lambda: np.array([], dtype=np.int64),
    "0d_int_index": lambda: np.array(1),
    "0d_bool_index": lambda: np.array(True),
    "2d_rows_and_slice": lambda: (np.array([[0], [2]]), slice(1, 3), np.array([0, 4])),
}


@pytest.mark.parametrize("case", list(GETITEM_CASES))
def test_getitem_values_and_gradients_match_pytorch(device, torch, case):
    ours, theirs = _both(GETITEM_CASES[case](), torch)
    x0 = np.random.default_rng(0).standard_normal((3, 4, 5))
    assert_grads_match_torch(torch, lambda x: x[ours], lambda x: x[theirs], x0)


def test_getitem_with_a_tensor_mask_of_the_whole_tensor(device, torch):
    x0 = np.random.default_rng(1).standard_normal((3, 4))
    assert_grads_match_torch(torch, lambda x: x[x > 0] * 2, lambda x: x[x > 0] * 2, x0)


@pytest.mark.parametrize("index", [slice(None, 10), slice(3, 10), slice(-10, None), slice(7, None),
                                   slice(10, None, -1), slice(None, -10, -1), slice(-10, 10, 2)])
def test_slices_past_either_end_clamp_as_in_numpy(device, index):
    """Python and NumPy clamp slice bounds to the axis (``x[:batch]`` on a short last
    batch); the array-api-strict namespace refuses them, so indexing has to clamp
    before it reaches the namespace. (Fails on 'strict' now.)"""
    x = ag.arange(5.0, dtype=ag.float64, requires_grad=True)
    y = x[index]
    np.testing.assert_array_equal(y.numpy(), np.arange(5.0)[index])
    (y * 2).sum().backward()
    expected = np.zeros(5)
    expected[index] = 2
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_setitem_with_a_slice_past_the_end(device):
    """(Fails on 'strict' now: the indexed region is read through the namespace unclamped.)"""
    x = ag.arange(6)
    x[4:10] = 7
    np.testing.assert_array_equal(x.numpy(), [0, 1, 2, 3, 7, 7])


def test_a_python_bool_index_adds_an_axis_as_in_numpy(device, torch):
    """``True``/``False`` index like a 0-d mask: a new axis of length 1 or 0, consuming
    no axis of the tensor. (``x[0, 0, True]`` is refused as 'too many indices' now, and
    'strict' refuses every bool.)"""
    x = ag.arange(6.0).reshape(2, 3)
    ref = np.arange(6.0).reshape(2, 3)
    for index in [True, (Ellipsis, False), (0, 0, True), (1, True, slice(None))]:
        np.testing.assert_array_equal(x[index].numpy(), ref[index])


# --- reductions -----------------------------------------------------------------------------
def test_max_over_a_non_empty_axis_of_an_empty_tensor(device, torch):
    """Only reducing an empty axis has no answer; NumPy and PyTorch give shape (2, 0)
    here. (``max`` refuses any tensor with no elements now.)"""
    x = ag.zeros(2, 0, 3)
    assert x.max(axis=2).shape == (2, 0) == tuple(torch.zeros(2, 0, 3).amax(2).shape)
    assert ag.min(x, axis=-1, keepdims=True).shape == (2, 0, 1)
    with pytest.raises(ValueError, match="max"):
        x.max(axis=1)


@pytest.mark.parametrize("axis", [0, -1])
def test_reductions_of_a_0d_tensor_take_axis_0_and_minus_1_as_numpy_and_pytorch(device, torch, axis):
    """normalize_axis lets axis 0 through for a 0-d tensor (so the namespace raises a raw
    AxisError) and refuses -1, which NumPy and PyTorch both accept."""
    x0 = np.array(1.5)
    assert_grads_match_torch(torch, lambda x: x.sum(axis=axis) + x.mean(axis=axis) * 2 + x.max(axis=axis) * 3,
                      lambda x: x.sum(axis) + x.mean(axis) * 2 + x.amax(axis) * 3, x0)
    assert ag.logsumexp(f64(x0), axis=axis).item() == pytest.approx(1.5)
    assert ag.squeeze(f64(x0), axis).shape == ()
    assert f64(x0).argmax(axis=axis).item() == 0


def test_a_numpy_integer_axis_is_accepted(device):
    """An axis read off a NumPy computation (np.int64) works in NumPy and PyTorch; here it
    fails with "'numpy.int64' object is not iterable"."""
    a = np.arange(24.0).reshape(2, 3, 4)
    x = ag.tensor(a)
    np.testing.assert_array_equal(x.sum(axis=np.int64(1)).numpy(), a.sum(axis=1))
    np.testing.assert_array_equal(x.max(axis=np.int32(-1)).numpy(), a.max(axis=-1))
    np.testing.assert_array_equal(ag.concat([x, x], axis=np.int64(2)).numpy(), np.concatenate([a, a], axis=2))


@pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning")  # log(0) = -inf, as NumPy warns
def test_logsumexp_over_an_empty_axis_is_minus_inf_as_pytorch(device, torch):
    """(Raises NumPy's 'zero-size array to reduction operation maximum' now.)"""
    out = ag.logsumexp(ag.zeros(2, 0), axis=1)
    np.testing.assert_array_equal(out.numpy(), torch.logsumexp(torch.zeros(2, 0), 1).numpy())


@pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning")  # log(0) = -inf, as NumPy warns
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # inf - inf in a NaN row
def test_logsumexp_with_infinite_entries_matches_pytorch(device, torch):
    x0 = np.array([[-np.inf, -np.inf, -np.inf], [-np.inf, 0.0, 1.0], [np.inf, 0.0, 1.0]])
    assert_grads_match_torch(torch, lambda x: ag.logsumexp(x, axis=-1), lambda x: torch.logsumexp(x, -1), x0)


def test_std_of_a_constant_slice_has_a_zero_gradient_as_pytorch(device, torch):
    """PyTorch's std backward masks the 0/0 where the std is 0; here sqrt's backward
    divides by it and gives NaN (a normalization over a constant row poisons training)."""
    x0 = np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])
    assert_grads_match_torch(torch, lambda x: x.std(axis=1), lambda x: x.std(1, correction=0), x0)
    assert_grads_match_torch(torch, lambda x: ag.std(x, axis=1, ddof=1), lambda x: x.std(1, correction=1), x0)


def test_std_of_a_constant_slice_has_second_derivatives_as_pytorch(device, torch):
    """The masked gradient stays differentiable: a Hessian-vector product, finite and
    equal to PyTorch's (0 on the constant row)."""
    x0 = np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])
    v = np.array([[0.3, -1.0, 2.0], [0.5, 0.25, -0.7]])
    for ddof in (0, 1):
        x, xt = f64(x0, True), torch.tensor(x0, requires_grad=True)
        g, = ag.grad(ag.std(x, axis=1, ddof=ddof).sum(), x, create_graph=True)
        hv, = ag.grad((g * f64(v)).sum(), x)
        gt, = torch.autograd.grad(xt.std(1, correction=ddof).sum(), xt, create_graph=True)
        hvt, = torch.autograd.grad((gt * torch.tensor(v)).sum(), xt)
        assert_close(hv, hvt)


@pytest.mark.parametrize("name", ["var", "std"])
def test_no_degrees_of_freedom_warns_and_gives_numpys_inf_or_nan(device, name):
    """As NumPy and PyTorch, not an error: ddof >= n divides by 0 (0 / 0 is NaN)."""
    x0 = np.array([[1.0, 3.0], [2.0, 2.0]])
    x = ag.tensor(x0, device=device, dtype=ag.float64)
    for ddof, axis in ((2, 1), (3, 1), (4, None)):
        with np.errstate(divide="ignore", invalid="ignore"):
            with pytest.warns(RuntimeWarning, match=rf"{name}: ddof={ddof} leaves no degrees of freedom"):
                got = getattr(ag, name)(x, axis=axis, ddof=ddof)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # NumPy warns too
                want = getattr(np, name)(x0, axis=axis, ddof=ddof)
        np.testing.assert_array_equal(got.numpy(), want)


@pytest.mark.parametrize("fn, torch_fn", [
    (lambda x: x.max(axis=1), lambda x: x.amax(1)),
    (lambda x: x.max(), lambda x: x.amax()),
    (lambda x: ag.min(x, axis=0, keepdims=True), lambda x: x.amin(0, keepdim=True)),
    (lambda x: ag.maximum(x, x[:, :1]), lambda x: torch_maximum(x, x[:, :1])),
], ids=["max_axis", "max_all", "min_keepdims", "maximum_broadcast"])
def test_ties_share_the_gradient_evenly_as_pytorch(device, torch, fn, torch_fn):
    x0 = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [1.0, 2.0, 1.0]])
    assert_grads_match_torch(torch, fn, torch_fn, x0)


def torch_maximum(a, b):
    import torch
    return torch.maximum(a, b)


def test_reducing_over_no_axes_is_the_identity(device, torch):
    x0 = np.random.default_rng(2).standard_normal((2, 3))
    assert_grads_match_torch(torch, lambda x: x.sum(axis=()) + x.mean(axis=()) * 2 + x.max(axis=()) * 3,
                      lambda x: x * 6, x0)
    np.testing.assert_array_equal(f64(x0).var(axis=()).numpy(), np.zeros((2, 3)))


def test_sum_of_a_bool_tensor_counts_on_every_backend(device):
    """``(pred == y).sum()``: NumPy and PyTorch give an int64 count. The array-api-strict
    namespace has no sum of bools, so the op must cast first. (Fails on 'strict'.)"""
    mask = ag.tensor([1.0, -2.0, 3.0, 4.0]) > 0
    count = mask.sum()
    assert count.dtype == ag.int64 and count.item() == 3
    np.testing.assert_array_equal(ag.sum(mask.reshape(2, 2), axis=0).numpy(), [2, 1])


def test_mean_of_an_integer_tensor_follows_true_division_on_every_backend(device):
    """Every backend should agree with the project's rule for true division of integers
    (the default float): the NumPy backend gives float64 now, and 'strict' raises."""
    x = ag.arange(5)
    expected = x.sum() / 5
    mean = x.mean()
    assert mean.dtype == expected.dtype
    assert mean.item() == 2.0


# --- elementwise ----------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # d/db at a < 0: NaN, as PyTorch
@pytest.mark.parametrize("fn", [lambda x: x ** 0, lambda x: x ** 0.0, lambda x: x ** (x * 0)],
                         ids=["int", "float", "tensor"])
def test_pow_with_a_zero_exponent_has_a_zero_gradient_at_zero_as_pytorch(device, torch, fn):
    """d(x**0)/dx is 0 everywhere; ``b * a**(b-1)`` gives 0 * inf = NaN at a == 0.
    PyTorch masks the exponent-0 case."""
    assert_grads_match_torch(torch, fn, fn, np.array([0.0, 1.0, -2.0]))


def test_pow_of_negative_bases_matches_pytorch(device, torch):
    x0 = np.array([-2.0, -0.5, 1.5])
    assert_grads_match_torch(torch, lambda x: x ** 3 + x ** 2.0 + (x * 0 + 2) ** x, lambda x: x ** 3 + x ** 2.0 + (x * 0 + 2) ** x, x0)


def test_clip_with_tensor_bounds_matches_pytorch(device, torch):
    """PyTorch's clamp takes tensor bounds and differentiates them. Here a bound with
    several elements fails with 'the truth value of a tensor ... is ambiguous' (from the
    min > max check), and a 0-d bound is turned into a float, so its gradient is lost."""
    x0, low0, high0 = np.array([0.0, 1.0, 2.0, 3.0, 4.0]), np.full(5, 1.0), np.array([2.0, 2.0, 2.5, 3.5, 3.5])
    assert_grads_match_torch(torch, lambda x, lo, hi: ag.clip(x, lo, hi), lambda x, lo, hi: torch.clamp(x, lo, hi),
                      x0, low0, high0)
    assert_grads_match_torch(torch, lambda x, lo: x.clip(min=lo), lambda x, lo: torch.clamp(x, min=lo),
                      x0, np.array(2.5))


def test_clip_with_tensor_bounds_of_a_shape_that_does_not_broadcast_names_clip(device):
    """The error once came from the comparison inside ('less: cannot broadcast ...')."""
    x = ag.tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"clip: cannot broadcast shapes \(2, 3\) and \(3, 2\)"):
        ag.clip(x, ag.tensor(np.zeros((3, 2))))
    with pytest.raises(ValueError, match=r"clip: cannot broadcast shapes \(2, 3\) and \(3,\) and \(2,\)"):
        x.clip(ag.tensor(np.zeros(3)), ag.tensor(np.ones(2)))


def test_clip_with_one_bound_and_ties_at_the_bounds_matches_pytorch(device, torch):
    x0 = np.array([0.0, 1.0, 2.0, 3.0])
    assert_grads_match_torch(torch, lambda x: x.clip(max=2.0) + ag.clip(x, 1.0, 3.0),
                      lambda x: torch.clamp(x, max=2.0) + torch.clamp(x, 1.0, 3.0), x0)


def test_where_with_scalar_arms_and_a_broadcast_condition_matches_pytorch(device, torch):
    x0 = np.random.default_rng(3).standard_normal((2, 3))
    assert_grads_match_torch(torch, lambda x: ag.where(x[:, :1] > 0, 1.0, x) + ag.where(x > 0, x, 0.0),
                      lambda x: torch.where(x[:, :1] > 0, 1.0, x) + torch.where(x > 0, x, 0.0), x0)
    cond = ag.tensor(np.ones((3, 2, 3), dtype=bool))
    x = f64(x0, True)
    ag.where(cond, x, 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 3.0))


# --- shape ops ------------------------------------------------------------------------------
def test_flatten_and_swapaxes_refuse_axes_out_of_range(device):
    """``flatten(0, 5)`` of a 2-d tensor silently wraps 5 to 1 (PyTorch: 'Dimension out of
    range'); ``swapaxes(x, 0, 2)`` fails with a bare 'list index out of range'."""
    x = ag.zeros(2, 3)
    with pytest.raises(ValueError, match="flatten"):
        x.flatten(0, 5)
    with pytest.raises(ValueError, match="swapaxes"):
        ag.swapaxes(x, 0, 2)


def test_split_takes_a_numpy_integer_and_concat_takes_axis_none(device):
    """NumPy's split takes np.int64 sections; the Array API's concat takes axis=None
    (flatten, then join). Both fail here with errors that name no op."""
    a = np.arange(12.0).reshape(2, 6)
    pieces = ag.split(ag.tensor(a), np.int64(3), axis=1)
    for p, r in zip(pieces, np.split(a, 3, axis=1)):
        np.testing.assert_array_equal(p.numpy(), r)
    joined = ag.concat([ag.tensor(a), ag.tensor(a[0])], axis=None)
    np.testing.assert_array_equal(joined.numpy(), np.concatenate([a, a[0]], axis=None))


def test_axis_errors_name_the_op(device):
    """A tuple axis where only one is taken says so, naming the op (now: 'too many values
    to unpack', and for expand_dims "'<=' not supported between 'int' and 'tuple'")."""
    x = ag.zeros(2, 3)
    with pytest.raises((TypeError, ValueError), match="argmax"):
        x.argmax(axis=(0, 1))
    with pytest.raises((TypeError, ValueError), match="expand_dims"):
        x.expand_dims((0, 1))


@pytest.mark.parametrize("make, pattern", [
    (lambda: ag.zeros(2, 3).squeeze(1), r"^squeeze: axis 1 has size 3, not 1, in shape \(2, 3\)$"),
    (lambda: ag.zeros(2, 3).broadcast_to(3, 3), r"^broadcast_to: cannot broadcast shapes? \(2, 3\)"),
    (lambda: ag.zeros(2, 3).broadcast_to(3,), r"^broadcast_to: cannot broadcast shape \(2, 3\) to \(3,\)$"),
    (lambda: ag.split(ag.zeros(4), 3), r"^split: axis 0 of size 4 cannot be split into 3 equal sections$"),
    (lambda: ag.stack([ag.zeros(2), ag.zeros(2)], axis=2), r"^stack: axis 2 is out of range"),
    (lambda: ag.concat([ag.zeros(2, 3), ag.zeros(2, 2)]), r"^concat: shapes \(2, 3\) and \(2, 2\) differ outside axis 0$"),
    (lambda: ag.zeros(2, 3).reshape(4, -1), r"^reshape: cannot reshape a tensor of shape \(2, 3\)"),
    (lambda: ag.zeros(2, 3).transpose(0, 0), r"^transpose: axes \(0, 0\) are not a permutation"),
    (lambda: ag.zeros(2, 3).sum(axis=2), r"^sum: axis 2 is out of range for a tensor with 2 dimensions$"),
    (lambda: ag.zeros(2, 3).sum(axis=(0, -2)), r"^sum: repeated axis in \(0, -2\)$"),
    (lambda: ag.zeros(2, 3) @ ag.zeros(2, 3), r"^matmul: shapes \(2, 3\) and \(2, 3\) do not align$"),
])
def test_shape_errors_are_value_errors_naming_the_op(device, make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()


# --- linear algebra -------------------------------------------------------------------------
@pytest.mark.parametrize("shapes", [((3,), (2, 2, 3, 4)), ((2, 2, 4, 3), (3,)), ((5, 2, 3), (1, 1, 3, 4)),
                                    ((2, 0), (0, 3))])
def test_matmul_broadcast_gradients_match_pytorch(device, torch, shapes):
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal(s) for s in shapes]
    assert_grads_match_torch(torch, lambda a, b: a @ b, lambda a, b: a @ b, *arrays)


@pytest.mark.parametrize("spec, shapes", [
    ("ii", [(3, 3)]), ("iii->i", [(2, 2, 2)]), ("i...i->...", [(3, 2, 3)]),
    ("iij,kjj->ik", [(2, 2, 3), (4, 3, 3)]), ("...,...->...", [(2, 3), (3,)]), ("ba", [(2, 3)]),
    ("...i,...i->...", [(2, 1, 3), (4, 3)]),
])
def test_einsum_diagonals_and_implicit_outputs_match_pytorch(device, torch, spec, shapes):
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(s) for s in shapes]
    assert_grads_match_torch(torch, lambda *xs: ag.einsum(spec, *xs), lambda *xs: torch.einsum(spec, *xs), *arrays)


# --- creation and conversion ----------------------------------------------------------------
def test_creation_takes_numpy_integers_as_python_ints(device, torch):
    """np.int64 arguments (from np.prod, a NumPy shape...) act as ints in NumPy and
    PyTorch; here arange and full make float32 from them, and zeros(np.int64(3)) fails
    with "'numpy.int64' object is not iterable"."""
    assert ag.arange(np.int64(5)).dtype == ag.int64 == np.arange(np.int64(5)).dtype
    assert ag.full(2, np.int64(3)).dtype == ag.int64
    assert str(torch.full((2,), np.int64(3)).dtype) == "torch.int64"
    assert ag.zeros(np.int64(3)).shape == (3,)
    assert ag.randint(0, 5, np.int64(3)).shape == (3,) == np.random.default_rng(0).integers(0, 5, np.int64(3)).shape


def test_to_takes_a_dtype_as_its_first_argument_as_pytorch(device):
    """``x.to(torch.float64)`` ports to ``x.to(ag.float64)``; here the dtype is taken for
    a device: "unknown device 'float64'"."""
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(ag.float64)
    assert y.dtype == ag.float64
    (y * y).sum().backward()
    assert x.grad.dtype == ag.float32
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_clip_of_an_integer_tensor_with_float_bounds_promotes_as_addition_does(device):
    """The project's promotion rule (PyTorch's: an int tensor with a Python float gives
    the default float) holds for clip too. Now the NumPy backend gives float64 and
    'strict' raises 'min must be integral when x is integral'."""
    x = ag.arange(5)
    y = ag.clip(x, 1.5, 3)
    assert y.dtype == (x + 1.5).dtype
    np.testing.assert_array_equal(y.numpy(), np.clip(np.arange(5), 1.5, 3))


def test_repr_names_the_dtype_once_where_numpy_wraps_the_line(device):
    """NumPy puts its ``dtype=float32`` on a new line when the values fill the line; the
    repr printed "dtype=float32, dtype=float32" then."""
    values = np.array([[3.65e-01, -3.42e-04, -2.28e-01, -2.53e-01, 1.5e-01]], dtype=np.float32)
    assert "\n" in repr(values)  # the case: NumPy wraps before its dtype
    text = repr(ag.tensor(values))
    assert text == ("tensor([[ 3.65e-01, -3.42e-04, -2.28e-01, -2.53e-01,  1.50e-01]], "
                    f"dtype=float32, device='{device}')")
    rows = repr(ag.tensor(np.arange(4.0).reshape(2, 2), dtype=ag.float32))
    assert rows == f"tensor([[0., 1.],\n        [2., 3.]], dtype=float32, device='{device}')"  # rows aligned


def test_a_gradient_of_another_dtype_is_refused_as_pytorch(device, torch):
    """PyTorch refuses it ("assigned grad has data of a different type", or in newer
    versions "must match the tensor's grad_dtype"); accepted, it would turn an optimizer's
    state (momentum, Adam's moments) float64 behind the user's back."""
    p = ag.ones(3, requires_grad=True)
    kept = ag.zeros(3)
    p.grad = kept
    with pytest.raises(RuntimeError):
        torch.ones(3, requires_grad=True).grad = torch.ones(3, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"float64.*float32.*\.to\(float32\)"):
        p.grad = ag.ones(3, dtype=ag.float64)
    assert p.grad is kept  # a refused gradient leaves the old one in place
    p.grad = ag.ones(3, dtype=ag.float64).to(p.dtype)
    assert p.grad.dtype == ag.float32


def test_logsumexp_of_a_row_of_minus_infinities_is_no_anomaly(device, torch):
    """logsumexp is one op: -inf in, -inf out. As a composition its inner log met a sum of 0,
    which detect_anomaly flagged as an inf the op made."""
    values = np.array([[-np.inf, -np.inf], [0.0, 1.0]])
    with ag.detect_anomaly():
        out = ag.logsumexp(ag.tensor(values), 1)
    np.testing.assert_array_equal(out.numpy(), torch.logsumexp(torch.tensor(values), 1).numpy())


# --- the divisor's gradient of a / b in float16 ---------------------------------------------------

@pytest.mark.parametrize("a, b, seed", [(3000.0, 10.0, 300.0), (60000.0, 60.0, 1000.0), (-500.0, 4.0, 2000.0)])
def test_float16_divisors_gradient_is_finite_where_only_gy_times_the_output_overflows(torch, a, b, seed):
    """(gy * out) / b multiplied gy * out in float16: 300 * 300 passes 65504, so the gradient
    was -inf where PyTorch's (and the exact one, -9000) is finite, as under a loss scale."""
    a, b, seed = (np.array([v], dtype=np.float16) for v in (a, b, seed))
    xa, xb = ag.tensor(a, requires_grad=True), ag.tensor(b, requires_grad=True)
    ga, gb = ag.grad(xa / xb, [xa, xb], ag.tensor(seed))
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ref_a, ref_b = torch.autograd.grad(ta / tb, [ta, tb], torch.tensor(seed))
    assert gb.dtype == ag.float16
    np.testing.assert_array_equal(ga.numpy(), ref_a.numpy())
    exact = -(seed.astype(np.float64) * a / b ** 2)
    np.testing.assert_allclose(gb.numpy(), exact, rtol=1e-3)  # PyTorch's rounds twice, ours once
    np.testing.assert_allclose(gb.numpy(), ref_b.numpy(), rtol=2e-3)


def test_float16_divisors_second_derivative_matches_float64():
    """The float32 detour is made of ops, so the gradient's own gradients stay right."""
    a = np.array([3000.0, 0.0, -2.0], dtype=np.float16)
    b = np.array([10.0, 0.25, 0.5], dtype=np.float16)
    seed = np.array([300.0, 2.0, 1.0], dtype=np.float16)

    def second(dtype):
        xa, xb = ag.tensor(a.astype(dtype), requires_grad=True), ag.tensor(b.astype(dtype), requires_grad=True)
        _, gb = ag.grad(xa / xb, [xa, xb], ag.tensor(seed.astype(dtype)), create_graph=True)
        return [g.numpy().astype(np.float64) for g in ag.grad(gb.sum(), [xa, xb])]

    for got, want in zip(second(np.float16), second(np.float64)):
        np.testing.assert_allclose(got, want, rtol=2e-3)
