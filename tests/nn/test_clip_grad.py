"""nn.utils gradient clipping (and parameters_to_vector / vector_to_parameters) against
torch.nn.utils, on every backend."""
import math
import warnings

import numpy as np
import pytest

import autograd as ag
import nn
from nn.utils import clip_grad_norm_, clip_grad_value_, get_total_norm

SHAPES = [(4, 3), (5,), ()]  # a 0-d parameter too


def grads(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s).astype(dtype) for s in SHAPES]


def ours(values):
    params = [nn.Parameter(ag.tensor(np.array(v, copy=True))) for v in values]
    for p, v in zip(params, values):
        p.grad = ag.tensor(np.array(v, copy=True))
    params.append(nn.Parameter(ag.zeros(2)))  # no gradient: skipped
    return params


def theirs(torch, values):
    params = [torch.nn.Parameter(torch.from_numpy(np.array(v, copy=True))) for v in values]
    for p, v in zip(params, values):
        p.grad = torch.from_numpy(np.array(v, copy=True))
    return params


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("norm_type", [2.0, 1, math.inf, 3.0, 0.5])
@pytest.mark.parametrize("max_norm", [0.3, 1e3])  # clips, and leaves the gradients as they are
def test_clip_grad_norm_matches_pytorch(max_norm, norm_type, dtype, device, torch):
    values = grads(dtype)
    params, ref = ours(values), theirs(torch, values)
    total = clip_grad_norm_(params, max_norm, norm_type=norm_type)
    ref_total = torch.nn.utils.clip_grad_norm_(ref, max_norm, norm_type=norm_type)
    tol = dict(rtol=1e-6) if dtype == "float32" else dict(rtol=1e-13)
    assert isinstance(total, ag.Tensor) and total.shape == () and total.device == device
    assert total.dtype == np.dtype(dtype)
    np.testing.assert_allclose(total.numpy(), ref_total.numpy(), **tol)
    for p, r in zip(params, ref):
        np.testing.assert_allclose(p.grad.numpy(), r.grad.numpy(), **tol)
    assert params[-1].grad is None
    if max_norm < float(total):  # the clipped gradients have the norm asked for
        clipped = get_total_norm([p.grad for p in params[:-1]], norm_type)
        assert float(clipped) == pytest.approx(max_norm, rel=1e-5)


def test_clip_grad_norm_scales_in_place_and_accepts_one_tensor(device):
    p = nn.Parameter(ag.tensor([3.0, 4.0]))
    p.grad = ag.tensor([3.0, 4.0])
    grad, data = p.grad, p.grad.data
    total = clip_grad_norm_(p, 1.0)
    assert total.item() == pytest.approx(5.0) and p.grad is grad and p.grad.data is data
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8], rtol=1e-6)


@pytest.mark.parametrize("clip", [lambda ps: clip_grad_norm_(ps, 0.1), lambda ps: clip_grad_value_(ps, 0.1)],
                         ids=["norm", "value"])
def test_clipping_counts_as_an_in_place_change_of_the_gradient_as_torch(clip):
    """An op that saved .grad before clipping would read the clipped values at backward; as in
    PyTorch, that backward raises instead."""
    w = nn.Parameter(ag.tensor([1.0, 2.0]))
    (w * w).sum().backward()
    y = (w.grad * ag.tensor([1.0, 1.0], requires_grad=True)).sum()
    clip([w])
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_non_finite_norm(device, torch):
    values = grads("float32")
    values[0][1, 2] = np.inf
    params = ours(values)
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    for p, v in zip(params, values):  # nothing was scaled
        np.testing.assert_array_equal(p.grad.numpy(), v)
    ref = theirs(torch, values)
    total = clip_grad_norm_(params, 1.0)
    ref_total = torch.nn.utils.clip_grad_norm_(ref, 1.0)
    assert math.isinf(float(total)) and math.isinf(float(ref_total))
    for p, r in zip(params, ref):
        np.testing.assert_array_equal(p.grad.numpy(), r.grad.numpy())  # zeros, and NaN where inf was


