"""Attention against PyTorch in float64 (and once in float32): F.scaled_dot_product_attention
(bool, float and causal masks, broadcasting, a property test over shapes, custom scale,
grouped-query attention, fully masked rows), nn.MultiheadAttention (PyTorch's state dict
loaded into ours and ours into PyTorch's; outputs, attention weights, input, mask and
parameter gradients across masks, layouts, kdim/vdim, add_bias_kv, add_zero_attn, unbatched
inputs, need_weights and average_attn_weights), F.multi_head_attention_forward with static_k
and static_v, the Transformer layers and stacks (their layers independent deep copies);
gradcheck and gradgradcheck; dropout checked without PyTorch's random numbers; the errors."""
import copy
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import autograd as ag
import nn
import nn.functional as F
from tests.nn.torch_compare import assert_close_to_torch, assert_parameter_grads_match, float64_leaves, named_rng

RTOL, ATOL = 1e-10, 1e-12


def _leaves(torch, array):
    return ag.tensor(array, dtype=ag.float64, requires_grad=True), torch.tensor(array, requires_grad=True)


def _close(ours, theirs, rtol=RTOL):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=rtol, atol=ATOL)


def _backward_both(torch, outs, refs, rng):
    """One scalar on both sides: each element of each result weighted differently."""
    weights = [rng.standard_normal(tuple(r.shape)) for r in refs]
    sum((o * ag.tensor(w, dtype=ag.float64)).sum() for o, w in zip(outs, weights)).backward()
    sum((r * torch.tensor(w)).sum() for r, w in zip(refs, weights)).backward()


def _grads_close(pairs):
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-9, atol=ATOL)


def _params_close(ours, theirs):
    reference = dict(theirs.named_parameters())
    assert [n for n, _ in ours.named_parameters()] == list(reference)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), reference[name].grad.numpy(), rtol=1e-9, atol=ATOL,
                                   err_msg=name)


def _load_theirs(ours, theirs):
    """PyTorch's state dict into ours, after checking names, order and shapes agree."""
    assert [(n, tuple(p.shape)) for n, p in theirs.state_dict().items()] == \
        [(n, p.shape) for n, p in ours.state_dict().items()]
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})


# --- scaled_dot_product_attention ---------------------------------------------------------

def _bool(rng, shape, p=0.35):
    return rng.random(shape) > p


def _sdpa_cases(rng):
    """name -> (q, k, v shapes, attn_mask array or None, keyword arguments)."""
    m = _bool(rng, (3, 5))
    m[1] = False  # a fully masked query
    f = rng.standard_normal((2, 1, 3, 5))
    f[0, 0, 2] = -np.inf  # a fully masked query in one batch element only
    f[1, 0, 0, 1] = -np.inf
    return {
        "plain": ((2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 6), None, {}),
        "bool_mask": ((2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 6), m, {}),
        "float_mask_broadcast": ((2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 6), f, {}),
        "bool_mask_per_head": ((2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 6), _bool(rng, (2, 2, 3, 5)), {}),
        "causal_wide": ((2, 3, 4), (2, 5, 4), (2, 5, 3), None, {"is_causal": True}),
        "causal_tall": ((2, 5, 4), (2, 3, 4), (2, 3, 3), None, {"is_causal": True}),
        "scale": ((2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 6), None, {"scale": 0.3}),
        "gqa": ((2, 4, 3, 4), (2, 2, 5, 4), (2, 2, 5, 6), _bool(rng, (3, 5), 0.2), {"enable_gqa": True}),
        "broadcast_batch": ((2, 2, 3, 4), (1, 2, 5, 4), (2, 1, 5, 6), None, {}),
        "unbatched_2d": ((3, 4), (5, 4), (5, 6), _bool(rng, (3, 5), 0.2), {}),
    }


@pytest.mark.parametrize("case", list(_sdpa_cases(np.random.default_rng(0))))
def test_sdpa_matches_torch(device, torch, case):
    rng = named_rng(case)
    qs, ks, vs, mask, kwargs = _sdpa_cases(rng)[case]
    (q, tq), (k, tk), (v, tv) = (_leaves(torch, rng.standard_normal(s)) for s in (qs, ks, vs))
    masks = {}
    if mask is not None and mask.dtype == bool:
        masks = {"attn_mask": (ag.tensor(mask), torch.tensor(mask))}
    elif mask is not None:
        masks = {"attn_mask": _leaves(torch, mask)}
    out = F.scaled_dot_product_attention(q, k, v, **{n: m[0] for n, m in masks.items()}, **kwargs)
    ref = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, **{n: m[1] for n, m in masks.items()},
                                                           **kwargs)
    _close(out, ref)
    _backward_both(torch, [out], [ref], rng)
    pairs = [(q, tq), (k, tk), (v, tv)]
    if mask is not None and mask.dtype != bool:
        pairs.append(masks["attn_mask"])
    _grads_close(pairs)


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_sdpa_broadcasting_property(data, device, torch):
    """Random batch and head axes, lengths, masks of any shape that broadcasts to the
    scores (axes dropped or of size 1), causal or not, grouped heads or not."""
    draw = data.draw
    batch = draw(st.lists(st.integers(1, 3), min_size=0, max_size=2), label="batch")
    heads = draw(st.integers(1, 2), label="key heads")
    group = draw(st.integers(1, 2), label="query heads per key head")
    length, keys, features = (draw(st.integers(1, 4), label=n) for n in ("L", "S", "E"))
    kind = draw(st.sampled_from(["none", "bool", "float", "causal"]), label="mask")
    scores = tuple(batch) + (heads * group, length, keys)
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16), label="seed"))
    shapes = [tuple(batch) + (heads * group, length, features), tuple(batch) + (heads, keys, features),
              tuple(batch) + (heads, keys, 2)]
    (q, tq), (k, tk), (v, tv) = (_leaves(torch, rng.standard_normal(s)) for s in shapes)
    kwargs, ours_kw, theirs_kw = {"enable_gqa": group > 1, "scale": draw(st.sampled_from([None, 0.5]))}, {}, {}
    if kind == "causal":
        kwargs["is_causal"] = True
    elif kind != "none":
        dropped = draw(st.integers(0, len(scores) - 2), label="leading axes dropped")
        shape = tuple(d if draw(st.booleans()) else 1 for d in scores[dropped:-2]) + scores[-2:]
        if kind == "bool":
            mask = rng.random(shape) > 0.3
            ours_kw["attn_mask"], theirs_kw["attn_mask"] = ag.tensor(mask), torch.tensor(mask)
        else:
            mask = np.where(rng.random(shape) > 0.3, rng.standard_normal(shape), -np.inf)
            ours_kw["attn_mask"], theirs_kw["attn_mask"] = _leaves(torch, mask)
    out = F.scaled_dot_product_attention(q, k, v, **kwargs, **ours_kw)
    ref = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, **kwargs, **theirs_kw)
    _close(out, ref)
    _backward_both(torch, [out], [ref], rng)
    pairs = [(q, tq), (k, tk), (v, tv)]
    if kind == "float":
        pairs.append((ours_kw["attn_mask"], theirs_kw["attn_mask"]))
    _grads_close(pairs)


