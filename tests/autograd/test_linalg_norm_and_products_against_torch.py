"""PyTorch's torch.linalg functions built on ag.linalg's primitives: norm, multi_dot, cond,
vander, tensorinv and tensorsolve, against torch.linalg in float64: values, gradients
through a random cotangent, second order where PyTorch differentiates, and the errors
for the calls PyTorch refuses."""
import math
import warnings

import numpy as np
import pytest

import autograd as ag


def f64(values, requires_grad=False):
    return ag.tensor(np.asarray(values, dtype=np.float64), dtype=ag.float64, requires_grad=requires_grad)


def assert_like_torch(torch, fn, torch_fn, *arrays, second_order=True, rtol=1e-10):
    """Values and every input's gradient for a random cotangent, then second order by
    gradgradcheck."""
    rng = np.random.default_rng(7)
    ours = [f64(a, True) for a in arrays]
    theirs = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    y, yt = fn(*ours), torch_fn(*theirs)
    assert y.shape == tuple(yt.shape) and y.dtype == ag.float64
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=rtol, atol=1e-12)
    seed = rng.standard_normal(tuple(yt.shape))
    grads = ag.grad(y, ours, f64(seed))
    torch_grads = torch.autograd.grad(yt, theirs, torch.tensor(seed))
    for i, (g, gt) in enumerate(zip(grads, torch_grads)):
        np.testing.assert_allclose(g.numpy(), gt.numpy(), rtol=rtol, atol=1e-12, err_msg=f"input {i}")
    if second_order:
        assert ag.gradgradcheck(fn, [f64(a, True) for a in arrays])


def torch_keywords(kwargs):
    """PyTorch's names (dim, keepdim) for NumPy's (axis, keepdims)."""
    names = {"axis": "dim", "keepdims": "keepdim"}
    return {names.get(k, k): v for k, v in kwargs.items()}


# --- norm -----------------------------------------------------------------------------------
NORM_CASES = [((2, 3, 4), {}), ((2, 3, 4), {"keepdims": True}), ((5,), {"ord": 1}), ((5,), {"ord": -math.inf}),
              ((3, 4), {"ord": "fro"}), ((3, 4), {"ord": "nuc"}), ((3, 4), {"ord": 2}), ((3, 4), {"ord": -2}),
              ((3, 4), {"ord": math.inf, "keepdims": True}), ((3, 4), {"ord": -1}), ((3, 4), {}),
              ((2, 3, 4), {"axis": 1}), ((2, 3, 4), {"axis": (-1,), "ord": 3, "keepdims": True}),
              ((2, 3, 4), {"axis": (2, 1), "ord": 1}), ((2, 3, 4), {"axis": (0, 2), "ord": "nuc", "keepdims": True}),
              ((2, 3, 4), {"axis": [-1, 0], "ord": -math.inf, "keepdims": True}),
              ((2, 3, 4), {"axis": (1, 2)}), ((2, 3, 4), {"axis": (2, 0), "ord": 2}), ((), {}),
              ((), {"axis": 0, "ord": 0.5})]


@pytest.mark.parametrize("shape, kwargs", NORM_CASES, ids=str)
def test_norm_dispatches_as_torch_linalg_norm_to_second_order(torch, shape, kwargs):
    x = np.random.default_rng(1).standard_normal(shape)
    assert_like_torch(torch, lambda a: ag.linalg.norm(a, **kwargs),
                      lambda a: torch.linalg.norm(a, **torch_keywords(kwargs)), x)


@pytest.mark.parametrize("values", [[1.0, math.inf, 2.0], [-math.inf, math.inf], [math.nan, 1.0], [0.0, 0.0, 0.0],
                                    [[3.0, 4.0], [0.0, 0.0]], [[1e200, 1e200], [1e-200, 0.0]]])
