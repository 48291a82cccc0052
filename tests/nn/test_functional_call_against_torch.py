"""nn.utils.stateless.functional_call against torch.func.functional_call: outputs and gradients
in float64 for given parameters and buffers (one dict or several), the module left as it was
(also when the call raises), tied weights, strict keys, BatchNorm's running statistics, hooks,
parametrized modules, and two real uses: per-sample gradients by a loop and a MAML-style inner
step with create_graph=True. Where topograd differs from PyTorch on purpose (see the module's
docstring), the test says so and checks against NumPy."""
import threading

import numpy as np
import pytest

import autograd as ag
import nn
from autograd.checkpoint import checkpoint
from nn.utils import parametrize
from nn.utils.stateless import functional_call

from .parametrization_modules import affine, symmetric


def mlp(lib, dtype):
    return lib.Sequential(lib.Linear(3, 4, dtype=dtype), lib.Tanh(), lib.Sequential(lib.Linear(4, 2, dtype=dtype)))


def conv_bn(lib, dtype):
    return lib.Sequential(lib.Conv2d(2, 3, 3, dtype=dtype), lib.BatchNorm2d(3, dtype=dtype), lib.ReLU())


def twins(torch, build, seed=0):
    """The same float64 module in both libraries, with PyTorch's initial values in ours."""
    torch.manual_seed(seed)
    theirs = build(torch.nn, torch.float64)
    ours = build(nn, ag.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def given_pair(torch, names_and_shapes, seed=1, requires_grad=True):
    """New values for the named tensors, the same in both libraries: (ours, theirs) dicts."""
    rng = np.random.default_rng(seed)
    ours, theirs = {}, {}
    for name, shape in names_and_shapes:
        a = rng.standard_normal(shape)
        ours[name] = ag.tensor(a, dtype=ag.float64, requires_grad=requires_grad)
        theirs[name] = torch.tensor(a, requires_grad=requires_grad)
    return ours, theirs


def shapes_of(torch_module):
    return [(k, tuple(v.shape)) for k, v in torch_module.named_parameters()]


def inputs(torch, *shape, seed=2):
    a = np.random.default_rng(seed).standard_normal(shape)
    return ag.tensor(a, dtype=ag.float64), torch.tensor(a)


def close(ours, theirs, rtol=1e-10):
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=rtol, atol=1e-12)


def own_state(module):
    """The module's tensors themselves, by name, to check they are its own again after a call."""
    return ({k: v for k, v in module.named_parameters(remove_duplicate=False)},
            {k: v for k, v in module.named_buffers(remove_duplicate=False)})


def assert_same_state(module, before):
    after = own_state(module)
    for b, a in zip(before, after):
        assert list(b) == list(a)
        assert all(b[k] is a[k] for k in b)


# --- the call itself --------------------------------------------------------------------------
def test_given_parameters_give_torchs_output_and_gradients_and_leave_the_module_alone(torch):
    ours, theirs = twins(torch, mlp)
    given_ours, given_theirs = given_pair(torch, shapes_of(theirs))
    del given_ours["2.0.bias"], given_theirs["2.0.bias"]  # a partial dict: the module's own bias is used
    x, xt = inputs(torch, 5, 3)
    earlier = ours[0].weight.grad = ag.ones((4, 3), dtype=ag.float64)  # stays as it was
    before = own_state(ours)
    out = functional_call(ours, given_ours, x)  # one argument, not in a tuple
    ref = torch.func.functional_call(theirs, given_theirs, xt)
    close(out, ref)
    out.sum().backward()
    ref.sum().backward()
    for name in given_ours:
        close(given_ours[name].grad, given_theirs[name].grad)
    close(ours[2][0].bias.grad, theirs[2][0].bias.grad)  # the module's own tensor, where none was given
    assert_same_state(ours, before)
    assert ours[0].weight.grad is earlier
    np.testing.assert_array_equal(earlier.numpy(), np.ones((4, 3)))
    assert ours[0].bias.grad is None and ours[2][0].weight.grad is None
    close(ours(x), theirs(xt))  # the module computes with its own tensors again


