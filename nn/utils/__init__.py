"""Training utilities: gradient clipping (``nn.utils.clip_grad_norm_``, ``clip_grad_value_``),
parameters as one flat vector (``parameters_to_vector``, ``vector_to_parameters``)
and packed sequences for the recurrent layers (``nn.utils.rnn``)."""
from . import rnn
from .clip_grad import clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm
from .parameter_vector import parameters_to_vector, vector_to_parameters
from .rnn import (PackedSequence, pack_padded_sequence, pack_sequence, pad_packed_sequence, pad_sequence,
                  unpack_sequence, unpad_sequence)

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm", "rnn",
           "parameters_to_vector", "vector_to_parameters",
           "PackedSequence", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence", "pad_sequence",
           "unpad_sequence", "unpack_sequence"]
