"""What a differential fuzz of F.grid_sample, F.affine_grid, pixel_shuffle/unshuffle,
channel_shuffle, embedding_bag and unfold/fold against PyTorch 2.13 turned up: affine_grid
truncated a fractional size and took a negative channel count; and, pinned here as they
agreed, nearest sampling's ties (half to even, in float32) and the second derivatives
at the kinks (grid points on pixel centres, half-way between pixels and on the edges)."""
import numpy as np
import pytest

import autograd as ag
import nn.functional as F

from tests.torch_versions import needs_torch

from .torch_compare import named_rng


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
