"""Adamax, NAdam, RAdam, Adadelta, Rprop, ASGD and LBFGS against PyTorch: the same steps on
the same parameters and gradients, compared with the parameters and every state entry after
each step; hyperparameter checks; state dicts to and from PyTorch and round trips."""
import inspect
import warnings

import numpy as np
import pytest

import autograd as ag
import nn
from nn import optim

SHAPES = [(4, 3), (3,), (), (2, 2)]
STEPS = 10  # RAdam's rectification switches on at step 6 (rho_t > 5) with beta2 = 0.9 and 0.999
TOLERANCE = {"float32": dict(rtol=1e-6, atol=1e-7), "float64": dict(rtol=1e-12, atol=1e-14)}
NAMES = ["Adamax", "NAdam", "RAdam", "Adadelta", "Rprop", "ASGD"]

# (optimizer, constructor keywords, the second param group's own options): the first two
# parameters take the constructor's options, the last two the group's.
CASES = [
    ("Adamax", dict(lr=0.01), dict(weight_decay=0.1, maximize=True)),
    ("Adamax", dict(lr=0.05, betas=(0.5, 0.9), eps=1e-3), dict(lr=0.2, betas=(0.0, 0.0))),
    ("NAdam", dict(lr=0.01), dict(weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.02, weight_decay=0.2, decoupled_weight_decay=True), dict(momentum_decay=0.1, eps=1e-3)),
    ("NAdam", dict(lr=0.02, betas=(0.8, 0.9), maximize=True), dict(decoupled_weight_decay=True, weight_decay=0.3)),
    ("RAdam", dict(lr=0.01), dict(weight_decay=0.1, maximize=True, betas=(0.9, 0.9))),
    ("RAdam", dict(lr=0.02, betas=(0.5, 0.9), weight_decay=0.2, decoupled_weight_decay=True), dict(eps=1e-2)),
    ("Adadelta", dict(), dict(weight_decay=0.1, maximize=True)),
    ("Adadelta", dict(lr=0.5, rho=0.5, eps=1e-3), dict(rho=1.0, weight_decay=0.2)),
    ("Rprop", dict(lr=0.01), dict(maximize=True)),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.07)), dict(etas=(0.9, 1.01), maximize=True)),
    ("ASGD", dict(lr=0.01), dict(weight_decay=0.1, maximize=True)),
    ("ASGD", dict(lr=0.05, lambd=0.1, alpha=0.5, t0=3), dict(t0=0, weight_decay=0.3, lambd=0.0)),
]
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(CASES)]


def _arrays(seed, dtype, steps=STEPS):
    rng = np.random.default_rng(seed)
    init = [np.asarray(rng.normal(size=s)).astype(dtype) for s in SHAPES]
    grads = [[np.asarray(rng.normal(size=s)).astype(dtype) for s in SHAPES] for _ in range(steps)]
    for step in range(2, steps, 3):  # some steps repeat the last gradient's signs, some flip them (Rprop)
        grads[step] = [np.asarray(np.abs(g) * np.sign(before) * (1 if step % 2 else -1))
                       for g, before in zip(grads[step], grads[step - 1])]
    return init, grads


def _ours(init):
    # (.copy(): the 'strict' backend's ag.tensor aliases a 0-d NumPy array instead of copying it)
    return [nn.Parameter(ag.tensor(a.copy())) for a in init]


def _theirs(torch, init):
    return [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in init]


def _groups(params, group_options):
    return [{"params": params[:2]}, dict(params=params[2:], **group_options)]


def _set_grads(params, torch_params, grads, torch, skip=None):
    for i, (p, tp, g) in enumerate(zip(params, torch_params, grads)):
        if i == skip:  # a parameter without a gradient this step is left alone by both
            p.grad, tp.grad = None, None
        else:
            p.grad, tp.grad = ag.tensor(g.copy()), torch.from_numpy(g.copy())


def _assert_same(params, torch_params, opt, ref, tol, where):
    for i, (p, tp) in enumerate(zip(params, torch_params)):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), err_msg=f"{where}, parameter {i}", **tol)
        state, ref_state = opt.state.get(p, {}), ref.state.get(tp, {})
        assert sorted(state) == sorted(ref_state), where
        for key, value in state.items():
            assert isinstance(value, ag.Tensor)
            np.testing.assert_allclose(value.numpy(), ref_state[key].numpy(), err_msg=f"{where}, {i}.{key}", **tol)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, kwargs, group_options", CASES, ids=IDS)
