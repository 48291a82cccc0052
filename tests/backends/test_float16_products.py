"""float16 matrix products on the NumPy backend go through float32 BLAS and round once
(NumPy's own float16 loop is 40-700x slower), in Backend.matmul and so in matmul, Linear
and convolution, forward and backward, and in einsum."""
import numpy as np
import pytest

import autograd as ag
import backends
import nn.functional as F

RNG = np.random.default_rng(0)


def _rounded_product(a, b):
    return (a.astype(np.float32) @ b.astype(np.float32)).astype(np.float16)


@pytest.mark.parametrize("scratch", [False, True])
def test_the_kernel_multiplies_in_float32_and_rounds_once(scratch):
    a = RNG.normal(0, 1, (5, 70)).astype(np.float16)
    b = RNG.normal(0, 1, (70, 3)).astype(np.float16)
    got = backends.get("cpu").matmul(a, b, scratch=scratch)
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, _rounded_product(a, b))


def test_matmul_and_linear_forward_and_backward_round_once():
    x = ag.tensor(RNG.normal(0, 1, (4, 30)).astype(np.float16), requires_grad=True)
    w = ag.tensor(RNG.normal(0, 1, (6, 30)).astype(np.float16), requires_grad=True)
    y = F.linear(x, w)
    np.testing.assert_array_equal(y.numpy(), _rounded_product(x.numpy(), w.numpy().T))
    g = RNG.normal(0, 1, (4, 6)).astype(np.float16)
    y.backward(ag.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(), _rounded_product(g, w.numpy()))
    np.testing.assert_array_equal(w.grad.numpy(), _rounded_product(g.T, x.numpy()))
    z = x @ w.T
    np.testing.assert_array_equal(z.numpy(), _rounded_product(x.numpy(), w.numpy().T))


def test_einsum_contracts_float16_in_float32_and_rounds_once():
    a = RNG.normal(0, 1, (40, 70)).astype(np.float16)
    b = RNG.normal(0, 1, (70, 60)).astype(np.float16)
    got = ag.einsum("ij,jk->ik", ag.tensor(a), ag.tensor(b))
    assert got.dtype == ag.float16
    # (the float32 sums' order is einsum's own: a result may round to the float16 next door)
    np.testing.assert_allclose(got.numpy(), _rounded_product(a, b), rtol=2 ** -9, atol=2 ** -24)


def test_float32_products_are_unchanged():
    a = RNG.normal(0, 1, (5, 7)).astype(np.float32)
    b = RNG.normal(0, 1, (7, 3)).astype(np.float32)
    np.testing.assert_array_equal(backends.get("cpu").matmul(a, b), a @ b)
    np.testing.assert_array_equal((ag.tensor(a, device="cpu") @ ag.tensor(b, device="cpu")).numpy(), a @ b)
