"""DataLoader(num_workers=N): batches made by worker processes, checked against num_workers=0
and against torch.utils.data's DataLoader: the batches and their order (in_order, a sharded or
unsharded IterableDataset), collate_fn, worker_init_fn and get_worker_info in the workers, the
workers' seeds, prefetch_factor, errors and timeouts, persistent workers, the 'spawn' start
method, and that no worker process is left behind. Small datasets and 2 workers, started with
'fork' (but one test), so that the file runs in seconds."""
import multiprocessing
import os
import random
import signal
import time

import numpy as np
import pytest

import autograd as ag
from nn.data import DataLoader, Dataset, IterableDataset, TensorDataset, get_worker_info

FORK = dict(num_workers=2, multiprocessing_context="fork")


def as_lists(batch):
    if isinstance(batch, (tuple, list)):
        return [as_lists(field) for field in batch]
    if isinstance(batch, dict):
        return {key: as_lists(value) for key, value in batch.items()}
    return batch.tolist() if hasattr(batch, "tolist") else batch


def epoch(loader):
    return [as_lists(batch) for batch in loader]


def squares(base, n=10):
    """A map-style dataset (subclassing ``base``, ours or torch's) of (array [i, i*i], i)."""
    class Squares(base):
        def __len__(self):
            return n

        def __getitem__(self, i):
            return np.array([i, i * i], dtype=np.float32), i
    return Squares()


class SpawnSquares(Dataset):  # at the top level, so that 'spawn' can pickle it
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return np.array([i, i * i], dtype=np.float32), get_worker_info().id


