"""nn.utils.prune against PyTorch's torch.nn.utils.prune: the deterministic methods' masks
exactly (on weights copied in by state_dict, with distinct magnitudes so no tie decides),
iterative and global pruning, remove(), state_dict round trips, training steps through a
pruned Linear and Conv2d, and the errors; the random methods by their counts and structure."""
import copy
import math

import numpy as np
import pytest

import autograd as ag
import nn
from nn.utils import prune

from .torch_compare import distinct_values, named_rng, run_both


@pytest.fixture
def tprune(torch):
    import torch.nn.utils.prune as tprune  # not imported by torch.nn.utils itself
    return tprune


def state_of(torch_module):
    return {k: v.detach().numpy() for k, v in torch_module.state_dict().items()}


def make_pair(torch, kind, seed=0):
    """A float64 Linear or Conv2d and PyTorch's, with PyTorch's weights (distinct in magnitude)."""
    torch.manual_seed(seed)
    if kind == "linear":
        ours, theirs = nn.Linear(6, 5, dtype=ag.float64), torch.nn.Linear(6, 5).double()
    else:
        ours, theirs = nn.Conv2d(3, 4, 3, dtype=ag.float64), torch.nn.Conv2d(3, 4, 3).double()
    rng = named_rng(f"{kind}{seed}")
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.from_numpy(distinct_values(rng, *p.shape)))
    ours.load_state_dict(state_of(theirs))
    return ours, theirs


def input_for(kind, seed=1):
    shape = (4, 6) if kind == "linear" else (2, 3, 6, 6)
    return np.random.default_rng(seed).standard_normal(shape)


