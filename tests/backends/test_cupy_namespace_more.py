"""The CuPy adapter's vecdot, checked without CuPy: CuPy (13 and 14) has no ``vecdot``,
which LBFGS and its strong Wolfe search call on ``xp`` ("module 'cupy' has no attribute
'vecdot'" on a GPU). A NumPy namespace without vecdot, seen through the adapter, stands in."""
import types

import numpy as np
import pytest

import autograd as ag
import nn
from backends.cupy_namespace import array_api_namespace
from backends.numpy_backend import NumpyBackend


def without_vecdot():
    module = types.ModuleType("cupy_shaped")
    module.__dict__.update((k, v) for k, v in vars(np).items() if not k.startswith("_") and k != "vecdot")
    module.linalg = np.linalg
    return module


XP = array_api_namespace(without_vecdot())


def test_the_adapter_adds_vecdot_where_the_namespace_lacks_it():
    assert not hasattr(without_vecdot(), "vecdot") and XP.vecdot is not np.vecdot
    assert array_api_namespace(np).vecdot is np.vecdot  # a namespace's own is kept


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
