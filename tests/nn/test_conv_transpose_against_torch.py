"""ConvTranspose1d/2d and F.conv_transpose1d/2d against PyTorch in float64: values and
gradients of input, weight and bias over a grid of stride, padding, output_padding
(including one at least the stride, which only the dilation allows), dilation, groups
and bias with non-square kernels; the layers with output_size=, unbatched inputs,
state_dict, repr, attributes and default initialization; second derivatives against
PyTorch and by ag.gradcheck / ag.gradgradcheck; a float32 decoder end to end; and the
errors a user will hit."""
import itertools
import math

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

from .torch_compare import assert_close_to_torch, float64_leaves, named_rng, run_both


def _settings(n):
    """(stride, padding, output_padding, dilation) combinations PyTorch accepts, as ints
    (n == 1) or pairs that differ per axis (n == 2)."""
    grid = itertools.product([1, 2, 3], [0, 1, 2], [0, 1, 2], [1, 2])
    for s, p, q, d in grid:
        if q >= s and q >= d:
            continue
        if n == 1:
            yield s, p, q, d
        else:  # the other axis gets other values, so that mixing up height and width shows
            yield (s, 1 + s % 2), (p, (p + 1) % 3), (q, 0), (d, 3 - d)


def _compare(torch, fn_ours, fn_theirs, arrays, rng, what):
    """Value, and the gradients of every input for a random output gradient; or, where
    PyTorch refuses the arguments (an output smaller than 1), a ValueError."""
    pairs = [float64_leaves(torch, a) for a in arrays]
    ours, theirs = [o for o, _ in pairs], [t for _, t in pairs]
    try:
        yt = fn_theirs(*theirs)
    except RuntimeError:
        with pytest.raises(ValueError, match="would be"):
            fn_ours(*ours)
        return
    yo = fn_ours(*ours)
    assert yo.shape == tuple(yt.shape), what
    np.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-11, err_msg=what)
    r = rng.standard_normal(tuple(yt.shape))
    go = ag.grad(yo, ours, ag.tensor(r, dtype=ag.float64))
    gt = torch.autograd.grad(yt, theirs, torch.from_numpy(r))
    for name, o, t in zip(("input", "weight", "bias"), go, gt):
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-10, atol=1e-11, err_msg=f"{what}: {name}")


@pytest.mark.parametrize("groups, bias", [(1, True), (2, False), (3, True)])
def test_conv_transpose2d_matches_torch_over_a_grid(device, torch, groups, bias):
    rng = named_rng(f"conv_transpose2d {groups} {bias}")
    x = rng.standard_normal((2, 3 * groups, 4, 3))
    w = rng.standard_normal((3 * groups, 2, 3, 2))
    b = rng.standard_normal(2 * groups)
    for s, p, q, d in _settings(2):
        args = dict(stride=s, padding=p, output_padding=q, groups=groups, dilation=d)
        arrays = (x, w, b) if bias else (x, w)
        _compare(torch, lambda *a: F.conv_transpose2d(*a, **args),
                 lambda *a: torch.nn.functional.conv_transpose2d(*a, **args), arrays, rng, str(args))


@pytest.mark.parametrize("groups, bias", [(1, True), (2, False)])
def test_conv_transpose1d_matches_torch_over_a_grid(device, torch, groups, bias):
    rng = named_rng(f"conv_transpose1d {groups} {bias}")
    x = rng.standard_normal((2, 2 * groups, 5))
    w = rng.standard_normal((2 * groups, 3, 4))
    b = rng.standard_normal(3 * groups)
    for s, p, q, d in _settings(1):
        args = dict(stride=s, padding=p, output_padding=q, groups=groups, dilation=d)
        arrays = (x, w, b) if bias else (x, w)
        _compare(torch, lambda *a: F.conv_transpose1d(*a, **args),
                 lambda *a: torch.nn.functional.conv_transpose1d(*a, **args), arrays, rng, str(args))