def assert_same_state(ours, theirs):
    """The same state_dict keys in the same order, and the same values (masks exactly)."""
    expected = state_of(theirs)
    got = ours.state_dict()
    assert list(got) == list(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(got[key].numpy(), value, err_msg=key)


def both(tprune, ours, theirs, fn, *args, **kwargs):
    getattr(prune, fn)(ours, *args, **kwargs)
    getattr(tprune, fn)(theirs, *args, **kwargs)


# --- each deterministic method's mask ------------------------------------------------------------
@pytest.mark.parametrize("kind", ["linear", "conv"])
@pytest.mark.parametrize("amount", [0, 1, 7, 0.0, 0.3, 0.5, 1.0])
def test_l1_unstructured_prunes_the_entries_torch_prunes(torch, tprune, kind, amount):
    ours, theirs = make_pair(torch, kind)
    both(tprune, ours, theirs, "l1_unstructured", "weight", amount=amount)
    assert_same_state(ours, theirs)
    np.testing.assert_array_equal(ours.weight.numpy(), theirs.weight.detach().numpy())
    run_both(torch, ours, theirs, input_for(kind))  # weight_orig's gradient is the masked one


@pytest.mark.parametrize("kind", ["linear", "conv"])
@pytest.mark.parametrize("n", [1, 2, 3, math.inf, -math.inf, "fro"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("amount", [1, 0.5])
def test_ln_structured_prunes_the_channels_torch_prunes(torch, tprune, kind, n, dim, amount):
    ours, theirs = make_pair(torch, kind)
    if n == "fro" and kind == "conv":
        n = 2  # PyTorch's torch.norm takes "fro" over two axes only
    both(tprune, ours, theirs, "ln_structured", "weight", amount=amount, n=n, dim=dim)
    assert_same_state(ours, theirs)
    run_both(torch, ours, theirs, input_for(kind))


def test_importance_scores_choose_instead_of_the_weight(torch, tprune):
    ours, theirs = make_pair(torch, "conv")
    scores = distinct_values(named_rng("scores"), 4, 3, 3, 3)
    prune.l1_unstructured(ours, "weight", 20, importance_scores=ag.tensor(scores))
    tprune.l1_unstructured(theirs, "weight", 20, importance_scores=torch.from_numpy(scores))
    prune.ln_structured(ours, "weight", 1, n=1, dim=1, importance_scores=ag.tensor(scores))
    tprune.ln_structured(theirs, "weight", 1, n=1, dim=1, importance_scores=torch.from_numpy(scores))
    assert_same_state(ours, theirs)


def test_identity_and_custom_from_mask_as_torch(torch, tprune):
    ours, theirs = make_pair(torch, "linear")
    mask = (np.random.default_rng(3).random((5, 6)) > 0.4).astype(np.float64)
    both(tprune, ours, theirs, "identity", "bias")
    prune.custom_from_mask(ours, "weight", ag.tensor(mask))
    tprune.custom_from_mask(theirs, "weight", torch.from_numpy(mask))
    assert_same_state(ours, theirs)  # bias_orig, weight_orig, bias_mask (ones), weight_mask
    run_both(torch, ours, theirs, input_for("linear"))


def test_ties_go_to_the_lower_index():
    """topograd's own rule (PyTorch's depends on its sorting kernel)."""
    layer = nn.Linear(3, 4)
    with ag.no_grad():
        layer.weight.fill_(0.5)
    prune.l1_unstructured(layer, "weight", 5)  # the first 5 of 12 equal entries
    np.testing.assert_array_equal(layer.weight_mask.numpy().reshape(-1), [0] * 5 + [1] * 7)
    conv = nn.Conv2d(2, 4, 1)
    with ag.no_grad():
        conv.weight.fill_(1.0)
    prune.ln_structured(conv, "weight", 3, n=2, dim=0)  # keeps the first of 4 equal channels
    np.testing.assert_array_equal(conv.weight_mask.numpy()[:, 0, 0, 0], [1, 0, 0, 0])


def test_the_parameter_object_is_kept_and_the_mask_has_its_dtype():
    layer = nn.Linear(3, 4)
    weight = layer.weight
    prune.l1_unstructured(layer, "weight", 0.5)
    assert layer.weight_orig is weight  # an optimizer built before still trains it
    assert "weight" not in layer._parameters and layer.weight_mask.dtype == ag.float32
    assert [n for n, _ in layer.named_parameters()] == ["bias", "weight_orig"]
    np.testing.assert_array_equal(layer.weight.numpy(), weight.numpy() * layer.weight_mask.numpy())


# --- iterative pruning --------------------------------------------------------------------------------
ROUNDS = [  # (function, kwargs): each sequence pruned one after another on the conv weight
    [("l1_unstructured", dict(amount=0.3)), ("l1_unstructured", dict(amount=10)),
     ("l1_unstructured", dict(amount=0.5))],
    [("l1_unstructured", dict(amount=40)), ("ln_structured", dict(amount=1, n=2, dim=0)),
     ("ln_structured", dict(amount=0.5, n=1, dim=0))],
    [("ln_structured", dict(amount=1, n=1, dim=1)), ("l1_unstructured", dict(amount=0.25)),
     ("ln_structured", dict(amount=2, n=math.inf, dim=0)), ("identity", {})],
]


@pytest.mark.parametrize("rounds", ROUNDS)
def test_iterative_pruning_composes_masks_as_torch(torch, tprune, rounds):
    ours, theirs = make_pair(torch, "conv")
    for fn, kwargs in rounds:
        both(tprune, ours, theirs, fn, "weight", **kwargs)
        assert_same_state(ours, theirs)
    (hook,) = ours._forward_pre_hooks
    (theirs_hook,) = theirs._forward_pre_hooks.values()
    assert isinstance(hook, prune.PruningContainer) and len(hook) == len(rounds)
    assert [type(m).__name__ for m in hook] == [type(m).__name__ for m in theirs_hook]
    run_both(torch, ours, theirs, input_for("conv"))


def test_a_second_pruning_scores_the_pruned_weight_as_torch(torch, tprune):
    """PyTorch scores a parameter pruned before by its pruned values: a row whose large
    entries were masked has the smallest norm now, though not in weight_orig."""
    ours, theirs = make_pair(torch, "linear")
    weight = theirs.weight.detach().numpy()
    largest_row = int(np.argmax(np.abs(weight).sum(axis=1)))
    mask = np.ones_like(weight)
    mask[largest_row] = np.abs(weight[largest_row]) < 0.2
    prune.custom_from_mask(ours, "weight", ag.tensor(mask))
    tprune.custom_from_mask(theirs, "weight", torch.from_numpy(mask))
    both(tprune, ours, theirs, "ln_structured", "weight", amount=1, n=1, dim=0)
    assert_same_state(ours, theirs)
    assert not ours.weight_mask.numpy()[largest_row].any()


def test_global_unstructured_pools_the_parameters_as_torch(torch, tprune):
    (a, ta), (b, tb) = make_pair(torch, "linear", 0), make_pair(torch, "conv", 1)
    both(tprune, a, ta, "l1_unstructured", "weight", amount=12)  # a global prune on top of this one
    scores = distinct_values(named_rng("global"), 4)
    for lib, (m1, m2), score in [(prune, (a, b), ag.tensor(scores)),
                                 (tprune, (ta, tb), torch.from_numpy(scores))]:
        lib.global_unstructured([(m1, "weight"), (m2, "weight"), (m2, "bias")], lib.L1Unstructured,
                                importance_scores={(m2, "bias"): score}, amount=0.4)
    assert_same_state(a, ta)
    assert_same_state(b, tb)
    unpruned = 30 + 108 + 4 - 12  # the amount counts from the entries not pruned yet
    kept = sum(m.numpy().sum() for m in (a.weight_mask, b.weight_mask, b.bias_mask))
    assert kept == unpruned - round(0.4 * unpruned)
    run_both(torch, b, tb, input_for("conv"))


def test_global_random_unstructured_prunes_the_count_over_all_parameters():
    ag.manual_seed(0)
    a, b = nn.Linear(10, 10), nn.Linear(10, 30)
    prune.random_unstructured(a, "weight", 60)
    prune.global_unstructured([(a, "weight"), (b, "weight")], prune.RandomUnstructured, amount=100)
    mask_a, mask_b = a.weight_mask.numpy(), b.weight_mask.numpy()
    assert mask_a.sum() + mask_b.sum() == 400 - 60 - 100
    assert mask_a.sum() <= 40 and set(np.unique(mask_b)) <= {0.0, 1.0}


# --- the random methods: counts and structure -------------------------------------------------------
def test_random_unstructured_prunes_the_count_and_then_counts_from_what_is_left():
    ag.manual_seed(0)
    layer = nn.Linear(10, 20)
    prune.random_unstructured(layer, "weight", 0.5)
    first = layer.weight_mask.numpy().copy()
    assert first.sum() == 100
    prune.random_unstructured(layer, "weight", 0.5)
    second = layer.weight_mask.numpy()
    assert second.sum() == 50 and np.all(second <= first)  # what was pruned stays pruned
    prune.random_unstructured(layer, "weight", 7)
    assert layer.weight_mask.numpy().sum() == 43
    assert np.array_equal(layer.weight.numpy() != 0, layer.weight_mask.numpy() != 0)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_random_structured_prunes_whole_channels(dim):
    ag.manual_seed(1)
    conv = nn.Conv2d(6, 8, 3)
    prune.random_structured(conv, "weight", 0.5, dim=dim)
    mask = np.moveaxis(conv.weight_mask.numpy(), dim, 0).reshape(conv.weight.shape[dim], -1)
    assert set(mask.min(axis=1)) == {0.0, 1.0} and np.all(mask.min(axis=1) == mask.max(axis=1))
    kept = mask.max(axis=1)
    assert kept.sum() == conv.weight.shape[dim] - round(0.5 * conv.weight.shape[dim])
    prune.random_structured(conv, "weight", 1, dim=dim)  # one of the channels still there
    again = np.moveaxis(conv.weight_mask.numpy(), dim, 0).reshape(conv.weight.shape[dim], -1).max(axis=1)
    assert again.sum() == kept.sum() - 1 and np.all(again <= kept)


def test_random_choices_spread_over_all_entries():
    """Every entry gets pruned some of the time, at about the rate asked for."""
    ag.manual_seed(2)
    counts = np.zeros((4, 5))
    for _ in range(400):
        layer = nn.Linear(5, 4)
        prune.random_unstructured(layer, "weight", 5)
        counts += 1 - layer.weight_mask.numpy()
    assert counts.sum() == 400 * 5
    assert counts.min() > 60 and counts.max() < 140  # 100 expected per entry


# --- remove and is_pruned --------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_remove_makes_the_pruning_permanent_as_torch(torch, tprune, kind):
    ours, theirs = make_pair(torch, kind)
    weight = ours.weight
    both(tprune, ours, theirs, "l1_unstructured", "weight", amount=0.4)
    both(tprune, ours, theirs, "ln_structured", "weight", amount=1, n=2, dim=0)
    both(tprune, ours, theirs, "remove", "weight")
    assert_same_state(ours, theirs)  # bias, then weight: its values pruned
    assert ours.weight is weight and isinstance(ours.weight, nn.Parameter)
    assert ours._forward_pre_hooks == [] and not prune.is_pruned(ours)
    run_both(torch, ours, theirs, input_for(kind))  # the gradient is no longer masked


def test_is_pruned_looks_into_submodules():
    model = nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.ReLU(), nn.Linear(4, 2)))
    model[1].register_forward_pre_hook(lambda module, inputs: None)
    assert not prune.is_pruned(model)
    prune.identity(model[1][1], "bias")
    assert prune.is_pruned(model) and not prune.is_pruned(model[0])
    prune.remove(model[1][1], "bias")
    assert not prune.is_pruned(model)


# --- state_dict round trips -------------------------------------------------------------------------------
def test_a_pruned_state_dict_loads_into_a_pruned_module_both_ways(torch, tprune):
    ours, theirs = make_pair(torch, "conv")
    both(tprune, ours, theirs, "identity", "weight")
    source = make_pair(torch, "conv", seed=5)[1]
    tprune.ln_structured(source, "weight", 2, n=1, dim=0)
    tprune.l1_unstructured(source, "bias", 1)
    prune.l1_unstructured(ours, "bias", 1)
    ours.load_state_dict(state_of(source))
    assert_same_state(ours, source)
    run_both(torch, ours, source, input_for("conv"))  # the hook recomputes the weight from the loaded mask
    # and back: a PyTorch module pruned on the same names takes ours
    tprune.identity(theirs, "bias")
    theirs.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ours.state_dict().items()})
    assert_same_state(ours, theirs)
    ours.zero_grad()
    run_both(torch, ours, theirs, input_for("conv"))


