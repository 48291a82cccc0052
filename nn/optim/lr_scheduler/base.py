"""LRScheduler, the base of every schedule: the constructor's first step, ``step()``,
the deprecated ``step(epoch)`` jump, and state dicts."""
import types
import warnings

from autograd import Tensor

from ..optimizer import Optimizer, _is_number


EPOCH_DEPRECATION_WARNING = (
    "The epoch argument of `scheduler.step()` is deprecated, as in PyTorch: call `scheduler.step()` once per "
    "epoch instead. With an epoch, the schedule jumps to it, using the closed-form rate where it has one "
    "rather than the chainable form."
)

STEP_ORDER_WARNING = (
    "scheduler.step() was called before optimizer.step(): the first rate of the schedule is skipped. "
    "Call optimizer.step() first, then scheduler.step(), as in PyTorch."
)


class LRScheduler:
    """Base class: subclasses define ``get_lr()``, the rates for the new ``last_epoch``."""

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an nn.optim Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        groups = optimizer.param_groups
        if last_epoch == -1:
            for group in groups:  # a copy of a Tensor rate, which later steps fill in place
                lr = group["lr"]
                group.setdefault("initial_lr", lr.clone() if isinstance(lr, Tensor) else lr)
        else:
            missing = [i for i, group in enumerate(groups) if "initial_lr" not in group]
            if missing:
                raise KeyError(f"{type(self).__name__}: param group(s) {missing} have no 'initial_lr', which "
                               f"resuming with last_epoch={last_epoch} needs; load the optimizer's state_dict "
                               "first, or start with last_epoch=-1")
        self.base_lrs = [group["initial_lr"] for group in groups]
        self.last_epoch = last_epoch
        if not optimizer.scheduled:
            # As in PyTorch, steps taken before the optimizer's first scheduler was made (a warm-up
            # without one) do not count: a scheduler.step() before the next optimizer.step() warns.
            optimizer.scheduled, optimizer.stepped = True, False
        self._initial_step()

    def _initial_step(self):
        """The constructor's step, which some schedules treat apart (SequentialLR redoes it
        for its first scheduler, after taking back the steps of the others)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):
        raise NotImplementedError(f"{type(self).__name__} must define get_lr()")

    def step(self, epoch=None):
        """Advance one epoch and write the new rates into the optimizer's param groups.
        ``epoch`` (deprecated, see the docstring of nn.optim.lr_scheduler) jumps to that epoch instead."""
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        if self._step_count == 1 and not self.optimizer.stepped:  # the first step after the constructor's
            warnings.warn(STEP_ORDER_WARNING, UserWarning, stacklevel=2)
        self._step_count += 1
        try:
            self._update_lr(epoch)
        except Exception:
            self._step_count -= 1
            raise

    def _update_lr(self, epoch=None):
        """Move to the next epoch, or jump to ``epoch``, and write the rates there; a
        rejected step leaves the schedule where it was."""
        previous = self.last_epoch
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                # The chainable get_lr() assumes one epoch since the last call; a jump
                # needs the closed form, which PyTorch uses where the schedule has one.
                self.last_epoch = epoch
                closed_form = getattr(self, "_get_closed_form_lr", None)
                values = closed_form() if closed_form is not None else self.get_lr()
            self._write_lrs(values)
        except Exception:
            self.last_epoch = previous
            raise

    def _write_lrs(self, values):
        """Set each param group's rate; refused whole if the optimizer has gained a group since."""
        groups = self.optimizer.param_groups
        self._check_group_count(len(values))
        for group, lr in zip(groups, values):
            set_lr(group, lr)
        self._last_lr = self._lrs_now()

    def _check_group_count(self, scheduled):
        groups = len(self.optimizer.param_groups)
        if scheduled != groups:
            raise RuntimeError(f"{type(self).__name__}: the optimizer now has {groups} param groups but this "
                               f"schedule was made for {scheduled}; create the scheduler after add_param_group()")

    def _lrs_now(self):
        """The rates, a Tensor one copied (a later cut fills it in place), as PyTorch's get_last_lr."""
        return [lr.clone() if isinstance(lr, Tensor) else lr for lr in self._current_lrs()]

    def get_last_lr(self):
        """The rates of the last step, one per param group."""
        return list(self._last_lr)

    def _current_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        """Every attribute except the optimizer (save and load the optimizer separately)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict):
        check_saved_state(self, state_dict)
        self._set_attributes(state_dict)

    def _set_attributes(self, state_dict):
        """What loading a checked state dict does (a schedule that saves a function or
        schedulers loads those apart, then sets the rest with this)."""
        groups = len(self.optimizer.param_groups)
        if "base_lrs" in state_dict and len(state_dict["base_lrs"]) != groups:
            raise ValueError(f"{type(self).__name__}.load_state_dict: the saved schedule has "
                             f"{len(state_dict['base_lrs'])} param groups but the optimizer has {groups}")
        self.__dict__.update(state_dict)


def per_group(scheduler, name, optimizer, value):
    """``value`` repeated per param group, or checked to have one entry per group; each a number."""
    groups = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != groups:
            raise ValueError(f"{scheduler}: {name} must have one value per param group ({groups}), got {len(value)}")
        values = list(value)
    else:
        values = [value] * groups
    for v in values:
        check_number(scheduler, name, v)
    return values


def check_number(scheduler, name, value):
    """Refuse a value that is not a number (a YAML reader may leave 1e-3 a string) before it
    reaches the param groups, where it would only fail later, in a step."""
    if not _is_number(value):
        raise TypeError(f"{scheduler}: {name} must be a number, got {type(value).__name__} {value!r}"
                        + ("; convert it with float()" if isinstance(value, str) else ""))


def check_saved_state(scheduler, state_dict):
    """Refuse, before anything changes, what is not a state dict of this kind of scheduler made with
    these options. Its public attributes (the schedule's settings and position) must be this one's:
    PyTorch loads any dict, so another schedule's state (a StepLR's into a CosineAnnealingLR) gave a
    mix of the two. Private ones (step counts, flags) are left out, as PyTorch's versions differ in
    them (2.13 saves _get_lr_called_within_step, which topograd has no use for)."""
    name = type(scheduler).__name__
    if not isinstance(state_dict, dict):
        raise TypeError(f"{name}.load_state_dict: expected the dict that state_dict() returns, got "
                        f"{type(state_dict).__name__}")
    own, saved = _public_keys(scheduler.state_dict()), _public_keys(state_dict) - {"verbose"}  # PyTorch's, retired
    if own != saved:
        parts = [f"it lacks {_listed(own - saved)}, which this {name} keeps"] if own - saved else []
        parts += [f"it holds {_listed(saved - own)}, which this {name} does not keep"] if saved - own else []
        raise ValueError(f"{name}.load_state_dict: the saved state is not this {name}'s: {'; '.join(parts)}; was "
                         "it saved by another kind of scheduler, or by one made with other options (such as "
                         "cycle_momentum)? Load it into a scheduler made as that one was")


def _public_keys(state_dict):
    return {key for key in state_dict if not (isinstance(key, str) and key.startswith("_"))}


def _listed(keys):
    return ", ".join(map(repr, sorted(keys, key=str)))


def saved_callable(fn):
    """What a state dict keeps of a user's function, as PyTorch: nothing for a plain
    function or lambda, the attributes of a callable object."""
    return None if fn is None or isinstance(fn, types.FunctionType) else dict(fn.__dict__)


def restore_callable(fn, attributes):
    if attributes is not None and fn is not None:
        fn.__dict__.update(attributes)


def check_momentum(scheduler, optimizer):
    """A schedule that cycles momentum needs an optimizer with momentum (or Adam's betas)."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError(f"{scheduler}: cycle_momentum=True needs an optimizer with momentum or betas, and "
                         f"{type(optimizer).__name__} has neither; pass cycle_momentum=False")


def set_lr(group, lr):
    """Set a param group's rate. A Tensor rate is filled in place, as PyTorch does, since
    the optimizer and the user may hold that Tensor."""
    current = group["lr"]
    if isinstance(current, Tensor):
        current.fill_(float(lr))
    else:
        group["lr"] = lr


def set_momentum(group, value, use_beta1):
    """Set a param group's momentum, or (``use_beta1``) the first of Adam's betas."""
    if use_beta1:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value
