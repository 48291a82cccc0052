"""LR schedulers in checkpoints: nn.save(..., scheduler=), nn.load_scheduler_state and
nn.restore(..., scheduler=) for all fifteen schedulers, runs resumed from a file (by hand and
through nn.fit's ModelCheckpoint and initial_epoch) against the uninterrupted run bit for bit,
and damaged or mismatched files, which are refused with nothing changed."""
import copy
import json
from collections import Counter

import numpy as np
import pytest
import safetensors
import safetensors.numpy

import autograd as ag
import nn
from nn import optim
from nn.data import DataLoader, TensorDataset
from nn.functional import cross_entropy
from nn.optim import lr_scheduler as sched

RNG = np.random.default_rng(4242)
W0, B0 = RNG.standard_normal((3, 4)), RNG.standard_normal(3)
INPUTS = [RNG.standard_normal((5, 4)) for _ in range(12)]
TARGETS = [RNG.standard_normal((5, 3)) for _ in range(12)]


class Scale:
    """A callable object: state dicts keep its attributes (a plain function is not saved)."""

    def __init__(self, base):
        self.base = base

    def __call__(self, x):
        return self.base ** x


class Halving(Scale):
    """LambdaLR's function that changes itself: the restored run must see base as it was."""

    def __call__(self, epoch):
        self.base *= 0.99
        return self.base ** epoch


# name -> (optimizer, its options, a schedule of it). Together they hold all fifteen kinds.
SCHEDULES = {
    "LambdaLR": ("SGD", {}, lambda o: sched.LambdaLR(o, Halving(0.9))),
    "MultiplicativeLR": ("SGD", {}, lambda o: sched.MultiplicativeLR(o, lambda epoch: 0.95)),
    "StepLR": ("SGD", dict(momentum=0.9), lambda o: sched.StepLR(o, step_size=3, gamma=0.5)),
    "StepLR-tensor-lr": ("Adam", dict(lr=ag.tensor(0.05, dtype=ag.float64)),
                         lambda o: sched.StepLR(o, step_size=2, gamma=0.5)),
    "MultiStepLR": ("SGD", {}, lambda o: sched.MultiStepLR(o, milestones=[2, 5, 5, 8], gamma=0.5)),
    "MultiStepLR-numpy-milestones": ("SGD", {}, lambda o: sched.MultiStepLR(o, milestones=np.array([3, 7]))),
    "ConstantLR": ("SGD", {}, lambda o: sched.ConstantLR(o, factor=0.5, total_iters=7)),
    "LinearLR": ("Adam", {}, lambda o: sched.LinearLR(o, start_factor=0.25, total_iters=8)),
    "ExponentialLR": ("SGD", {}, lambda o: sched.ExponentialLR(o, gamma=0.9)),
    "PolynomialLR": ("SGD", {}, lambda o: sched.PolynomialLR(o, total_iters=9, power=2.0)),
    "CosineAnnealingLR": ("SGD", {}, lambda o: sched.CosineAnnealingLR(o, T_max=4, eta_min=0.001)),
    "CosineAnnealingWarmRestarts": ("SGD", {}, lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2)),
    "OneCycleLR": ("Adam", {}, lambda o: sched.OneCycleLR(o, max_lr=0.1, total_steps=12, three_phase=True)),
    "CyclicLR": ("SGD", dict(momentum=0.9),
                 lambda o: sched.CyclicLR(o, 0.01, 0.1, step_size_up=3, scale_fn=Scale(0.8), scale_mode="iterations")),
    "ReduceLROnPlateau": ("SGD", {}, lambda o: sched.ReduceLROnPlateau(o, patience=0, factor=0.5, cooldown=1)),
    "SequentialLR": ("SGD", {}, lambda o: sched.SequentialLR(
        o, [sched.LinearLR(o, start_factor=0.1, total_iters=3), sched.MultiStepLR(o, milestones=[2, 4])],
        milestones=[4])),
    "ChainedScheduler": ("SGD", {}, lambda o: sched.ChainedScheduler(
        [sched.ConstantLR(o, factor=0.5, total_iters=3), sched.MultiStepLR(o, milestones=[2, 5, 5]),
         sched.LambdaLR(o, Scale(0.97))])),
}


