"""autograd.function.once_differentiable and ag.graph.increment_version against PyTorch's."""
import numpy as np
import pytest

import autograd as ag
from autograd.function import once_differentiable

torch = pytest.importorskip("torch")


def _square(lib, once):
    """x ** 2 as a custom Function whose backward works on the arrays (so it is not
    differentiable again), with once_differentiable or without it."""
    base = ag.Function if lib is ag else torch.autograd.Function
    mark = (once_differentiable if lib is ag else torch.autograd.function.once_differentiable) if once else (lambda f: f)

    class Square(base):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.data ** 2 if lib is ag else x ** 2

        @staticmethod
        @mark
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            ctx.grad_enabled = (ag.is_grad_enabled() if lib is ag else torch.is_grad_enabled())
            return lib.tensor(2 * x.detach().numpy() * g.detach().numpy())

    return Square


@pytest.mark.parametrize("lib", ["ours", "torch"])
def test_first_derivatives_as_usual_and_a_second_one_refused(lib):
    lib = ag if lib == "ours" else torch
    square = _square(lib, once=True)
    x = lib.tensor([3.0, -1.0], requires_grad=True)
    y = square.apply(x)
    y.backward(lib.tensor([1.0, 2.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, -4.0])
    # create_graph with a gradient that requires grad: what it gives may not be differentiated
    seed = lib.tensor([1.0, 1.0], requires_grad=True)
    grad_fn = ag.grad if lib is ag else torch.autograd.grad
    (gx,) = grad_fn(square.apply(x), x, grad_outputs=seed, create_graph=True)
    np.testing.assert_array_equal(gx.detach().numpy(), [6.0, -2.0])
    with pytest.raises(RuntimeError, match="once_differentiable"):
        gx.sum().backward()


def test_its_backward_runs_without_recording():
    square = _square(ag, once=True)
    x = ag.tensor([2.0], requires_grad=True)
    node = square.apply(x).grad_fn
    ag.grad(square.apply(x), x, create_graph=True)
    square.apply(x).backward()
    assert node is not None
    y = square.apply(x)
    ag.grad(y, x, create_graph=True)
    assert y.grad_fn.grad_enabled is False


@pytest.mark.parametrize("lib", ["ours", "torch"])
def test_increment_version_makes_backward_refuse_the_changed_tensor(lib):
    lib_ = ag if lib == "ours" else torch
    x = lib_.tensor([1.0, 2.0], requires_grad=True)
    w = lib_.tensor([3.0, 4.0])
    y = (x * w).sum()  # saved w for x's gradient
    if lib == "ours":
        w.data[...] = 0  # a change autograd cannot see...
        ag.graph.increment_version(w)  # ...counted by hand
    else:
        with torch.no_grad():
            w.data.zero_()
        torch.autograd.graph.increment_version(w)
    with pytest.raises(RuntimeError, match="modified by an inplace operation|modified in place"):
        y.backward()


def test_increment_version_takes_iterables_and_refuses_other_things():
    a, b = ag.ones(2), ag.ones(3)
    ag.graph.increment_version([a, b])
    ag.graph.increment_version(t for t in (a,))  # any iterable, as PyTorch's
    assert (a._version.value, b._version.value) == (2, 1)
    with pytest.raises(TypeError, match="a Tensor, or an iterable of them"):
        ag.graph.increment_version(np.ones(2))
    with pytest.raises(TypeError, match="a Tensor, or an iterable of them"):
        ag.graph.increment_version([b, 3])
    assert b._version.value == 1  # (nothing counted when one is refused)
