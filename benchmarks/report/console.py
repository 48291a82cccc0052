"""The report on screen: a table per benchmark, the sweeps' crossovers, the targets."""
from . import table


def render(suite):
    lines = [_header(suite), ""]
    for result in suite.benchmarks:
        lines.append(table.title(result))
        head = table.headers(result, suite.gemm_peak)
        body = table.rows(result, suite.gemm_peak)
        widths = [max(len(str(row[i])) for row in [head, *body]) for i in range(len(head))]
        for row in [head, *body]:
            cells = [str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
            lines.append("  " + "  ".join(cells))
        for label, status, reason in table.not_run(result):
            lines.append(f"  {label}: {status}: {reason}")
        lines.append("")
    for sweep in suite.sweeps or ():
        lines.append(f"sweep/{sweep['model']}: GPU-over-CPU crossover per framework")
        for kind, crossing in sweep["crossover"].items():
            lines.append(f"  {kind}: {crossing['note']}")
        lines.append("")
    if suite.targets:
        lines.append("targets")
        for t in suite.targets:
            lines.append(f"  [{t.status:>5}] {t.target.description}: {t.detail}")
    return "\n".join(lines)


def _header(suite):
    env, s = suite.environment, suite.settings
    gpu = env.get("gpu")
    parts = [f"device {s.device}", f"{s.threads} thread(s)", f"CPU {env.get('cpu_model')}",
             f"GPU {gpu['name'] if gpu else 'none'}"]
    peak = suite.gemm_peak
    if peak and peak.get("gflops"):
        parts.append(f"GEMM peak {peak['gflops']:.1f} GFLOP/s ({peak['library']} {peak['size']}^3)")
    elif peak:
        parts.append(f"GEMM peak not measured: {peak.get('error')}")
    if s.quick:
        parts.append("QUICK run (tiny sizes, few repeats: not a measurement)")
    return "topograd benchmarks: " + ", ".join(parts)
