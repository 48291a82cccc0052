"""One-layer LSTM over a (seq, batch, input) sequence from zero state; its last
hidden state goes through a linear layer to softmax cross-entropy. Backward is
backpropagation through time by hand. Gates are stacked i, f, g, o as PyTorch's
``weight_ih_l0`` (4H, I), ``weight_hh_l0`` (4H, H) and their biases."""
from .sgd import sgd_update
from .softmax_cross_entropy import softmax_cross_entropy


def _sigmoid(xp, z):
    return 1 / (1 + xp.exp(-z))


class LSTMFloor:
    def __init__(self, xp, params):
        self.xp, self.params = xp, params

    def loss_and_grads(self, x, labels):
        xp, p = self.xp, self.params
        steps, batch, inputs = x.shape
        w_hh = p["lstm.weight_hh_l0"]
        hidden = w_hh.shape[1]
        # The input part of every gate for all steps at once: one GEMM.
        xw = (x.reshape(steps * batch, inputs) @ p["lstm.weight_ih_l0"].T).reshape(steps, batch, 4 * hidden)
        xw += p["lstm.bias_ih_l0"] + p["lstm.bias_hh_l0"]
        h = xp.zeros((batch, hidden), dtype=x.dtype)
        c = xp.zeros((batch, hidden), dtype=x.dtype)
        tape = []
        for t in range(steps):
            z = xw[t] + h @ w_hh.T
            i = _sigmoid(xp, z[:, :hidden])
            f = _sigmoid(xp, z[:, hidden:2 * hidden])
            g = xp.tanh(z[:, 2 * hidden:3 * hidden])
            o = _sigmoid(xp, z[:, 3 * hidden:])
            c_prev, h_prev = c, h
            c = f * c_prev + i * g
            tanh_c = xp.tanh(c)
            h = o * tanh_c
            tape.append((i, f, g, o, c_prev, tanh_c, h_prev))
        logits = h @ p["fc.weight"].T
        logits += p["fc.bias"]
        loss, dlogits = softmax_cross_entropy(xp, logits, labels)

        grads = {"fc.weight": dlogits.T @ h, "fc.bias": xp.sum(dlogits, axis=0)}
        dh = dlogits @ p["fc.weight"]
        dc = xp.zeros_like(dh)
        dz_all = xp.empty((steps, batch, 4 * hidden), dtype=x.dtype)
        grad_hh = xp.zeros_like(w_hh)
        for t in range(steps - 1, -1, -1):
            i, f, g, o, c_prev, tanh_c, h_prev = tape[t]
            dc = dc + dh * o * (1 - tanh_c * tanh_c)
            dz = dz_all[t]
            dz[:, :hidden] = dc * g * i * (1 - i)
            dz[:, hidden:2 * hidden] = dc * c_prev * f * (1 - f)
            dz[:, 2 * hidden:3 * hidden] = dc * i * (1 - g * g)
            dz[:, 3 * hidden:] = dh * tanh_c * o * (1 - o)
            grad_hh += dz.T @ h_prev
            dh = dz @ w_hh
            dc = dc * f
        dz_flat = dz_all.reshape(steps * batch, 4 * hidden)
        grads["lstm.weight_ih_l0"] = dz_flat.T @ x.reshape(steps * batch, inputs)
        grads["lstm.weight_hh_l0"] = grad_hh
        grads["lstm.bias_ih_l0"] = xp.sum(dz_flat, axis=0)
        grads["lstm.bias_hh_l0"] = grads["lstm.bias_ih_l0"].copy()
        return loss, grads

    def step(self, x, labels, lr):
        loss, grads = self.loss_and_grads(x, labels)
        sgd_update(self.params, grads, lr)
        return loss