def test_an_unpruned_module_refuses_a_pruned_state_dict():
    pruned, plain = nn.Linear(3, 2), nn.Linear(3, 2)
    prune.l1_unstructured(pruned, "weight", 2)
    with pytest.raises(Exception, match="weight_orig"):
        plain.load_state_dict(pruned.state_dict())


def test_deepcopy_as_torch_refused_while_the_weight_is_in_a_graph_then_independent(torch, tprune):
    """The pruned weight is a non-leaf until a forward under no_grad recomputes it, as in PyTorch."""
    layer, theirs = nn.Linear(4, 3), torch.nn.Linear(4, 3)
    prune.l1_unstructured(layer, "weight", 3)
    tprune.l1_unstructured(theirs, "weight", 3)
    with pytest.raises(RuntimeError, match="Only Tensors created explicitly by the user"):
        copy.deepcopy(theirs)
    with pytest.raises(RuntimeError, match="only leaf tensors can be deep-copied"):
        copy.deepcopy(layer)
    with ag.no_grad():
        layer(ag.ones((1, 4)))
    twin = copy.deepcopy(layer)
    prune.l1_unstructured(twin, "weight", 3)
    assert layer.weight_mask.numpy().sum() == 9 and twin.weight_mask.numpy().sum() == 6
    assert isinstance(layer._forward_pre_hooks[0], prune.L1Unstructured) and len(twin._forward_pre_hooks[0]) == 2


