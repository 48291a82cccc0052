"""erf, erfc and the exact gelu in float64 on a backend that works in cache blocks (NumPy,
and the strict guard) compute Cody's tail only on the elements past |x| = 0.5, gathered
and put back (exponential._by_range); elsewhere (CuPy) both ranges run everywhere and
the backend's where joins them (float32's, and float16's through them, are one formula on
either route). The two routes give the same bits, on every shape (0-d, empty, N-d, many
blocks) and dtype, with the specials; and the results match PyTorch's, with first and
second derivatives."""
import math

import numpy as np
import pytest

import autograd as ag
import nn.functional as F

from tests.nn.torch_compare import named_rng

SPECIALS = [np.nan, np.inf, -np.inf, 0.0, -0.0, 0.5, -0.5, 0.5000001, 4.0, -4.0, 4 * math.sqrt(2), 6.0, -6.0,
            27.3, -27.3, 40.0, -40.0, 1e-30, -1e-30]


def _values(dtype, shape, name):
    rng = named_rng(name)
    values = rng.standard_normal(shape) * rng.choice([0.3, 1.0, 3.0, 10.0], shape)
    flat = values.reshape(-1)
    flat[:len(SPECIALS)] = SPECIALS[:flat.size]
    with np.errstate(over="ignore"):
        return values.astype(dtype)


def _both_routes(op, x, monkeypatch):
    apart = op(ag.tensor(x)).numpy()
    with monkeypatch.context() as patch:
        patch.setattr(type(ag.tensor(x)._backend), "works_in_cache_blocks", False)
        joined = op(ag.tensor(x)).numpy()
    return apart, joined


@pytest.mark.parametrize("shape", [(), (0,), (1,), (3, 0, 2), (7, 11), (2, 3, 5, 7), (300_001,)])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("name", ["erf", "erfc", "gelu"])
def test_ranges_apart_give_the_joined_routes_bits(device, monkeypatch, name, dtype, shape):
    if name == "gelu" and dtype == np.float16:
        pytest.skip("gelu widens float16 before its op (nn.functional), so it is float32's case")
    if dtype == np.float16 and device == "strict":
        pytest.skip("the Array API standard has no float16")
    op = F.gelu if name == "gelu" else getattr(ag, name)
    x = _values(dtype, shape, f"ranges {name} {np.dtype(dtype).name} {shape}")
    apart, joined = _both_routes(op, x, monkeypatch)
    assert apart.dtype == joined.dtype == dtype and apart.shape == joined.shape == shape
    assert apart.tobytes() == joined.tobytes()


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 2e-5), (np.float64, 1e-14)])
@pytest.mark.parametrize("name", ["erf", "erfc", "gelu"])
def test_ranges_apart_match_torch(device, torch, name, dtype, rtol):
    """Against PyTorch in float64 (its float32 gelu, 1 + erf, cancels in the negative
    tail; so does its float64 one, so gelu's reference is x erfc(-x / sqrt 2) / 2). float32
    gelu's tail is good to 1e-5: erfc at x / sqrt 2 rounded to float32 (an error of 2u^2 ulp)."""
    x = _values(dtype, (4000,), f"ranges torch {name}")
    x = x[np.isfinite(x)]
    ours = (F.gelu if name == "gelu" else getattr(ag, name))(ag.tensor(x)).numpy()
    wide = torch.tensor(x.astype(np.float64))
    theirs = wide * 0.5 * torch.erfc(wide * -math.sqrt(0.5)) if name == "gelu" else getattr(torch, name)(wide)
    # CuPy flushes float32 subnormals to 0, so gelu's x * Phi(x) is 0 where Phi(x) is subnormal (|x| * tiny)
    atol = np.finfo(dtype).tiny * (16 if device.startswith("cuda") and dtype == np.float32 else 1)
    np.testing.assert_allclose(ours, theirs.numpy().astype(dtype), rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", ["erf", "erfc", "gelu"])
def test_first_and_second_derivatives_on_both_ranges(device, name):
    op = F.gelu if name == "gelu" else getattr(ag, name)
    x = ag.tensor(np.array([-3.0, -1.2, -0.49, -0.1, 0.2, 0.5001, 0.9, 2.5, 4.5]), requires_grad=True)
    assert ag.gradcheck(op, (x,))
    assert ag.gradgradcheck(op, (x,))
