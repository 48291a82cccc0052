"""Tensor.register_post_accumulate_grad_hook against PyTorch's: when it runs (after each
backward's accumulation, not for ag.grad, after the gradient hooks), what it sees, its
handle, and an optimizer stepped per parameter from it."""
import numpy as np
import pytest

import autograd as ag
import nn

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