def test_steps_with_param_groups_and_a_learning_rate_change_match_pytorch(name, kwargs, group_options, dtype,
                                                                          device, torch):
    init, grads = _arrays(1, dtype)
    params, torch_params = _ours(init), _theirs(torch, init)
    opt = getattr(optim, name)(_groups(params, group_options), **kwargs)
    ref = getattr(torch.optim, name)(_groups(torch_params, group_options), **kwargs)
    for step in range(STEPS):
        if step == 4:  # as a scheduler would (Rprop reads lr only for its first step sizes)
            for group in opt.param_groups + ref.param_groups:
                group["lr"] *= 0.3
        _set_grads(params, torch_params, grads[step], torch, skip=step % 4 if step % 3 == 1 else None)
        opt.step()
        ref.step()
        _assert_same(params, torch_params, opt, ref, TOLERANCE[dtype], f"step {step}")
    assert all(p.device == device and p.dtype == np.dtype(dtype) and p.is_leaf for p in params)


def test_radam_switches_to_the_rectified_step_when_rho_t_passes_5(device):
    # beta2 = 0.9: rho_t is 1, 1.95, 2.86, 3.74, 4.58 for steps 1-5, then 5.39: until then a
    # step is lr times the bias-corrected momentum, with no adaptive scaling.
    p = nn.Parameter(ag.zeros(2, dtype=ag.float64))
    opt = optim.RAdam([p], lr=0.1, betas=(0.5, 0.9))
    moves = []
    for step in range(1, 8):
        before = p.numpy().copy()
        p.grad = ag.tensor(np.array([4.0, -0.25]))
        opt.step()
        moves.append(p.numpy() - before)
    for move in moves[:5]:  # a constant gradient's bias-corrected momentum is the gradient itself
        np.testing.assert_allclose(move, [-0.4, 0.025], rtol=1e-12)
    for step, move in zip((6, 7), moves[5:]):
        # rectified: the bias-corrected second moment is the squared gradient, so a step is
        # lr * r_t times the gradient's sign (Liu et al. 2020, with rho_inf = 19)
        rho_t = 19 - 2 * step * 0.9 ** step / (1 - 0.9 ** step)
        r_t = np.sqrt((rho_t - 4) * (rho_t - 2) * 19 / ((19 - 4) * (19 - 2) * rho_t))
        np.testing.assert_allclose(move, [-0.1 * r_t, 0.1 * r_t], rtol=1e-6)


@pytest.mark.parametrize("name, kwargs", [
    ("Adamax", dict(lr=-0.1)), ("Adamax", dict(eps=-1.0)), ("Adamax", dict(betas=(1.0, 0.9))),
    ("Adamax", dict(betas=(0.9, -0.1))), ("Adamax", dict(weight_decay=-1e-2)),
    ("NAdam", dict(lr=-0.1)), ("NAdam", dict(betas=(0.9, 1.0))), ("NAdam", dict(momentum_decay=-1.0)),
    ("NAdam", dict(weight_decay=-1.0)), ("NAdam", dict(eps=-1e-8)),
    ("RAdam", dict(lr=-1.0)), ("RAdam", dict(betas=(-0.5, 0.9))), ("RAdam", dict(weight_decay=-0.1)),
    ("Adadelta", dict(lr=-1.0)), ("Adadelta", dict(rho=1.5)), ("Adadelta", dict(rho=-0.1)),
    ("Adadelta", dict(eps=-1.0)), ("Adadelta", dict(weight_decay=-1.0)),
    ("Rprop", dict(lr=-1.0)), ("Rprop", dict(etas=(1.2, 0.5))), ("Rprop", dict(etas=(0.0, 1.2))),
    ("Rprop", dict(etas=(0.5, 1.0))),
    ("ASGD", dict(lr=-1.0)), ("ASGD", dict(weight_decay=-1.0)),
])
def test_invalid_hyperparameters_raise_value_error_as_in_pytorch(name, kwargs, torch):
    with pytest.raises(ValueError):
        getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(2))], **kwargs)
    key = next(iter(kwargs))
    label = {"lr": "learning rate", "betas": "beta at index", "etas": "etas"}.get(key, key)
    with pytest.raises(ValueError, match=f"{name}: invalid {label}"):
        getattr(optim, name)([nn.Parameter(ag.zeros(2))], **kwargs)
    opt = getattr(optim, name)([nn.Parameter(ag.zeros(2))])
    with pytest.raises(ValueError, match=f"{name}: invalid {label}"):  # a group alone, changing nothing
        opt.add_param_group(dict(params=[nn.Parameter(ag.zeros(2))], **kwargs))
    assert len(opt.param_groups) == 1


