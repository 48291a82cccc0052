"""More mistakes a user makes, found by a hunt for bad-input handling across the public API.

Each test pins a clear error raised where the mistake is made (naming the op, the problem
and the fix), in place of a raw error from deep inside topograd or NumPy, a late failure,
or a silently wrong result; and that the refused call left every tensor, module and
optimizer as it was.
"""
import os

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from nn.data.dataloader import default_collate
from nn.optim import lr_scheduler


# --- cross_entropy with class labels stored as floats --------------------------------------------

@pytest.mark.parametrize("input_shape, target_shape", [((4, 3), (4,)), ((3,), ()), ((2, 3, 5), (2, 5))],
                         ids=["batch", "unbatched", "spatial"])
def test_cross_entropy_float_class_labels_say_to_convert_to_int(device, torch, input_shape, target_shape):
    """Labels read as floats ([0., 2., 1.]) have the shape of class indices. PyTorch refuses
    them ('expected target dtype to be Long'); the message here said only that probability
    targets need the input's shape, which sent the user to reshape instead of converting."""
    with pytest.raises(RuntimeError, match="Long"):
        torch.nn.functional.cross_entropy(torch.zeros(input_shape), torch.zeros(target_shape))
    with pytest.raises(TypeError, match=r"cross_entropy: class-index targets must be integers, not float32; "
                                        r"convert them with target\.astype\(ag\.int64\)"):
        F.cross_entropy(ag.randn(*input_shape), ag.zeros(*target_shape))


def test_cross_entropy_probability_targets_of_another_shape_still_name_the_shape(device):
    with pytest.raises(ValueError, match=r"probability targets must have the input's shape \(4, 3\), got \(4, 4\)"):
        F.cross_entropy(ag.randn(4, 3), ag.zeros(4, 4))


# --- learning-rate schedules with hyperparameters read as strings ------------------------------

SCHEDULES = {
    "StepLR-gamma": (lambda o: lr_scheduler.StepLR(o, 2, gamma="0.5"), "StepLR: gamma"),
    "MultiStepLR-gamma": (lambda o: lr_scheduler.MultiStepLR(o, [1], gamma="0.5"), "MultiStepLR: gamma"),
    "ExponentialLR-gamma": (lambda o: lr_scheduler.ExponentialLR(o, gamma="0.9"), "ExponentialLR: gamma"),
    "ExponentialLR-None": (lambda o: lr_scheduler.ExponentialLR(o, gamma=None), "ExponentialLR: gamma"),
    "ConstantLR-factor": (lambda o: lr_scheduler.ConstantLR(o, factor="0.5"), "ConstantLR: factor"),
    "LinearLR-start": (lambda o: lr_scheduler.LinearLR(o, start_factor="0.5"), "LinearLR: start_factor"),
    "LinearLR-end": (lambda o: lr_scheduler.LinearLR(o, end_factor="1"), "LinearLR: end_factor"),
    "PolynomialLR-power": (lambda o: lr_scheduler.PolynomialLR(o, power="2"), "PolynomialLR: power"),
    "CosineAnnealingLR-T_max": (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max="10"), "CosineAnnealingLR: T_max"),
    "CosineAnnealingLR-eta_min": (lambda o: lr_scheduler.CosineAnnealingLR(o, 10, eta_min="0"),
                                  "CosineAnnealingLR: eta_min"),
    "ReduceLROnPlateau-factor": (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor="0.1"),
                                 "ReduceLROnPlateau: factor"),
    "ReduceLROnPlateau-min_lr": (lambda o: lr_scheduler.ReduceLROnPlateau(o, min_lr="1e-6"),
                                 "ReduceLROnPlateau: min_lr"),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule_hyperparameter_of_wrong_type_is_named_and_changes_nothing(device, name):
    """A YAML reader leaves `gamma: 1e-1` a string. These failed with Python's raw "can't
    multiply sequence by non-int of type 'float'" (or "'<=' not supported..."), StepLR's and
    MultiStepLR's only at the first epoch that changes the rate, as the optimizer's own
    hyperparameters (and CyclicLR's, OneCycleLR's) already are named."""
    make, prefix = SCHEDULES[name]
    optimizer = nn.optim.SGD([ag.randn(2, requires_grad=True)], lr=0.1)
    with pytest.raises(TypeError, match=rf"{prefix} must be a number, got (str|NoneType)"):
        make(optimizer)
    assert optimizer.param_groups[0]["lr"] == 0.1
    assert "initial_lr" not in optimizer.param_groups[0]


