"""Datasets: indexable collections of samples, PyTorch-style.

A Dataset maps an index to one sample; the DataLoader batches samples. A
TensorDataset keeps whole tensors, so the DataLoader can slice a batch out of
each with one gather instead of a Python loop over samples.
"""
import bisect
import math
import operator
import random

import backends
from autograd import Tensor, tensor


class Dataset:
    """Subclass and define ``__getitem__(index)`` (one sample) and ``__len__``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __add__(self, other):
        """``a + b``: the samples of ``a``, then those of ``b`` (a ConcatDataset), as PyTorch's."""
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclass and define ``__iter__`` (and ``__len__`` if the
    count is known, which ``len()`` of a DataLoader over it then uses). The DataLoader
    reads it in order and batches what it yields; there are no positions, so it takes
    no sampler and no shuffle. ``a + b`` chains two streams (a ChainDataset)."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __len__(self):
        raise TypeError(f"{type(self).__name__} has no len(): define __len__ when the stream's length is known")

    def __bool__(self):  # a stream without a len() is still a dataset, and true; with one, as len() says
        return type(self).__len__ is IterableDataset.__len__ or len(self) > 0

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} is an IterableDataset: it has no positions to index; "
                        "iterate over it (or over a DataLoader made from it)")

    def __add__(self, other):
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """The samples of several IterableDatasets one stream after another, each
    iterated afresh every time this one is."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        for position, dataset in enumerate(self.datasets):
            if not isinstance(dataset, IterableDataset):
                raise TypeError(f"ChainDataset: dataset {position} is a {type(dataset).__name__}, not an "
                                "IterableDataset; join indexable datasets with ConcatDataset")

    def __iter__(self):
        for dataset in self.datasets:
            yield from dataset

    def __len__(self):
        return sum(len(dataset) for dataset in self.datasets)  # TypeError, as PyTorch's, for an unsized one


class TensorDataset(Dataset):
    """Samples are rows of the given tensors: ``ds[i] == (t0[i], t1[i], ...)``."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        tensors = tuple(t if isinstance(t, Tensor) else tensor(t) for t in tensors)
        for position, t in enumerate(tensors):
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: tensor {position} is 0-d; every tensor needs a first "
                                 "(sample) axis")
        lengths = [t.shape[0] for t in tensors]
        if len(set(lengths)) != 1:
            shapes = ", ".join(str(t.shape) for t in tensors)
            raise ValueError(f"TensorDataset: tensors must have the same first dimension (one row per "
                             f"sample), got shapes {shapes}")
        devices = {t.device for t in tensors}
        if len(devices) != 1:
            raise ValueError(f"TensorDataset: tensors are on different devices {sorted(devices)}; "
                             "move them to one device with .to(device)")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


