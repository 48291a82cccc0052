"""matmul, einsum and the shape ops under them (transpose, swapaxes) against PyTorch and
NumPy, in float64: rank combinations and strided inputs to second order, dtypes, the
aliasing of einsum's result, axis checks of transpose, and the errors for malformed calls."""
import functools

import numpy as np
import pytest

import autograd as ag
from tests.autograd.torch_pairs import check_grads, leaf_pair


def f64(values, requires_grad=False):
    return ag.tensor(np.asarray(values, dtype=np.float64), dtype=ag.float64, requires_grad=requires_grad)


def assert_like_torch(torch, fn, torch_fn, *arrays):
    """Values and every input's gradient for a random cotangent, then second order."""
    rng = np.random.default_rng(7)
    ours = [f64(a, True) for a in arrays]
    theirs = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    y, yt = fn(*ours), torch_fn(*theirs)
    assert y.shape == tuple(yt.shape)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    seed = rng.standard_normal(tuple(yt.shape))
    y.backward(f64(seed))
    yt.backward(torch.tensor(seed))
    for i, (a, at) in enumerate(zip(ours, theirs)):
        assert a.grad is not None and a.grad.shape == a.shape, f"input {i}"
        np.testing.assert_allclose(a.grad.numpy(), at.grad.numpy(), rtol=1e-12, atol=1e-12, err_msg=f"input {i}")
    assert ag.gradgradcheck(fn, [f64(a, True) for a in arrays])


# --- einsum's result is its own memory ------------------------------------------------------
@pytest.mark.parametrize("spec", ["ij->ji", "ij->ij", "ii->i", "ji", "...->..."])
def test_changing_a_one_operand_einsum_result_in_place_leaves_the_operand_alone(device, torch, spec):
    """NumPy's einsum returns a view for a transpose, an identity or a diagonal; handed out
    as is, `y += 100` wrote into x behind its version counter."""
    x0 = np.arange(4.0).reshape(2, 2)
    x = f64(x0)
    y = ag.einsum(spec, x)
    expected = torch.einsum(spec, torch.tensor(x0)).numpy() + 100
    y += 100
    np.testing.assert_array_equal(x.numpy(), x0)
    np.testing.assert_array_equal(y.numpy(), expected)


def test_an_in_place_change_of_an_einsum_result_keeps_the_operands_gradient_right(device, torch):
    """d/dx sum((x*1)**2) = 2x. With the result aliasing z, zeroing it in place zeroed z,
    which Mul had saved, and x.grad came out 0 with no error (PyTorch raises there)."""
    x0 = np.array([[1.0, -2.0], [0.5, 3.0]])
    x = f64(x0, True)
    z = x * 1
    y = ag.einsum("ij->ji", z)
    w = (z * z).sum()
    y.mul_(0)
    w.backward()
    np.testing.assert_array_equal(z.numpy(), x0)
    np.testing.assert_allclose(x.grad.numpy(), 2 * x0)
    np.testing.assert_array_equal(y.numpy(), np.zeros((2, 2)))


# --- transpose checks each axis -------------------------------------------------------------
@pytest.mark.parametrize("shape, axes, bad", [((2, 3), (0, 3), 3), ((2, 3), (1, 2), 2), ((2, 3), (-3, 0), -3),
                                              ((2, 3, 4), (0, 1, 5), 5), ((3,), (1,), 1)], ids=str)
def test_transpose_refuses_an_axis_out_of_range_as_numpy_and_pytorch_do(device, torch, shape, axes, bad):
    """`a % ndim` took axis 2 of a matrix for axis 0: x.transpose(1, 2) on a matrix
    transposed it, and transpose(0, 1, 5) of a 3-d tensor returned it unchanged."""
    with pytest.raises(IndexError):
        torch.zeros(shape).permute(*axes)
    with pytest.raises(np.exceptions.AxisError):
        np.zeros(shape).transpose(*axes)
    with pytest.raises(ValueError, match=rf"^transpose: axis {bad} is out of range for a tensor with "
                                         rf"{len(shape)} dimensions$"):
        ag.zeros(*shape).transpose(*axes)


def test_transpose_takes_none_as_numpy_does_and_refuses_bools_and_floats(device):
    x0 = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(f64(x0).transpose(None).numpy(), x0.transpose(None))
    np.testing.assert_array_equal(ag.transpose(f64(x0), None).numpy(), x0.T)
    np.testing.assert_array_equal(f64(x0).transpose(np.int64(1), 0).numpy(), x0.T)
    np.testing.assert_array_equal(f64(x0).transpose(range(1, -1, -1)).numpy(), x0.T)
    with pytest.raises(TypeError, match=r"^transpose: axes must be ints, not True"):
        f64(x0).transpose(True, False)
    with pytest.raises(TypeError, match=r"^transpose: axes must be ints, not 1.0"):
        f64(x0).transpose(1.0, 0)


