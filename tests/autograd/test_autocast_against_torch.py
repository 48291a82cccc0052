"""ag.autocast (nn.amp.autocast) against torch.autocast on the CPU, in float16: each op's
output dtype for float32 and for float16 inputs, values and gradients of a small network,
the weight cache, nesting, threads, custom_fwd/custom_bwd, and the errors."""
import threading

import numpy as np
import pytest

import autograd as ag
import backends
import nn
import nn.functional as F
from autograd import autocast_mode
from autograd.checkpoint import checkpoint

torch = pytest.importorskip("torch")
TF = torch.nn.functional


@pytest.fixture(autouse=True)
def _on_the_cpu():
    """These compare with PyTorch's CPU autocast, which (as ag.autocast("cpu")) casts CPU
    tensors only: new tensors and modules go there whatever the default device is."""
    with backends.default_device("cpu"):
        yield


RNG = np.random.default_rng(0)


def _arrays(*shapes, low=0.5, high=1.5):
    return [RNG.uniform(low, high, s).astype(np.float32) for s in shapes]


def _spd(n=3):
    a = RNG.uniform(-1, 1, (n, n)).astype(np.float32)
    return a @ a.T + n * np.eye(n, dtype=np.float32)


# name: (input arrays, topograd's call, PyTorch's call[, tolerance]); each call takes the
# inputs as tensors.
CASES = {
    "matmul": (_arrays((3, 4), (4, 5)), lambda a, b: a @ b, lambda a, b: a @ b),
    "einsum": (_arrays((3, 4), (4, 5)), lambda a, b: ag.einsum("ij,jk->ik", a, b),
               lambda a, b: torch.einsum("ij,jk->ik", a, b)),
    "tensordot": (_arrays((3, 4), (4, 5)), lambda a, b: ag.tensordot(a, b, 1), lambda a, b: torch.tensordot(a, b, 1)),
    "vecdot": (_arrays((3, 4), (3, 4)), ag.linalg.vecdot, torch.linalg.vecdot),
    "matrix_power": (_arrays((3, 3)), lambda a: ag.linalg.matrix_power(a, 3), lambda a: torch.linalg.matrix_power(a, 3)),
    "linear": (_arrays((3, 4), (5, 4), (5,)), F.linear, TF.linear),
    "conv1d": (_arrays((1, 2, 8), (3, 2, 3)), F.conv1d, TF.conv1d),
    "conv2d": (_arrays((1, 2, 6, 6), (3, 2, 3, 3), (3,)), F.conv2d, TF.conv2d),
    "conv3d": (_arrays((1, 2, 4, 4, 4), (3, 2, 3, 3, 3)), F.conv3d, TF.conv3d),
    "conv_transpose1d": (_arrays((1, 2, 5), (2, 3, 3)), F.conv_transpose1d, TF.conv_transpose1d),
    "conv_transpose2d": (_arrays((1, 2, 4, 4), (2, 3, 3, 3)), F.conv_transpose2d, TF.conv_transpose2d),
    "conv_transpose3d": (_arrays((1, 2, 3, 3, 3), (2, 3, 2, 2, 2)), F.conv_transpose3d, TF.conv_transpose3d),
    "prelu": (_arrays((2, 3), (1,)), F.prelu, TF.prelu),
    "scaled_dot_product_attention": (_arrays((1, 2, 4, 8), (1, 2, 4, 8), (1, 2, 4, 8)),
                                     F.scaled_dot_product_attention, TF.scaled_dot_product_attention),
    "affine_grid": (_arrays((1, 2, 3)), lambda t: F.affine_grid(t, (1, 1, 4, 4), align_corners=False),
                    lambda t: TF.affine_grid(t, (1, 1, 4, 4), align_corners=False)),
    # float32 on the CPU list
    "prod": (_arrays((4,)), ag.prod, torch.prod),
    "quantile": (_arrays((5,)), lambda t: ag.quantile(t, 0.3), lambda t: torch.quantile(t, 0.3)),
    "nanquantile": (_arrays((5,)), lambda t: ag.nanquantile(t, 0.3), lambda t: torch.nanquantile(t, 0.3)),
    "trace": (_arrays((3, 3)), ag.trace, torch.trace),
    "avg_pool3d": (_arrays((1, 1, 4, 4, 4)), lambda t: F.avg_pool3d(t, 2), lambda t: TF.avg_pool3d(t, 2)),
    "max_pool3d": (_arrays((1, 1, 4, 4, 4)), lambda t: F.max_pool3d(t, 2), lambda t: TF.max_pool3d(t, 2)),
    "adaptive_avg_pool3d": (_arrays((1, 1, 4, 4, 4)), lambda t: F.adaptive_avg_pool3d(t, 2),
                            lambda t: TF.adaptive_avg_pool3d(t, 2)),
    "adaptive_max_pool3d": (_arrays((1, 1, 4, 4, 4)), lambda t: F.adaptive_max_pool3d(t, 2),
                            lambda t: TF.adaptive_max_pool3d(t, 2)),
    "max_unpool2d": (_arrays((1, 1, 4, 4)), lambda t: F.max_unpool2d(*F.max_pool2d(t, 2, return_indices=True), 2),
                     lambda t: TF.max_unpool2d(*TF.max_pool2d(t, 2, return_indices=True), 2)),
    "grid_sample": (_arrays((1, 1, 4, 4), (1, 2, 2, 2)), lambda a, g: F.grid_sample(a, g - 1, align_corners=False),
                    lambda a, g: TF.grid_sample(a, g - 1, align_corners=False)),
    "cross_entropy": (_arrays((2, 3)), lambda t: F.cross_entropy(t, ag.tensor([0, 2])),
                      lambda t: TF.cross_entropy(t, torch.tensor([0, 2]))),
    "nll_loss": (_arrays((2, 3)), lambda t: F.nll_loss(t, ag.tensor([0, 2])), lambda t: TF.nll_loss(t, torch.tensor([0, 2]))),
    "mse_loss": (_arrays((3,), (3,)), F.mse_loss, TF.mse_loss),
    "l1_loss": (_arrays((3,), (3,)), F.l1_loss, TF.l1_loss),
    "smooth_l1_loss": (_arrays((3,), (3,)), F.smooth_l1_loss, TF.smooth_l1_loss),
    "huber_loss": (_arrays((3,), (3,)), F.huber_loss, TF.huber_loss),
    "kl_div": (_arrays((3,), (3,)), F.kl_div, TF.kl_div),
    "binary_cross_entropy": (_arrays((3,), (3,), low=0.1, high=0.9), F.binary_cross_entropy, TF.binary_cross_entropy),
    "binary_cross_entropy_with_logits": (_arrays((3,), (3,), low=0.1, high=0.9), F.binary_cross_entropy_with_logits,
                                         TF.binary_cross_entropy_with_logits),
    "poisson_nll_loss": (_arrays((3,), (3,)), F.poisson_nll_loss, TF.poisson_nll_loss),
    "margin_ranking_loss": (_arrays((3,), (3,)), lambda a, b: F.margin_ranking_loss(a, b, ag.tensor([1.0, -1.0, 1.0])),
                            lambda a, b: TF.margin_ranking_loss(a, b, torch.tensor([1.0, -1.0, 1.0]))),
    "soft_margin_loss": (_arrays((3,)), lambda t: F.soft_margin_loss(t, ag.tensor([1.0, -1.0, 1.0])),
                         lambda t: TF.soft_margin_loss(t, torch.tensor([1.0, -1.0, 1.0]))),
    "cosine_embedding_loss": (_arrays((2, 3), (2, 3)),
                              lambda a, b: F.cosine_embedding_loss(a, b, ag.tensor([1.0, -1.0])),
                              lambda a, b: TF.cosine_embedding_loss(a, b, torch.tensor([1.0, -1.0]))),
    "triplet_margin_loss": (_arrays((2, 3), (2, 3), (2, 3)), F.triplet_margin_loss, TF.triplet_margin_loss),
    "multi_margin_loss": (_arrays((2, 3)), lambda t: F.multi_margin_loss(t, ag.tensor([0, 2])),
                          lambda t: TF.multi_margin_loss(t, torch.tensor([0, 2]))),
    "multilabel_margin_loss": (_arrays((2, 3)), lambda t: F.multilabel_margin_loss(t, ag.tensor([[0, -1, 1], [2, -1, 0]])),
                               lambda t: TF.multilabel_margin_loss(t, torch.tensor([[0, -1, 1], [2, -1, 0]]))),
    "hinge_embedding_loss": (_arrays((3,)), lambda t: F.hinge_embedding_loss(t, ag.tensor([1.0, -1.0, 1.0])),
                             lambda t: TF.hinge_embedding_loss(t, torch.tensor([1.0, -1.0, 1.0]))),
    "ctc_loss": (_arrays((5, 1, 4)),
                 lambda t: F.ctc_loss(F.log_softmax(t, 2), ag.tensor([[1, 2]]), ag.tensor([5]), ag.tensor([2])),
                 lambda t: TF.ctc_loss(TF.log_softmax(t, 2), torch.tensor([[1, 2]]), torch.tensor([5]), torch.tensor([2]))),
    "fractional_max_pool2d": (_arrays((1, 1, 4, 4)),
                              lambda t: F.fractional_max_pool2d(t, 2, output_size=2, _random_samples=ag.full((1, 1, 2), 0.5)),
                              lambda t: TF.fractional_max_pool2d(t, 2, output_size=2,
                                                                 _random_samples=torch.full((1, 1, 2), 0.5))),
    "max_unpool1d": (_arrays((1, 1, 4)), lambda t: F.max_unpool1d(*F.max_pool1d(t, 2, return_indices=True), 2),
                     lambda t: TF.max_unpool1d(*TF.max_pool1d(t, 2, return_indices=True), 2)),
    "max_unpool3d": (_arrays((1, 1, 2, 2, 2)), lambda t: F.max_unpool3d(*F.max_pool3d(t, 2, return_indices=True), 2),
                     lambda t: TF.max_unpool3d(*TF.max_pool3d(t, 2, return_indices=True), 2)),
    "svd": (_arrays((3, 3)), lambda t: ag.linalg.svd(t)[1], lambda t: torch.linalg.svd(t)[1]),
    "qr": ([_spd()], lambda t: ag.linalg.qr(t)[1].abs(), lambda t: torch.linalg.qr(t)[1].abs()),
    "eigh": ([_spd()], lambda t: ag.linalg.eigh(t)[0], lambda t: torch.linalg.eigh(t)[0]),
    "lstsq": ([_spd(), *_arrays((3, 2))], lambda a, b: ag.linalg.lstsq(a, b)[0],
              lambda a, b: torch.linalg.lstsq(a, b).solution),
    "householder_product": (_arrays((3, 3), (2,)), ag.linalg.householder_product, torch.linalg.householder_product),
    "cholesky": ([_spd()], ag.linalg.cholesky, torch.linalg.cholesky),
    "inv": ([_spd()], ag.linalg.inv, torch.linalg.inv),
    "cholesky_ex": ([_spd()], lambda t: ag.linalg.cholesky_ex(t).L, lambda t: torch.linalg.cholesky_ex(t).L),
    "inv_ex": ([_spd()], lambda t: ag.linalg.inv_ex(t).inverse, lambda t: torch.linalg.inv_ex(t).inverse),
    # built on inv and solve, which are listed
    "tensorinv": ([_spd()], lambda t: ag.linalg.tensorinv(t, 1), lambda t: torch.linalg.tensorinv(t, 1)),
    "tensorsolve": ([_spd(), *_arrays((3,))], ag.linalg.tensorsolve, torch.linalg.tensorsolve),
    # built on matmul, which is listed (PyTorch's multi_dot is on its lower-precision list)
    "multi_dot": (_arrays((3, 4), (4, 2), (2, 3)), lambda *ts: ag.linalg.multi_dot(ts),
                  lambda *ts: torch.linalg.multi_dot(ts)),
    "solve": ([_spd(), *_arrays((3,))], ag.linalg.solve, torch.linalg.solve),
    "svdvals": (_arrays((3, 3)), ag.linalg.svdvals, torch.linalg.svdvals),
    "eigvalsh": ([_spd()], ag.linalg.eigvalsh, torch.linalg.eigvalsh),
    "reflect_pad2d": (_arrays((1, 2, 4, 4)), lambda t: F.pad(t, (1, 1, 1, 1), mode="reflect"),
                      lambda t: TF.pad(t, (1, 1, 1, 1), mode="reflect")),
    "replicate_pad3d": (_arrays((1, 2, 3, 3, 3)), lambda t: F.pad(t, (1,) * 6, mode="replicate"),
                        lambda t: TF.pad(t, (1,) * 6, mode="replicate")),
    # off the CPU lists: run in their inputs' dtype
    "reflect_pad3d": (_arrays((1, 2, 3, 3, 3)), lambda t: F.pad(t, (1,) * 6, mode="reflect"),
                      lambda t: TF.pad(t, (1,) * 6, mode="reflect")),
    "constant_pad": (_arrays((1, 2, 4)), lambda t: F.pad(t, (1, 1)), lambda t: TF.pad(t, (1, 1))),
    "exp": (_arrays((3,)), ag.exp, torch.exp),
    "sum": (_arrays((3,)), ag.sum, torch.sum),
    "softmax": (_arrays((2, 3)), lambda t: F.softmax(t, 1), lambda t: TF.softmax(t, 1)),
    "layer_norm": (_arrays((2, 3)), lambda t: F.layer_norm(t, (3,)), lambda t: TF.layer_norm(t, (3,))),
    "gelu": (_arrays((3,)), F.gelu, TF.gelu),
    "tanh": (_arrays((3,)), ag.tanh, torch.tanh),
    "avg_pool2d": (_arrays((1, 1, 4, 4)), lambda t: F.avg_pool2d(t, 2), lambda t: TF.avg_pool2d(t, 2)),
    # PyTorch's tensordot contracting every axis of both is a dot, on no list (matmul gave float16)
    "tensordot_all_axes": (_arrays((2, 3), (3, 2)), lambda a, b: ag.tensordot(a, b, ((0, 1), (1, 0))),
                           lambda a, b: torch.tensordot(a, b, ([0, 1], [1, 0]))),
    "inner_of_vectors": (_arrays((3,), (3,)), ag.inner, torch.inner),
    # built here on matmul for these shapes (declared as one op, off the lists, as PyTorch's)
    "adaptive_avg_pool2d": (_arrays((1, 1, 5, 5)), lambda t: F.adaptive_avg_pool2d(t, 3),
                            lambda t: TF.adaptive_avg_pool2d(t, 3)),
    "adaptive_avg_pool1d": (_arrays((1, 2, 7)), lambda t: F.adaptive_avg_pool1d(t, 3),
                            lambda t: TF.adaptive_avg_pool1d(t, 3)),
    "interpolate": (_arrays((1, 1, 4, 4)), lambda t: F.interpolate(t, scale_factor=2, mode="bilinear"),
                    lambda t: TF.interpolate(t, scale_factor=2, mode="bilinear")),
    "local_response_norm": (_arrays((1, 4, 3, 3)), lambda t: F.local_response_norm(t, 2),
                            lambda t: TF.local_response_norm(t, 2)),
    # of 3 axes PyTorch's pools through avg_pool2d, on no list: float16 stays float16
    "local_response_norm_of_3_axes": (_arrays((2, 4, 6)), lambda t: F.local_response_norm(t, 2),
                                      lambda t: TF.local_response_norm(t, 2)),
    # 'area' of a volume is PyTorch's adaptive_avg_pool3d, on the CPU's float32 list
    "interpolate_area_of_a_volume": (_arrays((1, 1, 4, 4, 4)), lambda t: F.interpolate(t, size=2, mode="area"),
                                     lambda t: TF.interpolate(t, size=2, mode="area")),
    "interpolate_area_of_an_image": (_arrays((1, 1, 4, 4)), lambda t: F.interpolate(t, size=2, mode="area"),
                                     lambda t: TF.interpolate(t, size=2, mode="area")),
    "batch_norm": (_arrays((4, 3)), lambda t: F.batch_norm(t, None, None, training=True),
                   lambda t: TF.batch_norm(t, None, None, training=True)),
    # PyTorch's CPU bilinear multiplies in float16 and adds its float32 bias (float32 out,
    # float16's precision); topograd's runs in its inputs' dtype throughout
    "bilinear": (_arrays((3, 4), (3, 2), (5, 4, 2)), F.bilinear, TF.bilinear, 2e-2),
    "gaussian_nll_loss": (_arrays((3,), (3,), (3,)), F.gaussian_nll_loss, TF.gaussian_nll_loss),
}


