"""nn.optim.swa_utils against torch.optim.swa_utils: AveragedModel with each averaging function
over several updates (parameters, buffers, n_averaged, state dicts), update_bn's running
statistics, SWALR's rates, and the errors. Both sides start from the same weights, copied by
state_dict, and see the same model weights at every update."""
import numpy as np
import pytest

import autograd as ag
import nn
from nn.optim import swa_utils
from nn.optim.swa_utils import AveragedModel
from nn.utils import parametrizations, prune

from tests.torch_versions import torch_older_than
from tests.nn.torch_compare import array_on_device_of, with_seeded_parameters

# SWALR is stepped on its own here, to compare rates, with no optimizer step in between.
pytestmark = [
    pytest.mark.filterwarnings("ignore:scheduler.step\\(\\) was called before optimizer.step:UserWarning"),
    pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before:UserWarning"),
]


def twin_models(torch, dtype="float32"):
    """A small net with BatchNorm, as topograd's and PyTorch's modules with the same weights."""
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(),
                                 torch.nn.Linear(4, 2))
    ours = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    if dtype == "float64":
        theirs.double()
        ours.double()
    copy_weights(ours, theirs)
    return ours, theirs


def copy_weights(ours, theirs):
    ours.load_state_dict({key: value.numpy() for key, value in theirs.state_dict().items()})


def train_a_little(torch, ours, theirs, rng):
    """Move PyTorch's weights and batch-norm statistics on by a random step; ours follow by state_dict."""
    dtype = next(theirs.parameters()).dtype
    with torch.no_grad():
        for p in theirs.parameters():
            p.add_(torch.from_numpy(rng.standard_normal(tuple(p.shape))).to(dtype))
    theirs.train()
    theirs(torch.from_numpy(rng.standard_normal((6, 3))).to(dtype))
    copy_weights(ours, theirs)


def assert_state_dicts_match(ours, theirs, rtol):
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    assert list(ours_state) == list(theirs_state)
    for key, value in theirs_state.items():
        assert ours_state[key].dtype == str(value.dtype).replace("torch.", ""), key
        np.testing.assert_allclose(ours_state[key].numpy(), value.numpy(), rtol=rtol, atol=1e-7, err_msg=key)


# {avg_fn or multi_avg_fn: (the factory's name, its arguments)}; {} is the default, SWA.
AVERAGES = [
    pytest.param({}, id="default-swa"),
    pytest.param({"avg_fn": ("get_swa_avg_fn",)}, id="swa-avg_fn"),
    pytest.param({"avg_fn": ("get_ema_avg_fn", 0.7)}, id="ema-avg_fn"),
    pytest.param({"multi_avg_fn": ("get_ema_multi_avg_fn", 0.9)}, id="ema-multi-0.9"),
    pytest.param({"multi_avg_fn": ("get_ema_multi_avg_fn", 0.2)}, id="ema-multi-0.2"),  # lerp's other branch
    pytest.param({"multi_avg_fn": ("get_swa_multi_avg_fn",)}, id="swa-multi"),
]


def averaged_twins(torch, ours, theirs, averaging, use_buffers):
    def made(module):
        return {key: getattr(module, name)(*args) for key, (name, *args) in averaging.items()}
    return (swa_utils.AveragedModel(ours, use_buffers=use_buffers, **made(swa_utils)),
            torch.optim.swa_utils.AveragedModel(theirs, use_buffers=use_buffers, **made(torch.optim.swa_utils)))


