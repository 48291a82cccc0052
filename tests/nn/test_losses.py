"""Losses, as functions and as modules, against PyTorch in float64 (values and
gradients for every reduction), their numerical stability at extreme inputs, and
gradcheck/gradgradcheck of the fused cross-entropy on every backend."""

import math
import re
import warnings

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from tests.autograd.torch_pairs import same_but_cuda_ulps

from .torch_compare import assert_gradcheck_and_gradgradcheck, assert_raises_where_torch_raises, named_rng

REDUCTIONS = ("mean", "sum", "none")
CLASS_WEIGHT = np.array([0.5, 2.0, 1.0, 3.0])
ELEMENT_WEIGHT = np.linspace(0.1, 2.0, 12).reshape(3, 4)


def _f64(a, requires_grad=True):
    return ag.tensor(np.asarray(a, dtype=np.float64), dtype=ag.float64, requires_grad=requires_grad)


def _check(torch, ours, theirs, x, target, rtol=1e-10, atol=1e-12):
    """Loss values and input gradients agree; the target is an int or float array."""
    xo = _f64(x)
    xt = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    to = ag.tensor(target) if target.dtype.kind in "iu" else _f64(target, False)
    tt = torch.from_numpy(target)
    out, ref = ours(xo, to), theirs(xt, tt)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=rtol, atol=atol)
    r = np.random.default_rng(1).standard_normal(ref.shape)
    out.backward(ag.tensor(r, dtype=ag.float64))
    ref.backward(torch.from_numpy(r))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=rtol, atol=atol)


# name: (ours(x, target, reduction), theirs(torch, x, target, reduction), data(rng) -> (x, target))
ROWS = {
    "cross_entropy": (lambda x, t, r: F.cross_entropy(x, t, reduction=r),
                      lambda T, x, t, r: T.nn.functional.cross_entropy(x, t, reduction=r),
                      lambda rng: (rng.standard_normal((5, 4)), rng.integers(0, 4, 5))),
    "cross_entropy-weight": (
        lambda x, t, r: F.cross_entropy(x, t, weight=_f64(CLASS_WEIGHT, False), reduction=r),
        lambda T, x, t, r: T.nn.functional.cross_entropy(x, t, weight=T.from_numpy(CLASS_WEIGHT), reduction=r),
        lambda rng: (rng.standard_normal((6, 4)), rng.integers(0, 4, 6))),
    "cross_entropy-ignore_index": (
        lambda x, t, r: F.cross_entropy(x, t, ignore_index=2, reduction=r),
        lambda T, x, t, r: T.nn.functional.cross_entropy(x, t, ignore_index=2, reduction=r),
        lambda rng: (rng.standard_normal((6, 4)), np.array([0, 2, 1, 2, 3, 0]))),
    "cross_entropy-smoothing": (
        lambda x, t, r: F.cross_entropy(x, t, label_smoothing=0.2, reduction=r),
        lambda T, x, t, r: T.nn.functional.cross_entropy(x, t, label_smoothing=0.2, reduction=r),
        lambda rng: (rng.standard_normal((5, 4)), rng.integers(0, 4, 5))),
    "cross_entropy-weight-ignore-smoothing": (
        lambda x, t, r: F.cross_entropy(x, t, weight=_f64(CLASS_WEIGHT, False), ignore_index=-100,
                                        label_smoothing=0.3, reduction=r),
        lambda T, x, t, r: T.nn.functional.cross_entropy(x, t, weight=T.from_numpy(CLASS_WEIGHT), ignore_index=-100,
                                                         label_smoothing=0.3, reduction=r),
        lambda rng: (rng.standard_normal((6, 4)), np.array([1, -100, 3, 0, -100, 3]))),
    "cross_entropy-spatial": (
        lambda x, t, r: F.cross_entropy(x, t, weight=_f64(CLASS_WEIGHT, False), ignore_index=0, reduction=r),
        lambda T, x, t, r: T.nn.functional.cross_entropy(x, t, weight=T.from_numpy(CLASS_WEIGHT), ignore_index=0,
                                                         reduction=r),
        lambda rng: (rng.standard_normal((2, 4, 3, 2)), rng.integers(0, 4, (2, 3, 2)))),
    "cross_entropy-unbatched": (lambda x, t, r: F.cross_entropy(x, t, reduction=r),
                                lambda T, x, t, r: T.nn.functional.cross_entropy(x, t, reduction=r),
                                lambda rng: (rng.standard_normal(5), np.array(3))),
    "cross_entropy-probabilities": (
        lambda x, t, r: F.cross_entropy(x, t, weight=_f64(CLASS_WEIGHT, False), label_smoothing=0.1, reduction=r),
        lambda T, x, t, r: T.nn.functional.cross_entropy(x, t, weight=T.from_numpy(CLASS_WEIGHT),
                                                         label_smoothing=0.1, reduction=r),
        lambda rng: (rng.standard_normal((3, 4)), rng.dirichlet(np.ones(4), 3))),
    "cross_entropy-huge-logits": (lambda x, t, r: F.cross_entropy(x, t, reduction=r),
                                  lambda T, x, t, r: T.nn.functional.cross_entropy(x, t, reduction=r),
                                  lambda rng: (np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [1e4, 1e4, -1e4]]),
                                               np.array([1, 1, 2]))),
    "nll_loss": (lambda x, t, r: F.nll_loss(x, t, reduction=r),
                 lambda T, x, t, r: T.nn.functional.nll_loss(x, t, reduction=r),
                 lambda rng: (rng.standard_normal((5, 4)), rng.integers(0, 4, 5))),
    "nll_loss-weight-ignore": (
        lambda x, t, r: F.nll_loss(x, t, weight=_f64(CLASS_WEIGHT, False), ignore_index=1, reduction=r),
        lambda T, x, t, r: T.nn.functional.nll_loss(x, t, weight=T.from_numpy(CLASS_WEIGHT), ignore_index=1,
                                                    reduction=r),
        lambda rng: (rng.standard_normal((6, 4)), np.array([1, 0, 3, 1, 2, 2]))),
    "nll_loss-spatial": (lambda x, t, r: F.nll_loss(x, t, reduction=r),
                         lambda T, x, t, r: T.nn.functional.nll_loss(x, t, reduction=r),
                         lambda rng: (rng.standard_normal((2, 3, 4)), rng.integers(0, 3, (2, 4)))),
    "mse_loss": (lambda x, t, r: F.mse_loss(x, t, reduction=r),
                 lambda T, x, t, r: T.nn.functional.mse_loss(x, t, reduction=r),
                 lambda rng: (rng.standard_normal((3, 4)), rng.standard_normal((3, 4)))),
    "l1_loss": (lambda x, t, r: F.l1_loss(x, t, reduction=r),
                lambda T, x, t, r: T.nn.functional.l1_loss(x, t, reduction=r),
                lambda rng: (rng.standard_normal((3, 4)), rng.standard_normal((3, 4)))),
    "huber_loss": (lambda x, t, r: F.huber_loss(x, t, reduction=r, delta=0.7),
                   lambda T, x, t, r: T.nn.functional.huber_loss(x, t, reduction=r, delta=0.7),
                   lambda rng: (rng.standard_normal((4, 5)) * 2, rng.standard_normal((4, 5)))),
    "mse_loss-weight": (lambda x, t, r: F.mse_loss(x, t, reduction=r, weight=_f64(ELEMENT_WEIGHT, False)),
                        lambda T, x, t, r: T.nn.functional.mse_loss(x, t, reduction=r,
                                                                    weight=T.from_numpy(ELEMENT_WEIGHT)),
                        lambda rng: (rng.standard_normal((3, 4)), rng.standard_normal((3, 4)))),
    "l1_loss-weight": (lambda x, t, r: F.l1_loss(x, t, reduction=r, weight=_f64(ELEMENT_WEIGHT, False)),
                       lambda T, x, t, r: T.nn.functional.l1_loss(x, t, reduction=r,
                                                                  weight=T.from_numpy(ELEMENT_WEIGHT)),
                       lambda rng: (rng.standard_normal((3, 4)), rng.standard_normal((3, 4)))),
    "huber_loss-weight": (lambda x, t, r: F.huber_loss(x, t, reduction=r, weight=_f64(ELEMENT_WEIGHT, False)),
                          lambda T, x, t, r: T.nn.functional.huber_loss(x, t, reduction=r,
                                                                        weight=T.from_numpy(ELEMENT_WEIGHT)),
                          lambda rng: (rng.standard_normal((3, 4)) * 2, rng.standard_normal((3, 4)))),
    "binary_cross_entropy": (lambda x, t, r: F.binary_cross_entropy(x, t, reduction=r),
                             lambda T, x, t, r: T.nn.functional.binary_cross_entropy(x, t, reduction=r),
                             lambda rng: (rng.uniform(0.05, 0.95, (3, 4)), rng.uniform(0, 1, (3, 4)))),
    "binary_cross_entropy-weight-edges": (
        lambda x, t, r: F.binary_cross_entropy(x, t, weight=_f64([1.0, 2.0, 0.5], False), reduction=r),
        lambda T, x, t, r: T.nn.functional.binary_cross_entropy(x, t, weight=T.tensor([1.0, 2.0, 0.5],
                                                                                       dtype=T.float64), reduction=r),
        lambda rng: (np.array([[0.0, 1.0, 0.3], [1e-50, 1 - 1e-17, 0.5]]), np.array([[1.0, 0.0, 1.0], [1.0, 0.0, 0.2]]))),
    "binary_cross_entropy_with_logits": (
        lambda x, t, r: F.binary_cross_entropy_with_logits(x, t, reduction=r),
        lambda T, x, t, r: T.nn.functional.binary_cross_entropy_with_logits(x, t, reduction=r),
        lambda rng: (np.concatenate([rng.standard_normal(6) * 3, [0.0, 1e3, -1e3]]), rng.uniform(0, 1, 9))),
    "binary_cross_entropy_with_logits-weights": (
        lambda x, t, r: F.binary_cross_entropy_with_logits(x, t, weight=_f64([[2.0], [0.5]], False), reduction=r,
                                                            pos_weight=_f64([1.0, 3.0, 0.2], False)),
        lambda T, x, t, r: T.nn.functional.binary_cross_entropy_with_logits(
            x, t, weight=T.tensor([[2.0], [0.5]], dtype=T.float64), reduction=r,
            pos_weight=T.tensor([1.0, 3.0, 0.2], dtype=T.float64)),
        lambda rng: (np.array([[0.0, 40.0, -3.0], [-50.0, 0.7, 2.0]]), rng.uniform(0, 1, (2, 3)))),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", sorted(ROWS))
def test_loss_matches_torch(torch, name, reduction):
    ours, theirs, data = ROWS[name]
    x, target = data(named_rng(name))
    _check(torch, lambda a, b: ours(a, b, reduction), lambda a, b: theirs(torch, a, b, reduction), x, target)


def test_cross_entropy_of_huge_logits_is_finite():
    x = _f64([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4]])
    loss = F.cross_entropy(x, ag.tensor([1, 1]))
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(x.grad.numpy()).all()
    np.testing.assert_allclose(loss.item(), 1e4)  # (2e4 + 0) / 2
    np.testing.assert_allclose(x.grad.numpy(), [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]], atol=1e-12)
    x32 = ag.tensor([[1e4, -1e4], [-1e4, 1e4]], requires_grad=True)
    loss32 = F.cross_entropy(x32, ag.tensor([1, 0]), label_smoothing=0.1)
    loss32.backward()
    assert loss32.dtype == ag.float32 and np.isfinite(loss32.item()) and np.isfinite(x32.grad.numpy()).all()


