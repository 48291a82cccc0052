"""Median times of calls run interleaved, for the standalone comparison scripts
(``benchmarks.norm_layers``, ``benchmarks.recurrent_layers``): one untimed call each
first, then rounds of one timed call each, so that every contender meets the same
machine state."""
import statistics
import time


def median_times(calls, rounds):
    """{name: median seconds} of ``calls`` ({name: zero-argument function})."""
    times = {who: [] for who in calls}
    for call in calls.values():  # warm-up
        call()
    for _ in range(rounds):
        for who, call in calls.items():
            start = time.perf_counter()
            call()
            times[who].append(time.perf_counter() - start)
    return {who: statistics.median(t) for who, t in times.items()}
