"""Convolution, pooling and normalization against PyTorch in float64: what a bug hunt
over conv2d, the pools and the norm layers turned up (an empty batch in training, a
weight with an empty kernel, a one-entry output_size), and the behaviour it verified
(inputs large enough for the scratch-memory paths, in every memory layout; weights
that are views; ties in max pooling; zero variance)."""
import re

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from tests.torch_versions import needs_torch

from .torch_compare import named_rng


def _leaf(array):
    return ag.tensor(np.asarray(array, dtype=np.float64), dtype=ag.float64, requires_grad=True)


def _close(ours, theirs, what=""):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert ours.shape == tuple(theirs.shape), what
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-10, atol=1e-12, err_msg=what)


def _twin_batch_norms(torch, two_d, momentum):
    ours = (nn.BatchNorm2d if two_d else nn.BatchNorm1d)(3, momentum=momentum, dtype=ag.float64)
    theirs = (torch.nn.BatchNorm2d if two_d else torch.nn.BatchNorm1d)(3, momentum=momentum, dtype=torch.float64)
    w, b = np.array([0.5, -1.0, 2.0]), np.array([0.1, 0.2, -0.3])
    with ag.no_grad(), torch.no_grad():
        ours.weight.copy_(ag.tensor(w, dtype=ag.float64))
        ours.bias.copy_(ag.tensor(b, dtype=ag.float64))
        theirs.weight.copy_(torch.from_numpy(w))
        theirs.bias.copy_(torch.from_numpy(b))
    return ours, theirs


def _step_both(torch, ours, theirs, x):
    xo, xt = _leaf(x), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    _close(yo, yt, "output")
    r = np.random.default_rng(0).standard_normal(tuple(yt.shape))
    yo.backward(ag.tensor(r, dtype=ag.float64))
    yt.backward(torch.from_numpy(r))
    _close(xo.grad, xt.grad, "input gradient")
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        _close(p.grad, q.grad, name)
    for (name, b), (_, c) in zip(ours.named_buffers(), theirs.named_buffers()):
        _close(b, c, name)


# --- bugs: each of these failed before its fix ----------------------------------------------

@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("shape", [(0, 3), (0, 3, 4), (2, 3, 0), (0, 3, 2, 2)])
def test_batch_norm_trains_on_an_empty_batch_like_torch(device, torch, shape, momentum):
    """An empty batch (say the last one, after filtering) is no error in PyTorch: the output
    is empty, the running statistics stay, and the batch is counted; topograd refused it
    as 'one value per channel'. The next batch then sees PyTorch's cumulative factor."""
    ours, theirs = _twin_batch_norms(torch, len(shape) == 4, momentum)
    _step_both(torch, ours, theirs, np.zeros(shape))
    assert int(ours.num_batches_tracked.item()) == 1
    _step_both(torch, ours, theirs, named_rng("after empty").standard_normal(tuple(d or 2 for d in shape)))


def test_functional_batch_norm_of_an_empty_batch_leaves_the_running_stats_like_torch(device, torch):
    mean, var = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.5, 2.0])
    ours_stats = [ag.tensor(mean, dtype=ag.float64), ag.tensor(var, dtype=ag.float64)]
    theirs_stats = [torch.tensor(mean), torch.tensor(var)]
    xo, wo, bo = _leaf(np.zeros((0, 3, 2))), _leaf(np.ones(3)), _leaf(np.zeros(3))
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (np.zeros((0, 3, 2)), np.ones(3), np.zeros(3)))
    yo = F.batch_norm(xo, *ours_stats, wo, bo, training=True, momentum=0.5)
    yt = torch.nn.functional.batch_norm(xt, *theirs_stats, wt, bt, training=True, momentum=0.5)
    _close(yo, yt)
    yo.sum().backward()
    yt.sum().backward()
    for o, t in zip((xo.grad, wo.grad, bo.grad), (xt.grad, wt.grad, bt.grad)):
        _close(o, t)
    for o, t in zip(ours_stats, theirs_stats):
        _close(o, t)


