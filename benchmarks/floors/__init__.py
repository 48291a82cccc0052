"""The floors: each benchmark's arithmetic written by hand, forward and
backward, with no graph and no framework, on NumPy or CuPy (``xp``).

A floor is what the work costs with no engine at all, so ``topograd / floor``
is the engine's overhead. Floors keep parameters and gradients in dicts keyed by
PyTorch's state_dict names, so tests can check them against PyTorch and
topograd on the same weights: a floor that computed something else would make
every ratio a lie.
"""