@pytest.mark.parametrize("use_buffers", [False, True])
@pytest.mark.parametrize("averaging", AVERAGES)
def test_averaged_model_matches_torch_over_updates(torch, averaging, use_buffers):
    if use_buffers and averaging == {"multi_avg_fn": ("get_swa_multi_avg_fn",)}:
        pytest.skip("PyTorch's SWA multi_avg_fn refuses the int64 num_batches_tracked (addcdiv); see the next test")
    ours, theirs = twin_models(torch)
    averaged, reference = averaged_twins(torch, ours, theirs, averaging, use_buffers)
    rng = np.random.default_rng(1)
    for update in range(1, 6):
        train_a_little(torch, ours, theirs, rng)
        averaged.update_parameters(ours)
        reference.update_parameters(theirs)
        assert averaged.n_averaged.item() == reference.n_averaged.item() == update
        assert_state_dicts_match(averaged, reference, rtol=1e-6)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    averaged.eval()
    reference.eval()
    np.testing.assert_allclose(averaged(ag.tensor(x)).numpy(), reference(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_a_users_multi_avg_fn_gets_one_call_per_dtype_as_in_torch(torch):
    """A multi_avg_fn gets the tensors of one device and dtype at a time (here the float32
    weights and statistics, and the int64 num_batches_tracked), outside the graph, and
    changes them in place with ordinary Tensor methods."""
    calls = {"ours": [], "theirs": []}

    def halfway(side):
        def average(averaged_list, current_list, n_averaged):
            calls[side].append((len(averaged_list), str(averaged_list[0].dtype).replace("torch.", ""),
                                int(n_averaged.item()), any(a.requires_grad for a in averaged_list)))
            for a, c in zip(averaged_list, current_list):
                a.copy_(a * 0.5 + c * 0.5 if a.dtype in (ag.float32, torch.float32) else c)
        return average

    ours, theirs = twin_models(torch)
    averaged = swa_utils.AveragedModel(ours, multi_avg_fn=halfway("ours"), use_buffers=True)
    reference = torch.optim.swa_utils.AveragedModel(theirs, multi_avg_fn=halfway("theirs"), use_buffers=True)
    rng = np.random.default_rng(7)
    for _ in range(3):
        train_a_little(torch, ours, theirs, rng)
        averaged.update_parameters(ours)
        reference.update_parameters(theirs)
    # PyTorch's grouping (in C++) follows no set order of the groups; the groups are the same.
    assert sorted(calls["ours"]) == sorted(calls["theirs"]) == [(1, "int64", 1, False), (1, "int64", 2, False),
                                                                (8, "float32", 1, False), (8, "float32", 2, False)]
    assert_state_dicts_match(averaged, reference, rtol=1e-6)


def test_swa_multi_avg_fn_averages_integer_buffers_as_torch_default_does(torch):
    """PyTorch's get_swa_multi_avg_fn raises on an integer buffer (addcdiv refuses integer
    division); ours averages it as PyTorch's default does (a float mean, truncated)."""
    ours, theirs = twin_models(torch)
    averaged = swa_utils.AveragedModel(ours, multi_avg_fn=swa_utils.get_swa_multi_avg_fn(), use_buffers=True)
    reference = torch.optim.swa_utils.AveragedModel(theirs, use_buffers=True)
    rng = np.random.default_rng(2)
    for _ in range(4):
        train_a_little(torch, ours, theirs, rng)
        averaged.update_parameters(ours)
        reference.update_parameters(theirs)
    assert_state_dicts_match(averaged, reference, rtol=1e-6)
    with pytest.raises(RuntimeError, match="Integer division with addcdiv"):
        torch.optim.swa_utils.get_swa_multi_avg_fn()([torch.tensor([3])], [torch.tensor([4])], torch.tensor(1))


@pytest.mark.parametrize("multi", [False, True])
def test_float64_swa_is_the_exact_running_mean(torch, multi):
    """In float64 the SWA average equals the mean of the weights seen, to rounding: PyTorch's
    default too (its CPU path divides by n + 1); PyTorch's get_swa_multi_avg_fn computes its
    weight 1 / (n + 1) in float32, so it is off by about 1e-8 relative, and ours is not."""
    ours, theirs = twin_models(torch, "float64")
    kwargs = {"multi_avg_fn": swa_utils.get_swa_multi_avg_fn()} if multi else {}
    averaged = swa_utils.AveragedModel(ours, **kwargs)
    reference = torch.optim.swa_utils.AveragedModel(theirs)
    rng = np.random.default_rng(3)
    seen = []
    for _ in range(7):
        train_a_little(torch, ours, theirs, rng)
        seen.append([p.numpy().copy() for p in ours.parameters()])
        averaged.update_parameters(ours)
        reference.update_parameters(theirs)
    for p, p_ref, history in zip(averaged.module.parameters(), reference.module.parameters(), zip(*seen)):
        np.testing.assert_allclose(p.numpy(), np.mean(history, axis=0), rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(p.numpy(), p_ref.detach().numpy(), rtol=1e-13, atol=1e-14)
    if multi:  # for the record: PyTorch's own, whose weight 1/3 is rounded to float32
        averaged_list, current = [torch.zeros(1, dtype=torch.float64)], [torch.ones(1, dtype=torch.float64)]
        torch.optim.swa_utils.get_swa_multi_avg_fn()(averaged_list, current, torch.tensor(2))
        assert abs(averaged_list[0].item() - 1 / 3) > 1e-9
        ours_list = [ag.zeros(1, dtype=ag.float64)]
        swa_utils.get_swa_multi_avg_fn()(ours_list, [ag.ones(1, dtype=ag.float64)], ag.tensor(2))
        assert ours_list[0].item() == 1 / 3


@pytest.mark.parametrize("decay", [None, 0.9, 0.2])
def test_in_place_averages_on_every_backend(device, decay):
    """The built-in in-place averages (SWA, and EMA on both of lerp's branches), float and
    integer buffers, against NumPy, on each backend (the strict one checks that they use only
    the Array API)."""
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    kwargs = {} if decay is None else {"multi_avg_fn": swa_utils.get_ema_multi_avg_fn(decay)}
    averaged = swa_utils.AveragedModel(model, use_buffers=True, **kwargs)
    expected = None
    for _ in range(4):
        with ag.no_grad():
            model[0].weight += ag.randn(3, 2)
        model(ag.randn(5, 2))
        now = [t.numpy().copy() for t in [*model.parameters(), *model.buffers()]]
        n = averaged.n_averaged.item()
        if expected is None:
            expected = now
        else:  # in float64, truncated back into an integer buffer
            expected = [(e + (c - e) / (n + 1) if decay is None else decay * e + (1 - decay) * c).astype(e.dtype)
                        for e, c in zip(expected, now)]
        averaged.update_parameters(model)
        for got, want in zip([*averaged.module.parameters(), *averaged.module.buffers()], expected):
            assert got.numpy().dtype == want.dtype
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)
    assert averaged.module[1].num_batches_tracked.item() == (1 if decay is None or decay == 0.9 else 3)


def test_averaging_is_in_place_and_records_no_graph():
    """The averaged parameters keep their arrays and stay leaves, and an update counts as an
    in-place change: backward through a graph recorded before it refuses the stale weights."""
    model = nn.Linear(3, 2)
    for kwargs in ({}, {"multi_avg_fn": swa_utils.get_ema_multi_avg_fn(0.5)},
                   {"avg_fn": swa_utils.get_ema_avg_fn(0.5)}):
        averaged = swa_utils.AveragedModel(model, **kwargs)
        arrays = [p.data for p in averaged.parameters()]
        averaged.update_parameters(model)
        x = ag.randn(4, 3, requires_grad=True)  # so that the layer keeps its weight for backward
        loss = averaged(x).sum()
        with ag.no_grad():
            model.weight += 1.0
        averaged.update_parameters(model)
        assert all(p.data is array for p, array in zip(averaged.parameters(), arrays))
        assert all(p.grad_fn is None and p.requires_grad for p in averaged.parameters())
        with pytest.raises(RuntimeError, match="modified in place"):
            loss.backward()
        np.testing.assert_allclose(averaged.module.weight.numpy(), model.weight.numpy() - 0.5, rtol=1e-6)


def test_state_dict_round_trips_with_torch(torch):
    """The keys are PyTorch's ('n_averaged', then 'module.*'); a state dict saved by either side
    resumes on the other, n_averaged included, so the next update weighs the same."""
    ours, theirs = twin_models(torch)
    averaged = swa_utils.AveragedModel(ours, use_buffers=True)
    reference = torch.optim.swa_utils.AveragedModel(theirs, use_buffers=True)
    rng = np.random.default_rng(4)
    for _ in range(3):
        train_a_little(torch, ours, theirs, rng)
        reference.update_parameters(theirs)
    assert list(reference.state_dict())[:2] == ["n_averaged", "module.0.weight"]
    averaged.load_state_dict({key: value.numpy() for key, value in reference.state_dict().items()})
    assert averaged.n_averaged.item() == 3
    train_a_little(torch, ours, theirs, rng)
    averaged.update_parameters(ours)
    reference.update_parameters(theirs)
    assert_state_dicts_match(averaged, reference, rtol=1e-6)

    back = torch.optim.swa_utils.AveragedModel(theirs, use_buffers=True)
    back.load_state_dict({key: torch.from_numpy(value.numpy().copy()) for key, value in averaged.state_dict().items()})
    assert_state_dicts_match(averaged, back, rtol=0)
    fresh = swa_utils.AveragedModel(ours, use_buffers=True)
    fresh.load_state_dict(averaged.state_dict())
    assert_state_dicts_match(fresh, back, rtol=0)


def test_forward_passes_arguments_through():
    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 2)

        def forward(self, x, *, scale=1.0):
            return self.linear(x) * scale

    model = TwoInputs()
    averaged = swa_utils.AveragedModel(model)
    x = ag.randn(3, 2)
    np.testing.assert_allclose(averaged(x, scale=3.0).numpy(), (model(x) * 3.0).numpy(), rtol=1e-6)


# --- update_bn -----------------------------------------------------------------------------

def conv_bn_twins(torch):
    theirs = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3, momentum=0.3), torch.nn.ReLU(),
                                 torch.nn.Flatten(), torch.nn.Linear(12, 4), torch.nn.BatchNorm1d(4))
    ours = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3, momentum=0.3), nn.ReLU(), nn.Flatten(),
                         nn.Linear(12, 4), nn.BatchNorm1d(4))
    copy_weights(ours, theirs)
    return ours, theirs


