"""Fused primitives for neural networks: ops whose composition from simpler ops
would be slower (linear, conv2d, pooling, an RNN, LSTM or GRU time step) or numerically
fragile (softmax, log-softmax, cross-entropy from logits, softplus, binary
cross-entropy), plus erf, which the Array API lacks.

Each backward is written in Tensor ops, or is its own Function placed right under
the op (``Conv2dInputGrad`` under ``Conv2d``), or evaluates one formula on bare
arrays in a plain backward and on Tensors under create_graph (cross-entropy, the
recurrent steps), so everything here is twice differentiable. Argument checking lives
in ``nn.functional`` (and the recurrent layers); the lowercase functions here
take validated arguments.
"""
import math

from backends import dtypes

from ..function import Function
from ..grad_mode import state as _grad_state
from ..tensor import Tensor
from .elementwise import ReluGrad, astype, exp, log, maximum, relu, sigmoid, tanh, where
from .reduction import Sum
from .shape import concat, reshape, split


# --- linear -------------------------------------------------------------------

class Linear(Function):
    """``x @ weight.T + bias`` for ``x`` of shape (..., in): one GEMM, the bias added
    in place into the GEMM's fresh output."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        xp = x._backend.xp
        data = x.data
        ctx.save_for_backward(x, weight)
        flat = data if data.ndim == 2 else xp.reshape(data, (-1, data.shape[-1]))
        y = xp.matmul(flat, xp.permute_dims(weight.data, (1, 0)))
        if bias is not None:
            y += bias.data
        return y if data.ndim == 2 else xp.reshape(y, data.shape[:-1] + (y.shape[-1],))

    @staticmethod
    def backward(ctx, gy):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        backend = x._backend
        x_shape = x.shape
        recording = _grad_state.enabled
        if recording:  # create_graph: the products below on Tensors, recorded
            flat = reshape
        else:  # a plain backward: the same products on the bare arrays, with no op dispatch
            gy, x, weight = gy.data, x.data, weight.data
            flat = backend.xp.reshape
        if gy.ndim != 2:  # (..., out): the leading axes are one batch axis for the GEMMs
            gy, x = flat(gy, (-1, gy.shape[-1])), flat(x, (-1, x_shape[-1]))
        gx = None
        if need_x:
            gx = gy @ weight
            if len(x_shape) != 2:
                gx = flat(gx, x_shape)
        gw = gy.T @ x if need_w else None
        gb = None
        if need_b:
            gb = Sum.apply(gy, (0,), False) if recording else backend.xp.sum(gy, axis=0)
        if recording:
            return gx, gw, gb
        return tuple(None if grad is None else Tensor._make(grad, backend) for grad in (gx, gw, gb))


def linear(x, weight, bias=None):
    return Linear.apply(x, weight, bias)


# --- recurrent cells ----------------------------------------------------------------

class RNNStep(Function):
    """One Elman RNN time step in one op: h' = act(gx + h @ w_hh_t), act tanh or ReLU.
    ``gx`` is the step's input projection, both biases included, which the caller
    computes for every step in one GEMM. Composed, that is three ops per time step.

    It keeps h and w_hh_t (which live on anyway) and its output h', whose values give
    the activation's derivative (1 - h'^2 for tanh; for ReLU, the gradient passes where
    not h' <= 0); not gx, a view of the whole sequence's projection. A plain backward
    runs on the kept arrays; under create_graph the same formulas run on h' as a Tensor
    joined to this node. gx and h are (batch, .) of one dtype, not broadcast (see
    rnn_step)."""

    @staticmethod
    def forward(ctx, gx, h, w_hh_t, nonlinearity):
        xp = gx._backend.xp
        z = xp.matmul(h.data, w_hh_t.data)
        z += gx.data  # rnn_step gives one dtype and shape, or composes the ops instead
        h_new = xp.tanh(z) if nonlinearity == "tanh" else xp.maximum(z, xp.zeros((), dtype=z.dtype))
        ctx.nonlinearity = nonlinearity
        ctx.save_for_backward(h, w_hh_t, h_new)
        return h_new

    @staticmethod
    def backward(ctx, gy):
        h, w_hh_t, h_new = ctx.saved_tensors
        need_gx, need_h, need_w, _ = ctx.needs_input_grad
        backend = h._backend
        recording = _grad_state.enabled
        if not recording:  # a plain backward: the formulas below on the bare arrays
            gy, h, w_hh_t, h_new = gy.data, h.data, w_hh_t.data, h_new.data
        if ctx.nonlinearity == "tanh":
            dz = gy * (1 - h_new * h_new)
        elif recording:  # ReLU's derivative is a constant mask: its own derivative is 0
            dz = ReluGrad.apply(gy, Tensor._make(backend.relu_mask(h_new.data), backend))
        else:
            dz = backend.masked(gy, backend.relu_mask(h_new))
        grads = (dz if need_gx else None,
                 dz @ w_hh_t.T if need_h else None,
                 h.T @ dz if need_w else None,
                 None)
        if recording:
            return grads
        return tuple(None if grad is None else Tensor._make(grad, backend) for grad in grads)


def rnn_step(gx, h, w_hh_t, nonlinearity):
    """h after one Elman RNN step (see RNNStep); ``nonlinearity`` is "tanh" or "relu"."""
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn_step: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    gx, h, w_hh_t = _common_dtype(gx, h, w_hh_t)
    if h.ndim != 2 or gx.shape != (h.shape[0], w_hh_t.shape[-1]):
        # a vector or a broadcast state (the layers never pass one): the composed ops,
        # whose gradients the engine reduces to each input's shape
        z = gx + h @ w_hh_t
        return tanh(z) if nonlinearity == "tanh" else relu(z)
    return RNNStep.apply(gx, h, w_hh_t, nonlinearity)


class LSTMStep(Function):
    """One LSTM time step in one op: the recurrent product z = gx + h @ w_hh_t, its
    gates stacked (i, f, g, o) as PyTorch stacks them (sigmoid gates, g = tanh), then
    c = f * c_prev + i * g and h = o * tanh(c). ``gx`` is the step's input projection,
    biases included, which the caller computes for every step in one GEMM. Composed,
    that is a dozen ops per time step, each paying its overhead; fused, one node.

    Its outputs are h, c and the gate values, which lstm_step drops. It keeps h,
    c_prev and w_hh_t (which live on anyway) and its outputs c and gates, as the
    composed ops kept their activations; not gx, a view of the whole sequence's
    projection. A plain backward runs its formulas on the kept arrays; under
    create_graph the same formulas run on the kept outputs as Tensors, joined to
    this node, so that the gradient stays differentiable (its gradient for the
    gates output is then what second derivatives send back)."""

    @staticmethod
    def forward(ctx, gx, h, c_prev, w_hh_t):
        backend = gx._backend
        xp = backend.xp
        z = xp.matmul(h.data, w_hh_t.data)
        if z.dtype == gx.data.dtype and z.shape == gx.data.shape:
            z += gx.data
        else:  # promote or broadcast, as gx + h @ w_hh_t would
            z = gx.data + z
        gates = _lstm_gates(backend, z)
        i, f, g, o = _blocks(gates, 4)
        c = f * c_prev.data + i * g
        h_new = o * xp.tanh(c)
        ctx.save_for_backward(h, c_prev, w_hh_t, c, gates)
        return h_new, c, gates

    @staticmethod
    def backward(ctx, gh, gc, g_gates):
        h, c_prev, w_hh_t, c, gates = ctx.saved_tensors
        need_gx, need_h, need_c, need_w = ctx.needs_input_grad
        backend = h._backend
        xp = backend.xp
        recording = _grad_state.enabled
        if recording:  # create_graph: the same formulas below, on Tensors
            i, f, g, o = split(gates, 4, axis=-1)
            gi, gf, gg, go = split(g_gates, 4, axis=-1)
            tanh_c = tanh(c)
        else:
            i, f, g, o = _blocks(gates.data, 4)
            gi, gf, gg, go = _blocks(g_gates.data, 4)
            tanh_c = xp.tanh(c.data)
            gh, gc, h, c_prev, w_hh_t = gh.data, gc.data, h.data, c_prev.data, w_hh_t.data
        dc = gc + gh * o * (1 - tanh_c * tanh_c)
        dz = None
        if need_gx or need_h or need_w:
            parts = [(dc * g + gi) * i * (1 - i), (dc * c_prev + gf) * f * (1 - f), (dc * i + gg) * (1 - g * g),
                     (gh * tanh_c + go) * o * (1 - o)]
            dz = concat(parts, axis=-1) if recording else xp.concat(parts, axis=-1)
        grads = (dz if need_gx else None,
                 dz @ w_hh_t.T if need_h else None,
                 dc * f if need_c else None,
                 h.T @ dz if need_w else None)
        if recording:
            return grads
        return tuple(None if grad is None else Tensor._make(grad, backend) for grad in grads)


def _blocks(gates, count):
    """The ``count`` equal blocks of the last axis (views)."""
    n = gates.shape[-1] // count
    return tuple(gates[..., k * n:(k + 1) * n] for k in range(count))


def _common_dtype(*tensors):
    """The tensors (None passes through) cast to their promoted dtype, as the composed
    ops would: a fused op then computes in one dtype, and the casts' backward gives
    each input a gradient of its own dtype."""
    present = [t for t in tensors if t is not None]
    common = present[0].dtype
    for t in present[1:]:
        common = dtypes.promote(common, t.dtype)
    return [t if t is None or t.dtype == common else astype(t, common) for t in tensors]


def _lstm_gates(backend, z):
    """The gate values of the stacked pre-activations (arrays), in one array: the
    sigmoid of all of ``z`` (one call instead of three), its g quarter then tanh."""
    gates = backend.sigmoid(z)
    n = z.shape[-1] // 4
    gates[..., 2 * n:3 * n] = backend.xp.tanh(z[..., 2 * n:3 * n])
    return gates


def lstm_step(gx, h, c, w_hh_t):
    """(h, c) after one LSTM step (see LSTMStep)."""
    h, c, _ = LSTMStep.apply(*_common_dtype(gx, h, c, w_hh_t))
    return h, c


class GRUStep(Function):
    """One GRU time step in one op: gh = h @ w_hh_t (+ b_hh), gates stacked (r, z, n) as
    PyTorch stacks them: r, z = sigmoid(gx_rz + gh_rz), n = tanh(gx_n + r * gh_n), then
    h' = n + z * (h - n). ``gx`` is the step's input projection with b_ih, which the
    caller computes for every step in one GEMM (b_hh stays here: r scales its n part).

    Its outputs are h' and the gate values, which gru_step drops. It keeps h, w_hh_t,
    b_hh, a (batch, H) copy of gh's n part and the gates; not gx, a view of the whole
    sequence's projection. A plain backward runs its formulas on the kept arrays;
    under create_graph the same formulas run on Tensors, the gates being the saved
    output joined to this node and gh's n part recomputed from h, w_hh_t and b_hh
    (which is why b_hh is kept, and a change of it in place before backward raises).
    h and gx are (batch, .) and not broadcast, as the recurrent layers give them."""

    @staticmethod
    def forward(ctx, gx, h, w_hh_t, b_hh):
        backend = gx._backend
        xp = backend.xp
        size = h.data.shape[-1]
        gh = xp.matmul(h.data, w_hh_t.data)
        if b_hh is not None:
            gh = gh + b_hh.data
        rz = backend.sigmoid(gx.data[..., :2 * size] + gh[..., :2 * size])
        gh_n = xp.asarray(gh[..., 2 * size:], copy=True)  # not a view keeping all of gh
        n = xp.tanh(gx.data[..., 2 * size:] + rz[..., :size] * gh_n)
        z = rz[..., size:]
        h_new = n + z * (h.data - n)
        gates = xp.concat([rz, n], axis=-1)
        ctx.save_for_backward(h, w_hh_t, b_hh, gh_n, gates)
        return h_new, gates

    @staticmethod
    def backward(ctx, g_h, g_gates):
        h, w_hh_t, b_hh, gh_n, gates = ctx.saved_tensors
        need_gx, need_h, need_w, need_b = ctx.needs_input_grad
        backend = h._backend
        xp = backend.xp
        size = h.shape[-1]
        recording = _grad_state.enabled
        if recording:  # create_graph: the same formulas below, on Tensors
            r, z, n = split(gates, 3, axis=-1)
            g_r, g_z, g_n = split(g_gates, 3, axis=-1)
            gh_n = h @ w_hh_t[:, 2 * size:]
            if b_hh is not None:
                gh_n = gh_n + b_hh[2 * size:]
        else:
            r, z, n = _blocks(gates.data, 3)
            g_r, g_z, g_n = _blocks(g_gates.data, 3)
            g_h, h, w_hh_t, gh_n = g_h.data, h.data, w_hh_t.data, gh_n.data
        dn = (g_h * (1 - z) + g_n) * (1 - n * n)  # at the tanh's input
        dr = (dn * gh_n + g_r) * r * (1 - r)       # at the sigmoids' inputs
        dz = (g_h * (h - n) + g_z) * z * (1 - z)
        join = concat if recording else xp.concat
        total = (lambda a: a.sum(axis=0)) if recording else (lambda a: xp.sum(a, axis=0))
        dgh = join([dr, dz, dn * r], axis=-1) if need_h or need_w or need_b else None
        grads = (join([dr, dz, dn], axis=-1) if need_gx else None,
                 g_h * z + dgh @ w_hh_t.T if need_h else None,
                 h.T @ dgh if need_w else None,
                 total(dgh) if need_b else None)
        if recording:
            return grads
        return tuple(None if grad is None else Tensor._make(grad, backend) for grad in grads)


def gru_step(gx, h, w_hh_t, b_hh):
    """h after one GRU step (see GRUStep)."""
    h, _ = GRUStep.apply(*_common_dtype(gx, h, w_hh_t, b_hh))
    return h


# --- softmax family -------------------------------------------------------------

class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis):
        xp = x._backend.xp
        ctx.axis = axis
        e = xp.exp(x.data - xp.max(x.data, axis=axis, keepdims=True))
        e /= xp.sum(e, axis=axis, keepdims=True)
        ctx.save_for_backward(e)
        return e

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        gyy = gy * y
        return gyy - y * Sum.apply(gyy, (ctx.axis,), True), None


def softmax(x, axis):
    return Softmax.apply(x, axis)


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, axis):
        xp = x._backend.xp
        ctx.axis = axis
        shifted = x.data - xp.max(x.data, axis=axis, keepdims=True)
        shifted -= xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))
        ctx.save_for_backward(shifted)
        return shifted

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy - exp(y) * Sum.apply(gy, (ctx.axis,), True), None


def log_softmax(x, axis):
    return LogSoftmax.apply(x, axis)


class CrossEntropy(Function):
    """Cross-entropy of logits (N, C) against class indices (N,), in one stable op:
    log-softmax by the max-shift, the target's log-probability picked out, PyTorch's
    ``weight``, ``ignore_index``, ``label_smoothing`` and reduction applied. Its
    gradient is (softmax - target distribution), scaled per row, so logits of any
    size give finite values. ``all_valid`` says no target equals ignore_index
    (nn.functional checks it anyway), which skips the masking."""

    @staticmethod
    def forward(ctx, logits, target, weight, ignore_index, smoothing, reduction, all_valid):
        backend = logits._backend
        xp = backend.xp
        z, t = logits.data, target.data
        n, c = z.shape
        shifted = z - xp.max(z, axis=1, keepdims=True)
        e = xp.exp(shifted)
        sums = xp.sum(e, axis=1, keepdims=True)
        lse = xp.log(sums)[:, 0]
        valid = None
        if all_valid:
            safe_t = t
            weights = None if weight is None else xp.take(weight.data, t)
        else:
            keep = t != ignore_index
            valid = xp.astype(keep, z.dtype)
            safe_t = t * xp.astype(keep, t.dtype)  # ignored rows point at class 0, then weigh nothing
            weights = valid if weight is None else xp.take(weight.data, safe_t) * valid
        loss = lse - backend.gather(shifted, (xp.arange(n), safe_t))
        if weights is not None:
            loss = loss * weights
        if smoothing:  # (1-s) nll + (s/C) sum_c w_c (-log p_c)
            if weight is None:
                smooth = lse * c - xp.sum(shifted, axis=1)
            else:
                smooth = lse * xp.sum(weight.data) - xp.sum(shifted * weight.data, axis=1)
            if valid is not None:
                smooth = smooth * valid
            loss = loss * (1 - smoothing) + smooth * (smoothing / c)
        scale = 1.0
        if reduction == "mean":
            scale = 1.0 / n if weights is None else 1.0 / xp.sum(weights)
            loss = xp.sum(loss) * scale
        elif reduction == "sum":
            loss = xp.sum(loss)
        if ctx.needs_input_grad[0]:
            e /= sums  # the softmax, which the gradient is made of
            ctx.save_for_backward(logits, e, safe_t, weights, valid)
            ctx.settings = (weight, smoothing, reduction, scale)
        return loss

    @staticmethod
    def backward(ctx, gy):
        logits, probs, safe_t, weights, valid = ctx.saved_tensors
        weight, smoothing, reduction, scale = ctx.settings
        backend = logits._backend
        xp = backend.xp
        n, c = probs.shape
        dtype = probs.data.dtype
        recording = _grad_state.enabled
        if recording:  # create_graph: Tensor ops, with the softmax differentiable in the logits
            probs = softmax(logits, 1)
        else:  # the same arithmetic below on the bare arrays: a few ufuncs, no op dispatch
            probs, gy = probs.data, gy.data
        onehot = xp.astype(xp.reshape(safe_t.data, (n, 1)) == xp.arange(c), dtype)
        if reduction == "none":
            gy = reshape(gy, (n, 1)) if recording else xp.reshape(gy, (n, 1))
        # each row's d(loss)/d(its nll): the scale, times the row's weight if any
        rows = scale if weights is None else xp.reshape(weights.data * scale, (n, 1))
        if not smoothing:
            grad = (probs - onehot) * (gy * rows)
        else:
            # d/dz of (1-s) w_t nll + (s/C) sum_c w_c (-log p_c) is A p - B, row by row
            w = xp.ones(c, dtype=dtype) if weight is None else weight.data
            share = (smoothing / c) * (scale if valid is None else xp.reshape(valid.data * scale, (n, 1)))
            a = xp.asarray(rows * (1 - smoothing) + share * xp.sum(w), dtype=dtype)
            b = onehot * (rows * (1 - smoothing)) + share * w
            grad = (probs * a - b) * gy
        if not recording:
            grad = Tensor._make(grad, backend)
        return grad, None, None, None, None, None, None


def cross_entropy(logits, target, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="mean",
                  all_valid=False):
    return CrossEntropy.apply(logits, target, weight, ignore_index, label_smoothing, reduction, all_valid)


# --- elementwise ------------------------------------------------------------------

class Softplus(Function):
    """log(1 + exp(x)), computed as max(x, 0) + log1p(exp(-|x|)) so it never overflows."""

    @staticmethod
    def forward(ctx, x):
        xp = x._backend.xp
        ctx.save_for_backward(x)
        return xp.maximum(x.data, 0) + xp.log1p(xp.exp(-xp.abs(x.data)))

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * sigmoid(x)


def softplus(x):
    return Softplus.apply(x)


# W. J. Cody's rational approximations (Math. Comp. 23, 1969, netlib specfun CALERF):
# erf on |x| <= 0.5, erfc*exp(x^2) on [0.5, 4] and beyond 4; about 1e-16 relative error.
_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)
_ERF_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
          2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
          2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_ERF_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
          1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
          3.43936767414372164e03, 1.23033935480374942e03)
_ERF_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
          1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERF_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
          6.05183413124413191e-2, 2.33520497626869185e-3)
_INV_SQRT_PI = 0.56418958354775628695


def _rational(t, num, den, n):
    """Cody's nested form: (num[-1] t^(n+1) + num[0] t^n + ... + num[n]) / (t^(n+1) + den[0] t^n + ... + den[n])."""
    top, bottom = num[-1] * t, t
    for i in range(n):
        top = (top + num[i]) * t
        bottom = (bottom + den[i]) * t
    return (top + num[n]) / (bottom + den[n])


