"""Function: the one pattern for a differentiable op.

A subclass gives a static ``forward(ctx, *args)`` that computes on backend
arrays and a static ``backward(ctx, *grads)`` written in Tensor ops (so it can
itself be differentiated). ``apply`` runs forward and, when any input requires
grad and recording is on, makes the instance the graph node of the outputs.

The node holds edges to its inputs' nodes (or to leaf tensors), never to its
own outputs, so a graph has no reference cycles. An output saved for backward is
kept as its raw array and turned back into a Tensor on demand.
"""
import weakref

from . import grad_mode
from .tensor import Tensor, version_of

_state = grad_mode.state
_new = object.__new__

# Observers (profiler, anomaly detection) wrap every op call while they are
# active. When none is, recording pays for one truthiness test.
observers = []

# The innermost nn.Module being called. Nodes remember it so that drawings and
# the profiler can group ops by module; autograd itself never looks inside it.
current_scope = None


def set_scope(scope):
    """Make ``scope`` the one new nodes record; returns the previous one."""
    global current_scope
    previous, current_scope = current_scope, scope
    return previous


class _NoInputNeedsGrad:
    """``ctx.needs_input_grad`` when nothing is recorded: False at every index."""

    def __getitem__(self, index):
        return False

    def __iter__(self):
        return iter(())

    def __len__(self):
        return 0


_NOTHING_NEEDS_GRAD = _NoInputNeedsGrad()


class Function:
    """Base class of every op; an instance is both the op's ``ctx`` and its graph node."""

    needs_input_grad = _NOTHING_NEEDS_GRAD
    next_edges = ()
    scope = None
    _to_save = None        # what forward passed to save_for_backward
    _saved = None          # the packed form, after apply knows the outputs
    _released = False
    _hooks = None          # {output_nr: [hook, ...]} for hooks on non-leaf outputs
    _retained = None       # {output_nr: weakref to the tensor}, from retain_grad()
    _n_outputs = 1
    _special = False       # several outputs, hooks or a retained grad: the engine's slow path
    _out_meta = None       # shapes and dtypes of outputs, to materialize missing grads
    _out_dtype = None      # the (first) output's dtype: nodes keep no outputs, drawings show it
    _backend = None
    trace = None           # where the op was created, kept under detect_anomaly()

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError(f"{__class__.__name__} subclasses must define forward")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("this op is not differentiable")

    @classmethod
    def apply(cls, *args):
        if observers:
            run = _run
            for observer in observers:
                run = observer.wrap_forward(run)
            return run(cls, args)
        return _run(cls, args)

    @property
    def name(self):
        return type(self).__name__

    # --- what backward may use ----------------------------------------------------
    def save_for_backward(self, *items):
        """Keep inputs (Tensors), outputs (the arrays forward returns) or other
        arrays for backward. Inputs are checked for in-place changes when used."""
        self._to_save = items

    @property
    def saved_tensors(self):
        saved = self._saved
        if saved is None:
            if self._released:
                raise RuntimeError(
                    f"{self.name}: trying to backward through the graph a second time, but its saved "
                    "tensors were already freed. Pass retain_graph=True to the first backward() "
                    "(or ag.grad()) if you need to go through the graph again.")
            return ()
        out = []
        for item in saved:
            if item is not None and item[0] == _INPUT and item[1]._version is None:
                out.append(item[1])  # never changed in place: nothing to check
            else:
                out.append(_unpack(self, item))
        return out

    # --- per-output hooks (used by Tensor.register_hook and retain_grad) -------------
    def _tensor_hooks(self, output_nr):
        self._special = True
        if self._hooks is None:
            self._hooks = {}
        return self._hooks.setdefault(output_nr, [])

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
                _device_mismatch(cls, backend, a._backend)
            if a._requires_grad:
                requires = True
    ctx = _new(cls)
    if requires and _state.enabled:
        return _record(cls, ctx, args, backend)
    raw = cls.forward(ctx, *args)
    if type(raw) is tuple or isinstance(raw, Tensor):
        return _outputs(raw, backend)
    if raw.ndim == 0:  # NumPy reductions return scalars: keep 0-d arrays, which change in place
        raw = backend.xp.asarray(raw)
    t = _new(Tensor)  # the no-grad path, kept flat: this is the hottest code in the library
    t.data = raw
    t._backend = backend
    t._requires_grad = False
    t.grad_fn = t._grad = t._version = t._hooks = None
    t._output_nr = 0
    return t


def _device_mismatch(cls, first, second):
    raise ValueError(f"{cls.__name__.lower()}: expected all tensors on one device, got "
                     f"{first.device} and {second.device}; move one with .to(device)")


def _outputs(raw, backend):
    if type(raw) is tuple:
        return tuple(_wrap(r, backend) for r in raw)
    return _wrap(raw, backend)


