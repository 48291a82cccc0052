"""What a review of nn.data and nn.fit against PyTorch habits turned up: loaders
over things that are not datasets, NumPy integers where PyTorch takes them,
collating mismatched samples, and fit's behaviour around empty loaders, failing
callbacks, NaN losses and a second fit call that continues training."""
import os

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from nn.data import DataLoader, Subset, TensorDataset, default_collate, random_split


# --- nn.data ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("dataset", [5, (i for i in range(3))], ids=["int", "generator"])
def test_loader_rejects_what_is_not_a_dataset(dataset):
    with pytest.raises(TypeError, match="DataLoader: dataset must support len"):
        DataLoader(dataset, batch_size=2)


def test_random_split_takes_numpy_integer_lengths_as_counts():
    # lengths computed with NumPy (as PyTorch accepts them) are sample counts, not fractions
    parts = random_split(range(10), [np.int64(7), np.int64(3)], seed=0)
    assert [len(p) for p in parts] == [7, 3]
    assert sorted(parts[0].indices + parts[1].indices) == list(range(10))
    assert [p.indices for p in parts] == [p.indices for p in random_split(range(10), [7, 3], seed=0)]


def test_subset_rejects_fractional_indices():
    with pytest.raises(TypeError, match="Subset: indices must be integers"):
        Subset(range(5), [0.5, 1])
    assert Subset(range(5), [np.int64(4), ag.tensor(1)]).indices == [4, 1]


def test_default_collate_names_mismatched_dict_keys(device):
    with pytest.raises(ValueError, match="default_collate: samples have different keys"):
        default_collate([{"a": 1}, {"b": 2}])


def test_loader_edge_sizes_match_pytorch(device, torch):
    x = np.arange(10, dtype=np.float32)
    ours, theirs = TensorDataset(ag.tensor(x)), torch.utils.data.TensorDataset(torch.tensor(x))
    for batch_size, drop_last in [(32, False), (32, True), (3, True), (3, False)]:
        a = DataLoader(ours, batch_size=batch_size, drop_last=drop_last)
        b = torch.utils.data.DataLoader(theirs, batch_size=batch_size, drop_last=drop_last)
        assert len(a) == len(b)
        assert [t.numpy().tolist() for (t,) in a] == [t.numpy().tolist() for (t,) in b]
    empty = DataLoader(TensorDataset(ag.zeros((0, 2))), batch_size=4, shuffle=True)
    assert len(empty) == 0 and list(empty) == []


# --- nn.fit ----------------------------------------------------------------------------------------

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
