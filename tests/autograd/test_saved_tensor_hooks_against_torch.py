"""Saved-tensor hooks (ag.graph, PyTorch's torch.autograd.graph): when the hooks are
called, with what, and the gradients they give, against PyTorch 2.13."""
import contextlib
import threading
import weakref

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from autograd.checkpoint import checkpoint

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4)).astype(np.float32)
Y = RNG.standard_normal((3, 4)).astype(np.float32)
IMAGE = RNG.standard_normal((2, 2, 6, 6)).astype(np.float32)


def _logging_hooks(log):
    """A pack/unpack pair that records each call: (what, shape, requires_grad, has grad_fn)."""
    def pack(t):
        log.append(("pack", tuple(t.shape), bool(t.requires_grad), t.grad_fn is not None))
        return t.detach()

    def unpack(packed):
        log.append(("unpack", tuple(packed.shape)))
        return packed
    return pack, unpack


def _calls(hooks, loss_of):
    """The hook calls of loss_of()'s forward, run under ``hooks``, then of its backward."""
    log = []
    with hooks(*_logging_hooks(log)):
        loss = loss_of()
    n = len(log)
    loss.backward()
    return sorted(log[:n]), sorted(log[n:])


def _cube(lib):
    """A custom Function saving an input, None, an intermediate tensor and its output;
    its backward reads saved_tensors twice."""
    class Cube(lib.autograd.Function if lib.__name__ == "torch" else ag.Function):
        @staticmethod
        def forward(ctx, a):
            if lib.__name__ == "torch":
                square = a * a
                out = square * a
            else:
                square = ag.tensor(a.data * a.data)
                out = square.data * a.data
            ctx.save_for_backward(a, None, square, out)
            return out

        @staticmethod
        def backward(ctx, g):
            a, _, square, _ = ctx.saved_tensors
            _, _, _, out = ctx.saved_tensors
            return g * 3 * square + 0 * out
    return Cube


def _tensors(lib, *arrays, requires_grad=True):
    return [lib.tensor(a.copy(), requires_grad=requires_grad) for a in arrays]


def _mlp_pair(torch):
    ours = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    with torch.no_grad():
        for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            q.copy_(torch.tensor(p.numpy()))
    return ours, theirs


CASES = {
    "mul": lambda lib, x, y: (x * y).sum(),
    "mul by a constant": lambda lib, x, y: (x * y.detach()).sum(),
    "tanh": lambda lib, x, y: x.tanh().sum(),
    "matmul": lambda lib, x, y: (x @ y.mT).sum(),
    "custom Function": lambda lib, x, y: _cube(lib).apply(x).sum(),
}


@pytest.mark.parametrize("case", CASES)
def test_each_saved_tensor_is_packed_once_and_unpacked_per_read_as_in_pytorch(torch, case):
    ours = _calls(ag.graph.saved_tensors_hooks, lambda: CASES[case](ag, *_tensors(ag, X, Y)))
    theirs = _calls(torch.autograd.graph.saved_tensors_hooks, lambda: CASES[case](torch, *_tensors(torch, X, Y)))
    assert ours == theirs


def test_a_linear_relu_mlp_packs_and_unpacks_as_often_as_pytorch(torch):
    ours, theirs = _mlp_pair(torch)
    (x,), (tx,) = _tensors(ag, X), _tensors(torch, X)
    our_packs, our_unpacks = _calls(ag.graph.saved_tensors_hooks, lambda: ours(x).sum())
    their_packs, their_unpacks = _calls(torch.autograd.graph.saved_tensors_hooks, lambda: theirs(tx).sum())
    # (PyTorch saves weight.T and ReLU's output, topograd the weight and ReLU's mask)
    assert len(our_packs) == len(their_packs) == 5 and len(our_unpacks) == len(their_unpacks) == 5
    assert ("pack", (3, 4), True, False) in our_packs and ("pack", (3, 4), True, False) in their_packs  # the input


def test_pack_gets_the_input_or_the_output_itself_with_grad_mode_off_as_in_pytorch(torch):
    def seen(lib, graph, x):
        got = []
        with graph.saved_tensors_hooks(lambda t: got.append((t, lib.is_grad_enabled())) or t.detach(),
                                       lambda p: p):
            y = x.tanh()
            x * x  # saves x twice
        return [(t is y, t is x, mode) for t, mode in got]
    (x,), (tx,) = _tensors(ag, X), _tensors(torch, X)
    ours, theirs = seen(ag, ag.graph, x), seen(torch, torch.autograd.graph, tx)
    assert ours == theirs == [(True, False, False), (False, True, False), (False, True, False)]


