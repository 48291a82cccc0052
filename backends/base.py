"""The interface every backend implements.

A backend owns one device. The engine reaches arrays only through ``xp`` (an
Array API namespace) and the named kernels below, which the standard lacks.
"""
import contextlib
import copy
import functools
import math

import numpy as np

from . import dtypes, runs, triangular_solve


def below(high, low, dtype):
    """The largest ``dtype`` number under ``high`` (towards ``low``), as a Python float: a
    uniform draw rounded into a narrow dtype can land on ``high`` itself (one float16 draw
    in 4,000 on [0, 1)), and clipping it there keeps the range [low, high) that rand promises."""
    return float(np.nextafter(np.asarray(high, dtype), np.asarray(low, dtype)))


def has_zero_stride(array):
    """Whether a strided array (NumPy's, CuPy's) with elements steps 0 bytes along an axis
    longer than 1 (an empty array may have any strides)."""
    strides = array.strides
    if 0 not in strides:  # the common case, without the loop
        return False
    shape = array.shape
    return 0 not in shape and any(step == 0 and n > 1 for n, step in zip(shape, strides))


def doubling_scan(xp, combine, x, axis):
    """The inclusive scan of ``combine`` (associative, elementwise) along ``axis`` in
    ceil(log2 n) whole-array steps (Hillis and Steele's): after the step of span d, each
    entry combines the 2d entries up to it (all of them, within 2d of the start), so the
    step that passes n covers every line. n log n work, against a one-pass kernel's n."""
    n, span = x.shape[axis], 1
    before = (slice(None),) * axis
    while span < n:
        head, later, earlier = (x[before + (s, Ellipsis)] for s in
                                (slice(0, span), slice(span, None), slice(0, n - span)))
        x = xp.concat([head, combine(later, earlier)], axis=axis)
        span *= 2
    return x


def reduced_axes(ndim, axis):
    """The axes, each in [0, ndim), that a reduction over ``axis`` (None, an int or a tuple
    of ints, negative ones too) takes."""
    if axis is None:
        return tuple(range(ndim))
    return (axis % ndim,) if isinstance(axis, int) else tuple(a % ndim for a in axis)


def swap_order(xp, positions, j, rows):
    """``positions`` (0..m-1) with j and ``rows`` (one per line, in a trailing axis of 1)
    swapped, as an index for take_along_axis: position + (row - j) at j, - (row - j) at the
    row (nothing where the row is j). Row exchanges of LU's partial pivoting."""
    shift = rows - j
    return positions + shift * (xp.astype(positions == j, rows.dtype) - xp.astype(positions == rows, rows.dtype))


