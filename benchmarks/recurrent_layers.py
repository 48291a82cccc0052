"""Forward and backward of nn.RNN, nn.LSTM and nn.GRU, each layer run as one sequence op
(what the layers do) against the same layer run step by step (the step ops they used
before) and against PyTorch: ``python -m benchmarks.recurrent_layers`` (``--threads N``,
default 1).

A layer of hidden size 64 over a (32, 32, 32) float32 sequence (seq, batch, features),
the loss the sum of its outputs times fixed weights; topograd's layer has PyTorch's
weights. The contenders run interleaved, one call each per round after a warm-up, and
each one's median time is printed."""
import argparse

from . import threads
from .cli import positive_int
from .interleaved import median_times

SHAPE, HIDDEN = (32, 32, 32), 64


def contenders(kind):
    """Calls of the layer as one op, step by step, and PyTorch's, on the same values and
    weights; each returns its loss."""
    import numpy as np
    import torch

    import autograd as ag
    import nn

    rng = np.random.default_rng(0)
    x = rng.standard_normal(SHAPE).astype(np.float32)
    weights = rng.standard_normal((SHAPE[0], SHAPE[1], HIDDEN)).astype(np.float32)
    ours, theirs = getattr(nn, kind)(SHAPE[2], HIDDEN), getattr(torch.nn, kind)(SHAPE[2], HIDDEN)
    ours.load_state_dict({name: value.numpy() for name, value in theirs.state_dict().items()})
    xo, wo = ag.tensor(x, requires_grad=True), ag.tensor(weights)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(weights)
    sequence_op = type(ours)._sequence

    def topograd(one_op):
        def call():
            type(ours)._sequence = sequence_op if one_op else None  # None: the step loop
            try:
                return _loss_and_backward(ours(xo)[0], wo)
            finally:
                type(ours)._sequence = sequence_op
        return call

    return {"one op": topograd(True), "step by step": topograd(False),
            "torch": lambda: _loss_and_backward(theirs(xt)[0], wt)}


def _loss_and_backward(outputs, weights):
    loss = (outputs * weights).sum()
    loss.backward()
    return loss


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=positive_int, default=1)
    parser.add_argument("--rounds", type=positive_int, default=60)
    args = parser.parse_args(argv)
    threads.set_before_import(args.threads)
    threads.pin(args.threads)
    for kind in ("RNN", "LSTM", "GRU"):
        calls = contenders(kind)
        medians = ", ".join(f"{who} {t * 1e3:.2f} ms" for who, t in median_times(calls, args.rounds).items())
        print(f"{kind}({SHAPE[2]}, {HIDDEN}) on {SHAPE} float32, forward + backward, {args.threads} thread(s): "
              f"{medians}")


if __name__ == "__main__":
    main()
