"""nn.optim.lr_scheduler against torch.optim.lr_scheduler: the same rates, bit for bit."""
import math

import numpy as np
import pytest

import autograd as ag
import nn
from nn import optim
from nn.optim import lr_scheduler

# Tests here step schedules on their own to compare rates, with no optimizer step: the
# warning that a training loop would skip its first rate is noise for them.
pytestmark = pytest.mark.filterwarnings("ignore:scheduler.step\\(\\) was called before optimizer.step:UserWarning")

STEPS = 30
GROUP_LRS = (0.1, 0.03)


def pair(torch, optimizer="SGD", **kwargs):
    """The same two-group optimizer in topograd and in PyTorch."""
    if optimizer == "SGD" and not kwargs:
        kwargs = {"momentum": 0.9}
    ours = getattr(optim, optimizer)([{"params": [nn.Parameter(ag.zeros(2))], "lr": lr} for lr in GROUP_LRS],
                                     **kwargs)
    theirs = getattr(torch.optim, optimizer)(
        [{"params": [torch.nn.Parameter(torch.zeros(2))], "lr": lr} for lr in GROUP_LRS], **kwargs)
    return ours, theirs


def momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def lambda_decay(epoch):
    return 0.95 ** epoch


class Warmup:
    """A callable object, whose attributes LambdaLR's state_dict keeps."""

    def __init__(self, length):
        self.length = length

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.length)


SCHEDULES = [
    ("StepLR", dict(step_size=3, gamma=0.5), "SGD"),
    ("StepLR", dict(step_size=7), "SGD"),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 11], gamma=0.3), "SGD"),
    ("ExponentialLR", dict(gamma=0.9), "SGD"),
    ("CosineAnnealingLR", dict(T_max=10), "SGD"),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.005), "Adam"),
    ("LambdaLR", dict(lr_lambda=lambda_decay), "SGD"),
    ("LambdaLR", dict(lr_lambda=[lambda_decay, Warmup(4)]), "SGD"),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=STEPS + 1), "SGD"),
    ("OneCycleLR", dict(max_lr=[1.0, 0.5], epochs=3, steps_per_epoch=10, anneal_strategy="linear",
                        div_factor=10.0, final_div_factor=100.0, pct_start=0.25), "SGD"),
    ("OneCycleLR", dict(max_lr=0.4, total_steps=STEPS, three_phase=True, base_momentum=0.8), "Adam"),
    ("OneCycleLR", dict(max_lr=0.4, total_steps=STEPS, cycle_momentum=False), "Adagrad"),
    ("MultiplicativeLR", dict(lr_lambda=lambda_decay), "SGD"),
    ("MultiplicativeLR", dict(lr_lambda=[lambda_decay, Warmup(40)]), "Adam"),
    ("ConstantLR", dict(factor=0.25, total_iters=4), "SGD"),
    ("LinearLR", dict(start_factor=0.1, total_iters=8), "SGD"),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.05, total_iters=20), "Adam"),
    ("PolynomialLR", dict(total_iters=12, power=2.0), "SGD"),
    ("PolynomialLR", dict(total_iters=STEPS + 5), "SGD"),
    ("CosineAnnealingWarmRestarts", dict(T_0=5), "SGD"),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2, eta_min=0.001), "Adam"),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4), "SGD"),
    ("CyclicLR", dict(base_lr=[0.01, 0.02], max_lr=0.2, step_size_up=3, step_size_down=5, mode="triangular2"),
     "Adam"),
    ("CyclicLR", dict(base_lr=0.001, max_lr=0.05, step_size_up=6, mode="exp_range", gamma=0.97,
                      cycle_momentum=False), "Adagrad"),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=2, scale_fn=Warmup(7), scale_mode="iterations"),
     "SGD"),
]


