"""ag.func's jvp, jacrev, jacfwd and hessian on nested tuples, lists and dicts of
tensors, and with has_aux, against torch.func: the same structures and values."""
import collections

import numpy as np
import pytest

import autograd as ag
import nn
from nn.utils.stateless import functional_call

torch = pytest.importorskip("torch")
tfunc = torch.func

X = np.array([0.5, -1.25, 2.0])
W = np.array([[0.3, -0.2, 0.1], [0.7, 0.4, -0.6]])
B = np.array([0.05, -0.1])
Pair = collections.namedtuple("Pair", "first second")


def _assert_same_tree(ours, theirs, path="result"):
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, ag.Tensor), f"{path}: {type(ours).__name__}"
        assert ours.shape == tuple(theirs.shape), path
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=path)
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and list(ours) == list(theirs), path
        for k in theirs:
            _assert_same_tree(ours[k], theirs[k], f"{path}[{k!r}]")
    elif isinstance(theirs, (tuple, list)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), f"{path}: {type(ours).__name__}"
        for i, (o, t) in enumerate(zip(ours, theirs)):
            _assert_same_tree(o, t, f"{path}[{i}]")
    else:
        assert ours == theirs, path


def _params(lib):
    return {"w": lib.tensor(W), "b": lib.tensor(B)}


def _layer(lib):
    """A dict of parameters in, a dict and a namedtuple out, with aux."""
    def f(params, x):
        h = params["w"] @ x + params["b"]
        return {"out": lib.tanh(h), "pair": Pair(h.sum(), lib.exp(h) * 2)}, {"norm": (h * h).sum()}
    return f


@pytest.mark.parametrize("transform", ["jacrev", "jacfwd"])
@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1, 0)])
def test_jacobians_of_dicts_and_namedtuples_with_aux_match_torch(transform, argnums):
    ours, aux = getattr(ag.func, transform)(_layer(ag), argnums, has_aux=True)(_params(ag), ag.tensor(X))
    theirs, their_aux = getattr(tfunc, transform)(_layer(torch), argnums, has_aux=True)(_params(torch),
                                                                                     torch.tensor(X))
    _assert_same_tree(ours, theirs)
    _assert_same_tree(aux, their_aux)
    assert not aux["norm"].requires_grad


@pytest.mark.parametrize("transform", ["jacrev", "jacfwd"])
def test_jacobian_over_a_modules_parameters_matches_torch(transform):
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    ours_params = {k: v.detach() for k, v in model.named_parameters()}
    theirs_params = {k: torch.tensor(v.numpy()) for k, v in ours_params.items()}
    x = np.array([[0.2, -0.4, 0.9], [1.1, 0.3, -0.5]], dtype=np.float32)

    def theirs_f(p, inp):
        h = torch.tanh(inp @ p["0.weight"].T + p["0.bias"])
        return h @ p["2.weight"].T + p["2.bias"]

    ours = getattr(ag.func, transform)(lambda p, inp: functional_call(model, p, (inp,)))(ours_params, ag.tensor(x))
    theirs = getattr(tfunc, transform)(theirs_f)(theirs_params, torch.tensor(x))
    assert list(ours) == list(theirs)
    for k in theirs:
        np.testing.assert_allclose(ours[k].numpy(), theirs[k].numpy(), rtol=1e-5, atol=1e-6, err_msg=k)


def test_hessian_of_a_dict_argument_matches_torch():
    def f(lib):
        return lambda p: (lib.sin(p["a"]).sum() * p["b"] ** 2).sum() + (p["a"] * p["a"] * p["b"][0]).sum()
    a, b = np.array([0.3, -1.1]), np.array([2.0, 0.5, -0.25])
    ours = ag.func.hessian(f(ag))({"a": ag.tensor(a), "b": ag.tensor(b)})
    theirs = tfunc.hessian(f(torch))({"a": torch.tensor(a), "b": torch.tensor(b)})
    _assert_same_tree(ours, theirs)


def test_jvp_of_nested_primals_with_aux_matches_torch():
    def f(lib):
        def g(params, xs):
            h = params["w"] @ xs[0] + params["b"] * xs[1].sum()
            return (lib.sin(h), [h * h]), h.mean()
        return g

    def primals(lib):
        return _params(lib), [lib.tensor(X), lib.tensor(X[::-1].copy())]

    def tangents(lib):
        return ({"w": lib.tensor(W[::-1].copy()), "b": lib.tensor(np.array([1.0, -2.0]))},
                [lib.tensor(np.array([0.1, 0.2, 0.3])), lib.tensor(np.array([-1.0, 0.0, 1.0]))])

    ours = ag.func.jvp(f(ag), primals(ag), tangents(ag), has_aux=True)
    theirs = tfunc.jvp(f(torch), primals(torch), tangents(torch), has_aux=True)
    _assert_same_tree(ours, theirs)


