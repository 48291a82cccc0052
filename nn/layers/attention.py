"""MultiheadAttention, with PyTorch's parameters (names, shapes, order, initialization),
so state dicts load both ways, and PyTorch's forward (see nn.functional.attention for
the mask conventions and what a fully masked query gives)."""
import numbers

from autograd import empty

from .. import init
from ..functional.attention import multi_head_attention_forward
from ..module import Module
from ..parameter import Parameter
from .arguments import positive_int
from .linear import Linear


class MultiheadAttention(Module):
    """Attention over ``num_heads`` heads of embed_dim / num_heads features each.

    Parameters: ``in_proj_weight`` (3 * embed_dim, embed_dim) holding the query, key and
    value projections stacked, or, when kdim or vdim differs from embed_dim,
    ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim) and ``v_proj_weight`` (E, vdim);
    ``in_proj_bias`` (3E,) when ``bias``; ``bias_k`` and ``bias_v`` (1, 1, E) with
    ``add_bias_kv``; ``out_proj`` a Linear(E, E). Initialized as PyTorch: xavier_uniform_
    on the input projections, zeros for in_proj_bias and out_proj.bias, xavier_normal_
    for bias_k and bias_v, out_proj.weight as a Linear's."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        super().__init__()
        # Python ints kept (NumPy ones accepted, as PyTorch's), which the forward's checks take
        embed_dim = positive_int("MultiheadAttention", "embed_dim", embed_dim)
        num_heads = positive_int("MultiheadAttention", "num_heads", num_heads)
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        kdim = embed_dim if kdim is None else positive_int("MultiheadAttention", "kdim", kdim)
        vdim = embed_dim if vdim is None else positive_int("MultiheadAttention", "vdim", vdim)
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout <= 1:
            raise ValueError(f"MultiheadAttention: dropout must be a probability in [0, 1], got {dropout!r}")
        self.embed_dim, self.kdim, self.vdim = embed_dim, kdim, vdim
        self._qkv_same_embed_dim = kdim == embed_dim and vdim == embed_dim
        self.num_heads, self.dropout, self.batch_first = num_heads, float(dropout), bool(batch_first)
        self.head_dim = embed_dim // num_heads

        def parameter(*shape):
            return Parameter(empty(shape, dtype=dtype, device=device))

        if self._qkv_same_embed_dim:
            self.in_proj_weight = parameter(3 * embed_dim, embed_dim)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = parameter(embed_dim, embed_dim)
            self.k_proj_weight = parameter(embed_dim, kdim)
            self.v_proj_weight = parameter(embed_dim, vdim)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = parameter(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        if add_bias_kv:
            self.bias_k = parameter(1, 1, embed_dim)
            self.bias_v = parameter(1, 1, embed_dim)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = bool(add_zero_attn)
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for weight in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        """query (L, N, E), key (S, N, kdim), value (S, N, vdim) ((N, L, E)... with
        batch_first, or unbatched (L, E)...) -> (output like query, weights or None).
        The weights, when ``need_weights``, are averaged over heads (N, L, S) unless
        ``average_attn_weights=False`` (N, num_heads, L, S). A bool key_padding_mask (N, S)
        or attn_mask ((L, S) or (N * num_heads, L, S)) is True where a key is ignored; a
        float one is added to the scores."""
        return multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight, self.in_proj_bias,
            self.bias_k, self.bias_v, self.add_zero_attn, self.dropout, self.out_proj.weight, self.out_proj.bias,
            training=self.training, key_padding_mask=key_padding_mask, need_weights=need_weights,
            attn_mask=attn_mask, use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight, v_proj_weight=self.v_proj_weight,
            average_attn_weights=average_attn_weights, is_causal=is_causal, batch_first=self.batch_first)
