"""``nn.utils.checkpoint``: activation checkpointing, which lives in ``autograd.checkpoint`` (it is
the engine's, not a layer's); here under PyTorch's path, ``from nn.utils.checkpoint import checkpoint``."""
from autograd.checkpoint import CheckpointError, checkpoint, checkpoint_sequential

__all__ = ["CheckpointError", "checkpoint", "checkpoint_sequential"]
