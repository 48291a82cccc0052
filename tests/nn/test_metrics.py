"""nn.metrics against scikit-learn's definitions."""
import tracemalloc

import numpy as np
import pytest
from sklearn import metrics as sk

import autograd as ag
from nn import metrics

SCORES = [(metrics.precision, sk.precision_score), (metrics.recall, sk.recall_score), (metrics.f1, sk.f1_score)]


def labels(n, classes, seed):
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, classes, n)
    preds = np.where(rng.random(n) < 0.6, targets, rng.integers(0, classes, n))  # better than chance
    return preds, targets


@pytest.mark.parametrize("average", ["macro", "micro", "weighted", None])
@pytest.mark.parametrize("classes", [2, 3, 6])
def test_scores_match_sklearn(device, average, classes):
    preds, targets = labels(120, classes, seed=classes)
    preds[:3] = classes  # a class that only occurs among the predictions
    p, t = ag.tensor(preds), ag.tensor(targets)
    for ours, theirs in SCORES:
        expected = theirs(targets, preds, average=average, zero_division=0)
        np.testing.assert_allclose(ours(p, t, average=average), expected, rtol=1e-12, err_msg=ours.__name__)


@pytest.mark.parametrize("average", ["macro", "micro", "weighted"])
def test_num_classes_counts_absent_classes_like_sklearn_labels(device, average):
    preds, targets = labels(60, 3, seed=1)
    for ours, theirs in SCORES:
        expected = theirs(targets, preds, average=average, labels=list(range(5)), zero_division=0)
        got = ours(ag.tensor(preds), ag.tensor(targets), average=average, num_classes=5)
        np.testing.assert_allclose(got, expected, rtol=1e-12, err_msg=ours.__name__)


def test_binary_average_and_pos_label(device):
    preds, targets = labels(80, 2, seed=2)
    for ours, theirs in SCORES:
        for pos_label in (0, 1):
            expected = theirs(targets, preds, average="binary", pos_label=pos_label)
            got = ours(ag.tensor(preds), ag.tensor(targets), average="binary", pos_label=pos_label)
            assert got == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="binary"):
        metrics.precision(ag.tensor([0, 1, 2]), ag.tensor([0, 1, 2]), average="binary")


def test_zero_division(device):
    preds, targets = ag.tensor([0, 0, 0]), ag.tensor([0, 0, 1])  # class 1 never predicted
    for value in (0.0, 1.0):
        expected = sk.precision_score([0, 0, 1], [0, 0, 0], average="macro", zero_division=value)
        assert metrics.precision(preds, targets, zero_division=value) == pytest.approx(expected)


def test_accuracy_from_labels_logits_and_scores(device):
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(50, 4)).astype(np.float32)
    targets = rng.integers(0, 4, 50)
    expected = sk.accuracy_score(targets, logits.argmax(axis=1))
    assert metrics.accuracy(ag.tensor(logits), ag.tensor(targets)) == pytest.approx(expected)
    assert metrics.accuracy(ag.tensor(logits.argmax(axis=1)), ag.tensor(targets)) == pytest.approx(expected)
    scores = rng.random(40).astype(np.float32)
    binary = rng.integers(0, 2, 40)
    expected = sk.accuracy_score(binary, scores >= 0.5)
    float_targets = ag.tensor(binary.astype(np.float32))  # as a BCE loss wants them
    assert metrics.accuracy(ag.tensor(scores), float_targets, threshold=0.5) == pytest.approx(expected)
    assert metrics.accuracy([1, 2, 3], [1, 2, 0]) == pytest.approx(2 / 3)
    # Class axis 1 (PyTorch's layout) for per-pixel predictions: (N, C, H) against (N, H).
    pixel_logits = rng.normal(size=(2, 3, 5))
    pixel_targets = rng.integers(0, 3, (2, 5))
    expected = np.mean(pixel_logits.argmax(axis=1) == pixel_targets)
    assert metrics.accuracy(ag.tensor(pixel_logits), ag.tensor(pixel_targets)) == pytest.approx(expected)


def test_confusion_matrix_matches_sklearn(device):
    preds, targets = labels(70, 4, seed=4)
    got = metrics.confusion_matrix(ag.tensor(preds), ag.tensor(targets), num_classes=5)
    assert got.dtype == ag.int64
    np.testing.assert_array_equal(got.numpy(), sk.confusion_matrix(targets, preds, labels=range(5)))


