"""Weight averaging, with PyTorch's ``torch.optim.swa_utils`` API: stochastic weight averaging
(SWA, an equal-weight mean of the weights along the run) and exponential moving averages (EMA).

``AveragedModel(model)`` holds a deep copy of the model; ``update_parameters(model)`` folds
the model's current weights into it (the first call copies them); call the copy as the model.
``update_bn(loader, averaged)`` then recomputes BatchNorm's running statistics for the
averaged weights, and ``SWALR`` anneals each group's rate to a constant ``swa_lr``::

    swa_model = AveragedModel(model)             # or AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.999))
    swa_scheduler = SWALR(optimizer, swa_lr=0.05)
    for epoch in range(epochs):
        train_one_epoch(model, optimizer)
        if epoch >= swa_start:
            swa_model.update_parameters(model)
            swa_scheduler.step()
    update_bn(loader, swa_model)

The built-in averages (the default SWA, and the ``get_*_multi_avg_fn`` functions) update the
averaged arrays in place, one pass per parameter, without recording a graph. A user's
``avg_fn(averaged, current, n_averaged)`` returns the new value, which is copied in; a user's
``multi_avg_fn(averaged_list, current_list, n_averaged)`` changes the averaged tensors in
place (it is called once per device and dtype, as PyTorch's). Either gets tensors outside the
graph, the model's already on the averaged copy's device and in its dtype, and ``n_averaged``,
the number of models averaged so far, as a 0-d int64 tensor.

Where it differs from PyTorch 2.13, on purpose:

- ``update_parameters`` refuses a model whose parameters or buffers do not pair up with the
  averaged copy's in number and shape, before changing anything (PyTorch's zips them and
  silently averages a prefix when the counts differ).
- ``get_swa_multi_avg_fn`` moves by the exact weight ``1 / (n + 1)`` (PyTorch's computes it in
  float32, off by about 1e-8 relative in float64) and averages an integer buffer, such as
  ``num_batches_tracked`` with ``use_buffers=True``, as the default SWA does, in floating point
  and truncated (PyTorch's raises there). EMA of an integer buffer is computed in float64, not
  float32, before it is truncated.
- A ``multi_avg_fn`` gets the device and dtype groups in order of first appearance (PyTorch's
  grouping, in C++, has no set order).
- ``avg_fn`` together with ``multi_avg_fn`` is a ValueError (PyTorch's: an AssertionError).
- ``update_bn`` restores the statistics, as well as the momenta and the training mode, when the
  pass fails (PyTorch's leaves them reset or half-averaged, with the momenta None).
- ``SWALR`` checks its arguments before it writes ``swa_lr`` into the param groups (PyTorch's
  writes it, then checks ``anneal_strategy``).
"""
import copy
import math
import numbers

from autograd import Tensor, no_grad, tensor
from autograd.tensor import count_change
from backends import dtypes

from ..layers.normalization import _BatchNorm
from ..module import Module
from ..parameter import is_lazy
from .lr_scheduler.base import LRScheduler, per_group
from .optimizer import Optimizer

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn",
           "get_ema_avg_fn", "get_swa_avg_fn"]


# --- averaging functions ----------------------------------------------------------------------

def _check_decay(name, decay):
    """``decay`` as a Python float (a NumPy float64 would widen float32 arithmetic), checked."""
    if isinstance(decay, bool) or not isinstance(decay, numbers.Real) or not 0 <= decay <= 1:
        raise ValueError(f"{name}: decay must be a number in [0, 1], got {decay!r}")
    return float(decay)


def _floating(array, backend):
    """An integer array as float64, for an average that is truncated back into it (as PyTorch's
    copy_ of a float result into an integer buffer, such as num_batches_tracked, truncates)."""
    return backend.xp.astype(array, backend.native_dtype(dtypes.float64))


def _swa_(averaged, current, num_averaged):
    """``averaged += (current - averaged) / (num_averaged + 1)`` in place on the arrays: PyTorch's
    arithmetic (its CPU default), with the exact weight in any dtype."""
    backend, a = averaged._backend, averaged.data
    if dtypes.is_floating(averaged.dtype):
        step = backend.difference(current.data, a)
        step /= num_averaged + 1
        a += step
    else:
        a_float = _floating(a, backend)
        a[...] = backend.xp.astype(a_float + (_floating(current.data, backend) - a_float) / (num_averaged + 1),
                                   a.dtype)


def _ema_(averaged, current, decay):
    """``averaged = decay * averaged + (1 - decay) * current`` in place on the arrays, as PyTorch's
    lerp computes it for floats (the form with the smaller weight on the difference, for accuracy
    at either end)."""
    backend, a = averaged._backend, averaged.data
    weight = 1 - decay
    if not dtypes.is_floating(averaged.dtype):
        a[...] = backend.xp.astype(_floating(a, backend) * decay + _floating(current.data, backend) * weight,
                                   a.dtype)
        return
    step = backend.difference(current.data, a)
    if weight < 0.5:
        backend.axpy_(a, weight, step)        # averaged + weight * (current - averaged)
    else:
        step *= weight - 1
        step += current.data                  # current - (current - averaged) * (1 - weight)
        a[...] = step


