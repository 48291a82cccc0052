"""Parametrizations, as PyTorch's ``torch.nn.utils.parametrize``: a module's parameter or buffer
computed on every access from tensors the module stores instead.

``register_parametrization(module, "weight", p)`` moves ``module.weight`` to
``module.parametrizations.weight.original`` (``original0``, ``original1``, ... when ``p``'s
``right_inverse`` splits it into several tensors), so ``module.weight`` becomes ``p(original)``
and gradients reach the originals, which an optimizer trains. It does so as PyTorch does: the
module's class is swapped for a subclass (``ParametrizedLinear``) with a property for the name,
whose setter sends an assigned value through the ``right_inverse`` methods into the originals.
state_dict keys are PyTorch's (``parametrizations.weight.original``), so a PyTorch checkpoint
of a parametrized module loads here. Several parametrizations on one name chain in
registration order. ``cached()`` computes each parametrized tensor once inside its block.

Where this differs from PyTorch, on purpose: a deepcopy of a parametrized module gets a class
of its own (PyTorch's copies share one, so removing a parametrization from a copy removed the
original's property too), and ``cached()`` keys each module by itself, not by the module that
was parametrized first (a copy never reads its original's cached value), in a cache of each
thread's own.
"""
import contextlib
import copy
import threading

from autograd import Tensor, no_grad
from autograd.tensor import count_change

from ..layers.container import ModuleDict, ModuleList
from ..module import Module
from ..parameter import Parameter

__all__ = ["ParametrizationList", "cached", "is_parametrized", "register_parametrization",
           "remove_parametrizations", "transfer_parametrizations_and_params", "type_before_parametrizations"]


class _Cache(threading.local):
    """Per thread (PyTorch's is one for the process: a thread outside any block read another's
    values, graph and all): the cached() blocks open now, which nest, and the values,
    (id(module), tensor name) -> tensor, kept until the outermost block closes."""
    depth = 0

    def __init__(self):
        self.values = {}


_cache = _Cache()

# The instance attribute where nn.utils.stateless.functional_call puts the tensors it was given
# under parametrized names: {tensor name: tensor}, read in place of computing them, for the call.
REPLACED = "_functional_call_tensors"


