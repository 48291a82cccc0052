"""Activation checkpointing, PyTorch's ``torch.utils.checkpoint``: trade compute for memory.

``checkpoint(function, *args)`` runs ``function`` and keeps, until backward, only what
it was given and what it returns: the graph it records is dropped as soon as it returns,
with every activation its ops saved. One node stands for the whole call. Its backward
runs ``function`` again, recorded, on the same tensors, and differentiates that graph
(``ag.grad`` inside the backward pass, which the engine allows), so the gradients are the
plain run's, bit for bit where the ops are deterministic.

The node's inputs are every tensor that requires grad and that ``function`` reached
from outside (its arguments, and the parameters of the modules or closures it calls),
found by watching the ops it runs as ``Function.apply`` observers watch them. So those
tensors get their gradients through the node, from ``.backward()``, ``ag.grad``,
``backward(inputs=...)`` and ``create_graph=True`` alike, and their hooks run once, on
the whole gradient. This is PyTorch's ``use_reentrant=False``; ``use_reentrant=True``
takes PyTorch's narrower arguments but runs the same way (see ``checkpoint``).
"""
import contextlib
import copy
import threading
import warnings
import weakref

import backends
from . import autocast_mode, function as _function
from .engine import grad
from .function import Function
from .grad_mode import enable_grad, is_grad_enabled, retains_graph
from .ops.nn_fused.recompute import _Alias
from .tensor import Tensor, share_version, version_of

__all__ = ["CheckpointError", "checkpoint", "checkpoint_sequential", "replayed_in_recompute"]

_DETERMINISM_CHECKS = ("default", "none")
_replays = threading.local()  # .stack: the context factories of replayed_in_recompute, in this thread


def _replay_stack():
    stack = getattr(_replays, "stack", None)
    if stack is None:
        stack = _replays.stack = []
    return stack


@contextlib.contextmanager
def replayed_in_recompute(factory):
    """While the block runs, a checkpoint started in this thread also enters ``factory()``
    (a context manager) around its recomputation in backward, which runs after the block
    has ended: for state that ``function`` reads and that is set only for the block, such
    as the tensors ``nn.utils.stateless.functional_call`` swaps into a module (recomputed
    without them, the checkpointed block would read the module's own)."""
    stack = _replay_stack()
    stack.append(factory)
    try:
        yield
    finally:
        stack.pop()


class CheckpointError(RuntimeError):
    """The recomputation in backward did not match the forward (PyTorch's name)."""


def noop_context_fn():
    """The default ``context_fn``: no context around the forward or the recomputation."""
    return contextlib.nullcontext(), contextlib.nullcontext()


