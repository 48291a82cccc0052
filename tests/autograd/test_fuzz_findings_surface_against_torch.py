"""What a differential hunt of the Tensor API surface (creation, conversions, Python protocols,
debugging tools) against PyTorch and NumPy turned up: each test pins one mismatch that was fixed."""
import copy
import pickle

import numpy as np
import pytest

import autograd as ag
import nn


# --- byte-swapped NumPy arrays (a big-endian file's) ------------------------------------------
def test_a_big_endian_array_makes_a_tensor_of_the_native_dtype(device):
    """Its dtype was '>f4', which is float32 but not equal to ag.float32: requires_grad refused
    it as not floating point and repr showed two dtypes. (PyTorch refuses such arrays; NumPy
    casts them: the values are the array's, in this machine's byte order.)"""
    big = np.array([0.5, -1.5, 2.0], dtype=">f4")
    x = ag.tensor(big, requires_grad=True)
    assert x.dtype == ag.float32 and "dtype=float32" in repr(x)
    np.testing.assert_array_equal(x.numpy(), big.astype(np.float32))
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2 * big.astype(np.float32))
    assert ag.tensor(np.arange(3, dtype=">i8")).dtype == ag.int64
    # a byte-swapped dtype asked for by name or object is the native one, as np.dtype(...).name says
    assert ag.zeros(2, dtype=">f8").dtype == ag.float64
    assert ag.ones(2).to(np.dtype(">f8")).dtype == ag.float64


def test_a_python_int_past_int64_is_an_overflow_as_torch(torch):
    """A bare 2**63 became a uint64 tensor (NumPy's choice); in a list it already overflowed,
    and PyTorch refuses both. The largest int64 still fits."""
    for value in (2 ** 63, [2 ** 63]):
        with pytest.raises((OverflowError, ValueError)):
            torch.tensor(value)
        with pytest.raises(OverflowError):
            ag.tensor(value)
    for value in (2 ** 63 - 1, -2 ** 63):
        t, tt = ag.tensor(value), torch.tensor(value)
        assert (t.dtype.name, t.item()) == (str(tt.dtype).removeprefix("torch."), tt.item())


# --- `in` --------------------------------------------------------------------------------------
@pytest.mark.parametrize("element", [4, 5, 2.0, np.int32(3), [1, 4], [5, 6], [[3, 4]]])
def test_in_looks_for_an_equal_element_as_torch(device, torch, element):
    """Python's fallback iterated the rows and asked each row's truth: `4 in x` raised on a 2-D
    tensor, and on a 0-d one it could not iterate. PyTorch's is (x == element).any()."""
    values = [[1, 2], [3, 4]]
    ours = ag.tensor(element) if isinstance(element, list) else element
    theirs = torch.tensor(element) if isinstance(element, list) else element
    assert (ours in ag.tensor(values)) is (theirs in torch.tensor(values))


def test_in_on_a_0d_tensor_and_with_what_is_not_a_number(device, torch):
    assert (1 in ag.tensor(1)) is (1 in torch.tensor(1)) is True
    assert (float("nan") in ag.tensor([float("nan")])) is (float("nan") in torch.tensor([float("nan")]))
    with pytest.raises(RuntimeError, match="only supports Tensor or scalar"):
        "a" in torch.tensor([1])
    with pytest.raises(TypeError, match="takes a number or a Tensor, not str"):
        "a" in ag.tensor([1])


# --- copy.copy, copy.deepcopy, pickle ------------------------------------------------------------
def test_copy_shares_the_values_but_not_the_grad_or_the_graph_as_torch(device, torch):
    """copy.copy took every slot: the copy held the same .grad object, which backward then
    accumulated into for both. PyTorch's copy is a leaf sharing the memory, with no grad."""
    x, tx = ag.tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    for lib, leaf in ((ag, x), (torch, tx)):
        (leaf * 2).sum().backward()
        c = copy.copy(leaf)
        assert c is not leaf and c.grad is None and c.requires_grad and c.is_leaf
        with lib.no_grad():
            c.mul_(5)  # the memory is shared
        assert leaf.tolist() == [5.0, 10.0]
        c2 = copy.copy(leaf * 3)  # a non-leaf gives a leaf that requires grad
        assert c2.is_leaf and c2.requires_grad and c2.tolist() == [15.0, 30.0]


def test_deepcopy_copies_values_and_grad_but_not_hooks_and_refuses_a_non_leaf_as_torch(device, torch):
    """A deep copy of a non-leaf copied its whole graph, leaves included: backward through it
    silently left the real leaves' .grad alone. PyTorch refuses it. A leaf's copy took its
    hooks along, which PyTorch's does not."""
    x, tx = ag.tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    for lib, leaf in ((ag, x), (torch, tx)):
        leaf.grad = lib.tensor([0.5, 0.5])
        fired = []
        leaf.register_hook(lambda g: fired.append(1))
        d = copy.deepcopy(leaf)
        assert d.grad is not leaf.grad and d.grad.tolist() == [0.5, 0.5] and d.requires_grad and d.is_leaf
        with lib.no_grad():
            d.mul_(3)
        assert leaf.tolist() == [1.0, 2.0]
        (d * 1).sum().backward()
        assert fired == [] and leaf.grad.tolist() == [0.5, 0.5]
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(tx * 2)
    with pytest.raises(RuntimeError, match="only leaf tensors can be deep-copied.*detach"):
        copy.deepcopy(x * 2)


