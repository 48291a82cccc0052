"""One time step of an Elman RNN, an LSTM or a GRU, each one op.

The layers in ``nn.layers.recurrent`` project every step's input in one GEMM, then
call these once per step. A plain backward runs each step's formulas on bare
arrays; under create_graph the same formulas run on Tensors."""
from backends import dtypes

from ..elementwise import ReluGrad, astype, relu, tanh
from ..shape import concat, reshape, split, stack
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
        elif recording:  # ReLU's derivative is a constant mask: its own derivative is 0,
            # sent back through h' (joined to this node), so that a higher derivative of a
            # ReLU RNN whose weights are frozen is zero rather than missing, as PyTorch's
            dz = ReluGrad.apply(gy, Tensor._make(backend.relu_mask(h_new.data), backend), h_new)
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
        ctx.set_materialize_grads(False)  # the gates' gradient is None but in second order
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
        if gh is None:  # only c went on (h is what an LSTM's user reads, so this is rare)
            gh = Tensor._make(xp.zeros_like(c.data), backend)
        no_gates_grad = (None,) * 4
        if recording:  # create_graph: the same formulas below, on Tensors
            i, f, g, o = split(gates, 4, axis=-1)
            gi, gf, gg, go = no_gates_grad if g_gates is None else split(g_gates, 4, axis=-1)
            tanh_c = tanh(c)
        else:
            i, f, g, o = _blocks(gates.data, 4)
            gi, gf, gg, go = no_gates_grad if g_gates is None else _blocks(g_gates.data, 4)
            tanh_c = xp.tanh(c.data)
            gh, gc, h, c_prev, w_hh_t = gh.data, _data(gc), h.data, c_prev.data, w_hh_t.data
        join = concat if recording else xp.concat
        dc = _plus(gh * o * (1 - tanh_c * tanh_c), gc)
        dz = None
        if need_gx or need_h or need_w:
            # the gradient at each gate's value, then through all four derivatives in one product
            at_values = join([_plus(dc * g, gi), _plus(dc * c_prev, gf), _plus(dc * i, gg), _plus(gh * tanh_c, go)],
                             axis=-1)
            dz = at_values * _gate_derivatives(gates if recording else gates.data, g, join)
        grads = (dz if need_gx else None,
                 dz @ w_hh_t.T if need_h else None,
                 dc * f if need_c else None,
                 h.T @ dz if need_w else None)
        if recording:
            return grads
        return tuple(None if grad is None else Tensor._make(grad, backend) for grad in grads)


def _gate_derivatives(gates, g, join):
    """Each LSTM gate's derivative at its pre-activation, stacked as the gates are:
    v (1 - v) for the sigmoid gates i, f and o, computed over the whole array at once,
    and 1 - g^2 for the tanh gate g (arrays, or Tensors under create_graph)."""
    sigmoid_derivative = gates * (1 - gates)
    n = g.shape[-1]
    return join([sigmoid_derivative[..., :2 * n], 1 - g * g, sigmoid_derivative[..., 3 * n:]], axis=-1)


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


