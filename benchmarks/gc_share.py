"""How much of the 200,002-op chain's time Python's cyclic garbage collector takes:
``python -m benchmarks.gc_share`` (``--rounds N``, ``--cycles N``; 1 thread).

The chain is the suite's ``overhead/deep-chain``. Each round times topograd's build
and backward with the collector on (as users run it), topograd's with it paused,
and PyTorch's where it is installed (imported either way, so the heap the collector
walks is the suite's; without it, the rows have no ratio to PyTorch's).
With the collector on, the time spent in its passes is read from ``gc.callbacks``,
and the objects it tracks that a recorded op leaves behind are counted once. Each full
pass also walks the heap from before the chain (PyTorch's objects among it): the first
line says what one pass over that heap takes, and ``--alone`` times each library again in
a process of its own.
PyTorch's nodes are C++ objects the collector never visits: the paused row is what
the engine's own Python costs, beside PyTorch's."""
import argparse
import gc
import os
import statistics
import subprocess
import sys
import time

from . import threads
from .cases.overhead import DEEP_CYCLES, chain_inputs, ops_in, tensor_chain
from .cli import positive_int


class CollectorClock:
    """Seconds spent in the collector's passes while it is installed, split into
    full passes (the oldest generation) and the rest."""

    def __init__(self):
        self.full = self.young = 0.0
        self._start = None

    def __call__(self, phase, info):
        if phase == "start":
            self._start = time.perf_counter()
            return
        spent = time.perf_counter() - self._start
        if info["generation"] == 2:
            self.full += spent
        else:
            self.young += spent

    def __enter__(self):
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc):
        gc.callbacks.remove(self)


def timed_chain(x, a, b, cycles):
    """(build seconds, backward seconds) of one chain from ``x``."""
    start = time.perf_counter()
    out = tensor_chain(x, a, b, cycles)
    built = time.perf_counter()
    out.backward()
    done = time.perf_counter()
    x.grad = None
    return built - start, done - built


def tracked_per_op(x, a, b, cycles):
    """Objects the collector tracks, per recorded op, while a chain is alive."""
    gc.collect()
    before = len(gc.get_objects())
    out = tensor_chain(x, a, b, cycles)
    after = len(gc.get_objects())
    del out
    return (after - before) / ops_in(cycles)


def full_pass_seconds(repeat=5):
    """The median time of one full collection of the heap as it stands."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        gc.collect()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(rounds, cycles):
    """The lines ``main`` prints: the rounds, then their medians."""
    try:
        import torch
    except ImportError:  # PyTorch is a reference, never a dependency: time topograd alone
        torch = None

    import autograd as ag
    x0, a0, b0 = chain_inputs()
    ours = ag.tensor(x0, requires_grad=True), ag.tensor(a0), ag.tensor(b0)
    rows = {"topograd, collector on": [], "topograd, collector paused": []}
    timed_chain(*ours, cycles)  # warm-up
    if torch is not None:
        theirs = torch.tensor(x0, requires_grad=True), torch.tensor(a0), torch.tensor(b0)
        rows["torch"] = []
        timed_chain(*theirs, cycles)
    collector = []  # (full, young) seconds per round, collector on
    for _ in range(rounds):
        gc.collect()
        with CollectorClock() as clock:
            rows["topograd, collector on"].append(timed_chain(*ours, cycles))
        collector.append((clock.full, clock.young))
        gc.collect()
        gc.disable()
        try:
            rows["topograd, collector paused"].append(timed_chain(*ours, cycles))
        finally:
            gc.enable()
        if torch is not None:
            gc.collect()
            rows["torch"].append(timed_chain(*theirs, cycles))

    lines = [f"build + backward of a {ops_in(cycles):,}-op chain, median of {rounds} rounds, "
             f"{len(gc.get_objects()):,} objects tracked before it (a full pass over them: "
             f"{full_pass_seconds() * 1e3:.1f} ms)"]
    torch_total = statistics.median(b + w for b, w in rows["torch"]) if torch is not None else None
    for who, times in rows.items():
        build = statistics.median(b for b, _ in times)
        backward = statistics.median(w for _, w in times)
        total = statistics.median(b + w for b, w in times)
        ratio = f"  = {total / torch_total:.2f}x torch" if torch_total is not None else ""
        lines.append(f"  {who:28s} build {build:.3f} s  backward {backward:.3f} s  total {total:.3f} s{ratio}")
    full = statistics.median(f for f, _ in collector)
    young = statistics.median(y for _, y in collector)
    lines.append(f"  collector passes, collector on: full {full:.3f} s, younger generations {young:.3f} s")
    lines.append(f"  objects tracked per recorded op: {tracked_per_op(*ours, cycles):.2f}")
    return lines


def alone_seconds(who, rounds, cycles):
    """The median build + backward seconds of ``who`` ("topograd" or "torch") in a process
    of its own, where topograd's collector never walks PyTorch's objects; None where
    PyTorch is not installed."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-m", "benchmarks.gc_share", "--time-alone", who, "--rounds", str(rounds),
                           "--cycles", str(cycles)], cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        if who == "torch" and "No module named 'torch'" in done.stderr:
            return None
        raise RuntimeError(f"gc_share: timing {who} alone failed:\n{done.stderr}")
    return float(done.stdout.split()[-1])


def _time_alone(who, rounds, cycles):
    """What the process alone_seconds starts runs: a warm-up, then ``rounds`` timed chains."""
    if who == "torch":
        import torch as lib
        lib.set_num_threads(1)
    else:
        import autograd as lib
    x0, a0, b0 = chain_inputs()
    x, a, b = lib.tensor(x0, requires_grad=True), lib.tensor(a0), lib.tensor(b0)
    timed_chain(x, a, b, cycles)
    totals = []
    for _ in range(rounds):
        gc.collect()
        totals.append(sum(timed_chain(x, a, b, cycles)))
    if who == "topograd" and "torch" in sys.modules:
        raise RuntimeError("gc_share: the process timing topograd alone imported PyTorch")
    return statistics.median(totals)


def alone_lines(rounds, cycles):
    ours, theirs = alone_seconds("topograd", rounds, cycles), alone_seconds("torch", rounds, cycles)
    ratio = "" if theirs is None else f", torch {theirs:.3f} s: topograd = {ours / theirs:.2f}x torch"
    return [f"  each in a process of its own (topograd's never imports PyTorch): topograd {ours:.3f} s{ratio}"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=positive_int, default=5)
    parser.add_argument("--cycles", type=positive_int, default=DEEP_CYCLES,
                        help="three ops each (default: the suite's)")
    parser.add_argument("--alone", action="store_true",
                        help="also time each library in a process of its own, without the other's objects")
    parser.add_argument("--time-alone", choices=("topograd", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    threads.set_before_import(1)  # (the processes alone_seconds starts inherit it)
    if args.time_alone:
        print(_time_alone(args.time_alone, args.rounds, args.cycles))
        return
    threads.pin(1)  # (imports PyTorch, to pin its threads)
    lines = report(args.rounds, args.cycles)
    if args.alone:
        lines += alone_lines(args.rounds, args.cycles)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
