"""ag.index_add, Tensor.index_add and Tensor.index_add_ as PyTorch's (``dim`` spelled
``axis``): slices of source added at indices along an axis, a repeated index adding each
of its slices (``x[index] += source`` adds one); gradients of both orders; the refusals."""
import numpy as np
import pytest

import autograd as ag

X = np.arange(12.0).reshape(3, 4) / 7
SOURCE = np.arange(20.0).reshape(5, 4) - 3.5
INDEX = [0, 2, 0, 1, 0]


def _index(lib, values):
    return ag.tensor(values, dtype=ag.int64) if lib is ag else lib.tensor(values)


CASES = {
    "axis 0, repeated": lambda lib, x, s: x.index_add(0, _index(lib, INDEX), s),
    "alpha": lambda lib, x, s: x.index_add(0, _index(lib, INDEX), s, alpha=-2.5),
    "axis 1": lambda lib, x, s: x.index_add(1, _index(lib, [3, 3]), s[:3, :2]),
    "axis -1": lambda lib, x, s: x.index_add(-1, _index(lib, [1]), s[:3, :1]),
    "int32 index": lambda lib, x, s: x.index_add(
        0, ag.tensor([2, 2], dtype=ag.int32) if lib is ag else lib.tensor([2, 2], dtype=lib.int32), s[:2]),
    "a 0-d index": lambda lib, x, s: x.index_add(0, _index(lib, 1), s[:1]),
    "no indices": lambda lib, x, s: x.index_add(0, _index(lib, np.zeros(0, dtype=np.int64)), s[:0]),
    "in place": lambda lib, x, s: x.clone().index_add_(0, _index(lib, INDEX), s, alpha=3),
    "the function": lambda lib, x, s: ag.index_add(x, 0, _index(lib, INDEX), s) if lib is ag else
    lib.index_add(x, 0, _index(lib, INDEX), s),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES)
def test_values_are_pytorchs(device, torch, case, dtype):
    y = CASES[case](ag, ag.tensor(X, dtype=dtype), ag.tensor(SOURCE, dtype=dtype))
    ref = CASES[case](torch, torch.tensor(X.astype(dtype)), torch.tensor(SOURCE.astype(dtype)))
    assert y.shape == tuple(ref.shape) and str(y.dtype) == str(ref.dtype).replace("torch.", "")
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-6 if dtype == "float32" else 1e-15, atol=1e-6)


def test_integers_add_exactly_as_pytorchs(device, torch):
    x, s = np.arange(6).reshape(3, 2), np.arange(8).reshape(4, 2)
    y = ag.tensor(x).index_add(0, ag.tensor([2, 0, 2, 2]), ag.tensor(s), alpha=3)
    ref = torch.tensor(x).index_add(0, torch.tensor([2, 0, 2, 2]), torch.tensor(s), alpha=3)
    assert y.dtype == ag.int64
    np.testing.assert_array_equal(y.numpy(), ref.numpy())


def test_a_repeated_index_adds_every_slice_unlike_indexed_addition(device):
    x = ag.zeros(3)
    index, source = ag.tensor([1, 1, 1]), ag.tensor([1.0, 2.0, 3.0])
    assert x.index_add(0, index, source).tolist() == [0.0, 6.0, 0.0]
    y = ag.zeros(3)
    y[index] += source  # (NumPy's rule: one of them lands)
    assert y.tolist() == [0.0, 3.0, 0.0]


def test_gradients_are_pytorchs_and_differentiate_again(device, torch):
    grads = []
    for lib in (ag, torch):
        x = lib.tensor(X, requires_grad=True) if lib is torch else ag.tensor(X, dtype="float64", requires_grad=True)
        s = lib.tensor(SOURCE, requires_grad=True) if lib is torch else ag.tensor(SOURCE, dtype="float64",
                                                                                  requires_grad=True)
        (x.index_add(0, _index(lib, INDEX), s, alpha=3) ** 2).sum().backward()
        grads.append([x.grad.numpy(), s.grad.numpy()])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-14)
    leaves = [ag.tensor(X, dtype="float64", requires_grad=True), ag.tensor(SOURCE, dtype="float64", requires_grad=True)]
    index = ag.tensor(INDEX)
    assert ag.gradcheck(lambda x, s: ag.index_add(x, 0, index, s, alpha=0.5) ** 2, leaves)
    assert ag.gradgradcheck(lambda x, s: ag.index_add(x, 0, index, s, alpha=0.5) ** 2, leaves)