def test_no_gradients_give_a_zero_norm():
    total = clip_grad_norm_([nn.Parameter(ag.zeros(3))], 1.0)
    assert isinstance(total, ag.Tensor) and total.item() == 0.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_clip_grad_value_matches_pytorch(dtype, device, torch):
    values = grads(dtype, seed=3)
    params, ref = ours(values), theirs(torch, values)
    clip_grad_value_(params, 0.5)
    torch.nn.utils.clip_grad_value_(ref, 0.5)
    for p, r, v in zip(params, ref, values):
        np.testing.assert_array_equal(p.grad.numpy(), r.grad.numpy())
        assert p.grad.dtype == np.dtype(dtype)
    assert np.abs(params[0].grad.numpy()).max() == np.float32(0.5)  # something was clipped
    assert params[-1].grad is None


@pytest.mark.parametrize("call, message", [
    (lambda ps: clip_grad_norm_(ps, -1.0), "max_norm"),
    (lambda ps: clip_grad_value_(ps, -0.1), "clip_value"),
])
def test_negative_limits_are_rejected_before_any_change(call, message):
    values = grads("float32")
    params = ours(values)
    with pytest.raises(ValueError, match=message):
        call(params)
    for p, v in zip(params, values):
        np.testing.assert_array_equal(p.grad.numpy(), v)


@pytest.mark.parametrize("total_norm, got", [
    (lambda: ag.tensor([5.0, 5.0, 5.0]), r"a tensor of shape \(3,\)"),  # a norm per parameter
    (lambda: ag.tensor([5.0]), r"a tensor of shape \(1,\)"),
    (lambda: 5.0, "a float"),
])
def test_clip_grads_with_norm_refuses_a_total_norm_that_is_not_one_0d_tensor(total_norm, got):
    # Before, a 1-D total_norm scaled each gradient elementwise by its entries (PyTorch refuses
    # it), and a float failed with an AttributeError from inside the function.
    params = [nn.Parameter(ag.ones(3)) for _ in range(3)]
    for p in params:
        p.grad = ag.tensor([3.0, 4.0, 0.0])
    with pytest.raises(TypeError, match=f"total_norm must be a 0-d Tensor.*got {got}"):
        nn.utils.clip_grads_with_norm_(params, 1.0, total_norm())
    for p in params:
        np.testing.assert_array_equal(p.grad.numpy(), [3.0, 4.0, 0.0])


# --- parameters_to_vector and vector_to_parameters

def test_parameters_to_vector_and_back_match_torch(torch):
    # nn.utils had neither parameters_to_vector nor vector_to_parameters.
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    ours = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    vec = nn.utils.parameters_to_vector(ours.parameters())
    ref = torch.nn.utils.parameters_to_vector(theirs.parameters())
    np.testing.assert_array_equal(vec.numpy(), ref.detach().numpy())
    weights = np.random.default_rng(0).standard_normal(vec.shape).astype(np.float32)
    (vec * ag.tensor(weights)).sum().backward()
    (ref * torch.tensor(weights)).sum().backward()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6)
    params = list(ours.parameters())
    new = np.arange(vec.size + 2, dtype=np.float32)  # entries past the last parameter are unused, as in PyTorch
    nn.utils.vector_to_parameters(ag.tensor(new), ours.parameters())
    torch.nn.utils.vector_to_parameters(torch.tensor(new), theirs.parameters())
    assert list(ours.parameters()) == params  # the same Parameters, changed in place
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.detach().numpy())
    with pytest.raises(ValueError, match="vec has 3 elements, but the parameters hold 11"):
        nn.utils.vector_to_parameters(ag.zeros(3), ours.parameters())
    np.testing.assert_array_equal(ours[0].bias.numpy(), theirs[0].bias.detach().numpy())  # unchanged
    with pytest.raises(TypeError, match="vec must be a Tensor, not list"):
        nn.utils.vector_to_parameters([0.0], ours.parameters())


# --- bug: get_total_norm took integer tensors -------------------------------------------

