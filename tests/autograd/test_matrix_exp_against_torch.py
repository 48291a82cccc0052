"""ag.linalg.matrix_exp against torch.linalg.matrix_exp: values and gradients (first and
second order) over batches, in float32 and float64, at the matrices where an exponential
is easy to get wrong: zero, identity, nilpotent, large norms (many squarings, a different
number for each matrix of a batch), non-finite entries and empty shapes."""
import math
import re

import numpy as np
import pytest

import autograd as ag
from tests.autograd.torch_pairs import leaf_pair


def _both(torch, a, dtype="float64", requires_grad=False):
    ours = ag.tensor(a, dtype=dtype, requires_grad=requires_grad)
    theirs = torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=requires_grad)
    return ours, theirs


def _relative_error(got, want):
    return np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-300)


@pytest.mark.parametrize("shape, scale", [((1, 1), 1.0), ((4, 4), 0.01), ((4, 4), 1.0), ((2, 3, 5, 5), 1.0),
                                          ((3, 3), 30.0), ((2, 6, 6), 8.0)])
@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-11), ("float32", 3e-5)])
def test_values_match_torch(shape, scale, dtype, rtol, device, torch):
    # (PyTorch's own float64 error reaches 2e-12 at the 1-norm 0.04 of the second shape)
    a = np.random.default_rng(len(shape) * 10 + shape[-1]).standard_normal(shape) * scale
    ours, theirs = _both(torch, a, dtype)
    got = ag.linalg.matrix_exp(ours)
    assert got.shape == shape and got.dtype == ours.dtype and got.device == device
    assert _relative_error(got.numpy(), torch.linalg.matrix_exp(theirs).numpy()) < rtol


def test_a_batch_mixing_small_and_large_norms_matches_torch(device, torch):
    """Each matrix takes its own number of squarings (0 for the small one, several for the
    large one): the small one must not be squared with the others."""
    rng = np.random.default_rng(3)
    a = np.stack([0.01 * rng.standard_normal((3, 3)), 25 * rng.standard_normal((3, 3)), rng.standard_normal((3, 3))])
    ours, theirs = _both(torch, a, requires_grad=True)
    got, want = ag.linalg.matrix_exp(ours), torch.linalg.matrix_exp(theirs)
    for i in range(3):
        assert _relative_error(got.numpy()[i], want.detach().numpy()[i]) < 1e-12
    cotangent = rng.standard_normal(a.shape)
    got.backward(ag.tensor(cotangent))
    want.backward(torch.tensor(cotangent))
    for i in range(3):
        assert _relative_error(ours.grad.numpy()[i], theirs.grad.numpy()[i]) < 1e-11


@pytest.mark.parametrize("shape, scale", [((3, 3), 1.0), ((2, 4, 4), 0.1), ((2, 3, 3), 10.0)])
def test_gradients_match_torch(shape, scale, device, torch):
    rng = np.random.default_rng(shape[-1])
    a, cotangent = scale * rng.standard_normal(shape), rng.standard_normal(shape)
    ours, theirs = _both(torch, a, requires_grad=True)
    ag.linalg.matrix_exp(ours).backward(ag.tensor(cotangent))
    torch.linalg.matrix_exp(theirs).backward(torch.tensor(cotangent))
    assert _relative_error(ours.grad.numpy(), theirs.grad.numpy()) < 1e-11


def test_second_derivatives_match_torch(torch):
    rng = np.random.default_rng(5)
    a, w, v = rng.standard_normal((2, 3, 3)), rng.standard_normal((2, 3, 3)), rng.standard_normal((2, 3, 3))
    ours, theirs = _both(torch, a, requires_grad=True)
    (g,) = ag.grad((ag.linalg.matrix_exp(ours) * ag.tensor(w)).sum(), ours, create_graph=True)
    (gg,) = ag.grad((g * ag.tensor(v)).sum(), ours)
    (tg,) = torch.autograd.grad((torch.linalg.matrix_exp(theirs) * torch.tensor(w)).sum(), theirs, create_graph=True)
    (tgg,) = torch.autograd.grad((tg * torch.tensor(v)).sum(), theirs)
    assert _relative_error(g.numpy(), tg.detach().numpy()) < 1e-12
    assert _relative_error(gg.numpy(), tgg.numpy()) < 1e-11


