"""The Tensor: a backend array plus what autograd needs to differentiate it."""
import functools
import numbers
import re
import warnings

import backends
from backends import dtypes

from . import grad_mode
from .shapes import broadcast_shapes
from .user_code import user_frame


class Version:
    """Counts in-place changes to an array; shared by a tensor and its views.

    ``where`` remembers the file and line of the last in-place change, so that
    backward can say where a saved tensor was modified.
    """
    __slots__ = ("value", "where")

    def __init__(self):
        self.value = 0
        self.where = None


def version_of(t):
    """The tensor's counter, created on first need (most tensors never need one)."""
    v = t._version
    if v is None:
        v = Version()
        share_version(t, v)
    return v


def count_change(t, where=None):
    """Record an in-place change of ``t`` and where it was made (by default the user's
    line that led to it), so backward through anything that saved the old values fails."""
    v = version_of(t)  # made before any node changes: the node that made t watches it
    v.value += 1
    v.where = user_frame() if where is None else where


def share_version(t, v):
    """Make ``v`` the in-place counter of ``t`` (views share their base's). The node
    that made ``t`` may have saved its array for backward, so it watches ``v`` from now."""
    t._version = v
    node = t.grad_fn
    # Only a node that kept this output for backward reads it again; the rest (a Linear
    # under an in-place ReLU, say) need not watch it.
    if node is not None and node._saved_outputs is not None and t._output_nr in node._saved_outputs.values():
        node.watch_output(t._output_nr, v)


def _in_place(name, op, result="promoted"):
    """The in-place method ``name``: ``x.NAME(*args)`` writes ``ops.OP(x, *args)`` into x
    (``op`` is "module.function" under autograd.ops, looked up at call time, since the
    ops load after Tensor). ``result`` is the dtype the op gives: "floating" (refused on
    an integer or bool tensor, which cannot hold it), "promoted" (x's with the other
    operands', or wider where the op itself widens, as square does a bool to int64:
    refused where wider than x's), or "own" (x's, or a bool that any holds)."""
    module, function = op.split(".")

    def method(self, *args, **kwargs):
        operands = args + tuple(kwargs.values())
        if result == "floating":
            self._refuse_a_wider_result(name, self, division=True)
        elif result == "promoted":
            for a in operands:
                if a is not None:  # (None: a bound clamp_ is not given)
                    self._refuse_a_wider_result(name, a)
        compute = getattr(getattr(ops, module), function)

        def result_of(old, _):
            out = compute(old, *args, **kwargs)
            if result == "promoted":  # checked before anything is written
                self._refuse_a_wider_result(name, out)
            return out

        # _inplace records when this tensor or the operand it is given requires grad.
        differentiable = next((a for a in operands if isinstance(a, Tensor) and a._requires_grad), None)
        return self._inplace(name, result_of, differentiable)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In place: this tensor becomes ``ag.{function}(self, ...)``, as PyTorch's ``{name}``."
    return method


class _pytorch_only:
    """A PyTorch Tensor method that topograd spells another way (see the README's porting
    note). Reading it raises the AttributeError Python would (so hasattr still answers
    False), naming the spelling to use. A descriptor, not __getattr__, so that the many
    getattr(t, "_base", None) reads of the in-place paths stay at C speed."""
    __slots__ = ("name", "hint")

    def __init__(self, name, hint):
        self.name, self.hint = name, hint

    def __get__(self, obj, owner=None):
        raise AttributeError(f"'{(owner or type(obj)).__name__}' object has no attribute '{self.name}' "
                             f"(a PyTorch name); {self.hint}")


