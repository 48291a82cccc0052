"""ag.func against torch.func: what a differential fuzz found. An output outside the graph
gives zero gradients (it raised); results that depend on a captured tensor requiring grad
are differentiable by ordinary backward (they were detached); aux is outside the graph at
the top level; namedtuples are pytrees; a bad leaf's error names its transform."""
import collections

import numpy as np
import pytest

import autograd as ag

torch = pytest.importorskip("torch")
tfunc = torch.func

X = np.array([0.5, -1.25, 2.0])
Y = np.array([1.5, 0.25, -0.75])


def _both(test):
    """``test(lib, transforms)`` for topograd and for PyTorch, as numpy arrays."""
    return [np.asarray(test(lib, transforms)) for lib, transforms in ((ag, ag.func), (torch, tfunc))]


def _no_grad_inside(lib):
    def f(x):
        with lib.no_grad():
            return (x * x).sum()
    return f


@pytest.mark.parametrize("case", ["constant", "no_grad inside", "grad of grad of a linear function",
                                  "vjp with a constant output"])
def test_an_output_outside_the_graph_gives_zeros(case):
    def test(lib, t):
        x = lib.tensor(X)
        if case == "constant":
            return t.grad(lambda x: lib.tensor(Y).sum())(x).numpy()
        if case == "no_grad inside":
            return t.grad(_no_grad_inside(lib))(x).numpy()
        if case == "grad of grad of a linear function":
            return t.grad(lambda x: t.grad(lambda y: (2 * y).sum())(x).sum())(x).numpy()
        _, vjp_fn = t.vjp(lambda x: (x * 2, lib.tensor(Y)), x)
        return vjp_fn((lib.tensor(Y), lib.tensor(X)))[0].numpy()
    ours, theirs = _both(test)
    np.testing.assert_array_equal(ours, theirs)


TRANSFORMS = {  # each returns one tensor that depends on the captured w
    "grad": lambda lib, t, w: t.grad(lambda x: (x * x * w).sum())(lib.tensor(X)),
    "grad_and_value's value": lambda lib, t, w: t.grad_and_value(lambda x: (x * w * w).sum())(lib.tensor(X))[1],
    "vjp": lambda lib, t, w: t.vjp(lambda x: x * w * w, lib.tensor(X))[1](lib.tensor(Y))[0],
    "vjp's output": lambda lib, t, w: t.vjp(lambda x: {"y": x * w}, lib.tensor(X))[0]["y"],
    "jvp": lambda lib, t, w: t.jvp(lambda x: lib.sin(x * w), (lib.tensor(X),), (lib.tensor(Y),))[1],
    "jvp's tangent": lambda lib, t, w: t.jvp(lambda x: lib.sin(x), (lib.tensor(Y),), (w * 1,))[1],
    "jacrev": lambda lib, t, w: t.jacrev(lambda x: lib.sin(x * w))(lib.tensor(X)),
    "jacfwd": lambda lib, t, w: t.jacfwd(lambda x, y: x * y * w, 1)(lib.tensor(X), lib.tensor(Y)),
    "hessian": lambda lib, t, w: t.hessian(lambda x: (x ** 3 * w).sum())(lib.tensor(X)),
}


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_ordinary_backward_reaches_a_captured_tensor_that_requires_grad(name):
    """A gradient penalty: the inputs need no grad, the function's parameters do."""
    def test(lib, t):
        w = lib.tensor(Y, requires_grad=True)
        (TRANSFORMS[name](lib, t, w) ** 2).sum().backward()
        return w.grad.numpy()
    ours, theirs = _both(test)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_results_stay_outside_any_graph_when_nothing_outside_requires_grad():
    """A nested transform's own leaves are not captured tensors: the outermost results,
    its aux and results under no_grad need no grad."""
    def test(lib, t):
        def f(x, y):
            inner = t.grad(lambda a, b: (lib.sin(a) * b * b).sum(), 1)(x, y)
            return inner.sum(), {"inner": [inner]}
        gradient, (value, aux) = t.grad_and_value(f, has_aux=True)(lib.tensor(X), lib.tensor(Y))
        w = lib.tensor(X, requires_grad=True)
        with lib.no_grad():
            under_no_grad = t.grad(lambda x: (x * w).sum())(lib.tensor(Y))
        results = (gradient, value, aux["inner"][0], under_no_grad)
        assert not any(r.requires_grad for r in results)
        return np.concatenate([r.numpy().ravel() for r in results])
    ours, theirs = _both(test)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    # torch.func refuses non-tensors in aux; topograd hands them back as they are
    _, (tensor, note) = ag.func.grad(lambda x: ((x * x).sum(), (x * 2, "kept")), has_aux=True)(ag.tensor(X))
    assert note == "kept" and not tensor.requires_grad


def test_a_namedtuple_is_a_pytree():
    def test(lib, t):
        Pair = collections.namedtuple("Pair", "a b")
        gradient = t.grad(lambda p: (lib.sin(p.a) * p.b).sum())(Pair(lib.tensor(X), lib.tensor(Y)))
        assert type(gradient) is Pair
        return np.concatenate([gradient.a.numpy(), gradient.b.numpy()])
    ours, theirs = _both(test)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_a_bad_leaf_is_named_by_its_transform():
    with pytest.raises(TypeError, match="^grad: the arguments at argnums must be Tensors.*found NoneType"):
        ag.func.grad(lambda p: p["a"].sum())({"a": ag.tensor(X), "b": None})
    with pytest.raises(TypeError, match="^vjp: the primals must be Tensors.*found float"):
        ag.func.vjp(lambda x: x, [ag.tensor(X), 1.0])
