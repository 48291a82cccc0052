"""Findings of a fuzz of how checkpoint, functional_call, ag.functional, prune and the
profiler work together."""
import numpy as np
import pytest

import autograd as ag
import nn
from autograd.checkpoint import checkpoint
from nn.utils.stateless import functional_call


class _TwoLayers(nn.Module):
    """Linear -> tanh -> Linear, the first block checkpointed when ``checkpointed``."""

    def __init__(self, checkpointed):
        super().__init__()
        self.a, self.b, self.checkpointed = nn.Linear(3, 4), nn.Linear(4, 1), checkpointed

    def forward(self, x):
        block = lambda z: self.a(z).tanh()
        h = checkpoint(block, x, use_reentrant=False) if self.checkpointed else block(x)
        return self.b(h)


def _model(checkpointed, seed=0):
    model = _TwoLayers(checkpointed).to(dtype=ag.float64)
    rng = np.random.default_rng(seed)
    for p in model.parameters():
        p.data = ag.tensor(rng.standard_normal(p.shape), device=p.device).data  # (the default device's)
    return model


def _data(seed=1):
    rng = np.random.default_rng(seed)
    return ag.tensor(rng.standard_normal((6, 3))), ag.tensor(rng.standard_normal((6, 1)))


def test_functional_call_recomputes_a_checkpoint_with_the_given_tensors():
    # The recomputation runs in backward, after functional_call has put the module's own
    # tensors back: it read those (CheckpointError; PyTorch silently uses their values)
    x, _ = _data()
    grads, outs = [], []
    for checkpointed in (True, False):
        model = _model(checkpointed)
        own = {k: p.numpy().copy() for k, p in model.named_parameters()}
        given = {k: ag.tensor(p.numpy() * 1.5, requires_grad=True) for k, p in model.named_parameters()}
        out = functional_call(model, given, (x,))
        (out ** 2).sum().backward()
        outs.append(out.numpy())
        grads.append({k: t.grad.numpy() for k, t in given.items()})
        for k, p in model.named_parameters():  # the module is left as it was
            assert p.grad is None
            np.testing.assert_array_equal(p.numpy(), own[k])
    np.testing.assert_array_equal(outs[0], outs[1])
    for k in grads[1]:
        np.testing.assert_allclose(grads[0][k], grads[1][k], rtol=1e-12, atol=1e-12)


def test_functional_call_checkpoint_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    x, _ = _data()
    model = _model(True)
    given = {k: ag.tensor(p.numpy() * 1.5, requires_grad=True) for k, p in model.named_parameters()}
    (functional_call(model, given, (x,)) ** 2).sum().backward()
    ref = {k: torch.tensor(t.numpy(), requires_grad=True) for k, t in given.items()}
    h = torch.tanh(torch.tensor(x.numpy()) @ ref["a.weight"].T + ref["a.bias"])
    ((h @ ref["b.weight"].T + ref["b.bias"]) ** 2).sum().backward()
    for k, t in given.items():
        np.testing.assert_allclose(t.grad.numpy(), ref[k].grad.numpy(), rtol=1e-10, atol=1e-12)


def test_maml_through_a_checkpointed_block_matches_the_plain_run():
    x, y = _data()
    grads = []
    for checkpointed in (True, False):
        model = _model(checkpointed)
        params = dict(model.named_parameters())
        inner = ((functional_call(model, params, (x,)) - y) ** 2).mean()
        steps = ag.grad(inner, list(params.values()), create_graph=True)
        fast = {k: p - 0.1 * g for (k, p), g in zip(params.items(), steps)}
        outer = ((functional_call(model, fast, (x,)) - y) ** 2).mean()
        outer.backward()
        grads.append([p.grad.numpy() for p in model.parameters()])
    for with_checkpoint, plain in zip(*grads):
        np.testing.assert_allclose(with_checkpoint, plain, rtol=1e-12, atol=1e-14)
