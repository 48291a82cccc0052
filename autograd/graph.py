"""Saved-tensor hooks (PyTorch's ``torch.autograd.graph``): how what ops save for
backward is kept.

While ``saved_tensors_hooks(pack_hook, unpack_hook)`` is active in a thread, every
tensor a recorded op saves there (its inputs, its outputs, and other arrays, through
``ctx.save_for_backward``; custom Functions' too) goes through ``pack_hook`` once,
when the op runs, and the node keeps whatever it returns instead. Each time backward
reads the node's ``saved_tensors``, ``unpack_hook`` gives each tensor back. As in
PyTorch (2.13):

- the hooks are thread-local, and of nested contexts the innermost pair applies;
- ops that record nothing (under ``no_grad``, or on inputs that need no gradient)
  save nothing, so the hooks are not called;
- ``pack_hook`` runs with grad mode off, is given the input tensor itself or, for a
  saved output, the output tensor itself, and must not change it in place; it may
  return anything. Returning the output itself keeps the output alive through its own
  node (a reference cycle, which Python's cyclic collector frees later): as PyTorch's
  documentation advises, return ``t.detach()`` rather than ``t``;
- ``unpack_hook`` runs in backward's grad mode (on under ``create_graph``) and must
  return a Tensor; what it returns stands in the graph where the saved tensor stood,
  so higher derivatives work through it;
- with hooks, a saved tensor changed in place after the op is not refused at backward,
  as PyTorch skips its version check: the hooks may have copied it. Identity hooks then
  give backward the changed values, as in PyTorch.

Unlike PyTorch: ``unpack_hook`` must give a tensor of the saved tensor's shape on its
device (PyTorch fails later, or not at all where the shapes broadcast); one of another
dtype (float16, from compressing hooks) is cast back to the saved dtype (PyTorch
computes in it, and its matmul refuses it). Which tensors an op saves is topograd's
own, so the calls differ where the ops do: Linear saves its weight (PyTorch weight.T),
ReLU a mask (PyTorch its output), conv2d also its im2col matrix, and a Python number
operand (``x * 2.0``) is a 0-d tensor, packed like any other.

Not everything a node keeps goes through the hooks: ops keep shapes, axes, and small
non-activation values as attributes of ``ctx``, and these are never packed. Those that
are arrays: ``linear_cross_entropy``'s per-row targets, weights and scales
(``ctx.rows``, for reduction="none", O(batch)), ``cross_entropy``'s class weights
(``ctx.settings``), and what a checkpointed call holds beside its saved tensors
(``ctx.run``: the tensors it reached from outside, such as parameters, tensors inside
list and dict arguments, RNG states). Every activation (masks included) that the fused
nn ops keep is saved through ``save_for_backward``.
"""
import collections.abc
import contextlib
import functools
import threading
import weakref

from . import engine, function
from .function import Function
from .grad_mode import state as _state
from .tensor import Tensor, count_change, version_of


class saved_tensors_hooks:
    """Context manager: while it is active in this thread, every tensor that recorded ops
    save for backward is packed by ``pack_hook(tensor) -> anything`` and unpacked, each
    time backward reads it, by ``unpack_hook(packed) -> Tensor``. See the module's
    docstring for the rules."""

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        refused = _state.saved_hooks_disabled
        if refused is not None:
            raise RuntimeError(refused)
        _state.saved_hooks = _state.saved_hooks + ((self.pack_hook, self.unpack_hook),)
        function.packers.append(self)
        return None  # as PyTorch's

    def __exit__(self, *exc):
        _state.saved_hooks = _state.saved_hooks[:-1]
        function.packers.remove(self)
        return False


class save_on_cpu(saved_tensors_hooks):
    """Saved tensors are kept on the CPU and copied back to their device when backward
    reads them: activation offloading. On the CPU nothing is copied (a detached alias
    is kept). ``pin_memory`` and ``device_type`` are PyTorch's arguments, taken so that
    its code ports unchanged: topograd has no pinned memory, and its copies block."""

    def __init__(self, pin_memory=False, device_type="cuda"):
        def pack_to_cpu(t):
            return t.device, t.detach().to("cpu")

        def unpack_from_cpu(packed):
            device, t = packed
            return t.to(device)

        super().__init__(pack_to_cpu, unpack_from_cpu)


@contextlib.contextmanager
def disable_saved_tensors_hooks(error_message):
    """Refuse saved-tensor hooks in this thread while active: entering
    ``saved_tensors_hooks`` (or ``save_on_cpu``) raises RuntimeError(error_message), as
    does entering this while hooks are active, for a feature that cannot work with them."""
    previous = _state.saved_hooks_disabled
    if _state.saved_hooks:
        raise RuntimeError(error_message)
    _state.saved_hooks_disabled = error_message
    try:
        yield
    finally:
        _state.saved_hooks_disabled = previous


