"""Normalization over the trailing axes by their own mean and biased variance, as
one op: y = (x - mean) / sqrt(var + eps) * weight + bias. Layer norm calls it
directly and group norm on (N, G, C / G, rest) with a (G, C / G, 1) weight and bias.
Composed of Tensor ops, forward and backward took about twenty-five passes over
memory and, on one thread, 16 ms for a (32, 128, 256) layer norm and 6 ms for a
(16, 64, 32, 32) group norm; this takes seven forward and eleven backward, and 9 and
3.4 ms (PyTorch: 0.7 and 0.55 ms; NumPy's page faults on fresh arrays are much of it).

With inv_std = 1 / sqrt(var + eps), xhat = (x - mean) inv_std and g = gy weight, the
input's gradient is inv_std (g - mean(g) - xhat mean(g xhat)) (means over the
normalized axes); the weight's is gy xhat and the bias's gy, which the engine sums
to their shapes. Both the normalization and that gradient are written once, over a
``mean``: a plain backward evaluates them on the saved arrays, and under
create_graph on Tensors, with xhat and inv_std recomputed from x, so second
derivatives hold.

Without weight and bias the output is xhat itself, which backward then recomputes from x
and the saved statistics (the same bits) rather than keeping: kept, an in-place change of
the output (h = norm(x); h += skip, as after an InstanceNorm) would be refused, where
PyTorch's, which saves the input and its statistics, allows it. So in batch_norm.py and
rms_norm.py.

As PyTorch's kernel, it raises no floating-point warnings, and a row whose variance
overflows (a spread past about 1.8e19 in float32) normalizes to NaN, as PyTorch's
does, not to the zeros that (x - mean) / sqrt(inf) would give."""
from ..quiet import without_floating_point_warnings
from ..reduction import mean as _mean
from ...function import Function
from ...grad_mode import state as _grad_state
from ...tensor import Tensor


@without_floating_point_warnings
class LayerNorm(Function):
    @staticmethod
    def forward(ctx, x, weight, bias, normalized_axes, eps):
        xp = x._backend.xp
        axes = tuple(range(x.data.ndim - normalized_axes, x.data.ndim))
        xhat, inv_std, mu = _normalized(x.data, axes, eps, _array_mean(xp))
        y = xhat if weight is None else xhat * weight.data
        if bias is not None:
            if y is xhat:  # xhat is saved: add into a new array
                y = y + bias.data
            else:
                y += bias.data
        if y is xhat:  # (see statistics_for_xhat)
            ctx.save_for_backward(x, weight, None, inv_std, mu)
        else:
            ctx.save_for_backward(x, weight, xhat, inv_std, None)
        ctx.normalized_axes, ctx.eps = normalized_axes, eps
        return y

    @staticmethod
    def backward(ctx, gy):
        x, weight, xhat, inv_std, mu = ctx.saved_tensors
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad[:3]
        axes = tuple(range(x.ndim - ctx.normalized_axes, x.ndim))
        if _grad_state.enabled:  # create_graph: on Tensors, xhat and inv_std differentiable in x
            mean, wrap, g = _tensor_mean, _same, gy
            xhat, inv_std, _ = _normalized(x, axes, ctx.eps, mean)
        else:  # on the bare arrays, with no op dispatch
            backend = x._backend
            mean, wrap, g = _array_mean(backend.xp), lambda a: Tensor._make(a, backend), gy.data
            inv_std = inv_std.data
            xhat = (x.data - mu.data) * inv_std if xhat is None else xhat.data  # (forward's bits)
            weight = None if weight is None else weight.data
        gx = None
        if needs_x:
            gx = wrap(_input_grad(g if weight is None else g * weight, xhat, inv_std, axes, mean))
        return gx, wrap(g * xhat) if needs_weight else None, gy if needs_bias else None, None, None


def _normalized(x, axes, eps, mean):
    """xhat = (x - mean) / sqrt(var + eps), that 1 / sqrt(var + eps), and the mean."""
    mu = mean(x, axes)
    centered = x - mu
    var = mean(centered * centered, axes)
    # var - var is 0, or NaN where var overflowed: NaN then, as PyTorch's, where 1 / sqrt(inf) gave 0
    inv_std = (var + eps) ** -0.5 + (var - var)
    return centered * inv_std, inv_std, mu


def _input_grad(g, xhat, inv_std, axes, mean):
    """The input's gradient, given g = gy * weight. (On arrays NumPy reuses the
    temporaries, so this allocates two.)"""
    return (g - mean(g, axes) - xhat * mean(g * xhat, axes)) * inv_std


def _tensor_mean(t, axes):
    return _mean(t, axes, keepdims=True)


def _array_mean(xp):
    return lambda a, axes: xp.mean(a, axis=axes, keepdims=True)


def _same(t):
    return t


def layer_norm(x, weight, bias, normalized_axes, eps):
    """Normalize x over its last ``normalized_axes`` axes, then scale by ``weight`` and
    shift by ``bias`` (Tensors of x's dtype broadcasting against those axes, or None)."""
    return LayerNorm.apply(x, weight, bias, normalized_axes, float(eps))
