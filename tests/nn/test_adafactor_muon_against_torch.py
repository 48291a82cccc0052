"""nn.optim.Adafactor and nn.optim.Muon against PyTorch's: step by step in float64 and
float32 over many steps with per-group options and skipped gradients, state dicts from
and to PyTorch mid-run, argument checks, and what topograd does on purpose otherwise."""
import numpy as np
import pytest

import autograd as ag
import nn
from nn import optim

STEPS = 40


def _pair(torch, arrays):
    """topograd and PyTorch parameters with the same values."""
    return ([nn.Parameter(ag.tensor(a.copy())) for a in arrays],
            [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in arrays])


def _grads(rng, shapes, dtype, steps=STEPS):
    # scales from 1e-3 to 1e2, so that eps1, eps2 and the clipping threshold all come into play
    return [[np.asarray(rng.normal(size=s) * 10 ** rng.uniform(-3, 2), dtype=dtype) for s in shapes]
            for _ in range(steps)]


def _set_grads(torch, params, torch_params, grads, skip=()):
    for i, (p, tp, g) in enumerate(zip(params, torch_params, grads)):
        if i in skip:  # left alone by both, its state not made on a first step
            p.grad, tp.grad = None, None
        else:
            p.grad, tp.grad = ag.tensor(g.copy()), torch.from_numpy(g.copy())


def _assert_close(params, torch_params, tolerance, step=None):
    for i, (p, tp) in enumerate(zip(params, torch_params)):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), err_msg=f"parameter {i}, step {step}",
                                   **tolerance)


def _assert_same_state(opt, ref, params, torch_params, tolerance):
    for i, (p, tp) in enumerate(zip(params, torch_params)):
        state, ref_state = opt.state.get(p, {}), ref.state.get(tp, {})
        assert sorted(state) == sorted(ref_state), i
        for key, value in ref_state.items():
            assert state[key].shape == tuple(value.shape), (i, key)
            np.testing.assert_allclose(state[key].numpy(), value.numpy(), err_msg=f"{key} of {i}", **tolerance)


TOLERANCE = {"float64": dict(rtol=1e-12, atol=1e-13), "float32": dict(rtol=1e-5, atol=1e-6)}

# --- Adafactor ----------------------------------------------------------------------------------

# A matrix, a vector, a scalar, a batch of matrices (factored over its last two axes), and
# matrices with one row or one column.
ADAFACTOR_SHAPES = [(4, 3), (5,), (), (2, 3, 4), (1, 6), (3, 1)]
ADAFACTOR_GROUPS = [dict(), dict(weight_decay=0.1, maximize=True), dict(lr=0.3, eps=(1e-3, 1e-2), d=2.0),
                    dict(beta2_decay=-0.5, weight_decay=0.5), dict(lr=0.05, maximize=True, eps=(0.0, 0.0)),
                    dict(d=1.5, eps=(None, 0.5))]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_adafactor_matches_pytorch_step_by_step_with_per_group_options(dtype, device, torch):
    rng = np.random.default_rng(0)
    params, torch_params = _pair(torch, [rng.normal(size=s).astype(dtype) for s in ADAFACTOR_SHAPES])
    opt = optim.Adafactor([dict(params=[p], **o) for p, o in zip(params, ADAFACTOR_GROUPS)], lr=0.02)
    ref = torch.optim.Adafactor([dict(params=[p], **o) for p, o in zip(torch_params, ADAFACTOR_GROUPS)], lr=0.02)
    # lr sets the largest relative step and the weight decay: a scheduler changes both
    sched = optim.lr_scheduler.StepLR(opt, 7, 0.5)
    ref_sched = torch.optim.lr_scheduler.StepLR(ref, 7, 0.5)
    for step, grads in enumerate(_grads(rng, ADAFACTOR_SHAPES, dtype)):
        # parameter 2 has no gradient for its first steps, then one now and then
        _set_grads(torch, params, torch_params, grads, skip={2} if step < 3 or step % 4 == 0 else ())
        opt.step()
        ref.step()
        sched.step()
        ref_sched.step()
        _assert_close(params, torch_params, TOLERANCE[dtype], step)
        if step == 1:
            assert params[2] not in opt.state and torch_params[2] not in ref.state
    _assert_same_state(opt, ref, params, torch_params, TOLERANCE[dtype])
    assert all(p.dtype == getattr(ag, dtype) for p in params)
    assert all(v.dtype == getattr(ag, dtype) for p in params for k, v in opt.state[p].items() if k != "step")


