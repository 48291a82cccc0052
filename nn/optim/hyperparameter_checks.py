"""Checks of hyperparameters that several optimizers share, with PyTorch's bounds and
messages that name the optimizer, the value and the rule (Optimizer._check_group has
already checked the types of lr, eps, weight_decay, alpha and betas)."""
from .optimizer import _is_number


def check_numbers(name, hyper, keys):
    """TypeError unless each of ``keys`` in ``hyper`` is one real number (or a one-element
    Tensor): a string from a config file would otherwise fail later, in a comparison."""
    for key in keys:
        value = hyper[key]
        if not _is_number(value):
            raise TypeError(f"{name}: {key} must be a number, got {type(value).__name__} {value!r}"
                            + ("; convert it with float()" if isinstance(value, str) else ""))


def check_at_least_zero(name, hyper, keys):
    """ValueError for a negative (or NaN) value of any of ``keys``."""
    for key in keys:
        if not hyper[key] >= 0:
            label = "learning rate" if key == "lr" else key
            raise ValueError(f"{name}: invalid {label} {hyper[key]}; it must be >= 0")


def check_betas(name, betas):
    """Each of Adam's two averaging factors must lie in [0, 1)."""
    for i, beta in enumerate(betas):
        if not 0 <= beta < 1:
            raise ValueError(f"{name}: invalid beta at index {i}: {beta}; each beta must be in [0, 1)")


def check_adam_like(name, hyper):
    """The checks of Adam's family (Adamax, NAdam, RAdam): lr, eps, weight_decay, betas."""
    check_at_least_zero(name, hyper, ("lr", "eps", "weight_decay"))
    check_betas(name, hyper["betas"])
