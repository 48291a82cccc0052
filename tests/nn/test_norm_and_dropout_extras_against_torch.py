"""BatchNorm3d, InstanceNorm3d, RMSNorm, LocalResponseNorm and Softmax2d (and F.rms_norm,
F.local_response_norm, F.batch_norm's fused training path) against PyTorch: values,
input and parameter gradients and running buffers in float64 and float32, in training
and eval, second derivatives, state_dict keys, reprs and errors. Then the channel and
alpha dropouts (Dropout1d/2d/3d, AlphaDropout, FeatureAlphaDropout and their
functionals), by exact structural checks that do not depend on PyTorch's generator:
which values a kept or dropped element or channel takes, their gradients, eval mode,
p=0 and p=1, the fraction dropped, PyTorch's warnings for odd ranks, and errors."""
import math
import warnings

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

from tests.torch_versions import as_torch_prints, with_torch_marks

from .torch_compare import assert_close_to_torch, float64_leaves, named_rng, run_both


def _normal(*shape, scale=1.0, shift=0.0):
    return lambda rng: rng.standard_normal(shape) * scale + shift


# name: (build(nn namespace) -> module, input(rng) -> float64 array)
LAYERS = {
    "BatchNorm3d-default": (lambda nn: nn.BatchNorm3d(3), _normal(2, 3, 3, 4, 2, scale=2, shift=1)),
    "BatchNorm3d-no-affine-momentum-None": (lambda nn: nn.BatchNorm3d(2, momentum=None, affine=False),
                                            _normal(3, 2, 2, 2, 3)),
    "BatchNorm3d-untracked-eps": (lambda nn: nn.BatchNorm3d(4, eps=1e-3, track_running_stats=False),
                                  _normal(2, 4, 2, 3, 2, shift=-1)),
    "BatchNorm3d-no-bias-momentum": (lambda nn: nn.BatchNorm3d(3, momentum=0.5, bias=False), _normal(1, 3, 2, 2, 2)),
    "InstanceNorm3d-default": (lambda nn: nn.InstanceNorm3d(2), _normal(2, 2, 3, 2, 4)),
    "InstanceNorm3d-affine-tracked": (lambda nn: nn.InstanceNorm3d(3, affine=True, track_running_stats=True),
                                      _normal(2, 3, 2, 3, 2, scale=3, shift=2)),
    "InstanceNorm3d-unbatched": (lambda nn: nn.InstanceNorm3d(2, affine=True), _normal(2, 3, 2, 2)),
    "InstanceNorm3d-unbatched-tracked": (lambda nn: nn.InstanceNorm3d(2, track_running_stats=True),
                                         _normal(2, 2, 3, 2)),
    "RMSNorm-default": (lambda nn: nn.RMSNorm(5), _normal(3, 5, scale=2)),
    "RMSNorm-2d-shape-eps": (lambda nn: nn.RMSNorm([3, 4], eps=1e-3), _normal(2, 2, 3, 4)),
    "RMSNorm-no-affine-tiny-values": (lambda nn: nn.RMSNorm((4,), elementwise_affine=False),
                                      _normal(2, 4, scale=1e-9)),
    "RMSNorm-unbatched-vector": (lambda nn: nn.RMSNorm(6, eps=0.5), _normal(6)),
    "LocalResponseNorm-3d": (lambda nn: nn.LocalResponseNorm(3, alpha=0.5, beta=0.75, k=1.0), _normal(2, 5, 4)),
    "LocalResponseNorm-4d-even-size": (lambda nn: nn.LocalResponseNorm(2, alpha=2.0, beta=0.5, k=0.5),
                                       _normal(2, 4, 3, 3)),
    "LocalResponseNorm-5d-size-past-channels": (lambda nn: nn.LocalResponseNorm(7, alpha=1.0, beta=1.5, k=2.0),
                                                _normal(1, 3, 2, 2, 3)),
    "LocalResponseNorm-size-one-default": (lambda nn: nn.LocalResponseNorm(1), _normal(2, 3, 2, scale=10)),
    "Softmax2d": (lambda nn: nn.Softmax2d(), _normal(2, 3, 2, 4, scale=3)),
    "Softmax2d-unbatched": (lambda nn: nn.Softmax2d(), _normal(4, 2, 3)),
}


