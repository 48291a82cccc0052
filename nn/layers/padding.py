"""Padding layers, each F.pad in one mode: ZeroPad1d/2d/3d and ConstantPad1d/2d/3d
('constant', any trailing axes), ReflectionPad, ReplicationPad and CircularPad 1d/2d/3d
(the last one, two or three axes of a batched or unbatched input). ``padding`` is an
int (every side) or PyTorch's (left, right[, top, bottom[, front, back]]) tuple."""
import numbers

from autograd import Tensor

from .. import functional as F
from ..functional.arguments import real
from ..module import Module


def _padding(layer, padding, sides):
    """An int as ``sides`` copies of it; a sequence of ints as a tuple (F.pad checks
    its length against the input), as PyTorch's layers take it."""
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        return (int(padding),) * sides
    if isinstance(padding, (tuple, list)) and all(
            isinstance(p, numbers.Integral) and not isinstance(p, bool) for p in padding):
        return tuple(int(p) for p in padding)
    raise TypeError(f"{layer}: padding must be an int or a tuple of {sides} ints, not {padding!r}")


class _PadNd(Module):
    _sides = 0
    _mode = "constant"

    def __init__(self, padding):
        super().__init__()
        self.padding = _padding(type(self).__name__, padding, self._sides)

    def forward(self, input):
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding)
        if not real(value):
            raise TypeError(f"{type(self).__name__}: value must be a real number, not {value!r}")
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pads the last axis with ``value``."""
    _sides = 2


class ConstantPad2d(_ConstantPadNd):
    """Pads the last two axes with ``value``."""
    _sides = 4


class ConstantPad3d(_ConstantPadNd):
    """Pads the last three axes with ``value``."""
    _sides = 6


class ZeroPad1d(ConstantPad1d):
    """Pads the last axis with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pads the last two axes with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    """Pads the last three axes with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    """Mirrors the last axis of (N, C, W) or (C, W) about its edges (padding < W)."""
    _sides, _mode = 2, "reflect"


class ReflectionPad2d(_PadNd):
    """Mirrors the last two axes of (N, C, H, W) or (C, H, W) about their edges."""
    _sides, _mode = 4, "reflect"


class ReflectionPad3d(_PadNd):
    """Mirrors the last three axes of (N, C, D, H, W) or (C, D, H, W) about their edges."""
    _sides, _mode = 6, "reflect"


class ReplicationPad1d(_PadNd):
    """Repeats the edge elements of the last axis of (N, C, W) or (C, W)."""
    _sides, _mode = 2, "replicate"


class ReplicationPad2d(_PadNd):
    """Repeats the edge elements of the last two axes of (N, C, H, W) or (C, H, W)."""
    _sides, _mode = 4, "replicate"


class ReplicationPad3d(_PadNd):
    """Repeats the edge elements of the last three axes of (N, C, D, H, W) or (C, D, H, W)."""
    _sides, _mode = 6, "replicate"


class _CircularPadNd(_PadNd):
    """Wraps the padded axes around; the input must have the batched or unbatched
    number of dimensions, checked here as PyTorch's layer checks it."""
    _mode = "circular"

    def forward(self, input):
        n = self._sides // 2
        if isinstance(input, Tensor) and input.ndim not in (n + 1, n + 2):
            raise ValueError(f"{type(self).__name__}: expected {n + 1}D or {n + 2}D input (got {input.ndim}D "
                             "input)")
        return F.pad(input, self.padding, "circular")


class CircularPad1d(_CircularPadNd):
    """Wraps the last axis of (N, C, W) or (C, W) around."""
    _sides = 2


class CircularPad2d(_CircularPadNd):
    """Wraps the last two axes of (N, C, H, W) or (C, H, W) around."""
    _sides = 4


class CircularPad3d(_CircularPadNd):
    """Wraps the last three axes of (N, C, D, H, W) or (C, D, H, W) around."""
    _sides = 6
