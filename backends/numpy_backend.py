"""The CPU backend: NumPy 2, whose main namespace follows the Array API."""
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import numpy_division, numpy_lu, numpy_runs, triangular_solve
from .base import Backend, has_zero_stride, reduced_axes
from .numpy_blas import ROW_MAJOR, TRANSPOSE, find_axpy, find_omatcopy
from .scratch_pool import ScratchPool


AXPY_BLOCK = 1 << 16  # elements of axpy_'s scratch block (256 KiB of float32, within L2)
TRIANGULAR_BY_LAPACK_MAX = 64  # solve_triangular: a single matrix up to this size in one LAPACK solve
AXPY_SMALL = 1 << 13  # up to this many elements (32 KiB of float32), one plain temporary

# NumPy's maximum runs its SIMD loop only when both inputs step through memory: against
# a scalar 0 (stride 0) it takes the element-by-element loop, about 3x slower (86 against
# 27 us on a 512x512 float32 ReLU here). So ReLU compares with a row of zeros of this
# length, broadcast down the rows of the input seen as a 2-D array; long rows, because
# each row is one call of the inner loop (1,024 measured 30% slower than 16,384).
RELU_ROW = 1 << 14
# scatter_add's flat route builds an int64 index per element, twice float32 values' bytes:
# past this many elements (32 MiB of index) the row-wise add.at takes the larger gradients.
FLAT_SCATTER_MAX = 1 << 22
# From this many values, rows picked by one integer array (an embedding's or a gather's
# gradient) are summed by a sort (numpy_runs), with no per-element index: (10000, 64)
# from 64 x 160 ids, forward and backward of F.embedding 5.6 -> 1.2 ms; below, the flat
# route's few calls win (64 rows of 64: 13 against 35 us). Not for rows of one element:
# NumPy would add each id's entries pairwise, not in add.at's order.
RUNS_SCATTER_MIN = 1 << 16
# Bytes of each array in one block of blockwise (32K float32 elements): the kernel's
# temporaries then stay in L2 rather than each pass going out to memory and back.
ELEMENTWISE_BLOCK_BYTES = 1 << 17
# A ufunc's accumulate scans one line at a time, element by element (each step waits for
# the last): 3 ms for a (1000, 1000) float32 running maximum along either axis, 11 ms along
# axis 0 of (1024, 1024) (columns 4 KiB apart share cache sets). Stepping along the axis
# instead combines a slice of every line per call, which NumPy runs as a SIMD loop where
# the slice holds runs of adjacent elements: 0.5 ms for both. A call costs about 1 us, so
# this pays from some 256 lines on. (Slices across the lines' own contiguous axis would be
# strided, 14 ms on (1024, 1024): those keep accumulate.)
SCAN_BY_SLICES_MIN_LINES = 256

# Below this many elements NumPy's where (a branch per element) costs less than selecting bits.
WHERE_BITS_MIN = 1 << 13

# The integer type of each float width, to see a float's bits (see masked).
_SAME_SIZE_INT = {2: np.int16, 4: np.int32, 8: np.int64}


# The most float32 additions NumPy may make one at a time in a sum (see float32_sum_dtype).
SUMMED_ONE_AT_A_TIME_IN_FLOAT32 = 1024