def test_sdpa_fully_masked_query_gives_zeros(device):
    """As PyTorch's on CPU (float64 and float32): zeros, and no gradient through that row."""
    rng = named_rng("fully_masked")
    q, k, v = (ag.tensor(rng.standard_normal(s), dtype=ag.float64, requires_grad=True)
               for s in ((1, 3, 4), (1, 5, 4), (1, 5, 2)))
    mask = np.ones((3, 5), dtype=bool)
    mask[1] = False
    for m in (ag.tensor(mask), ag.tensor(np.where(mask, 0.0, -np.inf))):
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=m)
        assert np.all(out.numpy()[0, 1] == 0) and np.all(np.isfinite(out.numpy()))
        q.grad = None
        out.sum().backward()
        assert np.all(q.grad.numpy()[0, 1] == 0) and np.all(np.isfinite(k.grad.numpy()))


def test_sdpa_gradcheck_and_gradgradcheck(device):
    rng = named_rng("sdpa_gradcheck")
    q, k, v = (ag.tensor(rng.standard_normal(s), dtype=ag.float64, requires_grad=True)
               for s in ((2, 3, 4), (2, 4, 4), (2, 4, 3)))
    bias = ag.tensor(rng.standard_normal((3, 4)), dtype=ag.float64, requires_grad=True)
    keep = ag.tensor(np.array([[1, 0, 1, 1], [0, 0, 0, 0], [1, 1, 0, 1]], dtype=bool))

    def with_float_mask(q, k, v, bias):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=0.7)

    def with_bool_mask(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=keep)

    assert ag.gradcheck(with_float_mask, [q, k, v, bias])
    assert ag.gradgradcheck(with_float_mask, [q, k, v, bias])
    assert ag.gradcheck(with_bool_mask, [q, k, v])
    assert ag.gradgradcheck(with_bool_mask, [q, k, v])
    assert ag.gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), [q, k, v])


def test_sdpa_dropout_is_unbiased_and_random(device):
    """Dropout on the weights: p=0 is no dropout, p=1 zeros everything, and in between
    each draw differs while the mean over many draws approaches the undropped output."""
    rng = named_rng("sdpa_dropout")
    q = ag.tensor(rng.standard_normal((1, 2, 4)), dtype=ag.float64)
    k = ag.tensor(rng.standard_normal((1, 6, 4)), dtype=ag.float64)
    v = ag.tensor(rng.standard_normal((1, 6, 3)), dtype=ag.float64)
    exact = F.scaled_dot_product_attention(q, k, v).numpy()
    np.testing.assert_array_equal(F.scaled_dot_product_attention(q, k, v, dropout_p=0.0).numpy(), exact)
    assert np.all(F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).numpy() == 0)
    draws = 4000  # one draw per batch element of a broadcast query
    many = F.scaled_dot_product_attention(ag.broadcast_to(q, (draws, 2, 4)), k, v, dropout_p=0.3).numpy()
    assert not np.allclose(many[0], many[1])
    spread = many.std(axis=0) / np.sqrt(draws)
    assert np.all(np.abs(many.mean(axis=0) - exact[0]) < 5 * spread + 1e-12)


def test_sdpa_errors(device):
    q, k, v = ag.zeros((2, 3, 4)), ag.zeros((2, 5, 4)), ag.zeros((2, 5, 6))
    sdpa = F.scaled_dot_product_attention
    with pytest.raises(ValueError, match="same last axis"):
        sdpa(q, ag.zeros((2, 5, 3)), v)
    with pytest.raises(ValueError, match="number of keys"):
        sdpa(q, k, ag.zeros((2, 4, 6)))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        sdpa(ag.zeros(4), k, v)
    with pytest.raises(ValueError, match="do not broadcast"):
        sdpa(ag.zeros((2, 4, 3, 4)), ag.zeros((2, 3, 5, 4)), ag.zeros((2, 3, 5, 6)))
    with pytest.raises(ValueError, match="multiple"):
        sdpa(ag.zeros((2, 4, 3, 4)), ag.zeros((2, 3, 5, 4)), ag.zeros((2, 3, 5, 6)), enable_gqa=True)
    with pytest.raises(ValueError, match="either attn_mask or is_causal"):
        sdpa(q, k, v, attn_mask=ag.ones((3, 5), dtype=ag.bool), is_causal=True)
    with pytest.raises(ValueError, match="does not broadcast"):
        sdpa(q, k, v, attn_mask=ag.ones((4, 5), dtype=ag.bool))
    with pytest.raises(TypeError, match="bool or floating"):
        sdpa(q, k, v, attn_mask=ag.ones((3, 5), dtype=ag.int64))
    with pytest.raises(TypeError, match="one dtype"):
        sdpa(q, k, v.astype(ag.float64))
    with pytest.raises(ValueError, match="dropout_p"):
        sdpa(q, k, v, dropout_p=1.5)
    with pytest.raises(TypeError, match="Tensor"):
        sdpa(q, k, np.zeros((2, 5, 6)))


# --- MultiheadAttention ----------------------------------------------------------------------

E, HEADS, N, L, S = 8, 2, 2, 3, 4

MHA_CASES = {
    # name: (constructor options, forward options, kind of inputs)
    "self": ({}, {}, "self"),
    "self_batch_first": ({"batch_first": True}, {}, "self"),
    "cross_key_is_value": ({}, {}, "kv"),
    "distinct": ({"batch_first": True}, {}, "distinct"),
    "bool_attn_mask": ({}, {"attn_mask": "bool2d"}, "self"),
    "float_attn_mask_3d": ({"batch_first": True}, {"attn_mask": "float3d"}, "distinct"),
    "key_padding": ({}, {"key_padding_mask": "bool"}, "kv"),
    "float_masks": ({"batch_first": True}, {"key_padding_mask": "float", "attn_mask": "float2d"}, "kv"),
    "causal": ({"batch_first": True}, {"attn_mask": "causal", "is_causal": True}, "self"),
    "causal_no_weights": ({}, {"attn_mask": "causal", "is_causal": True, "need_weights": False}, "self"),
    "kdim_vdim": ({"kdim": 5, "vdim": 3}, {"key_padding_mask": "bool"}, "distinct"),
    "bias_kv": ({"add_bias_kv": True, "batch_first": True}, {"attn_mask": "bool2d", "key_padding_mask": "bool"},
                "kv"),
    "zero_attn": ({"add_zero_attn": True}, {"attn_mask": "float2d", "key_padding_mask": "bool"}, "distinct"),
    "bias_kv_zero_attn_kdim": ({"add_bias_kv": True, "add_zero_attn": True, "kdim": 5, "vdim": 3,
                                "batch_first": True}, {"key_padding_mask": "bool"}, "distinct"),
    "no_bias": ({"bias": False}, {"attn_mask": "bool2d"}, "self"),
    "need_weights_false": ({"batch_first": True}, {"need_weights": False, "key_padding_mask": "bool"}, "kv"),
    "per_head_weights": ({}, {"average_attn_weights": False, "attn_mask": "float3d"}, "self"),
    "unbatched": ({"batch_first": True}, {"key_padding_mask": "bool", "attn_mask": "bool2d"}, "unbatched"),
    "unbatched_per_head": ({"kdim": 5, "vdim": 3}, {"average_attn_weights": False, "attn_mask": "float3d"},
                           "unbatched"),
    "fully_masked_no_weights": ({"batch_first": True}, {"need_weights": False, "key_padding_mask": "all"}, "kv"),
}


