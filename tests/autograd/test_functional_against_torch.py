"""ag.functional (vjp, jvp, jacobian, hessian, vhp, hvp) against torch.autograd.functional:
values, result structures and dtypes, create_graph's results differentiated again, the
strict checks and the errors for a bad v, in float64."""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.autograd.functional
AF = ag.functional

rng = np.random.default_rng(0)
A = rng.standard_normal((3, 4))
B = rng.standard_normal(4)
W = rng.standard_normal((3, 4))
BIAS = rng.standard_normal(3)
X = rng.standard_normal((2, 4))


def as_lib(lib, arrays, requires_grad=False):
    """The arrays as float64 tensors of ``lib`` (ag or torch); a tuple stays a tuple."""
    if isinstance(arrays, tuple):
        return tuple(as_lib(lib, a, requires_grad) for a in arrays)
    return lib.tensor(arrays, dtype=lib.float64, requires_grad=requires_grad)


def axis_sum(lib, t, axis):
    return t.sum(axis=axis) if lib is ag else t.sum(dim=axis)


def linear_model(lib):
    """nn.Linear(4, 3) with W and BIAS, in ``lib``."""
    model = (nn.Linear if lib is ag else torch.nn.Linear)(4, 3, dtype=lib.float64)
    model.load_state_dict({"weight": as_lib(lib, W), "bias": as_lib(lib, BIAS)})
    return model


def model_func(lib):
    model = linear_model(lib)
    return lambda x: model(x).tanh()


def linear_func(lib):
    return F.linear if lib is ag else torch.nn.functional.linear


# Functions of a Tensor or a tuple of Tensors, built for either library: name -> (make(lib), inputs).
VECTOR_FUNCS = {
    "elementwise": (lambda lib: lambda x: x.exp() * x.sin() + x ** 3, A),
    "matmul": (lambda lib: lambda x: (x @ x.T).tanh(), A),
    "reduction": (lambda lib: lambda x: (axis_sum(lib, x ** 2, 1) + 1).sqrt(), A),
    "tuple_in_out": (lambda lib: lambda x, y: ((x.exp() @ y) * y.sum(), x.sin() * y), (A, B)),
    "linear_tanh_model": (model_func, X),
}
# Functions that return one element, for hessian, vhp and hvp (and vjp without v).
SCALAR_FUNCS = {
    "elementwise": (lambda lib: lambda x: (x.exp() * x.sin()).sum(), A),
    "matmul": (lambda lib: lambda x: (x @ x.T).tanh().sum(), A),
    "reduction": (lambda lib: lambda x: (axis_sum(lib, x ** 3, 0) ** 2).mean(), A),
    "tuple_in": (lambda lib: lambda x, y: (x.exp() @ y).sin().sum() * y.prod(), (A, B)),
    "linear_tanh_parameters": (lambda lib: lambda w, b: (linear_func(lib)(as_lib(lib, X), w, b).tanh() ** 2).mean(),
                               (W, BIAS)),
}


def assert_same(got, want, rtol=1e-12):
    """Same structure (a tuple where PyTorch has a tuple or a list), shapes, dtypes, values."""
    if isinstance(want, (tuple, list)):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            assert_same(g, w, rtol)
        return
    assert isinstance(got, ag.Tensor), type(got)
    assert got.shape == tuple(want.shape)
    assert str(got.dtype) == str(want.dtype).removeprefix("torch.")
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=rtol, atol=1e-12)


def flat(results):
    """The tensors in a tensor or a (nested) tuple or list of them."""
    if isinstance(results, (tuple, list)):
        return [t for part in results for t in flat(part)]
    return [results]


def random_like(arrays, seed):
    r = np.random.default_rng(seed)
    if isinstance(arrays, tuple):
        return tuple(r.standard_normal(np.shape(a)) for a in arrays)
    return r.standard_normal(np.shape(arrays))


def both(arrays, requires_grad=False):
    return as_lib(ag, arrays, requires_grad), as_lib(torch, arrays, requires_grad)


