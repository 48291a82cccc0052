"""The CuPy backend's side of the Array API contract, checked without CuPy or a GPU.

The engine calls only the standard's names on ``xp``, which the strict backend proves
on the CPU. CuPy's namespace is not the standard's: CuPy 13 has no ``concat``,
``permute_dims``, ``astype`` or ``bool`` and no ``asarray(copy=)``, and CuPy's ``clip``
names its bounds ``a_min``/``a_max`` (``clip(x, max=1.0)`` is a TypeError there). So
these tests build a namespace shaped like CuPy 13's out of NumPy (NumPy's functions
under CuPy's names and signatures) and check that the CuPy backend's adapter makes the
engine run on it, with the values the CPU backend gives.
"""
import types

import numpy as np
import pytest

import autograd as ag
import nn
from backends import cupy_backend
from backends.base import Backend
from backends.cupy_namespace import array_api_namespace
from backends.numpy_backend import NumpyBackend
from nn.utils import clip_grad_norm_, clip_grad_value_

MISSING_IN_CUPY_13 = ("concat", "permute_dims", "astype", "bool",
                      "asin", "acos", "atan", "atan2", "asinh", "acosh", "atanh", "bitwise_invert")


def cupy13_shaped():
    """NumPy's public names, less those CuPy 13 lacks, with CuPy's signatures where they differ."""
    module = types.ModuleType("cupy13_shaped")
    module.__dict__.update((k, v) for k, v in vars(np).items() if not k.startswith("_"))
    module.linalg = np.linalg
    for name in MISSING_IN_CUPY_13:
        module.__dict__.pop(name, None)

    def asarray(a, dtype=None, order=None, *, blocking=False):  # CuPy 13: no copy=
        return np.asarray(a, dtype=dtype, order=order)

    def clip(a, a_min, a_max, out=None):  # every CuPy so far: no min=/max=
        return np.clip(a, a_min, a_max, out=out)

    module.asarray, module.clip = asarray, clip
    return module


def adapted(module):
    from backends.cupy_namespace import array_api_namespace  # the CuPy backend's adapter
    return array_api_namespace(module)


class CupyShapedBackend(NumpyBackend):
    """The CPU backend (its kernels are NumPy's), with the engine's ``xp`` being a
    CuPy-13-shaped namespace seen through the CuPy backend's adapter."""
    name = "cupy-shaped"

    def __init__(self):
        super().__init__(device="cupy-shaped")
        self.xp = adapted(cupy13_shaped())


@pytest.fixture
def shaped():
    return CupyShapedBackend()


def test_the_fake_namespace_lacks_what_cupy_13_lacks():
    fake = cupy13_shaped()
    assert not any(hasattr(fake, name) for name in MISSING_IN_CUPY_13)
    with pytest.raises(TypeError):
        fake.asarray(np.zeros(2), copy=True)
    with pytest.raises(TypeError):
        fake.clip(np.zeros(2), max=1.0)


def test_adapter_adds_the_standard_names_with_the_standards_meaning():
    xp = adapted(cupy13_shaped())
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(xp.concat([a, a], axis=1), np.concatenate([a, a], axis=1))
    np.testing.assert_array_equal(xp.permute_dims(a, (1, 0)), a.T)
    assert xp.astype(a, np.float32).dtype == np.float32
    assert xp.astype(a, np.float64, copy=False) is a and xp.astype(a, np.float64) is not a
    assert np.dtype(xp.bool) == np.dtype(bool)
    copied = xp.asarray(a, copy=True)
    assert copied is not a and not np.shares_memory(copied, a)
    assert xp.asarray(a) is a and xp.asarray(a, copy=False) is a
    with pytest.raises(ValueError, match="copy=False"):
        xp.asarray([1.0, 2.0], copy=False)
    np.testing.assert_array_equal(xp.clip(a, max=2.0), np.minimum(a, 2.0))
    np.testing.assert_array_equal(xp.clip(a, min=1.0, max=4.0), np.clip(a, 1.0, 4.0))
    np.testing.assert_array_equal(xp.clip(a, 1.0, 4.0), np.clip(a, 1.0, 4.0))  # positional, as before
    for name, numpy_name in [("asin", "arcsin"), ("atan2", "arctan2"), ("acosh", "arccosh"),
                             ("bitwise_invert", "invert")]:
        assert getattr(xp, name) is getattr(np, numpy_name)
    assert xp.__name__ == "cupy13_shaped"  # benchmarks import f"{xp.__name__}.lib.stride_tricks"
    assert xp.zeros is np.zeros and xp.linalg is np.linalg  # everything else passes through


