"""Indexing (``x[index]``, ``x[index] = values`` and the gradients through both) checked
against NumPy's indexing rules and PyTorch's gradients, on every backend.

topograd follows NumPy where the two libraries differ (negative slice steps, an integer
next to an advanced index counting as advanced, a 0-d integer array indexing as a copy),
so the random programs below take NumPy as the reference for values and
``np.add.at`` for gradients; PyTorch checks the fixed cases where it agrees with NumPy."""
import random

import numpy as np
import pytest

import autograd as ag
from autograd.ops.indexing import IndexTypeError
from autograd.tensor import version_of
from backends.numpy_backend import NumpyBackend
from tests.autograd.torch_pairs import both


def f64(a, device, requires_grad=False):
    return ag.tensor(np.asarray(a, dtype=np.float64), dtype=ag.float64, device=device,
                     requires_grad=requires_grad)


# --- a small random-index generator (NumPy index, and the same index in topograd's forms) ---
def random_shape(r):
    return tuple(r.choice([0, 1, 2, 3, 4]) if r.random() < 0.1 else r.choice([1, 2, 3, 4])
                 for _ in range(r.choice([0, 1, 2, 2, 3, 3])))


def random_index(r, shape):
    """A valid index (drawn again until NumPy takes it: index arrays must broadcast together)"""
    while True:
        parts = _draw_index(r, shape)
        try:
            np.empty(shape)[numpy_index(parts)]
            return parts
        except IndexError:
            pass


def _draw_index(r, shape):
    """An index as a list of (kind, NumPy value): ints, slices with any step and
    out-of-range bounds, None, one Ellipsis, integer arrays (negative, repeated, 2-d) and
    masks (full- and lower-rank, possibly all False)."""
    parts, axis, ellipsis = [], 0, False
    for _ in range(r.randint(0, len(shape) + 2)):
        left, c = len(shape) - axis, r.random()
        if c < 0.1:
            parts.append(("none", None))
        elif c < 0.18 and not ellipsis:
            ellipsis = True
            parts.append(("ellipsis", Ellipsis))
            axis += r.randint(0, max(left, 0))
        elif left <= 0:
            continue
        elif c < 0.35 and shape[axis] > 0:
            parts.append(("int", r.randint(-shape[axis], shape[axis] - 1)))
            axis += 1
        elif c < 0.6:
            n = shape[axis]
            bound = lambda: None if r.random() < 0.3 else r.randint(-n - 3, n + 3)  # noqa: E731
            parts.append(("slice", slice(bound(), bound(), r.choice([None, 1, 2, 3, -1, -2, 7]))))
            axis += 1
        elif c < 0.8:
            n = shape[axis]
            ishape = (0,) if n == 0 else r.choice([(r.randint(0, 4),), (2, 2), (1, 3), ()])
            values = [r.randint(-n, n - 1) for _ in range(int(np.prod(ishape)))]
            parts.append(("ints", np.array(values, dtype=np.int64).reshape(ishape)))
            axis += 1
        else:
            m = r.randint(1, min(left, 2))
            mshape = shape[axis:axis + m]
            p = r.choice([0.0, 0.5, 1.0])
            bits = [r.random() < p for _ in range(int(np.prod(mshape)))]
            parts.append(("mask", np.array(bits, dtype=bool).reshape(mshape)))
            axis += m
    return parts


def numpy_index(parts):
    return tuple(v for _, v in parts)


def topograd_index(r, parts, device):
    """The same index with its arrays as lists, NumPy arrays or tensors on ``device``."""
    out = []
    for kind, v in parts:
        form = r.choice(["list", "numpy", "tensor"])
        if kind in ("ints", "mask") and form == "tensor":
            out.append(ag.tensor(v, device=device))
        elif kind in ("ints", "mask") and form == "list" and v.ndim > 0 and v.size:
            out.append(v.tolist())
        else:
            out.append(v)
    return tuple(out)


