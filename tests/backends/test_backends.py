"""The backend objects: lookup, the CUDA install message, the array-api-strict
guard, the named kernels (against NumPy) and the seeded random generators."""
import ctypes.util
import warnings

import numpy as np
import pytest

import autograd as ag
import backends
from backends.numpy_backend import RELU_ROW, RUNS_SCATTER_MIN, WHERE_BITS_MIN, NumpyBackend

HAS_STRICT = "strict" in backends.available_devices()


def host(backend, array):
    return np.asarray(backend.to_numpy(array))


# --- lookup ------------------------------------------------------------------------------
def test_get_returns_one_backend_per_device():
    cpu = backends.get("cpu")
    assert backends.get("CPU ") is cpu and backends.get(cpu) is cpu
    assert cpu.device == "cpu" and cpu.name == "numpy"
    with backends.default_device("cpu"):
        assert backends.get() is cpu and backends.get_default() is cpu
    with pytest.raises(ValueError, match=r"unknown device 'tpu'.*'cpu', 'cuda'"):
        backends.get("tpu")
    assert backends.available_devices()[0] == "cpu"


class FakeGpu:
    def seed(self, seed):
        pass


def test_one_backend_per_gpu_whatever_the_spelling_of_its_index(monkeypatch):
    """'cuda:01' made a second backend for cuda:1, so tensors from the two were refused
    together as if on two devices ('got cuda:1 and cuda:1')."""
    made = []
    monkeypatch.setattr(backends, "_backends", {})
    monkeypatch.setattr(backends, "_create", lambda key: made.append(key) or FakeGpu())
    assert backends.get("cuda:01") is backends.get("cuda:1") is backends.get(" CUDA:001")
    assert backends.get("cuda") is backends.get("cuda:00") and made == ["cuda:1", "cuda:0"]


def test_cuda_missing_raises_one_clear_error_with_the_install_command():
    if backends.cuda_is_available():
        pytest.skip("a CUDA device is present here")
    with pytest.raises(backends.BackendUnavailable) as info:
        backends.get("cuda")
    message = str(info.value)
    assert "CuPy" in message and "pip install" in message and "cupy-cuda12x" in message
    assert isinstance(info.value, RuntimeError)
    with pytest.raises(backends.BackendUnavailable, match="pip install"):
        ag.zeros(2, device="cuda:0")
    assert not ag.cuda_is_available()
    assert not any(d.startswith("cuda") for d in backends.available_devices())


@pytest.mark.skipif(not HAS_STRICT, reason="needs array-api-strict")
def test_strict_backend_refuses_calls_outside_the_standard():
    strict = backends.get("strict")
    xp = strict.xp
    a = strict.asarray(np.arange(6.0).reshape(2, 3))
    assert not hasattr(xp, "einsum")                      # NumPy-only functions do not exist
    with pytest.raises(AttributeError):
        a.astype                                          # nor do NumPy-only methods
    with pytest.raises(IndexError):
        a[0]                                              # flat indexing needs an explicit ...
    with pytest.raises(IndexError):
        a[[0, 1], ...]                                    # integer-array indexing (the gather kernel's job)
    with pytest.raises(TypeError):
        a + np.ones((2, 3))                               # mixing in NumPy arrays
    with pytest.raises(TypeError):
        xp.asarray([1, 2]) / 2                            # true division of integers
    # ... while the standard itself works, with its own dtype objects
    np.testing.assert_array_equal(host(strict, xp.sum(a, axis=1)), [3.0, 12.0])
    assert strict.canonical_dtype(a.dtype) == np.float64 and strict.native_dtype(np.dtype("float64")) == xp.float64
    with pytest.raises(TypeError, match="float16"):
        strict.native_dtype(np.dtype("float16"))
    # a float16 NumPy array too (a checkpoint's, say) gets this message, not array-api-strict's
    with pytest.raises(TypeError, match="device 'strict' has no float16: the Array API standard"):
        strict.asarray(np.ones(2, np.float16))


def test_array_round_trip(device):
    backend = backends.get(device)
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    native = backend.from_numpy(array)
    assert isinstance(native, type(backend.xp.zeros(1)))  # its namespace's array (CuPy's has no __array_namespace__)
    np.testing.assert_array_equal(host(backend, native), array)
    zero_d = backend.from_numpy(np.array(2.5))
    assert tuple(zero_d.shape) == () and host(backend, zero_d) == 2.5
    typed = backend.asarray([1, 2], "float64")
    assert backend.canonical_dtype(typed.dtype) == np.float64
    backend.synchronize()


# --- named kernels -------------------------------------------------------------------------
def _index_on(backend, index):
    parts = index if isinstance(index, tuple) else (index,)
    return tuple(backend.asarray(p) if isinstance(p, np.ndarray) else p for p in parts)


def test_concat_into_joins_along_the_last_axis_into_a_slot_and_returns_it(device):
    """The recurrent ops' per-step join into its slot of the whole sequence's gradient:
    the slot holds the join, the rest of the array is untouched."""
    backend = backends.get(device)
    parts = [np.arange(6, dtype=np.float32).reshape(2, 3) + 10 * k for k in range(3)]
    whole = backend.from_numpy(np.zeros((4, 2, 9), dtype=np.float32))
    slot = whole[1, ...]
    assert backend.concat_into([backend.from_numpy(p) for p in parts], slot) is slot
    expected = np.zeros((4, 2, 9), dtype=np.float32)
    expected[1] = np.concatenate(parts, axis=-1)
    np.testing.assert_array_equal(host(backend, whole), expected)


