"""Comparing a topograd module with the same PyTorch module, shared by the nn tests."""
import zlib

import numpy as np
import pytest

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


def run_both(torch, ours, theirs, x, seed=0):
    """One forward and backward in float64 through a topograd module and its PyTorch
    twin; compares the output (and its shape), the input gradient, every parameter's
    gradient and every buffer."""
    xo = ag.tensor(x, dtype=ag.float64, requires_grad=True)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out, ref = ours(xo), theirs(xt)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    r = np.random.default_rng(seed).standard_normal(tuple(ref.shape))
    out.backward(ag.tensor(r, dtype=ag.float64))
    ref.backward(torch.from_numpy(r))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert_parameter_grads_match(ours, theirs, rtol=1e-10)
    theirs_buffers = dict(theirs.named_buffers())
    assert [n for n, _ in ours.named_buffers()] == list(theirs_buffers)
    for name, b in ours.named_buffers():
        np.testing.assert_allclose(b.numpy(), theirs_buffers[name].numpy(), rtol=1e-12, err_msg=name)


def named_rng(name):
    """A generator seeded by ``name``, so each test draws its own reproducible values."""
    return np.random.default_rng(zlib.crc32(name.encode()))


def distinct_values(rng, *shape):
    """Values at least 0.1 apart, so a max never ties (even after a finite-difference step)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 - n * 0.05 + rng.uniform(0, 0.01, n)).reshape(shape)


def array_on_device_of(t, values):
    """``values`` as an array of ``t``'s device (the default one: cuda:0 under TOPOGRAD_DEVICE=cuda)."""
    return ag.tensor(np.asarray(values), device=t.device).data


def with_seeded_parameters(module, seed):
    """``module``, each of its parameters set to standard normal values drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    for p in module.parameters():
        p.data = array_on_device_of(p, rng.standard_normal(p.shape))
    return module


def assert_gradcheck_and_gradgradcheck(name, fn, shapes):
    """First and second derivatives of ``fn`` at float64 leaves of ``shapes``, drawn
    uniformly from [-2, 2] by ``name``'s generator, against finite differences."""
    rng = named_rng(name)
    leaves = [ag.tensor(rng.uniform(-2, 2, s), dtype=ag.float64, requires_grad=True) for s in shapes]
    assert ag.gradcheck(fn, leaves, atol=1e-6, rtol=1e-5)
    assert ag.gradgradcheck(fn, leaves, atol=1e-6, rtol=1e-5)


def assert_raises_where_torch_raises(torch, ours, theirs, error, message):
    """``ours()`` raises ``error`` with ``message``, and ``theirs(torch)`` raises too."""
    with pytest.raises(error, match=message):
        ours()
    with pytest.raises(Exception):
        theirs(torch)
