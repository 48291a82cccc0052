"""Edges of flip, roll, moveaxis, unstack, tile, repeat, meshgrid, take and
take_along_axis (the op table holds their ordinary rows): empty and 0-d tensors,
dtypes, repeated indices, and the errors for bad arguments."""
import numpy as np
import pytest

import autograd as ag


def test_integer_and_bool_tensors_keep_their_dtype():
    m = np.arange(6).reshape(2, 3)
    for fn, ref in [(lambda x: ag.flip(x, 1), lambda x: np.flip(x, 1)),
                    (lambda x: ag.roll(x, 1), lambda x: np.roll(x, 1)),
                    (lambda x: ag.tile(x, 2), lambda x: np.tile(x, 2)),
                    (lambda x: ag.repeat(x, [2, 0], 0), lambda x: np.repeat(x, [2, 0], 0)),
                    (lambda x: ag.take_along_axis(x, ag.tensor([[2], [0]]), 1),
                     lambda x: np.take_along_axis(x, np.array([[2], [0]]), 1))]:
        for data in (m, m > 2):
            y = fn(ag.tensor(data))
            assert y.dtype == ag.tensor(data).dtype
            np.testing.assert_array_equal(y.numpy(), ref(data))


def test_empty_and_zero_d_tensors():
    e = ag.zeros(0, 3)
    assert ag.roll(e, 2, 0).shape == (0, 3)
    assert ag.tile(e, (2, 2)).shape == (0, 6)
    assert ag.repeat(ag.ones(3), 0).shape == (0,)
    assert ag.repeat(ag.ones(2, 3), [0, 0], 0).shape == (0, 3)
    assert ag.unstack(e, 0) == ()
    s = ag.tensor(2.0)
    assert ag.flip(s).item() == 2.0 and ag.roll(s, 3).item() == 2.0
    np.testing.assert_array_equal(ag.repeat(s, 3).numpy(), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(ag.tile(s, (2, 1)).numpy(), [[2.0], [2.0]])


def test_repeated_indices_add_up_their_gradients():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    ag.take(x, ag.tensor([2, 2, 0, 2])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 3.0])
    x.grad = None
    (ag.repeat(x, [3, 0, 1]) * ag.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 0.0, 4.0])
    x.grad = None
    ag.tile(x, 4).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 4.0, 4.0])


def test_bad_arguments_name_the_op_and_the_problem():
    x = ag.ones(2, 3)
    with pytest.raises(ValueError, match="flip: axis 2 is out of range"):
        ag.flip(x, 2)
    with pytest.raises(ValueError, match="roll: 2 shifts for 1 axes"):
        ag.roll(x, (1, 2), 0)
    with pytest.raises(ValueError, match="roll: with axis=None, shift must be one int"):
        ag.roll(x, (1, 2))
    with pytest.raises(ValueError, match="moveaxis: repeated axis"):
        ag.moveaxis(x, (0, 1), (1, 1))
    with pytest.raises(ValueError, match="tile: repetitions must be ints >= 0"):
        ag.tile(x, -1)
    with pytest.raises(ValueError, match="repeat: 3 repetition counts for 2 elements along axis 0"):
        ag.repeat(x, [1, 2, 3], 0)
    with pytest.raises(ValueError, match="meshgrid: indexing must be 'xy' or 'ij'"):
        ag.meshgrid(ag.ones(2), indexing="yx")
    with pytest.raises(ValueError, match=r"meshgrid: takes 1-D tensors, got one of shape \(2, 3\)"):
        ag.meshgrid(x)
    with pytest.raises(TypeError, match="take: indices must be integers"):
        ag.take(x, ag.tensor([0.0]))
    with pytest.raises(ValueError, match=r"take_along_axis: indices of shape \(2,\) need as many axes"):
        ag.take_along_axis(x, ag.tensor([0, 1]), 1)
    with pytest.raises(IndexError):
        ag.take(x, ag.tensor([6]))
    with pytest.raises(ValueError, match="unstack: a 0-d tensor"):
        ag.unstack(ag.tensor(1.0))


def test_values_and_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    data = rng.standard_normal((3, 4, 2))
    index = rng.integers(-4, 4, (3, 5, 2))  # negative indices count from the end
    cases = [
        (lambda x: ag.take_along_axis(x, ag.tensor(index % 4), 1), lambda x: torch.take_along_dim(x, torch.tensor(index % 4), 1)),
        (lambda x: ag.take(x, ag.tensor(index[0])), lambda x: torch.take(x, torch.tensor(index[0]))),
        (lambda x: ag.moveaxis(x, (0, 2), (2, 0)), lambda x: torch.movedim(x, (0, 2), (2, 0))),
        (lambda x: ag.roll(x, -7), lambda x: torch.roll(x, -7)),
        (lambda x: ag.repeat(x, [2, 0, 1, 3], -2), lambda x: torch.repeat_interleave(x, torch.tensor([2, 0, 1, 3]), -2)),
        (lambda x: ag.tile(x, (2, 1, 1, 2)), lambda x: x.repeat(2, 1, 1, 2)),
        (lambda x: ag.stack(ag.unstack(x, -1), 0), lambda x: torch.stack(torch.unbind(x, -1), 0)),
    ]
    for ours, theirs in cases:
        x = ag.tensor(data, requires_grad=True)
        t = torch.tensor(data, requires_grad=True)
        y, ty = ours(x), theirs(t)
        np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
        g = rng.standard_normal(y.shape)
        y.backward(ag.tensor(g))
        ty.backward(torch.tensor(g))
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)
