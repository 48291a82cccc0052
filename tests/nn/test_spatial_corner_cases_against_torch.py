"""Corner cases of the spatial ops (pooling, convolution, resampling) that a differential
hunt against PyTorch turned up, in float64: each test names the input that went wrong
and what topograd gave before its fix."""
import numpy as np
import pytest

import autograd as ag
import nn.functional as F

from .torch_compare import assert_close_to_torch, float64_leaves, named_rng


# --- 2-D and 3-D arguments given as a sequence of one int --------------------------------------

@pytest.mark.parametrize("op, shape, kwargs", [
    ("conv2d", (1, 2, 7, 6), {"stride": [2]}), ("conv2d", (1, 2, 7, 6), {"padding": (1,), "dilation": [2]}),
    ("conv3d", (1, 2, 5, 6, 5), {"stride": (2,), "padding": [1]}),
    ("max_pool2d", (1, 2, 7, 6), {"kernel_size": (2,)}), ("avg_pool2d", (1, 2, 7, 6), {"kernel_size": [3], "stride": (1,)}),
    ("max_pool3d", (1, 2, 5, 6, 5), {"kernel_size": [2], "stride": (1,)})], ids=str)
def test_a_sequence_of_one_int_stands_for_every_axis_as_pytorch(device, torch, op, shape, kwargs):
    """F.conv2d(x, w, stride=[2]) and F.max_pool2d(x, kernel_size=(2,)) were refused (TypeError):
    PyTorch's functional forms take the one value for every axis."""
    x = named_rng(f"one int {op}").standard_normal(shape)
    ours, theirs = float64_leaves(torch, x)
    if op.startswith("conv"):
        w = named_rng("weight").standard_normal((3, 2) + (3,) * (len(shape) - 2))
        y = getattr(F, op)(ours, ag.tensor(w, dtype=ag.float64), **kwargs)
        reference = getattr(torch.nn.functional, op)(theirs, torch.tensor(w), **kwargs)
    else:
        y, reference = getattr(F, op)(ours, **kwargs), getattr(torch.nn.functional, op)(theirs, **kwargs)
    assert_close_to_torch(y, reference)
    g = named_rng("gradient").standard_normal(tuple(reference.shape))
    y.backward(ag.tensor(g, dtype=ag.float64))
    reference.backward(torch.tensor(g))
    assert_close_to_torch(ours.grad, theirs.grad)


# --- 1-D pools: the stride as a NumPy integer or an empty sequence ------------------------------

@pytest.mark.parametrize("stride", [np.int64(2), np.int32(1), [], ()], ids=["int64", "int32", "list", "tuple"])
@pytest.mark.parametrize("pool", ["max_pool1d", "avg_pool1d", "lp_pool1d"])
def test_1d_pools_take_a_numpy_integer_or_empty_stride_as_pytorch(device, torch, pool, stride):
    """max_pool1d(x, 3, stride=np.int64(2)) raised "The truth value of an empty array is
    ambiguous" (the stride was compared with ()), and stride=[] was refused: PyTorch takes a
    NumPy integer as the int, and an empty sequence as the kernel size."""
    x = named_rng(f"1d pool stride {pool}").standard_normal((2, 3, 9))
    ours, theirs = float64_leaves(torch, x)
    args = (2.0, 3) if pool == "lp_pool1d" else (3,)
    y, reference = getattr(F, pool)(ours, *args, stride=stride), getattr(torch.nn.functional, pool)(
        theirs, *args, stride=stride)
    assert_close_to_torch(y, reference)
    g = named_rng("gradient").standard_normal(tuple(reference.shape))
    y.backward(ag.tensor(g, dtype=ag.float64))
    reference.backward(torch.tensor(g))
    assert_close_to_torch(ours.grad, theirs.grad)


# --- adaptive average pools: each bin's sum divided as PyTorch divides it -------------------------

ADAPTIVE_AVERAGES = [  # (pool, input shape, output_size): uneven bins, even ones, and an axis kept
    ("adaptive_avg_pool1d", (4, 3, 13), 3),
    ("adaptive_avg_pool2d", (4, 3, 13, 10), (4, 3)),
    ("adaptive_avg_pool2d", (4, 3, 15, 12), (5, 4)),        # even bins of 3 x 3
    ("adaptive_avg_pool2d", (3, 7, 9), (None, 4)),
    ("adaptive_avg_pool3d", (2, 3, 10, 7, 5), (4, 3, 2)),
    ("adaptive_avg_pool3d", (2, 3, 9, 6, 6), (3, 2, 3)),    # even bins
    ("adaptive_avg_pool3d", (2, 3, 6, 7, 5), (4, None, None)),
]


