"""nn.Buffer (PyTorch 2.5's): assigning one as a Module attribute registers a buffer with its
own persistence; checked call by call against torch.nn.Buffer on a module built alike."""
import copy
import pickle

import numpy as np
import pytest

import autograd as ag
import nn


def backend(lib):
    return ag if lib is nn else pytest.importorskip("torch")


def with_buffers(lib):
    """A module of either library with buffer ``a`` persistent and ``b`` not, both assigned as nn.Buffer."""
    t = backend(lib)

    class Holder(lib.Module):
        def __init__(self):
            super().__init__()
            self.a = lib.Buffer(t.ones(2))
            self.b = lib.Buffer(t.ones(3), persistent=False)
    return Holder()


class PicklableOurs(nn.Module):  # module-level, so pickle finds it
    def __init__(self):
        super().__init__()
        self.a = nn.Buffer(ag.ones(2))
        self.b = nn.Buffer(ag.ones(3), persistent=False)


def registered(module):
    return [n for n, _ in module.named_buffers()], list(module.state_dict())


def test_an_assigned_buffer_is_registered_with_its_persistence(torch):
    assert registered(with_buffers(nn)) == registered(with_buffers(torch.nn)) == (["a", "b"], ["a"])
    ours = with_buffers(nn)
    assert isinstance(ours.a, nn.Buffer) and isinstance(ours.a, ag.Tensor)
    assert not isinstance(ag.ones(1), nn.Buffer)
    assert "a" not in ours.__dict__


@pytest.mark.parametrize("name, value, persistent", [("a", "plain", None), ("b", "plain", None),
                                                     ("a", "buffer", False), ("b", "buffer", True)])
def test_reassigning_a_buffer_keeps_or_takes_persistence_as_torch(torch, name, value, persistent):
    # A plain tensor keeps the buffer's persistence; an nn.Buffer brings its own.
    results = []
    for lib in (nn, torch.nn):
        module, t = with_buffers(lib), backend(lib)
        new = t.zeros(len(getattr(module, name)))
        setattr(module, name, new if value == "plain" else lib.Buffer(new, persistent=persistent))
        results.append(registered(module))
        assert float(getattr(module, name).sum()) == 0
    assert results[0] == results[1]


def test_register_buffer_takes_its_own_persistent_argument(torch):
    results = []
    for lib in (nn, torch.nn):
        module = with_buffers(lib)
        module.register_buffer("z", lib.Buffer(backend(lib).ones(1), persistent=False))
        results.append(registered(module))
    assert results[0] == results[1] == (["a", "b", "z"], ["a", "z"])


@pytest.mark.parametrize("taken", ["plain", "parameter", "module"])
def test_a_buffer_over_another_kind_of_attribute_is_refused_as_torch(torch, taken):
    errors = []
    for lib in (nn, torch.nn):
        module, t = with_buffers(lib), backend(lib)
        setattr(module, "c", {"plain": 5, "parameter": lib.Parameter(t.zeros(1)), "module": lib.ReLU()}[taken])
        before = registered(module)
        with pytest.raises((KeyError, TypeError)) as info:
            module.c = lib.Buffer(t.zeros(1))
        errors.append(info.type)
        assert registered(module) == before
    assert errors[0] is errors[1]


def test_a_buffer_shares_memory_and_keeps_requires_grad_outside_the_graph(torch):
    for lib in (nn, torch.nn):
        t = backend(lib)
        x = t.ones(2)
        lib.Buffer(x).add_(1)
        assert float(x.sum()) == 4
        b = lib.Buffer(t.ones(2, requires_grad=True) * 2)
        assert b.requires_grad and b.grad_fn is None
        assert lib.Buffer().shape == (0,) and lib.Buffer().persistent
        assert not isinstance(lib.Buffer(t.ones(1)) * 2, lib.Buffer)


def test_module_to_and_state_dict_treat_an_assigned_buffer_as_torch(torch):
    ours, theirs = with_buffers(nn).double(), with_buffers(torch.nn).double()
    assert [b.dtype.name for b in ours.buffers()] == [str(b.dtype)[6:] for b in theirs.buffers()] == ["float64"] * 2
    assert registered(ours) == registered(theirs)
    assert not any(isinstance(v, nn.Buffer) for v in ours.state_dict().values())
    ours.load_state_dict({"a": ag.full((2,), 5.0)})
    np.testing.assert_array_equal(ours.a.numpy(), [5.0, 5.0])


def test_copies_of_a_buffer_and_of_its_module_keep_its_persistence(torch):
    b = nn.Buffer(ag.ones(2), persistent=False)
    for c in (copy.copy(b), copy.deepcopy(b), pickle.loads(pickle.dumps(b))):
        assert type(c) is nn.Buffer and c.persistent is False
        np.testing.assert_array_equal(c.numpy(), [1.0, 1.0])
    module = PicklableOurs()
    for c in (copy.deepcopy(module), pickle.loads(pickle.dumps(module))):
        assert registered(c) == registered(module) == (["a", "b"], ["a"])
        c.b = ag.zeros(3)  # a plain tensor keeps the copied buffer non-persistent
        assert registered(c) == (["a", "b"], ["a"])


def test_uninitialized_tensors_are_exported_and_an_assigned_placeholder_buffer_registers(torch):
    results = []
    for lib in (nn, torch.nn):
        module = lib.Module()
        module.b = lib.UninitializedBuffer()
        results.append(([n for n, _ in module.named_buffers()], repr(module.b),
                        type(lib.UninitializedParameter()).__name__))
        p = lib.UninitializedParameter()
        p.materialize((2, 3))
        assert type(p) is lib.Parameter and tuple(p.shape) == (2, 3) and p.requires_grad
    assert results[0] == results[1] == (["b"], "<UninitializedBuffer>", "UninitializedParameter")
