"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``,
with PyTorch's signatures and mask conventions, composed of matmul, softmax, where,
concat and dropout (no gradient code of their own, so second derivatives come free).

Masks. Each becomes an additive mask (0 or -inf, or the float mask itself) of its own
small shape before it meets the (batch, heads, L, S) scores, so a mask costs one add:
- ``scaled_dot_product_attention``: a bool ``attn_mask`` says which keys each query
  may attend to (True = take part); a float one is added to the scores; both broadcast
  to the (..., L, S) scores, never widening them (as PyTorch's). ``is_causal`` keeps
  key j for query i where j <= i (top-left aligned, as PyTorch's, also when L != S).
- ``multi_head_attention_forward`` (and ``nn.MultiheadAttention``): a bool
  ``attn_mask`` or ``key_padding_mask`` says which keys are left out (True = ignore),
  the opposite convention, as PyTorch's; float masks are added.

A fully masked row (a query with no key left): ``scaled_dot_product_attention``
gives zeros for it, in the output and in every gradient through it, as PyTorch 2.13's
does on CPU (float64 and float32). ``multi_head_attention_forward`` follows PyTorch's
two paths: NaN for that row with ``need_weights=True`` (a plain softmax over -inf
only), zeros with ``need_weights=False`` (which goes through
``scaled_dot_product_attention``).
"""
import math
import numbers

from autograd import Tensor, zeros
from autograd.autocast_mode import autocast_op
from autograd.ops import nn_fused
from autograd.ops.elementwise import constant, where
from autograd.ops.linalg import matmul
from autograd.ops.reduction import mean
from autograd.ops.shape import broadcast_to, concat, reshape, split, swapaxes, transpose
from autograd.shapes import broadcast_shapes
from backends import dtypes

from .arguments import floating, real, real_number, require_tensor, rounded, widened
from .dropout import dropout
from .linear import linear


@autocast_op("scaled_dot_product_attention")
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """softmax(query @ key^T * scale + mask) @ value, with dropout on the attention
    weights when ``dropout_p > 0`` (always: there is no training flag, as PyTorch's).
    query (..., Hq, L, E), key (..., Hk, S, E), value (..., Hk, S, Ev) -> (..., Hq, L, Ev);
    the leading axes broadcast. ``scale`` defaults to 1/sqrt(E). ``enable_gqa`` lets
    Hq be a multiple of Hk (grouped-query attention): query head h uses key and value
    head h // (Hq / Hk), as PyTorch's repeat_interleave. A query whose keys are all
    masked gives zeros (see the module's docstring)."""
    op = "scaled_dot_product_attention"
    _check_operands(op, query, key, value)
    if enable_gqa:
        key, value = _repeated_heads(op, query, key, "key"), _repeated_heads(op, query, value, "value")
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(f"{op}: query {query.shape} and key {key.shape} must have the same last axis (E)")
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(f"{op}: key {key.shape} and value {value.shape} must have the same number of keys "
                         "(axis -2)")
    try:
        batch = broadcast_shapes(op, query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ValueError:
        raise ValueError(f"{op}: the leading axes of query {query.shape}, key {key.shape} and value "
                         f"{value.shape} do not broadcast (pass enable_gqa=True for fewer key/value heads)") from None
    _check_dropout(op, dropout_p)
    length, keys, features = query.shape[-2], key.shape[-2], query.shape[-1]
    if scale is None:
        scale = 1.0 / math.sqrt(features) if features else math.inf
    else:
        scale = real_number(op, "scale", scale)
    if is_causal:
        if attn_mask is not None:
            raise ValueError(f"{op}: pass either attn_mask or is_causal=True, not both; for a causal mask "
                             "combined with another, give their combination as attn_mask")
        mask = _causal_mask(query, length, keys)
    else:
        mask = additive_mask(op, "attn_mask", attn_mask, query, true_means="keep")
        scores = batch + (length, keys)
        # One way only, as PyTorch's: a mask that widened the scores (an axis more, or a
        # size where theirs is 1) would give an output of another shape than the query's.
        if mask is not None and (mask.ndim > len(scores) or any(
                m not in (1, s) for m, s in zip(mask.shape[::-1], scores[::-1]))):
            raise ValueError(f"{op}: attn_mask of shape {mask.shape} does not broadcast to the scores' shape "
                             f"{scores} (..., L, S)")
    return attend(query, key, value, scale, mask, dropout_p, zero_masked_rows=True)[0]


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False, *, batch_first=False):
    """PyTorch's ``F.multi_head_attention_forward``: query (L, N, E), key (S, N, kdim) and
    value (S, N, vdim), or (N, L, E)... with ``batch_first=True`` (topograd's keyword,
    which nn.MultiheadAttention passes so as to skip two transposes), or unbatched
    (L, E)...; returns (output, weights or None). The weights are (N, L, S), or
    (N, num_heads, L, S) with ``average_attn_weights=False``, after dropout, as PyTorch's.
    ``is_causal`` is a hint that ``attn_mask`` is causal: it needs that mask, as PyTorch's."""
    op = "MultiheadAttention"
    _check_operands(op, query, key, value)
    unbatched = _unbatched(op, query, key, value, key_padding_mask, attn_mask)
    if unbatched:  # a batch of one, batch first (the layout needs no transposes)
        query, key, value = (reshape(t, (1,) + t.shape) for t in (query, key, value))
        if key_padding_mask is not None:
            key_padding_mask = reshape(key_padding_mask, (1,) + key_padding_mask.shape)
        batch_first = True
    batch_axis = 0 if batch_first else 1
    seq_axis = 1 - batch_axis
    length, batch, embed_dim = query.shape[seq_axis], query.shape[batch_axis], query.shape[2]
    keys = key.shape[seq_axis]
    _check_mha_shapes(op, query, key, value, embed_dim_to_check, num_heads, batch_axis,
                      (k_proj_weight, v_proj_weight) if use_separate_proj_weight else None)
    _check_dropout(op, dropout_p)
    head_dim = embed_dim // num_heads
    for name, static in (("static_k", static_k), ("static_v", static_v)):
        _check_static(op, name, static, query, batch, num_heads, head_dim)
    if static_k is not None:
        keys = static_k.shape[1]
        if static_v is not None and static_v.shape[1] != keys:
            raise ValueError(f"{op}: static_k {static_k.shape} and static_v {static_v.shape} must hold as many keys")
    padding = additive_mask(op, "key_padding_mask", key_padding_mask, query, true_means="ignore")
    if padding is not None and padding.shape != (batch, keys):
        expected = (keys,) if unbatched else (batch, keys)
        raise ValueError(f"{op}: key_padding_mask must have shape {expected} ({'' if unbatched else 'N, '}S), got "
                         f"{key_padding_mask.shape[unbatched:]}")
    if is_causal and attn_mask is None:
        raise ValueError(f"{op}: is_causal=True is a hint that attn_mask is causal, and needs that attn_mask; "
                         "make one with nn.Transformer.generate_square_subsequent_mask(L)")
    causal = is_causal and padding is None and not need_weights  # PyTorch then attends causally, mask unread
    mask = None if causal else additive_mask(op, "attn_mask", attn_mask, query, true_means="ignore")
    if mask is not None:
        mask = _heads_mask(op, mask, batch, num_heads, length, keys)

    if (bias_k is None) != (bias_v is None):
        raise ValueError(f"{op}: give both bias_k and bias_v, or neither")
    if bias_k is not None and (static_k is not None or static_v is not None):
        raise ValueError(f"{op}: bias_k and bias_v cannot be added to static_k and static_v")

    q, k, v = _projections(query, key, value, in_proj_weight, in_proj_bias, use_separate_proj_weight,
                           q_proj_weight, k_proj_weight, v_proj_weight)
    if bias_k is not None:
        k, v = (concat([t, broadcast_to(reshape(b, (1, 1, embed_dim)), _one_step(t.shape, seq_axis))],
                       axis=seq_axis) for t, b in ((k, bias_k), (v, bias_v)))
        mask, padding = _one_more_key(mask), _one_more_key(padding)
    q, k, v = (_split_heads(t, num_heads, batch_first) for t in (q, k, v))
    if static_k is not None:
        k = reshape(static_k, (batch, num_heads) + static_k.shape[1:])
    if static_v is not None:
        v = reshape(static_v, (batch, num_heads) + static_v.shape[1:])
    if add_zero_attn:
        k, v = (concat([t, constant(t._backend.xp.zeros(_one_step(t.shape, 2), dtype=t.data.dtype), t)], axis=2)
                for t in (k, v))
        mask, padding = _one_more_key(mask), _one_more_key(padding)
    if padding is not None:
        padding = reshape(padding, (batch, 1, 1, padding.shape[1]))
        mask = padding if mask is None else mask + padding
    elif causal:
        mask = _causal_mask(q, length, k.shape[2])
    p = dropout_p if training else 0.0
    out, weights = attend(q, k, v, 1.0 / math.sqrt(head_dim) if head_dim else math.inf, mask, p,
                          zero_masked_rows=not need_weights)
    out = linear(_merge_heads(out, batch_first), out_proj_weight, out_proj_bias)
    if not need_weights:
        weights = None
    elif average_attn_weights:
        weights = mean(weights, axis=1)
    if unbatched:
        out = reshape(out, out.shape[1:])
        weights = None if weights is None else reshape(weights, weights.shape[1:])
    return out, weights


def attend(query, key, value, scale, mask, dropout_p, zero_masked_rows):
    """(softmax(query * scale @ key^T + mask) @ value, the weights after dropout). With
    ``zero_masked_rows``, the rows whose mask is -inf throughout give zero weights and
    zero gradients rather than NaN; which rows those are is read off the mask's own
    small shape, and the two extra passes run only when there is one. float16 attends in
    float32, rounded once at the end, as PyTorch's CPU kernel: a float16 score past 64 is up
    to 0.03 off, and its weight 3% with it."""
    dtype = query.dtype
    query, key, value = widened(query), widened(key), widened(value)
    scores = matmul(query * scale, swapaxes(key, -1, -2))
    masked = None
    if mask is not None:
        scores = scores + mask
        if zero_masked_rows:
            xp = mask._backend.xp
            rows = xp.all(mask.data == -math.inf, axis=-1, keepdims=True)
            if bool(xp.any(rows)):
                masked = constant(rows, mask)
                scores = where(masked, 0.0, scores)  # finite, so the softmax and its gradient are too
    weights = nn_fused.softmax(scores, scores.ndim - 1)
    if masked is not None:
        weights = where(masked, 0.0, weights)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p)
    return rounded(matmul(weights, value), dtype), rounded(weights, dtype)


def additive_mask(op, name, mask, like, true_means):
    """``mask`` as an additive mask in ``like``'s dtype: a bool one as 0 and -inf (-inf
    where it is False for ``true_means="keep"``, where it is True for ``"ignore"``),
    a float one as it is (cast to ``like``'s dtype, still differentiable); None stays None."""
    if mask is None:
        return None
    require_tensor(op, mask, name)
    if mask._backend is not like._backend:
        raise ValueError(f"{op}: {name} is on {mask._backend.device} but the query is on {like._backend.device}; "
                         "move it with .to(...)")
    if mask.dtype == dtypes.bool_:
        xp, dtype = like._backend.xp, like.data.dtype
        zero, minus_inf = xp.asarray(0.0, dtype=dtype), xp.asarray(-math.inf, dtype=dtype)
        taken = (zero, minus_inf) if true_means == "keep" else (minus_inf, zero)
        return constant(xp.where(mask.data, *taken), like)
    if not dtypes.is_floating(mask.dtype):
        raise TypeError(f"{op}: {name} must be bool or floating point, not {mask.dtype}")
    return mask if mask.data.dtype == like.data.dtype else mask.astype(like.dtype)


def generate_square_subsequent_mask(sz, device=None, dtype=None):
    """The (sz, sz) float causal mask PyTorch's nn.Transformer makes: 0 on and below the
    diagonal, -inf above it (query i attends to keys 0..i)."""
    if isinstance(sz, bool) or not isinstance(sz, numbers.Integral) or sz < 0:  # NumPy ints too, as PyTorch's
        raise ValueError(f"generate_square_subsequent_mask: sz must be a non-negative int, got {sz!r}")
    like = zeros((), dtype=dtype, device=device)
    if not (like.dtype == dtypes.bool_ or dtypes.is_floating(like.dtype)):  # -inf has no integer form
        raise TypeError(f"generate_square_subsequent_mask: dtype must be floating point or bool, not {like.dtype}")
    return _causal_mask(like, int(sz), int(sz))


def _causal_mask(like, length, keys):
    """The additive top-left causal mask (length, keys): key j is kept for query i when j <= i."""
    xp = like._backend.xp
    dtype = like.data.dtype
    kept = xp.arange(keys)[None, :] <= xp.arange(length)[:, None]
    return constant(xp.where(kept, xp.asarray(0.0, dtype=dtype), xp.asarray(-math.inf, dtype=dtype)), like)


def _check_operands(op, query, key, value):
    for name, t in (("query", query), ("key", key), ("value", value)):
        floating(op, t, name)
        if t.ndim < 2:
            raise ValueError(f"{op}: {name} must have at least 2 dimensions, got shape {t.shape}")
    if not (query.dtype == key.dtype == value.dtype):
        raise TypeError(f"{op}: query, key and value must have one dtype, got {query.dtype}, {key.dtype} and "
                        f"{value.dtype}")


def _check_dropout(op, p):
    if not real(p) or not 0 <= p <= 1:
        raise ValueError(f"{op}: dropout_p must be a probability in [0, 1], got {p!r}")


def _repeated_heads(op, query, t, name):
    """Key or value with each of its Hk heads repeated Hq / Hk times in place (head h of
    the result is head h // (Hq / Hk) of ``t``), a broadcast then one copy."""
    if query.ndim < 3 or t.ndim < 3 or query.shape[-3] == t.shape[-3]:
        return t
    heads, own = query.shape[-3], t.shape[-3]
    if own == 0 or heads % own:
        raise ValueError(f"{op}: with enable_gqa=True the query's {heads} heads (axis -3) must be a multiple "
                         f"of the {name}'s {own}")
    shape = t.shape
    grouped = broadcast_to(reshape(t, shape[:-2] + (1,) + shape[-2:]), shape[:-2] + (heads // own,) + shape[-2:])
    return reshape(grouped, shape[:-3] + (heads,) + shape[-2:])


def _unbatched(op, query, key, value, key_padding_mask, attn_mask):
    """PyTorch's shape rules: a 3-D query is a batch (key, value 3-D, key_padding_mask 2-D),
    a 2-D one a single sequence (2-D and 1-D); attn_mask is 2-D or 3-D either way."""
    if query.ndim not in (2, 3):
        raise ValueError(f"{op}: query must be (L, N, E), (N, L, E) with batch_first, or unbatched (L, E), got "
                         f"shape {query.shape}")
    unbatched = query.ndim == 2
    want = query.ndim
    for name, t in (("key", key), ("value", value)):
        if t.ndim != want:
            raise ValueError(f"{op}: for a {want}-D query, {name} must be {want}-D, got shape {t.shape}")
    if key_padding_mask is not None and require_tensor(op, key_padding_mask, "key_padding_mask").ndim != want - 1:
        raise ValueError(f"{op}: for a {want}-D query, key_padding_mask must be {want - 1}-D, got shape "
                         f"{key_padding_mask.shape}")
    if attn_mask is not None and require_tensor(op, attn_mask, "attn_mask").ndim not in (2, 3):
        raise ValueError(f"{op}: attn_mask must be 2-D (L, S) or 3-D (N * num_heads, L, S), got shape "
                         f"{attn_mask.shape}")
    return unbatched


def _check_mha_shapes(op, query, key, value, embed_dim, num_heads, batch_axis, separate_kv_weights):
    """The shapes of query, key and value; ``separate_kv_weights`` is (k_proj_weight,
    v_proj_weight) when they project key and value (their inputs' sizes are kdim and
    vdim), None when in_proj_weight does (both sizes are embed_dim)."""
    if query.shape[2] != embed_dim:
        raise ValueError(f"{op}: expected a query of embed_dim {embed_dim} (last axis), got shape {query.shape}")
    if isinstance(num_heads, bool) or not isinstance(num_heads, numbers.Integral) or num_heads < 1:
        raise ValueError(f"{op}: num_heads must be a positive int, got {num_heads!r}")
    if embed_dim % num_heads:
        raise ValueError(f"{op}: embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
    if key.shape[:2] != value.shape[:2]:
        raise ValueError(f"{op}: key {key.shape} and value {value.shape} must agree in their sequence and "
                         "batch axes")
    if key.shape[batch_axis] != query.shape[batch_axis]:
        raise ValueError(f"{op}: query {query.shape} and key {key.shape} have different batch sizes "
                         f"(axis {batch_axis})")
    # Checked here so that a wrong feature size names the key or value, not the projection's GEMM.
    if separate_kv_weights is None:
        if key.shape[2] != embed_dim or value.shape[2] != embed_dim:
            raise ValueError(f"{op}: key {key.shape} and value {value.shape} must have one shape, with embed_dim "
                             f"{embed_dim} features (last axis); give kdim and vdim for other feature sizes")
        return
    for name, t, size_name, weight in zip(("key", "value"), (key, value), ("kdim", "vdim"), separate_kv_weights):
        if isinstance(weight, Tensor) and t.shape[2] != weight.shape[-1]:  # a missing weight: linear says so
            raise ValueError(f"{op}: expected a {name} of {size_name} {weight.shape[-1]} (last axis), got shape "
                             f"{t.shape}")


def _heads_mask(op, mask, batch, num_heads, length, keys):
    """attn_mask (L, S) as it is, (N * num_heads, L, S) as (N, num_heads, L, S)."""
    if mask.ndim == 2:
        if mask.shape != (length, keys):
            raise ValueError(f"{op}: a 2-D attn_mask must have shape {(length, keys)} (L, S), got {mask.shape}")
        return mask
    if mask.shape != (batch * num_heads, length, keys):
        raise ValueError(f"{op}: a 3-D attn_mask must have shape {(batch * num_heads, length, keys)} "
                         f"(N * num_heads, L, S), got {mask.shape}")
    return reshape(mask, (batch, num_heads, length, keys))


def _projections(query, key, value, weight, bias, separate, q_weight, k_weight, v_weight):
    """The query, key and value projections, as few GEMMs as the inputs allow (PyTorch's
    rule): one for self-attention (query is key is value), two when key is value."""
    if separate:
        weights = (q_weight, k_weight, v_weight)
    elif key is value and query is key:
        return tuple(split(linear(query, weight, bias), 3, axis=-1))
    elif key is value:
        embed_dim = query.shape[-1]
        w_q, w_kv = split(weight, [embed_dim])
        b_q, b_kv = (None, None) if bias is None else split(bias, [embed_dim])
        k, v = split(linear(key, w_kv, b_kv), 2, axis=-1)
        return linear(query, w_q, b_q), k, v
    else:
        weights = split(weight, 3)
    biases = (None, None, None) if bias is None else split(bias, 3)
    return tuple(linear(x, w, b) for x, w, b in zip((query, key, value), weights, biases))


def _one_step(shape, axis):
    """``shape`` with one step along ``axis``."""
    return shape[:axis] + (1,) + shape[axis + 1:]


def _one_more_key(mask):
    """A mask with one more key, taken (0) by every query: the bias_k or zero key."""
    if mask is None:
        return None
    column = constant(mask._backend.xp.zeros(_one_step(mask.shape, mask.ndim - 1), dtype=mask.data.dtype), mask)
    return concat([mask, column], axis=-1)


def _split_heads(x, num_heads, batch_first):
    """(N, T, E) or (T, N, E) -> (N, num_heads, T, E / num_heads)."""
    a, b, features = x.shape
    x = reshape(x, (a, b, num_heads, features // num_heads))
    return transpose(x, 0, 2, 1, 3) if batch_first else transpose(x, 1, 2, 0, 3)


def _merge_heads(x, batch_first):
    """(N, num_heads, T, D) -> (N, T, num_heads * D), or (T, N, ...) when not batch first."""
    batch, heads, length, head_dim = x.shape
    x = transpose(x, 0, 2, 1, 3) if batch_first else transpose(x, 2, 0, 1, 3)
    return reshape(x, x.shape[:2] + (heads * head_dim,))


def _check_static(op, name, static, like, batch, num_heads, head_dim):
    """A given key or value, to take the projected one's place: (N * num_heads, S, head_dim)."""
    if static is None:
        return
    require_tensor(op, static, name)
    if static.ndim != 3 or static.shape[0] != batch * num_heads or static.shape[2] != head_dim:
        raise ValueError(f"{op}: {name} must have shape (N * num_heads, S, head_dim) = ({batch * num_heads}, S, "
                         f"{head_dim}), got {static.shape}")
    if static.dtype != like.dtype:
        raise TypeError(f"{op}: {name} is {static.dtype} but the query is {like.dtype}")
