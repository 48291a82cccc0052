"""``linear_cross_entropy``: ``cross_entropy(linear(input, linear_weight, linear_bias),
target)``, PyTorch's loss for a classifier head over a large vocabulary, and
``LinearCrossEntropyOptions``, which sets how many rows of logits it makes at a time.

Class-index targets with a (C, in_features) weight run as one fused op
(``nn_fused.linear_cross_entropy``) that makes the logits a chunk of rows at a time, so
the (N, C) logits are never held whole; label smoothing, class weights and
ignore_index included. Probability targets and a K-dimensional weight (C, d1, ...,
in_features) take the composed ops, PyTorch's reference path, with all their logits."""
import dataclasses
import math
import numbers
import warnings

from autograd import autocast_mode
from autograd.ops import nn_fused
from autograd.ops.shape import reshape
from autograd.user_code import user_stacklevel

from .arguments import floating, integer, kind, real, require_tensor, same_dtype
from .linear import linear
from .loss import _class_weight, _integer_targets, _targets_in_bounds, cross_entropy
from .loss_arguments import resolve_reduction

# The fewest rows a chunk chosen by "auto" holds. The weight's gradient adds G.T @ x, a
# (C, in_features) product over a chunk's rows, at every chunk: over fewer rows it is
# bound by writing that product, not by arithmetic (8 rows took 1.7x the time of the
# batch in one chunk, 64 rows 1.05x, at N=512, in_features=64, C=32768 on one core).
_AUTO_MIN_CHUNK_ROWS = 64


@dataclasses.dataclass(frozen=True)
class LinearCrossEntropyOptions:
    """How ``linear_cross_entropy`` chunks its batch, with PyTorch's fields.

    ``batch_chunk_size``: rows of logits per chunk. ``chunking_method``: ``"auto"``
    (the default; ``batch_chunk_size`` where given, else ``"aspect_ratio:2"`` with at
    least 64 rows a chunk), ``"aspect_ratio"`` (a chunk's (rows, C) logits about the
    size of the (N, in_features) input: the next power of 2 from N / ceil(C /
    in_features)), ``"aspect_ratio:k"`` (that divided by k) or None (``batch_chunk_size``,
    or the whole batch in one chunk). Giving both a method and a size that disagree is
    an error, as in PyTorch.

    ``allow_retain_graph`` is accepted and changes nothing: the backward here never
    consumes what forward kept, so ``retain_graph=True`` always works. ``acc_policy``
    (PyTorch's mixed-precision trade-offs) is checked and changes nothing: everything is
    computed in the input's dtype, and ``acc_dtype`` may only be None or that dtype.
    """
    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: str = "auto"
    acc_dtype: object = None

    def __post_init__(self):
        if self.acc_policy not in ("auto", "accurate", "balanced", "compact"):
            raise ValueError(f"LinearCrossEntropyOptions: acc_policy must be 'auto', 'accurate', 'balanced' or "
                             f"'compact', got {self.acc_policy!r}")
        if self.chunking_method is not None and self.chunking_method != "auto":
            _aspect_ratio_factor(self.chunking_method)
        size = self.batch_chunk_size
        if size is not None and (isinstance(size, bool) or not isinstance(size, numbers.Integral) or size <= 0):
            raise ValueError(f"LinearCrossEntropyOptions: batch_chunk_size must be a positive int or None, "
                             f"got {size!r}")

    def chunk_rows(self, num_batches, in_features, num_classes):
        """The rows of logits per chunk for this call's shapes (at least 1)."""
        method, size = self.chunking_method, self.batch_chunk_size
        if method == "auto":
            if size is not None:
                method = None
            else:
                rows = _aspect_ratio_rows(num_batches, in_features, num_classes, 2)
                return max(1, min(num_batches, max(rows, _AUTO_MIN_CHUNK_ROWS)))
        if method is None:
            return max(1, num_batches if size is None else min(size, num_batches))
        rows = _aspect_ratio_rows(num_batches, in_features, num_classes, _aspect_ratio_factor(method))
        if size is not None and size != rows:
            raise ValueError(f"linear_cross_entropy: batch_chunk_size={size} and chunking_method={method!r} give "
                             f"different chunk sizes ({size} and {rows} rows); pass only one")
        return max(1, rows)


_DEFAULT_OPTIONS = LinearCrossEntropyOptions()


def _aspect_ratio_factor(method):
    name, colon, factor = method.partition(":") if isinstance(method, str) else ("", "", "")
    if name != "aspect_ratio" or colon and not (factor.isdigit() and int(factor) > 0):
        raise ValueError(f"LinearCrossEntropyOptions: chunking_method must be 'auto', 'aspect_ratio', "
                         f"'aspect_ratio:k' with k a positive integer, or None, got {method!r}")
    return int(factor) if colon else 1


