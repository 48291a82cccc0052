"""Graphviz drawings of computation graphs: ``make_dot`` and ``draw``.

A drawing follows the data: leaf tensors (parameters, inputs) feed the ops that
use them, each op feeds its consumers, and every root (a tensor you asked to
draw) hangs at the end. Ops recorded inside an nn.Module call sit in a cluster
named after the module (``features.0 (Conv2d)``), nested as the modules are.
Blocks of identical structure chained one into the next (an RNN cell called at
every step, the steps of a loop inside one module's forward, a stack of identical
layers) fold into one cluster marked ``× n``; a dashed edge shows one feeding the
next.

Nodes never reference their outputs, so an op's output shape is read from its
consumers' edges (or from the root tensor) and its dtype from the node. Every
walk here is iterative, so graphs far deeper than Python's recursion limit draw
fine; a graph with more than ``max_nodes`` boxes is drawn as a summary table.
The ``graphviz`` package is imported only when a drawing is made.
"""
import os
import shutil
from collections import Counter

from .tensor import Tensor

INSTALL_PACKAGE = "pip install 'topograd[viz]'"
INSTALL_DOT = ("`apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) "
               "or `conda install graphviz`")
SOURCE_SUFFIXES = (".gv", ".dot")
RENDER_SUFFIXES = (".svg", ".png", ".pdf")

# A sequential heat scale (ColorBrewer YlOrRd): index 0 is the coolest.
HEAT = ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#bd0026", "#800026")
_DARK_FROM = 6  # heat colours from this index on need white text

_STYLES = {
    "op": {"shape": "box", "style": "rounded,filled", "fillcolor": "#e8edf3", "color": "#60738a"},
    "param": {"shape": "box", "style": "filled", "fillcolor": "#d4efd4", "color": "#3f8f3f"},
    "input": {"shape": "box", "style": "rounded,filled", "fillcolor": "#d6e6fa", "color": "#3c6bb0"},
    "root": {"shape": "box", "style": "filled,bold", "fillcolor": "#ffd9a8", "color": "#c05a00",
             "peripheries": "2"},
    "saved": {"shape": "note", "style": "filled", "fillcolor": "#fff6d5", "color": "#b8992a", "fontsize": "9"},
    "summary": {"shape": "plaintext"},
}
_CLUSTER_FILLS = ("#f6f8fb", "#edf1f7")
_RECURRENT_EDGE = {"style": "dashed", "color": "#c05a00", "fontcolor": "#c05a00", "constraint": "false"}


def _graphviz():
    try:
        import graphviz
    except ImportError as exc:
        raise ImportError("autograd.viz needs the `graphviz` Python package to draw graphs: install it with "
                          f"{INSTALL_PACKAGE} (or `pip install graphviz`)") from exc
    return graphviz


