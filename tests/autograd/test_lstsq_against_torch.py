"""ag.linalg.lstsq against torch.linalg.lstsq, in float64: every field of the result
(shape, dtype, values, whether it takes a gradient) for each driver on tall, square
and wide matrices, vectors and broadcast batches; first- and second-order gradients
of the solution and the residuals with respect to a and b; rank-deficient matrices
and rcond; empty matrices; float32; and the errors. The op table
(test_ops_table.py) runs gradcheck and gradgradcheck on its rows on every backend."""
import numpy as np
import pytest

import autograd as ag
from autograd.linalg import LinAlgError

DRIVERS = [None, "gels", "gelsy", "gelsd", "gelss"]
SHAPES = {  # a's shape, b's shape
    "tall": ((5, 3), (5, 2)),
    "square": ((3, 3), (3, 2)),
    "wide": ((3, 5), (3, 2)),
    "tall-vector": ((5, 3), (5,)),
    "batched-wide-vectors": ((2, 3, 4), (2, 3)),
    "broadcast-tall": ((2, 1, 5, 3), (1, 3, 5, 2)),
    "broadcast-wide": ((1, 3, 4), (2, 3, 1)),
}


def _inputs(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal(shape) for shape in shapes)


def _pair(torch, array, dtype="float64"):
    return (ag.tensor(array, dtype=dtype, requires_grad=True),
            torch.tensor(array, dtype=getattr(torch, dtype), requires_grad=True))


def _assert_result_like_torch(result, expected, rtol=1e-10, atol=1e-12):
    assert type(result) is ag.linalg.LstsqResult
    assert result._fields == ("solution", "residuals", "rank", "singular_values")
    for field in result._fields:
        ours, theirs = getattr(result, field), getattr(expected, field)
        assert ours.shape == tuple(theirs.shape), f"{field}: shape {ours.shape}, PyTorch gives {tuple(theirs.shape)}"
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch."), field
        assert ours.requires_grad == theirs.requires_grad, field
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=rtol, atol=atol, err_msg=field)


# --- values, and gradients to second order -----------------------------------------------------
@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("shapes", SHAPES.values(), ids=SHAPES.keys())
def test_result_and_gradients_match_torch(device, torch, driver, shapes):
    """The solution's gradient is pinv(A)'s (through pinv's gradient), the residuals'
    that of ||A X - B||^2 at fixed X: both against PyTorch's, then <gradient, v>'s."""
    arrays = _inputs(shapes)
    (a, ta), (b, tb) = (_pair(torch, x) for x in arrays)
    result, expected = ag.linalg.lstsq(a, b, driver=driver), torch.linalg.lstsq(ta, tb, driver=driver)
    _assert_result_like_torch(result, expected)
    rng = np.random.default_rng(1)
    outputs, t_outputs = [result.solution], [expected.solution]
    if result.residuals.size:
        outputs.append(result.residuals)
        t_outputs.append(expected.residuals)
    cotangents = [rng.standard_normal(y.shape) for y in outputs]
    grads = ag.grad(outputs, [a, b], [ag.tensor(c) for c in cotangents], create_graph=True)
    t_grads = torch.autograd.grad(t_outputs, [ta, tb], [torch.tensor(c) for c in cotangents], create_graph=True)
    for name, g, tg in zip("ab", grads, t_grads):
        assert g.shape == tuple(tg.shape)
        np.testing.assert_allclose(g.numpy(), tg.detach().numpy(), rtol=1e-9, atol=1e-11, err_msg=f"d/d{name}")
    directions = [rng.standard_normal(x.shape) for x in arrays]
    second = ag.grad(sum((g * ag.tensor(v)).sum() for g, v in zip(grads, directions)), [a, b])
    t_second = torch.autograd.grad(sum((g * torch.tensor(v)).sum() for g, v in zip(t_grads, directions)), [ta, tb])
    for name, g, tg in zip("ab", second, t_second):
        np.testing.assert_allclose(g.numpy(), tg.numpy(), rtol=1e-9, atol=1e-11, err_msg=f"second order, {name}")


