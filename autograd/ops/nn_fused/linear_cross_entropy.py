"""Cross-entropy of a linear layer's logits, ``cross_entropy(x @ weight.T + bias, target)``,
as one op that never holds the whole (N, C) logits: it runs over the batch in chunks of
rows, and each chunk's logits are made, used and dropped in turn. With a large
vocabulary (C in the tens of thousands) the logits are a training step's largest
array; here the peak is a few (rows, C) arrays of one chunk, besides the weight and
its gradient.

The loss is CrossEntropy's (softmax.py): PyTorch's class weights, ignore_index, label
smoothing and reductions, with the same arithmetic row by row. The gradients are made
chunk by chunk too: a chunk's logit gradient G (the softmax minus the target
distribution, scaled per row) gives its rows of the input's gradient, G @ weight, and
adds G.T @ x to the weight's and G's column sums to the bias's. For 'mean' and 'sum'
the loss is linear in its one output gradient, so forward computes them while it holds
each chunk's softmax (as PyTorch's chunked op does) and backward scales them; for
'none' backward makes each chunk's logits again, and their softmax from the
log-sum-exp forward kept per row.

Under create_graph the op recomputes the loss with the linear and cross-entropy ops
and differentiates that graph, recorded, so its gradients differentiate again (at the
memory of the full logits)."""

from ..elementwise import float_sum
from ...function import Function
from ...grad_mode import retains_graph, state as _grad_state
from ...tensor import Tensor
from .linear import linear
from .recompute import recomputed_backward
from .softmax import _ignored_rows_zeroed, cross_entropy, weighed_targets


class LinearCrossEntropy(Function):
    """x (N, D), weight (C, D), bias (C,) or None, target (N,) int64 class indices, the
    class weights (C,) or None; ``chunk_rows`` rows of logits at a time. ``all_valid``
    says no target equals ignore_index, which skips the masking."""

    @staticmethod
    def forward(ctx, x, weight, bias, target, class_weight, ignore_index, smoothing, reduction, all_valid,
                chunk_rows):
        backend = x._backend
        xp = backend.xp
        n = x.data.shape[0]
        c = weight.data.shape[0]
        rows = _Rows(xp, target.data, class_weight, ignore_index, smoothing, reduction, all_valid, c,
                     x.data.dtype)
        wanted = ctx.needs_input_grad[:3]
        # 'mean' and 'sum': the gradients for an output gradient of 1, made here from each
        # chunk's softmax; 'none': the log-sum-exp per row, to remake the softmax in backward
        grads = _zero_grads(xp, x, weight, bias, wanted) if reduction != "none" and any(wanted) else None
        lse = xp.empty((n,), dtype=x.data.dtype) if reduction == "none" and any(wanted) else None
        losses = xp.empty((n,), dtype=x.data.dtype)
        for part in _chunks(n, chunk_rows):
            _forward_chunk(backend, x, weight, bias, rows, part, losses, lse, grads)
        if reduction == "mean":
            loss = xp.sum(losses) * rows.scale
        elif reduction == "sum":
            loss = xp.sum(losses)
        else:
            loss = losses
        ctx.settings = (ignore_index, smoothing, reduction, all_valid, chunk_rows)
        ctx.save_for_backward(x, weight, bias, target, class_weight, lse, *(grads or ()))
        if reduction == "none":
            ctx.rows = rows
        return loss

    @staticmethod
    def backward(ctx, gy):
        if _grad_state.enabled:  # create_graph: the composed ops, recorded, differentiate again
            return recomputed_backward(ctx, _composed_loss, (gy,), 3)
        x, weight, bias, target, class_weight, lse, *grads = ctx.saved_tensors
        backend = gy._backend
        xp = backend.xp
        if ctx.settings[2] != "none":  # the gradients forward made, times the one output gradient
            if retains_graph():  # kept for another pass: scaled into new arrays
                grads = [None if g is None else g.data * gy.data for g in grads]
            else:  # scaled where they are, so the weight's gradient is never held twice
                ctx.release_saved()
                grads = [None if g is None else _scaled_in_place(g.data, gy.data) for g in grads]
            return Tensor._make_each(grads, backend) + (None,) * 7
        rows = ctx.rows
        chunk_rows = ctx.settings[4]
        n = x.data.shape[0]
        gy = xp.reshape(gy.data, (n, 1))
        grads = _zero_grads(xp, x, weight, bias, ctx.needs_input_grad[:3])
        for part in _chunks(n, chunk_rows):
            _backward_chunk(backend, x, weight, bias, rows, part, lse, gy[part, ...], grads)
        return Tensor._make_each(grads, backend) + (None,) * 7


