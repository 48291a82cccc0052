"""Findings of a differential fuzz of custom Functions against PyTorch's
torch.autograd.Function: outputs in their inputs' memory (views, one array returned
twice, calls that record nothing), gradients that backward or a hook keeps, a gradient
returned for an argument that is no Tensor, and a save_for_backward of a non-Tensor."""
import numpy as np
import pytest

import autograd as ag

from ..nn.torch_compare import float64_leaves

VALUES = np.array([1.0, 2.0, 3.0])


def _function(base, forward, backward):
    return type("Custom", (base,), {"forward": staticmethod(forward), "backward": staticmethod(backward)})


def _tail_view(ctx, x):
    return x.data[1:]  # a view of the input's memory, not marked dirty


def _tail_grad(ctx, g):
    return ag.concat([ag.zeros(1, dtype=g.dtype, device=g.device), g])


@pytest.mark.parametrize("mode", ["recorded", "no_grad", "constant input"])
def test_a_change_through_an_output_that_views_an_input_fails_backward_as_torch(device, torch, mode):
    """The change reached the input behind the graph's back: the product's gradient used
    the changed values ([2, 8, 12], not [2, 4, 6]). PyTorch refuses the change itself."""
    ours = _function(ag.Function, _tail_view, _tail_grad)
    theirs = _function(torch.autograd.Function, lambda ctx, x: x[1:],
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
                                           r"in place at .*test_fuzz_findings_custom_functions.py"):
        run(ag, ours, x)
    assert x.grad is None


def _one_array_twice(ctx, x):
    y = x.data * 2
    return y, y[1:]


def test_a_change_of_one_output_reaches_what_saved_another_in_its_memory(device, torch):
    ours = _function(ag.Function, _one_array_twice, lambda ctx, g, h: 2 * (g + _tail_grad(ctx, h)))
    theirs = _function(torch.autograd.Function, lambda ctx, x: (lambda y: (y, y[1:]))(x * 2),
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
    ours = _function(ag.Function, lambda ctx, x: (x.data * 2, x.data + 1), lambda ctx, g, h: 2 * g + h)
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
        fn = _function(base, lambda ctx, x: (x.data if lib is ag else x) * 1, backward)
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
    ours = _function(ag.Function, lambda ctx, x: x.data * 1, lambda ctx, g: p)
    theirs = _function(torch.autograd.Function, lambda ctx, x: x * 1, lambda ctx, g: tp)
    ours.apply(x).sum().backward()
    theirs.apply(tx).sum().backward()
    assert x.grad is not p and not x.grad.requires_grad and not tx.grad.requires_grad
    with ag.no_grad():
        x.grad.mul_(0)  # an optimizer's zero_grad(set_to_none=False), say
    np.testing.assert_array_equal(p.numpy(), tp.detach().numpy())


def test_a_gradient_a_leaf_hook_returns_and_keeps_is_not_added_into_as_torch(device, torch):
    for lib, (x, kept) in ((ag, (ag.tensor(VALUES, requires_grad=True), ag.full((3,), 7.0, dtype=ag.float64))),
                           (torch, (torch.tensor(VALUES, requires_grad=True), torch.full((3,), 7.0,
                                                                                        dtype=torch.float64)))):
        x.register_hook(lambda g, kept=kept: kept)
        (x * 2).sum().backward()
        (x * 2).sum().backward()
        np.testing.assert_array_equal(np.asarray(x.grad.tolist()), [14.0, 14.0, 14.0])
        np.testing.assert_array_equal(np.asarray(kept.tolist()), [7.0, 7.0, 7.0])


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
        _function(torch.autograd.Function, forward, out_of_order).apply(tx, 3, ty).sum().backward()
    with pytest.raises(RuntimeError, match=r"Custom.backward returned a gradient for argument 1, which is no "
                                           r"Tensor and so takes none; return None in its place"):
        _function(ag.Function, forward, out_of_order).apply(x, 3, y).sum().backward()
    assert x.grad is None and y.grad is None
    _function(torch.autograd.Function, forward, in_order).apply(tx, 3, ty).sum().backward()
    _function(ag.Function, forward, in_order).apply(x, 3, y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_array_equal(y.grad.numpy(), ty.grad.numpy())


@pytest.mark.parametrize("item", [3, 2.5, [1.0], "s"], ids=["int", "float", "list", "str"])
def test_save_for_backward_of_a_non_tensor_is_refused_at_apply_as_torch(device, torch, item):
    """It raised AttributeError ('int' object has no attribute 'ndim') in backward."""
    def forward(ctx, x):
        ctx.save_for_backward(x, item)
        return x.data * 2 if isinstance(x, ag.Tensor) else x * 2
    ours = _function(ag.Function, forward, lambda ctx, g: g * 2)
    theirs = _function(torch.autograd.Function, forward, lambda ctx, g: g * 2)
    with pytest.raises(TypeError, match="save_for_backward can only save variables"):
        theirs.apply(torch.ones(3, requires_grad=True))
    with pytest.raises(TypeError, match=rf"Custom.save_for_backward: item 1 is of type {type(item).__name__}; "
                                        r"it keeps Tensors, arrays or None, so keep other values as attributes"):
        ours.apply(ag.ones(3, requires_grad=True))
    # as PyTorch, nothing is checked when nothing is recorded
    np.testing.assert_array_equal(ours.apply(ag.ones(3)).numpy(), theirs.apply(torch.ones(3)).numpy())