def test_adapter_keeps_a_namespaces_own_standard_functions():
    from backends.cupy_namespace import _parameters
    xp = adapted(np)  # NumPy 2 has every name already
    for name in MISSING_IN_CUPY_13:
        assert getattr(xp, name) is getattr(np, name)
    for name in ("asarray", "clip"):
        # NumPy before 2.3 gives its builtins no signature to read: the adapter wraps those,
        # which keeps their meaning (checked above on the CuPy-13-shaped namespace)
        assert getattr(xp, name) is getattr(np, name) or not _parameters(getattr(np, name)), name


def cupy_backend_on_a_stand_in(monkeypatch):
    """CupyBackend built on a stand-in for the cupy module: the CuPy-13-shaped namespace,
    one fake device, NumPy's random generator."""
    fake = cupy13_shaped()

    class Device:
        def __init__(self, index):
            self.index = index

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1), Device=Device)
    fake.random = types.SimpleNamespace(default_rng=np.random.default_rng)
    monkeypatch.setattr(cupy_backend, "_import_cupy", lambda: fake)
    return cupy_backend.CupyBackend(0)


def test_cupy_backend_hands_the_engine_the_adapted_namespace(monkeypatch):
    xp = cupy_backend_on_a_stand_in(monkeypatch).xp
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(xp.permute_dims(xp.concat([a, a]), (1, 0)), np.concatenate([a, a]).T)
    assert xp.asarray(a, copy=True) is not a and xp.astype(a, xp.bool).dtype == np.bool_
    np.testing.assert_array_equal(xp.clip(a, max=1.0), np.minimum(a, 1.0))


# --- integer-array indices past an axis' end: NumPy raises, CuPy's kernels wrap them around ---
class WrapsLikeCupy(np.ndarray):
    """A NumPy array whose integer-array indexing along axis 0 wraps out-of-range entries
    around (entry % size), as CuPy's take and scatter kernels do."""

    def _wrapped(self, index):
        first, *rest = index
        return (np.asarray(first) % self.shape[0], *rest)

    def __getitem__(self, index):
        return np.asarray(self)[self._wrapped(index)]

    def __setitem__(self, index, values):
        np.asarray(self)[self._wrapped(index)] = values


def test_cuda_backend_refuses_indices_that_cupy_would_wrap(monkeypatch):
    backend = cupy_backend_on_a_stand_in(monkeypatch)
    x = np.arange(6.0).reshape(2, 3).view(WrapsLikeCupy)
    assert np.asarray(x[(np.array([0, 3]),)]).tolist() == [[0, 1, 2], [3, 4, 5]]  # the stand-in wraps
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 0 with size 2"):
        backend.check_index_bounds(x.shape, (np.array([0, 3]),))
    with pytest.raises(IndexError, match="index -3 is out of bounds for axis 0 with size 2"):
        backend.check_index_bounds(x.shape, (np.array([-3]), slice(None)))
    backend.check_index_bounds(x.shape, (np.array([1, -2]),))  # in bounds: no error


def test_getitem_and_setitem_have_the_backend_check_a_users_indices_first(monkeypatch):
    """The check runs once per user index, before anything is read or written (the
    engine's own gathers, at indices it made, skip it: on CUDA each check waits for the GPU)."""
    calls = []

    def check_like_cuda(self, shape, index):
        calls.append(shape)
        cupy_backend.check_index_bounds(np, shape, index)

    monkeypatch.setattr(NumpyBackend, "check_index_bounds", check_like_cuda)
    x = ag.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]], device="cpu")  # (the patched backend's)
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 0 with size 2"):
        x[[0, 3]]
    version = x._version.value if x._version is not None else 0
    with pytest.raises(IndexError, match="index -3 is out of bounds"):
        x[[-3]] = 9.0
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert (x._version.value if x._version is not None else 0) == version
    assert x[[1, -2]].tolist() == [[3.0, 4.0, 5.0], [0.0, 1.0, 2.0]]
    x[1:, 0] = 7.0  # basic indexing: nothing to check
    assert calls == [(2, 3), (2, 3), (2, 3)]


def check(shape, index):
    cupy_backend.check_index_bounds(np, shape, index)