def as_args(inputs):
    return inputs if isinstance(inputs, tuple) else (inputs,)


def output_arrays(make, inputs):
    """The output values of ``make(torch)`` at ``inputs`` (to shape a v like them)."""
    out = make(torch)(*as_args(as_lib(torch, inputs)))
    return tuple(o.detach().numpy() for o in out) if isinstance(out, tuple) else out.detach().numpy()


def differentiate_again(lib, results, inputs, seed=5):
    """The gradients of sum(results * r) (r fixed and random) with respect to ``inputs``."""
    results, r = flat(results), np.random.default_rng(seed)
    total = sum((t * lib.tensor(r.standard_normal(tuple(t.shape)), dtype=lib.float64)).sum() for t in results)
    return (ag.grad if lib is ag else torch.autograd.grad)(total, as_args(inputs), allow_unused=True)


# --- values against PyTorch --------------------------------------------------------------


@pytest.mark.parametrize("name", VECTOR_FUNCS)
def test_vjp_and_jvp(name):
    make, arrays = VECTOR_FUNCS[name]
    x, tx = both(arrays)
    v, tv = both(random_like(output_arrays(make, arrays), 1))
    assert_same(AF.vjp(make(ag), x, v), TF.vjp(make(torch), tx, tv))
    u, tu = both(random_like(arrays, 2))
    assert_same(AF.jvp(make(ag), x, u), TF.jvp(make(torch), tx, tu))


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
@pytest.mark.parametrize("vectorize", [False, True])
@pytest.mark.parametrize("name", VECTOR_FUNCS)
def test_jacobian(name, strategy, vectorize):
    """Each block has shape output.shape + input.shape; topograd's forward mode runs
    without vectorize=True too (PyTorch's needs it), so it is compared with PyTorch's vectorized one."""
    make, arrays = VECTOR_FUNCS[name]
    x, tx = both(arrays)
    want = TF.jacobian(make(torch), tx, vectorize=vectorize or strategy == "forward-mode", strategy=strategy)
    assert_same(AF.jacobian(make(ag), x, vectorize=vectorize, strategy=strategy), want)


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
@pytest.mark.parametrize("name", SCALAR_FUNCS)
def test_hessian(name, strategy):
    make, arrays = SCALAR_FUNCS[name]
    x, tx = both(arrays)
    want = TF.hessian(make(torch), tx, vectorize=strategy == "forward-mode", outer_jacobian_strategy=strategy)
    assert_same(AF.hessian(make(ag), x, outer_jacobian_strategy=strategy), want)


@pytest.mark.parametrize("name", SCALAR_FUNCS)
def test_vhp_hvp_and_vjp_without_v(name):
    make, arrays = SCALAR_FUNCS[name]
    x, tx = both(arrays)
    v, tv = both(random_like(arrays, 3))
    assert_same(AF.vhp(make(ag), x, v), TF.vhp(make(torch), tx, tv))
    assert_same(AF.hvp(make(ag), x, v), TF.hvp(make(torch), tx, tv))
    assert_same(AF.vjp(make(ag), x), TF.vjp(make(torch), tx))  # v implied: one output element


def test_v_left_out_for_one_element_input():
    x, tx = both(np.array([0.7]))
    for ours, theirs in [(AF.jvp, TF.jvp), (AF.vhp, TF.vhp), (AF.hvp, TF.hvp)]:
        assert_same(ours(lambda t: (t ** 3).sum(), x), theirs(lambda t: (t ** 3).sum(), tx))


def test_jacobian_dtype_follows_the_strategy():
    """Reverse mode gives the input's dtype, forward mode the output's, as PyTorch's."""
    x, tx = ag.tensor(A, dtype=ag.float32), torch.tensor(A, dtype=torch.float32)
    for strategy in ["reverse-mode", "forward-mode"]:
        got = AF.jacobian(lambda t: t.astype(ag.float64).exp(), x, strategy=strategy)
        want = TF.jacobian(lambda t: t.double().exp(), tx, strategy=strategy, vectorize=True)
        assert_same(got, want, rtol=1e-6)


