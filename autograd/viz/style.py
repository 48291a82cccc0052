"""How a drawing looks: box and edge styles, graph defaults, the HTML-like labels
every box uses and the plain labels of clusters."""
import re

STYLES = {
    "op": {"shape": "box", "style": "rounded,filled", "fillcolor": "#e8edf3", "color": "#60738a"},
    "param": {"shape": "box", "style": "filled", "fillcolor": "#d4efd4", "color": "#3f8f3f"},
    "input": {"shape": "box", "style": "rounded,filled", "fillcolor": "#d6e6fa", "color": "#3c6bb0"},
    "root": {"shape": "box", "style": "filled,bold", "fillcolor": "#ffd9a8", "color": "#c05a00",
             "peripheries": "2"},
    "saved": {"shape": "note", "style": "filled", "fillcolor": "#fff6d5", "color": "#b8992a", "fontsize": "9"},
    "summary": {"shape": "plaintext"},
}
CLUSTER_FILLS = ("#f6f8fb", "#edf1f7")
RECURRENT_EDGE = {"style": "dashed", "color": "#c05a00", "fontcolor": "#c05a00", "constraint": "false"}


def new_graph(graphviz, rankdir):
    return graphviz.Digraph(
        "topograd",
        graph_attr={"rankdir": rankdir, "nodesep": "0.25", "ranksep": "0.3", "fontname": "Helvetica",
                    "fontsize": "11", "labeljust": "l"},
        # ops take the default style, so the most common box needs no attributes of its own
        node_attr={"fontname": "Helvetica", "fontsize": "11", "margin": "0.1,0.03", "height": "0.3",
                   **STYLES["op"]},
        edge_attr={"color": "#4d5b6b", "arrowsize": "0.6", "fontname": "Helvetica", "fontsize": "9"})


# characters no DOT label can hold (XML 1.0 refuses them in HTML-like labels, and dot
# stops reading a quoted string at a NUL), shown as their Python escapes instead
_UNDRAWABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _drawable(text):
    return _UNDRAWABLE.sub(lambda m: ascii(m.group())[1:-1], str(text))


def html_escape(text):
    return _drawable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain_label(graphviz, text):
    """A quoted DOT label that shows ``text`` as written: DOT reads backslash escapes
    (\\N, \\l) in it, and the graphviz package would pass on a text in <...> as an
    HTML-like label (a class named <Net> drawn as "Net", or one named <a<b> that dot
    cannot read)."""
    return graphviz.nohtml(_drawable(text).replace("\\", "\\\\"))


def html_label(title, *lines):
    """An HTML-like label: a bold title over smaller detail lines."""
    parts = [f"<B>{html_escape(title)}</B>"]
    parts += [f'<FONT POINT-SIZE="9">{html_escape(line)}</FONT>' for line in lines if line]
    return "<" + "<BR/>".join(parts) + ">"