def test_the_2_norm_at_zeros_infinities_and_overflow_is_quiet_and_pytorchs(device, torch, values):
    # One op with PyTorch's gradient, x gy / norm (0 where the norm is 0); composed, an inf
    # entry warned (inf * 0 and inf / inf on the way to PyTorch's NaN), and so did 1e200 squared.
    for axis in (None, -1):
        ours, theirs = f64(values, True), torch.tensor(values, dtype=torch.float64, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y = ag.linalg.vector_norm(ours, axis=axis)
            y.sum().backward()
        yt = torch.linalg.vector_norm(theirs, dim=axis)
        yt.sum().backward()
        np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-14)
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-14)


@pytest.mark.parametrize("norm", [lambda x: x.norm(), lambda x: ag.linalg.vector_norm(x, axis=1),
                                  lambda x: ag.linalg.vector_norm(x, axis=1, keepdims=True),
                                  lambda x: ag.linalg.matrix_norm(x)], ids=["norm", "axis", "keepdims", "fro"])
def test_the_2_norm_refuses_a_backward_after_its_output_changed_in_place(device, torch, norm):
    # The norm's backward reads its output: without keepdims it saved the array before the
    # reshape, so y.mul_(2) went unseen and (y * y).sum() gave [12, 16] where PyTorch raises
    x = f64([[3.0, 4.0]], True)
    y = norm(x)
    y.mul_(2)
    with pytest.raises(RuntimeError, match="EuclideanNorm: its output, saved for backward, was modified in place"):
        (y * y).sum().backward()
    xt = torch.tensor([[3.0, 4.0]], dtype=torch.float64, requires_grad=True)
    yt = torch.linalg.vector_norm(xt)
    yt.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        (yt * yt).sum().backward()


def test_norm_matches_numpy_and_gives_integers_the_default_float(device):
    x = np.arange(12.0).reshape(3, 4) - 5
    for kwargs in ({}, {"ord": 2}, {"ord": "nuc"}, {"axis": 0, "ord": 1}, {"axis": (1, 0), "ord": -1}):
        np.testing.assert_allclose(ag.linalg.norm(f64(x), **kwargs).numpy(), np.linalg.norm(x, **kwargs),
                                   rtol=1e-13)
    y = ag.linalg.norm(ag.tensor(np.arange(4)))
    assert y.dtype == ag.float32 and y.item() == pytest.approx(math.sqrt(14))


@pytest.mark.parametrize("shape, kwargs, error, message", [
    ((2, 3, 4), {"ord": 2}, ValueError, r"^norm: with an ord and no axis, x must be a vector \(1-D\) or a matrix"),
    ((), {"ord": 2}, ValueError, r"^norm: with an ord and no axis, x must be a vector"),
    ((4,), {"ord": "fro"}, ValueError, r"^norm: ord='fro' is a matrix norm, which needs two axes"),
    ((3, 4), {"axis": 1, "ord": "nuc"}, ValueError, r"^norm: ord='nuc' is a matrix norm"),
    ((3, 4), {"ord": 3}, ValueError, r"^norm: ord=3 is not a matrix norm; use 'fro', 'nuc'"),
    ((3, 4), {"ord": "bad"}, ValueError, r"^norm: ord='bad' is not a matrix norm"),
    ((2, 3, 4), {"axis": (0, 1, 2)}, ValueError, r"^norm: axis must name one axis \(a vector norm\) or two"),
    ((2, 3, 4), {"axis": ()}, ValueError, r"^norm: axis must name one axis"),
    ((2, 3, 4), {"axis": (1, -2)}, ValueError, r"^norm: repeated axis"),
    ((2, 3, 4), {"axis": 5}, ValueError, r"^norm: axis 5 is out of range for a tensor with 3 dimensions"),
    ((2, 3, 4), {"axis": 1.0}, TypeError, r"^norm: axis must be an int"),
    ((3, 4), {"ord": True}, TypeError, r"^norm: ord must be 'fro', 'nuc'"),
    ((4,), {"ord": True}, TypeError, r"^norm: p must be a real number"),
    ((), {"axis": (0, -1)}, ValueError, r"^norm: repeated axis"),
], ids=str)
def test_norm_refuses_what_torch_refuses_naming_the_fix(torch, shape, kwargs, error, message):
    x = np.ones(shape)
    if not isinstance(kwargs.get("ord"), bool):  # (PyTorch reads True as 1; here a bool is refused)
        with pytest.raises((RuntimeError, IndexError, TypeError)):
            torch.linalg.norm(torch.tensor(x), **torch_keywords(kwargs))
    with pytest.raises(error, match=message):
        ag.linalg.norm(f64(x), **kwargs)