# Layers whose PyTorch twin needs a newer PyTorch: {name: (version, what it added)}.
NEWER_TORCH = {"BatchNorm3d-no-bias-momentum": ("2.13", "the norm layers' bias= argument is new in 2.13")}


def _twins(torch, name, dtype="float64"):
    """Our layer and PyTorch's, in ``dtype``, with PyTorch's initial state in ours."""
    build = LAYERS[name][0]
    theirs = build(torch.nn).to(getattr(torch, dtype))
    ours = build(nn).to(dtype=getattr(ag, dtype))
    for p in theirs.parameters():  # not ones and zeros, so that the scale and shift show
        with torch.no_grad():
            p.copy_(torch.linspace(0.5, 1.5, p.numel(), dtype=p.dtype).reshape(p.shape))
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("name", with_torch_marks(sorted(LAYERS), NEWER_TORCH))
def test_layer_matches_torch_in_float64_training_and_eval(device, torch, name):
    """Output, input and parameter gradients and buffers over three training steps (the
    running statistics move each time) and one in eval; then the repr."""
    ours, theirs = _twins(torch, name)
    rng = named_rng(name)
    for step in range(3):
        run_both(torch, ours, theirs, LAYERS[name][1](rng), seed=step)
        ours.zero_grad()
        theirs.zero_grad()
    ours.eval()
    theirs.eval()
    run_both(torch, ours, theirs, LAYERS[name][1](rng), seed=3)
    assert as_torch_prints(repr(ours)) == repr(theirs)


@pytest.mark.parametrize("name", with_torch_marks(sorted(LAYERS), NEWER_TORCH))
def test_layer_matches_torch_in_float32(device, torch, name):
    ours, theirs = _twins(torch, name, "float32")
    rng = named_rng(name + " float32")
    for training in (True, False):
        ours.train(training)
        theirs.train(training)
        x = LAYERS[name][1](rng).astype(np.float32)
        xo, xt = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        yo, yt = ours(xo), theirs(xt)
        assert yo.dtype == ag.float32
        scale = np.abs(yt.detach().numpy()).max() + 1e-30
        assert_close_to_torch(yo, yt, rtol=1e-4, atol=1e-5 * scale)
        r = rng.standard_normal(tuple(yt.shape)).astype(np.float32)
        yo.backward(ag.tensor(r))
        yt.backward(torch.from_numpy(r))
        gscale = np.abs(xt.grad.numpy()).max() + 1e-30
        np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-3, atol=1e-4 * gscale)
        for (n, p), q in zip(ours.named_parameters(), theirs.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-3,
                                       atol=1e-4 * np.abs(q.grad.numpy()).max(), err_msg=n)
        for (n, b), c in zip(ours.named_buffers(), theirs.buffers()):
            np.testing.assert_allclose(b.numpy(), c.numpy(), rtol=1e-5, atol=1e-6, err_msg=n)


@pytest.mark.parametrize("name", with_torch_marks(sorted(LAYERS), NEWER_TORCH))
def test_state_dict_keys_shapes_and_attributes_match_torch(device, torch, name):
    build = LAYERS[name][0]
    ours, theirs = build(nn), build(torch.nn)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert hasattr(ours, "bias") == hasattr(theirs, "bias")
    for attribute in ("num_features", "eps", "momentum", "affine", "track_running_stats", "normalized_shape",
                      "elementwise_affine", "size", "alpha", "beta", "k"):
        if hasattr(theirs, attribute):
            assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    for (n, p), q in zip(ours.state_dict().items(), theirs.state_dict().values()):
        np.testing.assert_array_equal(np.asarray(p.numpy()), q.numpy(), err_msg=n)  # the same initial values


def _batch_norm(F, x, w, b):
    return F.batch_norm(x, None, None, w, b, training=True, eps=1e-3)


def _rms_norm(F, x, w, b):
    return F.rms_norm(x, (3, 2), w, eps=1e-4) * b


def _local_response_norm(F, x, w, b):
    return F.local_response_norm(x * w, 3, alpha=0.7, beta=0.6, k=1.5) + b


