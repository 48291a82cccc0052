"""A module's full backward hooks (Module.register_full_backward_pre_hook and
register_full_backward_hook), as PyTorch's BackwardHook runs them; and the hooks on every
module's calls (register_module_forward_hook and the others, at the end).

A call of a module that has such hooks passes its positional Tensor inputs, and then
its Tensor outputs, through an identity Function (``BackwardHookFunction``). The
engine runs the outputs' node once every output's gradient is known: there the
pre-hooks see (and may replace) ``grad_output``. It runs the inputs' node once the
gradients of all the inputs are known: there the hooks see ``grad_input`` and
``grad_output`` and may replace ``grad_input``. Modules without these hooks never
come here, so their calls cost nothing more.
"""
import warnings

from autograd import Tensor, grad_mode
from autograd.function import Function
from autograd.tensor import HookHandle, check_hook


class BackwardHookFunction(Function):
    """Identity on the tensors given, with ``hooks`` (a _CallHooks) run in backward.
    The outputs share their inputs' memory and in-place counter; changing one in place
    while recording is refused (see Tensor._check_inplace), as PyTorch refuses it."""
    _aliases_inputs = True

    @staticmethod
    def forward(ctx, *args):
        *tensors, hooks, on_outputs = args
        ctx.hooks, ctx.on_outputs = hooks, on_outputs
        ctx.mark_non_differentiable(*[t.data for t in tensors if not t.requires_grad])
        # As PyTorch's: an output that received no gradient is None to the pre-hooks.
        ctx.set_materialize_grads(not on_outputs)
        return tuple(t.data for t in tensors)

    @staticmethod
    def backward(ctx, *grads):
        hooks = ctx.hooks
        grads = hooks.at_outputs(grads) if ctx.on_outputs else hooks.at_inputs(grads)
        return (*grads, None, None)


# Treated as a user-written Function: the engine checks what a hook returns (one Tensor or
# None per tensor, of its shape, cast to its dtype), and each output, being its input's
# array, shares that input's in-place counter.
BackwardHookFunction._user_defined = BackwardHookFunction._special = True


class _CallHooks:
    """One module call's hooks, taken when it was called (as PyTorch: a hook removed
    before backward still runs for that call), and the link between its two nodes."""

    def __init__(self, module, hooks, pre_hooks):
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.grad_outputs = None
        self.n_inputs = self.n_outputs = 0
        self.input_positions = self.output_positions = None

    def wrap_inputs(self, args):
        self.n_inputs = len(args)
        args, self.input_positions = self._wrap(args, on_outputs=False)
        return args

    def wrap_outputs(self, out):
        if not isinstance(out, (Tensor, tuple)):
            warnings.warn("For backward hooks to be called, module output should be a Tensor or a tuple of "
                          f"Tensors but received {type(out)}", stacklevel=4)
            return out
        single = isinstance(out, Tensor)
        outputs = (out,) if single else out
        self.n_outputs = len(outputs)
        outputs, self.output_positions = self._wrap(outputs, on_outputs=True)
        return outputs[0] if single else outputs

    def _wrap(self, values, on_outputs):
        """``values`` with their Tensors passed through a BackwardHookFunction, and the
        positions of those Tensors; unchanged (positions None) if none requires grad."""
        positions = [i for i, v in enumerate(values) if isinstance(v, Tensor)]
        if not (grad_mode.state.enabled and any(values[i].requires_grad for i in positions)):
            return values, None
        tensors = [values[i] for i in positions]
        wrapped = BackwardHookFunction.apply(*tensors, self, on_outputs)
        out = list(values)
        for i, w in zip(positions, wrapped):
            out[i] = w  # (sharing its input's in-place counter: Function's rule for a returned input)
        return (type(values)(*out) if hasattr(values, "_fields") else tuple(out)), positions

    def at_outputs(self, grads):
        """The outputs' node: the pre-hooks, and the hooks themselves when no input
        requires grad (there is no inputs' node to run them then)."""
        grad_outputs = _spread(self.output_positions, grads, self.n_outputs)
        for hook in self.pre_hooks:
            replaced = hook(self.module, grad_outputs)
            if replaced is not None:
                _check_count("Backward pre hook", "grad_output", replaced, self.n_outputs)
                grad_outputs = tuple(replaced)
        if self.input_positions is not None:
            # Kept for the inputs' node only: under create_graph these gradients lead back
            # to this node (through what their ops saved), a cycle until at_inputs clears it.
            self.grad_outputs = grad_outputs
        elif self.hooks:
            warnings.warn("Full backward hook is firing when gradients are computed with respect to module "
                          "outputs since no inputs require gradients", stacklevel=2)
            no_grads = (None,) * self.n_inputs
            for hook in self.hooks:
                replaced = hook(self.module, no_grads, grad_outputs)
                if replaced is not None and any(g is not None for g in replaced):
                    raise RuntimeError("Backward hook for Modules where no input requires gradient should always "
                                       "return None or None for all gradients.")
        return _gather(self.output_positions, grad_outputs)

    def at_inputs(self, grads):
        if self.grad_outputs is None:
            # The gradient reached the inputs without going through the outputs (a second
            # backward through the module's inside, say): nothing to run, as in PyTorch.
            return grads
        grad_input = _spread(self.input_positions, grads, self.n_inputs)
        for hook in self.hooks:
            replaced = hook(self.module, grad_input, self.grad_outputs)
            if replaced is not None:
                _check_count("Backward hook", "grad_input", replaced, self.n_inputs)
                grad_input = tuple(replaced)
        self.grad_outputs = None
        return _gather(self.input_positions, grad_input)


