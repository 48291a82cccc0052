"""Findings of a differential fuzz of matmul, einsum and ag.linalg against PyTorch: the
spectral and nuclear matrix norms, an ellipsis beside all 26 capital letters in einsum,
the second derivative of matrix_exp at an empty batch, and the error for float16 matrices,
which the linear algebra kernels do not take."""
import functools
import math

import numpy as np
import pytest

import autograd as ag
from tests.autograd.torch_pairs import check_grads, leaf_pair

_check = functools.partial(check_grads, tolerances={"float64": (1e-9, 1e-11), "float32": (1e-4, 1e-5)})
_rng = np.random.default_rng(5)
_BATCH = _rng.standard_normal((2, 3, 4))  # distinct singular values, so the second derivative exists


# --- matrix_norm's ord=2, -2 and 'nuc' (the Array API's and PyTorch's; they used to be refused) ---
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("ord", [2, -2, "nuc"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_spectral_and_nuclear_norms_match_torch_to_second_order(torch, ord, keepdims, dtype):
    for values in (_BATCH, np.swapaxes(_BATCH, -1, -2)):  # wide and tall
        _check(torch, lambda x: ag.linalg.matrix_norm(x, ord, keepdims=keepdims),
               lambda x: torch.linalg.matrix_norm(x, ord, keepdim=keepdims), values, dtype)


@pytest.mark.parametrize("ord", [2, -2, "nuc"])
def test_spectral_and_nuclear_norms_pass_gradcheck_on_every_backend(device, ord):
    x = ag.tensor(_BATCH, requires_grad=True)
    fn = functools.partial(ag.linalg.matrix_norm, ord=ord)
    assert ag.gradcheck(fn, (x,))
    assert ag.gradgradcheck(fn, (x,))


@pytest.mark.parametrize("ord", [2, "nuc"])
def test_spectral_and_nuclear_norm_gradients_at_repeated_singular_values_match_torch(torch, ord):
    # At the identity every singular value is 1: the spectral norm's ties share its
    # gradient (I / n), the nuclear norm's is U V^T = I, as PyTorch's.
    x, tx = leaf_pair(torch, np.eye(3))
    ag.linalg.matrix_norm(x, ord).backward()
    torch.linalg.matrix_norm(tx, ord).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_nuclear_norm_of_empty_matrices_is_zero_and_spectral_refuses_them(torch):
    got = ag.linalg.matrix_norm(ag.zeros(2, 0, 3), "nuc")
    want = torch.linalg.matrix_norm(torch.zeros(2, 0, 3), "nuc")
    assert got.shape == tuple(want.shape) == (2,)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    with pytest.raises(ValueError, match=r"ord=-2 norm of a matrix with no rows or no columns is undefined; "
                                         r"the input has shape \(2, 0, 3\)"):
        ag.linalg.matrix_norm(ag.zeros(2, 0, 3), -2)


def test_matrix_norm_names_every_order_it_takes():
    with pytest.raises(ValueError, match=r"ord=3 is not supported; use 'fro', 'nuc', 1, -1, 2, -2, inf or -inf"):
        ag.linalg.matrix_norm(ag.ones(2, 2), 3)


# --- einsum: the letters for '...' ------------------------------------------------------------
def test_einsum_ellipsis_beside_every_capital_letter_matches_torch(torch):
    # The ellipsis's axes took spare letters from A-Z only, so with all 26 written there
    # were none left and a valid call was refused as a shape mismatch.
    subscripts = "...ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    values = _rng.standard_normal((2, 3) + (1,) * 25 + (2,))
    for spec in (subscripts, subscripts + "->..."):
        x, tx = leaf_pair(torch, values)
        y, ty = ag.einsum(spec, x), torch.einsum(spec, tx)
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12)
        cotangent = _rng.standard_normal(y.shape)
        y.backward(ag.tensor(cotangent))
        ty.backward(torch.tensor(cotangent))
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_einsum_with_more_axes_than_letters_says_so():
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY"  # 51, and '...' covers two more
    with pytest.raises(ValueError, match=r"needs 53 distinct subscripts \(with the 2 axes under '...'\), more than "
                                         "the 52 letters"):
        ag.einsum(letters + "...", ag.ones(*(1,) * 53))


# --- matrix_exp's gradient of an empty batch stays in the graph -------------------------------
@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 0), (0, 3, 3)])
def test_matrix_exp_second_derivative_of_an_empty_input_matches_torch(torch, shape):
    x, tx = leaf_pair(torch, np.zeros(shape))
    g, = ag.grad(ag.linalg.matrix_exp(x).sum(), x, create_graph=True)
    tg, = torch.autograd.grad(torch.linalg.matrix_exp(tx).sum(), tx, create_graph=True)
    assert g.requires_grad and tg.requires_grad
    gg, = ag.grad(g.sum(), x)
    tgg, = torch.autograd.grad(tg.sum(), tx)
    assert gg.shape == tuple(tgg.shape) == shape


