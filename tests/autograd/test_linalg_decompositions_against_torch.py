"""ag.linalg's inverses, solves and decompositions against torch.linalg (and NumPy):
batched inputs with second derivatives, losses that do not depend on the signs of
eigenvectors and singular vectors, singular and non-square inputs, the gradient of
det at singular matrices, repeated eigenvalues, full_matrices and the QR modes, and
the dtype rules. The op table (test_ops_table.py) covers the smooth cases on every
backend with gradcheck and gradgradcheck."""
import functools
import math
import types

import numpy as np
import pytest

import autograd as ag
from autograd.linalg import LinAlgError
from tests.autograd.torch_pairs import check_grads, leaf_pair

_pair = leaf_pair
_check = functools.partial(check_grads, tolerances={"float64": (1e-9, 1e-11), "float32": (1e-4, 1e-5)})


_rng = np.random.default_rng(11)
GENERAL = _rng.standard_normal((2, 2, 3, 3)) + 3 * np.eye(3)  # two batch axes, far from singular
_a = _rng.standard_normal((2, 2, 3, 3))
SPD = _a @ np.swapaxes(_a, -1, -2) + 3 * np.eye(3)
_q = np.linalg.qr(_rng.standard_normal((2, 2, 3, 3)))[0]
SYMMETRIC = (_q * np.array([-1.0, 0.5, 2.0])[..., None, :]) @ np.swapaxes(_q, -1, -2)
TALL = _rng.standard_normal((2, 2, 5, 3))
WIDE = _rng.standard_normal((2, 3, 4))


def _sym(x):
    return (x + ag.swapaxes(x, -1, -2)) / 2


def _tsym(x):
    return (x + x.mT) / 2


# --- batched values, gradients and second derivatives ----------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, fn, tfn, values", [
    ("inv", ag.linalg.inv, lambda t: t.linalg.inv, GENERAL),
    ("det", ag.linalg.det, lambda t: t.linalg.det, GENERAL),
    ("slogdet", lambda x: ag.linalg.slogdet(x).logabsdet, lambda t: lambda x: t.linalg.slogdet(x).logabsdet, GENERAL),
    ("solve", lambda x: ag.linalg.solve(x, ag.swapaxes(x, -1, -2)[..., :2] * 2 + 1),
     lambda t: lambda x: t.linalg.solve(x, x.mT[..., :2] * 2 + 1), GENERAL),
    ("cholesky", lambda x: ag.linalg.cholesky(_sym(x)), lambda t: lambda x: t.linalg.cholesky(_tsym(x)), SPD),
    ("cholesky-upper", lambda x: ag.linalg.cholesky(_sym(x), upper=True),
     lambda t: lambda x: t.linalg.cholesky(_tsym(x), upper=True), SPD),
    ("eigvalsh", lambda x: ag.linalg.eigvalsh(_sym(x)), lambda t: lambda x: t.linalg.eigvalsh(_tsym(x)), SYMMETRIC),
    # entries v_ik v_0k of the projectors onto the first two eigenvectors: each vector's sign,
    # which LAPACK and cuSOLVER choose differently, cancels
    ("eigh-projectors", lambda x: (lambda r: r.eigenvectors[..., :2] * r.eigenvectors[..., :1, :2])(ag.linalg.eigh(_sym(x))),
     lambda t: lambda x: (lambda r: r.eigenvectors[..., :2] * r.eigenvectors[..., :1, :2])(t.linalg.eigh(_tsym(x))),
     SYMMETRIC),
    ("svd-rebuilt", lambda x: (lambda r: (r.U * ag.expand_dims(r.S, -2)) @ r.Vh)(ag.linalg.svd(x)),
     lambda t: lambda x: (lambda r: (r.U * r.S.unsqueeze(-2)) @ r.Vh)(t.linalg.svd(x, full_matrices=False)), TALL),
    ("svd-vectors", lambda x: (lambda r: r.U[..., :2, :] * ag.expand_dims(r.Vh[..., 0], -2))(ag.linalg.svd(x)),
     lambda t: lambda x: (lambda r: r.U[..., :2, :] * r.Vh[..., 0].unsqueeze(-2))(
         t.linalg.svd(x, full_matrices=False)), TALL),
    ("svdvals-wide", ag.linalg.svdvals, lambda t: t.linalg.svdvals, WIDE),
    ("qr-tall", lambda x: ag.linalg.qr(x).Q * 2 + ag.linalg.qr(x).R.sum(), lambda t: lambda x: t.linalg.qr(x).Q * 2 +
     t.linalg.qr(x).R.sum(), TALL),
    ("qr-wide", lambda x: ag.linalg.qr(x).R, lambda t: lambda x: t.linalg.qr(x).R, WIDE),
    ("pinv", ag.linalg.pinv, lambda t: t.linalg.pinv, TALL),
    ("matrix_power", lambda x: ag.linalg.matrix_power(x, -3), lambda t: lambda x: t.linalg.matrix_power(x, -3),
     GENERAL),
])
def test_batched_values_and_gradients_match_torch(device, torch, name, fn, tfn, values, dtype):
    if dtype == "float32" and name == "eigh-projectors":
        values = values + np.diag([0.0, 0.0, 1.0])  # (float32 vectors wobble with gaps of 1.5; widen them)
    _check(torch, fn, tfn(torch), values, dtype, second_order=dtype == "float64")


def test_decompositions_rebuild_their_input(device):
    x = ag.tensor(TALL)
    q, r = ag.linalg.qr(x)
    np.testing.assert_allclose((q @ r).numpy(), TALL, atol=1e-12)
    np.testing.assert_allclose(np.tril(r.numpy(), -1), 0)
    u, s, vh = ag.linalg.svd(x)
    assert (u.shape, s.shape, vh.shape) == ((2, 2, 5, 3), (2, 2, 3), (2, 2, 3, 3))
    np.testing.assert_allclose(((u * ag.expand_dims(s, -2)) @ vh).numpy(), TALL, atol=1e-12)
    w, v = ag.linalg.eigh(ag.tensor(SYMMETRIC))
    np.testing.assert_allclose(w.numpy(), np.broadcast_to([-1.0, 0.5, 2.0], (2, 2, 3)), atol=1e-12)
    lower = ag.linalg.cholesky(ag.tensor(SPD))
    np.testing.assert_allclose((lower @ ag.swapaxes(lower, -1, -2)).numpy(), SPD, atol=1e-12)
    assert type(ag.linalg.eigh(ag.tensor(SYMMETRIC))).__name__ == "EighResult"


# --- singular inputs ---------------------------------------------------------------------------
SINGULAR = [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]]  # rank 2
RANK_ONE = [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [3.0, 6.0, 9.0]]