# --- einsum: malformed calls get errors that say what is wrong ------------------------------
@pytest.mark.parametrize("spec, shapes, message", [
    ("i1->i", [(2, 2)], r"^einsum: 'i1->i' has '1', which is no subscript"),
    ("i.j->i", [(2, 2)], r"^einsum: 'i.j->i' has '.', which is no subscript"),
    ("ij-ji", [(2, 2)], r"^einsum: 'ij-ji' has '-', which is no subscript"),
    ("...i...->i", [(2, 2)], r"^einsum: '...' appears more than once in '...i...'"),
    ("...i->......i", [(2, 2)], r"^einsum: '...' appears more than once in '......i'"),
    ("...ij->...i", [(2,)], r"^einsum: subscripts '...ij' do not match an operand of shape \(2,\)$"),
    ("...i,...i", [(2, 3), (4, 3)], r"^einsum: the axes under '...' of shapes \(2, 3\) and \(4, 3\) do not broadcast$"),
])
def test_einsum_errors_name_the_problem_in_the_callers_terms(device, torch, spec, shapes, message):
    """These errors named spare letters the caller never wrote ('subscript 'A' has sizes
    2 and 4', 'ABCDEFGHIJKLMNOPQRSTUVWXYij'), or a shape mismatch for a bad character."""
    with pytest.raises(RuntimeError):
        torch.einsum(spec, *(torch.ones(s) for s in shapes))
    with pytest.raises(ValueError, match=message):
        ag.einsum(spec, *(ag.ones(*s) for s in shapes))


def test_einsum_refuses_a_non_string_equation_and_a_lone_non_tensor_with_type_errors(device, torch):
    """Both failed with AttributeError ('str' / 'list' object has no attribute 'shape')."""
    with pytest.raises(TypeError):
        torch.einsum("ij->ji", [[1.0, 2.0]])
    with pytest.raises(TypeError, match=r"^einsum: expected a Tensor, got list"):
        ag.einsum("ij->ji", [[1.0, 2.0]])
    with pytest.raises(TypeError, match=r"^einsum: the first argument is the subscripts"):
        ag.einsum(ag.ones(2), "i->")


def test_matmul_names_both_shapes_when_batch_dimensions_do_not_broadcast(device, torch):
    with pytest.raises(RuntimeError):
        torch.ones(2, 3, 4) @ torch.ones(3, 4, 2)
    with pytest.raises(ValueError, match=r"^matmul: the batch dimensions of shapes \(2, 3, 4\) and \(3, 4, 2\) "
                                         r"do not broadcast$"):
        ag.ones(2, 3, 4) @ ag.ones(3, 4, 2)


# --- behaviour checked that already holds ---------------------------------------------------
@pytest.mark.parametrize("shapes", [((2, 3, 0), (0,)), ((0, 1, 2, 3), (4, 3, 2)), ((3,), (1, 3, 1)),
                                    ((1, 1, 3), (3,)), ((2, 3), (0, 3, 4))], ids=str)
def test_matmul_rank_and_empty_combinations_match_pytorch_to_second_order(device, torch, shapes):
    rng = np.random.default_rng(8)
    assert_like_torch(torch, lambda a, b: a @ b, lambda a, b: a @ b, *(rng.standard_normal(s) for s in shapes))


def test_matmul_of_strided_views_matches_pytorch_to_second_order(device, torch):
    rng = np.random.default_rng(9)
    a0, b0 = rng.standard_normal((4, 2, 3)), rng.standard_normal((2, 4))
    assert_like_torch(torch, lambda a, b: ag.swapaxes(a, 0, 2) @ b.T,
                      lambda a, b: a.permute(2, 1, 0) @ b.T, a0, b0)
    assert_like_torch(torch, lambda a, b: a[:, ::2].T @ b[::-1][0],
                      lambda a, b: a[:, ::2].T @ b.flip(0)[0], rng.standard_normal((4, 3)), b0)


def test_swapaxes_is_a_method_as_in_torch_and_numpy(device, torch):
    x = np.random.default_rng(10).standard_normal((2, 3, 4))
    assert_like_torch(torch, lambda a: a.swapaxes(0, -1) * 2, lambda a: a.swapaxes(0, -1) * 2, x)
    with pytest.raises(ValueError, match="swapaxes: axis 3 is out of range"):
        f64(x).swapaxes(3, 0)


def test_matmul_dtypes_follow_numpy_and_zero_d_operands_are_refused(device, torch):
    i0, j0 = np.array([[1, 2], [3, 4]]), np.array([[5, -1], [0, 2]])
    y = ag.tensor(i0) @ ag.tensor(j0)
    assert y.dtype == ag.int64 and not y.requires_grad
    np.testing.assert_array_equal(y.numpy(), i0 @ j0)
    assert (ag.ones(2, 2) @ ag.ones(2, 2, dtype=ag.float64)).dtype == ag.float64
    with pytest.raises(RuntimeError, match="at least 1D"):
        torch.tensor(2.0) @ torch.ones(3)
    with pytest.raises(ValueError, match=r"^matmul: operands need at least one dimension, got shapes \(\) and \(3,\)$"):
        ag.tensor(2.0) @ ag.ones(3)


