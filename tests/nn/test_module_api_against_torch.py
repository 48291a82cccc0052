"""nn.Module's API, containers, optimizer and scheduler state against PyTorch: what a
bug hunt over registration, traversal, state dicts and resumes turned up, and the
behaviour it verified."""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import autograd as ag
import nn


def names_in_apply_order(module, root_name="root"):
    names = {}
    for name, m in module.named_modules(remove_duplicate=False):
        names.setdefault(id(m), name or root_name)
    order = []
    module.apply(lambda m: order.append(names[id(m)]))
    return order


def shared_tree(lib):
    shared = lib.Linear(2, 2)
    return lib.Sequential(lib.Sequential(shared), lib.Sequential(lib.ReLU(), shared))


# --- bugs: each of these failed before its fix ----------------------------------------------

def test_apply_calls_every_child_before_its_parent_when_a_module_is_shared(torch):
    """PyTorch's apply is a post-order walk: fn sees a module only after all its children
    (an init that reads its children's weights relies on it). topograd calls fn once per
    module, on its first occurrence, but must keep that order."""
    reference = names_in_apply_order(shared_tree(torch.nn))
    assert reference == ["0.0", "0", "1.0", "0.0", "1", "root"]
    first_occurrences = list(dict.fromkeys(reference))
    assert names_in_apply_order(shared_tree(nn)) == first_occurrences


@pytest.mark.parametrize("name", ["weight", "in_features", "forward"])
def test_add_module_refuses_a_name_taken_by_another_attribute(device, torch, name):
    """As PyTorch (KeyError "attribute ... already exists"); silently dropping the
    Linear's weight, or its in_features, broke the layer."""
    with pytest.raises(KeyError, match="already exists"):
        torch.nn.Linear(2, 2).add_module(name, torch.nn.ReLU())
    layer = nn.Linear(2, 2)
    before = [n for n, _ in layer.named_parameters()]
    with pytest.raises(KeyError, match="already exists"):
        layer.add_module(name, nn.ReLU())
    assert [n for n, _ in layer.named_parameters()] == before
    assert layer.in_features == 2 and list(layer.children()) == []


def test_module_dict_refuses_a_key_that_shadows_an_attribute(torch):
    with pytest.raises(KeyError, match="already exists"):
        torch.nn.ModuleDict()["training"] = torch.nn.ReLU()
    layers = nn.ModuleDict()
    with pytest.raises(KeyError, match="already exists"):
        layers["training"] = nn.ReLU()
    assert list(layers) == []


def test_assigning_a_module_over_a_parameter_is_refused(device, torch):
    with pytest.raises(TypeError, match="parameter 'weight'"):
        torch.nn.Linear(2, 2).weight = torch.nn.ReLU()
    layer = nn.Linear(2, 2)
    weight = layer.weight
    with pytest.raises(TypeError, match="parameter 'weight'"):
        layer.weight = nn.ReLU()
    assert layer.weight is weight and list(layer.children()) == []


def test_load_state_dict_with_an_unreadable_value_names_it_and_changes_nothing(device, torch):
    """The weight used to be copied before the bias failed to convert (a raw TypeError from
    PyTorch's bfloat16, a ValueError from strings): a half-loaded model."""
    layer = nn.Linear(2, 2)
    before = {k: v.numpy().copy() for k, v in layer.state_dict().items()}
    for bad in (torch.ones(2, dtype=torch.bfloat16), np.array(["a", "b"])):
        with pytest.raises(ValueError, match="bias") as info:
            layer.load_state_dict({"weight": np.ones((2, 2), np.float32), "bias": bad})
        assert "Nothing was changed" in str(info.value)
        for key, value in layer.state_dict().items():
            np.testing.assert_array_equal(value.numpy(), before[key])


