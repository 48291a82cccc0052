"""Custom Functions that change an input in place and say so with ``ctx.mark_dirty``,
as in PyTorch: the changed input is returned as the output itself, its version
counter moves on, and it takes the output's place in the graph (through its base,
for a view). Values and gradients are compared with the same Functions in PyTorch."""
import numpy as np
import pytest

import autograd as ag

from ..nn.torch_compare import assert_close_to_torch, float64_leaves

VALUES = np.array([0.5, -1.0, 2.0, 1.5, -0.25, 3.0])


class ScaleInPlace(ag.Function):
    """x *= k, in x's own memory; returns x itself, or its array with ``as_array``."""

    @staticmethod
    def forward(ctx, x, k, as_array):
        x.data[...] = x.data * k
        ctx.k = k
        ctx.mark_dirty(x)
        return x.data if as_array else x

    @staticmethod
    def backward(ctx, g):
        return g * ctx.k, None, None


class ExpInPlace(ag.Function):
    """x = exp(x) in place, saving the output (which is x) for backward."""

    @staticmethod
    def forward(ctx, x):
        x.data[...] = x._backend.xp.exp(x.data)
        ctx.mark_dirty(x)
        ctx.save_for_backward(x)
        return x

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g * out


class CenterInPlaceWithMean(ag.Function):
    """Two outputs: x - mean(x) in place, and the mean removed (a new array)."""

    @staticmethod
    def forward(ctx, x):
        mean = x._backend.xp.mean(x.data)
        x.data[...] = x.data - mean
        ctx.mark_dirty(x)
        ctx.n = x.size
        return x, mean

    @staticmethod
    def backward(ctx, g_centered, g_mean):
        return g_centered - g_centered.mean() + g_mean / ctx.n


