"""ag.linalg.solve_triangular against torch.linalg.solve_triangular: values for upper and
lower, left and right, unitriangular, batch broadcasting, sizes that take the blocked
kernel's whole blocks and its short last one; only the named triangle read; gradients to
second order (gA triangular, as PyTorch's); the errors; and the backend kernel's accuracy
against a plain substitution's."""
import numpy as np
import pytest

import autograd as ag
import backends
from backends import triangular_solve
from backends.base import Backend
from tests.autograd.torch_pairs import leaf_pair

_rng = np.random.default_rng(23)


def _garbage_outside(values, upper, unitriangular):
    """``values`` with NaN where solve_triangular must not read: the other triangle, and the
    diagonal where ``unitriangular``."""
    n = values.shape[-1]
    unread = np.tril(np.ones((n, n), bool), -1) if upper else np.triu(np.ones((n, n), bool), 1)
    if unitriangular:
        unread |= np.eye(n, dtype=bool)
    return np.where(unread, np.nan, values)


def _triangular(shape, upper, unitriangular):
    """Well-conditioned triangular matrices (a dominant diagonal), NaN in what is not read."""
    n = shape[-1]
    values = _rng.standard_normal(shape) / np.sqrt(n) + 2 * np.eye(n)
    return _garbage_outside(values, upper, unitriangular)


def _read(values, upper, unitriangular):
    """The matrix solve_triangular sees in ``values``."""
    part = np.triu(np.nan_to_num(values), 1 if unitriangular else 0) if upper else \
        np.tril(np.nan_to_num(values), -1 if unitriangular else 0)
    return part + np.eye(values.shape[-1]) if unitriangular else part


@pytest.mark.parametrize("n", [1, 5, 32, 64, 70])  # (one short block; whole blocks; whole ones and a short one)
@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unitriangular", [False, True])
def test_values_match_torch_and_only_the_named_triangle_is_read(device, torch, n, upper, left, unitriangular):
    # solve_triangular was missing: ag.linalg had only the general solve, O(n^3) where this is O(n^2 k)
    a = _triangular((3, 1, n, n), upper, unitriangular)
    b = _rng.standard_normal((2, n, 4) if left else (2, 4, n))  # batch axes broadcast: (3, 1) with (2,)
    x = ag.linalg.solve_triangular(ag.tensor(a), ag.tensor(b), upper=upper, left=left, unitriangular=unitriangular)
    want = torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(b), upper=upper, left=left,
                                         unitriangular=unitriangular)
    assert x.shape == tuple(want.shape) == (3, 2) + b.shape[-2:] and x.dtype == ag.float64
    np.testing.assert_allclose(x.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)
    seen = _read(a, upper, unitriangular)
    np.testing.assert_allclose(seen @ x.numpy() if left else x.numpy() @ seen, np.broadcast_to(b, x.shape),
                               atol=1e-12)


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unitriangular", [False, True])
def test_gradients_match_torch_to_second_order_and_ga_is_triangular(torch, upper, left, unitriangular):
    n = 37  # a whole block and a short one
    a_values = _triangular((2, n, n), upper, unitriangular)
    a_values = np.where(np.isnan(a_values), 5.0, a_values)  # entries not read, which take no gradient
    a, ta = leaf_pair(torch, a_values)
    b, tb = leaf_pair(torch, _rng.standard_normal((n, 3) if left else (3, n)))
    x = ag.linalg.solve_triangular(a, b, upper=upper, left=left, unitriangular=unitriangular)
    tx = torch.linalg.solve_triangular(ta, tb, upper=upper, left=left, unitriangular=unitriangular)
    cotangent = _rng.standard_normal(x.shape)
    ga, gb = ag.grad(x, (a, b), ag.tensor(cotangent), create_graph=True)
    tga, tgb = torch.autograd.grad(tx, (ta, tb), torch.tensor(cotangent), create_graph=True)
    np.testing.assert_allclose(ga.numpy(), tga.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gb.numpy(), tgb.detach().numpy(), rtol=1e-10, atol=1e-12)
    unread = np.isnan(_garbage_outside(np.zeros((n, n)), upper, unitriangular))
    assert not ga.numpy()[..., unread].any()
    v = _rng.standard_normal(a_values.shape)
    second = ag.grad((ga * ag.tensor(v)).sum() + (gb * gb).sum(), (a, b))
    t_second = torch.autograd.grad((tga * torch.tensor(v)).sum() + (tgb * tgb).sum(), (ta, tb))
    for got, want in zip(second, t_second):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("left", [True, False])
