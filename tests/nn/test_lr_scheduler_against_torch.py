"""nn.optim.lr_scheduler against torch.optim.lr_scheduler, from a bug hunt over the schedulers'
interplay with their optimizers: param groups added later, refused steps, bad arguments,
resumes with last_epoch=, deprecated jumps, checkpoints mid-run, and the cycled momenta
used by real optimizer steps. The bugs come first, then the behaviour the hunt verified."""
import copy
import warnings
from contextlib import nullcontext

import numpy as np
import pytest

import autograd as ag
import nn
from nn import optim
from nn.optim import lr_scheduler

from .test_lr_scheduler import momenta, pair

# Tests here step schedules on their own to compare rates, with no optimizer step: the
# warning that a training loop would skip its first rate is noise for them.
pytestmark = pytest.mark.filterwarnings("ignore:scheduler.step\\(\\) was called before optimizer.step:UserWarning")


def hyperparameters(opt):
    """Every param group's settings, without its parameters."""
    return [{k: v for k, v in group.items() if k != "params"} for group in opt.param_groups]


def sgd(lrs=(0.1,), momentum=0.9):
    return optim.SGD([{"params": [nn.Parameter(ag.zeros(1))], "lr": lr} for lr in lrs], momentum=momentum)


def step_all(scheduler, optimizer, steps):
    """Step ``steps`` times (the optimizer first, as PyTorch expects), recording rates and momenta."""
    seen = []
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        seen.append((scheduler.get_last_lr(), [g["lr"] for g in optimizer.param_groups], momenta(optimizer)))
    return seen


# --- bugs: each of these failed before its fix ----------------------------------------------

@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_one_cycle_refuses_a_param_group_added_later_before_touching_momenta(optimizer):
    """OneCycleLR set the first groups' momenta (or betas), then failed on the new group with a
    bare KeyError: 'initial_lr'. Now it refuses with the other schedules' message, and the
    param groups are as they were."""
    opt = getattr(optim, optimizer)([nn.Parameter(ag.zeros(1))], lr=0.1)
    scheduler = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    scheduler.step()
    opt.add_param_group({"params": [nn.Parameter(ag.zeros(1))], "lr": 0.5})
    before = (hyperparameters(opt), scheduler.last_epoch, scheduler.get_last_lr())
    with pytest.raises(RuntimeError, match="after add_param_group"):
        scheduler.step()
    assert (hyperparameters(opt), scheduler.last_epoch, scheduler.get_last_lr()) == before


def test_reduce_on_plateau_refused_cut_leaves_the_epoch_uncounted(torch):
    """With min_lr given per group, a cut after add_param_group is refused; the refused step used
    to count the epoch and its bad metric anyway, so stepping again after fixing min_lrs counted
    that epoch twice. The retried run now matches PyTorch's run with both groups from the start."""
    ours_opt = sgd((0.1,))
    ours = lr_scheduler.ReduceLROnPlateau(ours_opt, patience=1, min_lr=[0.0])
    ours.step(1.0)
    ours_opt.add_param_group({"params": [nn.Parameter(ag.zeros(1))], "lr": 0.5})
    ours.step(1.0)
    before = (ours.last_epoch, ours.num_bad_epochs, ours.best, hyperparameters(ours_opt))
    with pytest.raises(RuntimeError, match="min_lrs"):
        ours.step(1.0)
    assert (ours.last_epoch, ours.num_bad_epochs, ours.best, hyperparameters(ours_opt)) == before
    ours.min_lrs = [0.0, 0.0]
    ours.step(1.0)

    theirs_opt = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in (0.1, 0.5)],
                                 momentum=0.9)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs_opt, patience=1, min_lr=[0.0, 0.0])
    for _ in range(3):
        theirs.step(1.0)
    assert ours.get_last_lr() == theirs.get_last_lr()
    assert (ours.last_epoch, ours.num_bad_epochs, ours.cooldown_counter, ours.best) == \
        (theirs.last_epoch, theirs.num_bad_epochs, theirs.cooldown_counter, theirs.best)


