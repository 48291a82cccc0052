"""Conv1d, MaxPool1d, AvgPool1d, AdaptiveAvgPool1d, GroupNorm and InstanceNorm1d/2d
(and their functional forms) against PyTorch in float64: values and gradients of
input, weight and bias over a spread of options, in training and eval, second
derivatives, state_dict keys and shapes, reprs, default initialization, and the
errors a user will hit."""
import math
import warnings

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

from tests.torch_versions import as_torch_prints, with_torch_marks

from .torch_compare import assert_close_to_torch, distinct_values, float64_leaves, named_rng, run_both

pytestmark = [
    # PyTorch warns that its own 'same' padding with an even kernel copies the input
    pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths"),
]


def _normal(*shape):
    return lambda rng: rng.standard_normal(shape)


# name: (build(nn namespace) -> module, input(rng) -> float64 array)
LAYERS = {
    "Conv1d-default": (lambda nn: nn.Conv1d(3, 4, 3), _normal(2, 3, 7)),
    "Conv1d-groups-dilation-stride-padding": (
        lambda nn: nn.Conv1d(6, 9, 3, stride=2, padding=2, dilation=2, groups=3), _normal(2, 6, 11)),
    "Conv1d-same-even-kernel-depthwise-no-bias": (
        lambda nn: nn.Conv1d(4, 4, 4, padding="same", dilation=2, groups=4, bias=False), _normal(2, 4, 9)),
    "Conv1d-valid-strided-tuples": (lambda nn: nn.Conv1d(2, 3, (3,), stride=(2,), padding="valid"),
                                    _normal(1, 2, 8)),
    "Conv1d-unbatched": (lambda nn: nn.Conv1d(2, 3, 3, padding=1), _normal(2, 6)),
    "Conv1d-kernel-larger-than-input": (lambda nn: nn.Conv1d(1, 2, 5, padding=2), _normal(1, 1, 3)),
    "Conv1d-reflect-same": (lambda nn: nn.Conv1d(2, 3, 4, padding="same", padding_mode="reflect"),
                            _normal(2, 2, 6)),
    "Conv1d-reflect-unbatched-size-minus-1": (lambda nn: nn.Conv1d(2, 2, 3, padding=3, padding_mode="reflect"),
                                              _normal(2, 4)),
    "Conv1d-replicate-strided-grouped": (
        lambda nn: nn.Conv1d(4, 2, 3, stride=2, padding=2, groups=2, padding_mode="replicate"), _normal(2, 4, 7)),
    "Conv1d-circular-padding-size-dilated": (
        lambda nn: nn.Conv1d(1, 2, 3, padding=4, dilation=3, padding_mode="circular"), _normal(2, 1, 4)),
    "MaxPool1d-default": (lambda nn: nn.MaxPool1d(2), lambda rng: distinct_values(rng, 2, 3, 7)),
    "MaxPool1d-ceil-padding-edge": (lambda nn: nn.MaxPool1d(2, stride=2, padding=1, ceil_mode=True),
                                    lambda rng: distinct_values(rng, 1, 2, 5)),
    "MaxPool1d-dilated-padded-ceil-overlapping": (
        lambda nn: nn.MaxPool1d(3, stride=2, padding=1, dilation=2, ceil_mode=True),
        lambda rng: distinct_values(rng, 2, 2, 10)),
    "MaxPool1d-negative-with-padding-unbatched": (lambda nn: nn.MaxPool1d(3, stride=1, padding=1),
                                                  lambda rng: -np.abs(distinct_values(rng, 2, 5)) - 1),
    "AvgPool1d-default": (lambda nn: nn.AvgPool1d(3), _normal(2, 2, 10)),
    "AvgPool1d-ceil-padding-exclude": (
        lambda nn: nn.AvgPool1d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), _normal(1, 2, 6)),
    "AvgPool1d-ceil-padding-include-unbatched": (lambda nn: nn.AvgPool1d(3, stride=2, padding=1, ceil_mode=True),
                                                 _normal(2, 8)),
    "AvgPool1d-overlapping-exclude": (lambda nn: nn.AvgPool1d(4, stride=1, padding=2, count_include_pad=False),
                                      _normal(2, 3, 5)),
    "AdaptiveAvgPool1d-uneven": (lambda nn: nn.AdaptiveAvgPool1d(3), _normal(2, 2, 7)),
    "AdaptiveAvgPool1d-divides": (lambda nn: nn.AdaptiveAvgPool1d((4,)), _normal(2, 3, 8)),
    "AdaptiveAvgPool1d-global": (lambda nn: nn.AdaptiveAvgPool1d(1), _normal(2, 3, 5)),
    "AdaptiveAvgPool1d-upsample-unbatched": (lambda nn: nn.AdaptiveAvgPool1d(5), _normal(2, 3)),
    "GroupNorm-2d-image": (lambda nn: nn.GroupNorm(2, 6), lambda rng: rng.standard_normal((2, 6, 3, 4)) * 3 + 1),
    "GroupNorm-one-group-no-affine": (lambda nn: nn.GroupNorm(1, 4, eps=1e-3, affine=False), _normal(3, 4, 5)),
    "GroupNorm-group-per-channel-no-bias": (lambda nn: nn.GroupNorm(3, 3, bias=False), _normal(2, 3, 6)),
    "GroupNorm-no-spatial-axes": (lambda nn: nn.GroupNorm(2, 4), _normal(3, 4)),
    "GroupNorm-3d-volume": (lambda nn: nn.GroupNorm(4, 8), _normal(1, 8, 2, 3, 2)),
    "InstanceNorm1d-default": (lambda nn: nn.InstanceNorm1d(3), lambda rng: rng.standard_normal((2, 3, 6)) * 2 - 1),
    "InstanceNorm1d-affine-tracked": (lambda nn: nn.InstanceNorm1d(3, affine=True, track_running_stats=True),
                                      lambda rng: rng.standard_normal((4, 3, 5)) + 2),
    "InstanceNorm1d-tracked-momentum-None": (
        lambda nn: nn.InstanceNorm1d(2, momentum=None, track_running_stats=True), _normal(2, 2, 4)),
    "InstanceNorm1d-unbatched-affine-no-bias": (lambda nn: nn.InstanceNorm1d(3, affine=True, bias=False),
                                                _normal(3, 7)),
    "InstanceNorm2d-default": (lambda nn: nn.InstanceNorm2d(2), _normal(2, 2, 3, 4)),
    "InstanceNorm2d-affine-tracked-momentum": (
        lambda nn: nn.InstanceNorm2d(3, eps=1e-3, momentum=0.5, affine=True, track_running_stats=True),
        lambda rng: rng.standard_normal((2, 3, 3, 3)) * 0.5 + 1),
    "InstanceNorm2d-unbatched-tracked": (lambda nn: nn.InstanceNorm2d(2, track_running_stats=True),
                                         _normal(2, 4, 3)),
}


