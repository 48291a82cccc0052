"""ctc_loss, multilabel_margin_loss and triplet_margin_with_distance_loss, as
nn.functional and as modules, against PyTorch: values and gradients for each reduction
in float32 and float64, CTC's target layouts (padded, concatenated), repeated labels,
empty targets, impossible alignments with and without zero_infinity, another blank and
unbatched input; CTC's gradient for log_probs that are not normalized (PyTorch's, not
the derivative of the loss); gradcheck (through a log_softmax for CTC); CTC's missing
second derivative; the errors."""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

from .torch_compare import assert_gradcheck_and_gradgradcheck, named_rng

REDUCTIONS = ("none", "mean", "sum")


def _log_softmax(x):
    shifted = x - x.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


# (input lengths, target lengths, labels of each sample): a full-length sample, a repeated
# label (its blank between the two costs a frame), an empty target, a short input, and
# two impossible ones (a target longer than its input; a repeat with no frame left for
# its blank), all padded to 4 labels
CTC_BATCH = ([9, 8, 6, 4, 2, 2], [4, 3, 0, 2, 3, 2],
             [[1, 2, 3, 1], [2, 2, 3, 0], [0, 0, 0, 0], [3, 1, 0, 0], [1, 2, 3, 0], [2, 2, 0, 0]])
POSSIBLE = 4  # the first four samples have alignments


def _ctc_case(name, frames=9, classes=5, blank=0, samples=len(CTC_BATCH[0])):
    """Normalized log-probabilities (T, N, C), the lengths, and padded labels that avoid
    ``blank`` (labels 1.. shifted past it), with padding that is not a valid class."""
    rng = named_rng(name)
    log_probs = _log_softmax(rng.standard_normal((frames, samples, classes)))
    input_lengths, target_lengths, labels = (list(x[:samples]) for x in CTC_BATCH)
    labels = np.array(labels, dtype=np.int64)
    labels = np.where(labels >= blank, labels + 1, labels) if blank else labels
    labels = np.where(np.arange(4) < np.array(target_lengths)[:, None], labels, -7)  # ignored padding
    return log_probs, labels, input_lengths, target_lengths


def _concatenated(labels, target_lengths):
    return np.concatenate([row[:n] for row, n in zip(labels, target_lengths)]).astype(np.int64)


def _ctc_both(torch, log_probs, targets, input_lengths, target_lengths, dtype="float64", seed="seed", **kwargs):
    """Our loss and log_probs gradient (of sum(loss * r)) and PyTorch's, as arrays.
    PyTorch never sees the ignored padding (-7), which it would read as a class."""
    ours_lp = ag.tensor(log_probs, dtype=dtype, requires_grad=True)
    theirs_lp = torch.tensor(log_probs, dtype=getattr(torch, dtype), requires_grad=True)
    loss = F.ctc_loss(ours_lp, ag.tensor(targets), input_lengths, target_lengths, **kwargs)
    ref = torch.nn.functional.ctc_loss(theirs_lp, torch.from_numpy(np.maximum(targets, 0)),
                                       torch.tensor(input_lengths), torch.tensor(target_lengths), **kwargs)
    r = named_rng(seed).uniform(0.5, 1.5, tuple(ref.shape))
    loss.backward(ag.tensor(r, dtype=dtype))
    ref.backward(torch.tensor(r, dtype=ref.dtype))
    assert loss.shape == tuple(ref.shape) and loss.dtype == getattr(ag, dtype)
    assert ours_lp.grad.dtype == getattr(ag, dtype)
    return (loss.numpy(), ours_lp.grad.numpy()), (ref.detach().numpy(), theirs_lp.grad.numpy())


