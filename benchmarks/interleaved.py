"""Median times of calls run interleaved, for the standalone comparison scripts
(``benchmarks.norm_layers``, ``benchmarks.recurrent_layers``): one untimed call each
first, then rounds of one timed call each, so that every contender meets the same
machine state. The order changes from round to round as in the suite (see
``runner.balanced_orders``): with one fixed order of three, each contender's call
would always follow the same other one's, and find the caches as that one left them."""
import statistics
import time


def median_times(calls, rounds):
    """{name: median seconds} of ``calls`` ({name: zero-argument function})."""
    from .runner import balanced_orders  # the runner loads NumPy: not before the scripts set the thread count
    names = list(calls)
    times = {who: [] for who in names}
    for call in calls.values():  # warm-up
        call()
    orders = balanced_orders(len(names))
    for i in range(rounds):
        for j in orders[i % len(orders)]:
            who, call = names[j], calls[names[j]]
            start = time.perf_counter()
            call()
            times[who].append(time.perf_counter() - start)
    return {who: statistics.median(t) for who, t in times.items()}
