"""Embedding: a lookup table of learnable rows, indexed by integer ids.

The lookup is ``weight[indices]``, so its gradient is the indexing op's
scatter-add: a row used several times receives the sum of its gradients.
"""
import backends
from autograd import Tensor
from autograd.tensor import default_dtype
from backends import dtypes

from ..functional import _normalize_padding_idx, embedding
from ..module import Module
from ..parameter import Parameter


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``, looked up
    by integer id. Weights start standard normal, with the padding row zeroed."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, dtype=None, device=None, _weight=None):
        super().__init__()
        for name, value in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"Embedding: {name} must be a positive int, got {value!r}")
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = _normalize_padding_idx(padding_idx, num_embeddings)
        if _weight is None:
            backend = backends.get(device)
            dtype = default_dtype() if dtype is None else dtypes.canonical(dtype)
            if not dtypes.is_floating(dtype):
                raise TypeError(f"Embedding: dtype must be floating point, not {dtype}")
            data = backend.normal((num_embeddings, embedding_dim), 0.0, 1.0, dtype)
            if self.padding_idx is not None:
                data[self.padding_idx, ...] = 0
            weight = Tensor._make(data, backend)
        else:
            weight = _weight if isinstance(_weight, Tensor) else Tensor(_weight, device=device, dtype=dtype)
            if weight.shape != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {weight.shape}, expected "
                                 f"{(num_embeddings, embedding_dim)}")
        self.weight = Parameter(weight)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None):
        """An Embedding holding a copy of ``embeddings`` (2-D); frozen unless ``freeze=False``."""
        source = embeddings if isinstance(embeddings, Tensor) else Tensor(embeddings)
        if source.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape {source.shape}")
        copy = Tensor._make(source._backend.xp.asarray(source.data, copy=True), source._backend)
        module = cls(source.shape[0], source.shape[1], padding_idx=padding_idx, _weight=copy)
        module.weight.requires_grad = not freeze
        return module

    def forward(self, input):
        return embedding(input, self.weight, self.padding_idx)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        return text