def test_round_to_float32_keeps_subnormals_and_ties_to_even(device):
    """clip_grad_norm_'s float32 steps, taken in float64: NumPy's float32 rounding, also
    below float32's normal range (which CuPy's -ftz=true flushes) and at its ties."""
    backend = backends.get(device)
    tiny, step = float(np.finfo(np.float32).tiny), 2.0 ** -149
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.uniform(0, 2 * tiny, 500), rng.standard_normal(500) * 1e-20,
                        [k * step for k in (0.5, 1.5, 2.5, 3.49, 2 ** 23 - 0.5, 2 ** 23 + 1)],
                        [tiny, -tiny * 0.75, -0.0, 3.5e38, 1e39, np.inf, np.nan, 0.1]])
    with np.errstate(over="ignore"):  # (1e39 is inf in float32)
        want = x.astype(np.float32).astype(np.float64)
        got = host(backend, backend.round_to_float32(backend.from_numpy(x)))
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, composed", [("tanh_gradient", lambda gy, y: gy * (1 - y * y)),
                                            ("sigmoid_gradient", lambda gy, y: gy * y * (1 - y))])
def test_activation_gradients_give_their_compositions_bits(device, name, composed, dtype):
    """tanh's and the sigmoid's backward, one kernel on CUDA, round each step as the
    composed form does (no fused multiply-add): the same bits, specials included."""
    backend = backends.get(device)
    rng = np.random.default_rng(11)
    y = np.concatenate([rng.uniform(-1, 1, 997), [np.nan, np.inf, -1.0, 1.0, 0.0]]).astype(dtype)
    gy = np.concatenate([rng.standard_normal(997) * 100, [1.0, 2.0, np.inf, -np.inf, np.nan]]).astype(dtype)
    on = [backend.from_numpy(a) for a in (gy, y)]
    with np.errstate(all="ignore"):
        got, want = (host(backend, f(*on)) for f in (getattr(backend, name), composed))
    assert got.dtype == want.dtype == dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("blas", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("shape", [(256, 64), (5, 3), (1, 4), (4, 1), (0, 3)])
def test_gemm_operand_keeps_every_bit_and_is_row_major_on_numpy(device, dtype, shape, blas, monkeypatch):
    """A recurrent weight made ready for many GEMMs: the same values bit for bit (NaN,
    inf and -0 too), and on NumPy a row-major array (by OpenBLAS's transposing copy,
    or without it by NumPy's) that a row-major matrix gives back as it is."""
    backend = backends.get(device)
    if dtype == "float16" and device != "cpu":
        pytest.skip("float16 is a NumPy-backend case here")
    if not blas:
        monkeypatch.setattr(backend, "blas_omatcopy", None, raising=False)
    values = np.random.default_rng(12).standard_normal(shape).astype(dtype)
    values.flat[:3] = [np.nan, -0.0, np.inf][:values.size]
    weight = backend.xp.permute_dims(backend.from_numpy(np.ascontiguousarray(values.T)), (1, 0))  # as W_hh.T
    laid = backend.gemm_operand(weight)
    assert host(backend, laid).tobytes() == values.tobytes()
    if device == "cpu":
        assert laid.flags.c_contiguous or dtype == "float16"  # (float16 multiplies through float32 copies)
        row_major = np.ascontiguousarray(values)
        assert backend.gemm_operand(row_major) is row_major


def test_in_memory_order_of_keeps_the_values_and_takes_the_layout_of_like(device):
    """max_pool2d's gradient laid out like its buffer before the masked writes: the same
    values, and on NumPy the buffer's memory order (an array already so laid out is
    returned as it is)."""
    from backends.numpy_backend import memory_order
    backend = backends.get(device)
    values = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)  # batch-first
    like = backend.xp.permute_dims(backend.from_numpy(np.zeros((3, 2, 8, 10), np.float32)), (1, 0, 2, 3))
    laid = backend.in_memory_order_of(backend.from_numpy(values), like)
    np.testing.assert_array_equal(host(backend, laid), values)
    if device == "cpu":
        assert memory_order(laid) == memory_order(like) == [1, 0, 2, 3]
        assert backend.in_memory_order_of(laid, like) is laid


GATHER_INDICES = [
    np.array([1, 0, 1, 1]),
    np.array([[1, 0, 1], [0, 0, 1]], dtype=np.int32),  # one array of several axes (NumPy scatters it flat)
    (np.array([[0, 1], [1, 0]]), slice(None), np.array([3, 3])),
    (slice(1, None), np.array([0, 0, 2])),
    np.arange(24).reshape(2, 3, 4) % 5 == 0,
    (np.array([True, False]), Ellipsis),
]


@pytest.mark.parametrize("index", GATHER_INDICES, ids=range(len(GATHER_INDICES)))
def test_gather_matches_numpy_advanced_indexing(index, device):
    backend = backends.get(device)
    x = np.arange(24.0).reshape(2, 3, 4)
    got = backend.gather(backend.from_numpy(x), _index_on(backend, index))
    np.testing.assert_array_equal(host(backend, got), x[index])


@pytest.mark.parametrize("index", GATHER_INDICES, ids=range(len(GATHER_INDICES)))
def test_scatter_add_accumulates_repeated_indices(index, device):
    backend = backends.get(device)
    shape = (2, 3, 4)
    values = np.random.default_rng(0).standard_normal(np.zeros(shape)[index].shape)
    want = np.zeros(shape)
    np.add.at(want, index, values)
    got = backend.scatter_add(shape, _index_on(backend, index), backend.from_numpy(values))
    assert backend.canonical_dtype(got.dtype) == np.float64
    np.testing.assert_allclose(host(backend, got), want)


def test_scatter_add_sums_rather_than_overwrites(device):
    backend = backends.get(device)
    got = backend.scatter_add((3,), (backend.asarray(np.array([1, 1, 1, 0])),),
                              backend.from_numpy(np.array([1.0, 2.0, 3.0, 4.0])))
    np.testing.assert_array_equal(host(backend, got), [4.0, 6.0, 0.0])


