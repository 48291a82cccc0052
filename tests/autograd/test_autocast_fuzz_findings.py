"""What a differential fuzz of ag.autocast against torch.autocast("cpu", dtype=torch.float16)
found: a checkpoint's recomputation ran without its forward's autocast state, a weight's
float16 copy made under no_grad was kept for later uses that record, and the norms refused
the float16 output of a convolution or linear layer with their float32 parameters."""
import numpy as np
import pytest

import autograd as ag
import backends
import nn
import nn.functional as F
from autograd.checkpoint import checkpoint

torch = pytest.importorskip("torch")
TF = torch.nn.functional


@pytest.fixture(autouse=True)
def _on_the_cpu():
    """These compare with PyTorch's CPU autocast, which (as ag.autocast("cpu")) casts CPU
    tensors only: new tensors and modules go there whatever the default device is."""
    with backends.default_device("cpu"):
        yield


def _dtype_name(t):
    return str(t.dtype).replace("torch.", "")


def _pair(make):
    """The same layer in topograd and PyTorch, with PyTorch's initial values."""
    theirs = make(torch.nn)
    ours = make(nn)
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("use_reentrant", [False, True])
@pytest.mark.parametrize("backward_inside", [False, True])
@pytest.mark.parametrize("cast_before", [False, True])
def test_a_checkpoint_recomputes_under_its_forwards_autocast_state(use_reentrant, backward_inside, cast_before):
    """As PyTorch's, the recomputation in backward runs under the forward's autocast state
    (it ran in float32 and failed the determinism check), and takes the float16 copies of
    weights cast before the checkpoint from the block's cache, so the gradients are the
    plain run's bit for bit."""
    rng = np.random.default_rng(0)
    first, second = nn.Linear(4, 8), nn.Linear(8, 3)
    x = ag.tensor(rng.normal(size=(5, 4)).astype(np.float32), requires_grad=True)
    params = [*first.parameters(), *second.parameters(), x]

    def segment(h):
        return F.relu(first(h))

    def gradients(checkpointed):
        for p in params:
            p.grad = None
        with ag.autocast("cpu"):
            if cast_before:  # the weight's float16 copy is made outside the checkpoint
                F.linear(x, first.weight)
            hidden = checkpoint(segment, x, use_reentrant=use_reentrant) if checkpointed else segment(x)
            assert str(hidden.dtype) == "float16"
            loss = second(hidden).astype(ag.float32).sum()
            if backward_inside:
                loss.backward()
        if not backward_inside:
            loss.backward()
        return [p.grad.numpy().copy() for p in params]

    for got, want in zip(gradients(True), gradients(False)):
        np.testing.assert_array_equal(got, want)


def test_a_checkpoint_under_enabled_false_recomputes_in_float32_inside_a_block():
    w = ag.tensor(np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32), requires_grad=True)
    x = ag.ones(2, 4)
    with ag.autocast("cpu", enabled=False):
        y = checkpoint(lambda h: F.linear(h, w), x, use_reentrant=False)
    with ag.autocast("cpu"):  # backward in an enabled block: the recomputation is still float32
        y.sum().backward()
    assert str(y.dtype) == "float32"
    np.testing.assert_array_equal(w.grad.numpy(), np.full((3, 4), 2.0, np.float32))


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_a_weight_cast_under_no_grad_is_not_reused_by_a_later_recorded_use(mode):
    """The cached float16 copy made under no_grad had no graph: the next use in the block
    did not require grad and the weight got no gradient. PyTorch's gets one."""
    ours, theirs = _pair(lambda m: m.Linear(3, 2))
    x = np.random.default_rng(2).normal(size=(4, 3)).astype(np.float32)
    with ag.autocast("cpu"):
        with getattr(ag, mode)():
            ours(ag.tensor(x))
        out = ours(ag.tensor(x))
        assert out.requires_grad
        out.astype(ag.float32).sum().backward()
    with torch.autocast("cpu", dtype=torch.float16):
        with getattr(torch, mode)():
            theirs(torch.tensor(x))
        theirs(torch.tensor(x)).float().sum().backward()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert str(p.grad.dtype) == "float32"
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=2e-3, atol=2e-3)


