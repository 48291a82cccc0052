"""Function: the one pattern for a differentiable op.

A subclass gives a static ``forward(ctx, *args)`` that computes on backend
arrays and a static ``backward(ctx, *grads)`` written in Tensor ops (so it can
itself be differentiated). ``apply`` runs forward and, when any input requires
grad and recording is on, makes the instance the graph node of the outputs.

The node points at its inputs' producers (nodes, or leaf tensors), never at its
own outputs, so a graph has no reference cycles. An output saved for backward is
kept as its raw array and turned back into a Tensor on demand.

A recorded op leaves as few objects as it can for Python's cyclic garbage
collector to track (the tensor, the node, the tuple of producers, and the tuple
of saved items when there is one): on deep graphs the collector's full passes,
which visit every tracked object, cost more than the ops themselves.
"""
import functools
import inspect
import types
import weakref

from . import grad_mode
from .tensor import HookHandle, Tensor, check_hook, count_change, on_one_device, share_version, version_of

_state = grad_mode.state
_new = object.__new__

# Observers (profiler, anomaly detection) wrap every op call while they are
# active. When none is, recording pays for one truthiness test.
observers = []
# The saved_tensors_hooks contexts active in any thread (see graph.py). While there are
# none, recording pays for one truthiness test; otherwise the thread's own are looked up.
packers = []


def current_scope():
    """The stack of nn.Modules being called in this thread, outermost first (or None),
    as weak references (see scope_modules). Nodes remember it so that drawings and the
    profiler can group ops by module; autograd itself never looks inside it. Weak,
    because a module may keep a tensor made in its call (``self.loss = ...``, a forward
    hook keeping the output): a node holding the module would close a reference cycle."""
    return _state.scope


def scope_modules(scope):
    """The modules of ``scope`` (a node's, or current_scope()), outermost first; None
    when there is none, or when one of its modules has been freed since."""
    if not scope:
        return None
    modules = tuple(ref() for ref in scope)
    return None if any(m is None for m in modules) else modules


def set_scope(scope):
    """Make ``scope`` the one this thread's new nodes record; returns the previous one."""
    previous, _state.scope = _state.scope, scope
    return previous


class _OutputMarks:
    """What a forward said of its outputs: the ids of those that take no gradient
    (mark_non_differentiable) and the input tensors it changed in place (mark_dirty)."""
    __slots__ = ("constant", "dirty")

    def __init__(self):
        self.constant = frozenset()
        self.dirty = ()


# The fields a recorded node sets (see __init_subclass__): those of every node, then
# those an ordinary graph may first set long after a class's first instances (the
# sole-producer and multi-output forms, what forward saved, the release after backward).
_LIBRARY_PACKAGES = ("autograd", "nn", "backends")

_NODE_FIELDS = ("needs_input_grad", "_producers", "scope", "_backend", "_out_dtype", "_out_shape",
                "_sole_arg", "_n_args", "_producer_nrs", "_saved", "_saved_outputs", "_saved_versions", "_released")


class _NodeName(str):
    """A node's name: the string that messages and drawings show (f"{node.name}"), which may
    also be called, as PyTorch's ``Node.name()`` is."""
    __slots__ = ()

    def __call__(self):
        return str(self)


class _ClassName:
    """``Function.name``: the op's class name. Not a property: a descriptor without __set__,
    so that a custom Function's forward may keep its own ``ctx.name``, as PyTorch's ctx may
    (the instance's attribute then wins)."""

    def __get__(self, node, owner=None):
        return self if node is None else node._node_name


