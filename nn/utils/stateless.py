"""``functional_call``, as PyTorch's ``torch.func.functional_call`` (also at
``torch.nn.utils.stateless``): call a module with other tensors in place of its parameters and
buffers, named as in state_dict, and leave the module as it was. The module is written as a
function of its tensors, for per-sample gradients, or for MAML-style inner steps whose updated
weights keep their graph (``create_graph=True``).

As PyTorch's, it swaps the given tensors into the module for the duration of the call and swaps
the module's own back after, so a concurrent call of the same module from another thread sees
the given tensors meanwhile: call one module from one thread at a time (calls of different
modules are independent; a deepcopy per thread is a separate module).

Where it differs from PyTorch, on purpose:

- a tensor given under the name of a parametrized tensor (``"weight"`` of a module with a
  parametrization on it, see ``nn.utils.parametrize``) is read in its place, with the
  parametrization off for the call, as PyTorch documents; PyTorch's sends it through
  ``right_inverse`` into the original under ``no_grad``, so it gets no gradient, the original
  gets one, and the original is left changed where the parametrization does not undo its
  ``right_inverse`` (``X.triu()`` with an identity inverse, say). To apply the
  parametrization to a given tensor, give it as ``"parametrizations.weight.original"``, as in
  PyTorch; inside ``parametrize.cached()`` the parametrized tensors are computed afresh for the
  call and after it (PyTorch's cache gives the values from before the call);
- the module's tensors are put back in the reverse order they were replaced, so a submodule
  reached under two names (``Sequential(layer, layer)``) gets its own tensor back (PyTorch's
  leaves the given one there);
- with ``tie_weights``, a tied tensor given the same value under some of its names is accepted
  (PyTorch's raises KeyError for a name left out), and the error for different values names the
  keys that were given (PyTorch's names all the tied ones);
- a tensor that forward assigns anew (a buffer) is written back into the dict it was given in,
  also when several dicts were given (PyTorch's writes it into its merged copy of them);
- no deprecation warning (PyTorch's ``nn.utils.stateless`` one warns, to move to ``torch.func``).

As in PyTorch, a module whose forward pre-hook computes a tensor from others (``nn.utils.prune``,
the hook-based ``weight_norm`` and ``spectral_norm``) takes the tensors that hook reads: give
``"weight_orig"`` (or ``"weight_g"``/``"weight_v"``), not ``"weight"``, which the hook overwrites;
and the hook's result, computed from the given tensors, stays on the module until its next call
(spectral_norm in training also updates its own power-iteration buffers from them).
Uninitialized Lazy modules are refused: their first call would initialize the given tensors.
"""
import contextlib

from autograd import Tensor
from autograd.checkpoint import replayed_in_recompute

from ..module import Module
from ..parameter import is_lazy
from . import parametrize

__all__ = ["functional_call"]

_ABSENT = object()  # what a name held before the call where it held nothing


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True,
                    strict=False):
    """``module(*args, **kwargs)`` with the tensors of ``parameter_and_buffer_dicts`` (a dict
    from state_dict-style names such as ``"0.weight"`` to tensors, or a list or tuple of such
    dicts with distinct keys) in place of the module's own, which are put back after the call,
    also when it raises. Gradients reach the given tensors; the module's own parameters, and
    their ``.grad``, are left alone. A buffer that forward changes in place (BatchNorm's running
    statistics) is the given tensor, so it is the one changed; a tensor forward assigns anew is
    written back into the dict under its key. ``args`` that is not a tuple is one argument.

    ``tie_weights``: a tensor the module holds under several names (tied weights, a shared
    submodule) given under one of them replaces it under all of them; different tensors under
    two of them raise ValueError (pass ``tie_weights=False`` to give each name its own).
    ``strict``: the keys must be exactly the module's parameter and buffer names (tied names
    counting as given with ``tie_weights``), else RuntimeError listing the unexpected and missing
    ones. Keys that name no tensor are otherwise set as plain attributes for the call, as PyTorch
    does. Every key is checked before anything changes."""
    if not isinstance(module, Module):
        raise TypeError(f"functional_call: expected an nn.Module to call, got {type(module).__name__}")
    dicts = _dicts(parameter_and_buffer_dicts)
    lazy = [name for name, t in _named_tensors(module) if is_lazy(t)]
    if lazy:  # its first call would initialize the given tensors in place and keep none of its own
        raise ValueError(f"functional_call: {module._get_name()} has uninitialized tensors {lazy} (a Lazy "
                         "module's); call it once on a batch of the real shape (or load a state_dict) first")
    given = {key: value for d in dicts for key, value in d.items()}
    values = _untied(module, given) if tie_weights else given
    if strict:
        _check_keys(module, values)
    slots = [_slot(module, key, value) for key, value in values.items()]
    args = () if args is None else args if isinstance(args, tuple) else (args,)
    kwargs = {} if kwargs is None else kwargs
    after = {}
    try:
        # A checkpoint in forward recomputes its block in backward, after this call: with the
        # given tensors swapped in again there, as they were when it ran
        with _swapped(module, slots, after), replayed_in_recompute(lambda: _swapped(module, slots, {})):
            return module(*args, **kwargs)
    finally:
        for d in dicts:  # as PyTorch: what forward left under a given key goes back to the caller
            for key in d:
                if after.get(key, _ABSENT) is not _ABSENT:
                    d[key] = after[key]


@contextlib.contextmanager
def _swapped(module, slots, after):
    """The given tensors in the module while the block runs; on the way out, what each name
    holds is put in ``after`` (by key) and the module's own tensors go back."""
    swapped = []
    try:
        for slot in slots:
            slot.swap_in()
            swapped.append(slot)
        parametrize.drop_cached(module)  # values cached by parametrize.cached() before may be computed from others
        yield
    finally:
        after.update((slot.key, slot.current()) for slot in swapped)
        for slot in reversed(swapped):  # last in, first out: a name reached twice gets its own tensor back
            slot.swap_out()
        parametrize.drop_cached(module)


