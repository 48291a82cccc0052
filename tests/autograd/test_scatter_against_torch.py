"""ag.scatter and ag.scatter_add, as functions, methods and in-place methods, against
PyTorch's (``dim`` spelled ``axis``): values (one-hot rows, an index smaller than src and
x, integer tensors), gradients of both orders, and the refusals, which change nothing."""
import numpy as np
import pytest

import autograd as ag

SRC = np.arange(1.0, 13.0).reshape(3, 4)
INDEX = [[0, 1, 2, 0], [2, 0, 0, 1]]  # distinct places per column: scatter's result is defined


def _ints(lib, values):
    return ag.tensor(values, dtype=ag.int64) if lib is ag else lib.tensor(values)


def _zeros(lib, dtype="float64", shape=(3, 4)):
    return ag.zeros(*shape, dtype=getattr(ag, dtype)) if lib is ag else lib.zeros(*shape, dtype=getattr(lib, dtype))


CASES = {
    "scatter along 0": lambda lib, s: _zeros(lib).scatter(0, _ints(lib, INDEX), s),
    "scatter a number (one-hot rows)": lambda lib, s: _zeros(lib).scatter(1, _ints(lib, [[1], [3], [0]]), 1.0),
    "scatter 2.5 into int64": lambda lib, s: _zeros(lib, "int64").scatter(1, _ints(lib, [[1], [3], [0]]), 2.5),
    "scatter along -1, index smaller": lambda lib, s: _zeros(lib).scatter(-1, _ints(lib, [[3, 2], [0, 1]]), s),
    "scatter_ in place": lambda lib, s: _zeros(lib).scatter_(0, _ints(lib, INDEX), s * 2),
    "scatter_add along 0": lambda lib, s: _zeros(lib).scatter_add(0, _ints(lib, INDEX), s),
    "scatter_add, repeated places": lambda lib, s: _zeros(lib).scatter_add(1, _ints(lib, [[0, 0, 0], [1, 1, 3]]), s),
    "scatter_add_ in place": lambda lib, s: (s + 0).scatter_add_(0, _ints(lib, [[2, 2, 2, 2]]), s),
    "scatter_add into int64": lambda lib, s: _zeros(lib, "int64").scatter_add(
        0, _ints(lib, INDEX), _ints(lib, SRC.astype(np.int64))),
    "an empty index": lambda lib, s: _zeros(lib).scatter_add(0, _ints(lib, np.zeros((0, 4), dtype=np.int64)), s),
    "the function": lambda lib, s: (ag if lib is ag else lib).scatter_add(_zeros(lib), 1, _ints(lib, [[3], [3]]), s),
}


@pytest.mark.parametrize("case", CASES)
def test_values_are_pytorchs(device, torch, case):
    y = CASES[case](ag, ag.tensor(SRC, dtype="float64"))
    ref = CASES[case](torch, torch.tensor(SRC))
    assert y.shape == tuple(ref.shape) and str(y.dtype) == str(ref.dtype).replace("torch.", "")
    np.testing.assert_array_equal(y.numpy(), ref.numpy())


def test_gradients_are_pytorchs_and_differentiate_again(device, torch):
    weights = np.arange(12.0).reshape(3, 4) - 5
    grads = []
    for lib in (ag, torch):
        x = lib.tensor(SRC / 3, requires_grad=True) if lib is torch else ag.tensor(SRC / 3, dtype="float64",
                                                                                  requires_grad=True)
        # (src of index's shape: PyTorch's backward fails for a larger one, "invalid gradient")
        s = lib.tensor(SRC[:2], requires_grad=True) if lib is torch else ag.tensor(SRC[:2], dtype="float64",
                                                                                   requires_grad=True)
        w = lib.tensor(weights) if lib is torch else ag.tensor(weights, dtype="float64")
        y = x.scatter(0, _ints(lib, INDEX), s) * w + x.scatter_add(0, _ints(lib, INDEX), s) ** 2
        y.sum().backward()
        grads.append([x.grad.numpy(), s.grad.numpy()])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-14)
    leaves = [ag.tensor(SRC / 3, dtype="float64", requires_grad=True),
              ag.tensor(SRC, dtype="float64", requires_grad=True)]
    index, small = ag.tensor(INDEX), ag.tensor([[0, 0, 3], [1, 1, 2]])  # (small: not every place of src used)
    for fn in (lambda x, s: ag.scatter(x, 0, index, s) ** 2, lambda x, s: ag.scatter_add(x, 1, small, s) ** 2):
        assert ag.gradcheck(fn, leaves)
        assert ag.gradgradcheck(fn, leaves)


def test_a_place_named_twice_keeps_the_last_write(device):
    y = ag.zeros(2).scatter(0, ag.tensor([1, 1, 1]), ag.tensor([1.0, 2.0, 3.0]))
    assert y.tolist() == [0.0, 3.0]


REFUSED = {
    "a negative index": (lambda lib, s: _zeros(lib).scatter(0, _ints(lib, [[-1]]), s), IndexError,
                         "index -1 is out of bounds"),
    "an index past the end": (lambda lib, s: _zeros(lib).scatter_add(0, _ints(lib, [[3]]), s), IndexError,
                              "index 3 is out of bounds"),
    "fewer axes in index": (lambda lib, s: _zeros(lib).scatter(0, _ints(lib, [1]), s), ValueError,
                            "index has 1 axes but x has 2"),
    "index larger than src": (lambda lib, s: _zeros(lib).scatter(0, _ints(lib, INDEX), s[:1]), ValueError,
                              "at least index's shape"),
    "index larger than x off the axis": (
        lambda lib, s: _zeros(lib, shape=(3, 1)).scatter_add(0, _ints(lib, INDEX), s), ValueError,
        "larger than x of shape \\(3, 1\\) along axis 1"),
    "another dtype": (lambda lib, s: _zeros(lib, "float32").scatter(0, _ints(lib, INDEX), s), TypeError,
                      "cast it first"),
    "a number for scatter_add": (lambda lib, s: _zeros(lib).scatter_add(0, _ints(lib, INDEX), 1.0), TypeError,
                                 "must be a Tensor"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refused_where_pytorch_refuses(device, torch, case):
    make, error, message = REFUSED[case]
    with pytest.raises(error, match=message):
        make(ag, ag.tensor(SRC, dtype="float64"))
    with pytest.raises((RuntimeError, TypeError, IndexError)):
        make(torch, torch.tensor(SRC))


def test_a_refused_in_place_scatter_changes_nothing(device):
    x = ag.tensor(SRC, dtype="float64")
    with pytest.raises(IndexError):
        x.scatter_(0, ag.tensor([[0, 1, 2, 3]]), 0.0)
    with pytest.raises(IndexError):
        x.scatter_add_(0, ag.tensor([[0, 1, 2, 3]]), x)
    np.testing.assert_array_equal(x.numpy(), SRC)
