"""Gradient clipping, in place on each parameter's ``.grad``, with PyTorch's arithmetic.

``clip_grad_norm_`` scales all gradients together so that their joint p-norm is at
most ``max_norm`` and returns that norm (before clipping) as a Tensor;
``clip_grad_value_`` clamps every gradient element to ``[-clip_value, clip_value]``.
Neither records a graph nor waits on the device, except ``error_if_nonfinite=True``,
which must look at the norm. Neither raises NumPy's floating-point warnings: a norm that
overflows is inf and an inf gradient scaled by 0 is NaN, quietly, as in PyTorch.

Each function takes PyTorch's ``foreach=None`` keyword, which picks between PyTorch's
per-tensor and batched kernels. topograd has one implementation, so ``foreach``
changes nothing; it is accepted so that code ported from PyTorch runs.
"""
import math

import backends
from autograd import Tensor, tensor
from autograd.tensor import count_change
from backends import dtypes, floating_point_warnings_off


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The p-norm of all elements of ``tensors`` together (the norm of their norms), as a
    Tensor on the first tensor's device; 0 when there are none. ``foreach`` changes nothing
    (see the module docstring)."""
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return tensor(0.0)
    for t in tensors:  # refused, as by PyTorch: an integer norm would be int64 or float64 by norm_type
        if not dtypes.is_floating(t.dtype):
            raise TypeError(f"get_total_norm: the norm is taken of floating-point tensors (gradients), got a "
                            f"{t.dtype} tensor of shape {t.shape}; cast it first with .to('float32')")
    first = tensors[0]._backend
    xp = first.xp
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = dtypes.promote(dtype, t.dtype)
    native = first.native_dtype(dtype)
    norms = []
    with floating_point_warnings_off():  # a norm past the dtype's range is inf, quietly, as PyTorch's
        for t in tensors:
            norm = _norm_of(t._backend, t.data, t.dtype, norm_type)
            if t._backend is not first:  # PyTorch gathers the norms on the first device
                norm = first.asarray(backends.get("cpu").xp.asarray(t._backend.to_numpy(norm)))
            norms.append(xp.astype(xp.asarray(norm), native))
        total = xp.asarray(_norm_of(first, xp.stack(norms), dtype, norm_type))
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"the total norm of order {norm_type} of the gradients is non-finite, so it cannot be "
                           "clipped; pass error_if_nonfinite=False to scale the gradients by it anyway")
    return Tensor._make(total, first)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients by ``min(1, max_norm / (total_norm + 1e-6))``, in place.
    ``foreach`` changes nothing (see the module docstring)."""
    grads = _grads(parameters)
    max_norm = _non_negative("clip_grads_with_norm_", "max_norm", max_norm)
    # One factor for all gradients: a tensor of several norms (one per parameter, say) would
    # scale each gradient elementwise by them, silently (PyTorch refuses it too)
    if not isinstance(total_norm, Tensor) or total_norm.ndim != 0:
        got = (f"a tensor of shape {total_norm.shape}" if isinstance(total_norm, Tensor)
               else f"a {type(total_norm).__name__}")
        raise TypeError(f"clip_grads_with_norm_: total_norm must be a 0-d Tensor, the joint norm of all the "
                        f"gradients (as get_total_norm returns), got {got}")
    if not grads:
        return
    with floating_point_warnings_off():  # an inf gradient times the factor 0 is NaN, quietly, as PyTorch's
        _scale_(grads, max_norm, total_norm)


def _scale_(grads, max_norm, total_norm):
    backend = total_norm._backend
    coef = _clip_coefficient(backend, max_norm, total_norm.data)
    converted = {}
    for g in grads:
        key = (g._backend, g.dtype)
        factor = converted.get(key)
        if factor is None:
            factor = coef
            if g._backend is not backend:
                factor = g._backend.asarray(backends.get("cpu").xp.asarray(backend.to_numpy(coef)))
            # PyTorch scales a float16 gradient in float32 and rounds once: a factor rounded to
            # float16 first lost bits, and one below 3e-8 became 0 and wiped the gradient out.
            if g.dtype != dtypes.float32:
                gxp = g._backend.xp
                factor_dtype = g._backend.native_dtype(dtypes.float32 if g.dtype == dtypes.float16 else g.dtype)
                factor = gxp.astype(gxp.asarray(factor), factor_dtype)
            converted[key] = factor
        g._backend.scale_by_factor_(g.data, factor)
        count_change(g)