def _scaled_in_place(array, factor):
    array *= factor  # (a 0-d factor of the loss's dtype: the gradient keeps its dtype)
    return array


class _Rows:
    """What each row's loss and logit gradient take besides its logits: the targets
    (ignored ones pointing at class 0), the rows kept, and per row, as (N, 1) columns,
    the derivative of the reduced loss by the row's nll (``coef``) and by its smoothing
    term (``share``), each 0 on ignored rows, as CrossEntropy computes them."""

    def __init__(self, xp, t, class_weight, ignore_index, smoothing, reduction, all_valid, c, dtype):
        n = t.shape[0]
        self.c, self.smoothing = c, smoothing
        self.class_weight = None if class_weight is None else class_weight.data
        # (where nothing is counted the scale is NaN, and ignored rows keep a gradient of 0: see _column)
        self.keep, self.valid, self.safe_t, self.weights, self.scale = weighed_targets(
            xp, t, self.class_weight, ignore_index, all_valid, dtype, reduction)
        ones = xp.ones((n,), dtype=dtype)
        self.coef = self._column(xp, (ones if self.weights is None else self.weights) * self.scale) * (1 - smoothing)
        self.share = None
        if smoothing:
            self.share = self._column(xp, (ones if self.valid is None else self.valid) * self.scale) * (smoothing / c)
            self.weight_sum = c if class_weight is None else xp.sum(self.class_weight)

    def _column(self, xp, per_row):
        """A per-row factor as an (N, 1) column, 0 on ignored rows even where the scale
        is NaN (every target ignored: PyTorch's loss is NaN, its gradient 0)."""
        column = xp.reshape(per_row, (per_row.shape[0], 1))
        return column if self.keep is None else xp.where(xp.reshape(self.keep, column.shape), column, 0)

    def losses(self, backend, shifted, log_sums, part):
        """The rows' losses before the reduction, from their max-shifted logits and the
        log of their exp-sums."""
        xp = backend.xp
        picked = backend.gather(shifted, (xp.arange(shifted.shape[0]), self.safe_t[part]))
        loss = log_sums - picked
        if self.weights is not None:
            loss = loss * self.weights[part]
        if self.smoothing:  # (1-s) nll + (s/C) sum_c w_c (-log p_c)
            if self.class_weight is None:
                smooth = log_sums * self.c - xp.sum(shifted, axis=1)
            else:
                smooth = log_sums * self.weight_sum - xp.sum(shifted * self.class_weight, axis=1)
            if self.valid is not None:
                smooth = smooth * self.valid[part]
            loss = loss * (1 - self.smoothing) + smooth * (self.smoothing / self.c)
        return loss

    def logits_grad(self, backend, e, sums, part, gy):
        """The chunk's logit gradient, in place of ``e``: the softmax is e / sums (e
        itself where sums is None), the output gradient per row ``gy`` (1 where None).
        It is (coef + share * sum(w)) p - share w, less coef at each row's target."""
        xp = backend.xp
        coef = self.coef[part, ...]
        share = None if self.share is None else self.share[part, ...]
        if gy is not None:
            coef = coef * gy
            share = None if share is None else share * gy
        factor = coef if share is None else coef + share * self.weight_sum
        e *= factor if sums is None else factor / sums
        if share is not None:
            e -= share if self.class_weight is None else share * self.class_weight
        at_target = (xp.arange(e.shape[0]), self.safe_t[part])
        backend.put_(e, at_target, backend.gather(e, at_target) - coef[:, 0])
        return e


