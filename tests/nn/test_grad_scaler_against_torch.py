"""nn.amp.GradScaler against torch.amp.GradScaler on the CPU: training runs with the same data and
weights step by step (skipped steps, scales, state dicts, parameters), a loss scale that
overflows float16 at first, the unscale_-then-clip idiom, several optimizers, scale() of nested
outputs, the unscale arithmetic, update(new_scale), enabled=False, state dicts through JSON both
ways, and the errors."""
import copy
import json
import pickle

import numpy as np
import pytest

import autograd as ag
import backends
import nn
import nn.functional as F

# Overflowing float16 is the point here: NumPy warns where a cast gives inf, PyTorch does not.
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning",
                                        "ignore:invalid value encountered:RuntimeWarning")

SIZES = (8, 16, 4)  # inputs, hidden units, outputs
STEPS = 30


def twin_mlps(torch, seed=0):
    """Two-layer MLPs with float32 parameters (the master weights), the same in both libraries.
    tanh, not ReLU: a float16 rounding apart at ReLU's kink sends a unit's gradient one way in one
    library and to 0 in the other, and the runs drift apart from there."""
    theirs = torch.nn.Sequential(torch.nn.Linear(SIZES[0], SIZES[1]), torch.nn.Tanh(),
                                 torch.nn.Linear(SIZES[1], SIZES[2]))
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, tuple(p.shape)).astype(np.float32)))
    ours = nn.Sequential(nn.Linear(SIZES[0], SIZES[1]), nn.Tanh(), nn.Linear(SIZES[1], SIZES[2]))
    ours.load_state_dict({key: value.numpy() for key, value in theirs.state_dict().items()})
    return ours, theirs


def forward(lib, model, x, compute_dtype):
    """The MLP run in ``compute_dtype`` (its weights cast in forward, as autocast does), its
    output cast back to float32 for the loss."""
    first, last = model[0], model[2]
    functional = F if lib is ag else lib.nn.functional

    def cast(t):
        return t.astype(compute_dtype) if lib is ag else t.to(compute_dtype)
    hidden = functional.linear(cast(x), cast(first.weight), cast(first.bias)).tanh()
    out = functional.linear(hidden, cast(last.weight), cast(last.bias))
    return out.astype(ag.float32) if lib is ag else out.float()


def batches(steps=STEPS, seed=1, poison=()):
    """(inputs, targets) per step; the inputs of the steps in ``poison`` hold an inf."""
    rng = np.random.default_rng(seed)
    for step in range(steps):
        x = rng.standard_normal((16, SIZES[0])).astype(np.float32)
        y = rng.standard_normal((16, SIZES[2])).astype(np.float32)
        if step in poison:
            x[3, 2] = np.inf
        yield x, y


def make_optimizers(torch, ours, theirs, kind):
    if kind == "sgd":
        return (nn.optim.SGD(ours.parameters(), lr=0.05, momentum=0.9),
                torch.optim.SGD(theirs.parameters(), lr=0.05, momentum=0.9))
    return nn.optim.Adam(ours.parameters(), lr=0.01), torch.optim.Adam(theirs.parameters(), lr=0.01)


def count_steps(optimizer):
    """A list that grows by one each time ``optimizer.step`` really runs."""
    taken = []
    optimizer.register_step_post_hook(lambda *_: taken.append(1))
    return taken


def assert_params_match(ours, theirs, rtol, atol):
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.numpy(), theirs_params[name].detach().numpy(), rtol=rtol, atol=atol,
                                   err_msg=name)


