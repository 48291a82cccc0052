"""Core ops at their edges against PyTorch, in float64: values and gradients where an op
has a kink, a tie, a pole, an empty axis or a zero-size dimension, and the conventions
chosen there (the op table keeps its inputs away from all of these)."""
import warnings

import numpy as np
import pytest

import autograd as ag
from tests.autograd.torch_pairs import both


def f64(values, requires_grad=False):
    return ag.tensor(np.asarray(values, dtype=np.float64), dtype=ag.float64, requires_grad=requires_grad)


def assert_same(ours, ref):
    ref = ref.detach().numpy() if hasattr(ref, "detach") else np.asarray(ref)
    got = ours.numpy()
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)  # NaN and inf must sit where PyTorch's do


def assert_like_torch(torch, fn, torch_fn, *arrays, seed=None):
    """Values, then the gradient of every input for the cotangent ``seed`` (ones by default)."""
    ours = [f64(a, True) for a in arrays]
    theirs = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    y, yt = fn(*ours), torch_fn(*theirs)
    assert_same(y, yt)
    seed = np.ones(tuple(yt.shape)) if seed is None else np.asarray(seed, dtype=np.float64)
    y.backward(f64(seed))
    yt.backward(torch.tensor(seed))
    for i, (a, at) in enumerate(zip(ours, theirs)):
        assert a.grad is not None, f"input {i} got no gradient"
        assert_same(a.grad, at.grad)


# --- maximum / minimum: the loser's gradient ----------------------------------------------
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # sqrt'(0) = inf, as NumPy warns
@pytest.mark.parametrize("case", ["maximum_scalar", "minimum_scalar", "maximum_tensors_with_a_tie"])
def test_the_loser_of_maximum_and_minimum_gets_zero_under_an_infinite_gradient(device, torch, case):
    """sqrt(maximum(x, 0)) where x < 0: sqrt's gradient at the clamped 0 is inf, and the
    loser x must get 0, as in PyTorch (which masks). The share is a product here, so the
    loser gets inf * 0 = NaN, and (gy - ga) gives the other side inf - inf = NaN on a tie."""
    zero = torch.tensor(0.0, dtype=torch.float64)
    if case == "maximum_scalar":
        assert_like_torch(torch, lambda x: ag.sqrt(ag.maximum(x, 0.0)),
                          lambda x: torch.sqrt(torch.maximum(x, zero)), [-1.0, 0.0, 4.0])
    elif case == "minimum_scalar":
        assert_like_torch(torch, lambda x: ag.sqrt(-ag.minimum(x, 0.0)),
                          lambda x: torch.sqrt(-torch.minimum(x, zero)), [1.0, 0.0, -4.0])
    else:  # a tie under an infinite gradient: half of inf to each side, inf, on both
        assert_like_torch(torch, lambda a, b: ag.sqrt(ag.maximum(a, b)),
                          lambda a, b: torch.sqrt(torch.maximum(a, b)), [-1.0, 0.0, 4.0], [0.0, 0.0, 0.0])


def test_the_loser_of_maximum_gets_zero_under_a_nan_gradient(device, torch):
    """A NaN arriving from downstream stays with the winner; here it reaches the loser too."""
    zero = torch.tensor(0.0, dtype=torch.float64)
    assert_like_torch(torch, lambda x: ag.maximum(x, 0.0), lambda x: torch.maximum(x, zero),
                      [-1.0, 2.0], seed=[np.nan, np.nan])


@pytest.mark.parametrize("fn, torch_name", [(ag.maximum, "maximum"), (ag.minimum, "minimum")])
def test_maximum_and_minimum_split_a_tie_evenly_as_pytorch(device, torch, fn, torch_name):
    assert_like_torch(torch, fn, getattr(torch, torch_name), [1.0, 2.0, 3.0, -0.0], [1.0, 0.0, 5.0, 0.0],
                      seed=[1.0, 2.0, 3.0, 4.0])


