"""Sums, means and products whose reduce goes past the dtype's range give inf (or NaN, where
inf meets -inf or 0) quietly, as PyTorch's: NumPy warned of overflow or an invalid value in
reduce. Forward against PyTorch 2.13, and the gradients of prod and cumprod stay quiet too,
with PyTorch's values or, on lines whose product overflows, the exact products of the others
(README: PyTorch's y / x_i is inf there)."""
import numpy as np
import pytest

import autograd as ag

BIG = {"float16": 300.0, "float32": 1e30, "float64": 1e200}
DTYPES = ["float16", "float32", "float64"]


def skip_float16_on_strict(device, dtype):
    if device == "strict" and dtype == "float16":
        pytest.skip("the strict backend has no float16")


# Where an overflow meets a cancellation or a zero, the result depends on the order of the
# steps: in order, top + top + -top + -top is inf and big * big * 0 is NaN, but CuPy's
# reductions and scans pair the terms in a tree ((top + top) + (-top + -top) is NaN) and
# multiply float32 in float64 (big * big * 0 is 0): README, known differences on CUDA. Those
# cases are PyTorch's order, checked where the backend keeps it.
def _in_order(device):
    return not device.startswith("cuda")


def sum_cases(dtype, device):
    top = float(np.finfo(dtype).max)
    return [[top, top, 1.0], [-top, -top], [np.inf, -np.inf, 1.0]] + ([[top, top, -top, -top]] if _in_order(device)
                                                                      else [])


def product_cases(dtype, device):
    big = BIG[dtype]
    return [[big, big, 2.0], [big, -big, 2.0, 0.5], [np.inf, 2.0], [np.inf, 0.0, 2.0], [np.inf, np.inf],
            [-np.inf, big, 0.0]] + ([[big, big, 0.0, 2.0]] if _in_order(device) else [])


REDUCTIONS = {
    "sum": (lambda x: ag.sum(x), lambda torch, t: torch.sum(t)),
    "sum-axis": (lambda x: ag.sum(ag.stack([x, x]), axis=1), lambda torch, t: torch.sum(torch.stack([t, t]), 1)),
    "Tensor.sum": (lambda x: x.sum(), lambda torch, t: t.sum()),
    "mean": (lambda x: ag.mean(x), lambda torch, t: torch.mean(t)),
    "cumsum": (lambda x: ag.cumsum(x, axis=0), lambda torch, t: torch.cumsum(t, 0)),
    "nansum": (lambda x: ag.nansum(x), lambda torch, t: torch.nansum(t)),
}

PRODUCTS = {
    "prod": (lambda x: ag.prod(x), lambda torch, t: torch.prod(t)),
    "prod-axis": (lambda x: ag.prod(ag.stack([x, x]), axis=1, keepdims=True),
                  lambda torch, t: torch.prod(torch.stack([t, t]), 1, keepdim=True)),
    "Tensor.prod": (lambda x: x.prod(), lambda torch, t: t.prod()),
    "cumprod": (lambda x: ag.cumprod(x, axis=0), lambda torch, t: torch.cumprod(t, 0)),
}


def assert_forward_matches(torch, device, ours, theirs, values, dtype):
    x = ag.tensor(np.array(values, dtype=dtype), device=device)
    expected = theirs(torch, torch.tensor(np.array(values, dtype=dtype))).numpy()
    np.testing.assert_array_equal(ours(x).numpy(), expected)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", list(REDUCTIONS))
def test_sums_past_the_range_are_quiet_and_match_pytorch(device, torch, op, dtype):
    skip_float16_on_strict(device, dtype)
    for values in sum_cases(dtype, device):
        assert_forward_matches(torch, device, *REDUCTIONS[op], values, dtype)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("dtype", ["float32", "float64"])  # (float16 multiplies in float32: README)