# Layers whose PyTorch twin needs a newer PyTorch: {name: (version, what it added)}.
NEWER_TORCH = {name: ("2.13", "the norm layers' bias= argument is new in 2.13")
               for name in ("GroupNorm-group-per-channel-no-bias", "InstanceNorm1d-unbatched-affine-no-bias")}


def _twins(torch, name):
    """Our layer and PyTorch's, in float64, with PyTorch's initial state in ours."""
    build = LAYERS[name][0]
    ours, theirs = build(nn).double(), build(torch.nn).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("name", with_torch_marks(sorted(LAYERS), NEWER_TORCH))
def test_layer_matches_torch_in_training_and_eval(device, torch, name):
    """Output, input and parameter gradients and buffers, three training steps (running
    statistics move each time) and one in eval; then the repr."""
    ours, theirs = _twins(torch, name)
    make_input = LAYERS[name][1]
    rng = named_rng(name)
    for step in range(3):
        run_both(torch, ours, theirs, make_input(rng), seed=step)
        ours.zero_grad()
        theirs.zero_grad()
    ours.eval()
    theirs.eval()
    run_both(torch, ours, theirs, make_input(rng), seed=3)
    assert as_torch_prints(repr(ours)) == repr(theirs)


@pytest.mark.parametrize("name", with_torch_marks(sorted(LAYERS), NEWER_TORCH))
def test_state_dict_keys_shapes_and_attributes_match_torch(device, torch, name):
    build = LAYERS[name][0]
    ours, theirs = build(nn), build(torch.nn)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for attribute in ("kernel_size", "stride", "padding", "dilation", "groups", "output_padding", "padding_mode",
                      "ceil_mode", "count_include_pad", "return_indices", "output_size", "num_groups",
                      "num_channels", "num_features", "eps", "momentum", "affine", "track_running_stats"):
        if hasattr(theirs, attribute):
            assert getattr(ours, attribute) == getattr(theirs, attribute), attribute


