"""The convolution weight gradient's GEMM, rows (O, L) @ cols.T, runs as (cols @ rows.T).T
where L is long (nn_fused.convolution._rows_times_cols_transposed): the other orientation's
values to rounding (the same bits with some BLAS kernels), in conv2d and conv3d, float32 and
float64; and its values, first and second order, against PyTorch's."""
import numpy as np
import pytest

import autograd as ag
import nn.functional as F
from autograd.ops.nn_fused import convolution

# (conv, x shape, weight shape): L = N * output cells against C * kernel cells
CASES = {
    "conv2d-long": (F.conv2d, (2, 2, 9, 9), (3, 2, 3, 3)),          # L = 162, CK = 18: swapped
    "conv2d-short": (F.conv2d, (1, 8, 3, 3), (4, 8, 3, 3)),         # L = 9, CK = 72: as written
    "conv3d-long": (F.conv3d, (2, 2, 5, 6, 7), (3, 2, 2, 3, 3)),    # L = 420, CK = 36: swapped
}


def _weight_grad(conv, x0, w0, r0):
    w = ag.tensor(w0, requires_grad=True)
    (gw,) = ag.grad((conv(ag.tensor(x0), w, padding=1) * ag.tensor(r0)).sum(), w)
    return gw.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(CASES))
def test_both_orientations_agree_to_rounding(device, monkeypatch, name, dtype):
    conv, x_shape, w_shape = CASES[name]
    rng = np.random.default_rng(len(name))
    x0, w0 = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype)
    r0 = rng.standard_normal(conv(ag.tensor(x0), ag.tensor(w0), padding=1).shape).astype(dtype)
    taken = _weight_grad(conv, x0, w0, r0)
    monkeypatch.setattr(convolution, "_LONG_INNER", 1 << 40)  # never swapped: rows @ cols.T as written
    written = _weight_grad(conv, x0, w0, r0)
    monkeypatch.setattr(convolution, "_LONG_INNER", 0)  # always swapped
    swapped = _weight_grad(conv, x0, w0, r0)
    assert taken.dtype == dtype and taken.flags.c_contiguous
    # The same products, added in the order the BLAS's kernel for each orientation takes:
    # the same bits with OpenBLAS's SkylakeX kernels, a unit or two apart with its Haswell
    # ones (an AMD EPYC) and with cuBLAS; the test is that the swap changes nothing more.
    scale = np.abs(written).max()
    for other in (taken, swapped):
        np.testing.assert_allclose(other, written, rtol=4e-6 if dtype == np.float32 else 4e-14,
                                   atol=(4e-6 if dtype == np.float32 else 4e-14) * scale)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 2e-4)])
@pytest.mark.parametrize("name", sorted(CASES))
def test_weight_grad_and_its_second_order_match_torch(device, torch, name, dtype, tol):
    """gw of sum(y * r), and d(gw . t)/dx through Conv2dWeightGrad's backward."""
    conv, x_shape, w_shape = CASES[name]
    tconv = getattr(torch.nn.functional, conv.__name__)
    rng = np.random.default_rng(7 + len(name))
    x0, w0 = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype)
    tx, tw = torch.tensor(x0, requires_grad=True), torch.tensor(w0, requires_grad=True)
    ty = tconv(tx, tw, padding=1)
    r0, t0 = rng.standard_normal(ty.shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype)
    (tgw,) = torch.autograd.grad((ty * torch.tensor(r0)).sum(), tw, create_graph=True)
    (tgwx,) = torch.autograd.grad((tgw * torch.tensor(t0)).sum(), tx)
    x, w = ag.tensor(x0, requires_grad=True), ag.tensor(w0, requires_grad=True)
    (gw,) = ag.grad((conv(x, w, padding=1) * ag.tensor(r0)).sum(), w, create_graph=True)
    (gwx,) = ag.grad((gw * ag.tensor(t0)).sum(), x)
    np.testing.assert_allclose(gw.numpy(), tgw.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(gwx.numpy(), tgwx.numpy(), rtol=tol, atol=tol)
