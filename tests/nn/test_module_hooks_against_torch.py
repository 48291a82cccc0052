"""nn.Module's full backward (pre-)hooks and state-dict hooks against PyTorch: when the
hooks run, in what order, what they are given (float64 values) and what their return
values change."""
from collections import OrderedDict

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

from tests.torch_versions import torch_older_than


def value(t):
    if t is None:
        return None
    return t.detach().numpy() if hasattr(t, "detach") and not isinstance(t, ag.Tensor) else t.numpy()


def assert_same_log(ours, theirs):
    """Logs of (name, tuple of gradients) entries: the same names in the same order, and equal values."""
    assert [entry[0] for entry in ours] == [entry[0] for entry in theirs]
    for (name, *mine), (_, *ref) in zip(ours, theirs):
        for a, b in zip(mine, ref, strict=True):
            assert len(a) == len(b), name
            for x, y in zip(a, b):
                if y is None:
                    assert x is None, name
                else:
                    np.testing.assert_allclose(value(x), value(y), rtol=1e-12, atol=1e-12, err_msg=name)


def copy_weights(ours, theirs):
    ours.double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def log_hooks(module, name, log):
    """Two pre-hooks and two hooks, the second of each registered with prepend=True."""
    module.register_full_backward_pre_hook(lambda m, go: log.append((f"{name}:pre", go)))
    module.register_full_backward_pre_hook(lambda m, go: log.append((f"{name}:pre-first", go)), prepend=True)
    module.register_full_backward_hook(lambda m, gi, go: log.append((f"{name}:hook", gi, go)))
    module.register_full_backward_hook(lambda m, gi, go: log.append((f"{name}:hook-first", gi, go)), prepend=True)