def test_adafactor_takes_each_parameters_dtype_epsilon_where_pytorch_takes_the_firsts(torch):
    # A deliberate difference: with eps1=None PyTorch uses the machine epsilon of the
    # group's first parameter for all of them; here each parameter gets its own dtype's,
    # so a float64 parameter after a float32 one steps as it would alone.
    small = np.full(3, 1e-9)  # squared gradients below float32's epsilon squared: eps1 decides the step
    a, b = nn.Parameter(ag.ones(2)), nn.Parameter(ag.tensor(np.ones(3)))
    alone = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    opt, ref = optim.Adafactor([a, b]), torch.optim.Adafactor([alone])
    for _ in range(3):
        a.grad, b.grad, alone.grad = ag.ones(2), ag.tensor(small), torch.from_numpy(small.copy())
        opt.step()
        ref.step()
    np.testing.assert_allclose(b.numpy(), alone.detach().numpy(), rtol=1e-14)


def test_adafactor_leaves_an_empty_parameter_alone(torch):
    # PyTorch divides by the empty parameter's size (ZeroDivisionError); here it has nothing
    # to update, and the others step as PyTorch's do without it.
    rng = np.random.default_rng(1)
    params, torch_params = _pair(torch, [rng.normal(size=(3, 2)), rng.normal(size=4)])
    empty = nn.Parameter(ag.tensor(np.zeros((0, 3))))
    opt = optim.Adafactor([params[0], empty, params[1]], weight_decay=0.1)
    ref = torch.optim.Adafactor(torch_params, weight_decay=0.1)
    for grads in _grads(rng, [(3, 2), (4,)], "float64", steps=5):
        _set_grads(torch, params, torch_params, grads)
        empty.grad = ag.tensor(np.zeros((0, 3)))
        opt.step()
        ref.step()
    _assert_close(params, torch_params, TOLERANCE["float64"])
    assert opt.state[empty]["row_var"].shape == (0, 1) and opt.state[empty]["col_var"].shape == (1, 3)
    assert float(opt.state[empty]["step"]) == 5


# --- Muon ---------------------------------------------------------------------------------------

MUON_SHAPES = [(4, 3), (3, 5), (6, 6), (1, 7), (8, 2)]
MUON_GROUPS = [dict(), dict(weight_decay=0.0, nesterov=False),
               dict(lr=0.03, adjust_lr_fn="match_rms_adamw", momentum=0.5), dict(ns_steps=2, eps=1e-3, momentum=0.0),
               dict(ns_coefficients=(2.0, -1.5, 0.5), adjust_lr_fn="original")]


# Muon's Newton-Schulz iterations run in bfloat16 (8 significant bits). Where a float32 sum,
# taken in another order than PyTorch's, lands on the other side of a bfloat16 rounding
# boundary, one element of an update differs by a bfloat16 rounding: about lr * 2**-8.
# Rare on matrices this size, so most elements still agree to float precision.
MUON_TOLERANCE = dict(rtol=0, atol=2e-4)