def _assert_close(ours, theirs, dtype, where):
    tolerance = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=2e-5, atol=2e-6)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t, err_msg=where, **tolerance)  # inf and NaN where PyTorch has them


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("layout", ["padded", "concatenated"])
@pytest.mark.parametrize("blank", [0, 3])
def test_ctc_loss_matches_torch_for_each_reduction(device, torch, dtype, layout, blank):
    for reduction in REDUCTIONS:
        for zero_infinity in (False, True):
            for samples in (POSSIBLE, len(CTC_BATCH[0])):  # without, then with impossible alignments
                log_probs, labels, input_lengths, target_lengths = _ctc_case(f"ctc-{blank}", blank=blank,
                                                                             samples=samples)
                targets = labels if layout == "padded" else _concatenated(labels, target_lengths)
                ours, theirs = _ctc_both(torch, log_probs, targets, input_lengths, target_lengths, dtype,
                                         blank=blank, reduction=reduction, zero_infinity=zero_infinity)
                where = f"reduction={reduction}, zero_infinity={zero_infinity}, {samples} samples"
                _assert_close(ours, theirs, dtype, where)
                impossible = samples > POSSIBLE and not zero_infinity
                assert np.isinf(ours[0]).any() == impossible, where
                assert np.isnan(ours[1]).any() == impossible, where


@pytest.mark.filterwarnings("error")  # no inf - inf or log(0) on the way
def test_ctc_loss_of_impossible_alignments_is_inf_or_zero_with_its_gradient(device, torch):
    log_probs, labels, input_lengths, target_lengths = _ctc_case("impossible")
    (loss, grad), _ = _ctc_both(torch, log_probs, labels, input_lengths, target_lengths, reduction="none")
    assert np.isinf(loss[POSSIBLE:]).all() and np.isfinite(loss[:POSSIBLE]).all()
    # NaN on an impossible sample's frames (PyTorch's exp(lp) - exp(-inf + inf - lp)), 0 after them
    assert np.isnan(grad[:2, POSSIBLE:]).all() and (grad[2:, POSSIBLE:] == 0).all()
    (loss, grad), _ = _ctc_both(torch, log_probs, labels, input_lengths, target_lengths, reduction="none",
                                zero_infinity=True)
    assert (loss[POSSIBLE:] == 0).all() and (grad[:, POSSIBLE:] == 0).all()
    assert np.isfinite(grad).all()


# (targets, input lengths, target lengths) at the edges: every target empty, padded or
# concatenated; an input of no frames (with an empty target: loss 0; with a label: inf);
# one frame per sequence
EDGES = {
    "all targets empty, padded": (np.zeros((3, 0), dtype=np.int64), [4, 2, 0], [0, 0, 0]),
    "all targets empty, concatenated": (np.zeros(0, dtype=np.int64), [4, 2, 0], [0, 0, 0]),
    "an input of no frames": (np.array([1, 2, 3]), [4, 0, 0], [2, 1, 0]),
    "one frame": (np.array([[1], [2], [4]]), [1, 1, 1], [1, 1, 1]),
}


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", sorted(EDGES))
def test_ctc_loss_at_the_edges_matches_torch(device, torch, name):
    targets, input_lengths, target_lengths = EDGES[name]
    log_probs = _log_softmax(named_rng(name).standard_normal((4 if name != "one frame" else 1, 3, 5)))
    for reduction in REDUCTIONS:
        ours, theirs = _ctc_both(torch, log_probs, targets, input_lengths, target_lengths, reduction=reduction)
        _assert_close(ours, theirs, "float64", reduction)


def test_ctc_loss_of_one_unbatched_sequence_matches_torch(device, torch):
    log_probs, labels, _, _ = _ctc_case("unbatched", samples=2)
    one = log_probs[:, 0]
    target = labels[0]
    lengths = [(9, 4), (ag.tensor(9), ag.tensor(4)), ([9], (4,)), (ag.tensor([9]), ag.tensor([4]))]
    for reduction in REDUCTIONS:
        theirs_lp = torch.tensor(one, requires_grad=True)
        ref = torch.nn.functional.ctc_loss(theirs_lp, torch.from_numpy(target), torch.tensor(9), torch.tensor(4),
                                           reduction=reduction)
        ref.backward()
        for input_length, target_length in lengths:
            ours_lp = ag.tensor(one, dtype=ag.float64, requires_grad=True)
            loss = F.ctc_loss(ours_lp, ag.tensor(target), input_length, target_length, reduction=reduction)
            loss.backward()
            assert loss.shape == ()
            np.testing.assert_allclose(loss.numpy(), ref.detach().numpy(), rtol=1e-12)
            np.testing.assert_allclose(ours_lp.grad.numpy(), theirs_lp.grad.numpy(), rtol=1e-10, atol=1e-12)
    # A (1, S) target, as PyTorch takes it
    loss = F.ctc_loss(ag.tensor(one, dtype=ag.float64), ag.tensor(target[None]), 9, 4, reduction="none")
    ref = torch.nn.functional.ctc_loss(torch.tensor(one), torch.from_numpy(target[None]), [9], [4], reduction="none")
    assert loss.shape == tuple(ref.shape) == ()
    np.testing.assert_allclose(loss.numpy(), ref.numpy(), rtol=1e-12)