def test_args_tuple_and_kwargs_reach_forward(torch):
    torch.manual_seed(0)
    theirs = torch.nn.Bilinear(2, 3, 4).double()
    ours = nn.Bilinear(2, 3, 4, dtype=ag.float64)
    given_ours, given_theirs = given_pair(torch, shapes_of(theirs))
    x1, x1t = inputs(torch, 5, 2, seed=3)
    x2, x2t = inputs(torch, 5, 3, seed=4)
    close(functional_call(ours, given_ours, (x1,), {"input2": x2}),
          torch.func.functional_call(theirs, given_theirs, (x1t,), {"input2": x2t}))
    close(functional_call(ours, given_ours, (x1, x2)), torch.func.functional_call(theirs, given_theirs, (x1t, x2t)))


def test_a_list_of_dicts_is_merged_and_a_key_in_two_of_them_is_refused(torch):
    ours, theirs = twins(torch, mlp)
    given_ours, given_theirs = given_pair(torch, shapes_of(theirs))
    first = dict(list(given_ours.items())[:2])
    second = dict(list(given_ours.items())[2:])
    x, xt = inputs(torch, 5, 3)
    close(functional_call(ours, [first, second], x), torch.func.functional_call(theirs, given_theirs, xt))
    with pytest.raises(ValueError, match=r"\['0.bias'\] appeared in multiple dictionaries"):
        functional_call(ours, ({"0.bias": first["0.bias"]}, {"0.bias": first["0.bias"]}), x)
    with pytest.raises(ValueError, match="Expected all elements of parameter_and_buffer_dicts to be dictionaries"):
        functional_call(ours, [first, 3], x)
    with pytest.raises(ValueError, match="Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of"):
        functional_call(ours, given_ours.items(), x)


def test_the_module_gets_its_tensors_back_when_the_call_raises():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    before = own_state(model)
    given = {"0.weight": ag.zeros((4, 3)), "2.bias": ag.zeros(2), "new_attribute": ag.zeros(1)}
    with pytest.raises(ValueError, match="Linear"):
        functional_call(model, given, ag.ones((5, 7)))  # the input has 7 features, not 3
    assert_same_state(model, before)
    assert not hasattr(model, "new_attribute")


def test_a_bad_key_or_value_is_refused_before_anything_changes():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    before = own_state(model)
    good = ag.zeros((4, 3))
    cases = [({"0.weight": good, "5.weight": good}, AttributeError, "Sequential has no submodule '5'"),
             ({"0.weight": good, "1": good}, TypeError, "'1' is a submodule .*such as '1.weight'"),
             ({"0.weight": good, "1.weight.x": good}, AttributeError, "Linear has no submodule 'weight'"),
             ({"0.weight": good, "1.forward": good}, TypeError, "'1.forward' is a method attribute"),
             ({"0.weight": good, "0.": good}, KeyError, "names no tensor"),
             ({"0.weight": good, "1.bias": np.zeros(2)}, TypeError, "'1.bias' must be a Tensor or None, not ndarray")]
    for given, error, message in cases:
        with pytest.raises(error, match=message):
            functional_call(model, given, ag.ones((1, 3)))
        assert_same_state(model, before)
    with pytest.raises(TypeError, match="expected an nn.Module to call, got function"):
        functional_call(lambda x: x, {}, ag.ones(1))


def test_none_for_a_bias_calls_without_it_as_torch(torch):
    ours, theirs = twins(torch, mlp)
    x, xt = inputs(torch, 5, 3)
    close(functional_call(ours, {"0.bias": None}, x), torch.func.functional_call(theirs, {"0.bias": None}, xt))
    assert ours[0].bias is not None


