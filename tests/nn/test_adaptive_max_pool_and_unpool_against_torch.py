"""AdaptiveMaxPool1d/2d, MaxUnpool1d/2d and their functional forms against PyTorch:
values, int64 indices and input gradients over bins that tile the input, bins that
overlap, more bins than cells and output sizes with None; batched and unbatched
inputs; ties and NaN (the gradient goes where PyTorch's index points); the round trip
max_pool -> max_unpool of PyTorch's docs with every form of output_size; second
derivatives against PyTorch and by ag.gradcheck / ag.gradgradcheck; the layers'
attributes and repr; and the errors a user will hit."""
import re

import numpy as np
import pytest

import autograd as ag
import backends
import nn
import nn.functional as F
from autograd.ops.nn_fused.adaptive_max_pool import WIDE_BIN

from tests.torch_versions import torch_older_than

from .torch_compare import distinct_values, float64_leaves, named_rng


def _same(ours, theirs, what=""):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert ours.shape == tuple(theirs.shape), what
    np.testing.assert_array_equal(ours.numpy(), theirs, err_msg=what)


def _pool_both(torch, x, output_size, one_d=False):
    """Output, indices and input gradient (for a random output gradient) from both."""
    ours_fn = F.adaptive_max_pool1d if one_d else F.adaptive_max_pool2d
    theirs_fn = torch.nn.functional.adaptive_max_pool1d if one_d else torch.nn.functional.adaptive_max_pool2d
    xo, xt = float64_leaves(torch, x)
    (yo, io), (yt, it) = ours_fn(xo, output_size, True), theirs_fn(xt, output_size, True)
    _same(yo, yt, "output")
    _same(io, it, "indices")
    assert io.dtype == ag.int64
    r = named_rng(f"gy {x.shape} {output_size}").standard_normal(tuple(yt.shape))
    yo.backward(ag.tensor(r, dtype=ag.float64))
    yt.backward(torch.from_numpy(r))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=0, err_msg="input gradient")
    with ag.no_grad():  # the path that finds no indices, as nothing needs them
        _same(ours_fn(ag.tensor(x, dtype=ag.float64), output_size), yt, "output without gradients")


# --- adaptive max pooling ---------------------------------------------------------------------

@pytest.mark.parametrize("shape, output_size", [
    ((2, 3, 8, 6), (4, 3)),      # bins tile the input
    ((2, 3, 7, 5), (3, 2)),      # bins of 3 and 2 rows that share a row
    ((2, 2, 6, 6), 1),           # one bin: global max pooling
    ((2, 2, 9, 16), (1, 2)),     # bins of 9 x 8 > WIDE_BIN cells: reduced along a last axis
    ((1, 2, 4, 3), (9, 5)),      # more bins than cells: cells repeat across bins
    ((3, 7, 5), (None, 2)),      # unbatched; None keeps the height
    ((2, 2, 5, 9), [4, None]),   # a list, None keeps the width
    ((0, 2, 5, 4), (2, 3)),      # an empty batch
])
def test_adaptive_max_pool2d_matches_torch(device, torch, shape, output_size):
    assert 9 * 8 > WIDE_BIN >= 9  # the (2, 2, 9, 16) case takes the wide-bin path, and no other does
    _pool_both(torch, distinct_values(named_rng(f"amp2d {shape}"), *shape), output_size)


@pytest.mark.parametrize("shape, output_size", [((2, 3, 10), 4), ((3, 10), (3,)), ((2, 3, 9), 9), ((2, 1, 5), 7),
                                                ((2, 3, 200), 3)])  # bins of 67 or 68 cells, over WIDE_BIN
def test_adaptive_max_pool1d_matches_torch(device, torch, shape, output_size):
    _pool_both(torch, distinct_values(named_rng(f"amp1d {shape}"), *shape), output_size, one_d=True)


def test_adaptive_max_pool2d_of_an_output_size_of_zero_is_empty_like_torch(device, torch):
    x = np.zeros((2, 3, 5, 4))
    for size in [(0, 3), 0]:
        yo, io = F.adaptive_max_pool2d(ag.tensor(x), size, return_indices=True)
        yt, it = torch.nn.functional.adaptive_max_pool2d(torch.from_numpy(x), size, return_indices=True)
        _same(yo, yt)
        _same(io, it)


