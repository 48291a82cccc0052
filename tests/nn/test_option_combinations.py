"""nn layers, losses and Module against PyTorch, for option combinations the other
nn tests leave out: grouped, dilated, strided convolutions with every
padding mode; pooling windows that start in the padding under ceil_mode; batch
norm's cumulative average and untracked statistics; K-dimensional losses with
weights, ignore_index and label smoothing together; all-ignored and empty
batches; Module.apply and train() over nested modules that override train()."""
from collections import OrderedDict

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

from tests.torch_versions import as_torch_prints

from .torch_compare import distinct_values, named_rng, run_both

pytestmark = [
    # PyTorch warns that its own 'same' padding with an even kernel copies the input
    pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths"),
]


def _f64(a, requires_grad=False):
    return ag.tensor(np.asarray(a, dtype=np.float64), dtype=ag.float64, requires_grad=requires_grad)


# --- layers: outputs, input and parameter gradients, buffers, in train (twice) and eval ---

# name: (build(nn namespace) -> module, input(rng) -> float64 array)
LAYERS = {
    "Conv2d-groups-dilation-stride-asymmetric": (
        lambda nn: nn.Conv2d(6, 9, (2, 3), stride=(3, 2), padding=(2, 1), dilation=(2, 3), groups=3),
        lambda rng: rng.standard_normal((2, 6, 9, 11))),
    "Conv2d-same-depthwise-dilated-no-bias": (
        lambda nn: nn.Conv2d(4, 4, (3, 4), padding="same", dilation=(2, 1), groups=4, bias=False),
        lambda rng: rng.standard_normal((2, 4, 6, 7))),
    "Conv2d-valid-strided": (lambda nn: nn.Conv2d(2, 3, 3, stride=2, padding="valid"),
                             lambda rng: rng.standard_normal((1, 2, 7, 8))),
    "Conv2d-reflect-same": (lambda nn: nn.Conv2d(2, 3, (3, 2), padding="same", padding_mode="reflect"),
                            lambda rng: rng.standard_normal((1, 2, 5, 6))),
    "Conv2d-circular-strided-grouped-dilated": (
        lambda nn: nn.Conv2d(4, 2, 3, stride=2, padding=(1, 2), groups=2, padding_mode="circular", dilation=(1, 2)),
        lambda rng: rng.standard_normal((2, 4, 6, 7))),
    "Conv2d-replicate-same-even": (lambda nn: nn.Conv2d(2, 2, 4, padding="same", padding_mode="replicate"),
                                   lambda rng: rng.standard_normal((1, 2, 5, 5))),
    "Conv2d-reflect-unbatched": (lambda nn: nn.Conv2d(2, 2, 3, padding=1, padding_mode="reflect"),
                                 lambda rng: rng.standard_normal((2, 5, 5))),
    "Conv2d-reflect-padding-size-minus-1": (lambda nn: nn.Conv2d(1, 1, 3, padding=(2, 3), padding_mode="reflect"),
                                            lambda rng: rng.standard_normal((1, 1, 3, 4))),
    "Conv2d-circular-padding-size": (lambda nn: nn.Conv2d(1, 1, 3, padding=(3, 1), padding_mode="circular"),
                                     lambda rng: rng.standard_normal((1, 1, 3, 4))),
    "Conv2d-kernel-larger-than-input": (lambda nn: nn.Conv2d(1, 2, 5, padding=2),
                                        lambda rng: rng.standard_normal((1, 1, 2, 3))),
    # ceil_mode: the last window starts in the input but runs into the right padding and past it
    "MaxPool2d-ceil-padding-edge": (lambda nn: nn.MaxPool2d(2, stride=2, padding=1, ceil_mode=True),
                                    lambda rng: distinct_values(rng, 1, 2, 5, 4)),
    "MaxPool2d-ceil-stride-past-kernel": (lambda nn: nn.MaxPool2d(2, stride=3, ceil_mode=True),
                                          lambda rng: distinct_values(rng, 1, 2, 7, 8)),
    "MaxPool2d-dilated-padded-ceil": (
        lambda nn: nn.MaxPool2d((3, 2), stride=(2, 3), padding=(1, 1), dilation=(2, 2), ceil_mode=True),
        lambda rng: distinct_values(rng, 2, 2, 9, 10)),
    "MaxPool2d-negative-with-padding": (lambda nn: nn.MaxPool2d(3, stride=1, padding=1),
                                        lambda rng: -np.abs(distinct_values(rng, 1, 1, 4, 4)) - 1),
    "AvgPool2d-ceil-padding-exclude": (
        lambda nn: nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
        lambda rng: rng.standard_normal((1, 2, 6, 6))),
    "AvgPool2d-ceil-padding-include": (lambda nn: nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True),
                                       lambda rng: rng.standard_normal((1, 2, 6, 6))),
    "AvgPool2d-ceil-no-padding": (lambda nn: nn.AvgPool2d(3, stride=2, ceil_mode=True, count_include_pad=False),
                                  lambda rng: rng.standard_normal((1, 2, 6, 7))),
    "AvgPool2d-divisor-override-padding-ceil": (
        lambda nn: nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, divisor_override=2),
        lambda rng: rng.standard_normal((1, 2, 6, 7))),
    "AvgPool2d-asymmetric-exclude": (
        lambda nn: nn.AvgPool2d((2, 3), stride=(1, 2), padding=(1, 1), count_include_pad=False),
        lambda rng: rng.standard_normal((2, 2, 5, 6))),
    "AdaptiveAvgPool2d-None-first": (lambda nn: nn.AdaptiveAvgPool2d((None, 3)),
                                     lambda rng: rng.standard_normal((2, 2, 5, 7))),
    "AdaptiveAvgPool2d-uneven-both": (lambda nn: nn.AdaptiveAvgPool2d(3), lambda rng: rng.standard_normal((2, 2, 7, 5))),
    "AdaptiveAvgPool2d-upsample-unbatched": (lambda nn: nn.AdaptiveAvgPool2d((5, 4)),
                                             lambda rng: rng.standard_normal((2, 3, 2))),
    "AdaptiveAvgPool2d-one-axis-divides": (lambda nn: nn.AdaptiveAvgPool2d((2, 5)),
                                           lambda rng: rng.standard_normal((1, 2, 4, 7))),
    "BatchNorm1d-cumulative": (lambda nn: nn.BatchNorm1d(3, momentum=None), lambda rng: rng.standard_normal((4, 3)) + 1),
    "BatchNorm1d-untracked-no-affine-3d": (
        lambda nn: nn.BatchNorm1d(3, affine=False, track_running_stats=False),
        lambda rng: rng.standard_normal((4, 3, 5))),
    "BatchNorm1d-one-sample-of-length-3": (lambda nn: nn.BatchNorm1d(2), lambda rng: rng.standard_normal((1, 2, 3))),
    "BatchNorm2d-momentum-0": (lambda nn: nn.BatchNorm2d(3, momentum=0.0), lambda rng: rng.standard_normal((2, 3, 2, 2))),
    "BatchNorm2d-momentum-1": (lambda nn: nn.BatchNorm2d(3, momentum=1.0), lambda rng: rng.standard_normal((2, 3, 2, 2))),
    "LayerNorm-3d-shape": (lambda nn: nn.LayerNorm([2, 3, 4]), lambda rng: rng.standard_normal((2, 3, 4))),
    "LayerNorm-no-bias-2d-shape": (lambda nn: nn.LayerNorm((2, 3), bias=False, eps=1e-2),
                                   lambda rng: rng.standard_normal((4, 2, 3))),
    "LayerNorm-4d-input": (lambda nn: nn.LayerNorm(4), lambda rng: rng.standard_normal((2, 3, 2, 4))),
    "LayerNorm-1d-input": (lambda nn: nn.LayerNorm(4), lambda rng: rng.standard_normal(4)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_option_combinations_match_torch(device, torch, name):
    build, make_input = LAYERS[name]
    rng = named_rng(name)
    ours, theirs = build(nn).double(), build(torch.nn).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    for step in range(3):  # training three times (the cumulative average moves each time), then eval
        run_both(torch, ours, theirs, make_input(rng), seed=step)
        ours.zero_grad()
        theirs.zero_grad()
    ours.eval()
    theirs.eval()
    run_both(torch, ours, theirs, make_input(rng), seed=3)
    assert as_torch_prints(repr(ours)) == repr(theirs)


def test_batch_norm_one_value_per_channel(device, torch):
    """Training on one value per channel raises, as in PyTorch; eval mode takes it."""
    for ours, theirs in ((nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)),
                         (nn.BatchNorm1d(3, track_running_stats=False), None)):
        with pytest.raises(ValueError, match="more than 1 value per channel"):
            ours(ag.ones(1, 3))
        if theirs is not None:
            with pytest.raises(ValueError, match="more than 1 value per channel"):
                theirs(torch.ones(1, 3))
    # without running statistics, eval mode still needs a batch (PyTorch's rule too)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3, track_running_stats=False).eval()(ag.ones(1, 3))
    ours, theirs = nn.BatchNorm2d(2).eval(), torch.nn.BatchNorm2d(2).eval()
    x = np.arange(2.0).reshape(1, 2, 1, 1)
    np.testing.assert_allclose(ours(_f64(x).astype(ag.float32)).numpy(),
                               theirs(torch.tensor(x, dtype=torch.float32)).detach().numpy(), rtol=1e-6)


