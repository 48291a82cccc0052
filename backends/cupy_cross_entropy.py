"""Softmax cross-entropy of (N, C) logits against class indices in one CUDA kernel: a
warp per row finds the row's maximum, sums the shifted exponentials, writes the softmax
(the gradient is made of it) and the row's loss, where the op-by-op form launches a
dozen kernels (a host-bound step pays for each launch)."""

_SOURCE = r"""
template <typename T> __device__ T topograd_nan_max(T a, T b) {
    return (b > a || b != b) ? b : a;  /* NaN wins, as in the max of the op-by-op form */
}

template <typename T>
__global__ void topograd_cross_entropy_rows(const T* z, const long long* t, long long n, long long c,
                                            T* probs, T* losses) {
    const int lane = threadIdx.x & 31;
    const long long row = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= n) return;  /* (a whole warp: its lanes share the row) */
    const T* zr = z + row * c;
    T* pr = probs + row * c;
    T m = zr[0];
    for (long long j = lane; j < c; j += 32) m = topograd_nan_max(m, zr[j]);
    for (int o = 16; o > 0; o >>= 1) m = topograd_nan_max(m, __shfl_xor_sync(0xffffffffu, m, o));
    double s = 0;  /* summed in float64: a float32 sum of many classes loses bits */
    for (long long j = lane; j < c; j += 32) {
        const T e = exp(zr[j] - m);
        pr[j] = e;
        s += e;
    }
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    const T sum = (T)s;
    for (long long j = lane; j < c; j += 32) pr[j] = pr[j] / sum;
    if (lane == 0) {  /* (callers check the targets; one out of range reads no memory, and gives NaN) */
        const long long k = t[row];
        losses[row] = (k >= 0 && k < c) ? log(sum) - (zr[k] - m) : (T)__longlong_as_double(0x7ff8000000000000LL);
    }
}
"""
_ROWS_PER_BLOCK = 4
_TYPES = {"f": "float", "d": "double"}
_MODULES = {}


def cross_entropy_rows(cupy, logits, target):
    """(losses, probs) of float32 or float64 (N, C) ``logits`` against ``target`` (N,)
    (see Backend.cross_entropy_rows); on the current device."""
    kernel = _function(cupy, logits.dtype.char)
    z = cupy.ascontiguousarray(logits)
    t = cupy.ascontiguousarray(target, dtype=cupy.int64)
    n, c = z.shape
    probs = cupy.empty_like(z)
    losses = cupy.empty((n,), dtype=z.dtype)
    blocks = -(-n // _ROWS_PER_BLOCK)
    kernel((blocks,), (32 * _ROWS_PER_BLOCK,), (z, t, cupy.int64(n), cupy.int64(c), probs, losses))
    return losses, probs


def _function(cupy, char):
    device = cupy.cuda.Device().id
    module = _MODULES.get(device)
    if module is None:  # a module per device, compiled and loaded with that device current
        names = [f"topograd_cross_entropy_rows<{name}>" for name in _TYPES.values()]
        module = _MODULES[device] = cupy.RawModule(code=_SOURCE, name_expressions=names)
    return module.get_function(f"topograd_cross_entropy_rows<{_TYPES[char]}>")
