"""nn.functional against PyTorch (float64: values, input gradients and weight
gradients, tight tolerances) and against finite differences: every fused
primitive passes gradcheck and gradgradcheck on every backend, the
array-api-strict guard included."""
import math
import warnings
import zlib

import numpy as np
import pytest

import autograd as ag
import backends
import nn
import nn.functional as F

from .torch_compare import assert_close_to_torch, distinct_values, float64_leaves

# PyTorch warns that its own 'same' padding with an even kernel copies the input
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")


def _f64(a, requires_grad=True):
    return ag.tensor(np.asarray(a, dtype=np.float64), dtype=ag.float64, requires_grad=requires_grad)


def _assert_matches_torch(torch, ours, theirs, arrays, rtol=1e-10, atol=1e-12):
    """Forward values, and the gradients of sum(output * r) for a random r, in float64."""
    ours_in = [_f64(a) for a in arrays]
    theirs_in = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    out, ref = ours(*ours_in), theirs(torch, *theirs_in)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=rtol, atol=atol)
    r = np.random.default_rng(7).standard_normal(ref.shape)
    out.backward(ag.tensor(r, dtype=ag.float64))
    ref.backward(torch.from_numpy(r))
    for i, (o, t) in enumerate(zip(ours_in, theirs_in)):
        expected = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        got = np.zeros(o.shape) if o.grad is None else o.grad.numpy()
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=f"gradient of input {i}")


# --- against PyTorch ------------------------------------------------------------------
RUNNING_MEAN, RUNNING_VAR = np.array([0.5, -1.0, 2.0]), np.array([0.7, 1.3, 2.0])

