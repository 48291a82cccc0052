"""The ops NumPy lacks (erf, erfc, the special and gamma functions) raise no floating-point
warnings, as SciPy's and PyTorch's do not: their kernels and backward formulas overflow on the
way to right answers. The ops NumPy has still warn as NumPy's do."""
import math
import warnings

import numpy as np
import pytest

import autograd as ag

S = ag.special
EXTREMES = [0.0, -0.0, 1.0, -1.0, 0.5, 1e-310, -1e-310, 1e-30, 30.0, -30.0, 700.0, -700.0, 1e5, -1e5,
            1e300, -1e300, 1.7e308, -1.7e308, math.inf, -math.inf, math.nan, -40.5, 171.7, 1 - 1e-16]

QUIET = {
    "erf": ag.erf, "erfc": ag.erfc, "erfinv": S.erfinv, "ndtr": S.ndtr, "ndtri": S.ndtri,
    "log_ndtr": S.log_ndtr, "erfcx": S.erfcx, "logit": S.logit, "logit eps": lambda x: S.logit(x, 1e-3),
    "entr": S.entr, "i0": S.i0, "i0e": S.i0e, "i1": S.i1, "i1e": S.i1e,
    "lgamma": ag.lgamma, "digamma": S.digamma, "polygamma 1": lambda x: S.polygamma(1, x),
    "polygamma 3": lambda x: S.polygamma(3, x), "mvlgamma": lambda x: S.multigammaln(x, 3),
    "zeta in q": lambda x: S.zeta(ag.tensor(3.0, dtype=x.dtype), x),
    "xlogy": lambda x: S.xlogy(x, x), "xlog1py": lambda x: S.xlog1py(x, x),
}


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("name", sorted(QUIET))
def test_functions_numpy_lacks_compute_extremes_without_warnings(device, name, dtype):
    if device == "strict" and dtype == "float16":
        pytest.skip("the Array API standard has no float16")
    info = np.finfo(dtype)
    # (values the dtype holds: a float16 tensor made from 1e300 warns in NumPy's cast, rightly)
    values = [v for v in EXTREMES if not math.isfinite(v) or abs(v) <= float(info.max)]
    x = ag.tensor(np.array(values, dtype=dtype), device=device, requires_grad=True)
    before = np.geterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = QUIET[name](x)
        # (seeded with ones, not through y.sum(): i1(inf) + i1(-inf) is NaN, and NumPy warns)
        gradient, = ag.grad(y, x, ag.ones_like(y), create_graph=True)
    assert np.geterr() == before  # the warnings are off inside the op only
    assert y.shape == gradient.shape == x.shape


def test_an_op_numpy_has_still_warns_as_numpys(device):
    if device.startswith("cuda"):
        pytest.skip("CuPy's kernels raise no floating-point warnings, NumPy's functions or not")
    x = ag.tensor([-1.0, 1e300], dtype="float64", device=device)
    with pytest.warns(RuntimeWarning, match="invalid value encountered in log"):
        ag.log(x)
    with pytest.warns(RuntimeWarning, match="overflow encountered in exp"):
        ag.exp(x)


def test_a_backward_formula_on_extremes_is_quiet_and_exact(device):
    # ndtr's slope exp(-x^2 / 2) / sqrt(2 pi): x * x overflows to inf, and the slope is 0
    x = ag.tensor([1e300, -1e300, 0.0], dtype="float64", device=device, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        S.ndtr(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 1 / math.sqrt(2 * math.pi)])
