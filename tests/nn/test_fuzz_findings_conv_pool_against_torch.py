"""What a differential fuzz of the convolutions, pools and resampling against PyTorch found.

The fuzz ran conv1d/2d/3d and conv_transpose1d/2d/3d (1-pixel inputs, kernels past the
padded input, stride above the kernel, dilation, groups and depthwise, 'same' and 'valid'
with even kernels, output_padding, unbatched inputs), the max, average, adaptive and
power-average pools (ceil_mode, count_include_pad, divisor_override, return_indices),
max_unpool, interpolate, fold/unfold and pad, in float32 and float64, comparing values,
input, weight and bias gradients and second derivatives, and the errors for bad shapes.
Two findings:

- ``interpolate`` given a ``scale_factor`` whose output keeps an axis's size (or, for
  2-D 'nearest', doubles it) resized that axis by the scale where PyTorch's kernels go by
  the sizes (the antialiased modes and 2-D 'nearest' copy the axis; 2-D 'nearest' halves
  the index where the size doubles), and copied the axis where PyTorch's 'bicubic'
  applies the scale. PyTorch's own backward disagrees with its forward in some of these
  cases (its 1-D and 3-D 'nearest', antialiased and bicubic backward use the other
  rule), so the gradients here are checked against the transpose of PyTorch's forward.
- ``avg_pool3d`` (and so ``lp_pool3d``) pooled an input smaller than the kernel along an
  axis, which PyTorch's avg_pool3d refuses whatever the padding or ceil_mode."""
import numpy as np
import pytest

import autograd as ag
import nn.functional as F

from .torch_compare import named_rng


# --- bug: interpolate by a scale_factor that keeps or doubles a size -------------------------

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


# --- bug: avg_pool3d of an input smaller than the kernel ---------------------------------------

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
