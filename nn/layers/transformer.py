"""The Transformer of "Attention Is All You Need", as PyTorch's nn.Transformer family:
TransformerEncoderLayer, TransformerEncoder, TransformerDecoderLayer, TransformerDecoder
and Transformer, with PyTorch's submodule names (so state dicts load both ways), its
post-norm (default) and pre-norm (``norm_first``) blocks and its mask arguments.

PyTorch's inference fast paths (fused kernels, nested tensors in eval mode) are not
here: every call takes the path PyTorch takes in training, which gives the same values
except at padded positions, which PyTorch's nested-tensor path sets to 0 in eval mode.
``is_causal`` hints work as PyTorch's: a hint needs its mask, and the mask (causal
when the hint is right) gives the result. TransformerEncoder's ``is_causal`` and
TransformerDecoder's ``tgt_is_causal`` of None mean "look": a mask equal to
generate_square_subsequent_mask's for the sequence's length becomes a hint, as in
PyTorch (so the layers leave it unread, and a float mask that requires grad gets none)."""
import copy
import numbers

from autograd import Tensor
from backends import dtypes

from .. import functional as F
from .. import init
from ..functional.attention import generate_square_subsequent_mask
from ..module import Module
from .arguments import positive_int
from .attention import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .normalization import LayerNorm


def _activation(name, activation):
    """PyTorch's choice: "relu" or "gelu" by name, or any callable (a function or a Module)."""
    if isinstance(activation, str):
        if activation == "relu":
            return F.relu
        if activation == "gelu":
            return F.gelu
        raise ValueError(f"{name}: activation must be 'relu', 'gelu' or a callable, not {activation!r}")
    if not callable(activation):
        raise TypeError(f"{name}: activation must be 'relu', 'gelu' or a callable, not {type(activation).__name__}")
    return activation


def _check_dropout(name, dropout):
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout <= 1:
        raise ValueError(f"{name}: dropout must be a probability in [0, 1], got {dropout!r}")


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward block (linear1, activation, dropout, linear2),
    each added back to its input; LayerNorm after each sum (post-norm) or, with
    ``norm_first``, on each block's input (pre-norm)."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        positive_int(name, "dim_feedforward", dim_feedforward)
        _check_dropout(name, dropout)
        activation = _activation(name, activation)
        factory = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            **factory)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = activation

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        """src (S, N, E), (N, S, E) with batch_first, or unbatched (S, E); src_mask
        (S, S) or (N * nhead, S, S) and src_key_padding_mask (N, S) as MultiheadAttention's."""
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False,
                           is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerDecoderLayer(Module):
    """Self-attention over the target, attention from the target to ``memory`` (the
    encoder's output), then a feed-forward block, each added back to its input with a
    LayerNorm after (post-norm) or before (``norm_first``)."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        positive_int(name, "dim_feedforward", dim_feedforward)
        _check_dropout(name, dropout)
        activation = _activation(name, activation)
        factory = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias,
                                            **factory)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first,
                                                 bias=bias, **factory)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = activation

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
        return self.norm3(x + self._ff_block(x))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, is_causal=is_causal,
                           need_weights=False)[0]
        return self.dropout1(x)

    def _mha_block(self, x, memory, attn_mask, key_padding_mask, is_causal):
        x = self.multihead_attn(x, memory, memory, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                is_causal=is_causal, need_weights=False)[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))


def _clones(name, layer, num_layers):
    """``num_layers`` independent deep copies of ``layer`` (as PyTorch's: each starts
    with the same values, and trains on its own)."""
    if not isinstance(layer, Module):
        raise TypeError(f"{name}: the layer must be a Module, not {type(layer).__name__}")
    positive_int(name, "num_layers", num_layers, allow_zero=True)
    return ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])


def _is_causal(mask, is_causal, steps):
    """``is_causal`` as given, or, when it is None, whether ``mask`` is the causal mask of
    the sequence's ``steps`` (PyTorch's reading of None): generate_square_subsequent_mask's
    in the mask's dtype, so a bool one is True above the diagonal. A causal mask of another
    size is no hint, so the attention reads it and refuses its shape, as PyTorch's does
    (taken as a hint, it went unread and a mask made for other lengths ran silently)."""
    if is_causal is not None or mask is None:
        return bool(is_causal)
    # Anything else is no causal mask (and the attention refuses a non-Tensor or an int mask, naming it)
    if not isinstance(mask, Tensor) or not (mask.dtype == dtypes.bool_ or dtypes.is_floating(mask.dtype)):
        return False
    if mask.shape != (steps, steps):
        return False
    return bool((mask == generate_square_subsequent_mask(steps, device=mask.device, dtype=mask.dtype)).all())


def _steps(layers, x):
    """The length of the sequence ``x`` that ``layers`` take: (S, E) unbatched, else axis 1
    when the first layer's attention is batch first, axis 0 when not (PyTorch's reading)."""
    if not isinstance(x, Tensor) or x.ndim == 0:
        return None  # no sequence: the layers refuse it, naming it
    if x.ndim < 3:
        return x.shape[0]
    first = layers[0] if len(layers) else None
    return x.shape[1] if getattr(getattr(first, "self_attn", None), "batch_first", False) else x.shape[0]


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` in turn, then ``norm`` if given.
    ``enable_nested_tensor`` and ``mask_check`` are PyTorch's, accepted for its
    signature: they steer only its eval-mode fast path, which is not here."""

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True):
        super().__init__()
        self.layers = _clones("TransformerEncoder", encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor, self.mask_check = enable_nested_tensor, mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        is_causal = _is_causal(mask, is_causal, _steps(self.layers, src))
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, is_causal=is_causal,
                           src_key_padding_mask=src_key_padding_mask)
        return output if self.norm is None else self.norm(output)


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer`` in turn, each attending to ``memory``,
    then ``norm`` if given."""

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _clones("TransformerDecoder", decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        tgt_is_causal = _is_causal(tgt_mask, tgt_is_causal, _steps(self.layers, tgt))
        output = tgt
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask,
                           memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                           memory_is_causal=memory_is_causal)
        return output if self.norm is None else self.norm(output)


class Transformer(Module):
    """An encoder of ``num_encoder_layers`` and a decoder of ``num_decoder_layers``, each
    ending in a LayerNorm (or ``custom_encoder`` / ``custom_decoder``); every parameter
    with two or more dimensions starts xavier_uniform_, as PyTorch's."""

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6, dim_feedforward=2048,
                 dropout=0.1, activation="relu", custom_encoder=None, custom_decoder=None, layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        options = (dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first, bias)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, *options, **factory)
            self.encoder = TransformerEncoder(layer, num_encoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, *options, **factory)
            self.decoder = TransformerDecoder(layer, num_decoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory))
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, src_key_padding_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        batch_axis = 0 if self.batch_first else 1
        if src.ndim == 3 and (tgt.ndim != 3 or src.shape[batch_axis] != tgt.shape[batch_axis]):
            raise ValueError(f"Transformer: src {src.shape} and tgt {tgt.shape} must have one batch size "
                             f"(axis {batch_axis})")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ValueError(f"Transformer: src {src.shape} and tgt {tgt.shape} must have d_model={self.d_model} "
                             "features (last axis)")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)

    generate_square_subsequent_mask = staticmethod(generate_square_subsequent_mask)