@pytest.mark.parametrize("as_pairs", [False, True])
def test_update_bn_matches_torch(torch, as_pairs):
    """The statistics are the cumulative average over the loader's batches (momentum None),
    from reset ones; momenta and the eval mode come back."""
    ours, theirs = conv_bn_twins(torch)
    rng = np.random.default_rng(5)
    for _ in range(2):  # statistics that update_bn must throw away
        theirs(torch.from_numpy(rng.standard_normal((4, 2, 4, 4)).astype(np.float32)))
    copy_weights(ours, theirs)
    ours.eval()
    theirs.eval()
    batches = [rng.standard_normal((n, 2, 4, 4)).astype(np.float32) for n in (5, 3, 8)]
    labels = [np.zeros(len(b), dtype=np.int64) for b in batches]
    if as_pairs:
        ours_loader = [(ag.tensor(b), ag.tensor(y)) for b, y in zip(batches, labels)]
        theirs_loader = [(torch.from_numpy(b), torch.from_numpy(y)) for b, y in zip(batches, labels)]
    else:
        ours_loader, theirs_loader = [ag.tensor(b) for b in batches], [torch.from_numpy(b) for b in batches]
    swa_utils.update_bn(ours_loader, ours)
    torch.optim.swa_utils.update_bn(theirs_loader, theirs)
    assert_state_dicts_match(ours, theirs, rtol=1e-5)
    assert ours[5].num_batches_tracked.item() == 3
    assert (ours[1].momentum, ours[5].momentum) == (0.3, 0.1)
    assert not ours.training and not ours[1].training


