"""Mistakes a user porting PyTorch or NumPy code makes with this session's APIs: tensors of
two devices given to the NumPy functions, a custom Function's forward with ctx left out (or
given beside setup_context) and a backward without @staticmethod, custom_fwd on a
setup_context Function, register_multi_grad_hook given one tensor, ag.func given a
function's result, a node hook returning too many gradients. Each test pins the error's
type and what it names, or the values PyTorch gives where PyTorch takes the code."""
import numpy as np
import pytest

import autograd as ag
import backends
from autograd.autocast_mode import custom_bwd, custom_fwd
from autograd.function import once_differentiable

needs_strict = pytest.mark.skipif("strict" not in backends.available_devices(),
                                  reason="needs array-api-strict")


# --- tensors on two devices ----------------------------------------------------------------------
def _cpu_and_strict(values, dtype=None):
    return ag.tensor(values, dtype=dtype, device="cpu"), ag.tensor(values, dtype=dtype, device="strict")


@needs_strict
@pytest.mark.parametrize("name, call", [
    # these took the other device's array silently (NumPy reads it as its own) or failed inside NumPy
    ("gcd", lambda f, s, i, j: ag.gcd(i, j)),
    ("lcm", lambda f, s, i, j: ag.lcm(i, j)),
    ("bincount", lambda f, s, i, j: ag.bincount(i, weights=s)),
    ("histogram", lambda f, s, i, j: ag.histogram(f, bins=s)),
    ("histogram", lambda f, s, i, j: ag.histogram(f, weights=s)),
    ("isin", lambda f, s, i, j: ag.isin(f, s)),
    ("isclose", lambda f, s, i, j: ag.isclose(f, s)),
    ("delete", lambda f, s, i, j: ag.delete(f, j[:1])),
    ("interp", lambda f, s, i, j: ag.interp(s, f, f)),
    # these named the op inside them (where, concat, mul, matmul, add, getitem)
    ("fmax", lambda f, s, i, j: ag.fmax(f, s)),
    ("hstack", lambda f, s, i, j: ag.hstack([f, s])),
    ("kron", lambda f, s, i, j: ag.kron(f, s)),
    ("inner", lambda f, s, i, j: ag.inner(f, s)),
    ("polyval", lambda f, s, i, j: ag.polyval(f, s)),
    ("insert", lambda f, s, i, j: ag.insert(f, 1, s[:1])),
    ("average", lambda f, s, i, j: ag.average(f, weights=s)),
    ("cov", lambda f, s, i, j: ag.corrcoef(f, s)),
    ("trapezoid", lambda f, s, i, j: ag.trapezoid(f, x=s)),
    ("interp", lambda f, s, i, j: ag.interp(f, s, f)),
], ids=["gcd", "lcm", "bincount", "histogram-bins", "histogram-weights", "isin", "isclose", "delete", "interp-x",
        "fmax", "hstack", "kron", "inner", "polyval", "insert", "average", "corrcoef", "trapezoid", "interp-xp"])
def test_numpy_functions_refuse_tensors_on_two_devices_naming_themselves(name, call):
    f, s = _cpu_and_strict([1.0, 2.0, 3.0])
    i, j = _cpu_and_strict([1, 2, 3], dtype=ag.int64)
    with pytest.raises(ValueError, match=rf"^{name}: expected all tensors on one device, got "
                                         r"(cpu and strict|strict and cpu); move one with \.to\(device\)"):
        call(f, s, i, j)


