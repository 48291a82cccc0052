"""nn.optim, the schedulers, gradient clipping, checkpoints and the DataLoader against
PyTorch: long runs with unusual option combinations, per-group options, resumes, state dicts
from and to PyTorch, and PyTorch's keyword arguments that ported code passes."""
import inspect
import json
import math
import struct
import warnings

import numpy as np
import pytest

import autograd as ag
import nn
from nn import optim
from nn.data import DataLoader, TensorDataset
from nn.optim import lr_scheduler
from nn.utils import clip_grad

# Tests here step schedules on their own to compare rates, with no optimizer step: the
# warning that a training loop would skip its first rate is noise for them.
pytestmark = pytest.mark.filterwarnings("ignore:scheduler.step\\(\\) was called before optimizer.step:UserWarning")

SHAPES = [(4, 3), (3,), (), (2, 2)]
STEPS = 40


def _arrays(seed, dtype="float64", steps=STEPS):
    rng = np.random.default_rng(seed)
    init = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    grads = [[rng.normal(size=s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    return init, grads


def _ours(init):
    return [nn.Parameter(ag.tensor(a.copy())) for a in init]


def _theirs(torch, init):
    return [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in init]


def _set_grads(params, torch_params, grads, torch, skip=()):
    for i, (p, tp, g) in enumerate(zip(params, torch_params, grads)):
        if i in skip:  # a parameter without a gradient this step is left alone by both
            p.grad, tp.grad = None, None
        else:
            p.grad, tp.grad = ag.tensor(g.copy()), torch.from_numpy(g.copy())


def _max_diff(params, torch_params):
    return max(float(np.abs(p.numpy() - tp.detach().numpy()).max()) for p, tp in zip(params, torch_params))


# --- long runs, unusual combinations, per-group options ----------------------------------------

# One param group per parameter, each with its own unusual options (initial_accumulator_value is
# left to the constructor: PyTorch reads only the constructor's value, see the Adagrad test below).
GROUPED = {
    "SGD": (dict(lr=0.05), [dict(momentum=0.9, nesterov=True, weight_decay=0.1, maximize=True),
                            dict(momentum=0.5, dampening=0.9, weight_decay=0.1, maximize=True),
                            dict(weight_decay=0.1, dampening=0.5),
                            dict(lr=0.3, momentum=0.2)]),
    "Adam": (dict(lr=0.01), [dict(amsgrad=True, weight_decay=0.3, maximize=True, betas=(0.5, 0.7)),
                             dict(amsgrad=True, weight_decay=0.3, decoupled_weight_decay=True),
                             dict(betas=(0.0, 0.0), eps=0.1),
                             dict(lr=0.3, maximize=True)]),
    "AdamW": (dict(lr=0.01), [dict(amsgrad=True, weight_decay=0.3, maximize=True),
                              dict(weight_decay=0.0),
                              dict(betas=(0.3, 0.4)),
                              dict(lr=0.2, amsgrad=True)]),
    "RMSprop": (dict(lr=0.01), [dict(centered=True, momentum=0.9, weight_decay=0.2, maximize=True, alpha=0.5),
                                dict(momentum=0.5, maximize=True),
                                dict(alpha=1.0, eps=1e-3),
                                dict(lr=0.3, eps=0.1, centered=True, momentum=0.3)]),
    "Adagrad": (dict(lr=0.1, initial_accumulator_value=0.7),
                [dict(lr_decay=0.5, weight_decay=0.3, maximize=True, eps=1e-3),
                 dict(maximize=True),
                 dict(weight_decay=0.1),
                 dict(lr=0.3, eps=0.1, lr_decay=0.01)]),
}


@pytest.mark.parametrize("name", sorted(GROUPED))
def test_per_group_options_over_many_steps_with_chained_schedulers_match_pytorch(name, device, torch):
    defaults, options = GROUPED[name]
    init, grads = _arrays(1)
    params, torch_params = _ours(init), _theirs(torch, init)
    opt = getattr(optim, name)([dict(params=[p], **o) for p, o in zip(params, options)], **defaults)
    ref = getattr(torch.optim, name)([dict(params=[p], **o) for p, o in zip(torch_params, options)], **defaults)
    ours_s = [lr_scheduler.CosineAnnealingLR(opt, 9, 0.001), lr_scheduler.MultiStepLR(opt, [5, 20, 33], 0.5)]
    ref_s = [torch.optim.lr_scheduler.CosineAnnealingLR(ref, 9, 0.001),
             torch.optim.lr_scheduler.MultiStepLR(ref, [5, 20, 33], 0.5)]
    for step in range(STEPS):
        _set_grads(params, torch_params, grads[step], torch, skip={step % 5} if step % 3 == 0 else ())
        opt.step()
        ref.step()
        for s in ours_s + ref_s:
            s.step()
        assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in ref.param_groups], step
    assert _max_diff(params, torch_params) < 1e-12
    for p, tp in zip(params, torch_params):
        state, ref_state = opt.state[p], ref.state[tp]
        assert sorted(state) == sorted(ref_state)
        for key in state:
            np.testing.assert_allclose(state[key].numpy(), ref_state[key].numpy(), rtol=1e-12, atol=1e-14)


def test_adagrad_honours_a_per_group_initial_accumulator_value():
    # A deliberate difference: PyTorch fills every group's accumulator from the constructor's
    # initial_accumulator_value, ignoring a group's own; topograd uses the group's value.
    a, b = nn.Parameter(ag.zeros(2)), nn.Parameter(ag.zeros(2))
    opt = optim.Adagrad([{"params": [a]}, {"params": [b], "initial_accumulator_value": 3.0}], lr=0.1,
                        initial_accumulator_value=0.5)
    np.testing.assert_array_equal(opt.state[a]["sum"].numpy(), [0.5, 0.5])
    np.testing.assert_array_equal(opt.state[b]["sum"].numpy(), [3.0, 3.0])
    c = nn.Parameter(ag.zeros(2))
    opt.add_param_group({"params": [c], "initial_accumulator_value": 2.0})
    np.testing.assert_array_equal(opt.state[c]["sum"].numpy(), [2.0, 2.0])


# --- state dicts to and from PyTorch --------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(GROUPED))
def test_pytorch_state_dict_loads_and_continues_and_ours_loads_in_pytorch(name, torch):
    defaults, options = GROUPED[name]
    init, grads = _arrays(2, "float32", steps=10)
    torch_params = _theirs(torch, init)
    ref = getattr(torch.optim, name)([dict(params=[p], **o) for p, o in zip(torch_params, options)], **defaults)
    params = _ours(init)
    for step in range(5):
        _set_grads(params, torch_params, grads[step], torch)
        ref.step()
    params = _ours([p.detach().numpy() for p in torch_params])
    opt = getattr(optim, name)([{"params": [p]} for p in params], lr=1.0)
    opt.load_state_dict(ref.state_dict())
    for step in range(5, 10):
        _set_grads(params, torch_params, grads[step], torch)
        opt.step()
        ref.step()
    assert _max_diff(params, torch_params) < 1e-6
    saved = opt.state_dict()
    back = getattr(torch.optim, name)([{"params": [torch.nn.Parameter(torch.zeros(s))]} for s in SHAPES])
    back.load_state_dict({"state": {i: {k: torch.from_numpy(v.numpy().copy()) for k, v in s.items()}
                                    for i, s in saved["state"].items()},
                          "param_groups": saved["param_groups"]})
    assert [g["lr"] for g in back.param_groups] == [g["lr"] for g in ref.param_groups]


@pytest.mark.parametrize("name, kwargs", [
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("Adam", dict(lr=0.1)),
    ("AdamW", dict(lr=0.1, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.1, centered=True, momentum=0.5)),
    ("Adagrad", dict(lr=0.1)),
])
def test_load_state_dict_casts_integer_state_to_the_parameter_dtype(name, kwargs, device, torch):
    # PyTorch casts every loaded state value but 'step' to a floating parameter's dtype; an
    # integer moment (e.g. zeros written by a tool as int64) must not stay integer.
    state = {"SGD": ["momentum_buffer"], "Adam": ["exp_avg", "exp_avg_sq"], "AdamW": ["exp_avg", "exp_avg_sq"],
             "RMSprop": ["grad_avg", "momentum_buffer", "square_avg"], "Adagrad": ["sum"]}[name]
    # (values 1, 2, 3 in this order: square_avg > grad_avg ** 2 keeps centered RMSprop's variance positive)
    values = {key: np.full(3, i + 1, dtype=np.int64) for i, key in enumerate(state)}
    if name != "SGD":
        values["step"] = np.array(2.0, dtype=np.float32)
    p = nn.Parameter(ag.tensor(np.ones(3, dtype=np.float32)))
    tp = torch.nn.Parameter(torch.ones(3))
    opt, ref = getattr(optim, name)([p], **kwargs), getattr(torch.optim, name)([tp], **kwargs)
    groups = ref.state_dict()["param_groups"]
    opt.load_state_dict({"state": {0: dict(values)}, "param_groups": groups})
    ref.load_state_dict({"state": {0: {k: torch.from_numpy(v.copy()) for k, v in values.items()}},
                         "param_groups": groups})
    assert all(opt.state[p][key].dtype == ag.float32 for key in state)
    g = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    p.grad, tp.grad = ag.tensor(g), torch.from_numpy(g.copy())
    opt.step()
    ref.step()
    np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-6, atol=1e-7)


def test_load_state_dict_accepts_the_none_momentum_buffers_of_old_pytorch_checkpoints(device, torch):
    # PyTorch 1.x SGD saved {'momentum_buffer': None}; PyTorch 2.13 still loads such files.
    p, tp = nn.Parameter(ag.ones(3)), torch.nn.Parameter(torch.ones(3))
    opt, ref = optim.SGD([p], lr=0.1, momentum=0.9), torch.optim.SGD([tp], lr=0.1, momentum=0.9)
    groups = ref.state_dict()["param_groups"]
    opt.load_state_dict({"state": {0: {"momentum_buffer": None}}, "param_groups": groups})
    ref.load_state_dict({"state": {0: {"momentum_buffer": None}}, "param_groups": groups})
    for _ in range(2):
        p.grad, tp.grad = ag.ones(3), torch.ones(3)
        opt.step()
        ref.step()
    np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-6)


