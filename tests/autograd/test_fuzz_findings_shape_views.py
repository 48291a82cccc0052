"""What a differential fuzz of the shape and view ops against PyTorch (float64) found: values,
first and second derivatives of reshape, transpose, flatten, squeeze, expand_dims, broadcast_to,
concat, stack, split, unstack, flip, roll, tile, repeat, diagonal, tril/triu and F.pad, then
in-place changes through views of views. Each test failed before its fix."""
import numpy as np
import pytest

import autograd as ag
from tests.autograd.torch_pairs import both, close, f64
from tests.conftest import DEVICES


# --- tile always gives a tensor of its own, as NumPy's tile and PyTorch's repeat ----------------

@pytest.mark.parametrize("shape, reps", [((2, 3), (1, 1)), ((3,), 1), ((1, 3), (2, 1)), ((1, 3), (4, 1, 1))])
def test_tile_that_needs_no_new_memory_is_a_copy_that_changes_in_place_as_torch(device, torch, shape, reps):
    """Where the copies needed no new memory, tile handed back a view of its input: a write to
    the result changed the input (counts of 1), or was refused as a write into a broadcast
    (counts only on axes of size 1). PyTorch's repeat gives a fresh tensor either way."""
    values = np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape)
    w, tw = both(torch, values)
    x, tx = w * 1.0, tw * 1.0
    torch_reps = reps if isinstance(reps, tuple) else (reps,)
    y, ty = x.tile(reps), tx.repeat(*torch_reps)
    y.mul_(f64([2.0, 3.0, 4.0]))
    ty.mul_(torch.tensor([2.0, 3.0, 4.0], dtype=torch.float64))
    close(y, ty)
    close(x, tx)  # the input is left alone
    ((y * y).sum() + (x * x * x).sum()).backward()
    ((ty * ty).sum() + (tx * tx * tx).sum()).backward()
    close(w.grad, tw.grad)


def test_tile_of_counts_one_differentiates_twice(device):
    ag.gradcheck(lambda t: t.tile((1, 1)) * t, (f64([[1.0, -2.0], [0.5, 3.0]], True),))
    ag.gradgradcheck(lambda t: t.tile((2, 1)) ** 2, (f64([[1.0, -2.0, 0.5]], True),))


# --- shape ops that change nothing still make a tensor of their own ------------------------------

def test_flip_with_no_axis_in_a_recorded_graph_is_a_view_of_its_own_as_torch(device, torch):
    """A flip that reversed nothing (a 0-d tensor, or axis=()) handed back its input itself,
    even in a recorded graph, so a retain_grad() on the result got its input's whole gradient
    (3 here, where PyTorch's flip gives 2)."""
    for values, axis in ((2.0, None), ([[1.0, -2.0], [0.5, 3.0]], ())):
        w, tw = both(torch, values)
        x, tx = w * 1.0, tw * 1.0
        y, ty = x.flip(axis), tx.flip(() if axis is None else axis)
        assert y is not x
        y.retain_grad()
        ty.retain_grad()
        (y * 2.0 + x).sum().backward()
        (ty * 2.0 + tx).sum().backward()
        close(y.grad, ty.grad)
        close(w.grad, tw.grad)


@pytest.mark.parametrize("take, take_torch", [
    (lambda x: x.reshape(2, 3), lambda x: x.reshape(2, 3)),
    (lambda x: x.transpose(0, 1), lambda x: x.permute(0, 1)),
    (lambda x: x.broadcast_to(2, 3), lambda x: x.expand(2, 3)),
    (lambda x: x.squeeze(), lambda x: x.squeeze()),
    (lambda x: x.swapaxes(1, 1), lambda x: x.swapaxes(1, 1)),
])
def test_a_shape_op_that_changes_nothing_outside_the_graph_gives_a_view_of_its_own(device, torch, take, take_torch):
    """Outside a recorded graph, reshape, transpose and broadcast_to to the same shape handed
    back the input itself: requires_grad_() on the result made the input require grad too, so
    that a later in-place change of the input was refused. As PyTorch's, the result is a
    view: a leaf of its own, whose memory is the input's."""
    x, tx = both(torch, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=False)
    y, ty = take(x).requires_grad_(), take_torch(tx).requires_grad_()
    assert x.requires_grad is tx.requires_grad is False
    x.add_(1.0)
    tx.add_(1.0)
    close(y, ty)  # the view sees the change of its base
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    close(y.grad, ty.grad)
    assert x.grad is None and tx.grad is None


# --- a view that is a leaf requiring grad is refused in place, as PyTorch -----------------------

@pytest.mark.parametrize("deeper", [False, True])
def test_in_place_change_of_a_view_that_is_a_leaf_requiring_grad_is_refused_as_torch(device, torch, deeper):
    """requires_grad_() on a view of a tensor outside the graph makes a leaf. Changed in place
    (itself, or through a view of it) while recording, it was written through its base without
    a word and stopped being a leaf, so backward left its .grad None; PyTorch refuses."""
    x, tx = both(torch, np.arange(12.0).reshape(3, 4), requires_grad=False)
    v, tv = x.reshape(4, 3).requires_grad_(), tx.reshape(4, 3).requires_grad_()
    target, ttarget = (v[1], tv[1]) if deeper else (v, tv)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        ttarget.mul_(2.0)
    what = "a view of a leaf tensor" if deeper else r"a leaf tensor \(a view\)"
    with pytest.raises(RuntimeError, match=f"mul_: this tensor is {what} that requires grad.*ag.no_grad"):
        target.mul_(2.0)
    close(x, tx)  # nothing changed
    assert v.is_leaf and v.grad_fn is None
    with ag.no_grad():  # an update outside the graph is allowed, and reaches the base
        target.mul_(2.0)
    with torch.no_grad():
        ttarget.mul_(2.0)
    close(x, tx)
    (v * v).sum().backward()
    (tv * tv).sum().backward()
    close(v.grad, tv.grad)


# --- astype to the dtype a tensor already has: a copy, as NumPy's and the Array API's astype -------
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("how", ["method", "function"])
def test_astype_to_the_same_dtype_gives_a_tensor_of_its_own(device, how):
    x = ag.tensor([1.0, 2.0, 3.0], device=device)
    y = x.astype(x.dtype) if how == "method" else ag.astype(x, x.dtype)
    y.add_(1.0)
    y.requires_grad_()
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0, 3.0])  # as np.ndarray.astype leaves its input
    assert not x.requires_grad
    assert (x.astype(x.dtype, copy=False) if how == "method" else ag.astype(x, x.dtype, copy=False)) is x


def test_astype_copy_stays_in_the_graph():
    x = f64([1.0, -2.0], requires_grad=True)
    y = x.astype("float64")
    assert y is not x and y.grad_fn is not None
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, -4.0])
