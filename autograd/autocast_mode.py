"""Automatic mixed precision, PyTorch's ``torch.autocast``: inside an ``autocast`` block,
ops on a device type's lists run in float16 (matrix products, convolutions: fast where
the hardware has float16 units) or in float32 (losses, reductions, exponentials: they
need float32's range), whatever floating dtype their inputs come in.

An op takes part by naming itself with ``@autocast_op("name")`` where it is defined;
``POLICIES`` says, per device type, what each name does. The lists are PyTorch's: for
``"cuda"`` its documented ones, for ``"cpu"`` what PyTorch 2.13's CPU autocast does (the
tests check each listed op's output dtype against PyTorch's). Ops left off the lists
run in their inputs' dtype, and mixed inputs promote as everywhere (float16 with float32
gives float32). As in PyTorch:

- only float16 and float32 tensors on the block's device type are cast: float64,
  integers and other devices are left alone, and so are calls given ``dtype=``;
- a listed op runs its own parts without further casts (``cross_entropy``'s inner
  ``log_softmax`` stays float32), and backward runs each op's gradient in the dtype its
  forward ran in (the engine pauses autocast), so a parameter's gradient has its dtype;
- within the outermost block, the float16 copy of a leaf that requires grad (a weight)
  is made once and reused, unless the leaf changes in place meanwhile (a copy made
  under no_grad is not kept: it has no graph for later uses to differentiate);
- a checkpoint's recomputation in backward runs under its forward's autocast state;
- ``custom_fwd`` and ``custom_bwd`` let a custom Function choose its forward's dtype and
  run its backward under its forward's autocast state.

Outside any block a listed op pays one test of a module global (``_open_blocks``).
"""
import contextlib
import functools
import math
import threading

from backends import dtypes

from .function import Function
from .grad_mode import is_grad_enabled
from .tensor import Tensor

LOWER, FLOAT32, PROMOTE, AS_GIVEN, REFUSED = "lower", "float32", "promote", "as given", "refused"
DEVICE_TYPES = ("cpu", "cuda")


def _cpu_pad(input, pad, mode="constant", value=None):
    """PyTorch's CPU list holds reflection padding of 1 and 2 axes and replication padding
    of 1 to 3, not constant or circular padding."""
    if not isinstance(pad, (tuple, list)):
        return None  # (F.pad says what is wrong with it)
    axes = len(pad) // 2
    if (mode == "reflect" and axes in (1, 2)) or (mode == "replicate" and axes in (1, 2, 3)):
        return FLOAT32
    return None


def _cpu_tensordot(a, b, axes=2):
    """PyTorch's CPU tensordot is a matmul (on the list) unless it contracts every axis of
    size above 1 of both operands: then it is a dot (on no list), run as given."""
    from .ops.linalg import _contracted_axes  # (that module declares its ops through this one)
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        return LOWER
    try:
        axes_a, axes_b = _contracted_axes(a, b, axes)
    except (TypeError, ValueError):
        return LOWER  # (tensordot says what is wrong with them)
    free_a = math.prod(n for i, n in enumerate(a.shape) if i not in axes_a)
    free_b = math.prod(n for j, n in enumerate(b.shape) if j not in axes_b)
    return AS_GIVEN if free_a == free_b == 1 else LOWER


def _cpu_local_response_norm(input, *args, **kwargs):
    """PyTorch's averages the squares through avg_pool3d (on the CPU list) for inputs of 4 or
    more axes, and through avg_pool2d (on no list) for 3 axes: that one runs as given."""
    return FLOAT32 if isinstance(input, Tensor) and input.ndim >= 4 else AS_GIVEN


def _cpu_interpolate(input, size=None, scale_factor=None, mode="nearest", *args, **kwargs):
    """PyTorch's 'area' of a volume is adaptive_avg_pool3d (on the CPU list); every other
    mode and shape is one kernel on no list."""
    return FLOAT32 if mode == "area" and isinstance(input, Tensor) and input.ndim == 5 else AS_GIVEN


def _named(kind, names):
    return dict.fromkeys(names.split(), kind)


