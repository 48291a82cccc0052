"""NumPy's statistics and binning functions: ``average``, ``ptp``, ``cov``, ``corrcoef``,
``trapezoid``, SciPy's ``cumulative_trapezoid``, ``interp`` and ``bincount`` (all
differentiable, composed of other ops), and ``histogram``, ``isin`` and ``argwhere``
(counts, flags and indices, outside the graph).

Integer inputs give the default float where NumPy gives float64 (as mean does here), and
float16 is worked in float32 and rounded once."""
import builtins
import math
import numbers
import warnings
from collections import namedtuple

from backends import dtypes

from ..shapes import INTEGER, normalize_axis, single_axis
from ..tensor import Tensor, default_dtype, on_one_device
from ..user_code import user_stacklevel
from .elementwise import as_tensor, astype, clip, constant, floating, in_float32, sqrt, where
from .gather import take
from .indexing import IndexAdd
from .linalg import matmul
from .logical import truth
from .matrix_parts import diagonal
from .reduction import max, mean, min, sum
from .rounding import remainder
from .scan import cumsum, diff, part
from .searching import nonzero
from .shape import broadcast_to, concat, reshape, squeeze, transpose


def _common_float(op, *tensors):
    """``tensors`` (on one device) in their promoted dtype, the default float where that is
    not floating."""
    on_one_device(op, *tensors)
    common = tensors[0].dtype
    for t in tensors[1:]:
        common = dtypes.promote(common, t.dtype, False, False)
    if not dtypes.is_floating(common):
        common = default_dtype()
    return [astype(t, common, copy=False) for t in tensors]


def average(a, axis=None, weights=None, returned=False, keepdims=False):
    """NumPy's average: the mean over ``axis``, or with ``weights`` sum(a * w) / sum(w);
    weights of a's shape, or of the shape of a's axes in ``axis`` (in that order).
    ``returned`` also gives sum(w) (or the count), spread to the result's shape. Weights
    that sum to 0 are a ZeroDivisionError, as in NumPy. Differentiable in a and weights."""
    a = as_tensor(a)
    axes = normalize_axis("average", axis, a.ndim)
    if weights is None:
        avg = mean(a, axes, keepdims)
        if not returned:
            return avg
        return avg, broadcast_to(as_tensor(math.prod(a.shape[i] for i in axes), avg), avg.shape)
    a, w = _common_float("average", a, as_tensor(weights, a))
    if a.dtype == dtypes.float16:  # the products and sums in float32, each result rounded once
        wide = average(astype(a, dtypes.float32), axis, astype(w, dtypes.float32), returned, keepdims)
        return tuple(astype(t, dtypes.float16) for t in wide) if returned else astype(wide, dtypes.float16)
    if w.shape != a.shape:
        if axis is None:
            raise ValueError(f"average: weights of shape {w.shape} differ from a's shape {a.shape}; "
                             "give the axis the weights run along, or weights of a's shape")
        listed = axis if isinstance(axis, (tuple, list)) else (axis,)
        given = [int(i) % a.ndim for i in listed] if a.ndim else []  # in the caller's order
        if w.shape != tuple(a.shape[i] for i in given):
            raise ValueError(f"average: weights of shape {w.shape} do not fit axis {axis} of a, of shape "
                             f"{a.shape}; give weights of shape {tuple(a.shape[i] for i in given)} or {a.shape}")
        order = sorted(range(len(given)), key=given.__getitem__)  # the weights' axes in a's order
        w = reshape(transpose(w, order) if w.ndim > 1 else w,
                    tuple(n if i in given else 1 for i, n in enumerate(a.shape)))
    total = sum(w, axes, keepdims)  # (1 on a's other axes where w was reshaped: it broadcasts)
    if bool(w._backend.xp.any(total.data == 0)):
        raise ZeroDivisionError("average: the weights sum to zero, so they cannot be normalized; "
                                "give weights with a nonzero sum along the axis")
    avg = sum(a * w, axes, keepdims) / total
    return (avg, broadcast_to(total, avg.shape)) if returned else avg