def test_a_plain_tensor_attribute_is_replaced_for_the_call(torch):
    def build(lib):
        class Scaled(lib.Module):
            def __init__(self, scale):
                super().__init__()
                self.scale = scale  # neither a parameter nor a buffer

            def forward(self, x):
                return x * self.scale
        return Scaled
    ours, theirs = build(nn)(ag.tensor(2.0, dtype=ag.float64)), build(torch.nn)(torch.tensor(2.0, dtype=torch.float64))
    x, xt = inputs(torch, 3)
    close(functional_call(ours, {"scale": ag.tensor(5.0, dtype=ag.float64)}, x),
          torch.func.functional_call(theirs, {"scale": torch.tensor(5.0, dtype=torch.float64)}, xt))
    assert ours.scale.item() == 2.0


# --- tied weights and strict --------------------------------------------------------------------
def tied(lib, dtype):
    class Tied(lib.Module):
        """One weight under three names (a.weight, b.weight, c.weight)."""
        def __init__(self):
            super().__init__()
            self.a, self.b, self.c = (lib.Linear(2, 2, dtype=dtype) for _ in range(3))
            self.b.weight = self.a.weight
            self.c.weight = self.a.weight

        def forward(self, x):
            return self.a(x) + 2 * self.b(x) + 3 * self.c(x)
    return Tied()


def test_a_tied_weight_given_under_one_name_replaces_it_under_all_as_torch(torch):
    ours, theirs = twins(torch, tied)
    x, xt = inputs(torch, 4, 2)
    for name in ("a.weight", "c.weight"):
        given_ours, given_theirs = given_pair(torch, [(name, (2, 2))])
        for tie in (True, False):
            out = functional_call(ours, given_ours, x, tie_weights=tie)
            ref = torch.func.functional_call(theirs, given_theirs, xt, tie_weights=tie)
            close(out, ref)
            out.sum().backward()
            ref.sum().backward()
            close(given_ours[name].grad, given_theirs[name].grad)
            given_ours[name].grad = given_theirs[name].grad = None
    close(ours.a.weight.grad, theirs.a.weight.grad)  # the untied names' share, with tie_weights=False


def test_tied_names_given_different_tensors_are_refused_unless_untied(torch):
    ours, theirs = twins(torch, tied)
    given_ours, given_theirs = given_pair(torch, [("a.weight", (2, 2)), ("b.weight", (2, 2))])
    x, xt = inputs(torch, 4, 2)
    with pytest.raises(ValueError, match=r"multiple values for keys \['a.weight', 'b.weight'\], which are tied. "
                                         "Consider using tie_weights=False"):
        functional_call(ours, given_ours, x)
    close(functional_call(ours, given_ours, x, tie_weights=False),
          torch.func.functional_call(theirs, given_theirs, xt, tie_weights=False))


def test_a_tied_weight_given_the_same_tensor_under_two_of_its_three_names(torch):
    # PyTorch raises KeyError('c.weight') here (it looks up every tied name in the given dict);
    # the one tensor is meant for all three names, as when given under all three.
    ours, theirs = twins(torch, tied)
    w, wt = given_pair(torch, [("w", (2, 2))])
    x, xt = inputs(torch, 4, 2)
    close(functional_call(ours, {"a.weight": w["w"], "b.weight": w["w"]}, x),
          torch.func.functional_call(theirs, {n: wt["w"] for n in ("a.weight", "b.weight", "c.weight")}, xt))


def test_strict_reports_missing_and_unexpected_keys_with_torchs_message(torch):
    ours, theirs = twins(torch, tied)
    x, xt = inputs(torch, 4, 2)
    for given in ({"a.weight": 1}, {"a.weight": 1, "a.bias": 1, "b.bias": 1, "c.bias": 1, "d": 1}, {"d": 1}):
        given_ours = {k: ag.zeros(2, dtype=ag.float64) for k in given}
        with pytest.raises(RuntimeError) as ref:
            torch.func.functional_call(theirs, {k: torch.zeros(2, dtype=torch.float64) for k in given}, xt,
                                       strict=True)
        with pytest.raises(RuntimeError) as got:
            functional_call(ours, given_ours, x, strict=True)
        assert str(got.value) == str(ref.value)
    one_weight_and_the_biases = {name: ag.zeros(2, dtype=ag.float64) for name in ("a.bias", "b.bias", "c.bias")}
    one_weight_and_the_biases["a.weight"] = ag.zeros((2, 2), dtype=ag.float64)
    functional_call(ours, one_weight_and_the_biases, x, strict=True)  # tied names count as given...
    with pytest.raises(RuntimeError, match=r"Missing key\(s\): 'b.weight', 'c.weight'\.$"):
        functional_call(ours, one_weight_and_the_biases, x, strict=True, tie_weights=False)  # ...only when tied
    full = dict(ours.named_parameters(remove_duplicate=False))
    close(functional_call(ours, full, x, strict=True), theirs(xt))


