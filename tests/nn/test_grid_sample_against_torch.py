"""F.affine_grid and F.grid_sample against PyTorch 2.13: every mode, padding mode and
align_corners, in 2-D (bilinear, nearest, bicubic) and 3-D (trilinear, nearest), values
and the gradients of the image, the grid and theta in float64, grid points exactly on
pixel centres and image edges (where PyTorch's clipping and reflection gradients have
their own rules) and far outside, second derivatives, the warning for an unset
align_corners, and the errors."""
import numpy as np
import pytest

import autograd as ag
import nn.functional as F

from tests.torch_versions import needs_torch

from .torch_compare import named_rng


def leaves(torch, array):
    return ag.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)


def special_grid(rng, n, out, spread, dims=2):
    """Random points in [-spread, spread]^dims, with the corners, the centre and an edge pixel's centre among them."""
    grid = rng.uniform(-spread, spread, (n,) + out + (dims,))
    special = [[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0], [0.0, 0.0, 0.0], [1.0, -1.0, 1.0], [-0.6, 0.2, -0.5]]
    grid.reshape(n, -1, dims)[0, :5] = np.array(special)[:, :dims]
    return grid


def assert_matches_pytorch(torch, rng, shape, grid, mode, padding_mode, align_corners):
    """Values and the gradients of the image and the grid, against PyTorch's."""
    xo, xt = leaves(torch, rng.standard_normal(shape))
    go, gt = leaves(torch, grid)
    yo = F.grid_sample(xo, go, mode, padding_mode, align_corners)
    yt = torch.nn.functional.grid_sample(xt, gt, mode, padding_mode, align_corners)
    assert yo.shape == tuple(yt.shape)
    np.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    g = rng.standard_normal(tuple(yt.shape))
    yo.backward(ag.tensor(g))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(go.grad.numpy(), gt.grad.numpy(), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("shape", [(2, 3, 5, 6), (1, 2, 1, 4)])
def test_grid_sample_matches_pytorch_with_gradients(device, torch, shape, mode, padding_mode, align_corners):
    rng = named_rng(f"grid{shape}{mode}{padding_mode}{align_corners}")
    grid = special_grid(rng, shape[0], (4, 7), 2.5)
    assert_matches_pytorch(torch, rng, shape, grid, mode, padding_mode, align_corners)


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5, 6), (1, 2, 1, 3, 1)])
def test_grid_sample_3d_matches_pytorch_with_gradients(device, torch, shape, mode, padding_mode, align_corners):
    rng = named_rng(f"grid3d{shape}{mode}{padding_mode}{align_corners}")
    grid = special_grid(rng, shape[0], (3, 4, 2), 2.5, dims=3)
    assert_matches_pytorch(torch, rng, shape, grid, mode, padding_mode, align_corners)


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_bicubic_at_whole_pixels_and_far_outside(torch, padding_mode, align_corners):
    """Points on pixel centres and edges (t = 0, where a tap's weight is 1 and the
    taps move to the next pixel) and several pixels outside, where each tap is padded
    on its own: for 'zeros' every tap can fall outside."""
    rng = named_rng(f"bicubic-edges{padding_mode}{align_corners}")
    h, w = 4, 5
    ys, xs = (np.arange(-3, n + 3) for n in (h, w))  # whole pixel positions, inside and out
    if align_corners:
        gx, gy = xs * 2 / (w - 1) - 1, ys * 2 / (h - 1) - 1
    else:
        gx, gy = (2 * xs + 1) / w - 1, (2 * ys + 1) / h - 1
    grid = np.stack(np.broadcast_arrays(gx[None, :], gy[:, None]), axis=-1)[None]
    grid = np.concatenate([grid, grid + rng.uniform(-0.3, 0.3, grid.shape)], axis=1)
    assert_matches_pytorch(torch, rng, (1, 2, h, w), grid, "bicubic", padding_mode, align_corners)


