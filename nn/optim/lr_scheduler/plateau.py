"""ReduceLROnPlateau: lower the rate when a monitored metric stops improving."""
import math
import warnings

from ..optimizer import Optimizer
from .base import EPOCH_DEPRECATION_WARNING, LRScheduler, check_number, check_saved_state, set_lr


class ReduceLROnPlateau(LRScheduler):
    """Multiply the rate by ``factor`` when a metric has not improved for ``patience`` epochs:
    ``scheduler.step(val_loss)``."""

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0, eps=1e-8):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau: expected an nn.optim Optimizer, got {type(optimizer).__name__}")
        for name, value in (("factor", factor), ("patience", patience), ("threshold", threshold),
                            ("cooldown", cooldown), ("eps", eps)):
            check_number("ReduceLROnPlateau", name, value)
        for value in min_lr if isinstance(min_lr, (list, tuple)) else (min_lr,):
            check_number("ReduceLROnPlateau", "min_lr", value)
        if not 0 <= factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be in [0, 1), got {factor!r}")
        if patience < 0 or cooldown < 0:
            raise ValueError(f"ReduceLROnPlateau: patience and cooldown must be >= 0, got {patience}, {cooldown}")
        groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != groups:
                raise ValueError(f"ReduceLROnPlateau: expected {groups} min_lrs (one per param group), "
                                 f"got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * groups
        self._init_is_better(mode, threshold, threshold_mode)
        self.optimizer = optimizer
        self.factor = factor
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = self._lrs_now()
        self._reset()

    def _reset(self):
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def step(self, metrics, epoch=None):
        """Record this epoch's metric (a number or a one-element tensor) and maybe lower the rates.
        ``epoch`` (deprecated, see the docstring of nn.optim.lr_scheduler) sets ``last_epoch`` instead of counting."""
        if isinstance(metrics, str) or not hasattr(metrics, "__float__"):  # float() would parse a str
            raise TypeError(f"ReduceLROnPlateau.step: metrics must be the monitored value, a number or a "
                            f"one-element Tensor (as in scheduler.step(val_loss)), got {type(metrics).__name__} "
                            f"{metrics!r}")
        current = float(metrics)
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        # Counted aside and kept only once the rates are cut (or need no cut): a refused cut
        # (min_lrs no longer one per param group) leaves this epoch uncounted, to step again.
        best, bad_epochs, cooldown_counter = self.best, self.num_bad_epochs, self.cooldown_counter
        if self._is_better(current, best):
            best = current
            bad_epochs = 0
        else:
            bad_epochs += 1
        if cooldown_counter > 0:
            cooldown_counter -= 1
            bad_epochs = 0  # bad epochs during the cooldown do not count
        if bad_epochs > self.patience:
            self._reduce_lr()
            cooldown_counter = self.cooldown
            bad_epochs = 0
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        self.best, self.num_bad_epochs, self.cooldown_counter = best, bad_epochs, cooldown_counter
        self._last_lr = self._lrs_now()

    def _reduce_lr(self):
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau: the optimizer now has {len(groups)} param groups but "
                                   f"min_lr lists {len(self.min_lrs)}; set scheduler.min_lrs to one per group")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                set_lr(group, new_lr)

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def _is_better(self, a, best):
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def _init_is_better(self, mode, threshold, threshold_mode):
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode

    def load_state_dict(self, state_dict):
        check_saved_state(self, state_dict)
        # checks the three, then sets them
        self._init_is_better(state_dict["mode"], state_dict["threshold"], state_dict["threshold_mode"])
        self._set_attributes(state_dict)
