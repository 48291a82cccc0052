"""The Tensor API surface and graph-state rules, against PyTorch: `.grad` assignment,
hooks and their handles, grad modes as decorators and functions, `backward(inputs=)`,
Python protocols (`==`, `format`, `__index__`, iteration, DLPack)."""
import collections
import copy
import pickle
import warnings

import numpy as np
import pytest

import autograd as ag
import nn
from autograd import grad_mode
from tests.torch_versions import needs_torch


def both(torch, values, **kw):
    """The same leaf in topograd and in PyTorch."""
    return ag.tensor(values, **kw), torch.tensor(values, **kw)


# --- pinned: what agrees with PyTorch --------------------------------------------------
@pytest.mark.parametrize("order", [("hook", "retain"), ("retain", "hook"), ("look", "hook", "retain"),
                                   ("retain", "hook", "look")])
def test_hooks_and_retain_grad_in_any_order_see_what_pytorchs_see(device, torch, order):
    def run(lib, x):
        y = x * 3
        seen = []
        for what in order:
            if what == "hook":
                y.register_hook(lambda g: g * 10)
            elif what == "retain":
                y.retain_grad()
            else:
                y.register_hook(lambda g: seen.append(g.tolist()))
        (y * y).sum().backward()
        return y.grad.tolist(), x.grad.tolist(), seen
    x, tx = both(torch, [1.0, 2.0], requires_grad=True)
    assert run(ag, x) == run(torch, tx)


def test_an_in_place_change_through_detach_fails_the_backward_that_saved_it(device, torch):
    for lib in (ag, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp()  # keeps its output
        z = x * lib.tensor([3.0, 4.0], requires_grad=True)  # keeps x
        y.detach().add_(1.0)
        x.detach()[0] = 5.0
        for out in (y, z):
            with pytest.raises(RuntimeError, match="modified"):
                out.sum().backward()


def test_an_assigned_grad_is_accumulated_into_in_place_as_pytorch(device, torch):
    x, tx = both(torch, [1.0, 2.0], requires_grad=True)
    g, tg = ag.ones(2), torch.ones(2)
    x.grad, tx.grad = g, tg
    (x * 3).sum().backward()
    (tx * 3).sum().backward()
    assert x.grad is g and tx.grad is tg
    assert g.tolist() == tg.tolist() == [4.0, 4.0]


def test_retain_graph_defaults_to_create_graph_in_grad(device, torch):
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp().sum()
    ag.grad(y, x, create_graph=True)
    (g,) = ag.grad(y, x)  # the graph was kept: a second pass works, as in PyTorch
    np.testing.assert_allclose(g.numpy(), np.exp([1.0, 2.0]), rtol=1e-6)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        ag.grad(y, x)


def test_grad_mode_nesting_and_threads(device, torch):
    import threading
    seen = {}
    with ag.no_grad():
        with ag.enable_grad():
            seen["inner"] = ag.is_grad_enabled()
        worker = threading.Thread(target=lambda: seen.setdefault("thread", ag.is_grad_enabled()))
        worker.start()
        worker.join()
        seen["outer"] = ag.is_grad_enabled()
    assert seen == {"inner": True, "thread": True, "outer": False}  # as torch: a new thread records
    assert ag.is_grad_enabled()


# --- bugs: each fails until fixed -----------------------------------------------------
def test_removing_a_hook_twice_removes_only_its_own_registration(device, torch):
    # A handle that removes by equality removes another handle's registration of the same
    # function the second time; PyTorch's handles remove exactly one registration, once.
    def double(g):
        return g * 2
    grads = []
    for lib in (ag, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        first = x.register_hook(double)
        x.register_hook(double)
        first.remove()
        first.remove()
        (x * 1).sum().backward()
        grads.append(x.grad.tolist())
    assert grads[0] == grads[1] == [2.0, 2.0]


def test_a_tensor_cannot_be_its_own_grad(device, torch):
    # Else the next backward accumulates into the parameter's own values.
    tx = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError):
        tx.grad = tx
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="own grad"):
        x.grad = x
    assert x.grad is None and x.tolist() == [1.0, 2.0]


def test_backward_with_inputs_accumulates_only_into_those(device, torch):
    x, tx = both(torch, [1.0, 2.0], requires_grad=True)
    w, tw = both(torch, [3.0, 4.0], requires_grad=True)
    (tx * tw).sum().backward(inputs=[tx])
    (x * w).sum().backward(inputs=[x])
    assert x.grad.tolist() == tx.grad.tolist() == [3.0, 4.0]
    assert w.grad is None and tw.grad is None
    (tx * tw).sum().backward(inputs=tx)  # a second pass accumulates
    (x * w).sum().backward(inputs=x)
    assert x.grad.tolist() == tx.grad.tolist() == [6.0, 8.0]


