"""The tensors a Module registers by assignment: Parameter (learnable) and Buffer (state that
is not learnt); UninitializedParameter and UninitializedBuffer: the placeholders a Lazy module
holds until its first forward."""
import backends
from autograd import Tensor, empty, no_grad, zeros
from autograd.tensor import _rebuilt, init, share_version, version_of
from backends import dtypes


class Parameter(Tensor):
    """Wraps ``data`` (a Tensor, whose memory and in-place counter it shares, or anything ag.tensor takes)
    as a leaf that requires grad; ``Parameter()`` is an empty float tensor."""
    __slots__ = ()
    # copy.deepcopy(model) gives parameters without .grad, as PyTorch's: a copy made for an
    # average or a target network starts clean, and holds no second set of gradients.
    _deepcopy_keeps_grad = False

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = empty(0)
        if isinstance(data, Tensor):
            init(self, data.data, data._backend)
            # One memory, one in-place counter (as in PyTorch): an optimizer's step on the
            # parameter must fail a backward that saved the tensor it was made from.
            share_version(self, version_of(data))
        else:
            Tensor.__init__(self, data)
        if requires_grad:
            self.requires_grad = True

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """A tensor that is a module's state but not learnt (BatchNorm's running statistics), as
    PyTorch's ``nn.Buffer``: assigning one as a Module attribute registers it as a buffer, as
    ``register_buffer(name, data, persistent)`` does (a plain Tensor assigned so stays a plain
    attribute). It shares ``data``'s memory and in-place counter and keeps its requires_grad,
    outside any graph. ``persistent=False`` keeps it out of state_dict()."""
    __slots__ = ("persistent",)

    def __init__(self, data=None, *, persistent=True):
        if data is None:
            data = empty(0)
        if isinstance(data, Tensor):
            init(self, data.data, data._backend)
            share_version(self, version_of(data))  # one memory, one in-place counter, as Parameter's
            if data.requires_grad:
                self.requires_grad = True
        else:
            Tensor.__init__(self, data)
        self.persistent = bool(persistent)

    def __reduce_ex__(self, protocol):  # pickle and copy.copy: Tensor's, keeping persistent
        return _rebuilt_buffer, (*super().__reduce_ex__(protocol)[1], self.persistent)

    def __deepcopy__(self, memo):
        copied = super().__deepcopy__(memo)
        copied.persistent = self.persistent
        return copied


def _rebuilt_buffer(cls, array, device, requires_grad, persistent):
    t = _rebuilt(cls, array, device, requires_grad)
    t.persistent = persistent
    return t


# The slot that holds a tensor's array, which UninitializedTensorMixin hides behind a
# property that refuses to read it: every op reads .data, so none can run on a placeholder.
_ARRAY = Tensor.__dict__["data"]

_LAZY_FIX = ("it belongs to a Lazy module (nn.LazyLinear, nn.LazyConv2d, ...), whose shapes its first forward sets: "
             "call the module once on a batch of the real shape first (a dry run), or load a state_dict into it")


class UninitializedTensorMixin:
    """A tensor with a dtype, a device and requires_grad but no shape or values yet. It
    holds an empty array only to carry its dtype and device (which Module.to changes);
    ``materialize(shape)`` gives it values in place, turning it into ``cls_to_become``
    (the same object, so an optimizer or a dict that holds it sees the real tensor).
    As in PyTorch, reading its shape raises a RuntimeError and using it in an op a ValueError."""
    __slots__ = ()
    cls_to_become = None

    @property
    def data(self):
        raise ValueError(f"Attempted to use an uninitialized {self._kind} (<{type(self).__name__}>), which has "
                         f"no values yet: {_LAZY_FIX}")

    @data.setter
    def data(self, array):
        _ARRAY.__set__(self, array)

    @property
    def shape(self):
        raise RuntimeError(f"Can't access the shape of an uninitialized {self._kind} (<{type(self).__name__}>): "
                           f"{_LAZY_FIX}")

    @property
    def dtype(self):
        return self._backend.canonical_dtype(_ARRAY.__get__(self).dtype)

    def materialize(self, shape, device=None, dtype=None):
        """Become a ``cls_to_become`` of ``shape`` (zeros) in place, on this placeholder's
        device and dtype unless given others; requires_grad stays as it was."""
        backend = self._backend if device is None else backends.get(device)
        array = zeros(shape, dtype=self.dtype if dtype is None else dtype, device=backend).data
        self.__class__ = self.cls_to_become
        self.data, self._backend = array, backend

    def _move_placeholder(self, backend, dtype):
        """What Module.to does to a tensor, for one without values: a new placeholder on
        ``backend`` (None: where it is) and, if it is floating, of ``dtype`` (None: its own)."""
        if dtype is None or not dtypes.is_floating(self.dtype):
            dtype = self.dtype
        backend = self._backend if backend is None else backend
        self.data, self._backend = zeros(0, dtype=dtype, device=backend).data, backend

    def __repr__(self):
        return f"<{type(self).__name__}>"

    def __reduce_ex__(self, protocol):  # copy.deepcopy and pickle: a new placeholder like this one
        return type(self), (self._requires_grad, self.device, self.dtype.name)

    def __deepcopy__(self, memo):  # as __reduce_ex__: Tensor's copies the values, which a placeholder lacks
        rebuild, args = self.__reduce_ex__(4)
        return rebuild(*args)

    def _placeholder(self, requires_grad, device, dtype):
        array = empty(0, dtype=dtype, device=device)
        init(self, array.data, array._backend)
        if requires_grad:
            self.requires_grad = True


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A Parameter whose shape a Lazy module's first forward sets (see UninitializedTensorMixin)."""
    __slots__ = ()
    cls_to_become = Parameter
    _kind = "parameter"

    def __init__(self, requires_grad=True, device=None, dtype=None):
        self._placeholder(requires_grad, device, dtype)


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer (running statistics) whose shape a Lazy module's first forward sets."""
    __slots__ = ()
    cls_to_become = Tensor
    _kind = "buffer"

    def __init__(self, requires_grad=False, device=None, dtype=None):
        self._placeholder(requires_grad, device, dtype)


def is_lazy(tensor):
    """Whether ``tensor`` is an UninitializedParameter or UninitializedBuffer (has no shape yet)."""
    return isinstance(tensor, UninitializedTensorMixin)


def zero_grads(params, set_to_none=True):
    """Drop each parameter's gradient (the default), or zero it in place; what both
    Module.zero_grad and Optimizer.zero_grad do."""
    for p in params:
        g = p.grad
        if g is None:
            continue
        if set_to_none:
            p.grad = None
            continue
        if g.grad_fn is not None:  # recorded with create_graph: leave that graph alone
            g = g.detach()
            p.grad = g
        with no_grad():
            g.zero_()
