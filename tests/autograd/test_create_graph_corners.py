"""create_graph=True corners, against PyTorch: a leaf's ``.grad`` set while the backward
is recorded is a clone of what arrived (as PyTorch's AccumulateGrad makes it), so it
aliases no other leaf's gradient, no gradient= the caller passed, nothing a hook kept
and no retained ``.grad``, and later plain passes and in-place changes of it (gradient
clipping) touch it alone; and higher derivatives through ops whose gradient is
piecewise constant (ReLU, abs) are zero, not "does not require grad". Each docstring
says what topograd gave before (the first five silently wrong) and what PyTorch gives."""
import numpy as np
import pytest

import autograd as ag

# PyTorch and topograd warn that backward(create_graph=True) makes a cycle through .grad;
# the tests do that on purpose, to compare.
pytestmark = [pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True:UserWarning"),
              pytest.mark.filterwarnings("ignore:backward\\(create_graph=True\\) records:UserWarning")]


def f64(values, requires_grad=False):
    return ag.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def values(t):
    return np.asarray(t.detach().numpy() if hasattr(t, "detach") else t)


def assert_close(got, want):
    np.testing.assert_allclose(values(got), values(want), rtol=1e-10, atol=1e-12)


# --- numbers that were silently wrong ---------------------------------------------------------------


def test_plain_backward_after_create_graph_leaves_the_other_leafs_grad_alone(device, torch):
    """x, z leaves; (x + z).backward(g, create_graph=True); then (3 x).sum().backward().

    topograd gave: z.grad == [4, 4] (x.grad and z.grad are one tensor, so adding 3 to x.grad
    changed z.grad). PyTorch: z.grad == [1, 1]. z took no part in the second backward,
    so its gradient must stay d(x + z)/dz . g = [1, 1]."""
    x, z = f64([1.0, 2.0], True), f64([3.0, 4.0], True)
    (x + z).backward(f64([1.0, 1.0]), create_graph=True)
    (x * 3).sum().backward()

    tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    tz = torch.tensor([3.0, 4.0], dtype=torch.float64, requires_grad=True)
    (tx + tz).backward(torch.ones(2, dtype=torch.float64), create_graph=True)
    (tx * 3).sum().backward()
    assert_close(x.grad, tx.grad)
    assert_close(z.grad, tz.grad)


def test_scaling_one_grad_in_place_after_create_graph_leaves_the_other_alone(device, torch):
    """Gradient clipping after a double-backward setup: (w + b).backward(g, create_graph=True),
    then ``w.grad.mul_(0.5)`` under no_grad (what clip_grad_norm_ does).

    topograd gave: b.grad becomes [0.5, 0.5] too (w.grad and b.grad are one tensor).
    PyTorch: b.grad stays [1, 1]. Scaling one parameter's gradient must not change
    another parameter's."""
    w, b = f64([1.0, 2.0], True), f64([3.0, 4.0], True)
    (w + b).backward(f64([1.0, 1.0]), create_graph=True)
    with ag.no_grad():
        w.grad.mul_(0.5)

    tw = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    tb = torch.tensor([3.0, 4.0], dtype=torch.float64, requires_grad=True)
    (tw + tb).backward(torch.ones(2, dtype=torch.float64), create_graph=True)
    with torch.no_grad():
        tw.grad.mul_(0.5)
    assert_close(w.grad, tw.grad)
    assert_close(b.grad, tb.grad)


def test_backward_create_graph_does_not_hand_the_callers_gradient_to_a_leaf(device, torch):
    """y = x + 0; y.backward(g, create_graph=True); then (3 x).sum().backward().

    topograd gave: the caller's g becomes [4, 4] (x.grad *is* g, accumulated into in place).
    PyTorch: g stays [1, 1]. backward() must never write into the gradient it was given."""
    x = f64([1.0, 2.0], True)
    g = f64([1.0, 1.0])
    (x + 0.0).backward(g, create_graph=True)
    (x * 3).sum().backward()

    tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    tg = torch.ones(2, dtype=torch.float64)
    (tx + 0.0).backward(tg, create_graph=True)
    (tx * 3).sum().backward()
    assert_close(x.grad, tx.grad)
    assert_close(g, tg)