# --- max / min reductions: ties ----------------------------------------------------------
def test_max_along_an_axis_splits_ties_as_amax_not_as_max_dim(device, torch):
    """The documented convention (reduction._Extreme): ties share evenly, as torch.amax.
    torch.max(x, dim) gives the whole gradient to one index instead, a deliberate difference."""
    x0 = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [1.0, 2.0, 1.0]])
    assert_like_torch(torch, lambda x: x.max(axis=1), lambda x: x.amax(1), x0, seed=[1.0, 3.0, 2.0])
    x = f64(x0, True)
    x.max(axis=1).sum().backward()
    xt = torch.tensor(x0, requires_grad=True)
    xt.max(1).values.sum().backward()
    assert not np.allclose(x.grad.numpy(), xt.grad.numpy())  # max(dim) picks one tied index
    np.testing.assert_array_equal(x.grad.numpy().sum(axis=1), np.ones(3))  # but each row's total is 1, as there


# --- elementwise kinks and poles ----------------------------------------------------------
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("exponent", [0, 1, 2, 3, 0.5, -1, 2.0])
def test_pow_at_base_zero_matches_pytorch(device, torch, exponent):
    assert_like_torch(torch, lambda x: x ** exponent, lambda x: x ** exponent, [0.0, 1.5, -2.0])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_pow_of_two_tensors_at_zero_matches_pytorch(device, torch):
    """0 ** 0 is 1 with zero gradients; d(a**b)/db at a == 0 is taken as 0 for b >= 0."""
    assert_like_torch(torch, lambda a, b: a ** b, lambda a, b: a ** b,
                      [0.0, 0.0, 0.0, 0.0, -2.0, -2.0], [0.0, 1.0, 2.0, 0.5, 2.0, 3.0])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", ["abs", "relu", "sqrt", "sign"])
def test_kinks_at_zero_match_pytorch(device, torch, name):
    """abs'(0) = relu'(0) = sign'(0) = 0, sqrt'(0) = inf."""
    assert_like_torch(torch, getattr(ag, name), getattr(torch, name), [0.0, 2.0, 0.0])


def test_clip_with_equal_bounds_passes_no_gradient_but_at_the_bound(device, torch):
    assert_like_torch(torch, lambda x: ag.clip(x, 1.0, 1.0), lambda x: torch.clamp(x, 1.0, 1.0),
                      [-1.0, 1.0, 2.0])


# --- reductions -------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # mean of nothing, as NumPy warns
@pytest.mark.filterwarnings("ignore:.*degrees of freedom:UserWarning")  # PyTorch warns on var of nothing
@pytest.mark.parametrize("name, axis", [("sum", None), ("sum", 0), ("mean", None), ("mean", 0), ("mean", 1),
                                        ("var", 0), ("std", 0), ("logsumexp", 0)])
def test_reductions_of_an_empty_tensor_match_pytorch(device, torch, name, axis):
    """Sum of nothing is 0, its mean and variance NaN, its logsumexp -inf; the gradient is empty."""
    torch_fns = {"sum": lambda x: x.sum(axis) if axis is not None else x.sum(),
                 "mean": lambda x: x.mean(axis) if axis is not None else x.mean(),
                 "var": lambda x: x.var(axis, correction=0), "std": lambda x: x.std(axis, correction=0),
                 "logsumexp": lambda x: torch.logsumexp(x, axis)}
    ours = {"sum": lambda x: x.sum(axis=axis), "mean": lambda x: x.mean(axis=axis),
            "var": lambda x: ag.var(x, axis=axis), "std": lambda x: ag.std(x, axis=axis),
            "logsumexp": lambda x: ag.logsumexp(x, axis=axis)}
    assert_like_torch(torch, ours[name], torch_fns[name], np.zeros((0, 3)))


@pytest.mark.parametrize("name", ["mean", "var", "std", "max", "min", "logsumexp"])
def test_a_repeated_axis_is_refused_by_name(device, name):
    with pytest.raises(ValueError, match=rf"^{name}: repeated axis in \(1, -1\)$"):
        getattr(ag, name)(ag.zeros(2, 3), axis=(1, -1))


def test_var_and_std_with_ddof_keepdims_and_negative_tuple_axes_match_pytorch(device, torch):
    x0 = np.random.default_rng(0).standard_normal((2, 3, 4))
    for ddof in (0, 1, 2):
        assert_like_torch(torch, lambda x: ag.var(x, axis=(-1, 0), ddof=ddof, keepdims=True),
                          lambda x: x.var((-1, 0), correction=ddof, keepdim=True), x0)
        assert_like_torch(torch, lambda x: ag.std(x, axis=-2, ddof=ddof),
                          lambda x: x.std(-2, correction=ddof), x0)


