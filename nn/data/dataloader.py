"""DataLoader: iterate over a dataset in (shuffled) batches on a device.

For a TensorDataset (or Subsets of one, as random_split makes) each batch is
one gather per tensor on the dataset's device, followed by one copy of the batch
to the target device; other datasets are read sample by sample and collated, and
an IterableDataset is read in the order it yields. With ``num_workers > 0``, worker
processes make the batches (nn/data/workers.py).
The signature is PyTorch's, positions included (the 4th is ``sampler``, not
``drop_last``), with its samplers (nn.data.samplers) and its rules for options that conflict.
"""
import copy
import functools
import itertools
import math
import multiprocessing
import operator
import random
from collections.abc import Mapping, MutableMapping, MutableSequence, Sequence

import backends
from autograd import Tensor, stack, tensor
from backends import dtypes

from . import workers
from .dataset import ConcatDataset, IterableDataset, Subset, TensorDataset, draw_seed, samples_at
from .samplers import BatchSampler, RandomSampler, SequentialSampler, _is_int, check_generator

# Set after construction, these would silently change nothing (the batch sampler is already made);
# PyTorch refuses them too.
_FIXED_AFTER_INIT = frozenset({"dataset", "batch_size", "sampler", "batch_sampler", "drop_last",
                               "persistent_workers"})