@pytest.mark.parametrize("name, kwargs, error, message", [
    ("Adadelta", dict(rho="0.9"), TypeError, "rho must be a number, got str"),
    ("NAdam", dict(momentum_decay=None), TypeError, "momentum_decay must be a number"),
    ("ASGD", dict(t0="1e6"), TypeError, "t0 must be a number"),
    ("Adamax", dict(lr="1e-3"), TypeError, "lr must be a number"),
    ("Rprop", dict(etas=0.5), TypeError, "etas must be a pair of numbers"),
    ("Rprop", dict(step_sizes=(1e-6, 1.0, 50)), ValueError, "step_sizes must be a pair"),
    ("RAdam", dict(betas=(0.9,)), ValueError, "pair"),
])
def test_hyperparameters_of_the_wrong_type_or_shape_are_refused(name, kwargs, error, message):
    with pytest.raises(error, match=message):
        getattr(optim, name)([nn.Parameter(ag.zeros(2))], **kwargs)


def _signature(fn):
    return [(name, p.kind, p.default) for name, p in inspect.signature(fn).parameters.items()]


@pytest.mark.parametrize("name", NAMES + ["LBFGS"])
def test_signatures_defaults_and_param_group_keys_match_pytorch(name, torch):
    assert _signature(getattr(optim, name)) == _signature(getattr(torch.optim, name))
    ours = getattr(optim, name)([nn.Parameter(ag.zeros(2))])
    theirs = getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(2))])
    assert ours.param_groups[0].keys() == theirs.param_groups[0].keys()
    assert {k: v for k, v in ours.defaults.items() if k not in ("betas", "etas", "step_sizes")} == \
        {k: v for k, v in theirs.defaults.items() if k not in ("betas", "etas", "step_sizes")}


@pytest.mark.parametrize("name", NAMES)
def test_pytorchs_implementation_flags_change_nothing_and_differentiable_is_refused(name, torch):
    flags = {k: v.default for k, v in inspect.signature(getattr(torch.optim, name)).parameters.items()
             if k in ("foreach", "fused", "capturable", "differentiable")}
    flags["foreach"] = False
    init, grads = _arrays(3, "float32", steps=3)
    plain, flagged = _ours(init), _ours(init)
    a, b = getattr(optim, name)(plain, lr=0.05), getattr(optim, name)(flagged, lr=0.05, **flags)
    for step in range(3):
        for p, q, g in zip(plain, flagged, grads[step]):
            p.grad, q.grad = ag.tensor(g), ag.tensor(g.copy())
        a.step()
        b.step()
    for p, q in zip(plain, flagged):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    with pytest.raises(ValueError, match="differentiable=True is not supported"):
        getattr(optim, name)([nn.Parameter(ag.ones(2))], differentiable=True)


def _run(name, kwargs, params, grads, opt=None):
    opt = opt or getattr(optim, name)(params, **kwargs)
    for g in grads:
        for p, gv in zip(params, g):
            p.grad = ag.tensor(gv.copy())
        opt.step()
    return opt


@pytest.mark.parametrize("name, kwargs, group_options", CASES[::2], ids=IDS[::2])
def test_state_dict_round_trip_continues_exactly(name, kwargs, group_options, device):
    init, grads = _arrays(4, "float32", steps=6)
    straight = _ours(init)
    _run(name, kwargs, straight, grads, getattr(optim, name)(_groups(straight, group_options), **kwargs))

    first = _ours(init)
    opt = _run(name, kwargs, first, grads[:3], getattr(optim, name)(_groups(first, group_options), **kwargs))
    saved = opt.state_dict()
    assert saved["param_groups"][1]["params"] == [2, 3]
    assert all(isinstance(v, ag.Tensor) for s in saved["state"].values() for v in s.values())
    resumed = [nn.Parameter(ag.tensor(p.numpy().copy())) for p in first]
    fresh = getattr(optim, name)(_groups(resumed, {}), lr=0.123)  # the saved hyperparameters must win
    fresh.load_state_dict(saved)
    assert [g["lr"] for g in fresh.param_groups] == [g["lr"] for g in opt.param_groups]
    opt.step()  # the loaded state is a copy: stepping the original leaves it alone
    _run(name, kwargs, resumed, grads[3:], fresh)
    for i, (p, q) in enumerate(zip(resumed, straight)):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=f"parameter {i}")