class Function:
    """Base class of every op; an instance is both the op's ``ctx`` and its graph node."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._node_name = _NodeName(cls.__name__)
        # A Function written outside topograd has its gradients checked as PyTorch's engine
        # checks them (see engine._checked_user_grads), on the engine's slow path; the
        # library's own ops, tested against PyTorch, skip it.
        cls._user_defined = cls.__module__.partition(".")[0] not in _LIBRARY_PACKAGES
        if cls._user_defined:
            cls._special = cls._runs_without_gradient = True
        for name in ("forward", "backward"):
            # Written without @staticmethod (or under once_differentiable put above it): PyTorch
            # calls them on the class, so they work there; the engine calls node.backward(node, ...).
            if isinstance(vars(cls).get(name), types.FunctionType):
                setattr(cls, name, staticmethod(vars(cls)[name]))
        if "forward" in vars(cls) and cls.setup_context is not Function.setup_context:
            forward = cls.forward
            cls.forward = staticmethod(_forward_then_setup_context(forward))
            cls._forward_signature = _signature_with_defaults(forward)  # (None: a parent's is not this forward's)
            if cls._forward_signature is not None and "apply" not in vars(cls):
                cls.apply = classmethod(_apply_with_defaults)
        elif "forward" in vars(cls) and cls._user_defined:
            cls.forward = staticmethod(_forward_taking_ctx(cls.forward))
        # CPython keeps one table of attribute names per class, shared by its instances,
        # but stops adding names to it once about 30 instances exist. A node that then
        # sets a name first seen late gets a dict of its own: slower, and one more object
        # for the cyclic collector on every such node. Late means the sole-producer fields
        # after thousands of nodes with several producers, or every recorded field after
        # 30 unrecorded instances (a program's first Muls may run under no_grad, on data
        # or in an optimizer step). Setting the node fields once, on a throwaway
        # instance, puts them in the table up front. (Only those: the table holds about
        # 30 names, and a custom Function's own ctx attributes need room too.) A class
        # that defines one of these names itself, or a finalizer, is left alone.
        if hasattr(cls, "__del__"):
            return
        probe = _new(cls)
        for name in _NODE_FIELDS:
            if any(name in vars(k) for k in cls.__mro__ if k is not Function and issubclass(k, Function)):
                continue
            try:
                object.__setattr__(probe, name, None)
            except (AttributeError, TypeError):
                pass

    needs_input_grad = ()  # per forward argument; set on every call (all False when nothing records)
    # The graph, per forward argument: None (no gradient flows there), a leaf tensor,
    # or the node that made the argument. Where a producer has several outputs,
    # ``_producer_nrs`` says which one each argument was (it is None otherwise).
    # When exactly one argument has a producer (a unary op, or an op of one input and
    # constants), ``_producers`` is that producer itself, not a tuple: argument
    # ``_sole_arg`` of ``_n_args``. That saves a tuple the cyclic collector would track
    # for most ops. ``producer_tuple()`` gives the tuple form; ``next_functions`` is
    # the public (producer, output number) view.
    _producers = ()
    _producer_nrs = None
    _sole_arg = 0
    _n_args = 0
    scope = None
    # What forward passed to save_for_backward, as it passed it: input tensors, and
    # arrays that are outputs (``_saved_outputs`` maps their positions to output
    # numbers) or constants. ``_saved_versions`` maps the position of an input saved
    # when its version counter was not 0 to that version.
    _saved = None
    _saved_outputs = None
    _saved_versions = None
    _out_versions = None   # {output number: [(counter, value when watched)]}, see watch_output
    _released = False
    _hooks = None          # {output_nr: [hook, ...]} for hooks on non-leaf outputs
    _retained = None       # {output_nr: weakref to the tensor}, from retain_grad()
    _pre_hooks = None      # register_prehook's: run on the output gradients before backward
    _post_hooks = None     # register_hook's: run on (input gradients, output gradients) after it
    _metadata = None
    _n_outputs = 1
    _special = False       # several outputs, hooks, a retained grad or a custom Function: the engine's slow path
    _user_defined = False  # a subclass written outside topograd (see __init_subclass__)
    # Backward runs where the pass reaches the node but no gradient does: a custom
    # Function's, as in PyTorch (the library's ops send None on, as PyTorch's built-in ones).
    _runs_without_gradient = False
    _forward_signature = None  # a setup_context-form forward's, where it has defaults (see _apply_with_defaults)
    _non_tensor_args = ()  # a recorded custom Function's: positions of forward's arguments that are no Tensor
    _aliases_inputs = False  # outputs share their inputs' memory (nn's BackwardHookFunction): no in-place change
    _out_meta = None       # shapes and dtypes of outputs, to materialize missing grads
    _materialize_grads = True  # see set_materialize_grads
    _marks = None               # an _OutputMarks, once forward marks an output
    _constant_outputs = ()      # numbers of the outputs that take no gradient (see _record_outputs)
    # The (first) output's shape and dtype: nodes keep no outputs, but the engine reduces
    # each gradient to its producer's output shape, and drawings show both.
    _out_shape = ()
    _out_dtype = None
    _backend = None
    trace = None           # where the op was created, kept under detect_anomaly()
    # For the node of a view (see ops.shape._view): its base's in-place counter when
    # the view took this place. A later change of the base makes the view stale, and
    # the next op that takes it first rebases it (Tensor._rebase), as PyTorch does.
    view_version = None

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError(f"{__class__.__name__} subclasses must define forward")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("this op is not differentiable")

    @staticmethod
    def setup_context(ctx, inputs, output):
        """PyTorch 2's other form of a custom Function: a subclass that defines this gives
        ``forward(*args)`` without ctx, and here saves what backward needs, from the
        arguments (``inputs``, a tuple) and what forward returned (``output``)."""
        raise NotImplementedError("setup_context is defined by a Function whose forward takes no ctx")

    @classmethod
    def apply(cls, *args):
        if observers:
            run = _run
            for observer in tuple(observers):  # (a copy: another thread may add or remove one meanwhile)
                run = observer.wrap_forward(run)
            return run(cls, args)
        return _run(cls, args)

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self.name} is called through its class: {self.name}.apply(...), which runs the static "
                        "forward and records the node (an instance is a node, not a function)")

    name = _ClassName()
    _node_name = _NodeName("Function")

    @property
    def next_functions(self):
        """Per forward argument, ``(producer, output number)``, ``(None, 0)`` where no
        gradient flows (PyTorch's pair for it); the producer is a node, or a leaf tensor
        (number -1)."""
        nrs = self._producer_nrs
        return tuple((None, 0) if p is None else (p, -1) if isinstance(p, Tensor) else (p, 0 if nrs is None else nrs[i])
                     for i, p in enumerate(self.producer_tuple()))

    def producer_tuple(self):
        """Per forward argument, None, a leaf tensor or the producing node."""
        producers = self._producers
        if type(producers) is tuple:
            return producers
        return (None,) * self._sole_arg + (producers,) + (None,) * (self._n_args - self._sole_arg - 1)

    # --- what backward may use ----------------------------------------------------
    def save_for_backward(self, *items):
        """Keep inputs (Tensors), outputs (the arrays forward returns) or other
        arrays for backward. Inputs are checked for in-place changes when used."""
        self._saved = items

    def release_saved(self):
        """Drop what save_for_backward kept, as the engine does once backward returns
        (unless retain_graph); a later backward through this node then raises. For a
        backward that frees its saved arrays as it goes, after checking
        grad_mode.retains_graph()."""
        self._saved = None
        self._released = True

    def mark_non_differentiable(self, *outputs):
        """As in PyTorch: these outputs of forward (the arrays or Tensors it returns)
        get no gradient: they do not require grad, and backward is given zeros for them
        (or None, after set_materialize_grads(False)). Outputs that are not floating
        point (indices, masks) are never differentiable, marked or not."""
        self._output_marks().constant = frozenset(id(o) for o in outputs)

    def mark_dirty(self, *tensors):
        """As in PyTorch: forward changed these input tensors in place, and returns each
        of them (the tensor or its array) as an output. Their version counters move on,
        so backward through an op that saved their old values fails, and each takes
        its output's place in the graph (through its base, for a view), as after an
        in-place method. As for those, a leaf that requires grad, or a view of one, is
        refused while the graph is recorded: here, so that a forward that calls
        mark_dirty before it changes anything leaves the tensor's values intact."""
        recording = any(self.needs_input_grad)  # a recorded node needs at least one
        for t in tensors:
            if not isinstance(t, Tensor):
                raise TypeError(f"{self.name}.mark_dirty: expected the input Tensors that forward changed in "
                                f"place, got {type(t).__name__}")
            root = t._root()
            if recording and root._requires_grad and root.grad_fn is None:
                count_change(t)  # forward may have changed it already: what saved it must not trust it
                raise RuntimeError(
                    f"{self.name}: mark_dirty() was given a leaf tensor that requires grad (or a view of one), "
                    "which cannot be changed in place while the graph is being recorded; call the function "
                    "under `with ag.no_grad():`, or pass it a .clone()")
        self._output_marks().dirty = tensors

    def _output_marks(self):
        if self._marks is None:
            self._marks = _OutputMarks()
        return self._marks

    def set_materialize_grads(self, value):
        """As in PyTorch: with False, backward gets None, not zeros, for an output that
        received no gradient (so it can skip work, as the LSTM step skips its gates')."""
        self._materialize_grads = bool(value)

    @property
    def saved_tensors(self):
        saved = self._saved
        if type(saved) is not tuple:  # (one test for the two uncommon cases)
            if saved is not None:  # packed by saved_tensors_hooks (see graph.py)
                return saved.unpack(self)
            if self._released:
                raise self._freed_error()
            return ()
        outputs = self._saved_outputs
        out = []
        for i, item in enumerate(saved):
            if isinstance(item, Tensor):
                v = item._version
                if v is not None and v.value != (0 if self._saved_versions is None else
                                                 self._saved_versions.get(i, 0)):
                    self._changed_input(item, i)
                out.append(item)
            elif item is None:
                out.append(None)
            elif outputs is not None and i in outputs:
                out.append(self._saved_output(item, outputs[i]))
            else:
                out.append(Tensor._make(item, self._backend))
        return out

    def _freed_error(self):
        return RuntimeError(
            f"{self.name}: trying to backward through the graph a second time, but its saved "
            "tensors were already freed. Pass retain_graph=True to the first backward() "
            "(or ag.grad()) if you need to go through the graph again.")

    def _changed_input(self, t, i):
        expected = 0 if self._saved_versions is None else self._saved_versions.get(i, 0)
        raise RuntimeError(
            f"{self.name}: a tensor it saved for backward (shape {t.shape}) was modified in place "
            f"at {t._version.where} after the op used it (version {t._version.value}, expected {expected}). "
            "Use an out-of-place op there, or pass a .clone() of the tensor to the op.")

    def _saved_output(self, array, nr):
        watched = () if self._out_versions is None else self._out_versions.get(nr, ())
        for v, value in watched:
            if v.value != value:
                raise RuntimeError(
                    f"{self.name}: its output, saved for backward, was modified in place at {v.where}. "
                    "Use an out-of-place op there, or change a .clone() of the output instead.")
        t = Tensor._make(array, self._backend)
        # create_graph: the output stays connected to this node, unless it takes no gradient
        if _state.enabled and nr not in self._constant_outputs:
            t._requires_grad = True
            t.grad_fn = self
            t._output_nr = nr
            if watched:
                t._version = watched[0][0]
        return t

    def watch_output(self, nr, version):
        """Check ``version`` (an output's in-place counter, made after this node saved it)
        before handing out a saved output. Outputs get a counter only when something can
        change them in place (a view, a detached alias, an in-place op), so most never do."""
        if self._out_versions is None:
            self._out_versions = {}
        self._out_versions.setdefault(nr, []).append((version, version.value))

    # --- per-output hooks (used by Tensor.register_hook and retain_grad) -------------
    def _tensor_hooks(self, output_nr):
        self._special = True
        if self._hooks is None:
            self._hooks = {}
        return self._hooks.setdefault(output_nr, [])

    def register_prehook(self, fn):
        """As PyTorch's ``Node.register_prehook``: ``fn(grad_outputs)`` runs before this
        node's backward, on the tuple of its outputs' gradients (after the outputs' own
        tensor hooks); a tuple it returns replaces them."""
        check_hook("register_prehook", fn)
        self._special = True
        if self._pre_hooks is None:
            self._pre_hooks = []
        return HookHandle(self._pre_hooks, fn)

    def register_hook(self, fn):
        """As PyTorch's ``Node.register_hook``: ``fn(grad_inputs, grad_outputs)`` runs after
        this node's backward, with a gradient (or None) per forward argument; a tuple it
        returns replaces ``grad_inputs``."""
        check_hook("register_hook", fn)
        self._special = True
        if self._post_hooks is None:
            self._post_hooks = []
        return HookHandle(self._post_hooks, fn)

    @property
    def metadata(self):
        """A dict of the user's own, kept on the node (PyTorch's ``Node.metadata``)."""
        if self._metadata is None:
            self._metadata = {}
        return self._metadata

    def _retain(self, tensor):
        self._special = True
        if self._retained is None:
            self._retained = {}
        self._retained[tensor._output_nr] = weakref.ref(tensor)

    def __repr__(self):
        return f"<{self.name} node>"


def _run(cls, args):
    """Function.apply's body (observers wrap it)."""
    backend = None
    requires = False
    for a in args:
        if isinstance(a, Tensor):
            if backend is None:
                backend = a._backend
            elif a._backend is not backend:
                on_one_device(cls.__name__.lower(), *args)  # (raises)
            if a._requires_grad or a._version is not None and a._fresh()._requires_grad:
                requires = True  # (_fresh: an indexing view whose base joined the graph since)
    if backend is None:
        _no_tensor_argument(cls, args)
    ctx = _new(cls)
    recording = _state.enabled
    if recording and requires:
        return _record(cls, ctx, args, backend)
    # A tuple, as PyTorch's: forwards index it (twice per Mul), so it must be cheap.
    ctx.needs_input_grad = (False,) * len(args)
    if recording:
        # As PyTorch: a forward never records, even one whose inputs need no gradient
        # (a custom Function's forward may use Tensor ops on a parameter it closes over).
        _state.enabled = False
        try:
            raw = cls.forward(ctx, *args)
        finally:
            _state.enabled = True
    else:
        raw = cls.forward(ctx, *args)
    if ctx._marks is not None and ctx._marks.dirty:
        return _dirty_outputs_unrecorded(ctx, args, raw, backend)
    if cls._user_defined:  # its outputs may lie in its inputs' memory
        return _user_outputs_unrecorded(cls, args, raw, backend)
    if type(raw) is tuple or isinstance(raw, Tensor):
        return _outputs(cls, raw, backend)
    try:
        scalar = raw.ndim == 0
    except AttributeError:
        _not_an_output(cls, raw)
    if scalar:  # NumPy reductions return scalars: keep 0-d arrays, which change in place
        raw = backend.xp.asarray(raw)
    t = _new(Tensor)  # the no-grad path, kept flat: this is the hottest code in the library
    t.data = raw
    t._backend = backend
    t._requires_grad = False
    t.grad_fn = t._grad = t._version = t._hooks = None
    t._output_nr = 0
    return t


def _no_tensor_argument(cls, args):
    kinds = ", ".join(type(a).__name__ for a in args) or "nothing"
    raise TypeError(f"{cls.__name__}.apply: expected at least one Tensor argument, got {kinds}; "
                    "make the inputs Tensors with ag.tensor(...)")


def _not_an_output(cls, raw):
    """Refuse what forward returned when it is no array or Tensor (None, a list, a float)."""
    if type(raw) is tuple or isinstance(raw, Tensor) or hasattr(raw, "ndim"):
        return
    raise TypeError(f"{cls.__name__}.forward returned {type(raw).__name__} {raw!r:.60}; return the backend "
                    "array (or Tensor) it computed, or a tuple of them for several outputs")


def _passed_through(cls, raw):
    """Whether ``raw``, one of several outputs of forward, is no array or Tensor. A custom
    Function's such output (a count, a label, None) comes back to the caller as it is,
    outside the graph, and backward gets None for it, as in PyTorch; in one of the
    library's own ops it is a defect, refused."""
    if isinstance(raw, Tensor) or hasattr(raw, "ndim"):
        return False
    if not cls._user_defined:
        _not_an_output(cls, raw)
    return True


def _outputs(cls, raw, backend):
    if type(raw) is tuple:
        return tuple(r if _passed_through(cls, r) else _wrap(r, backend) for r in raw)
    return _wrap(raw, backend)


def _user_outputs_unrecorded(cls, args, raw, backend):
    """The outputs of a custom forward, with nothing recorded (see _alias_returned_inputs)."""
    _not_an_output(cls, raw)
    outputs = _outputs(cls, raw, backend)
    _alias_returned_inputs(args, [t for t in outputs if isinstance(t, Tensor)] if type(outputs) is tuple
                           else (outputs,))
    return outputs


def _dirty_outputs_unrecorded(ctx, args, raw, backend):
    """The outputs of a forward that changed inputs in place, with nothing recorded:
    each changed input is its own output, as in PyTorch."""
    raws = raw if type(raw) is tuple else (raw,)
    _count_dirty(ctx, args, raws)
    outputs = []
    for r in raws:
        t = _dirty_input_returned(r, ctx._marks.dirty)
        outputs.append(t if t is not None else r if _passed_through(type(ctx), r) else _wrap(r, backend))
    return tuple(outputs) if type(raw) is tuple else outputs[0]


def _count_dirty(ctx, args, raws):
    """Check that each tensor forward marked dirty is an input it returns, and move its
    version counter on (first: its values have changed, whatever is refused next)."""
    for t in ctx._marks.dirty:
        if not any(t is a for a in args):
            raise RuntimeError(f"{ctx.name}: mark_dirty() was given a tensor that is not an input of forward; "
                               "only inputs that forward changed in place can be marked dirty")
        count_change(t)
    for t in ctx._marks.dirty:
        if not any(r is t or r is t.data for r in raws):
            raise RuntimeError(f"{ctx.name}: an input marked dirty with mark_dirty() is not returned by "
                               "forward; return each tensor changed in place (or its array) as an output")


def _dirty_input_returned(raw, dirty):
    """The input tensor marked dirty that forward returned as ``raw``, or None."""
    for t in dirty:
        if raw is t or raw is t.data:
            return t
    return None


def _wrap(raw, backend):
    """A fresh output tensor; forward may return an array or a Tensor (whose
    device wins, which is how a copy to another device works)."""
    if isinstance(raw, Tensor):
        return Tensor._make(raw.data, raw._backend)
    return Tensor._make(raw, backend)


def _record(cls, ctx, args, backend):
    """Run forward and make ``ctx`` the node of its outputs (the hot path: kept flat)."""
    needs = []
    producers = []
    several_outputs = False
    sole = None  # the index of the one argument with a producer, while there is one
    for i, a in enumerate(args):
        if isinstance(a, Tensor) and a._requires_grad:
            needs.append(True)
            fn = a.grad_fn
            v = a._version
            # Tensor._stale's test for a recorded view, inline: parameters have a counter
            # after the first optimizer step, and a method call per op input costs ~3 us a step.
            if v is not None and fn is not None and fn.view_version is not None and v.value != fn.view_version:
                fn = a._rebase().grad_fn
            if fn is None:
                producers.append(a)
            else:
                producers.append(fn)
                if fn._n_outputs != 1:
                    several_outputs = True
            sole = i if sole is None else -1
        else:
            needs.append(False)
            producers.append(None)
    ctx.needs_input_grad = tuple(needs)
    if several_outputs:
        ctx._producers = tuple(producers)
        ctx._producer_nrs = tuple(a._output_nr if p is not None else 0 for a, p in zip(args, producers))
    elif sole >= 0:
        ctx._producers = producers[sole]
        ctx._sole_arg = sole
        ctx._n_args = len(args)
    else:
        ctx._producers = tuple(producers)
    scope = _state.scope
    if scope is not None:  # (the class default)
        ctx.scope = scope
    _state.enabled = False  # a forward built from Tensor ops must not record
    try:
        raw = cls.forward(ctx, *args)
    finally:
        _state.enabled = True
    if type(raw) is not tuple and not isinstance(raw, Tensor):
        try:
            dtype = raw.dtype
        except AttributeError:
            _not_an_output(cls, raw)
        if dtype in backend.floating_dtypes and ctx._marks is None:
            returned = raw  # what forward may have saved, matched by identity below
            shape = raw.shape
            if not shape:  # NumPy reductions return scalars: keep 0-d arrays, which change in place
                raw = backend.xp.asarray(raw)
            t = _new(Tensor)
            t.data = raw
            t._backend = backend
            t._requires_grad = True
            t.grad_fn = ctx
            t._output_nr = 0
            t._grad = t._version = t._hooks = None
            ctx._backend = backend
            ctx._out_dtype = dtype
            ctx._out_shape = shape
            if ctx._saved is not None:
                _note_saved_single(ctx, returned, raw)
            if cls._user_defined:
                _note_user_call(ctx, args, (t,))
            if packers and ctx._saved is not None:
                _pack_saved(ctx, (t,))
            return t
    return _record_outputs(ctx, args, producers, raw, backend)


def _record_outputs(ctx, args, producers, raw, backend):
    """The rest of _record for forwards that return several outputs, a Tensor, an
    output that takes no gradient, or inputs changed in place. Among several outputs,
    a custom forward's non-tensors (see _passed_through) stay as they are in ``outputs``."""
    cls = type(ctx)
    raws = raw if type(raw) is tuple else (raw,)
    if cls._user_defined and type(raw) is tuple:
        outputs = [r if _passed_through(cls, r) else _wrap(r, backend) for r in raws]
        tensors = [t for t in outputs if isinstance(t, Tensor)]
    else:  # (no output passes through: kept apart, since a library op's several outputs come here)
        for r in raws:
            _not_an_output(cls, r)
        outputs = tensors = [_wrap(r, backend) for r in raws]
    marks = ctx._marks
    if marks is not None and marks.dirty:
        _count_dirty(ctx, args, raws)
    if type(raw) is tuple:
        ctx._n_outputs = len(outputs)
        ctx._special = True
        # A non-tensor output has no dtype: backward gets None for it, never zeros (see
        # engine._materialize).
        ctx._out_meta = tuple((t.data.shape, t.data.dtype) if isinstance(t, Tensor) else ((), None)
                              for t in outputs)
    if tensors:
        ctx._out_shape = tensors[0].data.shape
        ctx._backend = tensors[0]._backend
        ctx._out_dtype = tensors[0].data.dtype
    else:  # (no tensor among the outputs: a node that nothing leads to)
        ctx._backend = backend
    marked = () if marks is None else marks.constant
    constant = []
    for i, (t, r) in enumerate(zip(outputs, raws)):
        if (not isinstance(t, Tensor) or id(r) in marked or id(t.data) in marked
                or t.data.dtype not in t._backend.floating_dtypes):
            constant.append(i)  # as PyTorch: a plain tensor (or the object itself), outside the graph
            continue
        t._requires_grad = True
        t.grad_fn = ctx
        t._output_nr = i
    if constant:
        ctx._constant_outputs = tuple(constant)
    if ctx._saved is not None:
        # (None for a non-tensor output: what forward saved is never matched with it)
        returned = [None if not isinstance(t, Tensor) else r.data if isinstance(r, Tensor) else r
                    for t, r in zip(outputs, raws)]
        _note_saved(ctx, returned, [t.data if isinstance(t, Tensor) else None for t in outputs])
    if ctx._user_defined:
        _note_user_call(ctx, args, () if marks is not None and marks.dirty else tensors)
    if marks is not None and marks.dirty:
        try:
            outputs = [_take_dirty_place(ctx, t, r) if isinstance(t, Tensor) else t for t, r in zip(outputs, raws)]
        finally:
            # Each changed input now has this node as its grad_fn: were the node to keep
            # them, every one would be a reference cycle (tensor -> node -> tensor).
            marks.dirty = ()
    if packers and ctx._saved is not None:  # after mark_dirty: pack_hook gets the tensors returned
        _pack_saved(ctx, outputs)
    return tuple(outputs) if type(raw) is tuple else outputs[0]


def _note_user_call(ctx, args, outputs):
    """What the engine and later in-place changes need to know of a recorded custom
    Function's call: which arguments are no Tensor (a gradient returned for one is an
    error, as in PyTorch: likely gradients out of order), and which outputs alias. What
    forward saved is checked here, as PyTorch checks it, not when backward unpacks it."""
    for i, item in enumerate(ctx._saved or ()):
        if not (item is None or isinstance(item, Tensor) or hasattr(item, "ndim")):
            raise TypeError(f"{ctx.name}.save_for_backward: item {i} is of type {type(item).__name__}; it keeps "
                            "Tensors, arrays or None, so keep other values as attributes of ctx (ctx.k = k)")
    if not all(isinstance(a, Tensor) for a in args):
        ctx._non_tensor_args = tuple(i for i, a in enumerate(args) if not isinstance(a, Tensor))
    _alias_returned_inputs(args, outputs)


def _alias_returned_inputs(args, outputs):
    """A custom forward that returns an input's own array or a view of it (without
    mark_dirty), or one array as two outputs, gives outputs in memory that another tensor
    holds: each shares that tensor's in-place counter, so that a change through one is
    caught by backward through anything that saved the other (PyTorch refuses the change
    itself). Recorded or not: an input may be saved by an op recorded before."""
    holders = [a for a in args if isinstance(a, Tensor)]
    for t in outputs:
        for other in holders:
            if other._backend is t._backend and t._backend.may_share_memory(t.data, other.data):
                share_version(t, version_of(other))
                break
        holders.append(t)


def _take_dirty_place(ctx, output, raw):
    """The output itself, or, where forward returned an input it changed in place, that
    input, which takes the output's place in the graph as after an in-place method."""
    t = _dirty_input_returned(raw, ctx._marks.dirty)
    if t is None:
        return output
    if output.grad_fn is None:  # marked non-differentiable, or not floating point
        if t._requires_grad:
            raise RuntimeError(f"{ctx.name}: an input changed in place (mark_dirty) that requires grad "
                               "cannot become an output that takes no gradient")
        return t
    t._changed_by(ctx.name, output)
    saved = ctx._saved_outputs
    if saved is not None and output._output_nr in saved.values():
        ctx.watch_output(output._output_nr, version_of(t))  # a later change of t must not reach backward
    return t


def _note_saved_single(ctx, returned, array):
    """_note_saved for a forward that returned one array (``array`` is its output
    tensor's array: ``returned`` itself, or a 0-d array made from a scalar)."""
    outputs = versions = None
    for i, item in enumerate(ctx._saved):
        if isinstance(item, Tensor):
            if item.data is returned:
                return _note_saved(ctx, (returned,), (array,))  # saved a Tensor of its own output
            v = item._version
            if v is not None and v.value:
                if versions is None:
                    versions = {}
                versions[i] = v.value
        elif item is array:
            if outputs is None:
                outputs = {}
            outputs[i] = 0
        elif item is returned and item is not None:
            return _note_saved(ctx, (returned,), (array,))  # a scalar, kept as its 0-d array
    if outputs is not None:  # (None: the class defaults, as on every new node)
        ctx._saved_outputs = outputs
    if versions is not None:
        ctx._saved_versions = versions


def _note_saved(ctx, returned, arrays):
    """Tell apart, among what forward saved, this node's outputs and the inputs whose
    version counter is past 0 (for the check in ``saved_tensors``). An output is
    matched by identity with what forward ``returned``, or with ``arrays``, the
    output tensors' arrays, which is what is kept for it."""
    saved = ctx._saved
    outputs = versions = None
    for i, item in enumerate(saved):
        if item is None:
            continue
        data = item.data if isinstance(item, Tensor) else item
        for nr, array in enumerate(arrays):
            if data is array or data is returned[nr]:
                if outputs is None:
                    outputs = {}
                outputs[i] = nr
                break
        else:
            if isinstance(item, Tensor):
                v = item._version
                if v is not None and v.value:
                    if versions is None:
                        versions = {}
                    versions[i] = v.value
    ctx._saved_versions = versions
    if outputs is not None:
        ctx._saved_outputs = outputs
        if any(saved[i] is not arrays[nr] for i, nr in outputs.items()):
            ctx._saved = tuple(arrays[outputs[i]] if i in outputs else item for i, item in enumerate(saved))


def _signature_with_defaults(forward):
    """The signature of a setup_context-form ``forward`` whose positional parameters have
    defaults, or None."""
    try:
        signature = inspect.signature(forward)
    except (TypeError, ValueError):
        return None
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.default is not p.empty and p.kind in positional for p in signature.parameters.values()):
        return signature
    return None


