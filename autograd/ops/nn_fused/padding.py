"""Padding of a tensor's trailing axes, PyTorch's four modes, and its adjoint, which
folds a padded gradient back onto the input: each is the other's backward, so padding
is differentiable any number of times.

Along one padded axis the output is made of a few runs, each a slice of the output
filled from a slice of the input: the input itself (cropped where a padding is
negative), and before and after it the border, read backwards ('reflect'), wrapped
('circular') or broadcast from the edge element ('replicate'); 'constant' leaves the
border to the fill value. The padded tensor is the product of its axes' runs, one
strided copy per combination (at most 27, for three axes), and the adjoint adds each
combination back, summing a broadcast edge run. A gather along each axis would take
the same copies forward, but a scatter-add, several times slower, backward."""
import functools
import itertools

from ..elementwise import float_sum
from ...function import Function


class Run:
    """Output positions ``out`` (a slice) filled from input positions ``source`` (a slice,
    step 1 or -1); ``edge`` marks a one-element source broadcast over the run."""
    __slots__ = ("out", "source", "edge")

    def __init__(self, out_start, out_stop, source, edge=False):
        self.out, self.source, self.edge = slice(out_start, out_stop), source, edge


@functools.lru_cache(maxsize=512)
def axis_runs(size, before, after, mode):
    """The runs of an axis of ``size`` padded by ``before`` and ``after`` (negative ones
    crop), the input itself first. The caller has checked that the mode can pad this much.

    'reflect' and 'replicate' read input position p = i - before at output position i,
    mirrored (without repeating the edge) or clamped into [0, size). 'circular' crops
    first, then wraps the cropped input, as PyTorch's does."""
    if mode == "circular":
        start, stop = max(-before, 0), size - max(-after, 0)
        first, end = max(before, 0), max(before, 0) + stop - start
        runs = [Run(first, end, slice(start, stop))] if stop > start else []
        if before > 0:
            runs.append(Run(0, before, slice(stop - before, stop)))
        if after > 0:
            runs.append(Run(end, end + after, slice(start, start + after)))
        return tuple(runs)
    lo, hi = -before, size + after  # the positions p the output reads, before mirroring or clamping
    runs = []
    if min(size, hi) > max(lo, 0):
        start, stop = max(lo, 0), min(size, hi)
        runs.append(Run(start + before, stop + before, slice(start, stop)))
    if mode == "constant":
        return tuple(runs)
    if min(0, hi) > lo:  # p < 0
        stop = min(0, hi)
        source = slice(-lo, -stop, -1) if mode == "reflect" else slice(0, 1)
        runs.append(Run(lo + before, stop + before, source, mode == "replicate"))
    if hi > max(size, lo):  # p >= size: reflect reads 2 (size - 1) - p
        start = max(size, lo)
        last = 2 * (size - 1)
        source = slice(last - start, None if last - hi < 0 else last - hi, -1) if mode == "reflect" \
            else slice(size - 1, size)
        runs.append(Run(start + before, hi + before, source, mode == "replicate"))
    return tuple(runs)


def _combinations(ndim, runs):
    """(output index, input index, axes to sum) for each product of the axes' runs; the
    padded axes are the last len(runs) of ``ndim``."""
    lead = (slice(None),) * (ndim - len(runs))
    first = ndim - len(runs)
    for combo in itertools.product(*runs):
        edges = tuple(first + k for k, run in enumerate(combo) if run.edge)
        yield lead + tuple(r.out for r in combo), lead + tuple(r.source for r in combo), edges


def _covers(runs, shape):
    """Whether the first combination (each axis's first run, the uncropped input where
    there is one) reads the whole input: the adjoint then writes it rather than adds."""
    return all(axis and not axis[0].edge and axis[0].source.step in (None, 1) and
               (axis[0].source.start, axis[0].source.stop) == (0, size)
               for axis, size in zip(runs, shape[len(shape) - len(runs):]))


class Pad(Function):
    """``x`` with its last len(runs) axes padded (see ``axis_runs``); ``fill`` is the
    value of the positions no run covers ('constant'), None where runs cover all."""

    @staticmethod
    def forward(ctx, x, runs, out_shape, fill):
        xp = x._backend.xp
        data = x.data
        ctx.runs, ctx.in_shape, ctx.filled = runs, data.shape, fill is not None
        out = xp.empty(out_shape, dtype=data.dtype) if fill is None else xp.full(out_shape, fill, dtype=data.dtype)
        for out_index, in_index, _ in _combinations(data.ndim, runs):
            out[out_index] = data[in_index]
        return out

    @staticmethod
    def backward(ctx, gy):
        return PadAdjoint.apply(gy, ctx.runs, ctx.in_shape, ctx.filled), None, None, None


class PadAdjoint(Function):
    """A padded gradient ``g`` folded back onto the input's ``in_shape``: every run's
    output slice added onto the input slice it was read from. Linear in ``g``."""

    @staticmethod
    def forward(ctx, g, runs, in_shape, filled):
        xp = g._backend.xp
        data = g.data
        ctx.runs, ctx.out_shape, ctx.filled = runs, data.shape, filled
        combinations = _combinations(data.ndim, runs)
        if _covers(runs, in_shape):
            gx = xp.empty(in_shape, dtype=data.dtype)
            out_index, in_index, _ = next(combinations)
            gx[in_index] = data[out_index]
        else:
            gx = xp.zeros(in_shape, dtype=data.dtype)
        for out_index, in_index, edges in combinations:
            part = data[out_index]  # over ``edges``, a replicated edge's copies (float16 added in float32)
            gx[in_index] += float_sum(g._backend, part, g.dtype, axis=edges, keepdims=True) if edges else part
        return gx

    @staticmethod
    def backward(ctx, ggx):
        return Pad.apply(ggx, ctx.runs, ctx.out_shape, 0 if ctx.filled else None), None, None, None


def pad(x, runs, out_shape, fill):
    return Pad.apply(x, runs, out_shape, fill)