def _pairs(name, averaged_list, current_list):
    """(averaged, current) pairs, checked, each current tensor on its averaged one's device and in its dtype."""
    averaged_list, current_list = list(averaged_list), list(current_list)
    if len(averaged_list) != len(current_list):
        raise ValueError(f"{name}: got {len(averaged_list)} averaged tensors but {len(current_list)} current ones; "
                         "pass one current tensor per averaged tensor")
    for averaged, current in zip(averaged_list, current_list):
        if not isinstance(averaged, Tensor) or not isinstance(current, Tensor):
            bad = averaged if not isinstance(averaged, Tensor) else current
            raise TypeError(f"{name}: expected lists of Tensors, got a {type(bad).__name__}")
        if averaged.shape != current.shape:
            raise ValueError(f"{name}: an averaged tensor of shape {averaged.shape} cannot average one of shape "
                             f"{current.shape}")
    return [(a, c.detach().to(a._backend, a.dtype)) for a, c in zip(averaged_list, current_list)]


def get_ema_multi_avg_fn(decay=0.999):
    """An exponential moving average for AveragedModel's ``multi_avg_fn``: each averaged tensor
    becomes ``decay * averaged + (1 - decay) * current``, in place."""
    decay = _check_decay("get_ema_multi_avg_fn", decay)

    def ema_update(ema_param_list, current_param_list, num_averaged):
        with no_grad():
            for averaged, current in _pairs("ema_update", ema_param_list, current_param_list):
                _ema_(averaged, current, decay)
                count_change(averaged)

    return ema_update


def get_swa_multi_avg_fn():
    """The equal-weight running mean (SWA) for AveragedModel's ``multi_avg_fn``: each averaged
    tensor moves ``1 / (num_averaged + 1)`` of the way to the current one, in place."""

    def swa_update(averaged_param_list, current_param_list, num_averaged):
        n = int(num_averaged)
        with no_grad():
            for averaged, current in _pairs("swa_update", averaged_param_list, current_param_list):
                _swa_(averaged, current, n)
                count_change(averaged)

    return swa_update


def get_ema_avg_fn(decay=0.999):
    """An exponential moving average for AveragedModel's ``avg_fn``: returns
    ``decay * averaged + (1 - decay) * current`` (a new tensor, recording no graph)."""
    decay = _check_decay("get_ema_avg_fn", decay)

    @no_grad()
    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn():
    """The equal-weight running mean (SWA) for AveragedModel's ``avg_fn``: returns
    ``averaged + (current - averaged) / (num_averaged + 1)`` (a new tensor, recording no graph)."""

    @no_grad()
    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


# --- the averaged model -----------------------------------------------------------------------