def _dtype_name(t):
    return str(t.dtype).replace("torch.", "")


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("input_dtype", ["float32", "float16"])
def test_output_dtype_and_values_as_torch(name, input_dtype):
    arrays, ours, theirs, *tol = CASES[name]
    arrays = [a.astype(input_dtype) for a in arrays]
    with ag.autocast("cpu"):
        got = ours(*(ag.tensor(a) for a in arrays))
    with torch.autocast("cpu", dtype=torch.float16):
        want = theirs(*(torch.tensor(a) for a in arrays))
    assert str(got.dtype) == _dtype_name(want), name
    tol = 2e-2 if _dtype_name(want) == "float16" else tol[0] if tol else 1e-4
    np.testing.assert_allclose(got.numpy().astype(np.float64), want.detach().double().numpy(), rtol=tol, atol=tol)


def _mlp_pair(seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0, 0.3, s).astype(np.float32) for s in ((16, 8), (16,), (4, 16), (4,))]
    ours = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    theirs = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    for p, q, w in zip(ours.parameters(), theirs.parameters(), weights):
        p.data[...] = w
        with torch.no_grad():
            q.copy_(torch.tensor(w))
    return ours, theirs


def test_a_network_step_matches_torch_in_values_and_float32_gradients():
    ours, theirs = _mlp_pair()
    x = RNG.normal(0, 1, (6, 8)).astype(np.float32)
    labels = np.array([0, 1, 2, 3, 0, 1])
    with ag.autocast("cpu"):
        logits = ours(ag.tensor(x))
        loss = F.cross_entropy(logits, ag.tensor(labels))
    with torch.autocast("cpu", dtype=torch.float16):
        tlogits = theirs(torch.tensor(x))
        tloss = TF.cross_entropy(tlogits, torch.tensor(labels))
    assert (str(logits.dtype), str(loss.dtype)) == ("float16", "float32") == (_dtype_name(tlogits), _dtype_name(tloss))
    loss.backward()
    tloss.backward()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert str(p.grad.dtype) == "float32"  # the cast's gradient goes back to the weight's dtype
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=2e-2, atol=2e-3)
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=2e-3)


