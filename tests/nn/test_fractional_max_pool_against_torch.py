"""FractionalMaxPool2d/3d and their functional forms against PyTorch: with the same
``_random_samples``, the same output, int64 indices and input gradient (float64) for
kernels of one or many cells, output_size and output_ratio, one region, stride-1 regions,
empty batches and outputs, batched and unbatched inputs; float32 regions computed in
float32, as PyTorch's; ties, NaN and -inf; second derivatives; the round trip through
max_unpool; samples drawn reproducibly under ag.manual_seed; the layers' attributes,
repr and state_dict; and the errors a user will hit."""
import re

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from autograd.ops.nn_fused.adaptive_max_pool import WIDE_BIN
from autograd.ops.nn_fused.fractional_max_pool import region_starts

from tests.torch_versions import torch_older_than

from .torch_compare import distinct_values, float64_leaves, named_rng

_FORMS = {2: (F.fractional_max_pool2d, "fractional_max_pool2d", F.max_unpool2d, "max_unpool2d"),
          3: (F.fractional_max_pool3d, "fractional_max_pool3d", F.max_unpool3d, "max_unpool3d")}


def _same(ours, theirs, what=""):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert ours.shape == tuple(theirs.shape), what
    np.testing.assert_array_equal(ours.numpy(), theirs, err_msg=what)


def _samples(torch, rng, x, axes):
    """One float64 sample per plane and axis, as ours and PyTorch's."""
    batch = 1 if x.ndim == axes + 1 else x.shape[0]
    s = rng.random((batch, x.shape[-axes - 1], axes))
    return ag.tensor(s, dtype=ag.float64), torch.from_numpy(s)


def _pool_both(torch, x, axes, kernel_size, samples, **size):
    """Output, indices and input gradient (for a random output gradient) from both.
    (*) PyTorch's functional 2-D form takes no single output_ratio (it calls len() on it),
    though its docs and layers do; ours takes one, and PyTorch gets it as a pair."""
    ours_fn, name, _, _ = _FORMS[axes]
    theirs_fn = getattr(torch.nn.functional, name)
    (so, st), (xo, xt) = samples, float64_leaves(torch, x)
    yo, io = ours_fn(xo, kernel_size, return_indices=True, _random_samples=so, **size)
    ratio = size.get("output_ratio")
    theirs_size = dict(size, output_ratio=(ratio,) * axes) if isinstance(ratio, float) else size  # (*)
    yt, it = theirs_fn(xt, kernel_size, return_indices=True, _random_samples=st, **theirs_size)
    _same(yo, yt, "output")
    _same(io, it, "indices")
    assert io.dtype == ag.int64
    r = named_rng(f"gy {x.shape} {kernel_size} {size}").standard_normal(tuple(yt.shape))
    yo.backward(ag.tensor(r, dtype=ag.float64))
    yt.backward(torch.from_numpy(r))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=0, err_msg="input gradient")
    with ag.no_grad():  # the path that finds no indices, as nothing needs them
        _same(ours_fn(ag.tensor(x, dtype=ag.float64), kernel_size, _random_samples=so, **size), yt, "no grad")
    return yo, io


# --- values, indices and gradients ------------------------------------------------------------