def test_ctc_loss_takes_lengths_as_tuples_lists_and_int_tensors_and_any_integer_targets(device, torch):
    log_probs, labels, input_lengths, target_lengths = _ctc_case("lengths", samples=POSSIBLE)
    expected = F.ctc_loss(ag.tensor(log_probs), ag.tensor(labels), input_lengths, target_lengths)
    for il, tl, targets in [(tuple(input_lengths), tuple(target_lengths), labels),
                            (ag.tensor(input_lengths, dtype=ag.int32), ag.tensor(target_lengths), labels),
                            (input_lengths, ag.tensor(np.array(target_lengths, dtype=np.uint8)), np.maximum(labels, 0)),
                            (input_lengths, target_lengths, np.maximum(labels, 0).astype(np.int32))]:
        loss = F.ctc_loss(ag.tensor(log_probs), ag.tensor(targets), il, tl)
        assert loss.item() == expected.item()


def test_ctc_loss_gradient_is_torchs_for_log_probs_that_are_not_normalized(device, torch):
    """PyTorch's gradient, exp(lp) - occupancy, assumes log_softmax outputs: for other inputs it
    is the loss's derivative plus exp(lp) on each sample's frames. Ours is PyTorch's."""
    _, labels, input_lengths, target_lengths = _ctc_case("raw", samples=POSSIBLE)
    raw = named_rng("raw-scores").standard_normal((9, POSSIBLE, 5))
    (loss, grad), (ref, ref_grad) = _ctc_both(torch, raw, labels, input_lengths, target_lengths, reduction="sum")
    np.testing.assert_allclose(loss, ref, rtol=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-12)
    # Central differences of our loss give the true derivative: PyTorch's less exp(lp)
    numeric = np.zeros_like(raw)
    r = named_rng("seed").uniform(0.5, 1.5, ())
    eps = 1e-6
    for index in np.ndindex(raw.shape):
        values = []
        for step in (eps, -eps):
            moved = raw.copy()
            moved[index] += step
            values.append(F.ctc_loss(ag.tensor(moved, dtype=ag.float64), ag.tensor(labels), input_lengths,
                                     target_lengths, reduction="sum").item())
        numeric[index] = (values[0] - values[1]) / (2 * eps) * r
    on_frames = (np.arange(9)[:, None] < np.array(input_lengths))[:, :, None]
    np.testing.assert_allclose(grad - numeric, np.exp(raw) * on_frames * r, rtol=1e-6, atol=1e-7)


def test_ctc_loss_gradcheck_through_log_softmax(device):
    """Through a log_softmax the exp(lp) term vanishes, so the gradient is the true one."""
    _, labels, input_lengths, target_lengths = _ctc_case("gradcheck", frames=6, classes=4, samples=3)
    labels = np.minimum(np.maximum(labels, 1), 3)
    x = ag.tensor(named_rng("gradcheck-x").standard_normal((6, 3, 4)), dtype=ag.float64, requires_grad=True)
    for reduction in REDUCTIONS:
        def loss_of(scores):
            return F.ctc_loss(F.log_softmax(scores, axis=2), ag.tensor(labels), [6, 6, 4], [2, 3, 0],
                              reduction=reduction)
        assert ag.gradcheck(loss_of, [x], atol=1e-6, rtol=1e-5)


