"""topograd's neural-network package: ``import nn``."""
from .module import Module
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter
from . import functional, init
from .layers.activation import (CELU, ELU, GELU, GLU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU,
                                LogSigmoid, LogSoftmax, Mish, PReLU, ReLU, ReLU6, RReLU, SELU, Sigmoid, SiLU,
                                Softmax, Softmax2d, Softmin, Softplus, Softshrink, Softsign, Tanh, Tanhshrink,
                                Threshold)
from .layers.container import Identity, ModuleDict, ModuleList, Sequential
from .layers.parameter_containers import ParameterDict, ParameterList
from .layers.conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .layers.dropout import AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d, FeatureAlphaDropout
from .layers.flatten import Flatten, Unflatten
from .layers.folding import Fold, Unfold
from .layers.padding import (CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d, ConstantPad2d,
                             ConstantPad3d, ReflectionPad1d, ReflectionPad2d, ReflectionPad3d, ReplicationPad1d,
                             ReplicationPad2d, ReplicationPad3d, ZeroPad1d, ZeroPad2d, ZeroPad3d)
from .layers.resampling import (ChannelShuffle, PixelShuffle, PixelUnshuffle, Upsample, UpsamplingBilinear2d,
                                UpsamplingNearest2d)
from .layers.linear import Bilinear, Linear
from .layers.lazy import (LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d, LazyConv1d, LazyConv2d, LazyConv3d,
                          LazyConvTranspose1d, LazyConvTranspose2d, LazyConvTranspose3d, LazyInstanceNorm1d,
                          LazyInstanceNorm2d, LazyInstanceNorm3d, LazyLinear)
from .layers.loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss,
                          NLLLoss)
from .layers.loss import (CosineEmbeddingLoss, GaussianNLLLoss, HingeEmbeddingLoss, KLDivLoss, MarginRankingLoss,
                          MultiLabelSoftMarginLoss, MultiMarginLoss, PoissonNLLLoss, SmoothL1Loss, SoftMarginLoss,
                          TripletMarginLoss)
from .layers.loss import CTCLoss, MultiLabelMarginLoss, TripletMarginWithDistanceLoss
from .layers.loss import LinearCrossEntropyLoss
from .functional.linear_cross_entropy import LinearCrossEntropyOptions
from .layers.distance import CosineSimilarity, PairwiseDistance
from .layers.normalization import (BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm1d, InstanceNorm2d,
                                   LayerNorm)
from .layers.normalization import BatchNorm3d, InstanceNorm3d, LocalResponseNorm, RMSNorm
from .layers.pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d,
                             MaxPool2d)
from .layers.pooling import AdaptiveMaxPool1d, AdaptiveMaxPool2d, MaxUnpool1d, MaxUnpool2d
from .layers.pooling import AdaptiveAvgPool3d, AdaptiveMaxPool3d, AvgPool3d, MaxPool3d, MaxUnpool3d
from .layers.pooling import LPPool1d, LPPool2d, LPPool3d
from .layers.pooling import FractionalMaxPool2d, FractionalMaxPool3d
from . import data, metrics
from .checkpoint import save, load, load_optimizer_state, load_scheduler_state, load_metadata, restore
from .training import fit, Callback, EarlyStopping, ModelCheckpoint, History
from .layers.embedding import Embedding
from .layers.embedding_bag import EmbeddingBag
from .layers.adaptive_softmax import AdaptiveLogSoftmaxWithLoss
from .layers.recurrent import GRU, LSTM, RNN, RNNBase
from .layers.rnn_cells import GRUCell, LSTMCell, RNNCell, RNNCellBase
from .layers.attention import MultiheadAttention
from .layers.transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                                 TransformerEncoderLayer)
from . import amp, optim, utils