@pytest.mark.parametrize("pool, shape, output_size", ADAPTIVE_AVERAGES)
def test_adaptive_avg_pools_of_whole_numbers_are_pytorchs_bit_for_bit(device, torch, pool, shape, output_size):
    """The uneven bins were averaged an axis at a time by matrices of rounded 1/count
    weights (and the 3-D pool's even ones a pass at a time): over whole numbers, whose
    sums are exact, bins summing to 0 came out 1e-17 (adaptive_avg_pool3d of integers in
    [-1, 1], (2, 3, 10, 10, 10) to (4, 5, 2): 20 such bins of 240, and 114 values an ulp
    or two off). PyTorch divides each bin's exact sum by its depth, height and width in
    turn; so do these now, bit for bit."""
    x = named_rng(f"whole numbers {pool} {shape}").integers(-2, 3, shape).astype(np.float64)
    ours, theirs = float64_leaves(torch, x)
    y = getattr(F, pool)(ours, output_size)
    reference = getattr(torch.nn.functional, pool)(theirs, output_size)
    assert y.shape == tuple(reference.shape)
    np.testing.assert_array_equal(y.numpy(), reference.detach().numpy())
    g = named_rng("gradient").standard_normal(tuple(reference.shape))
    y.backward(ag.tensor(g, dtype=ag.float64))
    reference.backward(torch.tensor(g))
    assert_close_to_torch(ours.grad, theirs.grad, rtol=1e-12)


def test_interpolate_area_of_whole_numbers_is_pytorchs_bit_for_bit(device, torch):
    """mode='area' is the adaptive average pool, and was off the same way."""
    x = named_rng("area whole numbers").integers(-2, 3, (2, 3, 10, 10)).astype(np.float64)
    y = F.interpolate(ag.tensor(x, dtype=ag.float64), size=(3, 4), mode="area")
    np.testing.assert_array_equal(y.numpy(), torch.nn.functional.interpolate(torch.from_numpy(x), size=(3, 4),
                                                                             mode="area").numpy())


# --- interpolate: uint8 images and masks in the nearest modes -----------------------------------

@pytest.mark.parametrize("shape, kwargs", [
    ((2, 3, 9), dict(size=14, mode="nearest")),
    ((1, 3, 5, 7), dict(scale_factor=(2.0, 0.5), mode="nearest")),
    ((1, 1, 5, 7), dict(size=(13, 4), mode="nearest-exact")),
    ((1, 2, 3, 4, 5), dict(scale_factor=1.7, mode="nearest", recompute_scale_factor=True)),
    ((1, 2, 4, 4), dict(size=(4, 4), mode="nearest")),                   # the same size: a copy
])
def test_interpolate_resizes_uint8_in_the_nearest_modes_as_pytorch(device, torch, shape, kwargs):
    """A uint8 image or segmentation mask resized with mode='nearest' (a copy of pixels, so
    exact in any dtype) was refused ("input must be floating point"); PyTorch resizes it,
    keeping uint8."""
    x = named_rng(f"uint8 {shape} {kwargs}").integers(0, 256, shape).astype(np.uint8)
    y = F.interpolate(ag.tensor(x), **kwargs)
    reference = torch.nn.functional.interpolate(torch.from_numpy(x), **kwargs).numpy()
    assert y.dtype == ag.tensor(x).dtype
    np.testing.assert_array_equal(y.numpy(), reference)
    assert np.shares_memory(y.numpy(), x) is False


@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "area"])
def test_interpolate_names_the_modes_a_uint8_input_takes(device, mode):
    """PyTorch's uint8 bilinear and bicubic kernels round in a fixed point of their own;
    those modes still ask for a floating input, and say which modes take uint8."""
    with pytest.raises(TypeError, match=r"^interpolate: a uint8 input takes mode 'nearest' or 'nearest-exact', "
                                        rf"not '{mode}'; convert it with \.astype\(ag\.float32\)"):
        F.interpolate(ag.tensor(np.zeros((1, 1, 4, 4), dtype=np.uint8)), size=(2, 2), mode=mode)