def ptp(a, axis=None, keepdims=False):
    """The range, max - min, over ``axis`` (NumPy's ptp; integers wrap in their dtype, as
    there). The gradient is max's and min's: ties share it. A slice holding a NaN has a NaN
    range, and its gradient is NaN at every entry, as that of PyTorch's aminmax (or amax -
    amin): max's and min's alone give the NaN +1 and -1, which cancelled to 0 everywhere."""
    a = as_tensor(a)
    axes = normalize_axis("ptp", axis, a.ndim)
    if a.size == 0 and any(a.shape[i] == 0 for i in axes):
        raise ValueError(f"ptp: cannot reduce an empty axis of a tensor of shape {a.shape}")
    spread = max(a, axes, keepdims) - min(a, axes, keepdims)
    xp = a._backend.xp
    nan = xp.isnan(a.data) if dtypes.is_floating(a.dtype) else None
    if nan is not None and bool(xp.any(nan)):
        # Adds sum(a * NaN) over the slices holding a NaN, whose range is NaN already, and 0
        # over the others (a taken as 0 there, so that an infinity makes no NaN): the NaN
        # slices' gradient is NaN at every entry, the others' max's and min's.
        holds_nan = xp.any(nan, axis=axes, keepdims=True)
        poison = constant(xp.where(holds_nan, xp.full_like(a.data, math.nan), xp.zeros_like(a.data)), a)
        spread = spread + sum(where(constant(holds_nan, a), a, 0.0) * poison, axes, keepdims)
    return spread


def _variables(op, m, rowvar, transpose_one_row):
    """``m`` (at most 2-d) as a matrix with one variable per row."""
    if m.ndim > 2:
        raise ValueError(f"{op}: takes at most 2-d input (variables by observations), got shape {m.shape}; "
                         "reshape it to 2-d")
    matrix = reshape(m, (1, -1) if m.ndim else (1, 1)) if m.ndim < 2 else m
    # NumPy transposes m unless it is 1-d, and y unless it is a single row
    if not rowvar and (m.ndim != 1 if transpose_one_row else matrix.shape[0] != 1):
        matrix = transpose(matrix)
    return matrix


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, dtype=None, *,
        correction=None):
    """NumPy's covariance matrix of the variables in the rows of ``m`` (columns where not
    ``rowvar``), with ``y``'s appended: ``ddof`` (1, or 0 with ``bias``; or ``correction``,
    torch.cov's name for it) degrees of freedom removed, observations weighted by integer
    ``fweights`` and ``aweights``. A single variable gives a 0-d result. Differentiable in
    m, y and aweights; torch.cov's gradient."""
    if correction is not None:
        if ddof is not None or bias:
            given = f"ddof={ddof}" if ddof is not None else f"bias={bias}"
            raise ValueError(f"cov: {given} and correction={correction} are two names for one thing; give one")
        ddof = correction
    if ddof is not None and (not isinstance(ddof, numbers.Real) or ddof != int(ddof)):
        raise TypeError(f"cov: ddof must be an integer, not {ddof!r}")
    m = as_tensor(m)
    parts = [m] if y is None else [m, as_tensor(y, m)]
    if dtype is not None:
        parts = [astype(p, dtype, copy=False) for p in parts]
    parts = _common_float("cov", *parts)
    if parts[0].dtype == dtypes.float16:
        return in_float32(lambda wide_m, *wide_y: cov(wide_m, wide_y[0] if wide_y else None, rowvar, bias, ddof,
                                                      fweights, aweights), *parts)
    x = _variables("cov", parts[0], rowvar, True)
    if y is not None:
        x = concat([x, _variables("cov", parts[1], rowvar, False)], 0)
    n = x.shape[1]
    if x.shape[0] == 0:
        return Tensor._make(x._backend.xp.zeros((0, 0), dtype=x.data.dtype), x._backend)
    ddof = (0 if bias else 1) if ddof is None else int(ddof)
    w = _observation_weights("fweights", fweights, x, integers=True)
    importance = _observation_weights("aweights", aweights, x, integers=False)
    if importance is not None:
        w = importance if w is None else w * importance
    if w is None:
        avg, fact = mean(x, 1, keepdims=True), n - ddof
    else:
        avg, total = average(x, 1, w, returned=True, keepdims=True)
        total = total[0, 0]
        fact = total if ddof == 0 else total - ddof * (1 if importance is None else sum(w * importance) / total)
    if float(fact.item() if isinstance(fact, Tensor) else fact) <= 0:
        warnings.warn(f"cov: ddof={ddof} leaves no degrees of freedom for {n} observations, so the result is "
                      "inf or nan; pass a smaller ddof, or give more observations", RuntimeWarning,
                      stacklevel=user_stacklevel())
        fact = 0.0
    centered = x - avg
    weighted = centered if w is None else centered * w
    return squeeze(matmul(centered, transpose(weighted)) / fact)