# name: (ours(*tensors), theirs(torch, *tensors), inputs(rng) -> list of float64 arrays)
TORCH_ROWS = {
    "linear": (lambda x, w, b: F.linear(x, w, b),
               lambda t, x, w, b: t.nn.functional.linear(x, w, b),
               lambda rng: [rng.standard_normal((5, 4)), rng.standard_normal((3, 4)), rng.standard_normal(3)]),
    "linear-3d-no-bias": (lambda x, w: F.linear(x, w),
                          lambda t, x, w: t.nn.functional.linear(x, w),
                          lambda rng: [rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4))]),
    "linear-1d": (lambda x, w, b: F.linear(x, w, b),
                  lambda t, x, w, b: t.nn.functional.linear(x, w, b),
                  lambda rng: [rng.standard_normal(4), rng.standard_normal((3, 4)), rng.standard_normal(3)]),
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b),
               lambda t, x, w, b: t.nn.functional.conv2d(x, w, b),
               lambda rng: [rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 2)),
                            rng.standard_normal(4)]),
    "conv2d-stride-padding": (lambda x, w, b: F.conv2d(x, w, b, stride=(2, 3), padding=(1, 2)),
                              lambda t, x, w, b: t.nn.functional.conv2d(x, w, b, stride=(2, 3), padding=(1, 2)),
                              lambda rng: [rng.standard_normal((2, 2, 7, 8)), rng.standard_normal((3, 2, 3, 3)),
                                           rng.standard_normal(3)]),
    "conv2d-dilation-groups": (lambda x, w: F.conv2d(x, w, None, padding=1, dilation=(2, 1), groups=2),
                               lambda t, x, w: t.nn.functional.conv2d(x, w, None, padding=1, dilation=(2, 1),
                                                                       groups=2),
                               lambda rng: [rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 2, 3, 2))]),
    "conv2d-depthwise": (lambda x, w, b: F.conv2d(x, w, b, groups=3),
                         lambda t, x, w, b: t.nn.functional.conv2d(x, w, b, groups=3),
                         lambda rng: [rng.standard_normal((1, 3, 5, 5)), rng.standard_normal((3, 1, 3, 3)),
                                      rng.standard_normal(3)]),
    "conv2d-same-even-kernel": (lambda x, w: F.conv2d(x, w, padding="same", dilation=(1, 2)),
                                lambda t, x, w: t.nn.functional.conv2d(x, w, padding="same", dilation=(1, 2)),
                                lambda rng: [rng.standard_normal((1, 2, 5, 6)), rng.standard_normal((2, 2, 4, 2))]),
    "conv2d-valid-unbatched": (lambda x, w: F.conv2d(x, w, padding="valid"),
                               lambda t, x, w: t.nn.functional.conv2d(x, w, padding="valid"),
                               lambda rng: [rng.standard_normal((2, 5, 5)), rng.standard_normal((3, 2, 2, 2))]),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2),
                   lambda t, x: t.nn.functional.max_pool2d(x, 2),
                   lambda rng: [distinct_values(rng, 2, 3, 7, 6)]),
    "max_pool2d-overlap-padding": (lambda x: F.max_pool2d(x, 3, stride=2, padding=1),
                                   lambda t, x: t.nn.functional.max_pool2d(x, 3, stride=2, padding=1),
                                   lambda rng: [distinct_values(rng, 2, 2, 7, 6)]),
    "max_pool2d-dilation-ceil": (lambda x: F.max_pool2d(x, (2, 3), stride=2, dilation=(2, 1), ceil_mode=True),
                                 lambda t, x: t.nn.functional.max_pool2d(x, (2, 3), stride=2, dilation=(2, 1),
                                                                         ceil_mode=True),
                                 lambda rng: [distinct_values(rng, 1, 2, 8, 7)]),
    "max_pool2d-ties": (lambda x: F.max_pool2d(x, 2, stride=1),
                        lambda t, x: t.nn.functional.max_pool2d(x, 2, stride=1),
                        lambda rng: [np.round(rng.uniform(0, 2, (2, 2, 5, 5)))]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 2),
                   lambda t, x: t.nn.functional.avg_pool2d(x, 2),
                   lambda rng: [rng.standard_normal((2, 3, 7, 6))]),
    "avg_pool2d-padding": (lambda x: F.avg_pool2d(x, 3, stride=2, padding=1),
                           lambda t, x: t.nn.functional.avg_pool2d(x, 3, stride=2, padding=1),
                           lambda rng: [rng.standard_normal((2, 2, 7, 6))]),
    "avg_pool2d-exclude-pad-ceil": (
        lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
        lambda t, x: t.nn.functional.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
        lambda rng: [rng.standard_normal((1, 2, 8, 6))]),
    "avg_pool2d-ceil-include-pad": (
        lambda x: F.avg_pool2d(x, (3, 2), stride=(2, 2), padding=(1, 0), ceil_mode=True),
        lambda t, x: t.nn.functional.avg_pool2d(x, (3, 2), stride=(2, 2), padding=(1, 0), ceil_mode=True),
        lambda rng: [rng.standard_normal((1, 2, 8, 7))]),
    "avg_pool2d-divisor-override": (lambda x: F.avg_pool2d(x, 2, divisor_override=3),
                                    lambda t, x: t.nn.functional.avg_pool2d(x, 2, divisor_override=3),
                                    lambda rng: [rng.standard_normal((1, 2, 4, 4))]),
    "adaptive_avg_pool2d-global": (lambda x: F.adaptive_avg_pool2d(x, 1),
                                   lambda t, x: t.nn.functional.adaptive_avg_pool2d(x, 1),
                                   lambda rng: [rng.standard_normal((2, 3, 5, 4))]),
    "adaptive_avg_pool2d-even": (lambda x: F.adaptive_avg_pool2d(x, (2, 3)),
                                 lambda t, x: t.nn.functional.adaptive_avg_pool2d(x, (2, 3)),
                                 lambda rng: [rng.standard_normal((2, 3, 4, 6))]),
    "adaptive_avg_pool2d-uneven": (lambda x: F.adaptive_avg_pool2d(x, (3, None)),
                                   lambda t, x: t.nn.functional.adaptive_avg_pool2d(x, (3, None)),
                                   lambda rng: [rng.standard_normal((2, 2, 7, 5))]),
    "adaptive_avg_pool2d-upsample": (lambda x: F.adaptive_avg_pool2d(x, (4, 3)),
                                     lambda t, x: t.nn.functional.adaptive_avg_pool2d(x, (4, 3)),
                                     lambda rng: [rng.standard_normal((1, 2, 3, 2))]),
    "relu": (F.relu, lambda t, x: t.relu(x), lambda rng: [rng.standard_normal((3, 4))]),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda t, x: t.nn.functional.leaky_relu(x, 0.2),
                   lambda rng: [np.concatenate([rng.standard_normal(7), [0.0]])]),
    "elu": (lambda x: F.elu(x, 1.5), lambda t, x: t.nn.functional.elu(x, 1.5),
            lambda rng: [np.concatenate([rng.standard_normal(7) * 3, [0.0, 50.0, 800.0]])]),
    "gelu": (F.gelu, lambda t, x: t.nn.functional.gelu(x),
             lambda rng: [np.concatenate([rng.standard_normal(9) * 3, [0.0, -0.3, 0.49, 0.51, 3.9, 4.1, -7.0]])]),
    "gelu-tanh": (lambda x: F.gelu(x, approximate="tanh"), lambda t, x: t.nn.functional.gelu(x, approximate="tanh"),
                  lambda rng: [rng.standard_normal(9) * 3]),
    "sigmoid": (F.sigmoid, lambda t, x: t.sigmoid(x), lambda rng: [rng.standard_normal(6) * 5]),
    "tanh": (F.tanh, lambda t, x: t.tanh(x), lambda rng: [rng.standard_normal(6) * 2]),
    "softplus": (F.softplus, lambda t, x: t.nn.functional.softplus(x),
                 lambda rng: [np.concatenate([rng.standard_normal(6) * 5, [-800.0, 19.0, 21.0, 800.0]])]),
    "softplus-beta-threshold": (lambda x: F.softplus(x, beta=2.0, threshold=5.0),
                                lambda t, x: t.nn.functional.softplus(x, beta=2.0, threshold=5.0),
                                lambda rng: [np.concatenate([rng.standard_normal(6) * 3, [2.4, 2.6]])]),
    "softmax": (lambda x: F.softmax(x, axis=1), lambda t, x: t.softmax(x, dim=1),
                lambda rng: [rng.standard_normal((3, 4, 2))]),
    "softmax-last": (lambda x: F.softmax(x, axis=-1), lambda t, x: t.softmax(x, dim=-1),
                     lambda rng: [rng.standard_normal((3, 5)) * 30]),
    "log_softmax": (lambda x: F.log_softmax(x, axis=0), lambda t, x: t.log_softmax(x, dim=0),
                    lambda rng: [rng.standard_normal((3, 4))]),
    "log_softmax-extreme": (lambda x: F.log_softmax(x, axis=1), lambda t, x: t.log_softmax(x, dim=1),
                            lambda rng: [np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]])]),
    "batch_norm-train": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True, eps=1e-3),
                         lambda t, x, w, b: t.nn.functional.batch_norm(x, None, None, w, b, training=True, eps=1e-3),
                         lambda rng: [rng.standard_normal((4, 3, 2, 2)), rng.standard_normal(3),
                                      rng.standard_normal(3)]),
    "batch_norm-eval": (lambda x, w, b: F.batch_norm(x, _f64(RUNNING_MEAN, False), _f64(RUNNING_VAR, False), w, b),
                        lambda t, x, w, b: t.nn.functional.batch_norm(x, t.from_numpy(RUNNING_MEAN),
                                                                      t.from_numpy(RUNNING_VAR), w, b),
                        lambda rng: [rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal(3)]),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (3, 4), w, b),
                   lambda t, x, w, b: t.nn.functional.layer_norm(x, (3, 4), w, b),
                   lambda rng: [rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4)),
                                rng.standard_normal((3, 4))]),
    "layer_norm-no-affine": (lambda x: F.layer_norm(x, 5, eps=1e-2),
                             lambda t, x: t.nn.functional.layer_norm(x, (5,), eps=1e-2),
                             lambda rng: [rng.standard_normal((3, 5))]),
}


