"""Two faster routes, each checked for the bits of the route it replaced:

- float fmod, remainder and floor_divide on the NumPy backend run as whole-array passes
  from an exact closed form of fmod(|a|, |b|) (backends/numpy_division.py), NumPy's own
  loop only for the elements outside it: equal to NumPy's to the bit (signed zeros and NaN
  payloads included) on random bit patterns, exact multiples and their neighbours,
  quotients around the closed form's limits, the special values, broadcasting and
  strided operands, in float16, float32 and float64, on every backend;
- histogram with a number of bins finds each value's bin by arithmetic, put right
  against the edges, in place of a binary search: NumPy's counts, with values on the
  edges, the last edge, outside the range, NaN and infinities, and the binary search
  where the arithmetic could be a whole bin off.
"""
import numpy as np
import pytest

import autograd as ag
import backends
from autograd.ops import statistics
from backends import numpy_division
from backends.numpy_backend import NumpyBackend

OPS = ["fmod", "remainder", "floor_divide"]
FLOATS = [np.float16, np.float32, np.float64]
BITS = {2: np.uint16, 4: np.uint32, 8: np.uint64}
N = 4 * numpy_division.FAST_MIN_SIZE  # large enough for the passes


def _same_bits(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    unsigned = BITS[want.dtype.itemsize]
    differ = got.view(unsigned) != want.view(unsigned)
    assert not differ.any(), (f"{differ.sum()} of {differ.size} differ, first at {np.argwhere(differ)[:3].tolist()}: "
                              f"got {got[differ][:3]}, want {want[differ][:3]}")


def _reference(op, a, b):
    with np.errstate(all="ignore"):
        return getattr(np, op)(a, b)


def _check_kernel(op, a, b):
    """The NumPy backend's kernel, on arrays, against NumPy's loop."""
    assert numpy_division.applies(np.asarray(a), np.asarray(b))  # (the passes, not the loop, ran)
    with np.errstate(all="ignore"):
        got = getattr(NumpyBackend(), op)(a, b)
    _same_bits(got, _reference(op, a, b))


def _check_op(op, a, b, device):
    """The op on ``device``: NumPy's bits on the NumPy backend, NumPy's values elsewhere
    (the other backends' kernels, whose NaNs may carry other bits, are not these passes)."""
    if a.dtype == np.float16 and device != "cpu":
        pytest.skip("float16 is the NumPy backend's alone here (strict has none)")
    with np.errstate(all="ignore"):
        got = getattr(ag, op)(ag.tensor(a), ag.tensor(b)).numpy()
    _same_on(device, got, _reference(op, a, b))


def _same_on(device, got, want):
    if device == "cpu":
        _same_bits(got, want)
    else:
        np.testing.assert_array_equal(got, want)


def _random_bits(rng, dtype, n):
    """Uniformly random bit patterns: every exponent, subnormals, both zeros and both
    infinities, NaNs with payloads, either sign."""
    unsigned = BITS[np.dtype(dtype).itemsize]
    return rng.integers(0, np.iinfo(unsigned).max, n, dtype=unsigned, endpoint=True).view(dtype)


def _specials(dtype):
    info = np.finfo(dtype)
    values = [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, info.tiny, -info.tiny, info.smallest_subnormal,
              -info.smallest_subnormal, 3 * info.smallest_subnormal, info.max, -info.max, 1.0, -1.0, 0.5, -0.5,
              3.0, -3.0, 2.5, -7.0, 0.1, -0.1, info.eps, 1 - info.epsneg, -(1 + info.eps), 2.0 ** 11, 6.0,
              float(np.nextafter(dtype(6), dtype(7)))]
    values += [s * 2.0 ** k for k in (24, 26, 29, 53, 60) for s in (1, -1)]
    with np.errstate(over="ignore"):
        return np.array(values, dtype=np.float64).astype(dtype)  # (past float16's max: inf)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("op", OPS)
def test_random_bit_patterns_give_numpys_bits(op, dtype):
    rng = np.random.default_rng(0)
    a, b = _random_bits(rng, dtype, 1 << 16), _random_bits(rng, dtype, 1 << 16)
    with backends.default_device("cpu"):  # (NumPy's bits, NaN payloads too: the NumPy backend's)
        _check_op(op, a, b, "cpu")
    _check_kernel(op, a, b)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("op", OPS)
def test_every_pair_of_special_values_gives_numpys_bits(op, dtype):
    """Signed zeros, infinities, NaNs, subnormals, the largest float and quotients past
    2**24, 2**26, 2**29 and 2**53 as dividend and as divisor, each pair many times over."""
    values = _specials(dtype)
    a, b = (np.tile(grid.ravel(), N // values.size ** 2 + 1) for grid in np.meshgrid(values, values))
    _check_kernel(op, a, b)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("largest", [2 ** 8, 2 ** 20, 2 ** 25, 2 ** 26 + 3, 2 ** 29 + 3, 2 ** 40, 2 ** 62])
def test_multiples_and_their_neighbours_give_numpys_bits(op, dtype, largest):
    """a = q b for whole q up to ``largest`` (past each dtype's exact quotient there), and
    the floats on either side of it: where a rounded quotient lands on a whole number,
    one too large, and the closed form's limits (2**26 for float64, 2**29 for float32)."""
    rng = np.random.default_rng(largest)
    b = (rng.standard_normal(N) * rng.choice([1e-3, 1.0, 1e3], N)).astype(dtype)
    q = np.floor(rng.random(N) * largest) * rng.choice([-1, 1], N)
    with np.errstate(all="ignore"):  # (float16 overflows past its max: inf, then the largest float)
        exact = (q * b.astype(np.float64)).astype(dtype)
        neighbours = (np.nextafter(exact, dtype(np.inf)), np.nextafter(exact, dtype(-np.inf)))
    for a in (exact, *neighbours):
        _check_kernel(op, a, b)
        _check_kernel(op, a, -b)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("op", OPS)
def test_typical_data_and_tiny_and_huge_quotients_give_numpys_bits(op, dtype, device):
    rng = np.random.default_rng(1)
    a = (rng.standard_normal(N) * 10).astype(dtype)
    b = rng.standard_normal(N).astype(dtype)
    _check_op(op, a, b, device)
    info = np.finfo(dtype)
    tiny = (rng.random(N) * 64 * float(info.smallest_subnormal)).astype(dtype)  # subnormal dividends
    huge = (rng.random(N) * float(info.max)).astype(dtype)
    for x, y in ((tiny, b), (b, tiny), (huge, b), (b, huge), (huge, tiny), (tiny, huge)):
        _check_kernel(op, x, y)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("op", OPS)
def test_broadcast_scalar_and_strided_operands_give_numpys_bits(op, dtype, device):
    rng = np.random.default_rng(2)
    column = (rng.standard_normal((300, 1)) * 100).astype(dtype)
    row = (rng.standard_normal((1, 200)) * 3).astype(dtype)
    _check_op(op, column, row, device)
    _check_op(op, row * 7, column, device)
    grid = (rng.standard_normal((120, 150)) * 50).astype(dtype)
    for scalar in (2.5, -0.375, 0.0, -0.0, np.inf, -np.inf, np.nan):
        s = np.array(scalar, dtype)
        _check_op(op, grid, s, device)
        _check_op(op, s, grid, device)
        with np.errstate(all="ignore"):
            got = getattr(ag, op)(ag.tensor(grid), scalar).numpy()  # a Python float takes the tensor's dtype
        _same_on(device, got, _reference(op, grid, s))
    _check_op(op, grid[::2, ::3], grid[1::2, ::3], device)
    _check_op(op, grid.T, grid.T[::-1], device)
    _check_op(op, np.array(7.5, dtype), np.array(-2.0, dtype), device)  # 0-d: NumPy's loop
    _check_kernel(op, grid[::2, ::3], grid[1::2, ::3])
    _check_kernel(op, column, row)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_remainder_and_fmod_gradients_are_numpys_quotients(dtype, device):
    """remainder's gradient in b is -floor_divide(a, b), fmod's -trunc(a / b)."""
    rng = np.random.default_rng(3)
    a_np = (rng.standard_normal(N) * 20).astype(dtype)
    b_np = rng.standard_normal(N).astype(dtype)
    cotangent = rng.standard_normal(N).astype(dtype)
    for op, quotient in (("remainder", np.floor_divide(a_np, b_np)), ("fmod", np.trunc(a_np / b_np))):
        a, b = ag.tensor(a_np, requires_grad=True), ag.tensor(b_np, requires_grad=True)
        getattr(ag, op)(a, b).backward(ag.tensor(cotangent))
        _same_bits(a.grad.numpy(), cotangent)
        _same_bits(b.grad.numpy(), -cotangent * quotient)


def test_integers_keep_numpys_loop_and_its_values(device):
    rng = np.random.default_rng(4)
    a = rng.integers(-1000, 1000, N)
    b = rng.integers(1, 50, N) * rng.choice([-1, 1], N)
    for op in OPS:
        assert not numpy_division.applies(a, b)
        np.testing.assert_array_equal(getattr(ag, op)(ag.tensor(a), ag.tensor(b)).numpy(), getattr(np, op)(a, b))


def test_integer_division_by_zero_still_raises():
    with pytest.raises(ZeroDivisionError, match="remainder: integer division by zero"):
        ag.remainder(ag.tensor(np.arange(N)), ag.tensor(np.zeros(N, np.int64)))


# --- histogram -------------------------------------------------------------------------------------------
def _histogram_data(rng, dtype, n, loc, scale, bins):
    """Normal values, a third as many again lying exactly on the edges NumPy makes for them."""
    data = (loc + scale * rng.standard_normal(n)).astype(dtype)
    edges = np.histogram_bin_edges(data, bins)
    return np.concatenate([data, edges[rng.integers(0, len(edges), n // 3)].astype(dtype)])


@pytest.mark.parametrize("dtype", FLOATS + [np.int32])
@pytest.mark.parametrize("bins", [1, 3, 10, 64, 5000])
@pytest.mark.parametrize("loc, scale", [(0.0, 1.0), (100.0, 7.0), (-3.0, 1e-3)])
def test_even_bins_count_as_numpys(dtype, bins, loc, scale, device):
    if dtype == np.float16 and (device != "cpu" or bins > 64 or scale < 1):
        pytest.skip("strict has no float16; float16's edges merge for many bins or a narrow range, which "
                    "NumPy refuses")
    rng = np.random.default_rng(bins)
    data = _histogram_data(rng, np.float64, 20000, loc, scale * (1000 if dtype == np.int32 else 1), bins)
    data = np.round(data).astype(dtype) if dtype == np.int32 else data.astype(dtype)
    for kwargs in ({}, {"range": (loc - scale, loc + 0.5 * scale)}, {"density": True},
                   {"weights": rng.standard_normal(data.size).astype(np.float32)}):
        hist, edges = ag.histogram(ag.tensor(data), bins,
                                   **{k: ag.tensor(v) if k == "weights" else v for k, v in kwargs.items()})
        want_hist, want_edges = np.histogram(data, bins, **kwargs)
        np.testing.assert_array_equal(edges.numpy(), want_edges.astype(edges.numpy().dtype))
        if "weights" in kwargs or "density" in kwargs:  # (float16 data: a float16 density)
            np.testing.assert_allclose(hist.numpy(), want_hist, rtol=4 * np.finfo(hist.numpy().dtype).eps)
        else:
            np.testing.assert_array_equal(hist.numpy(), want_hist)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_even_bins_leave_out_nan_infinities_and_values_outside(dtype, device):
    rng = np.random.default_rng(5)
    data = np.concatenate([rng.standard_normal(10000), [np.nan, np.inf, -np.inf, -2.0, 2.0, 1.5, -1.5]]).astype(dtype)
    hist, _ = ag.histogram(ag.tensor(data), 8, range=(-1.5, 1.5))
    np.testing.assert_array_equal(hist.numpy(), np.histogram(data, 8, range=(-1.5, 1.5))[0])  # 1.5: last bin
    weights = rng.standard_normal(data.size)
    weights[-7:-5] = np.nan  # the weight of a value left out adds nothing, NaN or not
    hist, _ = ag.histogram(ag.tensor(data), 8, range=(-1.5, 1.5), weights=ag.tensor(weights))
    want = np.histogram(data, 8, range=(-1.5, 1.5), weights=weights)[0]
    if device.startswith("cuda"):  # (CuPy's scatter-add sums each bin's 1,200 weights in another order)
        np.testing.assert_allclose(hist.numpy(), want, rtol=0, atol=1e-11)
    else:
        np.testing.assert_array_equal(hist.numpy(), want)


def test_even_bins_take_arithmetic_on_typical_data_and_the_search_where_it_could_miss():
    """A million float32 normals in 50 bins go by arithmetic; 100 float32 bins over a
    range narrow beside its distance from 0 (edges a float or two apart) by binary search,
    and still count as NumPy does."""
    backend = NumpyBackend()
    data = np.random.default_rng(6).standard_normal(1 << 20).astype(np.float32)
    edges = np.histogram_bin_edges(data, 50).astype(np.float32)
    inside = np.ones(data.shape, bool)
    where_to = statistics._even_bin(backend, data, edges, inside, True)
    np.testing.assert_array_equal(np.bincount(where_to, minlength=50), np.histogram(data, 50)[0])
    near = (1000 + np.random.default_rng(7).random(50000) * 0.01).astype(np.float32)
    near_edges = np.histogram_bin_edges(near, 100).astype(np.float32)
    assert statistics._even_bin(backend, near, near_edges, np.ones(near.shape, bool), True) is None
    np.testing.assert_array_equal(ag.histogram(ag.tensor(near), 100)[0].numpy(), np.histogram(near, 100)[0])


def test_float16_density_is_worked_in_float32():
    """Counts past 65504 and count / width overflowed float16 on the way, and the density
    came out all 0 (a sum of inf); NumPy's, in float64, rounded to float16."""
    data = np.random.default_rng(8).standard_normal(100000).astype(np.float16)
    hist, _ = ag.histogram(ag.tensor(data), 4, density=True)
    assert hist.dtype == ag.float16
    want = np.histogram(data, 4, density=True)[0].astype(np.float32).astype(np.float16)
    np.testing.assert_array_equal(hist.numpy(), want)
