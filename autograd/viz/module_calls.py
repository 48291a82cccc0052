"""Module calls: the ops recorded in each nn.Module call, and the calls nested
inside it, which a drawing shows as nested clusters."""
from ..function import scope_modules


class Call:
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


def build_calls(graph):
    """Group nodes by module call and nest the calls.

    A node's scope tuple is created once per module call, so its identity tells
    calls apart; an enclosing call is not recorded, so each call is attached to
    the enclosing module's call that exchanges data with it (or, when that
    module ran no ops of its own, to one cluster standing for it). A node whose
    modules were freed since is drawn outside any module."""
    calls = {}
    node_call = {}
    for node in graph.nodes:
        scope = node.scope
        call = calls.get(id(scope))
        if call is None:
            modules = scope_modules(scope)
            if modules is None:
                continue
            call = calls[id(scope)] = Call(modules)
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
                    parent = standing_in[parent_content] = Call(call.path[:-1])
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


def unlink_calls(calls):
    """Break the links between calls once a drawing is made: a call and its parent
    point at each other, and a folded call's ``fold`` lists itself, so without this
    every drawing would leave the graph's nodes (and what they saved), its modules and
    their parameters alive until Python's cyclic garbage collector runs."""
    for call in calls:
        call.parent = call.fold = None
        call.children = []


def _exchanging_data(call, candidates, graph, node_call):
    """The candidate call that consumes this call's outputs, else one that feeds it."""
    wanted = {id(c) for c in candidates}
    for node in call.members:
        for consumer, _ in graph.consumers.get(id(node), ()):
            owner = node_call.get(id(consumer))
            if owner is not None and id(owner) in wanted:
                return owner
    for node in call.members:
        for edge in node.next_functions:
            if edge[0] is not None and edge[1] >= 0:
                owner = node_call.get(id(edge[0]))
                if owner is not None and id(owner) in wanted:
                    return owner
    return None