class DataLoader:
    """Batches of ``dataset``; batches land on ``device`` (default: the default
    device when iteration starts).

    Positions come from ``sampler`` (default: SequentialSampler, or with
    ``shuffle=True`` a RandomSampler) in lists of ``batch_size`` made by a
    BatchSampler, or from a ``batch_sampler`` that makes the lists itself;
    ``batch_size=None`` turns batching off (one sample at a time, through
    ``collate_fn``, default ``default_convert``). As in PyTorch, ``sampler`` excludes
    ``shuffle``, and ``batch_sampler`` excludes ``batch_size``, ``shuffle``,
    ``sampler`` and ``drop_last``.

    With ``shuffle=True`` each epoch (each ``iter(loader)``) has a new order.
    Given a ``seed`` (keyword only), epoch ``e``'s order depends only on
    ``(seed, e)``, so runs repeat exactly; ``set_epoch`` picks the epoch when
    resuming. Without a seed, each epoch draws from ``generator`` (a ``random.Random``)
    or, without one, from a seed drawn from the CPU generator (see ``ag.manual_seed``).

    With ``num_workers=0`` each batch is made in this process when it is asked for (for a
    TensorDataset, one gather from memory). With ``num_workers > 0``, as in PyTorch, that many
    worker processes (started by ``multiprocessing_context``: 'fork', 'spawn', 'forkserver' or a
    context object) each read their batches' samples and run ``collate_fn`` on them, for a
    Dataset whose ``__getitem__`` is slow Python (decoding, augmentation) to load while training
    runs; ``prefetch_factor`` batches per worker are on their way at a time, and they come out in
    the sampler's order (``in_order=False``: as they are ready) as Tensors on ``device``.
    ``worker_init_fn(worker_id)`` runs in each worker, and ``get_worker_info()`` there says
    which (an IterableDataset reads it to yield only its worker's share: without that, each
    worker yields the whole stream, as in PyTorch). As PyTorch's, a worker makes its batches on
    the CPU (its default device), and this process moves them to ``device``; a worker leaves the
    GPUs alone (``ag.manual_seed`` there too), since CUDA cannot be used in a process forked
    after its parent used it, and a dataset whose tensors are on a GPU is refused for workers
    started with 'fork'. Each worker seeds ``random``, NumPy's global generator and
    ``ag.manual_seed`` with ``base_seed + worker_id``, where ``base_seed`` is drawn
    when the workers start: from ``(seed, epoch)`` with ``seed=``, so the batches and the
    workers' draws repeat; else from ``generator`` or the CPU generator, which that draw moves on
    (PyTorch draws it with ``num_workers=0`` too, topograd not), so later shuffles differ from a
    ``num_workers=0`` run's. Workers stop at the end of each epoch, or when an iterator left
    early is garbage-collected; with ``persistent_workers=True`` they stay for the next epochs
    (seeded once). An error in a worker is raised here with its traceback, and a batch that
    takes longer than ``timeout`` seconds raises a RuntimeError. Batches go through pickle:
    with 'spawn' or 'forkserver' the dataset, ``collate_fn`` and ``worker_init_fn`` must be
    picklable too. ``pin_memory`` and ``pin_memory_device`` are checked and change nothing.
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True, seed=None, device=None):
        if batch_size is not None and (not _is_int(batch_size) or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be a positive int, or None for no batching, "
                             f"got {batch_size!r}")
        if not isinstance(drop_last, bool):  # bool("False") would be True: PyTorch's BatchSampler refuses it too
            raise ValueError(f"DataLoader: drop_last must be a bool, got {drop_last!r}")
        _check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers, multiprocessing_context,
                              worker_init_fn)
        check_generator("DataLoader", generator, hint="; or pass seed= (an int) for a repeatable shuffle")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {type(collate_fn).__name__}")
        stream = isinstance(dataset, IterableDataset)
        if stream:  # no positions: read in the order the dataset yields, batched in __iter__
            _check_stream_options(shuffle, sampler, batch_sampler, seed, batch_size, drop_last)
        else:
            own_sampler = sampler is None and batch_sampler is None
            if not hasattr(dataset, "__getitem__") or (own_sampler and not hasattr(dataset, "__len__")):
                raise TypeError(f"DataLoader: dataset must support len() and indexing (a Dataset, a TensorDataset, "
                                f"a list of samples) or be an IterableDataset, got {type(dataset).__name__}")
            _check_sampling_options(batch_size, shuffle, sampler, batch_sampler, drop_last, generator, seed)
            if batch_sampler is not None:  # it decides the batches; the loader's own batching is off
                batch_size, drop_last = None, False
            if sampler is None:
                sampler = (RandomSampler(dataset, generator=generator, seed=seed) if shuffle
                           else SequentialSampler(dataset))
            if batch_size is not None and batch_sampler is None:
                batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        batched = batch_sampler is not None or (stream and batch_size is not None)
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self.seed = seed
        self.collate_fn = collate_fn or (default_collate if batched else default_convert)
        self.device = device
        self.num_workers = int(num_workers)
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = workers.multiprocessing_context(multiprocessing_context)
        self.prefetch_factor = 2 if num_workers > 0 and prefetch_factor is None else prefetch_factor
        self.persistent_workers = persistent_workers
        self.pin_memory_device = pin_memory_device
        self.in_order = in_order
        self._stream = stream
        self._worker_epoch = 0  # with seed=: the epoch the next workers' base seed is drawn for
        self._persistent_pool = None
        self._initialized = True

    def __setattr__(self, name, value):
        if name in _FIXED_AFTER_INIT and getattr(self, "_initialized", False):
            raise ValueError(f"DataLoader: {name} cannot be set after the DataLoader is made (its batch sampler "
                             f"is already built); make a new DataLoader with {name}={value!r}")
        super().__setattr__(name, value)

    def __len__(self):
        if self._stream:  # the dataset's own count, in batches (a TypeError where it has none, as PyTorch's)
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
        return len(self.sampler if self.batch_sampler is None else self.batch_sampler)

    def set_epoch(self, epoch):
        """Make the next iteration epoch ``epoch`` (its shuffle order), for a sampler
        whose order depends on the epoch (one with a ``set_epoch``, as a seeded RandomSampler)."""
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)
        self._worker_epoch = int(epoch)

    def __iter__(self):
        target = backends.get(self.device)
        if self.num_workers > 0:
            return self._worker_batches(target)
        if self._stream:  # the stream starts now, as PyTorch's
            return _made_on(target, self.collate_fn, _StreamBatches(iter(self.dataset), self.batch_size,
                                                                    self.drop_last))
        if self.batch_sampler is None:  # no batching: each sample on its own, through collate_fn
            return _made_on(target, lambda position: self.collate_fn(self.dataset[position]), self.sampler)
        batches = iter(self.batch_sampler)  # the epoch's order is drawn now, not at the first batch
        # Looked up per epoch, as PyTorch reads the dataset live: a Subset whose indices
        # (or a TensorDataset whose tensors) changed since the loader was made is seen as it is now.
        source = _tensor_source(self.dataset) if self.collate_fn is default_collate else None
        if source is not None:
            return _made_on(target, functools.partial(_gathered, source), batches)
        return _made_on(target, lambda batch: self.collate_fn(samples_at(self.dataset, batch)), batches)

    def _worker_batches(self, target):
        """This epoch's batches, made by worker processes (see nn/data/workers.py)."""
        if self._stream:
            tasks = itertools.repeat(None)  # each task: the worker's stream's next batch
        else:  # the epoch's order is drawn now, as on the path without workers
            tasks = iter(self.sampler if self.batch_sampler is None else self.batch_sampler)
        pool = self._persistent_pool
        if pool is not None and not pool.all_alive():
            # (a Ctrl-C stops the workers too, or one was killed): start afresh, not on a dead pool
            pool.shut_down()
            pool = self._persistent_pool = None
        if pool is None:
            # resolved here: multiprocessing_context may have been set (as a name) after the loader was made
            context = workers.multiprocessing_context(self.multiprocessing_context) or multiprocessing.get_context()
            _check_forkable(self.dataset, context)
            if self.seed is not None:  # repeatable, and the same whichever epoch a run resumes at
                base_seed = random.Random(f"{self.seed}/workers/{self._worker_epoch}").getrandbits(63)
            else:
                base_seed = self.generator.getrandbits(63) if self.generator is not None else draw_seed()
            self._worker_epoch += 1
            pool = workers.WorkerPool(_WorkerFetch(self), self.num_workers, base_seed, self.worker_init_fn, context)
            if self.persistent_workers:
                self._persistent_pool = pool
        # prefetch_factor is None where num_workers was set after the loader was made: the default, 2
        return workers.WorkerBatches(pool, tasks, owns_pool=not self.persistent_workers,
                                     prefetch_factor=self.prefetch_factor or 2, in_order=self.in_order,
                                     timeout=self.timeout, target=target)

    def __repr__(self):
        if self._stream:
            return f"DataLoader({type(self.dataset).__name__} stream, batch_size={self.batch_size}, " \
                   f"drop_last={self.drop_last})"
        try:  # a dataset read through a sampler needs no len()
            size = f" of {len(self.dataset)}"
        except (TypeError, NotImplementedError):
            size = ""
        return (f"DataLoader({type(self.dataset).__name__}{size}, batch_size={self.batch_size}, "
                f"sampler={type(self.sampler).__name__}, drop_last={self.drop_last}, seed={self.seed!r})")


