"""ag.linalg.lu, lu_factor and lu_solve against torch.linalg's: values, LAPACK's pivots,
gradients to second order for square, wide and tall matrices, singular matrices, and the
errors. The op table (test_ops_table.py) runs gradcheck and gradgradcheck on every backend."""
import functools

import numpy as np
import pytest

import autograd as ag
from autograd.linalg import LinAlgError
from tests.autograd.torch_pairs import check_grads, leaf_pair

_check = functools.partial(check_grads, tolerances={"float64": (1e-9, 1e-11), "float32": (1e-4, 1e-5)})
_rng = np.random.default_rng(17)
SQUARE = _rng.standard_normal((2, 3, 4, 4))
WIDE = _rng.standard_normal((2, 3, 5))
TALL = _rng.standard_normal((2, 5, 3))
SINGULAR = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("values", [SQUARE, WIDE, TALL], ids=["square", "wide", "tall"])
def test_lu_matches_torch_to_second_order(device, torch, values, dtype):
    # lu was missing. P L U = A, with PyTorch's P, L and U (LAPACK's pivot choice) and its gradient.
    for part in ("L", "U"):
        _check(torch, lambda x: getattr(ag.linalg.lu(x), part), lambda x: getattr(torch.linalg.lu(x), part), values,
               dtype, second_order=dtype == "float64")
    # both at once: L's and U's gradients add up
    _check(torch, lambda x: (lambda r: r.L.sum(-1, keepdims=True) * r.U.sum(-2, keepdims=True))(ag.linalg.lu(x)),
           lambda x: (lambda r: r.L.sum(-1, keepdim=True) * r.U.sum(-2, keepdim=True))(torch.linalg.lu(x)), values,
           dtype, second_order=dtype == "float64")
    got, want = ag.linalg.lu(ag.tensor(values, dtype=dtype)), torch.linalg.lu(torch.tensor(values))
    np.testing.assert_array_equal(got.P.numpy(), want.P.numpy())
    assert type(got).__name__ == "LUResult" and got.P.dtype == dtype


@pytest.mark.parametrize("values", [SQUARE, WIDE, TALL], ids=["square", "wide", "tall"])
def test_lu_factor_matches_torch_with_lapacks_pivots(device, torch, values):
    _check(torch, lambda x: ag.linalg.lu_factor(x).LU, lambda x: torch.linalg.lu_factor(x).LU, values)
    got, want = ag.linalg.lu_factor(ag.tensor(values)), torch.linalg.lu_factor(torch.tensor(values))
    assert type(got).__name__ == "LUFactorResult" and got.pivots.dtype == ag.int32
    np.testing.assert_array_equal(got.pivots.numpy(), want.pivots.numpy())
    p, lower, upper = ag.linalg.lu(ag.tensor(values))
    assert not p.requires_grad
    np.testing.assert_allclose((p @ lower @ upper).numpy(), values, atol=1e-12)


