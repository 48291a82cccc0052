"""The timing of the standalone linear-algebra scripts (``benchmarks.triangular_solve``,
``benchmarks.factorization_backward``): the best of 5 rounds, each as many calls as
fill 50 ms (2 at least), after one untimed call; the best round is the one the machine's
other work disturbed least."""
import time


def best_ms(fn):
    """Milliseconds per call of ``fn`` (no arguments) in its best round."""
    fn()
    best = float("inf")
    for _ in range(5):
        start, calls = time.perf_counter(), 0
        while time.perf_counter() - start < 0.05 or calls < 2:
            fn()
            calls += 1
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e3