class Backend:
    name = "abstract"
    # whether col2im is one kernel (else a strided add per kernel offset, which callers
    # with a faster route for short windows, a stride-1 convolution's, take that instead)
    col2im_is_one_kernel = False
    # whether a kernel of many passes over an array (a sliding window's offsets) should run
    # a cache-sized block of it at a time: on a CPU each pass over a large array goes out to
    # memory and back; on a GPU each call is a kernel launch, so one block is best there
    works_in_cache_blocks = True

    def __init__(self, device, xp):
        self.device = device
        self.xp = xp

    # --- arrays -----------------------------------------------------------
    @functools.cached_property
    def floating_dtypes(self):
        """The namespace's floating-point dtype objects, for a quick membership test."""
        native = set()
        for dtype in (dtypes.float16, dtypes.float32, dtypes.float64):
            try:
                native.add(self.native_dtype(dtype))
            except TypeError:  # array-api-strict has no float16
                pass
        return frozenset(native)

    def native_dtype(self, dtype):
        """The namespace's dtype object for a canonical (NumPy) dtype."""
        return dtype

    def canonical_dtype(self, native):
        return native

    def asarray(self, data, dtype=None):
        native = None if dtype is None else self.native_dtype(dtypes.canonical(dtype))
        return self.xp.asarray(data, dtype=native)

    def to_numpy(self, array):
        return np.asarray(array)

    def from_numpy(self, array):
        return self.xp.asarray(array)

    def to_numpy_read_only(self, array):
        """``to_numpy(array)``, as a view that refuses writes."""
        view = self.to_numpy(array).view()
        view.flags.writeable = False
        return view

    def owns_memory(self, array):
        """True when ``array`` is writeable and no other array views its memory
        through it, so it may be changed in place; False is always safe."""
        return False

    def float32_sum_dtype(self, array, axis):
        """The native dtype in which to add up a float32 ``array`` over ``axis`` (None, an int
        or a tuple, as the sum takes it), or None for float32 itself: by default the namespace
        is taken to add pairwise, whose error grows as log n."""
        return None

    def read_ints(self, *scalars):
        """The 0-d integer arrays ``scalars`` as Python ints. A backend whose reads wait for
        the device reads them all at once."""
        return tuple(int(s) for s in scalars)

    def linalg_status_checked(self):
        """A context in which the namespace's linalg functions raise its LinAlgError (a
        ValueError) where the factorization reports a failure (a zero pivot, a matrix not
        positive definite, no convergence), as NumPy's always do."""
        return contextlib.nullcontext()

    def float32_prod_dtype(self):
        """The native dtype in which to multiply out a float32 product, or None for float32
        itself: by default the namespace is taken to multiply one number at a time, as
        NumPy's does, whose running products overflow only where the product does."""
        return None

    def repeats_elements(self, array):
        """Whether several elements of ``array`` are one memory location (a stride of 0 over
        an axis longer than 1, as broadcast_to makes), so that it cannot change in place."""
        return has_zero_stride(self.to_numpy(array))  # (zero-copy on the CPU)

    def writable(self, array):
        """Whether an in-place write into ``array`` may change each element on its own:
        False where the memory is read-only (NumPy's broadcast views, an array on a
        read-only buffer) or elements repeat (see repeats_elements)."""
        view = self.to_numpy(array)  # (zero-copy on the CPU)
        return view.flags.writeable and not has_zero_stride(view)

    def may_share_memory(self, a, b):
        """Whether ``a`` and ``b`` may share memory (overlapping bounds, a cheap test that
        never says False for a view): tells a view from a copy where the standard leaves
        it open (``reshape`` copies an input whose memory order allows no view). An empty
        array holds no memory to compare, so it may be a view (of an empty diagonal, say)."""
        if a.size == 0 or b.size == 0:
            return True
        return bool(np.may_share_memory(self.to_numpy(a), self.to_numpy(b)))  # (zero-copy views on the CPU)

    def synchronize(self):
        """Wait for queued device work; a no-op on the CPU."""

    def record_event(self):
        """A timing marker in the device's queue (a CUDA event), or None where work
        runs as it is called and the wall clock is exact (the CPU)."""
        return None

    def elapsed_ns(self, begin, end):
        """Device time between two events from record_event, in nanoseconds."""
        raise TypeError(f"{type(self).__name__} records no device events")

    # --- randomness --------------------------------------------------------
    def seed(self, seed):
        self.rng = np.random.default_rng(seed)

    def get_rng_state(self):
        """A copy of the random generator's state as it stands (opaque: what set_rng_state
        takes; activation checkpointing replays a forward's dropout masks with it)."""
        return copy.deepcopy(self.rng)

    def set_rng_state(self, state):
        """Draw from here on as the generator did when get_rng_state gave ``state``."""
        self.rng = copy.deepcopy(state)

    def uniform(self, shape, low, high, dtype):
        draw = self.rng.uniform(low, high, shape).astype(dtype)
        if low < high:
            np.minimum(draw, below(high, low, dtype), out=draw)
        return self.from_numpy(draw)

    def normal(self, shape, mean, std, dtype):
        return self.from_numpy(self.rng.normal(mean, std, shape).astype(dtype))

    def integers(self, low, high, shape):
        return self.from_numpy(self.rng.integers(low, high, shape))

    # --- kernels the Array API standard lacks -------------------------------
    def gather(self, x, index):
        """``x[index]`` with NumPy's advanced indexing (integer arrays, masks,
        mixed with slices), which the standard only partly covers."""
        return x[index]

    def check_index_bounds(self, shape, index):
        """Raise IndexError where an integer array in a user's ``index`` (into an array of
        ``shape``) points past an axis. NumPy and the strict backend raise on their own,
        in gather and put_; a backend whose kernels do not (CuPy's wrap around) checks
        here. The engine's own indices are in bounds, and skip the check."""

    def put_(self, x, index, values):
        """``x[index] = values`` in place, with NumPy's indexing (integer arrays, masks,
        None, mixed with slices), which the standard's setitem only partly covers."""
        x[index] = values

    def put_last_(self, x, index, values):
        """``put_`` where ``index`` may name a place more than once (a user's index, max
        unpooling's): the last value written there stays, as in NumPy's setitem. The
        engine's own puts, whose places differ, take ``put_``."""
        self.put_(x, index, values)

    def scatter_add(self, shape, index, values):
        """Zeros of ``shape`` (values' dtype) with ``values`` added at ``index``;
        repeated indices accumulate. ``index`` is anything ``a[index]`` accepts."""
        raise NotImplementedError

    def sum_runs(self, x, rows, counts, weights=None):
        """Row j: the sum of ``x[rows[i]]`` over the j-th run of ``counts[j]`` consecutive
        entries i (``rows`` None: x's own rows, in order), each scaled by ``weights[i]``
        (x's dtype) where given, zeros for an empty run; shape
        ``(len(counts),) + x.shape[1:]``. embedding_bag's bag sums (see runs.py)."""
        return runs.sum_runs(self, x, rows, counts, weights)

    def spread_runs(self, g, rows, counts, size, weights=None):
        """The adjoint of sum_runs in x: zeros of ``(size,) + g.shape[1:]`` with ``g[j]``
        (times ``weights[i]`` where given) added at ``rows[i]`` (each in [0, size)) for
        every entry i of run j; ``rows`` None: each ``g[j]`` repeated ``counts[j]`` times
        (size entries)."""
        return runs.spread_runs(self, g, rows, counts, size, weights)

    def dot_runs(self, g, x, rows, counts):
        """The derivative of sum_runs in its weights: for every entry i of run j, the dot
        product of ``g[j]`` and ``x[rows[i]]`` (``rows`` None: ``x[i]``) over the axes
        after the first; shape (entries,)."""
        return runs.dot_runs(self, g, x, rows, counts)

    def first_max_of_runs(self, x, rows, counts):
        """For a 2-D ``x``: per run j and column c, the entry i of run j (an index into
        ``rows``) whose ``x[rows[i], c]`` is the run's first maximum as PyTorch's loop
        finds it (a NaN first in its run stays; later NaNs never win); 0 for an empty
        run. int64, (len(counts), x.shape[1])."""
        return runs.first_max_of_runs(self, x, rows, counts)

    def einsum(self, subscripts, *operands):
        raise NotImplementedError

    def sliding_windows(self, x, window, stride, dilation):
        """A read-only view of shape ``x.shape[:-2] + (OH, OW, KH, KW)`` holding
        every (dilated) ``window`` of the last two axes of ``x`` at ``stride``."""
        raise NotImplementedError

    def diagonal_view(self, x, offset):
        """A writable view of the ``offset`` diagonal of each matrix on the last two axes
        of ``x``, as a new last axis (PyTorch's diagonal is a view), or None where the
        backend cannot make one (the caller then copies)."""
        return None

    def argsort(self, x, axis, descending, stable):
        """The standard's ``argsort``: NaN last ascending and first descending, ties in
        their order along ``axis`` where ``stable``. (NumPy's and CuPy's namespaces take
        no ``descending``, which is why this is a kernel.) Bools sort as 0 and 1, which the
        standard's argsort, for real numbers only, leaves to the caller."""
        xp = self.xp
        if x.dtype == xp.bool:
            x = xp.astype(x, self.native_dtype(dtypes.canonical("int8")))
        return xp.argsort(x, axis=axis, descending=descending, stable=stable)

    def top_k(self, x, k, axis, largest):
        """The indices of the ``k`` largest (or smallest) entries along ``axis``, in order,
        ties to the lower index, as a stable descending (ascending) sort's first ``k``:
        this form sorts everything; a backend may select first."""
        order = self.argsort(x, axis, largest, True)
        return order[(slice(None),) * axis + (slice(0, k), ...)]

    def scatter_along_axis(self, shape, indices, values, axis):
        """Zeros of ``shape`` (``values``' dtype) with ``values`` written at ``indices``
        along ``axis``, the adjoint of ``take_along_axis``. The indices are distinct
        within each line (a sort's, a top-k's), so nothing accumulates."""
        xp = self.xp
        ndim = indices.ndim
        index = tuple(indices if a == axis else
                      xp.reshape(xp.arange(n), tuple(n if b == a else 1 for b in range(ndim)))
                      for a, n in enumerate(indices.shape))
        out = xp.zeros(shape, dtype=values.dtype)
        self.put_(out, index, values)
        return out

    def cumulative_extreme(self, x, axis, largest, overwrite=False):
        """The running maximum (``largest``) or minimum of ``x`` along ``axis``; a NaN stays
        from where it appears on, as the standard's maximum and minimum spread it (bools: a
        running or, and). The standard has no such scan: this form takes ceil(log2 n) whole-
        array steps (see doubling_scan); a backend may scan in one pass. ``overwrite``: ``x``
        is the caller's temporary, which a backend may scan in place (and return)."""
        xp = self.xp
        if x.dtype == xp.bool:  # (the standard's maximum takes numbers only)
            combine = xp.logical_or if largest else xp.logical_and
        else:
            combine = xp.maximum if largest else xp.minimum
        return doubling_scan(xp, combine, x, axis)

    def cumulative_logaddexp(self, x, axis, dtype=None):
        """log(cumulative_sum(exp(x))) along ``axis`` (in ``dtype`` where given, a wider one
        for the running value), with no overflow: logaddexp of running values, which the
        standard has (see doubling_scan), though not as a scan."""
        if dtype is not None:
            x = self.xp.astype(x, dtype)
        return doubling_scan(self.xp, self.xp.logaddexp, x, axis)

    def lu_factor(self, a):
        """The LU factorization with partial pivoting of each matrix of ``a`` (..., m, n), as
        LAPACK's getrf: ``(lu, pivots, rows)``. ``lu`` holds U on and above the diagonal and
        L's multipliers below it (L's unit diagonal implied); ``pivots`` (int32, 1-based, k =
        min(m, n) of them, LAPACK's and PyTorch's form) the row that step i swapped row i with;
        ``rows`` (the index dtype) the order of a's rows that L U rebuilds: (L U)[i] = a[rows[i]].
        The standard has no LU, so this eliminates one column at a time over the whole batch
        (k steps of whole-array work; the pivot is the first largest entry, as LAPACK's). A
        zero pivot column is left as it is, as LAPACK's (which reports it): the caller checks
        U's diagonal where it needs U invertible. A backend may call its library's instead."""
        xp = self.xp
        *batch, m, n = a.shape
        k, count = min(m, n), math.prod(batch)
        lu = xp.reshape(xp.asarray(a, copy=True), (count, m, n))
        positions = xp.arange(m)
        rows = xp.broadcast_to(positions, (count, m))
        pivots = []
        for j in range(k):
            p = xp.argmax(xp.abs(lu[:, j:, j]), axis=-1) + j  # (count,): the pivot row of each matrix
            pivots.append(p)
            order = swap_order(xp, positions, j, xp.expand_dims(p, -1))
            lu = xp.take_along_axis(lu, xp.broadcast_to(xp.expand_dims(order, -1), lu.shape), axis=1)
            rows = xp.take_along_axis(rows, order, axis=1)
            pivot = lu[:, j:j + 1, j:j + 1]
            nonzero = pivot != 0
            column = lu[:, j + 1:, j:j + 1]
            column = xp.where(nonzero, column / xp.where(nonzero, pivot, xp.ones_like(pivot)), column)
            lu[:, j + 1:, j:j + 1] = column
            lu[:, j + 1:, j + 1:] = lu[:, j + 1:, j + 1:] - column * lu[:, j:j + 1, j + 1:]
        int32 = self.native_dtype(dtypes.canonical("int32"))
        pivots = (xp.astype(xp.stack(pivots, axis=-1) + 1, int32) if pivots else
                  xp.zeros((count, 0), dtype=int32))
        return (xp.reshape(lu, tuple(batch) + (m, n)), xp.reshape(pivots, tuple(batch) + (k,)),
                xp.reshape(rows, tuple(batch) + (m,)))

    def lu_rows(self, pivots, m):
        """The order of m rows (as lu_factor's ``rows``, in ``pivots``' dtype) that LAPACK's
        ``pivots`` (1-based row exchanges, made in turn) give."""
        xp = self.xp
        positions = xp.arange(m, dtype=pivots.dtype)
        rows = xp.broadcast_to(positions, pivots.shape[:-1] + (m,))
        for j in range(pivots.shape[-1]):
            rows = xp.take_along_axis(rows, swap_order(xp, positions, j, pivots[..., j:j + 1] - 1), axis=-1)
        return rows

    def solve_triangular(self, a, b, *, upper, unitriangular):
        """X with A X = B for triangular A: ``a`` (..., n, n) and ``b`` (..., n, k) of one
        batch shape and floating dtype. Only a's upper (``upper``) or lower triangle is read,
        and with ``unitriangular`` not its diagonal, taken as 1s. A new array; a zero on the
        diagonal gives inf and NaN, as LAPACK's trsm. The standard has no triangular solve,
        so this is a blocked substitution in its calls (triangular_solve); a backend may
        call its library's."""
        return triangular_solve.solve_triangular(self.xp, self.matmul, a, b, upper, unitriangular)

    def remainder(self, a, b):
        """The remainder of ``a / b`` rounded down, with ``b``'s sign (NumPy's remainder,
        Python's %), for arrays of one real dtype, divisors of integer ones nonzero. A
        backend may take a faster route to the same values."""
        return self.xp.remainder(a, b)

    def floor_divide(self, a, b):
        """``floor(a / b)`` as NumPy's floor_divide (Python's //), for arrays of one real
        dtype, divisors of integer ones nonzero. A backend may take a faster route to the
        same values."""
        return self.xp.floor_divide(a, b)

    def fmod(self, a, b):
        """The remainder of ``a / b`` truncated toward zero, with ``a``'s sign (C's fmod,
        torch.fmod), for arrays of one real dtype, divisors of integer ones nonzero.
        The standard has only ``remainder`` (with ``b``'s sign), which agrees with it
        exactly on magnitudes; NumPy and CuPy have it as one kernel."""
        xp = self.xp
        r = xp.remainder(xp.abs(a), xp.abs(b))
        if xp.isdtype(r.dtype, "real floating"):
            return xp.copysign(r, a)  # -0.0 for a = -0.0, NaN for a NaN a
        return xp.where(a < 0, -r, r)

    def cbrt(self, x):
        """The real cube root of a floating array (negative for negative x), as NumPy's.
        The standard has no cbrt: |x| ** (1/3), whose exponent is not exactly a third,
        refined by one Newton step (which lands perfect cubes on their root), with x's sign."""
        xp = self.xp
        size = xp.abs(x)
        y = size ** (1 / 3)
        finite = xp.isfinite(y) & (y != 0)  # 0, inf and NaN are their own roots
        safe = xp.where(finite, y, xp.ones_like(y))
        y = xp.where(finite, safe - (safe - size / (safe * safe)) / 3, y)
        return xp.copysign(y, x)

    def exp2(self, x):
        """``2 ** x`` for a floating array, as NumPy's exp2. The standard has none: its pow
        of a Python float, which keeps x's dtype."""
        return 2.0 ** x

    def ldexp(self, x, e):
        """``x * 2 ** e`` for a floating ``x`` and signed integer ``e``, as C's ldexp. The
        standard has none: 2 ** e itself over- or underflows where the product does not
        (frexp's mantissa of the largest float times 2 ** 1024), so e is cut into three
        powers of two that each fit, applied one after the other: exact, but for a
        subnormal result, which two of the steps may each round."""
        xp = self.xp
        info = xp.finfo(x.dtype)
        # From the smallest subnormal to past the largest float: an e beyond that takes every
        # nonzero finite x to 0 or inf, and a third of it is a power of two that x's dtype holds.
        reach = math.ceil(math.log2(info.max)) - round(math.log2(info.smallest_normal * info.eps)) + 1
        e = xp.astype(xp.clip(e, -reach, reach), x.dtype)
        third = xp.trunc(e / 3)
        for step in (third, third, e - 2 * third):
            x = x * 2.0 ** step
        return x

    def frexp(self, x):
        """``(m, e)`` with ``x == m * 2 ** e``, 0.5 <= |m| < 1 (m = x, e = 0 for 0, inf and
        NaN), e int32, as C's frexp. The standard has none: e from log2(|x|), put right
        where log2 rounded across a power of two."""
        xp = self.xp
        size = xp.abs(x)
        normal = xp.isfinite(x) & (x != 0)
        e = xp.where(normal, xp.floor(xp.log2(xp.where(normal, size, xp.ones_like(size)))) + 1,
                     xp.zeros_like(size))
        int32 = self.native_dtype(dtypes.int32)
        e = xp.astype(e, int32)
        m = self.ldexp(x, -e)
        over = normal & (xp.abs(m) >= 1)
        under = normal & (xp.abs(m) < 0.5)
        e = e + xp.astype(over, int32) - xp.astype(under, int32)
        return xp.where(over, m / 2, xp.where(under, m * 2, m)), e

    def where(self, condition, a, b):
        """The standard's ``where``: ``a`` where ``condition`` holds, else ``b`` (arrays of
        one dtype, broadcasting), the Where op's forward. A backend may take a faster route
        to the same values."""
        return self.xp.where(condition, a, b)

    def power(self, a, b):
        """``a ** b`` by NumPy's rules (the op's forward). A backend may take a faster
        route to the same values."""
        return a ** b

    def scratch(self, shape, dtype):
        """An uninitialized array of ``shape`` and (native) ``dtype`` for an op to fill
        and return or keep (an im2col matrix, a gradient image). A backend may hand
        back an earlier scratch array that nothing references any more."""
        return self.xp.empty(shape, dtype=dtype)

    def matmul(self, a, b, *, scratch=False):
        """``a @ b`` by NumPy's rules. With ``scratch``, a backend may write a large
        product of two matrices into reused scratch memory (see ``scratch``); a backend
        without float16 GEMMs multiplies float16 matrices in float32, rounding once."""
        return self.xp.matmul(a, b)

    def gemm_operand(self, a):
        """A matrix that many GEMMs will read (a recurrent weight, once per sequence),
        laid out as this backend's GEMM reads fastest: its values, possibly ``a`` itself,
        never to be written. Here ``a`` itself: a GPU's GEMM reads either layout at
        one speed."""
        return a

    def sigmoid(self, x):
        """``1 / (1 + exp(-x))`` for a floating ``x``, as a fresh array the caller owns,
        with exp of a non-positive number only, so large |x| neither overflows nor warns."""
        xp = self.xp
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))

    def tanh_gradient(self, gy, y):
        """``gy * (1 - y * y)``, tanh's gradient from its output ``y``, rounded at each step
        as written (a backend may fuse the steps, not the roundings)."""
        return gy * (1 - y * y)

    def sigmoid_gradient(self, gy, y):
        """``gy * y * (1 - y)``, the sigmoid's gradient from its output, rounded at each
        step as written (a backend may fuse the steps, not the roundings)."""
        return gy * y * (1 - y)

    def relu(self, x):
        """``max(x, 0)`` and its ``relu_mask`` (all that ReLU's backward needs). A
        backend may write both into reused scratch memory."""
        y = self.xp.maximum(x, 0)
        return y, self.relu_mask(y)

    def relu_(self, x):
        """``max(x, 0)`` written into ``x`` itself (an in-place ReLU); returns its
        ``relu_mask``."""
        x[...] = self.xp.maximum(x, 0)
        return self.relu_mask(x)

    def relu_mask(self, y):
        """The mask, for ``masked``, that passes a gradient where ``y``, a ReLU's
        output, is not <= 0: where y > 0 and where y is NaN, as PyTorch's ReLU
        backward passes it (``y <= 0 ? 0 : grad``)."""
        return self.xp.logical_not(y <= 0)

    def keep_mask(self, mask):
        """``mask``, a bool array that the caller gives up, in the form ``masked``
        takes. A backend may store masks otherwise (NumPy's: int8, -1 where True)."""
        return mask

    def may_hold_nan(self, x):
        """Whether the floating array ``x`` may hold a NaN, for callers with a faster
        path where it does not. True here: asking a device would wait for it, so the
        caller's NaN-aware path always runs. NumPy answers exactly."""
        return True

    def any_true(self, mask):
        """Whether the bool array ``mask`` holds a True, for a kernel that can skip work
        no element needs (a branch of a piecewise function). True here: asking a device
        would wait for it, so the work is always done, and must be right either way.
        NumPy answers exactly."""
        return True

    def blockwise(self, kernel, *arrays):
        """``kernel(*arrays)`` for an elementwise ``kernel`` (its result's element i depends
        on element i of each array alone) of arrays of one shape, the same values; the
        kernel returns an array of that shape, or a tuple of them. A backend
        may run it on a block of elements at a time, so that the kernel's temporaries stay
        in cache (NumPy's). Here, one call."""
        return kernel(*arrays)

    def in_memory_order_of(self, x, like):
        """``x``'s values laid out in the memory order of ``like`` (an array of x's rank),
        for a kernel that writes ``x`` into ``like`` a piece at a time (a masked write per
        kernel offset): a backend whose writes are slower across layouts copies ``x``
        once, not once per piece. Here ``x`` itself: a GPU's kernel reads any layout in
        one launch."""
        return x

    def concat_into(self, arrays, out):
        """``arrays`` (of ``out``'s dtype) joined along their last axis, written into
        ``out`` (a slot of a larger array, say) and ``out`` returned: a sequence's
        per-step results then need no stack at the end. Here a join and a copy; NumPy
        and CuPy write straight into ``out``."""
        out[...] = self.xp.concat(arrays, axis=-1)
        return out

    def masked(self, values, keep, out=None):
        """``values`` where ``keep`` (from ``relu_mask`` or ``keep_mask``, of the same
        shape) holds, else 0, whatever ``values`` holds there, inf and NaN included:
        the backward of ReLU and of max-pooling. With ``out`` (an array of that shape,
        a strided view say), the result is written there and ``out`` returned."""
        result = self.xp.where(keep, values, self.xp.zeros((), dtype=values.dtype))
        if out is None:
            return result
        out[...] = result
        return out

    def masked_or(self, values, keep, fill):
        """``values`` where ``keep`` (as for ``masked``) holds, else ``fill`` (a Python
        number, in values' dtype), whatever ``values`` holds there: a threshold's output."""
        return self.xp.where(keep, values, self.xp.asarray(fill, dtype=values.dtype))

    def sqrt(self, x):
        """The square root of ``x`` as an array the caller owns and may change in place
        (an optimizer's temporary). A backend may write it into reused scratch memory."""
        return self.xp.sqrt(x)

    def absolute(self, x):
        """``|x|`` as an array the caller owns and may change in place (an optimizer's
        temporary). A backend may write it into reused scratch memory."""
        return self.xp.abs(x)

    def maximum_(self, y, x):
        """``y = maximum(y, x)`` in place (NaN passes, as in torch.maximum). The standard
        has no ``out=``, so this generic form makes one temporary; backends do better."""
        y[...] = self.xp.maximum(y, x)

    def difference(self, a, b):
        """``a - b`` (arrays of one shape and dtype) as an array the caller owns and may
        change in place: an optimizer's temporary. A backend may write it into reused
        scratch memory."""
        return a - b

    def scaled(self, x, alpha):
        """``alpha * x`` (``alpha`` a Python number) as an array the caller owns and may
        change in place: an optimizer's temporaries. A backend may write it into
        reused scratch memory."""
        return x * alpha

    def round_to_float32(self, x):
        """``x`` (float64) rounded to the nearest float32, kept in float64, subnormals
        included (a backend whose float32 arithmetic flushes them must keep them here)."""
        xp = self.xp
        return xp.astype(xp.astype(x, xp.float32), xp.float64)

    def scale_by_factor_(self, x, factor):
        """``x *= factor`` in place, ``factor`` a 0-d floating array rounded to x's dtype
        first (gradient clipping's scale, as PyTorch's); a float16 ``x`` takes a float32
        factor and is scaled in float32, rounding once."""
        xp = self.xp
        if x.dtype not in (xp.float32, xp.float64):  # float16 (which the strict namespace lacks)
            x[...] = xp.astype(xp.astype(x, factor.dtype) * factor, x.dtype)
        else:
            x *= xp.astype(factor, x.dtype)

    def axpy_(self, y, alpha, x):
        """``y += alpha * x`` in place (an optimizer's update), ``alpha`` a Python number.
        The standard has no ``out=``, so this generic form makes one temporary;
        backends do better."""
        y += x * alpha

    def fused_adam_(self, param, grad, exp_avg, exp_avg_sq, *, beta1, beta2, step_size, root_correction2, eps):
        """One Adam step (no amsgrad) on ``param`` and its two moments, in place, in one
        kernel where the backend has one; returns whether it did. The generic form has
        none (False), and the optimizer runs the step op by op."""
        return False

    def cross_entropy_rows(self, logits, target):
        """Per row of float32 or float64 (N, C) ``logits`` (N, C >= 1) against int class
        indices ``target`` (N,), all in [0, C): ``(losses, probs)``, the row's -log softmax
        at its target (N,) and the softmax (N, C), in one kernel where the backend has
        one; None where it has none, and the op computes them with the namespace."""
        return None

    def cross_entropy_grad(self, probs, target, gy, scale):
        """``(probs - onehot(target)) * (gy * scale)``, the gradient of cross-entropy's
        logits, in one kernel where the backend has one (else None): ``probs`` from
        ``cross_entropy_rows``, ``gy`` 0-d or one per row (N,), ``scale`` a number."""
        return None

    def max_pool2d_argmax(self, x, window):
        """Max pooling of (N, C, H, W) floating ``x`` over ``window``'s windows in one
        kernel where the backend has one: ``(maxima, at)``, ``at`` the int64 flat index
        into ``x`` (C order) of the cell each maximum is taken from: the first maximum
        of the window's cells inside the input in row-major order, or its last NaN.
        None where the backend has no such kernel, or a window lies wholly in padding."""
        return None

    def col2im(self, windows, shape, stride, dilation):
        """The adjoint of ``sliding_windows``: zeros of ``shape`` (``windows``' dtype)
        with each window of ``windows`` (shape ``shape[:-2] + (OH, OW, KH, KW)``, any
        strides) added back where it was taken from; overlaps accumulate."""
        raise NotImplementedError

    def __deepcopy__(self, memo):
        return self  # one Backend per device: a deep copy of a tensor (or model) shares it

    def __repr__(self):
        return f"<{type(self).__name__} device={self.device!r}>"