# --- multi_dot ------------------------------------------------------------------------------
MULTI_DOT_SHAPES = [[(3, 4), (4, 2)], [(4,), (4, 2)], [(3, 4), (4,)], [(4,), (4,)], [(10, 2), (2, 30), (30, 3)],
                    [(2, 30), (30, 3), (3, 10)], [(5,), (5, 2), (2, 7), (7, 1), (1, 6), (6,)],
                    [(30, 35), (35, 15), (15, 5), (5, 10), (10, 20), (20, 25)], [(3, 0), (0, 2), (2, 4)],
                    [(0,), (0, 3), (3,)]]


@pytest.mark.parametrize("shapes", MULTI_DOT_SHAPES, ids=str)
def test_multi_dot_matches_torch_to_second_order(torch, shapes):
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(s) for s in shapes]
    assert_like_torch(torch, lambda *ts: ag.linalg.multi_dot(ts), lambda *ts: torch.linalg.multi_dot(ts), *arrays,
                      second_order=len(shapes) < 6)


def test_multi_dot_multiplies_in_the_cheapest_order_as_numpy(device, monkeypatch):
    """CLRS's example chain: the cheapest order, ((A1 (A2 A3)) ((A4 A5) A6)), costs 15,125
    multiplications, the left-to-right one 40,500."""
    from autograd.ops import matrix_chain
    sizes = [30, 35, 15, 5, 10, 20, 25]
    products = []
    real_matmul = matrix_chain.matmul
    monkeypatch.setattr(matrix_chain, "matmul", lambda a, b: products.append((a.shape, b.shape)) or real_matmul(a, b))
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((sizes[i], sizes[i + 1])) for i in range(6)]
    out = ag.linalg.multi_dot([f64(a) for a in arrays])
    np.testing.assert_allclose(out.numpy(), np.linalg.multi_dot(arrays), rtol=1e-12)
    assert sum(a[0] * a[1] * b[1] for a, b in products) == 15125
    assert matrix_chain.chain_order(sizes)[0][5] == 2


def test_multi_dot_keeps_integers_and_promotes_mixed_dtypes_as_matmul(device):
    ints = [ag.tensor(np.ones((3, 4), dtype=np.int64)), ag.tensor(np.ones((4, 2), dtype=np.int64))]
    out = ag.linalg.multi_dot(ints)
    assert out.dtype == ag.int64 and out.numpy().tolist() == [[4, 4]] * 3
    mixed = ag.linalg.multi_dot([ag.ones(2, 3, dtype=ag.float32), ag.ones(3, 2, dtype=ag.float64)])
    assert mixed.dtype == ag.float64


@pytest.mark.parametrize("shapes, error, message", [
    ([(3, 4)], ValueError, r"^multi_dot: expects at least 2 tensors, got 1$"),
    ([], ValueError, r"^multi_dot: expects at least 2 tensors, got 0$"),
    ([(3, 4), (3, 4)], ValueError, r"^multi_dot: tensors 0 and 1 of shapes \(3, 4\) and \(3, 4\) cannot be multiplied"),
    ([(3, 4), (4,), (1, 2)], ValueError, r"^multi_dot: tensor 1 must be 2-D \(only the first and the last may"),
    ([(2, 3, 4), (4, 3)], ValueError, r"^multi_dot: the first tensor must be 1-D or 2-D, got shape \(2, 3, 4\)"),
    ([(), (3, 4)], ValueError, r"^multi_dot: the first tensor must be 1-D or 2-D, got shape \(\)"),
    ([(3, 4), (4, 2, 1)], ValueError, r"^multi_dot: the last tensor must be 1-D or 2-D"),
], ids=str)
def test_multi_dot_refuses_what_torch_refuses(torch, shapes, error, message):
    with pytest.raises(RuntimeError):
        torch.linalg.multi_dot([torch.ones(s, dtype=torch.float64) for s in shapes])
    with pytest.raises(error, match=message):
        ag.linalg.multi_dot([f64(np.ones(s)) for s in shapes])


