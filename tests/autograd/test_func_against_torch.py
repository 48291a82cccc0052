"""ag.func (grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian) against torch.func:
values, structures (dicts of parameters through functional_call), has_aux, argnums,
composition (grad of grad, hessian), ordinary autograd through a transform's results,
and the errors."""
import collections

import numpy as np
import pytest

import autograd as ag
import nn
from nn.utils.stateless import functional_call

torch = pytest.importorskip("torch")
tfunc = torch.func

X = np.array([0.5, -1.25, 2.0])
Y = np.array([1.5, 0.25, -0.75])


def _f(lib):
    return lambda x, y: (lib.sin(x) * y ** 2).sum() + (x * x * x).sum()


def _pair(lib):
    return lib.tensor(X), lib.tensor(Y)


@pytest.mark.parametrize("argnums", [0, 1, (0, 1), -1])
def test_grad_and_grad_and_value_match_torch(argnums):
    ours = ag.func.grad_and_value(_f(ag), argnums)(*_pair(ag))
    theirs = tfunc.grad_and_value(_f(torch), argnums)(*_pair(torch))
    got, want = ours[0], theirs[0]
    if isinstance(argnums, tuple):
        assert isinstance(got, tuple) and len(got) == 2
    else:
        got, want = (got,), (want,)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-12)
        assert not g.requires_grad
    np.testing.assert_allclose(ours[1].item(), theirs[1].item(), rtol=1e-12)


def test_second_and_third_derivatives_by_composition():
    def f(lib):
        return lambda x: (lib.tanh(x) * x).sum()

    def second(lib, transforms):
        return transforms.grad(lambda x: transforms.grad(f(lib))(x).sum())

    x = X[:1]
    ours = ag.func.grad(lambda x: second(ag, ag.func)(x).sum())(ag.tensor(x))
    theirs = tfunc.grad(lambda x: second(torch, tfunc)(x).sum())(torch.tensor(x))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10)
    np.testing.assert_allclose(second(ag, ag.func)(ag.tensor(X)).numpy(),
                               second(torch, tfunc)(torch.tensor(X)).numpy(), rtol=1e-10)