def test_a_submodule_reached_twice_gets_its_own_weight_back():
    # PyTorch puts the tensors back in the order it replaced them, so "1.weight" (which saved
    # "0.weight"'s replacement) is put back last and the module keeps the given tensor.
    layer = nn.Linear(2, 2, dtype=ag.float64)
    model = nn.Sequential(layer, layer)
    own = layer.weight
    w = ag.tensor(np.arange(4.0).reshape(2, 2), dtype=ag.float64)
    x = np.array([[1.0, -2.0]])
    out = functional_call(model, {"0.weight": w}, ag.tensor(x, dtype=ag.float64))
    b = layer.bias.numpy()
    np.testing.assert_allclose(out.numpy(), ((x @ w.numpy().T + b) @ w.numpy().T) + b)
    assert layer.weight is own


# --- buffers, hooks ----------------------------------------------------------------------------
def test_given_batchnorm_buffers_take_the_running_statistics_as_torch(torch):
    ours, theirs = twins(torch, conv_bn)
    given_ours, given_theirs = given_pair(torch, shapes_of(theirs))
    buffers_ours = {k: v.detach().clone() for k, v in ours.named_buffers()}
    buffers_theirs = {k: v.detach().clone() for k, v in theirs.named_buffers()}
    own_buffers = {k: v.numpy().copy() for k, v in ours.named_buffers()}
    x, xt = inputs(torch, 2, 2, 5, 5)
    for _ in range(2):
        out = functional_call(ours, (given_ours, buffers_ours), x)
        ref = torch.func.functional_call(theirs, (given_theirs, buffers_theirs), xt)
        close(out, ref)
    out.sum().backward()
    ref.sum().backward()
    for name in given_ours:
        close(given_ours[name].grad, given_theirs[name].grad)
    for name in buffers_ours:
        close(buffers_ours[name], buffers_theirs[name])
    assert buffers_ours["1.num_batches_tracked"].item() == 2
    for name, b in ours.named_buffers():
        np.testing.assert_array_equal(b.numpy(), own_buffers[name])
    ours.eval()
    theirs.eval()
    close(functional_call(ours, buffers_ours, x), torch.func.functional_call(theirs, buffers_theirs, xt))