@pytest.mark.parametrize("name", sorted(TORCH_ROWS))
def test_matches_torch(torch, name):
    ours, theirs, inputs = TORCH_ROWS[name]
    _assert_matches_torch(torch, ours, theirs, inputs(np.random.default_rng(zlib.crc32(name.encode()))))


def test_float32_forward_matches_torch(torch):
    """The float32 fast paths (bias added in place, im2col layout) agree with PyTorch."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 3, 12, 12)).astype(np.float32)
    w = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    y = F.max_pool2d(F.relu(F.conv2d(ag.tensor(x), ag.tensor(w), ag.tensor(b), padding=1)), 2)
    ref = torch.nn.functional.max_pool2d(torch.relu(torch.nn.functional.conv2d(
        torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), padding=1)), 2)
    assert y.dtype == ag.float32
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-5, atol=1e-5)
    z = F.linear(y.reshape(8, -1), ag.tensor(rng.standard_normal((4, 180)).astype(np.float32)))
    assert z.dtype == ag.float32 and z.shape == (8, 4)


def test_max_pool2d_return_indices_match_torch(torch):
    rng = np.random.default_rng(3)
    x = distinct_values(rng, 2, 2, 7, 6)
    for kwargs in ({"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1},
                   {"kernel_size": (2, 2), "dilation": 2, "ceil_mode": True}):
        y, idx = F.max_pool2d(_f64(x), return_indices=True, **kwargs)
        ry, ridx = torch.nn.functional.max_pool2d(torch.from_numpy(x), return_indices=True, **kwargs)
        np.testing.assert_array_equal(y.numpy(), ry.numpy())
        np.testing.assert_array_equal(idx.numpy(), ridx.numpy())
        assert idx.dtype == ag.int64


def test_max_pool2d_sends_gradient_to_first_maximum():
    x = _f64(np.ones((1, 1, 2, 4)))
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[1, 0, 1, 0], [0, 0, 0, 0]])


def test_max_pool2d_gradient_in_recycled_scratch_memory_is_zero_past_the_last_window():
    """Windows that tile the input leave its last row and column (11 = 2 * 5 + 1)
    unread; the gradient buffer is pooled memory that is zeroed only there."""
    backend = backends.get("cpu")
    shape = (64, 16, 11, 11)  # large enough (496 KB) to come from the scratch pool
    dirty = backend.scratch((shape[1], shape[0], *shape[2:]), np.float32)
    dirty[...] = np.nan  # what an earlier step may have left in the block
    del dirty
    values = np.random.default_rng(7).permutation(np.prod(shape)).reshape(shape).astype(np.float32)
    x = ag.tensor(values, requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    windows = values[..., :10, :10].reshape(64, 16, 5, 2, 5, 2).transpose(0, 1, 2, 4, 3, 5).reshape(64, 16, 5, 5, 4)
    first = windows.argmax(axis=-1)
    expected = np.zeros(shape, np.float32)
    n, c, i, j = np.indices(first.shape)
    expected[n, c, 2 * i + first // 2, 2 * j + first % 2] = 1
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def _dirty_scratch(backend, shape, dtype):
    """Leave NaN in every pooled block the gradient buffer of ``shape`` might take."""
    n, c, h, w = shape
    blocks = []
    for dh in range(4):
        for dw in range(4):
            block = backend.scratch((c, n, h + dh, w + dw), dtype)
            block[...] = float("nan")
            blocks.append(block)
    del blocks


@pytest.mark.parametrize("shape,kernel,stride,padding,dilation,ceil_mode", [
    ((64, 16, 11, 11), 2, None, 0, 1, False),   # tiles, a last row and column unread
    ((64, 16, 11, 11), 2, None, 1, 1, False),   # tiles over padding
    ((64, 16, 11, 11), 2, None, 0, 1, True),    # tiles, ceil_mode's extra padding
    ((33, 17, 13, 9), (2, 3), (2, 3), 1, 1, True),
    ((33, 17, 13, 9), 3, 2, 1, 1, False),       # overlaps
    ((33, 17, 13, 9), 2, 3, 0, 1, False),       # gaps
    ((33, 17, 13, 9), 2, 2, 0, 2, False),       # dilation
    ((17, 13, 9), 2, None, 0, 1, True),         # unbatched
    ((0, 3, 8, 8), 2, None, 0, 1, False),       # empty batch
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_max_pool2d_gradient_from_dirty_scratch_matches_pytorch(device, torch, shape, kernel, stride, padding,
                                                                dilation, ceil_mode, dtype):
    backend = backends.get(device)
    rng = np.random.default_rng(2)
    x0 = rng.permutation(int(np.prod(shape))).reshape(shape).astype(dtype)  # no ties
    tx = torch.tensor(x0, requires_grad=True)
    ty = torch.nn.functional.max_pool2d(tx, kernel, stride, padding, dilation, ceil_mode)
    g0 = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.tensor(g0))
    batched = shape if len(shape) == 4 else (1,) + shape
    x = ag.tensor(x0, requires_grad=True)
    _dirty_scratch(backend, (batched[0], batched[1], batched[2] + 2 * padding, batched[3] + 2 * padding),
                   x.data.dtype)
    y = F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)
    y.backward(ag.tensor(g0))
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("x_shape", [(5,), (4, 5), (2, 3, 5), (0, 5)], ids=["1-D", "2-D", "3-D", "empty"])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_first_and_second_order_match_pytorch(device, torch, x_shape, bias):
    rng = np.random.default_rng(1)
    x0, w0, b0 = rng.standard_normal(x_shape), rng.standard_normal((3, 5)), rng.standard_normal(3)

    def run(lib, tensor):
        x, w = tensor(x0), tensor(w0)
        b = tensor(b0) if bias else None
        y = (F if lib is ag else torch.nn.functional).linear(x, w, b)
        loss = (y * y * y).sum()
        wanted = [x, w] + ([b] if bias else [])
        plain = lib.grad(loss, wanted, retain_graph=True)
        first = lib.grad(loss, wanted, create_graph=True)
        second = lib.grad(sum((g * g).sum() for g in first), wanted)
        return [np.asarray(g.detach().numpy() if hasattr(g, "detach") else g.numpy()) for g in (*plain, *second)]

    got = run(ag, lambda a: ag.tensor(a, dtype=ag.float64, requires_grad=True))
    expected = run(torch.autograd, lambda a: torch.tensor(a, requires_grad=True))
    for ours, theirs in zip(got, expected):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_relu_inplace_returns_its_input_changed():
    x = ag.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    h = x * 3
    assert F.relu(h, inplace=True) is h
    np.testing.assert_array_equal(h.numpy(), np.float32([0.0, 1.5, 6.0]))
    h.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 3.0, 3.0])
    kept = x * 3
    assert F.relu(kept) is not kept and kept.numpy()[0] == -3.0   # the default leaves the input alone


@pytest.mark.parametrize("name, call", [
    ("leaky_relu", lambda h: F.leaky_relu(h, 0.2, inplace=True)),
    ("elu", lambda h: F.elu(h, 0.5, inplace=True)),
    ("dropout", lambda h: F.dropout(h, 0.5, training=True, inplace=True)),
])
def test_inplace_activations_write_over_their_input(name, call):
    """inplace=True changes the input itself, as PyTorch's does (the returned tensor is
    the input), with the same gradients as the out-of-place form."""
    x = ag.tensor(np.linspace(-2.0, 2.0, 12), dtype="float64", requires_grad=True)
    h = x * 3
    ag.manual_seed(4)
    out = call(h)
    assert out is h
    (h * h).sum().backward()
    changed, grad = h.numpy().copy(), x.grad.numpy().copy()
    x.grad = None
    ag.manual_seed(4)
    kept = x * 3
    reference = {"leaky_relu": F.leaky_relu(kept, 0.2), "elu": F.elu(kept, 0.5),
                 "dropout": F.dropout(kept, 0.5, training=True)}[name]
    np.testing.assert_array_equal(kept.numpy(), x.numpy() * 3)  # the default leaves its input alone
    np.testing.assert_array_equal(changed, reference.numpy())
    (reference * reference).sum().backward()
    np.testing.assert_allclose(grad, x.grad.numpy(), rtol=1e-15)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        call(x)


def test_inplace_activations_outside_recording_write_even_over_a_recorded_view():
    """Under no_grad nothing is recorded, so an in-place activation writes through a view
    made while recording, as PyTorch's does (the shared version counter guards backward)."""
    x = ag.tensor(np.linspace(-2.0, 2.0, 6), dtype="float64", requires_grad=True)
    h = x * 1
    v = h[:3]
    with ag.no_grad():
        assert F.leaky_relu(v, 0.1, inplace=True) is v
        assert F.relu(h[3:], inplace=True) is not None
    np.testing.assert_allclose(h.numpy()[:3], 0.1 * np.linspace(-2.0, 2.0, 6)[:3])


