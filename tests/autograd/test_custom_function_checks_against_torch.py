"""What the engine checks of a custom Function's backward (as PyTorch's engine does), and
the clear errors for a forward that returns something other than arrays or for an
apply without any Tensor argument."""
import numpy as np
import pytest

import autograd as ag
from autograd.autocast_mode import custom_bwd, custom_fwd
from autograd.function import once_differentiable

from ..nn.torch_compare import float64_leaves


def _function(forward, backward):
    return type("Custom", (ag.Function,), {"forward": staticmethod(forward), "backward": staticmethod(backward)})


def _double(ctx, x):
    return x.data * 2


def test_a_gradient_of_another_dtype_is_cast_to_its_input_s_as_in_pytorch(device):
    torch = pytest.importorskip("torch")
    ours = _function(_double, lambda ctx, g: ag.full((3,), 2.0, dtype="float64", device=g.device))
    x = ag.ones(3, requires_grad=True, device=device)
    ours.apply(x).sum().backward()

    class Theirs(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return torch.full((3,), 2.0, dtype=torch.float64)
    tx = torch.ones(3, requires_grad=True)
    Theirs.apply(tx).sum().backward()
    assert tx.grad.dtype == torch.float32 and x.grad.dtype == ag.float32
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_a_broadcast_gradient_is_summed_to_its_input_s_shape(device):
    ours = _function(_double, lambda ctx, g: ag.ones(4, 3, device=g.device))
    x = ag.ones(3, requires_grad=True, device=device)
    ours.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 4.0, np.float32))


def test_a_gradient_of_a_wrong_shape_names_the_function_and_both_shapes(device):
    ours = _function(_double, lambda ctx, g: ag.ones(5, device=g.device))
    x = ag.ones(3, requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match=r"Custom.backward returned a gradient of shape \(5,\) for argument 0, "
                                           r"which has shape \(3,\)"):
        ours.apply(x).sum().backward()
    assert x.grad is None


def test_a_gradient_that_is_not_a_tensor_is_refused_by_name(device):
    ours = _function(_double, lambda ctx, g: g.data)
    x = ag.ones(3, requires_grad=True, device=device)
    with pytest.raises(TypeError, match=r"Custom.backward returned \w+ as the gradient of argument 0; return a Tensor"):
        ours.apply(x).sum().backward()


def test_the_checks_hold_under_create_graph_and_in_ag_grad(device):
    ours = _function(lambda ctx, x: ctx.save_for_backward(x) or x.data ** 2,
                     lambda ctx, g: (g * 2 * ctx.saved_tensors[0]).astype("float64"))
    x = ag.tensor([1.0, 2.0], requires_grad=True, device=device)
    g, = ag.grad(ours.apply(x).sum(), x, create_graph=True)
    assert g.dtype == ag.float32
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])
    gg, = ag.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), [2.0, 2.0])


@pytest.mark.parametrize("returned", [None, [1.0], 2.0], ids=["None", "list", "float"])
@pytest.mark.parametrize("requires_grad", [True, False], ids=["recorded", "unrecorded"])
def test_a_forward_that_returns_no_array_names_the_function(device, returned, requires_grad):
    ours = _function(lambda ctx, x: returned, lambda ctx, g: g)
    with pytest.raises(TypeError, match=rf"Custom.forward returned {type(returned).__name__} .*; return the backend "
                                        "array"):
        ours.apply(ag.ones(3, requires_grad=requires_grad, device=device))


def test_apply_without_a_tensor_argument_says_to_make_one():
    ours = _function(lambda ctx, x: x * 2, lambda ctx, g: g)
    with pytest.raises(TypeError, match=r"Custom.apply: expected at least one Tensor argument, got ndarray; "
                                        r"make the inputs Tensors"):
        ours.apply(np.ones(3))


def _identity(ctx, x):
    return x.data  # the input's own array, not marked dirty


def test_an_output_that_is_its_input_s_array_shares_its_in_place_counter(device):
    """Changing such an output in place changed the input behind the graph's back: the
    exp's gradient silently doubled (PyTorch refuses the change at once)."""
    ours = _function(_identity, lambda ctx, g: g)
    x = ag.tensor([1.0, 2.0], requires_grad=True, device=device)
    y = x.exp()  # saves its output, y
    ours.apply(y).mul_(2)
    with pytest.raises(RuntimeError, match=r"Exp: its output, saved for backward, was modified in place at "
                                           r".*test_custom_function_checks_against_torch.py"):
        y.sum().backward()


