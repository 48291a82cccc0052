"""What a training step asks of the GPU (issue 6): no host-device synchronization
inside it, no new device memory after the first steps, and Adam in one kernel per
parameter with the op-by-op step's bits. These need a CUDA device and skip elsewhere."""
import warnings

import numpy as np
import pytest

import autograd as ag
import backends
import nn
from backends.base import Backend
from backends.cupy_backend import CupyBackend
from nn import optim
import nn.functional as F

pytestmark = pytest.mark.skipif(not backends.cuda_is_available(), reason="needs a CUDA device and CuPy")


def mlp():
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 5))


def cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 5))


def batch(model_name):
    shape = (16, 20) if model_name == "mlp" else (16, 1, 8, 8)
    x = ag.randn(*shape, device="cuda")
    y = ag.tensor(np.eye(5, dtype=np.float32)[np.arange(16) % 5], device="cuda")
    return x, y


def train_step(model, optimizer, x, y):
    # (cross_entropy with class indices reads their range from the device once a step,
    # to refuse a bad target where CuPy would wrap it around: see the README)
    optimizer.zero_grad()
    loss = F.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
    return loss


@pytest.mark.parametrize("optimizer_name", ["SGD", "Adam"])
@pytest.mark.parametrize("model_name", ["mlp", "cnn"])
def test_a_training_step_waits_on_the_device_nowhere(model_name, optimizer_name):
    import cupyx
    model = (mlp() if model_name == "mlp" else cnn()).to("cuda")
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9) if optimizer_name == "SGD" \
        else optim.Adam(model.parameters(), lr=1e-3)
    x, y = batch(model_name)
    train_step(model, optimizer, x, y)  # the first step makes the optimizer's state
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="cupyx.allow_synchronize")  # deprecated, not gone
        with cupyx.allow_synchronize(False):  # raises DeviceSynchronized at a copy to the host
            losses = [train_step(model, optimizer, x, y) for _ in range(3)]
    assert np.isfinite([loss.item() for loss in losses]).all()  # .item() waits, as the user asked


@pytest.mark.parametrize("model_name", ["mlp", "cnn"])
def test_steps_after_the_first_take_no_new_device_memory(model_name):
    import cupy
    model = (mlp() if model_name == "mlp" else cnn()).to("cuda")
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    x, y = batch(model_name)
    for _ in range(3):
        train_step(model, optimizer, x, y)
    pool = cupy.get_default_memory_pool()
    held = pool.total_bytes()
    for _ in range(5):
        train_step(model, optimizer, x, y)
    assert pool.total_bytes() == held  # every step's arrays come from CuPy's pool


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("settings", [dict(lr=1e-2), dict(lr=1e-2, betas=(0.3, 0.9), weight_decay=0.1),
                                      dict(lr=1e-2, maximize=True, eps=1e-6), dict(lr=1e-2, weight_decay=0.1,
                                                                                   decoupled_weight_decay=True)],
                         ids=["plain", "lerp-high-l2", "maximize", "adamw"])
def test_fused_adam_gives_the_op_by_op_steps_bits(monkeypatch, dtype, settings):
    def run(fused):
        if not fused:
            monkeypatch.setattr(CupyBackend, "fused_adam_", Backend.fused_adam_)
        ag.manual_seed(1)
        params = [ag.randn(33, 7, device="cuda", dtype=dtype, requires_grad=True),
                  ag.randn(7, device="cuda", dtype=dtype, requires_grad=True)]
        optimizer = optim.Adam(params, **settings)
        for step in range(4):
            for p in params:
                p.grad = ag.randn(*p.shape, device="cuda", dtype=dtype) * (step + 1)
            optimizer.step()
        monkeypatch.undo()
        return [p.numpy() for p in params] + [optimizer.state[p][k].numpy() for p in params
                                              for k in ("exp_avg", "exp_avg_sq")]

    for fused, plain in zip(run(True), run(False)):
        np.testing.assert_array_equal(fused, plain)


def test_fused_adam_leaves_float16_to_the_op_by_op_step():
    backend = backends.get("cuda")
    x = backend.xp.ones(4, dtype=backend.xp.float16)
    assert not backend.fused_adam_(x, x, x.copy(), x.copy(), beta1=0.9, beta2=0.999, step_size=1e-3,
                                   root_correction2=1.0, eps=1e-8)
    np.testing.assert_array_equal(backend.to_numpy(x), 1)  # and touches nothing