@pytest.mark.filterwarnings("ignore:invalid value encountered in subtract:RuntimeWarning")  # (forward: NumPy's var)
@pytest.mark.parametrize("values", [[1.0, np.inf, 2.0, 3.0], [-np.inf, 1.0, 2.0, 5.0], [[1.0, 2.0], [np.inf, 0.0]]])
def test_var_and_std_gradients_at_an_infinite_input_match_pytorch(device, torch, values):
    # The gradient went through the mean's, whose sum of the centered values (exactly 0) was
    # inf - inf: NaN everywhere. PyTorch's is 2 (x - mean) / (n - ddof): -inf or inf at the others.
    assert_like_torch(torch, lambda x: ag.var(x, axis=0, ddof=1), lambda x: x.var(0, correction=1), values)
    assert_like_torch(torch, lambda x: ag.var(x), lambda x: x.var(correction=0), values)
    assert_like_torch(torch, lambda x: ag.std(x, axis=0), lambda x: x.std(0, correction=0), values)


@pytest.mark.parametrize("values", [[1.0, np.inf, 2.0, 3.0], [-np.inf, -np.inf, -np.inf], [1e308, -1e308, 2.0],
                                    [np.nan, 1.0, 2.0], [[-np.inf, 0.0], [np.inf, -np.inf]]])
def test_logsumexp_at_infinities_and_far_apart_values_is_quiet_and_pytorchs(device, torch, values):
    # What NumPy would warn of is on the way to the right result: -1e308 - 1e308 overflows to
    # -inf, whose exp is 0; a row of -inf is log 0 = -inf; inf's softmax is inf * 0 = NaN.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_like_torch(torch, lambda x: ag.logsumexp(x, axis=0), lambda x: torch.logsumexp(x, 0), values)


def test_var_second_derivatives_match_pytorch(device, torch):
    x0 = np.random.default_rng(2).standard_normal((3, 5)) + 100.0
    ours, theirs = f64(x0, True), torch.tensor(x0, requires_grad=True)
    weights = np.arange(3.0)
    g, = ag.grad((ag.var(ours, axis=1, ddof=1) * f64(weights)).sum(), [ours], create_graph=True)
    gt, = torch.autograd.grad((theirs.var(1, correction=1) * torch.tensor(weights)).sum(), [theirs],
                              create_graph=True)
    assert_same(g, gt)
    (g * g).sum().backward()
    (gt * gt).sum().backward()
    assert_same(ours.grad, theirs.grad)



def test_correction_is_ddof_under_the_array_api_and_pytorch_name(device, torch):
    """var/std/nanvar/nanstd take correction= (the Array API's, PyTorch's and NumPy 2's
    name), as a function and as a method, and refuse it beside a ddof, as NumPy does."""
    x0 = np.random.default_rng(1).standard_normal((3, 4))
    for correction in (0, 1, 2.5):
        assert_like_torch(torch, lambda x: x.var(1, correction=correction), lambda x: x.var(1, correction=correction),
                          x0)
        assert_like_torch(torch, lambda x: ag.std(x, axis=(0, 1), correction=correction, keepdims=True),
                          lambda x: x.std((0, 1), correction=correction, keepdim=True), x0)
        for name in ("nanvar", "nanstd"):
            np.testing.assert_allclose(getattr(ag, name)(f64(x0), axis=0, correction=correction).numpy(),
                                       getattr(np, name)(x0, axis=0, ddof=correction), rtol=1e-14)
    for name in ("var", "std", "nanvar", "nanstd"):
        with pytest.raises(ValueError, match=rf"^{name}: ddof=1 and correction=1 are two names for one thing"):
            getattr(ag, name)(f64(x0), ddof=1, correction=1)