def test_gradient_a_hook_kept_under_create_graph_is_not_changed_later(device, torch):
    """A leaf hook that records its gradient, a backward(create_graph=True) of (3 x).sum(),
    then a plain backward of (5 x).sum().

    topograd gave: the recorded gradient becomes [8, 8] (it is x.grad, accumulated in place).
    PyTorch: it stays [3, 3], the gradient the hook was shown. (The plain pass already
    protects what hooks saw, through handed_out; the create_graph pass does not.)"""
    seen, tseen = [], []
    x = f64([1.0, 2.0], True)
    x.register_hook(lambda grad: seen.append(grad))
    (x * 3).sum().backward(create_graph=True)
    (x * 5).sum().backward()

    tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    tx.register_hook(lambda grad: tseen.append(grad))
    (tx * 3).sum().backward(create_graph=True)
    (tx * 5).sum().backward()
    assert_close(x.grad, tx.grad)
    assert_close(seen[0], tseen[0])


def test_retained_grad_after_create_graph_is_not_changed_by_a_leafs_accumulation(device, torch):
    """a = x + 0 with a.retain_grad(); (a + 0).backward(g, create_graph=True); then
    (3 x).sum().backward().

    topograd gave: a.grad becomes [4, 4] (a.grad, x.grad and g are one tensor).
    PyTorch: a.grad stays [1, 1]: the second backward never reached a."""
    x = f64([1.0, 2.0], True)
    a = x + 0.0
    a.retain_grad()
    (a + 0.0).backward(f64([1.0, 1.0]), create_graph=True)
    (x * 3).sum().backward()

    tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    ta = tx + 0.0
    ta.retain_grad()
    (ta + 0.0).backward(torch.ones(2, dtype=torch.float64), create_graph=True)
    (tx * 3).sum().backward()
    assert_close(x.grad, tx.grad)
    assert_close(a.grad, ta.grad)


# --- errors where PyTorch computes the right value -------------------------------


def test_plain_backward_after_create_graph_through_a_sum_accumulates(device, torch):
    """(x + z).sum().backward(create_graph=True) with x, z of shape (2, 1), then
    (3 x).sum().backward().

    topograd gave: ValueError "output array is read-only" (x.grad is Sum's read-only broadcast
    view of the seed, kept as is, then accumulated into in place; same root cause as
    above, engine.py _finish_leaf). PyTorch: x.grad == [[4], [4]], z.grad == [[1], [1]]."""
    x, z = f64([[1.0], [2.0]], True), f64([[3.0], [4.0]], True)
    (x + z).sum().backward(create_graph=True)
    (x * 3).sum().backward()

    tx = torch.tensor([[1.0], [2.0]], dtype=torch.float64, requires_grad=True)
    tz = torch.tensor([[3.0], [4.0]], dtype=torch.float64, requires_grad=True)
    (tx + tz).sum().backward(create_graph=True)
    (tx * 3).sum().backward()
    assert_close(x.grad, tx.grad)
    assert_close(z.grad, tz.grad)


def test_second_derivative_of_relu_is_zero(device, torch):
    """g = d relu(x).sum() / dx with create_graph=True, then d g.sum() / dx.

    topograd gave: RuntimeError "output 0 does not require grad" (Relu.backward's ReluGrad of
    the seed and a constant mask records nothing, elementwise.py Relu/ReluGrad).
    PyTorch: zeros, the true second derivative of ReLU away from 0 (its backward keeps
    the result in the graph). A Hessian-vector product through a ReLU net whose input
    is the only variable hits this."""
    x = f64([-2.0, 0.5, 3.0], True)
    g, = ag.grad(x.relu().sum(), [x], create_graph=True)
    h, = ag.grad(g.sum(), [x], allow_unused=True)

    tx = torch.tensor([-2.0, 0.5, 3.0], dtype=torch.float64, requires_grad=True)
    tg, = torch.autograd.grad(tx.relu().sum(), [tx], create_graph=True)
    th, = torch.autograd.grad(tg.sum(), [tx])
    assert_close(g, tg)
    assert h is not None
    assert_close(h, th)


