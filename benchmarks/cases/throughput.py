"""Matmul and conv2d forward throughput in GFLOP/s, set against the device's
measured GEMM peak (benchmarks.peak). Operands require grad, as in training, so
topograd and PyTorch record the op; the floor just computes it."""
import functools

import numpy as np

from .. import devices, metrics
from ..benchmark import Benchmark
from ..contender import FLOOR, TOPOGRAD, TORCH, Contender, Prepared
from ..floors.conv import conv2d_forward

MATMUL_SIZES = {"cpu": (64, 256, 1024), "cuda": (256, 1024, 4096)}
QUICK_MATMUL_SIZES = (32, 128)
# (batch, in channels, out channels, height = width, kernel)
CONV_SHAPES = ((64, 8, 16, 13, 3), (32, 32, 64, 32, 3), (8, 64, 128, 56, 3))
QUICK_CONV_SHAPES = ((8, 1, 8, 28, 3), (8, 8, 16, 13, 3))


def benchmarks(settings):
    device = settings.device
    sizes = QUICK_MATMUL_SIZES if settings.quick else MATMUL_SIZES[device]
    shapes = QUICK_CONV_SHAPES if settings.quick else CONV_SHAPES
    repeat = 3 if settings.quick else 10
    out = []
    for n in sizes:
        out.append(Benchmark(f"throughput/matmul-{n}", f"float32 matmul {n}x{n} @ {n}x{n}",
                             _contenders(device, _matmul_parts, n), metrics.throughput(2 * n ** 3),
                             params={"n": n, "flops": 2 * n ** 3}, repeat=repeat))
    for shape in shapes:
        batch, cin, cout, hw, k = shape
        flops = 2 * batch * cout * (hw - k + 1) ** 2 * cin * k * k
        out.append(Benchmark(f"throughput/conv2d-b{batch}-{cin}x{hw}x{hw}-to-{cout}",
                             f"float32 conv2d {cin}->{cout}, {k}x{k}, on {batch}x{cin}x{hw}x{hw}",
                             _contenders(device, _conv_parts, shape), metrics.throughput(flops),
                             params={"batch": batch, "in_channels": cin, "out_channels": cout, "size": hw,
                                     "kernel": k, "flops": flops}, repeat=repeat))
    return out


def _contenders(device, parts, shape):
    return [Contender(devices.topograd_label(device), TOPOGRAD, device, functools.partial(_topograd, device, parts, shape)),
            Contender(devices.FLOOR_LABELS[device], FLOOR, device, functools.partial(_floor, device, parts, shape)),
            Contender(devices.torch_label(device), TORCH, device, functools.partial(_torch, device, parts, shape))]


def _matmul_parts(n):
    rng = np.random.default_rng(0)
    return {"a": rng.standard_normal((n, n), dtype=np.float32), "b": rng.standard_normal((n, n), dtype=np.float32)}


def _conv_parts(shape):
    batch, cin, cout, hw, k = shape
    rng = np.random.default_rng(0)
    bound = 1 / np.sqrt(cin * k * k)
    return {"x": rng.standard_normal((batch, cin, hw, hw), dtype=np.float32),
            "weight": rng.uniform(-bound, bound, (cout, cin, k, k)).astype(np.float32),
            "bias": rng.uniform(-bound, bound, cout).astype(np.float32)}


def _topograd(device, parts, shape):
    import autograd as ag
    backend, sync = devices.topograd(device)
    arrays = parts(shape)
    if parts is _matmul_parts:
        a = ag.tensor(arrays["a"], device=backend, requires_grad=True)
        b = ag.tensor(arrays["b"], device=backend, requires_grad=True)
        return Prepared(functools.partial(ag.matmul, a, b), sync)
    import nn
    conv = _conv_module(nn, shape)
    conv.load_state_dict({"weight": arrays["weight"], "bias": arrays["bias"]})
    conv.to(backend)
    return Prepared(functools.partial(conv, ag.tensor(arrays["x"], device=backend)), sync)


def _torch(device, parts, shape):
    torch, where, sync = devices.torch_for(device)
    arrays = parts(shape)
    if parts is _matmul_parts:
        a = torch.tensor(arrays["a"], device=where, requires_grad=True)
        b = torch.tensor(arrays["b"], device=where, requires_grad=True)
        return Prepared(functools.partial(torch.matmul, a, b), sync)
    conv = _conv_module(torch.nn, shape)
    conv.load_state_dict({"weight": torch.from_numpy(arrays["weight"]), "bias": torch.from_numpy(arrays["bias"])})
    conv.to(where)
    return Prepared(functools.partial(conv, torch.from_numpy(arrays["x"]).to(where)), sync)


def _conv_module(nn, shape):
    _, cin, cout, _, k = shape
    return nn.Conv2d(cin, cout, k)


def _floor(device, parts, shape):
    xp, sync = devices.floor_namespace(device)
    arrays = parts(shape)
    if parts is _matmul_parts:
        return Prepared(functools.partial(xp.matmul, xp.asarray(arrays["a"]), xp.asarray(arrays["b"])), sync)
    return Prepared(functools.partial(_floor_conv2d, xp, xp.asarray(arrays["x"]), xp.asarray(arrays["weight"]),
                                      xp.asarray(arrays["bias"])), sync)


def _floor_conv2d(xp, x, weight, bias):
    """The floor's conv2d on the (N, C, H, W) input the others get: it works in (C, N, H, W)
    (see floors/conv.py), which a transposed view gives, and its output is viewed back as
    (N, O, OH, OW), as topograd's is. Neither view copies; im2col reads the input either way."""
    y, _ = conv2d_forward(xp, x.transpose(1, 0, 2, 3), weight, bias)
    return y.transpose(1, 0, 2, 3)