def test_multi_dot_wants_a_sequence_not_one_tensor(device):
    with pytest.raises(TypeError, match=r"^multi_dot: expects a list or tuple of tensors, not Tensor$"):
        ag.linalg.multi_dot(ag.ones(2, 2))


# --- cond -----------------------------------------------------------------------------------
SVD_ORDERS = [None, 2, -2, "nuc"]
INVERSE_ORDERS = ["fro", 1, -1, math.inf, -math.inf]


@pytest.mark.parametrize("p", SVD_ORDERS + INVERSE_ORDERS, ids=str)
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)], ids=str)
def test_cond_matches_torch_with_second_order_where_torch_differentiates(torch, p, shape):
    """PyTorch 2.13's backward of the inverse-based orders other than 'nuc' raises (an in-place
    change of inv_ex's output): those are checked against finite differences."""
    x = np.random.default_rng(4).standard_normal(shape) + 2 * np.eye(shape[-1])
    if p in SVD_ORDERS:
        assert_like_torch(torch, lambda a: ag.linalg.cond(a, p), lambda a: torch.linalg.cond(a, p), x)
        return
    y = ag.linalg.cond(f64(x), p)
    np.testing.assert_allclose(y.numpy(), torch.linalg.cond(torch.tensor(x), p).numpy(), rtol=1e-12)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        torch.linalg.cond(torch.tensor(x, requires_grad=True), p).sum().backward()
    assert ag.gradcheck(lambda a: ag.linalg.cond(a, p), [f64(x, True)])
    assert ag.gradgradcheck(lambda a: ag.linalg.cond(a, p), [f64(x, True)])


@pytest.mark.parametrize("p", [None, 2, -2], ids=str)
def test_cond_of_wide_and_tall_matrices_by_singular_values_as_torch(torch, p):
    for shape in ((3, 5), (2, 5, 3)):
        x = np.random.default_rng(5).standard_normal(shape)
        assert_like_torch(torch, lambda a: ag.linalg.cond(a, p), lambda a: torch.linalg.cond(a, p), x)


@pytest.mark.parametrize("p", SVD_ORDERS + INVERSE_ORDERS, ids=str)
def test_cond_of_singular_zero_and_empty_matrices_as_torch(device, torch, p):
    batch = np.stack([[[1.0, 2], [2, 4]], [[1.0, 2], [3, 4]], np.zeros((2, 2))])
    x = f64(batch, True)
    y = ag.linalg.cond(x, p)
    expected = torch.linalg.cond(torch.tensor(batch), p).numpy()
    if p in SVD_ORDERS:  # (a singular matrix's smallest singular value is rounding, not 0: its cond is ~1e16)
        np.testing.assert_allclose(y.numpy()[1:], expected[1:], rtol=1e-12)  # (NaN at the zero matrix)
        for value in (y.numpy()[0], expected[0]):  # (its inverse for p = -2)
            assert max(value, 1 / value) > 1e15
    else:
        np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12)  # inf for the singular ones
        y[1].backward()
        assert np.isfinite(x.grad.numpy()).all() and (x.grad.numpy()[[0, 2]] == 0).all()
    for shape in [(0, 0), (2, 0, 0)] + ([(0, 3), (2, 3, 0)] if not isinstance(p, str) else []):
        empty = ag.linalg.cond(f64(np.zeros(shape)), p)
        np.testing.assert_array_equal(empty.numpy(), torch.linalg.cond(torch.zeros(shape), p).numpy())