def test_chained_step_refused_by_one_scheduler_takes_back_the_ones_before_it(torch):
    """ChainedScheduler stepped ExponentialLR (also halving the new group's rate), then LambdaLR
    refused the new group: the rates were left decayed once more. Now a refused step changes
    nothing, and once the group is taken out again the schedule goes on as PyTorch's, uninterrupted."""
    def chain(lib, opt):
        return lib.ChainedScheduler([lib.ExponentialLR(opt, gamma=0.5), lib.LambdaLR(opt, lambda e: 0.9 ** e)])

    ours_opt, torch_opt = pair(torch)
    ours, theirs = chain(lr_scheduler, ours_opt), chain(torch.optim.lr_scheduler, torch_opt)
    head = step_all(ours, ours_opt, 3)
    ours_opt.add_param_group({"params": [nn.Parameter(ag.zeros(1))], "lr": 0.5})
    before = (hyperparameters(ours_opt), [s.last_epoch for s in ours._schedulers], ours.get_last_lr())
    with pytest.raises(RuntimeError, match="after add_param_group"):
        ours.step()
    assert (hyperparameters(ours_opt), [s.last_epoch for s in ours._schedulers], ours.get_last_lr()) == before
    ours_opt.param_groups.pop()
    assert head + step_all(ours, ours_opt, 5) == step_all(theirs, torch_opt, 8)


@pytest.mark.parametrize("make", [
    lambda lib, o: lib.ChainedScheduler([lib.OneCycleLR(o, max_lr=1.0, total_steps=16), lib.ExponentialLR(o, 0.99)]),
    lambda lib, o: lib.SequentialLR(o, [lib.ConstantLR(o, factor=0.5, total_iters=3),
                                        lib.CyclicLR(o, 0.01, 0.1, step_size_up=3)], milestones=[3]),
], ids=["chained-onecycle", "sequential-cyclic"])
def test_fit_steps_a_combination_holding_a_per_batch_schedule_once_per_batch(make, device, torch):
    """nn.fit steps OneCycleLR and CyclicLR per batch, but a ChainedScheduler or SequentialLR
    holding one was stepped per epoch: 4 of a 16-step one-cycle, ending near the peak rate.
    The rates after fit are PyTorch's after the same composition stepped once per batch."""
    model = nn.Linear(2, 1)
    ours_opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = make(lr_scheduler, ours_opt)
    x, y = ag.randn(8, 2), ag.randn(8, 1)
    loader = nn.data.DataLoader(nn.data.TensorDataset(x, y), batch_size=2)
    nn.fit(model, nn.MSELoss(), ours_opt, loader, epochs=4, scheduler=scheduler, progress=False, metrics=())

    torch_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1, momentum=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's about the order of step() calls in its constructors
        reference = make(torch.optim.lr_scheduler, torch_opt)
    step_all(reference, torch_opt, 4 * 4)
    assert scheduler.get_last_lr() == reference.get_last_lr()
    assert momenta(ours_opt) == momenta(torch_opt)


def test_per_batch_flag_of_combinations_follows_their_schedulers():
    opt = sgd()
    per_epoch = lr_scheduler.ChainedScheduler([lr_scheduler.ExponentialLR(opt, gamma=0.9)])
    assert not per_epoch.step_per_batch
    nested = lr_scheduler.SequentialLR(
        opt, [lr_scheduler.ChainedScheduler([lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=2)]),
              lr_scheduler.ExponentialLR(opt, gamma=0.9)], milestones=[4])
    assert nested.step_per_batch


@pytest.mark.parametrize("make, error, message", [
    (lambda o: lr_scheduler.CyclicLR(o, base_lr="1e-4", max_lr=0.1), TypeError, "base_lr must be a number"),
    (lambda o: lr_scheduler.CyclicLR(o, base_lr=1e-4, max_lr=["0.1"]), TypeError, "max_lr must be a number"),
    (lambda o: lr_scheduler.CyclicLR(o, 1e-4, 0.1, base_momentum="0.8"), TypeError, "base_momentum must be"),
    (lambda o: lr_scheduler.CyclicLR(o, 1e-4, 0.1, mode="exp_range", gamma="0.99"), TypeError, "gamma must be"),
    (lambda o: lr_scheduler.CyclicLR(o, 1e-4, 0.1, scale_fn="triangular2"), TypeError, "pass it as mode="),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr="0.1", total_steps=10), TypeError, "max_lr must be a number"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10, max_momentum="0.95"), TypeError,
     "max_momentum must be a number"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10, final_div_factor=0), ValueError,
     "final_div_factor must be positive"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10, div_factor="25"), TypeError,
     "div_factor must be a number"),
])
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_cycles_refuse_bad_values_before_touching_the_optimizer(make, error, message, optimizer):
    """A string from a config file (or a zero divisor) got into the param groups first: CyclicLR
    left lr='1e-4' and the momenta set, OneCycleLR its initial_lr/max_lr, behind an unclear
    TypeError or ZeroDivisionError."""
    opt = getattr(optim, optimizer)([nn.Parameter(ag.zeros(1))], lr=0.1)
    before = hyperparameters(opt)
    with pytest.raises(error, match=message):
        make(opt)
    assert hyperparameters(opt) == before


