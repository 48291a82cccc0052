"""The op profiler (autograd.profiler): what it records per op call, its table,
summary and Chrome trace, that nested ops are counted once, that it leaves no
observer behind, and the heat colours it gives graph drawings. No test asserts
on absolute timings; the slow op's forward sleeps far longer than any other op
takes, so only the order between ops is used."""
import gc
import json
import os
import re
import time
import weakref

import numpy as np
import pytest

import autograd as ag
import backends
import nn
from autograd import function, viz
from autograd.profiler import profile
from tests.autograd.wide_models import CountingModules, wide_model
from tests.test_no_reference_cycles import _DoubleInPlace


class Sleepy(ag.Function):
    """Identity whose forward sleeps: clearly the slowest op of any small graph."""

    @staticmethod
    def forward(ctx, x):
        time.sleep(0.03)
        return x.data * 1

    @staticmethod
    def backward(ctx, gy):
        return gy


class Doubled(ag.Function):
    """A forward built from a Tensor op (Mul): that Mul belongs to Doubled's time."""

    @staticmethod
    def forward(ctx, x):
        return (x * 2).data

    @staticmethod
    def backward(ctx, gy):
        return gy * 2


class Block(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(ag.randn(n_out, n_in) * 0.1)
        self.bias = nn.Parameter(ag.zeros(n_out))

    def forward(self, x):
        return (x @ self.weight.T + self.bias).relu()


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = Block(4, 8)
        self.fc2 = Block(8, 2)

    def forward(self, x):
        return self.fc2(self.fc1(x))


def count_nodes(root):
    """Op name -> number of nodes in the graph of ``root``, by an independent walk."""
    counts, seen, queue = {}, {id(root.grad_fn)}, [root.grad_fn]
    while queue:
        node = queue.pop()
        counts[node.name] = counts.get(node.name, 0) + 1
        for edge in node.next_functions:
            if edge[0] is not None and edge[1] >= 0 and id(edge[0]) not in seen:
                seen.add(id(edge[0]))
                queue.append(edge[0])
    return counts


def train_step():
    net = Net()
    x = ag.randn(16, 4)
    with profile() as prof:
        loss = net(x).mean()
        loss.backward()
    return prof, loss


def table_rows(table):
    """Name -> cells of each data row (between the second and third rules)."""
    lines = table.splitlines()
    rules = [i for i, line in enumerate(lines) if set(line.replace(" ", "")) == {"-"}]
    header = lines[rules[0] + 1].split()
    rows = {}
    for line in lines[rules[1] + 1:rules[2]]:
        cells = re.split(r"\s{2,}", line.strip())
        rows[cells[0]] = cells
    return header, rows


# --- what is recorded --------------------------------------------------------------------------------
def test_records_every_op_forward_and_backward(device):
    prof, loss = train_step()
    expected = count_nodes(loss)  # every op of this step recorded a node
    summary = prof.summary()
    calls = {name: row["calls"] for name, row in summary["ops"].items()}
    # the engine also ran SumTo to reduce each bias's broadcast gradient to its shape
    assert calls == {**expected, "SumTo": 2}
    assert {name: row["backward_calls"] for name, row in summary["ops"].items()} == {**expected, "SumTo": 0}
    assert summary["events"] == 2 * sum(expected.values()) + 2
    for event in prof.events:
        assert event.duration >= 0 and event.phase in ("forward", "backward")
    matmuls = [e for e in prof.events if e.name == "MatMul" and e.phase == "forward"]
    assert [e.input_shapes for e in matmuls] == [((16, 4), (4, 8)), ((16, 8), (8, 2))]
    assert [e.output_bytes for e in matmuls] == [16 * 8 * 4, 16 * 2 * 4]
    assert [e.module for e in matmuls] == ["fc1 (Block)", "fc2 (Block)"]
    (mean,) = [e for e in prof.events if e.name == "Mean" and e.phase == "forward"]
    assert mean.module is None and mean.output_bytes == 4


def test_module_rows_add_up(device):
    prof, loss = train_step()
    modules = prof.summary()["modules"]
    assert set(modules) == {"fc1 (Block)", "fc2 (Block)", "(outside any module)"}
    assert modules["fc1 (Block)"]["calls"] == 4  # Transpose, MatMul, Add, Relu
    assert modules["(outside any module)"]["calls"] == 3  # Mean, and the engine's two SumTo
    total = prof.summary()["total_s"]
    assert sum(r["total_s"] for r in modules.values()) == pytest.approx(total)


def test_nested_ops_are_counted_once(device):
    x = ag.randn(3, requires_grad=True)
    with profile() as prof:
        y = Doubled.apply(x).exp().sum()
        y.backward()
    ops = prof.summary()["ops"]
    # Doubled's forward runs a Mul, Exp's backward runs a Mul: both belong to the outer op
    assert set(ops) == {"Doubled", "Exp", "Sum"}
    assert ops["Exp"]["backward_calls"] == 1 and ops["Doubled"]["calls"] == 1
    summary = prof.summary()
    assert sum(r["percent"] for r in ops.values()) == pytest.approx(100.0)
    assert summary["forward_s"] + summary["backward_s"] == pytest.approx(summary["total_s"])


def test_ops_without_grad_are_timed_too(device):
    x = ag.randn(5)
    with profile() as prof:
        (x * 3).sum()
    assert {e.name for e in prof.events} == {"Mul", "Sum"}
    assert all(e.stats is None for e in prof.events)  # no node was recorded


def test_synchronizes_the_backend_around_each_op(device, monkeypatch):
    if backends.get(device).name == "cupy":
        pytest.skip("the CuPy backend is timed with CUDA events instead")
    backend = backends.get(device)
    calls = []
    monkeypatch.setattr(backend, "synchronize", lambda: calls.append(1))
    x = ag.randn(4)
    with profile():
        x.exp().sum()
    assert len(calls) == 4  # before and after each of the two ops


def test_observer_is_removed_even_on_error(device):
    x = ag.randn(3)
    with pytest.raises(ZeroDivisionError):
        with profile():
            x.exp()
            1 / 0
    assert function.observers == []
    prof = profile()
    with prof:
        with pytest.raises(RuntimeError, match="already active"):
            prof.__enter__()
    assert function.observers == []


# --- table, summary, trace ----------------------------------------------------------------------------
def test_table_has_the_columns_and_every_op(device):
    prof, loss = train_step()
    table = prof.table()
    header, rows = table_rows(table)
    assert header == ["Name", "Calls", "Forward", "Backward", "Total", "%", "Total", "Avg/call", "Output"]
    assert set(rows) == set(count_nodes(loss)) | {"SumTo"}
    assert "Profiled total:" in table.splitlines()[-1]
    assert len(table_rows(prof.table(top=2))[1]) == 2
    assert "more rows" in prof.table(top=2)
    by_name = list(table_rows(prof.table(sort_by="name", top=None))[1])
    assert by_name == sorted(by_name)
    with pytest.raises(ValueError, match="sort_by"):
        prof.table(sort_by="speed")
    with pytest.raises(ValueError, match="group_by"):
        prof.table(group_by="layer")


def test_table_matches_summary(device):
    prof, _ = train_step()
    summary = prof.summary()
    header, rows = table_rows(prof.table(top=None))
    for name, cells in rows.items():
        row = summary["ops"][name]
        assert cells[1] == str(row["calls"])
        assert cells[2:5] == [viz.format_time(row["forward_s"]), viz.format_time(row["backward_s"]),
                              viz.format_time(row["total_s"])]
        assert cells[5] == f"{row['percent']:.2f}%"
        assert cells[7] == viz.format_bytes(row["output_bytes"])
    totals = [summary["ops"][name]["total_s"] for name in rows]
    assert totals == sorted(totals, reverse=True)  # sorted by total
    assert sum(r["total_s"] for r in summary["ops"].values()) == pytest.approx(summary["total_s"])
    _, modules = table_rows(prof.table(group_by="module"))
    assert set(modules) == set(summary["modules"])
    events = sum(r["calls"] + r["backward_calls"] for r in summary["ops"].values())
    assert prof.table().splitlines()[-1].endswith(f"in {events} events (forward and backward calls)")


def test_chrome_trace_schema(device, tmp_path):
    prof, _ = train_step()
    path = prof.export_chrome_trace(tmp_path / "trace.json")
    trace = json.loads((tmp_path / "trace.json").read_text())
    assert path == str(tmp_path / "trace.json")
    events = trace["traceEvents"]
    assert len(events) == len(prof.events)
    for e in events:
        assert {"name", "ph", "ts", "dur", "pid", "tid", "args"} <= set(e)
        assert e["ph"] == "X" and e["cat"] in ("forward", "backward")
        assert isinstance(e["ts"], float) and e["ts"] >= 0 and e["dur"] >= 0
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int)
        assert isinstance(e["args"]["input_shapes"], list) and e["args"]["output_bytes"] >= 0
        assert e["name"].endswith(" backward") == (e["cat"] == "backward")
    starts = [e["ts"] for e in events]
    assert starts == sorted(starts)  # recorded in order, one after another
    ends = [e["ts"] + e["dur"] for e in events]
    assert all(end <= nxt + 1e-3 for end, nxt in zip(ends, starts[1:]))



