"""The one-kernel paths of max pooling and cross-entropy (Backend.max_pool2d_argmax,
cross_entropy_rows and cross_entropy_grad, which the CUDA backend has) against the
op-by-op paths that every backend has: values, indices, gradients and second
derivatives. On CUDA the real kernels run; on the CPU, NumPy stand-ins with the same
contract (below) drive the ops' kernel paths, so that CI without a GPU tests them too."""
import math

import numpy as np
import pytest

import autograd as ag
import backends
import nn.functional as F
from backends.base import Backend

KERNELS = ("max_pool2d_argmax", "cross_entropy_rows", "cross_entropy_grad")


def stand_in_argmax(self, x, window):
    """max_pool2d_argmax's contract in NumPy: PyTorch's pick, window by window."""
    if x.dtype.kind != "f" or not window.reaches_input:
        return None
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = window.kernel, window.stride, window.dilation, window.out_size
    (h, w), (top, _, left, _) = window.in_size, window.padding
    planes = x.shape[:-2]
    best = np.zeros(planes + (oh, ow), dtype=x.dtype)
    at = np.zeros(best.shape, dtype=np.int64)
    found = np.zeros(best.shape, dtype=bool)
    base = np.reshape(np.arange(math.prod(planes), dtype=np.int64) * (h * w), planes + (1, 1))
    for a in range(kh):
        rows = np.arange(oh) * sh - top + a * dh
        for b in range(kw):
            cols = np.arange(ow) * sw - left + b * dw
            inside = ((rows >= 0) & (rows < h))[:, None] & ((cols >= 0) & (cols < w))[None, :]
            r, c = np.clip(rows, 0, h - 1)[:, None], np.clip(cols, 0, w - 1)[None, :]
            v = x[..., r, c]
            take = inside & (~found | (v > best) | np.isnan(v))
            best = np.where(take, v, best)
            at = np.where(take, base + r * w + c, at)
            found |= inside
    return best, at


def stand_in_rows(self, z, t):
    if z.dtype.char not in "fd" or 0 in z.shape:
        return None
    with np.errstate(invalid="ignore"):  # a row of -inf is NaN, as the kernel's
        m = np.max(z, axis=1, keepdims=True)
        e = np.exp(z - m)
        s = np.sum(e, axis=1, dtype=np.float64, keepdims=True).astype(z.dtype)
        losses = np.log(s)[:, 0] - (z[np.arange(z.shape[0]), t] - m[:, 0])
        return losses, e / s


def stand_in_grad(self, probs, t, gy, scale):
    if probs.dtype.char not in "fd" or gy.dtype != probs.dtype:
        return None
    onehot = (t[:, None] == np.arange(probs.shape[1])).astype(probs.dtype)
    g = gy[:, None] if gy.ndim == 1 else gy
    return (probs - onehot) * (g * probs.dtype.type(scale))


STAND_INS = {"max_pool2d_argmax": stand_in_argmax, "cross_entropy_rows": stand_in_rows,
             "cross_entropy_grad": stand_in_grad}


@pytest.fixture(params=[d for d in backends.available_devices() if d != "strict"])
def kernel_device(request, monkeypatch):
    """A device whose backend has the kernels (CUDA's own, NumPy's stand-ins), each
    answer (a call that did not decline with None) counted in ``calls``."""
    backend_class = type(backends.get(request.param))
    calls = dict.fromkeys(KERNELS, 0)
    for name in KERNELS:
        inner = getattr(backend_class, name) if request.param != "cpu" else STAND_INS[name]

        def counted(self, *args, _inner=inner, _name=name):
            out = _inner(self, *args)
            calls[_name] += out is not None
            return out
        monkeypatch.setattr(backend_class, name, counted)
    with backends.default_device(request.param):
        yield request.param, backend_class, calls


def without_kernels(monkeypatch, backend_class, fn):
    """``fn()`` on the op-by-op paths: the backend's kernels answer None."""
    with monkeypatch.context() as patch:
        for name in KERNELS:
            patch.setattr(backend_class, name, getattr(Backend, name))
        return fn()


def run_both(monkeypatch, kernel_device, fn):
    _, backend_class, calls = kernel_device
    before = dict(calls)
    fast = fn()
    assert calls != before, "no kernel answered"
    slow = without_kernels(monkeypatch, backend_class, fn)
    return fast, slow