def make(name):
    """Fresh parameters, optimizer and scheduler, as a resumed process makes them."""
    optimizer_name, options, schedule = SCHEDULES[name]
    params = [nn.Parameter(ag.tensor(W0, dtype=ag.float64)), nn.Parameter(ag.tensor(B0, dtype=ag.float64))]
    options = {key: value.clone() if isinstance(value, ag.Tensor) else value for key, value in options.items()}
    optimizer = getattr(nn.optim, optimizer_name)(params, **{"lr": 0.05, **options})  # (a Tensor rate: its own)
    return params, optimizer, schedule(optimizer)


def train(params, optimizer, scheduler, start, stop):
    """Steps start..stop-1, the scheduler stepped after each; the rates seen at every step."""
    rates = []
    for t in range(start, stop):
        optimizer.zero_grad()
        w, b = params
        loss = ((ag.tanh(ag.tensor(INPUTS[t]) @ w.T + b) - ag.tensor(TARGETS[t])) ** 2).mean()
        loss.backward()
        optimizer.step()
        if isinstance(scheduler, sched.ReduceLROnPlateau):
            scheduler.step(loss.item())
        else:
            scheduler.step()
        rates.append([float(group["lr"]) for group in optimizer.param_groups])
    return rates


def as_model(params):
    return {"w": params[0], "b": params[1]}


class _Params(nn.Module):
    """The two parameters under as_model's names, for nn.restore."""

    def __init__(self, params):
        super().__init__()
        self.w, self.b = params


