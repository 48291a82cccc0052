"""The benchmark suite: it runs end to end and writes valid files, its parts
(runner, memory probe, targets, sweeps) do what they say, and its hand-written
floors compute the same numbers as PyTorch and topograd. Nothing here asserts
anything about speed."""
import collections
import importlib
import json
import math
import pathlib
import platform
import subprocess
import sys
import types

import numpy as np
import pytest

import backends
from benchmarks import memory, metrics, runner, sweeps, targets
from benchmarks.benchmark import MEMORY, Benchmark
from benchmarks.cases.overhead import CHAIN_CYCLES, chain_inputs, tensor_chain
from benchmarks.contender import FLOOR, TOPOGRAD, TORCH, Contender, Prepared, Skipped
from benchmarks.floors import chain as floor_chain
from benchmarks.floors.adam import AdamFloor
from benchmarks.floors.conv import conv2d_backward, conv2d_forward
from benchmarks.floors.pool import max_pool2d_backward, max_pool2d_forward
from benchmarks.models import ModelSpec
from benchmarks.results import FAILED, RAN, SKIPPED, BenchmarkResult, ContenderResult, SuiteResult
from benchmarks.settings import Settings
from tests.command_line import assert_refused, run_module

ROOT = pathlib.Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FAMILIES = {"overhead", "throughput", "training", "optimizer", "memory", "sweep"}
SPECS = {"mlp": ModelSpec("mlp", 16, (784, 512, 256, 10)), "cnn": ModelSpec("cnn", 8),
         "lstm": ModelSpec("lstm", 4, (6, 5, 7))}
TOL = dict(rtol=1e-4, atol=1e-5)
GLIBC = platform.libc_ver()[0] == "glibc"


def _suite(*args, timeout=150):
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


# --- the whole suite, as `make bench ARGS=--quick` runs it ------------------------------------------------

@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    done = _suite("--quick", "--out", str(out))
    return done, out


def test_quick_run_exits_cleanly_and_prints_tables(quick_run):
    done, _ = quick_run
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "training/mlp-b64" in done.stdout and "median" in done.stdout
    assert "targets" in done.stdout


def test_every_benchmark_ran_or_was_skipped_with_a_reason(quick_run):
    _, out = quick_run
    data = json.loads((out / "results.json").read_text())
    assert {b["family"] for b in data["benchmarks"]} == FAMILIES
    for bench in data["benchmarks"]:
        statuses = {c["status"] for c in bench["contenders"]}
        assert statuses <= {RAN, SKIPPED}, (bench["name"], bench["contenders"])
        floor = next(c for c in bench["contenders"] if c["kind"] == FLOOR)
        assert floor["status"] == RAN, (bench["name"], floor["reason"])  # NumPy is always there
        assert floor["ratio_to_floor"] == pytest.approx(1.0)
        for c in bench["contenders"]:
            if c["status"] == SKIPPED:
                assert c["reason"] and not c["samples"]
                continue
            assert c["samples"] and all(math.isfinite(s) and s > 0 for s in c["samples"])
            assert c["min"] <= c["median"] <= c["max"]
            assert c["value"]["min"] <= c["value"]["median"] <= c["value"]["max"]
            if bench["measure"] == MEMORY:
                assert c["method"]


def test_json_records_environment_settings_and_targets(quick_run):
    _, out = quick_run
    data = json.loads((out / "results.json").read_text())
    assert set(data) == {"schema", "settings", "environment", "gemm_peak", "benchmarks", "sweeps", "targets"}
    assert data["schema"] == "topograd-benchmarks/1"
    env = data["environment"]
    assert env["cpu_model"] and env["libraries"]["numpy"] == np.__version__
    assert env["source"]["commit"] and env["source"]["tree"]
    assert env["threads"]["requested"] == 1
    if GLIBC:
        assert env["heap"]["applied"] is True, env["heap"]
    assert data["settings"]["quick"] is True and data["settings"]["device"] == "cpu"
    assert data["gemm_peak"]["gflops"] > 0
    assert len(data["targets"]) == len(targets.TARGETS)
    for t in data["targets"]:
        assert t["status"] in {targets.MET, targets.SHORT, targets.NA} and t["detail"]
        assert (t["ratio"] is None) == (t["status"] == targets.NA)
    assert {s["model"] for s in data["sweeps"]} == {"mlp", "cnn"}
    for sweep in data["sweeps"]:
        assert sweep["crossover"]["topograd"]["note"].startswith("n/a")  # a CPU-only run has no crossover


