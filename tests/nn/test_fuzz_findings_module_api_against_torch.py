"""What a differential fuzz of nn.Module's API, the containers, the data utilities and
nn.utils against PyTorch 2.13 turned up (random nested models with shared submodules and
parameters, None entries, persistent and non-persistent buffers, compared by traversal,
state_dict keys, loading strict and not, apply order, modes and dtypes; container editing;
registration errors; datasets and loaders; gradient clipping and packed sequences).
Each test failed before its fix."""
from collections import OrderedDict

import numpy as np
import pytest

import autograd as ag
import nn
from nn.data import ConcatDataset, DataLoader, TensorDataset


def _names(pairs):
    return [name for name, _ in pairs]


# --- Module: construction, lookup and traversal ---------------------------------------------

def test_a_plain_attribute_set_before_module_init_is_kept_as_in_torch(torch):
    # A mixin whose __init__ runs before Module.__init__ set a flag: PyTorch keeps it, topograd
    # raised AttributeError.
    def make(lib):
        class Block(lib.Module):
            def __init__(self):
                self.scale = 2.0
                super().__init__()
                self.fc = lib.Linear(2, 2)
        return Block()

    theirs, ours = make(torch.nn), make(nn)
    assert ours.scale == theirs.scale == 2.0
    assert _names(ours.named_parameters()) == _names(theirs.named_parameters()) == ["fc.weight", "fc.bias"]


@pytest.mark.parametrize("register", [lambda m: setattr(m, "w", nn.Parameter(ag.ones(1))),
                                      lambda m: setattr(m, "fc", nn.Linear(1, 1)),
                                      lambda m: m.register_buffer("b", ag.ones(1)),
                                      lambda m: m.register_parameter("w", None),
                                      lambda m: m.add_module("fc", None)],
                         ids=["parameter", "module", "register_buffer", "register_parameter", "add_module"])
def test_registering_before_module_init_names_the_fix(register):
    # register_buffer said "'Block' object has no attribute '_buffers'"
    class Block(nn.Module):
        def __init__(self):
            register(self)

    with pytest.raises(AttributeError, match=r"before Module.__init__\(\) has run; call super\(\).__init__\(\) first"):
        Block()


def test_get_buffer_matches_torch(torch):
    ours, theirs = nn.Sequential(nn.BatchNorm1d(3)), torch.nn.Sequential(torch.nn.BatchNorm1d(3))
    for target in ("0.running_mean", "0.num_batches_tracked"):
        assert ours.get_buffer(target) is ours[0]._buffers[target.split(".")[1]]
        assert ours.get_buffer(target).shape == tuple(theirs.get_buffer(target).shape)
    for target in ("0.weight", "0.nothing"):
        with pytest.raises(AttributeError):
            theirs.get_buffer(target)
        with pytest.raises(AttributeError, match=f"BatchNorm1d has no buffer '{target[2:]}'"):
            ours.get_buffer(target)


def _set_submodule_result(lib, target, **kwargs):
    model = lib.Sequential(lib.Sequential(lib.Linear(1, 1), lib.Tanh()), lib.ReLU())
    model.set_submodule(target, lib.Sigmoid(), **kwargs)
    return [(name, type(m).__name__) for name, m in model.named_modules()]


@pytest.mark.parametrize("target, kwargs", [("0.0", {}), ("0.0", dict(strict=True)), ("1", {}), ("0.extra", {})])
def test_set_submodule_matches_torch(torch, target, kwargs):
    # Module.set_submodule was missing: replacing a layer in place (state_dict order kept),
    # or adding one under a new name unless strict.
    assert _set_submodule_result(nn, target, **kwargs) == _set_submodule_result(torch.nn, target, **kwargs)


@pytest.mark.parametrize("target, kwargs, error, message", [
    ("0.extra", dict(strict=True), AttributeError, "has no submodule 'extra' to replace"),
    ("0.0.weight", {}, AttributeError, "'weight' of Linear is not a submodule"),
    ("0.forward", {}, AttributeError, "'forward' of Sequential is not a submodule"),
    ("", {}, ValueError, "target must name a submodule"),
    ("7.0", {}, AttributeError, "has no submodule '7'"),
])
def test_set_submodule_errors_match_torch_and_change_nothing(torch, target, kwargs, error, message):
    with pytest.raises((AttributeError, ValueError)):
        _set_submodule_result(torch.nn, target, **kwargs)
    model = nn.Sequential(nn.Sequential(nn.Linear(1, 1), nn.Tanh()), nn.ReLU())
    before = _names(model.named_modules()), _names(model.named_parameters())
    with pytest.raises(error, match=message):
        model.set_submodule(target, nn.Sigmoid(), **kwargs)
    assert (_names(model.named_modules()), _names(model.named_parameters())) == before