@pytest.mark.parametrize("shape, p, error, message", [
    ((3, 4), "fro", ValueError, r"^cond: expects square matrices in the last two axes, got a tensor of shape \(3, 4\)"),
    ((3, 4), 1, ValueError, r"^cond: expects square matrices"),
    ((0, 3), "nuc", ValueError, r"^cond: expects square matrices"),
    ((3, 3), 3, ValueError, r"^cond: p=3 is not supported; use None, 'fro', 'nuc'"),
    ((3, 3), "bad", ValueError, r"^cond: p='bad' is not supported"),
    ((3,), None, ValueError, r"^cond: expects matrices in the last two axes"),
], ids=str)
def test_cond_refuses_what_torch_refuses(torch, shape, p, error, message):
    with pytest.raises(RuntimeError):
        torch.linalg.cond(torch.ones(shape, dtype=torch.float64), p)
    with pytest.raises(error, match=message):
        ag.linalg.cond(f64(np.ones(shape)), p)


def test_cond_refuses_a_bool_order(device):
    with pytest.raises(TypeError, match=r"^cond: p must be None"):
        ag.linalg.cond(f64(np.eye(2)), True)


# --- vander ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, N", [((4,), None), ((3,), 5), ((2, 3), 2), ((2, 3), None)], ids=str)
def test_vander_matches_torch_to_second_order(torch, shape, N):
    x = np.random.default_rng(6).standard_normal(shape)
    x.flat[0] = 0.0  # (the gradient of x ** j at 0: j x ** (j - 1), 1 for j = 1)
    assert_like_torch(torch, lambda a: ag.linalg.vander(a, N=N), lambda a: torch.linalg.vander(a, N=N), x)


def test_vander_keeps_integers_and_matches_numpy_increasing(device, torch):
    x = np.array([1, 2, 3])
    y = ag.linalg.vander(ag.tensor(x), N=4)
    assert y.dtype == ag.int64
    np.testing.assert_array_equal(y.numpy(), np.vander(x, 4, increasing=True))
    np.testing.assert_array_equal(y.numpy(), torch.linalg.vander(torch.tensor(x), N=4).numpy())


@pytest.mark.parametrize("x, N, error, message", [
    ([1.0, 2.0], 1, ValueError, r"^vander: N must be greater than 1 \(the number of columns"),
    ([1.0], None, ValueError, r"^vander: N must be greater than 1"),
    ([], None, ValueError, r"^vander: N must be greater than 1"),
    ([1.0, 2.0], -1, ValueError, r"^vander: N must be greater than 1"),
    (2.0, None, ValueError, r"^vander: x must hold vectors on its last axis"),
    ([True, False], None, TypeError, r"^vander: bool tensors are not supported"),
], ids=str)
def test_vander_refuses_what_torch_refuses(torch, x, N, error, message):
    with pytest.raises(RuntimeError):
        torch.linalg.vander(torch.tensor(x), N=N)
    with pytest.raises(error, match=message):
        ag.linalg.vander(ag.tensor(x), N=N)


# --- tensorinv, tensorsolve -----------------------------------------------------------------
@pytest.mark.parametrize("shape, ind", [((4, 6, 8, 3), 2), ((4, 6, 2, 12), 2), ((6, 2, 3), 1), ((2, 3, 6), 2)],
                         ids=str)
def test_tensorinv_matches_torch_to_second_order(torch, shape, ind):
    a = np.random.default_rng(7).standard_normal(shape)
    assert_like_torch(torch, lambda t: ag.linalg.tensorinv(t, ind), lambda t: torch.linalg.tensorinv(t, ind), a,
                      second_order=a.size < 100)


