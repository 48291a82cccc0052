"""The graph behind some root tensors, walked once: every op node and leaf, the
edges between them, and each op's output shapes and dtypes (which nodes record,
since they never reference their outputs). The walk is iterative, so graphs far
deeper than Python's recursion limit draw fine."""


class Graph:
    """Every op node and leaf reachable from the roots, with the edges between them."""

    def __init__(self, roots):
        self.roots = roots
        self.nodes = []        # topological: a node comes after every node it consumes
        self.leaves = []
        self.edges = []        # (producer, output_nr, consumer, slot)
        self.consumers = {}    # id(producer) -> [(consumer, slot)]
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
            self._visit(r.grad_fn, seen)
        for node in self.nodes:
            for slot, (producer, nr) in enumerate(node.next_functions):
                if producer is None:
                    continue
                self.edges.append((producer, nr, node, slot))
                self.consumers.setdefault(id(producer), []).append((node, slot))
        self.index = {id(n): i for i, n in enumerate(self.nodes)}

    def _visit(self, start, seen):
        """Iterative depth-first postorder from ``start``."""
        if id(start) in seen:
            return
        seen.add(id(start))
        stack = [(start, start.next_functions, 0)]
        while stack:
            node, edges, i = stack[-1]
            while i < len(edges):
                edge = edges[i]
                i += 1
                if edge[0] is None or id(edge[0]) in seen:
                    continue
                seen.add(id(edge[0]))
                if edge[1] < 0:
                    self.leaves.append(edge[0])
                    continue
                stack[-1] = (node, edges, i)
                stack.append((edge[0], edge[0].next_functions, 0))
                break
            else:
                stack.pop()
                self.nodes.append(node)

    def outputs(self, node):
        """``[(shape, dtype name)]`` for each output of ``node``; the dtype is None for an
        output that is not a tensor (a custom Function may return Python objects too)."""
        if node._out_meta is not None:
            return [(tuple(s), self._dtype_name(node, d)) for s, d in node._out_meta]
        return [(tuple(node._out_shape), self._dtype_name(node, node._out_dtype))]

    def _dtype_name(self, node, native):
        if native is None:
            return None
        key = (id(node._backend), native)
        name = self._dtype_names.get(key)
        if name is None:
            name = self._dtype_names[key] = str(node._backend.canonical_dtype(native))
        return name
