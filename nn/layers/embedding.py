"""Embedding: a lookup table of learnable rows, indexed by integer ids.

The lookup is ``weight[indices]``, so its gradient is the indexing op's
scatter-add: a row used several times receives the sum of its gradients.
``max_norm``, ``norm_type`` and ``scale_grad_by_freq`` work as in PyTorch (see
``nn.functional.embedding``); ``sparse=True`` is refused, as every gradient here
is a dense tensor.
"""
import backends
from autograd import Tensor
from autograd.tensor import default_dtype
from backends import dtypes

from ..functional.embedding import check_embedding_options, embedding, normalize_padding_idx
from ..module import Module
from ..parameter import Parameter
from .arguments import positive_int


def initial_table(layer, num_embeddings, embedding_dim, padding_idx, _weight, _freeze, device, dtype):
    """A lookup layer's weight: ``_weight`` (a Tensor kept as is, so it shares memory, or
    an array), checked to be (num_embeddings, embedding_dim), else standard normal rows
    with the padding row zeroed, as PyTorch's Embedding and EmbeddingBag start."""
    if not isinstance(_freeze, bool):
        raise TypeError(f"{layer}: _freeze must be True or False, not {type(_freeze).__name__}")
    if _weight is None:
        backend = backends.get(device)
        dtype = default_dtype() if dtype is None else dtypes.canonical(dtype)
        if not dtypes.is_floating(dtype):
            raise TypeError(f"{layer}: dtype must be floating point, not {dtype}")
        data = backend.normal((num_embeddings, embedding_dim), 0.0, 1.0, dtype)
        if padding_idx is not None:
            data[padding_idx, ...] = 0
        return Tensor._make(data, backend)
    weight = _weight if isinstance(_weight, Tensor) else Tensor(_weight, device=device, dtype=dtype)
    if weight.shape != (num_embeddings, embedding_dim):
        raise ValueError(f"{layer}: _weight has shape {weight.shape}, expected {(num_embeddings, embedding_dim)}")
    return weight


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``, looked up
    by integer id. Weights start standard normal, with the padding row zeroed."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, device=None, dtype=None):
        super().__init__()
        num_embeddings = positive_int("Embedding", "num_embeddings", num_embeddings)
        embedding_dim = positive_int("Embedding", "embedding_dim", embedding_dim)
        padding_idx = normalize_padding_idx(padding_idx, num_embeddings)
        check_embedding_options("Embedding", max_norm, norm_type, scale_grad_by_freq, sparse)
        weight = initial_table("Embedding", num_embeddings, embedding_dim, padding_idx, _weight, _freeze, device,
                               dtype)
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        self.weight = Parameter(weight, requires_grad=not _freeze)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, sparse=False):
        """An Embedding whose weight shares ``embeddings``' memory (2-D), as PyTorch's: a large
        pretrained table is not held twice. Frozen unless ``freeze=False``."""
        source = embeddings if isinstance(embeddings, Tensor) else Tensor(embeddings)
        if source.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape {source.shape}")
        check_embedding_options("Embedding.from_pretrained", max_norm, norm_type, scale_grad_by_freq, sparse)
        return cls(source.shape[0], source.shape[1], padding_idx=padding_idx, max_norm=max_norm,
                   norm_type=norm_type, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse, _weight=source,
                   _freeze=bool(freeze))  # any truthy value freezes, as in PyTorch

    def forward(self, input):
        return embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                         self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            text += ", sparse=True"
        return text
