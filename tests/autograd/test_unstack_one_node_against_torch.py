"""ag.unstack as PyTorch's unbind: one node (Unstack) whose outputs are the slices, each a
view of the input. Hooks on every piece run, the used ones' with their gradients and the
unused ones' with None; the node's own hooks see every piece's gradient; the gradient
stacks the pieces' (zeros for the unused), and differentiates again. In-place changes
through the pieces, which PyTorch refuses for unbind's outputs, are checked against
PyTorch's single views, ``select``, which take them."""
import numpy as np
import pytest

import autograd as ag

torch = pytest.importorskip("torch")


def _arrays(grads):
    return [None if g is None else g.detach().numpy().copy() for g in grads]


def _assert_same(mine, theirs):
    """Equal structures (lists, tuples, labels, None where the other has None), with arrays
    equal to float64 rounding."""
    if isinstance(mine, np.ndarray) and isinstance(theirs, np.ndarray):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-12)
    elif isinstance(mine, (list, tuple)) and isinstance(theirs, (list, tuple)):
        assert len(mine) == len(theirs), (mine, theirs)
        for a, b in zip(mine, theirs):
            _assert_same(a, b)
    else:
        assert mine == theirs


def _leaf(lib, data):
    if lib is torch:
        return torch.tensor(data, dtype=torch.float64, requires_grad=True)
    return ag.tensor(data, dtype="float64", requires_grad=True)


def _pieces(lib, y, axis):
    return torch.unbind(y, axis) if lib is torch else ag.unstack(y, axis)


def _selected(lib, y, axis):
    """The slices as single views (PyTorch's select): what unstack's pieces are in place."""
    if lib is torch:
        return [y.select(axis, i) for i in range(y.shape[axis])]
    return [y[(slice(None),) * (axis % y.ndim) + (i,)] for i in range(y.shape[axis])]


DATA = np.arange(24.0).reshape(2, 3, 4) / 7 - 1


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_the_pieces_are_the_outputs_of_one_node_as_torch_unbind(device, axis):
    x, tx = _leaf(ag, DATA), _leaf(torch, DATA)
    y, ty = x * 2, tx * 2
    pieces, tpieces = ag.unstack(y, axis), torch.unbind(ty, axis)
    assert [p._output_nr for p in pieces] == [p.output_nr for p in tpieces] == list(range(DATA.shape[axis]))
    node = pieces[0].grad_fn
    assert all(p.grad_fn is node for p in pieces) and all(p.grad_fn is tpieces[0].grad_fn for p in tpieces)
    assert node.name == "Unstack"
    assert node.next_functions[0] == (y.grad_fn, 0)
    for p, tp in zip(pieces, tpieces):
        np.testing.assert_array_equal(p.numpy(), tp.detach().numpy())
        assert not p.is_leaf and p.requires_grad


def _hooked_backward(lib, axis, used, how):
    """Hooks of every kind on the pieces of an unstack, a loss that uses only ``used``,
    then backward or grad; returns what the hooks saw, in order, and the gradients."""
    x = _leaf(lib, DATA)
    pieces = _pieces(lib, x * 2, axis)
    seen = []
    for i, p in enumerate(pieces):
        p.register_hook(lambda g, i=i: seen.append(("tensor hook", i, _arrays([g])[0])))
    pieces[used[0]].register_hook(lambda g: g * 3)  # a replacement reaches the node and x
    for i in (0, used[-1]):
        pieces[i].retain_grad()
    node = pieces[0].grad_fn
    node.register_prehook(lambda grads: seen.append(("node prehook", _arrays(grads))))
    node.register_hook(lambda grads_in, grads_out: seen.append(("node hook", _arrays(grads_in[:1]),
                                                                _arrays(grads_out))))
    graph = torch.autograd.graph if lib is torch else ag.graph
    graph.register_multi_grad_hook(pieces, lambda grads: seen.append(("all", _arrays(grads))))
    graph.register_multi_grad_hook(pieces, lambda g: seen.append(("any", _arrays([g]))), mode="any")
    loss = sum((pieces[i] * pieces[i] * (i + 1)).sum() for i in used)
    if how == "backward":
        loss.backward()
        retained = [_arrays([p.grad])[0] if p.retains_grad else "not retained" for p in pieces]
        return seen, _arrays([x.grad]), retained
    grad = torch.autograd.grad if lib is torch else ag.grad
    # (not the piece with the replacing hook: PyTorch's grad hands a non-leaf's gradient out before its hooks)
    wanted = [x] + [pieces[i] for i in range(len(pieces)) if i != used[0]]
    return seen, _arrays(grad(loss, wanted, allow_unused=True))