@pytest.mark.parametrize("shape, kernel_size, size", [
    ((2, 3, 9, 11), 2, dict(output_size=(5, 6))),
    ((2, 3, 9, 11), (3, 2), dict(output_size=4)),             # square output, oblong kernel
    ((2, 2, 10, 7), 2, dict(output_ratio=0.5)),               # int(10 * .5), int(7 * .5)
    ((2, 2, 10, 7), (2, 1), dict(output_ratio=(0.7, 0.45))),  # int(7.0) -> 7 rows, int(3.15) -> 3
    ((3, 8, 9), 3, dict(output_size=(4, 5))),                 # unbatched
    ((2, 2, 6, 7), 2, dict(output_size=(5, 6))),              # in - k + 1 regions: every start, stride 1
    ((2, 2, 6, 7), 3, dict(output_size=(1, 1))),              # one region, flush with the end
    ((2, 2, 6, 7), 1, dict(output_size=(4, 3))),              # regions of one cell
    ((1, 2, 12, 12), (9, 8), dict(output_size=(3, 2))),       # 72 cells > WIDE_BIN: reduced along a last axis
    ((0, 2, 6, 7), 2, dict(output_size=(3, 3))),              # an empty batch
    ((2, 2, 6, 7), 2, dict(output_size=(0, 3))),              # an empty output
])
def test_fractional_max_pool2d_matches_torch(device, torch, shape, kernel_size, size):
    assert 9 * 8 > WIDE_BIN >= 9  # the (9, 8) kernel takes the wide path, and no other does
    rng = named_rng(f"fmp2d {shape} {kernel_size} {size}")
    x = distinct_values(rng, *shape)
    _pool_both(torch, x, 2, kernel_size, _samples(torch, rng, x, 2), **size)


@pytest.mark.parametrize("shape, kernel_size, size", [
    ((2, 3, 7, 9, 8), 2, dict(output_size=(4, 5, 6))),
    ((2, 2, 7, 9, 8), (3, 2, 1), dict(output_size=3)),
    ((2, 2, 8, 6, 9), 2, dict(output_ratio=0.5)),
    ((2, 2, 8, 6, 9), (1, 2, 2), dict(output_ratio=(0.6, 0.5, 0.75))),
    ((3, 6, 7, 5), 2, dict(output_size=(3, 4, 2))),           # unbatched
    ((1, 2, 5, 6, 4), 2, dict(output_size=(3, 4, 2))),        # the most regions PyTorch's 3-D form allows
    ((1, 2, 5, 6, 9), (3, 4, 6), dict(output_size=(2, 2, 3))),  # 72 cells > WIDE_BIN
    ((0, 2, 5, 5, 5), 2, dict(output_size=2)),                # an empty batch
])
def test_fractional_max_pool3d_matches_torch(device, torch, shape, kernel_size, size):
    rng = named_rng(f"fmp3d {shape} {kernel_size} {size}")
    x = distinct_values(rng, *shape)
    _pool_both(torch, x, 3, kernel_size, _samples(torch, rng, x, 3), **size)


def test_each_sample_moves_its_own_axis_as_in_torch(device, torch):
    """Samples that differ per plane and axis (2-D: sample 0 places the columns; 3-D:
    samples 0, 1, 2 the depth, rows, columns), and samples of 0 and just under 1."""
    rng = named_rng("sample axes")
    x2, x3 = distinct_values(rng, 2, 2, 13, 11), distinct_values(rng, 1, 2, 11, 10, 9)
    for s in ([[[0.0, 0.9], [0.9, 0.0]], [[0.5, 0.25], [0.999999, 0.1]]],):
        s = np.array(s)
        _pool_both(torch, x2, 2, 2, (ag.tensor(s), torch.from_numpy(s)), output_size=(5, 4))
    s = np.array([[[0.0, 0.45, 0.9], [0.9, 0.0, 0.45]]])
    _pool_both(torch, x3, 3, 2, (ag.tensor(s), torch.from_numpy(s)), output_size=(4, 5, 3))


def test_extra_sample_rows_are_ignored_as_in_torch(device, torch):
    rng = named_rng("extra rows")
    x = distinct_values(rng, 2, 3, 8, 8)
    s = rng.random((5, 3, 2))
    _pool_both(torch, x, 2, 2, (ag.tensor(s), torch.from_numpy(s)), output_size=4)
    _pool_both(torch, x[0], 2, 2, (ag.tensor(s), torch.from_numpy(s)), output_size=4)  # unbatched: the first row


