"""Worker processes for ``DataLoader(num_workers=N)``, with PyTorch's semantics.

Each worker is a process with its own copy of the dataset that makes whole batches: it reads
the samples and runs ``collate_fn`` on them (``fetch``, which the DataLoader builds). The main
process hands the tasks (a batch's positions, or "your stream's next batch" for an
IterableDataset) to the active workers in turn, keeps ``prefetch_factor`` tasks per worker
sent and not yet returned, and gives the batches back in the sampler's order (with
``in_order=False``, as they come). A batch travels pickled, each Tensor in it as its NumPy
array, which becomes a Tensor again on the loader's device.

A worker makes its batches on the CPU, as PyTorch's: its default device is the CPU, and the
main process moves each batch to the loader's device. It leaves the GPUs alone (``ag.manual_seed``
there too): CUDA cannot be used in a process forked after its parent used it
(cudaErrorInitializationError). It seeds Python's ``random``, NumPy's global generator and
topograd's (``ag.manual_seed``) from ``base_seed + id``, then runs ``worker_init_fn(id)``;
``get_worker_info()`` tells dataset code which worker it runs in (an IterableDataset reads it
to yield only its share: without that, each worker yields the whole stream, as in PyTorch). An
exception in a worker is raised again in the main process, naming the worker and holding the
worker's traceback; a worker that dies, or a batch that takes longer than ``timeout`` seconds,
raises a RuntimeError.

Workers are daemon processes that leave when told (at the end of an epoch, or when their
iterator is garbage-collected after a ``break``; with ``persistent_workers``, when the
DataLoader is), when the main process goes away, or at interpreter exit; each one is joined, so
none is left as a zombie.
"""
import io
import itertools
import multiprocessing
import multiprocessing.context
import os
import pickle
import queue
import random
import sys
import time
import traceback
import weakref
from dataclasses import dataclass

import numpy as np  # (only to seed NumPy's global generator in each worker, which dataset code draws from)

import backends
from autograd import Tensor, manual_seed

# How often a waiting worker checks that the main process is still there, and a waiting main
# process that its workers are; and how long shutting down waits for a busy worker's task.
_STATUS_CHECK_S = 1.0
_EXIT_GRACE_S = 5.0


@dataclass(frozen=True)
class WorkerInfo:
    """What ``get_worker_info()`` tells code running in a DataLoader worker."""
    id: int            # 0 .. num_workers - 1
    num_workers: int
    seed: int          # base_seed + id, which random, NumPy's global generator and topograd's were seeded from
    dataset: object    # this worker's copy of the dataset


_worker_info = None


def get_worker_info():
    """A WorkerInfo in a DataLoader worker process, None in the main process (as PyTorch's).
    An IterableDataset's ``__iter__`` reads it to yield only its worker's share of the stream."""
    return _worker_info


def multiprocessing_context(context):
    """``context`` as a multiprocessing context: a start method's name ('fork', 'spawn',
    'forkserver'; those this platform has) or a context object; None stays None (the default one)."""
    if isinstance(context, str):
        methods = multiprocessing.get_all_start_methods()
        if context not in methods:
            raise ValueError(f"DataLoader: multiprocessing_context must be a start method this platform has, "
                             f"one of {methods}, got {context!r}")
        return multiprocessing.get_context(context)
    if context is not None and not isinstance(context, multiprocessing.context.BaseContext):
        raise TypeError(f"DataLoader: multiprocessing_context must be a start method's name or a context from "
                        f"multiprocessing.get_context(), got {type(context).__name__}")
    return context