def test_inplace_activations_on_a_recorded_view_write_through_to_its_base_as_torch(torch):
    """While recording, an in-place activation on a view (a transpose, a row) writes into
    the base, which takes the change's place in the graph, as PyTorch's CopySlices does.
    On a view of an output its op keeps for backward (exp's) it computes out of place."""
    values = np.linspace(-2.0, 2.0, 6).reshape(2, 3)

    def run(lib, functional):
        x = lib.tensor(values, dtype=lib.float64, requires_grad=True)
        h, k = x * 1, x * 2
        t = h.T
        assert functional.relu(t, inplace=True) is t
        row = k[1]
        assert functional.leaky_relu(row, 0.1, inplace=True) is row
        ((h * h).sum() + (t * 2).sum() + (k * k).sum()).backward()
        return h, k, x.grad

    for ours, theirs in zip(run(ag, F), run(torch, torch.nn.functional)):
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-15)
    x = ag.tensor(values, dtype="float64", requires_grad=True)
    kept = x.exp()
    out = F.relu(kept.T - 3.0, inplace=True)  # a new tensor, so nothing to refuse
    view = kept.T
    assert F.elu(view, inplace=True) is not view
    exact = 4e-16 if x.device.startswith("cuda") else 0  # (CUDA's exp is within an ulp of NumPy's)
    np.testing.assert_allclose(kept.numpy(), np.exp(values), rtol=exact, atol=0)
    (out.sum() + kept.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(values) * (1 + (np.exp(values) > 3)), rtol=1e-15)