def test_float32_regions_are_computed_in_float32_as_in_torch(device, torch):
    """PyTorch places the regions in the input's dtype: with this float32 sample the
    second row starts at 3, where float64 arithmetic on the same sample gives 2."""
    u = np.float32(0.49999997)
    xp = np
    assert region_starts(xp, np.array([u]), 5, 3, 1).tolist() == [[0, 3, 4]]
    assert region_starts(xp, np.array([u], dtype=np.float64), 5, 3, 1).tolist() == [[0, 2, 4]]
    x = np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5) % 7
    s = np.array([[[0.0, u]]], dtype=np.float32)
    yo, io = F.fractional_max_pool2d(ag.tensor(x), 1, (3, 5), return_indices=True, _random_samples=ag.tensor(s))
    yt, it = torch.nn.functional.fractional_max_pool2d(torch.from_numpy(x), 1, (3, 5), return_indices=True,
                                                       _random_samples=torch.from_numpy(s))
    assert yo.dtype == ag.float32
    _same(yo, yt)
    _same(io, it)
    np.testing.assert_array_equal(io.numpy()[0, 0, :, 0], [0, 15, 20])  # rows 0, 3 and 4


def test_ties_nan_and_minus_inf_pick_what_torch_picks(device, torch):
    """A region's gradient goes to its first maximum in raster order; a region holding
    NaN outputs NaN and points at its last NaN; an all -inf region at its first cell."""
    x = np.array([[1.0, 2.0, 2.0, 0.0, 2.0],
                  [2.0, np.nan, 1.0, np.nan, 1.0],
                  [-np.inf, -np.inf, -np.inf, 2.0, np.nan],
                  [-np.inf, -np.inf, 5.0, 5.0, 5.0]])
    x = np.stack([x, np.ones_like(x), np.where(np.isnan(x), 0.0, x)])[None]
    for s in ([0.2, 0.7], [0.9, 0.1]):
        s = np.array([[s] * 3])
        for kernel, out in (((2, 2), (3, 4)), ((3, 2), (2, 3)), ((2, 3), (3, 2))):
            _pool_both(torch, x, 2, kernel, (ag.tensor(s), torch.from_numpy(s)), output_size=out)
    v = np.stack([x[0], x[0][::-1], x[0]], axis=1)[None]  # (1, 3, 3, 4, 5): the ties across depth too
    s = np.array([[[0.3, 0.6, 0.2]] * 3])
    _pool_both(torch, v, 3, (2, 2, 2), (ag.tensor(s), torch.from_numpy(s)), output_size=(1, 2, 3))


@pytest.mark.parametrize("axes", [2, 3])
def test_second_derivatives_match_torch(device, torch, axes):
    """The gradient is a scatter-add of gy at the indices (overlapping regions sum); its
    derivative with respect to gy (a gradient penalty's) is a gather there."""
    ours_fn, name, _, _ = _FORMS[axes]
    rng = named_rng(f"second order {axes}")
    x = distinct_values(rng, *(2, 2, 7, 6, 5)[:axes + 2])
    out = (4, 3, 3)[:axes]
    so, st = _samples(torch, rng, x, axes)
    (xo, xt), (go, gt) = float64_leaves(torch, x), float64_leaves(torch, rng.standard_normal((2, 2) + out))
    c = rng.standard_normal(x.shape)
    (gxo,) = ag.grad(ours_fn(xo * xo, 2, out, _random_samples=so), [xo], go, create_graph=True)
    (gxt,) = torch.autograd.grad(getattr(torch.nn.functional, name)(xt * xt, 2, out, _random_samples=st), [xt],
                                 gt, create_graph=True)
    np.testing.assert_allclose(gxo.numpy(), gxt.detach().numpy(), rtol=1e-12)
    ho = ag.grad((gxo * gxo * ag.tensor(c, dtype=ag.float64)).sum(), [xo, go])
    ht = torch.autograd.grad((gxt * gxt * torch.from_numpy(c)).sum(), [xt, gt])
    for o, t in zip(ho, ht):
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-12, atol=1e-12)