def _aspect_ratio_rows(num_batches, in_features, num_classes, factor):
    """PyTorch's "aspect_ratio:factor": (rows, C) logits about the (N, in_features)
    input's size, as the next power of 2, divided by ``factor``."""
    target = -(-num_batches // max(1, -(-num_classes // max(in_features, 1))))
    return min((1 << max(target - 1, 0).bit_length()) // factor, num_batches)


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None, reduction="mean",
                         ignore_index=None, label_smoothing=0.0, options=None):
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)`` for input
    (in_features,) or (N, in_features) and linear_weight (C, in_features), or (C, d1, ...,
    in_features) for a K-dimensional loss; ``ignore_index=None`` means -100 for class
    indices. With class indices and a 2-D weight, the logits are made a chunk of rows at a
    time (``options``; None is ``LinearCrossEntropyOptions()``), never all at once."""
    op = "linear_cross_entropy"
    floating(op, input)
    floating(op, linear_weight, "linear_weight")
    require_tensor(op, target, "target", like=input)
    reduction = resolve_reduction(op, None, None, reduction)
    if not real(label_smoothing) or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must lie in [0, 1], got {label_smoothing!r}")
    if options is not None and not isinstance(options, LinearCrossEntropyOptions):
        raise TypeError(f"{op}: options must be a LinearCrossEntropyOptions or None, not {type(options).__name__}")
    if input.ndim not in (1, 2):
        raise ValueError(f"{op}: expected an input of shape (in_features,) or (N, in_features), got {input.shape}")
    if linear_weight.ndim < 2:
        raise ValueError(f"{op}: linear_weight must be (C, in_features) or (C, d1, ..., in_features), got shape "
                         f"{linear_weight.shape}")
    in_features = input.shape[-1]
    if linear_weight.shape[-1] != in_features:
        raise ValueError(f"{op}: the input's last axis has size {in_features} (shape {input.shape}) but "
                         f"linear_weight {linear_weight.shape} expects {linear_weight.shape[-1]}")
    # Under autocast PyTorch's default path (options=None) is linear, which runs in float16,
    # then cross_entropy, in float32: the composed ops do the same, whatever dtypes come in.
    autocast = options is None and autocast_mode.casts(input)
    if not autocast:
        same_dtype(op, input, linear_weight, "linear_weight")
    num_classes, out_features = linear_weight.shape[0], linear_weight.shape[1:-1]
    if linear_bias is not None:
        require_tensor(op, linear_bias, "linear_bias")
        if linear_bias.shape != (num_classes,) + out_features:
            raise ValueError(f"{op}: linear_bias must have shape {(num_classes,) + out_features}, got "
                             f"{linear_bias.shape}")
        if not autocast:
            same_dtype(op, input, linear_bias, "linear_bias")
    if out_features and input.ndim == 1:
        raise ValueError(f"{op}: a K-dimensional loss (linear_weight {linear_weight.shape}) needs a batched input "
                         f"(N, {in_features}), got shape {input.shape}; add a batch axis with "
                         "input.reshape(1, -1)")
    if options is not None and options.acc_dtype not in (None, input.dtype):
        raise ValueError(f"{op}: acc_dtype={options.acc_dtype} is not the input's dtype {input.dtype}; topograd "
                         "computes in the input's dtype, so pass acc_dtype=None")
    probabilities = kind(target) == "f"
    if probabilities and ignore_index is not None:
        raise ValueError(f"{op}: ignore_index applies to class-index targets, not to class probabilities (a "
                         "float target); leave it None")
    ignore_index = -100 if ignore_index is None else integer(op, "ignore_index", ignore_index)
    if probabilities or out_features or autocast:
        if options is not None:
            reason = "probability targets" if probabilities else "a K-dimensional weight"
            warnings.warn(f"{op}: options are ignored for {reason}, which takes the composed linear and "
                          "cross_entropy, with every logit at once", UserWarning, stacklevel=user_stacklevel())
        return _composed(input, linear_weight, target, linear_bias, weight, reduction, ignore_index,
                         label_smoothing)
    weight = _class_weight(op, weight, input, num_classes)
    target = _integer_targets(op, target)
    if target.shape != input.shape[:-1]:
        raise ValueError(f"{op}: the input of shape {input.shape} needs a target of shape {input.shape[:-1]}, "
                         f"got {target.shape}")
    all_valid = _targets_in_bounds(op, target, num_classes, ignore_index)
    unbatched = input.ndim == 1
    if unbatched:  # one row
        input, target = reshape(input, (1, in_features)), reshape(target, (1,))
    chunk_rows = (options or _DEFAULT_OPTIONS).chunk_rows(input.shape[0], in_features, num_classes)
    loss = nn_fused.linear_cross_entropy(input, linear_weight, linear_bias, target, weight, ignore_index,
                                         float(label_smoothing), reduction, all_valid, chunk_rows)
    return reshape(loss, ()) if reduction == "none" and unbatched else loss


def _composed(input, linear_weight, target, linear_bias, weight, reduction, ignore_index, label_smoothing):
    """PyTorch's reference path: every logit, then cross_entropy over them."""
    num_classes, out_features = linear_weight.shape[0], linear_weight.shape[1:-1]
    flat = math.prod(out_features, start=num_classes)
    logits = linear(input, reshape(linear_weight, (flat, input.shape[-1])),
                    None if linear_bias is None else reshape(linear_bias, (flat,)))
    logits = reshape(logits, input.shape[:-1] + (num_classes,) + out_features)
    return cross_entropy(logits, target, weight=weight, ignore_index=ignore_index, reduction=reduction,
                         label_smoothing=label_smoothing)