def test_default_initialization_matches_torch(device, torch):
    """Conv1d: weight and bias uniform within 1/sqrt(fan_in), fan_in = in/groups * K (PyTorch's
    kaiming_uniform_ with a=sqrt(5)); the norms start at weight 1, bias 0, running 0 and 1."""
    conv = nn.Conv1d(64, 512, 5, groups=2)
    bound = 1 / math.sqrt(32 * 5)
    for p, n in ((conv.weight, 512 * 32 * 5), (conv.bias, 512)):
        values = p.numpy()
        assert values.dtype == np.float32
        assert np.abs(values).max() <= np.float32(bound)  # (rounding to float32 is monotonic)
        assert np.abs(values).max() > bound * (1 - 10 / n)  # fills the interval
        # a uniform's standard deviation is bound / sqrt(3); the tolerance is 5 standard errors
        assert abs(values.std() - bound / math.sqrt(3)) < 5 * bound / math.sqrt(3) / math.sqrt(2 * n)
        assert abs(values.mean()) < 5 * bound / math.sqrt(3) / math.sqrt(n)
    theirs = torch.nn.Conv1d(64, 512, 5, groups=2)
    assert conv.weight.shape == tuple(theirs.weight.shape)
    for layer in (nn.GroupNorm(2, 4), nn.InstanceNorm1d(4, affine=True, track_running_stats=True),
                  nn.InstanceNorm2d(4, affine=True)):
        np.testing.assert_array_equal(layer.weight.numpy(), np.ones(4, dtype=np.float32))
        np.testing.assert_array_equal(layer.bias.numpy(), np.zeros(4, dtype=np.float32))
    tracked = nn.InstanceNorm1d(4, track_running_stats=True)
    np.testing.assert_array_equal(tracked.running_mean.numpy(), np.zeros(4))
    np.testing.assert_array_equal(tracked.running_var.numpy(), np.ones(4))
    assert tracked.num_batches_tracked.item() == 0
    with ag.no_grad():
        conv.weight.mul_(0.0)
    conv.reset_parameters()
    assert np.abs(conv.weight.numpy()).max() > bound / 2


# --- functional forms: values and gradients to second order ---------------------------

def _conv1d(F, x, w, b):
    return F.conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2)


def _conv1d_same(F, x, w, b):
    return F.conv1d(x, w, b, padding="same", groups=2)


def _group_norm(F, x, w, b):
    return F.group_norm(x, 2, w, b, eps=1e-3)


def _instance_norm(F, x, w, b):
    return F.instance_norm(x, weight=w, bias=b, eps=1e-3)


def _max_pool1d(F, x, w, b):
    return F.max_pool1d(x, 3, 2, 1, dilation=1, ceil_mode=True) * b[0]


def _avg_pool1d(F, x, w, b):
    return F.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False) * b[0]


def _adaptive_avg_pool1d(F, x, w, b):
    return F.adaptive_avg_pool1d(x, 4) * b[0]


