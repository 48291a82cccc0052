"""ParameterList and ParameterDict: registration, state dicts, optimizers, moves and
errors, against PyTorch's containers of the same names."""
from collections import OrderedDict

import numpy as np
import pytest

import autograd as ag
import nn


class Holder:
    """The same small model in either library: a list and a dict of parameters."""

    @staticmethod
    def build(lib, make):
        class Model(lib.Module):
            def __init__(self):
                super().__init__()
                self.scales = lib.ParameterList([make([1.0, 2.0]), make([3.0])])
                self.extra = lib.ParameterDict({"bias": make([0.5, -0.5]), "gain": make([2.0])})

            def forward(self, x):
                return (x * self.scales[0] + self.extra["bias"]).sum() * self.scales[1] * self.extra["gain"]
        return Model()


def test_parameters_and_state_dict_keys_match_pytorch(device, torch):
    ours = Holder.build(nn, lambda v: ag.tensor(v, device=device))
    theirs = Holder.build(torch.nn, lambda v: torch.tensor(v))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == [
        "scales.0", "scales.1", "extra.bias", "extra.gain"]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert all(p.requires_grad and p.is_leaf for p in ours.parameters())


def test_gradients_reach_every_parameter_and_an_optimizer_steps_them(device, torch):
    ours = Holder.build(nn, lambda v: ag.tensor(v, dtype="float64", device=device))
    theirs = Holder.build(torch.nn, lambda v: torch.tensor(v, dtype=torch.float64))
    x = np.array([0.3, -1.2])
    ours(ag.tensor(x, device=device)).backward()
    theirs(torch.tensor(x)).backward()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12)
    nn.optim.SGD(ours.parameters(), lr=0.1).step()
    torch.optim.SGD(theirs.parameters(), lr=0.1).step()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-12)


def test_load_state_dict_round_trips_and_to_moves_every_parameter(device):
    a = Holder.build(nn, lambda v: ag.tensor(v, device=device))
    b = Holder.build(nn, lambda v: ag.zeros(len(v), device=device))
    b.load_state_dict(a.state_dict())
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    b.double()
    assert {str(p.dtype) for p in b.parameters()} == {"float64"}
    assert isinstance(b.scales[0], nn.Parameter) and isinstance(b.extra["gain"], nn.Parameter)


def test_a_plain_tensor_becomes_a_parameter_sharing_its_memory(device, torch):
    t = ag.tensor([1.0, 2.0], device=device)
    plist = nn.ParameterList([t])
    assert type(plist[0]) is nn.Parameter and plist[0].requires_grad
    with ag.no_grad():
        plist[0].mul_(3.0)
    np.testing.assert_array_equal(t.numpy(), [3.0, 6.0])  # as torch.nn.Parameter(t): one memory
    ref = torch.tensor([1.0, 2.0])
    torch.nn.ParameterList([ref])[0].data.mul_(3.0)
    assert ref.tolist() == [3.0, 6.0]


def test_parameter_list_behaves_as_a_list(device, torch):
    ours = nn.ParameterList([ag.full((i + 1,), float(i), device=device) for i in range(4)])
    theirs = torch.nn.ParameterList([torch.full((i + 1,), float(i)) for i in range(4)])
    assert len(ours) == len(theirs) == 4
    assert [p.shape[0] for p in ours[1:3]] == [p.shape[0] for p in theirs[1:3]] == [2, 3]
    assert isinstance(ours[1:3], nn.ParameterList)
    assert ours[-1].shape == (4,)
    ours[0] = nn.Parameter(ag.ones(7, device=device))
    ours.append(ag.zeros(5, device=device))
    ours += [ag.zeros(6, device=device)]
    assert [p.shape[0] for p in ours] == [7, 2, 3, 4, 5, 6]
    assert list(ours.state_dict()) == [str(i) for i in range(6)]


def test_parameter_dict_behaves_as_a_dict(device):
    d = nn.ParameterDict([("w", ag.ones(2, device=device))])
    d["b"] = ag.zeros(3, device=device)
    assert list(d) == list(d.keys()) == ["w", "b"] and "b" in d and len(d) == 2
    assert d.get("missing") is None
    assert d.setdefault("c", ag.ones(1, device=device)) is d["c"]
    copied = d.copy()
    assert list(copied.items()) == list(d.items())
    assert d.pop("w").shape == (2,) and list(d) == ["b", "c"]
    name, param = d.popitem()
    assert name == "c" and param.shape == (1,)
    d.clear()
    assert len(d) == 0 and len(list(copied.parameters())) == 3


