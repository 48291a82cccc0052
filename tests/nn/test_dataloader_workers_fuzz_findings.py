"""DataLoader bugs found by fuzzing its worker processes against torch.utils.data's DataLoader
(each test failed before its fix): a `break` made every batch still queued in the workers before
they left; an error in one batch ended the epoch without workers, and ended an IterableDataset's
stream with or without them; a worker whose worker_init_fn failed went on making batches, unset;
persistent workers restarting an epoch ignored `timeout`, and a Ctrl-C-like exception there left
the last epoch's replies to be taken for the next epoch's. 2 workers started with 'fork'."""
import multiprocessing
import os
import signal
import time

import pytest

from nn.data import DataLoader, IterableDataset, get_worker_info

from .test_dataloader_workers import gone

FORK = dict(num_workers=2, multiprocessing_context="fork")
NO_WORKERS = {}


def as_lists(batch):
    if isinstance(batch, (tuple, list)):
        return [as_lists(field) for field in batch]
    return batch.tolist() if hasattr(batch, "tolist") else batch


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