@pytest.mark.filterwarnings("ignore:Using backward.. with create_graph=True")  # PyTorch's, on its side
@pytest.mark.filterwarnings("ignore:backward\\(create_graph=True\\) records:UserWarning")  # and ours: the cycle is made on purpose
def test_backward_with_inputs_fills_a_non_leaf_and_records_under_create_graph(device, torch):
    def run(x, w):
        h = x * w
        (h * h).sum().backward(inputs=[h, w, w], create_graph=True)  # w twice: counted once
        assert x.grad is None and h.grad.requires_grad
        first = h.grad.tolist(), w.grad.tolist()
        h.grad.sum().backward(inputs=[w])  # adds d/dw sum(2 x w) = 2 x into w's recorded .grad
        return first, w.grad.tolist()
    ours = run(*(ag.tensor(v, requires_grad=True) for v in ([1.0, 2.0], [3.0, 4.0])))
    theirs = run(*(torch.tensor(v, requires_grad=True) for v in ([1.0, 2.0], [3.0, 4.0])))
    assert ours == theirs
    with pytest.raises(ValueError, match="inputs= is empty"):
        (ag.tensor([1.0], requires_grad=True) * 2).sum().backward(inputs=[])


def test_no_grad_on_a_generator_holds_while_the_body_runs(device, torch):
    # The decorator must wrap each resumption, not only the call that makes the generator.
    def make(lib):
        @lib.no_grad()
        def scaled(x):
            yield x * 2
            yield x * 3
        return scaled
    x, tx = both(torch, [1.0], requires_grad=True)
    assert [y.requires_grad for y in make(torch)(tx)] == [False, False]
    assert [y.requires_grad for y in make(ag)(x)] == [False, False]
    assert ag.is_grad_enabled()


def test_a_generator_under_no_grad_gets_sent_and_thrown_values_and_closes_in_its_mode(device):
    seen = []

    @ag.no_grad()
    def echo():
        try:
            while True:
                try:
                    received = yield
                    seen.append(("sent", received, ag.is_grad_enabled()))
                except ValueError:
                    seen.append(("thrown", ag.is_grad_enabled()))
        finally:
            seen.append(("closed", ag.is_grad_enabled()))
    gen = echo()
    next(gen)
    assert ag.is_grad_enabled()  # the caller's mode between two values
    gen.send(5)
    gen.throw(ValueError("into the body"))
    gen.close()
    assert seen == [("sent", 5, False), ("thrown", False), ("closed", False)] and ag.is_grad_enabled()


def test_no_grad_as_a_bare_decorator(device, torch):
    @torch.no_grad
    def torch_double(x):
        return x * 2

    @ag.no_grad
    def double(x):
        return x * 2
    x, tx = both(torch, [1.0], requires_grad=True)
    assert not double(x).requires_grad and not torch_double(tx).requires_grad
    assert ag.is_grad_enabled()


def test_set_grad_enabled_called_as_a_function_sets_the_mode(device, torch):
    # PyTorch scripts turn recording off for a whole evaluation with this one call.
    torch.set_grad_enabled(False)
    torch_mode = torch.is_grad_enabled()
    torch.set_grad_enabled(True)
    try:
        ag.set_grad_enabled(False)
        mode = ag.is_grad_enabled()
    finally:
        grad_mode.state.enabled = True
    assert torch_mode is False and mode is False

    @ag.set_grad_enabled(False)  # as a decorator it changes nothing until called
    def double(x):
        return x * 2
    assert ag.is_grad_enabled()
    assert not double(ag.tensor([1.0], requires_grad=True)).requires_grad and ag.is_grad_enabled()


@pytest.mark.parametrize("mode", [None, "False", "no", ""])
def test_set_grad_enabled_refuses_none_and_strings_as_torch(device, torch, mode):
    """`ag.set_grad_enabled(args.train)` with a mode read as text ("False" is a true string) or
    left None switched recording on or off by the value's truth, silently, where PyTorch
    refuses anything but a bool; now None and strings are refused, leaving the mode as it was."""
    with pytest.raises(TypeError):
        torch.set_grad_enabled(mode)
    assert torch.is_grad_enabled()
    for outside in (True, False):
        grad_mode.state.enabled = outside
        try:
            with pytest.raises(TypeError, match=rf"set_grad_enabled: mode must be True or False, not "
                                                rf"{type(mode).__name__}; pass a bool"):
                ag.set_grad_enabled(mode)
            assert ag.is_grad_enabled() is outside
        finally:
            grad_mode.state.enabled = True


def test_comparing_with_none_is_false_and_arithmetic_with_it_a_type_error(device, torch):
    # Today a raw KeyError from the dtype table: `x == None`, `x in [None]`, `x + None`.
    t, tt = both(torch, [1.0, 2.0])
    assert (tt == None) is False and (t == None) is False  # noqa: E711
    assert (t != None) is True and t not in [None, "label"]  # noqa: E711
    for bad in (None, "x"):
        with pytest.raises(TypeError):
            tt + bad
        with pytest.raises(TypeError, match="NoneType|str"):
            t + bad
        with pytest.raises(TypeError, match="dtype"):
            ag.tensor(bad)  # not a tensor of dtype object or <U1