def checkpoint(function, *args, use_reentrant=None, context_fn=noop_context_fn, determinism_check="default",
               debug=False, early_stop=True, **kwargs):
    """``function(*args, **kwargs)``, with its activations recomputed in backward instead of kept.

    As PyTorch 2.13's: ``use_reentrant`` should be given; left out, it warns and means True.
    ``preserve_rng_state=True`` (a keyword) replays the random draws of the forward
    (dropout masks) in the recomputation, from a copy of the generators of the devices
    of the tensor arguments and of the CPU; the forward's autocast state is replayed too,
    as PyTorch's is. ``context_fn`` returns two context managers,
    entered around the forward and around the recomputation. ``determinism_check="default"``
    checks that the recomputation returns outputs of the forward's shapes, dtypes and
    devices and uses no tensor that requires grad which the forward did not use.
    ``early_stop`` is accepted, but the recomputation runs the whole function, module
    hooks included (PyTorch's stops once it has what backward needs, so forward hooks
    run once there, twice here); ``debug`` is accepted, and the errors are the same.
    A tensor argument that ``function`` changes in place is refused (it could not be run
    again on the values it was given), as is, under the default ``determinism_check``, a
    leaf requiring grad that ``function`` makes itself (PyTorch takes it).

    The forward records ``function``'s graph, as a plain call does, and drops it when the
    call returns: the memory kept until backward is the inputs', but the peak during one
    call is a plain call's (PyTorch's records nothing inside); ``checkpoint_sequential``
    bounds it per segment. While a checkpointed call runs, every op of every thread goes
    through its watch (a few percent slower).

    Differences from PyTorch's ``use_reentrant=True``, which runs a separate backward
    pass inside the node: here both modes run as ``use_reentrant=False`` does, so with
    ``True`` too ``ag.grad`` and ``backward(inputs=...)`` work (PyTorch raises),
    ``create_graph=True`` gives second derivatives, parameters reached by ``function``
    get their gradients even when no argument requires grad (PyTorch's are None, with a
    warning), and outputs that depend on nothing that requires grad do not require grad.
    ``use_reentrant=True`` still refuses keyword arguments and ``context_fn``, as PyTorch's."""
    use_reentrant = _reentrant_given("checkpoint", use_reentrant)
    preserve_rng_state = kwargs.pop("preserve_rng_state", True)
    if use_reentrant:
        if kwargs:
            raise ValueError(f"checkpoint: unexpected keyword arguments {', '.join(kwargs)} with "
                             "use_reentrant=True; pass use_reentrant=False to give function keyword arguments")
        if context_fn is not noop_context_fn or debug:
            raise ValueError("checkpoint: context_fn and debug are only supported with use_reentrant=False")
    if determinism_check not in _DETERMINISM_CHECKS:
        raise ValueError(f"checkpoint: determinism_check should be one of {list(_DETERMINISM_CHECKS)}, "
                         f"but got {determinism_check!r}")
    if not callable(function):
        raise TypeError(f"checkpoint: function must be callable, got {type(function).__name__}")
    if not is_grad_enabled():
        return function(*args, **kwargs)  # nothing is recorded, so there is nothing to save
    given = _tensors_in(args, kwargs)
    run = _Run(function, args, kwargs, determinism_check == "default")
    run.rng = _RngStates(given) if preserve_rng_state else None
    run.autocast = autocast_mode.snapshot()
    run.replays = tuple(_replay_stack())
    forward_context, run.recompute_context = context_fn()
    versions = [version_of(t).value for t in given]
    with forward_context:
        out, watch = _watched_call(function, args, kwargs)
    if [version_of(t).value for t in given] != versions or run.held_changed():
        # The recomputation would start from the changed values, and change them again
        raise RuntimeError("checkpoint: function changed a tensor argument in place, so it cannot be run again "
                           "in backward on the values it was given; pass it a .clone(), or make the change "
                           "out of place")
    return run.connect(out, watch, given)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run ``functions`` (a list of callables, or an ``nn.Sequential``) in order on
    ``input``, in ``segments`` pieces; each but the last is a ``checkpoint``, so only
    the segments' inputs are kept (and the last segment's activations).
    ``preserve_rng_state`` is the one keyword taken, as in PyTorch."""
    use_reentrant = _reentrant_given("checkpoint_sequential", use_reentrant)
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError(f"checkpoint_sequential: unexpected keyword arguments {', '.join(kwargs)}; "
                         "only preserve_rng_state is taken")
    functions = list(functions)  # a Sequential runs its modules in this order, repeats included
    if isinstance(segments, bool) or not isinstance(segments, int) or not 1 <= segments <= len(functions):
        raise ValueError(f"checkpoint_sequential: segments must be an int from 1 to the number of functions "
                         f"({len(functions)}), got {segments!r}")
    size = len(functions) // segments
    for start in range(0, size * (segments - 1), size):
        input = checkpoint(_chain(functions[start:start + size]), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return _chain(functions[size * (segments - 1):])(input)  # the last segment's backward follows at once


def _reentrant_given(caller, use_reentrant):
    """``use_reentrant``, True where it was left out, with PyTorch 2.13's warning then."""
    if use_reentrant is None:
        warnings.warn(f"{caller}: pass use_reentrant explicitly (PyTorch 2.13 warns and will raise); it "
                      "defaults to True, as in PyTorch. use_reentrant=False is recommended; both run the "
                      "same way in topograd", UserWarning, stacklevel=3)
        return True
    return use_reentrant


def _chain(functions):
    def run(x):
        for f in functions:
            x = f(x)
        return x
    return run


