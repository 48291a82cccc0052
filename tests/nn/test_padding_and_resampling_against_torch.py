"""F.pad (four modes, negative padding), F.interpolate (nearest, nearest-exact, linear,
bilinear, bicubic, trilinear, area, antialias), F.pixel_shuffle / F.pixel_unshuffle,
F.unfold / F.fold and their layers (padding layers, Upsample*, PixelShuffle,
PixelUnshuffle, Unfold, Fold, Unflatten) against PyTorch: values and input gradients in
float64 (tight) and float32, over sizes, scales given or sizes given, up- and
downsampling, align_corners, 1-D, 2-D and 3-D, both ways of resizing an axis (a
matrix, gathers); inf and NaN inputs; ag.gradcheck and
ag.gradgradcheck on tiny cases; and the errors for bad arguments, each of which PyTorch
refuses too."""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

from .torch_compare import named_rng

TOLERANCES = {"float64": (1e-11, 1e-12), "float32": (2e-5, 2e-6)}


def _compare(torch, ours, theirs, x, dtype, name):
    """Forward and input gradient (for a random output gradient) of ``ours`` on a
    topograd tensor and ``theirs`` on a torch tensor made from ``x``, in ``dtype``."""
    rtol, atol = TOLERANCES[dtype]
    x = np.asarray(x, dtype=dtype)
    xo, xt = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = ours(xo), theirs(xt)
    assert out.shape == tuple(ref.shape), name
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=rtol, atol=atol, err_msg=name)
    g = named_rng(name + "grad").standard_normal(tuple(ref.shape)).astype(dtype)
    out.backward(ag.tensor(g))
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=rtol, atol=atol * 10, err_msg=name)


