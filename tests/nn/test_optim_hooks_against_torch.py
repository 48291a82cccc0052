"""Optimizer hooks (step, state_dict and load_state_dict, per optimizer and global) against
PyTorch 2.13: call order with several hooks and prepend, the arguments hooks get, what
their return values replace, handle.remove(); and state dicts whose hyperparameters a
scheduler took out of the constructor's ranges, which load as in PyTorch."""
import importlib

import numpy as np
import pytest

import autograd as ag
import nn
from nn import optim
from nn.optim import lr_scheduler
from nn.optim import optimizer as optimizer_module

INIT = np.array([1.0, -2.0, 0.5])
NAMES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam", "Adadelta", "Rprop", "ASGD",
         "LBFGS"]


def _optimizer(lib, name="SGD", **kwargs):
    """An optimizer of ``lib`` (topograd's autograd or torch) over one float64 parameter,
    and a closure that computes sum(p * p) and its gradient."""
    if lib is ag:
        p, module = nn.Parameter(ag.tensor(INIT.copy())), optim
    else:
        p, module = lib.nn.Parameter(lib.tensor(INIT.copy())), lib.optim
    opt = getattr(module, name)([p], **kwargs)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss
    return opt, p, closure


def _both(torch, name="SGD", **kwargs):
    return _optimizer(ag, name, **kwargs), _optimizer(torch, name, **kwargs)


def _globals(lib):
    """The module with register_optimizer_step_pre_hook / _post_hook."""
    return optimizer_module if lib is ag else importlib.import_module("torch.optim.optimizer")


def _values(p):
    return p.numpy() if isinstance(p, ag.Tensor) else p.detach().numpy()


# --- step hooks --------------------------------------------------------------------------------
def _step_hook_order(lib, torch):
    opt, _, closure = _optimizer(lib if lib is ag else torch)
    log = []

    def hook(label):
        return lambda optimizer, args, kwargs: log.append(label)

    module = _globals(lib)
    with module.register_optimizer_step_pre_hook(hook("global pre")), \
            module.register_optimizer_step_post_hook(hook("global post")):
        opt.register_step_post_hook(hook("post 1"))
        opt.register_step_pre_hook(hook("pre 1"))
        removed = opt.register_step_pre_hook(hook("removed pre"))
        opt.register_step_pre_hook(hook("pre 2"))
        opt.register_step_post_hook(hook("post 2"))
        opt.step(closure)
        removed.remove()
        removed.remove()  # a second remove changes nothing
        log.append("|")
        opt.step(closure)
    opt.step(closure)  # the global hooks are gone
    return log


def test_step_hooks_run_in_pytorchs_order_and_remove_takes_one_out(torch):
    ours = _step_hook_order(ag, torch)
    assert ours == _step_hook_order(torch, torch)
    assert ours[:6] == ["global pre", "pre 1", "removed pre", "pre 2", "post 1", "post 2"]


@pytest.mark.parametrize("call", ["none", "positional", "keyword"])
def test_step_hooks_get_pytorchs_arguments(call, torch):
    seen = {}
    for lib, (opt, _, closure) in zip(("ours", "torch"), _both(torch)):
        calls = []
        opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", o, args, dict(kwargs))))
        opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", o, args, dict(kwargs))))
        args, kwargs = {"none": ((), {}), "positional": ((closure,), {}), "keyword": ((), {"closure": closure})}[call]
        loss = opt.step(*args, **kwargs)
        for when, o, got_args, got_kwargs in calls:
            assert o is opt and got_args[0] is opt  # the optimizer, then step's own arguments
            assert got_args[1:] == args and got_kwargs == kwargs
        seen[lib] = ([c[0] for c in calls], None if loss is None else float(loss.detach()))
    assert seen["ours"] == seen["torch"]