# What each listed op does, per device type: LOWER casts its floating inputs to the
# block's dtype, FLOAT32 to float32, PROMOTE to the widest among them; AS_GIVEN casts
# nothing, for an op built here from listed ones that PyTorch runs as one unlisted kernel
# (its parts then run paused, in its inputs' dtypes); REFUSED raises. A callable decides
# from the call's arguments.
POLICIES = {
    "cuda": {
        **_named(LOWER, "matmul einsum vecdot matrix_power linear conv1d conv2d conv3d conv_transpose1d "
                        "conv_transpose2d conv_transpose3d prelu scaled_dot_product_attention"),
        **_named(FLOAT32, "pow acos asin cosh sinh tan erfinv exp expm1 log log10 log1p log2 reciprocal softplus "
                          "softmax log_softmax softmin sum prod cumsum cumprod layer_norm group_norm vector_norm "
                          "normalize cosine_similarity pdist binary_cross_entropy_with_logits cross_entropy "
                          "nll_loss mse_loss l1_loss smooth_l1_loss kl_div poisson_nll_loss hinge_embedding_loss "
                          "margin_ranking_loss soft_margin_loss multi_margin_loss multilabel_margin_loss "
                          "cosine_embedding_loss triplet_margin_loss"),
        **_named(PROMOTE, "atan2 cross tensordot bilinear grid_sample"),
        **_named(REFUSED, "binary_cross_entropy"),
        **_named(AS_GIVEN, "adaptive_avg_pool1d adaptive_avg_pool2d interpolate "
                           "householder_product"),  # (PyTorch's orgqr kernel is on no CUDA list)
        # PyTorch's is a composition whose pow is on the CUDA float32 list, so its output is
        # float32 whatever the number of axes (on the CPU, see _cpu_local_response_norm)
        "local_response_norm": FLOAT32,
        **_named(FLOAT32, "recurrent"),  # (see the CPU's)
    },
    "cpu": {
        **_named(LOWER, "matmul einsum vecdot matrix_power linear conv1d conv2d conv3d conv_transpose1d "
                        "conv_transpose2d conv_transpose3d prelu scaled_dot_product_attention"),
        "tensordot": _cpu_tensordot,
        **_named(FLOAT32, "prod quantile nanquantile trace avg_pool3d max_pool3d adaptive_avg_pool3d "
                          "adaptive_max_pool3d fractional_max_pool2d fractional_max_pool3d max_unpool1d max_unpool2d "
                          "max_unpool3d grid_sample binary_cross_entropy binary_cross_entropy_with_logits "
                          "cross_entropy nll_loss mse_loss l1_loss smooth_l1_loss huber_loss kl_div "
                          "poisson_nll_loss hinge_embedding_loss margin_ranking_loss soft_margin_loss "
                          "multi_margin_loss multilabel_margin_loss cosine_embedding_loss triplet_margin_loss "
                          "ctc_loss cholesky inv solve svd svdvals qr eigh eigvalsh lstsq householder_product "
                          "cholesky_ex inv_ex"),
        "local_response_norm": _cpu_local_response_norm,
        # Built here on matmul for some shapes, single kernels off the lists in PyTorch:
        **_named(AS_GIVEN, "bilinear adaptive_avg_pool1d adaptive_avg_pool2d"),
        "interpolate": _cpu_interpolate,
        # The recurrent layers (their forward, weights and all) in float32: PyTorch's CPU RNN
        # and RNNCell (and its CUDA cells) run in float16, its CPU GRU, GRUCell and LSTMCell in
        # their input's dtype, and its CPU LSTM fails on a float32 input; float32 takes a
        # float16 input from the layer before.
        **_named(FLOAT32, "recurrent"),
        "pad": _cpu_pad,
    },
}

# Every name an op has declared with @autocast_op (the tests check the lists name no other).
declared = set()

_open_blocks = 0  # enabled autocast blocks open in any thread: 0 keeps listed ops on their fast path
_blocks_lock = threading.Lock()


class _ThreadState(threading.local):
    """Each thread's autocast settings, as PyTorch keeps them per thread."""

    def __init__(self):
        self.enabled = dict.fromkeys(DEVICE_TYPES, False)
        self.dtype = dict.fromkeys(DEVICE_TYPES, dtypes.float16)
        self.cache_enabled = True
        self.depth = 0          # autocast blocks open in this thread, enabled or not
        self.paused = False     # inside a listed op's body, or in backward
        self.cache = {}         # id(leaf) -> (leaf, its version when cast, the cast)


state = _ThreadState()


def is_autocast_available(device_type):
    """Whether ``autocast`` takes this device type (``"cpu"`` or ``"cuda"``)."""
    return device_type in DEVICE_TYPES


def is_autocast_enabled(device_type="cuda"):
    return state.enabled[_checked_device_type(device_type)]


def get_autocast_dtype(device_type):
    return state.dtype[_checked_device_type(device_type)]


def casts(t):
    """Whether a listed op given the tensor ``t`` would cast it now: an enabled block of its
    device type is open in this thread, outside a listed op's body and backward. A fused op
    whose PyTorch counterpart is composed of listed ops takes that composition when it does."""
    if not _open_blocks or state.paused or not isinstance(t, Tensor):
        return False
    device_type = t.device.split(":")[0]
    return device_type in DEVICE_TYPES and state.enabled[device_type]