# --- text -------------------------------------------------------------------------------
def format_time(seconds):
    """Like torch.profiler's tables: ``56.000us``, ``1.234ms``, ``2.500s``."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3f}us"
    if seconds < 1:
        return f"{seconds * 1e3:.3f}ms"
    return f"{seconds:.3f}s"


def format_bytes(n):
    """Exact bytes while small, binary units above 10 KiB."""
    if n < 10 * 1024:
        return f"{n:,} B"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}"


def _shape_text(shape):
    return "scalar" if len(shape) == 0 else "×".join(str(d) for d in shape)


def _escape(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _label(title, *lines):
    """An HTML-like label: a bold title over smaller detail lines."""
    parts = [f"<B>{_escape(title)}</B>"]
    parts += [f'<FONT POINT-SIZE="9">{_escape(line)}</FONT>' for line in lines if line]
    return "<" + "<BR/>".join(parts) + ">"


class ModuleNames:
    """Names of nn.Module scopes: each child is named by its key in its parent's
    ``_modules``, and the outermost module (the model) by its class alone."""

    def __init__(self):
        self._child_names = {}

    def path(self, modules):
        parts = []
        for parent, child in zip(modules, modules[1:]):
            key = (id(parent), id(child))
            name = self._child_names.get(key)
            if name is None:
                registered = getattr(parent, "_modules", None) or {}
                name = next((k for k, m in registered.items() if m is child), type(child).__name__)
                self._child_names[key] = name
            parts.append(name)
        return ".".join(parts)

    def label(self, modules):
        """``features.0 (Conv2d)``; the model itself is just ``Net``."""
        path = self.path(modules)
        cls = type(modules[-1]).__name__
        return f"{path} ({cls})" if path else cls


# --- the graph, walked once -----------------------------------------------------------------
class _Graph:
    """Every op node and leaf reachable from the roots, with the edges between them."""

    def __init__(self, roots):
        self.roots = roots
        self.nodes = []        # topological: a node comes after every node it consumes
        self.leaves = []
        self.edges = []        # (producer, output_nr, consumer, slot)
        self.consumers = {}    # id(producer) -> [(consumer, slot)]
        self.out_shapes = {}   # (id(node), output_nr) -> shape
        self.root_nodes = set()
        self._dtype_names = {}
        seen = set()
        for r in roots:
            if r.grad_fn is None:
                if id(r) not in seen:
                    seen.add(id(r))
                    self.leaves.append(r)
                continue
            self.root_nodes.add(id(r.grad_fn))
            self.out_shapes.setdefault((id(r.grad_fn), r._output_nr), tuple(r.data.shape))
            self._visit(r.grad_fn, seen)
        for node in self.nodes:
            for slot, edge in enumerate(node.next_edges):
                if edge is None:
                    continue
                producer, nr, shape = edge
                self.edges.append((producer, nr, node, slot))
                self.consumers.setdefault(id(producer), []).append((node, slot))
                if nr >= 0:
                    self.out_shapes.setdefault((id(producer), nr), tuple(shape))
        self.index = {id(n): i for i, n in enumerate(self.nodes)}

    def _visit(self, start, seen):
        """Iterative depth-first postorder from ``start``."""
        if id(start) in seen:
            return
        seen.add(id(start))
        stack = [(start, 0)]
        while stack:
            node, i = stack[-1]
            edges = node.next_edges
            while i < len(edges):
                edge = edges[i]
                i += 1
                if edge is None or id(edge[0]) in seen:
                    continue
                seen.add(id(edge[0]))
                if edge[1] < 0:
                    self.leaves.append(edge[0])
                    continue
                stack[-1] = (node, i)
                stack.append((edge[0], 0))
                break
            else:
                stack.pop()
                self.nodes.append(node)

    def outputs(self, node):
        """``[(shape, dtype name)]`` for each output of ``node``."""
        if node._out_meta is not None:
            return [(tuple(s), self._dtype_name(node, d)) for s, d in node._out_meta]
        return [(self.out_shapes.get((id(node), 0), ()), self._dtype_name(node, node._out_dtype))]

    def _dtype_name(self, node, native):
        if native is None:
            return "?"
        key = (id(node._backend), native)
        name = self._dtype_names.get(key)
        if name is None:
            name = self._dtype_names[key] = str(node._backend.canonical_dtype(native))
        return name


# --- naming leaves ---------------------------------------------------------------------------
def _leaf_names(params, graph):
    """id(tensor) -> name: from ``params`` first, then from the modules the ops ran in."""
    names = {}
    models = {}
    for node in graph.nodes:
        if node.scope:
            models.setdefault(id(node.scope[0]), node.scope[0])
    for model in models.values():
        for method in ("named_parameters", "named_buffers"):
            named = getattr(model, method, None)
            if named is not None:
                for name, t in named():
                    names.setdefault(id(t), name)
    if params is not None:
        if hasattr(params, "named_parameters"):
            params = params.named_parameters()
        items = list(params.items() if isinstance(params, dict) else params)
        for item in items:
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Tensor)):
                raise TypeError(f"make_dot: params must map names to Tensors (a dict, named_parameters() "
                                f"or a Module), but it holds {item!r:.60}")
        for name, t in items:
            names[id(t)] = str(name)
    return names


# --- module calls, nested as clusters ----------------------------------------------------------
class _Call:
    """One call of a module: the nodes recorded directly in it, and the calls it made.
    A loop body (``loop=True``) is one step of a loop run inside a single call."""

    __slots__ = ("path", "loop", "depth", "content", "nodes", "members", "parent", "children", "fold", "hidden",
                 "signature", "canonical")

    def __init__(self, path, loop=False, content=None):
        self.path = path                    # modules, outermost first
        self.loop = loop
        self.depth = len(path)              # nesting depth of its cluster
        self.content = tuple(map(id, path)) if content is None else content
        self.nodes = []
        self.members = []                   # own nodes and those of every call inside
        self.parent = None
        self.children = []
        self.fold = None                    # the calls a folded cluster stands for
        self.hidden = False
        self.signature = None
        self.canonical = None


def _build_calls(graph):
    """Group nodes by module call and nest the calls.

    A node's scope tuple is created once per module call, so its identity tells
    calls apart; an enclosing call is not recorded, so each call is attached to
    the enclosing module's call that exchanges data with it (or, when that
    module ran no ops of its own, to one cluster standing for it)."""
    calls = {}
    node_call = {}
    for node in graph.nodes:
        scope = node.scope
        if not scope:
            continue
        call = calls.get(id(scope))
        if call is None:
            call = calls[id(scope)] = _Call(scope)
        call.nodes.append(node)
        node_call[id(node)] = call
    own = {}
    by_depth = {}
    for call in calls.values():
        call.members = list(call.nodes)
        own.setdefault(call.content, []).append(call)
        by_depth.setdefault(len(call.path), []).append(call)
    standing_in = {}
    for depth in range(max(by_depth, default=0), 1, -1):
        for call in by_depth.get(depth, ()):
            parent_content = call.content[:-1]
            candidates = own.get(parent_content)
            if not candidates:
                parent = standing_in.get(parent_content)
                if parent is None:
                    parent = standing_in[parent_content] = _Call(call.path[:-1])
                    by_depth.setdefault(depth - 1, []).append(parent)
            elif len(candidates) == 1:
                parent = candidates[0]
            else:
                parent = _exchanging_data(call, candidates, graph, node_call) or candidates[0]
            call.parent = parent
            parent.children.append(call)
            parent.members.extend(call.members)
    # in the order the calls finished: a call's last node comes after those it consumed
    finished = {id(c): max(graph.index[id(n)] for n in c.members)
                for group in by_depth.values() for c in group}
    ordered = sorted((c for group in by_depth.values() for c in group), key=lambda c: finished[id(c)])
    for call in ordered:
        call.children.sort(key=lambda c: finished[id(c)])
    return ordered, node_call


def _exchanging_data(call, candidates, graph, node_call):
    """The candidate call that consumes this call's outputs, else one that feeds it."""
    wanted = {id(c) for c in candidates}
    for node in call.members:
        for consumer, _ in graph.consumers.get(id(node), ()):
            owner = node_call.get(id(consumer))
            if owner is not None and id(owner) in wanted:
                return owner
    for node in call.members:
        for edge in node.next_edges:
            if edge is not None and edge[1] >= 0:
                owner = node_call.get(id(edge[0]))
                if owner is not None and id(owner) in wanted:
                    return owner
    return None


