"""What a differential fuzz of the small nn layers against PyTorch turned up. Identity,
Flatten/Unflatten, PixelShuffle/PixelUnshuffle, ChannelShuffle, Upsample and its 2-D forms,
the padding layers, Fold/Unfold, CosineSimilarity, PairwiseDistance, Bilinear, Linear,
LazyLinear, the dropout layers (eval mode, and train-mode scaling, share kept and axes
dropped together), Softmax2d and the activation layers agreed in values, first and second
derivatives, reprs and state_dict keys; these are what did not."""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

from .torch_compare import named_rng


# --- softmax's dim on a 0-d input ----------------------------------------------------------------

@pytest.mark.parametrize("layer", ["Softmax", "LogSoftmax", "Softmin"])
@pytest.mark.parametrize("dim", [0, -1])
def test_softmax_layers_on_a_0d_input_match_torch(torch, layer, dim):
    x = float(named_rng(f"0-d {layer} {dim}").standard_normal())
    ours, theirs = ag.tensor(x, dtype=ag.float64, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = getattr(nn, layer)(dim)(ours), getattr(torch.nn, layer)(dim)(theirs)
    assert out.shape == ()
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12)
    (out * 3.0).backward()
    (ref * 3.0).backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("layer, op", [("Softmax", "softmax"), ("LogSoftmax", "log_softmax"),
                                       ("Softmin", "softmin")])
@pytest.mark.parametrize("dim", [1, -2, 5])
def test_softmax_layers_refuse_an_out_of_range_dim_on_a_0d_input(torch, layer, op, dim):
    """A 0-d input skipped the dim check and came back as if dim were 0; PyTorch's range
    for it is [-1, 0], as for a 1-d input."""
    with pytest.raises(IndexError, match="Dimension out of range"):
        getattr(torch.nn, layer)(dim)(torch.tensor(0.5))
    with pytest.raises(ValueError, match=rf"^{op}: axis {dim} is out of range for a tensor with 0 dimensions"):
        getattr(nn, layer)(dim)(ag.tensor(0.5))
    with pytest.raises(ValueError, match=rf"^{op}: axis {dim} is out of range"):
        getattr(F, op)(ag.tensor(0.5), dim)


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
