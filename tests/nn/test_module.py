"""nn.Module and the containers: registration, traversal order and names, modes,
zero_grad, to(), state_dict / load_state_dict (with their all-or-nothing errors),
forward hooks and printing, checked against PyTorch's behaviour."""
import copy
from collections import OrderedDict

import numpy as np
import pytest

import autograd as ag
import nn

from tests.torch_versions import as_torch_prints


def _build(nn):
    """A model with nesting, a shared submodule, buffers and a bias-free layer."""
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(2)

        def forward(self, x):
            return nn.functional.relu(self.bn(self.conv(x)))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = Block()
            self.pool = nn.MaxPool2d(2)
            self.head = nn.Sequential(OrderedDict([("flat", nn.Flatten()), ("fc", nn.Linear(8, 3))]))
            self.extra = nn.ModuleList([nn.Linear(3, 3), nn.Linear(3, 3)])
            self.named = nn.ModuleDict({"out": nn.Linear(3, 2)})
            self.register_buffer("steps", _zeros(nn))

        def forward(self, x):
            h = self.head(self.pool(self.block(x)))
            for layer in self.extra:
                h = layer(h)
            return self.named["out"](h)
    return Net()


def _zeros(namespace):
    if namespace is nn:
        return ag.zeros(1)
    import torch
    return torch.zeros(1)


def test_traversal_names_and_order_match_torch(torch):
    ours, theirs = _build(nn), _build(torch.nn)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [type(m).__name__ for m in ours.modules()] == [type(m).__name__ for m in theirs.modules()]
    assert [type(m).__name__ for m in ours.children()] == [type(m).__name__ for m in theirs.children()]
    assert len(list(ours.parameters())) == len(list(theirs.parameters()))
    assert len(list(ours.buffers())) == len(list(theirs.buffers()))
    assert as_torch_prints(repr(ours)) == repr(theirs)
    assert ours.get_submodule("head.fc") is ours.head.fc
    assert ours.get_parameter("named.out.bias") is ours.named["out"].bias


def test_shared_parameters_are_listed_once():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]  # as PyTorch keeps both


def test_train_eval_and_zero_grad():
    model = _build(nn)
    assert model.training and model.block.bn.training
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    with pytest.raises(ValueError, match="bool"):
        model.train("no")
    model(ag.randn(2, 1, 4, 4)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_to_casts_floating_state_and_keeps_identity():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    params = list(model.parameters())
    model(ag.randn(4, 2)).sum().backward()
    assert model.to(dtype=ag.float64) is model
    assert list(model.parameters()) == params  # the same Parameter objects, so optimizers still hold them
    assert all(p.dtype == ag.float64 and p.grad.dtype == ag.float64 for p in params)
    assert model[1].running_mean.dtype == ag.float64
    assert model[1].num_batches_tracked.dtype == ag.int64  # integer buffers keep their dtype
    model.to(ag.float32)  # a dtype alone, positionally, as PyTorch allows
    assert all(p.dtype == ag.float32 for p in params)
    model.double()
    assert model[0].weight.dtype == ag.float64
    model.to(ag.ones(1, dtype=ag.float32))
    assert model[0].weight.dtype == ag.float32
    with pytest.raises(TypeError, match="floating point"):
        model.to(dtype=ag.int32)
    model.to("float64")  # a dtype's name alone, as Tensor.to takes it (it was an "unknown device")
    assert model[0].weight.dtype == ag.float64
    with pytest.raises(TypeError, match="unsupported dtype 'complex64'"):
        model.to("complex64")
    assert model[0].weight.dtype == ag.float64


def test_to_moves_between_devices(device):
    model = nn.Linear(3, 2).to("cpu")
    before = model.weight.numpy().copy()
    model.to(device)
    assert model.weight.device == device and model.bias.device == device
    np.testing.assert_array_equal(model.weight.numpy(), before)
    y = model(ag.ones(1, 3))
    assert y.device == device
    model.cpu()
    assert model.weight.device == "cpu"


def test_state_dict_is_detached_and_shares_memory():
    model = nn.Linear(2, 2)
    state = model.state_dict()
    assert list(state) == ["weight", "bias"]
    assert all(not t.requires_grad and t.grad_fn is None for t in state.values())
    with ag.no_grad():
        model.weight.fill_(3.0)
    assert (state["weight"].numpy() == 3).all()
    assert model.state_dict(keep_vars=True)["weight"] is model.weight
    assert list(nn.Sequential(model).state_dict(prefix="net.")) == ["net.0.weight", "net.0.bias"]


def test_load_state_dict_from_torch_numpy_and_tensors(torch):
    ours, theirs = _build(nn), _build(torch.nn)
    result = ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    for name, value in ours.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), theirs.state_dict()[name].numpy())
    other = _build(nn)
    other.load_state_dict(ours.state_dict())  # Tensors work as well
    for (name, a), b in zip(other.state_dict().items(), ours.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    assert other.block.bn.num_batches_tracked.dtype == ag.int64


def test_load_state_dict_rejects_bad_state_and_changes_nothing():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    good = {k: np.full(v.shape, 7.0, dtype=np.float32) for k, v in model.state_dict().items()}

    missing = dict(good)
    del missing["1.running_var"]
    with pytest.raises(ValueError, match="missing keys: '1.running_var'"):
        model.load_state_dict(missing)
    with pytest.raises(RuntimeError, match="unexpected keys: 'head.bias'"):  # PyTorch's exception type too
        model.load_state_dict({**good, "head.bias": np.zeros(3)})
    with pytest.raises(ValueError, match=r"0.weight: expected shape \(3, 2\), got \(2, 3\)"):
        model.load_state_dict({**good, "0.weight": np.zeros((2, 3))})
    with pytest.raises(ValueError) as info:
        model.load_state_dict({**missing, "x": np.zeros(1), "0.bias": np.zeros(4)})
    for key in ("'1.running_var'", "'x'", "0.bias: expected shape"):
        assert key in str(info.value)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k], err_msg=f"{k} changed by a rejected load")

    result = model.load_state_dict({**missing, "extra": np.zeros(1)}, strict=False)
    assert result.missing_keys == ["1.running_var"] and result.unexpected_keys == ["extra"]
    assert (model[0].weight.numpy() == 7).all()
    np.testing.assert_array_equal(model[1].running_var.numpy(), before["1.running_var"])
    with pytest.raises(ValueError, match="expected shape"):  # shapes are checked even when not strict
        model.load_state_dict({"0.bias": np.zeros(5)}, strict=False)