def _erf(xp, x):
    y = xp.abs(x)
    small = xp.minimum(y, 0.5)
    near = x * _rational(small * small, _ERF_A, _ERF_B, 3)
    # erfc(y) = exp(-y^2) R(y); y^2 split as yt^2 + (y - yt)(y + yt) with yt = trunc(16 y)/16,
    # so exp(-y^2) keeps full precision.
    mid = xp.clip(y, 0.5, 4.0)
    far = xp.clip(y, 4.0, 27.0)  # erfc(27) underflows double: erf is 1 beyond
    inv = 1 / (far * far)
    far_r = (_INV_SQRT_PI - inv * _rational(inv, _ERF_P, _ERF_Q, 4)) / far
    tail_at = xp.where(y <= 4.0, mid, far)
    r = xp.where(y <= 4.0, _rational(mid, _ERF_C, _ERF_D, 7), far_r)
    yt = xp.trunc(tail_at * 16) / 16
    erfc = xp.exp(-yt * yt) * xp.exp(-(tail_at - yt) * (tail_at + yt)) * r
    return xp.where(y <= 0.5, near, xp.sign(x) * (1 - erfc))


class Erf(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erf(x._backend.xp, x.data)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * exp(-(x * x)) * (2 * _INV_SQRT_PI)


def erf(x):
    return Erf.apply(x)


def _clamped_log(xp, a):
    """log(a) clamped to >= -100 as PyTorch's BCE does, with log(0) = -100 and no warning."""
    positive = a > 0
    return xp.where(positive, xp.maximum(xp.log(xp.where(positive, a, 1)), -100), -100)


def _clamped_log_tensor(a):
    positive = a > 0
    return where(positive, maximum(log(where(positive, a, 1)), -100), -100)


_BCE_EPS = 9.999999960041972e-13  # PyTorch's EPSILON: 1e-12 as a float32


class BinaryCrossEntropy(Function):
    """-(t log p + (1 - t) log(1 - p)) elementwise, logs clamped to >= -100; the
    gradient is PyTorch's (p - t) / max(p (1 - p), 1e-12), finite at p = 0 or 1.
    The target's gradient is that of the clamped loss, so it stays finite too
    (PyTorch's is inf at p = 0 or 1)."""

    @staticmethod
    def forward(ctx, p, t):
        xp = p._backend.xp
        ctx.save_for_backward(p, t)
        return -(t.data * _clamped_log(xp, p.data) + (1 - t.data) * _clamped_log(xp, 1 - p.data))

    @staticmethod
    def backward(ctx, gy):
        p, t = ctx.saved_tensors
        need_p, need_t = ctx.needs_input_grad
        gp = gy * (p - t) / maximum(p * (1 - p), _BCE_EPS) if need_p else None
        gt = gy * (_clamped_log_tensor(1 - p) - _clamped_log_tensor(p)) if need_t else None
        return gp, gt


def binary_cross_entropy(p, t):
    return BinaryCrossEntropy.apply(p, t)


# --- windows: convolution and pooling ----------------------------------------------

class Window:
    """Geometry of a 2-D sliding window: kernel, stride, dilation, padding as
    (top, bottom, left, right), and the input size it slides over."""
    __slots__ = ("kernel", "stride", "dilation", "padding", "in_size", "out_size", "_offsets")

    def __init__(self, kernel, stride, dilation, padding, in_size, out_size):
        self.kernel, self.stride, self.dilation = kernel, stride, dilation
        self.padding, self.in_size, self.out_size = padding, in_size, out_size
        self._offsets = None

    @property
    def padded_size(self):
        (h, w), (top, bottom, left, right) = self.in_size, self.padding
        return h + top + bottom, w + left + right

    @property
    def overlapping(self):
        """Whether an input element can fall in more than one window."""
        return any(s < d * (k - 1) + 1 for k, s, d in zip(self.kernel, self.stride, self.dilation))

    @property
    def tiles(self):
        """Whether the windows lie side by side with neither overlaps nor gaps, covering
        the padded input's first out_size * kernel rows and columns once each."""
        return self.stride == self.kernel and self.dilation == (1, 1)

    def offsets(self):
        """(kernel index, rows, columns) per kernel offset: the slices of the padded
        input that the offset reads across all windows, in row-major kernel order."""
        if self._offsets is None:
            (kh, kw), (sh, sw), (dh, dw), (oh, ow) = self.kernel, self.stride, self.dilation, self.out_size
            self._offsets = tuple((i * kw + j, slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
                                   slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))
                                  for i in range(kh) for j in range(kw))
        return self._offsets

    def pad(self, xp, data, value):
        top, bottom, left, right = self.padding
        if not (top or bottom or left or right):
            return data
        h, w = self.in_size
        out = xp.full(data.shape[:-2] + self.padded_size, value, dtype=data.dtype)
        out[..., top:top + h, left:left + w] = data
        return out

    def crop(self, data):
        top, _, left, _ = self.padding
        h, w = self.in_size
        if data.shape[-2:] == (h, w):
            return data
        return data[..., top:top + h, left:left + w]


