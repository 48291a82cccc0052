"""Mixed-precision training, PyTorch's ``torch.amp``: ``nn.amp.GradScaler`` scales the loss so
that float16 gradients do not underflow (autocast is not written yet)."""
from .grad_scaler import GradScaler

__all__ = ["GradScaler"]
