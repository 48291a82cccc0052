"""The activations beyond the first few (silu, mish, hardtanh, relu6, hardsigmoid,
hardswish, selu, celu, prelu, logsigmoid, softsign, softmin, threshold, glu,
tanhshrink, hardshrink, softshrink; elu, which now shares selu's and celu's fused
op), as nn.functional and as layers, against PyTorch 2.13: values and first and
second derivatives in float64 on inputs exactly at the kinks and far out in the
tails (with overflow warnings as errors), float32 and float16 values and dtypes,
finite differences away from the kinks, inplace=True, PReLU's parameter, reprs
and errors."""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

from .torch_compare import assert_raises_where_torch_raises, named_rng, run_both
from tests.autograd.torch_pairs import same_but_cuda_ulps

# The far tails, the kinks the activations here share (0, +-0.5, +-1, +-3, 6) and points
# just off them; each case adds its own kinks.
BASE = [-1000.0, -40.0, -7.0, -6.0, -3.0, -1.5, -1.0, -0.5, -0.25, -1e-12, -0.0, 0.0, 1e-12, 0.25, 0.5, 1.0,
        2.5, 3.0, 6.0, 7.5, 40.0, 1000.0]


def _tf(t):
    return t.nn.functional


# name: (ours(x), theirs(torch, x), the case's own kinks)
CASES = {
    "silu": (F.silu, lambda t, x: _tf(t).silu(x), []),
    "mish": (F.mish, lambda t, x: _tf(t).mish(x), []),
    "hardtanh": (F.hardtanh, lambda t, x: _tf(t).hardtanh(x), [-1.0, 1.0]),
    "hardtanh-bounds": (lambda x: F.hardtanh(x, -2.25, 0.75), lambda t, x: _tf(t).hardtanh(x, -2.25, 0.75),
                        [-2.25, 0.75]),
    "relu6": (F.relu6, lambda t, x: _tf(t).relu6(x), [0.0, 6.0]),
    "hardsigmoid": (F.hardsigmoid, lambda t, x: _tf(t).hardsigmoid(x), [-3.0, 3.0]),
    "hardswish": (F.hardswish, lambda t, x: _tf(t).hardswish(x), [-3.0, 3.0]),
    "selu": (F.selu, lambda t, x: _tf(t).selu(x), [0.0]),
    "celu": (F.celu, lambda t, x: _tf(t).celu(x), [0.0]),
    # (PyTorch's celu gradient takes 1 / alpha in float32, off by 1e-6 for alpha = 0.4; not copied)
    "celu-alpha": (lambda x: F.celu(x, 0.375), lambda t, x: _tf(t).celu(x, 0.375), [0.0]),
    "celu-negative-alpha": (lambda x: F.celu(x, -2.0), lambda t, x: _tf(t).celu(x, -2.0), [0.0]),
    "elu": (lambda x: F.elu(x, 1.5), lambda t, x: _tf(t).elu(x, 1.5), [0.0]),
    "prelu": (lambda x: F.prelu(x, ag.tensor([0.25], dtype=x.dtype)),
              lambda t, x: _tf(t).prelu(x, t.tensor([0.25], dtype=x.dtype)), [0.0]),
    "prelu-0d-weight": (lambda x: F.prelu(x, ag.tensor(-1.5, dtype=x.dtype)),
                        lambda t, x: _tf(t).prelu(x, t.tensor(-1.5, dtype=x.dtype)), [0.0]),
    "logsigmoid": (F.logsigmoid, lambda t, x: _tf(t).logsigmoid(x), []),
    "softsign": (F.softsign, lambda t, x: _tf(t).softsign(x), [0.0]),
    "tanhshrink": (F.tanhshrink, lambda t, x: _tf(t).tanhshrink(x), []),
    "threshold": (lambda x: F.threshold(x, 0.75, -2.0), lambda t, x: _tf(t).threshold(x, 0.75, -2.0), [0.75]),
    "threshold-zero": (lambda x: F.threshold(x, -0.5, 0.0), lambda t, x: _tf(t).threshold(x, -0.5, 0.0), [-0.5]),
    "hardshrink": (F.hardshrink, lambda t, x: _tf(t).hardshrink(x), [-0.5, 0.5]),
    "hardshrink-lambd": (lambda x: F.hardshrink(x, 1.5), lambda t, x: _tf(t).hardshrink(x, 1.5), [-1.5, 1.5]),
    "hardshrink-negative-lambd": (lambda x: F.hardshrink(x, -0.5), lambda t, x: _tf(t).hardshrink(x, -0.5), []),
    "softshrink": (F.softshrink, lambda t, x: _tf(t).softshrink(x), [-0.5, 0.5]),
    "softshrink-lambd": (lambda x: F.softshrink(x, 2.0), lambda t, x: _tf(t).softshrink(x, 2.0), [-2.0, 2.0]),
    "softshrink-zero": (lambda x: F.softshrink(x, 0.0), lambda t, x: _tf(t).softshrink(x, 0.0), [0.0]),
}
# PyTorch's hardsigmoid gradient is 1/6 rounded to float32, in float64 too: not copied.
GRAD_RTOL = {"hardsigmoid": 1e-7}
# Below this |x| PyTorch's x - tanh(x) and its slope 1 - (1 - tanh(x)^2) cancel (0 at 1e-12, where
# the value is -3.3e-37); ours keep their digits there (tests/nn/test_tanhshrink_accuracy.py)
TORCH_CANCELS_BELOW = {"tanhshrink": 1e-2}