MODELS = {
    "conv2d-batchnorm2d": (lambda m: m.Sequential(m.Conv2d(3, 4, 3), m.BatchNorm2d(4), m.ReLU()), (4, 3, 6, 6)),
    "conv1d-batchnorm1d-eval": (lambda m: m.Sequential(m.Conv1d(3, 4, 3), m.BatchNorm1d(4).eval()), (4, 3, 7)),
    "conv3d-instancenorm3d": (lambda m: m.Sequential(m.Conv3d(2, 3, 2), m.InstanceNorm3d(3, affine=True,
                                                                                          track_running_stats=True)),
                              (2, 2, 4, 4, 4)),
    "conv2d-groupnorm": (lambda m: m.Sequential(m.Conv2d(3, 4, 3), m.GroupNorm(2, 4)), (2, 3, 5, 5)),
    "linear-layernorm": (lambda m: m.Sequential(m.Linear(6, 8), m.LayerNorm(8)), (5, 6)),
    "linear-rmsnorm": (lambda m: m.Sequential(m.Linear(6, 8), m.RMSNorm(8)), (5, 6)),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_norm_takes_a_float16_activation_with_its_float32_parameters_as_torch(name):
    """Under CPU autocast a float32 model's norm meets the float16 output of the layer
    before it; it raised "use one dtype". PyTorch's norms take a float16 input with float32
    parameters and buffers (in float32, rounded once): float16 out, float32 gradients."""
    make, shape = MODELS[name]
    ours, theirs = _pair(make)
    x = np.random.default_rng(3).normal(size=shape).astype(np.float32)
    with ag.autocast("cpu"):
        got = ours(ag.tensor(x))
    with torch.autocast("cpu", dtype=torch.float16):
        want = theirs(torch.tensor(x))
    assert str(got.dtype) == _dtype_name(want) == "float16"
    np.testing.assert_allclose(got.numpy().astype(np.float32), want.detach().float().numpy(), rtol=1e-2, atol=1e-2)
    weights = np.random.default_rng(4).normal(size=got.shape).astype(np.float32)
    (got.astype(ag.float32) * ag.tensor(weights)).sum().backward()
    (want.float() * torch.tensor(weights)).sum().backward()
    # float16's rounding, against the largest gradient: a bias before a norm has a gradient of about 0
    atol = 1e-2 * max(np.abs(q.grad.numpy()).max() for q in theirs.parameters())
    for (key, p), q in zip(ours.named_parameters(), theirs.parameters()):
        assert str(p.grad.dtype) == "float32", key
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=3e-2, atol=atol, err_msg=key)
    for (key, b), c in zip(ours.named_buffers(), theirs.buffers()):  # running statistics, updated in float32
        assert str(b.dtype) == _dtype_name(c), key
        np.testing.assert_allclose(b.numpy(), c.numpy(), rtol=1e-3, atol=1e-3)


def test_the_norms_mixed_dtypes_outside_autocast_are_torchs():
    """The same rule outside any block, as PyTorch's: a float16 input with float32
    parameters is normalized in float32 and rounded once; other mixes are refused."""
    rng = np.random.default_rng(5)
    x = rng.normal(0, 3, (4, 3, 5)).astype(np.float16)
    w, b = rng.normal(1, 0.5, 5).astype(np.float32), rng.normal(0, 0.5, 5).astype(np.float32)
    mean, var = rng.normal(0, 0.5, 3).astype(np.float32), rng.uniform(0.5, 2, 3).astype(np.float32)
    got = F.layer_norm(ag.tensor(x), (5,), ag.tensor(w), ag.tensor(b))
    np.testing.assert_array_equal(got.numpy(), TF.layer_norm(torch.tensor(x), (5,), torch.tensor(w),
                                                             torch.tensor(b)).numpy())
    got = F.batch_norm(ag.tensor(x), ag.tensor(mean), ag.tensor(var), ag.tensor(w[:3]), ag.tensor(b[:3]))
    np.testing.assert_array_equal(got.numpy(), TF.batch_norm(torch.tensor(x), torch.tensor(mean), torch.tensor(var),
                                                             torch.tensor(w[:3]), torch.tensor(b[:3])).numpy())
    got = F.rms_norm(ag.tensor(x), (5,), ag.tensor(w))
    assert str(got.dtype) == "float16"
    np.testing.assert_array_equal(got.numpy(), TF.rms_norm(torch.tensor(x), (5,), torch.tensor(w)).numpy())
    with pytest.raises(TypeError, match="layer_norm: weight is float32 but the input is float16"):
        F.layer_norm(ag.tensor(x), (5,), ag.tensor(w), ag.tensor(b.astype(np.float16)))
    with pytest.raises(TypeError, match="batch_norm: running_mean is float16 but the input is float32"):
        F.batch_norm(ag.tensor(x.astype(np.float32)), ag.tensor(mean.astype(np.float16)),
                     ag.tensor(var.astype(np.float16)))
    with pytest.raises(TypeError, match="group_norm: weight is float32 but the input is float64"):
        F.group_norm(ag.tensor(x.astype(np.float64)), 3, ag.tensor(w[:3]))
