"""Conv3d, ConvTranspose3d, F.conv3d and F.conv_transpose3d against PyTorch in float64:
values and the gradients of input, weight and bias over a grid of stride, padding
('same', 'valid', ints and triples that differ per axis), output_padding, dilation,
groups and bias with non-cubic kernels; unbatched inputs; second derivatives against
PyTorch and by ag.gradcheck / ag.gradgradcheck; the layers' parameters, initialization,
padding modes, output_size and state_dict; float32 against PyTorch; and the errors a user will hit."""
import math

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

from .torch_compare import float64_leaves, named_rng, run_both

# (stride, padding, dilation): each axis its own, so that mixing up depth, height and width shows
CONV_SETTINGS = [
    (1, 0, 1),
    (2, 1, 1),
    ((2, 1, 3), (1, 0, 2), (1, 2, 1)),
    ((1, 3, 1), 2, (2, 1, 1)),
    (1, "same", (2, 1, 2)),
    (1, "same", 1),
    (3, "valid", 1),
]
# (stride, padding, output_padding, dilation), as PyTorch accepts them (output_padding
# smaller than the stride or the dilation along each axis)
TRANSPOSE_SETTINGS = [
    (1, 0, 0, 1),
    (2, 1, 1, 1),
    ((2, 1, 3), (1, 0, 2), (1, 0, 2), (1, 2, 1)),
    ((3, 2, 1), 2, (2, 1, 0), (1, 1, 2)),
    (1, (0, 1, 0), (1, 0, 0), (2, 1, 1)),
]


def _compare(torch, ours, theirs, arrays, rng, what):
    """Value, and every input's gradient for a random output gradient."""
    pairs = [float64_leaves(torch, a) for a in arrays]
    xo, xt = [o for o, _ in pairs], [t for _, t in pairs]
    yo, yt = ours(*xo), theirs(*xt)
    assert yo.shape == tuple(yt.shape), what
    np.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-11, err_msg=what)
    r = rng.standard_normal(tuple(yt.shape))
    go = ag.grad(yo, xo, ag.tensor(r, dtype=ag.float64))
    gt = torch.autograd.grad(yt, xt, torch.from_numpy(r))
    for name, o, t in zip(("input", "weight", "bias"), go, gt):
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-10, atol=1e-11, err_msg=f"{what}: {name}")


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch's note on its own zero-padded copy
@pytest.mark.parametrize("groups, bias", [(1, True), (2, False), (3, True)])
@pytest.mark.parametrize("setting", CONV_SETTINGS, ids=str)
def test_conv3d_matches_torch(device, torch, groups, bias, setting):
    stride, padding, dilation = setting
    rng = named_rng(f"conv3d {groups} {bias} {setting}")
    x = rng.standard_normal((2, 2 * groups, 7, 6, 8))
    w = rng.standard_normal((2 * groups, 2, 3, 2, 3))
    arrays = [x, w] + ([rng.standard_normal(2 * groups)] if bias else [])
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    _compare(torch, lambda *a: F.conv3d(*a, **kwargs), lambda *a: torch.nn.functional.conv3d(*a, **kwargs),
             arrays, rng, str(setting))


@pytest.mark.parametrize("groups, bias", [(1, True), (2, False), (3, True)])
@pytest.mark.parametrize("setting", TRANSPOSE_SETTINGS, ids=str)
def test_conv_transpose3d_matches_torch(device, torch, groups, bias, setting):
    stride, padding, output_padding, dilation = setting
    rng = named_rng(f"conv_transpose3d {groups} {bias} {setting}")
    x = rng.standard_normal((2, 2 * groups, 3, 4, 3))
    w = rng.standard_normal((2 * groups, 2, 3, 2, 3))
    arrays = [x, w] + ([rng.standard_normal(2 * groups)] if bias else [])
    kwargs = dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation, groups=groups)
    _compare(torch, lambda *a: F.conv_transpose3d(*a, **kwargs),
             lambda *a: torch.nn.functional.conv_transpose3d(*a, **kwargs), arrays, rng, str(setting))