# --- create_graph: the results differentiated again ----------------------------------------


@pytest.mark.parametrize("name", VECTOR_FUNCS)
def test_vjp_jvp_jacobian_create_graph(name):
    make, arrays = VECTOR_FUNCS[name]
    v_arrays, u_arrays = random_like(output_arrays(make, arrays), 1), random_like(arrays, 2)
    calls = [
        (lambda lib, f, x: (AF if lib is ag else TF).vjp(f, x, as_lib(lib, v_arrays, True), create_graph=True)),
        (lambda lib, f, x: (AF if lib is ag else TF).jvp(f, x, as_lib(lib, u_arrays, True), create_graph=True)),
        (lambda lib, f, x: (AF if lib is ag else TF).jacobian(f, x, create_graph=True)),
    ]
    for call in calls:
        results = []
        for lib in (ag, torch):
            x = as_lib(lib, arrays, requires_grad=True)
            out = call(lib, make(lib), x)
            results.append((out, differentiate_again(lib, out, x)))
        assert_same(*results)
    # forward mode with create_graph (PyTorch's refuses it) against PyTorch's reverse mode
    x, tx = both(arrays, requires_grad=True)
    got = AF.jacobian(make(ag), x, create_graph=True, strategy="forward-mode")
    want = TF.jacobian(make(torch), tx, create_graph=True)
    assert_same((got, differentiate_again(ag, got, x)), (want, differentiate_again(torch, want, tx)))


@pytest.mark.parametrize("name", SCALAR_FUNCS)
def test_hessian_vhp_hvp_create_graph(name):
    make, arrays = SCALAR_FUNCS[name]
    v_arrays = random_like(arrays, 4)
    for fn in ["hessian", "vhp", "hvp"]:
        results = []
        for lib in (ag, torch):
            x = as_lib(lib, arrays, requires_grad=True)
            args = () if fn == "hessian" else (as_lib(lib, v_arrays, True),)
            out = getattr(AF if lib is ag else TF, fn)(make(lib), x, *args, create_graph=True)
            results.append((out, differentiate_again(lib, out, x)))
        assert_same(*results)
    x, tx = both(arrays, requires_grad=True)  # the outer Jacobian forward (PyTorch: reverse only here)
    got = AF.hessian(make(ag), x, create_graph=True, outer_jacobian_strategy="forward-mode")
    want = TF.hessian(make(torch), tx, create_graph=True)
    assert_same((got, differentiate_again(ag, got, x)), (want, differentiate_again(torch, want, tx)))


def test_create_graph_keeps_v_in_the_graph():
    """A v that requires grad stays differentiable in the result, as in PyTorch."""
    results = []
    for lib in (ag, torch):
        x, v = as_lib(lib, A, True), as_lib(lib, B[:3], True)
        _, g = (AF if lib is ag else TF).vjp(lambda t: t.exp().sum(**{"axis" if lib is ag else "dim": 1}), x, v,
                                             create_graph=True)
        results.append((lib.autograd.grad if lib is torch else ag.grad)((g * g).sum(), v))
    assert_same(*results)


def test_results_leave_the_graph_without_create_graph():
    """The same requires_grad on outputs and results as PyTorch's, with inputs that do and
    do not require grad, and under no_grad (the functions enable grad inside)."""
    make, arrays = VECTOR_FUNCS["tuple_in_out"]
    for requires_grad in (False, True):
        for create_graph in (False, True):
            x, tx = both(arrays, requires_grad)
            v, tv = both(random_like(output_arrays(make, arrays), 1))
            with ag.no_grad():
                got = AF.vjp(make(ag), x, v, create_graph=create_graph)
            with torch.no_grad():
                want = TF.vjp(make(torch), tx, tv, create_graph=create_graph)
            assert_same(got, want)
            assert [t.requires_grad for t in flat(got)] == [t.requires_grad for t in flat(want)]


