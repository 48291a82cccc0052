"""What the first run of the suite on a CUDA GPU (CuPy 14) turned up in elementwise numerics,
where it can be shown without one.

- CuPy makes a 0-d array from a host scalar with ``ndarray.fill``, which writes any value
  equal to 0 as a memset of zero bytes: ``asarray(-0.0)`` was +0.0, so copysign(x, -0.0)
  gave |x| and a threshold's -0.0 fill +0.0 on CUDA. The CuPy backend's namespace
  (backends/cupy_namespace.py) keeps the sign; here on a CuPy-shaped namespace over NumPy
  whose asarray makes the same mistake.
"""
import types

import numpy as np
import pytest

from backends.base import Backend
from backends.cupy_namespace import array_api_namespace


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