def test_batch_norm_state_without_num_batches_tracked_loads_as_in_torch(device, torch):
    """PyTorch loads a BatchNorm state dict that lacks num_batches_tracked (older
    checkpoints, converted ones) with strict=True, leaving the counter as it is."""
    state = {k: v for k, v in torch.nn.BatchNorm1d(3).state_dict().items() if k != "num_batches_tracked"}
    state["running_mean"] = torch.arange(3.0)
    reference = torch.nn.BatchNorm1d(3)
    assert reference.load_state_dict(state).missing_keys == []
    layer = nn.BatchNorm1d(3)
    result = layer.load_state_dict({k: v.numpy() for k, v in state.items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(layer.running_mean.numpy(), [0.0, 1.0, 2.0])
    assert int(layer.num_batches_tracked.item()) == 0


def test_sequential_iadd_extends_in_place(torch):
    """PyTorch's Sequential += keeps the object, so a parent (or any reference) sees the new layers."""
    for lib in (torch.nn, nn):
        body = lib.Sequential(lib.Linear(1, 1))
        model = lib.Sequential(body)
        alias = body
        alias += lib.Sequential(lib.ReLU())
        assert alias is body and [type(m).__name__ for m in model[0]] == ["Linear", "ReLU"]


def test_a_rejected_extend_or_update_leaves_the_container_unchanged():
    """HELPERS rule 6 (PyTorch itself appends the good entries before the bad one)."""
    layers = nn.ModuleList([nn.ReLU()])
    with pytest.raises(TypeError):
        layers.extend([nn.Tanh(), "not a module"])
    assert [type(m).__name__ for m in layers] == ["ReLU"]
    sequential = nn.Sequential(nn.ReLU())
    with pytest.raises(TypeError):
        sequential.extend([nn.Tanh(), 3])
    assert len(sequential) == 1
    table = nn.ModuleDict({"a": nn.ReLU()})
    with pytest.raises(TypeError):
        table.update({"b": nn.Tanh(), "c": 3})
    assert list(table) == ["a"]


# --- verified behaviour, pinned ----------------------------------------------------------------

def test_traversal_names_with_prefixes_and_duplicates_match_torch(device, torch):
    def listing(lib):
        shared = lib.Linear(2, 2)
        model = lib.Sequential(shared, lib.BatchNorm1d(2), shared)
        model.register_buffer("scratch", (torch if lib is torch.nn else ag).zeros(1), persistent=False)
        return ([n for n, _ in model.named_modules(prefix="net")],
                [n for n, _ in model.named_modules(remove_duplicate=False)],
                [n for n, _ in model.named_parameters(prefix="net")],
                [n for n, _ in model.named_parameters(remove_duplicate=False)],
                [n for n, _ in model.named_buffers()], list(model.state_dict()),
                [n for n, _ in model.named_children()], len(list(model.parameters())),
                [type(m).__name__ for m in model.modules(remove_duplicate=False)])
    assert listing(nn) == listing(torch.nn)


def test_load_state_dict_casts_into_the_parameters_and_keeps_them(device, torch):
    model = nn.Sequential(nn.Linear(2, 1))
    weight = model[0].weight
    optimizer = nn.optim.SGD(model.parameters(), lr=1.0)
    result = model.load_state_dict({"0.weight": np.ones((1, 2)), "extra": np.zeros(1)}, strict=False)
    reference = torch.nn.Sequential(torch.nn.Linear(2, 1)).load_state_dict(
        {"0.weight": torch.ones(1, 2), "extra": torch.zeros(1)}, strict=False)
    assert (result.missing_keys, result.unexpected_keys) == (reference.missing_keys, reference.unexpected_keys)
    assert model[0].weight is weight and weight.dtype == ag.float32
    model(ag.ones(1, 2)).sum().backward()
    optimizer.step()  # the optimizer built before the load still updates the loaded weight
    np.testing.assert_array_equal(weight.numpy(), [[0.0, 0.0]])


def test_container_editing_matches_torch(torch):
    def edit(lib):
        head = lib.Sequential(OrderedDict(a=lib.Linear(1, 1), b=lib.ReLU(), c=lib.Tanh()))[1:]
        seq = lib.Sequential(lib.Linear(1, 1), lib.ReLU(), lib.Tanh())
        seq.insert(-1, lib.Sigmoid())
        del seq[0]
        modules = lib.ModuleList([lib.ReLU()])
        modules += [lib.Tanh(), lib.Sigmoid()]
        table = lib.ModuleDict({"z": lib.ReLU(), "a": lib.Tanh()})
        table.update([("m", lib.Sigmoid()), ("z", lib.Tanh())])
        popped = table.pop("a")
        kinds = lambda ms: [type(m).__name__ for m in ms]
        return (type(head).__name__, list(head._modules), list(seq._modules), kinds(seq), kinds(modules[1:]),
                type(modules[-1]).__name__, list(table), kinds(table.values()), type(popped).__name__, "m" in table)
    assert edit(nn) == edit(torch.nn)



@pytest.mark.parametrize("kind", ["Sequential", "ModuleList"])
def test_assigning_to_a_slice_of_a_module_container_is_refused_by_name_as_torch(torch, kind):
    # The message said "indices must be integers or slices, not slice".
    for lib in (torch.nn, nn):
        layers = [lib.ReLU(), lib.Tanh()]
        container = lib.Sequential(*layers) if kind == "Sequential" else lib.ModuleList(layers)
        with pytest.raises(TypeError) as refused:
            container[0:1] = lib.Sigmoid()
        assert [type(m).__name__ for m in container] == ["ReLU", "Tanh"]
    assert "one integer index, not a slice" in str(refused.value)


def test_a_module_list_extends_by_another_container_of_modules_as_torch(torch):
    # ModuleList(other_list), extend(a Sequential) and += another ModuleList raised TypeError.
    def build(lib):
        blocks = lib.ModuleList(lib.ModuleList([lib.Linear(1, 1), lib.ReLU()]))
        blocks.extend(lib.Sequential(lib.Tanh(), lib.Sigmoid()))
        blocks += lib.ModuleList([lib.ELU()])
        return [type(m).__name__ for m in blocks], list(blocks._modules), list(blocks.state_dict())
    assert build(nn) == build(torch.nn)
    for lib in (nn, torch.nn):  # a single layer, or a dict's keys, is no list of modules
        blocks = lib.ModuleList([lib.ReLU()])
        for bad in (lib.Tanh(), lib.ModuleDict({"a": lib.Tanh()}), "ab"):
            with pytest.raises(TypeError):
                blocks.extend(bad)
        assert len(blocks) == 1

OPTIMIZERS = [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
              ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.2, weight_decay=0.1, maximize=True)),
              ("Adam", dict(lr=0.05, weight_decay=0.1, amsgrad=True, maximize=True)),
              ("AdamW", dict(lr=0.05, weight_decay=0.1)),
              ("RMSprop", dict(lr=0.01, weight_decay=0.1, momentum=0.5, centered=True, maximize=True)),
              ("Adagrad", dict(lr=0.1, weight_decay=0.1, lr_decay=0.01, initial_accumulator_value=0.2))]