@pytest.mark.parametrize("norm_type", [2.0, float("inf")])
def test_get_total_norm_refuses_integer_tensors(torch, norm_type):
    with pytest.raises(RuntimeError, match="floating point"):
        torch.nn.utils.get_total_norm([torch.ones(2), torch.tensor([1, 2])], norm_type)
    with pytest.raises(TypeError, match=r"get_total_norm: .*floating-point .* got a int64 tensor of shape \(2,\)"):
        get_total_norm([ag.ones(2), ag.tensor([1, 2])], norm_type)


# --- clip_grad_norm_ of float16 gradients, and empty gradients in the total norm, as PyTorch's

def _pair(torch, values):
    """The same parameters, each with its value as its gradient, in topograd and in PyTorch."""
    ours, theirs = [], []
    for v in values:
        p = nn.Parameter(ag.tensor(v.copy()))
        p.grad = ag.tensor(v.copy())
        ours.append(p)
        q = torch.nn.Parameter(torch.from_numpy(v.copy()))
        q.grad = torch.from_numpy(v.copy())
        theirs.append(q)
    return ours, theirs


@pytest.mark.parametrize("norm_type, max_norm", [(2.0, 1.0), (2.0, 0.05), (math.inf, 1e-3), (1.0, 2e-4)])
def test_clip_grad_norm_scales_float16_gradients_in_float32_as_pytorch(norm_type, max_norm, torch):
    # The factor was rounded to float16 before scaling a float16 gradient, where PyTorch
    # multiplies in float32 and rounds once: the clipped gradients were off by up to a float16
    # step, and a factor under 3e-8 (a large norm, a small max_norm) became 0, zeroing them.
    # The factor is float32 when the gradients are of several dtypes, as here.
    rng = np.random.default_rng(0)
    values = [(rng.normal(size=(6, 5)) * 2000).astype(np.float16), rng.normal(size=4).astype(np.float32),
              np.array([60000.0, -1.5], dtype=np.float16)]
    ours, theirs = _pair(torch, values)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    ref_total = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert total.item() == ref_total.item() and total.dtype == np.float32
    for p, q in zip(ours[::2], theirs[::2]):  # the float16 gradients, bit for bit
        assert p.grad.dtype == np.float16
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    assert ours[2].grad.numpy()[0] != 0  # 60000 did not vanish


