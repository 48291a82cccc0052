"""Recurrent layers RNN, LSTM and GRU, with PyTorch's parameter names, shapes and gate order.

Each layer and direction runs in two parts: one GEMM projects the inputs of
every time step at once, then the recurrence, which needs the previous step's
hidden state, runs over time in one op (nn_fused.recurrent_sequence, whose
backward is backpropagation through time), or, for an LSTM with a projection,
as one step op per time step.

A PackedSequence input (nn.utils.rnn) runs the step ops on the prefix of the
batch still active at each step (sequences are sorted by decreasing length), so
each sequence's final state is the one after its own last step.
"""
import itertools
import math
import numbers
import warnings

import backends
from autograd import Tensor, concat, getitem, reshape, split, swapaxes
from autograd.autocast_mode import autocast_op
from autograd.ops import nn_fused
from autograd.tensor import default_dtype
from autograd.user_code import user_stacklevel
from backends import dtypes

from .. import functional as F
from .. import init
from ..functional.arguments import same_dtype
from ..module import Module
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .arguments import positive_int


class RNNBase(Module):
    """What RNN, LSTM and GRU share: parameters, shapes, layers, directions, dropout.
    A subclass sets ``gates`` (blocks stacked in each weight), ``n_states``, ``_step``
    and, to run a whole sequence as one op, ``_sequence``."""

    gates = 1
    n_states = 1           # 2 for the LSTM's (h, c)
    fold_hidden_bias = True  # bias_hh may join bias_ih in the input projection (not for the GRU)
    projectable = False    # whether proj_size may be nonzero (the LSTM's alone, as in PyTorch)

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None, *, proj_size=0):
        super().__init__()
        name = type(self).__name__
        input_size, hidden_size, num_layers = check_sizes(name, input_size=input_size, hidden_size=hidden_size,
                                                          num_layers=num_layers)
        proj_size = check_proj_size(name, proj_size, hidden_size, self.projectable)
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be a number in [0, 1], got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout={dropout} acts between layers, so it does nothing with "
                          "num_layers=1", stacklevel=user_stacklevel())
        dtype = floating_dtype(name, dtype)
        backend = backends.get(device)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.num_directions = 2 if bidirectional else 1
        self.proj_size = proj_size
        # The feature size of h (each output step, h_0, h_n): proj_size when h is projected.
        self._h_size = proj_size or hidden_size

        # PyTorch's order: per layer, per direction.
        self._weight_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else self._h_size * self.num_directions
            for direction in range(self.num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                self._weight_names.append(add_weights(self, suffix, self.gates, layer_input, hidden_size,
                                                      self.bias, dtype, backend, proj_size))

    def reset_parameters(self):
        """Draw every parameter again, uniform in +-1/sqrt(hidden_size), as at construction."""
        reset_uniform(self, self.hidden_size)

    @property
    def all_weights(self):
        """The parameters as PyTorch lists them: one list per layer and direction."""
        return [[getattr(self, n) for n in names] for names in self._weight_names]

    def flatten_parameters(self):
        """Kept so PyTorch code that calls it ports unchanged: there is no cuDNN
        weight buffer here to compact, each weight already is its own array."""

    # --- forward ---------------------------------------------------------------------
    @autocast_op("recurrent")
    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        x, states, batched, seq_len, batch = self._prepare(input, hx)
        layer_output, final_states = self._run_layers(
            x, states, batch, lambda x, initial, k, reverse: self._run_direction(x, initial, k, seq_len, reverse))
        n_dirs = self.num_directions
        output = reshape(layer_output, (seq_len, batch, n_dirs * self._h_size))
        if self.batch_first:
            output = swapaxes(output, 0, 1)
        if not batched:
            output = reshape(output, (seq_len, n_dirs * self._h_size))
            final_states = tuple(reshape(s, (self.num_layers * n_dirs, size))
                                 for s, size in zip(final_states, self._state_sizes()))
        return output, (final_states if self.n_states > 1 else final_states[0])

    def _run_layers(self, x, states, batch, run_direction):
        """Every layer and direction in PyTorch's order, with dropout between layers:
        ``run_direction(x, initial_state, k, reverse)`` runs layer-direction ``k`` and
        returns (its output rows, its final state). Returns the last layer's output rows
        and the final states stacked as (num_layers * num_directions, batch, size)."""
        n_layers, n_dirs = self.num_layers, self.num_directions
        finals = []
        layer_input = x
        for layer in range(n_layers):
            outputs = []
            for direction in range(n_dirs):
                k = layer * n_dirs + direction
                out, final = run_direction(layer_input, tuple(s[k] for s in states), k, direction == 1)
                outputs.append(out)
                finals.append(final)
            layer_input = outputs[0] if n_dirs == 1 else concat(outputs, axis=1)
            if layer < n_layers - 1 and self.dropout > 0 and self.training:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        final_states = tuple(reshape(concat([f[i] for f in finals], axis=0), (n_layers * n_dirs, batch, size))
                             for i, size in enumerate(self._state_sizes()))
        return layer_input, final_states

    def _run_direction(self, x, state, k, seq_len, reverse):
        """One layer in one direction over the whole sequence. ``x`` is
        (seq_len * batch, features), time-major; returns the outputs in the same
        layout and the final state, in one op (see _sequence) but for the LSTM with a
        projection, whose W_hr acts between the steps."""
        projected, w_hh_t, hidden_bias, w_hr_t = self._project_inputs(x, k)
        if w_hr_t is None and self._sequence is not None:
            hs, state = self._sequence(projected, state, w_hh_t, hidden_bias, seq_len, reverse)
            return reshape(hs, (-1, self._h_size)), state
        steps = split(projected, seq_len, axis=0) if seq_len > 1 else [projected]
        hs = [None] * seq_len
        for t in (range(seq_len - 1, -1, -1) if reverse else range(seq_len)):
            state = self._advance(steps[t], state, w_hh_t, hidden_bias, w_hr_t)
            hs[t] = state[0]
        return (concat(hs, axis=0) if seq_len > 1 else hs[0]), state

    def _project_inputs(self, x, k):
        """Layer-direction ``k``'s input projection of every row of ``x`` in one GEMM (with
        the biases that fold into it), and what each step needs: W_hh transposed, the
        GRU's separate hidden bias (else None) and, with proj_size, W_hr transposed."""
        names = self._weight_names[k]
        w_ih, w_hh = getattr(self, names[0]), getattr(self, names[1])
        b_ih, b_hh = (getattr(self, names[2]), getattr(self, names[3])) if self.bias else (None, None)
        bias = None if b_ih is None else (b_ih + b_hh if self.fold_hidden_bias else b_ih)
        if x.dtype == w_ih.dtype and (bias is None or bias.dtype == x.dtype):
            # one GEMM with the bias added in place (no second (rows, gates) array), and
            # the weight's gradient as gy.T @ x, which OpenBLAS runs faster than x.T @ gy
            # transposed (the LSTM's (1024, 32) by (32, 256) at float32, forward and
            # backward: 0.90 -> 0.71 ms)
            projected = nn_fused.linear(x, w_ih, bias)
        else:  # mixed dtypes promote, as the composed ops do
            projected = x @ w_ih.T if bias is None else x @ w_ih.T + bias
        hidden_bias = None if self.fold_hidden_bias else b_hh
        # The LSTM's projection h = W_hr (o * tanh(c)): weight_hr is registered last.
        w_hr_t = getattr(self, names[-1]).T if self.proj_size else None
        return projected, w_hh.T, hidden_bias, w_hr_t  # W_hh transposed once, not at every step

    # --- packed input ------------------------------------------------------------------
    def _forward_packed(self, packed, hx):
        """``forward`` on a PackedSequence: returns a PackedSequence with the same
        batch_sizes and permutations, and final states in the original batch order."""
        x = packed.data
        name = type(self).__name__
        if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[1] != self.input_size:
            shape = x.shape if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"{name}: expected a PackedSequence whose data has shape (sum of lengths, input_size) "
                             f"with input_size={self.input_size}, got {shape}")
        same_dtype(name, x, getattr(self, self._weight_names[0][0]), self._weight_names[0][0])
        batch_sizes = packed.batch_sizes.tolist()
        batch = batch_sizes[0]
        states = self._initial_states(hx, x, batch, True, f"a PackedSequence of {batch} sequences",
                                      packed.sorted_indices)

        def run_direction(x, initial, k, reverse):
            return (self._run_packed_reverse if reverse else self._run_packed_forward)(x, initial, k, batch_sizes)
        layer_output, final_states = self._run_layers(x, states, batch, run_direction)
        if packed.unsorted_indices is not None:  # back to the caller's batch order, as PyTorch
            final_states = tuple(getitem(s, (slice(None), packed.unsorted_indices)) for s in final_states)
        output = PackedSequence(layer_output, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
        return output, (final_states if self.n_states > 1 else final_states[0])

    def _run_packed_forward(self, x, state, k, batch_sizes):
        """One layer forward in time over packed rows ``x``. The active sequences are a
        shrinking prefix of the batch: when some end, their rows of the state are set
        aside as their final state and the rest runs on."""
        projected, w_hh_t, hidden_bias, w_hr_t = self._project_inputs(x, k)
        steps = split(projected, _offsets(batch_sizes), axis=0) if len(batch_sizes) > 1 else [projected]
        hs, ended, active = [], [], batch_sizes[0]
        for gx, n in zip(steps, batch_sizes):
            if n < active:
                parts = [split(s, [n], axis=0) for s in state]
                state = tuple(p[0] for p in parts)
                ended.append(tuple(p[1] for p in parts))
                active = n
            state = self._advance(gx, state, w_hh_t, hidden_bias, w_hr_t)
            hs.append(state[0])
        if ended:  # the last to end are the first rows: stack the set-aside rows below them
            state = tuple(concat([s] + [e[i] for e in reversed(ended)], axis=0) for i, s in enumerate(state))
        return (concat(hs, axis=0) if len(hs) > 1 else hs[0]), state

    def _run_packed_reverse(self, x, initial, k, batch_sizes):
        """One layer backward in time: each sequence starts at its own last step, so
        the active prefix grows, joined by the initial state of the sequences that start."""
        projected, w_hh_t, hidden_bias, w_hr_t = self._project_inputs(x, k)
        steps = split(projected, _offsets(batch_sizes), axis=0) if len(batch_sizes) > 1 else [projected]
        hs = [None] * len(batch_sizes)
        active = batch_sizes[-1]
        state = initial if active == batch_sizes[0] else tuple(s[:active] for s in initial)
        for t in range(len(batch_sizes) - 1, -1, -1):
            n = batch_sizes[t]
            if n > active:
                state = tuple(concat([s, i[active:n]], axis=0) for s, i in zip(state, initial))
                active = n
            state = self._advance(steps[t], state, w_hh_t, hidden_bias, w_hr_t)
            hs[t] = state[0]
        return (concat(hs, axis=0) if len(hs) > 1 else hs[0]), state

    def _prepare(self, input, hx):
        """Check shapes; return the time-major input flattened to (seq_len * batch,
        input_size), the initial states split per layer and direction, and whether
        the input had a batch axis, then seq_len and batch."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, not {type(input).__name__}")
        if input.ndim not in (2, 3) or input.shape[-1] != self.input_size:
            layout = "(batch, seq_len, input_size)" if self.batch_first else "(seq_len, batch, input_size)"
            raise ValueError(f"{name}: expected an input of shape {layout} or (seq_len, input_size) with "
                             f"input_size={self.input_size}, got shape {input.shape}")
        same_dtype(name, input, getattr(self, self._weight_names[0][0]), self._weight_names[0][0])
        batched = input.ndim == 3
        x = input if batched else reshape(input, (input.shape[0], 1, input.shape[1]))
        if batched and self.batch_first:
            x = swapaxes(x, 0, 1)
        seq_len, batch = x.shape[0], x.shape[1]
        if seq_len == 0:  # an empty sequence is refused, as by PyTorch; an empty batch runs (empty outputs)
            raise ValueError(f"{name}: the input has shape {input.shape}; the sequence must not be empty")
        x = reshape(x, (seq_len * batch, self.input_size))

        states = self._initial_states(hx, input, batch, batched, f"an input of shape {input.shape}")
        return x, states, batched, seq_len, batch

    def _initial_states(self, hx, like, batch, batched, described, sorted_indices=None):
        """The initial states split per layer and direction, (batch, size) each: zeros
        like ``like`` without ``hx``, else ``hx`` checked (every state before any is used;
        ``described`` names the input in the error) and, for a packed batch, put in its
        sorted order (``hx`` comes in the caller's order, as in PyTorch)."""
        count = self.num_layers * self.num_directions
        sizes = self._state_sizes()
        if hx is None:
            zeros = {size: Tensor._make(like._backend.xp.zeros((batch, size), dtype=like.data.dtype), like._backend)
                     for size in set(sizes)}
            return [[zeros[size]] * count for size in sizes]
        name = type(self).__name__
        given = self._state_tuple(hx)
        for label, h, size in zip(("h_0", "c_0"), given, sizes):
            check_state(name, label, h, like)
            expected = (count, batch, size) if batched else (count, size)
            if h.shape != expected:
                size_name = "proj_size" if size != self.hidden_size else "hidden_size"
                raise ValueError(f"{name}: expected {label} of shape {expected} "
                                 f"(num_layers * num_directions, {'batch, ' if batched else ''}{size_name}) "
                                 f"for {described}, got {h.shape}")
        states = []
        for h, size in zip(given, sizes):
            if sorted_indices is not None:
                h = getitem(h, (slice(None), sorted_indices))
            pieces = split(h, count, axis=0) if count > 1 else [h]
            states.append([reshape(p, (batch, size)) for p in pieces])
        return states

    def _state_sizes(self):
        """The feature size of each state: h's (proj_size when projected), then the
        LSTM's c, which keeps hidden_size."""
        return (self._h_size, self.hidden_size)[:self.n_states]

    def _advance(self, gx, state, w_hh_t, hidden_bias, w_hr_t):
        """One time step, then the LSTM's projection of h when it has one (``w_hr_t``)."""
        state = self._step(gx, state, w_hh_t, hidden_bias)
        if w_hr_t is not None:
            state = (state[0] @ w_hr_t,) + state[1:]
        return state

    # A subclass's whole sequence as one op (see _run_direction): (every step's h as
    # (seq_len, batch, hidden), the final state), from the arguments _step takes and seq_len
    # and reverse; None where it has none.
    _sequence = None

    def _step(self, gx, state, w_hh_t, hidden_bias):
        """One time step: ``gx`` is this step's input projection (batch, gates *
        hidden_size), ``state`` the previous state tuple; returns the new one, h first."""
        raise NotImplementedError(f"{type(self).__name__} must define _step(); use nn.RNN, nn.LSTM or nn.GRU")

    def _state_tuple(self, hx):
        if isinstance(hx, Tensor):
            return (hx,)
        raise TypeError(f"{type(self).__name__}: hx must be a Tensor h_0, not {type(hx).__name__}")

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            text += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity!r}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


class RNN(RNNBase):
    """Elman RNN: h' = act(W_ih x + b_ih + W_hh h + b_hh), with act tanh or relu."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device, dtype)
        self.nonlinearity = nonlinearity

    def _step(self, gx, state, w_hh_t, hidden_bias):
        return (nn_fused.rnn_step(gx, state[0], w_hh_t, self.nonlinearity),)

    def _sequence(self, projected, state, w_hh_t, hidden_bias, seq_len, reverse):
        hs, h_n = nn_fused.rnn_sequence(projected, state[0], w_hh_t, self.nonlinearity, seq_len, reverse)
        return hs, (h_n,)


class LSTM(RNNBase):
    """Long short-term memory, gates stacked (i, f, g, o) as in PyTorch:
    c' = f * c + i * g and h' = o * tanh(c').

    With ``proj_size`` P > 0 (LSTM with projections, as in PyTorch), h' = W_hr (o * tanh(c'))
    with ``weight_hr_l{k}`` of shape (P, hidden_size): h, the output features, h_0 and h_n
    have size P (c keeps hidden_size), weight_hh is (4 * hidden_size, P), and layers after
    the first take P * num_directions inputs."""

    gates = 4
    n_states = 2
    projectable = True

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device, dtype, proj_size=proj_size)

    def _step(self, gx, state, w_hh_t, hidden_bias):
        return nn_fused.lstm_step(gx, *state, w_hh_t)

    def _sequence(self, projected, state, w_hh_t, hidden_bias, seq_len, reverse):
        hs, h_n, c_n = nn_fused.lstm_sequence(projected, *state, w_hh_t, seq_len, reverse)
        return hs, (h_n, c_n)

    def _state_tuple(self, hx):
        if isinstance(hx, (tuple, list)) and len(hx) == 2:
            return tuple(hx)
        raise TypeError(f"LSTM: hx must be a pair (h_0, c_0) of tensors, not {type(hx).__name__}")


class GRU(RNNBase):
    """Gated recurrent unit, gates stacked (r, z, n) as in PyTorch:
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) and h' = (1 - z) * n + z * h."""

    gates = 3
    fold_hidden_bias = False  # b_hn sits inside r * (...), so it cannot join the input projection

    def _step(self, gx, state, w_hh_t, hidden_bias):
        return (nn_fused.gru_step(gx, state[0], w_hh_t, hidden_bias),)

    def _sequence(self, projected, state, w_hh_t, hidden_bias, seq_len, reverse):
        hs, h_n = nn_fused.gru_sequence(projected, state[0], w_hh_t, hidden_bias, seq_len, reverse)
        return hs, (h_n,)