def test_source_tree_hash_names_the_commit_whatever_head_says(tmp_path):
    """A copy of the working tree with stale git metadata reads the wrong HEAD (the CUDA
    run's results.json had its commit typed in by hand); the tree hash is the code's own:
    the commit's tree when nothing changed, another one after a change, and the
    repository's index and objects are left untouched."""
    from benchmarks import environment

    def git(*args):
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path,
                              capture_output=True, text=True, check=True).stdout.strip()
    git("init", "-q")
    (tmp_path / "a.py").write_text("x = 1\n")
    git("add", "a.py")
    git("commit", "-q", "-m", "one")
    assert environment._working_tree_hash(str(tmp_path)) == git("rev-parse", "HEAD^{tree}")
    (tmp_path / "a.py").write_text("x = 2\n")
    (tmp_path / "b.py").write_text("y = 1\n")
    objects, index = git("count-objects", "-v"), (tmp_path / ".git" / "index").read_bytes()
    changed = environment._working_tree_hash(str(tmp_path))
    assert changed not in (None, git("rev-parse", "HEAD^{tree}"))
    assert git("count-objects", "-v") == objects and (tmp_path / ".git" / "index").read_bytes() == index
    git("add", "-A")
    git("commit", "-q", "-m", "two")
    assert changed == git("rev-parse", "HEAD^{tree}")


def test_cupy_version_is_recorded_whatever_its_wheel_is_named(monkeypatch):
    """CuPy installs as cupy-cuda11x, -12x, -13x...: the CUDA run's results.json named none of
    them, so it did not say which CuPy ran. A loaded CuPy's own version is recorded."""
    from benchmarks import environment
    monkeypatch.setattr(environment, "_version", lambda name: None)
    monkeypatch.setitem(sys.modules, "cupy", types.SimpleNamespace(__version__="13.6.0"))
    assert environment.libraries() == {"cupy": "13.6.0"}


def test_markdown_has_a_table_per_benchmark_and_a_targets_section(quick_run):
    _, out = quick_run
    text = (out / "report.md").read_text()
    data = json.loads((out / "results.json").read_text())
    for bench in data["benchmarks"]:
        if bench["family"] != "sweep":
            assert f"### {bench['name']}:" in text
    assert "| contender | median | min | max | x floor | x torch |" in text
    targets_section = text.split("## Targets", 1)[1]
    assert targets_section.count("\n| ") == len(targets.TARGETS) + 1  # the header, then one row per target
    assert "## sweep: mlp" in text and "## sweep: cnn" in text


def test_charts_are_png_files(quick_run):
    _, out = quick_run
    names = {p.name for p in out.glob("*.png")}
    assert {"sweep-mlp.png", "sweep-cnn.png", "ratios-training.png", "ratios-overhead.png"} <= names
    for path in out.glob("*.png"):
        assert path.read_bytes()[:8] == PNG_MAGIC, path


