"""Mistakes found by a fuzz of what users get wrong across layers, losses, optimizers and
checkpoints (after tests/test_user_mistakes.py and test_user_mistakes_more.py).

Each test pins an error that names the layer or optimizer, the problem and the fix, in place
of a message that named only the op, a silently accepted value, or advice that did not fit;
and that the refused call left the parameters, state and groups as they were.
"""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F


# --- inputs that do not fit a layer ----------------------------------------------------------------

def test_linear_with_wrong_in_features_names_the_layer_and_says_to_flatten(device, torch):
    """MNIST images (64, 28, 28) into Linear(784, 10): the message named only the op
    ("linear: the input's last axis has size 28 ..."), not which Linear of the network.
    PyTorch refuses too ("mat1 and mat2 shapes cannot be multiplied")."""
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        torch.nn.Linear(784, 10)(torch.zeros(64, 28, 28))
    model = nn.Sequential(nn.Linear(784, 10))
    x = ag.randn(64, 28, 28)
    with pytest.raises(ValueError, match=r"^Linear\(in_features=784, out_features=10, bias=True\): expected an "
                                         r"input whose last axis has 784 features, got shape \(64, 28, 28\); "
                                         r"flatten the axes after the batch first, with x\.flatten\(1\)"):
        model(x)
    assert model(x.flatten(1)).shape == (64, 10)  # the fix the message gives
    with pytest.raises(ValueError, match=r"^Linear\(in_features=100, .*got shape \(2, 2704\)$"):
        nn.Linear(100, 10)(ag.randn(2, 2704))  # no flatten advice where the sizes do not match


@pytest.mark.parametrize("make, shape, fixed", [
    (lambda: nn.Conv2d(3, 8, 3), (2, 28, 28, 3), (0, 3, 1, 2)),
    (lambda: nn.Conv1d(3, 8, 3), (2, 10, 3), (0, 2, 1)),
    (lambda: nn.ConvTranspose2d(3, 8, 3), (2, 6, 6, 3), (0, 3, 1, 2)),
    (lambda: nn.Conv2d(3, 8, 3, padding=1, padding_mode="reflect"), (2, 6, 6, 3), (0, 3, 1, 2)),
], ids=["conv2d", "conv1d", "conv-transpose2d", "conv2d-reflect"])
def test_conv_on_channels_last_images_names_the_layer_and_the_transpose(device, torch, make, shape, fixed):
    """Images in (N, H, W, C), as PIL and TensorFlow hold them: the message said "the input
    has 28 channels", without the layer or the layout. PyTorch refuses too."""
    with pytest.raises(RuntimeError, match="channels"):
        torch.nn.Conv2d(3, 8, 3)(torch.zeros(2, 28, 28, 3))
    layer = make()
    name = type(layer).__name__
    x = ag.randn(*shape)
    with pytest.raises(ValueError, match=rf"^{name}\(3, 8, .*\): the input has {shape[1]} channels but the weight "
                                         rf".* expects 3 .*; if the input is channels-last.*"
                                         rf"x\.transpose{re_tuple(fixed)}$"):
        layer(x)
    assert layer(x.transpose(*fixed)).shape[:2] == (shape[0], 8)


def re_tuple(axes):
    return r"\(" + r", ".join(map(str, axes)) + r"\)"


def test_conv_with_wrong_channels_names_the_layer_without_a_layout_guess(device):
    with pytest.raises(ValueError, match=r"^Conv2d\(4, 2, .*groups=2\): the input has 2 channels but the weight "
                                         r"\(2, 2, 3, 3\) expects 4 \(axis 1 of the \(N, C, H, W\) input of shape "
                                         r"\(1, 2, 5, 5\)\)$"):
        nn.Conv2d(4, 2, 3, groups=2)(ag.randn(1, 2, 5, 5))


def test_batchnorm2d_on_channels_last_or_one_sample_says_how_to_fix_and_keeps_statistics(device, torch):
    with pytest.raises(ValueError, match="expected 4D input"):
        torch.nn.BatchNorm2d(3)(torch.zeros(3, 5, 5))
    layer = nn.BatchNorm2d(3)
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 3 channels \(axis 1\), got input of shape "
                                         r"\(2, 5, 5, 3\); if the input is channels-last.*x\.transpose\(0, 3, 1, 2\)"):
        layer(ag.randn(2, 5, 5, 3))
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4D input, got 3D input of shape \(3, 5, 5\); "
                                         r"for one sample, add the batch axis with x\.expand_dims\(0\)"):
        layer(ag.randn(3, 5, 5))
    assert layer.num_batches_tracked.item() == 0
    np.testing.assert_array_equal(layer.running_mean.numpy(), np.zeros(3))
    assert layer(ag.randn(3, 5, 5).expand_dims(0)).shape == (1, 3, 5, 5)


# --- containers given something other than a layer -----------------------------------------------

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


# --- checkpoints of a wrapped model -----------------------------------------------------------------

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


# --- optimizers ---------------------------------------------------------------------------------------

