"""Module: the base of every layer. Assigning a Parameter, Module or nn.Buffer as an
attribute registers it, so parameters(), state_dict() and to() find it; names,
traversal order, state_dict keys and printing follow PyTorch."""
import threading
import warnings
import weakref
from collections import OrderedDict, namedtuple

import backends
from autograd import Tensor, empty, no_grad
from autograd.grad_mode import state as _thread  # per thread: the modules being called
from autograd.tensor import HookHandle, check_hook, count_change
from autograd.user_code import user_frame
from backends import dtypes

from .module_hooks import (HookEntry as _HookEntry, _CallHooks, global_backward_hooks, global_backward_pre_hooks,
                           global_forward_hooks, global_forward_pre_hooks, global_hooks_in_use)
# PyTorch's torch.nn.modules.module.register_module_*_hook, here as nn.module.register_module_*_hook
from .module_hooks import (register_module_forward_hook, register_module_forward_pre_hook,  # noqa: F401
                           register_module_full_backward_hook, register_module_full_backward_pre_hook)
from .parameter import Buffer, Parameter, UninitializedBuffer, is_lazy, zero_grads

_loads = threading.local()  # per thread: the modules whose base _load_from_state_dict ran in the load under way


class StateDictError(ValueError, RuntimeError):
    """load_state_dict refused a state dict; nothing was changed. A ValueError (a
    bad input) that is also the RuntimeError PyTorch raises, so either catch works."""


class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    __slots__ = ()

    def __repr__(self):  # what a notebook shows after load_state_dict, as PyTorch's
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _prefix_hint(missing, unexpected):
    """The fix, as a list of at most one line, when the keys differ only by a prefix: a state
    saved from a wrapped model ('module.' from DataParallel, 'model.' from a wrapper class)
    loaded into the bare one, or the reverse."""
    for have, want, into in ((unexpected, missing, False), (missing, unexpected, True)):
        first = want[0]
        for key in have:
            prefix = key[:-len(first)]
            if key.endswith("." + first) and all(prefix + k in have for k in want) and all(
                    k.startswith(prefix) for k in have):  # every key: only then does stripping the prefix fit
                if into:
                    return [f"every key of this module has the prefix {prefix!r}, which the saved keys lack; "
                            f"load them into the submodule {prefix[:-1]!r} instead"]
                return [f"every expected key appears with the prefix {prefix!r}, as a wrapped model saves them; "
                        f"strip it: {{k.removeprefix({prefix!r}): v for k, v in state_dict.items()}}"]
    return []


def _not_a_module_hint(value):
    """The fix for the two usual non-modules in a container: a layer's class where an
    instance belongs (nn.Sequential(nn.Linear(3, 2), nn.ReLU)), and a list of layers."""
    if isinstance(value, type) and issubclass(value, Module):
        return f" (the class {value.__name__} itself); make a layer from it, e.g. {value.__name__}()"
    if isinstance(value, (list, tuple)) and value and all(isinstance(m, Module) for m in value):
        return " of modules; unpack it, e.g. nn.Sequential(*layers), or hold it in an nn.ModuleList"
    return ""


# What Module.__init__ gives every module, each with the type that makes it empty.
_REGISTRIES = (("_parameters", OrderedDict), ("_buffers", OrderedDict), ("_non_persistent", set),
               ("_modules", OrderedDict), ("_forward_hooks", list), ("_forward_pre_hooks", list),
               ("_backward_hooks", list), ("_backward_pre_hooks", list), ("_state_dict_pre_hooks", list),
               ("_state_dict_hooks", list), ("_load_state_dict_pre_hooks", list),
               ("_load_state_dict_post_hooks", list))


