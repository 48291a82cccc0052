"""Edges of flip, roll, moveaxis, unstack, tile, repeat, meshgrid, take and
take_along_axis (the op table holds their ordinary rows): empty and 0-d tensors,
dtypes, repeated indices, and the errors for bad arguments."""
import numpy as np
import pytest

import autograd as ag
from tests.autograd.torch_pairs import check_cases


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
    check_cases(torch, cases, data, rng, grad_tolerance=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda x: ag.flip(x, -3), "flip: axis -3 is out of range"),
    (lambda x: ag.flip(x, (0, 2)), "flip: axis 2 is out of range"),
    (lambda x: ag.roll(x, 1, 2), "roll: axis 2 is out of range"),
    (lambda x: ag.roll(x, 1, -3), "roll: axis -3 is out of range"),
    (lambda x: ag.moveaxis(x, 2, 0), "moveaxis: axis 2 is out of range"),
    (lambda x: ag.moveaxis(x, 0, -3), "moveaxis: axis -3 is out of range"),
    (lambda x: ag.unstack(x, 2), "unstack: axis 2 is out of range"),
    (lambda x: ag.repeat(x, 2, -3), "repeat: axis -3 is out of range"),
    (lambda x: ag.take(x, ag.tensor([0]), 2), "take: axis 2 is out of range"),
    (lambda x: ag.take_along_axis(x, ag.tensor([[0]]), -3), "take_along_axis: axis -3 is out of range"),
    (lambda x: ag.take_along_axis(x, ag.tensor([[0], [1], [0]]), 1),
     r"take_along_axis: indices of shape \(3, 1\) do not broadcast against x of shape \(2, 3\) outside axis 1"),
    (lambda x: ag.roll(ag.tensor(1.0), 1, 0), "roll: axis 0 is out of range for a 0-d tensor"),
    (lambda x: ag.take_along_axis(ag.tensor(1.0), ag.tensor(0), 0), "take_along_axis: a 0-d tensor"),
])
def test_out_of_range_axes_are_value_errors_naming_the_op(call, message):
    with pytest.raises(ValueError, match=message):
        call(ag.ones(2, 3))


@pytest.mark.parametrize("call, error, message", [
    (lambda x: ag.roll(x, 1.0, 0), TypeError, "roll: shift must be an int"),
    (lambda x: ag.repeat(x, True), TypeError, "repeat: repeats must be an int or a sequence of ints"),
    (lambda x: ag.repeat(x, 1.5), TypeError, "repeat: repeats must be an int or a sequence of ints"),
    (lambda x: ag.repeat(x, [1, -1], 0), ValueError, "repeat: repetitions must be ints >= 0"),
    (lambda x: ag.unstack(x, (0,)), TypeError, "unstack: axis must be one int"),
    (lambda x: ag.take_along_axis(x, ag.tensor([[3]]), 1), IndexError,
     "take_along_axis: index 3 is out of bounds for axis 1 of size 3"),
    (lambda x: ag.take_along_axis(x, ag.tensor([[-4]]), 1), IndexError,
     "take_along_axis: index -4 is out of bounds for axis 1 of size 3"),
    (lambda x: ag.take_along_axis(x, ag.tensor([[True]]), 1), TypeError, "take_along_axis: indices must be integers"),
])
def test_bad_shifts_counts_and_indices(call, error, message):
    with pytest.raises(error, match=message):
        call(ag.ones(2, 3))


def test_every_op_keeps_integer_and_bool_dtypes():
    m = np.arange(12).reshape(3, 4)
    cases = [(lambda x: ag.flip(x), np.flip),
             (lambda x: ag.roll(x, (1, -2), (0, 1)), lambda x: np.roll(x, (1, -2), (0, 1))),
             (lambda x: ag.moveaxis(x, 0, 1), lambda x: np.moveaxis(x, 0, 1)),
             (lambda x: ag.stack(ag.unstack(x, 1), 0), lambda x: np.stack(list(np.moveaxis(x, 1, 0)), 0)),
             (lambda x: ag.repeat(x, 3, 1), lambda x: np.repeat(x, 3, 1)),
             (lambda x: ag.meshgrid(ag.flatten(x), ag.flatten(x))[0], lambda x: np.meshgrid(x.ravel(), x.ravel())[0]),
             (lambda x: ag.take(x, ag.tensor([[5, 5], [0, -1]])), lambda x: np.take(x, [[5, 5], [0, -1]])),
             (lambda x: ag.take_along_axis(x, ag.tensor([[3, -1, 0]]), 1),
              lambda x: np.take_along_axis(x, np.array([[3, -1, 0]]), 1))]
    for fn, ref in cases:
        for data in (m.astype(np.int32), m.astype(np.int64), m % 3 == 0):
            y = fn(ag.tensor(data))
            assert y.dtype == data.dtype, (fn, data.dtype)
            np.testing.assert_array_equal(y.numpy(), ref(data))