def _matmul_groups(backend, a, b, groups):
    """``groups`` independent products in one (batched) GEMM: a (G*M, K) and
    b (G*K, P) give (G*M, P), block g of a's rows times block g of b's rows."""
    xp = backend.xp
    if groups == 1:
        return backend.matmul(a, b)
    m, k = a.shape[0] // groups, a.shape[1]
    out = xp.matmul(xp.reshape(a, (groups, m, k)), xp.reshape(b, (groups, k, b.shape[1])))
    return xp.reshape(out, (groups * m, b.shape[1]))


def _im2col(backend, data, kernel_hw, window):
    """The (C*KH*KW, N*OH*OW) matrix of every window: rows are (channel, kernel
    offset), columns (image, output pixel), so each row copies in long runs. It
    is written into the backend's scratch memory, reused from step to step."""
    xp = backend.xp
    win = backend.sliding_windows(window.pad(xp, data, 0), kernel_hw, window.stride, window.dilation)
    n, c, oh, ow, kh, kw = win.shape
    cols = backend.scratch((c, kh, kw, n, oh, ow), data.dtype)
    cols[...] = xp.permute_dims(win, (1, 4, 5, 0, 2, 3))
    return xp.reshape(cols, (c * kh * kw, n * oh * ow))


def _channel_rows(xp, gy):
    """(N, O, OH, OW) -> the (O, N*OH*OW) layout the GEMMs take."""
    n, o, oh, ow = gy.shape
    return xp.reshape(xp.permute_dims(gy, (1, 0, 2, 3)), (o, n * oh * ow))