def _mha_inputs(rng, torch, options, kind):
    kdim, vdim = options.get("kdim", E), options.get("vdim", E)
    if kind == "unbatched":
        shapes = ((L, E), (S, kdim), (S, vdim))
    elif options.get("batch_first"):
        shapes = ((N, L, E), (N, S, kdim), (N, S, vdim))
    else:
        shapes = ((L, N, E), (S, N, kdim), (S, N, vdim))
    q = _leaves(torch, rng.standard_normal(shapes[0]))
    if kind == "self":
        return [q], (q, q, q)
    k = _leaves(torch, rng.standard_normal(shapes[1]))
    if kind == "kv":
        return [q, k], (q, k, k)
    v = _leaves(torch, rng.standard_normal(shapes[2]))
    return [q, k, v], (q, k, v)


def _mha_mask(rng, torch, what, batch, kind, keys=S):
    """(ours, theirs) for a named mask over ``keys`` keys; True means 'ignore' in MultiheadAttention."""
    if what == "bool2d":
        m = _bool(rng, (L, keys), 0.6)
        m[:, 0] = False
    elif what == "float2d":
        m = rng.standard_normal((L, keys))
        m[0, 1] = -np.inf
    elif what == "float3d":
        m = rng.standard_normal((batch * HEADS, L, keys))
    elif what == "causal":
        m = np.triu(np.full((L, keys), -np.inf), 1)
    elif what == "bool":
        m = _bool(rng, (batch, keys), 0.6)
        m[:, 0] = False
    elif what == "float":
        m = np.where(_bool(rng, (batch, keys), 0.6), -np.inf, rng.standard_normal((batch, keys)))
        m[:, 0] = 0.5
    else:  # "all": every key of the first batch element ignored
        m = np.zeros((batch, keys), dtype=bool)
        m[0] = True
    if kind == "unbatched" and what in ("bool", "float", "all"):
        m = m[0]
    if m.dtype == bool:
        return ag.tensor(m), torch.tensor(m)
    return _leaves(torch, m)  # a float mask is differentiable, in PyTorch as here


def _mha_pair(torch, **options):
    theirs = torch.nn.MultiheadAttention(E, HEADS, dtype=torch.float64, **options)
    ours = nn.MultiheadAttention(E, HEADS, dtype=ag.float64, **options)
    _load_theirs(ours, theirs)
    return ours, theirs


@pytest.mark.filterwarnings("ignore:Support for mismatched")  # PyTorch's, on a bool mask beside a float one
@pytest.mark.parametrize("case", list(MHA_CASES))
def test_multihead_attention_matches_torch(device, torch, case):
    options, forward, kind = MHA_CASES[case]
    rng = named_rng(case)
    ours, theirs = _mha_pair(torch, **options)
    leaves, (q, k, v) = _mha_inputs(rng, torch, options, kind)
    batch = 1 if kind == "unbatched" else N
    ours_kw, theirs_kw = {}, {}
    for name, value in forward.items():
        if name in ("attn_mask", "key_padding_mask"):
            keys = L if kind == "self" else S
            ours_kw[name], theirs_kw[name] = _mha_mask(rng, torch, value, batch, kind, keys)
        else:
            ours_kw[name] = theirs_kw[name] = value
    out, weights = ours(q[0], k[0], v[0], **ours_kw)
    ref, ref_weights = theirs(q[1], k[1], v[1], **theirs_kw)
    _close(out, ref)
    if ref_weights is None:
        assert weights is None
    else:
        _close(weights, ref_weights)
    _backward_both(torch, [out] + ([weights] if weights is not None else []),
                   [ref] + ([ref_weights] if ref_weights is not None else []), rng)
    _grads_close(leaves)
    _params_close(ours, theirs)
    for name in ("attn_mask", "key_padding_mask"):
        mine, reference = ours_kw.get(name), theirs_kw.get(name)
        if reference is not None and reference.requires_grad:
            if reference.grad is None:  # PyTorch leaves a causal hint's mask unread, as we do
                assert mine.grad is None
            else:
                np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-9, atol=ATOL)


def test_float32_matches_torch(device, torch):
    """The same computations in float32, to float32's precision."""
    rng = named_rng("float32")
    theirs = torch.nn.MultiheadAttention(E, HEADS, batch_first=True)
    ours = nn.MultiheadAttention(E, HEADS, batch_first=True)
    _load_theirs(ours, theirs)
    x = rng.standard_normal((N, L, E)).astype(np.float32)
    padding = np.array([[False, False, True], [False, True, True]])
    xo, xt = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, weights = ours(xo, xo, xo, key_padding_mask=ag.tensor(padding))
    ref, ref_weights = theirs(xt, xt, xt, key_padding_mask=torch.tensor(padding))
    assert out.dtype == ag.float32 and weights.dtype == ag.float32
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(weights.numpy(), ref_weights.detach().numpy(), rtol=1e-5, atol=1e-6)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.in_proj_weight.grad.numpy(), theirs.in_proj_weight.grad.numpy(), rtol=1e-4,
                               atol=1e-5)
    q, k, v = (rng.standard_normal(s).astype(np.float32) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 2)))
    out = F.scaled_dot_product_attention(*(ag.tensor(a) for a in (q, k, v)), is_causal=True)
    ref = torch.nn.functional.scaled_dot_product_attention(*(torch.tensor(a) for a in (q, k, v)), is_causal=True)
    assert out.dtype == ag.float32
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # -inf - -inf, as asked
def test_multihead_attention_fully_masked_row_follows_torch(device, torch):
    """PyTorch's two paths: NaN with need_weights=True, zeros without."""
    ours, theirs = _mha_pair(torch, batch_first=True)
    x = np.random.default_rng(1).standard_normal((2, 3, E))
    padding = np.zeros((2, 3), dtype=bool)
    padding[1] = True
    out, weights = ours(*[ag.tensor(x, dtype=ag.float64)] * 3, key_padding_mask=ag.tensor(padding))
    ref, ref_weights = theirs(*[torch.tensor(x)] * 3, key_padding_mask=torch.tensor(padding))
    assert np.all(np.isnan(out.numpy()[1])) and np.all(np.isnan(ref.detach().numpy()[1]))
    np.testing.assert_allclose(out.numpy()[0], ref.detach().numpy()[0], rtol=RTOL)
    np.testing.assert_array_equal(np.isnan(weights.numpy()), np.isnan(ref_weights.detach().numpy()))
    out, _ = ours(*[ag.tensor(x, dtype=ag.float64)] * 3, key_padding_mask=ag.tensor(padding), need_weights=False)
    np.testing.assert_allclose(out.numpy()[1], np.broadcast_to(ours.out_proj.bias.numpy(), (3, E)), rtol=RTOL)


