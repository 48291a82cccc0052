"""A loss given its target on another device than its input says so, naming the loss and
both devices, before any array of the target is read (the H200 run found nll_loss,
multi_margin_loss, multilabel_margin_loss and ctc_loss failing inside CuPy instead:
"Unsupported type numpy.ndarray"). The strict backend stands in for a second device."""
import numpy as np
import pytest

import autograd as ag
import backends
import nn.functional as F

pytestmark = pytest.mark.skipif("strict" not in backends.available_devices(), reason="needs array-api-strict")


def _input(*shape):
    return ag.tensor(np.linspace(0.1, 0.9, np.prod(shape)).reshape(shape).astype(np.float32), device="strict")


CASES = {
    "cross_entropy": lambda: F.cross_entropy(_input(2, 3), ag.tensor([0, 2])),
    "nll_loss": lambda: F.nll_loss(_input(2, 3), ag.tensor([0, 2])),
    "multi_margin_loss": lambda: F.multi_margin_loss(_input(2, 3), ag.tensor([0, 2])),
    "multilabel_margin_loss": lambda: F.multilabel_margin_loss(_input(2, 3), ag.tensor([[0, -1, 1], [2, -1, 0]])),
    "ctc_loss": lambda: F.ctc_loss(F.log_softmax(_input(5, 1, 4), 2), ag.tensor([[1, 2]]), ag.tensor([5]),
                                   ag.tensor([2])),
    "margin_ranking_loss": lambda: F.margin_ranking_loss(_input(3), _input(3), ag.tensor([1.0, -1.0, 1.0])),
    "gaussian_nll_loss": lambda: F.gaussian_nll_loss(_input(3), ag.tensor([0.5, 0.5, 0.5]), _input(3)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_target_on_another_device_is_refused_by_name(name):
    with backends.default_device("cpu"), \
            pytest.raises(ValueError, match=rf"^{name}: expected all tensors on one device, got strict and cpu"):
        CASES[name]()  # (its targets on the CPU, whatever the default device)
