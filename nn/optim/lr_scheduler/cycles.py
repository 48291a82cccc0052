"""Schedules stepped once per batch that also cycle momentum: OneCycleLR and CyclicLR."""
import math

from ..optimizer import Optimizer
from .base import (LRScheduler, check_momentum, check_number, check_saved_state, per_group, restore_callable,
                   saved_callable, set_lr, set_momentum)


class OneCycleLR(LRScheduler):
    """The 1cycle policy: the rate warms up from max_lr/div_factor to max_lr, then anneals to
    max_lr/(div_factor*final_div_factor); momentum (or Adam's beta1) cycles the other way.
    Step it once per batch, ``total_steps`` (or ``epochs * steps_per_epoch``) times."""

    step_per_batch = True  # nn.fit steps it after every batch, not every epoch

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
                 div_factor=25.0, final_div_factor=1e4, three_phase=False, last_epoch=-1):
        # Everything is checked before the param groups change.
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"OneCycleLR: expected an nn.optim Optimizer, got {type(optimizer).__name__}")
        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f"OneCycleLR: total_steps must be a positive integer, got {total_steps!r}")
        elif epochs is not None and steps_per_epoch is not None:
            for label, value in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
                if not isinstance(value, int) or value <= 0:
                    raise ValueError(f"OneCycleLR: {label} must be a positive integer, got {value!r}")
            total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("OneCycleLR: give total_steps, or both epochs and steps_per_epoch")
        if not isinstance(pct_start, (int, float)) or not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: pct_start must be a number in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        max_lrs = per_group("OneCycleLR", "max_lr", optimizer, max_lr)
        for label, value in (("div_factor", div_factor), ("final_div_factor", final_div_factor)):
            check_number("OneCycleLR", label, value)
            if not value > 0:
                raise ValueError(f"OneCycleLR: {label} must be positive, got {value!r}")
        if cycle_momentum:
            check_momentum("OneCycleLR", optimizer)
            max_momentums = per_group("OneCycleLR", "max_momentum", optimizer, max_momentum)
            base_momentums = per_group("OneCycleLR", "base_momentum", optimizer, base_momentum)
        if last_epoch != -1:
            missing = [i for i, g in enumerate(optimizer.param_groups) if "max_lr" not in g or "min_lr" not in g]
            if missing:
                raise KeyError(f"OneCycleLR: param group(s) {missing} lack 'max_lr'/'min_lr', which resuming "
                               f"with last_epoch={last_epoch} needs; load the optimizer's state_dict first")

        self.optimizer = optimizer
        self.total_steps = total_steps
        self._anneal_func_type = anneal_strategy
        if three_phase:
            self._schedule_phases = [
                dict(end_step=float(pct_start * total_steps) - 1, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=float(2 * pct_start * total_steps) - 2, start_lr="max_lr", end_lr="initial_lr",
                     start_momentum="base_momentum", end_momentum="max_momentum"),
                dict(end_step=total_steps - 1, start_lr="initial_lr", end_lr="min_lr",
                     start_momentum="max_momentum", end_momentum="max_momentum"),
            ]
        else:
            self._schedule_phases = [
                dict(end_step=float(pct_start * total_steps) - 1, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=total_steps - 1, start_lr="max_lr", end_lr="min_lr",
                     start_momentum="base_momentum", end_momentum="max_momentum"),
            ]
        self._phase_at(last_epoch + 1)  # the constructor's own step, checked before the groups change
        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = "betas" in optimizer.defaults
            if last_epoch == -1:
                for top, base, group in zip(max_momentums, base_momentums, optimizer.param_groups):
                    set_momentum(group, top, self.use_beta1)
                    group["max_momentum"] = top
                    group["base_momentum"] = base
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _phase_at(self, step_num):
        """The phase that step ``step_num`` falls in, and the step where that phase starts."""
        start_step = 0.0
        for i, phase in enumerate(self._schedule_phases):
            if step_num <= phase["end_step"] or i == len(self._schedule_phases) - 1:
                break
            start_step = phase["end_step"]
        # A phase zero steps long has no defined rate: PyTorch divides by zero. It happens when
        # pct_start * total_steps == 1 (the warm-up, met by the first step), or when the last
        # phase starts where it ends, at total_steps - 1 (e.g. pct_start == 1; met by step
        # total_steps).
        if phase["end_step"] == start_step:
            raise ValueError(f"OneCycleLR: with total_steps={self.total_steps}, the pct_start given makes the "
                             f"phase holding step {step_num} zero steps long, so its rate is undefined; choose "
                             "a pct_start that leaves every phase at least one step long")
        return phase, start_step

    def get_lr(self):
        step_num = self.last_epoch
        self._check_group_count(len(self.base_lrs))  # before the momenta change
        if step_num > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step_num} times, but total_steps is {self.total_steps}; "
                             "make total_steps (or epochs * steps_per_epoch) cover the whole run")
        phase, start_step = self._phase_at(step_num)
        pct = (step_num - start_step) / (phase["end_step"] - start_step)
        lrs = []
        for group in self.optimizer.param_groups:
            lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
            if self.cycle_momentum:
                momentum = self._anneal(group[phase["start_momentum"]], group[phase["end_momentum"]], pct)
                set_momentum(group, momentum, self.use_beta1)
        return lrs