def _offsets(batch_sizes):
    """Where each step's rows begin in packed data, after the first step's."""
    return list(itertools.accumulate(batch_sizes[:-1]))


# --- shared by the layers and nn.RNNCell/LSTMCell/GRUCell -----------------------------------

def check_sizes(name, **sizes):
    """The sizes as Python ints, each a positive integer (NumPy's too: sizes read off arrays)."""
    return tuple(positive_int(name, arg, value) for arg, value in sizes.items())


def check_proj_size(name, proj_size, hidden_size, projectable):
    """``proj_size`` is 0 (no projection) or, for the LSTM, an int in [1, hidden_size)."""
    if isinstance(proj_size, bool) or not isinstance(proj_size, numbers.Integral):
        raise TypeError(f"{name}: proj_size must be an int (0 for no projection), got {proj_size!r}")
    proj_size = int(proj_size)
    if proj_size == 0:
        return 0
    if not projectable:
        raise ValueError(f"{name}: proj_size is only supported by LSTM; leave it 0")
    if not 0 < proj_size < hidden_size:
        raise ValueError(f"{name}: proj_size must be 0 (no projection) or in [1, hidden_size) = "
                         f"[1, {hidden_size}), got {proj_size}")
    return proj_size


def check_state(name, label, state, input):
    """An initial state must be a Tensor of the input's dtype (the shape is the caller's)."""
    if not isinstance(state, Tensor):
        raise TypeError(f"{name}: {label} must be a Tensor, not {type(state).__name__}")
    if state.dtype != input.dtype:
        raise TypeError(f"{name}: {label} is {state.dtype} but the input is {input.dtype}; "
                        "give the states the input's dtype")


