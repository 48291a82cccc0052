"""conv2d's stride-1 input gradient (nn_fused.convolution._input_grad_stride_1): its values
against PyTorch and against the general col2im path over the stride-1
configurations, its second derivatives, its scratch memory, a full-width kernel
(which must not grow the GEMM by Wp/OW) and a mixed-dtype second order.
Written by a reviewer helper."""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

# PyTorch warns that its own 'same' padding with an even kernel copies the input
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")


def _f64(a, requires_grad=True):
    return ag.tensor(np.asarray(a, dtype=np.float64), dtype=ag.float64, requires_grad=requires_grad)


# (x shape, w shape, conv2d keyword arguments): every one runs at stride 1
STRIDE_1_CASES = {
    "int-padding": ((2, 3, 5, 6), (4, 3, 3, 3), dict(padding=1)),
    "pair-padding-dilated-rows": ((1, 2, 7, 5), (3, 2, 2, 3), dict(padding=(2, 1), dilation=(3, 1))),
    "dilated-columns": ((2, 2, 4, 9), (2, 2, 2, 3), dict(padding=(0, 2), dilation=(1, 3))),
    "same-even-kernel": ((1, 2, 5, 6), (3, 2, 4, 2), dict(padding="same")),
    "same-even-dilated": ((2, 1, 6, 7), (2, 1, 2, 4), dict(padding="same", dilation=(3, 2))),
    "valid": ((2, 3, 6, 5), (2, 3, 3, 2), dict(padding="valid")),
    "1x1": ((2, 4, 3, 5), (3, 4, 1, 1), dict()),
    "kernel-fills-padded-input": ((2, 2, 3, 4), (3, 2, 5, 4), dict(padding=(1, 0))),
    "height-1": ((2, 2, 1, 7), (3, 2, 1, 3), dict(padding=(0, 1))),
    "width-1": ((1, 3, 6, 1), (2, 3, 3, 1), dict(padding=(1, 0))),
    "width-1-padded": ((1, 1, 1, 1), (1, 1, 3, 3), dict(padding=1)),
    "single-channel-batch-1": ((1, 1, 5, 5), (1, 1, 3, 3), dict(padding=2, dilation=2)),
}