@pytest.mark.parametrize("spec, shapes", [("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
                                          ("i,j->ij", [(3,), (2,)]), ("ijk->k", [(2, 3, 4)]),
                                          ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]), ("ii->i", [(3, 3)])])
def test_einsum_kernel_matches_numpy(spec, shapes, device):
    backend = backends.get(device)
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s) for s in shapes]
    got = backend.einsum(spec, *(backend.from_numpy(a) for a in arrays))
    np.testing.assert_allclose(host(backend, got), np.einsum(spec, *arrays), rtol=1e-12)


@pytest.mark.parametrize("window, stride, dilation", [((2, 2), (1, 1), (1, 1)), ((3, 2), (2, 1), (1, 1)),
                                                      ((2, 2), (1, 2), (2, 1))])
def test_sliding_windows_match_a_loop(window, stride, dilation, device):
    backend = backends.get(device)
    x = np.arange(2 * 3 * 6 * 7, dtype=np.float64).reshape(2, 3, 6, 7)
    (kh, kw), (sh, sw), (dh, dw) = window, stride, dilation
    oh = (6 - dh * (kh - 1) - 1) // sh + 1
    ow = (7 - dw * (kw - 1) - 1) // sw + 1
    want = np.empty((2, 3, oh, ow, kh, kw))
    for i in range(oh):
        for j in range(ow):
            for a in range(kh):
                for b in range(kw):
                    want[:, :, i, j, a, b] = x[:, :, i * sh + a * dh, j * sw + b * dw]
    got = backend.sliding_windows(backend.from_numpy(x), window, stride, dilation)
    np.testing.assert_array_equal(host(backend, got), want)


@pytest.mark.parametrize("window, stride, dilation", [((2, 2), (1, 1), (1, 1)), ((3, 2), (2, 1), (1, 2))])
def test_col2im_adds_windows_back_where_they_came_from(window, stride, dilation, device):
    backend = backends.get(device)
    rng = np.random.default_rng(2)
    shape = (2, 3, 6, 7)
    (kh, kw), (sh, sw), (dh, dw) = window, stride, dilation
    oh = (6 - dh * (kh - 1) - 1) // sh + 1
    ow = (7 - dw * (kw - 1) - 1) // sw + 1
    windows = rng.standard_normal((2, 3, oh, ow, kh, kw))
    want = np.zeros(shape)
    for i in range(oh):
        for j in range(ow):
            for a in range(kh):
                for b in range(kw):
                    want[:, :, i * sh + a * dh, j * sw + b * dw] += windows[:, :, i, j, a, b]
    got = backend.col2im(backend.from_numpy(windows), shape, stride, dilation)
    np.testing.assert_allclose(host(backend, got), want, rtol=1e-12)


def test_owns_memory_is_false_for_views(device):
    backend = backends.get(device)
    array = backend.from_numpy(np.zeros((3, 4)))
    view = backend.xp.reshape(array, (4, 3))[0:2, ...]
    assert backend.owns_memory(view) is False


def test_may_share_memory_tells_a_reshape_view_from_a_reshape_copy(device):
    backend = backends.get(device)
    xp = backend.xp
    array = backend.from_numpy(np.arange(12.0).reshape(3, 4))
    assert backend.may_share_memory(xp.reshape(array, (4, 3)), array) is True
    assert backend.may_share_memory(array[1:2, ...], array) is True
    copied = xp.reshape(xp.permute_dims(array, (1, 0)), (12,))  # no view has this memory order
    assert backend.may_share_memory(copied, array) is False
    assert backend.may_share_memory(backend.from_numpy(np.zeros(3)), array) is False


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "mixed"])
@pytest.mark.parametrize("shape", [(37, 29), (300, 500)], ids=["small", "several-blocks"])
def test_axpy_updates_y_in_place_and_leaves_x_alone(dtype, layout, shape, device):
    """axpy_ is y += alpha * x: y keeps its memory, x is unchanged. alpha = -0.25 makes
    the product exact, so a fused multiply-add rounds as NumPy's two steps do.
    On NumPy, (37, 29) takes the one-temporary path for small arrays, and (300, 500)
    spans two of the backend's scratch blocks and part of a third."""
    backend = backends.get(device)
    if dtype == "float16" and device == "strict":
        pytest.skip("the Array API standard has no float16")
    rng = np.random.default_rng(5)
    y0 = rng.standard_normal(shape).astype(dtype)
    x0 = rng.standard_normal(shape).astype(dtype)
    y, x = backend.from_numpy(y0.copy()), backend.from_numpy(x0.copy())
    if layout != "contiguous":  # both transposed, or x alone (no common flat order)
        x0 = np.ascontiguousarray(x0.T) if layout == "mixed" else x0
        x = backend.from_numpy(x0.copy())
        if layout == "transposed":
            y, y0 = backend.xp.permute_dims(y, (1, 0)), y0.T
        x, x0 = backend.xp.permute_dims(x, (1, 0)), x0.T
    before = y
    backend.axpy_(y, -0.25, x)
    assert y is before
    np.testing.assert_array_equal(host(backend, y), y0 + np.asarray(-0.25, dtype) * x0)
    np.testing.assert_array_equal(host(backend, x), x0)