# name: (function(F, x, weight, bias), input, weight, bias shapes)
FUNCTIONS = {
    "batch_norm-5d": (_batch_norm, (2, 3, 2, 2, 3), (3,), (3,)),
    "rms_norm": (_rms_norm, (2, 4, 3, 2), (3, 2), (3, 2)),
    "local_response_norm": (_local_response_norm, (2, 4, 3, 2), (3, 2), (3, 2)),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_functional_matches_torch_to_second_order(device, torch, name):
    """Value, first derivatives with create_graph, then the derivatives of a gradient
    penalty (second derivatives) against torch.autograd.grad."""
    fn, *shapes = FUNCTIONS[name]
    rng = named_rng(name)
    pairs = [float64_leaves(torch, rng.standard_normal(s) + (1.0 if i else 0.0)) for i, s in enumerate(shapes)]
    ours, theirs = [o for o, _ in pairs], [t for _, t in pairs]
    yo, yt = fn(F, *ours), fn(torch.nn.functional, *theirs)
    assert_close_to_torch(yo, yt)
    r = rng.standard_normal(tuple(yt.shape))
    go = ag.grad(yo, ours, ag.tensor(r, dtype=ag.float64), create_graph=True)
    gt = torch.autograd.grad(yt, theirs, torch.from_numpy(r), create_graph=True)
    for o, t in zip(go, gt):
        assert_close_to_torch(o, t, rtol=1e-9, atol=1e-11)
    penalty_o = sum(((g * g).sum() for g in go), ag.tensor(0.0, dtype=ag.float64))
    ho = ag.grad(penalty_o, ours, allow_unused=True)
    ht = torch.autograd.grad(sum((g * g).sum() for g in gt), theirs, allow_unused=True)
    for o, t in zip(ho, ht):
        assert (o is None) == (t is None)
        if t is not None:
            assert_close_to_torch(o, t, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("fn", [
    lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
    lambda x, w, b: F.batch_norm(x, None, None, None, None, training=True) * w[0],
    lambda x, w, b: F.batch_norm(x, None, None, None, b, training=True) * w[0],
    lambda x, w, b: F.batch_norm(x, None, None, ag.tensor([0.5, 1.2, 2.0], dtype=ag.float64), b,
                                 training=True) * w[0],
    lambda x, w, b: F.rms_norm(x, (2,), w[:2]) + b[:2],
    lambda x, w, b: F.rms_norm(x, 2, eps=0.1) * w[1],
    lambda x, w, b: F.local_response_norm(x, 2, alpha=0.9, beta=0.8, k=1.2) * b[2],
], ids=["batch_norm", "batch_norm-no-affine", "batch_norm-bias-only", "batch_norm-constant-weight", "rms_norm",
        "rms_norm-eps", "local_response_norm"])
def test_gradcheck_and_gradgradcheck(device, fn):
    """On tiny (2, 3, 2, 2, 2) inputs, with a weight and bias of shape (3,)."""
    rng = named_rng("gradcheck")
    x = ag.tensor(rng.standard_normal((2, 3, 2, 2, 2)), dtype=ag.float64, requires_grad=True)
    w = ag.tensor(rng.uniform(0.5, 1.5, 3), dtype=ag.float64, requires_grad=True)
    b = ag.tensor(rng.standard_normal(3), dtype=ag.float64, requires_grad=True)
    assert ag.gradcheck(fn, [x, w, b])
    assert ag.gradgradcheck(fn, [x, w, b])


@pytest.mark.parametrize("name", ["batch_norm", "rms_norm"])
def test_fused_norms_give_parameter_gradients_for_a_constant_input(device, torch, name):
    """Only the weight and bias take gradients (the input needs none), as in PyTorch."""
    rng = named_rng(name + " constant input")
    x = rng.standard_normal((3, 4, 5))
    (w, wt), (b, bt) = float64_leaves(torch, rng.uniform(0.5, 1.5, 4)), float64_leaves(torch, rng.standard_normal(4))
    if name == "batch_norm":
        yo = F.batch_norm(ag.tensor(x, dtype=ag.float64), None, None, w, b, training=True)
        yt = torch.nn.functional.batch_norm(torch.tensor(x), None, None, wt, bt, training=True)
    else:
        x = x.transpose(0, 2, 1)
        yo = F.rms_norm(ag.tensor(x, dtype=ag.float64), 4, w) * b
        yt = torch.nn.functional.rms_norm(torch.tensor(x), (4,), wt) * bt
    r = rng.standard_normal(tuple(yt.shape))
    yo.backward(ag.tensor(r, dtype=ag.float64))
    yt.backward(torch.from_numpy(r))
    assert_close_to_torch(yo, yt)
    assert_close_to_torch(w.grad, wt.grad)
    assert_close_to_torch(b.grad, bt.grad)


@pytest.mark.parametrize("eps", [None, 1e-3])
def test_rms_norm_of_float16_normalizes_in_float32_with_float32s_epsilon_like_torch(device, torch, eps):
    """As PyTorch: eps=None is the machine epsilon of the computation's dtype, float32's
    for a float16 input (float16's would swamp these small values); rounded, then scaled."""
    if device == "strict":
        pytest.skip("the Array API standard has no float16")
    x = np.array([[1e-3, 2e-3, -1e-3, 5e-4], [300.0, -200.0, 100.0, 0.5]], dtype=np.float16)
    w = np.array([0.5, 1.5, 2.0, -1.0], dtype=np.float16)
    ours = F.rms_norm(ag.tensor(x), (4,), ag.tensor(w), eps)
    theirs = torch.nn.functional.rms_norm(torch.tensor(x), (4,), torch.tensor(w), eps)
    assert ours.dtype == ag.float16
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_batch_norm3d_fused_path_updates_running_stats_and_refuses_single_values(device, torch):
    """Running statistics after a cumulative (momentum=None) average of two batches, and
    PyTorch's refusal of one value per channel in training."""
    ours, theirs = nn.BatchNorm3d(2, momentum=None).double(), torch.nn.BatchNorm3d(2, momentum=None).double()
    rng = named_rng("bn3d cumulative")
    for _ in range(2):
        x = rng.standard_normal((2, 2, 2, 1, 3)) * 3 + 1
        ours(ag.tensor(x, dtype=ag.float64))
        theirs(torch.tensor(x))
    for n, b in ours.named_buffers():
        np.testing.assert_allclose(b.numpy(), dict(theirs.named_buffers())[n].numpy(), rtol=1e-12, err_msg=n)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        ours(ag.ones((1, 2, 1, 1, 1), dtype=ag.float64))
    assert int(ours.num_batches_tracked.item()) == 2  # the refused batch changed nothing


@pytest.mark.parametrize("call, error, message", [
    (lambda: nn.BatchNorm3d(3)(ag.ones((2, 3, 4, 4))), ValueError, r"expected 5D input, got 4D"),
    (lambda: nn.BatchNorm3d(3)(ag.ones((2, 4, 2, 2, 2))), ValueError, r"expected 3 channels"),
    (lambda: nn.InstanceNorm3d(3)(ag.ones((3, 4, 4))), ValueError, r"expected 4D \(unbatched\) or 5D input"),
    (lambda: nn.InstanceNorm3d(3, affine=True)(ag.ones((2, 4, 2, 2, 2))), ValueError, r"expected 3 channels"),
    (lambda: nn.RMSNorm(4)(ag.ones((2, 5))), ValueError, r"normalized_shape \(4,\) does not match"),
    (lambda: F.rms_norm(ag.ones((2, 4)), 4, ag.ones(3)), ValueError, r"weight must have shape \(4,\)"),
    (lambda: F.rms_norm(ag.ones((2, 4)), 4, eps="small"), TypeError, "eps must be a real number"),
    (lambda: F.rms_norm(ag.ones((2, 4), dtype=ag.int64), 4), TypeError, "must be floating point"),
    (lambda: nn.RMSNorm(0), ValueError, "normalized_shape must be positive ints"),
    (lambda: nn.LocalResponseNorm(3)(ag.ones((2, 4))), ValueError, "3 or more dimensions"),
    (lambda: F.local_response_norm(ag.ones((2, 4, 3)), 0), ValueError, "size must be a positive int"),
    (lambda: F.local_response_norm(ag.ones((2, 4, 3)), 2, beta=None), TypeError, "beta must be a real number"),
    (lambda: nn.LocalResponseNorm(2.5), ValueError, "size must be a positive int"),
    (lambda: nn.Softmax2d()(ag.ones((2, 3))), ValueError, r"Softmax2d: expected a 3-D \(C, H, W\) or 4-D"),
    (lambda: nn.Softmax2d()("x"), TypeError, "must be a Tensor"),
])
def test_norm_errors_name_the_problem(device, call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_local_response_norm_of_an_empty_input_is_the_input(device, torch):
    x = ag.ones((0, 3, 4))
    assert F.local_response_norm(x, 2) is x
    assert tuple(torch.nn.functional.local_response_norm(torch.ones(0, 3, 4), 2).shape) == x.shape


# --- dropout ------------------------------------------------------------------------------------------

ALPHA = 1.7580993408473766  # -SELU's negative saturation


def _alpha_constants(p):
    """PyTorch's a and b for alpha dropout: kept x -> a x + b, dropped -> a (-ALPHA) + b."""
    a = 1.0 / math.sqrt((ALPHA * ALPHA * p + 1) * (1 - p))
    return a, ALPHA * a * p


# name: (call(x, p, training), input shape, whether it is unbatched (channels along axis 0))
CHANNEL_DROPOUTS = {
    "dropout1d": (lambda x, p, t=True: F.dropout1d(x, p, t), (4, 6, 5), False),
    "dropout1d-unbatched": (lambda x, p, t=True: F.dropout1d(x, p, t), (6, 5), True),
    "dropout2d": (lambda x, p, t=True: F.dropout2d(x, p, t), (4, 6, 3, 2), False),
    "dropout3d": (lambda x, p, t=True: F.dropout3d(x, p, t), (3, 5, 2, 2, 3), False),
    "dropout3d-unbatched": (lambda x, p, t=True: F.dropout3d(x, p, t), (5, 2, 2, 3), True),
    "Dropout1d-unbatched": (lambda x, p, t=True: nn.Dropout1d(p).train(t)(x), (6, 5), True),
    "Dropout2d": (lambda x, p, t=True: nn.Dropout2d(p).train(t)(x), (4, 6, 3, 2), False),
    "Dropout3d": (lambda x, p, t=True: nn.Dropout3d(p).train(t)(x), (3, 5, 2, 2, 3), False),
}


def _channels(array, unbatched):
    """(samples x channels, values per channel) of ``array``."""
    return array.reshape(array.shape[0] if unbatched else array.shape[0] * array.shape[1], -1)


@pytest.mark.parametrize("name", sorted(CHANNEL_DROPOUTS))
def test_channel_dropout_zeroes_whole_channels_and_scales_the_rest(device, name):
    """Each channel is all zeros or all x / (1 - p); the gradient is the same per-channel
    factor times the output's gradient; eval mode and p=0 give the input itself."""
    fn, shape, unbatched = CHANNEL_DROPOUTS[name]
    p = 0.4
    rng = named_rng(name)
    x_np = rng.uniform(0.5, 2.0, shape)
    x = ag.tensor(x_np, dtype=ag.float64, requires_grad=True)
    y = fn(x, p)
    factor = _channels(y.numpy() / x_np, unbatched)
    assert y.shape == x.shape and y.dtype == ag.float64
    for row in factor:
        assert np.allclose(row, 0.0, atol=0) or np.allclose(row, 1 / (1 - p), rtol=1e-15), row
    assert 0 < (factor[:, 0] == 0).sum() < factor.shape[0]  # some channels of each kind, at this seed
    r = rng.standard_normal(shape)
    y.backward(ag.tensor(r, dtype=ag.float64))
    np.testing.assert_allclose(_channels(x.grad.numpy(), unbatched), factor * _channels(r, unbatched), rtol=1e-15)
    assert fn(x, p, False) is x
    assert fn(x, 0.0) is x
    zeros = fn(x, 1.0)
    assert zeros.shape == x.shape and not zeros.numpy().any()


@pytest.mark.parametrize("fn", [F.dropout1d, F.dropout2d, F.dropout3d, F.feature_alpha_dropout])
def test_fraction_of_dropped_channels_is_near_p(device, fn):
    """Over 20000 channels of 4 values each, the dropped fraction is within 0.015 of p
    (six standard deviations), and a channel never splits."""
    p = 0.3
    shape = {F.dropout1d: (100, 200, 4), F.dropout2d: (100, 200, 2, 2)}.get(fn, (100, 200, 1, 2, 2))
    y = fn(ag.ones(shape, dtype=ag.float64), p, True).numpy().reshape(20000, 4)
    a, b = _alpha_constants(p)
    dropped = np.isclose(y, 0.0 if fn is not F.feature_alpha_dropout else -ALPHA * a + b, rtol=1e-14, atol=0)
    assert (dropped.all(axis=1) == dropped.any(axis=1)).all()
    assert abs(dropped[:, 0].mean() - p) < 0.015


def test_dropout_masks_come_from_the_seeded_generator(device):
    x = ag.ones((8, 16, 3))
    ag.manual_seed(7)
    first = [f(x, 0.5, True).numpy() for f in (F.dropout1d, F.alpha_dropout, F.feature_alpha_dropout)]
    ag.manual_seed(7)
    second = [f(x, 0.5, True).numpy() for f in (F.dropout1d, F.alpha_dropout, F.feature_alpha_dropout)]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("per_channel", [False, True])
def test_alpha_dropout_takes_torchs_affine_values_and_keeps_mean_and_variance(device, torch, per_channel):
    """Every kept value is a x + b and every dropped one a (-alpha') + b, with PyTorch's a
    and b: PyTorch's own output (whatever its generator drew) takes exactly these two
    kinds of values too. A standard normal input keeps mean 0 and variance 1."""
    p = 0.2
    a, b = _alpha_constants(p)
    ours_fn = F.feature_alpha_dropout if per_channel else F.alpha_dropout
    theirs_fn = torch.nn.functional.feature_alpha_dropout if per_channel else torch.nn.functional.alpha_dropout
    x_np = named_rng("alpha").standard_normal((400, 50, 10))
    x = ag.tensor(x_np, dtype=ag.float64, requires_grad=True)
    y = ours_fn(x, p, training=True)
    theirs = theirs_fn(torch.tensor(x_np), p, training=True).numpy()
    for out in (y.numpy(), theirs):
        kept = np.isclose(out, a * x_np + b, rtol=1e-14, atol=0)
        dropped = np.isclose(out, -ALPHA * a + b, rtol=1e-14, atol=0)
        assert (kept | dropped).all()
        if per_channel:
            assert (kept.all(axis=2) | dropped.all(axis=2)).all()
        assert abs(dropped.mean() - p) < 0.01
    assert abs(y.numpy().mean()) < 0.02 and abs(y.numpy().var() - 1) < 0.02
    y.backward(ag.ones(y.shape, dtype=ag.float64))
    kept = np.isclose(y.numpy(), a * x_np + b, rtol=1e-14, atol=0)
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept, a, 0.0), rtol=1e-15, atol=0)


@pytest.mark.parametrize("fn", [F.alpha_dropout, F.feature_alpha_dropout])
def test_alpha_dropout_defaults_to_eval_and_gives_zeros_at_p_1_like_torch(device, torch, fn):
    x = ag.tensor(np.linspace(-1, 1, 12).reshape(2, 3, 2))
    assert fn(x) is x and fn(x, 0.5, training=False) is x and fn(x, 0.0, training=True) is x
    theirs = getattr(torch.nn.functional, fn.__name__)(torch.tensor(x.numpy()), 1.0, True)
    np.testing.assert_array_equal(fn(x, 1.0, training=True).numpy(), theirs.numpy())


@pytest.mark.parametrize("call", [
    lambda h, inplace: F.dropout1d(h, 0.5, inplace=inplace),
    lambda h, inplace: F.dropout2d(h.reshape(2, 3, 2, 1), 0.5, inplace=inplace),
    lambda h, inplace: F.dropout3d(h.reshape(3, 2, 1, 2), 0.5, inplace=inplace),
    lambda h, inplace: F.alpha_dropout(h, 0.5, True, inplace=inplace),
    lambda h, inplace: F.feature_alpha_dropout(h, 0.5, True, inplace=inplace),
], ids=["dropout1d-unbatched", "dropout2d-through-a-view", "dropout3d-unbatched", "alpha_dropout",
        "feature_alpha_dropout"])
def test_inplace_writes_over_the_input_with_the_out_of_place_values_and_gradients(device, call):
    """As F.dropout's inplace=True: the input itself changes (through the view, where
    the call reshapes), with the values and gradients of the out-of-place call under
    the same seed; a leaf that requires grad is refused."""
    x = ag.tensor(np.linspace(0.5, 2.0, 12).reshape(3, 4), dtype="float64", requires_grad=True)
    h = x * 3
    ag.manual_seed(4)
    call(h, True)
    changed = h.numpy().copy()
    (h * h).sum().backward()
    grad = x.grad.numpy().copy()
    x.grad = None
    ag.manual_seed(4)
    kept = x * 3
    reference = call(kept, False)
    np.testing.assert_array_equal(kept.numpy(), x.numpy() * 3)  # the default leaves its input alone
    assert not np.array_equal(changed, kept.numpy())
    np.testing.assert_array_equal(changed, reference.numpy().reshape(3, 4))
    (reference * reference).sum().backward()
    np.testing.assert_allclose(grad, x.grad.numpy(), rtol=1e-15)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        call(x, True)


@pytest.mark.parametrize("layer", [nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout,
                                   nn.FeatureAlphaDropout])
def test_layers_repr_eval_mode_and_torchs_inplace_rules(device, torch, layer):
    """The repr is PyTorch's; eval mode is the identity; as PyTorch's, the alpha dropout
    layers never work in place (their functionals do, on request)."""
    ours, theirs = layer(0.25, inplace=True), getattr(torch.nn, layer.__name__)(0.25, inplace=True)
    assert repr(ours) == repr(theirs) and ours.p == theirs.p and ours.inplace
    shape = {nn.Dropout1d: (2, 3, 4), nn.Dropout2d: (2, 3, 2, 2)}.get(layer, (2, 3, 2, 2, 2))
    x = ag.tensor(np.ones(shape), dtype=ag.float64)
    h = x * 1
    out = ours(h)
    assert (out is h) == (layer not in (nn.AlphaDropout, nn.FeatureAlphaDropout))
    ours.eval()
    assert ours(x) is x and not ours.training
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []


def test_dropout2d_and_dropout3d_warn_like_torch_for_other_ranks(device, torch):
    """Dropout2d takes a 3-D input as (N, C, L) (channels along axis 1) and warns, as
    PyTorch; Dropout3d takes a 3-D input as unbatched (channels along axis 0) and warns."""
    x = np.ones((20, 30, 4))
    for ours, theirs in ((F.dropout2d, torch.nn.functional.dropout2d), (F.dropout3d, torch.nn.functional.dropout3d)):
        with warnings.catch_warnings(record=True) as ours_warned:
            warnings.simplefilter("always")
            y = ours(ag.tensor(x), 0.5, True).numpy()
        with warnings.catch_warnings(record=True) as theirs_warned:
            warnings.simplefilter("always")
            t = theirs(torch.tensor(x), 0.5, True).numpy()
        assert len(ours_warned) == len(theirs_warned) >= 1
        assert all(issubclass(w.category, UserWarning) for w in ours_warned)
        assert ours_warned[0].filename == __file__  # pointed at the caller
        for out in (y, t):  # the same structure in both: which axes share one draw
            per_channel = out.reshape(20 * 30, 4) if ours is F.dropout2d else out.reshape(20, 30 * 4)
            assert (per_channel.min(axis=1) == per_channel.max(axis=1)).all()
    with pytest.warns(UserWarning, match="dropout2d: got a 5-D input") as warned:
        nn.Dropout2d()(ag.ones((2, 3, 2, 2, 2)))
    assert warned[0].filename == __file__  # the user's line, through the layer too


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.dropout1d(ag.ones((2, 3)), 1.5), ValueError, r"dropout1d: p must be a probability in \[0, 1\]"),
    (lambda: F.dropout2d(ag.ones((2, 3, 2, 2)), -0.1), ValueError, "dropout2d: p must be a probability"),
    (lambda: F.dropout3d(ag.ones((2, 3, 2, 2)), "half"), ValueError, "dropout3d: p must be a probability"),
    (lambda: F.alpha_dropout(ag.ones(3), True), ValueError, "alpha_dropout: p must be a probability"),
    (lambda: F.feature_alpha_dropout(ag.ones((2, 3)), 2), ValueError, "feature_alpha_dropout: p must be"),
    (lambda: nn.Dropout2d(1.01), ValueError, "Dropout2d: p must be a probability"),
    (lambda: nn.AlphaDropout(-1), ValueError, "AlphaDropout: p must be a probability"),
    (lambda: F.dropout1d(ag.ones((2, 3, 4, 5)), 0.5), ValueError, r"dropout1d: expected a \(N, C, L\)"),
    (lambda: F.dropout1d(ag.ones(5), 0.5, training=False), ValueError, r"got shape \(5,\)"),
    (lambda: F.feature_alpha_dropout(ag.ones(5), 0.5, True), ValueError, r"shape \(N, C, ...\), got shape \(5,\)"),
    (lambda: F.dropout1d(ag.ones((2, 3), dtype=ag.int64), 0.5), TypeError, "must be floating point"),
    (lambda: nn.Dropout3d()([1.0, 2.0]), TypeError, "must be a Tensor"),
])
def test_dropout_errors_name_the_problem(device, call, error, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error, match=message):
            call()