def _observation_weights(name, weights, x, integers):
    """cov's ``fweights`` or ``aweights`` as a float tensor of one weight per observation
    (a column of ``x``), checked as NumPy checks them; None stays None."""
    if weights is None:
        return None
    weights = as_tensor(weights, x)
    on_one_device("cov", x, weights)
    if integers and dtypes.is_floating(weights.dtype):
        if bool(x._backend.xp.any(weights.data != x._backend.xp.round(weights.data))):
            raise TypeError(f"cov: {name} must hold whole numbers (frequencies); use aweights for others")
    if weights.ndim != 1 or weights.shape[0] != x.shape[1]:
        raise ValueError(f"cov: {name} must be 1-d, one per observation ({x.shape[1]}), got shape {weights.shape}")
    if weights.size and bool(x._backend.xp.any(weights.data < 0)):
        raise ValueError(f"cov: {name} cannot be negative")
    return astype(weights, x.dtype, copy=False)


def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """NumPy's Pearson correlation coefficients: cov normalized by each variable's standard
    deviation, clipped to [-1, 1]; a single variable gives x / x as there (1, or NaN for
    a constant). A constant variable gives NaN in its row and column. torch.corrcoef's
    gradient."""
    c = cov(x, y, rowvar, dtype=dtype)
    if c.ndim == 0:
        return c / c
    stddev = sqrt(diagonal(c))
    c = c / reshape(stddev, (-1, 1))
    c = c / reshape(stddev, (1, -1))
    return clip(c, -1, 1)