def test_jvp_strict_refuses_an_output_independent_of_the_primals_as_torch():
    def f(lib):
        return lambda x: (x * 2, lib.ones(3, dtype=lib.float64))
    ours_out, ours_tangent = ag.func.jvp(f(ag), (ag.tensor(X),), (ag.tensor(X),))
    theirs_out, theirs_tangent = tfunc.jvp(f(torch), (torch.tensor(X),), (torch.tensor(X),))
    _assert_same_tree((ours_out, ours_tangent), (theirs_out, theirs_tangent))
    with pytest.raises(RuntimeError, match="strict=True"):
        tfunc.jvp(f(torch), (torch.tensor(X),), (torch.tensor(X),), strict=True)
    with pytest.raises(RuntimeError, match=r"jvp\(strict=True\): an output of the function is independent"):
        ag.func.jvp(f(ag), (ag.tensor(X),), (ag.tensor(X),), strict=True)


def test_jvp_refuses_tangents_of_another_structure_or_shape():
    primals = ({"a": ag.tensor(X)},)
    with pytest.raises(ValueError, match=r"jvp: tangents must have the primals' structure; got primals "
                                         r"\('tuple', \(\('dict', \(\('a', 'Tensor'\),\)\),\)\)"):
        ag.func.jvp(lambda p: p["a"], primals, (ag.tensor(X),))
    with pytest.raises(ValueError, match=r"jvp: tangent 0 has shape \(2,\), but its primal has shape \(3,\)"):
        ag.func.jvp(lambda p: p["a"], primals, ({"a": ag.tensor([1.0, 2.0])},))


@pytest.mark.parametrize("transform", ["jacrev", "jacfwd"])
def test_jacobians_refuse_a_function_without_tensor_outputs(transform):
    with pytest.raises(ValueError, match=f"{transform}: the function returned no Tensor"):
        getattr(ag.func, transform)(lambda x: ())(ag.tensor(X))
    with pytest.raises(TypeError, match=f"{transform}: the function's outputs must be Tensors, or tuples, lists "
                                        "or dicts of them; found float"):
        getattr(ag.func, transform)(lambda x: (x, 1.5))(ag.tensor(X))
    with pytest.raises(TypeError, match=rf"{transform}: with has_aux=True the function must return a pair"):
        getattr(ag.func, transform)(lambda x: x, has_aux=True)(ag.tensor(X))


def test_jacobian_of_dicts_inside_grad_is_differentiated_again_as_torch():
    """A jacrev over a dict argument, inside grad: its recorded backward pass carries the
    second derivative out."""
    def f(lib, transform):
        inner = transform(lambda p: {"y": lib.sin(p["a"]) * p["a"]})
        return lambda a: inner({"a": a})["y"]["a"].sum()
    ours = ag.func.grad(f(ag, ag.func.jacrev))(ag.tensor(X))
    theirs = tfunc.grad(f(torch, tfunc.jacrev))(torch.tensor(X))
    _assert_same_tree(ours, theirs)


@pytest.mark.parametrize("transform", ["jvp", "vjp"])
def test_parameters_and_plain_tensors_are_the_same_leaves(transform):
    """A model's parameters as jvp's primals with tangents made by ones_like, or a Parameter
    as a cotangent: the structures compared "Parameter" with "Tensor" and raised."""
    def test(lib, func, module):
        lib.manual_seed(0)
        model = module.Linear(2, 1)
        params = dict(model.named_parameters())
        call = func.functional_call if lib is torch else functional_call
        x = lib.ones(1, 2)
        if transform == "jvp":
            tangents = {k: lib.ones_like(v) for k, v in params.items()}
            return func.jvp(lambda p: call(model, p, (x,)), (params,), (tangents,))[1].detach().numpy()
        _, vjp_fn = func.vjp(lambda p: {"y": call(model, p, (x,))}, {k: v.detach() for k, v in params.items()})
        grads = vjp_fn({"y": module.Parameter(lib.ones(1, 1))})[0]
        return np.concatenate([grads["weight"].detach().numpy().ravel(), grads["bias"].detach().numpy()])
    ours = test(ag, ag.func, nn)
    theirs = test(torch, torch.func, torch.nn)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
