"""What a differential fuzz of training-loop fidelity against PyTorch 2.13 turned up: runs
interrupted and resumed from checkpoints (model and optimizer through safetensors files, the
schedule's state dict beside them) for every optimizer under fifteen schedules, add_param_group,
frozen and unfrozen parameters, both zero_grad modes, gradient accumulation and clipping
(all of which continued bit for bit, and matched PyTorch's trajectories), the step-order
warning, and state dicts loaded into schedulers of another kind."""
import copy
import warnings

import numpy as np
import pytest

import autograd as ag
import nn
from nn import optim
from nn.optim import lr_scheduler

STEP_ORDER = "before optimizer.step"  # ours: "scheduler.step() was called before optimizer.step()"
TORCH_STEP_ORDER = "Detected call of `lr_scheduler.step\\(\\)` before `optimizer.step\\(\\)`"

RNG = np.random.default_rng(20130)
W0, B0 = RNG.standard_normal((3, 4)), RNG.standard_normal(3)
INPUTS = [RNG.standard_normal((5, 4)) for _ in range(8)]
TARGETS = [RNG.standard_normal((5, 3)) for _ in range(8)]


class _Ours:
    optim, lr_scheduler = optim, lr_scheduler

    @staticmethod
    def params():
        return [nn.Parameter(ag.tensor(W0, dtype=ag.float64)), nn.Parameter(ag.tensor(B0, dtype=ag.float64))]

    @staticmethod
    def loss(params, t):
        w, b = params
        y = ag.tanh(ag.tensor(INPUTS[t]) @ w.T + b)
        return ((y - ag.tensor(TARGETS[t])) ** 2).mean()


def _theirs(torch):
    class Theirs:
        optim, lr_scheduler = torch.optim, torch.optim.lr_scheduler

        @staticmethod
        def params():
            return [torch.nn.Parameter(torch.tensor(W0)), torch.nn.Parameter(torch.tensor(B0))]

        @staticmethod
        def loss(params, t):
            w, b = params
            y = torch.tanh(torch.tensor(INPUTS[t]) @ w.T + b)
            return ((y - torch.tensor(TARGETS[t])) ** 2).mean()
    return Theirs


def _steps(lib, params, opt, schedule, start, stop):
    for t in range(start, stop):
        def closure():
            opt.zero_grad()
            loss = lib.loss(params, t)
            loss.backward()
            return loss
        loss = opt.step(closure)
        if isinstance(schedule, lib.lr_scheduler.ReduceLROnPlateau):
            schedule.step(loss.item())
        else:
            schedule.step()


RUNS = [  # (optimizer, its options, a schedule)
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
     lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=8, three_phase=True)),
    ("SGD", dict(lr=0.1, momentum=0.8, dampening=0.3), lambda m, o: m.StepLR(o, step_size=3, gamma=0.5)),
    ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1),
     lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3, mode="exp_range", gamma=0.9)),
    ("AdamW", dict(lr=0.05, amsgrad=True), lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1),
     lambda m, o: m.ReduceLROnPlateau(o, patience=0, factor=0.5)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.9), lambda m, o: m.CosineAnnealingLR(o, T_max=3)),
    ("Adadelta", dict(lr=1.0, rho=0.8), lambda m, o: m.PolynomialLR(o, total_iters=6, power=2.0)),
    ("Adamax", dict(lr=0.05), lambda m, o: m.ExponentialLR(o, gamma=0.9)),
    ("NAdam", dict(lr=0.05, decoupled_weight_decay=True, weight_decay=0.1),
     lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.1, total_iters=3),
                                     m.ExponentialLR(o, gamma=0.9)], milestones=[3])),
    ("RAdam", dict(lr=0.05), lambda m, o: m.ChainedScheduler([m.ConstantLR(o, factor=0.5, total_iters=2),
                                                              m.MultiStepLR(o, milestones=[2, 5, 5])])),
    ("ASGD", dict(lr=0.05, t0=2, lambd=0.01), lambda m, o: m.LambdaLR(o, lambda epoch: 0.9 ** epoch)),
    ("Rprop", dict(lr=0.05), lambda m, o: m.MultiplicativeLR(o, lambda epoch: 0.95)),
    ("Adafactor", dict(lr=0.05), lambda m, o: m.LinearLR(o, start_factor=0.25, total_iters=5)),
    ("LBFGS", dict(lr=0.1, max_iter=3, history_size=2), lambda m, o: m.StepLR(o, step_size=2, gamma=0.5)),
]


