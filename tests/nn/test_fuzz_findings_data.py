"""Findings of a differential fuzz of nn.data against torch.utils.data: a drop_last that is
not a bool, NumPy integer batch sizes, float positions from a sampler, bytes samples,
a Subset indexed with a list of positions, mapping samples of other types than dict, and an
empty batch from a batch sampler."""
import collections
import numpy as np
import pytest

import autograd as ag
from nn.data import BatchSampler, DataLoader, SequentialSampler, Subset, TensorDataset, default_collate


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


def test_default_collate_keeps_bytes_as_a_list(torch):
    samples = [(b"\x00\x01", 1), (b"\x02\x03", 2)]
    ours, theirs = default_collate(samples), torch.utils.data.default_collate(samples)
    assert ours[0] == list(theirs[0]) == [b"\x00\x01", b"\x02\x03"]  # PyTorch keeps the batch as it comes
    assert ours[1].numpy().tolist() == theirs[1].tolist() == [1, 2]
    batch = next(iter(DataLoader(samples, batch_size=2)))
    assert batch[0] == [b"\x00\x01", b"\x02\x03"]


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
