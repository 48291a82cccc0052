"""Classification metrics with scikit-learn's definitions, computed on the tensors' device.

Predictions are class indices, or logits/probabilities with a class axis (axis 1,
PyTorch's convention), which are reduced with argmax; ``threshold`` turns
one-column scores of a binary problem into 0/1 predictions. Labels are the class
indices 0..C-1. Each function returns a Python float (a list for ``average=None``).
"""
import numbers

from autograd import Tensor, tensor
from backends import dtypes

AVERAGES = ("macro", "micro", "weighted", "binary", None)


def accuracy(outputs, targets, threshold=None):
    """The fraction of samples whose predicted class equals the target."""
    preds, targets = _labels(outputs, targets, threshold, "accuracy")
    if preds.size == 0:
        raise ValueError("accuracy: no samples")
    return (preds == targets).astype(dtypes.float64).mean().item()


def confusion_matrix(outputs, targets, num_classes=None, threshold=None):
    """C x C int64 counts: row = true class, column = predicted class (as sklearn)."""
    preds, targets = _labels(outputs, targets, threshold, "confusion_matrix")
    classes = _num_classes(preds, targets, num_classes, "confusion_matrix")
    return _confusion(preds, targets, classes)


def precision(outputs, targets, average="macro", num_classes=None, pos_label=1, zero_division=0.0,
              threshold=None):
    """Of the samples predicted as a class, the fraction that belong to it.

    ``average``: 'macro' (mean over classes), 'micro' (pooled counts), 'weighted'
    (mean weighted by class support), 'binary' (the ``pos_label`` class only) or
    None (one value per class). Classes are those that occur in the predictions
    or targets, or all of 0..num_classes-1 when ``num_classes`` is given, which
    matches sklearn's ``labels=range(num_classes)``. A 0/0 ratio gives
    ``zero_division``; when that is NaN, the 'macro' and 'weighted' means leave
    those classes out (as sklearn does).
    """
    return _score("precision", outputs, targets, average, num_classes, pos_label, zero_division, threshold)


def recall(outputs, targets, average="macro", num_classes=None, pos_label=1, zero_division=0.0, threshold=None):
    """Of the samples of a class, the fraction predicted as it; arguments as ``precision``."""
    return _score("recall", outputs, targets, average, num_classes, pos_label, zero_division, threshold)


def f1(outputs, targets, average="macro", num_classes=None, pos_label=1, zero_division=0.0, threshold=None):
    """Harmonic mean of precision and recall; arguments as ``precision``."""
    return _score("f1", outputs, targets, average, num_classes, pos_label, zero_division, threshold)


# --- shared machinery ---------------------------------------------------------------------

def _score(name, outputs, targets, average, num_classes, pos_label, zero_division, threshold):
    if average not in AVERAGES:
        raise ValueError(f"{name}: average must be one of {AVERAGES}, got {average!r}")
    # checked here, not at the first 0/0 ratio, so a bad value fails on every input alike
    if isinstance(zero_division, bool) or not isinstance(zero_division, numbers.Real):
        raise ValueError(f"{name}: zero_division must be a number such as 0.0, 1.0 or float('nan'), "
                         f"got {zero_division!r}")
    preds, targets = _labels(outputs, targets, threshold, name)
    if preds.size == 0:
        raise ValueError(f"{name}: no samples")
    classes = _num_classes(preds, targets, num_classes, name)
    if average == "binary":
        if num_classes is not None and num_classes > 2:
            raise ValueError(f"{name}: average='binary' needs 2 classes, got num_classes={num_classes}; "
                             "use average='macro', 'micro' or 'weighted' for more classes")
        classes = max(classes, 2)
    # per-class counts, not the C x C confusion matrix: a score of 20,000 classes needs no 3 GB
    tp = _counts(targets, classes, weights=preds == targets).tolist()
    predicted = _counts(preds, classes).tolist()
    support = _counts(targets, classes).tolist()
    if average == "binary":
        if classes > 2:
            raise ValueError(f"{name}: average='binary' needs labels 0 and 1, but class {classes - 1} occurs; "
                             "use average='macro', 'micro' or 'weighted' for more classes")
        if pos_label not in (0, 1):
            raise ValueError(f"{name}: pos_label must be 0 or 1 for average='binary', got {pos_label!r}")
        labels = [int(pos_label)]  # 1.0 or True: a list index
    elif num_classes is None:  # sklearn's default: the labels present in either array
        labels = [c for c in range(classes) if predicted[c] or support[c]]
    else:
        labels = list(range(classes))
    numerator = {"precision": lambda c: tp[c], "recall": lambda c: tp[c], "f1": lambda c: 2 * tp[c]}[name]
    denominator = {"precision": lambda c: predicted[c], "recall": lambda c: support[c],
                   "f1": lambda c: predicted[c] + support[c]}[name]

    def ratio(num, den):
        return num / den if den else float(zero_division)

    per_class = [ratio(numerator(c), denominator(c)) for c in labels]
    if average is None:
        return per_class
    if average == "binary":
        return per_class[0]
    if average == "micro":
        return ratio(sum(numerator(c) for c in labels), sum(denominator(c) for c in labels))
    # as sklearn, a zero_division of NaN leaves the classes whose ratio is 0/0 out of the mean
    # (some class was predicted and some was a target, so one ratio at least is defined)
    scored = [(v, c) for v, c in zip(per_class, labels) if v == v]
    if average == "weighted":
        weight = sum(support[c] for _, c in scored)
        if weight:  # with no support left, sklearn falls back to the plain mean
            return sum(v * support[c] for v, c in scored) / weight
    return sum(v for v, _ in scored) / len(scored)