def assert_close(a, b, dtype):
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-13)
    for u, v in zip(a, b):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), equal_nan=True, **tol)


POOLS = {  # kernel, stride, padding, dilation, ceil_mode: windows that do not overlap
    "tiled": (2, 2, 0, 1, False),
    "tiled-padded-ceil": (3, 3, 1, 1, True),
    "gapped": (2, 3, 1, 1, False),
    "dilated": (2, 3, 1, 2, True),
    "wide-kernel": ((1, 4), (1, 4), (0, 2), 1, True),
}


def pool_input(dtype, shape=(2, 3, 7, 8), ties=True, nans=True):
    rng = np.random.default_rng(0)
    x = rng.integers(-3, 4, shape).astype(dtype) if ties else rng.standard_normal(shape).astype(dtype)
    if nans:
        x[0, 0, 1, 1] = x[0, 0, 1, 3] = np.nan
        x[1, 2, 2:5, 2:5] = -np.inf
    return x


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("pool", POOLS)
def test_max_pool_kernel_gives_the_op_by_op_values_indices_and_gradient(monkeypatch, kernel_device, pool, dtype):
    k, s, p, d, ceil = POOLS[pool]
    x0 = pool_input(dtype)
    g0 = np.random.default_rng(1).standard_normal(F.max_pool2d(ag.tensor(x0), k, s, p, d, ceil).shape)

    def pooled():
        x = ag.tensor(x0, requires_grad=True)
        y, at = F.max_pool2d(x, k, s, p, d, ceil, return_indices=True)
        y.backward(ag.tensor(g0.astype(dtype)))
        return y.numpy(), at.numpy(), x.grad.numpy()
    fast, slow = run_both(monkeypatch, kernel_device, pooled)
    np.testing.assert_array_equal(fast[1], slow[1])  # the same cell picked in every window
    assert_close(fast, slow, dtype)


def test_max_pool_kernel_runs_once_for_the_output_and_its_indices(kernel_device):
    """return_indices takes the indices from the forward's own kernel call, in 1-D, 2-D
    and 3-D (one call per pass), recorded or not."""
    _, _, calls = kernel_device
    x = ag.tensor(pool_input("float32", (2, 3, 8, 8)), requires_grad=True)
    expected = 0
    for pool, args, runs in ((F.max_pool2d, (x, 2), 1), (F.max_pool1d, (x[:, :, 0], 3), 1),
                             (F.max_pool3d, (ag.broadcast_to(x[:, :, None], (2, 3, 4, 8, 8)), 2), 2)):
        for grad in (True, False):
            with ag.enable_grad() if grad else ag.no_grad():
                y, at = pool(*args, return_indices=True)
            expected += runs
            assert calls["max_pool2d_argmax"] == expected, pool.__name__
            assert at.shape == y.shape and y.requires_grad == grad


def test_max_pool_kernel_reads_a_strided_input(monkeypatch, kernel_device):
    """A conv output's (C, N, H, W) memory order, as the CNN's pooling gets it."""
    x0 = np.ascontiguousarray(np.transpose(pool_input("float32", (2, 3, 6, 6)), (1, 0, 2, 3)))

    def pooled():
        x = ag.tensor(x0, requires_grad=True)
        strided = x.transpose(1, 0, 2, 3)
        assert not strided.data.flags.c_contiguous
        y = F.max_pool2d(strided, 2)
        y.sum().backward()
        return y.numpy(), x.grad.numpy()
    fast, slow = run_both(monkeypatch, kernel_device, pooled)
    assert_close(fast, slow, "float32")


def test_max_pool_kernel_path_is_twice_differentiable(kernel_device):
    _, _, calls = kernel_device
    x = ag.tensor(pool_input("float64", (1, 2, 6, 6), ties=False, nans=False), requires_grad=True)
    assert ag.gradcheck(lambda t: F.max_pool2d(t, 2), (x,))
    assert ag.gradgradcheck(lambda t: F.max_pool2d(t, 3, 3, 1), (x,))
    assert calls["max_pool2d_argmax"] > 0


