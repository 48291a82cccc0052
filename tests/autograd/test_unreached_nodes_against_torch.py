"""A node or leaf that the backward pass reaches but no gradient reaches (a custom
backward returned None for it) still runs, as in PyTorch's engine: its tensor hooks, node
hooks, post-accumulate hooks and multi-grad hooks see None, and a custom Function's
backward gets zeros (None after set_materialize_grads(False)), which then flow on."""
import contextlib

import numpy as np
import pytest

import autograd as ag

torch = pytest.importorskip("torch")


def _lib(name):
    """(the library, its Function base, the array a forward computes on, its grad function)."""
    if name == "torch":
        return torch, torch.autograd.Function, (lambda t: t), torch.autograd.grad
    return ag, ag.Function, (lambda t: t.data), ag.grad


def _functions(name, events, materialize=True):
    lib, Function, raw, _ = _lib(name)

    class Drop(Function):  # sends no gradient back
        @staticmethod
        def forward(ctx, x):
            return raw(x) * 3

        @staticmethod
        def backward(ctx, g):
            return None

    class Double(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(materialize)
            return raw(x) * 2

        @staticmethod
        def backward(ctx, g):
            events.append(("Double.backward", None if g is None else g.tolist()))
            return None if g is None else g * 2

    return Drop, Double


def _seen(events, label):
    return lambda *grads: events.append((label, _shown(grads)))


def _shown(value):
    if value is None:
        return None
    if isinstance(value, (tuple, list)):
        return [_shown(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return type(value).__name__


def _hooks_on_a_reached_node(name):
    lib, _, _, _ = _lib(name)
    events = []
    Drop, _ = _functions(name, events)
    a = lib.ones(2, requires_grad=True)
    x = a * 2
    x.register_hook(_seen(events, "x hook"))
    x.retain_grad()
    x.grad_fn.register_prehook(_seen(events, "x node prehook"))
    x.grad_fn.register_hook(_seen(events, "x node hook"))
    a.register_hook(_seen(events, "a hook"))
    a.register_post_accumulate_grad_hook(lambda t: events.append(("a post accumulate", _shown(t.grad))))
    graph = torch.autograd.graph if name == "torch" else ag.graph
    graph.register_multi_grad_hook((x, a), _seen(events, "multi all"))
    Drop.apply(x).sum().backward()
    return events, x.grad, a.grad


def test_hooks_of_a_node_and_leaf_no_gradient_reaches_see_none_as_torch():
    ours, theirs = _hooks_on_a_reached_node("ag"), _hooks_on_a_reached_node("torch")
    assert ours == theirs
    assert ("multi all", [[None, None]]) in ours[0]


@pytest.mark.parametrize("materialize", [True, False])
def test_a_custom_backward_no_gradient_reaches_gets_zeros_as_torch(materialize):
    def run(name):
        lib = _lib(name)[0]
        events = []
        Drop, Double = _functions(name, events, materialize)
        a = lib.ones(2, requires_grad=True)
        Drop.apply(Double.apply(a)).sum().backward()
        return events, None if a.grad is None else a.grad.tolist()
    ours, theirs = run("ag"), run("torch")
    assert ours == theirs
    assert ours[1] == ([0.0, 0.0] if materialize else None)


def test_built_in_ops_send_no_gradient_on_and_outputs_of_a_split_see_none_as_torch():
    def run(name):
        lib = _lib(name)[0]
        events = []
        Drop, _ = _functions(name, events)
        w = lib.ones(4, requires_grad=True)
        u, v = (w * 1).split(2)
        u.register_hook(_seen(events, "u hook"))
        v.register_hook(_seen(events, "v hook"))
        Drop.apply(u).sum().backward()
        return sorted(events), w.grad
    ours, theirs = run("ag"), run("torch")
    assert ours == theirs == ([("u hook", [None]), ("v hook", [None])], None)


def test_grad_of_a_leaf_no_gradient_reaches_runs_its_hook_with_none_as_torch():
    def run(name):
        lib, _, _, grad = _lib(name)
        events = []
        Drop, _ = _functions(name, events)
        a = lib.ones(2, requires_grad=True)
        x = a * 2
        x.register_hook(_seen(events, "x hook"))
        a.register_hook(_seen(events, "a hook"))
        return events, grad(Drop.apply(x).sum(), a, allow_unused=True)
    ours, theirs = run("ag"), run("torch")
    assert ours == theirs == ([("x hook", [None]), ("a hook", [None])], (None,))


def test_a_hook_given_none_may_not_invent_a_gradient():
    events = []
    Drop, _ = _functions("ag", events)
    a = ag.ones(2, requires_grad=True)
    x = a * 2
    x.register_hook(lambda g: ag.ones(2))
    with pytest.raises(RuntimeError, match="returned a gradient for an output that received none"):
        Drop.apply(x).sum().backward()
    assert a.grad is None


def test_an_optimizer_steps_a_parameter_behind_a_custom_function_no_gradient_reaches_as_torch():
    """The zeros a custom backward turns "no gradient" into reach the parameter, so Adam
    moves it by its weight decay, as PyTorch's does."""
    import nn

    def run(name):
        Drop, Double = _functions(name, [])
        p = (nn.Parameter(ag.tensor(np.array([1.0, -2.0]))) if name == "ag"
             else torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64)))
        optim = (nn.optim.AdamW([p], lr=0.1, weight_decay=0.5) if name == "ag"
                 else torch.optim.AdamW([p], lr=0.1, weight_decay=0.5))
        Drop.apply(Double.apply(p)).sum().backward()
        optim.step()
        return p.detach().numpy()
    np.testing.assert_allclose(run("ag"), run("torch"), rtol=1e-12)


# --- checkpoints the pass reaches without a gradient, and freed nodes it reaches ---------------
def _lib_and_checkpoint(name):
    """(the library, its Function base, the array a forward computes on, its checkpoint)."""
    if name == "torch":
        import torch.utils.checkpoint
        return torch, torch.autograd.Function, (lambda t: t), torch.utils.checkpoint.checkpoint
    return ag, ag.Function, (lambda t: t.data), ag.checkpoint.checkpoint


def _seen_gradient(events, label):
    return lambda g: events.append((label, None if g is None else g.tolist()))


@pytest.mark.parametrize("materialize", [True, False])
@pytest.mark.parametrize("inside", ["custom", "built-in"])
def test_a_checkpoint_the_pass_reaches_without_gradient_runs_its_graph_as_torch(materialize, inside):
    """The checkpoint's node stands for function's graph, which PyTorch's engine runs
    there: a custom Function inside gets zeros (None without materialized grads), which
    reach the leaf, and the hooks inside see None. topograd skipped the node."""
    def run(name):
        lib, _, _, checkpoint = _lib_and_checkpoint(name)
        events = []
        Drop, Double = _functions(name, events, materialize)
        a = lib.ones(2, dtype=lib.float64, requires_grad=True)
        a.register_hook(_seen_gradient(events, "a hook"))

        def block(x):
            h = (x * 3).sin()
            h.register_hook(_seen_gradient(events, "inner hook"))
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
        lib = _lib_and_checkpoint(name)[0]
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