def increment_version(tensor):
    """Count an in-place change made where autograd cannot see it (a kernel of your own
    writing into ``tensor.data``), as PyTorch's: backward through an op that saved the old
    values then fails instead of using the new ones. Takes a Tensor or an iterable of them
    (all checked before any is counted)."""
    if isinstance(tensor, Tensor):
        tensors = (tensor,)
    elif isinstance(tensor, collections.abc.Iterable) and not isinstance(tensor, (str, bytes)):
        tensors = tuple(tensor)
    else:
        tensors = None
    if tensors is None or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError(f"increment_version: expected a Tensor, or an iterable of them, got {tensor!r:.80}")
    for t in tensors:
        count_change(t)


def register_multi_grad_hook(tensors, fn, *, mode="all"):
    """As PyTorch's: with ``mode="all"``, ``fn(grads)`` runs once per backward pass, when
    the gradients of all of ``tensors`` that the pass reaches are computed, ``grads``
    holding one per tensor (None for those it does not reach); with ``mode="any"``,
    ``fn(grad)`` runs on the first of them the pass computes. Returns a handle whose
    ``remove()`` takes the hooks off every tensor."""
    if mode not in ("all", "any"):
        raise ValueError(f"register_multi_grad_hook: mode must be 'all' or 'any', got {mode!r}")
    if isinstance(tensors, Tensor) or not isinstance(tensors, collections.abc.Iterable):
        # (a Tensor is iterable: its rows would get the hooks, and no backward reaches them)
        raise TypeError(f"register_multi_grad_hook: expected a sequence of Tensors, got {type(tensors).__name__}; "
                        "pass [x] for one tensor (or use x.register_hook), then fn")
    tensors = tuple(tensors)
    if not tensors:
        raise ValueError("register_multi_grad_hook: expected at least one Tensor, got an empty sequence")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"register_multi_grad_hook: tensors[{i}] is {type(t).__name__}, not a Tensor")
        if not t.requires_grad:
            raise RuntimeError(f"register_multi_grad_hook: tensors[{i}] does not require grad, so no backward "
                               "reaches it; call .requires_grad_() on it first, or leave it out")
    if not callable(fn):
        raise TypeError(f"register_multi_grad_hook: fn must be callable, got {type(fn).__name__}")
    waiting = weakref.WeakKeyDictionary()  # per backward pass running: what it still waits for
    lock = threading.Lock()  # (passes in other threads may call the hooks at once)
    targets = ()  # what each tensor's hook hangs on, set below

    def on_gradient(i, grad):
        current = engine.running_pass()
        with lock:
            if mode == "any":
                first = current not in waiting
                waiting[current] = True
            else:
                entry = waiting.get(current)
                if entry is None:
                    reached = {j for j, ref in enumerate(targets) if current.reaches(ref())}
                    entry = waiting[current] = (reached, [None] * len(targets))
                left, grads = entry
                grads[i] = grad
                left.discard(i)
                if left:
                    return None
                del waiting[current]
        if mode == "any":
            if first:
                fn(grad)
        else:
            fn(grads)
        return None

    handles = _Handles([t.register_hook(functools.partial(on_gradient, i)) for i, t in enumerate(tensors)])
    # Per tensor, the node its hook now hangs on (a later in-place change gives the tensor a
    # new node, not the hook), or the leaf: as PyTorch's grad_fns. Weakly, as neither the hooks
    # nor the tensors may be kept by them: a leaf, or a node, holds its hooks, which hold this.
    targets = tuple(weakref.ref(t if t.grad_fn is None else t.grad_fn) for t in tensors)
    return handles


class _Handles:
    """The handle of hooks registered together: ``remove()`` removes them all."""

    def __init__(self, handles):
        self.handles = handles

    def remove(self):
        for handle in self.handles:
            handle.remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


# --- packing at save time, unpacking on reading (called by function.py) ----------------

_OUTPUT, _INPUT, _LEAF, _CONSTANT = range(4)  # how an unpacked tensor rejoins the graph


class _Packed:
    """What a node saved, packed: per item, what pack_hook returned and what unpacking
    needs (None for an item saved as None): the saved shape, dtype and backend,
    and how the tensor stood in the graph. A node's ``_saved`` holds this in place of the
    tuple of items; iterating it gives the packed objects (graph drawings list them)."""
    __slots__ = ("items", "unpack_hook", "metas")

    def __init__(self, items, unpack_hook, metas):
        self.items, self.unpack_hook, self.metas = items, unpack_hook, metas

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)

    def unpack(self, node):
        """Function.saved_tensors for a node whose saved items were packed."""
        return [None if meta is None else _unpacked(node, self.unpack_hook, packed, meta)
                for packed, meta in zip(self.items, self.metas)]