@pytest.mark.parametrize("name", sorted(STRIDE_1_CASES))
def test_stride_1_gradients_and_second_order_match_torch(device, torch, name):
    """gx and gw of sum(y * r), then both second-order routes: d(gx . s)/dw (through
    Conv2dInputGrad.backward) and d(gw . t)/dx (Conv2dWeightGrad.backward calling
    Conv2dInputGrad with the weight's gradient as the kernel)."""
    x_shape, w_shape, kwargs = STRIDE_1_CASES[name]
    rng = np.random.default_rng(len(name))
    x0, w0 = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    tx, tw = torch.tensor(x0, requires_grad=True), torch.tensor(w0, requires_grad=True)
    ty = torch.nn.functional.conv2d(tx, tw, **kwargs)
    r, s, t = rng.standard_normal(ty.shape), rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    tgx, tgw = torch.autograd.grad((ty * torch.tensor(r)).sum(), (tx, tw), create_graph=True)
    (tggw,) = torch.autograd.grad((tgx * torch.tensor(s)).sum(), tw, retain_graph=True)
    (tggx,) = torch.autograd.grad((ty * ty).sum(), tx, create_graph=True)
    (tgwx,) = torch.autograd.grad((torch.autograd.grad((ty * ty).sum(), tw, create_graph=True)[0]
                                   * torch.tensor(t)).sum(), tx)

    x, w = _f64(x0), _f64(w0)
    y = F.conv2d(x, w, **kwargs)
    gx, gw = ag.grad((y * _f64(r, False)).sum(), [x, w], create_graph=True)
    (ggw,) = ag.grad((gx * _f64(s, False)).sum(), w)
    (gw2,) = ag.grad((y * y).sum(), w, create_graph=True)
    (gwx,) = ag.grad((gw2 * _f64(t, False)).sum(), x)

    tol = dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gx.numpy(), tgx.detach().numpy(), **tol)
    np.testing.assert_allclose(gw.numpy(), tgw.detach().numpy(), **tol)
    np.testing.assert_allclose(ggw.numpy(), tggw.numpy(), **tol)
    np.testing.assert_allclose(gwx.numpy(), tgwx.numpy(), **tol)
    assert tggx is not None


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_stride_1_padding_modes_match_torch(device, torch, mode):
    """Non-zero padding modes pad first and convolve with padding 0: the whole padded
    image's gradient comes from the stride-1 path, then flows through the pad."""
    rng = np.random.default_rng(7)
    x0 = rng.standard_normal((2, 2, 5, 6))
    ref = torch.nn.Conv2d(2, 3, (3, 2), padding=(2, 1), dilation=(1, 2), padding_mode=mode).double()
    tx = torch.tensor(x0, requires_grad=True)
    ty = ref(tx)
    r = rng.standard_normal(ty.shape)
    (ty * torch.tensor(r)).sum().backward()

    layer = nn.Conv2d(2, 3, (3, 2), padding=(2, 1), dilation=(1, 2), padding_mode=mode, dtype=ag.float64)
    layer.load_state_dict({k: _f64(v.detach().numpy(), False) for k, v in ref.state_dict().items()})
    x = _f64(x0)
    (layer(x) * _f64(r, False)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(layer.weight.grad.numpy(), ref.weight.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_stride_1_float32_channels_last_input_and_transposed_gradient_match_torch(device, torch):
    """float32; x a channels-last view, and the output consumed transposed, so gy
    reaches the input gradient as a non-contiguous array."""
    rng = np.random.default_rng(11)
    x_nhwc = rng.standard_normal((2, 7, 6, 3)).astype(np.float32)
    w0 = rng.standard_normal((4, 3, 3, 2)).astype(np.float32)
    x = ag.tensor(x_nhwc, requires_grad=True)
    y = F.conv2d(x.transpose(0, 3, 1, 2), ag.tensor(w0), padding="same", dilation=(1, 2))
    r = rng.standard_normal((2, 4, 6, 7)).astype(np.float32)
    (y.transpose(0, 1, 3, 2) * ag.tensor(r)).sum().backward()

    tx = torch.tensor(x_nhwc, requires_grad=True)
    ty = torch.nn.functional.conv2d(tx.permute(0, 3, 1, 2), torch.tensor(w0), padding="same", dilation=(1, 2))
    (ty.transpose(2, 3) * torch.tensor(r)).sum().backward()
    assert x.grad.dtype == ag.float32
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_stride_1_path_agrees_with_general_path_in_reused_scratch_memory(device):
    """The general path through groups=2 with two identical halves, against the
    stride-1 path, at sizes that come from the NumPy scratch pool (1x1 and 3x3: with
    O == C and a 1x1 kernel, the padded rows, the GEMM's output and the image are all
    one size, so the image takes the block the padded rows give back). Earlier
    gradients stay alive while later steps run, so a block handed out twice shows."""
    rng = np.random.default_rng(13)
    kept = []
    for kernel, padding in [(1, 0), (3, 1), (1, 0), (3, 1)]:
        x0 = rng.standard_normal((4, 16, 24, 24)).astype(np.float32)
        w0 = (rng.standard_normal((16, 16, kernel, kernel)) * 0.2).astype(np.float32)
        gy0 = rng.standard_normal((4, 16, 24, 24)).astype(np.float32)
        x = ag.tensor(x0, requires_grad=True)
        (gx,) = ag.grad(F.conv2d(x, ag.tensor(w0), padding=padding), x, grad_outputs=ag.tensor(gy0))
        x2 = ag.tensor(np.concatenate([x0, x0], axis=1), requires_grad=True)
        y2 = F.conv2d(x2, ag.tensor(np.concatenate([w0, w0])), padding=padding, groups=2)
        (gx2,) = ag.grad(y2, x2, grad_outputs=ag.tensor(np.concatenate([gy0, gy0], axis=1)))
        kept.append((gx, gx2.numpy()[:, :16].copy()))
    for gx, expected in kept:
        np.testing.assert_allclose(gx.numpy(), expected, rtol=1e-4, atol=1e-4)


def test_stride_1_input_grad_of_a_full_width_kernel_keeps_the_gemm_small(device, monkeypatch):
    """A kernel as wide as the input (a text CNN's (k, embedding) filter, a conv head
    over the whole map) has OW == 1: padding each gradient row to Wp would make the
    GEMM output Wp times the im2col matrix (at (16, 1, 60, 300) with a (3, 300)
    kernel, 1 GiB and 1.7 s against 4.6 MiB and 8 ms). No GEMM of the input gradient
    may exceed twice the im2col matrix."""
    rng = np.random.default_rng(17)
    n, c, h, w, kh, o = 2, 1, 12, 64, 3, 4
    x = ag.tensor(rng.standard_normal((n, c, h, w)).astype(np.float32), requires_grad=True)
    weight = ag.tensor(rng.standard_normal((o, c, kh, w)).astype(np.float32))
    y = F.conv2d(x, weight)
    backend = x._backend
    sizes, matmul = [], backend.matmul

    def recording_matmul(a, b, **options):
        sizes.append(a.shape[0] * b.shape[-1])
        return matmul(a, b, **options)

    monkeypatch.setattr(backend, "matmul", recording_matmul)
    (gx,) = ag.grad(y.sum(), x)
    im2col_size = (c * kh * w) * (n * (h - kh + 1) * 1)
    assert sizes and max(sizes) <= 2 * im2col_size, (sizes, im2col_size)
    expected = np.zeros((n, c, h, w), np.float32)  # each row of the input sits in up to kh windows
    wsum = weight.numpy().sum(axis=0)[0]
    for i in range(h - kh + 1):
        expected[:, 0, i:i + kh, :] += wsum
    np.testing.assert_allclose(gx.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_stride_1_second_order_keeps_the_dtype_like_other_strides(device):
    """d(gw . t)/dx with a float64 ``t`` for a float32 model: the engine casts ``t`` to
    gw's dtype, as PyTorch casts a gradient to its output's, so the stride-1 path and
    the general one (stride 2 here) both give float32, with the same values."""
    rng = np.random.default_rng(19)
    x0 = rng.standard_normal((1, 2, 5, 5)).astype(np.float32)
    w0 = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    t0 = rng.standard_normal(w0.shape)
    results = {}
    for stride in (2, 1):
        x, w = ag.tensor(x0, requires_grad=True), ag.tensor(w0, requires_grad=True)
        (gw,) = ag.grad(F.conv2d(x, w, stride=stride).sum(), w, create_graph=True)
        (gx,) = ag.grad(gw, x, grad_outputs=_f64(t0, False))
        results[stride] = gx
    assert results[2].dtype == results[1].dtype == ag.float32
    # reference: the input gradient of a stride-1 conv with kernel t and gy all ones, in float64
    expected = np.zeros((1, 2, 5, 5))
    for i in range(3):
        for j in range(3):
            expected[0, :, i:i + 3, j:j + 3] += t0[:, :, i, j].sum(axis=0)[:, None, None]
    np.testing.assert_allclose(results[1].numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(STRIDE_1_CASES))
def test_stride_1_takes_col2im_where_it_is_one_kernel(device, monkeypatch, name):
    """A backend whose col2im is one kernel (CUDA's) skips the stride-1 route, which only
    saves strided adds; the gradients agree with that route's."""
    x_shape, w_shape, kwargs = STRIDE_1_CASES[name]
    rng = np.random.default_rng(19)
    x0, w0 = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    gy0 = rng.standard_normal(F.conv2d(_f64(x0), _f64(w0), **kwargs).shape)

    def input_grad():
        x = _f64(x0)
        (gx,) = ag.grad(F.conv2d(x, _f64(w0, requires_grad=False), **kwargs), x, grad_outputs=_f64(gy0, False))
        return gx.numpy()
    backend_class = type(_f64(x0)._backend)
    if backend_class.col2im_is_one_kernel:
        pytest.skip("this backend's col2im is one kernel: only the col2im route runs here")
    stride_1 = input_grad()
    calls = []
    monkeypatch.setattr(backend_class, "col2im_is_one_kernel", True)
    col2im = backend_class.col2im
    monkeypatch.setattr(backend_class, "col2im", lambda self, *a: calls.append(1) or col2im(self, *a))
    np.testing.assert_allclose(input_grad(), stride_1, rtol=1e-12, atol=1e-12)
    assert calls, "the col2im route did not run"


def test_stride_1_input_grad_zeroes_only_what_the_first_offsets_run_leaves(torch, monkeypatch):
    """The image starts as the first kernel offset's run, copied, with only the rest
    zeroed, where it was all zeroed and the run added (one pass fewer over the image).
    Scratch memory handed out full of NaN: nothing stale may leak into the gradient,
    which stays PyTorch's."""
    import backends
    backend = backends.get("cpu")
    zeroed = {}  # scratch array's size -> elements set to 0 in it

    class Recording(np.ndarray):
        def __setitem__(self, key, value):
            if np.isscalar(value) and value == 0:
                owner = self
                while owner.base is not None:
                    owner = owner.base
                zeroed[owner.size] += np.asarray(self[key]).size
            super().__setitem__(key, value)

    def poisoned(shape, dtype):
        zeroed.setdefault(int(np.prod(shape)), 0)
        return np.full(shape, np.nan, dtype).view(Recording)

    monkeypatch.setattr(backend, "scratch", poisoned)
    rng = np.random.default_rng(21)
    x0 = rng.standard_normal((3, 4, 11, 13)).astype(np.float32)
    w0 = rng.standard_normal((5, 4, 3, 3)).astype(np.float32)
    g0 = rng.standard_normal((3, 5, 11, 13)).astype(np.float32)
    x = ag.tensor(x0, device="cpu", requires_grad=True)  # (the CPU backend's scratch, patched above)
    (gx,) = ag.grad(F.conv2d(x, ag.tensor(w0, device="cpu"), padding=1), x, grad_outputs=ag.tensor(g0, device="cpu"))
    image = 4 * 3 * 13 * 15  # (C, N, Hp * Wp)
    assert 0 < zeroed[image] < image, zeroed  # (all of it before)
    tx = torch.tensor(x0, requires_grad=True)
    torch.nn.functional.conv2d(tx, torch.tensor(w0), padding=1).backward(torch.tensor(g0))
    np.testing.assert_allclose(gx.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-5)