class WorkerPool:
    """``num_workers`` processes that make batches with ``fetch`` (``fetch(positions)`` for a
    map-style dataset; ``fetch.stream()``, an iterator of batches, for an IterableDataset),
    started by the multiprocessing ``context``."""

    def __init__(self, fetch, num_workers, base_seed, worker_init_fn, context):
        self.replies = context.Queue()
        self.task_queues = [context.Queue() for _ in range(num_workers)]
        # Set when the workers are told to leave: the tasks still queued before that word are skipped, not made
        stopping = context.Event()
        self.processes = []
        # Set before the first start, so that workers started before a failure are stopped.
        self._finalizer = weakref.finalize(self, _stop, os.getpid(), self.processes, self.task_queues, self.replies,
                                           stopping)
        try:
            for worker_id, tasks in enumerate(self.task_queues):
                process = context.Process(
                    target=_worker_loop, daemon=True, name=f"DataLoader worker {worker_id}",
                    args=(worker_id, num_workers, base_seed, fetch, worker_init_fn, tasks, self.replies, stopping))
                process.start()
                self.processes.append(process)
        except (pickle.PicklingError, AttributeError, TypeError) as exc:  # what spawn and forkserver pickle
            self.shut_down()
            raise TypeError(f"DataLoader: cannot start worker processes with the {context.get_start_method()!r} "
                            f"start method, which pickles the dataset, collate_fn and worker_init_fn: {exc}; "
                            "define them at a module's top level (no lambdas or local classes), or pass "
                            "multiprocessing_context='fork'") from exc
        except BaseException:
            self.shut_down()
            raise
        self.epoch = 0  # how many epochs were started on these processes

    @property
    def num_workers(self):
        return len(self.processes)

    def all_alive(self):
        return all(process.is_alive() for process in self.processes)

    def shut_down(self):
        self._finalizer()

    def start_epoch(self, timeout):
        """The number of the epoch that starts now. After the first (persistent workers), each
        worker drops the rest of its stream, and its replies to the last epoch's tasks are read
        and dropped (each within ``timeout`` seconds, 0: no limit), so that none is taken for
        this epoch's."""
        if self.epoch:
            for tasks in self.task_queues:
                tasks.put(("epoch", None, None))
            restarted = 0
            try:
                while restarted < self.num_workers:
                    _, _, kind, _ = self.receive(timeout)
                    restarted += kind == "epoch"
            except BaseException:
                # (a timeout, a dead worker, a Ctrl-C) the old epoch's replies may still come, which the
                # next epoch would take for its own: these workers are done, and replaced next time
                self.shut_down()
                raise
        self.epoch += 1
        return self.epoch

    def receive(self, timeout):
        """The next reply: (task, worker_id, kind, payload). Raises a RuntimeError after ``timeout``
        seconds (0: none), or when a worker has died (they leave only when told to)."""
        deadline = time.monotonic() + timeout if timeout else None
        while True:
            wait = _STATUS_CHECK_S if deadline is None else min(_STATUS_CHECK_S, deadline - time.monotonic())
            try:
                return self.replies.get(timeout=max(wait, 0))
            except queue.Empty:
                pass
            dead = [worker_id for worker_id, process in enumerate(self.processes) if not process.is_alive()]
            if dead:
                process = self.processes[dead[0]]
                raise RuntimeError(f"DataLoader worker {dead[0]} (pid {process.pid}) exited unexpectedly with exit "
                                   f"code {process.exitcode} (a negative code is the signal that killed it, as "
                                   "-9 when the system ran out of memory); with num_workers=0 the error shows "
                                   "in this process")
            if deadline is not None and time.monotonic() >= deadline:
                raise RuntimeError(f"DataLoader timed out after {timeout} seconds waiting for a batch from its "
                                   "workers; raise timeout= (0 waits without limit) or make the batches faster")


def _stop(owner_pid, processes, task_queues, replies, stopping):
    """Tell each worker to leave (after the task it is making, as PyTorch's), wait a little for
    busy ones, stop the rest, and join them all."""
    if os.getpid() != owner_pid:  # a forked copy of the pool (in another loader's worker): not its workers
        return
    stopping.set()
    for tasks in task_queues:
        try:
            tasks.put(None)
        except (ValueError, OSError):  # already closed
            pass
    deadline = time.monotonic() + _EXIT_GRACE_S
    for process in processes:
        process.join(max(deadline - time.monotonic(), 0))
    for process in processes:
        if process.is_alive():
            process.terminate()
            process.join()
    for channel in (*task_queues, replies):
        channel.cancel_join_thread()  # what is still in the pipes is not wanted: never block on it
        channel.close()


