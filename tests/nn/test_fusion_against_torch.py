"""nn.utils.fusion against PyTorch's torch.nn.utils.fusion: a batch norm in eval mode folded into
the convolution or Linear before it gives the two layers' output, and PyTorch's fused weights."""
import types

import numpy as np
import pytest

import autograd as ag
import nn
from nn.utils import fusion, parametrizations, prune, remove_weight_norm, weight_norm
from nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval
from tests.nn.torch_compare import array_on_device_of, with_seeded_parameters

OURS = types.SimpleNamespace(nn=nn)  # so that lib.nn.Conv2d names either library's layer


def _trained_norm(torch, ours, theirs, channels, rng):
    """Give both batch norms the same non-trivial affine and running statistics, in eval mode."""
    state = {"running_mean": rng.standard_normal(channels), "running_var": rng.uniform(0.5, 2.0, channels)}
    if theirs.affine:
        state.update(weight=rng.uniform(0.5, 1.5, channels), bias=rng.standard_normal(channels))
    theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()}, strict=False)
    ours.load_state_dict({k: ag.tensor(v) for k, v in state.items()}, strict=False)
    return ours.eval(), theirs.eval()


def _copied(torch, ours, theirs):
    ours.load_state_dict({k: ag.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return ours.eval(), theirs.eval()


CONVS = {
    "conv2d": (lambda lib, bias: lib.nn.Conv2d(3, 4, 3, bias=bias), lambda lib: lib.nn.BatchNorm2d(4), (2, 3, 6, 6),
               False),
    "conv1d": (lambda lib, bias: lib.nn.Conv1d(3, 4, 3, bias=bias), lambda lib: lib.nn.BatchNorm1d(4), (2, 3, 7),
               False),
    "conv_transpose2d": (lambda lib, bias: lib.nn.ConvTranspose2d(3, 4, 3, stride=2, bias=bias),
                         lambda lib: lib.nn.BatchNorm2d(4), (2, 3, 4, 4), True),
}


@pytest.mark.parametrize("kind", sorted(CONVS))
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_a_fused_convolution_computes_bn_of_conv_as_torch(torch, kind, bias, affine):
    make_conv, make_bn, shape, transpose = CONVS[kind]
    rng = np.random.default_rng(0)
    conv_t = make_conv(torch, bias).double()
    bn_t = make_bn(torch).double()
    if not affine:
        bn_t = type(bn_t)(4, affine=False).double()
    conv, _ = _copied(torch, make_conv(OURS, bias).to(dtype=ag.float64), conv_t)
    bn = type(make_bn(OURS))(4, affine=affine).to(dtype=ag.float64)
    bn, bn_t = _trained_norm(torch, bn, bn_t, 4, rng)
    before = {k: v.numpy().copy() for k, v in conv.state_dict().items()}

    fused = fusion.fuse_conv_bn_eval(conv, bn, transpose=transpose)
    fused_t = torch.nn.utils.fusion.fuse_conv_bn_eval(conv_t, bn_t, transpose=transpose)
    x = rng.standard_normal(shape)
    with ag.no_grad():
        expected = bn(conv(ag.tensor(x))).numpy()
        got = fused(ag.tensor(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fused.weight.numpy(), fused_t.weight.detach().numpy(), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(fused.bias.numpy(), fused_t.bias.detach().numpy(), rtol=1e-13, atol=1e-14)
    assert fused.weight.requires_grad is fused_t.weight.requires_grad
    assert fused.bias.requires_grad is fused_t.bias.requires_grad
    for key, value in conv.state_dict().items():  # the original layer is left as it was
        np.testing.assert_array_equal(value.numpy(), before[key])


@pytest.mark.parametrize("features", [4, 1])
@pytest.mark.parametrize("bias", [True, False])
def test_a_fused_linear_computes_bn_of_linear_as_torch(torch, features, bias):
    rng = np.random.default_rng(1)
    linear_t = torch.nn.Linear(5, 4, bias=bias).double()
    linear, _ = _copied(torch, nn.Linear(5, 4, bias=bias).to(dtype=ag.float64), linear_t)
    bn_t = torch.nn.BatchNorm1d(features).double()
    bn, bn_t = _trained_norm(torch, nn.BatchNorm1d(features).to(dtype=ag.float64), bn_t, features, rng)
    fused = fusion.fuse_linear_bn_eval(linear, bn)
    fused_t = torch.nn.utils.fusion.fuse_linear_bn_eval(linear_t, bn_t)
    x = rng.standard_normal((6, 5))
    with ag.no_grad():
        y = linear(ag.tensor(x)).numpy()
    # the batch norm's eval-mode formula, by hand: one of its features may serve all 4 outputs
    gamma, beta = bn.weight.numpy(), bn.bias.numpy()
    expected = (y - bn.running_mean.numpy()) / np.sqrt(bn.running_var.numpy() + bn.eps) * gamma + beta
    with ag.no_grad():
        np.testing.assert_allclose(fused(ag.tensor(x)).numpy(), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fused.weight.numpy(), fused_t.weight.detach().numpy(), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(fused.bias.numpy(), np.broadcast_to(fused_t.bias.detach().numpy(), (4,)), rtol=1e-13,
                               atol=1e-14)  # (PyTorch keeps a (1,) bias for one feature and no Linear bias)


def test_fusion_refuses_training_mode_other_widths_and_no_running_statistics():
    conv, bn = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)
    with pytest.raises(ValueError, match=r"^fuse_conv_bn_eval: fusion is only for eval mode .* call \.eval\(\)"):
        fusion.fuse_conv_bn_eval(conv, bn)
    with pytest.raises(ValueError, match=r"^fuse_linear_bn_eval: the batch norm normalizes 3 features, but the "
                                         r"Linear has 4 outputs"):
        fusion.fuse_linear_bn_eval(nn.Linear(2, 4).eval(), nn.BatchNorm1d(3).eval())
    with pytest.raises(ValueError, match=r"keeps no running statistics \(track_running_stats=False\)"):
        fusion.fuse_conv_bn_eval(conv.eval(), nn.BatchNorm2d(4, track_running_stats=False).eval())


def test_a_fused_float32_model_matches_to_rounding():
    """The usual case: a float32 LeNet block, folded for inference."""
    ag.manual_seed(0)
    conv, bn = nn.Conv2d(1, 6, 5).eval(), nn.BatchNorm2d(6)
    bn.train()
    with ag.no_grad():
        for _ in range(3):  # running statistics from a few batches
            bn(conv(ag.randn(8, 1, 12, 12)))
    bn.eval()
    x = ag.randn(4, 1, 12, 12)
    with ag.no_grad():
        np.testing.assert_allclose(fusion.fuse_conv_bn_eval(conv, bn)(x).numpy(), bn(conv(x)).numpy(), rtol=1e-5,
                                   atol=1e-5)


def test_a_conv_without_bias_keeps_its_dtype_beside_a_float64_norm(torch):
    """The made-up zero bias took the norm's float64, and the fused float32 conv then refused its own bias."""
    conv, bn = nn.Conv2d(2, 4, 3, bias=False).eval(), nn.BatchNorm2d(4).to(dtype=ag.float64).eval()
    fused = fusion.fuse_conv_bn_eval(conv, bn)
    fused_t = torch.nn.utils.fusion.fuse_conv_bn_eval(torch.nn.Conv2d(2, 4, 3, bias=False).eval(),
                                                      torch.nn.BatchNorm2d(4).double().eval())
    assert (str(fused.weight.dtype), str(fused.bias.dtype)) == ("float32", "float32")
    assert (fused_t.weight.dtype, fused_t.bias.dtype) == (torch.float32, torch.float32)
    assert fused(ag.zeros(1, 2, 5, 5)).dtype == ag.float32


# --- layers whose weight is computed (pruned, parametrized, weight_norm) --------------------------

def _conv_and_norm():
    conv = with_seeded_parameters(nn.Conv2d(2, 3, 3).to(dtype=ag.float64), 0)
    norm = nn.BatchNorm2d(3).to(dtype=ag.float64)
    norm.running_mean.data = array_on_device_of(norm.running_mean, [0.1, -0.2, 0.3])
    norm.running_var.data = array_on_device_of(norm.running_var, [0.5, 1.5, 2.0])
    return conv.eval(), with_seeded_parameters(norm, 1).eval()


@pytest.mark.parametrize("computed", ["pruned", "parametrized", "weight_norm hook", "pruned bias"])
def test_fusion_refuses_a_layer_whose_weight_is_computed_then_fuses_it_made_plain(computed):
    # The fused copy kept the pruning hook or parametrization: assigning the fused weight failed
    # (a KeyError naming right_inverse), or the copy's first forward did (a TypeError from the
    # pruning hook); PyTorch's fails in the same places. Now: one ValueError naming the fix.
    conv, norm = _conv_and_norm()
    x = ag.tensor(np.random.default_rng(2).standard_normal((2, 2, 5, 5)))
    if computed == "pruned":
        prune.l1_unstructured(conv, "weight", 0.5)
        undo = lambda: prune.remove(conv, "weight")
    elif computed == "pruned bias":
        prune.l1_unstructured(conv, "bias", 1)
        undo = lambda: prune.remove(conv, "bias")
    elif computed == "parametrized":
        parametrizations.weight_norm(conv)
        undo = lambda: nn.utils.parametrize.remove_parametrizations(conv, "weight")
    else:
        with pytest.warns(FutureWarning):
            weight_norm(conv)
        undo = lambda: remove_weight_norm(conv)
    with ag.no_grad():
        expected = norm(conv(x)).numpy()
    name = "bias" if computed == "pruned bias" else "weight"
    with pytest.raises(ValueError, match=f"fuse_conv_bn_eval: the .*Conv2d's {name} is computed from other tensors"):
        fuse_conv_bn_eval(conv, norm)
    undo()
    with ag.no_grad():
        np.testing.assert_allclose(fuse_conv_bn_eval(conv, norm)(x).numpy(), expected, rtol=1e-12, atol=1e-12)


def test_linear_fusion_refuses_a_pruned_linear():
    linear, norm = with_seeded_parameters(nn.Linear(3, 3), 0).eval(), nn.BatchNorm1d(3).eval()
    prune.random_unstructured(linear, "weight", 0.3)
    with pytest.raises(ValueError, match="fuse_linear_bn_eval: the Linear's weight is computed .*prune.remove"):
        fuse_linear_bn_eval(linear, norm)


@pytest.mark.parametrize("conv, transpose", [(nn.ConvTranspose2d(4, 4, 3), False), (nn.Conv2d(4, 4, 3), True),
                                             (nn.ConvTranspose1d(3, 4, 3), False), (nn.Conv1d(3, 4, 3), True)],
                         ids=["transposed_as_plain", "plain_as_transposed", "transposed_3_to_4", "plain_3_to_4"])
def test_a_transpose_flag_that_does_not_fit_the_layer_is_refused(conv, transpose):
    # The flag picks the weight's axis scaled as the output channels: the wrong one scaled the
    # input channels, silently where there are as many of them (PyTorch's does that), and failed
    # in a broadcast that named neither the flag nor the fix where there are not.
    norm = nn.BatchNorm2d(4).eval() if conv.weight.ndim == 4 else nn.BatchNorm1d(4).eval()
    with pytest.raises(ValueError, match=f"transpose={transpose}; pass transpose={not transpose}"):
        fuse_conv_bn_eval(conv.eval(), norm, transpose=transpose)


def test_a_norm_of_another_width_than_the_convolution_is_refused():
    with pytest.raises(ValueError, match="the batch norm normalizes 5 channels, but the Conv2d has 4 output channels"):
        fuse_conv_bn_eval(nn.Conv2d(3, 4, 3).eval(), nn.BatchNorm2d(5).eval())


@pytest.mark.parametrize("make", [lambda: nn.ConvTranspose2d(4, 6, 3, groups=2, stride=2),
                                  lambda: nn.ConvTranspose1d(6, 3, 2, groups=3, bias=False)],
                         ids=["2d_groups2", "1d_depthwise_no_bias"])
def test_a_grouped_transposed_convolution_is_fused(torch, make):
    # Its weight (in, out/groups, *kernel) holds output channel g * out/groups + j at [group g's
    # rows, j]: the scale reshaped over axis 1 did not broadcast (PyTorch's fails the same way).
    conv = with_seeded_parameters(make().to(dtype=ag.float64), 0).eval()
    channels = conv.out_channels
    norm_type = nn.BatchNorm2d if conv.weight.ndim == 4 else nn.BatchNorm1d
    norm, theirs = _trained_norm(torch, norm_type(channels).to(dtype=ag.float64),
                                 getattr(torch.nn, norm_type.__name__)(channels).double(), channels,
                                 np.random.default_rng(1))
    x = np.random.default_rng(2).standard_normal((2, conv.in_channels) + (5,) * (conv.weight.ndim - 2))
    conv_t = getattr(torch.nn, type(conv).__name__)(conv.in_channels, channels, conv.kernel_size,
                                                     stride=conv.stride, groups=conv.groups,
                                                     bias=conv.bias is not None).double().eval()
    conv_t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in conv.state_dict().items()})
    expected = theirs(conv_t(torch.tensor(x))).detach().numpy()  # PyTorch's two layers, unfused
    fused = fuse_conv_bn_eval(conv, norm, transpose=True)
    with ag.no_grad():
        np.testing.assert_allclose(fused(ag.tensor(x)).numpy(), expected, rtol=1e-12, atol=1e-12)
    assert fused.weight.shape == conv.weight.shape and fused.weight.requires_grad


def test_the_fusions_are_importable_from_nn_utils_as_from_torchs():
    # PyTorch code imports them from torch.nn.utils itself: `from torch.nn.utils import fuse_conv_bn_eval`
    for name in fusion.__all__:
        assert getattr(nn.utils, name) is getattr(fusion, name)
        assert name in nn.utils.__all__