def test_gradcheck_and_gradgradcheck(device, upper, left):
    n = 4
    a = ag.tensor(np.nan_to_num(_triangular((2, n, n), upper, False)), requires_grad=True)
    b = ag.tensor(_rng.standard_normal((n, 2) if left else (2, n)), requires_grad=True)
    for unitriangular in (False, True):
        def fn(a, b):
            return ag.linalg.solve_triangular(a, b, upper=upper, left=left, unitriangular=unitriangular)
        assert ag.gradcheck(fn, (a, b))
        assert ag.gradgradcheck(fn, (a, b))


def test_a_zero_on_the_diagonal_gives_inf_and_nan_as_torch_without_a_warning(device, torch, recwarn):
    a = np.array([[0.0, 0.0], [1.0, 1.0]])
    b = np.ones((2, 1))
    x = ag.linalg.solve_triangular(ag.tensor(a), ag.tensor(b), upper=False)
    np.testing.assert_array_equal(x.numpy(), torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(b),
                                                                           upper=False).numpy())  # [inf, -inf]
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


@pytest.mark.parametrize("n, zero", [(40, 5), (70, 37), (100, 70)])  # (the zero in the first whole block, a later one)
@pytest.mark.parametrize("upper", [False, True])
def test_the_rows_solved_before_a_zero_on_the_diagonal_stay_finite_as_torchs(device, torch, recwarn, n, zero, upper):
    """The blocked kernel's refinement step multiplied the block's rows found after the zero
    (inf and NaN) by the triangle's zeros, and 0 * NaN spread NaN over the whole block: every
    entry was NaN where PyTorch's substitution keeps the rows solved before the zero."""
    a = _rng.standard_normal((n, n)) / np.sqrt(n) + 2 * np.eye(n)
    a[zero, zero] = 0
    if upper:
        a = a[::-1, ::-1].copy()
    a = np.triu(a) if upper else np.tril(a)
    b = _rng.standard_normal((n, 3))
    x = ag.linalg.solve_triangular(ag.tensor(a), ag.tensor(b), upper=upper).numpy()
    want = torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(b), upper=upper).numpy()
    before = slice(n - zero, n) if upper else slice(0, zero)  # the rows solved before the zero's
    assert np.isfinite(want[before]).all()
    np.testing.assert_allclose(x[before], want[before], rtol=1e-12, atol=1e-12)
    assert not np.isfinite(x[n - 1 - zero if upper else zero]).any()  # (the zero's own row: inf or NaN, as there)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_empty_shapes_match_torch(device, torch):
    for a_shape, b_shape in [((0, 0), (0, 3)), ((3, 3), (3, 0)), ((0, 2, 2), (2, 1)), ((4, 4), (2, 0, 4, 5))]:
        got = ag.linalg.solve_triangular(ag.ones(*a_shape), ag.ones(*b_shape), upper=True)
        want = torch.linalg.solve_triangular(torch.ones(a_shape), torch.ones(b_shape), upper=True)
        assert got.shape == tuple(want.shape)


def test_integers_give_the_default_float_and_dtypes_promote(device):
    x = ag.linalg.solve_triangular(ag.tensor([[2, 0], [1, 1]]), ag.tensor([[2], [3]]), upper=False)
    assert x.dtype == ag.float32
    np.testing.assert_array_equal(x.numpy(), [[1.0], [2.0]])
    x = ag.linalg.solve_triangular(ag.eye(2, dtype=ag.float32), ag.ones(2, 1, dtype=ag.float64), upper=True)
    assert x.dtype == ag.float64


def test_bad_arguments_are_named_with_the_fix(device):
    a, b = ag.eye(3), ag.ones(3, 2)
    with pytest.raises(ValueError, match=r"^solve_triangular: B of shape \(3,\) must hold matrices \(at least 2 "
                                         r"dimensions\); for a vector b, pass b\[\.\.\., None\]"):
        ag.linalg.solve_triangular(a, ag.ones(3), upper=True)
    with pytest.raises(ValueError, match=r"^solve_triangular: expects square matrices in the last two axes, got a "
                                         r"tensor of shape \(3, 2\)"):
        ag.linalg.solve_triangular(ag.ones(3, 2), b, upper=True)
    with pytest.raises(ValueError, match=r"^solve_triangular: B of shape \(2, 3\) holds 2 x 3 matrices, which do not "
                                         r"match A's 3 x 3 .*A @ X = B, n x k matrices are needed"):
        ag.linalg.solve_triangular(a, ag.ones(2, 3), upper=True)
    with pytest.raises(ValueError, match=r"X @ A = B \(left=False\), k x n matrices are needed"):
        ag.linalg.solve_triangular(a, b, upper=True, left=False)
    with pytest.raises(ValueError, match=r"^solve_triangular: the batch dimensions of A \(2, 3, 3\) and B "
                                         r"\(4, 3, 2\) do not broadcast$"):
        ag.linalg.solve_triangular(ag.ones(2, 3, 3), ag.ones(4, 3, 2), upper=True)
    with pytest.raises(TypeError, match=r"^solve_triangular: upper must be True or False, not 'U'"):
        ag.linalg.solve_triangular(a, b, upper="U")
    with pytest.raises(TypeError, match=r"^solve_triangular: unitriangular must be True or False, not 1"):
        ag.linalg.solve_triangular(a, b, upper=True, unitriangular=1)
    with pytest.raises(TypeError, match=r"missing 1 required keyword-only argument: 'upper'"):
        ag.linalg.solve_triangular(a, b)  # (required, as PyTorch's)
    if device == "cpu":  # (the strict backend has no float16)
        with pytest.raises(TypeError, match=r"^solve_triangular: float16 matrices are not supported"):
            ag.linalg.solve_triangular(a.astype(ag.float16), b.astype(ag.float16), upper=True)


