"""Samplers: which dataset positions a DataLoader reads, and in what order, as PyTorch's.

A sampler is an iterable of positions (a BatchSampler: of lists of positions).
Random draws come from Python's ``random.Random``, the generator the DataLoader's
shuffle has always used (the same on every backend and platform): pass one as
``generator=`` for a repeatable stream, or leave it None to seed a fresh one from
the CPU generator on each pass, which ``ag.manual_seed`` controls. PyTorch's
``torch.Generator`` has no meaning here; ``random.Random(seed)`` takes its place.
"""
import heapq
import itertools
import math
import numbers
import random

from autograd import tensor
from backends import dtypes

from .dataset import draw_seed


class Sampler:
    """Subclass and define ``__iter__`` (positions into a dataset), and ``__len__`` if
    the count is known. ``data_source`` is accepted, as PyTorch's, and not used."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1 (the length read at each pass)."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """Random positions into ``data_source``: a fresh permutation on each pass, or with
    ``replacement=True`` ``num_samples`` independent uniform draws. Without replacement,
    a ``num_samples`` past the length chains permutations, as PyTorch's does.

    ``seed`` (topograd's, keyword only; the DataLoader's ``seed=`` lands here) makes
    pass ``e`` depend only on ``(seed, e)``, as DistributedSampler's ``seed`` with
    ``set_epoch``: runs repeat exactly and ``set_epoch`` replays an epoch on resume.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None, *, seed=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement must be a bool, got {replacement!r}")
        if num_samples is not None and (not _is_int(num_samples) or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples must be a positive int (or None for the length of "
                             f"data_source), got {num_samples!r}")
        check_generator("RandomSampler", generator)
        if seed is not None and generator is not None:
            raise ValueError("RandomSampler: pass seed= or generator=, not both; each alone makes the draws "
                             "repeatable")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        self.seed = seed
        self.epoch = 0

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def set_epoch(self, epoch):
        """Make the next pass epoch ``epoch`` (its draws, when a seed is set)."""
        self.epoch = int(epoch)

    def __iter__(self):
        # The generator is picked (and the epoch advanced) when the pass starts, not at its first draw.
        epoch, self.epoch = self.epoch, self.epoch + 1
        rng = random.Random(f"{self.seed}/{epoch}") if self.seed is not None else pick_generator(self.generator)
        n, count = len(self.data_source), self.num_samples
        if n == 0 and count:
            raise ValueError(f"RandomSampler: cannot draw {count} samples from an empty data_source")
        if self.replacement:
            return (rng.randrange(n) for _ in range(count))
        return itertools.islice(_permutations(n, rng), count)

    def __len__(self):
        return self.num_samples


def _permutations(n, rng):
    """Permutations of range(n), one after another, for as long as they are read."""
    while True:
        order = list(range(n))
        rng.shuffle(order)
        yield from order


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order (a fresh one on each pass)."""

    def __init__(self, indices, generator=None):
        check_generator("SubsetRandomSampler", generator)
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        rng = pick_generator(self.generator)
        order = list(range(len(self.indices)))
        rng.shuffle(order)
        return (self.indices[i] for i in order)

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` positions in ``range(len(weights))``, position i drawn with
    probability proportional to ``weights[i]``. Without replacement, each draw is among
    the positions not drawn yet, in proportion to their weights (as torch.multinomial);
    zero weights are drawn only once every other position is."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not _is_int(num_samples) or num_samples <= 0:
            raise ValueError(f"WeightedRandomSampler: num_samples must be a positive int, got {num_samples!r}")
        if not isinstance(replacement, bool):
            raise ValueError(f"WeightedRandomSampler: replacement must be a bool, got {replacement!r}")
        check_generator("WeightedRandomSampler", generator)
        # float64 and on the CPU, as PyTorch keeps them (a copy: later changes to the caller's weights do not leak in)
        weights = tensor(weights, dtype=dtypes.float64, device="cpu")
        if weights.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights must be 1-d (one weight per position), got shape "
                             f"{weights.shape}")
        values = weights.tolist()
        if not all(math.isfinite(w) and w >= 0 for w in values):
            raise ValueError("WeightedRandomSampler: weights must be finite and >= 0, got "
                             f"{[w for w in values if not (math.isfinite(w) and w >= 0)][:5]}")
        if not any(values):
            raise ValueError("WeightedRandomSampler: the weights add up to 0; give some position a positive weight")
        if not replacement and num_samples > len(values):
            raise ValueError(f"WeightedRandomSampler: cannot draw {num_samples} distinct positions out of "
                             f"{len(values)} without replacement; lower num_samples or pass replacement=True")
        self.weights = weights
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        rng = pick_generator(self.generator)
        values = self.weights.tolist()
        if self.replacement:
            # Over the largest weight, as torch.multinomial normalizes them: choices scales a random
            # number by their sum, which in subnormal weights (5e-324) has too few bits to split it fairly.
            top = max(values)
            return iter(rng.choices(range(len(values)), weights=[w / top for w in values], k=self.num_samples))
        # Each position's key is an Exp(1) draw over its weight; ascending keys are the order of
        # successive draws without replacement (the first to arrive in a race of exponential clocks).
        # Zero weights come last, in order, once the others are drawn (as torch.multinomial on the CPU).
        # The keys are logarithms: a quotient by a subnormal weight overflows to inf, which would tie
        # those positions with the zero weights (and each other), drawn in index order.
        keys = ((_log(-math.log1p(-rng.random())) - math.log(w) if w > 0 else math.inf, i)
                for i, w in enumerate(values))
        return (i for _, i in heapq.nsmallest(self.num_samples, keys))

    def __len__(self):
        return self.num_samples


class DistributedSampler(Sampler):
    """The share of ``dataset`` that process ``rank`` of ``num_replicas`` reads, as PyTorch's:
    the positions (shuffled, or in order with ``shuffle=False``) are padded by repeating them
    from the start until ``num_replicas`` divides their count (or, with ``drop_last``, cut to
    the largest count it divides), and the process reads every ``num_replicas``-th one from
    ``rank`` on. The shares have equal lengths, cover the dataset together, and overlap only
    in the padding.

    ``num_replicas`` and ``rank`` must be given: PyTorch reads them from torch.distributed's
    process group and, without one, raises a ValueError; topograd runs one process and has
    no process group, so it asks for them. The shuffled order depends only on
    ``(seed, epoch)``, the same in every process, so the shares stay disjoint; it is the order
    of a ``RandomSampler(dataset, seed=seed)`` at that epoch, not PyTorch's (which comes from
    torch's generator). As in PyTorch, the epoch does not advance by itself: call
    ``set_epoch`` (or the DataLoader's) before each epoch, or every epoch has the same order.
    The dataset's length is read at each pass, as the other samplers read it.
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None or rank is None:
            raise ValueError("DistributedSampler: pass num_replicas= and rank= (how many processes share the "
                             "dataset, and which one this is); topograd has no process group to read them from")
        if not _is_int(num_replicas) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive int, got {num_replicas!r}")
        if not _is_int(rank):
            raise ValueError(f"DistributedSampler: rank must be an int, got {rank!r}")
        if not 0 <= rank < num_replicas:  # PyTorch's message
            raise ValueError(f"DistributedSampler: invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        if not _is_int(seed):
            raise ValueError(f"DistributedSampler: seed must be an int (the same in every process), got {seed!r}")
        self.dataset = dataset
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.shuffle = shuffle
        self.seed = int(seed)
        self.drop_last = drop_last
        self.epoch = 0

    @property
    def num_samples(self):
        """How many positions each process reads in a pass."""
        n = len(self.dataset)
        return n // self.num_replicas if self.drop_last else -(-n // self.num_replicas)

    @property
    def total_size(self):
        """How many positions all the processes read together in a pass."""
        return self.num_samples * self.num_replicas

    def set_epoch(self, epoch):
        """Make the following passes epoch ``epoch`` (their order, with ``shuffle``)."""
        self.epoch = int(epoch)

    def __iter__(self):
        n, total = len(self.dataset), self.total_size
        if self.shuffle:
            indices = list(itertools.islice(_permutations(n, random.Random(f"{self.seed}/{self.epoch}")), n))
        else:
            indices = list(range(n))
        # Padded with the first positions, repeated as often as needed (or cut with drop_last)
        indices = list(itertools.islice(itertools.cycle(indices), total))
        return iter(indices[self.rank::self.num_replicas])

    def __len__(self):
        return self.num_samples


def _log(value):
    """log(value), -inf at 0."""
    return math.log(value) if value > 0 else -math.inf


def _is_int(value):
    """A Python or NumPy integer, not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class BatchSampler(Sampler):
    """Lists of ``batch_size`` positions from ``sampler`` (any iterable of positions);
    the last list is shorter unless ``drop_last`` drops it."""

    def __init__(self, sampler, batch_size, drop_last):
        if not _is_int(batch_size) or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size must be a positive int, got {batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last must be a bool, got {drop_last!r}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        return self._batches(iter(self.sampler))  # the sampler's pass starts now, as a DataLoader's epoch does

    def _batches(self, positions):
        while batch := list(itertools.islice(positions, self.batch_size)):
            if self.drop_last and len(batch) < self.batch_size:
                return
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def check_generator(owner, generator, hint=""):
    if generator is not None and not isinstance(generator, random.Random):
        raise TypeError(f"{owner}: generator= takes only None or a random.Random (e.g. random.Random(0)), not "
                        f"{type(generator).__name__}: topograd draws positions with Python's generator{hint}")


def pick_generator(generator):
    """``generator`` itself (its stream goes on from pass to pass), or a new one seeded
    from the CPU generator, so that ``ag.manual_seed`` makes the draws repeatable."""
    return generator if generator is not None else random.Random(draw_seed())


__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "DistributedSampler", "BatchSampler"]