def _train(lib, optim, name, options, start, x, resume_at):
    """Five steps on two parameter groups; the third parameter never gets a gradient.
    At ``resume_at`` a fresh optimizer takes over through state_dict()/load_state_dict."""
    params = [lib["param"](lib["tensor"](a)) for a in start]
    make = lambda: getattr(optim, name)([{"params": params[:1]}, {"params": params[1:], "lr": 0.02}], **options)
    optimizer = make()
    for step in range(5):
        optimizer.zero_grad()
        ((x @ params[0].T + params[1]) ** 2).mean().backward()
        optimizer.step()
        if step == resume_at:
            saved = copy.deepcopy(optimizer.state_dict())
            optimizer = make()
            optimizer.load_state_dict(saved)
    return [p.detach().numpy() if hasattr(p, "detach") else p.numpy() for p in params]


@pytest.mark.parametrize("name, options", OPTIMIZERS)
def test_optimizer_resumed_mid_run_matches_torch_uninterrupted(device, torch, name, options):
    rng = np.random.default_rng(0)
    start = [rng.standard_normal(s).astype(np.float32) for s in ((3, 4), (3,), (2,))]
    x = rng.standard_normal((5, 4)).astype(np.float32)
    reference = _train(dict(param=torch.nn.Parameter, tensor=torch.tensor), torch.optim, name, options, start,
                       torch.tensor(x), resume_at=None)
    ours = _train(dict(param=nn.Parameter, tensor=ag.tensor), nn.optim, name, options, start, ag.tensor(x),
                  resume_at=2)
    for got, want in zip(ours, reference):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ours[2], start[2])  # no gradient: untouched


