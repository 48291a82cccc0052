"""What a differential fuzz of nn.Module's API and containers against PyTorch 2.13 turned
up (state_dict and load_state_dict with tied parameters, prefixes, dtypes and non-persistent
buffers; traversal with shared modules; registration and __setattr__ errors; container
editing and printing; hooks removed while a call runs them). Each test failed before its fix."""
from collections import OrderedDict

import numpy as np
import pytest

import autograd as ag
import nn


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
