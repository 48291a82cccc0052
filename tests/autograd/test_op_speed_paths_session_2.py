"""Two more faster routes, each checked for the values of the route it replaced:

- insert and delete check many positions (a sequence, array or tensor of more than
  stacking._SHORT_AXIS ints, or a long bool mask) and work out where each entry goes on
  the device, not in a loop in Python: NumPy's values and gradients, its negatives and
  repeats, and the loop's own errors, on every backend;
- the recurrent ops (steps and whole sequences) multiply through backend.matmul: float32
  gives np.matmul's bits, as before, and float16 the float32 product rounded once (not
  NumPy's own float16 loop), in forward and in a plain backward.
"""
import numpy as np
import pytest

import autograd as ag
from autograd.ops import nn_fused, stacking

MANY = 3 * stacking._SHORT_AXIS  # more positions than the loop in Python takes


# --- insert and delete with many positions -------------------------------------------------------------
def _obj(kind, positions):
    """``positions`` (a NumPy int64 array) as a list, an array of another dtype or a tensor."""
    if kind == "list":
        return positions.tolist()
    if kind == "tensor":
        return ag.tensor(positions)
    return positions.astype(kind)


def _kept_gradient(data, kept_ids, cotangent):
    """The gradient of a gather of ``data``'s entries ``kept_ids`` (flat ids, of the result's shape)."""
    grad = np.zeros(data.size)
    np.add.at(grad, kept_ids.ravel(), cotangent.ravel())
    return grad.reshape(data.shape)


@pytest.mark.parametrize("kind", ["list", "int32", "uint16", "uint64", "tensor"])
@pytest.mark.parametrize("shape, axis", [((4, 150), None), ((4, 150), 1), ((3, 50), 1)])  # the last: a short axis
def test_delete_many_positions_matches_numpy(kind, shape, axis, device):
    rng = np.random.default_rng(0)
    data = rng.standard_normal(shape)
    n = data.size if axis is None else shape[axis]
    low = 0 if kind.startswith("uint") else -n
    positions = rng.integers(low, n, MANY)  # repeats, and negatives but for unsigned ints
    x = ag.tensor(data, requires_grad=True)
    y = ag.delete(x, _obj(kind, positions), axis=axis)
    want = np.delete(data, positions, axis=axis)
    np.testing.assert_array_equal(y.numpy(), want)
    cotangent = rng.standard_normal(want.shape)
    y.backward(ag.tensor(cotangent))
    kept_ids = np.delete(np.arange(data.size).reshape(shape), positions, axis=axis)
    np.testing.assert_array_equal(x.grad.numpy(), _kept_gradient(data, kept_ids, cotangent))


@pytest.mark.parametrize("kind", ["list", "ndarray", "tensor"])
def test_delete_long_bool_mask_matches_numpy(kind, device):
    rng = np.random.default_rng(1)
    data = rng.standard_normal((2, 300))
    mask = rng.random(300) < 0.3
    obj = {"list": mask.tolist(), "ndarray": mask, "tensor": ag.tensor(mask)}[kind]
    x = ag.tensor(data, requires_grad=True)
    y = ag.delete(x, obj, axis=1)
    want = np.delete(data, mask, axis=1)
    np.testing.assert_array_equal(y.numpy(), want)
    cotangent = rng.standard_normal(want.shape)
    y.backward(ag.tensor(cotangent))
    kept_ids = np.delete(np.arange(data.size).reshape(data.shape), mask, axis=1)
    np.testing.assert_array_equal(x.grad.numpy(), _kept_gradient(data, kept_ids, cotangent))