def test_chained_schedulers_and_resumed_schedule_match_torch(torch):
    def rates(lib, optim, resume):
        p = lib["param"](lib["tensor"]([1.0]))
        make = lambda: optim.SGD([p], lr=1.0, momentum=0.9)
        opt = make()
        schedules = [optim.lr_scheduler.StepLR(opt, 2, gamma=0.5), optim.lr_scheduler.ExponentialLR(opt, 0.9)]
        out = []
        for epoch in range(6):
            opt.step()
            for s in schedules:
                s.step()
            out.append([round(s.get_last_lr()[0], 12) for s in schedules])
        cosine = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=0.01)
        for _ in range(3):
            cosine.step()
        if resume:
            saved, opt_saved = cosine.state_dict(), opt.state_dict()
            opt = make()
            opt.load_state_dict(opt_saved)
            cosine = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=0.01)
            cosine.load_state_dict(saved)
        for _ in range(4):
            cosine.step()
            out.append(round(opt.param_groups[0]["lr"], 12))
        return out
    assert rates(dict(param=nn.Parameter, tensor=ag.tensor), nn.optim, True) == \
        rates(dict(param=torch.nn.Parameter, tensor=torch.tensor), torch.optim, False)


@pytest.mark.parametrize("norm_type", [1.0, 2.0, float("inf")])
def test_clip_grad_norm_skips_parameters_without_gradients_as_torch(device, torch, norm_type):
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(5).astype(np.float32)]
    ours = [nn.Parameter(ag.zeros(*g.shape)) for g in grads] + [nn.Parameter(ag.zeros(2))]
    theirs = [torch.nn.Parameter(torch.zeros(g.shape)) for g in grads] + [torch.nn.Parameter(torch.zeros(2))]
    for p, q, g in zip(ours, theirs, grads):
        p.grad, q.grad = ag.tensor(g), torch.tensor(g)
    total = nn.utils.clip_grad_norm_(iter(ours), 0.5, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(iter(theirs), 0.5, norm_type=norm_type)
    np.testing.assert_allclose(float(total.item()), float(expected), rtol=1e-6)
    for p, q in zip(ours[:2], theirs[:2]):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6, atol=1e-7)
    assert ours[2].grad is None


def _names(pairs):
    return [name for name, _ in pairs]


# --- Module: construction, lookup and traversal ---------------------------------------------

def test_an_attribute_error_inside_a_property_says_the_property_raised_it(torch):
    # Python falls back to __getattr__ when a property's getter raises AttributeError, so the
    # error named the property as missing ("'Block' object has no attribute 'width'", as
    # PyTorch's), not the attribute the getter failed to find.
    for lib in (torch.nn, nn):
        class Block(lib.Module):
            @property
            def width(self):
                return self.layer.out_features  # self.layer was never set

        with pytest.raises(AttributeError, match="'Block' object has no attribute 'width'") as missing:
            Block().width
    assert "property" in str(missing.value) and "raised" in str(missing.value)
    with pytest.raises(AttributeError, match=r"^'Linear' object has no attribute 'widht'$"):
        nn.Linear(1, 1).widht  # a plain missing name reads as before


def test_a_plain_attribute_set_before_module_init_is_kept_as_in_torch(torch):
    # A mixin whose __init__ runs before Module.__init__ set a flag: PyTorch keeps it, topograd
    # raised AttributeError.
    def make(lib):
        class Block(lib.Module):
            def __init__(self):
                self.scale = 2.0
                super().__init__()
                self.fc = lib.Linear(2, 2)
        return Block()

    theirs, ours = make(torch.nn), make(nn)
    assert ours.scale == theirs.scale == 2.0
    assert _names(ours.named_parameters()) == _names(theirs.named_parameters()) == ["fc.weight", "fc.bias"]


@pytest.mark.parametrize("register", [lambda m: setattr(m, "w", nn.Parameter(ag.ones(1))),
                                      lambda m: setattr(m, "fc", nn.Linear(1, 1)),
                                      lambda m: m.register_buffer("b", ag.ones(1)),
                                      lambda m: setattr(m, "b", nn.Buffer(ag.ones(1))),
                                      lambda m: m.register_parameter("w", None),
                                      lambda m: m.add_module("fc", None)],
                         ids=["parameter", "module", "register_buffer", "buffer", "register_parameter", "add_module"])
def test_registering_before_module_init_names_the_fix(register):
    # register_buffer said "'Block' object has no attribute '_buffers'"
    class Block(nn.Module):
        def __init__(self):
            register(self)

    with pytest.raises(AttributeError, match=r"before Module.__init__\(\) has run; call super\(\).__init__\(\) first"):
        Block()