# --- custom Functions ------------------------------------------------------------------------------
def test_a_backward_without_staticmethod_runs_as_in_pytorch(torch):
    """PyTorch calls backward on the class, so one written without @staticmethod (or with
    once_differentiable put above @staticmethod) works; the engine called it on the node,
    which passed the node twice ("takes 2 positional arguments but 3 were given")."""
    def classes(lib, base, once):
        class Plain(base):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x.data * 2 if lib is ag else x * 2

            def backward(ctx, g):
                x, = ctx.saved_tensors
                return g * x

        class OnceAbove(base):
            @staticmethod
            def forward(ctx, x):
                return x.data * 3 if lib is ag else x * 3

            @once
            @staticmethod
            def backward(ctx, g):
                return g * 3
        return Plain, OnceAbove

    values = np.array([1.0, -2.0, 0.5])
    for ours, theirs in zip(classes(ag, ag.Function, once_differentiable),
                            classes(torch, torch.autograd.Function, torch.autograd.function.once_differentiable)):
        x = ag.tensor(values, requires_grad=True)
        tx = torch.tensor(values, requires_grad=True)
        ours.apply(x).sum().backward()
        theirs.apply(tx).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_a_forward_without_ctx_says_to_add_it_where_python_only_counted_arguments():
    class Doubled(ag.Function):
        @staticmethod
        def forward(x):
            return x.data * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    with pytest.raises(TypeError, match=r"^Doubled\.forward takes its arguments without ctx: define it as "
                                        r"forward\(ctx, \.\.\.\).*or define setup_context"):
        Doubled.apply(ag.ones(2, requires_grad=True))
    with pytest.raises(TypeError, match=r"^Doubled\.forward takes its arguments without ctx"):
        with ag.no_grad():
            Doubled.apply(ag.ones(2, requires_grad=True))