def test_forward_hooks():
    layer = nn.Linear(2, 2)
    seen = []
    handle = layer.register_forward_hook(lambda module, inputs, output: seen.append((module, inputs, output)))
    x = ag.ones(1, 2)
    y = layer(x)
    assert seen == [(layer, (x,), y)]
    replace = layer.register_forward_hook(lambda module, inputs, output: output * 0)
    assert not layer(x).numpy().any()
    handle.remove()
    replace.remove()
    layer(x)
    assert len(seen) == 2
    pre = layer.register_forward_pre_hook(lambda module, inputs: (inputs[0] * 0,))
    np.testing.assert_allclose(layer(x).numpy(), layer.bias.numpy()[None])
    pre.remove()


def test_sequential_indexing_and_editing(torch):
    ours = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(ours) == 3 and isinstance(ours[-1], nn.Linear) and ours[1] is list(ours)[1]
    part = ours[1:]
    assert isinstance(part, nn.Sequential) and list(part._modules) == ["1", "2"]
    assert part[0] is ours[1]
    with pytest.raises(IndexError, match="out of range"):
        ours[3]
    ours.append(nn.Sigmoid())
    ours.insert(1, nn.Tanh())
    del ours[2]
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    theirs.append(torch.nn.Sigmoid())
    theirs.insert(1, torch.nn.Tanh())
    del theirs[2]
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours[0] = nn.Linear(2, 3, bias=False)
    assert ours[0].bias is None
    assert isinstance(ours.pop(-1), nn.Sigmoid) and len(ours) == 3
    assert ours(ag.ones(4, 2)).shape == (4, 1)


def test_module_list_and_dict(torch):
    ours = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()])
    theirs = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)] + [torch.nn.ReLU()])
    assert repr(ours) == repr(theirs)  # runs of equal modules print once: "(0-2): 3 x Linear(...)"
    assert len(ours[1:3]) == 2 and isinstance(ours[1:3], nn.ModuleList)
    ours.append(nn.Tanh())
    ours.extend([nn.Sigmoid()])
    ours.insert(0, nn.Identity())
    del ours[1]
    assert [type(m).__name__ for m in ours] == ["Identity", "Linear", "Linear", "ReLU", "Tanh", "Sigmoid"]
    assert list(ours._modules) == [str(i) for i in range(6)]
    assert len(list(ours.parameters())) == 4
    with pytest.raises(TypeError, match="iterable"):
        ours.extend(nn.ReLU())
    with pytest.raises(NotImplementedError):
        ours(ag.ones(1))

    layers = nn.ModuleDict({"a": nn.Linear(1, 1)})
    layers["b"] = nn.ReLU()
    layers.update([("c", nn.Tanh())])
    assert list(layers) == ["a", "b", "c"] and "b" in layers and len(layers) == 3
    assert isinstance(layers.pop("b"), nn.ReLU) and list(layers.keys()) == ["a", "c"]
    assert list(layers.state_dict()) == ["a.weight", "a.bias"]
    with pytest.raises(KeyError, match="no module 'z'"):
        layers["z"]


