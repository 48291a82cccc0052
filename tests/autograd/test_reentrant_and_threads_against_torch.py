"""The engine under reentrancy and threads, against PyTorch in float64: custom Functions
whose backward differentiates a graph of their own (gradient checkpointing), hooks that
run a backward while the outer one runs, backward inside a forward, exceptions in the
middle of a pass, and threads that build, share and differentiate graphs at once.
Threads join with a timeout, so a deadlock fails a test instead of hanging the run."""
import threading
import weakref

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

JOIN_TIMEOUT = 30


def f64(array, device=None, requires_grad=True):
    return ag.tensor(np.asarray(array, dtype=np.float64), dtype=ag.float64, device=device,
                     requires_grad=requires_grad)


def t64(torch, array, requires_grad=True):
    return torch.tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


def run_threads(targets):
    """Start one thread per target, join them all; re-raise the first error a thread hit."""
    errors = []

    def guarded(target):
        def body():
            try:
                target()
            except BaseException as exc:  # noqa: B902 - reported to the test below
                errors.append(exc)
        return body

    threads = [threading.Thread(target=guarded(t), daemon=True) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread is still running: deadlock?"
    if errors:
        raise errors[0]


def assert_close(ours, theirs, rtol=1e-10, atol=1e-12):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=rtol, atol=atol)


RNG = np.random.default_rng(7)
X, X2, P, C = (RNG.standard_normal(4) for _ in range(4))