class Tensor:
    # _base: (the tensor viewed, how to write the view's values back into it, the version
    # when taken, how to remake the view) for a view (see ops.shape._view), which in-place
    # changes through the view and its rebasing need. Left unset on every other tensor, on
    # purpose (one store less per op), so it is read with getattr(..., None).
    __slots__ = ("data", "_backend", "_requires_grad", "grad_fn", "_output_nr", "_grad",
                 "_version", "_hooks", "_base", "__weakref__")
    __array_priority__ = 1000  # NumPy defers `ndarray + Tensor` to Tensor.__radd__

    def __init__(self, data, requires_grad=False, device=None, dtype=None):
        backend = backends.get(device)
        source = data
        if isinstance(data, Tensor):
            # from another device: a copy, never an alias (see Backend.from_numpy)
            data = data.data if data._backend is backend else backend.from_numpy(data._backend.to_numpy(data.data))
        dtype = dtypes.canonical(dtype)
        if isinstance(data, (list, tuple)):
            data, inferred = _from_nested(data)
            dtype = inferred if dtype is None else dtype
        elif dtype is None and type(data) is int:
            dtype = dtypes.int64  # as in a list: NumPy would take 2**63 as uint64, PyTorch refuses it
        elif _not_numbers(data):
            raise TypeError(_no_dtype_holds(f"cannot make a tensor of this {type(source).__name__}", data))
        if dtype is None and not getattr(getattr(data, "dtype", None), "isnative", True):
            # A byte-swapped array (read from a big-endian file) in this machine's order, as
            # every op and dtype check expects: '>f4' is float32 but not equal to ag.float32.
            dtype = dtypes.canonical(data.dtype)
        if dtype is None and not hasattr(data, "dtype"):
            data = backend.asarray(data)
            if dtypes.is_floating(backend.canonical_dtype(data.dtype)):
                dtype = default_dtype()
        try:
            array = backend.asarray(data, dtype)
        except OverflowError:
            if dtype is None or dtype.kind not in "iu":
                raise
            # NumPy refuses every Python number out of an integer dtype's range, where PyTorch
            # wraps a negative int into an unsigned dtype (uint8's -1 is 255): the numbers are
            # taken one by one as PyTorch takes them, on this rare path only.
            array = backend.asarray(_as_torch_tensor_takes(data, dtype), dtype)
        refuse_unsupported_dtype(array, backend, f"cannot make a tensor of this {type(source).__name__}")
        init(self, array, backend)
        if isinstance(source, Tensor) and array is source.data:
            share_version(self, version_of(source))  # an alias: in-place changes through it count for both
        if requires_grad:
            self.requires_grad = True

    # --- construction from the engine (fast path, no checks) -----------------
    @staticmethod
    def _make(array, backend):
        t = _new(Tensor)
        # NumPy hands back scalars for 0-d results; a tensor always holds an array,
        # so that in-place changes land in memory its views share.
        init(t, backend.xp.asarray(array) if array.ndim == 0 else array, backend)
        return t

    @staticmethod
    def _make_each(arrays, backend):
        """A tuple of Tensors of ``arrays``, None passing through: the gradients a plain
        backward computed on bare arrays."""
        return tuple(None if a is None else Tensor._make(a, backend) for a in arrays)

    # --- attributes ------------------------------------------------------------
    @property
    def backend(self):
        return self._backend

    @property
    def device(self):
        return self._backend.device

    @property
    def dtype(self):
        return self._backend.canonical_dtype(self.data.dtype)

    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        n = 1
        for d in self.data.shape:
            n *= d
        return n

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def requires_grad(self):
        return self._fresh()._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        flag = bool(flag)
        if self.grad_fn is not None:
            if not flag:
                raise RuntimeError("requires_grad can only be turned off on leaf tensors; "
                                   "use .detach() to get a tensor outside the graph")
            return
        if flag and not dtypes.is_floating(self.dtype):
            raise TypeError(f"only floating-point tensors can require gradients, not {self.dtype}; "
                            "create it with dtype=ag.float32 (or float64)")
        self._requires_grad = flag

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def grad(self):
        g = self._grad
        if g is None and self.grad_fn is not None and not self.retains_grad:
            warnings.warn("the .grad of a tensor that is not a leaf is not filled by backward(); call "
                          ".retain_grad() on it first, or read the leaf's .grad", UserWarning, stacklevel=2)
        return g

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"grad must be a Tensor or None, not {type(value).__name__}")
            if value is self:
                raise RuntimeError("a tensor cannot be its own grad: backward would accumulate into its "
                                   "values; assign a .clone() of it")
            if value.shape != self.shape:
                raise ValueError(f"grad of shape {value.shape} does not match the tensor's shape {self.shape}")
            if value._backend is not self._backend:
                raise ValueError(f"grad is on {value.device} but the tensor is on {self.device}")
            if value.dtype != self.dtype:  # as PyTorch: an optimizer's state would take the grad's dtype
                raise TypeError(f"grad of dtype {value.dtype} does not match the tensor's dtype {self.dtype}; "
                                f"cast it first with .to({self.dtype}) (or .astype)")
        self._grad = value

    @property
    def retains_grad(self):
        """Whether backward fills this non-leaf's ``.grad`` (see retain_grad); False for
        leaves, whose ``.grad`` is always filled, as in PyTorch."""
        node = self.grad_fn
        ref = None if node is None or node._retained is None else node._retained.get(self._output_nr)
        return ref is not None and ref() is self

    @property
    def T(self):
        return ops.shape.transpose(self)

    @property
    def mT(self):
        """Each matrix on the last two axes transposed, as a view (the Array API's and PyTorch's)."""
        return linalg.matrix_transpose(self)

    # --- leaving the graph and the device ----------------------------------------
    def detach(self):
        """A tensor sharing this one's data (and in-place version counter), outside the graph."""
        t = Tensor._make(self.data, self._backend)
        t._version = version_of(self)
        return t

    def detach_(self):
        """Leave the graph in place: this tensor becomes a leaf that does not require grad
        (its values and version counter stay). A view that requires grad is refused, as
        in PyTorch: its base would still be in the graph; use .detach() there."""
        if getattr(self, "_base", None) is not None and self.requires_grad:
            raise RuntimeError("detach_: this tensor is a view in the graph, which cannot leave it in place; "
                               "use .detach() for a tensor outside the graph")
        self.grad_fn, self._output_nr, self._requires_grad = None, 0, False
        return self

    def numpy(self, force=False):
        """The values as a NumPy array, sharing memory on the CPU. ``force=True`` (PyTorch's)
        gives the writable array of ``.detach().numpy()`` also for a tensor that requires grad."""
        if self._requires_grad and not force:
            # PyTorch refuses numpy() here: a write through the array would change the tensor
            # behind the graph's back, where no version counter sees it. Read-only instead;
            # .detach().numpy() is writable, as in PyTorch.
            return self._backend.to_numpy_read_only(self.data)
        return self._backend.to_numpy(self.data)

    def item(self):
        if self.size != 1:
            raise ValueError(f"item() needs a tensor with one element, not shape {self.shape}")
        return self._backend.to_numpy(self.data).reshape(()).item()

    def tolist(self):
        return self._backend.to_numpy(self.data).tolist()

    def __array__(self, dtype=None, copy=None):
        if self._backend.device != "cpu":
            raise TypeError(f"cannot convert a tensor on {self.device} to a NumPy array implicitly; "
                            "call .numpy() (which copies to the host) or .cpu() first")
        array = self._backend.to_numpy(self.data)
        if dtype is not None and array.dtype != dtype:
            if copy is False:
                raise ValueError(f"__array__: a {self.dtype} tensor cannot be seen as {dtype} without a copy")
            return array.astype(dtype)
        if copy:
            return array.copy()  # NumPy 2 trusts copy=True and copies no further
        return self.numpy() if self._requires_grad else array  # read-only there, as numpy() (see it)

    def __dlpack__(self, *args, **kwargs):
        if self._requires_grad:  # as PyTorch: a writable alias would bypass the version counter
            raise BufferError("cannot export a tensor that requires grad through DLPack; export .detach()")
        return self.data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self.data.__dlpack_device__()

    def to(self, device=None, dtype=None, non_blocking=False, copy=False):
        """Copy to another device and/or cast; differentiable, and a no-op when nothing changes
        (with ``copy=True``, as PyTorch's, a new tensor always: a clone then).
        A dtype alone may come first, as in PyTorch: ``x.to(ag.float64)``, ``x.to("float64")``;
        so may another tensor, whose device and dtype this one takes (PyTorch's ``x.to(other)``).
        ``non_blocking`` is PyTorch's, accepted for its training loops (copies here block)."""
        if isinstance(device, Tensor):  # (NumPy would read it as its dtype alone, leaving the device)
            device, dtype = device._backend, device.dtype if dtype is None else dtype
        elif dtype is None and device is not None and _names_a_dtype(device):
            device, dtype = None, device
        out = self
        if dtype is not None and dtypes.canonical(dtype) != self.dtype:
            out = ops.elementwise.astype(out, dtype)
        if device is not None and backends.get(device) is not self._backend:
            out = ops.device.to_device(out, backends.get(device))
        if copy and out is self:
            out = ops.elementwise.clone(self)
        return out

    def cpu(self):
        return self.to("cpu")

    def cuda(self, index=0):
        return self.to(f"cuda:{index}")

    def clone(self):
        return ops.elementwise.clone(self)

    def astype(self, dtype, copy=True):
        """This tensor in ``dtype``: always a new tensor unless ``copy=False`` and the dtype is
        already this one's (NumPy's and the Array API's rule; ``to(dtype)`` gives self then)."""
        return ops.elementwise.astype(self, dtype, copy)

    # --- PyTorch's new_* constructors: new leaves with this tensor's dtype and device
    # unless told otherwise (training code makes its buffers and masks this way) ------
    def _new_options(self, dtype, device):
        return {"dtype": self.dtype if dtype is None else dtype, "device": self._backend if device is None else device}

    def new_zeros(self, *sizes, size=None, dtype=None, device=None, requires_grad=False):
        return creation.zeros(*_size_once("new_zeros", sizes, size), requires_grad=requires_grad,
                              **self._new_options(dtype, device))

    def new_ones(self, *sizes, size=None, dtype=None, device=None, requires_grad=False):
        return creation.ones(*_size_once("new_ones", sizes, size), requires_grad=requires_grad,
                              **self._new_options(dtype, device))

    def new_empty(self, *sizes, size=None, dtype=None, device=None, requires_grad=False):
        return creation.empty(*_size_once("new_empty", sizes, size), requires_grad=requires_grad,
                              **self._new_options(dtype, device))

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        return creation.full(size, fill_value, requires_grad=requires_grad, **self._new_options(dtype, device))

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        """A copy of ``data`` (a list, an array or a tensor) as a new leaf, in this tensor's
        dtype and on its device unless told otherwise, as PyTorch's."""
        return creation.tensor(data, requires_grad=requires_grad, **self._new_options(dtype, device))

    # --- copy, deepcopy and pickle, as PyTorch's ------------------------------------
    # Without these, copy.copy shared the .grad and hook objects, pickle failed on the
    # backend's module, and a deepcopy of a non-leaf copied its whole graph, so that its
    # backward filled copies of the leaves and never the leaves themselves.
    def __reduce_ex__(self, protocol):
        """pickle and copy.copy: a leaf of this class holding these values (copy.copy shares
        their memory, not the version counter), requiring grad if this one does; no graph,
        .grad or hooks."""
        return _rebuilt, (type(self), self.data, self.device, self._requires_grad)

    _deepcopy_keeps_grad = True  # False for nn.Parameter, whose copies start without one, as PyTorch's

    def __deepcopy__(self, memo):
        """A leaf with copies of the values and of .grad (its hooks stay behind), as PyTorch's;
        a non-leaf is refused, as by PyTorch: its copy would be a graph of its own."""
        if self.grad_fn is not None:
            raise RuntimeError("deepcopy: only leaf tensors can be deep-copied; this one was made by "
                               f"{type(self.grad_fn).__name__} in a graph, which the copy would not be part of. "
                               "Copy .detach().clone() (or compute it again from the copied leaves)")
        copied = _rebuilt(type(self), self._backend.xp.asarray(self.data, copy=True), self._backend,
                          self._requires_grad)
        memo[id(self)] = copied
        if self._grad is not None and self._deepcopy_keeps_grad:
            copied._grad = self._grad.__deepcopy__(memo)
        return copied

    # --- gradient hooks --------------------------------------------------------
    def register_hook(self, fn):
        """Run ``fn(grad)`` when this tensor's gradient is computed; a non-None return replaces it."""
        self._fresh()
        check_hook("register_hook", fn)
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = LeafHooks()
            hooks = self._hooks
        else:
            hooks = self.grad_fn._tensor_hooks(self._output_nr)
        return HookHandle(hooks, fn)

    def register_post_accumulate_grad_hook(self, fn):
        """Run ``fn(tensor)`` on this leaf each time a backward has added into its ``.grad``
        (``ag.grad``, which leaves ``.grad`` alone, runs none), as PyTorch's: a place to step
        an optimizer for one parameter and drop its gradient while backward goes on."""
        self._fresh()
        check_hook("register_post_accumulate_grad_hook", fn)
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors: its "
                               "gradient is never accumulated; use register_hook on it instead")
        if self._hooks is None:
            self._hooks = LeafHooks()
        return HookHandle(self._hooks.after_accumulation, fn)

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after backward, as leaves do."""
        self._fresh()
        if self.grad_fn is not None:
            self.grad_fn._retain(self)
        elif not self._requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        engine.backward([self], None if gradient is None else [gradient], retain_graph, create_graph, inputs)

    # --- in-place methods ----------------------------------------------------------
    def _check_inplace(self, op):
        if self._requires_grad and grad_mode.state.enabled:
            node = self.grad_fn
            if node is None:
                raise RuntimeError(f"{op}: a leaf tensor that requires grad cannot be changed in place while "
                                   "the graph is being recorded; wrap the update in `with ag.no_grad():`")
            if node._aliases_inputs:  # its backward (a module's backward hooks) would be bypassed
                raise RuntimeError(f"{op}: output {self._output_nr} of {node.name} is a view and is being "
                                   "modified inplace, which would bypass the module backward hooks it runs; "
                                   "change a .clone() of the tensor instead")

    def _assign(self, op, result):
        """Write ``result`` (a Tensor of this shape) into this tensor's storage."""
        if result.shape != self.shape:
            raise ValueError(f"{op}: the result has shape {result.shape} but the tensor being "
                             f"changed in place has shape {self.shape}")
        if result._backend is not self._backend:
            raise ValueError(f"{op}: expected a tensor on {self.device}, got one on {result.device}")
        if result.data.dtype != self.data.dtype:
            # A cast in the graph, so that the gradient reaching each input of the op has that
            # input's dtype (a float64 operand of a float32 tensor's add_ gets a float64 one).
            result = ops.elementwise.astype(result, self.dtype)
        self.data[...] = result.data  # in the existing storage, so views and detached copies see it
        count_change(self)
        return self._take_place(result)

    def _root(self):
        """The tensor that owns this view's memory: the base of its bases (itself if it
        is no view). A loop, however long the chain of views."""
        root = self
        while getattr(root, "_base", None) is not None:
            root = root._base[0]
        return root

    def _graph_allows_overwrite(self):
        """Whether an in-place op may change this tensor without breaking the recorded
        graph: the op that made it, or made the root base of this view, did not keep
        its output for backward (max pooling does, say). Other ops that saved it are
        caught when backward uses what they saved. Outside recording anything goes, as
        in PyTorch: the shared version counter catches misuse at backward."""
        if not grad_mode.state.enabled:
            return True
        root = self._root()  # a change of a view changes its root
        node = root.grad_fn
        if node is None:
            return True
        saved = node._saved_outputs
        return saved is None or root._output_nr not in saved.values()

    def _take_place(self, result):
        """Become ``result``'s place in the graph (the in-place op's node), keeping a
        retain_grad() asked for before the change."""
        node = result.grad_fn
        if node is not None and node.view_version is not None and getattr(self, "_base", None) is None:
            # A result that is a view (an activation computed through a reshape, say) has a node
            # stamped with its base's version counter, which is not this tensor's: taken as it
            # is, this tensor would look like a stale view of a base it does not have.
            result = ops.elementwise.clone(result)
            node = result.grad_fn
        if node is not None:  # a non-leaf in a recorded graph: the op joins it
            old = self.grad_fn
            ref = None if old is None or old._retained is None else old._retained.get(self._output_nr)
            moved = ref is not None and ref() is self
            if moved:
                del old._retained[self._output_nr]
            self.grad_fn, self._output_nr, self._requires_grad = node, result._output_nr, True
            if moved:
                node._retain(self)
        return self

    def _change_through_view(self, op, fn, other):
        """An in-place op on a view (``y[0].add_(1)``, ``y.T.mul_(2)``), as PyTorch's
        CopySlices records it: the chain of views is taken again from the root base's
        current place in the graph (so a stale view, one made under no_grad, or a hook
        on a view between is not in the way), the op runs on the view's old values,
        and the new values are written back through each view into the root (by the
        root's own in-place path, so a leaf that requires grad is refused there). Each
        view writes back by its own recipe (see ops.shape._view); then the views become
        fresh views of their bases. Loops, with no recursion, up and down the chain."""
        chain = [self]  # the views from self up to, not including, the root
        root = self._base[0]
        while getattr(root, "_base", None) is not None:
            chain.append(root)
            root = root._base[0]
        # A view may be a leaf itself (requires_grad_() on a view of a tensor outside the
        # graph), and so may a view between: changed, it would leave its .grad unfilled.
        leaf = next((t for t in (*chain, root) if t._requires_grad and t.grad_fn is None), None)
        if leaf is not None:
            what = "a leaf tensor (a view)" if leaf is self else "a view of a leaf tensor"
            raise RuntimeError(f"{op}: this tensor is {what} that requires grad, which cannot be changed in "
                               "place while the graph is being recorded; wrap the update in `with ag.no_grad():`")
        olds = [None] * len(chain)  # each view's old values, taken again from the root down
        place = root
        for k in range(len(chain) - 1, -1, -1):
            _, _, _, (remake, args) = chain[k]._base
            place = olds[k] = remake(place, *args)
        # The op may keep its input for backward, and the memory is overwritten below: a
        # copy. (The write-backs keep nothing of the old values they are given.)
        values = fn(olds[0]._snapshot(), other)
        if values.shape != self.shape:
            raise ValueError(f"{op}: the result has shape {values.shape} but the tensor being "
                             f"changed in place has shape {self.shape}")
        for k in range(len(chain) - 1):  # into each parent below the top: its new values, whole
            write_back, args = chain[k]._base[1]
            values = write_back(olds[k + 1], values, *args)
        top_write_back, top_args = chain[-1]._base[1]
        root._inplace(op, lambda old, new: top_write_back(old, new, *top_args), values)
        _retake_views(chain)  # every view's memory already holds its new values
        return self

    def _changed_by(self, op, result):
        """Take the place of ``result``, the recorded output of a custom Function whose
        forward changed this tensor in place (``ctx.mark_dirty``), so that it holds the
        same values already: as an in-place method would, through the base for a view."""
        self._refuse_a_broadcast_view(op)
        if self._changes_through_base(result):
            return self._change_through_view(op, lambda old, new: new, result)
        self._check_inplace(op)
        return self._take_place(result)

    def _rebase(self):
        """Make this view (see ``_base``) a fresh view of its base's current place in the
        graph, after an in-place change of the base. A stale chain of views is rebased
        from its root down, in a loop: no recursion, however long the chain."""
        chain = [self]
        while True:
            parent = chain[-1]._base[0]
            if getattr(parent, "_base", None) is None or not parent._stale():
                break
            chain.append(parent)
        _retake_views(chain)
        return self

    def _stale(self):
        """Whether this view's base changed in place since the view took its place: in
        the graph (the view's node remembers the shared counter's value), or outside it
        while the base has joined the graph since."""
        v = self._version
        if v is None:
            return False
        node = self.grad_fn
        if node is not None:
            return node.view_version is not None and v.value != node.view_version
        base = getattr(self, "_base", None)
        return (grad_mode.state.enabled and base is not None and v.value != base[2]
                and self._root()._requires_grad)

    def _fresh(self):
        """This tensor, rebased first if it is a stale view (see ``_stale``)."""
        if self._version is not None and self._stale():
            self._rebase()
        return self

    def _snapshot(self):
        """This tensor's place in the graph with a private copy of its values: the input an
        in-place op records, since this tensor's storage is about to be overwritten."""
        t = Tensor._make(self._backend.xp.asarray(self.data, copy=True), self._backend)
        t.grad_fn, t._output_nr, t._requires_grad = self.grad_fn, self._output_nr, self._requires_grad
        return t

    def _changes_through_base(self, other=None):
        """Whether an in-place change of this tensor (with ``other``) must go through the
        view's base: it is a view, and the graph is involved (recording, and the view,
        its root base or ``other`` requires grad; a view between may have been taken
        before the root joined the graph). In-place ops, relu_ and setitem ask it."""
        return grad_mode.state.enabled and getattr(self, "_base", None) is not None and (
            self._requires_grad or getattr(other, "_requires_grad", False) or self._root()._requires_grad)

    def _refuse_a_broadcast_view(self, op):
        """As PyTorch: no in-place change of a view in which several elements share one
        memory location (broadcast_to's, a view of one, or its detach()): it would write
        each of them at once. (NumPy's broadcast views are read-only, so this is also its
        clear error; CuPy's are not, and would be written.) Nor of read-only memory (a NumPy
        array shared through ag.Tensor or ag.from_dlpack): NumPy's own error came halfway,
        after setitem and relu_ had counted a change that never happened."""
        view = self
        while getattr(view, "_base", None) is not None:
            base, write_back = view._base[:2]
            if write_back is None:
                break
            view = base
        else:
            if self._backend.writable(self.data):
                return
            if not self._backend.repeats_elements(self.data):
                raise RuntimeError(f"{op}: this tensor shares read-only memory (a read-only NumPy array, say), so "
                                   "it cannot be changed in place; change a .clone() of it instead")
        raise RuntimeError(f"{op}: this tensor is (a view or a detach() of) a broadcast_to view, in which "
                           "several elements share one memory location, so it cannot be changed in place; "
                           "change a .clone() of it instead")

    def _inplace(self, op, fn, other):
        self._refuse_a_broadcast_view(op)
        if self._changes_through_base(other):
            return self._change_through_view(op, fn, other)
        self._check_inplace(op)
        if grad_mode.state.enabled and (self._requires_grad or getattr(other, "_requires_grad", False)):
            return self._assign(op, fn(self._snapshot(), other))
        with grad_mode.no_grad():
            return self._assign(op, fn(self.detach(), other))

    def _refuse_a_wider_result(self, op, other, division=False):
        """As PyTorch: an in-place result must fit this tensor's dtype category (no float
        into an int tensor, no int into a bool one), or the op would truncate silently."""
        theirs = other.dtype if isinstance(other, Tensor) else dtypes.of_scalar(other)
        if theirs.kind not in "biuf":  # not a number (a str, say): the op itself refuses it, naming its type
            return
        mine, theirs = dtypes.category(self.dtype), dtypes.category(theirs)
        result = max(mine, theirs, dtypes.category(dtypes.float32) if division else 0)
        if result > mine:
            raise TypeError(f"{op}: the result is {dtypes.CATEGORY_NAMES[result]} but the tensor is "
                            f"{self.dtype}, which cannot hold it; compute out of place, or convert the "
                            "tensor first with .to(dtype=...)")

    def _scaled(self, op, other, alpha):
        """``other * alpha`` for add_/sub_, each checked to fit this tensor's dtype."""
        self._refuse_a_wider_result(op, other)
        if alpha == 1:
            return other
        self._refuse_a_wider_result(op, alpha)
        return other * alpha

    def add_(self, other, alpha=1):
        return self._inplace("add_", ops.elementwise.add, self._scaled("add_", other, alpha))

    def sub_(self, other, alpha=1):
        return self._inplace("sub_", ops.elementwise.sub, self._scaled("sub_", other, alpha))

    def mul_(self, other):
        self._refuse_a_wider_result("mul_", other)
        return self._inplace("mul_", ops.elementwise.mul, other)

    def div_(self, other, *, rounding_mode=None):
        ops.rounding.check_rounding_mode("div_", rounding_mode)
        # a rounded quotient of integers is an integer, so only true division widens them
        self._refuse_a_wider_result("div_", other, division=rounding_mode is None)
        if rounding_mode is None:
            return self._inplace("div_", ops.elementwise.div, other)
        return self._inplace("div_", lambda x, y: ops.rounding.div(x, y, rounding_mode=rounding_mode), other)

    def copy_(self, src):
        refuse_a_list_that_drops_gradients("copy_", src)
        src = src if isinstance(src, Tensor) else Tensor(src, device=self._backend, dtype=self.dtype)
        if broadcast_shapes("copy_", src.shape, self.shape) != self.shape:
            raise ValueError(f"copy_: a source of shape {src.shape} cannot fill a tensor of shape {self.shape}")
        return self._inplace("copy_", ops.elementwise.overwrite, src)

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        if isinstance(value, Tensor):  # a 0-d tensor, as PyTorch takes (and differentiates through)
            if value.ndim != 0:
                raise ValueError(f"fill_: expected a 0-d tensor or a Python scalar, got shape {value.shape}")
            return self.copy_(value)
        if hasattr(value, "item"):  # a NumPy scalar
            value = value.item()
        if not isinstance(value, (int, float)):  # NumPy would parse "1" and fill None as nan
            raise TypeError(f"fill_: value must be a real number, a bool or a 0-d tensor, not "
                            f"{type(value).__name__} {value!r}")
        value = dtypes.check_fill("fill_", value, self.dtype)
        full = Tensor._make(self._backend.xp.full((), value, dtype=self.data.dtype), self._backend)
        return self._inplace("fill_", ops.elementwise.overwrite, full)

    def index_add_(self, axis, index, source, alpha=1):
        """In place: this tensor becomes ``ag.index_add(self, axis, index, source, alpha)``, as
        PyTorch's ``index_add_``. Only ``source`` and ``alpha`` are values that must fit this
        tensor's dtype: the axis and the (int64) index say where they go, and a bool tensor
        takes them as PyTorch's does."""
        self._refuse_a_wider_result("index_add_", source)
        if alpha != 1:
            self._refuse_a_wider_result("index_add_", alpha)
        return self._inplace("index_add_", lambda old, _: ops.gather.index_add(old, axis, index, source, alpha),
                             source if getattr(source, "_requires_grad", False) else None)

    # --- Python operators ----------------------------------------------------------
    # ``+=`` and friends change the tensor in place, as PyTorch's do: a manual update
    # ``p -= lr * p.grad`` must change the parameter, not rebind a local name.
    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __ifloordiv__(self, other):
        return self.floor_divide_(other)

    def __imod__(self, other):
        return self.remainder_(other)

    def __ipow__(self, other):
        return self.pow_(other)

    def __iand__(self, other):
        return self.bitwise_and_(other)

    def __ior__(self, other):
        return self.bitwise_or_(other)

    def __ixor__(self, other):
        return self.bitwise_xor_(other)

    def __ilshift__(self, other):
        self._refuse_a_wider_result("<<=", other)
        return self._inplace("<<=", ops.logical.bitwise_left_shift, other)

    def __irshift__(self, other):
        self._refuse_a_wider_result(">>=", other)
        return self._inplace(">>=", ops.logical.bitwise_right_shift, other)

    def __add__(self, other):
        return _add(self, other)

    def __radd__(self, other):
        return _add(other, self)

    def __sub__(self, other):
        return _sub(self, other)

    def __rsub__(self, other):
        return _sub(other, self)

    def __mul__(self, other):
        return _mul(self, other)

    def __rmul__(self, other):
        return _mul(other, self)

    def __truediv__(self, other):
        return _div(self, other)

    def __rtruediv__(self, other):
        return _div(other, self)

    def __pow__(self, other):
        return ops.elementwise.pow(self, other)

    def __rpow__(self, other):
        return ops.elementwise.pow(other, self)

    def __floordiv__(self, other):
        return ops.rounding.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return ops.rounding.floor_divide(other, self)

    def __mod__(self, other):
        return ops.rounding.remainder(self, other)

    def __rmod__(self, other):
        return ops.rounding.remainder(other, self)

    def __divmod__(self, other):
        return ops.elementwise_extras.divmod(self, other)

    def __rdivmod__(self, other):
        return ops.elementwise_extras.divmod(other, self)

    def __and__(self, other):
        return ops.logical.bitwise_and(self, other)

    def __rand__(self, other):
        return ops.logical.bitwise_and(other, self)

    def __or__(self, other):
        return ops.logical.bitwise_or(self, other)

    def __ror__(self, other):
        return ops.logical.bitwise_or(other, self)

    def __xor__(self, other):
        return ops.logical.bitwise_xor(self, other)

    def __rxor__(self, other):
        return ops.logical.bitwise_xor(other, self)

    def __invert__(self):
        return ops.logical.bitwise_invert(self)

    def __lshift__(self, other):
        return ops.logical.bitwise_left_shift(self, other)

    def __rlshift__(self, other):
        return ops.logical.bitwise_left_shift(other, self)

    def __rshift__(self, other):
        return ops.logical.bitwise_right_shift(self, other)

    def __rrshift__(self, other):
        return ops.logical.bitwise_right_shift(other, self)

    def __matmul__(self, other):
        return ops.linalg.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.linalg.matmul(other, self)

    def __neg__(self):
        return ops.elementwise.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return ops.elementwise.abs(self)

    def __lt__(self, other):
        return ops.comparison.less(self, other)

    def __le__(self, other):
        return ops.comparison.less_equal(self, other)

    def __gt__(self, other):
        return ops.comparison.greater(self, other)

    def __ge__(self, other):
        return ops.comparison.greater_equal(self, other)

    def __eq__(self, other):
        if other is None or isinstance(other, str):
            return NotImplemented  # Python falls back to identity: False, as PyTorch
        return ops.comparison.equal(self, other)

    def __ne__(self, other):
        if other is None or isinstance(other, str):
            return NotImplemented
        return ops.comparison.not_equal(self, other)

    __hash__ = object.__hash__  # identity, so tensors can key dicts and sets

    def __bool__(self):
        if self.size != 1:
            raise ValueError(f"the truth value of a tensor with {self.size} elements is ambiguous; "
                             "use .any() or .all()")
        return bool(self.item())

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if dtypes.is_floating(self.dtype) or self.size != 1:
            raise TypeError("only integer tensors of one element can be used as an index")
        return int(self.item())

    def __getitem__(self, index):
        return ops.indexing.getitem(self, index)

    def __setitem__(self, index, value):
        ops.indexing.setitem(self, index, value)

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self)))

    def __contains__(self, element):
        """``element in x``, as PyTorch's: whether any element of x equals ``element`` (a number,
        or a tensor broadcast against x), not Python's search of the rows, which asks the truth
        of a whole row (an error past 1-D) and cannot iterate a 0-d tensor."""
        if not isinstance(element, (Tensor, numbers.Number)):
            raise TypeError(f"`in` on a tensor takes a number or a Tensor, not {type(element).__name__}")
        return bool(ops.reduction.any(ops.comparison.equal(self, element)).item())

    def __format__(self, spec):
        if self.data.ndim == 0:
            return format(self.item(), spec)  # f"{loss:.4f}", as PyTorch
        return object.__format__(self, spec)

    def __repr__(self):
        values = repr(backends.get("cpu").xp.asarray(self._backend.to_numpy(self.data)))
        body = values[values.index("(") + 1:values.rindex(")")] if values.startswith("array(") else values
        # NumPy's own dtype goes (ours follows), with the line break NumPy may put before it;
        # continued rows are indented to "array(", one short of "tensor(" (blank lines stay blank).
        body = _CONTINUED_ROW.sub("\n ", _NUMPY_DTYPE.sub("", body))
        extras = [f"dtype={self.dtype}", f"device={self.device!r}"]
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{type(self.grad_fn).__name__}>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}, {', '.join(extras)})"

    # --- methods that mirror ag.NAME functions ---------------------------------------
    def exp(self): return ops.elementwise.exp(self)
    def log(self): return ops.elementwise.log(self)
    def sqrt(self): return ops.elementwise.sqrt(self)
    def abs(self): return ops.elementwise.abs(self)
    def sign(self): return ops.elementwise.sign(self)
    def sin(self): return ops.elementwise.sin(self)
    def cos(self): return ops.elementwise.cos(self)
    def tanh(self): return ops.elementwise.tanh(self)
    def sigmoid(self): return ops.elementwise.sigmoid(self)
    def relu(self): return ops.elementwise.relu(self)
    def relu_(self): return ops.elementwise.relu_(self)
    def clip(self, min=None, max=None): return ops.elementwise.clip(self, min, max)
    def sum(self, axis=None, keepdims=False, *, dtype=None):
        return ops.reduction.sum(self, axis, keepdims, dtype=dtype)
    def mean(self, axis=None, keepdims=False, *, dtype=None):
        return ops.reduction.mean(self, axis, keepdims, dtype=dtype)
    def max(self, axis=None, keepdims=False): return ops.reduction.max(self, axis, keepdims)
    def min(self, axis=None, keepdims=False): return ops.reduction.min(self, axis, keepdims)
    def var(self, axis=None, ddof=0, keepdims=False, *, correction=None, unbiased=None):
        return ops.reduction.var(self, axis, ddof, keepdims, correction=correction, unbiased=unbiased)
    def std(self, axis=None, ddof=0, keepdims=False, *, correction=None, unbiased=None):
        return ops.reduction.std(self, axis, ddof, keepdims, correction=correction, unbiased=unbiased)
    def logsumexp(self, axis=None, keepdims=False): return ops.reduction.logsumexp(self, axis, keepdims)
    def prod(self, axis=None, keepdims=False, *, dtype=None):
        return ops.reduction.prod(self, axis, keepdims, dtype=dtype)
    def cumsum(self, axis=None, *, dtype=None): return ops.scan.cumsum(self, axis, dtype=dtype)
    def cumprod(self, axis=None, *, dtype=None): return ops.scan.cumprod(self, axis, dtype=dtype)
    def cummax(self, axis): return ops.scan.cummax(self, axis)
    def cummin(self, axis): return ops.scan.cummin(self, axis)
    def logcumsumexp(self, axis): return ops.scan.logcumsumexp(self, axis)
    def sort(self, axis=-1, descending=False, stable=True): return ops.sorting.sort(self, axis, descending, stable)
    def argsort(self, axis=-1, descending=False, stable=True):
        return ops.sorting.argsort(self, axis, descending, stable)
    def topk(self, k, axis=-1, largest=True, sorted=True): return ops.sorting.topk(self, k, axis, largest, sorted)
    def kthvalue(self, k, axis=-1, keepdims=False): return ops.sorting.kthvalue(self, k, axis, keepdims)
    def median(self, axis=None, keepdims=False): return ops.sorting.median(self, axis, keepdims)
    def nanmedian(self, axis=None, keepdims=False): return ops.sorting.nanmedian(self, axis, keepdims)
    def quantile(self, q, axis=None, keepdims=False, method="linear", *, interpolation=None):
        return ops.sorting.quantile(self, q, axis, keepdims, method, interpolation=interpolation)
    def nanquantile(self, q, axis=None, keepdims=False, method="linear", *, interpolation=None):
        return ops.sorting.nanquantile(self, q, axis, keepdims, method, interpolation=interpolation)
    def argmax(self, axis=None, keepdims=False): return ops.reduction.argmax(self, axis, keepdims)
    def argmin(self, axis=None, keepdims=False): return ops.reduction.argmin(self, axis, keepdims)
    def any(self, axis=None, keepdims=False): return ops.reduction.any(self, axis, keepdims)
    def all(self, axis=None, keepdims=False): return ops.reduction.all(self, axis, keepdims)
    def reshape(self, *shape): return ops.shape.reshape(self, *shape)
    def transpose(self, *axes): return ops.shape.transpose(self, *axes)
    def swapaxes(self, axis1, axis2): return ops.shape.swapaxes(self, axis1, axis2)
    def flatten(self, start_axis=0, end_axis=-1): return ops.shape.flatten(self, start_axis, end_axis)
    def squeeze(self, axis=None): return ops.shape.squeeze(self, axis)
    def expand_dims(self, axis): return ops.shape.expand_dims(self, axis)
    def broadcast_to(self, *shape): return ops.shape.broadcast_to(self, *shape)
    def split(self, indices_or_sections, axis=0): return ops.shape.split(self, indices_or_sections, axis)
    def matmul(self, other): return ops.linalg.matmul(self, other)
    def outer(self, other): return ops.linalg.outer(self, other)
    def flip(self, axis=None): return ops.rearrange.flip(self, axis)
    def roll(self, shift, axis=None): return ops.rearrange.roll(self, shift, axis)
    def moveaxis(self, source, destination): return ops.rearrange.moveaxis(self, source, destination)
    def tile(self, reps): return ops.rearrange.tile(self, reps)
    def unstack(self, axis=0): return ops.rearrange.unstack(self, axis)

    def repeat(self, repeats, axis=None):
        """NumPy's ndarray.repeat: each element ``repeats`` times along ``axis`` (PyTorch's
        repeat_interleave). PyTorch's Tensor.repeat(2, 3) is NumPy's tile: ``x.tile((2, 3))``."""
        return ops.rearrange.repeat(self, repeats, axis)

    def take(self, indices, axis=None): return ops.gather.take(self, indices, axis)
    def take_along_axis(self, indices, axis=-1): return ops.gather.take_along_axis(self, indices, axis)
    def tril(self, k=0): return ops.matrix_parts.tril(self, k)
    def triu(self, k=0): return ops.matrix_parts.triu(self, k)
    def diagonal(self, offset=0, axis1=0, axis2=1): return ops.matrix_parts.diagonal(self, offset, axis1, axis2)
    def trace(self, offset=0, axis1=0, axis2=1): return ops.matrix_parts.trace(self, offset, axis1, axis2)
    def maximum(self, other): return ops.elementwise.maximum(self, other)
    def minimum(self, other): return ops.elementwise.minimum(self, other)
    def pow(self, other): return ops.elementwise.pow(self, other)
    def log1p(self): return ops.elementwise.log1p(self)
    def tan(self): return ops.trigonometric.tan(self)
    def arcsin(self): return ops.trigonometric.arcsin(self)
    def arccos(self): return ops.trigonometric.arccos(self)
    def arctan(self): return ops.trigonometric.arctan(self)
    def arctan2(self, other): return ops.trigonometric.arctan2(self, other)
    def sinh(self): return ops.trigonometric.sinh(self)
    def cosh(self): return ops.trigonometric.cosh(self)
    def arcsinh(self): return ops.trigonometric.arcsinh(self)
    def arccosh(self): return ops.trigonometric.arccosh(self)
    def arctanh(self): return ops.trigonometric.arctanh(self)
    asin, acos, atan, atan2 = arcsin, arccos, arctan, arctan2  # the Array API's (and PyTorch's) names
    asinh, acosh, atanh = arcsinh, arccosh, arctanh
    def exp2(self): return ops.exponential.exp2(self)
    def expm1(self): return ops.exponential.expm1(self)
    def log2(self): return ops.exponential.log2(self)
    def log10(self): return ops.exponential.log10(self)
    def logaddexp(self, other): return ops.exponential.logaddexp(self, other)
    def square(self): return ops.exponential.square(self)
    def reciprocal(self): return ops.exponential.reciprocal(self)
    def hypot(self, other): return ops.exponential.hypot(self, other)
    def erf(self): return ops.exponential.erf(self)
    def erfc(self): return ops.exponential.erfc(self)
    def erfinv(self): return ops.special_functions.erfinv(self)
    def xlogy(self, other): return ops.special_functions.xlogy(self, other)
    def logit(self, eps=None): return ops.special_functions.logit(self, eps)
    def i0(self): return ops.special_functions.i0(self)
    def lgamma(self): return ops.gamma_functions.lgamma(self)
    def digamma(self): return ops.gamma_functions.digamma(self)
    def polygamma(self, n): return ops.gamma_functions.polygamma(n, self)
    def mvlgamma(self, p): return ops.gamma_functions.mvlgamma(self, p)
    def floor(self): return ops.rounding.floor(self)
    def ceil(self): return ops.rounding.ceil(self)
    def round(self, decimals=0): return ops.rounding.round(self, decimals)
    def trunc(self): return ops.rounding.trunc(self)
    def fmod(self, other): return ops.rounding.fmod(self, other)
    def remainder(self, other): return ops.rounding.remainder(self, other)
    def floor_divide(self, other): return ops.rounding.floor_divide(self, other)
    def isnan(self): return ops.nonfinite.isnan(self)
    def isinf(self): return ops.nonfinite.isinf(self)
    def isfinite(self): return ops.nonfinite.isfinite(self)
    def nan_to_num(self, nan=0.0, posinf=None, neginf=None): return ops.nonfinite.nan_to_num(self, nan, posinf, neginf)
    def logical_and(self, other): return ops.logical.logical_and(self, other)
    def logical_or(self, other): return ops.logical.logical_or(self, other)
    def logical_xor(self, other): return ops.logical.logical_xor(self, other)
    def logical_not(self): return ops.logical.logical_not(self)
    def bitwise_and(self, other): return ops.logical.bitwise_and(self, other)
    def bitwise_or(self, other): return ops.logical.bitwise_or(self, other)
    def bitwise_xor(self, other): return ops.logical.bitwise_xor(self, other)
    def bitwise_invert(self): return ops.logical.bitwise_invert(self)
    bitwise_not = bitwise_invert  # PyTorch's name
    def bitwise_left_shift(self, other): return ops.logical.bitwise_left_shift(self, other)
    def bitwise_right_shift(self, other): return ops.logical.bitwise_right_shift(self, other)
    def copysign(self, other): return ops.floating_point.copysign(self, other)
    def signbit(self): return ops.floating_point.signbit(self)
    def nextafter(self, other): return ops.floating_point.nextafter(self, other)
    def nonzero(self): return ops.searching.nonzero(self)
    def count_nonzero(self, axis=None, keepdims=False): return ops.searching.count_nonzero(self, axis, keepdims)
    def searchsorted(self, v, side="left", sorter=None): return ops.searching.searchsorted(self, v, side, sorter)
    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return ops.comparison.isclose(self, other, rtol, atol, equal_nan)
    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return ops.comparison.allclose(self, other, rtol, atol, equal_nan)
    clamp = clip                  # PyTorch's name

    def masked_fill(self, mask, value):
        """``value`` where the bool ``mask`` (broadcasting against this tensor) is true,
        this tensor elsewhere; differentiable in both, as PyTorch's."""
        return ops.elementwise.masked_fill(self, mask, value)

    def norm(self, p="fro", axis=None, keepdims=False, dtype=None):
        """PyTorch's Tensor.norm (``axis=``, ``keepdims=``): see ag.linalg.tensor_norm."""
        return linalg.tensor_norm(self, p, axis, keepdims, dtype)

    def index_add(self, axis, index, source, alpha=1):
        """PyTorch's index_add (``dim`` is ``axis``): see ag.index_add."""
        return ops.gather.index_add(self, axis, index, source, alpha)

    def scatter(self, axis, index, src):
        """PyTorch's scatter (``dim`` is ``axis``): see ag.scatter."""
        return ops.gather.scatter(self, axis, index, src)

    def scatter_add(self, axis, index, src):
        """PyTorch's scatter_add (``dim`` is ``axis``): see ag.scatter_add."""
        return ops.gather.scatter_add(self, axis, index, src)

    # PyTorch's pointwise combinations (NumPy has none), which optimizers and moving averages use
    def lerp(self, end, weight): return ops.pointwise_combinations.lerp(self, end, weight)
    def addcmul(self, tensor1, tensor2, value=1):
        return ops.pointwise_combinations.addcmul(self, tensor1, tensor2, value)

    def addcdiv(self, tensor1, tensor2, value=1):
        return ops.pointwise_combinations.addcdiv(self, tensor1, tensor2, value)

    # --- in-place forms of the elementwise ops (PyTorch's NAME_ methods) -------------
    # Each writes ``ag.NAME(x, *args)`` into x through _inplace, so it is recorded, checked
    # and refused exactly as add_ is. A result that x's dtype cannot hold is refused first.
    exp_ = _in_place("exp_", "elementwise.exp", "floating")
    exp2_ = _in_place("exp2_", "exponential.exp2", "floating")
    expm1_ = _in_place("expm1_", "exponential.expm1", "floating")
    log_ = _in_place("log_", "elementwise.log", "floating")
    log2_ = _in_place("log2_", "exponential.log2", "floating")
    log10_ = _in_place("log10_", "exponential.log10", "floating")
    log1p_ = _in_place("log1p_", "elementwise.log1p", "floating")
    sqrt_ = _in_place("sqrt_", "elementwise.sqrt", "floating")
    reciprocal_ = _in_place("reciprocal_", "exponential.reciprocal", "floating")
    erf_ = _in_place("erf_", "exponential.erf", "floating")
    erfc_ = _in_place("erfc_", "exponential.erfc", "floating")
    erfinv_ = _in_place("erfinv_", "special_functions.erfinv", "floating")
    logit_ = _in_place("logit_", "special_functions.logit", "floating")
    i0_ = _in_place("i0_", "special_functions.i0", "floating")
    xlogy_ = _in_place("xlogy_", "special_functions.xlogy", "floating")
    lgamma_ = _in_place("lgamma_", "gamma_functions.lgamma", "floating")
    digamma_ = _in_place("digamma_", "gamma_functions.digamma", "floating")
    sigmoid_ = _in_place("sigmoid_", "elementwise.sigmoid", "floating")
    sin_ = _in_place("sin_", "elementwise.sin", "floating")
    cos_ = _in_place("cos_", "elementwise.cos", "floating")
    tan_ = _in_place("tan_", "trigonometric.tan", "floating")
    tanh_ = _in_place("tanh_", "elementwise.tanh", "floating")
    sinh_ = _in_place("sinh_", "trigonometric.sinh", "floating")
    cosh_ = _in_place("cosh_", "trigonometric.cosh", "floating")
    arcsin_ = _in_place("arcsin_", "trigonometric.arcsin", "floating")
    arccos_ = _in_place("arccos_", "trigonometric.arccos", "floating")
    arctan_ = _in_place("arctan_", "trigonometric.arctan", "floating")
    arcsinh_ = _in_place("arcsinh_", "trigonometric.arcsinh", "floating")
    arccosh_ = _in_place("arccosh_", "trigonometric.arccosh", "floating")
    arctanh_ = _in_place("arctanh_", "trigonometric.arctanh", "floating")
    arctan2_ = _in_place("arctan2_", "trigonometric.arctan2", "floating")
    hypot_ = _in_place("hypot_", "exponential.hypot", "floating")
    # PyTorch's names for the same (each its own method, so an error names the one called)
    asin_ = _in_place("asin_", "trigonometric.arcsin", "floating")
    acos_ = _in_place("acos_", "trigonometric.arccos", "floating")
    atan_ = _in_place("atan_", "trigonometric.arctan", "floating")
    asinh_ = _in_place("asinh_", "trigonometric.arcsinh", "floating")
    acosh_ = _in_place("acosh_", "trigonometric.arccosh", "floating")
    atanh_ = _in_place("atanh_", "trigonometric.arctanh", "floating")
    atan2_ = _in_place("atan2_", "trigonometric.arctan2", "floating")
    neg_ = _in_place("neg_", "elementwise.neg")
    abs_ = _in_place("abs_", "elementwise.abs")
    sign_ = _in_place("sign_", "elementwise.sign")
    square_ = _in_place("square_", "exponential.square")
    floor_ = _in_place("floor_", "rounding.floor")
    ceil_ = _in_place("ceil_", "rounding.ceil")
    round_ = _in_place("round_", "rounding.round", "own")
    trunc_ = _in_place("trunc_", "rounding.trunc")
    nan_to_num_ = _in_place("nan_to_num_", "nonfinite.nan_to_num", "own")
    clip_ = _in_place("clip_", "elementwise.clip")
    clamp_ = _in_place("clamp_", "elementwise.clip")
    pow_ = _in_place("pow_", "elementwise.pow")
    fmod_ = _in_place("fmod_", "rounding.fmod")
    remainder_ = _in_place("remainder_", "rounding.remainder")
    floor_divide_ = _in_place("floor_divide_", "rounding.floor_divide")
    bitwise_and_ = _in_place("bitwise_and_", "logical.bitwise_and")
    bitwise_or_ = _in_place("bitwise_or_", "logical.bitwise_or")
    bitwise_xor_ = _in_place("bitwise_xor_", "logical.bitwise_xor")
    bitwise_invert_ = _in_place("bitwise_invert_", "logical.bitwise_invert")
    bitwise_not_ = _in_place("bitwise_not_", "logical.bitwise_invert")
    logical_and_ = _in_place("logical_and_", "logical.logical_and", "own")
    logical_or_ = _in_place("logical_or_", "logical.logical_or", "own")
    logical_xor_ = _in_place("logical_xor_", "logical.logical_xor", "own")
    logical_not_ = _in_place("logical_not_", "logical.logical_not", "own")
    masked_fill_ = _in_place("masked_fill_", "elementwise.masked_fill", "own")
    lerp_ = _in_place("lerp_", "pointwise_combinations.lerp", "floating")
    scatter_ = _in_place("scatter_", "gather.scatter", "own")
    scatter_add_ = _in_place("scatter_add_", "gather.scatter_add", "own")
    addcmul_ = _in_place("addcmul_", "pointwise_combinations.addcmul")
    addcdiv_ = _in_place("addcdiv_", "pointwise_combinations.addcdiv")

    # --- PyTorch's names that topograd spells the NumPy way (read last: float and int
    # would shadow the builtins in the class body) -------------------------------------
    view = _pytorch_only("view", "use reshape(*shape)")
    unsqueeze = _pytorch_only("unsqueeze", "use expand_dims(axis)")
    permute = _pytorch_only("permute", "use transpose(*axes)")
    expand = _pytorch_only("expand", "use broadcast_to(*shape)")
    view_as = _pytorch_only("view_as", "use reshape(other.shape)")
    reshape_as = _pytorch_only("reshape_as", "use reshape(other.shape)")
    expand_as = _pytorch_only("expand_as", "use broadcast_to(other.shape)")
    type_as = _pytorch_only("type_as", "use astype(other.dtype)")
    t = _pytorch_only("t", "use the T attribute (or mT, the last two axes swapped)")
    chunk = _pytorch_only("chunk", "use split(n, axis), NumPy's: n equal sections (PyTorch's chunk lets "
                                   "the last one be smaller)")
    unbind = _pytorch_only("unbind", "use unstack(axis)")
    neg = _pytorch_only("neg", "use -x")
    add = _pytorch_only("add", "use x + y, or x + alpha * y for add(y, alpha=alpha)")
    sub = _pytorch_only("sub", "use x - y, or x - alpha * y for sub(y, alpha=alpha)")
    mul = _pytorch_only("mul", "use x * y")
    div = _pytorch_only("div", "use x / y, or ag.div(x, y, rounding_mode=...) for a rounding mode")
    eq = _pytorch_only("eq", "use x == y")
    ne = _pytorch_only("ne", "use x != y")
    lt = _pytorch_only("lt", "use x < y")
    le = _pytorch_only("le", "use x <= y")
    gt = _pytorch_only("gt", "use x > y")
    ge = _pytorch_only("ge", "use x >= y")
    amax = _pytorch_only("amax", "use max(axis, keepdims) (ties share the gradient, as amax's)")
    amin = _pytorch_only("amin", "use min(axis, keepdims) (ties share the gradient, as amin's)")
    softmax = _pytorch_only("softmax", "use nn.functional.softmax(x, axis)")
    log_softmax = _pytorch_only("log_softmax", "use nn.functional.log_softmax(x, axis)")
    masked_select = _pytorch_only("masked_select", "use x[mask]")
    where = _pytorch_only("where", "use ag.where(condition, x, other)")
    mm = _pytorch_only("mm", "use x @ y")
    bmm = _pytorch_only("bmm", "use x @ y")
    dot = _pytorch_only("dot", "use x @ y, or ag.vecdot(x, y)")
    rsqrt = _pytorch_only("rsqrt", "use 1 / x.sqrt()")
    is_floating_point = _pytorch_only("is_floating_point", "use ag.isdtype(x.dtype, 'real floating')")
    element_size = _pytorch_only("element_size", "use x.dtype.itemsize")
    uniform_ = _pytorch_only("uniform_", "use nn.init.uniform_(x, a, b)")
    normal_ = _pytorch_only("normal_", "use nn.init.normal_(x, mean, std)")
    contiguous = _pytorch_only("contiguous", "drop the call: every op takes any memory layout")
    numel = _pytorch_only("numel", "size is the element count: use x.size, without parentheses")
    dim = _pytorch_only("dim", "use the ndim attribute")
    float = _pytorch_only("float", "use astype(ag.float32)")
    double = _pytorch_only("double", "use astype(ag.float64)")
    half = _pytorch_only("half", "use astype(ag.float16)")
    long = _pytorch_only("long", "use astype(ag.int64)")
    int = _pytorch_only("int", "use astype(ag.int32)")
    bool = _pytorch_only("bool", "use astype(ag.bool)")
    gather = _pytorch_only("gather", "use take_along_axis(indices, axis)")
    index_select = _pytorch_only("index_select", "use take(indices, axis=axis)")