class CyclicLR(LRScheduler):
    """The cyclical learning rate policy: the rate rises from ``base_lr`` to ``max_lr`` over
    ``step_size_up`` steps and falls back over ``step_size_down``, with the cycle's height
    scaled by ``mode`` ("triangular": constant; "triangular2": halved each cycle;
    "exp_range": ``gamma ** step``) or by ``scale_fn``. Momentum (or Adam's beta1) cycles
    the other way. Step it once per batch."""

    step_per_batch = True  # nn.fit steps it after every batch, not every epoch
    _SCALINGS = {"triangular": "cycle", "triangular2": "cycle", "exp_range": "iterations"}

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None, mode="triangular",
                 gamma=1.0, scale_fn=None, scale_mode="cycle", cycle_momentum=True, base_momentum=0.8,
                 max_momentum=0.9, last_epoch=-1):
        # Everything is checked before the param groups change.
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"CyclicLR: expected an nn.optim Optimizer, got {type(optimizer).__name__}")
        base_lrs = per_group("CyclicLR", "base_lr", optimizer, base_lr)
        max_lrs = per_group("CyclicLR", "max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        if up <= 0 or down < 0:
            raise ValueError(f"CyclicLR: step_size_up must be positive and step_size_down non-negative, "
                             f"got {step_size_up!r} and {step_size_down!r}")
        if scale_fn is None and mode not in self._SCALINGS:
            raise ValueError(f"CyclicLR: mode must be one of {sorted(self._SCALINGS)} (or pass scale_fn), "
                             f"got {mode!r}")
        if scale_fn is not None and not callable(scale_fn):
            raise TypeError(f"CyclicLR: scale_fn must be a function of the cycle or step, got "
                            f"{type(scale_fn).__name__} {scale_fn!r}; to pick a built-in scaling, pass it as mode=")
        check_number("CyclicLR", "gamma", gamma)
        if scale_fn is not None and scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"CyclicLR: scale_mode must be 'cycle' or 'iterations', got {scale_mode!r}")
        if cycle_momentum:
            check_momentum("CyclicLR", optimizer)
            base_momentums = per_group("CyclicLR", "base_momentum", optimizer, base_momentum)
            max_momentums = per_group("CyclicLR", "max_momentum", optimizer, max_momentum)

        self.optimizer = optimizer
        if last_epoch == -1:
            for group, lr in zip(optimizer.param_groups, base_lrs):
                set_lr(group, lr)
        self.max_lrs = max_lrs
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode if scale_fn is not None else self._SCALINGS[mode]
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = "betas" in optimizer.defaults
            self.base_momentums = base_momentums
            self.max_momentums = max_momentums
            if last_epoch == -1:
                for group, top, bottom in zip(optimizer.param_groups, max_momentums, base_momentums):
                    set_momentum(group, top, self.use_beta1)
                    group["max_momentum"] = top
                    group["base_momentum"] = bottom
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x):
        """The height of the cycle at ``x`` (the cycle's number, or the step, per scale_mode)."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def get_lr(self):
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle  # how far into this cycle, 0 to 1
        rise = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [base_lr + (max_lr - base_lr) * rise * scale for base_lr, max_lr in zip(self.base_lrs, self.max_lrs)]
        self._check_group_count(len(lrs))  # before the momenta change
        if self.cycle_momentum:
            for group, bottom, top in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                set_momentum(group, top - (top - bottom) * rise * scale, self.use_beta1)
        return lrs

    def state_dict(self):
        """As PyTorch: a plain function or lambda given as scale_fn is not saved, a callable
        object keeps its attributes."""
        state = super().state_dict()
        fn = state.pop("_scale_fn_custom")
        state["_scale_fn_custom"] = saved_callable(fn)
        return state

    def load_state_dict(self, state_dict):
        check_saved_state(self, state_dict)
        attributes = state_dict.get("_scale_fn_custom")
        self._set_attributes({k: v for k, v in state_dict.items() if k != "_scale_fn_custom"})
        restore_callable(self._scale_fn_custom, attributes)
