"""Argument checks and normalizations shared by the functional ops (and by the
layers in ``nn.layers``, which check at construction): is it a Tensor, a floating
one, of the input's dtype; an int or a pair of ints; an image batch; how many
windows fit. They run on every call, so the common cases take a fast path
(``pair`` skips the slower ABC checks for plain ints) and per-dtype answers are
cached by (backend, native dtype), as dtype objects differ between backends."""
import numbers

from autograd import Tensor
from autograd.tensor import on_one_device
from autograd.ops.shape import reshape
from backends import dtypes


def require_tensor(op, value, name="input", like=None):
    """``value`` if it is a Tensor (on ``like``'s device, where given), else the error."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, not {type(value).__name__}")
    if like is not None:
        # before any array of it is read: a namespace given another device's array fails
        # with its own words (CuPy: "Unsupported type numpy.ndarray"), or reads it as its own
        on_one_device(op, like, value)
    return value


# Caches keyed by (backend, native dtype), as dtype objects differ between backends
FLOATING = {}  # -> is it floating point
_KINDS = {}    # -> NumPy's kind letter ('f', 'i', 'u', 'b')


def kind(t):
    key = (t._backend, t.data.dtype)
    kind = _KINDS.get(key)
    if kind is None:
        kind = _KINDS[key] = t.dtype.kind
    return kind


def real(value):
    return type(value) in (float, int) or isinstance(value, numbers.Real) and not isinstance(value, bool)


def real_number(op, name, value, at_least=None):
    """A real number argument as a Python float (a NumPy float64 would widen float32
    results), at least ``at_least`` where given."""
    if not real(value):
        raise TypeError(f"{op}: {name} must be a real number, not {value!r}")
    if at_least is not None and not value >= at_least:
        raise ValueError(f"{op}: {name} must be at least {at_least}, got {value!r}")
    return float(value)


def integer(op, name, value):
    """An integer argument (a class index) as a Python int: the Array API compares
    arrays with Python numbers, not with NumPy's integers (np.int64(0))."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{op}: {name} must be an int, not {value!r}")
    return int(value)


def floating(op, value, name="input"):
    if isinstance(value, Tensor):
        key = (value._backend, value.data.dtype)
        floating = FLOATING.get(key)
        if floating is None:
            floating = FLOATING[key] = dtypes.is_floating(value.dtype)
        if floating:
            return value
        raise TypeError(f"{op}: {name} must be floating point, not {value.dtype}; "
                        "convert it with .astype(ag.float32)")
    raise TypeError(f"{op}: {name} must be a Tensor, not {type(value).__name__}")


def same_dtype(op, x, other, name):
    if other is not None and (other._backend is not x._backend or other.data.dtype != x.data.dtype) \
            and other.dtype != x.dtype:
        raise TypeError(f"{op}: {name} is {other.dtype} but the input is {x.dtype}; use one dtype "
                        "(model.to(dtype=...) or x.astype(...))")


def pair(op, name, value, minimum):
    """An int or a pair of ints, as the pair PyTorch's 2-D layers use."""
    if type(value) is int:  # the common cases, without the slower ABC checks
        if value >= minimum:
            return (value, value)
    elif type(value) is tuple and len(value) == 2 and type(value[0]) is int and type(value[1]) is int:
        if min(value) >= minimum:
            return value
    value = _ints(op, name, value, 2, "a pair")
    if min(value) < minimum:
        raise ValueError(f"{op}: {name} must be at least {minimum}, got {value}")
    return value


def _ints(op, name, value, n, what):
    """``value`` as n ints: an int (NumPy's too) for each axis, a sequence of n, or, as
    PyTorch's functional forms take it, a sequence of one int for every axis."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value),) * n
    if isinstance(value, (tuple, list)) and len(value) in (1, n) and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value):
        return tuple(int(v) for v in value) * (n if len(value) == 1 else 1)
    raise TypeError(f"{op}: {name} must be an int or {what} of ints, not {value!r}")


def single(op, name, value, minimum):
    """An int or a 1-tuple of ints, as the 1-tuple PyTorch's 1-D layers use."""
    v = value[0] if isinstance(value, (tuple, list)) and len(value) == 1 else value
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{op}: {name} must be an int or a 1-tuple of ints, not {value!r}")
    if v < minimum:
        raise ValueError(f"{op}: {name} must be at least {minimum}, got {value!r}")
    return (int(v),)


