"""Samplers and the DataLoader's PyTorch signature, checked against PyTorch: the
deterministic samplers give PyTorch's positions exactly, the random ones the right
kind of draw (a permutation, draws with replacement, weighted frequencies) and the
same draws again under a seed; lengths and the errors for conflicting options match."""
import inspect
import random
from collections import Counter

import numpy as np
import pytest

import autograd as ag
from nn.data import (BatchSampler, DataLoader, RandomSampler, SequentialSampler, Subset, SubsetRandomSampler,
                     TensorDataset, WeightedRandomSampler)
from nn.data.dataset import shuffled_indices


def rows(n):
    return np.arange(n * 2, dtype=np.float32).reshape(n, 2)


def pair(torch, n):
    x = rows(n)
    return TensorDataset(ag.tensor(x)), torch.utils.data.TensorDataset(torch.tensor(x))


def batches_as_lists(loader):
    return [[t.numpy().tolist() for t in batch] for batch in loader]


@pytest.mark.parametrize("n", [0, 1, 7, 12])
@pytest.mark.parametrize("batch_size", [1, 3, 5, 20])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sequential_and_batch_sampler_match_torch(torch, n, batch_size, drop_last):
    data = list(range(n))
    ours = BatchSampler(SequentialSampler(data), batch_size, drop_last)
    theirs = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(data), batch_size, drop_last)
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs)
    assert list(SequentialSampler(data)) == list(torch.utils.data.SequentialSampler(data))
    # any iterable of positions is a sampler, as in PyTorch
    assert list(BatchSampler([5, 3, 9, 1], batch_size, drop_last)) == \
        list(torch.utils.data.BatchSampler([5, 3, 9, 1], batch_size, drop_last))


