"""Peak memory of one training step (see benchmarks.memory for how each
framework's allocations are counted): the MLP at batch 512 and the CNN at 64."""
from .. import metrics, training_step
from ..benchmark import MEMORY, Benchmark
from ..models import ModelSpec
from .training import MLP_SIZES

SPECS = (("memory/mlp-b512", ModelSpec("mlp", 512, MLP_SIZES)), ("memory/cnn-b64", ModelSpec("cnn", 64)))


def benchmarks(settings):
    return [Benchmark(name, f"peak memory of an SGD step: {spec.title}", training_step.contenders(spec, settings.device),
                      metrics.memory(), params={"model": spec.kind, "batch": spec.batch, "sizes": list(spec.sizes)},
                      repeat=1 if settings.quick else 3, warmup=1 if settings.quick else 2, measure=MEMORY)
            for name, spec in SPECS]