def test_load_state_dict_refuses_another_optimizers_state_and_changes_nothing(device):
    # An SGD state dict loaded into Adam used to be taken, then failed with a KeyError at step().
    a, b = nn.Parameter(ag.ones(3)), nn.Parameter(ag.ones(2))
    sgd = optim.SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = ag.ones(3), ag.ones(2)
    sgd.step()
    adam = optim.Adam([a, b], lr=0.1)
    adam.step()
    state, groups = adam.state, adam.param_groups
    before = {(i, k): v.numpy().copy() for i, p in enumerate((a, b)) for k, v in adam.state[p].items()}
    with pytest.raises(ValueError, match="parameter 0 has no 'step', 'exp_avg', 'exp_avg_sq'.*another optimizer"):
        adam.load_state_dict(sgd.state_dict())
    # None counts as absent; the first parameter's state is valid, the second's is not.
    saved = adam.state_dict()
    for bad in (dict(saved["state"][1], exp_avg=None), dict(saved["state"][1], exp_avg_sq=np.zeros(5))):
        with pytest.raises(ValueError, match="parameter 1"):
            adam.load_state_dict({"state": {0: saved["state"][0], 1: bad}, "param_groups": saved["param_groups"]})
    assert adam.state is state and adam.param_groups is groups and groups[0]["lr"] == 0.1
    for (i, k), v in before.items():
        np.testing.assert_array_equal(adam.state[(a, b)[i]][k].numpy(), v)


