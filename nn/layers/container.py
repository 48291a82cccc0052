"""Containers: Sequential (indexable, sliceable), ModuleList, ModuleDict, and Identity."""
from collections import OrderedDict

from ..module import Module, _indent


def _index(op, index, n, what="modules"):
    if isinstance(index, bool) or not hasattr(index, "__index__"):
        raise TypeError(f"{op}: indices must be integers or slices, not {type(index).__name__}")
    index = index.__index__()
    if not -n <= index < n:
        raise IndexError(f"{op}: index {index} is out of range for {n} {what}")
    return index % n


def _assigned_index(op, index, n, what="modules"):
    """An index assigned to (``c[i] = m``): one entry at a time, as PyTorch's, so a slice is refused."""
    if isinstance(index, slice):
        raise TypeError(f"{op}: assignment takes one integer index, not a slice; assign the entries one by one")
    return _index(op, index, n, what)


def _checked_modules(op, modules):
    """``modules`` as a list, refused whole if any entry is not a Module (or None), so a bad
    entry never leaves the container half-extended."""
    modules = list(modules)
    for i, module in enumerate(modules):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{op}: entry {i} is a {type(module).__name__}, not a Module; nothing was added")
    return modules


def _repeats(times):
    if isinstance(times, bool) or not isinstance(times, int):
        raise TypeError(f"Sequential can be multiplied only by an int, not {type(times).__name__}")
    if times < 1:
        raise ValueError(f"Sequential can be multiplied only by a positive int, not {times}")
    return times


class _NumberedModules(Module):
    """What Sequential and ModuleList share: modules in order, indexable like a list,
    renumbered "0".."n-1" after a removal or insertion, as PyTorch does."""

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def _at(self, index):
        return list(self._modules.values())[_index(type(self).__name__, index, len(self))]

    def __delitem__(self, index):
        keys = list(self._modules)
        doomed = keys[index] if isinstance(index, slice) else [keys[_index(type(self).__name__, index, len(keys))]]
        for key in doomed:
            del self._modules[key]
        self._renumber(list(self._modules.values()))

    def _renumber(self, modules):
        self._modules.clear()
        for i, m in enumerate(modules):
            self.add_module(str(i), m)

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def insert(self, index, module):
        name = type(self).__name__
        if not isinstance(module, Module):
            raise TypeError(f"{name}.insert: expected a Module, not {type(module).__name__}")
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"{name}.insert: index {index} is out of range for {n} modules")
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._renumber(modules)
        return self

    def pop(self, index=-1):
        module = self[index]
        del self[index]
        return module


class Sequential(_NumberedModules):
    """Calls its modules in order, each on the previous one's output. Built from
    modules (named "0", "1", ...) or from an OrderedDict of name -> module."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input

    def __getitem__(self, index):
        if isinstance(index, slice):
            return type(self)(OrderedDict(list(self._modules.items())[index]))
        return self._at(index)

    def __setitem__(self, index, module):
        key = list(self._modules)[_assigned_index("Sequential", index, len(self))]
        self.add_module(key, module)

    def extend(self, modules):
        for module in _checked_modules("Sequential.extend", modules):
            self.append(module)
        return self

    def __add__(self, other):
        if not isinstance(other, Sequential):
            return NotImplemented
        return Sequential(*self, *other)

    def __iadd__(self, other):
        """In place, as PyTorch: ``s += other`` keeps ``s`` (and whoever holds it)."""
        if not isinstance(other, Sequential):
            return NotImplemented
        return self.extend(list(other))

    def __mul__(self, times):
        """``s * n``: a new Sequential holding s's modules n times over (the same modules,
        so their parameters are shared), as PyTorch's."""
        return Sequential(*(list(self) * _repeats(times)))

    __rmul__ = __mul__

    def __imul__(self, times):
        return self.extend(list(self) * (_repeats(times) - 1))


class ModuleList(_NumberedModules):
    """A list of modules, registered so parameters() and state_dict() see them."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return type(self)(list(self._modules.values())[index])
        return self._at(index)

    def __setitem__(self, index, module):
        self.add_module(str(_assigned_index("ModuleList", index, len(self))), module)

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList([*self, *other])

    def extend(self, modules):
        # A container of modules (another ModuleList, a Sequential) is an iterable of them, as in
        # PyTorch; a single layer is not.
        if isinstance(modules, str) or not hasattr(modules, "__iter__"):
            hint = "; append a single module" if isinstance(modules, Module) else ""
            raise TypeError(f"ModuleList.extend: expected an iterable of modules, not {type(modules).__name__}"
                            + hint)
        for module in _checked_modules("ModuleList.extend", modules):
            self.append(module)
        return self

    def __repr__(self):
        """Runs of identical modules print once, as PyTorch's "(0-2): 3 x Linear(...)"."""
        reprs = [repr(m) for m in self]
        if not reprs:
            return self._get_name() + "()"
        blocks = []  # [start, end, repr]
        for i, r in enumerate(reprs):
            if blocks and blocks[-1][2] == r:
                blocks[-1][1] = i
            else:
                blocks.append([i, i, r])
        lines = [_indent(f"({a}): {r}" if a == b else f"({a}-{b}): {b - a + 1} x {r}", 2) for a, b, r in blocks]
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """An ordered dict of name -> module, registered so parameters() and state_dict() see them."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        if key not in self._modules:
            raise KeyError(f"ModuleDict has no module {key!r}; it has {list(self._modules)}")
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def pop(self, key):
        module = self[key]
        del self[key]
        return module

    def clear(self):
        self._modules.clear()

    def update(self, modules):
        pairs = list(modules.items() if hasattr(modules, "items") else modules)
        for pair in pairs:
            if len(pair) != 2:
                raise ValueError(f"ModuleDict.update: expected (name, module) pairs, got {pair!r}")
        before = OrderedDict(self._modules)
        try:
            for name, module in pairs:
                self[name] = module
        except BaseException:  # a rejected entry (a bad name or module) leaves the dict as it was
            self._modules.clear()
            self._modules.update(before)
            raise


class Identity(Module):
    """Returns its input; takes (and ignores) any constructor arguments, as PyTorch's."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input