@pytest.mark.parametrize("how", ["backward", "grad"])
@pytest.mark.parametrize("axis, used", [(1, [1]), (-1, [3, 0]), (0, [1])])
def test_hooks_on_used_and_unused_pieces_run_as_torch(device, axis, used, how):
    """A piece the loss does not use is an output of the node the pass runs: its tensor
    hooks see None and its retained grad stays None, as PyTorch's; the node's pre-hook and
    the multi-grad hooks see None there. (Each piece its own squeeze node ran no hook of
    an unused piece, and 'all' waited for nothing but the used ones.)"""
    _assert_same(_hooked_backward(ag, axis, used, how), _hooked_backward(torch, axis, used, how))


@pytest.mark.parametrize("axis", [0, 2, -2])
def test_gradients_of_some_pieces_and_their_second_order_match_torch(device, axis):
    results = []
    for lib in (ag, torch):
        x = _leaf(lib, DATA)
        pieces = _pieces(lib, x.sin(), axis)
        loss = sum((p ** 3 * (i + 1)).sum() for i, p in enumerate(pieces) if i != 1)
        grad = torch.autograd.grad if lib is torch else ag.grad
        (g,) = grad(loss, [x], create_graph=True)
        (gg,) = grad((g * g).sum(), [x])
        results.append(_arrays([g, gg]))
    _assert_same(*results)


def test_a_single_piece_and_pieces_of_a_vector_are_views(device):
    """An axis of size 1 gives one output; a vector's pieces are 0-d views, whose changes
    reach it (NumPy's x[i] of a vector is a scalar, no view)."""
    for shape, axis in (((1, 3), 0), ((3, 1), 1)):
        x, tx = _leaf(ag, np.ones(shape)), _leaf(torch, np.ones(shape))
        (p,), (tp,) = ag.unstack(x * 2, axis), torch.unbind(tx * 2, axis)
        p.register_hook(lambda g: g * 5)
        tp.register_hook(lambda g: g * 5)
        (p * p).sum().backward()
        (tp * tp).sum().backward()
        _assert_same(_arrays([x.grad]), _arrays([tx.grad]))
    v = ag.tensor([1.0, 2.0, 3.0])
    pieces = ag.unstack(v)
    assert pieces[1].shape == ()
    pieces[1].add_(10.0)
    v.mul_(2.0)
    np.testing.assert_array_equal(v.numpy(), [2.0, 24.0, 6.0])
    assert pieces[1].item() == 24.0


def _changed_in_place(lib, pieces_of, change):
    """Values and gradients after an in-place change through a piece or through its base."""
    x, w = _leaf(lib, DATA), _leaf(lib, np.linspace(-1, 1, 8).reshape(2, 4))
    y = x * 1.5
    pieces = pieces_of(lib, y, 1)
    used = pieces[0] + pieces[2]  # (saves nothing: the change below would be caught)
    if change == "a piece":
        pieces[1].mul_(w)
    elif change == "the base":
        y.add_(x * w[:, None, :])
    else:  # a view of a piece
        pieces[2][:, 1:].mul_(w[:, 1:])
    loss = (y * y).sum() + (used * used).sum() + sum((p ** 3).sum() for p in pieces)
    loss.backward()
    return _arrays([y, x.grad, w.grad] + list(pieces))


@pytest.mark.parametrize("change", ["a piece", "the base", "a view of a piece"])
def test_in_place_changes_reach_the_base_and_the_pieces_as_torch_select(device, change):
    """A piece is a slice of its base: a change of it is a change of the base, and a piece
    used after its base changed is taken again from the base's new values (PyTorch refuses
    both for unbind's outputs, and takes them for select's)."""
    _assert_same(_changed_in_place(ag, lambda lib, y, axis: ag.unstack(y, axis), change),
                 _changed_in_place(torch, _selected, change))


def test_a_piece_saved_for_backward_and_changed_through_its_base_is_caught(device):
    x = _leaf(ag, DATA)
    y = x * 1.0
    p = ag.unstack(y, 2)[3]
    loss = (p * p).sum()  # Mul saves p
    y.mul_(2.0)
    with pytest.raises(RuntimeError, match="was modified in place"):
        loss.backward()
