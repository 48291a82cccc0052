"""Findings of a differential fuzz of nn.metrics against scikit-learn (nn.init and nn.fit
were checked against PyTorch too, and agreed)."""
import numpy as np
import pytest
from sklearn import metrics as sk

import autograd as ag
from nn import metrics

SCORES = [(metrics.precision, sk.precision_score), (metrics.recall, sk.recall_score), (metrics.f1, sk.f1_score)]


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
