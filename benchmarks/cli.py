"""Command line of the suite. Nothing numerical is imported until the thread
count is exported, so that BLAS starts with it."""
import argparse
import pathlib
import sys

from . import threads
from .settings import Settings


def positive_int(text):
    """An argparse type for counts (threads, repeats, rounds): a bad one stops the
    command line with a one-line error before anything is timed."""
    value = int(text)  # argparse turns a ValueError into "invalid ... value"
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time topograd against a hand-written NumPy/CuPy floor and PyTorch.")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where the contenders run (cuda also sweeps the CPU, to find the crossover)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and few repeats: checks the suite works, measures nothing")
    parser.add_argument("--only", default=None,
                        help="run benchmarks whose name contains one of these comma-separated substrings")
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="threads for BLAS, OpenMP and PyTorch (default 1)")
    parser.add_argument("--repeat", type=positive_int, default=None,
                        help="timed repeats per contender (default: per benchmark)")
    parser.add_argument("--out", type=pathlib.Path, default=None,
                        help="output folder (default benchmarks/results/<device>-<date>)")
    parser.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    parser.add_argument("--list", action="store_true", help="list the benchmark names and exit")
    args = parser.parse_args(argv)
    only = tuple(part.strip() for part in (args.only or "").split(",") if part.strip())
    if args.only is not None and not only:  # an empty --only would silently run the whole suite
        parser.error(f"--only {args.only!r} names no benchmark; give parts of names, as --list prints them")
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
    folder = settings.output_dir()
    try:  # now, not after the whole run has been timed
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"--out {folder}: cannot create the folder ({exc.strerror}); give a folder path", file=sys.stderr)
        return 2
    outcome = suite.run(settings, plan)
    return 1 if outcome.failures() else 0
