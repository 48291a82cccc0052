"""topograd's neural-network package: ``import nn``."""
from .module import Module
from .parameter import Parameter