def test_empty_tensors_keep_their_shapes_and_give_zero_gradients():
    e = ag.zeros(0, 3, requires_grad=True)
    for y, shape in [(ag.flip(e), (0, 3)), (ag.roll(e, 5), (0, 3)), (ag.roll(e, (1, 2), (0, 1)), (0, 3)),
                     (ag.moveaxis(e, 0, 1), (3, 0)), (ag.repeat(e, 4, 1), (0, 12)),
                     (ag.take(e, ag.tensor([[1, 2]]), 1), (0, 1, 2)),
                     (ag.take_along_axis(e, ag.zeros(0, 2, dtype="int64"), 1), (0, 2)),
                     (ag.take_along_axis(ag.ones(2, 3), ag.zeros(2, 0, dtype="int64"), 1), (2, 0))]:
        assert y.shape == shape
    pieces = ag.unstack(e, 1)
    assert len(pieces) == 3 and all(p.shape == (0,) for p in pieces)
    ag.stack(pieces, 0).sum().backward()
    assert e.grad.shape == (0, 3)
    x = ag.ones(2, 3, requires_grad=True)
    ag.take(x, ag.zeros(0, dtype="int64")).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 3)))


def test_zero_d_tensors():
    s = ag.tensor(3.0, requires_grad=True)
    assert ag.roll(s, 5).item() == 3.0 and ag.flip(s, ()).item() == 3.0
    assert ag.moveaxis(s, (), ()).shape == ()
    np.testing.assert_array_equal(ag.take(s, ag.tensor([0, 0, -1])).numpy(), [3.0, 3.0, 3.0])
    (ag.take(s, ag.tensor([0, 0, -1])).sum() + ag.repeat(s, 2, 0).sum() + ag.roll(s, 1).sum()).backward()
    assert s.grad.item() == 6.0
    assert ag.meshgrid() == ()
    with pytest.raises(ValueError, match="meshgrid: takes 1-D tensors"):
        ag.meshgrid(s)


