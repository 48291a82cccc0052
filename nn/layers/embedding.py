"""Embedding: a lookup table of learnable rows, indexed by integer ids.

The lookup is ``weight[indices]``, so its gradient is the indexing op's
scatter-add: a row used several times receives the sum of its gradients.
"""
import backends
from autograd import Tensor, where
from autograd.tensor import default_dtype
from backends import dtypes

from ..module import Module
from ..parameter import Parameter


def embedding(input, weight, padding_idx=None):
    """Rows of ``weight`` (num_embeddings, embedding_dim) at the integer ids in
    ``input``; the result has shape ``input.shape + (embedding_dim,)``. The row at
    ``padding_idx`` is looked up as usual but gets no gradient, as in PyTorch."""
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError("embedding: weight must be a 2-D tensor (num_embeddings, embedding_dim), got "
                         f"{getattr(weight, 'shape', type(weight).__name__)}")
    num_embeddings = weight.shape[0]
    padding_idx = _normalize_padding_idx(padding_idx, num_embeddings)
    indices = _as_indices(input, weight)
    rows = weight[indices]
    if padding_idx is not None and rows.requires_grad:
        # Same values everywhere; where the id is the padding one, the value comes
        # from a detached copy, so the gradient skips the padding row.
        keep = Tensor._make(indices.data != padding_idx, weight._backend)
        rows = where(keep.expand_dims(-1), rows, rows.detach())
    return rows


def _normalize_padding_idx(padding_idx, num_embeddings):
    if padding_idx is None:
        return None
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, int):
        raise TypeError(f"embedding: padding_idx must be an int or None, not {type(padding_idx).__name__}")
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"embedding: padding_idx {padding_idx} is out of range for {num_embeddings} "
                         f"embeddings; it must lie in [-{num_embeddings}, {num_embeddings - 1}]")
    return padding_idx % num_embeddings


def _as_indices(input, weight):
    """``input`` as an integer tensor on the weight's device, every id checked to be a valid row."""
    backend = weight._backend
    if isinstance(input, Tensor):
        if input._backend is not backend:
            raise ValueError(f"embedding: the indices are on {input.device} but the weight is on "
                             f"{weight.device}; move one with .to(device)")
        indices = input
    else:
        try:
            indices = Tensor(input, device=backend)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"embedding: indices must be integers (a Tensor, list or array), "
                            f"got {type(input).__name__}") from exc
    if indices.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must have an integer dtype, not {indices.dtype}; "
                        "convert them with .astype(ag.int64)")
    num_embeddings = weight.shape[0]
    if indices.size:
        xp = backend.xp
        low, high = int(xp.min(indices.data)), int(xp.max(indices.data))
        if low < 0 or high >= num_embeddings:
            bad = low if low < 0 else high
            raise IndexError(f"embedding: index {bad} is out of range; indices must lie in "
                             f"[0, {num_embeddings - 1}] for a table of {num_embeddings} embeddings")
    return indices


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

