"""The CUDA backend, on CuPy. CuPy is imported only when a CUDA device is asked for."""

import math

from . import dtypes
from .base import Backend, below, has_zero_stride, reduced_axes
from .cupy_cross_entropy import cross_entropy_rows
from .cupy_namespace import array_api_namespace
from .numpy_backend import SUMMED_ONE_AT_A_TIME_IN_FLOAT32, diagonal_view, windows_view

INT32_WRITES = 2 ** 31  # put_last_'s writes that int32 numbers count
FLOAT32_MAX = float(dtypes.finfo(dtypes.float32).max)
INSTALL_HINT = ("install CuPy for CUDA 12 with `pip install 'topograd[cuda]'` "
                "(or `pip install cupy-cuda12x`) on a machine with an NVIDIA GPU")


class BackendUnavailable(RuntimeError):
    pass


def _import_cupy():
    try:
        import cupy
    except ImportError as exc:
        raise BackendUnavailable(f"device 'cuda' needs CuPy, which is not installed: {INSTALL_HINT}") from exc
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA driver missing or broken
        raise BackendUnavailable(f"device 'cuda' needs a working CUDA GPU ({exc}); {INSTALL_HINT}") from exc
    if count == 0:
        raise BackendUnavailable(f"device 'cuda' needs a CUDA GPU, and none was found; {INSTALL_HINT}")
    return cupy