@pytest.mark.parametrize("weight_shape", [(1, 1, 0, 3), (1, 1, 2, 0), (0, 1, 3, 3)])
def test_conv2d_refuses_a_weight_without_a_kernel_or_output_channels_like_torch(device, torch, weight_shape):
    """PyTorch refuses both; topograd returned a (1, 1, 5, 2) output for a 0x3 kernel over
    a 4x4 image, and a NumPy reshape error for no output channels."""
    with pytest.raises(RuntimeError):
        torch.nn.functional.conv2d(torch.zeros(1, 1, 4, 4), torch.zeros(weight_shape))
    with pytest.raises(ValueError, match=r"conv2d: weight .* output channel .* kernel"):
        F.conv2d(ag.zeros((1, 1, 4, 4)), ag.zeros(weight_shape))


@pytest.mark.parametrize("output_size", [(2,), [3], (2, 3, 4)])
def test_adaptive_avg_pool2d_names_an_output_size_of_the_wrong_length(device, torch, output_size):
    """PyTorch says 'output_size must be 2'; topograd's message showed the value doubled,
    ((2,), (2,)), which the caller never wrote."""
    with pytest.raises(RuntimeError, match="output_size must be 2"):
        torch.nn.functional.adaptive_avg_pool2d(torch.zeros(1, 1, 4, 4), output_size)
    with pytest.raises(TypeError, match="output_size must be an int or a pair, not " + re.escape(repr(output_size))):
        F.adaptive_avg_pool2d(ag.zeros((1, 1, 4, 4)), output_size)


@pytest.mark.parametrize("pool, output_size, shape", [("adaptive_avg_pool2d", (0, 2), (2, 3, 4, 4)),
                                                      ("adaptive_avg_pool2d", 0, (3, 4, 4)),
                                                      ("adaptive_avg_pool1d", 0, (2, 3, 5))])
def test_adaptive_avg_pool_to_an_output_size_of_0_is_empty_like_torch(device, torch, pool, output_size, shape):
    """PyTorch returns an empty output (whose gradient is zeros); topograd refused the 0."""
    x0 = np.random.default_rng(0).standard_normal(shape)
    expected = getattr(torch.nn.functional, pool)(torch.tensor(x0, requires_grad=True), output_size)
    x = ag.tensor(x0, device=device, requires_grad=True)
    y = getattr(F, pool)(x, output_size)
    assert y.shape == tuple(expected.shape)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(shape))


# --- verified: these already matched PyTorch -------------------------------------------------

_LAYOUTS = {  # what reaches the op: (ours, PyTorch's)
    "transposed": (lambda a: a.transpose(0, 1, 3, 2), lambda a: a.transpose(2, 3)),
    "channels-first": (lambda a: a.transpose(1, 0, 2, 3), lambda a: a.permute(1, 0, 2, 3)),
    "broadcast": (lambda a: a[:, :1].broadcast_to(a.shape), lambda a: a[:, :1].expand(a.shape)),
    "strided": (lambda a: a[:, :, ::2, ::2], lambda a: a[:, :, ::2, ::2]),
}
_OPS = {
    "conv2d-grouped": (lambda F, a: F.conv2d(a, _WEIGHT[F], padding=1, groups=2)),
    "max_pool2d-overlapping": (lambda F, a: F.max_pool2d(a, 3, 1, 1)),
    "max_pool2d-tiles": (lambda F, a: F.max_pool2d(a, 2)),
    "avg_pool2d-exclude-pad": (lambda F, a: F.avg_pool2d(a, 3, 2, 1, ceil_mode=True, count_include_pad=False)),
    "batch_norm": (lambda F, a: F.batch_norm(a, None, None, training=True)),
}
_WEIGHT = {}


@pytest.mark.parametrize("layout", sorted(_LAYOUTS))
@pytest.mark.parametrize("op", sorted(_OPS))
def test_large_inputs_in_any_layout_match_torch(device, torch, op, layout):
    """(4, 4, 36, 36) float64 inputs: past the scratch pool's 256 KiB floor, so the pooled
    im2col, GEMM and gradient buffers are in play, twice in a row (the second time in
    reused, dirty memory), from inputs that are transposed, broadcast or strided views."""
    rng = named_rng(f"{op} {layout}")
    base = rng.standard_normal((4, 4, 36, 36))
    w = rng.standard_normal((6, 2, 3, 3))
    _WEIGHT[F], _WEIGHT[torch.nn.functional] = ag.tensor(w, dtype=ag.float64), torch.from_numpy(w)
    ours_view, theirs_view = _LAYOUTS[layout]
    for step in range(2):
        xo, xt = _leaf(base), torch.tensor(base, requires_grad=True)
        yo, yt = _OPS[op](F, ours_view(xo)), _OPS[op](torch.nn.functional, theirs_view(xt))
        _close(yo, yt, f"output, step {step}")
        r = rng.standard_normal(tuple(yt.shape))
        yo.backward(ag.tensor(r, dtype=ag.float64))
        yt.backward(torch.from_numpy(r))
        _close(xo.grad, xt.grad, f"input gradient, step {step}")