# --- folding repeated blocks ----------------------------------------------------------------------
class _Folding:
    """Which drawn object stands for each folded one (``alias``), and how many it stands for."""

    def __init__(self):
        self.alias = {}        # id(object) -> the object drawn in its place
        self.block = {}        # id(node) -> {chain number: position in that chain}
        self.feeds_chain = {}  # id(object folded as an input of a chain) -> chain number
        self.copies = Counter()
        self.names = {}        # id(drawn leaf) -> names of the leaves it stands for
        self.chains = 0

    def drawn(self, obj):
        return self.alias.get(id(obj), obj)


def _fold_repeats(graph, calls, node_call, names):
    """Fold chained module calls of one structure (outermost first), then loops
    inside single calls, then the inputs that feed each folded copy."""
    folding = _Folding()
    top = [c for c in calls if c.parent is None]
    groups = [top]
    while groups:
        siblings = groups.pop()
        _fold_siblings(siblings, graph, names, folding)
        groups.extend(c.children for c in siblings if not c.hidden and c.children)
    for owner in [c for c in calls if not c.hidden and c.nodes] + [None]:
        nodes = owner.nodes if owner is not None else [n for n in graph.nodes if not n.scope]
        if len(nodes) >= 3:
            calls.extend(_fold_loop(owner, nodes, graph, names, folding, node_call))
    alias, block = folding.alias, folding.block
    for key, stand_in in alias.items():
        # a copy of a block that was folded again inside the representative: point
        # at what is drawn, and take the inner chain positions of what it copies
        entries = block.setdefault(key, {})
        while True:
            for chain, position in block.get(id(stand_in), {}).items():
                entries.setdefault(chain, position)
            if id(stand_in) not in alias:
                break
            stand_in = alias[id(stand_in)]
        alias[key] = stand_in
    if folding.chains:
        _fold_chain_inputs(graph, names, folding)
    return folding


def _fold_siblings(siblings, graph, names, folding):
    """Fold chains of sibling calls with one signature: first calls of one module
    (an unrolled RNN cell), then calls of distinct modules (identical layers)."""
    def grouped(calls, key):
        groups = {}
        for c in calls:
            groups.setdefault(key(c), []).append(c)
        return [g for g in groups.values() if len(g) > 1]

    def by_shape(c):
        return type(c.path[-1]), len(c.members)

    folded = set()
    for group in grouped(siblings, lambda c: (c.content, by_shape(c))):
        for same in grouped(group, lambda c: _signature(c, graph, names)):
            for chain in _chains(same):
                _fold_chain(chain, folding)
                folded.update(id(c) for c in chain)
    rest = [c for c in siblings if id(c) not in folded]
    for group in grouped(rest, by_shape):
        for same in grouped(group, lambda c: _signature(c, graph, names)):
            for chain in _chains(same):
                _fold_chain(chain, folding)


def _signature(call, graph, names):
    """The op structure of a call, blind to names and to what lies outside it;
    also orders its nodes so that equal calls pair node for node."""
    if call.signature is not None:
        return call.signature
    inside = {id(n) for n in call.members}
    depth = len(call.path)
    base = {}
    for node in call.members:
        inner = tuple(type(m).__name__ for m in (node.scope or ())[depth:])
        base[id(node)] = f"{node.name}{graph.outputs(node)}{inner}"
    labels = []
    for node in call.members:
        inputs = []
        for edge in node.next_edges:
            if edge is None:
                inputs.append("ext")
            elif edge[1] < 0:
                name = names.get(id(edge[0]))
                # a parameter is told apart by its attribute name; any other input is outside data
                inputs.append(f"param {name.rsplit('.', 1)[-1]}{tuple(edge[2])}" if name else "ext")
            elif id(edge[0]) in inside:
                inputs.append(f"{base[id(edge[0])]}[{edge[1]}]")
            else:
                inputs.append("ext")
        labels.append((f"{base[id(node)]}<-{inputs}", graph.index[id(node)], node))
    labels.sort(key=lambda item: (item[0], item[1]))
    call.canonical = [node for _, _, node in labels]
    kind = "loop" if call.loop else type(call.path[-1]).__name__
    call.signature = (kind, tuple(label for label, _, _ in labels))
    return call.signature