class CupyBackend(Backend):
    name = "cupy"
    col2im_is_one_kernel = True
    works_in_cache_blocks = False

    def __init__(self, index=0):
        cupy = _import_cupy()
        if index >= cupy.cuda.runtime.getDeviceCount():
            raise BackendUnavailable(f"device 'cuda:{index}' does not exist; this machine has "
                                     f"{cupy.cuda.runtime.getDeviceCount()} CUDA device(s)")
        with cupy.cuda.Device(index):  # (the namespace reads one probe from this device)
            xp = array_api_namespace(cupy)  # CuPy 13 lacks some standard names
        super().__init__(f"cuda:{index}", xp)
        self.index = index
        self._device = cupy.cuda.Device(index)
        self.seed(0)

    def asarray(self, data, dtype=None):
        with self._device:
            try:
                return self.xp.asarray(data, dtype=dtype)
            except ValueError as exc:
                # CuPy refuses objects and strings (a list holding a Fraction) with a ValueError,
                # where NumPy makes an array of them that Tensor refuses with a TypeError
                if not str(exc).startswith("Unsupported dtype"):
                    raise
                raise TypeError(f"cannot make a CUDA array of this {type(data).__name__} ({exc}); "
                                "tensors hold real numbers or bools") from None

    def to_numpy(self, array):
        return self.xp.asnumpy(array)

    def from_numpy(self, array):
        with self._device:
            return self.xp.asarray(array)

    def owns_memory(self, array):
        return array.base is None

    def repeats_elements(self, array):
        return has_zero_stride(array)  # (to_numpy would copy to the host, and lose the strides)

    def writable(self, array):
        return not has_zero_stride(array)  # (CuPy has no read-only arrays; to_numpy would copy)

    def may_share_memory(self, a, b):
        if a.size == 0 or b.size == 0:  # (see Backend.may_share_memory)
            return True
        return bool(self.xp.may_share_memory(a, b))  # (to_numpy would copy to the host)

    def synchronize(self):
        self._device.synchronize()

    def record_event(self):
        with self._device:
            event = self.xp.cuda.Event()
            event.record()
        return event

    def elapsed_ns(self, begin, end):
        end.synchronize()
        return int(self.xp.cuda.get_elapsed_time(begin, end) * 1e6)  # CuPy gives milliseconds

    def seed(self, seed):
        with self._device:
            self.rng = self.xp.random.default_rng(seed)

    def get_rng_state(self):
        # CuPy's Generator holds a threading.Lock, so it neither deep-copies nor pickles, and
        # CuPy has no public state getter (cupy/cupy#5430). Its whole state is the cuRAND
        # states in the bit generator's device array ``_state``: a copy on the device, no sync.
        with self._device:
            return self.rng.bit_generator._state.copy()

    def set_rng_state(self, state):
        # copied into the live states, so ``state`` itself can be replayed again
        with self._device:
            self.rng.bit_generator._state[...] = state

    def uniform(self, shape, low, high, dtype):
        with self._device:
            draw = dtype if self.xp.dtype(dtype).itemsize >= 4 else self.xp.float32  # as in normal()
            if not abs(high - low) <= FLOAT32_MAX:
                # a span past float32's range is inf there (every draw came out high, or NaN at 0):
                # drawn in float64 and rounded once, as the CPU backend draws
                draw = self.xp.float64
            out = (self.rng.random(shape, dtype=draw) * (high - low) + low).astype(dtype, copy=False)
            return self.xp.minimum(out, below(high, low, dtype)) if low < high else out  # (see base.below)

    def normal(self, shape, mean, std, dtype):
        with self._device:
            # CuPy draws normals in float32 or float64 only: draw in float32 for float16
            draw = dtype if self.xp.dtype(dtype).itemsize >= 4 else self.xp.float32
            return (self.rng.standard_normal(shape, dtype=draw) * std + mean).astype(dtype, copy=False)

    def integers(self, low, high, shape):
        with self._device:
            return self.rng.integers(low, high, shape)

    def check_index_bounds(self, shape, index):
        # CuPy would wrap an index past the end around; one device sync, for users' indices only
        check_index_bounds(self.xp, shape, index)

    def float32_sum_dtype(self, array, axis):
        # CuPy's reduction kernels share each output's numbers among a block's threads (as
        # few as 16 where the outputs lie side by side in memory), each adding its share one
        # at a time before the block adds the threads' sums as a tree: the float32 mean of 1e6
        # rows of 0.1 was 0.1000037. From 1024 numbers per output the sum runs in float64 and
        # is rounded once, as NumPy's backend does past 1024 additions one at a time.
        if array.size < SUMMED_ONE_AT_A_TIME_IN_FLOAT32:  # (the quick way out, for small sums)
            return None
        count = math.prod(array.shape[a] for a in reduced_axes(array.ndim, axis))
        return self.xp.float64 if count >= SUMMED_ONE_AT_A_TIME_IN_FLOAT32 else None

    def read_ints(self, *scalars):
        # one copy to the host (one wait for the device) for all of them
        with self._device:
            return tuple(int(v) for v in self.xp.asnumpy(self.xp.stack(scalars)).tolist())

    def linalg_status_checked(self):
        # CuPy skips the status (devInfo) of cuSOLVER's and cuBLAS's factorizations unless
        # told to, as reading it waits for the device; a singular batch given to inv then
        # came back with whatever memory held, finite, and no error. Raising needs the
        # status on the host, so the linalg functions that take this wait once or twice.
        import cupyx
        return cupyx.errstate(linalg="raise")

    def solve_triangular(self, a, b, *, upper, unitriangular):
        # cuBLAS's trsm through cupyx, which takes batches from CuPy 14 on (cupy/cupy#8329);
        # before that, and for empty arrays, the generic blocked kernel
        import cupy
        if a.size == 0 or b.size == 0 or (a.ndim > 2 and int(cupy.__version__.split(".")[0]) < 14):
            return super().solve_triangular(a, b, upper=upper, unitriangular=unitriangular)
        import cupyx.scipy.linalg
        with self._device:
            return cupyx.scipy.linalg.solve_triangular(a, b, lower=not upper, unit_diagonal=unitriangular)

    def float32_prod_dtype(self):
        # CuPy multiplies pairs of partial products (a tree, as its sums), which can overflow
        # where the running product does not: float32 1e-20 * 1e-10 * 1e20 * 1e20 was inf,
        # NumPy's 1e10. In float64 such partial products of float32 numbers stay finite.
        return self.xp.float64

    def put_last_(self, x, index, values):
        parts = index if isinstance(index, tuple) else (index,)
        if getattr(values, "size", 1) > 1 and any(
                hasattr(p, "dtype") and p.dtype.kind in "iu" and p.size > 1 for p in parts):
            # CuPy's setitem keeps any one of the values written to a repeated place (its
            # documented difference from NumPy). Each repeat gets the value of the last write
            # to its place (NumPy's winner), so that the order of the writes no longer matters.
            xp = self.xp
            with self._device:
                if len(parts) == 1 and parts[0].ndim == 1:  # rows of x: x[rows] = values
                    rows = xp.where(parts[0] < 0, parts[0] + x.shape[0], parts[0])
                    x[rows] = last_write_of_each_row(xp, rows, xp.broadcast_to(values, rows.shape + x.shape[1:]))
                    return
                # Otherwise: number the writes, keep the highest number per place with a
                # scatter-max, and read its value back. No sync; the scratch is int32, x's size.
                # (Each place read back below gets a number, each >= 0: any fill >= 0 will do.)
                import cupyx
                last = xp.zeros(x.shape, dtype=xp.int32)
                picked = last[index]
                if picked.size >= INT32_WRITES:  # uint64: CuPy's scatter_max takes no int64
                    last = xp.zeros(x.shape, dtype=xp.uint64)
                seq = xp.reshape(xp.arange(picked.size, dtype=last.dtype), picked.shape)
                cupyx.scatter_max(last, index, seq)
                flat = xp.reshape(xp.broadcast_to(values, picked.shape), (picked.size,))
                values = xp.take(flat, xp.reshape(last[index], (picked.size,)))
                x[index] = xp.reshape(values, picked.shape)
            return
        self.put_(x, index, values)

    def scatter_add(self, shape, index, values):
        import cupy
        out = self.xp.zeros(shape, dtype=values.dtype)
        cupy.add.at(out, index, values)  # (cupyx.scatter_add, its older name, is deprecated)
        return out

    def einsum(self, subscripts, *operands):
        return self.xp.einsum(subscripts, *operands)

    def sliding_windows(self, x, window, stride, dilation):
        return windows_view(x, window, stride, dilation, _cupy_as_strided)

    def diagonal_view(self, x, offset):
        return diagonal_view(x, offset, _cupy_as_strided)

    def axpy_(self, y, alpha, x):
        with self._device:
            _kernel("axpy")(x, y.dtype.type(alpha), y)  # one fused kernel, no temporary

    def fused_adam_(self, param, grad, exp_avg, exp_avg_sq, *, beta1, beta2, step_size, root_correction2, eps):
        # one kernel per parameter where the op-by-op step launches ten; float16 takes the
        # op-by-op path, whose lerp goes through float32
        if param.dtype.char not in "fd" or grad.dtype != param.dtype:
            return False
        weight = 1 - beta1
        t = param.dtype.type
        with self._device:
            _kernel("adam")(grad, t(weight), t(1 - weight), weight < 0.5, t(beta2), t(1 - beta2),
                            t(root_correction2), t(eps), t(-step_size), exp_avg, exp_avg_sq, param)
        return True

    def relu_(self, x):
        with self._device:
            self.xp.maximum(x, 0, out=x)  # no full-size temporary, unlike the generic form
            return self.relu_mask(x)

    def concat_into(self, arrays, out):
        import cupy
        with self._device:
            return cupy.concatenate(arrays, axis=-1, out=out)

    def maximum_(self, y, x):
        with self._device:
            self.xp.maximum(y, x, out=y)  # one kernel, where the generic form takes two

    def fmod(self, a, b):
        with self._device:
            return self.xp.fmod(a, b)  # one kernel, where the generic form takes four

    def remainder(self, a, b):
        # CuPy's float remainder is a - floor(a / b) * b: NaN for a finite a over an infinite
        # b (NumPy's is a, or b where the signs differ), and not exact. NumPy's, from fmod:
        if a.dtype.kind != "f":
            return self.xp.remainder(a, b)
        return self._divmod_part("remainder", a, b)

    def floor_divide(self, a, b):
        # CuPy's float floor_divide is floor(a / b): -0.0 where NumPy's is -1 (a tiny -a over
        # b), and inf where NumPy's is NaN (an infinite a). NumPy's, from fmod:
        if a.dtype.kind != "f":
            return self.xp.floor_divide(a, b)
        return self._divmod_part("floor_divide", a, b)

    def _divmod_part(self, name, a, b):
        xp = self.xp
        with self._device:
            if a.dtype == xp.float16:  # NumPy computes float16 in float32 and rounds once
                wide = xp.float32
                return xp.astype(_kernel(name)(xp.astype(a, wide), xp.astype(b, wide)), a.dtype)
            return _kernel(name)(a, b)

    def cbrt(self, x):
        with self._device:
            return self.xp.cbrt(x)  # C's cbrt and the two below, where the generic forms compose several

    def ldexp(self, x, e):
        with self._device:
            if e.dtype.itemsize > 4:
                # CuPy's kernel hands an int64 exponent to C's ldexp(x, int), which keeps its low
                # 32 bits (2**32 + 3 scaled by 8, 2**31 gave 0). Past int32 every finite x is 0
                # or inf already, and NumPy's loop clamps it there too.
                e = self.xp.clip(e, -2 ** 31, 2 ** 31 - 1)
            return self.xp.ldexp(x, e)

    def frexp(self, x):
        with self._device:
            return self.xp.frexp(x)

    def sqrt(self, x):
        with self._device:
            return self.xp.sqrt(x)  # CuPy's pool reuses the memory; sqrt, unlike a power of 0.5, is exact

    def power(self, a, b):
        # CUDA's pow is within 2 ulp, not exact even at x ** 1 (3.0 came back 2.9999999999999996,
        # so x ** 2's gradient 2 x was 6 - 1 ulp there). NumPy, given one exponent for all
        # (its ** operator; its power loop too from 2.5), squares, copies, takes the square
        # root or the reciprocal for 2, 1, 0.5 and -1; so does this kernel, with the exponent
        # read on the device (no wait).
        with self._device:
            if b.ndim == 0 and a.dtype == b.dtype and a.dtype.char in "fd":
                return _kernel("power_of_one_exponent")(a, b)
            return a ** b

    def scale_by_factor_(self, x, factor):
        # The factor rounded to float32 can be subnormal (a norm past 8.5e37 clipped to 1),
        # which CuPy's float32 arithmetic flushes to 0: the kernel rounds it in float64 and
        # multiplies there, one rounding to float32 as the float32 product has (a product
        # below float32's normal range is still flushed, as everywhere on CuPy).
        if x.dtype.char != "f":
            return super().scale_by_factor_(x, factor)
        with self._device:
            _kernel("scale_by_float32_factor")(self.xp.astype(factor, self.xp.float64), x)

    def round_to_float32(self, x):
        # (float) of a float64 below float32's normal range is 0 under CuPy's -ftz=true
        with self._device:
            return _kernel("round_to_float32")(x)

    def tanh_gradient(self, gy, y):
        return self._fused_gradient("tanh_gradient", gy, y)

    def sigmoid_gradient(self, gy, y):
        return self._fused_gradient("sigmoid_gradient", gy, y)

    def _fused_gradient(self, name, gy, y):
        # one kernel where the composed form launches three (a launch costs the host some
        # 12 us, which the 1,000-op chain pays a third of the time); the same roundings
        if gy.dtype != y.dtype or y.dtype.char not in "fd":
            return getattr(super(), name)(gy, y)
        with self._device:
            return _kernel(name)(gy, y)

    def relu_mask(self, y):
        with self._device:
            return _kernel("relu_mask")(y)  # one kernel, where the generic form takes two

    def masked(self, values, keep, out=None):
        select = _kernel("masked")
        with self._device:  # one kernel, straight into a strided ``out`` too
            return select(values, keep) if out is None else select(values, keep, out)

    def cross_entropy_rows(self, logits, target):
        n, c = logits.shape
        # float16 goes op by op, through float32 sums; so do a few rows of very many classes,
        # which a warp per row would leave to a handful of the GPU's warps
        if logits.dtype.char not in "fd" or n == 0 or c == 0 or (c > 65536 and n < 1024):
            return None
        import cupy
        with self._device:
            return cross_entropy_rows(cupy, logits, target)

    def cross_entropy_grad(self, probs, target, gy, scale):
        if probs.dtype.char not in "fd" or gy.dtype != probs.dtype:
            return None
        with self._device:
            return _kernel("cross_entropy_grad")(probs, target, gy, probs.shape[1], gy.ndim == 1,
                                                 probs.dtype.type(scale))

    def max_pool2d_argmax(self, x, window):
        if x.dtype.kind != "f" or not window.reaches_input:
            return None
        (kh, kw), (sh, sw), (dh, dw), (oh, ow) = window.kernel, window.stride, window.dilation, window.out_size
        (h, w), (top, _, left, _) = window.in_size, window.padding
        with self._device:
            maxima = self.xp.empty(x.shape[:-2] + (oh, ow), dtype=x.dtype)
            at = self.xp.empty(maxima.shape, dtype=self.xp.int64)
            _kernel("max_pool2d_argmax")(x, h, w, oh, ow, kh, kw, sh, sw, dh, dw, top, left, maxima, at)
            return maxima, at

    def col2im(self, windows, shape, stride, dilation):
        oh, ow, kh, kw = windows.shape[-4:]
        with self._device:  # one kernel that gathers each pixel's windows, not a strided add per offset
            out = self.xp.empty(shape, dtype=windows.dtype)
            _kernel("col2im")(windows, shape[-2], shape[-1], oh, ow, kh, kw, *stride, *dilation, out)
            return out


