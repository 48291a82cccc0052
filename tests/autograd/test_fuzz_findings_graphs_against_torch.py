"""What a differential fuzz of the engine against PyTorch (float64) found: random graphs with
hooks, retained grads, backward(inputs=...), and in-place changes through views. Each test
failed before its fix."""
import numpy as np
import pytest

import autograd as ag
from tests.autograd.torch_pairs import both, close, f64
from tests.conftest import DEVICES

# A diagonal is a view where the backend makes strided views (array-api-strict cannot: a copy).
STRIDED_DEVICES = [d for d in DEVICES if d != "strict"]


# --- backward(inputs=...) with a non-leaf ---------------------------------------------------------

def test_backward_into_a_non_leaf_that_retains_its_grad_adds_the_gradient_once_as_torch(device, torch):
    """The pass filled the retained grad, and the inputs= step then added the same gradient
    again: twice PyTorch's."""
    x, tx = both(torch, [1.0, -2.0, 0.5])
    y, ty = x * 2.0, tx * 2.0
    y.retain_grad()
    ty.retain_grad()
    y.register_hook(lambda g: g * 10.0)
    ty.register_hook(lambda g: g * 10.0)
    (y * y).sum().backward(inputs=[y, x])
    (ty * ty).sum().backward(inputs=[ty, tx])
    close(y.grad, ty.grad)
    close(x.grad, tx.grad)


def test_backward_into_a_non_leaf_makes_it_retain_its_grad_as_torch(device, torch):
    """As PyTorch's: a non-leaf given as inputs= retains its grad from then on, so a later
    plain backward adds to it (topograd's stayed at the first pass's gradient)."""
    x, tx = both(torch, [1.0, -2.0, 0.5])
    y, ty = x.sin(), tx.sin()
    (y * y).sum().backward(inputs=[y], retain_graph=True)
    (ty * ty).sum().backward(inputs=[ty], retain_graph=True)
    assert y.retains_grad and ty.retains_grad
    assert x.grad is None and tx.grad is None
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    close(y.grad, ty.grad)
    close(x.grad, tx.grad)


# --- diagonal is a view, as PyTorch's -------------------------------------------------------------

@pytest.mark.parametrize("device", STRIDED_DEVICES, indirect=True)
@pytest.mark.parametrize("offset, axis1, axis2", [(0, 0, 1), (1, 0, 1), (-1, 0, 1), (1, 1, 0), (0, 0, 2), (-1, 2, 1)])
def test_an_in_place_change_of_a_diagonal_reaches_its_base_as_torch(device, torch, offset, axis1, axis2):
    """topograd's diagonal was a copy: d.mul_(w) changed only the copy, so y kept its
    values and the gradients missed the change."""
    rng = np.random.default_rng(0)
    x, tx = both(torch, rng.standard_normal((3, 4, 3)) if axis2 == 2 or axis1 == 2 else rng.standard_normal((3, 4)))
    y, ty = x * 1.5, tx * 1.5
    d, td = y.diagonal(offset, axis1, axis2), ty.diagonal(offset, axis1, axis2)
    assert d.shape == tuple(td.shape)
    w, tw = both(torch, rng.standard_normal(td.shape[-1:]))
    d.mul_(w)
    td.mul_(tw)
    close(y, ty)
    weights = rng.standard_normal(ty.shape)
    ((y * y) * f64(weights)).sum().backward()
    ((ty * ty) * torch.tensor(weights)).sum().backward()
    close(x.grad, tx.grad)
    close(w.grad, tw.grad)


@pytest.mark.parametrize("device", STRIDED_DEVICES, indirect=True)
def test_a_change_of_the_base_reaches_its_diagonal_and_its_gradient_as_torch(device, torch):
    """And the other way round: the diagonal taken before an in-place change of its base
    shows the new values, and its gradient goes through the change."""
    x, tx = both(torch, np.arange(12.0).reshape(3, 4) / 7)
    y, ty = x * x, tx * tx
    d, td = y.diagonal(-1), ty.diagonal(-1)
    y.mul_(x)
    ty.mul_(tx)
    close(d, td)
    (d * d * 3.0).sum().backward()
    (td * td * 3.0).sum().backward()
    close(x.grad, tx.grad)


@pytest.mark.parametrize("device", STRIDED_DEVICES, indirect=True)
def test_views_of_a_diagonal_of_a_transpose_changed_in_place_as_torch(device, torch):
    x, tx = both(torch, np.arange(12.0).reshape(3, 4) / 5 - 1)
    w, tw = both(torch, [3.0, -0.5])
    y, ty = x * 2.0, tx * 2.0
    y.T.diagonal()[1:].mul_(w)
    ty.T.diagonal()[1:].mul_(tw)
    y.diagonal(1).zero_()
    ty.diagonal(1).zero_()
    close(y, ty)
    (y.sin() * y).sum().backward()
    (ty.sin() * ty).sum().backward()
    close(x.grad, tx.grad)
    close(w.grad, tw.grad)


@pytest.mark.parametrize("device", STRIDED_DEVICES, indirect=True)
def test_in_place_changes_of_a_diagonal_are_refused_or_caught_as_torch(device, torch):
    x, tx = both(torch, np.eye(3))
    with pytest.raises(RuntimeError, match="view of a leaf tensor that requires grad"):
        x.diagonal().mul_(2.0)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        tx.diagonal().mul_(2.0)
    np.testing.assert_array_equal(x.numpy(), np.eye(3))
    # The diagonal saved for backward (by a product), then changed through its base.
    y, ty = x * 1.0, tx * 1.0
    d, td = y.diagonal(), ty.diagonal()
    s, ts = (d * d).sum(), (td * td).sum()
    y.add_(1.0)
    ty.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        ts.backward()
    with pytest.raises(RuntimeError, match="modified in place"):
        s.backward()


@pytest.mark.parametrize("device", STRIDED_DEVICES, indirect=True)
def test_in_place_changes_through_a_diagonal_pass_gradcheck_and_gradgradcheck(device):
    def f(x, w):
        y = x * 1.0
        y.diagonal(1).mul_(w)
        return (y * y).sum(axis=0)

    rng = np.random.default_rng(1)
    x, w = f64(rng.standard_normal((3, 4)), True), f64(rng.standard_normal(3), True)
    expected = x.numpy().copy()
    expected[[0, 1, 2], [1, 2, 3]] *= w.numpy()
    np.testing.assert_allclose(f(x, w).numpy(), (expected * expected).sum(axis=0), rtol=1e-12)
    assert ag.gradcheck(f, (x, w))
    assert ag.gradgradcheck(f, (x, w))