def test_a_buffer_assigned_in_forward_is_written_back_into_the_given_dict(torch):
    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("count", ag.zeros(()))

        def forward(self, x):
            self.count = self.count + 1
            return x + self.count

    class TorchCounter(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("count", torch.zeros(()))

        def forward(self, x):
            self.count = self.count + 1
            return x + self.count

    ours, theirs = Counter(), TorchCounter()
    given_ours, given_theirs = {"count": ag.tensor(5.0)}, {"count": torch.tensor(5.0)}
    close(functional_call(ours, given_ours, ag.zeros(1)), torch.func.functional_call(theirs, given_theirs,
                                                                                       torch.zeros(1)))
    close(given_ours["count"], given_theirs["count"])  # 6, as PyTorch's
    assert ours.count.item() == 0
    # into the dict it came from when several are given (PyTorch's writes into its merged copy)
    several = [{}, {"count": ag.tensor(5.0)}]
    functional_call(ours, several, ag.zeros(1))
    assert several[1]["count"].item() == 6.0


def test_hooks_see_the_given_tensors_as_torch(torch):
    ours, theirs = twins(torch, mlp)
    given_ours, given_theirs = given_pair(torch, shapes_of(theirs))
    x, xt = inputs(torch, 5, 3)
    x.requires_grad_()
    xt.requires_grad_()
    seen = []
    for model, record in ((ours, seen.append), (theirs, lambda w: None)):
        model[0].register_forward_pre_hook(lambda m, args: (args[0] * m.weight.sum(),))
        model[2][0].register_forward_hook(lambda m, args, out: out + m.bias)
        model[0].register_forward_hook(lambda m, args, out, record=record: record(m.weight))
        model.register_full_backward_hook(lambda m, gin, gout, record=record: record(gout[0]))
    out = functional_call(ours, given_ours, x)
    ref = torch.func.functional_call(theirs, given_theirs, xt)
    close(out, ref)
    out.sum().backward()
    ref.sum().backward()
    for name in given_ours:
        close(given_ours[name].grad, given_theirs[name].grad)
    close(x.grad, xt.grad)
    assert seen[0] is given_ours["0.weight"]
    np.testing.assert_array_equal(seen[1].numpy(), np.ones((5, 2)))


# --- parametrized modules -------------------------------------------------------------------------
def test_a_given_original_goes_through_the_parametrization_as_torch(torch):
    ours, theirs = twins(torch, mlp)
    parametrize.register_parametrization(ours[0], "weight", affine(nn))
    torch.nn.utils.parametrize.register_parametrization(theirs[0], "weight", affine(torch.nn))
    key = "0.parametrizations.weight.original"
    given_ours, given_theirs = given_pair(torch, [(key, (4, 3))])
    x, xt = inputs(torch, 5, 3)
    with pytest.raises(RuntimeError, match=r"Missing key\(s\): '0.bias', '2.0.bias', '2.0.weight'"):
        functional_call(ours, given_ours, x, strict=True)
    with parametrize.cached():
        stale = ours[0].weight  # cached from the module's own original
        out = functional_call(ours, given_ours, x)
        assert ours[0].weight is not stale  # computed again from the original that is back
        np.testing.assert_array_equal(ours[0].weight.numpy(), stale.numpy())
    ref = torch.func.functional_call(theirs, given_theirs, xt)
    close(out, ref)
    out.sum().backward()
    ref.sum().backward()
    close(given_ours[key].grad, given_theirs[key].grad)
    assert ours[0].parametrizations.weight.original.grad is None


def test_a_tensor_given_under_the_parametrized_name_is_used_as_it_is():
    # PyTorch documents this ("completely disable the parametrization") but sends the tensor
    # through right_inverse into the original under no_grad: the tensor gets no gradient,
    # the original gets one, and keeps the value where right_inverse is not exact.
    layer = nn.Linear(3, 3, dtype=ag.float64)
    parametrize.register_parametrization(layer, "weight", symmetric(nn))
    original = layer.parametrizations.weight.original
    kept = original.numpy().copy()
    w = ag.tensor(np.arange(9.0).reshape(3, 3), dtype=ag.float64, requires_grad=True)
    x = np.array([[1.0, 2.0, -1.0]])
    with parametrize.cached():
        out = functional_call(layer, {"weight": w}, ag.tensor(x, dtype=ag.float64))
    np.testing.assert_allclose(out.numpy(), x @ w.numpy().T + layer.bias.numpy())
    out.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.tile(x, (3, 1)))
    assert original.grad is None
    np.testing.assert_array_equal(original.numpy(), kept)
    assert "_functional_call_tensors" not in vars(layer)
    np.testing.assert_allclose(layer.weight.numpy(), np.triu(kept) + np.triu(kept, 1).T)