@pytest.mark.parametrize("bad", [3.0, "w", [1.0, 2.0], None])
def test_a_non_tensor_entry_is_refused_and_nothing_is_added(device, bad):
    plist = nn.ParameterList([ag.ones(2, device=device)])
    with pytest.raises(TypeError, match="expected an nn.Parameter or a Tensor"):
        plist.extend([ag.zeros(1, device=device), bad])
    assert len(plist) == 1
    pdict = nn.ParameterDict({"a": ag.ones(2, device=device)})
    with pytest.raises(TypeError, match="expected an nn.Parameter or a Tensor"):
        pdict.update({"b": ag.zeros(1, device=device), "c": bad})
    assert list(pdict) == ["a"]


@pytest.mark.parametrize("key", ["keys", "training"])
def test_a_key_that_shadows_an_attribute_is_refused(device, torch, key):
    """As PyTorch for a method name ("keys"); PyTorch takes "training", which then hides
    the module's mode flag, so that is refused here too."""
    with pytest.raises(KeyError, match="already exists"):
        torch.nn.ParameterDict()["keys"] = torch.nn.Parameter(torch.ones(1))
    pdict = nn.ParameterDict({"a": ag.ones(1, device=device)})
    with pytest.raises(KeyError, match="already exists"):
        pdict.update([("b", ag.ones(1, device=device)), (key, ag.ones(1, device=device))])
    assert list(pdict) == ["a"] and pdict.training is True


def test_bad_indices_and_keys_name_the_problem(device):
    plist = nn.ParameterList([ag.ones(2, device=device)])
    with pytest.raises(IndexError, match="out of range for 1 parameters"):
        plist[1]
    with pytest.raises(TypeError, match="integers or slices"):
        plist["0"]
    with pytest.raises(TypeError, match="one integer index, not a slice"):
        plist[0:1] = [ag.zeros(2, device=device)]
    assert plist[0].tolist() == [1.0, 1.0]
    pdict = nn.ParameterDict({"a": ag.ones(1, device=device)})
    with pytest.raises(KeyError, match="has no parameter 'z'"):
        pdict["z"]
    with pytest.raises(KeyError, match="has no parameter 'z'"):
        del pdict["z"]
    with pytest.raises(ValueError, match="pairs"):
        pdict.update([("a",)])


@pytest.mark.parametrize("container", [nn.ParameterList, nn.ParameterDict])
def test_calling_a_container_is_an_error(container):
    with pytest.raises(RuntimeError, match="cannot be called"):
        container()(ag.ones(1))


def test_a_plain_dict_is_taken_in_sorted_key_order_as_pytorch(device, torch):
    """PyTorch sorts a plain mapping's keys (an OrderedDict keeps its order), which fixes the
    order of parameters() and so of an optimizer's state."""
    values = {"gain": [2.0], "bias": [0.5], "alpha": [1.0]}
    ours = nn.ParameterDict({k: ag.tensor(v, device=device) for k, v in values.items()})
    theirs = torch.nn.ParameterDict({k: torch.nn.Parameter(torch.tensor(v)) for k, v in values.items()})
    assert list(ours) == list(theirs) == ["alpha", "bias", "gain"]
    ordered = OrderedDict((k, ag.tensor(v, device=device)) for k, v in values.items())
    assert list(nn.ParameterDict(ordered)) == list(torch.nn.ParameterDict(OrderedDict(
        (k, torch.nn.Parameter(torch.tensor(v))) for k, v in values.items()))) == ["gain", "bias", "alpha"]


def test_parameter_dict_union_fromkeys_and_reversed_match_pytorch(torch):
    """The dict operators |, |= and dict | ParameterDict, fromkeys and reversed, which were
    missing (reversed() fell back to indexing by position and raised KeyError)."""
    def run(lib, t):
        def p(v):
            return lib.Parameter(t.tensor([v]))
        left, right = lib.ParameterDict({"b": p(1.0), "a": p(2.0)}), lib.ParameterDict({"z": p(3.0), "a": p(4.0)})
        union, plain = left | right, {"y": p(5.0)} | left
        seen = [(type(union).__name__, list(union), union["a"] is right["a"], union["b"] is left["b"]),
                (type(plain).__name__, list(plain)), list(reversed(left))]
        grown = left
        grown |= {"c": p(6.0), "0": p(7.0)}  # a plain dict: sorted keys, as update takes it
        shared = p(0.0)
        made = left.fromkeys(["x", "w"], shared)
        seen += [(grown is left, list(left)),
                 (type(made).__name__, list(made), made["x"] is shared is made["w"], list(left)[:2])]
        return seen
    assert run(nn, ag) == run(torch.nn, torch)