def test_cuda_contenders_skip_cleanly_without_a_gpu(tmp_path):
    done = _suite("--device", "cuda", "--quick", "--only", "training/mlp-b64", "--no-charts", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads((tmp_path / "results.json").read_text())
    assert [b["name"] for b in data["benchmarks"]] == ["training/mlp-b64"]
    for c in data["benchmarks"][0]["contenders"]:
        assert c["device"] == "cuda"
        assert c["status"] == RAN or (c["status"] == SKIPPED and c["reason"])


def test_only_that_matches_nothing_is_an_error_listing_the_names():
    done = _suite("--only", "no-such-benchmark", timeout=60)
    assert done.returncode == 2
    assert "training/mlp-b64" in done.stderr


# --- the runner -----------------------------------------------------------------------------------------

def _contender(label, kind, setup, device="cpu"):
    return Contender(label, kind, device, setup)


def test_runner_interleaves_contenders_and_reports_missing_and_broken_ones():
    order = []

    def recording(name):
        return lambda: Prepared(lambda: order.append(name))

    def missing_at_setup():
        raise ImportError("No module named 'nn.fancy'")

    def missing_at_first_call():
        return Prepared(lambda: getattr(object(), "conv_transpose9d"))

    def broken():
        def call():
            raise ValueError("shapes do not align")
        return Prepared(call)

    bench = Benchmark("test/interleave", "interleaving", [
        _contender("a", TOPOGRAD, recording("a")), _contender("b", FLOOR, recording("b")),
        _contender("c", TORCH, missing_at_setup), _contender("d", TOPOGRAD, missing_at_first_call),
        _contender("e", TOPOGRAD, broken)], metrics.time_per_call(), repeat=3, warmup=1, min_sample_s=0.0,
        settle=0)
    seen = []

    class Progress:
        def update(self, n):
            seen.append(n)

    result = runner.run(bench, None, Progress())
    a, b, c, d, e = result.contenders
    # warm-up and calibration in the benchmark's order, then three samples in balanced orders
    assert order == ["a", "b", "a", "b", "a", "b", "b", "a", "a", "b"]
    assert (a.status, b.status) == (RAN, RAN) and len(a.samples) == len(b.samples) == 3
    assert c.status == SKIPPED and "nn.fancy" in c.reason
    assert d.status == SKIPPED and "conv_transpose9d" in d.reason
    assert e.status == FAILED and "shapes do not align" in e.reason and "test_suite.py" in e.reason
    assert sum(seen) == 5 * (1 + 3)  # every contender's warm-up and repeats are accounted for
    assert result.ratio_to_floor(a) == pytest.approx(a.median / b.median)
    assert result.ratio_to_torch(a) is None  # PyTorch was skipped


@pytest.mark.parametrize("n", range(7))
def test_balanced_orders_let_every_contender_follow_every_other_equally_often(n):
    orders = runner.balanced_orders(n)
    assert all(sorted(order) == list(range(n)) for order in orders)
    follows = collections.Counter((order[k], order[k + 1]) for order in orders for k in range(n - 1))
    assert set(follows) == {(a, b) for a in range(n) for b in range(n) if a != b}
    assert len(set(follows.values())) <= 1


def test_each_sample_times_only_the_calls_after_its_settling_calls(monkeypatch):
    # On a fake clock, a call costs 10 ticks when another contender's call came before
    # it (cold caches, say) and 1 tick otherwise: settle=1 leaves the cold call out of
    # every sample, settle=0 times it.
    clock = {"now": 0.0}
    log = []
    monkeypatch.setattr(runner, "time", types.SimpleNamespace(perf_counter=lambda: clock["now"]))

    def contender(label, kind):
        def call():
            clock["now"] += 1.0 if log[-1:] == [label] else 10.0
            log.append(label)
        return _contender(label, kind, lambda: Prepared(call))

    samples = {}
    for settle in (0, 1):
        log.clear()
        bench = Benchmark("test/settle", "settling", [contender("a", TOPOGRAD), contender("b", FLOOR)],
                          metrics.time_per_call(), repeat=4, warmup=1, min_sample_s=0.0, settle=settle)
        a, b = runner.run(bench, None, type("P", (), {"update": lambda self, n: None})()).contenders
        samples[settle] = a.samples + b.samples
    assert samples[0].count(10.0) >= 4  # (a contender that ends one round and starts the next runs warm)
    assert samples[1] == [1.0] * 8


def test_a_contender_that_breaks_mid_run_leaves_the_others_in_balanced_rounds():
    calls = []
    state = {"b": 0}

    def breaks_on_its_third_call():
        state["b"] += 1
        if state["b"] == 3:
            raise ValueError("out of memory")
        calls.append("b")

    bench = Benchmark("test/breaks", "one breaks", [
        _contender("a", TOPOGRAD, lambda: Prepared(lambda: calls.append("a"))),
        _contender("b", FLOOR, lambda: Prepared(breaks_on_its_third_call)),
        _contender("c", TORCH, lambda: Prepared(lambda: calls.append("c")))],
        metrics.time_per_call(), repeat=4, warmup=0, min_sample_s=0.0)
    a, b, c = runner.run(bench, None, type("P", (), {"update": lambda self, n: None})()).contenders
    assert b.status == FAILED and "out of memory" in b.reason and not b.samples
    assert len(a.samples) == len(c.samples) == 4


def test_memory_probe_counts_what_a_call_allocates():
    size = 4 * 2**20

    def allocate():
        scratch = np.ones(size, dtype=np.uint8)
        kept.append(scratch.sum())

    kept = []
    peak = memory.TracemallocProbe().measure(Prepared(allocate))
    assert size <= peak < size + 2**18  # plus the reduction's small buffers


def test_topograd_probe_counts_scratch_blocks_reused_during_the_call():
    """A scratch block made before the call is invisible to tracemalloc when reused;
    the topograd probe adds it while it is in use."""
    backend = backends.get("cpu")
    size = 2**20  # float32 elements: 4 MiB
    backend.scratch_pool.take((size,), np.float32)  # the block exists (unused) before the call
    kept = []

    def call():
        block = backend.scratch((size,), np.float32)
        fresh = np.ones(size, dtype=np.float32)  # 4 MiB from malloc while the block is in use
        block[...] = fresh
        kept.append(float(block[-1]))

    assert memory.TracemallocProbe().measure(Prepared(call)) < 4 * size + 2**18
    peak = memory.TopogradCpuProbe().measure(Prepared(call))
    assert 8 * size <= peak < 8 * size + 2**18


def test_torch_cpu_probe_counts_only_blocks_allocated_during_the_call(torch):
    size = 2**20  # float32 elements: 4 MiB blocks
    kept = [torch.ones(size)]

    def call():
        kept.pop()                    # frees a block from before the call: must not lower the count
        scratch = torch.ones(size)
        kept.append(scratch * 2)      # two new blocks live at once

    probe = memory.TorchCpuProbe()
    peaks = [probe.measure(Prepared(call)) for _ in range(3)]
    assert peaks[0] == peaks[1] == peaks[2]  # later sessions must not see earlier blocks' frees
    assert 8 * size <= peaks[0] < 8 * size + 2**16


def test_memory_benchmark_skips_contenders_it_cannot_measure():
    bench = Benchmark("test/memory", "memory", [
        _contender("numpy floor", FLOOR, lambda: Prepared(lambda: np.zeros(2**20))),
        _contender("cupy floor", FLOOR, lambda: (_ for _ in ()).throw(Skipped("no GPU here")), device="cuda")],
        metrics.memory(), repeat=2, warmup=1, measure=MEMORY)
    result = runner.run(bench, None, type("P", (), {"update": lambda self, n: None})())
    cpu, gpu = result.contenders
    assert cpu.status == RAN and all(s >= 8 * 2**20 for s in cpu.samples)
    assert gpu.status == SKIPPED and gpu.reason == "no GPU here"


# --- targets and sweeps, on made-up results ------------------------------------------------------------------

def _result(name, medians, params=None, device="cpu"):
    labels = {TOPOGRAD: f"topograd {device}", FLOOR: "numpy floor", TORCH: f"torch {device}"}
    contenders = []
    for kind, median in medians.items():
        r = ContenderResult(_contender(labels[kind], kind, None, device))
        if median is None:
            r.status, r.reason = SKIPPED, "PyTorch is not installed"
        else:
            r.samples = [median]
        contenders.append(r)
    bench = Benchmark(name, name, [r.contender for r in contenders], metrics.time_per_call(), params=params or {})
    return BenchmarkResult(bench, contenders)


def test_targets_report_met_short_and_not_applicable():
    suite = SuiteResult(Settings(), {}, [
        _result("training/mlp-b64", {TOPOGRAD: 1.05, FLOOR: 1.0, TORCH: 2.0}),
        _result("training/mlp-b512", {TOPOGRAD: 1.2, FLOOR: 1.0, TORCH: 2.0}),
        _result("overhead/chain-forward-backward", {TOPOGRAD: 1.0, FLOOR: 0.1, TORCH: None}),
        _result("overhead/deep-chain", {TOPOGRAD: 1.0, FLOOR: 0.1, TORCH: 2.0}, params={"ops": 2002}),
    ])
    found = {t.target.key: t for t in targets.evaluate(suite)}
    assert found["mlp-b64"].status == targets.MET and found["mlp-b64"].ratio == pytest.approx(1.05)
    assert found["mlp-b512"].status == targets.SHORT and found["mlp-b512"].ratio == pytest.approx(1.2)
    assert found["per-op-overhead"].status == targets.NA and "not installed" in found["per-op-overhead"].detail
    assert found["deep-chain"].status == targets.NA and "2002" in found["deep-chain"].detail
    assert found["cnn-b64"].status == targets.NA and "not run" in found["cnn-b64"].detail
    assert found["gpu-mlp-b512"].status == targets.NA and "--device cuda" in found["gpu-mlp-b512"].detail


def test_sweep_crossover_is_the_batch_from_which_the_gpu_stays_faster():
    results = []
    cpu_times = {1: 1.0, 2: 1.5, 4: 2.0, 8: 3.0}
    gpu_times = {1: 5.0, 2: 1.0, 4: 3.0, 8: 2.0}  # faster at 2, slower at 4, faster from 8 on
    for batch in cpu_times:
        contenders = []
        for device, times in (("cpu", cpu_times), ("cuda", gpu_times)):
            r = ContenderResult(_contender(f"topograd {device}", TOPOGRAD, None, device))
            r.samples = [times[batch]]
            contenders.append(r)
        bench = Benchmark(f"sweep/mlp-b{batch}", "", [r.contender for r in contenders],
                          metrics.time_per_item(batch, "sample"), params={"model": "mlp", "batch": batch})
        results.append(BenchmarkResult(bench, contenders))
    (mlp,) = sweeps.analyse(results)
    assert mlp["curves"]["topograd cpu"] == [[1, 1.0], [2, 0.75], [4, 0.5], [8, 0.375]]
    assert mlp["crossover"]["topograd"]["batch"] == 8
    assert mlp["crossover"]["torch"]["batch"] is None and mlp["crossover"]["torch"]["note"].startswith("n/a")


# --- the floors compute what topograd and PyTorch compute ---------------------------------------------------

def _torch_loss_and_grads(torch, spec, weights, x, labels):
    model = spec.build(torch.nn)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(labels))
    loss.backward()
    return loss.item(), {k: p.grad.numpy() for k, p in model.named_parameters()}