# Singular in any arithmetic: SINGULAR's elimination reaches an exact zero pivot with
# NumPy's LAPACK, but cuBLAS's batched LU (fused multiply-adds) can leave one of rounding size
ZERO_ROW = [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [1.0, 0.0, 1.0]]


def test_inv_and_solve_of_a_singular_matrix_raise(device):
    batch = ag.tensor(np.stack([np.eye(3), ZERO_ROW]))
    with pytest.raises(LinAlgError, match=r"^inv: the matrix is singular"):
        ag.linalg.inv(batch)
    with pytest.raises(LinAlgError, match=r"^solve: the matrix is singular"):
        ag.linalg.solve(batch, ag.ones(3))
    with pytest.raises(ValueError, match="inv: the matrix is singular"):  # a LinAlgError is a ValueError, as NumPy's
        ag.linalg.inv(ag.zeros(2, 2))
    with pytest.raises(LinAlgError, match=r"^cholesky: the matrix is not positive definite"):
        ag.linalg.cholesky(ag.tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(LinAlgError, match=r"^matrix_power: |^inv: the matrix is singular"):
        ag.linalg.matrix_power(ag.tensor(ZERO_ROW), -1)


def test_det_of_a_singular_matrix_has_the_cofactor_gradient_of_torch_under_create_graph(device, torch):
    # Rank n - 1: the transposed adjugate. PyTorch's create_graph gradient (its SVD path)
    # gives it too; its first-order gradient is 0 there (it multiplies by det = 0).
    for values, rank_deficit in [(SINGULAR, 1), (RANK_ONE, 2), (np.diag([1.0, 2.0, 0.0]), 1)]:
        x, tx = _pair(torch, values)
        d = ag.linalg.det(x)
        assert d.item() == pytest.approx(0, abs=1e-12)
        gx, = ag.grad(d, x)
        tgx, = torch.autograd.grad(torch.linalg.det(tx), tx, create_graph=True)
        np.testing.assert_allclose(gx.numpy(), tgx.detach().numpy(), atol=1e-12)
        if rank_deficit > 1:
            np.testing.assert_allclose(gx.numpy(), 0, atol=1e-12)
    x = ag.tensor(np.diag([1.0, 2.0, 0.0]), requires_grad=True)
    ag.linalg.det(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), np.diag([0.0, 0.0, 2.0]), atol=1e-12)


def test_det_of_a_batch_mixing_singular_and_invertible_matrices(device, torch):
    values = np.stack([SINGULAR, GENERAL[0, 0]])
    x, tx = _pair(torch, values)
    ag.linalg.det(x).sum().backward()
    tgx, = torch.autograd.grad(torch.linalg.det(tx).sum(), tx, create_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), tgx.detach().numpy(), rtol=1e-10, atol=1e-12)


def _det_second_order(x, v):
    """The gradient of <grad det(x), v>, x's leaf taking both."""
    g, = ag.grad(ag.linalg.det(x).sum(), x, create_graph=True)
    return ag.grad((g * ag.tensor(v)).sum(), x)[0]


def test_det_second_order_of_a_batch_mixing_singular_and_invertible_matrices_as_torch(device, torch):
    # Each matrix takes its own route (the cofactors from the SVD where it is singular to working
    # precision, det A^-T elsewhere), as PyTorch's: through the SVD, 2I and an orthogonal matrix
    # (repeated singular values) had NaN or wrong second derivatives, and the inverse of a
    # nearly singular one (singular values 1, 0.5, 1e-15) lost them to cancellation.
    rng = np.random.default_rng(4)
    u, w = np.linalg.qr(rng.standard_normal((2, 3, 3)))[0]
    values = np.stack([SINGULAR, 2 * np.eye(3), u, u @ np.diag([1.0, 0.5, 1e-15]) @ w.T, GENERAL[0, 0]])
    v = rng.standard_normal(values.shape)
    x, tx = _pair(torch, values)
    tg, = torch.autograd.grad(torch.linalg.det(tx).sum(), tx, create_graph=True)
    want, = torch.autograd.grad((tg * torch.tensor(v)).sum(), tx)
    np.testing.assert_allclose(_det_second_order(x, v).numpy(), want.numpy(), rtol=1e-9, atol=1e-12)


def test_det_second_order_of_a_small_scaled_identity_is_exact(device):
    # det(cI) is singular to no precision (PyTorch's |det| < 100 eps sends 1e-3 I, 6 x 6, to its
    # SVD route, whose repeated singular values make it NaN): the second derivative along V is
    # c^(n-2) (tr(V) I - V^T).
    n, c = 6, 1e-3
    v = np.random.default_rng(5).standard_normal((n, n))
    x = ag.tensor(c * np.eye(n), requires_grad=True)
    np.testing.assert_allclose(_det_second_order(x, v).numpy(), c ** (n - 2) * (np.trace(v) * np.eye(n) - v.T),
                               rtol=1e-12, atol=1e-25)


def test_slogdet_of_a_singular_matrix_and_its_sign(device, torch):
    sign, logabsdet = ag.linalg.slogdet(ag.tensor([[1.0, 2.0], [2.0, 4.0]]))
    assert sign.item() == 0 and logabsdet.item() == -np.inf
    x, tx = _pair(torch, GENERAL[0])
    result, want = ag.linalg.slogdet(x), torch.linalg.slogdet(tx)
    np.testing.assert_array_equal(result.sign.numpy(), want.sign.detach().numpy())
    assert not result.sign.requires_grad and result.logabsdet.requires_grad
    singular = ag.tensor([[1.0, 2.0], [2.0, 4.0]], requires_grad=True)
    with pytest.raises(LinAlgError, match="slogdet: the gradient of logabsdet at a singular matrix"):
        ag.linalg.slogdet(singular).logabsdet.backward()


def test_matrix_rank_matches_torch_and_takes_no_gradient(device, torch):
    values = np.stack([np.eye(3), SINGULAR, RANK_ONE, np.zeros((3, 3))])
    x = ag.tensor(values, requires_grad=True)
    rank = ag.linalg.matrix_rank(x)
    assert rank.dtype == ag.int64 and not rank.requires_grad
    np.testing.assert_array_equal(rank.numpy(), torch.linalg.matrix_rank(torch.tensor(values)).numpy())
    np.testing.assert_array_equal(ag.linalg.matrix_rank(ag.tensor(TALL)).numpy(), np.full((2, 2), 3))
    assert ag.linalg.matrix_rank(ag.tensor(np.diag([1.0, 1e-3])), rtol=1e-2).item() == 1
    assert ag.linalg.matrix_rank(ag.zeros(0, 3)).item() == 0