def test_registration_rules():
    module = nn.Module()
    module.weight = nn.Parameter(ag.ones(2))
    with pytest.raises(TypeError, match="assign an nn.Parameter or None"):
        module.weight = ag.ones(2)
    module.weight = None
    assert list(module.named_parameters()) == []
    module.register_buffer("stat", ag.zeros(2))
    module.register_buffer("scratch", ag.zeros(2), persistent=False)
    assert list(module.state_dict()) == ["stat"]
    assert [n for n, _ in module.named_buffers()] == ["stat", "scratch"]
    with pytest.raises(KeyError, match="contain no '.'"):
        module.register_buffer("a.b", ag.zeros(1))
    with pytest.raises(TypeError, match="must be a Tensor"):
        module.register_buffer("bad", [1.0])

    class Forgetful(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(1, 1)
    with pytest.raises(AttributeError, match="super"):
        Forgetful()
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        module.missing


def test_a_name_is_registered_again_only_in_its_own_registry(torch):
    """As PyTorch: register_buffer/register_parameter may replace their own kind, but
    raise KeyError over a parameter, buffer, submodule or method of that name, and
    change nothing then."""
    def check(module, call):
        before = (dict(module.named_parameters()), dict(module.named_buffers()))
        with pytest.raises(KeyError, match="already exists"):
            call(module)
        assert (dict(module.named_parameters()), dict(module.named_buffers())) == before

    linear = nn.Linear(2, 2)
    check(linear, lambda m: m.register_buffer("weight", ag.zeros(2, 2)))
    check(linear, lambda m: m.register_buffer("forward", ag.zeros(1)))
    linear.register_buffer("stat", ag.zeros(1), persistent=False)
    check(linear, lambda m: m.register_parameter("stat", nn.Parameter(ag.zeros(1))))
    linear.register_buffer("stat", ag.ones(1))  # its own kind: replaced, and now persistent
    assert linear.state_dict()["stat"].tolist() == [1.0]
    linear.register_parameter("bias", None)
    assert [n for n, _ in linear.named_parameters()] == ["weight"]
    sequential = nn.Sequential(nn.ReLU())
    check(sequential, lambda m: m.register_buffer("0", ag.zeros(1)))

    reference = torch.nn.Linear(2, 2)  # the same rules in PyTorch
    for call in (lambda: reference.register_buffer("weight", torch.zeros(2, 2)),
                 lambda: reference.register_buffer("forward", torch.zeros(1))):
        with pytest.raises(KeyError, match="already exists"):
            call()


def test_parameter():
    data = ag.ones(2, 3)
    p = nn.Parameter(data)
    assert p.requires_grad and p.is_leaf and p.data is data.data and isinstance(p, ag.Tensor)
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert not nn.Parameter(data, requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    assert nn.Parameter([1.0, 2.0]).dtype == ag.float32


def test_parameter_shares_the_in_place_counter_of_the_tensor_it_wraps():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    data = ag.tensor([3.0, 4.0])
    y = (x * data).sum()  # Mul keeps data for x's gradient
    p = nn.Parameter(data)
    optimizer = nn.optim.SGD([p], lr=0.5)
    p.grad = ag.ones(2)
    optimizer.step()  # changes data's memory in place, through p
    assert data._version.value == p._version.value == 1
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_deepcopy_gives_an_independent_model():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    twin = copy.deepcopy(model)
    with ag.no_grad():
        model[0].weight.fill_(5.0)
    assert not (twin[0].weight.numpy() == 5).all()
    assert [n for n, _ in twin.named_parameters()] == [n for n, _ in model.named_parameters()]
    assert twin(ag.randn(3, 2)).shape == (3, 2)


def test_deepcopy_of_a_model_leaves_its_gradients_behind_as_torch(torch):
    """PyTorch's Parameter.__deepcopy__ copies values and requires_grad, not .grad; a plain
    tensor's copy keeps its .grad in both."""
    model = nn.Linear(2, 2)
    model(ag.ones(1, 2)).sum().backward()
    twin = copy.deepcopy(model)
    assert twin.weight.grad is None and twin.bias.grad is None and twin.weight.requires_grad
    assert model.weight.grad is not None
    reference = torch.nn.Linear(2, 2)
    reference(torch.ones(1, 2)).sum().backward()
    assert copy.deepcopy(reference).weight.grad is None
    leaf = ag.ones(2, requires_grad=True)
    leaf.grad = ag.full(2, 3.0)
    assert copy.deepcopy(leaf).grad.tolist() == [3.0, 3.0]


# --- Parameter(t) shares t's in-place counter ---

def test_parameter_of_a_non_leaf_is_a_leaf_sharing_memory_and_counter(device, torch):
    w = ag.tensor([1.0, 2.0], dtype=ag.float64, requires_grad=True)
    t = ag.exp(w)                       # non-leaf, its node keeps its output
    p = nn.Parameter(t)
    assert p.is_leaf and p.requires_grad and p.grad_fn is None
    with ag.no_grad():
        p.mul_(2.0)
    np.testing.assert_allclose(t.numpy(), 2 * np.exp([1.0, 2.0]))  # one memory
    with pytest.raises(RuntimeError, match="modified in place"):
        t.sum().backward()             # as PyTorch: Exp's saved output changed


def test_parameter_of_a_tensor_already_changed_keeps_earlier_graphs_valid(device):
    t = ag.tensor([1.0, -2.0], dtype=ag.float64)
    t.add_(1.0)
    t.add_(1.0)                          # version 2
    w = ag.tensor([3.0, 4.0], dtype=ag.float64, requires_grad=True)
    y = w * t                            # saves t at version 2
    p = nn.Parameter(t)
    (gw,) = ag.grad(y.sum(), [w], retain_graph=True)
    np.testing.assert_allclose(gw.numpy(), [3.0, 0.0])
    with ag.no_grad():
        p.sub_(1.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        ag.grad(y.sum(), [w])


# --- containers given something other than a layer ------------------------------------------------

@pytest.mark.parametrize("build, message", [
    (lambda: nn.Sequential(nn.Linear(3, 2), nn.ReLU), r"not type \(the class ReLU itself\); make a layer from it, "
                                                      r"e\.g\. ReLU\(\)"),
    (lambda: nn.Sequential([nn.Linear(3, 2), nn.ReLU()]), r"not list of modules; unpack it, e\.g\. "
                                                          r"nn\.Sequential\(\*layers\)"),
], ids=["class-not-instance", "list"])
def test_sequential_of_a_layer_class_or_a_list_says_the_fix(device, torch, build, message):
    with pytest.raises(TypeError, match="is not a Module subclass"):
        torch.nn.Sequential(torch.nn.ReLU)
    with pytest.raises(TypeError, match=message):
        build()


# --- load_state_dict of a wrapped model's checkpoint, or of a module ------------------------------

def _net():
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


class _Wrapper(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = _net()


@pytest.mark.parametrize("prefix", ["module.", "model."])
def test_load_state_dict_with_a_wrapper_prefix_says_to_strip_it_and_changes_nothing(device, prefix):
    """A checkpoint of a DataParallel- or wrapper-held model has every key prefixed: the
    error listed eight keys but not that they differ only by the prefix."""
    model, saved = _net(), {prefix + k: v for k, v in _net().state_dict().items()}
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=rf"every expected key appears with the prefix '{prefix}', as a "
                                                rf"wrapped model saves them; strip it: "
                                                rf"\{{k\.removeprefix\('{prefix}'\): v"):
        model.load_state_dict(saved)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    model.load_state_dict({k.removeprefix(prefix): v for k, v in saved.items()})  # the fix the message gives
    np.testing.assert_array_equal(model[0].weight.numpy(), saved[prefix + "0.weight"].numpy())


def test_load_state_dict_of_a_bare_model_into_its_wrapper_names_the_submodule(device):
    with pytest.raises(ValueError, match=r"every key of this module has the prefix 'model\.', which the "
                                                r"saved keys lack; load them into the submodule 'model' instead"):
        _Wrapper().load_state_dict(_net().state_dict())
    with pytest.raises(ValueError) as excinfo:  # keys of another layout: no prefix advice
        _net().load_state_dict(nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)).state_dict())
    assert "prefix" not in str(excinfo.value)


def test_load_state_dict_given_the_module_says_to_call_state_dict(device):
    with pytest.raises(TypeError, match=r"not Sequential; pass the other module's \.state_dict\(\)"):
        _net().load_state_dict(_net())


def test_the_prefix_hint_needs_every_key_to_carry_the_prefix():
    """Two Linears' state into one: '0.' is not a wrapper's prefix (the '1.' keys would stay unexpected)."""
    with pytest.raises(ValueError, match=r"missing keys: 'weight', 'bias'; unexpected keys: '0\.weight', "
                                         r"'0\.bias', '1\.weight', '1\.bias'\. Nothing was changed") as refused:
        nn.Linear(2, 2).load_state_dict(nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2)).state_dict())
    assert "strip it" not in str(refused.value) and "prefix" not in str(refused.value)