def test_multistep_milestones_as_strings_are_refused_not_silently_never_reached(device):
    """MultiStepLR(opt, ["2"]) never lowered the rate: epoch 2 is not the string "2"."""
    optimizer = nn.optim.SGD([ag.randn(2, requires_grad=True)], lr=1.0)
    with pytest.raises(TypeError, match=r"MultiStepLR: milestones must be integer epochs, got '2'"):
        lr_scheduler.MultiStepLR(optimizer, ["2"], gamma=0.5)
    with pytest.raises(TypeError, match=r"got 2.5"):
        lr_scheduler.MultiStepLR(optimizer, [2.5], gamma=0.5)
    # NumPy integers and whole floats are epochs, as in PyTorch
    for milestones in (np.array([2]), [2.0]):
        optimizer.param_groups[0]["lr"] = 1.0
        schedule = lr_scheduler.MultiStepLR(optimizer, milestones, gamma=0.5)
        for _ in range(2):
            optimizer.step()
            schedule.step()
        assert optimizer.param_groups[0]["lr"] == 0.5


@pytest.mark.parametrize("metric", [None, "0.5"], ids=["None", "str"])
def test_plateau_step_without_a_metric_says_what_to_pass_and_counts_nothing(device, metric):
    """Now "float() argument must be a string or a real number, not 'NoneType'" for a
    missing val_loss; and a string was parsed as a number."""
    optimizer = nn.optim.SGD([ag.randn(2, requires_grad=True)], lr=0.1)
    schedule = lr_scheduler.ReduceLROnPlateau(optimizer, patience=0)
    schedule.step(1.0)
    before = (schedule.last_epoch, schedule.best, schedule.num_bad_epochs)
    with pytest.raises(TypeError, match=r"ReduceLROnPlateau\.step: metrics must be the monitored value.*"
                                        r"scheduler\.step\(val_loss\)"):
        schedule.step(metric)
    assert (schedule.last_epoch, schedule.best, schedule.num_bad_epochs) == before
    schedule.step(ag.tensor(2.0))  # a one-element tensor is a metric: worse, so the rate drops
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01)


# --- nn.fit with arguments swapped or of the wrong kind -------------------------------------------

def _fit_setup():
    model = nn.Linear(3, 2)
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1)
    dataset = nn.data.TensorDataset(ag.randn(8, 3), ag.randint(0, 2, 8))
    return model, optimizer, dataset, nn.data.DataLoader(dataset, batch_size=4)


@pytest.mark.parametrize("mistake, message", [
    (lambda m, o, ds, dl: nn.fit(m, o, F.cross_entropy, dl), r"fit: loss_fn must be a callable loss.*got SGD"),
    (lambda m, o, ds, dl: nn.fit(m, F.cross_entropy, m, dl), r"fit: optimizer must be an optimizer.*got Linear"),
    (lambda m, o, ds, dl: nn.fit(m, "cross_entropy", o, dl), r"fit: loss_fn must be a callable loss.*got str"),
    (lambda m, o, ds, dl: nn.fit(m.parameters(), F.cross_entropy, o, dl), r"fit: model must be an nn\.Module"),
    (lambda m, o, ds, dl: nn.fit(m, F.cross_entropy, o, ds), r"fit: train_loader is a Dataset.*DataLoader"),
    (lambda m, o, ds, dl: nn.fit(m, F.cross_entropy, o, dl, ds), r"fit: val_loader is a Dataset.*DataLoader"),
], ids=["optimizer-and-loss-swapped", "model-as-optimizer", "loss-name", "parameters-as-model",
        "dataset-as-train-loader", "dataset-as-val-loader"])
def test_fit_refuses_wrong_arguments_before_training(device, mistake, message):
    """Swapped arguments failed only inside the first batch, after a forward and backward
    ("'function' object has no attribute 'zero_grad'"); a Dataset passed as the loader
    trained silently on one unbatched sample per step."""
    model, optimizer, dataset, loader = _fit_setup()
    weight = model.weight.numpy().copy()
    with pytest.raises(TypeError, match=message):
        mistake(model, optimizer, dataset, loader)
    np.testing.assert_array_equal(model.weight.numpy(), weight)
    assert model.weight.grad is None


# --- hooks that cannot be called ----------------------------------------------------------------

def test_tensor_hook_that_is_not_callable_is_refused_when_registered(device):
    """Now accepted, then backward fails with a bare "'int' object is not callable"."""
    x = ag.randn(3, requires_grad=True)
    with pytest.raises(TypeError, match=r"register_hook: the hook must be a function, got int"):
        x.register_hook(5)
    (x * 2).sum().backward()  # nothing was registered
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])


@pytest.mark.parametrize("register", ["register_forward_hook", "register_forward_pre_hook"])
def test_module_hook_that_is_not_callable_is_refused_when_registered(device, register):
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=rf"{register}: the hook must be a function, got str"):
        getattr(layer, register)("print")
    x = ag.randn(1, 2)
    np.testing.assert_allclose(layer(x).numpy(), F.linear(x, layer.weight, layer.bias).numpy())


# --- in-place fills and clamps given strings -----------------------------------------------------