# --- training ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_training_steps_through_a_pruned_layer_match_torch(torch, tprune, kind):
    ours, theirs = make_pair(torch, kind)
    both(tprune, ours, theirs, "l1_unstructured", "weight", amount=0.5)
    both(tprune, ours, theirs, "l1_unstructured", "bias", amount=1)
    opt_ours = nn.optim.SGD(ours.parameters(), lr=0.05, momentum=0.9)
    opt_theirs = torch.optim.SGD(theirs.parameters(), lr=0.05, momentum=0.9)
    for step in range(4):
        x = input_for(kind, seed=10 + step)
        loss_ours = (ours(ag.tensor(x)) ** 2).mean()
        loss_theirs = (theirs(torch.from_numpy(x)) ** 2).mean()
        opt_ours.zero_grad()
        opt_theirs.zero_grad()
        loss_ours.backward()
        loss_theirs.backward()
        np.testing.assert_allclose(loss_ours.item(), loss_theirs.item(), rtol=1e-12)
        np.testing.assert_allclose(ours.weight_orig.grad.numpy(), theirs.weight_orig.grad.numpy(), rtol=1e-10,
                                   atol=1e-14)
        assert np.all(ours.weight_orig.grad.numpy()[ours.weight_mask.numpy() == 0] == 0)
        opt_ours.step()
        opt_theirs.step()
    for key, value in state_of(theirs).items():
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value, rtol=1e-10, atol=1e-14, err_msg=key)
    ours(ag.tensor(input_for(kind)))  # the hook recomputes the weight from the trained weight_orig
    np.testing.assert_array_equal(ours.weight.numpy(), ours.weight_orig.numpy() * ours.weight_mask.numpy())