def test_reduce_on_plateau_fills_a_tensor_rate_in_place_as_pytorch(torch):
    """A Tensor rate became a Python float at the first cut. PyTorch fills it in place, so the
    optimizer (and whoever holds it) keeps the same Tensor, and get_last_lr gives copies."""
    rate, torch_rate = ag.tensor(0.5), torch.tensor(0.5)
    ours_opt = optim.SGD([nn.Parameter(ag.zeros(2))], lr=rate)
    torch_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=torch_rate)
    ours = lr_scheduler.ReduceLROnPlateau(ours_opt, patience=0, factor=0.3)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_opt, patience=0, factor=0.3)
    ours_seen, torch_seen = [ours.get_last_lr()], [theirs.get_last_lr()]
    for metric in (1.0, 2.0, 3.0, 0.1, 0.2):
        ours.step(metric)
        theirs.step(metric)
        ours_seen.append(ours.get_last_lr())
        torch_seen.append(theirs.get_last_lr())
        assert ours_opt.param_groups[0]["lr"] is rate and torch_opt.param_groups[0]["lr"] is torch_rate
        assert rate.dtype == ag.float32 and rate.item() == torch_rate.item()
    assert all(isinstance(lrs[0], ag.Tensor) and lrs[0] is not rate for lrs in ours_seen)
    # copies, as PyTorch's: each step's rate as it was then (float32: 0.5, 0.15, 0.045...)
    assert [lrs[0].item() for lrs in ours_seen] == [lrs[0].item() for lrs in torch_seen]
    assert len({lrs[0].item() for lrs in ours_seen}) == 4


@pytest.mark.parametrize("name, kwargs", [
    ("StepLR", dict(step_size=2, gamma=0.5)),
    ("CosineAnnealingLR", dict(T_max=4)),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=10)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=2)),
])
def test_every_schedule_fills_a_tensor_rate_in_place_as_pytorch(name, kwargs, torch):
    """The other schedules replaced a Tensor rate with a new Tensor, so the one the user
    held went stale; and initial_lr, the same Tensor, moved with it, which broke the closed
    forms. As PyTorch: the rate is filled in place, and initial_lr is a copy."""
    rate, torch_rate = ag.tensor(0.1), torch.tensor(0.1)
    ours_opt = optim.SGD([nn.Parameter(ag.zeros(2))], lr=rate, momentum=0.9)
    torch_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=torch_rate, momentum=0.9)
    ours = getattr(lr_scheduler, name)(ours_opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(torch_opt, **kwargs)
    for _ in range(5):
        ours_opt.step()
        torch_opt.step()
        ours.step()
        theirs.step()
        group, torch_group = ours_opt.param_groups[0], torch_opt.param_groups[0]
        assert group["lr"] is rate and torch_group["lr"] is torch_rate
        np.testing.assert_allclose(rate.item(), torch_rate.item(), rtol=1e-6)
        np.testing.assert_allclose(float(ours.get_last_lr()[0]), float(theirs.get_last_lr()[0]), rtol=1e-6)
        assert float(group["initial_lr"]) == pytest.approx(float(torch_group["initial_lr"]))


def test_warm_restarts_state_dict_is_pytorchs_after_plain_and_epoch_steps(torch):
    """Its step counted _step_count up (1 after the constructor), where PyTorch's never does
    (0 from the constructor on): a saved state dict differed from PyTorch's in that entry."""
    ours_opt, torch_opt = pair(torch, "SGD")
    ours = lr_scheduler.CosineAnnealingWarmRestarts(ours_opt, T_0=3, T_mult=2, eta_min=0.01)
    theirs = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(torch_opt, T_0=3, T_mult=2, eta_min=0.01)
    for epoch in (None, None, 1.5, None, 7, None, 0, None, None):
        ours_state, torch_state = ours.state_dict(), theirs.state_dict()
        assert set(ours_state) <= set(torch_state)
        assert ours_state == {key: torch_state[key] for key in ours_state}, epoch
        torch_opt.step()
        theirs.step(epoch)
        ours.step(epoch)


# --- behaviour verified against PyTorch ---------------------------------------------------------

RESUMABLE = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 9])),
    ("CosineAnnealingLR", dict(T_max=6, eta_min=0.01)),
    ("LinearLR", dict(start_factor=0.2, total_iters=6)),
    ("PolynomialLR", dict(total_iters=8, power=2.0)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2)),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=30, three_phase=True)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3, mode="triangular2")),
    ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.9)),
]


