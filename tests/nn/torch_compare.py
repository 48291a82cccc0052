"""Comparing a topograd module with the same PyTorch module, shared by the nn tests."""
import numpy as np


def assert_parameter_grads_match(ours, theirs, rtol):
    """The same parameter names in the same order, each with PyTorch's gradient."""
    theirs_params = dict(theirs.named_parameters())
    assert [n for n, _ in ours.named_parameters()] == list(theirs_params)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs_params[name].grad.numpy(), rtol=rtol, atol=1e-12,
                                   err_msg=name)