def test_axpy_broadcasts_x_and_reads_it_before_writing_an_overlapping_y(device):
    backend = backends.get(device)
    y0 = np.arange(12.0).reshape(3, 4)
    y = backend.from_numpy(y0.copy())
    backend.axpy_(y, 2.0, backend.from_numpy(np.arange(4.0)))  # x broadcasts over y's rows
    np.testing.assert_array_equal(host(backend, y), y0 + 2.0 * np.arange(4.0))
    if device == "cpu":  # overlapping views of one buffer, past the NumPy backend's block size
        buffer = np.arange(200_001.0)
        y, x = buffer[1:], buffer[:-1]
        expected = y + 0.5 * x
        backend.axpy_(y, 0.5, x)
        np.testing.assert_array_equal(y, expected)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_axpy_through_numpys_blas_and_without_it(dtype, order, monkeypatch):
    """Large same-layout float arrays go through the axpy of the OpenBLAS that NumPy
    ships: y + alpha * x (alpha in the arrays' dtype, as NumPy takes it), each element
    rounded once (a fused multiply-add, where the CPU has one) or as NumPy's two steps
    round it. Without that BLAS, exactly NumPy's two steps. A read-only y still
    raises, with NumPy's own error, and changes nothing."""
    backend = backends.get("cpu")
    if backend.blas_axpy is None:
        pytest.skip("this NumPy was not built with the OpenBLAS it bundles in its wheels")
    calls = []
    spies = {dtype_: _spy(function, calls) for dtype_, function in backend.blas_axpy.items()}
    monkeypatch.setattr(backend, "blas_axpy", spies)
    rng = np.random.default_rng(13)
    y0, x0 = (np.asarray(rng.standard_normal((300, 500)), dtype=dtype, order=order) for _ in range(2))
    alpha = -0.013
    two_steps = y0 + np.asarray(alpha, dtype) * x0
    through_blas = y0.copy(order="K")
    backend.axpy_(through_blas, alpha, x0)
    assert calls == [x0.size]
    scale = np.maximum(np.abs(y0), np.abs(np.asarray(alpha, dtype) * x0))
    assert np.all(np.abs(through_blas - two_steps) <= 2 * np.spacing(scale))
    if dtype == "float32":  # the product is exact in long double: the once-rounded value is known
        once = (y0.astype(np.longdouble) + np.longdouble(np.asarray(alpha, dtype)) * x0).astype(dtype)
        assert np.all((through_blas == once) | (through_blas == two_steps))
    monkeypatch.setattr(backend, "blas_axpy", None)
    through_numpy = y0.copy(order="K")
    backend.axpy_(through_numpy, alpha, x0)
    np.testing.assert_array_equal(through_numpy, two_steps)
    monkeypatch.setattr(backend, "blas_axpy", spies)
    frozen = y0.copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        backend.axpy_(frozen, alpha, x0)
    np.testing.assert_array_equal(frozen, y0)
    assert calls == [x0.size]  # the read-only y never reached the BLAS


def _spy(function, calls):
    def recorded(n, *args):
        calls.append(n)
        return function(n, *args)
    return recorded


@pytest.mark.parametrize("shape", [(37, 29), (300, 500)], ids=["small", "blas-sized"])
@pytest.mark.parametrize("alpha", [0.0, -0.0])
def test_axpy_with_alpha_zero_still_propagates_nan_and_inf(alpha, shape, device):
    """y += 0 * x is NaN where x is NaN or inf, as in NumPy and PyTorch's add_(x,
    alpha=0). OpenBLAS's axpy returns at once when alpha == 0, so the NumPy backend
    must not call it then (an SGD step at lr=0 would hide a NaN gradient)."""
    backend = backends.get(device)
    rng = np.random.default_rng(21)
    y0 = rng.standard_normal(shape).astype(np.float32)
    x0 = rng.standard_normal(shape).astype(np.float32)
    x0[0, :3] = [np.nan, np.inf, -np.inf]
    y = backend.from_numpy(y0.copy())
    with np.errstate(invalid="ignore"):
        backend.axpy_(y, alpha, backend.from_numpy(x0))
        expected = y0 + np.float32(alpha) * x0
    np.testing.assert_array_equal(host(backend, y), expected)


def test_no_blas_axpy_where_numpy_bundles_no_usable_openblas(monkeypatch, tmp_path):
    """A library that will not load, one without the routines (the C library), or a
    NumPy whose build record names another BLAS: the backend keeps its NumPy path."""
    from backends import numpy_blas
    libraries = [tmp_path / "libscipy_openblas64_-missing.so"]
    libc = ctypes.util.find_library("c")
    if libc:
        libraries.append(libc)
    monkeypatch.setattr(numpy_blas, "_bundled_libraries", lambda: iter(libraries))
    monkeypatch.setattr(numpy_blas, "_numpy_uses_bundled_openblas", lambda: True)
    assert numpy_blas.find_axpy() is None and numpy_blas.find_omatcopy() is None
    monkeypatch.undo()
    monkeypatch.setattr(numpy_blas, "_numpy_uses_bundled_openblas", lambda: False)
    assert numpy_blas.find_axpy() is None and numpy_blas.find_omatcopy() is None


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_kernel_is_accurate_everywhere_and_never_warns(dtype, device):
    """The NumPy backend's 1 / (1 + exp(-x)) lets exp overflow where the result is 0
    anyway: it must still match the overflow-free form, and warn of nothing."""
    backend = backends.get(device)
    x0 = np.concatenate([np.linspace(-120, 120, 2001), [-1e4, 1e4, -np.inf, np.inf, np.nan]]).astype(dtype)
    exact = np.where(x0 >= 0, 1 / (1 + np.exp(-np.abs(x0.astype(np.longdouble)))),
                     np.exp(-np.abs(x0.astype(np.longdouble))) / (1 + np.exp(-np.abs(x0.astype(np.longdouble)))))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = host(backend, backend.sigmoid(backend.from_numpy(x0)))
    assert y.dtype == x0.dtype
    tiny = np.finfo(dtype).tiny  # below it, the overflow-free form keeps subnormals the other rounds to 0
    np.testing.assert_allclose(y, exact.astype(dtype), rtol=4 * np.finfo(dtype).eps, atol=tiny)