def test_a_dict_of_parameters_through_functional_call_and_has_aux():
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    theirs_model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)).double()
    params = {k: v.detach().astype("float64") for k, v in model.named_parameters()}
    tparams = {k: torch.tensor(v.numpy()) for k, v in params.items()}
    inputs = np.linspace(-1, 1, 6).reshape(2, 3)

    def loss(lib, call, module, p, x):
        out = call(module, p, (x,))
        return (out ** 2).mean(), out

    model.double()
    grads, aux = ag.func.grad(lambda p, x: loss(ag, functional_call, model, p, x), has_aux=True)(
        params, ag.tensor(inputs))
    tgrads, taux = tfunc.grad(lambda p, x: loss(torch, tfunc.functional_call, theirs_model, p, x), has_aux=True)(
        tparams, torch.tensor(inputs))
    assert set(grads) == set(tgrads)
    for k in grads:
        np.testing.assert_allclose(grads[k].numpy(), tgrads[k].numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(aux.detach().numpy(), taux.detach().numpy(), rtol=1e-12)


def test_vjp_with_structures_and_a_reusable_vjp_fn():
    def f(lib):
        return lambda p: {"a": lib.sin(p["x"]) * p["y"], "b": (p["x"] * p["y"]).sum()}

    ours_out, ours_fn = ag.func.vjp(f(ag), {"x": ag.tensor(X), "y": ag.tensor(Y)})
    theirs_out, theirs_fn = tfunc.vjp(f(torch), {"x": torch.tensor(X), "y": torch.tensor(Y)})
    np.testing.assert_allclose(ours_out["a"].numpy(), theirs_out["a"].numpy())
    for scale in (1.0, 2.0):
        (ours,) = ours_fn({"a": ag.tensor(scale * Y), "b": ag.tensor(scale)})
        (theirs,) = theirs_fn({"a": torch.tensor(scale * Y), "b": torch.tensor(scale, dtype=torch.float64)})
        for k in ("x", "y"):
            np.testing.assert_allclose(ours[k].numpy(), theirs[k].numpy(), rtol=1e-12)


def test_vjp_fn_is_differentiable_in_its_cotangents():
    """vjp_fn is linear in the cotangents: a jacrev of it (the transposed Jacobian, the
    double-vjp trick) and backward to a cotangent that requires grad go through it (they
    gave zeros, and an error)."""
    results = []
    for lib, transforms in ((ag, ag.func), (torch, tfunc)):
        _, vjp_fn = transforms.vjp(lambda x: lib.sin(x) * x[0], lib.tensor(X))
        transposed = transforms.jacrev(lambda c: vjp_fn(c)[0])(lib.tensor(Y))
        cotangent = lib.tensor(Y, requires_grad=True)
        (vjp_fn(cotangent)[0] ** 2).sum().backward()
        results.append((transposed.numpy(), cotangent.grad.numpy()))
    for ours, theirs in zip(*results):
        assert np.abs(ours).max() > 0
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_jvp_jacrev_jacfwd_and_hessian():
    f_ag, f_torch = _f(ag), _f(torch)
    out, tangent_out = ag.func.jvp(f_ag, _pair(ag), (ag.ones(3, dtype="float64"), ag.zeros(3, dtype="float64")))
    tout, ttangent_out = tfunc.jvp(f_torch, _pair(torch), (torch.ones(3, dtype=torch.float64),
                                                           torch.zeros(3, dtype=torch.float64)))
    np.testing.assert_allclose(tangent_out.numpy(), ttangent_out.numpy(), rtol=1e-12)

    def vector(lib):
        return lambda x, y: lib.sin(x) * y + x * x

    for ours_t, theirs_t in ((ag.func.jacrev, tfunc.jacrev), (ag.func.jacfwd, tfunc.jacfwd)):
        for argnums in (0, (0, 1)):
            got = ours_t(vector(ag), argnums)(*_pair(ag))
            want = theirs_t(vector(torch), argnums)(*_pair(torch))
            got, want = (got, want) if isinstance(argnums, tuple) else ((got,), (want,))
            for g, w in zip(got, want):
                np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ag.func.hessian(f_ag)(*_pair(ag)).numpy(),
                               tfunc.hessian(f_torch)(*_pair(torch)).numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("keyword", [{"chunk_size": None}, {"chunk_size": 1}, {"chunk_size": 2}, {"chunk_size": 50},
                                     {"randomness": "error"}, {"randomness": "different"}, {"randomness": "same"}],
                         ids=lambda k: "=".join(map(str, *k.items())))
def test_jacrev_chunk_size_and_jacfwd_randomness_are_accepted_with_the_same_jacobian(keyword):
    """PyTorch code passes them routinely; they were refused as unknown keywords."""
    name = "jacrev" if "chunk_size" in keyword else "jacfwd"

    def vector(lib):
        return lambda x, y: {"s": lib.sin(x) * y, "p": (x * y).sum()}

    got = getattr(ag.func, name)(vector(ag), (0, 1), **keyword)(*_pair(ag))
    want = getattr(tfunc, name)(vector(torch), (0, 1), **keyword)(*_pair(torch))
    for k in ("s", "p"):
        for g, w in zip(got[k], want[k]):
            np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("chunk_size, error", [(0, ValueError), (-1, ValueError), (2.0, TypeError)])
def test_jacrev_refuses_chunk_sizes_as_torch_does(chunk_size, error):
    """PyTorch refuses 0 and negatives when jacrev is made, a float when it is called."""
    for transforms, lib in ((tfunc, torch), (ag.func, ag)):
        with pytest.raises(error):
            transforms.jacrev(lambda x: x * 2, chunk_size=chunk_size)(lib.tensor(X))


def test_ordinary_backward_through_a_transforms_result():
    """A meta-learning step: the inner gradient depends on w, which requires grad, so the
    outer loss's backward goes through it (as through torch.func.grad's)."""
    for lib, transforms in ((ag, ag.func), (torch, tfunc)):
        w = lib.tensor(X, requires_grad=True)
        inner = transforms.grad(lambda w: (lib.sin(w) * w).sum())(w)
        adapted = w - 0.1 * inner
        (adapted ** 2).sum().backward()
        if lib is ag:
            ours = w.grad.numpy()
        else:
            np.testing.assert_allclose(ours, w.grad.numpy(), rtol=1e-12)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="one element"):
        ag.func.grad(lambda x: x * 2)(ag.tensor(X))
    with pytest.raises(ValueError, match="argnums 2 is out of range"):
        ag.func.grad(_f(ag), argnums=2)(*_pair(ag))
    with pytest.raises(TypeError, match="pair \\(output, aux\\)"):
        ag.func.grad(lambda x: x.sum(), has_aux=True)(ag.tensor(X))
    with pytest.raises(TypeError, match="tuples, lists or dicts"):
        ag.func.grad(lambda x: 1.0)(3.0)
    out, fn = ag.func.vjp(lambda x: x * 2, ag.tensor(X))
    with pytest.raises(ValueError, match="cotangents must have the output's structure"):
        fn(ag.ones(2, dtype="float64"))