def _topograd_loss_and_grads(spec, weights, x, labels):
    import autograd as ag
    try:
        nn = importlib.import_module("nn")
        functional = importlib.import_module("nn.functional")
        model = spec.build(nn)
        cross_entropy = functional.cross_entropy
    except (ImportError, AttributeError) as exc:
        pytest.skip(f"the topograd side is not there yet: {exc}")
    model.load_state_dict(weights)
    loss = cross_entropy(model(ag.tensor(x)), ag.tensor(labels))
    loss.backward()
    return loss.item(), {k: p.grad.numpy() for k, p in model.named_parameters()}


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_floor_training_step_matches_pytorch(kind, torch):
    spec = SPECS[kind]
    weights, (x, labels) = spec.weights(), spec.batch_data()
    loss, grads = spec.floor(np, {k: v.copy() for k, v in weights.items()}).loss_and_grads(x, labels)
    torch_loss, torch_grads = _torch_loss_and_grads(torch, spec, weights, x, labels)
    assert float(loss) == pytest.approx(torch_loss, rel=1e-5)
    assert set(grads) == set(torch_grads)
    for name in grads:
        np.testing.assert_allclose(grads[name], torch_grads[name], **TOL, err_msg=name)


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_floor_training_step_matches_topograd(kind, device):
    spec = SPECS[kind]
    weights, (x, labels) = spec.weights(), spec.batch_data()
    loss, grads = spec.floor(np, {k: v.copy() for k, v in weights.items()}).loss_and_grads(x, labels)
    topograd_loss, topograd_grads = _topograd_loss_and_grads(spec, weights, x, labels)
    assert float(loss) == pytest.approx(topograd_loss, rel=1e-5)
    for name in grads:
        np.testing.assert_allclose(grads[name], topograd_grads[name], **TOL, err_msg=name)


