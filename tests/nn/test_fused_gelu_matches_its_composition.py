"""The exact GELU is one op (nn_fused.gelu), run through the backend's blockwise: its
values, gradients and second derivatives are the composition's it replaced,
x * erfc(x * -sqrt(1/2)) * 0.5, bit for bit, on inputs of many blocks, strided ones,
and the tails; and they match PyTorch's. erf and erfc, blockwise too, give one whole
call's values."""
import math
import warnings

import numpy as np
import pytest

import autograd as ag
import backends
import nn.functional as F
from autograd.ops import exponential
from autograd.ops.exponential import _erf, _erfc

from .torch_compare import named_rng

SPECIALS = [np.nan, np.inf, -np.inf, 0.0, -0.0, 0.5 * math.sqrt(2), 4 * math.sqrt(2), 6.0, -6.0, -40.0, 40.0]


def _composed(x):
    return x * ag.erfc(x * -math.sqrt(0.5)) * 0.5


def _inputs(dtype, name):
    rng = named_rng(name)
    flat = np.concatenate([rng.standard_normal(100_000) * 3, SPECIALS]).astype(dtype)
    return flat, rng.standard_normal((70, 33, 60)).astype(dtype).transpose(2, 0, 1)  # (strided)


def _value_and_grads(fn, values, incoming):
    x = ag.tensor(values, requires_grad=True)
    y = fn(x)
    (g,) = ag.grad(y, x, ag.tensor(incoming), create_graph=True)
    (gg,) = ag.grad((g * g).sum(), x)
    x2 = ag.tensor(values, requires_grad=True)
    (g_plain,) = ag.grad(fn(x2), x2, ag.tensor(incoming))
    return [a.numpy() for a in (y, g, gg, g_plain)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exact_gelu_gives_the_compositions_values_and_derivatives_bit_for_bit(dtype):
    for values in _inputs(dtype, f"gelu blocks {dtype.__name__}"):
        incoming = named_rng("gelu incoming").standard_normal(values.shape).astype(dtype)
        with np.errstate(invalid="ignore"):
            ours = _value_and_grads(F.gelu, values, incoming)
            composed = _value_and_grads(_composed, values, incoming)
        for a, b in zip(ours, composed):
            assert a.dtype == b.dtype == dtype
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype, lowest, highest", [(np.float32, -14.5, -12.9), (np.float64, -38.6, -37.0)])
def test_exact_gelu_where_erfc_is_subnormal_is_the_compositions(device, dtype, lowest, highest):
    """x * (erfc(..) * 0.5) halved a subnormal erfc, which rounds: -0.0 where the composition
    gives -1e-44 (x = -14.2236 in float32), on 9636 of these 20001 values."""
    values = np.linspace(lowest, highest, 20_001).astype(dtype)
    x = ag.tensor(values)
    np.testing.assert_array_equal(F.gelu(x).numpy(), _composed(x).numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exact_gelu_of_many_blocks_matches_torch(torch, dtype):
    values = named_rng("gelu torch").standard_normal((4, 64, 1000)).astype(dtype) * 3
    incoming = named_rng("gelu torch incoming").standard_normal(values.shape).astype(dtype)
    x, tx = ag.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    y, ty = F.gelu(x), torch.nn.functional.gelu(tx)
    y.backward(ag.tensor(incoming))
    ty.backward(torch.tensor(incoming))
    # (PyTorch's float32 takes 1 + erf(x / sqrt(2)), which cancels below 0: 1e-6 off there)
    tol = dict(rtol=1e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), **tol)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exact_gelu_second_derivative_by_gradgradcheck(dtype):
    x = ag.tensor(named_rng("gelu gradgrad").standard_normal(9) * 3, requires_grad=True)
    assert ag.gradcheck(F.gelu, (x,))
    assert ag.gradgradcheck(F.gelu, (x,))


@pytest.mark.parametrize("name, kernel", [("erf", _erf), ("erfc", _erfc)])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_erf_and_erfc_of_many_blocks_give_one_whole_calls_values(name, kernel, dtype):
    values = _inputs(dtype, f"{name} blocks")[0]
    with np.errstate(all="ignore"):
        wide = values.astype(np.float32) if dtype == np.float16 else values
        expected = kernel(backends.get("cpu"), wide).astype(dtype)
    # (the CPU backend's blocks; CuPy's erf is one kernel on the whole array)
    np.testing.assert_array_equal(getattr(ag, name)(ag.tensor(values, device="cpu")).numpy(), expected)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 3, 4, 7])
def test_the_rational_in_place_gives_the_composed_ones_bits(n, dtype):
    """erf's kernels evaluate Cody's rational functions in place on arrays
    (_rational_of_array); _rational, composed step by step, stays for Tensors: the same
    bits, on arrays and 0-d values, with overflow, NaN, infinities and zeros."""
    coefficients = {0: ((0.5, 1.5), (2.0,)), 1: ((0.5, 1.5, -2.5), (0.25, 3.0))}
    num, den = coefficients.get(n) or {3: (exponential._ERF_A, exponential._ERF_B),
                                       4: (exponential._ERF_P, exponential._ERF_Q),
                                       7: (exponential._ERF_C, exponential._ERF_D)}[n]
    rng = named_rng(f"rational {n} {np.dtype(dtype).name}")
    with np.errstate(all="ignore"):
        t = np.concatenate([rng.uniform(0, 6, 2000), [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, 1e30]]).astype(dtype)
        for value in (t, t[5], t[-3]):
            expected = exponential._rational(value, num, den, n)
            got = exponential._rational_of_array(value, num, den, n)
            assert np.asarray(got).dtype == np.asarray(expected).dtype
            assert np.asarray(got).tobytes() == np.asarray(expected).tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exact_gelu_at_the_infinities_is_quiet(dtype):
    # -inf * erfc(inf) = -inf * 0 ran outside the warnings-off block: NumPy's "invalid value in multiply"
    x = ag.tensor(np.array(SPECIALS, dtype), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = F.gelu(x)
        y.sum().backward()
    assert np.isnan(y.numpy()[SPECIALS.index(-np.inf)]) and np.isnan(x.grad.numpy()[SPECIALS.index(-np.inf)])
