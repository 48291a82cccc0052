"""nn.data.DistributedSampler against PyTorch's: without shuffling, each rank's positions and
length are PyTorch's exactly; with shuffling (topograd's own generator, so not PyTorch's
order) the shares have PyTorch's structure (a permutation, padded with its first positions or
cut with drop_last, dealt out rank by rank), depend only on (seed, epoch), and change with
set_epoch. The argument errors are PyTorch's, and num_replicas and rank must be given."""
import numpy as np
import pytest

import autograd as ag
from nn.data import DataLoader, DistributedSampler, RandomSampler, TensorDataset

SIZES = [0, 1, 2, 5, 10, 12]
REPLICAS = [1, 2, 3, 4, 7]


def shares(n, num_replicas, **options):
    return [list(DistributedSampler(range(n), num_replicas, rank, **options)) for rank in range(num_replicas)]


def dealt_back(parts):
    """The one list the ranks' shares were dealt from (rank r takes positions r, r + R, ...)."""
    return [part[i] for i in range(len(parts[0])) for part in parts]


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("num_replicas", REPLICAS)
@pytest.mark.parametrize("drop_last", [False, True])
def test_unshuffled_shares_are_torchs(torch, n, num_replicas, drop_last):
    for rank in range(num_replicas):
        ours = DistributedSampler(range(n), num_replicas=num_replicas, rank=rank, shuffle=False,
                                  drop_last=drop_last)
        theirs = torch.utils.data.DistributedSampler(range(n), num_replicas=num_replicas, rank=rank,
                                                      shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs) == len(list(ours))
        assert (ours.num_samples, ours.total_size) == (theirs.num_samples, theirs.total_size)


def test_numpy_integers_are_accepted_as_in_torch(torch):
    ours = DistributedSampler(range(9), num_replicas=np.int64(4), rank=np.int64(3), shuffle=False)
    theirs = torch.utils.data.DistributedSampler(range(9), num_replicas=np.int64(4), rank=np.int64(3),
                                                  shuffle=False)
    assert list(ours) == list(theirs) == [3, 7, 2]


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("num_replicas", REPLICAS)
@pytest.mark.parametrize("drop_last", [False, True])
def test_shuffled_shares_have_torchs_structure(torch, n, num_replicas, drop_last):
    ours = shares(n, num_replicas, seed=5, drop_last=drop_last)
    theirs = [list(torch.utils.data.DistributedSampler(range(n), num_replicas, rank, seed=5, drop_last=drop_last))
              for rank in range(num_replicas)]
    assert [len(part) for part in ours] == [len(part) for part in theirs]
    dealt = dealt_back(ours)
    if drop_last:  # distinct positions: the shares are disjoint
        assert len(set(dealt)) == len(dealt) and set(dealt) <= set(range(n))
    else:  # a permutation of the dataset, then its first positions again until every rank has as many
        assert sorted(dealt[:n]) == list(range(n))
        padding = dealt[n:]
        assert padding == (dealt[:n] * len(dealt))[:len(padding)]


def test_shuffle_depends_only_on_seed_and_epoch():
    first = shares(23, 3, seed=1)
    assert dealt_back(first)[:23] != list(range(23))  # shuffled
    assert shares(23, 3, seed=1) == first  # repeatable in another process
    sampler = DistributedSampler(range(23), 3, 1, seed=1)
    assert list(sampler) == list(sampler) == first[1]  # as PyTorch's: no epoch advance on its own
    assert shares(23, 3, seed=2) != first
    sampler.set_epoch(1)
    epoch_one = list(sampler)
    assert epoch_one != first[1]
    assert len(epoch_one) == len(first[1])
    assert epoch_one == list(_at_epoch(DistributedSampler(range(23), 3, 1, seed=1), 1))
    sampler.set_epoch(0)  # resuming replays the epoch
    assert list(sampler) == first[1]


def _at_epoch(sampler, epoch):
    sampler.set_epoch(epoch)
    return sampler


@pytest.mark.parametrize("epoch", [0, 3])
def test_one_replica_shuffles_as_a_seeded_random_sampler(epoch):
    ours = _at_epoch(DistributedSampler(range(17), num_replicas=1, rank=0, seed=4), epoch)
    alone = RandomSampler(range(17), seed=4)
    alone.set_epoch(epoch)
    assert list(ours) == list(alone)


def test_loader_with_the_sampler_gives_torchs_batches_and_forwards_set_epoch(torch):
    x = np.arange(22, dtype=np.float32).reshape(11, 2)
    ours = DataLoader(TensorDataset(ag.tensor(x)), batch_size=2,
                      sampler=DistributedSampler(range(11), num_replicas=3, rank=2, shuffle=False))
    theirs = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(x)), batch_size=2,
        sampler=torch.utils.data.DistributedSampler(range(11), num_replicas=3, rank=2, shuffle=False))
    assert [b[0].numpy().tolist() for b in ours] == [b[0].numpy().tolist() for b in theirs]
    assert len(ours) == len(theirs)
    shuffled = DataLoader(list(range(11)), batch_size=None, sampler=DistributedSampler(range(11), 3, 2, seed=7))
    shuffled.set_epoch(2)
    assert shuffled.sampler.epoch == 2
    assert [int(v) for v in shuffled] == list(_at_epoch(DistributedSampler(range(11), 3, 2, seed=7), 2))


def test_without_num_replicas_and_rank_it_asks_for_both(torch):
    # PyTorch reads them from its process group, and without one raises a ValueError too
    with pytest.raises(ValueError, match="process group has not been initialized"):
        torch.utils.data.DistributedSampler(range(4))
    for kwargs in [{}, {"num_replicas": 2}, {"rank": 0}]:
        with pytest.raises(ValueError, match=r"pass num_replicas= and rank="):
            DistributedSampler(range(4), **kwargs)


@pytest.mark.parametrize("num_replicas, rank", [(2, 2), (2, -1), (1, 1)])
def test_rank_out_of_range_is_refused_as_in_torch(torch, num_replicas, rank):
    message = rf"Invalid rank {rank}, rank should be in the interval \[0, {num_replicas - 1}\]"
    with pytest.raises(ValueError, match=message):
        torch.utils.data.DistributedSampler(range(4), num_replicas, rank)
    with pytest.raises(ValueError, match=message.replace("Invalid", "invalid")):
        DistributedSampler(range(4), num_replicas, rank)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"num_replicas": 0, "rank": 0}, "num_replicas must be a positive int, got 0"),
    ({"num_replicas": 2.0, "rank": 0}, "num_replicas must be a positive int, got 2.0"),
    ({"num_replicas": 2, "rank": 1.0}, "rank must be an int, got 1.0"),
    ({"num_replicas": True, "rank": 0}, "num_replicas must be a positive int, got True"),
    ({"num_replicas": 2, "rank": 0, "seed": 0.5}, "seed must be an int"),
])
def test_bad_arguments_are_refused(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        DistributedSampler(range(4), **kwargs)
