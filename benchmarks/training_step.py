"""One SGD training step (zero grads, forward, cross-entropy, backward, update)
of a ``ModelSpec``, as a contender for each framework on a device. Every
contender starts from the same weights and trains on the same batch."""
import functools
import importlib

from . import devices
from .contender import FLOOR, TOPOGRAD, TORCH, Contender, Prepared

LEARNING_RATE = 0.01


def contenders(spec, device):
    """topograd, the hand-written floor and PyTorch, all on ``device``."""
    return [
        Contender(devices.topograd_label(device), TOPOGRAD, device, functools.partial(topograd_step, spec, device)),
        Contender(devices.FLOOR_LABELS[device], FLOOR, device, functools.partial(floor_step, spec, device)),
        Contender(devices.torch_label(device), TORCH, device, functools.partial(torch_step, spec, device)),
    ]


def topograd_step(spec, device):
    import autograd as ag
    import nn
    optim = importlib.import_module("nn.optim")
    functional = importlib.import_module("nn.functional")
    backend, sync = devices.topograd(device)
    model = spec.build(nn)
    model.load_state_dict(spec.weights())
    model.to(backend)
    x, labels = spec.batch_data()
    x, labels = ag.tensor(x, device=backend), ag.tensor(labels, device=backend)
    optimizer = optim.SGD(model.parameters(), lr=LEARNING_RATE)
    return Prepared(_sgd_step(model, optimizer, functional.cross_entropy, x, labels), sync, model.state_dict)


def floor_step(spec, device):
    xp, sync = devices.floor_namespace(device)
    params = {name: xp.asarray(value) for name, value in spec.weights().items()}
    floor = spec.floor(xp, params)
    x, labels = (xp.asarray(a) for a in spec.batch_data())
    return Prepared(lambda: floor.step(x, labels, LEARNING_RATE), sync, lambda: floor.params)


def torch_step(spec, device):
    torch, where, sync = devices.torch_for(device)
    model = spec.build(torch.nn)
    model.load_state_dict({name: torch.from_numpy(value) for name, value in spec.weights().items()})
    model.to(where)
    x, labels = (torch.from_numpy(a).to(where) for a in spec.batch_data())
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    return Prepared(_sgd_step(model, optimizer, torch.nn.functional.cross_entropy, x, labels), sync, model.state_dict)


def _sgd_step(model, optimizer, cross_entropy, x, labels):
    """One training step, written once: topograd and PyTorch take the same calls."""
    def step():
        optimizer.zero_grad()
        loss = cross_entropy(model(x), labels)
        loss.backward()
        optimizer.step()
    return step