def test_get_buffer_matches_torch(torch):
    ours, theirs = nn.Sequential(nn.BatchNorm1d(3)), torch.nn.Sequential(torch.nn.BatchNorm1d(3))
    for target in ("0.running_mean", "0.num_batches_tracked"):
        assert ours.get_buffer(target) is ours[0]._buffers[target.split(".")[1]]
        assert ours.get_buffer(target).shape == tuple(theirs.get_buffer(target).shape)
    for target in ("0.weight", "0.nothing"):
        with pytest.raises(AttributeError):
            theirs.get_buffer(target)
        with pytest.raises(AttributeError, match=f"BatchNorm1d has no buffer '{target[2:]}'"):
            ours.get_buffer(target)


def _set_submodule_result(lib, target, **kwargs):
    model = lib.Sequential(lib.Sequential(lib.Linear(1, 1), lib.Tanh()), lib.ReLU())
    model.set_submodule(target, lib.Sigmoid(), **kwargs)
    return [(name, type(m).__name__) for name, m in model.named_modules()]


@pytest.mark.parametrize("target, kwargs", [("0.0", {}), ("0.0", dict(strict=True)), ("1", {}), ("0.extra", {})])
def test_set_submodule_matches_torch(torch, target, kwargs):
    # Module.set_submodule was missing: replacing a layer in place (state_dict order kept),
    # or adding one under a new name unless strict.
    assert _set_submodule_result(nn, target, **kwargs) == _set_submodule_result(torch.nn, target, **kwargs)


@pytest.mark.parametrize("target, kwargs, error, message", [
    ("0.extra", dict(strict=True), AttributeError, "has no submodule 'extra' to replace"),
    ("0.0.weight", {}, AttributeError, "'weight' of Linear is not a submodule"),
    ("0.forward", {}, AttributeError, "'forward' of Sequential is not a submodule"),
    ("", {}, ValueError, "target must name a submodule"),
    ("7.0", {}, AttributeError, "has no submodule '7'"),
])
def test_set_submodule_errors_match_torch_and_change_nothing(torch, target, kwargs, error, message):
    with pytest.raises((AttributeError, ValueError)):
        _set_submodule_result(torch.nn, target, **kwargs)
    model = nn.Sequential(nn.Sequential(nn.Linear(1, 1), nn.Tanh()), nn.ReLU())
    before = _names(model.named_modules()), _names(model.named_parameters())
    with pytest.raises(error, match=message):
        model.set_submodule(target, nn.Sigmoid(), **kwargs)
    assert (_names(model.named_modules()), _names(model.named_parameters())) == before


def test_named_modules_memo_holds_modules_as_in_torch(torch):
    # The memo held ids, so modules a caller put in it (to skip them) were still listed.
    def listed(lib):
        model = lib.Sequential(lib.Linear(1, 1), lib.Sequential(lib.ReLU()), lib.Tanh())
        memo = {model[1]}
        names = _names(model.named_modules(memo))
        return names, model[0] in memo

    assert listed(nn) == listed(torch.nn) == (["", "0", "2"], True)


# --- containers -----------------------------------------------------------------------------

@pytest.mark.parametrize("operation", [lambda s: s * 3, lambda s: 2 * s, lambda s: s.__imul__(2), lambda s: s * 1])
def test_sequential_multiplication_matches_torch(torch, operation):
    # Sequential had no *, so `block * 3` (PyTorch: the same modules repeated) raised TypeError.
    def result(lib):
        seq = lib.Sequential(lib.Linear(2, 2), lib.ReLU())
        out = operation(seq)
        return (out is seq, _names(out.named_children()), [type(m).__name__ for m in out],
                [m is seq[i % 2] for i, m in enumerate(out)], len(list(out.parameters())))

    assert result(nn) == result(torch.nn)


@pytest.mark.parametrize("times, error", [(0, ValueError), (-1, ValueError), (1.5, TypeError), ("2", TypeError)])
def test_sequential_multiplication_refuses_what_torch_refuses(torch, times, error):
    with pytest.raises(error):
        torch.nn.Sequential(torch.nn.ReLU()) * times
    seq = nn.Sequential(nn.ReLU())
    with pytest.raises(error, match="Sequential can be multiplied only by"):
        seq *= times
    assert len(seq) == 1


@pytest.mark.parametrize("container", [nn.ParameterList, nn.ParameterDict])
def test_a_parameter_container_holding_none_prints_as_torch(torch, container):
    # register_parameter(name, None) on a ParameterList/Dict made its repr raise AttributeError.
    ours = container()
    ours.register_parameter("0", None)
    expected = "(0): Object of type: NoneType"
    assert expected in repr(torch.nn.ParameterDict({"0": None}))  # PyTorch's text for such an entry
    assert repr(ours) == f"{container.__name__}({expected})"


