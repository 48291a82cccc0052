"""Findings of a review of the saved-tensor hooks (autograd/graph.py): a custom Function's
mark_dirty output under the hooks, and an unpacked tensor changed in place by backward."""
import weakref

import numpy as np
import pytest

import autograd as ag

W = np.array([1.0, 2.0, 3.0, 4.0])


def _square_in_place(lib):
    """A custom Function that squares its input in place (mark_dirty), saving the result."""
    torch_like = lib.__name__ == "torch"

    class SquareInPlace(lib.autograd.Function if torch_like else ag.Function):
        @staticmethod
        def forward(ctx, x):
            if torch_like:
                x.mul_(x)
            else:
                x.data[...] = x.data * x.data
            ctx.mark_dirty(x)
            ctx.save_for_backward(x)
            return x

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * 2 * y.sqrt()
    return SquareInPlace


@pytest.mark.parametrize("view", [False, True])
def test_pack_hook_gets_the_input_a_mark_dirty_forward_returns_as_in_pytorch(torch, view):
    """pack_hook is given the input itself (the tensor the caller gets back), not a tensor
    that is then dropped: hooks that keep a weak reference to it unpack it at backward."""
    def run(lib, graph, grad):
        w = lib.tensor(W.copy(), requires_grad=True)
        x = w * 1
        changed = x[1:3] if view else x
        given = []

        def pack(t):
            given.append(t)
            return weakref.ref(t)
        with graph.saved_tensors_hooks(pack, lambda ref: ref()):
            returned = _square_in_place(lib).apply(changed)
        assert returned is changed and len(given) == 1 and given[0] is changed
        del given[:]
        (g,) = grad((x ** 3).sum(), [w], create_graph=True)
        (gg,) = grad(g.sum(), [w])
        return g.detach().numpy(), gg.numpy()
    ours = run(ag, ag.graph, ag.grad)
    theirs = run(torch, torch.autograd.graph, torch.autograd.grad)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_a_pack_hook_that_raises_after_mark_dirty_leaves_the_input_in_the_graph_of_its_values():
    """Forward has changed the input already when pack_hook raises: the input must stand
    in the graph for its new values (2w here), not for the old ones."""
    class Double(ag.Function):
        @staticmethod
        def forward(ctx, x):
            x.data *= 2
            ctx.mark_dirty(x)
            ctx.save_for_backward(x)
            return x

        @staticmethod
        def backward(ctx, g):
            ctx.saved_tensors
            return g * 2

    def refuse(t):
        raise ValueError("no room to pack")
    w = ag.tensor(W.copy(), requires_grad=True)
    a = w * 1
    with ag.graph.saved_tensors_hooks(refuse, lambda p: p):
        with pytest.raises(ValueError, match="no room to pack"):
            Double.apply(a)
    np.testing.assert_array_equal(a.numpy(), 2 * W)
    (a * a).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 8 * W)  # d/dw (2w)^2


def _scaling_backward(lib):
    """A custom Function (x -> 2x) whose backward changes the tensor it saved in place."""
    class ScalesSaved(lib.autograd.Function if lib.__name__ == "torch" else ag.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2 if lib.__name__ == "torch" else x.data * 2

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            x.mul_(10)
            return g * 2
    return ScalesSaved


@pytest.mark.parametrize("pack", [lambda t: t, lambda t: t.detach()], ids=["itself", "detached"])
def test_an_unpacked_tensor_changed_in_place_by_backward_is_caught_as_in_pytorch(torch, pack):
    """The unpacked tensor shares the in-place counter of what unpack_hook returned, so the
    change reaches the other nodes that saved the tensor, which refuse to use it (before:
    z's gradient was silently computed from the changed values)."""
    for lib, graph, message in ((ag, ag.graph, "modified in place"),
                                (torch, torch.autograd.graph, "modified by an inplace operation")):
        w = lib.tensor(W.copy(), requires_grad=True)
        x = w * 1
        z = x * x
        with graph.saved_tensors_hooks(pack, lambda p: p):
            y = _scaling_backward(lib).apply(x)
        y.sum().backward()
        with pytest.raises(RuntimeError, match=message):
            z.sum().backward()
