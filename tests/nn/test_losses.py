"""Losses, as functions and as modules, against PyTorch in float64 (values and
gradients for every reduction), their numerical stability at extreme inputs, and
gradcheck/gradgradcheck of the fused cross-entropy on every backend."""

import numpy as np
import pytest

import autograd as ag
import nn

from .torch_compare import named_rng
import nn.functional as F

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