def test_pickle_round_trips_a_tensor_as_torch(device, torch):
    """Pickling failed on the backend's module ("cannot pickle 'module' object"). As in PyTorch:
    values, dtype and requires_grad come back, a non-leaf as a leaf, a Parameter as a Parameter."""
    x, tx = ag.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True), torch.tensor([[1.0, 2.0], [3.0, 4.0]],
                                                                                   requires_grad=True)
    for t, tt in ((x, tx), (x * 2, tx * 2), (x.detach().T, tx.detach().T), (ag.tensor([True]), torch.tensor([True]))):
        back, tback = pickle.loads(pickle.dumps(t)), pickle.loads(pickle.dumps(tt))
        assert back.tolist() == tback.tolist() and back.dtype.name == str(tback.dtype).removeprefix("torch.")
        assert (back.requires_grad, back.is_leaf, back.grad) == (tback.requires_grad, tback.is_leaf, None)
        assert back.device == t.device
    p = pickle.loads(pickle.dumps(nn.Parameter(ag.ones(2))))
    assert type(p) is nn.Parameter and p.requires_grad


def test_deepcopy_of_a_lazy_module_still_copies_its_placeholders():
    twin = copy.deepcopy(nn.LazyLinear(3))
    assert type(twin.weight).__name__ == "UninitializedParameter"
    assert twin(ag.ones((2, 4))).shape == (2, 3)


# --- the *_like creation functions that were missing ------------------------------------------------
@pytest.mark.parametrize("name", ["empty_like", "rand_like", "randn_like"])
def test_empty_rand_and_randn_like_take_shape_dtype_and_overrides_as_torch(device, torch, name):
    x, tx = ag.ones((2, 3), dtype=ag.float64), torch.ones((2, 3), dtype=torch.float64)
    for kwargs, tkwargs in (({}, {}), ({"dtype": ag.float32}, {"dtype": torch.float32})):
        ours, theirs = getattr(ag, name)(x, **kwargs), getattr(torch, name)(tx, **tkwargs)
        assert (ours.shape, ours.dtype.name, ours.device) == (tuple(theirs.shape),
                                                              str(theirs.dtype).removeprefix("torch."), x.device)
    assert getattr(ag, name)(x, requires_grad=True).requires_grad
    if name != "empty_like":  # random floats only, as PyTorch
        with pytest.raises(NotImplementedError):
            getattr(torch, name)(torch.tensor([1, 2]))
        with pytest.raises(TypeError, match="floating point"):
            getattr(ag, name)(ag.tensor([1, 2]))
    if name == "rand_like":
        draws = ag.rand_like(ag.zeros(1000)).numpy()
        assert 0 <= draws.min() and draws.max() < 1


def test_randint_like_takes_torchs_forms(device, torch):
    x, tx = ag.zeros((50, 40), dtype=ag.int32), torch.zeros((50, 40), dtype=torch.int32)
    for args in ((5,), (-3, 2)):
        ours, theirs = ag.randint_like(x, *args), torch.randint_like(tx, *args)
        assert (ours.shape, ours.dtype.name) == (tuple(theirs.shape), "int32")
        low, high = (0, *args) if len(args) == 1 else args
        assert set(ours.numpy().ravel().tolist()) == set(range(low, high)) == set(theirs.unique().tolist())
    assert ag.randint_like(ag.zeros(3), 10).dtype == ag.float32 == np.dtype(str(torch.randint_like(
        torch.zeros(3), 10).dtype).removeprefix("torch."))


# --- conversions -------------------------------------------------------------------------------
def test_to_with_copy_true_always_gives_a_new_tensor_as_torch(device, torch):
    """`copy=` (PyTorch's) was refused as an unknown keyword; with it, a .to that changes nothing
    still copies, and the gradient flows through the copy."""
    x, tx = ag.tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    for lib, leaf in ((ag, x), (torch, tx)):
        c = leaf.to(lib.float32, copy=True)
        assert c is not leaf and leaf.to(lib.float32) is leaf
        with lib.no_grad():
            c.detach().mul_(7)  # its own memory
        assert leaf.tolist() == [1.0, 2.0]
        (c * 3).sum().backward()
    assert x.grad.tolist() == tx.grad.tolist() == [3.0, 3.0]


def test_numpy_force_gives_a_writable_array_of_a_tensor_that_requires_grad_as_torch(torch):
    x, tx = ag.tensor([1.0, 2.0], requires_grad=True, device="cpu"), torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        tx.numpy()
    assert not x.numpy().flags.writeable  # topograd's documented read-only view
    for leaf in (x, tx):
        array = leaf.numpy(force=True)
        assert array.flags.writeable and array.tolist() == [1.0, 2.0]
    x.numpy(force=True)[0] = 9.0
    assert x.tolist()[0] == 9.0  # shares the memory, as PyTorch's on the CPU


# --- gradcheck ------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn, k, kind", [(lambda a: a.sum().item(), 0, "float"), (lambda a: None, 0, "NoneType"),
                                         (lambda a: (a * 2, a.detach().numpy()), 1, "ndarray")])
def test_gradcheck_names_an_output_that_is_not_a_tensor(torch, fn, k, kind):
    """It failed with "'float' object has no attribute 'size'" (PyTorch's: "... no attribute
    'requires_grad'"); now a TypeError names the output and its type."""
    a = ag.tensor([1.0, 2.0], dtype=ag.float64, requires_grad=True)
    with pytest.raises(AttributeError):
        torch.autograd.gradcheck(fn, (torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True),))
    with pytest.raises(TypeError, match=f"gradcheck: fn must return a Tensor .* its output {k} is {kind}"):
        ag.gradcheck(fn, (a,))
