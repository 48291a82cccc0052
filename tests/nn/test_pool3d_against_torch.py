"""3-D pooling against PyTorch: max_pool3d, avg_pool3d, adaptive_avg_pool3d,
adaptive_max_pool3d and max_unpool3d, their layers, and their errors. Values, int64
indices and input gradients over a grid of kernels, strides, paddings, dilations,
ceil_mode, count_include_pad and divisor_override, batched, unbatched and empty; the
windows whose plane or depth pass is left out (see volume_pooling); ties, NaN and
-inf, where the gradient goes where PyTorch's index points (the first maximum in
(depth, row, column) order, or the last NaN); second derivatives against PyTorch and
by ag.gradcheck / ag.gradgradcheck in float64."""
import re

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

from .torch_compare import distinct_values, float64_leaves, named_rng


def _same(ours, theirs, what="", exact=True):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert ours.shape == tuple(theirs.shape), what
    if exact:
        np.testing.assert_array_equal(ours.numpy(), theirs, err_msg=what)
    else:
        np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-12, atol=1e-14, err_msg=what)


def _both(torch, name, x, *args, with_indices=False, exact=True, **kwargs):
    """Output (and indices) and input gradient, for a random output gradient, from F.<name>
    and PyTorch's; then the output again without gradients (the paths that skip the
    gradient's bookkeeping). Outputs are compared ``exact``ly or to 1e-12, gradients to
    1e-12: where boxes overlap, a cell's gradient is summed in another order."""
    ours_fn, theirs_fn = getattr(F, name), getattr(torch.nn.functional, name)
    if with_indices:
        kwargs = dict(kwargs, return_indices=True)
    xo, xt = float64_leaves(torch, x)
    out, ref = ours_fn(xo, *args, **kwargs), theirs_fn(xt, *args, **kwargs)
    if with_indices:
        (out, io), (ref, it) = out, ref
        _same(io, it, "indices")
        assert io.dtype == ag.int64
    _same(out, ref, "output", exact)
    r = named_rng(f"gy {name} {x.shape} {args} {kwargs}").standard_normal(tuple(ref.shape))
    out.backward(ag.tensor(r, dtype=ag.float64))
    ref.backward(torch.from_numpy(r))
    _same(xo.grad, xt.grad, "input gradient", exact=False)  # overlapping boxes sum in another order
    with ag.no_grad():
        again = ours_fn(ag.tensor(x, dtype=ag.float64), *args, **kwargs)
    _same(again[0] if with_indices else again, ref, "output without gradients", exact)


# --- max_pool3d -------------------------------------------------------------------------------

WINDOWS = [  # (input shape, window); max_pool3d takes each, avg_pool3d those without dilation
    ((2, 3, 4, 6, 6), dict(kernel_size=2)),                                     # boxes tile the input
    ((2, 2, 5, 7, 6), dict(kernel_size=3, stride=2, padding=1)),                # overlapping and padded
    ((2, 2, 5, 5, 6), dict(kernel_size=(3, 2, 3), stride=2, ceil_mode=True)),   # last boxes run past the input
    ((1, 2, 5, 6, 7), dict(kernel_size=(2, 3, 2), stride=(1, 2, 3), padding=(1, 1, 0), ceil_mode=True)),
    ((2, 3, 4, 6, 6), dict(kernel_size=(1, 2, 2))),                             # no depth pass
    ((2, 3, 6, 4, 4), dict(kernel_size=(3, 1, 1), stride=(2, 1, 1), padding=(1, 0, 0))),  # no plane pass
    ((2, 2, 3, 4, 4), dict(kernel_size=1)),                                     # both passes would copy
    ((2, 2, 3, 4, 4), dict(kernel_size=(1, 1, 1), stride=(2, 1, 2))),           # 1x1x1, strided
    ((3, 4, 5, 6), dict(kernel_size=[2, 2, 3], stride=[])),                     # unbatched; lists
    ((0, 2, 4, 4, 4), dict(kernel_size=2)),                                     # an empty batch
]
DILATED = [
    ((1, 2, 7, 6, 7), dict(kernel_size=(2, 3, 2), stride=(1, 2, 3), padding=(1, 1, 0), dilation=(2, 1, 2),
                           ceil_mode=True)),
    ((2, 1, 6, 7, 5), dict(kernel_size=2, stride=1, dilation=(3, 2, 1))),
]