def run_both(torch, make, x_shape, hooked=lambda m: [("m", m)], n_inputs=1, seed=0):
    """Build the model in both libraries (same float64 weights), hook the modules ``hooked``
    names, run forward and a weighted-sum backward; return the logs, input grads, parameter grads."""
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal(x_shape) for _ in range(n_inputs)]
    torch.manual_seed(seed)
    theirs = make(torch.nn).double()
    ours = make(nn)
    copy_weights(ours, theirs)
    results = []
    for lib, model, tensor in ((torch, theirs, lambda a: torch.tensor(a, requires_grad=True)),
                               (ag, ours, lambda a: ag.tensor(a, requires_grad=True))):
        log = []
        for name, m in hooked(model):
            log_hooks(m, name, log)
        inputs = [tensor(a) for a in xs]
        y = model(*inputs)
        weights = np.arange(y.numel() if lib is torch else y.size, dtype=np.float64).reshape(y.shape)
        (y * tensor(weights).detach()).sum().backward()
        results.append((log, [value(t.grad) for t in inputs],
                        {k: value(p.grad) for k, p in model.named_parameters()}))
    (log_o, gx_o, gp_o), (log_t, gx_t, gp_t) = results[1], results[0]
    assert len(log_t) == 4 * len(hooked(theirs))
    assert_same_log(log_o, log_t)
    for a, b in zip(gx_o, gx_t, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert gp_o.keys() == gp_t.keys()
    for k in gp_o:
        np.testing.assert_allclose(gp_o[k], gp_t[k], rtol=1e-12, err_msg=k)
    return log_o


def test_linear_hooks_run_in_order_with_pytorchs_gradients(torch):
    log = run_both(torch, lambda lib: lib.Linear(3, 2), (4, 3))
    assert [e[0] for e in log] == ["m:pre-first", "m:pre", "m:hook-first", "m:hook"]


def test_conv2d_hooks_get_pytorchs_gradients(torch):
    run_both(torch, lambda lib: lib.Conv2d(2, 3, 3, padding=1, stride=2), (2, 2, 5, 5))


def test_hooks_on_a_sequential_and_its_layers_run_as_backward_reaches_them(torch):
    log = run_both(torch, lambda lib: lib.Sequential(lib.Linear(3, 4), lib.Tanh(), lib.Linear(4, 2)), (5, 3),
                   hooked=lambda m: [("seq", m), ("0", m[0]), ("1", m[1]), ("2", m[2])])
    names = [e[0] for e in log if not e[0].endswith("-first")]
    assert names == ["seq:pre", "2:pre", "2:hook", "1:pre", "1:hook", "0:pre", "0:hook", "seq:hook"]


def two_input_module(lib):
    class Mix(lib.Module):
        def __init__(self):
            super().__init__()
            self.lin = lib.Linear(3, 3)

        def forward(self, a, b, scale, *, bias=None):
            return self.lin(a) * b * scale + bias
    return Mix()


def test_an_input_that_needs_no_grad_gets_zeros_and_a_non_tensor_none(torch):
    """As PyTorch's: grad_input has an entry per positional argument, zeros for a Tensor that
    does not require grad (its gradient is materialized), None for a number; kwargs have none."""
    rng = np.random.default_rng(1)
    a, b, bias = (rng.standard_normal((2, 3)) for _ in range(3))
    torch.manual_seed(0)
    theirs = two_input_module(torch.nn).double()
    ours = two_input_module(nn)
    copy_weights(ours, theirs)
    logs = []
    for lib, model, tensor in ((torch, theirs, torch.tensor), (ag, ours, ag.tensor)):
        log = []
        log_hooks(model, "m", log)
        ta = tensor(a, requires_grad=True)
        model(ta, tensor(b), 2.0, bias=tensor(bias, requires_grad=True)).sum().backward()
        logs.append(log)
    assert_same_log(logs[1], logs[0])
    _, grad_input, _ = logs[1][-1]
    assert grad_input[2] is None
    np.testing.assert_array_equal(value(grad_input[1]), np.zeros((2, 3)))


def tuple_module(lib):
    class Split(lib.Module):
        def forward(self, x):
            return x * 2, x.exp(), x * 3
    return Split()


def test_tuple_outputs_an_unused_output_has_grad_output_none(torch):
    x = np.random.default_rng(2).standard_normal((2, 3))
    logs = []
    for lib, tensor in ((torch, torch.tensor), (ag, ag.tensor)):
        log = []
        model = tuple_module(lib.nn if lib is torch else nn)
        log_hooks(model, "m", log)
        y0, y1, y2 = model(tensor(x, requires_grad=True))
        (y0.sum() + (y2 * y2).sum()).backward()
        logs.append(log)
    assert_same_log(logs[1], logs[0])
    assert logs[1][0][1][1] is None


def test_replaced_gradients_change_the_input_and_parameter_grads(torch):
    x = np.random.default_rng(3).standard_normal((4, 3))
    torch.manual_seed(0)
    theirs = torch.nn.Linear(3, 2).double()
    ours = nn.Linear(3, 2)
    copy_weights(ours, theirs)
    grads = []
    for model, tensor in ((theirs, torch.tensor), (ours, ag.tensor)):
        model.register_full_backward_pre_hook(lambda m, go: (go[0] * 2,))
        model.register_full_backward_hook(lambda m, gi, go: (gi[0] + 1,))
        inp = tensor(x, requires_grad=True)
        model(inp).sum().backward()
        grads.append((value(inp.grad), value(model.weight.grad), value(model.bias.grad)))
    for mine, ref in zip(grads[1], grads[0]):
        np.testing.assert_allclose(mine, ref, rtol=1e-12)
    np.testing.assert_allclose(grads[1][2], np.full(2, 8.0))  # 4 rows of 2 * ones


def count_calls(lib, tensor, remove_after_forward):
    model = lib.Linear(2, 2).double()
    counts = {"pre": 0, "hook": 0}
    pre = model.register_full_backward_pre_hook(lambda m, go: counts.__setitem__("pre", counts["pre"] + 1))
    hook = model.register_full_backward_hook(lambda m, gi, go: counts.__setitem__("hook", counts["hook"] + 1))
    x = tensor(np.ones((1, 2)), requires_grad=True)
    model(x).sum().backward()
    y = model(x)
    if remove_after_forward:
        pre.remove()  # the call took its hooks when it ran: they still run for it
    y.sum().backward()
    hook.remove()
    pre.remove()
    model(x).sum().backward()
    return counts


@pytest.mark.parametrize("remove_after_forward", [False, True])
def test_removed_hooks_stop_running(torch, remove_after_forward):
    ours = count_calls(nn, ag.tensor, remove_after_forward)
    assert ours == count_calls(torch.nn, torch.tensor, remove_after_forward)
    assert ours == {"pre": 2, "hook": 2}


def test_no_input_requiring_grad_runs_the_hook_at_the_outputs(torch):
    """As PyTorch: grad_input all None, with a warning; a hook may not return gradients there."""
    for lib, tensor in ((torch, torch.tensor), (ag, ag.tensor)):
        model = (torch.nn if lib is torch else nn).Linear(2, 2).double()
        seen = []
        model.register_full_backward_hook(lambda m, gi, go: seen.append((gi, value(go[0]))))
        with pytest.warns(UserWarning, match="Full backward hook is firing when gradients are computed with "
                                             "respect to module outputs since no inputs require gradients"):
            model(tensor(np.ones((1, 2)))).sum().backward()
        assert seen[0][0] == (None,)
        np.testing.assert_array_equal(seen[0][1], np.ones((1, 2)))
        model.register_full_backward_hook(lambda m, gi, go: (go[0],))
        with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="no input requires gradient should "
                                                                          "always return None"):
            model(tensor(np.ones((1, 2)))).sum().backward()