class NumpyBackend(Backend):
    name = "numpy"

    def __init__(self, device="cpu"):
        super().__init__(device, np)
        self.seed(0)
        self.scratch_pool = ScratchPool()
        self._zeros_rows = {}  # dtype -> RELU_ROW read-only zeros
        self.blas_axpy = find_axpy()  # {dtype: axpy} from NumPy's own OpenBLAS, or None
        self.blas_omatcopy = find_omatcopy()  # {dtype: transposing copy}, or None

    def asarray(self, data, dtype=None):
        return np.asarray(data, dtype=dtype)

    def to_numpy(self, array):
        return array

    def from_numpy(self, array):
        # An array that owns its memory (a fresh result, another device's host copy) is taken
        # as it is; a view may be memory another tensor holds (a strict tensor's, read through
        # DLPack), and a move between devices must not alias it, as PyTorch's .to copies.
        return array if array.base is None else array.copy()

    def owns_memory(self, array):
        return array.base is None and array.flags.writeable

    def writable(self, array):
        return array.flags.writeable and not has_zero_stride(array)

    def float32_sum_dtype(self, array, axis):
        # NumPy adds pairwise only along its innermost loop, the run of reduced axes that
        # ends the array in memory; over the other reduced axes it adds one slice at a time,
        # so a float32 sum's error grows with their count (the mean of 1e6 rows of 0.1 over
        # axis 0 was 0.10096, of 3e7 rows 0.0699; PyTorch's 0.1). Past 1024 such additions
        # (up to 1e-5 off) the sum is taken in float64 and rounded once.
        if array.size < SUMMED_ONE_AT_A_TIME_IN_FLOAT32:  # (the quick way out, for small sums)
            return None
        axes = reduced_axes(array.ndim, axis)
        one_at_a_time = math.prod(array.shape[a] for a in axes)
        step = array.itemsize
        for a in range(array.ndim - 1, -1, -1):  # the innermost run: trailing reduced axes laid out in order
            n = array.shape[a]
            if n == 1:
                continue
            if a not in axes or array.strides[a] != step:
                break
            one_at_a_time //= n
            step *= n
        return np.float64 if one_at_a_time >= SUMMED_ONE_AT_A_TIME_IN_FLOAT32 else None

    def scatter_add(self, shape, index, values):
        if values.size >= RUNS_SCATTER_MIN and len(index) == 1 and math.prod(shape[1:]) > 1 \
                and isinstance(index[0], np.ndarray) and index[0].dtype.kind in "iu" \
                and values.dtype in (np.float32, np.float64) and values.shape == index[0].shape + tuple(shape[1:]):
            return _rows_added_by_sort(shape, index[0], values)
        out = np.zeros(shape, dtype=values.dtype)
        lead = 0  # whole axes before the integer arrays (take along an axis: x[:, ids])
        while lead < len(index) and isinstance(index[lead], slice) and index[lead] == slice(None):
            lead += 1
        arrays, picked = index[lead:], shape[lead:]
        count = len(arrays)
        if 0 < count <= len(picked) and values.size <= FLAT_SCATTER_MAX \
                and all(isinstance(p, np.ndarray) and p.dtype.kind in "iu" for p in arrays) \
                and values.shape == tuple(shape[:lead]) + np.broadcast_shapes(*(p.shape for p in arrays)) \
                + tuple(picked[count:]):
            # Integer arrays on the leading axes, or after whole ones (embedding ids,
            # pooling and sampling indices, take along an axis), each picking a block of
            # the axes after them. add.at adding whole blocks, or with slices in the index,
            # takes its slow general loop; adding single elements of a flat array, its fast
            # one: the same sums in the same order, 3-5x faster ((1000, 64) from 2,048 ids:
            # 0.85 -> 0.17 ms; (256, 385) along axis 1: 0.59 -> 0.12 ms). An index past an
            # axis still raises.
            if count == 1 and not lead:
                rows = arrays[0].astype(np.intp, copy=False)  # (a negative row stays one from the end)
            else:  # (after whole axes, a row past either end would land in the next place: checked)
                wide = (p.astype(np.intp, copy=False) for p in arrays)  # int8 ids + an axis of 200 would overflow
                rows = np.ravel_multi_index(tuple(np.where(p < 0, p + n, p) for p, n in zip(wide, picked)),
                                            picked[:count])
            block = math.prod(picked[count:])
            flat = rows if block == 1 else np.reshape(rows, (rows.size, 1)) * block + np.arange(block)
            if lead:  # each whole-axes place is a run of math.prod(picked) elements of out
                run = math.prod(picked) or 1  # (0 only for an empty out, which has no place to add into)
                flat = np.reshape(np.arange(0, out.size, run), (-1, 1)) + np.reshape(flat, (1, -1))
            np.add.at(np.reshape(out, (out.size,)), np.reshape(flat, (flat.size,)), np.reshape(values, (values.size,)))
            return out
        if len(index) == 1 and index[0].ndim > 1 and index[0].dtype.kind in "iu" \
                and values.shape == index[0].shape + tuple(shape[1:]):
            # One integer array of several axes, too large for the route above: flat rows,
            # 5-7x faster in add.at than the nested index ((32, 64, 7, 7): 0.78 -> 0.12 ms)
            # (the count, not -1: with an empty trailing axis -1 would be ambiguous)
            index = (np.reshape(index[0], (index[0].size,)),)
            values = np.reshape(values, (index[0].size,) + tuple(shape[1:]))
        np.add.at(out, index, values)
        return out

    def sum_runs(self, x, rows, counts, weights=None):
        return numpy_runs.sum_runs(x, rows, counts, weights)

    def spread_runs(self, g, rows, counts, size, weights=None):
        return numpy_runs.spread_runs(g, rows, counts, size, weights)

    def dot_runs(self, g, x, rows, counts):
        return numpy_runs.dot_runs(g, x, rows, counts)

    def first_max_of_runs(self, x, rows, counts):
        return numpy_runs.first_max_of_runs(x, rows, counts)

    def einsum(self, subscripts, *operands):
        # Contracting pairs by a BLAS product (optimize) pays off past tiny operands: 'ij,jk->ik'
        # on (148, 222) and (222, 296) takes 1.2 ms unoptimized, 0.2 ms optimized; the path
        # search costs some 5 us, which a 3x4 product does not earn back.
        large = len(operands) > 2 or sum(o.size for o in operands) > 4096
        if all(o.dtype == np.float16 for o in operands):
            # In float32, rounded once, as matmul below, at every size: there is no float16 BLAS, and
            # NumPy's own float16 einsum rounds its running sums to float16 along the way.
            wide = [o.astype(np.float32) for o in operands]
            return np.einsum(subscripts, *wide, optimize=large).astype(np.float16)
        return np.einsum(subscripts, *operands, optimize=large)

    def sliding_windows(self, x, window, stride, dilation):
        return windows_view(x, window, stride, dilation, as_strided)

    def diagonal_view(self, x, offset):
        return diagonal_view(x, offset, as_strided)

    def argsort(self, x, axis, descending, stable):
        if descending:
            # A stable ascending sort of the reversed axis, reversed back and renumbered,
            # keeps ties in order and puts NaN first (as the standard's reference does).
            reversed_order = self.argsort(np.flip(x, axis), axis, False, stable)
            return (x.shape[axis] - 1) - np.flip(reversed_order, axis)
        # NumPy's stable sort is a timsort, 5x slower than its SIMD quicksort (36 against
        # 6.7 ms on (1000, 1000) float32): sort unstably, then put runs of ties in index order.
        order = np.argsort(x, axis=axis)
        if not stable or x.shape[axis] < 2:
            return order
        ordered = np.take_along_axis(x, order, axis)
        before = ordered[(slice(None),) * axis + (slice(None, -1),)]
        after = ordered[(slice(None),) * axis + (slice(1, None),)]
        tie = before == after
        if ordered.dtype.kind == "f":
            tie |= np.isnan(before) & np.isnan(after)  # NaNs, sorted last, tie with each other
        tied_lines = tie.any(axis=axis)
        if not tied_lines.any():
            return order
        # Re-sort only the lines with ties (a few in 1,000 random float32 rows of 1,000) by
        # (run of equal values, original index), which are distinct keys.
        lines = np.moveaxis(order, axis, -1)  # a view: writing its lines writes order's
        tied = lines[tied_lines]
        run = np.cumsum(~np.moveaxis(tie, axis, -1)[tied_lines], axis=-1)
        key = np.concatenate([np.zeros_like(run[:, :1]), run], axis=-1) * x.shape[axis] + tied
        lines[tied_lines] = np.take_along_axis(tied, np.argsort(key, axis=-1), -1)
        return order

    def top_k(self, x, k, axis, largest):
        n = x.shape[axis]
        if not 0 < 4 * k < n or x.dtype.kind == "b" or (x.dtype.kind == "f" and np.isnan(x).any()):
            return super().top_k(x, k, axis, largest)  # sorting it all costs about the same
        # Select in linear time, then sort the k chosen; where the k-th value has a tie
        # left out, which tied entry is chosen matters, and the full sort decides.
        kth = n - k if largest else k - 1
        part = np.argpartition(x, kth, axis=axis)
        place = (slice(None),) * axis
        chosen = part[place + ((slice(kth, None) if largest else slice(0, k)),)]
        threshold = np.take_along_axis(x, part[place + (slice(kth, kth + 1),)], axis)
        reached = x >= threshold if largest else x <= threshold
        if (np.count_nonzero(reached, axis=axis) > k).any():
            return super().top_k(x, k, axis, largest)
        chosen = np.sort(chosen, axis=axis)  # index order, so the stable sort below keeps ties so
        order = self.argsort(np.take_along_axis(x, chosen, axis), axis, largest, True)
        return np.take_along_axis(chosen, order, axis)

    def cumulative_extreme(self, x, axis, largest, overwrite=False):
        combine = np.maximum if largest else np.minimum
        n = x.shape[axis]
        out = x if overwrite else None
        if n < 2 or x.size < SCAN_BY_SLICES_MIN_LINES * n or not _has_runs_across(x, axis):
            return combine.accumulate(x, axis=axis, out=out)  # one pass
        # Many lines: step along the axis, a whole slice of lines at a time (see above).
        if out is None:
            out = np.empty_like(x)
            np.moveaxis(out, axis, 0)[0] = np.moveaxis(x, axis, 0)[0]
        source, running = np.moveaxis(x, axis, 0), np.moveaxis(out, axis, 0)
        for i in range(1, n):
            combine(running[i - 1], source[i], out=running[i])
        return out

    def cumulative_logaddexp(self, x, axis, dtype=None):
        with np.errstate(invalid="ignore"):  # a NaN passed on (NumPy warns), never one made here
            return np.logaddexp.accumulate(x, axis=axis, dtype=dtype)

    def scatter_along_axis(self, shape, indices, values, axis):
        out = np.zeros(shape, dtype=values.dtype)
        np.put_along_axis(out, indices, values, axis)
        return out

    def scratch(self, shape, dtype):
        return self.scratch_pool.take(shape, dtype)

    def scratch_like(self, x, dtype):
        """Scratch memory of ``x``'s shape laid out in ``x``'s memory order (a conv
        output is channels-first behind its (N, C, H, W) shape): elementwise work
        between the two then runs in one sequential pass, and the layout passes on."""
        if x.flags.c_contiguous:
            return self.scratch(x.shape, dtype)
        order = memory_order(x)
        dense = self.scratch(tuple(x.shape[axis] for axis in order), dtype)
        return np.permute_dims(dense, tuple(order.index(axis) for axis in range(x.ndim)))

    def sigmoid(self, x):
        if x.dtype.kind != "f" or x.dtype.itemsize < 4:
            return super().sigmoid(x)  # float16's exp overflows from x < -11, too soon
        # 1 / (1 + exp(-x)) in one buffer: four passes where the overflow-free form takes
        # eight (7 against 15 us on 32x256 float32). exp(-x) overflows to inf only where
        # the result is below the smallest normal number (x < -88.7 in float32); 1 / inf
        # gives 0 there, where the overflow-free form keeps subnormals.
        out = np.negative(x, out=np.empty_like(x))  # an array even when x is 0-d
        with np.errstate(over="ignore", under="ignore"):
            np.exp(out, out=out)
        out += 1
        np.reciprocal(out, out=out)
        return out

    def gemm_operand(self, a):
        # OpenBLAS multiplies a row-major matrix by a column-major one (W_hh.T, as the
        # recurrent layers pass it) slowly at small sizes: (32, 64) @ (64, 256) float32
        # in 17 us, 10 us with the weight row-major. The copy costs about one step's
        # saving, once per sequence (see numpy_blas for why it is OpenBLAS's).
        if a.ndim != 2 or a.flags.c_contiguous or a.dtype == np.float16:
            return a  # (float16 goes through float32 copies in matmul anyway)
        copy = self.blas_omatcopy and a.flags.f_contiguous and a.flags.aligned and self.blas_omatcopy.get(a.dtype)
        if not copy:
            return np.ascontiguousarray(a)
        rows, cols = a.shape
        out = np.empty((rows, cols), dtype=a.dtype)
        source = a.T  # row-major (cols, rows): out is its transpose
        copy(ROW_MAJOR, TRANSPOSE, cols, rows, 1.0, source.ctypes.data, rows, out.ctypes.data, cols)
        return out

    def relu(self, x):
        # Activations are kept until backward, so fresh ones would take fresh pages
        # from the OS (a page fault per 4 KiB) every step; pooled ones are reused.
        y = self.scratch_like(x, x.dtype)
        self._relu_into(x, y)
        return y, self.relu_mask(y)

    def _relu_into(self, x, out):
        """``max(x, 0)`` into ``out`` (``x`` itself, or laid out like it), a row of zeros
        at a time (see RELU_ROW)."""
        flat = _flat_views(x, out)
        if flat is None:  # not one dense block: no row to broadcast along
            np.maximum(x, 0, out=out)
            return
        x_flat, out_flat = flat
        zeros = self._zeros_rows.get(x.dtype)
        if zeros is None:
            zeros = self._zeros_rows[x.dtype] = np.zeros(RELU_ROW, x.dtype)
            zeros.flags.writeable = False
        n = x_flat.size
        whole = n - n % RELU_ROW
        if whole:
            np.maximum(x_flat[:whole].reshape(-1, RELU_ROW), zeros, out=out_flat[:whole].reshape(-1, RELU_ROW))
        if whole < n:
            np.maximum(x_flat[whole:], zeros[:n - whole], out=out_flat[whole:])

    def matmul(self, a, b, *, scratch=False):
        if a.ndim > 1 and b.ndim > 1 and a.shape[-1] == 1 == b.shape[-2] and a.dtype.kind == b.dtype.kind == "f":
            # An inner size of 1 (an outer product: a dot's gradient, a depthwise convolution's
            # input gradient) is one multiply per entry, which OpenBLAS takes 5-20x longer over
            # than a broadcast multiply. Plus 0.0, the sum BLAS starts from, so that 0 * -1 is
            # +0 as before: the same bits (float16 as BLAS's float32 rounded once).
            out = self.scratch(np.broadcast_shapes(a.shape, b.shape), np.result_type(a, b)) \
                if scratch and a.ndim == b.ndim == 2 else None
            out = np.multiply(a, b, out=out)
            out += 0.0
            return out
        if a.dtype == np.float16 and b.dtype == np.float16:
            # NumPy multiplies float16 matrices in a loop of its own, not in BLAS: 40x slower
            # than float32 for an MLP's forward, 700x for its step. So in float32, rounded
            # once, as a GPU's float16 GEMM accumulates in float32.
            return np.matmul(a.astype(np.float32), b.astype(np.float32)).astype(np.float16)
        if not scratch or a.ndim != 2 or b.ndim != 2:
            return np.matmul(a, b)
        return np.matmul(a, b, out=self.scratch((a.shape[0], b.shape[1]), np.result_type(a, b)))

    # Masks here are int8, -1 (every bit set) where the gradient passes and 0 where it
    # does not, so that ``masked`` is a bitwise AND of the values' bits with the mask,
    # sign-extended: exactly ``where(keep, values, 0)``, inf and NaN included, at the
    # speed of a multiply by a bool mask (NumPy's ``where`` branches per element and
    # mispredicts on ReLU's random signs: 10-20x slower). A bool mask takes as little
    # memory but would turn an inf or NaN where it is False into NaN, not 0.

    def relu_mask(self, y):
        keep = self.scratch_like(y, np.int8)
        np.less_equal(y, 0, out=keep.view(np.bool_))  # 1 where the gradient stops, NaN passing
        np.subtract(keep, 1, out=keep)
        return keep

    def keep_mask(self, mask):
        # in place: the caller gave the mask up (asarray: a 0-d comparison gives a NumPy bool scalar)
        keep = np.asarray(mask).view(np.int8)
        np.negative(keep, out=keep)
        return keep

    def concat_into(self, arrays, out):
        return np.concat(arrays, axis=-1, out=out)

    def in_memory_order_of(self, x, like):
        # A masked write across layouts goes through a temporary in x's order and a
        # copy (see masked): four of them for a 2x2 pool's gradient, where one copy up
        # front lets each write go straight (LeNet's second pool: 112 -> 94 us).
        order = memory_order(like)
        if memory_order(x) == order:
            return x
        dense = self.scratch(tuple(x.shape[axis] for axis in order), x.dtype)
        out = np.permute_dims(dense, tuple(order.index(axis) for axis in range(x.ndim)))
        out[...] = x
        return out

    def masked(self, values, keep, out=None):
        if keep.dtype != np.int8:
            raise TypeError(f"masked: the mask must come from relu_mask or keep_mask (int8), got {keep.dtype}")
        if out is not None and memory_order(out) != memory_order(values):
            # Straight into an ``out`` laid out otherwise is twice as slow as a pass in
            # values' own order and a copy (403 against 197 us, a LeNet pooling gradient).
            out[...] = self.masked(values, keep)
            return out
        if out is None:
            out = self.scratch_like(values, values.dtype)
        bits = _SAME_SIZE_INT.get(values.dtype.itemsize) if values.dtype.kind == "f" else None
        if bits is None:
            raise TypeError(f"masked: the values must be float16, float32 or float64, got {values.dtype}")
        np.bitwise_and(values.view(bits), keep, out=out.view(bits))
        return out

    def masked_or(self, values, keep, fill):
        # ((values ^ fill) & keep) ^ fill on the bits: values where keep is all ones, fill
        # where it is 0, exactly, in three passes with no branch (0.24 ms for a million
        # float32 on a random pattern, where np.where takes 3.5 ms).
        if keep.dtype != np.int8 or values.dtype.kind != "f":
            raise TypeError(f"masked_or: needs float values and a mask from relu_mask or keep_mask (int8), got "
                            f"{values.dtype} values and a {keep.dtype} mask")
        fill = np.asarray(fill, dtype=values.dtype).view(_SAME_SIZE_INT[values.dtype.itemsize])
        out = self.scratch_like(values, values.dtype)
        bits = out.view(fill.dtype)
        np.bitwise_xor(values.view(fill.dtype), fill, out=bits)
        np.bitwise_and(bits, keep, out=bits)
        np.bitwise_xor(bits, fill, out=bits)
        return out

    def where(self, condition, a, b):
        # NumPy's where branches per element and mispredicts on an unpredictable condition
        # (fmax of random values): selecting bits, b ^ ((a ^ b) & -condition), takes the
        # same values in five branchless passes (0.34 -> 0.05 ms on (256, 384) float32,
        # and no slower where the condition runs in long stretches); on small arrays
        # where's one call costs less.
        bits = _SAME_SIZE_INT.get(a.dtype.itemsize) if a.dtype.kind in "fiu" else None
        if bits is None or a.dtype != b.dtype or max(condition.size, a.size, b.size) < WHERE_BITS_MIN:
            return np.where(condition, a, b)
        a_bits, b_bits = a.view(bits), b.view(bits)
        select = condition.astype(bits)
        np.negative(select, out=select)  # all ones where the condition holds
        out = np.bitwise_and(np.bitwise_xor(a_bits, b_bits), select)  # of the three's broadcast shape
        out ^= b_bits
        return out.view(a.dtype)

    def may_hold_nan(self, x):
        return x.size > 0 and bool(np.isnan(np.max(x)))  # max passes NaN on, in one fast pass

    def any_true(self, mask):
        return bool(np.any(mask))

    def blockwise(self, kernel, *arrays):
        # A kernel of dozens of passes (erf's rational functions) over arrays larger than
        # the cache goes out to memory and back on each; a block at a time it stays in L2:
        # erfc on 4M float32, 240 -> 105 ms.
        first = arrays[0]
        block = max(1, ELEMENTWISE_BLOCK_BYTES // first.itemsize)
        if first.size <= 2 * block or any(a.shape != first.shape for a in arrays[1:]):
            return kernel(*arrays)
        flat = [np.reshape(a, (a.size,)) for a in arrays]  # (a copy where a is not C-contiguous)
        head = kernel(*(f[:block] for f in flat))
        several = isinstance(head, tuple)
        heads = head if several else (head,)
        outs = tuple(np.empty(first.size, dtype=h.dtype) for h in heads)
        for out, h in zip(outs, heads):
            out[:block] = h
        for start in range(block, first.size, block):
            results = kernel(*(f[start:start + block] for f in flat))
            for out, r in zip(outs, results if several else (results,)):
                out[start:start + block] = r
        shaped = tuple(np.reshape(out, first.shape) for out in outs)
        return shaped if several else shaped[0]

    def relu_(self, x):
        self._relu_into(x, x)
        return self.relu_mask(x)

    # NumPy's float loops for these three run C's fmod, a bit at a time: numpy_division
    # gives the same bits in whole-array passes (0.6-1.0 against 4-6 ms on (512, 512) float32).
    def fmod(self, a, b):
        if numpy_division.applies(a, b):
            return numpy_division.fmod(a, b, self.scratch)
        return np.fmod(a, b)  # one pass, where the generic form takes four

    def lu_factor(self, a):
        # blocked, with in-place row exchanges: the generic kernel's whole-array steps took
        # 100x PyTorch's time (numpy_lu)
        return numpy_lu.lu_factor(a, self.matmul)

    def solve_triangular(self, a, b, *, upper, unitriangular):
        n = a.shape[-1]
        if n > TRIANGULAR_BY_LAPACK_MAX or math.prod(a.shape[:-2]) != 1 or b.size == 0:
            return super().solve_triangular(a, b, upper=upper, unitriangular=unitriangular)
        part = triangular_solve.triangle(np, a, upper, unitriangular)
        if not np.diagonal(part, axis1=-2, axis2=-1).all() or not np.isfinite(part).all():
            # inf and NaN in the solution, where they fall as a substitution's, with no error
            return super().solve_triangular(a, b, upper=upper, unitriangular=unitriangular)
        # One small matrix: a LAPACK solve of its triangle (O(n^3), but one call) beats the blocked
        # kernel's n Python steps (n = 64: 0.04 against 0.17 ms). A batch is not: NumPy calls LAPACK
        # per matrix, where the blocked kernel's steps cover the whole batch ((64, 32, 32): 1.5 against
        # 0.8 ms). An upper triangle goes through LAPACK's LU unchanged (each column's pivot is its
        # diagonal entry, every multiplier 0), so the solve is a plain back substitution; a lower one
        # could have its rows exchanged, and a badly scaled one, [[1e-170, 0], [1e170, 1e-170]], was
        # then found singular. So a lower triangle is solved as the upper J A J (J reversing the order).
        if upper:
            return np.linalg.solve(part, b)
        return np.ascontiguousarray(np.linalg.solve(part[::-1, ::-1], b[::-1])[::-1])

    def lu_rows(self, pivots, m):
        return numpy_lu.lu_rows(pivots, m)  # exchanges in place, not the generic whole-order rebuilds

    def remainder(self, a, b):
        if numpy_division.applies(a, b):
            return numpy_division.remainder(a, b, self.scratch)
        return np.remainder(a, b)

    def floor_divide(self, a, b):
        if numpy_division.applies(a, b):
            return numpy_division.floor_divide(a, b, self.scratch)
        return np.floor_divide(a, b)

    def cbrt(self, x):
        return np.cbrt(x)

    def exp2(self, x):
        return np.exp2(x)  # libm's pow, for 2.0 ** x, is 9x slower ((258, 387) float32: 156 against 18 us)

    def ldexp(self, x, e):
        return np.ldexp(x, e)

    def frexp(self, x):
        return np.frexp(x)

    def power(self, a, b):
        # libm's pow takes a slow path for a negative base, which only an integral exponent
        # allows: 40x slower ((210, 315) float32 normals cubed: 2.9 ms against 70 us). For a
        # whole-number scalar exponent, |a| ** b, with a's sign where b is odd, is that value
        # on the fast path (within the last bit, as that path is for positive bases; -0.0,
        # the infinities and NaN exactly).
        if b.ndim == 0 and a.dtype.kind == "f" and b.dtype.kind == "f" and float(b).is_integer():
            y = np.abs(a) ** b
            return np.copysign(y, a) if float(b) % 2 == 1 else y
        return a ** b

    def sqrt(self, x):
        return np.sqrt(x, out=self._owned_like(x))

    def absolute(self, x):
        return np.abs(x, out=self._owned_like(x))

    def maximum_(self, y, x):
        np.maximum(y, x, out=y)

    def difference(self, a, b):
        if a.shape != b.shape or a.dtype != b.dtype:
            return a - b  # a broadcast or a promotion: the result is not shaped like a
        return np.subtract(a, b, out=self._owned_like(a))

    def scaled(self, x, alpha):
        return np.multiply(x, alpha, out=self._owned_like(x))

    def _owned_like(self, x):
        """An uninitialized array like ``x`` for a kernel's result: from the scratch pool
        when large, else straight from malloc (an array even when ``x`` is 0-d, where a
        ufunc without ``out=`` gives a NumPy scalar)."""
        if x.nbytes < ScratchPool.MIN_BYTES:  # malloc's free lists serve it: skip the pool's bookkeeping
            return np.empty_like(x)
        return self.scratch_like(x, x.dtype)

    def axpy_(self, y, alpha, x):
        if x.size <= AXPY_SMALL:
            # a bias, a small kernel: a temporary from malloc's heap costs less than
            # the bookkeeping below (0.9 against 3.1 us on 8 floats)
            y += x * alpha
            return
        order = "C" if y.flags.c_contiguous and x.flags.c_contiguous else (
            "F" if y.flags.f_contiguous and x.flags.f_contiguous else None)
        if order is None or x.shape != y.shape or np.may_share_memory(x, y):
            # layouts differ, x broadcasts, or y's first blocks would change x's later
            # ones: one whole-size temporary
            scaled = self.scratch(x.shape, x.dtype)
            np.multiply(x, alpha, out=scaled)
            y += scaled
            return
        # NumPy's own BLAS (see numpy_blas): one pass, no buffer. Not for alpha == 0,
        # where OpenBLAS returns at once and a NaN or inf in x would not reach y.
        blas = (self.blas_axpy and alpha != 0 and x.dtype == y.dtype and y.flags.writeable
                and x.flags.aligned and y.flags.aligned and self.blas_axpy.get(x.dtype))
        if blas:
            blas(x.size, float(alpha), x.ctypes.data, 1, y.ctypes.data, 1)
            return
        # Else alpha * x goes into scratch memory a block at a time: NumPy has no fused
        # axpy, and a whole-size temporary would add x's size to a training step's peak.
        y_flat, x_flat = y.reshape(-1, order=order), x.reshape(-1, order=order)
        n = x_flat.size
        block = self.scratch((min(n, AXPY_BLOCK),), x.dtype)
        for start in range(0, n, AXPY_BLOCK):
            stop = min(start + AXPY_BLOCK, n)
            scaled = block[:stop - start]
            np.multiply(x_flat[start:stop], alpha, out=scaled)
            y_flat[start:stop] += scaled

    def col2im(self, windows, shape, stride, dilation):
        out = self.scratch(shape, windows.dtype)
        out[...] = 0
        return add_windows(out, windows, stride, dilation)


def memory_order(x):
    """The axes of ``x`` from the largest stride to the smallest: the order in which
    its elements lie in memory, when they lie in one dense block."""
    return sorted(range(x.ndim), key=lambda axis: -abs(x.strides[axis]))


def _flat_views(x, out):
    """1-D views of ``x`` and ``out`` that list both in ``x``'s memory order, or None
    where either is not one dense block in that order."""
    if not (x.flags.c_contiguous and out.flags.c_contiguous):
        order = memory_order(x)
        x, out = np.permute_dims(x, order), np.permute_dims(out, order)
        if not (x.flags.c_contiguous and out.flags.c_contiguous):
            return None
    return x.reshape(-1), out.reshape(-1)


def windows_view(x, window, stride, dilation, as_strided):
    """Strided view shared by the NumPy and CuPy backends (same stride model)."""
    (kh, kw), (sh, sw), (dh, dw) = window, stride, dilation
    h, w = x.shape[-2:]
    oh = (h - dh * (kh - 1) - 1) // sh + 1
    ow = (w - dw * (kw - 1) - 1) // sw + 1
    *lead, s_h, s_w = x.strides
    shape = (*x.shape[:-2], oh, ow, kh, kw)
    strides = (*lead, s_h * sh, s_w * sw, s_h * dh, s_w * dw)
    return as_strided(x, shape=shape, strides=strides, writeable=False)


def diagonal_view(x, offset, as_strided):
    """Strided view shared by the NumPy and CuPy backends: from the diagonal's first
    entry, one row and one column further per step. (NumPy's own diagonal is read-only.)"""
    corner = x[..., max(0, -offset):, max(0, offset):]  # a basic slice: a view
    length = min(corner.shape[-2:])
    *lead, s_row, s_col = corner.strides
    return as_strided(corner, shape=(*x.shape[:-2], length), strides=(*lead, s_row + s_col))


def add_windows(out, windows, stride, dilation):
    """Add ``windows`` (..., OH, OW, KH, KW) into ``out`` in place, one strided slab
    per kernel offset (KH*KW vectorized adds, never a loop over pixels); shared by
    the NumPy and CuPy backends."""
    (sh, sw), (dh, dw) = stride, dilation
    oh, ow, kh, kw = windows.shape[-4:]
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
        for j in range(kw):
            out[..., rows, j * dw:j * dw + sw * (ow - 1) + 1:sw] += windows[..., i, j]
    return out


def _has_runs_across(x, axis):
    """Whether x's slices across ``axis`` hold runs of adjacent elements: another axis
    (longer than 1) steps one element."""
    return any(abs(step) == x.itemsize for a, (size, step) in enumerate(zip(x.shape, x.strides))
               if a != axis and size > 1)


def _rows_added_by_sort(shape, ids, values):
    """scatter_add's rows ``values[i]`` added at ``ids[i]`` along axis 0, each row's in the
    order of the entries, as add.at adds them (the same bits), by numpy_runs' sort."""
    rows = np.reshape(ids, (ids.size,)).astype(np.intp, copy=False)
    if rows.size and rows.min() < 0:  # a negative row counts from the end, as in add.at
        rows = np.where(rows < 0, rows + shape[0], rows)
        if rows.min() < 0:
            raise IndexError(f"index {int(rows.min()) - shape[0]} is out of bounds for axis 0 with size {shape[0]}")
    flat = np.reshape(values, (rows.size,) + tuple(shape[1:]))
    out = numpy_runs.spread_runs(flat, rows, np.ones(rows.size, dtype=np.intp), shape[0])
    # A row of one entry holds that entry; add.at adds it to 0.0, which turns -0.0 into 0.0
    # (as PyTorch's embedding gradient has it). One pass over the output: 0.05 ms on (10000, 64).
    return np.add(out, 0.0, out=out)