def test_a_forward_given_ctx_beside_setup_context_says_to_drop_one():
    class Doubled(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x.data * 2

        @staticmethod
        def setup_context(ctx, inputs, output):
            pass

        @staticmethod
        def backward(ctx, g):
            return g * 2

    with pytest.raises(TypeError, match=r"^Doubled\.forward takes ctx, but Doubled defines setup_context, so "
                                        r"forward is called without ctx: drop ctx from forward"):
        Doubled.apply(ag.ones(2, requires_grad=True))


def test_a_type_error_inside_forward_is_passed_on_as_it_is():
    """Only a call the signature refuses is explained; forward's own errors are its own."""
    class Broken(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x.data + "one"

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(TypeError) as caught:
        Broken.apply(ag.ones(2, requires_grad=True))
    assert "ctx" not in str(caught.value)


def test_custom_fwd_on_a_setup_context_forward_is_refused_by_name():
    """PyTorch's custom_fwd sets its state on the first input tensor there and fails in
    backward with an AttributeError on ctx; topograd raised an AttributeError on the tensor."""
    class Scaled(ag.Function):
        @staticmethod
        @custom_fwd(device_type="cpu", cast_inputs=ag.float32)
        def forward(x):
            return x.data * 2

        @staticmethod
        def setup_context(ctx, inputs, output):
            pass

        @staticmethod
        @custom_bwd(device_type="cpu")
        def backward(ctx, g):
            return g * 2

    with pytest.raises(TypeError, match=r"^custom_fwd: .*forward was called without ctx: custom_fwd decorates a "
                                        r"forward\(ctx, \*args\)"):
        Scaled.apply(ag.ones(2, requires_grad=True))


@pytest.mark.parametrize("decorator, name", [(custom_fwd, "custom_fwd"), (custom_bwd, "custom_bwd")])
def test_custom_fwd_and_bwd_name_themselves_for_a_device_with_an_index(decorator, name):
    with pytest.raises(ValueError, match=rf"^{name}: device_type must be 'cpu' or 'cuda' \(a device type, "
                                         r"without an index\), got 'cuda:0'"):
        decorator(lambda ctx, x: x, device_type="cuda:0")


def test_autocast_says_which_dtype_it_refused(torch):
    with pytest.raises(ValueError, match=r"^autocast: dtype must be float16 \(ag\.float16 or 'float16'\).*"
                                         r"got torch\.float16$"):
        ag.autocast("cpu", dtype=torch.float16)


# --- hooks -----------------------------------------------------------------------------------------
def _loss(a):
    return (a * a).sum()


def test_multi_grad_hook_given_one_tensor_is_refused_not_hung_on_its_rows():
    """tuple(x) gives x's rows, new tensors no backward reaches: fn was silently never called."""
    a = ag.ones(2, 2, requires_grad=True)
    with pytest.raises(TypeError, match=r"^register_multi_grad_hook: expected a sequence of Tensors, got Tensor; "
                                        r"pass \[x\] for one tensor"):
        ag.graph.register_multi_grad_hook(a, print)
    with pytest.raises(TypeError, match=r"^register_multi_grad_hook: expected a sequence of Tensors, got "
                                        r"builtin_function_or_method"):
        ag.graph.register_multi_grad_hook(print, [a])  # fn first


@pytest.mark.parametrize("second, error, message", [
    (np.ones(2), TypeError, r"tensors\[1\] is ndarray, not a Tensor"),
    (ag.ones(2), RuntimeError, r"tensors\[1\] does not require grad, so no backward reaches it; call "
                               r"\.requires_grad_\(\) on it first"),
], ids=["ndarray", "no-grad"])
def test_multi_grad_hook_names_the_bad_tensor_and_registers_nothing(second, error, message):
    a = ag.ones(2, requires_grad=True)
    calls = []
    with pytest.raises(error, match=rf"^register_multi_grad_hook: {message}"):
        ag.graph.register_multi_grad_hook([a, second], calls.append)
    _loss(a).backward()
    assert calls == [] and a.grad is not None
    with pytest.raises(ValueError, match=r"^register_multi_grad_hook: expected at least one Tensor, got an empty"):
        ag.graph.register_multi_grad_hook([], calls.append)


def test_a_node_hook_returning_too_many_gradients_says_how_many():
    a = ag.ones(2, requires_grad=True)
    y = a * 2
    y.grad_fn.register_prehook(lambda grads: (grads[0], grads[0]))
    with pytest.raises(TypeError, match=r"returned a tuple of 2; return a tuple of 1 output gradients"):
        y.sum().backward()


# --- ag.func ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, make, usage", [
    ("grad", lambda f: ag.func.grad(f), r"grad\(f\)\(x\)"),
    ("grad_and_value", lambda f: ag.func.grad_and_value(f), r"grad_and_value\(f\)\(x\)"),
    ("vjp", lambda f: ag.func.vjp(f, ag.ones(2)), r"vjp\(f, x\)"),
    ("jvp", lambda f: ag.func.jvp(f, (ag.ones(2),), (ag.ones(2),)), r"jvp\(f, \(x,\), \(v,\)\)"),
    ("jacrev", lambda f: ag.func.jacrev(f), r"jacrev\(f\)\(x\)"),
    ("jacfwd", lambda f: ag.func.jacfwd(f), r"jacfwd\(f\)\(x\)"),
    ("hessian", lambda f: ag.func.hessian(f), r"hessian\(f\)\(x\)"),
], ids=["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian"])
def test_a_transform_given_the_functions_result_says_to_pass_the_function(name, make, usage):
    """grad(f(x))(x) failed only when called, with "'Tensor' object is not callable"."""
    x = ag.ones(2)
    with pytest.raises(TypeError, match=rf"^{name}: expected the function to transform, got Tensor; pass the "
                                        rf"function itself, as in {usage}, not its result"):
        make((x * x).sum())


@pytest.mark.parametrize("name, keyword", [("jacrev", "chunk_size"), ("jacfwd", "randomness")])
def test_jacobians_name_themselves_for_pytorch_keywords_they_do_not_take(name, keyword):
    with pytest.raises(TypeError, match=rf"^{name}\(\) got an unexpected keyword argument '{keyword}'"):
        getattr(ag.func, name)(lambda x: x, **{keyword: 1})


def test_a_function_instance_called_like_a_module_says_to_use_apply():
    class Double(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x.data * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    with pytest.raises(TypeError, match=r"Double is called through its class: Double.apply\(...\)"):
        Double()(ag.ones(2))


def test_nan_scans_name_themselves_on_a_bad_axis():
    for op in (ag.nancumsum, ag.nancumprod):
        with pytest.raises(ValueError, match=f"{op.__name__}: axis 3 is out of range"):
            op(ag.ones(3), axis=3)
