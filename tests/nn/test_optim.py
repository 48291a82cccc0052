"""nn.optim against PyTorch: the same problem, the same steps, the same parameters and state."""
import re

import numpy as np
import pytest

import autograd as ag
import backends
import nn
import nn.functional as F
from nn import optim

from .torch_compare import named_rng

STEPS = 8
TOLERANCE = {"float32": dict(rtol=1e-6, atol=1e-7), "float64": dict(rtol=1e-12, atol=1e-14)}

# (topograd class, PyTorch class name, hyperparameters): every option each optimizer has.
CASES = [
    (optim.SGD, "SGD", dict(lr=0.1)),
    (optim.SGD, "SGD", dict(lr=0.1, momentum=0.9)),
    (optim.SGD, "SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (optim.SGD, "SGD", dict(lr=0.05, momentum=0.5, dampening=0.3, weight_decay=0.1)),
    (optim.SGD, "SGD", dict(lr=0.02, momentum=0.9, maximize=True)),
    (optim.Adam, "Adam", dict(lr=0.01)),
    (optim.Adam, "Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)),
    (optim.Adam, "Adam", dict(lr=0.01, betas=(0.3, 0.9), amsgrad=True)),
    (optim.Adam, "Adam", dict(lr=0.01, eps=1e-6, maximize=True)),
    (optim.AdamW, "AdamW", dict(lr=0.01)),
    (optim.AdamW, "AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    (optim.RMSprop, "RMSprop", dict(lr=0.01)),
    (optim.RMSprop, "RMSprop", dict(lr=0.01, momentum=0.9)),
    (optim.RMSprop, "RMSprop", dict(lr=0.01, centered=True, alpha=0.3)),
    (optim.RMSprop, "RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1, alpha=0.9)),
    (optim.RMSprop, "RMSprop", dict(lr=0.01, maximize=True)),
    (optim.Adagrad, "Adagrad", dict(lr=0.1)),
    (optim.Adagrad, "Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1)),
    (optim.Adagrad, "Adagrad", dict(lr=0.1, eps=1e-5, maximize=True)),
]
IDS = [f"{cls.__name__}-" + "-".join(f"{k}={v}" for k, v in kw.items()) for cls, _, kw in CASES]

NAMES = ("W", "b", "s", "unused")  # "unused" never gets a gradient, so every step skips it


def problem(dtype):
    rng = np.random.default_rng(1234)
    arrays = dict(W=rng.normal(size=(4, 3)), b=rng.normal(size=3), s=np.array(0.7), unused=rng.normal(size=2),
                  x=rng.normal(size=(5, 4)), y=rng.normal(size=(5, 3)))
    # Gradients to inject, the same for both libraries, so only the optimizers' arithmetic differs.
    arrays["grads"] = [[rng.normal(size=arrays[k].shape) for k in NAMES[:3]] for _ in range(STEPS)]
    return {k: [[g.astype(dtype) for g in step] for step in v] if k == "grads" else v.astype(dtype)
            for k, v in arrays.items()}


def loss_of(W, b, s, x, y):
    """The same expression in either library; ``s`` is a 0-d parameter."""
    return ((x @ W + b - y) ** 2).mean() + s * s * W.sum()


def ours(cls, kwargs, data, steps=STEPS, params=None, inject=False):
    """Run ``steps`` steps, with gradients from topograd's autograd or injected ones."""
    # (.copy(): the 'strict' backend's ag.tensor aliases a 0-d NumPy array instead of copying it)
    params = params or [nn.Parameter(ag.tensor(data[k].copy())) for k in NAMES]
    x, y = ag.tensor(data["x"]), ag.tensor(data["y"])
    opt = cls(params, **kwargs)
    for step in range(steps):
        opt.zero_grad()
        if inject:
            for p, g in zip(params, data["grads"][step]):
                p.grad = ag.tensor(g)
        else:
            loss_of(*params[:3], x, y).backward()
        opt.step()
    return params, opt


def theirs(torch, name, kwargs, data, steps=STEPS, inject=False):
    params = [torch.nn.Parameter(torch.from_numpy(data[k].copy())) for k in NAMES]
    x, y = torch.from_numpy(data["x"]), torch.from_numpy(data["y"])
    opt = getattr(torch.optim, name)(params, **kwargs)
    for step in range(steps):
        opt.zero_grad()
        if inject:
            for p, g in zip(params, data["grads"][step]):
                p.grad = torch.from_numpy(g.copy())
        else:
            loss_of(*params[:3], x, y).backward()
        opt.step()
    return params, opt


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cls, torch_name, kwargs", CASES, ids=IDS)
def test_steps_match_pytorch(cls, torch_name, kwargs, dtype, device, torch):
    data = problem(dtype)
    params, opt = ours(cls, kwargs, data, inject=True)
    ref_params, ref_opt = theirs(torch, torch_name, kwargs, data, inject=True)
    tol = TOLERANCE[dtype]
    for name, p, ref in zip(NAMES, params, ref_params):
        assert p.device == device and p.dtype == np.dtype(dtype) and p.is_leaf and p.requires_grad
        np.testing.assert_allclose(p.numpy(), ref.detach().numpy(), err_msg=name, **tol)
        # The per-parameter state holds what PyTorch's holds, with the same values.
        state, ref_state = opt.state.get(p, {}), ref_opt.state.get(ref, {})
        assert sorted(state) == sorted(ref_state), name
        for key, value in state.items():
            assert isinstance(value, ag.Tensor)
            np.testing.assert_allclose(value.numpy(), ref_state[key].numpy(), err_msg=f"{name}.{key}", **tol)
    np.testing.assert_array_equal(params[3].numpy(), data["unused"])


@pytest.mark.parametrize("cls, torch_name, kwargs", [CASES[2], CASES[7], CASES[14]], ids=[IDS[2], IDS[7], IDS[14]])
def test_training_matches_pytorch_with_each_librarys_own_gradients(cls, torch_name, kwargs, torch):
    data = problem("float32")
    params, _ = ours(cls, kwargs, data)
    ref_params, _ = theirs(torch, torch_name, kwargs, data)
    for name, p, ref in zip(NAMES, params, ref_params):  # the gradients themselves differ in rounding
        np.testing.assert_allclose(p.numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6, err_msg=name)


def test_steps_change_parameters_in_place():
    data = problem("float32")
    params = [nn.Parameter(ag.tensor(data[k])) for k in NAMES]
    arrays = [p.data for p in params[:2]]
    ours(optim.Adam, dict(lr=0.1), data, steps=2, params=params)
    assert all(p.data is a for p, a in zip(params, arrays))
    assert not np.allclose(params[0].numpy(), data["W"])


@pytest.mark.parametrize("cls, kwargs", [
    (optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (optim.Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    (optim.AdamW, dict(lr=0.01)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
], ids=lambda v: v.__name__ if isinstance(v, type) else "")
def test_state_dict_round_trip_continues_exactly(cls, kwargs, device):
    data = problem("float32")
    straight, _ = ours(cls, kwargs, data, steps=6)

    first, opt = ours(cls, kwargs, data, steps=3)
    saved = opt.state_dict()
    assert sorted(saved) == ["param_groups", "state"]
    assert saved["param_groups"][0]["params"] == [0, 1, 2, 3]
    assert all(isinstance(i, int) for i in saved["state"])
    assert all(isinstance(v, ag.Tensor) for s in saved["state"].values() for v in s.values())

    resumed = [nn.Parameter(ag.tensor(p.numpy().copy())) for p in first]
    other = dict(kwargs, lr=kwargs["lr"] * 7)  # the saved hyperparameters must win
    fresh = cls(resumed, **other)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["lr"] == kwargs["lr"]
    opt.step()  # the loaded state is a copy: stepping the original leaves it alone
    x, y = ag.tensor(data["x"]), ag.tensor(data["y"])
    for _ in range(3):
        fresh.zero_grad()
        loss_of(*resumed[:3], x, y).backward()
        fresh.step()
    for name, p, q in zip(NAMES, resumed, straight):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=name)


def test_loads_a_pytorch_state_dict_and_continues_like_pytorch(torch):
    data = problem("float32")
    kwargs = dict(lr=0.01, amsgrad=True, weight_decay=0.1)
    ref_params, ref_opt = theirs(torch, "Adam", kwargs, data, steps=3)
    ref_saved = ref_opt.state_dict()
    saved = {"state": {i: {k: v.numpy().copy() for k, v in s.items()} for i, s in ref_saved["state"].items()},
             "param_groups": ref_saved["param_groups"]}
    params = [nn.Parameter(ag.tensor(p.detach().numpy().copy())) for p in ref_params]
    opt = optim.Adam(params, lr=1.0)
    opt.load_state_dict(saved)
    assert float(opt.state[params[0]]["step"]) == 3.0
    x, y = ag.tensor(data["x"]), ag.tensor(data["y"])
    tx, ty = torch.from_numpy(data["x"]), torch.from_numpy(data["y"])
    for _ in range(3):
        for ps, o, xx, yy in ((params, opt, x, y), (ref_params, ref_opt, tx, ty)):
            o.zero_grad()
            loss_of(*ps[:3], xx, yy).backward()
            o.step()
    for name, p, ref in zip(NAMES, params, ref_params):
        np.testing.assert_allclose(p.numpy(), ref.detach().numpy(), rtol=1e-6, atol=1e-7, err_msg=name)
    # Our state_dict uses PyTorch's names for state and hyperparameters.
    ours_saved = opt.state_dict()
    assert set(ours_saved["param_groups"][0]) <= set(ref_opt.state_dict()["param_groups"][0])
    assert {i: sorted(s) for i, s in ours_saved["state"].items()} == \
        {i: sorted(s) for i, s in ref_opt.state_dict()["state"].items()}


def _snapshot(opt):
    return ([{k: (list(v) if k == "params" else v) for k, v in g.items()} for g in opt.param_groups],
            {id(p): {k: v.numpy().copy() for k, v in s.items()} for p, s in opt.state.items()})


def _same(a, b):
    (groups_a, state_a), (groups_b, state_b) = a, b
    assert len(groups_a) == len(groups_b)
    for ga, gb in zip(groups_a, groups_b):
        assert ga.keys() == gb.keys()
        assert all(ga[k] is gb[k] if k == "params" else ga[k] == gb[k] for k in ga if k != "params")
        assert all(x is y for x, y in zip(ga["params"], gb["params"]))
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        for name in state_a[key]:
            np.testing.assert_array_equal(state_a[key][name], state_b[key][name])


@pytest.mark.parametrize("corrupt, message", [
    (lambda sd: {"state": sd["state"]}, "'state' and 'param_groups'"),
    (lambda sd: dict(sd, param_groups=sd["param_groups"] * 2), "2 parameter groups"),
    (lambda sd: dict(sd, param_groups=[dict(sd["param_groups"][0], params=[0, 1])]), "has 2 parameters"),
    (lambda sd: dict(sd, state={**sd["state"], 0: dict(sd["state"][0], exp_avg=np.zeros((2, 2)))}), "shape"),
    (lambda sd: dict(sd, state={**sd["state"], 9: sd["state"][0]}), "parameter 9"),
    # (a beta out of range loads, as in PyTorch: load_state_dict checks types, not a scheduler's values)
    (lambda sd: dict(sd, param_groups=[dict(sd["param_groups"][0], betas=(0.9,))]), "betas must be a pair"),
])
def test_load_state_dict_rejects_mismatches_and_changes_nothing(corrupt, message):
    data = problem("float32")
    _, source = ours(optim.Adam, dict(lr=0.01), data, steps=2)
    _, target = ours(optim.Adam, dict(lr=0.5), data, steps=1)
    before = _snapshot(target)
    with pytest.raises(ValueError, match=message):
        target.load_state_dict(corrupt(source.state_dict()))
    _same(before, _snapshot(target))


def test_param_groups_and_add_param_group_match_pytorch(torch):
    rng = np.random.default_rng(5)
    init = [rng.normal(size=(3,)).astype("float32") for _ in range(3)]
    grads = [[rng.normal(size=(3,)).astype("float32") for _ in range(3)] for _ in range(4)]
    a, b, c = (nn.Parameter(ag.tensor(v)) for v in init)
    ta, tb, tc = (torch.nn.Parameter(torch.from_numpy(v.copy())) for v in init)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.0}], lr=0.1, momentum=0.9)
    ref = torch.optim.SGD([{"params": [ta]}, {"params": tb, "lr": 0.5, "momentum": 0.0}], lr=0.1, momentum=0.9)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[1]["momentum"] == 0.0
    assert opt.param_groups[1]["params"][0] is b
    for step, g in enumerate(grads):
        if step == 2:
            opt.add_param_group({"params": [c], "lr": 0.2, "nesterov": True})
            ref.add_param_group({"params": [tc], "lr": 0.2, "nesterov": True})
        for p, tp, gv in zip((a, b, c), (ta, tb, tc), g):
            p.grad, tp.grad = ag.tensor(gv), torch.from_numpy(gv.copy())
        opt.step()
        ref.step()
    for p, tp in zip((a, b, c), (ta, tb, tc)):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-6, atol=1e-7)
    assert b not in opt.state and "momentum_buffer" in opt.state[a]  # no momentum, no buffer


def test_add_param_group_rejects_a_parameter_already_in_a_group():
    a, b = nn.Parameter(ag.zeros(2)), nn.Parameter(ag.zeros(2))
    opt = optim.Adam([a], lr=0.1)
    group = {"params": [b, a], "lr": 0.5}
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group(group)
    assert len(opt.param_groups) == 1 and group == {"params": [b, a], "lr": 0.5}
    with pytest.raises(ValueError, match="appears twice"):
        opt.add_param_group({"params": [b, b]})
    with pytest.raises(ValueError, match="learning rate"):
        opt.add_param_group({"params": [b], "lr": -1})
    assert len(opt.param_groups) == 1
    opt.add_param_group({"params": [b]})
    assert opt.param_groups[1]["betas"] == (0.9, 0.999) and opt.param_groups[1]["lr"] == 0.1


@pytest.mark.parametrize("params, error, message", [
    (lambda a: a, TypeError, "single Tensor"),
    (lambda a: [], ValueError, "empty parameter list"),
    (lambda a: {a}, TypeError, "not a set"),
    (lambda a: [a, "weight"], TypeError, "parameter 1 is a str"),
    (lambda a: [a * 2], ValueError, "non-leaf"),
    (lambda a: [("w", a), a], ValueError, "every parameter as a"),
])
def test_constructor_rejects_bad_params(params, error, message):
    a = nn.Parameter(ag.zeros(2))
    with pytest.raises(error, match=message):
        optim.SGD(params(a), lr=0.1)


def test_named_parameters_are_kept_in_the_state_dict():
    model = nn.Module()
    model.weight = nn.Parameter(ag.zeros(2))
    model.bias = nn.Parameter(ag.zeros(1))
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    with pytest.raises(ValueError, match="with names"):
        opt.add_param_group({"params": [nn.Parameter(ag.zeros(1))]})


@pytest.mark.parametrize("cls, kwargs, message", [
    (optim.SGD, dict(lr=-0.1), "learning rate"),
    (optim.SGD, dict(lr=0.1, momentum=-0.5), "momentum"),
    (optim.SGD, dict(lr=0.1, weight_decay=-1), "weight_decay"),
    (optim.SGD, dict(lr=0.1, nesterov=True), "Nesterov"),
    (optim.SGD, dict(lr=0.1, nesterov=True, momentum=0.9, dampening=0.1), "Nesterov"),
    (optim.Adam, dict(betas=(1.0, 0.999)), "beta at index 0"),
    (optim.Adam, dict(betas=(0.9, -0.1)), "beta at index 1"),
    (optim.Adam, dict(betas=(0.9,)), "pair"),
    (optim.Adam, dict(eps=-1e-8), "eps"),
    (optim.AdamW, dict(lr=-1), "learning rate"),
    (optim.AdamW, dict(weight_decay=-0.01), "weight_decay"),
    (optim.RMSprop, dict(alpha=-0.1), "alpha"),
    (optim.RMSprop, dict(alpha=1.5), "alpha"),
    (optim.RMSprop, dict(momentum=-1), "momentum"),
    (optim.Adagrad, dict(lr_decay=-1), "lr_decay"),
    (optim.Adagrad, dict(initial_accumulator_value=-1), "initial_accumulator_value"),
    (optim.Adagrad, dict(eps=-1), "eps"),
])
def test_invalid_hyperparameters_raise_value_error(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls([nn.Parameter(ag.zeros(2))], **kwargs)
    with pytest.raises(ValueError, match=message):  # also when only one group sets it
        cls([{"params": [nn.Parameter(ag.zeros(2))], **kwargs}])


def test_zero_grad():
    p = nn.Parameter(ag.ones(3))
    opt = optim.SGD([p], lr=0.1)
    (p * p).sum().backward()
    grad = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad
    np.testing.assert_array_equal(p.grad.numpy(), np.zeros(3))
    opt.zero_grad()
    assert p.grad is None


def test_zero_grad_in_place_takes_a_recorded_gradient_out_of_its_graph_as_torch():
    """A .grad made with create_graph holds a graph; zeroing it in place, as PyTorch's
    zero_grad(set_to_none=False), leaves zeros with no grad_fn, so the next backward adds
    into a plain tensor and nothing differentiates through the old graph."""
    p = nn.Parameter(ag.tensor([1.0, 2.0]))
    (g,) = ag.grad((p ** 3).sum(), p, create_graph=True)
    p.grad = g
    optim.SGD([p], lr=0.1).zero_grad(set_to_none=False)
    assert p.grad.grad_fn is None and not p.grad.requires_grad
    assert p.grad.tolist() == [0.0, 0.0]
    (p * p).sum().backward()
    assert p.grad.tolist() == [2.0, 4.0] and p.grad.grad_fn is None


def test_step_runs_the_closure_with_gradients_on_and_returns_its_loss():
    p = nn.Parameter(ag.tensor([1.0, -2.0]))
    opt = optim.SGD([p], lr=0.25)
    calls = []

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        calls.append(loss.item())
        return loss

    with ag.no_grad():
        loss = opt.step(closure)
    assert calls == [5.0] and loss.item() == 5.0
    np.testing.assert_allclose(p.numpy(), [0.5, -1.0])  # p - 0.25 * 2p


def test_step_is_an_in_place_change_for_autograd():
    p = nn.Parameter(ag.tensor([[1.0, 2.0], [3.0, 4.0]]))
    x = ag.tensor([[1.0, -1.0]], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    stale = (x @ p).sum()  # saves p for backward, for x's gradient (as PyTorch: only then)
    stale.backward(retain_graph=True)
    opt.step()
    assert p.is_leaf and p.requires_grad and p.grad_fn is None
    with pytest.raises(RuntimeError, match="SGD.step"):  # as PyTorch: the saved p is out of date
        stale.backward()
    opt.zero_grad()
    (x @ p).sum().backward()  # a graph recorded after the step is fine
    np.testing.assert_allclose(p.grad.numpy(), [[1.0, 1.0], [-1.0, -1.0]])


def test_scalar_parameters_made_from_a_reduction_update_in_place():
    # NumPy returns a scalar for a full reduction; the tensor must still hold an array
    p = nn.Parameter(ag.tensor([2.0]).sum())
    opt = optim.Adam([p], lr=0.5)
    (p * p).backward()
    opt.step()
    assert abs(p.item() - 1.5) < 1e-6
    data = p.data
    (p * p).backward()
    opt.step()
    assert p.data is data


def test_sgd_step_matches_numpy_and_leaves_the_gradient_alone(device):
    """The update goes through the backend's axpy_ kernel: w - lr * g as NumPy rounds its
    two steps or, where the NumPy backend calls NumPy's own BLAS, rounded once (a fused
    multiply-add, as PyTorch's add_ does); g must stay as it was."""
    import numpy as np
    import autograd as ag
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal((701, 217)).astype(np.float32)
    g0 = rng.standard_normal((701, 217)).astype(np.float32)
    p = nn.Parameter(ag.tensor(w0.copy()))
    p.grad = ag.tensor(g0.copy())
    opt = nn.optim.SGD([p], lr=0.1)
    # (CUDA's compiler contracts the kernel's y += a * x into one fused multiply-add, as PyTorch's CUDA add_)
    fused = getattr(p.backend, "blas_axpy", None) is not None or p.device.startswith("cuda")

    def check(before):
        two_steps = before + np.float32(-0.1) * g0
        if fused:
            once = (before.astype(np.longdouble) + np.longdouble(np.float32(-0.1)) * g0).astype(np.float32)
            assert np.all((p.numpy() == once) | (p.numpy() == two_steps))
        else:
            np.testing.assert_array_equal(p.numpy(), two_steps)
        np.testing.assert_array_equal(p.grad.numpy(), g0)

    opt.step()
    check(w0)
    after_one = p.numpy().copy()
    opt.step()  # a second step reuses whatever buffer the first one took
    check(after_one)


@pytest.mark.parametrize("cls, torch_name, kwargs", CASES, ids=IDS)
def test_steps_leave_gradients_alone_and_take_no_fresh_memory_once_warm(cls, torch_name, kwargs):
    """An update's temporaries come from the NumPy backend's scratch pool: after two
    steps, a step allocates nothing near a large parameter's size (fresh temporaries
    that size cost a page fault per 4 KiB every step), and no .grad is changed."""
    import tracemalloc
    rng = np.random.default_rng(8)
    # 512 KiB: past the size below which the pool leaves arrays to malloc's free lists
    params = [nn.Parameter(ag.tensor(rng.standard_normal(shape).astype(np.float32))) for shape in ((512, 256), (256,))]
    grads = [rng.standard_normal(p.shape).astype(np.float32) for p in params]
    opt = cls(params, **kwargs)
    for _ in range(3):
        for p, g in zip(params, grads):
            p.grad = ag.tensor(g.copy())
        tracemalloc.start()
        try:
            opt.step()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        for p, g in zip(params, grads):
            np.testing.assert_array_equal(p.grad.numpy(), g)
    # amsgrad's running maximum has no in-place form in the Array API: one temporary
    allowed = params[0].data.nbytes * 1.1 if kwargs.get("amsgrad") else params[0].data.nbytes // 4
    assert peak < allowed, f"the third step allocated {peak} bytes"


# Radicands whose square root NumPy's scalar power (``np.float32(v) ** 0.5``, C's pow)
# rounds differently from sqrt: under 0.1% of all values are like these.
POW_MISROUNDS = {
    "float32": ["0x1.5093b4p+2", "0x1.1fa97ap+3", "0x1.c6ef72p+0", "0x1.cf731cp+2"],
    "float64": ["0x1.58a5760f67e9bp+2", "0x1.31ccc9c5534f9p+3", "0x1.e18a984e97abcp+2", "0x1.ee4fd2c3cbe2cp-2"],
}
TORCH_RTOL = {"float32": 1e-6, "float64": 1e-14}
TINY_GRAD = 2.0 ** -40  # its square vanishes next to the accumulator, so the sum stays v exactly


def adagrad_first_step(lib, param, grad, accumulator, load_state):
    """One Adagrad step (lr 0.5, eps 0) from ``accumulator``: with IEEE arithmetic (a
    correctly rounded sqrt) the update is exactly -2**-41 / sqrt(accumulator), in either
    order of the scaling and the division (0.5 is a power of two)."""
    opt = lib.Adagrad([param], lr=0.5, eps=0.0)
    load_state(opt, accumulator)
    param.grad = grad
    opt.step()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", ["0-d", "vector"])
def test_adagrad_denominator_is_the_correctly_rounded_square_root(shape, dtype, device, torch):
    """The denominator's square root is correctly rounded (Backend.sqrt, not a power of
    0.5: C's pow and CuPy's power kernel round some values differently), for 0-d
    parameters too. PyTorch's CPU sqrt goes through MKL and is itself off by an ulp in
    places, so it is checked with a tolerance: it is the reference for the formula,
    IEEE's sqrt for the rounding."""
    values = np.array([float.fromhex(h) for h in POW_MISROUNDS[dtype]], dtype=dtype)
    if shape == "vector":  # many radicands at once: what a GPU's pow gets wrong shows here
        values = np.concatenate([values, np.random.default_rng(3).uniform(0.1, 10, 4096).astype(dtype)])
    expected = -(2.0 ** -41) / np.sqrt(values)
    got = []
    for v in (values if shape == "0-d" else [values]):
        v = np.asarray(v)
        p = nn.Parameter(ag.tensor(np.zeros(v.shape, dtype)))
        adagrad_first_step(optim, p, ag.tensor(np.full(v.shape, TINY_GRAD, dtype)), v, _load_ours)
        got.append(p.numpy())
        ref = torch.nn.Parameter(torch.zeros(v.shape, dtype=getattr(torch, dtype)))
        adagrad_first_step(torch.optim, ref, torch.full(v.shape, TINY_GRAD, dtype=getattr(torch, dtype)), v,
                           _load_torch)
        np.testing.assert_allclose(ref.detach().numpy(), expected if shape == "vector" else expected[len(got) - 1],
                                   rtol=TORCH_RTOL[dtype])
    got = np.stack(got) if shape == "0-d" else got[0]
    np.testing.assert_array_equal(got, expected)


def _load_ours(opt, accumulator):
    state = opt.state_dict()
    state["state"][0]["sum"] = np.array(accumulator, copy=True)
    opt.load_state_dict(state)


def _load_torch(opt, accumulator):
    (p,) = opt.param_groups[0]["params"]
    opt.state[p]["sum"].copy_(opt.state[p]["sum"].new_tensor(accumulator))


@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt")  # sqrt(-inf), on purpose
@pytest.mark.parametrize("shape", [(), (1,)], ids=["0-d", "one-element"])
def test_adam_takes_pytorchs_step_from_a_negative_infinite_second_moment(shape, device, torch):
    """sqrt(-inf) is NaN, and so is PyTorch's step: a corrupt checkpoint shows up, and a
    0-d parameter must not step by 0 instead (as C's pow(-inf, 0.5) = +inf would)."""
    state = dict(exp_avg=np.ones(shape, np.float32), exp_avg_sq=np.full(shape, -np.inf, np.float32))
    p = nn.Parameter(ag.tensor(np.zeros(shape, np.float32)))
    opt = optim.Adam([p], lr=0.1)
    p.grad = ag.tensor(np.zeros(shape, np.float32))
    opt.step()  # makes the state, then overwrite it
    saved = opt.state_dict()
    saved["state"][0].update(state)
    opt.load_state_dict(saved)
    opt.step()
    ref = torch.nn.Parameter(torch.zeros(shape))
    ref_opt = torch.optim.Adam([ref], lr=0.1)
    ref.grad = torch.zeros(shape)
    ref_opt.step()
    for key, value in state.items():
        ref_opt.state[ref][key].copy_(torch.from_numpy(value))
    ref_opt.step()
    assert np.isnan(ref.detach().numpy()).all()
    np.testing.assert_array_equal(p.numpy(), ref.detach().numpy())


def test_scaled_returns_an_array_for_a_0d_input(device):
    """Backend.scaled gives an array the caller owns and may change in place, even for a
    0-d input (where NumPy's ``x * alpha`` would give an immutable NumPy scalar)."""
    backend = backends.get(device)
    x = backend.from_numpy(np.array(1.5, np.float32))
    out = backend.scaled(x, 2.0)
    assert type(out) is type(x)
    out[...] = 0.0  # changeable in place, as the docstring says
    assert float(backend.to_numpy(out)) == 0.0


@pytest.mark.parametrize("size", [8, 1 << 17], ids=["small", "pooled"])
def test_numpy_scalar_hyperparameters_keep_state_in_the_parameter_dtype(size, device, torch):
    """A NumPy float64 weight decay (a value from np.logspace, a config array) is a plain
    number to PyTorch: its momentum buffer stays float32, whatever the parameter's size
    (below or above the scratch pool's), on every backend."""
    rng = np.random.default_rng(0)
    w, g = rng.standard_normal(size).astype(np.float32), rng.standard_normal(size).astype(np.float32)
    kwargs = dict(lr=0.1, momentum=0.9, weight_decay=np.float64(0.01))
    p = nn.Parameter(ag.tensor(w))
    p.grad = ag.tensor(g)
    opt = optim.SGD([p], **kwargs)
    opt.step()
    ref = torch.nn.Parameter(torch.from_numpy(w.copy()))
    ref.grad = torch.from_numpy(g.copy())
    ref_opt = torch.optim.SGD([ref], **kwargs)
    ref_opt.step()
    assert opt.state[p]["momentum_buffer"].dtype == np.float32
    np.testing.assert_allclose(opt.state[p]["momentum_buffer"].numpy(),
                               ref_opt.state[ref]["momentum_buffer"].numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(p.numpy(), ref.detach().numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("make", ["adam", "rmsprop_centered"])
def test_lerp_optimizers_match_pytorch_on_a_pooled_and_a_0d_parameter(device, torch, make):
    rng = np.random.default_rng(3)
    values = [rng.standard_normal((300, 500)).astype(np.float32), np.float32(rng.standard_normal())]
    ours = [nn.Parameter(ag.tensor(v)) for v in values]
    theirs = [torch.nn.Parameter(torch.tensor(v)) for v in values]
    kwargs = dict(lr=1e-2, weight_decay=0.1)
    if make == "adam":
        ours_opt, theirs_opt = nn.optim.Adam(ours, **kwargs), torch.optim.Adam(theirs, **kwargs)
    else:
        ours_opt = nn.optim.RMSprop(ours, centered=True, **kwargs)
        theirs_opt = torch.optim.RMSprop(theirs, centered=True, **kwargs)
    for step in range(3):
        grads = [rng.standard_normal(np.shape(v)).astype(np.float32) for v in values]
        for p, q, g in zip(ours, theirs, grads):
            p.grad = ag.tensor(g)
            q.grad = torch.tensor(g)
        ours_opt.step()
        theirs_opt.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-5, atol=1e-6)


# --- the optimizers' float16 averages ------------------------------------------------------------
# The lerp of the first moment (Adam, AdamW, NAdam, RAdam and Adamax) computed end - start in
# float16, so a gradient of 6e4 after a momentum of -6e3 made the average inf and the update NaN;
# PyTorch's lerp rounds once from float32 and its update is 0.
@pytest.mark.filterwarnings("ignore:overflow")  # the second moment, 6e4 squared: inf, as PyTorch's
@pytest.mark.parametrize("name", ["Adam", "AdamW", "NAdam", "RAdam", "Adamax"])
def test_float16_moment_averages_do_not_overflow_between_two_large_gradients(torch, name):
    """The first moment after gradients -6e4 then 6e4 is 600, but 6e4 - (-6e3) passes
    float16's 65504: the average was inf, and the update inf / inf = NaN."""
    start = np.linspace(-1, 1, 4).astype(np.float16)
    gradients = [np.array([-60000.0, 1.0, -2.0, 0.25], dtype=np.float16),  # (no 0: eps underflows to 0 in
                 # float16, and 0 / 0 is NaN in both)
                 np.array([60000.0, -1.0, 3.0, 0.5], dtype=np.float16)]
    ours = nn.Parameter(ag.tensor(start))
    theirs = torch.nn.Parameter(torch.tensor(start))
    opt = getattr(nn.optim, name)([ours], lr=0.1)
    ref = getattr(torch.optim, name)([theirs], lr=0.1)
    for g in gradients:
        ours.grad, theirs.grad = ag.tensor(g), torch.tensor(g)
        opt.step()
        ref.step()
    assert np.isfinite(ours.detach().numpy()).all()
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=2e-3, atol=1e-3)


# --- an optimizer stepping a model moved to another device or dtype after its state was made ------

# Cross-device tests pair the test's device with another available one.
def _other_device(device):
    others = [d for d in backends.available_devices() if d != device]
    if not others:
        pytest.skip("needs a second device")
    return others[0]


def _mentions_both(a, b):
    """A regex that matches a message naming both devices, in either order."""
    return rf"(?s)(?=.*{re.escape(a)})(?=.*{re.escape(b)})"


OPTIMIZERS = {
    "SGD-momentum": lambda ps: nn.optim.SGD(ps, lr=0.1, momentum=0.9),
    "Adam": lambda ps: nn.optim.Adam(ps, lr=0.1),
    "AdamW": lambda ps: nn.optim.AdamW(ps, lr=0.1, weight_decay=0.5),
    "RMSprop": lambda ps: nn.optim.RMSprop(ps, lr=0.1),
    "Adagrad": lambda ps: nn.optim.Adagrad(ps, lr=0.1),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_step_after_model_moved_names_both_devices_and_changes_nothing(device, name):
    """model.to(other) after the optimizer made its state: PyTorch refuses the step with
    a device error; here it must too (a ValueError naming both devices), not a raw
    array-library TypeError, and the refused step must not decay the weights or
    advance the step counter."""
    target = _other_device(device)
    model = nn.Linear(3, 2)
    optimizer = OPTIMIZERS[name](model.parameters())
    F.mse_loss(model(ag.randn(4, 3)), ag.randn(4, 2)).backward()
    optimizer.step()
    optimizer.zero_grad()
    model.to(target)
    with backends.default_device(target):
        F.mse_loss(model(ag.randn(4, 3)), ag.randn(4, 2)).backward()
    weight, bias = model.weight.numpy().copy(), model.bias.numpy().copy()
    steps = {k: float(v.item()) for k, v in optimizer.state[model.weight].items() if k == "step"}
    with pytest.raises(ValueError, match=_mentions_both(device, target)):
        optimizer.step()
    np.testing.assert_array_equal(model.weight.numpy(), weight)
    np.testing.assert_array_equal(model.bias.numpy(), bias)
    assert {k: float(v.item()) for k, v in optimizer.state[model.weight].items() if k == "step"} == steps


def test_step_after_model_changed_dtype_names_both_dtypes_and_changes_nothing(device):
    model = nn.Linear(3, 2)
    optimizer = nn.optim.Adam(model.parameters(), lr=0.1)
    F.mse_loss(model(ag.randn(4, 3)), ag.randn(4, 2)).backward()
    optimizer.step()
    model.to(dtype=ag.float64)
    F.mse_loss(model(ag.randn(4, 3, dtype=ag.float64)), ag.randn(4, 2, dtype=ag.float64)).backward()
    weight = model.weight.numpy().copy()
    with pytest.raises(ValueError, match=r"Adam.step: state 'exp_avg' of parameter 0 .*float32.*float64"):
        optimizer.step()
    np.testing.assert_array_equal(model.weight.numpy(), weight)
    optimizer.load_state_dict(optimizer.state_dict())  # the fix the message gives
    optimizer.step()
    assert optimizer.state[model.weight]["exp_avg"].dtype == ag.float64
    assert not np.array_equal(model.weight.numpy(), weight)


# --- hyperparameters and params of the wrong kind, at construction and at the step ----------------

@pytest.mark.parametrize("cls, kwargs, word", [
    (nn.optim.Adam, {"lr": "1e-3"}, "lr"),            # PyYAML reads `lr: 1e-3` as a string
    (nn.optim.SGD, {"lr": None}, "lr"),
    (nn.optim.SGD, {"lr": 0.1, "weight_decay": None}, "weight_decay"),
    (nn.optim.RMSprop, {"lr": "0.01"}, "lr"),
    (nn.optim.Adam, {"betas": 0.9}, "betas"),
], ids=["adam-lr-str", "sgd-lr-none", "sgd-wd-none", "rmsprop-lr-str", "adam-betas-float"])
def test_optimizer_hyperparameter_of_wrong_type_is_named(device, cls, kwargs, word):
    """Now a raw "'>=' not supported between instances of 'str' and 'int'" (or "'float'
    object is not iterable") from inside the check."""
    p = ag.randn(2, requires_grad=True)
    with pytest.raises(TypeError, match=rf"{cls.__name__}.*{word}"):
        cls([p], **kwargs)


def test_add_param_group_with_wrong_type_hyperparameter_is_named_and_not_added(device):
    optimizer = nn.optim.Adam([ag.randn(2, requires_grad=True)])
    with pytest.raises(TypeError, match=r"Adam.*lr"):
        optimizer.add_param_group({"params": [ag.randn(2, requires_grad=True)], "lr": "0.1"})
    assert len(optimizer.param_groups) == 1


@pytest.mark.parametrize("pass_", ["module", "unbound-method"])
def test_optimizer_given_the_model_says_to_pass_parameters(device, pass_):
    """SGD(model, ...) and SGD(model.parameters, ...) (no call): now "'Linear' object is
    not iterable" / "'method' object is not iterable"."""
    model = nn.Linear(2, 2)
    params = model if pass_ == "module" else model.parameters
    with pytest.raises(TypeError, match=r"parameters\(\)"):
        nn.optim.SGD(params, lr=0.1)


def test_optimizer_from_a_used_up_parameter_generator_says_to_call_parameters_again(device, torch):
    """params = model.parameters() given to two optimizers: the second got an empty
    list, and the message told the user to pass model.parameters(), which they had."""
    model = torch.nn.Linear(2, 2)
    params = model.parameters()
    torch.optim.SGD(params, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        torch.optim.Adam(params)
    model = nn.Linear(2, 2)
    params = model.parameters()
    nn.optim.SGD(params, lr=0.1)
    with pytest.raises(ValueError, match=r"^Adam got an empty parameter list; params is an iterator with nothing "
                                         r"left in it: .*call model\.parameters\(\) again here; else the model "
                                         r"has no parameters, or a filter left none$"):
        nn.optim.Adam(params)
    with pytest.raises(ValueError, match=r"^SGD got an empty parameter list; pass the parameters to optimize"):
        nn.optim.SGD([], lr=0.1)  # a list is not used up: the old advice stands


STEP_OPTIMIZERS = {
    "SGD": lambda ps: nn.optim.SGD(ps, lr=0.1, momentum=0.9),
    "Adam": lambda ps: nn.optim.Adam(ps, lr=0.1),
    "AdamW": lambda ps: nn.optim.AdamW(ps, lr=0.1),
    "RMSprop": lambda ps: nn.optim.RMSprop(ps, lr=0.1),
    "Adagrad": lambda ps: nn.optim.Adagrad(ps, lr=0.1),
}


@pytest.mark.parametrize("key, value", [("lr", "0.5"), ("lr", None), ("weight_decay", "0.01")],
                         ids=["lr-str", "lr-None", "weight_decay-str"])
@pytest.mark.parametrize("name", sorted(STEP_OPTIMIZERS))
def test_hyperparameter_written_into_a_group_later_is_checked_before_the_step(device, name, key, value):
    """optimizer.param_groups[0]['lr'] = config['lr'] with a YAML string: the constructor
    refuses '0.5', but step() read it with float() and stepped at 0.5; None failed with
    Python's bare "float() argument must be ...". Now step refuses both before any update,
    across every group (the first group here is fine and must not move either)."""
    first, second = nn.Linear(3, 2), nn.Linear(3, 2)
    optimizer = STEP_OPTIMIZERS[name]([{"params": first.parameters()}, {"params": second.parameters()}])
    x, y = ag.randn(4, 3), ag.randn(4, 2)
    (F.mse_loss(first(x), y) + F.mse_loss(second(x), y)).backward()
    optimizer.param_groups[1][key] = value
    weights = [p.numpy().copy() for p in (*first.parameters(), *second.parameters())]
    state = {id(p): {k: v.numpy().copy() for k, v in s.items()} for p, s in optimizer.state.items()}
    with pytest.raises(TypeError, match=rf"^{name}: {key} must be a number, got (str '{value}'; convert it with "
                                        rf"float\(\)|NoneType None$)"):
        optimizer.step()
    for before, p in zip(weights, (*first.parameters(), *second.parameters())):
        np.testing.assert_array_equal(p.numpy(), before)
    assert {id(p): {k: v.numpy().tolist() for k, v in s.items()} for p, s in optimizer.state.items()} == \
        {i: {k: v.tolist() for k, v in s.items()} for i, s in state.items()}
    optimizer.param_groups[1][key] = float(value or 0.1)  # the fix the message gives
    optimizer.step()
    assert not np.array_equal(second.weight.numpy(), weights[2])


def test_hyperparameters_that_are_numbers_of_other_types_still_step(device, torch):
    """A NumPy float (np.linspace schedules) or a one-element tensor lr stays accepted, as
    in PyTorch, and steps by its value."""
    for lr in (np.float64(0.5), ag.tensor(0.5)):
        p = ag.tensor([1.0, 2.0], requires_grad=True)
        optimizer = nn.optim.SGD([p], lr=0.1)
        optimizer.param_groups[0]["lr"] = lr
        (p * p).sum().backward()
        optimizer.step()
        np.testing.assert_allclose(p.numpy(), [0.0, 0.0])


def test_lbfgs_and_pair_hyperparameters_are_checked_at_step_too():
    model = nn.Linear(2, 1)
    loss = lambda: model(ag.ones(1, 2)).sum()  # noqa: E731
    lbfgs = nn.optim.LBFGS(model.parameters())
    lbfgs.param_groups[0]["lr"] = "0.5"
    before = model.weight.numpy().copy()
    with pytest.raises(TypeError, match=r"^LBFGS: lr must be a number, got str '0.5'"):
        lbfgs.step(lambda: (lbfgs.zero_grad(), loss().backward(), loss())[-1])
    adam = nn.optim.Adam(model.parameters())
    loss().backward()
    adam.param_groups[0]["betas"] = None
    with pytest.raises(TypeError, match=r"^Adam: betas must be a pair of numbers \(beta1, beta2\), got None"):
        adam.step()
    np.testing.assert_array_equal(model.weight.numpy(), before)


def test_adafactor_steps_take_the_fast_check():
    """Its eps is a pair, which made every step run the full check (3.7 µs a group)."""
    optimizer = nn.optim.Adafactor(nn.Linear(2, 1).parameters())
    assert "eps" not in optimizer._numeric_keys


# --- Adagrad's initial accumulator ---------------------------------------------------------------
# A NumPy scalar argument (np.float32(0.2), np.int64(0): a config read with NumPy, a value from
# np.linspace) is made a Python number where it is checked: the Array API (the 'strict' device)
# combines arrays with Python numbers only.


def _close(ours, theirs, **tolerance):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **tolerance)


def test_adagrad_takes_a_numpy_initial_accumulator_value(device, torch):
    """The accumulator was filled with the value as given when the optimizer was made."""
    initial = np.float32(0.1)
    values = named_rng("adagrad numpy initial").standard_normal((2, 3)).astype(np.float32)
    p = nn.Parameter(ag.tensor(values))
    pt = torch.nn.Parameter(torch.tensor(values))
    opt = optim.Adagrad([p], lr=0.1, initial_accumulator_value=initial)
    opt_t = torch.optim.Adagrad([pt], lr=0.1, initial_accumulator_value=float(initial))
    for _ in range(2):
        for param, o in ((p, opt), (pt, opt_t)):
            o.zero_grad()
            (param ** 3).sum().backward()
            o.step()
    assert opt.state[p]["sum"].dtype == ag.float32
    _close(opt.state[p]["sum"], opt_t.state[pt]["sum"], rtol=1e-6)
    _close(p, pt, rtol=1e-6)