def _chains(calls):
    """Every run A1 -> A2 -> ... of ``calls`` in which each call feeds only the next one."""
    owner = {}
    for c in calls:
        for node in c.members:
            owner[id(node)] = c
    feeds = {id(c): set() for c in calls}
    fed_by = {id(c): set() for c in calls}
    for c in calls:
        for node in c.members:
            for edge in node.next_edges:
                if edge is not None and edge[1] >= 0:
                    source = owner.get(id(edge[0]))
                    if source is not None and source is not c:
                        feeds[id(source)].add(id(c))
                        fed_by[id(c)].add(id(source))
    by_id = {id(c): c for c in calls}
    following = {}
    for c in calls:
        targets = feeds[id(c)]
        if len(targets) == 1:
            (target,) = targets
            if fed_by[target] == {id(c)}:
                following[id(c)] = by_id[target]
    preceded = {id(c) for c in following.values()}
    chains = []
    for start in calls:
        if id(start) in preceded or id(start) not in following:
            continue
        chain = [start]
        while id(chain[-1]) in following:
            chain.append(following[id(chain[-1])])
        chains.append(chain)
    return chains


def _fold_chain(chain, folding):
    """Draw the first call of ``chain`` for all of them: the others' nodes alias its nodes."""
    number = folding.chains
    folding.chains += 1
    representative = chain[0].canonical
    for position, call in enumerate(chain):
        for node, stand_in in zip(call.canonical, representative):
            folding.block.setdefault(id(node), {})[number] = position
            if position:
                folding.alias[id(node)] = stand_in
        if position:
            hide = [call]
            while hide:  # the calls inside a folded copy are not drawn either
                c = hide.pop()
                c.hidden = True
                hide.extend(c.children)
    chain[0].fold = chain


def _fold_loop(owner, nodes, graph, names, folding, node_call):
    """Fold the steps of a loop run inside one module call (or outside any module),
    such as a recurrent layer stepping through time; returns the loop bodies drawn.

    Each step ends in one node of a "spine": ops of one kind and role, each feeding
    the next step (the hidden state). A node belongs to the first step whose spine
    node it leads to. Of the spines tried, the one whose steps fold over the most
    nodes wins; ties go to a spine whose values also leave the loop (the outputs)."""
    inside = {id(n) for n in nodes}
    kind = {id(n): hash((n.name, str(graph.outputs(n)))) for n in nodes}
    # Two rounds of refinement tell apart ops of one name in different roles. Output
    # numbers stay out: a Split handing one piece to each step gives every step another.
    for _ in range(2):
        kind = {id(n): hash((kind[id(n)], tuple(
            None if e is None or e[1] < 0 or id(e[0]) not in inside else kind[id(e[0])]
            for e in n.next_edges))) for n in nodes}
    kinds = {}
    for n in nodes:
        kinds.setdefault(kind[id(n)], []).append(n)
    spines = sorted((k for k in kinds.values() if len(k) >= 3), key=len, reverse=True)
    best, best_score = None, None
    for spine in spines[:12]:
        step = _steps_along(spine, nodes, graph)
        if step is None:
            continue
        path, content = ((), ()) if owner is None else (owner.path, owner.content)
        bodies = [_Call(path, loop=True, content=content) for _ in spine]
        for n in nodes:
            t = step.get(id(n))
            if t is not None:
                bodies[t].nodes.append(n)
        same = {}
        for body in bodies:
            body.members = body.nodes
            body.depth = 1 if owner is None else owner.depth + 1
            same.setdefault(_signature(body, graph, names), []).append(body)
        chains = [chain for group in same.values() if len(group) > 1 for chain in _chains(group)]
        covered = sum(len(c.nodes) for chain in chains for c in chain[1:])
        exits = sum(1 for h in spine for c, _ in graph.consumers.get(id(h), ()) if id(c) not in inside
                    or step.get(id(c)) is None)
        score = (covered, exits)
        if chains and (best_score is None or score > best_score):
            best, best_score = chains, score
    drawn = []
    for chain in best or ():
        _fold_chain(chain, folding)
        body = chain[0]
        body.parent = owner
        if owner is not None:
            owner.children.append(body)
        for call in chain:
            for n in call.nodes:
                node_call[id(n)] = body if call is body else call
        drawn.append(body)
    return drawn