def test_training_with_grad_scaler_follows_torch():
    ours, theirs = _mlp_pair(1)
    opt = nn.optim.SGD(ours.parameters(), lr=0.1)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.1)
    scaler, tscaler = nn.amp.GradScaler(init_scale=1024.0), torch.amp.GradScaler("cpu", init_scale=1024.0)
    rng = np.random.default_rng(3)
    losses, tlosses = [], []
    for _ in range(8):
        x = rng.normal(0, 1, (16, 8)).astype(np.float32)
        y = rng.integers(0, 4, 16)
        with ag.autocast("cpu"):
            loss = F.cross_entropy(ours(ag.tensor(x)), ag.tensor(y))
        with torch.autocast("cpu", dtype=torch.float16):
            tloss = TF.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y))
        opt.zero_grad()
        topt.zero_grad()
        scaler.scale(loss).backward()
        tscaler.scale(tloss).backward()
        scaler.step(opt)
        tscaler.step(topt)
        scaler.update()
        tscaler.update()
        losses.append(loss.item())
        tlosses.append(tloss.item())
    np.testing.assert_allclose(losses, tlosses, rtol=1e-2)
    assert losses[-1] < losses[0]
    assert scaler.get_scale() == tscaler.get_scale()


def test_a_weight_is_cast_once_per_block_and_again_after_an_in_place_change():
    w = ag.tensor(RNG.normal(0, 1, (3, 4)).astype(np.float32), requires_grad=True)
    x = ag.tensor(RNG.normal(0, 1, (2, 4)).astype(np.float32))
    with ag.autocast("cpu"):
        y1 = F.linear(x, w)
        y2 = F.linear(x, w)
        assert len(autocast_mode.state.cache) == 1
        (kept,) = autocast_mode.state.cache.values()
        first_cast = kept[2]
        with ag.no_grad():
            w.mul_(2)
        y3 = F.linear(x, w)
        (kept,) = autocast_mode.state.cache.values()
        assert kept[2] is not first_cast  # the old float16 copy would give y1's values again
    assert autocast_mode.state.cache == {}  # cleared when the outermost block ends
    np.testing.assert_allclose(y3.numpy(), 2 * y1.numpy(), rtol=2e-3)
    np.testing.assert_array_equal(y1.numpy(), y2.numpy())
    (y1.sum() + y2.sum()).backward()
    np.testing.assert_allclose(w.grad.numpy(), np.tile(2 * x.numpy().sum(0), (3, 1)), rtol=2e-3, atol=1e-2)


