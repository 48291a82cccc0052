"""cholesky_ex, inv_ex, solve_ex and lu_factor_ex against torch.linalg's, in float64: the
int32 info of a batch with singular (or not positive definite) matrices among good ones,
the results of the good ones, the inf and NaN of a singular solve, the gradients (to second
order) where every matrix is good, and check_errors."""
import numpy as np
import pytest

import autograd as ag

SINGULAR_BATCH = np.stack([np.eye(3) * 2, [[1.0, 2, 3], [2, 4, 6], [1, 0, 1]], [[1.0, 2, 3], [2, 4, 6], [1, 2, 4]],
                           np.zeros((3, 3)), [[4.0, 1, 0], [1, 3, 1], [0, 1, 2]]])
NOT_POSITIVE_BATCH = np.stack([np.eye(3), [[1.0, 2, 0], [2, 1, 0], [0, 0, 1]], [[4.0, 2, 0], [2, 1, 0], [0, 0, 1]],
                               np.diag([1.0, 1, -1]), [[-1.0, 0, 0], [5, 1, 0], [7, 0, 1]], np.diag([1.0, np.nan, 1]),
                               [[4.0, 1, 0], [1, 3, 1], [0, 1, 2]]])


def f64(values, requires_grad=False):
    return ag.tensor(np.asarray(values, dtype=np.float64), dtype=ag.float64, requires_grad=requires_grad)


def same(ours, theirs):
    """Equal to float64 rounding, inf and NaN in the same places."""
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-12)


def assert_info(info, torch_info):
    assert info.dtype == ag.int32 and info.shape == tuple(torch_info.shape)
    np.testing.assert_array_equal(info.numpy(), torch_info.numpy())


def test_inv_ex_reports_each_singular_matrix_as_torch_and_inverts_the_others(device, torch):
    ours = ag.linalg.inv_ex(f64(SINGULAR_BATCH))
    theirs = torch.linalg.inv_ex(torch.tensor(SINGULAR_BATCH))
    assert_info(ours.info, theirs.info)  # 0, 3, 2, 1, 0: the first zero on U's diagonal
    same(ours.inverse, theirs.inverse)  # (the inf and NaN of the singular ones in PyTorch's places)
    assert ours._fields == ("inverse", "info")


def test_solve_ex_reports_each_singular_matrix_as_torch(device, torch):
    b = np.arange(15.0).reshape(5, 3, 1)
    ours = ag.linalg.solve_ex(f64(SINGULAR_BATCH), f64(b))
    theirs = torch.linalg.solve_ex(torch.tensor(SINGULAR_BATCH), torch.tensor(b))
    assert_info(ours.info, theirs.info)
    same(ours.result, theirs.result)
    assert ours._fields == ("result", "info")
    # left=False (info from A's LU, not A^T's, as PyTorch) and a B whose batch broadcasts (info keeps A's)
    ours = ag.linalg.solve_ex(f64(SINGULAR_BATCH[None]), f64(np.ones((2, 1, 4, 3))), left=False)
    theirs = torch.linalg.solve_ex(torch.tensor(SINGULAR_BATCH[None]), torch.ones(2, 1, 4, 3, dtype=torch.float64),
                                   left=False)
    assert_info(ours.info, theirs.info)  # [[0, 3, 2, 1, 0]], where A^T's LU gives [[0, 2, 2, 1, 0]]
    # The singular ones' inf and NaN in PyTorch's places too: the row exchanges move them, where
    # a product with the permutation matrix made whole solutions NaN ([-inf, nan, nan] for the
    # second matrix against [nan, nan, nan]).
    same(ours.result, theirs.result)
    b = np.random.default_rng(0).standard_normal((5, 2, 3))
    same(ag.linalg.solve_ex(f64(SINGULAR_BATCH), f64(b), left=False).result,
         torch.linalg.solve_ex(torch.tensor(SINGULAR_BATCH), torch.tensor(b), left=False).result)