def test_cross_entropy_all_ignored_is_nan_like_torch(torch):
    x = _f64(np.zeros((2, 3)))
    with np.errstate(invalid="ignore", divide="ignore"):
        loss = F.cross_entropy(x, ag.tensor([-100, -100]))
    ref = torch.nn.functional.cross_entropy(torch.zeros(2, 3, dtype=torch.float64), torch.tensor([-100, -100]))
    assert np.isnan(loss.item()) and torch.isnan(ref)
    assert F.cross_entropy(x, ag.tensor([-100, -100]), reduction="sum").item() == 0


def test_legacy_size_average_and_reduce(torch):
    rng = named_rng("legacy")
    x, t = rng.standard_normal((4, 3)), rng.integers(0, 3, 4)
    for size_average, reduce, expected in ((False, None, "sum"), (None, False, "none"), (True, True, "mean")):
        got = F.nll_loss(_f64(x), ag.tensor(t), size_average=size_average, reduce=reduce)
        want = F.nll_loss(_f64(x), ag.tensor(t), reduction=expected)
        np.testing.assert_allclose(got.numpy(), want.numpy())


def test_loss_modules_match_functional_and_torch(torch):
    rng = named_rng("modules")
    x, t = rng.standard_normal((4, 4)), rng.integers(0, 4, 4)
    p, q = rng.uniform(0.1, 0.9, (4, 4)), rng.uniform(0, 1, (4, 4))
    w = ag.tensor(CLASS_WEIGHT, dtype=ag.float64)
    tw = torch.from_numpy(CLASS_WEIGHT)
    cases = [
        (nn.CrossEntropyLoss(weight=w, ignore_index=3, label_smoothing=0.1),
         torch.nn.CrossEntropyLoss(weight=tw, ignore_index=3, label_smoothing=0.1), x, t),
        (nn.NLLLoss(weight=w, reduction="sum"), torch.nn.NLLLoss(weight=tw, reduction="sum"), x, t),
        (nn.MSELoss(reduction="none"), torch.nn.MSELoss(reduction="none"), x, q),
        (nn.L1Loss(), torch.nn.L1Loss(), x, q),
        (nn.HuberLoss(delta=0.5), torch.nn.HuberLoss(delta=0.5), x, q),
        (nn.BCELoss(weight=ag.tensor([1.0, 2.0, 3.0, 4.0], dtype=ag.float64)),
         torch.nn.BCELoss(weight=torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)), p, q),
        (nn.BCEWithLogitsLoss(pos_weight=ag.tensor([2.0, 1.0, 0.5, 1.0], dtype=ag.float64)),
         torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor([2.0, 1.0, 0.5, 1.0], dtype=torch.float64)), x, q),
    ]
    for ours, theirs, inp, target in cases:
        _check(torch, ours, theirs, inp, target)
        assert list(ours.state_dict()) == list(theirs.state_dict())  # weight / pos_weight are buffers
        assert repr(ours) == repr(theirs)


def test_loss_modules_move_their_weights_with_to():
    loss = nn.CrossEntropyLoss(weight=ag.tensor([1.0, 2.0]))
    loss.to(dtype=ag.float64)
    assert loss.weight.dtype == ag.float64
    assert F.cross_entropy(_f64([[0.1, 0.2]]), ag.tensor([1]), weight=loss.weight).dtype == ag.float64


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.cross_entropy(ag.ones(2, 3), ag.tensor([0, 3])), ValueError, "target 3 is out of bounds"),
    (lambda: F.cross_entropy(ag.ones(2, 3), ag.tensor([-1, 0])), ValueError, "target -1 is out of bounds"),
    (lambda: F.cross_entropy(ag.ones(2, 3), ag.tensor([0, 1, 2])), ValueError, r"target of shape \(2,\)"),
    (lambda: F.cross_entropy(ag.ones(2, 3), ag.ones(2, 2)), ValueError, "probability targets"),
    (lambda: F.cross_entropy(ag.ones(2, 3), ag.tensor([0, 1]), weight=ag.ones(2)), ValueError, "one value per class"),
    (lambda: F.cross_entropy(ag.ones(2, 3), ag.tensor([0, 1]), reduction="avg"), ValueError, "reduction"),
    (lambda: F.cross_entropy(ag.ones(2, 3), ag.tensor([0, 1]), label_smoothing=1.5), ValueError, "label_smoothing"),
    (lambda: F.cross_entropy(ag.tensor([[1, 2]]), ag.tensor([0])), TypeError, "floating point"),
    (lambda: F.nll_loss(ag.ones(2, 3), ag.tensor([0.0, 1.0])), TypeError, "must be integers"),
    (lambda: F.mse_loss(ag.ones(2, 1), ag.ones(2)), ValueError, "must match"),
    (lambda: F.binary_cross_entropy(ag.tensor([0.5, 1.5]), ag.tensor([0.0, 1.0])), ValueError, "probabilities"),
    (lambda: F.huber_loss(ag.ones(2), ag.ones(2), delta=0), ValueError, "delta"),
])
def test_bad_loss_arguments_raise_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --- finite differences, on every backend ---------------------------------------------------------
GRADCHECK_ROWS = {
    "cross_entropy": lambda x: F.cross_entropy(x, ag.tensor([0, 2, 1])),
    "cross_entropy-weight-ignore-smoothing": lambda x: F.cross_entropy(
        x, ag.tensor([0, -100, 3]), weight=_f64(CLASS_WEIGHT, False), label_smoothing=0.2),
    "cross_entropy-none-smoothing": lambda x: F.cross_entropy(x, ag.tensor([3, 1, 0]), reduction="none",
                                                              label_smoothing=0.1),
    "cross_entropy-sum-weight": lambda x: F.cross_entropy(x, ag.tensor([3, 1, 1]), reduction="sum",
                                                          weight=_f64(CLASS_WEIGHT, False)),
    "nll_loss": lambda x: F.nll_loss(F.log_softmax(x, axis=1), ag.tensor([1, 2, 1]), ignore_index=2),
    "binary_cross_entropy_with_logits": lambda x: F.binary_cross_entropy_with_logits(
        x, _f64(np.linspace(0, 1, 12).reshape(3, 4), False), pos_weight=_f64([1.0, 2.0, 0.5, 3.0], False)),
    "huber_loss": lambda x: F.huber_loss(x, _f64(np.zeros((3, 4)), False), delta=0.5),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK_ROWS))
def test_loss_gradcheck(device, name):
    x = _f64(named_rng(name).standard_normal((3, 4)) * 1.5)
    assert ag.gradcheck(GRADCHECK_ROWS[name], [x])
    assert ag.gradgradcheck(GRADCHECK_ROWS[name], [x])