def test_third_derivative_through_abs_is_zero(device, torch):
    """f(x) = sum(|x| x): f'' = 2 sign(x), f''' = 0.

    topograd gave: RuntimeError "output 0 does not require grad" at the third ag.grad (Abs.backward
    multiplies by sign(x) as a constant, elementwise.py Abs, so f'' leaves the graph).
    PyTorch: zeros (abs's backward uses x.sgn(), which stays in the graph)."""
    x = f64([-1.0, 0.5, 2.0], True)
    g, = ag.grad((x.abs() * x).sum(), [x], create_graph=True)
    h, = ag.grad(g.sum(), [x], create_graph=True)
    k, = ag.grad(h.sum(), [x], allow_unused=True)

    tx = torch.tensor([-1.0, 0.5, 2.0], dtype=torch.float64, requires_grad=True)
    tg, = torch.autograd.grad((tx.abs() * tx).sum(), [tx], create_graph=True)
    th, = torch.autograd.grad(tg.sum(), [tx], create_graph=True)
    tk, = torch.autograd.grad(th.sum(), [tx])
    assert_close(h, th)
    assert k is not None
    assert_close(k, tk.numpy(force=True))  # (PyTorch's zeros here are a ZeroTensor)


# --- a leaf that is itself the output: its gradient is made in create_graph's mode ---------------


X = [0.5, -1.0, 2.0]


def assert_close_1e12(got, want):
    np.testing.assert_allclose(values(got), values(want), rtol=1e-12, atol=1e-12)


def leaf(lib, data=X):
    return lib.tensor(data, dtype=lib.float64, requires_grad=True)


def _hooked_leaf_backward(lib, how):
    """x.backward(g) (or ag.grad(x, x, g)) with a hook on x that computes with x itself."""
    x = leaf(lib)
    x.register_hook(lambda g: g * x)
    g = lib.ones(3, dtype=lib.float64)
    if how == "backward":
        x.backward(g)
        return x.grad
    (gx,) = (ag.grad if lib is ag else lib.autograd.grad)(x, x, g)
    return gx


@pytest.mark.parametrize("how", ["backward", "grad"])
def test_a_hook_on_a_leaf_output_runs_without_recording_in_a_plain_pass(device, torch, how):
    """Before: the leaves among the outputs were finished before the engine switched to
    create_graph's mode, so the hook's g * x was recorded and x.grad (or ag.grad's answer)
    came back with a grad_fn and requires_grad=True. PyTorch runs the hook without
    recording: a plain tensor, as every other gradient of a plain pass."""
    mine, theirs = _hooked_leaf_backward(ag, how), _hooked_leaf_backward(torch, how)
    assert_close_1e12(mine, theirs)
    assert (mine.requires_grad, mine.grad_fn) == (theirs.requires_grad, None) == (False, None)


def test_a_leaf_output_s_gradient_is_differentiable_under_create_graph_inside_no_grad(device, torch):
    """x.backward(g, create_graph=True) inside no_grad, with g requiring grad: before, x.grad
    was made in the caller's no_grad mode, so it did not require grad and d(x.grad)/dg
    raised; PyTorch records it (create_graph sets the mode), and the derivative is 1."""
    def run(lib):
        x, g = leaf(lib), leaf(lib, [1.0, 2.0, 3.0])
        seen = []
        x.register_hook(lambda grad: seen.append(lib.is_grad_enabled()))
        with lib.no_grad():
            x.backward(g, create_graph=True)
        (dg,) = (ag.grad if lib is ag else lib.autograd.grad)((x.grad * x.grad).sum(), g)
        return x.grad, dg, seen
    (mine, dmine, seen_mine), (theirs, dtheirs, seen_theirs) = run(ag), run(torch)
    assert mine.requires_grad and theirs.requires_grad
    assert_close_1e12(mine, theirs)
    assert_close_1e12(dmine, dtheirs)  # 2 g
    assert seen_mine == seen_theirs == [True]