def test_a_change_of_the_input_reaches_what_saved_the_aliasing_output(device):
    ours = _function(_identity, lambda ctx, g: g)
    x = ag.tensor([1.0, 2.0], requires_grad=True, device=device)
    y = x * 1
    z = ours.apply(y)
    w = z * z  # saves z
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"Mul: a tensor it saved for backward .* was modified in place"):
        w.sum().backward()


# --- a forward or backward written as PyTorch takes it, or nearly: ctx, @staticmethod, custom_fwd, apply

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


# --- against PyTorch's torch.autograd.Function: outputs in their inputs' memory (views, one
# array returned twice, calls that record nothing), gradients that backward keeps, a gradient
# returned for an argument that is no Tensor, and a save_for_backward of a non-Tensor
VALUES = np.array([1.0, 2.0, 3.0])


def _function_of(base, forward, backward):
    return type("Custom", (base,), {"forward": staticmethod(forward), "backward": staticmethod(backward)})


def _tail_view(ctx, x):
    return x.data[1:]  # a view of the input's memory, not marked dirty


def _tail_grad(ctx, g):
    return ag.concat([ag.zeros(1, dtype=g.dtype, device=g.device), g])


@pytest.mark.parametrize("mode", ["recorded", "no_grad", "constant input"])
def test_a_change_through_an_output_that_views_an_input_fails_backward_as_torch(device, torch, mode):
    """The change reached the input behind the graph's back: the product's gradient used
    the changed values ([2, 8, 12], not [2, 4, 6]). PyTorch refuses the change itself."""
    ours = _function_of(ag.Function, _tail_view, _tail_grad)
    theirs = _function_of(torch.autograd.Function, lambda ctx, x: x[1:],
                       lambda ctx, g: torch.cat([torch.zeros(1, dtype=g.dtype), g]))

    def run(lib, fn, leaf):
        constant = lib.ones(3, dtype=leaf.dtype)
        h = leaf * 1 if mode != "constant input" else constant
        product = (h * leaf).sum()  # saves h for leaf's gradient
        if mode == "no_grad":
            with (ag.no_grad() if lib is ag else torch.no_grad()):
                out = fn.apply(h)
        else:
            out = fn.apply(h)
        out.mul_(2)
        product.backward()

    x, tx = float64_leaves(torch, VALUES)
    with pytest.raises(RuntimeError):
        run(torch, theirs, tx)
    with pytest.raises(RuntimeError, match=r"Mul: a tensor it saved for backward \(shape \(3,\)\) was modified "
                                           r"in place at .*test_custom_function_checks_against_torch.py"):
        run(ag, ours, x)
    assert x.grad is None


def _one_array_twice(ctx, x):
    y = x.data * 2
    return y, y[1:]


def test_a_change_of_one_output_reaches_what_saved_another_in_its_memory(device, torch):
    ours = _function_of(ag.Function, _one_array_twice, lambda ctx, g, h: 2 * (g + _tail_grad(ctx, h)))
    theirs = _function_of(torch.autograd.Function, lambda ctx, x: (lambda y: (y, y[1:]))(x * 2),
                       lambda ctx, g, h: 2 * (g + torch.cat([torch.zeros(1, dtype=h.dtype), h])))
    x, tx = float64_leaves(torch, VALUES)
    a, b = ours.apply(x)
    ta, tb = theirs.apply(tx)
    squares, tsquares = (b * b).sum(), (tb * tb).sum()  # save b
    with pytest.raises(RuntimeError, match="modified inplace"):
        ta.mul_(10)
        tsquares.backward()
    a.mul_(10)  # b's values are now 10 times those squared (the gradient was silently 10x)
    with pytest.raises(RuntimeError, match=r"Mul: a tensor it saved for backward .* was modified in place"):
        squares.backward()


def test_outputs_in_fresh_memory_stay_free_to_change(device):
    ours = _function_of(ag.Function, lambda ctx, x: (x.data * 2, x.data + 1), lambda ctx, g, h: 2 * g + h)
    x = ag.tensor(VALUES, dtype=ag.float64, requires_grad=True)
    a, b = ours.apply(x)
    squares = (b * b).sum()
    a.mul_(10)
    squares.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (VALUES + 1))