def _inputs(name):
    return np.array(BASE + CASES[name][2])


def _to_numpy(t):
    return t.detach().numpy() if hasattr(t, "detach") else t.numpy()


@pytest.mark.filterwarnings("error")  # no overflow (or any other) warning, even at +-1000
@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_two_derivatives_match_torch_at_kinks_and_in_tails(device, torch, name):
    ours, theirs, _ = CASES[name]
    values = _inputs(name)
    rng = named_rng(name)
    r, s = rng.standard_normal(values.shape), rng.standard_normal(values.shape)

    x = ag.tensor(values, dtype=ag.float64, requires_grad=True)
    y = ours(x)
    g, = ag.grad((y * ag.tensor(r)).sum(), [x], create_graph=True)
    h, = ag.grad((g * ag.tensor(s)).sum(), [x])  # raises if g were cut off from x

    tx = torch.tensor(values, requires_grad=True)
    ty = theirs(torch, tx)
    tg, = torch.autograd.grad((ty * torch.from_numpy(r)).sum(), [tx], create_graph=True)
    try:
        th = _to_numpy(torch.autograd.grad((tg * torch.from_numpy(s)).sum(), [tx])[0])
    except RuntimeError as e:  # hardsigmoid: PyTorch has no double backward; it is 0
        assert "not implemented" in str(e)
        th = np.zeros_like(values)

    assert y.shape == tuple(ty.shape) and y.dtype == ag.float64
    compared = ~(np.abs(values) < TORCH_CANCELS_BELOW.get(name, 0))
    np.testing.assert_allclose(y.numpy()[compared], _to_numpy(ty)[compared], rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(g.numpy()[compared], _to_numpy(tg)[compared], rtol=GRAD_RTOL.get(name, 1e-11),
                               atol=1e-300)
    # PyTorch's mish second derivative is NaN at +1000 (exp overflows in its formula); ours is finite
    assert np.isfinite(h.numpy()).all()
    known = np.isfinite(th)
    np.testing.assert_allclose(h.numpy()[known], th[known], rtol=1e-7, atol=1e-12)


@pytest.mark.filterwarnings("ignore:invalid value")  # hardswish(-inf) is -inf * 0, NaN in PyTorch too
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["elu", "selu", "celu", "celu-alpha", "celu-negative-alpha", "hardswish",
                                  "hardtanh", "relu6"])
def test_gradients_at_nan_and_infinities_are_torchs_to_second_order(device, torch, name, dtype):
    """PyTorch's kernels test x <= 0 (the ELU family) and x <= -3, x < 3 (hardswish), so
    at NaN they take the last branch: a finite slope (scale; 1), where ours were NaN.
    Derivatives in x and in the incoming gradient, as a double backward takes them."""
    ours, theirs, _ = CASES[name]
    values = np.array([np.nan, np.inf, -np.inf, -3.0, -1.0, 0.0, 3.0], dtype=dtype)
    incoming = np.array([2.0, 3.0, 5.0, 7.0, 11.0, 13.0, 17.0], dtype=dtype)

    def run(lib, make, fn):
        x, gy = make(values), make(incoming)
        y = fn(x)
        g, = lib.grad(y, [x], gy, create_graph=True)
        return [y, g, *lib.grad((g * make(incoming[::-1].copy())).sum(), [x, gy])]

    got = run(ag, lambda a: ag.tensor(a, requires_grad=True), ours)
    expected = run(torch.autograd, lambda a: torch.tensor(a, requires_grad=True), lambda x: theirs(torch, x))
    for what, a, b in zip(["y", "grad", "d grad / dx", "d grad / d incoming"], got, expected):
        assert a.dtype == getattr(ag, dtype)
        np.testing.assert_allclose(a.detach().numpy(), _to_numpy(b), rtol=1e-6, atol=0, err_msg=what)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_hardsigmoid_gradient_stops_at_nan_as_torchs(device, torch, dtype):
    """PyTorch's hardsigmoid_backward tests -3 < x < 3, so NaN gets 0 where hardtanh's
    gradient passes it (ours passed gy / 6). PyTorch has no second derivative here: ours
    is 0, connected to x."""
    values = np.array([np.nan, np.inf, -np.inf, -3.0, -1.0, 0.0, 3.0], dtype=dtype)
    incoming = np.array([2.0, 3.0, 5.0, 7.0, 11.0, 13.0, 17.0], dtype=dtype)
    tx = torch.tensor(values, requires_grad=True)
    torch.nn.functional.hardsigmoid(tx).backward(torch.tensor(incoming))
    x = ag.tensor(values, device=device, requires_grad=True)
    g, = ag.grad(F.hardsigmoid(x), [x], ag.tensor(incoming, device=device), create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), tx.grad.numpy(), rtol=1e-6, atol=0)
    gg, = ag.grad(g.sum(), [x], allow_unused=True)
    np.testing.assert_array_equal(gg.numpy(), np.zeros_like(values))