@pytest.mark.parametrize("groups", [1, 2])
def test_conv2d_of_a_weight_view_matches_torch_to_second_order(device, torch, groups):
    """The weight is a transposed, sliced and concatenated view of a leaf, as weight sharing
    or tying builds it: value, gradients of input, leaf and bias, and a gradient penalty's
    second derivatives."""
    rng = named_rng(f"weight view {groups}")
    x, w, b = rng.standard_normal((2, 6, 5, 5)), rng.standard_normal((6, 4, 3, 3)), rng.standard_normal(8)
    xo, wo, bo = _leaf(x), _leaf(w), _leaf(b)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    kernel_o = wo.transpose(1, 0, 2, 3)[:, :6 // groups]
    kernel_t = wt.transpose(0, 1)[:, :6 // groups]
    yo = F.conv2d(xo, ag.concat([kernel_o, kernel_o], axis=0), bo, padding=1, groups=groups)
    yt = torch.nn.functional.conv2d(xt, torch.cat([kernel_t, kernel_t]), bt, padding=1, groups=groups)
    _close(yo, yt)
    r = rng.standard_normal(tuple(yt.shape))
    go = ag.grad(yo, [xo, wo, bo], ag.tensor(r, dtype=ag.float64), create_graph=True)
    gt = torch.autograd.grad(yt, [xt, wt, bt], torch.from_numpy(r), create_graph=True)
    for o, t in zip(go, gt):
        _close(o, t)
    ho = ag.grad((go[0] * go[0]).sum() + (go[1] * go[1]).sum(), [xo, wo])
    ht = torch.autograd.grad((gt[0] * gt[0]).sum() + (gt[1] * gt[1]).sum(), [xt, wt])
    for o, t in zip(ho, ht):
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("kwargs", [dict(kernel_size=3, stride=1), dict(kernel_size=2, stride=1, padding=1),
                                    dict(kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1), ceil_mode=True)])
def test_max_pool2d_of_ties_sends_each_window_gradient_to_its_first_cell_like_torch(device, torch, kwargs):
    """A constant image: every cell ties, and each window's gradient goes to its first cell
    inside the input in row-major order (so overlapping windows pile up there), as in
    PyTorch's CPU kernel; the indices say the same."""
    x = np.full((1, 2, 5, 6), 0.5)
    xo, xt = _leaf(x), torch.tensor(x, requires_grad=True)
    (yo, io), (yt, it) = (F.max_pool2d(xo, return_indices=True, **kwargs),
                          torch.nn.functional.max_pool2d(xt, return_indices=True, **kwargs))
    _close(yo, yt)
    np.testing.assert_array_equal(io.numpy(), it.numpy())
    yo.sum().backward()
    yt.sum().backward()
    _close(xo.grad, xt.grad)


@pytest.mark.parametrize("shape, kwargs", [
    ((5, 6, 14, 15), dict(kernel_size=3, stride=2, padding=1)),  # several images a block
    ((2, 5, 40, 41), dict(kernel_size=(3, 2), stride=(1, 2), padding=1, dilation=2)),  # a few channels of one
    ((3, 4, 12, 12), dict(kernel_size=2, stride=2))])  # windows that tile
def test_max_pool2d_a_block_at_a_time_gives_one_blocks_values_and_torchs(device, torch, monkeypatch, shape, kwargs):
    """Max pooling and its gradient run a cache-sized block of images (or of one image's
    channels) at a time: the same values, gradients and indices as in one block, bit for
    bit, and as PyTorch's, with ties, NaN and -inf in the input."""
    from autograd.ops.nn_fused import cache_blocks
    x = named_rng(f"pool blocks {shape}").standard_normal(shape)
    x.flat[::7] = x.flat[1::7]  # ties
    x.flat[5::401], x.flat[11::397] = np.nan, -np.inf
    g = named_rng(f"pool blocks g {shape}").standard_normal(
        torch.nn.functional.max_pool2d(torch.tensor(x), **kwargs).shape)
    results = []
    for block_bytes in (2048, 1 << 40):  # many blocks at these small sizes, then one
        monkeypatch.setattr(cache_blocks, "BLOCK_BYTES", block_bytes)
        xo = _leaf(x)
        yo, io = F.max_pool2d(xo, return_indices=True, **kwargs)
        yo.backward(ag.tensor(g))
        results.append([yo.numpy(), io.numpy(), xo.grad.numpy()])
    for blocked, whole in zip(*results):
        np.testing.assert_array_equal(blocked, whole)
    xt = torch.tensor(x, requires_grad=True)
    yt, it = torch.nn.functional.max_pool2d(xt, return_indices=True, **kwargs)
    yt.backward(torch.tensor(g))
    np.testing.assert_array_equal(results[0][0], yt.detach().numpy())
    np.testing.assert_array_equal(results[0][1], it.numpy())
    np.testing.assert_allclose(results[0][2], xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_max_pool2d_keeps_one_running_maximum_not_one_array_per_kernel_offset(torch):
    """The maximum over a 3x3 window's nine offsets is taken into one array, in place after
    the first: a fresh array per offset held two outputs at once (and cost LeNet's first
    pool 10% of its time). The values stay PyTorch's, NaN and -inf included."""
    import tracemalloc
    x = named_rng("pool in place").standard_normal((4, 8, 64, 64)).astype(np.float32)
    x.flat[5::401], x.flat[11::397] = np.nan, -np.inf
    xo = ag.tensor(x)
    with ag.no_grad():
        tracemalloc.start()
        try:
            y = F.max_pool2d(xo, 3, stride=1)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 1.5 * y.numpy().nbytes, f"peak {peak} bytes for an output of {y.numpy().nbytes}"
    np.testing.assert_array_equal(y.numpy(), torch.nn.functional.max_pool2d(torch.tensor(x), 3, stride=1).numpy())


def test_max_pool2d_gradient_from_a_linear_layer_is_laid_out_once_not_per_kernel_offset(torch, monkeypatch):
    """LeNet's pattern: conv, max-pool, flatten, linear. The pool's gradient comes back
    batch-first from the linear layer while its buffer is channels-first (a conv's
    layout); each kernel offset's masked write across the two layouts went through a
    temporary and a copy. The gradient is laid out like the buffer once, then every
    write goes straight in; the gradient stays PyTorch's."""
    from backends import numpy_backend
    x = named_rng("pool layouts").standard_normal((6, 3, 10, 10)).astype(np.float32)
    w = named_rng("pool layouts w").standard_normal((4, 3, 3, 3)).astype(np.float32)
    fc = named_rng("pool layouts fc").standard_normal((5, 64)).astype(np.float32)
    across = []
    masked = numpy_backend.NumpyBackend.masked

    def spying(self, values, keep, out=None):
        if out is not None:
            across.append(numpy_backend.memory_order(out) != numpy_backend.memory_order(values))
        return masked(self, values, keep, out)

    monkeypatch.setattr(numpy_backend.NumpyBackend, "masked", spying)
    xo, wo, fco = (ag.tensor(a, device="cpu", requires_grad=True) for a in (x, w, fc))  # (NumPy's layouts)
    (F.linear(F.max_pool2d(F.conv2d(xo, wo), 2).reshape(6, -1), fco) ** 2).sum().backward()
    assert across and not any(across), across
    xt, wt, fct = (torch.tensor(a, requires_grad=True) for a in (x, w, fc))
    nnf = torch.nn.functional
    (nnf.linear(nnf.max_pool2d(nnf.conv2d(xt, wt), 2).reshape(6, -1), fct) ** 2).sum().backward()
    for ours, theirs in ((xo, xt), (wo, wt), (fco, fct)):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_empty_batches_through_conv_and_pooling_match_torch(device, torch):
    x, w, b = np.zeros((0, 2, 5, 5)), named_rng("empty").standard_normal((3, 2, 3, 3)), np.ones(3)
    for name, ours, theirs in (
            ("conv2d", lambda a, w, b: F.conv2d(a, w, b, padding=1),
             lambda a, w, b: torch.nn.functional.conv2d(a, w, b, padding=1)),
            ("max_pool2d", lambda a, w, b: F.max_pool2d(a, 2), lambda a, w, b: torch.nn.functional.max_pool2d(a, 2)),
            ("avg_pool2d", lambda a, w, b: F.avg_pool2d(a, 3, 2, 1),
             lambda a, w, b: torch.nn.functional.avg_pool2d(a, 3, 2, 1)),
            ("adaptive", lambda a, w, b: F.adaptive_avg_pool2d(a, 3),
             lambda a, w, b: torch.nn.functional.adaptive_avg_pool2d(a, 3))):
        leaves_o = [_leaf(a) for a in (x, w, b)]
        leaves_t = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
        yo, yt = ours(*leaves_o), theirs(*leaves_t)
        _close(yo, yt, name)
        go = ag.grad(yo.sum(), leaves_o, allow_unused=True)
        gt = torch.autograd.grad(yt.sum(), leaves_t, allow_unused=True)
        for o, t in zip(go, gt):
            assert (o is None) == (t is None), name
            if o is not None:
                _close(o, t, name)


@pytest.mark.parametrize("norm", ["layer_norm", "batch_norm"])
def test_zero_variance_gradients_match_torch(device, torch, norm):
    """A constant input has zero variance: the output is 0 and the input gradient is
    finite, gy / sqrt(eps) less its mean, as in PyTorch."""
    x = np.full((3, 2, 4), 7.0)
    xo, xt = _leaf(x), torch.tensor(x, requires_grad=True)
    if norm == "layer_norm":
        yo, yt = F.layer_norm(xo, (2, 4), eps=1e-3), torch.nn.functional.layer_norm(xt, (2, 4), eps=1e-3)
    else:
        yo = F.batch_norm(xo, None, None, training=True, eps=1e-3)
        yt = torch.nn.functional.batch_norm(xt, None, None, training=True, eps=1e-3)
    _close(yo, yt)
    r = named_rng(norm).standard_normal(x.shape)
    yo.backward(ag.tensor(r, dtype=ag.float64))
    yt.backward(torch.from_numpy(r))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-9)


# --- normalization layers fed another dtype than their parameters ---------------------------------

NORM_LAYERS = {
    "BatchNorm1d": (lambda: nn.BatchNorm1d(3), (4, 3)),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(3), (2, 3, 4, 4)),
    "LayerNorm": (lambda: nn.LayerNorm(3), (4, 3)),
}