_new = object.__new__
_NUMPY_DTYPE = re.compile(r",\s*dtype=\w+$")
_CONTINUED_ROW = re.compile(r"\n(?=.)")


def _size_once(op, sizes, size):
    """The size of a new_* constructor, given by position (``2, 3`` or ``(2, 3)``) or as
    ``size=``, as PyTorch takes it."""
    if size is None:
        return sizes
    if sizes:
        raise TypeError(f"{op}: the size is given twice, by position {sizes} and as size={size}; give it once")
    return (size,)


def _names_a_dtype(value):
    """Whether ``value`` (the first argument of ``to``) names a dtype rather than a device:
    one that topograd lacks too ('complex64', torch.float64), refused then as an unsupported
    dtype, not as an unknown device."""
    if isinstance(value, (backends.Backend, int)):
        return False
    return dtypes.names_a_dtype(value)


def _rebuilt(cls, array, device, requires_grad):
    """A leaf of class ``cls`` holding ``array`` (see Tensor.__reduce_ex__)."""
    t = _new(cls)
    init(t, array, backends.get(device))
    t._requires_grad = requires_grad
    return t


def init(t, array, backend):
    t.data = array
    t._backend = backend
    t._requires_grad = False
    t.grad_fn = None
    t._output_nr = 0
    t._grad = None
    t._version = None
    t._hooks = None