def test_zero_matrix_gives_the_identity_and_passes_the_gradient_through(torch):
    ours, theirs = _both(torch, np.zeros((2, 3, 3)), requires_grad=True)
    got = ag.linalg.matrix_exp(ours)
    np.testing.assert_array_equal(got.numpy(), np.broadcast_to(np.eye(3), (2, 3, 3)))
    cotangent = np.random.default_rng(0).standard_normal((2, 3, 3))
    got.backward(ag.tensor(cotangent))
    torch.linalg.matrix_exp(theirs).backward(torch.tensor(cotangent))
    np.testing.assert_allclose(ours.grad.numpy(), cotangent, rtol=1e-15, atol=0)  # d exp at 0 is the identity map
    np.testing.assert_allclose(theirs.grad.numpy(), cotangent, rtol=1e-15, atol=0)


def test_identity_and_diagonal_matrices(torch):
    d = np.array([-3.0, 0.0, 1.0, 4.5])
    for a in (np.eye(4), np.diag(d)):
        ours, theirs = _both(torch, a, requires_grad=True)
        got = ag.linalg.matrix_exp(ours)
        np.testing.assert_allclose(got.numpy(), np.diag(np.exp(np.diag(a))), rtol=1e-14, atol=1e-300)
        got.sum().backward()
        torch.linalg.matrix_exp(theirs).sum().backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_nilpotent_matrix_gives_its_finite_series(torch):
    """N strictly upper triangular: N^4 = 0, so exp(N) = I + N + N^2/2 + N^3/6 exactly."""
    n = np.triu(np.random.default_rng(2).standard_normal((4, 4)) * 3, 1)
    series = np.eye(4) + n + n @ n / 2 + n @ n @ n / 6
    ours, theirs = _both(torch, n, requires_grad=True)
    got = ag.linalg.matrix_exp(ours)
    np.testing.assert_allclose(got.numpy(), series, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got.numpy(), torch.linalg.matrix_exp(theirs).detach().numpy(), rtol=1e-12, atol=1e-12)
    got.sum().backward()
    torch.linalg.matrix_exp(theirs).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-11, atol=1e-11)


def test_large_norm_rotation_and_decay(torch):
    """A rotation by 100 radians (1-norm 200: squared several times) is exactly known; a
    skew-symmetric matrix of norm about 200, and -60 I + small noise (which decays to near 0
    without underflowing into NaN), match PyTorch."""
    rotation = np.array([[0.0, -100.0], [100.0, 0.0]])
    got = ag.linalg.matrix_exp(ag.tensor(rotation)).numpy()
    np.testing.assert_allclose(got, [[math.cos(100), -math.sin(100)], [math.sin(100), math.cos(100)]],
                               rtol=0, atol=1e-12)
    rng = np.random.default_rng(4)
    spin = 40 * rng.standard_normal((3, 3))
    decay = -60 * np.eye(3) + 0.1 * rng.standard_normal((3, 3))
    ours, theirs = _both(torch, np.stack([spin - spin.T, decay]), requires_grad=True)
    got, want = ag.linalg.matrix_exp(ours), torch.linalg.matrix_exp(theirs)
    assert np.all(np.isfinite(got.numpy()))
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-11, atol=1e-300)
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-9, atol=1e-300)


def test_skew_symmetric_matrix_gives_an_orthogonal_one(device):
    a = np.random.default_rng(6).standard_normal((3, 5, 5)) * 4
    q = ag.linalg.matrix_exp(ag.tensor(a - np.swapaxes(a, -1, -2))).numpy()
    np.testing.assert_allclose(np.swapaxes(q, -1, -2) @ q, np.broadcast_to(np.eye(5), q.shape), rtol=0, atol=1e-12)


def test_a_large_cotangent_keeps_the_gradient_accurate(torch):
    """The gradient is linear in the cotangent; a cotangent of 1e30 must not cost digits
    (PyTorch's, which puts it into the block matrix as it is, loses all of them)."""
    rng = np.random.default_rng(8)
    a, cotangent = rng.standard_normal((2, 3, 3)), rng.standard_normal((2, 3, 3))
    unit = torch.tensor(a, requires_grad=True)
    torch.linalg.matrix_exp(unit).backward(torch.tensor(cotangent))
    ours = ag.tensor(a, requires_grad=True)
    ag.linalg.matrix_exp(ours).backward(ag.tensor(cotangent * 1e30))
    np.testing.assert_allclose(ours.grad.numpy() / 1e30, unit.grad.numpy(), rtol=1e-11, atol=1e-13)


def test_non_finite_matrices_give_nan_only_where_they_are(device, torch):
    a = np.stack([np.array([[math.inf, 0.0], [0.0, 1.0]]), np.array([[0.5, math.nan], [0.0, 1.0]]),
                  np.array([[0.3, -1.2], [0.7, 0.1]])])
    ours, theirs = _both(torch, a)
    got, want = ag.linalg.matrix_exp(ours).numpy(), torch.linalg.matrix_exp(theirs).numpy()
    assert np.isnan(got[:2]).all() and np.isnan(want[:2]).all()
    np.testing.assert_allclose(got[2], want[2], rtol=1e-14)