def _clip_coefficient(backend, max_norm, total):
    """PyTorch's ``clamp(max_norm / (total + 1e-6), max=1)`` to the bit. Its ``scalar /
    tensor`` is the tensor's reciprocal times the scalar (Tensor.__rtruediv__), each rounded
    in the total's dtype, a float16 total's steps computed in float32 and max_norm taken as
    a float32 for both: a division was a unit off for about a quarter of float32 totals."""
    xp = backend.xp
    if total.dtype == xp.float64:
        return xp.clip((1.0 / (total + 1e-6)) * max_norm, max=1.0)
    max_norm = float(backends.get("cpu").xp.float32(max_norm))  # (inf past float32's range, as PyTorch's)
    if total.dtype == xp.float32:
        # float32 steps taken in float64, each rounded to float32 there: the reciprocal of a
        # norm past 8.5e37 is below float32's normal range, which CuPy's float32 arithmetic
        # flushes to 0 (a norm of 3e38 scaled the gradients to 0, not to 1). The factor stays
        # float64 (a float32 value), for scale_by_factor_ to take without that flush.
        reciprocal = backend.round_to_float32(1.0 / xp.astype(total + 1e-6, xp.float64))
        return xp.clip(backend.round_to_float32(reciprocal * max_norm), max=1.0)
    wide = backend.native_dtype(dtypes.float32)  # float16 (not on the strict backend)
    total = xp.astype(xp.astype(total, wide) + 1e-6, total.dtype)
    reciprocal = xp.astype(1.0 / xp.astype(total, wide), total.dtype)
    return xp.clip(xp.astype(xp.astype(reciprocal, wide) * max_norm, total.dtype), max=1.0)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale all gradients together so their joint ``norm_type``-norm is at most ``max_norm``
    (``float('inf')`` for the largest absolute value); returns the norm before clipping.
    ``foreach`` changes nothing (see the module docstring)."""
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    _non_negative("clip_grad_norm_", "max_norm", max_norm)
    total = get_total_norm(_grads(parameters), norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element to ``[-clip_value, clip_value]``, in place. ``foreach``
    changes nothing (see the module docstring)."""
    clip_value = _non_negative("clip_grad_value_", "clip_value", clip_value)
    for g in _grads(parameters):
        clipped = g._backend.xp.clip(g.data, min=-clip_value, max=clip_value)
        g.data[...] = clipped
        count_change(g)


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def _non_negative(fn, name, value):
    value = float(value)
    if not value >= 0:
        raise ValueError(f"{fn}: {name} must be >= 0, got {value}")
    return value


def _norm_of(backend, a, dtype, p):
    """``_vector_norm`` of array ``a`` (of ``dtype``), in its dtype; a float16 one is
    accumulated in float32 and rounded once, as PyTorch does: float16 squares overflow
    past 256 (a norm of 300 came out inf and zeroed every gradient) and underflow below 2**-12."""
    xp = backend.xp
    if dtype == dtypes.float16:
        wide = _vector_norm(xp, xp.astype(a, backend.native_dtype(dtypes.float32)), p)
        return xp.astype(xp.asarray(wide), a.dtype)
    return _vector_norm(xp, a, p)


def _vector_norm(xp, a, p):
    """The ``p``-norm of all elements of array ``a``, in its dtype (PyTorch's vector_norm)."""
    if a.size == 0:  # an empty sum's or max's value, and for p < 0 an empty min's: inf, so that an
        # empty gradient leaves the norm of the others as it is (0 took a -inf norm to 0)
        return xp.full((), math.inf if p < 0 else 0.0, dtype=a.dtype)
    if p == math.inf:
        return xp.max(xp.abs(a))
    if p == -math.inf:
        return xp.min(xp.abs(a))
    if p == 0:
        return xp.sum(xp.astype(a != 0, a.dtype))
    if p == 1:
        return xp.sum(xp.abs(a))
    if p == 2:
        return xp.sqrt(xp.sum(a * a))
    return xp.sum(xp.abs(a) ** p) ** (1.0 / p)