def test_a_float64_gradient_on_a_float32_parameter_does_not_turn_its_state_float64():
    # PyTorch refuses the assignment ("assigned grad has data of a different type"); here it
    # is accepted, and SGD's momentum buffer then silently becomes float64.
    p = nn.Parameter(ag.ones(3))
    try:
        p.grad = ag.ones(3, dtype=ag.float64)
    except (TypeError, ValueError, RuntimeError):
        return  # refused, as PyTorch does
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    opt.step()
    assert p.dtype == ag.float32
    assert opt.state[p]["momentum_buffer"].dtype == ag.float32


# --- PyTorch's keyword arguments -----------------------------------------------------------------

@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_optimizers_accept_pytorchs_implementation_flags(name, torch):
    # foreach / fused / capturable / differentiable select an implementation in PyTorch; code
    # ported from PyTorch passes them (fused=True for AdamW is common) and must not fail.
    flags = {k: v.default for k, v in inspect.signature(getattr(torch.optim, name)).parameters.items()
             if k in ("foreach", "fused", "capturable", "differentiable")}
    flags["foreach"] = False
    init, grads = _arrays(3, "float32", steps=3)
    plain, flagged = _ours(init), _ours(init)
    a = getattr(optim, name)(plain, lr=0.05)
    b = getattr(optim, name)(flagged, lr=0.05, **flags)
    for step in range(3):
        for p, q, g in zip(plain, flagged, grads[step]):
            p.grad, q.grad = ag.tensor(g), ag.tensor(g.copy())
        a.step()
        b.step()
    for p, q in zip(plain, flagged):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def _signature(fn):
    return [(name, p.kind, p.default) for name, p in inspect.signature(fn).parameters.items()]


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_optimizer_signatures_and_param_group_keys_match_pytorch(name, torch):
    # Names, order, positional or keyword-only, defaults: ported calls bind the same way.
    assert _signature(getattr(optim, name)) == _signature(getattr(torch.optim, name))
    ours = getattr(optim, name)([nn.Parameter(ag.zeros(2))])
    theirs = getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(2))])
    assert ours.param_groups[0].keys() == theirs.param_groups[0].keys()
    assert {k: v for k, v in ours.defaults.items() if k != "betas"} == \
        {k: v for k, v in theirs.defaults.items() if k != "betas"}