def _apply_with_defaults(cls, *args):
    """Function.apply for a setup_context-form class whose forward has defaults: as PyTorch's,
    the arguments are bound to forward's signature first, so the defaults left out reach
    forward, setup_context's ``inputs`` and needs_input_grad too (``x, k = inputs``)."""
    signature = cls._forward_signature
    if signature is None:  # a subclass whose own forward has no defaults
        return Function.apply.__func__(cls, *args)
    try:
        bound = signature.bind(*args)
    except TypeError:
        return Function.apply.__func__(cls, *args)  # forward's own call error, explained there
    bound.apply_defaults()
    return Function.apply.__func__(cls, *bound.args)


def _forward_then_setup_context(forward):
    """A ctx-less forward and its class's setup_context, as the one ``forward(ctx, *args)``
    that Function.apply calls. setup_context is looked up on ctx's class at each call, as
    PyTorch does, so that a subclass that overrides only setup_context has its own run."""
    @functools.wraps(forward)
    def forward_with_ctx(ctx, *args):
        try:
            output = forward(*args)
        except TypeError as error:
            _explain_forward_call(forward, ctx, args, error, takes_ctx=False)
            raise
        type(ctx).setup_context(ctx, args, output)
        return output
    return forward_with_ctx


def _forward_taking_ctx(forward):
    """A custom Function's ``forward(ctx, *args)``, whose call, when its signature takes the
    arguments only without ctx, says that ctx was left out."""
    @functools.wraps(forward)
    def forward_taking_ctx(ctx, *args, **kwargs):
        try:
            return forward(ctx, *args, **kwargs)
        except TypeError as error:
            _explain_forward_call(forward, ctx, args, error, takes_ctx=True)
            raise
    return forward_taking_ctx