@pytest.mark.parametrize("name, source, dtype", [
    ("sum", "float32", "float64"), ("sum", "int8", "int8"), ("sum", "int8", "float16"), ("sum", "bool", "bool"),
    ("sum", "float16", "float16"), ("sum", "int64", "float32"), ("prod", "int8", "int8"),
    ("prod", "float32", "float64"), ("mean", "float32", "float64"), ("mean", "int64", "float32"),
])
def test_a_reduction_in_a_dtype_is_pytorchs(device, torch, name, source, dtype):
    """dtype= (NumPy's, the Array API's and PyTorch's): the input cast first and the result
    in that dtype, an int8 sum in int8 wrapping around as there."""
    if device == "strict" and "float16" in (source, dtype):
        pytest.skip("the Array API standard has no float16")
    x0 = (np.arange(1, 13).reshape(3, 4) * 47 % 13).astype(source)
    for axis in (None, 1):
        y = getattr(ag.tensor(x0), name)(axis, dtype=getattr(ag, dtype))
        t = torch.tensor(x0)
        ref = getattr(t, name)(dtype=getattr(torch, dtype)) if axis is None else \
            getattr(t, name)(axis, dtype=getattr(torch, dtype))
        assert str(y.dtype) == str(ref.dtype).replace("torch.", "")
        np.testing.assert_allclose(y.numpy().astype(np.float64), ref.numpy().astype(np.float64), rtol=1e-6)


def test_a_reduction_in_a_dtype_differentiates_and_refuses_what_pytorch_refuses(device, torch):
    x = f64([1.5, 2.5, -1.0], requires_grad=True)
    assert ag.gradgradcheck(lambda t: ag.sum(t * t, dtype=ag.float64) * ag.prod(t, dtype=ag.float64), [x])
    wide = ag.tensor([1.5, 2.5, -1.0], requires_grad=True)  # float32, reduced in float64
    g, = ag.grad(wide.prod(dtype=ag.float64) + wide.mean(dtype=ag.float64), wide)
    assert g.dtype == ag.float32
    np.testing.assert_allclose(g.numpy(), [-2.5 + 1 / 3, -1.5 + 1 / 3, 3.75 + 1 / 3], rtol=1e-6)
    with pytest.raises(TypeError, match="sum: dtype=int64 is not floating, so the result would have no gradient"):
        x.sum(dtype=ag.int64)
    with pytest.raises(TypeError, match="mean: dtype=int64 is not floating"):
        ag.tensor([1, 2]).mean(dtype=ag.int64)
    with pytest.raises(RuntimeError):
        torch.tensor([1.5], requires_grad=True).sum(dtype=torch.int64)
    with pytest.raises(RuntimeError):
        torch.tensor([1, 2]).mean(dtype=torch.int64)


# --- shape ops ---------------------------------------------------------------------------
def test_concat_and_stack_with_empty_tensors_and_negative_axes_match_pytorch(device, torch):
    a0 = np.arange(6.0).reshape(2, 3)
    assert_like_torch(torch, lambda e, a: ag.concat([e, a], axis=-2), lambda e, a: torch.cat([e, a], -2),
                      np.zeros((0, 3)), a0, seed=np.arange(6.0).reshape(2, 3))
    assert_like_torch(torch, lambda a, e: ag.concat([a, e], axis=-1), lambda a, e: torch.cat([a, e], -1),
                      a0, np.zeros((2, 0)), seed=np.arange(6.0).reshape(2, 3))
    assert_like_torch(torch, lambda a, b: ag.stack([a, b], axis=-3), lambda a, b: torch.stack([a, b], -3),
                      np.zeros((0, 3)), np.zeros((0, 3)))


def test_split_at_offsets_with_empty_pieces_follows_numpy(device, torch):
    x0 = np.arange(7.0)
    for offsets in ([2, 2, 9], [-2], [0, 0, 7], []):
        got = ag.split(f64(x0), offsets)
        want = np.split(x0, offsets)
        assert [p.shape for p in got] == [w.shape for w in want]
        for p, w in zip(got, want):
            np.testing.assert_array_equal(p.numpy(), w)
    assert_like_torch(torch, lambda x: ag.concat(ag.split(x, [2, 2, 9])[1:], 0) * 3,
                      lambda x: torch.cat(torch.tensor_split(x, [2, 2, 9])[1:], 0) * 3, x0)


def test_split_refuses_decreasing_offsets_where_numpy_overlaps_the_pieces(device):
    """A deliberate difference: np.split(x, [3, 1]) gives x[:3], x[3:1] (empty), x[1:],
    overlapping pieces; here that is an error that says why."""
    with pytest.raises(ValueError, match=r"^split: offsets \[3, 1\] must be increasing$"):
        ag.split(ag.zeros(7), [3, 1])


