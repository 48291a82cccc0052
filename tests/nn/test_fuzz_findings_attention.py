"""Findings of a differential fuzz of the attention code against PyTorch: an
scaled_dot_product_attention mask may broadcast only to the scores' shape, never widen
it (PyTorch refuses such a mask; topograd used to return a larger output), and NumPy
integer head counts and mask sizes work as in PyTorch."""
import re

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from tests.nn.torch_compare import assert_close_to_torch, float64_leaves, named_rng

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