def assert_same_state(actual, expected, where="state"):
    """Equal values of the same types all the way down (a tuple is not a list, 2 not 2.0 nor
    "2"); a decoded Counter may come back a dict with the same items, and a NumPy integer
    (np.array milestones) as Python's."""
    expected = _plain(expected)
    if isinstance(expected, ag.Tensor):
        assert isinstance(actual, ag.Tensor) and actual.dtype == expected.dtype, where
        np.testing.assert_array_equal(actual.numpy(), expected.numpy(), err_msg=where)
        return
    assert isinstance(actual, dict) if isinstance(expected, dict) else type(actual) is type(expected), \
        f"{where}: {type(actual).__name__} != {type(expected).__name__}"
    if isinstance(expected, dict):
        keys = [_plain(k) for k in expected]
        assert list(actual) == keys and [type(k) for k in actual] == [type(k) for k in keys], where
        for key in expected:
            assert_same_state(actual[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same_state(a, e, f"{where}[{i}]")
    else:
        assert actual == expected or (actual != actual and expected != expected), f"{where}: {actual!r} != {expected!r}"


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


@pytest.mark.parametrize("name", SCHEDULES)
def test_every_scheduler_round_trips_through_a_checkpoint_and_the_run_continues_bit_for_bit(name, tmp_path):
    straight = make(name)
    straight_rates = train(*straight, 0, 12)

    first = make(name)
    train(*first, 0, 5)
    path = tmp_path / "ckpt.safetensors"
    nn.save(as_model(first[0]), path, optimizer=first[1], scheduler=first[2])
    assert_same_state(nn.load_scheduler_state(path), first[2].state_dict())
    assert list(nn.load(path)) == ["w", "b"]  # the scheduler's tensors stay out of the model's

    params, optimizer, scheduler = make(name)
    nn.restore(path, _Params(params), optimizer, scheduler=scheduler)
    assert_same_state(scheduler.state_dict(), first[2].state_dict())
    if name.startswith("MultiStepLR"):
        assert type(scheduler.milestones) is Counter  # its closed form (step(epoch)) counts with it
    rates = train(params, optimizer, scheduler, 5, 12)
    assert rates == straight_rates[5:]
    for resumed, uninterrupted in zip(params, straight[0]):
        np.testing.assert_array_equal(resumed.numpy(), uninterrupted.numpy())


def test_a_multistep_schedule_loaded_from_a_checkpoint_still_jumps_with_step_epoch(tmp_path):
    # A checkpoint's dict gave back milestones as a plain dict, which step(epoch)'s closed form
    # (Counter.elements) could not use.
    params, optimizer, scheduler = make("MultiStepLR")
    path = tmp_path / "ckpt.safetensors"
    nn.save(as_model(params), path, scheduler=scheduler)
    _, other_optimizer, loaded = make("MultiStepLR")
    loaded.load_state_dict(nn.load_scheduler_state(path))
    optimizer.step(), other_optimizer.step()  # (no gradients: only the scheduler moves)
    with pytest.warns(UserWarning, match="epoch argument"):
        scheduler.step(6)
    with pytest.warns(UserWarning, match="epoch argument"):
        loaded.step(6)
    assert other_optimizer.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"] == 0.05 * 0.5 ** 3


def test_a_multistep_state_dict_passed_through_json_is_refused_not_silently_kept(tmp_path):
    # Its milestones came back with str keys, which no epoch equals: the rate never dropped.
    _, _, source = make("MultiStepLR")
    through_json = json.loads(json.dumps(source.state_dict()))
    params, optimizer, scheduler = make("MultiStepLR")
    train(params, optimizer, scheduler, 0, 3)
    before = copy.deepcopy(scheduler.state_dict())
    with pytest.raises(TypeError, match=r"MultiStepLR.load_state_dict: the saved milestones must map integer "
                                        r"epochs to counts, got \{'2': 1, '5': 2, '8': 1\}; a state dict saved "
                                        r"as JSON has str keys: save it with nn.save\(\.\.\., scheduler=scheduler\)"):
        scheduler.load_state_dict(through_json)
    assert_same_state(scheduler.state_dict(), before)


# --- nn.fit: ModelCheckpoint saves the schedule, initial_epoch continues it -----------------

FIT_SCHEDULES = {
    "StepLR": lambda o: sched.StepLR(o, step_size=1, gamma=0.5),
    "MultiStepLR": lambda o: sched.MultiStepLR(o, milestones=[1, 3, 3], gamma=0.5),
    "OneCycleLR": lambda o: sched.OneCycleLR(o, max_lr=0.2, epochs=4, steps_per_epoch=5),  # per batch
    "ReduceLROnPlateau": lambda o: sched.ReduceLROnPlateau(o, patience=0, factor=0.5, threshold=0.5),
}


def _fit_run(schedule, seed=0):
    """A model, SGD with momentum, the schedule and a seeded shuffling loader, made afresh."""
    ag.manual_seed(seed)
    rng = np.random.default_rng(1)
    data = TensorDataset(ag.tensor(rng.normal(size=(40, 3)).astype(np.float32)), ag.tensor(rng.integers(0, 3, 40)))
    model = nn.Linear(3, 3)
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return model, optimizer, FIT_SCHEDULES[schedule](optimizer), DataLoader(data, batch_size=8, shuffle=True, seed=7)


@pytest.mark.parametrize("schedule", FIT_SCHEDULES)
def test_fit_resumed_from_a_model_checkpoint_continues_the_schedule_bit_for_bit(schedule, tmp_path):
    # ModelCheckpoint saved the model and optimizer but not the scheduler: a resumed run
    # restarted the rates (StepLR's back to 0.1, ReduceLROnPlateau's best forgotten).
    model, optimizer, scheduler, loader = _fit_run(schedule)
    whole = nn.fit(model, cross_entropy, optimizer, loader, epochs=4, scheduler=scheduler, metrics=(), progress=False)

    first, optimizer1, scheduler1, loader1 = _fit_run(schedule)
    every = nn.ModelCheckpoint(tmp_path / "epoch-{epoch}.safetensors", monitor="train_loss", save_best_only=False)
    nn.fit(first, cross_entropy, optimizer1, loader1, epochs=2, scheduler=scheduler1, callbacks=[every], metrics=(),
           progress=False)

    resumed, optimizer2, scheduler2, loader2 = _fit_run(schedule, seed=123)  # the checkpoint replaces the weights
    nn.restore(tmp_path / "epoch-2.safetensors", resumed, optimizer2, scheduler=scheduler2)
    rest = nn.fit(resumed, cross_entropy, optimizer2, loader2, epochs=4, initial_epoch=2, scheduler=scheduler2,
                  metrics=(), progress=False)
    assert rest["epoch"] == [3, 4]
    assert rest["lr"] == whole["lr"][2:] and rest.train_loss == whole.train_loss[2:]
    assert optimizer2.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]
    assert optimizer2.param_groups[0]["momentum"] == optimizer.param_groups[0]["momentum"]  # OneCycleLR cycles it
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key].numpy(), value.numpy())


