"""PNG charts (matplotlib, Agg backend, so no display is needed): per family a
bar chart of every contender's median relative to the floor, and per sweep the
time per sample against batch size on log-log axes."""
from ..results import RAN


def draw(suite, folder):
    """Write the charts; returns {family or "sweep-<model>": file name}."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = {}
    families = {}
    for result in suite.benchmarks:
        if result.benchmark.family != "sweep":
            families.setdefault(result.benchmark.family, []).append(result)
    for family, results in families.items():
        name = f"ratios-{family}.png"
        if _ratio_bars(plt, family, results, folder / name):
            written[family] = name
    for sweep in suite.sweeps or ():
        name = f"sweep-{sweep['model']}.png"
        if _sweep_curves(plt, sweep, folder / name):
            written[f"sweep-{sweep['model']}"] = name
    return written


def _ratio_bars(plt, family, results, path):
    labels = []
    for result in results:
        for r in result.contenders:
            if r.status == RAN and r.contender.label not in labels:
                labels.append(r.contender.label)
    if not labels:
        return False
    names = [result.benchmark.name.split("/", 1)[1] for result in results]
    width = 0.8 / len(labels)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(names) + 2), 4.5))
    for i, label in enumerate(labels):
        heights = []
        for result in results:
            r = next((c for c in result.contenders if c.contender.label == label), None)
            value = result.ratio_to_floor(r) if r is not None else None
            heights.append(value if value is not None else float("nan"))  # no bar where it did not run
        ax.bar([j + (i - (len(labels) - 1) / 2) * width for j in range(len(names))], heights, width, label=label)
    ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
    drawn = [h for c in ax.containers for h in c.datavalues if h > 0]
    if drawn and max(drawn) / min(drawn) > 20:  # one slow contender would flatten the others' bars
        ax.set_yscale("log")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("median relative to the floor (lower is better)")
    ax.set_title(f"{family}: time (or bytes) relative to the hand-written floor")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _sweep_curves(plt, sweep, path):
    if not sweep["curves"]:
        return False
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, points in sweep["curves"].items():
        batches = [b for b, _ in points]
        per_sample_us = [s * 1e6 for _, s in points]
        ax.plot(batches, per_sample_us, marker="o", label=label, linestyle="--" if "cuda" in label else "-")
    for kind, crossing in sweep["crossover"].items():
        if crossing["batch"] is not None:
            ax.axvline(crossing["batch"], color="grey", linewidth=0.8, linestyle=":")
            ax.annotate(f"{kind}: GPU from {crossing['batch']}", (crossing["batch"], ax.get_ylim()[1]),
                        fontsize=7, rotation=90, va="top")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size")
    ax.set_ylabel("time per sample (µs)")
    ax.set_title(f"{sweep['model']} SGD step: time per sample vs batch size")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", linewidth=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