def test_floor_sgd_step_updates_parameters_like_pytorch(torch):
    spec = SPECS["mlp"]
    weights, (x, labels) = spec.weights(), spec.batch_data()
    floor = spec.floor(np, {k: v.copy() for k, v in weights.items()})
    floor.step(x, labels, lr=0.1)
    model = spec.build(torch.nn)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    torch.nn.functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(labels)).backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(floor.params[name], p.detach().numpy(), **TOL, err_msg=name)
        assert not np.allclose(floor.params[name], weights[name])  # it did move


def test_floor_adam_matches_pytorch_and_topograd(torch, device):
    rng = np.random.default_rng(3)
    shapes = ((7, 5), (5,))
    values = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(4)]
    floor = AdamFloor(np, [v.copy() for v in values], lr=0.01)
    reference = [torch.nn.Parameter(torch.from_numpy(v.copy())) for v in values]
    torch_adam = torch.optim.Adam(reference, lr=0.01)
    for step in grads:
        floor.step(step)
        for p, g in zip(reference, step):
            p.grad = torch.from_numpy(g)
        torch_adam.step()
    for mine, theirs in zip(floor.params, reference):
        np.testing.assert_allclose(mine, theirs.detach().numpy(), **TOL)

    import autograd as ag
    import nn
    optim = importlib.import_module("nn.optim")
    params = [nn.Parameter(ag.tensor(v)) for v in values]
    adam = optim.Adam(params, lr=0.01)
    for step in grads:
        for p, g in zip(params, step):
            p.grad = ag.tensor(g)
        adam.step()
    for mine, theirs in zip(floor.params, params):
        np.testing.assert_allclose(mine, theirs.numpy(), **TOL)


