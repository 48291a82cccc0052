"""``make_dot``: checks its arguments, analyses the graph (names, module calls,
folding), then draws it in full or, past ``max_nodes`` boxes, as a summary."""
from ..tensor import Tensor
from .dependencies import load_graphviz
from .folding import Folding, fold_repeats
from .graph import Graph
from .module_calls import build_calls, unlink_calls
from .names import ModuleNames, leaf_names
from .render import Drawing
from .summary import draw_summary


def make_dot(*roots, params=None, show_saved=False, group_modules=True, collapse_repeats=True,
             max_nodes=500, profile=None, color_by="time", rankdir=None):
    """A ``graphviz.Digraph`` of the graph that computed ``roots`` (tensors, or lists and
    tuples of them at any depth, such as a model's output).

    params: names for leaf tensors (a dict name -> Tensor, ``named_parameters()``,
        or a Module); parameters of the modules the ops ran in are named anyway.
    show_saved: also draw the tensors each op saved for backward, with their bytes.
    group_modules: put the ops of each nn.Module call in a cluster named after it.
    collapse_repeats: fold chained module calls, or loop steps, of identical
        structure into one cluster (needs group_modules).
    max_nodes: past this many boxes, draw a summary (op and module counts) instead.
    profile: an ``autograd.profiler.profile``; ops are coloured on a heat scale by
        their measured forward+backward time (color_by="time") or output bytes
        (color_by="memory").
    rankdir: "TB" or "LR"; by default top to bottom, unless the graph is far wider
        than deep.
    """
    graphviz = load_graphviz()
    roots = _check_roots(roots)
    if color_by not in ("time", "memory"):
        raise ValueError(f"make_dot: color_by must be 'time' or 'memory', not {color_by!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"make_dot: max_nodes must be a positive int, not {max_nodes!r}")
    if profile is not None:
        from ..profiler import profile as profile_type  # (the profiler imports viz)
        if not isinstance(profile, profile_type):
            raise TypeError(f"make_dot: profile must be the autograd.profiler.profile that timed the ops "
                            f"(`with profiler.profile() as prof:`, then profile=prof), not {profile!r:.60}")
    if rankdir not in (None, "TB", "LR", "BT", "RL"):
        raise ValueError(f"make_dot: rankdir must be 'TB', 'LR', 'BT' or 'RL', not {rankdir!r}")
    graph = Graph(roots)
    names = leaf_names(params, graph)
    modules = ModuleNames()
    calls, node_call = build_calls(graph) if group_modules else ([], {})
    try:
        folding = fold_repeats(graph, calls, node_call, names) if collapse_repeats and group_modules else Folding()
        drawn_nodes = [n for n in graph.nodes if id(n) not in folding.alias]
        drawn = len(drawn_nodes) + sum(1 for t in graph.leaves if id(t) not in folding.alias) + len(roots)
        if show_saved:  # a box for each saved tensor too
            drawn += sum(1 for n in drawn_nodes for item in (n._saved or ()) if item is not None)
        if drawn > max_nodes:
            return draw_summary(graphviz, graph, modules, drawn, max_nodes)
        return Drawing(graphviz, graph, names, modules, calls, node_call, folding, show_saved,
                       profile, color_by, rankdir).graph
    finally:
        unlink_calls(calls)


_DONE = object()  # what an exhausted level of nesting gives


def _check_roots(roots):
    """The tensors in ``roots``, in order, out of lists and tuples at any depth (an LSTM
    returns ``(output, (h, c))``); walked with a stack, not recursion."""
    flat = []
    stack = [iter(roots)]
    while stack:
        r = next(stack[-1], _DONE)
        if r is _DONE:
            stack.pop()
        elif isinstance(r, (list, tuple)):
            stack.append(iter(r))
        else:
            flat.append(r)
    if not flat:
        raise ValueError("make_dot: pass at least one tensor to draw, e.g. make_dot(loss)")
    for i, r in enumerate(flat):
        if not isinstance(r, Tensor):
            raise TypeError(f"make_dot: root {i} is a {type(r).__name__}, not a Tensor")
    for r in flat:
        # a view whose base changed in place since is rebased first, as backward does, so
        # the drawing shows the graph backward walks (with the change), not the one it had
        r._fresh()
    return flat
