"""Names in a drawing: nn.Module scopes (``features.0 (Conv2d)``) and leaf
tensors (``features.0.weight``)."""
from ..function import scope_modules
from ..tensor import Tensor


class ModuleNames:
    """Names of nn.Module scopes: each child is named by its key in its parent's
    ``_modules``, and the outermost module (the model) by its class alone."""

    def __init__(self):
        self._names_under = {}  # id(parent) -> {id(module): its dotted name under parent}

    def path(self, modules):
        parts = []
        for parent, child in zip(modules, modules[1:]):
            names = self._names_under.get(id(parent))
            if names is None:  # one walk per parent: a lookup per child would be quadratic in a wide model
                names = self._names_under[id(parent)] = _registered_names(parent)
            parts.append(names.get(id(child)) or type(child).__name__)
        return ".".join(parts)

    def label(self, modules):
        """``features.0 (Conv2d)``; the model itself is just ``Net``."""
        path = self.path(modules)
        cls = type(modules[-1]).__name__
        return f"{path} ({cls})" if path else cls


def _registered_names(parent):
    """id(module) -> its dotted name under ``parent``, for every module registered
    below it: direct children, and those held in containers that forward never
    calls (``layers.0`` of a ModuleList). Breadth first, so the shortest name wins."""
    names = {}
    queue, seen = [("", parent)], {id(parent)}
    for prefix, module in queue:  # the list grows as it is walked: iterative
        for key, m in (getattr(module, "_modules", None) or {}).items():
            if m is None or id(m) in seen:
                continue
            name = names[id(m)] = f"{prefix}{key}"
            seen.add(id(m))
            queue.append((f"{name}.", m))
    return names


def leaf_names(params, graph):
    """id(tensor) -> name: from ``params`` first, then from the modules the ops ran in."""
    names = {}
    models = {}
    for node in graph.nodes:
        modules = scope_modules(node.scope)
        if modules:
            models.setdefault(id(modules[0]), modules[0])
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