# --- prune() and a method of one's own --------------------------------------------------------------------
def test_prune_method_masks_a_tensor_as_torch_and_differentiates(torch, tprune):
    values = distinct_values(named_rng("prune"), 4, 6)
    t = ag.tensor(values, requires_grad=True)
    tt = torch.tensor(values, requires_grad=True)
    scores = distinct_values(named_rng("prune scores"), 4, 6)
    ours = prune.LnStructured(2, n=1, dim=1).prune(t, importance_scores=ag.tensor(scores))
    theirs = tprune.LnStructured(2, n=1, dim=1).prune(tt, importance_scores=torch.from_numpy(scores))
    np.testing.assert_array_equal(ours.numpy(), theirs.detach().numpy())
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), tt.grad.numpy())


def every_other(lib):
    """PyTorch's documented example of a method of one's own."""
    class EveryOther(lib.BasePruningMethod):
        PRUNING_TYPE = "unstructured"

        def compute_mask(self, t, default_mask):
            mask = default_mask.clone()
            mask.reshape(-1)[::2] = 0
            return mask
    return EveryOther


def test_a_method_of_ones_own_prunes_on_what_is_left_as_torch(torch, tprune):
    ours, theirs = make_pair(torch, "linear")
    both(tprune, ours, theirs, "l1_unstructured", "weight", amount=9)
    every_other(prune).apply(ours, "weight")
    every_other(tprune).apply(theirs, "weight")
    assert_same_state(ours, theirs)


