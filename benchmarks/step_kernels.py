"""One SGD training step of a contender on CUDA between cudaProfilerStart and Stop, so that
Nsight Compute lists that step's kernels and their GPU time; it also prints the step's wall
time over 200 steps (inflated under ncu). This is how the README's kernel counts were read:

    ncu --clock-control none --profile-from-start off --metrics gpu__time_duration.sum --csv \\
        python -m benchmarks.step_kernels topograd mlp 512 > topograd-mlp-512.csv

with ``floor`` for the hand-written CuPy step, and ``cnn 256`` for LeNet at batch 256.
Needs CuPy and a CUDA device."""
import argparse
import time

from . import training_step
from .cases.training import MLP_SIZES
from .models import ModelSpec

STEPS = {"topograd": training_step.topograd_step, "floor": training_step.floor_step}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.step_kernels", description=__doc__.split("\n\n")[0])
    parser.add_argument("contender", choices=sorted(STEPS))
    parser.add_argument("model", choices=["mlp", "cnn"])
    parser.add_argument("batch", type=int)
    args = parser.parse_args(argv)
    try:
        import cupy
    except ImportError:
        parser.error("needs CuPy and a CUDA device (the extra cuda: pip install cupy-cuda12x)")
    spec = ModelSpec(args.model, args.batch, MLP_SIZES) if args.model == "mlp" else ModelSpec(args.model, args.batch)
    prepared = STEPS[args.contender](spec, "cuda")
    for _ in range(20):
        prepared.call()
    prepared.sync()
    start = time.perf_counter()
    for _ in range(200):
        prepared.call()
    prepared.sync()
    print(f"{args.contender} {args.model} b{args.batch}: {(time.perf_counter() - start) / 200 * 1e3:.3f} ms/step")
    cupy.cuda.runtime.profilerStart()
    prepared.call()
    prepared.sync()
    cupy.cuda.runtime.profilerStop()


if __name__ == "__main__":
    main()