def test_batch_norm_rejected_batch_leaves_the_batch_count_alone(device):
    """A rejected input must not change state (DESIGN: "A bad input never corrupts
    state that was already there"). PyTorch bumps num_batches_tracked before it
    checks the batch; with momentum=None that skews every later cumulative average."""
    bn = nn.BatchNorm1d(2, momentum=None)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(ag.ones(1, 2))
    assert bn.num_batches_tracked.item() == 0
    x = np.array([[1.0, 2.0], [3.0, 6.0]], dtype=np.float32)
    bn(ag.tensor(x))
    np.testing.assert_allclose(bn.running_mean.numpy(), x.mean(0), rtol=1e-6)  # the first batch's mean


# --- losses -------------------------------------------------------------------------

CLASS_WEIGHT = np.array([0.5, 2.0, 1.0, 3.0])


def _loss_pair(torch, ours, theirs, **kwargs):
    """ours(x, t) and theirs(x, t) with array keyword arguments given to each as tensors."""
    ko = {k: _f64(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    kt = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    return (lambda x, t: ours(x, t, **ko)), (lambda x, t: theirs(x, t, **kt))


def _assert_loss_matches(torch, ours, theirs, x, target, target_grad=False):
    xo, xt = _f64(x, True), torch.tensor(x, dtype=torch.float64, requires_grad=True)
    if target.dtype.kind == "f":
        to, tt = _f64(target, target_grad), torch.tensor(target, dtype=torch.float64, requires_grad=target_grad)
    else:
        to, tt = ag.tensor(target), torch.from_numpy(target)
    out, ref = ours(xo, to), theirs(xt, tt)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    r = np.random.default_rng(5).standard_normal(tuple(ref.shape))
    out.backward(ag.tensor(r, dtype=ag.float64))
    ref.backward(torch.from_numpy(r))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    if target_grad:
        np.testing.assert_allclose(to.grad.numpy(), tt.grad.numpy(), rtol=1e-10, atol=1e-12)


def _spatial_targets():
    t = named_rng("spatial").integers(0, 4, (2, 3, 2))
    t[0, 0, 0] = t[1, 2, 1] = 1  # some ignored, not all
    return t


# name: (ours function, theirs attribute of torch.nn.functional, kwargs, data(rng) -> (x, target))
LOSSES = {
    "cross_entropy-kdim-weight-ignore-smoothing": (
        F.cross_entropy, "cross_entropy", dict(weight=CLASS_WEIGHT, ignore_index=1, label_smoothing=0.25),
        lambda rng: (rng.standard_normal((2, 4, 3, 2)), _spatial_targets())),
    "cross_entropy-3d-weight-ignore-smoothing": (
        F.cross_entropy, "cross_entropy", dict(weight=CLASS_WEIGHT, ignore_index=0, label_smoothing=0.2),
        lambda rng: (rng.standard_normal((2, 4, 5)), rng.integers(0, 4, (2, 5)))),
    "cross_entropy-kdim-probabilities-weight-smoothing": (
        F.cross_entropy, "cross_entropy", dict(weight=CLASS_WEIGHT, label_smoothing=0.25),
        lambda rng: (rng.standard_normal((2, 4, 3, 2)),
                     np.ascontiguousarray(rng.dirichlet(np.ones(4), (2, 3, 2)).transpose(0, 3, 1, 2)))),
    "cross_entropy-unbatched-weight-smoothing": (
        F.cross_entropy, "cross_entropy", dict(weight=CLASS_WEIGHT, ignore_index=2, label_smoothing=0.1),
        lambda rng: (rng.standard_normal(4), np.array(3))),
    "cross_entropy-unbatched-probabilities": (
        F.cross_entropy, "cross_entropy", dict(weight=CLASS_WEIGHT, label_smoothing=0.1),
        lambda rng: (rng.standard_normal(4), rng.dirichlet(np.ones(4)))),
    "cross_entropy-ignore-index-minus-1": (
        F.cross_entropy, "cross_entropy", dict(ignore_index=-1, label_smoothing=0.3),
        lambda rng: (rng.standard_normal((3, 4)), np.array([-1, 2, 0]))),
    "cross_entropy-full-smoothing": (
        F.cross_entropy, "cross_entropy", dict(weight=CLASS_WEIGHT, label_smoothing=1.0),
        lambda rng: (rng.standard_normal((3, 4)), np.array([3, 2, 0]))),
    "nll_loss-kdim-weight-ignore": (
        F.nll_loss, "nll_loss", dict(weight=CLASS_WEIGHT, ignore_index=3),
        lambda rng: (rng.standard_normal((2, 4, 3, 2)), _spatial_targets())),
    "nll_loss-unbatched-weight": (F.nll_loss, "nll_loss", dict(weight=CLASS_WEIGHT),
                                  lambda rng: (rng.standard_normal(4), np.array(2))),
    "binary_cross_entropy-weight-per-column": (
        F.binary_cross_entropy, "binary_cross_entropy", dict(weight=np.array([0.5, 1.5, 0.2, 2.0])),
        lambda rng: (rng.uniform(0.05, 0.95, (3, 4)), rng.uniform(0, 1, (3, 4)))),
    "binary_cross_entropy-weight-per-row": (
        F.binary_cross_entropy, "binary_cross_entropy", dict(weight=np.array([[0.5], [1.5], [3.0]])),
        lambda rng: (rng.uniform(0.05, 0.95, (3, 4)), rng.uniform(0, 1, (3, 4)))),
    "binary_cross_entropy_with_logits-pos-weight-per-channel": (
        F.binary_cross_entropy_with_logits, "binary_cross_entropy_with_logits",
        dict(pos_weight=np.array([0.5, 3.0, 1.0, 2.0]).reshape(4, 1, 1), weight=np.array([1.0, 0.5, 2.0])),
        lambda rng: (rng.standard_normal((2, 4, 2, 3)) * 3, rng.uniform(0, 1, (2, 4, 2, 3)))),
    "huber_loss-delta-weight": (
        F.huber_loss, "huber_loss", dict(delta=0.3, weight=np.linspace(0.1, 2.0, 12).reshape(3, 4)),
        lambda rng: (rng.standard_normal((3, 4)) * 3, rng.standard_normal((3, 4)))),
    "huber_loss-at-delta": (
        F.huber_loss, "huber_loss", dict(delta=1.0),
        lambda rng: (np.array([1.0, -1.0, 0.0, 2.0, 3.5]), np.array([0.0, 0.0, 0.0, 2.0, 1.0]))),
}


@pytest.mark.parametrize("reduction", ("mean", "sum", "none"))
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_option_combinations_match_torch(device, torch, name, reduction):
    ours, theirs, kwargs, data = LOSSES[name]
    x, target = data(named_rng(name))
    pair = _loss_pair(torch, ours, getattr(torch.nn.functional, theirs), reduction=reduction, **kwargs)
    _assert_loss_matches(torch, *pair, x, target)


def test_loss_target_gradients_match_torch(device, torch):
    rng = named_rng("target gradients")
    pos_weight = np.array([0.5, 3.0, 1.0, 2.0])
    cases = [
        _loss_pair(torch, F.binary_cross_entropy_with_logits, torch.nn.functional.binary_cross_entropy_with_logits,
                   pos_weight=pos_weight),
        _loss_pair(torch, F.huber_loss, torch.nn.functional.huber_loss, delta=0.5),
        _loss_pair(torch, F.cross_entropy, torch.nn.functional.cross_entropy, label_smoothing=0.2),
    ]
    for ours, theirs in cases:
        _assert_loss_matches(torch, ours, theirs, rng.standard_normal((3, 4)), rng.uniform(0.05, 0.95, (3, 4)),
                             target_grad=True)


def test_binary_cross_entropy_weights_keep_the_input_dtype_like_torch(device, torch):
    """Weights built from a NumPy float64 array (ag.tensor keeps float64) must not turn
    a float32 model's loss into float64: PyTorch's stays float32, as cross_entropy's does here."""
    rng = named_rng("weight dtype")
    x = rng.standard_normal((3, 4)).astype(np.float32)
    target = rng.uniform(0, 1, (3, 4)).astype(np.float32)
    weights = rng.uniform(0.5, 2.0, 4)  # float64
    tF = torch.nn.functional
    cases = [
        (lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=ag.tensor(weights)),
         lambda x, t: tF.binary_cross_entropy_with_logits(x, t, pos_weight=torch.from_numpy(weights))),
        (lambda x, t: F.binary_cross_entropy_with_logits(x, t, weight=ag.tensor(weights)),
         lambda x, t: tF.binary_cross_entropy_with_logits(x, t, weight=torch.from_numpy(weights))),
        (lambda x, t: nn.BCELoss(weight=ag.tensor(weights))(F.sigmoid(x), t),
         lambda x, t: torch.nn.BCELoss(weight=torch.from_numpy(weights))(x.sigmoid(), t)),
    ]
    for ours, theirs in cases:
        xo = ag.tensor(x, requires_grad=True)
        out, ref = ours(xo, ag.tensor(target)), theirs(torch.from_numpy(x), torch.from_numpy(target))
        assert ref.dtype == torch.float32
        assert out.dtype == ag.float32
        np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-5)
        out.backward()
        assert xo.grad.dtype == ag.float32