# name: (function(F, x, weight, bias), input, weight, bias shapes)
FUNCTIONS = {
    "conv1d": (_conv1d, (2, 4, 9), (6, 2, 3), (6,)),
    "conv1d-same-unbatched": (_conv1d_same, (4, 7), (2, 2, 4), (2,)),
    "group_norm": (_group_norm, (2, 4, 5), (4,), (4,)),
    "instance_norm": (_instance_norm, (2, 3, 6), (3,), (3,)),
    "max_pool1d": (_max_pool1d, (2, 3, 8), (1,), (1,)),
    "avg_pool1d": (_avg_pool1d, (2, 3, 8), (1,), (1,)),
    "adaptive_avg_pool1d": (_adaptive_avg_pool1d, (2, 3, 7), (1,), (1,)),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_functional_matches_torch_to_second_order(device, torch, name):
    """Value; gradients of input, weight and bias with create_graph; then the gradient of a
    gradient penalty (the second derivatives) against torch.autograd.grad."""
    fn, *shapes = FUNCTIONS[name]
    rng = named_rng(name)
    arrays = [distinct_values(rng, *s) if "pool" in name and i == 0 else rng.standard_normal(s)
              for i, s in enumerate(shapes)]
    pairs = [float64_leaves(torch, a) for a in arrays]
    ours, theirs = [o for o, _ in pairs], [t for _, t in pairs]
    yo, yt = fn(F, *ours), fn(torch.nn.functional, *theirs)
    assert_close_to_torch(yo, yt)
    r = rng.standard_normal(tuple(yt.shape))
    used = [i for i in range(3) if name.startswith(("conv", "group", "instance")) or i != 1]
    go = ag.grad(yo, [ours[i] for i in used], ag.tensor(r, dtype=ag.float64), create_graph=True)
    gt = torch.autograd.grad(yt, [theirs[i] for i in used], torch.from_numpy(r), create_graph=True)
    for o, t in zip(go, gt):
        assert_close_to_torch(o, t, rtol=1e-9, atol=1e-11)
    penalty_o = sum(((g * g).sum() for g in go), ag.tensor(0.0, dtype=ag.float64))
    penalty_t = sum((g * g).sum() for g in gt)
    # a conv's or norm's bias gradient is the sum of r: the penalty does not reach the bias
    ho = ag.grad(penalty_o, [ours[i] for i in used], allow_unused=True)
    ht = torch.autograd.grad(penalty_t, [theirs[i] for i in used], allow_unused=True)
    for o, t in zip(ho, ht):
        assert (o is None) == (t is None)
        if t is not None:
            assert_close_to_torch(o, t, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("kwargs", [dict(kernel_size=3, stride=1), dict(kernel_size=2, padding=1),
                                    dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True)])
@pytest.mark.parametrize("unbatched", [False, True])
def test_max_pool1d_indices_and_ties_match_torch(device, torch, kwargs, unbatched):
    """Indices are positions along L; on ties each window's gradient goes to its first cell."""
    for x in (distinct_values(named_rng("indices"), 2, 2, 9), np.full((2, 2, 9), 0.5)):
        x = x[0] if unbatched else x
        xo, xt = float64_leaves(torch, x)
        (yo, io), (yt, it) = (F.max_pool1d(xo, return_indices=True, **kwargs),
                              torch.nn.functional.max_pool1d(xt, return_indices=True, **kwargs))
        assert_close_to_torch(yo, yt)
        np.testing.assert_array_equal(io.numpy(), it.numpy())
        yo.sum().backward()
        yt.sum().backward()
        assert_close_to_torch(xo.grad, xt.grad)
    layer = nn.MaxPool1d(return_indices=True, **kwargs)
    assert repr(layer) == repr(torch.nn.MaxPool1d(return_indices=True, **kwargs))
    out, indices = layer(ag.tensor(x))
    assert out.shape == indices.shape


def test_instance_norm_running_statistics_and_eval_match_torch(device, torch):
    """The functional form: buffers updated in place by the batch's average of per-sample
    means and unbiased variances; then normalization by them."""
    rng = named_rng("running")
    x = rng.standard_normal((3, 2, 5)) * 2 + 1
    w, b = rng.standard_normal(2), rng.standard_normal(2)
    stats = [np.array([0.5, -1.0]), np.array([2.0, 0.5])]
    ours_stats = [ag.tensor(s, dtype=ag.float64) for s in stats]
    theirs_stats = [torch.tensor(s) for s in stats]
    (xo, xt), (wo, wt), (bo, bt) = (float64_leaves(torch, a) for a in (x, w, b))
    for use_input_stats in (True, False):
        yo = F.instance_norm(xo, *ours_stats, wo, bo, use_input_stats=use_input_stats, momentum=0.3)
        yt = torch.nn.functional.instance_norm(xt, *theirs_stats, wt, bt, use_input_stats=use_input_stats,
                                               momentum=0.3)
        assert_close_to_torch(yo, yt)
        for o, t in zip(ours_stats, theirs_stats):
            assert_close_to_torch(o, t)
        gy = rng.standard_normal(x.shape)
        go = ag.grad(yo, [xo, wo, bo], ag.tensor(gy, dtype=ag.float64))
        gt = torch.autograd.grad(yt, [xt, wt, bt], torch.from_numpy(gy))
        for o, t in zip(go, gt):
            assert_close_to_torch(o, t)


def test_instance_norm_of_an_empty_batch_leaves_the_running_stats_alone(device, torch):
    """PyTorch returns the empty output too but sets the running statistics to NaN (the
    mean of no samples), and with affine=True raises an IndexError; here, as batch_norm
    does for an empty batch, the statistics stay and the output is empty either way."""
    layer = nn.InstanceNorm1d(3, affine=True, track_running_stats=True)
    out = layer(ag.zeros((0, 3, 4)))
    assert out.shape == tuple(torch.nn.functional.instance_norm(torch.zeros(0, 3, 4)).shape)
    np.testing.assert_array_equal(layer.running_mean.numpy(), np.zeros(3))
    np.testing.assert_array_equal(layer.running_var.numpy(), np.ones(3))


@pytest.mark.parametrize("shape", [(0, 4, 3), (2, 4, 0)])
def test_group_norm_of_empty_inputs_matches_torch(device, torch, shape):
    """An empty output and zero parameter gradients; PyTorch gives a NaN weight gradient
    (a sum over no elements) when the spatial axes are empty, topograd 0."""
    xo, xt = float64_leaves(torch, np.zeros(shape))
    (wo, wt), (bo, bt) = float64_leaves(torch, np.ones(4)), float64_leaves(torch, np.zeros(4))
    yo, yt = F.group_norm(xo, 2, wo, bo), torch.nn.functional.group_norm(xt, 2, wt, bt)
    assert_close_to_torch(yo, yt)
    go = ag.grad(yo.sum(), [xo, wo, bo])
    gt = torch.autograd.grad(yt.sum(), [xt, wt, bt])
    assert_close_to_torch(go[0], gt[0])
    assert_close_to_torch(go[2], gt[2])
    np.testing.assert_array_equal(go[1].numpy(), np.zeros(4))


def test_float32_layers_run_on_every_backend(device, torch):
    """The default dtype end to end through a small 1-D network, with PyTorch's numbers."""
    ours = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1, padding_mode="circular"), nn.GroupNorm(2, 4),
                         nn.MaxPool1d(2), nn.InstanceNorm1d(4, affine=True), nn.AvgPool1d(2, padding=1),
                         nn.AdaptiveAvgPool1d(2))
    theirs = torch.nn.Sequential(torch.nn.Conv1d(2, 4, 3, padding=1, padding_mode="circular"),
                                 torch.nn.GroupNorm(2, 4), torch.nn.MaxPool1d(2),
                                 torch.nn.InstanceNorm1d(4, affine=True), torch.nn.AvgPool1d(2, padding=1),
                                 torch.nn.AdaptiveAvgPool1d(2))
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = named_rng("float32").standard_normal((3, 2, 10)).astype(np.float32)
    xo, xt = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    assert yo.dtype == ag.float32
    assert_close_to_torch(yo, yt, rtol=1e-4, atol=1e-5)
    yo.sum().backward()
    yt.sum().backward()
    assert_close_to_torch(xo.grad, xt.grad, rtol=1e-3, atol=1e-5)
    assert_close_to_torch(ours[0].weight.grad, theirs[0].weight.grad, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("build", [lambda nn: nn.GroupNorm(2, 4),
                                   lambda nn: nn.InstanceNorm1d(4, affine=True, track_running_stats=True)])
def test_float16_norms_of_large_activations_are_computed_in_float32_like_torch(device, torch, build):
    """Centred values past 256 square to inf in float16; PyTorch computes in float32 and
    rounds once, and so do group_norm and instance_norm (as batch_norm and layer_norm)."""
    if device == "strict":
        pytest.skip("the Array API standard has no float16")
    x = named_rng("float16").normal(0.0, 400.0, (3, 4, 6)).astype(np.float16)
    r = named_rng("float16 r").normal(size=x.shape).astype(np.float16)
    ours, theirs = build(nn).half(), build(torch.nn).half()
    xo, xt = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    assert yo.dtype == ag.float16
    np.testing.assert_allclose(yo.numpy().astype(np.float64), yt.detach().numpy().astype(np.float64), atol=4e-3)
    for (name, b), (_, c) in zip(ours.named_buffers(), theirs.named_buffers()):
        assert b.dtype == ag.float16 or name == "num_batches_tracked"
        np.testing.assert_allclose(b.numpy().astype(np.float64), c.numpy().astype(np.float64), rtol=2e-3)
    (yo * ag.tensor(r)).sum().backward()
    (yt * torch.tensor(r)).sum().backward()
    assert xo.grad.dtype == ag.float16 and ours.weight.grad.dtype == ag.float16
    np.testing.assert_allclose(xo.grad.numpy().astype(np.float64), xt.grad.numpy().astype(np.float64), atol=1e-4)
    np.testing.assert_allclose(ours.weight.grad.numpy().astype(np.float64),
                               theirs.weight.grad.numpy().astype(np.float64), rtol=5e-3)


# --- errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("make, error, message", [
    (lambda: nn.GroupNorm(3, 4), ValueError, r"num_channels \(4\) must be divisible by num_groups \(3\)"),
    (lambda: nn.GroupNorm(0, 4), ValueError, "num_groups must be a positive int"),
    (lambda: nn.Conv1d(3, 4, 3, groups=2), ValueError, "divisible by groups"),
    (lambda: nn.Conv1d(2, 4, 3, stride=2, padding="same"), ValueError, "'same' is not supported for strided"),
    (lambda: nn.Conv1d(2, 4, (3, 3)), TypeError, "kernel_size must be an int or a 1-tuple"),
    (lambda: nn.Conv1d(2, 4, 3, padding="full"), ValueError, "padding must be an int, a 1-tuple, 'valid' or"),
    (lambda: nn.Conv1d(2, 4, 3, padding_mode="mirror"), ValueError, "padding_mode must be one of"),
    (lambda: nn.MaxPool1d(0), ValueError, "MaxPool1d: kernel_size must be at least 1"),
    (lambda: nn.AvgPool1d(2, stride=(1, 1)), TypeError, "AvgPool1d: stride must be an int or a 1-tuple"),
    (lambda: nn.InstanceNorm1d(0), ValueError, "num_features must be a positive int"),
])
def test_layer_construction_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


