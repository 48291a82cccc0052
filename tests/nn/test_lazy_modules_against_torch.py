"""nn.LazyLinear, LazyConv*/LazyConvTranspose*, LazyBatchNorm* and LazyInstanceNorm*
against PyTorch 2.13: after the first call each is the ordinary layer (class, repr,
state_dict keys and shapes as torch's lazy module's after its first call), its output and
gradients match the ordinary PyTorch layer holding the same weights (float64), and it was
initialized as our ordinary layer is from the same seed. Before the first call: the
placeholders' errors, Module.to, deepcopy, state_dict and load_state_dict (which initializes
from the loaded shapes), bad first inputs that change nothing, and optimizers built before
and after the dry run."""
import copy

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from nn.parameter import UninitializedBuffer, UninitializedParameter, is_lazy

from tests.torch_versions import as_torch_prints, needs_torch, torch_older_than

from .torch_compare import named_rng

# (lazy class, its arguments, the input size it infers, input shape): the ordinary layer is
# the class without "Lazy", with the inferred size first (InstanceNorm's lazy defaults,
# affine=True and track_running_stats=True, are spelled out, as the ordinary ones differ).
CASES = [
    ("LazyLinear", (3,), {}, 4, (2, 5, 4)),
    ("LazyLinear", (3,), {"bias": False}, 4, (4,)),
    ("LazyConv1d", (4, 3), {"padding": 1}, 3, (2, 3, 7)),
    ("LazyConv2d", (4, 3), {"stride": 2, "padding": 1, "groups": 2, "padding_mode": "reflect"}, 6, (2, 6, 7, 6)),
    ("LazyConv3d", (2, 2), {"bias": False}, 3, (3, 4, 4, 4)),  # unbatched: channels on axis 0
    ("LazyConvTranspose1d", (4, 3), {"stride": 2, "output_padding": 1}, 3, (2, 3, 5)),
    ("LazyConvTranspose2d", (4, 3), {"groups": 2, "dilation": 2}, 4, (2, 4, 4, 5)),
    ("LazyConvTranspose3d", (2, 2), {"stride": 2}, 3, (1, 3, 2, 3, 2)),
    ("LazyBatchNorm1d", (), {}, 5, (6, 5)),
    ("LazyBatchNorm1d", (), {"momentum": None}, 3, (4, 3, 5)),
    ("LazyBatchNorm2d", (), {"affine": False}, 4, (3, 4, 3, 3)),
    ("LazyBatchNorm3d", (), {"track_running_stats": False}, 3, (2, 3, 2, 2, 2)),
    ("LazyInstanceNorm1d", (), {"affine": True, "track_running_stats": True}, 3, (2, 3, 6)),
    ("LazyInstanceNorm2d", (), {"affine": True, "track_running_stats": True, "bias": False}, 2, (2, 2, 3, 4)),
    ("LazyInstanceNorm3d", (), {"affine": True, "track_running_stats": True, "momentum": 0.3}, 2,
     (2, 2, 3, 2, 3)),
]
IDS = [f"{name}-{i}" for i, (name, *_) in enumerate(CASES)]
# The cases as the tests against PyTorch take them: a norm layer's bias= needs PyTorch 2.13.
TORCH_CASES = [pytest.param(case, marks=needs_torch("2.13", "the norm layers' bias= argument is new in 2.13"))
               if "Norm" in case[0] and "bias" in case[2] else case for case in CASES]


def lazy(lib, case):
    name, args, kwargs, _, _ = case
    return getattr(lib, name)(*args, **kwargs)


def ordinary(lib, case):
    name, args, kwargs, size, _ = case
    return getattr(lib, name[len("Lazy"):])(size, *args, **kwargs)


def case_input(case):
    return named_rng(case[0] + str(case[4])).standard_normal(case[4])


def torch_state(torch, module):
    return {k: torch.from_numpy(v.numpy().copy()) for k, v in module.state_dict().items()}


def copy_parameters_into(torch, theirs, ours):
    with torch.no_grad():
        for name, p in theirs.named_parameters():
            p.copy_(torch.from_numpy(ours.get_parameter(name).numpy().copy()))


