"""nn.utils.parametrizations.orthogonal against PyTorch's: for each map (matrix_exp, cayley,
householder), with and without the dynamic trivialization, on square, tall, wide and batched
weights: the originals and base after registration, the weight and the originals' gradients
with PyTorch's state loaded, training steps, assignment (right_inverse), and the errors."""
import numpy as np
import pytest

import autograd as ag
import nn
from nn.utils.parametrizations import orthogonal

MAPS = ["matrix_exp", "cayley", "householder"]
SHAPES = [(4, 4), (5, 3), (3, 5), (2, 4, 3)]


def holders(torch, value, dtype="float64"):
    """A module holding ``value`` as its parameter ``weight``, ours and PyTorch's."""
    class Ours(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(ag.tensor(value, dtype=dtype))

    class Theirs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.tensor(value, dtype=getattr(torch, dtype)))
    return Ours(), Theirs()


def parametrized(torch, value, orthogonal_map, use_trivialization, dtype="float64"):
    ours, theirs = holders(torch, value, dtype)
    orthogonal(ours, orthogonal_map=orthogonal_map, use_trivialization=use_trivialization)
    torch.nn.utils.parametrizations.orthogonal(theirs, orthogonal_map=orthogonal_map,
                                               use_trivialization=use_trivialization)
    return ours, theirs


def load_theirs(ours, theirs):
    """PyTorch's state into ours (its base, for a non-square weight, has random columns)."""
    ours.load_state_dict({k: ag.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})


def originals(module):
    return module.parametrizations.weight.original


def close(ours, theirs, tol=1e-12):
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=tol, atol=tol)


def gram(w):
    """W^T W for a tall or square matrix, W W^T for a wide one: the identity if W is orthogonal."""
    return np.swapaxes(w, -1, -2) @ w if w.shape[-2] >= w.shape[-1] else w @ np.swapaxes(w, -1, -2)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("use_trivialization", [True, False])
@pytest.mark.parametrize("orthogonal_map", MAPS)
def test_weight_and_gradients_match_torch(orthogonal_map, use_trivialization, shape, torch):
    rng = np.random.default_rng(sum(shape))
    ours, theirs = parametrized(torch, rng.standard_normal(shape), orthogonal_map, use_trivialization)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    close(originals(ours), originals(theirs))  # -I, the value unchanged, or the Householder reflections
    if use_trivialization and shape[-1] == shape[-2]:  # (a non-square base is completed at random)
        close(ours.parametrizations.weight[0].base, theirs.parametrizations.weight[0].base)
    load_theirs(ours, theirs)
    w, tw = ours.weight, theirs.weight
    close(w, tw)
    k = min(shape[-2:])
    np.testing.assert_allclose(gram(w.numpy()), np.broadcast_to(np.eye(k), shape[:-2] + (k, k)), atol=1e-12)
    cotangent = rng.standard_normal(shape)
    w.backward(ag.tensor(cotangent))
    tw.backward(torch.tensor(cotangent))
    close(originals(ours).grad, originals(theirs).grad, 1e-11)


@pytest.mark.parametrize("orthogonal_map", MAPS)
def test_from_a_nonzero_original_matches_torch(orthogonal_map, torch):
    """Away from the original -I that the trivialization starts at: a random original (and
    base) loaded into both, so every map runs at a general point."""
    rng = np.random.default_rng(11)
    ours, theirs = parametrized(torch, rng.standard_normal((5, 5)), orthogonal_map, True)
    with torch.no_grad():
        theirs.parametrizations.weight.original.copy_(torch.tensor(0.5 * rng.standard_normal((5, 5))))
    load_theirs(ours, theirs)
    close(ours.weight, theirs.weight)
    ours.weight.sum().backward()
    theirs.weight.sum().backward()
    close(originals(ours).grad, originals(theirs).grad, 1e-11)


