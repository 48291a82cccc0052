"""What a differential fuzz of numerical extremes against PyTorch 2.13 turned up.

The fuzz fed float64, float32 and float16 inputs at the edges (near overflow, denormals,
signed zeros, +-inf, NaN, constant rows, rows of -inf, huge logits a few ulps apart,
probabilities of exactly 0 and 1) to the softmax family, the classification and regression
losses, the activations, the elementary functions, pow, the norms, var and std, normalize,
cosine_similarity and pairwise_distance, the normalization layers, attention with masked
rows, the optimizers and clip_grad_norm_, comparing values and gradients. Where PyTorch was
finite and right and topograd was not:

- the divisor's gradient of a / b was (gy / b) * (a / b): 0 * inf = NaN at a = 0 once gy / b
  overflowed (a float16 b of 1e-5, a float32 denormal), so gaussian_nll_loss's variance
  gradient at a perfect float16 prediction was NaN;
- float16 hardswish computed x * 6 in float16: inf from x = 10923;
- float16 p-norms summed float16 powers: squares overflow from 256 and vanish below 2.4e-4,
  so the norm was inf, or 0 with a zero gradient (normalize, pairwise_distance and
  cosine_similarity share it);
- the optimizers' float16 lerp (the first moment of Adam, AdamW, NAdam, RAdam and Adamax)
  computed end - start in float16: a gradient of 6e4 after a momentum of -6e3 made the average
  inf and the update NaN, where PyTorch's lerp rounds once from float32 and its update is 0.
"""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F


# --- division ----------------------------------------------------------------------------------

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
    float32, see tests/test_review_findings_5.py)."""
    xa = ag.tensor(np.array([3.0, 1.0], dtype=np.float32), requires_grad=True)
    xb = ag.tensor(np.array([1e-20, 1e-20], dtype=np.float32), requires_grad=True)
    _, gb = ag.grad(xa / xb, [xa, xb], ag.tensor(np.array([0.0, 1e-20], dtype=np.float32)))
    np.testing.assert_allclose(gb.numpy(), [0.0, -1e20], rtol=1e-6)


@pytest.mark.filterwarnings("ignore:overflow")
def test_gaussian_nll_loss_float16_variance_gradient_at_a_perfect_prediction_is_torchs(torch):
    """var clamped to eps = 1e-6: 0.5 / var overflows float16 to inf, as PyTorch's; the
    squared error's term is 0 there, not inf * 0 = NaN."""
    mean = np.array([0.0, 0.5, 1.0], dtype=np.float16)
    var = np.array([0.0, 1.0, 2.0], dtype=np.float16)
    xv = ag.tensor(var, requires_grad=True)
    (gv,) = ag.grad(F.gaussian_nll_loss(ag.tensor(mean), ag.tensor(mean), xv, reduction="sum"), [xv])
    tv = torch.tensor(var, requires_grad=True)
    (ref,) = torch.autograd.grad(torch.nn.functional.gaussian_nll_loss(
        torch.tensor(mean), torch.tensor(mean), tv, reduction="sum"), [tv])
    np.testing.assert_array_equal(gv.numpy(), ref.numpy())  # [inf, 0.5, 0.25]


# --- float16 hardswish -------------------------------------------------------------------------

def test_hardswish_float16_is_computed_in_float32_as_torchs(torch):
    values = np.array([-60000.0, -3.0, -1.5, 0.0, 1.5, 3.0, 10000.0, 11000.0, 60000.0], dtype=np.float16)
    incoming = np.linspace(0.5, 1.5, values.size).astype(np.float16)
    x = ag.tensor(values, requires_grad=True)
    y = F.hardswish(x)
    y.backward(ag.tensor(incoming))
    tx = torch.tensor(values, requires_grad=True)
    ty = torch.nn.functional.hardswish(tx)
    ty.backward(torch.tensor(incoming))
    assert y.dtype == ag.float16
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())  # 11000 and 60000 were inf
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


# --- float16 norms -----------------------------------------------------------------------------

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


# --- the optimizers' float16 averages ----------------------------------------------------------

@pytest.mark.filterwarnings("ignore:overflow")  # the second moment, 6e4 squared: inf, as PyTorch's
@pytest.mark.parametrize("name", ["Adam", "AdamW", "NAdam", "RAdam", "Adamax"])
def test_float16_moment_averages_do_not_overflow_between_two_large_gradients(torch, name):
    """The first moment after gradients -6e4 then 6e4 is 600, but 6e4 - (-6e3) passes
    float16's 65504: the average was inf, and the update inf / inf = NaN."""
    start = np.linspace(-1, 1, 4).astype(np.float16)
    gradients = [np.array([-60000.0, 1.0, -2.0, 0.25], dtype=np.float16),  # (no 0: eps underflows to 0 in
                 # float16, and 0 / 0 is NaN in both)
                 np.array([60000.0, -1.0, 3.0, 0.5], dtype=np.float16)]
    ours = nn.Parameter(ag.tensor(start))
    theirs = torch.nn.Parameter(torch.tensor(start))
    opt = getattr(nn.optim, name)([ours], lr=0.1)
    ref = getattr(torch.optim, name)([theirs], lr=0.1)
    for g in gradients:
        ours.grad, theirs.grad = ag.tensor(g), torch.tensor(g)
        opt.step()
        ref.step()
    assert np.isfinite(ours.detach().numpy()).all()
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=2e-3, atol=1e-3)