def test_sigmoid_float16_keeps_the_results_it_can_represent(device):
    """In float16, exp(-x) overflows from x < -11.09, where sigmoid is still 1.5e-5 and
    float16 holds it: the kernel must not give 0 there (PyTorch does not)."""
    backend = backends.get(device)
    x = np.array([-11.5, -12.0, -14.0, -16.0], dtype=np.float16)
    try:
        x_on_device = backend.from_numpy(x)
    except TypeError:
        pytest.skip(f"{device} has no float16 (the Array API standard does not define it)")
    y = backend.to_numpy(backend.sigmoid(x_on_device))
    assert y.dtype == np.float16
    exact = (1 / (1 + np.exp(-x.astype(np.float64)))).astype(np.float16)
    np.testing.assert_allclose(y.astype(np.float64), exact.astype(np.float64), rtol=2e-2, atol=2 ** -24)


@pytest.mark.parametrize("shape", [(), (7,), (300, 500)], ids=["0-d", "small", "pooled"])
def test_sqrt_kernel_is_a_new_correctly_rounded_array(shape, device):
    backend = backends.get(device)
    x0 = np.random.default_rng(15).uniform(0, 10, shape).astype(np.float32)
    x = backend.from_numpy(x0.copy())
    out = backend.sqrt(x)
    np.testing.assert_array_equal(host(backend, out), np.sqrt(x0))
    out[...] = 0  # an array the caller may change, apart from x
    np.testing.assert_array_equal(host(backend, x), x0)


@pytest.mark.parametrize("shape", [(), (7,), (300, 500)], ids=["0-d", "small", "pooled"])
def test_scaled_kernel_is_a_new_array_of_the_same_dtype(shape, device):
    """alpha * x in an array the caller may change in place (an optimizer's temporary):
    it must not share memory with x, and a float32 x stays float32."""
    backend = backends.get(device)
    x0 = np.random.default_rng(14).standard_normal(shape).astype(np.float32)
    x = backend.from_numpy(x0.copy())
    out = backend.scaled(x, -0.3)
    np.testing.assert_array_equal(host(backend, out), x0 * np.float32(-0.3))
    assert host(backend, out).dtype == np.float32
    out[...] = 0  # an array the caller may change in place, apart from x (even when 0-d)
    np.testing.assert_array_equal(host(backend, x), x0)


@pytest.mark.parametrize("shape", [(), (7,), (300, 500)], ids=["0-d", "small", "pooled"])
def test_difference_kernel_is_a_new_array_the_caller_owns(shape, device):
    """a - b in an array apart from both (an optimizer's temporary, changed in place)."""
    backend = backends.get(device)
    rng = np.random.default_rng(16)
    a0, b0 = (rng.standard_normal(shape).astype(np.float32) for _ in range(2))
    a, b = backend.from_numpy(a0.copy()), backend.from_numpy(b0.copy())
    out = backend.difference(a, b)
    np.testing.assert_array_equal(host(backend, out), a0 - b0)
    assert host(backend, out).dtype == np.float32
    out[...] = 0
    np.testing.assert_array_equal(host(backend, a), a0)
    np.testing.assert_array_equal(host(backend, b), b0)


def passes(backend, keep):
    """Where a mask from relu_mask or keep_mask lets a gradient through, as NumPy bools
    (each backend stores its masks in its own form)."""
    ones = backend.xp.ones(keep.shape, dtype=backend.xp.float32)
    return host(backend, backend.masked(ones, keep)) == 1


def test_relu_kernel_gives_the_positive_part_and_its_mask(device):
    backend = backends.get(device)
    x0 = np.random.default_rng(6).standard_normal((64, 8, 26, 26)).astype(np.float32)
    y, keep = backend.relu(backend.from_numpy(x0))
    np.testing.assert_array_equal(host(backend, y), np.maximum(x0, 0))
    np.testing.assert_array_equal(passes(backend, keep), x0 > 0)


def test_in_place_relu_kernel_overwrites_its_input_and_gives_the_mask(device):
    backend = backends.get(device)
    x0 = np.random.default_rng(9).standard_normal((16, 8, 26, 26)).astype(np.float32)
    x = backend.from_numpy(x0.copy())
    keep = backend.relu_(x)
    np.testing.assert_array_equal(host(backend, x), np.maximum(x0, 0))
    np.testing.assert_array_equal(passes(backend, keep), x0 > 0)