def closure_checkpoint(p, barrier=None):
    """PyTorch's reentrant checkpoint of ``tanh(x * p)`` for a parameter ``p`` the function
    closes over (as a layer's weight): forward without a graph, backward recomputes and
    runs backward() on the recomputation, which accumulates into ``p.grad`` directly."""
    class Checkpointed(ag.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            with ag.no_grad():
                return ag.tanh(x * p).data

        @staticmethod
        def backward(ctx, g):
            if barrier is not None:
                barrier()
            x, = ctx.saved_tensors
            x = x.detach().requires_grad_()
            with ag.enable_grad():
                y = ag.tanh(x * p)
            ag.backward(y, g)
            return x.grad
    return Checkpointed


def torch_closure_checkpoint_grads(torch, reentrant):
    x, x2, p = (t64(torch, a) for a in (X, X2, P))
    h = torch.utils.checkpoint.checkpoint(lambda x: torch.tanh(x * p), x, use_reentrant=reentrant)
    loss = (((x2 * 3 + h) + p) * torch.tensor(C)).sum()
    loss.backward()
    return x.grad, x2.grad, p.grad


# --- bugs: each of these failed before its fix ------------------------------------------------

def test_reentrant_checkpoint_with_a_closed_over_parameter_matches_torch(device, torch):
    """The outer pass made the add's gradient p's .grad while the same array was still on
    its way to ``x2 * 3``; the checkpoint's nested backward then added p's recomputed
    gradient into that .grad in place, so x2's gradient came out wrong. PyTorch clones a
    gradient that is still in use before making it a .grad."""
    for reentrant in (True, False):
        expected = torch_closure_checkpoint_grads(torch, reentrant)
        x, x2, p = f64(X), f64(X2), f64(P)
        h = closure_checkpoint(p).apply(x)
        loss = (((x2 * 3 + h) + p) * f64(C, requires_grad=False)).sum()
        loss.backward()
        for ours, theirs in zip((x, x2, p), expected):
            assert_close(ours.grad, theirs)


def test_a_hook_that_runs_backward_on_a_shared_leaf_leaves_the_outer_gradients_intact(device, torch):
    """A tensor hook that runs a backward of its own (a penalty on p) while the outer pass
    runs: that backward must not add into the array the outer pass still sends on."""
    def run(lib, leaf, grad_enabled):
        x, x2, p = leaf(X), leaf(X2), leaf(P)
        u = x.tanh()

        def hook(g):
            with grad_enabled():
                ((p * p).sum() * 0.5).backward()
        u.register_hook(hook)
        loss = (((x2 * 3 + u) + p) * leaf(C, False)).sum()
        loss.backward()
        return x.grad, x2.grad, p.grad

    expected = run(torch, lambda a, r=True: t64(torch, a, r), torch.enable_grad)
    ours = run(ag, lambda a, r=True: f64(a, requires_grad=r), ag.enable_grad)
    for o, t in zip(ours, expected):
        assert_close(o, t)


def test_another_threads_backward_leaves_a_running_pass_gradients_intact(device, torch):
    """Thread A's pass made the add's gradient p's .grad and still sends it to ``x2 * 3``
    when thread B's backward through p adds to p's .grad: in place, it changed A's
    gradient for x2. Thread A waits inside the checkpoint's backward while B runs."""
    expected_x, expected_x2, expected_p = torch_closure_checkpoint_grads(torch, True)
    x, x2, p = f64(X, device), f64(X2, device), f64(P, device)
    inside, done = threading.Event(), threading.Event()

    def wait_for_b():
        inside.set()
        assert done.wait(JOIN_TIMEOUT)

    h = closure_checkpoint(p, wait_for_b).apply(x)
    loss = (((x2 * 3 + h) + p) * f64(C, device, requires_grad=False)).sum()

    def thread_b():
        assert inside.wait(JOIN_TIMEOUT)
        try:
            (p * 2.0).sum().backward()
        finally:
            done.set()

    run_threads([loss.backward, thread_b])
    assert_close(x.grad, expected_x)
    assert_close(x2.grad, expected_x2)
    assert_close(p.grad, expected_p.numpy() + 2.0)


def test_threads_sharing_a_leaf_lose_no_gradient(device, torch):
    """Every thread's gradient reaches the shared leaf, as in PyTorch, whose AccumulateGrad
    holds a lock. Unlocked, two threads both saw no .grad yet and one set it over the
    other's, or added into it in place at the same time (NumPy lets go of the GIL for
    large arrays), and updates were lost. Large arrays make the race show every time."""
    n_threads, steps, size = 4, 10, 1_000_000
    for _ in range(2):
        w = f64(np.ones(size), device)
        w_torch = t64(torch, np.ones(8))
        start = threading.Barrier(n_threads, timeout=JOIN_TIMEOUT)

        def work(w=w, w_torch=w_torch, start=start):
            start.wait()
            for _ in range(steps):
                (w * 2.0).sum().backward()
                (w_torch * 2.0).sum().backward()

        run_threads([work] * n_threads)
        expected = w_torch.grad.numpy()[0]
        assert expected == 2.0 * n_threads * steps
        grad = w.grad.numpy()
        assert int((grad != expected).sum()) == 0, f"{int((grad != expected).sum())} elements lost an update"


def test_threads_through_one_graph_lose_no_retained_gradient(device):
    """A retained grad (retain_grad) of a graph that threads differentiate at once takes
    every thread's gradient, as a leaf's .grad does. It was set unlocked: two threads read
    the same .grad, each set its own sum, and updates were lost (PyTorch 2.13 loses them
    too; README promises accumulation safe across threads sharing a graph)."""
    n_threads, steps, size = 4, 10, 1_000_000
    for _ in range(2):
        x = f64(np.ones(size), device)
        y = x * 2.0
        y.retain_grad()
        z = (y * 3.0).sum()
        start = threading.Barrier(n_threads, timeout=JOIN_TIMEOUT)

        def work(z=z, start=start):
            start.wait()
            for _ in range(steps):
                z.backward(retain_graph=True)

        run_threads([work] * n_threads)
        grad = y.grad.numpy()
        expected = 3.0 * n_threads * steps
        assert int((grad != expected).sum()) == 0, f"{int((grad != expected).sum())} elements lost an update"
        assert int((x.grad.numpy() != 2 * expected).sum()) == 0


# --- behaviour checked: reentrancy ------------------------------------------------------------

def block(lib, x, w, b):
    return lib.tanh(x @ w + b)


class RecomputeWithGrad(ag.Function):
    """Checkpointing by hand, as torch's non-reentrant checkpoint: the inputs are the
    parameters too, and backward returns ag.grad of the recomputation."""

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w, b)
        with ag.no_grad():
            return block(ag, x, w, b).data

    @staticmethod
    def backward(ctx, g):
        inputs = [t.detach().requires_grad_() for t in ctx.saved_tensors]
        with ag.enable_grad():
            y = block(ag, *inputs)
        RecomputeWithGrad.recomputed.append(weakref.ref(y))
        return ag.grad(y, inputs, g)


