"""nn.data and nn.fit checked against torch.utils.data (and Keras' documented callback
semantics where PyTorch has no fit): collate structures and dtypes, loaders over
datasets that change after the loader is made, random_split's remainder rule,
ModelCheckpoint and EarlyStopping edge cases, module modes after fit, the IDX reader."""
import collections
import os
import struct
import sys

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from nn.data import DataLoader, Subset, TensorDataset, default_collate, random_split, read_idx
from nn.data.dataset import _split_counts

Pair = collections.namedtuple("Pair", "x y")


def problem(n=20):
    ag.manual_seed(0)
    x, y = ag.randn(n, 3), ag.randint(0, 2, n)
    model = nn.Linear(3, 2)
    return model, nn.optim.SGD(model.parameters(), lr=0.1), DataLoader(TensorDataset(x, y), batch_size=6)


def as_lists(batches):
    return [[b.numpy().tolist() for b in batch] for batch in batches]


# --- DataLoader and default_collate against torch.utils.data ---------------------------------------

def test_loader_reads_a_subset_changed_after_the_loader_was_made(device, torch):
    """PyTorch's loader reads the dataset when it iterates; a Subset that grew (active
    learning adds labelled samples) must not be served from a stale copy of its indices."""
    x = np.arange(6, dtype=np.float32)
    ours = Subset(TensorDataset(ag.tensor(x)), [0, 1, 2])
    theirs = torch.utils.data.Subset(torch.utils.data.TensorDataset(torch.tensor(x)), [0, 1, 2])
    a, b = DataLoader(ours, batch_size=4), torch.utils.data.DataLoader(theirs, batch_size=4)
    ours.indices.append(5)
    theirs.indices.append(5)
    assert len(a) == len(b) == 1
    assert as_lists(a) == as_lists(b) == [[[0.0, 1.0, 2.0, 5.0]]]
    ours.indices = [4, 3]
    assert sorted(sum((t.numpy().tolist() for (t,) in DataLoader(ours, batch_size=1, shuffle=True, seed=0)),
                      [])) == [3.0, 4.0]
    loader = DataLoader(ours, batch_size=2, shuffle=True, seed=0)
    ours.indices = [1, 2]
    assert sorted(next(iter(loader))[0].numpy().tolist()) == [1.0, 2.0]


def test_loader_reads_tensors_replaced_after_the_loader_was_made(device, torch):
    ours, theirs = TensorDataset(ag.arange(4.0)), torch.utils.data.TensorDataset(torch.arange(4.0))
    a, b = DataLoader(ours, batch_size=4), torch.utils.data.DataLoader(theirs, batch_size=4)
    ours.tensors = (ag.arange(4.0) * 10,)  # e.g. normalised after the loader was set up
    theirs.tensors = (torch.arange(4.0) * 10,)
    assert as_lists(a) == as_lists(b) == [[[0.0, 10.0, 20.0, 30.0]]]


