"""A one-layer, one-direction Elman RNN, LSTM or GRU over a whole sequence, each one
op, as PyTorch runs its recurrent layers.

Step by step, each time step paid an op's bookkeeping and the layer's Python twice
(forward and backward); here a step is its array work alone (the step formulas of
``recurrent``), and the recurrent weight's gradient is one GEMM over all steps
instead of one per step. ``projected`` is every step's input projection (steps *
batch, gates * hidden), time-major, which the layer computes in one GEMM; ``reverse``
runs the steps from last to first (a bidirectional layer's second direction).

Each op keeps its inputs and, per step, the arrays its backward needs (h among them:
its output, which the caller may change in place, is not what it keeps). A plain
backward frees those but h as it passes them (unless retain_graph; every h serves the
weight's gradient at the end): the allocator
then reuses their blocks for the backward's own arrays, where arrays kept to the end
of backward (or one (steps, batch, gates * hidden) array) took fresh pages, and page
faults, at every call. Under create_graph the op recomputes its steps with the step op and
differentiates that graph, recorded (as activation checkpointing does), so the
gradient differentiates again to any order.

Each forward reads W_hh (transposed, as the layers pass it) through the backend's
``gemm_operand``: on NumPy a row-major copy, made once, which each step's GEMM reads
faster than the column-major view (an LSTM step at batch 32, hidden 64: 17 -> 10 us).
Backward multiplies by W_hh itself (``w_hh_t.T``), row-major already."""
from ..elementwise import float_sum
from ..shape import split, stack
from ...function import Function
from ...grad_mode import retains_graph, state as _grad_state
from ...tensor import Tensor
from .recompute import recomputed_backward
from .recurrent import (GRUStep, LSTMStep, RNNStep, _array_math, _arrays, _common_dtype, _gru_backward,
                        _gru_forward, _lstm_backward, _lstm_forward, _plus, _rnn_backward, _rnn_forward)


class RNNSequence(Function):
    """Output: every step's h, (steps, batch, hidden) in time order. Keeps, per step, h,
    which is all its backward needs besides its inputs."""

    @staticmethod
    def forward(ctx, projected, h0, w_hh_t, steps, reverse, nonlinearity):
        backend = projected._backend
        gx, out = _inputs_and_outputs(backend, projected, h0, steps, 1)
        hs = [None] * steps
        h, w = h0.data, backend.gemm_operand(w_hh_t.data)
        for t in _time_order(steps, reverse):
            h = hs[t] = _rnn_forward(backend, gx[t, ...], h, w, nonlinearity)
            out[t, ...] = h
        ctx.steps, ctx.reverse, ctx.nonlinearity = steps, reverse, nonlinearity
        ctx.save_for_backward(projected, h0, w_hh_t, *hs)
        return out

    @staticmethod
    def backward(ctx, g_hs):
        if _grad_state.enabled:
            return recomputed_backward(ctx, _rnn_steps, (g_hs,), 3)
        steps, reverse = ctx.steps, ctx.reverse
        (h0, w_hh_t), (hs,) = _take_saved(ctx, 1)
        g_hs = g_hs.data
        need_x, need_h0, need_w, _, _, _ = ctx.needs_input_grad
        backend = ctx._backend
        xp, matmul = backend.xp, backend.matmul
        order = _time_order(steps, reverse)
        first = order[0]
        w_t = w_hh_t.T
        dz = [None] * steps
        dh = None
        for t in reversed(order):
            dz[t] = _rnn_backward(backend, hs[t], _plus(dh, g_hs[t, ...]), ctx.nonlinearity)
            if t != first or need_h0:
                dh = matmul(dz[t], w_t)
        flat = xp.reshape(xp.stack(dz, axis=0), (-1, dz[0].shape[-1]))
        grads = (flat if need_x else None, dh if need_h0 else None,
                 _weight_gradient(backend, h0, hs, flat, reverse) if need_w else None)
        return Tensor._make_each(grads, ctx._backend) + (None, None, None)