def test_erf_accuracy():
    from autograd.ops.nn_fused import erf
    x = np.concatenate([np.linspace(-7, 7, 4001), [0.0, 1e-300, -1e-12, 0.46875, 0.5, 4.0, 27.0, -40.0]])
    reference = np.array([math.erf(v) for v in x])
    got = erf(ag.tensor(x, dtype=ag.float64)).numpy()
    np.testing.assert_allclose(got, reference, rtol=1e-15, atol=1e-300)
    got32 = erf(ag.tensor(x, dtype=ag.float32)).numpy()
    np.testing.assert_allclose(got32, reference, rtol=0, atol=3e-7)  # a few float32 ulps
    assert np.isnan(erf(ag.tensor([np.nan], dtype=ag.float64)).numpy()).all()
    np.testing.assert_array_equal(erf(ag.tensor([np.inf, -np.inf], dtype=ag.float64)).numpy(), [1.0, -1.0])


def test_softmax_of_huge_logits_is_finite():
    x = _f64([[1e4, -1e4, 0.0], [3e4, 3e4, -3e4]])
    y = F.softmax(x, axis=1)
    np.testing.assert_allclose(y.numpy(), [[1, 0, 0], [0.5, 0.5, 0]], atol=1e-300)
    (y * _f64(np.arange(6.0).reshape(2, 3), False)).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("shape", [(), (5,), (2, 5), (2, 3, 4), (2, 3, 4, 5)])
def test_softmax_without_an_axis_takes_pytorchs_implicit_one_and_warns(device, torch, name, shape):
    # F.softmax(x) defaulted to the last axis, where PyTorch's takes 0 for 0-, 1- and 3-D
    # inputs and 1 otherwise (with a deprecation warning): a 3-D input gave other values, silently.
    values = np.random.default_rng(3).standard_normal(shape)
    with pytest.warns(UserWarning, match=f"Implicit dimension choice for {name}") as caught:
        ours = getattr(F, name)(ag.tensor(values, dtype=ag.float64))
    assert caught[0].filename == __file__
    with pytest.warns(UserWarning):
        theirs = getattr(torch.nn.functional, name)(torch.tensor(values))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-14)


@pytest.mark.parametrize("dtype, top", [(ag.float64, 1e308), (ag.float32, 3e38)])
def test_exact_gelu_stays_finite_up_to_the_largest_inputs(device, dtype, top):
    # x erfc(-x / sqrt 2) / 2 overflowed from half the range on (gelu(1e308) was inf): Phi first
    x = ag.tensor([top, top / 2, -top], dtype=dtype, requires_grad=True)
    y = F.gelu(x)
    np.testing.assert_array_equal(y.numpy(), np.array([top, top / 2, -0.0], dtype=y.numpy().dtype))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, 0.0])


