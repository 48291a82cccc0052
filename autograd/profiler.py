"""Time every op: ``with autograd.profiler.profile() as prof: ...``.

While a profile is active it is one of ``autograd.function.observers``, so it
wraps each op's forward call and each node's backward call and records the wall
time, the op's input shapes, the bytes of what it produced and the nn.Module
it ran in. Outside a profile, ops pay only the ``if observers:`` test they
always make.

An op that runs inside another op (a forward built from Tensor ops, or the
Tensor ops a backward runs) is counted as part of the outer op, never twice,
so the rows of ``table()`` add up to the profiled total.

On the CPU the clock is read directly. On a GPU, work is queued, so a clock
read right after a call would measure only the queuing: the CuPy backend is
timed with CUDA events recorded on its stream (read once, when the profile
ends), which also place each op on the device's timeline (in the trace, an op
queued behind a slow one starts when that one ends, not when the host called it),
and any other backend is synchronized before each clock read.
"""
import json
import os
import threading
import time
import weakref

from . import function
from .tensor import Tensor
from .viz import ModuleNames, format_bytes, format_time
from .viz.files import write_whole

SORT_KEYS = ("total", "forward", "backward", "calls", "memory", "name")


class NodeStats:
    """What one graph node cost: seconds in forward and backward, bytes it produced."""
    __slots__ = ("forward", "backward", "output_bytes", "calls", "backward_calls")

    def __init__(self):
        self.forward = self.backward = 0.0
        self.output_bytes = self.calls = self.backward_calls = 0

    def __repr__(self):
        return (f"NodeStats(forward={format_time(self.forward)}, backward={format_time(self.backward)}, "
                f"output_bytes={self.output_bytes})")


class Event:
    """One timed op call; ``start`` and ``duration`` in nanoseconds."""
    __slots__ = ("name", "phase", "start", "duration", "input_shapes", "output_bytes", "module", "thread",
                 "stats", "_device_events")

    def __init__(self, name, phase, module, stats):
        self.name = name
        self.phase = phase                 # "forward" or "backward"
        self.module = module               # label of the innermost module, or None
        self.stats = stats                 # the node's NodeStats, when the op recorded a node
        self.thread = threading.get_ident()
        self.start = self.duration = None
        self.input_shapes = ()
        self.output_bytes = 0
        self._device_events = None

    def __repr__(self):
        return f"<Event {self.name} {self.phase} {format_time((self.duration or 0) / 1e9)}>"


def _nbytes(t):
    return t.size * t.dtype.itemsize


def _backend_of(tensors):
    for t in tensors:
        if isinstance(t, Tensor):
            return t._backend
    return None


class _ThreadState(threading.local):
    # > 0 while this thread is inside a timed op: ops nested in it belong to it. Per
    # thread, so that the ops other threads run meanwhile are still timed.
    depth = 0


