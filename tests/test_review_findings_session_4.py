"""Findings of a review of this session's later commits (hooks, ag.func, NumPy functions,
the scatter-add route): each test failed before its fix."""
import numpy as np
import pytest

import autograd as ag
from backends.numpy_backend import NumpyBackend


@pytest.mark.parametrize("shape, ids", [((2, 4, 0), [1, 2]), ((3, 0), []), ((2, 3, 0, 2), [0, 2])])
def test_take_along_an_axis_of_an_empty_tensor_has_an_empty_gradient(shape, ids):
    """The flat scatter-add route after whole axes stepped its places by the size of the
    axes after them: 0 for an empty tensor, and arange raised ZeroDivisionError."""
    x = ag.zeros(shape, requires_grad=True)
    y = ag.take(x, ag.tensor(np.array(ids, dtype=np.int64)), axis=1)
    y.sum().backward()
    assert x.grad.shape == shape
    index = (slice(None), np.array(ids, dtype=np.int64))
    want = np.zeros(shape, np.float32)
    values = np.ones(want[index].shape, np.float32)
    np.add.at(want, index, values)
    np.testing.assert_array_equal(NumpyBackend().scatter_add(shape, index, values), want)


@pytest.mark.parametrize("transform", ["grad", "grad_and_value"])
def test_grad_and_value_errors_name_the_transform_called(transform):
    """grad_and_value's errors said 'grad:'."""
    f = getattr(ag.func, transform)
    x = ag.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=rf"^{transform}: argnums 3 is out of range"):
        f(lambda x: (x * x).sum(), argnums=3)(x)
    with pytest.raises(ValueError, match=rf"^{transform}: the function must return a Tensor of one element"):
        f(lambda x: x * x)(x)
    with pytest.raises(TypeError, match=rf"^{transform}: with has_aux=True the function must return a pair"):
        f(lambda x: (x * x).sum(), has_aux=True)(x)
