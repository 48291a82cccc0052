"""What a run produced: per contender its status and samples, per benchmark the
ratios of each contender to the floor and to PyTorch on the same device."""
import dataclasses
import statistics

from .contender import FLOOR, TORCH

RAN, SKIPPED, FAILED = "ran", "skipped", "failed"


@dataclasses.dataclass
class ContenderResult:
    contender: object
    status: str = RAN
    reason: str = ""
    samples: list = dataclasses.field(default_factory=list)  # seconds per call, or bytes
    number: int = 1               # calls averaged into each sample

    @property
    def median(self):
        return statistics.median(self.samples) if self.samples else None

    @property
    def min(self):
        return min(self.samples) if self.samples else None

    @property
    def max(self):
        return max(self.samples) if self.samples else None


@dataclasses.dataclass
class BenchmarkResult:
    benchmark: object
    contenders: list

    def find(self, kind, device):
        for r in self.contenders:
            if r.contender.kind == kind and r.contender.device == device and r.status == RAN:
                return r
        return None

    def ratio(self, result, kind):
        """``result``'s median over the median of the ``kind`` contender (floor or
        torch) on its device: time or bytes, so below 1 is better."""
        if result.status != RAN:
            return None
        reference = self.find(kind, result.contender.device)
        if reference is None or not reference.median:
            return None
        return result.median / reference.median

    def ratio_to_floor(self, result):
        return self.ratio(result, FLOOR)

    def ratio_to_torch(self, result):
        return self.ratio(result, TORCH)


@dataclasses.dataclass
class SuiteResult:
    settings: object
    environment: dict
    benchmarks: list              # BenchmarkResult, in run order
    gemm_peak: dict = None        # {"device", "gflops", "size"} or None when not measured
    sweeps: list = None           # analysis of the batch-size sweeps
    targets: list = None          # TargetResult

    def failures(self):
        return [(b.benchmark.name, r.contender.label, r.reason)
                for b in self.benchmarks for r in b.contenders if r.status == FAILED]

    def get(self, name):
        for b in self.benchmarks:
            if b.benchmark.name == name:
                return b
        return None