@pytest.mark.parametrize("name, kwargs", RESUMABLE, ids=[n for n, _ in RESUMABLE])
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_resume_with_last_epoch_matches_pytorch(name, kwargs, optimizer, torch):
    """Run 7 steps, load the optimizer's state into a new one, build the scheduler with
    last_epoch=6 and go on across the later phase boundaries: PyTorch's sequence, bit for bit."""
    def run(lib, opt_lib, param):
        def make():
            return getattr(opt_lib, optimizer)([{"params": [param()], "lr": lr} for lr in (0.1, 0.03)],
                                               **({"momentum": 0.9} if optimizer == "SGD" else {}))
        opt = make()
        head = step_all(getattr(lib, name)(opt, **kwargs), opt, 7)
        resumed_opt = make()
        resumed_opt.load_state_dict(copy.deepcopy(opt.state_dict()))
        resumed = getattr(lib, name)(resumed_opt, last_epoch=6, **kwargs)
        return head + [(resumed.get_last_lr(), resumed.last_epoch)] + step_all(resumed, resumed_opt, 20)

    ours = run(lr_scheduler, optim, lambda: nn.Parameter(ag.zeros(1)))
    theirs = run(torch.optim.lr_scheduler, torch.optim, lambda: torch.nn.Parameter(torch.zeros(1)))
    assert ours == theirs


JUMPS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9])),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=6, eta_min=0.01)),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=40)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3)),
    ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.9)),
]