class RecomputeWithBackward(RecomputeWithGrad):
    """The same as torch's reentrant checkpoint: backward() on the recomputation."""

    @staticmethod
    def backward(ctx, g):
        inputs = [t.detach().requires_grad_() for t in ctx.saved_tensors]
        with ag.enable_grad():
            y = block(ag, *inputs)
        RecomputeWithGrad.recomputed.append(weakref.ref(y))
        ag.backward(y, g)
        return tuple(t.grad for t in inputs)


@pytest.mark.parametrize("recipe", [RecomputeWithGrad, RecomputeWithBackward])
def test_hand_written_checkpointing_matches_torch_checkpoint(device, torch, recipe):
    rng = np.random.default_rng(1)
    xa, wa, ba = rng.standard_normal((3, 4)), rng.standard_normal((4, 4)) / 2, rng.standard_normal(4)
    references = []
    for reentrant in (True, False):
        x, w, b = t64(torch, xa), t64(torch, wa), t64(torch, ba)
        h = x
        for _ in range(3):
            h = torch.utils.checkpoint.checkpoint(block, torch, h, w, b, use_reentrant=reentrant)
        loss = (h ** 2).sum() + (w * w).sum()
        loss.backward()
        references.append((loss, x.grad, w.grad, b.grad))
    RecomputeWithGrad.recomputed = []
    x, w, b = f64(xa), f64(wa), f64(ba)
    h = x
    for _ in range(3):
        h = recipe.apply(h, w, b)
    nodes = [h.grad_fn]
    loss = (h ** 2).sum() + (w * w).sum()
    with ag.no_grad():
        loss.backward()  # the recomputation records all the same: backward turns it on itself
        assert not ag.is_grad_enabled()
    for ref in references:
        for ours, theirs in zip((loss, x.grad, w.grad, b.grad), ref):
            assert_close(ours, theirs)
    # memory: the recomputed graphs are gone with backward, and the saved inputs with them
    assert len(RecomputeWithGrad.recomputed) == 3
    assert all(r() is None for r in RecomputeWithGrad.recomputed)
    assert nodes[0]._saved is None
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()


def test_backward_of_a_graph_made_in_a_hook_without_enable_grad_says_why_it_has_no_grad_fn(device):
    """A hook runs in backward's grad mode (off, without create_graph), so what it computes
    records nothing, in PyTorch too ("element 0 of tensors does not require grad"). The error
    asked whether the tensor was made under no_grad(), which the user never called."""
    x, w = f64(X, device), f64(P, device)
    y = x * 2

    def hook(g):
        (x * w).sum().backward()

    y.register_hook(hook)
    with pytest.raises(RuntimeError, match=r"inside a backward pass \(in a hook or a custom backward\).*"
                                           r"with ag.enable_grad\(\):"):
        y.sum().backward()
    assert ag.is_grad_enabled()
    with pytest.raises(RuntimeError, match="computed under no_grad()"):  # outside a pass: the usual causes
        (x.detach() * 2).sum().backward()


def test_a_hook_may_run_backward_and_grad_on_another_graph(device, torch):
    def run(lib, leaf, grad, enable_grad, is_enabled):
        x, p = leaf(X), leaf(P)
        modes = []

        def hook(g):
            modes.append(is_enabled())
            with enable_grad():
                (p * p).sum().backward()
                extra, = grad(p.exp().sum(), p)
            modes.append(is_enabled())
            return g * 2 + extra
        y = (x * p).tanh()
        y.register_hook(hook)
        (y * y).sum().backward()
        return x.grad, p.grad, modes

    theirs = run(torch, lambda a: t64(torch, a), torch.autograd.grad, torch.enable_grad, torch.is_grad_enabled)
    ours = run(ag, f64, ag.grad, ag.enable_grad, ag.is_grad_enabled)
    assert ours[2] == theirs[2] == [False, False]
    assert_close(ours[0], theirs[0])
    assert_close(ours[1], theirs[1])
    assert ag.is_grad_enabled()