@pytest.mark.parametrize("name", sorted(NORM_LAYERS))
def test_norm_layer_refuses_float64_input_into_float32_model(device, name):
    """Linear, Conv2d, RNNs (and PyTorch's norm layers: 'mixed dtype (CPU): all inputs
    must share same datatype') refuse float64 input to a float32 model; BatchNorm and
    LayerNorm here return float64 and update their float32 running statistics."""
    make, shape = NORM_LAYERS[name]
    layer = make()
    buffers = {k: v.numpy().copy() for k, v in layer.state_dict().items()}
    with pytest.raises(TypeError, match=r"float64.*float32|float32.*float64"):
        layer(ag.randn(*shape, dtype=ag.float64))
    for k, v in layer.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), buffers[k])


# --- inputs that do not fit a convolution or a norm layer: errors that name the layer and the fix

@pytest.mark.parametrize("make, shape, fixed", [
    (lambda: nn.Conv2d(3, 8, 3), (2, 28, 28, 3), (0, 3, 1, 2)),
    (lambda: nn.Conv1d(3, 8, 3), (2, 10, 3), (0, 2, 1)),
    (lambda: nn.ConvTranspose2d(3, 8, 3), (2, 6, 6, 3), (0, 3, 1, 2)),
    (lambda: nn.Conv2d(3, 8, 3, padding=1, padding_mode="reflect"), (2, 6, 6, 3), (0, 3, 1, 2)),
], ids=["conv2d", "conv1d", "conv-transpose2d", "conv2d-reflect"])
def test_conv_on_channels_last_images_names_the_layer_and_the_transpose(device, torch, make, shape, fixed):
    """Images in (N, H, W, C), as PIL and TensorFlow hold them: the message said "the input
    has 28 channels", without the layer or the layout. PyTorch refuses too."""
    with pytest.raises(RuntimeError, match="channels"):
        torch.nn.Conv2d(3, 8, 3)(torch.zeros(2, 28, 28, 3))
    layer = make()
    name = type(layer).__name__
    x = ag.randn(*shape)
    with pytest.raises(ValueError, match=rf"^{name}\(3, 8, .*\): the input has {shape[1]} channels but the weight "
                                         rf".* expects 3 .*; if the input is channels-last.*"
                                         rf"x\.transpose{re_tuple(fixed)}$"):
        layer(x)
    assert layer(x.transpose(*fixed)).shape[:2] == (shape[0], 8)