@pytest.mark.parametrize("name", sorted(n for n in CASES if n != "prelu"))  # prelu's 1-D weight needs axis 1
def test_zero_d_inputs_give_zero_d_values_and_gradients_as_torch(device, torch, name):
    """NumPy turns a 0-d comparison into a scalar: the masks of the piecewise-linear
    ops must still be arrays (they raised a TypeError once)."""
    ours, theirs, kinks = CASES[name]
    for v in [-4.0, -0.75, 0.3, 2.0, *kinks]:
        x = ag.tensor(v, dtype=ag.float64, requires_grad=True)
        y = ours(x)
        y.backward()
        tx = torch.tensor(v, dtype=torch.float64, requires_grad=True)
        ty = theirs(torch, tx)
        ty.backward()
        assert y.shape == () and x.grad.shape == ()
        np.testing.assert_allclose(y.item(), ty.item(), rtol=1e-12, err_msg=str(v))
        np.testing.assert_allclose(x.grad.item(), tx.grad.item(), rtol=GRAD_RTOL.get(name, 1e-11), err_msg=str(v))
        with ag.no_grad():
            assert ours(ag.tensor(v)).shape == ()


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", sorted(CASES))
def test_float32_and_float16_keep_their_dtype_and_match_torch(device, torch, name):
    ours, theirs, _ = CASES[name]
    for dtype, tol in (("float32", 2e-6), ("float16", 4e-3)):
        if dtype == "float16" and device == "strict":
            continue  # the Array API standard has no float16
        values = _inputs(name)
        if dtype == "float16" or name == "celu-negative-alpha":
            # exp(-x / 2) overflows float32 from x < -177 (float16 from x < -22): -inf in PyTorch,
            # with a warning here, so that case keeps to +-40, and float16 to its range
            values = values[np.abs(values) <= 40]
            if dtype == "float16" and name == "celu-negative-alpha":
                continue
        x = ag.tensor(values.astype(dtype), dtype=dtype, requires_grad=True)
        tx = torch.tensor(values.astype(dtype), requires_grad=True)
        y, ty = ours(x), theirs(torch, tx)
        r = named_rng(name).standard_normal(values.shape).astype(dtype)
        (y * ag.tensor(r, dtype=dtype)).sum().backward()
        (ty * torch.from_numpy(r)).sum().backward()
        assert y.dtype == x.grad.dtype == getattr(ag, dtype)
        # one rounding per op here, one in all for PyTorch's float16 (it computes in float32)
        scale = np.maximum(np.abs(values), 1)
        np.testing.assert_allclose(y.numpy() / scale, _to_numpy(ty) / scale, rtol=tol, atol=tol, err_msg=dtype)
        np.testing.assert_allclose(x.grad.numpy() / scale, _to_numpy(tx.grad) / scale, rtol=tol, atol=tol,
                                   err_msg=dtype)


@pytest.mark.parametrize("value", [-2.5, 1e4, -0.0, np.inf, np.nan])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_threshold_fills_with_its_value_bit_for_bit_as_torch(device, torch, dtype, value):
    """A nonzero value goes through the backend's masked_or kernel (no where, 15x slower on
    NumPy): the same bits as PyTorch's, inf, NaN and -0.0 included, on a strided input."""
    if dtype == "float16" and device == "strict":
        pytest.skip("the Array API standard has no float16")
    values = named_rng("threshold-fill").standard_normal((7, 6)).astype(dtype)
    values.flat[::4], values.flat[1::4], values.flat[2::4] = np.inf, np.nan, -0.0
    values[0, :3] = [0.25, -np.inf, 0.5]  # the threshold itself, and off it
    x = ag.tensor(values, requires_grad=True)
    y = F.threshold(x.T, 0.25, value)
    y.backward(ag.ones(y.shape, dtype=dtype))
    tx = torch.tensor(values, requires_grad=True)
    ty = torch.nn.functional.threshold(tx.T, 0.25, value)
    ty.backward(torch.ones_like(ty))
    bits = f"u{np.dtype(dtype).itemsize}"
    assert y.dtype == x.grad.dtype == getattr(ag, dtype)
    np.testing.assert_array_equal(y.numpy().view(bits), _to_numpy(ty).view(bits))
    np.testing.assert_array_equal(x.grad.numpy(), _to_numpy(tx.grad))


def _away_from_kinks(name, shape):
    x = named_rng(name).uniform(-4.5, 4.5, shape)
    for kink in CASES[name][2] + [0.0]:
        x[np.abs(x - kink) < 0.05] += 0.1
    return x


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck_and_gradgradcheck_away_from_kinks(device, name):
    fn = CASES[name][0]
    x = ag.tensor(_away_from_kinks(name, (2, 5)), dtype=ag.float64, requires_grad=True)
    assert ag.gradcheck(fn, [x], atol=1e-6, rtol=1e-5)
    assert ag.gradgradcheck(fn, [x], atol=1e-6, rtol=1e-5)


