"""ag.special gathers PyTorch's torch.special names for ops defined elsewhere."""
import numpy as np

import autograd as ag


def test_special_names_are_the_ops_they_alias():
    x = ag.tensor([-1.5, 0.25, 2.0], dtype="float64")
    assert np.array_equal(ag.special.expit(x).numpy(), ag.sigmoid(x).numpy())
    for name in ("erf", "erfc", "exp2", "expm1", "log1p", "sinc", "round", "logsumexp"):
        assert getattr(ag.special, name) is getattr(ag, name)