def test_passes_gradcheck_and_gradgradcheck(device):
    rng = named_rng("fmp gradcheck")
    x = ag.tensor(distinct_values(rng, 1, 2, 6, 5), dtype=ag.float64, requires_grad=True)
    s = ag.tensor(rng.random((1, 2, 2)), dtype=ag.float64)
    assert ag.gradcheck(lambda a: F.fractional_max_pool2d(a, 2, (4, 3), _random_samples=s), [x])
    assert ag.gradgradcheck(lambda a: F.fractional_max_pool2d(a, 2, (4, 3), _random_samples=s), [x])
    v = ag.tensor(distinct_values(rng, 1, 1, 3, 4, 4), dtype=ag.float64, requires_grad=True)
    s = ag.tensor(rng.random((1, 1, 3)), dtype=ag.float64)
    assert ag.gradgradcheck(lambda a: F.fractional_max_pool3d(a, 2, (1, 2, 2), _random_samples=s), [v])


# --- max unpooling of the indices ------------------------------------------------------------

@pytest.mark.parametrize("axes, shape, out", [(2, (2, 3, 9, 8), (5, 4)), (2, (3, 7, 7), (4, 4)),
                                              (3, (2, 2, 6, 7, 5), (3, 4, 2))])
def test_max_unpool_of_the_indices_puts_each_maximum_back_as_torch(device, torch, axes, shape, out):
    ours_fn, name, unpool, unpool_name = _FORMS[axes]
    rng = named_rng(f"unpool {shape}")
    x = distinct_values(rng, *shape)
    so, st = _samples(torch, rng, x, axes)
    yo, io = ours_fn(ag.tensor(x), 2, out, return_indices=True, _random_samples=so)
    yt, it = getattr(torch.nn.functional, name)(torch.from_numpy(x), 2, out, return_indices=True,
                                                _random_samples=st)
    vo, vt = float64_leaves(torch, yo.numpy())
    uo = unpool(vo, io, 2, output_size=x.shape[-axes:])
    ut = getattr(torch.nn.functional, unpool_name)(vt, it, 2, output_size=x.shape[-axes:])
    _same(uo, ut, "unpooled")
    kept = uo.numpy() != 0
    np.testing.assert_array_equal(uo.numpy()[kept], x[kept])  # each maximum back where it was, zeros elsewhere
    assert kept.sum() == len(np.unique(yo.numpy()))
    r = rng.standard_normal(x.shape)
    uo.backward(ag.tensor(r))
    ut.backward(torch.from_numpy(r))
    _same(vo.grad, vt.grad, "unpool's input gradient")


# --- drawn samples -----------------------------------------------------------------------------

def test_drawn_samples_come_from_the_seeded_generator(device):
    """Without _random_samples each call draws (N, C, axes) uniforms of the input's
    dtype, as ag.rand would: the same seed gives the same regions, and a draw passed as
    _random_samples gives the same output."""
    rng = named_rng("seeded")
    for axes, shape in ((2, (2, 3, 11, 10)), (3, (2, 3, 9, 8, 7))):
        pool = _FORMS[axes][0]
        x = ag.tensor(distinct_values(rng, *shape), dtype=ag.float32)
        ag.manual_seed(7)
        y1, i1 = pool(x, 2, output_ratio=0.5, return_indices=True)
        y2, i2 = pool(x, 2, output_ratio=0.5, return_indices=True)
        ag.manual_seed(7)
        y3, i3 = pool(x, 2, output_ratio=0.5, return_indices=True)
        _same(y3, y1.numpy())
        _same(i3, i1.numpy())
        assert not np.array_equal(i2.numpy(), i1.numpy())  # the next call draws anew
        ag.manual_seed(7)
        drawn = ag.rand(2, 3, axes, dtype=ag.float32)
        _same(pool(x, 2, output_ratio=0.5, _random_samples=drawn), y1.numpy())
        ag.manual_seed(7)
        _same(pool(x[0], 2, output_ratio=0.5), pool(x[0], 2, output_ratio=0.5, _random_samples=drawn).numpy())
        planes = i1.numpy().reshape(6, -1)
        assert len({tuple(p) for p in planes}) > 1  # each plane its own regions


