"""Scans along one axis: ``cumsum`` and ``cumprod`` (NumPy's names; the Array API's
``cumulative_sum`` and ``cumulative_prod`` beside them), PyTorch's ``cummax``, ``cummin``
and ``logcumsumexp``, and ``diff``.

As in NumPy, ``axis=None`` scans the flattened tensor; a 0-d tensor scanned along
axis 0 (or -1) is returned as it is, as in PyTorch. Integers and bools accumulate
in int64 and float16 in float32, as the reductions do, and float32 in float64, as
PyTorch's scans on the CPU do (see accumulate)."""
import math
from collections import namedtuple

from backends import dtypes, floating_point_warnings_off

from ..autocast_mode import autocast_op
from ..function import Function
from ..shapes import INTEGER, single_axis
from .comparison import not_equal
from .elementwise import accumulate, as_tensor, constant, exp, floating, in_dtype, in_float32, where
from .gather import scatter_add_along_axis
from .nonfinite import isfinite
from .shape import broadcast_to, concat, reshape


def part(axis, start, stop, step=None):
    """The index of ``start:stop:step`` along ``axis`` (everything along the others)."""
    return (slice(None),) * axis + (slice(start, stop, step), Ellipsis)


def reversed_along(x, axis):
    return x[part(axis, None, None, -1)]


class Cumsum(Function):
    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        return accumulate(x._backend.xp.cumulative_sum, x, scan=True, axis=axis)

    @staticmethod
    def backward(ctx, gy):
        # Each x_i reaches every y_j with j >= i: the gradient is the sum of gy from i on.
        axis = ctx.axis
        return reversed_along(Cumsum.apply(reversed_along(gy, axis), axis), axis), None


class Cumprod(Function):
    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        y = accumulate(x._backend.xp.cumulative_prod, x, scan=True, axis=axis)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        with floating_point_warnings_off():  # products past the range are inf, quietly, as PyTorch's
            if x.dtype == dtypes.float16:  # (S_i below, a sum of products, passes 65504 after 16 2s)
                return in_float32(lambda *wide: _cumprod_gradient(*wide, ctx.axis), x, y, gy), None
            return _cumprod_gradient(x, y, gy, ctx.axis), None


def _cumprod_gradient(x, y, gy, axis):
    """Lines whose running products are all normal numbers take (sum_{j>=i} gy_j y_j) / x_i,
    as PyTorch's: the products that _cumprod_gradient_by_products multiplies can over- or
    underflow where y and the gradient do not (at [1e-300, 1, 1e300, 1e10], 1e300 * 1e10
    does, and gx_1 = 1e10 was inf). The others (zeros, infinities, a y that under- or
    overflowed) keep the products."""
    if x.shape[axis] == 0:
        return gy
    whole_lines = x._backend.xp.all(_normal(x._backend.xp, y.data), axis=axis, keepdims=True)
    return _line_by_line(whole_lines, lambda *t: CumprodGradientByDivision.apply(*t, axis),
                         lambda *t: _cumprod_gradient_by_products(*t, axis), x, y, gy)


class CumprodGradientByDivision(Function):
    """cumprod's gradient gx_i = T_i / x_i, T_i = sum_{j>=i} gy_j y_j (y = cumprod(x), given
    for its values: its dependence on x is in the x gradient below, so y's own is None).
    That derivative is taken whole, as d gx_i / d x_m = sum_{j>=max(i,m)} gy_j y_j / (x_i x_m)
    for m != i and 0 for m = i; through T / x it was the difference of two equal terms there."""

    @staticmethod
    def forward(ctx, x, y, gy, axis):
        xp = x._backend.xp
        weighted = constant(xp.flip(gy.data * y.data, axis=axis), x)
        sums = xp.flip(accumulate(xp.cumulative_sum, weighted, scan=True, axis=axis), axis=axis)
        ctx.axis = axis
        gx = sums / x.data
        ctx.save_for_backward(x, y, gx)
        return gx

    @staticmethod
    def backward(ctx, g):
        x, y, gx = ctx.saved_tensors
        axis, scaled = ctx.axis, g / x
        # d gx_i / d x_m = T_max(i,m) / (x_i x_m) for i != m: gx_m times the sum of g_i / x_i
        # over i < m, and the sum of g_i gx_i over i > m, over x_m. d gx_i / d gy_j = y_j / x_i
        # for j >= i.
        gx_input = gx * _sums_before(scaled, axis) + _sums_after(g * gx, axis) / x
        return gx_input, None, y * Cumsum.apply(scaled, axis), None