@pytest.mark.parametrize("shape", [(0, 0), (3, 0, 0), (0, 2, 2)])
def test_empty_shapes(shape, device, torch):
    ours, theirs = _both(torch, np.zeros(shape), requires_grad=True)
    got = ag.linalg.matrix_exp(ours)
    assert got.shape == tuple(torch.linalg.matrix_exp(theirs).shape) == shape
    got.sum().backward()
    assert ours.grad.shape == shape


def test_float16_is_computed_in_float32(torch):
    """The backends' linalg has no float16; PyTorch's CPU float16 exponential of ones(2, 2)
    is inf. Here it is the float64 result rounded to float16."""
    a = np.array([[1.0, 1.0], [1.0, 1.0]])
    got = ag.linalg.matrix_exp(ag.tensor(a, dtype="float16"))
    assert got.dtype == ag.float16
    want = torch.linalg.matrix_exp(torch.tensor(a)).numpy().astype(np.float16)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-3)


def test_integers_give_the_default_float():
    got = ag.linalg.matrix_exp(ag.tensor([[0, 1], [-1, 0]]))
    assert got.dtype == ag.float32
    np.testing.assert_allclose(got.numpy(), [[math.cos(1), math.sin(1)], [-math.sin(1), math.cos(1)]], rtol=1e-6)


@pytest.mark.parametrize("shape", [(3,), (2, 3), (4, 2, 3), ()])
def test_non_square_input_is_refused(shape):
    with pytest.raises(ValueError, match=rf"^matrix_exp: expects square matrices in the last two axes, got a tensor "
                                         rf"of shape {re.escape(str(shape))}$"):
        ag.linalg.matrix_exp(ag.zeros(*shape))


# --- householder_product, which nn.utils.parametrizations.orthogonal's Householder map uses ---
@pytest.mark.parametrize("x_shape, tau_shape", [((5, 3), (3,)), ((2, 4, 4), (2, 2)), ((3, 1), (1,))])
def test_householder_product_of_a_qr_is_its_q(x_shape, tau_shape, torch):
    """With LAPACK's compact QR (torch.geqrf), the product is the Q; values and gradients
    (through the reflections and tau) match PyTorch's."""
    rng = np.random.default_rng(x_shape[-2])
    reflections, tau = torch.geqrf(torch.tensor(rng.standard_normal(x_shape)))
    tau = tau[..., :tau_shape[-1]]
    ours_x, theirs_x = _both(torch, reflections.numpy(), requires_grad=True)
    ours_tau, theirs_tau = _both(torch, tau.numpy(), requires_grad=True)
    got = ag.linalg.householder_product(ours_x, ours_tau)
    want = torch.linalg.householder_product(theirs_x, theirs_tau)
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-13, atol=1e-14)
    cotangent = rng.standard_normal(x_shape)
    got.backward(ag.tensor(cotangent))
    want.backward(torch.tensor(cotangent))
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(ours_tau.grad.numpy(), theirs_tau.grad.numpy(), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("x_shape, tau_shape, message", [
    ((3, 4), (2,), r"x of shape \(3, 4\) holds 3 x 4 matrices; they need at least as many rows as columns"),
    ((4, 3), (4,), r"tau holds 4 scales per matrix, but x \(shape \(4, 3\)\) holds only 3 reflections"),
    ((2, 4, 3), (3, 2), r"tau of shape \(3, 2\) must have shape \(2,\) \+ \(k,\)"),
    ((2, 4, 3), (2,), r"tau of shape \(2,\) must have shape \(2,\) \+ \(k,\)"),
    ((4,), (2,), r"expects matrices in the last two axes"),
])
def test_householder_product_refuses_bad_shapes(x_shape, tau_shape, message):
    with pytest.raises(ValueError, match=r"^householder_product: " + message):
        ag.linalg.householder_product(ag.zeros(*x_shape), ag.zeros(*tau_shape))


# --- matrix_exp's gradient of an empty batch stays in the graph -------------------------------
@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 0), (0, 3, 3)])
def test_matrix_exp_second_derivative_of_an_empty_input_matches_torch(torch, shape):
    x, tx = leaf_pair(torch, np.zeros(shape))
    g, = ag.grad(ag.linalg.matrix_exp(x).sum(), x, create_graph=True)
    tg, = torch.autograd.grad(torch.linalg.matrix_exp(tx).sum(), tx, create_graph=True)
    assert g.requires_grad and tg.requires_grad
    gg, = ag.grad(g.sum(), x)
    tgg, = torch.autograd.grad(tg.sum(), tx)
    assert gg.shape == tuple(tgg.shape) == shape