def test_matrix_rank_with_a_tensor_rtol_broadcasts_as_torch_and_names_shapes_that_do_not(device, torch):
    values = np.random.default_rng(0).standard_normal((2, 4, 3))  # singular values 2.2, 0.93, 0.33 in the first
    x = ag.tensor(values, device=device)
    got = ag.linalg.matrix_rank(x, rtol=ag.tensor([0.5, 0.0], device=device))
    want = torch.linalg.matrix_rank(torch.tensor(values), rtol=torch.tensor([0.5, 0.0], dtype=torch.float64))
    np.testing.assert_array_equal(got.numpy(), want.numpy())  # [1, 3]
    got = ag.linalg.matrix_rank(x, rtol=ag.tensor([[0.5], [0.0]], device=device))  # (PyTorch's warns here)
    np.testing.assert_array_equal(got.numpy(), [[1, 1], [3, 3]])
    with pytest.raises(ValueError, match=r"^matrix_rank: rtol of shape \(3,\) \(one per matrix\) does not broadcast "
                                         r"against the batch axes of x, of shape \(2, 4, 3\)"):
        ag.linalg.matrix_rank(x, rtol=ag.tensor([0.1, 0.2, 0.3], device=device))  # (NumPy's error, naming neither)


def test_matrix_rank_takes_atol_and_torchs_default_rtol_rule(device, torch):
    # matrix_rank took rtol alone (the Array API's): no atol, no hermitian, as torch.linalg.matrix_rank has
    values = np.stack([np.diag([1.0, 1e-3, 1e-9]), np.diag([2.0, 1e-5, 0.0])])
    x, t = ag.tensor(values), torch.tensor(values)
    for kwargs in [{}, {"atol": 1e-4}, {"atol": 0.0}, {"atol": 1e-12, "rtol": 1e-2}, {"rtol": 1e-12},
                   {"atol": 1e-2, "rtol": 1e-6}]:
        np.testing.assert_array_equal(ag.linalg.matrix_rank(x, **kwargs).numpy(),
                                      torch.linalg.matrix_rank(t, **kwargs).numpy(), err_msg=str(kwargs))
    # a tensor atol: one per matrix, broadcast over the batch, and rtol 0 only where that atol is above 0
    got = ag.linalg.matrix_rank(x, atol=ag.tensor([0.0, 1e-4], device=device))
    want = torch.linalg.matrix_rank(t, atol=torch.tensor([0.0, 1e-4], dtype=torch.float64))
    np.testing.assert_array_equal(got.numpy(), want.numpy())  # [3, 1]
    got = ag.linalg.matrix_rank(x, atol=ag.tensor([[0.0], [1e-4]], device=device))  # (PyTorch's warns here)
    np.testing.assert_array_equal(got.numpy(), [[3, 2], [2, 1]])
    # float32: atol 0 given as a tensor keeps the default rtol (3 eps), which counts 1e-9 as 0
    single = np.diag([1.0, 1e-3, 1e-9]).astype(np.float32)
    assert ag.linalg.matrix_rank(ag.tensor(single), atol=ag.tensor(0.0, dtype=ag.float32)).item() == \
        torch.linalg.matrix_rank(torch.tensor(single), atol=torch.tensor(0.0)).item() == 2
    with pytest.raises(TypeError, match=r"takes 1 positional argument"):
        ag.linalg.matrix_rank(x, 1e-2)  # (keyword-only, as PyTorch's and the Array API's)


def test_matrix_rank_hermitian_reads_the_lower_triangle_and_counts_absolute_eigenvalues(device, torch):
    values = np.diag([-2.0, 1e-3, 0.0])
    values[2, 0] = 5.0  # read (the lower triangle), making the matrix of rank 3
    for matrix in (values, values.T.copy()):
        for kwargs in [{}, {"atol": 1e-2}, {"rtol": 1e-2}]:
            got = ag.linalg.matrix_rank(ag.tensor(matrix), hermitian=True, **kwargs)
            want = torch.linalg.matrix_rank(torch.tensor(matrix), hermitian=True, **kwargs)
            assert got.item() == want.item(), kwargs
    assert ag.linalg.matrix_rank(ag.zeros(3, 0, 0), hermitian=True).shape == (3,)
    with pytest.raises(ValueError, match=r"^matrix_rank: expects square matrices"):
        ag.linalg.matrix_rank(ag.ones(2, 3), hermitian=True)
    with pytest.raises(TypeError, match=r"^matrix_rank: hermitian must be True or False, not 1"):
        ag.linalg.matrix_rank(ag.eye(2), hermitian=1)


@pytest.mark.parametrize("op", ["matrix_rank", "pinv"])
def test_matrix_rank_and_pinv_check_a_number_rtol_alike(op):
    # matrix_rank took a list into NumPy ("can't multiply sequence"), NaN as a rank of 0 and True as 1.
    x = ag.eye(3)
    for bad in ([0.1], "a", True):
        with pytest.raises(TypeError, match=rf"^{op}: rtol must be a real number or a tensor, not "):
            getattr(ag.linalg, op)(x, rtol=bad)
    for bad in (-1.0, math.nan):
        with pytest.raises(ValueError, match=rf"^{op}: rtol must be at least 0, got "):
            getattr(ag.linalg, op)(x, rtol=bad)