def test_in_place_records_through_a_leaf_that_requires_grad(device):
    source = ag.tensor(SOURCE, dtype="float64", requires_grad=True)
    buffer = ag.zeros(3, 4, dtype=ag.float64)
    buffer.index_add_(0, ag.tensor(INDEX), source)
    buffer.sum().backward()
    np.testing.assert_array_equal(source.grad.numpy(), np.ones(SOURCE.shape))


REFUSED = {
    "a negative index": (lambda lib, x, s: x.index_add(0, _index(lib, [-1, 2, 0, 1, 0]), s), IndexError,
                         "index -1 is out of bounds"),
    "an index past the end": (lambda lib, x, s: x.index_add(0, _index(lib, [3, 2, 0, 1, 0]), s), IndexError,
                              "index 3 is out of bounds"),
    "a float index": (lambda lib, x, s: x.index_add(0, lib.tensor([0.0, 2, 0, 1, 0]), s), TypeError,
                      "must be integers"),
    "a matrix of indices": (lambda lib, x, s: x.index_add(0, _index(lib, [[0, 2], [0, 1]]), s[:4]), ValueError,
                            "must be a vector"),
    "too few indices": (lambda lib, x, s: x.index_add(0, _index(lib, [0, 2, 0]), s), ValueError,
                        "needs \\(3, 4\\)"),
    "another dtype": (lambda lib, x, s: x.index_add(0, _index(lib, INDEX), s.double() if lib is not ag else
                                                    s.astype(ag.float64)), TypeError, "cast it first"),
    "a number as source": (lambda lib, x, s: x.index_add(0, _index(lib, [0]), 1.0), TypeError,
                           "must be a Tensor"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refused_where_pytorch_refuses_and_nothing_changes(device, torch, case):
    make, error, message = REFUSED[case]
    x = ag.tensor(X, dtype="float32")
    with pytest.raises(error, match=message):
        make(ag, x, ag.tensor(SOURCE, dtype="float32"))
    with pytest.raises((RuntimeError, TypeError, IndexError)):
        make(torch, torch.tensor(X, dtype=torch.float32), torch.tensor(SOURCE, dtype=torch.float32))
    buffer = x.clone()
    with pytest.raises(IndexError):
        buffer.index_add_(0, ag.tensor([5, 0, 0, 0, 0]), ag.tensor(SOURCE, dtype="float32"))
    np.testing.assert_array_equal(buffer.numpy(), x.numpy())


@pytest.mark.parametrize("dtype", ["bool", "int8", "uint8"])
def test_in_place_on_a_bool_or_small_integer_tensor_as_pytorchs(device, torch, dtype):
    """The axis and the int64 index say where the source goes; they are no values, so they
    do not widen the result (a bool tensor's index_add_ was refused as "integer")."""
    x, s = np.array([True, False, False, True]), np.array([True, True, False])
    if dtype != "bool":
        x, s = np.array([1, 0, 5, 2]), np.array([3, 4, 7])
    y, ty = ag.tensor(x, dtype=dtype), torch.tensor(x, dtype=getattr(torch, dtype))
    returned = y.index_add_(0, ag.tensor([1, 2, 1]), ag.tensor(s, dtype=dtype))
    ty.index_add_(0, torch.tensor([1, 2, 1]), torch.tensor(s, dtype=getattr(torch, dtype)))
    assert returned is y and y.dtype == getattr(ag, dtype)
    np.testing.assert_array_equal(y.numpy(), ty.numpy())


def test_in_place_still_refuses_a_source_or_alpha_the_tensor_cannot_hold(device):
    y = ag.tensor([True, False, False])
    with pytest.raises(TypeError, match="index_add_: the result is integer"):
        y.index_add_(0, ag.tensor([1]), ag.tensor([3]))
    i = ag.tensor([1, 2, 3])
    with pytest.raises(TypeError, match="floating point"):
        i.index_add_(0, ag.tensor([1]), ag.tensor([3]), alpha=0.5)
    assert y.tolist() == [True, False, False] and i.tolist() == [1, 2, 3]