def test_update_bn_on_an_averaged_model(torch):
    """The usual end of SWA: the averaged model's statistics recomputed through its wrapper."""
    ours, theirs = conv_bn_twins(torch)
    averaged = swa_utils.AveragedModel(ours)
    reference = torch.optim.swa_utils.AveragedModel(theirs)
    averaged.update_parameters(ours)
    reference.update_parameters(theirs)
    batches = [np.random.default_rng(6).standard_normal((6, 2, 4, 4)).astype(np.float32)] * 2
    device = next(ours.parameters()).device  # the batches are moved there from the CPU
    swa_utils.update_bn([ag.tensor(b, device="cpu") for b in batches], averaged, device=device)
    torch.optim.swa_utils.update_bn([torch.from_numpy(b) for b in batches], reference, device="cpu")
    assert_state_dicts_match(averaged, reference, rtol=1e-5)


def test_update_bn_without_batch_norm_leaves_the_model_alone():
    model = nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2)).eval()
    swa_utils.update_bn([ag.randn(3, 2)], model)
    assert not model.training


def test_update_bn_restores_the_model_when_the_loader_fails():
    """A failing pass leaves the statistics, momenta and mode as they were (PyTorch's leaves
    the statistics reset or half-averaged and the momenta None)."""
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3, momentum=0.2)).eval()
    model.train()
    model(ag.randn(4, 2))
    model.eval()
    before = {key: value.numpy().copy() for key, value in model.state_dict().items()}

    def loader():
        yield ag.randn(4, 2)
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        swa_utils.update_bn(loader(), model)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[key], err_msg=key)
    assert model[1].momentum == 0.2 and not model.training