def test_pinv_of_a_rank_deficient_matrix_matches_torch(device, torch):
    values = np.array([[1.0, 2.0], [2.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(ag.linalg.pinv(ag.tensor(values)).numpy(),
                               torch.linalg.pinv(torch.tensor(values)).numpy(), atol=1e-12)
    assert ag.linalg.pinv(ag.zeros(0, 3)).shape == (3, 0)


@pytest.mark.parametrize("rtol", [[0.5, 0.0], 0.5, [[0.5], [0.0]]], ids=["per-matrix", "0-d", "broadcast"])
def test_pinv_takes_a_tensor_rtol_per_matrix_as_the_array_api_and_torch(torch, rtol):
    # It was refused (TypeError), where the Array API and PyTorch take one per matrix; rtol
    # 0.5 cuts the smaller singular values of the first matrix (0.93 and 0.33 of 2.2).
    values = np.random.default_rng(0).standard_normal((2, 4, 3))
    x, tx = leaf_pair(torch, values)
    got = ag.linalg.pinv(x, rtol=ag.tensor(np.array(rtol)))
    want = torch.linalg.pinv(tx, rtol=torch.tensor(rtol, dtype=torch.float64))
    assert got.shape == tuple(want.shape)
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)
    cotangent = np.random.default_rng(1).standard_normal(got.shape)
    got.backward(ag.tensor(cotangent))
    want.backward(torch.tensor(cotangent))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-11)
    with pytest.raises(ValueError, match=r"^pinv: rtol of shape \(3,\) \(one per matrix\) does not broadcast"):
        ag.linalg.pinv(x, rtol=ag.tensor([0.1, 0.2, 0.3]))


# eigenvalues -2, 0.05, 0.5 and 3 (singular values 3, 2, 0.5 and 0.05), so that the cuts below fall between them
_q4 = np.linalg.qr(_rng.standard_normal((3, 4, 4)))[0]
SYMMETRIC_SPREAD = (_q4 * np.array([-2.0, 0.05, 0.5, 3.0])) @ np.swapaxes(_q4, -1, -2)


@pytest.mark.parametrize("hermitian", [False, True])
@pytest.mark.parametrize("tolerances", [{}, {"atol": 0.1}, {"atol": 0.6}, {"atol": 0.0}, {"rtol": 0.1},
                                        {"atol": 0.1, "rtol": 0.2}, {"atol": 0.6, "rtol": 0.0}],
                         ids=["defaults", "atol", "atol-cuts-two", "atol=0", "rtol", "both", "atol-rtol=0"])
def test_pinv_takes_torchs_atol_and_hermitian(device, torch, tolerances, hermitian):
    # atol and hermitian were not taken (TypeError). PyTorch cuts singular values at most
    # max(atol, rtol * largest), with rtol 0 where only atol > 0 is given; hermitian goes
    # through eigh (absolute eigenvalues), and the gradient is the same formula's. (Symmetric
    # changes only, with hermitian: PyTorch's gradient is taken at the input as given, ours at
    # the symmetric matrix read; they differ off symmetric matrices, at the second order too.)
    symmetric, t_symmetric = (_sym, _tsym) if hermitian else (lambda x: x, lambda x: x)
    _check(torch, lambda x: ag.linalg.pinv(symmetric(x), hermitian=hermitian, **tolerances),
           lambda x: torch.linalg.pinv(t_symmetric(x), hermitian=hermitian, **tolerances), SYMMETRIC_SPREAD)


def test_pinv_takes_tensor_tolerances_per_matrix_as_torch(device, torch):
    x, tx = _pair(torch, SYMMETRIC_SPREAD)
    atol = np.array([0.0, 0.6, 0.1])
    for kwargs, tkwargs in [
            ({"atol": ag.tensor(atol)}, {"atol": torch.tensor(atol)}),  # rtol: the default where atol is 0, else 0
            ({"atol": ag.tensor(atol), "rtol": ag.tensor([0.5, 0.0, 0.0])},
             {"atol": torch.tensor(atol), "rtol": torch.tensor([0.5, 0.0, 0.0])}),
            ({"atol": 0.1, "rtol": ag.tensor([[0.5], [0.0]])},  # (PyTorch takes two tensors or two floats)
             {"atol": torch.tensor(0.1), "rtol": torch.tensor([[0.5], [0.0]])})]:
        got, want = ag.linalg.pinv(x, **kwargs), torch.linalg.pinv(tx, **tkwargs)
        assert got.shape == tuple(want.shape)
        np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match=r"^pinv: atol of shape \(2,\) \(one per matrix\) does not broadcast"):
        ag.linalg.pinv(x, atol=ag.tensor([0.1, 0.2]))


def test_pinv_hermitian_reads_the_lower_triangle(device, torch):
    lower_read = np.tril(SYMMETRIC_SPREAD) + np.triu(np.full(SYMMETRIC_SPREAD.shape, 9.0), 1)
    got = ag.linalg.pinv(ag.tensor(lower_read), hermitian=True)
    np.testing.assert_allclose(got.numpy(), np.linalg.pinv(SYMMETRIC_SPREAD), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.numpy(), torch.linalg.pinv(torch.tensor(lower_read), hermitian=True).numpy(),
                               rtol=1e-10, atol=1e-12)


def test_pinv_names_bad_atol_and_hermitian():
    for bad in ([0.1], "a", True):
        with pytest.raises(TypeError, match=r"^pinv: atol must be a real number or a tensor, not "):
            ag.linalg.pinv(ag.eye(3), atol=bad)
    with pytest.raises(ValueError, match=r"^pinv: atol must be at least 0, got -1.0"):
        ag.linalg.pinv(ag.eye(3), atol=-1.0)
    with pytest.raises(TypeError, match=r"^pinv: hermitian must be True or False, not 1"):
        ag.linalg.pinv(ag.eye(3), hermitian=1)
    with pytest.raises(ValueError, match=r"^pinv: expects square matrices .* shape \(2, 3\)"):
        ag.linalg.pinv(ag.ones(2, 3), hermitian=True)


# --- shapes and arguments ------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["inv", "det", "slogdet", "cholesky", "eigh", "eigvalsh"])
def test_square_only_functions_refuse_non_square_input(device, op):
    with pytest.raises(ValueError, match=rf"^{op}: expects square matrices in the last two axes, got a tensor of "
                                         r"shape \(2, 3\)$"):
        getattr(ag.linalg, op)(ag.ones(2, 3))
    with pytest.raises(ValueError, match=rf"^{op}: expects square matrices"):
        getattr(ag.linalg, op)(ag.ones(3))


@pytest.mark.parametrize("op", ["qr", "svd", "svdvals", "pinv", "matrix_rank"])
def test_matrix_functions_refuse_vectors(device, op):
    with pytest.raises(ValueError, match=rf"^{op}: expects matrices in the last two axes"):
        getattr(ag.linalg, op)(ag.ones(3))


def test_solve_follows_numpy_2_for_the_shape_of_b(device, torch):
    a = GENERAL[0]  # (2, 3, 3)
    vector = np.array([1.0, -2.0, 0.5])
    got = ag.linalg.solve(ag.tensor(a), ag.tensor(vector))
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got.numpy(), np.linalg.solve(a, vector), rtol=1e-12)
    stack = _rng.standard_normal((4, 1, 3, 2))  # matrices, batch axes broadcast against a's
    got = ag.linalg.solve(ag.tensor(a), ag.tensor(stack))
    assert got.shape == (4, 2, 3, 2)
    np.testing.assert_allclose(got.numpy(), np.linalg.solve(a, stack), rtol=1e-12)
    with pytest.raises(ValueError, match=r"pass b\[\.\.\., None\] and take \[\.\.\., 0\]"):
        ag.linalg.solve(ag.tensor(a), ag.ones(2, 3))  # NumPy 1 and PyTorch took it as two vectors
    with pytest.raises(ValueError, match=r"^solve: b of shape \(4,\) does not match"):
        ag.linalg.solve(ag.tensor(a), ag.ones(4))
    with pytest.raises(ValueError, match=r"^solve: the batch dimensions of a \(2, 3, 3\) and b \(3, 3, 1\)"):
        ag.linalg.solve(ag.tensor(a), ag.ones(3, 3, 1))
    with pytest.raises(ValueError, match="0-d"):
        ag.linalg.solve(ag.tensor(a), ag.tensor(1.0))