ALL_IGNORED = {
    "cross_entropy": (F.cross_entropy, "cross_entropy", {}),
    "cross_entropy-smoothing": (F.cross_entropy, "cross_entropy", dict(label_smoothing=0.2)),
    "cross_entropy-weight-smoothing": (F.cross_entropy, "cross_entropy",
                                       dict(weight=CLASS_WEIGHT, label_smoothing=0.2)),
    "nll_loss": (F.nll_loss, "nll_loss", {}),
    "nll_loss-weight": (F.nll_loss, "nll_loss", dict(weight=CLASS_WEIGHT)),
}


@pytest.mark.parametrize("name", sorted(ALL_IGNORED))
def test_all_ignored_targets_give_nan_loss_and_zero_gradient_like_torch(device, torch, name):
    """A batch whose every target is ignore_index (a padding-only batch): PyTorch's
    'mean' is nan (0/0) but its gradient is zero, so training steps on unharmed.
    A nan gradient here would turn every parameter into nan."""
    ours, theirs, kwargs = ALL_IGNORED[name]
    x = named_rng(name).standard_normal((3, 4))
    for target in (np.array([1, 1, 1]), np.array(1)):  # batched and unbatched
        xi = x if target.ndim else x[0]
        ours_fn, theirs_fn = _loss_pair(torch, ours, getattr(torch.nn.functional, theirs), ignore_index=1, **kwargs)
        xo, xt = _f64(xi, True), torch.tensor(xi, requires_grad=True)
        out, ref = ours_fn(xo, ag.tensor(target)), theirs_fn(xt, torch.from_numpy(target))
        assert np.isnan(out.item()) and torch.isnan(ref)
        out.backward()
        ref.backward()
        np.testing.assert_array_equal(xt.grad.numpy(), np.zeros_like(xi))
        np.testing.assert_array_equal(xo.grad.numpy(), xt.grad.numpy())


