"""float16 gradients that the fused backwards sum over a batch, against PyTorch on the CPU
(or NumPy where PyTorch's own kernel adds in float16): each sum adds up in float32 and
rounds once, as ``accumulate`` does. NumPy adds a float16 sum over a strided axis in
float16, which stops growing at 2048 (8192 for these values), so a bare ``xp.sum`` gave
bias gradients thousands off. Inputs are sized so that the sums need more than float16's
11 bits; the tolerance is a couple of float16 units in the last place."""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

from tests.torch_versions import needs_torch


def assert_within_ulps(ours, reference, ulps=2):
    """``ours`` (float16) within ``ulps`` float16 units of ``reference``, rounded to float16."""
    reference = np.asarray(reference).astype(np.float16)
    unit = np.spacing(np.abs(reference)).astype(np.float64)
    gap = np.abs(np.asarray(ours, np.float64) - reference.astype(np.float64))
    assert ours.dtype == np.float16
    assert np.all(gap <= ulps * unit), f"{ours} is {np.max(gap / unit)} float16 units from {reference}"


def twin_modules(torch, ours, theirs, seed):
    """``ours`` given ``theirs``'s parameters (drawn in float16), both then in float16."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, tuple(p.shape)).astype(np.float16)))
    theirs.half()
    ours.half()
    ours.load_state_dict({key: value.numpy() for key, value in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("seq_len, batch", [(1, 8192), (4, 2048)])
def test_gru_bias_gradient_over_a_long_batch(torch, seq_len, batch):
    """GRUSequence summed b_hh's gradient over every step's rows in float16."""
    ours, theirs = twin_modules(torch, nn.GRU(4, 3), torch.nn.GRU(4, 3), seed=1)
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (seq_len, batch, 4)).astype(np.float16)
    g = rng.uniform(2, 8, (seq_len, batch, 3)).astype(np.float16)
    ours(ag.tensor(x))[0].backward(ag.tensor(g))
    theirs(torch.from_numpy(x))[0].backward(torch.from_numpy(g))
    expected = theirs.bias_hh_l0.grad.numpy()
    assert np.abs(expected).max() > 4096  # past where a float16 running sum of these stops growing
    assert_within_ulps(ours.bias_hh_l0.grad.numpy(), expected)
    assert_within_ulps(ours.bias_ih_l0.grad.numpy(), theirs.bias_ih_l0.grad.numpy())


def test_gru_cell_bias_gradient_over_a_long_batch(torch):
    """GRUStep (nn.GRUCell's op) summed b_hh's gradient
    over the batch in float16."""
    ours, theirs = twin_modules(torch, nn.GRUCell(4, 3), torch.nn.GRUCell(4, 3), seed=3)
    rng = np.random.default_rng(4)
    x, h = rng.uniform(-1, 1, (8192, 4)).astype(np.float16), rng.uniform(-1, 1, (8192, 3)).astype(np.float16)
    g = rng.uniform(2, 8, (8192, 3)).astype(np.float16)
    ours(ag.tensor(x), ag.tensor(h)).backward(ag.tensor(g))
    theirs(torch.from_numpy(x), torch.from_numpy(h)).backward(torch.from_numpy(g))
    expected = theirs.bias_hh.grad.numpy()
    assert np.abs(expected).max() > 4096
    assert_within_ulps(ours.bias_hh.grad.numpy(), expected)
    assert_within_ulps(ours.bias_ih.grad.numpy(), theirs.bias_ih.grad.numpy())


@needs_torch("2.13", "F.linear_cross_entropy is new in 2.13")
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_linear_cross_entropy_bias_gradient(torch, reduction):
    """The chunked linear_cross_entropy summed each chunk's logit gradients in float16 for
    the bias (14 float16 units off PyTorch's on 1024 rows, thousands on 8192)."""
    rng = np.random.default_rng(5)
    n, features, classes = 8192, 8, 3
    x = rng.standard_normal((n, features)).astype(np.float16)
    w = rng.standard_normal((classes, features)).astype(np.float16)
    b = np.array([4.0, 0.0, -4.0], np.float16)  # class 0 wins most rows: its gradient sums one sign
    target = rng.integers(1, classes, n)
    ours = [ag.tensor(a, requires_grad=True) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    loss = F.linear_cross_entropy(ours[0], ours[1], ag.tensor(target), linear_bias=ours[2], reduction=reduction)
    expected_loss = torch.nn.functional.linear_cross_entropy(theirs[0], theirs[1], torch.from_numpy(target),
                                                             linear_bias=theirs[2], reduction=reduction)
    loss.backward()
    expected_loss.backward()
    assert_within_ulps(loss.detach().numpy(), expected_loss.detach().numpy())
    assert_within_ulps(ours[2].grad.numpy(), theirs[2].grad.numpy())


def test_replicate_padding_gradient_sums_the_edge_in_float32():
    """A replicated edge's gradient is the sum of its copies' gradients; over a strided
    axis (the rows here) NumPy added it in float16 (1965 for 1984.7), over a contiguous one
    in float32. Checked against NumPy's float32 sum: PyTorch's CPU kernel adds the copies
    one at a time in float16 on every axis (1966 here, and 2048 at most for values below
    1), which topograd does not follow."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float16)
    top = 4000
    g = rng.uniform(0, 1, (2, 3, 4 + top, 5)).astype(np.float16)
    xo = ag.tensor(x, requires_grad=True)
    F.pad(xo, (0, 0, top, 0), mode="replicate").backward(ag.tensor(g))
    expected = g[:, :, top:, :].astype(np.float32)
    expected[:, :, 0, :] = g[:, :, :top + 1, :].astype(np.float32).sum(axis=2)
    assert_within_ulps(xo.grad.numpy(), expected)


# --- the same float16 sums in forwards and in a reduction's backward ----------------------------

@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_along_a_strided_axis(torch, name):
    """softmax and log_softmax along axis 0 summed the exponentials in float16 (each of
    8192 rows of a softmax came out up to 1.75 times PyTorch's)."""
    x = np.random.default_rng(7).uniform(-1, 1, (8192, 3)).astype(np.float16)
    xo, xt = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    g = np.random.default_rng(8).uniform(-1, 1, x.shape).astype(np.float16)
    yo, yt = getattr(F, name)(xo, 0), getattr(torch.nn.functional, name)(xt, 0)
    yo.backward(ag.tensor(g))
    yt.backward(torch.from_numpy(g))
    assert_within_ulps(yo.detach().numpy(), yt.detach().numpy())
    # the gradients cancel (gy - exp(y) sum(gy) for log_softmax): two float16 units of their largest
    expected = xt.grad.numpy()
    unit = float(np.spacing(np.abs(expected).max()))  # float16's
    np.testing.assert_allclose(xo.grad.numpy().astype(np.float64), expected.astype(np.float64), rtol=0, atol=2 * unit)


def test_cross_entropy_of_transposed_logits(torch):
    """Logits that are a transposed view have a strided class axis: their exponentials were
    summed in float16 (losses 9.28 for PyTorch's 9.836)."""
    rng = np.random.default_rng(9)
    z = rng.uniform(-1, 1, (8192, 4)).astype(np.float16)  # (C, N), used as its transpose
    target = rng.integers(0, 8192, 4)
    lo = F.cross_entropy(ag.tensor(z).T, ag.tensor(target), reduction="none")
    lt = torch.nn.functional.cross_entropy(torch.from_numpy(z).T, torch.from_numpy(target), reduction="none")
    assert_within_ulps(lo.numpy(), lt.numpy())


def test_max_gradient_shares_among_more_than_2048_ties(torch):
    """max's gradient is split evenly among the ties; their count over a strided axis ran in
    float16, stopped at 2048, and 4096 ties took a gradient summing to 2, not 1."""
    x = np.ones((4096, 3), np.float16)
    xo, xt = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    xo.max(axis=0).backward(ag.tensor(np.ones(3, np.float16)))
    torch.amax(xt, 0).backward(torch.ones(3, dtype=torch.float16))
    np.testing.assert_array_equal(xo.grad.numpy(), xt.grad.numpy())