@pytest.mark.parametrize("shape, window", WINDOWS + DILATED)
def test_max_pool3d_matches_torch(device, torch, shape, window):
    _both(torch, "max_pool3d", distinct_values(named_rng(f"mp3d {shape} {window}"), *shape), with_indices=True,
          **window)


def _ties_nan_and_inf(rng, shape):
    """Few distinct values (ties everywhere), some NaN and some -inf."""
    x = rng.integers(0, 3, shape).astype(np.float64)
    x[rng.uniform(size=shape) < 0.08] = np.nan
    x[rng.uniform(size=shape) < 0.15] = -np.inf
    return x


@pytest.mark.parametrize("window", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                    dict(kernel_size=(3, 2, 2), stride=1, dilation=(1, 2, 1), ceil_mode=True),
                                    dict(kernel_size=(2, 1, 1)), dict(kernel_size=(1, 3, 2), padding=(0, 1, 1))])
def test_max_pool3d_of_ties_nan_and_inf_picks_what_torch_picks(device, torch, window):
    """PyTorch scans a box in (depth, row, column) order and keeps a value that is greater
    or NaN; the two passes pick the same cell, for the output, indices and gradient."""
    rng = named_rng(f"mp3d ties {window}")
    x = _ties_nan_and_inf(rng, (2, 3, 5, 6, 5))
    x[0, 0] = -np.inf  # whole volumes of -inf: in padded boxes, the first cell inside the input
    x[0, 1] = 1.0      # and of ties
    _both(torch, "max_pool3d", x, with_indices=True, **window)


def test_max_pool3d_keeps_float32_and_gives_int64_indices(device, torch):
    x = distinct_values(named_rng("mp3d float32"), 2, 3, 4, 5, 6).astype(np.float32)
    yo, io = F.max_pool3d(ag.tensor(x, dtype=ag.float32), 2, 1, 1, return_indices=True)
    yt, it = torch.nn.functional.max_pool3d(torch.from_numpy(x), 2, 1, 1, return_indices=True)
    assert (yo.dtype, io.dtype) == (ag.float32, ag.int64)
    _same(yo, yt)
    _same(io, it)


# --- avg_pool3d -------------------------------------------------------------------------------

@pytest.mark.parametrize("divisor_override", [None, 5])
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("shape, window", WINDOWS)
def test_avg_pool3d_matches_torch(device, torch, shape, window, count_include_pad, divisor_override):
    """A box's count (padding included or not, clipped at the padded edge under ceil_mode)
    is the product of its counts along the three axes, as each pass divides by its own."""
    x = named_rng(f"ap3d {shape} {window}").standard_normal(shape)
    _both(torch, "avg_pool3d", x, exact=False, count_include_pad=count_include_pad,
          divisor_override=divisor_override, **window)


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("shape, window", [w for w in WINDOWS if "dilation" not in w[1]])
def test_avg_pool3d_divides_each_box_sum_once_as_torch(device, torch, shape, window, count_include_pad):
    """Each pass divided by its own count (a 3x3x3 box's sum by 9, then by 3): two roundings,
    so over whole numbers, whose sums are exact, a box summing to 0 came out 1.9e-17 (and
    an lp_pool3d with norm_type=1 sent that box a gradient of 1 where PyTorch's is 0), and
    others 1 ulp off. PyTorch divides the box's sum once: its values, bit for bit."""
    x = named_rng(f"ap3d whole numbers {shape} {window}").integers(-2, 3, shape).astype(np.float64)
    out = F.avg_pool3d(ag.tensor(x, dtype=ag.float64), count_include_pad=count_include_pad, **window)
    _same(out, torch.nn.functional.avg_pool3d(torch.from_numpy(x), count_include_pad=count_include_pad, **window))