@pytest.mark.parametrize("name", ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"])
def test_clip_grad_signatures_match_pytorch(name, torch):
    assert _signature(getattr(nn.utils, name)) == _signature(getattr(torch.nn.utils, name))


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_differentiable_updates_are_refused_everywhere_a_group_is_set(name):
    # In-place updates of the arrays cannot be differentiated through: refused, never ignored.
    p = nn.Parameter(ag.ones(2))
    with pytest.raises(ValueError, match="differentiable=True is not supported"):
        getattr(optim, name)([p], lr=0.1, differentiable=True)
    opt = getattr(optim, name)([p], lr=0.1)
    with pytest.raises(ValueError, match="differentiable=True is not supported"):
        opt.add_param_group({"params": [nn.Parameter(ag.ones(2))], "differentiable": True})
    saved = opt.state_dict()
    with pytest.raises(ValueError, match="differentiable=True is not supported"):  # e.g. from PyTorch
        opt.load_state_dict({"state": {}, "param_groups": [dict(saved["param_groups"][0], differentiable=True)]})
    assert len(opt.param_groups) == 1 and opt.param_groups[0]["differentiable"] is False


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad"])
def test_fused_and_foreach_together_are_refused_as_in_pytorch(name, torch):
    with pytest.raises(RuntimeError, match="cannot be `True` together"):
        getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(2))], fused=True, foreach=True)
    with pytest.raises(ValueError, match="fused=True and foreach=True"):
        getattr(optim, name)([nn.Parameter(ag.zeros(2))], fused=True, foreach=True)


@pytest.mark.parametrize("foreach", [None, False, True])
def test_clip_grad_functions_accept_foreach(foreach, device, torch):
    init, grads = _arrays(4, "float32", steps=1)
    params, torch_params = _ours(init), _theirs(torch, init)
    _set_grads(params, torch_params, grads[0], torch)
    total = clip_grad.clip_grad_norm_(params, 0.5, foreach=foreach)
    ref_total = torch.nn.utils.clip_grad_norm_(torch_params, 0.5, foreach=foreach)
    np.testing.assert_allclose(total.numpy(), ref_total.numpy(), rtol=1e-6)
    clip_grad.clip_grad_value_(params, 0.1, foreach=foreach)
    torch.nn.utils.clip_grad_value_(torch_params, 0.1, foreach=foreach)
    norm = clip_grad.get_total_norm([p.grad for p in params], 2.0, False, foreach=foreach)
    clip_grad.clip_grads_with_norm_(params, 0.05, norm, foreach=foreach)
    ref_norm = torch.nn.utils.get_total_norm([p.grad for p in torch_params], 2.0, False, foreach=foreach)
    torch.nn.utils.clip_grads_with_norm_(torch_params, 0.05, ref_norm, foreach=foreach)
    for p, tp in zip(params, torch_params):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-6, atol=1e-8)


# --- schedulers -----------------------------------------------------------------------------------

def _pair(torch, optimizer="SGD", lrs=(0.1, 0.03), **kwargs):
    if optimizer == "SGD" and not kwargs:
        kwargs = {"momentum": 0.9}
    ours = getattr(optim, optimizer)([{"params": [nn.Parameter(ag.zeros(2))], "lr": lr} for lr in lrs], **kwargs)
    theirs = getattr(torch.optim, optimizer)(
        [{"params": [torch.nn.Parameter(torch.zeros(2))], "lr": lr} for lr in lrs], **kwargs)
    return ours, theirs