def _steps_along(spine, nodes, graph):
    """id(node) -> its step: the first spine node it leads to (None when not a loop)."""
    position = {id(h): t for t, h in enumerate(spine)}
    step = {}
    for n in reversed(nodes):  # consumers first
        t = position.get(id(n))
        if t is None:
            for consumer, _ in graph.consumers.get(id(n), ()):
                s = step.get(id(consumer))
                if s is not None and (t is None or s < t):
                    t = s
        if t is not None:
            step[id(n)] = t
    for t, h in enumerate(spine[:-1]):  # a recurrence: each step feeds the next
        if not any(step.get(id(c)) == t + 1 for c, _ in graph.consumers.get(id(h), ())):
            return None
    return step


def _fold_chain_inputs(graph, names, folding):
    """Fold what feeds a folded chain only, one per block (x[t] for each step, or
    each layer's own weights), into what feeds the representative block."""
    alias, block, feeds = folding.alias, folding.block, folding.feeds_chain
    for obj in [*reversed(graph.nodes), *graph.leaves]:
        key = id(obj)
        if key in block or key in graph.root_nodes or any(r is obj for r in graph.roots):
            continue
        chain = stand_in = None
        for consumer, slot in graph.consumers.get(key, ()):
            # the outermost chain a consumer belongs to (outer chains are numbered first)
            number = min(block[id(consumer)]) if id(consumer) in block else feeds.get(id(consumer))
            if number is None or (chain is not None and number != chain):
                break
            chain = number
            edge = alias.get(id(consumer), consumer).next_edges[slot]
            candidate = None if edge is None else edge[0]
            if candidate is None or candidate is obj or (stand_in is not None and candidate is not stand_in):
                break
            stand_in = candidate
        else:
            if stand_in is not None and id(stand_in) not in alias and _alike(obj, stand_in, graph):
                alias[key] = stand_in
                feeds[key] = chain
                folding.copies[id(stand_in)] += 1
                if isinstance(obj, Tensor):
                    folding.names.setdefault(id(stand_in), []).append(names.get(key))


def _alike(a, b, graph):
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return (isinstance(a, Tensor) and isinstance(b, Tensor) and a.shape == b.shape
                and a.dtype == b.dtype)
    return a.name == b.name and graph.outputs(a) == graph.outputs(b)