def test_a_gradient_that_backward_keeps_is_not_added_into_as_torch(device, torch):
    """The leaf took the kept tensor as its .grad, and the next backward added into it."""
    def run(lib, base, x):
        kept = []

        def backward(ctx, g):
            kept.append(g * 1)
            return kept[-1]
        fn = _function_of(base, lambda ctx, x: (x.data if lib is ag else x) * 1, backward)
        fn.apply(x).sum().backward()
        fn.apply(x).sum().backward()
        return kept

    x, tx = float64_leaves(torch, VALUES)
    kept, tkept = run(ag, ag.Function, x), run(torch, torch.autograd.Function, tx)
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    for ours, theirs in zip(kept, tkept):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(kept[0].numpy(), np.ones(3))


def test_a_backward_that_returns_a_parameter_leaves_the_parameter_alone_as_torch(device, torch):
    x, tx = float64_leaves(torch, VALUES)
    p, tp = float64_leaves(torch, [5.0, 6.0, 7.0])
    ours = _function_of(ag.Function, lambda ctx, x: x.data * 1, lambda ctx, g: p)
    theirs = _function_of(torch.autograd.Function, lambda ctx, x: x * 1, lambda ctx, g: tp)
    ours.apply(x).sum().backward()
    theirs.apply(tx).sum().backward()
    assert x.grad is not p and not x.grad.requires_grad and not tx.grad.requires_grad
    with ag.no_grad():
        x.grad.mul_(0)  # an optimizer's zero_grad(set_to_none=False), say
    np.testing.assert_array_equal(p.numpy(), tp.detach().numpy())


def test_a_gradient_for_an_argument_that_is_no_tensor_is_refused_as_torch(device, torch):
    """Likely gradients out of order: y's went to k and was dropped without a word."""
    def forward(ctx, x, k, y):
        ctx.k = k
        return x.data * k + y.data if isinstance(x, ag.Tensor) else x * k + y

    def out_of_order(ctx, g):
        return g * ctx.k, g, None

    def in_order(ctx, g):
        return g * ctx.k, None, g
    x, tx = float64_leaves(torch, VALUES)
    y, ty = float64_leaves(torch, VALUES)
    with pytest.raises(RuntimeError, match="forward input was not a Variable"):
        _function_of(torch.autograd.Function, forward, out_of_order).apply(tx, 3, ty).sum().backward()
    with pytest.raises(RuntimeError, match=r"Custom.backward returned a gradient for argument 1, which is no "
                                           r"Tensor and so takes none; return None in its place"):
        _function_of(ag.Function, forward, out_of_order).apply(x, 3, y).sum().backward()
    assert x.grad is None and y.grad is None
    _function_of(torch.autograd.Function, forward, in_order).apply(tx, 3, ty).sum().backward()
    _function_of(ag.Function, forward, in_order).apply(x, 3, y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_array_equal(y.grad.numpy(), ty.grad.numpy())


@pytest.mark.parametrize("item", [3, 2.5, [1.0], "s"], ids=["int", "float", "list", "str"])
def test_save_for_backward_of_a_non_tensor_is_refused_at_apply_as_torch(device, torch, item):
    """It raised AttributeError ('int' object has no attribute 'ndim') in backward."""
    def forward(ctx, x):
        ctx.save_for_backward(x, item)
        return x.data * 2 if isinstance(x, ag.Tensor) else x * 2
    ours = _function_of(ag.Function, forward, lambda ctx, g: g * 2)
    theirs = _function_of(torch.autograd.Function, forward, lambda ctx, g: g * 2)
    with pytest.raises(TypeError, match="save_for_backward can only save variables"):
        theirs.apply(torch.ones(3, requires_grad=True))
    with pytest.raises(TypeError, match=rf"Custom.save_for_backward: item 1 is of type {type(item).__name__}; "
                                        r"it keeps Tensors, arrays or None, so keep other values as attributes"):
        ours.apply(ag.ones(3, requires_grad=True))
    # as PyTorch, nothing is checked when nothing is recorded
    np.testing.assert_array_equal(ours.apply(ag.ones(3)).numpy(), theirs.apply(torch.ones(3)).numpy())