def test_a_conv_layer_packs_its_input_and_weight_and_gives_pytorch_s_gradients_under_hooks(torch):
    conv = nn.Conv2d(2, 3, 3, padding=1)
    tconv = torch.nn.Conv2d(2, 3, 3, padding=1)
    with torch.no_grad():
        tconv.weight.copy_(torch.tensor(conv.weight.numpy()))
        tconv.bias.copy_(torch.tensor(conv.bias.numpy()))
    x, tx = ag.tensor(IMAGE, requires_grad=True), torch.tensor(IMAGE, requires_grad=True)
    packed = []
    with ag.graph.saved_tensors_hooks(lambda t: packed.append(t) or t.detach(), lambda p: p):
        conv(x).tanh().sum().backward()
    assert any(t is x for t in packed) and any(t is conv.weight for t in packed)
    tconv(tx).tanh().sum().backward()
    for ours, theirs in [(x, tx), (conv.weight, tconv.weight), (conv.bias, tconv.bias)]:
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_unpack_runs_again_for_a_retained_graph_and_a_freed_graph_raises_as_in_pytorch(torch):
    def counts(lib, graph, x):
        calls = []
        with graph.saved_tensors_hooks(lambda t: t.detach(), lambda p: calls.append(1) or p):
            loss = (x.sin() * x).sum()
        loss.backward(retain_graph=True)
        loss.backward()
        with pytest.raises(RuntimeError, match="second time"):
            loss.backward()
        return len(calls), x.grad.numpy()
    (x,), (tx,) = _tensors(ag, X), _tensors(torch, X)
    (ours, our_grad), (theirs, their_grad) = counts(ag, ag.graph, x), counts(torch, torch.autograd.graph, tx)
    assert ours == theirs == 6
    np.testing.assert_allclose(our_grad, their_grad, rtol=1e-6)


def test_nothing_is_packed_where_nothing_records():
    calls = []
    x = ag.tensor(X, requires_grad=True)
    with ag.graph.saved_tensors_hooks(lambda t: calls.append(t) or t, lambda p: p):
        with ag.no_grad():
            (x * x).tanh()
        (ag.tensor(X) * ag.tensor(Y)).tanh()
    assert calls == []


def test_save_on_cpu_gives_the_gradients_of_the_plain_run_and_pytorch_s(device, torch):
    def step(model, x, lib, hooks):
        with hooks:
            loss = model(x).tanh().sum()
        loss.backward()
        return [p.grad.numpy() if lib is ag else p.grad.detach().numpy()
                for p in (x, *model.parameters())]
    ours, theirs = _mlp_pair(torch)
    ours.to(device)
    x = ag.tensor(X, requires_grad=True, device=device)
    plain = step(ours, x, ag, contextlib.nullcontext())
    for p in (x, *ours.parameters()):
        p.grad = None
    offloaded = step(ours, x, ag, ag.graph.save_on_cpu())
    reference = step(theirs, torch.tensor(X, requires_grad=True), torch, torch.autograd.graph.save_on_cpu())
    for a, b, c in zip(offloaded, plain, reference):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-6)


def test_save_on_cpu_packs_a_host_copy_and_unpacks_to_the_original_device(device):
    hooks = ag.graph.save_on_cpu(pin_memory=True)
    t = ag.tensor(X, device=device)
    where, kept = hooks.pack_hook(t)
    assert kept.device == "cpu" and where == device
    back = hooks.unpack_hook((where, kept))
    assert back.device == device
    np.testing.assert_array_equal(back.numpy(), X)


