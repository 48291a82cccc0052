"""Findings of a differential fuzz of the Transformer stack against PyTorch in float64
(MultiheadAttention, scaled_dot_product_attention, the encoder and decoder layers and
stacks, nn.Transformer; values, attention weights, gradients of inputs, masks and every
parameter, state_dict keys): TransformerEncoder's ``is_causal`` and TransformerDecoder's
``tgt_is_causal`` of None look at the mask, as PyTorch's do, so a causal mask becomes a
hint and is left unread (a float mask that requires grad gets no gradient, as in PyTorch);
generate_square_subsequent_mask refuses an integer dtype, naming it."""
import numpy as np
import pytest

import autograd as ag
import nn
from tests.nn.torch_compare import assert_close_to_torch, assert_parameter_grads_match, float64_leaves, named_rng

E, HEADS, L, N = 4, 2, 3, 2


def _stack(torch, kind):
    """A one-layer TransformerEncoder or TransformerDecoder, PyTorch's weights in ours."""
    name = "TransformerEncoder" if kind == "encoder" else "TransformerDecoder"
    extra = {"enable_nested_tensor": False} if kind == "encoder" else {}  # its eval-mode path, not here
    theirs = getattr(torch.nn, name)(getattr(torch.nn, name + "Layer")(E, HEADS, 8, 0.0, dtype=torch.float64), 1,
                                     **extra)
    ours = getattr(nn, name)(getattr(nn, name + "Layer")(E, HEADS, 8, 0.0, dtype=ag.float64), 1)
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
        rng.standard_normal((L, N, E)), rng.standard_normal((L + 1, N, E)), mask))
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
    x, memory = rng.standard_normal((L, N, E)), rng.standard_normal((L + 1, N, E))
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