# --- load_state_dict ---------------------------------------------------------------------

def test_a_one_element_value_loads_into_a_0d_entry_as_in_torch(torch):
    # PyTorch reads a shape (1,) value into a 0-d parameter or buffer (how older versions saved
    # scalars, num_batches_tracked among them); topograd refused it as a shape mismatch.
    theirs = torch.nn.BatchNorm1d(2)
    theirs.scale = torch.nn.Parameter(torch.tensor(1.0))
    ours = nn.BatchNorm1d(2)
    ours.scale = nn.Parameter(ag.tensor(1.0))
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    state["num_batches_tracked"], state["scale"] = np.array([7]), np.array([2.5], np.float32)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    ours.load_state_dict(state)
    assert ours.num_batches_tracked.shape == tuple(theirs.num_batches_tracked.shape) == ()
    assert int(ours.num_batches_tracked.item()) == int(theirs.num_batches_tracked) == 7
    assert ours.scale.shape == () and float(ours.scale.item()) == theirs.scale.item() == 2.5
    with pytest.raises(ValueError, match=r"scale: expected shape \(\), got \(2,\)"):
        ours.load_state_dict({**state, "scale": np.ones(2, np.float32)})


def _float64_state(torch):
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    return theirs, {k: v.detach().double() if v.is_floating_point() else v for k, v in theirs.state_dict().items()}


def test_load_state_dict_assign_matches_torch(torch):
    # load_state_dict had no assign= (PyTorch: the values themselves take the parameters' and
    # buffers' places, keeping their dtype; a plain tensor becomes a Parameter sharing its memory).
    theirs, theirs_state = _float64_state(torch)
    ours = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    ours[0].bias.requires_grad = False
    theirs[0].bias.requires_grad_(False)
    ours_state = OrderedDict((k, ag.tensor(v.numpy(), dtype=str(v.dtype).removeprefix("torch.")))
                             for k, v in theirs_state.items())
    old_weight = ours[0].weight
    assert tuple(ours.load_state_dict(ours_state, assign=True)) == tuple(
        theirs.load_state_dict(theirs_state, assign=True)) == ([], [])
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert (type(p).__name__, str(p.dtype), p.requires_grad) == \
            (type(q).__name__, str(q.dtype).removeprefix("torch."), q.requires_grad), name
        np.testing.assert_array_equal(p.numpy(), q.detach().numpy())
    assert ours[0].weight is not old_weight
    assert ours[1].running_mean is ours_state["1.running_mean"]  # buffers are the values themselves
    ours_state["0.weight"].data[0, 0] = 5.0  # a Parameter sharing the value's memory, as PyTorch's
    assert float(ours[0].weight.numpy()[0, 0]) == 5.0
    x = np.random.default_rng(0).standard_normal((4, 2))
    ours.eval(), theirs.eval()
    out, ref = ours(ag.tensor(x)), theirs(torch.tensor(x))
    out.sum().backward(), ref.sum().backward()
    np.testing.assert_allclose(ours[0].weight.grad.numpy(), theirs[0].weight.grad.numpy(), rtol=1e-12)
    assert ours[0].bias.grad is None and theirs[0].bias.grad is None


def test_load_state_dict_assign_keeps_a_parameter_given_and_refuses_atomically(torch):
    layer = nn.Linear(2, 3)
    weight, bias = nn.Parameter(ag.ones(3, 2)), nn.Parameter(ag.zeros(3))
    layer.load_state_dict({"weight": weight, "bias": bias}, assign=True)
    assert layer.weight is weight and layer.bias is bias
    # An integer tensor cannot be a parameter that requires grad: PyTorch raises after it has
    # already replaced the bias; here nothing changes.
    with pytest.raises(ValueError, match="weight: cannot read a .* to assign"):
        layer.load_state_dict({"bias": ag.ones(3), "weight": ag.ones(3, 2, dtype="int64")}, assign=True)
    assert layer.weight is weight and layer.bias is bias
    with pytest.raises(ValueError, match=r"bias: expected shape \(3,\), got \(4,\)"):
        layer.load_state_dict({"weight": ag.ones(3, 2), "bias": ag.ones(4)}, assign=True)
    assert layer.weight is weight and layer.bias is bias