def test_inputs_and_their_grads_are_left_alone():
    """Inputs keep their values, graph and .grad; parameters a closure uses get no .grad."""
    model = linear_model(ag)
    x = ag.tensor(X, dtype=ag.float64, requires_grad=True)
    x.grad = ag.ones(X.shape, dtype=ag.float64)
    before = x.grad
    f = lambda t: model(t).tanh()
    AF.jacobian(f, x)
    AF.jacobian(f, x, create_graph=True, strategy="forward-mode")
    AF.vjp(f, x, ag.ones((2, 3), dtype=ag.float64), create_graph=True)
    AF.hvp(lambda t: f(t).sum(), x, x)
    AF.hessian(lambda t: f(t).sum(), x)
    assert x.grad is before and np.array_equal(x.grad.numpy(), np.ones(X.shape))
    np.testing.assert_array_equal(x.numpy(), X)
    assert x.is_leaf and model.weight.grad is None and model.bias.grad is None


def test_a_captured_input_is_not_taken_for_the_argument():
    """func gets a new tensor object: x captured by the closure is a constant (PyTorch's issue 32576)."""
    for create_graph in (False, True):
        x, tx = both(B, requires_grad=True)
        got = AF.jacobian(lambda t: t * x, x, create_graph=create_graph)
        assert_same(got, TF.jacobian(lambda t: t * tx, tx, create_graph=create_graph))
        np.testing.assert_array_equal(got.numpy(), np.diag(B))  # not 2 * diag(B)


# --- zero-size inputs --------------------------------------------------------------------


def test_zero_size_products_as_pytorch():
    x, tx = both(np.zeros((0, 3)))
    v, tv = both(np.zeros((0, 3)))
    for fn in ["vjp", "jvp"]:
        assert_same(getattr(AF, fn)(lambda t: t.exp() * 2, x, v), getattr(TF, fn)(lambda t: t.exp() * 2, tx, tv))
    for fn in ["vhp", "hvp"]:
        assert_same(getattr(AF, fn)(lambda t: (t ** 2).sum(), x, v), getattr(TF, fn)(lambda t: (t ** 2).sum(), tx, tv))


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_zero_size_jacobian_and_hessian_are_zeros(strategy):
    """PyTorch's jacobian raises here (a stack of no rows); the Jacobian is an empty tensor
    of shape output.shape + input.shape, and a block with an empty partner is too."""
    x, y = ag.zeros((0, 3), dtype=ag.float64), ag.tensor(B, dtype=ag.float64)
    jac = AF.jacobian(lambda s, t: (s.exp(), t.sum() * 2 + s.sum()), (x, y), strategy=strategy)
    assert [[b.shape for b in row] for row in jac] == [[(0, 3, 0, 3), (0, 3, 4)], [(0, 3), (4,)]]
    np.testing.assert_array_equal(jac[1][1].numpy(), np.full(4, 2.0))
    hess = AF.hessian(lambda s, t: (s ** 2).sum() + (t ** 3).sum(), (x, y), outer_jacobian_strategy=strategy)
    assert [[b.shape for b in row] for row in hess] == [[(0, 3, 0, 3), (0, 3, 4)], [(4, 0, 3), (4, 4)]]
    np.testing.assert_allclose(hess[1][1].numpy(), np.diag(6 * B))


# --- work: func runs once ------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_func_runs_once_per_jacobian_and_hessian(strategy):
    calls = []

    def f(t):
        calls.append(1)
        return (t @ t.T).tanh()

    x = ag.tensor(A, dtype=ag.float64)
    AF.jacobian(f, x, strategy=strategy)
    AF.hessian(lambda t: f(t).sum(), x, outer_jacobian_strategy=strategy)
    assert len(calls) == 2


# --- errors ----------------------------------------------------------------------------------


def _errors(call):
    """(topograd's error, PyTorch's) from call(lib, functional module)."""
    caught = []
    for lib, module in ((ag, AF), (torch, TF)):
        with pytest.raises(Exception) as info:
            call(lib, module)
        caught.append(info.value)
    return caught