@pytest.mark.parametrize("name, kwargs", JUMPS, ids=[n for n, _ in JUMPS])
def test_deprecated_jumps_then_plain_steps_match_pytorch(name, kwargs, torch):
    """step(epoch) uses the closed form where a schedule has one (get_lr otherwise), and the
    chainable steps after it start from there."""
    ours_opt, torch_opt = pair(torch, "Adam")
    ours = getattr(lr_scheduler, name)(ours_opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(torch_opt, **kwargs)
    for epoch in (3, 1, 8, 12, 0, 5, 5, 29, None, None, None, None):
        torch_opt.step()
        with pytest.warns(UserWarning) if epoch is not None else nullcontext():
            theirs.step(epoch)
        with pytest.warns(UserWarning, match="deprecated") if epoch is not None else nullcontext():
            ours.step(epoch)
        assert (ours.get_last_lr(), ours.last_epoch, momenta(ours_opt)) == \
            (theirs.get_last_lr(), theirs.last_epoch, momenta(torch_opt)), epoch


def test_checkpoint_mid_run_of_a_sequence_with_a_one_cycle_matches_pytorch(torch):
    """SequentialLR(LinearLR warm-up, OneCycleLR) on Adam, saved after 9 steps (past the
    milestone) and resumed into fresh objects: PyTorch's uninterrupted rates and betas."""
    def build(lib, opt):
        return lib.SequentialLR(opt, [lib.LinearLR(opt, start_factor=0.1, total_iters=4),
                                      lib.OneCycleLR(opt, max_lr=[0.5, 0.2], total_steps=30)], milestones=[5])

    def opt_pair():
        return pair(torch, "Adam")

    torch_opt = opt_pair()[1]
    straight = step_all(build(torch.optim.lr_scheduler, torch_opt), torch_opt, 20)
    ours_opt = opt_pair()[0]
    ours = build(lr_scheduler, ours_opt)
    head = step_all(ours, ours_opt, 9)
    saved_opt, saved = copy.deepcopy(ours_opt.state_dict()), copy.deepcopy(ours.state_dict())
    resumed_opt = opt_pair()[0]
    resumed = build(lr_scheduler, resumed_opt)
    resumed_opt.load_state_dict(saved_opt)
    resumed.load_state_dict(saved)
    assert head + step_all(resumed, resumed_opt, 11) == straight


@pytest.mark.parametrize("name, kwargs, optimizer", [
    ("OneCycleLR", dict(max_lr=[0.5, 0.2, 0.05], total_steps=12, pct_start=0.25, base_momentum=[0.8, 0.7, 0.6]),
     "SGD"),
    ("CyclicLR", dict(base_lr=[0.01, 0.02, 0.001], max_lr=0.2, step_size_up=2, step_size_down=3,
                      max_momentum=[0.95, 0.9, 0.99]), "Adam"),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=12, three_phase=True, anneal_strategy="linear"), "RMSprop"),
])
def test_cycled_momenta_drive_the_optimizer_steps_as_in_pytorch(name, kwargs, optimizer, device, torch):
    """Three param groups, each with its own rate and momentum (or Adam's beta1) cycled by the
    schedule, trained for 12 steps on a quadratic: the parameters follow PyTorch's."""
    rng = np.random.default_rng(7)
    starts = [rng.standard_normal(3) for _ in range(3)]
    extra = {"SGD": {"momentum": 0.9}, "Adam": {}, "RMSprop": {"momentum": 0.5}}[optimizer]
    ours_params = [nn.Parameter(ag.tensor(s, dtype=ag.float64)) for s in starts]
    torch_params = [torch.nn.Parameter(torch.tensor(s, dtype=torch.float64)) for s in starts]
    ours_opt = getattr(optim, optimizer)([{"params": [p], "lr": 0.1} for p in ours_params], **extra)
    torch_opt = getattr(torch.optim, optimizer)([{"params": [p], "lr": 0.1} for p in torch_params], **extra)
    ours = getattr(lr_scheduler, name)(ours_opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(torch_opt, **kwargs)
    for _ in range(12):
        ours_opt.zero_grad()
        torch_opt.zero_grad()
        sum((p * p * (i + 1)).sum() for i, p in enumerate(ours_params)).backward()
        sum((p * p * (i + 1)).sum() for i, p in enumerate(torch_params)).backward()
        ours_opt.step()
        torch_opt.step()
        ours.step()
        theirs.step()
        assert (ours.get_last_lr(), momenta(ours_opt)) == (theirs.get_last_lr(), momenta(torch_opt))
    for p, q in zip(ours_params, torch_params):
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_reduce_on_plateau_with_epochs_and_non_finite_metrics_matches_pytorch(torch):
    """The deprecated epoch argument sets last_epoch; NaN never improves, inf and -inf compare
    as PyTorch's; cooldown and per-group min_lr as PyTorch's."""
    kwargs = dict(mode="max", factor=0.5, patience=0, threshold=0.1, threshold_mode="abs", cooldown=1,
                  min_lr=[0.02, 0.001])
    ours_opt, torch_opt = pair(torch)
    ours = lr_scheduler.ReduceLROnPlateau(ours_opt, **kwargs)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_opt, **kwargs)
    metrics = [(0.1, None), (float("nan"), None), (0.15, 7), (0.3, None), (float("inf"), None), (5.0, 2),
               (-float("inf"), None), (0.0, None), (0.0, None), (float("nan"), 11), (1.0, None), (1.0, None)]
    changes = 0
    for metric, epoch in metrics:
        before = ours.get_last_lr()
        if epoch is None:
            theirs.step(metric)
            ours.step(metric)
        else:
            with pytest.warns(UserWarning):
                theirs.step(metric, epoch)
            with pytest.warns(UserWarning, match="deprecated"):
                ours.step(metric, epoch)
        assert ours.get_last_lr() == theirs.get_last_lr(), (metric, epoch)
        assert (ours.last_epoch, ours.num_bad_epochs, ours.cooldown_counter, repr(ours.best)) == \
            (theirs.last_epoch, theirs.num_bad_epochs, theirs.cooldown_counter, repr(theirs.best))
        changes += ours.get_last_lr() != before
    assert changes >= 2


