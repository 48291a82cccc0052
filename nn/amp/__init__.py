"""Mixed-precision training, PyTorch's ``torch.amp``: ``autocast`` runs matrix products and
convolutions in float16 and losses and reductions in float32 (autograd/autocast_mode.py), and
``GradScaler`` scales the loss so that float16 gradients do not underflow."""
from autograd.autocast_mode import (autocast, custom_bwd, custom_fwd, get_autocast_dtype, is_autocast_available,
                                    is_autocast_enabled)

from .grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd", "get_autocast_dtype", "is_autocast_available",
           "is_autocast_enabled"]
