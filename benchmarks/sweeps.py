"""Reads the batch-size sweeps: each contender's time per sample against batch
size, and for each framework the batch size from which its GPU run stays faster
per sample than its CPU run (the crossover)."""
from .contender import FLOOR, TOPOGRAD, TORCH
from .results import RAN

FRAMEWORKS = (TOPOGRAD, FLOOR, TORCH)


def analyse(benchmark_results):
    """One entry per swept model: {"model", "curves": {label: [[batch, s/sample], ...]},
    "crossover": {framework: {"batch": int or None, "note": str}}}."""
    models = {}
    for result in benchmark_results:
        bench = result.benchmark
        if bench.family != "sweep":
            continue
        entry = models.setdefault(bench.params["model"], {"model": bench.params["model"], "curves": {},
                                                           "kinds": {}})
        batch = bench.params["batch"]
        for r in result.contenders:
            entry["kinds"][r.contender.label] = (r.contender.kind, r.contender.device)
            if r.status == RAN:
                entry["curves"].setdefault(r.contender.label, []).append([batch, r.median / batch])
    out = []
    for entry in models.values():
        kinds = entry.pop("kinds")
        for points in entry["curves"].values():
            points.sort()
        entry["crossover"] = {kind: _crossover(entry["curves"], kinds, kind) for kind in FRAMEWORKS}
        out.append(entry)
    return out


def _crossover(curves, kinds, kind):
    labels = {device: label for label, (k, device) in kinds.items() if k == kind}
    if "cuda" not in labels:
        return {"batch": None, "note": "n/a: no GPU in this run (run with --device cuda on a machine with one)"}
    cpu, gpu = dict(map(tuple, curves.get(labels.get("cpu"), []))), dict(map(tuple, curves.get(labels["cuda"], [])))
    batches = sorted(set(cpu) & set(gpu))
    if not batches:
        return {"batch": None, "note": "n/a: the CPU or the GPU contender did not run"}
    # The smallest batch from which the GPU is faster at every larger batch measured.
    crossover = None
    for b in reversed(batches):
        if gpu[b] < cpu[b]:
            crossover = b
        else:
            break
    if crossover is None:
        return {"batch": None, "note": f"the GPU is not faster at any batch up to {batches[-1]}"}
    if crossover == batches[0]:
        return {"batch": crossover, "note": f"the GPU is faster at every batch measured, from {crossover}"}
    return {"batch": crossover, "note": f"the GPU is faster from batch {crossover} on"}