@pytest.mark.filterwarnings("ignore:Since version 1.3.0, affine_grid behavior:UserWarning")  # PyTorch's, for 1 x 3
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_matches_pytorch_in_2d_and_3d_with_the_gradient_of_theta(device, torch, align_corners):
    rng = named_rng(f"affine{align_corners}")
    for theta, size in ((rng.standard_normal((2, 2, 3)), (2, 3, 4, 7)),
                        (rng.standard_normal((2, 2, 3)), (2, 1, 1, 3)),
                        (rng.standard_normal((2, 3, 4)), (2, 3, 4, 5, 2))):
        to, tt = leaves(torch, theta)
        yo = F.affine_grid(to, size, align_corners)
        yt = torch.nn.functional.affine_grid(tt, size, align_corners)
        assert yo.shape == tuple(yt.shape)
        np.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-15)
        g = rng.standard_normal(tuple(yt.shape))
        yo.backward(ag.tensor(g))
        yt.backward(torch.from_numpy(g))
        np.testing.assert_allclose(to.grad.numpy(), tt.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("align_corners", [False, True])
def test_the_identity_transform_reads_the_image_back(device, align_corners):
    image = named_rng("identity").standard_normal((2, 3, 5, 4))
    theta = ag.tensor(np.tile(np.eye(2, 3), (2, 1, 1)))
    grid = F.affine_grid(theta, (2, 3, 5, 4), align_corners)
    for mode in ("bilinear", "nearest", "bicubic"):
        y = F.grid_sample(ag.tensor(image), grid, mode, "zeros", align_corners)
        np.testing.assert_allclose(y.numpy(), image, rtol=1e-12, atol=1e-14)
    volume = named_rng("identity-3d").standard_normal((2, 3, 4, 2, 5))
    grid = F.affine_grid(ag.tensor(np.tile(np.eye(3, 4), (2, 1, 1))), volume.shape, align_corners)
    for mode in ("bilinear", "nearest"):
        y = F.grid_sample(ag.tensor(volume), grid, mode, "zeros", align_corners)
        np.testing.assert_allclose(y.numpy(), volume, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_a_warp_by_theta_matches_pytorch_in_3d_and_bicubic(torch, mode):
    """theta -> affine_grid -> grid_sample, with the gradients of the image and of theta."""
    rng = named_rng(f"warp{mode}")
    shape = (2, 3, 4, 5, 3) if mode == "bilinear" else (2, 3, 5, 4)
    theta = np.eye(len(shape) - 2, len(shape) - 1) + 0.3 * rng.standard_normal((2, len(shape) - 2, len(shape) - 1))
    to, tt = leaves(torch, theta)
    xo, xt = leaves(torch, rng.standard_normal(shape))
    yo = F.grid_sample(xo, F.affine_grid(to, shape, False), mode, "reflection", False)
    yt = torch.nn.functional.grid_sample(xt, torch.nn.functional.affine_grid(tt, shape, False), mode, "reflection",
                                         False)
    np.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    g = rng.standard_normal(shape)
    yo.backward(ag.tensor(g))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(to.grad.numpy(), tt.grad.numpy(), rtol=1e-11)


def test_bilinear_second_derivatives(device):
    rng = named_rng("grid-gradgrad")
    x = ag.tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
    grid = ag.tensor(rng.uniform(-0.9, 0.9, (1, 2, 3, 2)), requires_grad=True)
    for padding_mode in ("zeros", "reflection"):
        fn = lambda a, b: F.grid_sample(a, b, "bilinear", padding_mode, False) ** 2  # noqa: E731
        assert ag.gradcheck(fn, [x, grid]) and ag.gradgradcheck(fn, [x, grid])


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_trilinear_and_bicubic_second_derivatives(padding_mode):
    rng = named_rng(f"grid-gradgrad-3d-bicubic{padding_mode}")
    for mode, shape, grid_shape in (("bilinear", (1, 1, 2, 2, 2), (1, 1, 1, 2, 3)),
                                    ("bicubic", (1, 1, 3, 3), (1, 1, 2, 2))):
        x = ag.tensor(rng.standard_normal(shape), requires_grad=True)
        grid = ag.tensor(rng.uniform(-1.1, 1.1, grid_shape), requires_grad=True)  # some points past the edges
        fn = lambda a, b: F.grid_sample(a, b, mode, padding_mode, True) ** 2  # noqa: E731
        assert ag.gradcheck(fn, [x, grid]) and ag.gradgradcheck(fn, [x, grid]), mode


def test_an_unset_align_corners_warns_and_means_false(torch):
    theta = ag.tensor(np.tile(np.eye(2, 3), (1, 1, 1)))
    with pytest.warns(UserWarning, match="align_corners=False"):
        grid = F.affine_grid(theta, (1, 1, 3, 3))
    np.testing.assert_allclose(grid.numpy(), F.affine_grid(theta, (1, 1, 3, 3), False).numpy())
    with pytest.warns(UserWarning, match="align_corners=False"):
        F.grid_sample(ag.ones((1, 1, 3, 3), dtype=ag.float64), grid)


def test_errors_name_the_problem():
    x, grid = ag.ones((1, 1, 3, 3)), ag.zeros((1, 2, 2, 2))
    volume, grid3d = ag.ones((1, 1, 2, 3, 3)), ag.zeros((1, 2, 2, 2, 3))
    with pytest.raises(ValueError, match="mode must be 'bilinear', 'nearest' or 'bicubic', not 'trilinear'"):
        F.grid_sample(volume, grid3d, "trilinear", align_corners=False)
    with pytest.raises(ValueError, match="padding_mode"):
        F.grid_sample(x, grid, padding_mode="circular", align_corners=False)
    with pytest.raises(ValueError, match=r"mode='bicubic' needs a 4-D input .* 'bilinear' or 'nearest'"):
        F.grid_sample(volume, grid3d, "bicubic", align_corners=False)
    with pytest.raises(ValueError, match=r"4-D input \(N, C, H, W\) or a 5-D input \(N, C, D, H, W\)"):
        F.grid_sample(ag.ones((1, 3, 3)), ag.zeros((1, 2, 2)), align_corners=False)
    with pytest.raises(ValueError, match=r"grid of shape \(N, OH, OW, 2\) with N = 1"):
        F.grid_sample(x, ag.zeros((2, 2, 2, 2)), align_corners=False)
    with pytest.raises(ValueError, match=r"grid of shape \(N, OH, OW, 2\) with N = 1"):
        F.grid_sample(x, ag.zeros((1, 2, 2, 3)), align_corners=False)
    with pytest.raises(ValueError, match=r"grid of shape \(N, OD, OH, OW, 3\) with N = 1"):
        F.grid_sample(volume, grid, align_corners=False)  # a 2-D grid for a 3-D input
    with pytest.raises(ValueError, match=r"grid of shape \(N, OD, OH, OW, 3\) with N = 1"):
        F.grid_sample(volume, ag.zeros((1, 2, 2, 2, 2)), align_corners=False)
    with pytest.raises(ValueError, match="spatial sizes must be non-zero"):
        F.grid_sample(ag.ones((1, 1, 0, 3, 3)), grid3d, align_corners=False)
    with pytest.raises(TypeError, match="the grid is float64"):
        F.grid_sample(x, grid.astype(ag.float64), align_corners=False)
    with pytest.raises(ValueError, match=r"theta of shape \(N, 2, 3\)"):
        F.affine_grid(ag.zeros((1, 3, 4)), (1, 1, 3, 3), False)
    with pytest.raises(ValueError, match="batch of 2"):
        F.affine_grid(ag.zeros((1, 2, 3)), (2, 1, 3, 3), False)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\) or \(N, C, D, H, W\)"):
        F.affine_grid(ag.zeros((1, 2, 3)), (1, 3, 3), False)
    with pytest.raises(TypeError, match="align_corners must be a bool"):
        F.affine_grid(ag.zeros((1, 2, 3)), (1, 1, 3, 3), 1)


# --- second derivatives at the kinks, nearest ties in float32, affine_grid's size checks ------------
# (affine_grid truncated a fractional size and took a negative channel count; the ties and the
# second derivatives at the kinks agreed with PyTorch and are pinned here)

def kink_grid(rng, n, points, sizes, align_corners):
    """(n, points, 1, dims) grid points whose pixel coordinates are whole, half-way
    between pixels, on the edges or outside, mixed with random ones."""
    dims = len(sizes)
    extent = np.array(sizes[::-1], dtype=float)  # x runs along the last axis
    pixel = rng.integers(-2, 2 * extent.max() + 2, (n, points, 1, dims)) / 2  # whole and half pixels
    grid = (pixel / np.maximum(extent - 1, 1)) * 2 - 1 if align_corners else (2 * pixel + 1) / extent - 1
    random = rng.random((n, points, 1, dims)) < 0.3
    return np.where(random, rng.uniform(-1.3, 1.3, grid.shape), grid)


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode, shape", [("bilinear", (2, 2, 3, 4)), ("bicubic", (2, 2, 3, 4)),
                                         ("bilinear", (2, 2, 2, 3, 4))])
