"""What a differential fuzz of the autograd API against PyTorch turned up: ag.grad,
Tensor.backward(gradient=, inputs=), hooks, retain_grad, the grad modes, detach,
.grad assignment and accumulation, higher derivatives and gradcheck. Each docstring
says what topograd did before the fix and what PyTorch does."""
import numpy as np
import pytest

import autograd as ag
import backends

from tests.torch_versions import torch_older_than

# PyTorch warns that backward(create_graph=True) makes a cycle through .grad; the tests
# do that on purpose, to compare.
pytestmark = pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True:UserWarning")

X = [0.5, -1.0, 2.0]


def values(t):
    return np.asarray(t.detach().numpy() if hasattr(t, "detach") else t)


def assert_close(got, want):
    np.testing.assert_allclose(values(got), values(want), rtol=1e-12, atol=1e-12)


def leaf(lib, data=X):
    return lib.tensor(data, dtype=lib.float64, requires_grad=True)


# --- a leaf that is itself the output: its gradient is made in create_graph's mode ---------------


def _hooked_leaf_backward(lib, how):
    """x.backward(g) (or ag.grad(x, x, g)) with a hook on x that computes with x itself."""
    x = leaf(lib)
    x.register_hook(lambda g: g * x)
    g = lib.ones(3, dtype=lib.float64)
    if how == "backward":
        x.backward(g)
        return x.grad
    (gx,) = (ag.grad if lib is ag else lib.autograd.grad)(x, x, g)
    return gx


@pytest.mark.parametrize("how", ["backward", "grad"])
def test_a_hook_on_a_leaf_output_runs_without_recording_in_a_plain_pass(device, torch, how):
    """Before: the leaves among the outputs were finished before the engine switched to
    create_graph's mode, so the hook's g * x was recorded and x.grad (or ag.grad's answer)
    came back with a grad_fn and requires_grad=True. PyTorch runs the hook without
    recording: a plain tensor, as every other gradient of a plain pass."""
    mine, theirs = _hooked_leaf_backward(ag, how), _hooked_leaf_backward(torch, how)
    assert_close(mine, theirs)
    assert (mine.requires_grad, mine.grad_fn) == (theirs.requires_grad, None) == (False, None)


def test_a_leaf_output_s_gradient_is_differentiable_under_create_graph_inside_no_grad(device, torch):
    """x.backward(g, create_graph=True) inside no_grad, with g requiring grad: before, x.grad
    was made in the caller's no_grad mode, so it did not require grad and d(x.grad)/dg
    raised; PyTorch records it (create_graph sets the mode), and the derivative is 1."""
    def run(lib):
        x, g = leaf(lib), leaf(lib, [1.0, 2.0, 3.0])
        seen = []
        x.register_hook(lambda grad: seen.append(lib.is_grad_enabled()))
        with lib.no_grad():
            x.backward(g, create_graph=True)
        (dg,) = (ag.grad if lib is ag else lib.autograd.grad)((x.grad * x.grad).sum(), g)
        return x.grad, dg, seen
    (mine, dmine, seen_mine), (theirs, dtheirs, seen_theirs) = run(ag), run(torch)
    assert mine.requires_grad and theirs.requires_grad
    assert_close(mine, theirs)
    assert_close(dmine, dtheirs)  # 2 g
    assert seen_mine == seen_theirs == [True]


def test_several_gradients_for_a_leaf_output_are_summed_in_create_graph_s_mode(device, torch):
    """ag.backward([x, x], [g1, g2], create_graph=True) inside no_grad: the two seeds for the
    leaf x are summed before any node runs, and that sum was made in the caller's mode, so
    x.grad lost its graph to g1 and g2. PyTorch's d(x.grad)/dg1 is 1 per element."""
    def run(lib):
        x, g1, g2 = leaf(lib), leaf(lib, [1.0, 2.0, 3.0]), leaf(lib, [4.0, 5.0, 6.0])
        with lib.no_grad():
            (ag.backward if lib is ag else lib.autograd.backward)([x, x], [g1, g2], create_graph=True)
        return x.grad, (ag.grad if lib is ag else lib.autograd.grad)(x.grad.sum(), [g1, g2])
    (mine, dmine), (theirs, dtheirs) = run(ag), run(torch)
    assert_close(mine, theirs)
    for got, want in zip(dmine, dtheirs):
        assert_close(got, want)


# --- accumulation into a .grad the user assigned ---------------------------------------------------