def test_loader_signature_is_torchs_positionally(torch):
    ours = list(inspect.signature(DataLoader).parameters.values())
    theirs = list(inspect.signature(torch.utils.data.DataLoader).parameters.values())
    positional = [p.name for p in ours if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert positional == [p.name for p in theirs if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert {p.name for p in theirs} <= {p.name for p in ours}
    assert {p.name: p.default for p in ours if p.name in positional} == \
        {p.name: p.default for p in theirs if p.name in positional}


@pytest.mark.parametrize("make", [
    lambda dl, ds: dl(ds, 3, False, [6, 0, 4, 2, 1]),  # the 4th positional argument is the sampler
    lambda dl, ds: dl(ds, batch_size=2, sampler=range(6, -1, -1), drop_last=True),
    lambda dl, ds: dl(ds, batch_sampler=[[3, 1], [0], [6, 5, 2]]),
    lambda dl, ds: dl(ds, batch_size=None, sampler=[4, 0, 5]),
    lambda dl, ds: dl(ds, batch_size=None),
])
def test_loader_with_samplers_gives_torchs_batches(device, torch, make):
    ours, theirs = pair(torch, 7)
    ours_loader, theirs_loader = make(DataLoader, ours), make(torch.utils.data.DataLoader, theirs)
    assert len(ours_loader) == len(theirs_loader)
    assert batches_as_lists(ours_loader) == batches_as_lists(theirs_loader)
    # the same through Subsets (the gather composes the index maps) and through the per-sample path
    sub_ours = Subset(Subset(ours, [6, 5, 4, 3, 2, 1, 0]), list(range(7)))
    sub_theirs = torch.utils.data.Subset(torch.utils.data.Subset(theirs, [6, 5, 4, 3, 2, 1, 0]), list(range(7)))
    assert batches_as_lists(make(DataLoader, sub_ours)) == \
        batches_as_lists(make(torch.utils.data.DataLoader, sub_theirs))
    samples = [tuple(t for t in ours[i]) for i in range(7)]
    torch_samples = [tuple(t for t in theirs[i]) for i in range(7)]
    assert batches_as_lists(make(DataLoader, samples)) == \
        batches_as_lists(make(torch.utils.data.DataLoader, torch_samples))


def test_no_batching_converts_numpy_as_torch(torch):
    data = [(np.full(2, i, dtype=np.float64), i) for i in range(3)]
    ours = list(DataLoader(data, batch_size=None))
    theirs = list(torch.utils.data.DataLoader(data, batch_size=None))
    for (x, i), (tx, ti) in zip(ours, theirs):
        assert isinstance(x, ag.Tensor) and x.dtype == ag.float64
        np.testing.assert_array_equal(x.numpy(), tx.numpy())
        assert i == ti and type(i) is type(ti) is int


@pytest.mark.parametrize("kwargs", [
    {}, {"batch_size": 4}, {"batch_size": 4, "drop_last": True}, {"batch_size": 20, "drop_last": True},
    {"batch_size": None}, {"shuffle": True, "batch_size": 3},
    {"sampler": "random_7", "batch_size": 3}, {"sampler": "random_7", "batch_size": None},
    {"sampler": "subset", "batch_size": 2, "drop_last": True}, {"batch_sampler": "batches"},
])
def test_lengths_match_torch(torch, kwargs):
    def build(module, dataset):
        made = dict(kwargs)
        samplers = {"random_7": lambda: module.RandomSampler(dataset, replacement=True, num_samples=7),
                    "subset": lambda: module.SubsetRandomSampler([1, 4, 6, 8, 9]),
                    "batches": lambda: module.BatchSampler(module.SequentialSampler(dataset), 4, False)}
        for key in ("sampler", "batch_sampler"):
            if key in made:
                made[key] = samplers[made[key]]()
        return module.DataLoader(dataset, **made)
    import nn.data as ours_module
    ours, theirs = pair(torch, 11)
    ours_loader, theirs_loader = build(ours_module, ours), build(torch.utils.data, theirs)
    assert len(ours_loader) == len(theirs_loader) == len(list(ours_loader))


@pytest.mark.parametrize("args", [dict(), dict(num_samples=4), dict(num_samples=25),
                                  dict(replacement=True), dict(replacement=True, num_samples=40)])
def test_random_sampler_draws(torch, args):
    n = 10
    ours = RandomSampler(range(n), generator=random.Random(0), **args)
    theirs = torch.utils.data.RandomSampler(range(n), **args)
    drawn = list(ours)
    assert len(drawn) == len(ours) == len(theirs) == len(list(theirs))
    assert all(0 <= i < n for i in drawn)
    if args.get("replacement"):
        assert len(set(drawn)) < len(drawn)  # 40 draws of 10 values (or 10 of 10) repeat, all but surely
    else:
        for start in range(0, len(drawn), n):  # each block of n is (part of) one permutation
            block = drawn[start:start + n]
            assert len(set(block)) == len(block)
        if len(drawn) >= n:
            assert sorted(drawn[:n]) == list(range(n))
    again = RandomSampler(range(n), generator=random.Random(0), **args)
    assert list(again) == drawn  # the same generator seed, the same draws
    assert list(again) != drawn  # its stream goes on: the next pass differs


def test_random_sampler_follows_manual_seed_and_seed():
    ag.manual_seed(3)
    first = list(RandomSampler(range(50)))
    ag.manual_seed(3)
    assert list(RandomSampler(range(50))) == first
    assert first != list(range(50))
    seeded = RandomSampler(range(50), seed=7)
    epoch0, epoch1 = list(seeded), list(seeded)
    assert epoch0 != epoch1 and sorted(epoch0) == sorted(epoch1) == list(range(50))
    seeded.set_epoch(1)
    assert list(seeded) == epoch1
    assert epoch0 == list(RandomSampler(range(50), seed=7))


def test_loader_keeps_its_seeded_shuffle_order(device):
    """Samplers under the DataLoader did not change its seeded orders: epoch e of seed s
    is still shuffled_indices(n, "s/e"), the order random_split and resumed runs rely on."""
    ds = TensorDataset(ag.arange(23))
    loader = DataLoader(ds, batch_size=5, shuffle=True, seed=4)
    for epoch in range(2):
        order = [int(i) for (batch,) in loader for i in batch.numpy()]
        assert order == shuffled_indices(23, f"4/{epoch}")
    loader.set_epoch(0)
    assert [int(i) for (batch,) in loader for i in batch.numpy()] == shuffled_indices(23, "4/0")


def test_loader_shuffles_with_a_generator(torch):
    ds = TensorDataset(ag.arange(30))
    first = [b.numpy().tolist() for (b,) in DataLoader(ds, batch_size=4, shuffle=True, generator=random.Random(1))]
    again = [b.numpy().tolist() for (b,) in DataLoader(ds, batch_size=4, shuffle=True, generator=random.Random(1))]
    assert first == again and sorted(sum(first, [])) == list(range(30)) and sum(first, []) != list(range(30))
    with pytest.raises(TypeError, match=r"generator= takes only None or a random.Random.*not Generator"):
        DataLoader(ds, shuffle=True, generator=torch.Generator())
    with pytest.raises(TypeError, match=r"RandomSampler: generator= takes only None or a random.Random"):
        RandomSampler(ds, generator=torch.Generator())


def test_subset_random_sampler(torch):
    indices = [3, 8, 11, 20, 21]
    ours = SubsetRandomSampler(indices, generator=random.Random(2))
    drawn = list(ours)
    assert sorted(drawn) == indices and len(ours) == len(torch.utils.data.SubsetRandomSampler(indices))
    assert list(SubsetRandomSampler(indices, generator=random.Random(2))) == drawn
    ag.manual_seed(9)
    a = list(SubsetRandomSampler(range(40)))
    ag.manual_seed(9)
    assert list(SubsetRandomSampler(range(40))) == a != list(range(40))


def test_weighted_sampler_frequencies_follow_the_weights():
    weights = [0.1, 0.9, 0.4, 0.7, 3.0, 0.6, 0.0]
    expected = np.array(weights) / sum(weights)
    sampler = WeightedRandomSampler(weights, 60_000, generator=random.Random(0))
    counts = Counter(sampler)
    assert len(sampler) == 60_000 and sum(counts.values()) == 60_000
    assert counts[6] == 0  # a zero weight is never drawn
    np.testing.assert_allclose([counts[i] / 60_000 for i in range(7)], expected, atol=0.01)
    assert list(WeightedRandomSampler(weights, 50, generator=random.Random(0))) == \
        list(WeightedRandomSampler(weights, 60_000, generator=random.Random(0)))[:50]


def test_weighted_sampler_without_replacement(torch):
    weights = ag.tensor([0.9, 0.4, 0.05, 0.2, 0.3, 0.1, 0.0])  # a Tensor works too, as in PyTorch
    sampler = WeightedRandomSampler(weights, 5, replacement=False, generator=random.Random(1))
    passes = [list(sampler) for _ in range(4000)]
    assert all(len(set(p)) == 5 and 6 not in p for p in passes)
    # each pass's first draw is one weighted draw over all positions; the second, over those left
    firsts = Counter(p[0] for p in passes)
    expected = np.array(weights.numpy(), dtype=np.float64) / float(weights.numpy().sum())
    np.testing.assert_allclose([firsts[i] / 4000 for i in range(7)], expected, atol=0.03)
    after_0 = Counter(p[1] for p in passes if p[0] == 0)
    rest = expected.copy()
    rest[0] = 0
    np.testing.assert_allclose([after_0[i] / sum(after_0.values()) for i in range(7)], rest / rest.sum(), atol=0.05)
    # as PyTorch's on the CPU: zero weights are drawn once the others are used up, never before
    for seed in range(5):
        drawn = list(WeightedRandomSampler([1.0, 0.0, 2.0, 0.0], 4, replacement=False, generator=random.Random(seed)))
        assert sorted(drawn[:2]) == [0, 2] and sorted(drawn[2:]) == [1, 3]
    assert sampler.weights.dtype == ag.float64 and len(sampler) == len(
        torch.utils.data.WeightedRandomSampler(torch.tensor(weights.numpy()), 5, replacement=False))


def test_weighted_sampler_draws_subnormal_weights_fairly_as_torchs(torch):
    """Without replacement each key was an Exp(1) draw over the weight, which overflows to inf for a
    subnormal weight: such positions tied with the zero weights, and came in index order, (0, 1, 2) every
    pass, or a zero weight before them. With replacement, choices split a random number scaled by the
    subnormal sum, which has too few bits: two weights of 5e-324 were drawn 1 : 3."""
    assert list(WeightedRandomSampler([0.0, 1e-320], 1, replacement=False, generator=random.Random(0))) == \
        list(torch.utils.data.WeightedRandomSampler([0.0, 1e-320], 1, replacement=False)) == [1]
    sampler = WeightedRandomSampler([5e-324] * 3, 3, replacement=False, generator=random.Random(0))
    firsts = Counter(next(iter(sampler)) for _ in range(3000))
    np.testing.assert_allclose([firsts[i] / 3000 for i in range(3)], [1 / 3] * 3, atol=0.04)
    assert all(sorted(sampler) == [0, 1, 2] for _ in range(10))
    # and weights whose sum overflows, which choices refused ("Total of weights must be finite");
    # there the frequencies are the math's (PyTorch 2.13's multinomial draws position 1 alone)
    for weights in ([5e-324, 5e-324], [1e-320, 3e-320], [1.0, 5e-324], [1e308, 1.5e308]):
        expected = np.array(weights) / max(weights)  # (over the largest first: 1e308 + 1.5e308 overflows)
        expected /= expected.sum()
        counts = Counter(WeightedRandomSampler(weights, 6000, generator=random.Random(0)))
        np.testing.assert_allclose([counts[i] / 6000 for i in range(2)], expected, atol=0.03)


_ds = TensorDataset(ag.arange(6))


@pytest.mark.parametrize("kwargs, message", [
    (dict(sampler=[0, 1], shuffle=True), "sampler and shuffle=True are mutually exclusive"),
    (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler is mutually exclusive.*got batch_size=2"),
    (dict(batch_sampler=[[0]], shuffle=True), "batch_sampler is mutually exclusive.*got shuffle=True"),
    (dict(batch_sampler=[[0]], sampler=[0]), "batch_sampler is mutually exclusive.*got sampler=list"),
    (dict(batch_sampler=[[0]], drop_last=True), "batch_sampler is mutually exclusive.*got drop_last=True"),
    (dict(batch_size=None, drop_last=True), "batch_size=None turns batching off, so drop_last=True"),
    (dict(prefetch_factor=2), "prefetch_factor only apply to worker processes"),
    (dict(persistent_workers=True), "persistent_workers only apply to worker processes"),
    (dict(multiprocessing_context="spawn"), "multiprocessing_context only apply to worker processes"),
    (dict(timeout=-1), "timeout must be >= 0"),
    (dict(num_workers=-1), "num_workers must be an int >= 0"),
])
def test_conflicting_loader_options_raise_as_torch(torch, kwargs, message):
    with pytest.raises(ValueError):
        torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(6)), **kwargs)
    with pytest.raises(ValueError, match=message):
        DataLoader(_ds, **kwargs)


def test_topograd_seed_conflicts_and_fixed_attributes(torch):
    with pytest.raises(ValueError, match="seed= seeds the loader's own shuffle, but a sampler was given"):
        DataLoader(_ds, sampler=[0, 1], seed=0)
    with pytest.raises(ValueError, match="pass seed= or generator=, not both"):
        DataLoader(_ds, shuffle=True, seed=0, generator=random.Random(0))
    ours, theirs = DataLoader(_ds, batch_size=2), torch.utils.data.DataLoader(torch.arange(6), batch_size=2)
    with pytest.raises(ValueError):
        theirs.batch_size = 3
    with pytest.raises(ValueError, match="batch_size cannot be set after the DataLoader is made"):
        ours.batch_size = 3
    assert len(ours) == 3
    ours.num_workers = 2  # PyTorch lets this one change, and so does topograd


@pytest.mark.parametrize("make, error, message", [
    (lambda m: m.RandomSampler(range(3), replacement=1), TypeError, "replacement must be a bool"),
    (lambda m: m.RandomSampler(range(3), num_samples=0), ValueError, "num_samples must be a positive int"),
    (lambda m: m.WeightedRandomSampler([1.0, 2.0], 0), ValueError, "num_samples must be a positive int"),
    (lambda m: m.WeightedRandomSampler([1.0, 2.0], 2, replacement="no"), ValueError,
     "replacement must be a bool"),
    (lambda m: m.WeightedRandomSampler([[1.0, 2.0]], 2), ValueError, r"weights must be 1-d.*\(1, 2\)"),
    (lambda m: m.BatchSampler(range(3), 0, False), ValueError, "batch_size must be a positive int"),
    (lambda m: m.BatchSampler(range(3), True, False), ValueError, "batch_size must be a positive int"),
    (lambda m: m.BatchSampler(range(3), 2, 1), ValueError, "drop_last must be a bool"),
])
def test_sampler_argument_errors_match_torch(torch, make, error, message):
    import nn.data as ours
    with pytest.raises(error):
        make(torch.utils.data)
    with pytest.raises(error, match=message):
        make(ours)


@pytest.mark.parametrize("weights, num_samples, message", [
    ([1.0, -0.5, 2.0], 2, "weights must be finite and >= 0"),
    ([0.0, 0.0], 1, "the weights add up to 0"),
    ([1.0, 0.0, 2.0], 4, "cannot draw 4 distinct positions out of 3 without replacement"),
])
def test_weighted_sampler_refuses_impossible_draws_that_torch_refuses_when_drawing(torch, weights, num_samples,
                                                                                    message):
    replacement = "distinct" not in message
    theirs = torch.utils.data.WeightedRandomSampler(weights, num_samples, replacement=replacement)
    with pytest.raises(RuntimeError):
        list(theirs)  # PyTorch finds out at the first pass; topograd when the sampler is made
    with pytest.raises(ValueError, match=message):
        WeightedRandomSampler(weights, num_samples, replacement=replacement)
