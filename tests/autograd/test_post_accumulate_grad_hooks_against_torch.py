"""Tensor.register_post_accumulate_grad_hook against PyTorch's: when it runs (after each
backward's accumulation, not for ag.grad, after the gradient hooks), what it sees, its
handle, and an optimizer stepped per parameter from it."""
import numpy as np
import pytest

import autograd as ag
import nn
from tests.autograd.torch_pairs import numpy_or_none, same_nested

torch = pytest.importorskip("torch")


def _run(lib, inputs_kw=None):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy().copy()))
    (x * 3).sum().backward()
    (x * x).sum().backward()
    lib_grad = lib.autograd.grad if lib is torch else ag.grad
    lib_grad((x * 5).sum(), x)  # leaves .grad alone: no hook
    handle.remove()
    (x * 3).sum().backward()
    return seen, x.grad.numpy()


def test_runs_after_each_accumulation_as_torchs():
    ours, theirs = _run(ag), _run(torch)
    assert len(ours[0]) == len(theirs[0]) == 2
    for a, b in zip(ours[0], theirs[0]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ours[1], theirs[1])


def test_runs_after_the_gradient_hooks_and_sees_their_change():
    for lib in (ag, torch):
        x = lib.tensor([1.0, 1.0], requires_grad=True)
        seen = []
        x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy().copy()))
        x.register_hook(lambda g: g * 10)
        (x * 2).sum().backward()
        np.testing.assert_array_equal(seen[0], [20.0, 20.0])


def test_a_per_parameter_optimizer_step_in_backward_equals_the_usual_step():
    """The optimizer-in-backward pattern: each parameter steps, then drops its gradient, as
    soon as its gradient lands."""
    def model_and_data():
        ag.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
        return model, ag.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4))

    model, x = model_and_data()
    optimizers = {p: nn.optim.SGD([p], lr=0.1, momentum=0.9) for p in model.parameters()}

    def step(p):
        optimizers[p].step()
        p.grad = None

    for p in model.parameters():
        p.register_post_accumulate_grad_hook(step)
    for _ in range(3):
        model(x).pow(2).sum().backward()
    assert all(p.grad is None for p in model.parameters())

    reference, x = model_and_data()
    optimizer = nn.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):
        optimizer.zero_grad()
        reference(x).pow(2).sum().backward()
        optimizer.step()
    for p, q in zip(model.parameters(), reference.parameters()):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-6)


def test_refusals_name_the_problem():
    x = ag.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf tensors"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="does not require grad"):
        ag.ones(2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(TypeError):
        x.register_post_accumulate_grad_hook("not callable")
    x.register_post_accumulate_grad_hook(lambda t: 5)
    with pytest.raises(TypeError, match="returned int; it must return None"):
        (x * 3).sum().backward()


# --- backward(inputs=...) and post accumulate grad hooks -------------------------------

def _two_leaves_with_hooks(lib):
    """Each leaf's gradient hook and post accumulate grad hook, logged, through backward(inputs=)."""
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    w = lib.tensor([3.0, 4.0], requires_grad=True)
    log = []
    for name, t in (("x", x), ("w", w)):
        t.register_hook(lambda g, name=name: log.append((name + " hook", numpy_or_none(g))))
        t.register_post_accumulate_grad_hook(
            lambda t, name=name: log.append((name + " accumulated", numpy_or_none(t.grad))))
    ((x * w).exp().sum() + x.sum()).backward(inputs=[x, w])
    return log, numpy_or_none(x.grad), numpy_or_none(w.grad)


def test_backward_with_inputs_runs_post_accumulate_grad_hooks_as_each_leaf_takes_its_grad():
    # They ran for backward() but not for backward(inputs=...), which added into .grad
    # after its pass, with none of the leaves' post accumulate grad hooks.
    ours, theirs = _two_leaves_with_hooks(ag), _two_leaves_with_hooks(torch)
    assert [entry[0] for entry in ours[0]] == [entry[0] for entry in theirs[0]] == [
        "x hook", "x accumulated", "w hook", "w accumulated"]
    same_nested(ours, theirs)


def _step_in_backward(lib):
    """An optimizer stepped per parameter from its hook, driven by backward(inputs=[w])."""
    w = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)

    def step(t):
        with (ag.no_grad() if lib is ag else torch.no_grad()):
            t -= 0.1 * t.grad
        t.grad = None

    w.register_post_accumulate_grad_hook(step)
    for _ in range(3):
        (w * w).sum().backward(inputs=[w])
    return numpy_or_none(w), w.grad


def test_an_optimizer_stepped_from_the_hook_steps_under_backward_with_inputs():
    (ours, our_grad), (theirs, their_grad) = _step_in_backward(ag), _step_in_backward(torch)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    np.testing.assert_allclose(ours, np.array([1.0, -2.0, 3.0]) * 0.8 ** 3, rtol=1e-6)
    assert our_grad is None and their_grad is None