def test_a_dict_output_warns_and_its_hooks_do_not_run(torch):
    for lib, tensor in ((torch.nn, torch.tensor), (nn, ag.tensor)):
        class Named(lib.Module):
            def forward(self, x):
                return {"y": x * 2}
        model, seen = Named(), []
        model.register_full_backward_hook(lambda m, gi, go: seen.append(gi))
        with pytest.warns(UserWarning, match="module output should be a Tensor or a tuple of Tensors but "
                                             "received <class 'dict'>"):
            out = model(tensor(np.ones(2), requires_grad=True))
        out["y"].sum().backward()
        assert seen == []


@pytest.mark.parametrize("change", ["add_", "setitem", "inplace relu inside"])
def test_changing_a_passed_through_tensor_in_place_is_refused(torch, change):
    for lib, tensor in ((torch.nn, torch.tensor), (nn, ag.tensor)):
        model = lib.Sequential(lib.ReLU(inplace=True)) if change.startswith("inplace") else lib.Linear(2, 2)
        model.double().register_full_backward_hook(lambda m, gi, go: None)
        x = tensor(np.ones((1, 2)), requires_grad=True) * 1
        with pytest.raises(RuntimeError, match="is a view and is being modified inplace"):
            y = model(x)
            if change == "add_":
                y.add_(1)
            elif change == "setitem":
                y[0] = 1.0
        # Outside recording it is allowed, as in PyTorch.
        if not change.startswith("inplace"):
            y = model(x)
            with (torch.no_grad() if lib is torch.nn else ag.no_grad()):
                y.add_(1)


def test_wrong_number_of_replaced_gradients_is_refused(torch):
    for lib, tensor in ((torch.nn, torch.tensor), (nn, ag.tensor)):
        model = lib.Linear(2, 2).double()
        handle = model.register_full_backward_pre_hook(lambda m, go: (go[0], go[0]))
        x = tensor(np.ones((1, 2)), requires_grad=True)
        with pytest.raises(RuntimeError, match="Backward pre hook returned an invalid number of grad_output, "
                                               "got 2, but expected 1"):
            model(x).sum().backward()
        handle.remove()
        model.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0], gi[0]))
        with pytest.raises(RuntimeError, match="Backward hook returned an invalid number of grad_input, "
                                               "got 3, but expected 1"):
            model(x).sum().backward()


