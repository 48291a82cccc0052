"""Folding repeated blocks: module calls of identical structure chained one into
the next (an RNN cell called at every step, a stack of identical layers), and
the steps of a loop inside one call, are drawn once for all of them; the others
alias the drawn one's boxes."""
from collections import Counter

from ..function import scope_modules
from ..tensor import Tensor
from .module_calls import Call


class Folding:
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


def fold_repeats(graph, calls, node_call, names):
    """Fold chained module calls of one structure (outermost first), then loops
    inside single calls, then the inputs that feed each folded copy."""
    folding = Folding()
    top = [c for c in calls if c.parent is None]
    groups = [top]
    while groups:
        siblings = groups.pop()
        _fold_siblings(siblings, graph, names, folding)
        groups.extend(c.children for c in siblings if not c.hidden and c.children)
    for owner in [c for c in calls if not c.hidden and c.nodes] + [None]:
        nodes = owner.nodes if owner is not None else [n for n in graph.nodes if id(n) not in node_call]
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
        inner = tuple(type(m).__name__ for m in (scope_modules(node.scope) or ())[depth:])
        base[id(node)] = f"{node.name}{graph.outputs(node)}{inner}"
    labels = []
    for node in call.members:
        inputs = []
        for edge in node.next_functions:
            if edge[0] is None:
                inputs.append("ext")
            elif edge[1] < 0:
                name = names.get(id(edge[0]))
                # a parameter is told apart by its attribute name; any other input is outside data
                inputs.append(f"param {name.rsplit('.', 1)[-1]}{tuple(edge[0].shape)}" if name else "ext")
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
            for edge in node.next_functions:
                if edge[0] is not None and edge[1] >= 0:
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
            None if e[0] is None or e[1] < 0 or id(e[0]) not in inside else kind[id(e[0])]
            for e in n.next_functions))) for n in nodes}
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
        bodies = [Call(path, loop=True, content=content) for _ in spine]
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
            candidate = alias.get(id(consumer), consumer).next_functions[slot][0]
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