# Ops that take an axis or a weight: name: (ours(x, *params), theirs(torch, x, *params), shape, params)
SHAPED = {
    "glu-last-axis": (F.glu, lambda t, x: _tf(t).glu(x), (2, 3, 4), []),
    "glu-axis-0": (lambda x: F.glu(x, 0), lambda t, x: _tf(t).glu(x, 0), (4, 3), []),
    "glu-negative-axis": (lambda x: F.glu(x, -2), lambda t, x: _tf(t).glu(x, -2), (3, 2, 3), []),
    "softmin": (lambda x: F.softmin(x, -1), lambda t, x: _tf(t).softmin(x, -1), (2, 3, 4), []),
    "softmin-axis-1": (lambda x: F.softmin(x, 1), lambda t, x: _tf(t).softmin(x, 1), (2, 3, 4), []),
    "softmin-0d": (lambda x: F.softmin(x, 0), lambda t, x: _tf(t).softmin(x, 0), (), []),
    "prelu-per-channel-1d": (F.prelu, lambda t, x, w: _tf(t).prelu(x, w), (2, 3, 5), [(3,)]),
    "prelu-per-channel-2d": (F.prelu, lambda t, x, w: _tf(t).prelu(x, w), (2, 3, 2, 2), [(3,)]),
    "prelu-one-weight": (F.prelu, lambda t, x, w: _tf(t).prelu(x, w), (2, 3, 4), [(1,)]),
    "prelu-2d-input": (F.prelu, lambda t, x, w: _tf(t).prelu(x, w), (4, 3), [(3,)]),
    "prelu-1d-input": (F.prelu, lambda t, x, w: _tf(t).prelu(x, w), (5,), [(1,)]),
    "prelu-0d-input": (F.prelu, lambda t, x, w: _tf(t).prelu(x, w), (), [(1,)]),
}


@pytest.mark.parametrize("name", sorted(SHAPED))
def test_axis_and_weight_ops_match_torch_to_second_order(device, torch, name):
    """Values, the gradients of input and weight, and the second derivatives of both
    (with respect to both: PReLU's mixed ones included; inputs are nonzero, see below)."""
    ours, theirs, shape, param_shapes = SHAPED[name]
    rng = named_rng(name)
    arrays = [rng.uniform(-3, 3, shape)] + [rng.uniform(-1, 1, p) for p in param_shapes]
    # nonzero: PReLU's mixed second derivatives at x == 0 are not PyTorch's (see below)
    arrays[0][np.abs(arrays[0]) < 0.05] = 0.5

    def run(lib, make, call):
        leaves = [make(a) for a in arrays]
        y = call(*leaves)
        first = lib.grad((y * y * y).sum(), leaves, create_graph=True)
        second = lib.grad(sum((f * f).sum() for f in first), leaves)
        return [y] + list(first) + list(second)

    got = run(ag, lambda a: ag.tensor(a, dtype=ag.float64, requires_grad=True), ours)
    expected = run(torch.autograd, lambda a: torch.tensor(a, requires_grad=True), lambda *a: theirs(torch, *a))
    for i, (o, t) in enumerate(zip(got, expected)):
        assert o.shape == tuple(t.shape), i
        np.testing.assert_allclose(o.numpy(), _to_numpy(t), rtol=1e-10, atol=1e-12, err_msg=str(i))
    leaves = [ag.tensor(a, dtype=ag.float64, requires_grad=True) for a in arrays]
    assert ag.gradcheck(ours, leaves) and ag.gradgradcheck(ours, leaves)


def test_softmin_casts_to_dtype_as_torch(device, torch):
    x = np.random.default_rng(3).standard_normal((3, 4))
    y = F.softmin(ag.tensor(x, dtype=ag.float64), axis=0, dtype=ag.float32)
    ref = torch.nn.functional.softmin(torch.tensor(x), dim=0, dtype=torch.float32)
    assert y.dtype == ag.float32
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_softmax_family_casts_an_integer_input_to_dtype_first_as_torch(device, torch, name):
    """``dtype=`` is cast to before the op, as PyTorch's: an integer input with a floating
    dtype works (it was refused as not floating point), and an integer dtype is refused
    (softmax gave float64 values that did not sum to 1, log_softmax NumPy's casting error)."""
    x = np.array([[1, -2, 3], [0, 5, -1]])
    for dtype in ("float64", "float32"):
        y = getattr(F, name)(ag.tensor(x), axis=1, dtype=dtype)
        ref = getattr(torch.nn.functional, name)(torch.tensor(x), dim=1, dtype=getattr(torch, dtype))
        assert y.dtype == dtype
        np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-6)
    for dtype in (ag.int64, "int32", ag.bool):
        with pytest.raises(TypeError, match=f"{name}: dtype must be a floating point type"):
            getattr(F, name)(ag.tensor(x, dtype=ag.float32), axis=1, dtype=dtype)


def test_prelu_layer_matches_torch_with_its_weight_gradient_and_state_dict(device, torch):
    """PReLU's weight: PyTorch's shape, init, state_dict key and gradient (0 where x is
    exactly 0, where x's gradient is the weight), per channel and shared."""
    x = np.random.default_rng(5).standard_normal((2, 3, 4))
    x[0, :, 0] = 0.0
    for args in ((), (3,), (3, -0.6)):
        ours = nn.PReLU(*args, dtype=ag.float64)
        theirs = torch.nn.PReLU(*args, dtype=torch.float64)
        assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
        assert ours.weight.shape == tuple(theirs.weight.shape)
        np.testing.assert_array_equal(ours.weight.numpy(), theirs.weight.detach().numpy())
        assert repr(ours) == repr(theirs)
        run_both(torch, ours, theirs, x)
    default = nn.PReLU()
    assert default.weight.dtype == ag.float32 and default.weight.requires_grad and default.init == 0.25
    default.weight.data[...] = 0.0  # reset_parameters puts init back
    default.reset_parameters()
    np.testing.assert_array_equal(default.weight.numpy(), [0.25])


