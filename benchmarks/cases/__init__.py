"""The benchmark families, one module each; every module has
``benchmarks(settings) -> list[Benchmark]``, in the order they run."""
from . import optimizer, overhead, peak_memory, sweep, throughput, training

FAMILIES = (overhead, throughput, training, optimizer, peak_memory, sweep)


def all_benchmarks(settings):
    return [b for family in FAMILIES for b in family.benchmarks(settings)]