@needs_torch("2.13", "grid_sampler_2d/3d_backward have a derivative (double backward) from 2.13 on")
def test_second_derivatives_at_the_kinks_match_pytorch(torch, mode, shape, padding_mode, align_corners):
    """d/d(input, grid) of <d out/d(input, grid), (v, u)>, the double backward PyTorch's
    grid_sampler_*_backward has, at points where the taps' weights have kinks."""
    rng = named_rng(f"grid-kinks{mode}{shape}{padding_mode}{align_corners}")
    x = rng.standard_normal(shape)
    grid = kink_grid(rng, shape[0], 12, shape[2:], align_corners)
    grid = grid.reshape((shape[0], 12) + (1,) * (len(shape) - 3) + (len(shape) - 2,))
    w, v, u = (rng.standard_normal(s) for s in ((shape[0], shape[1]) + grid.shape[1:-1], x.shape, grid.shape))
    results = []
    for lib, make, sample, grad in (
            (ag, ag.tensor, F.grid_sample, lambda y, xs, **kw: ag.grad(y, xs, **kw)),
            (torch, torch.tensor, torch.nn.functional.grid_sample,
             lambda y, xs, **kw: torch.autograd.grad(y, xs, **kw))):
        xi, gi = make(x, requires_grad=True), make(grid, requires_grad=True)
        y = sample(xi, gi, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
        dx, dg = grad((y * make(w)).sum(), [xi, gi], create_graph=True)
        ddx, ddg = grad((dx * make(v)).sum() + (dg * make(u)).sum(), [xi, gi], allow_unused=True)
        results.append([t.detach().numpy() if hasattr(t, "detach") else t.numpy() for t in (y, dx, dg, ddx, ddg)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("sizes", [(3, 6), (2, 5, 4)])
def test_nearest_ties_round_half_to_even_in_float32_as_pytorch(torch, sizes, padding_mode, align_corners):
    """Points half-way between two pixels (and past the edges) in float32: both pick the
    even pixel, as std::nearbyint does."""
    rng = named_rng(f"grid-ties{sizes}{padding_mode}{align_corners}")
    x = rng.standard_normal((1, 2) + sizes).astype(np.float32)
    extent = np.array(sizes[::-1], dtype=np.float32)
    half = rng.integers(-3, 2 * extent.max() + 3, (1, 40) + (1,) * (len(sizes) - 1) + (len(sizes),)) + 0.5
    grid = ((half / np.maximum(extent - 1, 1)) * 2 - 1 if align_corners else (2 * half + 1) / extent - 1)
    grid = grid.astype(np.float32)
    ours = F.grid_sample(ag.tensor(x), ag.tensor(grid), "nearest", padding_mode, align_corners)
    theirs = torch.nn.functional.grid_sample(torch.tensor(x), torch.tensor(grid), "nearest", padding_mode,
                                             align_corners)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_affine_grid_refuses_a_size_that_is_not_whole_numbers():
    theta = ag.zeros((2, 2, 3))
    with pytest.raises(TypeError, match=r"affine_grid: size must be a tuple of ints .* got \(2, 3, 4.5, 5\)"):
        F.affine_grid(theta, (2, 3, 4.5, 5), False)  # was taken as (2, 3, 4, 5)
    with pytest.raises(TypeError, match="size must be a tuple of ints"):
        F.affine_grid(theta, (2, 3, True, 5), False)
    with pytest.raises(TypeError, match="size must be a tuple of ints"):
        F.affine_grid(theta, 5, False)


def test_affine_grid_refuses_a_negative_batch_or_channel_count():
    with pytest.raises(ValueError, match=r"positive output sizes and non-negative N and C, got \(2, -1, 4, 5\)"):
        F.affine_grid(ag.zeros((2, 2, 3)), (2, -1, 4, 5), False)  # gave a grid
    with pytest.raises(ValueError, match=r"non-negative N and C, got \(-1, 3, 4, 5\)"):
        F.affine_grid(ag.zeros((2, 2, 3)), (-1, 3, 4, 5), False)
    with pytest.raises(ValueError, match=r"positive output sizes .* got \(1, 1, 2, 0, 3\)"):
        F.affine_grid(ag.zeros((1, 3, 4)), (1, 1, 2, 0, 3), False)


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
def test_points_outside_read_zero_beside_non_finite_pixels(device, torch, mode):
    """Points outside the image read the 0 kept after each plane, not a masked pixel:
    an inf or NaN in the corner pixels (where an outside point's index would clamp)
    reaches neither their values nor the gradients, as in PyTorch."""
    image = named_rng(f"outside-{mode}").standard_normal((2, 3, 4, 5))
    image[:, :, 0, 0], image[:, :, -1, -1] = np.inf, np.nan
    grid = np.array([[[[-3.0, -3.0], [2.5, 2.5], [-1.6, 3.0]]], [[[4.0, -4.0], [-9.0, 0.1], [0.1, 9.0]]]])
    xo, xt = leaves(torch, image)
    go, gt = leaves(torch, grid)
    yo = F.grid_sample(xo, go, mode, "zeros", False)
    yt = torch.nn.functional.grid_sample(xt, gt, mode, "zeros", False)
    np.testing.assert_array_equal(yo.numpy(), yt.detach().numpy())
    assert not yo.numpy().any()
    g = np.ones(tuple(yt.shape))
    yo.backward(ag.tensor(g))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_array_equal(xo.grad.numpy(), xt.grad.numpy())
    np.testing.assert_array_equal(go.grad.numpy(), gt.grad.numpy())


@pytest.mark.parametrize("padding_mode, align_corners", [("zeros", False), ("border", True)])
def test_float32_with_many_channels_matches_pytorch(torch, padding_mode, align_corners):
    """Sixteen channels in float32, the size benchmarks.op_paths times: the channels sum
    into the grid's gradient as in PyTorch up to float32 rounding."""
    rng = named_rng(f"grid-float32-{padding_mode}")
    xo, xt = leaves(torch, rng.standard_normal((2, 16, 9, 11)).astype(np.float32))
    go, gt = leaves(torch, rng.uniform(-1.2, 1.2, (2, 6, 7, 2)).astype(np.float32))
    yo = F.grid_sample(xo, go, "bilinear", padding_mode, align_corners)
    yt = torch.nn.functional.grid_sample(xt, gt, "bilinear", padding_mode, align_corners)
    np.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = rng.standard_normal(tuple(yt.shape)).astype(np.float32)
    yo.backward(ag.tensor(g))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(go.grad.numpy(), gt.grad.numpy(), rtol=1e-4, atol=1e-4)


def pytorch_crashes_at(mode, padding_mode, value):
    """PyTorch 2.13's CPU kernel dies (SIGSEGV) on these bilinear samples: a NaN point
    clipped or reflected, an infinite or overflowing one reflected."""
    if mode != "bilinear" or padding_mode == "zeros":
        return False
    return np.isnan(value) or padding_mode == "reflection"


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan, "max"], ids=["inf", "-inf", "nan", "max"])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
def test_grid_points_at_inf_nan_and_overflow_are_quiet_and_match_pytorch(
        torch, mode, padding_mode, align_corners, value, dtype):
    """A grid point at ±inf, NaN or the dtype's largest value (whose pixel coordinate
    overflows) gives PyTorch's values and gradients with no NumPy warning (it warned of
    overflow in multiply and invalid values in subtract); NaN clipped or reflected reads
    the first pixel, as PyTorch's max(NaN, 0) = 0."""
    value = float(np.finfo(dtype).max) if value == "max" else value
    rng = named_rng(f"grid-nonfinite{mode}{padding_mode}{align_corners}{value}{dtype}")
    grid = rng.uniform(-1.2, 1.2, (1, 3, 4, 2))
    grid[0, 0, :3, 0] = grid[0, 1, :3, 1] = value, -value, value  # x, then y, and both of a point
    grid[0, 2, 0] = value
    image = rng.standard_normal((1, 2, 3, 4))
    xo, go = (ag.tensor(a.astype(dtype), requires_grad=True) for a in (image, grid))
    yo = F.grid_sample(xo, go, mode, padding_mode, align_corners)
    g = rng.standard_normal(yo.shape).astype(dtype)
    yo.backward(ag.tensor(g))
    if pytorch_crashes_at(mode, padding_mode, value):
        return  # quiet is all there is to check
    xt, gt = (torch.tensor(a.astype(dtype), requires_grad=True) for a in (image, grid))
    yt = torch.nn.functional.grid_sample(xt, gt, mode, padding_mode, align_corners)
    yt.backward(torch.from_numpy(g))
    tolerance = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-12, atol=1e-13)
    for ours, theirs in ((yo, yt), (xo.grad, xt.grad), (go.grad, gt.grad)):
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), **tolerance)