# The float64 c rounded to float32 (to nearest, ties to even), subnormals included: below
# float32's normal range the multiple of 2 ** -149 that rint picks, as (float) would without the
# flush of -ftz=true, with which CuPy compiles every kernel
_FLOAT32_OF_C = ("fabs(c) < 1.1754943508222875e-38 "
                 "? rint(ldexp(c, 149)) * ldexp(1.0, -149) : (double)(float)c")
# CUDA elementwise kernels, compiled on first use: (input params, output params, body).
_KERNEL_SOURCES = {
    "axpy": ("T x, T a", "T y", "y += a * x"),
    # NumPy's one-exponent power loop: the exponents 2, 1, 0.5 and -1 exactly (CupyBackend.power)
    "power_of_one_exponent": ("T x, T y", "T z",
                              "if (y == (T)2) z = x * x; else if (y == (T)1) z = x; "
                              "else if (y == (T)0.5) z = sqrt(x); else if (y == (T)-1) z = (T)1 / x; "
                              "else z = pow(x, y)"),
    # x *= factor rounded to float32, a subnormal factor kept: the product of two float32 numbers
    # is exact in float64, so one rounding gives the float32 product's bits. (-ftz=true still makes
    # the casts of x and of the product flush: a subnormal x or product is 0, as in CuPy's multiply.)
    "scale_by_float32_factor": ("float64 c", "float32 x",
                                f"const double f = {_FLOAT32_OF_C}; x = (float)((double)x * f)"),
    # c rounded to float32, kept in float64 (clip_grad_norm_'s steps, as PyTorch's float32 ones)
    "round_to_float32": ("float64 c", "float64 r", f"r = {_FLOAT32_OF_C}"),
    # tanh's and the sigmoid's gradients from their outputs, rounded as Backend's composed forms
    # (no fused multiply-adds: _KERNEL_OPTIONS)
    "tanh_gradient": ("T gy, T y", "T out", "out = gy * ((T)1 - y * y)"),
    "sigmoid_gradient": ("T gy, T y", "T out", "out = (gy * y) * ((T)1 - y)"),
    # a ReLU's output passes its gradient where it is not <= 0 (NaN passes, as in PyTorch)
    "relu_mask": ("T y", "bool keep", "keep = !(y <= (T)0)"),
    # a select, not a multiply: an inf or NaN where keep is false gives 0
    "masked": ("T v, bool keep", "T out", "out = keep ? v : (T)0"),
    # Adam's step in the arithmetic of nn.optim.adam.adam_update, op for op (lerp_'s two forms;
    # no fused multiply-adds, see _KERNEL_OPTIONS), so that it gives the op-by-op path's bits
    "adam": ("T g, T w, T one_minus_w, bool low, T beta2, T one_minus_beta2, T root_correction2, T eps, "
             "T neg_step_size", "T m, T v, T p",
             "m = low ? m + (g - m) * w : (m - g) * one_minus_w + g; "
             "v = v * beta2 + (g * one_minus_beta2) * g; "
             "p = p + (m * neg_step_size) / (sqrt(v) / root_correction2 + eps)"),
    # cross-entropy's logits gradient, (probs - onehot) * (gy * scale) as the op-by-op form
    # computes it; gy is 0-d or one per row
    "cross_entropy_grad": ("T p, raw I t, raw T gy, int64 c, bool per_row, T scale", "T out",
                           "const ptrdiff_t row = i / c; "
                           "out = (p - (T)(t[row] == i % c)) * (gy[per_row ? row : 0] * scale)"),
    # each window's maximum and the flat index in x of the cell it comes from: PyTorch's
    # pick, the first cell inside the input that is greater than those before, or NaN
    # (so the first maximum, or the last NaN); max_pool2d_argmax sees that every window has a cell
    # inside the input. x is read through its strides (a conv output's layout, say).
    "max_pool2d_argmax": ("raw T x, int64 h, int64 w, int64 oh, int64 ow, int64 kh, int64 kw, int64 sh, "
                          "int64 sw, int64 dh, int64 dw, int64 top, int64 left", "T m, int64 at",
                          """
        const ptrdiff_t rest = i / ow, col0 = (i % ow) * sw - left;
        const ptrdiff_t row0 = (rest % oh) * sh - top, plane = (rest / oh) * h * w;
        bool found = false;
        T best = x[plane];
        ptrdiff_t best_at = plane;
        for (ptrdiff_t a = 0; a < kh; a++) {
            const ptrdiff_t r = row0 + a * dh;
            if (r < 0 || r >= h) continue;
            for (ptrdiff_t b = 0; b < kw; b++) {
                const ptrdiff_t col = col0 + b * dw;
                if (col < 0 || col >= w) continue;
                const ptrdiff_t k = plane + r * w + col;
                const T v = x[k];
                if (!found || v > best || isnan(v)) {
                    best = v;
                    best_at = k;
                    found = true;
                }
            }
        }
        m = best;
        at = best_at;"""),
    # col2im as a gather: each pixel adds the windows that cover it, in the kernel-offset
    # order of add_windows (so the same sums); win is (..., OH, OW, KH, KW), any strides
    "col2im": ("raw T win, int64 hp, int64 wp, int64 oh, int64 ow, int64 kh, int64 kw, int64 sh, int64 sw, "
               "int64 dh, int64 dw", "T out",
               """
        const ptrdiff_t x = i % wp, rest = i / wp, y = rest % hp, plane = rest / hp;
        typedef typename topograd_accumulator<T>::type acc;  // float16 adds in float32, rounding once
        acc total = 0;
        for (ptrdiff_t a = 0; a < kh && y - a * dh >= 0; a++) {
            const ptrdiff_t ty = y - a * dh, oy = ty / sh;
            if (ty % sh != 0 || oy >= oh) continue;
            for (ptrdiff_t b = 0; b < kw && x - b * dw >= 0; b++) {
                const ptrdiff_t tx = x - b * dw, ox = tx / sw;
                if (tx % sw != 0 || ox >= ow) continue;
                total += (acc)win[(((plane * oh + oy) * ow + ox) * kh + a) * kw + b];
            }
        }
        out = (T)total;"""),
    # NumPy's float remainder and floor_divide (topograd_divmod, below); float16 in float32
    "remainder": ("T a, T b", "T out",
                  "out = topograd_remainder(a, b)"),
    "floor_divide": ("T a, T b", "T out",
                     "out = topograd_floor_divide(a, b)"),
}
# npy_divmod of NumPy's npy_math, step for step (numpy_division.py spells it out): fmod,
# moved to the divisor's side, with the quotient from the exact a - fmod(a, b), snapped to
# a whole number. A zero divisor gives fmod's NaN and a / b. NumPy computes float16 in
# float32 and rounds once (CupyBackend._divmod_part).
_DIVMOD = r"""

template <typename F> __device__ F topograd_divmod(F a, F b, F* modulus) {
    F mod = fmod(a, b);
    if (b == 0) {
        *modulus = mod;
        return a / b;
    }
    F div = (a - mod) / b;
    if (mod != 0) {  /* NaN included, as NumPy's `if (mod)` */
        if ((b < 0) != (mod < 0)) {
            mod += b;
            div -= 1;
        }
    } else {
        mod = copysign((F)0, b);
    }
    F floordiv;
    if (div != 0) {
        floordiv = floor(div);
        if (div - floordiv > (F)0.5) floordiv += 1;
    } else {
        floordiv = copysign((F)0, a / b);
    }
    *modulus = mod;
    return floordiv;
}

template <typename F> __device__ F topograd_remainder(F a, F b) {
    F mod;
    topograd_divmod(a, b, &mod);
    return mod;
}

template <typename F> __device__ F topograd_floor_divide(F a, F b) {
    F mod;
    return topograd_divmod(a, b, &mod);
}
"""
_ACCUMULATOR = r"""
template <typename T> struct topograd_accumulator { typedef T type; };
template <> struct topograd_accumulator<float16> { typedef float type; };
"""
_KERNEL_PREAMBLES = {"remainder": _DIVMOD, "floor_divide": _DIVMOD, "col2im": _ACCUMULATOR}
# NVRTC contracts a * b + c into one fused multiply-add by default, which rounds once
# where NumPy's and CuPy's separate kernels round twice
_KERNEL_OPTIONS = {name: ("--fmad=false",) for name in ("adam", "cross_entropy_grad", "tanh_gradient",
                                                         "sigmoid_gradient")}