def gone(pid):
    """True once the process ``pid`` is reaped (a zombie still answers signal 0)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_shuffled_batches_are_those_without_workers_and_torchs(torch):
    plain = DataLoader(squares(Dataset), batch_size=3, shuffle=True, seed=0)
    ours = DataLoader(squares(Dataset), batch_size=3, shuffle=True, seed=0, **FORK)
    for _ in range(2):  # each epoch its own order, the same as without workers
        assert epoch(ours) == epoch(plain)
    order = random.Random(1).sample(range(10), 10)  # one order for both libraries
    theirs = torch.utils.data.DataLoader(squares(torch.utils.data.Dataset), batch_size=3, sampler=order, **FORK)
    ours = DataLoader(squares(Dataset), batch_size=3, sampler=order, **FORK)
    assert epoch(ours) == epoch(theirs)
    assert epoch(ours)[0][1] == order[:3]


@pytest.mark.parametrize("batch_size", [None, 4])
def test_collate_fn_runs_in_the_workers_as_torchs(torch, batch_size):
    def collate(samples):  # records where it ran
        return {"worker": get_worker_info().id, "samples": samples}

    def theirs_collate(samples):
        return {"worker": torch.utils.data.get_worker_info().id, "samples": samples}

    data = list(range(10, 20))
    ours = epoch(DataLoader(data, batch_size=batch_size, collate_fn=collate, **FORK))
    theirs = epoch(torch.utils.data.DataLoader(data, batch_size=batch_size, collate_fn=theirs_collate, **FORK))
    assert ours == theirs
    assert [batch["worker"] for batch in ours[:3]] == [0, 1, 0]


def test_tensor_dataset_batches_land_on_the_device_with_their_dtypes(device):
    x = ag.arange(14, dtype=ag.float64, device="cpu").reshape(7, 2)
    dataset = TensorDataset(x, ag.arange(7, device="cpu"))
    plain = list(DataLoader(dataset, batch_size=3, shuffle=True, seed=2, device=device))
    ours = list(DataLoader(dataset, batch_size=3, shuffle=True, seed=2, device=device, **FORK))
    assert [as_lists(b) for b in ours] == [as_lists(b) for b in plain]
    assert all(t.device == device for batch in ours for t in batch)
    assert [t.dtype for t in ours[0]] == [ag.float64, ag.int64]


def stream(base, info_of, n, split):
    """An IterableDataset of 0..n-1; ``split`` 'none' (each worker yields all of it), 'even'
    (worker k yields k, k+2, ...) or 'uneven' (worker 0 yields 2 samples, worker 1 the rest)."""
    class Stream(base):
        def __iter__(self):
            info = info_of()
            items = range(n)
            if split == "even":
                items = items[info.id::info.num_workers]
            elif split == "uneven":
                items = items[:2] if info.id == 0 else items[2:]
            return (np.float32(i) for i in items)
    return Stream()


@pytest.mark.parametrize("split, batch_size, drop_last", [("none", 2, False), ("even", 2, False),
                                                          ("uneven", 3, True), ("uneven", None, False)])
def test_iterable_dataset_in_workers_as_torchs(torch, split, batch_size, drop_last):
    ours = DataLoader(stream(IterableDataset, get_worker_info, 9, split), batch_size=batch_size,
                      drop_last=drop_last, **FORK)
    theirs = torch.utils.data.DataLoader(stream(torch.utils.data.IterableDataset, torch.utils.data.get_worker_info,
                                                9, split), batch_size=batch_size, drop_last=drop_last, **FORK)
    assert epoch(ours) == epoch(theirs)
    if split == "none":  # each worker yields the whole stream, in turn
        assert epoch(ours)[:2] == [[0.0, 1.0], [0.0, 1.0]]


def test_worker_init_fn_and_worker_info_as_torchs(torch):
    class Shifted(Dataset):
        shift = 0

        def __len__(self):
            return 6

        def __getitem__(self, i):
            info = get_worker_info()
            return i + self.shift, info.id, info.num_workers, info.seed, info.dataset is self

    def init(worker_id):  # changes this worker's copy of the dataset
        get_worker_info().dataset.shift = 100 * (worker_id + 1)

    dataset = Shifted()
    batches = epoch(DataLoader(dataset, batch_size=2, worker_init_fn=init, **FORK))
    assert [b[0] for b in batches] == [[100, 101], [202, 203], [104, 105]]
    assert [b[1][0] for b in batches] == [0, 1, 0] and all(b[2] == [2, 2] for b in batches)
    assert all(b[4] == [True, True] for b in batches)
    seeds = {b[1][0]: b[3][0] for b in batches}
    assert seeds[1] == seeds[0] + 1  # base_seed + worker_id
    assert dataset.shift == 0 and get_worker_info() is None  # the main process's dataset, and no worker here

    class TheirShifted(torch.utils.data.Dataset):
        shift = 0

        def __len__(self):
            return 6

        def __getitem__(self, i):
            return i + self.shift

    def their_init(worker_id):
        torch.utils.data.get_worker_info().dataset.shift = 100 * (worker_id + 1)
    theirs = epoch(torch.utils.data.DataLoader(TheirShifted(), batch_size=2, worker_init_fn=their_init, **FORK))
    assert [b[0] for b in batches] == theirs


class Draws(Dataset):
    """Each sample: the worker's id and seed, and a draw from random, NumPy and topograd."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        info = get_worker_info()
        return info.id, info.seed, random.random(), np.random.random(), ag.rand(()).item()


def test_a_seeded_loader_seeds_its_workers_repeatably():
    first, again = (epoch(DataLoader(Draws(), batch_size=2, seed=7, **FORK)) for _ in range(2))
    assert first == again
    (ids0, seeds0, *draws0), (ids1, seeds1, *draws1) = first
    assert ids0 == [0, 0] and ids1 == [1, 1] and seeds1[0] == seeds0[0] + 1
    for ours, others in zip(draws0, draws1):  # each worker its own stream of each generator
        assert ours != others
    loader = DataLoader(Draws(), batch_size=2, seed=7, **FORK)
    next_epoch = epoch(loader), epoch(loader)
    assert next_epoch[0] == first and next_epoch[1][0][1] != first[0][1]  # a new base seed each epoch
    loader.set_epoch(1)  # resuming at epoch 1 gives epoch 1's seeds again
    assert epoch(loader) == next_epoch[1]
    ag.manual_seed(3)
    unseeded = epoch(DataLoader(Draws(), batch_size=2, **FORK))
    ag.manual_seed(3)
    assert epoch(DataLoader(Draws(), batch_size=2, **FORK)) == unseeded


