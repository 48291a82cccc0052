"""EmbeddingBag: a lookup table of learnable rows whose output is the sum, mean or
max of each bag of looked-up rows (see ``nn.functional.embedding_bag``), with
PyTorch's arguments, attributes, initialization (standard normal, the padding row
zeroed) and ``from_pretrained``."""
from autograd import Tensor

from ..functional.embedding import check_embedding_options, normalize_padding_idx
from ..functional.embedding_bag import MODES, embedding_bag
from ..module import Module
from ..parameter import Parameter
from .arguments import positive_int
from .embedding import initial_table


class EmbeddingBag(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``; ``forward(input,
    offsets=None, per_sample_weights=None)`` reduces each bag of ids to one vector by
    ``mode``: 'sum', 'mean' (the default) or 'max'."""

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                 mode="mean", sparse=False, _weight=None, include_last_offset=False, padding_idx=None,
                 device=None, dtype=None, _freeze=False):
        super().__init__()
        num_embeddings = positive_int("EmbeddingBag", "num_embeddings", num_embeddings)
        embedding_dim = positive_int("EmbeddingBag", "embedding_dim", embedding_dim)
        if mode not in MODES:
            raise ValueError(f"EmbeddingBag: mode must be one of 'sum', 'mean' or 'max', not {mode!r}")
        check_embedding_options("EmbeddingBag", max_norm, norm_type, scale_grad_by_freq, sparse)
        if mode == "max" and scale_grad_by_freq:
            raise ValueError("EmbeddingBag: max mode does not support scaling the gradient by the frequency "
                             "(scale_grad_by_freq=True)")
        padding_idx = normalize_padding_idx(padding_idx, num_embeddings)
        weight = initial_table("EmbeddingBag", num_embeddings, embedding_dim, padding_idx, _weight, _freeze,
                               device, dtype)
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.mode = mode
        self.sparse = sparse
        self.include_last_offset = include_last_offset
        self.padding_idx = padding_idx
        self.weight = Parameter(weight, requires_grad=not _freeze)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                        mode="mean", sparse=False, include_last_offset=False, padding_idx=None):
        """An EmbeddingBag whose weight shares ``embeddings``' memory (2-D), as PyTorch's.
        Frozen unless ``freeze=False``."""
        source = embeddings if isinstance(embeddings, Tensor) else Tensor(embeddings)
        if source.ndim != 2:
            raise ValueError(f"EmbeddingBag.from_pretrained: embeddings must be 2-D, got shape {source.shape}")
        return cls(source.shape[0], source.shape[1], max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, mode=mode, sparse=sparse, _weight=source,
                   include_last_offset=include_last_offset, padding_idx=padding_idx, _freeze=bool(freeze))

    def forward(self, input, offsets=None, per_sample_weights=None):
        return embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq,
                             self.mode, self.sparse, per_sample_weights, self.include_last_offset,
                             self.padding_idx)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        text += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        return text
