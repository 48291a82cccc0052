"""Hooks on graph nodes (grad_fn.register_prehook / register_hook, PyTorch's Node hooks) and
node metadata, against PyTorch: what they see, what a returned tuple replaces, their
order with tensor hooks, handles, and ag.grad."""
import numpy as np
import pytest

import autograd as ag

torch = pytest.importorskip("torch")

X, W = np.array([1.0, -2.0, 3.0]), np.array([0.5, 4.0, -1.0])


def _mul_graph(lib):
    x = lib.tensor(X, requires_grad=True)
    w = lib.tensor(W, requires_grad=True)
    return x, w, x * w


def _as_arrays(grads):
    return [None if g is None else g.detach().numpy().copy() for g in grads]


def _record(lib):
    """What each hook saw, in order, and the leaves' gradients after two hooks replaced some."""
    x, w, y = _mul_graph(lib)
    seen = []
    y.register_hook(lambda g: seen.append(("tensor hook", _as_arrays([g]))))
    y.grad_fn.register_prehook(lambda grad_outputs: seen.append(("prehook", _as_arrays(grad_outputs))))
    y.grad_fn.register_prehook(lambda grad_outputs: tuple(g * 2 for g in grad_outputs))
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: seen.append(
        ("hook", _as_arrays(grad_inputs), _as_arrays(grad_outputs))))
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: (grad_inputs[0], None))
    (y * lib.tensor([1.0, 10.0, 100.0])).sum().backward()
    return seen, x.grad.numpy(), w.grad


def test_node_hooks_see_and_replace_as_torchs():
    (ours, our_gx, our_gw), (theirs, their_gx, their_gw) = _record(ag), _record(torch)
    assert [entry[0] for entry in ours] == [entry[0] for entry in theirs] == ["tensor hook", "prehook", "hook"]
    for mine, other in zip(ours, theirs):
        for a, b in zip(mine[1:], other[1:]):
            assert len(a) == len(b)
            for u, v in zip(a, b):
                np.testing.assert_array_equal(u, v)
    np.testing.assert_array_equal(our_gx, their_gx)
    assert our_gw is None and their_gw is None  # the hook's None for w's gradient stopped it


def test_handles_remove_and_ag_grad_runs_the_hooks_of_the_nodes_it_passes():
    x, w, y = _mul_graph(ag)
    calls = []
    handle = y.grad_fn.register_prehook(lambda grad_outputs: calls.append("pre"))
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: calls.append("post"))
    (gx,) = ag.grad(y.sum(), x, retain_graph=True)
    np.testing.assert_array_equal(gx.numpy(), W)
    handle.remove()
    y.sum().backward()
    assert calls == ["pre", "post", "post"]


def test_a_hook_that_returns_a_wrong_tuple_is_refused_naming_the_fix():
    x, w, y = _mul_graph(ag)
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: (grad_inputs[0],))
    with pytest.raises(TypeError, match="return a tuple of 2 input gradients"):
        y.sum().backward()
    x, w, y = _mul_graph(ag)
    y.grad_fn.register_prehook(lambda grad_outputs: [1.0])
    with pytest.raises(TypeError, match="returned a float among the output gradients"):
        y.sum().backward()


def test_metadata_is_a_dict_kept_on_the_node():
    x, w, y = _mul_graph(ag)
    y.grad_fn.metadata["layer"] = "first"
    assert y.grad_fn.metadata == {"layer": "first"}
    assert (x * 2).grad_fn.metadata == {}
