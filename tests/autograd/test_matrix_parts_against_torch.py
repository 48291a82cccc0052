"""Edges of tril/triu, diagonal, trace, diag, outer and tensordot (the op table holds
their smooth rows): offsets past the matrix, dtypes, the diagonal's view, gradients
that hold inf, and the errors for bad arguments."""
import numpy as np
import pytest

import autograd as ag
from tests.autograd.torch_pairs import check_cases
from tests.torch_versions import torch_older_than


def test_offsets_past_the_matrix_give_empty_diagonals_and_zero_triangles():
    x = ag.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    for offset in (4, 9, -3, -7):
        d = ag.diagonal(x, offset)
        assert d.shape == (0,)
        np.testing.assert_array_equal(d.numpy(), np.diagonal(x.numpy(), offset))
    np.testing.assert_array_equal(ag.tril(x, -3).numpy(), np.zeros((3, 4)))
    np.testing.assert_array_equal(ag.triu(x, 4).numpy(), np.zeros((3, 4)))
    ag.trace(x, 9).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4)))


def test_integer_and_bool_matrices_keep_their_dtype():
    m = np.arange(9).reshape(3, 3)
    assert ag.tril(ag.tensor(m)).dtype == ag.int64
    assert ag.triu(ag.tensor(m > 3)).dtype == ag.bool
    np.testing.assert_array_equal(ag.triu(ag.tensor(m > 3)).numpy(), np.triu(m > 3))
    assert ag.diagonal(ag.tensor(m)).tolist() == [0, 4, 8]
    assert ag.trace(ag.tensor(m)).item() == 12
    np.testing.assert_array_equal(ag.diag(ag.tensor([True, False]), -1).numpy(), np.diag([True, False], -1))


def test_the_diagonal_is_a_view_that_a_later_change_reaches_as_torch():
    x = ag.tensor(np.eye(3))
    d = x.diagonal()
    x.mul_(5)
    np.testing.assert_array_equal(d.numpy(), [5, 5, 5])  # torch.eye(3).diagonal() after mul_(5)


def test_an_inf_gradient_stays_on_the_diagonal():
    """The gradient is written onto zeros, not spread by a multiplication with a mask
    (inf * 0 would put NaN off the diagonal)."""
    x = ag.tensor(np.ones((3, 3)), requires_grad=True)
    ag.diagonal(x).backward(ag.tensor([np.inf, 1.0, 2.0], dtype="float64"))
    expected = np.diag([np.inf, 1.0, 2.0])
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_bad_arguments_name_the_op_and_the_problem():
    with pytest.raises(ValueError, match=r"tril: needs a matrix .* shape \(3,\)"):
        ag.tril(ag.ones(3))
    with pytest.raises(TypeError, match="triu: the diagonal offset must be an int"):
        ag.triu(ag.ones(3, 3), 1.5)
    with pytest.raises(ValueError, match="diagonal: axis1 and axis2 must differ"):
        ag.diagonal(ag.ones(3, 3), 0, 1, -1)
    with pytest.raises(ValueError, match="diagonal: axis 2 is out of range"):
        ag.diagonal(ag.ones(3, 3), 0, 0, 2)
    with pytest.raises(ValueError, match=r"trace: needs a matrix .* shape \(3,\)"):
        ag.trace(ag.ones(3))
    with pytest.raises(ValueError, match=r"diag: takes a vector or a matrix, got shape \(2, 2, 2\)"):
        ag.diag(ag.ones(2, 2, 2))
    with pytest.raises(ValueError, match=r"outer: takes two vectors, got shapes \(2, 2\) and \(3,\)"):
        ag.outer(ag.ones(2, 2), ag.ones(3))
    with pytest.raises(ValueError, match=r"tensordot: axis 1 of shape \(2, 3\) and axis 0 of shape \(4,\)"):
        ag.tensordot(ag.ones(2, 3), ag.ones(4), 1)
    with pytest.raises(ValueError, match="tensordot: axes=3 is more than"):
        ag.tensordot(ag.ones(2, 3), ag.ones(3, 2), 3)
    with pytest.raises(ValueError, match="tensordot: 2 axes of a and 1 of b"):
        ag.tensordot(ag.ones(2, 3), ag.ones(3, 2), ([0, 1], [0]))
    with pytest.raises(ValueError, match="tensordot: an axis is repeated"):
        ag.tensordot(ag.ones(2, 2), ag.ones(2, 2), ([0, 0], [0, 1]))
    with pytest.raises(TypeError, match="tensordot: axes must be an int or a pair"):
        ag.tensordot(ag.ones(2, 2), ag.ones(2, 2), "ij")


def test_tensordot_of_empty_contractions_and_scalars():
    a, b = ag.ones(2, 0), ag.ones(0, 3)
    np.testing.assert_array_equal(ag.tensordot(a, b, 1).numpy(), np.zeros((2, 3)))
    s = ag.tensordot(ag.tensor([1.0, 2.0]), ag.tensor([3.0, 4.0]), 1)
    assert s.shape == () and s.item() == 11.0
    np.testing.assert_array_equal(ag.outer(ag.tensor([1, 2]), ag.tensor([0.5])).numpy(), [[0.5], [1.0]])


def test_values_and_gradients_match_pytorch_on_stacks_of_matrices():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    data = rng.standard_normal((2, 4, 5, 3))
    # PyTorch before 2.13 fills a non-square trace's gradient every cols + 1 entries to the
    # end, past the diagonal (entry (4, 0) of a 5x3): compare a square part with it
    traced = (lambda m: m[:3]) if torch_older_than("2.13") else (lambda m: m)
    cases = [
        (lambda x: ag.tril(ag.transpose(x, (0, 1, 3, 2)), -2), lambda x: torch.tril(x.transpose(2, 3), -2)),
        (lambda x: ag.triu(x, 1) * 2, lambda x: torch.triu(x, 1) * 2),
        (lambda x: ag.diagonal(x, 1, 1, 2), lambda x: torch.diagonal(x, 1, 1, 2)),
        (lambda x: ag.diagonal(x, -2, -1, 1), lambda x: torch.diagonal(x, -2, -1, 1)),
        (lambda x: ag.trace(traced(x[0, 0])), lambda x: torch.trace(traced(x[0, 0]))),
        (lambda x: ag.diag(ag.diag(x[1, 2], 1)), lambda x: torch.diag(torch.diag(x[1, 2], 1))),
    ]
    check_cases(torch, cases, data, rng, grad_tolerance=0)


def test_second_derivatives_flow_through_diagonal_and_its_gradient():
    x = ag.tensor(np.arange(1.0, 10.0).reshape(3, 3), requires_grad=True)
    (g,) = ag.grad((ag.diagonal(x) ** 3).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.numpy(), np.diag(3 * np.diag(x.numpy()) ** 2))
    (gg,) = ag.grad(ag.trace(g), x)
    np.testing.assert_array_equal(gg.numpy(), np.diag(6 * np.diag(x.numpy())))