def train_both(torch, compute, kind, scaler_args, poison=(), clip=None):
    """Train the twin MLPs side by side and compare them after every step. Returns the
    scales, the skipped steps and (with ``clip``) the gradient norms clip_grad_norm_ returned."""
    ours, theirs = twin_mlps(torch)
    opt, topt = make_optimizers(torch, ours, theirs, kind)
    taken, ttaken = count_steps(opt), count_steps(topt)
    scaler, tscaler = nn.amp.GradScaler(**scaler_args), torch.amp.GradScaler("cpu", **scaler_args)
    dtype, tdtype = (ag.float16, torch.float16) if compute == "float16" else (ag.float32, torch.float32)
    # float16 products differ from PyTorch's in the last bit here and there (the GEMMs add up in
    # another order), which moves the parameters by about 1e-4 over the run; float32 agrees closely
    rtol, atol = (2e-3, 3e-4) if compute == "float16" else (2e-5, 1e-6)
    scales, skipped, norms = [], [], []
    for step, (x, y) in enumerate(batches(poison=poison)):
        opt.zero_grad()
        topt.zero_grad()
        loss = F.mse_loss(forward(ag, ours, ag.tensor(x), dtype), ag.tensor(y))
        tloss = torch.nn.functional.mse_loss(forward(torch, theirs, torch.from_numpy(x), tdtype),
                                             torch.from_numpy(y))
        scaler.scale(loss).backward()
        tscaler.scale(tloss).backward()
        if clip is not None:  # the documented idiom: unscale, clip the true gradients, step
            scaler.unscale_(opt)
            tscaler.unscale_(topt)
            norm = nn.utils.clip_grad_norm_(ours.parameters(), clip)
            tnorm = torch.nn.utils.clip_grad_norm_(theirs.parameters(), clip)
            np.testing.assert_allclose(norm.item(), tnorm.item(), rtol=2 * rtol, err_msg=f"step {step}")
            norms.append(norm.item())
        before = len(taken)
        assert scaler.step(opt) is None and tscaler.step(topt) is None
        assert len(taken) == len(ttaken), f"step {step}: one skipped the optimizer step, the other did not"
        if len(taken) == before:
            skipped.append(step)
        scaler.update()
        tscaler.update()
        assert scaler.get_scale() == tscaler.get_scale(), f"step {step}"
        assert scaler.state_dict() == tscaler.state_dict(), f"step {step}"
        scales.append(scaler.get_scale())
        assert_params_match(ours, theirs, rtol, atol)
    return scales, skipped, norms


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_float16_training_backs_off_from_an_overflowing_scale_as_torchs(torch, kind):
    scales, skipped, _ = train_both(torch, "float16", kind, dict(init_scale=2.0 ** 24, growth_interval=4))
    # 2**24 overflows float16 at first: the first 7 steps are skipped while the scale halves...
    assert skipped[:8] == [0, 1, 2, 3, 4, 5, 6, 11] and scales[6] == 2.0 ** 17
    # ...then 4 clean steps double it, and the next overflow halves it again
    assert scales[9:12] == [2.0 ** 17, 2.0 ** 18, 2.0 ** 17]


def test_float32_training_skips_the_steps_whose_gradients_hold_inf_or_nan_as_torchs(torch):
    scales, skipped, _ = train_both(torch, "float32", "sgd", dict(init_scale=2.0 ** 10, growth_interval=3),
                                    poison=(7, 19))
    assert skipped == [7, 19]
    assert scales[:8] == [2.0 ** 10, 2.0 ** 10, 2.0 ** 11, 2.0 ** 11, 2.0 ** 11, 2.0 ** 12, 2.0 ** 12, 2.0 ** 11]


def test_unscale_then_clip_grad_norm_then_step_as_torchs(torch):
    scales, skipped, norms = train_both(torch, "float16", "sgd", dict(init_scale=2.0 ** 24, growth_interval=5),
                                        clip=0.5)
    assert skipped and all(not np.isfinite(norms[step]) for step in skipped)
    # the clipped steps saw the true (unscaled) norms, some above max_norm
    assert any(0.5 < n < 100 for n in norms if np.isfinite(n))


# --- the pieces, one at a time -------------------------------------------------------------------

def twin_parameters(torch, device=None, seed=2):
    """A float32 and a float64 parameter, the same in both libraries."""
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(50).astype(np.float32), rng.standard_normal(7)]
    return ([nn.Parameter(ag.tensor(a, dtype=a.dtype, device=device)) for a in arrays],
            [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in arrays])


def set_grads(torch, ours, theirs, rng, inf_at=None):
    """The same random gradients (times 1000) on both sides; an inf in the first at ``inf_at``."""
    for p, tp in zip(ours, theirs):
        g = rng.standard_normal(p.shape).astype(p.dtype) * 1000
        if inf_at is not None and p is ours[0]:
            g[inf_at] = np.inf
        p.grad = ag.tensor(g, dtype=g.dtype, device=p.device)
        tp.grad = torch.from_numpy(g)


def assert_twins_match(ours, theirs, step=None):
    for p, tp in zip(ours, theirs):  # SGD's own update may round its last bit otherwise than PyTorch's
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-6, atol=1e-7, err_msg=f"step {step}")