def test_broadcast_to_refuses_a_negative_size_by_name(device):
    """PyTorch's expand takes -1 for "keep this size"; NumPy's broadcast_to takes none. Here
    the backend's own error escapes, naming no op ("all elements of broadcast shape must be
    non-negative")."""
    with pytest.raises(ValueError, match=r"^broadcast_to: "):
        ag.broadcast_to(ag.zeros(2, 1), (2, -1))
    with pytest.raises(ValueError, match=r"^broadcast_to: "):
        ag.zeros(1, 1).broadcast_to(-1, -1)


def test_expand_dims_transpose_and_reshape_at_their_edges_match_pytorch(device, torch):
    x0 = np.arange(24.0).reshape(2, 3, 4)
    assert_like_torch(torch, lambda x: ag.expand_dims(x, -4) * 2, lambda x: x.unsqueeze(-4) * 2, x0)
    assert_like_torch(torch, lambda x: x.transpose(-1, 0, -2) * 2, lambda x: x.permute(-1, 0, -2) * 2, x0)
    assert_like_torch(torch, lambda x: x.reshape(-1, 3), lambda x: x.reshape(-1, 3), np.zeros((2, 0, 3)))
    assert_like_torch(torch, lambda x: x.reshape(()) * 2, lambda x: x.reshape(()) * 2, [1.5])
    with pytest.raises(ValueError, match=r"^reshape: cannot reshape a tensor of shape \(0, 3\)"):
        ag.zeros(0, 3).reshape(-1, 0)  # -1 could be anything: refused, as in PyTorch


# --- matmul and einsum -----------------------------------------------------------------
@pytest.mark.parametrize("shapes", [((4,), (4,)), ((2, 1, 3, 4), (5, 4, 2)), ((0,), (0,)), ((3, 0), (0,)),
                                    ((0,), (0, 3)), ((0, 3, 4), (4, 2)), ((4,), (0, 4, 2))],
                         ids=str)
def test_matmul_shapes_and_zero_sizes_match_pytorch(device, torch, shapes):
    """A zero-size inner dimension gives zeros (an empty sum), and empty gradients."""
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s) for s in shapes]
    assert_like_torch(torch, lambda a, b: a @ b, lambda a, b: a @ b, *arrays)
    assert ag.gradgradcheck(lambda a, b: a @ b, [f64(a, True) for a in arrays])


@pytest.mark.parametrize("spec, shapes", [
    ("i,i,i->", [(3,), (3,), (3,)]), ("ij,jk,ki->", [(2, 3), (3, 4), (4, 2)]),
    ("ii,i->i", [(1, 1), (3,)]), ("jii->ij", [(2, 3, 3)]), ("a...,...b->...ab", [(2, 3), (3, 2)]),
    ("ijk,ijk,ijk->", [(2, 1, 3), (1, 2, 3), (2, 2, 1)]), ("i,j", [(3,), (2,)]), ("i->", [(0,)]),
])
def test_einsum_edges_match_pytorch_to_second_order(device, torch, spec, shapes):
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(s) for s in shapes]
    assert_like_torch(torch, lambda *xs: ag.einsum(spec, *xs), lambda *xs: torch.einsum(spec, *xs), *arrays)
    assert ag.gradgradcheck(lambda *xs: ag.einsum(spec, *xs), [f64(a, True) for a in arrays])


def test_einsum_of_one_tensor_twice_accumulates_both_gradients(device, torch):
    x0 = np.array([1.0, -2.0, 0.5])
    assert_like_torch(torch, lambda x: ag.einsum("i,i->", x, x), lambda x: torch.einsum("i,i->", x, x), x0)


@pytest.mark.parametrize("dtype", ["bool", "int8", "uint8", "int32", "int64"])
@pytest.mark.parametrize("spec", ["ij->", "ij->i", "ii->", "...->", "ij->j", "ii->i", "ij->ji"])
def test_einsum_of_one_integer_or_bool_tensor_sums_in_int64_as_pytorch(device, torch, spec, dtype):
    """A sum over one integer or bool operand adds up in int64, as ag.sum and PyTorch's
    einsum do: NumPy's kept int8 (wrapping at 128) and ORed bools (True, not a count).
    A spec that sums nothing ('ii->i', 'ij->ji') keeps the dtype, as there."""
    x0 = (np.arange(16).reshape(4, 4) * 37 % 11).astype(dtype)
    y = ag.einsum(spec, ag.tensor(x0))
    ref = torch.einsum(spec, torch.tensor(x0))
    assert str(y.dtype) == str(ref.dtype).replace("torch.", "")
    np.testing.assert_array_equal(y.numpy(), ref.numpy())