# --- SWALR -----------------------------------------------------------------------------------

def twin_optimizers(torch, lrs=(0.5, 0.1)):
    ours = nn.optim.SGD([{"params": [nn.Parameter(ag.zeros(1))], "lr": lr} for lr in lrs])
    theirs = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in lrs])
    return ours, theirs


@pytest.mark.parametrize("anneal_epochs", [0, 1, 3, 5])
@pytest.mark.parametrize("anneal_strategy", ["cos", "linear"])
def test_swalr_rates_match_torch(torch, anneal_strategy, anneal_epochs):
    ours_opt, theirs_opt = twin_optimizers(torch)
    ours = swa_utils.SWALR(ours_opt, swa_lr=[0.05, 0.2], anneal_epochs=anneal_epochs,
                           anneal_strategy=anneal_strategy)
    theirs = torch.optim.swa_utils.SWALR(theirs_opt, swa_lr=[0.05, 0.2], anneal_epochs=anneal_epochs,
                                         anneal_strategy=anneal_strategy)
    assert [g["swa_lr"] for g in ours_opt.param_groups] == [0.05, 0.2]
    for epoch in range(9):
        assert ours.get_last_lr() == theirs.get_last_lr(), epoch  # bit for bit
        assert [g["lr"] for g in ours_opt.param_groups] == [g["lr"] for g in theirs_opt.param_groups]
        ours.step()
        theirs.step()
    assert ours.get_last_lr() == [0.05, 0.2]


def test_swalr_follows_a_rate_set_from_outside_and_after_another_schedule(torch):
    """PyTorch's recursive form starts from the rate in the group, however it got there: here a
    cosine schedule before SWA, and a rate written by hand midway."""
    rates = []
    for lib, schedulers in ((nn.optim, nn.optim.lr_scheduler), (torch.optim, torch.optim.lr_scheduler)):
        ours = lib is nn.optim
        opt = twin_optimizers(torch, lrs=(0.3,))[0 if ours else 1]
        cosine = schedulers.CosineAnnealingLR(opt, T_max=10)
        for _ in range(4):
            cosine.step()
        swa = (swa_utils if ours else torch.optim.swa_utils).SWALR(opt, swa_lr=0.01, anneal_epochs=4)
        seen = []
        for epoch in range(6):
            if epoch == 2:
                opt.param_groups[0]["lr"] = 0.2
            swa.step()
            seen.append(swa.get_last_lr())
        rates.append(seen)
    assert rates[0] == rates[1]


