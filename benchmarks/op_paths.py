"""Forward and backward of single ops against PyTorch's, at sizes people train with:
``python -m benchmarks.op_paths [CASE ...]`` (``--threads N``, default 1; ``--rounds``).

Each case times topograd's op and PyTorch's on the same float32 values (float64 where
the name says so), forward then backward of the output against fixed random weights.
The two run interleaved, one call each per round after a warm-up, and each one's median
time is printed with their ratio (topograd / PyTorch), which moves less than the times
when other jobs share the machine. With no CASE, every case runs."""
import argparse
import functools

from . import threads
from .cli import positive_int
from .interleaved import median_times


def _gelu(ag, F, torch, a):
    return F.gelu(a) if ag else torch.nn.functional.gelu(a)


def _erf(ag, F, torch, a):
    return ag.erf(a) if ag else torch.erf(a)


def _erfc(ag, F, torch, a):
    return ag.erfc(a) if ag else torch.erfc(a)


def _pdist(ag, F, torch, a):
    return F.pdist(a) if ag else torch.nn.functional.pdist(a)


def _depthwise(stride):
    def conv(ag, F, torch, x, w):
        f = F if ag else torch.nn.functional
        return f.conv2d(x, w, stride=stride, padding=1, groups=w.shape[0])
    return conv


def _conv3d(ag, F, torch, x, w):
    return (F if ag else torch.nn.functional).conv3d(x, w, padding=1)


def _grid_sample(ag, F, torch, x, grid):
    return (F if ag else torch.nn.functional).grid_sample(x, grid, align_corners=False)


def _grid_sample_with(mode, padding_mode, align_corners):
    def sample(ag, F, torch, x, grid):
        f = F if ag else torch.nn.functional
        return f.grid_sample(x, grid, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    return sample


def _max_pool2d(ag, F, torch, x):
    return (F if ag else torch.nn.functional).max_pool2d(x, 3, 2, 1)


# name: (op(ag, F, torch, *inputs), ag None for PyTorch's; the inputs' shapes; their dtype)
CASES = {
    "gelu": (_gelu, [(8, 128, 3072)], "float32"),
    "gelu-small": (_gelu, [(64, 1024)], "float32"),
    "gelu-large": (_gelu, [(8, 512, 3072)], "float32"),
    "erf": (_erf, [(1 << 22,)], "float32"),
    "erfc-float64": (_erfc, [(1 << 21,)], "float64"),
    "pdist": (_pdist, [(1024, 64)], "float32"),
    "depthwise3x3": (_depthwise(1), [(32, 64, 56, 56), (64, 1, 3, 3)], "float32"),
    "depthwise3x3-stride2": (_depthwise(2), [(32, 64, 56, 56), (64, 1, 3, 3)], "float32"),
    "conv3d": (_conv3d, [(8, 16, 16, 32, 32), (32, 16, 3, 3, 3)], "float32"),
    "conv3d-b4": (_conv3d, [(4, 16, 16, 32, 32), (32, 16, 3, 3, 3)], "float32"),
    "grid_sample": (_grid_sample, [(16, 3, 64, 64), (16, 64, 64, 2)], "float32"),
    "grid_sample-c16": (_grid_sample, [(8, 16, 64, 64), (8, 64, 64, 2)], "float32"),
    "grid_sample-border-corners": (_grid_sample_with("bilinear", "border", True),
                                   [(8, 16, 64, 64), (8, 64, 64, 2)], "float32"),
    "grid_sample-nearest": (_grid_sample_with("nearest", "zeros", False), [(8, 16, 64, 64), (8, 64, 64, 2)],
                            "float32"),
    "max_pool2d-overlapping": (_max_pool2d, [(32, 64, 56, 56)], "float32"),
}


def contenders(name):
    """A forward-and-backward call each for topograd and PyTorch on the same values; each
    returns the op's output."""
    import numpy as np
    import torch

    import autograd as ag
    import nn.functional as F

    op, shapes, dtype = CASES[name]
    rng = np.random.default_rng(0)
    arrays = [rng.uniform(-1, 1, s).astype(dtype) if s[-1] == 2 else rng.standard_normal(s).astype(dtype)
              for s in shapes]  # (a sampling grid's last axis is 2: points in [-1, 1])
    ours = [ag.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_shape = tuple(op(None, F, torch, *theirs).shape)
    weights = rng.standard_normal(out_shape).astype(dtype)
    return {"topograd": functools.partial(_forward_and_backward, functools.partial(op, ag, F, torch), ours,
                                          ag.tensor(weights)),
            "torch": functools.partial(_forward_and_backward, functools.partial(op, None, F, torch), theirs,
                                       torch.tensor(weights))}


def _forward_and_backward(op, inputs, weights):
    for x in inputs:
        x.grad = None
    y = op(*inputs)
    y.backward(weights)
    return y


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", metavar="CASE", help=f"any of {', '.join(CASES)} (default: all)")
    parser.add_argument("--threads", type=positive_int, default=1)
    parser.add_argument("--rounds", type=positive_int, default=11)
    args = parser.parse_args(argv)
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
    threads.set_before_import(args.threads)
    threads.pin(args.threads)
    for name in args.cases or CASES:
        medians = median_times(contenders(name), args.rounds)
        shapes = " ".join(str(s) for s in CASES[name][1])
        print(f"{name} {shapes} {CASES[name][2]}, forward + backward, {args.threads} thread(s): "
              f"topograd {medians['topograd'] * 1e3:.1f} ms, torch {medians['torch'] * 1e3:.1f} ms, "
              f"ratio {medians['topograd'] / medians['torch']:.2f}", flush=True)


if __name__ == "__main__":
    main()