@pytest.mark.parametrize("kind, shape, axis", [
    *((kind, shape, axis) for kind in ["list", "int16", "uint32", "tensor"]
      for shape, axis in [((4, 150), None), ((4, 150), 1), ((3, 50), 1)]),
    ("slice", (4, 150), None), ("slice", (4, 150), 1),  # (a slice picks no more than the axis has)
])
def test_insert_many_positions_matches_numpy(kind, shape, axis, device):
    """Repeated places take their values in obj's order (a stable sort), len(axis) appends."""
    rng = np.random.default_rng(2)
    data = rng.standard_normal(shape)
    n = data.size if axis is None else shape[axis]
    if kind == "slice":
        obj = positions = slice(None, None, -1 if n < MANY else -2)  # from the end: places in falling order
        count = len(range(*obj.indices(n)))
    else:
        positions = rng.integers(0 if kind.startswith("uint") else -n, n + 1, MANY)
        positions[:3] = n  # appends
        obj, count = _obj(kind, positions), MANY
    assert count > stacking._SHORT_AXIS
    values_shape = (count,) if axis is None else (1, count)  # broadcast along axis 0
    values = rng.standard_normal(values_shape)
    x, v = ag.tensor(data, requires_grad=True), ag.tensor(values, requires_grad=True)
    y = ag.insert(x, obj, v, axis=axis)
    want = np.insert(data, positions, values, axis=axis)
    np.testing.assert_array_equal(y.numpy(), want)
    # each entry of the result as its source: x's by flat position, values' as -1 - position
    sources = np.insert(np.arange(data.size).reshape(shape), positions,
                        -1 - np.arange(values.size).reshape(values_shape), axis=axis)
    cotangent = rng.standard_normal(want.shape)
    y.backward(ag.tensor(cotangent))
    from_x = sources >= 0
    np.testing.assert_array_equal(x.grad.numpy(), _kept_gradient(data, sources[from_x], cotangent[from_x]))
    grad_v = np.zeros(values.size)
    np.add.at(grad_v, -1 - sources[~from_x], cotangent[~from_x])
    np.testing.assert_allclose(v.grad.numpy(), grad_v.reshape(values_shape), rtol=1e-12)


def _long(*bad_entries, at=100):
    """MANY good positions on an axis of 300, with ``bad_entries`` from index ``at`` on."""
    out = list(range(-150, MANY - 150))
    out[at:at + len(bad_entries)] = bad_entries
    return out


@pytest.mark.parametrize("call, error, message", [
    # the first entry at fault, in obj's order, named in the loop's words
    (lambda x: ag.delete(x, _long(300)), IndexError, r"^delete: index 300 is out of bounds for axis 0 with size 300$"),
    (lambda x: ag.delete(x, _long(-301, 400)), IndexError, r"^delete: index -301 is out of bounds for axis 0"),
    (lambda x: ag.delete(x, _long(2 ** 70)), IndexError, r"^delete: index 1180591620717411303424 is out of bounds"),
    (lambda x: ag.delete(x, _long(500, 2.5)), IndexError, r"^delete: index 500 is out of bounds"),
    (lambda x: ag.delete(x, _long(2.5, 500)), TypeError, r"^delete: obj must be an int, a slice, or a sequence of ints"),
    (lambda x: ag.delete(x, _long(True)), TypeError, r"^delete: obj must be an int, a slice, or a sequence of ints"),
    (lambda x: ag.delete(x, np.array(_long(-1000))), IndexError, r"^delete: index -1000 is out of bounds"),
    (lambda x: ag.delete(x, ag.tensor(_long(300))), IndexError, r"^delete: index 300 is out of bounds"),
    (lambda x: ag.delete(x, np.array(_long(), dtype=np.float64)), TypeError, r"^delete: obj must be an int"),
    (lambda x: ag.delete(x, np.array(_long()).reshape(2, -1)), TypeError, r"^delete: obj must be an int"),
    (lambda x: ag.delete(x, np.ones(301, dtype=bool)), ValueError,
     r"^delete: a bool mask obj must have the axis's length 300, got 301$"),
    (lambda x: ag.delete(x, [True] * 299), ValueError, r"^delete: a bool mask obj must have the axis's length 300"),
    (lambda x: ag.insert(x, _long(301), 0.0), IndexError, r"^insert: index 301 is out of bounds for axis 0 with size 300$"),
    (lambda x: ag.insert(x, np.array(_long(-301)), 0.0), IndexError, r"^insert: index -301 is out of bounds"),
    (lambda x: ag.insert(x, np.ones(MANY, dtype=bool), 0.0), TypeError, r"^insert: obj must be an int, a slice"),
    (lambda x: ag.insert(x, _long(), np.ones(MANY + 1)), ValueError,
     rf"^insert: values of shape \({MANY + 1},\) do not broadcast to the \({MANY},\) entries"),
])
def test_many_positions_refused_as_few_are(call, error, message, device):
    x = ag.tensor(np.arange(300.0))
    with pytest.raises(error, match=message):
        call(x)


# --- recurrent products through backend.matmul ------------------------------------------------------
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
