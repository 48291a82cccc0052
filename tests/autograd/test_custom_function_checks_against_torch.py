"""What the engine checks of a custom Function's backward (as PyTorch's engine does), and
the clear errors for a forward that returns something other than arrays or for an
apply without any Tensor argument."""
import numpy as np
import pytest

import autograd as ag


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


def test_a_tuple_output_with_no_array_in_it_names_the_function(device):
    ours = _function(lambda ctx, x: (x.data, None), lambda ctx, g, h: g)
    with pytest.raises(TypeError, match=r"Custom.forward returned NoneType None"):
        ours.apply(ag.ones(3, requires_grad=True, device=device))


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
