"""What a differential fuzz of the optimizers, the LR schedulers and checkpoints against
PyTorch 2.13 turned up (random hyperparameters per param group, parameters without a
gradient in some steps, state dicts saved mid-run and loaded both ways, schedules over
many epochs with their state dicts, damaged and mismatched checkpoints)."""
import numpy as np
import pytest

import autograd as ag
import nn
from nn import optim
from nn.optim import lr_scheduler

# Schedules stepped here with no optimizer step before the first one warn (ours and PyTorch's);
# noise for these tests.
pytestmark = [pytest.mark.filterwarnings("ignore:scheduler.step\\(\\) was called before optimizer.step:UserWarning"),
              pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before:UserWarning")]

GRADIENT = np.array([0.5, -1.5, 2.0])


def _linear_decay_to_zero(module, opt):
    # A common "decay to zero" schedule; its chainable form ends a rounding error below zero
    # (1 - 1.0000000000000002), in PyTorch as here.
    return module.LinearLR(opt, start_factor=1 / 3, end_factor=0.0, total_iters=4)


@pytest.mark.parametrize("name, kwargs", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.1)),
                                          ("LBFGS", dict(lr=0.1))])
def test_a_checkpoint_saved_after_a_schedule_took_lr_below_zero_loads_and_resumes(name, kwargs, tmp_path, torch):
    # load_state_dict re-checked lr >= 0 and refused the optimizer's own checkpoint, saved at
    # the end of a LinearLR decay to 0 (lr -1.85e-17); PyTorch loads it.
    model = nn.Linear(3, 1)
    opt = getattr(optim, name)(model.parameters(), **kwargs)
    ref = getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(3))], **kwargs)
    schedules = [_linear_decay_to_zero(lr_scheduler, opt), _linear_decay_to_zero(torch.optim.lr_scheduler, ref)]
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