@pytest.mark.parametrize("name", ["SGD", "Adam", "LBFGS"])
def test_a_step_pre_hook_replaces_the_arguments_step_and_the_post_hooks_get(name, torch):
    results = []
    for opt, p, _ in _both(torch, name, lr=0.1):
        def shifted_closure(opt=opt, p=p):  # the loss sum((p - 1) ** 2), of a different minimum
            opt.zero_grad()
            loss = ((p - 1) * (p - 1)).sum()
            loss.backward()
            return loss

        posted = []
        opt.register_step_pre_hook(lambda o, args, kwargs, c=shifted_closure: ((args[0],), {"closure": c}))
        opt.register_step_post_hook(lambda o, args, kwargs: posted.append((len(args), list(kwargs))))
        losses = [float(opt.step().detach()) for _ in range(2)]  # no closure given: the hook's is used
        results.append((losses, _values(p), posted))
    (losses, values, posted), (ref_losses, ref_values, ref_posted) = results
    assert posted == ref_posted == [(1, ["closure"])] * 2
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-12)
    np.testing.assert_allclose(values, ref_values, rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_step_hooks_run_once_per_step_for_every_optimizer(name, torch):
    counts = []
    for opt, _, closure in _both(torch, name):
        calls = []
        opt.register_step_pre_hook(lambda *a: calls.append("pre"))
        opt.register_step_post_hook(lambda *a: calls.append("post"))
        with _globals(ag if isinstance(opt, optim.Optimizer) else torch).register_optimizer_step_post_hook(
                lambda o, *a: calls.append(type(o).__name__)):
            for _ in range(2):
                opt.step(closure)
        counts.append(calls)
    assert counts[0] == counts[1] == ["pre", "post", name] * 2


def test_hooks_run_once_around_a_step_an_optimizer_overrides_and_that_calls_super():
    class Clipped(optim.SGD):
        def step(self, closure=None):
            self.param_groups[0]["lr"] = min(self.param_groups[0]["lr"], 0.05)
            return super().step(closure)

    p = nn.Parameter(ag.tensor(INIT.copy()))
    opt = Clipped([p], lr=0.5)
    calls = []
    opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", args[1:])))
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", args[1:])))
    p.grad = ag.tensor(np.ones(3))
    opt.step()
    assert calls == [("pre", ()), ("post", ())]
    np.testing.assert_allclose(p.numpy(), INIT - 0.05)


def test_a_step_pre_hook_returning_something_else_is_a_runtime_error_as_in_pytorch(torch):
    for opt, p, closure in _both(torch):
        opt.register_step_pre_hook(lambda o, args, kwargs: kwargs)  # forgot the args
        with pytest.raises(RuntimeError, match="must return None or a tuple"):
            opt.step(closure)
        np.testing.assert_array_equal(_values(p), INIT)


@pytest.mark.parametrize("register", ["register_step_pre_hook", "register_step_post_hook",
                                      "register_state_dict_pre_hook", "register_state_dict_post_hook",
                                      "register_load_state_dict_pre_hook", "register_load_state_dict_post_hook"])
def test_a_hook_that_cannot_be_called_is_refused_when_registered(register):
    opt, _, _ = _optimizer(ag, "Adam")
    with pytest.raises(TypeError, match=f"Adam.{register}: the hook must be a function, got str 'log'"):
        getattr(opt, register)("log")
    with pytest.raises(TypeError, match="register_optimizer_step_pre_hook: the hook must be a function"):
        optimizer_module.register_optimizer_step_pre_hook(None)


# --- state_dict and load_state_dict hooks --------------------------------------------------------
def _state_dict_hook_order(opt):
    log = []
    opt.register_state_dict_pre_hook(lambda o: log.append("pre 1"))
    opt.register_state_dict_pre_hook(lambda o: log.append("pre 0"), prepend=True)
    opt.register_state_dict_post_hook(lambda o, sd: log.append("post 1"))
    removed = opt.register_state_dict_post_hook(lambda o, sd: log.append("removed"), prepend=True)
    opt.register_state_dict_post_hook(lambda o, sd: log.append("post 0"), prepend=True)
    opt.register_load_state_dict_pre_hook(lambda o, sd: log.append("load pre 1"))
    opt.register_load_state_dict_pre_hook(lambda o, sd: log.append("load pre 0"), prepend=True)
    opt.register_load_state_dict_post_hook(lambda o: log.append("load post 1"))
    opt.register_load_state_dict_post_hook(lambda o: log.append("load post 0"), prepend=True)
    opt.load_state_dict(opt.state_dict())
    removed.remove()
    log.append("|")
    opt.state_dict()
    return log


@pytest.mark.parametrize("name", ["SGD", "AdamW", "LBFGS"])  # AdamW and LBFGS override load_state_dict
def test_state_dict_hooks_run_once_in_pytorchs_order_with_prepend(name, torch):
    (opt, _, closure), (ref, _, ref_closure) = _both(torch, name)
    opt.step(closure), ref.step(ref_closure)
    ours = _state_dict_hook_order(opt)
    assert ours == _state_dict_hook_order(ref)
    assert ours == ["pre 0", "pre 1", "post 0", "removed", "post 1", "load pre 0", "load pre 1", "load post 0",
                    "load post 1", "|", "pre 0", "pre 1", "post 0", "post 1"]


def test_state_dict_hooks_see_and_replace_the_dict_as_in_pytorchs(torch):
    saved = []
    for opt, _, closure in _both(torch, "SGD", lr=0.1, momentum=0.9):
        opt.step(closure)
        order = []
        opt.register_state_dict_pre_hook(lambda o: order.append(("pre", o.param_groups[0]["lr"])))

        def drop_state(o, state_dict):  # changes the dict in place, returns nothing
            state_dict["param_groups"][0]["lr"] = 0.25
            state_dict["state"].clear()

        opt.register_state_dict_post_hook(drop_state)
        opt.register_state_dict_post_hook(lambda o, sd: dict(sd, epoch=7))  # a new dict, returned
        state_dict = opt.state_dict()
        saved.append((order, sorted(state_dict), state_dict["state"], state_dict["param_groups"][0]["lr"],
                      state_dict["epoch"], opt.param_groups[0]["lr"]))
    assert saved[0] == saved[1] == ([("pre", 0.1)], ["epoch", "param_groups", "state"], {}, 0.25, 7, 0.1)


def test_load_state_dict_hooks_change_what_is_loaded_as_in_pytorch(torch):
    loaded = []
    for opt, p, closure in _both(torch, "SGD", lr=0.1, momentum=0.9):
        opt.step(closure)
        state_dict = opt.state_dict()
        state_dict["param_groups"][0]["lr"] = 0.3
        seen = []

        def renamed(o, sd):  # a new dict, as a hook that adapts an old checkpoint would make
            seen.append(sorted(sd))
            return {"state": sd["old_state"], "param_groups": sd["param_groups"]}

        def halve_lr(o, sd):  # changes the dict it is given, returns nothing
            sd["param_groups"] = [dict(sd["param_groups"][0], lr=sd["param_groups"][0]["lr"] / 2)]

        opt.register_load_state_dict_pre_hook(halve_lr)
        opt.register_load_state_dict_pre_hook(renamed, prepend=True)
        opt.register_load_state_dict_post_hook(lambda o: seen.append(o.param_groups[0]["lr"]))
        given = {"old_state": state_dict["state"], "param_groups": state_dict["param_groups"]}
        opt.load_state_dict(given)
        assert given["param_groups"][0]["lr"] == 0.3  # the caller's dict is left alone
        opt.step(closure)  # the loaded momentum buffer, at the halved rate
        loaded.append((seen, opt.param_groups[0]["lr"], _values(p)))
    (seen, lr, values), (ref_seen, ref_lr, ref_values) = loaded
    assert seen == ref_seen == [["old_state", "param_groups"], 0.15]
    assert lr == ref_lr == 0.15
    np.testing.assert_allclose(values, ref_values, rtol=1e-12)


def test_hooks_are_not_in_the_state_dict_and_do_not_travel_with_it(torch):
    (opt, _, closure), (ref, _, ref_closure) = _both(torch, "Adam")
    calls = []
    for o, c in ((opt, closure), (ref, ref_closure)):
        o.register_step_pre_hook(lambda *a: calls.append("step"))
        o.register_state_dict_post_hook(lambda *a: calls.append("state_dict"))
        o.register_load_state_dict_post_hook(lambda *a: calls.append("load"))
        o.step(c)
    state_dict, ref_state_dict = opt.state_dict(), ref.state_dict()
    assert sorted(state_dict) == sorted(ref_state_dict) == ["param_groups", "state"]
    assert sorted(state_dict["param_groups"][0]) == sorted(ref_state_dict["param_groups"][0])
    calls.clear()
    fresh, _, fresh_closure = _optimizer(ag, "Adam")
    fresh.load_state_dict(state_dict)
    fresh.step(fresh_closure)
    fresh.state_dict()
    assert calls == []


# --- hyperparameters a scheduler wrote -------------------------------------------------------------
def _cyclic_nesterov_sgd(lib, module):
    opt, p, closure = _optimizer(lib, "SGD", lr=0.1, momentum=0.9, nesterov=True)
    schedule = module.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=2, base_momentum=0.0, max_momentum=0.9)
    for _ in range(2):  # to the cycle's peak, where the momentum is base_momentum
        opt.step(closure)
        schedule.step()
    return opt, p, closure