def test_several_gradients_for_a_leaf_output_are_summed_in_create_graph_s_mode(device, torch):
    """ag.backward([x, x], [g1, g2], create_graph=True) inside no_grad: the two seeds for the
    leaf x are summed before any node runs, and that sum was made in the caller's mode, so
    x.grad lost its graph to g1 and g2. PyTorch's d(x.grad)/dg1 is 1 per element."""
    def run(lib):
        x, g1, g2 = leaf(lib), leaf(lib, [1.0, 2.0, 3.0]), leaf(lib, [4.0, 5.0, 6.0])
        with lib.no_grad():
            (ag.backward if lib is ag else lib.autograd.backward)([x, x], [g1, g2], create_graph=True)
        return x.grad, (ag.grad if lib is ag else lib.autograd.grad)(x.grad.sum(), [g1, g2])
    (mine, dmine), (theirs, dtheirs) = run(ag), run(torch)
    assert_close_1e12(mine, theirs)
    for got, want in zip(dmine, dtheirs):
        assert_close_1e12(got, want)


# --- a plain backward into a .grad that create_graph left recorded ---------------------------------


def _grad_fn(lib):
    return ag.grad if lib is ag else lib.autograd.grad


def test_a_plain_backward_adds_into_a_recorded_grad_in_place(device, torch):
    """x.grad from (x * x).sum().backward(create_graph=True) is recorded (it has a grad_fn);
    a plain (3 x).sum().backward() then adds into it. Before: topograd replaced it with a new
    tensor [5, 7] that did not require grad (engine.py _accumulate_unlocked went out of place
    for any .grad with a grad_fn), so d(x.grad)/dx raised "does not require grad". PyTorch adds
    in place: the same tensor, its requires_grad and grad_fn kept, values [5, 7], and its
    derivative still the one its graph gives (2 per element)."""
    def run(lib):
        x = leaf(lib, [1.0, 2.0])
        (x * x).sum().backward(create_graph=True)
        first, node = x.grad, x.grad.grad_fn
        (x * 3).sum().backward()
        kept = (x.grad is first, x.grad.requires_grad, x.grad.grad_fn is node and node is not None)
        (d,) = _grad_fn(lib)(x.grad.sum(), x)
        return x.grad, kept, d
    (mine, kept, d), (theirs, tkept, td) = run(ag), run(torch)
    assert kept == tkept == (True, True, True)
    assert_close_1e12(mine, theirs)  # [5, 7]
    assert_close_1e12(d, td)  # [2, 2]


def test_a_plain_backward_into_a_recorded_grad_keeps_its_graph_to_other_leaves(device, torch):
    """(x * x * w).sum().backward(create_graph=True), then (x * w).sum().backward(): x.grad
    [3, 5] still depends on w through the first graph, as in PyTorch (d x.grad.sum() / dw =
    2 x = [2, 4]); before, it had left the graph."""
    def run(lib):
        x, w = leaf(lib, [1.0, 2.0]), leaf(lib, [1.0, 1.0])
        (x * x * w).sum().backward(create_graph=True)
        (x * w).sum().backward()
        (dw,) = _grad_fn(lib)(x.grad.sum(), w)
        return x.grad, dw
    (mine, dw), (theirs, tdw) = run(ag), run(torch)
    assert_close_1e12(mine, theirs)
    assert_close_1e12(dw, tdw)


def test_an_op_that_saved_the_recorded_grad_refuses_backward_after_it_was_added_into(device, torch):
    """z = (x.grad * x.grad).sum() saves x.grad; a plain backward then adds into x.grad in
    place, so z.backward() must refuse, as PyTorch's does (its version counter moved on).
    Before: topograd's x.grad was replaced, so z.backward() ran on the old values."""
    def run(lib):
        x = leaf(lib, [1.0, 2.0])
        (x * x).sum().backward(create_graph=True)
        z = (x.grad * x.grad).sum()
        (x * 3).sum().backward()
        with pytest.raises(RuntimeError, match="modified (by an inplace operation|in place)"):
            z.backward()
    run(ag)
    run(torch)
