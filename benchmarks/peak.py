"""The device's GEMM peak: the best rate of a large float32 matmul in raw
NumPy (CPU, at the suite's thread count) or CuPy (GPU). Throughput benchmarks
are read as a fraction of it."""
import time

import numpy as np

from . import devices
from .runner import MISSING

SIZES = {"cpu": 2048, "cuda": 8192}
QUICK_SIZE = 512


def measure(device, quick):
    """{"device", "library", "size", "gflops", "samples_s"}, or {"device", "error"}."""
    try:
        xp, sync = devices.floor_namespace(device)
    except MISSING as exc:
        return {"device": device, "error": str(exc)}
    n = QUICK_SIZE if quick else SIZES[device]
    rng = np.random.default_rng(0)
    a = xp.asarray(rng.standard_normal((n, n), dtype=np.float32))
    b = xp.asarray(rng.standard_normal((n, n), dtype=np.float32))
    out = xp.matmul(a, b)  # warm-up: BLAS threads, GPU kernels and the memory pool
    samples = []
    for _ in range(3 if quick else 7):
        if sync is not None:
            sync()
        start = time.perf_counter()
        xp.matmul(a, b, out=out)
        if sync is not None:
            sync()
        samples.append(time.perf_counter() - start)
    return {"device": device, "library": xp.__name__, "size": n, "gflops": 2 * n ** 3 / min(samples) / 1e9,
            "samples_s": samples}