def test_ctc_loss_has_no_second_derivative_in_log_probs_as_torch(device, torch):
    log_probs, labels, input_lengths, target_lengths = _ctc_case("double", samples=POSSIBLE)
    lp = ag.tensor(log_probs, dtype=ag.float64, requires_grad=True)
    w = ag.tensor(2.0, dtype=ag.float64, requires_grad=True)
    g, = ag.grad(F.ctc_loss(lp, ag.tensor(labels), input_lengths, target_lengths) * w, [lp], create_graph=True)
    plain, = ag.grad(F.ctc_loss(lp, ag.tensor(labels), input_lengths, target_lengths) * w, [lp])
    # the same first derivative, recorded (CUDA's scatter-add adds in the order its atomics land: last bits)
    tol = 1e-13 if device.startswith("cuda") else 0
    np.testing.assert_allclose(g.numpy(), plain.numpy(), rtol=tol, atol=tol * 1e-2)
    r = ag.tensor(named_rng("double-r").standard_normal(log_probs.shape), dtype=ag.float64)
    # Linear in the incoming gradient: d/dw of sum(g r) is sum(g r) / w
    gw, = ag.grad((g * r).sum(), [w], retain_graph=True)
    np.testing.assert_allclose(gw.numpy(), (g * r).sum().numpy() / 2.0, rtol=1e-12)
    with pytest.raises(RuntimeError, match="second derivative with respect to log_probs"):
        ag.grad((g * r).sum(), [lp])
    tlp = torch.tensor(log_probs, requires_grad=True)
    tg, = torch.autograd.grad(torch.nn.functional.ctc_loss(tlp, torch.from_numpy(np.maximum(labels, 0)),
                                                           input_lengths, target_lengths), [tlp], create_graph=True)
    with pytest.raises(RuntimeError, match="not implemented"):
        torch.autograd.grad(tg.sum(), [tlp])


def test_ctc_loss_module_matches_the_function_and_torchs_module(device, torch):
    log_probs, labels, input_lengths, target_lengths = _ctc_case("module", blank=4)
    for reduction in REDUCTIONS:
        module = nn.CTCLoss(blank=4, reduction=reduction, zero_infinity=True)
        theirs = torch.nn.CTCLoss(blank=4, reduction=reduction, zero_infinity=True)
        loss = module(ag.tensor(log_probs, dtype=ag.float64), ag.tensor(labels), input_lengths, target_lengths)
        ref = theirs(torch.tensor(log_probs), torch.from_numpy(np.maximum(labels, 0)), input_lengths,
                     target_lengths)
        np.testing.assert_allclose(loss.numpy(), ref.numpy(), rtol=1e-12)
    assert (module.blank, module.reduction, module.zero_infinity) == (4, "sum", True)
    with pytest.raises(ValueError, match="reduction"):
        nn.CTCLoss(reduction="max")
    with pytest.raises(ValueError, match="at least 0"):
        nn.CTCLoss(blank=-1)
    with pytest.raises(TypeError, match="blank must be an int"):
        nn.CTCLoss(blank=1.0)


def _ctc_error(log_probs=None, targets=None, il=(4, 4), tl=(2, 1), **kwargs):
    log_probs = ag.zeros((4, 2, 5)) if log_probs is None else log_probs
    targets = ag.tensor([[1, 2], [3, 0]]) if targets is None else targets
    return lambda: F.ctc_loss(log_probs, targets, il, tl, **kwargs)


