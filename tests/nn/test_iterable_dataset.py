"""IterableDataset and ChainDataset, and the DataLoader over a stream, checked against
torch.utils.data: the batches (sizes, values, the short last one, drop_last), len(),
the options a stream refuses, and iteration starting afresh each epoch."""
import numpy as np
import pytest

import autograd as ag
from nn.data import ChainDataset, ConcatDataset, DataLoader, IterableDataset, TensorDataset, get_worker_info


def make_stream(base, n, sized=True, started=None):
    """An IterableDataset subclass of ``base`` yielding (x, label) pairs 0..n-1.
    ``started`` (a list) counts the calls of __iter__."""
    class Stream(base):
        def __iter__(self):
            if started is not None:
                started.append(1)
            return ((np.full(2, i, dtype=np.float32), i) for i in range(n))

    if sized:
        Stream.__len__ = lambda self: n
    return Stream()


def torch_stream(torch, n, sized=True):
    return make_stream(torch.utils.data.IterableDataset, n, sized)


def ours_stream(n, sized=True, started=None):
    return make_stream(IterableDataset, n, sized, started)


def batches_as_lists(loader):
    # (.tolist(), not np.asarray: ours land on the default device, which may be a GPU)
    return [[field.tolist() for field in batch] for batch in loader]


@pytest.mark.parametrize("n, batch_size, drop_last", [(10, 3, False), (10, 3, True), (9, 3, False), (9, 3, True),
                                                      (2, 5, False), (2, 5, True), (0, 4, False), (7, 1, False)])
def test_batches_and_len_match_torch(torch, n, batch_size, drop_last):
    ours = DataLoader(ours_stream(n), batch_size=batch_size, drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(torch_stream(torch, n), batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    got, expected = batches_as_lists(ours), batches_as_lists(theirs)
    assert got == expected
    assert len(got) == len(ours)


def test_batch_values_and_dtypes(torch):
    x, label = next(iter(DataLoader(ours_stream(5), batch_size=4)))
    tx, tlabel = next(iter(torch.utils.data.DataLoader(torch_stream(torch, 5), batch_size=4)))
    np.testing.assert_array_equal(x.numpy(), tx.numpy())
    np.testing.assert_array_equal(label.numpy(), tlabel.numpy())
    assert (x.dtype, x.shape) == (ag.float32, (4, 2))
    assert label.dtype == ag.int64


def test_batch_size_none_yields_samples_converted(torch):
    ours = list(DataLoader(ours_stream(3), batch_size=None))
    theirs = list(torch.utils.data.DataLoader(torch_stream(torch, 3), batch_size=None))
    assert len(ours) == len(theirs) == 3
    for (x, label), (tx, tlabel) in zip(ours, theirs):
        assert isinstance(x, ag.Tensor)  # default_convert: the NumPy array becomes a tensor
        np.testing.assert_array_equal(x.numpy(), tx.numpy())
        assert label == tlabel
    assert len(DataLoader(ours_stream(3), batch_size=None)) == 3


def test_len_of_an_unsized_stream_is_a_type_error_as_torch(torch):
    with pytest.raises(TypeError):
        len(torch.utils.data.DataLoader(torch_stream(torch, 3, sized=False), batch_size=2))
    loader = DataLoader(ours_stream(3, sized=False), batch_size=2)
    with pytest.raises(TypeError, match="has no len"):
        len(loader)
    assert batches_as_lists(loader) == [[[[0, 0], [1, 1]], [0, 1]], [[[2, 2]], [2]]]


@pytest.mark.parametrize("option", [{"shuffle": True}, {"sampler": [0, 1]}, {"batch_sampler": [[0, 1]]}])
def test_position_options_are_refused_as_torch(torch, option):
    with pytest.raises(ValueError):
        torch.utils.data.DataLoader(torch_stream(torch, 4), **option)
    with pytest.raises(ValueError, match="IterableDataset yields its samples in its own order"):
        DataLoader(ours_stream(4), **option)


def test_seed_is_refused_and_shuffle_false_allowed():
    with pytest.raises(ValueError, match="no seed=0"):
        DataLoader(ours_stream(4), batch_size=2, seed=0)
    assert len(DataLoader(ours_stream(4), batch_size=2, shuffle=False)) == 2


def test_each_epoch_starts_the_stream_afresh_when_iteration_starts():
    started = []
    loader = DataLoader(ours_stream(4, started=started), batch_size=3)
    epoch = iter(loader)
    assert started == [1]  # at iter(), not at the first batch, as PyTorch's
    assert len(list(epoch)) == 2
    assert len(list(loader)) == 2 and started == [1, 1]


def test_chain_dataset_and_plus_match_torch(torch):
    ours = ChainDataset([ours_stream(2), ours_stream(3)])
    theirs = torch.utils.data.ChainDataset([torch_stream(torch, 2), torch_stream(torch, 3)])
    assert [label for _, label in ours] == [label for _, label in theirs] == [0, 1, 0, 1, 2]
    assert len(ours) == len(theirs) == 5
    assert [label for _, label in ours_stream(1) + ours_stream(2)] == [0, 0, 1]
    assert batches_as_lists(DataLoader(ours, batch_size=2)) == batches_as_lists(
        torch.utils.data.DataLoader(theirs, batch_size=2))


def test_mixing_streams_and_indexable_datasets_is_refused():
    indexable = TensorDataset(ag.zeros(3))
    with pytest.raises(TypeError, match="not an IterableDataset; join indexable datasets with ConcatDataset"):
        ChainDataset([ours_stream(2), indexable])
    with pytest.raises(TypeError, match="is an IterableDataset, which has no positions"):
        ConcatDataset([indexable, ours_stream(2)])
    with pytest.raises(TypeError, match="has no positions to index"):
        ours_stream(2)[0]


def test_a_custom_collate_fn_gets_each_list_of_samples():
    loader = DataLoader(ours_stream(5), batch_size=2, collate_fn=lambda samples: [label for _, label in samples])
    assert list(loader) == [[0, 1], [2, 3], [4]]


def test_batches_land_on_the_requested_device(device):
    x, _ = next(iter(DataLoader(ours_stream(3), batch_size=2, device=device)))
    assert x.device == device


def test_get_worker_info_is_none_in_this_process(torch):
    assert get_worker_info() is None is torch.utils.data.get_worker_info()


def test_repr_names_the_stream():
    assert "stream" in repr(DataLoader(ours_stream(3, sized=False), batch_size=2))


def test_a_stream_without_len_is_true_and_batch_size_none_refuses_drop_last(torch):
    assert bool(ours_stream(3, sized=False)) and bool(torch_stream(torch, 3, sized=False))
    with pytest.raises(ValueError):
        torch.utils.data.DataLoader(torch_stream(torch, 3), batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="drop_last=True has no batch to drop"):
        DataLoader(ours_stream(3), batch_size=None, drop_last=True)


def test_a_sized_stream_is_true_as_its_length_says(torch):
    assert not ours_stream(0) and not torch_stream(torch, 0)
    assert ours_stream(2) and torch_stream(torch, 2)