def test_lu_factor_ex_factors_singular_matrices_and_reports_them_as_torch(device, torch):
    for a in (SINGULAR_BATCH, np.array([[1.0, 2, 3], [2, 4, 6]]), np.array([[0.0, 0], [0, 0], [1, 1]])):
        ours = ag.linalg.lu_factor_ex(f64(a))
        theirs = torch.linalg.lu_factor_ex(torch.tensor(a))
        assert_info(ours.info, theirs.info)
        same(ours.LU, theirs.LU)
        np.testing.assert_array_equal(ours.pivots.numpy(), theirs.pivots.numpy())
        assert ours._fields == ("LU", "pivots", "info")


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_ex_reports_the_first_minor_that_is_not_positive_as_torch(device, torch, upper):
    ours = ag.linalg.cholesky_ex(f64(NOT_POSITIVE_BATCH), upper=upper)
    theirs = torch.linalg.cholesky_ex(torch.tensor(NOT_POSITIVE_BATCH), upper=upper)
    assert_info(ours.info, theirs.info)  # 0, 2, 2, 3, 1, 2 (NaN), 0
    good = theirs.info.numpy() == 0
    same(ours.L[good], theirs.L[good])
    assert np.isnan(ours.L.numpy()[~good]).all()  # (PyTorch's hold LAPACK's partial work)
    assert ours._fields == ("L", "info")


NAN_BATCH = np.stack([[[4.0, 1], [1, 3]], [[np.nan, 0], [0, -1]], [[4.0, 0], [np.nan, 4]], [[4.0, 2], [2, np.nan]],
                      [[4.0, np.nan], [0, 4]]])


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_ex_reports_a_nan_pivot_as_torch_where_numpy_factors_quietly(device, torch, upper):
    """NaN in a batch with no finite matrix that fails: NumPy's cholesky factors it quietly,
    so info was 0 throughout (and check_errors raised nothing), where LAPACK's potrf stops at
    the NaN pivot: 0, 1, 2, 2, 0 (the last matrix's NaN lies in the triangle not read)."""
    a = NAN_BATCH if not upper else np.swapaxes(NAN_BATCH, -1, -2)
    ours = ag.linalg.cholesky_ex(f64(a), upper=upper)
    theirs = torch.linalg.cholesky_ex(torch.tensor(a), upper=upper)
    assert_info(ours.info, theirs.info)
    good = theirs.info.numpy() == 0
    same(ours.L[good], theirs.L[good])
    assert np.isnan(ours.L.numpy()[~good]).all()
    with pytest.raises(ag.linalg.LinAlgError, match=r"batch index \(1,\) is not positive definite"):
        ag.linalg.cholesky_ex(f64(a), upper=upper, check_errors=True)


def test_the_ex_variants_of_good_matrices_have_info_0_and_the_plain_functions_values(device, torch):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 4, 4)) + 4 * np.eye(4)
    spd = a @ a.transpose(0, 2, 1)
    b = rng.standard_normal((2, 4, 3))
    cases = [(ag.linalg.inv_ex(f64(a)), ag.linalg.inv(f64(a))),
             (ag.linalg.solve_ex(f64(a), f64(b)), ag.linalg.solve(f64(a), f64(b))),
             (ag.linalg.cholesky_ex(f64(spd)), ag.linalg.cholesky(f64(spd))),
             (ag.linalg.lu_factor_ex(f64(a))[::2], ag.linalg.lu_factor(f64(a)).LU)]
    for (value, info), plain in cases:
        np.testing.assert_array_equal(value.numpy(), plain.numpy())
        assert info.dtype == ag.int32 and info.numpy().tolist() == [0, 0]
    single = ag.linalg.inv_ex(f64(a[0]))
    assert single.info.shape == () and single.info.item() == 0
    empty = ag.linalg.cholesky_ex(f64(np.zeros((0, 3, 3))))
    assert empty.L.shape == (0, 3, 3) and empty.info.shape == (0,)
    assert torch.linalg.cholesky_ex(torch.zeros(0, 3, 3)).info.shape == (0,)