def test_layer_draws_per_call_unless_given_samples(device, torch):
    rng = named_rng("layer draws")
    x = ag.tensor(distinct_values(rng, 2, 3, 10, 10))
    layer = nn.FractionalMaxPool2d(3, output_size=5, return_indices=True)
    ag.manual_seed(1)
    first = layer(x)[1].numpy()
    ag.manual_seed(1)
    _same(layer(x)[1], first)
    assert not np.array_equal(layer(x)[1].numpy(), first)


# --- layers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("axes, kwargs", [
    (2, dict(kernel_size=3, output_size=5)),
    (2, dict(kernel_size=(2, 3), output_ratio=0.5, return_indices=True)),
    (2, dict(kernel_size=2, output_ratio=(0.5, 0.75))),
    (3, dict(kernel_size=2, output_size=(3, 4, 3), return_indices=True)),
    (3, dict(kernel_size=(1, 2, 2), output_ratio=0.5)),
])
def test_layers_match_torch_with_their_attributes_repr_and_state_dict(device, torch, axes, kwargs):
    rng = named_rng(f"layer {axes} {kwargs}")
    x = distinct_values(rng, *(2, 3, 8, 10, 9)[:axes + 2])
    ours_cls, theirs_cls = (nn.FractionalMaxPool2d, torch.nn.FractionalMaxPool2d) if axes == 2 else \
        (nn.FractionalMaxPool3d, torch.nn.FractionalMaxPool3d)
    so, st = _samples(torch, rng, x, axes)
    ours, theirs = ours_cls(**kwargs, _random_samples=so), theirs_cls(**kwargs, _random_samples=st)
    assert repr(ours) == repr(theirs)
    for attribute in ("kernel_size", "output_size", "output_ratio", "return_indices"):
        assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["_random_samples"]
    assert list(ours_cls(**kwargs).state_dict()) == list(theirs_cls(**kwargs).state_dict()) == []
    xo, xt = float64_leaves(torch, x)
    out, ref = ours(xo), theirs(xt)
    for o, t in zip(out, ref) if ours.return_indices else [(out, ref)]:
        _same(o, t, repr(ours))
    first = out[0] if ours.return_indices else out
    first.sum().backward()
    (ref[0] if theirs.return_indices else ref).sum().backward()
    _same(xo.grad, xt.grad, "input gradient")


# --- errors --------------------------------------------------------------------------------------

def test_output_size_and_ratio_errors(device, torch):
    x = ag.zeros((1, 2, 7, 9))
    pool = F.fractional_max_pool2d
    for size in (dict(), dict(output_size=3, output_ratio=0.5)):
        with pytest.raises(ValueError, match="fractional_max_pool2d: give exactly one of output_size and "
                                             "output_ratio"):
            pool(x, 2, **size)
        with pytest.raises(ValueError, match="FractionalMaxPool2d: give exactly one of output_size and output_ratio"):
            nn.FractionalMaxPool2d(2, **size)
        with pytest.raises(ValueError, match="only one of|requires specifying either"):
            torch.nn.FractionalMaxPool2d(2, **size)
    for ratio in (1.0, 0, (0.5, 1.5), (0.5, -0.1), (0.5, float("nan"))):
        with pytest.raises(ValueError, match=re.escape(f"fractional_max_pool2d: output_ratio must be between 0 and "
                                                       f"1, exclusive, got {ratio!r}")):
            pool(x, 2, output_ratio=ratio)
        with pytest.raises(ValueError, match="FractionalMaxPool3d: output_ratio must be between 0 and 1"):
            nn.FractionalMaxPool3d(2, output_ratio=ratio if not isinstance(ratio, tuple) else ratio + (0.5,))
        with pytest.raises(ValueError, match="output_ratio must be between 0 and 1"):
            torch.nn.FractionalMaxPool2d(2, output_ratio=ratio)
    for ratio in ((0.5, 0.5, 0.5), "half", [0.5, None]):
        with pytest.raises(TypeError, match=re.escape(f"fractional_max_pool2d: output_ratio must be a number or 2 "
                                                      f"numbers, not {ratio!r}")):
            pool(x, 2, output_ratio=ratio)
    with pytest.raises(ValueError, match="fractional_max_pool2d: output_size must be at least 0, got"):
        pool(x, 2, output_size=(-1, 3))
    with pytest.raises(TypeError, match="fractional_max_pool3d: output_size must be an int or a triple of ints"):
        F.fractional_max_pool3d(ag.zeros((1, 2, 7, 9, 6)), 2, output_size=(3, 3))
    with pytest.raises(ValueError, match="FractionalMaxPool3d: kernel_size must be at least 1"):
        nn.FractionalMaxPool3d(0, output_size=2)
    # (PyTorch before 2.13 left out a word: "kernel_size must greater than 0")
    with pytest.raises(ValueError, match="kernel_size must greater than 0" if torch_older_than("2.13")
                       else "kernel_size must be greater than 0"):
        torch.nn.FractionalMaxPool3d(0, output_size=2)