def test_adaptive_max_pool2d_of_ties_and_nan_picks_what_torch_picks(device, torch):
    """Each bin's gradient goes to its first maximum in row-major order; a bin holding
    NaN outputs NaN and points at its last NaN (PyTorch's kernels take a value that is
    greater or NaN); -inf bins point at their first cell. Bins of 3 overlap by one."""
    x = np.array([[1.0, 2.0, 2.0, 0.0, 2.0],
                  [2.0, np.nan, 1.0, np.nan, 1.0],
                  [-np.inf, -np.inf, -np.inf, 2.0, np.nan],
                  [-np.inf, -np.inf, 5.0, 5.0, 5.0]])
    x = np.stack([x, np.ones_like(x), np.where(np.isnan(x), 0.0, x)])[None]  # and all ties, and no NaN
    for size in [(2, 2), (3, 3), (4, 1), (1, 4)]:
        _pool_both(torch, x, size)
    _pool_both(torch, x[0, :, 1], 2, one_d=True)  # rows of (C, L) sequences
    wide = np.repeat(x[0].reshape(3, 20), 7, axis=1)  # bins of 70 cells (> WIDE_BIN), ties and NaN repeated
    _pool_both(torch, wide, 2, one_d=True)
    _pool_both(torch, wide[:, ::-1].copy(), 2, one_d=True)


def test_adaptive_max_pool2d_keeps_float32_and_gives_int64_indices(device, torch):
    x = distinct_values(named_rng("float32"), 2, 3, 7, 5).astype(np.float32)
    yo, io = F.adaptive_max_pool2d(ag.tensor(x, dtype=ag.float32), (3, 4), return_indices=True)
    yt, it = torch.nn.functional.adaptive_max_pool2d(torch.from_numpy(x), (3, 4), return_indices=True)
    assert (yo.dtype, io.dtype) == (ag.float32, ag.int64)
    _same(yo, yt)
    _same(io, it)


def test_adaptive_max_pool2d_second_derivatives_match_torch(device, torch):
    """The gradient is a scatter-add of gy at the indices; its derivative with respect
    to gy (a gradient penalty's) is a gather there, with overlapping bins summed."""
    rng = named_rng("amp2d second order")
    x = distinct_values(rng, 2, 2, 7, 5)
    (xo, xt), (go, gt) = float64_leaves(torch, x), float64_leaves(torch, rng.standard_normal((2, 2, 3, 4)))
    c = rng.standard_normal(x.shape)
    (gxo,) = ag.grad(F.adaptive_max_pool2d(xo, (3, 4)), [xo], go, create_graph=True)
    (gxt,) = torch.autograd.grad(torch.nn.functional.adaptive_max_pool2d(xt, (3, 4)), [xt], gt, create_graph=True)
    (ggo,) = ag.grad((gxo * gxo * ag.tensor(c, dtype=ag.float64)).sum(), [go])
    (ggt,) = torch.autograd.grad((gxt * gxt * torch.from_numpy(c)).sum(), [gt])
    np.testing.assert_allclose(ggo.numpy(), ggt.numpy(), rtol=1e-12)


def test_adaptive_max_pool_passes_gradcheck_and_gradgradcheck(device):
    x = ag.tensor(distinct_values(named_rng("amp gradcheck"), 1, 2, 5, 4), dtype=ag.float64, requires_grad=True)
    assert ag.gradcheck(lambda a: F.adaptive_max_pool2d(a, (3, 3)), [x])
    assert ag.gradgradcheck(lambda a: F.adaptive_max_pool2d(a, (3, 3)), [x])
    s = ag.tensor(distinct_values(named_rng("amp1d gradcheck"), 2, 7), dtype=ag.float64, requires_grad=True)
    assert ag.gradcheck(lambda a: F.adaptive_max_pool1d(a, 3), [s])


# --- max unpooling ----------------------------------------------------------------------------

