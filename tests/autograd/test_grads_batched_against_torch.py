"""ag.grad(..., is_grads_batched=True) as PyTorch's: each grad_output has a leading batch
axis, and each gradient the same axis, entry b being the vector-Jacobian product with entry
b of the grad_outputs. Ours loops over the entries where PyTorch's vmaps; the values, the
graph freed or kept, create_graph, allow_unused and the refusals are PyTorch's. Where ours
differs on purpose (materialize_grads' zeros get the batch axis), the test says so."""
import numpy as np
import pytest

import autograd as ag

X = [1.0, 2.0, 3.0]
W = [0.5, -1.0]


def _leaves(lib):
    if lib is ag:
        return (ag.tensor(X, dtype="float64", requires_grad=True), ag.tensor(W, dtype="float64", requires_grad=True))
    return (lib.tensor(X, dtype=lib.float64, requires_grad=True), lib.tensor(W, dtype=lib.float64, requires_grad=True))


def _grad(lib):
    return ag.grad if lib is ag else lib.autograd.grad


def _batch(lib, array):
    return ag.tensor(array, dtype="float64") if lib is ag else lib.tensor(array, dtype=lib.float64)


def _arrays(grads):
    return [None if g is None else np.asarray(g.detach().numpy()) for g in grads]


def _assert_same(ours, theirs):
    ours, theirs = _arrays(ours), _arrays(theirs)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def _both(torch, fn):
    return fn(ag), fn(torch)


CASES = {
    "one output, the identity's rows": lambda lib, x, w: (x ** 3, x, np.eye(3)),
    "a 0-d output": lambda lib, x, w: ((x ** 2).sum(), x, [1.0, -2.0]),
    "two outputs, two inputs": lambda lib, x, w: (
        (x.exp() * 2, (x[:, None] * w).sum(0)), (x, w),
        (np.arange(12.0).reshape(4, 3), np.arange(8.0).reshape(4, 2))),
    "a leaf as the output": lambda lib, x, w: (x, x, 2 * np.eye(3)),
    "broadcast inside": lambda lib, x, w: ((x[:, None] * w).sum(0), (x, w), np.eye(2)),
}


@pytest.mark.parametrize("case", CASES)
def test_batched_gradients_are_pytorchs(torch, case, device):
    def run(lib):
        x, w = _leaves(lib)
        outputs, inputs, batches = CASES[case](lib, x, w)
        if isinstance(outputs, tuple):
            batches = tuple(_batch(lib, b) for b in batches)
        else:
            batches = _batch(lib, batches)
        return _grad(lib)(outputs, inputs, batches, is_grads_batched=True)
    ours, theirs = _both(torch, run)
    _assert_same(ours, theirs)


def test_each_entry_is_one_plain_vector_jacobian_product():
    x, w = _leaves(ag)
    vs = np.random.default_rng(0).normal(size=(5, 3))
    y = x.sin() * x
    batched, = ag.grad(y, x, ag.tensor(vs), is_grads_batched=True, retain_graph=True)
    for b in range(5):
        single, = ag.grad(y, x, ag.tensor(vs[b]), retain_graph=True)
        np.testing.assert_array_equal(batched.numpy()[b], single.numpy())


def test_create_graph_differentiates_again_as_pytorchs(torch, device):
    def run(lib):
        x, _ = _leaves(lib)
        v = _batch(lib, np.arange(6.0).reshape(2, 3))
        v.requires_grad_()
        g, = _grad(lib)(x ** 3, x, v, is_grads_batched=True, create_graph=True)
        assert g.requires_grad
        return _grad(lib)((g * g).sum(), (x, v))
    ours, theirs = _both(torch, run)
    _assert_same(ours, theirs)


def test_the_graph_is_freed_after_the_last_entry_unless_retained(torch):
    for lib in (ag, torch):
        x, _ = _leaves(lib)
        y = x ** 2
        _grad(lib)(y, x, _batch(lib, np.eye(3)), is_grads_batched=True)
        with pytest.raises(RuntimeError, match="retain_graph=True"):
            _grad(lib)(y, x, _batch(lib, np.ones(3)))
        for kept in ({"retain_graph": True}, {"create_graph": True}):
            y = x ** 2
            _grad(lib)(y, x, _batch(lib, np.eye(3)), is_grads_batched=True, **kept)
            again, = _grad(lib)(y, x, _batch(lib, np.ones(3)))
            np.testing.assert_array_equal(again.detach().numpy(), [2.0, 4.0, 6.0])