def pack_saved(ctx, outputs):
    """Pack what ``ctx`` saved with this thread's innermost hooks, if any (another
    thread's may be what made function.packers non-empty). ``outputs``: the op's output
    tensors, which pack_hook gets for the saved outputs."""
    if not _state.saved_hooks:
        return
    pack_hook, unpack_hook = _state.saved_hooks[-1]
    saved_outputs = ctx._saved_outputs or {}
    items, metas = [], []
    for i, item in enumerate(ctx._saved):
        if item is None:
            items.append(None)
            metas.append(None)
            continue
        if i in saved_outputs:
            nr = saved_outputs[i]
            t = outputs[nr]  # (an input changed in place, for a mark_dirty output, maybe a view)
            how, link = (_CONSTANT, None) if nr in ctx._constant_outputs else (_OUTPUT, nr)
        elif isinstance(item, Tensor):
            t = item
            how, link = ((_CONSTANT, None) if not t._requires_grad else (_LEAF, t) if t.grad_fn is None
                         else (_INPUT, (t.grad_fn, t._output_nr)))
        else:  # an array forward made (a mask, a statistic)
            t = Tensor._make(item, ctx._backend)
            how, link = _CONSTANT, None
        items.append(_call_pack(ctx, pack_hook, t))
        metas.append((t.data.shape, t.data.dtype, t._backend, how, link))
    ctx._saved = _Packed(tuple(items), unpack_hook, tuple(metas))


def _call_pack(ctx, pack_hook, t):
    """pack_hook(t), with grad mode off as in PyTorch, refused if it changed t in place."""
    version = t._version
    before = 0 if version is None else version.value
    enabled, _state.enabled = _state.enabled, False
    try:
        packed = pack_hook(t)
    finally:
        _state.enabled = enabled
    version = t._version
    if (0 if version is None else version.value) != before:
        raise RuntimeError(f"{ctx.name}: the pack_hook of saved_tensors_hooks changed the tensor it was given "
                           "in place, which is also what the op computes with; pack a copy (t.clone()) instead")
    return packed


def _unpacked(node, unpack_hook, packed, meta):
    """unpack_hook(packed), checked, as it stands in the graph: an output of ``node``
    (linked under create_graph, as an output saved without hooks), or an input that
    requires grad (linked to its producer, or standing for its leaf)."""
    shape, dtype, backend, how, link = meta
    t = unpack_hook(packed)
    if not isinstance(t, Tensor):
        raise TypeError(f"{node.name}: the unpack_hook of saved_tensors_hooks returned {type(t).__name__}, not a "
                        "Tensor; return a Tensor equal to the one pack_hook was given")
    if t.data.shape != shape or t._backend is not backend:
        raise RuntimeError(f"{node.name}: the unpack_hook of saved_tensors_hooks returned a tensor of shape "
                           f"{t.shape} on {t.device} for one saved with shape {tuple(shape)} on "
                           f"{backend.device}; return a tensor equal to the one pack_hook was given")
    data = t.data if t.data.dtype == dtype else backend.xp.astype(t.data, dtype)
    if how == _LEAF and t is link and data is t.data:
        return t
    restored = Tensor._make(data, backend)
    if how == _OUTPUT:
        if _state.enabled:  # create_graph (see Function._saved_output)
            restored._requires_grad = True
            restored.grad_fn = node
            restored._output_nr = link
    elif how == _INPUT:
        restored._requires_grad = True
        restored.grad_fn, restored._output_nr = link
    elif how == _LEAF:
        if _state.enabled:  # create_graph: its gradient must reach the leaf
            restored = _StandIn.apply(link, data)
        restored._requires_grad = True
    # As in PyTorch, it shares the in-place counter of what unpack_hook returned (the saved
    # tensor itself, or its detached alias), so that a backward that changes it in place is
    # caught by the nodes that saved that tensor. Not where it stands for a view, whose node
    # would then take it for a stale view to rebase (see Tensor._stale).
    node_of = restored.grad_fn
    if data is t.data and (node_of is None or node_of.view_version is None):
        restored._version = version_of(t)
    return restored


class _StandIn(Function):
    """An unpacked value of a leaf, in the recorded graph as that leaf (create_graph)."""

    @staticmethod
    def forward(ctx, leaf, value):
        return value

    @staticmethod
    def backward(ctx, g):
        return g, None
