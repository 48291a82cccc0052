"""ag.linalg's values and gradients near hard cases, against PyTorch and mpmath, in float64 and
float32: ill-conditioned, singular and zero matrices, repeated singular values and eigenvalues,
scales from 1e-300 to 1e300, batches and non-square shapes. lstsq's gradient with an rcond that
cuts singular values is that of the cut solution (PyTorch's is that of the uncut one); the
singular vectors' gradient stays finite where the squares of the singular values under- or
overflow (PyTorch's is NaN there); and qr's gradient at a matrix whose R has a zero on its
diagonal raises an error that names qr and the cause. The references are finite differences
in mpmath at 50 digits, of the functions written with mpmath's own SVD."""
import numpy as np
import pytest

import autograd as ag
from autograd.linalg import LinAlgError

mp = pytest.importorskip("mpmath")


def _gradient(fn, array, dtype="float64"):
    x = ag.tensor(array, dtype=dtype, requires_grad=True)
    g, = ag.grad(fn(x), [x])
    return g.numpy()


def _mp_gradient(fn, array, digits=50):
    """Central differences of fn (mpmath matrix -> mpf) at ``array``, with a step of 1e-22
    times its largest entry."""
    with mp.workdps(digits):
        a = mp.matrix(array.tolist())
        step = mp.mpf(1e-22) * mp.mpf(float(np.max(np.abs(array))))
        grad = np.zeros(array.shape)
        for i, j in np.ndindex(*array.shape):
            up, down = a.copy(), a.copy()
            up[i, j] += step
            down[i, j] -= step
            grad[i, j] = float((fn(up) - fn(down)) / (2 * step))
    return grad


def _mp_svd(a):
    """U, the singular values and V of an mpmath matrix (reduced; mpmath's third factor is V^T)."""
    u, s, vt = mp.svd_r(a, full_matrices=False)
    return u, s, vt.T


def _mp_weighted_sum(p, w):
    return mp.fsum(p[i, j] * w[i, j] for i in range(p.rows) for j in range(p.cols))


# --- lstsq with an rcond that cuts singular values -------------------------------------------
def _tall_with_singular_values(values, seed):
    rng = np.random.default_rng(seed)
    m, n = len(values) + 1, len(values)
    u = np.linalg.qr(rng.standard_normal((m, m)))[0][:, :n]
    v = np.linalg.qr(rng.standard_normal((n, n)))[0]
    return (u * np.array(values)) @ v.T


@pytest.mark.parametrize("driver", ["gelsy", "gelsd", "gelss"])
def test_lstsq_gradient_is_that_of_the_solution_rcond_cut(device, driver):
    # rcond=1e-2 cuts the singular value 1e-9: the solution is V S_2^+ U^T B with it taken as 0.
    # The gradient was pinv(A)'s at its default cut, which keeps it: 1e9 times too large here
    # (PyTorch's still is). Now it is off only by about 1e-9 / 0.5, the cut value's relative size.
    a = _tall_with_singular_values([3.0, 1.0, 0.5, 1e-9], seed=0)
    rng = np.random.default_rng(1)
    b, w = rng.standard_normal((5, 2)), rng.standard_normal((4, 2))

    def loss(x):
        return (ag.linalg.lstsq(x, ag.tensor(b), rcond=1e-2, driver=driver).solution * ag.tensor(w)).sum()

    def truncated(m):
        u, s, v = _mp_svd(m)
        cut = mp.diag([1 / x if x > 1e-2 * max(s) else 0 for x in s])
        return _mp_weighted_sum(v * cut * u.T * mp.matrix(b.tolist()), w)

    np.testing.assert_allclose(_gradient(loss, a), _mp_gradient(truncated, a), rtol=0, atol=1e-8)

    # b's gradient is exact: P^T W with P the truncated pseudo-inverse
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    p = (vh[:3].T / s[:3]) @ u[:, :3].T
    gb = _gradient(lambda x: (ag.linalg.lstsq(ag.tensor(a), x, rcond=1e-2, driver=driver).solution * ag.tensor(w)).sum(), b)
    np.testing.assert_allclose(gb, p.T @ w, rtol=1e-12, atol=1e-13)


def test_lstsq_gradient_with_the_default_rcond_is_unchanged(device, torch):
    # (the default cut is pinv's default, so this is PyTorch's gradient, as before)
    a = _tall_with_singular_values([3.0, 1.0, 0.5, 1e-3], seed=2)
    b = np.random.default_rng(3).standard_normal((5, 2))
    ours = _gradient(lambda x: ag.linalg.lstsq(x, ag.tensor(b)).solution.sum(), a)
    t = torch.tensor(a, requires_grad=True)
    torch.linalg.lstsq(t, torch.tensor(b)).solution.sum().backward()
    # cond(A) is about 3e3, so the reference itself is only good to about cond^2 eps = 2e-9
    # (PyTorch 2.11's is 1.5e-10 off the exact gradient, ours 5e-11)
    np.testing.assert_allclose(ours, t.grad.numpy(), rtol=1e-9, atol=1e-12)