@pytest.mark.parametrize("name, kwargs, group_options", CASES[1::2], ids=IDS[1::2])
def test_pytorch_state_dict_loads_and_continues_and_ours_loads_in_pytorch(name, kwargs, group_options, torch):
    init, grads = _arrays(5, "float32")
    torch_params = _theirs(torch, init)
    ref = getattr(torch.optim, name)(_groups(torch_params, group_options), **kwargs)
    params = _ours(init)
    for step in range(5):
        _set_grads(params, torch_params, grads[step], torch)
        ref.step()
    params = _ours([p.detach().numpy() for p in torch_params])
    opt = getattr(optim, name)(_groups(params, {}), lr=1.0)
    saved = ref.state_dict()
    opt.load_state_dict({"state": {i: {k: v.numpy().copy() for k, v in s.items()} for i, s in saved["state"].items()},
                         "param_groups": saved["param_groups"]})
    for step in range(5, STEPS):
        _set_grads(params, torch_params, grads[step], torch)
        opt.step()
        ref.step()
        _assert_same(params, torch_params, opt, ref, TOLERANCE["float32"], f"step {step}")
    ours_saved = opt.state_dict()
    back = getattr(torch.optim, name)(_groups([torch.nn.Parameter(torch.zeros(s)) for s in SHAPES], {}))
    back.load_state_dict({"state": {i: {k: torch.from_numpy(v.numpy().copy()) for k, v in s.items()}
                                    for i, s in ours_saved["state"].items()},
                          "param_groups": ours_saved["param_groups"]})
    assert back.state_dict()["param_groups"] == ref.state_dict()["param_groups"]
    for i, state in back.state_dict()["state"].items():
        for key, value in state.items():
            np.testing.assert_allclose(value.numpy(), ref.state_dict()["state"][i][key].numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name, scalars", [("NAdam", ["mu_product"]), ("ASGD", ["eta", "mu"])])
def test_scalar_state_stays_a_float32_cpu_number_for_float64_parameters(name, scalars, device):
    # As PyTorch keeps them (with capturable=False): float32 CPU scalars, beside 'step'.
    p = nn.Parameter(ag.ones(3, dtype=ag.float64))
    opt = getattr(optim, name)([p], lr=0.1)
    for _ in range(2):
        p.grad = ag.ones(3, dtype=ag.float64)
        opt.step()
    saved = opt.state_dict()
    fresh = getattr(optim, name)([nn.Parameter(ag.ones(3, dtype=ag.float64))], lr=0.1)
    fresh.load_state_dict(saved)
    for state in (opt.state[p], next(iter(fresh.state.values()))):
        for key in scalars:
            assert state[key].dtype == ag.float32 and state[key].device == "cpu" and state[key].shape == ()
    with pytest.raises(ValueError, match=f"'{scalars[0]}' of parameter 0 must be one number"):
        fresh.load_state_dict({"state": {0: dict(saved["state"][0], **{scalars[0]: np.zeros(3)})},
                               "param_groups": saved["param_groups"]})


@pytest.fixture
def float64_defaults(torch):
    """Both libraries' default dtype set to float64, as ported float64 training code does."""
    previous = torch.get_default_dtype()
    ag.set_default_dtype(ag.float64)
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        ag.set_default_dtype(ag.float32)
        torch.set_default_dtype(previous)


@pytest.mark.parametrize("name, kwargs, group_options", CASES, ids=IDS)
def test_under_a_float64_default_dtype_the_scalar_state_is_float64_as_torch(name, kwargs, group_options, device,
                                                                           float64_defaults, torch):
    # PyTorch's scalar state (step, NAdam's mu_product, ASGD's eta and mu) is float64 under a
    # float64 default dtype: a float32 mu_product moved every NAdam update by about 1e-8 relative.
    init, grads = _arrays(8, "float64")
    params, torch_params = _ours(init), _theirs(torch, init)
    opt = getattr(optim, name)(_groups(params, group_options), **kwargs)
    ref = getattr(torch.optim, name)(_groups(torch_params, group_options), **kwargs)
    for step in range(STEPS):
        _set_grads(params, torch_params, grads[step], torch)
        opt.step()
        ref.step()
        _assert_same(params, torch_params, opt, ref, TOLERANCE["float64"], f"step {step}")
    fresh = getattr(optim, name)(_groups(_ours(init), {}), **kwargs)
    fresh.load_state_dict(opt.state_dict())
    for i, (p, tp) in enumerate(zip(params, torch_params)):
        for key in opt._scalar_state_keys:
            expected = str(ref.state[tp][key].dtype).replace("torch.", "")
            assert opt.state[p][key].dtype == expected, f"{i}.{key}"
            assert fresh.state[fresh.param_groups[i // 2]["params"][i % 2]][key].dtype == expected, f"{i}.{key}"


# --- LBFGS -------------------------------------------------------------------------------------

def _lbfgs_problem(kind, dtype):
    rng = np.random.default_rng(7)
    if kind == "rosenbrock":
        return [np.array([-1.5, 2.0], dtype=dtype)], None
    data = (np.asarray(rng.normal(size=(8, 3)), dtype=dtype), np.asarray(rng.normal(size=(8, 2)), dtype=dtype))
    return [np.asarray(rng.normal(size=s), dtype=dtype) for s in ((3, 2), (2,), ())], data


def _lbfgs(lib, params, kwargs, kind, data):
    """The optimizer and its closure, written the same way for either library."""
    opt = (optim if lib is ag else lib.optim).LBFGS(params, **kwargs)
    if data is not None:
        x, y = (ag.tensor(a) if lib is ag else lib.from_numpy(a) for a in data)

    def closure():
        opt.zero_grad()
        if kind == "rosenbrock":
            (p,) = params
            loss = (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2
        else:  # least squares, and a 0-d parameter with its own quadratic term
            w, b, s = params
            r = x @ w + b - y
            loss = (r * r).sum() / 2 + (s - 0.3) ** 2
        loss.backward()
        return loss
    return opt, closure


LBFGS_CASES = [
    ("rosenbrock", dict(line_search_fn="strong_wolfe")),
    ("rosenbrock", dict(lr=0.5, max_iter=5, history_size=2)),
    ("rosenbrock", dict(max_iter=7, history_size=2, line_search_fn="strong_wolfe")),
    ("least_squares", dict(max_iter=4)),
    ("least_squares", dict(max_iter=6, max_eval=8, history_size=3, line_search_fn="strong_wolfe")),
    ("least_squares", dict(lr=0.3, max_iter=5, tolerance_change=1e-3)),
]


@pytest.mark.parametrize("kind, kwargs", LBFGS_CASES)
def test_lbfgs_iterates_and_state_match_pytorch(kind, kwargs, device, torch):
    init, data = _lbfgs_problem(kind, "float64")
    params, torch_params = _ours(init), _theirs(torch, init)
    (opt, closure), (ref, ref_closure) = _lbfgs(ag, params, kwargs, kind, data), _lbfgs(torch, torch_params,
                                                                                      kwargs, kind, data)
    for step in range(3):
        loss, ref_loss = opt.step(closure), ref.step(ref_closure)
        assert float(loss) == pytest.approx(ref_loss.item(), rel=1e-9, abs=1e-12)
        for p, tp in zip(params, torch_params):
            np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-9, atol=1e-11, err_msg=f"step {step}")
        state, ref_state = opt.state[params[0]], ref.state[torch_params[0]]
        assert sorted(state) == sorted(ref_state)
        assert (state["func_evals"], state["n_iter"]) == (ref_state["func_evals"], ref_state["n_iter"])
        for key in ("d", "prev_flat_grad"):  # (near the optimum, a gradient is mostly cancellation)
            np.testing.assert_allclose(state[key].numpy(), ref_state[key].numpy(), rtol=1e-6, atol=1e-9)
        assert len(state["old_dirs"]) == len(ref_state["old_dirs"])
        # (on CUDA, cuBLAS's dot products add in another order: 1e-8 of a ro of 2e6 after 3 steps)
        ro_rtol = 1e-7 if str(params[0].device).startswith("cuda") else 1e-8
        np.testing.assert_allclose(state["ro"], [float(r) for r in ref_state["ro"]], rtol=ro_rtol)


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_float32_least_squares_follows_pytorch_and_reaches_the_solution(line_search_fn, device, torch):
    init, data = _lbfgs_problem("least_squares", "float32")
    params, torch_params = _ours(init), _theirs(torch, init)
    kwargs = dict(line_search_fn=line_search_fn)
    (opt, closure), (ref, ref_closure) = _lbfgs(ag, params, kwargs, "least_squares", data), \
        _lbfgs(torch, torch_params, kwargs, "least_squares", data)
    for _ in range(2):
        opt.step(closure)
        ref.step(ref_closure)
        for p, tp in zip(params, torch_params):
            # (PyTorch keeps LBFGS's scalars as float32 tensors, topograd as Python floats)
            np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-4, atol=1e-5)
    x, y = (a.astype("float64") for a in data)
    design = np.concatenate([x, np.ones((8, 1))], axis=1)
    solution = np.linalg.lstsq(design, y, rcond=None)[0]
    np.testing.assert_allclose(params[0].numpy(), solution[:3], atol=1e-4)
    np.testing.assert_allclose(params[1].numpy(), solution[3], atol=1e-4)
    np.testing.assert_allclose(params[2].numpy(), 0.3, atol=1e-4)


def test_lbfgs_with_strong_wolfe_minimizes_rosenbrock(device):
    init, _ = _lbfgs_problem("rosenbrock", "float64")
    params = _ours(init)
    opt, closure = _lbfgs(ag, params, dict(line_search_fn="strong_wolfe"), "rosenbrock", None)
    for _ in range(5):
        loss = opt.step(closure)
    # (PyTorch stops at the same point: its loss changes by less than tolerance_change there)
    np.testing.assert_allclose(params[0].numpy(), [1.0, 1.0], atol=1e-5)
    assert float(loss) < 1e-9


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_state_dict_round_trip_continues_exactly(line_search_fn, device):
    init, data = _lbfgs_problem("least_squares", "float64")
    kwargs = dict(max_iter=3, history_size=2, line_search_fn=line_search_fn)
    straight = _ours(init)
    opt, closure = _lbfgs(ag, straight, kwargs, "least_squares", data)
    for _ in range(4):
        opt.step(closure)
    first = _ours(init)
    opt, closure = _lbfgs(ag, first, kwargs, "least_squares", data)
    for _ in range(2):
        opt.step(closure)
    saved = opt.state_dict()
    resumed = [nn.Parameter(ag.tensor(p.numpy().copy())) for p in first]
    fresh, fresh_closure = _lbfgs(ag, resumed, dict(kwargs, history_size=9), "least_squares", data)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["history_size"] == 2
    opt.step(closure)  # the loaded state is a copy: stepping the original leaves it alone
    for _ in range(2):
        fresh.step(fresh_closure)
    for p, q in zip(resumed, straight):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def _to_torch(torch, value):
    if isinstance(value, ag.Tensor):
        return torch.from_numpy(value.numpy().copy())
    return [_to_torch(torch, v) for v in value] if isinstance(value, list) else value


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_loads_pytorchs_state_dict_and_pytorch_loads_ours(line_search_fn, torch):
    init, data = _lbfgs_problem("least_squares", "float64")
    kwargs = dict(max_iter=3, line_search_fn=line_search_fn)
    torch_params = _theirs(torch, init)
    ref, ref_closure = _lbfgs(torch, torch_params, kwargs, "least_squares", data)
    ref.step(ref_closure)
    params = _ours([p.detach().numpy() for p in torch_params])
    opt, closure = _lbfgs(ag, params, dict(max_iter=9), "least_squares", data)
    opt.load_state_dict(ref.state_dict())  # (0-d tensors become numbers, vectors Tensors)
    for _ in range(2):
        opt.step(closure)
        ref.step(ref_closure)
        for p, tp in zip(params, torch_params):
            np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-9, atol=1e-11)
    saved = opt.state_dict()
    back_params = _theirs(torch, [p.numpy() for p in params])
    back, back_closure = _lbfgs(torch, back_params, {}, "least_squares", data)
    back.load_state_dict({"state": {i: {k: _to_torch(torch, v) for k, v in s.items()}
                                    for i, s in saved["state"].items()}, "param_groups": saved["param_groups"]})
    back.step(back_closure)
    opt.step(closure)
    for p, tp in zip(params, back_params):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-9, atol=1e-11)


