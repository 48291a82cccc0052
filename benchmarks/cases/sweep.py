"""Batch-size sweeps of the MLP and CNN training steps: time per sample as the
batch grows, on the CPU and (with --device cuda) on the GPU too, so that the
batch size where the GPU overtakes the CPU can be read off (benchmarks.sweeps)."""
from .. import metrics, training_step
from ..benchmark import Benchmark
from ..models import ModelSpec
from .training import MLP_SIZES

BATCHES = tuple(2 ** i for i in range(11))   # 1 .. 1024
QUICK_BATCHES = (1, 16, 128)
MODELS = {"mlp": lambda batch: ModelSpec("mlp", batch, MLP_SIZES), "cnn": lambda batch: ModelSpec("cnn", batch)}


def devices_for(settings):
    return ("cpu", "cuda") if settings.device == "cuda" else ("cpu",)


def benchmarks(settings):
    out = []
    for model, make in MODELS.items():
        for batch in QUICK_BATCHES if settings.quick else BATCHES:
            spec = make(batch)
            contenders = [c for device in devices_for(settings) for c in training_step.contenders(spec, device)]
            out.append(Benchmark(f"sweep/{model}-b{batch}", f"SGD step per sample: {spec.title}", contenders,
                                 metrics.time_per_item(batch, "sample"),
                                 params={"model": model, "batch": batch, "sizes": list(spec.sizes)},
                                 repeat=2 if settings.quick else 7, warmup=1 if settings.quick else 2))
    return out