def _cumprod_gradient_by_products(x, y, gy, axis):
    """dy_j/dx_i = prod_{k<=j, k!=i} x_k for j >= i, so gx_i = y_{i-1} S_i, where
    S_i = sum_{j>=i} gy_j prod_{i<k<=j} x_k = gy_i + x_{i+1} S_{i+1}. Products and
    sums only: no division by x, so zeros (one or many) get their exact gradient,
    and the gradient is differentiable again (as PyTorch's, which divides where
    it can and falls back to an O(n^2) form for a second order)."""
    n = x.shape[axis]
    if n == 0:
        return gy
    one = _ones_along(y, axis)
    before = concat([one, y[part(axis, 0, n - 1)]], axis)
    after = concat([x[part(axis, 1, None)], one], axis)  # x_{i+1} (the last is never used)
    sums = _reverse_linear_scan(after, gy, axis)
    xp = x._backend.xp
    if bool(xp.any(before.data == 0)):  # past a zero, y_{i-1} is 0: an overflowed sum there counts nothing
        sums = _stopped_at_zeros(before, sums)
    gx = before * sums
    if not bool(xp.all(xp.isfinite(x.data)) & xp.all(xp.isfinite(gy.data))):  # (one wait on a GPU, not two)
        mask, values = _nonfinite_cumprod_gradient(x, gy, axis)
        gx = where(constant(mask, x), constant(values, x), gx)
    return gx


def _nonfinite_cumprod_gradient(x, gy, axis):
    """Where cumprod's gradient gx_i = sum_{j>=i} gy_j P_ij, P_ij = prod_{k<=j, k!=i} x_k, is
    NaN or infinite in IEEE arithmetic because an x or a gy is (0 * inf and inf - inf are NaN):
    the mask of those entries and their values. y_{i-1} S_i multiplies an infinite y_{i-1} by
    the sum of the terms, not each term: at [1, -inf, 2, -inf] gx_2 = -inf + inf was inf. And
    the products stop at a zero whatever lies past it, right for sums that overflowed but not
    for a NaN or an infinity there: at [nan, 0, nan] gx_0 = 1 + 0 + 0 * nan was 1. This is
    PyTorch's formula for it (the O(n^2) one it takes under create_graph); its plain path
    divides, or drops what lies past a line's first zero.

    Each term's kind (NaN, +-inf, 0, finite) follows from the counts of NaNs, infinities,
    zeros and negative numbers among x_0..x_j less x_i, so a few scans along the axis find,
    per entry, whether any of its terms is NaN, +inf or -inf. Finite entries are left to the
    products, which are exact there (no other x and no gy of theirs is infinite or NaN)."""
    backend, data, g = x._backend, x.data, gy.data
    xp = backend.xp

    def counted(mask):
        return xp.cumulative_sum(xp.astype(mask, xp.int32), axis=axis)

    def any_from_here_on(mask):
        return _any_from_here_on(backend, mask, axis)

    nan_x, inf_x, zero_x, negative_x = xp.isnan(data), xp.isinf(data), data == 0, data < 0
    nans, infinities, zeros = counted(nan_x), counted(inf_x), counted(zero_x)
    odd = counted(negative_x) % 2 == 1  # P_ij's sign, for a positive x_i: x_i < 0 flips it
    nan_g, inf_g, zero_g = xp.isnan(g), xp.isinf(g), g == 0
    nan, positive, negative = (xp.zeros(data.shape, dtype=xp.bool),) * 3
    # x_i leaves P_ij: the counts less its own, by its kind (one of four)
    for own, (own_nan, own_inf, own_zero) in (((~nan_x) & (~inf_x) & (~zero_x), (0, 0, 0)), (nan_x, (1, 0, 0)),
                                              (inf_x, (0, 1, 0)), (zero_x, (0, 0, 1))):
        p_nan = (nans > own_nan) | ((infinities > own_inf) & (zeros > own_zero))
        p_inf, p_zero = ~p_nan & (infinities > own_inf), ~p_nan & (zeros > own_zero)
        term_nan = nan_g | p_nan | (inf_g & p_zero) | (zero_g & p_inf)
        term_inf = ~term_nan & (inf_g | p_inf)
        term_negative = odd != (g < 0)
        nan = nan | (own & any_from_here_on(term_nan))
        positive = positive | (own & any_from_here_on(term_inf & ~term_negative))
        negative = negative | (own & any_from_here_on(term_inf & term_negative))
    positive, negative = xp.where(negative_x, negative, positive), xp.where(negative_x, positive, negative)
    nan = nan | (positive & negative)
    values = xp.where(nan, xp.full_like(data, math.nan), xp.where(positive, xp.full_like(data, math.inf),
                                                                  xp.full_like(data, -math.inf)))
    return nan | positive | negative, values


