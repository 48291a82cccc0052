"""Weight and spectral normalization and orthogonal matrices as parametrizations (see
nn.utils.parametrize), as PyTorch's ``torch.nn.utils.parametrizations``, with its state_dict keys:
``weight_norm`` keeps the weight as ``parametrizations.weight.original0`` (its norm g) and
``original1`` (its direction v); ``spectral_norm`` keeps it as ``parametrizations.weight.original``
and the power iteration's vectors as the buffers ``parametrizations.weight.0._u`` and ``._v``;
``orthogonal`` keeps ``parametrizations.weight.original`` and, with the dynamic trivialization,
the orthogonal matrix it starts from as the buffer ``parametrizations.weight.0.base``.

The helpers here (``weight_axis``, ``norm_except_dim``, ``weight_norm_of``, ``weight_matrix``) are shared with the
older forward-pre-hook versions in nn.utils.weight_norm and nn.utils.spectral_norm."""
from autograd import Tensor, concat, eye, hypot, no_grad, ones, randn, sign, stack, tril, trunc, where, zeros
from autograd.linalg import diagonal, householder_product, matrix_exp, qr, solve, vector_norm
from autograd.ops.matrices import mT
from autograd.ops.rearrange import moveaxis
from backends import dtypes

from ..functional import normalize
from ..layers.conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ..module import Module
from . import parametrize

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


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


_ORTHOGONAL_MAPS = ("matrix_exp", "cayley", "householder")


def _is_orthogonal(q):
    """Whether the columns of each matrix of ``q`` are orthonormal, to PyTorch's tolerance
    (torch.allclose(Q^T Q, I) with atol 10 n eps)."""
    n, k = q.shape[-2:]
    identity = eye(k, dtype=q.dtype, device=q.device)
    atol = 10.0 * n * float(q._backend.xp.finfo(q.data.dtype).eps)
    return bool((abs(mT(q) @ q - identity) <= atol + 1e-5 * identity).all())


def _make_orthogonal(a):
    """The Q of the QR decomposition of each (tall) matrix of ``a`` whose R has a nonnegative
    diagonal. Where R_ii is 0 (a rank-deficient ``a``), PyTorch multiplies column i by its sign,
    0, so a zero weight gets a zero base and stays zero; here the column is kept, so the result
    is orthogonal."""
    q, r = qr(a)
    signs = sign(diagonal(r))
    return q * where(signs == 0, 1.0, signs).expand_dims(-2)


def _householder_qr(a):
    """LAPACK's geqrf of each tall matrix of ``a``, in Tensor ops: R on and above the diagonal,
    below it the vectors v_j of the reflections H_j = I - tau_j v_j v_j^T (v_j's entry j, a 1,
    not stored), and tau; a column with nothing below its diagonal to remove takes tau = 0."""
    a = a.clone()
    n, k = a.shape[-2:]
    taus = []
    for j in range(k):
        alpha, below = a[..., j, j], a[..., j + 1:, j]
        below_norm = vector_norm(below, axis=-1)
        reflects = below_norm > 0
        norm = hypot(alpha, below_norm)
        beta = where(reflects, where(alpha >= 0, -norm, norm), alpha)  # the new diagonal entry, R_jj
        tau = where(reflects, (beta - alpha) / where(reflects, beta, 1.0), 0.0)
        v = below / where(reflects, alpha - beta, 1.0).expand_dims(-1)
        a[..., j, j] = beta
        a[..., j + 1:, j] = v
        if j + 1 < k:  # H_j applied to the columns on the right
            w = concat([ones(*v.shape[:-1], 1, dtype=a.dtype, device=a.device), v], -1).expand_dims(-1)
            rest = a[..., j:, j + 1:]
            a[..., j:, j + 1:] = rest - (w * tau[..., None, None]) @ (mT(w) @ rest)
        taus.append(tau)
    return a, stack(taus, -1)