@contextlib.contextmanager
def cached():
    """Inside the block each parametrized tensor is computed on its first access and that value
    reused after (a weight shared by several layers, a recurrent kernel used at every step);
    the values are dropped on leaving the outermost block. Assigning to a parametrized tensor
    inside the block does not refresh its cached value, as in PyTorch."""
    _cache.depth += 1
    try:
        yield
    finally:
        _cache.depth -= 1
        if not _cache.depth:
            _cache.values.clear()


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, in registration order, and the original tensor(s)
    they are computed from: ``original``, or ``original0``, ``original1``, ... when the first
    parametrization's ``right_inverse`` returns a sequence. Calling it computes the
    parametrized tensor. Built by register_parametrization, not by hand."""

    def __init__(self, modules, original, unsafe=False):
        modules = list(modules)
        if not modules:
            raise ValueError("ParametrizationList needs at least one parametrization module")
        super().__init__(modules)
        self.unsafe = unsafe
        shape, dtype = original.shape, original.dtype
        with no_grad():
            new = original
            for module in reversed(modules):
                inverse = getattr(module, "right_inverse", None)
                if inverse is not None:
                    try:
                        new = inverse(new)
                    except NotImplementedError:  # as PyTorch: an inverse that cannot run is the identity here
                        pass
        self.is_tensor = isinstance(new, Tensor)
        if self.is_tensor:
            _check_like("right_inverse", new, original, "the tensor it was given")
            originals = (new,)
        else:
            originals = _checked_sequence(new)
        self.ntensors = len(originals)
        # Checked on the new originals before the module changes, so a refused registration leaves it as it was
        if not unsafe:
            _check_output("a parametrization", self._compute(originals), shape, dtype, "the unparametrized tensor")
        if self.is_tensor:
            with no_grad():
                _take_values(original, new)
            _register_like(self, "original", original, original)
        else:
            for i, value in enumerate(originals):
                if isinstance(original, Parameter):
                    value = Parameter(value, requires_grad=original.requires_grad)
                elif value.requires_grad != original.requires_grad:
                    value.requires_grad_(original.requires_grad)
                _register_like(self, f"original{i}", value, original)

    def _original_names(self):
        if self.is_tensor:
            return ("original",)
        return tuple(f"original{i}" for i in range(self.ntensors))

    def _originals(self):
        return tuple(getattr(self, name) for name in self._original_names())

    def _compute(self, originals):
        modules = iter(self)
        x = next(modules)(*originals)
        for module in modules:
            x = module(x)
        return x

    def forward(self):
        return self._compute(self._originals())

    def right_inverse(self, value):
        """Store ``value`` in the original tensor(s): through each parametrization's
        ``right_inverse``, last registered first. Every result is checked before any original
        changes."""
        with no_grad():
            for module in reversed(list(self)):
                inverse = getattr(module, "right_inverse", None)
                if inverse is None:
                    raise RuntimeError(f"parametrization {type(module).__name__} does not implement right_inverse, "
                                       "so a value cannot be assigned to the tensor it parametrizes; give it a "
                                       "right_inverse method, or assign to its parametrizations' originals instead")
                value = inverse(value)
            if self.is_tensor:
                _check_like("right_inverse", value, self.original, "original")
                values = (value,)
            else:
                values = _checked_sequence(value)
                if len(values) != self.ntensors:
                    raise ValueError(f"right_inverse must return a sequence of {self.ntensors} tensors (one for "
                                     f"each original), got {len(values)}")
                for i, (v, original) in enumerate(zip(values, self._originals())):
                    _check_like(f"right_inverse's tensor {i}", v, original, f"original{i}")
            for original, v in zip(self._originals(), values):
                _take_values(original, v)


def _checked_sequence(value):
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"right_inverse must return a Tensor or a sequence (list, tuple) of tensors, got "
                         f"{type(value).__name__}")
    for i, v in enumerate(value):
        if not isinstance(v, Tensor):
            raise ValueError(f"right_inverse must return a Tensor or a sequence of tensors; entry {i} of its "
                             f"sequence is a {type(v).__name__}")
    return tuple(value)


def _check_like(what, value, original, original_name):
    """``value`` may replace ``original``'s values: a tensor of its dtype and device."""
    if not isinstance(value, Tensor):
        raise ValueError(f"{what} must return a Tensor, got {type(value).__name__}")
    if value.dtype != original.dtype:
        raise ValueError(f"{what} returned a tensor of dtype {value.dtype}, but {original_name} is "
                         f"{original.dtype}; it may not change the dtype")
    if value.device != original.device:
        raise ValueError(f"{what} returned a tensor on {value.device}, but {original_name} is on "
                         f"{original.device}; it may not change the device")


def _check_output(what, value, shape, dtype, of):
    """A parametrization (unless registered with ``unsafe=True``) keeps the tensor's shape and dtype."""
    if not isinstance(value, Tensor):
        raise ValueError(f"{what} must return a Tensor, got {type(value).__name__}")
    if value.dtype != dtype:
        raise ValueError(f"{what} may not change the dtype of the tensor without unsafe=True: {of} is {dtype}, "
                         f"the result is {value.dtype}")
    if value.shape != shape:
        raise ValueError(f"{what} may not change the shape of the tensor without unsafe=True: {of} has shape "
                         f"{shape}, the result has shape {value.shape}")


def _take_values(dest, src):
    """Make ``dest`` hold ``src``'s values (sharing its memory, with its shape), keeping ``dest``
    itself, so an optimizer that holds it trains the new values; as PyTorch's ``set_``. The change
    is counted, so a graph that saved the old values refuses to backward through them."""
    if src is dest:
        return
    dest.data = src.data
    count_change(dest)


def _register_like(module, name, tensor, like):
    """``tensor`` as a parameter of ``module`` if ``like`` is one, else as a buffer."""
    if isinstance(like, Parameter):
        module.register_parameter(name, tensor)
    else:
        module.register_buffer(name, tensor)


# --- the class swap ------------------------------------------------------------------------------
def _refuse_pickle(self):
    raise RuntimeError(f"{type(self).__name__} is a parametrized module, which cannot be pickled or copied "
                       "with copy.copy (its class exists only in this process); save its state_dict() (nn.save) "
                       "and load that into a module parametrized the same way, or use copy.deepcopy")


