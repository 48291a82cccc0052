"""nn.functional: layers and losses as functions, with PyTorch's names and
arguments (``softmax`` and ``log_softmax`` take ``axis``, as every tensor op does).

Hot or numerically fragile ops call the fused primitives of
``autograd.ops.nn_fused`` (linear, the convolutions and their transposes, pooling, batch,
layer and RMS norm, pad, fold and unfold, interpolate, softmax, cross-entropy (also of a
linear layer's logits), the Huber loss, CTC, softplus, erf, the ELU family, the
piecewise-linear activations, binary cross-entropy); the rest are compositions of Tensor ops
with no gradient code of their own. Arguments are checked here, so a mistake
raises a clear error before any work is done.

One concept per module, mirroring ``nn.layers``: ``linear``, ``conv``,
``pooling`` (with ``pooling3d`` and ``fractional_pooling``), ``dropout``, ``activation``, ``normalization``, ``loss``,
``margin_loss``, ``ctc_loss``, ``linear_cross_entropy``, ``distance``, ``embedding`` (with ``one_hot``), ``embedding_bag``,
``lp_pooling``, ``attention``, ``padding``, ``folding``, ``resampling``, ``gumbel_softmax`` and ``grid_sampling``;
``arguments`` holds the checks they share (``loss_arguments`` the losses'), ``clamping`` the clamp that
keeps its gradient, and ``inplace`` PyTorch's ``inplace=True``. Use the functions from here:
``import nn.functional as F``, then ``F.linear(...)``.
"""
from .activation import (celu, elu, gelu, glu, hardshrink, hardsigmoid, hardswish, hardtanh, leaky_relu,
                         log_softmax, logsigmoid, mish, prelu, relu, relu6, rrelu, selu, sigmoid, silu, softmax,
                         softmin, softplus, softshrink, softsign, tanh, tanhshrink, threshold)
from .activation import celu_, elu_, hardtanh_, leaky_relu_, relu_, rrelu_, selu_, threshold_
from .conv import conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d
from .ctc_loss import ctc_loss
from .distance import cosine_similarity, normalize, pairwise_distance, pdist
from .dropout import dropout
from .dropout import alpha_dropout, dropout1d, dropout2d, dropout3d, feature_alpha_dropout
from .embedding import embedding, one_hot
from .embedding_bag import embedding_bag
from .grid_sampling import affine_grid, grid_sample
from .gumbel_softmax import gumbel_softmax
from .linear import bilinear, linear
from .linear_cross_entropy import linear_cross_entropy
from .loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, gaussian_nll_loss,
                   huber_loss, kl_div, l1_loss, mse_loss, nll_loss, poisson_nll_loss, smooth_l1_loss)
from .margin_loss import (cosine_embedding_loss, hinge_embedding_loss, margin_ranking_loss, multi_margin_loss,
                          multilabel_soft_margin_loss, soft_margin_loss, triplet_margin_loss)
from .margin_loss import multilabel_margin_loss, triplet_margin_with_distance_loss
from .folding import fold, unfold
from .padding import pad
from .resampling import channel_shuffle, interpolate, pixel_shuffle, pixel_unshuffle
from .normalization import batch_norm, group_norm, instance_norm, layer_norm
from .normalization import local_response_norm, rms_norm
from .pooling import (adaptive_avg_pool1d, adaptive_avg_pool2d, avg_pool1d, avg_pool2d, max_pool1d,
                      max_pool2d)
from .pooling import adaptive_max_pool1d, adaptive_max_pool2d, max_unpool1d, max_unpool2d
from .pooling3d import adaptive_avg_pool3d, adaptive_max_pool3d, avg_pool3d, max_pool3d, max_unpool3d
from .fractional_pooling import fractional_max_pool2d, fractional_max_pool3d
from .lp_pooling import lp_pool1d, lp_pool2d, lp_pool3d
from .attention import multi_head_attention_forward, scaled_dot_product_attention

__all__ = [
    "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "max_pool1d", "max_pool2d", "avg_pool1d",
    "avg_pool2d", "adaptive_avg_pool1d",
    "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "max_unpool1d", "max_unpool2d",
    "max_pool3d", "avg_pool3d", "adaptive_avg_pool3d", "adaptive_max_pool3d", "max_unpool3d",
    "fractional_max_pool2d", "fractional_max_pool3d",
    "dropout", "relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softplus",
    "softmax", "log_softmax", "relu6", "hardtanh", "prelu", "selu", "celu", "silu", "mish", "hardsigmoid",
    "hardswish", "logsigmoid", "softsign", "tanhshrink", "threshold", "hardshrink", "softshrink", "glu",
    "softmin", "batch_norm", "instance_norm", "group_norm", "layer_norm",
    "one_hot", "cross_entropy", "linear_cross_entropy", "nll_loss", "mse_loss", "l1_loss", "huber_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "embedding",
    "smooth_l1_loss", "kl_div", "poisson_nll_loss", "gaussian_nll_loss", "margin_ranking_loss",
    "hinge_embedding_loss", "soft_margin_loss", "cosine_embedding_loss", "triplet_margin_loss",
    "multilabel_soft_margin_loss", "multi_margin_loss", "cosine_similarity", "pairwise_distance", "normalize",
    "ctc_loss", "multilabel_margin_loss", "triplet_margin_with_distance_loss",
    "fold", "interpolate", "pad", "pixel_shuffle", "pixel_unshuffle", "unfold",
    "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout", "rms_norm",
    "local_response_norm",
    "scaled_dot_product_attention", "multi_head_attention_forward",
    "rrelu", "bilinear", "channel_shuffle", "lp_pool1d", "lp_pool2d", "lp_pool3d", "pdist", "gumbel_softmax",
    "embedding_bag", "affine_grid", "grid_sample",
    "relu_", "leaky_relu_", "rrelu_", "hardtanh_", "elu_", "selu_", "celu_", "threshold_",
]