def test_cross_entropy_zero_total_weight_with_smoothing_is_nan_like_torch(device, torch):
    """Every target's class weight is zero: PyTorch's weighted mean is 0/0 = nan
    (the smoothing term, finite / 0, does not make it inf)."""
    x = named_rng("zero weight").standard_normal((3, 4))
    weight = np.array([0.0, 1.0, 1.0, 1.0])
    target = np.array([0, 0, 0])
    ours = F.cross_entropy(_f64(x), ag.tensor(target), weight=_f64(weight), label_smoothing=0.2)
    ref = torch.nn.functional.cross_entropy(torch.from_numpy(x), torch.from_numpy(target),
                                            weight=torch.from_numpy(weight), label_smoothing=0.2)
    assert torch.isnan(ref)
    assert np.isnan(ours.item())


@pytest.mark.parametrize("kwargs", [{}, dict(label_smoothing=0.1), dict(weight=CLASS_WEIGHT)],
                         ids=["plain", "smoothing", "weight"])
def test_cross_entropy_of_an_empty_batch(device, torch, kwargs):
    """No rows: 'mean' is nan (0/0), 'sum' is 0, 'none' is empty, as in PyTorch; the
    gradient is an empty array. Not a Python ZeroDivisionError."""
    x = np.zeros((0, 4))
    target = np.zeros(0, dtype=np.int64)
    for reduction in ("mean", "sum", "none"):
        ours_fn, theirs_fn = _loss_pair(torch, F.cross_entropy, torch.nn.functional.cross_entropy,
                                        reduction=reduction, **kwargs)
        xo, xt = _f64(x, True), torch.tensor(x, requires_grad=True)
        out, ref = ours_fn(xo, ag.tensor(target)), theirs_fn(xt, torch.from_numpy(target))
        assert out.shape == tuple(ref.shape)
        np.testing.assert_array_equal(out.numpy(), ref.detach().numpy())
        out.sum().backward()
        assert xo.grad.shape == (0, 4)