def _any_from_here_on(backend, mask, axis):
    """Per entry of the bool array ``mask``, whether it or any after it along ``axis`` holds."""
    xp = backend.xp
    return xp.flip(backend.cumulative_extreme(xp.flip(mask, axis=axis), axis, True), axis=axis)


def _ones_along(like, axis):
    """Ones of ``like``'s shape with ``axis`` of size 1, outside the graph."""
    shape = tuple(1 if a == axis else d for a, d in enumerate(like.shape))
    return constant(like._backend.xp.ones(shape, dtype=like.data.dtype), like)


def _reverse_linear_scan(a, b, axis):
    """S with S_i = b_i + a_i S_{i+1} along ``axis`` (S past the end is 0), by doubling:
    after the step of span d, S_i = B_i + A_i S_{i+d} (A_i the product of a over those d
    places), so ceil(log2 n) steps of Tensor ops reach past the end. Entries within d of
    the end are final, and are carried as they are.

    A zero factor carries nothing back from past it, not even an infinite or NaN S (0 * inf
    is NaN): such an S is mostly a sum that overflowed (cumprod's, of the products past a
    zero) or a NaN from past a +inf, whose weight there is exactly 0 (cumprod puts back the
    NaN that a NaN or an infinity in x or gy past the zero makes: _nonfinite_cumprod_gradient).
    Masked only where a holds a zero: it doubles the steps' time."""
    n = b.shape[axis]
    has_zeros = n > 1 and bool(a._backend.xp.any(a.data == 0))
    span = 1
    while span < n:
        head, tail, ahead = part(axis, 0, n - span), part(axis, n - span, None), part(axis, span, None)
        factor, later_b, later_a = a[head], b[ahead], a[ahead] if 2 * span < n else None
        if has_zeros:  # masked before multiplying, so that no gradient is 0 * inf either
            later_b = _stopped_at_zeros(factor, later_b)
            later_a = None if later_a is None else _stopped_at_zeros(factor, later_a)
        b = concat([b[head] + factor * later_b, b[tail]], axis)
        if later_a is not None:
            a = concat([factor * later_a, a[tail]], axis)
        span *= 2
    return b


def _stopped_at_zeros(factor, later):
    """``later`` with 0 for its infinities and NaNs where ``factor`` is 0; its finite values
    stay, as the derivative of ``factor * later`` in factor, there, is ``later``."""
    return where((factor == 0) & ~isfinite(later), 0.0, later)


def products_of_the_others(x, axis):
    """Per element, the product of the other elements of its line along ``axis``. Lines
    whose product y is a normal number take y / x_i, as PyTorch's; the others, as
    _products_before_and_after (exact with zeros, where dividing by x cannot be done)."""
    if x.shape[axis] == 0:
        return x
    xp = x._backend.xp
    product = accumulate(xp.prod, x, axis=axis, keepdims=True)
    by_division = _normal(xp, product)
    product = xp.where(by_division, product, xp.ones_like(product))  # (1 in lines of 1s: see _line_by_line)
    return _line_by_line(by_division, lambda t: OthersByDivision.apply(t, axis, product),
                         lambda t: _products_before_and_after(t, axis), x)


