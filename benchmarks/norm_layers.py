"""Forward and backward of the fused normalization layers against PyTorch's:
``python -m benchmarks.norm_layers`` (``--threads N``, default 1).

BatchNorm3d(16) in training on an (8, 16, 16, 32, 32) volume and RMSNorm(512) on
(64, 128, 512), float32. The two contenders run interleaved, one call each per
round after a warm-up, and each one's median time is printed."""
import argparse
import functools

from . import threads
from .cli import positive_int
from .interleaved import median_times

CASES = {"BatchNorm3d": ((8, 16, 16, 32, 32), lambda nn: nn.BatchNorm3d(16)),
         "RMSNorm": ((64, 128, 512), lambda nn: nn.RMSNorm(512))}


def contenders(shape, build):
    """A forward-and-backward call each for topograd and PyTorch, on the same values (both
    layers start at ones and zeros); each returns the layer's output."""
    import numpy as np
    import torch

    import autograd as ag
    import nn

    rng = np.random.default_rng(0)
    x, g = (rng.standard_normal(shape).astype(np.float32) for _ in range(2))
    ours, theirs = build(nn), build(torch.nn)
    xo, go = ag.tensor(x, requires_grad=True), ag.tensor(g)
    xt, gt = torch.tensor(x, requires_grad=True), torch.tensor(g)
    return {"topograd": functools.partial(_forward_and_backward, ours, xo, go),
            "torch": functools.partial(_forward_and_backward, theirs, xt, gt)}


def _forward_and_backward(layer, x, grad):
    y = layer(x)
    y.backward(grad)
    return y


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=positive_int, default=1)
    parser.add_argument("--rounds", type=positive_int, default=30)
    args = parser.parse_args(argv)
    threads.set_before_import(args.threads)
    threads.pin(args.threads)
    for name, (shape, build) in CASES.items():
        calls = contenders(shape, build)
        medians = ", ".join(f"{who} {t * 1e3:.1f} ms" for who, t in median_times(calls, args.rounds).items())
        print(f"{name} {shape} float32, forward + backward, {args.threads} thread(s): {medians}")


if __name__ == "__main__":
    main()