# --- Module -------------------------------------------------------------------------

def _nested(nn):
    return nn.Sequential(OrderedDict([
        ("enc", nn.ModuleDict({"a": nn.Linear(2, 3), "b": nn.ModuleList(
            [nn.BatchNorm1d(3), nn.Linear(3, 3), nn.Linear(3, 3), nn.Linear(3, 3)])})),
        ("act", nn.ReLU()),
        ("head", nn.Sequential(nn.Linear(3, 1), nn.Sigmoid())),
    ]))


def test_nested_containers_keys_names_and_repr_match_torch(device, torch):
    ours, theirs = _nested(nn), _nested(torch.nn)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert list(ours.state_dict(prefix="model.")) == list(theirs.state_dict(prefix="model."))
    assert [n for n, _ in ours.named_modules(prefix="m")] == [n for n, _ in theirs.named_modules(prefix="m")]
    assert [n for n, _ in ours.named_parameters(prefix="m")] == [n for n, _ in theirs.named_parameters(prefix="m")]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert as_torch_prints(repr(ours)) == repr(theirs)


def test_load_state_dict_not_strict_reports_like_torch(device, torch):
    ours, theirs = _nested(nn), _nested(torch.nn)
    state = {k: v.numpy() for k, v in theirs.state_dict().items()}
    del state["enc.b.0.running_var"]
    state["extra.weight"] = np.zeros(2)
    got = ours.load_state_dict(dict(state), strict=False)
    want = theirs.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
    assert got.missing_keys == want.missing_keys == ["enc.b.0.running_var"]
    assert got.unexpected_keys == want.unexpected_keys == ["extra.weight"]
    np.testing.assert_array_equal(ours.enc["a"].weight.numpy(), state["enc.a.weight"])