def _checked_device_type(device_type, caller="autocast"):
    if device_type not in DEVICE_TYPES:
        raise ValueError(f"{caller}: device_type must be 'cpu' or 'cuda' (a device type, without an index), "
                         f"got {device_type!r}")
    return device_type


class autocast:
    """``with autocast("cuda"):`` (or as a decorator) runs the listed ops of that device
    type's tensors in mixed precision; ``dtype`` is float16 (NumPy has no bfloat16),
    ``enabled=False`` turns it off inside an enabled block, and ``cache_enabled=False``
    casts a weight afresh at every use."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        self.device_type = _checked_device_type(device_type)
        given = dtypes.float16 if dtype is None else dtype
        try:
            dtype = dtypes.canonical(given)
        except (TypeError, ValueError):
            dtype = None
        if dtype != dtypes.float16:
            raise ValueError(f"autocast: dtype must be float16 (ag.float16 or 'float16'), the one lower-precision "
                             f"float NumPy and CuPy have (PyTorch's CPU default, bfloat16, is neither's), got "
                             f"{given!r}")
        if not isinstance(enabled, bool):
            raise TypeError(f"autocast: enabled must be True or False, not {enabled!r}")
        if cache_enabled is not None and not isinstance(cache_enabled, bool):
            raise TypeError(f"autocast: cache_enabled must be True, False or None, not {cache_enabled!r}")
        self.fast_dtype = dtype
        self.enabled = enabled
        self.cache_enabled = cache_enabled
        self._saved = []  # per open use of this object (it may be re-entered): what __exit__ restores

    def __enter__(self):
        global _open_blocks
        device = self.device_type
        self._saved.append((state.enabled[device], state.dtype[device], state.cache_enabled))
        state.enabled[device] = self.enabled
        state.dtype[device] = self.fast_dtype
        if self.cache_enabled is not None:
            state.cache_enabled = self.cache_enabled
        state.depth += 1
        if self.enabled:
            with _blocks_lock:
                _open_blocks += 1
        return self

    def __exit__(self, *exc):
        global _open_blocks
        device = self.device_type
        state.enabled[device], state.dtype[device], state.cache_enabled = self._saved.pop()
        state.depth -= 1
        if state.depth == 0:
            state.cache.clear()  # as PyTorch: the weights' casts live as long as the outermost block
        if self.enabled:
            with _blocks_lock:
                _open_blocks -= 1
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def in_autocast(*args, **kwargs):
            with autocast(self.device_type, self.fast_dtype, self.enabled, self.cache_enabled):
                return fn(*args, **kwargs)
        return in_autocast


def snapshot():
    """This thread's autocast state, for ``replayed`` to run code under later: a checkpoint's
    recomputation in backward runs under its forward's state, as PyTorch's does."""
    settings = tuple((d, state.enabled[d], state.dtype[d]) for d in DEVICE_TYPES)
    return settings, state.cache_enabled, dict(state.cache), state.paused


@contextlib.contextmanager
def replayed(saved):
    """Run the block under a ``snapshot``'s state, then put this thread's back. The weight
    cache starts as it was too, so the recomputation takes the float16 copies the forward
    took from outside (and makes again those it made)."""
    settings, cache_enabled, cache, paused = saved
    outer = state.cache, state.paused
    state.cache = dict(cache)
    try:
        with contextlib.ExitStack() as blocks:
            for device_type, enabled, dtype in settings:
                blocks.enter_context(autocast(device_type, dtype, enabled, cache_enabled))
            state.paused = paused  # (backward pauses autocast; the forward may have run unpaused)
            yield
    finally:
        state.cache, state.paused = outer


def autocast_op(name):
    """Declare the decorated op as ``name`` in ``POLICIES``: inside an autocast block its
    arguments are cast by the list of their device type, and its body runs paused."""
    declared.add(name)

    def decorate(op):
        @functools.wraps(op)
        def listed_op(*args, **kwargs):
            if _open_blocks:
                return _call_listed(name, op, args, kwargs)
            return op(*args, **kwargs)
        return listed_op
    return decorate


def _call_listed(name, op, args, kwargs):
    if state.paused:
        return op(*args, **kwargs)
    device_type = _device_type_of(args, kwargs)
    if device_type is None or not state.enabled[device_type] or kwargs.get("dtype") is not None:
        return op(*args, **kwargs)
    kind = POLICIES[device_type].get(name)
    if callable(kind):
        kind = kind(*args, **kwargs)
    if kind is None:
        return op(*args, **kwargs)
    if kind == REFUSED:
        raise RuntimeError(
            f"{name} is unsafe to autocast: its float16 input's rounding near 0 and 1 costs it its accuracy. "
            "Give it logits instead, through binary_cross_entropy_with_logits (nn.BCEWithLogitsLoss), which "
            "autocast runs in float32, or call it outside the block")
    if kind == LOWER:
        target = state.dtype[device_type]
    elif kind == FLOAT32:
        target = dtypes.float32
    elif kind == PROMOTE:
        target = _widest(args, kwargs, device_type)
    else:
        target = None
    if target is not None:
        args = tuple(_cast(a, target, device_type) for a in args)
        kwargs = {k: _cast(v, target, device_type) for k, v in kwargs.items()}
    state.paused = True  # (it was not: see the test above)
    try:
        return op(*args, **kwargs)
    finally:
        state.paused = False


def _tensors(args, kwargs):
    for a in (*args, *kwargs.values()):
        if isinstance(a, Tensor):
            yield a
        elif isinstance(a, (list, tuple)):
            yield from (t for t in a if isinstance(t, Tensor))


def _device_type_of(args, kwargs):
    for t in _tensors(args, kwargs):
        device_type = t.device.split(":")[0]
        return device_type if device_type in DEVICE_TYPES else None
    return None


def _eligible(t, device_type):
    """A float16 or float32 tensor on the block's device type (PyTorch's rule: float64 is
    never narrowed, integers never widened)."""
    return t.dtype in (dtypes.float16, dtypes.float32) and t.device.split(":")[0] == device_type


def _widest(args, kwargs, device_type):
    found = {t.dtype for t in _tensors(args, kwargs) if _eligible(t, device_type)}
    return dtypes.float32 if dtypes.float32 in found else dtypes.float16 if found else None


def _cast(value, target, device_type):
    if isinstance(value, (list, tuple)) and any(isinstance(v, Tensor) for v in value):
        return type(value)(_cast(v, target, device_type) for v in value)
    if not isinstance(value, Tensor) or value.dtype == target or not _eligible(value, device_type):
        return value
    # A weight's float16 copy is made once per outermost block (PyTorch caches the same
    # ones: float32 leaves that require grad, cast down), and made again if the weight
    # changed in place since.
    if not (state.cache_enabled and target == dtypes.float16 and value.is_leaf and value.requires_grad):
        return value.astype(target)
    version = value._version.value if value._version is not None else 0
    kept = state.cache.get(id(value))
    if kept is not None and kept[0] is value and kept[1] == version:
        return kept[2]
    cast = value.astype(target)
    if is_grad_enabled():  # one made under no_grad has no graph: kept, it would cut later uses off the weight
        state.cache[id(value)] = (value, version, cast)
    return cast


def custom_fwd(forward=None, *, device_type, cast_inputs=None):
    """For a custom Function's ``forward``: with ``cast_inputs`` (a dtype), inside an
    enabled block its floating tensor arguments arrive in that dtype and its body runs
    without autocast; without it, the body runs under the caller's autocast. Either way
    ``custom_bwd`` gives backward the same state."""
    if forward is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)
    _checked_device_type(device_type, "custom_fwd")
    if cast_inputs is not None:
        cast_inputs = dtypes.canonical(cast_inputs)

    @functools.wraps(forward)
    def decorated(ctx, *args, **kwargs):
        if not isinstance(ctx, Function):
            raise TypeError(f"custom_fwd: {forward.__qualname__} was called without ctx: custom_fwd decorates a "
                            "forward(ctx, *args) and keeps on ctx the autocast state custom_bwd gives backward, so "
                            "a Function with setup_context (whose forward takes no ctx) cannot use it; write the "
                            "Function in the forward(ctx, *args) form")
        ctx._autocast_state = (state.enabled[device_type], state.dtype[device_type])
        if cast_inputs is None or not state.enabled[device_type]:
            return forward(ctx, *args, **kwargs)
        ctx._autocast_state = (False, state.dtype[device_type])
        args = tuple(_cast(a, cast_inputs, device_type) for a in args)
        kwargs = {k: _cast(v, cast_inputs, device_type) for k, v in kwargs.items()}
        with autocast(device_type, enabled=False):
            return forward(ctx, *args, **kwargs)
    decorated._autocast_device_type = device_type
    return decorated


def custom_bwd(backward=None, *, device_type):
    """For a custom Function's ``backward``: runs it under the autocast state its
    ``custom_fwd`` forward ran in (the engine otherwise runs backward without autocast)."""
    if backward is None:
        return functools.partial(custom_bwd, device_type=device_type)
    _checked_device_type(device_type, "custom_bwd")

    @functools.wraps(backward)
    def decorated(ctx, *grads):
        enabled, dtype = getattr(ctx, "_autocast_state", (False, dtypes.float16))
        was = state.paused
        state.paused = False
        try:
            with autocast(device_type, dtype, enabled=enabled):
                return backward(ctx, *grads)
        finally:
            state.paused = was
    return decorated
