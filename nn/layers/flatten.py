"""Flatten: merge the axes start_dim..end_dim into one (a reshape, no copy when contiguous);
Unflatten: split one axis into several, its inverse."""
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


class Unflatten(Module):
    """Splits axis ``dim`` into ``unflattened_size`` (a tuple of ints, one of them may be
    -1), Flatten's inverse: a reshape."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
            raise TypeError(f"Unflatten: dim must be an int, not {dim!r}")
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError("Unflatten: unflattened_size must be a tuple of ints, but found type "
                            f"{type(unflattened_size).__name__}")
        for position, size in enumerate(unflattened_size):
            if isinstance(size, bool) or not isinstance(size, numbers.Integral):
                raise TypeError("Unflatten: unflattened_size must be tuple of ints, but found element of type "
                                f"{type(size).__name__} at pos {position}")
        if not unflattened_size:  # PyTorch refuses it too, rather than dropping an axis of length 1
            raise ValueError("Unflatten: unflattened_size must be non-empty; give the sizes that dim splits into")
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, input):
        if not isinstance(input, Tensor):
            raise TypeError(f"Unflatten: expected a Tensor, not {type(input).__name__}")
        n = max(input.ndim, 1)
        if not -n <= self.dim < n:
            raise ValueError(f"Unflatten: dim={self.dim} is out of range for an input of shape {input.shape}")
        axis = self.dim % n
        sizes = tuple(int(s) for s in self.unflattened_size)
        length = input.shape[axis] if input.ndim else 1
        known = 1
        for s in sizes:
            known *= s if s != -1 else 1
        if -1 in sizes:  # one size inferred, as PyTorch's
            fits = sizes.count(-1) == 1 and known > 0 and length % known == 0
        else:
            fits = known == length
        if not fits or any(s < -1 for s in sizes):
            raise ValueError(f"Unflatten: provided sizes {list(sizes)} don't multiply up to the size of dim "
                             f"{self.dim} ({length}) in the input tensor of shape {input.shape}")
        sizes = tuple(length // known if s == -1 else s for s in sizes)
        return input.reshape(input.shape[:axis] + sizes + input.shape[axis + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