def test_swalr_state_dict_resumes_as_torch(torch):
    ours_opt, theirs_opt = twin_optimizers(torch)
    ours = swa_utils.SWALR(ours_opt, swa_lr=0.05, anneal_epochs=5, anneal_strategy="linear")
    theirs = torch.optim.swa_utils.SWALR(theirs_opt, swa_lr=0.05, anneal_epochs=5, anneal_strategy="linear")
    for _ in range(2):
        ours.step()
        theirs.step()
    state = ours.state_dict()
    assert state["_anneal_strategy"] == "linear" and state["anneal_epochs"] == 5
    assert "optimizer" not in state and set(state) <= set(theirs.state_dict())
    # Resume on a new optimizer (with the saved rates) and a scheduler made with other settings.
    resumed_opt = twin_optimizers(torch)[0]
    resumed_opt.load_state_dict(ours_opt.state_dict())
    resumed = swa_utils.SWALR(resumed_opt, swa_lr=0.05, anneal_epochs=9, anneal_strategy="cos", last_epoch=2)
    resumed.load_state_dict(state)
    for _ in range(5):
        resumed.step()
        theirs.step()
        assert resumed.get_last_lr() == theirs.get_last_lr()


# --- errors ----------------------------------------------------------------------------------

def test_averaged_model_errors(torch):
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="give avg_fn or multi_avg_fn, not both"):
        swa_utils.AveragedModel(model, avg_fn=swa_utils.get_swa_avg_fn(),
                                multi_avg_fn=swa_utils.get_swa_multi_avg_fn())
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):  # PyTorch's type
        torch.optim.swa_utils.AveragedModel(torch.nn.Linear(2, 2), avg_fn=lambda *a: a[0], multi_avg_fn=print)
    with pytest.raises(TypeError, match="expected an nn.Module to average, got Linear"):
        swa_utils.AveragedModel(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="avg_fn must be a function, got float"):
        swa_utils.AveragedModel(model, avg_fn=0.99)
    for factory in (swa_utils.get_ema_avg_fn, swa_utils.get_ema_multi_avg_fn):
        with pytest.raises(ValueError, match=r"decay must be a number in \[0, 1\], got 1.5"):
            factory(1.5)
        with pytest.raises(ValueError, match="Invalid decay value"):
            getattr(torch.optim.swa_utils, factory.__name__)(1.5)


def test_update_parameters_refuses_another_architecture_and_changes_nothing():
    """PyTorch's pairs the tensors with zip, silently averaging a prefix when the counts differ."""
    averaged = swa_utils.AveragedModel(nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)))
    averaged.update_parameters(averaged.module)
    before = {key: value.numpy().copy() for key, value in averaged.state_dict().items()}
    with pytest.raises(ValueError, match=r"the model has 2 parameters but the averaged copy has 4"):
        averaged.update_parameters(nn.Linear(2, 3))
    with pytest.raises(ValueError, match=r"the model's '0.weight' has shape \(3, 5\) but the averaged copy's has "
                                         r"\(3, 2\)"):
        averaged.update_parameters(nn.Sequential(nn.Linear(5, 3), nn.BatchNorm1d(3)))
    with pytest.raises(ValueError, match="the model has 0 buffers but the averaged copy has 3"):
        averaged.update_parameters(nn.Sequential(nn.Linear(2, 3), nn.LayerNorm(3)))
    with pytest.raises(TypeError, match="expected an nn.Module, got list"):
        averaged.update_parameters([])
    for key, value in averaged.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[key], err_msg=key)