def _labels(outputs, targets, threshold, name):
    """Predicted and true labels as flat int64 tensors on one device."""
    targets = targets if isinstance(targets, Tensor) else tensor(targets)
    outputs = outputs if isinstance(outputs, Tensor) else tensor(outputs, device=targets.device)
    if outputs.device != targets.device:
        raise ValueError(f"{name}: outputs are on {outputs.device} but targets on {targets.device}; "
                         "move one with .to(device)")
    targets = _as_class_indices(targets, f"{name}: targets")
    if threshold is not None:
        if outputs.shape != targets.shape:
            raise ValueError(f"{name}: threshold needs one score per target, got outputs {outputs.shape} "
                             f"and targets {targets.shape}")
        preds = (outputs >= threshold).astype(dtypes.int64)
    elif outputs.ndim == targets.ndim + 1:
        if outputs.ndim > 1 and outputs.shape[1] == 1:  # argmax over one column is class 0 for every sample
            raise ValueError(f"{name}: outputs of shape {outputs.shape} have one score per sample, not one per "
                             "class; for a binary problem pass threshold= with outputs.reshape(-1) (scores of "
                             "the targets' shape)")
        preds = outputs.argmax(axis=1 if outputs.ndim > 1 else 0)
    elif outputs.shape == targets.shape:
        preds = _as_class_indices(outputs, f"{name}: predictions")
    else:
        raise ValueError(f"{name}: outputs of shape {outputs.shape} do not fit targets of shape {targets.shape}; "
                         "pass class indices of the targets' shape, or scores with one extra class axis (axis 1)")
    if preds.shape != targets.shape:
        raise ValueError(f"{name}: predictions of shape {preds.shape} do not match targets of shape {targets.shape}")
    preds, targets = preds.reshape(-1), targets.reshape(-1)
    if preds.size and (preds.min().item() < 0 or targets.min().item() < 0):
        raise ValueError(f"{name}: class labels must be 0..C-1; found a negative label")
    return preds, targets


def _as_class_indices(t, what):
    if t.dtype.kind in "iub":
        return t.astype(dtypes.int64, copy=False)
    whole = t.astype(dtypes.int64)
    if t.size and not (whole.astype(t.dtype) == t).all().item():
        raise ValueError(f"{what} are {t.dtype} values that are not whole numbers; pass class indices, "
                         "logits with a class axis, or threshold= for binary scores")
    return whole


def _num_classes(preds, targets, num_classes, name):
    if num_classes is not None and (isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral)
                                    or num_classes < 1):
        raise ValueError(f"{name}: num_classes must be an int >= 1 (or None for the labels that occur), "
                         f"got {num_classes!r}")
    seen = 0 if preds.size == 0 else int(max(preds.max().item(), targets.max().item())) + 1
    if num_classes is None:
        return seen
    if seen > num_classes:
        raise ValueError(f"{name}: label {seen - 1} is out of range for num_classes={num_classes}")
    return int(num_classes)


def _confusion(preds, targets, classes):
    """C x C counts of (true, predicted) pairs."""
    return _counts(targets * classes + preds, classes * classes).reshape(classes, classes)


def _counts(labels, size, weights=None):
    """int64 counts of each of 0..size-1 in the flat ``labels`` (only where ``weights``, a
    boolean tensor, is true): one scatter-add, O(N + size) time and memory."""
    backend = labels.backend
    xp = backend.xp
    float64 = backend.native_dtype(dtypes.float64)  # float adds exist on every backend
    ones = xp.ones(labels.shape, dtype=float64) if weights is None else xp.astype(weights.data, float64)
    counts = backend.scatter_add((size,), labels.data, ones)
    return Tensor(xp.astype(counts, backend.native_dtype(dtypes.int64)), device=backend)