def test_chrome_trace_to_a_folder_or_a_missing_folder_names_it_and_leaves_nothing(device, tmp_path):
    """It raised the OS's error about trace.json.partial, a file the caller never named,
    and, where the target was a folder, left that trace.json.partial behind."""
    prof, _ = train_step()
    (tmp_path / "trace.json").mkdir()
    with pytest.raises(IsADirectoryError, match=r"export_chrome_trace: .*trace\.json' is a folder"):
        prof.export_chrome_trace(tmp_path / "trace.json")
    with pytest.raises(FileNotFoundError, match=r"export_chrome_trace: folder .*missing.* does not exist"):
        prof.export_chrome_trace(tmp_path / "missing" / "trace.json")
    assert [p.name for p in tmp_path.iterdir()] == ["trace.json"]


def test_chrome_trace_takes_a_bytes_path_as_open_does(device, tmp_path):
    """A bytes path failed: FileNotFoundError for "b'.../trace.json'.partial"."""
    prof, _ = train_step()
    written = prof.export_chrome_trace(os.fsencode(tmp_path / "trace.json"))
    assert written == str(tmp_path / "trace.json")
    assert len(json.loads((tmp_path / "trace.json").read_text())["traceEvents"]) == len(prof.events)

# --- heat colours in drawings ---------------------------------------------------------------------------
def fill_of(source, title):
    (line,) = [ln for ln in source.splitlines() if f"<B>{title}</B>" in ln]
    match = re.search(r'fillcolor="(#[0-9a-f]{6})"', line)
    return match.group(1) if match else None