def run_steps(lib, scaler, overflows):
    """Steps of a one-parameter model whose gradients overflow where ``overflows`` says."""
    p = nn.Parameter(ag.ones(2)) if lib is ag else lib.nn.Parameter(lib.ones(2))
    optimizer = (nn.optim.SGD if lib is ag else lib.optim.SGD)([p], lr=0.1)
    for overflow in overflows:
        optimizer.zero_grad()
        scaler.scale(p.sum() * (float("inf") if overflow else 1.0)).backward()
        scaler.step(optimizer)
        scaler.update()


def test_unscale_and_update_arithmetic_equal_torchs_to_the_bit(torch, device):
    """Scales that are not powers of 2: the reciprocal rounded to float32 (from float64), the
    gradients multiplied by it in their dtype, growth and backoff in float64 rounded to float32,
    and the growth tracker, over a run of clean and overflowing steps; then update(new_scale)."""
    settings = dict(init_scale=3.0e4 + 1.7, growth_factor=1.37, backoff_factor=0.29, growth_interval=2)
    ours, theirs = twin_parameters(torch, device)
    opt, topt = nn.optim.SGD(ours, lr=0.1), torch.optim.SGD(theirs, lr=0.1)
    scaler, tscaler = nn.amp.GradScaler(**settings), torch.amp.GradScaler("cpu", **settings)
    rng = np.random.default_rng(3)
    for step, overflow in enumerate([False, False, False, True, False, True, True, False, False, False]):
        scaler.scale(ag.tensor(1.0, device=device))
        tscaler.scale(torch.tensor(1.0))
        set_grads(torch, ours, theirs, rng, inf_at=5 if overflow else None)
        scaler.unscale_(opt)
        tscaler.unscale_(topt)
        for p, tp in zip(ours, theirs):
            np.testing.assert_array_equal(p.grad.numpy(), tp.grad.numpy(), err_msg=f"step {step}")
        scaler.step(opt)
        tscaler.step(topt)
        scaler.update()
        tscaler.update()
        assert scaler.state_dict() == tscaler.state_dict(), f"step {step}"
        assert_twins_match(ours, theirs, step)
    scaler.update(new_scale=3.3)  # a float, rounded to float32; the tracker stays
    tscaler.update(new_scale=3.3)
    assert scaler.state_dict() == tscaler.state_dict()
    scaler.update(new_scale=ag.tensor(5.5, dtype=ag.float64, device=device))  # a tensor, copied
    tscaler.update(new_scale=torch.tensor(5.5, dtype=torch.float64))
    assert scaler.get_scale() == tscaler.get_scale() == 5.5


def test_growth_that_would_overflow_float32_keeps_the_scale_and_restarts_the_count_as_torchs(torch):
    ours, theirs = twin_parameters(torch)
    for lib, params, scaler in ((nn, ours, nn.amp.GradScaler(init_scale=3e38, growth_interval=2)),
                                (torch, theirs, torch.amp.GradScaler("cpu", init_scale=3e38, growth_interval=2))):
        optimizer = lib.optim.SGD(params, lr=0.1)
        for _ in range(2):
            optimizer.zero_grad()
            scaler.scale(params[0].sum()).backward()
            scaler.step(optimizer)
            scaler.update()
        assert (scaler.get_scale(), scaler._get_growth_tracker()) == (float(np.float32(3e38)), 0)


def test_a_count_past_a_lowered_growth_interval_never_grows_the_scale_as_torchs(torch):
    """PyTorch grows the scale when the count of clean steps reaches the interval exactly, so
    one already past it (the interval lowered, or a state loaded) goes on counting."""
    for lib, scaler in ((ag, nn.amp.GradScaler(init_scale=4.0)),
                        (torch, torch.amp.GradScaler("cpu", init_scale=4.0))):
        run_steps(lib, scaler, [False] * 3)
        scaler.set_growth_interval(2)
        run_steps(lib, scaler, [False] * 2)
        assert (scaler.get_scale(), scaler._get_growth_tracker()) == (4.0, 5)