@pytest.mark.parametrize("unpack_to_float32", [True, False])
def test_float16_compression_gives_pytorch_s_gradients(torch, unpack_to_float32):
    ours, theirs = _mlp_pair(torch)
    (x,), (tx,) = _tensors(ag, X), _tensors(torch, X)
    with ag.graph.saved_tensors_hooks(lambda t: t.astype(ag.float16),
                                      lambda p: p.astype(ag.float32) if unpack_to_float32 else p):
        loss = ours(x).tanh().sum()
    loss.backward()
    # (PyTorch's matmul refuses a float16 unpacked tensor; topograd casts it back, as p.float() does)
    with torch.autograd.graph.saved_tensors_hooks(lambda t: t.half(), lambda p: p.float()):
        tloss = theirs(tx).tanh().sum()
    tloss.backward()
    exact = _tensors(ag, X)[0]
    ours(exact).tanh().sum().backward()
    assert x.grad.dtype == ag.float32
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    assert not np.array_equal(x.grad.numpy(), exact.grad.numpy())  # the float16 rounding did reach backward


def test_pack_may_return_anything_even_none():
    x = ag.tensor(X, requires_grad=True)
    copies = []
    with ag.graph.saved_tensors_hooks(lambda t: copies.append(t.detach().clone()), lambda p: copies.pop(0)):
        (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * X, rtol=1e-6)


def test_the_innermost_hooks_apply_and_the_outer_ones_again_after_it_as_in_pytorch(torch):
    def order(lib, graph, x):
        calls = []
        with graph.saved_tensors_hooks(lambda t: calls.append("outer") or t.detach(), lambda p: p):
            x.tanh()
            with graph.saved_tensors_hooks(lambda t: calls.append("inner") or t.detach(), lambda p: p):
                x.tanh()
            x.exp()
        x.tanh()
        return calls
    (x,), (tx,) = _tensors(ag, X), _tensors(torch, X)
    assert order(ag, ag.graph, x) == order(torch, torch.autograd.graph, tx) == ["outer", "inner", "outer"]


def test_hooks_are_thread_local():
    x = ag.tensor(X, requires_grad=True)
    calls = {"main": 0, "worker": 0}
    ready, done = threading.Event(), threading.Event()

    def worker():
        with ag.graph.saved_tensors_hooks(lambda t: calls.__setitem__("worker", calls["worker"] + 1) or t,
                                          lambda p: p):
            ready.set()
            done.wait()
            x.tanh()
        x.exp()  # after its context: not packed, though the main thread's is active

    thread = threading.Thread(target=worker)
    with ag.graph.saved_tensors_hooks(lambda t: calls.__setitem__("main", calls["main"] + 1) or t, lambda p: p):
        thread.start()
        ready.wait()
        (x * x).sum()
        done.set()
        thread.join()
    assert calls == {"main": 2, "worker": 1}


def test_disable_saved_tensors_hooks_raises_its_message_as_in_pytorch(torch):
    for graph in (ag.graph, torch.autograd.graph):
        with graph.disable_saved_tensors_hooks("no hooks in this feature"):
            with pytest.raises(RuntimeError, match="^no hooks in this feature$"):
                with graph.save_on_cpu():
                    pass
            with graph.disable_saved_tensors_hooks("inner message"):
                pass
            with pytest.raises(RuntimeError, match="^no hooks in this feature$"):  # restored on exit
                with graph.saved_tensors_hooks(lambda t: t, lambda p: p):
                    pass
        with graph.saved_tensors_hooks(lambda t: t, lambda p: p):
            with pytest.raises(RuntimeError, match="^refused while hooks are on$"):
                with graph.disable_saved_tensors_hooks("refused while hooks are on"):
                    pass
            with graph.saved_tensors_hooks(lambda t: t, lambda p: p):  # still allowed after the refusal
                pass


def test_unpack_must_return_a_tensor_as_in_pytorch(torch):
    for lib, graph in ((ag, ag.graph), (torch, torch.autograd.graph)):
        x = _tensors(lib, X)[0]
        with graph.saved_tensors_hooks(lambda t: t.detach(), lambda p: 3):
            loss = x.tanh().sum()
        with pytest.raises(TypeError, match="unpack_hook .*int"):
            loss.backward()


def test_unpack_giving_another_shape_or_device_is_refused_by_name():
    x = ag.tensor(X, requires_grad=True)
    with ag.graph.saved_tensors_hooks(lambda t: t.detach(), lambda p: p[0]):
        loss = x.tanh().sum()
    with pytest.raises(RuntimeError, match=rf"Tanh: the unpack_hook .* shape \(4,\) on {x.device} for one saved with "
                                           rf"shape \(3, 4\) on {x.device}"):
        loss.backward()