# --- float16: refused by name where the backends' linalg kernels would get it (PyTorch refuses it too) ---
_KERNEL_FUNCTIONS = {  # the op each error names: the function's own, or what it calls (matrix_power(x, -2): inv)
    "inv": ag.linalg.inv, "det": ag.linalg.det, "slogdet": ag.linalg.slogdet, "cholesky": ag.linalg.cholesky,
    "qr": ag.linalg.qr, "eigh": ag.linalg.eigh, "eigvalsh": ag.linalg.eigvalsh, "svd": ag.linalg.svd,
    "svdvals": ag.linalg.svdvals, "matrix_rank": ag.linalg.matrix_rank, "pinv": ag.linalg.pinv,
    "solve": lambda x: ag.linalg.solve(x, x)}
_KERNEL_CALLS = sorted(_KERNEL_FUNCTIONS.items()) + [("inv", lambda x: ag.linalg.matrix_power(x, -2))]


@pytest.mark.parametrize("name, call", _KERNEL_CALLS)
def test_float16_matrices_are_refused_naming_the_function_and_the_fix(name, call):  # (numpy: strict has no float16)
    x = ag.eye(3, dtype=ag.float16)
    with pytest.raises(TypeError, match=rf"^{name}: float16 matrices are not supported .* convert first, as in "
                                        rf"{name}\(x\.astype\(ag\.float32\)\)"):
        call(x)


def test_float16_still_goes_through_the_functions_that_compute_it():
    x = ag.tensor(np.eye(3) * 0.5 + 0.1, dtype=ag.float16)
    for out, expected in ((ag.linalg.matrix_exp(x), ag.linalg.matrix_exp(x.astype(ag.float32))),
                          (ag.linalg.matrix_power(x, 3), ag.linalg.matrix_power(x.astype(ag.float32), 3))):
        assert out.dtype == ag.float16
        np.testing.assert_allclose(out.numpy().astype(np.float32), expected.numpy(), rtol=2e-3, atol=2e-3)
    reflections, tau = ag.tensor(np.tril(np.ones((3, 2)), -1), dtype=ag.float16), ag.zeros(2, dtype=ag.float16)
    assert ag.linalg.householder_product(reflections, tau).dtype == ag.float16


# --- matrix_transpose and Tensor.mT (the Array API's; PyTorch's .mT) ---
def test_mT_transposes_each_matrix_as_a_view_with_torch_gradients(device, torch):
    values = _rng.standard_normal((2, 3, 4))
    _check(torch, lambda x: x.mT * 2, lambda x: x.mT * 2, values, "float64", second_order=False)  # (linear)
    x = ag.tensor(values)
    np.testing.assert_array_equal(ag.linalg.matrix_transpose(x).numpy(), np.swapaxes(values, -1, -2))
    x.mT[1, 0, 2] = 7.0  # a view: the change reaches x
    assert x.numpy()[1, 2, 0] == 7.0


def test_matrix_transpose_needs_two_axes(device):
    with pytest.raises(ValueError, match=r"^matrix_transpose: expects matrices .* got a tensor of shape \(3,\)"):
        ag.ones(3).mT


@pytest.mark.parametrize("ord", [2, -2, "nuc"])
def test_a_float16_singular_value_norm_names_matrix_norm(ord):
    with pytest.raises(TypeError, match=r"^matrix_norm: float16 matrices are not supported"):
        ag.linalg.matrix_norm(ag.eye(2, dtype=ag.float16), ord)