class Conv2d(Function):
    """2-D cross-correlation on NCHW: im2col then ONE GEMM (batched over groups)
    with the (O, C/G*KH*KW) weight.

    The GEMM's (O, N*OH*OW) result is returned as an (N, O, OH, OW) view, without a
    copy: the memory stays channels-first, which is the layout the next im2col
    copies fastest from and the layout this op's backward wants its gradient in
    (elementwise ops and pooling in between keep it)."""

    @staticmethod
    def forward(ctx, x, weight, bias, window, groups):
        backend = x._backend
        xp = backend.xp
        o = weight.data.shape[0]
        cols = _im2col(backend, x.data, weight.data.shape[2:], window)
        y = _matmul_groups(backend, xp.reshape(weight.data, (o, -1)), cols, groups)
        if bias is not None:
            y += xp.reshape(bias.data, (o, 1))
        n = x.data.shape[0]
        oh, ow = window.out_size
        y = xp.permute_dims(xp.reshape(y, (o, n, oh, ow)), (1, 0, 2, 3))
        ctx.window, ctx.groups = window, groups
        ctx.save_for_backward(x, weight, cols if ctx.needs_input_grad[1] else None)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, weight, cols = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        rows = _channel_rows(x._backend.xp, gy.data) if need_x or need_w else None
        gx = Conv2dInputGrad.apply(gy, weight, ctx.window, ctx.groups, rows) if need_x else None
        gw = (Conv2dWeightGrad.apply(gy, x, weight.shape, ctx.window, ctx.groups, rows, cols.data)
              if need_w else None)
        gb = Sum.apply(gy, (0, 2, 3), False) if need_b else None
        return gx, gw, gb, None, None