def test_functional_multi_head_attention_with_static_keys_matches_torch(device, torch):
    """F.multi_head_attention_forward itself, with static_k and static_v in place of the
    projected key and value (PyTorch's incremental decoding), a zero key and key padding."""
    rng = named_rng("static_kv")
    head_dim, keys = E // HEADS, 5
    arrays = {"query": (L, N, E), "key": (S, N, E), "value": (S, N, E), "in_proj_weight": (3 * E, E),
              "in_proj_bias": (3 * E,), "out_proj_weight": (E, E), "out_proj_bias": (E,),
              "static_k": (N * HEADS, keys, head_dim), "static_v": (N * HEADS, keys, head_dim)}
    pairs = {name: _leaves(torch, rng.standard_normal(shape)) for name, shape in arrays.items()}
    padding = np.zeros((N, keys), dtype=bool)
    padding[1, :2] = True

    def run(functional, side, mask):
        a = {name: pair[side] for name, pair in pairs.items()}
        return functional(a["query"], a["key"], a["value"], E, HEADS, a["in_proj_weight"], a["in_proj_bias"],
                          None, None, True, 0.0, a["out_proj_weight"], a["out_proj_bias"], key_padding_mask=mask,
                          static_k=a["static_k"], static_v=a["static_v"], average_attn_weights=False)
    out, weights = run(F.multi_head_attention_forward, 0, ag.tensor(padding))
    ref, ref_weights = run(torch.nn.functional.multi_head_attention_forward, 1, torch.tensor(padding))
    _close(out, ref)
    _close(weights, ref_weights)
    _backward_both(torch, [out, weights], [ref, ref_weights], rng)
    _grads_close([pair for name, pair in pairs.items() if name not in ("key", "value")])
    with pytest.raises(ValueError, match="static_k must have shape"):
        F.multi_head_attention_forward(*(pairs[n][0] for n in ("query", "key", "value")), E, HEADS,
                                       pairs["in_proj_weight"][0], None, None, None, False, 0.0,
                                       pairs["out_proj_weight"][0], None, static_k=ag.zeros((N, keys, head_dim)))


def test_multihead_attention_state_dict_loads_into_torch(device, torch):
    ours = nn.MultiheadAttention(E, HEADS, add_bias_kv=True, kdim=5, vdim=3, dtype=ag.float64)
    theirs = torch.nn.MultiheadAttention(E, HEADS, add_bias_kv=True, kdim=5, vdim=3, dtype=torch.float64)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    rng = named_rng("ours_into_torch")
    q, k, v = (rng.standard_normal(s) for s in ((L, N, E), (S, N, 5), (S, N, 3)))
    out, weights = ours(*(ag.tensor(a, dtype=ag.float64) for a in (q, k, v)))
    ref, ref_weights = theirs(*(torch.tensor(a) for a in (q, k, v)))
    _close(out, ref)
    _close(weights, ref_weights)


def test_multihead_attention_initialization(device):
    ag.manual_seed(3)
    m = nn.MultiheadAttention(64, 4, add_bias_kv=True)
    assert [n for n, _ in m.named_parameters()] == ["in_proj_weight", "in_proj_bias", "bias_k", "bias_v",
                                                     "out_proj.weight", "out_proj.bias"]
    w = m.in_proj_weight.numpy()
    bound = np.sqrt(6 / (64 + 3 * 64))  # xavier_uniform_ on the stacked (3E, E) weight, as PyTorch
    assert w.shape == (192, 64) and np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert np.all(m.in_proj_bias.numpy() == 0) and np.all(m.out_proj.bias.numpy() == 0)
    assert np.abs(m.out_proj.weight.numpy()).max() <= 1 / np.sqrt(64)
    assert m.bias_k.shape == (1, 1, 64) and np.std(m.bias_k.numpy()) > 0
    separate = nn.MultiheadAttention(6, 2, kdim=4, vdim=5, bias=False)
    assert [(n, p.shape) for n, p in separate.named_parameters()] == [
        ("q_proj_weight", (6, 6)), ("k_proj_weight", (6, 4)), ("v_proj_weight", (6, 5)), ("out_proj.weight", (6, 6))]
    assert separate.in_proj_weight is None and separate.in_proj_bias is None and separate.bias_k is None


def test_multihead_attention_dropout(device):
    """Eval mode is dropout-free; training mode drops a fresh random set each call."""
    rng = named_rng("mha_dropout")
    m = nn.MultiheadAttention(E, HEADS, dropout=0.5, dtype=ag.float64)
    plain = nn.MultiheadAttention(E, HEADS, dtype=ag.float64)
    plain.load_state_dict(m.state_dict())
    x = ag.tensor(rng.standard_normal((L, N, E)), dtype=ag.float64)
    exact, exact_weights = plain(x, x, x)
    m.eval()
    out, weights = m(x, x, x)
    np.testing.assert_array_equal(out.numpy(), exact.numpy())
    np.testing.assert_array_equal(weights.numpy(), exact_weights.numpy())
    m.train()
    first, second = m(x, x, x)[0].numpy(), m(x, x, x, need_weights=False)[0].numpy()
    assert not np.allclose(first, exact.numpy()) and not np.allclose(first, second)


def test_multihead_attention_errors(device):
    with pytest.raises(ValueError, match="divisible by num_heads"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="num_heads"):
        nn.MultiheadAttention(8, 0)
    with pytest.raises(ValueError, match="dropout"):
        nn.MultiheadAttention(8, 2, dropout=2.0)
    m = nn.MultiheadAttention(E, HEADS)
    x = ag.zeros((L, N, E))
    with pytest.raises(ValueError, match="unbatched"):
        m(ag.zeros((1, L, N, E)), x, x)
    with pytest.raises(ValueError, match="must be 3-D"):
        m(x, ag.zeros((S, E)), ag.zeros((S, E)))
    with pytest.raises(ValueError, match="embed_dim 8"):
        m(ag.zeros((L, N, 6)), ag.zeros((S, N, 6)), ag.zeros((S, N, 6)))
    with pytest.raises(ValueError, match="one shape"):
        m(x, ag.zeros((S, N, E)), ag.zeros((S, N, E + 1)))
    with pytest.raises(ValueError, match="sequence and batch"):
        m(x, ag.zeros((S, N, E)), ag.zeros((S + 1, N, E)))
    with pytest.raises(ValueError, match="batch sizes"):
        m(x, ag.zeros((S, N + 1, E)), ag.zeros((S, N + 1, E)))
    with pytest.raises(ValueError, match=r"2-D attn_mask must have shape \(3, 3\)"):
        m(x, x, x, attn_mask=ag.zeros((L, L + 1)))
    with pytest.raises(ValueError, match="3-D attn_mask"):
        m(x, x, x, attn_mask=ag.zeros((N, L, L)))
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(2, 3\)"):
        m(x, x, x, key_padding_mask=ag.zeros((N, L + 1), dtype=ag.bool))
    with pytest.raises(ValueError, match="key_padding_mask must be 2-D"):
        m(x, x, x, key_padding_mask=ag.zeros(L, dtype=ag.bool))
    with pytest.raises(TypeError, match="bool or floating"):
        m(x, x, x, attn_mask=ag.zeros((L, L), dtype=ag.int64))
    with pytest.raises(ValueError, match="needs that attn_mask"):
        m(x, x, x, is_causal=True)


