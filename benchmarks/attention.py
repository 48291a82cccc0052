"""Forward and backward of nn.MultiheadAttention (batch 32, length 64, width 128, 8 heads,
self-attention, batch_first) and of a 2-layer nn.TransformerEncoder (feed-forward 512,
dropout 0.1, training mode), topograd against PyTorch on the same weights, float32:
``python -m benchmarks.attention [--threads 1] [--rounds 3]``.

The two contenders alternate, ``--rounds`` times, each timing 15 calls after two
untimed ones; the best of each one's calls is printed, with the median of all of them.
"""
import argparse
import statistics
import time

from . import threads
from .cli import positive_int

BATCH, LENGTH, WIDTH, HEADS, FEEDFORWARD = 32, 64, 128, 8, 512


def cases(ag, nn, torch):
    """[(name, topograd module, PyTorch module, call(module, x) -> output to sum)]."""
    def attention(framework):
        return framework.MultiheadAttention(WIDTH, HEADS, batch_first=True)

    def encoder(framework, **kwargs):
        layer = framework.TransformerEncoderLayer(WIDTH, HEADS, FEEDFORWARD, batch_first=True)
        return framework.TransformerEncoder(layer, 2, **kwargs)

    return [
        ("MultiheadAttention", attention(nn), attention(torch.nn), lambda m, x: m(x, x, x)[0]),
        ("MultiheadAttention need_weights=False", attention(nn), attention(torch.nn),
         lambda m, x: m(x, x, x, need_weights=False)[0]),
        ("TransformerEncoder, 2 layers", encoder(nn), encoder(torch.nn, enable_nested_tensor=False),
         lambda m, x: m(x)),
    ]


def loaded_cases(ag, nn, torch):
    """``cases``, each topograd module given its PyTorch twin's weights: what ``main`` times
    (and what the tests check for agreement)."""
    out = cases(ag, nn, torch)
    for _, ours, theirs, _ in out:
        ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return out


def timed(step, calls=15):
    """Milliseconds of each of ``calls`` calls of ``step``, after two untimed ones."""
    step()
    step()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=positive_int, default=1)
    parser.add_argument("--rounds", type=positive_int, default=3)
    args = parser.parse_args(argv)
    threads.set_before_import(args.threads)
    import numpy as np
    import torch

    import autograd as ag
    import nn
    threads.pin(args.threads)
    torch.set_num_threads(args.threads)
    x = np.random.default_rng(0).standard_normal((BATCH, LENGTH, WIDTH)).astype(np.float32)
    for name, ours, theirs, call in loaded_cases(ag, nn, torch):
        xo, xt = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ours_ms, theirs_ms = [], []
        for _ in range(args.rounds):
            ours_ms += timed(lambda: call(ours, xo).sum().backward())
            theirs_ms += timed(lambda: call(theirs, xt).sum().backward())
        # the median of every round's calls (not of the round that held the best call)
        (o_best, o_median), (t_best, t_median) = ((min(t), statistics.median(t)) for t in (ours_ms, theirs_ms))
        print(f"{name}: topograd {o_best:.1f} ms (median {o_median:.1f}), PyTorch {t_best:.1f} ms "
              f"(median {t_median:.1f}), topograd / PyTorch {o_best / t_best:.2f}")


if __name__ == "__main__":
    main()
