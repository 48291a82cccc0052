"""Op colours from a profile: each drawn op is filled on a heat scale by its
measured forward + backward time or its output bytes."""
from .formatting import format_bytes, format_time

# A sequential heat scale (ColorBrewer YlOrRd): index 0 is the coolest.
HEAT = ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#bd0026", "#800026")
_DARK_FROM = 6  # heat colours from this index on need white text


def heat_scale(graph, folding, profile, color_by, g):
    """id(drawn op) -> (its figure as text, heat colour index); folded copies add up.
    Also captions ``g`` with what the colours mean. None without a profile."""
    if profile is None:
        return None
    totals = {}
    for node in graph.nodes:
        stats = profile.node_stats(node)
        if stats is None:
            continue
        value = stats.forward + stats.backward if color_by == "time" else stats.output_bytes
        key = id(folding.drawn(node))
        totals[key] = totals.get(key, 0) + value
    hottest = max(totals.values(), default=0)
    fmt = format_time if color_by == "time" else format_bytes
    heat = {}
    for key, value in totals.items():
        index = 0 if hottest <= 0 else round(value / hottest * (len(HEAT) - 1))
        heat[key] = (fmt(value), index)
    what = "forward + backward time" if color_by == "time" else "output bytes"
    g.attr(label=f"op colour: {what}, from pale (least) to dark red (most: {fmt(hottest)})",
           labelloc="b", fontsize="10")
    return heat


def heat_marking(heat, node):
    """(the line an op's label gains, the op box's attributes) on the heat scale;
    an op the profile never saw is drawn white and dashed."""
    figure, colour_index = heat.get(id(node), (None, None))
    if figure is None:
        return "not profiled", {"fillcolor": "#ffffff", "style": "rounded,filled,dashed"}
    attrs = {"fillcolor": HEAT[colour_index]}
    if colour_index >= _DARK_FROM:
        attrs["fontcolor"] = "white"
    return figure, attrs