BAD_V = {  # name -> (call, fragment of both messages)
    "vjp: v for one output given two": (
        lambda lib, m: m.vjp(lambda t: t * 2, as_lib(lib, B), (as_lib(lib, B), as_lib(lib, B))),
        "should contain a single Tensor"),
    "vjp: a v tuple of the wrong length": (
        lambda lib, m: m.vjp(lambda t: (t * 2, t), as_lib(lib, B), (as_lib(lib, B),)),
        "v is a tuple of invalid length: should be 2 but got 1"),
    "vjp: v of the wrong shape": (
        lambda lib, m: m.vjp(lambda t: t * 2, as_lib(lib, A), as_lib(lib, B)), "v has invalid size: should be"),
    "jvp: tuple entry of the wrong shape": (
        lambda lib, m: m.jvp(lambda s, t: s * t, (as_lib(lib, B), as_lib(lib, B)), (as_lib(lib, B), as_lib(lib, A))),
        "ntry 1 in v has invalid size"),
    "vhp: v of the wrong shape": (
        lambda lib, m: m.vhp(lambda t: (t ** 3).sum(), as_lib(lib, B), as_lib(lib, A)), "v has invalid size"),
    "hvp: v of the wrong shape": (
        lambda lib, m: m.hvp(lambda t: (t ** 3).sum(), as_lib(lib, B), as_lib(lib, A)), "v has invalid size"),
    "vjp: no v for several output elements": (
        lambda lib, m: m.vjp(lambda t: t * 2, as_lib(lib, B)),
        "v can only be None if the user-provided function returns a single Tensor with a single element"),
    "jvp: no v for several input elements": (
        lambda lib, m: m.jvp(lambda t: t * 2, as_lib(lib, B)),
        "v can only be None if the input to the user-provided function is a single Tensor with a single element"),
    "hvp: no v for a tuple of inputs": (
        lambda lib, m: m.hvp(lambda s, t: (s * t).sum(), (as_lib(lib, B[:1]), as_lib(lib, B[:1]))),
        "v can only be None if the input to the user-provided function is a single Tensor"),
    "hessian: a function of several elements": (
        lambda lib, m: m.hessian(lambda t: t ** 3, as_lib(lib, B)),
        "The Tensor returned by the function given to hessian should contain a single element"),
    "vhp: a function of several elements": (
        lambda lib, m: m.vhp(lambda t: t ** 3, as_lib(lib, B), as_lib(lib, B)),
        "The Tensor returned by the function given to vhp should contain a single element"),
}


@pytest.mark.parametrize("name", BAD_V)
def test_bad_v_and_bad_shapes(name):
    """A ShapeError: topograd's ValueError for a bad input that is also PyTorch's RuntimeError."""
    call, fragment = BAD_V[name]
    ours, theirs = _errors(call)
    assert type(ours) is AF.ShapeError and isinstance(ours, ValueError) and isinstance(ours, RuntimeError)
    assert type(theirs) is RuntimeError
    assert fragment.lower() in str(ours).lower() and fragment.lower() in str(theirs).lower()


def test_v_shape_message_names_both_shapes():
    with pytest.raises(AF.ShapeError, match=r"vjp: v has invalid size: should be \(3, 4\) but got \(4,\)"):
        AF.vjp(lambda t: t * 2, as_lib(ag, A), as_lib(ag, B))


def linear(t):
    return t * 3.0


