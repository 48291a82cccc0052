"""Custom Functions in PyTorch 2's form, forward(*args) without ctx and setup_context(ctx,
inputs, output), against PyTorch's: values, gradients, second derivatives, saved outputs,
mark_non_differentiable, and subclasses."""
import numpy as np
import pytest

import autograd as ag
from tests.autograd.torch_pairs import numpy_or_none, same_nested

torch = pytest.importorskip("torch")


def _scaled_cube(lib):
    """x ** 3 * k, its output saved in setup_context (for 3 * y / x), its backward in
    Tensor ops: twice differentiable."""
    base = ag.Function if lib is ag else torch.autograd.Function

    class ScaledCube(base):
        @staticmethod
        def forward(x, k):
            return x * x * x * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, k = inputs
            ctx.k = k
            ctx.save_for_backward(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x * x * ctx.k, None

    return ScaledCube


@pytest.mark.parametrize("lib", ["ours", "torch"])
def test_values_gradients_and_second_derivatives(lib):
    lib = ag if lib == "ours" else torch
    grad = ag.grad if lib is ag else torch.autograd.grad
    x = lib.tensor([1.5, -2.0], requires_grad=True)
    y = _scaled_cube(lib).apply(x, 2.0)
    np.testing.assert_allclose(y.detach().numpy(), 2 * np.array([1.5, -2.0]) ** 3)
    (gx,) = grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(gx.detach().numpy(), 6 * np.array([1.5, -2.0]) ** 2)
    (gxx,) = grad(gx.sum(), x)
    np.testing.assert_allclose(gxx.numpy(), 12 * np.array([1.5, -2.0]))


def _argmax_and_square(lib):
    base = ag.Function if lib is ag else torch.autograd.Function

    class SquareAndIndex(base):
        @staticmethod
        def forward(x):
            y = x * x
            return y, y.sum() * 0 + 1  # the second output is marked non-differentiable

        @staticmethod
        def setup_context(ctx, inputs, output):
            y, flag = output
            ctx.mark_non_differentiable(flag)
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, g, g_flag):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    return SquareAndIndex


@pytest.mark.parametrize("lib", ["ours", "torch"])
def test_setup_context_marks_outputs_and_subclasses_keep_the_form(lib):
    lib_ = ag if lib == "ours" else torch
    fn = _argmax_and_square(lib_)

    class Child(fn):  # inherits forward and setup_context, overrides backward
        @staticmethod
        def backward(ctx, g, g_flag):
            (x,) = ctx.saved_tensors
            return 4 * x * g

    x = lib_.tensor([1.0, 3.0], requires_grad=True)
    y, flag = fn.apply(x)
    assert not flag.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 6.0])
    x.grad = None
    Child.apply(x)[0].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 12.0])


def test_a_classic_forward_with_ctx_still_works_beside_it():
    class Double(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x.data * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = ag.tensor([1.0], requires_grad=True)
    Double.apply(x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0])


def _function(lib):
    return ag.Function if lib is ag else torch.autograd.Function


# --- custom Functions in PyTorch 2's form --------------------------------------------------

def _subclass_with_its_own_setup_context(lib):
    class Scale(_function(lib)):
        @staticmethod
        def forward(x):
            return x * 2

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.k = 2.0

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k

    class ScaleWithOtherGradient(Scale):
        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.k = 5.0

    x = lib.tensor([1.0, 2.0], requires_grad=True)
    ScaleWithOtherGradient.apply(x).sum().backward()
    return numpy_or_none(x.grad)


def test_a_subclass_that_overrides_only_setup_context_runs_its_own():
    # It inherited forward bound to its parent's setup_context: a gradient of 2, not 5.
    ours, theirs = _subclass_with_its_own_setup_context(ag), _subclass_with_its_own_setup_context(torch)
    same_nested(ours, theirs)
    np.testing.assert_array_equal(ours, [5.0, 5.0])


def _scale_with_a_default(lib):
    base = ag.Function if lib is ag else torch.autograd.Function

    class Scale(base):
        @staticmethod
        def forward(x, k=3.0):
            return x * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, k = inputs  # the default too, as PyTorch binds it
            ctx.k = k
            ctx.needs = ctx.needs_input_grad

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, None

    class NoDefault(Scale):  # its own forward, without the parent's default
        @staticmethod
        def forward(x, k):
            return x * k

    return Scale, NoDefault


def test_setup_context_gets_the_defaults_forward_was_called_without():
    """Scale.apply(x) with forward(x, k=3.0): setup_context's inputs were (x,) only, so
    `x, k = inputs` failed to unpack; PyTorch binds the arguments to forward's signature
    first, defaults included, and so does topograd now."""
    results = []
    for lib in (ag, torch):
        scale, no_default = _scale_with_a_default(lib)
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = scale.apply(x)
        y.sum().backward()
        z = no_default.apply(x, 2.0)
        results.append((numpy_or_none(y), numpy_or_none(x.grad), y.grad_fn.needs, numpy_or_none(z)))
    same_nested(results[0], results[1])
    np.testing.assert_array_equal(results[0][1], [3.0, 3.0])
    assert results[0][2] == (True, False)