@pytest.mark.parametrize("register", ["register_full_backward_hook", "register_full_backward_pre_hook",
                                      "register_state_dict_pre_hook", "register_state_dict_post_hook",
                                      "register_load_state_dict_pre_hook", "register_load_state_dict_post_hook"])
def test_a_hook_that_cannot_be_called_is_refused(register):
    with pytest.raises(TypeError, match=f"{register}: the hook must be a function"):
        getattr(nn.Linear(2, 2), register)(3)


# --- state-dict hooks ---------------------------------------------------------------------

def nested(lib):
    return lib.Sequential(lib.Linear(2, 3), lib.Sequential(lib.BatchNorm1d(3), lib.Linear(3, 1)))


def hook_every_module(model, log):
    for name, m in model.named_modules():
        m.register_state_dict_pre_hook(lambda m, prefix, keep_vars, n=name: log.append(("pre", n, prefix, keep_vars)))
        m.register_state_dict_post_hook(lambda m, sd, prefix, meta, n=name: log.append(("post", n, prefix, len(sd))))


def test_state_dict_hooks_run_in_pytorchs_order_with_its_arguments(torch):
    logs, keys = [], []
    for lib in (torch.nn, nn):
        model, log = nested(lib), []
        hook_every_module(model, log)
        # A post-hook may add entries, at the point where it runs.
        model[1].register_state_dict_post_hook(lambda m, sd, prefix, meta: sd.__setitem__(prefix + "extra", 1))
        sd = model.state_dict(prefix="net.", keep_vars=True)
        logs.append(log)
        keys.append(list(sd))
    assert logs[1] == logs[0]
    assert keys[1] == keys[0]
    assert keys[1][-1] == "net.1.extra"


def test_a_state_dict_post_hook_must_return_none(torch):
    for lib in (torch.nn, nn):
        model = lib.Linear(2, 2)
        model.register_state_dict_post_hook(lambda m, sd, prefix, meta: {})
        with pytest.raises(RuntimeError, match="state_dict post-hook must return None"):
            model.state_dict()


def test_a_load_pre_hook_can_rename_keys_and_sees_pytorchs_arguments(torch):
    torch.manual_seed(0)
    source = nested(torch.nn).double()
    old = {k.replace("weight", "w"): v.detach().numpy() for k, v in source.state_dict().items()}
    results = []
    for lib, convert in ((torch.nn, torch.from_numpy), (nn, lambda a: a)):
        model, calls = nested(lib).double(), []

        def rename(m, sd, prefix, meta, strict, missing, unexpected, errors, calls=calls):
            calls.append((prefix, strict, type(meta) is dict))
            for key in [k for k in sd if k.startswith(prefix) and k[len(prefix):] == "w"]:
                sd[prefix + "weight"] = sd.pop(key)
        for m in model.modules():
            m.register_load_state_dict_pre_hook(rename)
        given = {k: convert(v) for k, v in old.items()}
        result = model.load_state_dict(given, strict=True)
        assert list(given) == list(old)  # the load's copy was renamed, not the caller's dict
        results.append((calls, tuple(result), {k: value(v) for k, v in model.state_dict().items()}))
    assert results[1][:2] == results[0][:2]
    assert results[1][0][0] == ("", True, True)
    for k, v in results[0][2].items():
        np.testing.assert_array_equal(results[1][2][k], v)


