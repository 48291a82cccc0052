"""A benchmark: one workload, its contenders, and how to read the samples."""
import dataclasses

TIME, MEMORY = "time", "memory"


@dataclasses.dataclass
class Benchmark:
    name: str                 # "family/case", what --only matches
    title: str                # one line for the table and the report
    contenders: list
    metric: object            # benchmarks.metrics.Metric
    params: dict = dataclasses.field(default_factory=dict)
    repeat: int = 10          # timed samples per contender (--repeat overrides)
    warmup: int = 2           # untimed calls per contender before the first sample
    min_sample_s: float = 0.005  # calls are batched until one sample lasts this long
    settle: int = 1           # untimed calls at the start of every sample (see runner)
    measure: str = TIME

    @property
    def family(self):
        return self.name.split("/", 1)[0]