def test_prefetch_factor_batches_per_worker_are_made_ahead(torch):
    for library in ("ours", "torch"):
        made = multiprocessing.get_context("fork").Value("i", 0)

        def count(samples):
            with made.get_lock():
                made.value += 1
            return samples

        make = DataLoader if library == "ours" else torch.utils.data.DataLoader
        batches = iter(make(list(range(40)), batch_size=2, prefetch_factor=3, collate_fn=count, **FORK))
        def settled(at_least):  # (waits for slow workers on a loaded machine, then for any extra batch)
            deadline = time.monotonic() + 10
            while made.value < at_least and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.2)
            return made.value

        assert settled(6) == 6, library  # 3 batches for each of the 2 workers, no more until one is read
        assert next(batches) == [0, 1]
        assert settled(7) == 7, library
        del batches


class Blocked(Dataset):
    """Sample 0 waits until sample 3 is made (by the other worker), so that batch 0 is late."""

    def __init__(self):
        self.released = multiprocessing.get_context("fork").Event()

    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 0:
            self.released.wait(10)
            time.sleep(0.1)
        if i == 3:
            self.released.set()
        return i


def test_in_order_false_gives_batches_as_they_are_ready():
    in_order = [b.tolist() for b in DataLoader(Blocked(), batch_size=1, **FORK)]
    assert in_order == [[i] for i in range(8)]
    as_ready = [b.tolist()[0] for b in DataLoader(Blocked(), batch_size=1, in_order=False, **FORK)]
    assert sorted(as_ready) == list(range(8)) and as_ready[0] != 0 and as_ready.index(0) > as_ready.index(3)


def failing(base, fail_at):
    class Failing(base):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            if i == fail_at:
                raise ValueError(f"bad sample {i}")
            return i
    return Failing()


def test_an_error_in_a_worker_is_raised_here_with_its_traceback_as_torchs(torch):
    ours = iter(DataLoader(failing(Dataset, 3), batch_size=2, **FORK))
    theirs = iter(torch.utils.data.DataLoader(failing(torch.utils.data.Dataset, 3), batch_size=2, **FORK))
    assert next(ours).tolist() == next(theirs).tolist() == [0, 1]
    with pytest.raises(ValueError) as their_error:
        next(theirs)
    with pytest.raises(ValueError, match=r"(?s)DataLoader worker 1 \(pid \d+\) raised ValueError; its traceback:"
                                         r"\nTraceback.*in __getitem__.*ValueError: bad sample 3"):
        next(ours)
    assert "bad sample 3" in str(their_error.value)
    assert next(ours).tolist() == next(theirs).tolist() == [4, 5]  # the other batches still come, in order


def test_an_error_in_worker_init_fn_is_raised_here():
    def init(worker_id):
        raise KeyError(f"no shard for worker {worker_id}")
    with pytest.raises(KeyError, match=r"(?s)DataLoader worker 0 .*in init.*no shard for worker 0"):
        list(DataLoader(list(range(4)), batch_size=2, worker_init_fn=init, **FORK))

    class LocalError(Exception):  # cannot be pickled: raised here as a RuntimeError that names it
        pass

    def init_local(worker_id):
        raise LocalError("no shard")
    with pytest.raises(RuntimeError, match=r"(?s)DataLoader worker 0 .*raised LocalError; its traceback.*no shard"):
        list(DataLoader(list(range(4)), batch_size=2, worker_init_fn=init_local, **FORK))