@pytest.mark.parametrize("logits", [[1.0, np.inf, 2.0, 3.0], [-np.inf, 1.0, 2.0, 3.0], [1e308, -1e308, 2.0, 0.0],
                                    [np.nan, 1.0, 2.0, 3.0]])
def test_softmax_and_cross_entropy_at_infinities_are_quiet_and_pytorchs(device, torch, logits):
    # inf - inf (the NaN PyTorch gives) and -1e308 - 1e308 (exp 0) warned from NumPy
    rows = np.array([logits, logits[::-1]])
    tf = torch.nn.functional
    for ours, theirs in [(lambda z: F.softmax(z, axis=1), lambda z: tf.softmax(z, 1)),
                         (lambda z: F.log_softmax(z, axis=0), lambda z: tf.log_softmax(z, 0)),
                         (lambda z: F.cross_entropy(z, ag.tensor([2, 1])), lambda z: tf.cross_entropy(z, torch.tensor([2, 1]))),
                         (lambda z: F.cross_entropy(z, ag.tensor([2, 1]), label_smoothing=0.1),
                          lambda z: tf.cross_entropy(z, torch.tensor([2, 1]), label_smoothing=0.1))]:
        z, zt = _f64(rows), torch.tensor(rows, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y = ours(z)
            y.backward(ag.ones_like(y))
        yt = theirs(zt)
        yt.backward(torch.ones_like(yt))
        np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(z.grad.numpy(), zt.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_one_hot():
    y = F.one_hot(ag.tensor([[0, 2], [1, 2]]))
    assert y.dtype == ag.int64 and y.shape == (2, 2, 3)
    np.testing.assert_array_equal(y.numpy(), np.eye(3, dtype=np.int64)[[[0, 2], [1, 2]]])
    assert F.one_hot(ag.tensor([1]), num_classes=4).tolist() == [[0, 1, 0, 0]]
    with pytest.raises(ValueError, match="class values"):
        F.one_hot(ag.tensor([3]), num_classes=3)
    with pytest.raises(TypeError, match="integer"):
        F.one_hot(ag.tensor([1.0]))


def test_dropout_training_and_eval():
    x = ag.ones(200, 100, requires_grad=True)
    y = F.dropout(x, p=0.3, training=True)
    values = y.numpy()
    kept = values != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(values[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), values)  # the same mask scales the gradient
    assert F.dropout(x, 0.3, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert not F.dropout(x, 1.0).numpy().any()
    ag.manual_seed(5)
    a = F.dropout(x, 0.5).numpy()
    ag.manual_seed(5)
    np.testing.assert_array_equal(F.dropout(x, 0.5).numpy(), a)  # from the seeded generator
    with pytest.raises(ValueError, match="probability"):
        F.dropout(x, 1.5)


def test_batch_norm_updates_running_stats_like_torch(torch):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 3, 2))
    mean, var = ag.zeros(3, dtype=ag.float64), ag.ones(3, dtype=ag.float64)
    tmean, tvar = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for _ in range(2):
        F.batch_norm(_f64(x), mean, var, training=True, momentum=0.3)
        torch.nn.functional.batch_norm(torch.from_numpy(x), tmean, tvar, training=True, momentum=0.3)
    np.testing.assert_allclose(mean.numpy(), tmean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(var.numpy(), tvar.numpy(), rtol=1e-12)  # unbiased, as PyTorch
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(_f64(np.ones((1, 3))), None, None, training=True)


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.linear(ag.ones(2, 3), ag.ones(4, 5)), ValueError, "expects 5"),
    (lambda: F.linear(ag.ones(2, 3), ag.ones(4, 3), ag.ones(3)), ValueError, r"bias must have shape \(4,\)"),
    (lambda: F.linear(ag.ones(2, 3, dtype=ag.float64), ag.ones(4, 3)), TypeError, "one dtype"),
    (lambda: F.linear([[1.0]], ag.ones(1, 1)), TypeError, "must be a Tensor"),
    (lambda: F.conv2d(ag.ones(1, 3, 5, 5), ag.ones(2, 2, 3, 3)), ValueError, "3 channels"),
    (lambda: F.conv2d(ag.ones(1, 4, 5, 5), ag.ones(3, 2, 3, 3), groups=2), ValueError, "divisible by groups"),
    (lambda: F.conv2d(ag.ones(1, 1, 2, 2), ag.ones(1, 1, 3, 3)), ValueError, "smaller than the kernel"),
    (lambda: F.conv2d(ag.ones(1, 1, 5, 5), ag.ones(1, 1, 3, 3), stride=2, padding="same"), ValueError, "stride 1"),
    (lambda: F.conv2d(ag.ones(5, 5), ag.ones(1, 1, 3, 3)), ValueError, r"\(N, C, H, W\)"),
    (lambda: F.conv2d(ag.ones(1, 1, 5, 5), ag.ones(1, 1, 3, 3), stride=0), ValueError, "at least 1"),
    (lambda: F.max_pool2d(ag.ones(1, 1, 4, 4), 2, padding=2), ValueError, "at most half"),
    (lambda: F.avg_pool2d(ag.ones(1, 1, 4, 4), (2, 2, 2)), TypeError, "pair of ints"),
    (lambda: F.softmax(ag.ones(2, 3), axis=2), ValueError, "out of range"),
    (lambda: F.relu(ag.tensor([1, 2])), TypeError, "floating point"),
    (lambda: F.gelu(ag.ones(2), approximate="erf"), ValueError, "approximate"),
    (lambda: F.layer_norm(ag.ones(2, 3), (2,)), ValueError, "normalized_shape"),
    (lambda: F.batch_norm(ag.ones(2, 3), None, None), ValueError, "running_mean"),
])
def test_bad_arguments_raise_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --- gradcheck and gradgradcheck of the fused primitives, on every backend ---------------------
# name: (fn of tensors, inputs(rng) -> float64 arrays that require grad)
GRADCHECK_ROWS = {
    "linear": (lambda x, w, b: F.linear(x, w, b),
               lambda rng: [rng.standard_normal((3, 4)), rng.standard_normal((2, 4)), rng.standard_normal(2)]),
    "linear-3d": (lambda x, w: F.linear(x, w),
                  lambda rng: [rng.standard_normal((2, 2, 3)), rng.standard_normal((2, 3))]),
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
               lambda rng: [rng.standard_normal((2, 2, 5, 4)), rng.standard_normal((2, 2, 3, 2)),
                            rng.standard_normal(2)]),
    "conv2d-stride-1": (lambda x, w, b: F.conv2d(x, w, b, padding=(1, 2), dilation=(2, 1)),
                        lambda rng: [rng.standard_normal((2, 2, 5, 6)), rng.standard_normal((3, 2, 2, 3)),
                                     rng.standard_normal(3)]),
    "conv2d-groups-dilation": (lambda x, w: F.conv2d(x, w, padding=(1, 0), dilation=2, groups=2),
                               lambda rng: [rng.standard_normal((1, 4, 5, 5)), rng.standard_normal((2, 2, 2, 2))]),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2), lambda rng: [distinct_values(rng, 1, 2, 5, 4)]),
    "max_pool2d-overlap": (lambda x: F.max_pool2d(x, 3, stride=2, padding=1),
                           lambda rng: [distinct_values(rng, 1, 2, 5, 5)]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
                   lambda rng: [rng.standard_normal((1, 2, 6, 5))]),
    "softmax": (lambda x: F.softmax(x, axis=1), lambda rng: [rng.standard_normal((2, 3, 2))]),
    "log_softmax": (lambda x: F.log_softmax(x, axis=0), lambda rng: [rng.standard_normal((3, 4))]),
    "softplus": (lambda x: F.softplus(x, beta=2.0), lambda rng: [rng.standard_normal(6) * 2]),
    "gelu": (F.gelu, lambda rng: [np.concatenate([rng.standard_normal(5), [0.3, 2.0, -4.5]])]),
    "binary_cross_entropy": (lambda p, t: F.binary_cross_entropy(p, t, reduction="sum"),
                             lambda rng: [rng.uniform(0.1, 0.9, 5), rng.uniform(0, 1, 5)]),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK_ROWS))