class _Run:
    """One checkpointed call: what the recomputation needs."""

    def __init__(self, function, args, kwargs, check):
        self.function = function
        # The arguments, each top-level Tensor left out (None): the node saves those, so
        # that the engine frees them after backward and catches a change in place.
        self.args = [None if isinstance(a, Tensor) else a for a in args]
        self.kwargs = {k: None if isinstance(v, Tensor) else v for k, v in kwargs.items()}
        self.arg_slots = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        # The tensors inside list and dict arguments, which the node does not save, with their
        # versions: recomputed from changed values, their gradients would be silently wrong.
        self.held = [(t, version_of(t).value) for t in _flatten((self.args, self.kwargs), []) if isinstance(t, Tensor)]
        self.kwarg_slots = [k for k, v in kwargs.items() if isinstance(v, Tensor)]
        self.check = check
        self.rng = None
        self.autocast = None  # the forward's autocast state (autocast_mode.snapshot), replayed in recompute
        self.replays = ()  # the factories of replayed_in_recompute active at the forward, outermost first
        self.recompute_context = None
        self.externals = None  # the tensors function reached from outside, as it met them
        self.given_externals = None  # per tensor argument: its position in externals, or None
        self.passed = None     # per output tensor: its position in externals, where function returned one
        self.out_meta = None

    def connect(self, out, watch, given):
        """function's result, each of its tensors made an output of one checkpoint node."""
        leaves = _flatten(out, [])
        tensors = [t for t in leaves if isinstance(t, Tensor)]
        externals, positions = watch.externals, watch.positions
        for t in tensors:
            # An output that function returned untouched (an argument, a parameter) or
            # made outside: a node input too, which that output's gradient goes to as it is.
            if t.requires_grad and (t.grad_fn is None or id(t.grad_fn) not in watch.inner):
                watch.add_external(t)
        if not externals or not tensors:
            return out  # nothing requires grad (so nothing was recorded), or nothing to differentiate
        self.externals = externals
        self.out_meta = [(t.shape, t.dtype, t.device) for t in tensors]
        self.passed = [positions.get(id(t)) if t.requires_grad else None for t in tensors]
        self.given_externals = [positions.get(id(t)) for t in given]
        # An output whose array is that of a tensor the node saves (an argument returned, or
        # its .detach()) goes out as a view: the node would take the saved tensor for its output.
        kept = {id(t.data) for t in (*given, *externals)}
        arrays = tuple(t.data[...] if id(t.data) in kept else t.data for t in tensors)
        differentiable = {id(a) for a, t in zip(arrays, tensors) if t.requires_grad}
        constant = [a for a, t in zip(arrays, tensors) if not t.requires_grad and id(a) not in differentiable]
        with _in_scope_of(self.function):
            outputs = _Checkpoint.apply(self, arrays, constant, given, *externals)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        saved = {id(s) for s in (*given, *externals)}
        for t, o in zip(tensors, outputs):
            # (a view of) a tensor the node saves: one in-place counter, so that a change of the
            # output is caught by the backward that recomputes from the saved tensor
            root = t._root()
            if id(root) in saved:
                share_version(o, version_of(root))
        outputs = iter(outputs)
        return _rebuild(out, iter([next(outputs) if isinstance(t, Tensor) else t for t in leaves]))

    def held_changed(self):
        return any(version_of(t).value != version for t, version in self.held)

    def recompute(self, given, producers):
        """function run again, recorded, on the same tensors, each external one met as an
        alias of the node's input for it (ag.grad stops there, and under create_graph the
        gradients stay connected to the graph outside). Returns the result's tensors and,
        per external tensor, its alias (None where the recomputation did not use it)."""
        if self.held_changed():
            raise RuntimeError("checkpoint: a tensor in a list or dict argument was modified in place after the "
                               "forward, so backward cannot recompute from the values it was given; pass a "
                               ".clone() of it to checkpoint, or make the change out of place")
        args, kwargs = list(self.args), dict(self.kwargs)
        substitute = dict(zip(map(id, self.externals), producers))
        # Under saved_tensors_hooks the node's saved tensors come back as new tensors, not
        # those the forward met. So each saved argument stands for its external tensor too,
        # and each input for itself, as without hooks, where it is that external tensor (a
        # checkpoint nested in function meets the inputs: its watch sees the aliases made here).
        for t, position in zip(given, self.given_externals):
            if position is not None:
                substitute[id(t)] = producers[position]
        substitute.update((id(p), p) for p in producers)
        given = iter(given)
        for i in self.arg_slots:
            args[i] = next(given)
        for k in self.kwarg_slots:
            kwargs[k] = next(given)
        with contextlib.ExitStack() as replayed:
            for factory in self.replays:
                replayed.enter_context(factory())
            with _RngReplay(self.rng), autocast_mode.replayed(self.autocast), self.recompute_context, enable_grad():
                out, watch = _watched_call(self.function, args, kwargs, substitute)
        tensors = [t for t in _flatten(out, []) if isinstance(t, Tensor)]
        if self.check:
            self._check(tensors, watch.externals)
        return tensors, [watch.aliases.get(id(p)) for p in producers]

    def _check(self, tensors, unexpected):
        meta = [(t.shape, t.dtype, t.device) for t in tensors]
        if meta != self.out_meta:
            raise CheckpointError(
                "checkpoint: the recomputation in backward returned tensors of other shapes, dtypes or devices "
                f"than the forward: {meta} against {self.out_meta}; make function return the same each time "
                "it runs, or pass determinism_check='none'")
        if unexpected:
            raise CheckpointError(
                f"checkpoint: the recomputation in backward used {len(unexpected)} tensor(s) that require grad "
                f"which the forward did not use (the first of shape {unexpected[0].shape}), so their gradients "
                "would be lost; make function use the same tensors each time it runs, or pass "
                "determinism_check='none'")


