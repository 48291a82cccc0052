"""Per-op overhead: a chain of tiny ops on a 16-element float32 tensor, where
the arithmetic is nearly free and what is timed is the engine's bookkeeping.

The chain is ``y = tanh(y * a + b)`` repeated, then summed: 333 cycles of three
ops plus the sum make 1,000 ops. Also the build + backward of a 200,000-op
chain, which shows the engine has no recursion and no super-linear cost.
"""
import functools

import numpy as np

from .. import devices, metrics
from ..benchmark import Benchmark
from ..contender import FLOOR, TOPOGRAD, TORCH, Contender, Prepared
from ..floors import chain as floor_chain

ELEMENTS = 16
CHAIN_CYCLES = 333                      # 3 * 333 + 1 (the sum) = 1,000 ops
DEEP_CYCLES, QUICK_DEEP_CYCLES = 66_667, 667   # 200,002 and 2,002 ops


def ops_in(cycles):
    return 3 * cycles + 1


def benchmarks(settings):
    deep = QUICK_DEEP_CYCLES if settings.quick else DEEP_CYCLES
    n = ops_in(CHAIN_CYCLES)
    return [
        Benchmark("overhead/chain-forward", f"forward of a {n:,}-op chain on {ELEMENTS} floats (graph recorded)",
                  _contenders(settings.device, CHAIN_CYCLES, backward=False, strict=True),
                  metrics.time_per_item(n, "op"),
                  params={"ops": n, "elements": ELEMENTS}, repeat=5 if settings.quick else 30),
        Benchmark("overhead/chain-forward-backward",
                  f"forward + backward of a {n:,}-op chain on {ELEMENTS} floats",
                  _contenders(settings.device, CHAIN_CYCLES, backward=True, strict=True),
                  metrics.time_per_item(n, "op"),
                  params={"ops": n, "elements": ELEMENTS}, repeat=5 if settings.quick else 30),
        Benchmark("overhead/deep-chain", f"build + backward of a {ops_in(deep):,}-op chain",
                  _contenders(settings.device, deep, backward=True), metrics.time_per_call("s"),
                  params={"ops": ops_in(deep), "elements": ELEMENTS}, repeat=2 if settings.quick else 5, warmup=1,
                  min_sample_s=0.0, settle=0),  # a call lasts a second: no cache to warm
    ]


def _contenders(device, cycles, backward, strict=False):
    """topograd, the floor and PyTorch on ``device``; with ``strict`` (CPU runs only)
    also topograd on the array-api-strict test backend, to show what the standard's
    wrapper types cost per op (left out of the deep chain, where it would only add minutes)."""
    out = [Contender(devices.topograd_label(device), TOPOGRAD, device,
                     functools.partial(_topograd, device, cycles, backward))]
    if strict and device == "cpu":
        out.append(Contender("topograd strict", TOPOGRAD, "cpu", functools.partial(_topograd, "strict", cycles, backward)))
    out.append(Contender(devices.FLOOR_LABELS[device], FLOOR, device, functools.partial(_floor, device, cycles, backward)))
    out.append(Contender(devices.torch_label(device), TORCH, device, functools.partial(_torch, device, cycles, backward)))
    return out


def chain_inputs(seed=0):
    """x, and the constants a (a scale near 1) and b (a small shift)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(ELEMENTS).astype(np.float32)
    a = rng.uniform(0.5, 1.5, ELEMENTS).astype(np.float32)
    b = rng.uniform(-0.1, 0.1, ELEMENTS).astype(np.float32)
    return x, a, b


def tensor_chain(x, a, b, cycles):
    """The chain for any tensor with PyTorch/topograd operators (both have them)."""
    y = x
    for _ in range(cycles):
        y = (y * a + b).tanh()
    return y.sum()


def _topograd(device, cycles, backward):
    import autograd as ag
    backend, sync = devices.topograd(device)
    x0, a0, b0 = chain_inputs()
    x = ag.tensor(x0, device=backend, requires_grad=True)
    a, b = ag.tensor(a0, device=backend), ag.tensor(b0, device=backend)
    return Prepared(functools.partial(_run_tensor_chain, x, a, b, cycles, backward), sync)


def _torch(device, cycles, backward):
    torch, where, sync = devices.torch_for(device)
    x0, a0, b0 = chain_inputs()
    x = torch.tensor(x0, device=where, requires_grad=True)
    a, b = torch.tensor(a0, device=where), torch.tensor(b0, device=where)
    return Prepared(functools.partial(_run_tensor_chain, x, a, b, cycles, backward), sync)


def _run_tensor_chain(x, a, b, cycles, backward):
    """The chain's value and, with ``backward``, x's gradient, taken off x so that calls do not add up."""
    out = tensor_chain(x, a, b, cycles)
    if not backward:
        return out, None
    out.backward()
    grad, x.grad = x.grad, None
    return out, grad


def _floor(device, cycles, backward):
    xp, sync = devices.floor_namespace(device)
    x, a, b = (xp.asarray(v) for v in chain_inputs())

    def call():
        value, tape = floor_chain.forward(xp, x, a, b, cycles)
        return value, (floor_chain.backward(xp, tape, a) if backward else None)
    return Prepared(call, sync)
