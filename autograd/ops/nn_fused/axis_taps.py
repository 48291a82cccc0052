"""Resampling along one axis by a sparse matrix with a few taps per output:
``y[..., i, ...] = sum_t weight_t[i] * x[..., index_t[i], ...]``, one gather (``take``)
per tap. Its adjoint is an op of the same kind, with the transposed taps (for each
input position, the outputs that read it), so each is the other's backward, both run
on gathers alone (no scatter-add), and the op is differentiable any number of times.
An inf or NaN reaches only the outputs whose taps read it, as in PyTorch's kernels."""
from ...function import Function


class Taps:
    """The taps of an (out, n) matrix: ``indices`` and ``weights``, lists of (out,)
    arrays (weights in ``dtype``, the data's, or None for weight 1), the index arrays
    non-decreasing in the output position (as every interpolation's are)."""
    __slots__ = ("backend", "dtype", "n", "indices", "weights", "_transposed")

    def __init__(self, backend, dtype, n, indices, weights, transposed=None):
        self.backend, self.dtype, self.n, self.indices, self.weights = backend, dtype, n, indices, weights
        self._transposed = transposed

    @property
    def out(self):
        return self.indices[0].shape[0]

    def transposed(self):
        """The (n, out) matrix's taps. The outputs that read input j lie in one run
        [start, stop) of consecutive positions (every index array is non-decreasing), so
        the k-th member of each input's run, for k below the longest run, is one tap of
        the transpose, weighted by the sum of the taps that read j there (0 for a member
        that does not, or past the run's end)."""
        if self._transposed is None:
            xp = self.backend.xp
            positions = xp.arange(self.n, dtype=xp.int64)
            starts = [xp.searchsorted(index, positions, side="left") for index in self.indices]
            stops = [xp.searchsorted(index, positions, side="right") for index in self.indices]
            start, stop = starts[0], stops[0]
            for other_start, other_stop in zip(starts[1:], stops[1:]):
                start, stop = xp.minimum(start, other_start), xp.maximum(stop, other_stop)
            last = xp.asarray(self.out - 1, dtype=xp.int64)
            zero, one = xp.zeros((), dtype=self.dtype), xp.ones((), dtype=self.dtype)
            indices, weights = [], []
            for k in range(int(xp.max(stop - start))):
                member = xp.minimum(start + k, last)
                weight = None
                for index, tap_weight in zip(self.indices, self.weights):
                    hit = xp.where(xp.take(index, member) == positions,
                                   one if tap_weight is None else xp.take(tap_weight, member), zero)
                    weight = hit if weight is None else weight + hit
                indices.append(member)
                weights.append(xp.where(start + k < stop, weight, zero))
            self._transposed = Taps(self.backend, self.dtype, self.out, indices, weights, self)
        return self._transposed


class ResampleAxis(Function):
    """``x`` resampled along ``axis`` by ``taps``."""

    @staticmethod
    def forward(ctx, x, axis, taps):
        xp = x._backend.xp
        ctx.axis, ctx.taps = axis, taps
        data = x.data
        trailing = (1,) * (data.ndim - axis - 1)
        y = None
        for index, weight in zip(taps.indices, taps.weights):
            part = xp.take(data, index, axis=axis)  # a new array: the products and sums go in place
            if weight is not None:
                part *= xp.reshape(weight, (-1,) + trailing)
            if y is None:
                y = part
            else:
                y += part
        return y

    @staticmethod
    def backward(ctx, gy):
        return ResampleAxis.apply(gy, ctx.axis, ctx.taps.transposed()), None, None


def resample_axis(x, axis, taps):
    return ResampleAxis.apply(x, axis, taps)