@pytest.mark.parametrize("requires", ["input", "weight"])
def test_one_gradient_alone_matches_torch(device, torch, requires):
    """Only the input, or only the weight, requires grad: each gradient then makes the
    output gradient's im2col matrix itself (with output_padding past the stride, so
    there are more windows than input pixels to cut back)."""
    rng = named_rng(f"alone {requires}")
    x, w = rng.standard_normal((2, 4, 3, 5)), rng.standard_normal((4, 3, 2, 3))
    args = dict(stride=(1, 2), padding=(0, 1), output_padding=(1, 1), dilation=(2, 1), groups=2)
    xo, wo = (ag.tensor(a, dtype=ag.float64, requires_grad=(name == requires))
              for a, name in ((x, "input"), (w, "weight")))
    xt, wt = (torch.tensor(a, requires_grad=(name == requires)) for a, name in ((x, "input"), (w, "weight")))
    yo, yt = F.conv_transpose2d(xo, wo, **args), torch.nn.functional.conv_transpose2d(xt, wt, **args)
    assert_close_to_torch(yo, yt)
    r = rng.standard_normal(tuple(yt.shape))
    (go,) = ag.grad(yo, xo if requires == "input" else wo, ag.tensor(r, dtype=ag.float64))
    (gt,) = torch.autograd.grad(yt, xt if requires == "input" else wt, torch.from_numpy(r))
    assert_close_to_torch(go, gt)


# --- layers ---------------------------------------------------------------------------

# name: (build(nn namespace) -> module, input shape, output_size for forward or None)
LAYERS = {
    "2d-default": (lambda nn: nn.ConvTranspose2d(3, 4, 3), (2, 3, 4, 5), None),
    "2d-everything": (lambda nn: nn.ConvTranspose2d(4, 6, (3, 2), stride=(2, 3), padding=(1, 0),
                                                     output_padding=(1, 2), groups=2, bias=False, dilation=(1, 2)),
                      (2, 4, 3, 4), None),
    "2d-output-size": (lambda nn: nn.ConvTranspose2d(2, 3, 4, stride=2, padding=1), (2, 2, 5, 6), (11, 12)),
    "2d-output-size-with-batch-and-channels": (lambda nn: nn.ConvTranspose2d(2, 3, 3, stride=3),
                                               (1, 2, 3, 3), (1, 3, 10, 9)),
    "2d-unbatched-output-size": (lambda nn: nn.ConvTranspose2d(2, 2, 3, stride=(2, 3), padding=1),
                                 (2, 4, 3), (2, 8, 9)),
    # past the scratch pool's 256 KiB floor: the col2im image and gy's im2col matrix are pooled
    "2d-large-scratch-memory": (lambda nn: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1),
                                (4, 4, 20, 20), None),
    "1d-default": (lambda nn: nn.ConvTranspose1d(2, 3, 3), (2, 2, 6), None),
    "1d-everything": (lambda nn: nn.ConvTranspose1d(6, 4, 3, stride=2, padding=2, output_padding=1, groups=2,
                                                     dilation=2), (2, 6, 5), None),
    "1d-output-size": (lambda nn: nn.ConvTranspose1d(2, 2, 4, stride=3, padding=1), (2, 2, 4), [12]),
    "1d-unbatched": (lambda nn: nn.ConvTranspose1d(3, 2, 2, stride=2), (3, 5), None),
}


class _WithOutputSize:
    """A layer called with ``output_size=``, as run_both sees a module."""

    def __init__(self, layer, output_size):
        self.layer, self.output_size = layer, output_size

    def __call__(self, x):
        return self.layer(x, output_size=self.output_size)

    def named_parameters(self):
        return self.layer.named_parameters()

    def named_buffers(self):
        return self.layer.named_buffers()


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_matches_torch(device, torch, name):
    """Output, input, weight and bias gradients (twice: the second step in reused
    memory), with the output_size given to forward where the row names one; the repr."""
    build, shape, output_size = LAYERS[name]
    ours, theirs = build(nn).double(), build(torch.nn).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert repr(ours) == repr(theirs)
    if output_size is not None:
        ours, theirs = _WithOutputSize(ours, output_size), _WithOutputSize(theirs, output_size)
    rng = named_rng(name)
    for step in range(2):
        run_both(torch, ours, theirs, rng.standard_normal(shape), seed=step)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_state_dict_and_attributes_match_torch(name, torch):
    build = LAYERS[name][0]
    ours, theirs = build(nn), build(torch.nn)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    for attribute in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding",
                      "dilation", "groups", "padding_mode", "transposed"):
        assert getattr(ours, attribute) == getattr(theirs, attribute), attribute


