"""RNNCell, LSTMCell and GRUCell: one time step, for loops the user writes, with
PyTorch's arguments, parameter names (``weight_ih``, ``weight_hh``, ``bias_ih``,
``bias_hh``), shapes and gate order. The step arithmetic is the layers' own
(the fused steps ``nn_fused.rnn_step``, ``lstm_step`` and ``gru_step``)."""
import backends
from autograd import Tensor, reshape
from autograd.autocast_mode import autocast_op
from autograd.ops import nn_fused

from ..module import Module
from .recurrent import add_weights, check_sizes, check_state, floating_dtype, reset_uniform


class RNNCellBase(Module):
    """Parameters, argument checks and the unbatched form; a subclass sets ``gates``,
    ``n_states`` and ``_cell``."""

    gates = 1
    n_states = 1             # 2 for the LSTM's (h, c)
    fold_hidden_bias = True  # b_hh joins b_ih in the input projection (not for the GRU)

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        input_size, hidden_size = check_sizes(name, input_size=input_size, hidden_size=hidden_size)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bool(bias)
        add_weights(self, "", self.gates, input_size, hidden_size, self.bias, floating_dtype(name, dtype),
                    backends.get(device))
        if not self.bias:  # registered as absent, as PyTorch's cells do
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)

    def reset_parameters(self):
        """Draw every parameter again, uniform in +-1/sqrt(hidden_size), as at construction."""
        reset_uniform(self, self.hidden_size)

    @autocast_op("recurrent")
    def forward(self, input, hx=None):
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, not {type(input).__name__}")
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: expected an input of shape (batch, {self.input_size}) or "
                             f"({self.input_size},), got {input.shape}")
        if input.dtype != self.weight_ih.dtype:
            raise TypeError(f"{name}: the input is {input.dtype} but the cell's weights are "
                            f"{self.weight_ih.dtype}; convert one with .to(dtype=...)")
        batched = input.ndim == 2
        x = input if batched else reshape(input, (1, self.input_size))
        states = self._states(hx, x, batched)
        gx = x @ self.weight_ih.T
        if self.bias_ih is not None:
            gx = gx + (self.bias_ih + self.bias_hh if self.fold_hidden_bias else self.bias_ih)
        out = self._cell(gx, states)
        if not batched:
            out = tuple(reshape(s, (self.hidden_size,)) for s in out)
        return out if self.n_states > 1 else out[0]

    def _states(self, hx, x, batched):
        """The previous state(s) as (batch, hidden) tensors: zeros when ``hx`` is None."""
        name = type(self).__name__
        batch = x.shape[0]
        if hx is None:
            zero = Tensor._make(x._backend.xp.zeros((batch, self.hidden_size), dtype=x.data.dtype), x._backend)
            return (zero,) * self.n_states
        given = hx if self.n_states > 1 else (hx,)
        if self.n_states > 1 and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise TypeError(f"{name}: hx must be a pair (h, c) of tensors, not {type(hx).__name__}")
        expected = (batch, self.hidden_size) if batched else (self.hidden_size,)
        for label, h in zip(("h", "c"), given):
            check_state(name, label, h, x)
            if h.shape != expected:
                raise ValueError(f"{name}: expected {label} of shape {expected} for an input of shape "
                                 f"{x.shape if batched else x.shape[1:]}, got {h.shape}")
        return tuple(h if batched else reshape(h, (1, self.hidden_size)) for h in given)

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            text += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text


class RNNCell(RNNCellBase):
    """h' = act(W_ih x + b_ih + W_hh h + b_hh), with act tanh or relu."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def _cell(self, gx, states):
        return (nn_fused.rnn_step(gx, states[0], self.weight_hh.T, self.nonlinearity),)


class LSTMCell(RNNCellBase):
    """Returns the new (h, c); gates stacked (i, f, g, o)."""

    gates = 4
    n_states = 2

    def _cell(self, gx, states):
        return nn_fused.lstm_step(gx, *states, self.weight_hh.T)


class GRUCell(RNNCellBase):
    """Gates stacked (r, z, n); b_hh stays out of the input projection (its n block is
    scaled by r)."""

    gates = 3
    fold_hidden_bias = False

    def _cell(self, gx, states):
        return (nn_fused.gru_step(gx, states[0], self.weight_hh.T, self.bias_hh),)
