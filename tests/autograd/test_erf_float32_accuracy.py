"""float32 erf and erfc (exponential._erf_float32, _erfc_float32: rational functions fitted
for float32, evaluated in float64, rounded once) are within an ulp of the exact value on
every binade of float32, subnormals and erfc's underflowing tail included, and dense over
the range where the functions are neither 0, 1 nor 2; they keep NaN, the infinities and the
sign of zero; erf is 1 from x = 4 on, and erfc 0 where it underflows. (Every float32 was
checked once so: at most 0.534 ulp off in erf, 0.799 in erfc; Cody's rational functions in
float32 arithmetic, before, were 3.4 and 9.4 ulp off.)"""
import math

import numpy as np
import pytest

import autograd as ag

inf, nan = math.inf, math.nan
_F32 = np.float32


def _every_binade():
    """Every 4099th float32 bit pattern of either sign, 0 to inf (1.04 million values)."""
    magnitudes = np.arange(0, 0x7F800000, 4099, dtype=np.uint32).view(_F32)
    return np.concatenate([magnitudes, -magnitudes])


def _dense():
    """Where erf and erfc are neither 0, 1 nor 2 in float32 (erf is 1 from 3.9192, erfc
    rounds to 0 past 10.0542): 600,001 evenly spaced values."""
    return np.linspace(-4.2, 10.3, 600_001).astype(_F32)


def _exact(name, x):
    """The function in float64 (math's, a few float64 ulp off: far below a float32 ulp)."""
    return np.frompyfunc(getattr(math, name), 1, 1)(x.astype(np.float64)).astype(np.float64)


def _ulps(got, want):
    """|got - want| in units of the float32 spacing at want (the subnormals' below 2^-126)."""
    return np.abs(got.astype(np.float64) - want) / np.spacing(np.abs(want).astype(_F32)).astype(np.float64)


@pytest.mark.parametrize("name", ["erf", "erfc"])
def test_float32_is_within_an_ulp_of_the_exact_value(device, name):
    x = np.concatenate([_every_binade(), _dense()])
    if device.startswith("cuda"):  # (CuPy compiles with -ftz=true: float32 subnormals read as 0)
        tiny = np.finfo(_F32).smallest_normal
        x = x[(x == 0) | (np.abs(x) >= tiny)]
    want = _exact(name, x)
    got = getattr(ag, name)(ag.tensor(x)).numpy()
    assert got.dtype == _F32
    if device.startswith("cuda"):
        got, want = got[(want == 0) | (np.abs(want) >= tiny)], want[(want == 0) | (np.abs(want) >= tiny)]
    off = _ulps(got, want)
    worst = int(np.argmax(off))
    assert off[worst] <= 1, f"{name}({x[worst]!r}) = {got[worst]!r}, exactly {want[worst]!r}: {off[worst]:.2f} ulp"


def test_float32_special_values(device):
    """NaN, the infinities, the zeros' signs, and where erf saturates and erfc underflows."""
    x = np.array([nan, inf, -inf, 0.0, -0.0, 4.0, -4.0, 1e30, -1e30, 10.13, -10.13, 1e-45, -1e-45], dtype=_F32)
    erf = ag.erf(ag.tensor(x)).numpy()
    erfc = ag.erfc(ag.tensor(x)).numpy()
    tiny = x[11]  # (erf(x) = 2 x / sqrt(pi) rounds to x at the smallest subnormal)
    if not device.startswith("cuda"):  # (where subnormals read as 0)
        assert erf[11] == tiny and erf[12] == -tiny
    np.testing.assert_array_equal(erf[:11], np.array([nan, 1, -1, 0, 0, 1, -1, 1, -1, 1, -1], dtype=_F32))
    np.testing.assert_array_equal(np.signbit(erf[3:5]), [False, True])
    np.testing.assert_array_equal(erfc, np.array([nan, 0, 2, 1, 1, math.erfc(4.0), 2, 0, 2, 0, 2, 1, 1], dtype=_F32))