def test_dropout2d_of_a_1d_input_warns_then_refuses_in_training_like_torch(device, torch):
    with pytest.warns(UserWarning, match="1-D input"), pytest.raises(ValueError, match="whole channels"):
        F.dropout2d(ag.ones(5), 0.5, True)
    x = ag.ones(5)
    with pytest.warns(UserWarning):
        assert F.dropout2d(x, 0.5, False) is x  # as PyTorch: nothing to drop, no error


@pytest.mark.parametrize("fn", [F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout,
                                F.feature_alpha_dropout])
def test_dropout_keeps_float32_even_for_a_numpy_float64_p(device, fn):
    """A NumPy float64 p would widen a float32 mask (and the output) under NumPy's rules."""
    x = ag.ones((2, 3, 4, 2, 2) if fn is F.dropout3d else (2, 3, 4, 2) if fn is F.dropout2d else (2, 3, 4))
    y = fn(x, np.float64(0.25), True)
    assert y.dtype == ag.float32
    if fn is F.dropout:
        np.testing.assert_array_equal(np.unique(y.numpy()), np.float32([0, 1 / 0.75]))


@pytest.mark.parametrize("name", ["instance_norm", "layer_norm", "group_norm", "batch_norm", "rms_norm",
                                  "layer_norm_weighted"])