def test_default_collate_keeps_namedtuples(device, torch):
    samples = [Pair(np.array([1.0, 2.0], np.float32), 3), Pair(np.array([4.0, 5.0], np.float32), 6)]
    ours, theirs = default_collate(samples), torch.utils.data.default_collate(samples)
    assert type(ours) is type(theirs) is Pair
    np.testing.assert_array_equal(ours.x.numpy(), theirs.x.numpy())
    np.testing.assert_array_equal(ours.y.numpy(), theirs.y.numpy())

    class Samples:
        def __getitem__(self, i):
            return Pair(ag.tensor([float(i)], device="cpu"), i)

        def __len__(self):
            return 5
    batch = next(iter(DataLoader(Samples(), batch_size=5)))  # moved to the device, still a Pair
    assert type(batch) is Pair and batch.x.shape == (5, 1) and batch.y.numpy().tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("samples", [
    [np.float64(1.5), np.float64(2.5)],
    [np.float32(1.5), np.float32(2.5)],
    [np.int32(3), np.int32(4)],
    [np.array([1.0, 2.0]), np.array([3.0, 4.0])],
    [np.array([1, 2], np.int16), np.array([3, 4], np.int16)],
    [np.bool_(True), np.bool_(False)],
    [1, 2, 3],
    [True, False],
], ids=["np.float64", "np.float32", "np.int32", "float64 arrays", "int16 arrays", "np.bool_", "int", "bool"])
def test_default_collate_dtypes_match_torch(device, torch, samples):
    """NumPy values keep their dtype (a float64 scalar as a float64 0-d array does), ints are int64.
    Python floats are the one documented difference: float32, topograd's default (torch: float64)."""
    ours, theirs = default_collate(samples), torch.utils.data.default_collate(samples)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_default_collate_nested_structures_match_torch(device, torch):
    samples = [{"a": (i, np.full(2, i, np.float32)), "b": {"c": np.int64(i)}, "s": f"s{i}"} for i in range(3)]
    ours, theirs = default_collate(samples), torch.utils.data.default_collate(samples)
    assert ours.keys() == theirs.keys() and ours["s"] == theirs["s"] == ["s0", "s1", "s2"]
    for mine, ref in [(ours["a"][0], theirs["a"][0]), (ours["a"][1], theirs["a"][1]),
                      (ours["b"]["c"], theirs["b"]["c"])]:
        assert str(mine.dtype) == str(ref.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(mine.numpy(), ref.numpy())


class Row(collections.abc.Sequence):
    """A read-only sequence of the user's own, made from a list (as PyTorch rebuilds one)."""

    def __init__(self, items):
        self.items = list(items)

    def __getitem__(self, i):
        return self.items[i]

    def __len__(self):
        return len(self.items)


COLLATE_TABLE = {  # Python floats are left out: topograd makes them float32 (documented)
    "lists": [[1, 2], [3, 4], [5, 6]],
    "ranges": [range(3), range(3, 6)],
    "deques": [collections.deque([1, np.float32(2)]), collections.deque([3, np.float32(4)])],
    "a deque with maxlen": [collections.deque([1, 2], maxlen=2), collections.deque([3, 4], maxlen=2)],
    "a sequence of the user's": [Row([1, np.int16(2)]), Row([3, np.int16(4)])],
    "bytearrays": [bytearray(b"ab"), bytearray(b"cd")],
    "namedtuples": [Pair(np.int64(1), [np.float32(2)]), Pair(np.int64(3), [np.float32(4)])],
    "dicts of lists": [{"a": [1, 2], "b": [np.float64(0.5)]}, {"a": [3, 4], "b": [np.float64(1.5)]}],
    "lists of strings": [["a", "b"], ["c", "d"]],
    "strings": ["cat", "dog"],
    "bytes": [b"\x00", b"\x01"],
    "numpy strings": list(np.array(["cat", "dog"])),
    "numpy float64 scalars": [np.float64(1.5), np.float64(2.5)],
    "numpy int8 scalars": [np.int8(-1), np.int8(2)],
    "numpy uint8 scalars": [np.uint8(1), np.uint8(255)],
    "numpy float16 scalars": [np.float16(1.5), np.float16(2)],
    "numpy bools": [np.bool_(True), np.bool_(False)],
    "bools in lists": [[True, False], [False, True]],
    "a nested mix": [[{"x": range(2), "y": (np.arange(2), "s0")}, collections.deque([b"b0"]), Pair(0, [1])],
                     [{"x": range(2, 4), "y": (np.arange(2, 4), "s1")}, collections.deque([b"b1"]), Pair(1, [2])]],
}


def assert_collated_alike(ours, theirs, example):
    """ours == theirs, structure, types and dtypes, but for the documented difference: a plain
    tuple sample gives a tuple (PyTorch's a list)."""
    if type(theirs).__module__ == "torch":
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
        assert ours.numpy().tolist() == theirs.tolist()
        return
    if type(example) is tuple:
        assert type(ours) is tuple and type(theirs) is list
    else:
        assert type(ours) is type(theirs), (type(ours), type(theirs))
    if isinstance(theirs, collections.abc.Mapping):
        assert list(ours) == list(theirs)
        for key in theirs:
            assert_collated_alike(ours[key], theirs[key], example[key])
    elif isinstance(theirs, (str, bytes)) or not isinstance(theirs, collections.abc.Sequence):
        assert ours == theirs
    else:
        assert len(ours) == len(theirs)
        if isinstance(theirs, collections.deque):
            assert ours.maxlen == theirs.maxlen
        parts = [example] * len(theirs) if isinstance(example, (str, bytes)) else list(example)
        for mine, ref, part in zip(ours, theirs, parts if len(parts) == len(theirs) else [None] * len(theirs)):
            assert_collated_alike(mine, ref, part)


@pytest.mark.parametrize("name", COLLATE_TABLE)
def test_default_collate_batches_sequences_and_scalars_as_torch(torch, name):
    samples = COLLATE_TABLE[name]
    assert_collated_alike(default_collate(samples), torch.utils.data.default_collate(samples), samples[0])


@pytest.mark.parametrize("samples", [[range(2), range(3)], [collections.deque([1]), collections.deque([1, 2])]],
                         ids=["ranges", "deques"])
def test_default_collate_refuses_sequences_of_different_lengths(torch, samples):
    with pytest.raises(RuntimeError, match="equal size"):
        torch.utils.data.default_collate(samples)
    with pytest.raises(ValueError, match="default_collate: samples have different numbers of fields"):
        default_collate(samples)


def test_default_collate_keeps_numpy_strings_as_strings(device, torch):
    """NumPy's str_ is a str that also has __array__: labels read from a string array stay
    strings, in the tuple PyTorch's gives a field of sequence samples."""
    labels = np.array(["cat", "dog"])
    samples = [(np.float32(i), labels[i]) for i in range(2)]
    batch, theirs = default_collate(samples), torch.utils.data.default_collate(samples)
    assert batch[1] == theirs[1] == ("cat", "dog") and batch[0].tolist() == [0.0, 1.0]


@pytest.mark.parametrize("n,batch_size,drop_last", [(7, 3, False), (7, 3, True), (6, 3, True), (2, 5, False),
                                                    (2, 5, True), (0, 2, False)])
def test_loader_over_a_python_list_matches_torch(device, torch, n, batch_size, drop_last):
    data = [(float(i), i) for i in range(n)]
    ours = DataLoader(data, batch_size=batch_size, drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(data, batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    first = as_lists(ours)
    assert first == as_lists(theirs)
    assert as_lists(ours) == first  # a second pass gives the same batches


def test_subset_of_subset_matches_torch(device, torch):
    x = np.arange(10, dtype=np.float32) * 2
    ours = Subset(Subset(TensorDataset(ag.tensor(x)), [9, 7, 5, 3, 1, 0]), [4, 0, -1])
    theirs = torch.utils.data.Subset(torch.utils.data.Subset(torch.utils.data.TensorDataset(torch.tensor(x)),
                                                             [9, 7, 5, 3, 1, 0]), [4, 0, -1])
    assert len(ours) == len(theirs) == 3
    assert [ours[i][0].item() for i in range(3)] == [theirs[i][0].item() for i in range(3)]
    assert as_lists(DataLoader(ours, batch_size=2)) == as_lists(torch.utils.data.DataLoader(theirs, batch_size=2))


def test_subset_passes_negative_indices_to_its_dataset_as_torch(torch):
    # The dataset decides what -1 means (a stream's "last", a keyed store's key -1...);
    # Subset used to turn it into len(dataset) - 1 first.
    class Asked:
        def __init__(self):
            self.asked = []

        def __len__(self):
            return 5

        def __getitem__(self, index):
            self.asked.append(index)
            return index

    seen = []
    for make in (Subset, torch.utils.data.Subset):
        dataset = Asked()
        subset = make(dataset, [-1, 2, -5])
        values = [subset[0], subset[1], subset[2], subset[[2, 0]], subset.__getitems__([1, 0])]
        seen.append((list(subset.indices), values, dataset.asked))
    assert seen[0] == seen[1]
    assert seen[0][0] == [-1, 2, -5]


@pytest.mark.filterwarnings("ignore:Length of split")  # torch warns about empty splits
def test_random_split_fraction_counts_match_torch(torch):
    for n in (0, 1, 7, 10, 33, 101):
        for fractions in ([0.5, 0.5], [0.7, 0.2, 0.1], [0.3, 0.3, 0.4], [0.25] * 4, [0.9, 0.05, 0.05], [1.0]):
            expected = [len(s) for s in torch.utils.data.random_split(range(n), fractions)] if n else None
            counts = _split_counts(fractions, n)
            assert sum(counts) == n
            if expected is not None:
                assert counts == expected, (n, fractions)
    parts = random_split(range(11), [0.5, 0.5], seed=1)
    assert [len(p) for p in parts] == [6, 5]
    assert sorted(parts[0].indices + parts[1].indices) == list(range(11))


def test_random_split_refuses_fractions_that_ask_for_more_samples_than_there_are():
    """Fractions within the tolerance of 1 but above it: on ten million samples they ask
    for one sample too many, which used to leave the last split silently short."""
    with pytest.raises(ValueError, match="more than 1"):
        _split_counts([0.5000005, 0.5], 10_000_000)
    assert sum(_split_counts([0.4999995, 0.5], 10_000_000)) == 10_000_000  # a hair under 1: the rest is shared


# --- fit, ModelCheckpoint, EarlyStopping -----------------------------------------------------------

def test_checkpoint_every_epoch_needs_no_monitored_value(device, tmp_path):
    """Keras: save_best_only=False saves every epoch whether or not the monitored value is logged."""
    model, opt, train = problem()
    ckpt = nn.ModelCheckpoint(tmp_path / "e{epoch}.safetensors", save_best_only=False)  # monitor='val_loss'
    nn.fit(model, F.cross_entropy, opt, train, epochs=2, progress=False, callbacks=[ckpt])
    assert sorted(os.listdir(tmp_path)) == ["e1.safetensors", "e2.safetensors"]
    assert [epoch for epoch, _ in ckpt.saved] == [1, 2]
    for key, value in nn.load(tmp_path / "e2.safetensors").items():
        np.testing.assert_array_equal(value.numpy(), model.state_dict()[key].numpy())
    assert nn.load_metadata(tmp_path / "e2.safetensors") == {"epoch": "2"}


def test_failed_checkpoint_save_does_not_become_the_best(device, tmp_path):
    """A save that fails must not record its score as the best: continuing with the same
    callback would then skip every epoch that is not better than an epoch never saved."""
    model, opt, train = problem()
    (tmp_path / "best.safetensors").mkdir()  # a folder where the file should go: the save fails
    ckpt = nn.ModelCheckpoint(tmp_path / "best.safetensors", monitor="train_loss")
    with pytest.raises(OSError):
        nn.fit(model, F.cross_entropy, opt, train, epochs=1, progress=False, callbacks=[ckpt])
    assert ckpt.best_score is None and ckpt.saved == []
    assert os.listdir(tmp_path) == ["best.safetensors"]  # no temporary file left behind
    (tmp_path / "best.safetensors").rmdir()
    for group in opt.param_groups:
        group["lr"] = 0.0  # the same weights: the same loss as before
    nn.fit(model, F.cross_entropy, opt, train, epochs=1, progress=False, callbacks=[ckpt])
    assert [epoch for epoch, _ in ckpt.saved] == [1]
    for key, value in nn.load(tmp_path / "best.safetensors").items():
        np.testing.assert_array_equal(value.numpy(), model.state_dict()[key].numpy())


def test_fit_leaves_a_frozen_submodule_in_eval_mode(device):
    """Fine-tuning with a batch norm frozen by .eval(): it stays frozen while fit trains (its
    running statistics do not move), and after fit every module has the mode it had."""
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    model.train()
    model[1].eval()
    train = DataLoader(TensorDataset(ag.randn(12, 3), ag.randint(0, 2, 12)), batch_size=4)
    opt = nn.optim.SGD(model.parameters(), lr=0.1)
    nn.fit(model, F.cross_entropy, opt, train, train, epochs=2, progress=False)
    assert [m.training for m in model.modules()] == [True, True, False, True]
    np.testing.assert_array_equal(model[1].running_mean.numpy(), np.zeros(4))
    np.testing.assert_array_equal(model[1].running_var.numpy(), np.ones(4))
    model.eval()
    nn.fit(model, F.cross_entropy, opt, train, epochs=1, progress=False)
    assert not any(m.training for m in model.modules())


def test_fit_with_zero_epochs_and_without_val_loader(device):
    model, opt, train = problem()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    calls = []

    class Record(nn.Callback):
        def on_train_begin(self, state):
            calls.append("begin")

        def on_epoch_end(self, state, epoch, logs):
            calls.append(epoch)

        def on_train_end(self, state):
            calls.append("end")
    history = nn.fit(model, F.cross_entropy, opt, train, train, epochs=0, progress=False,
                     callbacks=[Record(), nn.EarlyStopping()])
    assert len(history) == 0 and history.train_loss == [] and history.val_loss == [] and history.metrics == {}
    assert calls == ["begin", "end"]
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[key])
    history = nn.fit(model, F.cross_entropy, opt, train, epochs=2, progress=False, callbacks=[Record()])
    assert history.keys() == ["epoch", "train_loss", "lr"] and len(history.train_loss) == 2
    assert calls[2:] == ["begin", 1, 2, "end"]


def test_train_and_val_loss_are_weighted_by_batch_size(device, torch):
    """20 samples in batches of 6: the last batch of 2 counts for 2 samples, not for a whole batch."""
    model, _, train = problem()
    x, y = train.dataset.tensors
    history = nn.fit(model, F.cross_entropy, nn.optim.SGD(model.parameters(), lr=0.0), train, train, epochs=1,
                     metrics=("accuracy",), progress=False)
    w, b = (torch.tensor(model.state_dict()[k].numpy()) for k in ("weight", "bias"))
    logits = torch.tensor(x.numpy()) @ w.T + b
    expected = torch.nn.functional.cross_entropy(logits, torch.tensor(y.numpy())).item()
    assert history.train_loss[0] == pytest.approx(expected, rel=1e-5)
    assert history.val_loss[0] == pytest.approx(expected, rel=1e-5)
    accuracy = (logits.argmax(1) == torch.tensor(y.numpy())).double().mean().item()
    assert history.metrics["accuracy"][0] == pytest.approx(accuracy)


@pytest.mark.parametrize("mode,min_delta,patience,scores,stopped,best", [
    ("min", 0.0, 2, [5, 4, 4, 4, 1], 4, 2),          # equal is no improvement
    ("min", 0.5, 2, [5, 4.6, 4.5, 3], 3, 1),         # Keras: improvement needs score < best - min_delta
    ("min", 0.5, 1, [5, 4.4, 3.95, 3], 3, 2),
    ("max", 0.1, 1, [0.5, 0.65, 0.7, 0.9], 3, 2),
    ("min", 0.0, 0, [3, 2, 2.5], 3, 2),              # patience 0: the first non-improving epoch stops
    ("min", 0.0, 3, [3, float("nan"), 2, 4, 4, 4], 6, 3),
])
def test_early_stopping_follows_keras_semantics(mode, min_delta, patience, scores, stopped, best):
    stopper = nn.EarlyStopping(monitor="m", mode=mode, min_delta=min_delta, patience=patience,
                               restore_best_weights=False)
    state = nn.training.FitState(model=None, optimizer=None, history=nn.training.History())
    stopper.on_train_begin(state)
    for epoch, score in enumerate(scores, start=1):
        stopper.on_epoch_end(state, epoch, {"m": score})
        if state.stop_training:
            break
    assert (stopper.stopped_epoch, stopper.best_epoch) == (stopped, best)
    assert stopper.best_score == scores[best - 1]


def test_early_stopping_restores_the_best_weights_when_epochs_run_out(device):
    model, opt, train = problem()
    seen = {}

    class Record(nn.Callback):
        def on_epoch_end(self, state, epoch, logs):
            seen[epoch] = {k: v.numpy().copy() for k, v in state.model.state_dict().items()}
    for group in opt.param_groups:
        group["lr"] = 5.0  # large steps: the train loss goes up after the first epoch
    stopper = nn.EarlyStopping(monitor="train_loss", patience=10)
    history = nn.fit(model, F.cross_entropy, opt, train, epochs=3, progress=False, metrics=(),
                     callbacks=[Record(), stopper])
    best = int(np.nanargmin(history.train_loss)) + 1
    assert stopper.stopped_epoch is None and stopper.best_epoch == best
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), seen[best][key])


