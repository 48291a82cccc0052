"""Command line of the suite. Nothing numerical is imported until the thread
count is exported, so that BLAS starts with it."""
import argparse
import pathlib
import sys

from . import threads
from .settings import Settings


def parse(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time topograd against a hand-written NumPy/CuPy floor and PyTorch.")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where the contenders run (cuda also sweeps the CPU, to find the crossover)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and few repeats: checks the suite works, measures nothing")
    parser.add_argument("--only", default="",
                        help="run benchmarks whose name contains one of these comma-separated substrings")
    parser.add_argument("--threads", type=int, default=1, help="threads for BLAS, OpenMP and PyTorch (default 1)")
    parser.add_argument("--repeat", type=int, default=None, help="timed repeats per contender (default: per benchmark)")
    parser.add_argument("--out", type=pathlib.Path, default=None,
                        help="output folder (default benchmarks/results/<device>-<date>)")
    parser.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    parser.add_argument("--list", action="store_true", help="list the benchmark names and exit")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    if args.repeat is not None and args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    only = tuple(part.strip() for part in args.only.split(",") if part.strip())
    settings = Settings(device=args.device, quick=args.quick, only=only, threads=args.threads,
                        repeat=args.repeat, out=args.out, charts=not args.no_charts)
    return settings, args.list


def main(argv=None):
    settings, list_only = parse(argv)
    threads.set_before_import(settings.threads)
    from . import suite  # loads NumPy, PyTorch and topograd, after the thread count is set

    plan = suite.plan(settings)
    if list_only:
        for benchmark in plan:
            print(f"{benchmark.name:40} {benchmark.title}")
        return 0
    if not plan:
        names = ", ".join(b.name for b in suite.plan(Settings(device=settings.device, quick=settings.quick)))
        print(f"--only {','.join(settings.only)!r} matches no benchmark; the names are: {names}", file=sys.stderr)
        return 2
    outcome = suite.run(settings, plan)
    return 1 if outcome.failures() else 0