CTC_ERRORS = {
    "integer log_probs": (_ctc_error(ag.zeros((4, 2, 5), dtype=ag.int64)), TypeError, "log_probs must be floating"),
    "4-D log_probs": (_ctc_error(ag.zeros((4, 2, 5, 1))), ValueError, r"shape \(T, N, C\)"),
    "empty log_probs": (_ctc_error(ag.zeros((0, 2, 5)), il=(0, 0), tl=(0, 0)), ValueError, "must not be empty"),
    "float targets": (_ctc_error(targets=ag.tensor([[1.0, 2.0], [3.0, 0.0]])), TypeError, "targets must be class"),
    "targets a list": (_ctc_error(targets=[[1, 2], [3, 0]]), TypeError, "targets must be a Tensor"),
    "float lengths": (_ctc_error(il=ag.tensor([4.0, 4.0])), TypeError, "input_lengths must hold integers"),
    "float in a list": (_ctc_error(tl=[2.0, 1]), TypeError, "target_lengths must be a sequence of 2 ints"),
    "an int for a batch": (_ctc_error(il=4), TypeError, "input_lengths must be a sequence of 2 ints"),
    "lengths per sample": (_ctc_error(il=(4, 4, 4)), ValueError, "input_lengths has 3 entries but the batch has 2"),
    "2-D lengths": (_ctc_error(tl=ag.tensor([[2, 1]])), ValueError, r"integer tensor of shape \(2,\)"),
    "input length past T": (_ctc_error(il=(5, 4)), ValueError, r"input_lengths\[0\] = 5 is out of range"),
    "negative input length": (_ctc_error(il=(4, -1)), ValueError, r"input_lengths\[1\] = -1 is out of range"),
    "negative target length": (_ctc_error(tl=(2, -1)), ValueError, r"target_lengths\[1\] = -1 is negative"),
    "target longer than padding": (_ctc_error(tl=(3, 1)), ValueError, "asks for up to 3 labels"),
    "padded rows": (_ctc_error(targets=ag.tensor([[1, 2]])), ValueError, "one row per sequence"),
    "concatenated count": (_ctc_error(targets=ag.tensor([1, 2, 3, 4])), ValueError, r"sum\(target_lengths\) = 3"),
    "3-D targets": (_ctc_error(targets=ag.tensor([[[1, 2], [3, 0]]])), ValueError, "padded, shape"),
    "blank in a target": (_ctc_error(targets=ag.tensor([[1, 0], [3, 0]])), ValueError, "holds the blank label 0"),
    "label past C": (_ctc_error(targets=ag.tensor([[1, 5], [3, 0]])), ValueError, "target 5 is out of range"),
    "negative label": (_ctc_error(targets=ag.tensor([[1, -2], [3, 0]])), ValueError, "target -2 is out of range"),
    "blank past C": (_ctc_error(blank=5), ValueError, "blank=5 is out of range"),
    "float blank": (_ctc_error(blank=0.0), TypeError, "blank must be an int"),
    "reduction": (_ctc_error(reduction="batchmean"), ValueError, "reduction must be"),
    "unbatched 2-D targets": (_ctc_error(ag.zeros((4, 5)), ag.tensor([[1, 2], [3, 4]]), il=4, tl=2), ValueError,
                              r"need targets of shape \(S,\)"),
}


@pytest.mark.parametrize("name", sorted(CTC_ERRORS))
def test_ctc_loss_errors_name_the_argument_and_the_fix(device, name):
    call, error, match = CTC_ERRORS[name]
    with pytest.raises(error, match=match):
        call()


def test_ctc_loss_ignores_labels_past_each_target_length(device):
    # padding may hold anything, even the blank or values outside [0, C), as in PyTorch
    log_probs = ag.tensor(_log_softmax(named_rng("padding").standard_normal((4, 2, 5))))
    clean = F.ctc_loss(log_probs, ag.tensor([[1, 2], [3, 0]]), (4, 4), (2, 1), reduction="none")
    padded = F.ctc_loss(log_probs, ag.tensor([[1, 2, 0], [3, -9, 99]]), (4, 4), (2, 1), reduction="none")
    np.testing.assert_array_equal(clean.numpy(), padded.numpy())


# --- multilabel_margin_loss ------------------------------------------------------------

def _multilabel_case(name):
    """Scores away from the hinge's kink, and targets with -1 ends, a repeat, an empty
    row, a full row and junk after an end (which must still be a valid index)."""
    x = named_rng(name).uniform(-2, 2, (5, 4))
    target = np.array([[3, 0, -1, 1], [1, 1, -1, 0], [-1, 2, 2, 2], [0, 1, 2, 3], [2, -1, -1, -1]])
    return x, target


