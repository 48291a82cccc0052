"""float16 layers and losses against a float64 run of the same inputs (and PyTorch's float16
where it has a CPU kernel), where topograd computed in float16 what PyTorch computes in
float32 and rounds once: attention scores (a score past 64 is 0.03 off, its weight 3%), a
float16 RMSNorm's scale and batch norm's running statistics (rounded twice), the adaptive
average pool's and interpolate's weights and per-axis products, the bag sums of
``embedding_bag``, the CTC recursions (a likelihood hundreds below 0 held to a quarter),
and the gradients of mse, binary cross-entropy and its logits form, whose mean sends back
a subnormal 1/N that each further float16 step rounded again (binary cross-entropy then
divided it by p (1 - p): 18x PyTorch's error). Each case is now within about half a
float16 unit of the float64 result, as PyTorch's."""
import numpy as np
import pytest

import autograd as ag
import nn.functional as F


def units_off(ours, exact):
    """The largest gap between float16 ``ours`` and ``exact``, in float16 units at the largest
    |exact| (a value computed in float32 and rounded once is within half of one; an element
    much smaller than the largest carries the float32 sum's error, too small to count)."""
    assert ours.dtype == np.float16
    unit = float(np.spacing(np.float16(np.abs(exact).max())))
    return float(np.max(np.abs(ours.astype(np.float64) - exact)) / unit)


def run(fn, arrays, dtype, gy, grad_of):
    """``fn``'s output and the gradients of the inputs in ``grad_of``, computed in ``dtype``."""
    tensors = [ag.tensor(a.astype(dtype) if a.dtype.kind == "f" else a, requires_grad=i in grad_of)
               for i, a in enumerate(arrays)]
    out = fn(*tensors)
    if grad_of:
        out.backward(None if gy is None else ag.tensor(gy.astype(dtype)))
    return [out.numpy()] + [tensors[i].grad.numpy() for i in grad_of]


def assert_rounded_once(fn, arrays, gy=None, grad_of=(0,), units=0.52):
    """float16 output and gradients within ``units`` float16 units of the float64 run on the same (float16) values."""
    arrays = [a.astype(np.float16) if a.dtype.kind == "f" else a for a in arrays]
    gy = None if gy is None else gy.astype(np.float16)
    ours = run(fn, arrays, np.float16, gy, grad_of)
    exact = run(fn, arrays, np.float64, gy, grad_of)
    for name, a, b in zip(["output"] + [f"gradient {i}" for i in grad_of], ours, exact):
        assert units_off(a, b) <= units, f"{name}: {units_off(a, b):.2f} float16 units off"


rng = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _same_draws():
    """Each test draws the same values whether it runs alone or after the others."""
    global rng
    rng = np.random.default_rng(0)


def uniform(*shape, low=-1.0, high=1.0):
    return rng.uniform(low, high, shape)


def test_attention_scores_in_float32():
    # scores up to about 150: float16 holds them to 0.06, their exp to 6%
    q, k, v = uniform(2, 2, 256, 64) * 4, uniform(2, 2, 256, 64) * 4, uniform(2, 2, 256, 64)
    assert_rounded_once(lambda q, k, v: F.scaled_dot_product_attention(q, k, v), [q, k, v],
                        gy=uniform(2, 2, 256, 64), grad_of=(0, 1, 2))


def test_attention_float16_as_torch(torch):
    q, k, v = (uniform(2, 2, 128, 32) * 4 for _ in range(3))
    ours = F.scaled_dot_product_attention(*(ag.tensor(a.astype(np.float16)) for a in (q, k, v)))
    theirs = torch.nn.functional.scaled_dot_product_attention(*(torch.tensor(a, dtype=torch.float16)
                                                                for a in (q, k, v)))
    assert ours.dtype == ag.float16
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=2e-3, atol=2e-3)


def test_rms_norm_scales_before_rounding(torch):
    x, w = uniform(64, 1024) + 10, uniform(1024, low=0, high=2)
    assert_rounded_once(lambda x, w: F.rms_norm(x, (1024,), w), [x, w], gy=uniform(64, 1024), grad_of=(0, 1))
    # and as PyTorch 2.13's CPU kernel, one rounding of the float32 result: the same but where
    # two float32 sums fall either side of a tie (rounded, then scaled: 26% differed)
    x16, w16 = x.astype(np.float16), w.astype(np.float16)
    want = torch.nn.functional.rms_norm(torch.tensor(x16), (1024,), torch.tensor(w16)).numpy()
    assert np.mean(F.rms_norm(ag.tensor(x16), (1024,), ag.tensor(w16)).numpy() == want) > 0.999