def re_tuple(axes):
    return r"\(" + r", ".join(map(str, axes)) + r"\)"


def test_conv_with_wrong_channels_names_the_layer_without_a_layout_guess(device):
    with pytest.raises(ValueError, match=r"^Conv2d\(4, 2, .*groups=2\): the input has 2 channels but the weight "
                                         r"\(2, 2, 3, 3\) expects 4 \(axis 1 of the \(N, C, H, W\) input of shape "
                                         r"\(1, 2, 5, 5\)\)$"):
        nn.Conv2d(4, 2, 3, groups=2)(ag.randn(1, 2, 5, 5))


def test_batchnorm2d_on_channels_last_or_one_sample_says_how_to_fix_and_keeps_statistics(device, torch):
    with pytest.raises(ValueError, match="expected 4D input"):
        torch.nn.BatchNorm2d(3)(torch.zeros(3, 5, 5))
    layer = nn.BatchNorm2d(3)
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 3 channels \(axis 1\), got input of shape "
                                         r"\(2, 5, 5, 3\); if the input is channels-last.*x\.transpose\(0, 3, 1, 2\)"):
        layer(ag.randn(2, 5, 5, 3))
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4D input, got 3D input of shape \(3, 5, 5\); "
                                         r"for one sample, add the batch axis with x\.expand_dims\(0\)"):
        layer(ag.randn(3, 5, 5))
    assert layer.num_batches_tracked.item() == 0
    np.testing.assert_array_equal(layer.running_mean.numpy(), np.zeros(3))
    assert layer(ag.randn(3, 5, 5).expand_dims(0)).shape == (1, 3, 5, 5)