def test_named_modules_memo_holds_modules_as_in_torch(torch):
    # The memo held ids, so modules a caller put in it (to skip them) were still listed.
    def listed(lib):
        model = lib.Sequential(lib.Linear(1, 1), lib.Sequential(lib.ReLU()), lib.Tanh())
        memo = {model[1]}
        names = _names(model.named_modules(memo))
        return names, model[0] in memo

    assert listed(nn) == listed(torch.nn) == (["", "0", "2"], True)


# --- containers -----------------------------------------------------------------------------

@pytest.mark.parametrize("operation", [lambda s: s * 3, lambda s: 2 * s, lambda s: s.__imul__(2), lambda s: s * 1])
def test_sequential_multiplication_matches_torch(torch, operation):
    # Sequential had no *, so `block * 3` (PyTorch: the same modules repeated) raised TypeError.
    def result(lib):
        seq = lib.Sequential(lib.Linear(2, 2), lib.ReLU())
        out = operation(seq)
        return (out is seq, _names(out.named_children()), [type(m).__name__ for m in out],
                [m is seq[i % 2] for i, m in enumerate(out)], len(list(out.parameters())))

    assert result(nn) == result(torch.nn)


@pytest.mark.parametrize("times, error", [(0, ValueError), (-1, ValueError), (1.5, TypeError), ("2", TypeError)])
def test_sequential_multiplication_refuses_what_torch_refuses(torch, times, error):
    with pytest.raises(error):
        torch.nn.Sequential(torch.nn.ReLU()) * times
    seq = nn.Sequential(nn.ReLU())
    with pytest.raises(error, match="Sequential can be multiplied only by"):
        seq *= times
    assert len(seq) == 1


@pytest.mark.parametrize("container", [nn.ParameterList, nn.ParameterDict])
def test_a_parameter_container_holding_none_prints_as_torch(torch, container):
    # register_parameter(name, None) on a ParameterList/Dict made its repr raise AttributeError.
    ours = container()
    ours.register_parameter("0", None)
    expected = "(0): Object of type: NoneType"
    assert expected in repr(torch.nn.ParameterDict({"0": None}))  # PyTorch's text for such an entry
    assert repr(ours) == f"{container.__name__}({expected})"


# --- load_state_dict ---------------------------------------------------------------------

def test_a_one_element_value_loads_into_a_0d_entry_as_in_torch(torch):
    # PyTorch reads a shape (1,) value into a 0-d parameter or buffer (how older versions saved
    # scalars, num_batches_tracked among them); topograd refused it as a shape mismatch.
    theirs = torch.nn.BatchNorm1d(2)
    theirs.scale = torch.nn.Parameter(torch.tensor(1.0))
    ours = nn.BatchNorm1d(2)
    ours.scale = nn.Parameter(ag.tensor(1.0))
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    state["num_batches_tracked"], state["scale"] = np.array([7]), np.array([2.5], np.float32)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    ours.load_state_dict(state)
    assert ours.num_batches_tracked.shape == tuple(theirs.num_batches_tracked.shape) == ()
    assert int(ours.num_batches_tracked.item()) == int(theirs.num_batches_tracked) == 7
    assert ours.scale.shape == () and float(ours.scale.item()) == theirs.scale.item() == 2.5
    with pytest.raises(ValueError, match=r"scale: expected shape \(\), got \(2,\)"):
        ours.load_state_dict({**state, "scale": np.ones(2, np.float32)})


def _float64_state(torch):
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    return theirs, {k: v.detach().double() if v.is_floating_point() else v for k, v in theirs.state_dict().items()}


def test_load_state_dict_assign_matches_torch(torch):
    # load_state_dict had no assign= (PyTorch: the values themselves take the parameters' and
    # buffers' places, keeping their dtype; a plain tensor becomes a Parameter sharing its memory).
    theirs, theirs_state = _float64_state(torch)
    ours = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    ours[0].bias.requires_grad = False
    theirs[0].bias.requires_grad_(False)
    ours_state = OrderedDict((k, ag.tensor(v.numpy(), dtype=str(v.dtype).removeprefix("torch.")))
                             for k, v in theirs_state.items())
    old_weight = ours[0].weight
    assert tuple(ours.load_state_dict(ours_state, assign=True)) == tuple(
        theirs.load_state_dict(theirs_state, assign=True)) == ([], [])
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert (type(p).__name__, str(p.dtype), p.requires_grad) == \
            (type(q).__name__, str(q.dtype).removeprefix("torch."), q.requires_grad), name
        np.testing.assert_array_equal(p.numpy(), q.detach().numpy())
    assert ours[0].weight is not old_weight
    assert ours[1].running_mean is ours_state["1.running_mean"]  # buffers are the values themselves
    ours_state["0.weight"].data[0, 0] = 5.0  # a Parameter sharing the value's memory, as PyTorch's
    assert float(ours[0].weight.numpy()[0, 0]) == 5.0
    x = np.random.default_rng(0).standard_normal((4, 2))
    ours.eval(), theirs.eval()
    out, ref = ours(ag.tensor(x)), theirs(torch.tensor(x))
    out.sum().backward(), ref.sum().backward()
    np.testing.assert_allclose(ours[0].weight.grad.numpy(), theirs[0].weight.grad.numpy(), rtol=1e-12)
    assert ours[0].bias.grad is None and theirs[0].bias.grad is None