def test_a_norm_without_weights_lets_its_output_change_in_place_as_pytorch(device, torch, name):
    """Without weight and bias a norm's output is its normalized input, which it kept for
    backward: `h = norm(x); h += skip` (a residual after an InstanceNorm, affine=False by
    default) was refused as a change of a saved tensor, where PyTorch, which keeps the input
    and its statistics, allows it. The output is now recomputed from those in backward."""
    def norm(lib, x):
        f = F if lib is ag else torch.nn.functional
        if name == "instance_norm":
            return f.instance_norm(x)
        if name == "group_norm":
            return f.group_norm(x, 3)
        if name == "batch_norm":
            return f.batch_norm(x, None, None, training=True)
        if name == "rms_norm":
            return f.rms_norm(x, (4,))
        weight = (ag if lib is ag else torch).ones(4, 4, dtype=x.dtype) if name == "layer_norm_weighted" else None
        return f.layer_norm(x, (4, 4), weight)

    x0, skip0 = (named_rng(f"norm in place {i}").standard_normal((2, 3, 4, 4)) for i in range(2))
    ours, theirs = float64_leaves(torch, x0)
    h = norm(ag, ours)
    h += ag.tensor(skip0, dtype=ag.float64)
    (h * h).sum().backward()
    th = norm(torch, theirs)
    th += torch.tensor(skip0)
    (th * th).sum().backward()
    assert_close_to_torch(h, th)
    assert_close_to_torch(ours.grad, theirs.grad)
