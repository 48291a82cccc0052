"""Dropout layers, in training only (the identity in eval mode): Dropout zeroes
elements with probability p (scaling the rest by 1/(1-p)), Dropout1d/2d/3d zero
whole channels, AlphaDropout and FeatureAlphaDropout (elements, channels) keep a
SELU network's mean and variance. See nn.functional.dropout for the rules."""
import numbers

from .. import functional as F
from ..module import Module


class _DropoutNd(Module):
    """The probability ``p`` and ``inplace`` flag every dropout layer takes."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
            raise ValueError(f"{type(self).__name__}: p must be a probability in [0, 1], got {p!r}")
        self.p, self.inplace = p, inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """Zeroes whole channels of (N, C, L) or unbatched (C, L) inputs."""

    def forward(self, input):
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Zeroes whole channels of (N, C, H, W) inputs (a 3-D input is taken as (N, C, L),
    with a warning, as PyTorch does)."""

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """Zeroes whole channels of (N, C, D, H, W) or unbatched (C, D, H, W) inputs."""

    def forward(self, input):
        return F.dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Alpha dropout of each element. As PyTorch's layer, it never works in place:
    ``inplace`` is kept for the repr only."""

    def forward(self, input):
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels of (N, C, ...) inputs. As PyTorch's layer, it
    never works in place: ``inplace`` is kept for the repr only."""

    def forward(self, input):
        return F.feature_alpha_dropout(input, self.p, self.training)