def test_without_the_cache_each_use_is_cast_afresh():
    w = ag.ones(3, 4, requires_grad=True)
    with ag.autocast("cpu", cache_enabled=False):
        F.linear(ag.ones(2, 4), w)
        assert autocast_mode.state.cache == {}


def test_float64_integers_and_explicit_dtypes_are_left_alone():
    a64 = ag.ones(2, 3, dtype="float64")
    with ag.autocast("cpu"):
        assert str((a64 @ a64.T).dtype) == "float64"
        assert str(F.linear(a64, ag.ones(4, 3, dtype="float64")).dtype) == "float64"
        assert str(ag.prod(ag.arange(1, 4)).dtype) == "int64"
        assert str(F.log_softmax(ag.ones(2, 3), 1, dtype="float64").dtype) == "float64"


def test_nesting_disabling_other_device_types_and_exceptions_restore_the_state():
    a = ag.ones(2, 2)
    with ag.autocast("cpu"):
        assert ag.is_autocast_enabled("cpu") and not ag.is_autocast_enabled("cuda")
        with ag.autocast("cpu", enabled=False):
            assert str((a @ a).dtype) == "float32"
            assert not ag.is_autocast_enabled("cpu")
        assert str((a @ a).dtype) == "float16"
        with pytest.raises(ValueError):
            with ag.autocast("cpu", enabled=False):
                raise ValueError("inside")
        assert ag.is_autocast_enabled("cpu")
    with ag.autocast("cuda"):  # tensors on the CPU are not the block's
        assert str((a @ a).dtype) == "float32"
    assert not ag.is_autocast_enabled("cpu")
    assert autocast_mode._open_blocks == 0