def test_an_object_array_is_refused_not_read_as_nan(torch):
    """NumPy casts an object array's None to NaN; PyTorch refuses such a value, and so does
    load_state_dict, changing nothing."""
    with pytest.raises(RuntimeError):
        torch.nn.Linear(2, 1).load_state_dict({"weight": np.array([[None, None]]), "bias": np.zeros(1)})
    model = nn.Linear(2, 1)
    before = model.weight.detach().numpy().copy()
    with pytest.raises(ValueError, match="weight: expected numbers, got an array of dtype object. Nothing was changed"):
        model.load_state_dict({"weight": np.array([[None, None]]), "bias": np.zeros(1)})
    np.testing.assert_array_equal(model.weight.detach().numpy(), before)


# --- state_dict and load_state_dict with tied parameters, prefixes, and the result a notebook prints

def _tied(lib):
    """Two Linear layers sharing one weight, as an encoder and decoder often do."""
    class Tied(lib.Module):
        def __init__(self):
            super().__init__()
            self.a = lib.Linear(2, 2, bias=False)
            self.b = lib.Linear(2, 2, bias=False)
            self.b.weight = self.a.weight
    return Tied()


@pytest.mark.parametrize("order", [("b.weight", "a.weight"), ("a.weight", "b.weight")])
def test_a_tied_parameter_takes_the_value_of_its_last_key_in_module_order(torch, order):
    # Both keys name one tensor; PyTorch copies in the module's order, so "b.weight" wins
    # however the dict is ordered. topograd copied in the dict's order: "a.weight" won here.
    values = {"a.weight": np.full((2, 2), 3.0, np.float32), "b.weight": np.full((2, 2), 5.0, np.float32)}
    results = []
    for lib, tensor in ((torch.nn, torch.tensor), (nn, ag.tensor)):
        model = _tied(lib)
        model.load_state_dict(OrderedDict((key, tensor(values[key])) for key in order))
        assert model.a.weight is model.b.weight
        results.append(model.a.weight.detach().numpy())
    np.testing.assert_array_equal(results[1], results[0])
    np.testing.assert_array_equal(results[1], values["b.weight"])