def test_avg_pool3d_in_float16_sums_in_float32(torch):
    """float16 boxes are summed and divided in float32 and rounded once, as PyTorch's
    float16 kernels compute (its CPU has no float16 avg_pool3d: the reference is its
    float32 mean, rounded): a 3x3x3 box of 10000 sums past float16's largest value
    (65504), yet its mean is 10000. (The strict backend has no float16.)"""
    x = np.full((1, 2, 3, 4, 5), 10000.0, dtype=np.float16)
    x[0, 1] = named_rng("ap3d float16").standard_normal((3, 4, 5)) * 1000
    yo = F.avg_pool3d(ag.tensor(x, dtype=ag.float16), 3, 1, 1, count_include_pad=False)
    yt = torch.nn.functional.avg_pool3d(torch.from_numpy(x.astype(np.float32)), 3, 1, 1, count_include_pad=False)
    assert yo.dtype == ag.float16
    reference = yt.numpy().astype(np.float16)
    assert np.all(np.abs(yo.numpy().astype(np.float64) - reference) <= np.spacing(np.abs(reference))), \
        f"{yo.numpy()} against {reference}"


def test_avg_pool3d_keeps_float32(device, torch):
    x = named_rng("ap3d float32").standard_normal((2, 3, 5, 5, 6)).astype(np.float32)
    yo = F.avg_pool3d(ag.tensor(x, dtype=ag.float32), 3, 2, 1, ceil_mode=True, count_include_pad=False)
    yt = torch.nn.functional.avg_pool3d(torch.from_numpy(x), 3, 2, 1, ceil_mode=True, count_include_pad=False)
    assert yo.dtype == ag.float32
    np.testing.assert_allclose(yo.numpy(), yt.numpy(), rtol=1e-6, atol=1e-7)


# --- adaptive pools ---------------------------------------------------------------------------

ADAPTIVE = [  # (input shape, output_size)
    ((2, 3, 4, 6, 8), (2, 3, 4)),        # bins tile the input
    ((2, 2, 5, 7, 6), (3, 2, 4)),        # bins that share cells
    ((2, 2, 4, 5, 3), 1),                # one bin: global pooling
    ((1, 2, 3, 2, 3), (5, 4, 7)),        # more bins than cells
    ((2, 2, 5, 4, 6), (None, 3, None)),  # None keeps an axis (no depth pass)
    ((2, 2, 5, 4, 6), [2, None, None]),  # a list, no plane pass
    ((2, 2, 3, 4, 5), (3, 4, 5)),        # the input's size: both passes would copy
    ((3, 5, 4, 6), 2),                   # unbatched
    ((0, 2, 5, 4, 4), (2, 3, 2)),        # an empty batch
]


@pytest.mark.parametrize("shape, output_size", ADAPTIVE)
def test_adaptive_avg_pool3d_matches_torch(device, torch, shape, output_size):
    x = named_rng(f"aap3d {shape}").standard_normal(shape)
    _both(torch, "adaptive_avg_pool3d", x, output_size, exact=False)


@pytest.mark.parametrize("shape, output_size", [((2, 2, 5, 7, 6), (3, 2, 4)), ((1, 2, 3, 2, 3), (5, 4, 7))])
def test_adaptive_avg_pools_keep_inf_and_nan_in_their_own_bins_like_torch(device, torch, shape, output_size):
    """Bins that do not hold an inf or a NaN stay finite, as PyTorch's sums leave them (an
    averaging matrix's 0 * inf would make them NaN), in 3-D and in 2-D."""
    x = named_rng(f"aap3d inf {shape}").standard_normal(shape)
    x[0, 0, 0, 0, 0], x[-1, -1, -1, -1, -1], x[0, -1, 1, 1, 1] = np.inf, -np.inf, np.nan
    _both(torch, "adaptive_avg_pool3d", x, output_size, exact=False)
    _both(torch, "adaptive_avg_pool2d", x[:, :, 0], output_size[1:], exact=False)


@pytest.mark.parametrize("shape, output_size", ADAPTIVE + [((1, 2, 3, 9, 16), (2, 1, 2))])  # bins of 72 cells
def test_adaptive_max_pool3d_matches_torch(device, torch, shape, output_size):
    _both(torch, "adaptive_max_pool3d", distinct_values(named_rng(f"amp3d {shape}"), *shape), output_size,
          with_indices=True)


