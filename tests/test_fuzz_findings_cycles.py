"""Findings of a fuzz for reference cycles and memory kept too long (see
tests/test_no_reference_cycles.py for the promise and the helpers used here): each check
runs with Python's cyclic collector off and asks what only the collector could free.
"""
import gc
import weakref

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from autograd import function, grad_mode
from autograd.checkpoint import checkpoint
from nn.utils import prune
from nn.utils.spectral_norm import spectral_norm
from nn.utils.weight_norm import weight_norm
from tests.autograd.test_viz import cluster_labels
from tests.test_no_reference_cycles import assert_no_cycles


class _KeepsItsLoss(nn.Module):
    """PyTorch's style-transfer tutorial's ContentLoss: forward keeps the loss it made."""

    def __init__(self, target):
        super().__init__()
        self.target = target

    def forward(self, x):
        self.loss = F.mse_loss(x, self.target)
        return x


def _model_keeping_a_loss():
    model = nn.Sequential(nn.Linear(3, 3), _KeepsItsLoss(ag.randn(2, 3)))
    model(ag.randn(2, 3))
    model[1].loss.backward()


def _forward_hook_keeping_the_output():
    layer = nn.Linear(3, 3)
    layer.register_forward_hook(lambda module, inputs, output: setattr(module, "last_output", output))
    layer(ag.randn(2, 3))


def _pruned_and_normed_layers_in_a_container():
    # the pre-hook sets layer.weight = mask * weight_orig inside the container's call
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3), weight_norm(nn.Linear(3, 3)),
                          spectral_norm(nn.Linear(3, 2)))
    prune.ln_structured(model[1], "weight", 0.5, n=2, dim=0)
    prune.global_unstructured([(model[0], "weight"), (model[1], "bias")], prune.L1Unstructured, amount=0.2)
    model(ag.randn(2, 3)).sum().backward()


@pytest.mark.filterwarnings("ignore:nn.utils.weight_norm is deprecated")
@pytest.mark.parametrize("run", [_model_keeping_a_loss, _forward_hook_keeping_the_output,
                                 _pruned_and_normed_layers_in_a_container], ids=lambda f: f.__name__.strip("_"))
def test_a_module_that_keeps_a_tensor_of_its_call_leaves_no_cycle(device, run):
    """Each node kept the stack of modules it was recorded in (for drawings and the
    profiler) as strong references, so a module keeping a tensor made in its call, or
    in a call of a module inside it, closed a cycle: module -> tensor -> node -> scope
    tuple -> module. The model, its parameters and the whole graph stayed until gc ran.
    PyTorch's nodes hold no modules; topograd's now hold them weakly."""
    assert_no_cycles(run, run.__name__)


def test_a_model_that_keeps_its_loss_is_freed_with_its_graph_by_reference_counting(device):
    gc.collect()
    gc.disable()
    try:
        model = nn.Sequential(nn.Linear(3, 3), _KeepsItsLoss(ag.randn(2, 3)))
        model(ag.randn(2, 3))
        refs = [weakref.ref(o) for o in (model, model[1].loss, model[1].loss.grad_fn, model[0].weight)]
        del model
        assert [r() for r in refs] == [None] * len(refs)
    finally:
        gc.enable()


class _Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = nn.Linear(3, 4)
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        return self.out(self.inner(x).tanh())


def test_drawings_and_the_profiler_name_modules_while_they_live_and_skip_freed_ones(device):
    model = _Block()
    loss = model(ag.randn(2, 3)).sum()
    assert sorted(cluster_labels(ag.make_dot(loss).source)) == ["_Block", "inner (Linear)", "out (Linear)"]
    del model  # the graph lives on, its modules do not: drawn and profiled outside any module
    assert cluster_labels(ag.make_dot(loss).source) == []
    assert "(outside any module)" in ag.make_dot(loss, max_nodes=1).source
    with ag.profiler.profile() as prof:
        loss.backward()
    assert prof.events and {e.module for e in prof.events} == {None}


