"""Names in a drawing: nn.Module scopes (``features.0 (Conv2d)``) and leaf
tensors (``features.0.weight``)."""
from ..tensor import Tensor


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


def leaf_names(params, graph):
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