def test_as_a_decorator_and_per_thread():
    @ag.autocast("cpu")
    def product(a):
        return a @ a

    a = ag.ones(2, 2)
    assert str(product(a).dtype) == "float16"
    assert str((a @ a).dtype) == "float32"

    seen = {}
    inside, done = threading.Event(), threading.Event()

    def other_thread():
        inside.wait()
        seen["dtype"] = str((a @ a).dtype)
        seen["enabled"] = ag.is_autocast_enabled("cpu")
        done.set()

    worker = threading.Thread(target=other_thread)
    worker.start()
    with ag.autocast("cpu"):
        inside.set()
        done.wait(10)
    worker.join()
    assert seen == {"dtype": "float32", "enabled": False}


def test_backward_inside_a_block_keeps_each_gradient_in_its_forward_dtype():
    w = ag.tensor(RNG.normal(0, 1, (4, 4)).astype(np.float32), requires_grad=True)
    x = ag.tensor(RNG.normal(0, 1, (3, 4)).astype(np.float32), requires_grad=True)
    with ag.autocast("cpu"):
        y = (x @ w).exp().sum()  # exp and sum are off the CPU lists: float16
        y.backward()
    assert (str(x.grad.dtype), str(w.grad.dtype)) == ("float32", "float32")
    tx, tw = torch.tensor(x.numpy(), requires_grad=True), torch.tensor(w.numpy(), requires_grad=True)
    with torch.autocast("cpu", dtype=torch.float16):
        (tx @ tw).exp().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=3e-2, atol=1e-2)