@pytest.mark.parametrize("a_shape, b_shape, axes", [((6, 4, 2, 3, 4), (6, 4), None), ((2, 3, 6), (6,), (0, 1)),
                                                    ((3, 6, 2), (6,), (-1, 0)), ((6, 6), (6,), None),
                                                    ((4, 6, 2, 3, 4), (6, 4), None)], ids=str)
def test_tensorsolve_matches_torch_to_second_order(torch, a_shape, b_shape, axes):
    """The last case: a's leading axes (4, 6) are not b's shape (6, 4), only as many rows, which
    PyTorch and NumPy take."""
    rng = np.random.default_rng(8)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    assert_like_torch(torch, lambda s, t: ag.linalg.tensorsolve(s, t, axes),
                      lambda s, t: torch.linalg.tensorsolve(s, t, axes), a, b, second_order=a.size < 100)
    if axes is None or min(axes) >= 0:  # (NumPy's takes no negative axes; PyTorch's does)
        np.testing.assert_allclose(ag.linalg.tensorsolve(f64(a), f64(b), axes).numpy(),
                                   np.linalg.tensorsolve(a, b, axes), rtol=1e-10)


@pytest.mark.parametrize("call, torch_call, error, message", [
    (lambda ag_, a: ag_.tensorinv(a(4, 6, 8, 3), ind=1), lambda L, a: L.tensorinv(a(4, 6, 8, 3), ind=1), ValueError,
     r"^tensorinv: a of shape \(4, 6, 8, 3\) does not read as a square matrix with ind=1: its first 1 axes hold 4 "
     r"rows, the others 144 columns"),
    (lambda ag_, a: ag_.tensorinv(a(2, 2), ind=0), lambda L, a: L.tensorinv(a(2, 2), ind=0), ValueError,
     r"^tensorinv: ind must be a positive int"),
    (lambda ag_, a: ag_.tensorsolve(a(2, 3, 6), a(6, 4)), lambda L, a: L.tensorsolve(a(2, 3, 6), a(6, 4)), ValueError,
     r"^tensorsolve: b of shape \(6, 4\) has 24 entries; a of shape \(2, 3, 6\) needs 6, one per row$"),
    (lambda ag_, a: ag_.tensorsolve(a(5, 4, 2, 3, 4), a(6, 4)), lambda L, a: L.tensorsolve(a(5, 4, 2, 3, 4), a(6, 4)),
     ValueError, r"^tensorsolve: a of shape \(5, 4, 2, 3, 4\) \(after moving axes\) does not read"),
    (lambda ag_, a: ag_.tensorsolve(a(2, 3, 6), a(6), (0, 5)), lambda L, a: L.tensorsolve(a(2, 3, 6), a(6), (0, 5)),
     ValueError, r"^tensorsolve: axis 5 is out of range"),
], ids=["tensorinv rows", "tensorinv ind", "tensorsolve rows", "tensorsolve rows 2", "tensorsolve axes"])
def test_tensorinv_and_tensorsolve_refuse_what_torch_refuses(torch, call, torch_call, error, message):
    with pytest.raises((RuntimeError, IndexError)):
        torch_call(torch.linalg, lambda *shape: torch.ones(shape, dtype=torch.float64))
    with pytest.raises(error, match=message):
        call(ag.linalg, lambda *shape: f64(np.ones(shape)))


def test_tensorinv_and_tensorsolve_of_a_singular_tensor_raise_linalg_error(device):
    with pytest.raises(ag.linalg.LinAlgError, match=r"^inv: the matrix is singular"):
        ag.linalg.tensorinv(f64(np.zeros((2, 3, 6))), ind=2)
    with pytest.raises(ag.linalg.LinAlgError, match=r"^solve: the matrix is singular"):
        ag.linalg.tensorsolve(f64(np.zeros((2, 3, 6))), f64(np.ones((2, 3))))


