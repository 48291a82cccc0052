"""Graphviz drawings of computation graphs: ``make_dot`` and ``draw``.

A drawing follows the data: leaf tensors (parameters, inputs) feed the ops that
use them, each op feeds its consumers, and every root (a tensor you asked to
draw) hangs at the end. Ops recorded inside an nn.Module call sit in a cluster
named after the module (``features.0 (Conv2d)``), nested as the modules are.
Blocks of identical structure chained one into the next (an RNN cell called at
every step, the steps of a loop inside one module's forward, a stack of identical
layers) fold into one cluster marked ``× n``; a dashed edge shows one feeding the
next. Every walk is iterative, so graphs far deeper than Python's recursion limit
draw fine; a graph with more than ``max_nodes`` boxes is drawn as a summary table.
The ``graphviz`` package is imported only when a drawing is made.

One step per module, in the order a drawing is made:
    graph.py         walk the graph once: ops, leaves, edges, output shapes
    names.py         name modules and leaf tensors
    module_calls.py  group ops by module call, nested as clusters
    folding.py       fold repeated blocks and loop steps
    render.py        the full drawing (boxes, edges, clusters), styled by style.py,
                     coloured from a profile by heat.py
    summary.py       the drawing of a graph too large to read as boxes
    dot_graph.py     make_dot, which runs the steps above
    files.py         draw, which writes a drawing to a file
formatting.py (times, bytes, shapes as text) and dependencies.py (loading graphviz)
serve them all.
"""
from . import files
from .dependencies import INSTALL_DOT, INSTALL_PACKAGE
from .dot_graph import make_dot
from .files import RENDER_SUFFIXES, SOURCE_SUFFIXES, draw
from .formatting import format_bytes, format_time
from .heat import HEAT
from .names import ModuleNames

__all__ = ["make_dot", "draw", "ModuleNames", "format_bytes", "format_time", "HEAT", "INSTALL_PACKAGE",
           "INSTALL_DOT", "SOURCE_SUFFIXES", "RENDER_SUFFIXES"]

# kept reachable as viz.shutil, as before the split: tests hide Graphviz's `dot` by patching viz.shutil.which
shutil = files.shutil