def test_checkpoint_frees_tensors_passed_inside_a_list_after_backward(device):
    """checkpoint kept its non-Tensor arguments (a list of tensors among them) on the
    node for the recomputation, and backward freed only the RNG states and the
    external tensors: a tensor in a list argument lived as long as the graph."""
    lin = nn.Linear(4, 4)
    x = ag.tensor(np.linspace(-1.0, 1.0, 12, dtype=np.float32).reshape(3, 4), requires_grad=True)

    def f(xs):
        return lin(xs[0]).tanh() * xs[1]

    gc.collect()
    gc.disable()
    try:
        doubled = x * 2
        kept = weakref.ref(doubled.data)
        loss = checkpoint(f, [x, doubled], use_reentrant=False).sum()
        del doubled
        loss.backward()
        assert kept() is None, "the list argument's tensor outlived backward"
    finally:
        gc.enable()
    w, b, xv = lin.weight.numpy(), lin.bias.numpy(), x.numpy()
    h = np.tanh(xv @ w.T + b)
    expected = ((1 - h ** 2) * 2 * xv) @ w + 2 * h
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_checkpoint_with_retain_graph_still_recomputes_for_the_second_backward(device):
    x = ag.tensor([0.5, -1.0, 2.0], dtype="float64", requires_grad=True)
    loss = checkpoint(lambda xs: (xs[0].exp() * xs[1]).sum(), [x, x * 3], use_reentrant=False)
    loss.backward(retain_graph=True)
    loss.backward()
    xv = x.numpy()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (np.exp(xv) * 3 * xv + 3 * np.exp(xv)))
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()


class _FailingBackward(ag.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data * 1

    @staticmethod
    def backward(ctx, g):
        raise ValueError("backward fails")


def _failures_in_forward_and_backward():
    x = ag.randn(3, requires_grad=True)
    with pytest.raises(ValueError, match="backward fails"):
        (_FailingBackward.apply(x.exp()) * x).sum().backward()
    with pytest.raises(ValueError, match="backward fails"), ag.profiler.profile(), ag.detect_anomaly():
        ag.grad(_FailingBackward.apply(x.exp()).sum(), x, create_graph=True)
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    model[1].register_forward_pre_hook(lambda module, inputs: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        model(x.reshape(1, 3))
    calls = []

    def fails_when_recomputed(t):
        calls.append(1)
        if len(calls) > 1:
            raise KeyError("recomputation fails")
        return t.exp()

    y = checkpoint(fails_when_recomputed, x, use_reentrant=False).sum()
    with pytest.raises(KeyError, match="recomputation fails"):
        y.backward()


def test_a_failed_forward_or_backward_leaves_no_cycle_and_no_thread_state(device):
    assert_no_cycles(_failures_in_forward_and_backward, "failures in forward and backward")
    state = grad_mode.state
    assert (state.enabled, state.scope, state.retain_graph, function.observers) == (True, None, True, [])


def test_training_steps_do_not_grow_the_objects_the_collector_tracks(device):
    model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 3))
    model[4].register_full_backward_hook(lambda module, grad_input, grad_output: None)
    model[0].register_forward_hook(lambda module, inputs, output: None)
    optimizer = nn.optim.AdamW(model.parameters(), lr=1e-2, amsgrad=True)
    scheduler = nn.optim.lr_scheduler.OneCycleLR(optimizer, 0.1, total_steps=100)
    x, target = ag.randn(10, 6), ag.tensor(np.arange(10) % 3)

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), target)
        loss.backward()
        optimizer.step()
        scheduler.step()

    for _ in range(5):  # optimizer state and lazily made caches first
        step()
    gc.collect()
    gc.disable()
    try:
        before = len(gc.get_objects())
        for _ in range(50):
            step()
        grown = len(gc.get_objects()) - before
    finally:
        gc.enable()
    assert grown < 25, f"50 training steps left {grown} more objects for the collector"