def test_what_a_load_pre_hook_reports_is_reported_and_its_errors_refuse_the_load(torch):
    for lib in (torch.nn, nn):
        model = lib.Linear(2, 2).double()
        state = {k: v * 0 for k, v in model.state_dict().items()}
        handle = model.register_load_state_dict_pre_hook(
            lambda m, sd, prefix, meta, strict, missing, unexpected, errors: (missing.append("gone"),
                                                                               unexpected.append("odd")))
        result = model.load_state_dict(state, strict=False)
        assert (result.missing_keys, result.unexpected_keys) == (["gone"], ["odd"])
        with pytest.raises(RuntimeError, match="gone"):
            model.load_state_dict(state)
        handle.remove()
        model.register_load_state_dict_pre_hook(
            lambda m, sd, prefix, meta, strict, missing, unexpected, errors: errors.append("refused by hook"))
        before = value(model.weight).copy()
        with pytest.raises(RuntimeError, match="refused by hook"):
            model.load_state_dict({k: v + 1 for k, v in model.state_dict().items()})
        if lib is nn:  # topograd checks everything first: nothing was changed
            np.testing.assert_array_equal(value(model.weight), before)


def test_load_post_hooks_run_children_first_and_may_change_the_keys_in_place(torch):
    results = []
    for lib in (torch.nn, nn):
        model, calls = nested(lib), []
        for name, m in model.named_modules():
            m.register_load_state_dict_post_hook(
                lambda m, keys, n=name: calls.append((n, list(keys.unexpected_keys))))
        model.register_load_state_dict_post_hook(lambda m, keys: keys.unexpected_keys.clear())
        state = OrderedDict(model.state_dict())
        state["spare"] = state["0.bias"] * 1
        result = model.load_state_dict(state, strict=False)
        results.append((calls, result.unexpected_keys))
    assert results[1] == results[0]
    assert results[1][0][0] == ("0", ["spare"]) and results[1][1] == []


def test_a_load_post_hook_must_return_none(torch):
    # (PyTorch before 2.13 ran two words of its message together: "are notexpected")
    theirs = "are notexpected to return" if torch_older_than("2.13") else "are not expected to return new values"
    for lib, error in ((torch.nn, AssertionError), (nn, RuntimeError)):
        model = lib.Linear(2, 2)
        model.register_load_state_dict_post_hook(lambda m, keys: keys)
        with pytest.raises(error, match=theirs if lib is torch.nn else "post-hook must return None"):
            model.load_state_dict(model.state_dict())


def test_changing_the_callers_tensor_after_a_hooked_call_fails_backward(torch):
    """The passed-through input shares the caller's memory and in-place counter: Linear saved
    it, so backward must refuse the changed values (PyTorch refuses them too)."""
    for lib, tensor in ((torch.nn, torch.tensor), (nn, ag.tensor)):
        model = lib.Linear(3, 3).double()
        model.register_full_backward_hook(lambda m, gi, go: None)
        x = tensor(np.ones((2, 3)), requires_grad=True) * 1
        y = model(x)
        x.add_(1)
        with pytest.raises(RuntimeError, match="modified"):
            y.sum().backward()


def test_hooks_run_once_under_double_backward(torch):
    counts = []
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Tanh()).double()
    ours = nn.Sequential(nn.Linear(3, 3), nn.Tanh())
    copy_weights(ours, theirs)
    for model, tensor, grad in ((theirs, torch.tensor, torch.autograd.grad), (ours, ag.tensor, ag.grad)):
        seen = []
        model.register_full_backward_hook(lambda m, gi, go: seen.append(value(gi[0])))
        x = tensor(np.ones((2, 3)), requires_grad=True)
        g, = grad(model(x).sum(), [x], create_graph=True)
        g.sum().backward()
        counts.append(seen)
    assert len(counts[1]) == len(counts[0]) == 1
    np.testing.assert_allclose(counts[1][0], counts[0][0], rtol=1e-12)


# --- a hook that cannot be called -----------------------------------------------------------------

@pytest.mark.parametrize("register", ["register_forward_hook", "register_forward_pre_hook"])
def test_module_hook_that_is_not_callable_is_refused_when_registered(device, register):
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=rf"{register}: the hook must be a function, got str"):
        getattr(layer, register)("print")
    x = ag.randn(1, 2)
    np.testing.assert_allclose(layer(x).numpy(), F.linear(x, layer.weight, layer.bias).numpy())


