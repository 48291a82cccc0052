"""Sums over runs of consecutive entries (embedding_bag's bags): ``sum_runs`` adds up
``x[rows[i]]`` over each run, each entry scaled by ``weights[i]`` where given
(per_sample_weights); ``spread_runs``, its adjoint in x, sends each run's value back
to the rows its entries name, scaled the same way; ``dot_runs``, its derivative in
the weights, is each entry's dot product of its run's gradient and its row. Each is
linear in each of its two Tensor inputs, and each one's gradients are the other two,
so higher orders come free. ``sum_runs_scaling_gradient`` is an unweighted sum whose
gradient is the weighted spread (scale_grad_by_freq). The backend's kernels do the
work (see backends/runs.py): on NumPy without add.at, and without making the
(entries, dim) products whole."""
from ..function import Function


class SumRuns(Function):
    @staticmethod
    def forward(ctx, x, weights, rows, counts):
        need_x, need_weights = ctx.needs_input_grad[:2]
        ctx.size = x.data.shape[0]
        # x's gradient needs the weights, the weights' gradient needs x: keep only what is asked for
        ctx.save_for_backward(x if need_weights else None, weights if need_x else None, rows, counts)
        return x._backend.sum_runs(x.data, rows, counts, None if weights is None else weights.data)

    @staticmethod
    def backward(ctx, gy):
        x, weights, rows, counts = ctx.saved_tensors
        rows, counts = _data(rows), counts.data
        need_x, need_weights = ctx.needs_input_grad[:2]
        return (SpreadRuns.apply(gy, weights, rows, counts, ctx.size) if need_x else None,
                DotRuns.apply(gy, x, rows, counts) if need_weights else None, None, None)


class SpreadRuns(Function):
    @staticmethod
    def forward(ctx, g, weights, rows, counts, size):
        need_g, need_weights = ctx.needs_input_grad[:2]
        ctx.save_for_backward(g if need_weights else None, weights if need_g else None, rows, counts)
        return g._backend.spread_runs(g.data, rows, counts, size, None if weights is None else weights.data)

    @staticmethod
    def backward(ctx, gz):
        g, weights, rows, counts = ctx.saved_tensors
        rows, counts = _data(rows), counts.data
        need_g, need_weights = ctx.needs_input_grad[:2]
        return (SumRuns.apply(gz, weights, rows, counts) if need_g else None,
                DotRuns.apply(g, gz, rows, counts) if need_weights else None, None, None, None)


class DotRuns(Function):
    @staticmethod
    def forward(ctx, g, x, rows, counts):
        need_g, need_x = ctx.needs_input_grad[:2]
        ctx.size = x.data.shape[0]
        ctx.save_for_backward(g if need_x else None, x if need_g else None, rows, counts)
        return g._backend.dot_runs(g.data, x.data, rows, counts)

    @staticmethod
    def backward(ctx, gd):
        g, x, rows, counts = ctx.saved_tensors
        rows, counts = _data(rows), counts.data
        need_g, need_x = ctx.needs_input_grad[:2]
        return (SumRuns.apply(x, gd, rows, counts) if need_g else None,
                SpreadRuns.apply(g, gd, rows, counts, ctx.size) if need_x else None, None, None)


class SumRunsScalingGradient(Function):
    """sum_runs whose gradient reaches x scaled by ``scale[i]`` for each entry i (an
    array: embedding's scale_grad_by_freq); the backward is the weighted spread, so its
    own derivative carries the scale too."""

    @staticmethod
    def forward(ctx, x, rows, counts, scale):
        ctx.size = x.data.shape[0]
        ctx.save_for_backward(rows, counts, scale)
        return x._backend.sum_runs(x.data, rows, counts)

    @staticmethod
    def backward(ctx, gy):
        rows, counts, scale = ctx.saved_tensors
        return SpreadRuns.apply(gy, scale, _data(rows), counts.data, ctx.size), None, None, None


def _data(saved):
    return None if saved is None else saved.data


def sum_runs(x, rows, counts, weights=None):
    """Row j: the sum of ``x[rows[i]]`` (a Tensor's rows) over the j-th run of
    ``counts[j]`` consecutive entries i (``rows`` None: x's own rows in order), times
    ``weights[i]`` (a Tensor of one value per entry, x's dtype) where given; zeros for
    an empty run. ``rows`` and ``counts`` are integer arrays of x's backend, ``rows``
    within x's rows and ``counts`` adding up to the entries."""
    return SumRuns.apply(x, weights, rows, counts)


def sum_runs_scaling_gradient(x, rows, counts, scale):
    """``sum_runs(x, rows, counts)`` whose gradient to x's rows is scaled by ``scale``
    (an array of x's dtype, one value per entry) as it is spread: entry i's share
    becomes ``scale[i]`` times its run's gradient."""
    return SumRunsScalingGradient.apply(x, rows, counts, scale)
