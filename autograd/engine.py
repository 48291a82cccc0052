"""Reverse-mode differentiation: walk the graph from the roots, without recursion.

Kahn's algorithm on dependency counts: a node runs once, as soon as every
consumer of its outputs has sent its gradient, so each gradient is summed
before use and the walk is linear in the graph's size. The engine, not the
ops, reduces a broadcast gradient to its input's shape. ``grad`` runs only the
nodes that lead to its inputs, as PyTorch does.
"""
import copy
import numbers
import threading
import warnings
from collections.abc import Mapping

from . import autocast_mode, grad_mode
from .function import Function, observers
from .tensor import Tensor, count_change
from .user_code import user_stacklevel

_state = grad_mode.state

# A leaf's .grad is read, then set or added to in place. Threads whose graphs share a
# leaf take turns here (as PyTorch's AccumulateGrad holds a mutex), or one thread's
# gradient is lost.
_accumulating = threading.RLock()
# Per pass still running, in any thread: the arrays it made some leaf's .grad. Such an
# array may still be a gradient on its way in that pass (an add sends one array to a
# leaf and to a node), so another pass (one nested in a backward or a hook, as a
# reentrant checkpoint runs, or another thread's) must not add to it in place.
_running = {}


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaf) into each leaf's ``.grad`` (only into ``inputs``' when given)."""
    if inputs is not None:
        _backward_into(tensors, grad_tensors, retain_graph, create_graph, inputs)
        return
    roots, seeds = _roots(tensors, grad_tensors, "backward", create_graph)
    if create_graph:
        _warn_of_grad_cycles()
    _run(roots, seeds, create_graph if retain_graph is None else retain_graph, create_graph, None)


# Whether _warn_of_grad_cycles has warned in this process (it warns once, as PyTorch's).
_warned_of_grad_cycles = False


def _warn_of_grad_cycles():
    """backward(create_graph=True) makes each .grad it fills a recorded tensor whose graph
    leads back to its own leaf: leaf -> .grad -> graph -> leaf, a cycle that only the garbage
    collector frees, so the graph's buffers outlive the step. PyTorch 2.13 warns of this
    once per process, at every backward (not ag.grad) with create_graph=True whose
    arguments passed their checks, whether or not a .grad ends up in a cycle; so does this."""
    global _warned_of_grad_cycles
    if _warned_of_grad_cycles:
        return
    _warned_of_grad_cycles = True
    warnings.warn("backward(create_graph=True) records the gradients it puts in .grad, so each such .grad "
                  "holds a graph that leads back to its own tensor: a reference cycle that keeps that graph's "
                  "memory until the garbage collector finds it. Use ag.grad(..., create_graph=True), which "
                  "returns the gradients and leaves .grad alone, or set the .grad fields to None once you are "
                  "done with them (warned once per process)", UserWarning, stacklevel=user_stacklevel())


def _backward_into(tensors, grad_tensors, retain_graph, create_graph, inputs):
    """backward(inputs=...), as PyTorch's: accumulate into these tensors' ``.grad`` only
    (non-leaves included), through ag.grad's walk of just the part of the graph they need."""
    inputs = [inputs] if isinstance(inputs, Tensor) else list(dict.fromkeys(inputs))  # each once
    if not inputs:
        raise ValueError("backward: inputs= is empty; leave it out to fill every leaf's .grad")
    grads = _gradients(tensors, inputs, grad_tensors, retain_graph, create_graph, into_leaves=True)
    handed_out = {id(g.data) for g in grads if g is not None}  # copied before they become a .grad
    for x, g in zip(inputs, grads):
        if x.grad_fn is None:
            continue  # a leaf's .grad took its gradient during the pass (see _finish_leaf)
        # As PyTorch: a non-leaf input retains its grad from now on. One that retained
        # it already had this gradient added by the pass itself.
        if x.retains_grad:
            continue
        x.retain_grad()
        if g is not None:
            _accumulate(x, g, create_graph, handed_out)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Return d(outputs)/d(inputs) as a tuple (a dict for a dict of inputs, by the same
    keys, as PyTorch 2.13's), leaving every ``.grad`` untouched.

    As PyTorch's: an input the outputs do not depend on is an error, or None with
    ``allow_unused=True``, or zeros with ``materialize_grads=True``. ``only_inputs``
    is taken and ignored, as PyTorch has done since it deprecated it.

    ``is_grads_batched=True``: each of ``grad_outputs`` has a leading batch axis, and
    each gradient gets the same axis, entry ``b`` being the vector-Jacobian product
    with entry ``b`` of the grad_outputs, as PyTorch's. PyTorch vectorizes this with
    vmap; here it is a loop that runs the backward pass once per entry (all but the
    last with ``retain_graph=True``), so it costs what that loop would. Zeros from
    ``materialize_grads`` get the batch axis too (PyTorch's have the input's shape)."""
    if only_inputs is not True:
        warnings.warn("grad: only_inputs is deprecated and ignored, as in PyTorch; only the inputs' gradients "
                      "are computed", DeprecationWarning, stacklevel=2)
    if materialize_grads and allow_unused is False:
        raise ValueError("grad: materialize_grads=True gives zeros for unused inputs, so it cannot go with "
                         "allow_unused=False; leave allow_unused out")
    allow_unused = bool(allow_unused) or materialize_grads
    names = None
    if type(inputs) is dict:  # named inputs (a model's named_parameters()): named gradients
        names = list(inputs)
        inputs = inputs.values()
    elif isinstance(inputs, Mapping):  # (as PyTorch: its order or type might not be kept)
        raise TypeError(f"grad: inputs is a {type(inputs).__name__}; pass a dict (dict(inputs)), a Tensor "
                        "or a sequence of Tensors")
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if not inputs:  # as PyTorch: likely a list of parameters that was filtered to nothing
        raise ValueError("grad: inputs is empty, so there is nothing to differentiate with respect to; "
                         "pass the tensors whose gradients you want")
    batch = None
    if is_grads_batched:
        found, batch = _batched_gradients(outputs, inputs, grad_outputs, retain_graph, create_graph)
    else:
        found = _gradients(outputs, inputs, grad_outputs, retain_graph, create_graph, into_leaves=False)
    for i, g in enumerate(found):
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: inputs[{i}] was not used to compute the outputs (or no gradient "
                               "reached it), so it has no gradient; pass allow_unused=True to get None for it, "
                               "or materialize_grads=True to get zeros")
        if g is None and materialize_grads:
            x = inputs[i]
            shape = x.shape if batch is None else (batch, *x.shape)
            found[i] = Tensor._make(x._backend.xp.zeros(shape, dtype=x.data.dtype), x._backend)
            if create_graph:  # as PyTorch's: differentiable again (to zero), like every other gradient
                found[i].requires_grad_()
    return tuple(found) if names is None else dict(zip(names, found))


def _batched_gradients(outputs, inputs, grad_outputs, retain_graph, create_graph):
    """grad(is_grads_batched=True)'s gradients (None where none reached an input in any
    entry) and the batch size: one pass per entry of the grad_outputs' leading axis,
    stacked along it. Every grad_output is checked before the first pass runs."""
    outputs, grad_outputs = _paired(outputs, grad_outputs, "grad")
    batch = None
    for i, (t, g) in enumerate(zip(outputs, grad_outputs)):
        if g is None:
            raise ValueError(f"grad: is_grads_batched=True needs a batch of gradients for every output, but "
                             f"grad_outputs[{i}] is None; pass one of shape (batch, *output.shape)")
        if not isinstance(t, Tensor):
            continue  # refused by name in the first pass, before it runs
        if not isinstance(g, Tensor):
            g = grad_outputs[i] = Tensor(g, device=t._backend, dtype=t.dtype)
        if g.ndim != t.ndim + 1 or g.shape[1:] != t.shape:
            raise ValueError(f"grad: with is_grads_batched=True, grad_outputs[{i}] needs a leading batch axis "
                             f"and then its output's shape {t.shape}, but has shape {g.shape}")
        if batch is None:
            batch = g.shape[0]
        elif g.shape[0] != batch:
            raise ValueError(f"grad: with is_grads_batched=True, every grad_output needs one batch size, but "
                             f"grad_outputs[{i}] has {g.shape[0]} where the ones before it have {batch}")
    if batch == 0:
        raise ValueError("grad: with is_grads_batched=True, the grad_outputs' batch axis is empty; pass at "
                         "least one entry")
    last = create_graph if retain_graph is None else retain_graph
    per_entry = [_gradients(outputs, inputs, [g if batch is None else g[b] for g in grad_outputs],
                            True if b < (batch or 1) - 1 else last, create_graph, into_leaves=False)
                 for b in range(batch or 1)]
    found = []
    with grad_mode.set_grad_enabled(create_graph):  # stacked as the pass would: recorded with create_graph
        for i, x in enumerate(inputs):
            column = [entry[i] for entry in per_entry]
            if all(g is None for g in column):
                found.append(None)
                continue
            zeros = x._backend.xp.zeros(x.shape, dtype=x.data.dtype)
            found.append(ops.shape.stack([Tensor._make(zeros, x._backend) if g is None else g for g in column]))
    return found, batch


def _gradients(outputs, inputs, grad_outputs, retain_graph, create_graph, into_leaves):
    """The gradients that reach ``inputs`` (None where none does), from one pass over just
    the part of the graph they need. With ``into_leaves`` (backward(inputs=...)), a leaf
    input's is also added into its ``.grad`` as it arrives, its post accumulate grad hooks
    running then, as in a plain backward."""
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"grad: inputs[{i}] is a {type(x).__name__}, not a Tensor")
        if not x.requires_grad:
            raise RuntimeError(f"grad: inputs[{i}] does not require grad, so it has no gradient; "
                               "create it with requires_grad=True")
        x._fresh()
    roots, seeds = _roots(outputs, grad_outputs, "grad", create_graph)
    if into_leaves and create_graph:  # backward(inputs=...): it fills .grad too
        _warn_of_grad_cycles()
    wanted = {}
    for i, x in enumerate(inputs):
        key = (x, -1) if x.grad_fn is None else (x.grad_fn, x._output_nr)
        wanted.setdefault(key, []).append(i)
    found = [None] * len(inputs)
    capture = (wanted, found, into_leaves)
    _run(roots, seeds, create_graph if retain_graph is None else retain_graph, create_graph, capture)
    return found


def _paired(tensors, grads, caller):
    """The outputs and their gradients as two lists of one length: one output (a Tensor, or
    something else, refused by name later) or an iterable of them; grads None (each None),
    one gradient (a Tensor, an array or a number) for one output, or an iterable of them."""
    tensors = [tensors] if isinstance(tensors, Tensor) or not hasattr(tensors, "__iter__") else list(tensors)
    if grads is None:
        grads = [None] * len(tensors)
    elif isinstance(grads, Tensor) or hasattr(grads, "shape") or isinstance(grads, numbers.Number):
        grads = [grads]
    else:
        grads = list(grads)  # a list, a tuple or any other iterable of them, as PyTorch takes
    if len(grads) != len(tensors):
        raise ValueError(f"{caller}: got {len(tensors)} outputs but {len(grads)} gradients")
    return tensors, grads


def _roots(tensors, grads, caller, create_graph):
    tensors, grads = _paired(tensors, grads, caller)
    seeds = []
    for i, (t, g) in enumerate(zip(tensors, grads)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{caller}: output {i} is a {type(t).__name__}, not a Tensor; pass the tensor itself "
                            "(a number such as loss.item() is outside the graph)")
        t._fresh()  # a view whose base changed in place since: rebased first
        if not t.requires_grad:
            if _state.passes and not _state.enabled:
                # (PyTorch's engine does the same, and says only the first sentence)
                raise RuntimeError(f"{caller}: output {i} does not require grad and has no grad_fn: it was "
                                   "computed inside a backward pass (in a hook or a custom backward), which "
                                   "records nothing unless it has create_graph=True; compute it under "
                                   "`with ag.enable_grad():` there")
            raise RuntimeError(f"{caller}: output {i} does not require grad and has no grad_fn, so there "
                               "is nothing to differentiate; did an input miss requires_grad=True, was "
                               "it computed under no_grad(), or, for a gradient of a gradient, did the first "
                               "backward() or ag.grad() lack create_graph=True?")
        if g is None:
            if t.size != 1:
                raise RuntimeError(f"{caller}: a gradient can only be implied for a single-element output, "
                                   f"but output {i} has shape {t.shape}; pass gradient= of that shape")
            g = Tensor._make(t._backend.xp.ones(t.data.shape, dtype=t.data.dtype), t._backend)
        else:
            if not isinstance(g, Tensor):
                g = Tensor(g, device=t._backend, dtype=t.dtype)
            if g.shape != t.shape:
                raise ValueError(f"{caller}: gradient {i} has shape {g.shape} but its output has shape {t.shape}")
            if g._backend is not t._backend:
                raise ValueError(f"{caller}: gradient {i} is on {g.device} but its output is on {t.device}")
            if g.dtype != t.dtype:
                # As PyTorch: a gradient of another dtype (an int or bool one, say) is cast
                # to its output's, so every backward sees the dtype its forward made. The
                # cast is a new array, not the caller's.
                g = ops.elementwise.astype(g, t.dtype)
        seeds.append(g)
    return tensors, seeds


def _run(roots, seeds, retain_graph, create_graph, capture):
    # 1. Count, for every node and leaf reachable from the roots, its incoming edges.
    deps = {}
    stack = []
    targets = []
    for r in roots:
        target = r if r.grad_fn is None else r.grad_fn
        targets.append(target)
        if target not in deps:
            deps[target] = 0
            if r.grad_fn is not None:
                stack.append(target)
    while stack:
        node = stack.pop()
        producers = node._producers
        for t in producers if type(producers) is tuple else (producers,):
            if t is not None:
                n = deps.get(t)
                if n is None:
                    deps[t] = 1
                    if isinstance(t, Function):
                        stack.append(t)
                else:
                    deps[t] = n + 1

    # ag.grad: only the nodes with a wanted input behind them run (see _prune).
    runs = None
    if capture is not None:
        runs, receives = _prune(targets, capture[0])
        capture = (*capture, runs, receives)  # (wanted, found, into_leaves, runs, receives)

    # 2. Seed the roots' gradients and walk the nodes whose consumers are all done.
    #    Leaves never wait in `ready`: each is finished when its last gradient arrives.
    # Arrays a leaf may not take as its .grad without a copy, since the engine later adds
    # into a .grad in place: those already given to a leaf during this pass, and the seeds
    # (the caller's gradient= among them, which is the caller's to keep: copied only if it
    # reaches a leaf as it is, not every time).
    handed_out = {id(g.data) for g in seeds}
    wrappers = [o.wrap_backward for o in tuple(observers)] if observers else None  # (a copy: see Function.apply)
    plain = capture is None and not wrappers
    previous, previous_retain = _state.enabled, _state.retain_graph
    # Before any gradient is summed or reaches a hook or a .grad (a leaf among the roots
    # does at once), as PyTorch's engine: the mode is create_graph's, not the caller's.
    _state.enabled = create_graph
    _state.retain_graph = retain_graph
    autocast_was_paused = autocast_mode.state.paused
    autocast_mode.state.paused = True  # each op's gradient runs in the dtype its forward ran in
    outer_passes = _state.passes
    _state.passes = outer_passes + (_Pass(deps, capture),)
    with _accumulating:
        _running[id(handed_out)] = handed_out
    try:
        buffers = {}
        for r, target, g in zip(roots, targets, seeds):
            _add_to_buffer(buffers, target, -1 if r.grad_fn is None else r._output_nr, g, create_graph)
        ready = []
        for t in dict.fromkeys(targets):
            if deps[t] == 0:
                if isinstance(t, Function):
                    ready.append(t)
                else:
                    _finish_leaf(t, buffers.pop(t), create_graph, capture, handed_out)
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None)
            producers = node._producers
            if type(producers) is tuple:
                n_args = len(producers)
                edges = enumerate(producers)
            else:  # the sole argument with a producer (see Function._producers)
                n_args = node._n_args
                edges = ((node._sole_arg, producers),)
            if plain and not node._special:
                if grads is None:
                    # Every consumer sent None (no gradient flows here), but the nodes behind
                    # this one still wait for it: release their dependency counts.
                    grads_in = _call_backward(node, None)
                else:
                    grads_in = node.backward(node, grads)
                    if type(grads_in) is not tuple:
                        grads_in = (grads_in,)
            else:
                if grads is None and node._n_outputs > 1:
                    grads = [None] * node._n_outputs
                # Run even where no gradient arrived, as PyTorch's engine: hooks see None and
                # a custom Function's backward gets zeros (see _call_backward).
                grads_in = _call_with_extras(node, grads, create_graph, capture, wrappers, handed_out)
                if grads_in is None:
                    continue  # ag.grad does not run it, and only pruned nodes lie behind it
            if len(grads_in) != n_args:
                grads_in = _one_per_argument(node, grads_in, n_args)
            if not retain_graph and node._saved is not None:
                node._saved = None  # (Function.release_saved, inline: this loop is the hot path)
                node._released = True
            nrs = node._producer_nrs
            for i, t in edges:
                if t is None:
                    continue
                g = grads_in[i]
                is_node = isinstance(t, Function)
                if g is not None:
                    if nrs is not None and is_node and t._n_outputs > 1:
                        _add_to_output_slot(buffers, t, nrs[i], g, create_graph)
                    else:
                        shape = t._out_shape if is_node else t.data.shape
                        if g.data.shape != shape:  # a broadcast input: reduced here, in no op
                            g = sum_to(g, shape)
                        current = buffers.get(t)
                        buffers[t] = g if current is None else _sum(current, g, create_graph)
                n = deps[t] - 1
                deps[t] = n
                if n == 0:
                    if is_node:
                        ready.append(t)
                    elif t in buffers:
                        _finish_leaf(t, buffers.pop(t), create_graph, capture, handed_out)
                    elif t._hooks is not None:  # reached, with no gradient: as in PyTorch, its hooks see None
                        _finish_leaf(t, None, create_graph, capture, handed_out)
    finally:
        _state.enabled, _state.retain_graph = previous, previous_retain
        _state.passes = outer_passes
        autocast_mode.state.paused = autocast_was_paused
        with _accumulating:
            del _running[id(handed_out)]


class _Pass:
    """A backward pass running in this thread, as hooks see it (see running_pass)."""
    __slots__ = ("deps", "capture", "__weakref__")

    def __init__(self, deps, capture):
        self.deps, self.capture = deps, capture

    def reaches(self, target):
        """Whether this pass runs the gradient hooks of ``target``, a node (its outputs')
        or a leaf tensor (PyTorch's _will_engine_execute_node): it lies behind the roots,
        and, for ag.grad, among what the pass runs. None (freed) is never reached."""
        if target is None or target not in self.deps:
            return False
        capture = self.capture
        if capture is None:
            return True
        return (target, -1) in capture[0] if isinstance(target, Tensor) else target in capture[4]


def running_pass():
    """The innermost backward pass running in this thread (for hooks that wait on several
    tensors, see graph.register_multi_grad_hook); None outside backward."""
    passes = _state.passes
    return passes[-1] if passes else None


def _one_per_argument(node, grads_in, n_args):
    """A backward's gradients cut to its forward's arguments: as PyTorch, trailing Nones
    are dropped (for optional arguments the caller left out); anything else is an error."""
    if len(grads_in) > n_args and all(g is None for g in grads_in[n_args:]):
        return grads_in[:n_args]
    raise RuntimeError(f"{node.name}.backward returned {len(grads_in)} gradients, but its forward "
                       f"took {n_args} arguments; return one per argument (None where "
                       "there is no gradient)")


def _call_with_extras(node, grads, create_graph, capture, wrappers, handed_out):
    """Backward of a node with several outputs, hooks, a retained grad, captured
    outputs (ag.grad) or observers: the uncommon path, kept out of the loop above.
    Returns None for a node that ag.grad does not run."""
    if capture is not None and node not in capture[4]:
        return None  # pruned: as in PyTorch, not even its hooks run
    if node._hooks is not None or node._retained is not None:
        grads = _output_hooks(node, grads, create_graph, handed_out)
    if capture is not None:
        # Before zeros fill the outputs that received nothing: those are unused, as in PyTorch.
        _capture_outputs(node, grads, capture)
        if node not in capture[3]:
            return None
    call = _call_backward
    if node._user_defined:
        call = _checking_user_grads(call, handed_out)
    if node._pre_hooks or node._post_hooks:  # (around the check: as in PyTorch, they see checked gradients)
        call = _with_node_hooks(call, handed_out)
    for wrap in wrappers or ():
        call = wrap(call)
    if capture is None:
        return call(node, grads)
    # ag.grad: the node's backward sees needs_input_grad False for inputs that lead to
    # nothing wanted, so that it skips their gradients (a layer's weight gradient when
    # only the input's is asked for), as PyTorch's built-in ops do.
    needs = node.needs_input_grad
    receives = capture[4]
    pruned = tuple(n and p in receives for n, p in zip(needs, node.producer_tuple()))
    if pruned == needs:
        return call(node, grads)
    # A copy of the node sees the pruned flags: another thread's pass through this graph
    # may be running the same node's backward at this moment, with flags of its own.
    ctx = copy.copy(node)
    ctx.needs_input_grad = pruned
    try:
        return call(ctx, grads)
    finally:
        # A saved output that backward took (create_graph) links to the copy: as a node of
        # that graph, it needs every input's gradient again.
        ctx.needs_input_grad = needs


def _with_node_hooks(call, handed_out):
    """``call`` between the node's pre-hooks (on its output gradients) and its hooks (on
    its input gradients and output gradients), each given and giving back tuples."""
    def hooked(node, grads):
        several = node._n_outputs > 1
        grad_outputs = tuple(grads) if several else (grads,)
        for hook in list(node._pre_hooks or ()):
            replaced = hook(grad_outputs)
            if replaced is not None:
                grad_outputs = _hook_tuple(hook, replaced, grad_outputs, "output", handed_out)
        grad_inputs = call(node, grad_outputs if several else grad_outputs[0])
        if len(grad_inputs) != len(node.needs_input_grad):
            grad_inputs = _one_per_argument(node, grad_inputs, len(node.needs_input_grad))
        if not node._user_defined:
            # As PyTorch's built-in nodes: None for an input that takes no gradient in this
            # pass (ag.grad passes some by), though an op may have computed one anyway.
            grad_inputs = tuple(g if need else None for g, need in zip(grad_inputs, node.needs_input_grad))
        grad_inputs = _summed_to_inputs(node, grad_inputs)
        for hook in list(node._post_hooks or ()):
            replaced = hook(grad_inputs, grad_outputs)
            if replaced is not None:
                grad_inputs = _hook_tuple(hook, replaced, grad_inputs, "input", handed_out)
        return grad_inputs
    return hooked


def _summed_to_inputs(node, grads_in):
    """Each gradient summed to its input's shape where the input was broadcast (the
    engine's own reduction, done early): a node's hooks see gradients of their inputs'
    shapes, as in PyTorch."""
    out = list(grads_in)
    for i, (g, producer) in enumerate(zip(grads_in, node.producer_tuple())):
        if g is not None and producer is not None:
            shape = _input_meta(node, i, producer)[0]
            if g.data.shape != shape:
                out[i] = sum_to(g, shape)
    return tuple(out)


def _input_meta(node, i, producer):
    """The shape, dtype and backend of forward's argument ``i``, made by ``producer``."""
    if isinstance(producer, Tensor):
        return producer.data.shape, producer.data.dtype, producer._backend
    if producer._n_outputs > 1:
        shape, dtype = producer._out_meta[node._producer_nrs[i]]
        return shape, dtype, producer._backend
    return producer._out_shape, producer._out_dtype, producer._backend


def _hook_tuple(hook, replaced, grads, side, handed_out):
    """A node hook's replacement for ``grads``, its input or output gradients: a tuple of as
    many, each checked as a tensor hook's replacement is (see _checked_hook_result)."""
    name = getattr(hook, "__qualname__", type(hook).__name__)
    n = len(grads)
    if not isinstance(replaced, (tuple, list)) or len(replaced) != n:
        given = (f"a {type(replaced).__name__} of {len(replaced)}" if isinstance(replaced, (tuple, list))
                 else type(replaced).__name__)
        raise TypeError(f"node hook {name} returned {given}; return a tuple of {n} {side} "
                        "gradients (a Tensor or None each), or None to keep them")
    for g in replaced:
        if g is not None and not isinstance(g, Tensor):
            raise TypeError(f"node hook {name} returned a {type(g).__name__} among the {side} gradients; "
                            "return Tensors or None")
    return tuple(None if r is None else _checked_hook_result(hook, g, r, handed_out, side)
                 for g, r in zip(grads, replaced))


def _call_backward(node, grads):
    several = node._n_outputs > 1
    if (grads is None or several and all(g is None for g in grads)) and not node._runs_without_gradient:
        # No gradient arrived, or a pre-hook took every one away: as PyTorch's built-in ops, send none on.
        if node._released:
            raise node._freed_error()  # as PyTorch's node, which unpacks what it saved first
        return (None,) * len(node.needs_input_grad)
    # Outputs that received no gradient (or whose gradient a pre-hook took away) get zeros
    # here, after the hooks, which see None, as in PyTorch; a custom Function can ask for
    # None instead (set_materialize_grads(False)).
    if several:
        out = node.backward(node, *(_materialize(node, grads) if node._materialize_grads else grads))
    else:
        out = node.backward(node, _zeros(node, 0) if grads is None and node._materialize_grads else grads)
    return out if type(out) is tuple else (out,)


def _checking_user_grads(call, handed_out):
    def checked(node, grads):
        return _checked_user_grads(node, call(node, grads), handed_out)
    return checked


def _checked_user_grads(node, grads_in, handed_out):
    """A custom Function's gradients, checked as PyTorch's engine checks them: each is a
    Tensor or None, on its input's device, of its input's shape or one that sums to it,
    and is cast to its input's dtype (a float64 gradient of a float32 input would
    otherwise become a float64 .grad). A gradient for a Tensor argument that needs none is
    dropped; one for an argument that is no Tensor is refused.
    The Function may keep what it returns (in ctx, in a list, a parameter itself): a leaf
    takes a copy of it as its .grad, never the array itself, which it later adds into."""
    out = list(grads_in)
    for i, (g, producer) in enumerate(zip(grads_in, node.producer_tuple())):
        if g is None:
            continue
        if i in node._non_tensor_args:
            raise RuntimeError(f"{node.name}.backward returned a gradient for argument {i}, which is no Tensor "
                               "and so takes none; return None in its place (are the gradients in the order "
                               "of forward's arguments?)")
        if not isinstance(g, Tensor):
            raise TypeError(f"{node.name}.backward returned {type(g).__name__} as the gradient of argument {i}; "
                            "return a Tensor (or None) for each argument of forward")
        if producer is None:
            continue
        handed_out.add(id(g.data))
        shape, dtype, backend = _input_meta(node, i, producer)
        if g._backend is not backend:
            raise RuntimeError(f"{node.name}.backward returned the gradient of argument {i} on {g.device}, but "
                               f"the argument is on {backend.device}; move it with .to({backend.device!r})")
        if g.data.shape != shape and not _sums_to(g.data.shape, shape):
            raise RuntimeError(f"{node.name}.backward returned a gradient of shape {g.shape} for argument {i}, "
                               f"which has shape {tuple(shape)}; return a gradient of the argument's shape")
        if g.data.dtype != dtype:
            out[i] = ops.elementwise.astype(g, backend.canonical_dtype(dtype))
    return tuple(out)


def _sums_to(grad_shape, shape):
    """Whether a gradient of ``grad_shape`` is ``shape`` broadcast (the engine sums it back)."""
    try:
        return broadcast_shapes("backward", grad_shape, shape) == tuple(grad_shape)
    except ValueError:
        return False


def _add_to_buffer(buffers, target, nr, g, create_graph):
    if nr >= 0 and target._n_outputs > 1:
        _add_to_output_slot(buffers, target, nr, g, create_graph)
        return
    current = buffers.get(target)
    buffers[target] = g if current is None else _sum(current, g, create_graph)


def _add_to_output_slot(buffers, node, nr, g, create_graph):
    """A node with several outputs buffers one gradient per output."""
    shape = node._out_meta[nr][0]
    if g.data.shape != shape:
        g = sum_to(g, shape)
    slot = buffers.get(node)
    if slot is None:
        slot = buffers[node] = [None] * node._n_outputs
    slot[nr] = g if slot[nr] is None else _sum(slot[nr], g, create_graph)


def _sum(a, b, create_graph):
    if create_graph:
        return a + b
    return Tensor._make(a.data + b.data, a._backend)


def _materialize(node, grads):
    """Zeros for the outputs of a multi-output node that received no gradient; None still
    for an output that is no tensor (a custom forward's count or label: no dtype in
    _out_meta), as in PyTorch."""
    meta = node._out_meta
    return [g if g is not None or meta[nr][1] is None else _zeros(node, nr) for nr, g in enumerate(grads)]


def _zeros(node, nr):
    shape, dtype = node._out_meta[nr] if node._n_outputs > 1 else (node._out_shape, node._out_dtype)
    return Tensor._make(node._backend.xp.zeros(shape, dtype=dtype), node._backend)


def _output_hooks(node, grads, create_graph, handed_out):
    """Run the hooks on the node's outputs and fill their retained grads. As in PyTorch,
    an output of several that received no gradient gives its hooks None, and its
    retained grad stays as it was."""
    multi = node._n_outputs > 1
    grads = list(grads) if multi else [grads]
    for nr, hooks in (node._hooks or {}).items():
        for hook in list(hooks):
            if grads[nr] is not None:
                handed_out.add(id(grads[nr].data))  # the hook may keep it: never accumulate into it
            replaced = hook(grads[nr])
            if replaced is not None:
                grads[nr] = _checked_hook_result(hook, grads[nr], replaced, handed_out)
    if node._retained:
        with _accumulating:  # (threads whose passes share this node add in turn, as into a leaf's .grad)
            for nr, ref in node._retained.items():
                t = ref()
                if t is not None and grads[nr] is not None:
                    # A copy: the gradient flowing on may become a leaf's .grad, which later
                    # backward passes (and optimizers) change in place.
                    g = grads[nr] if create_graph else Tensor._make(t._backend.xp.asarray(grads[nr].data, copy=True),
                                                                    t._backend)
                    t._grad = g if t._grad is None else _sum(t._grad, g, create_graph)
    return grads if multi else grads[0]


def _checked_hook_result(hook, g, replaced, handed_out, side="output"):
    """A hook's replacement gradient, refused where it would not fit the tensor (the ops
    behind would broadcast it, or fail far from the hook). The hook may keep it, as a
    custom backward may keep what it returns: a leaf takes a copy as its .grad."""
    name = getattr(hook, "__qualname__", type(hook).__name__)
    if g is None:
        raise RuntimeError(f"hook {name} returned a gradient for an {side} that received none (it was "
                           "given None); return None there")
    if not isinstance(replaced, Tensor):
        raise TypeError(f"hook {name} returned a {type(replaced).__name__}; return a Tensor, or None to "
                        "keep the gradient")
    if replaced.shape != g.shape or replaced.dtype != g.dtype or replaced._backend is not g._backend:
        raise RuntimeError(f"hook {name} changed the gradient from shape {g.shape}, {g.dtype} on {g.device} "
                           f"to shape {replaced.shape}, {replaced.dtype} on {replaced.device}; return one "
                           "like the gradient it was given")
    handed_out.add(id(replaced.data))
    return replaced


def _prune(targets, wanted):
    """What ag.grad needs of the graph: ``runs``, the nodes with a wanted input behind
    them, and ``receives``, those plus the wanted leaves and nodes (a wanted non-leaf's
    gradient is taken as it arrives at its node, so that node need not run). The rest
    never runs, as in PyTorch: a gradient sent to it is dropped. A post-order walk
    without recursion: a node stays on the stack until its producers are decided (one
    pushed by several consumers is decided again, the same way, from each later entry)."""
    receives = {t for t, _ in wanted}
    runs = set()
    expanded = set()
    stack = [t for t in targets if isinstance(t, Function)]
    while stack:
        node = stack[-1]
        producers = node._producers
        if type(producers) is not tuple:
            producers = (producers,)
        if node in expanded:
            stack.pop()
            for p in producers:
                if p in receives:
                    runs.add(node)
                    receives.add(node)
                    break
        else:
            expanded.add(node)
            for p in producers:
                if p is not None and p not in expanded and isinstance(p, Function):
                    stack.append(p)
    return runs, receives


def _capture_outputs(node, grads, capture):
    wanted, found = capture[:2]
    for nr in range(node._n_outputs):
        indices = wanted.get((node, nr))
        if indices:
            g = grads[nr] if node._n_outputs > 1 else grads
            if g is None:  # an output of several that received nothing: unused, as in PyTorch
                continue
            for i in indices:
                found[i] = g


def _finish_leaf(leaf, g, create_graph, capture, handed_out):
    if capture is not None and (leaf, -1) not in capture[0]:
        return  # not wanted by ag.grad: as in PyTorch, its hooks do not run
    if capture is None and not leaf._requires_grad:
        return  # frozen since forward: as PyTorch's AccumulateGrad, no .grad
    if leaf._hooks:
        for hook in list(leaf._hooks):
            if g is not None:
                handed_out.add(id(g.data))  # the hook may keep it: never accumulate into it
            replaced = hook(g)
            if replaced is not None:
                g = _checked_hook_result(hook, g, replaced, handed_out)
    if capture is not None:
        for i in capture[0].get((leaf, -1), ()):
            capture[1][i] = g
        if not capture[2]:
            return  # ag.grad: .grad untouched
    if g is not None:  # (None: reached with no gradient, for the hooks' sake)
        _accumulate(leaf, g, create_graph, handed_out)
    if leaf._hooks is not None and leaf._hooks.after_accumulation:
        for hook in list(leaf._hooks.after_accumulation):
            returned = hook(leaf)
            if returned is not None:
                raise TypeError(f"a post accumulate grad hook returned {type(returned).__name__}; it must return "
                                "None (it is given the tensor, whose .grad it may read or change)")


def _accumulate(leaf, g, create_graph, handed_out):
    """Add ``g`` into ``leaf.grad``."""
    with _accumulating:
        _accumulate_unlocked(leaf, g, create_graph, handed_out)


def _accumulate_unlocked(leaf, g, create_graph, handed_out):
    current = leaf._grad
    if create_graph:
        # A clone, recorded (as PyTorch's AccumulateGrad under create_graph): the arriving
        # tensor may be another leaf's gradient too (an add sends one to both inputs), the
        # caller's gradient=, or one a hook kept, and a later plain backward or a .grad.mul_()
        # changes a .grad in place.
        leaf._grad = ops.elementwise.clone(g) if current is None else current + g
        return
    if current is None:
        # Own the array, so that accumulating in place later changes nothing else.
        if id(g.data) in handed_out or not leaf._backend.owns_memory(g.data):
            g = Tensor._make(leaf._backend.xp.asarray(g.data, copy=True), leaf._backend)
        handed_out.add(id(g.data))
        leaf._grad = g
    elif _in_flight(current.data) or not leaf._backend.writable(current.data):
        # Out of place: a .grad the user assigned may be a broadcast_to view or read-only
        # memory, which an in-place add would fail on after other leaves took theirs.
        leaf._grad = Tensor._make(current.data + g.data, leaf._backend)
    else:
        # In place, as PyTorch's AccumulateGrad, a .grad that create_graph recorded too: it
        # keeps its requires_grad and grad_fn (its graph is that of the old values, as in
        # PyTorch), and it owns its array (a clone or a sum, see above), so no other
        # tensor changes with it.
        current.data += g.data
        # An in-place change, so that an op that saved this .grad before (w * x.grad)
        # fails at backward instead of reading the new sum.
        count_change(current)


def _in_flight(array):
    """Whether a pass still running made ``array`` a leaf's .grad (see _running)."""
    key = id(array)
    for arrays in _running.values():
        if key in arrays:
            return True
    return False


from . import ops  # noqa: E402
from .ops.shape import sum_to  # noqa: E402
from .shapes import broadcast_shapes  # noqa: E402