def test_random_getitem_values_and_gradients_match_numpy(device):
    r = random.Random(1234)
    for case in range(70):
        shape = random_shape(r)
        parts = random_index(r, shape)
        idx = numpy_index(parts)
        a = np.random.default_rng(case).standard_normal(shape)
        x = f64(a, device, requires_grad=True)
        y = x[topograd_index(r, parts, device)]
        ref = a[idx]
        assert y.shape == ref.shape and np.array_equal(y.detach().numpy(), ref), (shape, idx)
        w_np = np.random.default_rng(case + 1).standard_normal(ref.shape)
        w = f64(w_np, device, requires_grad=True)
        gx, = ag.grad((y * w).sum(), [x], create_graph=True)
        expected = np.zeros(shape)
        np.add.at(expected, idx, w_np)  # repeated indices accumulate
        np.testing.assert_allclose(gx.detach().numpy(), expected, err_msg=str((shape, idx)))
        # Second order: the gradient's own gradient w.r.t. w gathers at the index again.
        v_np = np.random.default_rng(case + 2).standard_normal(shape)
        gw, = ag.grad((gx * f64(v_np, device)).sum(), [w])
        np.testing.assert_allclose(gw.numpy(), v_np[idx], err_msg=str((shape, idx)))


def test_random_setitem_values_and_gradients_match_numpy(device):
    r = random.Random(99)
    for case in range(70):
        shape = random_shape(r)
        parts = random_index(r, shape)
        idx = numpy_index(parts)
        rng = np.random.default_rng(case)
        a = rng.standard_normal(shape)
        region = a[idx].shape
        vshape = region[r.randint(0, len(region)):] if region else ()
        vshape = tuple(1 if r.random() < 0.3 else n for n in vshape)
        v_np = rng.standard_normal(vshape)
        x = f64(a, device, requires_grad=True)
        v = f64(v_np, device, requires_grad=True)
        b = x * 1.0
        b[topograd_index(r, parts, device)] = v
        written = np.zeros(shape)
        np.add.at(written, idx, 1)
        expected = a.copy()
        expected[idx] = v_np
        if (written > 1).any():  # repeated indices: which write wins is unspecified
            keep = written <= 1
            np.testing.assert_array_equal(b.detach().numpy()[keep], expected[keep])
        else:
            np.testing.assert_array_equal(b.detach().numpy(), expected)
        w_np = rng.standard_normal(shape)
        gx, gv = ag.grad((b * f64(w_np, device)).sum(), [x, v])
        np.testing.assert_allclose(gx.numpy(), w_np * (written == 0), err_msg=str((shape, idx)))
        gv_expected = _sum_to(np.asarray(w_np[idx]), vshape)  # summed over where v broadcast
        np.testing.assert_allclose(gv.numpy(), gv_expected, err_msg=str((shape, idx, vshape)))


def _sum_to(g, shape):
    g = g.sum(axis=tuple(range(g.ndim - len(shape)))) if g.ndim > len(shape) else g
    return g.sum(axis=tuple(k for k, n in enumerate(shape) if n == 1 and g.shape[k] != 1), keepdims=True)


# --- fixed cases against PyTorch ----------------------------------------------------------
TORCH_CASES = [
    lambda t: (-1, slice(None), slice(1, None, 2)),
    lambda t: ([0, 1, 1], slice(1, None), [1, 1, 3]),        # separated advanced indices move to the front
    lambda t: (slice(None), [[0, 1], [2, 2]], slice(None, None, 2)),
    lambda t: (None, Ellipsis, [3, 0, 0], None),
    lambda t: (t(np.array([[True, False, True], [False, False, True]])),),   # a lower-rank mask
    lambda t: (t(np.zeros((2, 3, 4), bool)),),                               # all False
    lambda t: (slice(5, 100), slice(-100, 2)),                               # out-of-range bounds
    lambda t: (t(np.array([1, 0, 1])), Ellipsis, t(np.array([[2], [3]]))),
    lambda t: (range(1, -1, -1), slice(None), range(3, 0, -2)),             # ranges are sequences of ints
    lambda t: (slice(None), range(0)),                                       # an empty range picks nothing
]