def _deepcopy_parametrized(self, memo):
    """A deep copy on a class of its own (with the same properties), so that removing a
    parametrization from one of the two leaves the other's class as it is."""
    cls = type(self)
    own = type(cls.__name__, cls.__bases__, {k: v for k, v in vars(cls).items()
                                             if k not in ("__dict__", "__weakref__")})
    replica = object.__new__(own)
    memo[id(self)] = replica
    vars(replica).update(copy.deepcopy(vars(self), memo))
    return replica


def _inject_new_class(module):
    """Swap the module's class for a subclass that will hold the properties."""
    cls = type(module)
    namespace = {"__getstate__": _refuse_pickle}
    if not hasattr(cls, "__deepcopy__"):
        namespace["__deepcopy__"] = _deepcopy_parametrized
    module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), namespace)


def _inject_property(module, tensor_name):
    def get_parametrized(self):
        replaced = self.__dict__.get(REPLACED)
        if replaced is not None and tensor_name in replaced:
            return replaced[tensor_name]
        parametrization = self.parametrizations[tensor_name]
        if not _cache.depth:
            return _computed(parametrization, tensor_name)
        key = (id(self), tensor_name)
        value = _cache.values.get(key)
        if value is None:
            value = _cache.values[key] = _computed(parametrization, tensor_name)
        return value

    def set_original(self, value):
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(type(module), tensor_name, property(get_parametrized, set_original))


def _computed(parametrization, tensor_name):
    try:
        return parametrization()
    except AttributeError as exc:
        # An AttributeError out of a property's getter would make Python fall back to
        # Module.__getattr__, which reports the parametrized tensor itself as missing.
        raise RuntimeError(f"computing the parametrized tensor {tensor_name!r} raised AttributeError: "
                           f"{exc}") from exc


def drop_cached(module):
    """Forget the values cached() holds for the parametrized tensors of ``module`` and its
    submodules, in this thread (for functional_call, which changes what they are computed from)."""
    if not _cache.depth:
        return
    for m in module.modules():
        if is_parametrized(m):
            for tensor_name in m.parametrizations:
                _cache.values.pop((id(m), tensor_name), None)


# --- public functions --------------------------------------------------------------------------
def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Make ``module.<tensor_name>`` (a parameter or buffer) ``parametrization(original)``, the
    original kept as ``module.parametrizations.<tensor_name>.original`` (see the module
    docstring); on a name that is already parametrized, ``parametrization`` is applied after
    the ones there. The parametrization takes the module's training mode. Unless ``unsafe``,
    it must keep the tensor's shape and dtype, which is checked now (running it, and its
    ``right_inverse`` if it has one). Returns ``module``."""
    if not isinstance(module, Module):
        raise TypeError(f"register_parametrization: expected a Module to parametrize, got {type(module).__name__}")
    if not isinstance(parametrization, Module):
        raise TypeError(f"register_parametrization: the parametrization must be an nn.Module (with a forward "
                        f"and optionally a right_inverse), got {type(parametrization).__name__}")
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            _check_appended(module, tensor_name, parametrization)
        parametrizations = module.parametrizations[tensor_name]
        parametrizations.append(parametrization)
        parametrizations.unsafe |= unsafe
    elif tensor_name in module._parameters or tensor_name in module._buffers:
        original = getattr(module, tensor_name)
        if original is None:
            raise ValueError(f"register_parametrization: {type(module).__name__}.{tensor_name} is None, so there is "
                             "nothing to parametrize")
        parametrizations = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_new_class(module)
            module.parametrizations = ModuleDict()
        _inject_property(module, tensor_name)
        module.parametrizations[tensor_name] = parametrizations
    else:
        raise ValueError(f"register_parametrization: {type(module).__name__} has no parameter, buffer or "
                         f"parametrized tensor named {tensor_name!r} (its parameters: {list(module._parameters)}, "
                         f"buffers: {list(module._buffers)})")
    return module


def _check_appended(module, tensor_name, parametrization):
    """A parametrization added after others keeps the tensor's shape and dtype, and so does its right_inverse."""
    current = getattr(module, tensor_name)
    of = f"module.{tensor_name}"
    new = parametrization(current)
    _check_output("a parametrization", new, current.shape, current.dtype, of)
    inverse = getattr(parametrization, "right_inverse", None)
    if inverse is None:
        return
    try:
        back = inverse(new)
    except NotImplementedError:
        return
    _check_output("parametrization.right_inverse", back, current.shape, current.dtype, of)


