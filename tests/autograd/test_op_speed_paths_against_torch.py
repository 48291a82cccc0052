"""The faster routes some ops take on the NumPy backend, checked against PyTorch with
inputs that reach them: the scatter-add of integer-array indices as single elements of
a flat array, whole-number powers of negative bases taken as |a| ** b with the sign put
back, and einsum of two large operands through a BLAS contraction."""
import numpy as np
import pytest

import autograd as ag
import nn.functional as F

torch = pytest.importorskip("torch")


def _grads_match(fn, torch_fn, arrays, rtol=1e-5, atol=1e-6):
    xs = [ag.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, ty = fn(*xs), torch_fn(*ts)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=rtol, atol=atol)
    cotangent = np.random.default_rng(7).standard_normal(tuple(ty.shape)).astype(arrays[0].dtype)
    (y * ag.tensor(cotangent)).sum().backward()
    (ty * torch.tensor(cotangent)).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol)


# --- scatter-add of integer arrays (the gradient of gathers) ----------------------------------
def test_gradient_of_one_index_array_picking_blocks_with_repeats_and_negatives(scatter_route):
    x = np.random.default_rng(0).standard_normal((6, 3, 4)).astype(np.float32)
    index = np.array([[0, -1, 2], [5, 0, 0], [-6, 3, -1]])  # repeats add up; -1 is row 5, -6 row 0
    _grads_match(lambda t: t[ag.tensor(index)], lambda t: t[torch.tensor(index)], [x])


def test_gradient_of_two_broadcast_index_arrays_with_negatives(scatter_route):
    x = np.random.default_rng(1).standard_normal((4, 5, 3)).astype(np.float64)
    rows, cols = np.array([[0], [-1], [3]]), np.array([[1, -2, 1, 4]])  # (3, 1) and (1, 4): (3, 4) picks
    _grads_match(lambda t: t[rows, cols], lambda t: t[torch.tensor(rows), torch.tensor(cols)], [x])


@pytest.fixture(params=["flat", "rows"])
def scatter_route(request, monkeypatch):
    """scatter_add's flat per-element route, and the row-wise one it leaves large gradients to."""
    if request.param == "rows":
        monkeypatch.setattr("backends.numpy_backend.FLAT_SCATTER_MAX", 0)
    return request.param


def test_embedding_gradient_accumulates_repeated_ids(scatter_route):
    weight = np.random.default_rng(2).standard_normal((50, 8)).astype(np.float32)
    ids = np.random.default_rng(3).integers(0, 50, (16, 40))  # 640 ids into 50 rows: many repeats
    _grads_match(lambda w: F.embedding(ag.tensor(ids), w), lambda w: torch.nn.functional.embedding(torch.tensor(ids), w),
                 [weight], rtol=1e-5, atol=1e-5)


# --- whole-number powers of negative bases ----------------------------------------------------
SPECIALS = [-0.0, 0.0, -np.inf, np.inf, np.nan, -1.0, -2.0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("exponent", [3, 4, 5, -3, -2, 2.5])
def test_power_of_negative_bases_matches_torch(exponent, dtype):
    base = np.random.default_rng(4).uniform(-3, 3, 200).astype(dtype)
    base[base == 0] = 1.5
    if exponent == 2.5:  # not whole: the plain power, NaN for negative bases
        base = np.abs(base)
    _grads_match(lambda a: a ** exponent, lambda a: a ** exponent, [base], rtol=2e-6 if dtype == "float32" else 1e-12)
    # signs of zeros, infinities and NaN as PyTorch gives them
    special = np.array(SPECIALS, dtype=dtype)
    x = ag.tensor(special)
    got = (x ** exponent).numpy()
    want = (torch.tensor(special) ** exponent).numpy()
    np.testing.assert_array_equal(got, want)
    # a NaN's sign bit too, but on CUDA: a GPU's invalid operation gives +NaN, x86's -NaN (IEEE 754 leaves it open)
    checked = ~np.isnan(want) if x.device.startswith("cuda") else np.ones(want.shape, bool)
    np.testing.assert_array_equal(np.signbit(got)[checked], np.signbit(want)[checked])


def _same_bits(a, b):
    """The same values, NaN where NaN, and the same signs (zeros' too) elsewhere."""
    return np.array_equal(a, b, equal_nan=True) and np.array_equal(np.signbit(a)[~np.isnan(b)],
                                                                    np.signbit(b)[~np.isnan(b)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("exponent", [2, 1, 0.5, -1])
def test_the_exponents_numpy_takes_apart_give_its_bits_on_every_backend(device, exponent, dtype):
    """NumPy's power, given one exponent, squares, copies, takes the root or the reciprocal
    for 2, 1, 0.5 and -1 (so (-0.0) ** 0.5 is -0.0, not pow's 0.0); each backend gives those
    bits. CUDA's pow is within 2 ulp and missed x ** 1 = x (3.0 gave 2.9999999999999996)."""
    rng = np.random.default_rng(5)
    base = np.concatenate([rng.standard_normal(500) * 10, rng.uniform(0, 4, 500), SPECIALS]).astype(dtype)
    with np.errstate(all="ignore"):  # (NumPy's warnings at the negative bases and zeros)
        want = base ** np.array(exponent, dtype)
        got = (ag.tensor(base) ** exponent).numpy()
        # array_api_strict calls np.power, whose loop (not only the ** operator) takes these
        # routes in NumPy 2.5 but not in 2.2, where the guard backend gives pow's bits instead
        plain_pow = np.power(base, np.full_like(base, exponent))
    assert got.dtype == want.dtype
    assert _same_bits(got, want) or (device == "strict" and _same_bits(got, plain_pow))
    x = ag.tensor([1.0, 2.0, 3.0, 0.5], dtype=dtype, requires_grad=True)
    (x ** 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.array([2.0, 4.0, 6.0, 1.0], dtype))


# --- einsum of two large operands -------------------------------------------------------------
@pytest.mark.parametrize("spec, shapes", [
    ("ij,ik->k", [(70, 90), (70, 60)]),
    ("ij,jk->k", [(80, 1), (90, 70)]),  # a size-1 axis broadcast against 90
    ("bij,bjk->bik", [(6, 30, 40), (6, 40, 20)]),
    ("...ij,...jk->...ik", [(3, 1, 20, 30), (4, 30, 25)]),
    ("ij,jk->ik", [(100, 80), (80, 90)]),
])
def test_large_two_operand_einsum_matches_torch(spec, shapes):
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(s) for s in shapes]
    assert sum(a.size for a in arrays) > 4096  # large enough for the contracted route
    _grads_match(lambda *xs: ag.einsum(spec, *xs), lambda *ts: torch.einsum(spec, *ts), arrays,
                 rtol=1e-10, atol=1e-10)