def _lrs(opt):
    return [g["lr"] for g in opt.param_groups]


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def _decay(epoch):
    return 0.9 ** epoch


EPOCH_SCHEDULES = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=6, eta_min=0.01)),
    ("LambdaLR", dict(lr_lambda=_decay)),
]


@pytest.mark.parametrize("name, kwargs", EPOCH_SCHEDULES, ids=[n for n, _ in EPOCH_SCHEDULES])
def test_step_with_an_epoch_matches_pytorch(name, kwargs, torch):
    # Deprecated in PyTorch, still accepted by 2.13 (with a warning): it jumps to that epoch
    # with the closed-form rate where the schedule has one.
    ours_opt, torch_opt = _pair(torch)
    ours = getattr(lr_scheduler, name)(ours_opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(torch_opt, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in (3, 7, 4, 10, None, None, 2):
            torch_opt.step()
            theirs.step(epoch)
            if epoch is None:
                ours.step()
            else:
                ours.step(epoch)
            assert ours.last_epoch == theirs.last_epoch
            assert _lrs(ours_opt) == _lrs(torch_opt), epoch
            assert ours.get_last_lr() == theirs.get_last_lr()


def test_step_with_an_epoch_warns_at_the_callers_line_and_plain_steps_do_not():
    opt = optim.SGD([nn.Parameter(ag.zeros(2))], lr=0.1)
    schedule, plateau = lr_scheduler.StepLR(opt, 2), lr_scheduler.ReduceLROnPlateau(opt)
    for call in (lambda: schedule.step(3), lambda: plateau.step(1.0, 4)):
        with pytest.warns(UserWarning, match="epoch argument of `scheduler.step\\(\\)` is deprecated") as record:
            call()
        assert record[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        schedule.step()
        plateau.step(1.0)
    assert (schedule.last_epoch, plateau.last_epoch) == (4, 5)


def test_fit_steps_epoch_schedules_plainly_and_plateau_with_the_loss(device):
    # nn.fit tells them apart by step()'s signature: step(epoch=None) needs no argument,
    # ReduceLROnPlateau.step(metrics, epoch=None) needs the monitored loss.
    x = ag.tensor(np.linspace(-1, 1, 16, dtype=np.float32).reshape(8, 2))
    loader = DataLoader(TensorDataset(x, x[:, :1] * 2), batch_size=4)
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    step_lr = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # so no deprecated step(epoch) call
        nn.fit(model, nn.functional.mse_loss, opt, loader, epochs=3, metrics=(), scheduler=step_lr, progress=False)
    assert step_lr.last_epoch == 3 and opt.param_groups[0]["lr"] == 0.1 * 0.5 ** 3
    opt = optim.SGD(model.parameters(), lr=0.1)
    plateau = lr_scheduler.ReduceLROnPlateau(opt, threshold=0.0, threshold_mode="abs")
    history = nn.fit(model, nn.functional.mse_loss, opt, loader, epochs=3, metrics=(), scheduler=plateau,
                     progress=False)
    assert plateau.last_epoch == 3 and plateau.best == min(history.train_loss)


def test_reduce_on_plateau_step_with_an_epoch_matches_pytorch(torch):
    ours_opt, torch_opt = _pair(torch)
    ours = lr_scheduler.ReduceLROnPlateau(ours_opt, patience=0)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_opt, patience=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch, metric in ((5, 1.0), (6, 2.0), (9, 3.0)):
            theirs.step(metric, epoch)
            ours.step(metric, epoch)
            assert ours.last_epoch == theirs.last_epoch == epoch
            assert _lrs(ours_opt) == _lrs(torch_opt)


RESUMED = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 9])),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=6, eta_min=0.01)),
    ("LambdaLR", dict(lr_lambda=_decay)),
    ("OneCycleLR", dict(max_lr=[0.5, 0.2], total_steps=30, anneal_strategy="linear", base_momentum=[0.7, 0.8])),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=30, three_phase=True, pct_start=0.2, max_momentum=0.99)),
]


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
@pytest.mark.parametrize("name, kwargs", RESUMED, ids=[f"{n}-{i}" for i, (n, _) in enumerate(RESUMED)])
def test_resuming_with_last_epoch_and_with_state_dicts_matches_pytorch(name, kwargs, optimizer, torch):
    done = 7
    ours_opt, torch_opt = _pair(torch, optimizer)
    ours = getattr(lr_scheduler, name)(ours_opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(torch_opt, **kwargs)
    for _ in range(done):
        torch_opt.step()
        ours.step()
        theirs.step()
    # Resume from the optimizer's state alone, with last_epoch.
    by_epoch, torch_by_epoch = _pair(torch, optimizer)
    by_epoch.load_state_dict(ours_opt.state_dict())
    torch_by_epoch.load_state_dict(torch_opt.state_dict())
    ours_resumed = getattr(lr_scheduler, name)(by_epoch, last_epoch=done - 1, **kwargs)
    theirs_resumed = getattr(torch.optim.lr_scheduler, name)(torch_by_epoch, last_epoch=done - 1, **kwargs)
    # Resume from both state dicts (scheduler built first, as PyTorch's docs ask).
    by_dict, torch_by_dict = _pair(torch, optimizer)
    ours_loaded = getattr(lr_scheduler, name)(by_dict, **kwargs)
    theirs_loaded = getattr(torch.optim.lr_scheduler, name)(torch_by_dict, **kwargs)
    by_dict.load_state_dict(ours_opt.state_dict())
    torch_by_dict.load_state_dict(torch_opt.state_dict())
    ours_loaded.load_state_dict(ours.state_dict())
    theirs_loaded.load_state_dict(theirs.state_dict())
    for _ in range(12):
        for o, s in ((torch_opt, theirs), (ours_opt, ours), (torch_by_epoch, theirs_resumed),
                     (by_epoch, ours_resumed), (torch_by_dict, theirs_loaded), (by_dict, ours_loaded)):
            o.step()
            s.step()
        assert _lrs(by_epoch) == _lrs(torch_by_epoch)
        assert _momenta(by_epoch) == _momenta(torch_by_epoch)
        assert _lrs(by_dict) == _lrs(torch_by_dict) == _lrs(ours_opt) == _lrs(torch_opt)
        assert _momenta(by_dict) == _momenta(torch_by_dict) == _momenta(ours_opt)


@pytest.mark.parametrize("optimizer", ["Adam", "AdamW", "RMSprop"])
@pytest.mark.parametrize("kwargs", [
    dict(max_lr=0.5, total_steps=40, three_phase=True, anneal_strategy="linear"),
    dict(max_lr=[0.5, 0.2], total_steps=40, three_phase=True, base_momentum=[0.7, 0.8],
         max_momentum=[0.9, 0.99], pct_start=0.4),
    dict(max_lr=0.5, total_steps=40, pct_start=0.0),
    dict(max_lr=0.5, total_steps=40, pct_start=1.0),
    dict(max_lr=0.5, epochs=4, steps_per_epoch=10, div_factor=3.0, final_div_factor=7.0),
], ids=range(5))
def test_one_cycle_cycles_betas_and_momentum_like_pytorch(kwargs, optimizer, torch):
    ours_opt, torch_opt = _pair(torch, optimizer)
    ours = lr_scheduler.OneCycleLR(ours_opt, **kwargs)
    theirs = torch.optim.lr_scheduler.OneCycleLR(torch_opt, **kwargs)
    for step in range(40):  # (step 40 divides by zero in both libraries when pct_start=1.0)
        if step:
            torch_opt.step()
            ours.step()
            theirs.step()
        assert _lrs(ours_opt) == _lrs(torch_opt), step
        assert _momenta(ours_opt) == _momenta(torch_opt), step
        if "betas" in ours_opt.param_groups[0]:  # beta2 is left alone
            assert [g["betas"] for g in ours_opt.param_groups] == [g["betas"] for g in torch_opt.param_groups]


@pytest.mark.parametrize("kwargs", [dict(total_steps=10, pct_start=0.1),
                                    dict(total_steps=20, pct_start=0.05, three_phase=True)], ids=["two", "three"])
def test_one_cycle_refuses_a_zero_step_warm_up_before_changing_the_optimizer(kwargs, torch):
    # pct_start * total_steps == 1: PyTorch divides by zero in the constructor's first step.
    ours_opt, torch_opt = _pair(torch)
    with pytest.raises(ZeroDivisionError):
        torch.optim.lr_scheduler.OneCycleLR(torch_opt, max_lr=0.5, **kwargs)
    before = [{k: v for k, v in g.items() if k != "params"} for g in ours_opt.param_groups]
    with pytest.raises(ValueError, match="step 0 zero steps long"):
        lr_scheduler.OneCycleLR(ours_opt, max_lr=0.5, **kwargs)
    assert [{k: v for k, v in g.items() if k != "params"} for g in ours_opt.param_groups] == before


def test_one_cycle_refuses_the_step_into_an_empty_last_phase_and_stays_put(torch):
    # pct_start=1 leaves nothing for the anneal: PyTorch divides by zero at step total_steps.
    ours_opt, torch_opt = _pair(torch)
    ours = lr_scheduler.OneCycleLR(ours_opt, max_lr=0.5, total_steps=5, pct_start=1.0)
    theirs = torch.optim.lr_scheduler.OneCycleLR(torch_opt, max_lr=0.5, total_steps=5, pct_start=1.0)
    for _ in range(4):
        torch_opt.step()
        ours.step()
        theirs.step()
    assert _lrs(ours_opt) == _lrs(torch_opt) and _momenta(ours_opt) == _momenta(torch_opt)
    with pytest.raises(ZeroDivisionError):
        theirs.step()
    lrs, momenta = _lrs(ours_opt), _momenta(ours_opt)
    with pytest.raises(ValueError, match="step 5 zero steps long"):
        ours.step()
    assert (ours.last_epoch, _lrs(ours_opt), _momenta(ours_opt)) == (4, lrs, momenta)


@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("threshold_mode", ["rel", "abs"])
@pytest.mark.parametrize("kwargs", [
    dict(patience=0, cooldown=2, factor=0.5),
    dict(patience=2, threshold=0.05, min_lr=[0.02, 0.001]),
    dict(patience=1, factor=0.5, min_lr=0.01, eps=0.006),
], ids=range(3))
def test_reduce_on_plateau_matches_pytorch_on_noisy_signed_metrics(mode, threshold_mode, kwargs, torch):
    ours_opt, torch_opt = _pair(torch)
    ours = lr_scheduler.ReduceLROnPlateau(ours_opt, mode=mode, threshold_mode=threshold_mode, **kwargs)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_opt, mode=mode, threshold_mode=threshold_mode,
                                                        **kwargs)
    rng = np.random.default_rng(7)
    metrics = np.round(np.cumsum(rng.normal(scale=0.05, size=60)) - 0.5, 3)  # crosses zero
    for i, metric in enumerate(metrics.tolist()):
        ours.step(metric)
        theirs.step(metric)
        assert ours.get_last_lr() == theirs.get_last_lr(), i
        assert (ours.best, ours.num_bad_epochs, ours.cooldown_counter) == \
            (theirs.best, theirs.num_bad_epochs, theirs.cooldown_counter), i
    saved = ours.state_dict()
    twin = lr_scheduler.ReduceLROnPlateau(_pair(torch)[0])
    twin.load_state_dict(saved)
    assert (twin.mode, twin.threshold_mode, twin.best, twin.min_lrs) == (mode, threshold_mode, ours.best, ours.min_lrs)