def _assert_muon_close(params, torch_params, dtype, step=None):
    _assert_close(params, torch_params, MUON_TOLERANCE, step)
    ours = np.concatenate([p.numpy().ravel() for p in params])
    theirs = np.concatenate([tp.detach().numpy().ravel() for tp in torch_params])
    assert np.isclose(ours, theirs, **TOLERANCE[dtype]).mean() > 0.9, step


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_muon_matches_pytorch_step_by_step_with_per_group_options(dtype, device, torch):
    rng = np.random.default_rng(2)
    params, torch_params = _pair(torch, [rng.normal(size=s).astype(dtype) for s in MUON_SHAPES])
    opt = optim.Muon([dict(params=[p], **o) for p, o in zip(params, MUON_GROUPS)], lr=0.02)
    ref = torch.optim.Muon([dict(params=[p], **o) for p, o in zip(torch_params, MUON_GROUPS)], lr=0.02)
    for step, grads in enumerate(_grads(rng, MUON_SHAPES, dtype)):
        _set_grads(torch, params, torch_params, grads, skip={step % 5} if step % 3 == 0 else ())
        opt.step()
        ref.step()
        _assert_muon_close(params, torch_params, dtype, step)
    _assert_same_state(opt, ref, params, torch_params, TOLERANCE[dtype])  # the momentum, in float precision


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (6, 6), (12, 8), (8, 12)])
def test_muon_orthogonalizes_in_bfloat16_as_pytorch(shape, dtype, torch):
    # With no momentum and no decay a step is -lr * ratio * NS(grad). PyTorch runs the
    # Newton-Schulz iterations in bfloat16, which topograd rounds to after each float32
    # product: on matrices this small the steps agree to the last bit, where iterations in
    # float32 differ in every element (by up to 2%). A BLAS that sums in another order may
    # cross a bfloat16 rounding boundary now and then, hence 8 of 10, and 1% otherwise.
    rng = np.random.default_rng(3)
    same = 0
    for _ in range(10):
        params, torch_params = _pair(torch, [np.zeros(shape, dtype=dtype)])
        opt = optim.Muon(params, lr=1.0, momentum=0.0, weight_decay=0.0)
        ref = torch.optim.Muon(torch_params, lr=1.0, momentum=0.0, weight_decay=0.0)
        _set_grads(torch, params, torch_params, [rng.normal(size=shape).astype(dtype)])
        opt.step()
        ref.step()
        ours, theirs = params[0].numpy(), torch_params[0].detach().numpy()
        same += np.array_equal(ours, theirs)
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=0.01 * np.abs(theirs).max())
    assert same >= 8


def test_muon_refuses_parameters_that_are_not_matrices_in_groups_added_later_too(torch):
    a, b = nn.Parameter(ag.ones(2, 2)), nn.Parameter(ag.ones(3))
    with pytest.raises(ValueError, match=r"Muon only supports 2-D parameters.*parameter 1 has shape \(3,\)"):
        optim.Muon([a, b])
    with pytest.raises(ValueError, match="Muon only supports 2D parameters"):
        torch.optim.Muon([torch.nn.Parameter(torch.ones(2, 2)), torch.nn.Parameter(torch.ones(3))])
    # PyTorch's add_param_group takes it and its step raises with the earlier groups updated;
    # here the group is refused and nothing changes
    opt = optim.Muon([a])
    group = {"params": [nn.Parameter(ag.ones(1, 2, 2))], "lr": 0.5}
    with pytest.raises(ValueError, match=r"parameter 0 has shape \(1, 2, 2\)"):
        opt.add_param_group(group)
    assert len(opt.param_groups) == 1 and group == {"params": group["params"], "lr": 0.5}


def test_muon_leaves_an_empty_matrix_alone():
    # PyTorch divides by the matrix's zero width (ZeroDivisionError) in its learning-rate ratio.
    empty = nn.Parameter(ag.zeros(3, 0))
    opt = optim.Muon([empty], lr=0.1)
    empty.grad = ag.zeros(3, 0)
    opt.step()
    assert empty.shape == (3, 0) and opt.state[empty]["momentum_buffer"].shape == (3, 0)


# --- state dicts mid-run ------------------------------------------------------------------------

CASES = {
    "Adafactor": (ADAFACTOR_SHAPES, ADAFACTOR_GROUPS, dict(lr=0.02)),
    "Muon": (MUON_SHAPES, MUON_GROUPS, dict(lr=0.02)),
}