def _trapezoids(op, y, x, dx, axis):
    """The area of each trapezoid under ``y`` along ``axis``: d * (y[i] + y[i+1]) / 2,
    with d the steps of ``x`` (1-d along axis, or of y's shape) or ``dx``; and the axis."""
    y = floating(y)
    if y.ndim == 0:
        raise ValueError(f"{op}: y is 0-d; give samples along at least one axis")
    axis = single_axis(op, axis, y.ndim)
    if x is None:
        d = dx
    else:
        x = as_tensor(x, y)
        on_one_device(op, y, x)
        if x.ndim == 1:
            if x.shape[0] != y.shape[axis]:
                raise ValueError(f"{op}: x has {x.shape[0]} points where y has {y.shape[axis]} along axis {axis}; "
                                 "give one x per sample")
            d = reshape(diff(x), tuple(-1 if i == axis else 1 for i in range(y.ndim)))
        elif x.ndim != y.ndim:
            raise ValueError(f"{op}: x must be 1-d or have y's {y.ndim} axes, got shape {x.shape}")
        else:
            d = diff(x, axis=axis)
    upper, lower = y[part(axis, 1, None)], y[part(axis, None, -1)]
    return d * (upper + lower) / 2.0, axis


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The integral of ``y`` along ``axis`` by the trapezoidal rule, at the points ``x``
    or at spacing ``dx`` (NumPy's trapezoid, torch.trapezoid). Differentiable in y, x and
    a Tensor dx."""
    y = as_tensor(y)
    if y.dtype == dtypes.float16:
        return astype(trapezoid(astype(y, dtypes.float32), x, dx, axis), dtypes.float16)
    areas, axis = _trapezoids("trapezoid", y, x, dx, axis)
    return sum(areas, axis)


def cumulative_trapezoid(y, x=None, dx=1.0, axis=-1, initial=None):
    """The running integral of ``y`` along ``axis`` by the trapezoidal rule, one shorter
    than y, or led by ``initial`` (SciPy's cumulative_trapezoid, which takes only 0 or
    None there; torch.cumulative_trapezoid)."""
    if initial is not None and (not isinstance(initial, numbers.Number) or initial != 0):
        raise ValueError(f"cumulative_trapezoid: initial must be None or 0 (SciPy's rule), got {initial!r}; "
                         "add a constant to the result instead")
    y = as_tensor(y)
    if y.dtype == dtypes.float16:
        return astype(cumulative_trapezoid(astype(y, dtypes.float32), x, dx, axis, initial), dtypes.float16)
    areas, axis = _trapezoids("cumulative_trapezoid", y, x, dx, axis)
    if y.shape[axis] == 0:  # SciPy's rule: the running integral starts at a point
        raise ValueError(f"cumulative_trapezoid: y has no points along axis {axis}; give at least one")
    running = cumsum(areas, axis)
    if initial is None:
        return running
    shape = tuple(1 if i == axis else n for i, n in enumerate(running.shape))
    return concat([Tensor._make(running._backend.xp.zeros(shape, dtype=running.data.dtype), running._backend),
                   running], axis)


def interp(x, xp, fp, left=None, right=None, period=None):
    """NumPy's one-dimensional linear interpolation: at each ``x``, the piecewise linear
    function through the points (``xp``, ``fp``), xp increasing; ``left`` and ``right``
    (fp's ends by default) beyond them, or with ``period`` the points repeated every
    period. The result has the promoted floating dtype of x, xp and fp (NumPy's is
    float64). Differentiable in x, fp (and xp): at a sample point the gradient in x is
    the slope to its right, past the ends 0."""
    # Lists and arrays go to the device of the Tensors among the three (they have none of their own)
    fp = as_tensor(fp, next((v for v in (x, xp) if isinstance(v, Tensor)), None))
    x, knots, fp = _common_float("interp", as_tensor(x, fp), as_tensor(xp, fp), fp)
    if knots.ndim != 1 or fp.ndim != 1:
        raise ValueError(f"interp: xp and fp must be 1-d, got shapes {knots.shape} and {fp.shape}")
    if knots.shape[0] != fp.shape[0]:
        raise ValueError(f"interp: xp has {knots.shape[0]} points and fp {fp.shape[0]} values; give one value "
                         "per point")
    if knots.shape[0] == 0:
        raise ValueError("interp: xp is empty; give at least one point to interpolate between")
    if period is not None:
        if period == 0:
            raise ValueError("interp: period must be nonzero")
        period = abs(period)
        x, knots = remainder(x, period), remainder(knots, period)
        order = Tensor._make(knots._backend.xp.argsort(knots.data), knots._backend)
        knots, fp = take(knots, order), take(fp, order)
        knots = concat([knots[-1:] - period, knots, knots[:1] + period])
        fp = concat([fp[-1:], fp, fp[:1]])
        left = right = None  # as NumPy: a periodic function has no outside
    n = knots.shape[0]
    backend = x._backend
    xs = backend.xp
    if n == 1:
        inside = broadcast_to(fp[0], x.shape)
    else:
        # the segment each x falls in: xp[j] <= x < xp[j + 1], the last one for x at the end
        j = xs.searchsorted(knots.data, xs.reshape(x.data, (-1,)), side="right") - 1
        j = Tensor._make(xs.clip(j, 0, n - 2), backend)
        x0, x1, y0, y1 = take(knots, j), take(knots, j + 1), take(fp, j), take(fp, j + 1)
        run = x1 - x0
        slope = (y1 - y0) / where(run == 0, 1, run)  # a repeated point's segment is never used
        flat = reshape(x, (-1,))
        inside = reshape(where(flat == x1, y1, slope * (flat - x0) + y0), x.shape)
    low = fp[0] if left is None else as_tensor(left, x)
    high = fp[-1] if right is None else as_tensor(right, x)
    return where(x < knots[0], low, where(x > knots[-1], high, inside))


def bincount(x, weights=None, minlength=0):
    """How often each value 0, 1, ... occurs in the 1-d non-negative integer tensor ``x``
    (int64), at least ``minlength`` of them; with ``weights``, the sum of the weights of
    each value's occurrences, differentiable in the weights (each gets its bin's gradient).
    Floating weights keep their dtype (NumPy's bincount gives float64; integer weights do
    here too), float16 summed in float32."""
    x = as_tensor(x)
    if dtypes.category(x.dtype) > 1:
        raise TypeError(f"bincount: x must hold non-negative integers, not {x.dtype}; cast it with "
                        "x.astype(ag.int64) if it holds whole numbers")
    if x.ndim != 1:
        raise ValueError(f"bincount: x must be 1-d, got shape {x.shape}; flatten it first")
    if not isinstance(minlength, INTEGER) or isinstance(minlength, bool):
        raise TypeError(f"bincount: minlength must be an int, not {minlength!r}")
    if minlength < 0:
        raise ValueError(f"bincount: minlength must be at least 0, got {minlength}")
    backend = x._backend
    xs = backend.xp
    index = xs.astype(x.data, backend.native_dtype(dtypes.int64))  # a copy: the caller may change x later
    if x.size and int(xs.min(index)) < 0:
        raise ValueError(f"bincount: x holds negative values (the least is {int(xs.min(index))}); "
                         "bincount counts the values 0, 1, ...: shift them first")
    bins = builtins.max(int(xs.max(index)) + 1 if x.size else 0, int(minlength))
    if weights is None:
        ones = xs.ones(index.shape, dtype=index.dtype)
        return Tensor._make(backend.scatter_add((bins,), (index,), ones), backend)
    weights = as_tensor(weights, x)
    on_one_device("bincount", x, weights)
    if weights.shape != x.shape:
        raise ValueError(f"bincount: weights of shape {weights.shape} must match x's shape {x.shape}, one each")
    if not dtypes.is_floating(weights.dtype):
        weights = astype(weights, dtypes.float64)
    if weights.dtype == dtypes.float16:
        return in_float32(lambda wide: IndexAdd.apply(wide, (index,), True, (bins,)), weights)
    return IndexAdd.apply(weights, (index,), True, (bins,))


HistogramResult = namedtuple("HistogramResult", ["hist", "bin_edges"])


def histogram(a, bins=10, range=None, density=None, weights=None):
    """NumPy's histogram of the flattened ``a``: ``bins`` equal bins over ``range`` (a's
    min to max by default) or the given increasing edges, each bin holding [edge, next
    edge) and the last its right edge too; values outside, and NaN, are left out. Gives
    (hist, bin_edges): int64 counts, or with ``weights`` their sums in the weights' dtype,
    or with ``density`` values that integrate to 1 over the range (in the edges' dtype,
    the weights' or the default float for integer edges, where NumPy's are float64). Edges take a's floating dtype, float64 for integers, as
    NumPy's. Not differentiable. NumPy's string estimators of ``bins`` are not offered."""
    a = as_tensor(a)
    on_one_device("histogram", a, weights, bins)
    if weights is not None:
        weights = as_tensor(weights, a)
        if weights.shape != a.shape:
            raise ValueError(f"histogram: weights of shape {weights.shape} must match a's shape {a.shape}, one each")
        weights = reshape(weights, (-1,))
    a = reshape(a, (-1,))
    backend = a._backend
    xs = backend.xp
    if isinstance(bins, str):
        raise ValueError(f"histogram: bins={bins!r}: NumPy's bin estimators are not offered; give the number "
                         "of bins or their edges")
    even = isinstance(bins, INTEGER) and not isinstance(bins, bool)
    edges = _even_edges(a, int(bins), range) if even else _given_edges(a, bins)
    common = dtypes.promote(a.dtype, edges.dtype, False, False)  # compared in one dtype
    values, edges_cmp = astype(a, common, copy=False), astype(edges, common, copy=False)
    count = edges.shape[0] - 1
    # bin i holds edges[i] <= v < edges[i + 1], the last bin its right edge too; what lies
    # outside (and NaN) is binned somewhere and adds nothing
    inside = (values.data >= edges_cmp.data[0]) & (values.data <= edges_cmp.data[-1])
    all_inside = bool(xs.all(inside))
    where_to = _even_bin(backend, values.data, edges_cmp.data, inside, all_inside) if even else None
    if where_to is None:  # uneven edges, or even ones too close for arithmetic
        where_to = xs.searchsorted(edges_cmp.data, values.data, side="right") - 1
        where_to = xs.clip(where_to, 0, count - 1)  # (the right edge into the last bin)
    int64 = backend.native_dtype(dtypes.int64)
    index = (xs.astype(where_to, int64, copy=False),)
    if weights is None:
        # each value adds one, or nothing where it lies outside
        ones = xs.ones(where_to.shape, dtype=int64) if all_inside else xs.astype(inside, int64)
        hist = backend.scatter_add((count,), index, ones)
        hist_dtype = dtypes.int64
    else:
        hist_dtype = weights.dtype
        wide = dtypes.float64 if dtypes.is_floating(hist_dtype) else dtypes.int64  # as NumPy adds them
        added = xs.astype(weights.data, backend.native_dtype(wide))
        if not all_inside:  # (a 0 added to a sum that starts at +0 leaves it as it is)
            added = xs.where(inside, added, xs.zeros_like(added))
        hist = xs.astype(backend.scatter_add((count,), index, added), backend.native_dtype(hist_dtype))
    hist = Tensor._make(hist, backend)
    if density:
        widths = diff(edges)
        if widths.dtype == dtypes.float16:  # (counts past 65504, and count / width, overflow float16)
            hist = in_float32(lambda counts, wide: counts / wide / sum(counts), hist, widths)
        else:
            if dtypes.is_floating(widths.dtype):
                hist = astype(hist, widths.dtype)
            else:  # integer edges: a floating dtype, or the weights' sums would be truncated
                hist, widths = _common_float("histogram", hist, widths)
            hist = hist / widths / sum(hist)
    return HistogramResult(hist.detach(), edges.detach())


def _even_bin(backend, values, edges, inside, all_inside):
    """Each value's bin among equal ones from ``edges`` (as _even_edges makes them, in
    values' dtype) by arithmetic, as NumPy's histogram finds it, in place of a binary
    search (7x slower): the fraction of the range times the number of bins, put right by
    one against the edges themselves where it rounded across one, which also settles
    values on an edge. Values not ``inside`` (all are, where ``all_inside``) get bin 0.
    None where the rounding of that arithmetic and of the edges could move a value by a
    whole bin (a range narrow against its distance from 0, very many bins), so that one
    step back or forth would not settle it."""
    xs = backend.xp
    count = edges.shape[0] - 1
    first, last = float(edges[0]), float(edges[-1])
    # Both are off by a few roundings of the edges' size: in bins, eps * count * (1 + largest
    # edge / range) each (see _even_edges); within half a bin, one step settles every value.
    span = last - first  # (inf past float64's range, 0 where float16 edges merged)
    scale = count / span if span > 0 else math.inf
    if not (math.isfinite(span) and math.isfinite(scale)
            and 4 * xs.finfo(values.dtype).eps * count * (1 + builtins.max(abs(first), abs(last)) / span) < 0.5):
        return None
    if not all_inside:  # outside (and NaN, which has no index) as the first edge
        values = xs.where(inside, values, edges[0])
    position = values - first
    position *= scale
    where_to = xs.astype(xs.clip(position, 0, count - 1), backend.native_dtype(dtypes.int64))  # (toward 0)
    below = values < xs.take(edges[:-1], where_to)
    if bool(xs.any(below)):
        where_to = xs.where(below, where_to - 1, where_to)
    # the last bin holds its right edge: nothing lies at or past an upper edge of inf
    upper = xs.concat([edges[1:-1], xs.full((1,), math.inf, dtype=edges.dtype)])
    above = values >= xs.take(upper, where_to)
    if bool(xs.any(above)):
        where_to = xs.where(above, where_to + 1, where_to)
    return where_to


def _given_edges(a, bins):
    """``bins``, a tensor or a sequence of increasing edges, as a 1-d tensor: a sequence
    of floats takes a's floating dtype, as a Python float beside a tensor does, and float64
    beside integers, as NumPy's (float32 would move edges past 2**24)."""
    if isinstance(bins, Tensor):
        edges = bins
    elif dtypes.is_floating(a.dtype):
        edges = Tensor(bins, dtype=a.dtype, device=a._backend)
    else:
        edges = Tensor(bins, device=a._backend)
        if dtypes.is_floating(edges.dtype):
            edges = Tensor(bins, dtype=dtypes.float64, device=a._backend)
    if edges.ndim != 1:
        raise ValueError(f"histogram: bins must be an int or 1-d edges, got shape {edges.shape}")
    if edges.shape[0] < 2 or bool(a._backend.xp.any(edges.data[1:] < edges.data[:-1])):
        raise ValueError("histogram: bin edges must increase monotonically, at least two of them")
    return edges


