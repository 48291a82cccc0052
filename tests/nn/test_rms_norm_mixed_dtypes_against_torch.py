"""RMSNorm whose weight's dtype differs from its input's, against PyTorch 2.13, which takes
the mix (its rms_norm is a composition, not a same-dtype kernel): a float32 module given a
float64 input, a float64 module given a float32 one. The output has the input's dtype, the
input is normalized in its own dtype (its own eps), scaled by the weight in the promoted
dtype and rounded once; each gradient has its own tensor's dtype. We raised a TypeError."""
import numpy as np
import pytest

import autograd as ag
import backends
import nn
import nn.functional as F

# PyTorch says it cannot use its fused kernel for the mix, and computes it anyway
pytestmark = pytest.mark.filterwarnings("ignore:Mismatch dtype between input and weight")

X = [[1.0, 2.0, 3.0], [0.1, -0.2, 0.3]]
WEIGHT = [0.5, 1.5, -2.0]
COTANGENT = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
MIXES = [("float64", "float32"), ("float32", "float64"), ("float16", "float64"), ("float32", "float16")]
TOLERANCE = {"float64": 1e-12, "float32": 1e-6, "float16": 1e-3}


def _skip_without(device, *names):
    for name in names:
        try:
            backends.get(device).native_dtype(np.dtype(name))
        except TypeError:
            pytest.skip(f"no {name} on this backend")


def _close(got, want, dtype):
    assert str(got.dtype) == str(want.dtype).removeprefix("torch.")
    np.testing.assert_allclose(got.numpy().astype(np.float64), want.detach().double().numpy(),
                               rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


@pytest.mark.parametrize("input_dtype,weight_dtype", MIXES)
@pytest.mark.parametrize("eps", [None, 1e-3])
def test_rms_norm_of_mixed_dtypes_as_torch(device, torch, input_dtype, weight_dtype, eps):
    _skip_without(device, input_dtype, weight_dtype)
    x = ag.tensor(X, dtype=input_dtype, requires_grad=True)
    w = ag.tensor(WEIGHT, dtype=weight_dtype, requires_grad=True)
    tx = torch.tensor(X, dtype=getattr(torch, input_dtype), requires_grad=True)
    tw = torch.tensor(WEIGHT, dtype=getattr(torch, weight_dtype), requires_grad=True)
    y = F.rms_norm(x, (3,), w, eps=eps)
    ty = torch.nn.functional.rms_norm(tx, (3,), tw, eps=eps)
    _close(y, ty, input_dtype)
    (y * ag.tensor(COTANGENT, dtype=input_dtype)).sum().backward()
    (ty * torch.tensor(COTANGENT, dtype=ty.dtype)).sum().backward()
    _close(x.grad, tx.grad, input_dtype)
    _close(w.grad, tw.grad, input_dtype if input_dtype == "float16" else weight_dtype)


@pytest.mark.parametrize("module_dtype,input_dtype", [("float32", "float64"), ("float64", "float32")])
def test_a_module_given_an_input_of_another_dtype_as_torch(device, torch, module_dtype, input_dtype):
    """nn.RMSNorm(3) (float32) given float64 data, and its .double() given float32 data."""
    norm, reference = nn.RMSNorm(3), torch.nn.RMSNorm(3)
    norm, reference = norm.to(dtype=getattr(ag, module_dtype)), reference.to(getattr(torch, module_dtype))
    x = ag.tensor(X, dtype=input_dtype, requires_grad=True)
    tx = torch.tensor(X, dtype=getattr(torch, input_dtype), requires_grad=True)
    y, ty = norm(x), reference(tx)
    _close(y, ty, input_dtype)
    y.sum().backward()
    ty.sum().backward()
    _close(x.grad, tx.grad, input_dtype)
    _close(norm.weight.grad, reference.weight.grad, module_dtype)


def test_a_weight_of_the_wrong_shape_is_still_refused(device):
    with pytest.raises(ValueError, match="weight must have shape"):
        F.rms_norm(ag.ones(2, 3, dtype="float64"), (3,), ag.ones(4))