def test_heat_colours_rise_with_time(device):
    pytest.importorskip("graphviz")
    x = ag.randn(4, 4, requires_grad=True)
    with profile() as prof:
        y = Sleepy.apply(x.tanh()).exp().sum()
        y.backward()
    source = ag.make_dot(y, profile=prof).source
    assert fill_of(source, "Sleepy") == viz.HEAT[-1]
    for title in ("Tanh", "Exp", "Sum"):
        assert viz.HEAT.index(fill_of(source, title)) < len(viz.HEAT) - 1
    sleepy = prof.node_stats(y.grad_fn.next_functions[0][0].next_functions[0][0])  # Sum <- Exp <- Sleepy
    assert sleepy.calls == 1 and sleepy.forward > 0 and sleepy.backward > 0
    assert viz.format_time(sleepy.forward + sleepy.backward) in source


def test_heat_colours_by_memory(device):
    pytest.importorskip("graphviz")
    x = ag.randn(2, requires_grad=True)
    with profile() as prof:
        big = ag.broadcast_to(x, (512, 2))  # 4 KiB, the largest output by far
        y = big.sum() + x.exp().sum()
    source = ag.make_dot(y, profile=prof, color_by="memory").source
    assert fill_of(source, "BroadcastTo") == viz.HEAT[-1]
    assert fill_of(source, "Exp") == viz.HEAT[0]
    assert "4,096 B" in source


def test_ops_recorded_before_profiling_are_marked(device):
    pytest.importorskip("graphviz")
    x = ag.randn(3, requires_grad=True)
    early = x.exp()
    with profile() as prof:
        y = early.sum()
    source = ag.make_dot(y, profile=prof).source
    assert "not profiled" in [ln for ln in source.splitlines() if "<B>Exp</B>" in ln][0]
    assert fill_of(source, "Sum") == viz.HEAT[-1]


def test_device_events_time_ops_on_a_queueing_backend(tmp_path):
    """On a backend that records device events (CUDA events on CuPy), the profiler
    takes each op's time from elapsed_ns(begin, end), not from the wall clock, and
    places it on the device's timeline. A CPU backend that hands out numbered events,
    1 ms of device time apart (far slower than the host queues them), shows it without
    a GPU; in the trace, the ops' device times overlapped the host's next calls."""
    from backends.numpy_backend import NumpyBackend

    class QueueingBackend(NumpyBackend):
        def __init__(self):
            super().__init__(device="cpu")
            self.recorded = 0

        def record_event(self):
            self.recorded += 1
            return self.recorded

        def elapsed_ns(self, begin, end):
            assert end > begin
            return 1_000_000 * (end - begin)

    device = QueueingBackend()
    x = ag.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    with ag.profiler.profile() as prof:
        (x.exp() * 2).sum().backward()
    summary = prof.summary()
    assert device.recorded > 0
    exp_row = summary["ops"]["Exp"]
    assert exp_row["forward_s"] == pytest.approx(1e-3)
    assert exp_row["backward_s"] == pytest.approx(1e-3)
    prof.export_chrome_trace(tmp_path / "trace.json")
    events = json.loads((tmp_path / "trace.json").read_text())["traceEvents"]
    starts = [e["ts"] for e in events]
    assert [b - a for a, b in zip(starts, starts[1:])] == pytest.approx([2e3] * (len(events) - 1))  # µs
    assert all(e["ts"] + e["dur"] <= nxt for e, nxt in zip(events, starts[1:]))