@pytest.mark.parametrize("orthogonal_map, use_trivialization, shape", [
    ("matrix_exp", True, (4, 4)), ("cayley", True, (5, 3)), ("householder", False, (3, 5)),
    ("matrix_exp", False, (2, 4, 4))])
def test_training_steps_match_torch(orthogonal_map, use_trivialization, shape, torch):
    rng = np.random.default_rng(3)
    ours, theirs = parametrized(torch, rng.standard_normal(shape), orthogonal_map, use_trivialization)
    load_theirs(ours, theirs)
    target = rng.standard_normal(shape)
    ours_opt = nn.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    theirs_opt = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    for _ in range(5):
        for module, opt, goal in ((ours, ours_opt, ag.tensor(target)), (theirs, theirs_opt, torch.tensor(target))):
            opt.zero_grad()
            ((module.weight - goal) ** 2).sum().backward()
            opt.step()
    close(ours.weight, theirs.weight, 1e-10)
    close(originals(ours), originals(theirs), 1e-10)


def test_float32_matches_torch(torch):
    rng = np.random.default_rng(4)
    ours, theirs = parametrized(torch, rng.standard_normal((6, 6)), "matrix_exp", True, dtype="float32")
    with torch.no_grad():
        theirs.parametrizations.weight.original.copy_(torch.tensor(rng.standard_normal((6, 6))))
    load_theirs(ours, theirs)
    assert ours.weight.dtype == ag.float32
    close(ours.weight, theirs.weight, 1e-5)
    ours.weight.sum().backward()
    theirs.weight.sum().backward()
    close(originals(ours).grad, originals(theirs).grad, 1e-4)


@pytest.mark.parametrize("orthogonal_map", MAPS)
def test_assigning_a_square_matrix_matches_torch(orthogonal_map, torch):
    """An orthogonal matrix is taken as it is, another is made orthogonal by QR (a positive
    diagonal of R); the original goes back to -I (with the trivialization)."""
    rng = np.random.default_rng(5)
    ours, theirs = parametrized(torch, rng.standard_normal((4, 4)), orthogonal_map, True)
    rotation = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    for value in (rotation, rng.standard_normal((4, 4))):
        ours.weight = ag.tensor(value)
        with torch.no_grad():
            theirs.weight = torch.tensor(value)
        close(ours.parametrizations.weight[0].base, theirs.parametrizations.weight[0].base)
        close(originals(ours), originals(theirs))
        close(ours.weight, theirs.weight)
    np.testing.assert_allclose(ours.parametrizations.weight[0].base.numpy(), np.linalg.qr(value)[0]
                               * np.sign(np.diag(np.linalg.qr(value)[1])), atol=1e-12)


def test_assigning_without_the_trivialization(torch):
    """householder stores the QR's reflections (as LAPACK's geqrf), so the weight becomes the
    assigned orthogonal matrix; matrix_exp and cayley cannot be assigned to."""
    rng = np.random.default_rng(6)
    value = np.linalg.qr(rng.standard_normal((5, 3)))[0]
    ours, theirs = parametrized(torch, rng.standard_normal((5, 3)), "householder", False)
    ours.weight = ag.tensor(value)
    with torch.no_grad():
        theirs.weight = torch.tensor(value)
    close(originals(ours), originals(theirs))
    close(ours.weight, theirs.weight)
    np.testing.assert_allclose(ours.weight.numpy(), value, atol=1e-12)
    for orthogonal_map in ("matrix_exp", "cayley"):
        module, _ = parametrized(torch, rng.standard_normal((3, 3)), orthogonal_map, False)
        with pytest.raises(NotImplementedError, match=f"cannot be assigned to the {orthogonal_map} parametrization "
                                                      "with use_trivialization=False"):
            module.weight = ag.eye(3, dtype=ag.float64)