def test_prelu_mixed_second_derivatives_at_zero_follow_its_first_derivative(device, torch):
    """At x == 0 exactly, x's gradient is the weight's (the negative branch), as in
    PyTorch; so here the mixed second derivatives d(dL/dx)/dw and d(dL/dw)/dx there are
    the negative branch's too. PyTorch's double backward takes the positive branch
    there (0), disagreeing with its own first derivative: that is not copied."""
    x = ag.tensor([0.0, -2.0, 3.0], dtype=ag.float64, requires_grad=True)
    w = ag.tensor([0.25], dtype=ag.float64, requires_grad=True)
    gx, gw = ag.grad(F.prelu(x, w).sum(), [x, w], create_graph=True)
    np.testing.assert_array_equal(gx.numpy(), [0.25, 0.25, 1.0])
    np.testing.assert_array_equal(gw.numpy(), [-2.0])
    np.testing.assert_array_equal(ag.grad(gx.sum(), [w], retain_graph=True)[0].numpy(), [2.0])
    np.testing.assert_array_equal(ag.grad(gw.sum(), [x], retain_graph=True)[0].numpy(), [1.0, 1.0, 0.0])
    np.testing.assert_array_equal(ag.grad(gx.sum(), [x])[0].numpy(), [0.0, 0.0, 0.0])


# name: (nn.functional's name, the layer's, the arguments before inplace)
INPLACE = {
    "silu": ("silu", "SiLU", ()), "mish": ("mish", "Mish", ()), "hardtanh": ("hardtanh", "Hardtanh", (-2.0, 3.0)),
    "relu6": ("relu6", "ReLU6", ()), "hardsigmoid": ("hardsigmoid", "Hardsigmoid", ()),
    "hardswish": ("hardswish", "Hardswish", ()), "selu": ("selu", "SELU", ()), "celu": ("celu", "CELU", (0.625,)),
    "threshold": ("threshold", "Threshold", (1.0, -4.0)),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_writes_over_its_input_as_torch(device, torch, name):
    """inplace=True (functional and layer) changes the input itself and returns it, with
    PyTorch's values and gradients (kinks included); the default leaves the input
    alone; a leaf that requires grad is refused; an op that saved the old values
    fails at backward, as in PyTorch."""
    function, layer, args = INPLACE[name]

    def call(h, inplace=True):
        return getattr(F, function)(h, *args, inplace=inplace)

    def theirs(h):
        return getattr(torch.nn.functional, function)(h, *args, inplace=True)

    values = np.linspace(-7.0, 7.0, 15)  # the integers: 0, +-3 and 6 among them
    for run in (call, lambda h: getattr(nn, layer)(*args, inplace=True)(h)):
        x = ag.tensor(values, dtype=ag.float64, requires_grad=True)
        h = x * 1
        assert run(h) is h
        (h * h).sum().backward()
        tx = torch.tensor(values, requires_grad=True)
        th = tx * 1
        theirs(th)
        (th * th).sum().backward()
        np.testing.assert_allclose(h.numpy(), _to_numpy(th), rtol=1e-12)
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=GRAD_RTOL.get(name, 1e-11))

    kept = ag.tensor(values, dtype=ag.float64, requires_grad=True) * 1
    for out in (call(kept, inplace=False), getattr(nn, layer)(*args)(kept)):
        assert out is not kept
        np.testing.assert_allclose(out.numpy(), h.numpy(), rtol=1e-15)
    np.testing.assert_array_equal(kept.numpy(), values)

    leaf = ag.tensor(values, dtype=ag.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        call(leaf)
    np.testing.assert_array_equal(leaf.numpy(), values)

    h = leaf * 1
    product = h * h  # keeps h for backward
    call(h)
    with pytest.raises(RuntimeError, match="modified in place"):
        product.sum().backward()
    th = torch.tensor(values, requires_grad=True) * 1
    t_product = th * th
    theirs(th)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        t_product.sum().backward()

    with ag.no_grad():  # nothing recorded: written in place, even over a view
        base = ag.tensor(values, dtype=ag.float64)
        view = base[2:9]
        assert call(view) is view
    np.testing.assert_array_equal(base.numpy()[2:9], call(ag.tensor(values[2:9], dtype=ag.float64)).numpy())
    np.testing.assert_array_equal(base.numpy()[:2], values[:2])


def test_inplace_on_a_recorded_view_writes_through_to_its_base_as_torch(device, torch):
    values = np.linspace(-4.0, 4.0, 6).reshape(2, 3)

    def run(lib, functional):
        x = lib.tensor(values, dtype=lib.float64, requires_grad=True)
        h, k = x * 1, x * 2
        t = h.T
        assert functional.hardtanh(t, -1.0, 2.0, inplace=True) is t
        row = k[1]
        assert functional.selu(row, inplace=True) is row
        ((h * h).sum() + (t * 2).sum() + (k * k).sum()).backward()
        return h, k, x.grad

    for ours, theirs in zip(run(ag, F), run(torch, torch.nn.functional)):
        np.testing.assert_allclose(ours.numpy(), _to_numpy(theirs), rtol=1e-13)


def test_layers_match_torch_in_repr_defaults_and_values(device, torch):
    tn = torch.nn
    pairs = [
        (nn.SiLU(), tn.SiLU()), (nn.SiLU(inplace=True), tn.SiLU(inplace=True)), (nn.Mish(True), tn.Mish(True)),
        (nn.Hardtanh(), tn.Hardtanh()), (nn.Hardtanh(-2, 3, True), tn.Hardtanh(-2, 3, True)),
        (nn.ReLU6(), tn.ReLU6()), (nn.ReLU6(True), tn.ReLU6(True)), (nn.Hardsigmoid(True), tn.Hardsigmoid(True)),
        (nn.Hardswish(), tn.Hardswish()), (nn.SELU(), tn.SELU()), (nn.SELU(True), tn.SELU(True)),
        (nn.CELU(), tn.CELU()), (nn.CELU(2.0, True), tn.CELU(2.0, True)),
        (nn.PReLU(3, dtype=ag.float64), tn.PReLU(3, dtype=torch.float64)),
        (nn.LogSigmoid(), tn.LogSigmoid()), (nn.Softsign(), tn.Softsign()), (nn.Tanhshrink(), tn.Tanhshrink()),
        (nn.Softmin(1), tn.Softmin(1)), (nn.Softmin(dim=-1), tn.Softmin(dim=-1)),
        (nn.Threshold(0.1, 20), tn.Threshold(0.1, 20)), (nn.Threshold(-0.5, 2.0, True), tn.Threshold(-0.5, 2.0, True)),
        (nn.GLU(), tn.GLU()), (nn.GLU(0), tn.GLU(0)), (nn.Hardshrink(), tn.Hardshrink()),
        (nn.Softshrink(0.3), tn.Softshrink(0.3)),
    ]
    x = np.random.default_rng(11).uniform(-5, 5, (2, 3, 6))
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        y = ours(ag.tensor(x, dtype=ag.float64) * 1)
        np.testing.assert_allclose(y.numpy(), _to_numpy(theirs(torch.tensor(x) * 1)), rtol=1e-12, atol=1e-300,
                                   err_msg=repr(ours))
    assert isinstance(nn.ReLU6(), nn.Hardtanh) and (nn.ReLU6().min_val, nn.ReLU6().max_val) == (0.0, 6.0)
    assert nn.Softmin().dim is None and nn.GLU().dim == -1 and nn.CELU().alpha == 1.0
    assert nn.Hardshrink().lambd == nn.Softshrink().lambd == 0.5
    with pytest.warns(FutureWarning) as caught:  # PyTorch's old argument names
        old = nn.Hardtanh(min_value=-0.5, max_value=0.5)
    assert [str(w.message).split("`")[1] for w in caught] == ["min_value", "max_value"]
    assert (old.min_val, old.max_val) == (-0.5, 0.5)


def test_softmin_layer_without_dim_warns_and_picks_torchs_dim(device, torch):
    x = np.random.default_rng(2).standard_normal((2, 3))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        y = nn.Softmin()(ag.tensor(x, dtype=ag.float64))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        ref = torch.nn.Softmin()(torch.tensor(x))
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["Softmax", "Softmin", "LogSoftmax"])
def test_a_softmax_layer_without_dim_asks_for_its_own_argument_dim(device, name):
    # The layers take dim=, the functional forms axis=: the layer's warning asked for axis=X,
    # which nn.Softmax(axis=1) refuses (TypeError), where PyTorch's and ours before said dim=X.
    with pytest.warns(UserWarning, match=r"include dim=X as an argument") as caught:
        getattr(nn, name)()(ag.ones(2, 3))
    assert len(caught) == 1
    functional = {"Softmax": F.softmax, "Softmin": F.softmin, "LogSoftmax": F.log_softmax}[name]
    with pytest.warns(UserWarning, match=r"include axis=X as an argument"):
        functional(ag.ones(2, 3))