def test_the_ex_variants_differentiate_as_torch_to_second_order(torch):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    spd = a @ a.transpose(0, 2, 1)
    b = rng.standard_normal((2, 3, 2))
    def symmetric(fn):  # (cholesky reads one triangle: gradgradcheck perturbs the matrix symmetrically)
        return lambda x: fn((x + x.mT) * 0.5)

    cases = [(lambda x: ag.linalg.inv_ex(x).inverse, lambda x: torch.linalg.inv_ex(x).inverse, [a], None),
             (lambda x, y: ag.linalg.solve_ex(x, y).result, lambda x, y: torch.linalg.solve_ex(x, y).result, [a, b],
              None),
             (lambda x: ag.linalg.cholesky_ex(x).L, lambda x: torch.linalg.cholesky_ex(x).L, [spd], symmetric),
             (lambda x: ag.linalg.cholesky_ex(x, upper=True).L, lambda x: torch.linalg.cholesky_ex(x, upper=True).L,
              [spd], symmetric),
             (lambda x: ag.linalg.lu_factor_ex(x).LU, lambda x: torch.linalg.lu_factor_ex(x).LU, [a], None)]
    seed = np.random.default_rng(2)
    for fn, torch_fn, arrays, wrap in cases:
        ours = [f64(x, True) for x in arrays]
        theirs = [torch.tensor(x, requires_grad=True) for x in arrays]
        y, yt = fn(*ours), torch_fn(*theirs)
        cotangent = seed.standard_normal(y.shape)
        for g, gt in zip(ag.grad(y, ours, f64(cotangent)), torch.autograd.grad(yt, theirs, torch.tensor(cotangent))):
            np.testing.assert_allclose(g.numpy(), gt.numpy(), rtol=1e-10, atol=1e-12)
        assert ag.gradgradcheck(fn if wrap is None else wrap(fn), [f64(x, True) for x in arrays])


@pytest.mark.parametrize("call, message", [
    (lambda: ag.linalg.inv_ex(f64(SINGULAR_BATCH), check_errors=True),
     r"^inv_ex: the matrix at batch index \(1,\) is singular: entry 3 on the diagonal of U"),
    (lambda: ag.linalg.solve_ex(f64(SINGULAR_BATCH), f64(np.ones((5, 3, 1))), check_errors=True),
     r"^solve_ex: the matrix at batch index \(1,\) is singular"),
    (lambda: ag.linalg.cholesky_ex(f64(NOT_POSITIVE_BATCH), check_errors=True),
     r"^cholesky_ex: the matrix at batch index \(1,\) is not positive definite: its leading minor of order 2"),
    (lambda: ag.linalg.lu_factor_ex(f64(SINGULAR_BATCH), check_errors=True),
     r"^lu_factor_ex: the matrix at batch index \(1,\) is singular: U\[3,3\] \(1-based\) is zero"),
    (lambda: ag.linalg.inv_ex(f64(np.zeros((2, 2))), check_errors=True),
     r"^inv_ex: the matrix is singular: entry 1 on the diagonal"),
], ids=["inv_ex", "solve_ex", "cholesky_ex", "lu_factor_ex", "one matrix"])
def test_check_errors_raises_a_linalg_error_naming_the_first_bad_matrix(device, call, message):
    with pytest.raises(ag.linalg.LinAlgError, match=message):
        call()


def test_check_errors_and_upper_must_be_bools(device):
    for call in (lambda: ag.linalg.inv_ex(f64(np.eye(2)), check_errors=1),
                 lambda: ag.linalg.cholesky_ex(f64(np.eye(2)), upper="yes")):
        with pytest.raises(TypeError, match=r"must be True"):
            call()
    with pytest.raises(ValueError, match=r"^lu_factor_ex: pivot=False"):
        ag.linalg.lu_factor_ex(f64(np.eye(2)), pivot=False)