BOOL_OPERANDS = {"ij": [[True, False, True], [True, True, False]], "jk": [[True, True], [False, True], [True, True]],
                 "j": [True, False, True], "k": [True, False], "i": [False, True], "ik": [[True, False], [True, True]]}


def _bool_operands(spec):
    return [np.array(BOOL_OPERANDS[s], dtype=bool) for s in spec.split("->")[0].split(",")]


@pytest.mark.parametrize("spec", ["ij,j->j", "ij,k->", "ij,jk->", "ij,ij->ij", "i,k->ik", "ij,ij,ij->ij",
                                  "ij,i->ij"])
def test_einsum_of_several_bool_tensors_is_pytorchs(device, torch, spec):
    """Nothing summed: the product of bools (and), a bool. Something summed: a count, int64,
    as PyTorch's gives where it computes one; NumPy's ORed the terms (True, not 2)."""
    arrays = _bool_operands(spec)
    y = ag.einsum(spec, *(ag.tensor(a) for a in arrays))
    ref = torch.einsum(spec, *(torch.tensor(a) for a in arrays))
    assert str(y.dtype) == str(ref.dtype).replace("torch.", "")
    np.testing.assert_array_equal(y.numpy(), ref.numpy())


@pytest.mark.parametrize("spec", ["ij,jk->ik", "ij,j->i", "ij,ij->", "ij,jk,k->i", "ij,ik->jk"])
def test_einsum_contracting_bool_tensors_counts_where_pytorch_refuses(device, torch, spec):
    """PyTorch's raises here ("bmm" not implemented for 'Bool'); ours counts in int64, as it
    does where PyTorch computes, rather than ORing the terms as NumPy's did."""
    arrays = _bool_operands(spec)
    y = ag.einsum(spec, *(ag.tensor(a) for a in arrays))
    assert y.dtype == ag.int64
    np.testing.assert_array_equal(y.numpy(), np.einsum(spec, *(a.astype(np.int64) for a in arrays)))
    with pytest.raises((NotImplementedError, RuntimeError)):
        torch.einsum(spec, *(torch.tensor(a) for a in arrays))


# --- where -------------------------------------------------------------------------------
def test_where_with_a_larger_condition_and_broadcast_branches_matches_pytorch(device, torch):
    cond = np.random.default_rng(3).random((2, 2, 3)) > 0.5
    assert_like_torch(torch, lambda a, b: ag.where(ag.tensor(cond), a, b),
                      lambda a, b: torch.where(torch.tensor(cond), a, b),
                      np.array([1.0, 2.0, 3.0]), np.array([[4.0, 5.0, 6.0]]), seed=np.arange(12.0).reshape(2, 2, 3))
    assert_like_torch(torch, lambda a, b: ag.where(ag.tensor(cond), a, b),
                      lambda a, b: torch.where(torch.tensor(cond), a, b), 1.5, -2.0)


