"""What a differential fuzz of the recurrent and attention layers against PyTorch found.

The fuzz ran RNN (tanh, relu), LSTM (with and without proj_size), GRU and their cells,
MultiheadAttention, scaled_dot_product_attention and the Transformer layers over random
option combinations, with PyTorch's weights loaded by state_dict key, comparing outputs,
final states and every gradient. Values and gradients all matched; the one finding is an
error message: a key or value of the wrong feature size was reported by the projection's
``linear`` ("linear: the input's last axis has size 5 ...") instead of naming the key or
value and the size MultiheadAttention expects (kdim, vdim or embed_dim)."""
import numpy as np
import pytest

import autograd as ag
import nn

from .torch_compare import assert_close_to_torch, assert_parameter_grads_match, float64_leaves, named_rng

E, HEADS, L, S, N = 4, 2, 3, 5, 2


# --- bug: a key or value of the wrong feature size was reported by `linear` ------------------

WRONG_FEATURES = {  # MultiheadAttention options, the key's and value's feature sizes, the message
    "key, packed projection": ({}, E + 1, E + 1, r"key \(5, 2, 5\) and value \(5, 2, 5\) must have one shape, "
                                                 r"with embed_dim 4 features"),
    "value, packed projection": ({}, E, E + 1, r"key \(5, 2, 4\) and value \(5, 2, 5\) must have one shape, "
                                               r"with embed_dim 4 features .*give kdim and vdim"),
    "key, kdim": ({"kdim": 3, "vdim": 6}, E, 6, r"expected a key of kdim 3 \(last axis\), got shape \(5, 2, 4\)"),
    "value, vdim": ({"kdim": 3, "vdim": 6}, 3, E, r"expected a value of vdim 6 \(last axis\), got shape \(5, 2, 4\)"),
}


@pytest.mark.parametrize("case", list(WRONG_FEATURES))
def test_multihead_attention_names_the_key_or_value_of_the_wrong_feature_size(device, torch, case):
    options, key_size, value_size, message = WRONG_FEATURES[case]
    theirs = torch.nn.MultiheadAttention(E, HEADS, **options)
    shapes = ((L, N, E), (S, N, key_size), (S, N, value_size))
    with pytest.raises((RuntimeError, AssertionError)):  # PyTorch refuses them too
        theirs(*(torch.zeros(*shape) for shape in shapes))
    ours = nn.MultiheadAttention(E, HEADS, **options)
    with pytest.raises(ValueError, match="MultiheadAttention: " + message):
        ours(*(ag.zeros(shape) for shape in shapes))


def test_decoder_memory_of_the_wrong_width_is_named_as_the_attentions_key(device):
    layer = nn.TransformerDecoderLayer(E, HEADS, dim_feedforward=8)
    with pytest.raises(ValueError, match=r"MultiheadAttention: key \(5, 2, 6\) and value \(5, 2, 6\) must have one "
                                         r"shape, with embed_dim 4"):
        layer(ag.zeros((L, N, E)), ag.zeros((S, N, E + 2)))


# --- checked behaviour that already matches PyTorch ------------------------------------------

@pytest.mark.parametrize("extra_key", ["add_bias_kv", "add_zero_attn"])
@pytest.mark.parametrize("average", [True, False])
def test_causal_hint_with_an_extra_key_attends_top_left_over_it_as_pytorch(device, torch, extra_key, average):
    """is_causal=True without a padding mask or weights: PyTorch leaves attn_mask unread and
    attends causally over the S + 1 keys (the appended bias or zero key is the last, so only
    the last query reaches it when L = S); with weights it reads the padded mask instead."""
    rng = named_rng(extra_key)
    theirs = torch.nn.MultiheadAttention(E, HEADS, dtype=torch.float64, **{extra_key: True})
    ours = nn.MultiheadAttention(E, HEADS, dtype=ag.float64, **{extra_key: True})
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((S, N, E))
    causal = np.triu(np.ones((S, S), dtype=bool), 1)
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