def _zeros(*shape, dtype="float64"):
    return ag.zeros(shape, dtype=dtype)


# (ours, PyTorch's (None where it accepts the call), error, message). PyTorch raises
# RuntimeError for shapes and dtypes and AssertionError in Hardtanh; here they are
# ValueError and TypeError, as everywhere in topograd.
ERRORS = [
    (lambda: F.hardtanh(_zeros(2), 2.0, 1.0), lambda t: _tf(t).hardtanh(t.zeros(2), 2.0, 1.0),
     ValueError, "min_val cannot be greater than max_val"),
    (lambda: nn.Hardtanh(1.0, 1.0), lambda t: t.nn.Hardtanh(1.0, 1.0), ValueError, "must be greater than min_val"),
    (lambda: F.celu(_zeros(2), 0.0), lambda t: _tf(t).celu(t.zeros(2), 0.0), ValueError, "alpha cannot be 0"),
    (lambda: F.softshrink(_zeros(2), -0.5), lambda t: _tf(t).softshrink(t.zeros(2), -0.5), ValueError, "lambd"),
    (lambda: F.glu(_zeros(3, 3), 1), lambda t: _tf(t).glu(t.zeros(3, 3), 1), ValueError, "even length"),
    (lambda: F.glu(_zeros(), 0), lambda t: _tf(t).glu(t.zeros(()), 0), ValueError, "0-d"),
    (lambda: F.glu(_zeros(2, 4), 2), lambda t: _tf(t).glu(t.zeros(2, 4), 2), ValueError, "out of range"),
    (lambda: F.prelu(_zeros(2, 3), _zeros(2)), lambda t: _tf(t).prelu(t.zeros(2, 3), t.zeros(2)),
     ValueError, "2 values but the input of shape \\(2, 3\\) has 3 channels"),
    (lambda: F.prelu(_zeros(3), _zeros(3)), lambda t: _tf(t).prelu(t.zeros(3), t.zeros(3)),
     ValueError, "has 1 channels"),
    (lambda: F.prelu(_zeros(), _zeros(2)), lambda t: _tf(t).prelu(t.zeros(()), t.zeros(2)), ValueError, "0-d"),
    (lambda: F.prelu(_zeros(2, 3), _zeros(3, 1)), lambda t: _tf(t).prelu(t.zeros(2, 3), t.zeros(3, 1)),
     ValueError, "scalar or 1-D"),
    (lambda: F.prelu(_zeros(2, 3), _zeros(3, dtype="float32")),
     lambda t: _tf(t).prelu(t.zeros(2, 3, dtype=t.float64), t.zeros(3)), TypeError, "weight is float32"),
    (lambda: F.prelu(_zeros(2, 3), 0.25), lambda t: _tf(t).prelu(t.zeros(2, 3), 0.25), TypeError,
     "weight must be a Tensor"),
    (lambda: nn.PReLU(-1), lambda t: t.nn.PReLU(-1), ValueError, "num_parameters"),
    (lambda: F.silu(ag.tensor([1, 2])), lambda t: _tf(t).silu(t.tensor([1, 2])), TypeError, "floating point"),
    (lambda: F.hardtanh(_zeros(2), "a"), lambda t: _tf(t).hardtanh(t.zeros(2), "a"), TypeError, "real number"),
    (lambda: F.threshold(_zeros(2), None, 1.0), lambda t: _tf(t).threshold(t.zeros(2), None, 1.0), TypeError,
     "real number"),
]