def test_a_pack_hook_that_changes_its_tensor_in_place_is_refused(torch):
    for lib, graph in ((ag, ag.graph), (torch, torch.autograd.graph)):
        x = _tensors(lib, X)[0] * 1
        with graph.saved_tensors_hooks(lambda t: t.mul_(2), lambda p: p):
            with pytest.raises(RuntimeError, match="in place"):
                x.tanh()


@pytest.mark.parametrize("copying", [True, False])
def test_a_saved_output_changed_in_place_after_packing_backward_as_in_pytorch(torch, copying):
    """With hooks PyTorch skips its version check: a copy keeps the old values, an alias sees the new."""
    def grad_of(lib, graph, x):
        with graph.saved_tensors_hooks(lambda t: t.detach().clone() if copying else t.detach(), lambda p: p):
            y = (x * 1).exp()
        y.add_(1)
        y.sum().backward()
        return x.grad.numpy()
    (x,), (tx,) = _tensors(ag, X), _tensors(torch, X)
    np.testing.assert_allclose(grad_of(ag, ag.graph, x), grad_of(torch, torch.autograd.graph, tx), rtol=1e-6)


@pytest.mark.parametrize("inside", [False, True])
def test_second_derivatives_through_packed_tensors_match_pytorch(torch, inside):
    """create_graph through unpacked inputs (a leaf, a non-leaf) and outputs, with the
    first backward outside the hooks' context or inside it (packing what it saves)."""
    def second(lib, graph, x):
        with graph.saved_tensors_hooks(lambda t: t.detach().clone(), lambda p: p):
            h = x * x * x
            y = (h.sin() * x).exp().sum() + h.tanh().sum()
            if inside:
                (g,) = lib.autograd.grad(y, x, create_graph=True) if lib is torch else ag.grad(y, x, create_graph=True)
        if not inside:
            (g,) = lib.autograd.grad(y, x, create_graph=True) if lib is torch else ag.grad(y, x, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x) if lib is torch else ag.grad(g.sum(), x)
        return g.detach().numpy(), gg.numpy()
    values = RNG.uniform(-1, 1, (5,))
    ours = second(ag, ag.graph, ag.tensor(values, requires_grad=True))
    theirs = second(torch, torch.autograd.graph, torch.tensor(values, requires_grad=True))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_checkpoints_under_saved_tensor_hooks_give_the_plain_gradients():
    ag.manual_seed(1)
    model = nn.Sequential(*[m for _ in range(4) for m in (nn.Linear(6, 6), nn.Tanh())]).to(ag.float64)
    x = ag.randn(3, 6, dtype=ag.float64, requires_grad=True)
    params = [x, *model.parameters()]

    def grads():
        out = [p.grad.numpy().copy() for p in params]
        for p in params:
            p.grad = None
        return out

    model(x).sum().backward()
    plain = grads()

    def nested(t):
        return checkpoint(model[4:], checkpoint(model[:4], t, use_reentrant=False), use_reentrant=False)

    with ag.graph.saved_tensors_hooks(lambda t: t.detach().clone(), lambda p: p):
        checkpoint(nested, x, use_reentrant=False).sum().backward()
    for a, b in zip(grads(), plain):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_a_drawing_shows_what_pack_hook_returned():
    pytest.importorskip("graphviz")
    x = ag.tensor(X, requires_grad=True)
    with ag.graph.save_on_cpu():
        y = (x * x).tanh().sum()
    with ag.graph.saved_tensors_hooks(lambda t: t.detach(), lambda p: p):
        z = y.exp()
    source = ag.make_dot(z, show_saved=True).source
    assert source.count("<B>packed</B><BR/><FONT POINT-SIZE=\"9\">tuple</FONT>") == 2  # Mul's (device, copy)
    assert source.count("<B>packed output</B><BR/><FONT POINT-SIZE=\"9\">tuple</FONT>") == 1  # Tanh's
    assert source.count(f"<B>packed output</B><BR/><FONT POINT-SIZE=\"9\">scalar · float32 on {x.device}</FONT>") == 1


# --- a custom Function's mark_dirty output under the hooks, and an unpacked tensor changed in place
# by backward

W = np.array([1.0, 2.0, 3.0, 4.0])


