"""Training steps, float32 with SGD: the MLP, the LeNet-style CNN, an LSTM, and a
wide MLP whose time is nearly all GEMM (where an engine should cost nothing)."""
from .. import metrics, training_step
from ..benchmark import Benchmark
from ..models import ModelSpec

MLP_SIZES = (784, 512, 256, 10)
LSTM_SIZES = (32, 32, 64)        # seq, input, hidden
LSTM_BATCH = 32
# Samples of 20 ms: ten steps of the MLP at batch 64, where at 5 ms a sample of three
# steps swung with each collection of the garbage collector and each page fault.
SAMPLE_S = 0.02
# The GEMM-bound step: wide enough that the GEMMs dwarf everything else on each device.
GEMM_BOUND = {"cpu": ((1024, 1024, 1024, 10), 256), "cuda": ((4096, 4096, 4096, 10), 4096)}
QUICK_GEMM_BOUND = ((256, 256, 256, 10), 64)


def specs(settings):
    """(benchmark name, spec) of every training step the suite times."""
    gemm_sizes, gemm_batch = QUICK_GEMM_BOUND if settings.quick else GEMM_BOUND[settings.device]
    return [
        ("training/mlp-b64", ModelSpec("mlp", 64, MLP_SIZES)),
        ("training/mlp-b512", ModelSpec("mlp", 512, MLP_SIZES)),
        ("training/cnn-b64", ModelSpec("cnn", 64)),
        ("training/cnn-b256", ModelSpec("cnn", 256)),
        (f"training/lstm-b{LSTM_BATCH}", ModelSpec("lstm", LSTM_BATCH, LSTM_SIZES)),
        ("training/gemm-bound-mlp", ModelSpec("mlp", gemm_batch, gemm_sizes)),
    ]


def benchmarks(settings):
    out = []
    for name, spec in specs(settings):
        params = {"model": spec.kind, "batch": spec.batch, "sizes": list(spec.sizes)}
        if spec.flops():
            params["flops"] = spec.flops()
        out.append(Benchmark(name, f"SGD step: {spec.title}", training_step.contenders(spec, settings.device),
                             metrics.time_per_call("ms"), params=params,
                             repeat=3 if settings.quick else 20, warmup=1 if settings.quick else 3,
                             min_sample_s=SAMPLE_S))
    return out