def test_max_unpool2d_round_trip_of_torch_docs(device, torch):
    """PyTorch's MaxUnpool2d example: a 4x4 image pooled by 2 and unpooled keeps each
    window's maximum in place; a 5x5 one needs output_size to come back at 5x5."""
    pool, unpool = nn.MaxPool2d(2, stride=2, return_indices=True), nn.MaxUnpool2d(2, stride=2)
    x = ag.tensor([[[[1.0, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]]])
    out = unpool(*pool(x))
    np.testing.assert_array_equal(out.numpy(), [[[[0.0, 0, 0, 0], [0, 6, 0, 8], [0, 0, 0, 0], [0, 14, 0, 16]]]])
    x5 = np.arange(1.0, 26.0).reshape(1, 1, 5, 5)
    theirs = torch.nn.MaxUnpool2d(2, stride=2)(*torch.nn.MaxPool2d(2, stride=2, return_indices=True)(
        torch.from_numpy(x5)), output_size=(1, 1, 5, 5))
    ours = unpool(*pool(ag.tensor(x5)), output_size=ag.tensor(x5).shape)
    _same(ours, theirs)
    assert ours.shape == (1, 1, 5, 5)


@pytest.mark.parametrize("shape, kwargs, output_size", [
    ((2, 3, 8, 6), dict(kernel_size=2), None),
    ((2, 3, 7, 5), dict(kernel_size=2), (7, 5)),                    # the size max_pool2d came from
    ((2, 3, 7, 5), dict(kernel_size=2), (2, 3, 7, 5)),              # the whole shape
    ((2, 3, 7, 5), dict(kernel_size=3, stride=1, padding=1), None),  # overlapping windows: repeated indices
    ((2, 3, 9, 5), dict(kernel_size=(2, 3), stride=(2, 1)), (9, 5)),  # one more row than the default
    ((2, 3, 6, 4), dict(kernel_size=3, stride=2, padding=1), [6, 4]),  # one more of each, as a list
])
def test_max_unpool2d_after_max_pool2d_matches_torch(device, torch, shape, kwargs, output_size):
    rng = named_rng(f"unpool {shape} {kwargs} {output_size}")
    x = distinct_values(rng, *shape)
    _, it = torch.nn.functional.max_pool2d(torch.from_numpy(x), return_indices=True, **kwargs)
    _, io = F.max_pool2d(ag.tensor(x, dtype=ag.float64), return_indices=True, **kwargs)
    _same(io, it, "indices")
    vo, vt = float64_leaves(torch, rng.standard_normal(tuple(it.shape)))
    uo, ut = F.max_unpool2d(vo, io, output_size=output_size, **kwargs), \
        torch.nn.functional.max_unpool2d(vt, it, output_size=output_size, **kwargs)
    _same(uo, ut, "output")
    r = rng.standard_normal(tuple(ut.shape))
    uo.backward(ag.tensor(r, dtype=ag.float64))
    ut.backward(torch.from_numpy(r))
    _same(vo.grad, vt.grad, "input gradient")


def test_max_unpool2d_of_unbatched_input_and_any_integer_indices_matches_torch(device, torch):
    rng = named_rng("unpool unbatched")
    x = distinct_values(rng, 3, 6, 4)
    yt, it = torch.nn.functional.max_pool2d(torch.from_numpy(x), 2, return_indices=True)
    vo, vt = float64_leaves(torch, yt.numpy())
    for dtype in (ag.int64, ag.int32):
        uo = F.max_unpool2d(vo, ag.tensor(it.numpy(), dtype=dtype), 2)
        _same(uo, torch.nn.functional.max_unpool2d(vt, it, 2), str(dtype))


@pytest.mark.parametrize("shape, kwargs, output_size", [
    ((2, 3, 9), dict(kernel_size=2), None),
    ((2, 3, 9), dict(kernel_size=2), (9,)),
    ((2, 3, 9), dict(kernel_size=3, stride=2, padding=1), (2, 3, 9)),
    ((3, 8), dict(kernel_size=2, stride=1), None),
])
def test_max_unpool1d_after_max_pool1d_matches_torch(device, torch, shape, kwargs, output_size):
    rng = named_rng(f"unpool1d {shape} {kwargs}")
    x = distinct_values(rng, *shape)
    _, it = torch.nn.functional.max_pool1d(torch.from_numpy(x), return_indices=True, **kwargs)
    _, io = F.max_pool1d(ag.tensor(x, dtype=ag.float64), return_indices=True, **kwargs)
    vo, vt = float64_leaves(torch, rng.standard_normal(tuple(it.shape)))
    uo = F.max_unpool1d(vo, io, output_size=output_size, **kwargs)
    ut = torch.nn.functional.max_unpool1d(vt, it, output_size=output_size, **kwargs)
    _same(uo, ut, "output")
    r = rng.standard_normal(tuple(ut.shape))
    uo.backward(ag.tensor(r, dtype=ag.float64))
    ut.backward(torch.from_numpy(r))
    _same(vo.grad, vt.grad, "input gradient")


def test_max_unpool2d_second_derivatives_match_torch(device, torch):
    rng = named_rng("unpool second order")
    _, it = torch.nn.functional.max_pool2d(torch.from_numpy(distinct_values(rng, 2, 2, 6, 6)), 2,
                                           return_indices=True)
    io = ag.tensor(it.numpy())
    (vo, vt), (go, gt) = float64_leaves(torch, rng.standard_normal((2, 2, 3, 3))), \
        float64_leaves(torch, rng.standard_normal((2, 2, 6, 6)))
    c = rng.standard_normal((2, 2, 3, 3))
    (gvo,) = ag.grad(F.max_unpool2d(vo * vo, io, 2), [vo], go, create_graph=True)
    (gvt,) = torch.autograd.grad(torch.nn.functional.max_unpool2d(vt * vt, it, 2), [vt], gt, create_graph=True)
    np.testing.assert_allclose(gvo.numpy(), gvt.detach().numpy(), rtol=1e-12)
    ho = ag.grad((gvo * ag.tensor(c, dtype=ag.float64)).sum(), [vo, go])
    ht = torch.autograd.grad((gvt * torch.from_numpy(c)).sum(), [vt, gt])
    for o, t in zip(ho, ht):
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-12)