def _square_in_place(lib):
    """A custom Function that squares its input in place (mark_dirty), saving the result."""
    torch_like = lib.__name__ == "torch"

    class SquareInPlace(lib.autograd.Function if torch_like else ag.Function):
        @staticmethod
        def forward(ctx, x):
            if torch_like:
                x.mul_(x)
            else:
                x.data[...] = x.data * x.data
            ctx.mark_dirty(x)
            ctx.save_for_backward(x)
            return x

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * 2 * y.sqrt()
    return SquareInPlace


@pytest.mark.parametrize("view", [False, True])
def test_pack_hook_gets_the_input_a_mark_dirty_forward_returns_as_in_pytorch(torch, view):
    """pack_hook is given the input itself (the tensor the caller gets back), not a tensor
    that is then dropped: hooks that keep a weak reference to it unpack it at backward."""
    def run(lib, graph, grad):
        w = lib.tensor(W.copy(), requires_grad=True)
        x = w * 1
        changed = x[1:3] if view else x
        given = []

        def pack(t):
            given.append(t)
            return weakref.ref(t)
        with graph.saved_tensors_hooks(pack, lambda ref: ref()):
            returned = _square_in_place(lib).apply(changed)
        assert returned is changed and len(given) == 1 and given[0] is changed
        del given[:]
        (g,) = grad((x ** 3).sum(), [w], create_graph=True)
        (gg,) = grad(g.sum(), [w])
        return g.detach().numpy(), gg.numpy()
    ours = run(ag, ag.graph, ag.grad)
    theirs = run(torch, torch.autograd.graph, torch.autograd.grad)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_a_pack_hook_that_raises_after_mark_dirty_leaves_the_input_in_the_graph_of_its_values():
    """Forward has changed the input already when pack_hook raises: the input must stand
    in the graph for its new values (2w here), not for the old ones."""
    class Double(ag.Function):
        @staticmethod
        def forward(ctx, x):
            x.data *= 2
            ctx.mark_dirty(x)
            ctx.save_for_backward(x)
            return x

        @staticmethod
        def backward(ctx, g):
            ctx.saved_tensors
            return g * 2

    def refuse(t):
        raise ValueError("no room to pack")
    w = ag.tensor(W.copy(), requires_grad=True)
    a = w * 1
    with ag.graph.saved_tensors_hooks(refuse, lambda p: p):
        with pytest.raises(ValueError, match="no room to pack"):
            Double.apply(a)
    np.testing.assert_array_equal(a.numpy(), 2 * W)
    (a * a).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 8 * W)  # d/dw (2w)^2


def _scaling_backward(lib):
    """A custom Function (x -> 2x) whose backward changes the tensor it saved in place."""
    class ScalesSaved(lib.autograd.Function if lib.__name__ == "torch" else ag.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2 if lib.__name__ == "torch" else x.data * 2

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            x.mul_(10)
            return g * 2
    return ScalesSaved


@pytest.mark.parametrize("pack", [lambda t: t, lambda t: t.detach()], ids=["itself", "detached"])
def test_an_unpacked_tensor_changed_in_place_by_backward_is_caught_as_in_pytorch(torch, pack):
    """The unpacked tensor shares the in-place counter of what unpack_hook returned, so the
    change reaches the other nodes that saved the tensor, which refuse to use it (before:
    z's gradient was silently computed from the changed values)."""
    for lib, graph, message in ((ag, ag.graph, "modified in place"),
                                (torch, torch.autograd.graph, "modified by an inplace operation")):
        w = lib.tensor(W.copy(), requires_grad=True)
        x = w * 1
        z = x * x
        with graph.saved_tensors_hooks(pack, lambda p: p):
            y = _scaling_backward(lib).apply(x)
        y.sum().backward()
        with pytest.raises(RuntimeError, match=message):
            z.sum().backward()


# --- in-place ReLUs under saved-tensor hooks, and a pack hook that raises --------------------
RELU_X = np.array([[-1.0, 2.0, -3.0], [0.5, -0.25, 4.0]])


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
    x = ag.tensor(RELU_X, dtype=ag.float64, requires_grad=True)
    y = x * 2
    with pytest.raises(KeyError, match="pack refused"):
        with ag.graph.saved_tensors_hooks(_failing_pack, lambda packed: packed):
            IN_PLACE_RELUS[relu_](y)
    np.testing.assert_array_equal(y.numpy(), RELU_X * 2)
    assert y._version is None or y._version.value == 0
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 8 * RELU_X)  # d/dx (2x)^2, through the Mul it still is


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