def test_repeated_and_negative_indices_accumulate_in_take_along_axis():
    x = ag.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    y = ag.take_along_axis(x, ag.tensor([[2, -1, 2, 0], [1, 1, -2, 0]]), 1)
    np.testing.assert_array_equal(y.numpy(), [[3.0, 3.0, 3.0, 1.0], [5.0, 5.0, 5.0, 4.0]])
    (y * ag.tensor([[1.0, 10.0, 100.0, 1000.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1000.0, 0.0, 111.0], [1000.0, 111.0, 0.0]])


def test_take_along_axis_none_takes_along_the_flattened_tensor_as_numpy():
    """NumPy's axis=None (the pair of argsort(x, axis=None)); it was refused with 'indices of
    shape (4,) need as many axes as x'."""
    a = np.array([[3.0, -1.0, 2.0], [0.5, 4.0, -2.0]])
    x = ag.tensor(a, requires_grad=True)
    order = ag.argsort(x, axis=None)
    y = ag.take_along_axis(x, order, axis=None)
    np.testing.assert_array_equal(y.numpy(), np.take_along_axis(a, np.argsort(a, axis=None), axis=None))
    z = x.take_along_axis(ag.tensor([5, -1, 0, 5]), axis=None)
    np.testing.assert_array_equal(z.numpy(), np.take_along_axis(a, np.array([5, -1, 0, 5]), axis=None))
    (z * ag.tensor([1.0, 10.0, 100.0, 1000.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[100.0, 0.0, 0.0], [0.0, 0.0, 1011.0]])
    with pytest.raises(ValueError, match=r"take_along_axis: indices of shape \(2, 2\) need as many axes as x"):
        ag.take_along_axis(x, ag.tensor([[0, 1], [1, 0]]), axis=None)


def test_unstack_gives_zeros_to_the_pieces_not_used():
    x = ag.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    pieces = ag.unstack(x, -1)
    (pieces[1] * 2).sum().backward()
    expected = np.zeros((3, 4))
    expected[:, 1] = 2.0
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_second_order_through_roll_repeat_and_take_along_axis():
    rng = np.random.default_rng(3)
    index = ag.tensor([[0, 0, 2], [1, -1, 1]])
    for fn in (lambda x: ag.roll(x, (1, -1), (0, 1)) ** 3, lambda x: ag.repeat(x, 2, 1) ** 3,
               lambda x: ag.repeat(x, 17, 0) ** 3, lambda x: ag.take_along_axis(x, index, 1) ** 3,
               lambda x: ag.stack(ag.unstack(x, 1)[::2], 0) ** 3):
        ag.gradgradcheck(fn, (ag.tensor(rng.standard_normal((2, 3)), requires_grad=True),))


def test_gradients_match_pytorch_for_every_op():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    data = rng.standard_normal((3, 4, 5))
    counts = [2, 0, 1, 3]
    index = rng.integers(0, 4, (3, 6, 1))  # broadcast along the last axis
    flat = rng.integers(0, 60, (2, 7))
    cases = [
        (lambda x: ag.flip(x, (0, -1)), lambda x: torch.flip(x, (0, -1))),
        (lambda x: ag.flip(x), lambda x: torch.flip(x, (0, 1, 2))),
        (lambda x: ag.roll(x, (2, -7, 1), (0, 2, 0)), lambda x: torch.roll(x, (2, -7, 1), (0, 2, 0))),
        (lambda x: ag.roll(x, 23), lambda x: torch.roll(x, 23)),
        (lambda x: ag.tile(x, (2, 1, 3)), lambda x: x.repeat(2, 1, 3)),
        (lambda x: ag.tile(x, 2), lambda x: x.repeat(1, 1, 2)),
        (lambda x: ag.repeat(x, 3, 1), lambda x: torch.repeat_interleave(x, 3, 1)),
        (lambda x: ag.repeat(x, 40, -1), lambda x: torch.repeat_interleave(x, 40, -1)),
        (lambda x: ag.repeat(x, ag.tensor(counts), 1), lambda x: torch.repeat_interleave(x, torch.tensor(counts), 1)),
        (lambda x: ag.repeat(x, 2), lambda x: torch.repeat_interleave(x, 2)),
        (lambda x: ag.moveaxis(x, -1, 0), lambda x: torch.movedim(x, -1, 0)),
        (lambda x: ag.stack(ag.unstack(x, 1)[1:], 0), lambda x: torch.stack(torch.unbind(x, 1)[1:], 0)),
        (lambda x: ag.stack(ag.meshgrid(x[0, 0], x[1, :, 0], x[2, 1:3, 1]), 0),
         lambda x: torch.stack(torch.meshgrid(x[0, 0], x[1, :, 0], x[2, 1:3, 1], indexing="xy"), 0)),
        (lambda x: ag.stack(ag.meshgrid(x[0, 0], x[1, :, 0], indexing="ij"), 0),
         lambda x: torch.stack(torch.meshgrid(x[0, 0], x[1, :, 0], indexing="ij"), 0)),
        (lambda x: ag.take_along_axis(x, ag.tensor(index), 1), lambda x: torch.take_along_dim(x, torch.tensor(index), 1)),
        (lambda x: ag.take(x, ag.tensor(flat)), lambda x: torch.take(x, torch.tensor(flat))),
        (lambda x: ag.take(x, ag.tensor([3, 0, 3]), 2), lambda x: torch.index_select(x, 2, torch.tensor([3, 0, 3]))),
    ]
    check_cases(torch, cases, data, rng, grad_tolerance=1e-12)


def test_tensor_methods_are_numpys():
    x = ag.tensor([[1, 2], [3, 4]])
    np.testing.assert_array_equal(x.repeat(2, 0).numpy(), [[1, 2], [1, 2], [3, 4], [3, 4]])  # not PyTorch's
    np.testing.assert_array_equal(x.tile((2, 1)).numpy(), [[1, 2], [3, 4], [1, 2], [3, 4]])  # PyTorch's repeat
    np.testing.assert_array_equal(x.unstack(1)[1].numpy(), [2, 4])
    np.testing.assert_array_equal(x.take_along_axis(ag.tensor([[1], [0]]), 1).numpy(), [[2], [3]])


# --- take along an axis: its gradient, a scatter-add after whole axes, at a size that takes the fast route ---
def test_take_along_an_axis_gradient_sums_repeats(device):
    rng = np.random.default_rng(1)
    data = rng.standard_normal((30, 200))
    ids = np.r_[rng.integers(-200, 200, 300), [7, 7, 7]]
    x = ag.tensor(data, requires_grad=True)
    y = ag.take(x, ag.tensor(ids), axis=1)
    np.testing.assert_array_equal(y.numpy(), np.take(data, ids, axis=1))
    cotangent = rng.standard_normal(y.shape)
    y.backward(ag.tensor(cotangent))
    want = np.zeros_like(data)
    np.add.at(want, (slice(None), ids), cotangent)
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12, atol=1e-12)