# --- drawing ------------------------------------------------------------------------------
def make_dot(*roots, params=None, show_saved=False, group_modules=True, collapse_repeats=True,
             max_nodes=500, profile=None, color_by="time", rankdir=None):
    """A ``graphviz.Digraph`` of the graph that computed ``roots``.

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
    graphviz = _graphviz()
    roots = _check_roots(roots)
    if color_by not in ("time", "memory"):
        raise ValueError(f"make_dot: color_by must be 'time' or 'memory', not {color_by!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"make_dot: max_nodes must be a positive int, not {max_nodes!r}")
    if rankdir not in (None, "TB", "LR", "BT", "RL"):
        raise ValueError(f"make_dot: rankdir must be 'TB', 'LR', 'BT' or 'RL', not {rankdir!r}")
    graph = _Graph(roots)
    names = _leaf_names(params, graph)
    modules = ModuleNames()
    calls, node_call = _build_calls(graph) if group_modules else ([], {})
    folding = _fold_repeats(graph, calls, node_call, names) if collapse_repeats and group_modules else _Folding()
    drawn = (sum(1 for n in graph.nodes if id(n) not in folding.alias)
             + sum(1 for t in graph.leaves if id(t) not in folding.alias) + len(roots))
    if drawn > max_nodes:
        return _draw_summary(graphviz, graph, modules, drawn, max_nodes)
    return _Drawing(graphviz, graph, names, modules, calls, node_call, folding, show_saved,
                    profile, color_by, rankdir).graph


def _check_roots(roots):
    flat = []
    for r in roots:
        flat.extend(r if isinstance(r, (list, tuple)) else (r,))
    if not flat:
        raise ValueError("make_dot: pass at least one tensor to draw, e.g. make_dot(loss)")
    for i, r in enumerate(flat):
        if not isinstance(r, Tensor):
            raise TypeError(f"make_dot: root {i} is a {type(r).__name__}, not a Tensor")
    return flat


def _new_graph(graphviz, rankdir):
    return graphviz.Digraph(
        "topograd",
        graph_attr={"rankdir": rankdir, "nodesep": "0.25", "ranksep": "0.3", "fontname": "Helvetica",
                    "fontsize": "11", "labeljust": "l"},
        # ops take the default style, so the most common box needs no attributes of its own
        node_attr={"fontname": "Helvetica", "fontsize": "11", "margin": "0.1,0.03", "height": "0.3",
                   **_STYLES["op"]},
        edge_attr={"color": "#4d5b6b", "arrowsize": "0.6", "fontname": "Helvetica", "fontsize": "9"})


class _Drawing:
    """The full drawing of a graph small enough to read."""

    def __init__(self, graphviz, graph, names, modules, calls, node_call, folding, show_saved,
                 profile, color_by, rankdir):
        self.graph_data = graph
        self.names = names
        self.modules = modules
        self.folding = folding
        self.ids = {}
        drawn_nodes = [n for n in graph.nodes if id(n) not in folding.alias]
        drawn_leaves = [t for t in graph.leaves if id(t) not in folding.alias]
        edges = self._edges()
        g = _new_graph(graphviz, rankdir or self._direction(drawn_nodes, edges))
        self.graph = g
        heat = self._heat(profile, color_by, g)

        # Where each box goes: an op in its call's cluster, a named leaf in the
        # innermost cluster holding all its consumers, anything else at the top.
        place = {}
        for node in drawn_nodes:
            place[id(node)] = node_call.get(id(node))
        for leaf in drawn_leaves:
            if id(leaf) in names:
                place[id(leaf)] = self._common_call(leaf, node_call)
        clusters = {}
        for call in calls:
            if not call.hidden:
                clusters[id(call)] = graphviz.Digraph(name=f"cluster_{len(clusters)}")

        def target(call):
            return g if call is None else clusters[id(call)]

        for node in drawn_nodes:
            self._draw_op(target(place[id(node)]), node, heat, show_saved)
        for leaf in drawn_leaves:
            self._draw_leaf(target(place.get(id(leaf))), leaf)
        for i, root in enumerate(graph.roots):
            name = f"root{i}"
            title = "output" if len(graph.roots) == 1 else f"output {i}"
            g.node(name, _label(title, f"{_shape_text(root.shape)} · {root.dtype}"), **_STYLES["root"])
            source = root if root.grad_fn is None else folding.drawn(root.grad_fn)
            attrs = {}
            if root.grad_fn is not None and root.grad_fn._n_outputs > 1:
                attrs["label"] = f"[{root._output_nr}]"
            g.edge(self.ids[id(source)], name, **attrs)
        for tail, head, attrs in edges:
            g.edge(self.ids[id(tail)], self.ids[id(head)], **attrs)
        self._after_entries(edges, place, drawn_leaves)
        self._nest(calls, clusters, modules)

    # --- boxes ---------------------------------------------------------------------------
    def _id(self, obj, prefix):
        name = self.ids[id(obj)] = f"{prefix}{len(self.ids)}"
        return name

    def _draw_op(self, where, node, heat, show_saved):
        outputs = self.graph_data.outputs(node)
        if len(outputs) == 1:
            detail = f"{_shape_text(outputs[0][0])} · {outputs[0][1]}"
        elif len(set(outputs)) == 1:
            detail = f"{len(outputs)} × {_shape_text(outputs[0][0])} · {outputs[0][1]}"
        else:
            shown = ", ".join(_shape_text(s) for s, _ in outputs[:3]) + (", …" if len(outputs) > 3 else "")
            detail = f"{len(outputs)} outputs: {shown} · {outputs[0][1]}"
        lines = [detail]
        copies = self.folding.copies.get(id(node))
        if copies:
            lines.append(f"× {copies + 1:,}")
        attrs = {}
        if heat is not None:
            value, colour_index = heat.get(id(node), (None, None))
            if value is None:
                lines.append("not profiled")
                attrs.update(fillcolor="#ffffff", style="rounded,filled,dashed")
            else:
                lines.append(value)
                attrs["fillcolor"] = HEAT[colour_index]
                if colour_index >= _DARK_FROM:
                    attrs["fontcolor"] = "white"
        if show_saved and node._released:
            lines.append("saved tensors freed by backward()")
        name = self._id(node, "op")
        where.node(name, _label(node.name, *lines), **attrs)
        if show_saved and node._saved:
            for j, item in enumerate(node._saved):
                text = _saved_text(item, node._backend, node._n_outputs)
                if text is not None:
                    saved = f"{name}_saved{j}"
                    where.node(saved, _label(*text), **_STYLES["saved"])
                    where.edge(saved, name, style="dashed", color="#b8992a", arrowhead="none")

    def _draw_leaf(self, where, leaf):
        name = self.names.get(id(leaf))
        folded_names = self.folding.names.get(id(leaf))
        if name and folded_names and folded_names[-1]:
            name = f"{name} … {folded_names[-1]}"
        grad = "grad: yes" if leaf.grad is not None else "grad: none"
        lines = [f"{_shape_text(leaf.shape)} · {leaf.dtype}", grad]
        copies = self.folding.copies.get(id(leaf))
        if copies:
            lines.append(f"× {copies + 1:,}")
        style = _STYLES["param" if name else "input"]
        where.node(self._id(leaf, "leaf"), _label(name or "input", *lines), **style)

    # --- edges ---------------------------------------------------------------------------
    def _edges(self):
        """(tail, head, attrs) for each drawn edge. Where folding maps copies of edges
        onto one pair of boxes, the pair gets one edge (labelled with the range of
        outputs it stands for); an edge from one folded block into the next loops
        back, dashed."""
        alias, block = self.folding.alias, self.folding.block
        mapped = []
        folded_pairs = set()
        for producer, nr, consumer, slot in self.graph_data.edges:
            tail, head = alias.get(id(producer), producer), alias.get(id(consumer), consumer)
            a, b = block.get(id(producer)), block.get(id(consumer))
            recurrent = a is not None and b is not None and any(b.get(k, p) != p for k, p in a.items())
            key = (id(tail), id(head), recurrent)
            if tail is not producer or head is not consumer:
                folded_pairs.add(key)
            mapped.append((tail, head, recurrent, key, nr if nr >= 0 and producer._n_outputs > 1 else None))
        out = []
        merged = {}  # key of a folded pair -> (its attrs, the output numbers it stands for)
        for tail, head, recurrent, key, nr in mapped:
            attrs = dict(_RECURRENT_EDGE, label="next") if recurrent else {}
            if key in folded_pairs:
                if key in merged:
                    if nr is not None:
                        merged[key][1].add(nr)
                    continue
                merged[key] = (attrs, set() if nr is None else {nr})
            elif nr is not None:
                attrs["label"] = f"[{nr}]"
            out.append((tail, head, attrs))
        for attrs, outputs in merged.values():
            if outputs and not attrs.get("label"):
                low, high = min(outputs), max(outputs)
                attrs["label"] = f"[{low}]" if low == high else f"[{low}…{high}]"
        return out

    def _direction(self, nodes, edges):
        """Top to bottom, so a deep graph scrolls down the page; left to right when the
        graph is far wider than deep, which top to bottom would squeeze to fit a page."""
        incoming = {}
        for tail, head, attrs in edges:
            if attrs.get("constraint") != "false":
                incoming.setdefault(id(head), []).append(id(tail))
        rank = {}
        for node in nodes:  # topological order: producers are ranked first (leaves are rank 0)
            rank[id(node)] = 1 + max((rank.get(t, 0) for t in incoming.get(id(node), ())), default=0)
        depth = 1 + max(rank.values(), default=0)
        width = max(Counter(rank.values()).values(), default=1)
        return "LR" if width > 6 and width >= 3 * depth else "TB"

    # --- clusters --------------------------------------------------------------------------
    def _after_entries(self, edges, place, leaves):
        """Rank a module's parameters below the data entering its cluster (invisible
        edges), so consecutive modules stack instead of stepping sideways."""
        def ancestors(call):
            out = []
            while call is not None:
                out.append(call)
                call = call.parent
            return out

        entries = {}
        for tail, head, attrs in edges:
            if isinstance(tail, Tensor) or attrs.get("constraint") == "false":
                continue
            outer = {id(c) for c in ancestors(place.get(id(tail)))}
            for call in ancestors(place.get(id(head))):
                if id(call) in outer:
                    break
                entries.setdefault(id(call), {})[id(tail)] = tail
        for leaf in leaves:
            call = place.get(id(leaf))
            if call is not None:
                for tail in entries.get(id(call), {}).values():
                    self.graph.edge(self.ids[id(tail)], self.ids[id(leaf)], style="invis")

    def _common_call(self, leaf, node_call):
        """The innermost call that holds every (drawn) consumer of ``leaf``."""
        common = None
        for n, (consumer, _) in enumerate(self.graph_data.consumers.get(id(leaf), ())):
            call = node_call.get(id(self.folding.drawn(consumer)))
            if call is None:
                return None
            if n == 0:
                common = call
                continue
            ancestors = set()
            c = common
            while c is not None:
                ancestors.add(id(c))
                c = c.parent
            while call is not None and id(call) not in ancestors:
                call = call.parent
            common = call
            if common is None:
                return None
        return common

    def _nest(self, calls, clusters, modules):
        """Label every cluster and put it inside its parent's, deepest first."""
        drawn = [c for c in calls if not c.hidden]
        content_calls = Counter(c.content for c in drawn if not c.loop)
        numbers = Counter()
        for call in drawn:
            if call.loop:
                label = f"loop body  × {len(call.fold):,}"
            else:
                label = modules.label(call.path)
                if call.fold:
                    if modules.label(call.fold[-1].path) != label:
                        first, last = modules.path(call.path), modules.path(call.fold[-1].path)
                        label = f"{first} … {last} ({type(call.path[-1]).__name__})"
                    label += f"  × {len(call.fold):,}"
                elif content_calls[call.content] > 1:
                    numbers[call.content] += 1
                    label += f"  #{numbers[call.content]}"
            clusters[id(call)].attr(label=label, labelloc="t", style="rounded,filled", color="#8a9bb0",
                                    fontsize="10", fillcolor=_CLUSTER_FILLS[call.depth % 2],
                                    penwidth="1.5" if call.fold else "1")
        for call in sorted(drawn, key=lambda c: -c.depth):
            parent = self.graph if call.parent is None else clusters[id(call.parent)]
            parent.subgraph(clusters[id(call)])

    # --- profile ---------------------------------------------------------------------------------
    def _heat(self, profile, color_by, g):
        """id(drawn op) -> (its figure as text, heat colour index); folded copies add up."""
        if profile is None:
            return None
        totals = {}
        for node in self.graph_data.nodes:
            stats = profile.node_stats(node)
            if stats is None:
                continue
            value = stats.forward + stats.backward if color_by == "time" else stats.output_bytes
            key = id(self.folding.drawn(node))
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


