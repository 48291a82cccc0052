"""Plans a run (which benchmarks), runs it with a progress bar, and hands the
results to the reports."""
import sys

from tqdm import tqdm

from . import cases, environment, heap, peak, runner, sweeps, targets, threads
from .report import charts, console, markdown, results_json
from .results import SuiteResult


def plan(settings):
    return [b for b in cases.all_benchmarks(settings) if settings.selects(b.name)]


def run(settings, benchmarks, out=None):
    out = out or sys.stdout
    pin_problems = threads.pin(settings.threads)
    heap_settings = heap.keep_freed_memory()  # before any contender allocates (see benchmarks.heap)
    env = environment.collect(settings)
    env["threads"]["problems"] = pin_problems
    env["heap"] = heap_settings
    gemm_peak = None
    if any(b.family == "throughput" for b in benchmarks):
        gemm_peak = peak.measure(settings.device, settings.quick)

    total = sum(len(b.contenders) * (b.warmup + (settings.repeat or b.repeat)) for b in benchmarks)
    results = []
    with tqdm(total=total, unit="call", file=sys.stderr, dynamic_ncols=True, disable=None) as bar:
        for benchmark in benchmarks:
            bar.set_description(benchmark.name)
            results.append(runner.run(benchmark, settings.repeat, bar))

    suite = SuiteResult(settings, env, results, gemm_peak)
    suite.sweeps = sweeps.analyse(results)
    suite.targets = targets.evaluate(suite)
    print(console.render(suite), file=out)

    folder = settings.output_dir()
    written = write_outputs(suite, folder)
    print(f"\nwrote {', '.join(written)} to {folder}", file=out)
    for name, label, reason in suite.failures():
        print(f"FAILED {name} [{label}]: {reason}", file=sys.stderr)
    return suite


def write_outputs(suite, folder):
    """results.json, report.md and the charts; returns the file names written."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in [*folder.glob("ratios-*.png"), *folder.glob("sweep-*.png")]:
        stale.unlink()  # an earlier run's charts would be mistaken for this one's
    drawn = {}
    if suite.settings.charts:
        try:
            drawn = charts.draw(suite, folder)
        except ImportError as exc:  # the numbers matter more than the pictures
            print(f"charts skipped: {exc} (`pip install matplotlib`)", file=sys.stderr)
    results_json.write(suite, folder / "results.json")
    (folder / "report.md").write_text(markdown.render(suite, drawn))
    return ["results.json", "report.md", *drawn.values()]
