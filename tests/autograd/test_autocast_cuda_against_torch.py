"""ag.autocast("cuda") against torch.autocast("cuda"), on CUDA tensors: each op of the CPU
comparison's table (test_autocast_against_torch.py) gives PyTorch's output dtype and its
values within float16's rounding, or, where PyTorch's CUDA kernels refuse the call (float16
linear algebra, binary_cross_entropy), refuses it too. Needs a GPU that both CuPy and
PyTorch can use."""
import numpy as np
import pytest

import autograd as ag
import backends
from tests.autograd.test_autocast_against_torch import CASES, _dtype_name, torch

pytestmark = pytest.mark.skipif(not (backends.cuda_is_available() and torch.cuda.is_available()),
                                reason="needs a CUDA device that CuPy and PyTorch both use")

# Where PyTorch 2.11's CUDA autocast does otherwise than the list it documents, which
# topograd's "cuda" policy follows (found on an H200; README: known differences on CUDA)
DIFFERENT = {
    ("huber_loss", "float16"): "PyTorch 2.11 runs huber_loss in float32 on CUDA, off its documented float32 list",
    ("interpolate", "float16"): "PyTorch 2.11 runs bilinear upsampling in float32 on CUDA, off its documented lists",
    ("householder_product", "float16"): "PyTorch's CUDA householder_product refuses float16 (orgqr has no Half "
                                        "kernel); topograd's, built on matmul, computes it",
    ("quantile", "float16"): "PyTorch's CUDA quantile takes float32 and float64 only; topograd's takes float16",
    ("nanquantile", "float16"): "PyTorch's CUDA nanquantile takes float32 and float64 only; topograd's takes float16",
}


def _params():
    return [pytest.param(name, dtype, marks=pytest.mark.skip(reason=DIFFERENT[name, dtype]))
            if (name, dtype) in DIFFERENT else pytest.param(name, dtype)
            for name in sorted(CASES) for dtype in ("float32", "float16")]


@pytest.mark.parametrize("name, input_dtype", _params())
def test_output_dtype_and_values_as_torch_on_cuda(name, input_dtype):
    arrays, ours, theirs, *tol = CASES[name]
    arrays = [a.astype(input_dtype) for a in arrays]
    # the cases make their other tensors (targets, weights) on the default device
    with torch.device("cuda"), torch.autocast("cuda", dtype=torch.float16):
        try:
            want = theirs(*(torch.tensor(a) for a in arrays))
        except (RuntimeError, NotImplementedError):  # PyTorch's CUDA kernels refuse it
            want = None
    with backends.default_device("cuda"), ag.autocast("cuda"):
        if want is None:
            with pytest.raises((TypeError, ValueError, RuntimeError)):
                ours(*(ag.tensor(a) for a in arrays))
            return
        got = ours(*(ag.tensor(a) for a in arrays))
    assert got.device.startswith("cuda")
    assert str(got.dtype) == _dtype_name(want), name
    tol = 2e-2 if _dtype_name(want) == "float16" else tol[0] if tol else 1e-4
    np.testing.assert_allclose(got.numpy().astype(np.float64), want.detach().double().cpu().numpy(),
                               rtol=tol, atol=tol)