class OthersByDivision(Function):
    """y / x_i for the product y of x's lines along ``axis`` (given, kept as an axis of 1).
    The prefix and suffix products of _products_before_and_after can over- or underflow
    where y does not: [1e-300, 1, 1e300, 1e10] (y = 1e10) gave the 1 an inf. Differentiated
    whole: d others_i / d x_j = prod_{k != i, j} x_k = others_j / x_i for i != j and 0 for
    i = j (through y / x, the difference of two equal terms), so the gradient at x_j is
    others_j times the sum of g_i / x_i over i != j, added up before and after j (the whole
    sum less g_j / x_j would lose the rest beside a large g_j / x_j)."""

    @staticmethod
    def forward(ctx, x, axis, product):
        ctx.axis = axis
        others = product / x.data
        ctx.save_for_backward(x, others)
        return others

    @staticmethod
    def backward(ctx, g):
        x, others = ctx.saved_tensors
        scaled = g / x
        return others * (_sums_before(scaled, ctx.axis) + _sums_after(scaled, ctx.axis)), None, None


def _products_before_and_after(x, axis):
    """Per element, the product of those before it times that of those after it. No
    division, so in a line with one zero the zero gets the product of the rest, and with
    two every entry is 0."""
    n = x.shape[axis]
    one = _ones_along(x, axis)
    before = cumprod(concat([one, x[part(axis, 0, n - 1)]], axis), axis)
    after = reversed_along(cumprod(reversed_along(concat([x[part(axis, 1, None)], one], axis), axis), axis), axis)
    others = before * after
    # In a line with two zeros or more, every product of the others has a zero factor: an inf
    # or NaN there is an inf (or a prefix product past the range) times that zero, where
    # PyTorch gives 0, as the exact product of finite numbers is. Finite entries stay, and
    # with them the second derivatives of a line with exactly two zeros.
    xp = x._backend.xp
    zeros = xp.sum(xp.astype(x.data == 0, xp.int32), axis=axis, keepdims=True)
    return where(constant((zeros >= 2) & ~xp.isfinite(others.data), x), 0.0, others)


def _normal(xp, values):
    """Where ``values`` are finite and at least the dtype's smallest normal number in size:
    where dividing them keeps their digits (none of a 0, some of a subnormal number)."""
    info, size = xp.finfo(values.dtype), xp.abs(values)
    return (size >= info.smallest_normal) & (size <= info.max)


def _line_by_line(by_division, divided, multiplied, *tensors):
    """``divided(*tensors)`` on the lines where the mask ``by_division`` (an axis of 1) holds,
    ``multiplied(*tensors)`` on the others. Where both are needed, each is given 1 for the
    other's entries, so that neither overflows there and sends back 0 * inf through where."""
    xp = tensors[0]._backend.xp
    if bool(xp.all(by_division)):
        return divided(*tensors)
    if not bool(xp.any(by_division)):
        return multiplied(*tensors)
    use = constant(by_division, tensors[0])
    return where(use, divided(*(where(use, t, 1.0) for t in tensors)),
                 multiplied(*(where(use, 1.0, t) for t in tensors)))


def _sums_before(x, axis):
    """Per element, the sum of those before it along ``axis`` (0 for the first)."""
    return concat([_ones_along(x, axis) * 0, Cumsum.apply(x[part(axis, 0, x.shape[axis] - 1)], axis)], axis)


def _sums_after(x, axis):
    """Per element, the sum of those after it along ``axis`` (0 for the last)."""
    return reversed_along(_sums_before(reversed_along(x, axis), axis), axis)