STRICT = {  # name -> (call, fragment of both messages)
    "vjp: output independent of an input": (
        lambda lib, m: m.vjp(lambda s, t: s.exp(), (as_lib(lib, B), as_lib(lib, B)), as_lib(lib, B), strict=True),
        "The output of the user-provided function is independent of input 1"),
    "vjp: output needs no grad": (
        lambda lib, m: m.vjp(lambda t: lib.ones(4, dtype=lib.float64), as_lib(lib, B), as_lib(lib, B), strict=True),
        "Output 0 of the user-provided function does not require gradients"),
    "vjp: linear with create_graph": (
        lambda lib, m: m.vjp(linear, as_lib(lib, B), as_lib(lib, B), strict=True, create_graph=True),
        "The jacobian of the user-provided function is independent of input 0. This is not allowed in strict "
        "mode when create_graph=True"),
    "jvp: output independent of an input": (
        lambda lib, m: m.jvp(lambda s, t: s.exp(), (as_lib(lib, B), as_lib(lib, B)), (as_lib(lib, B),) * 2,
                             strict=True),
        "The output of the user-provided function is independent of input 1"),
    "jvp: linear with create_graph (the double-backward trick)": (
        lambda lib, m: m.jvp(linear, as_lib(lib, B), as_lib(lib, B), strict=True, create_graph=True),
        "The jacobian of the user-provided function is independent of input 0. This is not allowed in strict "
        "mode when create_graph=True"),
    "jacobian: an output independent of an input": (
        lambda lib, m: m.jacobian(lambda s, t: (s.exp(), t.exp()), (as_lib(lib, B), as_lib(lib, B)), strict=True),
        "Output 0 of the user-provided function is independent of input 1"),
    "jacobian: linear with create_graph": (
        lambda lib, m: m.jacobian(linear, as_lib(lib, B), strict=True, create_graph=True),
        "is independent of input 0. This is not allowed in strict mode when create_graph=True"),
    "hessian: linear": (
        lambda lib, m: m.hessian(lambda t: linear(t).sum(), as_lib(lib, B), strict=True),
        "While computing the hessian, found that the jacobian of the user-provided function with respect to "
        "input 0 is independent of the input"),
    "hessian: an input unused": (
        lambda lib, m: m.hessian(lambda s, t: (s ** 3).sum(), (as_lib(lib, B), as_lib(lib, B)), strict=True),
        "While computing the hessian, found that the jacobian of the user-provided function with respect to "
        "input 1 is independent of the input"),
    "vhp: linear": (
        lambda lib, m: m.vhp(lambda t: linear(t).sum(), as_lib(lib, B), as_lib(lib, B), strict=True),
        "found that the jacobian of the user-provided function with respect to input 0 is independent"),
    "vhp: an input unused": (
        lambda lib, m: m.vhp(lambda s, t: (s ** 3).sum(), (as_lib(lib, B),) * 2, (as_lib(lib, B),) * 2, strict=True),
        "The output of the user-provided function is independent of input 1"),
    "hvp: linear": (
        lambda lib, m: m.hvp(lambda t: linear(t).sum(), as_lib(lib, B), as_lib(lib, B), strict=True),
        "found that the jacobian of the user-provided function with respect to input 0 is independent"),
    "hvp: Hessian constant, with create_graph": (
        lambda lib, m: m.hvp(lambda t: (t * t).sum(), as_lib(lib, B), as_lib(lib, B), strict=True,
                             create_graph=True),
        "The hessian of the user-provided function is independent of input 0. This is not allowed in strict "
        "mode when create_graph=True"),
    "vhp: Hessian constant, with create_graph": (
        lambda lib, m: m.vhp(lambda t: (t * t).sum(), as_lib(lib, B), as_lib(lib, B), strict=True,
                             create_graph=True),
        "The hessian of the user-provided function is independent of input 0. This is not allowed in strict "
        "mode when create_graph=True"),
    "jacobian: strict with forward-mode": (
        lambda lib, m: m.jacobian(lambda t: t.exp(), as_lib(lib, B), strict=True, strategy="forward-mode",
                                  vectorize=True),
        '`strict=True` and `strategy="forward-mode"` are not supported together'),
    "jacobian: strict with vectorize": (
        lambda lib, m: m.jacobian(lambda t: t.exp(), as_lib(lib, B), strict=True, vectorize=True),
        "`strict=True` and `vectorize"),  # (PyTorch's message says vectorized=True)
    "hessian: a tuple returned": (
        lambda lib, m: m.hessian(lambda t: ((t ** 3).sum(),), as_lib(lib, B)),
        "The function given to hessian should return a single Tensor"),
}


