"""SequentialLR, ChainedScheduler, warm restarts at fractional epochs and the jumps of
``step(epoch)`` for the factor schedules, against torch.optim.lr_scheduler, bit for bit."""
import warnings

import pytest

import autograd as ag
import nn
from nn import optim
from nn.optim import lr_scheduler

from tests.torch_versions import needs_torch

from .test_lr_scheduler import lambda_decay, momenta, pair

# Tests here step schedules on their own to compare rates, with no optimizer step: the
# warning that a training loop would skip its first rate is noise for them.
pytestmark = pytest.mark.filterwarnings("ignore:scheduler.step\\(\\) was called before optimizer.step:UserWarning")

STEPS = 25


def build(lib_sched, opt, spec):
    """A scheduler (or a composition) from a nested spec: (name, kwargs) or
    ("SequentialLR", [specs], kwargs) / ("ChainedScheduler", [specs])."""
    name = spec[0]
    if name == "SequentialLR":
        return lib_sched.SequentialLR(opt, [build(lib_sched, opt, s) for s in spec[1]], **spec[2])
    if name == "ChainedScheduler":
        return lib_sched.ChainedScheduler([build(lib_sched, opt, s) for s in spec[1]])
    return getattr(lib_sched, name)(opt, **spec[1])


COMPOSITIONS = [
    ("SequentialLR", [("LinearLR", dict(start_factor=0.1, total_iters=5)),
                      ("CosineAnnealingLR", dict(T_max=15))], dict(milestones=[5])),
    ("SequentialLR", [("ConstantLR", dict(factor=0.5, total_iters=3)), ("ExponentialLR", dict(gamma=0.9)),
                      ("StepLR", dict(step_size=2, gamma=0.5))], dict(milestones=[4, 12])),
    ("SequentialLR", [("ExponentialLR", dict(gamma=0.8)), ("PolynomialLR", dict(total_iters=10, power=2.0))],
     dict(milestones=[0])),
    ("ChainedScheduler", [("ConstantLR", dict(factor=0.2, total_iters=4)), ("ExponentialLR", dict(gamma=0.93))]),
    ("ChainedScheduler", [("LinearLR", dict(start_factor=0.5, total_iters=6)),
                          ("MultiplicativeLR", dict(lr_lambda=lambda_decay)),
                          ("StepLR", dict(step_size=5, gamma=0.5))]),
    ("SequentialLR", [("ChainedScheduler", [("ConstantLR", dict(factor=0.5, total_iters=2)),
                                            ("ExponentialLR", dict(gamma=0.9))]),
                      ("CosineAnnealingWarmRestarts", dict(T_0=4, T_mult=2))], dict(milestones=[6])),
]


# With a milestone at 0, PyTorch 2.13's SequentialLR starts with the scheduler meant for step 0
# (before, it took its initial step with the first one).
ZERO_MILESTONE = needs_torch("2.13", "SequentialLR with a milestone at 0 starts with the scheduler for step 0")


@pytest.mark.parametrize("spec", [
    pytest.param(s, marks=ZERO_MILESTONE) if s[0] == "SequentialLR" and 0 in s[2]["milestones"] else s
    for s in COMPOSITIONS], ids=[f"{s[0]}-{i}" for i, s in enumerate(COMPOSITIONS)])
def test_compositions_match_pytorch_exactly(spec, torch):
    ours_opt, torch_opt = pair(torch, "SGD")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's about the order of step() calls in its constructors
        theirs = build(torch.optim.lr_scheduler, torch_opt, spec)
    ours = build(lr_scheduler, ours_opt, spec)
    seen = set()
    for epoch in range(STEPS + 1):
        if epoch:
            torch_opt.step()
            theirs.step()
            ours.step()
        assert ours.get_last_lr() == theirs.get_last_lr(), epoch
        assert [g["lr"] for g in ours_opt.param_groups] == [g["lr"] for g in torch_opt.param_groups], epoch
        assert momenta(ours_opt) == momenta(torch_opt)
        seen.update(ours.get_last_lr())
    assert len(seen) > 6


