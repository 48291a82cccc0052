"""report.md: the run's environment, a table per benchmark, the sweeps with
their crossovers, the charts, and the Targets section."""
from .. import memory
from ..benchmark import MEMORY
from . import table


def render(suite, charts):
    env, s = suite.environment, suite.settings
    gpu = env.get("gpu")
    libs = ", ".join(f"{k} {v}" for k, v in env.get("libraries", {}).items())
    source = env.get("source") or {}
    lines = [f"# topograd benchmarks: {s.device}, {env['created']}", ""]
    if s.quick:
        lines += ["> **Quick run**: tiny sizes and few repeats. It shows the suite works; its numbers are "
                  "not measurements.", ""]
    lines += [
        f"- command: `python -m benchmarks {_arguments(s)}`",
        f"- CPU: {env.get('cpu_model')} ({env.get('usable_cpus')} usable of {env.get('logical_cpus')} logical)",
        f"- GPU: {gpu['name'] if gpu else 'none'}",
        f"- threads: {s.threads} ({_pools(env)})",
        f"- heap: {_heap(env)}",
        f"- libraries: {libs}",
        f"- source: {source.get('commit') or 'unknown'}{' (with local changes)' if source.get('modified') else ''}"
        f"{'; tree ' + source['tree'] if source.get('tree') else ''}",
    ]
    peak = suite.gemm_peak
    if peak and peak.get("gflops"):
        lines.append(f"- GEMM peak: {peak['gflops']:.1f} GFLOP/s ({peak['library']} float32 "
                     f"{peak['size']}x{peak['size']} matmul, best of {len(peak['samples_s'])}); it is the BLAS "
                     "that NumPy/CuPy (and so topograd and the floor) use, so PyTorch, with kernels of its own, "
                     "can pass 100% of it")
    elif peak:
        lines.append(f"- GEMM peak: not measured ({peak.get('error')})")
    if s.device == "cuda":
        lines.append("- PyTorch CUDA runs with TF32 off, so every contender computes in full float32")
    lines += ["", "Ratios are medians over the floor's (or PyTorch's) median on the same device, in time "
              "(bytes for memory): below 1.00x is faster (smaller). Samples are repeats x calls per sample; "
              "contenders ran interleaved.", ""]

    family = None
    for result in suite.benchmarks:
        if result.benchmark.family == "sweep":
            continue
        if result.benchmark.family != family:
            family = result.benchmark.family
            lines += [f"## {family}", ""]
            if family in charts:
                lines += [f"![{family} ratios]({charts[family]})", ""]
        lines += [f"### {table.title(result)}", ""]
        lines += _table(table.headers(result, suite.gemm_peak), table.rows(result, suite.gemm_peak))
        for label, status, reason in table.not_run(result):
            lines.append(f"- {label}: **{status}**: {_escape(reason)}")
        if result.benchmark.measure == MEMORY:
            methods = "; ".join(f"{c.label}: {memory.probe_for(c).method}" for c in result.benchmark.contenders)
            lines.append(f"- counted with {methods} (see benchmarks/memory.py)")
        lines.append("")

    for sweep in suite.sweeps or ():
        lines += _sweep(sweep, charts.get(f"sweep-{sweep['model']}"))

    lines += ["## Targets", "", "| target | limit | measured | status | detail |", "|---|---|---|---|---|"]
    for t in suite.targets or ():
        measured = "-" if t.ratio is None else f"{t.ratio:.2f}x"
        lines.append(f"| {t.target.description} | {t.target.limit:.2f}x | {measured} | **{t.status}** | "
                     f"{_escape(t.detail)} |")
    lines.append("")
    return "\n".join(lines)


def _sweep(sweep, chart):
    labels = list(sweep["curves"])
    batches = sorted({b for points in sweep["curves"].values() for b, _ in points})
    lines = [f"## sweep: {sweep['model']} (time per sample, µs)", ""]
    if chart:
        lines += [f"![{sweep['model']} sweep]({chart})", ""]
    rows = []
    for b in batches:
        row = [str(b)]
        for label in labels:
            value = dict(map(tuple, sweep["curves"][label])).get(b)
            row.append(table.number(None if value is None else value * 1e6))
        rows.append(row)
    lines += _table(["batch", *labels], rows)
    lines += ["", "GPU-over-CPU crossover:", ""]
    lines += [f"- {kind}: {crossing['note']}" for kind, crossing in sweep["crossover"].items()]
    lines.append("")
    return lines


def _table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def _pools(env):
    pools = env.get("threads", {}).get("pools", [])
    described = [f"{p['internal_api']}={p['num_threads']}" for p in pools]
    torch_threads = env.get("threads", {}).get("torch_num_threads")
    if torch_threads is not None:
        described.append(f"torch={torch_threads}")
    return ", ".join(described) or "no pools reported"


def _heap(env):
    heap = env.get("heap") or {}
    if heap.get("applied"):
        return (f"glibc keeps freed memory (mmap threshold {heap['mmap_threshold'] >> 20} MiB, trim threshold "
                f"{heap['trim_threshold'] >> 20} MiB), for every contender alike (benchmarks/heap.py)")
    return f"allocator as the process found it ({heap.get('reason', 'not recorded')})"


def _arguments(s):
    parts = [f"--device {s.device}", f"--threads {s.threads}"]
    if s.quick:
        parts.append("--quick")
    if s.only:
        parts.append(f"--only {','.join(s.only)}")
    if s.repeat:
        parts.append(f"--repeat {s.repeat}")
    return " ".join(parts)


def _escape(text):
    return str(text).replace("|", "\\|").replace("\n", " ")
