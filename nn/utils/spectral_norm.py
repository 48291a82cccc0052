"""The older spectral normalization, as PyTorch's ``torch.nn.utils.spectral_norm``: the weight
is kept as the parameter ``<name>_orig`` with the power iteration's vectors as the buffers
``<name>_u`` and ``<name>_v``, and a forward pre-hook sets ``module.<name>`` to
``weight_orig / sigma`` before each call (one power-iteration step per call in training mode).
PyTorch's conversion of its version-0 checkpoints (which stored ``<name>`` itself) is not done."""
from autograd import no_grad, randn

from ..functional import normalize
from ..layers.conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ..parameter import Parameter, is_lazy
from .parametrizations import weight_axis, weight_matrix
from .weight_norm import _remove_hook

__all__ = ["SpectralNorm", "remove_spectral_norm", "spectral_norm"]


class SpectralNorm:
    """The forward pre-hook that computes ``module.<name>`` from ``<name>_orig``, ``_u`` and ``_v``."""

    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        if n_power_iterations <= 0:
            raise ValueError(f"spectral_norm: n_power_iterations must be positive, got {n_power_iterations}")
        self.name, self.n_power_iterations, self.dim, self.eps = name, n_power_iterations, dim, eps

    def compute_weight(self, module, do_power_iteration):
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        matrix = weight_matrix(weight, self.dim)
        if do_power_iteration:
            with no_grad():
                for _ in range(self.n_power_iterations):
                    v.copy_(normalize(matrix.T @ u, axis=0, eps=self.eps))
                    u.copy_(normalize(matrix @ v, axis=0, eps=self.eps))
            # Copies: the graph keeps u and v for backward, and the next step changes the buffers
            u, v = u.clone(), v.clone()
        sigma = u @ (matrix @ v)
        return weight / sigma

    @staticmethod
    def apply(module, name, n_power_iterations, dim, eps):
        if any(isinstance(hook, SpectralNorm) and hook.name == name for hook in module._forward_pre_hooks):
            raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name!r}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        if name not in module._parameters:
            raise KeyError(f"spectral_norm: {type(module).__name__} has no parameter named {name!r} (its "
                           f"parameters: {list(module._parameters)})")
        weight = module._parameters[name]
        if weight is None:
            raise ValueError(f"spectral_norm cannot be applied: the parameter {name!r} is None")
        if is_lazy(weight):
            raise ValueError("spectral_norm: the module has uninitialized parameters; run a dry forward through "
                             "it before applying spectral normalization")
        weight_axis("spectral_norm", dim, weight.ndim)
        with no_grad():
            h, w = weight_matrix(weight, dim).shape
            u, v = (normalize(randn(n, dtype=weight.dtype, device=weight.device), axis=0, eps=eps) for n in (h, w))
        delattr(module, name)
        module.register_parameter(name + "_orig", weight)
        setattr(module, name, weight.detach())  # a plain attribute until the first forward, as in PyTorch
        module.register_buffer(name + "_u", u)
        module.register_buffer(name + "_v", v)
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module):
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        for suffix in ("", "_u", "_v", "_orig"):
            delattr(module, self.name + suffix)
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Replace the parameter ``module.<name>`` by ``<name>_orig`` and the buffers ``<name>_u`` and
    ``<name>_v``, recomputing it as ``weight_orig / sigma`` before every call; ``dim`` is the axis
    of the output channels (1 for the ConvTranspose layers, else 0, by default). Returns ``module``."""
    if dim is None:
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module, name="weight"):
    """Undo spectral_norm: ``module.<name>`` becomes a parameter holding its current value."""
    return _remove_hook(module, SpectralNorm, name, "spectral_norm")