def _assert_steps_close(name, params, torch_params, dtype, step):
    if name == "Muon":
        _assert_muon_close(params, torch_params, dtype, step)
    else:
        _assert_close(params, torch_params, TOLERANCE[dtype], step)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_state_dicts_go_from_pytorch_to_topograd_and_back_mid_run(name, dtype, torch):
    shapes, groups, defaults = CASES[name]
    rng = np.random.default_rng(4)
    init = [rng.normal(size=s).astype(dtype) for s in shapes]
    grads = _grads(rng, shapes, dtype, steps=18)
    params, torch_params = _pair(torch, init)
    ref = getattr(torch.optim, name)([dict(params=[p], **o) for p, o in zip(torch_params, groups)], **defaults)
    for step in range(6):
        _set_grads(torch, params, torch_params, grads[step], skip={1} if step < 4 else ())
        ref.step()
    # PyTorch's state into a topograd optimizer made with other hyperparameters: the saved ones win
    params = _pair(torch, [p.detach().numpy() for p in torch_params])[0]
    opt = getattr(optim, name)([{"params": [p]} for p in params], lr=1.0)
    opt.load_state_dict(ref.state_dict())
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in ref.param_groups]
    for step in range(6, 12):
        _set_grads(torch, params, torch_params, grads[step])
        opt.step()
        ref.step()
        _assert_steps_close(name, params, torch_params, dtype, step)
    # and topograd's into a fresh PyTorch optimizer, on copies of the parameters
    saved = opt.state_dict()
    torch_params = _pair(torch, [p.numpy() for p in params])[1]
    back = getattr(torch.optim, name)([{"params": [p]} for p in torch_params], lr=1.0)
    back.load_state_dict({"state": {i: {k: torch.from_numpy(v.numpy().copy()) for k, v in s.items()}
                                    for i, s in saved["state"].items()},
                          "param_groups": saved["param_groups"]})
    for step in range(12, 18):
        _set_grads(torch, params, torch_params, grads[step])
        opt.step()
        back.step()
        _assert_steps_close(name, params, torch_params, dtype, step)
    _assert_same_state(opt, back, params, torch_params, TOLERANCE[dtype])


def test_adafactor_resumes_from_a_checkpoint_file_exactly(tmp_path):
    # The checkpoint keeps eps, a pair holding None, and the factored state's own shapes.
    rng = np.random.default_rng(5)
    shapes = [(3, 4), (2,)]
    grads = _grads(rng, shapes, "float32", steps=6)
    runs = []
    for resume in (False, True):
        params = [nn.Parameter(ag.tensor(np.ones(s, dtype=np.float32))) for s in shapes]
        opt = optim.Adafactor(params, weight_decay=0.1)
        for step in range(6):
            if resume and step == 3:
                nn.save({"a": params[0], "b": params[1]}, tmp_path / "ckpt.safetensors", optimizer=opt)
                opt = optim.Adafactor(params)
                opt.load_state_dict(nn.load_optimizer_state(tmp_path / "ckpt.safetensors"))
                assert opt.param_groups[0]["eps"] == (None, 1e-3) and opt.param_groups[0]["weight_decay"] == 0.1
            for p, g in zip(params, grads[step]):
                p.grad = ag.tensor(g)
            opt.step()
        runs.append([p.numpy() for p in params])
    for uninterrupted, resumed in zip(*runs):
        np.testing.assert_array_equal(uninterrupted, resumed)


