"""Module: the base of every layer. Assigning a Parameter, Module or buffer as an
attribute registers it, so parameters(), state_dict() and to() find it."""
from collections import OrderedDict

import backends
from autograd import Tensor, no_grad
from autograd import function as _function
from autograd.tensor import HookHandle
from backends import dtypes

from .parameter import Parameter


class Module:
    training: bool

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", [])
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        # Ops recorded inside this call remember the module stack, so drawings and
        # the profiler can group them by module.
        outer = _function.current_scope
        _function.current_scope = (self,) if outer is None else outer + (self,)
        try:
            out = self.forward(*args, **kwargs)
        finally:
            _function.current_scope = outer
        for hook in list(self._forward_hooks):
            replaced = hook(self, args, out)
            if replaced is not None:
                out = replaced
        return out

    # --- registration ------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        params, modules, buffers = self._parameters, self._modules, self._buffers
        if isinstance(value, Parameter):
            self._forget(name)
            params[name] = value
        elif isinstance(value, Module):
            self._forget(name)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to parameter {name!r}; "
                                "assign an nn.Parameter or None")
            params[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign a {type(value).__name__} to buffer {name!r}; assign a Tensor")
            buffers[name] = value
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to submodule {name!r}")
            modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name):
        for registry in (self._parameters, self._modules, self._buffers):
            registry.pop(name, None)
        self.__dict__.pop(name, None)

    def __getattr__(self, name):
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be an nn.Parameter or None")
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor that is state but not learnable (running statistics)."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None")
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    def register_forward_hook(self, hook):
        """Call ``hook(module, inputs, output)`` after forward; a non-None return replaces the output."""
        self._forward_hooks.append(hook)
        return HookHandle(self._forward_hooks, hook)

    # --- traversal -------------------------------------------------------------------
    def named_modules(self, prefix="", memo=None):
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:  # iterative, in PyTorch's (pre-)order
            name, module = stack.pop()
            if id(module) in memo:
                continue
            memo.add(id(module))
            yield name, module
            children = [(f"{name}.{k}" if name else k, m) for k, m in module._modules.items() if m is not None]
            stack.extend(reversed(children))

    def modules(self):
        for _, m in self.named_modules():
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

    def _named_members(self, registry, recurse, include=lambda module, name: True):
        seen = set()
        modules = self.named_modules() if recurse else [("", self)]
        for prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen or not include(module, name):
                    continue
                seen.add(id(value))
                yield (f"{prefix}.{name}" if prefix else name), value

    def named_parameters(self, prefix="", recurse=True):
        for name, p in self._named_members("_parameters", recurse):
            yield (f"{prefix}.{name}" if prefix else name), p

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True):
        for name, b in self._named_members("_buffers", recurse):
            yield (f"{prefix}.{name}" if prefix else name), b

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn):
        for m in list(self.modules())[::-1]:
            fn(m)
        return self

    # --- modes and gradients -------------------------------------------------------------
    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    with no_grad():
                        p.grad.zero_()

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    # --- device and dtype ------------------------------------------------------------------
    def to(self, device=None, dtype=None):
        """Move (and/or cast floating) parameters and buffers in place; parameters keep their identity."""
        backend = None if device is None else backends.get(device)
        dtype = dtypes.canonical(dtype)
        if dtype is not None and not dtypes.is_floating(dtype):
            raise TypeError(f"Module.to: dtype must be floating point, not {dtype}")
        for t in list(self.parameters()) + list(self.buffers()):
            _move(t, backend, dtype)
            if t.grad is not None:
                _move(t.grad, backend, dtype)
        return self

    def float(self):
        return self.to(dtype="float32")

    def double(self):
        return self.to(dtype="float64")

    # --- state -----------------------------------------------------------------------------
    def state_dict(self, prefix=""):
        """Parameters and persistent buffers by PyTorch's dotted names, detached."""
        out = OrderedDict()
        for mprefix, module in self.named_modules(prefix.rstrip(".")):
            for name, p in module._parameters.items():
                if p is not None:
                    out[f"{mprefix}.{name}" if mprefix else name] = p.detach()
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    out[f"{mprefix}.{name}" if mprefix else name] = b.detach()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy values into parameters and buffers. Every key and shape is checked
        first; on any error nothing is changed."""
        own = self.state_dict()
        targets = {}
        for mprefix, module in self.named_modules():
            for registry in (module._parameters, module._buffers):
                for name, t in registry.items():
                    if t is not None:
                        targets[f"{mprefix}.{name}" if mprefix else name] = t
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        staged = []
        for key, value in state_dict.items():
            if key not in own:
                continue
            target = targets[key]
            host = value.numpy() if isinstance(value, Tensor) else value
            shape = tuple(getattr(host, "shape", ()))
            if shape != target.shape:
                problems.append(f"{key}: expected shape {target.shape}, got {shape}")
                continue
            staged.append((target, host))
        if problems:
            raise ValueError(f"load_state_dict for {type(self).__name__}: " + "; ".join(problems))
        with no_grad():
            for target, host in staged:
                _copy_into(target, host)
        return {"missing_keys": missing, "unexpected_keys": unexpected}

    # --- printing ----------------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines.extend(extra.split("\n"))
        for name, m in self._modules.items():
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        if not lines:
            return f"{type(self).__name__}()"
        if len(lines) == 1 and not self._modules:
            return f"{type(self).__name__}({lines[0]})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))


def _copy_into(target, host):
    """Write host values into the target's existing array (keeping views and identity)."""
    backend = target._backend
    array = backend.asarray(backends.get("cpu").xp.asarray(host), target.dtype)
    if target.data.ndim == 0 or not hasattr(target.data, "__setitem__"):
        target.data = array  # 0-d values may be immutable scalars
    else:
        target.data[...] = array
    v = target._version
    if v is not None:
        v.value += 1


def _move(t, backend, dtype):
    if backend is not None and backend is not t._backend:
        t.data = backend.from_numpy(t._backend.to_numpy(t.data))
        t._backend = backend
    if dtype is not None and dtypes.is_floating(t.dtype) and t.dtype != dtype:
        t.data = t._backend.xp.astype(t.data, t._backend.native_dtype(dtype))