# The dtype each Python scalar stands for in a list; a float takes the default dtype.
_SCALAR_DTYPES = {bool: dtypes.bool_, int: dtypes.int64, float: None}


def refuse_unsupported_dtype(array, backend, problem):
    """A TypeError starting with ``problem`` where ``array``'s dtype is none a tensor holds
    (complex, strings, objects): ops would compute nonsense on it (a complex sum came out
    as an int64 0)."""
    if array.dtype not in backend.floating_dtypes and backend.canonical_dtype(array.dtype).name not in dtypes.NAMES:
        raise TypeError(f"{problem} (its dtype would be {array.dtype}); "
                        f"tensors hold real numbers or bools: {', '.join(dtypes.NAMES)}")


def _not_numbers(data):
    """Whether ``data`` is None, a string, or an array of objects or strings: under a
    given dtype NumPy reads None as nan and "1" as 1, where PyTorch refuses them."""
    return data is None or isinstance(data, (str, bytes)) or \
        getattr(getattr(data, "dtype", None), "kind", None) in _NOT_NUMBER_KINDS


_NOT_NUMBER_KINDS = frozenset("OSUV")  # NumPy's object, bytes, str and void arrays


def refuse_a_list_that_drops_gradients(op, values):
    """Refuse, while recording, a list or tuple (nested too) of values that holds a tensor
    requiring grad: ``x[i] = [a, b]`` and ``x.copy_([a, b])`` read the list as plain
    numbers, so that tensor's gradient was lost without a word (PyTorch refuses lists
    there altogether). ag.stack makes one tensor of them that keeps it."""
    if not isinstance(values, (list, tuple)) or not grad_mode.state.enabled:
        return
    pending = [values]
    while pending:  # a loop, not recursion, however deep the nesting
        for item in pending.pop():
            if isinstance(item, (list, tuple)):
                pending.append(item)
            elif isinstance(item, Tensor) and item.requires_grad:
                raise TypeError(f"{op}: a list holding a tensor that requires grad is read as plain numbers, "
                                "which would drop its gradient; make one tensor of it with ag.stack([...]) "
                                "(or pass .detach() tensors, or write under ag.no_grad())")