def test_each_optimizer_skips_on_its_own_gradients_and_update_backs_off_for_any(torch):
    ours, theirs = twin_parameters(torch)
    scaler, tscaler = nn.amp.GradScaler(init_scale=8.0), torch.amp.GradScaler("cpu", init_scale=8.0)
    scaler.scale(ag.tensor(1.0))
    tscaler.scale(torch.tensor(1.0))
    set_grads(torch, ours, theirs, np.random.default_rng(4), inf_at=0)  # in the first optimizer's gradient
    start = [p.numpy().copy() for p in ours]
    for lib, s, params in ((nn, scaler, ours), (torch, tscaler, theirs)):
        optimizers = [lib.optim.SGD([p], lr=0.1) for p in params]  # one each (kept alive: keyed by id)
        for optimizer in optimizers:
            s.step(optimizer)
        s.update()
    np.testing.assert_array_equal(ours[0].numpy(), start[0])  # skipped
    assert not np.array_equal(ours[1].numpy(), start[1])  # stepped
    assert_twins_match(ours, theirs)
    assert scaler.get_scale() == tscaler.get_scale() == 4.0


def test_step_passes_arguments_on_and_returns_what_the_optimizer_step_returns(torch):
    class Tagged(nn.optim.SGD):
        def step(self, tag=None):
            super().step()
            return tag

    class TorchTagged(torch.optim.SGD):
        def step(self, tag=None):
            super().step()
            return tag

    for optimizer_class, scaler, p in (
            (Tagged, nn.amp.GradScaler(init_scale=4.0), nn.Parameter(ag.ones(3))),
            (TorchTagged, torch.amp.GradScaler("cpu", init_scale=4.0), torch.nn.Parameter(torch.ones(3)))):
        optimizer = optimizer_class([p], lr=0.1)
        for loss_factor, args, kwargs, returned in ((1.0, ("by position",), {}, "by position"),
                                                    (1.0, (), {"tag": "by keyword"}, "by keyword"),
                                                    (float("inf"), (), {"tag": "skipped"}, None)):
            optimizer.zero_grad()
            scaler.scale(p.sum() * loss_factor).backward()
            assert scaler.step(optimizer, *args, **kwargs) == returned
            scaler.update()


def test_scale_of_nested_outputs_and_of_float16_tensors_as_torchs(torch):
    scaler, tscaler = nn.amp.GradScaler(), torch.amp.GradScaler("cpu")
    half = np.array([0.5, 1e-3, 3.0, -2e-5], dtype=np.float16)
    x, tx = ag.tensor(half, requires_grad=True), torch.tensor(half, requires_grad=True)
    # PyTorch multiplies float16 by the float32 scale in float32, rounding once: 1e-3 * 65536 is
    # 65.56 (rounding 65536 to float16 first gives inf); the 0-d product is float32
    outs = scaler.scale([x, (x.sum(), [x * 2])])
    touts = tscaler.scale([tx, (tx.sum(), [tx * 2])])
    assert isinstance(outs, list) and isinstance(outs[1], tuple) and isinstance(outs[1][1], list)
    for out, tout in ((outs[0], touts[0]), (outs[1][0], touts[1][0]), (outs[1][1][0], touts[1][1][0])):
        assert out.dtype == str(tout.dtype).replace("torch.", "")
        np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
    seed = np.array([1e-3, 2.0, -3e-4, 1.5], dtype=np.float16)  # the backward's products round once too
    outs[0].backward(ag.tensor(seed))
    touts[0].backward(torch.from_numpy(seed))
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    assert np.isfinite(x.grad.numpy()[0]) and np.isinf(x.grad.numpy()[1])
    # other iterables give a lazy map, as PyTorch's
    assert [t.item() for t in scaler.scale(iter([ag.tensor(2.0)]))] == [2.0 * 65536]


def test_enabled_false_passes_everything_through(torch):
    ours, theirs = twin_parameters(torch)
    set_grads(torch, ours, theirs, np.random.default_rng(5), inf_at=1)
    opt, topt = nn.optim.SGD(ours, lr=0.1), torch.optim.SGD(theirs, lr=0.1)
    scaler = nn.amp.GradScaler(enabled=False, init_scale=8.0, growth_interval=3)
    tscaler = torch.amp.GradScaler("cpu", enabled=False)
    loss = ag.tensor(3.0)
    assert scaler.scale(loss) is loss and scaler.scale("anything") == "anything"
    grads = [p.grad.numpy().copy() for p in ours]
    assert scaler.unscale_(opt) is None
    for p, g in zip(ours, grads):
        np.testing.assert_array_equal(p.grad.numpy(), g)  # not unscaled
    # the step runs, inf and all, and closures pass through, as in PyTorch
    assert scaler.step(opt, closure=lambda: 7.0) == tscaler.step(topt, closure=lambda: 7.0) == 7.0
    assert np.isinf(ours[0].numpy()[1])
    assert_twins_match(ours, theirs)
    scaler.update()
    scaler.load_state_dict({})
    assert (scaler.get_scale(), scaler.state_dict(), scaler.is_enabled()) == \
        (tscaler.get_scale(), tscaler.state_dict(), tscaler.is_enabled()) == (1.0, {}, False)
    assert scaler.get_growth_interval() == 3  # PyTorch's disabled scaler raises AttributeError here