def _line(op, x, axis):
    """``x`` and the axis to scan along: None flattens it (a 0-d tensor too, which gives one
    of shape (1,), as in NumPy); a 0-d tensor's axis 0 or -1 is a line of one, whose result
    the caller makes 0-d again."""
    if axis is None:
        return reshape(x, (-1,)), 0
    axis = single_axis(op, axis, x.ndim)
    return (reshape(x, (1,)), 0) if x.ndim == 0 else (x, axis)


def _scan(fn, op, x, axis):
    x = as_tensor(x)
    out = fn.apply(*_line(op, x, axis))
    return reshape(out, ()) if x.ndim == 0 and axis is not None else out


@autocast_op("cumsum")
def cumsum(x, axis=None, *, dtype=None):
    """Running sums along ``axis``; None scans the flattened tensor, as NumPy's. ``dtype``
    casts x first and sums in it, as NumPy's and PyTorch's."""
    if dtype is not None:
        return in_dtype(cumsum, "cumsum", as_tensor(x), dtype, axis)
    return _scan(Cumsum, "cumsum", x, axis)


@autocast_op("cumprod")
def cumprod(x, axis=None, *, dtype=None):
    """Running products along ``axis``; None scans the flattened tensor, as NumPy's.
    ``dtype`` casts x first and multiplies in it, as NumPy's and PyTorch's."""
    if dtype is not None:
        return in_dtype(cumprod, "cumprod", as_tensor(x), dtype, axis)
    return _scan(Cumprod, "cumprod", x, axis)


class Logcumsumexp(Function):
    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        y = accumulate(x._backend.cumulative_logaddexp, x, scan=True, axis=axis)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        if x.dtype == dtypes.float16:  # (a product of many float16 factors loses its last bits)
            return in_float32(lambda *wide: _logcumsumexp_gradient(*wide, ctx.axis), x, y, gy), None
        return _logcumsumexp_gradient(x, y, gy, ctx.axis), None


def _logcumsumexp_gradient(x, y, gy, axis):
    """gx_i = sum_{j>=i} gy_j exp(x_i - y_j) = exp(x_i - y_i) S_i, S_i = sum_{j>=i} gy_j exp(y_i - y_j),
    so S_i = gy_i + exp(y_i - y_{i+1}) S_{i+1}: y never decreases, so every factor lies in
    [0, 1] and nothing overflows at any scale. Linear in gy, so it differentiates again in
    gy everywhere (PyTorch's sum in log space of log|gy|, signs apart, does not at gy = 0)."""
    n = x.shape[axis]
    if n == 0:
        return gy
    later = concat([y[part(axis, 1, None)], y[part(axis, n - 1, None)]], axis)  # y_{i+1} (the last: unused)
    own, stepping, empty = y, y, None
    xp = x._backend.xp
    last = y.data[part(axis, n - 1, None)]
    nan_lines = xp.isnan(last)  # (a NaN x, and only that, makes y NaN; and it hides a +inf before it)
    # (each bool() waits on a GPU: one for the three checks)
    if bool(xp.any(y.data[part(axis, 0, 1)] == -math.inf) | xp.any(last == math.inf) | xp.any(nan_lines)):
        # A line's leading -inf entries have nothing summed yet (y_i = -inf): their weights,
        # -inf - -inf, are settled below, and are 1 here (differences of 0). A step up to +inf
        # carries nothing back (-inf, from a y_i of +inf too); a +inf x_i still gets NaN (inf -
        # inf), put in below too, so that in a second derivative it reaches no other entry.
        # Masked before subtracting, so that no NaN is made on the way (detect_anomaly would stop).
        empty, rising, infinite = y == -math.inf, later == math.inf, x == math.inf
        x, own = where(empty | infinite, 0.0, x), where(empty | infinite, 0.0, y)
        later, stepping = where(empty, 0.0, later), where(empty | rising, 0.0, y)
    gx = exp(x - own) * _reverse_linear_scan(exp(stepping - later), gy, axis)
    if empty is not None:
        # A leading -inf x_i's weight in a y_j that is -inf too is 0/0: NaN where such a gy_j is
        # nonzero (PyTorch gives NaN there whatever gy is), else 0, as every weight is in [0, 1].
        met = reversed_along(cumsum(reversed_along(empty & (gy != 0), axis), axis), axis) > 0
        gx = where(met | infinite, math.nan, where(empty, 0.0, gx))
    # A NaN x_k makes y_j NaN from k on, and every entry has such a y_j among its terms, whose
    # weight exp(x_i - y_j) is NaN; a NaN gy_j reaches every x_i with i <= j. A step up to +inf
    # (above) carried neither back: at [0, inf, nan] gx_0 was gy_0, where PyTorch's is NaN.
    nan_gy = xp.isnan(gy.data)
    if bool(xp.any(nan_lines) | xp.any(nan_gy)):
        gx = where(constant(nan_lines | _any_from_here_on(x._backend, nan_gy, axis), x), math.nan, gx)
    return gx