def test_floor_chain_matches_pytorch_and_topograd(torch, device):
    import autograd as ag
    x0, a0, b0 = chain_inputs()
    value, tape = floor_chain.forward(np, x0, a0, b0, CHAIN_CYCLES)
    grad = floor_chain.backward(np, tape, a0)
    # The gradient has shrunk through the chain to 5e-19 at most: TOL's atol would pass any tiny one.
    grad_tol = dict(rtol=1e-3, atol=1e-6 * np.abs(grad).max())

    x = ag.tensor(x0, requires_grad=True)
    out = tensor_chain(x, ag.tensor(a0), ag.tensor(b0), CHAIN_CYCLES)
    out.backward()
    assert out.item() == pytest.approx(float(value), rel=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), grad, **grad_tol)

    tx = torch.tensor(x0, requires_grad=True)
    tout = tensor_chain(tx, torch.from_numpy(a0), torch.from_numpy(b0), CHAIN_CYCLES)
    tout.backward()
    assert tout.item() == pytest.approx(float(value), rel=1e-5)
    np.testing.assert_allclose(tx.grad.numpy(), grad, **grad_tol)


def test_floor_conv2d_matches_pytorch(torch):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
    weight = rng.standard_normal((4, 3, 3, 2)).astype(np.float32)
    bias = rng.standard_normal(4).astype(np.float32)
    gy = rng.standard_normal((2, 4, 5, 5)).astype(np.float32)
    x_cnhw = np.ascontiguousarray(x.transpose(1, 0, 2, 3))  # the floor's (C, N, H, W) layout
    y, cols = conv2d_forward(np, x_cnhw, weight, bias)
    gx, gw, gb = conv2d_backward(np, np.ascontiguousarray(gy.transpose(1, 0, 2, 3)), cols, x_cnhw.shape, weight)

    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, weight, bias))
    ty = torch.nn.functional.conv2d(tx, tw, tb)
    ty.backward(torch.from_numpy(gy))
    np.testing.assert_allclose(y.transpose(1, 0, 2, 3), ty.detach().numpy(), **TOL)
    np.testing.assert_allclose(gx.transpose(1, 0, 2, 3), tx.grad.numpy(), **TOL)
    np.testing.assert_allclose(gw, tw.grad.numpy(), **TOL)
    np.testing.assert_allclose(gb, tb.grad.numpy(), **TOL)