# --- Transformer ------------------------------------------------------------------------------

def _pair(torch, name, *args, **kwargs):
    theirs = getattr(torch.nn, name)(*args, dtype=torch.float64, **kwargs)
    ours = getattr(nn, name)(*args, dtype=ag.float64, **kwargs)
    _load_theirs(ours, theirs)
    return ours, theirs


ENCODER_CASES = {
    "post_norm_relu": ({}, {"src_key_padding_mask": "bool"}),
    "pre_norm_gelu_batch_first": ({"norm_first": True, "activation": "gelu", "batch_first": True},
                                  {"src_mask": "bool2d"}),
    "callable_activation_no_bias": ({"activation": "tanh", "bias": False}, {"src_mask": "float2d"}),
    "causal": ({"batch_first": True}, {"src_mask": "causal", "is_causal": True, "src_key_padding_mask": "bool"}),
    "unbatched": ({}, {"src_mask": "bool2d"}),
}


def _activation(torch, options):
    if options.get("activation") == "tanh":  # a callable on each side
        return dict(options, activation=ag.tanh), dict(options, activation=torch.tanh)
    return options, options


@pytest.mark.filterwarnings("ignore:Support for mismatched")
@pytest.mark.parametrize("case", list(ENCODER_CASES))
def test_transformer_encoder_layer_matches_torch(device, torch, case):
    options, forward = ENCODER_CASES[case]
    rng = named_rng(case)
    ours_options, theirs_options = _activation(torch, options)
    theirs = torch.nn.TransformerEncoderLayer(E, HEADS, 16, 0.0, dtype=torch.float64, **theirs_options)
    ours = nn.TransformerEncoderLayer(E, HEADS, 16, 0.0, dtype=ag.float64, **ours_options)
    _load_theirs(ours, theirs)
    shape = (L, E) if case == "unbatched" else (N, L, E) if options.get("batch_first") else (L, N, E)
    x, tx = _leaves(torch, rng.standard_normal(shape))
    ours_kw, theirs_kw = {}, {}
    for name, value in forward.items():
        if name == "is_causal":
            ours_kw[name] = theirs_kw[name] = value
            continue
        ours_kw[name], theirs_kw[name] = _mha_mask(rng, torch, value, N, "batched", keys=L)  # self-attention
    out, ref = ours(x, **ours_kw), theirs(tx, **theirs_kw)
    _close(out, ref)
    _backward_both(torch, [out], [ref], rng)
    _grads_close([(x, tx)])
    _params_close(ours, theirs)


def test_transformer_encoder_stack_matches_torch_and_copies_are_independent(device, torch):
    rng = named_rng("encoder_stack")
    theirs = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(E, HEADS, 16, 0.0, dtype=torch.float64), 2,
        norm=torch.nn.LayerNorm(E, dtype=torch.float64), enable_nested_tensor=False)
    layer = nn.TransformerEncoderLayer(E, HEADS, 16, 0.0, dtype=ag.float64)
    ours = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(E, dtype=ag.float64))
    first, second = ours.layers[0], ours.layers[1]
    assert first is not layer and first.linear1.weight is not second.linear1.weight
    np.testing.assert_array_equal(first.linear1.weight.numpy(), second.linear1.weight.numpy())
    assert first.self_attn.in_proj_weight._backend is layer.self_attn.in_proj_weight._backend
    _load_theirs(ours, theirs)
    x, tx = _leaves(torch, rng.standard_normal((L, N, E)))
    mask = np.triu(np.full((L, L), -np.inf), 1)
    out = ours(x, mask=ag.tensor(mask, dtype=ag.float64))
    ref = theirs(tx, mask=torch.tensor(mask))
    _close(out, ref)
    _backward_both(torch, [out], [ref], rng)
    _grads_close([(x, tx)])
    _params_close(ours, theirs)
    # Each copy trains on its own: a step on one leaves the other as it was.
    before = second.linear1.weight.numpy().copy()
    with ag.no_grad():
        first.linear1.weight -= 1.0
    np.testing.assert_array_equal(second.linear1.weight.numpy(), before)


def test_transformer_matches_torch(device, torch):
    """The whole encoder-decoder, with PyTorch's masks for the target and the memory."""
    rng = named_rng("transformer")
    kwargs = dict(d_model=E, nhead=HEADS, num_encoder_layers=1, num_decoder_layers=2, dim_feedforward=16,
                  dropout=0.0, batch_first=True)
    ours, theirs = _pair(torch, "Transformer", **kwargs)
    (src, tsrc), (tgt, ttgt) = _leaves(torch, rng.standard_normal((N, S, E))), \
        _leaves(torch, rng.standard_normal((N, L, E)))
    causal = nn.Transformer.generate_square_subsequent_mask(L, dtype=ag.float64)
    _close(causal, torch.nn.Transformer.generate_square_subsequent_mask(L, dtype=torch.float64))
    padding = _bool(rng, (N, S), 0.6)
    padding[:, 0] = False
    out = ours(src, tgt, tgt_mask=causal, memory_key_padding_mask=ag.tensor(padding), tgt_is_causal=True)
    ref = theirs(tsrc, ttgt, tgt_mask=torch.tensor(causal.numpy()), memory_key_padding_mask=torch.tensor(padding),
                 tgt_is_causal=True)
    _close(out, ref)
    _backward_both(torch, [out], [ref], rng)
    _grads_close([(src, tsrc), (tgt, ttgt)])
    _params_close(ours, theirs)


def test_transformer_decoder_layer_pre_norm_matches_torch(device, torch):
    rng = named_rng("decoder_layer")
    ours, theirs = _pair(torch, "TransformerDecoderLayer", E, HEADS, 16, 0.0, norm_first=True, activation="gelu")
    (tgt, ttgt), (mem, tmem) = _leaves(torch, rng.standard_normal((L, N, E))), \
        _leaves(torch, rng.standard_normal((S, N, E)))
    memory_mask = rng.standard_normal((L, S))
    out = ours(tgt, mem, memory_mask=ag.tensor(memory_mask, dtype=ag.float64))
    ref = theirs(ttgt, tmem, memory_mask=torch.tensor(memory_mask))
    _close(out, ref)
    _backward_both(torch, [out], [ref], rng)
    _grads_close([(tgt, ttgt), (mem, tmem)])
    _params_close(ours, theirs)