@pytest.mark.parametrize("output_size", [(2, 2, 2), (3, 4, 3), (1, 1, 2), (5, 1, 1), (None, 2, 2)])
def test_adaptive_max_pool3d_of_ties_nan_and_inf_picks_what_torch_picks(device, torch, output_size):
    x = _ties_nan_and_inf(named_rng(f"amp3d ties {output_size}"), (2, 3, 5, 6, 5))
    x[0, 0] = -np.inf
    x[0, 1] = 1.0
    _both(torch, "adaptive_max_pool3d", x, output_size, with_indices=True)


@pytest.mark.parametrize("output_size", [(0, 2, 2), (2, 0, 3), 0])
def test_adaptive_pools_of_an_output_size_of_zero_are_empty_like_torch(device, torch, output_size):
    x = np.zeros((2, 3, 4, 5, 4))
    _same(F.adaptive_avg_pool3d(ag.tensor(x), output_size),
          torch.nn.functional.adaptive_avg_pool3d(torch.from_numpy(x), output_size))
    for o, t in zip(F.adaptive_max_pool3d(ag.tensor(x), output_size, return_indices=True),
                    torch.nn.functional.adaptive_max_pool3d(torch.from_numpy(x), output_size, return_indices=True)):
        _same(o, t)


# --- max_unpool3d -----------------------------------------------------------------------------

@pytest.mark.parametrize("shape, window, output_size", [
    ((2, 3, 4, 6, 6), dict(kernel_size=2), None),
    ((2, 2, 5, 7, 5), dict(kernel_size=2), (5, 7, 5)),                            # the size pooled from
    ((2, 2, 5, 7, 5), dict(kernel_size=2), (2, 2, 5, 7, 5)),                      # the whole shape
    ((2, 2, 5, 6, 5), dict(kernel_size=3, stride=1, padding=1), None),            # repeated indices
    ((2, 2, 5, 6, 4), dict(kernel_size=(1, 2, 2), stride=(1, 2, 1)), [5, 7, 4]),  # one more row, as a list
    ((3, 4, 6, 4), dict(kernel_size=2, stride=2), None),                          # unbatched
])
def test_max_unpool3d_after_max_pool3d_matches_torch(device, torch, shape, window, output_size):
    rng = named_rng(f"unpool3d {shape} {window} {output_size}")
    x = distinct_values(rng, *shape)
    _, it = torch.nn.functional.max_pool3d(torch.from_numpy(x), return_indices=True, **window)
    _, io = F.max_pool3d(ag.tensor(x, dtype=ag.float64), return_indices=True, **window)
    _same(io, it, "indices")
    vo, vt = float64_leaves(torch, rng.standard_normal(tuple(it.shape)))
    uo = F.max_unpool3d(vo, io, output_size=output_size, **window)
    ut = torch.nn.functional.max_unpool3d(vt, it, output_size=output_size, **window)
    _same(uo, ut, "output")
    r = rng.standard_normal(tuple(ut.shape))
    uo.backward(ag.tensor(r, dtype=ag.float64))
    ut.backward(torch.from_numpy(r))
    _same(vo.grad, vt.grad, "input gradient")


def test_max_unpool3d_of_an_empty_batch_matches_torch(device, torch):
    x, i = np.zeros((0, 2, 2, 3, 3)), np.zeros((0, 2, 2, 3, 3), dtype=np.int64)
    _same(F.max_unpool3d(ag.tensor(x), ag.tensor(i), 2),
          torch.nn.functional.max_unpool3d(torch.from_numpy(x), torch.from_numpy(i), 2))


# --- second derivatives -----------------------------------------------------------------------