@pytest.mark.parametrize("prefix", ["net.", "net", "net..", ""])
def test_state_dict_puts_the_prefix_before_each_key_as_given(torch, prefix):
    # topograd stripped the prefix's dots and added one back: "net" and "net.." both gave "net.0.weight".
    def keys_and_hook_prefixes(lib):
        model = lib.Sequential(lib.Linear(2, 2), lib.Sequential(lib.BatchNorm1d(2)))
        seen = []
        for module in model.modules():
            module.register_state_dict_pre_hook(lambda m, prefix, keep_vars: seen.append(prefix))
        return list(model.state_dict(prefix=prefix)), seen

    ours, theirs = keys_and_hook_prefixes(nn), keys_and_hook_prefixes(torch.nn)
    assert ours == theirs
    assert ours[0][0] == prefix + "0.weight"


def test_a_load_with_every_key_matched_prints_as_torch(torch):
    # A notebook shows load_state_dict's result: PyTorch's reads "<All keys matched successfully>".
    ours = nn.Linear(2, 1)
    theirs = torch.nn.Linear(2, 1)
    matched = ours.load_state_dict({"weight": ag.ones((1, 2)), "bias": ag.ones(1)})
    assert repr(matched) == str(matched) == repr(theirs.load_state_dict(theirs.state_dict()))
    assert matched == ([], [])
    partial = ours.load_state_dict({"weight": ag.ones((1, 2))}, strict=False)
    assert repr(partial) == "IncompatibleKeys(missing_keys=['bias'], unexpected_keys=[])"
    assert partial.missing_keys == ["bias"]