def _wrap(raw, backend):
    """A fresh output tensor; forward may return an array or a Tensor (whose
    device wins, which is how a copy to another device works)."""
    if isinstance(raw, Tensor):
        return Tensor._make(raw.data, raw._backend)
    return Tensor._make(raw, backend)


def _record(cls, ctx, args, backend):
    """Run forward and make ``ctx`` the node of its outputs (the hot path: kept flat)."""
    needs = []
    edges = []
    for a in args:
        if isinstance(a, Tensor) and a._requires_grad:
            needs.append(True)
            fn = a.grad_fn
            edges.append((a, -1, a.data.shape) if fn is None else (fn, a._output_nr, a.data.shape))
        else:
            needs.append(False)
            edges.append(None)
    ctx.needs_input_grad = tuple(needs)  # bools only: the GC stops tracking it, unlike a list
    ctx.next_edges = edges
    ctx.scope = current_scope
    _state.enabled = False  # a forward built from Tensor ops must not record
    try:
        raw = cls.forward(ctx, *args)
    finally:
        _state.enabled = True
    if type(raw) is tuple:
        outputs = [_wrap(r, backend) for r in raw]
        ctx._n_outputs = len(outputs)
        ctx._special = True
        ctx._out_meta = tuple((t.data.shape, t.data.dtype) for t in outputs)
    elif isinstance(raw, Tensor):
        outputs = [_wrap(raw, backend)]
    else:
        returned = raw  # what forward may have saved, matched by identity below
        if raw.ndim == 0:
            raw = backend.xp.asarray(raw)
        t = _new(Tensor)
        t.data = raw
        t._backend = backend
        t._requires_grad = True
        t.grad_fn = ctx
        t._output_nr = 0
        t._grad = t._version = t._hooks = None
        ctx._backend = backend
        ctx._out_dtype = raw.dtype
        saved = ctx._to_save
        if saved is not None:
            ctx._saved = _pack_single(saved, returned, t)
            ctx._to_save = None
        return t
    ctx._backend = outputs[0]._backend
    ctx._out_dtype = outputs[0].data.dtype
    for i, t in enumerate(outputs):
        t._requires_grad = True
        t.grad_fn = ctx
        t._output_nr = i
    if ctx._to_save is not None:
        returned = [r.data if isinstance(r, Tensor) else r for r in (raw if type(raw) is tuple else (raw,))]
        ctx._saved = _pack(ctx._to_save, outputs, returned)
        ctx._to_save = None
    return tuple(outputs) if len(outputs) > 1 or type(raw) is tuple else outputs[0]


# Saved items are tagged tuples: an input tensor with the version it had, an
# output (by index, as raw array plus its version counter), or a constant array.
_INPUT, _OUTPUT, _CONSTANT = 0, 1, 2


def _pack(items, outputs, returned):
    """Saved items in their tagged form; an item that is one of the arrays forward
    ``returned`` is saved as that output (stored as the output tensor's array)."""
    packed = []
    for item in items:
        if item is None:
            packed.append(None)
            continue
        data = item.data if isinstance(item, Tensor) else item
        for i, out in enumerate(outputs):
            if data is returned[i] or data is out.data:
                packed.append((_OUTPUT, i, out.data, version_of(out)))
                break
        else:
            if isinstance(item, Tensor):
                v = item._version
                packed.append((_INPUT, item, 0 if v is None else v.value))
            else:
                packed.append((_CONSTANT, item))
    return packed


def _pack_single(items, returned, out):
    """_pack for the common case: one output, which forward ``returned`` as an array
    (``out.data`` is that array, or a 0-d array made from a scalar it returned)."""
    packed = []
    for item in items:
        if isinstance(item, Tensor):
            if item.data is returned:
                packed.append((_OUTPUT, 0, out.data, version_of(out)))
            else:
                v = item._version
                packed.append((_INPUT, item, 0 if v is None else v.value))
        elif item is returned:
            packed.append((_OUTPUT, 0, out.data, version_of(out)))
        else:
            packed.append(None if item is None else (_CONSTANT, item))
    return packed


def _unpack(node, item):
    if item is None:
        return None
    kind = item[0]
    if kind == _INPUT:
        t, expected = item[1], item[2]
        v = t._version
        if v is not None and v.value != expected:
            raise RuntimeError(
                f"{node.name}: a tensor it saved for backward (shape {t.shape}) was modified in place "
                f"at {v.where} after the op used it (version {v.value}, expected {expected}). "
                "Use an out-of-place op there, or pass a .clone() of the tensor to the op.")
        return t
    if kind == _OUTPUT:
        _, index, array, v = item
        if v.value != 0:
            raise RuntimeError(
                f"{node.name}: its output, saved for backward, was modified in place at {v.where}. "
                "Use an out-of-place op there, or change a .clone() of the output instead.")
        t = Tensor._make(array, node._backend)
        if _state.enabled:  # create_graph: the output stays connected to this node
            t._requires_grad = True
            t.grad_fn = node
            t._output_nr = index
            t._version = v
        return t
    return Tensor._make(item[1], node._backend)
