"""float16 matrix products on the NumPy backend go through float32 BLAS and round once
(NumPy's own float16 loop is 40-700x slower), in Backend.matmul and so in matmul, Linear
and convolution, forward and backward, in einsum, and in the recurrent ops
(steps and whole sequences, where float32 keeps np.matmul's bits)."""
import numpy as np
import pytest

import autograd as ag
import backends
import nn.functional as F
from autograd.ops import nn_fused
from tests.torch_versions import needs_torch

RNG = np.random.default_rng(0)


def _rounded_product(a, b):
    return (a.astype(np.float32) @ b.astype(np.float32)).astype(np.float16)


@pytest.mark.parametrize("scratch", [False, True])
def test_the_kernel_multiplies_in_float32_and_rounds_once(scratch):
    a = RNG.normal(0, 1, (5, 70)).astype(np.float16)
    b = RNG.normal(0, 1, (70, 3)).astype(np.float16)
    got = backends.get("cpu").matmul(a, b, scratch=scratch)
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, _rounded_product(a, b))


def test_matmul_and_linear_forward_and_backward_round_once():
    x = ag.tensor(RNG.normal(0, 1, (4, 30)).astype(np.float16), requires_grad=True)
    w = ag.tensor(RNG.normal(0, 1, (6, 30)).astype(np.float16), requires_grad=True)
    y = F.linear(x, w)
    np.testing.assert_array_equal(y.numpy(), _rounded_product(x.numpy(), w.numpy().T))
    g = RNG.normal(0, 1, (4, 6)).astype(np.float16)
    y.backward(ag.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(), _rounded_product(g, w.numpy()))
    np.testing.assert_array_equal(w.grad.numpy(), _rounded_product(g.T, x.numpy()))
    z = x @ w.T
    np.testing.assert_array_equal(z.numpy(), _rounded_product(x.numpy(), w.numpy().T))


def test_einsum_contracts_float16_in_float32_and_rounds_once():
    a = RNG.normal(0, 1, (40, 70)).astype(np.float16)
    b = RNG.normal(0, 1, (70, 60)).astype(np.float16)
    got = ag.einsum("ij,jk->ik", ag.tensor(a), ag.tensor(b))
    assert got.dtype == ag.float16
    # (the float32 sums' order is einsum's own: a result may round to the float16 next door)
    np.testing.assert_allclose(got.numpy(), _rounded_product(a, b), rtol=2 ** -9, atol=2 ** -24)


def test_float32_products_are_unchanged():
    a = RNG.normal(0, 1, (5, 7)).astype(np.float32)
    b = RNG.normal(0, 1, (7, 3)).astype(np.float32)
    np.testing.assert_array_equal(backends.get("cpu").matmul(a, b), a @ b)
    np.testing.assert_array_equal((ag.tensor(a, device="cpu") @ ag.tensor(b, device="cpu")).numpy(), a @ b)


# --- recurrent products through backend.matmul -----------------------------------------------------
# The recurrent ops (steps and whole sequences) multiply through backend.matmul: float32 gives
# np.matmul's bits, as before, and float16 the float32 product rounded once (not NumPy's own
# float16 loop), in forward and in a plain backward.
def _product(dtype):
    """The recurrent ops' array product: np.matmul for float32 (bit for bit, as before),
    and for float16 the float32 product rounded once."""
    if dtype == np.float32:
        return np.matmul
    return lambda a, b: (a.astype(np.float32) @ b.astype(np.float32)).astype(np.float16)