# --- pow: the exponent's gradient at a zero base, and the mixed second derivative at b == 0 ----
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # 0 ** -1, log(0)
def test_pow_exponent_gradient_at_zero_base_and_negative_exponent_matches_pytorch(device, torch):
    """d(a**b)/db = a**b log a is inf * -inf there (-inf, or +inf at -0.0 with an odd
    exponent), as in PyTorch; the base of 1 that stands in for a == 0 made it 0 * inf = NaN."""
    a, ta = both(torch, [0.0, -0.0, 0.0, 0.0, 0.0, 2.0])
    b, tb = both(torch, [-1.0, -1.0, -0.5, -np.inf, 2.0, -1.0])
    ga, gb = ag.grad((a ** b).sum(), [a, b])
    tga, tgb = torch.autograd.grad((ta ** tb).sum(), [ta, tb])
    np.testing.assert_array_equal(gb.numpy(), tgb.numpy())
    np.testing.assert_array_equal(ga.numpy(), tga.numpy())
    # a scalar base: 0 ** x, with x the leaf
    x, tx = both(torch, [-2.0, -0.5, 0.0, 1.5])
    np.testing.assert_array_equal(ag.grad((0.0 ** x).sum(), x)[0].numpy(),
                                  torch.autograd.grad((0.0 ** tx).sum(), tx)[0].numpy())


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # log of the negative base, unused at b == 0
def test_pow_mixed_second_derivative_at_a_zero_exponent_matches_pytorch(device, torch):
    """The base's gradient b * a**(b-1) is masked to 0 at b == 0; its derivative in b there
    is 0, as PyTorch's masked_fill gives, not the 1 the exponent's trick left behind."""
    a, ta = both(torch, [0.65, 2.0, -1.5, 3.0])
    b, tb = both(torch, [0.0, 0.0, -0.0, 2.0])
    ga, = ag.grad((a ** b).sum(), a, create_graph=True)
    tga, = torch.autograd.grad((ta ** tb).sum(), ta, create_graph=True)
    np.testing.assert_allclose(ga.numpy(), tga.detach().numpy(), rtol=1e-12)
    v = np.array([0.3, -1.2, 0.7, 1.1])
    gga, ggb = ag.grad((ga * ag.tensor(v)).sum(), [a, b])
    tgga, tggb = torch.autograd.grad((tga * torch.tensor(v)).sum(), [ta, tb])
    np.testing.assert_allclose(gga.numpy(), tgga.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ggb.numpy(), tggb.numpy(), rtol=1e-12)


def _same(got, want):
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    np.testing.assert_array_equal(got.numpy(), want.numpy())


# --- clip with min > max, and a NaN tensor bound -----------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "int64"])
def test_clip_with_min_above_max_gives_max_everywhere_as_torch(device, torch, dtype):
    """A scalar min above max raised ValueError, where PyTorch and NumPy give max for every
    element (topograd's tensor-bound clip did already); the gradient is 0 throughout, as there."""
    values = np.array([-3, 0, 1, 2, 5], dtype=dtype)
    _same(ag.clip(ag.tensor(values), 2, 1), torch.clamp(torch.tensor(values), 2, 1))
    _same(ag.tensor(values).clamp_(2, 1), torch.tensor(values).clamp_(2, 1))
    if dtype == "float64":
        x, t = ag.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
        ag.clip(x, 2.0, 1.0).sum().backward()
        torch.clamp(t, 2.0, 1.0).sum().backward()
        _same(x.grad, t.grad)


@pytest.mark.parametrize("side", ["min", "max"])
def test_a_nan_tensor_bound_gives_nan_as_torch(device, torch, side):
    """x past neither bound kept its value where a tensor bound was NaN; PyTorch's clamp gives
    NaN there (as its scalar clamp, and topograd's, do)."""
    values, bound = np.array([-3.0, 0.5, 3.0, 0.5]), np.array([np.nan, np.nan, 1.0, 0.0])
    _same(ag.clip(ag.tensor(values), **{side: ag.tensor(bound)}),
          torch.clamp(torch.tensor(values), **{side: torch.tensor(bound)}))
    other = "max" if side == "min" else "min"  # here a scalar beside the tensor bound (a 0-d one in PyTorch)
    _same(ag.clip(ag.tensor(values), **{side: ag.tensor(bound), other: 0.25}),
          torch.clamp(torch.tensor(values), **{side: torch.tensor(bound), other: torch.tensor(0.25)}))


@pytest.mark.parametrize("side", ["min", "max"])
def test_a_nan_beside_a_tensor_bound_takes_no_gradient_as_torch(device, torch, side):
    """Where x or the tensor bound is NaN the result is NaN, and PyTorch's clamp sends no
    gradient to either (nor does the scalar-bound clip, ours or PyTorch's). The tensor-bound
    clip sent it on through the where that chose the NaN: 1 to a NaN x (so, on to whatever
    made the NaN), and 1 to a NaN bound."""
    values = np.array([np.nan, np.nan, 0.5, 2.0, -2.0, 0.5])
    bound = np.array([0.0, np.nan, np.nan, np.nan, 1.0, 1.0])
    x, t = ag.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    b, tb = ag.tensor(bound, requires_grad=True), torch.tensor(bound, requires_grad=True)
    ag.clip(x, **{side: b}).sum().backward()
    torch.clamp(t, **{side: tb}).sum().backward()
    _same(x.grad, t.grad)
    _same(b.grad, tb.grad)