def test_default_initialization_matches_torch(torch):
    """Weight and bias uniform within 1/sqrt(fan_in), where fan_in comes from the
    (in, out/groups, KH, KW) weight: out/groups * KH * KW, as PyTorch computes it."""
    layer = nn.ConvTranspose2d(64, 96, (4, 3), groups=2)
    theirs = torch.nn.ConvTranspose2d(64, 96, (4, 3), groups=2)
    assert layer.weight.shape == tuple(theirs.weight.shape) == (64, 48, 4, 3)
    fan_in, _ = torch.nn.init._calculate_fan_in_and_fan_out(theirs.weight)
    bound = 1 / math.sqrt(fan_in)
    assert fan_in == 48 * 12
    for p, n in ((layer.weight, 64 * 48 * 12), (layer.bias, 96)):
        values = p.numpy()
        assert values.dtype == np.float32
        assert np.abs(values).max() <= np.float32(bound)
        assert np.abs(values).max() > bound * (1 - 10 / n)  # fills the interval
        # a uniform's standard deviation is bound / sqrt(3); the tolerance is 5 standard errors
        assert abs(values.std() - bound / math.sqrt(3)) < 5 * bound / math.sqrt(3) / math.sqrt(2 * n)
    assert nn.ConvTranspose1d(4, 6, 3).weight.shape == tuple(torch.nn.ConvTranspose1d(4, 6, 3).weight.shape)


def test_float32_decoder_matches_torch(device, torch):
    """The default dtype through a small decoder (upsampling 7 -> 14 -> 28 as an
    autoencoder's would) on every backend, with PyTorch's numbers."""
    def build(nn):
        return nn.Sequential(nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1), nn.ReLU(),
                             nn.ConvTranspose2d(4, 1, 3, stride=2, padding=1, output_padding=1))
    ours, theirs = build(nn), build(torch.nn)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = named_rng("decoder").standard_normal((3, 8, 7, 7)).astype(np.float32)
    xo, xt = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    assert yo.dtype == ag.float32 and yo.shape == (3, 1, 28, 28) == tuple(yt.shape)
    assert yo.grad_fn.name == "ConvTranspose2d"
    assert_close_to_torch(yo, yt, rtol=1e-4, atol=1e-5)
    (yo * yo).sum().backward()
    (yt * yt).sum().backward()
    assert_close_to_torch(xo.grad, xt.grad, rtol=1e-3, atol=1e-4)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert p.grad.dtype == ag.float32, name
        assert_close_to_torch(p.grad, q.grad, rtol=1e-3, atol=1e-4)


def test_empty_batch_matches_torch(device, torch):
    x, w, b = np.zeros((0, 2, 3, 3)), named_rng("empty").standard_normal((2, 3, 2, 2)), np.ones(3)
    pairs = [float64_leaves(torch, a) for a in (x, w, b)]
    yo = F.conv_transpose2d(*(o for o, _ in pairs), stride=2)
    yt = torch.nn.functional.conv_transpose2d(*(t for _, t in pairs), stride=2)
    assert_close_to_torch(yo, yt)
    for (o, t), go, gt in zip(pairs, ag.grad(yo.sum(), [o for o, _ in pairs]),
                              torch.autograd.grad(yt.sum(), [t for _, t in pairs])):
        assert_close_to_torch(go, gt)


# --- second order ---------------------------------------------------------------------

