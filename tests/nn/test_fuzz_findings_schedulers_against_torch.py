"""What a differential fuzz of the LR schedulers and of nn.utils' gradient clipping against
PyTorch 2.13 turned up. The fuzz stepped every scheduler 50-200 times beside PyTorch's on
optimizers with one to three param groups (SGD, the Adam family, RMSprop, Adagrad...),
comparing every rate, momentum or beta1 and get_last_lr() at each step, with resumes by
last_epoch=, state_dict round trips (and PyTorch's state dicts loaded into ours) mid-run,
deprecated step(epoch) jumps (fractional ones for CosineAnnealingWarmRestarts), Tensor
rates, SequentialLR and ChainedScheduler, and ReduceLROnPlateau in every mode; and it
clipped random gradients of mixed dtypes, empty and 0-d ones and non-finite values with
every norm_type. Everything matched but what the tests below cover."""
import math

import numpy as np
import pytest

import autograd as ag
import nn
from nn import optim
from nn.optim import lr_scheduler
from nn.utils import clip_grad_norm_, get_total_norm

# Schedules stepped here with no optimizer step before the first one warn (ours and PyTorch's);
# noise for these tests.
pytestmark = [pytest.mark.filterwarnings("ignore:scheduler.step\\(\\) was called before optimizer.step:UserWarning"),
              pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before:UserWarning"),
              pytest.mark.filterwarnings("ignore:The epoch argument:UserWarning"),
              pytest.mark.filterwarnings("ignore:The epoch parameter:UserWarning")]


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


def _pair(torch, values):
    """The same parameters, each with its value as its gradient, in topograd and in PyTorch."""
    ours, theirs = [], []
    for v in values:
        p = nn.Parameter(ag.tensor(v.copy()))
        p.grad = ag.tensor(v.copy())
        ours.append(p)
        q = torch.nn.Parameter(torch.from_numpy(v.copy()))
        q.grad = torch.from_numpy(v.copy())
        theirs.append(q)
    return ours, theirs


@pytest.mark.parametrize("norm_type, max_norm", [(2.0, 1.0), (2.0, 0.05), (math.inf, 1e-3), (1.0, 2e-4)])
def test_clip_grad_norm_scales_float16_gradients_in_float32_as_pytorch(norm_type, max_norm, torch):
    # The factor was rounded to float16 before scaling a float16 gradient, where PyTorch
    # multiplies in float32 and rounds once: the clipped gradients were off by up to a float16
    # step, and a factor under 3e-8 (a large norm, a small max_norm) became 0, zeroing them.
    # The factor is float32 when the gradients are of several dtypes, as here.
    rng = np.random.default_rng(0)
    values = [(rng.normal(size=(6, 5)) * 2000).astype(np.float16), rng.normal(size=4).astype(np.float32),
              np.array([60000.0, -1.5], dtype=np.float16)]
    ours, theirs = _pair(torch, values)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    ref_total = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert total.item() == ref_total.item() and total.dtype == np.float32
    for p, q in zip(ours[::2], theirs[::2]):  # the float16 gradients, bit for bit
        assert p.grad.dtype == np.float16
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    assert ours[2].grad.numpy()[0] != 0  # 60000 did not vanish


@pytest.mark.parametrize("norm_type", [-math.inf, -1.0, -2.0])
def test_an_empty_gradient_leaves_a_negative_order_norm_of_the_others_as_it_is(norm_type, torch):
    # An empty gradient's norm was 0 for every order, so with norm_type -inf (the smallest
    # absolute value) or below 0 it took the total to 0, whatever the other gradients held.
    # PyTorch refuses such an empty gradient; the total is now the norm of all the elements,
    # as without it.
    values = [np.array([0.5, -2.0, 3.0]), np.zeros((0, 3)), np.array(-0.25)]
    without_empty = torch.cat([torch.from_numpy(v).reshape(-1) for v in values if v.size])
    expected = torch.linalg.vector_norm(without_empty, norm_type).item()
    assert get_total_norm([ag.tensor(v) for v in values], norm_type).item() == pytest.approx(expected, rel=1e-12)

    ours, _ = _pair(torch, values)
    _, theirs = _pair(torch, [v for v in values if v.size])
    total = clip_grad_norm_(ours, 0.1, norm_type=norm_type)
    ref_total = torch.nn.utils.clip_grad_norm_(theirs, 0.1, norm_type=norm_type)
    assert total.item() == pytest.approx(ref_total.item(), rel=1e-12) and total.item() > 0.1
    for p, q in zip(ours[::2], theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("norm_type", [math.inf, 0, 1.0, 2.0])
def test_an_empty_gradient_still_adds_nothing_to_the_other_norms(norm_type, torch):
    # What the change above keeps: an empty gradient counts 0 toward the orders >= 0 (PyTorch
    # refuses one for inf; for the others it agrees).
    values = [np.array([0.5, -2.0, 3.0]), np.zeros((0,)), np.array([[-0.25, 0.0]])]
    expected = torch.nn.utils.get_total_norm([torch.from_numpy(v) for v in values if v.size], norm_type).item()
    assert get_total_norm([ag.tensor(v) for v in values], norm_type).item() == pytest.approx(expected, rel=1e-12)