def is_parametrized(module, tensor_name=None):
    """Whether ``module`` has a parametrization on ``tensor_name`` (None: on any tensor)."""
    parametrizations = getattr(module, "parametrizations", None)
    if not isinstance(parametrizations, ModuleDict):
        return False
    return len(parametrizations) > 0 if tensor_name is None else tensor_name in parametrizations


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Undo register_parametrization on ``tensor_name`` (all of its parametrizations): the
    tensor becomes a plain parameter (or buffer, as the original was) again, holding its
    current parametrized value (``leave_parametrized=True``, into the original tensor object
    where there is one original, so an optimizer holding it goes on training it) or the
    original's (``False``, possible only with one original). The module gets its own class
    back once nothing in it is parametrized. Returns ``module``."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"remove_parametrizations: {type(module).__name__} has no parametrization on "
                         f"{tensor_name!r}")
    parametrizations = module.parametrizations[tensor_name]
    if parametrizations.is_tensor:
        original = parametrizations.original
        if leave_parametrized:
            with no_grad():
                value = getattr(module, tensor_name)
            if value.dtype != original.dtype:
                raise RuntimeError(f"remove_parametrizations: the parametrized {tensor_name!r} is {value.dtype} but "
                                   f"its original is {original.dtype}, which cannot hold it; pass "
                                   "leave_parametrized=False to keep the original instead")
            _take_values(original, value)
    elif leave_parametrized:
        value = getattr(module, tensor_name)
        original = Parameter(value) if value.requires_grad else value
    else:
        raise ValueError(f"remove_parametrizations: {tensor_name!r} is parametrized by {parametrizations.ntensors} "
                         "tensors, so it cannot go back to one original; pass leave_parametrized=True")
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    _cache.values.pop((id(module), tensor_name), None)
    _register_like(module, tensor_name, original, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = type(module).__bases__[0]
    return module


def transfer_parametrizations_and_params(from_module, to_module, tensor_name=None):
    """Parametrize ``to_module`` as ``from_module`` is, on ``tensor_name`` (None: on every
    parametrized tensor), as PyTorch's: the same parametrization modules are registered on
    ``to_module`` (unsafe if they were on ``from_module``), and its originals are then
    ``from_module``'s own tensors, shared, not copied, so training either module trains both
    (a buffer original stays a buffer; PyTorch's fails to share one into a module that lacks the
    tensor). A tensor that ``to_module`` lacks is made first, from ``from_module``'s
    parametrized value. Does nothing if ``from_module`` is not parametrized. As PyTorch's, not
    all or nothing: a name that fails to transfer leaves the names before it transferred.
    Returns ``to_module``."""
    if not is_parametrized(from_module):
        return to_module
    if not isinstance(to_module, Module):
        raise TypeError(f"transfer_parametrizations_and_params: to_module must be a Module, got "
                        f"{type(to_module).__name__}")
    if tensor_name is not None and not is_parametrized(from_module, tensor_name):
        raise ValueError(f"transfer_parametrizations_and_params: from_module has no parametrization on "
                         f"{tensor_name!r} (it has some on {list(from_module.parametrizations)}); pass one of "
                         "those, or None for all")
    names = list(from_module.parametrizations) if tensor_name is None else [tensor_name]
    # PyTorch would chain the parametrizations a second time, onto originals it then replaces
    already = [name for name in names if is_parametrized(to_module, name)]
    if already:
        raise ValueError(f"transfer_parametrizations_and_params: to_module is already parametrized on {already}; "
                         "remove those parametrizations first (remove_parametrizations)")
    for name in names:
        source = from_module.parametrizations[name]
        originals = source._originals()
        if not hasattr(to_module, name):  # a stand-in to register on; its originals are replaced below
            with no_grad():
                to_module.register_parameter(name, Parameter(getattr(from_module, name)))
        for parametrization in list(source):
            register_parametrization(to_module, name, parametrization, unsafe=source.unsafe)
        target = to_module.parametrizations[name]
        for original_name, original in zip(target._original_names(), originals):
            delattr(target, original_name)
            _register_like(target, original_name, original, original)
    return to_module


def type_before_parametrizations(module):
    """The module's class before it was parametrized (its class when it is not)."""
    return type(module).__bases__[0] if is_parametrized(module) else type(module)