@pytest.mark.parametrize("shape, index, message", [
    ((2, 3), (np.array([0, 2]),), "index 2 is out of bounds for axis 0 with size 2"),
    ((2, 3), (slice(None), np.array([[0, 3]])), "index 3 is out of bounds for axis 1 with size 3"),
    ((2, 3, 4), (Ellipsis, np.array([-5])), "index -5 is out of bounds for axis 2 with size 4"),
    ((2, 3, 4), (None, np.ones((2, 3), bool), np.array([4])), "index 4 is out of bounds for axis 2 with size 4"),
    ((2, 3, 4), (0, np.array([1]), np.array([0, 7], dtype=np.uint8)), "index 7 is out of bounds for axis 2"),
    ((5,), np.array([5]), "index 5 is out of bounds for axis 0 with size 5"),
])
def test_index_bounds_are_numpys(shape, index, message):
    with pytest.raises(IndexError) as info:
        np.empty(shape)[index]
    assert message in str(info.value)  # NumPy's own words
    with pytest.raises(IndexError, match=message):
        check(shape, index)


@pytest.mark.parametrize("index", [
    (np.array([1, 0, -2]),), (np.array([[0, 1], [1, 0]]), slice(None), np.array([3, -4])),
    (slice(1, None), np.array([0, 0, 2])), np.arange(24).reshape(2, 3, 4) % 5 == 0,
    (np.array([True, False]), Ellipsis), (Ellipsis, np.array([3])), (np.array([], dtype=np.int64),),
    (None, 1, np.array([2]), slice(None)),
])
def test_index_bounds_pass_every_index_numpy_takes(index):
    np.empty((2, 3, 4))[index]
    check((2, 3, 4), index)


def run_model(device):
    """A forward and backward through the ops that call the names CuPy 13 lacks:
    concat, transpose and Linear (permute_dims), casts (astype), a max over bools
    (xp.bool), backward's gradient copies (asarray(copy=True)), gradient clipping (clip)."""
    ag.manual_seed(0)
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal((4, 3)).astype(np.float32), device=device)
    model = nn.Linear(6, 2)
    model.to(device)
    joined = ag.concat([x, ag.transpose(x * 2.0, 1, 0).transpose(1, 0)], axis=1)
    ints = ag.tensor(np.arange(4), device=device)
    y = model(joined) * ints.astype("float32").reshape(4, 1)
    any_positive = (y > 0).max()
    loss = (y * y).sum() + any_positive.astype("float32")
    loss.backward()
    grads = [p.grad.clone() for p in model.parameters()]
    total = clip_grad_norm_(model.parameters(), max_norm=0.5)
    clip_grad_value_(model.parameters(), clip_value=0.01)
    return [loss.numpy(), total.numpy(), *(g.numpy() for g in grads), *(p.grad.numpy() for p in model.parameters())]


def test_the_engine_runs_on_a_cupy_13_shaped_namespace_as_on_numpy(shaped):
    got = run_model(shaped)
    want = run_model("cpu")
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6)
    assert float(np.max(np.abs(got[-1]))) <= 0.01  # the values were clipped


def test_clip_grad_norm_on_cupys_clip_signature(shaped):
    """nn.utils calls clip(x, max=...), the standard's keyword, which CuPy's clip(a, a_min,
    a_max) refuses; through the adapter it scales the gradients as on the CPU."""
    p = nn.Parameter(ag.tensor([3.0, 4.0], device=shaped))
    p.grad = ag.tensor([3.0, 4.0], device=shaped)
    total = clip_grad_norm_(p, 1.0)
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8], rtol=1e-6)
    clip_grad_value_(p, 0.7)
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.7], rtol=1e-6)


def test_inverse_trigonometry_and_invert_on_cupy_13_names(shaped):
    """ag.arcsin and friends call the standard's asin...; CuPy 13 has only arcsin...,
    and only invert for bitwise_invert."""
    values = np.array([-0.5, 0.25, 0.75])
    x = ag.tensor(values, dtype="float64", device=shaped, requires_grad=True)
    y = (ag.arcsin(x) + ag.arccos(x) + ag.arctan(x) + ag.arctan2(x, 2.0) + ag.arcsinh(x) + ag.arctanh(x)
         + ag.arccosh(x + 2))
    want = (np.arcsin(values) + np.arccos(values) + np.arctan(values) + np.arctan2(values, 2.0)
            + np.arcsinh(values) + np.arctanh(values) + np.arccosh(values + 2))
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-14)
    y.sum().backward()
    assert x.grad.shape == (3,)
    assert (~ag.tensor([1, -2], device=shaped)).tolist() == [-2, 1]