def _saved_text(item, backend, n_outputs):
    """(title, detail, bytes) for one packed saved item, or None for a saved None."""
    if item is None:
        return None
    kind = item[0]
    if kind == 0:
        title, array = "saved input", item[1].data
    elif kind == 1:
        title, array = "saved output" if n_outputs == 1 else f"saved output {item[1]}", item[2]
    else:
        title, array = "saved array", item[1]
    shape = getattr(array, "shape", None)
    if shape is None:
        return title, type(array).__name__
    dtype = backend.canonical_dtype(array.dtype)
    size = 1
    for d in shape:
        size *= d
    return title, f"{_shape_text(tuple(shape))} · {dtype}", format_bytes(size * dtype.itemsize)


def _draw_summary(graphviz, graph, modules, drawn, max_nodes):
    """Counts per op type and per module, for graphs too large to read as boxes."""
    g = _new_graph(graphviz, "TB")
    ops = Counter(n.name for n in graph.nodes)
    labels = {}
    per_module = Counter()
    for n in graph.nodes:
        scope = n.scope
        if scope:
            label = labels.get(id(scope))
            if label is None:
                label = labels[id(scope)] = modules.label(scope)
        else:
            label = "(outside any module)"
        per_module[label] += 1
    n_edges = len(graph.edges) + len(graph.roots)
    g.node("summary_header", _label(
        f"Graph too large to draw: {drawn:,} boxes (max_nodes={max_nodes:,})",
        f"{len(graph.nodes):,} ops, {len(graph.leaves):,} leaf tensors, {n_edges:,} edges",
        "pass a larger max_nodes=, or draw a smaller part of the graph"), shape="box", style="filled",
        fillcolor="#fff6d5", color="#b8992a")
    g.node("summary_ops", _count_table("ops by type", ops), **_STYLES["summary"])
    g.node("summary_modules", _count_table("ops by module", per_module), **_STYLES["summary"])
    g.edge("summary_header", "summary_ops", style="invis")
    g.edge("summary_header", "summary_modules", style="invis")
    for i, root in enumerate(graph.roots):
        name = f"root{i}"
        g.node(name, _label("output" if len(graph.roots) == 1 else f"output {i}",
                            f"{_shape_text(root.shape)} · {root.dtype}"), **_STYLES["root"])
        g.edge("summary_ops", name)
    return g