class AveragedModel(Module):
    """A deep copy of ``model`` (moved to ``device`` if given) whose parameters, and with
    ``use_buffers=True`` its buffers, are running averages of ``model``'s: SWA by default, or
    the ``avg_fn`` or ``multi_avg_fn`` given (see the module docstring). Without
    ``use_buffers``, each update copies the model's buffers as they are. The ``n_averaged``
    buffer counts the updates; the state dict holds it and ``module.*``, as PyTorch's."""

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel: expected an nn.Module to average, got {type(model).__name__}")
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError("AveragedModel: give avg_fn or multi_avg_fn, not both")
        for name, fn in (("avg_fn", avg_fn), ("multi_avg_fn", multi_avg_fn)):
            if fn is not None and not callable(fn):
                raise TypeError(f"AveragedModel: {name} must be a function, got {type(fn).__name__}")
        module = copy.deepcopy(model)
        if device is not None:
            module.to(device)
        self.module = module
        self.register_buffer("n_averaged", tensor(0, dtype=dtypes.int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model):
        """Fold ``model``'s current weights into the averages (the first call copies them)."""
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel.update_parameters: expected an nn.Module, got {type(model).__name__}")
        averaged, current = self._matched(list(self.module.named_parameters()), list(model.named_parameters()),
                                          "parameters")
        averaged_buffers, current_buffers = self._matched(list(self.module.named_buffers()),
                                                          list(model.named_buffers()), "buffers")
        if self.use_buffers:
            averaged, current = averaged + averaged_buffers, current + current_buffers
        n = int(self.n_averaged.item())
        with no_grad():
            if n == 0:
                _overwrite(averaged, current)
            elif self.avg_fn is not None:
                n_averaged = self.n_averaged.detach()
                for a, c in zip(averaged, current):
                    a.copy_(self.avg_fn(a, c, n_averaged))
            elif self.multi_avg_fn is not None:
                n_averaged = self.n_averaged.detach()
                for group in _by_device_and_dtype(averaged, current):
                    self.multi_avg_fn(*group, n_averaged)
            else:
                for a, c in zip(averaged, current):
                    _swa_(a, c, n)
                    count_change(a)
            if not self.use_buffers:  # the buffers follow the model's
                _overwrite(averaged_buffers, current_buffers)
            self.n_averaged += 1

    def _matched(self, ours, theirs, what):
        """The averaged copy's tensors and the model's (detached, on the copy's device, in its
        dtypes), after checking that they pair up; nothing has changed if this raises."""
        if len(ours) != len(theirs):
            raise ValueError(f"AveragedModel.update_parameters: the model has {len(theirs)} {what} but the averaged "
                             f"copy has {len(ours)}; pass a model of the architecture this AveragedModel was made from")
        for (name, a), (_, c) in zip(ours, theirs):
            if is_lazy(a) or is_lazy(c):
                raise ValueError(f"AveragedModel.update_parameters: {name!r} is not initialized yet (a Lazy module); "
                                 "run a forward pass through the model before making the AveragedModel")
            if a.shape != c.shape:
                raise ValueError(f"AveragedModel.update_parameters: the model's {name!r} has shape {c.shape} but the "
                                 f"averaged copy's has {a.shape}; pass a model of the same architecture")
        return ([a.detach() for _, a in ours],
                [c.detach().to(a._backend, a.dtype) for (_, a), (_, c) in zip(ours, theirs)])


def _overwrite(targets, sources):
    for target, source in zip(targets, sources):
        target.data[...] = source.data
        count_change(target)


def _by_device_and_dtype(averaged, current):
    """[(averaged list, current list)] per device and dtype of the averaged tensors, in order of
    first appearance: what PyTorch hands a multi_avg_fn at a time."""
    groups = {}
    for a, c in zip(averaged, current):
        pair = groups.setdefault((a.device, a.dtype), ([], []))
        pair[0].append(a)
        pair[1].append(c)
    return list(groups.values())


# --- BatchNorm statistics for the averaged weights --------------------------------------------

def update_bn(loader, model, device=None):
    """Recompute the running statistics of every BatchNorm layer in ``model`` in one pass over
    ``loader`` (each batch a Tensor, or a list or tuple whose first item is the input): the
    statistics are reset, then each batch adds to a cumulative average (momentum None). The
    layers' momenta and the model's training mode are restored afterwards; if the pass fails,
    the statistics are restored too. ``device``, if given, is where each batch is moved."""
    if not isinstance(model, Module):
        raise TypeError(f"update_bn: expected an nn.Module, got {type(model).__name__}")
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    saved = [{name: b.clone() for name, b in m.named_buffers(recurse=False)} for m in norms]
    was_training = model.training
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    try:
        with no_grad():
            for batch in loader:
                if isinstance(batch, (list, tuple)):
                    batch = batch[0]
                if device is not None:
                    batch = batch.to(device)
                model(batch)
    except BaseException:
        with no_grad():
            for m, buffers in zip(norms, saved):
                for name, value in buffers.items():
                    m.get_buffer(name).copy_(value)
        raise
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        model.train(was_training)


# --- the learning-rate schedule -----------------------------------------------------------------

class SWALR(LRScheduler):
    """Anneal each param group's rate from where it is to its ``swa_lr`` (one number, or one per
    group) over ``anneal_epochs`` epochs, by a cosine (``"cos"``) or a straight line
    (``"linear"``), then hold it there: PyTorch's formula, step for step. Each group keeps its
    target as ``group["swa_lr"]``."""

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos", last_epoch=-1):
        # Everything is checked before the param groups change.
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"SWALR: expected an nn.optim Optimizer, got {type(optimizer).__name__}")
        swa_lrs = [lr.clone() if isinstance(lr, Tensor) else lr
                   for lr in per_group("SWALR", "swa_lr", optimizer, swa_lr)]
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"SWALR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        if isinstance(anneal_epochs, bool) or not isinstance(anneal_epochs, numbers.Integral) or anneal_epochs < 0:
            raise ValueError(f"SWALR: anneal_epochs must be an integer >= 0, got {anneal_epochs!r}")
        self._anneal_strategy = anneal_strategy
        self.anneal_epochs = int(anneal_epochs)
        groups = optimizer.param_groups
        before = [(group, group.get("swa_lr", _ABSENT)) for group in groups]
        for group, lr in zip(groups, swa_lrs):
            group["swa_lr"] = lr
        try:
            super().__init__(optimizer, last_epoch)
        except Exception:
            for group, value in before:
                if value is _ABSENT:
                    del group["swa_lr"]
                else:
                    group["swa_lr"] = value
            raise

    def _anneal(self, t):
        """How far along the annealing (0 to 1) the fraction ``t`` of its epochs is."""
        return (1 - math.cos(math.pi * t)) / 2 if self._anneal_strategy == "cos" else t

    def get_lr(self):
        # From the current rate (which may have been set from outside), PyTorch's recursive form:
        # recover the rate the annealing started from, then take the next point on the path.
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self._anneal(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        alpha = self._anneal(max(0, min(1, step / max(1, self.anneal_epochs))))
        rates = []
        for group in self.optimizer.param_groups:
            swa_lr = group["swa_lr"]
            start = swa_lr if prev_alpha == 1 else (group["lr"] - prev_alpha * swa_lr) / (1 - prev_alpha)
            rates.append(swa_lr * alpha + start * (1 - alpha))
        return rates


_ABSENT = object()