def logcumsumexp(x, axis):
    """log(cumsum(exp(x))) along ``axis`` (None: flattened), as PyTorch's, without overflow:
    a running logaddexp, in float64 for float32 (as PyTorch's CPU scan). Integers and bools
    take the default float, as logsumexp's (PyTorch's logcumsumexp refuses them)."""
    return _scan(Logcumsumexp, "logcumsumexp", floating(x), axis)


Cummax = namedtuple("Cummax", ["values", "indices"])
Cummin = namedtuple("Cummin", ["values", "indices"])


class RunningExtreme(Function):
    """The running maximum (``largest``) or minimum along ``axis`` and, as in PyTorch, the
    last index that reached it (of a tie, the later one); a NaN is the running value from
    where it appears, each NaN taking the index. The values are the scan's own, and the
    gradient is a scatter-add of gy to the indices (the same entry takes those of all the
    places it held the running value)."""

    @staticmethod
    def forward(ctx, x, axis, largest):
        backend, data = x._backend, x.data
        xp = backend.xp
        running = backend.cumulative_extreme(data, axis, largest)
        # The index moves to i where x_i reaches the running value (ties included) or is NaN,
        # and stays until the next such place: a running maximum of i there and 0 elsewhere.
        # In int32 where the axis allows, and changed in place: the time goes mostly in
        # first touching fresh memory, and half the bytes is half that.
        reached = data == running
        nan = None
        if dtypes.is_floating(x.dtype):
            nan = xp.isnan(data)
            reached |= nan
        n = data.shape[axis]
        index_dtype = backend.native_dtype(dtypes.int32 if n < 2 ** 31 else dtypes.int64)
        last = xp.astype(reached, index_dtype)
        last *= xp.reshape(xp.arange(n, dtype=index_dtype), tuple(n if a == axis else 1 for a in range(data.ndim)))
        last = backend.cumulative_extreme(last, axis, True, overwrite=True)
        if nan is not None and (bool(xp.any(nan)) or bool(xp.any(running == 0))):
            # The scan keeps one of two equal values, which may be the other zero, or another
            # NaN, than the entry at the index (the later one): take those, as PyTorch does.
            running = xp.take_along_axis(data, last, axis=axis)
        ctx.axis, ctx.shape = axis, data.shape
        ctx.save_for_backward(last)  # (not the indices returned, which the caller may change)
        ctx.set_materialize_grads(False)  # (no zeros for the indices, which take no gradient)
        return running, xp.astype(last, backend.native_dtype(dtypes.int64))

    @staticmethod
    def backward(ctx, gy, _):
        last, = ctx.saved_tensors

        def add_up(g):
            return scatter_add_along_axis(g, last.data, ctx.axis, ctx.shape)
        # An entry that held the running value long sums many gy: float16 adds them up in
        # float32 and rounds once, as PyTorch's cummax gradient does.
        return (in_float32(add_up, gy) if gy.dtype == dtypes.float16 else add_up(gy)), None, None


def _running_extreme(op, result, x, axis, largest):
    """``result(values, indices)`` of RunningExtreme along ``axis`` (None: flattened)."""
    x = as_tensor(x)
    values, indices = RunningExtreme.apply(*_line(op, x, axis), largest)
    if x.ndim == 0 and axis is not None:  # as _scan's
        values, indices = reshape(values, ()), reshape(indices, ())
    return result(values, indices)