_X = lambda *shape: ag.zeros(shape, dtype=ag.float64)  # noqa: E731


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.conv1d(_X(1, 2, 5), _X(3, 2, 3, 1)), ValueError, r"conv1d: weight must be 3-D \(out_channels"),
    (lambda: F.conv1d(_X(1, 2, 5, 5), _X(3, 2, 3)), ValueError, r"conv1d: expected a \(N, C, L\) or \(C, L\)"),
    (lambda: F.conv1d(_X(1, 4, 5), _X(3, 2, 3)), ValueError, "input has 4 channels but the weight"),
    (lambda: F.conv1d(_X(1, 2, 5), _X(3, 2, 0)), ValueError, "at least one output channel and a kernel"),
    (lambda: F.conv1d(_X(1, 2, 5), _X(3, 2, 3), _X(2)), ValueError, r"bias must have shape \(3,\)"),
    (lambda: F.conv1d(_X(1, 2, 5), _X(3, 2, 3), stride=(1, 2)), TypeError, "stride must be an int or a 1-tuple"),
    (lambda: F.conv1d(_X(1, 2, 5), _X(3, 2, 3), stride=2, padding="same"), ValueError, "'same' needs stride 1"),
    (lambda: F.conv1d(_X(1, 2, 2), _X(3, 2, 3)), ValueError, "smaller than the kernel's extent 3"),
    (lambda: F.conv1d(_X(1, 2, 5), ag.zeros((3, 2, 3))), TypeError, "weight is float32 but the input is float64"),
    (lambda: nn.Conv1d(2, 2, 3, padding=3, padding_mode="reflect")(ag.zeros((1, 2, 3))), ValueError,
     "too large for reflect padding of a 3 input"),
    (lambda: nn.Conv1d(2, 2, 3, padding_mode="replicate")(ag.zeros((1, 1, 2, 3))), ValueError,
     r"Conv1d: expected a \(N, C, L\) or \(C, L\) input"),
    (lambda: F.max_pool1d(_X(1, 2, 5), 2, padding=2), ValueError, "padding 2 must be at most half the kernel"),
    (lambda: F.max_pool1d(_X(1, 2, 5), 2, stride=0), ValueError, "stride must be at least 1"),
    (lambda: F.avg_pool1d(_X(5), 2), ValueError, r"avg_pool1d: expected a \(N, C, L\)"),
    (lambda: F.adaptive_avg_pool1d(_X(1, 2, 5), None), TypeError, "output_size must be an int or a 1-tuple"),
    (lambda: F.adaptive_avg_pool1d(_X(1, 2, 0), 2), ValueError, "length must be non-zero"),
    (lambda: F.group_norm(_X(2, 4, 3), 3), ValueError, r"4 channels .* do not divide into num_groups=3"),
    (lambda: F.group_norm(_X(4), 2), ValueError, r"group_norm: expected an input of shape \(N, C, ...\)"),
    (lambda: F.group_norm(_X(2, 4, 3), 2, _X(2)), ValueError, r"weight must have shape \(4,\)"),
    (lambda: F.group_norm(_X(2, 4, 3), 0), ValueError, "num_groups must be positive"),
    (lambda: F.group_norm(_X(2, 4, 3), 2.0), TypeError, "num_groups must be an int, not float"),
    (lambda: nn.GroupNorm(2, 4)(_X(2, 6, 3)), ValueError, r"GroupNorm: expected 4 channels \(axis 1\)"),
    (lambda: F.instance_norm(_X(2, 3, 1)), ValueError, "more than 1 spatial element"),
    (lambda: F.instance_norm(_X(2, 3, 4), use_input_stats=False), ValueError, "needs running_mean and running_var"),
    (lambda: F.instance_norm(_X(2, 3, 4), _X(2), _X(3)), ValueError, r"running_mean must have shape \(3,\)"),
    (lambda: nn.InstanceNorm1d(3)(_X(2, 3, 4, 4)), ValueError, r"expected 2D \(unbatched\) or 3D input, got 4D"),
    (lambda: nn.InstanceNorm2d(3)(_X(3, 4)), ValueError, r"expected 3D \(unbatched\) or 4D input, got 2D"),
    (lambda: nn.InstanceNorm1d(3, affine=True)(_X(2, 4, 5)), ValueError, r"expected 3 channels \(axis 1\)"),
    (lambda: nn.InstanceNorm1d(3)("x"), TypeError, "expected a Tensor"),
])
def test_call_errors_name_the_problem(device, call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_instance_norm_warns_on_unused_num_features_like_torch(device, torch):
    with pytest.warns(UserWarning, match="does not match num_features"):
        theirs = torch.nn.InstanceNorm1d(3)(torch.ones(2, 4, 5, dtype=torch.float64))
    with pytest.warns(UserWarning, match="do not match num_features=3"):
        ours = nn.InstanceNorm1d(3)(ag.ones((2, 4, 5), dtype=ag.float64))
    assert_close_to_torch(ours, theirs)


def test_a_rejected_input_leaves_the_running_statistics_alone(device):
    layer = nn.InstanceNorm1d(3, track_running_stats=True)
    for bad in (ag.ones((2, 4, 5)), ag.ones((2, 3, 1))):
        with pytest.raises(ValueError):
            layer(bad)
    np.testing.assert_array_equal(layer.running_mean.numpy(), np.zeros(3))
    np.testing.assert_array_equal(layer.running_var.numpy(), np.ones(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer(ag.tensor(np.arange(30.0, dtype=np.float32).reshape(2, 3, 5)))
    np.testing.assert_allclose(layer.running_mean.numpy(), 0.1 * np.arange(30.0).reshape(2, 3, 5).mean((0, 2)),
                               rtol=1e-6)