@pytest.mark.parametrize("op", list(PRODUCTS))
def test_products_past_the_range_are_quiet_and_match_pytorch(device, torch, op, dtype):
    for values in product_cases(dtype, device):
        assert_forward_matches(torch, device, *PRODUCTS[op], values, dtype)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("values", [
    [3.0, 2.0, 0.0], [np.inf, 0.0, 2.0], [-np.inf, 2.0, 0.0, 0.5], ["big", 2.0, 0.0], ["tiny", 1.0, "big", 10.0],
], ids=["zero", "inf-and-zero", "-inf-and-zero", "big-and-zero", "partial-products-overflow"])
def test_prod_gradients_with_overflow_or_inf_are_quiet_and_match_pytorch(device, torch, values, dtype):
    """Lines with a zero, or whose prefix and suffix products overflow where the product
    does not: PyTorch's gradients, with no NumPy warning (the prefix products warned)."""
    skip_float16_on_strict(device, dtype)
    values = np.array([{"big": BIG[dtype], "tiny": 1 / BIG[dtype]}.get(v, v) for v in values], dtype=dtype)
    x = ag.tensor(values, device=device, requires_grad=True)
    t = torch.tensor(values, requires_grad=True)
    ag.prod(x).backward(ag.tensor(np.array(0.75, dtype=dtype), device=device))
    torch.prod(t).backward(torch.tensor(0.75, dtype=t.dtype))
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=2e-3 if dtype == "float16" else 1e-6)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("dtype", DTYPES)
def test_gradients_of_products_past_the_range_are_quiet_and_exact(device, dtype):
    """A product past the range (inf): each gradient is the product of the others, inf
    only where that is past the range too (PyTorch's y / x_i is inf everywhere)."""
    skip_float16_on_strict(device, dtype)
    big = BIG[dtype]
    x = ag.tensor(np.array([big, big, 2.0], dtype=dtype), device=device, requires_grad=True)
    y = ag.prod(x)
    y.backward()
    assert y.item() == np.inf
    np.testing.assert_array_equal(x.grad.numpy(), np.array([2 * big, 2 * big, np.inf], dtype=dtype))
    x = ag.tensor(np.array([big, big, 2.0], dtype=dtype), device=device, requires_grad=True)
    ag.cumprod(x, axis=0).sum().backward()  # d/dx_0 of x0 + x0 x1 + x0 x1 x2 is 1 + 3 big, d/dx_1 3 big
    np.testing.assert_allclose(x.grad.numpy(), np.array([1 + 3 * big, 3 * big, np.inf], dtype=dtype),
                               rtol=2e-3)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("values", [[np.inf, 0.0, 0.0], [np.nan, 0.0, 2.0, 0.0], ["big", "big", 0.0, 0.0, 3.0],
                                    [0.0, "big", "big", 0.0]],
                         ids=["inf", "nan", "prefix-overflows", "inner-overflows"])
def test_prod_gradient_of_a_line_with_two_zeros_is_zero_as_pytorchs(device, torch, values, dtype):
    """Each product of the others in such a line has a zero factor: PyTorch's gradient is 0
    everywhere; the prefix products' inf * 0 gave NaN at the zeros."""
    values = np.array([BIG[dtype] if v == "big" else v for v in values], dtype=dtype)
    x = ag.tensor(values, device=device, requires_grad=True)
    t = torch.tensor(values, requires_grad=True)
    ag.prod(x).backward()
    torch.prod(t).backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_prod_second_derivatives_of_a_line_with_two_zeros_stay_exact(device):
    """d2 prod / dx_i dx_j at a line whose only zeros are x_i and x_j is the product of
    the rest (here 6): the zeros' fix keeps finite entries, so this stays (gradgradcheck)."""
    x = ag.tensor([0.0, 2.0, 0.0, 3.0], dtype="float64", device=device, requires_grad=True)
    (g,) = ag.grad(ag.prod(x), x, create_graph=True)
    (h0,) = ag.grad(g[0], x)
    np.testing.assert_array_equal(h0.numpy(), [0.0, 0.0, 6.0, 0.0])
    assert ag.gradgradcheck(ag.prod, (x,))