def test_norms_by_running_statistics_widen_float16_ones():
    x, w, b = uniform(256, 128) * 3 + 2, uniform(128) + 1, uniform(128)
    mean, var = uniform(128) + 2, uniform(128, low=5, high=10)
    assert_rounded_once(lambda x, m, v, w, b: F.batch_norm(x, m, v, w, b, training=False), [x, mean, var, w, b],
                        gy=uniform(256, 128), grad_of=(0, 3, 4))
    x = uniform(64, 32, 50) * 3 + 2
    assert_rounded_once(lambda x, m, v: F.instance_norm(x, m, v, use_input_stats=False), [x, mean[:32], var[:32]],
                        gy=uniform(64, 32, 50))


def test_adaptive_average_pool_of_uneven_bins():
    # 32 -> 5: bins of 7 and 8 cells, weighted 1/7 and 1/8
    assert_rounded_once(lambda x: F.adaptive_avg_pool2d(x, 5), [uniform(16, 8, 32, 32) + 1],
                        gy=uniform(16, 8, 5, 5, low=0))


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("size", [23, 80])
def test_interpolate_weighs_in_float32(mode, size):
    assert_rounded_once(lambda x: F.interpolate(x, size=(size, size), mode=mode, align_corners=False),
                        [uniform(4, 8, 32, 32) + 1], gy=uniform(4, 8, size, size))


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_embedding_bag_sums_in_float32(mode):
    ids = rng.integers(0, 100, (256, 20))
    assert_rounded_once(lambda w, i: F.embedding_bag(i, w, mode=mode), [uniform(100, 128), ids], grad_of=())
    assert_rounded_once(lambda w, i, p: F.embedding_bag(i, w, mode="sum", per_sample_weights=p),
                        [uniform(100, 128), ids, uniform(256, 20)], gy=uniform(256, 128), grad_of=(2,))


def test_ctc_loss_recursions_in_float32():
    # 100 frames of 20 classes: log-likelihoods near -300, where float16's step is 0.25
    frames, n, classes, longest = 100, 16, 20, 30
    log_probs = np.log(rng.dirichlet(np.ones(classes), (frames, n)))
    targets = rng.integers(1, classes, (n, longest))
    lengths = rng.integers(10, longest, n)
    assert_rounded_once(lambda lp, t, i, s: F.ctc_loss(lp, t, i, s, reduction="sum"),
                        [log_probs, targets, np.full(n, frames), lengths], units=1.0)


_pos_weight = ag.tensor(np.linspace(0.5, 3, 1024).astype(np.float16))


# 256 x 1024 elements: the mean's 1/N (2**-18) is a float16 subnormal
@pytest.mark.parametrize("loss", [
    lambda a, b: F.mse_loss(a, b),
    lambda a, b: F.binary_cross_entropy(a, b),
    lambda a, b: F.binary_cross_entropy_with_logits(a, b),
    lambda a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=_pos_weight.astype(a.dtype)),
], ids=["mse", "bce", "bce_with_logits", "bce_with_logits_pos_weight"])
def test_loss_gradients_among_the_subnormals(loss):
    p, y = uniform(256, 1024, low=0.001, high=0.999), uniform(256, 1024, low=0, high=1)
    assert_rounded_once(loss, [p, y], grad_of=(0, 1))


def test_binary_cross_entropy_float16_gradient_as_torch(torch):
    p = uniform(256, 1024, low=0.001, high=0.999).astype(np.float16)
    y = uniform(256, 1024, low=0, high=1).astype(np.float16)
    ours = ag.tensor(p, requires_grad=True)
    F.binary_cross_entropy(ours, ag.tensor(y)).backward()
    theirs = torch.tensor(p, requires_grad=True)
    torch.nn.functional.binary_cross_entropy(theirs, torch.tensor(y)).backward()
    assert ours.grad.dtype == ag.float16
    # both within half a float16 unit of the float64 gradient, so a unit apart (two by relative
    # size just past a power of 2), or a subnormal step; before, 16 units apart
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=2 ** -9, atol=2 ** -24)