class LSTMSequence(Function):
    """Outputs: every step's h, (steps, batch, hidden) in time order, and the last c.
    Keeps, per step, h, c and the gate values."""

    @staticmethod
    def forward(ctx, projected, h0, c0, w_hh_t, steps, reverse):
        ctx.set_materialize_grads(False)
        backend = projected._backend
        gx, out = _inputs_and_outputs(backend, projected, h0, steps, 4)
        hs, cs, gates = [None] * steps, [None] * steps, [None] * steps
        h, c, w = h0.data, c0.data, backend.gemm_operand(w_hh_t.data)
        for t in _time_order(steps, reverse):
            h, c, gates[t] = _lstm_forward(backend, gx[t, ...], h, c, w)
            hs[t], cs[t] = h, c
            out[t, ...] = h  # (the standard indexes every axis)
        ctx.steps, ctx.reverse = steps, reverse
        ctx.save_for_backward(projected, h0, c0, w_hh_t, *hs, *cs, *gates)
        return out, c

    @staticmethod
    def backward(ctx, g_hs, g_c):
        if _grad_state.enabled:
            return recomputed_backward(ctx, _lstm_steps, (g_hs, g_c), 4)
        steps, reverse = ctx.steps, ctx.reverse
        (h0, c0, w_hh_t), (hs, cs, gates) = _take_saved(ctx, 3)
        g_hs, g_c = _arrays(g_hs, g_c)
        need_x, need_h0, need_c0, need_w, _, _ = ctx.needs_input_grad
        backend = ctx._backend
        xp, math = backend.xp, _array_math(backend)
        order = _time_order(steps, reverse)
        first, last = order[0], order[-1]  # the steps that start from h0, c0 and that give c
        w_t = w_hh_t.T
        # the gradient at each step's pre-activations, which is gx's: each step writes its
        # own time-major slot (the engine hands g_hs and g_c over in the gates' dtype), and
        # no stack of the steps at the end copies it all
        dz = xp.empty((steps,) + tuple(gates[first].shape), dtype=gates[first].dtype)
        dh = dc = None  # the gradients the later steps (in time order) sent to this one
        for t in reversed(order):
            c_prev = c0 if t == first else cs[t + 1 if reverse else t - 1]
            gh = _plus(dh, None if g_hs is None else g_hs[t, ...])
            dz_t, dc = _lstm_backward(math, gates[t], cs[t], c_prev, gh, _plus(dc, g_c if t == last else None), None,
                                      dz[t, ...])
            if t != first or need_h0:
                dh = math.matmul(dz_t, w_t)
            gates[t] = cs[t] = None  # (the step after it, which took cs[t] as c_prev, ran before)
        flat = xp.reshape(dz, (-1, dz.shape[-1]))
        grads = (flat if need_x else None, dh if need_h0 else None, dc if need_c0 else None,
                 _weight_gradient(backend, h0, hs, flat, reverse) if need_w else None)
        return Tensor._make_each(grads, ctx._backend) + (None, None)


class GRUSequence(Function):
    """Output: every step's h, (steps, batch, hidden) in time order. Keeps, per step, h,
    the gate values and gh's n part."""

    @staticmethod
    def forward(ctx, projected, h0, w_hh_t, b_hh, steps, reverse):
        backend = projected._backend
        gx, out = _inputs_and_outputs(backend, projected, h0, steps, 3)
        hs, gates, gh_ns = [None] * steps, [None] * steps, [None] * steps
        h, w, b = h0.data, backend.gemm_operand(w_hh_t.data), None if b_hh is None else b_hh.data
        for t in _time_order(steps, reverse):
            h, gates[t], gh_ns[t] = _gru_forward(backend, gx[t, ...], h, w, b)
            hs[t] = out[t, ...] = h
        ctx.steps, ctx.reverse = steps, reverse
        ctx.save_for_backward(projected, h0, w_hh_t, b_hh, *hs, *gates, *gh_ns)
        return out

    @staticmethod
    def backward(ctx, g_hs):
        if _grad_state.enabled:
            return recomputed_backward(ctx, _gru_steps, (g_hs,), 4)
        steps, reverse = ctx.steps, ctx.reverse
        (h0, w_hh_t, _), (hs, gates, gh_ns) = _take_saved(ctx, 3)
        dtype, g_hs = g_hs.dtype, g_hs.data
        need_x, need_h0, need_w, need_b, _, _ = ctx.needs_input_grad
        backend = ctx._backend
        xp, math = backend.xp, _array_math(backend)
        order = _time_order(steps, reverse)
        first = order[0]
        w_t = w_hh_t.T
        g_gx, g_gh = [None] * steps, [None] * steps
        dh = None
        for t in reversed(order):
            h_prev = h0 if t == first else hs[t + 1 if reverse else t - 1]
            g_gx[t], g_gh[t], direct = _gru_backward(math, gates[t], gh_ns[t], h_prev, _plus(dh, g_hs[t, ...]), None)
            if t != first or need_h0:
                dh = direct + math.matmul(g_gh[t], w_t)
            gates[t] = gh_ns[t] = None
        flat_gh = xp.reshape(xp.stack(g_gh, axis=0), (-1, g_gh[0].shape[-1])) if need_w or need_b else None
        grads = (xp.reshape(xp.stack(g_gx, axis=0), (-1, g_gx[0].shape[-1])) if need_x else None,
                 dh if need_h0 else None,
                 _weight_gradient(backend, h0, hs, flat_gh, reverse) if need_w else None,
                 float_sum(backend, flat_gh, dtype, axis=0) if need_b else None)  # float16 in float32
        return Tensor._make_each(grads, ctx._backend) + (None, None)


def _inputs_and_outputs(backend, projected, h0, steps, gates):
    """The projection as (steps, batch, gates * hidden), and the output array for every step's h."""
    xp = backend.xp
    batch, size = h0.data.shape
    gx = xp.reshape(projected.data, (steps, batch, gates * size))
    return gx, xp.empty((steps, batch, size), dtype=gx.dtype)