@pytest.mark.parametrize("norm_type", [-math.inf, -1.0, -2.0])
def test_an_empty_gradient_leaves_a_negative_order_norm_of_the_others_as_it_is(norm_type, torch):
    # An empty gradient's norm was 0 for every order, so with norm_type -inf (the smallest
    # absolute value) or below 0 it took the total to 0, whatever the other gradients held.
    # PyTorch refuses such an empty gradient; the total is now the norm of all the elements,
    # as without it.
    values = [np.array([0.5, -2.0, 3.0]), np.zeros((0, 3)), np.array(-0.25)]
    without_empty = torch.cat([torch.from_numpy(v).reshape(-1) for v in values if v.size])
    expected = torch.linalg.vector_norm(without_empty, norm_type).item()
    assert get_total_norm([ag.tensor(v) for v in values], norm_type).item() == pytest.approx(expected, rel=1e-12)

    ours, _ = _pair(torch, values)
    _, theirs = _pair(torch, [v for v in values if v.size])
    total = clip_grad_norm_(ours, 0.1, norm_type=norm_type)
    ref_total = torch.nn.utils.clip_grad_norm_(theirs, 0.1, norm_type=norm_type)
    assert total.item() == pytest.approx(ref_total.item(), rel=1e-12) and total.item() > 0.1
    for p, q in zip(ours[::2], theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("norm_type", [math.inf, 0, 1.0, 2.0])
def test_an_empty_gradient_still_adds_nothing_to_the_other_norms(norm_type, torch):
    # What the change above keeps: an empty gradient counts 0 toward the orders >= 0 (PyTorch
    # refuses one for inf; for the others it agrees).
    values = [np.array([0.5, -2.0, 3.0]), np.zeros((0,)), np.array([[-0.25, 0.0]])]
    expected = torch.nn.utils.get_total_norm([torch.from_numpy(v) for v in values if v.size], norm_type).item()
    assert get_total_norm([ag.tensor(v) for v in values], norm_type).item() == pytest.approx(expected, rel=1e-12)


OVERFLOWS = [("float32", [[1e20, 3e20]]), ("float32", [[3e38, 3e38]]), ("float32", [[1e19], [3e19, 1e30]]),
             ("float16", [[60000.0, 60000.0]]), ("float16", [[60000.0], [60000.0]]), ("float16", [[np.inf, 1.0]]),
             ("float32", [[np.inf, 1.0], [2.0]])]


@pytest.mark.parametrize("dtype, values", OVERFLOWS, ids=[f"{d}-{v}" for d, v in OVERFLOWS])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_an_overflowing_norm_clips_as_pytorch_without_warnings(device, torch, dtype, values, norm_type):
    """A norm past the dtype's range (squares, sums or powers overflowing, an inf gradient) is
    inf and scales the gradients to 0 (NaN where inf), as PyTorch's, with no NumPy warning
    (there were overflow and invalid-value warnings, which PyTorch does not raise)."""
    if device == "strict" and dtype == "float16":
        pytest.skip("the strict backend has no float16")
    values = [np.array(v, dtype=dtype) for v in values]
    params, ref = ours(values), theirs(torch, values)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        total = clip_grad_norm_(params, 1.0, norm_type=norm_type)
    ref_total = torch.nn.utils.clip_grad_norm_(ref, 1.0, norm_type=norm_type)
    np.testing.assert_array_equal(total.numpy(), ref_total.numpy())
    for p, r in zip(params, ref):
        np.testing.assert_array_equal(p.grad.numpy(), r.grad.numpy())


@pytest.mark.parametrize("total_dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("max_norm", [0.3, 0.1, 1 / 3, 2e-4, 1.0])
def test_the_factor_is_pytorchs_reciprocal_times_max_norm_to_the_bit(device, torch, total_dtype, max_norm):
    """PyTorch's ``max_norm / (total_norm + 1e-6)`` is Tensor.__rtruediv__: the reciprocal,
    then times max_norm, each rounded in the total's dtype (float16's through float32). A
    division is a unit off it for about a quarter of float32 totals at max_norm 0.3 (half of
    them when the quotient was float64's, rounded to float32), and every gradient with it.
    Gradients of each dtype, and totals from 1e-4 to float32's reciprocal below its normal
    range, inf and NaN."""
    dtypes = ["float32", "float64"] if device == "strict" else ["float16", "float32", "float64"]
    if total_dtype not in dtypes:
        pytest.skip("the strict backend has no float16")
    rng = np.random.default_rng(3)
    top = {"float16": 4, "float32": 38, "float64": 38}[total_dtype]
    totals = np.concatenate([rng.uniform(0.5, 2, 60) * 10.0 ** rng.integers(-4, top, 60),
                             [3e38, 1e38, 9e37] if total_dtype != "float16" else [6e4],
                             [0.0, np.inf, np.nan]]).astype(total_dtype)
    values = [np.array([1.0, -3.7, 0.6, 1e4], dtype=d) for d in dtypes]
    for total in totals:
        params, ref = ours(values), theirs(torch, values)
        nn.utils.clip_grads_with_norm_(params, max_norm, ag.tensor(total))
        torch.nn.utils.clip_grads_with_norm_(ref, max_norm, torch.tensor(total))
        for p, r in zip(params, ref):
            want = r.grad.numpy()
            assert p.grad.dtype == want.dtype
            if device.startswith("cuda") and want.dtype == np.float32:  # (CuPy flushes subnormal products)
                want = np.where(np.abs(want) < np.finfo(np.float32).tiny, np.copysign(0, want), want)
            np.testing.assert_array_equal(p.grad.numpy(), want, err_msg=f"total {total!r}")
            signed = ~np.isnan(want)  # (zeros keep their signs; a NaN's is the platform's)
            np.testing.assert_array_equal(np.signbit(p.grad.numpy())[signed], np.signbit(want)[signed])
