"""One time step of an Elman RNN, an LSTM or a GRU, each one op.

The layers in ``nn.layers.recurrent`` project every step's input in one GEMM, then
call these once per step, or the sequence ops of ``recurrent_sequence``, which run
the same step formulas (``_lstm_forward`` and ``_lstm_backward``, ``_gru_forward``
and ``_gru_backward``) in a loop. A plain backward runs the formulas on bare arrays;
under create_graph the same formulas run on Tensors (``TENSOR_MATH``)."""
import functools
import operator
from types import SimpleNamespace

from backends import dtypes

from ..elementwise import ReluGrad, astype, float_sum, relu, tanh
from ..shape import concat, split
from ...function import Function
from ...grad_mode import state as _grad_state
from ...tensor import Tensor


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
        h_new = _rnn_forward(gx._backend, gx.data, h.data, w_hh_t.data, nonlinearity)
        ctx.nonlinearity = nonlinearity
        ctx.save_for_backward(h, w_hh_t, h_new)
        return h_new

    @staticmethod
    def backward(ctx, gy):
        h, w_hh_t, h_new = ctx.saved_tensors
        need_gx, need_h, need_w, _ = ctx.needs_input_grad
        backend = h._backend
        recording = _grad_state.enabled
        matmul = _math(backend).matmul
        if not recording:  # a plain backward: the formulas below on the bare arrays
            gy, h, w_hh_t, h_new = gy.data, h.data, w_hh_t.data, h_new.data
        if recording and ctx.nonlinearity == "relu":
            # ReLU's derivative is a constant mask: its own derivative is 0, sent back
            # through h' (joined to this node), so that a higher derivative of a ReLU RNN
            # whose weights are frozen is zero rather than missing, as PyTorch's
            dz = ReluGrad.apply(gy, Tensor._make(backend.relu_mask(h_new.data), backend), h_new)
        else:
            dz = _rnn_backward(backend, h_new, gy, ctx.nonlinearity)
        grads = (dz if need_gx else None,
                 matmul(dz, w_hh_t.T) if need_h else None,
                 matmul(h.T, dz) if need_w else None,
                 None)
        if recording:
            return grads
        return Tensor._make_each(grads, backend)


def _rnn_forward(backend, gx, h, w_hh_t, nonlinearity):
    """One Elman RNN step on arrays of one dtype and shape: the new h."""
    xp = backend.xp
    z = backend.matmul(h, w_hh_t)
    z += gx
    return xp.tanh(z) if nonlinearity == "tanh" else xp.maximum(z, xp.zeros((), dtype=z.dtype))


def _rnn_backward(backend, h_new, gy, nonlinearity):
    """The gradient at an RNN step's pre-activation from that of its output ``h_new``
    (arrays, or for tanh Tensors too): tanh's 1 - h'^2, or ReLU's mask (not h' <= 0)."""
    if nonlinearity == "tanh":
        return gy * (1 - h_new * h_new)
    return backend.masked(gy, backend.relu_mask(h_new))


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
        ctx.set_materialize_grads(False)  # the gates' gradient is None but in second order
        h_new, c, gates = _lstm_forward(gx._backend, gx.data, h.data, c_prev.data, w_hh_t.data)
        ctx.save_for_backward(h, c_prev, w_hh_t, c, gates)
        return h_new, c, gates

    @staticmethod
    def backward(ctx, gh, gc, g_gates):
        h, c_prev, w_hh_t, c, gates = ctx.saved_tensors
        need_gx, need_h, need_c, need_w = ctx.needs_input_grad
        backend = h._backend
        math = _math(backend)
        if math is not TENSOR_MATH:  # a plain backward: the formulas on the bare arrays
            gh, gc, g_gates, h, c_prev, w_hh_t, c, gates = _arrays(gh, gc, g_gates, h, c_prev, w_hh_t, c, gates)
        dz, dc_prev = _lstm_backward(math, gates, c, c_prev, gh, gc, g_gates)
        grads = (dz if need_gx else None,
                 math.matmul(dz, w_hh_t.T) if need_h else None,
                 dc_prev if need_c else None,
                 math.matmul(h.T, dz) if need_w else None)
        if math is TENSOR_MATH:
            return grads
        return Tensor._make_each(grads, backend)


