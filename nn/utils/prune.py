"""Pruning, as PyTorch's ``torch.nn.utils.prune``: a pruned parameter ``<name>`` is replaced
by the parameter ``<name>_orig`` (the same Parameter object, so an optimizer built before
still trains it) and the buffer ``<name>_mask`` (0 where pruned, 1 elsewhere), and a forward
pre-hook sets ``module.<name>`` to ``<name>_mask * <name>_orig`` before each call, so the
gradient reaching ``<name>_orig`` is the masked one.

Pruning a parameter again composes the masks: the new method sees only what the earlier
ones left (the unpruned entries for an unstructured method, the channels that are not all
zero for a structured one), and its ``amount`` counts from there. ``remove`` makes the
pruning permanent: ``<name>`` becomes a Parameter again, holding the pruned values.

Where values tie (equal magnitudes or channel norms), topk's rule decides: the lower index
first, so L1Unstructured prunes the first of equal entries and LnStructured keeps the first
of equal channels. PyTorch leaves ties to its sorting kernel, so there the masks may differ
from PyTorch's (their counts do not).
"""
import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable

from autograd import Tensor, concat, linalg, no_grad, ones_like, rand, rand_like, topk, zeros_like

from ..parameter import Parameter, is_lazy

__all__ = ["BasePruningMethod", "CustomFromMask", "Identity", "L1Unstructured", "LnStructured", "PruningContainer",
           "RandomStructured", "RandomUnstructured", "custom_from_mask", "global_unstructured", "identity",
           "is_pruned", "l1_unstructured", "ln_structured", "random_structured", "random_unstructured", "remove"]


class BasePruningMethod(ABC):
    """A pruning method: subclasses set ``PRUNING_TYPE`` ("unstructured", "structured" with a
    ``dim`` attribute, or "global") and define ``compute_mask``. An applied method is also
    the forward pre-hook that recomputes the pruned tensor."""
    PRUNING_TYPE = None
    _tensor_name = None  # the pruned parameter's name, set by apply

    def __call__(self, module, inputs):
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t, default_mask):
        """The mask for ``t`` (the importance scores), pruning on top of ``default_mask``
        (the earlier pruning, ones at first): entries 0 there stay 0."""

    def apply_mask(self, module):
        """``<name>_mask * <name>_orig``: the pruned tensor, differentiable in ``<name>_orig``."""
        if self._tensor_name is None:
            raise RuntimeError(f"{type(self).__name__}.apply_mask: this method was not applied to a module; "
                               "prune through apply() (or the prune functions) first")
        mask = getattr(module, self._tensor_name + "_mask")
        orig = getattr(module, self._tensor_name + "_orig")
        return mask.astype(orig.dtype, copy=False) * orig

    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        """Prune ``module.<name>`` with ``cls(*args, **kwargs)``, scoring its entries by
        ``importance_scores`` (the tensor itself by default). A parameter pruned before gets a
        PruningContainer holding every method applied to it. Returns the hook now in place.
        Nothing changes when the arguments are refused."""
        previous = _pruning_hook(module, name)
        method = cls(*args, **kwargs)
        method._tensor_name = name
        if previous is None:
            orig = _parameter_to_prune(module, name)
            default_mask = ones_like(orig)
        else:
            orig = getattr(module, name)  # the pruned tensor, as PyTorch scores it
            default_mask = getattr(module, name + "_mask").detach().clone()
        scores = _checked_scores(importance_scores, orig, f"parameter {name!r} of {type(module).__name__}")
        with no_grad():
            if previous is None:
                mask = method.compute_mask(scores.detach(), default_mask=default_mask)
            else:
                mask = _combine_masks(method, scores.detach(), default_mask)
        # The mask is known: only now is the module changed.
        if previous is None:
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
        else:
            _unregister(module, previous)
            if isinstance(previous, PruningContainer):
                previous.add_pruning_method(method)
                method = previous
            else:
                method = PruningContainer(previous, method)
        module.register_buffer(name + "_mask", mask)
        setattr(module, name, method.apply_mask(module))
        module.register_forward_pre_hook(method)
        return method

    def prune(self, t, default_mask=None, importance_scores=None):
        """``t`` times the mask this method computes from ``importance_scores`` (``t`` itself
        by default) on top of ``default_mask`` (ones by default); differentiable in ``t``."""
        scores = _checked_scores(importance_scores, t, "tensor t")
        default_mask = ones_like(t) if default_mask is None else default_mask
        with no_grad():
            mask = self.compute_mask(scores.detach(), default_mask=default_mask)
        return t * mask

    def remove(self, module):
        """Make the pruning permanent: ``<name>`` becomes the ``<name>_orig`` Parameter again,
        now holding the pruned values; ``<name>_orig`` and ``<name>_mask`` are dropped."""
        if self._tensor_name is None:
            raise RuntimeError(f"{type(self).__name__}.remove: this method was not applied to a module, so "
                               "there is no pruning to remove")
        name = self._tensor_name
        with no_grad():
            pruned = self.apply_mask(module)
        orig = module._parameters[name + "_orig"]
        orig.data = pruned.data  # the same Parameter object, as PyTorch: an optimizer holding it goes on
        module.__dict__.pop(name, None)
        del module._parameters[name + "_orig"]
        del module._buffers[name + "_mask"]
        setattr(module, name, orig)