class _Orthogonal(Module):
    """An orthogonal matrix (orthonormal columns if tall, rows if wide) from any matrix X: the
    matrix exponential or the Cayley transform of the skew-symmetric A = L - L^T, L the lower
    triangle of X (widened to a square with zeros), or the product of the Householder
    reflections in X's strict lower triangle. With ``use_trivialization``, that matrix is
    multiplied by the buffer ``base``, an orthogonal matrix that an assignment sets (the
    dynamic trivialization of Lezcano-Casado, 2019)."""

    def __init__(self, weight, orthogonal_map, *, use_trivialization=True):
        super().__init__()
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, x):
        n, k = x.shape[-2:]
        transposed = n < k
        if transposed:  # a wide matrix is handled as its transpose, which is tall
            x, n, k = mT(x), k, n
        if self.orthogonal_map == "householder":
            vectors = tril(x, -1)
            q = householder_product(vectors, 2.0 / (1.0 + (vectors * vectors).sum(axis=-2)))
            # The diagonal, +-1, flips columns; truncated to whole numbers and outside the
            # graph, as PyTorch's (an int cast), so no step ever changes it.
            q = q * trunc(diagonal(x.detach())).expand_dims(-2)
        else:
            lower = tril(x)
            if n != k:
                lower = concat([lower, zeros(*x.shape[:-2], n, n - k, dtype=x.dtype, device=x.device)], -1)
            a = lower - mT(lower)
            if self.orthogonal_map == "matrix_exp":
                q = matrix_exp(a)
            else:  # (I - A/2)^-1 (I + A/2)
                identity = eye(n, dtype=x.dtype, device=x.device)
                q = solve(identity - a * 0.5, identity + a * 0.5)
            q = q[..., :k] if n != k else q
        if "base" in self._buffers:
            q = self.base @ q
        return mT(q) if transposed else q

    def right_inverse(self, q):
        """With the trivialization: ``base`` becomes ``q`` made orthogonal (by QR, as its
        closest Q; a tall one completed to a square with random columns) and the original
        becomes -I, which the maps take to I. Without it, the Householder reflections of ``q``'s
        QR decomposition (the other maps have no inverse)."""
        if q.shape != self.shape:
            raise ValueError(f"orthogonal: expected a matrix or batch of matrices of shape {self.shape}, got a "
                             f"tensor of shape {q.shape}")
        with no_grad():
            n, k = q.shape[-2:]
            transposed = n < k
            tall = mT(q) if transposed else q
            n, k = tall.shape[-2:]
            if "base" not in self._buffers:
                if self.orthogonal_map != "householder":
                    raise NotImplementedError(f"orthogonal: a value cannot be assigned to the {self.orthogonal_map} "
                                              "parametrization with use_trivialization=False (the map has no "
                                              "inverse); use use_trivialization=True or orthogonal_map="
                                              "'householder'")
                reflections, tau = _householder_qr(tall)
                signs = sign(diagonal(reflections))
                signs = where(tau == 0, -signs, signs)  # the forward pass reflects there (its tau is 2), undone
                on_diagonal = eye(n, k, dtype=q.dtype, device=q.device) > 0
                reflections = where(on_diagonal, signs.expand_dims(-2), reflections)
                return mT(reflections) if transposed else reflections
            if n == k:
                base = tall.clone() if _is_orthogonal(tall) else _make_orthogonal(tall)
            else:
                completion = randn(*tall.shape[:-2], n, n - k, dtype=q.dtype, device=q.device)
                base = _make_orthogonal(concat([tall, completion], -1))
            self.base = base
            identity = eye(*q.shape[-2:], dtype=q.dtype, device=q.device)
            return zeros(*q.shape, dtype=q.dtype, device=q.device) - identity  # (its own array, for the original)


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    """Parametrize ``module.<name>`` (a matrix, or a batch of them in the last two axes) as an
    orthogonal matrix: orthonormal columns if it is tall or square, orthonormal rows if wide,
    as PyTorch's. ``orthogonal_map`` is "matrix_exp", "cayley" or "householder" (default:
    "matrix_exp" for square matrices, "householder" for others); see _Orthogonal. With
    ``use_trivialization`` (the default) the current value, made orthogonal, is kept in the
    buffer ``base`` and the original starts at -I. Real matrices only. Returns ``module``."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"orthogonal: {type(module).__name__} has no parameter or buffer named {name!r}")
    if weight.ndim < 2:
        raise ValueError(f"orthogonal: expects a matrix or a batch of matrices, got a tensor of {weight.ndim} "
                         f"dimensions (shape {weight.shape})")
    if not dtypes.is_floating(weight.dtype):
        raise TypeError(f"orthogonal: {name!r} must be a floating-point tensor, got {weight.dtype}")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    if orthogonal_map not in _ORTHOGONAL_MAPS:
        raise ValueError(f"orthogonal: orthogonal_map must be one of {', '.join(map(repr, _ORTHOGONAL_MAPS))}, got "
                         f"{orthogonal_map!r}")
    parametrize.register_parametrization(module, name, _Orthogonal(weight, orthogonal_map,
                                                                   use_trivialization=use_trivialization),
                                         unsafe=True)
    return module