def test_unused_inputs_are_refused_or_none_as_pytorchs(torch):
    for lib in (ag, torch):
        x, w = _leaves(lib)
        with pytest.raises(RuntimeError, match="allow_unused=True"):
            _grad(lib)(x ** 2, (x, w), _batch(lib, np.eye(3)), is_grads_batched=True)
    def run(lib):
        x, w = _leaves(lib)
        return _grad(lib)(x ** 2, (x, w), _batch(lib, np.eye(3)), is_grads_batched=True, allow_unused=True)
    ours, theirs = _both(torch, run)
    _assert_same(ours, theirs)


def test_materialized_zeros_get_the_batch_axis(device):
    """A deliberate difference: PyTorch's zeros have the input's shape, without the batch
    axis every other gradient of the call has."""
    x, w = _leaves(ag)
    gx, gw = ag.grad(x ** 2, (x, w), ag.tensor(np.eye(3)), is_grads_batched=True, materialize_grads=True)
    np.testing.assert_array_equal(gx.numpy(), np.diag([2.0, 4.0, 6.0]))
    assert gw.shape == (3, 2) and not gw.numpy().any()
    _, gw = ag.grad(x ** 2, (x, w), ag.tensor(np.eye(3)), is_grads_batched=True, materialize_grads=True,
                    create_graph=True)
    assert gw.requires_grad


def test_grad_outputs_of_another_dtype_or_not_tensors_are_cast_as_pytorchs(torch):
    def run(lib):
        x, _ = _leaves(lib)
        ints = ag.tensor(np.eye(3, dtype=np.int64)) if lib is ag else torch.eye(3, dtype=torch.int64)
        return _grad(lib)(x ** 2, x, ints, is_grads_batched=True)
    ours, theirs = _both(torch, run)
    _assert_same(ours, theirs)
    x, _ = _leaves(ag)
    from_array, = ag.grad(x ** 2, x, np.eye(3), is_grads_batched=True)
    np.testing.assert_array_equal(from_array.numpy(), np.diag([2.0, 4.0, 6.0]))
    named = ag.grad(x ** 2, {"x": x}, [ag.tensor(np.eye(3))], is_grads_batched=True)
    np.testing.assert_array_equal(named["x"].numpy(), np.diag([2.0, 4.0, 6.0]))


REFUSED = {
    "no grad_outputs": (lambda lib, x, w: (x ** 2, x, None), "grad_outputs\\[0\\] is None"),
    "no grad_outputs for a 0-d output": (lambda lib, x, w: ((x ** 2).sum(), x, None), "is None"),
    "one of two grad_outputs None": (
        lambda lib, x, w: ((x ** 2, (w * 3).sum()), (x, w), (_batch(lib, np.eye(3)), None)),
        "grad_outputs\\[1\\] is None"),
    "batch sizes that differ": (
        lambda lib, x, w: ((x ** 2, w * 3), (x, w), (_batch(lib, np.eye(3)), _batch(lib, np.ones((2, 2))))),
        "grad_outputs\\[1\\] has 2 where the ones before it have 3"),
    "no batch axis": (lambda lib, x, w: (x ** 2, x, _batch(lib, np.ones(3))), "leading batch axis"),
    "the wrong shape after it": (lambda lib, x, w: (x ** 2, x, _batch(lib, np.ones((2, 4)))), "shape \\(2, 4\\)"),
    "an empty batch": (lambda lib, x, w: (x ** 2, x, _batch(lib, np.ones((0, 3)))), "batch axis is empty"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refused_where_pytorch_refuses_and_the_graph_is_kept(torch, case):
    make, message = REFUSED[case]
    x, w = _leaves(ag)
    outputs, inputs, batches = make(ag, x, w)
    with pytest.raises(ValueError, match=message):
        ag.grad(outputs, inputs, batches, is_grads_batched=True)
    # nothing ran: the graph can still be differentiated
    first = outputs[0] if isinstance(outputs, tuple) else outputs
    ag.grad(first.sum(), x)
    tx, tw = _leaves(torch)
    with pytest.raises((RuntimeError, ValueError, IndexError)):
        torch.autograd.grad(*make(torch, tx, tw)[:3], is_grads_batched=True)


def test_positional_order_is_pytorchs(torch):
    import inspect
    ours = list(inspect.signature(ag.grad).parameters)
    theirs = list(inspect.signature(torch.autograd.grad).parameters)
    assert ours == theirs