def test_a_failing_loss_closes_the_progress_bar_and_restores_the_mode(device, monkeypatch):
    tqdm = pytest.importorskip("tqdm").tqdm
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    monkeypatch.setattr(sys, "stderr", Terminal())
    model, opt, train = problem()
    calls = []

    def loss(out, target):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("loss failed")
        return F.cross_entropy(out, target)
    with pytest.raises(RuntimeError, match="loss failed"):
        nn.fit(model, loss, opt, train, epochs=1)
    assert model.training and not list(tqdm._instances)


def test_accuracy_rejects_a_single_score_column(device):
    """argmax over one column is class 0 for every sample: sklearn refuses such scores, so do we."""
    scores, targets = ag.tensor([[0.9], [0.8], [-0.3]]), ag.tensor([1, 1, 0])
    with pytest.raises(ValueError, match="one score per sample.*threshold="):
        nn.metrics.accuracy(scores, targets)
    assert nn.metrics.accuracy(scores.reshape(-1), targets, threshold=0.0) == 1.0
    with pytest.raises(ValueError, match="one score per sample"):
        nn.metrics.precision(scores, targets)


# --- the IDX reader -------------------------------------------------------------------------------

def idx_header(type_code, shape):
    return struct.pack(">BBBB", 0, 0, type_code, len(shape)) + struct.pack(f">{len(shape)}I", *shape)


@pytest.mark.parametrize("data,message", [
    (idx_header(0x08, ()), "0 dimensions"),
    (idx_header(0x0B, (2, 3)) + b"\x00" * 11, "needs 12 data bytes, found 11"),
    (idx_header(0x08, (2 ** 32 - 1, 2 ** 32 - 1)) + b"\x00" * 4, "truncated IDX file"),
    (idx_header(0x0E, (1,))[:7], "truncated IDX header"),
    (b"", "shorter than the 4-byte header"),
    (b"\x1f\x8bnot gzip", "corrupt or truncated gzip"),
])
def test_read_idx_names_the_damage(tmp_path, data, message):
    path = tmp_path / "x-idx1-ubyte"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message):
        read_idx(path)


def test_read_idx_empty_array_and_missing_file(tmp_path):
    path = tmp_path / "empty-idx3-ubyte"
    path.write_bytes(idx_header(0x0C, (0, 28, 28)))
    t = read_idx(path)
    assert t.shape == (0, 28, 28) and t.dtype == ag.int32
    path.write_bytes(idx_header(0x0B, (2,)) + np.array([-2, 300], ">i2").tobytes())
    assert read_idx(path).numpy().tolist() == [-2, 300]
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "missing")
