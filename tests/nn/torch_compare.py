"""Comparing a topograd module with the same PyTorch module, shared by the nn tests."""
import numpy as np

import autograd as ag


def assert_parameter_grads_match(ours, theirs, rtol):
    """The same parameter names in the same order, each with PyTorch's gradient."""
    theirs_params = dict(theirs.named_parameters())
    assert [n for n, _ in ours.named_parameters()] == list(theirs_params)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs_params[name].grad.numpy(), rtol=rtol, atol=1e-12,
                                   err_msg=name)


def assert_close_to_torch(ours, theirs, rtol=1e-10, atol=1e-12):
    """Our tensor has PyTorch's shape and values (``theirs`` a torch tensor or an array)."""
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=rtol, atol=atol)


def leaves(torch, array):
    """The same array, in its own dtype, as our leaf tensor and PyTorch's."""
    return ag.tensor(array, dtype=array.dtype, requires_grad=True), torch.tensor(array, requires_grad=True)


def float64_leaves(torch, array):
    """The same float64 array as our leaf tensor and PyTorch's."""
    return leaves(torch, np.asarray(array, dtype=np.float64))
