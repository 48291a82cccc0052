"""Fused primitives for neural networks: ops whose composition from simpler ops
would be slower (linear, conv2d, conv3d and their transposes, 2-D and 3-D pooling, an RNN, LSTM or GRU time step
or whole sequence, batch, layer and RMS norm, padding, fold and unfold, resampling along an axis,
the Huber and smooth L1 losses, the Euclidean pdist) or heavy on memory (cross-entropy of a linear layer's
logits, made a chunk of rows at a time) or numerically
fragile (softmax, log-softmax, cross-entropy from logits, softplus, binary
cross-entropy, the ELU family's expm1, the hardswish's gradient at NaN), and the
leaky ReLU and piecewise-linear activations (hardtanh, threshold, the shrinks, PReLU's parts),
whose gradients stay connected to their input, and the exact GELU (its erfc a block
at a time). One family per module; erfc and erf are re-exported from ops.exponential.

Each backward is written in Tensor ops, or is its own Function placed right under
the op (``Conv2dInputGrad`` under ``Conv2d``), or evaluates one formula on bare
arrays in a plain backward and on Tensors under create_graph (cross-entropy, the
recurrent steps), or under create_graph recomputes the op from recorded ones (the
recurrent sequences, linear_cross_entropy: see ``recompute``), so everything here is
twice differentiable. Argument checking lives
in ``nn.functional`` (and the recurrent layers); the lowercase functions here
take validated arguments.
The CTC loss (``ctc``, the alpha and beta recursions in log space) is the exception:
as PyTorch's, it has no second derivative in its input, and asking for one raises.
"""
from .adaptive_max_pool import adaptive_max_pool2d
from .axis_taps import Taps, resample_axis
from .activations import (elu, hardsigmoid_clip, hardswish, hardtanh, leaky_relu, shrink, sign_part, softplus,
                          tanhshrink, threshold)
from .batch_norm import batch_norm
from .binary_cross_entropy import binary_cross_entropy
from .convolution import conv2d
from .ctc import ctc_loss
from .fractional_max_pool import fractional_max_pool
from .gelu import gelu
from .conv_transpose import conv_transpose2d
from .huber import huber
from .layer_norm import layer_norm
from .linear import linear
from .linear_cross_entropy import linear_cross_entropy
from .padding import axis_runs as padding_axis_runs, pad
from .pdist import pdist
from .plane_indexing import max_unpool2d
from .sliding_blocks import fold, unfold
from .pooling import avg_pool2d, max_pool2d, max_pool2d_with_indices
from .rms_norm import rms_norm
from .running_stats_norm import running_stats_norm
from .recurrent import gru_step, lstm_step, rnn_step
from .recurrent_sequence import gru_sequence, lstm_sequence, rnn_sequence
from .softmax import cross_entropy, log_softmax, softmax
from .volume_convolution import conv3d, conv_transpose3d
from .volume_pooling import adaptive_max_pool3d, avg_pool3d, max_pool3d
from .window import VolumeWindow, Window
from ..exponential import erf, erfc  # (erfc for the exact GELU; they live there, as ag.erf and ag.erfc)

__all__ = ["VolumeWindow", "Window", "adaptive_max_pool2d", "adaptive_max_pool3d", "avg_pool2d", "avg_pool3d", "binary_cross_entropy",
           "conv2d", "conv3d", "conv_transpose2d", "conv_transpose3d", "cross_entropy", "ctc_loss", "elu", "erf", "erfc", "fractional_max_pool", "gelu", "gru_sequence", "gru_step", "hardsigmoid_clip", "hardswish", "hardtanh",
           "huber", "leaky_relu", "linear", "linear_cross_entropy", "log_softmax", "lstm_sequence", "lstm_step", "max_pool2d", "max_pool2d_with_indices",
           "max_pool3d", "max_unpool2d", "pdist", "rnn_sequence", "rnn_step", "shrink", "sign_part", "softmax", "softplus", "tanhshrink", "threshold",
           "Taps", "fold", "pad", "padding_axis_runs", "resample_axis", "unfold",
           "batch_norm", "layer_norm", "rms_norm", "running_stats_norm"]