def test_bad_inputs_are_rejected(device):
    with pytest.raises(ValueError, match="average"):
        metrics.precision(ag.tensor([0]), ag.tensor([0]), average="samples")
    with pytest.raises(ValueError, match="do not fit"):
        metrics.accuracy(ag.zeros(4, 3, 2), ag.tensor([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="negative"):
        metrics.recall(ag.tensor([0, -1]), ag.tensor([0, 1]))
    with pytest.raises(ValueError, match="not whole numbers"):
        metrics.accuracy(ag.tensor([0.2, 0.9]), ag.tensor([0, 1]))
    with pytest.raises(ValueError, match="out of range"):
        metrics.precision(ag.tensor([0, 3]), ag.tensor([0, 1]), num_classes=3)


@pytest.mark.parametrize("average", ["macro", "micro", "weighted", None])
def test_scores_of_many_classes_need_no_confusion_matrix(device, average):
    """The scores built the C x C confusion matrix for three per-class counts: 200 MB for a
    class index of 4999 among three samples (7 GB for ImageNet-21k's classes)."""
    preds, targets = [0, 4999, 17], [0, 4999, 4999]
    for ours, theirs in SCORES:
        tracemalloc.start()
        try:
            got = ours(ag.tensor(preds), ag.tensor(targets), average=average)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        np.testing.assert_allclose(got, theirs(targets, preds, average=average, zero_division=0.0), rtol=1e-12)
        assert peak < 10 * 2**20, f"{ours.__name__} used {peak / 2**20:.0f} MiB"


@pytest.mark.parametrize("num_classes", [2.5, True, "3", 0, -1])
def test_num_classes_that_is_not_a_positive_int_is_refused(device, num_classes):
    # 2.5 was taken as 2, True as 1, "3" was a TypeError from a comparison
    with pytest.raises(ValueError, match=r"precision: num_classes must be an int >= 1 .*got " + repr(num_classes)):
        metrics.precision(ag.tensor([0, 1]), ag.tensor([1, 1]), num_classes=num_classes)


@pytest.mark.parametrize("pos_label", [1.0, 0.0])
def test_binary_pos_label_given_as_float_or_bool(device, pos_label):
    # a float pos_label was a TypeError ("list indices must be integers")
    preds, targets = [1, 0, 1, 1], [1, 1, 0, 1]
    for ours, theirs in SCORES:
        expected = theirs(targets, preds, average="binary", pos_label=int(pos_label))
        assert ours(ag.tensor(preds), ag.tensor(targets), average="binary", pos_label=pos_label) == expected


@pytest.mark.parametrize("average", ["macro", "weighted"])
@pytest.mark.parametrize("preds,targets,num_classes", [
    ([1, 0, 2, 0], [1, 1, 1, 2], None),           # class 0 never a target, class 2 never right
    ([2, 1, 1, 2, 2, 1], [2, 1, 0, 0, 2, 0], 4),  # class 3 absent everywhere: 0/0 in every score
    ([1], [3], 4),                                # the only class left in the mean has no support
    ([0, 0, 0], [0, 0, 0], 2),
])
def test_nan_zero_division_leaves_undefined_classes_out_of_the_mean(device, average, preds, targets, num_classes):
    """sklearn drops the NaN scores from 'macro' and 'weighted' means (and, with no support
    left, weights the rest alike); the sums here were NaN."""
    labels = None if num_classes is None else list(range(num_classes))
    for ours, theirs in SCORES:
        expected = theirs(targets, preds, average=average, labels=labels, zero_division=np.nan)
        got = ours(ag.tensor(preds), ag.tensor(targets), average=average, num_classes=num_classes,
                   zero_division=np.nan)
        np.testing.assert_allclose(got, expected, rtol=1e-12, err_msg=ours.__name__)


@pytest.mark.parametrize("average", ["macro", "micro", "weighted", "binary", None])
def test_scores_of_no_samples_are_refused(device, average):
    # macro was a ZeroDivisionError, the others quietly 0.0 or []
    for score, _ in SCORES:
        with pytest.raises(ValueError, match=f"{score.__name__}: no samples"):
            score(ag.tensor([], dtype="int64"), ag.tensor([], dtype="int64"), average=average)


def test_binary_with_more_classes_names_num_classes(device):
    # the message said "class 2 occurs" of labels that are all 0 or 1
    with pytest.raises(ValueError, match="average='binary' needs 2 classes, got num_classes=3"):
        metrics.f1(ag.tensor([0, 1, 1]), ag.tensor([0, 1, 0]), average="binary", num_classes=3)


@pytest.mark.parametrize("zero_division", ["warn", None, True])
def test_zero_division_that_is_not_a_number_is_refused_on_any_input(device, zero_division):
    # it used to fail only on data with a 0/0 ratio ("could not convert string to float")
    with pytest.raises(ValueError, match="zero_division must be a number"):
        metrics.recall(ag.tensor([0, 1]), ag.tensor([0, 1]), zero_division=zero_division)
