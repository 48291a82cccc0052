"""The depthwise convolution (groups == in_channels == out_channels) runs directly, a
multiply-add per kernel offset (nn_fused.depthwise), not through im2col and a batched
GEMM: its values, gradients and second derivatives match the general path's (forced
here) and PyTorch's, over strides, padding (asymmetric 'same' too), dilation, float32
and float64 and float16, as a transposed convolution too, on every backend."""
import numpy as np
import pytest

import autograd as ag
import nn.functional as F
from autograd.ops.nn_fused import cache_blocks, depthwise

from .torch_compare import named_rng

SETTINGS = [dict(padding=1), dict(stride=2, padding=1), dict(padding=2, dilation=2),
            dict(stride=(2, 1), padding=(0, 2)), dict(padding="same", dilation=(1, 2)), dict(stride=3)]
KERNELS = [(3, 3), (2, 4)]


def _general_path(monkeypatch):
    monkeypatch.setattr(depthwise, "is_depthwise", lambda weight_shape, groups: False)


def _results(x, w, b, g, settings, transposed=False):
    """The output, the three first derivatives and the second derivatives through the
    input gradient's squared norm, as NumPy arrays."""
    xo, wo, bo = (ag.tensor(a, requires_grad=True) for a in (x, w, b))
    conv = F.conv_transpose2d if transposed else F.conv2d
    y = conv(xo, wo, bo, groups=w.shape[0], **settings)
    gx, gw, gb = ag.grad(y, [xo, wo, bo], ag.tensor(g), create_graph=True)
    second = ag.grad((gx * gx).sum() + (gw * gw).sum(), [xo, wo])
    return [t.numpy() for t in (y, gx, gw, gb, *second)]


def _close(a, b, dtype):
    """Equal to rounding, relative to b's largest magnitude (the sums add in another order)."""
    scale = max(1.0, float(np.max(np.abs(b)))) if b.size else 1.0
    tol = {np.float64: 1e-12, np.float32: 2e-6, np.float16: 2e-3}[dtype]
    np.testing.assert_allclose(a.astype(np.float64) / scale, b.astype(np.float64) / scale, rtol=0, atol=tol)


def _arrays(name, dtype, kernel, settings, transposed=False):
    rng = named_rng(name)
    x = rng.standard_normal((3, 5, 11, 10)).astype(dtype)
    w = rng.standard_normal((5, 1) + kernel).astype(dtype)
    b = rng.standard_normal(5).astype(dtype)
    conv = F.conv_transpose2d if transposed else F.conv2d
    shape = conv(ag.tensor(x), ag.tensor(w), groups=5, **settings).shape
    return x, w, b, rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("settings", SETTINGS, ids=str)
@pytest.mark.parametrize("block_bytes", [cache_blocks.BLOCK_BYTES, 600], ids=["one block", "blocks"])
def test_depthwise_conv_matches_the_general_path_to_second_order(device, monkeypatch, dtype, kernel, settings,
                                                                 block_bytes):
    if settings.get("padding") == "same" and "stride" in settings:
        pytest.skip("'same' takes stride 1")
    arrays = _arrays(f"depthwise {settings}", dtype, kernel, settings)
    monkeypatch.setattr(cache_blocks, "BLOCK_BYTES", block_bytes)  # 600: channels of one image a block
    direct = _results(*arrays, settings)
    _general_path(monkeypatch)
    general = _results(*arrays, settings)
    for a, b in zip(direct, general):
        assert a.dtype == b.dtype == dtype and a.shape == b.shape
        _close(a, b, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("settings", [dict(padding=1), dict(stride=2, padding=1), dict(padding=2, dilation=2)],
                         ids=str)
def test_depthwise_conv_transpose_matches_the_general_path(monkeypatch, dtype, settings):
    arrays = _arrays(f"depthwise transposed {settings}", dtype, (3, 3), settings, transposed=True)
    direct = _results(*arrays, settings, transposed=True)
    _general_path(monkeypatch)
    general = _results(*arrays, settings, transposed=True)
    for a, b in zip(direct, general):
        assert a.dtype == b.dtype == dtype and a.shape == b.shape
        _close(a, b, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("settings", SETTINGS[:4], ids=str)
def test_depthwise_conv_matches_torch(torch, dtype, settings):
    x, w, b, g = _arrays(f"depthwise torch {settings}", dtype, (3, 3), settings)
    xo, wo, bo = (ag.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(xo, wo, bo, groups=5, **settings)
    y.backward(ag.tensor(g))
    wide = np.float32 if dtype == np.float16 else dtype  # (PyTorch's CPU float16 conv: float32, rounded)
    xt, wt, bt = (torch.tensor(a.astype(wide), requires_grad=True) for a in (x, w, b))
    yt = torch.nn.functional.conv2d(xt, wt, bt, groups=5, **settings)
    yt.backward(torch.tensor(g.astype(wide)))
    for ours, theirs in ((y, yt), (xo.grad, xt.grad), (wo.grad, wt.grad), (bo.grad, bt.grad)):
        assert ours.dtype == ag.tensor(x).dtype
        _close(ours.numpy(), theirs.detach().numpy(), dtype)


def test_depthwise_conv_passes_gradcheck_and_gradgradcheck():
    rng = named_rng("depthwise gradcheck")
    x = ag.tensor(rng.standard_normal((2, 3, 6, 5)), requires_grad=True)
    w = ag.tensor(rng.standard_normal((3, 1, 3, 2)), requires_grad=True)

    def fn(x, w):
        return F.conv2d(x, w, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=3)
    assert ag.gradcheck(fn, (x, w)) and ag.gradgradcheck(fn, (x, w))


def test_only_one_channel_per_group_in_and_out_is_depthwise():
    assert depthwise.is_depthwise((8, 1, 3, 3), 8)
    assert not depthwise.is_depthwise((16, 1, 3, 3), 8)  # a depth multiplier of 2: the general path
    assert not depthwise.is_depthwise((1, 1, 3, 3), 1)  # one channel, no groups
    assert not depthwise.is_depthwise((8, 1, 3, 3, 3), 8)  # a volume's