# An output outside the graph gives zero gradients (it raised); results that depend on a
# captured tensor requiring grad are differentiable by ordinary backward (they were
# detached); aux is outside the graph at the top level; namedtuples are pytrees; a bad
# leaf's error names its transform.
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


# --- tangents, cotangents and outputs that do not fit: torch.func's RuntimeError ----------------
MISUSE_X = np.array([0.5, -1.0, 2.0])


def _misuses(lib, func):
    x = lib.tensor(MISUSE_X)
    return {
        "tangent shape": lambda: func.jvp(lambda t: t.sin(), (x,), (lib.tensor(MISUSE_X[:2]),)),
        "tangent structure": lambda: func.jvp(lambda p: p["a"].sin(), ({"a": x},), (x,)),
        "tangent dict order": lambda: func.jvp(lambda p: p["a"] * p["b"], ({"a": x, "b": x},), ({"b": x, "a": x},)),
        "no primal tensor": lambda: func.jvp(lambda t: lib.ones(2), ([],), ([],)),
        "jvp of no output": lambda: func.jvp(lambda t: (), (x,), (x,)),
        "jacrev of no output": lambda: func.jacrev(lambda t: {})(x),
        "jacfwd of no output": lambda: func.jacfwd(lambda t: [])(x),
        "cotangent shape": lambda: func.vjp(lambda t: t * 2, x)[1](lib.tensor(MISUSE_X[:2])),
        # (same shapes: paired by position, they gave a's cotangent to b)
        "cotangent dict order": lambda: func.vjp(lambda t: {"a": t * 2, "b": t * 3}, x)[1]({"b": x, "a": x * 0}),
        "cotangent structure": lambda: func.vjp(lambda t: (t * 2, t * 3), x)[1]([x, x]),
        "grad of a vector": lambda: func.grad(lambda t: t * 2)(x),
    }


@pytest.mark.parametrize("misuse", list(_misuses(ag, ag.func)))
def test_tangents_cotangents_and_outputs_that_do_not_fit_raise_torch_funcs_runtime_error(misuse):
    """torch.func raises RuntimeError for these; topograd raised ValueError only. Now a
    ShapeError, as ag.functional's: both, so either catch works."""
    with pytest.raises(RuntimeError):
        _misuses(torch, torch.func)[misuse]()
    with pytest.raises(RuntimeError) as caught:
        _misuses(ag, ag.func)[misuse]()
    assert isinstance(caught.value, ValueError)


# --- outputs that are not floating point: reverse mode refuses them, as torch.func's vjp -------
def _not_floating(lib, func):
    x = lib.tensor(MISUSE_X)
    count = (lambda t: (t > 0).sum()) if lib is torch else (lambda t: (t > 0).astype("int64").sum())
    return {
        "vjp of a comparison": lambda: func.vjp(lambda t: t > 0, x),
        "vjp of a tuple with a comparison": lambda: func.vjp(lambda t: (t * 2, t > 0), x),
        "jacrev of a comparison": lambda: func.jacrev(lambda t: t > 0)(x),
        "jacrev of a dict with a count": lambda: func.jacrev(lambda t: {"y": t.sin(), "n": count(t)})(x),
        "jacrev with has_aux": lambda: func.jacrev(lambda t: (t > 0, t), has_aux=True)(x),
        "hessian of a count": lambda: func.hessian(count)(x),
    }


@pytest.mark.parametrize("case", list(_not_floating(ag, ag.func)))
def test_reverse_mode_refuses_an_output_that_is_not_floating_point(case):
    """jacrev of x > 0 gave a Jacobian of zeros; torch.func raises."""
    with pytest.raises(RuntimeError, match="must be floating-point"):
        _not_floating(torch, torch.func)[case]()
    with pytest.raises(RuntimeError, match=r"must be floating point to be differentiated, got one of dtype "
                                           r"(bool|int64); return it as a float tensor") as caught:
        _not_floating(ag, ag.func)[case]()
    assert isinstance(caught.value, TypeError)


def test_jacfwd_and_aux_keep_outputs_that_are_not_floating_point():
    """Forward mode gives zeros of the output's dtype, as PyTorch's; aux is not differentiated."""
    def test(lib, t):
        x = lib.tensor(MISUSE_X)
        jacobian = t.jacfwd(lambda v: v > 0)(x)
        assert jacobian.dtype == (torch.bool if lib is torch else ag.bool)
        gradient, aux = t.grad(lambda v: (v.sin().sum(), v > 0), has_aux=True)(x)
        return np.concatenate([jacobian.numpy().ravel(), gradient.numpy(), aux.numpy()])
    ours, theirs = _both(test)
    np.testing.assert_array_equal(ours, theirs)