def test_solve_gradients_reach_a_broadcast_b_and_a_vector(device, torch):
    a, ta = _pair(torch, GENERAL[0, 0])
    b, tb = _pair(torch, [1.0, 2.0, 3.0])
    (ag.linalg.solve(a, b) ** 2).sum().backward()
    (torch.linalg.solve(ta, tb) ** 2).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-10)


def test_solve_left_false_solves_x_a_equals_b_as_torch(device, torch):
    # left=False was not taken (TypeError); PyTorch solves X A = B with it.
    a, ta = _pair(torch, GENERAL[0])  # (2, 3, 3)
    values = _rng.standard_normal((4, 1, 2, 3))  # k x n matrices whose batch axes broadcast against a's
    b, tb = _pair(torch, values)
    x, tx = ag.linalg.solve(a, b, left=False), torch.linalg.solve(ta, tb, left=False)
    assert x.shape == tuple(tx.shape) == (4, 2, 2, 3)
    np.testing.assert_allclose(x.numpy(), tx.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose((x @ a).numpy(), np.broadcast_to(values, (4, 2, 2, 3)), atol=1e-12)
    cotangent = ag.tensor(_rng.standard_normal(x.shape))
    ga, gb = ag.grad(x, (a, b), cotangent, create_graph=True)
    tga, tgb = torch.autograd.grad(tx, (ta, tb), torch.tensor(cotangent.numpy()), create_graph=True)
    np.testing.assert_allclose(ga.numpy(), tga.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gb.numpy(), tgb.detach().numpy(), rtol=1e-10, atol=1e-12)
    gga, = ag.grad((ga * gb.sum()).sum(), a)
    tgga, = torch.autograd.grad((tga * tgb.sum()).sum(), ta)
    np.testing.assert_allclose(gga.numpy(), tgga.numpy(), rtol=1e-10, atol=1e-12)
    assert ag.gradgradcheck(lambda a, b: ag.linalg.solve(a, b, left=False),
                            (ag.tensor(GENERAL[0, 0], requires_grad=True), ag.tensor(values[0], requires_grad=True)))
    # A vector b is a row vector x with x a = b (PyTorch raises here).
    vector = np.array([1.0, -2.0, 0.5])
    got = ag.linalg.solve(ag.tensor(GENERAL[0]), ag.tensor(vector), left=False)
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got.numpy(), np.linalg.solve(np.swapaxes(GENERAL[0], -1, -2), vector), rtol=1e-12)
    with pytest.raises(ValueError, match=r"^solve: b of shape \(3, 2\) holds 3 x 2 matrices, which do not match a's "
                                         r"3 x 3 \(a has shape \(3, 3\)\); x @ a = b \(left=False\), k x n"):
        ag.linalg.solve(ag.tensor(GENERAL[0, 0]), ag.ones(3, 2), left=False)
    with pytest.raises(TypeError, match=r"^solve: left must be True .* or False .*, not 'no'"):
        ag.linalg.solve(ag.tensor(GENERAL[0, 0]), ag.ones(3, 2), left="no")


def test_qr_modes(device, torch):
    x, tx = _pair(torch, TALL[0, 0])
    with pytest.raises(ValueError, match=r"^qr: mode must be 'reduced', 'complete' or 'r', not 'R'$"):
        ag.linalg.qr(x, mode="R")
    q, r = ag.linalg.qr(x, mode="complete")
    assert q.shape == (5, 5) and r.shape == (5, 3)
    with pytest.raises(ValueError, match=r"^qr: the gradient of mode='complete' is not defined for matrices with "
                                         r"more rows than columns \(5 x 3\)"):
        q.sum().backward()
    # A wide matrix's complete QR is its reduced one, with a gradient.
    _check(torch, lambda x: (lambda r: r.Q.sum() * r.R)(ag.linalg.qr(x, mode="complete")),
           lambda x: (lambda r: r.Q.sum() * r.R)(torch.linalg.qr(x, mode="complete")), WIDE[0])


@pytest.mark.parametrize("values", [TALL, WIDE], ids=["tall", "wide"])
def test_qr_mode_r_gives_an_empty_q_and_refuses_a_gradient_as_torch(device, torch, values):
    # mode='r' was refused; PyTorch returns Q empty and R as in mode='reduced', and its backward raises.
    x, tx = _pair(torch, values)
    q, r = ag.linalg.qr(x, mode="r")
    tq, tr = torch.linalg.qr(tx, mode="r")
    assert q.shape == tuple(tq.shape) == (0,) and q.dtype == ag.float64
    assert r.shape == tuple(tr.shape)
    np.testing.assert_array_equal(r.numpy(), ag.linalg.qr(x).R.numpy())
    np.testing.assert_allclose(np.abs(r.numpy()), np.abs(tr.detach().numpy()), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match=r"^qr: the gradient of mode='r' is not defined: it needs Q.*"
                                         r"use mode='reduced'"):
        r.sum().backward()
    with pytest.raises(RuntimeError, match="mode='r'"):
        tr.sum().backward()


def test_svd_full_matrices(device, torch):
    x, tx = _pair(torch, TALL[0, 0])
    u, s, vh = ag.linalg.svd(x, full_matrices=True)
    tu, ts, tvh = torch.linalg.svd(tx, full_matrices=True)
    assert u.shape == (5, 5) and vh.shape == (3, 3)
    np.testing.assert_allclose(s.numpy(), ts.detach().numpy(), rtol=1e-12)
    # A loss that leaves the extra columns of U alone has PyTorch's gradient...
    (u[:, :3] @ vh).sum().backward()
    (tu[:, :3] @ tvh).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    # ...one that uses them has none (PyTorch silently ignores their gradient).
    with pytest.raises(ValueError, match=r"^svd: the gradient of full_matrices=True is not defined when the loss "
                                         r"depends on the last 2 singular vectors of U"):
        ag.linalg.svd(x, full_matrices=True).U.sum().backward()


def test_svd_full_matrices_of_a_square_matrix_has_a_gradient(device, torch):
    _check(torch, lambda x: (lambda r: r.U @ r.Vh)(ag.linalg.svd(x, full_matrices=True)),
           lambda x: (lambda r: r.U @ r.Vh)(torch.linalg.svd(x, full_matrices=True)), GENERAL[0, 0])


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_repeated_eigenvalues(device, torch):
    # The eigenvalues' gradient stays finite (and matches PyTorch's); the eigenvectors'
    # divides by the zero gap, as PyTorch's does.
    values = np.diag([1.0, 1.0, 3.0])
    x, tx = _pair(torch, values)
    ag.linalg.eigvalsh(x).sum().backward()
    torch.linalg.eigvalsh(tx).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), atol=1e-12)
    x = ag.tensor(values, requires_grad=True)
    (ag.linalg.eigh(x).eigenvectors * ag.tensor(np.arange(9.0).reshape(3, 3))).sum().backward()
    assert not np.isfinite(x.grad.numpy()).all()


