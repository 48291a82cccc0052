"""ParameterList and ParameterDict: parameters held in a list or dict but registered
with the module, so parameters(), state_dict(), to() and optimizers see them (a plain
Python list of Parameters would be invisible to all four)."""
from collections import OrderedDict

from autograd import Tensor

from ..module import Module
from ..parameter import Parameter
from .container import _assigned_index, _index


def _as_parameter(op, value):
    """As PyTorch: a Parameter is kept as it is, a plain Tensor becomes a Parameter
    sharing its memory; anything else is refused (nothing is changed)."""
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value)
    raise TypeError(f"{op}: expected an nn.Parameter or a Tensor, not {type(value).__name__}")


def _describe(param):
    if param is None:  # register_parameter(name, None) on the container: as PyTorch prints it
        return "Object of type: NoneType"
    shape = "x".join(str(n) for n in param.shape) or "()"
    return f"Parameter containing: [{param.dtype} of size {shape} on {param.device}]"


class ParameterList(Module):
    """A list of parameters, registered under the names "0", "1", ... in order."""

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.extend(values)

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def __getitem__(self, index):
        if isinstance(index, slice):
            return type(self)(list(self._parameters.values())[index])
        return self._parameters[str(_index("ParameterList", index, len(self), "parameters"))]

    def __setitem__(self, index, value):
        key = str(_assigned_index("ParameterList", index, len(self), "parameters"))
        self.register_parameter(key, _as_parameter("ParameterList.__setitem__", value))

    def append(self, value):
        self.register_parameter(str(len(self)), _as_parameter("ParameterList.append", value))
        return self

    def extend(self, values):
        if isinstance(values, Tensor) or not hasattr(values, "__iter__"):
            raise TypeError(f"ParameterList.extend: expected an iterable of parameters, not {type(values).__name__}")
        # Every entry is checked before any is added, so a bad one leaves the list as it was.
        params = [_as_parameter(f"ParameterList.extend (entry {i})", v) for i, v in enumerate(values)]
        for param in params:
            self.append(param)
        return self

    def __iadd__(self, values):
        return self.extend(values)

    def forward(self, *args, **kwargs):
        raise RuntimeError("ParameterList is a container and cannot be called; index it and use its parameters")

    def extra_repr(self):
        return "\n".join(f"({i}): {_describe(p)}" for i, p in enumerate(self))


class ParameterDict(Module):
    """An ordered dict of name -> parameter; the names become state_dict keys."""

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key):
        if key not in self._parameters:
            raise KeyError(f"ParameterDict has no parameter {key!r}; it has {list(self._parameters)}")
        return self._parameters[key]

    def __setitem__(self, key, value):
        self.register_parameter(key, _as_parameter("ParameterDict.__setitem__", value))

    def __delitem__(self, key):
        self[key]  # the KeyError that names what there is
        del self._parameters[key]

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters)

    def __contains__(self, key):
        return key in self._parameters

    def keys(self):
        return self._parameters.keys()

    def items(self):
        return self._parameters.items()

    def values(self):
        return self._parameters.values()

    def get(self, key, default=None):
        return self._parameters.get(key, default)

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key):
        param = self[key]
        del self[key]
        return param

    def popitem(self):
        if not self._parameters:
            raise KeyError("ParameterDict.popitem: the dict is empty")
        return self._parameters.popitem()

    def clear(self):
        self._parameters.clear()

    def copy(self):
        """A new ParameterDict holding the same parameters (not copies of them), as PyTorch's."""
        return type(self)(OrderedDict(self._parameters))

    def fromkeys(self, keys, default=None):
        """A new ParameterDict with ``default`` (one parameter, shared) under each of ``keys``."""
        return type(self)([(key, default) for key in keys])

    def __reversed__(self):
        return reversed(list(self._parameters))

    # The dict operators, as PyTorch's: the right-hand side's entries win, in update's order.
    def __or__(self, other):
        merged = self.copy()
        merged.update(other)
        return merged

    def __ror__(self, other):  # dict | ParameterDict: a copy of the left-hand side, of its type
        merged = other.copy()
        merged.update(self)
        return merged

    def __ior__(self, other):
        self.update(other)
        return self

    def update(self, parameters):
        if isinstance(parameters, Tensor) or not hasattr(parameters, "__iter__"):
            raise TypeError(f"ParameterDict.update: expected a mapping or (name, parameter) pairs, "
                            f"not {type(parameters).__name__}")
        if isinstance(parameters, (OrderedDict, ParameterDict)) or not hasattr(parameters, "items"):
            pairs = list(parameters.items() if hasattr(parameters, "items") else parameters)
        else:  # as PyTorch: a plain mapping's keys are taken in sorted order, an ordered one's as they are
            pairs = sorted(parameters.items())
        for pair in pairs:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(f"ParameterDict.update: expected (name, parameter) pairs, got {pair!r}")
        checked = [(name, _as_parameter(f"ParameterDict.update ({name!r})", v)) for name, v in pairs]
        before = OrderedDict(self._parameters)
        try:
            for name, param in checked:
                self.register_parameter(name, param)
        except BaseException:  # a bad name: leave the dict as it was
            self._parameters.clear()
            self._parameters.update(before)
            raise

    def forward(self, *args, **kwargs):
        raise RuntimeError("ParameterDict is a container and cannot be called; index it and use its parameters")

    def extra_repr(self):
        return "\n".join(f"({name}): {_describe(p)}" for name, p in self.items())
