"""ReLU's and max pooling's gradients select (PyTorch: ``y <= 0 ? 0 : grad``, and the
gradient at the window's chosen maximum), so an inf or NaN arriving where nothing passes
gives 0, not NaN; a NaN input passes ReLU's gradient, and a window whose maximum is NaN
sends its gradient to its last NaN. Compared with PyTorch in float16, float32 and float64:
padding and ceil_mode windows holding NaN or nothing but -inf, channels-first activations
large enough for the scratch pool, masks kept alive across later steps, second and third
order, the ReLU RNN step, 0-d, empty and strided inputs, and gradients of another dtype
than the output's."""
import numpy as np
import pytest

import autograd as ag
import nn.functional as F
from autograd.ops.nn_fused import rnn_step

from .torch_compare import float64_leaves, leaves

# inf - inf where overlapping windows add gradients up, and 0 * inf in references
pytestmark = pytest.mark.filterwarnings("ignore:invalid value")


def _special(rng, shape, dtype=np.float64):
    """Random values with NaN, inf, -inf and zeros sprinkled in."""
    x = rng.standard_normal(shape)
    flat = x.reshape(-1)
    for value in (np.nan, np.inf, -np.inf, 0.0):
        flat[rng.choice(flat.size, max(1, flat.size // 10), replace=False)] = value
    return x.astype(dtype)


def _skip_float16_on_strict(device, dtype):
    if dtype == np.float16 and device == "strict":
        pytest.skip("array-api-strict has no float16")


def _leaf(array):
    return ag.tensor(array, dtype=array.dtype, requires_grad=True)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
@pytest.mark.parametrize("inplace", [False, True])
def test_relu_gradient_with_nan_and_inf_in_narrow_floats_matches_pytorch(device, torch, dtype, inplace):
    _skip_float16_on_strict(device, dtype)
    rng = np.random.default_rng(41)
    x0, g0 = _special(rng, (7, 33), dtype), _special(rng, (7, 33), dtype)
    x, tx = leaves(torch, x0)
    y = F.relu(x * 1, inplace=inplace)
    (gx,) = ag.grad(y, x, ag.tensor(g0, dtype=dtype))
    ty = torch.nn.functional.relu(tx * 1, inplace=inplace)
    (tgx,) = torch.autograd.grad(ty, tx, torch.tensor(g0))
    assert gx.dtype == dtype
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(gx.numpy(), tgx.numpy())  # a selection: bit for bit


def test_relu_on_0d_and_empty_inputs_matches_pytorch(device, torch):
    for v in (-1.0, 0.0, 2.0, np.nan):
        for g in (np.inf, np.nan, -3.0):
            x0 = np.array(v)
            x, tx = leaves(torch, x0)
            (gx,) = ag.grad(ag.relu(x * 1), x, ag.tensor(np.array(g)))
            (tgx,) = torch.autograd.grad(torch.relu(tx * 1), tx, torch.tensor(g, dtype=torch.float64))
            assert gx.shape == ()
            np.testing.assert_array_equal(gx.numpy(), tgx.numpy(), err_msg=f"x={v}, grad={g}")
    x = _leaf(np.zeros((0, 3)))
    ag.relu(x * 1).sum().backward()
    assert x.grad.shape == (0, 3)


def test_in_place_relu_on_a_strided_view_passes_nan_and_blocks_inf(device, torch):
    rng = np.random.default_rng(42)
    x0 = _special(rng, (6, 10))
    x, tx = leaves(torch, x0)
    y, ty = x * 1, tx * 1
    ag.relu_(y[:, ::2])
    torch.relu_(ty[:, ::2])
    g0 = _special(rng, (6, 10))
    (gx,) = ag.grad(y, x, ag.tensor(g0))
    (tgx,) = torch.autograd.grad(ty, tx, torch.tensor(g0))
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(gx.numpy(), tgx.numpy())


def test_relu_masks_kept_by_a_retained_graph_survive_later_steps(device, torch):
    # Large enough that the NumPy backend takes the output and the int8 mask from its
    # scratch pool: a mask a retained graph still holds must not be handed out again.
    rng = np.random.default_rng(43)
    shape = (8, 16, 48, 48)  # 294,912 elements: a 288 KiB int8 mask, over the pool's 256 KiB
    x0 = _special(rng, shape, np.float32)
    x = _leaf(x0)
    kept = ag.relu(x * 1)
    for _ in range(20):  # more steps of the same size than the pool keeps blocks per size
        other = _leaf(rng.standard_normal(shape).astype(np.float32))
        ag.relu(other * 1).sum().backward()
    g0 = _special(rng, shape, np.float32)
    (gx,) = ag.grad(kept, x, ag.tensor(g0, dtype=ag.float32))
    tx = torch.tensor(x0, requires_grad=True)
    (tgx,) = torch.autograd.grad(torch.relu(tx * 1), tx, torch.tensor(g0))
    np.testing.assert_array_equal(gx.numpy(), tgx.numpy())


# --- max pooling ----------------------------------------------------------------------

POOL_CASES = {
    "padded": {"kernel_size": 3, "stride": 2, "padding": 1},
    "ceil": {"kernel_size": 3, "stride": 2, "ceil_mode": True},
    "padded-ceil": {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True},
    "overlap-padded": {"kernel_size": 3, "stride": 1, "padding": 1},
    "dilated-ceil": {"kernel_size": (2, 3), "stride": (1, 2), "padding": (1, 1), "dilation": (2, 1),
                     "ceil_mode": True},
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", list(POOL_CASES))
def test_max_pool2d_nan_windows_at_padded_and_ceil_edges_match_pytorch(device, torch, case, dtype):
    kwargs = POOL_CASES[case]
    rng = np.random.default_rng(44)
    x0 = rng.standard_normal((2, 3, 7, 7)).astype(dtype)
    x0[..., -1, :] = np.nan      # NaN along the edges, where windows are padded or hang off
    x0[..., :, 0] = np.nan
    x0[0, 1, 2:5, 2:5] = np.nan  # and a block of them inside
    x, tx = leaves(torch, x0)
    y, idx = F.max_pool2d(x, return_indices=True, **kwargs)
    ty, tidx = torch.nn.functional.max_pool2d(tx, return_indices=True, **kwargs)
    g0 = _special(rng, tuple(ty.shape), dtype)
    y.backward(ag.tensor(g0, dtype=dtype))
    ty.backward(torch.tensor(g0))
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    rtol = 1e-6 if dtype == np.float32 else 1e-15  # overlapping windows add in another order
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=0)


@pytest.mark.parametrize("case", ["padded", "padded-ceil"])
def test_max_pool2d_window_of_only_minus_inf_picks_its_first_position_inside_the_input(device, torch, case):
    kwargs = POOL_CASES[case]
    x0 = np.full((1, 1, 4, 4), -np.inf)
    x0[0, 0, 3, 3] = 1.0
    x, tx = leaves(torch, x0)
    y, idx = F.max_pool2d(x, return_indices=True, **kwargs)
    ty, tidx = torch.nn.functional.max_pool2d(tx, return_indices=True, **kwargs)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_max_pool2d_of_a_channels_first_relu_with_nan_and_inf_matches_pytorch(device, torch):
    # conv2d's output is channels-first memory behind an (N, C, H, W) shape; ReLU keeps
    # that layout, and both masks are large enough for the NumPy backend's scratch pool.
    rng = np.random.default_rng(45)
    x0 = rng.standard_normal((8, 4, 24, 24)).astype(np.float32)
    flat = x0.reshape(-1)
    flat[rng.choice(flat.size, 400, replace=False)] = np.nan
    flat[rng.choice(flat.size, 400, replace=False)] = np.inf
    w0 = rng.standard_normal((16, 4, 1, 1)).astype(np.float32)  # 1x1: NaN stays where it was
    for _ in range(2):  # the second step runs on pooled memory the first one released
        (x, tx), (w, tw) = leaves(torch, x0), leaves(torch, w0)
        y, idx = F.max_pool2d(F.relu(F.conv2d(x, w)), 2, return_indices=True)
        ty, tidx = torch.nn.functional.max_pool2d(torch.relu(torch.nn.functional.conv2d(tx, tw)), 2,
                                                  return_indices=True)
        g0 = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
        g0.reshape(-1)[::17] = np.inf
        y.backward(ag.tensor(g0, dtype=ag.float32))
        ty.backward(torch.tensor(g0))
        np.testing.assert_array_equal(np.isnan(y.numpy()), np.isnan(ty.detach().numpy()))
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
        for ours, theirs in ((x.grad, tx.grad), (w.grad, tw.grad)):
            np.testing.assert_array_equal(np.isnan(ours.numpy()), np.isnan(theirs.numpy()))
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", ["tiles", "padded", "overlap"])
def test_max_pool2d_second_order_with_nan_in_the_input_matches_pytorch(device, torch, case):
    kwargs = {"tiles": {"kernel_size": 2}, "padded": POOL_CASES["padded"],
              "overlap": {"kernel_size": 3, "stride": 1}}[case]
    rng = np.random.default_rng(46)
    x0 = rng.permutation(2 * 2 * 8 * 8).reshape(2, 2, 8, 8).astype(np.float64)  # no ties
    x0.reshape(-1)[rng.choice(x0.size, 12, replace=False)] = np.nan
    x, tx = leaves(torch, x0)
    y, ty = F.max_pool2d(x, **kwargs), torch.nn.functional.max_pool2d(tx, **kwargs)
    g0 = rng.standard_normal(tuple(ty.shape))
    g, tg = leaves(torch, g0)
    (gx,) = ag.grad(y, x, g, create_graph=True)
    (tgx,) = torch.autograd.grad(ty, tx, tg, create_graph=True)
    np.testing.assert_allclose(gx.numpy(), tgx.detach().numpy(), rtol=1e-15, atol=0)
    v0 = _special(rng, x0.shape)  # inf and NaN where no maximum sits must not reach g
    (gx * ag.tensor(v0)).sum().backward()
    (tgx * torch.tensor(v0)).sum().backward()
    np.testing.assert_array_equal(g.grad.numpy(), tg.grad.numpy())


# --- second and third order of ReLU, and the recorded ReLU RNN step ---------------------

def test_relu_third_order_with_nan_and_inf_matches_pytorch(device, torch):
    rng = np.random.default_rng(47)
    x0, g0, v0, u0 = (_special(rng, (5, 9)) for _ in range(4))
    x, tx = leaves(torch, x0)
    g, tg = leaves(torch, g0)
    (gx,) = ag.grad(ag.relu(x * 1), x, g, create_graph=True)
    (tgx,) = torch.autograd.grad(torch.relu(tx * 1), tx, tg, create_graph=True)
    v, tv = leaves(torch, v0)
    (gg,) = ag.grad((gx * v).sum(), g, create_graph=True)  # ReluGrad's backward, recorded
    (tgg,) = torch.autograd.grad((tgx * tv).sum(), tg, create_graph=True)
    np.testing.assert_array_equal(gg.numpy(), tgg.detach().numpy())
    (gv,) = ag.grad((gg * ag.tensor(u0)).sum(), v)         # and the backward of that ReluGrad
    (tgv,) = torch.autograd.grad((tgg * torch.tensor(u0)).sum(), tv)
    np.testing.assert_array_equal(gv.numpy(), tgv.numpy())


def test_recorded_relu_rnn_step_differentiates_again_like_pytorch(device, torch):
    rng = np.random.default_rng(48)
    a0, h0, w0 = _special(rng, (4, 6)), rng.standard_normal((4, 5)), rng.standard_normal((5, 6))
    (a, ta), (h, th), (w, tw) = (leaves(torch, v) for v in (a0, h0, w0))
    out, tout = rnn_step(a, h, w, "relu"), torch.relu(ta + th @ tw)
    g0 = _special(rng, (4, 6))
    g, tg = leaves(torch, g0)
    grads = ag.grad(out, [a, h, w], g, create_graph=True)
    tgrads = torch.autograd.grad(tout, [ta, th, tw], tg, create_graph=True)
    np.testing.assert_array_equal(grads[0].numpy(), tgrads[0].detach().numpy())
    for ours, theirs in zip(grads[1:], tgrads[1:]):  # products: another summation order
        np.testing.assert_array_equal(np.isnan(ours.numpy()), np.isnan(theirs.detach().numpy()))
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
    v0 = _special(rng, (4, 6))
    (gg,) = ag.grad((grads[0] * ag.tensor(v0)).sum(), g)
    (tgg,) = torch.autograd.grad((tgrads[0] * torch.tensor(v0)).sum(), tg)
    np.testing.assert_array_equal(gg.numpy(), tgg.numpy())


# --- a gradient of another dtype than the output's -----------------------------------

@pytest.mark.parametrize("grad_dtype", ["int8", "bool"])
def test_relu_and_max_pool2d_take_a_one_byte_gradient_as_pytorch_does(device, torch, grad_dtype):
    x0 = np.array([[[[1.0, -2.0], [3.0, -4.0]]]])
    x, tx = leaves(torch, x0)
    ones = np.ones(x0.shape, dtype=grad_dtype)
    (gx,) = ag.grad(ag.relu(x * 1), x, ag.tensor(ones))
    (tgx,) = torch.autograd.grad(torch.relu(tx * 1), tx, torch.tensor(ones))
    np.testing.assert_array_equal(gx.numpy(), tgx.numpy())
    (gx,) = ag.grad(F.max_pool2d(x, 2), x, ag.tensor(np.ones((1, 1, 1, 1), dtype=grad_dtype)))
    (tgx,) = torch.autograd.grad(torch.nn.functional.max_pool2d(tx, 2), tx,
                                 torch.tensor(np.ones((1, 1, 1, 1), dtype=grad_dtype)))
    np.testing.assert_array_equal(gx.numpy(), tgx.numpy())


# --- float64, in place or not, first order and recorded ----------------------------------

@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("create_graph", [False, True])
def test_relu_gradient_with_nan_and_inf_matches_pytorch(device, torch, inplace, create_graph):
    rng = np.random.default_rng(31)
    x0, g0 = _special(rng, (6, 40)), _special(rng, (6, 40))
    x, tx = float64_leaves(torch, x0)
    y = F.relu(x * 1, inplace=inplace)
    (gx,) = ag.grad(y, x, ag.tensor(g0), create_graph=create_graph)
    ty = torch.nn.functional.relu(tx * 1, inplace=inplace)
    (tgx,) = torch.autograd.grad(ty, tx, torch.tensor(g0))
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(gx.numpy(), tgx.numpy())
    assert np.isnan(gx.numpy()).sum() == np.isnan(tgx.numpy()).sum() > 0


@pytest.mark.parametrize("kwargs", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1},
                                    {"kernel_size": 2, "dilation": 2}, {"kernel_size": (1, 4)}],
                         ids=["tiles", "overlaps", "dilated", "row"])
def test_max_pool2d_with_nan_and_inf_matches_pytorch(device, torch, kwargs):
    rng = np.random.default_rng(32)
    x0 = _special(rng, (2, 3, 8, 8))
    x, tx = float64_leaves(torch, x0)
    y, idx = F.max_pool2d(x, return_indices=True, **kwargs)
    ty, tidx = torch.nn.functional.max_pool2d(tx, return_indices=True, **kwargs)
    g0 = _special(rng, tuple(ty.shape))
    y.backward(ag.tensor(g0))
    ty.backward(torch.tensor(g0))
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    assert np.isnan(y.numpy()).any()  # windows whose maximum is NaN are among those tested
    # (overlapping windows sum their gradients, in another order than PyTorch's)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-15, atol=0)


def test_max_pool2d_second_order_with_an_inf_matches_pytorch(device, torch):
    rng = np.random.default_rng(33)
    x0 = rng.permutation(2 * 8 * 8).reshape(2, 1, 8, 8).astype(np.float64)  # no ties, no NaN
    x, tx = float64_leaves(torch, x0)
    g0 = rng.standard_normal((2, 1, 4, 4))
    g, tg = float64_leaves(torch, g0)
    (gx,) = ag.grad(F.max_pool2d(x, 2), x, g, create_graph=True)
    (tgx,) = torch.autograd.grad(torch.nn.functional.max_pool2d(tx, 2), tx, tg, create_graph=True)
    v0 = rng.standard_normal(x0.shape)
    v0[tgx.detach().numpy() == 0] = np.inf  # where no maximum sits: must not reach g's gradient
    (gx * ag.tensor(v0)).sum().backward()
    (tgx * torch.tensor(v0)).sum().backward()
    assert np.isfinite(g.grad.numpy()).all()
    np.testing.assert_array_equal(g.grad.numpy(), tg.grad.numpy())


@pytest.mark.parametrize("create_graph", [False, True])
def test_relu_rnn_step_gradient_with_nan_and_inf_matches_pytorch(device, torch, create_graph):
    rng = np.random.default_rng(34)
    gx0, h0, w0 = rng.standard_normal((4, 6)), rng.standard_normal((4, 5)), rng.standard_normal((5, 6))
    gx0[0, :3] = np.nan  # NaN outputs: their gradient passes
    gx, tgx = float64_leaves(torch, gx0)
    h, th = float64_leaves(torch, h0)
    out = rnn_step(gx, h, ag.tensor(w0), "relu")
    tout = torch.relu(tgx + th @ torch.tensor(w0))
    g0 = rng.standard_normal((4, 6))
    g0[tout.detach().numpy() == 0] = np.inf  # blocked: 0 must come back, not NaN
    (ggx,) = ag.grad(out, gx, ag.tensor(g0), create_graph=create_graph)
    (tggx,) = torch.autograd.grad(tout, tgx, torch.tensor(g0))
    np.testing.assert_array_equal(ggx.numpy(), tggx.numpy())