def test_optimizer_from_a_used_up_parameter_generator_says_to_call_parameters_again(device, torch):
    """params = model.parameters() given to two optimizers: the second got an empty
    list, and the message told the user to pass model.parameters(), which they had."""
    model = torch.nn.Linear(2, 2)
    params = model.parameters()
    torch.optim.SGD(params, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        torch.optim.Adam(params)
    model = nn.Linear(2, 2)
    params = model.parameters()
    nn.optim.SGD(params, lr=0.1)
    with pytest.raises(ValueError, match=r"^Adam got an empty parameter list; params is an iterator with nothing "
                                         r"left in it: .*call model\.parameters\(\) again here; else the model "
                                         r"has no parameters, or a filter left none$"):
        nn.optim.Adam(params)
    with pytest.raises(ValueError, match=r"^SGD got an empty parameter list; pass the parameters to optimize"):
        nn.optim.SGD([], lr=0.1)  # a list is not used up: the old advice stands


STEP_OPTIMIZERS = {
    "SGD": lambda ps: nn.optim.SGD(ps, lr=0.1, momentum=0.9),
    "Adam": lambda ps: nn.optim.Adam(ps, lr=0.1),
    "AdamW": lambda ps: nn.optim.AdamW(ps, lr=0.1),
    "RMSprop": lambda ps: nn.optim.RMSprop(ps, lr=0.1),
    "Adagrad": lambda ps: nn.optim.Adagrad(ps, lr=0.1),
}


@pytest.mark.parametrize("key, value", [("lr", "0.5"), ("lr", None), ("weight_decay", "0.01")],
                         ids=["lr-str", "lr-None", "weight_decay-str"])
@pytest.mark.parametrize("name", sorted(STEP_OPTIMIZERS))
def test_hyperparameter_written_into_a_group_later_is_checked_before_the_step(device, name, key, value):
    """optimizer.param_groups[0]['lr'] = config['lr'] with a YAML string: the constructor
    refuses '0.5', but step() read it with float() and stepped at 0.5; None failed with
    Python's bare "float() argument must be ...". Now step refuses both before any update,
    across every group (the first group here is fine and must not move either)."""
    first, second = nn.Linear(3, 2), nn.Linear(3, 2)
    optimizer = STEP_OPTIMIZERS[name]([{"params": first.parameters()}, {"params": second.parameters()}])
    x, y = ag.randn(4, 3), ag.randn(4, 2)
    (F.mse_loss(first(x), y) + F.mse_loss(second(x), y)).backward()
    optimizer.param_groups[1][key] = value
    weights = [p.numpy().copy() for p in (*first.parameters(), *second.parameters())]
    state = {id(p): {k: v.numpy().copy() for k, v in s.items()} for p, s in optimizer.state.items()}
    with pytest.raises(TypeError, match=rf"^{name}: {key} must be a number, got (str '{value}'; convert it with "
                                        rf"float\(\)|NoneType None$)"):
        optimizer.step()
    for before, p in zip(weights, (*first.parameters(), *second.parameters())):
        np.testing.assert_array_equal(p.numpy(), before)
    assert {id(p): {k: v.numpy().tolist() for k, v in s.items()} for p, s in optimizer.state.items()} == \
        {i: {k: v.tolist() for k, v in s.items()} for i, s in state.items()}
    optimizer.param_groups[1][key] = float(value or 0.1)  # the fix the message gives
    optimizer.step()
    assert not np.array_equal(second.weight.numpy(), weights[2])


def test_hyperparameters_that_are_numbers_of_other_types_still_step(device, torch):
    """A NumPy float (np.linspace schedules) or a one-element tensor lr stays accepted, as
    in PyTorch, and steps by its value."""
    for lr in (np.float64(0.5), ag.tensor(0.5)):
        p = ag.tensor([1.0, 2.0], requires_grad=True)
        optimizer = nn.optim.SGD([p], lr=0.1)
        optimizer.param_groups[0]["lr"] = lr
        (p * p).sum().backward()
        optimizer.step()
        np.testing.assert_allclose(p.numpy(), [0.0, 0.0])


# --- a review's findings -------------------------------------------------------------------------

def test_lbfgs_and_pair_hyperparameters_are_checked_at_step_too():
    model = nn.Linear(2, 1)
    loss = lambda: model(ag.ones(1, 2)).sum()  # noqa: E731
    lbfgs = nn.optim.LBFGS(model.parameters())
    lbfgs.param_groups[0]["lr"] = "0.5"
    before = model.weight.numpy().copy()
    with pytest.raises(TypeError, match=r"^LBFGS: lr must be a number, got str '0.5'"):
        lbfgs.step(lambda: (lbfgs.zero_grad(), loss().backward(), loss())[-1])
    adam = nn.optim.Adam(model.parameters())
    loss().backward()
    adam.param_groups[0]["betas"] = None
    with pytest.raises(TypeError, match=r"^Adam: betas must be a pair of numbers \(beta1, beta2\), got None"):
        adam.step()
    np.testing.assert_array_equal(model.weight.numpy(), before)


def test_adafactor_steps_take_the_fast_check():
    """Its eps is a pair, which made every step run the full check (3.7 µs a group)."""
    optimizer = nn.optim.Adafactor(nn.Linear(2, 1).parameters())
    assert "eps" not in optimizer._numeric_keys


def test_the_prefix_hint_needs_every_key_to_carry_the_prefix():
    """Two Linears' state into one: '0.' is not a wrapper's prefix (the '1.' keys would stay unexpected)."""
    with pytest.raises(Exception) as refused:
        nn.Linear(2, 2).load_state_dict(nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2)).state_dict())
    assert "strip it" not in str(refused.value)