# --- extra state: get_extra_state / set_extra_state ------------------------------------------

def vocabulary_model(lib):
    """A module with extra state (a word list) and a tensor of its own, inside a container."""
    class Vocabulary(lib.Module):
        def __init__(self):
            super().__init__()
            self.embed = lib.Linear(2, 2)
            self.words = ["a", "b"]

        def get_extra_state(self):
            return {"words": list(self.words)}

        def set_extra_state(self, state):
            self.words = list(state["words"])

    return lib.Sequential(Vocabulary(), lib.ReLU())


def test_extra_state_is_kept_and_loaded_under_torch_s_keys(torch):
    model, reference = vocabulary_model(nn), vocabulary_model(torch.nn)
    assert list(model.state_dict()) == list(reference.state_dict()) == ["0._extra_state", "0.embed.weight",
                                                                        "0.embed.bias"]
    state = model.state_dict()
    state["0._extra_state"] = {"words": ["x", "y", "z"]}
    twin = vocabulary_model(nn)
    assert twin.load_state_dict(state) == ([], [])
    assert twin[0].words == ["x", "y", "z"]
    # PyTorch's module state loads here, extra state included
    reference[0].words = ["p"]
    twin.load_state_dict({k: v if k.endswith("_extra_state") else v.numpy()
                          for k, v in reference.state_dict().items()})
    assert twin[0].words == ["p"]


def test_missing_or_unexpected_extra_state_is_reported_and_nothing_changes(torch):
    model = vocabulary_model(nn)
    state = model.state_dict()
    del state["0._extra_state"]
    with pytest.raises(ValueError, match=r"missing keys: '0\._extra_state'"):
        model.load_state_dict(state)
    assert model.load_state_dict(state, strict=False).missing_keys == ["0._extra_state"]
    plain = nn.Sequential(nn.Linear(2, 2))  # defines no set_extra_state: the key is not its
    with pytest.raises(ValueError, match=r"unexpected keys: '0\._extra_state'"):
        plain.load_state_dict({**plain.state_dict(), "0._extra_state": {"words": []}})
    # a bad tensor elsewhere in the state: the extra state is not taken either
    state = model.state_dict()
    state["0._extra_state"], state["0.embed.bias"] = {"words": ["new"]}, np.zeros(5, np.float32)
    with pytest.raises(ValueError, match="Nothing was changed"):
        model.load_state_dict(state)
    assert model[0].words == ["a", "b"]
    with pytest.raises(RuntimeError, match="does not define it"):
        plain.get_extra_state()


# --- to_empty and share_memory -------------------------------------------------------------

def to_empty_model(lib):
    model = lib.Sequential(lib.Linear(2, 3), lib.BatchNorm1d(3))
    model.double()
    return model


def shapes_and_dtypes(model):
    return [(n, tuple(t.shape), str(t.dtype).replace("torch.", "")) for n, t in model.state_dict().items()]


@pytest.mark.parametrize("recurse", [True, False])
def test_to_empty_keeps_shapes_dtypes_and_identity_as_torch(device, torch, recurse):
    ours, theirs = to_empty_model(nn), to_empty_model(torch.nn)
    ours(ag.ones(4, 2, dtype=ag.float64)).sum().backward()
    params = list(ours.parameters())
    assert ours.to_empty(device=device, recurse=recurse) is ours
    assert theirs.to_empty(device="cpu", recurse=recurse) is theirs
    assert shapes_and_dtypes(ours) == shapes_and_dtypes(theirs)
    assert list(ours.parameters()) == params and all(type(p) is nn.Parameter and p.requires_grad for p in params)
    assert all(p.grad is not None and p.grad.shape == p.shape and p.grad.device == p.device for p in params)
    # then filled from a state dict, as a model built without memory is
    source = to_empty_model(nn)
    ours.load_state_dict(source.state_dict())
    for (name, value), expected in zip(ours.state_dict().items(), source.state_dict().values()):
        np.testing.assert_array_equal(value.numpy(), expected.numpy(), err_msg=name)
    with pytest.raises(TypeError, match="device"):
        ours.to_empty()


def test_to_empty_moves_a_lazy_module_s_placeholders(device):
    lazy = nn.LazyLinear(3).to_empty(device=device)
    assert lazy.has_uninitialized_params() and lazy.weight.device == ag.ones(1, device=device).device
    assert lazy(ag.ones(2, 4, device=device)).shape == (2, 3)