def test_relu_kernel_keeps_a_channels_first_layout():
    """A conv output is an (N, C, H, W) view of channels-first memory; its ReLU comes
    back in the same layout (so pooling and the next im2col read it sequentially)."""
    backend = backends.get("cpu")
    x = np.random.default_rng(8).standard_normal((8, 64, 26, 26)).astype(np.float32).transpose(1, 0, 2, 3)
    y, keep = backend.relu(x)
    assert y.strides == x.strides and keep.strides == tuple(s // 4 for s in x.strides)
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    np.testing.assert_array_equal(passes(backend, keep), x > 0)
    reversed_rows = np.random.default_rng(8).standard_normal((512, 256)).astype(np.float32)[::-1]
    y, keep = backend.relu(reversed_rows)
    assert y.strides == (1024, 4)            # row-major, like its input, whose rows run backwards
    np.testing.assert_array_equal(y, np.maximum(reversed_rows, 0))


@pytest.mark.parametrize("size", [0, 1, 5, RELU_ROW - 1, RELU_ROW, 3 * RELU_ROW + 7])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_kernels_cover_every_element_whatever_the_size(size, dtype):
    """The NumPy backend compares whole rows of RELU_ROW elements against a row of
    zeros, then the rest: no element may be skipped or compared twice, and NaN stays
    (and passes the gradient, as in PyTorch)."""
    backend = backends.get("cpu")
    x0 = np.random.default_rng(size).standard_normal(size).astype(dtype)
    x0[::7] = np.nan
    y, keep = backend.relu(x0)
    np.testing.assert_array_equal(y, np.maximum(x0, 0))
    np.testing.assert_array_equal(passes(backend, keep), ~(x0 <= 0))
    x = x0.copy()
    np.testing.assert_array_equal(passes(backend, backend.relu_(x)), ~(x0 <= 0))
    np.testing.assert_array_equal(x, np.maximum(x0, 0))


def test_in_place_relu_kernel_on_a_channels_first_or_strided_view():
    backend = backends.get("cpu")
    memory = np.random.default_rng(10).standard_normal((8, 64, 13, 13)).astype(np.float32)
    x0 = memory.transpose(1, 0, 2, 3).copy()
    view = memory.transpose(1, 0, 2, 3)  # dense, but not in row-major order
    backend.relu_(view)
    np.testing.assert_array_equal(view, np.maximum(x0, 0))
    memory = np.random.default_rng(12).standard_normal((8, 64, 13, 13)).astype(np.float32)
    before = memory.copy()
    backend.relu_(memory[:, :, ::2])     # not one dense block
    np.testing.assert_array_equal(memory[:, :, ::2], np.maximum(before[:, :, ::2], 0))
    np.testing.assert_array_equal(memory[:, :, 1::2], before[:, :, 1::2])  # rows in between untouched


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_masked_kernel_keeps_the_values_where_the_mask_holds_and_zeros_elsewhere(device, dtype):
    # zeros whatever is there: inf and NaN where the mask is False give 0, as where() does
    # (ReLU's and max pooling's gradients in PyTorch), not NaN, as a multiply would
    backend = backends.get(device)
    if dtype == np.float16 and device == "strict":
        pytest.skip("array-api-strict has no float16")
    rng = np.random.default_rng(11)
    values = rng.standard_normal((8, 16, 13, 13)).astype(dtype).transpose(1, 0, 2, 3)
    values.flat[::5], values.flat[1::5], values.flat[2::5] = np.inf, -np.inf, np.nan
    mask = rng.random(values.shape) < 0.3
    out = host(backend, backend.masked(backend.from_numpy(values), backend.keep_mask(backend.from_numpy(mask))))
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, np.where(mask, values, 0))


@pytest.mark.parametrize("fill", [-2.5, 20.0, -0.0, np.inf, np.nan])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_masked_or_kernel_puts_the_fill_where_the_mask_fails_bit_for_bit(device, dtype, fill):
    # A threshold's output with a nonzero value: the fill replaces inf and NaN, and -0.0
    # stays -0.0 on either side (the NumPy backend works on the bits, not by a where).
    backend = backends.get(device)
    if dtype == np.float16 and device == "strict":
        pytest.skip("array-api-strict has no float16")
    rng = np.random.default_rng(14)
    values = rng.standard_normal((8, 16, 13, 13)).astype(dtype).transpose(1, 0, 2, 3)
    values.flat[::5], values.flat[1::5], values.flat[2::5], values.flat[3::5] = np.inf, -np.inf, np.nan, -0.0
    mask = rng.random(values.shape) < 0.3
    out = host(backend, backend.masked_or(backend.from_numpy(values), backend.keep_mask(backend.from_numpy(mask)),
                                          fill))
    expected = np.where(mask, values, dtype(fill))
    assert out.dtype == dtype
    np.testing.assert_array_equal(out.view(f"u{out.itemsize}"), expected.view(f"u{out.itemsize}"))


def test_numpy_masked_kernel_refuses_a_bool_mask():
    # Its masks are int8 (-1 where kept), and a bool one would keep only the lowest bit.
    backend = backends.get("cpu")
    with pytest.raises(TypeError, match="relu_mask or keep_mask"):
        backend.masked(np.ones(4, np.float32), np.ones(4, bool))


@pytest.mark.parametrize("out_layout", ["same", "other"])
def test_masked_kernel_writes_into_a_strided_out_in_either_layout(device, out_layout):
    # Max pooling's gradient writes each kernel offset's masked values into a strided
    # slice of its buffer; the slice's memory order may differ from the values' own.
    backend = backends.get(device)
    rng = np.random.default_rng(13)
    values = rng.standard_normal((6, 4, 5, 5)).astype(np.float32).transpose(1, 0, 2, 3)  # (C, N) memory
    mask = rng.random(values.shape) < 0.5
    shape = (4, 6, 10, 10)
    buffer = np.full(shape if out_layout == "other" else (6, 4, 10, 10), np.nan, np.float32)
    buffer = backend.from_numpy(buffer) if device != "cpu" else buffer
    whole = buffer if out_layout == "other" else backend.xp.permute_dims(buffer, (1, 0, 2, 3))
    target = whole[..., 1::2, 0::2]
    returned = backend.masked(backend.from_numpy(values), backend.keep_mask(backend.from_numpy(mask.copy())),
                              out=target)
    assert returned is target
    got = host(backend, whole)
    np.testing.assert_array_equal(got[..., 1::2, 0::2], np.where(mask, values, 0))
    assert np.isnan(got[..., 0::2, :]).all() and np.isnan(got[..., 1::2, 1::2]).all()  # nothing else written