def test_a_model_checkpoint_without_the_optimizer_saves_no_schedule_either(tmp_path):
    model, optimizer, scheduler, loader = _fit_run("StepLR")
    bare = nn.ModelCheckpoint(tmp_path / "model.safetensors", monitor="train_loss", save_optimizer=False)
    nn.fit(model, cross_entropy, optimizer, loader, epochs=1, scheduler=scheduler, callbacks=[bare], metrics=(),
           progress=False)
    with pytest.raises(KeyError, match="holds no scheduler state"):
        nn.load_scheduler_state(tmp_path / "model.safetensors")


# --- refused: another kind of scheduler, a missing entry, damage -------------------------------

def _snapshot(params, optimizer, scheduler):
    return [p.numpy().copy() for p in params], copy.deepcopy(optimizer.state_dict()), \
        copy.deepcopy(scheduler.state_dict())


def _assert_unchanged(params, optimizer, scheduler, snapshot):
    values, optimizer_state, scheduler_state = snapshot
    for p, value in zip(params, values):
        np.testing.assert_array_equal(p.numpy(), value)
    assert_same_state(optimizer.state_dict(), optimizer_state)
    assert_same_state(scheduler.state_dict(), scheduler_state)


def _saved_by(name, path, steps=4):
    params, optimizer, scheduler = make(name)
    train(params, optimizer, scheduler, 0, steps)
    nn.save(as_model(params), path, optimizer=optimizer, scheduler=scheduler)