def test_forward_hook_replacement_is_what_later_hooks_and_the_caller_see(device):
    layer = nn.Linear(2, 2)
    seen = []
    layer.register_forward_hook(lambda module, inputs, output: output * 2)
    layer.register_forward_hook(lambda module, inputs, output: seen.append(output))
    y = layer(ag.ones(1, 2))
    assert seen[0] is y
    np.testing.assert_allclose(y.numpy(), 2 * (layer.weight.numpy().sum(1) + layer.bias.numpy())[None], rtol=1e-6)


def test_apply_visits_children_first_in_order_like_torch(torch):
    """PyTorch's apply is a post-order walk: each child's subtree, in order, then the module."""
    def build(nn):
        return nn.Sequential(nn.Sequential(nn.Linear(1, 1), nn.ReLU()), nn.Tanh(), nn.Sequential(nn.Sigmoid()))
    ours, theirs = [], []
    build(nn).apply(lambda m: ours.append(type(m).__name__))
    build(torch.nn).apply(lambda m: theirs.append(type(m).__name__))
    assert theirs == ["Linear", "ReLU", "Sequential", "Tanh", "Sigmoid", "Sequential", "Sequential"]
    assert ours == theirs


def _frozen_norm_model(nn):
    class FrozenNormBlock(nn.Module):
        """Keeps its batch norm in eval mode whatever mode the model is put in (a
        common fine-tuning pattern: override train())."""

        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm1d(2)

        def train(self, mode=True):
            super().train(mode)
            self.bn.eval()
            return self

        def forward(self, x):
            return self.bn(x)
    return nn.Sequential(nn.Linear(2, 2), FrozenNormBlock())


def test_train_calls_each_submodules_own_train_like_torch(device, torch):
    ours, theirs = _frozen_norm_model(nn), _frozen_norm_model(torch.nn)
    for model in (ours, theirs):
        model.eval()
        model.train()
    assert theirs[1].training and not theirs[1].bn.training
    assert ours[1].training and ours[0].training
    assert not ours[1].bn.training
    ours(ag.randn(4, 2))
    assert ours[1].bn.num_batches_tracked.item() == 0  # its statistics stayed frozen
