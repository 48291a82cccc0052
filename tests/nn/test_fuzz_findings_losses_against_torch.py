"""Findings of a differential fuzz of every loss in nn.functional against PyTorch 2.13
(reductions, class weights, ignore_index, label smoothing, probability targets,
K-dimensional, unbatched and empty inputs, pos_weight, log_input/full, margins, p and
swap, extreme logits, float32 and float64, to second order). The values and gradients
agreed; what it found were messages for wrong targets that sent the user the wrong way."""
import re

import numpy as np
import pytest

import autograd as ag
import nn.functional as F


def test_nll_loss_float_targets_point_to_int64_and_cross_entropy(device, torch):
    """nll_loss takes no class probabilities, but its message for a float target (shared
    with cross_entropy) said to pass one of the input's shape, which it then refused."""
    logp, soft = np.log(np.full((3, 4), 0.25)), np.full((3, 4), 0.25)
    with pytest.raises(RuntimeError, match="multi-target not supported"):
        torch.nn.functional.nll_loss(torch.from_numpy(logp), torch.from_numpy(soft))
    with pytest.raises(TypeError, match=r"nll_loss: class-index targets must be integers, not float64; convert them "
                                        r"with target\.astype\(ag\.int64\) \(for class probabilities use "
                                        r"cross_entropy on the logits"):
        F.nll_loss(ag.tensor(logp), ag.tensor(soft))
    with pytest.raises(TypeError, match=r"cross_entropy: class-index targets must be integers, not bool; .*for class "
                                        r"probabilities pass a float target of the input's shape"):
        F.cross_entropy(ag.tensor(logp), ag.tensor(np.array([True, False, True])))


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("input_shape, axis", [((3, 4), 1), ((4,), 0), ((2, 4, 3), 1)],
                         ids=["batch", "unbatched", "spatial"])
def test_integer_one_hot_targets_name_the_argmax_that_gives_class_indices(device, torch, loss, input_shape, axis):
    x = np.random.default_rng(0).standard_normal(input_shape)
    one_hot = np.moveaxis(np.eye(input_shape[axis], dtype=np.int64)[np.zeros(x.shape[:axis] + x.shape[axis + 1:],
                                                                              dtype=np.int64)], -1, axis)
    with pytest.raises((RuntimeError, ValueError), match="target"):  # PyTorch refuses them too
        getattr(torch.nn.functional, loss)(torch.from_numpy(x), torch.from_numpy(one_hot))
    expected = input_shape[:1] + input_shape[2:] if len(input_shape) > 1 else ()
    message = (f"{loss}: the input of shape {input_shape} needs a target of shape {expected}, got {input_shape}; "
               f"for one-hot targets pass target.argmax(axis={axis})")
    with pytest.raises(ValueError, match=re.escape(message)):
        getattr(F, loss)(ag.tensor(x), ag.tensor(one_hot))
    # and the conversion it names gives PyTorch's loss
    indices = ag.tensor(one_hot).argmax(axis=axis)
    ours = getattr(F, loss)(ag.tensor(x), indices)
    theirs = getattr(torch.nn.functional, loss)(torch.from_numpy(x), torch.from_numpy(one_hot).argmax(dim=axis))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


def test_class_weights_with_a_negative_total_divide_as_torch(torch):
    """'mean' divides by the targets' total weight; a negative total gave NaN (the total
    was tested for > 0), where PyTorch divides by it."""
    rng = np.random.default_rng(0)
    x, t, w = rng.standard_normal((4, 5)), np.array([0, 1, 2, 3]), np.array([-1.0, -2, -1, -1, 1])
    for ours, theirs in ((F.cross_entropy, torch.nn.functional.cross_entropy),
                         (F.nll_loss, torch.nn.functional.nll_loss)):
        got = ours(ag.tensor(x), ag.tensor(t), weight=ag.tensor(w)).item()
        np.testing.assert_allclose(got, theirs(torch.tensor(x), torch.tensor(t), weight=torch.tensor(w)).item())
    got = F.linear_cross_entropy(ag.tensor(x), ag.tensor(np.eye(5)), ag.tensor(t), weight=ag.tensor(w)).item()
    np.testing.assert_allclose(got, torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(t),
                                                                      weight=torch.tensor(w)).item())