SECOND_ORDER = {
    "2d": (lambda F, x, w, b: F.conv_transpose2d(x, w, b, stride=(2, 1), padding=(1, 0), output_padding=(1, 0),
                                                 groups=2, dilation=(1, 2)),
           (2, 4, 3, 3), (4, 2, 2, 3), (4,)),
    "2d-stride-1": (lambda F, x, w, b: F.conv_transpose2d(x, w, b, padding=1), (1, 2, 4, 4), (2, 3, 3, 3), (3,)),
    "1d-unbatched": (lambda F, x, w, b: F.conv_transpose1d(x, w, b, stride=2, padding=1, output_padding=1),
                     (2, 5), (2, 3, 3), (3,)),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_second_derivatives_match_torch(device, torch, name):
    """Gradients with create_graph, then the gradient of a gradient penalty."""
    fn, *shapes = SECOND_ORDER[name]
    rng = named_rng(f"second {name}")
    pairs = [float64_leaves(torch, rng.standard_normal(s)) for s in shapes]
    ours, theirs = [o for o, _ in pairs], [t for _, t in pairs]
    yo, yt = fn(F, *ours), fn(torch.nn.functional, *theirs)
    assert_close_to_torch(yo, yt)
    r = rng.standard_normal(tuple(yt.shape))
    go = ag.grad(yo, ours, ag.tensor(r, dtype=ag.float64), create_graph=True)
    gt = torch.autograd.grad(yt, theirs, torch.from_numpy(r), create_graph=True)
    for o, t in zip(go, gt):
        assert_close_to_torch(o, t, rtol=1e-9, atol=1e-11)
    penalty_o = (go[0] * go[0]).sum() + (go[1] * go[1]).sum() + (yo * yo).sum()
    penalty_t = (gt[0] * gt[0]).sum() + (gt[1] * gt[1]).sum() + (yt * yt).sum()
    for o, t in zip(ag.grad(penalty_o, ours), torch.autograd.grad(penalty_t, theirs)):
        assert_close_to_torch(o, t, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_gradcheck_and_gradgradcheck(device, name):
    fn, *shapes = SECOND_ORDER[name]
    rng = named_rng(f"gradcheck {name}")
    inputs = [ag.tensor(rng.standard_normal(s), dtype=ag.float64, requires_grad=True) for s in shapes]
    assert ag.gradcheck(lambda *a: fn(F, *a), inputs)
    assert ag.gradgradcheck(lambda *a: fn(F, *a), inputs)


# --- errors ---------------------------------------------------------------------------

_X = lambda *shape: ag.zeros(shape, dtype=ag.float64)  # noqa: E731


@pytest.mark.parametrize("make, error, message", [
    (lambda: nn.ConvTranspose2d(2, 4, 3, padding_mode="reflect"), ValueError,
     'only "zeros" padding mode is supported for ConvTranspose2d'),
    (lambda: nn.ConvTranspose1d(2, 4, 3, padding_mode="circular"), ValueError,
     'only "zeros" padding mode is supported for ConvTranspose1d'),
    (lambda: nn.ConvTranspose2d(2, 4, 3, padding="same"), TypeError, "padding must be an int or a pair of ints"),
    (lambda: nn.ConvTranspose2d(2, 4, 3, output_padding=1), ValueError,
     r"output_padding \(1, 1\) must be smaller than either stride \(1, 1\) or dilation \(1, 1\)"),
    (lambda: nn.ConvTranspose1d(2, 4, 3, stride=2, output_padding=2), ValueError,
     r"output_padding \(2,\) must be smaller than either stride \(2,\) or dilation \(1,\)"),
    (lambda: nn.ConvTranspose2d(3, 4, 3, groups=2), ValueError,
     r"in_channels \(3\) and out_channels \(4\) must both be divisible by groups \(2\)"),
    (lambda: nn.ConvTranspose2d(4, 3, 3, groups=2), ValueError, "must both be divisible by groups"),
    (lambda: nn.ConvTranspose1d(2, 4, (3, 3)), TypeError, "kernel_size must be an int or a 1-tuple"),
    (lambda: nn.ConvTranspose2d(2, 4, 3, output_padding=-1), ValueError, "output_padding must be at least 0"),
])
def test_layer_construction_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_errors_agree_with_torch_on_what_is_refused(torch):
    """Each case is refused by PyTorch too (it raises RuntimeError from C++ for most)."""
    cases = [  # (x shape, w shape, keyword arguments)
        ((1, 3, 4, 4), (2, 3, 3, 3), {}),                            # channels
        ((1, 3, 4, 4), (3, 3, 3, 3), dict(groups=2)),                # in_channels % groups
        ((1, 2, 4, 4), (2, 3, 3, 3), dict(padding=5)),               # output too small
        ((1, 2, 4, 4), (2, 3, 3, 3), dict(stride=2, output_padding=2)),
    ]
    for x, w, kwargs in cases:
        with pytest.raises((RuntimeError, ValueError)):
            torch.nn.functional.conv_transpose2d(torch.zeros(x), torch.zeros(w), **kwargs)
        with pytest.raises(ValueError, match="conv_transpose2d"):
            F.conv_transpose2d(ag.zeros(x), ag.zeros(w), **kwargs)


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.conv_transpose2d(_X(1, 3, 4, 4), _X(2, 3, 3, 3)), ValueError,
     r"input has 3 channels but the weight \(2, 3, 3, 3\) expects 2 \(a transposed convolution's weight is "
     r"\(in_channels, out_channels/groups"),
    (lambda: F.conv_transpose2d(_X(1, 3, 4, 4), _X(3, 3, 3, 3), groups=2), ValueError,
     r"in_channels \(3, the weight's first axis\) must be divisible by groups \(2\)"),
    (lambda: F.conv_transpose2d(_X(1, 2, 4, 4), _X(2, 3, 3, 3), stride=2, output_padding=(0, 2)), ValueError,
     r"output_padding \(2\) must be smaller than either stride \(2\) or dilation \(1\) along the width"),
    (lambda: F.conv_transpose1d(_X(1, 2, 4), _X(2, 3, 3), output_padding=1), ValueError,
     r"output_padding \(1\) must be smaller than either stride \(1\) or dilation \(1\) along the length"),
    (lambda: F.conv_transpose2d(_X(1, 2, 4, 4), _X(2, 3, 3, 3), padding=(0, 5)), ValueError,
     r"the output's width would be -4 .* padding can be at most 2"),
    (lambda: F.conv_transpose2d(_X(2, 4), _X(2, 3, 3, 3)), ValueError,
     r"conv_transpose2d: expected a \(N, C, H, W\) or \(C, H, W\) input"),
    (lambda: F.conv_transpose1d(_X(1, 2, 4, 4), _X(2, 3, 3)), ValueError,
     r"conv_transpose1d: expected a \(N, C, L\) or \(C, L\) input"),
    (lambda: F.conv_transpose1d(_X(1, 2, 4), _X(2, 3, 3, 1)), ValueError,
     r"conv_transpose1d: weight must be 3-D \(in_channels, out_channels/groups, K\)"),
    (lambda: F.conv_transpose2d(_X(1, 2, 4, 4), _X(2, 0, 3, 3)), ValueError,
     "at least one output channel per group and a kernel of at least 1x1"),
    (lambda: F.conv_transpose2d(_X(1, 2, 4, 4), _X(2, 3, 3, 3), _X(3), groups=2), ValueError,
     r"bias must have shape \(6,\), got \(3,\)"),
    (lambda: F.conv_transpose2d(_X(1, 2, 0, 4), _X(2, 3, 3, 3)), ValueError, "the input's height is 0"),
    (lambda: F.conv_transpose2d(_X(1, 2, 4, 4), ag.zeros((2, 3, 3, 3))), TypeError,
     "weight is float32 but the input is float64"),
    (lambda: F.conv_transpose2d(_X(1, 2, 4, 4), _X(2, 3, 3, 3), groups=0), ValueError,
     "groups must be a positive int"),
    (lambda: F.conv_transpose2d(_X(1, 2, 4, 4), _X(2, 3, 3, 3), padding="same"), TypeError,
     "padding must be an int or a pair of ints"),
    (lambda: nn.ConvTranspose2d(2, 3, 3, stride=2)(_X(1, 2, 4, 4), output_size=(12, 12)), ValueError,
     r"requested an output size of \(12, 12\), but valid sizes range from \(9, 9\) to \(10, 10\)"),
    (lambda: nn.ConvTranspose2d(2, 3, 3, stride=2)(_X(1, 2, 4, 4), output_size=(1, 9, 9)), ValueError,
     "for a 4-D input, output_size must have 2 or 4 elements, got 3"),
    (lambda: nn.ConvTranspose1d(2, 3, 3)(_X(1, 2, 4), output_size=7), TypeError,
     "output_size must be a sequence of ints"),
    (lambda: nn.ConvTranspose1d(2, 3, 3)(_X(1, 2, 4, 4), output_size=[6]), ValueError,
     r"ConvTranspose1d: expected a \(N, C, L\) or \(C, L\) input"),
    (lambda: nn.ConvTranspose2d(2, 3, 3, dtype=ag.float64)(_X(1, 4, 4, 4)), ValueError,
     "input has 4 channels but the weight"),
])
def test_call_errors_name_the_problem(device, call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_padding_mode_changed_after_construction_is_refused(device):
    layer = nn.ConvTranspose2d(2, 3, 3)
    layer.padding_mode = "reflect"
    with pytest.raises(ValueError, match='only "zeros" padding mode is supported for ConvTranspose2d'):
        layer(_X(1, 2, 4, 4))