class PruningContainer(BasePruningMethod):
    """The pruning methods applied, in order, to one parameter. Its mask is the latest
    method's, computed on what the earlier ones left (see _combine_masks)."""

    def __init__(self, *methods):
        self._pruning_methods = ()
        if methods:
            self._tensor_name = getattr(methods[0], "_tensor_name", None)
        for method in methods:
            self.add_pruning_method(method)

    def add_pruning_method(self, method):
        if not isinstance(method, BasePruningMethod):
            raise TypeError(f"PruningContainer: {type(method).__name__} is not a BasePruningMethod subclass")
        if method._tensor_name != self._tensor_name:
            raise ValueError("Can only add pruning methods acting on the parameter named "
                             f"'{self._tensor_name}' to PruningContainer {self}. Found '{method._tensor_name}'")
        self._pruning_methods += (method,)

    def __len__(self):
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, index):
        return self._pruning_methods[index]

    def compute_mask(self, t, default_mask):
        if not self._pruning_methods:
            raise RuntimeError("PruningContainer.compute_mask: the container holds no pruning method; "
                               "add one with add_pruning_method")
        return _combine_masks(self._pruning_methods[-1], t, default_mask)


def _combine_masks(method, t, mask):
    """``mask`` with ``method`` applied to the part of ``t`` it has not pruned: the entries
    where it is 1 (unstructured), the channels along ``method.dim`` not all 0 (structured),
    or everything (global)."""
    kind = method.PRUNING_TYPE
    if kind == "unstructured":
        index = mask == 1
    elif kind == "structured":
        if not hasattr(method, "dim"):
            raise AttributeError('Pruning methods of PRUNING_TYPE "structured" need to have the attribute `dim` '
                                 "defined.")
        dim = _checked_dim(t, method.dim)
        kept_channels = mask.sum(axis=tuple(d for d in range(t.ndim) if d != dim)) != 0
        index = tuple(kept_channels if d == dim else slice(None) for d in range(t.ndim))
    elif kind == "global":
        index = (slice(None),) * t.ndim
    else:
        raise ValueError(f"Unrecognized PRUNING_TYPE {kind!r} of {type(method).__name__}; use 'unstructured', "
                         "'structured' or 'global'")
    combined = mask.astype(t.dtype)
    combined[index] = method.compute_mask(t[index], default_mask=mask[index]).astype(combined.dtype, copy=False)
    return combined


class Identity(BasePruningMethod):
    """Prunes nothing: sets up the reparametrization with a mask of ones."""
    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        return default_mask

    @classmethod
    def apply(cls, module, name):
        return super().apply(module, name)


class _ByScore(BasePruningMethod):
    """Prunes the ``amount`` entries (a count, or a fraction of the entries) of lowest score."""
    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _check_amount(amount)
        self.amount = amount

    def _scores(self, t):
        raise NotImplementedError  # (each method's own)

    def compute_mask(self, t, default_mask):
        count = _count_to_prune(self.amount, t.size)
        mask = default_mask.clone()
        if count:
            mask = _pruned_entries(mask, topk(self._scores(t).reshape(-1), count, largest=False).indices)
        return mask


class RandomUnstructured(_ByScore):
    """Prunes ``amount`` entries (a count, or a fraction of the entries) chosen at random."""

    def _scores(self, t):
        return rand_like(t)

    @classmethod
    def apply(cls, module, name, amount):
        return super().apply(module, name, amount=amount)


class L1Unstructured(_ByScore):
    """Prunes the ``amount`` entries (a count, or a fraction) of smallest absolute value."""

    def _scores(self, t):
        return t.abs()

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class _ByChannelScore(BasePruningMethod):
    """Prunes the ``amount`` channels (a count, or a fraction) along ``dim`` of lowest score."""
    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim=-1):
        _check_amount(amount)
        self.amount = amount
        self.dim = dim

    def _channel_scores(self, t):
        raise NotImplementedError  # (each method's own), one per channel along dim

    def compute_mask(self, t, default_mask):
        channels, count = _structured_counts(t, self.amount, self.dim)
        if not count:
            return default_mask
        kept = topk(self._channel_scores(t), channels - count).indices
        return _channel_mask(t, self.dim, kept) * default_mask.astype(t.dtype, copy=False)