# --- checkpoints ----------------------------------------------------------------------------------

def _train(steps, resume_at=None, path=None):
    """Two-group Adam with OneCycleLR on a small linear fit, optionally saved to ``path`` and
    restored into a fresh model, optimizer and scheduler after ``resume_at`` steps."""
    def build(seed):
        ag.manual_seed(seed)
        model = nn.Linear(4, 3)
        opt = optim.Adam([{"params": [model.weight], "amsgrad": True, "weight_decay": 0.1},
                          {"params": [model.bias], "lr": 0.05, "betas": (0.5, 0.9)}], lr=0.01)
        return model, opt, lr_scheduler.OneCycleLR(opt, max_lr=[0.1, 0.05], total_steps=steps, three_phase=True)

    model, opt, sched = build(0)
    x = ag.tensor(np.linspace(-1, 1, 32, dtype=np.float32).reshape(8, 4))
    y = ag.tensor(np.linspace(0, 1, 24, dtype=np.float32).reshape(8, 3))
    for i in range(steps):
        if i == resume_at:
            nn.save(model, path, optimizer=opt)
            saved_schedule = sched.state_dict()
            model, opt, sched = build(1)
            nn.restore(path, model, opt)
            sched.load_state_dict(saved_schedule)
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()
        if i < steps - 1:
            sched.step()
    return model, opt