def _dicts(parameter_and_buffer_dicts):
    """The given dicts, as a list; keys repeated across them are refused, with PyTorch's message."""
    if isinstance(parameter_and_buffer_dicts, dict):
        return [parameter_and_buffer_dicts]
    if not isinstance(parameter_and_buffer_dicts, (list, tuple)):
        raise ValueError("Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got "
                         f"{type(parameter_and_buffer_dicts)}")
    dicts = list(parameter_and_buffer_dicts)
    for i, d in enumerate(dicts):
        if not isinstance(d, dict):
            raise ValueError(f"Expected all elements of parameter_and_buffer_dicts to be dictionaries; entry {i} "
                             f"is a {type(d).__name__}")
    counts = {}
    for d in dicts:
        for key in d:
            counts[key] = counts.get(key, 0) + 1
    repeated = [key for key, n in counts.items() if n > 1]
    if repeated:
        raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional call is ambiguous")
    return dicts


def _named_tensors(module):
    """Every (name, tensor) of the module's parameters and buffers, a shared one under each of its names."""
    yield from module.named_parameters(remove_duplicate=False)
    yield from module.named_buffers(remove_duplicate=False)


def _untied(module, given):
    """``given`` with each tied tensor's value under every name it has, as PyTorch's: a new dict."""
    names_by_tensor = {}
    for name, tensor in _named_tensors(module):
        names_by_tensor.setdefault(id(tensor), []).append(name)
    untied = dict(given)
    for names in names_by_tensor.values():
        named = [name for name in names if name in given]
        if len(names) < 2 or not named:
            continue
        if len({id(given[name]) for name in named}) > 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(named)}, which are tied. "
                             "Consider using tie_weights=False")
        for name in names:
            untied[name] = given[named[0]]
    return untied


def _check_keys(module, values):
    valid = {name for name, _ in _named_tensors(module)}
    unexpected, missing = sorted(set(values) - valid), sorted(valid - set(values))
    errors = []
    if unexpected:
        errors.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
    if missing:
        errors.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
    if errors:
        raise RuntimeError(f"Error(s) in reparametrizing for {module._get_name()}:\n\t" + "\n\t".join(errors))


def _slot(root, key, value):
    """Where ``key`` puts ``value`` in ``root``, checked: raises for a key that cannot be swapped."""
    if not isinstance(key, str):
        raise TypeError(f"functional_call: keys must be str names such as '0.weight', not {type(key).__name__}")
    if value is not None and not isinstance(value, Tensor):
        raise TypeError(f"functional_call: the value for {key!r} must be a Tensor or None, "
                        f"not {type(value).__name__}")
    path, _, name = key.rpartition(".")
    if not name:
        raise KeyError(f"functional_call: the key {key!r} names no tensor: it is empty or ends in '.'")
    module = root
    for part in path.split(".") if path else ():
        child = module._modules.get(part)
        if child is None:
            raise AttributeError(f"functional_call: {module._get_name()} has no submodule {part!r} "
                                 f"(looking up {key!r})")
        module = child
    if name in module._parameters:
        return _Slot(key, module._parameters, name, value)
    if name in module._buffers:
        return _Slot(key, module._buffers, name, value)
    if parametrize.is_parametrized(module, name):
        return _ParametrizedSlot(key, module, name, value)
    if name in module._modules:
        raise TypeError(f"functional_call: {key!r} is a submodule ({module._modules[name]._get_name()}), not a "
                        f"parameter or buffer; give its tensors' names, such as {key + '.weight'!r}")
    if isinstance(getattr(type(module), name, None), property):  # (before getattr, which would run it)
        raise TypeError(f"functional_call: {key!r} is a property of {module._get_name()}, not a parameter or "
                        "buffer")
    existing = getattr(module, name, None)
    if existing is not None and not isinstance(existing, Tensor):
        raise TypeError(f"functional_call: {key!r} is a {type(existing).__name__} attribute of "
                        f"{module._get_name()}, not a parameter or buffer")
    # As PyTorch: a plain tensor attribute, or a new one, for the call only
    return _Slot(key, vars(module), name, value)


class _Slot:
    """One name in a dict that the module reads it from (its parameters, its buffers, its
    attributes): ``value`` goes there for the call, and what was there before goes back
    (the name is removed again where it held nothing)."""
    __slots__ = ("key", "registry", "name", "value", "saved")

    def __init__(self, key, registry, name, value):
        self.key, self.registry, self.name, self.value = key, registry, name, value

    def swap_in(self):
        self.saved = self.registry.get(self.name, _ABSENT)
        self.registry[self.name] = self.value

    def current(self):
        return self.registry.get(self.name, _ABSENT)  # absent where forward deleted it

    def swap_out(self):
        if self.saved is _ABSENT:
            self.registry.pop(self.name, None)
        else:
            self.registry[self.name] = self.saved


class _ParametrizedSlot(_Slot):
    """A parametrized tensor's name: the module's property returns ``value`` instead of computing
    the tensor while ``value`` is in the module's dict of replacements (see nn.utils.parametrize)."""
    __slots__ = ("module",)

    def __init__(self, key, module, name, value):
        super().__init__(key, None, name, value)
        self.module = module

    def swap_in(self):
        self.registry = vars(self.module).setdefault(parametrize.REPLACED, {})
        super().swap_in()

    def swap_out(self):
        super().swap_out()
        if not self.registry:
            vars(self.module).pop(parametrize.REPLACED, None)