@pytest.mark.skipif(backends.cuda_is_available(), reason="CUDA is available here")
def test_a_cuda_scaler_without_cuda_warns_and_disables_itself_as_torchs():
    with pytest.warns(UserWarning, match="CUDA .* is not available"):
        scaler = nn.amp.GradScaler("cuda")
    assert not scaler.is_enabled()


def test_state_dicts_pass_through_json_and_load_in_the_other_library(torch):
    settings = dict(init_scale=3.3, growth_factor=1.5, backoff_factor=0.25, growth_interval=4)
    assert nn.amp.GradScaler(**settings).state_dict() == torch.amp.GradScaler("cpu", **settings).state_dict()
    tscaler = torch.amp.GradScaler("cpu", **settings)  # before scale(): init_scale as given, 3.3
    run_steps(torch, tscaler, [False, True, False, False])
    saved = json.dumps(tscaler.state_dict())
    # into a scaler that has not scaled yet (which keeps the scale for its first scale()) and
    # into one that has (which rounds it to float32 at once)
    fresh, used = nn.amp.GradScaler(), nn.amp.GradScaler()
    run_steps(ag, used, [False])
    for scaler in (fresh, used):
        scaler.load_state_dict(json.loads(saved))
        assert scaler.state_dict() == tscaler.state_dict()
        run_steps(ag, scaler, [False, False, True, False])
    run_steps(torch, tscaler, [False, False, True, False])
    assert fresh.state_dict() == used.state_dict() == tscaler.state_dict()
    back = torch.amp.GradScaler("cpu")  # and ours into PyTorch's
    back.load_state_dict(json.loads(json.dumps(fresh.state_dict())))
    assert back.state_dict() == fresh.state_dict()


# --- errors ---------------------------------------------------------------------------------------

def scaled_setup(lib, dtype="float32", init_scale=2.0 ** 16):
    """A parameter of ones, its SGD and a scaler, in topograd (``lib`` is autograd) or PyTorch."""
    if lib is ag:
        p = nn.Parameter(ag.ones(3, dtype=dtype))
        return p, nn.optim.SGD([p], lr=0.1), nn.amp.GradScaler(init_scale=init_scale)
    p = lib.nn.Parameter(lib.ones(3, dtype=getattr(lib, dtype)))
    return p, lib.optim.SGD([p], lr=0.1), lib.amp.GradScaler("cpu", init_scale=init_scale)


MISUSES = [  # (name, what is done wrong, its error's type, a fragment of its message)
    ("unscale twice", lambda s, o: (s.unscale_(o), s.unscale_(o)), RuntimeError,
     "unscale_() has already been called on this optimizer since the last update()"),
    ("unscale after step", lambda s, o: (s.step(o), s.unscale_(o)), RuntimeError,
     "unscale_() is being called after step()"),
    ("step twice", lambda s, o: (s.step(o), s.step(o)), RuntimeError,
     "step() has already been called since the last update()"),
    ("closure", lambda s, o: s.step(o, closure=lambda: 0.0), RuntimeError, "Closure use is not currently supported"),
]


@pytest.mark.parametrize("misuse", MISUSES, ids=[m[0] for m in MISUSES])
def test_misuses_raise_torchs_errors(torch, misuse):
    _, action, error, fragment = misuse
    for lib in (ag, torch):
        p, optimizer, scaler = scaled_setup(lib)
        scaler.scale(p.sum()).backward()
        with pytest.raises(error, match=fragment.replace("(", r"\(").replace(")", r"\)")):
            action(scaler, optimizer)