# (input shape, pad, mode, value)
PAD_CASES = [
    ((2, 3, 5), (1, 2), "constant", 1.5),
    ((2, 3, 4, 5), (1, -2, 0, 3), "constant", None),
    ((2, 3, 4, 5), (-1, -1, 2, -3, 1, 0, 1, 1), "constant", -2.0),
    ((3, 5), (2, 0), "constant", None),
    ((2, 3, 5), (2, 4), "reflect", None),
    ((3, 5), (4, 1), "reflect", None),
    ((2, 3, 5), (2, -1), "reflect", None),
    ((2, 3, 4, 5), (1, 2, 3, 1), "reflect", None),
    ((3, 4, 5), (4, 4, 3, 3), "reflect", None),
    ((1, 2, 3, 4, 5), (1, 2, 2, 1, 2, 2), "reflect", None),
    ((2, 3, 4, 5), (1, 0, 2, 1, 0, 2), "reflect", None),
    ((2, 3, 5), (3, 2), "replicate", None),
    ((2, 3, 5), (-1, 2), "replicate", None),
    ((2, 3, 4, 5), (0, 3, 2, -1), "replicate", None),
    ((1, 2, 3, 4, 5), (2, 1, 1, 2, 3, 0), "replicate", None),
    ((2, 3, 5), (5, 5), "circular", None),
    ((2, 3, 5), (-1, 2), "circular", None),
    ((2, 3, 5), (2, -1), "circular", None),
    ((2, 3, 4, 5), (2, 1, 3, 4), "circular", None),
    ((2, 2, 3, 4, 5), (1, 2, 2, 1, 3, 1), "circular", None),
    ((0, 3, 4), (1, 1), "reflect", None),  # an empty batch
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", PAD_CASES, ids=lambda c: f"{c[2]}-{len(c[0])}d-{c[1]}")
def test_pad_matches_torch(device, torch, case, dtype):
    shape, pad, mode, value = case
    x = named_rng(str(case)).standard_normal(shape)
    _compare(torch, lambda t: F.pad(t, pad, mode, value), lambda t: torch.nn.functional.pad(t, pad, mode, value),
             x, dtype, str(case))


# (input shape, mode, keyword arguments)
INTERPOLATE_CASES = [
    ((2, 3, 7), "nearest", dict(scale_factor=2)),
    ((2, 3, 7), "nearest", dict(scale_factor=1.7)),
    ((2, 3, 9), "nearest", dict(size=4)),
    ((2, 3, 5, 6), "nearest", dict(scale_factor=(0.5, 2.3))),
    ((2, 3, 5, 6), "nearest", dict(size=(7, 3))),
    ((1, 2, 3, 4, 5), "nearest", dict(scale_factor=(2, 1.5, 0.7))),
    ((2, 3, 7), "nearest-exact", dict(scale_factor=1.7)),
    ((2, 3, 5, 6), "nearest-exact", dict(size=(9, 4))),
    ((1, 2, 3, 4, 5), "nearest-exact", dict(size=(5, 3, 8))),
    ((2, 3, 7), "linear", dict(scale_factor=2)),
    ((2, 3, 7), "linear", dict(size=12, align_corners=True)),
    ((2, 3, 9), "linear", dict(scale_factor=0.4)),
    ((2, 3, 9), "linear", dict(scale_factor=1.01)),  # the size stays 9: PyTorch copies
    ((2, 3, 5, 6), "bilinear", dict(scale_factor=2)),
    ((2, 3, 5, 6), "bilinear", dict(scale_factor=(2.5, 0.6), align_corners=True)),
    ((2, 3, 5, 6), "bilinear", dict(size=(8, 3))),
    ((2, 3, 5, 6), "bilinear", dict(scale_factor=1.3, recompute_scale_factor=True)),
    ((2, 3, 8, 8), "bilinear", dict(size=(1, 1), align_corners=True)),
    ((1, 2, 3, 4, 5), "trilinear", dict(scale_factor=2)),
    ((1, 2, 3, 4, 5), "trilinear", dict(size=(5, 2, 7), align_corners=True)),
    ((1, 2, 4, 4, 6), "trilinear", dict(scale_factor=(0.5, 1.5, 0.75))),
    ((2, 3, 5, 6), "bicubic", dict(scale_factor=2)),
    ((2, 3, 5, 6), "bicubic", dict(size=(9, 4), align_corners=True)),
    ((2, 3, 7, 6), "bicubic", dict(scale_factor=0.6)),
    ((2, 3, 9, 10), "bilinear", dict(scale_factor=0.4, antialias=True)),
    ((2, 3, 9, 10), "bicubic", dict(size=(4, 13), antialias=True)),
    ((2, 3, 9, 10), "bilinear", dict(size=(3, 5), antialias=True, align_corners=True)),
    ((1, 2, 100), "linear", dict(size=150)),  # a long axis: gathers, not a matrix
    ((1, 2, 3, 120), "bicubic", dict(scale_factor=(1, 1.25), align_corners=True)),
    ((2, 3, 7), "area", dict(size=3)),
    ((2, 3, 6, 7), "area", dict(scale_factor=0.5)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", INTERPOLATE_CASES, ids=lambda c: f"{c[1]}-{len(c[0]) - 2}d-{c[2]}")
def test_interpolate_matches_torch(device, torch, case, dtype):
    shape, mode, kwargs = case
    x = named_rng(str(case)).standard_normal(shape)
    _compare(torch, lambda t: F.interpolate(t, mode=mode, **kwargs),
             lambda t: torch.nn.functional.interpolate(t, mode=mode, **kwargs), x, dtype, str(case))


def test_nearest_source_indices_match_torch_over_many_sizes(device, torch):
    """The floor of 'nearest' and 'nearest-exact', in float32 and float64, from a size or
    a scale factor: the index read off positions 0..n-1 must be PyTorch's exactly."""
    rng = named_rng("nearest indices")
    for dtype in ("float32", "float64"):
        for _ in range(40):
            n = int(rng.integers(1, 40))
            mode = ("nearest", "nearest-exact")[int(rng.integers(0, 2))]
            kwargs = (dict(size=int(rng.integers(1, 60))) if rng.integers(0, 2) else
                      dict(scale_factor=float(rng.choice([1 / 3, 0.7, 1.1, 4 / 3, 7 / 3, 2.9]))))
            if "scale_factor" in kwargs and int(n * kwargs["scale_factor"]) < 1:
                continue
            x = np.arange(n, dtype=dtype).reshape(1, 1, n)
            ours = F.interpolate(ag.tensor(x), mode=mode, **kwargs).numpy()
            theirs = torch.nn.functional.interpolate(torch.tensor(x), mode=mode, **kwargs).numpy()
            np.testing.assert_array_equal(ours, theirs, err_msg=f"{n} {mode} {kwargs} {dtype}")


@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply:RuntimeWarning")  # 0 * inf, as PyTorch
@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic"])
def test_interpolate_keeps_inf_and_nan_where_torch_does(device, torch, mode):
    """An inf or NaN reaches only the outputs that read it (the interpolation matrix
    would spread it along whole rows)."""
    x = named_rng(mode).standard_normal((1, 2, 5, 6))
    x[0, 0, 1, 2], x[0, 1, 3, 4] = np.inf, np.nan
    ours = F.interpolate(ag.tensor(x), scale_factor=2, mode=mode).numpy()
    theirs = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=2, mode=mode).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    assert np.isfinite(ours).sum() > ours.size // 2


@pytest.mark.parametrize("upscale", [1, 2, 3])
def test_pixel_shuffle_and_unshuffle_match_torch(device, torch, upscale):
    x = named_rng(f"shuffle {upscale}").standard_normal((2, 1, 2 * upscale ** 2, 3, 4))  # two leading axes
    _compare(torch, lambda t: F.pixel_shuffle(t, upscale),
             lambda t: torch.nn.functional.pixel_shuffle(t, upscale), x, "float64", "shuffle")
    y = named_rng(f"unshuffle {upscale}").standard_normal((2, 3 * upscale, 2 * upscale))
    _compare(torch, lambda t: F.pixel_unshuffle(t, upscale),
             lambda t: torch.nn.functional.pixel_unshuffle(t, upscale), y, "float64", "unshuffle")
    layer, ref = nn.PixelShuffle(upscale), torch.nn.PixelShuffle(upscale)
    _compare(torch, layer, ref, x, "float32", "PixelShuffle")
    assert repr(layer) == repr(ref) and repr(nn.PixelUnshuffle(upscale)) == repr(torch.nn.PixelUnshuffle(upscale))


# (input shape, kernel_size, dilation, padding, stride)
FOLD_CASES = [
    ((2, 3, 6, 7), 3, 1, 1, 1),
    ((2, 3, 6, 7), (2, 3), (2, 1), (0, 2), (2, 1)),
    ((3, 5, 5), 2, 1, 0, 2),
    ((1, 2, 7, 5), (3, 1), 1, (1, 0), (3, 2)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", FOLD_CASES, ids=str)
def test_unfold_and_fold_match_torch(device, torch, case, dtype):
    shape, kernel, dilation, padding, stride = case
    rng = named_rng(str(case))
    args = (kernel, dilation, padding, stride)
    _compare(torch, lambda t: F.unfold(t, *args), lambda t: torch.nn.functional.unfold(t, *args),
             rng.standard_normal(shape), dtype, "unfold")
    columns = torch.nn.functional.unfold(torch.zeros(shape), *args).shape
    _compare(torch, lambda t: F.fold(t, shape[-2:], *args),
             lambda t: torch.nn.functional.fold(t, shape[-2:], *args), rng.standard_normal(columns), dtype, "fold")
    layer, ref = nn.Fold(shape[-2:], *args), torch.nn.Fold(shape[-2:], *args)
    _compare(torch, layer, ref, rng.standard_normal(columns), dtype, "Fold")
    assert repr(layer) == repr(ref) and repr(nn.Unfold(*args)) == repr(torch.nn.Unfold(*args))


def test_gradcheck_and_gradgradcheck(device):
    rng = named_rng("gradcheck")
    x3, x4 = rng.standard_normal((1, 2, 4)), rng.standard_normal((1, 2, 3, 4))
    x5 = rng.standard_normal((1, 1, 2, 3, 3))
    cases = [
        (lambda t: F.pad(t, (2, -1), "reflect"), x3),
        (lambda t: F.pad(t, (1, 2, 2, 0), "replicate"), x4),
        (lambda t: F.pad(t, (1, 2, -1, 1), "circular"), x4),
        (lambda t: F.pad(t, (1, 0, 1, 1, 1, 0), "constant", 3.0), x5),
        (lambda t: F.pad(t, (1, 1, 1, 1, 1, 1), "reflect"), x5),
        (lambda t: F.interpolate(t, scale_factor=1.5, mode="linear"), x3),
        (lambda t: F.interpolate(t, size=(5, 3), mode="bilinear", align_corners=True), x4),
        (lambda t: F.interpolate(t, scale_factor=2, mode="bicubic"), x4),
        (lambda t: F.interpolate(t, size=(2, 2), mode="bilinear", antialias=True), x4),
        (lambda t: F.interpolate(t, scale_factor=(1.5, 1, 0.7), mode="trilinear"), x5),
        (lambda t: F.interpolate(t, scale_factor=1.7, mode="nearest"), x4),
        (lambda t: F.interpolate(t, size=(2, 3), mode="bilinear"), x4),  # shrinking: gathers both ways
        (lambda t: F.interpolate(t, size=(2, 7), mode="nearest-exact"), x4),
        (lambda t: F.unfold(t, 2, padding=1, stride=(1, 2)), x4),
        (lambda t: F.fold(t, (3, 4), 2), rng.standard_normal((1, 8, 6))),
        (lambda t: F.pixel_shuffle(t, 2), rng.standard_normal((1, 4, 2, 3))),
        (lambda t: F.pixel_unshuffle(t, 2), x4[:, :, :2]),
    ]
    for fn, x in cases:
        t = ag.tensor(x, dtype=ag.float64, requires_grad=True)
        assert ag.gradcheck(fn, (t,))
        assert ag.gradgradcheck(fn, (t,))


LAYERS = [
    ("ZeroPad1d", (2,), (2, 3, 4)), ("ZeroPad2d", ((1, 0, 2, -1),), (2, 3, 4)), ("ZeroPad3d", (1,), (1, 2, 3, 4)),
    ("ConstantPad1d", ((1, 3), 2.5), (3, 4)), ("ConstantPad2d", (2, -1.0), (1, 2, 3, 4)),
    ("ConstantPad3d", ((1, 0, 0, 1, 2, 0), 0.5), (2, 2, 3, 4)),
    ("ReflectionPad1d", ((3, 1),), (2, 3, 4)), ("ReflectionPad2d", (2,), (2, 3, 4)),
    ("ReflectionPad3d", ((1, 0, 2, 1, 0, 1),), (1, 2, 3, 4, 3)),
    ("ReplicationPad1d", (3,), (3, 4)), ("ReplicationPad2d", ((0, 2, 3, 1),), (1, 2, 3, 4)),
    ("ReplicationPad3d", (1,), (2, 3, 4, 2)),
    ("CircularPad1d", ((4, 2),), (2, 3, 4)), ("CircularPad2d", (1,), (1, 2, 3, 4)),
    ("CircularPad3d", ((1, 2, 0, 3, 2, 1),), (1, 2, 3, 4, 3)),
    ("Upsample", (None, 2.0, "bilinear"), (1, 2, 3, 4)), ("Upsample", ((4, 5, 2), None, "trilinear", True),
                                                             (1, 2, 3, 4, 3)),
    ("Upsample", (None, (1.5, 0.5), "nearest-exact"), (1, 2, 3, 4)), ("Upsample", (7,), (1, 2, 4)),
    ("UpsamplingNearest2d", (None, 3), (1, 2, 3, 4)), ("UpsamplingBilinear2d", ((5, 7),), (1, 2, 3, 4)),
    ("Unflatten", (1, (2, 3)), (2, 6, 4)), ("Unflatten", (-1, [2, -1]), (3, 8)),
    ("Unfold", (2, 1, 1, 2), (1, 2, 4, 5)), ("PixelUnshuffle", (2,), (3, 2, 4)),
]


@pytest.mark.parametrize("name, args, shape", LAYERS, ids=lambda v: v if isinstance(v, str) else "")
def test_layers_match_torch(device, torch, name, args, shape):
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    x = named_rng(name + str(args)).standard_normal(shape)
    _compare(torch, ours, theirs, x, "float64", name)


def test_conv_padding_modes_run_through_pad(device, torch):
    """The convolutions' padding modes are F.pad's (nn/layers/conv.py reads them there)."""
    for mode in ("reflect", "replicate", "circular"):
        ours = nn.Conv2d(2, 3, 3, padding=(2, 1), padding_mode=mode, dtype=ag.float64)
        theirs = torch.nn.Conv2d(2, 3, 3, padding=(2, 1), padding_mode=mode).double()
        theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
        _compare(torch, ours, theirs, named_rng(mode).standard_normal((2, 2, 4, 5)), "float64", mode)


def _x(*shape):
    return ag.tensor(np.zeros(shape))


# (call taking (F, tensor maker), its error type, a piece of our message); PyTorch must
# refuse the same call too (any error), so that the conditions are PyTorch's
ERRORS = [
    (lambda f, t: f.pad(t(2, 3, 5), (1, 2, 3)), ValueError, "divisible by 2"),
    (lambda f, t: f.pad(t(2, 3), (1, 1, 1, 1, 1, 1)), ValueError, "at most twice"),
    (lambda f, t: f.pad(t(2, 3, 5), (1.5, 1)), TypeError, "tuple of ints"),
    (lambda f, t: f.pad(t(2, 3, 5), (1, 1), "foo"), ValueError, "unrecognised padding mode"),
    (lambda f, t: f.pad(t(2, 3, 5), (1, 1), "reflect", 1.0), ValueError, "doesn't take in value"),
    (lambda f, t: f.pad(t(2, 3, 5), (5, 0), "reflect"), ValueError, "smaller than the axis"),
    (lambda f, t: f.pad(t(2, 3, 5), (0, 0, 3, 0), "reflect"), ValueError, "smaller than the axis"),
    (lambda f, t: f.pad(t(5), (1, 1), "reflect"), ValueError, "not supported for a 1-D input"),
    (lambda f, t: f.pad(t(2, 3, 5), (1, 1, 1, 1, 1, 1), "replicate"), ValueError, "not supported for a 3-D"),
    (lambda f, t: f.pad(t(2, 3, 5), (6, 0), "circular"), ValueError, "wrap around more than once"),
    (lambda f, t: f.pad(t(2, 3, 5), (-3, -3)), ValueError, "crop less"),
    (lambda f, t: f.pad(t(2, 3, 5), (-3, -2), "replicate"), ValueError, "crop less"),
    (lambda f, t: f.pad(t(2, 0, 5), (1, 1), "reflect"), ValueError, "non-zero"),
    (lambda f, t: f.interpolate(t(1, 2, 4), size=3, scale_factor=2), ValueError, "only one of size"),
    (lambda f, t: f.interpolate(t(1, 2, 4)), ValueError, "either size or scale_factor"),
    (lambda f, t: f.interpolate(t(1, 2, 4), size=(3, 3)), ValueError, "same number of spatial"),
    (lambda f, t: f.interpolate(t(1, 2, 4, 4), scale_factor=(2, 2, 2)), ValueError, "same number of spatial"),
    (lambda f, t: f.interpolate(t(1, 2, 4), size=3.5), TypeError, "expected size"),
    (lambda f, t: f.interpolate(t(1, 2, 4), size=3, mode="bilinear"), ValueError, "needs a 4-D input"),
    (lambda f, t: f.interpolate(t(1, 2, 4, 4), size=3, mode="linear"), ValueError, "needs a 3-D input"),
    (lambda f, t: f.interpolate(t(1, 2, 4, 4, 4), size=3, mode="bicubic"), ValueError, "needs a 4-D input"),
    (lambda f, t: f.interpolate(t(1, 2, 4, 4), size=3, mode="trilinear"), ValueError, "needs a 5-D input"),
    (lambda f, t: f.interpolate(t(4, 4), size=3), ValueError, "3-D, 4-D and 5-D"),
    (lambda f, t: f.interpolate(t(1, 2, 4), size=3, mode="nearest", align_corners=True), ValueError,
     "align_corners option"),
    (lambda f, t: f.interpolate(t(1, 2, 4), size=3, recompute_scale_factor=True), ValueError,
     "recompute_scale_factor is not meaningful"),
    (lambda f, t: f.interpolate(t(1, 2, 4), size=3, mode="linear", antialias=True), ValueError, "nti-alias"),
    (lambda f, t: f.interpolate(t(1, 2, 4), scale_factor=0.2), ValueError, "greater than 0"),
    (lambda f, t: f.interpolate(t(1, 2, 4), mode="cubic", size=3), ValueError, "unknown mode"),
    (lambda f, t: f.pixel_shuffle(t(2, 3), 2), ValueError, "at least 3 dimensions"),
    (lambda f, t: f.pixel_shuffle(t(1, 6, 2, 2), 2), ValueError, "divisible by the square"),
    (lambda f, t: f.pixel_shuffle(t(1, 4, 2, 2), 0), ValueError, "positive upscale_factor"),
    (lambda f, t: f.pixel_unshuffle(t(1, 1, 5, 4), 2), ValueError, "height to be divisible"),
    (lambda f, t: f.unfold(t(1, 2, 3, 3), 4), ValueError, "at least one"),
    (lambda f, t: f.unfold(t(2, 3), 1), ValueError, "4-D"),
    (lambda f, t: f.fold(t(1, 7, 4), (3, 3), 2), ValueError, "divisible by the product"),
    (lambda f, t: f.fold(t(1, 8, 5), (3, 3), 2), ValueError, "number of sliding blocks"),
]


@pytest.mark.parametrize("call, error, message", ERRORS, ids=lambda v: v if isinstance(v, str) else "")
def test_errors(device, torch, call, error, message):
    with pytest.raises(error, match=message):
        call(F, _x)
    with pytest.raises(Exception):
        call(torch.nn.functional, lambda *shape: torch.zeros(shape, dtype=torch.float64))


def test_layer_argument_errors(torch):
    with pytest.raises(TypeError, match="tuple of ints"):
        nn.Unflatten(1, (2, 3.0))
    with pytest.raises(TypeError, match="tuple of ints"):
        torch.nn.Unflatten(1, (2, 3.0))
    with pytest.raises(ValueError, match="don't multiply up"):
        nn.Unflatten(1, (2, 4))(_x(2, 6))
    with pytest.raises(ValueError, match="expected 3D or 4D input"):
        nn.CircularPad2d(1)(_x(2, 3))
    with pytest.raises(ValueError, match="expected 3D or 4D input"):
        torch.nn.CircularPad2d(1)(torch.zeros(2, 3))
    with pytest.raises(TypeError, match="padding must be"):
        nn.ReflectionPad2d(1.5)


@pytest.mark.parametrize("dtype, value", [("int64", float("inf")), ("int64", float("nan")), ("uint8", -1),
                                          ("uint8", 256), ("int32", 2 ** 40), ("int8", -128.5)])
def test_constant_pad_refuses_a_value_an_integer_dtype_cannot_hold_as_torch(device, torch, dtype, value):
    """NumPy filled inf and nan as the most negative integer; PyTorch refuses both, and
    out-of-range values (-1 is not wrapped into uint8 here, unlike fill_)."""
    x = ag.zeros(2, dtype=dtype)
    with pytest.raises(RuntimeError):
        torch.nn.functional.pad(torch.zeros(2, dtype=getattr(torch, dtype)), (1, 1), value=value)
    with pytest.raises(ValueError, match=f"pad: value {value!r} does not fit in {dtype}"):
        F.pad(x, (1, 1), value=value)
    np.testing.assert_array_equal(x.numpy(), [0, 0])


@pytest.mark.parametrize("dtype, value, expected", [("uint8", 255, 255), ("int64", 1.5, 1), ("int8", -128, -128)])
def test_constant_pad_of_integers_in_range_matches_torch(device, torch, dtype, value, expected):
    got = F.pad(ag.zeros(2, dtype=dtype), (1, 1), value=value)
    want = torch.nn.functional.pad(torch.zeros(2, dtype=getattr(torch, dtype)), (1, 1), value=value)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert got.numpy()[0] == expected and got.dtype == dtype


# --- bug: interpolate by a scale_factor that keeps or doubles a size -------------------------
# interpolate given a scale_factor whose output keeps an axis's size (or, for 2-D 'nearest',
# doubles it) resized that axis by the scale where PyTorch's kernels go by the sizes (the
# antialiased modes and 2-D 'nearest' copy the axis; 2-D 'nearest' halves the index where the size
# doubles), and copied the axis where PyTorch's 'bicubic' applies the scale. PyTorch's own backward
# disagrees with its forward in some of these cases (its 1-D and 3-D 'nearest', antialiased and
# bicubic backward use the other rule), so the gradients here are checked against the transpose of
# PyTorch's forward.

# (input shape, mode, keyword arguments): each resizes an axis to its own size or twice it
KEPT_OR_DOUBLED = [
    ((1, 2, 5, 4), "nearest", dict(scale_factor=(1.1, 1.0))),          # 2-D: PyTorch copies
    ((1, 2, 3, 4), "nearest", dict(scale_factor=(1.3, 1.7))),
    ((1, 2, 5, 4), "nearest", dict(scale_factor=(2.1, 0.5))),          # 2-D: the index halved
    ((1, 2, 5), "nearest", dict(scale_factor=1.1)),                    # 1-D and 3-D apply the scale
    ((1, 2, 5), "nearest", dict(scale_factor=2.1)),
    ((1, 1, 5, 3, 4), "nearest", dict(scale_factor=(1.1, 2.2, 1.0))),
    ((1, 2, 3, 4), "nearest-exact", dict(scale_factor=(1.3, 1.0))),    # applies the scale
    ((1, 2, 3, 3), "bicubic", dict(scale_factor=1.2)),                 # applies the scale
    ((1, 2, 5, 4), "bicubic", dict(scale_factor=(1.1, 1.7))),
    ((1, 2, 3, 4), "bilinear", dict(scale_factor=(1.2, 0.5), antialias=True)),  # copies
    ((1, 2, 5, 4), "bicubic", dict(scale_factor=(1.7, 1.1), antialias=True)),
    ((1, 2, 3, 3), "bicubic", dict(scale_factor=1.2, antialias=True)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", KEPT_OR_DOUBLED, ids=lambda c: f"{c[1]}-{len(c[0]) - 2}d-{c[2]}")
def test_interpolate_by_a_scale_that_keeps_or_doubles_a_size_matches_torch(device, torch, case, dtype):
    shape, mode, kwargs = case
    x = named_rng(str(case)).standard_normal(shape).astype(dtype)

    def theirs(array):
        return torch.nn.functional.interpolate(torch.tensor(array), mode=mode, **kwargs).numpy()

    xo = ag.tensor(x, requires_grad=True)
    out = F.interpolate(xo, mode=mode, **kwargs)
    ref = theirs(x)
    assert out.shape == ref.shape
    tol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(out.numpy(), ref, rtol=tol, atol=tol)
    # the resize is linear: the gradient is the transpose of PyTorch's forward, column by column
    basis = np.eye(x.size, dtype=dtype)
    jacobian = np.stack([theirs(column.reshape(shape)).ravel() for column in basis], axis=1)
    g = named_rng(str(case) + "grad").standard_normal(ref.shape).astype(dtype)
    out.backward(ag.tensor(g))
    np.testing.assert_allclose(xo.grad.numpy().ravel(), jacobian.T @ g.ravel(), rtol=tol, atol=tol)


def test_2d_nearest_gradient_when_a_scale_keeps_the_size_matches_torchs_backward(device, torch):
    """Where PyTorch's forward and backward agree, the gradients are equal too."""
    x = named_rng("nearest 2-D kept").standard_normal((1, 2, 5, 3))
    xo, xt = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    kwargs = dict(scale_factor=(1.1, 2.2), mode="nearest")
    g = named_rng("nearest 2-D kept grad").standard_normal((1, 2, 5, 6))
    F.interpolate(xo, **kwargs).backward(ag.tensor(g))
    torch.nn.functional.interpolate(xt, **kwargs).backward(torch.tensor(g))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


# --- Unflatten with no sizes ---------------------------------------------------------------------

def test_unflatten_refuses_empty_sizes(torch):
    """Unflatten(1, ()) dropped an axis of length 1 (and took any 0-d input); PyTorch refuses
    empty sizes whatever the input."""
    with pytest.raises(RuntimeError, match="sizes must be non-empty"):
        torch.nn.Unflatten(1, ())(torch.zeros(2, 1))
    for sizes in ((), []):
        with pytest.raises(ValueError, match="^Unflatten: unflattened_size must be non-empty"):
            nn.Unflatten(1, sizes)


# --- Upsample 'nearest' at a fractional scale: the gradient is the forward's -------------------

@pytest.mark.parametrize("scale_factor, length", [(2.225, 4), (1.116, 4), ((2.7, 2.148), (3, 2))])
def test_nearest_upsample_gradient_is_the_transposed_selection(torch, scale_factor, length):
    """Found while fuzzing, and kept on purpose: at some fractional scale factors PyTorch's
    nearest backward sends gradients to other pixels than its forward read (its own
    gradcheck fails). topograd's gradient is the forward's Jacobian transposed, built here
    from PyTorch's forward (which topograd matches) applied to each one-hot input."""
    spatial = (length,) if isinstance(length, int) else length
    shape = (1, 1) + spatial
    up = nn.Upsample(scale_factor=scale_factor)
    x = named_rng(f"nearest {scale_factor}").standard_normal(shape)
    ours = ag.tensor(x, dtype=ag.float64, requires_grad=True)
    out = up(ours)
    columns = [torch.nn.functional.interpolate(torch.from_numpy(np.eye(x.size)[i].reshape(shape)),
                                               scale_factor=scale_factor).numpy().ravel() for i in range(x.size)]
    jacobian = np.stack(columns, axis=1)
    np.testing.assert_array_equal(out.numpy().ravel(), jacobian @ x.ravel())
    g = named_rng(f"nearest g {scale_factor}").standard_normal(out.shape)
    out.backward(ag.tensor(g, dtype=ag.float64))
    np.testing.assert_allclose(ours.grad.numpy().ravel(), jacobian.T @ g.ravel(), rtol=1e-12, atol=1e-15)


# --- F.pad's fill value ----------------------------------------------------------------------------
# A NumPy scalar argument (np.float32(0.2), np.int64(0): a config read with NumPy, a value from
# np.linspace) is made a Python number where it is checked: the Array API (the 'strict' device)
# combines arrays with Python numbers only.

@pytest.mark.parametrize("value", [np.float32(2.5), np.int64(3)])
def test_constant_pad_takes_a_numpy_value(device, value):
    """A fill value for a float tensor reached the backend's full() as given."""
    values = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    x = ag.tensor(values, requires_grad=True)
    y = F.pad(x, (1, 2), value=value)
    assert y.dtype == x.dtype
    np.testing.assert_array_equal(y.numpy(), np.pad(values, ((0, 0), (1, 2)), constant_values=value))
    padding = nn.ConstantPad1d(1, value)(x)
    np.testing.assert_array_equal(padding.numpy(), np.pad(values, ((0, 0), (1, 1)), constant_values=value))
    (y * ag.tensor(np.arange(12.0, dtype=np.float32).reshape(2, 6))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(12.0).reshape(2, 6)[:, 1:4])
