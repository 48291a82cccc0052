"""topograd's neural-network package: ``import nn``."""
from .module import Module
from .parameter import Parameter
from . import data, metrics
from .checkpoint import save, load, load_optimizer_state, load_metadata, restore
from .training import fit, Callback, EarlyStopping, ModelCheckpoint, History
from .layers.embedding import Embedding
from .layers.recurrent import GRU, LSTM, RNN, RNNBase
from . import optim, utils
