"""F.layer_norm and F.group_norm as one fused op each (nn_fused.layer_norm): values,
first derivatives (from a plain backward, on bare arrays) and second derivatives
(under create_graph, on Tensors) in float64 against PyTorch, over several shapes,
normalized over one to three axes, one group to one group per channel, a batch of
one, with and without the scale and shift; plus gradcheck and gradgradcheck, and
the float32 / float16 outputs and gradient dtypes."""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

torch = pytest.importorskip("torch")


def _layer_norm(lib_f, shape):
    return lambda x, w, b: lib_f.layer_norm(x, shape, w, b, eps=1e-5)


def _group_norm(lib_f, groups):
    return lambda x, w, b: lib_f.group_norm(x, groups, w, b, eps=1e-5)


# (input shape, parameter shape, affine: "both" / "weight" / "none", ours, PyTorch's)
CASES = [
    ((4, 7), (7,), "both", "layer", (7,)),
    ((1, 9), (9,), "weight", "layer", (9,)),                   # a batch of one, no bias (bias=False)
    ((2, 3, 4, 5), (4, 5), "both", "layer", (4, 5)),           # over two axes
    ((2, 3, 4, 5), (3, 4, 5), "none", "layer", (3, 4, 5)),     # over three, elementwise_affine=False
    ((6,), (6,), "both", "layer", (6,)),                       # every axis
    ((2, 6, 4, 3), (6,), "both", "group", 3),
    ((2, 6, 4, 3), (6,), "both", "group", 1),                  # one group
    ((2, 6, 5), (6,), "weight", "group", 6),                   # one group per channel
    ((1, 4, 3, 2, 2), (4,), "both", "group", 2),               # a batch of one, 3-D
    ((3, 4), (4,), "none", "group", 2),                        # no spatial axes
]
IDS = [f"{kind}-{shape}-{arg}-{affine}" for shape, _, affine, kind, arg in CASES]


def _functions(kind, arg):
    if kind == "layer":
        return _layer_norm(F, arg), _layer_norm(torch.nn.functional, arg)
    return _group_norm(F, arg), _group_norm(torch.nn.functional, arg)


def _inputs(shape, pshape, affine, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 3 + 1
    w = rng.standard_normal(pshape) if affine != "none" else None
    b = rng.standard_normal(pshape) if affine == "both" else None
    return x, w, b


def _leaves(lib, arrays):
    if lib is ag:
        return [None if a is None else ag.tensor(a, dtype=ag.float64, requires_grad=True) for a in arrays]
    return [None if a is None else torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]


def _np(t):
    return t.numpy() if isinstance(t, ag.Tensor) else t.detach().numpy()


def _first_and_second(lib, f, arrays, seed=1):
    """f's output, the gradients of sum(f * r) (plain backward), and the gradients of
    sum(those gradients * v) (through create_graph)."""
    rng = np.random.default_rng(seed)
    leaves = _leaves(lib, arrays)
    given = [t for t in leaves if t is not None]
    wrap = (lambda a: ag.tensor(a, dtype=ag.float64)) if lib is ag else torch.tensor
    grad = ag.grad if lib is ag else torch.autograd.grad
    out = f(*leaves)
    r = wrap(rng.standard_normal(tuple(out.shape)))
    plain = grad((out * r).sum(), given, retain_graph=True)
    firsts = grad((out * r).sum(), given, create_graph=True)
    second = sum((g * wrap(rng.standard_normal(tuple(g.shape)))).sum() for g in firsts)
    seconds = grad(second, given, allow_unused=True)
    return out, plain, firsts, seconds


@pytest.mark.parametrize("shape, pshape, affine, kind, arg", CASES, ids=IDS)
def test_values_and_first_and_second_derivatives_match_torch(shape, pshape, affine, kind, arg):
    ours_f, theirs_f = _functions(kind, arg)
    arrays = _inputs(shape, pshape, affine)
    out, plain, firsts, seconds = _first_and_second(ag, ours_f, arrays)
    t_out, t_plain, _, t_seconds = _first_and_second(torch, theirs_f, arrays)
    np.testing.assert_allclose(_np(out), _np(t_out), rtol=1e-10, atol=1e-12)
    for i, (a, c, b) in enumerate(zip(plain, firsts, t_plain)):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-9, atol=1e-11, err_msg=f"first derivative {i}")
        np.testing.assert_allclose(_np(c), _np(b), rtol=1e-9, atol=1e-11,
                                   err_msg=f"first derivative {i} under create_graph")
    for i, (a, b) in enumerate(zip(seconds, t_seconds)):
        b = np.zeros(_np(firsts[i]).shape) if b is None else _np(b)
        a = np.zeros(b.shape) if a is None else _np(a)
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10, err_msg=f"second derivative {i}")