@pytest.mark.parametrize("saved_by, target, message", [
    ("CosineAnnealingLR", lambda o: sched.StepLR(o, step_size=3, gamma=0.5),
     r"StepLR.load_state_dict: the saved state is not this StepLR's: it lacks 'gamma', 'step_size', which this "
     r"StepLR keeps; it holds 'T_max', 'eta_min', which this StepLR does not keep"),
    ("SequentialLR", lambda o: sched.SequentialLR(  # the composite loads, its second scheduler refuses
        o, [sched.LinearLR(o, start_factor=0.1, total_iters=3), sched.StepLR(o, step_size=2)], milestones=[4]),
     r"StepLR.load_state_dict: the saved state is not this StepLR's: it lacks 'step_size', which this StepLR "
     r"keeps; it holds 'milestones', which this StepLR does not keep"),
], ids=["another kind", "another kind inside SequentialLR"])
def test_a_scheduler_that_refuses_its_state_leaves_model_optimizer_and_scheduler_as_they_were(saved_by, target,
                                                                                                message, tmp_path):
    path = tmp_path / "ckpt.safetensors"
    _saved_by(saved_by, path)
    params, optimizer, _ = make("StepLR")
    scheduler = target(optimizer)
    train(params, optimizer, scheduler, 0, 2)
    snapshot = _snapshot(params, optimizer, scheduler)
    with pytest.raises(ValueError, match=rf"{path}: the checkpoint's scheduler state does not fit this scheduler: "
                                         rf"{message}"):
        nn.restore(path, _Params(params), optimizer, scheduler=scheduler)
    _assert_unchanged(params, optimizer, scheduler, snapshot)
    # and the run goes on as it would have: the optimizer was put back whole, momentum included
    twin = make("StepLR")
    twin_scheduler = target(twin[1])
    train(twin[0], twin[1], twin_scheduler, 0, 2)
    assert train(params, optimizer, scheduler, 2, 6) == train(twin[0], twin[1], twin_scheduler, 2, 6)
    for p, q in zip(params, twin[0]):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_a_checkpoint_without_scheduler_state_says_how_to_save_one_and_changes_nothing(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    source = make("StepLR")
    train(*source, 0, 4)
    nn.save(as_model(source[0]), path, optimizer=source[1])  # as every file saved before scheduler= was
    expected = rf"{path}: the checkpoint holds no scheduler state; save it with nn.save\(state, path, " \
               r"scheduler=scheduler\)"
    with pytest.raises(KeyError, match=expected):
        nn.load_scheduler_state(path)
    params, optimizer, scheduler = make("StepLR")
    train(params, optimizer, scheduler, 0, 2)  # a state of its own, not a fresh one's
    snapshot = _snapshot(params, optimizer, scheduler)
    with pytest.raises(KeyError, match=expected):
        nn.restore(path, _Params(params), optimizer, scheduler=scheduler)
    _assert_unchanged(params, optimizer, scheduler, snapshot)
    nn.restore(path, _Params(params), optimizer)  # the model and optimizer alone load as before
    np.testing.assert_array_equal(params[0].numpy(), source[0][0].numpy())


def _rewrite(path, change):
    """Rewrite the file with ``change(metadata, tensors)`` applied, as damage would leave it."""
    with safetensors.safe_open(str(path), framework="np") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        metadata = dict(f.metadata())
    change(metadata, tensors)
    safetensors.numpy.save_file(tensors, str(path), metadata=metadata)


def _flip_gamma(metadata, tensors):
    assert metadata["topograd"].count('"gamma":0.5') == 1
    metadata["topograd"] = metadata["topograd"].replace('"gamma":0.5', '"gamma":0.9')


def _flip_base_lr(metadata, tensors):
    tensors["scheduler.base_lrs.0"] = np.asarray(tensors["scheduler.base_lrs.0"] * 2)


def _malform(metadata, tensors):  # valid JSON with the checksum made to match: no skeleton _encode writes
    info = json.loads(metadata["topograd"])
    info["scheduler"]["_last_lr"] = {"__tuple__": 3}
    metadata["topograd"] = json.dumps(info, separators=(",", ":"))
    metadata[nn.checkpoint.METADATA_CRC_KEY] = str(nn.checkpoint._metadata_crc(metadata))


@pytest.mark.parametrize("saved_by, damage, message", [
    ("StepLR", _flip_gamma, "the checkpoint's metadata fails its checksum; the file is corrupt"),
    ("StepLR-tensor-lr", _flip_base_lr, "tensor 'scheduler.base_lrs.0' fails its checksum; the file is corrupt"),
    ("StepLR", _malform, r"the checkpoint's scheduler state is malformed \(TypeError: .*\); the file is corrupt"),
], ids=["hyperparameter", "tensor rate", "skeleton"])
def test_a_damaged_scheduler_state_is_refused_and_nothing_changes(saved_by, damage, message, tmp_path):
    path = tmp_path / "ckpt.safetensors"
    _saved_by(saved_by, path)
    _rewrite(path, damage)
    params, optimizer, scheduler = make(saved_by)
    train(params, optimizer, scheduler, 0, 2)
    snapshot = _snapshot(params, optimizer, scheduler)
    with pytest.raises(ValueError, match=rf"{path}: {message}"):
        nn.restore(path, _Params(params), optimizer, scheduler=scheduler)
    _assert_unchanged(params, optimizer, scheduler, snapshot)


def test_a_scheduler_given_as_something_else_is_refused_before_writing(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    with pytest.raises(TypeError, match=r"nn.save: scheduler must be an LR scheduler or its state_dict\(\), "
                                        r"not list"):
        nn.save({"w": ag.ones(2)}, path, scheduler=[0.1])
    assert not path.exists()



def test_numpy_values_in_a_lambda_object_keep_their_value_or_are_refused_by_name(tmp_path):
    # A 0-d float array has __index__, and the checkpoint saved np.array(0.9) as the int 0: the
    # resumed schedule's rate went to 0. An array with dimensions failed with NumPy's bare message.
    path = tmp_path / "ckpt.safetensors"
    optimizer = optim.SGD([nn.Parameter(ag.ones(2))], lr=0.1)
    scale = Scale(np.array(0.9))
    scale.flag, scale.count = np.bool_(True), np.array(3)
    nn.save({"w": ag.ones(2)}, path, scheduler=sched.LambdaLR(optimizer, scale))
    saved = nn.load_scheduler_state(path)["lr_lambdas"][0]
    assert saved == {"base": 0.9, "flag": True, "count": 3}
    assert [type(v) for v in saved.values()] == [float, bool, int]
    scale.base = np.array([0.9])
    with pytest.raises(TypeError, match=r"nn.save: the state at scheduler.lr_lambdas.0.base is a ndarray of shape "
                                        r"\(1,\), which a checkpoint cannot hold; make it a Tensor"):
        nn.save({"w": ag.ones(2)}, path, scheduler={"lr_lambdas": [vars(scale)]})

# --- an optimizer's checkpoint saved where a schedule took its rate a rounding error below zero

GRADIENT = np.array([0.5, -1.5, 2.0])


def _linear_decay_to_zero(module, opt):
    # A common "decay to zero" schedule; its chainable form ends a rounding error below zero
    # (1 - 1.0000000000000002), in PyTorch as here.
    return module.LinearLR(opt, start_factor=1 / 3, end_factor=0.0, total_iters=4)


# Its schedules step with no optimizer step before the first one, which warns (ours and PyTorch's):
# noise for this test.
@pytest.mark.filterwarnings("ignore:scheduler.step\\(\\) was called before optimizer.step:UserWarning")
@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before:UserWarning")
@pytest.mark.parametrize("name, kwargs", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.1)),
                                          ("LBFGS", dict(lr=0.1))])