def samples_at(dataset, positions):
    """The samples at ``positions``: ``dataset.__getitems__(positions)`` where the dataset
    defines it (a batched read, as PyTorch's DataLoader calls it), else one ``dataset[p]``
    per position."""
    getitems = getattr(dataset, "__getitems__", None)
    if getitems:
        return getitems(list(positions))
    return [dataset[p] for p in positions]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order. Each index reaches the
    dataset as given, a negative one too (as PyTorch's: the dataset says what -1 means);
    one outside [-len(dataset), len(dataset)) is refused here, not at the first read."""

    def __init__(self, dataset, indices):
        try:  # operator.index: a fractional index is a mistake, never silently truncated
            indices = [operator.index(i) for i in indices]
        except TypeError as exc:
            raise TypeError(f"Subset: indices must be integers ({exc})") from exc
        n = len(dataset)
        bad = [i for i in indices if not -n <= i < n]
        if bad:
            raise IndexError(f"Subset: indices {bad[:5]} are out of range for a dataset of {n} samples")
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index):
        if isinstance(index, list):  # several positions at once, passed on as one list, as PyTorch's Subset
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __getitems__(self, positions):
        """A batch's samples, read through the dataset's own ``__getitems__`` where it has one,
        as PyTorch's Subset (see samples_at)."""
        return samples_at(self.dataset, [self.indices[i] for i in positions])

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """The samples of several datasets one after another: index ``len(first)`` is the
    second dataset's sample 0. ``cumulative_sizes[i]`` is where dataset i ends."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: no datasets to join; pass a list of at least one dataset")
        for position, dataset in enumerate(self.datasets):
            if isinstance(dataset, IterableDataset):
                raise TypeError(f"ConcatDataset: dataset {position} is an IterableDataset, which has no positions; "
                                "join streams with ChainDataset")
            if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
                raise TypeError(f"ConcatDataset: dataset {position} is a {type(dataset).__name__}, which does not "
                                "support len() and indexing")
        self.cumulative_sizes = []
        total = 0
        for dataset in self.datasets:
            total += len(dataset)
            self.cumulative_sizes.append(total)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        n = len(self)
        index = operator.index(index)
        if not -n <= index < n:
            raise IndexError(f"ConcatDataset: index {index} is out of range for {n} samples")
        index %= n
        which = bisect.bisect_right(self.cumulative_sizes, index)  # the first dataset that ends past index
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


class StackDataset(Dataset):
    """Several datasets of one length read side by side, as PyTorch's: ``StackDataset(a, b)[i]``
    is ``(a[i], b[i])`` and ``StackDataset(image=a, label=b)[i]`` is ``{"image": a[i], "label": b[i]}``.
    A batch is read from each dataset through its ``__getitems__`` where it has one (see samples_at)."""

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("StackDataset: give either datasets in order (samples are tuples) or by name "
                             "(samples are dicts), not both")
        if not (args or kwargs):
            raise ValueError("StackDataset: give at least one dataset")
        self.datasets = args or kwargs
        lengths = [len(d) for d in (args or kwargs.values())]
        if len(set(lengths)) != 1:
            raise ValueError(f"StackDataset: the datasets' lengths differ: {', '.join(map(str, lengths))}; "
                             "every dataset needs one sample per position")
        self._length = lengths[0]

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {name: dataset[index] for name, dataset in self.datasets.items()}
        return tuple(dataset[index] for dataset in self.datasets)

    def __getitems__(self, positions):
        positions = list(positions)
        named = isinstance(self.datasets, dict)
        columns = {}
        for key, dataset in (self.datasets.items() if named else enumerate(self.datasets)):
            column = samples_at(dataset, positions)
            if len(column) != len(positions):
                raise ValueError(f"StackDataset: dataset {key!r} gave {len(column)} samples for "
                                 f"{len(positions)} positions from its __getitems__")
            columns[key] = column
        rows = range(len(positions))
        if named:
            return [{key: column[row] for key, column in columns.items()} for row in rows]
        return [tuple(column[row] for column in columns.values()) for row in rows]

    def __len__(self):
        return self._length


def random_split(dataset, lengths, generator=None, *, seed=None):
    """Split ``dataset`` into non-overlapping Subsets of the given lengths.

    ``lengths`` are sample counts that add up to ``len(dataset)``, or fractions
    that add up to 1 (leftover samples go round-robin to the first splits, as in
    PyTorch). The same ``seed`` (keyword only) gives the same split; ``generator``
    (PyTorch's argument; here a ``random.Random``, as the samplers take) draws it from
    that generator's stream; with neither, a seed is drawn from the CPU generator, so
    ``ag.manual_seed`` makes it reproducible too.
    """
    from .samplers import check_generator  # (samplers imports this module)

    check_generator("random_split", generator, hint="; or pass seed= (an int) for a repeatable split")
    if seed is not None and generator is not None:
        raise ValueError("random_split: pass seed= or generator=, not both; each alone makes the split repeatable")
    n = len(dataset)
    counts = _split_counts(lengths, n)
    if generator is not None:
        order = list(range(n))
        generator.shuffle(order)
    else:
        order = shuffled_indices(n, seed if seed is not None else draw_seed())
    splits, start = [], 0
    for count in counts:
        splits.append(Subset(dataset, order[start:start + count]))
        start += count
    return splits


def _split_counts(lengths, n):
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths is empty")
    if any(length < 0 for length in lengths):
        raise ValueError(f"random_split: lengths must not be negative, got {lengths}")
    if all(_is_integer(length) for length in lengths):
        lengths = [int(length) for length in lengths]
        if sum(lengths) != n:
            raise ValueError(f"random_split: lengths {lengths} add up to {sum(lengths)}, but the dataset "
                             f"has {n} samples")
        return lengths
    if not math.isclose(sum(lengths), 1.0, abs_tol=1e-6):
        raise ValueError(f"random_split: fractions {lengths} must add up to 1 (or pass integer counts "
                         f"that add up to {n})")
    counts = [math.floor(n * fraction) for fraction in lengths]
    if sum(counts) > n:  # fractions a hair over 1, on a dataset large enough for it to show
        raise ValueError(f"random_split: fractions {lengths} add up to {sum(lengths)!r}, more than 1, which asks "
                         f"for {sum(counts)} of {n} samples; make them add up to at most 1")
    for i in range(n - sum(counts)):
        counts[i % len(counts)] += 1
    return counts


def _is_integer(value):
    """Python and NumPy integers (sample counts), not floats (fractions)."""
    try:
        operator.index(value)
    except TypeError:
        return False
    return True


def shuffled_indices(n, seed):
    """A permutation of ``range(n)`` that depends only on ``seed`` (an int or str).

    Python's generator is used because it is the same on every backend and
    platform; a string seed (e.g. "seed/epoch") is hashed with SHA-512 by
    ``random.Random``, so nearby seeds give unrelated orders.
    """
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return order


def draw_seed():
    """A seed from the CPU backend's generator, which ``ag.manual_seed`` controls."""
    return int(backends.get("cpu").integers(0, 2 ** 62, ()))
