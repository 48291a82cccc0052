"""Findings of the review of the day's fixes (9908435..c6d46ce): values that the fixes
made wrong and their own tests did not reach."""
import numpy as np
import pytest

import autograd as ag


# --- the divisor's gradient of a / b in float16 ------------------------------------------------

@pytest.mark.parametrize("a, b, seed", [(3000.0, 10.0, 300.0), (60000.0, 60.0, 1000.0), (-500.0, 4.0, 2000.0)])
def test_float16_divisors_gradient_is_finite_where_only_gy_times_the_output_overflows(torch, a, b, seed):
    """(gy * out) / b multiplied gy * out in float16: 300 * 300 passes 65504, so the gradient
    was -inf where PyTorch's (and the exact one, -9000) is finite, as under a loss scale."""
    a, b, seed = (np.array([v], dtype=np.float16) for v in (a, b, seed))
    xa, xb = ag.tensor(a, requires_grad=True), ag.tensor(b, requires_grad=True)
    ga, gb = ag.grad(xa / xb, [xa, xb], ag.tensor(seed))
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ref_a, ref_b = torch.autograd.grad(ta / tb, [ta, tb], torch.tensor(seed))
    assert gb.dtype == ag.float16
    np.testing.assert_array_equal(ga.numpy(), ref_a.numpy())
    exact = -(seed.astype(np.float64) * a / b ** 2)
    np.testing.assert_allclose(gb.numpy(), exact, rtol=1e-3)  # PyTorch's rounds twice, ours once
    np.testing.assert_allclose(gb.numpy(), ref_b.numpy(), rtol=2e-3)


def test_float16_divisors_second_derivative_matches_float64():
    """The float32 detour is made of ops, so the gradient's own gradients stay right."""
    a = np.array([3000.0, 0.0, -2.0], dtype=np.float16)
    b = np.array([10.0, 0.25, 0.5], dtype=np.float16)
    seed = np.array([300.0, 2.0, 1.0], dtype=np.float16)

    def second(dtype):
        xa, xb = ag.tensor(a.astype(dtype), requires_grad=True), ag.tensor(b.astype(dtype), requires_grad=True)
        _, gb = ag.grad(xa / xb, [xa, xb], ag.tensor(seed.astype(dtype)), create_graph=True)
        return [g.numpy().astype(np.float64) for g in ag.grad(gb.sum(), [xa, xb])]

    for got, want in zip(second(np.float16), second(np.float64)):
        np.testing.assert_allclose(got, want, rtol=2e-3)


# --- an even median of subnormal values --------------------------------------------------------

@pytest.mark.parametrize("values", [np.array([5e-324, 5e-324]), np.array([3e-5, 1.0, 3e-5, -1.0], dtype=np.float16),
                                    np.array([7e-45, 7e-45, 1e-45, 1.0], dtype=np.float32)],
                         ids=["float64", "float16", "float32"])
def test_even_median_of_subnormal_values_is_numpys(values):
    """Halving each middle value before adding lost the last bit of a subnormal: the median
    of two 5e-324 was 0, and that of two float16 3e-5 was 3.004e-5, outside the values."""
    got = ag.median(ag.tensor(values))
    assert got.dtype == ag.tensor(values).dtype
    want = np.median(values).astype(values.dtype)
    if values.dtype == np.float32 and got.device.startswith("cuda"):
        # CuPy compiles with -ftz=true: float32 subnormals read and come out as 0
        np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=np.finfo(np.float32).smallest_normal)
    else:
        np.testing.assert_array_equal(got.numpy(), want)