def test_transformer_layer_errors(device):
    with pytest.raises(ValueError, match="activation"):
        nn.TransformerEncoderLayer(E, HEADS, activation="swish")
    with pytest.raises(TypeError, match="activation"):
        nn.TransformerDecoderLayer(E, HEADS, activation=3)
    with pytest.raises(ValueError, match="divisible"):
        nn.TransformerEncoderLayer(10, 3)
    with pytest.raises(TypeError, match="Module"):
        nn.TransformerEncoder("layer", 2)
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, HEADS, 16), 1)
    with pytest.raises(ValueError, match="needs that attn_mask"):
        encoder(ag.zeros((L, N, E)), is_causal=True)
    model = nn.Transformer(E, HEADS, 1, 1, 16)
    with pytest.raises(ValueError, match="batch size"):
        model(ag.zeros((S, N, E)), ag.zeros((L, N + 1, E)))


def test_deepcopy_of_a_module_is_independent(device):
    """What TransformerEncoder's copies rely on: new parameters and buffers with the same
    values, the same device object, and no gradient shared."""
    layer = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    twin = copy.deepcopy(layer)
    assert twin[0].weight is not layer[0].weight and isinstance(twin[0].weight, nn.Parameter)
    assert twin[0].weight.requires_grad and twin[0].weight._backend is layer[0].weight._backend
    np.testing.assert_array_equal(twin[0].weight.numpy(), layer[0].weight.numpy())
    twin(ag.ones((2, 3))).sum().backward()
    assert layer[0].weight.grad is None and twin[0].weight.grad is not None
    assert int(twin[1].num_batches_tracked.item()) == 1 and int(layer[1].num_batches_tracked.item()) == 0


# --- scaled_dot_product_attention's mask, NumPy integer sizes -------------------------------------
# An scaled_dot_product_attention mask may broadcast only to the scores' shape, never widen it
# (PyTorch refuses such a mask; topograd used to return a larger output), and NumPy integer head
# counts and mask sizes work as in PyTorch.

WIDENING_MASKS = {
    # name: (query, key, value shapes, mask shape): each mask broadcasts with the scores,
    # but to a larger shape than theirs
    "axis_more_than_scores": ((3, 4), (5, 4), (5, 2), (2, 3, 5)),
    "size_where_scores_have_1": ((1, 1, 3, 4), (1, 1, 5, 4), (1, 1, 5, 2), (2, 1, 5)),
    "axis_more_with_grouped_heads": ((2, 4, 3, 4), (2, 2, 5, 4), (2, 2, 5, 2), (2, 1, 4, 1, 5)),
}


@pytest.mark.parametrize("case", list(WIDENING_MASKS))
@pytest.mark.parametrize("mask_kind", ["bool", "float"])
def test_sdpa_refuses_a_mask_that_widens_the_scores(device, torch, case, mask_kind):
    qs, ks, vs, mask_shape = WIDENING_MASKS[case]
    rng = named_rng(case)
    arrays = [rng.standard_normal(s) for s in (qs, ks, vs)]
    mask = rng.random(mask_shape) > 0.3 if mask_kind == "bool" else rng.standard_normal(mask_shape)
    gqa = {"enable_gqa": qs[-3] != ks[-3]} if len(qs) > 3 else {}
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        torch.nn.functional.scaled_dot_product_attention(*(torch.tensor(a) for a in arrays),
                                                         attn_mask=torch.tensor(mask), **gqa)
    scores = qs[:-1] + (ks[-2],)
    message = f"attn_mask of shape {mask_shape} does not broadcast to the scores' shape {scores}"
    with pytest.raises(ValueError, match=re.escape(message)):
        F.scaled_dot_product_attention(*(ag.tensor(a) for a in arrays), attn_mask=ag.tensor(mask), **gqa)


def test_sdpa_mask_with_size_one_axes_still_broadcasts(device, torch):
    """The check refuses only widening: a mask of fewer axes, or of 1 where the scores
    have more, still broadcasts (the scores here are (2, 2, 3, 5))."""
    rng = named_rng("sdpa_narrow_mask")
    (q, tq), (k, tk), (v, tv) = (float64_leaves(torch, rng.standard_normal(s))
                                 for s in ((2, 2, 3, 4), (2, 1, 5, 4), (1, 2, 5, 2)))
    mask, tmask = float64_leaves(torch, rng.standard_normal((2, 1, 1, 5)))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    ref = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=tmask)
    assert_close_to_torch(out, ref)
    weights = rng.standard_normal(out.shape)
    (out * ag.tensor(weights)).sum().backward()
    (ref * torch.tensor(weights)).sum().backward()
    for ours, theirs in ((q, tq), (k, tk), (v, tv), (mask, tmask)):
        assert_close_to_torch(ours.grad, theirs.grad, rtol=1e-9)


def test_multihead_attention_takes_numpy_int_head_count(device, torch):
    """nn.MultiheadAttention(E, np.int64(2)) was built, then refused by its own forward;
    PyTorch's runs, as do the encoder layer and the functional form."""
    rng = named_rng("mha_numpy_heads")
    theirs = torch.nn.MultiheadAttention(4, np.int64(2), dtype=torch.float64)
    ours = nn.MultiheadAttention(4, np.int64(2), dtype=ag.float64)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x, tx = float64_leaves(torch, rng.standard_normal((3, 2, 4)))
    out, weights = ours(x, x, x)
    ref, ref_weights = theirs(tx, tx, tx)
    assert_close_to_torch(out, ref)
    assert_close_to_torch(weights, ref_weights)
    functional = F.multi_head_attention_forward(
        x, x, x, 4, np.int64(2), ours.in_proj_weight, ours.in_proj_bias, None, None, False, 0.0,
        ours.out_proj.weight, ours.out_proj.bias, training=False)[0]
    assert_close_to_torch(functional, ref)
    layer = nn.TransformerEncoderLayer(4, np.int64(2), 8, 0.0, dtype=ag.float64)
    assert layer(x).shape == (3, 2, 4)


def test_generate_square_subsequent_mask_takes_numpy_int(device, torch):
    size = np.int64(3)
    ours = nn.Transformer.generate_square_subsequent_mask(size, dtype=ag.float64)
    assert_close_to_torch(ours, torch.nn.Transformer.generate_square_subsequent_mask(size, dtype=torch.float64))
    with pytest.raises(ValueError, match="sz must be a non-negative int, got 3.0"):
        nn.Transformer.generate_square_subsequent_mask(3.0)


# --- MultiheadAttention and the Transformer stacks with a smaller embedding and more keys ----------
# E_SMALL features and S_LONG keys (HEADS, L and N as above)
E_SMALL, S_LONG = 4, 5

# --- bug: a key or value of the wrong feature size was reported by `linear` ------------------