# --- the singular vectors' gradient at tiny and huge scales --------------------------------
_RNG = np.random.default_rng(4)
_WIDE = _RNG.standard_normal((3, 5))
_W_POLAR, _W_LEFT = _RNG.standard_normal((3, 5)), _RNG.standard_normal((3, 3))

# Three losses that do not depend on the vectors' signs, one per branch of the gradient: U V^T
# (through U and Vh), U diag(S / S_0) U^T (U alone) and V diag(S / S_0) V^T of the transpose (Vh
# alone). All are invariant under scaling the matrix, so at scale c the gradient is 1/c times that
# at scale 1; PyTorch's divides by s_j^2 - s_i^2, NaN once the squares under- or overflow.
_LOSSES = {
    "polar": (lambda r: ((r.U @ r.Vh) * ag.tensor(_W_POLAR)).sum(),
              lambda u, s, v: _mp_weighted_sum(u * v.T, _W_POLAR), False),
    "left": (lambda r: (((r.U * (r.S / r.S[0])) @ r.U.mT) * ag.tensor(_W_LEFT)).sum(),
             lambda u, s, v: _mp_weighted_sum(u * mp.diag([x / max(s) for x in s]) * u.T, _W_LEFT), False),
    "right": (lambda r: (((r.Vh.mT * (r.S / r.S[0])) @ r.Vh) * ag.tensor(_W_LEFT)).sum(),
              lambda u, s, v: _mp_weighted_sum(v * mp.diag([x / max(s) for x in s]) * v.T, _W_LEFT), True),
}


def _svd_loss_gradients(name, scale, dtype):
    loss, mp_loss, transposed = _LOSSES[name]
    a = _WIDE.T if transposed else _WIDE
    if dtype == "float32":
        a = a.astype(np.float32).astype(np.float64)
    ours = _gradient(lambda x: loss(ag.linalg.svd(x)), a * scale, dtype)
    return ours * scale, _mp_gradient(lambda m: mp_loss(*_mp_svd(m)), a)


@pytest.mark.parametrize("scale", [1.0, 1e-160, 1e-200, 1e-300, 1e160, 1e200, 1e300])
@pytest.mark.parametrize("name", sorted(_LOSSES))
def test_singular_vector_gradients_at_tiny_and_huge_scales(device, name, scale):
    ours, want = _svd_loss_gradients(name, scale, "float64")
    np.testing.assert_allclose(ours, want, rtol=0, atol=1e-14 * np.max(np.abs(want)))


@pytest.mark.parametrize("scale", [1e-25, 1e20, 1e25])
def test_float32_singular_vector_gradients_past_the_float32_squares(device, scale):
    # float32 squares overflow from 1.8e19 and underflow below 1.1e-19: PyTorch's gradient is
    # NaN for these matrices, entries of 1e20 included
    ours, want = _svd_loss_gradients("polar", scale, "float32")
    np.testing.assert_allclose(ours, want, rtol=0, atol=2e-6 * np.max(np.abs(want)))


def test_singular_vector_gradients_with_a_batch_of_scales_match_torch_at_ordinary_ones(device, torch):
    # (one batch, one matrix near 1 that PyTorch handles, the others rescaled copies of it)
    a = np.stack([_WIDE, _WIDE * 1e-200, _WIDE * 1e200])
    ours = _gradient(lambda x: (lambda r: ((r.U @ r.Vh) * ag.tensor(_W_POLAR)).sum())(ag.linalg.svd(x)), a)
    t = torch.tensor(_WIDE, requires_grad=True)
    (lambda r: ((r.U @ r.Vh) * torch.tensor(_W_POLAR)).sum())(torch.linalg.svd(t, full_matrices=False)).backward()
    want = t.grad.numpy()
    for got, scale in zip(ours, [1.0, 1e-200, 1e200]):
        np.testing.assert_allclose(got * scale, want, rtol=1e-12, atol=1e-14)


# --- qr's gradient where R has a zero on its diagonal ----------------------------------------
@pytest.mark.parametrize("array", [
    np.zeros((4, 4)),
    np.zeros((3, 5)),
    np.array([[0.0, 1, 0], [0, 2, 1], [0, 3, 5], [0, 0.5, 2]]),  # a zero first column
], ids=["zero-square", "zero-wide", "zero-column"])
def test_qr_gradient_at_a_zero_on_the_diagonal_of_r_names_qr_and_the_cause(device, array):
    # PyTorch gives NaN; the error named solve (R^-1 inside the gradient) before
    x = ag.tensor(array, requires_grad=True)
    r = ag.linalg.qr(x).R
    with pytest.raises(LinAlgError, match=r"qr: the gradient needs the first \d columns of each matrix linearly "
                                          r"independent.*zero on its diagonal"):
        ag.grad(r.sum(), [x])