def test_dlpack_export_of_a_tensor_that_requires_grad_is_refused(device, torch):
    # numpy() hands out a read-only array for this reason; a DLPack consumer got a writable
    # alias, so a write through it changed a saved input behind the version counter.
    with pytest.raises(BufferError, match="detach"):
        torch.ones(2, requires_grad=True).__dlpack__()
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(BufferError, match="detach"):
        x.__dlpack__()
    assert ag.from_dlpack(x.detach()).tolist() == [1.0, 2.0]  # (NumPy takes no CUDA memory)


def test_format_spec_of_a_0d_tensor_formats_its_value(device, torch):
    # f"{loss:.4f}" in a training loop.
    assert f"{torch.tensor(2.5):.2f}" == f"{ag.tensor(2.5):.2f}" == "2.50"
    assert f"{ag.tensor([2.5])}" == repr(ag.tensor([2.5]))
    with pytest.raises(TypeError):
        f"{ag.tensor([2.5, 1.0]):.2f}"


def test_index_and_iteration_errors_name_what_was_asked(device, torch):
    with pytest.raises(TypeError):  # operator.index's contract, as torch and NumPy
        [1, 2, 3][torch.tensor([1, 2])]
    with pytest.raises(TypeError, match="index"):
        [1, 2, 3][ag.tensor([1, 2])]
    with pytest.raises(TypeError, match="iterat"):  # not "len() of a 0-d tensor"
        list(ag.tensor(1.0))


def test_reading_the_grad_of_a_non_leaf_warns_as_pytorch(device, torch):
    x, tx = both(torch, [1.0], requires_grad=True)
    with pytest.warns(UserWarning, match="retain_grad"):
        assert (tx * 2).grad is None
    with pytest.warns(UserWarning, match="retain_grad"):
        assert (x * 2).grad is None
    y = x * 2
    y.retain_grad()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert y.grad is None and x.grad is None  # retained, or a leaf: no warning


def test_a_leaf_frozen_between_forward_and_backward_gets_no_grad(device, torch):
    x, tx = both(torch, [1.0, 2.0], requires_grad=True)
    y, ty = (x * x).sum(), (tx * tx).sum()
    x.requires_grad_(False)
    tx.requires_grad_(False)
    y.backward()
    ty.backward()
    assert tx.grad is None and x.grad is None


def test_to_accepts_pytorchs_non_blocking(device, torch):
    # `batch.to(device, non_blocking=True)` is in most PyTorch training loops.
    x = ag.tensor([1.0, 2.0])
    assert torch.ones(1).to("cpu", non_blocking=True).tolist() == [1.0]
    assert x.to(device, non_blocking=True) is x
    model = nn.Linear(2, 1)
    assert model.to(device, non_blocking=True) is model and model.weight.device == x.device


def test_retains_grad_and_detach_in_place_as_torch(device, torch):
    for lib in (ag, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        h, kept = x * 2, x * 3
        kept.retain_grad()
        assert (x.retains_grad, h.retains_grad, kept.retains_grad) == (False, False, True)
        h.detach_()
        assert h.is_leaf and not h.requires_grad and h.grad_fn is None
        (kept * h).sum().backward()
        assert x.grad.tolist() == [6.0, 12.0]  # nothing flowed through h
        with pytest.raises(RuntimeError, match="(?i)view"):
            (x * 1)[0:1].detach_()


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


@needs_torch("2.13", "torch.autograd.grad takes a dict of inputs from 2.13 on")
def test_grad_with_a_dict_of_inputs_gives_a_dict_of_gradients_as_torch(device, torch):
    # PyTorch 2.13's grad takes named inputs (a model's named_parameters, say) and names
    # their gradients; topograd's took the dict's keys for the inputs.
    def run(lib, grad):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        w = lib.tensor([3.0, 4.0], requires_grad=True)
        unused = lib.tensor([5.0], requires_grad=True)
        got = grad((x * w * w).sum(), {"w": w, "x": x, "unused": unused}, allow_unused=True)
        zeros = grad((x * w).sum(), {"unused": unused}, materialize_grads=True)
        return {k: None if g is None else g.tolist() for k, g in {**got, "zeros": zeros["unused"]}.items()}
    ours, theirs = run(ag, ag.grad), run(torch, torch.autograd.grad)
    assert ours == theirs == {"w": [6.0, 16.0], "x": [9.0, 16.0], "unused": None, "zeros": [0.0]}
    assert list(ours) == list(theirs)
    x = ag.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="dict"):  # another Mapping: refused, as by PyTorch
        ag.grad((x * 2).sum(), collections.OrderedDict(x=x))
    with pytest.raises(TypeError):
        torch.autograd.grad((torch.ones(1, requires_grad=True) * 2).sum(),
                            collections.OrderedDict(x=torch.ones(1, requires_grad=True)))