@pytest.mark.parametrize("case", range(len(TORCH_CASES)))
def test_getitem_and_setitem_gradients_match_torch(torch, device, case):
    a = np.random.default_rng(case).standard_normal((2, 3, 4))
    tx = torch.tensor(a, requires_grad=True)
    ty = tx[TORCH_CASES[case](torch.from_numpy)]
    w = np.random.default_rng(7).standard_normal(tuple(ty.shape))
    (ty * torch.from_numpy(w)).sum().backward()
    x = f64(a, device, requires_grad=True)
    y = x[TORCH_CASES[case](lambda arr: ag.tensor(arr, device=device))]
    (y * f64(w, device)).sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    # setitem of a region-shaped value that requires grad, into a non-leaf
    values = np.random.default_rng(8).standard_normal(tuple(ty.shape))
    tv, tb = torch.tensor(values, requires_grad=True), torch.tensor(a, requires_grad=True)
    tc = tb * 2
    tc[TORCH_CASES[case](torch.from_numpy)] = tv
    (tc * torch.from_numpy(np.arange(24.0).reshape(2, 3, 4))).sum().backward()
    v, b = f64(values, device, requires_grad=True), f64(a, device, requires_grad=True)
    c = b * 2
    c[TORCH_CASES[case](lambda arr: ag.tensor(arr, device=device))] = v
    (c * f64(np.arange(24.0).reshape(2, 3, 4), device)).sum().backward()
    np.testing.assert_allclose(c.detach().numpy(), tc.detach().numpy())
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy())
    np.testing.assert_allclose(v.grad.numpy(), tv.grad.numpy())


def test_augmented_assignment_through_an_index_matches_torch(torch, device):
    """``b[i] += v`` reads, adds and writes back: once per element even where i repeats."""
    programs = [lambda b, v: b.__setitem__((0, slice(None, 2)), b[0, :2] + v),
                lambda b, v: b.__setitem__((0, [1, 1]), b[0, [1, 1]] + v),
                lambda b, v: b.__setitem__((slice(1, None), slice(None, None, 2)), b[1:, ::2] + 2 * v)]
    for program in programs:
        grads = []
        for lib, make in (("torch", lambda a, rg: torch.tensor(a, requires_grad=rg)),
                          ("ag", lambda a, rg: f64(a, device, requires_grad=rg))):
            x, v = make(np.arange(12.0).reshape(3, 4) / 7, True), make(np.array([0.5, -1.5]), True)
            b = x * 1
            program(b, v)
            (b * make(np.arange(1.0, 13.0).reshape(3, 4), False)).sum().backward()
            grads.append((b.detach().numpy(), x.grad.numpy(), v.grad.numpy()))
        for got, expected in zip(grads[1], grads[0]):
            np.testing.assert_allclose(got, expected)


def test_setitem_second_derivatives(device):
    x = f64(np.random.default_rng(0).random((3, 4)), device, requires_grad=True)
    v = f64(np.random.default_rng(1).random(2), device, requires_grad=True)

    def fn(x, v):
        b = x * x
        b[[0, 2], 1] = v * v
        b[None, 1, None, 1:3] = v[0] ** 3
        return b[1:, ::2] * b[1:, 1::2]
    assert ag.gradcheck(fn, (x, v)) and ag.gradgradcheck(fn, (x, v))


# --- in-place bookkeeping and errors -------------------------------------------------------
def test_setitem_into_a_saved_tensor_makes_backward_raise(device):
    x = f64([1.0, 2.0, 3.0], device, requires_grad=True)
    b = x * 1
    z = (b[0:2] * b[0:2]).sum()  # saves a view of b
    b[[0]] = 5.0
    with pytest.raises(RuntimeError, match="modified in place"):
        z.backward()
    plain = f64([1.0, 2.0, 3.0], device)
    z = (plain * x).sum()
    with ag.no_grad():
        plain[1] = 7.0
    with pytest.raises(RuntimeError, match="modified in place"):
        z.backward()