def _multilabel_both(torch, x, target, dtype, **kwargs):
    ours_x = ag.tensor(x, dtype=dtype, requires_grad=True)
    theirs_x = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    loss = F.multilabel_margin_loss(ours_x, ag.tensor(target), **kwargs)
    ref = torch.nn.functional.multilabel_margin_loss(theirs_x, torch.tensor(target, dtype=torch.int64), **kwargs)
    r = named_rng("multilabel-r").uniform(0.5, 1.5, tuple(ref.shape))
    loss.backward(ag.tensor(r, dtype=dtype))
    ref.backward(torch.tensor(r, dtype=ref.dtype))
    assert loss.shape == tuple(ref.shape) and loss.dtype == getattr(ag, dtype)
    return (loss.numpy(), ours_x.grad.numpy()), (ref.detach().numpy(), theirs_x.grad.numpy())


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_multilabel_margin_loss_matches_torch_for_each_reduction(device, torch, dtype):
    x, target = _multilabel_case("multilabel")
    for reduction in REDUCTIONS:
        for case in [(x, target), (x[1], target[1]), (x[0, 0], np.array(0))]:  # (N, C), (C,), 0-d
            ours, theirs = _multilabel_both(torch, *case, dtype, reduction=reduction)
            _assert_close(ours, theirs, dtype, f"reduction={reduction}, shape {case[0].shape}")
    legacy = F.multilabel_margin_loss(ag.tensor(x), ag.tensor(target), size_average=False)
    np.testing.assert_allclose(legacy.numpy(), F.multilabel_margin_loss(ag.tensor(x), ag.tensor(target),
                                                                        reduction="sum").numpy())


@pytest.mark.parametrize("block_elements", [1, 7, 1 << 20])
def test_multilabel_margin_loss_in_blocks_of_target_positions_matches_torch(device, torch, monkeypatch,
                                                                           block_elements):
    """Target positions go a block at a time, so memory stays linear in N * C (an
    (N, C, C) intermediate was 256 MB at N=64, C=1000); any block size gives PyTorch's
    values, including rows with no target and an inf score."""
    from nn.functional import margin_loss
    monkeypatch.setattr(margin_loss, "BLOCK_ELEMENTS", block_elements)
    x, target = _multilabel_case("multilabel blocks")
    target[2] = -1  # a row that lists no target
    x[2, 1] = np.inf  # in that row: its loss stays 0, as PyTorch's
    ours, theirs = _multilabel_both(torch, x, target, "float64", reduction="none")
    _assert_close(ours, theirs, "float64", f"blocks of {block_elements} elements")
    none, = _multilabel_both(torch, x[2:3], target[2:3], "float64", reduction="sum")[:1]
    assert none[0] == 0 and np.all(none[1] == 0)


def test_multilabel_margin_loss_gradient_at_the_kink_is_torchs(device, torch):
    # z = 1 - (x[0] - x[i]) is 0 for class 1: no gradient there, as PyTorch's z > 0 test
    ours, theirs = _multilabel_both(torch, np.array([[1.0, 0.0, 0.5, 3.0]]), np.array([[0, -1, 3, 3]]), "float64",
                                    reduction="sum")
    _assert_close(ours, theirs, "float64", "kink")


def test_multilabel_margin_loss_of_an_empty_batch(device):
    empty = F.multilabel_margin_loss(ag.zeros((0, 3)), ag.zeros((0, 3), dtype=ag.int64))
    assert np.isnan(empty.numpy())
    assert F.multilabel_margin_loss(ag.zeros((0, 3)), ag.zeros((0, 3), dtype=ag.int64), reduction="sum").item() == 0
    assert F.multilabel_margin_loss(ag.zeros((0, 3)), ag.zeros((0, 3), dtype=ag.int64),
                                    reduction="none").shape == (0,)


def test_multilabel_margin_loss_module_matches_torchs(device, torch):
    x, target = _multilabel_case("multilabel-module")
    for reduction in REDUCTIONS:
        loss = nn.MultiLabelMarginLoss(reduction=reduction)(ag.tensor(x, dtype=ag.float64), ag.tensor(target))
        ref = torch.nn.MultiLabelMarginLoss(reduction=reduction)(torch.tensor(x), torch.from_numpy(target))
        np.testing.assert_allclose(loss.numpy(), ref.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="reduction"):
        nn.MultiLabelMarginLoss(reduction="max")


