"""The drawing of a graph too large to read as boxes: op counts per type and per
module."""
from collections import Counter

from ..function import scope_modules
from .formatting import shape_text
from .style import STYLES, html_escape, html_label, new_graph


def draw_summary(graphviz, graph, modules, drawn, max_nodes):
    """Counts per op type and per module, for graphs too large to read as boxes."""
    g = new_graph(graphviz, "TB")
    ops = Counter(n.name for n in graph.nodes)
    labels = {}
    per_module = Counter()
    for n in graph.nodes:
        scope = n.scope
        label = labels.get(id(scope))
        if label is None:
            in_modules = scope_modules(scope)
            label = labels[id(scope)] = "(outside any module)" if in_modules is None else modules.label(in_modules)
        per_module[label] += 1
    n_edges = len(graph.edges) + len(graph.roots)
    g.node("summary_header", html_label(
        f"Graph too large to draw: {drawn:,} boxes (max_nodes={max_nodes:,})",
        f"{len(graph.nodes):,} ops, {len(graph.leaves):,} leaf tensors, {n_edges:,} edges",
        "pass a larger max_nodes=, or draw a smaller part of the graph"), shape="box", style="filled",
        fillcolor="#fff6d5", color="#b8992a")
    g.node("summary_ops", _count_table("ops by type", ops), **STYLES["summary"])
    g.node("summary_modules", _count_table("ops by module", per_module), **STYLES["summary"])
    g.edge("summary_header", "summary_ops", style="invis")
    g.edge("summary_header", "summary_modules", style="invis")
    for i, root in enumerate(graph.roots):
        name = f"root{i}"
        g.node(name, html_label("output" if len(graph.roots) == 1 else f"output {i}",
                                f"{shape_text(root.shape)} · {root.dtype}"), **STYLES["root"])
        g.edge("summary_ops", name)
    return g


def _count_table(title, counts, rows=25):
    cells = [f'<TR><TD COLSPAN="2" BGCOLOR="#e8edf3"><B>{html_escape(title)}</B></TD></TR>']
    for name, count in counts.most_common(rows):
        cells.append(f'<TR><TD ALIGN="LEFT">{html_escape(name)}</TD><TD ALIGN="RIGHT">{count:,}</TD></TR>')
    if len(counts) > rows:
        rest = sum(c for _, c in counts.most_common()[rows:])
        cells.append(f'<TR><TD ALIGN="LEFT"><I>{len(counts) - rows} more</I></TD>'
                     f'<TD ALIGN="RIGHT">{rest:,}</TD></TR>')
    return ('<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4" COLOR="#8a9bb0">'
            + "".join(cells) + "</TABLE>>")