# --- what a review turned up: a second exit, nesting and errors -----------------------------

def test_profile_exited_twice_says_it_is_not_active(device):
    prof = profile()
    with prof:
        (ag.randn(2) * 2).sum()
    with pytest.raises(RuntimeError, match="profile: not active"):
        prof.__exit__(None, None, None)
    assert function.observers == []


def test_nested_profiles_and_errors_leave_no_observer(device, tmp_path):
    x = ag.randn(3, 3, requires_grad=True)
    with pytest.raises(ValueError, match="matmul|shape"):
        with profile() as outer:
            (x * 2).sum().backward()
            with profile() as inner:
                x.exp().sum().backward()
            x @ ag.randn(4, 4)
    assert function.observers == []
    assert [(e.name, e.phase) for e in inner.events] == [("Exp", "forward"), ("Sum", "forward"),
                                                        ("Sum", "backward"), ("Exp", "backward")]
    assert [e.name for e in outer.events] == ["Mul", "Sum", "Sum", "Mul", "Exp", "Sum", "Sum", "Exp"]
    trace = json.loads(open(outer.export_chrome_trace(tmp_path / "trace.json")).read())
    events = trace["traceEvents"]
    assert [e["name"] for e in events] == ["Mul", "Sum", "Sum backward", "Mul backward", "Exp", "Sum",
                                           "Sum backward", "Exp backward"]
    assert all(e["ph"] == "X" and e["dur"] >= 0 and e["ts"] >= 0 for e in events)


# --- module names: one walk per parent -----------------------------------------------------------
def test_profiling_a_wide_model_lists_its_children_once(device):
    """The profiler labels each op's module as drawings do, and was quadratic the same
    way: profiling the forward of 6,000 Linear layers took 10.7 s (0.17 s now)."""
    model = wide_model(40)
    with profile() as prof:
        model(ag.randn(1, 2))
    assert CountingModules.listed == 1
    modules = prof.summary()["modules"]
    assert sorted(modules) == sorted(f"{i} (Linear)" for i in range(40))
    assert all(row["calls"] == 1 for row in modules.values())


def test_the_results_keep_no_module_alive_after_the_block(device):
    """The profile kept every module it labelled (the label cache's keys) for as long as its
    results were kept: a dropped model lived on, parameters and all, beside prof.table()."""
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    with profile() as prof:
        model(ag.randn(2, 3)).sum().backward()
    kept = weakref.ref(model[0].weight)
    gc.collect()
    gc.disable()
    try:
        del model
        assert kept() is None, "the profile kept the model alive"
    finally:
        gc.enable()
    assert {e.module for e in prof.events if e.name == "Linear"} == {"0 (Linear)", "2 (Linear)"}


# --- the profiler's figures per node ----------------------------------------------------------------

def forward_seconds(prof, name):
    return sum(e.duration for e in prof.events if e.name == name and e.phase == "forward") / 1e9


def test_an_op_whose_first_output_takes_no_gradient_has_its_forward_counted(device):
    """Per-node figures (what drawings colour by) went to the node of the first output,
    and slogdet's first output, the sign, is outside the graph: its node showed 0 calls,
    no forward time and no output bytes, only its backward."""
    a = ag.tensor(np.array([[2.0, 1.0], [1.0, 3.0]]), requires_grad=True, dtype="float64")
    with profile() as prof:
        sign, logabsdet = ag.linalg.slogdet(a)
        logabsdet.backward()
    stats = prof.node_stats(logabsdet.grad_fn)
    assert sign.grad_fn is None and stats.calls == 1 and stats.backward_calls == 1
    assert stats.forward == forward_seconds(prof, "Slogdet") > 0
    assert stats.output_bytes == 2 * 8  # two float64 scalars


def test_an_input_changed_in_place_under_no_grad_leaves_its_producer_figures_alone(device):
    """Under no_grad a Function that changes its input in place returns that input, whose
    node is the op that made it: the profiler added the in-place op's time and bytes to
    that node (the Mul below showed 2 calls and twice its bytes)."""
    x = ag.randn(3, requires_grad=True)
    with profile() as prof:
        y = x * 2
        with ag.no_grad():
            _DoubleInPlace.apply(y)
    stats = prof.node_stats(y.grad_fn)
    assert y.grad_fn.name == "Mul" and stats.calls == 1
    assert stats.forward == forward_seconds(prof, "Mul")
    assert stats.output_bytes == y.size * y.dtype.itemsize
    assert [e.name for e in prof.events] == ["Mul", "_DoubleInPlace"]
    np.testing.assert_array_equal(y.numpy(), x.numpy() * 4)