def _no_dtype_holds(problem, value):
    text = repr(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"{problem}, {text}: no tensor dtype holds it; tensors hold real numbers or bools: {', '.join(dtypes.NAMES)}"


def _as_torch_tensor_takes(data, dtype):
    """``data`` (a Python number, or nested lists and tuples of them and of arrays) with each
    Python number as torch.tensor takes it into ``dtype`` (see dtypes.as_torch_tensor_takes)."""
    if isinstance(data, (list, tuple)):
        return [_as_torch_tensor_takes(item, dtype) for item in data]
    return dtypes.as_torch_tensor_takes("tensor", data, dtype)


def _from_nested(seq):
    """``seq`` (nested lists or tuples) with each tensor in it as a host array, which any
    device can read, and the dtype PyTorch infers for it: a Python float counts as the
    default dtype, an int as int64, a bool as bool, a tensor or NumPy value as its own
    dtype, all promoted together (so a list of float64 tensors stays float64). The dtype
    is None where nothing is inside (an empty list) or something of a type it does not
    know (a Fraction: NumPy decides); None and strings are refused."""
    found = set()
    unknown = []

    def walk(seq):
        kinds = set(map(type, seq))
        if kinds <= _SCALAR_DTYPES.keys():  # a row of Python numbers, the common case: no loop
            found.update(_SCALAR_DTYPES[kind] or default_dtype() for kind in kinds)
            return seq
        out = []
        for item in seq:
            if isinstance(item, (list, tuple)):
                item = walk(item)
            elif isinstance(item, Tensor):
                found.add(item.dtype)
                item = item._backend.to_numpy(item.data)
            elif type(item) in _SCALAR_DTYPES:
                found.add(_SCALAR_DTYPES[type(item)] or default_dtype())
            elif _not_numbers(item):
                raise TypeError(_no_dtype_holds(f"cannot make a tensor of a list holding this {type(item).__name__}",
                                                item))
            elif hasattr(item, "dtype"):  # a NumPy scalar or array
                try:
                    dtype = dtypes.canonical(item.dtype)
                except TypeError:  # another library's dtype (a PyTorch tensor's): read it as a NumPy
                    item = backends.get("cpu").asarray(item)  # array, as ag.tensor(item) reads it alone
                    dtype = dtypes.canonical(item.dtype)
                found.add(dtype)
                if isinstance(item, dtypes.NUMPY_SCALAR):
                    # as the Python number it holds, which the cast to a given dtype checks as it
                    # checks Python's (NumPy's own scalars wrap: np.int64(300) became 44 in uint8)
                    item = item.item()
            else:
                unknown.append(item)
            out.append(item)
        return out

    data = walk(seq)
    if unknown or not found:
        return data, None
    kinds = iter(found)
    dtype = next(kinds)
    for other in kinds:
        dtype = dtypes.promote(dtype, other)
    return data, dtype


class LeafHooks(list):
    """A leaf's gradient hooks, run in order on each gradient before it reaches ``.grad``,
    and its ``after_accumulation`` hooks, run on the leaf once it has."""
    __slots__ = ("after_accumulation",)

    def __init__(self):
        super().__init__()
        self.after_accumulation = []


def on_one_device(op, *tensors):
    """Refuse Tensors (None and other values are skipped) on different devices, naming ``op``:
    Function.apply checks its arguments with it, and an op that works on arrays itself calls
    it, since a backend's namespace may take another's array silently (NumPy reads it as its
    own), a copy across devices that topograd never makes."""
    first = None
    for t in tensors:
        if isinstance(t, Tensor):
            if first is None:
                first = t
            elif t._backend is not first._backend:
                raise ValueError(f"{op}: expected all tensors on one device, got {first.device} and {t.device}; "
                                 "move one with .to(device)")


def check_hook(op, hook):
    """Refuse a hook that cannot be called when it is registered, on the user's line, not later
    as a bare "'int' object is not callable" from inside backward or forward."""
    if not callable(hook):
        raise TypeError(f"{op}: the hook must be a function, got {type(hook).__name__} {hook!r}")


class HookHandle:
    """Adds ``fn`` to ``hooks`` (at the front with ``prepend``) and removes that one
    registration again; ``with handle:`` removes it on leaving, as PyTorch's."""

    def __init__(self, hooks, fn, prepend=False):
        # The same function registered twice gets an entry of its own the second time,
        # so each handle removes its own registration and the others keep their order.
        if any(h is fn for h in hooks):
            fn = functools.partial(fn)
        if prepend:
            hooks.insert(0, fn)
        else:
            hooks.append(fn)
        self._hooks, self._fn = hooks, fn

    def remove(self):
        for i, fn in enumerate(self._hooks):  # by identity, once: not another handle's registration
            if fn is self._fn:
                del self._hooks[i]
                break
        self._hooks = ()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.remove()


_default_dtype = dtypes.float32


def default_dtype():
    return _default_dtype


def set_default_dtype(dtype):
    global _default_dtype
    dtype = dtypes.canonical(dtype)
    if not dtypes.is_floating(dtype):
        raise TypeError(f"the default dtype must be floating point, not {dtype}")
    _default_dtype = dtype


def _retake_views(chain):
    """Give each view of ``chain`` (listed from the changed one up to the one just under
    the root) a fresh place in the graph, from the top down, so that each takes a base
    that is fresh already."""
    with grad_mode.enable_grad():
        for view in reversed(chain):
            base, _, _, (function, args) = view._base
            view._take_place(function(base, *args))


from . import creation, engine, linalg, ops  # noqa: E402  (ops build on Tensor, so they load after it)
from .ops.elementwise import add_pair as _add, div as _div, mul as _mul, sub_pair as _sub  # noqa: E402