_KERNELS = {}


def _kernel(name):
    kernel = _KERNELS.get(name)
    if kernel is None:
        import cupy
        params, outputs, body = _KERNEL_SOURCES[name]
        kernel = _KERNELS[name] = cupy.ElementwiseKernel(params, outputs, body, f"topograd_{name}",
                                                         options=_KERNEL_OPTIONS.get(name, ()),
                                                         preamble=_KERNEL_PREAMBLES.get(name, ""))
    return kernel


def last_write_of_each_row(xp, rows, values):
    """``values`` (one per entry of the 1-D ``rows``, along the first axis) with each
    replaced by the last one written to its row, so that ``x[rows] = result`` leaves what
    NumPy's ``x[rows] = values`` does whichever repeat a GPU writes last. A stable sort
    groups the repeats in write order; the end of each group, found by searchsorted, is
    its last write. No sync, and scratch of rows' size only."""
    order = xp.argsort(rows, stable=True)
    grouped = xp.take(rows, order)
    group_end = xp.searchsorted(grouped, grouped, side="right") - 1
    winner = xp.empty_like(order)
    winner[order] = xp.take(order, group_end)  # (order is a permutation: no place repeats)
    return xp.take(values, winner, axis=0)


def check_index_bounds(xp, shape, index):
    """Raise NumPy's IndexError where an integer array in ``index`` (an index of an array
    of ``shape``) holds an entry outside its axis. CuPy's gather and scatter kernels take
    such an entry modulo the axis' size instead ("Difference between CuPy and NumPy":
    out-of-bounds indices wrap around), which would read or write the wrong elements.
    One transfer from the device for all the arrays' extremes."""
    parts = index if isinstance(index, tuple) else (index,)
    explicit = sum(_axes_indexed(p) for p in parts if p is not None and p is not Ellipsis)
    checked, axis = [], 0
    for p in parts:
        if p is Ellipsis:
            axis += len(shape) - explicit
        elif p is not None:
            if hasattr(p, "dtype") and p.dtype.kind in "iu" and p.size and axis < len(shape):
                checked.append((p, axis))
            axis += _axes_indexed(p)
    if not checked:
        return
    int64 = xp.int64
    extremes = xp.stack([xp.astype(f(a), int64) for a, _ in checked for f in (xp.min, xp.max)]).tolist()
    for i, (_, axis) in enumerate(checked):
        low, high, size = extremes[2 * i], extremes[2 * i + 1], shape[axis]
        if low < -size or high >= size:
            bad = high if high >= size else low
            raise IndexError(f"index {bad} is out of bounds for axis {axis} with size {size}")


def _axes_indexed(part):
    """How many axes of the indexed array an index part takes: a mask one per dimension."""
    return part.ndim if hasattr(part, "dtype") and part.dtype.kind == "b" else 1


def _cupy_as_strided(x, shape, strides, writeable=True):
    from cupy.lib.stride_tricks import as_strided
    return as_strided(x, shape=shape, strides=strides)