def test_fused_ops_gradcheck(device, name):
    fn, inputs = GRADCHECK_ROWS[name]
    args = [_f64(a) for a in inputs(np.random.default_rng(zlib.crc32(name.encode())))]
    assert ag.gradcheck(fn, args)
    assert ag.gradgradcheck(fn, args)


def test_conv2d_scratch_memory_is_never_shared_by_live_graphs(device):
    """conv2d keeps its im2col matrix for backward in scratch memory that the
    backend reuses between steps: a second call of the same shape while the first
    graph is alive must not write over the first one's matrix."""
    rng = np.random.default_rng(8)
    w = ag.tensor(rng.standard_normal((2, 3, 3, 3)).astype(np.float32), requires_grad=True)
    x1, x2 = (ag.tensor(rng.standard_normal((8, 3, 30, 30)).astype(np.float32)) for _ in range(2))
    (expected,) = ag.grad(F.conv2d(x1, w).sum(), w)
    y1 = F.conv2d(x1, w)  # its (27, 8*28*28) matrix is large enough to come from the scratch pool
    y2 = F.conv2d(x2, w)
    (g1,) = ag.grad(y1.sum(), w)
    (g2,) = ag.grad(y2.sum(), w)
    np.testing.assert_allclose(g1.numpy(), expected.numpy(), rtol=1e-5)
    assert not np.allclose(g2.numpy(), g1.numpy())
    for _ in range(2):  # and a freed matrix is reused with the right contents
        (again,) = ag.grad(F.conv2d(x1, w).sum(), w)
        np.testing.assert_allclose(again.numpy(), expected.numpy(), rtol=1e-5)