WRONG_FEATURES = {  # MultiheadAttention options, the key's and value's feature sizes, the message
    "key, packed projection": ({}, E_SMALL + 1, E_SMALL + 1,
                               r"key \(5, 2, 5\) and value \(5, 2, 5\) must have one shape, with embed_dim 4 features"),
    "value, packed projection": ({}, E_SMALL, E_SMALL + 1,
                                 r"key \(5, 2, 4\) and value \(5, 2, 5\) must have one shape, "
                                 r"with embed_dim 4 features .*give kdim and vdim"),
    "key, kdim": ({"kdim": 3, "vdim": 6}, E_SMALL, 6,
                  r"expected a key of kdim 3 \(last axis\), got shape \(5, 2, 4\)"),
    "value, vdim": ({"kdim": 3, "vdim": 6}, 3, E_SMALL,
                    r"expected a value of vdim 6 \(last axis\), got shape \(5, 2, 4\)"),
}


@pytest.mark.parametrize("case", list(WRONG_FEATURES))
def test_multihead_attention_names_the_key_or_value_of_the_wrong_feature_size(device, torch, case):
    options, key_size, value_size, message = WRONG_FEATURES[case]
    theirs = torch.nn.MultiheadAttention(E_SMALL, HEADS, **options)
    shapes = ((L, N, E_SMALL), (S_LONG, N, key_size), (S_LONG, N, value_size))
    with pytest.raises((RuntimeError, AssertionError)):  # PyTorch refuses them too
        theirs(*(torch.zeros(*shape) for shape in shapes))
    ours = nn.MultiheadAttention(E_SMALL, HEADS, **options)
    with pytest.raises(ValueError, match="MultiheadAttention: " + message):
        ours(*(ag.zeros(shape) for shape in shapes))


def test_decoder_memory_of_the_wrong_width_is_named_as_the_attentions_key(device):
    layer = nn.TransformerDecoderLayer(E_SMALL, HEADS, dim_feedforward=8)
    with pytest.raises(ValueError, match=r"MultiheadAttention: key \(5, 2, 6\) and value \(5, 2, 6\) must have one "
                                         r"shape, with embed_dim 4"):
        layer(ag.zeros((L, N, E_SMALL)), ag.zeros((S_LONG, N, E_SMALL + 2)))


# --- checked behaviour that already matches PyTorch ------------------------------------------

@pytest.mark.parametrize("extra_key", ["add_bias_kv", "add_zero_attn"])
@pytest.mark.parametrize("average", [True, False])
def test_causal_hint_with_an_extra_key_attends_top_left_over_it_as_pytorch(device, torch, extra_key, average):
    """is_causal=True without a padding mask or weights: PyTorch leaves attn_mask unread and
    attends causally over the S + 1 keys (the appended bias or zero key is the last, so only
    the last query reaches it when L = S); with weights it reads the padded mask instead."""
    rng = named_rng(extra_key)
    theirs = torch.nn.MultiheadAttention(E_SMALL, HEADS, dtype=torch.float64, **{extra_key: True})
    ours = nn.MultiheadAttention(E_SMALL, HEADS, dtype=ag.float64, **{extra_key: True})
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((S_LONG, N, E_SMALL))
    causal = np.triu(np.ones((S_LONG, S_LONG), dtype=bool), 1)
    for need_weights in (False, True):
        xo, xt = float64_leaves(torch, x)
        out, weights = ours(xo, xo, xo, attn_mask=ag.tensor(causal), is_causal=True, need_weights=need_weights,
                            average_attn_weights=average)
        ref, ref_weights = theirs(xt, xt, xt, attn_mask=torch.tensor(causal), is_causal=True,
                                  need_weights=need_weights, average_attn_weights=average)
        assert_close_to_torch(out, ref)
        assert (weights is None) == (ref_weights is None)
        if weights is not None:
            assert_close_to_torch(weights, ref_weights)
        r = rng.standard_normal(tuple(ref.shape))
        (out * ag.tensor(r, dtype=ag.float64)).sum().backward()
        (ref * torch.from_numpy(r)).sum().backward()
        np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
        assert_parameter_grads_match(ours, theirs, rtol=1e-10)
        ours.zero_grad()
        theirs.zero_grad()


# --- the Transformer stacks' causal hints ---------------------------------------------------------
# TransformerEncoder's ``is_causal`` and TransformerDecoder's ``tgt_is_causal`` of None look at the
# mask, as PyTorch's do, so a causal mask becomes a hint and is left unread (a float mask that
# requires grad gets no gradient, as in PyTorch); generate_square_subsequent_mask refuses an
# integer dtype, naming it.

def _stack(torch, kind):
    """A one-layer TransformerEncoder or TransformerDecoder, PyTorch's weights in ours."""
    name = "TransformerEncoder" if kind == "encoder" else "TransformerDecoder"
    extra = {"enable_nested_tensor": False} if kind == "encoder" else {}  # its eval-mode path, not here
    theirs = getattr(torch.nn, name)(getattr(torch.nn, name + "Layer")(E_SMALL, HEADS, 8, 0.0, dtype=torch.float64), 1,
                                     **extra)
    ours = getattr(nn, name)(getattr(nn, name + "Layer")(E_SMALL, HEADS, 8, 0.0, dtype=ag.float64), 1)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _run(kind, model, x, memory, mask, **hint):
    if kind == "encoder":
        return model(x, mask=mask, **({"is_causal": hint["hint"]} if "hint" in hint else {}))
    return model(x, memory, tgt_mask=mask, **({"tgt_is_causal": hint["hint"]} if "hint" in hint else {}))


@pytest.mark.parametrize("kind", ["encoder", "decoder"])
@pytest.mark.parametrize("mask_kind", ["causal", "not_causal", "causal_with_hint_false"])
def test_stack_reads_a_causal_mask_as_a_hint(device, torch, kind, mask_kind):
    """With no hint (None), PyTorch compares the mask with the causal one and, when they
    are equal, passes is_causal=True down, so the attention leaves the mask unread: a
    float mask that requires grad gets no gradient. topograd read the mask (same output,
    but a gradient where PyTorch has None). A mask that differs, or an explicit
    is_causal=False, is read by both."""
    rng = named_rng(f"{kind}_{mask_kind}")
    ours, theirs = _stack(torch, kind)
    mask = np.triu(np.full((L, L), -np.inf), 1)
    if mask_kind == "not_causal":
        mask[2, 0] = -np.inf
    hint = {"hint": False} if mask_kind == "causal_with_hint_false" else {}
    (x, tx), (memory, tmemory), (m, tm) = (float64_leaves(torch, a) for a in (
        rng.standard_normal((L, N, E_SMALL)), rng.standard_normal((L + 1, N, E_SMALL)), mask))
    out, ref = _run(kind, ours, x, memory, m, **hint), _run(kind, theirs, tx, tmemory, tm, **hint)
    assert_close_to_torch(out, ref)
    weights = rng.standard_normal(out.shape)
    (out * ag.tensor(weights)).sum().backward()
    (ref * torch.tensor(weights)).sum().backward()
    assert_close_to_torch(x.grad, tx.grad, rtol=1e-9)
    if kind == "decoder":
        assert_close_to_torch(memory.grad, tmemory.grad, rtol=1e-9)
    assert_parameter_grads_match(ours, theirs, rtol=1e-9)
    if mask_kind == "causal":
        assert tm.grad is None and m.grad is None
    else:
        assert tm.grad is not None and np.any(tm.grad.numpy() != 0)
        assert_close_to_torch(m.grad, tm.grad, rtol=1e-9)