def _explain_forward_call(forward, ctx, args, error, takes_ctx):
    """Python's own error for a forward whose signature does not fit its call ("takes 1
    positional argument but 2 were given") does not say why: ctx left out of a forward,
    or given to one whose class defines setup_context. Where the signature would take the
    arguments in the other form, say so; otherwise the error came from forward's body."""
    try:
        signature = inspect.signature(forward)
    except (TypeError, ValueError):
        return

    def binds(*given):
        try:
            signature.bind(*given)
        except TypeError:
            return False
        return True

    with_ctx, without_ctx = binds(ctx, *args), binds(*args)
    if takes_ctx and without_ctx and not with_ctx:
        raise TypeError(f"{ctx.name}.forward takes its arguments without ctx: define it as forward(ctx, ...), "
                        "since Function.apply passes ctx first (or define setup_context(ctx, inputs, output), "
                        "PyTorch 2's form, where forward takes no ctx)") from error
    if not takes_ctx and with_ctx and not without_ctx:
        raise TypeError(f"{ctx.name}.forward takes ctx, but {ctx.name} defines setup_context, so forward is "
                        "called without ctx: drop ctx from forward and save what backward needs in setup_context, "
                        "or drop setup_context") from error


def once_differentiable(backward):
    """For a custom Function's ``backward`` that cannot be differentiated again (it works
    on the arrays, or calls code of its own), as PyTorch's: it runs without recording,
    and under ``create_graph`` its gradients raise, when differentiated, an error naming
    it instead of giving a silently wrong second derivative."""
    @functools.wraps(backward)
    def run_once(ctx, *grads):
        with grad_mode.no_grad():
            results = backward(ctx, *grads)
        if not (grad_mode.state.enabled and any(isinstance(g, Tensor) and g._requires_grad for g in grads)):
            return results
        single = not isinstance(results, tuple)
        # Each gradient joins the graph through a node that refuses to be differentiated
        # (a detached alias that requires grad, so that the node is recorded).
        marked = tuple(_OnceDifferentiated.apply(r.detach().requires_grad_(), ctx.name) if isinstance(r, Tensor)
                       else r for r in ((results,) if single else results))
        return marked[0] if single else marked
    return run_once


class _OnceDifferentiated(Function):
    """The gradient a once_differentiable backward gave, as it is; differentiating it raises."""

    @staticmethod
    def forward(ctx, gradient, name):
        ctx.function_name = name
        return gradient.data

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(f"trying to differentiate twice a function that was marked with @once_differentiable "
                           f"({ctx.function_name}.backward); write its backward in Tensor ops to get higher "
                           "derivatives")


from .graph import pack_saved as _pack_saved  # noqa: E402  (graph.py builds on Function)