class Conv2dInputGrad(Function):
    """conv2d's input gradient (a transposed convolution): one GEMM gives each
    window's gradient, and the backend's col2im adds the windows back onto the
    image with one vectorized add per kernel offset; at stride 1, unless the kernel
    is nearly as wide as the image, each offset's add is one contiguous run instead
    (see _input_grad_stride_1). Linear in ``gy``."""

    @staticmethod
    def forward(ctx, gy, weight, window, groups, rows=None):
        backend = gy._backend
        xp = backend.xp
        ctx.window, ctx.groups = window, groups
        ctx.save_for_backward(gy, weight)
        if rows is None:
            rows = _channel_rows(xp, gy.data)
        o, cg, kh, kw = weight.data.shape
        w = xp.reshape(weight.data, (groups, o // groups, cg * kh * kw))
        n = gy.data.shape[0]
        if groups == 1 and window.stride == (1, 1) and 2 * window.out_size[1] >= window.padded_size[1]:
            gx = _input_grad_stride_1(backend, w[0, ...], rows, n, window)
            return window.crop(xp.permute_dims(gx, (1, 0, 2, 3)))
        if groups == 1:
            gcols = backend.matmul(xp.permute_dims(w[0, ...], (1, 0)), rows)
        else:
            gcols = xp.matmul(xp.permute_dims(w, (0, 2, 1)), xp.reshape(rows, (groups, o // groups, -1)))
        oh, ow = window.out_size
        c = cg * groups
        # windows as (C, N, OH, OW, KH, KW): col2im adds contiguous blocks into a
        # channels-first image, returned as an (N, C, H, W) view like the forward's output
        win = xp.permute_dims(xp.reshape(gcols, (c, kh, kw, n, oh, ow)), (0, 3, 4, 5, 1, 2))
        gx = backend.col2im(win, (c, n) + window.padded_size, window.stride, window.dilation)
        return window.crop(xp.permute_dims(gx, (1, 0, 2, 3)))

    @staticmethod
    def backward(ctx, ggx):
        gy, weight = ctx.saved_tensors
        need_gy, need_w = ctx.needs_input_grad[:2]
        g_gy = Conv2d.apply(ggx, weight, None, ctx.window, ctx.groups) if need_gy else None
        g_w = Conv2dWeightGrad.apply(gy, ggx, weight.shape, ctx.window, ctx.groups) if need_w else None
        return g_gy, g_w, None, None, None


def _input_grad_stride_1(backend, w, rows, n, window):
    """The (C, N, Hp, Wp) input gradient of a stride-1 convolution (no groups) from its
    (O, N*OH*OW) output-gradient rows and its (O, C*KH*KW) weight.

    col2im adds each kernel offset's windows back onto the image, and a window row
    is only OW long, so the adds run in short strided pieces (KH*KW*C*N*OH of them).
    Padded with zeros to the image's width Wp, the rows of a kernel offset's windows
    become one contiguous run of the image's flat (H*W) layout, the zeros landing
    on the columns they wrap into: KH*KW*C*N long adds instead. It costs Wp/OW more
    GEMM work and memory, so the caller takes this path only where Wp <= 2 OW (a
    kernel as wide as the image would multiply both by the image's width). On
    LeNet's second layer (13/11) it took the input gradient from 635 to 525 us."""
    xp = backend.xp
    o = w.shape[0]
    (kh, kw), (dh, dw), (oh, ow) = window.kernel, window.dilation, window.out_size
    hp, wp = window.padded_size
    c = w.shape[1] // (kh * kw)
    padded = backend.scratch((o, n, oh, wp), rows.dtype)
    padded[...] = 0  # all of it: one pass, where the Wp - OW last columns alone are short runs
    padded[..., :ow] = xp.reshape(rows, (o, n, oh, ow))
    runs = backend.matmul(xp.permute_dims(w, (1, 0)), xp.reshape(padded, (o, n * oh * wp)))
    del padded  # back to the scratch pool before the image's buffer is taken
    runs = xp.reshape(runs, (c, kh, kw, n, oh * wp))
    gx = backend.scratch((c, n, hp * wp), runs.dtype)  # promoted, where a second order mixes dtypes
    gx[...] = 0
    length = (oh - 1) * wp + ow  # from a window's first element to its last
    for i in range(kh):
        for j in range(kw):
            start = i * dh * wp + j * dw
            gx[:, :, start:start + length] += runs[:, i, j, :, :length]
    return xp.reshape(gx, (c, n, hp, wp))


class Conv2dWeightGrad(Function):
    """conv2d's weight gradient: one GEMM of the output gradient with the im2col
    matrix (reused from the forward pass when it is handed over). Linear in ``gy``."""

    @staticmethod
    def forward(ctx, gy, x, weight_shape, window, groups, rows=None, cols=None):
        backend = gy._backend
        xp = backend.xp
        ctx.window, ctx.groups = window, groups
        ctx.save_for_backward(gy, x)
        if rows is None:
            rows = _channel_rows(xp, gy.data)
        if cols is None:
            cols = _im2col(backend, x.data, weight_shape[2:], window)
        if groups == 1:
            gw = xp.matmul(rows, xp.permute_dims(cols, (1, 0)))
        else:
            gw = _grouped_weight_grad(xp, rows, cols, groups)
        return xp.reshape(gw, weight_shape)

    @staticmethod
    def backward(ctx, ggw):
        gy, x = ctx.saved_tensors
        need_gy, need_x = ctx.needs_input_grad[:2]
        g_gy = Conv2d.apply(x, ggw, None, ctx.window, ctx.groups) if need_gy else None
        g_x = Conv2dInputGrad.apply(gy, ggw, ctx.window, ctx.groups) if need_x else None
        return g_gy, g_x, None, None, None, None, None


def _grouped_weight_grad(xp, rows, cols, groups):
    """Per group g: rows[g] (O/G, N*L) @ cols[g].T (N*L, C/G*KH*KW), as one batched GEMM."""
    o, length = rows.shape
    k = cols.shape[0] // groups
    out = xp.matmul(xp.reshape(rows, (groups, o // groups, length)),
                    xp.permute_dims(xp.reshape(cols, (groups, k, length)), (0, 2, 1)))
    return xp.reshape(out, (o, k))


def conv2d(x, weight, bias, window, groups):
    return Conv2d.apply(x, weight, bias, window, groups)


def _first_max_hits(backend, padded, m, window):
    """Per kernel offset: (rows, cols, mask) where the bool mask marks the windows whose
    maximum PyTorch picks sits at that offset: the first maximum in row-major kernel
    order, and in a window whose maximum is NaN, its last NaN (PyTorch's kernels take
    a value that is greater or NaN)."""
    xp = backend.xp
    last_nans = _last_nan_hits(xp, padded, m, window) if backend.may_hold_nan(m) else None
    # A window of -inf (padding included) has its maximum in the padding too: only cells
    # of the input may hold it, as PyTorch's kernels start from the first of those.
    inside = _inside_input(xp, window) if any(window.padding) else None
    unclaimed = None  # windows whose maximum is not found yet (a NaN window stays so)
    last = window.kernel[0] * window.kernel[1] - 1
    for k, rows, cols in window.offsets():
        hit = padded[..., rows, cols] == m
        if inside is not None:
            hit &= inside[k]
        if unclaimed is None:
            unclaimed = ~hit
        else:
            hit &= unclaimed
            if k != last:
                unclaimed ^= hit  # hit lies within unclaimed: this clears exactly the hits
        if last_nans is not None:
            hit |= last_nans[k]
        yield rows, cols, hit


def _inside_input(xp, window):
    """Per kernel offset, an (OH, OW) bool array: the windows whose cell at that offset
    lies inside the input, not in its padding."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = window.kernel, window.stride, window.dilation, window.out_size
    (h, w), (top, _, left, _) = window.in_size, window.padding
    out = []
    for i in range(kh):
        rows = xp.arange(oh) * sh + (i * dh - top)
        rows_inside = xp.reshape((rows >= 0) & (rows < h), (oh, 1))
        for j in range(kw):
            cols = xp.arange(ow) * sw + (j * dw - left)
            out.append(rows_inside & ((cols >= 0) & (cols < w)))
    return out


def _last_nan_hits(xp, padded, m, window):
    """Per kernel offset, the windows whose maximum is NaN and whose last NaN sits at
    that offset: a walk over the offsets backwards, in the rare case of a NaN."""
    unseen = xp.isnan(m)  # NaN windows whose last NaN is not found yet
    hits = [None] * (window.kernel[0] * window.kernel[1])
    for k, rows, cols in reversed(window.offsets()):
        hits[k] = xp.isnan(padded[..., rows, cols]) & unseen
        unseen = unseen & ~hits[k]
    return hits


def _pool_grad_buffer(backend, shape, dtype, window):
    """Memory for a pooled activation's gradient (N, C, H, W), laid out as (C, N, H, W),
    the layout of conv2d's outputs, so that it matches the activation; in scratch
    memory, which the gradients of same-sized activations reuse from step to step.
    It is zeroed where the masked writes will not land: everywhere when windows
    overlap or leave gaps, else only the rows and columns past the last window (the
    writes cover the rest, and zeroing all of it first cost 10% of the gradient)."""
    n, c, h, w = shape
    out = backend.xp.permute_dims(backend.scratch((c, n, h, w), dtype), (1, 0, 2, 3))
    if not window.tiles:
        out[...] = 0
        return out
    (kh, kw), (oh, ow) = window.kernel, window.out_size
    out[..., oh * kh:, :] = 0
    out[..., :oh * kh, ow * kw:] = 0
    return out


class MaxPool2d(Function):
    """Max over each window: an elementwise maximum across the KH*KW kernel-offset
    slices, so the work is vectorized over all windows at once."""

    @staticmethod
    def forward(ctx, x, window):
        xp = x._backend.xp
        padded = window.pad(xp, x.data, -math.inf)
        m = None
        for _, rows, cols in window.offsets():
            m = padded[..., rows, cols] if m is None else xp.maximum(m, padded[..., rows, cols])
        if window.kernel == (1, 1):  # m is still a view of the input
            m = xp.asarray(m, copy=True)
        ctx.window = window
        ctx.save_for_backward(x, m)
        return m

    @staticmethod
    def backward(ctx, gy):
        x, m = ctx.saved_tensors
        return MaxPool2dGrad.apply(gy, x, m, ctx.window), None


class MaxPool2dGrad(Function):
    """Sends each window's gradient to its maximum (see _first_max_hits): one masked
    write per kernel offset, never a loop over pixels. Linear in ``gy``."""

    @staticmethod
    def forward(ctx, gy, x, m, window):
        backend = gy._backend
        xp = backend.xp
        ctx.window = window
        ctx.save_for_backward(x, m)
        padded = window.pad(xp, x.data, -math.inf)
        g = gy.data
        out = _pool_grad_buffer(backend, padded.shape, g.dtype, window)
        overlapping = window.overlapping
        for rows, cols, hit in _first_max_hits(backend, padded, m.data, window):
            keep = backend.keep_mask(hit)  # the generator is done with hit
            if overlapping:
                out[..., rows, cols] = out[..., rows, cols] + backend.masked(g, keep)
            else:  # straight into the strided slice: one pass, not a temporary and a copy
                backend.masked(g, keep, out=out[..., rows, cols])
        return window.crop(out)

    @staticmethod
    def backward(ctx, ggx):
        x, m = ctx.saved_tensors
        return MaxPool2dSelect.apply(ggx, x, m, ctx.window), None, None, None


class MaxPool2dSelect(Function):
    """Each window's value at the position of its maximum (of ``x``, see _first_max_hits): the
    adjoint of MaxPool2dGrad, for second derivatives."""

    @staticmethod
    def forward(ctx, values, x, m, window):
        backend = values._backend
        xp = backend.xp
        ctx.window = window
        ctx.save_for_backward(x, m)
        padded_x = window.pad(xp, x.data, -math.inf)
        padded_v = window.pad(xp, values.data, 0)
        out = None
        for rows, cols, hit in _first_max_hits(backend, padded_x, m.data, window):
            part = backend.masked(padded_v[..., rows, cols], backend.keep_mask(hit))
            out = part if out is None else out + part
        return out

    @staticmethod
    def backward(ctx, gy):
        x, m = ctx.saved_tensors
        return MaxPool2dGrad.apply(gy, x, m, ctx.window), None, None, None


def max_pool2d(x, window):
    return MaxPool2d.apply(x, window)


def max_pool2d_indices(x, m, window):
    """The flat (row * W + col) input index of each window's maximum (see _first_max_hits), as
    PyTorch's return_indices gives; an int64 tensor outside the graph."""
    xp = x._backend.xp
    padded = window.pad(xp, x.data, -math.inf)
    (sh, sw), (dh, dw), (oh, ow) = window.stride, window.dilation, window.out_size
    top, _, left, _ = window.padding
    kw = window.kernel[1]
    base_rows = xp.reshape(xp.arange(oh, dtype=xp.int64) * sh - top, (oh, 1))
    base_cols = xp.arange(ow, dtype=xp.int64) * sw - left
    width = window.in_size[1]
    out = xp.zeros(m.data.shape, dtype=xp.int64)
    for k, (_, _, hit) in enumerate(_first_max_hits(x._backend, padded, m.data, window)):
        i, j = divmod(k, kw)
        flat = (base_rows + i * dh) * width + (base_cols + j * dw)
        out = out + xp.astype(hit, xp.int64) * flat
    return Tensor._make(out, x._backend)


class AvgPool2d(Function):
    """Mean over each window (``divisor``: a number, or an (OH, OW) array where the
    count varies at padded edges): a sum across the kernel-offset slices."""

    @staticmethod
    def forward(ctx, x, window, divisor):
        xp = x._backend.xp
        padded = window.pad(xp, x.data, 0)
        parts = (padded[..., rows, cols] for _, rows, cols in window.offsets())
        ctx.window, ctx.divisor = window, divisor
        total = next(parts)
        second = next(parts, None)
        if second is None:  # a 1x1 kernel: total is a view of the input
            return total / divisor
        total = total + second
        for part in parts:
            total += part
        total /= divisor
        return total

    @staticmethod
    def backward(ctx, gy):
        return AvgPool2dGrad.apply(gy, ctx.window, ctx.divisor), None, None


class AvgPool2dGrad(Function):
    """Spreads each window's gradient evenly over it, one slice write per kernel offset."""

    @staticmethod
    def forward(ctx, gy, window, divisor):
        xp = gy._backend.xp
        ctx.window, ctx.divisor = window, divisor
        share = gy.data / divisor
        out = xp.zeros(gy.data.shape[:-2] + window.padded_size, dtype=share.dtype)
        overlapping = window.overlapping
        for _, rows, cols in window.offsets():
            out[..., rows, cols] = out[..., rows, cols] + share if overlapping else share
        return window.crop(out)

    @staticmethod
    def backward(ctx, ggx):
        return AvgPool2d.apply(ggx, ctx.window, ctx.divisor), None, None


def avg_pool2d(x, window, divisor):
    return AvgPool2d.apply(x, window, divisor)