@pytest.mark.parametrize("ours, theirs, error, message", ERRORS)
def test_bad_arguments_raise_clear_errors_where_torch_raises(device, torch, ours, theirs, error, message):
    assert_raises_where_torch_raises(torch, ours, theirs, error, message)


def test_a_rejected_inplace_call_leaves_its_input_unchanged(device):
    x = ag.tensor([-1.0, 2.0], dtype=ag.float64, requires_grad=True)
    h = x * 1
    for bad in (lambda: F.celu(h, 0.0, inplace=True), lambda: F.hardtanh(h, 1.0, -1.0, inplace=True),
                lambda: F.threshold(h, "a", 0.0, inplace=True)):
        with pytest.raises((ValueError, TypeError)):
            bad()
        np.testing.assert_array_equal(h.numpy(), [-1.0, 2.0])


# --- PReLU: one test, x > 0, for the value and both gradients -----------------------------------

@pytest.mark.filterwarnings("ignore:invalid value")  # -inf * 0 in the second derivatives, NaN in PyTorch too
@pytest.mark.parametrize("channels", [1, 3])
def test_prelu_at_nan_infinities_and_zeros_takes_torchs_branch(device, torch, channels):
    """PyTorch's prelu tests x > 0: at NaN x's gradient is the weight, the weight's is x
    (NaN), and d(dL/dx)/dw is 1. Ours was max(x, 0) + w min(x, 0), whose ReLU passes NaN
    and whose min stops it, so x's gradient at NaN was 1. The weight's gradient at +inf
    stays 0."""
    values = np.array([[np.nan, -np.inf, np.inf, 0.0, -0.0, -1.5, 2.0]] * 3).T.reshape(7, 3, 1) * np.ones((1, 1, 2))
    weights = np.array([0.25, -0.5, 2.0][:channels])
    incoming = named_rng(f"prelu nan {channels}").standard_normal(values.shape)

    def run(lib, x, w):
        y = lib.nn.functional.prelu(x, w) if lib is torch else F.prelu(x, w)
        gx, gw = (torch.autograd if lib is torch else ag).grad(y, [x, w], make(lib, incoming), create_graph=True)
        grad = torch.autograd.grad if lib is torch else ag.grad
        # d/dw of x's gradient (masked to x's finite, nonzero entries: PyTorch's double backward takes
        # the positive branch at 0 where its first derivative takes the weight's, see the README)
        mask = make(lib, np.isfinite(values) & (values != 0) | np.isnan(values))
        dgx_dw, = grad((gx * mask).sum(), [w], retain_graph=True)
        dgw_dx, = grad(gw.sum(), [x])
        return [y, gx, gw, dgx_dw, dgw_dx * mask]

    def make(lib, a):
        return torch.tensor(a, dtype=torch.float64) if lib is torch else ag.tensor(a, dtype=ag.float64)

    ours = run(ag, ag.tensor(values, requires_grad=True), ag.tensor(weights, requires_grad=True))
    theirs = run(torch, torch.tensor(values, requires_grad=True), torch.tensor(weights, requires_grad=True))
    for what, a, b in zip(["y", "grad x", "grad w", "d grad x / dw", "d grad w / dx"], ours, theirs):
        same_but_cuda_ulps(_to_numpy(a), _to_numpy(b), device, err_msg=what)


def test_prelu_gradient_stays_connected_to_x_for_higher_derivatives(device, torch):
    """x's gradient of a prelu whose weight is fixed is piecewise constant: its derivative
    in x is 0, as PyTorch's, and is there to take (not missing: ag.grad would raise)."""
    x = ag.tensor([-2.0, 0.0, 3.0, np.nan], dtype=ag.float64, requires_grad=True)
    g, = ag.grad(F.prelu(x, ag.tensor([0.25], dtype=ag.float64)).sum(), [x], create_graph=True)
    np.testing.assert_array_equal(g.numpy(), [0.25, 0.25, 1.0, 0.25])
    h, = ag.grad((g * g).sum(), [x])
    np.testing.assert_array_equal(h.numpy(), np.zeros(4))