class _Reference:
    """One cell's step, forward and plain backward, in NumPy, in the ops' order of operations.
    ``sigmoid`` is the backend's kernel, which these changes leave as it was."""

    def __init__(self, cell, dtype, sigmoid):
        self.cell, self.mm, self.sigmoid = cell, _product(dtype), sigmoid

    def forward(self, gx, h, w, c=None, b=None):
        """The new h, and what backward needs."""
        z = self.mm(h, w)
        n = h.shape[-1]
        if self.cell in ("tanh", "relu"):
            z += gx
            h_new = np.tanh(z) if self.cell == "tanh" else np.maximum(z, 0)
            return h_new, (h, h_new)
        if self.cell == "lstm":
            z += gx
            gates = self.sigmoid(z)
            gates[:, 2 * n:3 * n] = np.tanh(z[:, 2 * n:3 * n])
            i, f, g, o = (gates[:, k * n:(k + 1) * n] for k in range(4))
            c_new = f * c + i * g
            return (o * np.tanh(c_new), c_new), (h, c, c_new, gates)
        gh = z + b
        rz = self.sigmoid(gx[:, :2 * n] + gh[:, :2 * n])
        gh_n = gh[:, 2 * n:].copy()
        new = np.tanh(gx[:, 2 * n:] + rz[:, :n] * gh_n)
        return new + rz[:, n:] * (h - new), (h, gh_n, np.concatenate([rz, new], axis=-1))

    def backward(self, saved, gy, w, gc=None):
        """The gradient at the pre-activations (gx's), the part of h's outside the product,
        the gradient at the product (through which h and w get theirs), and c_prev's."""
        if self.cell in ("tanh", "relu"):
            h_new = saved[1]
            dz = gy * (1 - h_new * h_new) if self.cell == "tanh" else np.where(h_new > 0, gy, 0).astype(gy.dtype)
            return dz, None, dz, None
        if self.cell == "lstm":
            _, c_prev, c, gates = saved
            n = c.shape[-1]
            i, f, g, o = (gates[:, k * n:(k + 1) * n] for k in range(4))
            tanh_c = np.tanh(c)
            dc = gy * o * (1 - tanh_c * tanh_c)
            if gc is not None:
                dc = dc + gc
            at_values = np.concatenate([dc * g, dc * c_prev, dc * i, gy * tanh_c], axis=-1)
            slope = gates * (1 - gates)
            slope = np.concatenate([slope[:, :2 * n], 1 - g * g, slope[:, 3 * n:]], axis=-1)
            dz = at_values * slope
            return dz, None, dz, dc * f
        h, gh_n, gates = saved
        n = h.shape[-1]
        r, z, new = (gates[:, k * n:(k + 1) * n] for k in range(3))
        dn = gy * (1 - z) * (1 - new * new)
        dr = dn * gh_n * r * (1 - r)
        dz = gy * (h - new) * z * (1 - z)
        return (np.concatenate([dr, dz, dn], axis=-1), gy * z,
                np.concatenate([dr, dz, dn * r], axis=-1), None)

    def h_gradient(self, direct, d_product, w):
        through = self.mm(d_product, w.T)
        return through if direct is None else direct + through


GATES = {"tanh": 1, "relu": 1, "lstm": 4, "gru": 3}
BATCH, HIDDEN = 16, 192


def _inputs(cell, dtype, steps, seed):
    rng = np.random.default_rng(seed)
    gates = GATES[cell]
    arrays = {"gx": rng.standard_normal((steps * BATCH, gates * HIDDEN)),
              "h": rng.standard_normal((BATCH, HIDDEN)) * 0.5,
              "w": rng.standard_normal((HIDDEN, gates * HIDDEN)) * 0.3,
              "c": rng.standard_normal((BATCH, HIDDEN)),
              "b": rng.standard_normal(gates * HIDDEN) * 0.1,
              "cotangent": rng.standard_normal((steps, BATCH, HIDDEN))}
    return {k: v.astype(dtype) for k, v in arrays.items()}


def _tensors(cell, arrays, dtype):
    names = ["gx", "h", "w"] + (["c"] if cell == "lstm" else ["b"] if cell == "gru" else [])
    return {k: ag.tensor(arrays[k], dtype=np.dtype(dtype).name, requires_grad=True) for k in names}


def _sigmoid_of(backend):
    return lambda z: backend.to_numpy(backend.sigmoid(backend.asarray(z)))


def _same_bits(got, want):
    on_cuda = got.device.startswith("cuda")
    got = got.numpy()
    assert got.dtype == want.dtype and got.shape == want.shape
    if on_cuda:  # cuBLAS adds the products in its own order, and CUDA's tanh is libdevice's: float32's rounding
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.max(np.abs(want)))
        return
    assert np.array_equal(got.view(np.uint8), want.view(np.uint8)), np.max(np.abs(got - want.astype(got.dtype)))


def _run_step(cell, t):
    if cell == "lstm":
        return nn_fused.lstm_step(t["gx"], t["h"], t["c"], t["w"])[0]
    if cell == "gru":
        return nn_fused.gru_step(t["gx"], t["h"], t["w"], t["b"])
    return nn_fused.rnn_step(t["gx"], t["h"], t["w"], cell)


def _run_sequence(cell, t, steps):
    if cell == "lstm":
        return nn_fused.lstm_sequence(t["gx"], t["h"], t["c"], t["w"], steps)[0]
    if cell == "gru":
        return nn_fused.gru_sequence(t["gx"], t["h"], t["w"], t["b"], steps)[0]
    return nn_fused.rnn_sequence(t["gx"], t["h"], t["w"], cell, steps)[0]