def _lstm_forward(backend, gx, h, c_prev, w_hh_t):
    """One LSTM step on arrays: the new h and c, and the gate values (stacked i, f, g, o)."""
    xp = backend.xp
    z = backend.matmul(h, w_hh_t)
    if z.dtype == gx.dtype and z.shape == gx.shape:
        z += gx
    else:  # promote or broadcast, as gx + h @ w_hh_t would
        z = gx + z
    gates = _lstm_gates(backend, z)
    i, f, g, o = _blocks(gates, 4)
    c = f * c_prev + i * g
    return o * xp.tanh(c), c, gates


def _lstm_backward(math, gates, c, c_prev, gh, gc, g_gates, into=None):
    """One LSTM step's gradients from those of its h, c and gate values (any may be None):
    at the pre-activations z (which is the gradient of gx, and through w_hh_t of h and of
    the weight), and of c_prev. On arrays or, under create_graph, Tensors (``math``).
    ``into``: an array of the gates' shape and dtype for z's gradient (arrays only), which
    is then returned for it."""
    i, f, g, o = math.blocks(gates, 4)
    tanh_c = math.tanh(c)
    if gh is None:  # only c went on (h is what an LSTM's user reads, so this is rare)
        gh = math.zeros_like(tanh_c)
    dc = _plus(gh * o * (1 - tanh_c * tanh_c), gc)
    # the gradient at each gate's value, then through all four derivatives in one product
    parts = [dc * g, dc * c_prev, dc * i, gh * tanh_c]
    if into is None or g_gates is not None:
        at_values = _plus(math.join(parts, axis=-1), g_gates)
    else:
        at_values = math.join_into(parts, into)
    return math.times(at_values, _gate_derivatives(gates, g, math)), dc * f


class _ArrayMath:
    """The array functions the step formulas use in a plain backward (TENSOR_MATH's
    Tensor ops under create_graph): the backend's namespace under the names they share,
    and its matmul, which multiplies float16 in float32 BLAS (NumPy's own float16 loop
    is tens of times slower) and rounds once, as a Tensor's matmul does."""

    def __init__(self, backend):
        xp = backend.xp
        self.join, self.tanh, self.zeros_like = xp.concat, xp.tanh, xp.zeros_like
        self.matmul, self.join_into = backend.matmul, backend.concat_into

    @staticmethod
    def blocks(a, count):
        return _blocks(a, count)

    # The two below take a fresh array the formulas own and change it in place: an LSTM
    # step's backward then makes one (batch, 4 * hidden) array fewer and copies no
    # pieces together (LSTM step at batch 32: 2.4% faster), the same bits.
    @staticmethod
    def with_block(a, start, stop, values):
        """``a`` with its last axis's ``start:stop`` replaced by ``values``."""
        a[..., start:stop] = values
        return a

    @staticmethod
    def times(a, b):
        """``a * b``, into ``a`` where that is its shape and dtype."""
        if a.shape != b.shape or a.dtype != b.dtype:
            return a * b
        a *= b
        return a


TENSOR_MATH = SimpleNamespace(join=concat, tanh=tanh, zeros_like=lambda t: t * 0, matmul=operator.matmul,
                              blocks=lambda t, count: split(t, count, axis=-1),
                              with_block=lambda t, start, stop, values: concat(
                                  [t[..., :start], values, t[..., stop:]], axis=-1),
                              times=operator.mul)


def _math(backend):
    """TENSOR_MATH under create_graph (the backward is recorded), else the backend's arrays'."""
    return TENSOR_MATH if _grad_state.enabled else _array_math(backend)


@functools.lru_cache(maxsize=None)
def _array_math(backend):
    return _ArrayMath(backend)


def _arrays(*tensors):
    return tuple(None if t is None else t.data for t in tensors)


def _gate_derivatives(gates, g, math):
    """Each LSTM gate's derivative at its pre-activation, stacked as the gates are:
    v (1 - v) for the sigmoid gates i, f and o, computed over the whole array at once,
    and 1 - g^2 for the tanh gate g in its place (arrays, or Tensors under create_graph)."""
    sigmoid_derivative = gates * (1 - gates)
    n = g.shape[-1]
    return math.with_block(sigmoid_derivative, 2 * n, 3 * n, 1 - g * g)


def _plus(a, b):
    """a + b, where either may be None: a gradient that never arrived."""
    if a is None:
        return b
    return a if b is None else a + b


def _data(t):
    return None if t is None else t.data


def _blocks(gates, count):
    """The ``count`` equal blocks of the last axis (views)."""
    n = gates.shape[-1] // count
    return tuple(gates[..., k * n:(k + 1) * n] for k in range(count))


