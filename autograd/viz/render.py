"""The full drawing of a graph small enough to read: a box per op and leaf, edges
that follow the data, module calls as nested clusters, and folded blocks drawn
once."""
from collections import Counter

from ..tensor import Tensor
from .formatting import format_bytes, shape_text
from .heat import heat_marking, heat_scale
from .style import CLUSTER_FILLS, RECURRENT_EDGE, STYLES, html_label, new_graph, plain_label


class Drawing:
    """The full drawing of a graph small enough to read."""

    def __init__(self, graphviz, graph, names, modules, calls, node_call, folding, show_saved,
                 profile, color_by, rankdir):
        self.graph_data = graph
        self.names = names
        self.modules = modules
        self.folding = folding
        self.ids = {}
        # a graph on one device is drawn without naming it; one that spans several names
        # the device of every box, so the drawing shows which ops ran where
        devices = ({n._backend.device for n in graph.nodes} | {t.device for t in graph.leaves}
                   | {r.device for r in graph.roots})
        self.show_devices = len(devices) > 1
        drawn_nodes = [n for n in graph.nodes if id(n) not in folding.alias]
        drawn_leaves = [t for t in graph.leaves if id(t) not in folding.alias]
        edges = self._edges()
        g = new_graph(graphviz, rankdir or self._direction(drawn_nodes, edges))
        self.graph = g
        heat = heat_scale(graph, folding, profile, color_by, g)

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
            g.node(name, html_label(title, f"{shape_text(root.shape)} · {root.dtype}{self._on(root.device)}"),
                   **STYLES["root"])
            source = root if root.grad_fn is None else folding.drawn(root.grad_fn)
            attrs = {}
            if root.grad_fn is not None and root.grad_fn._n_outputs > 1:
                attrs["label"] = f"[{root._output_nr}]"
            g.edge(self.ids[id(source)], name, **attrs)
        for tail, head, attrs in edges:
            g.edge(self.ids[id(tail)], self.ids[id(head)], **attrs)
        self._after_entries(edges, place, drawn_leaves)
        self._nest(graphviz, calls, clusters, modules)

    # --- boxes ---------------------------------------------------------------------------
    def _on(self, device):
        """`` · device`` where the graph spans several devices, else nothing."""
        return f" · {device}" if self.show_devices else ""

    def _id(self, obj, prefix):
        name = self.ids[id(obj)] = f"{prefix}{len(self.ids)}"
        return name

    def _draw_op(self, where, node, heat, show_saved):
        lines = [_outputs_text(self.graph_data.outputs(node)) + self._on(node._backend.device)]
        copies = self.folding.copies.get(id(node))
        if copies:
            lines.append(f"× {copies + 1:,}")
        attrs = {}
        if heat is not None:
            figure, attrs = heat_marking(heat, node)
            lines.append(figure)
        if show_saved and node._released:
            lines.append("saved tensors freed by backward()")
        name = self._id(node, "op")
        where.node(name, html_label(node.name, *lines), **attrs)
        if show_saved and node._saved:
            for j, item in enumerate(node._saved):
                text = _saved_text(node, j, item)
                if text is not None:
                    saved = f"{name}_saved{j}"
                    where.node(saved, html_label(*text), **STYLES["saved"])
                    where.edge(saved, name, style="dashed", color="#b8992a", arrowhead="none")

    def _draw_leaf(self, where, leaf):
        name = self.names.get(id(leaf))
        folded_names = self.folding.names.get(id(leaf))
        if name and folded_names and folded_names[-1]:
            name = f"{name} … {folded_names[-1]}"
        if leaf._requires_grad:
            title, state = "input", "grad: yes" if leaf.grad is not None else "grad: none"
        else:  # a root that records no graph: say so, rather than draw it as an input
            title, state = "tensor", "requires_grad=False: no graph recorded"
        lines = [f"{shape_text(leaf.shape)} · {leaf.dtype}{self._on(leaf.device)}", state]
        copies = self.folding.copies.get(id(leaf))
        if copies:
            lines.append(f"× {copies + 1:,}")
        style = STYLES["param" if name else "input"]
        where.node(self._id(leaf, "leaf"), html_label(name or title, *lines), **style)

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
            attrs = dict(RECURRENT_EDGE, label="next") if recurrent else {}
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

    def _nest(self, graphviz, calls, clusters, modules):
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
            clusters[id(call)].attr(label=plain_label(graphviz, label), labelloc="t", style="rounded,filled",
                                    color="#8a9bb0", fontsize="10", fillcolor=CLUSTER_FILLS[call.depth % 2],
                                    penwidth="1.5" if call.fold else "1")
        for call in sorted(drawn, key=lambda c: -c.depth):
            parent = self.graph if call.parent is None else clusters[id(call.parent)]
            parent.subgraph(clusters[id(call)])


def _outputs_text(outputs):
    """The line of an op's box that describes its outputs, ``[(shape, dtype name or None)]``:
    one shape and dtype where the outputs share them, each output's own dtype where they
    differ. A custom Function's outputs that are not tensors (None dtype) have no shape:
    they are named as such, never as 0-d tensors."""
    def one(shape, dtype):
        return "not a tensor" if dtype is None else f"{shape_text(shape)} · {dtype}"

    shown = outputs[:3]
    more = ", …" if len(outputs) > 3 else ""
    if len(outputs) == 1:
        return one(*outputs[0])
    if len({dtype for _, dtype in outputs}) > 1:
        return f"{len(outputs)} outputs: " + ", ".join(one(*o) for o in shown) + more
    if len(set(outputs)) == 1:
        return f"{len(outputs)} × {one(*outputs[0])}"
    return f"{len(outputs)} outputs: " + ", ".join(shape_text(s) for s, _ in shown) + f"{more} · {outputs[0][1]}"


def _saved_text(node, position, item):
    """(title, detail, bytes) for the item saved at ``position``, or None for a saved None."""
    if item is None:
        return None
    outputs = node._saved_outputs or {}
    if type(node._saved) is not tuple:  # packed by saved_tensors_hooks: what pack_hook returned
        title = "packed output" if position in outputs else "packed"
        if isinstance(item, Tensor):
            return title, f"{shape_text(item.shape)} · {item.dtype} on {item.device}"
        return title, type(item).__name__
    if isinstance(item, Tensor):
        title, array = "saved input" if _is_input(node, item) else "saved tensor", item.data
    elif position in outputs:
        nr = outputs[position]
        title, array = "saved output" if node._n_outputs == 1 else f"saved output {nr}", item
    else:
        title, array = "saved array", item
    shape = getattr(array, "shape", None)
    if shape is None:
        return title, type(array).__name__
    dtype = node._backend.canonical_dtype(array.dtype)
    size = 1
    for d in shape:
        size *= d
    return title, f"{shape_text(tuple(shape))} · {dtype}", format_bytes(size * dtype.itemsize)


def _is_input(node, t):
    """Whether ``t``, a tensor ``node`` saved, is one of its inputs. The library's ops save
    tensors only for their inputs (anything else as arrays); a custom forward may save a
    tensor it computed, so there ``t`` must be found among the inputs the node records
    (those that take a gradient; one that takes none is called a saved tensor)."""
    if not node._user_defined:
        return True
    key = (t, -1) if t.grad_fn is None else (t.grad_fn, t._output_nr)
    return t._requires_grad and any(p is key[0] and nr == key[1] for p, nr in node.next_functions)
