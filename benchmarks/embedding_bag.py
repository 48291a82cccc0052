"""Forward and backward of ``F.embedding_bag`` against PyTorch's:
``python -m benchmarks.embedding_bag`` (``--threads N``, default 1).

512 bags of 10 to 30 ids (offsets) from a 10,000 x 64 float32 table, in modes sum,
mean and max, sum with per_sample_weights (which get a gradient too), and sum and
mean with scale_grad_by_freq (PyTorch 2.13's CPU gradient there scales by the wrong
ids' counts, see tests/nn/test_embedding_bag_against_torch.py: timed all the same,
as the same work). The two contenders run interleaved, one call each per round after
a warm-up, and each one's median time is printed."""
import argparse
import functools

from . import threads
from .cli import positive_int
from .interleaved import median_times

TABLE, BAGS, LENGTHS = (10_000, 64), 512, (10, 30)
CASES = {"sum": ("sum", False), "mean": ("mean", False), "max": ("max", False),
         "sum, per_sample_weights": ("sum", True),
         "sum, scale_grad_by_freq": ("sum", False, True), "mean, scale_grad_by_freq": ("mean", False, True)}


def contenders(mode, weighted, scale_grad_by_freq=False):
    """A forward-and-backward call each for topograd and PyTorch on the same table, bags
    and output gradient; each returns the output."""
    import numpy as np
    import torch

    import autograd as ag
    import nn.functional as F

    rng = np.random.default_rng(0)
    lengths = rng.integers(LENGTHS[0], LENGTHS[1] + 1, BAGS)
    ids = rng.integers(0, TABLE[0], int(lengths.sum()))
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    table = rng.standard_normal(TABLE).astype(np.float32)
    scale = rng.standard_normal(len(ids)).astype(np.float32) if weighted else None
    grad = rng.standard_normal((BAGS, TABLE[1])).astype(np.float32)
    ours = [ag.tensor(ids), ag.tensor(table, requires_grad=True), ag.tensor(offsets),
            None if scale is None else ag.tensor(scale, requires_grad=True), ag.tensor(grad)]
    theirs = [torch.tensor(ids), torch.tensor(table, requires_grad=True), torch.tensor(offsets),
              None if scale is None else torch.tensor(scale, requires_grad=True), torch.tensor(grad)]
    options = dict(mode=mode, scale_grad_by_freq=scale_grad_by_freq)
    return {"topograd": functools.partial(_forward_and_backward, F.embedding_bag, options, *ours),
            "torch": functools.partial(_forward_and_backward, torch.nn.functional.embedding_bag, options, *theirs)}


def _forward_and_backward(embedding_bag, options, ids, table, offsets, scale, grad):
    table.grad = None
    if scale is not None:
        scale.grad = None
    y = embedding_bag(ids, table, offsets, per_sample_weights=scale, **options)
    y.backward(grad)
    return y


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=positive_int, default=1)
    parser.add_argument("--rounds", type=positive_int, default=100)
    args = parser.parse_args(argv)
    threads.set_before_import(args.threads)
    threads.pin(args.threads)
    for name, case in CASES.items():
        medians = ", ".join(f"{who} {t * 1e3:.2f} ms"
                            for who, t in median_times(contenders(*case), args.rounds).items())
        print(f"embedding_bag {name}, forward + backward, {args.threads} thread(s): {medians}")


if __name__ == "__main__":
    main()