def floating_dtype(name, dtype):
    """``dtype`` as a canonical floating dtype (the default when None)."""
    dtype = default_dtype() if dtype is None else dtypes.canonical(dtype)
    if not dtypes.is_floating(dtype):
        raise TypeError(f"{name}: dtype must be floating point, not {dtype}")
    return dtype


def reset_uniform(module, hidden_size):
    """Every parameter of ``module`` uniform in +-1/sqrt(hidden_size), in place (the same
    Parameter objects, so an optimizer holding them keeps working), as PyTorch resets them."""
    bound = 1 / math.sqrt(hidden_size)
    for param in module.parameters():
        init.uniform_(param, -bound, bound)


def add_weights(module, suffix, gates, input_size, hidden_size, bias, dtype, backend, proj_size=0):
    """Register PyTorch's weight_ih, weight_hh (and bias_ih, bias_hh, then with
    ``proj_size`` weight_hr) + ``suffix`` on ``module``, each uniform in
    +-1/sqrt(hidden_size) as PyTorch initialises them; returns their names in that order."""
    bound = 1 / math.sqrt(hidden_size)
    rows = gates * hidden_size
    shapes = [("weight_ih", (rows, input_size)), ("weight_hh", (rows, proj_size or hidden_size))]
    if bias:
        shapes += [("bias_ih", (rows,)), ("bias_hh", (rows,))]
    if proj_size:
        shapes.append(("weight_hr", (proj_size, hidden_size)))
    for stem, shape in shapes:
        setattr(module, stem + suffix, Parameter(Tensor._make(backend.uniform(shape, -bound, bound, dtype), backend)))
    return tuple(stem + suffix for stem, _ in shapes)