_NO_SAMPLES = "default_collate: no samples to collate (did the batch sampler give an empty batch?)"


def _check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers, multiprocessing_context,
                          worker_init_fn):
    """PyTorch's checks of its worker options (the context's in workers.multiprocessing_context)."""
    if not _is_int(num_workers) or num_workers < 0:  # (NumPy integers too, as batch_size and PyTorch take them)
        raise ValueError(f"DataLoader: num_workers must be an int >= 0, got {num_workers!r}")
    if timeout < 0:
        raise ValueError(f"DataLoader: timeout must be >= 0, got {timeout!r}")
    # PyTorch refuses a timeout without workers when iteration starts; topograd as the others, at once
    workerless = {"prefetch_factor": prefetch_factor is not None, "persistent_workers": bool(persistent_workers),
                  "multiprocessing_context": multiprocessing_context is not None, "timeout": timeout > 0}
    given = [name for name, set_ in workerless.items() if set_]
    if num_workers == 0 and given:
        raise ValueError(f"DataLoader: {', '.join(given)} only apply to worker processes (num_workers > 0); "
                         "leave them unset with num_workers=0")
    # PyTorch takes 0 here and fails when iteration starts: no batch would ever be asked for
    if prefetch_factor is not None and (not _is_int(prefetch_factor) or prefetch_factor < 1):
        raise ValueError(f"DataLoader: prefetch_factor (batches on their way per worker) must be an int >= 1, "
                         f"got {prefetch_factor!r}")
    if worker_init_fn is not None and not callable(worker_init_fn):
        raise TypeError(f"DataLoader: worker_init_fn must be callable (it is called with each worker's id), "
                        f"got {type(worker_init_fn).__name__}")


