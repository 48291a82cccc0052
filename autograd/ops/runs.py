"""Sums over runs of consecutive entries (embedding_bag's bags): ``sum_runs`` adds up
``x[rows[i]]`` over each run, and ``spread_runs``, its adjoint, sends each run's value
back to the rows its entries name. Each is linear, so each one's backward is the
other, and higher orders come free. The backend's kernels do the work (see
backends/runs.py), so NumPy skips add.at where the runs allow."""
from ..function import Function


class SumRuns(Function):
    @staticmethod
    def forward(ctx, x, rows, counts):
        ctx.size = x.data.shape[0]
        ctx.save_for_backward(rows, counts)
        return x._backend.sum_runs(x.data, rows, counts)

    @staticmethod
    def backward(ctx, gy):
        rows, counts = ctx.saved_tensors
        return SpreadRuns.apply(gy, None if rows is None else rows.data, counts.data, ctx.size), None, None


class SpreadRuns(Function):
    @staticmethod
    def forward(ctx, g, rows, counts, size):
        ctx.save_for_backward(rows, counts)
        return g._backend.spread_runs(g.data, rows, counts, size)

    @staticmethod
    def backward(ctx, gg):
        rows, counts = ctx.saved_tensors
        return SumRuns.apply(gg, None if rows is None else rows.data, counts.data), None, None, None


def sum_runs(x, rows, counts):
    """Row j: the sum of ``x[rows[i]]`` (a Tensor's rows) over the j-th run of
    ``counts[j]`` consecutive entries i (``rows`` None: x's own rows in order), zeros
    for an empty run. ``rows`` and ``counts`` are integer arrays of x's backend,
    ``rows`` within x's rows and ``counts`` adding up to the entries."""
    return SumRuns.apply(x, rows, counts)