def test_floor_max_pool_sends_the_gradient_to_the_first_maximum_like_pytorch(torch):
    rng = np.random.default_rng(6)
    x = rng.integers(0, 3, (2, 3, 7, 5)).astype(np.float32)  # many ties, and rows/columns left over
    gy = rng.standard_normal((2, 3, 3, 2)).astype(np.float32)
    y = max_pool2d_forward(np, x, 2)
    gx = max_pool2d_backward(np, gy, x, y, 2)

    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.max_pool2d(tx, 2)
    ty.backward(torch.from_numpy(gy))
    np.testing.assert_array_equal(y, ty.detach().numpy())
    np.testing.assert_allclose(gx, tx.grad.numpy(), **TOL)


def test_page_fault_probe_times_and_counts_each_contender():
    from benchmarks import page_faults
    spec = ModelSpec("mlp", 4, (8, 6, 5, 10))
    results = page_faults.measure(spec, ["topograd", "floor"], rounds=2, calls=1)
    assert set(results) == {"topograd", "floor"}
    for ms, faults in results.values():
        assert ms > 0 and faults >= 0
    adam = page_faults.measure(page_faults.setups("adam"), ["topograd", "floor"], rounds=1, calls=1)
    assert set(adam) == {"topograd", "floor"} and all(ms > 0 for ms, _ in adam.values())