def test_accumulating_into_an_assigned_broadcast_view_gives_the_sum(device, torch):
    """x.grad = a row of broadcast_to(zeros(1, 3), (2, 3)), then backward: NumPy's broadcast
    views are read-only, so the in-place add failed with NumPy's "output array is read-only".
    PyTorch's row of an expanded tensor holds each element once and takes the sum; topograd
    now sums out of place (it cannot write that memory) and gives the same .grad."""
    x = leaf(ag)
    x.grad = ag.broadcast_to(ag.zeros((1, 3), dtype=ag.float64), (2, 3))[0]
    (x * x).sum().backward()
    tx = leaf(torch)
    tx.grad = torch.zeros((1, 3), dtype=torch.float64).expand(2, 3)[0]
    (tx * tx).sum().backward()
    assert_close(x.grad, tx.grad)


def test_accumulating_into_a_grad_that_repeats_elements_changes_no_leaf_half_way(device):
    """x.grad a plain tensor, w.grad = broadcast_to(zeros(1), (3,)): backward added into
    x.grad, then failed on w's (NumPy's read-only error), leaving one leaf's gradient
    counted and the other's not. (PyTorch refuses such a .grad at backward: "more than one
    element of the written-to tensor refers to a single memory location".) Now each leaf
    gets its sum; the broadcast .grad is replaced, not written."""
    x, w = leaf(ag), leaf(ag, [3.0, 4.0, 5.0])
    shared = ag.zeros(1, dtype=ag.float64)
    x.grad = ag.zeros(3, dtype=ag.float64)
    w.grad = ag.broadcast_to(shared, (3,))
    (x * w).sum().backward()
    assert_close(x.grad, [3.0, 4.0, 5.0])
    assert_close(w.grad, X)
    assert_close(shared, [0.0])


def test_accumulating_into_a_grad_on_read_only_memory_gives_the_sum():
    """A .grad made by ag.Tensor from a read-only NumPy array (one from np.frombuffer, say,
    or another tensor's .numpy()) shares that memory: the in-place add raised NumPy's
    "output array is read-only". The sum is now made out of place, as PyTorch's value."""
    torch = pytest.importorskip("torch")
    start = np.array([1.0, 2.0, 3.0])
    start.flags.writeable = False
    with backends.default_device("cpu"):  # (read-only host memory is the CPU's matter)
        x = leaf(ag)
    x.grad = ag.Tensor(start, device="cpu")
    (x * x).sum().backward()
    tx = leaf(torch)
    tx.grad = torch.tensor(start)
    (tx * tx).sum().backward()
    assert_close(x.grad, tx.grad)
    np.testing.assert_array_equal(start, [1.0, 2.0, 3.0])


# --- ag.grad's inputs ----------------------------------------------------------------------------------


def test_grad_with_no_inputs_is_refused_as_by_pytorch(device, torch):
    """ag.grad(y, []) returned () without a word (backward(inputs=[]) already refused):
    a list of parameters filtered down to nothing went unnoticed. PyTorch raises
    "`inputs` argument to `grad()` cannot be empty."."""
    x = leaf(ag)
    with pytest.raises(ValueError, match=r"grad: inputs is empty"):
        ag.grad((x * x).sum(), [])
    tx = leaf(torch)
    # (PyTorch before 2.13 refused it in C++, with another error and message)
    error, message = (ValueError, "requires non-empty inputs") if torch_older_than("2.13") else \
        (RuntimeError, "cannot be empty")
    with pytest.raises(error, match=message):
        torch.autograd.grad((tx * tx).sum(), [])


def test_a_single_gradient_may_be_a_number_or_an_array():
    """One output's gradient given as a Python number or a NumPy array is taken as a tensor
    of the output's dtype (PyTorch's `tuple(2.0)` fails with "'float' object is not iterable");
    several outputs still need one gradient each."""
    x = ag.tensor(3.0, requires_grad=True)
    (x * x).backward(2.0)
    assert x.grad.item() == 12.0 and x.grad.dtype == ag.float32
    v = ag.tensor([1.0, 2.0], requires_grad=True)
    (g,) = ag.grad(v * v, v, grad_outputs=np.array([1.0, -1.0]))
    np.testing.assert_array_equal(g.numpy(), [2.0, -4.0])
    with pytest.raises(ValueError, match="got 2 outputs but 1 gradients"):
        ag.grad([v * 2, v * 3], v, grad_outputs=ag.ones(2))


def test_gradients_for_several_outputs_may_come_from_any_iterable():
    v = ag.tensor([1.0, 2.0], requires_grad=True)
    seeds = (ag.tensor([1.0, 1.0]), ag.tensor([0.5, 0.5]))
    (g,) = ag.grad([v * 2, v * 3], v, grad_outputs=(s for s in seeds))
    np.testing.assert_array_equal(g.numpy(), [3.5, 3.5])