def test_rejected_setitem_changes_neither_values_nor_version(device):
    base = f64(np.arange(6.0).reshape(2, 3), device, requires_grad=True)
    for x in (f64(np.arange(6.0).reshape(2, 3), device), base * 1, (base * 1)[0:2]):
        before = version_of(x).value
        for index, values, error in [(5, 1.0, IndexError), ([0, 3], 1.0, IndexError),
                                     ((slice(None), [0, 5]), 1.0, IndexError),
                                     (np.ones(3, bool), 1.0, IndexError), ((0, 0, 0), 1.0, IndexError),
                                     (0, f64(np.ones(4), device, requires_grad=True), ValueError),
                                     ([0, 1], np.ones((3, 3)), ValueError)]:
            with pytest.raises(error):
                x[index] = values
        assert x.tolist() == np.arange(6.0).reshape(2, 3).tolist() and version_of(x).value == before
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        base[0] = 1.0
    with ag.no_grad():
        base[0] = 1.0
    assert base.tolist()[0] == [1.0] * 3


# --- bugs found by the hunt (each states the behavior NumPy / PyTorch show) ----------------
def test_changing_an_index_array_after_getitem_never_corrupts_the_gradient(device):
    """PyTorch raises at backward when an index tensor was changed in place after use (and
    copies a NumPy index); the saved index must not silently follow the caller's array."""
    for make_index in (lambda: ag.tensor([0, 1], device=device), lambda: np.array([0, 1])):
        x = f64([1.0, 2.0, 3.0], device, requires_grad=True)
        index = make_index()
        y = x[index]
        index[0] = 2
        try:
            y.sum().backward()
        except RuntimeError:
            continue  # PyTorch's answer for a tensor index
        assert x.grad.tolist() == [1.0, 1.0, 0.0]


def test_changing_an_index_array_after_setitem_never_corrupts_the_gradient(device):
    for make_index in (lambda: ag.tensor([0, 1], device=device), lambda: np.array([0, 1])):
        x = f64([1.0, 2.0, 3.0], device, requires_grad=True)
        v = f64([5.0, 6.0], device, requires_grad=True)
        b = x * 1
        index = make_index()
        b[index] = v
        index[0] = 2
        try:
            (b * f64([1.0, 2.0, 3.0], device)).sum().backward()
        except RuntimeError:
            continue
        assert x.grad.tolist() == [0.0, 0.0, 3.0] and v.grad.tolist() == [1.0, 2.0]


def test_a_numpy_integer_scalar_indexes_like_an_int_and_gives_a_view(device):
    """NumPy and PyTorch: ``x[np.int64(1)]`` is ``x[1]``, a view that writes through."""
    x = ag.zeros((2, 3), device=device)
    row = x[np.int64(1)]
    row[0] = 5.0
    row.add_(1.0)
    assert x.tolist() == [[0.0, 0.0, 0.0], [6.0, 1.0, 1.0]]


def test_nested_empty_lists_index_as_integer_arrays(device):
    """``x[[[]]]`` is an empty integer index of shape (1, 0) in NumPy and PyTorch."""
    a = np.arange(6.0).reshape(2, 3)
    x = f64(a, device)
    assert x[[[]]].shape == a[[[]]].shape == (1, 0, 3)
    assert x[:, [[], []]].shape == a[:, [[], []]].shape == (2, 2, 0)


def test_a_list_of_0d_index_tensors_works_on_every_backend(device):
    """NumPy reads ``x[[i, j]]`` with 0-d arrays as one integer array; the CPU backend does, the
    strict backend raises a confusing 'cannot convert a tensor on strict to a NumPy array'."""
    a = np.arange(6.0).reshape(2, 3)
    x = f64(a, device)
    got = x[[ag.tensor(1, device=device), ag.tensor(0, device=device)]]
    np.testing.assert_array_equal(got.numpy(), a[[1, 0]])