def test_pooled_relu_outputs_are_reused_only_once_unreferenced():
    """The NumPy backend writes large ReLU outputs into its scratch pool: an output
    still referenced is never handed out again, and one dropped is."""
    backend = backends.get("cpu")
    rng = np.random.default_rng(7)
    a, b = (rng.standard_normal((32, 8, 26, 26)).astype(np.float32) for _ in range(2))
    kept, kept_mask = backend.relu(a)
    for _ in range(6):  # more than the pool keeps per shape
        other, other_mask = backend.relu(b)
        assert not np.shares_memory(other, kept) and not np.shares_memory(other_mask, kept_mask)
    np.testing.assert_array_equal(kept, np.maximum(a, 0))
    np.testing.assert_array_equal(kept_mask != 0, a > 0)  # (passes() would take a pool block)
    pooled = {_address(kept), _address(other)}
    del kept, kept_mask, other, other_mask
    again, _ = backend.relu(b)
    assert _address(again) in pooled


def _address(array):
    return array.__array_interface__["data"][0]


# --- random generators -----------------------------------------------------------------------
def test_seeded_generators_are_reproducible(device):
    backend = backends.get(device)

    def draw():
        return [host(backend, backend.uniform((3, 2), -1.0, 2.0, np.float32)),
                host(backend, backend.normal((4,), 5.0, 0.1, np.float64)),
                host(backend, backend.integers(3, 7, (10,)))]

    backend.seed(42)
    first = draw()
    backend.seed(42)
    second = draw()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    uniform, normal, ints = first
    assert uniform.dtype == np.float32 and uniform.shape == (3, 2)
    assert uniform.min() >= -1.0 and uniform.max() < 2.0
    assert normal.dtype == np.float64 and abs(normal.mean() - 5.0) < 0.5
    assert ints.min() >= 3 and ints.max() < 7
    backend.seed(43)
    assert not np.array_equal(draw()[0], uniform)


def test_manual_seed_reaches_every_backend(device):
    backends.manual_seed(9)
    a = host(backends.get(device), backends.get(device).uniform((5,), 0.0, 1.0, np.float64))
    backends.manual_seed(9)
    b = host(backends.get(device), backends.get(device).uniform((5,), 0.0, 1.0, np.float64))
    np.testing.assert_array_equal(a, b)


# --- the strict backend refuses float16 by its own message on every way in -------------------
@pytest.mark.skipif(not HAS_STRICT, reason="needs array-api-strict")
@pytest.mark.parametrize("make", [
    lambda: ag.rand(2, dtype="float16", device="strict"),
    lambda: ag.randn(2, dtype="float16", device="strict"),
    lambda: ag.rand_like(ag.ones(2, dtype="float16"), device="strict"),
    lambda: ag.ones(2, dtype="float16").to("strict"),
    lambda: ag.ones(2).to("strict", "float16"),
], ids=["rand", "randn", "rand_like", "to", "to-with-dtype"])
def test_strict_refuses_float16_naming_the_device(make):
    # was array-api-strict's "The array_api_strict namespace does not support the dtype 'float16'"
    with pytest.raises(TypeError, match="device 'strict' has no float16: the Array API standard does not define it"):
        make()


# --- the NumPy backend's faster routes: each gives the bits of the route it replaced ----------------
# scatter-add adds single elements of a flat array where the index has whole axes before its
# integer arrays (the gradient of take along an axis, x[:, ids]); where selects bits on large
# arrays (np.where branches per element).
def _same_bits(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got.view(np.uint8), want.view(np.uint8))