SECOND_ORDER = {  # name: (input shape, args, kwargs)
    "max_pool3d": ((2, 2, 4, 5, 4), (3,), dict(stride=2, padding=1)),
    "avg_pool3d": ((2, 2, 4, 5, 4), (3,), dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    "adaptive_avg_pool3d": ((2, 2, 4, 5, 4), ((3, 2, 3),), {}),
    "adaptive_max_pool3d": ((2, 2, 4, 5, 4), ((3, 2, 3),), {}),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_second_derivatives_match_torch(device, torch, name):
    """A gradient penalty through pool(x * x): derivatives of the input gradient with
    respect to the input and to the output gradient."""
    shape, args, kwargs = SECOND_ORDER[name]
    rng = named_rng(f"second order {name}")
    (xo, xt) = float64_leaves(torch, distinct_values(rng, *shape) / 10 + 0.05)  # x * x keeps the order
    yt = getattr(torch.nn.functional, name)(xt * xt, *args, **kwargs)
    go, gt = float64_leaves(torch, rng.standard_normal(tuple(yt.shape)))
    c = rng.standard_normal(shape)
    (gxo,) = ag.grad(getattr(F, name)(xo * xo, *args, **kwargs), [xo], go, create_graph=True)
    (gxt,) = torch.autograd.grad(yt, [xt], gt, create_graph=True)
    _same(gxo, gxt, "input gradient", exact=False)
    for o, t in zip(ag.grad((gxo * gxo * ag.tensor(c, dtype=ag.float64)).sum(), [xo, go]),
                    torch.autograd.grad((gxt * gxt * torch.from_numpy(c)).sum(), [xt, gt])):
        _same(o, t, "second derivative", exact=False)


def test_max_unpool3d_second_derivatives_match_torch(device, torch):
    rng = named_rng("unpool3d second order")
    _, it = torch.nn.functional.max_pool3d(torch.from_numpy(distinct_values(rng, 2, 2, 4, 4, 4)), 2,
                                           return_indices=True)
    io = ag.tensor(it.numpy())
    (vo, vt), (go, gt) = float64_leaves(torch, rng.standard_normal((2, 2, 2, 2, 2))), \
        float64_leaves(torch, rng.standard_normal((2, 2, 4, 4, 4)))
    c = rng.standard_normal((2, 2, 2, 2, 2))
    (gvo,) = ag.grad(F.max_unpool3d(vo * vo, io, 2), [vo], go, create_graph=True)
    (gvt,) = torch.autograd.grad(torch.nn.functional.max_unpool3d(vt * vt, it, 2), [vt], gt, create_graph=True)
    _same(gvo, gvt, exact=False)
    for o, t in zip(ag.grad((gvo * ag.tensor(c, dtype=ag.float64)).sum(), [vo, go]),
                    torch.autograd.grad((gvt * torch.from_numpy(c)).sum(), [vt, gt])):
        _same(o, t, exact=False)


GRADCHECKED = [
    (lambda a: F.max_pool3d(a, 2, stride=1, padding=1), (1, 2, 3, 4, 3)),
    (lambda a: F.max_pool3d(a, (2, 1, 2), dilation=(1, 1, 2), ceil_mode=True), (2, 3, 4, 3)),
    (lambda a: F.avg_pool3d(a, 3, stride=2, padding=1, count_include_pad=False, ceil_mode=True), (1, 2, 3, 4, 3)),
    (lambda a: F.avg_pool3d(a, (1, 2, 2), divisor_override=3), (2, 3, 4, 4)),
    (lambda a: F.adaptive_avg_pool3d(a, (2, 3, 2)), (1, 2, 3, 4, 3)),
    (lambda a: F.adaptive_max_pool3d(a, (2, 3, 2)), (1, 2, 3, 4, 3)),
]


@pytest.mark.parametrize("fn, shape", GRADCHECKED)
def test_pools_pass_gradcheck_and_gradgradcheck(device, fn, shape):
    x = ag.tensor(distinct_values(named_rng(f"gradcheck {shape}"), *shape), dtype=ag.float64, requires_grad=True)
    assert ag.gradcheck(fn, [x])
    assert ag.gradgradcheck(fn, [x])


def test_max_unpool3d_passes_gradcheck_and_gradgradcheck(device):
    rng = named_rng("unpool3d gradcheck")
    _, indices = F.max_pool3d(ag.tensor(distinct_values(rng, 1, 2, 3, 5, 4), dtype=ag.float64), 2,
                              return_indices=True)
    v = ag.tensor(rng.standard_normal((1, 2, 1, 2, 2)), dtype=ag.float64, requires_grad=True)
    assert ag.gradcheck(lambda a: F.max_unpool3d(a * a, indices, 2, output_size=(3, 5, 4)), [v])
    assert ag.gradgradcheck(lambda a: F.max_unpool3d(a * a, indices, 2, output_size=(3, 5, 4)), [v])


# --- layers -----------------------------------------------------------------------------------

def test_layers_match_torch_with_their_repr_and_attributes(device, torch):
    x = distinct_values(named_rng("layers 3d"), 2, 3, 5, 6, 6)
    pairs = [(nn.MaxPool3d(2), torch.nn.MaxPool3d(2)),
             (nn.MaxPool3d((1, 2, 2), stride=(1, 2, 1), padding=(0, 1, 0), dilation=(1, 1, 2), ceil_mode=True,
                           return_indices=True),
              torch.nn.MaxPool3d((1, 2, 2), stride=(1, 2, 1), padding=(0, 1, 0), dilation=(1, 1, 2), ceil_mode=True,
                                 return_indices=True)),
             (nn.AvgPool3d(3, 2, 1, True, False, None), torch.nn.AvgPool3d(3, 2, 1, True, False, None)),
             (nn.AvgPool3d((2, 1, 2), divisor_override=3), torch.nn.AvgPool3d((2, 1, 2), divisor_override=3)),
             (nn.AdaptiveAvgPool3d((None, 2, 3)), torch.nn.AdaptiveAvgPool3d((None, 2, 3))),
             (nn.AdaptiveMaxPool3d(2, return_indices=True), torch.nn.AdaptiveMaxPool3d(2, return_indices=True))]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        for attribute in ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices",
                          "count_include_pad", "divisor_override", "output_size"):
            assert getattr(ours, attribute, None) == getattr(theirs, attribute, None), (repr(ours), attribute)
        for a in (x, x[0]):  # batched and unbatched
            out, ref = ours(ag.tensor(a)), theirs(torch.from_numpy(a))
            for o, t in zip(out, ref) if getattr(ours, "return_indices", False) else [(out, ref)]:
                _same(o, t, repr(ours), exact=False)
    for ours, theirs in ((nn.MaxUnpool3d((3, 2, 2), (2, 1, 2), 1), torch.nn.MaxUnpool3d((3, 2, 2), (2, 1, 2), 1)),
                         (nn.MaxUnpool3d(2), torch.nn.MaxUnpool3d(2))):
        assert repr(ours) == repr(theirs)
        assert (ours.kernel_size, ours.stride, ours.padding) == (theirs.kernel_size, theirs.stride, theirs.padding)
        pooled = x[:, :, :4] if ours.kernel_size == (2, 2, 2) else x
        y, i = torch.nn.functional.max_pool3d(torch.from_numpy(pooled), theirs.kernel_size, theirs.stride,
                                              theirs.padding, return_indices=True)
        _same(ours(ag.tensor(y.numpy()), ag.tensor(i.numpy())), theirs(y, i), repr(ours))
        size = pooled.shape[2:]
        _same(ours(ag.tensor(y.numpy()), ag.tensor(i.numpy()), output_size=size), theirs(y, i, output_size=size))


# --- errors -----------------------------------------------------------------------------------

def test_pool3d_errors(device, torch):
    x = ag.zeros((1, 2, 4, 4, 4))
    with pytest.raises(ValueError, match=re.escape("max_pool3d: expected a (N, C, D, H, W) or (C, D, H, W) input, "
                                                   "got shape (2, 4, 4)")):
        F.max_pool3d(ag.zeros((2, 4, 4)), 2)
    with pytest.raises(TypeError, match=re.escape("max_pool3d: kernel_size must be an int or a triple of ints, "
                                                  "not (2, 2)")):
        F.max_pool3d(x, (2, 2))
    with pytest.raises(RuntimeError, match="kernel_size must either be a single int, or a tuple of three ints"):
        torch.nn.functional.max_pool3d(torch.zeros(1, 2, 4, 4, 4), (2, 2))
    with pytest.raises(ValueError, match=re.escape("avg_pool3d: stride must be at least 1, got (1, 0, 1)")):
        F.avg_pool3d(x, 2, (1, 0, 1))
    with pytest.raises(ValueError, match=re.escape("max_pool3d: padding (2, 0, 0) must be at most half the kernel "
                                                   "size (3, 3, 3)")):
        F.max_pool3d(x, 3, padding=(2, 0, 0))
    with pytest.raises(RuntimeError, match="pad should be"):
        torch.nn.functional.max_pool3d(torch.zeros(1, 2, 4, 4, 4), 3, padding=(2, 0, 0))
    with pytest.raises(ValueError, match=r"avg_pool3d: the input size 4 \(padded to 4\) is smaller than the "
                                         r"kernel's extent 5"):
        F.avg_pool3d(x, (1, 1, 5))
    with pytest.raises(ValueError, match=r"max_pool3d: the input size 4 \(padded to 4\) is smaller than the "
                                         r"kernel's extent 7"):
        F.max_pool3d(x, 2, dilation=(6, 1, 1))
    with pytest.raises(ValueError, match=re.escape("avg_pool3d: expected a non-zero size in every axis but the "
                                                   "batch's, got shape (0, 4, 4, 4)")):
        F.avg_pool3d(ag.zeros((0, 4, 4, 4)), 2)
    with pytest.raises(RuntimeError, match="non-batch dimensions to have positive length"):
        torch.nn.functional.avg_pool3d(torch.zeros(0, 4, 4, 4), 2)
    with pytest.raises(ValueError, match="avg_pool3d: divisor_override must be a positive int, got 0"):
        F.avg_pool3d(x, 2, divisor_override=0)
    with pytest.raises(TypeError, match="max_pool3d: input must be floating point"):
        F.max_pool3d(ag.zeros((1, 2, 4, 4, 4), dtype=ag.int64), 2)


def test_adaptive_pool3d_errors(device, torch):
    x = ag.zeros((1, 2, 4, 4, 4))
    for fn in (F.adaptive_avg_pool3d, F.adaptive_max_pool3d):
        op = fn.__name__
        with pytest.raises(TypeError, match=re.escape(f"{op}: output_size must be an int or a triple, not (2, 2)")):
            fn(x, (2, 2))
        with pytest.raises(ValueError, match=f"{op}: output_size must be at least 0"):
            fn(x, (2, -1, 2))
        with pytest.raises(TypeError, match=f"{op}: output_size must be an int or a triple of ints, not None"):
            fn(x, None)
        with pytest.raises(ValueError, match=re.escape(f"{op}: expected a non-zero size in every axis but the first, "
                                                       "got shape (1, 2, 0, 4, 4)")):
            fn(ag.zeros((1, 2, 0, 4, 4)), 2)
        with pytest.raises(ValueError, match=re.escape(f"{op}: expected a (N, C, D, H, W) or (C, D, H, W) input")):
            fn(ag.zeros((2, 4, 4)), 2)
    with pytest.raises(RuntimeError, match="output_size must be 3"):
        torch.nn.functional.adaptive_avg_pool3d(torch.zeros(1, 2, 4, 4, 4), (2, 2))
    with pytest.raises(RuntimeError, match="non-zero size"):
        torch.nn.functional.adaptive_max_pool3d(torch.zeros(1, 2, 0, 4, 4), 2)


def test_max_unpool3d_errors(device, torch):
    x = ag.zeros((1, 1, 2, 2, 2))
    i = ag.tensor(np.arange(8).reshape(1, 1, 2, 2, 2) * 9)  # 0 ... 63: in a 4x4x4 output
    with pytest.raises(ValueError, match=re.escape("max_unpool3d: indices must have the input's shape "
                                                   "(1, 1, 2, 2, 2), got (1, 1, 2, 2, 1)")):
        F.max_unpool3d(x, i[..., :1], 2)
    with pytest.raises(TypeError, match="max_unpool3d: indices must be an integer tensor"):
        F.max_unpool3d(x, i.astype(ag.float32), 2)
    with pytest.raises(ValueError, match=r"max_unpool3d: index 163 is out of range for an output of size 4x4x4 "
                                         r"\(indices must lie in \[0, 64\)"):
        F.max_unpool3d(x, i + 100, 2)
    with pytest.raises(RuntimeError, match="invalid max index: 163"):
        torch.nn.functional.max_unpool3d(torch.zeros(1, 1, 2, 2, 2), torch.from_numpy(i.numpy() + 100), 2)
    with pytest.raises(ValueError, match=r"max_unpool3d: output_size .* is out of range: size 1 must be between 2 "
                                         r"and 6, exclusive"):
        F.max_unpool3d(x, i, 2, output_size=(4, 6, 4))
    with pytest.raises(ValueError, match="max_unpool3d: output_size must hold 3 or 5 sizes, got 2"):
        F.max_unpool3d(x, i, 2, output_size=(4, 4))
    with pytest.raises(ValueError, match=r"max_unpool3d: expected a \(N, C, D, H, W\) or \(C, D, H, W\) input"):
        F.max_unpool3d(x[0, 0], i[0, 0], 2)


def test_layer_constructor_errors(device):
    with pytest.raises(TypeError, match=re.escape("MaxPool3d: kernel_size must be an int or a triple of ints, "
                                                  "not (2, 2)")):
        nn.MaxPool3d((2, 2))
    with pytest.raises(ValueError, match="AvgPool3d: padding must be at least 0"):
        nn.AvgPool3d(2, padding=(0, -1, 0))
    with pytest.raises(ValueError, match="MaxUnpool3d: kernel_size must be at least 1"):
        nn.MaxUnpool3d(0)
    with pytest.raises(TypeError, match="AvgPool2d: kernel_size must be an int or a pair of ints"):
        nn.AvgPool2d((2, 2, 2))


# --- bug: avg_pool3d of an input smaller than the kernel ---------------------------------------
# avg_pool3d (and so lp_pool3d) pooled an input smaller than the kernel along an axis, which
# PyTorch's avg_pool3d refuses whatever the padding or ceil_mode.

# (input shape, keyword arguments): PyTorch refuses each, though padding or ceil_mode leave a window
SMALLER_THAN_THE_KERNEL = [
    ((1, 1, 2, 7, 5), dict(kernel_size=(3, 1, 1), padding=(1, 0, 0))),
    ((1, 1, 2, 7, 5), dict(kernel_size=(4, 1, 3), padding=(2, 0, 1))),
    ((1, 3, 1, 4), dict(kernel_size=3, stride=5, ceil_mode=True)),
]


@pytest.mark.parametrize("case", SMALLER_THAN_THE_KERNEL, ids=str)
def test_avg_pool3d_refuses_an_input_smaller_than_the_kernel_as_torch(device, torch, case):
    shape, kwargs = case
    with pytest.raises(RuntimeError, match="smaller than kernel size"):
        torch.nn.functional.avg_pool3d(torch.zeros(shape), **kwargs)
    with pytest.raises(ValueError, match=r"avg_pool3d: the input's \(D, H, W\) \(.*\) is smaller than "
                                         r"kernel_size \(.*\); each axis must be at least as long as the "
                                         r"kernel"):
        F.avg_pool3d(ag.zeros(shape), **kwargs)


def test_lp_pool3d_refuses_an_input_smaller_than_the_kernel_as_torch(device, torch):
    shape = (1, 1, 5, 6, 1)
    with pytest.raises(RuntimeError, match="smaller than kernel size"):
        torch.nn.functional.lp_pool3d(torch.ones(shape), 2, 3, ceil_mode=True)
    with pytest.raises(ValueError, match=r"the input's \(D, H, W\) \(5, 6, 1\) is smaller than kernel_size"):
        F.lp_pool3d(ag.ones(shape), 2, 3, ceil_mode=True)


def test_avg_pool3d_of_an_input_as_large_as_the_kernel_still_matches_torch(device, torch):
    x = named_rng("avg_pool3d at the kernel's size").standard_normal((2, 3, 2, 3, 4))
    kwargs = dict(kernel_size=(2, 3, 4), padding=(1, 1, 2), ceil_mode=True, count_include_pad=False)
    xo, xt = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = F.avg_pool3d(xo, **kwargs), torch.nn.functional.avg_pool3d(xt, **kwargs)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = named_rng("avg_pool3d grad").standard_normal(tuple(ref.shape))
    out.backward(ag.tensor(g))
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)
