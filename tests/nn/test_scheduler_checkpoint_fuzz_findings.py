"""Findings of a differential fuzz of the LR schedulers through checkpoints (nn.save, then
nn.restore into fresh objects, against the uninterrupted run and PyTorch 2.13's schedulers),
state_dict round trips, and checkpoints that do not fit."""
import numpy as np
import pytest

import autograd as ag
import nn
from nn.optim import lr_scheduler as sched


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
