"""A model of many children whose registry counts how often it is listed: drawings
and the profiler name each op's module, and must walk a parent's children once, not
once per op (test_viz.py and test_profiler.py)."""
from collections import OrderedDict

import nn


class CountingModules(OrderedDict):
    """A module registry that counts how often its entries are listed."""
    listed = 0

    def items(self):
        type(self).listed += 1
        return super().items()


def wide_model(width):
    model = nn.Sequential(*[nn.Linear(2, 2) for _ in range(width)])
    object.__setattr__(model, "_modules", CountingModules(model._modules))
    CountingModules.listed = 0
    return model