@pytest.mark.filterwarnings("ignore:The epoch argument")
@pytest.mark.parametrize("name, options, schedule", RUNS, ids=[f"{run[0]}-{i}" for i, run in enumerate(RUNS)])
def test_a_run_resumed_from_a_checkpoint_continues_bit_for_bit_and_follows_pytorch(name, options, schedule,
                                                                                    tmp_path, torch):
    # A guard over what the fuzz checked: no finding here, every optimizer resumed exactly.
    def make(lib):
        params = lib.params()
        opt = getattr(lib.optim, name)(params, **options)
        return params, opt, schedule(lib.lr_scheduler, opt)

    straight = make(_Ours)
    _steps(_Ours, *straight, 0, 8)
    theirs = _theirs(torch)
    reference = make(theirs)
    _steps(theirs, *reference, 0, 8)
    for ours, ref in zip(straight[0], reference[0]):
        np.testing.assert_allclose(ours.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)

    first = make(_Ours)
    _steps(_Ours, *first, 0, 4)
    path = tmp_path / "half_way.safetensors"
    nn.save({"w": first[0][0], "b": first[0][1]}, path, optimizer=first[1])
    schedule_state = copy.deepcopy(first[2].state_dict())
    params, opt, resumed_schedule = make(_Ours)
    saved = nn.load(path)
    with ag.no_grad():
        for p, key in zip(params, ("w", "b")):
            p.copy_(saved[key])
    opt.load_state_dict(nn.load_optimizer_state(path))
    resumed_schedule.load_state_dict(schedule_state)
    _steps(_Ours, params, opt, resumed_schedule, 4, 8)
    for resumed, uninterrupted in zip(params, straight[0]):
        np.testing.assert_array_equal(resumed.numpy(), uninterrupted.numpy())
    assert opt.param_groups[0]["lr"] == straight[1].param_groups[0]["lr"]


# --- the step-order warning -----------------------------------------------------------------

SCHEDULES = {"StepLR": lambda m, o: m.StepLR(o, step_size=2),
             "OneCycleLR": lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=10),
             "LambdaLR": lambda m, o: m.LambdaLR(o, lambda epoch: 0.5 ** epoch)}


def _stepped_sgd(lib, params):
    opt = lib.optim.SGD(params, lr=0.1, momentum=0.9)
    for p in params:
        p.grad = p * 0 + 1
    opt.step()  # a warm-up step, taken before any scheduler is made
    return opt


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_a_step_taken_before_the_scheduler_was_made_does_not_excuse_a_scheduler_step_first(schedule, torch):
    # The warning looked at whether the optimizer had ever stepped, so a phase of training
    # before the scheduler (a warm-up, a first stage) hid the swapped calls in the loop after
    # it, and the schedule's first rate was skipped without a word. PyTorch counts only
    # the steps taken since its first scheduler was made, and warns.
    theirs = _theirs(torch)
    ours_opt, their_opt = _stepped_sgd(_Ours, _Ours.params()), _stepped_sgd(theirs, theirs.params())
    ours, ref = (SCHEDULES[schedule](lib.lr_scheduler, o) for lib, o in ((_Ours, ours_opt), (theirs, their_opt)))
    with pytest.warns(UserWarning, match=TORCH_STEP_ORDER):
        ref.step()
    with pytest.warns(UserWarning, match=STEP_ORDER):
        ours.step()
    assert ours_opt.param_groups[0]["lr"] == their_opt.param_groups[0]["lr"]


def test_a_second_scheduler_counts_the_steps_taken_since_the_first_was_made(torch):
    # As PyTorch: once an optimizer stepped under a scheduler, a scheduler made later (the next
    # stage's) does not warn when stepped first.
    theirs = _theirs(torch)
    for lib in (_Ours, theirs):
        opt = lib.optim.SGD(lib.params(), lr=0.1)
        lib.lr_scheduler.StepLR(opt, step_size=2)
        opt.step()
        later = lib.lr_scheduler.ExponentialLR(opt, gamma=0.5)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            later.step()


# --- state dicts of another kind of scheduler --------------------------------------------------

def _sgd():
    return optim.SGD([nn.Parameter(ag.zeros(2))], lr=0.1, momentum=0.9)


def _stepped(make, steps=3):
    opt = _sgd()
    schedule = make(opt)
    for _ in range(steps):
        opt.step()
        schedule.step()
    return schedule.state_dict()