def test_lbfgs_refusals():
    a, b = nn.Parameter(ag.zeros(2)), nn.Parameter(ag.zeros(2))
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [a]}, {"params": [b]}])
    opt = optim.LBFGS([a])
    with pytest.raises(ValueError, match="parameter groups"):
        opt.add_param_group({"params": [b]})
    assert len(opt.param_groups) == 1
    with pytest.raises(ValueError, match="share a device and a dtype"):
        optim.LBFGS([a, nn.Parameter(ag.zeros(2, dtype=ag.float64))])
    with pytest.raises(ValueError, match="line_search_fn 'wolfe'"):
        optim.LBFGS([a], line_search_fn="wolfe")
    with pytest.raises(ValueError, match="history_size"):
        optim.LBFGS([a], history_size=0)
    with pytest.raises(ValueError, match="learning rate"):
        optim.LBFGS([a], lr=-1)
    with pytest.raises(TypeError, match="needs a closure"):
        opt.step(None)


def test_lbfgs_load_state_dict_refuses_vectors_of_the_wrong_size_and_changes_nothing():
    init, data = _lbfgs_problem("least_squares", "float64")
    params = _ours(init)
    opt, closure = _lbfgs(ag, params, dict(max_iter=2), "least_squares", data)
    opt.step(closure)
    saved = opt.state_dict()
    before = {k: v for k, v in opt.state[params[0]].items()}
    bad = {"state": {0: dict(saved["state"][0], d=np.zeros(3))}, "param_groups": saved["param_groups"]}
    with pytest.raises(ValueError, match="'d' must hold vectors of all 9 parameter elements"):
        opt.load_state_dict(bad)
    assert opt.state[params[0]] == before