def test_output_too_large_for_the_kernel(device, torch):
    """Each region starts at least one past the last, and the last at size - kernel, so
    an axis holds at most size - kernel + 1 regions, as PyTorch checks."""
    x = np.zeros((1, 2, 7, 9))
    s = np.full((1, 2, 2), 0.5)
    F.fractional_max_pool2d(ag.tensor(x), (2, 3), (6, 7), _random_samples=ag.tensor(s))  # at most
    for kernel, out, message in (((2, 3), (7, 7), "an output height of 7 with a kernel height of 2 needs an input "
                                                  "height of at least 8, got 7"),
                                 ((2, 3), (6, 8), "an output width of 8 with a kernel width of 3 needs an input "
                                                  "width of at least 10, got 9"),
                                 (10, (1, 1), "an output height of 1 with a kernel height of 10")):
        with pytest.raises(ValueError, match=re.escape(f"fractional_max_pool2d: {message}")):
            F.fractional_max_pool2d(ag.tensor(x), kernel, out, _random_samples=ag.tensor(s))
        with pytest.raises(RuntimeError, match="too large relative to input"):
            torch.nn.functional.fractional_max_pool2d(torch.from_numpy(x), kernel, out,
                                                      _random_samples=torch.from_numpy(s))
    # PyTorch's 3-D form allows one region fewer than its 2-D one: L - k, not L - k + 1
    v, s3 = np.zeros((1, 2, 5, 6, 7)), np.full((1, 2, 3), 0.5)
    F.fractional_max_pool3d(ag.tensor(v), 2, (3, 4, 5), _random_samples=ag.tensor(s3))  # at most
    for out, name in (((4, 4, 5), "depth"), ((3, 5, 5), "height"), ((3, 4, 6), "width")):
        size = dict(depth=5, height=6, width=7)[name]
        with pytest.raises(ValueError, match=re.escape(f"fractional_max_pool3d: an output {name} of {size - 1} "
                                                       f"with a kernel {name} of 2 needs an input {name} of at "
                                                       f"least {size + 1}, got {size}")):
            F.fractional_max_pool3d(ag.tensor(v), 2, out, _random_samples=ag.tensor(s3))
        with pytest.raises(RuntimeError, match=f"pool {'time' if name == 'depth' else name} 2 too large"):
            torch.nn.functional.fractional_max_pool3d(torch.from_numpy(v), 2, out,
                                                      _random_samples=torch.from_numpy(s3))
    with pytest.raises(ValueError, match="fractional_max_pool2d: an output height of 3 with a kernel height of 3 "
                                         "needs an input height of at least 5, got 4"):
        F.fractional_max_pool2d(ag.zeros((1, 2, 4, 9)), 3, output_ratio=0.99)  # int(3.96)
    with pytest.raises(ValueError, match="fractional_max_pool2d: an output height of 9 "):
        nn.FractionalMaxPool2d(3, output_ratio=0.9)(ag.zeros((1, 2, 10, 10)))


