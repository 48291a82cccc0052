"""One Adam step over about a million parameters (an MLP's worth of tensors,
gradients already in place): the optimizer's own cost."""
import functools
import importlib

import numpy as np

from .. import devices, metrics
from ..benchmark import Benchmark
from ..contender import FLOOR, TOPOGRAD, TORCH, Contender, Prepared
from ..floors.adam import AdamFloor

SHAPES = ((1024, 784), (1024,), (208, 1024), (208,))   # 1,017,040 parameters
LEARNING_RATE = 1e-3


def benchmarks(settings):
    count = sum(int(np.prod(s)) for s in SHAPES)
    device = settings.device
    contenders = [
        Contender(devices.topograd_label(device), TOPOGRAD, device, functools.partial(_topograd, device)),
        Contender(devices.FLOOR_LABELS[device], FLOOR, device, functools.partial(_floor, device)),
        Contender(devices.torch_label(device), TORCH, device, functools.partial(_torch, device)),
    ]
    return [Benchmark("optimizer/adam-1m", f"Adam step over {count:,} float32 parameters in {len(SHAPES)} tensors",
                      contenders, metrics.time_per_call("ms"), params={"parameters": count, "tensors": len(SHAPES)},
                      repeat=3 if settings.quick else 20)]


def parameters_and_grads(seed=0):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s, dtype=np.float32) for s in SHAPES]
    grads = [rng.standard_normal(s, dtype=np.float32) for s in SHAPES]
    return params, grads


def _topograd(device):
    import autograd as ag
    import nn
    optim = importlib.import_module("nn.optim")
    backend, sync = devices.topograd(device)
    values, grads = parameters_and_grads()
    params = [nn.Parameter(ag.tensor(v, device=backend)) for v in values]
    for p, g in zip(params, grads):
        p.grad = ag.tensor(g, device=backend)
    return Prepared(optim.Adam(params, lr=LEARNING_RATE).step, sync, functools.partial(_numbered, params))


def _floor(device):
    xp, sync = devices.floor_namespace(device)
    values, grads = parameters_and_grads()
    adam = AdamFloor(xp, [xp.asarray(v) for v in values], lr=LEARNING_RATE)
    grads = [xp.asarray(g) for g in grads]
    return Prepared(functools.partial(adam.step, grads), sync, functools.partial(_numbered, adam.params))


def _torch(device):
    torch, where, sync = devices.torch_for(device)
    values, grads = parameters_and_grads()
    params = [torch.nn.Parameter(torch.from_numpy(v).to(where)) for v in values]
    for p, g in zip(params, grads):
        p.grad = torch.from_numpy(g).to(where)
    return Prepared(torch.optim.Adam(params, lr=LEARNING_RATE).step, sync, functools.partial(_numbered, params))


def _numbered(params):
    """The parameters by their place in SHAPES: each contender's state."""
    return dict(enumerate(params))


# each contender's setup(device), for tools that run them outside the suite (page_faults)
SETUPS = {"topograd": _topograd, "floor": _floor, "torch": _torch}