def test_adafactor_load_state_dict_checks_the_factored_state_and_changes_nothing():
    matrix, vector = nn.Parameter(ag.ones(3, 4)), nn.Parameter(ag.ones(2))
    opt = optim.Adafactor([matrix, vector])
    matrix.grad, vector.grad = ag.ones(3, 4), ag.ones(2)
    opt.step()
    saved = opt.state_dict()
    before = {(i, k): v.numpy().copy() for i, p in enumerate((matrix, vector)) for k, v in opt.state[p].items()}
    bad_shape = dict(saved["state"][0], row_var=np.zeros((3, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=r"'row_var' of parameter 0 has shape \(3, 4\) .* keeps 'row_var' with "
                                         r"shape \(3, 1\)"):
        opt.load_state_dict({"state": {0: bad_shape, 1: saved["state"][1]}, "param_groups": saved["param_groups"]})
    # a vector's state without its full variance
    with pytest.raises(ValueError, match="parameter 1 has no 'variance'"):
        opt.load_state_dict({"state": {0: saved["state"][0], 1: {"step": saved["state"][1]["step"]}},
                             "param_groups": saved["param_groups"]})
    for (i, k), v in before.items():
        np.testing.assert_array_equal(opt.state[(matrix, vector)[i]][k].numpy(), v)


# --- arguments ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, kwargs, error, message", [
    ("Adafactor", dict(lr=-0.1), ValueError, "invalid learning rate -0.1"),
    ("Adafactor", dict(beta2_decay=0.1), ValueError, "invalid beta2_decay 0.1; it must be <= 0"),
    ("Adafactor", dict(eps=(-1.0, 1e-3)), ValueError, "invalid eps1 -1.0"),
    ("Adafactor", dict(eps=(None, -1.0)), ValueError, "invalid eps2 -1.0"),
    ("Adafactor", dict(d=0.5), ValueError, "invalid clipping threshold d 0.5; it must be >= 1"),
    ("Adafactor", dict(weight_decay=-1.0), ValueError, "invalid weight_decay -1.0"),
    ("Adafactor", dict(eps=1e-3), TypeError, r"eps must be a pair of numbers \(eps1, eps2\)"),
    ("Adafactor", dict(eps=(None, None)), TypeError, r"eps must be a pair of numbers"),
    ("Adafactor", dict(d="2"), TypeError, "d must be a number, got str"),
    ("Muon", dict(lr=-0.1), ValueError, "invalid learning rate -0.1"),
    ("Muon", dict(momentum=-0.5), ValueError, "invalid momentum -0.5"),
    ("Muon", dict(weight_decay=-1.0), ValueError, "invalid weight_decay -1.0"),
    ("Muon", dict(adjust_lr_fn="sqrt"), ValueError, "unknown adjust_lr_fn 'sqrt'"),
])
def test_constructor_refuses_what_pytorchs_refuses(name, kwargs, error, message, torch):
    shape = (2, 2)
    with pytest.raises(error, match=f"{name}: {message}"):
        getattr(optim, name)([nn.Parameter(ag.ones(*shape))], **kwargs)
    with pytest.raises(error):
        getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(shape))], **kwargs)


@pytest.mark.parametrize("name, kwargs, error, message", [
    ("Adafactor", dict(eps=(1e-30, 1e-3, 0.1)), ValueError, r"eps must be a pair \(eps1, eps2\)"),
    ("Muon", dict(ns_steps=100), ValueError, r"invalid ns_steps 100; it must be in \[0, 100\)"),
    ("Muon", dict(ns_coefficients=(3.0, -4.0)), ValueError, "ns_coefficients must be three numbers"),
    ("Muon", dict(ns_steps=2.0), TypeError, "ns_steps must be an integer, got float"),
])
def test_what_pytorch_refuses_only_at_step_is_refused_at_construction(name, kwargs, error, message, torch):
    with pytest.raises(error, match=f"{name}: {message}"):
        getattr(optim, name)([nn.Parameter(ag.ones(2, 2))], **kwargs)
    tp = torch.nn.Parameter(torch.ones(2, 2))
    ref = getattr(torch.optim, name)([tp], **kwargs)
    tp.grad = torch.ones(2, 2)
    with pytest.raises((ValueError, TypeError)):
        ref.step()


@pytest.mark.parametrize("name", sorted(CASES))
def test_hooks_run_around_step_and_state_dict_as_pytorchs(name, torch):
    def record(opt, p):
        calls = []
        opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", o is opt, len(args))))
        opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", o is opt, len(args))))
        opt.register_state_dict_post_hook(lambda o, sd: calls.append(("state_dict", sorted(sd["state"][0]))))
        opt.register_load_state_dict_post_hook(lambda o: calls.append(("loaded", o is opt)))
        opt.step()
        opt.load_state_dict(opt.state_dict())
        return calls

    p, tp = nn.Parameter(ag.ones(2, 3)), torch.nn.Parameter(torch.ones(2, 3))
    p.grad, tp.grad = ag.ones(2, 3), torch.ones(2, 3)
    assert record(getattr(optim, name)([p]), p) == record(getattr(torch.optim, name)([tp]), tp)