@pytest.mark.parametrize("case", TORCH_CASES, ids=IDS)
def test_the_first_call_is_the_ordinary_layer_with_its_weights(device, torch, case):
    """Values and gradients of the first call (which initializes) against the ordinary
    PyTorch layer given the same weights; buffers after it (running statistics) too."""
    ours = lazy(nn, case).double()
    x = case_input(case)
    xo = ag.tensor(x, requires_grad=True)
    out = ours(xo)
    theirs = ordinary(torch.nn, case).double()
    copy_parameters_into(torch, theirs, ours)
    xt = torch.tensor(x, requires_grad=True)
    ref = theirs(xt)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = named_rng("grad").standard_normal(tuple(ref.shape))
    out.backward(ag.tensor(g))
    ref.backward(torch.from_numpy(g))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    their_params = dict(theirs.named_parameters())
    assert [n for n, _ in ours.named_parameters()] == list(their_params)
    for name, p in ours.named_parameters():
        assert p.dtype == ag.float64
        np.testing.assert_allclose(p.grad.numpy(), their_params[name].grad.numpy(), rtol=1e-10, atol=1e-12)
    their_buffers = dict(theirs.named_buffers())
    assert [n for n, _ in ours.named_buffers()] == list(their_buffers)
    for name, b in ours.named_buffers():
        np.testing.assert_allclose(b.numpy(), their_buffers[name].numpy(), rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("case", TORCH_CASES, ids=IDS)
def test_class_repr_and_state_dict_match_torch_before_and_after_the_first_call(torch, case):
    ours, theirs = lazy(nn, case), lazy(torch.nn, case)
    assert as_torch_prints(repr(ours)) == repr(theirs)  # e.g. LazyLinear(in_features=0, out_features=3, bias=True)
    before_ours, before_theirs = ours.state_dict(), theirs.state_dict()
    assert list(before_ours) == list(before_theirs)
    for (name, o), t in zip(before_ours.items(), before_theirs.values()):
        assert is_lazy(o) == is_lazy_torch(torch, t), name
        assert repr(o) == repr(t) if is_lazy(o) else o.shape == tuple(t.shape), name
    x = case_input(case)
    ours(ag.tensor(x, dtype=ag.float32))
    theirs(torch.tensor(x, dtype=torch.float32))
    assert type(ours).__name__ == type(theirs).__name__ == case[0][len("Lazy"):]
    assert type(ours) is type(ordinary(nn, case))
    assert as_torch_prints(repr(ours)) == repr(theirs)
    after_ours, after_theirs = ours.state_dict(), theirs.state_dict()
    assert list(after_ours) == list(after_theirs)
    for name, value in after_ours.items():
        assert value.shape == tuple(after_theirs[name].shape), name
        assert value.dtype.name == str(after_theirs[name].dtype).removeprefix("torch."), name
    assert not ours._forward_pre_hooks and "_initialize_hook" not in vars(ours)


def is_lazy_torch(torch, t):
    return isinstance(t, torch.nn.parameter.UninitializedTensorMixin)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_initialized_as_our_ordinary_layer_from_the_same_seed(case):
    x = ag.tensor(case_input(case), dtype=ag.float32)
    ag.manual_seed(7)
    module = lazy(nn, case)
    module(x)
    ag.manual_seed(7)
    reference = ordinary(nn, case)
    after_call = module.state_dict()
    expected = reference.state_dict()
    assert list(after_call) == list(expected)
    for name, value in expected.items():
        if "running" in name or name == "num_batches_tracked":
            continue  # the call updated them
        assert value.dtype == after_call[name].dtype
        np.testing.assert_array_equal(after_call[name].numpy(), value.numpy(), err_msg=name)
    # the random stream goes on alike: the first call drew what the constructor draws, no more
    ag.manual_seed(7)
    lazy(nn, case)(x)
    after_lazy = ag.randn(3).numpy()
    ag.manual_seed(7)
    ordinary(nn, case)
    np.testing.assert_array_equal(after_lazy, ag.randn(3).numpy())


def test_the_lazy_classes_take_pytorchs_arguments(torch):
    import inspect
    for name in ["LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
                 "LazyConvTranspose3d", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d",
                 "LazyInstanceNorm2d", "LazyInstanceNorm3d"]:
        ours = inspect.signature(getattr(nn, name)).parameters
        theirs = inspect.signature(getattr(torch.nn, name)).parameters
        if "Norm" in name and torch_older_than("2.13"):  # the norm layers' bias= is new in PyTorch 2.13
            ours = {k: p for k, p in ours.items() if k != "bias"}
        assert [(p.name, p.default, p.kind) for p in ours.values()] == \
            [(p.name, p.default, p.kind) for p in theirs.values()], name
        assert issubclass(getattr(nn, name), getattr(nn, name[len("Lazy"):])), name  # as in PyTorch


# --- before the first call ------------------------------------------------------------------

def test_uninitialized_parameters_refuse_shapes_and_ops_as_torchs_do(torch):
    ours, theirs = nn.LazyLinear(3), torch.nn.LazyLinear(3)
    w, tw = ours.weight, theirs.weight
    assert type(w) is UninitializedParameter and isinstance(w, nn.Parameter) and is_lazy(w)
    assert repr(w) == repr(tw) == "<UninitializedParameter>"
    home = ag.tensor(0.0).device  # the default device, which a module made without one follows
    assert (w.dtype, w.device, w.requires_grad, w.grad, w.is_leaf) == (ag.float32, home, True, None, True)
    attempts = [  # (ours, theirs): each raises the same type of error in both
        (lambda: w.shape, lambda: tw.shape),
        (lambda: w + 1, lambda: tw + 1),
        (lambda: w.size, lambda: tw.numel()),
        (lambda: w.ndim, lambda: tw.dim()),
        (lambda: len(w), lambda: len(tw)),
        (lambda: F.linear(ag.ones(2, 4), w), lambda: torch.nn.functional.linear(torch.ones(2, 4), tw)),
        (lambda: nn.init.xavier_uniform_(w), lambda: torch.nn.init.xavier_uniform_(tw)),
    ]
    for mine, reference in attempts:
        with pytest.raises(Exception) as expected:
            reference()
        with pytest.raises(expected.type, match="uninitialized parameter.*Lazy module.*call the module once"):
            mine()
    with pytest.raises(ValueError, match="uninitialized parameter"):
        w.numpy()
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized parameter"):
        w.shape
    assert type(nn.LazyBatchNorm1d().running_mean) is UninitializedBuffer
    assert repr(nn.LazyBatchNorm1d().running_var) == "<UninitializedBuffer>"
    assert not nn.LazyBatchNorm1d().running_var.requires_grad


def test_to_and_deepcopy_before_the_first_call():
    module = nn.LazyConv2d(4, 3, device="cpu")
    assert module.double() is module and module.weight.dtype == ag.float64
    twin = copy.deepcopy(module)
    assert is_lazy(twin.weight) and twin.weight is not module.weight and twin.weight.dtype == ag.float64
    twin(ag.randn(1, 2, 5, 5, dtype=ag.float64, device="cpu"))
    assert type(twin) is nn.Conv2d and twin.weight.shape == (4, 2, 3, 3) and twin.weight.dtype == ag.float64
    assert type(module) is nn.LazyConv2d and is_lazy(module.weight) and len(module._forward_pre_hooks) == 1
    half = nn.LazyBatchNorm2d(dtype=ag.float64).float()
    half(ag.randn(2, 3, 2, 2))
    assert half.running_mean.dtype == ag.float32 and half.num_batches_tracked.dtype == ag.int64
    assert not half.running_mean.requires_grad and type(half.running_mean) is ag.Tensor
    assert half.weight.requires_grad and type(half.weight) is nn.Parameter


def test_a_module_frozen_before_the_first_call_stays_frozen():
    module = nn.LazyLinear(2).requires_grad_(False)
    module(ag.randn(3, 4))
    assert [p.requires_grad for p in module.parameters()] == [False, False]


@pytest.mark.parametrize("make, bad, error, match", [
    (lambda: nn.LazyLinear(3), ag.tensor(1.0), ValueError, "LazyLinear: the input is 0-d"),
    (lambda: nn.LazyLinear(3), np.ones((2, 4)), TypeError, "LazyLinear: expected a Tensor input, not ndarray"),
    (lambda: nn.LazyConv2d(4, 3), ag.ones(3, 5), ValueError, r"LazyConv2d: expected a \(N, C, H, W\) or \(C, H, W\)"),
    (lambda: nn.LazyConv2d(4, 3, groups=2), ag.ones(1, 3, 5, 5), ValueError,
     r"LazyConv2d: in_channels \(3, axis 1 of an input of shape \(1, 3, 5, 5\)\) must be divisible by groups \(2\)"),
    (lambda: nn.LazyConvTranspose1d(4, 3), ag.ones(2, 0, 5), ValueError, "in_channels .* must be a positive int"),
    (lambda: nn.LazyBatchNorm2d(), ag.ones(3, 4), ValueError, "LazyBatchNorm2d: expected 4D input, got 2D"),
    (lambda: nn.LazyInstanceNorm1d(), ag.ones(2, 3, 4, 5), ValueError, "expected 2D .unbatched. or 3D input"),
])
def test_a_bad_first_input_raises_and_changes_nothing(torch, make, bad, error, match):
    module = make()
    before = repr(module)
    with pytest.raises(error, match=match):
        module(bad)
    assert repr(module) == before and type(module).__name__.startswith("Lazy") and module.has_uninitialized_params()
    assert all(is_lazy(t) for t in module.state_dict().values() if t.dtype != ag.int64)
    assert len(module._forward_pre_hooks) == 1


def test_construction_checks_what_does_not_need_the_input():
    with pytest.raises(ValueError, match=r"LazyConv2d: out_channels \(5\) must be divisible by groups \(2\)"):
        nn.LazyConv2d(5, 3, groups=2)
    with pytest.raises(ValueError, match="LazyConvTranspose1d: groups must be a positive int, got 0"):
        nn.LazyConvTranspose1d(4, 3, groups=0)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.LazyConv1d(4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="LazyBatchNorm1d: eps must be positive"):
        nn.LazyBatchNorm1d(eps=0)


def test_unbatched_instance_norm_takes_channels_from_axis_0(torch):
    """Where PyTorch's lazy instance norm reads axis 1 of an unbatched input too, and its
    forward then refuses it; here the (C, *spatial) input gives C, as the ordinary layer reads it."""
    x = named_rng("unbatched").standard_normal((3, 4, 5))
    ours = nn.LazyInstanceNorm2d().double()
    out = ours(ag.tensor(x))
    assert ours.num_features == 3 and ours.weight.shape == (3,)
    with pytest.raises(ValueError, match="match num_features"):
        torch.nn.LazyInstanceNorm2d().double()(torch.tensor(x))
    reference = torch.nn.InstanceNorm2d(3, affine=True, track_running_stats=True).double()(torch.tensor(x))
    np.testing.assert_allclose(out.numpy(), reference.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_instance_norm_without_state_still_learns_num_features(torch):
    """Nothing to materialize (affine=False, track_running_stats=False): PyTorch leaves
    num_features 0 and warns on every call; here the first call sets it all the same."""
    x = named_rng("stateless").standard_normal((2, 3, 5))
    ours = nn.LazyInstanceNorm1d(affine=False, track_running_stats=False).double()
    assert not ours.has_uninitialized_params() and ours.state_dict() == {}
    out = ours(ag.tensor(x))
    assert type(ours) is nn.InstanceNorm1d and ours.num_features == 3
    reference = torch.nn.InstanceNorm1d(3)(torch.tensor(x))
    np.testing.assert_allclose(out.numpy(), reference.numpy(), rtol=1e-10, atol=1e-12)


# --- state dicts ------------------------------------------------------------------------------

@pytest.mark.parametrize("case", TORCH_CASES, ids=IDS)
def test_loading_a_state_dict_initializes_from_its_shapes(torch, case):
    """As PyTorch's lazy modules do; here the module becomes the ordinary layer at once
    (PyTorch's stays lazy until its forward), with its size set from the shapes, and runs
    as the PyTorch layer holding that state."""
    source = ordinary(torch.nn, case).double()
    with torch.no_grad():
        for t in source.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.from_numpy(named_rng(str(t.shape)).uniform(0.5, 1.5, tuple(t.shape))))
    module = lazy(nn, case).double()
    result = module.load_state_dict({k: v.numpy() for k, v in source.state_dict().items()})
    assert result == ([], [])
    assert type(module) is type(ordinary(nn, case)) and as_torch_prints(repr(module)) == repr(source)
    for name, value in module.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), source.state_dict()[name].numpy(), err_msg=name)
    x = case_input(case)
    source.eval(), module.eval()
    np.testing.assert_allclose(module(ag.tensor(x)).numpy(), source(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)


def test_a_partial_load_initializes_the_rest_as_the_ordinary_layer():
    weight = named_rng("partial").standard_normal((3, 4)).astype(np.float32)
    ag.manual_seed(3)
    module = nn.LazyLinear(3)
    result = module.load_state_dict({"weight": weight}, strict=False)
    assert result.missing_keys == ["bias"]
    ag.manual_seed(3)
    reference = nn.Linear(4, 3)
    assert type(module) is nn.Linear and module.in_features == 4
    np.testing.assert_array_equal(module.weight.numpy(), weight)
    np.testing.assert_array_equal(module.bias.numpy(), reference.bias.numpy())


@pytest.mark.parametrize("make, state, match", [
    (lambda: nn.LazyLinear(3), {"weight": np.zeros((5, 4)), "bias": np.zeros(3)},
     r"weight: expected shape \(3, 4\), got \(5, 4\)"),
    (lambda: nn.LazyLinear(3), {"weight": np.zeros((3, 4)), "bias": np.zeros(4)},
     r"bias: expected shape \(3,\), got \(4,\)"),
    (lambda: nn.LazyLinear(3), {"bias": np.zeros(3)}, "LazyLinear has no in_features yet.*'weight', 'bias'"),
    (lambda: nn.LazyConvTranspose2d(4, 3, groups=2), {"weight": np.zeros((3, 2, 3, 3)), "bias": np.zeros(4)},
     r"in_channels \(3, from 'weight' of shape \(3, 2, 3, 3\)\) must be divisible by groups \(2\)"),
    (lambda: nn.LazyBatchNorm1d(), {"weight": np.ones(4), "bias": np.zeros(4), "running_mean": np.zeros(5),
                                    "running_var": np.ones(4), "num_batches_tracked": np.array(0)},
     r"running_mean: expected shape \(4,\), got \(5,\)"),
    (lambda: nn.Sequential(nn.LazyLinear(3)), {"0.weight": np.zeros((3, 2)), "0.bias": np.zeros(3), "1.x": 0},
     "unexpected keys: '1.x'"),
])
def test_a_refused_load_leaves_the_module_lazy(make, state, match):
    module = make()
    with pytest.raises(ValueError, match=match):
        module.load_state_dict(state)
    assert all(m.has_uninitialized_params() for m in module.modules() if type(m).__name__.startswith("Lazy"))
    assert all(type(m).__name__.startswith(("Lazy", "Sequential")) for m in module.modules())


def test_state_dicts_of_uninitialized_modules(torch):
    blank = nn.LazyLinear(3).state_dict()
    assert list(blank) == ["weight", "bias"] and all(type(v) is UninitializedParameter for v in blank.values())
    other = nn.LazyLinear(3)
    assert other.load_state_dict(blank) == ([], [])  # nothing to copy: it stays lazy, as in PyTorch
    assert type(other) is nn.LazyLinear and other.has_uninitialized_params()
    with pytest.raises(RuntimeError):  # PyTorch refuses too (reading the placeholder's shape)
        torch.nn.Linear(4, 3).load_state_dict(torch.nn.LazyLinear(3).state_dict())
    initialized = nn.Linear(4, 3)
    with pytest.raises(RuntimeError, match="weight: the value is an uninitialized parameter .*run the saved model "
                                           "forward once"):
        initialized.load_state_dict(blank)
    with pytest.raises(ValueError, match="uninitialized parameter.*call the module once"):
        nn.save(blank, "unused.safetensors")


# --- training ----------------------------------------------------------------------------------

def model(lib):
    # (ReLU before the batch norm: a bias right before it has no gradient but rounding, which Adam would amplify)
    return lib.Sequential(lib.LazyConv2d(4, 3, padding=1), lib.ReLU(), lib.LazyBatchNorm2d(), lib.Flatten(),
                          lib.LazyLinear(2))


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_training_steps_after_a_dry_run_match_torch(device, torch, optimizer):
    rng = named_rng("training")
    x, y = rng.standard_normal((4, 3, 5, 5)), rng.standard_normal((4, 2))
    options = {"lr": 0.1, "momentum": 0.9} if optimizer == "SGD" else {"lr": 0.01}
    ours, theirs = model(nn).double(), model(torch.nn).double()
    placeholders = list(ours.parameters())
    early = getattr(nn.optim, optimizer)(placeholders, **options)  # before the dry run, as PyTorch allows
    ours(ag.tensor(x[:1]))  # the dry run
    theirs(torch.tensor(x[:1]))
    theirs.load_state_dict(torch_state(torch, ours))
    assert [p is q for p, q in zip(placeholders, ours.parameters())] == [True] * 6
    opt = getattr(nn.optim, optimizer)(ours.parameters(), **options)
    their_opt = getattr(torch.optim, optimizer)(theirs.parameters(), **options)
    twin = copy.deepcopy(ours)
    twin_opt = getattr(nn.optim, optimizer)(twin.parameters(), **options)
    for _ in range(3):
        for module, o, xs, ys in [(ours, opt, ag.tensor(x), ag.tensor(y)), (twin, twin_opt, ag.tensor(x), ag.tensor(y))]:
            o.zero_grad()
            F.mse_loss(module(xs), ys).backward()
            o.step()
        their_opt.zero_grad()
        torch.nn.functional.mse_loss(theirs(torch.tensor(x)), torch.tensor(y)).backward()
        their_opt.step()
    for name, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[name].numpy(), value.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)
    assert early.param_groups[0]["params"][0] is ours[0].weight and ours[0].weight.shape == (4, 3, 3, 3)