def _common_dtype(*tensors):
    """The tensors (None passes through) cast to their promoted dtype, as the composed
    ops would: a fused op then computes in one dtype, and the casts' backward gives
    each input a gradient of its own dtype."""
    present = [t for t in tensors if t is not None]
    first = present[0].data.dtype
    if all(t.data.dtype == first for t in present):
        return tensors  # the usual case, checked on the arrays: no promotion, once per step
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
        ctx.set_materialize_grads(False)  # the gates' gradient is None but in second order
        h_new, gates, gh_n = _gru_forward(gx._backend, gx.data, h.data, w_hh_t.data, _data(b_hh))
        ctx.save_for_backward(h, w_hh_t, b_hh, gh_n, gates)
        return h_new, gates

    @staticmethod
    def backward(ctx, g_h, g_gates):
        h, w_hh_t, b_hh, gh_n, gates = ctx.saved_tensors
        need_gx, need_h, need_w, need_b = ctx.needs_input_grad
        backend, dtype = h._backend, h.dtype
        math = _math(backend)
        if g_h is None:  # only the gates' gradient came (second order): h' had none
            g_h = Tensor._make(backend.xp.zeros_like(h.data), backend)
        if math is TENSOR_MATH:  # gh's n part recomputed, so that it is in the graph
            size = h.shape[-1]
            gh_n = h @ w_hh_t[:, 2 * size:]
            if b_hh is not None:
                gh_n = gh_n + b_hh[2 * size:]
        else:  # a plain backward: the formulas on the bare arrays
            g_h, g_gates, h, w_hh_t, gh_n, gates = _arrays(g_h, g_gates, h, w_hh_t, gh_n, gates)
        g_gx, g_gh, g_h_direct = _gru_backward(math, gates, gh_n, h, g_h, g_gates)
        grads = (g_gx if need_gx else None,
                 g_h_direct + math.matmul(g_gh, w_hh_t.T) if need_h else None,
                 math.matmul(h.T, g_gh) if need_w else None,
                 _bias_gradient(math, backend, g_gh, dtype) if need_b else None)
        if math is TENSOR_MATH:
            return grads
        return Tensor._make_each(grads, backend)


def _bias_gradient(math, backend, g_gh, dtype):
    """The sum of g_gh's rows: float16 adds up in float32 and rounds once, as a Tensor's
    sum does (under create_graph) and PyTorch's does."""
    return g_gh.sum(axis=0) if math is TENSOR_MATH else float_sum(backend, g_gh, dtype, axis=0)


def _gru_forward(backend, gx, h, w_hh_t, b_hh):
    """One GRU step on arrays: the new h, the gate values (stacked r, z, n) and a copy of
    gh's n part, which backward needs (not a view keeping all of gh)."""
    xp = backend.xp
    size = h.shape[-1]
    gh = backend.matmul(h, w_hh_t)
    if b_hh is not None:
        gh = gh + b_hh
    rz = backend.sigmoid(gx[..., :2 * size] + gh[..., :2 * size])
    gh_n = xp.asarray(gh[..., 2 * size:], copy=True)
    n = xp.tanh(gx[..., 2 * size:] + rz[..., :size] * gh_n)
    z = rz[..., size:]
    return n + z * (h - n), xp.concat([rz, n], axis=-1), gh_n


def _gru_backward(math, gates, gh_n, h, g_h, g_gates):
    """One GRU step's gradients from those of its new h and its gate values (None but in
    second order): at gx, at gh = h @ w_hh_t + b_hh (through which h, the weight and the
    bias get theirs), and the part of h's that skips gh (g_h * z). On arrays or Tensors."""
    r, z, n = math.blocks(gates, 3)
    g_r, g_z, g_n = (None,) * 3 if g_gates is None else math.blocks(g_gates, 3)
    dn = _plus(g_h * (1 - z), g_n) * (1 - n * n)  # at the tanh's input
    dr = _plus(dn * gh_n, g_r) * r * (1 - r)       # at the sigmoids' inputs
    dz = _plus(g_h * (h - n), g_z) * z * (1 - z)
    return math.join([dr, dz, dn], axis=-1), math.join([dr, dz, dn * r], axis=-1), g_h * z


def gru_step(gx, h, w_hh_t, b_hh):
    """h after one GRU step (see GRUStep)."""
    h, _ = GRUStep.apply(*_common_dtype(gx, h, w_hh_t, b_hh))
    return h
