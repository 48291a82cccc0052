"""Cosine annealing, once (CosineAnnealingLR) or with warm restarts (SGDR)."""
import math

from .base import LRScheduler, check_number


class CosineAnnealingLR(LRScheduler):
    """Cosine from the initial rate down to ``eta_min`` over ``T_max`` epochs, then back up,
    with PyTorch's recursive formula (which also follows rates changed from outside)."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        check_number("CosineAnnealingLR", "T_max", T_max)
        check_number("CosineAnnealingLR", "eta_min", eta_min)
        if not T_max > 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be positive, got {T_max!r}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        epoch, T_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and epoch > 0:
            return [eta_min + (base_lr - eta_min) * (1 + math.cos(epoch * math.pi / T_max)) / 2
                    for base_lr in self.base_lrs]
        if (epoch - 1 - T_max) % (2 * T_max) == 0:
            return [group["lr"] + (base_lr - eta_min) * (1 - math.cos(math.pi / T_max)) / 2
                    for base_lr, group in zip(self.base_lrs, groups)]
        return [(1 + math.cos(math.pi * epoch / T_max)) / (1 + math.cos(math.pi * (epoch - 1) / T_max))
                * (group["lr"] - eta_min) + eta_min for group in groups]

    def _get_closed_form_lr(self):
        return [self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine from the initial rate down to ``eta_min`` over ``T_0`` epochs, then a restart,
    each period ``T_mult`` times the last (SGDR). ``step(epoch)`` may take a fractional
    epoch, to step once per batch: ``scheduler.step(epoch + i / batches)``."""

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        if not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(f"CosineAnnealingWarmRestarts: T_0 must be a positive integer, got {T_0!r}")
        if not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"CosineAnnealingWarmRestarts: T_mult must be an integer >= 1, got {T_mult!r}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(f"CosineAnnealingWarmRestarts: eta_min must be a number, got {eta_min!r}")
        self.T_0 = T_0
        self.T_i = T_0          # the current period
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch  # epochs since the last restart
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return self._rates(self.T_cur, self.T_i)

    def _rates(self, T_cur, T_i):
        return [self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * T_cur / T_i)) / 2
                for base_lr in self.base_lrs]

    def step(self, epoch=None):
        """One epoch on, or (not deprecated here, as in PyTorch) to ``epoch``, which may be fractional."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            T_cur, T_i = self.T_cur + 1, self.T_i
            if T_cur >= T_i:
                T_cur, T_i = T_cur % T_i, T_i * self.T_mult
        elif epoch < 0:
            raise ValueError(f"CosineAnnealingWarmRestarts.step: epoch must be non-negative, got {epoch!r}")
        elif epoch < self.T_0:
            T_cur, T_i = epoch, self.T_0
        elif self.T_mult == 1:
            T_cur, T_i = epoch % self.T_0, self.T_0
        else:  # restarts so far: the n with T_0 * (T_mult**n - 1) / (T_mult - 1) <= epoch
            n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
            T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
            T_i = self.T_0 * self.T_mult ** n
        self._write_lrs(self._rates(T_cur, T_i))  # first: a refused write leaves the schedule as it was
        self.T_cur, self.T_i = T_cur, T_i
        self.last_epoch = math.floor(epoch)
        # No self._step_count += 1: PyTorch's step here never counts, so its _step_count
        # stays 0 from the constructor on, and a state dict keeps that 0 (this step has no
        # step-order warning to count for).