def _check_forkable(dataset, context):
    """Refuse workers started with 'fork' for a dataset whose tensors are on a GPU (seen through
    Subsets and ConcatDatasets): CUDA cannot be used in a process forked after its parent used
    it, and each worker would fail at its first sample with CUDA's bare "initialization error"."""
    if context.get_start_method() != "fork":
        return
    pending = [dataset]
    while pending:
        dataset = pending.pop()
        if isinstance(dataset, Subset):
            pending.append(dataset.dataset)
        elif isinstance(dataset, ConcatDataset):
            pending.extend(dataset.datasets)
        elif isinstance(dataset, TensorDataset):
            on_gpu = [t.device for t in dataset.tensors if isinstance(t, Tensor) and t.device.startswith("cuda")]
            if on_gpu:
                raise RuntimeError(f"DataLoader: the dataset's tensors are on {on_gpu[0]}, which worker processes "
                                   "started with 'fork' cannot read (CUDA does not work in a process forked after "
                                   "its parent used it); keep the dataset on the CPU (the loader moves each batch "
                                   "to its device=), or pass num_workers=0 (a TensorDataset's batch is one gather "
                                   "on its device) or multiprocessing_context='spawn'")


def _check_stream_options(shuffle, sampler, batch_sampler, seed, batch_size, drop_last):
    """An IterableDataset yields its samples in its own order: PyTorch refuses the
    options that would pick positions, and so does topograd (seed= included)."""
    given = [f"{name}={value!r}" for name, value, unset in (
        ("shuffle", shuffle, shuffle in (None, False)), ("sampler", sampler, sampler is None),
        ("batch_sampler", batch_sampler, batch_sampler is None), ("seed", seed, seed is None)) if not unset]
    if given:
        raise ValueError(f"DataLoader: an IterableDataset yields its samples in its own order, so it takes no "
                         f"{', '.join(given)}; shuffle inside the dataset's __iter__, or use a Dataset with "
                         "__getitem__ and __len__")
    _check_drop_last(batch_size, drop_last)


def _check_drop_last(batch_size, drop_last):
    if batch_size is None and drop_last:
        raise ValueError("DataLoader: batch_size=None turns batching off, so drop_last=True has no batch to drop; "
                         "pass a batch_size or drop_last=False")


def _check_sampling_options(batch_size, shuffle, sampler, batch_sampler, drop_last, generator, seed):
    """PyTorch's rules for options that contradict each other, plus topograd's seed=."""
    if sampler is not None and shuffle:
        raise ValueError("DataLoader: sampler and shuffle=True are mutually exclusive (the sampler decides the "
                         "order); pass a RandomSampler as the sampler, or drop the sampler")
    if batch_sampler is not None:
        clashes = [given for given, clash in (
            (f"batch_size={batch_size!r}", batch_size != 1), (f"shuffle={shuffle!r}", bool(shuffle)),
            (f"sampler={type(sampler).__name__}", sampler is not None), (f"drop_last={drop_last!r}", bool(drop_last)))
            if clash]
        if clashes:
            raise ValueError(f"DataLoader: batch_sampler is mutually exclusive with batch_size, shuffle, sampler "
                             f"and drop_last (it makes the batches itself), got {', '.join(clashes)}")
    else:
        _check_drop_last(batch_size, drop_last)
    if seed is not None and (sampler is not None or batch_sampler is not None):
        raise ValueError("DataLoader: seed= seeds the loader's own shuffle, but a sampler was given; seed the "
                         "sampler instead (e.g. RandomSampler(dataset, seed=0) or a random.Random generator)")
    if seed is not None and generator is not None:
        raise ValueError("DataLoader: pass seed= or generator=, not both; each alone makes the shuffle repeatable")


def _made_on(target, make, items):
    """``make(item)`` on ``target`` for each of ``items`` (iterated from now on). A map, not a
    generator: an error in one batch, raised to the caller, leaves the next ones to come, as in
    PyTorch (a generator that raised is over)."""
    return map(lambda item: to_device(make(item), target), items)


class _StreamBatches:
    """An IterableDataset's samples (an iterator) in lists of ``batch_size`` (the last one
    shorter, unless ``drop_last``), or one at a time with ``batch_size=None``. An iterator, not
    a generator, so that the stream goes on after its iterator raised for a batch, as PyTorch's."""

    def __init__(self, samples, batch_size, drop_last):
        self.samples, self.batch_size, self.drop_last = samples, batch_size, drop_last

    def __iter__(self):
        return self

    def __next__(self):
        if self.batch_size is None:
            return next(self.samples)
        batch = list(itertools.islice(self.samples, self.batch_size))
        if not batch or (self.drop_last and len(batch) < self.batch_size):
            raise StopIteration
        return batch