def test_nested_grad_with_create_graph_inside_a_backward(device, torch):
    """A backward that takes a Hessian-vector product of its own recomputation."""
    def run(lib, leaf, Function, grad, enable_grad):
        class HessianVector(Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return (x ** 3).sum() if lib is not ag else (x ** 3).sum().data

            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                x = x.detach().requires_grad_()
                with enable_grad():
                    first, = grad((x.sin() * x).sum(), x, create_graph=True)
                    hv, = grad((first * first).sum(), x)
                return g * hv
        x = leaf(X)
        (HessianVector.apply(x) * 3).backward()
        return x.grad

    theirs = run(torch, lambda a: t64(torch, a), torch.autograd.Function, torch.autograd.grad, torch.enable_grad)
    ours = run(ag, f64, ag.Function, ag.grad, ag.enable_grad)
    assert_close(ours, theirs)


def test_backward_inside_a_module_forward_as_meta_learning_does(device, torch):
    """MAML's inner step inside forward: a backward() that fills .grad, then ag.grad with
    create_graph for the adapted weights; the outer loss differentiates through both."""
    rng = np.random.default_rng(3)
    wa, ba, xa, ya, qa = (rng.standard_normal(s) for s in ((3, 4), 3, (5, 4), (5, 3), (5, 4)))

    def run(lib, functional, tensor, grad, base):
        class Adapted(lib.Module):
            def __init__(self):
                super().__init__()
                self.base = base

            def forward(self, query):
                inner = ((self.base(tensor(xa)) - tensor(ya)) ** 2).mean()
                inner.backward(retain_graph=True)
                gw, gb = grad(inner, (self.base.weight, self.base.bias), create_graph=True)
                return functional.linear(query, self.base.weight - 0.1 * gw, self.base.bias - 0.1 * gb)
        model = Adapted()
        loss = (model(tensor(qa)) ** 3).sum()
        inner_grads = [base.weight.grad * 1.0, base.bias.grad * 1.0]
        loss.backward()
        return [loss, *inner_grads, base.weight.grad, base.bias.grad]

    torch_base = torch.nn.Linear(4, 3, dtype=torch.float64)
    with torch.no_grad():
        torch_base.weight.copy_(torch.tensor(wa))
        torch_base.bias.copy_(torch.tensor(ba))
    base = nn.Linear(4, 3, dtype=ag.float64)
    with ag.no_grad():
        base.weight.copy_(f64(wa, requires_grad=False))
        base.bias.copy_(f64(ba, requires_grad=False))
    theirs = run(torch.nn, torch.nn.functional, torch.tensor, torch.autograd.grad, torch_base)
    ours = run(nn, F, lambda a: f64(a, requires_grad=False), ag.grad, base)
    for o, t in zip(ours, theirs):
        assert_close(o, t)


# --- behaviour checked: exceptions leave the engine clean ---------------------------------------

class Boom(Exception):
    pass


@pytest.mark.parametrize("where", ["hook", "keyboard_interrupt", "custom_backward", "caught_nested_error"])
def test_an_error_mid_backward_leaves_the_graph_usable_and_the_grad_mode_restored(device, torch, where):
    def run(lib, leaf, Function, grad, enable_grad, is_enabled):
        failing = [True]

        class Square(Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x if lib is not ag else x.data * x.data

            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                if where == "caught_nested_error":
                    inner = x.detach().requires_grad_()
                    with enable_grad():
                        y = (inner * 3).sum()
                    with pytest.raises(RuntimeError):  # an unused input: the nested pass fails
                        grad(y, [inner, x.detach().requires_grad_()])
                if failing[0] and where == "custom_backward":
                    raise Boom()
                return g * 2 * x
        x, w = leaf(X), leaf(P)
        h = (Square.apply(x) * w).exp()

        def hook(g):
            if failing[0] and where in ("hook", "keyboard_interrupt"):
                raise KeyboardInterrupt() if where == "keyboard_interrupt" else Boom()
        h.register_hook(hook)
        z = h.sum()
        raised = None
        try:
            z.backward(retain_graph=True)
        except (Boom, KeyboardInterrupt) as exc:
            raised = type(exc).__name__
        after_error = (raised, is_enabled(), x.grad is None, w.grad is None)
        failing[0] = False
        x.grad = w.grad = None
        z.backward()
        return after_error, x.grad, w.grad

    theirs = run(torch, lambda a: t64(torch, a), torch.autograd.Function, torch.autograd.grad,
                 torch.enable_grad, torch.is_grad_enabled)
    ours = run(ag, f64, ag.Function, ag.grad, ag.enable_grad, ag.is_grad_enabled)
    assert ours[0] == theirs[0]
    assert_close(ours[1], theirs[1])
    assert_close(ours[2], theirs[2])


def test_an_error_in_a_custom_forward_restores_the_grad_mode(device):
    class Failing(ag.Function):
        @staticmethod
        def forward(ctx, x):
            assert not ag.is_grad_enabled()
            raise Boom()

    x = f64(X)
    for mode in (True, False):
        with ag.set_grad_enabled(mode):
            with pytest.raises(Boom):
                Failing.apply(x)
            assert ag.is_grad_enabled() is mode
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * X)


# --- behaviour checked: threads ------------------------------------------------------------------

def small_model_grads(seed, device):
    rng = np.random.default_rng(seed)
    w, x = f64(rng.standard_normal((4, 4)), device), f64(rng.standard_normal((3, 4)), device)
    loss = ((x @ w).tanh() ** 2).sum() + (w.exp() * x.sum()).sum()
    loss.backward()
    return loss.numpy(), w.grad.numpy(), x.grad.numpy()


def test_threads_each_with_its_own_graph_get_the_single_threaded_results(device):
    seeds = range(6)
    expected = [small_model_grads(s, device) for s in seeds]
    results = {}

    def work(seed):
        def body():
            for _ in range(5):
                results[seed] = small_model_grads(seed, device)
        return body

    run_threads([work(s) for s in seeds])
    for s in seeds:
        for got, want in zip(results[s], expected[s]):
            np.testing.assert_array_equal(got, want)


def test_two_threads_backward_through_one_graph_at_once_accumulate_both(device, torch):
    """As PyTorch: with retain_graph=True, two threads may differentiate the same graph at
    once, and the leaves get both gradients. Both wait inside the same node's backward."""
    both_inside = threading.Barrier(2, timeout=JOIN_TIMEOUT)

    def run(lib, leaf, Function, wait):
        class Meet(Function):
            @staticmethod
            def forward(ctx, a, b):
                ctx.save_for_backward(a, b)
                return a * b if lib is not ag else a.data * b.data

            @staticmethod
            def backward(ctx, g):
                a, b = ctx.saved_tensors
                wait()
                return g * b, g * a
        a, b = leaf(X), leaf(P)
        z = (Meet.apply(a, b).sin() * 2).sum()
        run_threads([lambda: z.backward(retain_graph=True)] * 2)
        return a.grad, b.grad

    theirs = run(torch, lambda v: t64(torch, v), torch.autograd.Function, both_inside.wait)
    ours = run(ag, f64, ag.Function, both_inside.wait)
    assert_close(ours[0], theirs[0])
    assert_close(ours[1], theirs[1])
    np.testing.assert_allclose(ours[0].numpy(), 2 * 2 * np.cos(X * P) * P, rtol=1e-12)


def test_grad_mode_of_a_thread_in_backward_does_not_reach_another_thread(device):
    """Thread A sits inside a create_graph backward (recording on, there) while thread B
    builds under no_grad, and the other way round: each sees its own mode only."""
    inside, go_on = threading.Event(), threading.Event()
    seen = {}

    class Wait(ag.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.data * x.data

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            seen["a_in_backward"] = ag.is_grad_enabled()
            inside.set()
            assert go_on.wait(JOIN_TIMEOUT)
            seen["a_after_wait"] = ag.is_grad_enabled()
            return g * 2 * x

    x = f64(X)

    def thread_a():
        with ag.no_grad():
            y = f64(X) * 1.0  # made under no_grad: no graph
        seen["a_no_grad_graph"] = y.grad_fn is not None
        gx, = ag.grad(Wait.apply(x).sum(), x, create_graph=True)
        seen["a_grad_records"] = gx.requires_grad
        seen["a_after"] = ag.is_grad_enabled()

    def thread_b():
        assert inside.wait(JOIN_TIMEOUT)
        try:
            with ag.no_grad():
                seen["b_no_grad_records"] = (x * 3).requires_grad
            seen["b_records"] = (x * 3).requires_grad
        finally:
            go_on.set()

    run_threads([thread_a, thread_b])
    assert seen == {"a_no_grad_graph": False, "a_in_backward": True, "a_after_wait": True,
                    "a_grad_records": True, "a_after": True, "b_no_grad_records": False, "b_records": True}


def test_two_threads_asking_ag_grad_for_different_inputs_of_one_node_at_once(device, torch):
    """ag.grad tells a node's backward which inputs it needs (needs_input_grad), per pass:
    two threads asking the same graph for different inputs at once, both inside the same
    node's backward, each get the gradient they asked for, as in PyTorch."""
    both_inside = threading.Barrier(2, timeout=JOIN_TIMEOUT)

    def run(lib, leaf, Function, grad):
        class Meet(Function):
            @staticmethod
            def forward(ctx, a, b):
                ctx.save_for_backward(a, b)
                return a * b if lib is not ag else a.data * b.data

            @staticmethod
            def backward(ctx, g):
                a, b = ctx.saved_tensors
                both_inside.wait()
                need_a, need_b = ctx.needs_input_grad[:2]
                return (g * b if need_a else None), (g * a if need_b else None)
        a, b = leaf(X), leaf(P)
        z = (Meet.apply(a, b).sin() * 2).sum()
        found = {}

        def ask(name, x):
            return lambda: found.__setitem__(name, grad(z, x))
        run_threads([ask("a", a), ask("b", b)])
        return found["a"], found["b"]

    theirs = run(torch, lambda v: t64(torch, v), torch.autograd.Function,
                 lambda z, x: torch.autograd.grad(z, x, retain_graph=True)[0])
    ours = run(ag, lambda v: f64(v, device), ag.Function, lambda z, x: ag.grad(z, x, retain_graph=True)[0])
    assert_close(ours[0], theirs[0])
    assert_close(ours[1], theirs[1])
    np.testing.assert_allclose(ours[0].numpy(), 2 * np.cos(X * P) * P, rtol=1e-12)


def test_a_pruned_node_taken_into_a_second_order_graph_gives_every_gradient(device, torch):
    """ag.grad(create_graph=True) runs a node's backward with some inputs pruned; a saved
    output that backward takes joins the new graph, and differentiating that graph later
    gives the gradients of every input, as in PyTorch."""
    def run(lib, leaf, Function, grad):
        class ExpMul(Function):  # exp(a * b), keeping its output
            @staticmethod
            def forward(ctx, a, b):
                y = (a * b).exp() if lib is not ag else a._backend.xp.exp(a.data * b.data)
                ctx.save_for_backward(a, b, y)
                return y

            @staticmethod
            def backward(ctx, g):
                a, b, y = ctx.saved_tensors
                need_a, need_b = ctx.needs_input_grad[:2]
                return (g * y * b if need_a else None), (g * y * a if need_b else None)
        a, b = leaf(X), leaf(P)
        ga, = grad(ExpMul.apply(a, b).sum(), a)     # b pruned in this pass
        return grad(ga.sum(), [a, b])

    theirs = run(torch, lambda v: t64(torch, v), torch.autograd.Function,
                 lambda z, x: torch.autograd.grad(z, x, create_graph=True))
    ours = run(ag, lambda v: f64(v, device), ag.Function, lambda z, x: ag.grad(z, x, create_graph=True))
    assert_close(ours[0], theirs[0])
    assert_close(ours[1], theirs[1])