# The input gradient at plane stride 1 runs its GEMM a block of volumes, or of one
# volume's depths, at a time; a small block budget makes several of either here
# (one depth's blocks take 8640 and 12960 bytes, one volume's four times that).
@pytest.mark.parametrize("chunk_bytes", [1, 30000, 110000], ids=["depth-by-depth", "some-depths", "some-volumes"])
@pytest.mark.parametrize("transposed", [False, True])
def test_blocked_input_gradient_matches_torch(device, torch, monkeypatch, transposed, chunk_bytes):
    from autograd.ops.nn_fused import volume_convolution
    monkeypatch.setattr(volume_convolution, "_CHUNK_BYTES", chunk_bytes)
    rng = named_rng(f"blocked conv3d {transposed} {chunk_bytes}")
    kwargs = dict(stride=(2, 1, 1), padding=(1, 1, 0), dilation=(1, 2, 1))
    x = rng.standard_normal((5, 3, 7, 6, 5))
    w = rng.standard_normal((4, 3, 3, 2, 3))
    ours, theirs = F.conv3d, torch.nn.functional.conv3d
    if transposed:
        x, w = rng.standard_normal((5, 4, 4, 6, 3)), rng.standard_normal((4, 3, 3, 2, 3))
        ours, theirs = F.conv_transpose3d, torch.nn.functional.conv_transpose3d
    _compare(torch, lambda *a: ours(*a, **kwargs), lambda *a: theirs(*a, **kwargs),
             [x, w, rng.standard_normal(w.shape[1] if transposed else w.shape[0])], rng, str(kwargs))


@pytest.mark.parametrize("transposed", [False, True])
def test_unbatched_input_matches_torch(device, torch, transposed):
    rng = named_rng(f"conv3d unbatched {transposed}")
    ours, theirs = ((F.conv_transpose3d, torch.nn.functional.conv_transpose3d) if transposed else
                    (F.conv3d, torch.nn.functional.conv3d))
    arrays = [rng.standard_normal((4, 3, 5, 4)), rng.standard_normal((4, 4, 2, 3, 2)), rng.standard_normal(4)]
    _compare(torch, lambda *a: ours(*a, stride=2), lambda *a: theirs(*a, stride=2), arrays, rng, "unbatched")


@pytest.mark.parametrize("transposed", [False, True])
def test_second_derivatives_match_torch(device, torch, transposed):
    """d/d(x, w) of <grad wrt x and w, v>: the double backward through both kernels."""
    rng = named_rng(f"conv3d double backward {transposed}")
    ours, theirs = ((F.conv_transpose3d, torch.nn.functional.conv_transpose3d) if transposed else
                    (F.conv3d, torch.nn.functional.conv3d))
    x, w = rng.standard_normal((1, 2, 3, 4, 3)), rng.standard_normal((2, 2, 2, 2, 2))
    r = rng.standard_normal(tuple(theirs(torch.tensor(x), torch.tensor(w), stride=2, padding=1).shape))
    results = []
    for lib, leaf, wrap, grad in ((ag, lambda a: ag.tensor(a, requires_grad=True), ag.tensor, ag.grad),
                                  (torch, lambda a: torch.tensor(a, requires_grad=True), torch.tensor,
                                   torch.autograd.grad)):
        xl, wl = leaf(x), leaf(w)
        fn = ours if lib is ag else theirs
        gx, gw = grad((fn(xl, wl, stride=2, padding=1) * wrap(r)).sum(), [xl, wl], create_graph=True)
        results.append(grad((gx * gx).sum() + (gw * wrap(w)).sum(), [xl, wl]))
    for o, t in zip(*results):
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-10, atol=1e-11)