def _take_saved(ctx, per_step):
    """The arrays an op saved: its inputs after the projection, then ``per_step`` lists
    of one array per step. Unless retain_graph, the op lets go of them, so that each is
    freed once the caller drops it (see the module's notes)."""
    saved = _arrays(*ctx.saved_tensors)
    if not retains_graph():
        ctx.release_saved()
    fixed = len(saved) - per_step * ctx.steps
    lists = tuple(list(saved[fixed + k * ctx.steps:fixed + (k + 1) * ctx.steps]) for k in range(per_step))
    return saved[1:fixed], lists


def _weight_gradient(backend, h0, hs, flat, reverse):
    """The recurrent weight's gradient, the sum over steps of h_prev^T @ (the gradient at
    gh), in one GEMM: each step's h before it (h0 for the first; ``hs`` holds every
    step's h) against its rows of ``flat`` (every step's gradient at gh, time-major)."""
    before = [h0, *hs[:-1]] if not reverse else [*hs[1:], h0]
    return backend.matmul(backend.xp.concat(before, axis=0).T, flat)


def _rnn_steps(ctx, projected, h0, w_hh_t):
    """RNNSequence's output again, with the step op."""
    hs, _ = _steps(ctx, projected, (h0,), lambda gx, state: (RNNStep.apply(gx, state[0], w_hh_t, ctx.nonlinearity),))
    return (hs,)


def _lstm_steps(ctx, projected, h0, c0, w_hh_t):
    """LSTMSequence's outputs again, with the step op."""
    hs, (h, c) = _steps(ctx, projected, (h0, c0), lambda gx, state: LSTMStep.apply(gx, *state, w_hh_t)[:2])
    return hs, c


def _gru_steps(ctx, projected, h0, w_hh_t, b_hh):
    """GRUSequence's output again, with the step op."""
    hs, _ = _steps(ctx, projected, (h0,), lambda gx, state: GRUStep.apply(gx, state[0], w_hh_t, b_hh)[:1])
    return (hs,)


def _steps(ctx, projected, state, step):
    steps = ctx.steps
    rows = split(projected, steps, axis=0) if steps > 1 else [projected]
    hs = [None] * steps
    for t in _time_order(steps, ctx.reverse):
        state = step(rows[t], state)
        hs[t] = state[0]
    return stack(hs, axis=0), state


def _time_order(steps, reverse):
    return range(steps - 1, -1, -1) if reverse else range(steps)


def _check_shapes(op, projected, h0, w_hh_t, steps, gates):
    """The shapes the layers give: (steps * batch, gates * hidden), (batch, hidden) and
    (hidden, gates * hidden), with at least one step."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"{op}: steps must be a positive int, got {steps!r}")
    if h0.ndim != 2:
        raise ValueError(f"{op}: expected h0 of shape (batch, hidden), got {h0.shape}")
    batch, hidden = h0.shape
    expected = ((steps * batch, gates * hidden), (hidden, gates * hidden))
    if (projected.shape, w_hh_t.shape) != expected:
        raise ValueError(f"{op}: with h0 of shape {h0.shape} and {steps} steps, expected the projection and "
                         f"w_hh_t of shapes {expected[0]} and {expected[1]}, got {projected.shape} and "
                         f"{w_hh_t.shape}")


def rnn_sequence(projected, h0, w_hh_t, nonlinearity, steps, reverse=False):
    """Every step's h as (steps, batch, hidden), and the final h (see RNNSequence)."""
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn_sequence: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    _check_shapes("rnn_sequence", projected, h0, w_hh_t, steps, 1)
    projected, h0, w_hh_t = _common_dtype(projected, h0, w_hh_t)
    hs = RNNSequence.apply(projected, h0, w_hh_t, steps, reverse, nonlinearity)
    return hs, hs[0 if reverse else steps - 1, ...]


def lstm_sequence(projected, h0, c0, w_hh_t, steps, reverse=False):
    """Every step's h as (steps, batch, hidden), and the final h and c (see LSTMSequence)."""
    _check_shapes("lstm_sequence", projected, h0, w_hh_t, steps, 4)
    if c0.shape != h0.shape:
        raise ValueError(f"lstm_sequence: expected c0 of h0's shape {h0.shape}, got {c0.shape}")
    projected, h0, c0, w_hh_t = _common_dtype(projected, h0, c0, w_hh_t)
    hs, c_n = LSTMSequence.apply(projected, h0, c0, w_hh_t, steps, reverse)
    return hs, hs[0 if reverse else steps - 1, ...], c_n


def gru_sequence(projected, h0, w_hh_t, b_hh, steps, reverse=False):
    """Every step's h as (steps, batch, hidden), and the final h (see GRUSequence)."""
    _check_shapes("gru_sequence", projected, h0, w_hh_t, steps, 3)
    projected, h0, w_hh_t, b_hh = _common_dtype(projected, h0, w_hh_t, b_hh)
    hs = GRUSequence.apply(projected, h0, w_hh_t, b_hh, steps, reverse)
    return hs, hs[0 if reverse else steps - 1, ...]