# --- what it is for ----------------------------------------------------------------------------
def test_per_sample_gradients_by_a_loop_match_torch_vmap(torch):
    ours, theirs = twins(torch, mlp)
    x, xt = inputs(torch, 6, 3)
    y, yt = inputs(torch, 6, 2, seed=5)
    params = {k: v.detach() for k, v in ours.named_parameters()}
    per_sample = {k: [] for k in params}
    for i in range(6):
        leaves = {k: v.detach().requires_grad_() for k, v in params.items()}
        loss = nn.functional.mse_loss(functional_call(ours, leaves, x[i:i + 1]), y[i:i + 1])
        for k, g in zip(leaves, ag.grad(loss, list(leaves.values()))):
            per_sample[k].append(g)

    def loss_of(p, xi, yi):
        return torch.nn.functional.mse_loss(torch.func.functional_call(theirs, p, xi[None]), yi[None])
    theirs_params = {k: v.detach() for k, v in theirs.named_parameters()}
    ref = torch.func.vmap(torch.func.grad(loss_of), in_dims=(None, 0, 0))(theirs_params, xt, yt)
    for k in params:
        close(ag.stack(per_sample[k]), ref[k])
    assert all(p.grad is None for p in ours.parameters())


def test_a_maml_inner_step_with_create_graph_trains_the_initial_weights_as_torch(torch):
    ours, theirs = twins(torch, mlp)
    (xs, xst), (ys, yst) = inputs(torch, 4, 3, seed=6), inputs(torch, 4, 2, seed=7)
    (xq, xqt), (yq, yqt) = inputs(torch, 5, 3, seed=8), inputs(torch, 5, 2, seed=9)
    lr = 0.3
    for lib_call, model, mse, grad, data in (
            (functional_call, ours, nn.functional.mse_loss, ag.grad, (xs, ys, xq, yq)),
            (torch.func.functional_call, theirs, torch.nn.functional.mse_loss, torch.autograd.grad,
             (xst, yst, xqt, yqt))):
        support_x, support_y, query_x, query_y = data
        params = dict(model.named_parameters())
        for _ in range(2):  # two inner steps, each differentiable
            inner = mse(lib_call(model, params, support_x), support_y)
            grads = grad(inner, list(params.values()), create_graph=True)
            params = {k: p - lr * g for (k, p), g in zip(params.items(), grads)}
        mse(lib_call(model, params, query_x), query_y).backward()
    for (name, p), pt in zip(ours.named_parameters(), theirs.parameters()):
        close(p.grad, pt.grad, rtol=1e-9)


def test_calls_of_different_modules_in_threads_are_independent():
    models = [nn.Linear(2, 2, dtype=ag.float64) for _ in range(2)]
    x = np.array([[1.0, -1.0]])
    errors = []

    def work(model, scale):
        try:
            w = ag.tensor(np.eye(2) * scale, dtype=ag.float64)
            for _ in range(200):
                out = functional_call(model, {"weight": w, "bias": ag.zeros(2, dtype=ag.float64)},
                                      ag.tensor(x, dtype=ag.float64))
                np.testing.assert_array_equal(out.numpy(), x * scale)
        except Exception as exc:  # reported in the main thread
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(m, s)) for m, s in zip(models, (2.0, 3.0))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


# --- a review's findings -------------------------------------------------------------------------

def test_an_uninitialized_lazy_module_is_refused_and_the_given_tensors_left_alone():
    """Its first call initialized the given tensors in place (random outputs, the caller's weight
    overwritten) and left a Linear holding uninitialized parameters."""
    m = nn.LazyLinear(3)
    w, b = ag.ones(3, 4), ag.zeros(3)
    with pytest.raises(ValueError, match=r"^functional_call: LazyLinear has uninitialized tensors \['weight', 'bias'\]"):
        functional_call(m, {"weight": w, "bias": b}, ag.ones(2, 4))
    np.testing.assert_array_equal(w.numpy(), np.ones((3, 4)))
    assert m(ag.ones(2, 4)).shape == (2, 3)  # still Lazy, and initializes on its own first call


