"""lerp, addcmul and addcdiv (functions, methods and in-place methods) as PyTorch's: values
in float64, float32 and float16 (worked in float32, rounded once), broadcasting, both of
lerp's formulas, gradients of the first and second order, and the refusals."""
import numpy as np
import pytest

import autograd as ag

RNG = np.random.default_rng(7)
START = RNG.normal(size=(3, 4))
END = RNG.normal(size=(3, 4))
WEIGHTS = RNG.uniform(-0.5, 1.5, size=(3, 4))
T1 = RNG.normal(size=(1, 4))
T2 = RNG.uniform(0.5, 2.0, size=(3, 1))


def _pair(torch, array, dtype):
    return ag.tensor(array.astype(dtype)), torch.tensor(array.astype(dtype))


CALLS = {
    "lerp, weight below 0.5": lambda m, s, e, w, a, b: m.lerp(s, e, 0.25),
    "lerp, weight above 0.5": lambda m, s, e, w, a, b: m.lerp(s, e, 0.75),
    "lerp, weight 1 gives end": lambda m, s, e, w, a, b: m.lerp(s, e, 1.0),
    "lerp, weight tensor": lambda m, s, e, w, a, b: s.lerp(e, w),
    "lerp_, weight tensor": lambda m, s, e, w, a, b: s.clone().lerp_(e, w),
    "lerp_, broadcast end": lambda m, s, e, w, a, b: s.clone().lerp_(a, 0.3),
    "addcmul": lambda m, s, e, w, a, b: m.addcmul(s, a, b),
    "addcmul, value": lambda m, s, e, w, a, b: s.addcmul(a, b, value=-0.5),
    "addcmul_": lambda m, s, e, w, a, b: s.clone().addcmul_(e, e, value=0.1),
    "addcdiv": lambda m, s, e, w, a, b: m.addcdiv(s, a, b),
    "addcdiv, value": lambda m, s, e, w, a, b: s.addcdiv(a, b, value=3),
    "addcdiv_": lambda m, s, e, w, a, b: s.clone().addcdiv_(e, b, value=-2),
}


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
@pytest.mark.parametrize("call", CALLS)
def test_values_are_pytorchs(device, torch, call, dtype):
    if device == "strict" and dtype == "float16":
        pytest.skip("the Array API standard has no float16")
    ours = [ag.tensor(v.astype(dtype)) for v in (START, END, WEIGHTS, T1, T2)]
    theirs = [torch.tensor(v.astype(dtype)) for v in (START, END, WEIGHTS, T1, T2)]
    y, ref = CALLS[call](ag, *ours), CALLS[call](torch, *theirs)
    assert str(y.dtype) == str(ref.dtype).replace("torch.", "")
    exact = dtype == "float16" or "lerp" in call and "1 gives" in call
    rtol = 0 if exact else 1e-15 if dtype == "float64" else 1e-6
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=rtol, atol=0 if exact else rtol)
    if "1 gives" in call:
        np.testing.assert_array_equal(y.numpy(), END.astype(dtype))


@pytest.mark.parametrize("fn", [
    lambda s, e, w: ag.lerp(s, e, w),
    lambda s, e, w: ag.lerp(s, e, 0.3) + ag.lerp(s, e, 0.8),
    lambda s, e, w: ag.addcmul(s, e, w, value=0.7),
    lambda s, e, w: ag.addcdiv(s, e, w + 3, value=-1.5),
], ids=["lerp", "lerp scalar weights", "addcmul", "addcdiv"])
def test_gradients_to_second_order(device, fn):
    leaves = [ag.tensor(v, dtype="float64", requires_grad=True) for v in (START, END, WEIGHTS)]
    assert ag.gradcheck(fn, leaves)
    assert ag.gradgradcheck(fn, leaves)


def test_gradients_are_pytorchs(device, torch):
    ours = [ag.tensor(v, dtype="float64", requires_grad=True) for v in (START, END, WEIGHTS)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (START, END, WEIGHTS)]
    for lib, (s, e, w) in ((ag, ours), (torch, theirs)):
        (lib.lerp(s, e, w) * 2 + s.addcmul(e, w, value=3) + s.addcdiv(e, w + 3)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-14)


def test_a_fractional_value_with_integer_tensors_is_refused(device, torch):
    """A deliberate difference: PyTorch's truncates value=0.5 to 0, adding nothing."""
    ints = np.arange(4)
    with pytest.raises(TypeError, match="value=0.5 is not an integer"):
        ag.addcmul(ag.tensor(ints), ag.tensor(ints), ag.tensor(ints), value=0.5)
    t = torch.tensor(ints)
    assert torch.equal(torch.addcmul(t, t, t, value=0.5), t)


def test_in_place_forms_record_and_differentiate(device):
    end = ag.tensor(END, dtype="float64", requires_grad=True)
    ema = ag.tensor(START, dtype="float64")
    ema.lerp_(end, 0.1)
    ema.sum().backward()
    np.testing.assert_allclose(end.grad.numpy(), np.full(END.shape, 0.1))


REFUSED = {
    "lerp of integers": (lambda m, s, i: m.lerp(i, i, 0.5), TypeError, "floating tensors"),
    "addcdiv of integers": (lambda m, s, i: m.addcdiv(s, i, i), TypeError, "integer division"),
    "addcmul with a number": (lambda m, s, i: m.addcmul(s, s, 2.0), TypeError, "must be a Tensor"),
    "addcmul_ that would broadcast the tensor": (
        lambda m, s, i: s[0].clone().addcmul_(s[:, :1], s[0]), ValueError, "shape"),
    "lerp_ into an integer tensor": (lambda m, s, i: i.clone().lerp_(i, 0.5), TypeError, "int64"),
    "addcdiv_ into an integer tensor": (lambda m, s, i: i.clone().addcdiv_(s, s), TypeError, "int64"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refused_where_pytorch_refuses(device, torch, case):
    make, error, message = REFUSED[case]
    s = ag.tensor(START)
    before = s.numpy().copy()
    with pytest.raises(error, match=message):
        make(ag, s, ag.tensor(np.arange(12).reshape(3, 4)))
    np.testing.assert_array_equal(s.numpy(), before)
    with pytest.raises((RuntimeError, TypeError, NotImplementedError)):
        make(torch, torch.tensor(START), torch.arange(12).reshape(3, 4))