# SYMMETRIC with other numbers below the diagonal (which UPLO='U' must not read), and above it
UPPER_READ = np.triu(SYMMETRIC) + np.tril(_rng.standard_normal(SYMMETRIC.shape), -1)
LOWER_READ = np.tril(SYMMETRIC) + np.triu(_rng.standard_normal(SYMMETRIC.shape), 1)


@pytest.mark.parametrize("uplo, values", [("U", UPPER_READ), ("u", UPPER_READ), ("L", LOWER_READ)])
def test_eigh_and_eigvalsh_read_the_triangle_uplo_names_as_torch(device, torch, uplo, values):
    # UPLO was not taken (TypeError); PyTorch reads the upper triangle with 'U' (either case),
    # and its gradient is the symmetric V (diag(gw) + ...) V^T whichever triangle was read.
    for name, fn, tfn in [
        ("eigvalsh", lambda x: ag.linalg.eigvalsh(x, UPLO=uplo), lambda x: torch.linalg.eigvalsh(x, UPLO=uplo)),
        ("eigh", lambda x: (lambda r: (r.eigenvectors[..., :2] * r.eigenvectors[..., :1, :2], r.eigenvalues))(
            ag.linalg.eigh(x, UPLO=uplo)),
         lambda x: (lambda r: (r.eigenvectors[..., :2] * r.eigenvectors[..., :1, :2], r.eigenvalues))(
            torch.linalg.eigh(x, UPLO=uplo)))]:
        x, tx = _pair(torch, values)
        got, want = fn(x), tfn(tx)
        got, want = (got, want) if isinstance(got, tuple) else ((got,), (want,))
        np.testing.assert_allclose(got[-1].numpy(), np.broadcast_to([-1.0, 0.5, 2.0], (2, 2, 3)), atol=1e-12)
        rng = np.random.default_rng(4)
        cotangents = [rng.standard_normal(g.shape) for g in got]
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.numpy(), w.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
        ag.backward(list(got), [ag.tensor(c) for c in cotangents])
        torch.autograd.backward(list(want), [torch.tensor(c) for c in cotangents])
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
    assert ag.gradgradcheck(lambda x: ag.linalg.eigvalsh(_sym(x), UPLO=uplo), (ag.tensor(values, requires_grad=True),))
    with ag.no_grad():
        np.testing.assert_allclose(ag.linalg.eigvalsh(ag.tensor(values), UPLO=uplo).numpy(),
                                   np.broadcast_to([-1.0, 0.5, 2.0], (2, 2, 3)), atol=1e-12)


@pytest.mark.parametrize("upper", [True, False])
def test_cholesky_reads_the_triangle_it_returns_as_torch(device, torch, upper):
    # upper=True read the lower triangle (NumPy's rule); PyTorch's reads the upper one.
    values = np.triu(SPD) + np.tril(np.full(SPD.shape, 50.0), -1) if upper else np.tril(SPD) + np.triu(
        np.full(SPD.shape, 50.0), 1)  # (the other triangle read would not be positive definite)
    x, tx = _pair(torch, values)
    got, want = ag.linalg.cholesky(x, upper=upper), torch.linalg.cholesky(tx, upper=upper)
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got.numpy(), np.linalg.cholesky(SPD, upper=upper), rtol=1e-12, atol=1e-12)
    cotangent = np.random.default_rng(2).standard_normal(got.shape)
    got.backward(ag.tensor(cotangent))
    want.backward(torch.tensor(cotangent))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("op", ["eigh", "eigvalsh"])
def test_eigh_names_a_wrong_uplo(op):
    with pytest.raises(ValueError, match=rf"^{op}: UPLO must be 'L' \(read the lower triangle\) or 'U' \(the upper "
                                         r"one\), not 'X'$"):
        getattr(ag.linalg, op)(ag.eye(3), UPLO="X")


def test_cross_and_vecdot_check_their_axis(device):
    with pytest.raises(ValueError, match=r"^cross: the vectors along axis -1 must have 3 entries"):
        ag.linalg.cross(ag.ones(2, 4), ag.ones(2, 4))
    with pytest.raises(ValueError, match=r"^vecdot: the operands of shapes \(2, 4\) and \(1,\) have sizes 4 and 1"):
        ag.linalg.vecdot(ag.ones(2, 4), ag.ones(1))
    with pytest.raises(ValueError, match=r"^vecdot: axis -2 is out of range"):
        ag.linalg.vecdot(ag.ones(2, 4), ag.ones(4), axis=-2)
    np.testing.assert_allclose(ag.linalg.cross(ag.tensor([1.0, 0, 0]), ag.tensor([0.0, 1, 0])).numpy(), [0, 0, 1])


def test_matrix_power_zero_and_one(device, torch):
    x = ag.tensor(GENERAL[0, 0], requires_grad=True)
    identity = ag.linalg.matrix_power(x, 0)
    np.testing.assert_array_equal(identity.numpy(), np.eye(3))
    identity.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0)
    once = ag.linalg.matrix_power(x, 1)
    assert once is not x
    np.testing.assert_array_equal(once.numpy(), x.numpy())
    with pytest.raises(TypeError, match="matrix_power: n must be an int, not 2.0"):
        ag.linalg.matrix_power(x, 2.0)


# --- dtypes --------------------------------------------------------------------------------------
def test_integer_inputs_give_the_default_float(device):
    # As exp does (PyTorch refuses integer input to linalg; NumPy computes in float64).
    integers = ag.tensor([[2, 1], [1, 3]])
    for fn in [ag.linalg.inv, ag.linalg.det, ag.linalg.cholesky, ag.linalg.eigvalsh, ag.linalg.svdvals,
               ag.linalg.pinv, lambda x: ag.linalg.eigh(x).eigenvectors, lambda x: ag.linalg.qr(x).R,
               lambda x: ag.linalg.slogdet(x).logabsdet, lambda x: ag.linalg.solve(x, ag.tensor([1, 1]))]:
        assert fn(integers).dtype == ag.float32
    np.testing.assert_allclose(ag.linalg.det(integers).item(), 5.0, rtol=1e-6)
    assert ag.linalg.matrix_power(integers, 2).dtype == ag.int64  # as NumPy and PyTorch
    np.testing.assert_array_equal(ag.linalg.matrix_power(integers, 2).numpy(), [[5, 5], [5, 10]])
    assert ag.linalg.matrix_power(integers, -1).dtype == ag.float32
    assert ag.linalg.matrix_rank(integers).dtype == ag.int64
    assert ag.linalg.cross(ag.tensor([1, 0, 0]), ag.tensor([0, 1, 0])).dtype == ag.int64