class LSTMSequence(Function):
    """A one-layer, one-direction LSTM over a whole sequence in one op: LSTMStep's
    formulas in a loop over time on bare arrays, as PyTorch runs its LSTM as one op.
    Per time step, the step op paid its node's bookkeeping and the layer's Python twice
    (forward and backward); here a step is its array work alone, and the recurrent
    weight's gradient is one GEMM over all steps instead of one per step.

    ``projected`` is every step's input projection, biases included, (steps * batch,
    4 * hidden) time-major; ``h0`` and ``c0`` are (batch, hidden); ``reverse`` runs the
    steps from last to first (a bidirectional layer's second direction). Its outputs are
    every step's h and c and the gate values, each (steps, batch, .) in time order;
    lstm_sequence drops the gates. It keeps h0, c0, w_hh_t and its outputs; a plain
    backward runs on the arrays, and under create_graph the same loop runs on the kept
    outputs as Tensors joined to this node, so the gradient stays differentiable."""

    @staticmethod
    def forward(ctx, projected, h0, c0, w_hh_t, steps, reverse):
        ctx.set_materialize_grads(False)
        backend = projected._backend
        xp = backend.xp
        batch, size = h0.data.shape
        gx = xp.reshape(projected.data, (steps, batch, 4 * size))
        dtype = gx.dtype
        hs = xp.empty((steps, batch, size), dtype=dtype)
        cs = xp.empty((steps, batch, size), dtype=dtype)
        gates = xp.empty((steps, batch, 4 * size), dtype=dtype)
        h, c, w = h0.data, c0.data, w_hh_t.data
        for t in _time_order(steps, reverse):
            z = xp.matmul(h, w)
            z += gx[t, ...]
            gates_t = _lstm_gates(backend, z)
            i, f, g, o = _blocks(gates_t, 4)
            c = f * c + i * g
            h = o * xp.tanh(c)
            gates[t, ...], cs[t, ...], hs[t, ...] = gates_t, c, h  # (the standard indexes every axis)
        ctx.reverse = reverse
        ctx.save_for_backward(h0, c0, w_hh_t, hs, cs, gates)
        return hs, cs, gates

    @staticmethod
    def backward(ctx, g_hs, g_cs, g_gates):
        h0, c0, w_hh_t, hs, cs, gates = ctx.saved_tensors
        need_x, need_h0, need_c0, need_w, _, _ = ctx.needs_input_grad
        backend = h0._backend
        xp = backend.xp
        recording = _grad_state.enabled
        if recording:  # create_graph: the same loop below, on Tensors
            join, stacked, reshaped, tanh_of = concat, stack, reshape, tanh
            blocks = lambda a: split(a, 4, axis=-1)  # noqa: E731
        else:
            join, stacked, reshaped, tanh_of = xp.concat, xp.stack, xp.reshape, xp.tanh
            blocks = lambda a: _blocks(a, 4)  # noqa: E731
            h0, c0, w_hh_t, hs, cs, gates = (a.data for a in (h0, c0, w_hh_t, hs, cs, gates))
            g_hs, g_cs, g_gates = _data(g_hs), _data(g_cs), _data(g_gates)
        steps, reverse = hs.shape[0], ctx.reverse
        first = steps - 1 if reverse else 0  # the step that starts from h0, c0
        w_t = w_hh_t.T
        dz = [None] * steps
        dh = dc = None  # the gradients the later steps (in time order) sent to this one
        for t in reversed(_time_order(steps, reverse)):
            before = t + 1 if reverse else t - 1
            c_prev = c0 if t == first else cs[before, ...]
            i, f, g, o = blocks(gates[t, ...])
            tanh_c = tanh_of(cs[t, ...])
            gh = _plus(dh, None if g_hs is None else g_hs[t, ...])
            gc = _plus(dc, None if g_cs is None else g_cs[t, ...])
            if gh is None:  # nothing came for h at this step: only c's gradient (or none) flows
                gh = xp.zeros(tanh_c.shape, dtype=tanh_c.dtype) if not recording else tanh_c * 0
            dc_t = _plus(gh * o * (1 - tanh_c * tanh_c), gc)
            at_values = join([dc_t * g, dc_t * c_prev, dc_t * i, gh * tanh_c], axis=-1)
            if g_gates is not None:  # second order: a gradient for the gate values themselves
                at_values = at_values + g_gates[t, ...]
            dz[t] = at_values * _gate_derivatives(gates[t, ...], g, join)
            if t != first or need_h0:
                dh = dz[t] @ w_t
            dc = dc_t * f
        flat = reshaped(stacked(dz, axis=0), (-1, gates.shape[-1]))  # (steps * batch, 4 * hidden), time-major
        grad_w = None
        if need_w:  # one GEMM over all steps: each step's h before it, against its dz
            start = reshaped(h0, (1,) + tuple(h0.shape))
            h_before = join([start, hs[:-1, ...]] if not reverse else [hs[1:, ...], start], axis=0)
            grad_w = reshaped(h_before, (-1, h0.shape[-1])).T @ flat
        grads = (flat if need_x else None, dh if need_h0 else None, dc if need_c0 else None, grad_w)
        if recording:
            return grads + (None, None)
        return tuple(None if a is None else Tensor._make(a, backend) for a in grads) + (None, None)


def _time_order(steps, reverse):
    return range(steps - 1, -1, -1) if reverse else range(steps)


def lstm_sequence(projected, h0, c0, w_hh_t, steps, reverse=False):
    """Every step's h as (steps, batch, hidden), and the final h and c, of a one-layer,
    one-direction LSTM (see LSTMSequence)."""
    projected, h0, c0, w_hh_t = _common_dtype(projected, h0, c0, w_hh_t)
    hs, cs, _ = LSTMSequence.apply(projected, h0, c0, w_hh_t, steps, reverse)
    last = 0 if reverse else steps - 1
    return hs, hs[last, ...], cs[last, ...]


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
        if g_h is None:  # only the gates' gradient came (second order): h' had none
            g_h = Tensor._make(xp.zeros_like(h.data), backend)
        no_gates_grad = (None,) * 3
        if recording:  # create_graph: the same formulas below, on Tensors
            r, z, n = split(gates, 3, axis=-1)
            g_r, g_z, g_n = no_gates_grad if g_gates is None else split(g_gates, 3, axis=-1)
            gh_n = h @ w_hh_t[:, 2 * size:]
            if b_hh is not None:
                gh_n = gh_n + b_hh[2 * size:]
        else:
            r, z, n = _blocks(gates.data, 3)
            g_r, g_z, g_n = no_gates_grad if g_gates is None else _blocks(g_gates.data, 3)
            g_h, h, w_hh_t, gh_n = g_h.data, h.data, w_hh_t.data, gh_n.data
        dn = _plus(g_h * (1 - z), g_n) * (1 - n * n)  # at the tanh's input
        dr = _plus(dn * gh_n, g_r) * r * (1 - r)       # at the sigmoids' inputs
        dz = _plus(g_h * (h - n), g_z) * z * (1 - z)
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