def test_a_nan_between_two_tensor_bounds_takes_no_gradient(device, torch):
    """With both bounds, PyTorch still sends a NaN result's gradient to max where min > max
    or x > max (its two formulas do not look at NaN); topograd sends it nowhere, as with one
    bound. Elsewhere the gradients are PyTorch's."""
    values = np.array([np.nan, 0.5, 0.5, np.nan, 2.0, 0.5, -1.0, 3.0, 0.5])
    low = np.array([0.0, np.nan, 0.0, 1.0, np.nan, 0.0, 0.0, 0.0, 1.0])
    high = np.array([1.0, 1.0, np.nan, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    x, t = ag.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    lo, tlo = ag.tensor(low, requires_grad=True), torch.tensor(low, requires_grad=True)
    hi, thi = ag.tensor(high, requires_grad=True), torch.tensor(high, requires_grad=True)
    y, ty = ag.clip(x, lo, hi), torch.clamp(t, tlo, thi)
    _same(y, ty.detach())
    y.sum().backward()
    ty.sum().backward()
    nan = np.isnan(ty.detach().numpy())
    for ours, theirs in ((x.grad, t.grad), (lo.grad, tlo.grad), (hi.grad, thi.grad)):
        np.testing.assert_array_equal(ours.numpy()[nan], 0)
        np.testing.assert_array_equal(ours.numpy()[~nan], theirs.numpy()[~nan])


# --- division: the divisor's gradient at a zero numerator ----------------------------------------
# -gy a / b^2 was worked out as (gy / b) * (a / b): 0 * inf = NaN at a = 0 once gy / b overflowed
# (a float16 b of 1e-5, a float32 denormal).
@pytest.mark.filterwarnings("ignore:overflow")  # 3 / b and 0.5 / b: inf, as PyTorch's
@pytest.mark.parametrize("dtype, tiny", [("float32", 1e-39), ("float64", 1e-310)])
def test_the_divisors_gradient_at_a_zero_numerator_is_zero_where_gy_over_b_overflows(device, torch, dtype, tiny):
    """-gy a / b^2 is 0 at a = 0; ours was NaN where gy / b overflowed (b a denormal)."""
    if dtype == "float32" and device.startswith("cuda"):
        pytest.skip("CuPy compiles its kernels with -ftz=true: a float32 denormal b reads as 0, so a / b is 0 / 0")
    a = np.array([0.0, -0.0, 0.0, 1.0], dtype=dtype)
    b = np.array([tiny, -tiny, 2.0, 2.0], dtype=dtype)
    seed = np.array([3.0, 3.0, 3.0, 3.0], dtype=dtype)
    xa, xb = ag.tensor(a, requires_grad=True), ag.tensor(b, requires_grad=True)
    ga, gb = ag.grad(xa / xb, [xa, xb], ag.tensor(seed))
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ref_a, ref_b = torch.autograd.grad(ta / tb, [ta, tb], torch.tensor(seed))
    np.testing.assert_array_equal(gb.numpy(), ref_b.numpy())  # [-0, 0, -0, -0.75]
    np.testing.assert_array_equal(ga.numpy(), ref_a.numpy())  # [inf, -inf, 1.5, 1.5]


def test_the_divisors_gradient_stays_finite_under_a_zero_or_small_gradient(device):
    """Not PyTorch's order either: its gy * ((a / b) / b) is 0 * inf = NaN where gy is 0
    and (a / b) / b overflows, and inf where gy is small; (gy * (a / b)) / b is finite here
    (its gy * (a / b) can overflow where the gradient does not: float16 multiplies it in
    float32, see test_ops_edge_cases.py)."""
    xa = ag.tensor(np.array([3.0, 1.0], dtype=np.float32), requires_grad=True)
    xb = ag.tensor(np.array([1e-20, 1e-20], dtype=np.float32), requires_grad=True)
    _, gb = ag.grad(xa / xb, [xa, xb], ag.tensor(np.array([0.0, 1e-20], dtype=np.float32)))
    np.testing.assert_allclose(gb.numpy(), [0.0, -1e20], rtol=1e-6)


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