def test_load_state_dict_assign_keeps_a_parameter_given_and_refuses_atomically(torch):
    layer = nn.Linear(2, 3)
    weight, bias = nn.Parameter(ag.ones(3, 2)), nn.Parameter(ag.zeros(3))
    layer.load_state_dict({"weight": weight, "bias": bias}, assign=True)
    assert layer.weight is weight and layer.bias is bias
    # An integer tensor cannot be a parameter that requires grad: PyTorch raises after it has
    # already replaced the bias; here nothing changes.
    with pytest.raises(ValueError, match="weight: cannot read a .* to assign"):
        layer.load_state_dict({"bias": ag.ones(3), "weight": ag.ones(3, 2, dtype="int64")}, assign=True)
    assert layer.weight is weight and layer.bias is bias
    with pytest.raises(ValueError, match=r"bias: expected shape \(3,\), got \(4,\)"):
        layer.load_state_dict({"weight": ag.ones(3, 2), "bias": ag.ones(4)}, assign=True)
    assert layer.weight is weight and layer.bias is bias


# --- data --------------------------------------------------------------------------------

def test_concat_dataset_matches_torch(torch):
    # ConcatDataset (and Dataset + Dataset) was missing.
    a, b = np.arange(5.0)[:, None], np.arange(10.0, 13.0)[:, None]
    theirs = torch.utils.data.ConcatDataset([torch.utils.data.TensorDataset(torch.tensor(a)),
                                            torch.utils.data.TensorDataset(torch.ones(0, 1)),
                                            torch.utils.data.TensorDataset(torch.tensor(b))])
    ours = ConcatDataset([TensorDataset(ag.tensor(a)), TensorDataset(ag.ones(0, 1)), TensorDataset(ag.tensor(b))])
    assert len(ours) == len(theirs) == 8 and ours.cumulative_sizes == theirs.cumulative_sizes
    for i in range(-8, 8):
        assert ours[i][0].tolist() == theirs[i][0].tolist(), i
    with pytest.raises(IndexError, match="index 8 is out of range for 8 samples"):
        ours[8]
    batches = [x.numpy().ravel().tolist() for (x,) in DataLoader(ours, batch_size=3)]
    assert batches == [x.numpy().ravel().tolist() for (x,) in torch.utils.data.DataLoader(theirs, batch_size=3)]
    joined = TensorDataset(ag.tensor(a)) + TensorDataset(ag.tensor(b))
    assert type(joined) is ConcatDataset and [float(joined[i][0][0]) for i in (4, 5)] == [4.0, 10.0]
    with pytest.raises(ValueError, match="no datasets to join"):
        ConcatDataset([])


# --- nn.utils --------------------------------------------------------------------------------

def test_parameters_to_vector_and_back_match_torch(torch):
    # nn.utils had neither parameters_to_vector nor vector_to_parameters.
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    ours = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    vec = nn.utils.parameters_to_vector(ours.parameters())
    ref = torch.nn.utils.parameters_to_vector(theirs.parameters())
    np.testing.assert_array_equal(vec.numpy(), ref.detach().numpy())
    weights = np.random.default_rng(0).standard_normal(vec.shape).astype(np.float32)
    (vec * ag.tensor(weights)).sum().backward()
    (ref * torch.tensor(weights)).sum().backward()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6)
    params = list(ours.parameters())
    new = np.arange(vec.size + 2, dtype=np.float32)  # entries past the last parameter are unused, as in PyTorch
    nn.utils.vector_to_parameters(ag.tensor(new), ours.parameters())
    torch.nn.utils.vector_to_parameters(torch.tensor(new), theirs.parameters())
    assert list(ours.parameters()) == params  # the same Parameters, changed in place
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.detach().numpy())
    with pytest.raises(ValueError, match="vec has 3 elements, but the parameters hold 11"):
        nn.utils.vector_to_parameters(ag.zeros(3), ours.parameters())
    np.testing.assert_array_equal(ours[0].bias.numpy(), theirs[0].bias.detach().numpy())  # unchanged
    with pytest.raises(TypeError, match="vec must be a Tensor, not list"):
        nn.utils.vector_to_parameters([0.0], ours.parameters())
