"""What a differential fuzz of random programs of views and in-place changes against PyTorch
(float64) found: leaves with and without grad, views of views (indexing, reshape, transpose,
mT, expand_dims, squeeze, split and unstack pieces, diagonal, detach, broadcast_to), in-place
methods, activations with inplace=True, item and mask assignment and augmented operators on
views and bases, ops that save inputs or outputs, retain_grad, hooks, ag.grad, create_graph
and repeated backward calls. Each test failed before its fix."""
import numpy as np
import pytest

import autograd as ag
from tests.autograd.torch_pairs import close


# --- an empty view is a view: reshape and diagonal took "shares no memory" for "a copy" -------

EMPTY_VIEWS = {  # name: (the shape of the base, topograd's view, PyTorch's)
    "diagonal_past_the_matrix": ((1, 1), lambda t: t.diagonal(1), lambda t: t.diagonal(1)),
    "reshape_of_an_empty_tensor": ((0, 3), lambda t: t.reshape(3, 0), lambda t: t.reshape(3, 0)),
    "diagonal_of_an_empty_slice": ((2, 4), lambda t: t[:, 3:3].T.diagonal(), lambda t: t[:, 3:3].T.diagonal()),
}


@pytest.mark.parametrize("name", list(EMPTY_VIEWS))
def test_an_empty_view_of_a_leaf_that_requires_grad_is_refused_in_place_as_torch(device, torch, name):
    """An empty result shares no memory with its input, so the backend's "may share memory"
    said no and reshape and diagonal handed back a tensor of their own: a change in place
    went through without a word, where PyTorch refuses a view of a leaf that requires grad."""
    shape, view, view_torch = EMPTY_VIEWS[name]
    x = ag.tensor(np.ones(shape), dtype="float64", requires_grad=True)
    tx = torch.ones(shape, dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        view_torch(tx).fill_(0.5)
    with pytest.raises(RuntimeError, match="fill_: this tensor is a view of a leaf tensor that requires grad"):
        view(x).fill_(0.5)


@pytest.mark.parametrize("name", list(EMPTY_VIEWS))
def test_an_empty_view_joins_the_graph_with_its_base_as_torch(device, torch, name):
    """A plain tensor takes values that require grad in place: its views, empty ones too,
    then require grad and are no leaves (PyTorch's regenerated views); the empty view
    stayed a leaf outside the graph."""
    shape, view, view_torch = EMPTY_VIEWS[name]
    x, tx = ag.zeros(shape, dtype=ag.float64), torch.zeros(shape, dtype=torch.float64)
    v, tv = view(x), view_torch(tx)
    w = ag.tensor(0.5, dtype="float64", requires_grad=True)
    tw = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    if x.size:
        x[0, 0] = w
        tx[0, 0] = tw
    else:
        x.add_(w)
        tx.add_(tw)
    assert (v.requires_grad, v.is_leaf) == (tv.requires_grad, tv.is_leaf) == (True, False)
    assert v.shape == tuple(tv.shape)


def test_tile_of_an_empty_tensor_is_a_tensor_of_its_own_as_torch_repeat(device, torch):
    """With empty views counted as views, tile's "no new memory: copy" rule must still give
    a tensor of its own for an empty input, as PyTorch's repeat does."""
    x = ag.tensor(np.zeros((0, 3)), dtype="float64", requires_grad=True)
    tx = torch.zeros(0, 3, dtype=torch.float64, requires_grad=True)
    y, ty = x.tile((2, 1)), tx.repeat(2, 1)
    y.add_(1.0)
    ty.add_(1.0)
    close(y, ty)
    assert (y.is_leaf, y.requires_grad) == (ty.is_leaf, ty.requires_grad) == (False, True)
    (y * 2.0).sum().backward()
    (ty * 2.0).sum().backward()
    close(x.grad, tx.grad)