def test_a_checkpoint_saved_after_a_schedule_took_lr_below_zero_loads_and_resumes(name, kwargs, tmp_path, torch):
    # load_state_dict re-checked lr >= 0 and refused the optimizer's own checkpoint, saved at
    # the end of a LinearLR decay to 0 (lr -1.85e-17); PyTorch loads it.
    model = nn.Linear(3, 1)
    opt = getattr(optim, name)(model.parameters(), **kwargs)
    ref = getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(3))], **kwargs)
    schedules = [_linear_decay_to_zero(sched, opt), _linear_decay_to_zero(torch.optim.lr_scheduler, ref)]
    for _ in range(4):
        for schedule in schedules:
            schedule.step()
    lr = opt.param_groups[0]["lr"]
    assert lr == ref.param_groups[0]["lr"] < 0
    path = tmp_path / "end_of_training.safetensors"
    nn.save(model, path, optimizer=opt)

    resumed_model = nn.Linear(3, 1)
    resumed = getattr(optim, name)(resumed_model.parameters(), **kwargs)
    nn.restore(path, resumed_model, resumed)
    assert resumed.param_groups[0]["lr"] == lr
    torch_resumed = getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(3))], **kwargs)
    torch_resumed.load_state_dict(ref.state_dict())
    assert torch_resumed.param_groups[0]["lr"] == lr
    if name != "LBFGS":  # one more step continues exactly as the run that was not interrupted
        for m, o in ((model, opt), (resumed_model, resumed)):
            m.weight.grad = ag.tensor(GRADIENT[None].astype(m.weight.dtype))
            m.bias.grad = ag.tensor(np.ones(1, dtype=m.bias.dtype))
            o.step()
        np.testing.assert_array_equal(resumed_model.weight.numpy(), model.weight.numpy())