# --- PyTorch's dim= of matrix_norm and dtype= of the norms -------------------------------------
@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf], ids=str)
@pytest.mark.parametrize("axis", [(0, 2), (2, 0), (-1, 1), (-2, -1)], ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_matrix_norm_over_any_two_axes_matches_torch_to_second_order(torch, ord, axis, keepdims):
    x = np.random.default_rng(8).standard_normal((3, 4, 5))
    assert_like_torch(torch, lambda t: ag.linalg.matrix_norm(t, ord, keepdims, axis=axis),
                      lambda t: torch.linalg.matrix_norm(t, ord, dim=axis, keepdim=keepdims), x)


@pytest.mark.parametrize("axis, error, message", [
    ((0,), ValueError, r"matrix_norm: axis must name two axes"), (0, ValueError, r"matrix_norm: axis must name two"),
    ((0, 0), ValueError, r"matrix_norm: repeated axis"), ((0, 3), ValueError, r"matrix_norm: axis 3 is out of range"),
    ((0, 1.0), TypeError, r"matrix_norm: axis must be an int"),
])
def test_matrix_norm_refuses_axes_that_name_no_matrices(device, torch, axis, error, message):
    with pytest.raises(error, match=message):
        ag.linalg.matrix_norm(ag.ones(3, 4, 5), axis=axis)
    with pytest.raises((RuntimeError, IndexError, TypeError)):
        torch.linalg.matrix_norm(torch.ones(3, 4, 5), dim=axis)


@pytest.mark.parametrize("name, args, kwargs", [
    ("vector_norm", (3,), {"axis": 1}), ("vector_norm", (), {}), ("matrix_norm", ("nuc",), {}),
    ("matrix_norm", (1,), {"axis": (2, 0)}), ("norm", (), {}), ("norm", (math.inf, (0, 1)), {}),
])
def test_norms_compute_and_return_in_the_dtype_asked_as_torch(device, torch, name, args, kwargs):
    values = np.random.default_rng(9).standard_normal((3, 4, 5)).astype(np.float32)
    x = ag.tensor(values, requires_grad=True)
    y = getattr(ag.linalg, name)(x, *args, dtype=ag.float64, **kwargs)
    tx = torch.tensor(values, requires_grad=True)
    ty = getattr(torch.linalg, name)(tx, *args, dtype=torch.float64, **torch_keywords(kwargs))
    assert y.dtype == ag.float64 and y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12)  # (computed in float64: no float32 rounding)
    y.sum().backward()
    ty.sum().backward()
    assert x.grad.dtype == ag.float32
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["vector_norm", "matrix_norm", "norm"])
def test_norms_refuse_a_narrower_or_non_floating_dtype(device, torch, name):
    x = ag.ones(3, 4, dtype=ag.float64)
    with pytest.raises(TypeError, match=rf"{name}: dtype=float32 is narrower than the input's float64.*x.astype"):
        getattr(ag.linalg, name)(x, dtype=ag.float32)
    with pytest.raises(TypeError, match=rf"{name}: dtype must be a floating dtype"):
        getattr(ag.linalg, name)(x, dtype=ag.int64)
    with pytest.raises(RuntimeError, match="narrowing"):
        getattr(torch.linalg, name)(torch.ones(3, 4, dtype=torch.float64), dtype=torch.float32)
    assert getattr(ag.linalg, name)(ag.ones(3, 4, dtype=ag.int64), dtype=ag.float64).dtype == ag.float64


@pytest.mark.parametrize("offset, axis1, axis2", [(0, -2, -1), (1, 0, 2), (-1, 2, 0), (2, -3, 1)])
def test_linalg_diagonal_takes_torchs_dim1_and_dim2_as_axis1_and_axis2(torch, offset, axis1, axis2):
    x = np.random.default_rng(10).standard_normal((3, 4, 5))
    assert_like_torch(torch, lambda t: ag.linalg.diagonal(t, offset, axis1=axis1, axis2=axis2),
                      lambda t: torch.linalg.diagonal(t, offset=offset, dim1=axis1, dim2=axis2), x)
