"""Training utilities: gradient clipping (``nn.utils.clip_grad_norm_``, ``clip_grad_value_``),
parameters as one flat vector (``parameters_to_vector``, ``vector_to_parameters``),
packed sequences for the recurrent layers (``nn.utils.rnn``), parametrizations
(``nn.utils.parametrize``, ``nn.utils.parametrizations``), the older hook-based
``weight_norm`` and ``spectral_norm``, pruning (``nn.utils.prune``), batch norm folded into
the layer before it (``nn.utils.fusion``, its functions here too, as in PyTorch), and
``nn.utils.stateless.functional_call`` (a module called with other tensors in place of its
parameters and buffers). ``nn.utils.checkpoint`` is ``ag.checkpoint`` (activation checkpointing,
PyTorch's ``torch.utils.checkpoint``)."""
from . import checkpoint, fusion, parametrizations, parametrize, prune, rnn, stateless
from .clip_grad import clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm
from .fusion import fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval, fuse_linear_bn_weights
from .parameter_vector import parameters_to_vector, vector_to_parameters
from .spectral_norm import remove_spectral_norm, spectral_norm
from .weight_norm import remove_weight_norm, weight_norm
from .rnn import (PackedSequence, pack_padded_sequence, pack_sequence, pad_packed_sequence, pad_sequence,
                  unpack_sequence, unpad_sequence)

__all__ = ["checkpoint", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "fusion", "get_total_norm",
           "fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights",
           "rnn",
           "parametrize", "parametrizations", "prune", "remove_spectral_norm", "remove_weight_norm",
           "spectral_norm", "stateless", "weight_norm",
           "parameters_to_vector", "vector_to_parameters",
           "PackedSequence", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence", "pad_sequence",
           "unpad_sequence", "unpack_sequence"]