def test_max_pool_window_wholly_in_padding_takes_the_op_by_op_path(kernel_device):
    """Size 3, kernel 2 dilated by 4, padding 1, stride 5 (no overlaps): the one window's
    cells are rows -1 and 3, both outside the input."""
    _, _, calls = kernel_device
    x = ag.tensor(pool_input("float32", (1, 1, 3, 3), nans=False), requires_grad=True)
    y = F.max_pool2d(x, 2, 5, 1, 4)
    y.sum().backward()
    assert calls["max_pool2d_argmax"] == 0
    assert np.isneginf(y.numpy()).any() and np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("pool", [(3, 1, 1, 1, False), (3, 2, 1, 1, True), (2, 1, 1, 2, False)])
def test_max_pool_overlapping_windows_take_the_op_by_op_gradient(monkeypatch, kernel_device, pool):
    """A cell that is the maximum of several windows would get their gradients by
    colliding atomic adds, in no fixed order; the masked writes add them in one. The
    indices still come from the kernel, and agree."""
    _, _, calls = kernel_device
    x0 = pool_input("float32")

    def pooled():
        x = ag.tensor(x0, requires_grad=True)
        y, at = F.max_pool2d(x, *pool, return_indices=True)
        y.backward(ag.ones_like(y))
        return y.numpy(), at.numpy(), x.grad.numpy()
    fast, slow = run_both(monkeypatch, kernel_device, pooled)
    assert calls["max_pool2d_argmax"] == 1  # the indices' call, not the forward's
    np.testing.assert_array_equal(fast[1], slow[1])
    assert_close(fast, slow, "float32")


def logits_batch(dtype, n=6, c=5):
    z = np.random.default_rng(2).standard_normal((n, c)).astype(dtype) * 4
    z[1, 2] = np.nan       # a NaN row: NaN loss and gradient
    z[2, :] = -np.inf      # a row of -inf: NaN, as the op-by-op max-shift gives
    z[3, 0] = 1e30         # a huge logit stays finite
    t = np.arange(n) % c
    return z, t


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # (the -inf row, op by op)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_kernels_give_the_op_by_op_loss_and_gradient(monkeypatch, kernel_device, reduction, dtype):
    z0, t0 = logits_batch(dtype)

    def loss_and_grad():
        z = ag.tensor(z0, requires_grad=True)
        loss = F.cross_entropy(z, ag.tensor(t0), reduction=reduction)
        gy = ag.ones_like(loss) if reduction != "none" else ag.tensor(np.linspace(-1, 2, len(t0)).astype(dtype))
        loss.backward(gy)
        return loss.numpy(), z.grad.numpy()
    fast, slow = run_both(monkeypatch, kernel_device, loss_and_grad)
    assert_close(fast, slow, dtype)


def test_cross_entropy_kernels_over_many_classes(monkeypatch, kernel_device):
    z0 = np.random.default_rng(3).standard_normal((37, 3000)).astype(np.float32) * 3
    t0 = np.random.default_rng(4).integers(0, 3000, 37)

    def loss_and_grad():
        z = ag.tensor(z0, requires_grad=True)
        loss = F.cross_entropy(z, ag.tensor(t0))
        loss.backward()
        return loss.numpy(), z.grad.numpy()
    fast, slow = run_both(monkeypatch, kernel_device, loss_and_grad)
    assert_close(fast, slow, "float32")


def test_cross_entropy_options_the_kernels_do_not_cover_go_op_by_op(kernel_device):
    """Class weights, ignored targets and label smoothing keep the op-by-op path."""
    _, _, calls = kernel_device
    z = ag.randn(4, 3, requires_grad=True)
    t = ag.tensor([0, 1, -100, 2])
    F.cross_entropy(z, t, weight=ag.tensor([1.0, 2.0, 0.5])).backward()
    F.cross_entropy(z, t, ignore_index=-100).backward()
    F.cross_entropy(z, ag.tensor([0, 1, 1, 2]), label_smoothing=0.1).backward()
    assert calls["cross_entropy_rows"] == 0 and calls["cross_entropy_grad"] == 0


def test_cross_entropy_kernel_path_is_twice_differentiable(kernel_device):
    z = ag.tensor(np.random.default_rng(5).standard_normal((4, 3)), requires_grad=True)
    t = ag.tensor([0, 2, 1, 2])
    assert ag.gradcheck(lambda a: F.cross_entropy(a, t), (z,))
    assert ag.gradgradcheck(lambda a: F.cross_entropy(a, t, reduction="none"), (z,))
