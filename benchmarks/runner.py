"""Runs a benchmark's contenders interleaved, in one process.

Timed samples go in rounds, each contender once per round, after a round-robin
warm-up, so that drift in the machine's speed (frequency scaling, other
processes) falls on every contender alike instead of on whichever ran last.
The order changes from round to round (a balanced Latin square, see
``balanced_orders``) so that every contender follows every other one equally
often: a contender's first call in a sample finds the caches as the one before
it left them, and with a fixed order one contender would always inherit the
heaviest predecessor (topograd always ran right after PyTorch).
Each sample then starts with ``settle`` untimed calls, so that the calls it times
follow calls of the same contender, as a training loop's steps follow each other.
Without them the first timed call paid for the caches the previous contender left
(an MLP step at batch 64 cost topograd 500 us more cold than warm, and the floor
320 us more), and a sample of three calls measured mostly that interleaving.
Calls are batched so that each sample lasts at least ``min_sample_s``: a single
microsecond-long call would measure the clock, not the work.

The garbage collector stays on while timing: real training loops run with it,
and an engine that allocates many objects should pay for that here too.
"""
import functools
import gc
import math
import time
import traceback

from backends import BackendUnavailable

from . import memory
from .benchmark import MEMORY
from .contender import Skipped
from .results import FAILED, SKIPPED, BenchmarkResult, ContenderResult

# A missing library, device or nn piece: the contender is skipped, with the reason.
MISSING = (ImportError, AttributeError, Skipped, BackendUnavailable)
MAX_CALLS_PER_SAMPLE = 100_000


def run(benchmark, repeat, progress):
    """Run one benchmark; ``progress.update(n)`` is told of every finished call."""
    repeat = repeat or benchmark.repeat
    if benchmark.measure == MEMORY:
        result = _run_memory(benchmark, repeat, progress)
    else:
        result = _run_timed(benchmark, repeat, progress)
    gc.collect()  # drop this benchmark's models and graphs before the next one starts
    return result


def _run_timed(benchmark, repeat, progress):
    results = [ContenderResult(c) for c in benchmark.contenders]
    units = benchmark.warmup + repeat
    live = []
    for r in results:
        prepared = _guarded(r, r.contender.setup)
        if prepared is None:
            progress.update(units)
        else:
            live.append((r, prepared))

    for w in range(benchmark.warmup):
        live = _round(live, lambda r, p: _elapsed(p, 1), progress, units - w)

    calibrated = []
    for r, p in live:
        once = _guarded(r, lambda: _elapsed(p, 1))
        if once is None:
            progress.update(repeat)
            continue
        r.number = int(min(MAX_CALLS_PER_SAMPLE, max(1, math.ceil(benchmark.min_sample_s / max(once, 1e-9)))))
        calibrated.append((r, p))
    live = calibrated

    for i in range(repeat):
        orders = balanced_orders(len(live))
        sample = functools.partial(_sample, settle=benchmark.settle)
        ran = _round([live[j] for j in orders[i % len(orders)]], sample, progress, repeat - i)
        live = [entry for entry in live if entry in ran]  # back in the benchmark's order
    return BenchmarkResult(benchmark, results)


def balanced_orders(n):
    """Orders of ``range(n)`` in which every ordered pair (a, then b right after it)
    occurs equally often: Williams' balanced Latin square. Its first row runs
    0, 1, n-1, 2, n-2, ...; row i adds i to each entry (mod n). For odd n those n
    rows are not balanced alone, and their reversals join them. (The pair across two
    rounds, one's last and the next one's first, is not balanced.)"""
    if n < 2:
        return [list(range(n))]
    first, low, high = [0], 1, n - 1
    while len(first) < n:
        first.append(low)
        low += 1
        if len(first) < n:
            first.append(high)
            high -= 1
    rows = [[(x + i) % n for x in first] for i in range(n)]
    if n % 2 == 0:
        return rows
    # Each row then its reversal: a run cut short of all 2n rows stays near balance.
    return [order for row in rows for order in (row, row[::-1])]


def _sample(result, prepared, settle):
    if settle:
        _elapsed(prepared, settle)  # untimed: brings this contender's data back into the caches
    result.samples.append(_elapsed(prepared, result.number) / result.number)


def _round(live, action, progress, units_left):
    """One round-robin pass; contenders that fail or turn out missing leave the
    round, and the progress bar skips what they will not run."""
    still = []
    for r, p in live:
        ok = _guarded(r, lambda: action(r, p) or True)
        if ok:
            still.append((r, p))
            progress.update(1)
        else:
            r.samples.clear()
            progress.update(units_left)
    return still


def _elapsed(prepared, calls):
    sync, call = prepared.sync, prepared.call
    if sync is not None:
        sync()
    start = time.perf_counter()
    for _ in range(calls):
        call()
    if sync is not None:
        sync()
    return time.perf_counter() - start


def _run_memory(benchmark, repeat, progress):
    """Peak allocation of one call, per contender. Memory counts do not drift as
    clocks do, so contenders run one after the other: each needs its own probe
    around its own calls."""
    results = []
    for contender in benchmark.contenders:
        r = ContenderResult(contender)
        results.append(r)
        prepared = _guarded(r, contender.setup)
        if prepared is not None:
            probe = _guarded(r, lambda: memory.probe_for(contender))
            if probe is not None:
                for _ in range(benchmark.warmup):
                    if _guarded(r, lambda: _elapsed(prepared, 1)) is None:
                        break
                else:
                    for _ in range(repeat):
                        peak = _guarded(r, lambda: probe.measure(prepared))
                        if peak is None:
                            r.samples.clear()
                            break
                        r.samples.append(peak)
        prepared = None  # freed before the next contender sets up
        gc.collect()
        progress.update(benchmark.warmup + repeat)
    return BenchmarkResult(benchmark, results)


def _guarded(result, fn):
    """``fn()``, or None after marking ``result`` skipped (missing piece) or failed."""
    try:
        return fn()
    except MISSING as exc:
        result.status, result.reason = SKIPPED, _describe(exc)
    except Exception as exc:  # a contender's own bug must not stop the other benchmarks
        result.status, result.reason = FAILED, _describe(exc, with_place=True)
    return None


def _describe(exc, with_place=False):
    text = f"{type(exc).__name__}: {exc}" if not isinstance(exc, Skipped) else str(exc)
    if with_place:
        frames = traceback.extract_tb(exc.__traceback__)
        if frames:
            last = frames[-1]
            text += f" (at {last.filename}:{last.lineno})"
    return text