def test_custom_fwd_casts_inputs_and_custom_bwd_restores_the_forward_state():
    seen = {}

    class Scaled(ag.Function):
        @staticmethod
        @nn.amp.custom_fwd(device_type="cpu", cast_inputs=ag.float32)
        def forward(ctx, a, b):
            seen["forward"] = (str(a.dtype), str(b.dtype), ag.is_autocast_enabled("cpu"), str((a @ b).dtype))
            ctx.save_for_backward(a, b)
            return (a @ b).data

        @staticmethod
        @nn.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            seen["backward"] = ag.is_autocast_enabled("cpu")
            a, b = ctx.saved_tensors
            return g @ b.T, a.T @ g

    class Plain(ag.Function):
        @staticmethod
        @nn.amp.custom_fwd(device_type="cpu")
        def forward(ctx, a):
            seen["plain forward"] = (ag.is_autocast_enabled("cpu"), str((a @ a).dtype))
            return a.data * 2

        @staticmethod
        @nn.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            seen["plain backward"] = ag.is_autocast_enabled("cpu")
            return g * 2

    a = ag.ones(2, 2, dtype="float16", requires_grad=True)
    b = ag.ones(2, 2, requires_grad=True)
    with ag.autocast("cpu"):
        out = Scaled.apply(a, b)
        plain = Plain.apply(b)
    (out.sum() + plain.sum()).backward()
    assert seen == {"forward": ("float32", "float32", False, "float32"), "backward": False,
                    "plain forward": (True, "float16"), "plain backward": True}
    assert str(out.dtype) == "float32" and str(a.grad.dtype) == "float16"


def test_the_cuda_lists_on_cpu_tensors(monkeypatch):
    """The documented CUDA lists, run on CPU tensors: exp and sum go to float32, tensordot
    promotes rather than lowers, and binary_cross_entropy is refused with the fix."""
    monkeypatch.setitem(autocast_mode.POLICIES, "cpu", autocast_mode.POLICIES["cuda"])
    half = ag.ones(3, dtype="float16")
    with ag.autocast("cpu"):
        assert str(ag.exp(half).dtype) == "float32"
        assert str(half.sum().dtype) == "float32"
        assert str(F.softmax(half, 0).dtype) == "float32"
        assert str(ag.tensordot(ag.ones(2, 3), ag.ones(3, 2), 1).dtype) == "float32"
        assert str(ag.arctan2(half, ag.ones(3)).dtype) == "float32"
        assert str((ag.ones(2, 3) @ ag.ones(3, 2)).dtype) == "float16"
        with pytest.raises(RuntimeError, match="binary_cross_entropy_with_logits"):
            F.binary_cross_entropy(ag.full((3,), 0.5), ag.ones(3))


@pytest.mark.parametrize("layer", ["RNN", "GRU", "LSTM", "RNNCell", "GRUCell", "LSTMCell"])
def test_recurrent_layers_run_in_float32_and_take_a_float16_input(layer):
    """Declared as one op in float32 (PyTorch's CPU autocast has no one rule for them): the
    float16 output of a Linear before them is taken, and values equal the float32 run's."""
    ag.manual_seed(0)
    cell = layer.endswith("Cell")
    model = getattr(nn, layer)(3, 4)
    x = ag.tensor(RNG.normal(0, 1, (2, 3) if cell else (5, 2, 3)).astype(np.float16))
    with ag.autocast("cpu"):
        out = model(x)
    first = out[0] if isinstance(out, tuple) else out
    assert str(first.dtype) == "float32"
    plain = model(x.astype("float32"))
    plain = plain[0] if isinstance(plain, tuple) else plain
    np.testing.assert_array_equal(first.numpy(), plain.numpy())


def test_a_malformed_pad_gets_pads_own_error_inside_a_block():
    with ag.autocast("cpu"), pytest.raises(TypeError, match="pad"):
        F.pad(ag.ones(1, 2, 4), 3, mode="reflect")