def cummax(x, axis):
    """The running maximum along ``axis`` (None: flattened) and its indices (int64), as
    PyTorch's cummax (see _running_extreme). The gradient goes to the indexed entries."""
    return _running_extreme("cummax", Cummax, x, axis, True)


def cummin(x, axis):
    """The running minimum along ``axis`` (None: flattened) and its indices, as cummax."""
    return _running_extreme("cummin", Cummin, x, axis, False)


def _with_initial(op, fn, identity, x, axis, dtype, include_initial):
    x = as_tensor(x)
    if axis is None and x.ndim > 1:  # the standard's rule (and NumPy's): cumsum would flatten it
        raise ValueError(f"{op}: x has {x.ndim} axes, so axis is required; pass axis=, or flatten x first "
                         "(cumsum(x) flattens, as NumPy's)")
    out = fn(x, axis, dtype=dtype)
    if not include_initial:
        return out
    axis = 0 if axis is None or out.ndim == 0 else single_axis(op, axis, out.ndim)
    out = reshape(out, (1,)) if out.ndim == 0 else out
    return concat([_ones_along(out, axis) * identity, out], axis)


def cumulative_sum(x, axis=None, include_initial=False, *, dtype=None):
    """The Array API's spelling of ``cumsum``; ``include_initial`` puts a 0 first."""
    return _with_initial("cumulative_sum", cumsum, 0, x, axis, dtype, include_initial)


def cumulative_prod(x, axis=None, include_initial=False, *, dtype=None):
    """The Array API's spelling of ``cumprod``; ``include_initial`` puts a 1 first."""
    return _with_initial("cumulative_prod", cumprod, 1, x, axis, dtype, include_initial)


def diff(x, n=1, axis=-1, prepend=None, append=None):
    """The ``n``-th difference along ``axis``, as NumPy's: ``x[1:] - x[:-1]``, ``n`` times
    (bools give ``x[1:] != x[:-1]``), after joining ``prepend`` and ``append`` to ``x``
    along ``axis`` (a number stands for a slice of it). Composed of slices, with no
    gradient code, so it is differentiable in all three."""
    x = as_tensor(x)
    if not isinstance(n, INTEGER) or isinstance(n, bool):
        raise TypeError(f"diff: n must be an int, not {n!r}")
    if n < 0:
        raise ValueError(f"diff: n must be at least 0, got {n}")
    if x.ndim == 0:
        raise ValueError("diff: a 0-d tensor has no axis to take differences along; give at least one axis")
    axis = single_axis("diff", axis, x.ndim)
    if prepend is not None or append is not None:
        before = [] if prepend is None else [_edge("prepend", prepend, x, axis)]
        after = [] if append is None else [_edge("append", append, x, axis)]
        if n:  # (the 0th difference is x itself, without them, as NumPy's and PyTorch's)
            x = concat(before + [x] + after, axis)
    for _ in range(n):
        later, earlier = x[part(axis, 1, None)], x[part(axis, None, -1)]
        x = not_equal(later, earlier) if x.dtype == dtypes.bool_ else later - earlier
    return x


def _edge(name, value, x, axis):
    """diff's ``prepend`` or ``append`` as a tensor to join to ``x``: a 0-d one (or a
    number, in x's dtype where it holds it) spread to a slice of x one long along
    ``axis``; any other must match x's shape off ``axis``, as NumPy's (checked here, so
    that the error is diff's, not that of the concat inside)."""
    edge = as_tensor(value, x)
    if edge.ndim == 0:
        return broadcast_to(edge, x.shape[:axis] + (1,) + x.shape[axis + 1:])
    if edge.ndim != x.ndim:
        raise ValueError(f"diff: {name} must be a number or have x's {x.ndim} axes, got shape {edge.shape}")
    if edge.shape[:axis] + edge.shape[axis + 1:] != x.shape[:axis] + x.shape[axis + 1:]:
        raise ValueError(f"diff: {name} of shape {edge.shape} must match x's shape {x.shape} "
                         f"outside axis {axis}")
    return edge