def test_float16_gradients_are_refused_before_any_changes_as_torchs(torch):
    for lib in (torch, ag):
        p, optimizer, scaler = scaled_setup(lib, "float16", init_scale=64.0)
        scaler.scale(p.sum()).backward()
        with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients"):
            scaler.step(optimizer)
        assert p.grad.tolist() == [64.0] * 3  # not unscaled
    with pytest.raises(ValueError, match="Keep the parameters in float32 and cast to float16 inside the forward"):
        scaler.unscale_(optimizer)  # ours, the last


def test_a_closure_given_by_position_is_refused_too():
    p, optimizer, scaler = scaled_setup(ag)
    scaler.scale(p.sum()).backward()
    with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
        scaler.step(optimizer, lambda: 0.0)
    np.testing.assert_array_equal(p.numpy(), [1, 1, 1])


def test_using_the_scaler_before_scale_or_before_a_step_names_the_fix():
    p, optimizer, scaler = scaled_setup(ag)
    for use in (lambda: scaler.unscale_(optimizer), lambda: scaler.step(optimizer), scaler.update):
        with pytest.raises(RuntimeError, match=r"scaler.scale\(\) was not called"):
            use()
    scaler.scale(p.sum())
    with pytest.raises(RuntimeError, match="No inf checks were recorded prior to update"):
        scaler.update()


def test_a_step_without_gradients_is_refused_and_changes_nothing():
    p, optimizer, scaler = scaled_setup(ag)
    loss = scaler.scale(p.sum())
    with pytest.raises(RuntimeError, match="none of its parameters has a gradient"):
        scaler.step(optimizer)
    loss.backward()  # the iteration can go on (PyTorch's scaler has marked the optimizer unscaled)
    scaler.step(optimizer)
    scaler.update()
    np.testing.assert_allclose(p.numpy(), [0.9, 0.9, 0.9])


@pytest.mark.parametrize("arguments, fragment", [
    (dict(growth_factor=1.0), "growth_factor must be a finite number > 1.0"),
    (dict(backoff_factor=1.0), r"backoff_factor must be a number in \(0, 1\)"),
    (dict(backoff_factor=0.0), r"backoff_factor must be a number in \(0, 1\)"),
    (dict(init_scale=0.0), "init_scale must be a positive finite number"),
    (dict(init_scale=float("inf")), "init_scale must be a positive finite number"),
    (dict(growth_interval=0), "growth_interval must be an int >= 1"),
    (dict(growth_interval=2.5), "growth_interval must be an int >= 1"),
    (dict(device="xpu"), "device must be 'cpu' or 'cuda'"),
])
def test_bad_settings_are_refused(arguments, fragment):
    with pytest.raises(ValueError, match=fragment):
        nn.amp.GradScaler(**arguments)


def test_bad_setters_new_scales_and_outputs_are_refused_and_change_nothing():
    p, optimizer, scaler = scaled_setup(ag)
    with pytest.raises(ValueError, match="growth_factor must be"):
        scaler.set_growth_factor(0.5)
    with pytest.raises(ValueError, match="backoff_factor must be"):
        scaler.set_backoff_factor(2.0)
    with pytest.raises(ValueError, match="growth_interval must be"):
        scaler.set_growth_interval(-1)
    assert (scaler.get_growth_factor(), scaler.get_backoff_factor(), scaler.get_growth_interval()) == (2.0, 0.5, 2000)
    with pytest.raises(TypeError, match="outputs must be a Tensor or an iterable of Tensors, got float"):
        scaler.scale(3.0)
    scaler.scale(p.sum())
    with pytest.raises(ValueError, match=r"one-element tensor .* got a tensor of shape \(2,\)"):
        scaler.update(new_scale=ag.tensor([4.0, 1.0]))
    with pytest.raises(ValueError, match=r"requires grad; pass new_scale.detach\(\)"):
        scaler.update(new_scale=ag.tensor(4.0, requires_grad=True))
    with pytest.raises(ValueError, match="new_scale must be a positive finite number"):
        scaler.update(new_scale=0.0)
    assert scaler.get_scale() == 65536.0