OTHER_KINDS = [
    # (saved by, loaded into, what the error names); PyTorch loads the first four without a
    # word, and mixes the two schedules: a StepLR's state made an ExponentialLR decay by the
    # StepLR's gamma from its epoch, the others' rates came from neither.
    (lambda o: lr_scheduler.StepLR(o, step_size=2, gamma=0.5), lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9),
     "it holds 'step_size', which this ExponentialLR does not keep"),
    (lambda o: lr_scheduler.StepLR(o, step_size=2), lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=4),
     "it lacks 'T_max', 'eta_min', which this CosineAnnealingLR keeps"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10),
     lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=3), "it lacks 'T_0'"),
    (lambda o: lr_scheduler.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=2),
     lambda o: lr_scheduler.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=2, cycle_momentum=False),
     "it holds 'base_momentums', 'max_momentums', 'use_beta1'"),
    # PyTorch raises a bare KeyError: 'lr_lambdas'; ours loaded it and kept the StepLR's epoch.
    (lambda o: lr_scheduler.StepLR(o, step_size=2), lambda o: lr_scheduler.LambdaLR(o, lambda epoch: 0.9 ** epoch),
     "it lacks 'lr_lambdas'"),
    (lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9), lambda o: lr_scheduler.ReduceLROnPlateau(o),
     "it lacks 'best', 'cooldown'"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.ConstantLR(o), lr_scheduler.ExponentialLR(o, 0.9)], [2]),
     lambda o: lr_scheduler.ChainedScheduler([lr_scheduler.ConstantLR(o), lr_scheduler.ExponentialLR(o, 0.9)]),
     "it holds 'last_epoch', which this ChainedScheduler does not keep"),
]


@pytest.mark.filterwarnings("ignore:scheduler.step\\(\\) was called before optimizer.step:UserWarning")
@pytest.mark.parametrize("saved_by, loaded_into, named", OTHER_KINDS)
def test_a_schedulers_state_is_refused_by_a_scheduler_of_another_kind_and_nothing_changes(saved_by, loaded_into,
                                                                                          named):
    saved = _stepped(saved_by)
    opt = _sgd()
    target = loaded_into(opt)
    before, lr = copy.deepcopy(target.state_dict()), opt.param_groups[0]["lr"]
    kind = type(target).__name__
    with pytest.raises(ValueError, match=f"{kind}.load_state_dict: the saved state is not this {kind}'s: .*{named}"):
        target.load_state_dict(saved)
    assert repr(target.state_dict()) == repr(before) and opt.param_groups[0]["lr"] == lr


@pytest.mark.filterwarnings("ignore:scheduler.step\\(\\) was called before optimizer.step:UserWarning")
def test_a_combination_whose_later_scheduler_refuses_its_state_is_left_as_it_was():
    # SequentialLR loaded its own entries and its first scheduler's before the second refused:
    # all or nothing now, as its step is.
    def warm_up_then(decay):
        return lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=2),
                                                       decay(o)], milestones=[2])
    saved = _stepped(warm_up_then(lambda o: lr_scheduler.StepLR(o, step_size=2)), steps=4)
    target = warm_up_then(lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9))(_sgd())
    before = repr(target.state_dict())
    with pytest.raises(ValueError, match="ExponentialLR.load_state_dict: .*it holds 'step_size'"):
        target.load_state_dict(saved)
    assert repr(target.state_dict()) == before
    assert target.last_epoch == 0 and target._schedulers[0].last_epoch == 0


def test_a_state_saved_by_pytorch_still_loads(torch):
    # The check looks at the settings only: PyTorch's private entries (2.13's
    # _get_lr_called_within_step) and its retired 'verbose' do not count against a state.
    param = torch.nn.Parameter(torch.zeros(2))
    their_opt = torch.optim.SGD([param], lr=0.1, momentum=0.9)
    theirs = torch.optim.lr_scheduler.OneCycleLR(their_opt, max_lr=0.1, total_steps=10)
    for _ in range(3):
        their_opt.step()
        theirs.step()
    saved = dict(theirs.state_dict(), verbose=False)
    opt = _sgd()
    opt.load_state_dict({"state": {}, "param_groups": [
        {**group, "params": [0]} for group in their_opt.state_dict()["param_groups"]]})
    ours = lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    ours.load_state_dict(saved)
    for _ in range(3):
        opt.step()
        their_opt.step()
        ours.step()
        theirs.step()
        assert opt.param_groups[0]["lr"] == their_opt.param_groups[0]["lr"]
        assert opt.param_groups[0]["momentum"] == their_opt.param_groups[0]["momentum"]