@pytest.mark.parametrize("n", [200, 60])  # (the NumPy backend solves the second in one LAPACK call)
@pytest.mark.parametrize("upper", [False, True])
def test_the_blocked_kernel_keeps_a_substitutions_residual_on_ill_conditioned_matrices(torch, upper, n):
    # Random triangular matrices have condition numbers growing as 2^n (1e30 at n = 200): a blocked solve through
    # the diagonal blocks' inverses alone left a residual up to |D| |D^-1| |r|; with the refinement step the
    # residual is a substitution's, as PyTorch's (LAPACK's trsm)
    a = np.triu(_rng.standard_normal((n, n))) if upper else np.tril(_rng.standard_normal((n, n)))
    b = _rng.standard_normal((n, 3))

    def residual(x):
        return np.abs(a @ x - b).max() / (np.abs(a) @ np.abs(x)).max()

    cpu = backends.get("cpu")
    theirs = residual(torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(b), upper=upper).numpy())
    for kernel in (cpu.solve_triangular, lambda *args, **kw: Backend.solve_triangular(cpu, *args, **kw)):
        x = kernel(a, b, upper=upper, unitriangular=False)
        assert np.isfinite(x).all()
        assert residual(x) < max(4 * theirs, 4 * np.finfo(np.float64).eps)


def test_the_kernel_returns_a_new_array_and_leaves_its_inputs(device):
    backend = backends.get(device)
    a = backend.asarray(np.tril(_rng.standard_normal((2, 40, 40))) + 3 * np.eye(40))
    b = backend.asarray(_rng.standard_normal((2, 40, 2)))
    a_before, b_before = backend.to_numpy(a).copy(), backend.to_numpy(b).copy()
    x = backend.solve_triangular(a, b, upper=False, unitriangular=False)
    np.testing.assert_array_equal(backend.to_numpy(a), a_before)
    np.testing.assert_array_equal(backend.to_numpy(b), b_before)
    assert x is not b and triangular_solve.BLOCK < 40


@pytest.mark.parametrize("upper", [False, True])
def test_a_badly_scaled_small_triangle_is_solved_by_substitution_as_torch(torch, upper):
    # The NumPy backend solves one small matrix with LAPACK's LU, whose row exchanges made this lower
    # triangle singular (NumPy's "Singular matrix"); PyTorch's substitution gives [0, 1e170]
    a = np.array([[1e-170, 0.0], [1e170, 1e-170]])
    a = a.T if upper else a
    b = np.array([[0.0], [1.0]]) if not upper else np.array([[1.0], [0.0]])
    want = torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(b), upper=upper).numpy()
    for kernel in (backends.get("cpu").solve_triangular,
                   lambda *args, **kw: Backend.solve_triangular(backends.get("cpu"), *args, **kw)):
        np.testing.assert_allclose(kernel(a, b, upper=upper, unitriangular=False), want, rtol=1e-14)


def test_an_infinite_entry_in_a_small_triangle_gives_torchs_values(torch):
    # LAPACK's LU would subtract 0 * inf (NaN) from the rows below; a substitution leaves x[1] finite
    a = np.array([[1.0, np.inf], [0.0, 1.0]])
    b = np.array([[1.0], [0.0]])
    want = torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(b), upper=True).numpy()
    with np.errstate(invalid="ignore"):  # (the op silences the kernel's 0 * inf, as PyTorch is silent)
        got = backends.get("cpu").solve_triangular(a, b, upper=True, unitriangular=False)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)])