def test_layer_norm_with_a_float_size_names_normalized_shape(device):
    """LayerNorm(d_model / 2) raised "'float' object is not iterable"; F.layer_norm(x, 3.0)
    too, and a float inside a tuple, (3.0,), was taken silently."""
    with pytest.raises(ValueError, match=r"LayerNorm: normalized_shape must be positive ints, got \(3\.0,\)"):
        nn.LayerNorm(3.0)
    x = ag.randn(2, 3)
    for shape in (3.0, (3.0,)):
        with pytest.raises(TypeError, match=r"layer_norm: normalized_shape must be an int or a sequence of ints"):
            F.layer_norm(x, shape)
    ours = F.layer_norm(x, np.int64(3)).numpy()
    mean, var = x.numpy().mean(-1, keepdims=True), x.numpy().var(-1, keepdims=True)
    np.testing.assert_allclose(ours, (x.numpy() - mean) / np.sqrt(var + 1e-5), rtol=1e-5, atol=1e-6)


# --- one running buffer without the other -------------------------------------------------------

@pytest.mark.parametrize("op", ["batch_norm", "instance_norm"])
@pytest.mark.parametrize("missing", ["running_mean", "running_var"])
def test_one_running_buffer_alone_is_refused_and_left_unchanged(torch, op, missing):
    """F.batch_norm(training=True) and F.instance_norm(use_input_stats=True) updated the one
    buffer they were given and went on; PyTorch refuses the call, as the pair would drift apart."""
    rng = named_rng(f"one buffer {op} {missing}")
    x = rng.standard_normal((4, 3, 5))
    buffers = {"running_mean": rng.standard_normal(3), "running_var": rng.random(3) + 0.5}
    given = {name: (None if name == missing else ag.tensor(value)) for name, value in buffers.items()}
    given_torch = {name: (None if name == missing else torch.tensor(value)) for name, value in buffers.items()}
    with pytest.raises(ValueError, match="running_mean and running_var must either both be None"):
        getattr(torch.nn.functional, op)(torch.tensor(x), given_torch["running_mean"], given_torch["running_var"],
                                         None, None, True, 0.5)
    kept = "running_var" if missing == "running_mean" else "running_mean"
    with pytest.raises(ValueError, match=rf"^{op}: got {kept} without {missing}; pass both running buffers"):
        getattr(F, op)(ag.tensor(x), given["running_mean"], given["running_var"], None, None, True, 0.5)
    np.testing.assert_array_equal(given[kept].numpy(), buffers[kept])


