"""How a benchmark's raw samples (seconds per call, or bytes) read as numbers."""
import dataclasses


@dataclasses.dataclass(frozen=True)
class Metric:
    unit: str                    # what the table shows: "ms", "µs/op", "GFLOP/s", "MiB"
    per_sample: float            # a sample (seconds or bytes) times this...
    higher_is_better: bool = False
    invert: bool = False         # ...or this divided by the sample (throughput)

    def value(self, sample):
        if self.invert:
            return self.per_sample / sample
        return sample * self.per_sample


def time_per_call(unit="ms"):
    return Metric(unit, {"s": 1.0, "ms": 1e3, "µs": 1e6}[unit])


def time_per_item(count, item):
    """Microseconds per item (per op, per sample) when one call handles ``count`` items."""
    return Metric(f"µs/{item}", 1e6 / count)


def throughput(flops):
    return Metric("GFLOP/s", flops / 1e9, higher_is_better=True, invert=True)


def memory():
    return Metric("MiB", 1.0 / 2**20)