def test_every_listed_name_is_an_op_that_declared_it():
    listed = {name for policy in autocast_mode.POLICIES.values() for name in policy}
    assert listed <= autocast_mode.declared
    assert autocast_mode.declared <= listed


@pytest.mark.parametrize("args, error, match", [
    (("cuda:0",), ValueError, "device type, without an index"),
    (("tpu",), ValueError, "'cpu' or 'cuda'"),
    (("cpu", "bfloat16"), ValueError, "float16"),
    (("cpu", ag.float32), ValueError, "float16"),
    (("cpu", None, 1), TypeError, "enabled must be True or False"),
    (("cpu", None, True, "yes"), TypeError, "cache_enabled"),
])
def test_bad_arguments_name_the_fix(args, error, match):
    with pytest.raises(error, match=match):
        ag.autocast(*args)
    assert not ag.is_autocast_enabled("cpu")


def test_autocast_says_which_dtype_it_refused(torch):
    with pytest.raises(ValueError, match=r"^autocast: dtype must be float16 \(ag\.float16 or 'float16'\).*"
                                         r"got torch\.float16$"):
        ag.autocast("cpu", dtype=torch.float16)


# Checkpoints, the weight cache under no_grad, and the norms' float16 inputs with float32 parameters
def _pair(make):
    """The same layer in topograd and PyTorch, with PyTorch's initial values."""
    theirs = make(torch.nn)
    ours = make(nn)
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("use_reentrant", [False, True])
@pytest.mark.parametrize("backward_inside", [False, True])
@pytest.mark.parametrize("cast_before", [False, True])
def test_a_checkpoint_recomputes_under_its_forwards_autocast_state(use_reentrant, backward_inside, cast_before):
    """As PyTorch's, the recomputation in backward runs under the forward's autocast state
    (it ran in float32 and failed the determinism check), and takes the float16 copies of
    weights cast before the checkpoint from the block's cache, so the gradients are the
    plain run's bit for bit."""
    rng = np.random.default_rng(0)
    first, second = nn.Linear(4, 8), nn.Linear(8, 3)
    x = ag.tensor(rng.normal(size=(5, 4)).astype(np.float32), requires_grad=True)
    params = [*first.parameters(), *second.parameters(), x]

    def segment(h):
        return F.relu(first(h))

    def gradients(checkpointed):
        for p in params:
            p.grad = None
        with ag.autocast("cpu"):
            if cast_before:  # the weight's float16 copy is made outside the checkpoint
                F.linear(x, first.weight)
            hidden = checkpoint(segment, x, use_reentrant=use_reentrant) if checkpointed else segment(x)
            assert str(hidden.dtype) == "float16"
            loss = second(hidden).astype(ag.float32).sum()
            if backward_inside:
                loss.backward()
        if not backward_inside:
            loss.backward()
        return [p.grad.numpy().copy() for p in params]

    for got, want in zip(gradients(True), gradients(False)):
        np.testing.assert_array_equal(got, want)


def test_a_checkpoint_under_enabled_false_recomputes_in_float32_inside_a_block():
    w = ag.tensor(np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32), requires_grad=True)
    x = ag.ones(2, 4)
    with ag.autocast("cpu", enabled=False):
        y = checkpoint(lambda h: F.linear(h, w), x, use_reentrant=False)
    with ag.autocast("cpu"):  # backward in an enabled block: the recomputation is still float32
        y.sum().backward()
    assert str(y.dtype) == "float32"
    np.testing.assert_array_equal(w.grad.numpy(), np.full((3, 4), 2.0, np.float32))


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_a_weight_cast_under_no_grad_is_not_reused_by_a_later_recorded_use(mode):
    """The cached float16 copy made under no_grad had no graph: the next use in the block
    did not require grad and the weight got no gradient. PyTorch's gets one."""
    ours, theirs = _pair(lambda m: m.Linear(3, 2))
    x = np.random.default_rng(2).normal(size=(4, 3)).astype(np.float32)
    with ag.autocast("cpu"):
        with getattr(ag, mode)():
            ours(ag.tensor(x))
        out = ours(ag.tensor(x))
        assert out.requires_grad
        out.astype(ag.float32).sum().backward()
    with torch.autocast("cpu", dtype=torch.float16):
        with getattr(torch, mode)():
            theirs(torch.tensor(x))
        theirs(torch.tensor(x)).float().sum().backward()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert str(p.grad.dtype) == "float32"
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=2e-3, atol=2e-3)


