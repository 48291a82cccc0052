"""DataLoader: iterate over a dataset in (shuffled) batches on a device.

For a TensorDataset (or Subsets of one, as random_split makes) each batch is
one gather per tensor on the dataset's device, followed by one copy of the batch
to the target device; other datasets are read sample by sample and collated.
"""
import backends
from autograd import Tensor, stack, tensor
from backends import dtypes

from .dataset import Subset, TensorDataset, draw_seed, shuffled_indices


class DataLoader:
    """Batches of ``dataset``; batches land on ``device`` (default: the default
    device when iteration starts).

    With ``shuffle=True`` each epoch (each ``iter(loader)``) has a new order.
    Given a ``seed``, epoch ``e``'s order depends only on ``(seed, e)``, so runs
    repeat exactly; ``set_epoch`` picks the epoch when resuming. Without a seed,
    each epoch draws one from the CPU generator (see ``ag.manual_seed``).

    PyTorch's ``num_workers`` and ``pin_memory`` are accepted so that ported code runs,
    and change nothing: they decide how batches are made, never which, and here a
    batch is made in this process (for a TensorDataset, one gather from memory).
    ``generator`` takes only None: pass ``seed=`` for a repeatable order.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None, collate_fn=None,
                 device=None, *, num_workers=0, pin_memory=False, generator=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be an int >= 0, got {num_workers!r}")
        if generator is not None:
            raise TypeError(f"DataLoader: generator= takes only None, not {type(generator).__name__}; pass "
                            "seed= (an int) for a repeatable shuffle")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {type(collate_fn).__name__}")
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader: dataset must support len() and indexing (a Dataset, a TensorDataset "
                            f"or a list of samples), got {type(dataset).__name__}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self.collate_fn = collate_fn
        self.device = device
        self.epoch = 0

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch):
        """Make the next iteration epoch ``epoch`` (its shuffle order)."""
        self.epoch = int(epoch)

    def __iter__(self):
        epoch, self.epoch = self.epoch, self.epoch + 1
        order = self._order(epoch)
        target = backends.get(self.device)
        # Looked up per epoch, as PyTorch reads the dataset live: a Subset whose indices
        # (or a TensorDataset whose tensors) changed since the loader was made is seen as it is now.
        source = None if self.collate_fn is not None else _tensor_source(self.dataset)
        if source is not None:
            return self._tensor_batches(source, order, target)
        return self._sample_batches(order, target)

    def _order(self, epoch):
        """Positions in the dataset for this epoch, or None for 0, 1, 2, ..."""
        if not self.shuffle:
            return None
        seed = draw_seed() if self.seed is None else f"{self.seed}/{epoch}"
        return shuffled_indices(len(self.dataset), seed)

    def _batch_bounds(self, n):
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            yield start, min(start + self.batch_size, n)

    def _tensor_batches(self, source, order, target):
        tensors, rows = source
        backend = tensors[0].backend
        n = len(self.dataset)
        # One index array per epoch; each batch is a slice of it (a view) and a gather.
        if order is None and rows is None:
            index = backend.xp.arange(n, dtype=backend.native_dtype(dtypes.int64))
        else:
            picked = order if rows is None else rows if order is None else [rows[p] for p in order]
            index = backend.asarray(picked, dtype=dtypes.int64)
        for start, stop in self._batch_bounds(n):
            batch_rows = index[start:stop]
            batch = tuple(Tensor(backend.gather(t.data, batch_rows), device=backend).to(target)
                          for t in tensors)
            yield batch

    def _sample_batches(self, order, target):
        n = len(self.dataset)
        collate = self.collate_fn or default_collate
        for start, stop in self._batch_bounds(n):
            positions = range(start, stop) if order is None else order[start:stop]
            yield to_device(collate([self.dataset[p] for p in positions]), target)

    def __repr__(self):
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed!r})")


def _tensor_source(dataset):
    """(tensors, rows) when ``dataset`` is a TensorDataset, possibly under Subsets:
    position p of the dataset is row ``rows[p]`` of each tensor (rows None: row p).
    None for any other dataset, or subclasses that change how a sample is read."""
    chain = []
    while type(dataset).__getitem__ is Subset.__getitem__ and isinstance(dataset, Subset):
        chain.append(dataset.indices)
        dataset = dataset.dataset
    if not isinstance(dataset, TensorDataset) or type(dataset).__getitem__ is not TensorDataset.__getitem__:
        return None
    rows = None
    for indices in reversed(chain):  # innermost Subset first: compose the maps outward
        rows = list(indices) if rows is None else [rows[i] for i in indices]
    return dataset.tensors, rows


def default_collate(samples):
    """Stack a list of samples into a batch, keeping the samples' structure:
    tuples and lists of fields give tuples (namedtuples keep their type), dicts give
    dicts, Tensors and NumPy arrays or scalars are stacked on a new first axis
    (keeping their dtype), Python numbers become a 1-d tensor."""
    if not samples:
        raise ValueError("default_collate: no samples to collate")
    first = samples[0]
    if isinstance(first, Tensor):
        shapes = {s.shape for s in samples if isinstance(s, Tensor)}
        if len(shapes) > 1:  # stack's own error would not say where the batch came from, nor the fix
            a, b = sorted(shapes)[:2]
            raise ValueError(f"default_collate: samples have different shapes, such as {a} and {b}, so they "
                             "cannot be stacked into a batch; resize or pad them to one shape, or pass a "
                             "collate_fn (nn.utils.rnn.pad_sequence pads sequences)")
        return stack(samples, axis=0)
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise ValueError("default_collate: samples have different numbers of fields")
        fields = (default_collate([s[i] for s in samples]) for i in range(len(first)))
        return type(first)(*fields) if _is_namedtuple(first) else tuple(fields)
    if isinstance(first, dict):
        if any(s.keys() != first.keys() for s in samples):
            raise ValueError("default_collate: samples have different keys; every sample must be a dict "
                             "with the same keys")
        return {key: default_collate([s[key] for s in samples]) for key in first}
    if isinstance(first, str):  # first: NumPy's str_ is a str with an __array__
        return list(samples)
    if hasattr(first, "__array__") or hasattr(first, "__dlpack__"):
        # before the Python numbers: NumPy's float64 scalar is a float, and keeps its dtype as a 0-d array would
        return stack([tensor(s, device="cpu") for s in samples], axis=0)
    if isinstance(first, (bool, int, float)):
        return tensor(samples)
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}; "
                    "return Tensors, numbers, tuples or dicts of them, or pass a collate_fn")


def to_device(batch, target):
    """The batch with every Tensor in it (at any depth) moved to ``target``."""
    if isinstance(batch, Tensor):
        return batch.to(target)
    if isinstance(batch, tuple):
        moved = (to_device(b, target) for b in batch)
        return type(batch)(*moved) if _is_namedtuple(batch) else tuple(moved)
    if isinstance(batch, list):
        return [to_device(b, target) for b in batch]
    if isinstance(batch, dict):
        return {k: to_device(v, target) for k, v in batch.items()}
    return batch


def _is_namedtuple(value):
    return isinstance(value, tuple) and hasattr(value, "_fields")