@pytest.mark.parametrize("name, kwargs, optimizer", SCHEDULES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(SCHEDULES)])
def test_rates_match_pytorch_exactly(name, kwargs, optimizer, torch):
    ours_opt, torch_opt = pair(torch, optimizer)
    ours = getattr(lr_scheduler, name)(ours_opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(torch_opt, **kwargs)
    seen = set()
    for epoch in range(STEPS + 1):
        if epoch:
            torch_opt.step()  # no gradients: only tells PyTorch the order of calls is right
            theirs.step()
            ours.step()
        assert ours.last_epoch == theirs.last_epoch == epoch
        assert ours.get_last_lr() == theirs.get_last_lr(), epoch
        assert [g["lr"] for g in ours_opt.param_groups] == [g["lr"] for g in torch_opt.param_groups]
        assert momenta(ours_opt) == momenta(torch_opt), epoch
        seen.update(ours.get_last_lr())
    assert len(seen) > 3  # the schedule did change the rates


PLATEAUS = [
    dict(patience=2),
    dict(mode="max", threshold_mode="abs", threshold=0.01, cooldown=2, patience=1),
    dict(factor=0.5, patience=0, min_lr=[0.01, 0.001]),
    dict(factor=0.5, patience=0, min_lr=0.02, eps=0.012, threshold=0.1),  # eps skips small cuts
]


@pytest.mark.parametrize("kwargs", PLATEAUS, ids=range(len(PLATEAUS)))
def test_reduce_on_plateau_matches_pytorch_exactly(kwargs, torch):
    ours_opt, torch_opt = pair(torch)
    ours = lr_scheduler.ReduceLROnPlateau(ours_opt, **kwargs)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_opt, **kwargs)
    # Improvement, then plateaus and small wiggles, then a rise.
    metrics = [1.0, 0.8, 0.7, 0.7, 0.71, 0.69, 0.695, 0.7, 0.7, 0.65, 0.65, 0.66, 0.6, 0.6, 0.6,
               0.61, 0.59, 0.59, 0.58, 0.7, 0.8, 0.9, 0.9, 0.85, 0.95, 0.95, 0.95, 0.5, 0.5, 0.5]
    changes = 0
    for i, metric in enumerate(metrics):
        before = ours.get_last_lr()
        theirs.step(metric)
        ours.step(ag.tensor(metric, dtype=ag.float64) if i % 2 else metric)  # a 0-d tensor works too
        assert ours.get_last_lr() == theirs.get_last_lr(), i
        assert (ours.num_bad_epochs, ours.cooldown_counter, ours.best) == \
            (theirs.num_bad_epochs, theirs.cooldown_counter, theirs.best)
        changes += ours.get_last_lr() != before
    assert changes >= 2


def _run(scheduler, steps, metric=None):
    for i in range(steps):
        if metric is None:
            scheduler.step()
        else:
            scheduler.step(metric(i))
        yield scheduler.get_last_lr(), momenta(scheduler.optimizer)


@pytest.mark.parametrize("make, metric", [
    (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=6, eta_min=0.001), None),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.5, total_steps=25, three_phase=True), None),
    (lambda o: lr_scheduler.MultiStepLR(o, milestones=[3, 12, 15]), None),
    (lambda o: lr_scheduler.LambdaLR(o, [Warmup(15), lambda_decay]), None),
    (lambda o: lr_scheduler.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3, mode="triangular2"), None),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, patience=1, cooldown=1), lambda i: 1.0 / (1 + i // 4)),
], ids=["cosine", "onecycle", "multistep", "lambda", "cyclic", "plateau"])
def test_state_dict_round_trip_continues_the_schedule(make, metric):
    def optimizer():
        return optim.SGD([{"params": [nn.Parameter(ag.zeros(1))], "lr": lr} for lr in GROUP_LRS], momentum=0.9)

    straight = list(_run(make(optimizer()), 20, metric))
    first_opt = optimizer()
    first = make(first_opt)
    head = list(_run(first, 10, metric))
    saved_opt, saved = first_opt.state_dict(), first.state_dict()
    assert "optimizer" not in saved
    resumed_opt = optimizer()
    resumed = make(resumed_opt)  # build the scheduler first, then load both, as in PyTorch
    resumed_opt.load_state_dict(saved_opt)
    resumed.load_state_dict(saved)
    tail = list(_run(resumed, 10, None if metric is None else (lambda i: metric(i + 10))))
    assert head + tail == straight


def test_lambda_state_dict_keeps_callable_objects_attributes():
    opt = optim.SGD([{"params": [nn.Parameter(ag.zeros(1))], "lr": lr} for lr in GROUP_LRS], lr=0.1)
    warmup = Warmup(4)
    scheduler = lr_scheduler.LambdaLR(opt, [lambda_decay, warmup])
    saved = scheduler.state_dict()
    assert saved["lr_lambdas"] == [None, {"length": 4}]
    warmup.length = 9
    scheduler.load_state_dict(saved)
    assert warmup.length == 4


def test_one_cycle_refuses_to_step_past_total_steps_and_stays_put():
    opt = optim.SGD([nn.Parameter(ag.zeros(1))], lr=0.1, momentum=0.9)
    scheduler = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=5)
    for _ in range(5):
        scheduler.step()
    last = (scheduler.last_epoch, scheduler.get_last_lr(), opt.param_groups[0]["lr"], momenta(opt))
    with pytest.raises(ValueError, match="total_steps is 5"):
        scheduler.step()
    assert (scheduler.last_epoch, scheduler.get_last_lr(), opt.param_groups[0]["lr"], momenta(opt)) == last