def test_a_nesterov_sgd_checkpoint_saved_at_a_cyclic_peak_with_momentum_0_loads_as_in_pytorch(torch):
    # load_state_dict re-ran the constructor's "Nesterov momentum needs momentum > 0" on the
    # momentum CyclicLR wrote and refused the optimizer's own checkpoint; PyTorch loads it.
    opt, p, closure = _cyclic_nesterov_sgd(ag, lr_scheduler)
    ref, ref_p, ref_closure = _cyclic_nesterov_sgd(torch, torch.optim.lr_scheduler)
    assert opt.param_groups[0]["momentum"] == ref.param_groups[0]["momentum"] == 0.0
    resumed, resumed_p, resumed_closure = _optimizer(ag, "SGD", lr=0.1, momentum=0.9, nesterov=True)
    resumed_p.data[...] = p.data
    resumed.load_state_dict(opt.state_dict())
    torch_resumed, torch_p, torch_closure = _optimizer(torch, "SGD", lr=0.1, momentum=0.9, nesterov=True)
    with torch.no_grad():
        torch_p.copy_(ref_p)
    torch_resumed.load_state_dict(ref.state_dict())
    for o, c in ((resumed, resumed_closure), (torch_resumed, torch_closure), (opt, closure)):
        o.step(c)  # with momentum 0: plain SGD, as in PyTorch
    np.testing.assert_allclose(resumed_p.numpy(), torch_p.detach().numpy(), rtol=1e-12)
    np.testing.assert_array_equal(resumed_p.numpy(), p.numpy())