@pytest.mark.parametrize("T_mult", [1, 3])
def test_warm_restarts_at_fractional_epochs_match_pytorch(T_mult, torch):
    """Stepping once per batch: step(epoch + i / batches), which PyTorch does not deprecate."""
    ours_opt, torch_opt = pair(torch, "SGD")
    ours = lr_scheduler.CosineAnnealingWarmRestarts(ours_opt, T_0=2, T_mult=T_mult, eta_min=0.01)
    theirs = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(torch_opt, T_0=2, T_mult=T_mult, eta_min=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecation warning for this scheduler's epochs
        for epoch in range(12):
            for batch in range(3):
                torch_opt.step()
                theirs.step(epoch + batch / 3)
                ours.step(epoch + batch / 3)
                assert ours.get_last_lr() == theirs.get_last_lr(), (epoch, batch)
                assert (ours.T_cur, ours.T_i, ours.last_epoch) == (theirs.T_cur, theirs.T_i, theirs.last_epoch)


@pytest.mark.parametrize("name, kwargs", [
    ("ConstantLR", dict(factor=0.3, total_iters=4)),
    ("LinearLR", dict(start_factor=0.2, end_factor=0.9, total_iters=7)),
    ("PolynomialLR", dict(total_iters=9, power=1.5)),
])
def test_jumping_to_an_epoch_uses_the_closed_form_as_pytorch(name, kwargs, torch):
    ours_opt, torch_opt = pair(torch, "SGD")
    ours = getattr(lr_scheduler, name)(ours_opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(torch_opt, **kwargs)
    for epoch in (3, 1, 8, 12, 0, 5):
        torch_opt.step()
        with pytest.warns(UserWarning, match="deprecated"):
            theirs.step(epoch)
        with pytest.warns(UserWarning, match="deprecated"):
            ours.step(epoch)
        assert ours.get_last_lr() == theirs.get_last_lr(), epoch


def _optimizer():
    return optim.SGD([nn.Parameter(ag.zeros(1))], lr=0.1, momentum=0.9)


@pytest.mark.parametrize("spec", COMPOSITIONS[:2] + COMPOSITIONS[3:4] + [
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2)),
    ("LinearLR", dict(start_factor=0.25, total_iters=8)),
], ids=["sequential", "sequential-3", "chained", "restarts", "linear"])
def test_state_dict_round_trip_continues_the_schedule(spec):
    def lrs(scheduler, steps):
        out = []
        for _ in range(steps):
            scheduler.step()
            out.append(scheduler.get_last_lr())
        return out

    straight = lrs(build(lr_scheduler, _optimizer(), spec), 20)
    first_opt = _optimizer()
    first = build(lr_scheduler, first_opt, spec)
    head = lrs(first, 9)
    saved_opt, saved = first_opt.state_dict(), first.state_dict()
    assert "optimizer" not in saved
    resumed_opt = _optimizer()
    resumed = build(lr_scheduler, resumed_opt, spec)
    resumed_opt.load_state_dict(saved_opt)
    resumed.load_state_dict(saved)
    assert head + lrs(resumed, 11) == straight


@pytest.mark.parametrize("make, error, message", [
    (lambda o, p: lr_scheduler.SequentialLR(o, [], milestones=[]), ValueError, "at least one"),
    (lambda o, p: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2), lr_scheduler.StepLR(o, 3)],
                                            milestones=[]), ValueError, "expected 1 milestones"),
    (lambda o, p: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(p, 2)], milestones=[]), ValueError,
     "another optimizer"),
    (lambda o, p: lr_scheduler.ChainedScheduler([lr_scheduler.ReduceLROnPlateau(o)]), ValueError,
     "monitored"),
    (lambda o, p: lr_scheduler.ChainedScheduler([lr_scheduler.StepLR(o, 2), "StepLR"]), TypeError,
     "not a learning-rate scheduler"),
    (lambda o, p: lr_scheduler.MultiplicativeLR(o, lr_lambda=0.9), TypeError, "function of the epoch"),
    (lambda o, p: lr_scheduler.ConstantLR(o, factor=1.5), ValueError, "factor"),
    (lambda o, p: lr_scheduler.LinearLR(o, start_factor=0), ValueError, "start_factor"),
    (lambda o, p: lr_scheduler.LinearLR(o, end_factor=2), ValueError, "end_factor"),
    (lambda o, p: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "T_0"),
    (lambda o, p: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0.5), ValueError, "T_mult"),
])
def test_invalid_compositions_and_arguments_name_the_problem(make, error, message):
    opt, other = _optimizer(), _optimizer()
    with pytest.raises(error, match=message):
        make(opt, other)


