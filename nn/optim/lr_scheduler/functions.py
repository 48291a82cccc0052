"""Schedules given as a function of the epoch per param group: LambdaLR and MultiplicativeLR."""
from ..optimizer import Optimizer
from .base import LRScheduler, check_saved_state, restore_callable, saved_callable


class _FunctionPerGroup(LRScheduler):
    """What LambdaLR and MultiplicativeLR share: one function of the epoch per param
    group (or one for all), saved in state dicts as PyTorch saves them."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: expected an nn.optim Optimizer, got {type(optimizer).__name__}")
        groups = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != groups:
                raise ValueError(f"{name}: expected {groups} lr_lambdas (one per param group), got {len(lr_lambda)}")
            functions = list(lr_lambda)
        else:
            functions = [lr_lambda] * groups
        for fn in functions:
            if not callable(fn):
                raise TypeError(f"{name}: lr_lambda must be a function of the epoch, not {type(fn).__name__}")
        self.lr_lambdas = functions
        super().__init__(optimizer, last_epoch)

    def state_dict(self):
        """As PyTorch: plain functions and lambdas are not saved, callable objects keep their attributes."""
        state = {key: value for key, value in self.__dict__.items() if key not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [saved_callable(fn) for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict):
        check_saved_state(self, state_dict)
        saved = state_dict["lr_lambdas"]
        if len(saved) != len(self.lr_lambdas):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the saved state has {len(saved)} lr_lambdas "
                             f"but this scheduler has {len(self.lr_lambdas)}")
        self._set_attributes({k: v for k, v in state_dict.items() if k != "lr_lambdas"})
        for fn, attributes in zip(self.lr_lambdas, saved):
            restore_callable(fn, attributes)


class LambdaLR(_FunctionPerGroup):
    """lr = initial_lr * lr_lambda(epoch), with one function or one per param group."""

    def get_lr(self):
        return [base_lr * fn(self.last_epoch) for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_FunctionPerGroup):
    """Multiply the current rate by lr_lambda(epoch) at every step after the first."""

    def get_lr(self):
        if self._is_initial:
            return self._current_lrs()
        return [group["lr"] * fn(self.last_epoch) for fn, group in zip(self.lr_lambdas, self.optimizer.param_groups)]
