"""Findings of a differential fuzz of saved-tensor hooks (ag.graph) against PyTorch 2.13's
torch.autograd.graph: random small networks under pass-through, copying, counting and
save_on_cpu hooks, nested, with checkpoints, create_graph, retain_graph, threads, and hooks
that raise. (The LR scheduler half of the fuzz: tests/nn/test_scheduler_checkpoint_fuzz_findings.py.)"""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

X = np.array([[-1.0, 2.0, -3.0], [0.5, -0.25, 4.0]])


def _failing_pack(t):
    raise KeyError("pack refused")


IN_PLACE_RELUS = {
    "Tensor.relu_": lambda y: y.relu_(),
    "F.relu(inplace=True)": lambda y: F.relu(y, inplace=True),
    "nn.ReLU(inplace=True)": lambda y: nn.ReLU(inplace=True)(y),
}


@pytest.mark.parametrize("relu_", IN_PLACE_RELUS)
def test_an_in_place_relu_whose_pack_hook_raises_leaves_its_tensor_as_it_was(relu_):
    # The in-place kernel wrote max(y, 0) into y before pack_hook ran; the hook's error then
    # left y holding ReLU's values under its old place in the graph (Mul's), so backward gave
    # 2 where ReLU's gradient is 0. (PyTorch keeps the values and fails in backward.)
    x = ag.tensor(X, dtype=ag.float64, requires_grad=True)
    y = x * 2
    with pytest.raises(KeyError, match="pack refused"):
        with ag.graph.saved_tensors_hooks(_failing_pack, lambda packed: packed):
            IN_PLACE_RELUS[relu_](y)
    np.testing.assert_array_equal(y.numpy(), X * 2)
    assert y._version is None or y._version.value == 0
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 8 * X)  # d/dx (2x)^2, through the Mul it still is


@pytest.mark.parametrize("hooks", ["copy", "save_on_cpu"])
def test_in_place_relus_under_saved_tensor_hooks_give_pytorch_s_gradients(torch, hooks):
    rng = np.random.default_rng(7)
    w1, w2, inputs = rng.standard_normal((4, 3)), rng.standard_normal((2, 4)), rng.standard_normal((5, 3))

    def run(lib, functional, graph, relu_):
        x = lib.tensor(inputs, requires_grad=True)
        a, b = lib.tensor(w1, requires_grad=True), lib.tensor(w2, requires_grad=True)
        if hooks == "save_on_cpu":
            context = graph.save_on_cpu()
        else:
            context = graph.saved_tensors_hooks(lambda t: t.detach().numpy().copy(),
                                                lambda packed: lib.tensor(packed))
        with context:
            h = relu_(functional.linear(x, a))
            out = functional.linear(h, b).relu_()
        (out * out).sum().backward()
        return [t.grad.numpy() for t in (x, a, b)]

    ours = run(ag, F, ag.graph, lambda h: F.relu(h, inplace=True))
    theirs = run(torch, torch.nn.functional, torch.autograd.graph,
                 lambda h: torch.nn.functional.relu(h, inplace=True))
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t, rtol=1e-12)