class _WorkerFetch:
    """What a worker process runs to make a batch, as ``__iter__`` makes it without workers,
    on the dataset's device: ``fetch(positions)`` for a dataset with positions, ``fetch.stream()``
    (an iterator of batches) for an IterableDataset."""

    def __init__(self, loader):
        self.dataset = loader.dataset
        self.collate_fn = loader.collate_fn
        self.is_stream = loader._stream
        self.batch_size, self.drop_last = loader.batch_size, loader.drop_last
        self.batched = loader.batch_sampler is not None

    @functools.cached_property
    def _source(self):  # looked up once per worker: its copy of the dataset stays as it was
        return _tensor_source(self.dataset) if self.collate_fn is default_collate else None

    def __call__(self, positions):
        if not self.batched:
            return self.collate_fn(self.dataset[positions])
        if self._source is not None:
            return _gathered(self._source, positions)
        return self.collate_fn(samples_at(self.dataset, positions))

    def stream(self):
        return map(self.collate_fn, _StreamBatches(iter(self.dataset), self.batch_size, self.drop_last))


def _gathered(source, batch):
    """The rows at positions ``batch`` of each tensor of a ``_tensor_source``: one gather per
    tensor, on the dataset's device."""
    tensors, rows = source
    backend = tensors[0].backend
    picked = _positions(batch)
    if not picked:  # refused as on the per-sample path (a gather would give an empty batch)
        raise ValueError(_NO_SAMPLES)
    if rows is not None:
        picked = [rows[p] for p in picked]
    n = tensors[0].shape[0]
    bad = [p for p in picked if not -n <= p < n]
    if bad:  # checked here: CuPy's gather would wrap the row around, where indexing the dataset raises
        raise IndexError(f"DataLoader: index {bad[0]} is out of bounds for the TensorDataset's {n} samples")
    index = backend.asarray(picked, dtype=dtypes.int64)
    # A tensor that requires grad is indexed as the per-sample path's rows and stack would,
    # so the batch stays in its graph (as in PyTorch); the others are one plain gather.
    return tuple(t[Tensor(index, device=backend)] if t.requires_grad else
                 Tensor(backend.gather(t.data, index), device=backend) for t in tensors)


def _positions(batch):
    """A batch sampler's positions as ints. The gather would truncate a float position to a row,
    where indexing the dataset (and PyTorch's loader) refuses it."""
    positions = []
    for position in batch:
        try:
            positions.append(operator.index(position))
        except TypeError as exc:
            raise TypeError(f"DataLoader: the sampler gave position {position!r} of type {type(position).__name__}, "
                            "but positions must be integers; make the sampler yield ints") from exc
    return positions


def _tensor_source(dataset):
    """(tensors, rows) when ``dataset`` is a TensorDataset, possibly under Subsets:
    position p of the dataset is row ``rows[p]`` of each tensor (rows None: row p).
    None for any other dataset, or subclasses that change how a sample is read."""
    chain = []
    while isinstance(dataset, Subset) and _reads_as(dataset, Subset):
        chain.append(dataset.indices)
        dataset = dataset.dataset
    if not isinstance(dataset, TensorDataset) or not _reads_as(dataset, TensorDataset):
        return None
    rows = None
    for indices in reversed(chain):  # innermost Subset first: compose the maps outward
        rows = list(indices) if rows is None else [rows[i] for i in indices]
    return dataset.tensors, rows


def _reads_as(dataset, cls):
    """Whether ``dataset`` reads samples as ``cls`` does: a subclass that defines its own
    ``__getitem__`` or ``__getitems__`` (a batched read the loader must call) does not."""
    kind = type(dataset)
    return kind.__getitem__ is cls.__getitem__ and \
        getattr(kind, "__getitems__", None) is getattr(cls, "__getitems__", None)


