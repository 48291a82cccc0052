"""Findings of a fuzz of checkpoints (nn.save / nn.load / nn.restore): a reader that
reopened the file mid-load, nn.restore with Lazy modules, and a restore whose optimizer
refused with an error other than ValueError."""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.checkpoint as checkpoint


def trained(steps, seed):
    """A small model and its Adam optimizer after ``steps`` steps."""
    ag.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    optimizer = nn.optim.Adam(model.parameters(), lr=0.1)
    for _ in range(steps):
        optimizer.zero_grad()
        model(ag.randn(5, 3)).square().mean().backward()
        optimizer.step()
    return model, optimizer


def values(module):
    return {k: v.numpy().copy() for k, v in module.state_dict().items()}


def assert_values_equal(actual, expected):
    assert list(actual) == list(expected)
    for key in expected:
        np.testing.assert_array_equal(actual[key], expected[key], err_msg=key)


@pytest.fixture
def replaced_after_header(monkeypatch):
    """Makes the first checkpoint opened be replaced, as a save in another process does
    (an atomic rename), right after its header is read: ``arm(path, model, optimizer)``."""
    def arm(path, model, optimizer):
        parse_info = checkpoint._Checkpoint._parse_info
        pending = [True]

        def parse_then_replace(self):
            info = parse_info(self)
            if pending.pop() if pending else False:
                nn.save(model, path, optimizer=optimizer)
            return info
        monkeypatch.setattr(checkpoint._Checkpoint, "_parse_info", parse_then_replace)
    return arm


def test_a_checkpoint_replaced_while_it_loads_is_read_whole_from_the_file_first_opened(tmp_path,
                                                                                       replaced_after_header):
    """The reader reopened the path for the tensors: a newer checkpoint renamed over it
    meanwhile failed the old header's checksums ("the file is corrupt"), a good file
    reported as damaged."""
    path = tmp_path / "last.safetensors"
    old_model, old_optimizer = trained(1, seed=0)
    new_model, new_optimizer = trained(3, seed=1)
    nn.save(old_model, path, optimizer=old_optimizer)
    replaced_after_header(path, new_model, new_optimizer)
    loaded = {k: t.numpy() for k, t in nn.load(path).items()}
    assert_values_equal(loaded, values(old_model))
    assert_values_equal({k: t.numpy() for k, t in nn.load(path).items()}, values(new_model))  # the next load


def test_restore_takes_the_model_and_the_optimizer_from_one_file(tmp_path, replaced_after_header):
    """restore opened the file twice, once for the model and once for the optimizer: a
    checkpoint saved in between gave one file's weights with another's optimizer state
    (or, with the replacement after a header, a spurious checksum failure)."""
    path = tmp_path / "last.safetensors"
    old_model, old_optimizer = trained(1, seed=0)
    new_model, new_optimizer = trained(3, seed=1)
    nn.save(old_model, path, optimizer=old_optimizer)
    replaced_after_header(path, new_model, new_optimizer)
    model, optimizer = trained(0, seed=2)
    nn.restore(path, model, optimizer)
    assert_values_equal(values(model), values(old_model))
    state = optimizer.state_dict()["state"]
    assert float(state[0]["step"].numpy()) == 1.0
    np.testing.assert_array_equal(state[0]["exp_avg"].numpy(), old_optimizer.state_dict()["state"][0]["exp_avg"].numpy())


def lazy_model():
    return nn.Sequential(nn.Linear(3, 4), nn.LazyLinear(2))


def test_restore_into_lazy_modules_with_their_optimizer_resumes_training_exactly(tmp_path):
    """restore copied every state_dict tensor to undo with, and an uninitialized parameter has
    no values: restoring a model with Lazy modules and an optimizer raised "Attempted to use
    an uninitialized parameter", although load_state_dict then the optimizer's (as in PyTorch)
    worked."""
    ag.manual_seed(0)
    x = ag.randn(6, 3)
    model = lazy_model()
    optimizer = nn.optim.AdamW(model.parameters(), lr=0.05)

    def step(model, optimizer):
        optimizer.zero_grad()
        model(x).square().mean().backward()
        optimizer.step()
    for _ in range(2):
        step(model, optimizer)
    path = tmp_path / "ckpt.safetensors"
    nn.save(model, path, optimizer=optimizer)
    resumed = lazy_model()
    resumed_optimizer = nn.optim.AdamW(resumed.parameters(), lr=0.05)
    nn.restore(path, resumed, resumed_optimizer)
    for _ in range(2):
        step(model, optimizer)
        step(resumed, resumed_optimizer)
    assert type(resumed[1]) is nn.Linear
    assert_values_equal(values(resumed), values(model))


def test_a_refused_optimizer_state_leaves_the_initialized_part_of_a_lazy_model_unchanged(tmp_path):
    model = lazy_model()
    model(ag.randn(2, 3)).sum().backward()
    sgd = nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sgd.step()
    path = tmp_path / "ckpt.safetensors"
    nn.save(model, path, optimizer=sgd)
    fresh = lazy_model()
    before = fresh[0].weight.numpy().copy(), fresh[0].bias.numpy().copy()
    adam = nn.optim.Adam(fresh.parameters(), lr=0.5)
    with pytest.raises(ValueError, match="optimizer state does not fit this optimizer: .*'exp_avg'") as info:
        nn.restore(path, fresh, adam)
    assert str(path) in str(info.value)
    np.testing.assert_array_equal(fresh[0].weight.numpy(), before[0])
    np.testing.assert_array_equal(fresh[0].bias.numpy(), before[1])
    assert not adam.state and adam.param_groups[0]["lr"] == 0.5


def test_restore_puts_the_model_back_whatever_the_optimizer_raises(tmp_path):
    """Only ValueError, KeyError and TypeError undid the model's load: an optimizer's
    load_state_dict pre-hook raising a RuntimeError left the model holding the checkpoint."""
    saved_model, saved_optimizer = trained(2, seed=0)
    path = tmp_path / "ckpt.safetensors"
    nn.save(saved_model, path, optimizer=saved_optimizer)
    model, optimizer = trained(0, seed=1)
    before = values(model)

    def refuse(optimizer, state_dict):
        raise RuntimeError("this run refuses every optimizer state")
    optimizer.register_load_state_dict_pre_hook(refuse)
    with pytest.raises(RuntimeError, match="refuses every optimizer state"):
        nn.restore(path, model, optimizer)
    assert_values_equal(values(model), before)
    assert not optimizer.state


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