def renaming_linear(lib):
    """A Linear whose older checkpoints called its weight "w": PyTorch's way to read them is to
    override _load_from_state_dict, rename the key, and let the base class load."""
    class RenamingLinear(lib.Linear):
        seen = []

        def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                                  unexpected_keys, error_msgs):
            self.seen.append((prefix, local_metadata.get("assign_to_params_buffers", False)))
            if prefix + "w" in state_dict:
                state_dict[prefix + "weight"] = state_dict.pop(prefix + "w")
            if prefix + "refuse" in state_dict:
                error_msgs.append("refused by _load_from_state_dict")
            super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                          unexpected_keys, error_msgs)
    return RenamingLinear


@pytest.mark.parametrize("assign", [False, True])
def test_a_load_from_state_dict_override_reads_an_older_checkpoint_as_torch(torch, assign):
    old = {"1.w": np.array([[1.0, 2.0], [3.0, 4.0]]), "1.bias": np.array([5.0, 6.0]),
           "0.weight": np.eye(2), "0.bias": np.zeros(2)}
    results = []
    for lib, convert in ((torch.nn, torch.from_numpy), (nn, ag.tensor)):
        layer = renaming_linear(lib)
        model = lib.Sequential(lib.Linear(2, 2), layer(2, 2)).double()
        result = model.load_state_dict({k: convert(v) for k, v in old.items()}, assign=assign)
        results.append((tuple(result), layer.seen, value(model[1].weight)))
    assert results[1][:2] == results[0][:2] == (([], []), [("1.", assign)])
    np.testing.assert_array_equal(results[1][2], old["1.w"])
    np.testing.assert_array_equal(results[0][2], old["1.w"])


def test_an_error_from_a_load_from_state_dict_override_refuses_the_load_and_changes_nothing(torch):
    for lib, convert in ((torch.nn, torch.from_numpy), (nn, ag.tensor)):
        model = lib.Sequential(renaming_linear(lib)(2, 2)).double()
        before = value(model[0].weight).copy()
        state = {"0.weight": convert(np.ones((2, 2))), "0.bias": convert(np.ones(2)), "0.refuse": convert(np.ones(1))}
        with pytest.raises(RuntimeError, match="refused by _load_from_state_dict"):
            model.load_state_dict(state, strict=False)
        if lib is nn:  # PyTorch's copies as it goes; topograd's refusal comes first
            np.testing.assert_array_equal(value(model[0].weight), before)


def test_a_load_from_state_dict_override_without_super_loads_its_own_entries_as_torch(torch):
    """An override that copies its module's values itself and never calls super() (a layer that
    stores its weight transposed, say): PyTorch neither looks for nor reports that module's own
    keys; topograd refused the load for missing '0.weight' and '0.bias'."""
    loaded = {}
    for lib, convert in ((torch.nn, torch.from_numpy), (nn, ag.tensor)):
        no_grad = torch.no_grad if lib is torch.nn else ag.no_grad

        class TransposedLinear(lib.Linear):
            def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs):
                with no_grad():
                    self.weight.copy_(state_dict.pop(prefix + "weight_t").T)
                    self.bias.copy_(state_dict.pop(prefix + "bias"))

        model = lib.Sequential(TransposedLinear(3, 2), lib.Linear(2, 1)).double()
        state = {"0.weight_t": np.arange(6.0).reshape(3, 2), "0.bias": np.array([7.0, 8.0]),
                 "1.weight": np.array([[1.0, -1.0]]), "1.bias": np.array([0.5])}
        result = model.load_state_dict({k: convert(v) for k, v in state.items()})
        loaded[lib] = (tuple(result), value(model[0].weight), value(model[1].weight))
    assert loaded[nn][0] == loaded[torch.nn][0] == ([], [])
    for ours, theirs in zip(loaded[nn][1:], loaded[torch.nn][1:]):
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(loaded[nn][1], np.arange(6.0).reshape(3, 2).T)