@pytest.mark.parametrize("name, kwargs", [("NAdam", dict(lr=0.1)), ("ASGD", dict(lr=0.1, t0=1)),
                                          ("LBFGS", dict(max_iter=3, line_search_fn="strong_wolfe"))])
def test_checkpoints_keep_scalar_and_lbfgs_state_and_resume_exactly(name, kwargs, tmp_path):
    rng = np.random.default_rng(6)
    x, y = ag.tensor(rng.normal(size=(6, 3)).astype("float32")), ag.tensor(rng.normal(size=(6, 2)).astype("float32"))

    def run(model, opt, steps):
        def closure():
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            return loss
        for _ in range(steps):
            opt.step(closure)

    ag.manual_seed(1)
    straight = nn.Linear(3, 2)
    run(straight, getattr(optim, name)(straight.parameters(), **kwargs), 4)
    ag.manual_seed(1)
    model = nn.Linear(3, 2)
    opt = getattr(optim, name)(model.parameters(), **kwargs)
    run(model, opt, 2)
    nn.save(model, tmp_path / "ckpt.safetensors", optimizer=opt)
    resumed = nn.Linear(3, 2)
    fresh = getattr(optim, name)(resumed.parameters(), **kwargs)
    nn.restore(tmp_path / "ckpt.safetensors", resumed, fresh)
    run(resumed, fresh, 2)
    for p, q in zip(resumed.parameters(), straight.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_lbfgs_refuses_another_optimizers_state_and_a_model_moved_after_a_step():
    model = nn.Module()
    model.w = p = nn.Parameter(ag.ones(3))
    adam = optim.Adam([p], lr=0.1)
    p.grad = ag.ones(3)
    adam.step()
    opt = optim.LBFGS([p])
    with pytest.raises(ValueError, match="which LBFGS does not keep; was it saved by another optimizer"):
        opt.load_state_dict(adam.state_dict())

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss
    opt.step(closure)
    model.double()
    with pytest.raises(ValueError, match="create the optimizer after model.to"):
        opt.step(closure)


def test_rprop_zero_and_nan_gradients_match_pytorch(device, torch):
    # A zero in the gradient or the last one keeps the step size; a NaN spreads to it, as in PyTorch.
    grads = [np.array([1.0, -2.0, 0.0, 3.0, 1.0]), np.array([2.0, 1.0, 5.0, 0.0, np.nan]),
             np.array([-1.0, 1.0, 1.0, 2.0, 1.0]), np.array([-1.0, 0.5, -1.0, 2.0, 1.0])]
    p, tp = nn.Parameter(ag.zeros(5, dtype=ag.float64)), torch.nn.Parameter(torch.zeros(5, dtype=torch.float64))
    opt, ref = optim.Rprop([p], lr=0.1), torch.optim.Rprop([tp], lr=0.1)
    for g in grads:
        p.grad, tp.grad = ag.tensor(g.copy()), torch.from_numpy(g.copy())
        opt.step()
        ref.step()
        np.testing.assert_array_equal(p.numpy(), tp.detach().numpy())
        for key in ("prev", "step_size"):
            np.testing.assert_array_equal(opt.state[p][key].numpy(), ref.state[tp][key].numpy())


@pytest.mark.parametrize("name", ["Adamax", "NAdam", "RAdam", "Adadelta", "ASGD"])
def test_steps_take_no_fresh_memory_once_warm(name):
    """Their temporaries come from the NumPy backend's scratch pool (as Adam's do): after
    two steps, a step allocates nothing near a large parameter's size. (Rprop's masks and
    selections take fresh arrays.)"""
    import tracemalloc
    rng = np.random.default_rng(8)
    params = [nn.Parameter(ag.tensor(rng.standard_normal(shape).astype(np.float32))) for shape in ((512, 256), (256,))]
    opt = getattr(optim, name)(params, weight_decay=0.1)
    for _ in range(8):  # (RAdam's rectified steps begin at step 6)
        for p in params:
            p.grad = ag.tensor(rng.standard_normal(p.shape).astype(np.float32))
        tracemalloc.start()
        try:
            opt.step()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < params[0].data.nbytes // 4, f"the eighth step allocated {peak} bytes"


def test_backend_absolute_and_in_place_maximum(device):
    import backends
    backend = backends.get(device)
    x = backend.asarray(np.array([-0.0, -2.5, np.nan, 3.0, -np.inf], dtype=np.float32), "float32")
    y = backend.asarray(np.array([1.0, np.nan, 0.0, -4.0, 2.0], dtype=np.float32), "float32")
    magnitude = backend.absolute(x)
    np.testing.assert_array_equal(backend.to_numpy(magnitude), [0.0, 2.5, np.nan, 3.0, np.inf])
    assert not np.signbit(backend.to_numpy(magnitude)[0])
    backend.maximum_(y, magnitude)
    np.testing.assert_array_equal(backend.to_numpy(y), [1.0, np.nan, np.nan, 3.0, np.inf])
    np.testing.assert_array_equal(backend.to_numpy(x)[1:], [-2.5, np.nan, 3.0, -np.inf])  # x is left alone


# --- LBFGS: float16 curvature that rounds to 0, and a state dict holding the empty entry that
# reading ``optimizer.state[p]`` leaves

def _quartic_problem(parameter, tensor, starts, targets):
    params = [parameter(tensor(s.copy())) for s in starts]

    def loss_of():
        return sum(((p - tensor(t)) ** 4).sum() for p, t in zip(params, targets))
    return params, loss_of


def test_float16_lbfgs_whose_gradient_change_squares_to_zero_steps_as_torch(torch):
    """y.y rounds to 0 in float16 while y.s does not: H_diag = y.s / y.y raised
    ZeroDivisionError; PyTorch's tensor division gives inf, and both go on to NaN."""
    rng = np.random.default_rng(0)
    starts = [rng.normal(size=s).astype(np.float16) for s in ((4, 3), (3,))]
    targets = [rng.normal(size=s.shape).astype(np.float16) for s in starts]
    ours, our_loss = _quartic_problem(nn.Parameter, ag.tensor, starts, targets)
    theirs, their_loss = _quartic_problem(torch.nn.Parameter, torch.tensor, starts, targets)
    opt, ref = nn.optim.LBFGS(ours, lr=0.5), torch.optim.LBFGS(theirs, lr=0.5)

    def closure():
        opt.zero_grad()
        loss = our_loss()
        loss.backward()
        return loss

    def torch_closure():
        ref.zero_grad()
        loss = their_loss()
        loss.backward()
        return loss

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # inf * 0 in the two-loop recursion
        for _ in range(3):
            got, expected = opt.step(closure).item(), ref.step(torch_closure).item()
            np.testing.assert_allclose(got, expected, rtol=2e-3)  # NaN where PyTorch's is NaN


def test_lbfgs_loads_a_state_dict_with_an_empty_entry_for_a_later_parameter(torch):
    """Reading optimizer.state[q] leaves an empty entry, which state_dict() saves;
    load_state_dict refused it as a second state ("LBFGS keeps one"), PyTorch's loads."""
    def make():
        p = nn.Parameter(ag.tensor([1.0, -2.0, 0.5], dtype="float64"))
        q = nn.Parameter(ag.tensor([0.3, 4.0], dtype="float64"))
        return p, q, nn.optim.LBFGS([p, q], max_iter=3)

    def closure_for(opt, p, q):
        def closure():
            opt.zero_grad()
            loss = (p ** 2 * ag.tensor([1.0, 2.0, 3.0], dtype="float64")).sum() + ((q - 1) ** 2).sum()
            loss.backward()
            return loss
        return closure

    p, q, opt = make()
    opt.step(closure_for(opt, p, q))
    opt.state[q]  # noqa: B018 (the read itself leaves the empty entry)
    saved = opt.state_dict()
    assert saved["state"][1] == {}
    p2, q2, resumed = make()
    with ag.no_grad():
        p2.copy_(p)
        q2.copy_(q)
    resumed.load_state_dict(saved)
    opt.step(closure_for(opt, p, q))
    resumed.step(closure_for(resumed, p2, q2))
    np.testing.assert_array_equal(p2.numpy(), p.numpy())
    np.testing.assert_array_equal(q2.numpy(), q.numpy())