class WorkerBatches:
    """One epoch's batches from a WorkerPool: ``tasks`` are the batch sampler's lists of
    positions (the sampler's positions without batching; None for each of a stream's batches).
    A pool of its own (``owns_pool``) is shut down when the epoch ends or the iterator is dropped."""

    def __init__(self, pool, tasks, *, owns_pool, prefetch_factor, in_order, timeout, target):
        self._pool, self._owns_pool, self._epoch = pool, owns_pool, pool.start_epoch(timeout)
        self._tasks = tasks
        self._in_order, self._timeout, self._target = in_order, timeout, target
        n = pool.num_workers
        self._limit = prefetch_factor * n  # tasks sent and not yet returned (or dropped), all workers together
        self._turns = itertools.cycle(range(n))
        self._active = [True] * n  # False once a worker's stream has ended
        self._owed = [0] * n  # per worker: tasks sent and not yet returned or dropped
        self._worker_of = {}  # task -> worker, for tasks not yet answered
        self._ready = {}  # task -> (worker, kind, payload), answered but not yet returned (in_order)
        self._sent = 0  # tasks sent; task ids count from 0
        self._next = 0  # the task whose batch comes next (in_order)
        self._send_tasks()

    def __iter__(self):
        return self

    def __next__(self):
        if self._pool.epoch != self._epoch:
            raise RuntimeError("DataLoader: this iterator's persistent workers have started another epoch "
                               "(a later iter(loader)); read one epoch at a time, or set persistent_workers=False")
        while True:
            if self._in_order:
                task = self._next
                if task in self._ready:
                    self._next += 1
                    return self._returned(*self._ready.pop(task))
                worker = self._worker_of.get(task)  # None: answered (a stream's end), or not sent yet
                if task < self._sent and (worker is None or not self._active[worker]):
                    self._next += 1  # its worker's stream had ended: no batch for this task
                    continue
            elif self._ready:
                return self._returned(*self._ready.pop(next(iter(self._ready))))
            if not self._worker_of:  # nothing sent that is not answered: the epoch is over
                if self._owns_pool:
                    self._pool.shut_down()
                raise StopIteration
            self._receive()

    def _receive(self):
        task, worker, kind, payload = self._pool.receive(self._timeout)
        del self._worker_of[task]
        if kind == "end":  # the worker's stream has ended; its later tasks will end too
            self._active[worker] = False
            self._drop(worker)
        else:
            self._ready[task] = (worker, kind, payload)

    def _returned(self, worker, kind, payload):
        self._drop(worker)
        if kind == "error":
            error_type, name, text = payload
            message = _Message(f"DataLoader worker {worker} (pid {self._pool.processes[worker].pid}) raised "
                               f"{name}; its traceback:\n{text}")
            try:
                error = error_type(message)
            except Exception:  # an exception type that takes other arguments
                error = RuntimeError(message)
            raise error
        return _BatchUnpickler(io.BytesIO(payload), self._target).load()

    def _drop(self, worker):
        """A task of ``worker`` is done with: its place goes to the next task."""
        self._owed[worker] -= 1
        self._send_tasks()

    def _send_tasks(self):
        while self._tasks is not None and sum(self._owed) < self._limit:
            worker = self._next_worker()
            if worker is None:
                return
            positions = next(self._tasks, _NO_MORE)
            if positions is _NO_MORE:
                self._tasks = None
                return
            self._pool.task_queues[worker].put(("task", self._sent, positions))
            self._worker_of[self._sent] = worker
            self._owed[worker] += 1
            self._sent += 1

    def _next_worker(self):
        """The next active worker in turn; with in_order=False, one with less than its share of
        the tasks in flight, so that a slow batch does not keep tasks waiting behind it."""
        active = sum(self._active)
        for _ in range(len(self._active)):
            worker = next(self._turns)
            if self._active[worker] and (self._in_order or self._owed[worker] < self._limit // active):
                return worker
        return None


_NO_MORE = object()


class _Message(str):
    """An error's message: KeyError shows its argument's repr, which would print the traceback as one line."""

    def __repr__(self):
        return str(self)


class _BatchPickler(pickle.Pickler):
    """Pickles a batch with each Tensor in it as its NumPy array (a Tensor in the main process again)."""

    def persistent_id(self, obj):
        return obj.backend.to_numpy(obj.data) if isinstance(obj, Tensor) else None


class _BatchUnpickler(pickle.Unpickler):
    def __init__(self, file, target):
        super().__init__(file)
        self.target = target

    def persistent_load(self, array):
        return Tensor(array, device=self.target)


def _pickled_batch(batch):
    buffer = io.BytesIO()
    _BatchPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(batch)
    return buffer.getvalue()


def _worker_loop(worker_id, num_workers, base_seed, fetch, worker_init_fn, tasks, replies, stopping):
    global _worker_info
    seed = base_seed + worker_id
    # On the CPU, and no GPU touched (see the module's docstring); in a default_device block
    # of the main process, this sets that block's device, which a forked worker inherits.
    backends.set_default_device("cpu")
    backends.leave_gpus_alone()  # (for worker_init_fn's ag.manual_seed too)
    random.seed(seed)
    np.random.seed(np.random.SeedSequence(seed).generate_state(4))  # its seed takes 32-bit words
    manual_seed(seed)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, fetch.dataset)
    start_error = None
    try:
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
    except Exception:
        # the answer to every task: this worker is not set up (PyTorch's fails each task too)
        start_error = _error()
    stream, ended = None, False
    parent = os.getppid()
    try:
        while True:
            try:
                message = tasks.get(timeout=_STATUS_CHECK_S)
            except queue.Empty:
                if os.getppid() != parent:  # the main process is gone: nobody reads the batches
                    break
                continue
            if message is None or stopping.is_set():  # (the tasks queued before the word to leave are not wanted)
                break
            kind, task, positions = message
            if kind == "epoch":
                stream, ended = None, False
                replies.put((None, worker_id, "epoch", None))
                continue
            if start_error is not None:
                reply = ("error", start_error)
            elif ended:
                reply = ("end", None)
            else:
                try:
                    if fetch.is_stream:
                        if stream is None:
                            stream = fetch.stream()
                        batch = next(stream, _NO_MORE)
                        ended = batch is _NO_MORE
                    else:
                        batch = fetch(positions)
                    reply = ("end", None) if ended else ("batch", _pickled_batch(batch))
                except Exception:
                    reply = ("error", _error())
            replies.put((task, worker_id, *reply))
    except KeyboardInterrupt:  # Ctrl-C reaches the workers too; the main process reports it
        pass
    replies.cancel_join_thread()  # leaving: replies the main process will not read must not keep this one


def _error():
    """The exception being handled, as (the type to raise, its type's name, the traceback text):
    RuntimeError where its type cannot be pickled (a class defined inside a function)."""
    error_type = name = sys.exc_info()[0]
    try:
        pickle.dumps(error_type)
    except Exception:
        error_type = RuntimeError
    return error_type, name.__name__, traceback.format_exc()