def test_prelu_layer_at_nan_gives_torchs_gradients(device, torch):
    values = np.array([[np.nan, 1.0, -2.0], [0.5, np.nan, -0.0]]).T
    ours, theirs = nn.PReLU(2, 0.1, dtype=ag.float64), torch.nn.PReLU(2, 0.1, dtype=torch.float64)
    x, tx = ag.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    ours(x).sum().backward()
    theirs(tx).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_array_equal(ours.weight.grad.numpy(), theirs.weight.grad.numpy())


# --- GELU's overflows -----------------------------------------------------------------------------

@pytest.mark.parametrize("approximate", ["tanh", "none"])
def test_gelu_float16_is_computed_in_float32_as_torchs(torch, approximate):
    """The tanh form's x^3 overflows float16 from |x| = 41 and x^2 from 256; tanh is +-1
    there, so the gradient is 0 or 1, as PyTorch's (which computes float16 in float32).
    Ours was inf * 0 = NaN from |x| = 256: one large activation made every gradient NaN,
    and x * 2 overflowed the value at 60000."""
    values = np.array([-60000.0, -1000.0, -256.0, -41.0, -3.0, -0.5, 0.0, 0.5, 3.0, 41.0, 256.0, 1000.0, 60000.0],
                      dtype=np.float16)
    incoming = named_rng(f"gelu float16 {approximate}").standard_normal(values.shape).astype(np.float16)
    x = ag.tensor(values, requires_grad=True)
    y = F.gelu(x, approximate=approximate)
    y.backward(ag.tensor(incoming))
    tx = torch.tensor(values, requires_grad=True)
    ty = torch.nn.functional.gelu(tx, approximate=approximate)
    ty.backward(torch.tensor(incoming))
    assert y.dtype == x.grad.dtype == ag.float16
    # rounded once from float32, as PyTorch's, though its float32 steps differ: within a float16 ulp
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-3, atol=0)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-3, atol=1e-7)


# --- softmax's dim on a 0-d input ----------------------------------------------------------------

@pytest.mark.parametrize("layer", ["Softmax", "LogSoftmax", "Softmin"])
@pytest.mark.parametrize("dim", [0, -1])
def test_softmax_layers_on_a_0d_input_match_torch(torch, layer, dim):
    x = float(named_rng(f"0-d {layer} {dim}").standard_normal())
    ours, theirs = ag.tensor(x, dtype=ag.float64, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = getattr(nn, layer)(dim)(ours), getattr(torch.nn, layer)(dim)(theirs)
    assert out.shape == ()
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12)
    (out * 3.0).backward()
    (ref * 3.0).backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("layer, op", [("Softmax", "softmax"), ("LogSoftmax", "log_softmax"),
                                       ("Softmin", "softmin")])
@pytest.mark.parametrize("dim", [1, -2, 5])
def test_softmax_layers_refuse_an_out_of_range_dim_on_a_0d_input(torch, layer, op, dim):
    """A 0-d input skipped the dim check and came back as if dim were 0; PyTorch's range
    for it is [-1, 0], as for a 1-d input."""
    with pytest.raises(IndexError, match="Dimension out of range"):
        getattr(torch.nn, layer)(dim)(torch.tensor(0.5))
    with pytest.raises(ValueError, match=rf"^{op}: axis {dim} is out of range for a tensor with 0 dimensions"):
        getattr(nn, layer)(dim)(ag.tensor(0.5))
    with pytest.raises(ValueError, match=rf"^{op}: axis {dim} is out of range"):
        getattr(F, op)(ag.tensor(0.5), dim)


# --- leaky_relu's slope --------------------------------------------------------------------------
# A NumPy scalar argument (np.float32(0.2), np.int64(0): a config read with NumPy, a value from
# np.linspace) is made a Python number where it is checked: the Array API (the 'strict' device)
# combines arrays with Python numbers only.


def _close(ours, theirs, **tolerance):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **tolerance)


@pytest.mark.parametrize("slope", [np.float32(0.2), np.float64(-0.3)])
@pytest.mark.parametrize("form", ["functional", "inplace", "layer"])
def test_leaky_relu_takes_a_numpy_slope(device, torch, slope, form):
    """The slope went into the backend's arithmetic as given; a NumPy scalar failed on the
    strict device (as every other activation's checked hyperparameter did not)."""
    values = named_rng(f"leaky {form} {slope}").standard_normal((3, 4)).astype(np.float32)
    x = ag.tensor(values, requires_grad=True)
    xt = torch.tensor(values, requires_grad=True)
    if form == "functional":
        y = F.leaky_relu(x, slope)
    elif form == "inplace":
        y = F.leaky_relu(x * 1, slope, inplace=True)
    else:
        y = nn.LeakyReLU(slope)(x)
    yt = torch.nn.functional.leaky_relu(xt, float(slope))
    assert y.dtype == ag.float32
    _close(y, yt, rtol=1e-6)
    y.sum().backward()
    yt.sum().backward()
    _close(x.grad, xt.grad, rtol=1e-6)


def test_leaky_relu_refuses_a_slope_that_is_no_number(device):
    with pytest.raises(TypeError, match="leaky_relu: negative_slope must be a real number"):
        F.leaky_relu(ag.ones(3), "0.1")