def test_an_optimizer_built_before_the_dry_run_trains_the_parameters_it_was_given(torch):
    """The placeholders become the parameters in place, so, as in PyTorch, an optimizer
    built before the first call steps them as one built after it would."""
    ours = nn.LazyLinear(2).double()
    before = nn.optim.Adam(ours.parameters(), lr=0.1)
    x = ag.tensor(named_rng("before").standard_normal((3, 4)))
    start = None
    for _ in range(2):
        before.zero_grad()
        loss = ours(x).sum()
        start = start or {k: v.numpy().copy() for k, v in ours.state_dict().items()}
        loss.backward()
        before.step()
    theirs = torch.nn.Linear(4, 2).double()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in start.items()})
    their_opt = torch.optim.Adam(theirs.parameters(), lr=0.1)
    for _ in range(2):
        their_opt.zero_grad()
        theirs(torch.tensor(x.numpy())).sum().backward()
        their_opt.step()
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-12)
    assert before.state[ours.weight]["exp_avg"].shape == (2, 4)


def test_loading_optimizer_state_before_the_first_call_names_the_fix():
    trained = nn.LazyLinear(2)
    opt = nn.optim.Adam(trained.parameters())
    trained(ag.ones(1, 3)).sum().backward()
    opt.step()
    fresh = nn.LazyLinear(2)
    with pytest.raises(ValueError, match="parameter 0 has no shape yet .*run one forward, or load the model's "
                                         "state_dict, before"):
        nn.optim.Adam(fresh.parameters()).load_state_dict(opt.state_dict())
    fresh.load_state_dict(trained.state_dict())
    fresh_opt = nn.optim.Adam(fresh.parameters())
    fresh_opt.load_state_dict(opt.state_dict())
    np.testing.assert_array_equal(fresh_opt.state[fresh.weight]["exp_avg"].numpy(),
                                  opt.state[trained.weight]["exp_avg"].numpy())


# --- deepcopy of a lazy module before its first call ---
def test_deepcopy_of_a_lazy_module_still_copies_its_placeholders():
    twin = copy.deepcopy(nn.LazyLinear(3))
    assert type(twin.weight).__name__ == "UninitializedParameter"
    assert twin(ag.ones((2, 4))).shape == (2, 3)