def triple(op, name, value, minimum):
    """An int or a triple of ints, as the triple PyTorch's 3-D layers use."""
    value = _ints(op, name, value, 3, "a triple")
    if min(value) < minimum:
        raise ValueError(f"{op}: {name} must be at least {minimum}, got {value}")
    return value


def batched_sequences_as_images(op, x):
    """(N, C, L) or, unbatched, (C, L) as the (N, C, 1, L) images the 2-D kernels
    take; returns (images, was_unbatched). ``sequences_from_images`` undoes it."""
    floating(op, x)
    if x.ndim not in (2, 3):
        raise ValueError(f"{op}: expected a (N, C, L) or (C, L) input, got shape {x.shape}")
    unbatched = x.ndim == 2
    n, c, length = (1,) + x.shape if unbatched else x.shape
    return reshape(x, (n, c, 1, length)), unbatched


def sequences_from_images(y, unbatched):
    """(N, C, 1, L) back to (N, C, L), or to (C, L) for an unbatched input."""
    n, c, _, length = y.shape
    return reshape(y, (c, length) if unbatched else (n, c, length))


def batched_images(op, x):
    """(N, C, H, W) as is, (C, H, W) as a batch of one; returns (x, was_unbatched)."""
    floating(op, x)
    if x.ndim == 3:
        return reshape(x, (1,) + x.shape), True
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a (N, C, H, W) or (C, H, W) input, got shape {x.shape}")
    return x, False


def batched_volumes(op, x):
    """(N, C, D, H, W) as is, (C, D, H, W) as a batch of one; returns (x, was_unbatched)."""
    floating(op, x)
    if x.ndim == 4:
        return reshape(x, (1,) + x.shape), True
    if x.ndim != 5:
        raise ValueError(f"{op}: expected a (N, C, D, H, W) or (C, D, H, W) input, got shape {x.shape}")
    return x, False


def window_out(op, size, kernel, stride, dilation, pad_before, pad_after, ceil_mode=False):
    extent = dilation * (kernel - 1) + 1
    span = size + pad_before + pad_after - extent
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + pad_before:
        out -= 1  # PyTorch: the last window must start inside the input or its left padding
    if out < 1:  # with ceil_mode, one window may run past a padded input smaller than the kernel, as in PyTorch
        raise ValueError(f"{op}: the input size {size} (padded to {size + pad_before + pad_after}) is "
                         f"smaller than the kernel's extent {extent}")
    return out


def cached(make, *args):
    """``make(*args)``, memoized: a layer asks for the same few windows every step.
    Lists become tuples; arguments that cannot be hashed skip the cache (and make's
    checks then report what is wrong with them)."""
    args = tuple(tuple(a) if isinstance(a, list) else a for a in args)
    try:
        return make(*args)
    except TypeError as exc:
        if "unhashable" not in str(exc):
            raise
        return make.__wrapped__(*args)


def unbatch(y, unbatched):
    return reshape(y, y.shape[1:]) if unbatched else y


def widened(tensor):
    """A float16 tensor as float32, others as they are: nn's float16 work that takes several
    steps (a normalization, a loss, attention, a weighted resampling) runs in float32 and is
    rounded once at the end (``rounded``), as PyTorch's CPU kernels compute float16. In float16
    each step would round again: squares overflow past 256, a 'mean' loss's 1/N gradient sinks
    among the subnormals past N = 16,384, and a score past 64 is 0.03 off."""
    return tensor.astype(dtypes.float32) if tensor.dtype == dtypes.float16 else tensor


def rounded(tensor, dtype):
    """``tensor`` back in ``dtype``, the input's (see ``widened``)."""
    return tensor if tensor.dtype == dtype else tensor.astype(dtype)
