"""One check of an op's values and gradients against PyTorch's, for the edge-case files:
the same input as a topograd leaf and a torch leaf, then values, first-order gradients
through a random cotangent and, on request, second-order ones."""
import numpy as np

import autograd as ag


def f64(values, requires_grad=False):
    """A float64 topograd tensor of ``values``."""
    return ag.tensor(np.asarray(values, dtype=np.float64), dtype="float64", requires_grad=requires_grad)


def both(torch, values, requires_grad=True):
    """The same float64 values as a topograd and a torch tensor."""
    values = np.asarray(values, dtype=np.float64)
    return f64(values, requires_grad), torch.tensor(values, requires_grad=requires_grad)


def close(mine, theirs):
    """A topograd tensor equal to a torch one to float64 rounding."""
    np.testing.assert_allclose(mine.numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-12)


def leaf_pair(torch, values, dtype="float64"):
    array = np.asarray(values, dtype=dtype)
    return (ag.tensor(array, requires_grad=True),
            torch.tensor(array, dtype=getattr(torch, dtype), requires_grad=True))


def check_grads(torch, fn, tfn, values, dtype="float64", second_order=True, *, tolerances):
    """Values, gradients (through a random cotangent) and, with ``second_order``, the
    gradient of <gradient, v> of ``fn`` against ``tfn``; ``tolerances`` maps each dtype
    name to its (rtol, atol)."""
    rtol, atol = tolerances[dtype]
    x, tx = leaf_pair(torch, values, dtype)
    y, ty = fn(x), tfn(tx)
    assert y.shape == tuple(ty.shape) and str(y.dtype) == dtype
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=rtol, atol=atol)
    rng = np.random.default_rng(3)
    cotangent = rng.standard_normal(y.shape).astype(dtype)
    v = rng.standard_normal(x.shape).astype(dtype)
    gx, = ag.grad(y, x, ag.tensor(cotangent), create_graph=second_order)
    tgx, = torch.autograd.grad(ty, tx, torch.tensor(cotangent), create_graph=second_order)
    np.testing.assert_allclose(gx.numpy(), tgx.detach().numpy(), rtol=rtol, atol=atol)
    if second_order:
        ggx, = ag.grad((gx * ag.tensor(v)).sum(), x)
        tggx, = torch.autograd.grad((tgx * torch.tensor(v)).sum(), tx)
        np.testing.assert_allclose(ggx.numpy(), tggx.numpy(), rtol=rtol, atol=atol)


def check_cases(torch, cases, data, rng, grad_tolerance):
    """For each (ours, theirs) pair of functions: the same values as PyTorch's, bit for
    bit, and the gradient through one random cotangent within ``grad_tolerance`` (rtol
    and atol both; 0 asks for equality)."""
    for ours, theirs in cases:
        x = ag.tensor(data, requires_grad=True)
        t = torch.tensor(data, requires_grad=True)
        y, ty = ours(x), theirs(t)
        np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
        g = rng.standard_normal(y.shape)
        y.backward(ag.tensor(g))
        ty.backward(torch.tensor(g))
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=grad_tolerance, atol=grad_tolerance)


# --- results compared whole -----------------------------------------------------------------

def numpy_or_none(g):
    """A gradient (topograd's or PyTorch's) as a NumPy copy, or None."""
    return None if g is None else g.detach().numpy().copy()


def same_nested(ours, theirs):
    """Nested lists and tuples of arrays (or None, or strings) equal, to float32 rounding."""
    if isinstance(ours, (list, tuple)):
        assert isinstance(theirs, (list, tuple)) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            same_nested(a, b)
    elif isinstance(ours, np.ndarray) or isinstance(theirs, np.ndarray):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    else:
        assert ours == theirs


def same_but_cuda_ulps(ours, theirs, device, err_msg=""):
    """Equal (NaN where NaN); on CUDA within a few float64 ulp: its pow (CUDA's, within 2
    ulp) and its sums' order are not NumPy's."""
    if device.startswith("cuda"):
        np.testing.assert_allclose(ours, theirs, rtol=4 * np.finfo(np.float64).eps, atol=0, err_msg=err_msg)
    else:
        np.testing.assert_array_equal(ours, theirs, err_msg=err_msg)