def test_max_unpool_passes_gradcheck_and_gradgradcheck(device):
    rng = named_rng("unpool gradcheck")
    _, indices = F.max_pool2d(ag.tensor(distinct_values(rng, 1, 2, 5, 4), dtype=ag.float64), 2,
                              return_indices=True)
    v = ag.tensor(rng.standard_normal((1, 2, 2, 2)), dtype=ag.float64, requires_grad=True)
    assert ag.gradcheck(lambda a: F.max_unpool2d(a * a, indices, 2, output_size=(5, 4)), [v])
    assert ag.gradgradcheck(lambda a: F.max_unpool2d(a * a, indices, 2, output_size=(5, 4)), [v])


def test_max_unpool_of_an_empty_batch_matches_torch(device, torch):
    for ours, theirs, shape in ((F.max_unpool2d, torch.nn.functional.max_unpool2d, (0, 2, 3, 3)),
                                (F.max_unpool1d, torch.nn.functional.max_unpool1d, (0, 2, 3))):
        x, i = np.zeros(shape), np.zeros(shape, dtype=np.int64)
        _same(ours(ag.tensor(x), ag.tensor(i), 2), theirs(torch.from_numpy(x), torch.from_numpy(i), 2))


# --- layers -----------------------------------------------------------------------------------