def test_binary_cross_entropy_target_gradient(torch):
    p, t = np.array([0.2, 0.7, 0.4]), np.array([0.3, 0.9, 0.5])
    po, to = _f64(p), _f64(t)
    pt, tt = torch.tensor(p, requires_grad=True), torch.tensor(t, requires_grad=True)
    F.binary_cross_entropy(po, to).backward()
    torch.nn.functional.binary_cross_entropy(pt, tt).backward()
    np.testing.assert_allclose(to.grad.numpy(), tt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(po.grad.numpy(), pt.grad.numpy(), rtol=1e-12)
    # At p = 0 the loss is clamped (log 0 -> -100): the target's gradient is that
    # clamped loss's slope, 100, where PyTorch's is inf.
    t0 = _f64([0.5])
    F.binary_cross_entropy(_f64([0.0]), t0).backward()
    np.testing.assert_allclose(t0.grad.numpy(), [100.0])


@pytest.mark.parametrize("weighted, ignore, smoothing, reduction", [
    (False, False, 0.0, "mean"), (True, True, 0.0, "mean"), (True, False, 0.2, "sum"),
    (False, True, 0.2, "none"), (True, True, 0.2, "mean")])
def test_cross_entropy_backward_is_the_same_whether_recorded_or_not(weighted, ignore, smoothing, reduction,
                                                                     device):
    """CrossEntropy.backward evaluates one formula on bare arrays (create_graph=False)
    and on Tensors (create_graph=True): both give one gradient, and it matches the
    gradient worked out by hand from the softmax."""
    rng = np.random.default_rng(22)
    z0 = rng.standard_normal((6, 5))
    t0 = rng.integers(0, 5, 6)
    if ignore:
        t0[[1, 4]] = -100
    w0 = rng.random(5) + 0.5 if weighted else None
    g0 = rng.standard_normal(6)
    grads = []
    for create_graph in (False, True):
        z = ag.tensor(z0, requires_grad=True)
        w = ag.tensor(w0) if weighted else None
        loss = F.cross_entropy(z, ag.tensor(t0), weight=w, label_smoothing=smoothing, reduction=reduction)
        seed = [ag.tensor(g0)] if reduction == "none" else None
        gz, = ag.grad(loss, [z], grad_outputs=seed, create_graph=create_graph)
        grads.append(gz.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12, atol=1e-14)
    # the reference: d/dz of sum_rows g_r * rowloss_r, rowloss from log-softmax by hand
    p = np.exp(z0 - z0.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    w = np.ones(5) if w0 is None else w0
    keep = (t0 != -100).astype(float)
    safe = np.where(t0 == -100, 0, t0)
    onehot = np.eye(5)[safe]
    target = (1 - smoothing) * onehot * w[safe][:, None] + smoothing / 5 * w  # d(rowloss)/d(-log p)
    row_grad = (target.sum(1, keepdims=True) * p - target) * keep[:, None]
    if reduction == "none":
        row_grad *= g0[:, None]
    elif reduction == "mean":
        row_grad /= (w[safe] * keep).sum()
    np.testing.assert_allclose(grads[0], row_grad, rtol=1e-10, atol=1e-12)


# --- gaussian_nll_loss in float16: the divisor's gradient of a / b at a = 0, where gy / b overflows ---
@pytest.mark.filterwarnings("ignore:overflow")
def test_gaussian_nll_loss_float16_variance_gradient_at_a_perfect_prediction_is_torchs(torch):
    """var clamped to eps = 1e-6: 0.5 / var overflows float16 to inf, as PyTorch's; the
    squared error's term is 0 there, not inf * 0 = NaN."""
    mean = np.array([0.0, 0.5, 1.0], dtype=np.float16)
    var = np.array([0.0, 1.0, 2.0], dtype=np.float16)
    xv = ag.tensor(var, requires_grad=True)
    (gv,) = ag.grad(F.gaussian_nll_loss(ag.tensor(mean), ag.tensor(mean), xv, reduction="sum"), [xv])
    tv = torch.tensor(var, requires_grad=True)
    (ref,) = torch.autograd.grad(torch.nn.functional.gaussian_nll_loss(
        torch.tensor(mean), torch.tensor(mean), tv, reduction="sum"), [tv])
    np.testing.assert_array_equal(gv.numpy(), ref.numpy())  # [inf, 0.5, 0.25]


# --- targets of the wrong kind: BCE's outside [0, 1], cross_entropy's class labels stored as floats

def test_binary_cross_entropy_refuses_targets_outside_0_1(device, torch):
    """Class labels 0..K passed to BCE: PyTorch raises 'all elements of target should be
    between 0 and 1'; here a (negative) loss is returned silently."""
    with pytest.raises(RuntimeError, match="target"):
        torch.nn.functional.binary_cross_entropy(torch.tensor([0.5, 0.2]), torch.tensor([2.0, 0.0]))
    with pytest.raises(ValueError, match=r"target.*\[0, 1\]"):
        F.binary_cross_entropy(ag.tensor([0.5, 0.2]), ag.tensor([2.0, 0.0]))


@pytest.mark.parametrize("input_shape, target_shape", [((4, 3), (4,)), ((3,), ()), ((2, 3, 5), (2, 5))],
                         ids=["batch", "unbatched", "spatial"])
def test_cross_entropy_float_class_labels_say_to_convert_to_int(device, torch, input_shape, target_shape):
    """Labels read as floats ([0., 2., 1.]) have the shape of class indices. PyTorch refuses
    them ('expected target dtype to be Long'); the message here said only that probability
    targets need the input's shape, which sent the user to reshape instead of converting."""
    with pytest.raises(RuntimeError, match="Long"):
        torch.nn.functional.cross_entropy(torch.zeros(input_shape), torch.zeros(target_shape))
    with pytest.raises(TypeError, match=r"cross_entropy: class-index targets must be integers, not float32; "
                                        r"convert them with target\.astype\(ag\.int64\)"):
        F.cross_entropy(ag.randn(*input_shape), ag.zeros(*target_shape))


def test_cross_entropy_probability_targets_of_another_shape_still_name_the_shape(device):
    with pytest.raises(ValueError, match=r"probability targets must have the input's shape \(4, 3\), got \(4, 4\)"):
        F.cross_entropy(ag.randn(4, 3), ag.zeros(4, 4))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probability_targets_differentiate_the_class_weight(torch, reduction):
    # As PyTorch's: with class probabilities the weight is a factor of the composed loss, so a
    # learnable weight gets its gradient (it was detached, and its .grad stayed None)
    rng = named_rng("soft cross-entropy weight")
    x, p = rng.standard_normal((5, 4, 3)), rng.dirichlet(np.ones(4), (5, 3)).transpose(0, 2, 1)
    xo, wo = _f64(x), _f64(CLASS_WEIGHT)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(CLASS_WEIGHT, requires_grad=True)
    out = F.cross_entropy(xo, _f64(p, False), weight=wo, reduction=reduction, label_smoothing=0.1)
    ref = torch.nn.functional.cross_entropy(xt, torch.from_numpy(p), weight=wt, reduction=reduction,
                                            label_smoothing=0.1)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12)
    r = rng.standard_normal(ref.shape)
    gx, gw = ag.grad(out, [xo, wo], ag.tensor(r, dtype=ag.float64), create_graph=True)
    tgx, tgw = torch.autograd.grad(ref, [xt, wt], torch.from_numpy(r), create_graph=True)
    np.testing.assert_allclose(gw.numpy(), tgw.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(gx.numpy(), tgx.detach().numpy(), rtol=1e-10)
    ggx, ggw = ag.grad((gx * gx).sum() + (gw * gw).sum(), [xo, wo])
    tggx, tggw = torch.autograd.grad((tgx * tgx).sum() + (tgw * tgw).sum(), [xt, wt])
    np.testing.assert_allclose(ggx.numpy(), tggx.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ggw.numpy(), tggw.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("loss", [F.cross_entropy, lambda x, t, weight: F.nll_loss(F.log_softmax(x, axis=1), t,
                                                                                    weight=weight)],
                         ids=["cross_entropy", "nll_loss"])
def test_class_index_losses_refuse_a_weight_that_requires_grad_as_torch(loss):
    # PyTorch's kernels are not differentiable in the weight and refuse it; detaching it quietly left
    # a .grad the user asked for at None
    x, t = ag.randn(3, 4, requires_grad=True), ag.tensor([0, 1, 3])
    weight = ag.tensor(CLASS_WEIGHT, dtype=ag.float32, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"the class weight requires grad, .* pass weight\.detach\(\)"):
        loss(x, t, weight=weight)
    with ag.no_grad():  # nothing is recorded, so nothing is lost
        loss(x, t, weight=weight)
    loss(x, t, weight=weight.detach()).backward()
    assert x.grad is not None and weight.grad is None


# --- the losses and distances beyond those above ------------------------------------------------
# smooth_l1_loss, kl_div, poisson_nll_loss, gaussian_nll_loss, the margin and ranking losses,
# cosine_similarity, pairwise_distance, normalize, as nn.functional and as modules, against
# PyTorch 2.13: values and first and second derivatives in float64 for each reduction, gradients
# at the kinks, dtypes, finite differences, errors and reprs.

EACH_REDUCTION = ("none", "mean", "sum")


def _arrays(name):
    """Inputs for each case, away from the kinks; integer arrays are class indices."""
    rng = named_rng(name)
    x, y = rng.uniform(-2, 2, (3, 4)), rng.uniform(-2, 2, (3, 4))
    signs = np.where(rng.uniform(size=(3, 4)) < 0.5, -1.0, 1.0)
    probs = rng.dirichlet(np.ones(4), 3)
    probs[0, 1] = 0.0  # t log t at t = 0: 0, with PyTorch's NaN gradient for the target
    vectors = [rng.standard_normal((4, 5)) for _ in range(3)]
    return {
        "x": x, "y": y, "signs": signs, "probs": probs, "logp": np.log(rng.dirichlet(np.ones(4), 3)),
        "counts": rng.choice([0.5, 1.5, 3.0, 6.0], (3, 4)), "rate": rng.uniform(0.2, 3, (3, 4)),
        "var": rng.uniform(0.2, 2, (3, 4)), "row_var": rng.uniform(0.2, 2, (3,)),
        "small_var": np.array([[0.05, 0.5, 0.01, 2.0]] * 3), "v1": vectors[0], "v2": vectors[1], "v3": vectors[2],
        "pairs": np.array([1.0, -1.0, 1.0, -1.0]), "labels": (rng.uniform(size=(3, 4)) < 0.5).astype(float),
        "classes": np.array([0, 4, 2, 4]), "class_weight": rng.uniform(0.5, 2, 5),
        "label_weight": rng.uniform(0.5, 2, 4),
        "x1d": rng.uniform(-2, 2, 6), "y1d": rng.uniform(-2, 2, 6), "pairs1d": np.array([1.0, -1, -1, 1, 1, -1]),
    }


def _dim(f):
    """The axis keyword: ``axis`` for nn.functional, ``dim`` for PyTorch's."""
    return "axis" if f is F else "dim"


# name: (call(f, reduction, *tensors), the arrays it takes, which of them are differentiable,
#        its reductions, whether PyTorch has its second derivative)
CASES = {
    "smooth_l1": (lambda f, r, a, b: f.smooth_l1_loss(a, b, reduction=r, beta=0.5), ["x", "y"], [1, 1], EACH_REDUCTION),
    "smooth_l1-beta0": (lambda f, r, a, b: f.smooth_l1_loss(a, b, reduction=r, beta=0.0), ["x", "y"], [1, 1],
                        EACH_REDUCTION, False),  # PyTorch's l1 second derivative is a ZeroTensor it cannot show
    "smooth_l1-legacy": (lambda f, r, a, b: f.smooth_l1_loss(a, b, size_average=False), ["x", "y"], [1, 1], [None]),
    "kl_div": (lambda f, r, a, b: f.kl_div(a, b, reduction=r), ["logp", "probs"], [1, 1],
               EACH_REDUCTION + ("batchmean",)),
    "kl_div-log_target": (lambda f, r, a, b: f.kl_div(a, b, reduction=r, log_target=True), ["logp", "x"], [1, 1],
                          EACH_REDUCTION + ("batchmean",)),
    "poisson_nll": (lambda f, r, a, b: f.poisson_nll_loss(a, b, reduction=r), ["x", "counts"], [1, 1], EACH_REDUCTION),
    "poisson_nll-rate-full": (lambda f, r, a, b: f.poisson_nll_loss(a, b, log_input=False, full=True, reduction=r),
                              ["rate", "counts"], [1, 1], EACH_REDUCTION),
    "gaussian_nll": (lambda f, r, a, b, v: f.gaussian_nll_loss(a, b, v, reduction=r), ["x", "y", "var"], [1, 1, 1],
                     EACH_REDUCTION),
    "gaussian_nll-row-var-full": (lambda f, r, a, b, v: f.gaussian_nll_loss(a, b, v, full=True, reduction=r),
                                  ["x", "y", "row_var"], [1, 1, 1], EACH_REDUCTION),
    "gaussian_nll-clamped-var": (lambda f, r, a, b, v: f.gaussian_nll_loss(a, b, v, eps=0.1, reduction=r),
                                 ["x", "y", "small_var"], [1, 1, 1], EACH_REDUCTION),
    "gaussian_nll-number-var": (lambda f, r, a, b: f.gaussian_nll_loss(a, b, 0.75, reduction=r), ["x", "y"],
                                [1, 1], EACH_REDUCTION),
    "margin_ranking": (lambda f, r, a, b, t: f.margin_ranking_loss(a, b, t, margin=0.3, reduction=r),
                       ["x1d", "y1d", "pairs1d"], [1, 1, 1], EACH_REDUCTION),
    "hinge_embedding": (lambda f, r, a, t: f.hinge_embedding_loss(a, t, margin=1.5, reduction=r), ["x", "signs"],
                        [1, 0], EACH_REDUCTION),
    "soft_margin": (lambda f, r, a, t: f.soft_margin_loss(a, t, reduction=r), ["x", "signs"], [1, 0], EACH_REDUCTION),
    "cosine_embedding": (lambda f, r, a, b, t: f.cosine_embedding_loss(a, b, t, margin=-0.2, reduction=r),
                         ["v1", "v2", "pairs"], [1, 1, 0], EACH_REDUCTION),
    "triplet_margin": (lambda f, r, a, p, n: f.triplet_margin_loss(a, p, n, margin=2.0, reduction=r),
                       ["v1", "v2", "v3"], [1, 1, 1], EACH_REDUCTION),
    "triplet_margin-p1-swap": (lambda f, r, a, p, n: f.triplet_margin_loss(a, p, n, margin=3.0, p=1, swap=True,
                                                                          reduction=r),
                               ["v1", "v2", "v3"], [1, 1, 1], EACH_REDUCTION),
    "multilabel_soft_margin": (lambda f, r, a, t, w: f.multilabel_soft_margin_loss(a, t, weight=w, reduction=r),
                               ["x", "labels", "label_weight"], [1, 0, 0], EACH_REDUCTION),
    "multi_margin": (lambda f, r, a, t: f.multi_margin_loss(a, t, margin=0.7, reduction=r), ["v1", "classes"],
                     [1, 0], EACH_REDUCTION, False),  # PyTorch has no second derivative of it
    "multi_margin-p2-weight": (lambda f, r, a, t, w: f.multi_margin_loss(a, t, p=2, weight=w, reduction=r),
                               ["v1", "classes", "class_weight"], [1, 0, 0], EACH_REDUCTION, False),
    "cosine_similarity": (lambda f, r, a, b: f.cosine_similarity(a, b), ["v1", "v2"], [1, 1], [None]),
    "cosine_similarity-broadcast-axis0": (lambda f, r, a, b: f.cosine_similarity(a, b[:1], **{_dim(f): 0}),
                                          ["v1", "v2"], [1, 1], [None]),
    "pairwise_distance": (lambda f, r, a, b: f.pairwise_distance(a, b), ["v1", "v2"], [1, 1], [None]),
    "pairwise_distance-p3-keepdim": (lambda f, r, a, b: f.pairwise_distance(a, b, p=3, keepdim=True),
                                     ["v1", "v2"], [1, 1], [None]),
    "pairwise_distance-p0.5": (lambda f, r, a, b: f.pairwise_distance(a, b, p=0.5, eps=0.0), ["v1", "v2"], [1, 1],
                               [None]),
    "pairwise_distance-p-1.5": (lambda f, r, a, b: f.pairwise_distance(a, b, p=-1.5), ["v1", "v2"], [1, 1], [None]),
    "pairwise_distance-inf": (lambda f, r, a, b: f.pairwise_distance(a, b, p=math.inf), ["v1", "v2"], [1, 1],
                              [None]),
    "normalize": (lambda f, r, a: f.normalize(a), ["v1"], [1], [None]),
    "normalize-p1-axis0": (lambda f, r, a: f.normalize(a, p=1, **{_dim(f): 0}), ["v1"], [1], [None]),
    "normalize-p3-two-axes": (lambda f, r, a: f.normalize(a, p=3, **{_dim(f): (0, 1)}), ["v1"], [1], [None]),
}


def _call_both(torch, name, reduction, dtype="float64"):
    """Our value, first and second derivatives (of sum(out * r), then of the gradients
    against s) of one case, and PyTorch's (its second ones None where it has none)."""
    call, keys, diff, _, *torch_second = CASES[name]
    arrays = [_arrays(name)[k] for k in keys]
    out = []
    for lib in (ag, torch):
        f = F if lib is ag else torch.nn.functional
        leaves = []
        for a, d in zip(arrays, diff):
            if a.dtype.kind == "i":
                leaves.append(ag.tensor(a) if lib is ag else torch.from_numpy(a))
            elif lib is ag:
                leaves.append(ag.tensor(a, dtype=dtype, requires_grad=bool(d)))
            else:
                leaves.append(torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=bool(d)))
        grad = ag.grad if lib is ag else torch.autograd.grad
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # kl_div's warning for 'mean' (tested on its own)
            y = call(f, reduction, *leaves)
        wrt = [leaf for leaf, d in zip(leaves, diff) if d]
        rng = named_rng(name + "seeds")
        r = rng.standard_normal(tuple(y.shape))
        tensor = (lambda a: ag.tensor(a, dtype=dtype)) if lib is ag else (lambda a: torch.tensor(a, dtype=y.dtype))
        first = grad((y * tensor(r)).sum(), wrt, create_graph=True)
        second = None  # also where the gradient is piecewise constant, cut off from the inputs, as PyTorch's
        if (lib is ag or not torch_second or torch_second[0]) and all(g.requires_grad for g in first):
            s = [tensor(rng.standard_normal(tuple(g.shape))) for g in first]
            second = grad(sum((g * si).sum() for g, si in zip(first, s)), wrt, allow_unused=True)
        out.append((y, first, second))
    return out


def _np(t):
    if t is None:
        return None
    if not hasattr(t, "detach"):
        return t.numpy()
    if t._is_zerotensor():  # PyTorch's symbolic zero (a second derivative of a piecewise-linear norm)
        return np.zeros(tuple(t.shape))
    return t.detach().numpy()


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_two_derivatives_match_torch_for_each_reduction(device, torch, name):
    for reduction in CASES[name][3]:
        (y, first, second), (ty, tfirst, tsecond) = _call_both(torch, name, reduction)
        where = f"{name}, reduction={reduction}"
        assert y.shape == tuple(ty.shape) and y.dtype == ag.float64, where
        np.testing.assert_allclose(y.numpy(), _np(ty), rtol=1e-10, atol=1e-12, err_msg=where)
        for g, tg in zip(first, tfirst):
            np.testing.assert_allclose(g.numpy(), _np(tg), rtol=1e-10, atol=1e-12, err_msg=where)
        if second is None:  # our gradient does not depend on the inputs: nor does PyTorch's
            assert not any(tg.requires_grad for tg in tfirst), where
        elif tsecond is not None:
            for h, th in zip(second, tsecond):
                expected = np.zeros(h.shape) if th is None else _np(th)  # None: it does not depend on the input
                np.testing.assert_allclose(h.numpy(), expected, rtol=1e-8, atol=1e-10, err_msg=where)


def test_kl_div_target_gradient_is_nan_where_the_target_is_zero_as_torch(device, torch):
    (_, first, _), (_, tfirst, _) = _call_both(torch, "kl_div", "sum")
    target_grad = first[1].numpy()
    assert np.isnan(target_grad[0, 1]) and np.isnan(_np(tfirst[1])[0, 1])
    assert np.isfinite(np.delete(target_grad.ravel(), 1)).all()
    assert np.isfinite(first[0].numpy()).all()  # the input's gradient is -target: 0 there


def test_poisson_full_target_gradient_is_finite_where_the_stirling_term_is_masked(device, torch):
    # PyTorch's is NaN at target 0 (0 * log 0 in its masked term); the term is 0 near there
    x = ag.tensor([0.5, -0.3, 1.2], dtype=ag.float64, requires_grad=True)
    t = ag.tensor([0.0, 1.0, 2.5], dtype=ag.float64, requires_grad=True)
    loss = F.poisson_nll_loss(x, t, full=True, reduction="sum")
    gx, gt = ag.grad(loss, [x, t])
    tx = torch.tensor([0.5, -0.3, 1.2], dtype=torch.float64, requires_grad=True)
    tt = torch.tensor([0.0, 1.0, 2.5], dtype=torch.float64, requires_grad=True)
    ref = torch.nn.functional.poisson_nll_loss(tx, tt, full=True, reduction="sum")
    tgx, tgt = torch.autograd.grad(ref, [tx, tt])
    np.testing.assert_allclose(loss.numpy(), ref.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gx.numpy(), tgx.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gt.numpy()[1:], tgt.numpy()[1:], rtol=1e-12)
    assert np.isnan(tgt.numpy()[0]) and gt.numpy()[0] == -0.5  # d/dt of -t x alone


# Inputs exactly at each loss's kink, where the gradient is a choice: PyTorch's.
KINKS = {
    "smooth_l1 |d| = beta": (lambda f, a: f.smooth_l1_loss(a, a.detach() * 0, beta=0.5, reduction="none"),
                             [0.5, -0.5, 0.0, 0.25, 2.0]),
    "hinge margin - x = 0": (lambda f, a: f.hinge_embedding_loss(a, a.detach() * 0 - 1, margin=1.0, reduction="none"),
                             [1.0, 0.5, 2.0]),
    "margin_ranking at 0": (lambda f, a: f.margin_ranking_loss(a, a.detach() * 0 + 0.5, a.detach() * 0 + 1,
                                                               margin=0.5, reduction="none"), [1.0, 0.0, 2.0]),
    "cosine_embedding cos = margin": (lambda f, a: f.cosine_embedding_loss(
        a.reshape(1, 2), a.detach().reshape(1, 2) * 0 + 1, a.detach()[:1] * 0 - 1, margin=0.0, reduction="none"),
        [1.0, -1.0]),
    "multi_margin z = 0": (lambda f, a: f.multi_margin_loss(a.reshape(1, 3), _index(a, [0]), reduction="none"),
                           [1.0, 0.0, -0.5]),
    "triplet at 0": (lambda f, a: f.triplet_margin_loss(a.reshape(1, 2), a.detach().reshape(1, 2) * 0,
                                                        a.detach().reshape(1, 2) * 0 + 1, margin=1.0, eps=0.0,
                                                        reduction="none"), [1.0, 0.0]),
    "pairwise_distance inf ties": (lambda f, a: f.pairwise_distance(a.reshape(1, 3), a.detach().reshape(1, 3) * 0,
                                                                    p=math.inf, eps=0.0), [1.0, -1.0, 0.5]),
    "normalize norm = eps": (lambda f, a: f.normalize(a.reshape(1, 2), eps=5.0), [3.0, 4.0]),
}


def _index(like, values):
    """Class indices in ``like``'s library."""
    return ag.tensor(values) if isinstance(like, ag.Tensor) else like.new_tensor(values).long()


@pytest.mark.parametrize("name", sorted(KINKS))
def test_gradients_at_the_kinks_are_torchs(device, torch, name):
    call, values = KINKS[name]
    x = ag.tensor(values, dtype=ag.float64, requires_grad=True)
    tx = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    y, ty = call(F, x), call(torch.nn.functional, tx)
    g, = ag.grad(y.sum(), [x])
    tg, = torch.autograd.grad(ty.sum(), [tx])
    np.testing.assert_allclose(y.numpy(), _np(ty), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(g.numpy(), tg.numpy(), rtol=1e-12, atol=1e-15)


def test_smooth_l1_second_derivative_at_the_kinks_is_torchs(device, torch):
    values = [0.5, -0.5, 0.0, 0.25]
    x = ag.tensor(values, dtype=ag.float64, requires_grad=True)
    tx = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    g, = ag.grad(F.smooth_l1_loss(x, x.detach() * 0, beta=0.5, reduction="sum"), [x], create_graph=True)
    tg, = torch.autograd.grad(torch.nn.functional.smooth_l1_loss(tx, tx.detach() * 0, beta=0.5, reduction="sum"),
                              [tx], create_graph=True)
    h, = ag.grad(g.sum(), [x])
    th, = torch.autograd.grad(tg.sum(), [tx])
    np.testing.assert_array_equal(h.numpy(), th.numpy())  # 0 on the linear branch at |d| = beta, 2 inside


# The arguments for one gradcheck per function (float64, away from the kinks): name: (fn, shapes)
GRADCHECK = {
    "smooth_l1_loss": (lambda a, b: F.smooth_l1_loss(a, b, beta=0.7), [(2, 3), (2, 3)]),
    "kl_div": (lambda a, b: F.kl_div(a, abs(b) + 0.1, reduction="batchmean"), [(2, 3), (2, 3)]),
    "poisson_nll_loss": (lambda a, b: F.poisson_nll_loss(abs(a) + 0.5, abs(b) * 3 + 1.2, log_input=False,
                                                         full=True), [(2, 3), (2, 3)]),
    "gaussian_nll_loss": (lambda a, b, v: F.gaussian_nll_loss(a, b, abs(v) + 0.5, reduction="sum"),
                          [(2, 3), (2, 3), (2, 1)]),
    "margin_ranking_loss": (lambda a, b, t: F.margin_ranking_loss(a, b, t, margin=10.0), [(4,), (4,), (4,)]),
    "hinge_embedding_loss": (lambda a: F.hinge_embedding_loss(a, ag.tensor([1.0, -1.0, -1.0, 1.0]), margin=5.0),
                             [(4,)]),
    "soft_margin_loss": (lambda a: F.soft_margin_loss(a, ag.tensor([1.0, -1.0, -1.0, 1.0])), [(4,)]),
    "cosine_embedding_loss": (lambda a, b: F.cosine_embedding_loss(a, b, ag.tensor([1.0, -1.0]), margin=-2.0),
                              [(2, 3), (2, 3)]),
    "triplet_margin_loss": (lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=20.0, swap=True), [(2, 3)] * 3),
    "multilabel_soft_margin_loss": (lambda a, t: F.multilabel_soft_margin_loss(a, t), [(2, 3), (2, 3)]),
    "multi_margin_loss": (lambda a: F.multi_margin_loss(a, ag.tensor([0, 2]), p=2, margin=10.0), [(2, 3)]),
    "cosine_similarity": (lambda a, b: F.cosine_similarity(a, b, axis=0), [(3, 2), (3, 2)]),
    "pairwise_distance": (lambda a, b: F.pairwise_distance(a, b, p=3), [(2, 3), (2, 3)]),
    "normalize": (lambda a: F.normalize(a, p=1.5), [(2, 3)]),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_gradcheck_and_gradgradcheck(device, name):
    assert_gradcheck_and_gradgradcheck(name, *GRADCHECK[name])


def test_every_new_function_is_checked():
    assert set(GRADCHECK) == {
        "smooth_l1_loss", "kl_div", "poisson_nll_loss", "gaussian_nll_loss", "margin_ranking_loss",
        "hinge_embedding_loss", "soft_margin_loss", "cosine_embedding_loss", "triplet_margin_loss",
        "multilabel_soft_margin_loss", "multi_margin_loss", "cosine_similarity", "pairwise_distance", "normalize"}
    assert set(GRADCHECK) <= set(F.__all__)


@pytest.mark.parametrize("name", sorted(n for n in CASES if "legacy" not in n))
def test_float32_stays_float32_and_matches_torch(device, torch, name):
    (y, first, _), (ty, tfirst, _) = _call_both(torch, name, CASES[name][3][0], dtype="float32")
    assert y.dtype == ag.float32 and all(g.dtype == ag.float32 for g in first)
    np.testing.assert_allclose(y.numpy(), _np(ty), rtol=1e-5, atol=1e-6)
    for g, tg in zip(first, tfirst):
        np.testing.assert_allclose(g.numpy(), _np(tg), rtol=1e-4, atol=1e-5)


# A float32 input with a float64 partner: the result's dtype is PyTorch's (promoted, or the input's)
MIXED = {
    "smooth_l1_loss": lambda f, a, b: f.smooth_l1_loss(a, b),
    "kl_div": lambda f, a, b: f.kl_div(a, abs(b), reduction="sum"),
    "poisson_nll_loss": lambda f, a, b: f.poisson_nll_loss(a, abs(b)),
    "gaussian_nll_loss-target": lambda f, a, b: f.gaussian_nll_loss(a, b, abs(a.detach()) + 1),
    "gaussian_nll_loss-var": lambda f, a, b: f.gaussian_nll_loss(a, a.detach(), abs(b) + 1),
    "margin_ranking_loss": lambda f, a, b: f.margin_ranking_loss(a, a.detach() * 0.5, b),
    "hinge_embedding_loss": lambda f, a, b: f.hinge_embedding_loss(a, b),
    "soft_margin_loss": lambda f, a, b: f.soft_margin_loss(a, b),
    "cosine_embedding_loss": lambda f, a, b: f.cosine_embedding_loss(a, b, b[:, 0] * 0 + 1),
    "triplet_margin_loss": lambda f, a, b: f.triplet_margin_loss(a, b, a.detach() * 2),
    "multilabel_soft_margin_loss": lambda f, a, b: f.multilabel_soft_margin_loss(a, b),
    "multilabel_soft_margin_loss-weight": lambda f, a, b: f.multilabel_soft_margin_loss(a, a.detach(), weight=b[0]),
    "cosine_similarity": lambda f, a, b: f.cosine_similarity(a, b),
    "pairwise_distance": lambda f, a, b: f.pairwise_distance(a, b),
}


@pytest.mark.parametrize("name", sorted(MIXED))
def test_mixed_float32_and_float64_give_torchs_dtype(device, torch, name):
    rng = named_rng(name)
    x, y = rng.uniform(-2, 2, (3, 4)), rng.uniform(-2, 2, (3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = MIXED[name](F, ag.tensor(x, dtype=ag.float32), ag.tensor(y, dtype=ag.float64))
        theirs = MIXED[name](torch.nn.functional, torch.tensor(x, dtype=torch.float32),
                             torch.tensor(y, dtype=torch.float64))
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.numpy(), _np(theirs), rtol=1e-5, atol=1e-6)


def test_integer_inputs_to_the_distances_take_the_default_float_as_torch(device, torch):
    a, b = np.array([[1, 2, 3], [0, 0, 1]]), np.array([[0, 2, 5], [1, 1, 1]])
    ours = F.pairwise_distance(ag.tensor(a), ag.tensor(b))
    theirs = torch.nn.functional.pairwise_distance(torch.from_numpy(a), torch.from_numpy(b))
    assert ours.dtype == ag.float32
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    ours = F.cosine_similarity(ag.tensor(a), ag.tensor(b, dtype=ag.float64))
    theirs = torch.nn.functional.cosine_similarity(torch.from_numpy(a), torch.from_numpy(b.astype(np.float64)))
    assert ours.dtype == ag.float64
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


# Shapes PyTorch handles specially: (ours, theirs) called with ag or torch
SHAPES = {
    "multi_margin 1-D with a 1-D target": lambda f, lib: f.multi_margin_loss(
        lib.tensor([0.5, 1.0, -0.2]), lib.tensor([1]), reduction="none"),
    "multi_margin 1-D with a 0-d target": lambda f, lib: f.multi_margin_loss(
        lib.tensor([0.5, 1.0, -0.2]), lib.tensor(2), reduction="none"),
    "multi_margin 0-d": lambda f, lib: f.multi_margin_loss(lib.tensor(0.5), lib.tensor(0), reduction="none"),
    "multilabel 1-D": lambda f, lib: f.multilabel_soft_margin_loss(lib.tensor([0.5, -1.0]), lib.tensor([1.0, 0.0]),
                                                                   reduction="none"),
    "multilabel 3-D": lambda f, lib: f.multilabel_soft_margin_loss(
        lib.ones((2, 3, 4)) * 0.3, lib.ones((2, 3, 4)), reduction="none"),
    "cosine_embedding 1-D": lambda f, lib: f.cosine_embedding_loss(lib.tensor([1.0, 2.0]), lib.tensor([2.0, -1.0]),
                                                                   lib.tensor(-1.0), margin=-0.5),
    "cosine_embedding broadcast": lambda f, lib: f.cosine_embedding_loss(
        lib.tensor([[1.0, 2.0], [0.5, 0.5]]), lib.tensor([[2.0, -1.0]]), lib.tensor([1.0, -1.0]), reduction="none"),
    "hinge other targets": lambda f, lib: f.hinge_embedding_loss(lib.tensor([0.5, -0.5, 2.0]),
                                                                 lib.tensor([0.0, 2.0, 1.0]), reduction="none"),
    "cosine_embedding other targets": lambda f, lib: f.cosine_embedding_loss(
        lib.tensor([[1.0, 2.0], [0.5, 0.5]]), lib.tensor([[2.0, -1.0], [1.0, 0.0]]), lib.tensor([0.0, 2.0]),
        reduction="none"),
    "gaussian var with a 1 in axis 0": lambda f, lib: f.gaussian_nll_loss(
        lib.tensor([[1.0, 2.0], [0.5, 0.5]]), lib.tensor([[2.0, -1.0], [1.0, 0.0]]), lib.tensor([[0.5, 2.0]]),
        reduction="none"),
    "gaussian target broadcast": lambda f, lib: f.gaussian_nll_loss(
        lib.tensor([[1.0, 2.0], [0.5, 0.5]]), lib.tensor([[2.0, -1.0]]), lib.tensor([[0.5, 2.0], [1.0, 1.0]]),
        reduction="none"),
    "gaussian 1-D with a 0-d var": lambda f, lib: f.gaussian_nll_loss(
        lib.tensor([1.0, 2.0]), lib.tensor([2.0, -1.0]), lib.tensor(0.5), reduction="none"),
    "margin_ranking 2-D broadcast": lambda f, lib: f.margin_ranking_loss(
        lib.tensor([[1.0, 2.0], [0.5, 0.5]]), lib.tensor([[2.0, -1.0]]), lib.tensor([[1.0, -1.0], [-1.0, 1.0]]),
        reduction="none"),
    "triplet 1-D": lambda f, lib: f.triplet_margin_loss(lib.tensor([1.0, 2.0]), lib.tensor([2.0, -1.0]),
                                                        lib.tensor([0.0, 0.5]), reduction="none"),
    "pairwise_distance 0-d": lambda f, lib: f.pairwise_distance(lib.tensor(2.0), lib.tensor(3.5)),
    "pairwise_distance broadcast p0": lambda f, lib: f.pairwise_distance(
        lib.tensor([[1.0, 2.0], [0.5, 0.0]]), lib.tensor([1.0, 0.0]), p=0, eps=0.0),
    "cosine_similarity 0-d": lambda f, lib: f.cosine_similarity(lib.tensor(2.0), lib.tensor(-3.0), **{_dim(f): 0}),
    "cosine_similarity zero vector": lambda f, lib: f.cosine_similarity(lib.zeros((2, 3)), lib.ones((2, 3))),
    "normalize zero vector": lambda f, lib: f.normalize(lib.zeros((2, 3))),
    "kl_div batchmean 0-d": lambda f, lib: f.kl_div(lib.tensor(-0.5), lib.tensor(0.3), reduction="batchmean"),
    "kl_div legacy flags with batchmean": lambda f, lib: f.kl_div(
        lib.tensor([[-0.5, -1.0], [-2.0, -0.1]]), lib.tensor([[0.3, 0.7], [0.1, 0.9]]), size_average=False,
        reduce=False, reduction="batchmean"),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_special_shapes_match_torch(device, torch, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = SHAPES[name](F, ag), SHAPES[name](torch.nn.functional, torch)
    assert ours.shape == tuple(theirs.shape) and ours.dtype == ag.float32
    np.testing.assert_allclose(ours.numpy(), _np(theirs), rtol=1e-6, atol=1e-7)


def test_multi_margin_loss_of_an_empty_batch_is_that_of_every_loss(device):
    # PyTorch's kernel returns an uninitialized value there for 'mean' and 'sum' (-0.0 or
    # 3e28, run to run): here the mean of nothing is NaN, as mse's, and the sum 0
    empty = F.multi_margin_loss(ag.zeros((0, 3)), ag.zeros(0, dtype=ag.int64))
    assert np.isnan(empty.numpy()) and np.isnan(F.mse_loss(ag.zeros(0), ag.zeros(0)).numpy())
    assert F.multi_margin_loss(ag.zeros((0, 3)), ag.zeros(0, dtype=ag.int64), reduction="sum").numpy() == 0
    assert F.multi_margin_loss(ag.zeros((0, 3)), ag.zeros(0, dtype=ag.int64), reduction="none").shape == (0,)


@pytest.mark.filterwarnings("error")  # 0 / 0 would warn
def test_empty_batches_and_class_axes_give_nan_quietly_as_torch(device, torch):
    x = ag.zeros((0, 4), requires_grad=True)
    loss = F.kl_div(x, ag.zeros((0, 4)), reduction="batchmean")
    loss.backward()
    assert np.isnan(loss.item()) and x.grad.shape == (0, 4)
    assert np.isnan(torch.nn.functional.kl_div(torch.zeros(0, 4), torch.zeros(0, 4), reduction="batchmean").item())
    no_classes = F.multilabel_soft_margin_loss(ag.zeros((3, 0)), ag.zeros((3, 0)))
    assert np.isnan(no_classes.item())
    assert np.isnan(torch.nn.functional.multilabel_soft_margin_loss(torch.zeros(3, 0), torch.zeros(3, 0)).item())


def test_kl_div_mean_warns_as_torch_and_batchmean_does_not(device, torch):
    x, t = ag.tensor([[-0.5, -1.0]]), ag.tensor([[0.3, 0.7]])
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(x, t)
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size") as caught:
        nn.KLDivLoss()(x, t)
    assert caught[0].filename == __file__  # the user's line, not the library's
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.kl_div(x, t, reduction="batchmean")
        F.kl_div(x, t, size_average=True)  # the legacy flags' mean: no warning, as PyTorch
        nn.KLDivLoss(reduction="batchmean")(x, t)


def test_soft_margin_loss_does_not_overflow(device, torch):
    x = ag.tensor([-1000.0, 1000.0, 0.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.soft_margin_loss(x, ag.tensor([1.0, -1.0, 1.0]), reduction="none")
        loss.sum().backward()
    np.testing.assert_allclose(loss.numpy(), [1000.0, 1000.0, math.log(2)], rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), [-1.0, 1.0, -0.5], rtol=1e-6)
    # PyTorch's exp overflows there: inf
    assert np.isinf(torch.nn.functional.soft_margin_loss(torch.tensor([-1000.0]), torch.tensor([1.0])).item())


def _z(*shape, dtype="float32"):
    return ag.zeros(shape, dtype=dtype)


# (ours, PyTorch's (it raises too), error, message). PyTorch raises RuntimeError for shapes
# and some values; here they are ValueError and TypeError, as everywhere in topograd.
ERRORS = [
    (lambda: F.smooth_l1_loss(_z(2), _z(2), beta=-1.0), lambda t: t.nn.functional.smooth_l1_loss(
        t.zeros(2), t.zeros(2), beta=-1.0), ValueError, "beta must be at least 0"),
    (lambda: F.smooth_l1_loss(_z(2), _z(2), reduction="avg"), lambda t: t.nn.functional.smooth_l1_loss(
        t.zeros(2), t.zeros(2), reduction="avg"), ValueError, "reduction must be 'mean', 'sum' or 'none'"),
    (lambda: F.kl_div(_z(2), _z(2), reduction="avg"), lambda t: t.nn.functional.kl_div(
        t.zeros(2), t.zeros(2), reduction="avg"), ValueError, "'batchmean', 'mean', 'sum' or 'none'"),
    (lambda: F.kl_div(_z(2), ag.ones(2, dtype=ag.int64), reduction="sum"), lambda t: t.nn.functional.kl_div(
        t.zeros(2), t.ones(2, dtype=t.int64), reduction="sum"), TypeError, "target must be floating point"),
    (lambda: F.poisson_nll_loss(_z(2), _z(2), reduction="x"), lambda t: t.nn.functional.poisson_nll_loss(
        t.zeros(2), t.zeros(2), reduction="x"), ValueError, "reduction must be"),
    (lambda: F.gaussian_nll_loss(_z(2), _z(2), -_z(2) - 1), lambda t: t.nn.functional.gaussian_nll_loss(
        t.zeros(2), t.zeros(2), -t.ones(2)), ValueError, "var has negative entries"),
    (lambda: F.gaussian_nll_loss(_z(2), _z(2), -0.5), lambda t: t.nn.functional.gaussian_nll_loss(
        t.zeros(2), t.zeros(2), -0.5), ValueError, "var must be at least 0"),
    (lambda: F.gaussian_nll_loss(_z(3, 4), _z(3, 4), _z(4)), lambda t: t.nn.functional.gaussian_nll_loss(
        t.zeros(3, 4), t.zeros(3, 4), t.ones(4)), ValueError, "var of shape \\(4,\\) does not fit the input of "
     "shape \\(3, 4\\)"),
    (lambda: F.gaussian_nll_loss(_z(3, 4), _z(3, 4), _z(1, 1)), lambda t: t.nn.functional.gaussian_nll_loss(
        t.zeros(3, 4), t.zeros(3, 4), t.ones(1, 1)), ValueError, "does not fit"),
    (lambda: F.gaussian_nll_loss(_z(3, 4), _z(3, 4), _z(3, 4), reduction="x"),
     lambda t: t.nn.functional.gaussian_nll_loss(t.zeros(3, 4), t.zeros(3, 4), t.ones(3, 4), reduction="x"),
     ValueError, "reduction must be"),
    (lambda: F.margin_ranking_loss(_z(4), _z(4), _z()), lambda t: t.nn.functional.margin_ranking_loss(
        t.zeros(4), t.zeros(4), t.zeros(())), ValueError, "same number of dimensions"),
    (lambda: F.cosine_embedding_loss(_z(3, 4), _z(3, 4), _z(3, 1)), lambda t: t.nn.functional.cosine_embedding_loss(
        t.zeros(3, 4), t.zeros(3, 4), t.zeros(3, 1)), ValueError, "0-d or 1-D target"),
    (lambda: F.cosine_embedding_loss(_z(4), _z(4), _z(1)), lambda t: t.nn.functional.cosine_embedding_loss(
        t.zeros(4), t.zeros(4), t.zeros(1)), ValueError, "expected \\(N, D\\) inputs with an \\(N,\\) target"),
    (lambda: F.cosine_embedding_loss(_z(3, 4), _z(3, 2), _z(3)), lambda t: t.nn.functional.cosine_embedding_loss(
        t.zeros(3, 4), t.zeros(3, 2), t.zeros(3)), ValueError, "cannot broadcast"),
    (lambda: F.triplet_margin_loss(_z(2, 3), _z(2, 3), _z(2, 3), margin=0.0),
     lambda t: t.nn.functional.triplet_margin_loss(t.zeros(2, 3), t.zeros(2, 3), t.zeros(2, 3), margin=0.0),
     ValueError, "margin must be greater than 0"),
    (lambda: F.triplet_margin_loss(_z(2, 3), _z(3), _z(2, 3)), lambda t: t.nn.functional.triplet_margin_loss(
        t.zeros(2, 3), t.zeros(3), t.zeros(2, 3)), ValueError, "same number of dimensions"),
    (lambda: F.multilabel_soft_margin_loss(_z(3, 4), _z(3, 4), weight=_z(5)),
     lambda t: t.nn.functional.multilabel_soft_margin_loss(t.zeros(3, 4), t.zeros(3, 4), weight=t.zeros(5)),
     ValueError, "weight of shape \\(5,\\) does not broadcast"),
    (lambda: F.multilabel_soft_margin_loss(_z(), _z()), lambda t: t.nn.functional.multilabel_soft_margin_loss(
        t.zeros(()), t.zeros(())), ValueError, "0-d input"),
    (lambda: F.multi_margin_loss(_z(3, 4), ag.tensor([0, 1, 2]), p=3), lambda t: t.nn.functional.multi_margin_loss(
        t.zeros(3, 4), t.tensor([0, 1, 2]), p=3), ValueError, "p must be 1 or 2"),
    (lambda: F.multi_margin_loss(_z(3, 4), ag.tensor([0, 4, 1])), lambda t: t.nn.functional.multi_margin_loss(
        t.zeros(3, 4), t.tensor([0, 4, 1])), ValueError, "target 4 is out of bounds for 4 classes"),
    (lambda: F.multi_margin_loss(_z(3, 4), ag.tensor([0, -1, 1])), lambda t: t.nn.functional.multi_margin_loss(
        t.zeros(3, 4), t.tensor([0, -1, 1])), ValueError, "target -1 is out of bounds"),
    (lambda: F.multi_margin_loss(_z(3, 4), ag.tensor([0, 1])), lambda t: t.nn.functional.multi_margin_loss(
        t.zeros(3, 4), t.tensor([0, 1])), ValueError, "need a target of shape \\(3,\\), got \\(2,\\)"),
    (lambda: F.multi_margin_loss(_z(3, 4), _z(3)), lambda t: t.nn.functional.multi_margin_loss(
        t.zeros(3, 4), t.zeros(3)), TypeError, "class indices"),
    (lambda: F.multi_margin_loss(_z(3, 4), ag.tensor([0, 1, 2]), weight=_z(3)),
     lambda t: t.nn.functional.multi_margin_loss(t.zeros(3, 4), t.tensor([0, 1, 2]), weight=t.zeros(3)),
     ValueError, "one value per class"),
    (lambda: F.multi_margin_loss(_z(2, 3, 4), ag.tensor([0, 1])), lambda t: t.nn.functional.multi_margin_loss(
        t.zeros(2, 3, 4), t.tensor([0, 1])), ValueError, "expected scores of shape"),
    (lambda: F.cosine_similarity(ag.ones(2, 3, dtype=ag.int64), ag.ones(2, 3, dtype=ag.int64)),
     lambda t: t.nn.functional.cosine_similarity(t.ones(2, 3, dtype=t.int64), t.ones(2, 3, dtype=t.int64)),
     TypeError, "no floating common dtype"),
    (lambda: F.cosine_similarity(_z(2, 3), _z(2, 3), axis=(0, 1)), lambda t: t.nn.functional.cosine_similarity(
        t.zeros(2, 3), t.zeros(2, 3), dim=(0, 1)), TypeError, "axis must be one int"),
    (lambda: F.cosine_similarity(_z(2, 3), _z(2, 3), axis=2), lambda t: t.nn.functional.cosine_similarity(
        t.zeros(2, 3), t.zeros(2, 3), dim=2), ValueError, "axis 2 is out of range"),
    (lambda: F.cosine_similarity(_z(2, 3), _z(2, 2)), lambda t: t.nn.functional.cosine_similarity(
        t.zeros(2, 3), t.zeros(2, 2)), ValueError, "cannot broadcast"),
    (lambda: F.pairwise_distance(_z(2, 3), _z(2, 2)), lambda t: t.nn.functional.pairwise_distance(
        t.zeros(2, 3), t.zeros(2, 2)), ValueError, "cannot broadcast"),
    (lambda: F.normalize(ag.ones(2, 3, dtype=ag.int64)), lambda t: t.nn.functional.normalize(
        t.ones(2, 3, dtype=t.int64)), TypeError, "floating point"),
    (lambda: F.normalize(_z(3)), lambda t: t.nn.functional.normalize(t.zeros(3)), ValueError,
     "axis 1 is out of range"),
    (lambda: F.normalize(_z(2, 3), out=_z(2, 3)), lambda t: t.nn.functional.normalize(
        t.zeros(2, 3, requires_grad=True), out=t.zeros(2, 3)), TypeError, "out= is not supported"),
]


@pytest.mark.parametrize("ours, theirs, error, message", ERRORS)
def test_bad_arguments_raise_clear_errors_where_torch_raises(device, torch, ours, theirs, error, message):
    assert_raises_where_torch_raises(torch, ours, theirs, error, message)


# Where PyTorch broadcasts a target of another shape (with a warning, or silently), these
# losses raise: the shapes of input and target must match.
@pytest.mark.parametrize("name", ["smooth_l1_loss", "kl_div", "poisson_nll_loss", "hinge_embedding_loss",
                                  "soft_margin_loss", "multilabel_soft_margin_loss"])
def test_a_target_of_another_shape_is_refused_naming_both_shapes(device, name):
    with pytest.raises(ValueError, match="input has shape \\(3, 4\\) but the target has shape \\(4,\\)"):
        getattr(F, name)(_z(3, 4), _z(4), reduction="sum")


def test_gaussian_nll_loss_refuses_a_target_that_widens_the_input(device):
    with pytest.raises(ValueError, match="the input has shape \\(1, 4\\) but the target has shape \\(3, 4\\)"):
        F.gaussian_nll_loss(_z(1, 4), _z(3, 4), ag.ones(1, 4))


def test_gaussian_nll_loss_var_gets_its_own_gradient_below_eps_as_torch(device, torch):
    """The clamp changes var's value only: its gradient is d/dvar at the clamped value."""
    var = ag.tensor([0.01, 0.5], dtype=ag.float64, requires_grad=True)
    tvar = torch.tensor([0.01, 0.5], dtype=torch.float64, requires_grad=True)
    loss = F.gaussian_nll_loss(ag.tensor([1.0, 2.0], dtype=ag.float64), ag.zeros(2, dtype=ag.float64), var, eps=0.1)
    ref = torch.nn.functional.gaussian_nll_loss(torch.tensor([1.0, 2.0], dtype=torch.float64),
                                                torch.zeros(2, dtype=torch.float64), tvar, eps=0.1)
    g, = ag.grad(loss, [var])
    tg, = torch.autograd.grad(ref, [tvar])
    np.testing.assert_allclose(g.numpy(), tg.numpy(), rtol=1e-12)
    assert g.numpy()[0] == pytest.approx(0.5 * (1 / 0.1 - 1 / 0.01) / 2)  # the mean of two


def _module_pairs(torch):
    w3, w5 = np.array([0.5, 1.0, 2.0]), np.array([1.0, 0.5, 2.0, 1.5, 0.75])
    tn = torch.nn
    return [
        (nn.SmoothL1Loss(beta=0.5), tn.SmoothL1Loss(beta=0.5), ["x", "y"]),
        (nn.SmoothL1Loss(reduce=False), tn.SmoothL1Loss(reduce=False), ["x", "y"]),
        (nn.KLDivLoss(reduction="batchmean", log_target=True), tn.KLDivLoss(reduction="batchmean", log_target=True),
         ["logp", "x"]),
        (nn.KLDivLoss(size_average=False), tn.KLDivLoss(size_average=False), ["logp", "probs"]),
        (nn.PoissonNLLLoss(log_input=False, full=True, eps=1e-4), tn.PoissonNLLLoss(log_input=False, full=True,
                                                                                   eps=1e-4), ["rate", "counts"]),
        (nn.GaussianNLLLoss(full=True, eps=0.3, reduction="sum"), tn.GaussianNLLLoss(full=True, eps=0.3,
                                                                                    reduction="sum"),
         ["x", "y", "small_var"]),
        (nn.MarginRankingLoss(0.25), tn.MarginRankingLoss(0.25), ["x1d", "y1d", "pairs1d"]),
        (nn.HingeEmbeddingLoss(0.5, reduction="none"), tn.HingeEmbeddingLoss(0.5, reduction="none"),
         ["x", "signs"]),
        (nn.SoftMarginLoss(reduction="sum"), tn.SoftMarginLoss(reduction="sum"), ["x", "signs"]),
        (nn.CosineEmbeddingLoss(0.1), tn.CosineEmbeddingLoss(0.1), ["v1", "v2", "pairs"]),
        (nn.TripletMarginLoss(1.5, p=1.0, swap=True), tn.TripletMarginLoss(1.5, p=1.0, swap=True),
         ["v1", "v2", "v3"]),
        (nn.MultiLabelSoftMarginLoss(ag.tensor(np.array([1.0, 2.0, 0.5, 1.0]), dtype=ag.float64)),
         tn.MultiLabelSoftMarginLoss(torch.tensor([1.0, 2.0, 0.5, 1.0], dtype=torch.float64)), ["x", "labels"]),
        (nn.MultiMarginLoss(p=2, margin=0.5, weight=ag.tensor(w5, dtype=ag.float64)),
         tn.MultiMarginLoss(p=2, margin=0.5, weight=torch.tensor(w5)), ["v1", "classes"]),
        (nn.MultiMarginLoss(weight=ag.tensor(w3, dtype=ag.float64)), tn.MultiMarginLoss(weight=torch.tensor(w3)),
         None),
        (nn.CosineSimilarity(dim=0, eps=1e-3), tn.CosineSimilarity(dim=0, eps=1e-3), ["v1", "v2"]),
        (nn.PairwiseDistance(p=1.0, eps=0.0, keepdim=True), tn.PairwiseDistance(p=1.0, eps=0.0, keepdim=True),
         ["v1", "v2"]),
    ]


def test_modules_match_torch_in_repr_state_and_values(device, torch):
    arrays = _arrays("modules")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's deprecation warning for size_average and reduce
        pairs = _module_pairs(torch)
    for ours, theirs, keys in pairs:
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict()), repr(ours)
        for name in ("reduction", "margin", "p", "eps", "swap", "beta", "log_target", "log_input", "full", "dim",
                     "norm", "keepdim"):
            if hasattr(theirs, name):
                assert getattr(ours, name) == getattr(theirs, name), (type(ours).__name__, name)
        if keys is None:
            continue
        inputs = [arrays[k] for k in keys]
        mine = [ag.tensor(a) if a.dtype.kind == "i" else ag.tensor(a, dtype=ag.float64) for a in inputs]
        yours = [torch.from_numpy(a) for a in inputs]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            np.testing.assert_allclose(ours(*mine).numpy(), _np(theirs(*yours)), rtol=1e-10, err_msg=repr(ours))


def test_module_arguments_are_checked_at_construction(device, torch):
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        nn.TripletMarginLoss(margin=0.0)
    with pytest.raises(ValueError, match="p must be 1 or 2"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="weight must be None or 1-D"):
        nn.MultiMarginLoss(weight=ag.ones(2, 2))
    with pytest.raises(ValueError, match="beta must be at least 0"):
        nn.SmoothL1Loss(beta=-1.0)
    with pytest.raises(ValueError, match="'batchmean', 'mean', 'sum' or 'none'"):
        nn.KLDivLoss(reduction="avg")
    with pytest.raises(TypeError):
        nn.GaussianNLLLoss(True)  # keyword-only, as PyTorch's
    for ours, theirs in ((lambda: nn.TripletMarginLoss(margin=0.0), lambda: torch.nn.TripletMarginLoss(margin=0.0)),
                         (lambda: nn.MultiMarginLoss(p=3), lambda: torch.nn.MultiMarginLoss(p=3))):
        with pytest.raises(ValueError):
            theirs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's deprecation warning
        assert nn.KLDivLoss(size_average=False).reduction == torch.nn.KLDivLoss(size_average=False).reduction == "sum"


def test_weight_buffers_follow_the_module(device):
    loss = nn.MultiMarginLoss(weight=ag.tensor([1.0, 2.0]))
    loss.to(dtype=ag.float64)
    assert loss.weight.dtype == ag.float64 and list(loss.state_dict()) == ["weight"]
    x = ag.tensor([[0.2, 0.1], [0.5, 0.9]], dtype=ag.float64, requires_grad=True)
    value = loss(x, ag.tensor([0, 1]))
    # sample 0: w0 * (1 - 0.2 + 0.1) / 2; sample 1: w1 * (1 - 0.9 + 0.5) / 2; mean of the two
    np.testing.assert_allclose(value.numpy(), (0.9 / 2 + 2 * 0.6 / 2) / 2, rtol=1e-12)


HUBER_FAMILY = {
    "huber delta 0.7": (lambda f: lambda a, b: f.huber_loss(a, b, reduction="none", delta=0.7)),
    "huber": (lambda f: lambda a, b: f.huber_loss(a, b, reduction="none")),
    "smooth_l1 beta 0.3": (lambda f: lambda a, b: f.smooth_l1_loss(a, b, reduction="none", beta=0.3)),
    "smooth_l1": (lambda f: lambda a, b: f.smooth_l1_loss(a, b, reduction="none")),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(HUBER_FAMILY))
def test_the_fused_huber_family_matches_torch_at_kinks_and_infinities(device, torch, name, dtype):
    """One fused op with a branch-free forward (min(|d|, delta)): values, both inputs'
    gradients and the second derivative as PyTorch's, at the kinks, at 0, inf and NaN."""
    values = np.array([-5, -1.5, -1.0, -0.7, -0.3, -0.0, 0.0, 0.3, 0.7, 1.0, 1.5, 5, np.inf, -np.inf, np.nan])
    rng = np.random.default_rng(3)
    r, s = rng.standard_normal(values.shape), rng.standard_normal(values.shape)
    x = ag.tensor(values, dtype=dtype, requires_grad=True)
    t = ag.zeros(values.shape, dtype=dtype, requires_grad=True)
    y = HUBER_FAMILY[name](F)(x, t)
    gx, gt = ag.grad((y * ag.tensor(r, dtype=dtype)).sum(), [x, t], create_graph=True)
    h, = ag.grad((gx * ag.tensor(s, dtype=dtype)).sum(), [x])
    tdtype = getattr(torch, dtype)
    tx = torch.tensor(values, dtype=tdtype, requires_grad=True)
    tt = torch.zeros(values.shape, dtype=tdtype, requires_grad=True)
    ty = HUBER_FAMILY[name](torch.nn.functional)(tx, tt)
    tgx, tgt = torch.autograd.grad((ty * torch.tensor(r, dtype=tdtype)).sum(), [tx, tt], create_graph=True)
    th, = torch.autograd.grad((tgx * torch.tensor(s, dtype=tdtype)).sum(), [tx])
    rtol = 1e-6 if dtype == "float32" else 1e-14
    for ours, theirs in ((y, ty), (gx, tgx), (gt, tgt), (h, th)):
        assert ours.dtype == getattr(ag, dtype)
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=rtol, atol=0, equal_nan=True)


# --- the distances with NaN rows, and cosine_similarity's eps ------------------------------------

NAN_ROWS = np.array([[np.nan, 1.0, 2.0], [np.inf, np.nan, 1.0], [3.0, 4.0, 0.0]])


@pytest.mark.filterwarnings("ignore:invalid value")
@pytest.mark.parametrize("p", [2.0, 3.0, 0.5])
def test_normalize_and_pairwise_distance_of_nan_rows_are_nan_as_torchs(device, torch, p):
    """normalize divided the finite entries of a NaN row by eps (1e12 for [nan, 1, 2]),
    and pairwise_distance gave such a row a finite distance."""
    tf = torch.nn.functional
    x, tx = ag.tensor(NAN_ROWS), torch.tensor(NAN_ROWS)
    same_but_cuda_ulps(F.normalize(x, p, 1).numpy(), tf.normalize(tx, p, 1).numpy(), device)
    other = NAN_ROWS[::-1].copy()
    same_but_cuda_ulps(F.pairwise_distance(x, ag.tensor(other), p).numpy(),
                       tf.pairwise_distance(tx, torch.tensor(other), p).numpy(), device)


@pytest.mark.filterwarnings("ignore:invalid value")
def test_cosine_similarity_gradient_of_a_nan_row_is_nan_as_torchs(device, torch):
    """The NaN row's norm was 0, clamped to eps: its finite entries got gradients of 1e8."""
    other = named_rng("cosine nan").standard_normal(NAN_ROWS.shape)
    x, tx = ag.tensor(NAN_ROWS, requires_grad=True), torch.tensor(NAN_ROWS, requires_grad=True)
    F.cosine_similarity(x, ag.tensor(other)).sum().backward()
    torch.nn.functional.cosine_similarity(tx, torch.tensor(other)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    assert np.isnan(x.grad.numpy()[:2]).all()


def test_cosine_similarity_refuses_a_negative_eps_as_torch(device, torch):
    """A negative eps lets a zero vector's norm through, 0 / 0; PyTorch refuses it."""
    x = ag.tensor([[0.0, 0.0], [1.0, 2.0]])
    with pytest.raises(RuntimeError, match="eps must be non-negative"):
        torch.nn.functional.cosine_similarity(torch.tensor(x.numpy()), torch.tensor(x.numpy()), eps=-1.0)
    for call in (lambda: F.cosine_similarity(x, x, eps=-1.0), lambda: nn.CosineSimilarity(eps=-1e-8)(x, x)):
        with pytest.raises(ValueError, match="cosine_similarity: eps must be at least 0"):
            call()


# --- messages for wrong class-index targets that point the right way; a negative total class weight ---

def test_nll_loss_float_targets_point_to_int64_and_cross_entropy(device, torch):
    """nll_loss takes no class probabilities, but its message for a float target (shared
    with cross_entropy) said to pass one of the input's shape, which it then refused."""
    logp, soft = np.log(np.full((3, 4), 0.25)), np.full((3, 4), 0.25)
    with pytest.raises(RuntimeError, match="multi-target not supported"):
        torch.nn.functional.nll_loss(torch.from_numpy(logp), torch.from_numpy(soft))
    with pytest.raises(TypeError, match=r"nll_loss: class-index targets must be integers, not float64; convert them "
                                        r"with target\.astype\(ag\.int64\) \(for class probabilities use "
                                        r"cross_entropy on the logits"):
        F.nll_loss(ag.tensor(logp), ag.tensor(soft))
    with pytest.raises(TypeError, match=r"cross_entropy: class-index targets must be integers, not bool; .*for class "
                                        r"probabilities pass a float target of the input's shape"):
        F.cross_entropy(ag.tensor(logp), ag.tensor(np.array([True, False, True])))


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("input_shape, axis", [((3, 4), 1), ((4,), 0), ((2, 4, 3), 1)],
                         ids=["batch", "unbatched", "spatial"])
def test_integer_one_hot_targets_name_the_argmax_that_gives_class_indices(device, torch, loss, input_shape, axis):
    x = np.random.default_rng(0).standard_normal(input_shape)
    one_hot = np.moveaxis(np.eye(input_shape[axis], dtype=np.int64)[np.zeros(x.shape[:axis] + x.shape[axis + 1:],
                                                                              dtype=np.int64)], -1, axis)
    with pytest.raises((RuntimeError, ValueError), match="target"):  # PyTorch refuses them too
        getattr(torch.nn.functional, loss)(torch.from_numpy(x), torch.from_numpy(one_hot))
    expected = input_shape[:1] + input_shape[2:] if len(input_shape) > 1 else ()
    message = (f"{loss}: the input of shape {input_shape} needs a target of shape {expected}, got {input_shape}; "
               f"for one-hot targets pass target.argmax(axis={axis})")
    with pytest.raises(ValueError, match=re.escape(message)):
        getattr(F, loss)(ag.tensor(x), ag.tensor(one_hot))
    # and the conversion it names gives PyTorch's loss
    indices = ag.tensor(one_hot).argmax(axis=axis)
    ours = getattr(F, loss)(ag.tensor(x), indices)
    theirs = getattr(torch.nn.functional, loss)(torch.from_numpy(x), torch.from_numpy(one_hot).argmax(dim=axis))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


def test_class_weights_with_a_negative_total_divide_as_torch(torch):
    """'mean' divides by the targets' total weight; a negative total gave NaN (the total
    was tested for > 0), where PyTorch divides by it."""
    rng = np.random.default_rng(0)
    x, t, w = rng.standard_normal((4, 5)), np.array([0, 1, 2, 3]), np.array([-1.0, -2, -1, -1, 1])
    for ours, theirs in ((F.cross_entropy, torch.nn.functional.cross_entropy),
                         (F.nll_loss, torch.nn.functional.nll_loss)):
        got = ours(ag.tensor(x), ag.tensor(t), weight=ag.tensor(w)).item()
        np.testing.assert_allclose(got, theirs(torch.tensor(x), torch.tensor(t), weight=torch.tensor(w)).item())
    got = F.linear_cross_entropy(ag.tensor(x), ag.tensor(np.eye(5)), ag.tensor(t), weight=ag.tensor(w)).item()
    np.testing.assert_allclose(got, torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(t),
                                                                      weight=torch.tensor(w)).item())


# --- a delta or beta that is not a number, refused by name -----------------------------------------

@pytest.mark.parametrize("delta", ["1.0", None])
def test_huber_loss_refuses_a_delta_that_is_not_a_number_by_name(delta):
    x = ag.tensor(np.ones(3, dtype=np.float32))
    with pytest.raises(TypeError, match="huber_loss: delta must be a real number"):
        F.huber_loss(x, x, delta=delta)
    with pytest.raises(TypeError, match="HuberLoss: delta must be a real number"):
        nn.HuberLoss(delta=delta)


def test_smooth_l1_loss_module_refuses_a_beta_that_is_not_a_number_by_name():
    with pytest.raises(TypeError, match="SmoothL1Loss: beta must be a real number"):
        nn.SmoothL1Loss(beta="0.5")


def test_huber_loss_with_a_numpy_delta_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((2, 5)).astype(np.float32), rng.standard_normal((2, 5)).astype(np.float32)
    got = F.huber_loss(ag.tensor(x), ag.tensor(y), delta=np.float32(0.5))
    expected = torch.nn.functional.huber_loss(torch.tensor(x), torch.tensor(y), delta=0.5)
    assert got.dtype == ag.float32
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6)


# --- class indices: ignore_index ----------------------------------------------------------------
# A NumPy scalar argument (np.float32(0.2), np.int64(0): a config read with NumPy, a value from
# np.linspace) is made a Python number where it is checked: the Array API (the 'strict' device)
# combines arrays with Python numbers only.


def _close(ours, theirs, **tolerance):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **tolerance)


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss", "linear_cross_entropy"])
def test_class_losses_take_a_numpy_ignore_index(device, torch, loss):
    """ignore_index was compared with the target array as given."""
    rng = named_rng(f"ignore_index {loss}")
    features = rng.standard_normal((5, 3) if loss == "linear_cross_entropy" else (5, 4))  # 4 classes
    linear_weight = rng.standard_normal((4, 3))
    target = np.array([1, 0, 3, 0, 2])
    x = ag.tensor(features, requires_grad=True)
    xt = torch.tensor(features, requires_grad=True)
    if loss == "linear_cross_entropy":
        y = F.linear_cross_entropy(x, ag.tensor(linear_weight), ag.tensor(target), ignore_index=np.int64(0))
        logits_t = xt @ torch.tensor(linear_weight).T
        yt = torch.nn.functional.cross_entropy(logits_t, torch.tensor(target), ignore_index=0)
    else:
        y = getattr(F, loss)(x, ag.tensor(target), ignore_index=np.int64(0))
        yt = getattr(torch.nn.functional, loss)(xt, torch.tensor(target), ignore_index=0)
    _close(y, yt, rtol=1e-12)
    y.backward()
    yt.backward()
    _close(x.grad, xt.grad, rtol=1e-12)


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
def test_class_losses_refuse_an_ignore_index_that_is_no_int(device, loss):
    """As PyTorch (a TypeError): a float ignore_index matched no integer target."""
    with pytest.raises(TypeError, match=f"{loss.__name__}: ignore_index must be an int, not 1.5"):
        loss(ag.zeros((2, 3)), ag.tensor([0, 1]), ignore_index=1.5)


NO_CLASSES = [  # (input shape, class-index target values, options): every target ignored, or none at all
    ((3, 0), [-100] * 3, {}), ((3, 0), [-100] * 3, {"label_smoothing": 0.1}), ((3, 0), [7] * 3, {"ignore_index": 7}),
    ((0, 0), [], {}), ((0, 0), [], {"label_smoothing": 0.1}), ((3, 0), [-100] * 3, {"weight": "empty"}),
    ((0,), -100, {})]


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("shape, targets, options", NO_CLASSES, ids=[str(i) for i in range(len(NO_CLASSES))])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_class_index_losses_over_zero_classes_are_torchs(device, torch, loss, shape, targets, options, reduction):
    """Logits of shape (N, 0), N = 0 too, whose targets are all ignore_index: PyTorch's values
    (0 per element, NaN with label smoothing, whose share of each class is smoothing / 0; 'mean'
    NaN) and empty gradients, quietly. A NumPy error (a max or a take over the empty axis) before."""
    if loss == "nll_loss" and "label_smoothing" in options:
        pytest.skip("nll_loss has no label smoothing")

    def run(lib, f):
        x = lib.zeros(shape, requires_grad=True)
        kwargs = dict(options, reduction=reduction)
        if "weight" in kwargs:
            kwargs["weight"] = lib.zeros(0)
        out = getattr(f, loss)(x, lib.tensor(np.array(targets, dtype=np.int64)), **kwargs)
        out.sum().backward()
        return np.asarray(out.detach().numpy() if lib is torch else out.numpy(), np.float64), tuple(x.grad.shape)
    (ours, our_grad), (theirs, their_grad) = run(ag, F), run(torch, torch.nn.functional)
    assert ours.shape == theirs.shape and our_grad == their_grad == shape
    np.testing.assert_array_equal(ours, theirs)  # (NaN in the same places)


def test_class_index_targets_over_zero_classes_are_refused_as_torch(device, torch):
    assert_raises_where_torch_raises(
        torch, lambda: F.cross_entropy(ag.zeros((3, 0)), ag.tensor([0, -100, -100])),
        lambda torch: torch.nn.functional.cross_entropy(torch.zeros(3, 0), torch.tensor([0, -100, -100])),
        ValueError, r"^cross_entropy: target 0 is out of bounds: the input has 0 classes, so every target must "
                    r"equal ignore_index=-100$")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_probability_targets_over_zero_classes_take_label_smoothing(device, torch, reduction):
    """Nothing to smooth over 0 classes: the values without smoothing (it divided by C = 0 and raised
    ZeroDivisionError); PyTorch's, but for 'mean' over N > 0 rows (0 here, NaN there: see the README)."""
    for n in (3, 0):
        x = ag.zeros((n, 0), requires_grad=True)
        got = F.cross_entropy(x, ag.zeros((n, 0)), reduction=reduction, label_smoothing=0.2)
        got.sum().backward()
        want = torch.nn.functional.cross_entropy(torch.zeros(n, 0), torch.zeros(n, 0), reduction=reduction,
                                                 label_smoothing=0.2)
        assert x.grad.shape == (n, 0) and got.shape == tuple(want.shape)
        if reduction == "mean" and n:
            assert got.item() == 0 and torch.isnan(want)
        else:
            np.testing.assert_array_equal(got.numpy(), want.numpy())