def test_random_samples_errors(device, torch):
    x = np.zeros((2, 3, 8, 8))
    good = np.full((2, 3, 2), 0.5)
    for shape in ((2, 3, 3), (2, 4, 2), (1, 3, 2), (6, 2), (2, 3, 2, 1)):
        s = np.full(shape, 0.5)
        with pytest.raises(ValueError, match=re.escape(f"fractional_max_pool2d: _random_samples must have shape "
                                                       f"(N, C, 2) = (2, 3, 2), one sample per plane and spatial "
                                                       f"axis (an unbatched input's N is 1), got {shape}")):
            F.fractional_max_pool2d(ag.tensor(x), 2, 4, _random_samples=ag.tensor(s))
        with pytest.raises(RuntimeError, match="_random_samples"):
            torch.nn.functional.fractional_max_pool2d(torch.from_numpy(x), 2, 4, _random_samples=torch.from_numpy(s))
    with pytest.raises(ValueError, match=re.escape("fractional_max_pool3d: _random_samples must have shape "
                                                   "(N, C, 3) = (1, 3, 3)")):
        F.fractional_max_pool3d(ag.zeros((3, 4, 4, 4)), 2, 2, _random_samples=ag.zeros((3, 3)))
    with pytest.raises(TypeError, match="fractional_max_pool2d: _random_samples must have the input's dtype "
                                        "float64, not float32"):
        F.fractional_max_pool2d(ag.tensor(x), 2, 4, _random_samples=ag.tensor(good, dtype=ag.float32))
    with pytest.raises(RuntimeError, match="same dtype"):
        torch.nn.functional.fractional_max_pool2d(torch.from_numpy(x), 2, 4,
                                                  _random_samples=torch.from_numpy(good).float())
    with pytest.raises(TypeError, match="fractional_max_pool2d: _random_samples must be a Tensor, not ndarray"):
        F.fractional_max_pool2d(ag.tensor(x), 2, 4, _random_samples=good)
    with pytest.raises(TypeError, match="FractionalMaxPool2d: _random_samples must be a Tensor or None, not list"):
        nn.FractionalMaxPool2d(2, 4, _random_samples=good.tolist())
    for bad, text in ((1.0, "0.5 to 1.0"), (-0.25, "-0.25 to 0.5"), (np.nan, "nan")):
        s = good.copy()
        s[1, 2, 0] = bad
        with pytest.raises(ValueError, match=re.escape("fractional_max_pool2d: _random_samples must lie in [0, 1), "
                                                       "got values from")) as raised:
            F.fractional_max_pool2d(ag.tensor(x), 2, 4, _random_samples=ag.tensor(s))
        assert text in str(raised.value)


def test_input_errors(device, torch):
    with pytest.raises(ValueError, match=re.escape("fractional_max_pool2d: expected a non-zero size in every axis "
                                                   "but the first, got shape (1, 2, 0, 4)")):
        F.fractional_max_pool2d(ag.zeros((1, 2, 0, 4)), 1, 1)
    with pytest.raises(RuntimeError, match="non-zero size"):
        torch.nn.functional.fractional_max_pool2d(torch.zeros(1, 2, 0, 4), 1, 1,
                                                  _random_samples=torch.rand(1, 2, 2))
    with pytest.raises(ValueError, match=re.escape("fractional_max_pool3d: expected a (N, C, D, H, W) or "
                                                   "(C, D, H, W) input, got shape (2, 4, 4)")):
        F.fractional_max_pool3d(ag.zeros((2, 4, 4)), 2, 2)
    with pytest.raises(ValueError, match=re.escape("fractional_max_pool2d: expected a (N, C, H, W) or (C, H, W) "
                                                   "input, got shape (4, 4)")):
        F.fractional_max_pool2d(ag.zeros((4, 4)), 2, 2)
    with pytest.raises(TypeError, match="fractional_max_pool2d: input must be floating point"):
        F.fractional_max_pool2d(ag.zeros((1, 2, 4, 4), dtype=ag.int64), 2, 2)