def test_layers_match_torch_with_their_repr_and_attributes(device, torch):
    rng = named_rng("layers")
    x = distinct_values(rng, 2, 3, 7, 6)
    for ours, theirs in ((nn.AdaptiveMaxPool2d((None, 4), return_indices=True),
                          torch.nn.AdaptiveMaxPool2d((None, 4), return_indices=True)),
                         (nn.AdaptiveMaxPool2d(3), torch.nn.AdaptiveMaxPool2d(3)),
                         (nn.AdaptiveMaxPool1d(4, True), torch.nn.AdaptiveMaxPool1d(4, True))):
        assert repr(ours) == repr(theirs)
        a = x[0] if isinstance(ours, nn.AdaptiveMaxPool1d) else x
        out, ref = ours(ag.tensor(a)), theirs(torch.from_numpy(a))
        for o, t in zip(out, ref) if ours.return_indices else [(out, ref)]:
            _same(o, t, repr(ours))
    # (each input is one that the unpooling's default size covers)
    for ours, theirs, pooled in ((nn.MaxUnpool2d((3, 2), (2, 1), 1), torch.nn.MaxUnpool2d((3, 2), (2, 1), 1), x),
                                 (nn.MaxUnpool2d(2), torch.nn.MaxUnpool2d(2), x[:, :, :6]),
                                 (nn.MaxUnpool1d(3, padding=1), torch.nn.MaxUnpool1d(3, padding=1), x[0, :, :, :4])):
        assert repr(ours) == repr(theirs)
        assert (ours.kernel_size, ours.stride, ours.padding) == (theirs.kernel_size, theirs.stride, theirs.padding)
        args = dict(kernel_size=theirs.kernel_size, stride=theirs.stride, padding=theirs.padding)
        pool = torch.nn.functional.max_pool1d if isinstance(ours, nn.MaxUnpool1d) else torch.nn.functional.max_pool2d
        y, i = pool(torch.from_numpy(pooled), return_indices=True, **args)
        _same(ours(ag.tensor(y.numpy()), ag.tensor(i.numpy())), theirs(y, i), repr(ours))
        size = pooled.shape[-(len(theirs.kernel_size)):]
        _same(ours(ag.tensor(y.numpy()), ag.tensor(i.numpy()), output_size=size), theirs(y, i, output_size=size))


# --- errors -----------------------------------------------------------------------------------

def test_adaptive_max_pool_errors(device, torch):
    x = ag.zeros((1, 2, 4, 4))
    with pytest.raises(TypeError, match=r"adaptive_max_pool2d: output_size must be an int or a pair, not \(2, 3, 4\)"):
        F.adaptive_max_pool2d(x, (2, 3, 4))
    with pytest.raises(ValueError, match="adaptive_max_pool2d: output_size must be at least 0"):
        F.adaptive_max_pool2d(x, (2, -1))
    with pytest.raises(TypeError, match="adaptive_max_pool1d: output_size must be an int or a 1-tuple"):
        F.adaptive_max_pool1d(ag.zeros((1, 2, 4)), None)
    with pytest.raises(ValueError, match=re.escape("adaptive_max_pool2d: expected a non-zero size in every axis "
                                                   "but the first, got shape (1, 2, 0, 4)")):
        F.adaptive_max_pool2d(ag.zeros((1, 2, 0, 4)), 2)
    with pytest.raises(RuntimeError, match="non-zero size"):
        torch.nn.functional.adaptive_max_pool2d(torch.zeros(1, 2, 0, 4), 2)
    with pytest.raises(ValueError, match=r"expected a \(N, C, L\) or \(C, L\) input, got shape \(1, 1, 2, 4\)"):
        F.adaptive_max_pool1d(ag.zeros((1, 1, 2, 4)), 2)
    with pytest.raises(TypeError, match="adaptive_max_pool2d: input must be floating point"):
        F.adaptive_max_pool2d(ag.zeros((1, 2, 4, 4), dtype=ag.int64), 2)