def test_swalr_errors_leave_the_param_groups_alone(torch):
    opt = twin_optimizers(torch)[0]
    before = [dict(g) for g in opt.param_groups]
    with pytest.raises(ValueError, match="anneal_strategy must be 'cos' or 'linear', got 'cosine'"):
        swa_utils.SWALR(opt, swa_lr=0.05, anneal_strategy="cosine")
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match=f"anneal_epochs must be an integer >= 0, got {bad!r}"):
            swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=bad)
    with pytest.raises(ValueError, match=r"swa_lr must have one value per param group \(2\), got 3"):
        swa_utils.SWALR(opt, swa_lr=[0.1, 0.2, 0.3])
    with pytest.raises(TypeError, match="swa_lr must be a number, got str"):
        swa_utils.SWALR(opt, swa_lr="0.05")
    with pytest.raises(KeyError, match="have no 'initial_lr'"):
        swa_utils.SWALR(opt, swa_lr=0.05, last_epoch=3)
    with pytest.raises(TypeError, match="expected an nn.optim Optimizer, got list"):
        swa_utils.SWALR([], swa_lr=0.05)
    assert opt.param_groups == before
    # PyTorch writes swa_lr into the groups before it checks the strategy.
    theirs_opt = twin_optimizers(torch)[1]
    # (PyTorch before 2.13 misspelled it "must by one of")
    with pytest.raises(ValueError, match="anneal_strategy must by one of" if torch_older_than("2.13")
                       else "anneal_strategy must be one of"):
        torch.optim.swa_utils.SWALR(theirs_opt, swa_lr=0.05, anneal_strategy="cosine")
    assert theirs_opt.param_groups[0]["swa_lr"] == 0.05


# --- AveragedModel of a pruned or parametrized model ----------------------------------------------

@pytest.mark.parametrize("kind", ["prune", "weight_norm", "orthogonal"])
def test_averaged_pruned_or_parametrized_model_matches_pytorch(kind):
    # What is averaged is the stored tensor (weight_orig, original0/1), the mask and the
    # orthogonal base follow as buffers, and the averaged copy's forward computes its weight
    torch = pytest.importorskip("torch")
    from torch.nn.utils import parametrizations as tparametrizations, prune as tprune
    from torch.optim.swa_utils import AveragedModel as TorchAveragedModel
    rng = np.random.default_rng(0)
    ours = with_seeded_parameters(nn.Linear(4, 4).to(dtype=ag.float64), 3)
    theirs = torch.nn.Linear(4, 4).double()
    with torch.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters()):
            q.copy_(torch.tensor(p.numpy()))
    if kind == "prune":
        prune.l1_unstructured(ours, "weight", 0.5)
        tprune.l1_unstructured(theirs, "weight", 0.5)
        with ag.no_grad():  # a weight still in a graph cannot be deep-copied (as in PyTorch)
            ours(ag.zeros((1, 4), dtype=ag.float64))
        with torch.no_grad():
            theirs(torch.zeros(1, 4, dtype=torch.float64))
    else:
        getattr(parametrizations, kind)(ours)
        getattr(tparametrizations, kind)(theirs)
    averaged, their_averaged = AveragedModel(ours), TorchAveragedModel(theirs)
    for _ in range(3):
        for p, q in zip(ours.parameters(), theirs.parameters()):
            step = 0.1 * rng.standard_normal(p.shape)
            p.data = p.data + array_on_device_of(p, step)
            with torch.no_grad():
                q.add_(torch.tensor(step))
        averaged.update_parameters(ours)
        their_averaged.update_parameters(theirs)
    state, their_state = averaged.state_dict(), their_averaged.state_dict()
    assert list(state) == list(their_state)
    for key, value in state.items():
        np.testing.assert_allclose(value.numpy(), their_state[key].numpy(), rtol=1e-12, atol=1e-14)
    x = rng.standard_normal((5, 4))
    with ag.no_grad():
        np.testing.assert_allclose(averaged(ag.tensor(x)).numpy(), their_averaged(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-12, atol=1e-12)
