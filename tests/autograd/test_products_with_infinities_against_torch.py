"""cumprod's gradient on lines holding an infinity or a NaN: gx_i = sum_{j>=i} gy_j P_ij with
P_ij = prod_{k<=j, k!=i} x_k, each term and the sum in IEEE arithmetic (0 * inf and inf - inf
are NaN), as PyTorch's own formula for it (the O(n^2) one it takes under create_graph) gives.
The values here are small powers of two, so the finite parts are exact too."""
import math

import numpy as np
import pytest

import autograd as ag

inf, nan = math.inf, math.nan


def exact_cumprod_gradient(line, cotangent):
    """The gradient of sum_j cotangent_j cumprod(line)_j, term by term in Python floats."""
    n = len(line)
    return [sum(cotangent[j] * math.prod(line[k] for k in range(j + 1) if k != i) for j in range(i, n))
            for i in range(n)]


def cumprod_gradient(lines, cotangents, dtype, axis, create_graph=False):
    """topograd's gradient of cumprod along ``axis`` of ``lines`` (one per row, or per column
    for axis 0), through ``cotangents``, as rows."""
    lines, cotangents = np.array(lines, dtype=dtype), np.array(cotangents, dtype=dtype)
    if axis == 0:
        lines, cotangents = lines.T.copy(), cotangents.T.copy()
    x = ag.tensor(lines, requires_grad=True)
    gx, = ag.grad(ag.cumprod(x, axis), x, ag.tensor(cotangents), create_graph=create_graph)
    return gx.numpy().T if axis == 0 else gx.numpy()


# No zeros: y_{i-1} S_i multiplied an infinite y_{i-1} by the sum of the terms, not by each.
WITHOUT_ZEROS = [[1.0, -inf, 2.0, -inf], [inf, 1.0, 1.0, 0.5], [1.0, inf, -2.0, 0.5], [2.0, -inf, inf, 4.0],
                 [nan, 2.0, -inf, 0.5], [-inf, -inf, 4.0, 1.0], [0.5, 2.0, 4.0, inf]]
COTANGENTS = {"ones": [1.0, 1.0, 1.0, 1.0], "mixed": [1.0, -0.75, 1.5, 0.5], "with-zeros": [1.0, 0.0, 2.0, 0.0]}


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("cotangent", COTANGENTS.values(), ids=COTANGENTS.keys())
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("axis", [1, 0])
@pytest.mark.parametrize("create_graph", [False, True])
def test_cumprod_gradient_of_lines_with_infinities_is_exact(device, cotangent, dtype, axis, create_graph):
    got = cumprod_gradient(WITHOUT_ZEROS, [cotangent] * len(WITHOUT_ZEROS), dtype, axis, create_graph)
    want = [exact_cumprod_gradient(line, cotangent) for line in WITHOUT_ZEROS]
    np.testing.assert_array_equal(got, np.array(want, dtype=dtype))


def test_cumprod_gradient_of_inf_minus_inf_is_nan_as_torchs(device, torch):
    """At [1, -inf, 2, -inf] gx_2 = y_1 + y_1 x_3 = -inf + inf: NaN, as PyTorch's, where the
    products gave inf. PyTorch's division ((sum gy y) / x) gives NaN at 1 and 3 too, where the
    exact sums, 1 + 2 - inf and 1 * -inf * 2, are -inf."""
    line = [1.0, -inf, 2.0, -inf]
    t = torch.tensor(line, dtype=torch.float64, requires_grad=True)
    t.cumprod(0).backward(torch.ones(4, dtype=torch.float64))
    got = cumprod_gradient([line], [[1.0] * 4], "float64", 1)[0]
    np.testing.assert_array_equal(got[[0, 2]], t.grad.numpy()[[0, 2]])
    np.testing.assert_array_equal(got, [nan, -inf, nan, -inf])


# With zeros: the products stopped at a zero whatever lay past it, right for a sum of finite
# products that overflowed, but 0 * nan and 0 * inf are NaN. PyTorch's create_graph path (its
# O(n^2) formula) gives these; its plain path drops what lies past a line's first zero.
WITH_ZEROS = [[nan, 0.0, nan, 1.0], [2.0, 0.0, nan, 0.5], [0.5, 0.0, 4.0, inf], [0.0, 0.0, inf, 2.0],
              [0.0, inf, 0.0, 1.0], [inf, 0.0, 0.5, -inf], [0.5, 0.0, -inf, 2.0], [2.0, 0.0, 4.0, 0.5]]
COTANGENTS_WITH_NAN = {**COTANGENTS, "nan": [1.0, 2.0, nan, 1.0], "inf": [-inf, 1.0, 0.0, 2.0]}


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("cotangent", COTANGENTS_WITH_NAN.values(), ids=COTANGENTS_WITH_NAN.keys())
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("axis", [1, 0])
@pytest.mark.parametrize("create_graph", [False, True])
def test_cumprod_gradient_of_lines_with_zeros_and_nan_or_inf_is_exact(device, cotangent, dtype, axis, create_graph):
    got = cumprod_gradient(WITH_ZEROS, [cotangent] * len(WITH_ZEROS), dtype, axis, create_graph)
    want = [exact_cumprod_gradient(line, cotangent) for line in WITH_ZEROS]
    np.testing.assert_array_equal(got, np.array(want, dtype=dtype))


@pytest.mark.parametrize("cotangent", COTANGENTS_WITH_NAN.values(), ids=COTANGENTS_WITH_NAN.keys())
def test_cumprod_gradient_of_lines_with_zeros_matches_torchs_formula(device, torch, cotangent):
    t = torch.tensor(WITH_ZEROS, dtype=torch.float64, requires_grad=True)
    want, = torch.autograd.grad(t.cumprod(1), t, torch.tensor([cotangent] * len(WITH_ZEROS), dtype=torch.float64),
                                create_graph=True)
    np.testing.assert_array_equal(cumprod_gradient(WITH_ZEROS, [cotangent] * len(WITH_ZEROS), "float64", 1),
                                  want.detach().numpy())
    got = cumprod_gradient([[nan, 0.0, nan]], [[1.0, 1.0, 1.0]], "float64", 1)[0]
    np.testing.assert_array_equal(got, [nan, nan, nan])  # gx_0 = 1 + 0 + 0 * nan, which was 1