# --- scatter-add after whole axes ---------------------------------------------------------------
@pytest.mark.parametrize("shape, index", [
    ((40, 385), (slice(None), np.r_[np.arange(385), [0, 0, 384, -1, -385]])),   # repeats and negatives
    ((4, 5, 6, 3), (slice(None), slice(None), np.array([[5, 0], [5, 5], [-1, 2]]))),  # a block after them
    ((4, 5, 6), (slice(None), np.array([1, 4, 1, 0]), np.array([-6, 2, 0, 5]))),  # two arrays
    ((3, 4), (slice(None), np.array([], dtype=np.int64))),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_scatter_add_after_whole_axes_adds_as_add_at(shape, index, dtype):
    """The sums of NumPy's own add.at, in its order (float32 sums of repeats differ with it)."""
    rng = np.random.default_rng(0)
    values = (rng.standard_normal(np.zeros(shape)[index].shape) * 1e3).astype(dtype)
    want = np.zeros(shape, dtype)
    np.add.at(want, index, values)
    _same_bits(NumpyBackend().scatter_add(shape, index, values), want)


@pytest.mark.parametrize("bad", [385, -386])
def test_scatter_add_after_whole_axes_refuses_an_index_past_the_axis(bad):
    """An index past the axis would land in the next row of the flat array: it raises instead."""
    with pytest.raises(ValueError, match="invalid entry in coordinates array"):
        NumpyBackend().scatter_add((2, 385), (slice(None), np.array([0, bad])), np.ones((2, 2), np.float32))


# --- scatter-add of many rows by one integer array (an embedding's gradient) --------------------
@pytest.mark.parametrize("size, ids_shape, trailing", [(10000, (64, 160), (64,)), (300, (9000,), (8,)),
                                                       (50, (700,), (4, 25)), (7, (3, 3000), (16,)),
                                                       (50, (70000,), (1,)), (40, (300, 300), (1, 1))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scatter_add_of_many_rows_adds_as_add_at(size, ids_shape, trailing, dtype):
    """From RUNS_SCATTER_MIN values, rows are added by a sort: add.at's sums in its order
    (float32 sums of repeated rows differ with the order), negative ids from the end; rows
    of one element too (NumPy's sum along the entries would add those pairwise)."""
    rng = np.random.default_rng(1)
    ids = rng.integers(-size, size, ids_shape)
    values = (rng.standard_normal(ids_shape + trailing) * 1e3).astype(dtype)
    shape = (size,) + trailing
    want = np.zeros(shape, dtype)
    np.add.at(want, (ids,), values)
    assert values.size >= RUNS_SCATTER_MIN
    _same_bits(NumpyBackend().scatter_add(shape, (ids,), values), want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scatter_add_of_many_rows_of_negative_zeros_gives_positive_zeros(dtype):
    """add.at adds into zeros, and 0.0 + -0.0 is 0.0: a row of -0.0 entries is +0.0, as in
    PyTorch's embedding gradient, also where one entry alone reached it (its run's sum is
    that entry, -0.0)."""
    ids = np.arange(9000) % 300
    ids[:300] = np.arange(9000, 9300)  # rows of one entry each (others of 29)
    values = np.full((9000, 8), -0.0, dtype)
    values[ids == 7] = 1.5
    want = np.zeros((9300, 8), dtype)
    np.add.at(want, (ids,), values)
    _same_bits(NumpyBackend().scatter_add((9300, 8), (ids,), values), want)


@pytest.mark.parametrize("bad", [300, -301])
def test_scatter_add_of_many_rows_refuses_an_id_past_the_axis(bad):
    ids = np.zeros(9000, dtype=np.int64)
    ids[4500] = bad
    with pytest.raises(IndexError, match="out of bounds for axis 0 with size 300"):
        NumpyBackend().scatter_add((300, 8), (ids,), np.ones((9000, 8), np.float32))


# --- where on large arrays ----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32, np.int64, np.uint16, np.int8])
@pytest.mark.parametrize("shapes", [((96, 128), (96, 128), (128,)), ((96, 128), (128,), ()),
                                    ((96, 1), (1, 128), (96, 128)), ((2, 2), (2, 2), (2, 2))])
def test_where_kernel_gives_numpys_bits(dtype, shapes):
    rng = np.random.default_rng(4)
    condition_shape, a_shape, b_shape = shapes
    condition = rng.random(condition_shape) > 0.5
    a = (rng.standard_normal(a_shape) * 100).astype(dtype)
    b = (rng.standard_normal(b_shape) * 100).astype(dtype)
    if a.dtype.kind == "f":
        a.flat[:3] = [np.nan, -0.0, np.inf]
    assert max(condition.size, a.size, b.size) >= WHERE_BITS_MIN or shapes[0] == (2, 2)  # the bit route, but the last
    _same_bits(NumpyBackend().where(condition, a, b), np.where(condition, a, b))


# --- matmul with an inner size of 1 (an outer product, taken as a broadcast multiply) ------------
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shapes", [((5, 1), (1, 7)), ((3, 4, 1), (1, 6)), ((2, 4, 1), (3, 1, 1, 5)), ((0, 1), (1, 3))])
@pytest.mark.parametrize("scratch", [False, True])
def test_matmul_of_an_inner_size_of_one_gives_blass_bits(dtype, shapes, scratch):
    """The same bits as NumPy's matmul (float16 through float32): 0 * -1 is +0, the
    BLAS sum's start, and inf * 0 NaN; inner sizes that do not match still raise."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal(shapes[0]).astype(dtype)
    b = rng.standard_normal(shapes[1]).astype(dtype)
    if a.size and b.size:
        a.flat[:2], b.flat[:3] = [0.0, np.inf], [-1.0, 0.0, -0.0]
    wide = np.float32 if dtype == np.float16 else dtype
    with np.errstate(invalid="ignore"):
        want = np.matmul(a.astype(wide), b.astype(wide)).astype(dtype)
        got = NumpyBackend().matmul(a, b, scratch=scratch)
    _same_bits(got, want)
    with pytest.raises(ValueError, match="mismatch in its core dimension"):
        NumpyBackend().matmul(a, np.ones((2,) + shapes[1][-1:], dtype))


# --- blockwise and any_true (elementwise kernels a block at a time) ----------------------------
@pytest.mark.parametrize("layout", ["contiguous", "strided"])
def test_blockwise_gives_one_whole_calls_values_and_shape(device, layout):
    # NumPy's runs the kernel a cache-sized block at a time (here over 10 blocks, the last
    # one short); the values, dtype and shape are those of one call on the whole arrays.
    backend = backends.get(device)
    rng = np.random.default_rng(15)
    a = rng.standard_normal((7, 300, 190))
    b = rng.standard_normal((190, 300, 7)).transpose(2, 1, 0) if layout == "strided" else rng.standard_normal(a.shape)
    xp = backend.xp

    def kernel(u, v):
        return xp.exp(-(u * u)) * v + xp.astype(u > v, u.dtype), xp.astype(u < 0, xp.int64)

    a, b = backend.from_numpy(a), backend.from_numpy(b)
    got = backend.blockwise(kernel, a, b)
    one = backend.blockwise(lambda u: kernel(u, u)[0], a)
    for out, expected in zip((*got, one), (*kernel(a, b), kernel(a, a)[0])):
        out, expected = host(backend, out), host(backend, expected)
        assert out.shape == expected.shape and out.dtype == expected.dtype
        np.testing.assert_array_equal(out, expected)


def test_blockwise_runs_numpy_kernels_on_blocks_and_small_arrays_whole():
    backend = backends.get("cpu")
    sizes = []

    def kernel(u):
        sizes.append(u.size)
        return u + 1

    backend.blockwise(kernel, np.zeros((3, 5)))
    assert sizes == [15]
    sizes.clear()
    big = np.zeros(400_000, np.float32)
    np.testing.assert_array_equal(backend.blockwise(kernel, big), big + 1)
    assert len(sizes) > 3 and max(sizes) * 4 < big.nbytes  # each block's temporaries fit in cache


def test_any_true_is_exact_on_numpy_and_never_a_false_no_elsewhere(device):
    backend = backends.get(device)
    none, one = np.zeros(1000, bool), np.zeros(1000, bool)
    one[997] = True
    assert backend.any_true(backend.from_numpy(one))
    assert not backend.any_true(backend.from_numpy(none)) or device != "cpu"
