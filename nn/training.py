"""``nn.fit``: a thin training loop, its callbacks, and the History it returns.

It only calls public APIs (``model(x)``, ``loss.backward()``, ``optimizer.step()``,
``scheduler.step()``), so a hand-written loop does exactly the same and stays
first-class; fit saves the typing and adds progress bars, validation, early
stopping and checkpoints.

    history = nn.fit(model, F.cross_entropy, opt, train_loader, val_loader, epochs=10,
                     callbacks=[nn.EarlyStopping(patience=3)])
    history.val_loss, history.metrics["accuracy"]
"""
import copy
import inspect
import math
import numbers
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import backends
from autograd import Tensor, concat, no_grad
from backends import dtypes

from . import metrics as metrics_module
from .checkpoint import save
from .data.dataset import Dataset
from .module import Module
from .optim.optimizer import Optimizer

NAMED_METRICS = {"accuracy": metrics_module.accuracy, "precision": metrics_module.precision,
                 "recall": metrics_module.recall, "f1": metrics_module.f1}
POSTFIX_EVERY = 10  # batches between progress-bar loss updates (each reads the loss off the device)


class History:
    """Per-epoch logs of a ``fit`` run: ``history["val_loss"]`` (or ``.val_loss``) is one
    value per epoch; ``.metrics["accuracy"]`` the validation metric per epoch;
    ``.epochs`` the raw log dicts."""

    def __init__(self):
        self.epochs = []

    def append(self, logs):
        self.epochs.append(dict(logs))

    def keys(self):
        seen = {}
        for logs in self.epochs:
            seen.update(dict.fromkeys(logs))
        return list(seen)

    def __getitem__(self, key):
        if key not in self.keys():
            raise KeyError(f"History has no {key!r}; it has {self.keys()}")
        return [logs.get(key) for logs in self.epochs]

    def __len__(self):
        return len(self.epochs)

    @property
    def train_loss(self):
        return self["train_loss"] if self.epochs else []

    @property
    def val_loss(self):
        return self["val_loss"] if "val_loss" in self.keys() else []

    @property
    def metrics(self):
        return {key[4:]: self[key] for key in self.keys() if key.startswith("val_") and key != "val_loss"}

    def __repr__(self):
        return f"History({len(self)} epochs: {', '.join(self.keys())})"


@dataclass
class FitState:
    """What callbacks see and may change: set ``stop_training`` to end after this epoch.
    ``scheduler`` is the one fit was given (or None)."""
    model: object
    optimizer: object
    history: History
    epoch: int = 0
    stop_training: bool = False
    scheduler: object = None


class Callback:
    """Hooks into ``fit``; override the ones you need."""

    def on_train_begin(self, state):
        pass

    def on_epoch_end(self, state, epoch, logs):
        pass

    def on_train_end(self, state):
        pass


