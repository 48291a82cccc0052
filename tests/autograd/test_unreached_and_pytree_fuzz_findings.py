"""Findings of a fuzz of two changes against PyTorch 2.13: nodes the backward pass reaches
with no gradient (1e73d08), and ag.func's pytrees, has_aux and strict (66ed370)."""
import contextlib

import numpy as np
import pytest

import autograd as ag

from .test_unreached_nodes_against_torch import _functions  # Drop (sends nothing back) and Double

torch = pytest.importorskip("torch")


def _lib(name):
    """(the library, its Function base, the array a forward computes on, its checkpoint)."""
    if name == "torch":
        import torch.utils.checkpoint
        return torch, torch.autograd.Function, (lambda t: t), torch.utils.checkpoint.checkpoint
    return ag, ag.Function, (lambda t: t.data), ag.checkpoint.checkpoint


def _seen(events, label):
    return lambda g: events.append((label, None if g is None else g.tolist()))


@pytest.mark.parametrize("materialize", [True, False])
@pytest.mark.parametrize("inside", ["custom", "built-in"])
def test_a_checkpoint_the_pass_reaches_without_gradient_runs_its_graph_as_torch(materialize, inside):
    """The checkpoint's node stands for function's graph, which PyTorch's engine runs
    there: a custom Function inside gets zeros (None without materialized grads), which
    reach the leaf, and the hooks inside see None. topograd skipped the node."""
    def run(name):
        lib, _, _, checkpoint = _lib(name)
        events = []
        Drop, Double = _functions(name, events, materialize)
        a = lib.ones(2, dtype=lib.float64, requires_grad=True)
        a.register_hook(_seen(events, "a hook"))

        def block(x):
            h = (x * 3).sin()
            h.register_hook(_seen(events, "inner hook"))
            return Double.apply(h) if inside == "custom" else h.exp()
        out = checkpoint(block, a, use_reentrant=False)
        Drop.apply(out).sum().backward()
        return events, None if a.grad is None else a.grad.tolist()
    ours, theirs = run("ag"), run("torch")
    assert ours == theirs
    assert ours[1] == ([0.0, 0.0] if inside == "custom" and materialize else None)


@pytest.mark.parametrize("path", ["plain", "node hook", "anomaly"])
def test_a_second_backward_through_freed_nodes_no_gradient_reaches_raises_as_torch(path):
    """Without retain_graph, the first pass frees what exp saved; PyTorch's node unpacks it
    even when it gets no gradient, so the second pass raises. topograd's passed quietly."""
    def run(name):
        lib = _lib(name)[0]
        Drop, _ = _functions(name, [])
        b = lib.ones(2, dtype=lib.float64, requires_grad=True)
        y = b.exp()
        if path == "node hook":
            y.grad_fn.register_prehook(lambda grad_outputs: None)
        out = Drop.apply(y).sum()
        out.backward()
        anomaly = torch.autograd.detect_anomaly if name == "torch" else ag.detect_anomaly
        with pytest.raises(RuntimeError, match="second time"):
            with anomaly() if path == "anomaly" else contextlib.nullcontext():
                out.backward()
        return b.grad
    assert run("ag") is None and run("torch") is None


X = np.array([0.5, -1.0, 2.0])


def _misuses(lib, func):
    x = lib.tensor(X)
    return {
        "tangent shape": lambda: func.jvp(lambda t: t.sin(), (x,), (lib.tensor(X[:2]),)),
        "tangent structure": lambda: func.jvp(lambda p: p["a"].sin(), ({"a": x},), (x,)),
        "tangent dict order": lambda: func.jvp(lambda p: p["a"] * p["b"], ({"a": x, "b": x},), ({"b": x, "a": x},)),
        "no primal tensor": lambda: func.jvp(lambda t: lib.ones(2), ([],), ([],)),
        "jvp of no output": lambda: func.jvp(lambda t: (), (x,), (x,)),
        "jacrev of no output": lambda: func.jacrev(lambda t: {})(x),
        "jacfwd of no output": lambda: func.jacfwd(lambda t: [])(x),
        "cotangent shape": lambda: func.vjp(lambda t: t * 2, x)[1](lib.tensor(X[:2])),
        "grad of a vector": lambda: func.grad(lambda t: t * 2)(x),
    }


@pytest.mark.parametrize("misuse", list(_misuses(ag, ag.func)))
def test_tangents_cotangents_and_outputs_that_do_not_fit_raise_torch_funcs_runtime_error(misuse):
    """torch.func raises RuntimeError for these; topograd raised ValueError only. Now a
    ShapeError, as ag.functional's: both, so either catch works."""
    with pytest.raises(RuntimeError):
        _misuses(torch, torch.func)[misuse]()
    with pytest.raises(RuntimeError) as caught:
        _misuses(ag, ag.func)[misuse]()
    assert isinstance(caught.value, ValueError)