def torch_functions(torch):
    """The same three Functions in PyTorch."""
    class TScale(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            x.mul_(k)
            ctx.k = k
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, None

    class TExp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.exp_()
            ctx.mark_dirty(x)
            ctx.save_for_backward(x)
            return x

        @staticmethod
        def backward(ctx, g):
            out, = ctx.saved_tensors
            return g * out

    class TCenter(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            mean = x.mean()
            x.sub_(mean)
            ctx.mark_dirty(x)
            ctx.mark_non_differentiable()
            ctx.n = x.numel()
            return x, mean

        @staticmethod
        def backward(ctx, g_centered, g_mean):
            return g_centered - g_centered.mean() + g_mean / ctx.n

    return TScale, TExp, TCenter


@pytest.mark.parametrize("as_array", [False, True])
def test_the_changed_input_is_the_output_and_takes_its_place_as_torch(device, torch, as_array):
    TScale, _, _ = torch_functions(torch)
    w, tw = float64_leaves(torch, VALUES)
    y, ty = w * 2, tw * 2
    y.retain_grad(), ty.retain_grad()  # asked before the change: it follows the tensor
    before = y._version.value if y._version is not None else 0
    out, tout = ScaleInPlace.apply(y, 3.0, as_array), TScale.apply(ty, 3.0)
    assert out is y and tout is ty
    assert y._version.value > before
    assert y.grad_fn.name == "ScaleInPlace" and not y.is_leaf
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    assert_close_to_torch(y, ty)
    assert_close_to_torch(w.grad, tw.grad)
    assert_close_to_torch(y.grad, ty.grad)


def test_a_saved_output_that_is_the_changed_input_as_torch(device, torch):
    _, TExp, _ = torch_functions(torch)
    w, tw = float64_leaves(torch, VALUES)
    y, ty = ExpInPlace.apply(w * 1), TExp.apply(tw * 1)
    (y * ag.tensor(VALUES)).sum().backward()
    (ty * torch.tensor(VALUES)).sum().backward()
    assert_close_to_torch(w.grad, tw.grad)


def test_a_later_change_of_the_saved_output_makes_backward_raise(device):
    y = ExpInPlace.apply(ag.tensor(VALUES, requires_grad=True) * 1)
    loss = y.sum()
    with ag.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match="ExpInPlace: its output, saved for backward, was modified in place"):
        loss.backward()


def test_an_op_that_saved_the_old_values_refuses_backward(device):
    """Exp kept its output for backward; the Function overwrote it, and its version
    counter says so, though forward wrote the array directly."""
    w = ag.tensor(VALUES, requires_grad=True)
    y = w.exp()
    loss = y.sum()
    ScaleInPlace.apply(y, 2.0, False)
    with pytest.raises(RuntimeError, match="Exp: its output, saved for backward, was modified in place"):
        loss.backward()


def test_a_changed_view_writes_back_into_its_base_as_torch(device, torch):
    TScale, _, _ = torch_functions(torch)
    w, tw = float64_leaves(torch, VALUES)
    y, ty = w * 1, tw * 1
    ScaleInPlace.apply(y.reshape(2, 3)[1], 5.0, False)
    TScale.apply(ty.reshape(2, 3)[1], 5.0)
    weights = np.arange(6.0)
    (y * ag.tensor(weights)).sum().backward()
    (ty * torch.tensor(weights)).sum().backward()
    assert_close_to_torch(y, ty)
    assert_close_to_torch(w.grad, tw.grad)


def test_two_outputs_one_of_them_the_changed_input_as_torch(device, torch):
    _, _, TCenter = torch_functions(torch)
    w, tw = float64_leaves(torch, VALUES)
    y, ty = w * w, tw * tw
    (centered, mean), (tcentered, tmean) = CenterInPlaceWithMean.apply(y), TCenter.apply(ty)
    assert centered is y and mean is not y
    (centered.sin().sum() + 3 * mean).backward()
    (tcentered.sin().sum() + 3 * tmean).backward()
    assert_close_to_torch(mean, tmean)
    assert_close_to_torch(w.grad, tw.grad)


def test_first_and_second_derivatives_through_changes_of_views(device):
    def f(w):
        y = w * 1
        ScaleInPlace.apply(y[1:4], -2.0, False)
        ExpInPlace.apply(y.reshape(3, 2).T[0])
        return (y * y).sum()
    w = ag.tensor(VALUES, dtype="float64", requires_grad=True)
    assert ag.gradcheck(f, [w]) and ag.gradgradcheck(f, [w])


def test_a_leaf_that_requires_grad_is_refused_while_recording_and_changed_under_no_grad(device):
    w = ag.tensor(VALUES, requires_grad=True)
    with pytest.raises(RuntimeError, match="mark_dirty.. was given a leaf tensor that requires grad"):
        ScaleInPlace.apply(w, 2.0, False)
    with pytest.raises(RuntimeError, match="a leaf tensor that requires grad .or a view of one."):
        ScaleInPlace.apply(w[2:], 2.0, False)
    assert w.grad_fn is None and w.is_leaf
    with ag.no_grad():
        out = ScaleInPlace.apply(w, 0.5, False)
    assert out is w and w.is_leaf and w.grad_fn is None


def test_nothing_recorded_still_counts_the_change(device):
    x = ag.tensor(VALUES)
    y = x[::2]  # a view: it shares x's counter
    version = y._version.value
    out = ScaleInPlace.apply(y, 2.0, False)
    assert out is y and y._version.value == version + 1
    np.testing.assert_allclose(x.numpy()[::2], VALUES[::2] * 2)


class MarksAnotherTensor(ag.Function):
    other = None

    @staticmethod
    def forward(ctx, x):
        ctx.mark_dirty(MarksAnotherTensor.other)
        return x.data * 2

    @staticmethod
    def backward(ctx, g):
        return 2 * g


class ForgetsToReturnIt(ag.Function):
    @staticmethod
    def forward(ctx, x):
        x.data[...] = x.data * 2
        ctx.mark_dirty(x)
        return x.data * 1

    @staticmethod
    def backward(ctx, g):
        return 2 * g


def test_misuse_of_mark_dirty_gets_clear_errors(device):
    MarksAnotherTensor.other = ag.zeros(3)
    with pytest.raises(RuntimeError, match="not an input of forward"):
        MarksAnotherTensor.apply(ag.ones(3, requires_grad=True) * 1)
    with pytest.raises(RuntimeError, match="is not returned by forward"):
        ForgetsToReturnIt.apply(ag.ones(3, requires_grad=True) * 1)
    MarksAnotherTensor.other = "x"
    with pytest.raises(TypeError, match="expected the input Tensors .* got str"):
        MarksAnotherTensor.apply(ag.ones(3))