def test_non_numeric_values_raise_type_error_and_change_nothing(device):
    """PyTorch: "can't assign a NoneType / str to a torch.FloatTensor" (TypeError). topograd
    writes NaN for None on the CPU backend (and ValueError for a str), TypeError on strict."""
    x = f64([1.0, 2.0], device)
    for bad in (None, "a"):
        with pytest.raises(TypeError):
            x[0] = bad
        assert x.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("op", ["mul", "rmul", "add", "where", "maximum", "pow"])
def test_an_op_refuses_a_list_of_tensors_that_require_grad_while_recording(device, op):
    """x * [w[0], w[1]] read the list as plain numbers (PyTorch refuses lists as operands),
    so w's gradient was dropped without a word; refused while recording, naming ag.stack."""
    w = f64([1.0, 2.0], device, requires_grad=True)
    x = f64([3.0, 4.0], device)
    calls = {"mul": lambda v: x * v, "rmul": lambda v: v * x, "add": lambda v: ag.add(x, v),
             "where": lambda v: ag.where(x > 3.5, v, 0.0), "maximum": lambda v: ag.maximum(x, v),
             "pow": lambda v: x ** v}
    with pytest.raises(TypeError, match=r"a list holding a tensor that requires grad .* ag\.stack"):
        calls[op]([w[0], w[1] * 2])
    np.testing.assert_allclose(calls[op]([1.0, 2.0]).numpy(), calls[op](f64([1.0, 2.0], device)).numpy())
    with ag.no_grad():
        calls[op]([w[0], w[1]])
    y = calls[op](ag.stack([w[0], w[1] * 2]))  # the way that keeps the gradient
    y.sum().backward()
    assert w.grad is not None


@pytest.mark.parametrize("write", ["setitem", "copy_"])
def test_a_list_of_tensors_that_require_grad_is_refused_while_recording(device, write):
    """A list is read as numbers (PyTorch refuses lists altogether): a tensor that requires
    grad inside one lost its gradient without a word, so it is refused while recording,
    naming ag.stack; under no_grad, and for tensors outside the graph, the list is taken."""
    w = f64([1.0, 2.0], device, requires_grad=True)
    y = ag.zeros((2, 3), dtype=ag.float64)

    def assign(values):
        if write == "setitem":
            y[0, :2] = values
        else:
            y[0, :2].copy_(values)

    for values in ([w[0] * 2, w[1]], (w[0], 3.0), [[w[1], 1.0]]):
        with pytest.raises(TypeError, match="ag.stack"):
            assign(values)
        assert y.tolist() == [[0.0] * 3] * 2 and not y.requires_grad and version_of(y).value == 0
    assign([w[0].detach(), 5.0])
    with ag.no_grad():
        assign([w[1], w[0]])
    assert y.tolist() == [[2.0, 1.0, 0.0], [0.0] * 3]
    y[0, :2] = ag.stack([w[0], w[1] * 3])  # the way that keeps the gradient
    (y * y).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 36.0])


def test_a_float_index_raises_index_error_as_numpy_and_torch(device):
    """NumPy and PyTorch raise IndexError for float indices; topograd raises TypeError (its rule
    for wrong types). An error class deriving from both satisfies either ``except``."""
    x = f64([1.0, 2.0], device)
    for index in (1.0, [1.0], np.array([1.0]), ag.tensor([1.0], device=device)):
        with pytest.raises(IndexError):
            x[index]