def test_checkpoint_resume_continues_exactly_like_an_uninterrupted_run(device, tmp_path):
    straight, straight_opt = _train(12)
    resumed, resumed_opt = _train(12, resume_at=5, path=tmp_path / "ckpt.safetensors")
    for name, value in straight.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[name].numpy(), value.numpy(), err_msg=name)
    assert resumed_opt.param_groups[1]["betas"] == straight_opt.param_groups[1]["betas"]
    assert isinstance(resumed_opt.param_groups[1]["betas"], tuple)
    assert [g["lr"] for g in resumed_opt.param_groups] == [g["lr"] for g in straight_opt.param_groups]


def _write_with_topograd_info(path, info):
    header = json.dumps({"__metadata__": {"topograd": json.dumps(info)},
                         "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 4)


@pytest.mark.parametrize("info", [
    {"version": 1, "model_keys": ["w"], "crc32": [1]},
    {"version": 1, "model_keys": 5},
    {"version": 1, "model_keys": [["w"]]},
], ids=["crc32-list", "model_keys-int", "model_keys-nested"])
def test_malformed_checkpoint_metadata_raises_a_value_error_naming_the_file(tmp_path, info):
    path = tmp_path / "bad.safetensors"
    _write_with_topograd_info(path, info)
    with pytest.raises(ValueError, match="corrupt") as error:
        nn.load(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("skeleton", [
    {"__items__": [1]},
    {"__items__": [[["unhashable"], 1]]},
    {"state": {"__tensor__": [1]}},
    {"state": {"__tensor__": "optimizer.state.9.absent"}},
    {"__tuple__": 3},
], ids=["items-int", "items-unhashable-key", "tensor-name-list", "tensor-missing", "tuple-int"])
def test_malformed_optimizer_state_raises_a_value_error_naming_the_file(tmp_path, skeleton):
    path = tmp_path / "bad.safetensors"
    _write_with_topograd_info(path, {"version": 1, "model_keys": ["w"], "optimizer": skeleton})
    with pytest.raises(ValueError, match="corrupt") as error:
        nn.checkpoint.load_optimizer_state(path)
    assert str(path) in str(error.value)


# --- gradient clipping and data ---------------------------------------------------------------------

@pytest.mark.parametrize("norm_type", [-math.inf, 0.0, -1.0, "inf"])
def test_clip_grad_norm_with_mixed_dtypes_and_unusual_norms_matches_pytorch(norm_type, device, torch):
    init, grads = _arrays(5, "float32", steps=1)
    grads = [[g.astype(np.float64) if i == 1 else g for i, g in enumerate(grads[0])]]
    params, torch_params = _ours(init), _theirs(torch, init)
    params[1], torch_params[1] = (nn.Parameter(ag.tensor(init[1].astype(np.float64))),
                                  torch.nn.Parameter(torch.from_numpy(init[1].astype(np.float64))))
    _set_grads(params, torch_params, grads[0], torch)
    total = clip_grad.clip_grad_norm_(params, 0.3, norm_type=norm_type)
    ref_total = torch.nn.utils.clip_grad_norm_(torch_params, 0.3, norm_type=norm_type)
    assert str(total.dtype) == str(ref_total.dtype).replace("torch.", "")
    np.testing.assert_allclose(total.numpy(), ref_total.numpy(), rtol=1e-6)
    for p, tp in zip(params, torch_params):
        assert str(p.grad.dtype) == str(tp.grad.dtype).replace("torch.", "")
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("n, batch_size, drop_last, batches", [
    (5, 7, False, [5]), (5, 7, True, []), (5, 5, True, [5]), (5, 2, True, [2, 2]), (0, 3, False, []),
])
@pytest.mark.parametrize("shuffle", [False, True])
def test_loader_length_matches_its_batches(n, batch_size, drop_last, batches, shuffle, device):
    ds = TensorDataset(ag.tensor(np.arange(2 * n, dtype=np.float32).reshape(n, 2)), ag.tensor(np.arange(n)))
    loader = DataLoader(ds, batch_size=batch_size, drop_last=drop_last, shuffle=shuffle, seed=4)
    got = list(loader)
    assert len(loader) == len(got) == len(batches)
    assert [y.shape[0] for _, y in got] == batches
    for x, y in got:  # rows stay paired under the shuffle
        np.testing.assert_array_equal(x.numpy()[:, 0], 2 * y.numpy())