# --- batch_norm's eps ----------------------------------------------------------------------------

@pytest.mark.parametrize("training, eps, message", [
    (True, 0.0, "eps must be positive in training, got 0.0"),
    (True, -1e-3, "eps must be positive in training, got -0.001"),
    (False, -1e-3, "eps must be non-negative, got -0.001"),
])
def test_batch_norm_refuses_an_eps_that_pytorch_refuses(torch, training, eps, message):
    """F.batch_norm took eps=0 in training (a constant channel gave NaN) and a negative eps
    anywhere (values past sqrt of a negative, or silently wrong ones where var + eps stayed
    positive), and updated the running statistics too; PyTorch raises ValueError."""
    rng = named_rng(f"batch_norm eps {training} {eps}")
    x = rng.standard_normal((4, 3, 5))
    mean, var = rng.standard_normal(3), rng.random(3) + 0.5
    with pytest.raises(ValueError, match="eps must be"):
        torch.nn.functional.batch_norm(torch.tensor(x), torch.tensor(mean), torch.tensor(var), training=training,
                                       eps=eps)
    running_mean, running_var = ag.tensor(mean), ag.tensor(var)
    with pytest.raises(ValueError, match=rf"^batch_norm: {message}"):
        F.batch_norm(ag.tensor(x), running_mean, running_var, training=training, eps=eps)
    np.testing.assert_array_equal(running_mean.numpy(), mean)
    np.testing.assert_array_equal(running_var.numpy(), var)


@needs_torch("2.13", "batch_norm takes eps=0 in evaluation from 2.13 on (2.11 refused it in both modes)")
def test_batch_norm_in_evaluation_takes_eps_zero_as_pytorch(torch):
    rng = named_rng("batch_norm eval eps 0")
    x, mean, var = rng.standard_normal((4, 3, 5)), rng.standard_normal(3), rng.random(3) + 0.5
    ours = F.batch_norm(ag.tensor(x), ag.tensor(mean), ag.tensor(var), training=False, eps=0.0)
    theirs = torch.nn.functional.batch_norm(torch.tensor(x), torch.tensor(mean), torch.tensor(var), training=False,
                                            eps=0.0)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


# --- NumPy integers as sizes ----------------------------------------------------------------------

def test_norm_layers_take_numpy_integer_sizes_as_pytorch(torch):
    rng = named_rng("numpy sizes norms")
    x = rng.standard_normal((4, 6, 5))
    channels = np.int64(x.shape[1])
    float64 = {"dtype": torch.float64}
    pairs = [(nn.BatchNorm1d(channels, dtype=ag.float64), torch.nn.BatchNorm1d(channels, **float64)),
             (nn.GroupNorm(np.int64(2), channels, dtype=ag.float64),
              torch.nn.GroupNorm(np.int64(2), channels, **float64)),
             (nn.LocalResponseNorm(np.int64(3)), torch.nn.LocalResponseNorm(np.int64(3)))]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours(ag.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=type(ours).__name__)
    assert type(pairs[0][0].num_features) is int and type(pairs[1][0].num_groups) is int
    with pytest.raises(ValueError, match=r"^BatchNorm1d: num_features must be a positive int, got np\.int64\(0\)"):
        nn.BatchNorm1d(np.int64(0))
    with pytest.raises(ValueError, match=r"^Embedding: num_embeddings must be a positive int, got 2\.0"):
        nn.Embedding(2.0, 3)