def test_load_state_dict_checks_every_entry_before_changing_any():
    scaler = nn.amp.GradScaler(init_scale=8.0)
    before = scaler.state_dict()
    good = {"scale": 4.0, "growth_factor": 3.0, "backoff_factor": 0.25, "growth_interval": 5, "_growth_tracker": 2}
    with pytest.raises(RuntimeError, match="the source state dict is empty"):
        scaler.load_state_dict({})
    with pytest.raises(ValueError, match="the state dict has no 'growth_interval', '_growth_tracker'"):
        scaler.load_state_dict({k: good[k] for k in ("scale", "growth_factor", "backoff_factor")})
    with pytest.raises(ValueError, match="_growth_tracker must be an int >= 0"):
        scaler.load_state_dict({**good, "_growth_tracker": -1})
    with pytest.raises(ValueError, match="backoff_factor must be"):
        scaler.load_state_dict({**good, "backoff_factor": 1.5})
    assert scaler.state_dict() == before
    scaler.load_state_dict(good)
    assert scaler.state_dict() == good


# --- float16 gradients that the runs above turned up --------------------------------------------

@pytest.mark.parametrize("shape", [(256, 8), (16, 16, 8)])
@pytest.mark.filterwarnings("ignore:backward\\(create_graph=True\\) records:UserWarning")  # (the .grad cycle, made on purpose)
def test_linear_bias_gradient_in_float16_adds_up_in_float32_as_torchs(torch, shape):
    """F.linear's bias gradient summed the batch in float16 (-5924 where PyTorch, adding up in
    float32 and rounding once, gives -5944)."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape).astype(np.float16)
    w, b = rng.standard_normal((4, 8)).astype(np.float16), rng.standard_normal(4).astype(np.float16)
    g = (rng.standard_normal(shape[:-1] + (4,)) * 1000).astype(np.float16)
    for create_graph in (False, True):
        ours = [ag.tensor(a, requires_grad=True) for a in (x, w, b)]
        theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
        F.linear(*ours).backward(ag.tensor(g), create_graph=create_graph)
        torch.nn.functional.linear(*theirs).backward(torch.from_numpy(g))
        for o, t in zip(ours, theirs):
            np.testing.assert_array_equal(o.grad.detach().numpy(), t.grad.numpy())


def test_broadcast_gradient_in_float16_adds_up_in_float32_as_torchs(torch):
    """The engine's un-broadcast summed a float16 gradient in float16 (11510 for PyTorch's 11590)."""
    rng = np.random.default_rng(7)
    x, b = rng.standard_normal((256, 4)).astype(np.float16), rng.standard_normal(4).astype(np.float16)
    g = (rng.standard_normal((256, 4)) * 1000).astype(np.float16)
    xo, bo = ag.tensor(x, requires_grad=True), ag.tensor(b, requires_grad=True)
    xt, bt = torch.tensor(x, requires_grad=True), torch.tensor(b, requires_grad=True)
    (xo + bo).backward(ag.tensor(g))
    (xt + bt).backward(torch.from_numpy(g))
    np.testing.assert_array_equal(bo.grad.numpy(), bt.grad.numpy())


# --- pickling -------------------------------------------------------------------------------------

@pytest.mark.parametrize("copy_of", [lambda s: pickle.loads(pickle.dumps(s)), copy.deepcopy], ids=["pickle", "deepcopy"])
def test_a_scaler_is_copied_only_between_iterations_as_torchs(torch, copy_of):
    """A copy taken mid-iteration carried the per-optimizer records, keyed by the ids of
    optimizers it no longer sees: resumed after an overflow, the next update() backed off for
    the stale one too (32768 where a clean step keeps 65536). PyTorch's refuses that copy."""
    p, optimizer, scaler = scaled_setup(ag)
    tp, toptimizer, tscaler = scaled_setup(torch)
    for s, o, param in ((scaler, optimizer, p), (tscaler, toptimizer, tp)):
        s.scale(param.sum() * float("inf")).backward()
        s.unscale_(o)  # an overflow recorded
        with pytest.raises((RuntimeError, AssertionError),
                           match="may only be pickled at the beginning of an iteration, or at the end"):
            copy_of(s)
        s.step(o)
        s.update()
    resumed, tresumed = copy_of(scaler), copy_of(tscaler)  # between iterations: the state goes along
    assert resumed.state_dict() == tresumed.state_dict() == {**scaler.state_dict(), "scale": 32768.0}
    run_steps(ag, resumed, [False])
    run_steps(torch, tresumed, [False])
    assert resumed.state_dict() == tresumed.state_dict()
    fresh = copy_of(nn.amp.GradScaler(init_scale=8.0))  # before the first scale(): init_scale as given
    assert fresh.state_dict() == copy_of(torch.amp.GradScaler("cpu", init_scale=8.0)).state_dict()