class RandomStructured(_ByChannelScore):
    """Prunes ``amount`` channels (a count, or a fraction) along ``dim``, chosen at random."""

    def _channel_scores(self, t):
        return rand(t.shape[self.dim], device=t.device)

    @classmethod
    def apply(cls, module, name, amount, dim=-1):
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(_ByChannelScore):
    """Prunes the ``amount`` channels (a count, or a fraction) along ``dim`` of smallest
    L``n`` norm (``n`` a number, inf or -inf included, or "fro" for 2)."""

    def __init__(self, amount, n, dim=-1):
        super().__init__(amount, dim)
        self.n = n

    def _channel_scores(self, t):
        return _channel_norms(t, self.n, self.dim)

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):
        return super().apply(module, name, amount=amount, n=n, dim=dim, importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes where the given ``mask`` (of the parameter's shape) is 0."""
    PRUNING_TYPE = "global"

    def __init__(self, mask):
        if not isinstance(mask, Tensor):
            raise TypeError(f"CustomFromMask: mask must be a Tensor, not {type(mask).__name__}")
        self.mask = mask

    def compute_mask(self, t, default_mask):
        if default_mask.shape != self.mask.shape:
            raise ValueError(f"custom_from_mask: the mask has shape {self.mask.shape} but the tensor pruned has "
                             f"shape {default_mask.shape}; pass a mask of the parameter's shape")
        return default_mask * self.mask.astype(default_mask.dtype, copy=False)

    @classmethod
    def apply(cls, module, name, mask):
        return super().apply(module, name, mask=mask)


# --- the functions -------------------------------------------------------------------------------
def identity(module, name):
    """Reparametrize ``module.<name>`` with a mask of ones (prune nothing). Returns ``module``."""
    Identity.apply(module, name)
    return module


def random_unstructured(module, name, amount):
    """Prune ``amount`` entries (an int count or a float fraction) of ``module.<name>`` at random."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name, amount, importance_scores=None):
    """Prune the ``amount`` entries of ``module.<name>`` with the smallest absolute
    ``importance_scores`` (the parameter itself by default)."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name, amount, dim):
    """Prune ``amount`` whole channels along ``dim`` of ``module.<name>``, at random."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    """Prune the ``amount`` channels along ``dim`` of ``module.<name>`` whose
    ``importance_scores`` (the parameter by default) have the smallest L``n`` norm."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module, name, mask):
    """Prune ``module.<name>`` where ``mask`` is 0."""
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs):
    """Prune the ``(module, name)`` pairs of ``parameters`` together, as if they were one
    flat tensor: ``pruning_method(**kwargs)`` (an unstructured method, such as L1Unstructured
    with ``amount=``) chooses among all their unpruned entries, scored by
    ``importance_scores[(module, name)]`` where given. Each gets a CustomFromMask."""
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    parameters = list(parameters)
    if not parameters:
        raise ValueError("global_unstructured(): no parameters to prune; pass (module, name) pairs")
    importance_scores = {} if importance_scores is None else importance_scores
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    method = pruning_method(**kwargs)
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError('Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. Found method '
                        f"{pruning_method} of type {method.PRUNING_TYPE}")
    for module, name in parameters:  # checked before any of them is pruned
        if _pruning_hook(module, name) is None:
            _parameter_to_prune(module, name)
    tensors = [getattr(module, name) for module, name in parameters]
    scores = [_checked_scores(importance_scores.get((module, name)), tensor,
                              f"parameter {name!r} of {type(module).__name__}")
              for (module, name), tensor in zip(parameters, tensors)]
    with no_grad():
        flat_scores = concat([s.detach().reshape(-1) for s in scores])
        flat_mask = concat([_current_mask(module, name, tensor).reshape(-1)
                            for (module, name), tensor in zip(parameters, tensors)])
        flat_mask = _combine_masks(method, flat_scores, flat_mask)
    start = 0
    for (module, name), tensor in zip(parameters, tensors):
        custom_from_mask(module, name, mask=flat_mask[start:start + tensor.size].reshape(tensor.shape))
        start += tensor.size


def remove(module, name):
    """Make the pruning of ``module.<name>`` permanent (see BasePruningMethod.remove)."""
    hook = _pruning_hook(module, name)
    if hook is None:
        raise ValueError(f"Parameter '{name}' of module {type(module).__name__} has to be pruned before pruning "
                         "can be removed")
    hook.remove(module)
    _unregister(module, hook)
    return module


def is_pruned(module):
    """Whether ``module`` or any of its submodules holds a pruning hook."""
    return any(isinstance(hook, BasePruningMethod)
               for _, submodule in module.named_modules() for hook in submodule._forward_pre_hooks)


# --- helpers ----------------------------------------------------------------------------------------
def _pruning_hook(module, name):
    """The pruning hook (a method or a PruningContainer) on ``module.<name>``, or None."""
    return next((hook for hook in module._forward_pre_hooks
                 if isinstance(hook, BasePruningMethod) and hook._tensor_name == name), None)


def _unregister(module, hook):
    hooks = module._forward_pre_hooks
    del hooks[next(i for i, h in enumerate(hooks) if h is hook)]


def _current_mask(module, name, tensor):
    """The mask of ``module.<name>`` if it was pruned, else ones."""
    return getattr(module, name + "_mask") if hasattr(module, name + "_mask") else ones_like(tensor)


def _parameter_to_prune(module, name):
    param = module._parameters.get(name)
    if param is None and hasattr(module, name):
        raise TypeError(f"prune: {name!r} of {type(module).__name__} is a {type(getattr(module, name)).__name__}, "
                        "not a parameter; only parameters can be pruned")
    if not isinstance(param, Parameter):
        present = [k for k, p in module._parameters.items() if p is not None]
        raise AttributeError(f"prune: {type(module).__name__} has no parameter named {name!r} to prune (its "
                             f"parameters: {present})")
    if is_lazy(param):
        raise ValueError("prune: the module has uninitialized parameters; run a dry forward through it before "
                         "pruning")
    for taken in (name + "_orig", name + "_mask"):
        if hasattr(module, taken):
            raise KeyError(f"prune: {type(module).__name__} already has an attribute {taken!r}, where pruning "
                           f"{name!r} would keep its state; rename it first")
    return param


def _checked_scores(scores, t, what):
    if scores is None:
        return t
    if not isinstance(scores, Tensor):
        raise TypeError(f"importance_scores must be a Tensor, not {type(scores).__name__}")
    if scores.shape != t.shape:
        raise ValueError(f"importance_scores should have the same shape as {what}, got {scores.shape} vs "
                         f"{t.shape}")
    return scores


def _check_amount(amount):
    """PyTorch's checks, with its messages: an int count >= 0 or a float fraction in [0, 1]."""
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    in_range = amount >= 0 if isinstance(amount, numbers.Integral) else 0.0 <= float(amount) <= 1.0
    if not in_range:  # (NaN included, which PyTorch lets through to fail later)
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a non-negative integer")


def _count_to_prune(amount, size):
    """The number of entries (or channels) to prune out of ``size``."""
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(f"amount={amount} should be smaller than the number of parameters to prune={size}")
        return int(amount)
    return round(amount * size)


def _checked_dim(t, dim):
    if not -t.ndim <= dim < t.ndim:
        raise IndexError(f"Invalid index {dim} for tensor of size {t.shape}; dim must be in "
                         f"[{-t.ndim}, {t.ndim - 1}]")
    return dim % t.ndim


def _structured_counts(t, amount, dim):
    """The number of channels along ``dim`` and how many of them to prune."""
    if t.ndim <= 1:
        raise ValueError("Structured pruning can only be applied to multidimensional tensors. Found tensor of "
                         f"shape {t.shape} with {t.ndim} dims")
    channels = t.shape[_checked_dim(t, dim)]
    return channels, _count_to_prune(amount, channels)


def _pruned_entries(mask, flat_indices):
    """``mask`` (changed in place) with 0 at ``flat_indices``, its row-major positions."""
    flat = mask.reshape(-1)
    flat[flat_indices] = 0
    return flat.reshape(mask.shape)


def _channel_mask(t, dim, kept):
    """Zeros of ``t``'s shape, with ones on the ``kept`` channels along ``dim``."""
    mask = zeros_like(t)
    mask[tuple(kept if d == dim % t.ndim else slice(None) for d in range(t.ndim))] = 1
    return mask


def _channel_norms(t, n, dim):
    """The L``n`` norm of each channel of ``t`` along ``dim``."""
    if n == "fro":
        n = 2  # the Frobenius norm of a channel is its entries' 2-norm
    if not isinstance(n, numbers.Real):
        raise ValueError(f"ln_structured: n must be a number (1, 2, math.inf...) or 'fro', not {n!r}")
    dim = dim % t.ndim
    return linalg.vector_norm(t, n, axis=tuple(d for d in range(t.ndim) if d != dim))
