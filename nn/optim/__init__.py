"""Optimizers and learning-rate schedulers with PyTorch's API:
``opt = nn.optim.Adam(model.parameters(), lr=1e-3)``, then ``opt.zero_grad()``,
``loss.backward()``, ``opt.step()`` in the training loop."""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]