class Slow(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        time.sleep(0.3)
        return i


def test_timeout_raises_when_a_batch_takes_longer(torch):
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.1 seconds"):
        next(iter(torch.utils.data.DataLoader(Slow(), timeout=0.1, **FORK)))
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.1 seconds waiting for a batch"):
        next(iter(DataLoader(Slow(), timeout=0.1, **FORK)))
    assert next(iter(DataLoader(Slow(), timeout=5, **FORK))).tolist() == [0]


class Pids(Dataset):
    def __len__(self):
        return 12

    def __getitem__(self, i):
        return os.getpid()


def test_an_iterator_left_early_stops_and_reaps_its_workers():
    batches = iter(DataLoader(Pids(), batch_size=2, **FORK))
    pids = {next(batches).tolist()[0], next(batches).tolist()[0]}
    assert len(pids) == 2 and os.getpid() not in pids
    del batches  # as a `break` out of the loop leaves it
    assert all(gone(pid) for pid in pids)
    for batch in DataLoader(Pids(), batch_size=2, **FORK):
        pid = batch.tolist()[0]
        break
    assert gone(pid)


def test_a_worker_that_dies_is_reported():
    class Dies(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            os._exit(7)
    with pytest.raises(RuntimeError, match=r"DataLoader worker \d \(pid \d+\) exited unexpectedly with exit code 7"):
        next(iter(DataLoader(Dies(), **FORK)))


def test_persistent_workers_stay_for_the_next_epochs():
    class Sampled(Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            return i, os.getpid()

    plain = DataLoader(Sampled(), batch_size=3, shuffle=True, seed=4)
    plain_orders = [[b[0] for b in epoch(plain)] for _ in range(4)]
    loader = DataLoader(Sampled(), batch_size=3, shuffle=True, seed=4, persistent_workers=True, **FORK)
    first, second = epoch(loader), epoch(loader)
    assert [[b[0] for b in first], [b[0] for b in second]] == plain_orders[:2]
    pids = {b[1][0] for b in first}
    assert len(pids) == 2 and {b[1][0] for b in second} == pids and not any(gone(pid) for pid in pids)
    for _ in loader:  # an epoch left early: its batches still on their way are dropped
        break
    assert [b[0] for b in epoch(loader)] == plain_orders[3]
    del loader
    assert all(gone(pid) for pid in pids)


def test_persistent_workers_restart_an_iterable_dataset_each_epoch(torch):
    def make(base, info_of, make_loader):
        return make_loader(stream(base, info_of, 5, "even"), batch_size=2, persistent_workers=True, **FORK)
    ours = make(IterableDataset, get_worker_info, DataLoader)
    theirs = make(torch.utils.data.IterableDataset, torch.utils.data.get_worker_info, torch.utils.data.DataLoader)
    assert epoch(ours) == epoch(ours) == epoch(theirs) == epoch(theirs) == [[0.0, 2.0], [1.0, 3.0], [4.0]]


def test_spawned_workers_make_the_same_batches():
    spawn = dict(num_workers=2, multiprocessing_context="spawn")
    ours = epoch(DataLoader(SpawnSquares(), batch_size=2, **spawn))
    assert [b[0] for b in ours] == [b[0] for b in epoch(DataLoader(squares(Dataset, 6), batch_size=2))]
    assert [b[1] for b in ours] == [[0, 0], [1, 1], [0, 0]]
    with pytest.raises(TypeError, match="cannot start worker processes with the 'spawn' start method.*lambda"):
        iter(DataLoader(SpawnSquares(), batch_size=2, collate_fn=lambda samples: samples, **spawn))


def test_worker_options_are_checked(torch):
    with pytest.raises(ValueError):
        torch.utils.data.DataLoader(range(4), num_workers=2, multiprocessing_context="threads")
    with pytest.raises(ValueError, match=r"multiprocessing_context must be a start method this platform has, one of "
                                         r"\[.*'spawn'.*\], got 'threads'"):
        DataLoader(range(4), num_workers=2, multiprocessing_context="threads")
    with pytest.raises(TypeError):
        torch.utils.data.DataLoader(range(4), num_workers=2, multiprocessing_context=3)
    with pytest.raises(TypeError, match="multiprocessing_context must be a start method's name or a context"):
        DataLoader(range(4), num_workers=2, multiprocessing_context=3)
    context = multiprocessing.get_context("fork")
    assert DataLoader(range(4), num_workers=2, multiprocessing_context=context).multiprocessing_context is context
    with pytest.raises(ValueError, match="prefetch_factor .* must be an int >= 1, got 0"):
        DataLoader(range(4), num_workers=2, prefetch_factor=0)
    with pytest.raises(AssertionError):  # PyTorch takes it, then fails when iteration starts
        iter(torch.utils.data.DataLoader(range(4), timeout=1))
    with pytest.raises(ValueError, match="timeout only apply to worker processes"):
        DataLoader(range(4), timeout=1)
    with pytest.raises(TypeError, match="worker_init_fn must be callable"):
        DataLoader(range(4), num_workers=2, worker_init_fn=3)


def test_persistent_workers_that_died_are_replaced_at_the_next_epoch():
    """After a Ctrl-C (which stops the workers too) or a killed worker, the next epoch starts
    new workers; it used to reuse the dead pool and report an exit at every later epoch."""
    class Sampled(Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return i, os.getpid()

    loader = DataLoader(Sampled(), batch_size=2, persistent_workers=True, **FORK)
    first = epoch(loader)
    old = {b[1][0] for b in first}
    for pid in old:
        os.kill(pid, 9)
    deadline = time.monotonic() + 10  # (active_children reaps the exited)
    while {p.pid for p in multiprocessing.active_children()} & old and time.monotonic() < deadline:
        time.sleep(0.01)
    second = epoch(loader)
    assert [b[0] for b in second] == [b[0] for b in first]
    assert not {b[1][0] for b in second} & old


class Batched(Dataset):
    """A dataset that reads a batch at once (PyTorch's __getitems__), and says so in each sample."""

    def __len__(self):
        return 10

    def __getitem__(self, i):
        return i, 0

    def __getitems__(self, positions):
        return [(p, len(positions)) for p in positions]


@pytest.mark.parametrize("workers", [{}, FORK], ids=["no workers", "workers"])
def test_a_batch_is_read_through_getitems_where_the_dataset_has_it_as_torchs(torch, workers):
    from nn.data import Subset
    ours = [as_lists(b) for b in DataLoader(Subset(Batched(), [9, 1, 2, 3, 4]), batch_size=3, **workers)]
    theirs = [[t.tolist() for t in b] for b in torch.utils.data.DataLoader(
        torch.utils.data.Subset(Batched(), [9, 1, 2, 3, 4]), batch_size=3)]
    assert ours == theirs == [[[9, 1, 2], [3, 3, 3]], [[3, 4], [2, 2]]]


# --- errors, breaks and persistent workers' restarts, as torch.utils.data's DataLoader: a break
# leaves the batches still queued unmade, an error in one batch or one stream item leaves the next
# batches to come, a worker whose worker_init_fn failed fails each of its batches, and a restart
# of persistent workers keeps to `timeout` and survives an exception raised during it.

NO_WORKERS = {}


def outcomes(loader, at_most=12):
    """Each next() of one epoch: the batch as lists, or the type of the error it raised."""
    batches, seen = iter(loader), []
    while len(seen) < at_most:
        try:
            seen.append(as_lists(next(batches)))
        except StopIteration:
            break
        except Exception as error:
            seen.append(type(error).__name__)
    return seen


def test_a_break_leaves_the_batches_queued_in_the_workers_unmade_as_torchs(torch):
    """The workers made each task queued before the word to leave (here 8 of 0.3 s), so a
    `break` waited for all of them; as PyTorch's, they now finish the batch they are making."""
    for make in (DataLoader, torch.utils.data.DataLoader):
        made = multiprocessing.get_context("fork").Value("i", 0)

        class Slow:  # batch 0 at once, each later one 0.3 s
            def __len__(self):
                return 40

            def __getitem__(self, i):
                with made.get_lock():
                    made.value += 1
                if i:
                    time.sleep(0.3)
                return i

        batches = iter(make(Slow(), batch_size=1, prefetch_factor=4, **FORK))
        assert next(batches).tolist() == [0]
        del batches  # as a `break` leaves it: 8 more tasks were sent
        assert made.value <= 3, make  # batch 0, and at most the one each worker was making


class Failing:
    """A map-style dataset of 0..7 whose sample 3 raises."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 3:
            raise ValueError("bad sample 3")
        return i


def fails_on_5(samples):
    if 5 in samples:
        raise ZeroDivisionError("bad batch")
    return samples


@pytest.mark.parametrize("workers", [NO_WORKERS, FORK], ids=["no workers", "workers"])
@pytest.mark.parametrize("dataset, options", [
    (Failing(), dict(batch_size=2)), (Failing(), dict(batch_size=None)),
    (list(range(8)), dict(batch_size=2, collate_fn=fails_on_5))], ids=["getitem", "unbatched", "collate_fn"])
def test_an_error_in_a_batch_leaves_the_next_batches_to_come_as_torchs(torch, workers, dataset, options):
    """Without workers, the epoch was a generator: the error ended it, and the batches after it
    were lost without a word."""
    ours = outcomes(DataLoader(dataset, **options, **workers))
    assert ours == outcomes(torch.utils.data.DataLoader(dataset, **options, **workers))
    assert len(ours) > 1 + ours.index("ValueError" if "collate_fn" not in options else "ZeroDivisionError")


def stream_of(base, info_of, iterator):
    """An IterableDataset (ours or torch's) whose __iter__ returns ``iterator(worker_info)``."""
    class Stream(base):
        def __iter__(self):
            return iterator(info_of())
    return Stream()


class RaisesOnce:
    """1..8 in each worker (sharded in two with workers), raising once instead of giving 3."""

    def __init__(self, info):
        self.items = iter(range(1, 9) if info is None else range(1 + info.id, 9, info.num_workers))

    def __iter__(self):
        return self

    def __next__(self):
        item = next(self.items)
        if item == 3:
            raise ValueError("sample 3 is unreadable")
        return item


def sharded(info):
    return iter(range(13) if info is None else range(info.id, 13, info.num_workers))


@pytest.mark.parametrize("workers", [NO_WORKERS, FORK], ids=["no workers", "workers"])
@pytest.mark.parametrize("iterator, collate_fn", [(RaisesOnce, None), (sharded, fails_on_5)],
                         ids=["stream's iterator", "collate_fn"])
def test_a_stream_goes_on_after_an_error_in_a_batch_as_torchs(torch, workers, iterator, collate_fn):
    """The stream's batches came from a generator, which an error ended: in a worker, its
    share of the stream was cut short; without workers, the whole epoch."""
    collate_fn = collate_fn or (lambda samples: samples)
    ours = outcomes(DataLoader(stream_of(IterableDataset, get_worker_info, iterator), batch_size=2,
                               collate_fn=collate_fn, **workers))
    theirs = outcomes(torch.utils.data.DataLoader(
        stream_of(torch.utils.data.IterableDataset, torch.utils.data.get_worker_info, iterator), batch_size=2,
        collate_fn=collate_fn, **workers))
    assert ours == theirs
    errors = [at for at, outcome in enumerate(ours) if isinstance(outcome, str)]
    assert errors and errors[-1] < len(ours) - 1  # batches came after the error


def test_a_worker_whose_init_failed_fails_each_of_its_batches_as_torchs(torch):
    """It answered its first task with the error, then made batches without worker_init_fn
    having set it up (a stream unsharded, a file not opened). PyTorch's fails each of them too."""
    def init(worker_id):
        if worker_id == 1:
            raise OSError(f"no shard file for worker {worker_id}")

    ours = outcomes(DataLoader(list(range(8)), batch_size=2, worker_init_fn=init, **FORK))
    theirs = outcomes(torch.utils.data.DataLoader(list(range(8)), batch_size=2, worker_init_fn=init, **FORK))
    assert ours == [[0, 1], "OSError", [4, 5], "OSError"]
    assert [batch if isinstance(batch, list) else "error" for batch in theirs] == \
        [batch if isinstance(batch, list) else "error" for batch in ours]
    batches = iter(DataLoader(list(range(8)), batch_size=2, worker_init_fn=init, **FORK))
    for _ in range(2):  # worker 0's batch, then worker 1's error, each time
        assert next(batches).tolist() in ([0, 1], [4, 5])
        with pytest.raises(OSError, match=r"(?s)DataLoader worker 1 .*in init.*no shard file for worker 1"):
            next(batches)


class Leftovers:
    """0..7; while ``slow`` is set, samples from 2 on take 0.5 s (a break leaves them queued)."""

    def __init__(self):
        self.slow = multiprocessing.get_context("fork").Value("b", 1)

    def __len__(self):
        return 8

    def __getitem__(self, i):
        if self.slow.value and i >= 2:
            time.sleep(0.5)
        return i, os.getpid()


def test_persistent_workers_restart_within_the_timeout_as_torchs(torch):
    """Starting an epoch waits for the last epoch's leftover batches: that wait had no limit.
    Now it raises after ``timeout`` seconds, as PyTorch's, and the next epoch has new workers."""
    theirs = torch.utils.data.DataLoader(Leftovers(), batch_size=1, persistent_workers=True, timeout=0.1, **FORK)
    for _ in theirs:
        break
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.1 seconds"):
        iter(theirs)
    dataset = Leftovers()
    loader = DataLoader(dataset, batch_size=1, persistent_workers=True, timeout=0.1, **FORK)
    for batch in loader:
        old = batch[1].tolist()[0]
        break
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.1 seconds waiting for a batch"):
        iter(loader)
    assert gone(old)  # (those workers are stopped, not left behind)
    dataset.slow.value = 0
    batches = [as_lists(batch) for batch in loader]
    assert [batch[0] for batch in batches] == [[i] for i in range(8)] and old not in {b[1][0] for b in batches}


class Interrupt(Exception):
    """As a KeyboardInterrupt raised in the main process only (its workers carry on)."""


def test_an_exception_while_persistent_workers_restart_leaves_the_next_epochs_whole():
    """The restart reads and drops the last epoch's replies until each worker says it restarted;
    interrupted there, those replies were taken for the next epoch's (a KeyError, or batches
    out of place). PyTorch's raises a KeyError there too. Now the next epoch has new workers."""
    dataset = Leftovers()
    loader = DataLoader(dataset, batch_size=1, persistent_workers=True, **FORK)
    for _ in loader:
        break

    def interrupt(signum, frame):
        raise Interrupt()

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.1)  # while the 0.5 s leftovers are made
        with pytest.raises(Interrupt):
            iter(loader)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    dataset.slow.value = 0
    for _ in range(2):
        assert [as_lists(batch)[0] for batch in loader] == [[i] for i in range(8)]


def test_a_numpy_integer_num_workers_is_taken_as_torchs(torch):
    """num_workers=np.int64(2) was refused with "num_workers must be an int >= 0, got 2", where PyTorch
    (and the loader's own batch_size) take NumPy integers."""
    theirs = torch.utils.data.DataLoader(range(5), batch_size=2, num_workers=np.int64(2),
                                         multiprocessing_context="fork")
    ours = DataLoader(range(5), batch_size=2, num_workers=np.int64(2), multiprocessing_context="fork")
    assert ours.num_workers == 2
    assert epoch(ours) == epoch(theirs) == [[0, 1], [2, 3], [4]]
    assert DataLoader(range(5), num_workers=np.int32(0)).num_workers == 0
    for bad in (True, 2.0, -1):
        with pytest.raises(ValueError, match=f"num_workers must be an int >= 0, got {bad}"):
            DataLoader(range(5), num_workers=bad)
