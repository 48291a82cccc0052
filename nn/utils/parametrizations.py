"""Weight and spectral normalization as parametrizations (see nn.utils.parametrize), as PyTorch's
``torch.nn.utils.parametrizations``, with its state_dict keys: ``weight_norm`` keeps the weight
as ``parametrizations.weight.original0`` (its norm g) and ``original1`` (its direction v);
``spectral_norm`` keeps it as ``parametrizations.weight.original`` and the power iteration's
vectors as the buffers ``parametrizations.weight.0._u`` and ``._v``.

The helpers here (``weight_axis``, ``norm_except_dim``, ``weight_norm_of``, ``weight_matrix``) are shared with the
older forward-pre-hook versions in nn.utils.weight_norm and nn.utils.spectral_norm."""
from autograd import Tensor, no_grad, randn
from autograd.linalg import vector_norm
from autograd.ops.rearrange import moveaxis

from ..functional import normalize
from ..layers.conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ..module import Module
from . import parametrize

__all__ = ["spectral_norm", "weight_norm"]


def weight_axis(op, dim, ndim):
    """``dim`` as an axis of a weight of ``ndim`` dimensions, or an IndexError naming ``op``."""
    if not -ndim <= dim < ndim:
        raise IndexError(f"{op}: dim {dim} is out of range for a weight of {ndim} dimensions (expected one in "
                         f"[{-ndim}, {ndim - 1}])")
    return dim % ndim


def norm_except_dim(v, dim):
    """The 2-norm of ``v`` over every axis but ``dim``, keeping them as size 1; as PyTorch's
    norm_except_dim, ``dim=-1`` (what ``dim=None`` becomes) is the norm of the whole tensor, 0-d."""
    if dim == -1:
        return vector_norm(v)
    dim = weight_axis("weight_norm", dim, v.ndim)
    return vector_norm(v, axis=tuple(a for a in range(v.ndim) if a != dim), keepdims=True)


def weight_norm_of(v, g, dim):
    """``v`` rescaled to the norm ``g`` along ``dim`` (see norm_except_dim): PyTorch's _weight_norm."""
    return v * (g / norm_except_dim(v, dim))


def weight_matrix(weight, dim):
    """``weight`` as a matrix whose rows run along ``dim``, for the spectral norm's power iteration."""
    if dim != 0:
        weight = moveaxis(weight, dim, 0)
    return weight.reshape(weight.shape[0], -1)


class _WeightNorm(Module):
    """weight = g * v / ||v||, the norm over every axis but ``dim`` (all of them for None)."""

    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_norm_of(weight_v, weight_g, self.dim)

    def right_inverse(self, weight):
        return norm_except_dim(weight, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """Parametrize ``module.<name>`` as ``g * v / ||v||`` (Salimans & Kingma, 2016), g and v
    (``parametrizations.<name>.original0`` and ``original1``) trained in its place; the norm is
    taken over every axis but ``dim`` (over all of them for ``dim=None`` or, as in PyTorch, -1).
    A state_dict of the older nn.utils.weight_norm (``<name>_g``, ``<name>_v``) loads too. Returns
    ``module``."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def load_older_keys(module, state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)

    module.register_load_state_dict_pre_hook(load_older_keys)
    return module


class _SpectralNorm(Module):
    """weight / sigma, sigma its largest singular value (as a matrix with rows along ``dim``),
    estimated by power iteration on the buffers ``_u`` and ``_v``: ``n_power_iterations`` steps
    at each forward in training mode, none in eval mode. A 1-D weight is just normalized."""

    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        dim = weight_axis("spectral_norm", dim, ndim)
        if n_power_iterations <= 0:
            raise ValueError(f"spectral_norm: n_power_iterations must be positive, got {n_power_iterations}")
        self.dim, self.eps = dim, eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            with no_grad():
                matrix = weight_matrix(weight, dim)
                h, w = matrix.shape
                for buffer, size in (("_u", h), ("_v", w)):
                    start = randn(size, dtype=weight.dtype, device=weight.device)
                    self.register_buffer(buffer, normalize(start, axis=0, eps=eps))
            self._power_method(matrix, 15)  # as PyTorch: a good estimate before the first forward

    def _power_method(self, matrix, n_power_iterations):
        """Steps of u = normalize(W v), v = normalize(W^T u), written into the buffers."""
        with no_grad():
            for _ in range(n_power_iterations):
                self._u.copy_(normalize(matrix @ self._v, axis=0, eps=self.eps))
                self._v.copy_(normalize(matrix.T @ self._u, axis=0, eps=self.eps))

    def forward(self, weight):
        if weight.ndim == 1:
            return normalize(weight, axis=0, eps=self.eps)
        matrix = weight_matrix(weight, self.dim)
        if self.training:
            self._power_method(matrix, self.n_power_iterations)
        # Copies: the graph keeps u and v for backward, and the next step changes the buffers
        u, v = self._u.clone(), self._v.clone()
        sigma = u @ (matrix @ v)
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Parametrize ``module.<name>`` as itself divided by its spectral norm (Miyato et al.,
    2018), estimated by power iteration (see _SpectralNorm); ``dim`` is the axis of the
    output channels (1 for the ConvTranspose layers, else 0, by default). Returns ``module``."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"spectral_norm: {type(module).__name__} has no parameter or buffer named {name!r}")
    if dim is None:
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
