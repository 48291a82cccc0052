"""Tensor.norm as PyTorch's, with axis= and keepdims= as every reduction here: a number p
is the vector norm, 'fro' the 2-norm over all or over one or two axes, 'nuc' the nuclear
norm over two; and ag.linalg.norm as torch.linalg.norm and np.linalg.norm. Values, dtypes
and shapes, gradients, and the refusals."""
import numpy as np
import pytest

import autograd as ag


def _dtype_name(t):
    return str(t.dtype).replace("torch.", "")


X = np.arange(24.0).reshape(2, 3, 4) - 7.5


@pytest.mark.parametrize("args, kwargs", [
    ((), {}), ((), {"keepdim": True}), ((1,), {}), ((1,), {"keepdim": True}), ((), {"dim": 1}),
    ((2, -1, True), {}), (("fro", (0, 1)), {}), (("fro", 2), {}), (("nuc", (1, 2)), {}), (("nuc", (0, 2), True), {}),
    ((float("inf"), 2), {}), ((float("-inf"),), {}), ((0,), {}), ((3, (0, 2)), {}), ((-1, 1), {}), ((2, [0, 1]), {}),
    ((2.5,), {}), ((), {"dtype": "float64"}),
], ids=lambda v: repr(v))
def test_norm_is_pytorchs(device, torch, args, kwargs):
    ours_kwargs = {{"dim": "axis", "keepdim": "keepdims"}.get(k, k): v for k, v in kwargs.items()}
    theirs_kwargs = dict(kwargs)
    if "dtype" in kwargs:
        ours_kwargs["dtype"], theirs_kwargs["dtype"] = ag.float64, torch.float64
    y = ag.tensor(X, dtype="float32").norm(*args, **ours_kwargs)
    ref = torch.tensor(X, dtype=torch.float32).norm(*args, **theirs_kwargs)
    assert y.shape == tuple(ref.shape) and _dtype_name(y) == _dtype_name(ref)
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=2e-6)


@pytest.mark.parametrize("p, axis", [("fro", None), (2, 1), (1, (0, 2)), ("nuc", (1, 2)), (3, None)])
def test_norm_gradients_to_second_order(device, p, axis):
    # (random: the arange's matrices have rank 2, where the nuclear norm has no derivative)
    x = ag.tensor(np.random.default_rng(3).normal(size=(2, 3, 4)), dtype="float64", requires_grad=True)
    assert ag.gradcheck(lambda t: t.norm(p, axis), [x])
    assert ag.gradgradcheck(lambda t: t.norm(p, axis), [x])


@pytest.mark.parametrize("args, message", [
    (("fro", (0, 1, 2)), "p='fro' takes one or two axes"),
    (("nuc",), "p='nuc' takes exactly two axes"),
    (("foo",), "p='foo' is not supported"),
])
def test_norm_refuses_where_pytorch_refuses(device, torch, args, message):
    with pytest.raises(ValueError, match=message):
        ag.tensor(X).norm(*args)
    with pytest.raises(RuntimeError):
        torch.tensor(X).norm(*args)


# --- ag.linalg.norm, as torch.linalg.norm and np.linalg.norm ------------------------------------------
@pytest.mark.parametrize("shape, args, kwargs", [
    ((2, 3, 4), (), {}), ((2, 3, 4), (), {"keepdim": True}), ((3, 4), (1,), {}), ((3, 4), (float("-inf"),), {}),
    ((3, 4), ("nuc",), {}), ((4,), (1,), {}), ((4,), (0,), {}), ((2, 3, 4), (), {"dim": 1}),
    ((2, 3, 4), (1, (2, 0)), {}), ((2, 3, 4), (1, (2, 0), True), {}), ((2, 3, 4), (float("inf"), (0, -1)), {}),
    ((2, 3, 4), (-2, (1, 2)), {}), ((2, 3, 4), (float("inf"), 1), {}), ((2, 3, 4), (3, -1, True), {}),
    ((2, 3, 4), ("fro", (0, 1)), {}),
], ids=lambda v: repr(v))
def test_linalg_norm_is_pytorchs_and_numpys(device, torch, shape, args, kwargs):
    x0 = np.random.default_rng(5).normal(size=shape)
    ours_kwargs = {{"dim": "axis", "keepdim": "keepdims"}[k]: v for k, v in kwargs.items()}
    y = ag.linalg.norm(ag.tensor(x0), *args, **ours_kwargs)
    ref = torch.linalg.norm(torch.tensor(x0), *args, **kwargs)
    assert y.shape == tuple(ref.shape) and y.dtype == ag.float64
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-12)
    np.testing.assert_allclose(y.numpy(), np.linalg.norm(x0, *args, **ours_kwargs), rtol=1e-12)


@pytest.mark.parametrize("ord, axis", [(None, None), (1, (2, 0)), ("nuc", (1, 2)), (3, 1), (float("inf"), (0, 1))])
def test_linalg_norm_gradients_to_second_order(device, ord, axis):
    x = ag.tensor(np.random.default_rng(6).normal(size=(2, 3, 4)), dtype="float64", requires_grad=True)
    assert ag.gradcheck(lambda t: ag.linalg.norm(t, ord, axis), [x])
    assert ag.gradgradcheck(lambda t: ag.linalg.norm(t, ord, axis), [x])