def _count_table(title, counts, rows=25):
    cells = [f'<TR><TD COLSPAN="2" BGCOLOR="#e8edf3"><B>{_escape(title)}</B></TD></TR>']
    for name, count in counts.most_common(rows):
        cells.append(f'<TR><TD ALIGN="LEFT">{_escape(name)}</TD><TD ALIGN="RIGHT">{count:,}</TD></TR>')
    if len(counts) > rows:
        rest = sum(c for _, c in counts.most_common()[rows:])
        cells.append(f'<TR><TD ALIGN="LEFT"><I>{len(counts) - rows} more</I></TD>'
                     f'<TD ALIGN="RIGHT">{rest:,}</TD></TR>')
    return ('<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4" COLOR="#8a9bb0">'
            + "".join(cells) + "</TABLE>>")


def draw(root, path, **options):
    """Draw the graph of ``root`` (a tensor or a list of them) to ``path``; the
    suffix picks the format: .gv/.dot (the source; needs no Graphviz program),
    or .svg/.png/.pdf (rendered by Graphviz's ``dot``). Options go to make_dot."""
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in SOURCE_SUFFIXES + RENDER_SUFFIXES:
        raise ValueError(f"draw: cannot tell the format of {path!r} from its suffix; use one of "
                         + ", ".join(SOURCE_SUFFIXES + RENDER_SUFFIXES))
    if suffix in RENDER_SUFFIXES and shutil.which("dot") is None:
        raise RuntimeError(f"draw: writing {suffix} needs Graphviz's `dot` program, which is not on PATH; "
                           f"install it with {INSTALL_DOT}, or write the source to a .gv file instead")
    roots = root if isinstance(root, (list, tuple)) else (root,)
    graph = make_dot(*roots, **options)
    if suffix in SOURCE_SUFFIXES:
        data = graph.source.encode("utf-8")
    else:
        graphviz = _graphviz()
        try:
            data = graph.pipe(format=suffix[1:])
        except graphviz.ExecutableNotFound as exc:
            raise RuntimeError(f"draw: Graphviz's `dot` program could not be run; install it with "
                               f"{INSTALL_DOT}") from exc
    # write beside the target, then rename: a failed draw never leaves half a file
    partial = f"{path}.partial"
    with open(partial, "wb") as f:
        f.write(data)
    os.replace(partial, path)
    return path