MODELS = {
    "conv2d-batchnorm2d": (lambda m: m.Sequential(m.Conv2d(3, 4, 3), m.BatchNorm2d(4), m.ReLU()), (4, 3, 6, 6)),
    "conv1d-batchnorm1d-eval": (lambda m: m.Sequential(m.Conv1d(3, 4, 3), m.BatchNorm1d(4).eval()), (4, 3, 7)),
    "conv3d-instancenorm3d": (lambda m: m.Sequential(m.Conv3d(2, 3, 2), m.InstanceNorm3d(3, affine=True,
                                                                                          track_running_stats=True)),
                              (2, 2, 4, 4, 4)),
    "conv2d-groupnorm": (lambda m: m.Sequential(m.Conv2d(3, 4, 3), m.GroupNorm(2, 4)), (2, 3, 5, 5)),
    "linear-layernorm": (lambda m: m.Sequential(m.Linear(6, 8), m.LayerNorm(8)), (5, 6)),
    "linear-rmsnorm": (lambda m: m.Sequential(m.Linear(6, 8), m.RMSNorm(8)), (5, 6)),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_norm_takes_a_float16_activation_with_its_float32_parameters_as_torch(name):
    """Under CPU autocast a float32 model's norm meets the float16 output of the layer
    before it; it raised "use one dtype". PyTorch's norms take a float16 input with float32
    parameters and buffers (in float32, rounded once): float16 out, float32 gradients."""
    make, shape = MODELS[name]
    ours, theirs = _pair(make)
    x = np.random.default_rng(3).normal(size=shape).astype(np.float32)
    with ag.autocast("cpu"):
        got = ours(ag.tensor(x))
    with torch.autocast("cpu", dtype=torch.float16):
        want = theirs(torch.tensor(x))
    assert str(got.dtype) == _dtype_name(want) == "float16"
    np.testing.assert_allclose(got.numpy().astype(np.float32), want.detach().float().numpy(), rtol=1e-2, atol=1e-2)
    weights = np.random.default_rng(4).normal(size=got.shape).astype(np.float32)
    (got.astype(ag.float32) * ag.tensor(weights)).sum().backward()
    (want.float() * torch.tensor(weights)).sum().backward()
    # float16's rounding, against the largest gradient: a bias before a norm has a gradient of about 0
    atol = 1e-2 * max(np.abs(q.grad.numpy()).max() for q in theirs.parameters())
    for (key, p), q in zip(ours.named_parameters(), theirs.parameters()):
        assert str(p.grad.dtype) == "float32", key
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=3e-2, atol=atol, err_msg=key)
    for (key, b), c in zip(ours.named_buffers(), theirs.buffers()):  # running statistics, updated in float32
        assert str(b.dtype) == _dtype_name(c), key
        np.testing.assert_allclose(b.numpy(), c.numpy(), rtol=1e-3, atol=1e-3)


def test_the_norms_mixed_dtypes_outside_autocast_are_torchs():
    """The same rule outside any block, as PyTorch's: a float16 input with float32
    parameters is normalized in float32 and rounded once; other mixes are refused."""
    rng = np.random.default_rng(5)
    x = rng.normal(0, 3, (4, 3, 5)).astype(np.float16)
    w, b = rng.normal(1, 0.5, 5).astype(np.float32), rng.normal(0, 0.5, 5).astype(np.float32)
    mean, var = rng.normal(0, 0.5, 3).astype(np.float32), rng.uniform(0.5, 2, 3).astype(np.float32)
    got = F.layer_norm(ag.tensor(x), (5,), ag.tensor(w), ag.tensor(b))
    np.testing.assert_array_equal(got.numpy(), TF.layer_norm(torch.tensor(x), (5,), torch.tensor(w),
                                                             torch.tensor(b)).numpy())
    got = F.batch_norm(ag.tensor(x), ag.tensor(mean), ag.tensor(var), ag.tensor(w[:3]), ag.tensor(b[:3]))
    np.testing.assert_array_equal(got.numpy(), TF.batch_norm(torch.tensor(x), torch.tensor(mean), torch.tensor(var),
                                                             torch.tensor(w[:3]), torch.tensor(b[:3])).numpy())
    got = F.rms_norm(ag.tensor(x), (5,), ag.tensor(w))
    assert str(got.dtype) == "float16"
    np.testing.assert_array_equal(got.numpy(), TF.rms_norm(torch.tensor(x), (5,), torch.tensor(w)).numpy())
    with pytest.raises(TypeError, match="layer_norm: weight is float32 but the input is float16"):
        F.layer_norm(ag.tensor(x), (5,), ag.tensor(w), ag.tensor(b.astype(np.float16)))
    with pytest.raises(TypeError, match="batch_norm: running_mean is float16 but the input is float32"):
        F.batch_norm(ag.tensor(x.astype(np.float32)), ag.tensor(mean.astype(np.float16)),
                     ag.tensor(var.astype(np.float16)))
    with pytest.raises(TypeError, match="group_norm: weight is float32 but the input is float64"):
        F.group_norm(ag.tensor(x.astype(np.float64)), 3, ag.tensor(w[:3]))
