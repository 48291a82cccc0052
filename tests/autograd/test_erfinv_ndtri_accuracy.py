"""erfinv and ndtri (autograd/ops/special_functions.py) against mpmath on dense grids that
cross every seam of their piecewise approximations: |x| = 1/2 and p = 1/4, 3/4 (center and
tail), s = sqrt(-log q) = 3 (the tail's near and far fits), q = 1/2, and the tail down to the
smallest subnormal; and their special values where only some elements need the tail, on
every backend (the tail and its far part are computed only where needed)."""
import math

import numpy as np
import pytest

import autograd as ag
import backends

inf, nan = math.inf, math.nan
mp = pytest.importorskip("mpmath")

_RNG = np.random.default_rng(20240614)
_SEAM_Q = math.exp(-9.0)  # erfc(y) at the seam s = 3 of the tail's two fits


def _around(value, n, relative=1e-9):
    """value, its float64 neighbours, and points up to ``relative`` away on each side."""
    steps = np.nextafter(value, [-inf, inf])
    return np.concatenate([[value], steps, value * (1 + _RNG.uniform(-relative, relative, n))])


def _erfcinv(q):
    """The y with erfc(y) = q, to 40 digits: Newton's steps on log erfc(y) = log q."""
    q = mp.mpf(q)
    log_q = mp.log(q)
    y = mp.sqrt(-log_q) if q < 0.5 else mp.erfinv(1 - q)
    for _ in range(60):
        step = (mp.log(mp.erfc(y)) - log_q) * mp.erfc(y) / (-2 / mp.sqrt(mp.pi) * mp.exp(-y * y))
        y -= step
        if abs(step) < mp.mpf(10) ** -35 * y:
            return y
    raise AssertionError(f"no convergence at q = {q}")


@mp.workdps(40)
def _erfinv_exact(x):
    x = mp.mpf(x)
    return float(mp.erfinv(x) if abs(x) <= 0.5 else mp.sign(x) * _erfcinv(1 - abs(x)))


@mp.workdps(40)
def _ndtri_exact(p):
    p = mp.mpf(p)
    if abs(p - 0.5) <= 0.25:
        return float(mp.sqrt(2) * mp.erfinv(2 * p - 1))
    return float((-1 if p < 0.5 else 1) * mp.sqrt(2) * _erfcinv(2 * min(p, 1 - p)))


def _ulps(got, want, dtype):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return np.abs(got - want) / np.spacing(np.abs(want).astype(dtype)).astype(np.float64)


ERFINV_POINTS = np.concatenate([
    _RNG.uniform(-1, 1, 400), _around(0.5, 40), -_around(0.5, 40), 10.0 ** -_RNG.uniform(0, 300, 60),
    1 - _around(_SEAM_Q, 40), -(1 - 10.0 ** _RNG.uniform(-16, math.log10(0.5), 200)),
    1 - 2.0 ** -np.arange(1, 54)])
NDTRI_POINTS = np.concatenate([
    _RNG.uniform(0, 1, 400), _around(0.25, 40), _around(0.75, 40), _around(_SEAM_Q / 2, 40),
    1 - _around(_SEAM_Q / 2, 40), 10.0 ** _RNG.uniform(-323, math.log10(0.25), 200),
    [5e-324, 1e-323, 1e-320, 1e-310, 2.2250738585072014e-308], 1 - 10.0 ** _RNG.uniform(-16, -1, 60)])


@pytest.mark.parametrize("name, fn, points, exact", [
    ("erfinv", ag.erfinv, ERFINV_POINTS, _erfinv_exact),
    ("ndtri", ag.special.ndtri, NDTRI_POINTS, _ndtri_exact)])
def test_float64_is_within_a_few_ulp_of_mpmath_across_the_seams(name, fn, points, exact):
    got = fn(ag.tensor(points, dtype="float64")).numpy()
    assert _ulps(got, [exact(v) for v in points], np.float64).max() <= 6, name


@pytest.mark.parametrize("name, fn, points, exact", [
    ("erfinv", ag.erfinv, ERFINV_POINTS, _erfinv_exact),
    ("ndtri", ag.special.ndtri, NDTRI_POINTS, _ndtri_exact)])
def test_float32_is_within_a_few_ulp_of_mpmath(name, fn, points, exact):
    """float32 computes in float32, down to its own smallest subnormal."""
    points = np.unique(points.astype(np.float32))
    points = points[np.abs(points) < 1] if name == "erfinv" else points[(points > 0) & (points < 1)]
    want = np.array([exact(float(v)) for v in points])
    if backends.get_default().device.startswith("cuda"):
        # CuPy compiles with -ftz=true: float32 subnormals, given or computed, read as 0
        tiny = np.finfo(np.float32).smallest_normal
        normal = ((points == 0) | (np.abs(points) >= tiny)) & ((want == 0) | (np.abs(want) >= tiny))
        points, want = points[normal], want[normal]
    got = fn(ag.tensor(points)).numpy()
    assert got.dtype == np.float32
    assert _ulps(got, want, np.float32).max() <= 4, name


def test_special_values_beside_ordinary_ones(device):
    """+-1, beyond, NaN and -0.0 among elements of the center and of both tail fits, in
    every backend, with 0-d and empty tensors (the tail is computed only where needed)."""
    x = [-1.0, 1.0, 1.0 + 2 ** -52, -2.0, nan, -0.0, 0.3, 0.9, -(1 - 1e-6), 1 - 2 ** -53]
    want = [-inf, inf, nan, nan, nan, -0.0] + [_erfinv_exact(v) for v in x[6:]]
    got = ag.erfinv(ag.tensor(x, dtype="float64")).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-15)
    assert np.signbit(got[5])
    p = [0.0, 1.0, -0.5, 1.5, nan, 0.5, 5e-324, 0.1, 0.9, 1 - 2 ** -53]
    want = [-inf, inf, nan, nan, nan, 0.0] + [_ndtri_exact(v) for v in p[6:]]
    np.testing.assert_allclose(ag.special.ndtri(ag.tensor(p, dtype="float64")).numpy(), want, rtol=1e-15)
    for value in (0.3, 0.9, 1e-300, 1.0, -2.0):
        got = ag.erfinv(ag.tensor(value, dtype="float64"))
        assert got.shape == ()
        np.testing.assert_allclose(got.numpy(), float(ag.erfinv(ag.tensor([value], dtype="float64")).numpy()[0]))
    for fn in (ag.erfinv, ag.special.ndtri):
        assert fn(ag.tensor(np.zeros((0, 3)), dtype="float64")).shape == (0, 3)