def test_load_state_dict_still_refuses_a_learning_rate_that_is_not_a_number():
    p = nn.Parameter(ag.zeros(3))
    opt = optim.SGD([p], lr=0.1)
    saved = opt.state_dict()
    saved["param_groups"][0]["lr"] = "-1e-3"
    with pytest.raises(TypeError, match="lr must be a number"):
        opt.load_state_dict(saved)
    assert opt.param_groups[0]["lr"] == 0.1


# --- a restore refused by the scheduler leaves the optimizer's param groups as they were

def _trained(optimizer_kind, options, schedule):
    """A model, its optimizer (two param groups) and schedule, three steps in."""
    model = nn.Linear(3, 2)
    optimizer = optimizer_kind([{"params": [model.weight]}, {"params": [model.bias], "lr": 0.05}], lr=0.1,
                               **options)
    scheduler = schedule(optimizer)
    for _ in range(3):
        optimizer.zero_grad()
        model(ag.ones(4, 3)).sum().backward()
        optimizer.step()
        scheduler.step()
    return model, optimizer, scheduler


def _group_keys(optimizer):
    return [sorted(group) for group in optimizer.param_groups]


def test_a_refused_restore_leaves_the_optimizer_s_param_groups_as_they_were(tmp_path):
    # An SGD + StepLR checkpoint restored into Adam + ExponentialLR: Adam takes the state of an
    # SGD without momentum, which is its param groups alone (as PyTorch's does), then the
    # scheduler refuses StepLR's. Undoing the optimizer by loading its
    # old state_dict() again merged the groups, so they kept SGD's momentum, dampening and
    # nesterov, and the next checkpoint saved them.
    path = tmp_path / "sgd.safetensors"
    model, optimizer, scheduler = _trained(nn.optim.SGD, {}, lambda o: sched.StepLR(o, step_size=2, gamma=0.5))
    nn.save(model, path, optimizer, scheduler=scheduler)
    model, optimizer, scheduler = _trained(nn.optim.Adam, {}, lambda o: sched.ExponentialLR(o, gamma=0.9))
    twin_model, twin_optimizer, twin_scheduler = _trained(nn.optim.Adam, {},
                                                          lambda o: sched.ExponentialLR(o, gamma=0.9))
    keys, lrs = _group_keys(optimizer), [group["lr"] for group in optimizer.param_groups]
    with pytest.raises(ValueError, match="scheduler state does not fit this scheduler.*'step_size'"):
        nn.restore(path, model, optimizer, scheduler=scheduler)
    assert _group_keys(optimizer) == keys
    assert "momentum" not in optimizer.state_dict()["param_groups"][0]
    assert [group["lr"] for group in optimizer.param_groups] == lrs
    # and it carries on as the untouched twin does, moments included
    model.load_state_dict(twin_model.state_dict())
    for opt, sch, mod in ((optimizer, scheduler, model), (twin_optimizer, twin_scheduler, twin_model)):
        opt.zero_grad()
        mod(ag.ones(4, 3)).sum().backward()
        opt.step()
        sch.step()
    assert [group["lr"] for group in optimizer.param_groups] == [g["lr"] for g in twin_optimizer.param_groups]
    for p, q in zip(model.parameters(), twin_model.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
