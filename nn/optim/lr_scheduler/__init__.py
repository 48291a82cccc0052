"""Learning-rate schedulers with PyTorch's API, giving exactly PyTorch's sequences of rates.

A scheduler rewrites ``group['lr']`` of its optimizer's param groups. Call
``scheduler.step()`` once per epoch (or per batch for OneCycleLR and CyclicLR), after
``optimizer.step()``; ReduceLROnPlateau takes the monitored metric:
``scheduler.step(val_loss)``, and CosineAnnealingWarmRestarts may take a
fractional epoch. SequentialLR and ChainedScheduler combine schedulers of one
optimizer (a warm-up, then a decay). The formulas are PyTorch's own, including its
recursive (chainable) forms, so the floating-point results agree bit for bit.

``scheduler.step(epoch)`` (``step(metrics, epoch)`` for ReduceLROnPlateau) is
PyTorch's deprecated form, still accepted by PyTorch 2.13 and so here: it warns,
then jumps to that epoch, with the closed-form rate where the schedule has one.
"""
from .base import LRScheduler
from .composition import ChainedScheduler, SequentialLR
from .cosine import CosineAnnealingLR, CosineAnnealingWarmRestarts
from .cycles import CyclicLR, OneCycleLR
from .factors import ConstantLR, ExponentialLR, LinearLR, MultiStepLR, PolynomialLR, StepLR
from .functions import LambdaLR, MultiplicativeLR
from .plateau import ReduceLROnPlateau

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
           "ExponentialLR", "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "OneCycleLR",
           "CyclicLR", "ReduceLROnPlateau", "SequentialLR", "ChainedScheduler"]
