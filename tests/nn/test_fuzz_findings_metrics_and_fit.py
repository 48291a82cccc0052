"""Findings of a differential fuzz of nn.metrics against scikit-learn, and of nn.fit, its
callbacks and History against hand-written loops (which agreed: same weights, losses and
rates with dropout, shuffling, momentum and per-epoch, per-batch and plateau schedules)."""
import functools
import tracemalloc

import numpy as np
import pytest
from sklearn import metrics as sk

import autograd as ag
import nn
import nn.functional as F
from nn import metrics
from nn.data import DataLoader, TensorDataset

SCORES = [(metrics.precision, sk.precision_score), (metrics.recall, sk.recall_score), (metrics.f1, sk.f1_score)]


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


def test_float16_losses_are_summed_without_overflow(device):
    """The epoch's loss summed loss * batch_size in the loss's dtype: in float16 that passes 65504,
    so train_loss and val_loss were inf."""
    if device == "strict":
        pytest.skip("the Array API standard has no float16")
    x = ag.tensor(np.linspace(-1, 1, 128, dtype=np.float16).reshape(64, 2))
    y = ag.tensor(np.full((64, 1), 40.0, dtype=np.float16))
    model = nn.Linear(2, 1).to(dtype=ag.float16)
    loader = DataLoader(TensorDataset(x, y), batch_size=32)
    history = nn.fit(model, F.mse_loss, nn.optim.SGD(model.parameters(), lr=0.0), loader, loader, epochs=1,
                     metrics=(), progress=False)
    with ag.no_grad():
        expected = ((model(x).astype(ag.float64) - 40.0) ** 2).mean().item()  # about 1600: 51,200 a batch
    assert history.train_loss[0] == pytest.approx(expected, rel=1e-3)
    assert history.val_loss[0] == pytest.approx(expected, rel=1e-3)


def _problem():
    rng = np.random.default_rng(0)
    data = TensorDataset(ag.tensor(rng.normal(size=(24, 3)).astype(np.float32)), ag.tensor(rng.integers(0, 3, 24)))
    model = nn.Linear(3, 3)
    return model, nn.optim.SGD(model.parameters(), lr=0.1), DataLoader(data, batch_size=8)


@pytest.mark.parametrize("make", [lambda: [functools.partial(metrics.f1, average="macro"),
                                           functools.partial(metrics.f1, average="micro")],
                                  lambda: [lambda out, y: 1.0, lambda out, y: 2.0]], ids=["partials", "lambdas"])
def test_metrics_of_one_name_are_refused(device, make):
    # both were logged under one key ('val_partial', 'val_<lambda>'), the first silently lost
    model, opt, loader = _problem()
    with pytest.raises(ValueError, match="fit: two metrics are both named '(partial|<lambda>)'"):
        nn.fit(model, F.cross_entropy, opt, loader, loader, metrics=make(), progress=False)


def test_one_metric_given_twice_is_logged_once(device):
    model, opt, loader = _problem()
    history = nn.fit(model, F.cross_entropy, opt, loader, loader, metrics=["f1", metrics.f1], progress=False)
    assert list(history.metrics) == ["f1"]


@pytest.mark.parametrize("which", ["train_loader", "val_loader"])
def test_an_iterator_as_loader_for_more_epochs_is_refused_before_training(device, which):
    """A generator or iter(...) is used up by epoch 1; epoch 2 then failed with "yielded no
    batches" after a whole epoch of training."""
    model, opt, loader = _problem()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    loaders = {"train_loader": loader, "val_loader": loader, which: iter(list(loader))}
    with pytest.raises(TypeError, match=f"fit: {which} is an iterator .*but 2 epochs are to run; pass a re-iterable loader"):
        nn.fit(model, F.cross_entropy, opt, loaders["train_loader"], loaders["val_loader"], epochs=2,
               progress=False)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[key])
    history = nn.fit(model, F.cross_entropy, opt, iter(list(loader)), iter(list(loader)), epochs=1, progress=False)
    assert len(history) == 1


@pytest.mark.parametrize("callback", [nn.EarlyStopping, functools.partial(nn.ModelCheckpoint, "ckpt.safetensors")])
@pytest.mark.parametrize("min_delta", [float("nan"), "0.1", True])
def test_min_delta_that_is_not_a_number_is_refused(callback, min_delta):
    # NaN made every epoch after the first "no improvement"; a string was a TypeError from '<'
    with pytest.raises(ValueError, match=r"min_delta must be a number >= 0, got " + repr(min_delta)):
        callback(min_delta=min_delta)


def test_early_stopping_patience_true_is_refused():
    with pytest.raises(ValueError, match="EarlyStopping: patience must be an int >= 0, got True"):
        nn.EarlyStopping(patience=True)


def _resumable_run(seed=0):
    """A model, Adam and a loader that shuffles with a seed, each made afresh (as a resumed process would)."""
    ag.manual_seed(seed)
    rng = np.random.default_rng(1)
    data = TensorDataset(ag.tensor(rng.normal(size=(40, 3)).astype(np.float32)), ag.tensor(rng.integers(0, 3, 40)))
    model = nn.Linear(3, 3)
    return model, nn.optim.Adam(model.parameters(), lr=0.05), DataLoader(data, batch_size=8, shuffle=True, seed=7)


def test_initial_epoch_resumes_an_interrupted_run_exactly(device, tmp_path):
    """Each fit call counted epochs from 1 (a resumed run's checkpoints overwrote the first's) and
    its fresh loader replayed epoch 1's shuffle; initial_epoch continues both, as Keras's."""
    model, opt, loader = _resumable_run()
    whole = nn.fit(model, F.cross_entropy, opt, loader, epochs=4, metrics=(), progress=False)

    first, opt1, loader1 = _resumable_run()
    nn.fit(first, F.cross_entropy, opt1, loader1, epochs=2, metrics=(), progress=False)
    nn.save(first, tmp_path / "run.safetensors", optimizer=opt1)

    resumed, opt2, loader2 = _resumable_run(seed=123)  # other initial weights: the checkpoint replaces them
    nn.restore(tmp_path / "run.safetensors", resumed, opt2)
    rest = nn.fit(resumed, F.cross_entropy, opt2, loader2, epochs=4, initial_epoch=2, metrics=(), progress=False)
    assert rest["epoch"] == [3, 4]
    assert rest.train_loss == whole.train_loss[2:]
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key].numpy(), value.numpy())


@pytest.mark.parametrize("initial_epoch", [-1, 5, 1.0, True])
def test_initial_epoch_outside_the_run_is_refused(device, initial_epoch):
    model, opt, loader = _problem()
    with pytest.raises(ValueError, match=r"fit: initial_epoch must be an int from 0 to epochs \(4\), got "):
        nn.fit(model, F.cross_entropy, opt, loader, epochs=4, initial_epoch=initial_epoch, progress=False)