def test_gradient_penalty_through_max_pool_matches_torch(torch):
    """Second order through max pooling: its gradient-of-gradient ops return None for
    the inputs they do not depend on, and the engine must still reach the conv weight."""
    rng = np.random.default_rng(5)
    x0 = rng.standard_normal((2, 1, 6, 6))
    w0 = rng.standard_normal((2, 1, 3, 3))
    x, w = ag.tensor(x0, requires_grad=True), ag.tensor(w0, requires_grad=True)
    y = F.max_pool2d(F.conv2d(x, w).tanh(), 2)
    (g,) = ag.grad(y.sum(), x, create_graph=True)
    (g * g).sum().backward()

    tx = torch.tensor(x0, requires_grad=True)
    tw = torch.tensor(w0, requires_grad=True)
    ty = torch.nn.functional.max_pool2d(torch.nn.functional.conv2d(tx, tw).tanh(), 2)
    (tg,) = torch.autograd.grad(ty.sum(), tx, create_graph=True)
    (tg * tg).sum().backward()
    np.testing.assert_allclose(g.numpy(), tg.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_sigmoid_of_a_0d_tensor_and_its_gradient(device):
    """Sigmoid of a 0-d tensor, and BCE-with-logits on a scalar logit (whose backward
    goes through the sigmoid kernel): the NumPy kernel's buffer must stay an array."""
    x = ag.tensor(0.3, dtype=ag.float64, requires_grad=True)
    y = ag.sigmoid(x)
    expected = 1 / (1 + np.exp(-0.3))
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-15)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), expected * (1 - expected), rtol=1e-15)

    logit = ag.tensor(0.3, dtype=ag.float64, requires_grad=True)
    F.binary_cross_entropy_with_logits(logit, ag.tensor(1.0, dtype=ag.float64)).backward()
    np.testing.assert_allclose(logit.grad.numpy(), expected - 1, rtol=1e-14)


def test_all_lists_every_public_function():
    defined = {name for name, value in vars(F).items() if not name.startswith("_") and callable(value)
               and getattr(value, "__module__", "").startswith(F.__name__ + ".")}  # (defined in its files)
    assert defined == set(F.__all__)


# --- an in-place ReLU after Linear, against PyTorch ---

def test_inplace_relu_after_linear_leaves_linear_backward_intact(device, torch):
    rng = np.random.default_rng(1)
    lin_t = torch.nn.Linear(3, 4, dtype=torch.float64)
    lin_a = nn.Linear(3, 4, dtype=ag.float64)
    lin_a.load_state_dict({k: v.numpy() for k, v in lin_t.state_dict().items()})
    xa, xt = float64_leaves(torch, rng.standard_normal((5, 3)))
    F.relu(lin_a(xa), inplace=True).sum().backward()
    torch.nn.functional.relu(lin_t(xt), inplace=True).sum().backward()
    assert_close_to_torch(xa.grad, xt.grad)
    assert_close_to_torch(lin_a.weight.grad, lin_t.weight.grad)



def test_inplace_result_computed_through_a_view_takes_its_place_cleanly():
    """An inplace=True activation whose result is a view (computed through a reshape)
    gave the input the view's node, stamped with another tensor's version counter, so
    the input's next use failed with AttributeError ('_base'). Its gradient is the
    out-of-place one: d/dx sum(3 (2x)^2) = 24 x."""
    from nn.functional.inplace import overwrite
    x = ag.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=ag.float64, requires_grad=True)
    a = x * 1
    assert overwrite("double", a, lambda t: (t * 2).reshape(1, 6).reshape(2, 3)) is a
    ((a * 3) * a).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 24 * x.numpy())


# --- float16 hardswish: x * 6 in float16 was inf from x = 10923 --------------------------------
def test_hardswish_float16_is_computed_in_float32_as_torchs(torch):
    values = np.array([-60000.0, -3.0, -1.5, 0.0, 1.5, 3.0, 10000.0, 11000.0, 60000.0], dtype=np.float16)
    incoming = np.linspace(0.5, 1.5, values.size).astype(np.float16)
    x = ag.tensor(values, requires_grad=True)
    y = F.hardswish(x)
    y.backward(ag.tensor(incoming))
    tx = torch.tensor(values, requires_grad=True)
    ty = torch.nn.functional.hardswish(tx)
    ty.backward(torch.tensor(incoming))
    assert y.dtype == ag.float16
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())  # 11000 and 60000 were inf
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


# --- one_hot of an empty tensor ------------------------------------------------------------

def test_one_hot_of_an_empty_tensor_needs_num_classes_as_in_torch(device, torch):
    """With num_classes=-1 an empty tensor has no largest class: ours gave shape (0, 0)."""
    with pytest.raises(RuntimeError, match="Can not infer total number of classes"):
        torch.nn.functional.one_hot(torch.zeros(0, dtype=torch.int64))
    empty = ag.tensor(np.zeros(0, dtype=np.int64))
    with pytest.raises(ValueError, match="one_hot: cannot infer the number of classes from an empty tensor; "
                                         "give num_classes"):
        F.one_hot(empty)
    given = F.one_hot(empty, 4)
    assert given.shape == (0, 4) and given.dtype == ag.int64