def test_singular_matrices_factor_with_lu_and_are_refused_by_lu_factor_as_torch(device, torch):
    got, want = ag.linalg.lu(ag.tensor(SINGULAR)), torch.linalg.lu(torch.tensor(SINGULAR))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), atol=1e-15)
    with pytest.raises(LinAlgError, match=r"^lu_factor: a matrix here is singular: its U has a zero on its diagonal"):
        ag.linalg.lu_factor(ag.tensor(np.stack([np.eye(3), SINGULAR])))
    x = ag.tensor(SINGULAR, requires_grad=True)
    with pytest.raises(LinAlgError, match=r"^lu: the gradient needs U invertible \(A of full rank\)"):
        ag.linalg.lu(x).U.sum().backward()


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [False, True])
def test_lu_solve_matches_torch_with_gradients_to_lu_and_b(device, torch, left, adjoint):
    a = SQUARE[0]  # (3, 4, 4)
    lu, tlu = leaf_pair(torch, torch.linalg.lu_factor(torch.tensor(a)).LU.numpy())
    pivots = torch.linalg.lu_factor(torch.tensor(a)).pivots
    b_values = _rng.standard_normal((2, 1, 4, 2) if left else (2, 1, 2, 4))  # batch axes broadcast against LU's
    b, tb = leaf_pair(torch, b_values)
    x = ag.linalg.lu_solve(lu, ag.tensor(pivots.numpy()), b, left=left, adjoint=adjoint)
    tx = torch.linalg.lu_solve(tlu, pivots, tb, left=left, adjoint=adjoint)
    assert x.shape == tuple(tx.shape) == (2, 3) + b_values.shape[-2:]
    np.testing.assert_allclose(x.numpy(), tx.detach().numpy(), rtol=1e-10, atol=1e-12)
    op = np.swapaxes(a, -1, -2) if adjoint else a
    np.testing.assert_allclose((x.numpy() @ op) if not left else (op @ x.numpy()),
                               np.broadcast_to(b_values, x.shape), atol=1e-12)
    cotangent = _rng.standard_normal(x.shape)
    glu, gb = ag.grad(x, (lu, b), ag.tensor(cotangent), create_graph=True)
    tglu, tgb = torch.autograd.grad(tx, (tlu, tb), torch.tensor(cotangent), create_graph=True)
    np.testing.assert_allclose(glu.numpy(), tglu.detach().numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(gb.numpy(), tgb.detach().numpy(), rtol=1e-9, atol=1e-11)
    second, = ag.grad((glu * gb.sum()).sum(), lu)
    t_second, = torch.autograd.grad((tglu * tgb.sum()).sum(), tlu)
    np.testing.assert_allclose(second.numpy(), t_second.numpy(), rtol=1e-9, atol=1e-10)


def test_empty_shapes_match_torch(device, torch):
    for shape in [(2, 0, 3), (2, 3, 0), (0, 3, 3)]:
        got, want = ag.linalg.lu_factor(ag.zeros(*shape)), torch.linalg.lu_factor(torch.zeros(shape))
        assert (got.LU.shape, got.pivots.shape) == (tuple(want.LU.shape), tuple(want.pivots.shape))
        got, want = ag.linalg.lu(ag.zeros(*shape)), torch.linalg.lu(torch.zeros(shape))
        assert [g.shape for g in got] == [tuple(w.shape) for w in want]


def test_the_lu_functions_name_their_bad_arguments(device):
    with pytest.raises(ValueError, match=r"^lu: pivot=False \(LU without row exchanges\) is not supported"):
        ag.linalg.lu(ag.eye(3), pivot=False)
    with pytest.raises(ValueError, match=r"^lu_factor: pivot=False"):
        ag.linalg.lu_factor(ag.eye(3), pivot=False)
    with pytest.raises(ValueError, match=r"^lu: expects matrices in the last two axes"):
        ag.linalg.lu(ag.ones(3))
    lu, pivots = ag.linalg.lu_factor(ag.tensor(SQUARE[0, 0]))
    with pytest.raises(ValueError, match=r"^lu_solve: expects square matrices"):
        ag.linalg.lu_solve(ag.ones(3, 4), pivots, ag.ones(3, 1))
    with pytest.raises(TypeError, match=r"^lu_solve: pivots must be an integer tensor"):
        ag.linalg.lu_solve(lu, pivots.astype(ag.float64), ag.ones(4, 1))
    with pytest.raises(ValueError, match=r"^lu_solve: pivots of shape \(3,\) do not match LU of shape \(4, 4\)"):
        ag.linalg.lu_solve(lu, pivots[:3], ag.ones(4, 1))
    with pytest.raises(ValueError, match=r"^lu_solve: pivots must lie in 1\.\.4"):
        ag.linalg.lu_solve(lu, pivots * 0, ag.ones(4, 1))
    with pytest.raises(ValueError, match=r"^lu_solve: B of shape \(4,\) must hold n x k matrices"):
        ag.linalg.lu_solve(lu, pivots, ag.ones(4))
    with pytest.raises(ValueError, match=r"^lu_solve: B of shape \(4, 1\) must hold k x n \(left=False\) matrices"):
        ag.linalg.lu_solve(lu, pivots, ag.ones(4, 1), left=False)
    with pytest.raises(ValueError, match=r"^lu_solve: the batch dimensions of LU \(2, 4, 4\) and B \(3, 4, 1\) do "
                                         r"not broadcast$"):
        ag.linalg.lu_solve(ag.stack([lu, lu]), ag.stack([pivots, pivots]), ag.ones(3, 4, 1))
    with pytest.raises(TypeError, match=r"^lu_solve: adjoint must be True or False, not 1"):
        ag.linalg.lu_solve(lu, pivots, ag.ones(4, 1), adjoint=1)
    with pytest.raises(LinAlgError, match=r"^lu_solve: the matrix is singular"):
        ag.linalg.lu_solve(ag.zeros(4, 4), pivots, ag.ones(4, 1))


def test_the_lu_functions_run_on_a_cupy_13_shaped_namespace():
    # (the kernel is standard array calls, which the CuPy backend's adapter must supply; no GPU here)
    from tests.backends.test_cupy_contract import CupyShapedBackend
    for fn in [lambda x: ag.linalg.lu(x).L * ag.linalg.lu(x).U, lambda x: ag.linalg.lu_factor(x).LU,
               lambda x: ag.linalg.lu_solve(*ag.linalg.lu_factor(x), x, left=False, adjoint=True)]:
        x = ag.tensor(SQUARE[0], device=CupyShapedBackend(), requires_grad=True)
        want = ag.tensor(SQUARE[0], device="cpu", requires_grad=True)
        got, expected = fn(x), fn(want)
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
        got.sum().backward()
        expected.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), want.grad.numpy(), rtol=1e-12, atol=1e-12)