HEAP_FAULTS = """
import resource, sys
from benchmarks import heap, training_step
from benchmarks.models import ModelSpec
if sys.argv[1] == "kept":
    assert heap.keep_freed_memory()["applied"]
step = training_step.floor_step(ModelSpec("cnn", 64), "cpu").call
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5)
"""


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt")
def test_suite_heap_setting_spares_the_floor_page_faults_topograds_pool_spares_it():
    """The NumPy floor's LeNet step allocates its buffers anew every step; with glibc's
    defaults they come back from the OS as fresh pages (about 2,000 faults a step), which
    topograd's scratch pool never pays. With the suite's heap setting they are reused."""
    def faults(mode):
        done = subprocess.run([sys.executable, "-c", HEAP_FAULTS, mode], cwd=ROOT, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        return float(done.stdout.split()[-1])
    assert faults("kept") < 5
    assert faults("default") > 100  # what the setting is there for (if glibc stops this, drop the setting)


def test_collector_clock_counts_full_passes_apart_from_young_ones():
    import gc

    from benchmarks.gc_share import CollectorClock
    with CollectorClock() as clock:
        gc.collect()
    assert clock.full > 0 and clock.young == 0
    with CollectorClock() as clock:
        gc.collect(0)
    assert clock.full == 0 and clock.young > 0
    assert clock not in gc.callbacks


@pytest.mark.skipif(sys.version_info < (3, 11), reason="CPython before 3.11 gives every node a __dict__ of its own")
def test_gc_share_counts_a_node_per_recorded_op_and_reports_every_row(torch):
    import autograd as ag
    from benchmarks import gc_share
    x0, a0, b0 = chain_inputs()
    # on the CPU, whatever the default device: CuPy's arrays are tracked objects too, NumPy's are not
    x, a, b = ag.tensor(x0, device="cpu", requires_grad=True), ag.tensor(a0, device="cpu"), ag.tensor(b0, device="cpu")
    assert 1.0 <= gc_share.tracked_per_op(x, a, b, 200) < 2.0   # the node, and some ops' saved tuple
    with ag.no_grad():
        assert gc_share.tracked_per_op(x, a, b, 200) < 0.01     # nothing recorded, nothing kept
    out = "\n".join(gc_share.report(rounds=1, cycles=50))
    for row in ("topograd, collector on", "topograd, collector paused", "torch", "objects tracked per recorded op",
                "objects tracked before it (a full pass over them: "):
        assert row in out
    assert gc_share.full_pass_seconds(repeat=1) > 0
    assert "each in a process of its own (topograd's never imports PyTorch): topograd " in \
        gc_share.alone_lines(rounds=1, cycles=20)[0]


# --- the runner's orders when contenders fail, and at the usual repeats ---

def test_runner_with_a_contender_failing_at_setup_alternates_the_rest():
    from benchmarks import metrics, runner
    from benchmarks.benchmark import Benchmark
    from benchmarks.contender import FLOOR, TOPOGRAD, TORCH, Contender, Prepared
    from benchmarks.results import FAILED
    order = []

    def make(name, kind, setup):
        return Contender(name, kind, "cpu", setup)

    def broken():
        raise ValueError("no weights")
    kinds = [TOPOGRAD, FLOOR, TORCH]
    bench = Benchmark("test/setup", "setup fails", [
        make("a", kinds[0], lambda: Prepared(lambda: order.append("a"))),
        make("b", kinds[1], broken),
        make("c", kinds[2], lambda: Prepared(lambda: order.append("c")))],
        metrics.time_per_call(), repeat=4, warmup=0, min_sample_s=0.0, settle=0)
    a, b, c = runner.run(bench, None, type("P", (), {"update": lambda self, n: None})()).contenders
    assert b.status == FAILED and "no weights" in b.reason
    assert order == ["a", "c", "a", "c", "c", "a", "a", "c", "c", "a"]  # calibration, then balanced
    assert len(a.samples) == len(c.samples) == 4


@pytest.mark.parametrize("repeat", [10, 20])
def test_balanced_orders_stay_near_balanced_for_three_contenders_at_the_usual_repeats(repeat):
    """topograd, floor and PyTorch (n=3, six rows) at repeat 10 or 20 (not multiples of 6):
    the rows used should still let each contender follow each other one about equally
    often. Running the three rotations before their three reversals gives counts 4 vs 2."""
    n = 3
    orders = runner.balanced_orders(n)
    rounds = [orders[i % len(orders)] for i in range(repeat)]
    follows = collections.Counter((r[k], r[k + 1]) for r in rounds for k in range(n - 1))
    counts = [follows[(a, b)] for a in range(n) for b in range(n) if a != b]
    assert max(counts) - min(counts) <= 1, follows


# --- the command lines: a mistake in an argument stops with a one-line error (argparse's exit
# status 2, or a message naming the problem) before any timing, never with a traceback

@pytest.mark.parametrize("only", [",", "", " , "])
def test_bench_only_that_names_nothing_is_refused_not_the_whole_suite(only):
    assert_refused(run_module("benchmarks", "--only", only, "--quick"), 2, f"--only {only!r} names no benchmark")


def test_bench_out_into_a_file_is_refused_before_timing(tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("")
    done = run_module("benchmarks", "--quick", "--no-charts", "--only", "overhead/chain-forward-backward",
                "--out", str(taken / "sub"))
    assert_refused(done, 2, f"--out {taken / 'sub'}: cannot create the folder (Not a directory)")
    assert "wrote" not in done.stdout and "median" not in done.stdout  # nothing was timed


def test_gc_share_refuses_zero_rounds_and_runs_tiny():
    assert_refused(run_module("benchmarks.gc_share", "--rounds", "0", "--cycles", "10"), 2,
             "argument --rounds: must be at least 1, got 0")  # was statistics' "no median for empty data"
    assert_refused(run_module("benchmarks.gc_share", "--rounds", "1", "--cycles", "-3"), 2,
             "argument --cycles: must be at least 1, got -3")  # printed a negative count of objects per op
    done = run_module("benchmarks.gc_share", "--rounds", "1", "--cycles", "10")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "build + backward of a 31-op chain" in done.stdout and "objects tracked per recorded op" in done.stdout


# --- python -m benchmarks.gc_share runs without PyTorch (it imported torch unconditionally) -------

# Runs the module as `python -m` would, with PyTorch made unimportable whether or not it is
# installed (a None in sys.modules makes `import torch` raise ImportError).
WITHOUT_TORCH = ("import runpy, sys; sys.modules['torch'] = None; "
                 "sys.argv = ['gc_share', '--rounds', '1', '--cycles', '10']; "
                 "runpy.run_module('benchmarks.gc_share', run_name='__main__')")


def test_gc_share_runs_without_pytorch_and_prints_no_ratio_to_it():
    done = subprocess.run([sys.executable, "-c", WITHOUT_TORCH], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    rows = [line.split()[0:3] for line in lines if line.strip().startswith(("topograd", "torch"))]
    assert rows == [["topograd,", "collector", "on"], ["topograd,", "collector", "paused"]]
    assert "x torch" not in done.stdout
    assert any(line.strip().startswith("objects tracked per recorded op:") for line in lines)