@pytest.mark.parametrize("change, message", [
    (lambda t: t.fill_("1"), r"fill_: value must be a real number, a bool or a 0-d tensor, not str '1'"),
    (lambda t: t.fill_(None), r"fill_: value must be a real number, a bool or a 0-d tensor, not NoneType"),
    (lambda t: nn.init.constant_(t, "0.5"), r"fill_: value must be a real number"),
    (lambda t: t.clamp_("0", 1), r"clip: min must be a real number or a Tensor, not str '0'"),
    (lambda t: t.clamp(max=[1.0]), r"clip: max must be a real number or a Tensor, not list"),
], ids=["fill_-str", "fill_-None", "init.constant_-str", "clamp_-str", "clamp-list"])
def test_fill_and_clamp_refuse_values_that_are_not_numbers(device, torch, change, message):
    """fill_("1") filled 1 (NumPy parses the string; torch raises TypeError), fill_("a")
    raised NumPy's "could not convert string to float", and clamp_("0", 1) Python's
    "'>' not supported between instances of 'str' and 'int'"."""
    with pytest.raises(TypeError):
        torch.zeros(2).fill_("1")
    t = ag.tensor([3.0, -2.0])
    with pytest.raises(TypeError, match=message):
        change(t)
    assert t.tolist() == [3.0, -2.0]


def test_fill_and_clamp_still_take_numpy_scalars_and_0d_arrays(device):
    t = ag.tensor([3.0, -2.0])
    assert t.clamp(np.array(-1.0), np.float32(2.0)).tolist() == [2.0, -1.0]
    assert t.fill_(np.float64(0.5)).tolist() == [0.5, 0.5]


# --- checkpoints saved to a folder -----------------------------------------------------------------

def test_save_to_a_directory_names_it_and_leaves_nothing_behind(device, tmp_path):
    """Now "[Errno 21] Is a directory: '.../.tmp_xyz.1a2b3c4d.tmp' -> '...'": the name
    of our temporary file, not the fix (nn.load already says so for a directory)."""
    folder = tmp_path / "run"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match=r"nn\.save: .*run is a directory; pass a file path inside it"):
        nn.save(nn.Linear(2, 2).state_dict(), folder)
    assert os.listdir(folder) == [] and sorted(os.listdir(tmp_path)) == ["run"]


# --- layer norm sizes that are not integers ------------------------------------------------------

def test_layer_norm_with_a_float_size_names_normalized_shape(device):
    """LayerNorm(d_model / 2) raised "'float' object is not iterable"; F.layer_norm(x, 3.0)
    too, and a float inside a tuple, (3.0,), was taken silently."""
    with pytest.raises(ValueError, match=r"LayerNorm: normalized_shape must be positive ints, got \(3\.0,\)"):
        nn.LayerNorm(3.0)
    x = ag.randn(2, 3)
    for shape in (3.0, (3.0,)):
        with pytest.raises(TypeError, match=r"layer_norm: normalized_shape must be an int or a sequence of ints"):
            F.layer_norm(x, shape)
    ours = F.layer_norm(x, np.int64(3)).numpy()
    mean, var = x.numpy().mean(-1, keepdims=True), x.numpy().var(-1, keepdims=True)
    np.testing.assert_allclose(ours, (x.numpy() - mean) / np.sqrt(var + 1e-5), rtol=1e-5, atol=1e-6)


# --- negative sizes -------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, op", [
    (lambda: ag.zeros(-1, 3), "zeros"),
    (lambda: ag.ones((2, -3)), "ones"),
    (lambda: ag.empty(-1), "empty"),
    (lambda: ag.full((-2,), 1.0), "full"),
    (lambda: ag.rand(-1, 2), "rand"),
    (lambda: ag.randn(-1), "randn"),
    (lambda: ag.randint(0, 3, (-1,)), "randint"),
    (lambda: ag.eye(2, -1), "eye"),
    (lambda: ag.linspace(0, 1, -1), "linspace"),
])
def test_creation_with_a_negative_size_names_the_op(device, make, op):
    """Now NumPy's bare "negative dimensions are not allowed" (raised inside its random
    generator for randn) or "Number of samples, -1, must be non-negative"."""
    with pytest.raises(ValueError, match=rf"^{op}: negative size in \(.*-\d.*\); every size must be >= 0"):
        make()


def test_creation_with_a_float_size_names_the_op(device):
    with pytest.raises(TypeError, match=r"^eye: a shape takes integer sizes, got 2\.5"):
        ag.eye(2.5)
    with pytest.raises(TypeError, match=r"^reshape: a shape takes integer sizes, got 3\.0"):
        ag.zeros(6).reshape(2, 3.0)


# --- batches of samples of different shapes -------------------------------------------------------

def test_default_collate_of_ragged_samples_says_to_pad_or_collate(device):
    """Now "stack: all tensors need one shape, got (3,) and (4,)", from deep in the loader."""
    loader = nn.data.DataLoader([(ag.zeros(3), 0), (ag.zeros(4), 1)], batch_size=2)
    with pytest.raises(ValueError, match=r"default_collate: samples have different shapes, such as \(3,\) and "
                                         r"\(4,\).*collate_fn"):
        next(iter(loader))
    batch = default_collate([ag.tensor([1.0, 2.0]), ag.tensor([3.0, 4.0])])
    assert batch.tolist() == [[1.0, 2.0], [3.0, 4.0]]