@pytest.mark.parametrize("driver", ["gelsy", "gels"])
@pytest.mark.parametrize("shapes", [((4, 2), (4, 3)), ((3, 3), (3, 2)), ((2, 4), (2,))], ids=["tall", "square", "wide"])
def test_gradcheck_and_gradgradcheck(device, driver, shapes):
    arrays = _inputs(shapes, seed=2)
    leaves = [ag.tensor(x, dtype="float64", requires_grad=True) for x in arrays]

    def fn(a, b):
        result = ag.linalg.lstsq(a, b, driver=driver)
        return (result.solution, result.residuals) if result.residuals.size else result.solution
    assert ag.gradcheck(fn, leaves)
    assert ag.gradgradcheck(fn, leaves)


def test_a_loss_of_the_residuals_alone_differentiates_as_torchs(device, torch):
    a0, b0 = _inputs(((6, 3), (6, 2)), seed=3)
    (a, ta), (b, tb) = _pair(torch, a0), _pair(torch, b0)
    loss = ag.linalg.lstsq(a, b, driver="gelsd").residuals.sum()
    t_loss = torch.linalg.lstsq(ta, tb, driver="gelsd").residuals.sum()
    loss.backward()
    t_loss.backward()
    x = np.linalg.lstsq(a0, b0, rcond=None)[0]
    np.testing.assert_allclose(b.grad.numpy(), -2 * (a0 @ x - b0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_float32_matches_torch(device, torch):
    arrays = _inputs(((2, 6, 4), (2, 6, 3)), seed=4)
    for driver in DRIVERS:
        (a, ta), (b, tb) = (_pair(torch, x, "float32") for x in arrays)
        result, expected = ag.linalg.lstsq(a, b, driver=driver), torch.linalg.lstsq(ta, tb, driver=driver)
        _assert_result_like_torch(result, expected, rtol=1e-4, atol=1e-5)


def test_float32_with_float64_gives_float64_as_solve_does(device):
    """PyTorch refuses two dtypes; here they are promoted, as in every other binary op."""
    a0, b0 = _inputs(((4, 2), (4, 1)), seed=5)
    result = ag.linalg.lstsq(ag.tensor(a0, dtype="float32"), ag.tensor(b0, dtype="float64"))
    assert result.solution.dtype == ag.float64
    np.testing.assert_allclose(result.solution.numpy(), np.linalg.lstsq(a0.astype(np.float32).astype(np.float64), b0,
                                                                        rcond=None)[0], rtol=1e-10)


# --- rank, rcond and the fields each driver leaves empty ----------------------------------------
def _with_singular_values(values, m=5, n=3, seed=6):
    rng = np.random.default_rng(seed)
    q1 = np.linalg.qr(rng.standard_normal((m, m)))[0][:, :n]
    q2 = np.linalg.qr(rng.standard_normal((n, n)))[0]
    return (q1 * np.asarray(values)) @ q2.T


@pytest.mark.parametrize("driver", ["gelsy", "gelsd", "gelss"])
@pytest.mark.parametrize("singular_values, rcond, rank", [
    ([1, 0.5, 0], None, 2),         # exactly rank-deficient: the minimum-norm solution
    ([1, 0.5, 1e-10], None, 3),
    ([1, 0.5, 1e-10], 1e-9, 2),     # rcond cuts what the default keeps
    ([1, 0.5, 1e-10], 1e-12, 3),
    ([1, 0.5, 1e-3], 1e-2, 2),
])
def test_rank_and_minimum_norm_solution_match_torch(device, torch, driver, singular_values, rcond, rank):
    a0 = _with_singular_values(singular_values)
    b0 = np.random.default_rng(7).standard_normal((5, 2))
    result = ag.linalg.lstsq(ag.tensor(a0), ag.tensor(b0), rcond, driver)
    expected = torch.linalg.lstsq(torch.tensor(a0), torch.tensor(b0), rcond, driver=driver)
    assert int(result.rank.numpy()) == int(expected.rank) == rank
    if driver == "gelsy" and rank == 2 and min(singular_values) > 1e-6:
        # gelsy's rank-2 solution drops a pivoted QR's last row, which is not the
        # truncated SVD when it cuts a singular value that is not negligible: here is
        # gelsd's (see the module's notes)
        expected = torch.linalg.lstsq(torch.tensor(a0), torch.tensor(b0), rcond, driver="gelsd")
    # (keeping a singular value of 1e-10, both are only as accurate as cond(A) eps allows)
    rtol = 1e-5 if rank == 3 and min(singular_values) < 1e-6 else 1e-9
    np.testing.assert_allclose(result.solution.numpy(), expected.solution.numpy(), rtol=rtol, atol=1e-12)
    assert result.residuals.shape == tuple(expected.residuals.shape) == ((2,) if rank == 3 and driver != "gelsy"
                                                                           else (0,))


def test_residuals_are_left_out_when_any_matrix_of_the_batch_has_lower_rank(device, torch):
    """As PyTorch's gelsd and gelss: residuals only if every matrix has rank n."""
    a0 = np.stack([_with_singular_values([1, 0.5, 0.2]), _with_singular_values([1, 0.5, 0])])
    b0 = np.random.default_rng(8).standard_normal((2, 5, 2))
    for driver in ["gelsd", "gelss"]:
        result = ag.linalg.lstsq(ag.tensor(a0), ag.tensor(b0), driver=driver)
        expected = torch.linalg.lstsq(torch.tensor(a0), torch.tensor(b0), driver=driver)
        _assert_result_like_torch(result, expected, rtol=1e-8, atol=1e-10)
        assert result.residuals.shape == (0,) and result.rank.numpy().tolist() == [3, 2]
        full = ag.linalg.lstsq(ag.tensor(a0[:1]), ag.tensor(b0[:1]), driver=driver)
        assert full.residuals.shape == (1, 2)


def test_gradient_at_lower_rank_is_torchs(device, torch):
    """Through pinv(A) with its default cutoff, as PyTorch's (the rank does not change
    nearby for perturbations along A's own singular vectors; the values match anyway)."""
    (a, ta), (b, tb) = _pair(torch, _with_singular_values([2, 1, 0])), _pair(torch, _inputs(((5, 2),), 9)[0])
    ag.linalg.lstsq(a, b).solution.sum().backward()
    torch.linalg.lstsq(ta, tb).solution.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_rank_and_singular_values_take_a_batch_shape_of_a_alone(device, torch):
    a0, b0 = _inputs(((1, 5, 3), (4, 5, 2)), seed=10)
    result = ag.linalg.lstsq(ag.tensor(a0), ag.tensor(b0), driver="gelss")
    assert result.rank.shape == (1,) and result.singular_values.shape == (1, 3) and result.solution.shape == (4, 3, 2)
    np.testing.assert_allclose(result.singular_values.numpy(), np.linalg.svd(a0, compute_uv=False), rtol=1e-12)
    assert result.rank.dtype == ag.int64 and not result.rank.requires_grad


def test_a_negative_rcond_means_the_machine_epsilon(device, torch):
    a0 = _with_singular_values([1, 0.5, 5e-16])  # above eps, below the default 5 eps
    b0 = np.random.default_rng(11).standard_normal((5, 1))
    for rcond, rank in [(None, 2), (-1.0, 3)]:
        result = ag.linalg.lstsq(ag.tensor(a0), ag.tensor(b0), rcond, "gelsd")
        expected = torch.linalg.lstsq(torch.tensor(a0), torch.tensor(b0), rcond, driver="gelsd")
        assert int(result.rank.numpy()) == int(expected.rank) == rank


def test_gels_refuses_a_matrix_of_lower_rank_as_torch_does(device, torch):
    a0 = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    with pytest.raises(RuntimeError, match="does not have full rank"):
        torch.linalg.lstsq(torch.tensor(a0), torch.ones(3, 1, dtype=torch.float64), driver="gels")
    for a in (a0, a0.T):
        with pytest.raises(LinAlgError, match=r"^lstsq: driver='gels' needs matrices of full rank.*use "
                                              r"driver='gelsy', 'gelsd' or 'gelss'"):
            ag.linalg.lstsq(ag.tensor(a), ag.ones(a.shape[0], 1, dtype=ag.float64), driver="gels")
    result = ag.linalg.lstsq(ag.tensor(a0), ag.ones(3, 1, dtype=ag.float64))  # gelsy: the minimum-norm solution
    np.testing.assert_allclose(result.solution.numpy(), [[6 / 14], [0.0]], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("shapes", [((0, 3), (0, 2)), ((5, 0), (5, 2)), ((0, 5, 3), (0, 5, 2)), ((4, 2), (4, 0))],
                         ids=["no-rows", "no-columns", "empty-batch", "no-right-hand-sides"])
def test_empty_matrices(device, torch, driver, shapes):
    """As PyTorch where its LAPACK calls take them. Where they do not (or quirk), the
    true values: ||b||^2 as gels's residuals for n = 0 (PyTorch: 0), and a's rank
    with no right-hand sides (PyTorch's gelsy: 0; gelsd and gelss fail there)."""
    arrays = _inputs(shapes, seed=12)
    result = ag.linalg.lstsq(ag.tensor(arrays[0]), ag.tensor(arrays[1]), driver=driver)
    a_shape, b_shape = shapes
    assert result.solution.shape == a_shape[:-2] + (a_shape[-1], b_shape[-1])
    np.testing.assert_array_equal(result.solution.numpy(), 0)
    if b_shape[-1] == 0:
        assert result.rank.shape == ((0,) if driver == "gels" else ())
        assert driver == "gels" or int(result.rank.numpy()) == 2
        return
    expected = torch.linalg.lstsq(*(torch.tensor(x) for x in arrays), driver=driver)
    for field in result._fields:
        assert getattr(result, field).shape == tuple(getattr(expected, field).shape), field
    if driver == "gels" and a_shape[-1] == 0:
        np.testing.assert_allclose(result.residuals.numpy(), np.sum(arrays[1] ** 2, axis=0), rtol=1e-12)
    else:
        _assert_result_like_torch(result, expected)


def test_vectors_broadcast_against_the_batch_of_a(device):
    """b with one dimension fewer than a is vectors, whose batch axes broadcast (PyTorch
    takes vectors only of a's exact batch shape); the same as b[..., None] as matrices."""
    a0, b0 = _inputs(((3, 5, 2), (1, 5)), seed=13)
    a = ag.tensor(a0)
    vectors = ag.linalg.lstsq(a, ag.tensor(b0), driver="gelsd")
    columns = ag.linalg.lstsq(a, ag.tensor(b0[..., None]), driver="gelsd")
    assert vectors.solution.shape == (3, 2) and vectors.residuals.shape == (3, 1)
    np.testing.assert_allclose(vectors.solution.numpy(), columns.solution.numpy()[..., 0], rtol=1e-12)
    np.testing.assert_allclose(vectors.residuals.numpy(), columns.residuals.numpy(), rtol=1e-12)


# --- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize("a_shape, b_shape, message", [
    ((5, 3), (4, 2), r"^lstsq: b of shape \(4, 2\) holds 4 x 2 matrices, which do not match a's matrices of 5 rows "
                     r"\(a has shape \(5, 3\)\)$"),
    ((5, 3), (4,), r"^lstsq: b of shape \(4,\) holds vectors of 4 entries, which do not match a's matrices of 5 rows"),
    ((4, 5, 3), (5, 2), r"^lstsq: b of shape \(5, 2\) holds vectors of 2 entries.*read as vectors; for one m x k "
                        r"matrix shared by the batch, give b a batch axis of size 1\)$"),
    ((5, 3), (2, 5, 2), r"^lstsq: b of shape \(2, 5, 2\) must have as many dimensions as a \(5, 3\) \(m x k "
                        r"matrices\) or one fewer \(m-vectors\)$"),
    ((2, 5, 3), (3, 5, 2), r"^lstsq: the batch dimensions of a \(2, 5, 3\) and b \(3, 5, 2\) do not broadcast$"),
    ((2, 5, 3), (3, 5), r"^lstsq: the batch dimensions of a \(2, 5, 3\) and b \(3, 5\) do not broadcast$"),
    ((5,), (5,), r"^lstsq: expects matrices in the last two axes"),
])
def test_shapes_that_do_not_match_are_refused(device, torch, a_shape, b_shape, message):
    with pytest.raises(RuntimeError):
        torch.linalg.lstsq(torch.zeros(a_shape, dtype=torch.float64), torch.zeros(b_shape, dtype=torch.float64))
    with pytest.raises(ValueError, match=message):
        ag.linalg.lstsq(ag.zeros(*a_shape, dtype=ag.float64), ag.zeros(*b_shape, dtype=ag.float64))


@pytest.mark.parametrize("a_dtype, b_dtype, culprit", [
    ("int64", "float64", "a has dtype int64"), ("float32", "bool", "b has dtype bool"),
    ("float16", "float16", "a has dtype float16")])
def test_dtypes_other_than_float32_and_float64_are_refused(device, torch, a_dtype, b_dtype, culprit):
    if device == "strict" and a_dtype == "float16":
        pytest.skip("the Array API standard, and so the strict backend, has no float16")
    with pytest.raises(RuntimeError):
        torch.linalg.lstsq(torch.ones(3, 2, dtype=getattr(torch, a_dtype)),
                           torch.ones(3, 1, dtype=getattr(torch, b_dtype)))
    with pytest.raises(TypeError, match=rf"^lstsq: {culprit}; lstsq takes float32 or float64 tensors"):
        ag.linalg.lstsq(ag.ones(3, 2, dtype=a_dtype), ag.ones(3, 1, dtype=b_dtype))


def test_bad_drivers_and_rconds_are_refused(device, torch):
    a, b = ag.ones(3, 2, dtype=ag.float64), ag.ones(3, 1, dtype=ag.float64)
    with pytest.raises(RuntimeError, match="driver"):
        torch.linalg.lstsq(torch.ones(3, 2), torch.ones(3, 1), driver="gelsx")
    with pytest.raises(ValueError, match=r"^lstsq: driver='gelsx' is not one of 'gels', 'gelsy', 'gelsd', 'gelss' "
                                         r"\(None gives 'gelsy'\)$"):
        ag.linalg.lstsq(a, b, driver="gelsx")
    with pytest.raises(ValueError, match="^lstsq: driver='GELSY' is not one of"):
        ag.linalg.lstsq(a, b, driver="GELSY")
    with pytest.raises(TypeError, match=r"^lstsq: driver must be one of 'gels', 'gelsy', 'gelsd', 'gelss' or None"):
        ag.linalg.lstsq(a, b, driver=1)
    with pytest.raises(TypeError, match=r"^lstsq: rcond must be a real number or None, not '1e-3'$"):
        ag.linalg.lstsq(a, b, rcond="1e-3")
    with pytest.raises(TypeError, match=r"^lstsq: rcond must be a real number or None, not True$"):
        ag.linalg.lstsq(a, b, rcond=True)
    with pytest.raises(ValueError, match=r"^lstsq: rcond must be a number, got nan$"):
        ag.linalg.lstsq(a, b, rcond=float("nan"))