@pytest.mark.parametrize("name, key, value, message", [
    ("SGD", "momentum", -0.5, "invalid momentum"), ("Adam", "betas", (0.9, 1.5), "invalid beta at index 1"),
    ("RMSprop", "alpha", 2.0, "invalid alpha"), ("Rprop", "etas", (1.5, 0.5), "invalid etas"),
    ("LBFGS", "history_size", 0, "invalid history_size"),
])
def test_load_state_dict_checks_no_ranges_as_pytorch_but_the_constructor_does(name, key, value, message, torch):
    for lib in (ag, torch):
        opt, _, _ = _optimizer(lib, name)
        state_dict = opt.state_dict()
        state_dict["param_groups"][0][key] = value
        opt.load_state_dict(state_dict)
        assert opt.param_groups[0][key] == value
    with pytest.raises(ValueError, match=f"{name}: {message}"):
        _optimizer(ag, name, **{key: value})


@pytest.mark.parametrize("name, key, value, error, message", [
    ("SGD", "momentum", "0.9", TypeError, "SGD: momentum must be a number, got str '0.9'"),
    ("Adam", "betas", 0.9, TypeError, "Adam: betas must be a pair of numbers"),
    ("Rprop", "step_sizes", (1e-6,), ValueError, "Rprop: step_sizes must be a pair"),
    ("ASGD", "t0", None, TypeError, "ASGD: t0 must be a number, got NoneType"),
    ("LBFGS", "line_search_fn", "wolfe", ValueError, "LBFGS: invalid line_search_fn 'wolfe'"),
])
def test_load_state_dict_still_refuses_a_hyperparameter_of_the_wrong_type(name, key, value, error, message):
    opt, _, _ = _optimizer(ag, name)
    state_dict = opt.state_dict()
    before = opt.param_groups[0][key]
    state_dict["param_groups"][0][key] = value
    with pytest.raises(error, match=message):
        opt.load_state_dict(state_dict)
    assert opt.param_groups[0][key] == before


# --- step hooks around a subclass's own step ------------------------------------------------------

def test_step_hooks_still_run_once_around_an_overriding_step():
    calls = []

    class Logged(nn.optim.SGD):
        def step(self, closure=None):
            calls.append("step")
            return super().step(closure)

    weight = nn.Parameter(ag.ones(2))
    weight.grad = ag.ones(2)
    opt = Logged([weight], lr=0.5)
    opt.step()  # no hooks: the plain route
    handle = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append("pre"))
    global_handle = nn.optim.register_optimizer_step_post_hook(lambda o, args, kwargs: calls.append("post"))
    try:
        opt.step()
    finally:
        handle.remove()
        global_handle.remove()
    opt.step()
    assert calls == ["step", "pre", "step", "post", "step"]
    assert weight.tolist() == [-0.5, -0.5]