def test_float32_stays_float32_and_solve_promotes(device):
    x32 = ag.tensor(GENERAL[0, 0], dtype=ag.float32)
    for fn in [ag.linalg.inv, ag.linalg.det, ag.linalg.svdvals, lambda x: ag.linalg.svd(x).U,
               lambda x: ag.linalg.eigh(x).eigenvalues, lambda x: ag.linalg.slogdet(x).sign]:
        assert fn(x32).dtype == ag.float32
    assert ag.linalg.solve(x32, ag.tensor([1.0, 2.0, 3.0], dtype=ag.float64)).dtype == ag.float64


def test_empty_matrices(device, torch):
    assert ag.linalg.det(ag.zeros(0, 0)).item() == 1.0  # the empty product, as NumPy and PyTorch
    assert ag.linalg.det(ag.zeros(0, 3, 3)).shape == (0,)
    assert ag.linalg.inv(ag.zeros(2, 0, 0)).shape == (2, 0, 0)
    assert ag.linalg.svdvals(ag.zeros(2, 0, 3)).shape == (2, 0)


# --- only what cupy.linalg has ----------------------------------------------------------------
def _cupy_linalg_shaped():
    """NumPy with a linalg module holding only cupy.linalg's factorizations, under its
    signatures (no svdvals, matrix_transpose, diagonal or vecdot; cholesky without upper)."""
    linalg = types.SimpleNamespace(
        inv=np.linalg.inv, det=np.linalg.det, slogdet=np.linalg.slogdet, solve=np.linalg.solve,
        cholesky=lambda a: np.linalg.cholesky(a), qr=lambda a, mode="reduced": np.linalg.qr(a, mode),
        eigh=lambda a, UPLO="L": tuple(np.linalg.eigh(a, UPLO)), eigvalsh=lambda a, UPLO="L": np.linalg.eigvalsh(a),
        svd=lambda a, full_matrices=True, compute_uv=True: tuple(np.linalg.svd(a, full_matrices, compute_uv)))
    module = types.ModuleType("cupy_linalg_shaped")
    module.__dict__.update((k, v) for k, v in vars(np).items() if not k.startswith("_"))
    module.linalg = linalg
    return module


@pytest.mark.parametrize("fn", [
    ag.linalg.inv, ag.linalg.det, lambda x: ag.linalg.slogdet(x).logabsdet, lambda x: ag.linalg.solve(x, x[..., :1]),
    lambda x: ag.linalg.cholesky(_sym(x) @ _sym(x), upper=True), lambda x: ag.linalg.qr(x).R,
    lambda x: ag.linalg.eigvalsh(_sym(x)), ag.linalg.svdvals, ag.linalg.pinv,
    lambda x: (lambda r: r.U @ r.Vh)(ag.linalg.svd(x)), lambda x: x * ag.linalg.matrix_rank(x).sum(),
    lambda x: ag.linalg.lu(x).U, lambda x: ag.linalg.lu_solve(*ag.linalg.lu_factor(x), x, adjoint=True),
], ids=["inv", "det", "slogdet", "solve", "cholesky", "qr", "eigvalsh", "svdvals", "pinv", "svd", "matrix_rank", "lu",
        "lu_solve"])
def test_the_functions_need_only_what_cupy_linalg_has(fn):
    from backends.numpy_backend import NumpyBackend

    class CupyLinalgShaped(NumpyBackend):
        name = "cupy-linalg-shaped"

        def __init__(self):
            super().__init__(device="cupy-linalg-shaped")
            self.xp = _cupy_linalg_shaped()

    x = ag.tensor(GENERAL, device=CupyLinalgShaped(), requires_grad=True)
    want = ag.tensor(GENERAL, device="cpu", requires_grad=True)  # NumPy's linalg, whole, whatever the default device
    got, expected = fn(x), fn(want)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12)
    got.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), want.grad.numpy(), rtol=1e-10)


_BATCH = np.random.default_rng(5).standard_normal((2, 3, 4))  # distinct singular values, so the second derivative exists


# --- matrix_norm's ord=2, -2 and 'nuc' (the Array API's and PyTorch's; they used to be refused) ---
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("ord", [2, -2, "nuc"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_spectral_and_nuclear_norms_match_torch_to_second_order(torch, ord, keepdims, dtype):
    for values in (_BATCH, np.swapaxes(_BATCH, -1, -2)):  # wide and tall
        _check(torch, lambda x: ag.linalg.matrix_norm(x, ord, keepdims=keepdims),
               lambda x: torch.linalg.matrix_norm(x, ord, keepdim=keepdims), values, dtype)


@pytest.mark.parametrize("ord", [2, -2, "nuc"])
def test_spectral_and_nuclear_norms_pass_gradcheck_on_every_backend(device, ord):
    x = ag.tensor(_BATCH, requires_grad=True)
    fn = functools.partial(ag.linalg.matrix_norm, ord=ord)
    assert ag.gradcheck(fn, (x,))
    assert ag.gradgradcheck(fn, (x,))


@pytest.mark.parametrize("ord", [2, "nuc"])
def test_spectral_and_nuclear_norm_gradients_at_repeated_singular_values_match_torch(torch, ord):
    # At the identity every singular value is 1: the spectral norm's ties share its
    # gradient (I / n), the nuclear norm's is U V^T = I, as PyTorch's.
    x, tx = leaf_pair(torch, np.eye(3))
    ag.linalg.matrix_norm(x, ord).backward()
    torch.linalg.matrix_norm(tx, ord).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_nuclear_norm_of_empty_matrices_is_zero_and_the_smallest_singular_value_refuses_them(torch):
    got = ag.linalg.matrix_norm(ag.zeros(2, 0, 3), "nuc")
    want = torch.linalg.matrix_norm(torch.zeros(2, 0, 3), "nuc")
    assert got.shape == tuple(want.shape) == (2,)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    with pytest.raises(ValueError, match=r"ord=-2 norm of a matrix with no rows or no columns is undefined; "
                                         r"the input has shape \(2, 0, 3\)"):
        ag.linalg.matrix_norm(ag.zeros(2, 0, 3), -2)


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0, 0), (2, 0, 3), (2, 3, 0)])
@pytest.mark.parametrize("ord", [1, 2, np.inf])
@pytest.mark.parametrize("keepdims", [False, True])
def test_positive_order_norms_of_empty_matrices_are_zero_as_torchs(torch, shape, ord, keepdims):
    # The zero map's norm: PyTorch and NumPy give 0 (these raised, there being no largest
    # singular value or sum), and the gradient is an empty one of x's shape.
    x = ag.zeros(*shape, dtype="float64", requires_grad=True)
    got = ag.linalg.matrix_norm(x, ord, keepdims=keepdims)
    want = torch.linalg.matrix_norm(torch.zeros(shape, dtype=torch.float64), ord, keepdim=keepdims)
    assert got.shape == tuple(want.shape) and got.dtype == ag.float64
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    got.sum().backward()
    assert x.grad.shape == shape
    half = ag.zeros(*shape, dtype="float16")  # (float16, as PyTorch's, is refused for the singular values only)
    if ord == 2:
        with pytest.raises(TypeError, match=r"^matrix_norm: float16 matrices are not supported"):
            ag.linalg.matrix_norm(half, ord)
    else:
        assert ag.linalg.matrix_norm(half, ord).dtype == ag.float16