class _Checkpoint(Function):
    """The node of a checkpointed call. Arguments: the _Run, the output arrays, those of
    them that take no gradient, the tensor arguments (kept for the recomputation; their
    gradients, where they require grad, go through externals), then the external tensors."""
    # It stands for function's graph, which PyTorch's engine runs where the pass reaches
    # it with no gradient: hooks there see None, and a custom Function gets zeros.
    _special = _runs_without_gradient = True

    @staticmethod
    def forward(ctx, run, arrays, constant, given, *externals):
        ctx.run = run
        ctx.n_given = len(given)
        ctx.save_for_backward(*given, *externals)
        ctx.set_materialize_grads(False)  # an output nobody used needs no gradient recomputed
        if constant:
            ctx.mark_non_differentiable(*constant)
        return arrays if len(arrays) != 1 else arrays[0]

    @staticmethod
    def backward(ctx, *grads):
        run = ctx.run
        saved = ctx.saved_tensors  # (raises if freed, or if one was changed in place since forward)
        given, producers = saved[:ctx.n_given], saved[ctx.n_given:]
        create_graph = is_grad_enabled()  # the engine records a backward only under create_graph
        tensors, aliases = run.recompute(given, producers)
        if not retains_graph():
            ctx.run = None  # freed with what the node saved: its arguments (tensors in lists too), RNG states
        found = [None] * len(producers)
        roots, seeds = [], []
        reached_without_gradient = all(g is None for g in grads)
        for t, g, passed in zip(tensors, grads, run.passed):
            if passed is not None:  # function returned this input as it was
                if g is not None:
                    found[passed] = g if found[passed] is None else found[passed] + g
            elif t.requires_grad and (g is not None or reached_without_gradient):
                roots.append(t)
                seeds.append(g)
        wanted = [i for i, a in enumerate(aliases) if a is not None]
        if roots and wanted and reached_without_gradient:
            with enable_grad():  # (recorded, as the recomputation was)
                roots, seeds = [_SendsNoGradient.apply(*roots)], None
        if roots and wanted:
            inner = grad(roots, [aliases[i] for i in wanted], seeds, create_graph=create_graph, allow_unused=True)
            for i, g in zip(wanted, inner):
                if g is not None:
                    found[i] = g if found[i] is None else found[i] + g
        return (None, None, None, None) + tuple(found)


# Drawings, messages and the profiler show this title, not the private class's name
_Checkpoint._node_name = _function._NodeName("Checkpoint")


@contextlib.contextmanager
def _in_scope_of(function):
    """While the checkpoint node is made: where ``function`` is a module (it has parameters
    to name), the module scope that its own call records, so that a drawing puts the node
    in that module's cluster and names its parameters as for the module's own ops (its
    graph is gone by then, and a top-level checkpoint would show them as unnamed inputs)."""
    try:  # (weakly, as a module's call holds itself in its scope: see nn.Module._scoped_forward)
        me = weakref.ref(function) if hasattr(function, "named_parameters") else None
    except TypeError:
        me = None
    if me is None:
        yield
        return
    outer = _function.current_scope()
    previous = _function.set_scope((me,) if outer is None else outer + (me,))
    try:
        yield
    finally:
        _function.set_scope(previous)


class _SendsNoGradient(Function):
    """One root joining the recomputed outputs, whose backward sends them nothing: a pass
    from it reaches function's graph with no gradient, as the outer pass reached the node."""

    @staticmethod
    def forward(ctx, *tensors):
        return tensors[0].backend.xp.zeros((), dtype=tensors[0].data.dtype)

    @staticmethod
    def backward(ctx, grad):
        return (None,) * len(ctx.needs_input_grad)