def test_max_unpool_errors(device, torch):
    x, i = ag.zeros((1, 1, 2, 2)), ag.tensor(np.array([[[[0, 3], [8, 15]]]]))
    with pytest.raises(ValueError, match=re.escape("max_unpool2d: indices must have the input's shape (1, 1, 2, 2), "
                                                   "got (1, 1, 2, 1)")):
        F.max_unpool2d(x, i[..., :1], 2)
    with pytest.raises(TypeError, match="max_unpool2d: indices must be an integer tensor"):
        F.max_unpool2d(x, i.astype(ag.float32), 2)
    with pytest.raises(TypeError, match="max_unpool2d: indices must be a Tensor, not list"):
        F.max_unpool2d(x, [[[[0, 1], [2, 3]]]], 2)
    with pytest.raises(TypeError, match="max_unpool2d: input must be floating point"):
        F.max_unpool2d(i, i, 2)
    # an index past the output plane, or negative, as PyTorch finds it
    for bad, index, size in ((i + 100, 115, "4x4"), (i - 1, -1, "4x4"), (i, 15, "3x5")):
        with pytest.raises(ValueError, match=rf"max_unpool2d: index {index} is out of range for an output of size "
                                             rf"{size} \(indices must lie in \[0, \d+\)"):
            F.max_unpool2d(x, bad, 2, output_size=None if size == "4x4" else (3, 5))
        with pytest.raises(RuntimeError, match=f"invalid max index: {index}"):
            torch.nn.functional.max_unpool2d(torch.zeros(1, 1, 2, 2), torch.from_numpy(bad.numpy()), 2,
                                             output_size=None if size == "4x4" else (3, 5))
    with pytest.raises(ValueError, match=r"max_unpool1d: index 15 is out of range for an output of size 4 "):
        F.max_unpool1d(x[0], i[0], 2)
    # output_size: within a stride of the default (4), with 2 or 4 entries, as PyTorch checks it
    for size in [(6, 4), (2, 4)]:
        with pytest.raises(ValueError, match=r"max_unpool2d: output_size .* is out of range: size 0 must be between "
                                             r"2 and 6, exclusive"):
            F.max_unpool2d(x, i, 2, output_size=size)
        with pytest.raises(ValueError, match="must be between 2 and 6"):
            torch.nn.functional.max_unpool2d(torch.zeros(1, 1, 2, 2), torch.from_numpy(i.numpy()), 2,
                                             output_size=size)
    with pytest.raises(ValueError, match=r"max_unpool2d: output_size must hold 2 or 4 sizes, got 1"):
        F.max_unpool2d(x, i, 2, output_size=(4,))
    with pytest.raises(ValueError, match=r"max_unpool1d: output_size must hold 1 or 3 sizes, got 2"):
        F.max_unpool1d(x[0], i[0], 2, output_size=(1, 4))
    with pytest.raises(TypeError, match="max_unpool2d: output_size must be a tuple of ints, not 4"):
        F.max_unpool2d(x, i, 2, output_size=4)
    with pytest.raises(ValueError, match="max_unpool2d: the output size must be non-negative, got -2"):
        F.max_unpool2d(x, i, 1, padding=2)  # (2 - 1) * 1 - 2 * 2 + 1
    # (PyTorch before 2.13 did not check the size: numel() overflowed on the negative one)
    error, message = (RuntimeError, "overflow") if torch_older_than("2.13") else (ValueError, "non-negative")
    with pytest.raises(error, match=message):
        torch.nn.functional.max_unpool2d(torch.zeros(1, 1, 2, 2), torch.from_numpy(i.numpy()), 1, padding=2)
    with pytest.raises(ValueError, match="MaxUnpool2d: kernel_size must be at least 1"):
        nn.MaxUnpool2d(0)


@pytest.mark.skipif("strict" not in backends.available_devices(), reason="needs array-api-strict")
def test_max_unpool_names_both_devices_when_they_differ():
    x = ag.zeros((1, 1, 2, 2), device="cpu")
    i = ag.zeros((1, 1, 2, 2), dtype=ag.int64, device="strict")
    with pytest.raises(ValueError, match="max_unpool2d: indices are on strict but the input is on cpu"):
        F.max_unpool2d(x, i, 2)


def test_max_unpool_reads_the_indices_range_in_one_wait(monkeypatch):
    """The range check reads the least and greatest index through Backend.read_ints (one
    wait on a GPU, as its docstring says), not an int() of each (two)."""
    import backends
    on = type(backends.get_default())  # (the CUDA backend has a read_ints of its own)
    reads = []
    read_ints = on.read_ints
    monkeypatch.setattr(on, "read_ints", lambda self, *scalars: reads.append(len(scalars))
                        or read_ints(self, *scalars))
    x, i = ag.ones((1, 1, 2, 2)), ag.tensor(np.array([[[[0, 3], [8, 15]]]]))
    assert F.max_unpool2d(x, i, 2).numpy().reshape(-1)[[0, 3, 8, 15]].tolist() == [1.0] * 4
    assert reads == [2]
    with pytest.raises(ValueError, match=r"max_unpool2d: index 115 is out of range"):
        F.max_unpool2d(x, i + 100, 2)
