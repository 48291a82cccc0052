"""One benchmark as rows of text, shared by the screen and the Markdown report."""
from ..results import RAN

HEADERS = ("contender", "median", "min", "max", "x floor", "x torch", "samples")


def headers(result, gemm_peak):
    extra = ("% of GEMM peak",) if _peak_for(result, gemm_peak) else ()
    return HEADERS[:-1] + extra + HEADERS[-1:]


def rows(result, gemm_peak):
    """Rows for every contender that ran, then one per contender that did not."""
    metric = result.benchmark.metric
    peak = _peak_for(result, gemm_peak)
    out = []
    for r in result.contenders:
        if r.status != RAN:
            continue
        values = sorted(metric.value(s) for s in r.samples)
        median = metric.value(r.median)
        row = [r.contender.label, number(median), number(values[0]), number(values[-1]),
               ratio(result.ratio_to_floor(r)), ratio(result.ratio_to_torch(r))]
        if peak:
            row.append(f"{100 * median / peak:.0f}%")
        row.append(f"{len(r.samples)}x{r.number}")
        out.append(row)
    return out


def not_run(result):
    """(label, status, reason) of contenders that were skipped or failed."""
    return [(r.contender.label, r.status, r.reason) for r in result.contenders if r.status != RAN]


def title(result):
    bench = result.benchmark
    better = "higher" if bench.metric.higher_is_better else "lower"
    return f"{bench.name}: {bench.title} [{bench.metric.unit}, {better} is better]"


def _peak_for(result, gemm_peak):
    if result.benchmark.metric.unit == "GFLOP/s" and gemm_peak and gemm_peak.get("gflops"):
        return gemm_peak["gflops"]
    return None


def number(x):
    if x is None:
        return "-"
    if x == 0:
        return "0"
    magnitude = abs(x)
    if magnitude >= 1000:
        return f"{x:,.0f}"
    if magnitude >= 100:
        return f"{x:.1f}"
    if magnitude >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def ratio(x):
    return "-" if x is None else f"{x:.2f}x"