class profile:
    """Context manager that records every op call made while it is active."""

    def __init__(self):
        self.events = []
        self._node_stats = weakref.WeakKeyDictionary()  # node -> NodeStats, gone with the graph
        self._thread = _ThreadState()
        self._active = False
        self._origin = None
        self._pending = []        # events timed by CUDA events, not read yet
        self._anchors = {}        # backend -> (its first begin event, that op's host start)
        self._module_names = ModuleNames()
        self._module_labels = {}  # modules of a scope -> label

    def __enter__(self):
        if self._active:
            raise RuntimeError("profile: this profile is already active; use a new profile() to nest one")
        if self._origin is None:
            self._origin = time.perf_counter_ns()
        function.observers.append(self)
        self._active = True
        return self

    def __exit__(self, *exc):
        if not self._active:
            raise RuntimeError("profile: not active; __exit__ is called once per __enter__ (use `with profile():`)")
        function.observers.remove(self)
        self._active = False
        self._resolve()
        # The events hold the labels: the modules they were made from (keys here) would
        # otherwise live, parameters and all, as long as the results are kept.
        self._module_labels = {}
        self._module_names = ModuleNames()

    # --- observer protocol ----------------------------------------------------------------
    def wrap_forward(self, run):
        def timed(cls, args):
            if self._thread.depth:
                return run(cls, args)
            backend = _backend_of(args)
            event = Event(cls.__name__, "forward", self._module_label(function.current_scope()), None)
            earlier = [a.grad_fn for a in args if isinstance(a, Tensor)]
            out = self._time(event, backend, run, cls, args)
            outputs = out if isinstance(out, tuple) else (out,)
            event.input_shapes = tuple(tuple(a.data.shape) for a in args if isinstance(a, Tensor))
            event.output_bytes = sum(_nbytes(t) for t in outputs if isinstance(t, Tensor))
            # The node this call recorded: that of its first output in the graph (the first
            # may take no gradient, as slogdet's sign). An input changed in place under
            # no_grad comes back as an output with the node some earlier op recorded.
            node = next((t.grad_fn for t in outputs if isinstance(t, Tensor) and t.grad_fn is not None), None)
            if node is not None and not any(node is e for e in earlier):
                event.stats = self._stats(node)
                event.stats.calls += 1
                event.stats.output_bytes += event.output_bytes
            self._finish(event)
            return out
        return timed

    def wrap_backward(self, call):
        def timed(node, grads):
            if self._thread.depth:
                return call(node, grads)
            event = Event(node.name, "backward", self._module_label(node.scope), self._stats(node))
            out = self._time(event, node._backend, call, node, grads)
            given = grads if isinstance(grads, (list, tuple)) else (grads,)
            event.input_shapes = tuple(tuple(g.data.shape) for g in given if isinstance(g, Tensor))
            event.output_bytes = sum(_nbytes(g) for g in out if isinstance(g, Tensor))
            event.stats.backward_calls += 1
            self._finish(event)
            return out
        return timed

    # --- timing ------------------------------------------------------------------------------------
    def _time(self, event, backend, fn, *args):
        # A device that queues work (a GPU) hands out timing events; elsewhere the
        # wall clock is exact once the backend is synchronized.
        begin = None if backend is None else backend.record_event()
        if begin is None and backend is not None:
            backend.synchronize()  # a no-op on the CPU
        state = self._thread
        state.depth += 1
        try:
            event.start = time.perf_counter_ns()
            out = fn(*args)
            if begin is not None:
                self._anchors.setdefault(backend, (begin, event.start))
                event._device_events = (backend, begin, backend.record_event())
            else:
                if backend is not None:
                    backend.synchronize()
                event.duration = time.perf_counter_ns() - event.start
        finally:
            state.depth -= 1
        return out

    def _finish(self, event):
        self.events.append(event)
        if event._device_events is not None:
            self._pending.append(event)
        else:
            self._account(event)

    def _account(self, event):
        if event.stats is not None:
            seconds = event.duration / 1e9
            if event.phase == "forward":
                event.stats.forward += seconds
            else:
                event.stats.backward += seconds

    def _resolve(self):
        """Read the CUDA events of GPU ops: one wait for the device, at the end."""
        pending, self._pending = self._pending, []
        for event in pending:
            backend, begin, end = event._device_events
            event.duration = backend.elapsed_ns(begin, end)
            # the device's clock from the first op it ran here: the host's at a call is only
            # when the op was queued, and its device time would overlap the next op's call
            anchor, anchor_start = self._anchors[backend]
            event.start = anchor_start + (0 if begin is anchor else backend.elapsed_ns(anchor, begin))
            event._device_events = None
            self._account(event)

    def _stats(self, node):
        stats = self._node_stats.get(node)
        if stats is None:
            stats = self._node_stats[node] = NodeStats()
        return stats

    def _module_label(self, scope):
        modules = function.scope_modules(scope)
        if modules is None:
            return None
        label = self._module_labels.get(modules)
        if label is None:
            label = self._module_labels[modules] = self._module_names.label(modules)
        return label

    # --- results --------------------------------------------------------------------------------
    def node_stats(self, node):
        """The NodeStats measured for a graph node, or None if it was not profiled."""
        self._resolve()
        return self._node_stats.get(node)

    def summary(self):
        """The numbers of ``table()`` as a dict: per op and per module, in seconds."""
        self._resolve()
        ops, modules = {}, {}
        totals = {"forward": 0.0, "backward": 0.0}
        for event in self.events:
            seconds = event.duration / 1e9
            totals[event.phase] += seconds
            for table, key in ((ops, event.name), (modules, event.module or "(outside any module)")):
                row = table.get(key)
                if row is None:
                    row = table[key] = {"calls": 0, "backward_calls": 0, "forward_s": 0.0, "backward_s": 0.0,
                                        "output_bytes": 0}
                if event.phase == "forward":
                    row["calls"] += 1
                    row["forward_s"] += seconds
                    row["output_bytes"] += event.output_bytes
                else:
                    row["backward_calls"] += 1
                    row["backward_s"] += seconds
        total = totals["forward"] + totals["backward"]
        for table in (ops, modules):
            for row in table.values():
                row["total_s"] = row["forward_s"] + row["backward_s"]
                row["percent"] = 100.0 * row["total_s"] / total if total > 0 else 0.0
        return {"total_s": total, "forward_s": totals["forward"], "backward_s": totals["backward"],
                "events": len(self.events), "ops": ops, "modules": modules}

    def table(self, sort_by="total", top=20, group_by="op"):
        """A text table in the style of torch.profiler's ``key_averages().table()``:
        one row per op (or per module, with group_by="module")."""
        if sort_by not in SORT_KEYS:
            raise ValueError(f"table: sort_by must be one of {', '.join(SORT_KEYS)}, not {sort_by!r}")
        if group_by not in ("op", "module"):
            raise ValueError(f"table: group_by must be 'op' or 'module', not {group_by!r}")
        if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
            raise ValueError(f"table: top must be a positive int or None, not {top!r}")
        summary = self.summary()
        rows = summary["ops" if group_by == "op" else "modules"]
        if sort_by == "name":
            order = sorted(rows)
        else:
            field = {"total": "total_s", "forward": "forward_s", "backward": "backward_s", "calls": "calls",
                     "memory": "output_bytes"}[sort_by]
            order = sorted(rows, key=lambda k: (-rows[k][field], k))
        shown = order if top is None else order[:top]
        header = ("Name" if group_by == "op" else "Module", "Calls", "Forward", "Backward", "Total", "% Total",
                  "Avg/call", "Output")
        lines = []
        for key in shown:
            r = rows[key]
            calls = max(r["calls"], r["backward_calls"])
            lines.append((key, str(r["calls"]), format_time(r["forward_s"]), format_time(r["backward_s"]),
                          format_time(r["total_s"]), f"{r['percent']:.2f}%",
                          format_time(r["total_s"] / calls if calls else 0.0), format_bytes(r["output_bytes"])))
        widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
        rule = "  ".join("-" * w for w in widths)

        def fmt(row):
            return "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))

        out = [rule, fmt(header), rule, *map(fmt, lines), rule]
        if len(shown) < len(order):
            out.append(f"({len(order) - len(shown)} more rows; pass top=None to see all)")
        out.append(f"Profiled total: {format_time(summary['total_s'])} "
                   f"(forward {format_time(summary['forward_s'])}, backward {format_time(summary['backward_s'])}) "
                   f"in {summary['events']} events (forward and backward calls)")
        return "\n".join(out)

    def export_chrome_trace(self, path):
        """Write the events as Chrome trace JSON, for chrome://tracing or ui.perfetto.dev."""
        self._resolve()
        pid = os.getpid()
        events = []
        for event in self.events:
            args = {"input_shapes": [list(s) for s in event.input_shapes], "output_bytes": event.output_bytes}
            if event.module is not None:
                args["module"] = event.module
            events.append({"name": event.name if event.phase == "forward" else f"{event.name} backward",
                           "cat": event.phase, "ph": "X", "ts": (event.start - self._origin) / 1e3,
                           "dur": event.duration / 1e3, "pid": pid, "tid": event.thread, "args": args})
        data = json.dumps({"traceEvents": events, "displayTimeUnit": "ms"}).encode("utf-8")
        return write_whole("export_chrome_trace", os.fsdecode(path), data)