def _spread(positions, grads, size):
    """One entry per argument (or output): the tensors' gradients, None elsewhere."""
    out = [None] * size
    for i, g in zip(positions, grads):
        out[i] = g
    return tuple(out)


def _gather(positions, values):
    return tuple(values[i] for i in positions)


def _check_count(what, name, replaced, expected):
    if not isinstance(replaced, (tuple, list)) or len(replaced) != expected:
        got = len(replaced) if isinstance(replaced, (tuple, list)) else f"a {type(replaced).__name__}"
        raise RuntimeError(f"{what} returned an invalid number of {name}, got {got}, but expected {expected}; "
                           f"return None or a tuple with one entry (a Tensor or None) per {name} entry")


# --- hooks on every module's calls ---------------------------------------------------------------
# PyTorch's torch.nn.modules.module.register_module_*_hook (here nn.module.register_module_*_hook):
# they run on every Module's calls, before that module's own hooks of the same kind. Kept in
# registration order; a module's call takes them as they are when it starts.
global_forward_pre_hooks = []
global_forward_hooks = []
global_backward_pre_hooks = []
global_backward_hooks = []
# The handles of the global hooks registered now: one check in Module.__call__ for all four lists.
global_hooks_in_use = []


class _GlobalHookHandle(HookHandle):
    def __init__(self, hooks, fn):
        super().__init__(hooks, fn)
        global_hooks_in_use.append(self)

    def remove(self):
        super().remove()
        if self in global_hooks_in_use:
            global_hooks_in_use.remove(self)


class HookEntry:
    """A forward (pre-)hook registered with ``with_kwargs`` or ``always_call``: its own
    entry in a hook list, telling Module.__call__ how to call it."""
    __slots__ = ("fn", "with_kwargs", "always_call")

    def __init__(self, fn, with_kwargs, always_call=False):
        self.fn, self.with_kwargs, self.always_call = fn, with_kwargs, always_call


def register_module_forward_pre_hook(hook):
    """Call ``hook(module, args)`` before every module's forward, before its own pre-hooks; a
    non-None return replaces the args. Global: for debugging and profiling, as PyTorch's."""
    check_hook("register_module_forward_pre_hook", hook)
    return _GlobalHookHandle(global_forward_pre_hooks, hook)


def register_module_forward_hook(hook, *, with_kwargs=False, always_call=False):
    """Call ``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` with
    ``with_kwargs``) after every module's forward, before its own hooks; a non-None return
    replaces the output. ``always_call`` runs it even when forward raised. Global, as PyTorch's."""
    check_hook("register_module_forward_hook", hook)
    entry = HookEntry(hook, with_kwargs, always_call) if with_kwargs or always_call else hook
    return _GlobalHookHandle(global_forward_hooks, entry)


def register_module_full_backward_pre_hook(hook):
    """Module.register_full_backward_pre_hook for every module's calls, run before the module's own.
    Global, as PyTorch's."""
    check_hook("register_module_full_backward_pre_hook", hook)
    return _GlobalHookHandle(global_backward_pre_hooks, hook)


def register_module_full_backward_hook(hook):
    """Module.register_full_backward_hook for every module's calls, run before the module's own.
    Global, as PyTorch's."""
    check_hook("register_module_full_backward_hook", hook)
    return _GlobalHookHandle(global_backward_hooks, hook)
