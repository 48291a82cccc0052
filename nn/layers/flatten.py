"""Flatten: merge the axes start_dim..end_dim into one (a reshape, no copy when contiguous)."""
import numbers

from autograd import Tensor

from ..module import Module


class Flatten(Module):
    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        for name, value in (("start_dim", start_dim), ("end_dim", end_dim)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"Flatten: {name} must be an int, not {value!r}")
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        if not isinstance(input, Tensor):
            raise TypeError(f"Flatten: expected a Tensor, not {type(input).__name__}")
        n = max(input.ndim, 1)
        for name, value in (("start_dim", self.start_dim), ("end_dim", self.end_dim)):
            if not -n <= value < n:
                raise ValueError(f"Flatten: {name}={value} is out of range for an input of shape {input.shape}")
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
