"""Peak memory of one call: the most bytes that allocations made during the
call hold at one time.

Only allocations made inside the call count, so memory that existed before it
(parameters, last step's gradients) is not in the number, and freeing it does
not lower the count. Every contender is measured the same way where the tools
allow it:

- NumPy-based contenders (topograd on the CPU, the NumPy floor): tracemalloc,
  to which NumPy reports its array buffers and Python its objects. topograd's
  NumPy backend also reuses large buffers from its scratch pool, made before the
  call, so for it the most bytes of the pool's blocks in use at once during the
  call are added (an upper bound: the two peaks need not coincide);
- CuPy-based contenders (topograd on CUDA, the CuPy floor): a CuPy memory hook
  that tracks blocks taken from the memory pool during the call;
- PyTorch on the CPU: the memory events of its profiler, read from the Chrome
  trace it exports because only that has each block's address (PyTorch's
  allocator does not report to tracemalloc; its Python objects are not counted);
- PyTorch on CUDA: ``max_memory_allocated`` above what was allocated at the
  start, so there freeing older tensors during the call does lower the count.
"""
import contextlib
import gc
import json
import os
import sys
import tempfile
import tracemalloc

from .contender import TOPOGRAD, TORCH, Skipped


def probe_for(contender):
    if contender.device == "cpu":
        if contender.kind == TORCH:
            return TorchCpuProbe()
        return TopogradCpuProbe() if contender.kind == TOPOGRAD else TracemallocProbe()
    return TorchCudaProbe() if contender.kind == TORCH else CupyPoolProbe()


class TracemallocProbe:
    method = "tracemalloc"

    def measure(self, prepared):
        with _tracing() as baseline:
            _call(prepared)
            return tracemalloc.get_traced_memory()[1] - baseline


class TopogradCpuProbe:
    """tracemalloc, plus the blocks of the NumPy backend's scratch pool in use.

    The pool's blocks were allocated before the call, so tracemalloc does not see
    them reused. The pool reports the bytes in use each time it hands a block out,
    and that count can only fall until the next hand-out; so the most tracemalloc
    saw between two hand-outs, plus the pool's count at the first of them, bounds
    the true peak from above. It is an upper bound: a block released between two
    hand-outs counts until the second, a block in use from before the call counts,
    and one made during the call (before the pool is warm) is counted twice."""
    method = "tracemalloc + scratch-pool blocks in use"

    def measure(self, prepared):
        import backends
        pool = backends.get("cpu").scratch_pool
        with _tracing() as baseline:
            in_pool, peak = pool.in_use_bytes(), 0

            def on_take(in_use):
                nonlocal in_pool, peak
                peak = max(peak, tracemalloc.get_traced_memory()[1] - baseline + in_pool)
                tracemalloc.reset_peak()
                in_pool = in_use

            previous = pool.set_observer(on_take)
            try:
                _call(prepared)
            finally:
                pool.set_observer(previous)
            return max(peak, tracemalloc.get_traced_memory()[1] - baseline + in_pool)


@contextlib.contextmanager
def _tracing():
    """tracemalloc running with its peak reset; yields the bytes traced at the start."""
    gc.collect()
    already = tracemalloc.is_tracing()  # e.g. python -X tracemalloc: keep it running
    if already:
        tracemalloc.reset_peak()
    else:
        tracemalloc.start()
    try:
        yield tracemalloc.get_traced_memory()[0]
    finally:
        if not already:
            tracemalloc.stop()


def _call(prepared):
    prepared.call()
    if prepared.sync is not None:
        prepared.sync()


class TorchCpuProbe:
    method = "torch.profiler memory events, by address"

    def measure(self, prepared):
        from torch.profiler import ProfilerActivity, profile
        gc.collect()
        with _quiet_native_output(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            prepared.call()
        # The profiler remembers the sizes of blocks it saw in earlier sessions, so
        # a plain running sum would subtract frees of older blocks; the trace's
        # addresses let this count only the blocks allocated during the call.
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "trace.json")
            with _quiet_native_output():
                prof.export_chrome_trace(path)
            with open(path) as f:
                trace = json.load(f)
        events = trace.get("traceEvents", []) if isinstance(trace, dict) else trace
        changes = sorted((e["ts"], e["args"].get("Ev Idx", 0), e["args"]["Bytes"], e["args"]["Addr"])
                         for e in events if e.get("name") == "[memory]" and "Addr" in e.get("args", {}))
        if not changes:
            raise Skipped("not measurable: the PyTorch profiler recorded no memory events with addresses")
        live, current, peak = {}, 0, 0
        for _, _, nbytes, address in changes:
            if nbytes > 0:
                live[address] = nbytes
                current += nbytes
                peak = max(peak, current)
            else:
                current -= live.pop(address, 0)
        return peak


class TorchCudaProbe:
    method = "torch.cuda.max_memory_allocated"

    def measure(self, prepared):
        import torch
        gc.collect()
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        baseline = torch.cuda.memory_allocated()
        prepared.call()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - baseline


class CupyPoolProbe:
    method = "CuPy memory-pool hook"

    def measure(self, prepared):
        hook = _pool_peak_hook()
        gc.collect()
        if prepared.sync is not None:
            prepared.sync()
        with hook:
            prepared.call()
            if prepared.sync is not None:
                prepared.sync()
        return hook.peak


def _pool_peak_hook():
    import cupy

    class PoolPeak(cupy.cuda.MemoryHook):
        """Blocks taken from CuPy's pool during the ``with``, by pointer, so that
        freeing a block taken earlier does not count."""
        name = "topograd-benchmarks-pool-peak"

        def __init__(self):
            self.live, self.current, self.peak = {}, 0, 0

        def malloc_postprocess(self, **kw):
            if kw.get("mem_ptr"):
                self.live[kw["mem_ptr"]] = kw["mem_size"]
                self.current += kw["mem_size"]
                self.peak = max(self.peak, self.current)

        def free_postprocess(self, **kw):
            self.current -= self.live.pop(kw.get("mem_ptr"), 0)

    return PoolPeak()


@contextlib.contextmanager
def _quiet_native_output():
    """Silence what the profiler's C++ side prints straight to the file
    descriptors (start/stop banners, warnings about older blocks)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)