class Module:
    training: bool
    # Buffers a state dict may lack (as PyTorch lets BatchNorm's num_batches_tracked be
    # missing, for older checkpoints): load_state_dict leaves them as they are.
    _optional_state = ()

    def __init__(self):
        for name, make in _REGISTRIES:
            object.__setattr__(self, name, make())
        object.__setattr__(self, "training", True)

    def __setstate__(self, state):
        """How pickle and copy.deepcopy restore a module, as PyTorch's: so a subclass may override
        it and call ``super().__setstate__(state)`` (PyTorch's way to fill in what older pickles
        lack). A registry the state lacks (a pickle from an older topograd) starts empty."""
        self.__dict__.update(state)
        for name, make in _REGISTRIES:
            if name not in self.__dict__:
                object.__setattr__(self, name, make())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        if (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks or self._backward_pre_hooks
                or global_hooks_in_use):
            return self._call_with_hooks(args, kwargs)
        return self._scoped_forward(args, kwargs)

    def _scoped_forward(self, args, kwargs):
        # Ops recorded inside this call remember the module stack, so drawings and
        # the profiler can group them by module: weakly, or a tensor the module keeps
        # from its call would hold the module through its node (a reference cycle).
        outer = _thread.scope
        me = weakref.ref(self)
        _thread.scope = (me,) if outer is None else outer + (me,)
        try:
            return self.forward(*args, **kwargs)
        finally:
            _thread.scope = outer

    def _call_with_hooks(self, args, kwargs):
        """forward between its pre-hooks and hooks, as PyTorch's: a forward hook
        registered with ``always_call=True`` still runs (output None if there is none)
        when a hook or forward raised, then the error goes on. With full backward
        (pre-)hooks, the inputs forward gets (after the pre-hooks) and the output it gives
        (after the hooks) pass through identity nodes that run them (see module_hooks)."""
        out, called = None, set()
        # The hooks on every module's calls first, as PyTorch's (see module_hooks)
        forward_hooks = [*global_forward_hooks, *self._forward_hooks]
        backward_hooks = None
        if self._backward_hooks or self._backward_pre_hooks or global_backward_hooks or global_backward_pre_hooks:
            backward_hooks = _CallHooks(self, [*global_backward_hooks, *self._backward_hooks],
                                        [*global_backward_pre_hooks, *self._backward_pre_hooks])
        try:
            for hook in [*global_forward_pre_hooks, *self._forward_pre_hooks]:
                if type(hook) is _HookEntry:  # with_kwargs
                    replaced = hook.fn(self, args, kwargs)
                    if replaced is not None:
                        if not (isinstance(replaced, tuple) and len(replaced) == 2):
                            raise RuntimeError("a forward pre-hook registered with with_kwargs=True must return "
                                               f"None or a tuple (new_args, new_kwargs), but got {replaced!r}")
                        args, kwargs = replaced
                else:
                    replaced = hook(self, args)
                    if replaced is not None:
                        args = replaced if isinstance(replaced, tuple) else (replaced,)
            if backward_hooks is not None:
                args = backward_hooks.wrap_inputs(args)
            out = self._scoped_forward(args, kwargs)
            for hook in forward_hooks:
                called.add(id(hook))
                replaced = _call_forward_hook(self, hook, args, kwargs, out)
                if replaced is not None:
                    out = replaced
            return out if backward_hooks is None else backward_hooks.wrap_outputs(out)
        except Exception:
            for hook in forward_hooks:
                if type(hook) is _HookEntry and hook.always_call and id(hook) not in called:
                    try:
                        replaced = _call_forward_hook(self, hook, args, kwargs, out)
                    except Exception as exc:
                        warnings.warn("a forward hook with always_call=True raised an exception, silenced as "
                                      f"another error was raised in forward: {exc}", stacklevel=3)
                        continue
                    if replaced is not None:
                        out = replaced
            raise

    # --- registration ------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            # As PyTorch: a plain attribute may be set before Module.__init__ (a mixin's
            # __init__ that runs first, say); a parameter, buffer or submodule has nowhere to go yet.
            if isinstance(value, (Parameter, Module, Buffer, UninitializedBuffer)):
                _refuse_before_init(self, "assign a parameter, buffer or submodule")
            object.__setattr__(self, name, value)
            return
        params, modules, buffers = self._parameters, self._modules, self._buffers
        if isinstance(value, Parameter):
            if name not in params and isinstance(getattr(type(self), name, None), property):
                # As PyTorch: a parameter would hide nothing behind a property (a parametrized
                # tensor's, see nn.utils.parametrize), which attribute access would still read.
                raise KeyError(f"cannot assign a Parameter to {name!r}: it is a property of {type(self).__name__}; "
                               "assign a Tensor to set it (through right_inverse, if parametrized)")
            self._forget(name, params)
            params[name] = value
        elif name in params:  # before the Module case, as PyTorch: a module never replaces a parameter
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to parameter {name!r}; "
                                "assign an nn.Parameter or None")
            params[name] = None
        elif isinstance(value, Module):
            self._forget(name, modules)
            modules[name] = value
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to submodule {name!r}")
            modules[name] = None
        elif isinstance(value, (Buffer, UninitializedBuffer)):
            # As PyTorch: an nn.Buffer registers itself (over a buffer too) with its own
            # persistence, and so does a Lazy module's placeholder; a plain attribute of that
            # name is refused (KeyError), as register_buffer refuses it.
            self.register_buffer(name, value, getattr(value, "persistent", True))
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign a {type(value).__name__} to buffer {name!r}; assign a Tensor")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name, keep=None):
        """Drop ``name`` from every registry but ``keep`` (where a re-assignment keeps
        its place, so a replaced layer stays where it was in state_dict order)."""
        for registry in (self._parameters, self._modules, self._buffers):
            if registry is not keep:
                registry.pop(name, None)
        self._non_persistent.discard(name)
        self.__dict__.pop(name, None)

    def __getattr__(self, name):
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        message = f"'{type(self).__name__}' object has no attribute '{name}'"
        if isinstance(getattr(type(self), name, None), property):
            # Python calls __getattr__ when a property's getter raises AttributeError, which
            # would otherwise read as if the property itself were missing.
            message += (f": it is a property of {type(self).__name__}, whose getter raised AttributeError "
                        "(an attribute it reads is missing); look in the getter for the name it fails to find")
        raise AttributeError(message)

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def _check_name(self, what, name, registry_name):
        """As PyTorch: a name may be registered again in its own registry (replacing the
        value), but not over another attribute: a parameter, a submodule, a method."""
        if registry_name not in self.__dict__:
            _refuse_before_init(self, f"{what}({name!r}, ...)")
        registry = self.__dict__[registry_name]
        if not isinstance(name, str):
            raise TypeError(f"{what}: the name must be a str, not {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"{what}: the name {name!r} must be non-empty and contain no '.'")
        if name not in registry and (name in self.__dict__ or hasattr(type(self), name) or any(
                name in other for other in (self._parameters, self._buffers, self._modules))):
            raise KeyError(f"{what}: attribute {name!r} already exists")

    def register_parameter(self, name, param):
        self._check_name("register_parameter", name, "_parameters")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be an nn.Parameter or None, "
                            f"not {type(param).__name__}")
        self._forget(name, self._parameters)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor that is state but not learnable (running statistics); persistent
        buffers are part of state_dict()."""
        self._check_name("register_buffer", name, "_buffers")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, not {type(tensor).__name__}")
        self._forget(name, self._buffers)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name, module):
        self._check_name("add_module", name, "_modules")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, not {type(module).__name__}"
                            + _not_a_module_hint(module))
        self._forget(name, self._modules)
        self._modules[name] = module

    register_module = add_module

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """Call ``hook(module, inputs, output)`` after forward (``hook(module, inputs, kwargs, output)``
        with ``with_kwargs``); a non-None return replaces the output. ``prepend`` runs it before
        the hooks already registered; ``always_call`` runs it even when forward raised."""
        check_hook("register_forward_hook", hook)
        entry = _HookEntry(hook, with_kwargs, always_call) if with_kwargs or always_call else hook
        return HookHandle(self._forward_hooks, entry, prepend)

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call ``hook(module, inputs)`` before forward; a non-None return replaces the inputs.
        With ``with_kwargs``, ``hook(module, inputs, kwargs)`` may return ``(inputs, kwargs)``
        to replace both. ``prepend`` runs it before the hooks already registered."""
        check_hook("register_forward_pre_hook", hook)
        entry = _HookEntry(hook, with_kwargs) if with_kwargs else hook
        return HookHandle(self._forward_pre_hooks, entry, prepend)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_output)`` in backward once the gradients of all of this
        call's Tensor outputs are known (None for an output that got none); a non-None return
        (one entry per output) replaces ``grad_output``. ``prepend`` runs it before the others."""
        check_hook("register_full_backward_pre_hook", hook)
        return HookHandle(self._backward_pre_hooks, hook, prepend)

    def register_full_backward_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_input, grad_output)`` in backward once the gradients of
        this call's positional Tensor inputs are known (None for a non-Tensor argument, zeros
        for a Tensor that does not require grad, as PyTorch's); a non-None return (one entry
        per argument) replaces ``grad_input``. If no input requires grad, it runs with
        ``grad_input`` all None once ``grad_output`` is known, and must return None. While a
        module has such hooks, its Tensor inputs and outputs must not be changed in place."""
        check_hook("register_full_backward_hook", hook)
        return HookHandle(self._backward_hooks, hook, prepend)

    def register_state_dict_pre_hook(self, hook):
        """Call ``hook(module, prefix, keep_vars)`` when state_dict() reaches this module,
        before it adds this module's entries."""
        check_hook("register_state_dict_pre_hook", hook)
        return HookHandle(self._state_dict_pre_hooks, hook)

    def register_state_dict_post_hook(self, hook):
        """Call ``hook(module, state_dict, prefix, local_metadata)`` once state_dict() has
        added the entries of this module and its submodules; it may change ``state_dict`` in
        place and must return None. topograd keeps no per-module metadata (PyTorch's
        ``version``): ``local_metadata`` is an empty dict, which nothing reads afterwards."""
        check_hook("register_state_dict_post_hook", hook)
        return HookHandle(self._state_dict_hooks, hook)

    def register_load_state_dict_pre_hook(self, hook):
        """Call ``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` before load_state_dict checks anything. ``state_dict``
        is the load's own copy, which the hook may change (rename keys, say); what it appends
        to ``missing_keys`` and ``unexpected_keys`` is reported too (and refused when strict),
        and a message it appends to ``error_msgs`` refuses the load, nothing changed.
        ``local_metadata`` holds only PyTorch's ``assign_to_params_buffers`` (True when loading with
        ``assign``; see register_state_dict_post_hook). A subclass may override
        ``_load_from_state_dict`` instead, which runs these hooks."""
        check_hook("register_load_state_dict_pre_hook", hook)
        return HookHandle(self._load_state_dict_pre_hooks, hook)

    def register_load_state_dict_post_hook(self, hook):
        """Call ``hook(module, incompatible_keys)`` after load_state_dict has loaded (the
        missing and unexpected keys, which it may change in place); it must return None.
        Unlike PyTorch's, where the post-hooks run before the strict check, topograd checks
        everything before it changes anything: a strict load with missing or unexpected keys
        is refused before any post-hook runs (drop or add keys in a pre-hook instead)."""
        check_hook("register_load_state_dict_post_hook", hook)
        return HookHandle(self._load_state_dict_post_hooks, hook)

    # --- traversal -------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:  # iterative, in PyTorch's (pre-)order
            name, module = stack.pop()
            if remove_duplicate:
                if module in memo:  # the modules themselves, as PyTorch's memo holds (a caller may pre-fill it)
                    continue
                memo.add(module)
            yield name, module
            children = [(f"{name}.{k}" if name else k, m) for k, m in module._modules.items() if m is not None]
            stack.extend(reversed(children))

    def modules(self, remove_duplicate=True):
        for _, m in self.named_modules(remove_duplicate=remove_duplicate):
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, registry, prefix, recurse, remove_duplicate=True):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for mprefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None:
                    continue
                if remove_duplicate:
                    if id(value) in seen:
                        continue
                    seen.add(id(value))
                yield (f"{mprefix}.{name}" if mprefix else name), value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target):
        """The submodule at a dotted path such as ``"features.0"`` ('' is this module)."""
        module = self
        if target == "":
            return module
        for part in target.split("."):
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no submodule {part!r} (looking up {target!r})")
            module = child
        return module

    def get_parameter(self, target):
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if module._parameters.get(name) is None:
            raise AttributeError(f"{type(module).__name__} has no parameter {name!r} (looking up {target!r})")
        return module._parameters[name]

    def get_buffer(self, target):
        """The buffer at a dotted path such as ``"features.1.running_mean"``."""
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if name not in module._buffers:
            raise AttributeError(f"{type(module).__name__} has no buffer {name!r} (looking up {target!r})")
        return module._buffers[name]

    def set_submodule(self, target, module, strict=False):
        """Put ``module`` at a dotted path such as ``"features.0"``: it replaces the submodule
        there, or (unless ``strict``) is added under that name to the module the path leads to."""
        if not isinstance(target, str) or not target:
            raise ValueError(f"set_submodule: target must name a submodule, such as 'features.0', not {target!r}")
        if not isinstance(module, Module):
            raise TypeError(f"set_submodule: expected a Module to put at {target!r}, not {type(module).__name__}")
        path, _, name = target.rpartition(".")
        parent = self.get_submodule(path)
        if name in parent._modules:
            parent._modules[name] = module  # in its place, so state_dict order is kept
        elif strict:
            raise AttributeError(f"{type(parent).__name__} has no submodule {name!r} to replace (looking up "
                                 f"{target!r}); pass strict=False to add it")
        elif hasattr(parent, name):
            raise AttributeError(f"set_submodule: {name!r} of {type(parent).__name__} is not a submodule, so a "
                                 f"module cannot be put there (looking up {target!r})")
        else:
            parent.add_module(name, module)

    def apply(self, fn):
        """Call ``fn`` on every submodule and then on this module, in PyTorch's order: a
        post-order walk with children in their order (a shared module once, where it is
        first met), so each module comes after all of its children. Without recursion."""
        seen = {id(self)}
        stack = [(self, iter(self.children()))]
        while stack:
            module, children = stack[-1]
            child = next((c for c in children if id(c) not in seen), None)
            if child is None:
                stack.pop()
                fn(module)
            else:
                seen.add(id(child))
                stack.append((child, iter(child.children())))
        return self

    # --- modes and gradients -------------------------------------------------------------
    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode must be a bool, not {mode!r}")
        object.__setattr__(self, "training", mode)
        # Through each child's own train(), as PyTorch: a block that overrides it (to keep
        # its batch norm frozen while fine-tuning, say) is obeyed inside a container too.
        for child in self.children():
            child.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        zero_grads(self.parameters(), set_to_none)

    def requires_grad_(self, requires_grad=True):
        if not isinstance(requires_grad, bool):  # as PyTorch: requires_grad_("no") must not mean True
            raise TypeError(f"requires_grad_: requires_grad must be a bool, not {type(requires_grad).__name__}")
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    # --- device and dtype ------------------------------------------------------------------
    def to(self, device=None, dtype=None, non_blocking=False):
        """Move (and/or cast the floating) parameters and buffers in place, so
        parameters keep their identity (an optimizer built earlier still holds them).
        Accepts ``to(device)``, ``to(dtype)``, ``to(device, dtype)`` and ``to(tensor)``;
        ``non_blocking`` is PyTorch's, accepted for its training loops (copies here block)."""
        if isinstance(device, Tensor):
            device, dtype = device._backend, device.dtype if dtype is None else dtype
        elif device is not None and (not isinstance(device, (str, backends.Backend)) or dtypes.names_a_dtype(device)):
            if dtype is not None:
                raise TypeError(f"Module.to: device must be a str or Backend, not {device!r}")
            device, dtype = None, device  # to(dtype), as PyTorch allows (and to("float64"), as Tensor.to)
        backend = None if device is None else backends.get(device)
        dtype = dtypes.canonical(dtype)
        if dtype is not None and not dtypes.is_floating(dtype):
            raise TypeError(f"Module.to: dtype must be floating point, not {dtype}")
        if backend is not None:
            backend.native_dtype(dtype or dtypes.float32)  # fail before moving anything
        for t in list(self.parameters()) + list(self.buffers()):
            _move(t, backend, dtype)
            if t.grad is not None:
                _move(t.grad, backend, dtype)
        return self

    def to_empty(self, *, device, recurse=True):
        """Give every parameter and buffer (and gradient) new memory on ``device``, keeping shape
        and dtype but not the values, as PyTorch's: where a model built on one device (or as
        Lazy placeholders) is then filled by load_state_dict or its initializers. In place, so
        parameters keep their identity; ``device=None`` keeps each where it is. ``recurse=False``
        leaves the submodules' tensors alone."""
        backend = None if device is None else backends.get(device)
        tensors = list(self.parameters(recurse)) + list(self.buffers(recurse))
        if backend is not None:
            for t in tensors:  # every dtype checked before anything moves
                backend.native_dtype(t.dtype)
        for t in tensors:
            _make_empty(t, backend)
            if t.grad is not None:
                _make_empty(t.grad, backend)
        return self

    def share_memory(self):
        """PyTorch's: moves the tensors to shared memory for multiprocessing (Hogwild training).
        topograd's arrays are never shared between processes (a child process gets a copy, by fork
        or pickle), so this changes nothing: it warns that a child's updates stay in the child,
        and returns the module, so code that only reads the model in workers runs unchanged."""
        warnings.warn("Module.share_memory: topograd does not share tensors between processes; each process "
                      "given this module works on its own copy, so updates made in one are not seen by the "
                      "others (train in one process, or send state_dict()s back)", stacklevel=2)
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=0):
        return self.to(f"cuda:{device}" if isinstance(device, int) else device)

    def float(self):
        return self.to(dtype="float32")

    def double(self):
        return self.to(dtype="float64")

    def half(self):
        return self.to(dtype="float16")

    # --- state -----------------------------------------------------------------------------
    def state_dict(self, *, destination=None, prefix="", keep_vars=False):
        """Parameters and persistent buffers by PyTorch's dotted names (each module's
        parameters, then its buffers, modules in pre-order). Values are detached
        tensors sharing memory with the module's, unless ``keep_vars=True``; a Lazy
        module's uninitialized ones (which have no memory yet) are themselves, as in PyTorch."""
        out = OrderedDict() if destination is None else destination
        for mprefix, module, leaving in self._walk():
            # ``prefix`` is put before each key as it is, as PyTorch's: "net." gives "net.weight",
            # and "net" gives "netweight".
            hook_prefix = prefix + (f"{mprefix}." if mprefix else "")
            if leaving:
                for hook in list(module._state_dict_hooks):
                    if hook(module, out, hook_prefix, {}) is not None:
                        raise RuntimeError("state_dict post-hook must return None; change the state_dict "
                                           "it is given in place instead")
                continue
            for hook in list(module._state_dict_pre_hooks):
                hook(module, hook_prefix, keep_vars)
            module._save_to_state_dict(out, hook_prefix, keep_vars)
        return out

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        """state_dict's step for this module, as PyTorch's, which a subclass may override (calling
        super() and then adding, converting or dropping entries): put its parameters and persistent
        buffers in ``destination`` under ``prefix`` + name (detached unless ``keep_vars``), then its
        extra state. A key it adds is one load_state_dict does not expect, unless the class also
        overrides _load_from_state_dict to take it out of the state dict."""
        for name, _, _, t in _own_state_entries(self, ""):
            destination[prefix + name] = t if keep_vars or is_lazy(t) else t.detach()
        if _defines(self, "get_extra_state"):  # after its tensors, before its submodules', as PyTorch's
            destination[prefix + _EXTRA_STATE] = self.get_extra_state()

    def get_extra_state(self):
        """What ``state_dict`` keeps of this module beyond its parameters and buffers, under the
        key ``_extra_state``, as PyTorch's: a module that has such state (a vocabulary, a
        configuration) defines this and ``set_extra_state``. ``nn.save`` stores it beside the
        tensors when it is made of numbers, strings, lists, dicts, tuples and Tensors."""
        raise RuntimeError(f"{type(self).__name__}.get_extra_state was called, but the module does not define it; "
                           "a module with extra state defines get_extra_state and set_extra_state")

    def set_extra_state(self, state):
        """Take back what ``get_extra_state`` returned; ``load_state_dict`` calls it."""
        raise RuntimeError(f"{type(self).__name__}.set_extra_state was called, but the module does not define it; "
                           "a module with extra state defines get_extra_state and set_extra_state")

    def _state_entries(self, prefix=""):
        """(key, module, name, tensor) for each entry of state_dict, in its order."""
        for mprefix, module in self.named_modules(prefix=prefix, remove_duplicate=False):
            yield from _own_state_entries(module, mprefix)

    def _walk(self, prefix=""):
        """(prefix, module, False) on reaching each module, in named_modules(remove_duplicate=False)'s
        order, and (prefix, module, True) on leaving it, after its submodules: where PyTorch's
        recursive state_dict and load_state_dict call a module's pre- and post-hooks. A loop."""
        stack = [(prefix, self, False)]
        while stack:
            mprefix, module, leaving = stack.pop()
            yield mprefix, module, leaving
            if not leaving:
                stack.append((mprefix, module, True))
                stack.extend(reversed([(f"{mprefix}.{k}" if mprefix else k, m, False)
                                       for k, m in module._modules.items() if m is not None]))

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values (Tensors or NumPy arrays) into the parameters and buffers.
        Every key and shape is checked first; on any problem nothing changes and
        the error lists each offending key. ``strict=False`` tolerates missing and
        unexpected keys (never wrong shapes). ``assign=True`` puts the values themselves
        in the module's place, keeping their dtype and device, as PyTorch's (a Tensor
        becomes a Parameter sharing its memory, with the replaced parameter's
        requires_grad). A Lazy module that has not run forward
        takes its sizes from the shapes loaded into it, as in PyTorch, and becomes its
        ordinary layer (see nn.layers.lazy)."""
        if not hasattr(state_dict, "items"):
            raise TypeError(f"load_state_dict: expected a mapping of name -> tensor, not {type(state_dict).__name__}"
                            + ("; pass the other module's .state_dict()" if isinstance(state_dict, Module) else ""))
        # The load's own copy, as PyTorch's: the pre-hooks may change it, the caller's stays as it was.
        state_dict = OrderedDict(state_dict.items())
        hooks_missing, hooks_unexpected, hooks_errors = [], [], []
        outer, _loads.reached = getattr(_loads, "reached", None), set()
        try:
            reached = _loads.reached
            for mprefix, module in self.named_modules(remove_duplicate=False):
                # A fresh metadata dict for each, as PyTorch's: an override may write into it.
                metadata = {"assign_to_params_buffers": True} if assign else {}
                module._load_from_state_dict(state_dict, f"{mprefix}." if mprefix else "", metadata, strict,
                                             hooks_missing, hooks_unexpected, hooks_errors)
        finally:
            _loads.reached = outer
        # A module whose override of _load_from_state_dict did not call super() loads its own
        # entries itself, as in PyTorch: they are neither looked for, copied nor reported here.
        declined = {f"{mprefix}." if mprefix else "" for mprefix, module in self.named_modules(remove_duplicate=False)
                    if id(module) not in reached}
        targets, slots = OrderedDict(), {}
        for key, module, name, target in self._state_entries():
            if id(module) not in reached:
                continue
            targets[key], slots[key] = target, (module, name)
        extra_states = {_extra_state_key(mprefix): module for mprefix, module in self.named_modules(remove_duplicate=False)
                        if _defines(module, "set_extra_state") and id(module) in reached}
        optional = {f"{mprefix}.{name}" if mprefix else name
                    for mprefix, module in self.named_modules(remove_duplicate=False)
                    for name in module._optional_state}
        missing = hooks_missing + [k for k in (*targets, *extra_states) if k not in state_dict and k not in optional]
        unexpected = hooks_unexpected + [k for k in state_dict if k not in targets and k not in extra_states
                                         and not any(k.startswith(p) and "." not in k[len(p):] for p in declined)]
        problems = list(hooks_errors)
        if strict and missing:
            problems.append("missing keys: " + ", ".join(repr(k) for k in missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(repr(k) for k in unexpected))
        if strict and missing and unexpected:
            problems.extend(_prefix_hint(missing, unexpected))
        lazy_shapes, initializations, refused = self._lazy_shapes_from_state(state_dict, problems)
        staged, assigned = [], []  # (target, host array) to copy; ((module, name), _assigned_value's) to assign
        # In the module's order, not the state dict's, as PyTorch copies: where two keys name one
        # tied parameter, the later one in state_dict() order is the value it keeps.
        for key, target in targets.items():
            if key not in state_dict:
                continue
            problem, loaded = _value_to_load(key, target, state_dict[key], lazy_shapes, refused, assign)
            if problem is not None:
                problems.append(problem)
            elif loaded is not None and assign:
                assigned.append((slots[key], loaded))
            elif loaded is not None:
                staged.append((target, loaded))
        if problems:
            raise StateDictError(f"Error(s) in loading state_dict for {type(self).__name__}: "
                                 + "; ".join(problems) + ". Nothing was changed.")
        for key, module in extra_states.items():  # first: one that refuses its state leaves the tensors as they were
            if key in state_dict:
                module.set_extra_state(state_dict[key])
        for initialize in initializations:  # every check passed: now the Lazy modules take their shapes
            initialize()
        where = f"{user_frame()} (load_state_dict)"
        with no_grad():
            for target, host in staged:
                _copy_into(target, host, where)
        for (module, name), (tensor, requires_grad) in assigned:
            if requires_grad is not None:
                tensor.requires_grad = requires_grad
            setattr(module, name, tensor)
        result = IncompatibleKeys(missing, unexpected)
        for _, module, leaving in self._walk():
            for hook in list(module._load_state_dict_post_hooks) if leaving else ():
                if hook(module, result) is not None:
                    raise RuntimeError("a load_state_dict post-hook must return None; change the "
                                       "incompatible_keys it is given in place instead")
        return result

    # --- printing ----------------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _indent(repr(m), 2) for name, m in self._modules.items()]
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        """load_state_dict's step for this module (its keys start with ``prefix``), which a subclass
        may override, as in PyTorch, to read an older checkpoint: rename, convert or drop its keys in
        ``state_dict`` (the load's own copy), append to ``missing_keys``, ``unexpected_keys`` or
        ``error_msgs`` (which refuses the load), then call ``super()._load_from_state_dict(...)``.
        Here it runs the module's load_state_dict pre-hooks. Unlike PyTorch's, it copies nothing:
        load_state_dict checks and copies every module's values after every module's step has run,
        so that a refused load changes nothing (an override must not change the module itself
        either). An override that does not call ``super()`` loads the module's own entries itself,
        as in PyTorch: load_state_dict then leaves them alone. ``local_metadata`` holds
        ``assign_to_params_buffers`` when loading with ``assign``."""
        reached = getattr(_loads, "reached", None)
        if reached is not None:  # (load_state_dict's own entries of this module are then checked and copied)
            reached.add(id(self))
        for hook in list(self._load_state_dict_pre_hooks):
            hook(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)

    def _lazy_shapes_from_state(self, state_dict, problems):
        """For load_state_dict: the shape ``state_dict`` gives each uninitialized tensor (a
        Lazy module's), by id; the functions that give them those shapes, to call once every
        check has passed; and the ids of the tensors of the Lazy modules the state refuses,
        whose problem is added to ``problems``."""
        lazy_shapes, initializations, refused = {}, [], set()
        for mprefix, module in self.named_modules():
            try:
                planned = module._shapes_from_state(f"{mprefix}." if mprefix else "", state_dict)
            except ValueError as exc:  # the state gives the module no size, or a bad one
                problems.append(str(exc))
                refused.update(id(t) for t in (*module._parameters.values(), *module._buffers.values()))
                continue
            if planned is not None:
                shapes, initialize = planned
                lazy_shapes.update(shapes)
                initializations.append(initialize)
        return lazy_shapes, initializations, refused

    def _shapes_from_state(self, prefix, state_dict):
        """For load_state_dict: None here. A Lazy module that has not run forward returns
        the shape ``state_dict`` gives each of its uninitialized tensors, by id, and the
        function that gives them those shapes (see nn.layers.lazy)."""
        return None

    def __dir__(self):
        # As PyTorch's: without the names that cannot be attributes (a Sequential's "0", "1", ...),
        # which tab completion would offer as self.0.
        names = set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules)
        return sorted(name for name in names if not name[:1].isdigit())


def _own_state_entries(module, mprefix):
    """(key, module, name, tensor) for the module's own parameters, then its persistent buffers."""
    for name, p in module._parameters.items():
        if p is not None:
            yield (f"{mprefix}.{name}" if mprefix else name), module, name, p
    for name, b in module._buffers.items():
        if b is not None and name not in module._non_persistent:
            yield (f"{mprefix}.{name}" if mprefix else name), module, name, b


_EXTRA_STATE = "_extra_state"


def _extra_state_key(mprefix):
    return f"{mprefix}.{_EXTRA_STATE}" if mprefix else _EXTRA_STATE


def is_extra_state_key(key):
    """Whether a state_dict key names a module's extra state (see Module.get_extra_state)."""
    return key == _EXTRA_STATE or key.endswith("." + _EXTRA_STATE)


def _defines(module, method):
    """Whether the module's class overrides Module's ``method`` (get_extra_state, set_extra_state)."""
    return getattr(type(module), method) is not getattr(Module, method)


def _refuse_before_init(module, what):
    raise AttributeError(f"{type(module).__name__}: cannot {what} before Module.__init__() has run; "
                         "call super().__init__() first in __init__")


def _call_forward_hook(module, hook, args, kwargs, out):
    if type(hook) is not _HookEntry:
        return hook(module, args, out)
    return hook.fn(module, args, kwargs, out) if hook.with_kwargs else hook.fn(module, args, out)


def _indent(text, spaces):
    """Indent every line but the first, as PyTorch's nested reprs do."""
    return text.replace("\n", "\n" + " " * spaces)


def _value_to_load(key, target, value, lazy_shapes, refused, assign):
    """load_state_dict's check of ``value`` for ``target`` (``state_dict[key]``): (problem,
    None) when it is refused, (None, None) when there is nothing to load, else (None, loaded):
    the host array to copy into the target or, with ``assign``, what _assigned_value gives.
    Converted here, so a value that cannot be read fails before anything is changed."""
    if is_lazy(value):
        if not is_lazy(target):
            return (f"{key}: the value is an uninitialized {value._kind} (from a Lazy module that had not run "
                    "forward when its state_dict was taken); run the saved model forward once before taking "
                    "its state_dict"), None
        return None, None  # an uninitialized value into an uninitialized target: nothing to copy, as in PyTorch
    if is_lazy(target):
        expected = lazy_shapes.get(id(target))
        if expected is None:
            if id(target) in refused:  # its Lazy module's problem is listed already
                return None, None
            return (f"{key}: the target is an uninitialized {target._kind} outside a Lazy module, which nothing "
                    "gives a shape; materialize() it first"), None
    else:
        expected = target.shape
    host = value._backend.to_numpy(value.data) if isinstance(value, Tensor) else value
    shape = getattr(host, "shape", None)
    if shape is None:
        return f"{key}: expected a tensor or array of shape {expected}, got a {type(value).__name__}", None
    if tuple(shape) == (1,) and expected == ():  # a 0-d tensor as older PyTorch saved it, read as PyTorch does
        host, shape = host.reshape(()), ()
    if tuple(shape) != expected:
        return f"{key}: expected shape {expected}, got {tuple(shape)}", None
    kind = getattr(getattr(host, "dtype", None), "kind", "f")
    if kind not in "biuf":  # NumPy would cast an object array's None to NaN, silently
        return f"{key}: expected numbers, got an array of dtype {host.dtype}", None
    try:
        if assign:
            return None, _assigned_value(target, value, host)
        return None, backends.get("cpu").asarray(host, target.dtype)
    except Exception as exc:
        into = "to assign" if assign else f"as {target.dtype}"
        return (f"{key}: cannot read a {type(value).__module__}.{type(value).__qualname__} of dtype "
                f"{getattr(value, 'dtype', '?')} {into} ({type(exc).__name__}: {exc})"), None


def _assigned_value(target, value, host):
    """What load_state_dict(assign=True) puts in ``target``'s place, and the requires_grad to
    give it (None: leave it): a Tensor itself (a NumPy array as one on the target's device),
    wrapped as a Parameter sharing its memory where the target is a parameter. Built before
    anything changes; a value a parameter cannot hold (an integer array) raises here."""
    if not isinstance(value, Tensor) or value.shape != host.shape:  # an array, or a 0-d value saved with shape (1,)
        device = value._backend if isinstance(value, Tensor) else target._backend
        value = Tensor(backends.get("cpu").asarray(host), device=device)
    if not isinstance(target, Parameter):
        return value, None
    if isinstance(value, Parameter):
        if target.requires_grad and not dtypes.is_floating(value.dtype):
            raise TypeError(f"only floating-point tensors can require gradients, not {value.dtype}")
        return value, target.requires_grad
    return Parameter(value, requires_grad=target.requires_grad), None


def _copy_into(target, host, where):
    """Write host values into the target's existing array (keeping views and identity),
    and count it as an in-place change, so a graph that saved the old values refuses
    to backward through them."""
    backend = target._backend
    array = backend.asarray(host, target.dtype)
    target.data[...] = array
    count_change(target, where)


def _make_empty(t, backend):
    """What to_empty does to a tensor: new, unfilled memory of its shape and dtype on ``backend``
    (None: where it is). A Lazy placeholder has no shape yet: it only moves."""
    backend = t._backend if backend is None else backend
    if is_lazy(t):
        t._move_placeholder(backend, None)
        return
    t.data = empty(t.shape, dtype=t.dtype, device=backend).data
    t._backend = backend


def _move(t, backend, dtype):
    if is_lazy(t):  # no values to copy: only the device and dtype they will have change
        t._move_placeholder(backend, dtype)
        return
    if backend is not None and backend is not t._backend:
        t.data = backend.from_numpy(t._backend.to_numpy(t.data))
        t._backend = backend
    if dtype is not None and dtypes.is_floating(t.dtype) and t.dtype != dtype:
        t.data = t._backend.xp.astype(t.data, t._backend.native_dtype(dtype))
