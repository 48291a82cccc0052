"""The Euclidean distance between every pair of rows of x (N, M), i < j, row by row (the
upper triangle of the distance matrix, as PyTorch's pdist), as one op. Composed, it
gathered both rows of every pair, N (N - 1) / 2 of them, into two arrays of that many
rows (134 MB each for 1024 rows of 64 float32s) and scattered the gradient back with
add.at: 100 times PyTorch's time. Here one row i at a time meets the rows after it,
x[i] - x[i+1:], whose temporaries stay in cache, with the composition's values
operation for operation: each distance is sqrt(sum(d * d)) over the row's contiguous
axis, and its gradient's sums over pairs add in add.at's order (row i's pairs one after
another, then each row j's from the rows before it, in turn). Under create_graph the
backward is the composition's, recomputed and recorded, so it differentiates again."""
from ..elementwise import constant, float_sum
from ...function import Function
from ...grad_mode import state as _grad_state
from ...tensor import Tensor
from .recompute import recomputed_backward


class Pdist(Function):
    @staticmethod
    def forward(ctx, x):
        backend, n = x._backend, x.shape[0]
        xp = backend.xp
        rows = _row_major(xp, x.data)  # (the sums below add along each difference's memory)
        out = xp.empty((n * (n - 1) // 2,), dtype=rows.dtype)
        start = 0
        for i in range(n - 1):
            d = rows[i, :] - rows[i + 1:, :]
            out[start:start + n - 1 - i] = xp.sqrt(float_sum(backend, d * d, x.dtype, axis=1))
            start += n - 1 - i
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, gy):
        if _grad_state.enabled:  # create_graph: the composed ops, recorded, differentiate again
            return recomputed_backward(ctx, lambda ctx, x: (composed_pdist(x),), (gy,), 1)
        x, y = ctx.saved_tensors
        backend, (n, m) = x._backend, x.shape
        xp = backend.xp
        # The composition's slope of each distance, in its order of operations: the root's
        # gradient where the sum of squares is nonzero (NaN too), else 0
        nonzero = y.data != 0
        zero = xp.zeros((), dtype=y.data.dtype)
        root = xp.where(nonzero, y.data, xp.ones((), dtype=y.data.dtype))
        slope = xp.where(nonzero, xp.where(nonzero, gy.data, zero) / (root * 2), zero)
        rows = _row_major(xp, x.data)
        gx = xp.zeros((n, m), dtype=rows.dtype)
        later = xp.zeros((n, m), dtype=rows.dtype)  # what each row gets as the second of a pair
        start = 0
        for i in range(n - 1):
            d = rows[i, :] - rows[i + 1:, :]
            g = xp.reshape(slope[start:start + n - 1 - i], (n - 1 - i, 1)) * d
            g = g + g  # (d * d's two factors, each g_total * d)
            gx[i, :] = xp.sum(g, axis=0) + zero  # (0 + the sum, as add.at's: -0.0 becomes 0.0)
            later[i + 1:, :] -= g
            start += n - 1 - i
        return Tensor._make(gx + later, backend)


def _row_major(xp, data):
    """``data`` (N, M) laid out row after row (C order), copied only where it is not."""
    return xp.reshape(xp.reshape(data, (data.shape[0] * data.shape[1],)), data.shape)


def composed_pdist(x, p=2):
    """The p-norm distances as Tensor ops: both rows of every pair gathered, and the norm
    of their difference (F.pdist's path for other orders and float16, and this op's
    backward under create_graph)."""
    from ...linalg import p_norm  # (linalg imports the ops)
    n = x.shape[0]
    xp = x._backend.xp
    rows = xp.arange(n)
    first = xp.reshape(rows, (n, 1)) + xp.zeros((1, n), dtype=rows.dtype)
    second = xp.reshape(rows, (1, n)) + xp.zeros((n, 1), dtype=rows.dtype)
    upper = second > first  # row-major order of the pairs (i, j), i < j
    i, j = constant(first[upper], x), constant(second[upper], x)
    return p_norm("pdist", x[i] - x[j], p, 1)


def pdist(x):
    """The Euclidean distances between the rows of a float32 or float64 ``x`` (N, M)."""
    return Pdist.apply(x)