# --- a negative zero scalar through the CuPy backend's namespace ---------------------------------
# CuPy (14) makes a 0-d array from a host scalar with ``ndarray.fill``, which writes any value equal
# to 0 as a memset of zero bytes: ``asarray(-0.0)`` was +0.0, so copysign(x, -0.0) gave |x| and a
# threshold's -0.0 fill +0.0 on CUDA. The CuPy backend's namespace (backends/cupy_namespace.py)
# keeps the sign; here on a CuPy-shaped namespace over NumPy whose asarray makes the same mistake.
def _cupy_shaped():
    """NumPy's namespace, with an asarray that makes a 0-d array as CuPy 14's does: an
    empty array filled, zeros by a memset."""
    module = types.ModuleType("cupy_shaped")
    module.__dict__.update((k, v) for k, v in vars(np).items() if not k.startswith("_"))

    def asarray(obj, dtype=None, *, copy=None):
        host = np.asarray(obj, dtype=dtype)
        if host.ndim:
            return np.array(host, copy=copy)
        out = np.empty((), host.dtype)
        out[...] = 0 if host == 0 else host  # (memset for a zero, whatever its sign)
        return out

    module.asarray = asarray
    return module


@pytest.mark.parametrize("zero", [-0.0, np.float32(-0.0), np.array(-0.0), complex(-0.0, 0.0), np.float16(-0.0)])
@pytest.mark.parametrize("dtype", [None, "float16", "float32", "float64"])
def test_a_negative_zero_scalar_keeps_its_sign_through_the_cupy_namespace(zero, dtype):
    assert not np.signbit(_cupy_shaped().asarray(-0.0))  # (the mistake, reproduced)
    if isinstance(zero, complex) and dtype is not None:
        pytest.skip("a complex number to a real dtype: NumPy's ComplexWarning, not this")
    xp = Backend("cupy-shaped", array_api_namespace(_cupy_shaped())).xp
    got = xp.asarray(zero, dtype=dtype)
    want = np.asarray(zero, dtype=dtype)
    assert got.shape == () and got.dtype == want.dtype
    assert np.signbit(got.real) == np.signbit(want.real) and np.signbit(got.imag) == np.signbit(want.imag)
    np.testing.assert_array_equal(xp.copysign(np.array([1.0, -np.inf]), xp.asarray(-0.0)), [-1.0, -np.inf])


def test_other_scalars_and_arrays_pass_through_the_cupy_namespace_unchanged():
    xp = Backend("cupy-shaped", array_api_namespace(_cupy_shaped())).xp
    for value, dtype in [(0.0, None), (2.5, "float32"), (-3, None), (True, None), ([-0.0, 1.0], None),
                         (np.array([-0.0]), "float16"), (np.int64(0), "float64")]:
        got, want = xp.asarray(value, dtype=dtype), np.asarray(value, dtype=dtype)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
        np.testing.assert_array_equal(got, want)


# --- vecdot: CuPy (13 and 14) has none, and LBFGS and its strong Wolfe search call it on ``xp``
# ("module 'cupy' has no attribute 'vecdot'" on a GPU); a NumPy namespace without vecdot, seen
# through the adapter, stands in.

def without_vecdot():
    module = types.ModuleType("cupy_shaped")
    module.__dict__.update((k, v) for k, v in vars(np).items() if not k.startswith("_") and k != "vecdot")
    module.linalg = np.linalg
    return module


XP = adapted(without_vecdot())


def test_the_adapter_adds_vecdot_where_the_namespace_lacks_it():
    assert not hasattr(without_vecdot(), "vecdot") and XP.vecdot is not np.vecdot
    assert adapted(np).vecdot is np.vecdot  # a namespace's own is kept


@pytest.mark.parametrize("shape1, shape2, axis", [
    ((5,), (5,), -1), ((3, 1, 4), (5, 4), -1), ((2, 3), (3,), -1), ((3, 2), (3, 1), 0), ((4, 2, 3), (2, 3), -2),
    ((0,), (0,), -1), ((2, 0), (1, 0), -1),
])
@pytest.mark.parametrize("dtype", ["float64", "float32", "complex128", "int32"])
def test_vecdot_is_numpys(shape1, shape2, axis, dtype):
    rng = np.random.default_rng(0)
    x1, x2 = (rng.normal(size=s) * 3 for s in (shape1, shape2))
    if dtype.startswith("complex"):
        x1, x2 = x1 + 1j * rng.normal(size=shape1), x2 - 2j * rng.normal(size=shape2)  # x1 is conjugated
    x1, x2 = x1.astype(dtype), x2.astype(dtype)
    got, want = XP.vecdot(x1, x2, axis=axis), np.vecdot(x1, x2, axis=axis)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == "float32" else 1e-13)