HINT_MASKS = {
    # name: (mask array or None), each given with no hint (None)
    "float_causal": np.triu(np.full((L, L), -np.inf), 1),
    "bool_causal": np.triu(np.ones((L, L), dtype=bool), 1),
    "bool_not_causal": np.tril(np.ones((L, L), dtype=bool), -1),
    "float_zeros": np.zeros((L, L)),
    "per_head_causal": np.broadcast_to(np.triu(np.full((L, L), -np.inf), 1), (N * HEADS, L, L)).copy(),
    "no_mask": None,
}


@pytest.mark.parametrize("kind", ["encoder", "decoder"])
@pytest.mark.filterwarnings("ignore:Support for mismatched")  # PyTorch's, on a bool mask beside a float one
@pytest.mark.parametrize("case", list(HINT_MASKS))
@pytest.mark.parametrize("padded", [False, True])
def test_stack_passes_pytorch_is_causal_hint_to_its_layers(device, torch, kind, case, padded):
    """The hint each layer gets is PyTorch's (only a 2-D mask equal to the causal one,
    bool or float, becomes True), and the output is PyTorch's, with a key padding mask
    (which makes the attention read the mask anyway) and without."""
    rng = named_rng(f"{kind}_{case}_{padded}")
    ours, theirs = _stack(torch, kind)
    hint = "is_causal" if kind == "encoder" else "tgt_is_causal"
    seen = {}
    ours.layers[0].register_forward_pre_hook(lambda m, args, kwargs: seen.update(ours=kwargs[hint]), with_kwargs=True)
    theirs.layers[0].register_forward_pre_hook(lambda m, args, kwargs: seen.update(theirs=kwargs[hint]),
                                               with_kwargs=True)
    mask = HINT_MASKS[case]
    padding = np.array([[False, False, True], [False, True, True]]) if padded else None
    x, memory = rng.standard_normal((L, N, E_SMALL)), rng.standard_normal((L + 1, N, E_SMALL))
    results = []
    for lib, tensor in ((ag, lambda a: ag.tensor(a, dtype=ag.float64 if a.dtype != bool else None)),
                        (torch, torch.tensor)):
        model = ours if lib is ag else theirs
        kwargs = {} if padding is None else {
            "src_key_padding_mask" if kind == "encoder" else "tgt_key_padding_mask": tensor(padding)}
        m = None if mask is None else tensor(mask)
        results.append(model(tensor(x), mask=m, **kwargs) if kind == "encoder" else
                       model(tensor(x), tensor(memory), tgt_mask=m, **kwargs))
    assert_close_to_torch(*results)
    assert seen["ours"] is seen["theirs"] is (case in ("float_causal", "bool_causal"))


def _stack_with_layout(torch, kind, batch_first):
    name = "TransformerEncoder" if kind == "encoder" else "TransformerDecoder"
    extra = {"enable_nested_tensor": False} if kind == "encoder" else {}
    layer = dict(dim_feedforward=8, dropout=0.0, batch_first=batch_first)
    theirs = getattr(torch.nn, name)(getattr(torch.nn, name + "Layer")(E_SMALL, HEADS, dtype=torch.float64, **layer),
                                     1, **extra)
    ours = getattr(nn, name)(getattr(nn, name + "Layer")(E_SMALL, HEADS, dtype=ag.float64, **layer), 1)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


STACK_LAYOUTS = {  # the input shape for `steps` steps (a batch of 5, the mask size that is wrong), batch_first
    "seq_first": (lambda steps: (steps, N + 3, E_SMALL), False),
    "batch_first": (lambda steps: (N + 3, steps, E_SMALL), True),
    "unbatched": (lambda steps: (steps, E_SMALL), False),
}


@pytest.mark.parametrize("kind", ["encoder", "decoder"])
@pytest.mark.parametrize("layout", list(STACK_LAYOUTS))
def test_stack_refuses_a_causal_mask_of_another_size_than_the_sequence_as_pytorch(device, torch, kind, layout):
    """With no hint, PyTorch compares the mask with the causal mask of the sequence's own
    length, so a causal mask made for a longer sequence (generate_square_subsequent_mask(5)
    for 4 steps) is no hint, is read and refused for its shape. topograd compared the mask
    with a causal mask of the mask's size, took it as a hint and left it unread: it ran
    causally where PyTorch raises. A mask of the right size is still a hint in every layout."""
    shape, batch_first = STACK_LAYOUTS[layout]
    ours, theirs = _stack_with_layout(torch, kind, batch_first)
    steps = 4
    rng = named_rng(f"causal_size_{kind}_{layout}")
    x, memory = rng.standard_normal(shape(steps)), rng.standard_normal(shape(steps + 2))
    for lib, tensor in ((torch, torch.tensor), (ag, lambda a: ag.tensor(a, dtype=ag.float64))):
        model = theirs if lib is torch else ours
        mask = lib.nn.Transformer.generate_square_subsequent_mask(steps + 1, dtype=lib.float64) if lib is torch \
            else nn.Transformer.generate_square_subsequent_mask(steps + 1, dtype=ag.float64)
        error = RuntimeError if lib is torch else ValueError
        with pytest.raises(error, match=r"attn_mask.*5, 5.*4, 4|attn_mask.*4, 4.*5, 5"):
            _run(kind, model, tensor(x), tensor(memory), mask)
    seen = {}
    hint = "is_causal" if kind == "encoder" else "tgt_is_causal"
    for model, side in ((ours, "ours"), (theirs, "theirs")):
        model.layers[0].register_forward_pre_hook(lambda m, args, kwargs, side=side: seen.update({side: kwargs[hint]}),
                                                  with_kwargs=True)
    out = _run(kind, ours, ag.tensor(x, dtype=ag.float64), ag.tensor(memory, dtype=ag.float64),
               nn.Transformer.generate_square_subsequent_mask(steps, dtype=ag.float64))
    ref = _run(kind, theirs, torch.tensor(x), torch.tensor(memory),
               torch.nn.Transformer.generate_square_subsequent_mask(steps, dtype=torch.float64))
    assert_close_to_torch(out, ref)
    assert seen["ours"] is seen["theirs"] is True


def test_generate_square_subsequent_mask_refuses_an_integer_dtype(device, torch):
    """-inf has no integer form: PyTorch refuses it (an overflow), and so does topograd,
    naming the dtype, where NumPy's OverflowError came from deep inside."""
    with pytest.raises(RuntimeError, match="overflow"):
        torch.nn.Transformer.generate_square_subsequent_mask(3, dtype=torch.int64)
    with pytest.raises(TypeError, match="dtype must be floating point or bool, not int64"):
        nn.Transformer.generate_square_subsequent_mask(3, dtype=ag.int64)
    bool_mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=ag.bool)
    np.testing.assert_array_equal(bool_mask.numpy(),
                                  torch.nn.Transformer.generate_square_subsequent_mask(3, dtype=torch.bool).numpy())