MULTILABEL_ERRORS = {
    "float target": ((ag.zeros((2, 3)), ag.zeros((2, 3))), TypeError, "targets must be class indices"),
    "integer input": ((ag.zeros((2, 3), dtype=ag.int64), ag.zeros((2, 3), dtype=ag.int64)), TypeError,
                      "must be floating"),
    "shapes differ": ((ag.zeros((2, 3)), ag.zeros((2, 2), dtype=ag.int64)), ValueError, "input's shape"),
    "3-D": ((ag.zeros((2, 3, 4)), ag.zeros((2, 3, 4), dtype=ag.int64)), ValueError, r"shape \(N, C\)"),
    "no classes": ((ag.zeros((2, 0)), ag.zeros((2, 0), dtype=ag.int64)), ValueError, "C > 0"),
    "class past C": ((ag.zeros((1, 3)), ag.tensor([[0, -1, 3]])), ValueError, "target 3 is out of range"),
    "below -1": ((ag.zeros((1, 3)), ag.tensor([[0, -2, 1]])), ValueError, "target -2 is out of range"),
}


@pytest.mark.parametrize("name", sorted(MULTILABEL_ERRORS))
def test_multilabel_margin_loss_errors(device, name):
    args, error, match = MULTILABEL_ERRORS[name]
    with pytest.raises(error, match=match):
        F.multilabel_margin_loss(*args)


# --- triplet_margin_with_distance_loss -------------------------------------------------

def _cosine_distance(f):
    return lambda a, b: 1 - f.cosine_similarity(a, b)


# name: the keyword arguments, with the distance made for nn.functional or for PyTorch's
TRIPLET_CASES = {
    "default": lambda f, lib: {},
    "swap, margin 2": lambda f, lib: {"swap": True, "margin": 2.0},
    "cosine distance": lambda f, lib: {"distance_function": _cosine_distance(f), "margin": 0.5},
    "PairwiseDistance module p=1, swap": lambda f, lib: {"distance_function": lib.PairwiseDistance(p=1.0),
                                                         "swap": True, "margin": 3.0},
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(TRIPLET_CASES))
def test_triplet_margin_with_distance_loss_matches_torch(device, torch, dtype, name):
    rng = named_rng(name)
    arrays = [rng.standard_normal((4, 5)) for _ in range(3)]
    tolerance = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=2e-5, atol=2e-6)
    for reduction in REDUCTIONS:
        ours = [ag.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
        theirs = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in arrays]
        loss = F.triplet_margin_with_distance_loss(*ours, reduction=reduction, **TRIPLET_CASES[name](F, nn))
        ref = torch.nn.functional.triplet_margin_with_distance_loss(
            *theirs, reduction=reduction, **TRIPLET_CASES[name](torch.nn.functional, torch.nn))
        assert loss.shape == tuple(ref.shape) and loss.dtype == getattr(ag, dtype)
        r = named_rng("triplet-r").uniform(0.5, 1.5, tuple(ref.shape))
        loss.backward(ag.tensor(r, dtype=dtype))
        ref.backward(torch.tensor(r, dtype=ref.dtype))
        np.testing.assert_allclose(loss.numpy(), ref.detach().numpy(), **tolerance)
        for o, t in zip(ours, theirs):
            np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), err_msg=reduction, **tolerance)


def test_triplet_margin_with_distance_loss_module_matches_torchs(device, torch):
    arrays = [named_rng("triplet-module").standard_normal((4, 5)) for _ in range(3)]
    arrays = [a + i for i, a in enumerate(arrays)]
    module = nn.TripletMarginWithDistanceLoss(distance_function=nn.PairwiseDistance(p=1.0), margin=4.0, swap=True)
    theirs = torch.nn.TripletMarginWithDistanceLoss(distance_function=torch.nn.PairwiseDistance(p=1.0), margin=4.0,
                                                    swap=True)
    loss = module(*[ag.tensor(a, dtype=ag.float64) for a in arrays])
    np.testing.assert_allclose(loss.numpy(), theirs(*[torch.tensor(a) for a in arrays]).numpy(), rtol=1e-12)
    assert [name for name, _ in module.named_modules()] == [name for name, _ in theirs.named_modules()]
    assert nn.TripletMarginWithDistanceLoss().distance_function is F.pairwise_distance
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        nn.TripletMarginWithDistanceLoss(margin=0.0)
    with pytest.raises(TypeError, match="distance_function must be a callable"):
        nn.TripletMarginWithDistanceLoss(distance_function="euclidean")
    with pytest.raises(ValueError, match="reduction"):
        nn.TripletMarginWithDistanceLoss(reduction="max")