def test_a_save_to_state_dict_override_writes_its_entries_as_torch(torch):
    keys = []
    for lib, convert in ((torch.nn, torch.from_numpy), (nn, ag.tensor)):
        class ScaledLinear(lib.Linear):
            """Saves a scale beside its tensors, and leaves its bias out."""
            def _save_to_state_dict(self, destination, prefix, keep_vars):
                super()._save_to_state_dict(destination, prefix, keep_vars)
                destination.pop(prefix + "bias")
                destination[prefix + "scale"] = convert(np.array([2.0]))

        model = lib.Sequential(lib.Linear(2, 2), lib.Sequential(ScaledLinear(2, 2)))
        state = model.state_dict(prefix="net.")
        keys.append(list(state))
        assert state["net.1.0.weight"] is not model[1][0].weight  # detached, as without the override
        assert model.state_dict(keep_vars=True)["1.0.weight"] is model[1][0].weight
    assert keys[1] == keys[0] == ["net.0.weight", "net.0.bias", "net.1.0.weight", "net.1.0.scale"]


def global_hooks_of(lib):
    """PyTorch's hooks on every module's calls live in torch.nn.modules.module; topograd's in nn.module."""
    import nn.module as ours
    return ours if lib is nn else lib.modules.module


def test_global_module_hooks_run_on_every_call_before_the_modules_own_as_torch(torch):
    logs = []
    for lib, convert in ((torch.nn, torch.from_numpy), (nn, ag.tensor)):
        hooks, log = global_hooks_of(lib), []
        model = lib.Sequential(lib.Linear(2, 3), lib.ReLU(), lib.Linear(3, 1)).double()
        name = {id(m): n or "root" for n, m in model.named_modules()}
        model[0].register_forward_pre_hook(lambda m, args: log.append(("own pre", name[id(m)])))
        model[0].register_forward_hook(lambda m, args, out: log.append(("own post", name[id(m)])))
        model[2].register_full_backward_hook(lambda m, gi, go: log.append(("own backward", name[id(m)])))
        handles = [
            hooks.register_module_forward_pre_hook(lambda m, args: log.append(("pre", name[id(m)], len(args)))),
            hooks.register_module_forward_hook(
                lambda m, args, kwargs, out: log.append(("post", name[id(m)], tuple(out.shape), sorted(kwargs))),
                with_kwargs=True),
            hooks.register_module_full_backward_pre_hook(
                lambda m, go: log.append(("backward pre", name[id(m)], value(go[0]).round(6).tolist()))),
            hooks.register_module_full_backward_hook(
                lambda m, gi, go: log.append(("backward", name[id(m)], value(gi[0]).round(6).tolist()))),
        ]
        try:
            x = convert(np.array([[1.0, -2.0], [0.5, 3.0]]))
            x.requires_grad_(True)
            model(x).sum().backward()
        finally:
            for handle in handles:
                handle.remove()
        model(x)  # removed: nothing more is logged
        logs.append(log)
    # the weights differ, so compare what does not depend on them
    strip = [[entry[:3] if entry[0] in ("pre", "post") else entry[:2] for entry in log] for log in logs]
    assert strip[1] == strip[0]
    assert [e for e in logs[1] if e[0] == "post"][-1][3] == []


def test_a_global_forward_hook_with_always_call_runs_when_forward_raises_as_torch(torch):
    for lib in (torch.nn, nn):
        log = []

        class Broken(lib.Module):
            def forward(self, x):
                raise ValueError("broken forward")

        handle = global_hooks_of(lib).register_module_forward_hook(
            lambda m, args, out: log.append((type(m).__name__, out)), always_call=True)
        try:
            with pytest.raises(ValueError, match="broken forward"):
                Broken()(1.0)
        finally:
            handle.remove()
        assert log == [("Broken", None)]