def test_share_memory_returns_the_module_and_warns_that_nothing_is_shared(torch):
    model = nn.Linear(2, 2)
    assert torch.nn.Linear(2, 2).share_memory() is not None
    with pytest.warns(UserWarning, match="does not share tensors between processes"):
        assert model.share_memory() is model


def test_dir_lists_registered_names_but_not_numbered_ones_as_torch(torch):
    # dir() offered a Sequential's "0", "1", ... (not attribute names) for tab completion.
    def listed(lib, t):
        model = lib.Sequential(lib.Linear(1, 1), lib.BatchNorm1d(1))
        model.add_module("head", lib.ModuleDict({"1x": lib.ReLU(), "out": lib.ReLU()}))
        model.extra = lib.ParameterList([lib.Parameter(t.ones(1))])
        names = set(dir(model)) | set(dir(model[1])) | set(dir(model.head)) | set(dir(model.extra))
        return sorted(n for n in names if not n.startswith("_") and (n[:1].isdigit() or n in {
            "head", "extra", "out", "running_mean", "weight", "num_batches_tracked", "forward"}))
    assert listed(nn, ag) == listed(torch.nn, torch) == ["extra", "forward", "head", "num_batches_tracked",
                                                         "out", "running_mean", "weight"]


@pytest.mark.parametrize("flag", [0, 1, "", "no", None])
def test_requires_grad_refuses_a_non_bool_and_changes_nothing_as_torch(torch, flag):
    # requires_grad_("no") set requires_grad=True on every parameter (any truthy value did).
    for lib in (nn, torch.nn):
        model = lib.Sequential(lib.Linear(1, 1), lib.Linear(1, 1))
        model[1].requires_grad_(False)
        with pytest.raises(TypeError, match="must be (a )?bool"):
            model.requires_grad_(flag)
        assert [p.requires_grad for p in model.parameters()] == [True, True, False, False]
    assert nn.Linear(1, 1).requires_grad_(False).weight.requires_grad is False


# --- __setstate__ ------------------------------------------------------------------------------

class ScaledLinear(nn.Linear):
    """A layer whose __setstate__ fills in an attribute older pickles lack, PyTorch's pattern
    (module-level, so pickle finds it)."""

    def __setstate__(self, state):
        super().__setstate__(state)
        if "scale" not in self.__dict__:
            self.scale = 1.0


def scaled_linear_class(lib):
    if lib is nn:
        return ScaledLinear

    class TorchScaledLinear(lib.Linear):
        def __setstate__(self, state):
            super().__setstate__(state)
            if "scale" not in self.__dict__:
                self.scale = 1.0
    return TorchScaledLinear


def test_a_subclass_s_setstate_may_call_module_s_as_in_torch(torch):
    # Module had no __setstate__, so super().__setstate__(state) raised AttributeError and
    # such a module could not be copied or unpickled.
    results = []
    for lib in (nn, torch.nn):
        layer = scaled_linear_class(lib)(2, 1)
        copied = copy.deepcopy(layer)
        results.append((copied.scale, list(copied.state_dict()), copied.weight is not layer.weight))
    assert results[0] == results[1] == (1.0, ["weight", "bias"], True)
    restored = pickle.loads(pickle.dumps(ScaledLinear(2, 1)))
    assert restored.scale == 1.0 and restored(ag.ones(3, 2)).shape == (3, 1)


def test_setstate_gives_a_module_pickled_without_some_registries_empty_ones(torch):
    # A pickle from an older version lacks the registries added since; PyTorch fills them in.
    added_later = ("_state_dict_pre_hooks", "_load_state_dict_post_hooks", "_backward_pre_hooks")
    for lib, t in ((nn, ag), (torch.nn, torch)):
        layer = lib.Linear(2, 1)
        fresh = lib.Linear.__new__(lib.Linear)
        fresh.__setstate__({k: v for k, v in layer.__dict__.items() if k not in added_later})
        fresh.register_full_backward_pre_hook(lambda module, grad_output: None)
        assert fresh.load_state_dict(layer.state_dict()) == ([], [])
        assert list(fresh.state_dict()) == ["weight", "bias"]
        fresh(t.ones(1, 2, requires_grad=True)).sum().backward()