def test_householder_reads_the_diagonal_truncated(torch):
    """The Householder map flips columns by the original's diagonal cast to integers, outside
    the graph: a diagonal entry of -0.7 (as a weight decay leaves it) zeroes its column, as in
    PyTorch."""
    rng = np.random.default_rng(7)
    ours, theirs = parametrized(torch, rng.standard_normal((4, 3)), "householder", False)
    with torch.no_grad():
        theirs.parametrizations.weight.original[1, 1] = -0.7
        theirs.parametrizations.weight.original[2, 2] = 1.5
    load_theirs(ours, theirs)
    close(ours.weight, theirs.weight)
    np.testing.assert_array_equal(ours.weight.numpy()[:, 1], 0)
    ours.weight.sum().backward()
    theirs.weight.sum().backward()
    close(originals(ours).grad, originals(theirs).grad, 1e-11)


@pytest.mark.parametrize("shape, expected", [((4, 4), "matrix_exp"), ((5, 3), "householder"),
                                             ((2, 3, 5), "householder")])
def test_default_map_is_torchs(shape, expected, torch):
    ours, theirs = holders(torch, np.zeros(shape))
    orthogonal(ours)
    torch.nn.utils.parametrizations.orthogonal(theirs)
    theirs_map = theirs.parametrizations.weight[0].orthogonal_map.name
    assert ours.parametrizations.weight[0].orthogonal_map == expected == theirs_map


def test_a_zero_weight_starts_orthogonal(torch):
    """A deliberate difference: PyTorch's QR sign fix multiplies each column of Q by sign(R_ii),
    0 for a zero weight, so its base and weight are 0 and stay 0; here the base is I."""
    ours, theirs = parametrized(torch, np.zeros((3, 3)), "matrix_exp", True)
    np.testing.assert_array_equal(theirs.weight.detach().numpy(), 0)
    np.testing.assert_allclose(ours.weight.numpy(), np.eye(3), atol=1e-15)


def test_a_linear_layer_keeps_its_bias_and_trains():
    layer = orthogonal(nn.Linear(3, 6, dtype=ag.float64))
    assert [name for name, _ in layer.named_parameters()] == ["bias", "parametrizations.weight.original"]
    x = ag.randn(2, 3, dtype=ag.float64)
    (layer(x) ** 2).sum().backward()
    assert originals(layer).grad.shape == (6, 3)
    np.testing.assert_allclose(gram(layer.weight.numpy()), np.eye(3), atol=1e-12)


def test_errors():
    class Holder(nn.Module):
        def __init__(self, value):
            super().__init__()
            if value.dtype in (ag.float32, ag.float64):
                self.weight = nn.Parameter(value)
            else:
                self.register_buffer("weight", value)

    with pytest.raises(ValueError, match=r"^orthogonal: orthogonal_map must be one of 'matrix_exp', 'cayley', "
                                         r"'householder', got 'qr'$"):
        orthogonal(Holder(ag.zeros(3, 3)), orthogonal_map="qr")
    with pytest.raises(ValueError, match=r"^orthogonal: expects a matrix or a batch of matrices, got a tensor of 1 "
                                         r"dimensions"):
        orthogonal(Holder(ag.zeros(3)))
    with pytest.raises(ValueError, match=r"^orthogonal: Holder has no parameter or buffer named 'kernel'$"):
        orthogonal(Holder(ag.zeros(3, 3)), "kernel")
    with pytest.raises(TypeError, match=r"^orthogonal: 'weight' must be a floating-point tensor, got int64$"):
        orthogonal(Holder(ag.zeros(3, 3, dtype=ag.int64)))
    module = orthogonal(Holder(ag.randn(3, 2)))
    base, original = module.parametrizations.weight[0].base.numpy().copy(), originals(module).numpy().copy()
    with pytest.raises(ValueError, match=r"^orthogonal: expected a matrix or batch of matrices of shape \(3, 2\), "
                                         r"got a tensor of shape \(2, 3\)$"):
        module.weight = ag.zeros(2, 3)
    np.testing.assert_array_equal(module.parametrizations.weight[0].base.numpy(), base)  # nothing changed
    np.testing.assert_array_equal(originals(module).numpy(), original)