# --- errors ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("amount, error, message", [
    ("half", TypeError, "Invalid type for amount: half. Must be int or float."),
    (-1, ValueError, "amount=-1 should either be a float in the range [0, 1] or a non-negative integer"),
    (1.5, ValueError, "amount=1.5 should either be a float in the range [0, 1] or a non-negative integer"),
    (31, ValueError, "amount=31 should be smaller than the number of parameters to prune=30"),
])
def test_amount_errors_as_torch_and_nothing_changes(torch, tprune, amount, error, message):
    ours, theirs = make_pair(torch, "linear")
    with pytest.raises(error, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        tprune.l1_unstructured(theirs, "weight", amount)
    with pytest.raises(error, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        prune.l1_unstructured(ours, "weight", amount)
    assert list(ours.state_dict()) == ["weight", "bias"] and ours._forward_pre_hooks == []


def test_a_refused_second_pruning_keeps_the_first():
    """PyTorch drops the first pruning's hook before checking the new amount; topograd checks first."""
    layer = nn.Linear(3, 4)
    prune.l1_unstructured(layer, "weight", 4)
    hook, mask = layer._forward_pre_hooks[0], layer.weight_mask.numpy().copy()
    with pytest.raises(ValueError, match="amount=9 should be smaller than the number of parameters to prune=8"):
        prune.l1_unstructured(layer, "weight", 9)  # 8 entries left
    with pytest.raises(ValueError, match="amount=-2 should either be a float"):
        prune.random_unstructured(layer, "weight", -2)
    assert layer._forward_pre_hooks == [hook] and np.array_equal(layer.weight_mask.numpy(), mask)


def test_structured_pruning_errors(torch, tprune):
    ours, theirs = make_pair(torch, "linear")
    for lib, module in [(prune, ours), (tprune, theirs)]:
        with pytest.raises(ValueError, match="Structured pruning can only be applied to multidimensional tensors"):
            lib.ln_structured(module, "bias", 1, n=2, dim=0)
        with pytest.raises(IndexError, match="Invalid index 2 for tensor of size"):
            lib.random_structured(module, "weight", 1, dim=2)
    with pytest.raises(IndexError, match=r"dim must be in \[-2, 1\]"):
        prune.ln_structured(ours, "weight", 1, n=2, dim=-3)
    with pytest.raises(ValueError, match="n must be a number"):
        prune.ln_structured(ours, "weight", 1, n="nuc", dim=0)
    assert list(ours.state_dict()) == ["weight", "bias"]


def test_argument_errors():
    layer = nn.Linear(3, 4)
    with pytest.raises(ValueError, match=r"importance_scores should have the same shape as parameter 'weight' of "
                                         r"Linear, got \(3, 4\) vs \(4, 3\)"):
        prune.l1_unstructured(layer, "weight", 2, importance_scores=ag.ones((3, 4)))
    with pytest.raises(AttributeError, match=r"Linear has no parameter named 'wieght' to prune \(its parameters: "
                                             r"\['weight', 'bias'\]\)"):
        prune.l1_unstructured(layer, "wieght", 2)
    norm = nn.BatchNorm1d(3)
    with pytest.raises(TypeError, match="'running_mean' of BatchNorm1d is a Tensor, not a parameter"):
        prune.identity(norm, "running_mean")  # (PyTorch raises TypeError too, from register_parameter)
    with pytest.raises(ValueError, match=r"the mask has shape \(3,\) but the tensor pruned has shape \(4,\)"):
        prune.custom_from_mask(layer, "bias", ag.ones(3))
    with pytest.raises(ValueError, match="Parameter 'weight' of module Linear has to be pruned before pruning can "
                                         "be removed"):
        prune.remove(layer, "weight")
    assert list(layer.state_dict()) == ["weight", "bias"] and layer._forward_pre_hooks == []


def test_global_unstructured_errors():
    layer = nn.Linear(3, 4)
    with pytest.raises(TypeError, match="global_unstructured\\(\\): parameters is not an Iterable"):
        prune.global_unstructured(layer, prune.L1Unstructured, amount=1)
    with pytest.raises(TypeError, match="importance_scores must be of type dict"):
        prune.global_unstructured([(layer, "weight")], prune.L1Unstructured, importance_scores=[1], amount=1)
    with pytest.raises(TypeError, match='Only "unstructured" PRUNING_TYPE supported'):
        prune.global_unstructured([(layer, "weight")], prune.RandomStructured, amount=1)
    with pytest.raises(ValueError, match="amount=13 should be smaller than the number of parameters to prune=12"):
        prune.global_unstructured([(layer, "weight")], prune.L1Unstructured, amount=13)
    norm = nn.BatchNorm1d(3)
    with pytest.raises(TypeError, match="'running_mean' of BatchNorm1d is a Tensor, not a parameter"):
        prune.global_unstructured([(norm, "weight"), (norm, "running_mean")], prune.L1Unstructured, amount=1)
    assert not prune.is_pruned(norm)  # all or nothing: the weight before it was left as it was
    assert not prune.is_pruned(layer)


def test_container_refuses_a_method_on_another_parameter():
    first, other = prune.L1Unstructured(1), prune.L1Unstructured(2)
    first._tensor_name, other._tensor_name = "weight", "bias"
    container = prune.PruningContainer(first)
    with pytest.raises(ValueError, match="Can only add pruning methods acting on the parameter named 'weight'"):
        container.add_pruning_method(other)
    with pytest.raises(TypeError, match="int is not a BasePruningMethod subclass"):
        container.add_pruning_method(3)
    assert len(container) == 1 and container[0] is first


def test_every_method_runs_on_each_backend_with_the_cpu_masks(device):
    """The deterministic masks equal the CPU ones; the random ones keep their counts."""
    masks = {}
    for where in dict.fromkeys(["cpu", device]):
        ag.manual_seed(0)
        conv, linear = nn.Conv2d(3, 4, 3, device="cpu"), nn.Linear(3, 2, device="cpu")
        conv.to(where), linear.to(where)
        prune.l1_unstructured(conv, "weight", 0.3)
        prune.ln_structured(conv, "weight", 1, n=2, dim=0)
        prune.global_unstructured([(conv, "weight"), (linear, "weight")], prune.L1Unstructured, amount=4)
        prune.custom_from_mask(linear, "bias", ag.tensor([1.0, 0.0], device=where))
        masks[where] = [conv.weight_mask.numpy(), linear.weight_mask.numpy(), linear.bias_mask.numpy()]
        kept = conv.weight_mask.numpy().sum()
        prune.random_unstructured(conv, "weight", 5)
        assert conv.weight_mask.numpy().sum() == kept - 5
        prune.random_structured(conv, "weight", 1, dim=1)
        conv(ag.randn(1, 3, 5, 5, device=where)).sum().backward()
        mask = conv.weight_mask.numpy()
        assert mask.max(axis=(0, 2, 3)).sum() == 2  # one of the 3 input channels pruned whole
        np.testing.assert_array_equal(conv.weight_orig.grad.numpy() == 0, mask == 0)
    for ours, cpu in zip(masks[device], masks["cpu"]):
        np.testing.assert_array_equal(ours, cpu)