# --- index kinds NumPy takes (small integer dtypes, NumPy bools, tuples, lists), take, masked_fill and where ---
@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
def test_small_integer_index_arrays_on_a_long_axis_have_a_gradient(torch, device, dtype):
    """The scatter-add of x[i, j]'s backward added the axis' size to negative entries in the
    index's own dtype: int8 indices into an axis of 200 raised OverflowError in backward.
    PyTorch (which takes int64 indices) and np.add.at give the gradient."""
    n = {np.int8: 200, np.uint8: 300, np.int16: 40_000}[dtype]  # the size alone does not fit the dtype
    a = np.random.default_rng(0).standard_normal((n, 3))
    rows = np.array([-1, 2, -1] if dtype != np.uint8 else [255, 2, 255], dtype=dtype)
    cols = np.array([0, 2, 0], dtype=dtype)
    w = np.array([1.0, 2.0, 3.0])
    x = f64(a, device, requires_grad=True)
    y = x[rows, cols]
    (y * f64(w, device)).sum().backward()
    tx = torch.tensor(a, requires_grad=True)
    ty = tx[torch.from_numpy(rows.astype(np.int64)), torch.from_numpy(cols.astype(np.int64))]
    (ty * torch.from_numpy(w)).sum().backward()
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())  # the repeated index adds up: 1 + 3


def test_take_and_take_along_axis_of_an_empty_list_pick_nothing(device):
    """NumPy's take and topograd's own x[[]] read [] as an empty integer index; take made it a
    float32 tensor and refused it ("take: indices must be integers, got float32")."""
    a = np.arange(12.0).reshape(3, 4)
    x = f64(a, device, requires_grad=True)
    for got, expected in [(ag.take(x, []), np.take(a, [])),
                          (ag.take(x, (), axis=0), np.take(a, (), axis=0)),
                          (ag.take(x, [[]], axis=1), np.take(a, [[]], axis=1)),
                          (ag.take_along_axis(x, [[], [], []], axis=1), np.take_along_axis(a, np.zeros((3, 0), int), 1))]:
        assert got.shape == expected.shape
        got.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4)))
    with pytest.raises(TypeError, match="take: indices must be integers, got float32"):
        ag.take(x, [1.5])  # a list with numbers keeps their dtype, and is checked


def test_numpy_bool_scalars_index_as_0d_masks(device):
    """NumPy: a[np.True_] is a[True] (a new axis of 1; np.False_ one of 0). topograd made
    np.True_ a float64 0-d tensor and refused it as "index arrays must be ... not float64"."""
    a = np.arange(24.0).reshape(2, 3, 4)
    x = f64(a, device, requires_grad=True)
    for index in (np.True_, (0, np.False_), (np.True_, 1, np.int32(2))):
        got = x[index]
        assert got.shape == a[index].shape
        np.testing.assert_array_equal(got.detach().numpy(), a[index])
    (x[np.True_, 1] * 2).sum().backward()
    expected = np.zeros_like(a)
    expected[1] = 2
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    y = f64([1.0, 2.0, 3.0], device)
    y[np.False_] = 5.0
    assert y.tolist() == [1.0, 2.0, 3.0]
    y[np.True_] = 5.0
    assert y.tolist() == [5.0, 5.0, 5.0]
    with pytest.raises(IndexError, match="getitem: unsupported index 1.5 of type float"):
        x[np.float64(1.5)]


@pytest.mark.parametrize("index", [(slice(None), (1, 3, 3)), ((0, 2), 1), ([0, 1], (3, 0)), ((),),
                                   (((0, 1), (1, 1)),)])
