"""results.json: the environment, the settings and every sample, so that any
table can be recomputed (or compared across runs) later."""
import json

from .. import memory
from ..benchmark import MEMORY

SCHEMA = "topograd-benchmarks/1"


def to_dict(suite):
    return {
        "schema": SCHEMA,
        "settings": suite.settings.as_dict(),
        "environment": suite.environment,
        "gemm_peak": suite.gemm_peak,
        "benchmarks": [_benchmark(b) for b in suite.benchmarks],
        "sweeps": suite.sweeps or [],
        "targets": [{"key": t.target.key, "description": t.target.description, "benchmark": t.target.benchmark,
                     "reference": t.target.reference, "limit": t.target.limit, "status": t.status,
                     "ratio": t.ratio, "detail": t.detail} for t in suite.targets or ()],
    }


def _benchmark(result):
    bench = result.benchmark
    metric = bench.metric
    contenders = []
    for r in result.contenders:
        entry = {"label": r.contender.label, "kind": r.contender.kind, "device": r.contender.device,
                 "status": r.status, "reason": r.reason, "calls_per_sample": r.number, "samples": r.samples,
                 "median": r.median, "min": r.min, "max": r.max,
                 "value": None if r.median is None else {
                     "median": metric.value(r.median),
                     "min": min(metric.value(s) for s in r.samples),
                     "max": max(metric.value(s) for s in r.samples)},
                 "ratio_to_floor": result.ratio_to_floor(r), "ratio_to_torch": result.ratio_to_torch(r)}
        if bench.measure == MEMORY:
            entry["method"] = memory.probe_for(r.contender).method
        contenders.append(entry)
    return {"name": bench.name, "family": bench.family, "title": bench.title, "measure": bench.measure,
            "sample_unit": "bytes" if bench.measure == MEMORY else "s", "unit": metric.unit,
            "higher_is_better": metric.higher_is_better, "params": bench.params, "warmup": bench.warmup,
            "contenders": contenders}


def write(suite, path):
    path.write_text(json.dumps(to_dict(suite), indent=1, default=str) + "\n")
