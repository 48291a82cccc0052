"""Schedulers made of schedulers: SequentialLR (one after another) and ChainedScheduler
(all at once)."""
from bisect import bisect_right

from .base import LRScheduler, check_saved_state, set_lr
from .plateau import ReduceLROnPlateau


class _Composite(LRScheduler):
    """What SequentialLR and ChainedScheduler share: schedulers of one optimizer, saved
    together (each one's state dict inside this one's, as PyTorch does)."""

    def __init__(self, optimizer, schedulers):
        name = type(self).__name__
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError(f"{name}: expected at least one scheduler, got none")
        for i, scheduler in enumerate(schedulers):
            if not isinstance(scheduler, LRScheduler):
                raise TypeError(f"{name}: entry {i} is a {type(scheduler).__name__}, not a learning-rate scheduler")
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(f"{name}: entry {i} is a ReduceLROnPlateau, whose step() needs the monitored "
                                 "metric; step it yourself, next to this one")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"{name}: entry {i} ({type(scheduler).__name__}) schedules another optimizer; "
                                 "every scheduler must wrap the same one")
        self.optimizer = optimizer
        self._schedulers = schedulers

    @property
    def step_per_batch(self):
        """True when a scheduler inside steps once per batch (OneCycleLR, CyclicLR): nn.fit then
        steps the whole combination per batch, the one unit its step() can have."""
        return any(getattr(scheduler, "step_per_batch", False) for scheduler in _leaves(self))

    def state_dict(self):
        state = {key: value for key, value in self.__dict__.items() if key not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        """All or nothing: a scheduler inside that refuses its state (one of another kind) puts
        back this one and those loaded before it."""
        check_saved_state(self, state_dict)
        saved = state_dict.get("_schedulers", ())
        if len(saved) != len(self._schedulers):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the saved state has {len(saved)} "
                             f"schedulers but this one has {len(self._schedulers)}")

        def load():
            self.__dict__.update({k: v for k, v in state_dict.items() if k != "_schedulers"})
            for scheduler, state in zip(self._schedulers, saved):
                scheduler.load_state_dict(state)
        _undone_on_error(load, [self.__dict__] + [scheduler.__dict__ for scheduler in _nested(self)])


class SequentialLR(_Composite):
    """One scheduler after another: ``schedulers[i]`` runs from ``milestones[i - 1]`` on,
    restarted from its own epoch 0 there (a warm-up, then a decay)."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        super().__init__(optimizer, schedulers)
        milestones = list(milestones)
        if len(milestones) != len(self._schedulers) - 1:
            raise ValueError(f"SequentialLR: expected {len(self._schedulers) - 1} milestones (one fewer than "
                             f"the schedulers), got {len(milestones)}")
        for i, scheduler in enumerate(self._schedulers[1:], start=1):
            if isinstance(scheduler, _Composite):
                raise ValueError(f"SequentialLR: entry {i} is a {type(scheduler).__name__}; only the first entry "
                                 "may combine schedulers, since a milestone restarts its scheduler at epoch 0, "
                                 "which a combination of them cannot do")
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        # Each scheduler stepped once when it was made; start from the initial rates,
        # take those steps back, and let only the first scheduler's count.
        for group in optimizer.param_groups:
            set_lr(group, group["initial_lr"])
        for scheduler in _leaves(self):
            scheduler.last_epoch -= 1
        first = self._schedulers[bisect_right(milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self):
        epoch = self.last_epoch + 1
        i = bisect_right(self._milestones, epoch)
        scheduler = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == epoch:
            scheduler._update_lr(0)  # its turn starts: from its own epoch 0
        else:
            scheduler.step()
        self.last_epoch = epoch  # once the step went through: a refused one changes nothing
        self._last_lr = scheduler.get_last_lr()


class ChainedScheduler(_Composite):
    """Steps every scheduler at each step, so their changes to the rate compound
    (for example ConstantLR's warm-up on top of ExponentialLR's decay)."""

    def __init__(self, schedulers, optimizer=None):
        schedulers = list(schedulers)
        if optimizer is None and schedulers:
            optimizer = schedulers[0].optimizer
        super().__init__(optimizer, schedulers)
        self._last_lr = self._lrs_now()

    def step(self):
        """Step every scheduler; if one refuses (the optimizer gained a param group), those
        stepped before it are taken back, so the rates are left as they were."""
        def step_each():
            for scheduler in self._schedulers:
                scheduler.step()
        _undone_on_error(step_each, self.optimizer.param_groups + [scheduler.__dict__ for scheduler in _nested(self)])
        self._last_lr = self._lrs_now()


def _undone_on_error(change, dicts):
    """Call ``change()``; if it raises, put each of ``dicts`` (param groups, schedulers'
    ``__dict__``) back as it was, then raise."""
    before = [(target, dict(target)) for target in dicts]
    try:
        change()
    except Exception:
        for target, saved in before:
            target.clear()
            target.update(saved)
        raise


def _nested(composite):
    """Every scheduler inside a SequentialLR or ChainedScheduler, combinations included."""
    for scheduler in composite._schedulers:
        yield scheduler
        if isinstance(scheduler, _Composite):
            yield from _nested(scheduler)


def _leaves(composite):
    """The schedulers inside a SequentialLR or ChainedScheduler, through nesting."""
    for scheduler in composite._schedulers:
        if isinstance(scheduler, _Composite):
            yield from _leaves(scheduler)
        else:
            yield scheduler