@pytest.mark.parametrize("name", STRICT)
def test_strict_errors(name):
    call, fragment = STRICT[name]
    ours, theirs = _errors(call)
    assert type(ours) is RuntimeError and type(theirs) is RuntimeError, (ours, theirs)
    assert fragment in str(ours) and fragment in str(theirs)


@pytest.mark.parametrize("name", [n for n in STRICT if "strict with" not in n and "tuple" not in n])
def test_without_strict_the_same_calls_give_pytorch_values(name):
    """What strict refuses is zeros (or the value) without it, as PyTorch's."""
    call, _ = STRICT[name]
    assert_same(*(call(lib, _NotStrict(module)) for lib, module in ((ag, AF), (torch, TF))))


class _NotStrict:
    """A functional module whose functions ignore strict=True."""

    def __init__(self, module):
        self.module = module

    def __getattr__(self, name):
        fn = getattr(self.module, name)
        return lambda *args, strict=False, **kwargs: fn(*args, **kwargs)


def test_type_and_strategy_errors():
    for lib, module in ((ag, AF), (torch, TF)):
        with pytest.raises(TypeError, match="The inputs given to jacobian must be either a Tensor or a tuple of "
                                            "Tensors but the given inputs has type"):
            module.jacobian(lambda t: t, [as_lib(lib, B)])
        with pytest.raises(TypeError, match="The outputs of the user-provided function given to vjp must be either "
                                            "a Tensor or a tuple of Tensors but the value at index 1 has type"):
            module.vjp(lambda t: (t, 2.0), as_lib(lib, B), as_lib(lib, B))
        with pytest.raises(TypeError, match="The v given to jvp must be either a Tensor or a tuple of Tensors"):
            module.jvp(lambda t: t, as_lib(lib, B), [1.0] * 4)
    # PyTorch fails on an IndexError for no inputs, and raises AssertionError for a bad
    # strategy; both are a bad argument, a ValueError in topograd
    for fn in ["vjp", "jacobian"]:
        with pytest.raises(ValueError, match=f"{fn}: inputs is an empty tuple, so there is nothing to differentiate"):
            getattr(AF, fn)(lambda: ag.ones(2, requires_grad=True), ())
    with pytest.raises(ValueError, match='expected strategy to be either "forward-mode" or "reverse-mode"'):
        AF.jacobian(lambda t: t, as_lib(ag, B), strategy="forward")
    with pytest.raises(ValueError, match='expected outer_jacobian_strategy to be either "forward-mode"'):
        AF.hessian(lambda t: t.sum(), as_lib(ag, B), outer_jacobian_strategy="backward")


# --- every backend -------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_on_each_backend(device, strategy):
    """The unit seeds and zero blocks are made with the input's backend (the array-api-strict
    one checks they use only the standard): known derivatives of x ** 3 and y * x.sum()."""
    x = ag.tensor(B, dtype=ag.float64)
    y = ag.tensor(B[:2], dtype=ag.float64)
    jac = AF.jacobian(lambda s, t: (s ** 3, t * 0), (x, y), strategy=strategy)
    assert all(block.device == x.device for row in jac for block in row)
    np.testing.assert_allclose(jac[0][0].to("cpu").numpy(), np.diag(3 * B ** 2))
    np.testing.assert_array_equal(jac[1][1].to("cpu").numpy(), np.zeros((2, 2)))
    hess = AF.hessian(lambda t: (t ** 3).sum(), x, outer_jacobian_strategy=strategy)
    np.testing.assert_allclose(hess.to("cpu").numpy(), np.diag(6 * B))
    _, hv = AF.hvp(lambda t: (t ** 3).sum(), x, ag.ones(4, dtype=ag.float64))
    np.testing.assert_allclose(hv.to("cpu").numpy(), 6 * B)