def _dtype_on(device, dtype):
    if dtype == np.float16 and device != "cpu":
        pytest.skip("float16 as float32 rounded once is the NumPy backend's product (strict has no float16, "
                    "CUDA has float16 GEMMs)")


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("cell", ["tanh", "relu", "lstm", "gru"])
def test_recurrent_step_products(cell, dtype, device):
    _dtype_on(device, dtype)
    a = _inputs(cell, dtype, 1, seed=3)
    t = _tensors(cell, a, dtype)
    ref = _Reference(cell, dtype, _sigmoid_of(t["h"]._backend))
    h_new, saved = ref.forward(a["gx"], a["h"], a["w"], a["c"], a["b"])
    h_new = h_new[0] if cell == "lstm" else h_new
    y = _run_step(cell, t)
    _same_bits(y, h_new)
    gy = a["cotangent"][0]
    y.backward(ag.tensor(gy))
    d_gx, direct, d_product, d_c = ref.backward(saved, gy, a["w"])
    _same_bits(t["gx"].grad, d_gx)
    _same_bits(t["h"].grad, ref.h_gradient(direct, d_product, a["w"]))
    _same_bits(t["w"].grad, ref.mm(a["h"].T, d_product))
    if cell == "lstm":
        _same_bits(t["c"].grad, d_c)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("cell", ["tanh", "relu", "lstm", "gru"])
def test_recurrent_sequence_products(cell, dtype, device):
    """The weight's gradient is one product over all steps, as the op computes it."""
    _dtype_on(device, dtype)
    steps = 3
    a = _inputs(cell, dtype, steps, seed=4)
    t = _tensors(cell, a, dtype)
    ref = _Reference(cell, dtype, _sigmoid_of(t["h"]._backend))
    gx = a["gx"].reshape(steps, BATCH, -1)
    hs, saved, h, c = [], [], a["h"], a["c"]
    for step in range(steps):
        out, kept = ref.forward(gx[step], h, a["w"], c, a["b"])
        h, c = out if cell == "lstm" else (out, None)
        hs.append(h)
        saved.append(kept)
    y = _run_sequence(cell, t, steps)
    _same_bits(y, np.stack(hs))
    y.backward(ag.tensor(a["cotangent"]))
    d_gx, d_product = [None] * steps, [None] * steps
    dh = dc = None
    for step in reversed(range(steps)):
        gy = a["cotangent"][step] if dh is None else dh + a["cotangent"][step]
        d_gx[step], direct, d_product[step], dc = ref.backward(saved[step], gy, a["w"], dc)
        dh = ref.h_gradient(direct, d_product[step], a["w"])
    _same_bits(t["gx"].grad, np.concatenate(d_gx))
    _same_bits(t["h"].grad, dh)
    before = np.concatenate([a["h"]] + hs[:-1])
    _same_bits(t["w"].grad, ref.mm(before.T, np.concatenate(d_product)))
    if cell == "lstm":
        _same_bits(t["c"].grad, dc)


# --- float16 einsum: float32 sums, rounded once, at every size ------------------------------------

@pytest.mark.parametrize("subscripts, shapes", [("ij,jk->ik", ((2, 1000), (1000, 2))), ("ij->j", ((1000, 3),))])
def test_a_small_float16_einsum_sums_in_float32_as_torch(torch, subscripts, shapes):
    """Below 4,096 elements the operands went to NumPy's float16 einsum, which rounds its
    running sums to float16 (-3.453 where PyTorch, and float32 rounded once, give -3.479)."""
    rng = np.random.default_rng(1)
    arrays = [rng.normal(0, 1, s).astype(np.float16) for s in shapes]
    got = ag.einsum(subscripts, *(ag.tensor(a) for a in arrays))
    want = torch.einsum(subscripts, *(torch.tensor(a) for a in arrays))
    assert got.dtype == ag.float16
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    rounded_once = np.einsum(subscripts, *(a.astype(np.float64) for a in arrays)).astype(np.float16)
    np.testing.assert_array_equal(got.numpy(), rounded_once)


# --- float16 convolutions: every product through Backend.matmul -----------------------------------