def test_cosine_annealing_reaches_eta_min_and_returns():
    opt = optim.SGD([nn.Parameter(ag.zeros(1))], lr=1.0)
    scheduler = lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=0.2)
    lrs = [scheduler.get_last_lr()[0]] + [(scheduler.step(), scheduler.get_last_lr()[0])[1] for _ in range(8)]
    expected = [0.2 + 0.8 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(9)]
    assert lrs == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("make, error, message", [
    (lambda o: lr_scheduler.StepLR(o, step_size=0), ValueError, "step_size"),
    (lambda o: lr_scheduler.StepLR(object(), step_size=2), TypeError, "Optimizer"),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=0), ValueError, "T_max"),
    (lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9, last_epoch=4), KeyError, "initial_lr"),
    (lambda o: lr_scheduler.LambdaLR(o, [lambda_decay, lambda_decay]), ValueError, "one per param group"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0), ValueError, "total_steps"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=0), ValueError, "total_steps"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, epochs=2, steps_per_epoch=-1), ValueError, "steps_per_epoch"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=9, pct_start=1.5), ValueError, "pct_start"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=9, anneal_strategy="exp"), ValueError, "anneal"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=9), ValueError, "one value per"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), ValueError, "factor"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="avg"), ValueError, "mode"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, threshold_mode="pct"), ValueError, "threshold_mode"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, min_lr=[0.1, 0.2]), ValueError, "min_lrs"),
    (lambda o: lr_scheduler.CyclicLR(o, 0.01, 0.1, mode="sine"), ValueError, "mode"),
    (lambda o: lr_scheduler.CyclicLR(o, 0.01, 0.1, step_size_up=0), ValueError, "step_size_up"),
    (lambda o: lr_scheduler.CyclicLR(o, [0.01, 0.02], 0.1), ValueError, "one value per"),
    (lambda o: lr_scheduler.CyclicLR(optim.Adagrad(o.param_groups[0]["params"]), 0.01, 0.1), ValueError,
     "cycle_momentum=False"),
])
def test_invalid_arguments_raise_and_leave_the_optimizer_alone(make, error, message):
    opt = optim.SGD([nn.Parameter(ag.zeros(1))], lr=0.1, momentum=0.9)
    before = [dict(g) for g in opt.param_groups]
    with pytest.raises(error, match=message):
        make(opt)
    assert [dict(g) for g in opt.param_groups] == before


def test_one_cycle_needs_momentum_or_betas_to_cycle_them():
    opt = optim.Adagrad([nn.Parameter(ag.zeros(1))], lr=0.1)
    before = [dict(g) for g in opt.param_groups]
    with pytest.raises(ValueError, match="cycle_momentum=False"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    assert [dict(g) for g in opt.param_groups] == before  # nothing half-written


def test_load_state_dict_rejects_a_schedule_for_other_groups():
    one = optim.SGD([nn.Parameter(ag.zeros(1))], lr=0.1)
    two = optim.SGD([{"params": [nn.Parameter(ag.zeros(1))]}, {"params": [nn.Parameter(ag.zeros(1))]}], lr=0.1)
    saved = lr_scheduler.StepLR(two, step_size=2).state_dict()
    target = lr_scheduler.StepLR(one, step_size=3)
    with pytest.raises(ValueError, match="2 param groups"):
        target.load_state_dict(saved)
    assert target.step_size == 3
    with pytest.raises(TypeError, match="expected the dict"):
        target.load_state_dict([("step_size", 2)])


# --- hyperparameters and metrics of the wrong kind (a YAML reader's strings) ----------------------

SCHEDULES_GIVEN_STRINGS = {
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


@pytest.mark.parametrize("name", sorted(SCHEDULES_GIVEN_STRINGS))
def test_schedule_hyperparameter_of_wrong_type_is_named_and_changes_nothing(device, name):
    """A YAML reader leaves `gamma: 1e-1` a string. These failed with Python's raw "can't
    multiply sequence by non-int of type 'float'" (or "'<=' not supported..."), StepLR's and
    MultiStepLR's only at the first epoch that changes the rate, as the optimizer's own
    hyperparameters (and CyclicLR's, OneCycleLR's) already are named."""
    make, prefix = SCHEDULES_GIVEN_STRINGS[name]
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