def test_float16_vecdot_sums_in_float32_and_rounds_once_as_numpy():
    # each product, 4e-8, would round to float16's smallest subnormal (6e-8); summed in float32 it does not
    x = np.full(1000, 2e-4, np.float16)
    assert XP.vecdot(x, x).dtype == np.float16
    assert XP.vecdot(x, x) == np.vecdot(x, x) == np.float16(np.sum(x.astype(np.float32) ** 2))
    assert XP.vecdot(x, x) != np.sum(x * x)  # (1.5 times too large)


def test_vecdot_refuses_vectors_of_two_lengths():
    with pytest.raises(ValueError, match=r"vecdot: .* sizes 3 and 2 along axis -1"):
        XP.vecdot(np.ones(3), np.ones(2))
    with pytest.raises(ValueError):
        np.vecdot(np.ones(3), np.ones(2))


class WithoutVecdot(NumpyBackend):
    """The CPU backend whose ``xp`` lacks vecdot, as CuPy's, through the adapter."""
    name = "no-vecdot"

    def __init__(self):
        super().__init__(device="no-vecdot")
        self.xp = XP


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_steps_as_on_the_cpu_where_the_namespace_lacks_vecdot(line_search_fn):
    target = np.array([[1.0, -2.0], [0.5, 3.0]])

    def run(device):
        w = nn.Parameter(ag.zeros((2, 2), dtype=ag.float64, device=device))
        goal = ag.tensor(target, device=device)
        opt = nn.optim.LBFGS([w], max_iter=5, line_search_fn=line_search_fn)

        def closure():
            opt.zero_grad()
            loss = ((w - goal) ** 4).sum() + ((w - goal) ** 2).sum()
            loss.backward()
            return loss

        for _ in range(3):
            opt.step(closure)
        return w.numpy()

    np.testing.assert_allclose(run(WithoutVecdot()), run("cpu"), rtol=1e-12)  # (BLAS's dot sums in its order)


# --- ldexp with int64 exponents: CuPy's kernel is ``out0 = ldexp(in0, in1)``, C's ldexp(x, int),
# so an exponent past int32 kept its low 32 bits; NumPy's loop clamps it (inf or 0, as PyTorch's).

def test_cuda_ldexp_clamps_exponents_past_int32_as_numpy(monkeypatch):
    backend = cupy_backend_on_a_stand_in(monkeypatch)
    backend.xp.ldexp = lambda x, e: np.ldexp(x, np.astype(e, np.int32))  # CuPy's int(e) in the kernel
    x = np.array([1.0, 1.0, 3.0, -2.0, 0.5, 0.75])
    e = np.array([2 ** 32 + 3, 2 ** 31, -2 ** 40, -2 ** 31 - 1, 7, -3])
    with np.errstate(over="ignore"):
        assert backend.xp.ldexp(x, e)[:2].tolist() == [8.0, 0.0]  # (the stand-in narrows as CuPy does)
        np.testing.assert_array_equal(backend.ldexp(x, e), [np.inf, np.inf, 0.0, -0.0, 64.0, 0.09375])
        np.testing.assert_array_equal(backend.ldexp(x, e), np.ldexp(x, e))
    small = np.array([5, -2], dtype=np.int32)  # frexp's int32 exponents go straight through
    np.testing.assert_array_equal(backend.ldexp(np.array([1.0, 8.0]), small), [32.0, 2.0])


def test_cuda_uniform_over_a_span_past_float32_range_stays_spread_and_finite(monkeypatch):
    """high - low past float32's largest number (init.uniform_(w, -3e38, 3e38)) is inf in a
    float32 draw: every number came out high (inf clipped below it), or NaN for a draw of 0.
    The CPU backend draws in float64; so does the CUDA one for such a span."""
    backend = cupy_backend_on_a_stand_in(monkeypatch)
    for low, high in [(-3e38, 3e38), (-1e38, 3e38)]:
        out = backend.uniform((2000,), low, high, np.float32)
        assert out.dtype == np.float32 and np.isfinite(out).all()
        assert low <= out.min() < 0 < out.max() < high
    ordinary = backend.uniform((2000,), -2.0, 3.0, np.float32)  # (a float32 draw, as before)
    assert ordinary.dtype == np.float32 and -2.0 <= ordinary.min() and ordinary.max() < 3.0
