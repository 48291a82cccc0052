"""Dropout, by PyTorch's rules, in training (the identity otherwise):

- ``dropout`` zeroes each element with probability ``p`` and scales the rest by 1/(1-p);
- ``dropout1d``/``dropout2d``/``dropout3d`` zero whole channels (one draw per sample
  and channel of (N, C, ...)) and scale the rest by 1/(1-p);
- ``alpha_dropout`` and ``feature_alpha_dropout`` (per element, per channel) set what
  they drop to SELU's negative saturation and then scale and shift everything so a
  standard normal input keeps mean 0 and variance 1.

The mask is drawn from the backend's seeded generator and enters as a constant
factor (and shift), so these are compositions of Tensor ops with no gradient code
of their own."""
import math
import warnings

from autograd.ops.elementwise import constant
from autograd.user_code import user_stacklevel

from .arguments import floating, real
from .inplace import overwrite

# SELU's negative saturation -scale * alpha is -_SELU_SATURATION: what alpha dropout drops to
_SELU_SATURATION = 1.7580993408473766


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p), in
    training; the identity otherwise. ``inplace=True`` writes the result over
    ``input`` (see ``overwrite``)."""
    p = _probability("dropout", input, p)
    if not training or p == 0:
        return input
    return _apply("dropout_", input, inplace, lambda x: _drop(x, p, x.shape, alpha=False))


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L), or of an unbatched (C, L), each with
    probability ``p``, and scale the rest by 1/(1-p), in training."""
    op = "dropout1d"
    p = _probability(op, input, p)
    if input.ndim not in (2, 3):
        raise ValueError(f"{op}: expected a (N, C, L) or unbatched (C, L) input, got shape {input.shape}; "
                         "dropout1d drops channels of inputs with one spatial axis")
    return _channel_dropout(op, input, p, training, inplace, unbatched=input.ndim == 2, alpha=False)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W), each with probability ``p``, and scale the
    rest by 1/(1-p), in training. As PyTorch's, a 3-D input is taken as (N, C, L), not
    as an unbatched (C, H, W), with a warning; other ranks than 3 and 4 warn too."""
    op = "dropout2d"
    p = _probability(op, input, p)
    _warn_unexpected_rank(op, input, (3, 4))
    if input.ndim == 3:
        warnings.warn(f"{op}: a 3-D input is taken as (N, C, L), with channels along axis 1, as PyTorch "
                      "does for now; PyTorch plans to take it as an unbatched (C, H, W) instead. Use "
                      "dropout1d for channel dropout over (N, C, L)", UserWarning, stacklevel=user_stacklevel())
    return _channel_dropout(op, input, p, training, inplace, unbatched=False, alpha=False)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, D, H, W), or of an unbatched (C, D, H, W), each
    with probability ``p``, and scale the rest by 1/(1-p), in training. As PyTorch's,
    other ranks warn and are taken as unbatched (channels along axis 0)."""
    op = "dropout3d"
    p = _probability(op, input, p)
    _warn_unexpected_rank(op, input, (4, 5))
    return _channel_dropout(op, input, p, training, inplace, unbatched=input.ndim != 5, alpha=False)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout, for SELU networks: each element is dropped with probability ``p``
    to SELU's negative saturation -alpha' (alpha' = 1.7581...), then every element is
    mapped to a * x + b, with a = ((alpha'^2 p + 1)(1 - p))^(-1/2) and b = a alpha' p,
    which keeps a standard normal input's mean and variance. Note PyTorch's default
    ``training=False``; p=1 gives zeros, as in PyTorch."""
    p = _probability("alpha_dropout", input, p)
    if not training or p == 0:
        return input
    return _apply("alpha_dropout_", input, inplace, lambda x: _drop(x, p, x.shape, alpha=True))


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """``alpha_dropout`` with one draw per sample and channel of (N, C, ...): whole
    channels are dropped. Note PyTorch's default ``training=False``."""
    op = "feature_alpha_dropout"
    p = _probability(op, input, p)
    return _channel_dropout(op, input, p, training, inplace, unbatched=False, alpha=True)


def _probability(op, input, p):
    floating(op, input)
    if not real(p) or not 0 <= p <= 1:
        raise ValueError(f"{op}: p must be a probability in [0, 1], got {p!r}")
    return float(p)  # a NumPy float64 would widen a float32 mask


def _warn_unexpected_rank(op, input, ranks):
    if input.ndim not in ranks:
        warnings.warn(f"{op}: got a {input.ndim}-D input, but {op} drops channels of {ranks[0]}-D or "
                      f"{ranks[1]}-D inputs; PyTorch deprecates other ranks and will refuse them. Use dropout "
                      "for elementwise dropout", UserWarning, stacklevel=user_stacklevel())


def _channel_dropout(op, input, p, training, inplace, unbatched, alpha):
    """One draw per sample and channel (axis 1, or axis 0 of an ``unbatched`` input),
    broadcast over the spatial axes."""
    if not training or p == 0 or input.size == 0:
        return input
    if input.ndim + unbatched < 2:
        raise ValueError(f"{op}: dropping whole channels needs an input of shape (N, C, ...), got shape "
                         f"{input.shape}; use {'alpha_dropout' if alpha else 'dropout'} for elementwise dropout")
    leading = 1 if unbatched else 2  # the axes that draw: (C,) unbatched, else (N, C)
    noise_shape = input.shape[:leading] + (1,) * (input.ndim - leading)
    # (no reshape to a batch of one: an in-place result must not be a view)
    return _apply(op + "_", input, inplace, lambda x: _drop(x, p, noise_shape, alpha))


def _apply(op, input, inplace, drop):
    return overwrite(op, input, drop) if inplace else drop(input)


def _drop(x, p, noise_shape, alpha):
    """x times a mask drawn at ``noise_shape`` (which broadcasts to x's shape): kept
    values scaled by 1/(1-p); with ``alpha``, the affine map of alpha dropout, as
    PyTorch computes it. p = 1 gives zeros (times x, so NaN and inf stay NaN), as
    in PyTorch."""
    backend = x._backend
    xp = backend.xp
    dtype = x.data.dtype
    if p == 1:
        return x * constant(xp.zeros(noise_shape, dtype=dtype), x)
    keep = xp.astype(backend.uniform(noise_shape, 0.0, 1.0, x.dtype) >= p, dtype)
    if not alpha:
        return x * constant(keep * (1.0 / (1.0 - p)), x)
    a = 1.0 / math.sqrt((_SELU_SATURATION ** 2 * p + 1.0) * (1.0 - p))
    shift = (keep - 1.0) * (_SELU_SATURATION * a) + _SELU_SATURATION * a * p  # b, or b - a alpha' where dropped
    return x * constant(keep * a, x) + constant(shift, x)
