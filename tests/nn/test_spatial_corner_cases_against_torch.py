"""Corner cases of the spatial ops (pooling, convolution, resampling) that a differential
hunt against PyTorch turned up, in float64: each test names the input that went wrong
and what topograd gave before its fix."""
import numpy as np
import pytest

import autograd as ag
import nn.functional as F

from .torch_compare import assert_close_to_torch, float64_leaves, named_rng


# --- 1-D pools: the stride as a NumPy integer or an empty sequence ------------------------------

@pytest.mark.parametrize("stride", [np.int64(2), np.int32(1), [], ()], ids=["int64", "int32", "list", "tuple"])
@pytest.mark.parametrize("pool", ["max_pool1d", "avg_pool1d", "lp_pool1d"])
def test_1d_pools_take_a_numpy_integer_or_empty_stride_as_pytorch(device, torch, pool, stride):
    """max_pool1d(x, 3, stride=np.int64(2)) raised "The truth value of an empty array is
    ambiguous" (the stride was compared with ()), and stride=[] was refused: PyTorch takes a
    NumPy integer as the int, and an empty sequence as the kernel size."""
    x = named_rng(f"1d pool stride {pool}").standard_normal((2, 3, 9))
    ours, theirs = float64_leaves(torch, x)
    args = (2.0, 3) if pool == "lp_pool1d" else (3,)
    y, reference = getattr(F, pool)(ours, *args, stride=stride), getattr(torch.nn.functional, pool)(
        theirs, *args, stride=stride)
    assert_close_to_torch(y, reference)
    g = named_rng("gradient").standard_normal(tuple(reference.shape))
    y.backward(ag.tensor(g, dtype=ag.float64))
    reference.backward(torch.tensor(g))
    assert_close_to_torch(ours.grad, theirs.grad)