def _even_edges(a, bins, range):
    """``bins + 1`` evenly spaced edges over ``range`` or a's min and max (widened by 0.5
    both ways where they are equal), as NumPy's histogram makes them: in a's dtype
    (float64 for integers), computed as np.linspace does."""
    if bins < 1:
        raise ValueError(f"histogram: bins must be at least 1, got {bins}")
    backend = a._backend
    xs = backend.xp
    edge_dtype = a.dtype if dtypes.is_floating(a.dtype) else dtypes.float64
    if range is not None:
        first, last = (float(v) for v in range)
        if first > last:
            raise ValueError(f"histogram: range={range!r} runs backward; give (min, max) with min <= max")
        if not (math.isfinite(first) and math.isfinite(last)):
            raise ValueError(f"histogram: range={range!r} is not finite")
        step_dtype = dtypes.float64  # NumPy's linspace works Python floats in float64
    elif a.size == 0:
        first, last, step_dtype = 0.0, 1.0, dtypes.float64
    else:
        first, last = float(xs.min(a.data)), float(xs.max(a.data))
        if not (math.isfinite(first) and math.isfinite(last)):
            raise ValueError(f"histogram: a's values run from {first} to {last}, which is not a finite range; "
                             "give range=(min, max), or drop the NaNs and infinities first")
        step_dtype = edge_dtype  # from a's own min and max, NumPy's linspace works in a's dtype
    if first == last:
        first, last = first - 0.5, last + 0.5
    native = backend.native_dtype(step_dtype)
    start, stop = xs.asarray(first, dtype=native), xs.asarray(last, dtype=native)
    step = (stop - start) / bins
    edges = xs.arange(bins + 1, dtype=native) * step + start
    edges = xs.concat([edges[:-1], xs.reshape(stop, (1,))])
    return Tensor._make(xs.astype(edges, backend.native_dtype(edge_dtype)), backend)