@pytest.mark.parametrize("shape, pshape, affine, kind, arg", [CASES[i] for i in (0, 2, 5, 7, 8)],
                         ids=[IDS[i] for i in (0, 2, 5, 7, 8)])
def test_gradcheck_and_gradgradcheck(shape, pshape, affine, kind, arg):
    ours_f, _ = _functions(kind, arg)
    # small inputs keep finite differences cheap
    small = {(2, 3, 4, 5): (2, 2, 4, 5), (2, 6, 4, 3): (2, 6, 2, 1), (1, 4, 3, 2, 2): (1, 4, 1, 2, 2)}
    leaves = _leaves(ag, _inputs(small.get(shape, shape), pshape, affine, seed=2))
    given = [t for t in leaves if t is not None]

    def f(*given_values):
        it = iter(given_values)
        return ours_f(*[None if t is None else next(it) for t in leaves])

    assert ag.gradcheck(f, given)
    assert ag.gradgradcheck(f, given)


@pytest.mark.parametrize("dtype", ["float16", "float32"])
@pytest.mark.parametrize("kind", ["layer", "group"])
def test_lower_precisions_match_torch_in_value_and_gradient_dtype(dtype, kind):
    rng = np.random.default_rng(3)
    x, w, b, r = (rng.standard_normal(s).astype(dtype) for s in ((3, 4, 5, 6), (4,), (4,), (3, 4, 5, 6)))
    if kind == "layer":
        w, b = (rng.standard_normal((5, 6)).astype(dtype) for _ in range(2))
        ours_layer, theirs_layer = nn.LayerNorm((5, 6), dtype=getattr(ag, dtype)), \
            torch.nn.LayerNorm((5, 6), dtype=getattr(torch, dtype))
    else:
        ours_layer, theirs_layer = nn.GroupNorm(2, 4, dtype=getattr(ag, dtype)), \
            torch.nn.GroupNorm(2, 4, dtype=getattr(torch, dtype))
    with ag.no_grad():
        ours_layer.weight.copy_(ag.tensor(w)), ours_layer.bias.copy_(ag.tensor(b))
    with torch.no_grad():
        theirs_layer.weight.copy_(torch.tensor(w)), theirs_layer.bias.copy_(torch.tensor(b))
    xo, xt = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, t_out = ours_layer(xo), theirs_layer(xt)
    (out * ag.tensor(r)).sum().backward()
    (t_out * torch.tensor(r)).sum().backward()
    tol = {"float16": 2e-2, "float32": 1e-5}[dtype]
    assert out.dtype == getattr(ag, dtype)
    np.testing.assert_allclose(out.numpy().astype(np.float64), _np(t_out).astype(np.float64), rtol=tol, atol=tol)
    for ours, theirs in ((xo, xt), (ours_layer.weight, theirs_layer.weight), (ours_layer.bias, theirs_layer.bias)):
        assert ours.grad.dtype == getattr(ag, dtype)
        # float16 gradients sum many rounded terms: compared at a coarser scale
        scale = np.abs(_np(theirs.grad)).max()
        np.testing.assert_allclose(ours.grad.numpy().astype(np.float64), _np(theirs.grad).astype(np.float64),
                                   rtol=tol, atol=tol * scale)