@pytest.mark.parametrize("case", [
    dict(op="conv2d", x=(2, 4, 7, 7), w=(6, 4, 3, 3), padding=1),              # the stride-1 path
    dict(op="conv2d", x=(2, 4, 9, 9), w=(6, 2, 3, 3), stride=2, groups=2),      # col2im
    dict(op="conv_transpose2d", x=(2, 4, 5, 5), w=(4, 3, 3, 3), stride=2, bias=True),
    dict(op="conv3d", x=(1, 2, 5, 5, 5), w=(3, 2, 3, 3, 3), padding=1),
    dict(op="conv3d", x=(1, 2, 6, 6, 6), w=(3, 2, 2, 3, 3), stride=2),
    dict(op="conv_transpose3d", x=(1, 3, 3, 4, 4), w=(3, 2, 3, 3, 3), stride=2, bias=True),
], ids=lambda case: "-".join(f"{k}={v}" for k, v in case.items() if k not in ("x", "w")))
def test_float16_window_sums_round_once(case):
    """A convolution's input gradient (and a transposed convolution's output) adds up to
    KH*KW windows per pixel: in float16 these add up in float32 and round once, so the
    float16 result is the float32 one on the same values, rounded. Float16 partial sums
    rounded at each window erred twice as much (0.0065 against 0.0033 on conv2d's input
    gradient), past PyTorch's float16 error on CPUs with AVX512-FP16."""
    case = dict(case)
    op = getattr(F, case.pop("op"))
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, case.pop("x")).astype(np.float16)
    w = rng.normal(0, 0.5, case.pop("w")).astype(np.float16)
    bias = rng.normal(0, 1, w.shape[1] * case.get("groups", 1) if "transpose" in op.__name__ else w.shape[0])
    bias = bias.astype(np.float16) if case.pop("bias", False) else None

    def run(dtype):
        a = ag.tensor(x, dtype=dtype, requires_grad=True)
        y = op(a, ag.tensor(w, dtype=dtype), None if bias is None else ag.tensor(bias, dtype=dtype), **case)
        y.backward(ag.ones(y.shape, dtype=dtype))
        return y.detach().numpy(), a.grad.numpy()

    for got, wide in zip(run(ag.float16), run(ag.float32)):
        assert got.dtype == np.float16
        if backends.get_default().device.startswith("cuda"):
            # cuBLAS's float16 GEMM (float32 accumulators) adds in another order than its float32 one, so
            # a sum at a float16 tie may round the other way: a unit at most, rarely (1 of 588 on an H200)
            np.testing.assert_array_max_ulp(got, wide.astype(np.float16), maxulp=1)
            assert np.mean(got == wide.astype(np.float16)) > 0.99
        else:
            np.testing.assert_array_equal(got, wide.astype(np.float16))


@needs_torch("2.13", "the bound is PyTorch 2.13's float16 error, which on CPUs with AVX512-FP16 is half that of 2.11 and of 2.13 on older CPUs (0.0033 against 0.0065 for conv2d's input gradient), as ours now is")
@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("transposed", [False, True], ids=["conv2d", "conv_transpose2d"])
def test_float16_convolutions_are_as_accurate_as_torch_s(torch, groups, transposed):
    """The weight gradient's GEMM and the grouped ones now go through Backend.matmul (float32
    BLAS, rounded once) instead of NumPy's float16 loop, and the input gradient's windows add
    up in float32: values, input and weight gradients each as close to the float64 result as
    PyTorch's float16 ones (its weight gradient is not rounded once: ours is closer)."""
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, (2, 4, 7, 7))
    w = rng.normal(0, 0.5, (4, 6 // groups, 3, 3) if transposed else (6, 4 // groups, 3, 3))
    g = rng.normal(0, 1, (2, 6, 9, 9) if transposed else (2, 6, 7, 7))
    x, w, g = (a.astype(np.float16) for a in (x, w, g))
    options = dict(groups=groups) if transposed else dict(padding=1, groups=groups)

    def run(lib, functional, dtype):
        a, b = lib.tensor(x, dtype=dtype, requires_grad=True), lib.tensor(w, dtype=dtype, requires_grad=True)
        y = (functional.conv_transpose2d if transposed else functional.conv2d)(a, b, **options)
        y.backward(lib.tensor(g, dtype=dtype))
        return [t.detach().numpy().astype(np.float64) for t in (y, a.grad, b.grad)]

    ours = run(ag, F, ag.float16)
    theirs = run(torch, torch.nn.functional, torch.float16)
    exact = run(torch, torch.nn.functional, torch.float64)
    for got, want, reference in zip(ours, theirs, exact):
        assert np.abs(got - reference).max() <= np.abs(want - reference).max()