def test_a_tuple_inside_the_index_is_a_sequence_of_ints(torch, device, index):
    """x[:, (1, 3)] picks columns 1 and 3 in NumPy and PyTorch; topograd raised
    "unsupported index (1, 3) of type tuple". Values, gradients and setitem as PyTorch's."""
    a = np.random.default_rng(1).standard_normal((3, 4))
    x, tx = f64(a, device, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = x[index], tx[index]
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    w = np.random.default_rng(2).standard_normal(tuple(ty.shape))
    (y * f64(w, device)).sum().backward()
    (ty * torch.from_numpy(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    v, tv = f64(w, device, requires_grad=True), torch.tensor(w, requires_grad=True)
    b, tb = x * 1, tx * 1
    b[index] = v
    tb[index] = tv
    np.testing.assert_array_equal(b.detach().numpy(), tb.detach().numpy())


def test_a_list_holding_slices_or_none_is_refused_as_an_index_error_that_says_to_use_a_tuple(device):
    """PyTorch reads x[[0, slice(None)]] as x[0, :] (its old list-as-tuple rule); NumPy refuses
    it with IndexError. topograd refused it as "cannot make a tensor of this list (its dtype
    would be object)", a TypeError that does not say it is about the index."""
    x = f64(np.zeros((2, 3)), device)
    before = version_of(x).value
    for index in ([0, slice(None)], [None, 0], [Ellipsis], ([0, 1], (slice(None), 0))):
        with pytest.raises(IndexError, match="is one integer array or mask, so it cannot hold .* with a tuple"):
            x[index]
        with pytest.raises(IndexTypeError, match="setitem: a list in an index"):
            x[index] = 1.0
    assert x.tolist() == [[0.0] * 3] * 2 and version_of(x).value == before


def test_masked_fill_and_where_take_a_python_bool_as_a_bool_mask(device):
    """A Python True became a number of x's dtype on its way in, so masked_fill(x, True, v)
    and where(True, a, b) raised "the mask must be a bool tensor, not float64" for a bool.
    It is a 0-d bool mask, as NumPy's where takes it (PyTorch refuses non-tensor masks)."""
    a = np.array([1.0, -2.0, 3.0])
    x = f64(a, device, requires_grad=True)
    np.testing.assert_array_equal(ag.where(True, x, 0.0).detach().numpy(), np.where(True, a, 0.0))
    np.testing.assert_array_equal(ag.where(np.False_, x, 0.0).detach().numpy(), np.where(False, a, 0.0))
    filled = ag.masked_fill(x, True, 7.0)
    assert filled.tolist() == [7.0, 7.0, 7.0]
    (ag.masked_fill(x, False, 7.0) * f64([1.0, 2.0, 3.0], device)).sum().backward()
    assert x.grad.tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(TypeError, match="masked_fill: the mask must be a bool tensor, not int64"):
        ag.masked_fill(x, [1, 0, 1], 0.0)  # integers are still no mask, as in PyTorch


# --- indexing: an integer array of several axes into a tensor with an empty axis ----------------
@pytest.mark.parametrize("shape", [(4, 1, 0, 1), (3, 0), (2, 0, 5)])
def test_multi_axis_integer_index_into_an_empty_trailing_axis_has_a_gradient(device, torch, shape):
    """The scatter-add of such an index flattened the values with reshape(-1, *rest), which
    is ambiguous where rest holds a 0 (NumPy raised); the gradient is zeros of x's shape."""
    index = np.array([[0, shape[0] - 1], [-1, -1]])
    x, tx = both(torch, np.zeros(shape))
    y, ty = x[index], tx[torch.tensor(index)]
    assert y.shape == tuple(ty.shape)
    g, = ag.grad(y.sum(), x)
    tg, = torch.autograd.grad(ty.sum(), tx)
    assert g.shape == tuple(tg.shape) == shape
    np.testing.assert_array_equal(g.numpy(), tg.numpy())


# --- take along an axis of an empty tensor --------------------------------------------------------

@pytest.mark.parametrize("shape, ids", [((2, 4, 0), [1, 2]), ((3, 0), []), ((2, 3, 0, 2), [0, 2])])
def test_take_along_an_axis_of_an_empty_tensor_has_an_empty_gradient(shape, ids):
    """The flat scatter-add route after whole axes stepped its places by the size of the
    axes after them: 0 for an empty tensor, and arange raised ZeroDivisionError."""
    x = ag.zeros(shape, requires_grad=True)
    y = ag.take(x, ag.tensor(np.array(ids, dtype=np.int64)), axis=1)
    y.sum().backward()
    assert x.grad.shape == shape
    index = (slice(None), np.array(ids, dtype=np.int64))
    want = np.zeros(shape, np.float32)
    values = np.ones(want[index].shape, np.float32)
    np.add.at(want, index, values)
    np.testing.assert_array_equal(NumpyBackend().scatter_add(shape, index, values), want)
