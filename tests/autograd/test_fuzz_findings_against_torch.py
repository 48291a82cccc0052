"""What a differential fuzz of the tensor ops against PyTorch (values, dtypes, first and
second derivatives in float64) turned up: each test pins one mismatch that was fixed."""
import numpy as np
import pytest

import autograd as ag


def _pair(torch, values):
    array = np.asarray(values, dtype=np.float64)
    return ag.tensor(array, dtype=ag.float64, requires_grad=True), torch.tensor(array, requires_grad=True)


# --- pow: the exponent's gradient at a zero base, and the mixed second derivative at b == 0 ----
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # 0 ** -1, log(0)
def test_pow_exponent_gradient_at_zero_base_and_negative_exponent_matches_pytorch(device, torch):
    """d(a**b)/db = a**b log a is inf * -inf there (-inf, or +inf at -0.0 with an odd
    exponent), as in PyTorch; the base of 1 that stands in for a == 0 made it 0 * inf = NaN."""
    a, ta = _pair(torch, [0.0, -0.0, 0.0, 0.0, 0.0, 2.0])
    b, tb = _pair(torch, [-1.0, -1.0, -0.5, -np.inf, 2.0, -1.0])
    ga, gb = ag.grad((a ** b).sum(), [a, b])
    tga, tgb = torch.autograd.grad((ta ** tb).sum(), [ta, tb])
    np.testing.assert_array_equal(gb.numpy(), tgb.numpy())
    np.testing.assert_array_equal(ga.numpy(), tga.numpy())
    # a scalar base: 0 ** x, with x the leaf
    x, tx = _pair(torch, [-2.0, -0.5, 0.0, 1.5])
    np.testing.assert_array_equal(ag.grad((0.0 ** x).sum(), x)[0].numpy(),
                                  torch.autograd.grad((0.0 ** tx).sum(), tx)[0].numpy())


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # log of the negative base, unused at b == 0
def test_pow_mixed_second_derivative_at_a_zero_exponent_matches_pytorch(device, torch):
    """The base's gradient b * a**(b-1) is masked to 0 at b == 0; its derivative in b there
    is 0, as PyTorch's masked_fill gives, not the 1 the exponent's trick left behind."""
    a, ta = _pair(torch, [0.65, 2.0, -1.5, 3.0])
    b, tb = _pair(torch, [0.0, 0.0, -0.0, 2.0])
    ga, = ag.grad((a ** b).sum(), a, create_graph=True)
    tga, = torch.autograd.grad((ta ** tb).sum(), ta, create_graph=True)
    np.testing.assert_allclose(ga.numpy(), tga.detach().numpy(), rtol=1e-12)
    v = np.array([0.3, -1.2, 0.7, 1.1])
    gga, ggb = ag.grad((ga * ag.tensor(v)).sum(), [a, b])
    tgga, tggb = torch.autograd.grad((tga * torch.tensor(v)).sum(), [ta, tb])
    np.testing.assert_allclose(gga.numpy(), tgga.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ggb.numpy(), tggb.numpy(), rtol=1e-12)


# --- indexing: an integer array of several axes into a tensor with an empty axis ----------------
@pytest.mark.parametrize("shape", [(4, 1, 0, 1), (3, 0), (2, 0, 5)])
def test_multi_axis_integer_index_into_an_empty_trailing_axis_has_a_gradient(device, torch, shape):
    """The scatter-add of such an index flattened the values with reshape(-1, *rest), which
    is ambiguous where rest holds a 0 (NumPy raised); the gradient is zeros of x's shape."""
    index = np.array([[0, shape[0] - 1], [-1, -1]])
    x, tx = _pair(torch, np.zeros(shape))
    y, ty = x[index], tx[torch.tensor(index)]
    assert y.shape == tuple(ty.shape)
    g, = ag.grad(y.sum(), x)
    tg, = torch.autograd.grad(ty.sum(), tx)
    assert g.shape == tuple(tg.shape) == shape
    np.testing.assert_array_equal(g.numpy(), tg.numpy())