def default_collate(samples):
    """Stack a list of samples into a batch, keeping the samples' structure, as PyTorch's:
    Tensors and NumPy arrays or scalars are stacked on a new first axis (keeping their
    dtype), Python numbers become a 1-d tensor, strings and bytes stay a list (a tuple for
    a sequence's field, as PyTorch's); mappings give
    mappings of their type (dicts, OrderedDicts...), namedtuples their type, and any other
    sequence (a list, a range, a deque...) is batched field by field into a sequence of its
    type where one can be made from a list, else a list. Two choices are topograd's own: a
    plain tuple gives a tuple (PyTorch's a list) and Python floats float32, the default dtype."""
    if not samples:
        raise ValueError(_NO_SAMPLES)
    first = samples[0]
    if isinstance(first, Tensor):
        shapes = {s.shape for s in samples if isinstance(s, Tensor)}
        if len(shapes) > 1:  # stack's own error would not say where the batch came from, nor the fix
            a, b = sorted(shapes)[:2]
            raise ValueError(f"default_collate: samples have different shapes, such as {a} and {b}, so they "
                             "cannot be stacked into a batch; resize or pad them to one shape, or pass a "
                             "collate_fn (nn.utils.rnn.pad_sequence pads sequences)")
        return stack(samples, axis=0)
    if isinstance(first, Mapping):
        if any(not isinstance(s, Mapping) or s.keys() != first.keys() for s in samples):
            raise ValueError("default_collate: samples have different keys; every sample must be a dict "
                             "with the same keys")
        return _mapping_like(first, {key: default_collate([s[key] for s in samples]) for key in first})
    if isinstance(first, (str, bytes)):
        # The batch as it comes, as PyTorch's: a list from the loader or a mapping's field, a
        # tuple for a sequence's field (its zip's). Before sequences (a string is one) and
        # arrays (NumPy's str_ is a str with an __array__).
        return tuple(samples) if isinstance(samples, tuple) else list(samples)
    if hasattr(first, "__array__") or hasattr(first, "__dlpack__"):
        # before the Python numbers: NumPy's float64 scalar is a float, and keeps its dtype as a 0-d array would
        return stack([tensor(s, device="cpu") for s in samples], axis=0)
    if isinstance(first, (bool, int, float)):
        return tensor(samples)
    if isinstance(first, Sequence):
        if any(len(s) != len(first) for s in samples):
            raise ValueError("default_collate: samples have different numbers of fields")
        fields = [default_collate(field) for field in zip(*samples)]
        if _is_namedtuple(first):
            return type(first)(*fields)
        if isinstance(first, tuple):
            return tuple(fields)
        return _sequence_like(first, fields)
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}; "
                    "return Tensors, numbers, or sequences or dicts of them, or pass a collate_fn")


def default_convert(sample):
    """A sample as it is when batching is off (``batch_size=None``), except that NumPy
    arrays (at any depth) become Tensors, as PyTorch's default_convert."""
    def convert(leaf):  # NumPy arrays and scalars of numbers; strings and objects stay as they are
        numeric = type(leaf).__module__ == "numpy" and getattr(leaf, "dtype", None) is not None \
            and leaf.dtype.kind in "biuf"
        return tensor(leaf, device="cpu") if numeric else leaf
    return _map_leaves(sample, convert)


def to_device(batch, target):
    """The batch with every Tensor in it (at any depth) moved to ``target``."""
    return _map_leaves(batch, lambda leaf: leaf.to(target) if isinstance(leaf, Tensor) else leaf)


def _map_leaves(batch, fn):
    """``fn`` applied to everything in ``batch`` that is not a tuple, list or mapping, keeping the structure."""
    if isinstance(batch, tuple):
        mapped = (_map_leaves(b, fn) for b in batch)
        return type(batch)(*mapped) if _is_namedtuple(batch) else tuple(mapped)
    if isinstance(batch, list):
        return [_map_leaves(b, fn) for b in batch]
    if isinstance(batch, Mapping):
        return _mapping_like(batch, {k: _map_leaves(v, fn) for k, v in batch.items()})
    return fn(batch)


def _mapping_like(template, items):
    """``items`` (a dict) in the mapping type of ``template``, as PyTorch's collate keeps it
    (an OrderedDict, a defaultdict, a Mapping subclass); a plain dict where that type cannot
    be made from a dict."""
    if type(template) is dict:
        return items
    if isinstance(template, MutableMapping):  # a copy keeps what the constructor would need (defaultdict's factory)
        out = copy.copy(template)
        out.update(items)
        return out
    try:
        return type(template)(items)
    except TypeError:
        return items


def _sequence_like(template, items):
    """``items`` (a list) in the sequence type of ``template``, as PyTorch's collate makes it:
    a copy of a mutable one (a list subclass, a deque keeps its maxlen) with the items put
    in, else the type made from a list; a plain list where neither works (a range, a
    bytearray, which holds only small ints)."""
    try:
        if isinstance(template, MutableSequence):
            out = copy.copy(template)
            for i, item in enumerate(items):
                out[i] = item
            return out
        return type(template)(items)
    except TypeError:
        return items


def _is_namedtuple(value):
    return isinstance(value, tuple) and hasattr(value, "_fields")
