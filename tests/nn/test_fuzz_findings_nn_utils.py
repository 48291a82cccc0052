"""What a differential fuzz of nn.utils against PyTorch found.

The fuzz ran clip_grad_norm_ (norm types 2, 1, inf, -inf, 0, 0.5, 3, -1; float16, float32 and
float64 gradients mixed, gradients of None, a single tensor, error_if_nonfinite with inf and
NaN), clip_grad_value_, get_total_norm, clip_grads_with_norm_, parameters_to_vector and
vector_to_parameters, and nn.utils.rnn: pad_sequence (batch_first, padding_value,
padding_side), pack_sequence and pack_padded_sequence (enforce_sorted either way, lengths as
a list or a tensor), pad_packed_sequence (total_length), unpack_sequence, and
PackedSequences through RNN, LSTM (with proj_size) and GRU of 1-3 layers, bidirectional,
with and without h_0, comparing outputs, final states and every gradient. Those all matched.
What differed:

- pad_sequence and pack_sequence joined sequences of different dtypes by promotion (a
  float64 sequence made a float32 batch float64); PyTorch's result has the first
  sequence's dtype.
- pad_packed_sequence refused a one-element integer tensor as total_length (say
  ``lengths.max()``), which PyTorch takes.
- get_total_norm took integer tensors and gave an int64 or a float64 norm by the norm type;
  PyTorch refuses them.
"""
import numpy as np
import pytest

import autograd as ag
from nn.utils import get_total_norm
from nn.utils import rnn

from .torch_compare import named_rng


# --- bug: sequences of different dtypes were promoted, not put in the first one's -----------

@pytest.mark.parametrize("first, second", [("float32", "float64"), ("float64", "float32")])
@pytest.mark.parametrize("packed", [False, True], ids=["pad_sequence", "pack_sequence"])
def test_sequences_of_different_dtypes_take_the_first_ones(device, torch, first, second, packed):
    rng = named_rng("mixed dtypes")
    values = [rng.normal(size=(3, 2)).astype(first), rng.normal(size=(2, 2)).astype(second)]
    ours = [ag.tensor(v, requires_grad=True) for v in values]
    theirs = [torch.tensor(v, requires_grad=True) for v in values]
    if packed:
        out, ref = rnn.pack_sequence(ours).data, torch.nn.utils.rnn.pack_sequence(theirs).data
    else:
        out, ref = rnn.pad_sequence(ours, padding_value=-1.5), torch.nn.utils.rnn.pad_sequence(theirs, padding_value=-1.5)
    assert out.dtype == np.dtype(first) and str(ref.dtype) == f"torch.{first}"
    np.testing.assert_array_equal(out.numpy(), ref.detach().numpy())
    weights = rng.normal(size=ref.shape)
    (out * ag.tensor(weights.astype(first))).sum().backward()
    (ref * torch.tensor(weights.astype(first))).sum().backward()
    for x, y in zip(ours, theirs):  # each gradient back in its own sequence's dtype
        assert x.grad.dtype == x.dtype
        np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-6)


# --- bug: a one-element integer tensor was refused as total_length ------------------------

@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_packed_sequence_takes_an_integer_tensor_as_total_length(device, torch, batch_first):
    values = [np.arange(n * 2, dtype=np.float32).reshape(n, 2) + 1 for n in (1, 3, 2)]
    ours = rnn.pack_sequence([ag.tensor(v) for v in values], enforce_sorted=False)
    theirs = torch.nn.utils.rnn.pack_sequence([torch.tensor(v) for v in values], enforce_sorted=False)
    _, lengths = rnn.pad_packed_sequence(ours)
    out, out_lengths = rnn.pad_packed_sequence(ours, batch_first, -1.0, total_length=lengths.max() + 2)
    ref, _ = torch.nn.utils.rnn.pad_packed_sequence(theirs, batch_first, -1.0,
                                                    total_length=torch.tensor(5))
    assert out.shape == tuple(ref.shape) == ((3, 5, 2) if batch_first else (5, 3, 2))
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    assert out_lengths.tolist() == [1, 3, 2]


@pytest.mark.parametrize("total_length", [5.0, ag.tensor(5.0), True])
def test_pad_packed_sequence_refuses_a_total_length_that_is_no_integer(total_length):
    packed = rnn.pack_sequence([ag.ones((3, 2)), ag.ones((1, 2))])
    with pytest.raises(TypeError, match="pad_packed_sequence: total_length must be an int or None"):
        rnn.pad_packed_sequence(packed, total_length=total_length)


# --- bug: get_total_norm took integer tensors -------------------------------------------

@pytest.mark.parametrize("norm_type", [2.0, float("inf")])
def test_get_total_norm_refuses_integer_tensors(torch, norm_type):
    with pytest.raises(RuntimeError, match="floating point"):
        torch.nn.utils.get_total_norm([torch.ones(2), torch.tensor([1, 2])], norm_type)
    with pytest.raises(TypeError, match=r"get_total_norm: .*floating-point .* got a int64 tensor of shape \(2,\)"):
        get_total_norm([ag.ones(2), ag.tensor([1, 2])], norm_type)