class _Monitor:
    """Tracks the best value of one logged quantity."""

    def __init__(self, owner, monitor, mode, min_delta):
        if mode not in ("min", "max"):
            raise ValueError(f"{owner}: mode must be 'min' or 'max', got {mode!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, numbers.Real) or not min_delta >= 0:  # NaN too
            raise ValueError(f"{owner}: min_delta must be a number >= 0, got {min_delta!r}")
        self.owner, self.monitor, self.mode, self.min_delta = owner, monitor, mode, min_delta
        self.best = None

    def read(self, logs):
        if self.monitor not in logs:
            hint = " (pass val_loader to fit, or monitor='train_loss')" if self.monitor.startswith("val_") else ""
            raise ValueError(f"{self.owner}: '{self.monitor}' is not among the epoch's logs {sorted(logs)}{hint}")
        return float(logs[self.monitor])

    def improves(self, score):
        if math.isnan(score):
            return False
        if self.best is None:
            return True
        if self.mode == "min":
            return score < self.best - self.min_delta
        return score > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for
    ``patience`` epochs in a row; then (``restore_best_weights``) put back the
    weights of the best epoch. ``stopped_epoch`` and ``best_epoch`` tell what happened."""

    def __init__(self, monitor="val_loss", mode="min", patience=3, min_delta=0.0, restore_best_weights=True):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an int >= 0, got {patience!r}")
        self._monitor = _Monitor("EarlyStopping", monitor, mode, min_delta)
        self.patience = patience
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, state):
        self._monitor.best = None
        self.wait = 0
        self.best_epoch = None
        self.stopped_epoch = None
        self._best_weights = None
        self._last_epoch = None

    @property
    def best_score(self):
        return self._monitor.best

    def on_epoch_end(self, state, epoch, logs):
        score = self._monitor.read(logs)
        self._last_epoch = epoch
        if self._monitor.improves(score):
            self._monitor.best, self.best_epoch, self.wait = score, epoch, 0
            if self.restore_best_weights:
                self._best_weights = _snapshot(state.model)
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            state.stop_training = True

    def on_train_end(self, state):
        if self.restore_best_weights and self._best_weights is not None and self.best_epoch != self._last_epoch:
            state.model.load_state_dict(self._best_weights)


class ModelCheckpoint(Callback):
    """Save the model (and optimizer, and the LR scheduler fit was given) with ``nn.save``
    whenever ``monitor`` improves (or every epoch with ``save_best_only=False``, which
    needs no ``monitor`` value in the logs). ``save_optimizer=False`` saves the model
    alone. A run resumes from the file exactly: ``nn.restore(path, model, optimizer,
    scheduler=scheduler)``, then ``fit(..., initial_epoch=<the saved epoch>)``.
    ``path`` may hold fields like
    ``"ckpt-{epoch:02d}.safetensors"``, filled from the epoch's logs; missing folders
    are created. The file's metadata records the epoch, the monitored name and its
    value. The best score is kept across fit calls, so continuing training with the
    same callback never replaces the best file with a worse model."""

    def __init__(self, path, monitor="val_loss", mode="min", save_best_only=True, save_optimizer=True,
                 min_delta=0.0):
        self.path = os.fspath(path)
        self._monitor = _Monitor("ModelCheckpoint", monitor, mode, min_delta)
        self.save_best_only = save_best_only
        self.save_optimizer = save_optimizer
        self.saved = []  # (epoch, path) of every save, over every fit call

    @property
    def best_score(self):
        return self._monitor.best

    def on_epoch_end(self, state, epoch, logs):
        if self.save_best_only or self._monitor.monitor in logs:
            score = self._monitor.read(logs)
            improved = self._monitor.improves(score)
        else:  # saving every epoch needs no monitored value (as in Keras)
            score, improved = None, False
        if not improved and self.save_best_only:
            return
        path = self._format_path(logs)
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        optimizer = state.optimizer if self.save_optimizer and hasattr(state.optimizer, "state_dict") else None
        # The schedule goes with the optimizer: a run resumed without it restarts the rates.
        scheduler = state.scheduler if optimizer is not None and hasattr(state.scheduler, "state_dict") else None
        metadata = {"epoch": str(epoch)}
        if score is not None:
            metadata.update(monitor=self._monitor.monitor, score=repr(score))
        save(state.model.state_dict(), path, optimizer=optimizer, metadata=metadata, scheduler=scheduler)
        if improved:  # only once saved: after a failed save, an epoch as good must still be saved
            self._monitor.best = score
        self.saved.append((epoch, path))

    def _format_path(self, logs):
        if "{" not in self.path:
            return self.path
        try:
            return self.path.format(**logs)
        except (KeyError, IndexError) as exc:
            raise ValueError(f"ModelCheckpoint: path {self.path!r} names a field this epoch's logs lack "
                             f"({exc}); the fields are {sorted(logs)}") from exc


def fit(model, loss_fn, optimizer, train_loader, val_loader=None, epochs=1, scheduler=None, callbacks=(),
        metrics=("accuracy",), device=None, progress=True, initial_epoch=0):
    """Train ``model`` for ``epochs`` epochs and return a History.

    Each batch from a loader (re-iterable, such as a DataLoader or a list, when
    ``epochs > 1``) is ``(*inputs, target)``: the loss is
    ``loss_fn(model(*inputs), target)``. Per epoch the logs hold ``train_loss``
    (mean over samples), the learning rate ``lr`` of the first param group, and
    with ``val_loader`` the ``val_loss`` and ``val_<metric>`` for each of
    ``metrics`` (names from nn.metrics, or callables ``fn(outputs, targets)``),
    computed in eval mode without recording a graph. Pass ``metrics=()`` for
    regression.

    ``scheduler`` steps once per epoch, or once per batch when it is a per-batch
    schedule (any with ``step_per_batch = True``, such as OneCycleLR); one
    whose ``step`` takes a value (ReduceLROnPlateau) gets ``val_loss`` (the train
    loss without a val_loader). Training runs in train mode, except for submodules
    the caller put in eval mode while the model itself was in train mode (a batch
    norm frozen for fine-tuning), which stay in eval mode; afterwards every module
    is back in the mode it had. ``device``: move the model and each batch there.
    ``progress``: tqdm bars with the running loss, shown on a terminal; elsewhere
    one summary line per epoch. ``progress=False`` prints nothing.

    ``initial_epoch`` resumes a run, as Keras's: epochs ``initial_epoch + 1`` to ``epochs``
    run (``epochs`` is the last one's number, for logs and checkpoint names), and a train
    loader with ``set_epoch`` (a DataLoader) starts at epoch ``initial_epoch``, so a seeded
    shuffle that advances by itself (a RandomSampler's, the DataLoader's ``shuffle``)
    repeats the interrupted run's orders. (A DistributedSampler, as PyTorch's, does not
    advance unless told to; fit leaves it be.) Restore the model, optimizer and scheduler
    first, as a ModelCheckpoint saved them: ``nn.restore(path, model, optimizer,
    scheduler=scheduler)``; the run then continues exactly as the uninterrupted one.
    """
    callbacks = _as_list("callbacks", callbacks)
    _check_fit_arguments(model, loss_fn, optimizer, train_loader, val_loader, epochs, initial_epoch, callbacks)
    metric_fns = _resolve_metrics(metrics)
    target = None if device is None else backends.get(device)
    if target is not None:
        model.to(target)
    if initial_epoch and hasattr(train_loader, "set_epoch"):
        train_loader.set_epoch(initial_epoch)  # its sampler advances by itself from there
    modes = [(module, module.training) for module in model.modules()]
    # Frozen by the caller: in eval mode inside a model in train mode. (A model in eval mode as a
    # whole, after an evaluation, is not taken to freeze anything.)
    frozen = [module for module, training in modes if not training] if model.training else []
    try:
        return _fit_epochs(model, loss_fn, optimizer, train_loader, val_loader, range(initial_epoch + 1, epochs + 1),
                           scheduler, callbacks, metric_fns, target, progress, frozen)
    finally:
        # Each module's own mode, also when training fails: the model is not left in eval mode.
        for module, training in modes:
            module.training = training


def _check_fit_arguments(model, loss_fn, optimizer, train_loader, val_loader, epochs, initial_epoch, callbacks):
    """Refuse swapped or wrong arguments before the first batch, which would otherwise fail
    deep inside it (after a forward and backward) with an AttributeError or TypeError, or
    after an epoch of training (an empty loader, an iterator used up)."""
    order = "the order is fit(model, loss_fn, optimizer, train_loader, val_loader, ...)"
    if not isinstance(model, Module):
        raise TypeError(f"fit: model must be an nn.Module, got {type(model).__name__}; {order}")
    if not callable(loss_fn) or isinstance(loss_fn, Optimizer):
        raise TypeError(f"fit: loss_fn must be a callable loss such as F.cross_entropy or nn.MSELoss(), got "
                        f"{type(loss_fn).__name__}; {order}")
    if isinstance(optimizer, Module) or not all(callable(getattr(optimizer, m, None)) for m in ("step", "zero_grad")):
        raise TypeError(f"fit: optimizer must be an optimizer with step() and zero_grad(), such as "
                        f"nn.optim.SGD(model.parameters(), lr=0.1), got {type(optimizer).__name__}; {order}")
    for name, loader in (("train_loader", train_loader), ("val_loader", val_loader)):
        if isinstance(loader, Dataset):  # iterating it gives one unbatched sample at a time
            raise TypeError(f"fit: {name} is a Dataset, which yields single samples, not batches; wrap it in "
                            f"nn.data.DataLoader(dataset, batch_size=...)")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"fit: epochs must be an int >= 0, got {epochs!r}")
    if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, int) or not 0 <= initial_epoch <= epochs:
        raise ValueError(f"fit: initial_epoch must be an int from 0 to epochs ({epochs}), got {initial_epoch!r}; "
                         "epochs is the number of the last epoch, counted from the start of the run")
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"fit: callbacks must be nn.training.Callback objects, got {type(cb).__name__}")
    for name, loader in (("train_loader", train_loader), ("val_loader", val_loader)):
        if loader is not None and hasattr(loader, "__len__") and len(loader) == 0:
            raise ValueError(f"fit: {name} has no batches; check its dataset and batch_size/drop_last")
        if isinstance(loader, Iterator) and epochs - initial_epoch > 1:  # not "yielded no batches" in epoch 2
            raise TypeError(f"fit: {name} is an iterator ({type(loader).__name__}), used up after one epoch, "
                            f"but {epochs - initial_epoch} epochs are to run; pass a re-iterable loader such as "
                            "nn.data.DataLoader or a list of batches")


def _fit_epochs(model, loss_fn, optimizer, train_loader, val_loader, epochs, scheduler, callbacks, metric_fns,
                target, progress, frozen):
    """The loop over ``epochs``, a range of epoch numbers (from 1)."""
    per_batch = scheduler is not None and _steps_per_batch(scheduler)
    wants_value = scheduler is not None and _step_takes_value(scheduler)
    bars = _ProgressBars(progress)
    state = FitState(model, optimizer, History(), scheduler=scheduler)
    for cb in callbacks:
        cb.on_train_begin(state)
    for epoch in epochs:
        state.epoch = epoch
        logs = {"epoch": epoch}
        lr = _learning_rate(optimizer)  # the rate this epoch starts with
        bar = bars.open(train_loader, f"epoch {epoch}/{epochs.stop - 1}")
        try:
            logs["train_loss"] = _train_epoch(model, loss_fn, optimizer, train_loader, bar, target,
                                              scheduler if per_batch else None, frozen)
            if lr is not None:
                logs["lr"] = lr
            if val_loader is not None:
                logs.update(_evaluate(model, loss_fn, val_loader, metric_fns, target))
        except BaseException:
            if bar is not None:
                bar.close()  # leave the terminal tidy for the traceback
            raise
        bars.close(bar, logs)
        if scheduler is not None and not per_batch:
            if wants_value:
                scheduler.step(logs.get("val_loss", logs["train_loss"]))
            else:
                scheduler.step()
        state.history.append(logs)
        for cb in callbacks:
            cb.on_epoch_end(state, epoch, logs)
        if state.stop_training:
            break
    for cb in callbacks:
        cb.on_train_end(state)
    return state.history


def _train_epoch(model, loss_fn, optimizer, loader, bar, target, batch_scheduler, frozen):
    model.train()
    for module in frozen:
        module.training = False
    total, count = None, 0
    for i, batch in enumerate(loader):
        inputs, labels = _split_batch(batch, target)
        optimizer.zero_grad()
        loss = loss_fn(model(*inputs), labels)
        _check_loss(loss)
        loss.backward()
        optimizer.step()
        if batch_scheduler is not None:
            batch_scheduler.step()
        n = _batch_size(labels)
        with no_grad():  # summed on the device: no host sync per batch
            total = _add_weighted(total, loss, n)
        count += n
        if bar is not None:
            if i % POSTFIX_EVERY == 0:
                bar.set_postfix(loss=f"{total.item() / count:.4f}", refresh=False)
            bar.update(1)
    if count == 0:
        raise ValueError("fit: train_loader yielded no batches; check its dataset and batch_size/drop_last")
    return total.item() / count


def _evaluate(model, loss_fn, loader, metric_fns, target):
    """Validation loss (mean over samples) and metrics, in eval mode without a graph."""
    model.eval()
    total, count, outputs, labels_seen = None, 0, [], []
    with no_grad():
        for batch in loader:
            inputs, labels = _split_batch(batch, target)
            out = model(*inputs)
            loss = loss_fn(out, labels)
            _check_loss(loss)
            n = _batch_size(labels)
            total = _add_weighted(total, loss, n)
            count += n
            if metric_fns:
                outputs.append(out)
                labels_seen.append(labels)
    if count == 0:
        raise ValueError("fit: val_loader yielded no batches")
    logs = {"val_loss": total.item() / count}
    if metric_fns:
        all_outputs, all_labels = concat(outputs, axis=0), concat(labels_seen, axis=0)
        for name, fn in metric_fns.items():
            try:
                logs[f"val_{name}"] = float(fn(all_outputs, all_labels))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"fit: metric {name!r} failed on the validation outputs ({exc}); pass "
                                 "metrics=() (e.g. for regression) or metrics that fit the task") from exc
    return logs


def _split_batch(batch, target):
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise TypeError("fit: each batch must be a tuple (*inputs, target), as a DataLoader over a "
                        f"TensorDataset(x, y) yields; got {type(batch).__name__}")
    if target is not None:
        batch = [b.to(target) if isinstance(b, Tensor) else b for b in batch]
    return batch[:-1], batch[-1]


def _add_weighted(total, loss, n):
    """``total + loss * n`` in float64: a float16 loss summed in its own dtype passes 65504 (inf)
    after a few hundred batches, and rounds in steps of 2 from 2048 on."""
    weighted = loss.detach().astype(dtypes.float64, copy=False) * n
    return weighted if total is None else total + weighted


def _batch_size(labels):
    return labels.shape[0] if isinstance(labels, Tensor) and labels.ndim else 1


def _check_loss(loss):
    if not isinstance(loss, Tensor) or loss.size != 1:
        shape = loss.shape if isinstance(loss, Tensor) else type(loss).__name__
        raise ValueError(f"fit: loss_fn must return a one-element Tensor, got {shape}; "
                         "use a mean-reduced loss")


def _resolve_metrics(metrics):
    resolved = {}
    for metric in _as_list("metrics", metrics or ()):
        if isinstance(metric, str):
            if metric not in NAMED_METRICS:
                raise ValueError(f"fit: unknown metric {metric!r}; choose from {sorted(NAMED_METRICS)} "
                                 "or pass a callable fn(outputs, targets)")
            name, fn = metric, NAMED_METRICS[metric]
        elif callable(metric):
            name, fn = getattr(metric, "__name__", type(metric).__name__), metric
        else:
            raise TypeError(f"fit: a metric must be a name or a callable, got {type(metric).__name__}")
        if resolved.get(name, fn) is not fn:  # two lambdas or functools.partials: one would be silently lost
            raise ValueError(f"fit: two metrics are both named {name!r}, so they would share the log key "
                             f"'val_{name}'; give each callable its own name (a def, or set its __name__)")
        resolved[name] = fn
    return resolved


def _as_list(name, value):
    """An argument that takes several items as a list; one item alone is refused with the fix,
    as iterating it would take it apart (a metric's name) or fail with Python's bare message."""
    if isinstance(value, (str, Callback)) or callable(value) or not isinstance(value, Iterable):
        raise TypeError(f"fit: {name} must be a list or tuple, got a single {type(value).__name__}; "
                        f"wrap it in a list: {name}=[...]")
    return list(value)


def _steps_per_batch(scheduler):
    """Schedulers that must step after every batch say so with ``step_per_batch = True``."""
    return bool(getattr(scheduler, "step_per_batch", False))


def _step_takes_value(scheduler):
    """True for ReduceLROnPlateau-style schedulers, whose step() needs the monitored value."""
    try:
        parameters = inspect.signature(scheduler.step).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               for p in parameters)


def _learning_rate(optimizer):
    groups = getattr(optimizer, "param_groups", None)
    if groups and "lr" in groups[0]:
        return float(groups[0]["lr"])
    return None


def _snapshot(model):
    """Copies of the model's state on its own devices (the state_dict shares memory); a
    module's extra state (see Module.get_extra_state) is deep-copied."""
    return {name: Tensor(t.backend.xp.asarray(t.data, copy=True), device=t.backend) if isinstance(t, Tensor)
            else copy.deepcopy(t) for name, t in model.state_dict().items()}


class _ProgressBars:
    """tqdm bars on a terminal; a summary line per epoch elsewhere; silence with progress=False."""

    def __init__(self, progress):
        self.progress = bool(progress)
        self.tqdm = None
        isatty = getattr(sys.stderr, "isatty", None)
        if self.progress and isatty is not None and isatty():
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            self.tqdm = tqdm

    def open(self, loader, description):
        """A bar the loop advances by hand, so it stays open for the epoch's summary; or None."""
        if self.tqdm is None:
            return None
        total = len(loader) if hasattr(loader, "__len__") else None
        return self.tqdm(total=total, desc=description, unit="batch", leave=True, dynamic_ncols=True)

    def close(self, bar, logs):
        summary = {k: f"{v:.4g}" for k, v in logs.items() if k != "epoch"}
        if bar is None:
            if self.progress:
                print(f"epoch {logs['epoch']}: " + " ".join(f"{k}={v}" for k, v in summary.items()),
                      file=sys.stderr, flush=True)
            return
        bar.set_postfix(summary, refresh=False)
        bar.close()