def test_state_dict_keys_are_pytorchs(torch):
    """A scheduler's state dict holds PyTorch's entries (less its private get_lr flag), so a
    checkpoint reads the same in both."""
    ours_opt, torch_opt = pair(torch)
    for name, kwargs in [("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3)),
                         ("OneCycleLR", dict(max_lr=1.0, total_steps=10)), ("StepLR", dict(step_size=2))]:
        ours = getattr(lr_scheduler, name)(ours_opt, **kwargs)
        theirs = getattr(torch.optim.lr_scheduler, name)(torch_opt, **kwargs)
        assert set(ours.state_dict()) == set(theirs.state_dict()) - {"_get_lr_called_within_step"}, name


def _order_warnings(lib, optimizer_first):
    """The step-order warnings of two epochs of StepLR (the optimizer's step first or second)."""
    p = lib.nn.Parameter(lib.zeros(1)) if lib is not ag else nn.Parameter(ag.zeros(1))
    p.grad = p.detach() * 0
    opt = (lib.optim if lib is not ag else optim).SGD([p], lr=0.1)
    sched = (lib.optim.lr_scheduler if lib is not ag else lr_scheduler).StepLR(opt, step_size=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            if optimizer_first:
                opt.step()
            sched.step()
            if not optimizer_first:
                opt.step()
    return [str(w.message) for w in caught if "optimizer.step()" in str(w.message)]


@pytest.mark.parametrize("optimizer_first", [True, False])
def test_a_scheduler_stepped_before_the_optimizer_warns_once_as_torch(torch, optimizer_first):
    ours, theirs = _order_warnings(ag, optimizer_first), _order_warnings(torch, optimizer_first)
    assert len(ours) == len(theirs) == (0 if optimizer_first else 1)
    if ours:
        assert "Call optimizer.step() first" in ours[0]


# --- StepLR's step_size: NumPy integers and whole floats, as PyTorch's

# Stepped with epochs and no optimizer step, it warns (ours and PyTorch's): noise for this test.
@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before:UserWarning")
@pytest.mark.filterwarnings("ignore:The epoch argument:UserWarning")
@pytest.mark.filterwarnings("ignore:The epoch parameter:UserWarning")
@pytest.mark.parametrize("step_size", [np.int64(3), np.int32(2), 3.0], ids=["int64", "int32", "whole-float"])
def test_step_lr_takes_numpy_integers_and_whole_floats_as_pytorch(step_size, torch):
    # StepLR refused any step_size that was not a Python int (a NumPy integer from array
    # arithmetic, 3.0 from a config file) with "must be a positive integer"; PyTorch steps with
    # them, as MultiStepLR here already did with its milestones.
    ours_opt = optim.SGD([{"params": [nn.Parameter(ag.zeros(1))], "lr": lr} for lr in (0.1, 0.5)], momentum=0.9)
    torch_opt = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in (0.1, 0.5)],
                                momentum=0.9)
    ours = lr_scheduler.StepLR(ours_opt, step_size=step_size, gamma=0.5)
    theirs = torch.optim.lr_scheduler.StepLR(torch_opt, step_size=step_size, gamma=0.5)
    for epoch in [None] * 10 + [14, None, None, 4, None]:  # the plain steps, then the closed form's jumps
        ours.step(epoch)
        theirs.step(epoch)
        assert ours.get_last_lr() == theirs.get_last_lr()
        assert [g["lr"] for g in ours_opt.param_groups] == [g["lr"] for g in torch_opt.param_groups]
    assert ours.get_last_lr() != [0.1, 0.5]  # the rates did drop


@pytest.mark.parametrize("step_size", [2.5, 0, -2.0, True, "3"])
def test_step_lr_still_refuses_a_step_size_that_is_no_whole_number_of_epochs(step_size):
    # As MultiStepLR's milestones; a bool, which the old isinstance(step_size, int) let through, too.
    opt = optim.SGD([nn.Parameter(ag.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive integer"):
        lr_scheduler.StepLR(opt, step_size=step_size)
    assert opt.param_groups[0]["lr"] == 0.1 and "initial_lr" not in opt.param_groups[0]


# --- runs resumed from a checkpoint (model and optimizer through a safetensors file, the schedule's
# state dict beside it) for every optimizer under a schedule, against the uninterrupted run and PyTorch's

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