def test_matrix_norm_names_every_order_it_takes():
    with pytest.raises(ValueError, match=r"ord=3 is not supported; use 'fro', 'nuc', 1, -1, 2, -2, inf or -inf"):
        ag.linalg.matrix_norm(ag.ones(2, 2), 3)


# --- float16: refused by name where the backends' linalg kernels would get it (PyTorch refuses it too) ---
_KERNEL_FUNCTIONS = {  # the op each error names: the function's own, or what it calls (matrix_power(x, -2): inv)
    "inv": ag.linalg.inv, "det": ag.linalg.det, "slogdet": ag.linalg.slogdet, "cholesky": ag.linalg.cholesky,
    "qr": ag.linalg.qr, "eigh": ag.linalg.eigh, "eigvalsh": ag.linalg.eigvalsh, "svd": ag.linalg.svd,
    "svdvals": ag.linalg.svdvals, "matrix_rank": ag.linalg.matrix_rank, "pinv": ag.linalg.pinv,
    "solve": lambda x: ag.linalg.solve(x, x)}
_KERNEL_CALLS = sorted(_KERNEL_FUNCTIONS.items()) + [("inv", lambda x: ag.linalg.matrix_power(x, -2))]


@pytest.mark.parametrize("name, call", _KERNEL_CALLS)
def test_float16_matrices_are_refused_naming_the_function_and_the_fix(name, call):  # (numpy: strict has no float16)
    x = ag.eye(3, dtype=ag.float16)
    with pytest.raises(TypeError, match=rf"^{name}: float16 matrices are not supported .* convert first, as in "
                                        rf"{name}\(x\.astype\(ag\.float32\)\)"):
        call(x)


def test_float16_still_goes_through_the_functions_that_compute_it():
    x = ag.tensor(np.eye(3) * 0.5 + 0.1, dtype=ag.float16)
    for out, expected in ((ag.linalg.matrix_exp(x), ag.linalg.matrix_exp(x.astype(ag.float32))),
                          (ag.linalg.matrix_power(x, 3), ag.linalg.matrix_power(x.astype(ag.float32), 3))):
        assert out.dtype == ag.float16
        np.testing.assert_allclose(out.numpy().astype(np.float32), expected.numpy(), rtol=2e-3, atol=2e-3)
    reflections, tau = ag.tensor(np.tril(np.ones((3, 2)), -1), dtype=ag.float16), ag.zeros(2, dtype=ag.float16)
    assert ag.linalg.householder_product(reflections, tau).dtype == ag.float16


@pytest.mark.parametrize("ord", [2, -2, "nuc"])
def test_a_float16_singular_value_norm_names_matrix_norm(ord):
    with pytest.raises(TypeError, match=r"^matrix_norm: float16 matrices are not supported"):
        ag.linalg.matrix_norm(ag.eye(2, dtype=ag.float16), ord)


# --- the backward passes' triangular solves ---------------------------------------------------
@pytest.mark.parametrize("name, data, fn, torch_fn", [
    ("cholesky", SPD, lambda x: ag.linalg.cholesky(_sym(x)), lambda t, x: t.linalg.cholesky(_tsym(x))),
    ("qr tall", TALL, lambda x: sum(ag.linalg.qr(x)[i].sum() for i in (0, 1)),
     lambda t, x: sum(t.linalg.qr(x)[i].sum() for i in (0, 1))),
    ("qr wide", WIDE, lambda x: sum(ag.linalg.qr(x)[i].sum() for i in (0, 1)),
     lambda t, x: sum(t.linalg.qr(x)[i].sum() for i in (0, 1))),
    ("lu", GENERAL, lambda x: sum(ag.linalg.lu(x)[1:]), lambda t, x: sum(t.linalg.lu(x)[1:])),
    ("lu tall", TALL, lambda x: ag.linalg.lu(x).L.sum() + ag.linalg.lu(x).U.sum(),
     lambda t, x: t.linalg.lu(x).L.sum() + t.linalg.lu(x).U.sum()),
    ("lu wide", WIDE, lambda x: ag.linalg.lu(x).L.sum() + ag.linalg.lu(x).U.sum(),
     lambda t, x: t.linalg.lu(x).L.sum() + t.linalg.lu(x).U.sum()),
], ids=lambda v: v if isinstance(v, str) else "")
def test_factorization_backwards_solve_their_triangles_to_second_order_without_a_general_solve(
        torch, monkeypatch, name, data, fn, torch_fn):
    """cholesky's backward inverted L with inv, qr's and lu's solved by R, L and U with the
    general solve, which factors each triangle again (O(n^3) where a triangular solve is O(n^2)
    per column; benchmarks/factorization_backward.py): now neither runs, to second order."""
    from autograd.ops import solve as solve_module

    def refuse(*args):
        raise AssertionError("a general solve or inverse ran in a factorization's backward")
    _check(torch, fn, functools.partial(torch_fn, torch), data)  # (the forward passes: before the refusals)
    x = ag.tensor(data, requires_grad=True)
    y = fn(x)
    monkeypatch.setattr(solve_module.Solve, "apply", refuse)
    monkeypatch.setattr(solve_module.Inv, "apply", refuse)
    g, = ag.grad(y.sum(), x, create_graph=True)
    gg, = ag.grad((g * g).sum(), x)
    tx = torch.tensor(data, requires_grad=True)
    tg, = torch.autograd.grad(torch_fn(torch, tx).sum(), tx, create_graph=True)
    tgg, = torch.autograd.grad((tg * tg).sum(), tx)
    np.testing.assert_allclose(g.numpy(), tg.detach().numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(gg.numpy(), tgg.numpy(), rtol=1e-8, atol=1e-10)
