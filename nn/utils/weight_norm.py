"""The older weight normalization, as PyTorch's ``torch.nn.utils.weight_norm`` (deprecated
there in favour of nn.utils.parametrizations.weight_norm): the weight is replaced by the
parameters ``<name>_g`` (its norm) and ``<name>_v`` (its direction), and a forward pre-hook
sets ``module.<name>`` to ``g * v / ||v||`` before each call."""
import warnings

from autograd import no_grad

from ..parameter import Parameter, is_lazy
from .parametrizations import norm_except_dim, weight_norm_of

__all__ = ["WeightNorm", "remove_weight_norm", "weight_norm"]


class WeightNorm:
    """The forward pre-hook that computes ``module.<name>`` from ``<name>_g`` and ``<name>_v``."""

    def __init__(self, name, dim):
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module):
        return weight_norm_of(getattr(module, self.name + "_v"), getattr(module, self.name + "_g"), self.dim)

    @staticmethod
    def apply(module, name, dim):
        warnings.warn("nn.utils.weight_norm is deprecated in favor of nn.utils.parametrizations.weight_norm",
                      FutureWarning, stacklevel=3)
        if any(isinstance(hook, WeightNorm) and hook.name == name for hook in module._forward_pre_hooks):
            raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name!r}")
        weight = module._parameters.get(name)
        if weight is None:
            raise ValueError(f"weight_norm: {type(module).__name__} has no parameter named {name!r} (its "
                             f"parameters: {[k for k, p in module._parameters.items() if p is not None]})")
        if is_lazy(weight):
            raise ValueError("weight_norm: the module has uninitialized parameters; run a dry forward through it "
                             "before applying weight normalization")
        fn = WeightNorm(name, dim)
        with no_grad():
            g = norm_except_dim(weight.detach(), fn.dim)  # first, so a bad dim changes nothing
        del module._parameters[name]
        module.register_parameter(name + "_g", Parameter(g))
        module.register_parameter(name + "_v", Parameter(weight.detach()))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module):
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module, name="weight", dim=0):
    """Replace the parameter ``module.<name>`` by ``<name>_g`` and ``<name>_v``, recomputing it
    as ``g * v / ||v||`` before every call (norm over every axis but ``dim``; all of them for
    None or -1). Returns ``module``."""
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module, name="weight"):
    """Undo weight_norm: ``module.<name>`` becomes a parameter holding its current value."""
    return _remove_hook(module, WeightNorm, name, "weight_norm")


def _remove_hook(module, kind, name, what):
    """Remove the ``kind`` forward pre-hook on ``name`` (shared with nn.utils.spectral_norm)."""
    for i, hook in enumerate(module._forward_pre_hooks):
        if isinstance(hook, kind) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[i]
            return module
    raise ValueError(f"{what} of {name!r} not found in {type(module).__name__}")