# One chunk's work in a function of its own, so that its (rows, C) arrays are freed
# before the next chunk's are made.

def _forward_chunk(backend, x, weight, bias, rows, part, losses, lse, grads):
    """Rows ``part``'s losses, their log-sum-exps (where ``lse`` is kept) and their
    share of the gradients (where ``grads`` are made in forward)."""
    xp = backend.xp
    z = _chunk_logits(backend, x, weight, bias, part, rows)
    top = xp.max(z, axis=1, keepdims=True)
    z -= top
    e = xp.exp(z)
    sums = xp.sum(e, axis=1, keepdims=True)
    log_sums = xp.log(sums)
    losses[part] = rows.losses(backend, z, log_sums[:, 0], part)
    if lse is not None:
        lse[part] = (top + log_sums)[:, 0]
    if grads is not None:
        _add_chunk_grads(backend, grads, rows.logits_grad(backend, e, sums, part, None), x, weight, part)


def _backward_chunk(backend, x, weight, bias, rows, part, lse, gy, grads):
    """Rows ``part``'s share of the gradients, for their output gradients ``gy``, from
    their logits made again and the log-sum-exps forward kept."""
    xp = backend.xp
    z = _chunk_logits(backend, x, weight, bias, part, rows)
    z -= xp.reshape(lse.data[part], (-1, 1))
    _add_chunk_grads(backend, grads, rows.logits_grad(backend, xp.exp(z), None, part, gy), x, weight, part)


def _chunks(n, chunk_rows):
    return (slice(start, min(n, start + chunk_rows)) for start in range(0, n, chunk_rows))


def _chunk_logits(backend, x, weight, bias, part, rows):
    """The logits of rows ``part`` of x, those of ignored rows 0 (a -inf or NaN logit
    there would turn the row's 0 weight into NaN, as in CrossEntropy)."""
    xp = backend.xp
    z = backend.matmul(x.data[part, ...], xp.permute_dims(weight.data, (1, 0)), scratch=True)
    if bias is not None:
        z += bias.data
    return z if rows.keep is None else _ignored_rows_zeroed(xp, z, rows.keep[part])


def _zero_grads(xp, x, weight, bias, wanted):
    need_x, need_w, need_b = wanted
    return [xp.zeros(x.data.shape, dtype=x.data.dtype) if need_x else None,
            xp.zeros(weight.data.shape, dtype=weight.data.dtype) if need_w else None,
            xp.zeros(bias.data.shape, dtype=bias.data.dtype) if need_b else None]


def _add_chunk_grads(backend, grads, g, x, weight, part):
    """Add a chunk's share, from its logit gradient ``g``, to the gradients wanted."""
    xp = backend.xp
    gx, gw, gb = grads
    if gx is not None:
        gx[part, ...] = backend.matmul(g, weight.data, scratch=True)
    if gw is not None:
        gw += backend.matmul(xp.permute_dims(g, (1, 0)), x.data[part, ...], scratch=True)
    if gb is not None:
        gb += float_sum(backend, g, x.dtype, axis=0)  # float16 adds up in float32, as PyTorch's


def _composed_loss(ctx, x, weight, bias):
    """The loss again from the linear and cross-entropy ops, for create_graph."""
    target, class_weight = ctx.saved_tensors[3:5]
    ignore_index, smoothing, reduction, all_valid, _ = ctx.settings
    logits = linear(x, weight, bias)
    return (cross_entropy(logits, target, class_weight, ignore_index, smoothing, reduction, all_valid),)


def linear_cross_entropy(x, weight, bias, target, class_weight=None, ignore_index=-100, label_smoothing=0.0,
                         reduction="mean", all_valid=False, chunk_rows=1024):
    return LinearCrossEntropy.apply(x, weight, bias, target, class_weight, ignore_index, label_smoothing,
                                    reduction, all_valid, chunk_rows)