class _Watch:
    """An observer of Function.apply (see function.observers) for one call of a function
    in one thread: the ids of the nodes its ops make (``inner``), and the tensors that
    require grad its ops take from outside (``externals``). In a recomputation, given the
    node's input per external tensor (``substitute``: id of the tensor -> the input),
    each op gets an alias of that input in its place (``aliases``: id of the input ->
    its alias); ``externals`` then holds the tensors met that the forward did not."""

    def __init__(self, substitute=None):
        self.thread = threading.get_ident()
        self.inner = set()  # (the ids of the nodes this call's ops made in this thread)
        self.externals = []
        self.positions = {}
        self.substitute = substitute
        self.aliases = {}
        self.busy = False

    def add_external(self, t):
        if id(t) not in self.positions:
            self.positions[id(t)] = len(self.externals)
            self.externals.append(t)

    def wrap_forward(self, run):
        def watched(cls, args):
            if self.busy or threading.get_ident() != self.thread:
                return run(cls, args)
            out = run(cls, self._outside(args))
            for t in out if type(out) is tuple else (out,):
                if isinstance(t, Tensor) and t.grad_fn is not None:
                    self.inner.add(id(t.grad_fn))
            return out
        return watched

    def wrap_backward(self, call):
        return call

    def _outside(self, args):
        changed = None
        for i, a in enumerate(args):
            if not (isinstance(a, Tensor) and a.requires_grad) or a.grad_fn is not None and id(a.grad_fn) in self.inner:
                continue
            producer = None if self.substitute is None else self.substitute.get(id(a))
            if producer is None:
                self.add_external(a)
                continue
            alias = self.aliases.get(id(producer))
            if alias is None:
                self.busy = True  # (the alias is this watch's own op)
                try:
                    # Recorded even where the op that meets the tensor first runs under no_grad
                    # inside function: the later ops take the same alias, and backward goes through it.
                    with enable_grad():
                        alias = self.aliases[id(producer)] = _Alias.apply(producer)
                finally:
                    self.busy = False
                self.inner.add(id(alias.grad_fn))
            if changed is None:
                changed = list(args)
            changed[i] = alias
        return args if changed is None else tuple(changed)


def _watched_call(function, args, kwargs, substitute=None):
    watch = _Watch(substitute)
    _function.observers.append(watch)
    try:
        out = function(*args, **kwargs)
    finally:
        _function.observers.remove(watch)
    return out, watch


class _RngStates:
    """Copies of the random generators of the CPU and of the devices of ``tensors``."""

    def __init__(self, tensors):
        devices = {backends.get("cpu"), *(t._backend for t in tensors)}
        self.states = [(b, b.get_rng_state()) for b in devices]


class _RngReplay:
    """The generators set to a _RngStates (none: left as they are) while the block runs,
    then put back as they were, so the recomputation draws what the forward drew and
    the draws after it are unchanged."""

    def __init__(self, saved):
        self.saved = saved

    def __enter__(self):
        if self.saved is not None:
            self.current = [(b, b.get_rng_state()) for b, _ in self.saved.states]
            for b, state in self.saved.states:
                b.set_rng_state(state)
        return self

    def __exit__(self, *exc):
        if self.saved is not None:
            for b, state in self.current:
                b.set_rng_state(state)
        return False


def _tensors_in(args, kwargs):
    return [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]


def _flatten(obj, leaves):
    """The leaves of a result made of tuples, lists and dicts, in order."""
    if isinstance(obj, (tuple, list)):
        for item in obj:
            _flatten(item, leaves)
    elif isinstance(obj, dict):
        for item in obj.values():
            _flatten(item, leaves)
    else:
        leaves.append(obj)
    return leaves


def _rebuild(obj, leaves):
    """``obj``'s structure around the next items of ``leaves`` (an iterator), as _flatten walked it."""
    if isinstance(obj, (tuple, list)):
        items = [_rebuild(item, leaves) for item in obj]
        return type(obj)(*items) if hasattr(obj, "_fields") else type(obj)(items)  # (a namedtuple)
    if isinstance(obj, dict):
        rebuilt = copy.copy(obj)  # (of its type, with a defaultdict's factory: not every dict takes pairs)
        for k, v in obj.items():
            rebuilt[k] = _rebuild(v, leaves)
        return rebuilt
    return next(leaves)