def isin(element, test_elements, assume_unique=False, invert=False, *, kind=None):
    """Whether each entry of ``element`` is among ``test_elements`` (a bool tensor of
    element's shape, negated with ``invert``); NaN is in nothing, as NaN != NaN. The two
    are compared in their promoted dtype. ``assume_unique`` and ``kind`` (None, 'sort' or
    'table') change only how NumPy searches, not the answer, and are accepted for that."""
    if kind not in (None, "sort", "table"):
        raise ValueError(f"isin: kind must be None, 'sort' or 'table', not {kind!r}")
    if not isinstance(element, Tensor) and isinstance(test_elements, Tensor):
        element = Tensor(element, device=test_elements._backend)  # (a list has no device: test_elements')
    element = as_tensor(element)
    test = as_tensor(test_elements, element)
    on_one_device("isin", element, test)
    if element.dtype != test.dtype:
        common = dtypes.promote(element.dtype, test.dtype, False, False)
        element, test = astype(element, common, copy=False), astype(test, common, copy=False)
    backend = element._backend
    xs = backend.xp
    flat, pool = xs.reshape(element.data, (-1,)), xs.reshape(test.data, (-1,))
    if flat.dtype == xs.bool:  # the standard sorts no bools: as 0 and 1
        int8 = backend.native_dtype(dtypes.canonical("int8"))
        flat, pool = xs.astype(flat, int8), xs.astype(pool, int8)
    if pool.shape[0] == 0:
        found = xs.zeros(flat.shape, dtype=xs.bool)
    else:
        pool = xs.sort(pool)
        at = xs.clip(xs.searchsorted(pool, flat), 0, pool.shape[0] - 1)
        found = xs.take(pool, at) == flat
    if invert:
        found = xs.logical_not(found)
    return Tensor._make(xs.reshape(found, element.shape), backend)


def argwhere(a):
    """The indices of ``a``'s nonzero (true, NaN included) entries, one row of ``a.ndim``
    int64 indices per entry, in row-major order: shape (N, a.ndim). A 0-d tensor gives
    shape (1, 0) or (0, 0), as NumPy's."""
    a = as_tensor(a)
    backend = a._backend
    int64 = backend.native_dtype(dtypes.int64)
    if a.ndim == 0:
        return Tensor._make(backend.xp.zeros((int(bool(truth(a))), 0), dtype=int64), backend)
    return Tensor._make(backend.xp.stack([i.data for i in nonzero(a)], axis=1), backend)
