"""PyTorch's Tensor.new_zeros/new_ones/new_empty/new_full/new_tensor, against PyTorch's:
new leaves in this tensor's dtype and on its device unless told otherwise."""
import numpy as np
import pytest

import autograd as ag


def _dtype_name(t):
    return str(t.dtype).replace("torch.", "")


NEW = {
    "new_zeros(2, 3)": lambda x, lib: x.new_zeros(2, 3),
    "new_zeros((2, 3))": lambda x, lib: x.new_zeros((2, 3)),
    "new_zeros([2, 1])": lambda x, lib: x.new_zeros([2, 1]),
    "new_zeros(size=(2,))": lambda x, lib: x.new_zeros(size=(2,)),
    "new_zeros(())": lambda x, lib: x.new_zeros(()),
    "new_ones(2, dtype=int32)": lambda x, lib: x.new_ones(2, dtype=lib.int32),
    "new_ones((3,))": lambda x, lib: x.new_ones((3,)),
    "new_full((2,), 7)": lambda x, lib: x.new_full((2,), 7),
    "new_full((2,), True)": lambda x, lib: x.new_full((2,), True),
    "new_full on int, 2.5": lambda x, lib: x.astype(lib.int64).new_full((2,), 2.5) if lib is ag else
    x.long().new_full((2,), 2.5),
    "new_tensor([1, 2])": lambda x, lib: x.new_tensor([1, 2]),
    "new_tensor of an int tensor": lambda x, lib: x.new_tensor(lib.tensor([3, 4])),
    "new_tensor bools on int": lambda x, lib: (x.astype(lib.int64) if lib is ag else x.long()).new_tensor([True]),
    "new_empty((2, 2)) shape": lambda x, lib: x.new_empty((2, 2)).new_zeros(0).new_ones(x.new_empty((2, 2)).shape),
}


@pytest.mark.filterwarnings("ignore:To copy construct from a tensor")
@pytest.mark.parametrize("case", NEW)
def test_new_constructors_are_pytorchs(device, torch, case):
    x = ag.tensor([1.0, 2.0], dtype="float64")
    tx = torch.tensor([1.0, 2.0], dtype=torch.float64)
    ours, theirs = NEW[case](x, ag), NEW[case](tx, torch)
    assert ours.shape == tuple(theirs.shape)
    assert _dtype_name(ours) == _dtype_name(theirs)
    assert ours.device == x.device
    assert ours.is_leaf and not ours.requires_grad
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_new_constructors_take_requires_grad_and_copy(device):
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x.new_ones(2, requires_grad=True)
    assert y.is_leaf and y.requires_grad and y.dtype == ag.float32
    source = np.array([5.0, 6.0])
    z = x.new_tensor(source)
    source[0] = 0.0
    assert z.tolist() == [5.0, 6.0] and z.dtype == ag.float32 and not z.requires_grad
    with pytest.raises(TypeError, match="given twice"):
        x.new_zeros(2, size=(2,))
    with pytest.raises(ValueError, match="nan cannot fill"):
        x.astype(ag.int64).new_full((1,), float("nan"))
