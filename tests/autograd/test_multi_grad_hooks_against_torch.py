"""ag.graph.register_multi_grad_hook against torch.autograd.graph's: mode 'all' waits for
every tensor the pass reaches (None for the others), mode 'any' fires once per pass, under
backward and ag.grad, and its handle removes every hook."""
import numpy as np
import pytest

import autograd as ag

torch = pytest.importorskip("torch")


def _graph(lib):
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    b = lib.tensor([3.0, -1.0], requires_grad=True)
    c = lib.tensor([0.5, 0.5], requires_grad=True)  # not used by the loss below
    mid = a * b
    return a, b, c, mid, (mid * mid).sum() + b.sum()


def _arrays(grads):
    return [None if g is None else g.detach().numpy().copy() for g in grads]


@pytest.mark.parametrize("how", ["backward", "grad of mid"])
def test_all_mode_waits_for_what_the_pass_reaches_as_torchs(how):
    """Under ag.grad, the tensors are non-leaves here: PyTorch refuses leaves there
    ('not supported'), where topograd's hook takes them (see the next test)."""
    results = {}
    for name, lib, register, grad in (
            ("ours", ag, ag.graph.register_multi_grad_hook, ag.grad),
            ("torch", torch, torch.autograd.graph.register_multi_grad_hook, torch.autograd.grad)):
        a, b, c, mid, loss = _graph(lib)
        unused = c * 2
        calls = []
        if how == "backward":
            register((a, mid, c), lambda grads: calls.append(_arrays(grads)))
            loss.backward()
        else:
            register((mid, unused), lambda grads: calls.append(_arrays(grads)))
            grad(loss, (mid,))
        results[name] = calls
    assert len(results["ours"]) == len(results["torch"]) == 1
    for ours, theirs in zip(results["ours"][0], results["torch"][0]):
        assert (ours is None) == (theirs is None)
        if ours is not None:
            np.testing.assert_array_equal(ours, theirs)


def test_under_ag_grad_a_leaf_counts_when_it_is_asked_for():
    a, b, c, mid, loss = _graph(ag)
    calls = []
    ag.graph.register_multi_grad_hook((a, b, mid), lambda grads: calls.append(_arrays(grads)))
    ag.grad(loss, (a, mid))
    (grads,) = calls
    np.testing.assert_array_equal(grads[0], 2 * np.array([3.0, -2.0]) * np.array([3.0, -1.0]))
    assert grads[1] is None  # b is not asked for: its hooks do not run
    np.testing.assert_array_equal(grads[2], 2 * np.array([3.0, -2.0]))


def test_any_mode_fires_once_per_pass_with_the_first_gradient():
    for lib, register in ((ag, ag.graph.register_multi_grad_hook),
                          (torch, torch.autograd.graph.register_multi_grad_hook)):
        a, b, c, mid, loss = _graph(lib)
        calls = []
        register((a, b, mid), lambda grad: calls.append(grad.detach().numpy().copy()), mode="any")
        loss.backward(retain_graph=True)
        loss.backward()
        assert len(calls) == 2
        np.testing.assert_array_equal(calls[0], 2 * np.array([3.0, -2.0]))  # mid's gradient comes first


def test_the_handle_removes_every_hook_and_bad_arguments_are_refused():
    a, b, c, mid, loss = _graph(ag)
    calls = []
    handle = ag.graph.register_multi_grad_hook((a, b), calls.append)
    handle.remove()
    loss.backward()
    assert calls == []
    with pytest.raises(ValueError, match="mode must be 'all' or 'any'"):
        ag.graph.register_multi_grad_hook((a,), print, mode="some")
    with pytest.raises(RuntimeError, match="require grad"):  # as register_hook: graph state
        ag.graph.register_multi_grad_hook((ag.ones(2),), print)


def test_all_mode_waits_for_a_tensor_changed_in_place_after_registering_as_torchs():
    """The hook stays on the node that made the tensor then (as PyTorch's grad_fns); the
    pass was asked whether it reaches the tensor's new node, from the in-place change,
    which a loss computed before the change does not: fn fired with None for it."""
    results = {}
    for name, lib, register in (("ours", ag, ag.graph.register_multi_grad_hook),
                                ("torch", torch, torch.autograd.graph.register_multi_grad_hook)):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        w = lib.tensor([3.0, 4.0], requires_grad=True)
        y = x * 2
        calls = []
        register((y, w), lambda grads: calls.append(_arrays(grads)))
        before = ((y + w) ** 2).sum()
        y.mul_(3)
        before.backward(retain_graph=True)  # (y * w) goes through x * 2 again
        (y * w).sum().backward()
        results[name] = calls
    assert len(results["ours"]) == len(results["torch"]) == 2
    for ours, theirs in zip(results["ours"], results["torch"]):
        for a, b in zip(ours, theirs):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_allclose(a, b)
