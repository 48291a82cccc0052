"""Checks of hyperparameter values that several optimizers share, with PyTorch's bounds and
messages that name the optimizer, the value and the rule (Optimizer._check_types has
already checked that each is a number, or a pair of numbers)."""


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