def test_a_size_error_names_the_width_of_the_weight_in_use():
    with pytest.raises(ValueError, match=r"expected an input whose last axis has 7 features, got shape \(5, 4\)"):
        functional_call(nn.Linear(3, 2), {"weight": ag.randn(2, 7)}, ag.randn(5, 4))
    with pytest.raises(ValueError, match=r"the input has 5 channels but the weight \(8, 4, 3, 3\) expects 4 "):
        functional_call(nn.Conv2d(3, 8, 3), {"weight": ag.randn(8, 4, 3, 3)}, ag.randn(1, 5, 5, 5))


# --- functional_call through a checkpointed block (its recomputation in backward), and MAML through it

class _TwoLayers(nn.Module):
    """Linear -> tanh -> Linear, the first block checkpointed when ``checkpointed``."""

    def __init__(self, checkpointed):
        super().__init__()
        self.a, self.b, self.checkpointed = nn.Linear(3, 4), nn.Linear(4, 1), checkpointed

    def forward(self, x):
        block = lambda z: self.a(z).tanh()
        h = checkpoint(block, x, use_reentrant=False) if self.checkpointed else block(x)
        return self.b(h)


def _model(checkpointed, seed=0):
    model = _TwoLayers(checkpointed).to(dtype=ag.float64)
    rng = np.random.default_rng(seed)
    for p in model.parameters():
        p.data = ag.tensor(rng.standard_normal(p.shape), device=p.device).data  # (the default device's)
    return model


def _data(seed=1):
    rng = np.random.default_rng(seed)
    return ag.tensor(rng.standard_normal((6, 3))), ag.tensor(rng.standard_normal((6, 1)))


def test_functional_call_recomputes_a_checkpoint_with_the_given_tensors():
    # The recomputation runs in backward, after functional_call has put the module's own
    # tensors back: it read those (CheckpointError; PyTorch silently uses their values)
    x, _ = _data()
    grads, outs = [], []
    for checkpointed in (True, False):
        model = _model(checkpointed)
        own = {k: p.numpy().copy() for k, p in model.named_parameters()}
        given = {k: ag.tensor(p.numpy() * 1.5, requires_grad=True) for k, p in model.named_parameters()}
        out = functional_call(model, given, (x,))
        (out ** 2).sum().backward()
        outs.append(out.numpy())
        grads.append({k: t.grad.numpy() for k, t in given.items()})
        for k, p in model.named_parameters():  # the module is left as it was
            assert p.grad is None
            np.testing.assert_array_equal(p.numpy(), own[k])
    np.testing.assert_array_equal(outs[0], outs[1])
    for k in grads[1]:
        np.testing.assert_allclose(grads[0][k], grads[1][k], rtol=1e-12, atol=1e-12)


def test_functional_call_checkpoint_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    x, _ = _data()
    model = _model(True)
    given = {k: ag.tensor(p.numpy() * 1.5, requires_grad=True) for k, p in model.named_parameters()}
    (functional_call(model, given, (x,)) ** 2).sum().backward()
    ref = {k: torch.tensor(t.numpy(), requires_grad=True) for k, t in given.items()}
    h = torch.tanh(torch.tensor(x.numpy()) @ ref["a.weight"].T + ref["a.bias"])
    ((h @ ref["b.weight"].T + ref["b.bias"]) ** 2).sum().backward()
    for k, t in given.items():
        np.testing.assert_allclose(t.grad.numpy(), ref[k].grad.numpy(), rtol=1e-10, atol=1e-12)


def test_maml_through_a_checkpointed_block_matches_the_plain_run():
    x, y = _data()
    grads = []
    for checkpointed in (True, False):
        model = _model(checkpointed)
        params = dict(model.named_parameters())
        inner = ((functional_call(model, params, (x,)) - y) ** 2).mean()
        steps = ag.grad(inner, list(params.values()), create_graph=True)
        fast = {k: p - 0.1 * g for (k, p), g in zip(params.items(), steps)}
        outer = ((functional_call(model, fast, (x,)) - y) ** 2).mean()
        outer.backward()
        grads.append([p.grad.numpy() for p in model.parameters()])
    for with_checkpoint, plain in zip(*grads):
        np.testing.assert_allclose(with_checkpoint, plain, rtol=1e-12, atol=1e-14)
