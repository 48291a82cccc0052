"""A loss given its target (or weight) on another device than its input says so, naming the
loss and both devices, before any array of it is read (the H200 run found nll_loss,
multi_margin_loss, multilabel_margin_loss and ctc_loss failing inside CuPy instead:
"Unsupported type numpy.ndarray"). The strict backend stands in for a second device. Also:
the index range checks read from the device once each."""
import numpy as np
import pytest

import autograd as ag
import backends
import nn
import nn.functional as F

pytestmark = pytest.mark.skipif("strict" not in backends.available_devices(), reason="needs array-api-strict")


def _targets_on_the_input():
    return ag.tensor([0, 2], device="strict")


def _input(*shape):
    return ag.tensor(np.linspace(0.1, 0.9, np.prod(shape)).reshape(shape).astype(np.float32), device="strict")


CASES = {
    "cross_entropy": lambda: F.cross_entropy(_input(2, 3), ag.tensor([0, 2])),
    "nll_loss": lambda: F.nll_loss(_input(2, 3), ag.tensor([0, 2])),
    "multi_margin_loss": lambda: F.multi_margin_loss(_input(2, 3), ag.tensor([0, 2])),
    "multilabel_margin_loss": lambda: F.multilabel_margin_loss(_input(2, 3), ag.tensor([[0, -1, 1], [2, -1, 0]])),
    "binary_cross_entropy": lambda: F.binary_cross_entropy(_input(3), ag.tensor([0.0, 1.0, 1.0])),
    "mse_loss": lambda: F.mse_loss(_input(3), ag.tensor([0.0, 1.0, 1.0])),
    "nll_loss weight": lambda: F.nll_loss(_input(2, 3), _targets_on_the_input(), weight=ag.tensor([1.0, 2.0, 3.0])),
    "linear_cross_entropy": lambda: F.linear_cross_entropy(_input(2, 3), _input(4, 3), ag.tensor([0, 2])),
    "margin_ranking_loss": lambda: F.margin_ranking_loss(_input(3), _input(3), ag.tensor([1.0, -1.0, 1.0])),
    "gaussian_nll_loss": lambda: F.gaussian_nll_loss(_input(3), ag.tensor([0.5, 0.5, 0.5]), _input(3)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_target_on_another_device_is_refused_by_name(name):
    op = name.split()[0]
    with backends.default_device("cpu"), \
            pytest.raises(ValueError, match=rf"^{op}: expected all tensors on one device, got strict and cpu"):
        CASES[name]()  # (its targets on the CPU, whatever the default device)


def test_ctc_loss_moves_targets_to_the_log_probs_device_as_pytorch():
    # PyTorch moves them "as a service to the user": cuDNN's CTC takes its targets on the CPU
    log_probs = F.log_softmax(_input(5, 1, 4), 2)
    with backends.default_device("cpu"):
        moved = F.ctc_loss(log_probs, ag.tensor([[1, 2]]), ag.tensor([5]), ag.tensor([2]))
    same = F.ctc_loss(log_probs, ag.tensor([[1, 2]], device="strict"), ag.tensor([5]), ag.tensor([2]))
    assert moved.device == "strict"
    np.testing.assert_array_equal(moved.numpy(), same.numpy())


@pytest.mark.parametrize("name, call, refused", [
    ("one_hot", lambda: F.one_hot(ag.tensor([0, 3]), 4), lambda: F.one_hot(ag.tensor([0, 4]), 4)),
    ("take_along_axis", lambda: ag.take_along_axis(ag.ones(2, 3), ag.tensor([[2], [0]]), 1),
     lambda: ag.take_along_axis(ag.ones(2, 3), ag.tensor([[3], [0]]), 1)),
    ("searchsorted", lambda: ag.searchsorted(ag.tensor([3.0, 1.0]), 2.0, sorter=ag.tensor([1, 0])),
     lambda: ag.searchsorted(ag.tensor([3.0, 1.0]), 2.0, sorter=ag.tensor([1, 2]))),
    ("multi_margin_loss", lambda: F.multi_margin_loss(ag.ones(2, 3), ag.tensor([0, 2])),
     lambda: F.multi_margin_loss(ag.ones(2, 3), ag.tensor([0, 3]))),
    ("multilabel_margin_loss", lambda: F.multilabel_margin_loss(ag.ones(1, 3), ag.tensor([[2, -1, 0]])),
     lambda: F.multilabel_margin_loss(ag.ones(1, 3), ag.tensor([[3, -1, 0]]))),
    ("adaptive softmax", lambda: nn.AdaptiveLogSoftmaxWithLoss(4, 6, cutoffs=[3])(ag.ones(2, 4), ag.tensor([0, 5])),
     lambda: nn.AdaptiveLogSoftmaxWithLoss(4, 6, cutoffs=[3])(ag.ones(2, 4), ag.tensor([0, 6]))),
])
def test_index_range_checks_read_the_least_and_greatest_index_in_one_wait(monkeypatch, name, call, refused):
    """Each reads min and max through Backend.read_ints: one wait on a GPU, where an int() of
    each device number waited once each (up to four times in the margin losses)."""
    on = type(backends.get_default())  # (the CUDA backend has a read_ints of its own)
    reads = []
    read_ints = on.read_ints
    monkeypatch.setattr(on, "read_ints", lambda self, *scalars: reads.append(len(scalars))
                        or read_ints(self, *scalars))
    call()
    # one read of two numbers per check (the adaptive softmax's own, then its head's and its
    # tail's cross-entropy target checks)
    assert reads == [2] * (3 if name == "adaptive softmax" else 1)
    with pytest.raises((ValueError, IndexError)):  # each names its own range; their texts are tested with the ops
        refused()