def test_bool_matmul_is_refused_on_every_backend_as_torch(device, torch):
    """NumPy alone took it (an or of ands); the strict backend raised its own error."""
    with pytest.raises(RuntimeError):
        torch.ones(2, 2, dtype=torch.bool) @ torch.ones(2, 2, dtype=torch.bool)
    with pytest.raises(TypeError, match="bool tensors have no matrix product"):
        ag.ones(2, 2, dtype=ag.bool) @ ag.ones(2, 2, dtype=ag.bool)
    with pytest.raises(TypeError, match="bool tensors have no matrix product"):
        ag.ones(2, dtype=ag.bool) @ ag.ones(2, dtype=ag.bool)


@pytest.mark.parametrize("spec, shapes", [
    (" i j , j k -> i k ", [(2, 3), (3, 4)]), ("IJ,JK", [(2, 3), (3, 4)]), ("zA,Ab", [(2, 3), (3, 4)]),
    ("aB", [(2, 3)]), ("ij,jk,kl,lm->mi", [(2, 3), (3, 4), (4, 2), (2, 3)]), ("iij->j", [(2, 2, 3)]),
    ("...ij->ij", [(3, 2, 2)]), ("...ij,...jk->...ik", [(3, 4), (5, 1, 4, 2)]), ("ij,j->i", [(2, 3), (1,)]),
    ("...,i->...", [(2, 3), (0,)]), ("i,->i", [(3,), ()]),
], ids=str)
def test_einsum_forms_match_pytorch_to_second_order(device, torch, spec, shapes):
    rng = np.random.default_rng(10)
    assert_like_torch(torch, lambda *xs: ag.einsum(spec, *xs), lambda *xs: torch.einsum(spec, *xs),
                      *(rng.standard_normal(s) for s in shapes))


def test_einsum_of_one_tensor_many_times_matches_pytorch_to_second_order(device, torch):
    x0 = np.random.default_rng(11).standard_normal((3, 3))
    assert_like_torch(torch, lambda x: ag.einsum("ii,ii->", x, x), lambda x: torch.einsum("ii,ii->", x, x), x0)
    assert_like_torch(torch, lambda x: ag.einsum("ij,jk,kl->il", x, x, x),
                      lambda x: torch.einsum("ij,jk,kl->il", x, x, x), x0)


_check = functools.partial(check_grads, tolerances={"float64": (1e-9, 1e-11), "float32": (1e-4, 1e-5)})
_rng = np.random.default_rng(5)


# --- einsum: the letters for '...' ------------------------------------------------------------
def test_einsum_ellipsis_beside_every_capital_letter_matches_torch(torch):
    # The ellipsis's axes took spare letters from A-Z only, so with all 26 written there
    # were none left and a valid call was refused as a shape mismatch.
    subscripts = "...ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    values = _rng.standard_normal((2, 3) + (1,) * 25 + (2,))
    for spec in (subscripts, subscripts + "->..."):
        x, tx = leaf_pair(torch, values)
        y, ty = ag.einsum(spec, x), torch.einsum(spec, tx)
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12)
        cotangent = _rng.standard_normal(y.shape)
        y.backward(ag.tensor(cotangent))
        ty.backward(torch.tensor(cotangent))
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_einsum_with_more_axes_than_letters_says_so():
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY"  # 51, and '...' covers two more
    with pytest.raises(ValueError, match=r"needs 53 distinct subscripts \(with the 2 axes under '...'\), more than "
                                         "the 52 letters"):
        ag.einsum(letters + "...", ag.ones(*(1,) * 53))


# --- matrix_transpose and Tensor.mT (the Array API's; PyTorch's .mT) ---
def test_mT_transposes_each_matrix_as_a_view_with_torch_gradients(device, torch):
    values = _rng.standard_normal((2, 3, 4))
    _check(torch, lambda x: x.mT * 2, lambda x: x.mT * 2, values, "float64", second_order=False)  # (linear)
    x = ag.tensor(values)
    np.testing.assert_array_equal(ag.linalg.matrix_transpose(x).numpy(), np.swapaxes(values, -1, -2))
    x.mT[1, 0, 2] = 7.0  # a view: the change reaches x
    assert x.numpy()[1, 2, 0] == 7.0


def test_matrix_transpose_needs_two_axes(device):
    with pytest.raises(ValueError, match=r"^matrix_transpose: expects matrices .* got a tensor of shape \(3,\)"):
        ag.ones(3).mT