@pytest.mark.parametrize("transposed", [False, True])
def test_gradcheck_and_gradgradcheck(device, transposed):
    rng = named_rng(f"conv3d gradcheck {transposed}")
    fn = F.conv_transpose3d if transposed else F.conv3d
    x = ag.tensor(rng.standard_normal((1, 2, 3, 3, 2)), dtype=ag.float64, requires_grad=True)
    w = ag.tensor(rng.standard_normal((2, 2, 2, 1, 2)), dtype=ag.float64, requires_grad=True)
    b = ag.tensor(rng.standard_normal(2), dtype=ag.float64, requires_grad=True)

    def f(x, w, b):
        return fn(x, w, b, stride=(2, 1, 1), padding=(1, 0, 1))
    assert ag.gradcheck(f, (x, w, b))
    assert ag.gradgradcheck(f, (x, w, b))


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv3d_layer_matches_torch(device, torch, padding_mode):
    ours = nn.Conv3d(4, 6, (3, 2, 3), stride=(1, 2, 1), padding=(1, 1, 2), groups=2, padding_mode=padding_mode,
                     dtype=ag.float64)
    theirs = torch.nn.Conv3d(4, 6, (3, 2, 3), stride=(1, 2, 1), padding=(1, 1, 2), groups=2,
                             padding_mode=padding_mode, dtype=torch.float64)
    ours.load_state_dict({k: ag.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    run_both(torch, ours, theirs, named_rng(f"Conv3d {padding_mode}").standard_normal((2, 4, 4, 5, 5)))


def test_conv_transpose3d_layer_with_output_size_matches_torch(device, torch):
    ours = nn.ConvTranspose3d(4, 2, 3, stride=2, padding=1, dtype=ag.float64)
    theirs = torch.nn.ConvTranspose3d(4, 2, 3, stride=2, padding=1, dtype=torch.float64)
    ours.load_state_dict({k: ag.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    x = named_rng("ConvTranspose3d output_size").standard_normal((1, 4, 3, 4, 3))
    for size in [(5, 7, 5), (6, 8, 6), (1, 2, 6, 7, 5)]:
        yo = ours(ag.tensor(x), output_size=size)
        yt = theirs(torch.tensor(x), output_size=size)
        np.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=str(size))
    with pytest.raises(ValueError, match=r"valid sizes range from \(5, 7, 5\) to \(6, 8, 6\)"):
        ours(ag.tensor(x), output_size=(7, 7, 5))


@pytest.mark.parametrize("layer", ["Conv3d", "ConvTranspose3d"])
def test_layers_have_torchs_parameters_repr_and_initialization(device, torch, layer):
    ours = getattr(nn, layer)(6, 8, (3, 1, 2), stride=2, padding=1, groups=2)
    theirs = getattr(torch.nn, layer)(6, 8, (3, 1, 2), stride=2, padding=1, groups=2)
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert repr(ours) == repr(theirs)
    fan_in = ours.weight.shape[1] * 3 * 1 * 2
    bound = 1 / math.sqrt(fan_in)
    for p in (ours.weight, ours.bias):
        values = p.numpy()
        assert np.all(np.abs(values) <= bound) and values.std() > bound / 4  # U(-bound, bound), not all 0


@pytest.mark.parametrize("transposed", [False, True])
def test_float32_matches_torch(device, torch, transposed):
    """float32 values and gradients, to float32's precision (the grid above is float64)."""
    rng = named_rng(f"conv3d float32 {transposed}")
    ours, theirs = ((F.conv_transpose3d, torch.nn.functional.conv_transpose3d) if transposed else
                    (F.conv3d, torch.nn.functional.conv3d))
    arrays = [rng.standard_normal((2, 4, 4, 5, 3)).astype(np.float32),
              rng.standard_normal((4, 2, 2, 3, 2)).astype(np.float32), rng.standard_normal(4).astype(np.float32)]
    kwargs = dict(stride=(2, 1, 1), padding=(1, 1, 0), dilation=(1, 1, 2), groups=2)
    xo = [ag.tensor(a, requires_grad=True) for a in arrays]
    xt = [torch.tensor(a, requires_grad=True) for a in arrays]
    yo, yt = ours(*xo, **kwargs), theirs(*xt, **kwargs)
    assert yo.dtype == ag.float32 and yo.shape == tuple(yt.shape)
    np.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    r = rng.standard_normal(tuple(yt.shape)).astype(np.float32)
    for name, o, t in zip(("input", "weight", "bias"), ag.grad(yo, xo, ag.tensor(r)),
                          torch.autograd.grad(yt, xt, torch.from_numpy(r))):
        assert o.dtype == ag.float32, name
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-5, atol=1e-4, err_msg=name)


def test_float32_stays_float32(device):
    x = ag.randn(1, 2, 4, 4, 4)
    for layer in (nn.Conv3d(2, 3, 3, padding="same"), nn.ConvTranspose3d(2, 3, 3, stride=2)):
        y = layer(x)
        y.sum().backward()
        assert y.dtype == ag.float32 and layer.weight.grad.dtype == ag.float32


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.conv3d(ag.zeros((1, 4, 4, 4, 4)), ag.zeros((3, 2, 2, 2, 2))), ValueError,
     r"conv3d: the input has 4 channels but the weight \(3, 2, 2, 2, 2\) with groups=1 expects 2"),
    (lambda: F.conv3d(ag.zeros((2, 4, 4)), ag.zeros((3, 2, 2, 2, 2))), ValueError,
     r"conv3d: expected a \(N, C, D, H, W\) or \(C, D, H, W\) input"),
    (lambda: F.conv3d(ag.zeros((1, 2, 4, 4, 4)), ag.zeros((3, 2, 2, 2))), ValueError,
     r"conv3d: weight must be 5-D \(out_channels, in_channels/groups, KD, KH, KW\)"),
    (lambda: F.conv3d(ag.zeros((1, 2, 1, 4, 4)), ag.zeros((3, 2, 2, 2, 2))), ValueError,
     "smaller than the kernel's extent 2"),
    (lambda: F.conv3d(ag.zeros((1, 2, 4, 4, 4)), ag.zeros((3, 2, 2, 2, 2)), stride=2, padding="same"), ValueError,
     "padding='same' needs stride 1"),
    (lambda: F.conv3d(ag.zeros((1, 2, 4, 4, 4)), ag.zeros((3, 2, 2, 2, 2)), stride=(1, 2)), TypeError,
     "stride must be an int or a triple of ints"),
    (lambda: F.conv3d(ag.zeros((1, 2, 4, 4, 4)), ag.zeros((3, 2, 2, 2, 2)), padding="full"), ValueError,
     "padding must be an int, a triple, 'valid' or 'same'"),
    (lambda: F.conv3d(ag.zeros((1, 2, 4, 4, 4)), ag.zeros((3, 2, 2, 2, 2)), ag.zeros(2)), ValueError,
     r"bias must have shape \(3,\)"),
    (lambda: F.conv3d(ag.zeros((1, 2, 4, 4, 4)), ag.zeros((3, 2, 2, 2, 2), dtype=ag.float64)), TypeError,
     "weight is float64 but the input is float32"),
    (lambda: F.conv_transpose3d(ag.zeros((1, 2, 3, 3, 3)), ag.zeros((3, 2, 2, 2, 2))), ValueError,
     r"the input has 2 channels but the weight \(3, 2, 2, 2, 2\) expects 3"),
    (lambda: F.conv_transpose3d(ag.zeros((1, 2, 3, 3, 3)), ag.zeros((2, 2, 2, 2, 2)), stride=2,
                                output_padding=(2, 0, 0)), ValueError,
     "output_padding \\(2\\) must be smaller than either stride \\(2\\) or dilation \\(1\\) along the depth"),
    (lambda: F.conv_transpose3d(ag.zeros((1, 2, 3, 3, 3)), ag.zeros((2, 2, 2, 2, 2)), padding=(3, 0, 0)),
     ValueError, "the output's depth would be -2"),
    (lambda: F.conv3d(ag.zeros((1, 4, 4, 4, 4)), ag.zeros((3, 2, 2, 2, 2)), groups=2), ValueError,
     r"conv3d: out_channels \(3\) must be divisible by groups \(2\)"),
    (lambda: F.conv3d(ag.zeros((1, 2, 4, 4, 4)), ag.zeros((3, 2, 2, 2, 2)), stride=(1, 0, 1)), ValueError,
     r"conv3d: stride must be at least 1, got \(1, 0, 1\)"),
    (lambda: F.conv3d(ag.zeros((1, 2, 4, 4, 4)), ag.zeros((3, 2, 2, 2, 2)), padding=-1), ValueError,
     "conv3d: padding must be at least 0"),
    (lambda: F.conv3d(ag.zeros((1, 2, 4, 4, 4), dtype=ag.int64), ag.zeros((3, 2, 2, 2, 2))), TypeError,
     "conv3d: input must be floating point, not int64"),
    (lambda: F.conv_transpose3d(ag.zeros((1, 4, 3, 3, 3)), ag.zeros((4, 2, 2, 2, 2)), groups=3), ValueError,
     r"conv_transpose3d: in_channels \(4, the weight's first axis\) must be divisible by groups \(3\)"),
    (lambda: F.conv_transpose3d(ag.zeros((1, 2, 3, 3, 3)), ag.zeros((2, 2, 2, 2, 2)), output_padding=(0, 1)),
     TypeError, "conv_transpose3d: output_padding must be an int or a triple of ints"),
    (lambda: nn.Conv3d(2, 3, (2, 2)), TypeError, "kernel_size must be an int or a triple of ints"),
    (lambda: nn.Conv3d(2, 3, 2, padding="full"), ValueError, "padding must be an int, a triple, 'valid' or 'same'"),
    (lambda: nn.Conv3d(2, 3, 2, padding=1, padding_mode="reflect")(ag.zeros((2, 4, 4))), ValueError,
     r"Conv3d: expected a \(N, C, D, H, W\) or \(C, D, H, W\) input"),
    (lambda: nn.ConvTranspose3d(2, 3, 2, padding_mode="reflect"), ValueError, 'only "zeros" padding mode'),
])
def test_errors_name_the_problem(device, call, error, message):
    with pytest.raises(error, match=message):
        call()
