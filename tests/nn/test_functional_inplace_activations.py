"""PyTorch's functional in-place activations (F.relu_, F.elu_ ...) against PyTorch:
the input itself is returned with the activation's values, gradients flow through it
as through the out-of-place op, and what PyTorch refuses (a leaf that requires grad) is
refused; a view writes through to its base."""
import numpy as np
import pytest

import autograd as ag
import nn.functional as F

# name, extra positional arguments (the same for both libraries)
CASES = [("relu_", ()), ("leaky_relu_", (0.2,)), ("hardtanh_", (-0.5, 0.7)), ("elu_", (1.3,)), ("selu_", ()),
         ("celu_", (0.8,)), ("threshold_", (0.1, -2.0)), ("rrelu_", (0.1, 0.3))]  # rrelu_: evaluation slopes
IDS = [name for name, _ in CASES]


def values():
    return np.random.default_rng(0).standard_normal((3, 4)) * 2


@pytest.mark.parametrize("name, args", CASES, ids=IDS)
def test_values_and_gradient_match_torch(torch, name, args):
    x0 = values()
    w0 = np.random.default_rng(1).standard_normal((3, 4))
    x = ag.tensor(x0, dtype="float64", requires_grad=True)
    tx = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    y, ty = x * 1.5, tx * 1.5  # non-leaves, which may be changed in place
    out, tout = getattr(F, name)(y, *args), getattr(torch.nn.functional, name)(ty, *args)
    assert out is y  # the input itself, as PyTorch's
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    (out * ag.tensor(w0)).sum().backward()
    (tout * torch.tensor(w0)).sum().backward()
    # PyTorch's own celu gradient, in place or not, is off the exact exp(x / alpha) by about 1e-8 in float64
    rtol = 1e-7 if name == "celu_" else 1e-12
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("name, args", CASES, ids=IDS)
def test_a_leaf_that_requires_grad_is_refused_and_left_unchanged(torch, name, args):
    with pytest.raises(RuntimeError):
        getattr(torch.nn.functional, name)(torch.ones(3, requires_grad=True), *args)
    x = ag.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        getattr(F, name)(x, *args)
    np.testing.assert_array_equal(x.numpy(), [-1.0, 0.5, 2.0])


@pytest.mark.parametrize("name, args", CASES, ids=IDS)
def test_under_no_grad_a_leaf_is_changed(torch, name, args):
    x0 = values()
    x, tx = ag.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    with ag.no_grad():
        getattr(F, name)(x, *args)
    with torch.no_grad():
        getattr(torch.nn.functional, name)(tx, *args)
    np.testing.assert_allclose(x.detach().numpy(), tx.detach().numpy(), rtol=1e-6, atol=1e-6)


def test_a_view_writes_through_to_its_base_with_torch_gradients(torch):
    x0 = values()
    x, tx = ag.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    base, tbase = x * 2, tx * 2
    F.elu_(base[1], 0.5)
    torch.nn.functional.elu_(tbase[1], 0.5)
    np.testing.assert_allclose(base.detach().numpy(), tbase.detach().numpy(), rtol=1e-6)
    base.sum().backward()
    tbase.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)


def test_a_tensor_saved_for_backward_then_changed_is_caught():
    x = ag.tensor([0.5, -1.0], requires_grad=True)
    y = x * 1
    w = y * y  # keeps y for backward
    F.relu_(y)
    with pytest.raises(RuntimeError, match="modified in place"):
        w.sum().backward()


def test_training_rrelu_draws_slopes_in_place():
    ag.manual_seed(0)
    x = ag.tensor([-1.0, -2.0, 3.0])
    out = F.rrelu_(x, 0.1, 0.3, training=True)
    assert out is x
    slopes = x.numpy()[:2] / np.array([-1.0, -2.0])
    assert np.all((slopes >= 0.1) & (slopes <= 0.3)) and x.numpy()[2] == 3.0


def test_bad_input_is_refused_before_anything_changes():
    with pytest.raises(TypeError):
        F.elu_([1.0, 2.0])
    x = ag.tensor([-1.0, 2.0])
    with pytest.raises(ValueError, match="lower must be at most upper"):
        F.rrelu_(x, 0.5, 0.1)
    with pytest.raises(ValueError, match="alpha cannot be 0"):
        F.celu_(x, 0.0)
    np.testing.assert_array_equal(x.numpy(), [-1.0, 2.0])
    with pytest.raises(TypeError):
        F.relu_(ag.tensor([1, -2]))  # an integer tensor, as for F.relu