TRIPLET_ERRORS = {
    "margin 0": (dict(margin=0.0), ValueError, "margin must be greater than 0"),
    "margin a string": (dict(margin="1"), TypeError, "margin must be a real number"),
    "distance not callable": (dict(distance_function=2), TypeError, "distance_function must be a callable"),
    "reduction": (dict(reduction="avg"), ValueError, "reduction must be"),
    "dimensions": (dict(negative=ag.zeros(5)), ValueError, "same number of dimensions"),
    "negative an array": (dict(negative=np.zeros((4, 5))), TypeError, "negative must be a Tensor"),
}


@pytest.mark.parametrize("name", sorted(TRIPLET_ERRORS))
def test_triplet_margin_with_distance_loss_errors(device, name):
    kwargs, error, match = TRIPLET_ERRORS[name]
    kwargs = dict(kwargs)
    negative = kwargs.pop("negative", ag.zeros((4, 5)))
    with pytest.raises(error, match=match):
        F.triplet_margin_with_distance_loss(ag.zeros((4, 5)), ag.ones((4, 5)), negative, **kwargs)


# The two margin losses, in float64 away from their kinks: first and second derivatives
GRADCHECK = {
    "multilabel_margin_loss": (lambda x: F.multilabel_margin_loss(x * 0.1, ag.tensor([[3, 0, -1, 1], [1, 1, -1, 0]])),
                               [(2, 4)]),
    "triplet_margin_with_distance_loss": (
        lambda a, p, n: F.triplet_margin_with_distance_loss(a, p, n, margin=20.0, swap=True), [(2, 3)] * 3),
    "triplet_margin_with_distance_loss-cosine": (
        lambda a, p, n: F.triplet_margin_with_distance_loss(a, p, n, distance_function=_cosine_distance(F),
                                                            margin=5.0, reduction="sum"), [(2, 3)] * 3),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_gradcheck_and_gradgradcheck(device, name):
    assert_gradcheck_and_gradgradcheck(name, *GRADCHECK[name])


def test_the_new_losses_are_exported():
    assert {"ctc_loss", "multilabel_margin_loss", "triplet_margin_with_distance_loss"} <= set(F.__all__)
    for name in ("CTCLoss", "MultiLabelMarginLoss", "TripletMarginWithDistanceLoss"):
        assert issubclass(getattr(nn, name), nn.Module)


# --- the CTC blank -------------------------------------------------------------------------------
# A NumPy scalar argument (np.float32(0.2), np.int64(0): a config read with NumPy, a value from
# np.linspace) is made a Python number where it is checked: the Array API (the 'strict' device)
# combines arrays with Python numbers only.


def _close(ours, theirs, **tolerance):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **tolerance)


def test_ctc_loss_takes_a_numpy_blank(device, torch):
    """The blank was compared with the label array as given."""
    logits = named_rng("ctc numpy blank").standard_normal((6, 2, 4))
    targets, input_lengths, target_lengths = np.array([[1, 2], [0, 0]]), [6, 5], [2, 1]
    x = ag.tensor(logits, requires_grad=True)
    xt = torch.tensor(logits, requires_grad=True)
    y = F.ctc_loss(F.log_softmax(x, axis=2), ag.tensor(targets), input_lengths, target_lengths, blank=np.int64(3))
    yt = torch.nn.functional.ctc_loss(xt.log_softmax(2), torch.tensor(targets), input_lengths, target_lengths,
                                      blank=3)
    _close(y, yt, rtol=1e-10)
    y.backward()
    yt.backward()
    _close(x.grad, xt.grad, rtol=1e-8, atol=1e-12)
