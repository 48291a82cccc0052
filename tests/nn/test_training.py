"""nn.fit, its callbacks (EarlyStopping, ModelCheckpoint) and History."""
import functools
import io
import os
import sys

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from nn import metrics
from nn.data import DataLoader, TensorDataset
from nn.training import _snapshot

# Tests here step schedules on their own to compare rates, with no optimizer step: the
# warning that a training loop would skip its first rate is noise for them.
pytestmark = pytest.mark.filterwarnings("ignore:scheduler.step\\(\\) was called before optimizer.step:UserWarning")


class Linear(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(ag.randn(n_out, n_in) * 0.1)
        self.bias = nn.Parameter(ag.zeros(n_out))

    def forward(self, x):
        return x @ self.weight.T + self.bias


def cross_entropy(logits, targets):
    picked = logits[ag.arange(targets.shape[0], device=logits.device), targets]
    return (logits.logsumexp(axis=1) - picked).mean()


class PlainSGD:
    """The smallest optimizer fit needs: zero_grad, step, and param_groups for the lr log."""

    def __init__(self, params, lr):
        self.param_groups = [{"params": list(params), "lr": lr}]

    def zero_grad(self):
        for p in self.param_groups[0]["params"]:
            p.grad = None

    def step(self):
        with ag.no_grad():
            for p in self.param_groups[0]["params"]:
                p.sub_(p.grad * self.param_groups[0]["lr"])


def blobs(n=160, seed=0, flip=False):
    """Two separable Gaussian blobs in 2-d; ``flip`` swaps the labels (a set that
    gets worse as the model learns the other)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 2)) * 0.7 + np.where(y[:, None] == 1, 1.5, -1.5)
    return TensorDataset(ag.tensor(x.astype(np.float32), device="cpu"),
                         ag.tensor((1 - y) if flip else y, device="cpu"))


def flipped_val_loader():
    return DataLoader(blobs(n=40, seed=3, flip=True), batch_size=40)


def weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


class RecordWeights(nn.Callback):
    def __init__(self):
        self.per_epoch = {}

    def on_epoch_end(self, state, epoch, logs):
        self.per_epoch[epoch] = weights(state.model)


def test_fit_learns_a_separable_problem(device):
    model = Linear(2, 2)
    train = DataLoader(blobs(seed=0), batch_size=16, shuffle=True, seed=0)
    val = DataLoader(blobs(n=60, seed=1), batch_size=32)
    history = nn.fit(model, cross_entropy, PlainSGD(model.parameters(), 0.3), train, val, epochs=6,
                     metrics=("accuracy", "recall"), progress=False)
    assert len(history) == 6
    assert history.keys() == ["epoch", "train_loss", "lr", "val_loss", "val_accuracy", "val_recall"]
    assert history["epoch"] == [1, 2, 3, 4, 5, 6] and history["lr"] == [0.3] * 6
    assert history.train_loss[-1] < 0.3 * history.train_loss[0]
    assert history.val_loss[-1] < history.val_loss[0]
    assert history.metrics["accuracy"][-1] >= 0.95
    # The logged validation numbers are what evaluating the final model gives.
    x, y = val.dataset.tensors
    with ag.no_grad():
        logits = model(x.to(device))
    assert history.val_loss[-1] == pytest.approx(cross_entropy(logits, y.to(device)).item(), rel=1e-5)
    assert history.metrics["accuracy"][-1] == nn.metrics.accuracy(logits, y.to(device))


def test_fit_is_the_plain_loop(device):
    """fit runs exactly zero_grad, forward, loss, backward, step per batch: same weights as a hand loop."""
    data = blobs(seed=2)
    model, twin = Linear(2, 2), Linear(2, 2)
    twin.load_state_dict(model.state_dict())
    history = nn.fit(model, cross_entropy, PlainSGD(model.parameters(), 0.2),
                     DataLoader(data, batch_size=24, shuffle=True, seed=5), epochs=3, metrics=(), progress=False)
    opt = PlainSGD(twin.parameters(), 0.2)
    loader = DataLoader(data, batch_size=24, shuffle=True, seed=5)
    losses = []
    for _ in range(3):
        total = 0.0
        for x, y in loader:
            opt.zero_grad()
            loss = cross_entropy(twin(x), y)
            loss.backward()
            opt.step()
            total += loss.item() * len(y)
        losses.append(total / len(data))
    for key, value in weights(twin).items():
        np.testing.assert_array_equal(weights(model)[key], value)
    np.testing.assert_allclose(history.train_loss, losses, rtol=1e-6)
    assert history.val_loss == [] and history.metrics == {}


def test_early_stopping_stops_and_restores_best_weights(device):
    model = Linear(2, 2)
    recorder = RecordWeights()
    stopper = nn.EarlyStopping(patience=2)
    history = nn.fit(model, cross_entropy, PlainSGD(model.parameters(), 0.3),
                     DataLoader(blobs(seed=0), batch_size=16), flipped_val_loader(),
                     epochs=20, callbacks=[recorder, stopper], progress=False)
    # Learning the training labels makes the flipped validation set worse every epoch.
    assert history.val_loss == sorted(history.val_loss)
    assert len(history) == 3 and stopper.stopped_epoch == 3 and stopper.best_epoch == 1
    assert stopper.best_score == history.val_loss[0]
    for key, value in recorder.per_epoch[1].items():
        np.testing.assert_array_equal(weights(model)[key], value)
    assert not np.array_equal(recorder.per_epoch[3]["weight"], recorder.per_epoch[1]["weight"])


def test_early_stopping_keeps_going_while_improving(device):
    model = Linear(2, 2)
    stopper = nn.EarlyStopping(monitor="train_loss", patience=0)
    recorder = RecordWeights()
    history = nn.fit(model, cross_entropy, PlainSGD(model.parameters(), 0.1),
                     DataLoader(blobs(seed=0), batch_size=16), epochs=4, metrics=(),
                     callbacks=[recorder, stopper], progress=False)
    assert len(history) == 4 and stopper.stopped_epoch is None and stopper.best_epoch == 4
    np.testing.assert_array_equal(weights(model)["weight"], recorder.per_epoch[4]["weight"])


def test_model_checkpoint_saves_on_improvement(device, tmp_path):
    model = Linear(2, 2)
    recorder = RecordWeights()
    best = nn.ModelCheckpoint(tmp_path / "best.safetensors")
    every = nn.ModelCheckpoint(tmp_path / "epoch-{epoch}.safetensors", save_best_only=False, save_optimizer=False)
    history = nn.fit(model, cross_entropy, PlainSGD(model.parameters(), 0.3),
                     DataLoader(blobs(seed=0), batch_size=16), flipped_val_loader(),
                     epochs=3, callbacks=[recorder, best, every], progress=False)
    assert history.val_loss == sorted(history.val_loss)  # only epoch 1 is an improvement
    assert best.saved == [(1, str(tmp_path / "best.safetensors"))]
    saved = nn.load(tmp_path / "best.safetensors")
    for key, value in recorder.per_epoch[1].items():
        np.testing.assert_array_equal(saved[key].numpy(), value)
    assert nn.load_metadata(tmp_path / "best.safetensors") == {
        "epoch": "1", "monitor": "val_loss", "score": repr(history.val_loss[0])}
    assert [epoch for epoch, _ in every.saved] == [1, 2, 3]
    np.testing.assert_array_equal(nn.load(tmp_path / "epoch-3.safetensors")["weight"].numpy(),
                                  recorder.per_epoch[3]["weight"])


def test_model_checkpoint_tracks_a_maximized_metric(device, tmp_path):
    model = Linear(2, 2)
    recorder = RecordWeights()
    ckpt = nn.ModelCheckpoint(tmp_path / "m.safetensors", monitor="val_accuracy", mode="max")
    history = nn.fit(model, cross_entropy, PlainSGD(model.parameters(), 0.05),
                     DataLoader(blobs(seed=4), batch_size=32), DataLoader(blobs(n=200, seed=5), batch_size=64),
                     epochs=4, callbacks=[recorder, ckpt], progress=False)
    accuracy = history.metrics["accuracy"]
    improved = [e for e in range(1, 5) if accuracy[e - 1] > max([-1.0] + accuracy[:e - 1])]
    assert [epoch for epoch, _ in ckpt.saved] == improved
    np.testing.assert_array_equal(nn.load(tmp_path / "m.safetensors")["weight"].numpy(),
                                  recorder.per_epoch[improved[-1]]["weight"])


class CountingScheduler:
    def __init__(self):
        self.steps = 0

    def step(self):
        self.steps += 1


class PerBatchScheduler(CountingScheduler):
    step_per_batch = True


class PlateauScheduler:
    def __init__(self):
        self.values = []

    def step(self, metrics):
        self.values.append(metrics)


def test_schedulers_are_stepped_per_epoch_per_batch_or_with_the_val_loss(device):
    train = DataLoader(blobs(n=64, seed=0), batch_size=16)  # 4 batches
    val = DataLoader(blobs(n=32, seed=1), batch_size=32)
    for scheduler, expected in ((CountingScheduler(), 3), (PerBatchScheduler(), 12)):
        model = Linear(2, 2)
        nn.fit(model, cross_entropy, PlainSGD(model.parameters(), 0.1), train, epochs=3, metrics=(),
               scheduler=scheduler, progress=False)
        assert scheduler.steps == expected
    plateau = PlateauScheduler()
    model = Linear(2, 2)
    history = nn.fit(model, cross_entropy, PlainSGD(model.parameters(), 0.1), train, val, epochs=3,
                     scheduler=plateau, progress=False)
    assert plateau.values == history.val_loss


def test_fit_with_nn_optim_one_cycle(device):
    optim = pytest.importorskip("nn.optim")
    model = Linear(2, 2)
    train = DataLoader(blobs(n=64, seed=0), batch_size=16)  # 4 batches

    def one_cycle(params):
        opt = optim.SGD(params, lr=0.1, momentum=0.9)
        return opt, optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=3 * len(train))
    opt, schedule = one_cycle(model.parameters())
    history = nn.fit(model, cross_entropy, opt, train, epochs=3, metrics=(), scheduler=schedule, progress=False)
    # Stepped once per batch: each epoch starts at the rate a hand-stepped twin has after 0, 4, 8 steps.
    assert schedule.last_epoch == 12
    _, twin = one_cycle([nn.Parameter(ag.zeros(1))])
    starts = []
    for step in range(12):
        if step % 4 == 0:
            starts.append(twin.get_last_lr()[0])
        twin.step()
    assert history["lr"] == starts and starts[0] == pytest.approx(0.5 / 25) and starts[1] > starts[2] > starts[0]


def test_progress_output(device, capsys, monkeypatch):
    def run(progress):
        model = Linear(2, 2)
        nn.fit(model, cross_entropy, PlainSGD(model.parameters(), 0.1), DataLoader(blobs(n=32), batch_size=8),
               DataLoader(blobs(n=16, seed=1), batch_size=8), epochs=2, progress=progress)

    run(progress=False)
    assert capsys.readouterr().err == ""
    run(progress=True)  # captured stderr is not a terminal: one line per epoch
    lines = capsys.readouterr().err.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["epoch 1", "epoch 2"]
    assert "train_loss=" in lines[0] and "val_accuracy=" in lines[0]

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    run(progress=True)
    shown = terminal.getvalue()
    assert "epoch 1/2" in shown and "epoch 2/2" in shown and "4/4" in shown and "val_loss=" in shown


def test_fit_restores_the_model_mode_and_rejects_bad_input(device):
    model = Linear(2, 2).eval()
    opt = PlainSGD(model.parameters(), 0.1)
    train = DataLoader(blobs(n=32), batch_size=8)
    nn.fit(model, cross_entropy, opt, train, epochs=1, metrics=(), progress=False)
    assert model.training is False
    with pytest.raises(ValueError, match="one-element"):
        nn.fit(model, lambda out, y: out, opt, train, progress=False)
    with pytest.raises(TypeError, match=r"\(\*inputs, target\)"):
        nn.fit(model, cross_entropy, opt, [ag.zeros(2, 2)], progress=False)
    with pytest.raises(ValueError, match="epochs"):
        nn.fit(model, cross_entropy, opt, train, epochs=-1)
    with pytest.raises(ValueError, match="unknown metric"):
        nn.fit(model, cross_entropy, opt, train, metrics=("auc",))
    with pytest.raises(ValueError, match="pass val_loader"):
        nn.fit(model, cross_entropy, opt, train, callbacks=[nn.EarlyStopping()], progress=False)
    with pytest.raises(ValueError, match="mode"):
        nn.EarlyStopping(mode="lowest")


def test_fit_moves_the_model_and_batches_to_device(device):
    import backends
    with backends.default_device("cpu"):
        model = Linear(2, 2)
    train = DataLoader(blobs(n=32), batch_size=8, device="cpu")  # yields CPU batches
    history = nn.fit(model, cross_entropy, PlainSGD(model.parameters(), 0.1), train, epochs=2, metrics=(),
                     device=device, progress=False)
    assert all(p.device == backends.get(device).device for p in model.parameters())
    assert history.train_loss[1] < history.train_loss[0]


# --- what a review against PyTorch's habits turned up ----------------------------------------

def problem(device, n=20):
    ag.manual_seed(0)
    x, y = ag.randn(n, 3), ag.randint(0, 2, n)
    model = nn.Linear(3, 2)
    return model, nn.optim.SGD(model.parameters(), lr=0.1), DataLoader(TensorDataset(x, y), batch_size=5)


def empty_loader():
    return DataLoader(TensorDataset(ag.zeros((0, 3)), ag.zeros((0,), dtype="int64")), batch_size=5)


def test_fit_rejects_an_empty_val_loader_before_training(device):
    model, opt, train = problem(device)
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match="fit: val_loader has no batches"):
        nn.fit(model, F.cross_entropy, opt, train, empty_loader(), epochs=2, progress=False)
    for key, value in model.state_dict().items():  # nothing was trained on
        np.testing.assert_array_equal(value.numpy(), before[key])
    assert model.training


def test_fit_restores_the_model_mode_when_a_callback_fails(device):
    class Fails(nn.Callback):
        def on_epoch_end(self, state, epoch, logs):
            raise KeyError("callback failed")

    model, opt, train = problem(device)
    with pytest.raises(KeyError, match="callback failed"):
        nn.fit(model, F.cross_entropy, opt, train, train, epochs=1, progress=False, callbacks=[Fails()])
    assert model.training


def test_checkpoint_path_with_an_unknown_field_names_the_fields(device, tmp_path):
    model, opt, train = problem(device)
    ckpt = nn.ModelCheckpoint(tmp_path / "ckpt-{step}.safetensors")
    with pytest.raises(ValueError, match=r"ModelCheckpoint: .*\{step\}.*epoch.*val_loss"):
        nn.fit(model, F.cross_entropy, opt, train, train, epochs=1, progress=False, callbacks=[ckpt])


def test_checkpoint_creates_its_folder(device, tmp_path):
    model, opt, train = problem(device)
    ckpt = nn.ModelCheckpoint(tmp_path / "runs" / "a" / "epoch-{epoch}.safetensors", save_best_only=False)
    nn.fit(model, F.cross_entropy, opt, train, train, epochs=2, progress=False, callbacks=[ckpt])
    assert sorted(os.listdir(tmp_path / "runs" / "a")) == ["epoch-1.safetensors", "epoch-2.safetensors"]
    saved = nn.load(tmp_path / "runs" / "a" / "epoch-2.safetensors")
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(saved[key].numpy(), value.numpy())


def test_continuing_fit_keeps_the_best_checkpoint(device, tmp_path):
    """A second fit call with the same callback continues training: a worse epoch
    must not overwrite the best checkpoint of the first call."""
    model, opt, train = problem(device)
    path = tmp_path / "best.safetensors"
    ckpt = nn.ModelCheckpoint(path)
    nn.fit(model, F.cross_entropy, opt, train, train, epochs=3, progress=False, callbacks=[ckpt])
    best = ckpt.best_score
    best_weights = {k: v.numpy().copy() for k, v in nn.load(path).items()}
    for group in opt.param_groups:
        group["lr"] = 50.0  # make the next epochs worse
    history = nn.fit(model, F.cross_entropy, opt, train, train, epochs=2, progress=False, callbacks=[ckpt])
    assert min(history.val_loss) > best
    assert ckpt.best_score == best
    assert nn.load_metadata(path)["score"] == repr(best)
    for key, value in nn.load(path).items():
        np.testing.assert_array_equal(value.numpy(), best_weights[key])


def test_nan_loss_never_counts_as_an_improvement(device, tmp_path):
    model, opt, train = problem(device)
    stop, ckpt = nn.EarlyStopping(patience=2), nn.ModelCheckpoint(tmp_path / "best.safetensors")

    def nan_loss(outputs, targets):
        return F.cross_entropy(outputs, targets) * float("nan")

    history = nn.fit(model, nan_loss, opt, train, train, epochs=5, progress=False, callbacks=[stop, ckpt])
    assert len(history) == 2 and all(np.isnan(history.train_loss))
    assert stop.stopped_epoch == 2 and stop.best_epoch is None
    assert ckpt.saved == [] and not (tmp_path / "best.safetensors").exists()


# --- nn.fit with arguments swapped or of the wrong kind -------------------------------------------

def _fit_setup():
    model = nn.Linear(3, 2)
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1)
    dataset = nn.data.TensorDataset(ag.randn(8, 3), ag.randint(0, 2, 8))
    return model, optimizer, dataset, nn.data.DataLoader(dataset, batch_size=4)


@pytest.mark.parametrize("mistake, message", [
    (lambda m, o, ds, dl: nn.fit(m, o, F.cross_entropy, dl), r"fit: loss_fn must be a callable loss.*got SGD"),
    (lambda m, o, ds, dl: nn.fit(m, F.cross_entropy, m, dl), r"fit: optimizer must be an optimizer.*got Linear"),
    (lambda m, o, ds, dl: nn.fit(m, "cross_entropy", o, dl), r"fit: loss_fn must be a callable loss.*got str"),
    (lambda m, o, ds, dl: nn.fit(m.parameters(), F.cross_entropy, o, dl), r"fit: model must be an nn\.Module"),
    (lambda m, o, ds, dl: nn.fit(m, F.cross_entropy, o, ds), r"fit: train_loader is a Dataset.*DataLoader"),
    (lambda m, o, ds, dl: nn.fit(m, F.cross_entropy, o, dl, ds), r"fit: val_loader is a Dataset.*DataLoader"),
], ids=["optimizer-and-loss-swapped", "model-as-optimizer", "loss-name", "parameters-as-model",
        "dataset-as-train-loader", "dataset-as-val-loader"])
def test_fit_refuses_wrong_arguments_before_training(device, mistake, message):
    """Swapped arguments failed only inside the first batch, after a forward and backward
    ("'function' object has no attribute 'zero_grad'"); a Dataset passed as the loader
    trained silently on one unbatched sample per step."""
    model, optimizer, dataset, loader = _fit_setup()
    weight = model.weight.numpy().copy()
    with pytest.raises(TypeError, match=message):
        mistake(model, optimizer, dataset, loader)
    np.testing.assert_array_equal(model.weight.numpy(), weight)
    assert model.weight.grad is None


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


# --- metrics and callbacks given alone, not in a list, refused with the fix ------------------------------

def _tiny_fit_setup():
    model = nn.Linear(3, 2)
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    batches = [(ag.tensor(rng.random((4, 3), dtype=np.float32)), ag.tensor(np.array([0, 1, 0, 1])))]
    return model, optimizer, batches


def test_fit_refuses_one_callback_not_in_a_list():
    model, optimizer, batches = _tiny_fit_setup()
    with pytest.raises(TypeError, match=r"callbacks must be a list or tuple, got a single EarlyStopping; "
                                        r"wrap it in a list: callbacks=\[\.\.\.\]"):
        nn.fit(model, F.cross_entropy, optimizer, batches, callbacks=nn.EarlyStopping(monitor="train_loss"),
               progress=False)


@pytest.mark.parametrize("metrics, kind", [("accuracy", "str"), (nn.metrics.accuracy, "function")])
def test_fit_refuses_one_metric_not_in_a_list(metrics, kind):
    # A lone name was iterated letter by letter: "unknown metric 'a'"
    model, optimizer, batches = _tiny_fit_setup()
    with pytest.raises(TypeError, match=rf"metrics must be a list or tuple, got a single {kind}; "
                                        r"wrap it in a list: metrics=\[\.\.\.\]"):
        nn.fit(model, F.cross_entropy, optimizer, batches, batches, metrics=metrics, progress=False)


def test_fit_still_takes_metrics_and_callbacks_from_any_iterable():
    model, optimizer, batches = _tiny_fit_setup()
    stopper = nn.EarlyStopping(monitor="train_loss")
    history = nn.fit(model, F.cross_entropy, optimizer, batches, batches, metrics=(m for m in ["accuracy"]),
                     callbacks=(c for c in [stopper]), progress=False)
    expected = float(np.mean(np.argmax(model(batches[0][0]).numpy(), axis=1) == batches[0][1].numpy()))
    assert history.metrics["accuracy"] == [pytest.approx(expected)]
    assert stopper.best_epoch == 1


def test_best_weights_snapshot_copies_a_module_s_extra_state():
    class Counted(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer, self.seen = nn.Linear(2, 1), {"batches": 3}

        def get_extra_state(self):
            return self.seen

        def set_extra_state(self, state):
            self.seen = state

    model = Counted()
    snapshot = _snapshot(model)
    model.seen["batches"] = 9  # later training changes it; the snapshot keeps the value it took
    assert snapshot["_extra_state"] == {"batches": 3}
    model.load_state_dict(snapshot)
    assert model.seen == {"batches": 3}
