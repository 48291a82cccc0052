"""Training steps (and the Adam step) with their page faults:
``python -m benchmarks.page_faults cnn``.

The suite's ratios for the small steps depend on glibc's malloc state: where it
hands freed buffers back to the OS, a step that allocates them anew pays a page
fault per 4 KiB on first touch, and which contender pays depends on what ran
before. This runs the chosen contenders of one training step interleaved in one
process, as the suite does, and prints each one's median time with the minor
page faults it took per call (``getrusage``), so the two can be read together.
Run it as is, with ``--with torch`` (PyTorch in the rotation changes the heap),
or under ``GLIBC_TUNABLES=glibc.malloc.trim_threshold=268435456:glibc.malloc.mmap_threshold=67108864``
(glibc keeps freed memory, so nobody faults).
"""
import argparse
import functools
import resource
import statistics
import time

from . import threads, training_step
from .cases import optimizer
from .cli import positive_int
from .models import ModelSpec

MODELS = {"cnn": ModelSpec("cnn", 64), "mlp": ModelSpec("mlp", 64, (784, 512, 256, 10)),
          "mlp-b512": ModelSpec("mlp", 512, (784, 512, 256, 10))}
STEPS = {"topograd": training_step.topograd_step, "floor": training_step.floor_step,
         "torch": training_step.torch_step}


def setups(workload):
    """{contender: setup(device) -> Prepared} for a model's training step, or for the
    optimizer benchmark's million-parameter Adam step ("adam")."""
    if workload == "adam":
        return optimizer.SETUPS
    return {name: functools.partial(step, MODELS[workload]) for name, step in STEPS.items()}


def measure(spec, names, rounds, calls):
    """{name: (median ms per call, median faults per call)} over ``rounds`` interleaved
    rounds; ``spec`` is a ModelSpec (a training step) or a dict from ``setups``."""
    chosen = spec if isinstance(spec, dict) else {name: functools.partial(STEPS[name], spec) for name in names}
    prepared = {name: chosen[name]("cpu") for name in names}
    samples = {name: [] for name in names}
    for p in prepared.values():
        p.call()  # warm up: the pool's blocks, the caches
    for _ in range(rounds):
        for name, p in prepared.items():
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            start = time.perf_counter()
            for _ in range(calls):
                p.call()
            elapsed = time.perf_counter() - start
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
            samples[name].append((elapsed / calls * 1e3, faults / calls))
    return {name: (statistics.median(t for t, _ in s), statistics.median(f for _, f in s))
            for name, s in samples.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.page_faults", description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=sorted([*MODELS, "adam"]))
    parser.add_argument("--with", dest="extra", action="append", default=[], choices=["torch"],
                        help="also run PyTorch in the rotation")
    parser.add_argument("--rounds", type=positive_int, default=15)
    parser.add_argument("--calls", type=positive_int, default=10, help="calls per timed sample")
    args = parser.parse_args(argv)
    threads.pin(1)
    results = measure(setups(args.model), ["topograd", "floor", *args.extra], args.rounds, args.calls)
    floor_ms = results["floor"][0]
    for name, (ms, faults) in results.items():
        print(f"{name:9s} {ms:7.3f} ms  {ms / floor_ms:5.2f}x floor  {faults:6.0f} page faults per step")


if __name__ == "__main__":
    main()