def test_a_negative_restart_epoch_is_refused_and_changes_nothing():
    opt = _optimizer()
    scheduler = lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3)
    scheduler.step()
    before = (scheduler.last_epoch, scheduler.T_cur, scheduler.T_i, opt.param_groups[0]["lr"])
    with pytest.raises(ValueError, match="non-negative"):
        scheduler.step(-1)
    assert (scheduler.last_epoch, scheduler.T_cur, scheduler.T_i, opt.param_groups[0]["lr"]) == before


def test_fit_steps_a_sequential_schedule_once_per_epoch():
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    schedule = lr_scheduler.SequentialLR(opt, [lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=2),
                                               lr_scheduler.ExponentialLR(opt, gamma=0.5)], milestones=[2])
    x, y = ag.randn(8, 2), ag.randn(8, 1)
    loader = nn.data.DataLoader(nn.data.TensorDataset(x, y), batch_size=4)
    nn.fit(model, nn.MSELoss(), opt, loader, epochs=4, scheduler=schedule, progress=False)
    assert schedule.last_epoch == 4
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 2)


@pytest.mark.parametrize("make", [
    lambda o: lr_scheduler.LambdaLR(o, lr_lambda=lambda_decay),
    lambda o: lr_scheduler.MultiplicativeLR(o, lr_lambda=lambda_decay),
    lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=3),
    lambda o: lr_scheduler.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=2),
    lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.ConstantLR(o), lr_scheduler.ExponentialLR(o, 0.9)],
                                        milestones=[2]),
], ids=["lambda", "multiplicative", "restarts", "cyclic", "sequential"])
def test_a_param_group_added_after_the_scheduler_is_refused_and_nothing_changes(make):
    """PyTorch raises here too (zip(strict=True)); leaving the new group unscheduled is worse.
    (Schedules that scale each group's current rate, as StepLR, take the new group along, as PyTorch's.)"""
    opt = _optimizer()
    scheduler = make(opt)
    scheduler.step()
    opt.add_param_group({"params": [nn.Parameter(ag.zeros(1))], "lr": 0.5})
    before = ([dict(g) for g in opt.param_groups], scheduler.last_epoch, scheduler.get_last_lr())
    with pytest.raises(RuntimeError, match="after add_param_group"):
        scheduler.step()
    assert ([dict(g) for g in opt.param_groups], scheduler.last_epoch, scheduler.get_last_lr()) == before


def test_sequential_refuses_a_combination_after_the_first_entry():
    opt = _optimizer()
    schedulers = [lr_scheduler.ConstantLR(opt), lr_scheduler.ChainedScheduler([lr_scheduler.ExponentialLR(opt, 0.9)])]
    before = (opt.param_groups[0]["lr"], [s.last_epoch for s in (schedulers[0], schedulers[1]._schedulers[0])])
    with pytest.raises(ValueError, match="only the first entry may combine"):
        lr_scheduler.SequentialLR(opt, schedulers, milestones=[3])
    assert (opt.param_groups[0]["lr"], [s.last_epoch for s in (schedulers[0], schedulers[1]._schedulers[0])]) == before


def test_lambda_scheduler_given_no_optimizer_says_so():
    with pytest.raises(TypeError, match="expected an nn.optim Optimizer"):
        lr_scheduler.LambdaLR("not an optimizer", [lambda_decay])
