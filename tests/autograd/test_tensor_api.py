"""The Tensor's public surface: creation, dtypes, attributes, methods, in-place
methods, Python operators, repr, DLPack and NumPy interop, default devices."""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import autograd as ag
import backends
import nn
from autograd.tensor import Tensor
from tests.autograd.torch_pairs import f64
from tests.conftest import DEVICES

HAS_STRICT = "strict" in backends.available_devices()


def values(t):
    return t.numpy()


# --- creation -------------------------------------------------------------------------
@pytest.mark.parametrize("make, expected", [
    (lambda: ag.zeros(2, 3), np.zeros((2, 3), np.float32)),
    (lambda: ag.zeros((2, 3)), np.zeros((2, 3), np.float32)),
    (lambda: ag.ones(4), np.ones(4, np.float32)),
    (lambda: ag.ones((2, 1), dtype="float64"), np.ones((2, 1))),
    (lambda: ag.full((2, 2), 1.5), np.full((2, 2), 1.5, np.float32)),
    (lambda: ag.full(3, 7), np.full(3, 7, np.int64)),
    (lambda: ag.full(2, True), np.full(2, True)),
    (lambda: ag.arange(5), np.arange(5)),
    (lambda: ag.arange(2, 8, 3), np.arange(2, 8, 3)),
    (lambda: ag.arange(0, 1, 0.25), np.arange(0, 1, 0.25, dtype=np.float32)),
    (lambda: ag.linspace(0, 1, 5), np.linspace(0, 1, 5, dtype=np.float32)),
    (lambda: ag.linspace(-1, 1, 4, dtype="float64", endpoint=False), np.linspace(-1, 1, 4, endpoint=False)),
    (lambda: ag.eye(3), np.eye(3, dtype=np.float32)),
    (lambda: ag.eye(2, 3, dtype=ag.float64), np.eye(2, 3)),
    (lambda: ag.zeros_like(ag.ones(2, 3, dtype="int32")), np.zeros((2, 3), np.int32)),
    (lambda: ag.ones_like(ag.zeros(3, dtype="float64")), np.ones(3)),
    (lambda: ag.tensor([[1, 2], [3, 4]]), np.array([[1, 2], [3, 4]])),
    (lambda: ag.tensor([1.0, 2]), np.array([1.0, 2.0], np.float32)),
    (lambda: ag.tensor(np.arange(3, dtype=np.int32)), np.arange(3, dtype=np.int32)),
    (lambda: ag.tensor(np.float64(2.5)), np.array(2.5)),
    (lambda: ag.tensor([True, False]), np.array([True, False])),
    (lambda: ag.tensor(3.0), np.array(3.0, np.float32)),
])
def test_creation_functions(make, expected, device):
    t = make()
    assert t.device == device
    assert t.shape == expected.shape
    assert t.dtype == expected.dtype
    np.testing.assert_array_equal(values(t), expected)
    assert t.is_leaf and not t.requires_grad


def test_random_creation_is_seeded_and_reproducible(device):
    ag.manual_seed(123)
    a, b = ag.rand(3, 4), ag.randn((2, 5), dtype="float64")
    ag.manual_seed(123)
    np.testing.assert_array_equal(values(ag.rand(3, 4)), values(a))
    np.testing.assert_array_equal(values(ag.randn(2, 5, dtype="float64")), values(b))
    assert a.dtype == ag.float32 and b.dtype == ag.float64
    assert 0 <= values(a).min() and values(a).max() < 1
    ag.manual_seed(124)
    assert not np.array_equal(values(ag.rand(3, 4)), values(a))


def test_tensor_copies_its_input(device):
    array = np.array([1.0, 2.0])
    t = ag.tensor(array)
    array[0] = 100.0
    np.testing.assert_array_equal(values(t), [1.0, 2.0])


def test_creation_can_require_grad(device):
    for t in (ag.tensor([1.0], requires_grad=True), ag.zeros(2, requires_grad=True), ag.randn(2, requires_grad=True),
              ag.ones(1, dtype="float64", requires_grad=True)):
        assert t.requires_grad and t.is_leaf and t.grad is None


# --- dtypes -----------------------------------------------------------------------------
def test_default_dtype_is_float32_and_can_be_changed(device):
    assert ag.get_default_dtype() == ag.float32
    ag.set_default_dtype("float64")
    try:
        assert ag.get_default_dtype() == ag.float64
        for t in (ag.tensor([1.0]), ag.zeros(2), ag.rand(2), ag.linspace(0, 1, 3), ag.eye(2)):
            assert t.dtype == ag.float64
        assert ag.tensor([1]).dtype == ag.int64  # integers keep theirs
    finally:
        ag.set_default_dtype(ag.float32)
    assert ag.tensor([1.0]).dtype == ag.float32
    with pytest.raises(TypeError, match="floating point"):
        ag.set_default_dtype("int32")
    assert ag.get_default_dtype() == ag.float32


@pytest.mark.parametrize("spec, name", [("float64", "float64"), (np.float64, "float64"), (ag.float64, "float64"),
                                        (np.dtype("float32"), "float32"), ("float32", "float32"),
                                        (ag.int32, "int32"), ("int64", "int64"), (bool, "bool"), (ag.bool, "bool")])
def test_dtype_specs(spec, name, device):
    t = ag.tensor([1], dtype=spec)
    assert t.dtype == np.dtype(name) and t.dtype.name == name
    assert ag.zeros(2, dtype=spec).dtype.name == name


PROMOTION_DTYPES = ["bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64"]


@pytest.mark.parametrize("left", PROMOTION_DTYPES)
@pytest.mark.parametrize("right", PROMOTION_DTYPES)
def test_binary_ops_and_concat_promote_dtypes_as_pytorch(device, torch, left, right):
    # Across categories (bool < integer < floating) the higher one's dtype wins, so an
    # int64 tensor times a float16 one stays float16 (NumPy's rules give float64).
    if device == "strict" and "float16" in (left, right):
        pytest.skip("array-api-strict has no float16")
    a, b = np.array([1, 0, 1]).astype(left), np.array([1, 1, 0]).astype(right)
    ta, tb = torch.tensor(a), torch.tensor(b)
    ours_a, ours_b = ag.tensor(a), ag.tensor(b)
    assert (ours_a * ours_b).dtype.name == str((ta * tb).dtype).removeprefix("torch.")
    assert ag.concat([ours_a, ours_b]).dtype.name == str(torch.cat([ta, tb]).dtype).removeprefix("torch.")
    if "bool" not in (left, right):
        assert (ours_a + ours_b).dtype.name == str((ta + tb).dtype).removeprefix("torch.")


@pytest.mark.parametrize("left", PROMOTION_DTYPES)
@pytest.mark.parametrize("right", PROMOTION_DTYPES)
def test_a_0d_tensor_yields_to_a_tensor_with_dimensions_of_its_category_as_pytorch(device, torch, left, right):
    if device == "strict" and "float16" in (left, right):
        pytest.skip("array-api-strict has no float16")
    a, b = np.array([1, 0, 1]).astype(left), np.array(1).astype(right)
    assert (ag.tensor(a) * ag.tensor(b)).dtype.name == \
        str((torch.tensor(a) * torch.tensor(b)).dtype).removeprefix("torch.")
    assert (ag.tensor(b) * ag.tensor(a)).dtype.name == \
        str((torch.tensor(b) * torch.tensor(a)).dtype).removeprefix("torch.")


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "bool"])
def test_a_python_float_with_an_integer_tensor_gives_the_default_dtype_as_pytorch(device, torch, dtype):
    values = np.array([0, 1, 1]).astype(dtype)
    ours, theirs = ag.tensor(values), torch.tensor(values)
    for op in (lambda t: t * 0.5, lambda t: 0.5 + t, lambda t: t / 2, lambda t: t * 2.5 - 1.5):
        assert op(ours).dtype.name == str(op(theirs).dtype).removeprefix("torch.")


# --- promotion among integer and bool dtypes, in concat/stack/where, with Python scalars ---
INT_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64"]
PAIRS = [(a, b) for a in INT_DTYPES for b in INT_DTYPES if a != b]
BINARY = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
          "maximum": lambda a, b: ag.maximum(a, b), "eq": lambda a, b: a == b}
TORCH_BINARY = {"add": lambda t, a, b: a + b, "sub": lambda t, a, b: a - b, "mul": lambda t, a, b: a * b,
                "maximum": lambda t, a, b: t.maximum(a, b), "eq": lambda t, a, b: a == b}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("dims", [(1, 1), (1, 0), (0, 1)])
def test_integer_promotion_matches_torch(device, torch, name, dims):
    for a_dt, b_dt in PAIRS:
        if name == "sub" and "bool" in (a_dt, b_dt):
            continue  # torch refuses bool subtraction
        a_np = np.ones((2,) if dims[0] else (), dtype=a_dt)
        b_np = np.ones((2,) if dims[1] else (), dtype=b_dt)
        got = BINARY[name](Tensor(a_np), Tensor(b_np))
        want = TORCH_BINARY[name](torch, torch.from_numpy(a_np), torch.from_numpy(b_np))
        assert str(got.dtype) == str(want.dtype).replace("torch.", ""), (name, a_dt, b_dt, dims)


@pytest.mark.parametrize("a_dt,b_dt", [("uint8", "int8"), ("bool", "int32"), ("int8", "float16"),
                                        ("bool", "bool"), ("int64", "float32")])
def test_concat_stack_where_promotion_matches_torch(device, torch, a_dt, b_dt):
    if device == "strict" and "float16" in (a_dt, b_dt):
        pytest.skip("array-api-strict has no float16")
    a_np, b_np = np.ones(2, dtype=a_dt), np.zeros(2, dtype=b_dt)
    a, b = Tensor(a_np), Tensor(b_np)
    ta, tb = torch.from_numpy(a_np), torch.from_numpy(b_np)
    cond = np.array([True, False])
    for got, want in [(ag.concat([a, b]), torch.cat([ta, tb])), (ag.stack([a, b]), torch.stack([ta, tb])),
                      (ag.where(Tensor(cond), a, b), torch.where(torch.from_numpy(cond), ta, tb))]:
        assert str(got.dtype) == str(want.dtype).replace("torch.", "")
        np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("dt", ["float16", "bool", "int8", "uint8", "int32"])
@pytest.mark.parametrize("scalar", [2, 2.5, True])
def test_python_scalar_promotion_matches_torch(device, torch, dt, scalar):
    if device == "strict" and dt == "float16":
        pytest.skip("array-api-strict has no float16")
    x_np = np.ones(3, dtype=dt)
    for got, want in [(Tensor(x_np) + scalar, torch.from_numpy(x_np) + scalar),
                      (scalar * Tensor(x_np), scalar * torch.from_numpy(x_np)),
                      (ag.maximum(Tensor(x_np), scalar), torch.maximum(torch.from_numpy(x_np),
                                                                       torch.tensor(scalar)))]:
        assert str(got.dtype) == str(want.dtype).replace("torch.", ""), (dt, scalar)


def test_zero_dim_float64_does_not_widen_float32(device, torch):
    got = Tensor(np.ones(3, dtype=np.float32)) * Tensor(np.float64(2.0))
    assert got.dtype == ag.float32
    got = Tensor(np.ones(3, dtype=np.int32)) * Tensor(np.float64(2.0))  # across categories: 0-d wins
    want = torch.ones(3, dtype=torch.int32) * torch.tensor(2.0, dtype=torch.float64)
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")


def test_unknown_dtype_is_a_type_error(device):
    with pytest.raises(TypeError, match="unsupported dtype"):
        ag.zeros(2, dtype="complex128")


@pytest.mark.parametrize("make", [lambda: ag.tensor([1, 2], requires_grad=True),
                                  lambda: ag.ones(2, dtype="int64", requires_grad=True),
                                  lambda: ag.tensor([True], requires_grad=True),
                                  lambda: ag.arange(3).requires_grad_()])
def test_integer_and_bool_tensors_refuse_requires_grad(make, device):
    with pytest.raises(TypeError, match="floating-point"):
        make()


# --- attributes -------------------------------------------------------------------------
def test_attributes(device):
    x = ag.tensor(np.arange(6.0).reshape(2, 3).tolist(), requires_grad=True)
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and len(x) == 2
    assert x.dtype == ag.float32 and x.device == device
    assert x.is_leaf and x.requires_grad and x.grad_fn is None and x.grad is None
    assert type(x.data) is type(backends.get(device).xp.asarray(0.0))  # the backend array
    np.testing.assert_array_equal(values(x.T), np.arange(6.0).reshape(2, 3).T)
    y = x * 2
    assert not y.is_leaf and y.requires_grad and y.grad_fn.name == "Mul"
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False
    with pytest.raises(TypeError, match="0-d"):
        len(ag.tensor(1.0))


def test_data_is_assignable(device):
    x = ag.zeros(3)
    x.data = ag.ones(3).data
    np.testing.assert_array_equal(values(x), [1.0, 1.0, 1.0])


def test_grad_is_assignable_with_checks(device):
    x = ag.zeros(2, 3, requires_grad=True)
    g = ag.ones(2, 3)
    x.grad = g
    assert x.grad is g
    with pytest.raises(ValueError, match=r"shape \(3,\).*\(2, 3\)"):
        x.grad = ag.ones(3)
    with pytest.raises(TypeError, match="Tensor or None"):
        x.grad = np.ones((2, 3))
    assert x.grad is g
    x.grad = None
    assert x.grad is None


# --- methods ----------------------------------------------------------------------------
def test_detach_shares_data_outside_the_graph(device):
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    np.testing.assert_array_equal(values(d), [2.0, 4.0])
    d.add_(1.0)  # the same storage: y sees it
    np.testing.assert_array_equal(values(y), [3.0, 5.0])


def test_numpy_item_tolist(device):
    x = ag.tensor([[1.5, 2.0], [3.0, 4.0]])
    assert isinstance(x.numpy(), np.ndarray)
    np.testing.assert_array_equal(x.numpy(), [[1.5, 2.0], [3.0, 4.0]])
    assert x[0, 0].item() == 1.5 and isinstance(x[0, 0].item(), float)
    assert ag.tensor([7]).item() == 7 and isinstance(ag.tensor([7]).item(), int)
    assert x.tolist() == [[1.5, 2.0], [3.0, 4.0]]
    with pytest.raises(ValueError, match="one element"):
        x.item()
    assert float(ag.tensor([2.5])) == 2.5 and int(ag.tensor(3)) == 3 and bool(ag.tensor([1.0]))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(x)
    assert [1, 2, 3][ag.tensor(1)] == 2  # __index__
    with pytest.raises(TypeError):
        [1, 2, 3][ag.tensor(1.0)]


def test_to_casts_and_is_differentiable(device):
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(dtype="float64")
    assert y.dtype == ag.float64 and y.device == device
    assert x.to(device=device) is x and x.to(dtype=ag.float32) is x
    (y * y).sum().backward()
    assert x.grad.dtype == ag.float32
    np.testing.assert_allclose(values(x.grad), [2.0, 4.0])
    assert x.cpu().device == "cpu"
    np.testing.assert_array_equal(values(x.cpu()), [1.0, 2.0])


@pytest.mark.skipif(not HAS_STRICT, reason="needs array-api-strict")
def test_to_another_device_is_differentiable():
    x = ag.tensor([1.0, 2.0], device="cpu", requires_grad=True)
    y = x.to(device="strict", dtype="float64")
    assert y.device == "strict" and y.dtype == ag.float64
    (y * y * 3).sum().backward()
    assert x.grad.device == "cpu" and x.grad.dtype == ag.float32
    np.testing.assert_allclose(values(x.grad), [6.0, 12.0])


@pytest.mark.skipif(not HAS_STRICT, reason="needs array-api-strict")
def test_to_another_tensor_takes_its_device_and_dtype_as_torch():
    """x.to(other), PyTorch's form: other's dtype and device. NumPy read the tensor as a
    dtype (through its .dtype), so x was cast but stayed on its own device."""
    x = ag.tensor([1.0, 2.0], device="cpu", requires_grad=True)
    other = ag.tensor([0.0], device="strict", dtype="float64")
    y = x.to(other)
    assert y.device == "strict" and y.dtype == ag.float64
    (y * y).sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(values(x.grad), [2.0, 4.0])
    same = ag.tensor([0.0], device="cpu")
    assert x.to(same) is x and x.to(same, copy=True) is not x


def test_to_a_dtype_topograd_lacks_is_refused_as_a_dtype_not_a_device(torch):
    """x.to('complex64') said "unknown device 'complex64'"; a dtype topograd holds still casts."""
    x = ag.ones(2, device="cpu")
    for dtype in ("complex64", np.complex128, torch.float64):
        with pytest.raises(TypeError, match=r"^unsupported dtype .*; use one of float16, float32"):
            x.to(dtype)
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        x.to("gpu")
    assert x.to(np.float64).dtype == ag.float64 and x.to("cpu") is x


def test_requires_grad_and_retain_grad_and_hooks_need_grad(device):
    x = ag.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        x.register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="does not require grad"):
        x.retain_grad()
    assert x.requires_grad_() is x and x.requires_grad
    h = x * 3
    h.retain_grad()
    handle = h.register_hook(lambda g: g * 2)
    (h * h).sum().backward()
    np.testing.assert_allclose(values(h.grad), 2 * values(h) * 2)  # retained grad is after hooks
    np.testing.assert_allclose(values(x.grad), 2 * values(h) * 2 * 3)
    handle.remove()


# --- in-place methods -----------------------------------------------------------------------
@pytest.mark.parametrize("method, arg, ref", [
    ("add_", 2.0, lambda a: a + 2), ("sub_", [1.0, 2.0, 3.0], lambda a: a - [1, 2, 3]),
    ("mul_", 3.0, lambda a: a * 3), ("div_", 4.0, lambda a: a / 4),
    ("copy_", [5.0, 6.0, 7.0], lambda a: np.broadcast_to([5.0, 6.0, 7.0], a.shape)),
])
def test_in_place_methods(method, arg, ref, device):
    start = np.arange(6.0).reshape(2, 3) + 1
    t = ag.tensor(start, dtype="float64")
    other = ag.tensor(arg, dtype="float64") if isinstance(arg, list) else arg
    assert getattr(t, method)(other) is t
    np.testing.assert_allclose(values(t), ref(start))
    assert t.dtype == ag.float64 and t.shape == (2, 3)


def test_add_and_sub_with_alpha(device):
    t = ag.tensor([1.0, 2.0])
    t.add_(ag.tensor([1.0, 1.0]), alpha=3)
    t.sub_(ag.tensor([0.5, 0.5]), alpha=2)
    np.testing.assert_allclose(values(t), [3.0, 4.0])


def test_zero_and_fill(device):
    t = ag.ones(2, 2)
    assert t.fill_(2.5) is t
    np.testing.assert_array_equal(values(t), np.full((2, 2), 2.5))
    assert t.zero_() is t
    np.testing.assert_array_equal(values(t), np.zeros((2, 2)))
    i = ag.tensor([1, 2])
    i.fill_(7)
    assert i.dtype == ag.int64 and i.tolist() == [7, 7]


def test_in_place_keeps_the_dtype_and_is_seen_by_views(device):
    t = ag.tensor([[1, 2], [3, 4]], dtype="int32")
    row = t[0]
    row.mul_(10)
    assert t.dtype == ag.int32
    assert t.tolist() == [[10, 20], [3, 4]]


@pytest.mark.parametrize("change", [
    lambda t: t.add_(1.0), lambda t: t.zero_(), lambda t: t.copy_(ag.ones(3, dtype="float64")),
    lambda t: t.__setitem__(0, 5.0), lambda t: t[1:].__setitem__(0, 5.0), lambda t: t.relu_(),
], ids=["add_", "zero_", "copy_", "setitem", "setitem-through-a-view", "relu_"])
@pytest.mark.parametrize("share", [ag.from_dlpack, Tensor], ids=["from_dlpack", "Tensor"])
def test_in_place_change_of_read_only_memory_is_refused_before_anything_changes(change, share):
    """A tensor sharing a read-only NumPy array is refused in place, naming the fix, before
    its version moves on: setitem and relu_ counted a change and then failed in NumPy
    ("assignment destination is read-only"), so a later backward refused a saved tensor
    that had not changed."""
    frozen = np.array([-1.0, 2.0, 3.0])
    frozen.flags.writeable = False
    with backends.default_device("cpu"):  # (read-only host memory is the CPU's matter)
        t = share(frozen)
        w = ag.tensor([1.0, 2.0, 3.0], dtype="float64", requires_grad=True)
    loss = (w * t).sum()
    with pytest.raises(RuntimeError, match=r"shares read-only memory .* change a \.clone\(\) of it instead"):
        change(t)
    np.testing.assert_array_equal(frozen, [-1.0, 2.0, 3.0])
    loss.backward()
    np.testing.assert_array_equal(w.grad.numpy(), frozen)


def test_copy_into_a_plain_tensor_joins_the_graph(device):
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    buffer = ag.zeros(2, 3)
    buffer.copy_(x * 2)
    assert buffer.requires_grad and not buffer.is_leaf
    (buffer * buffer).sum().backward()
    np.testing.assert_allclose(values(x.grad), 2 * (2 * 2 * values(x)) * 2)


# --- item assignment -------------------------------------------------------------------------

SETITEM_CASES = {
    "int": (lambda: 1, (4,)),
    "slice_of_rows": (lambda: slice(1, 3), (1, 4)),       # values broadcast down the rows
    "column_with_none": (lambda: (Ellipsis, 2, None), (3, 1)),
    "mask": (lambda: np.array([[True, False, True, False]] * 3), ()),
    "integer_arrays": (lambda: (np.array([0, 2]), np.array([1, 3])), (2,)),
    "rows_by_list": (lambda: [2, 0], (2, 4)),
}


@pytest.mark.parametrize("case", list(SETITEM_CASES))
def test_setitem_values_and_gradients_match_pytorch(device, torch, case):
    make_index, values_shape = SETITEM_CASES[case]
    rng = np.random.default_rng(len(case))
    x0, v0, w0 = rng.standard_normal((3, 4)), rng.standard_normal(values_shape), rng.standard_normal((3, 4))
    index = make_index()
    torch_index = tuple(torch.tensor(p) if isinstance(p, np.ndarray) else p for p in index) \
        if isinstance(index, tuple) else torch.tensor(index) if isinstance(index, np.ndarray) else index
    ours_index = tuple(ag.tensor(p) if isinstance(p, np.ndarray) else p for p in index) \
        if isinstance(index, tuple) else ag.tensor(index) if isinstance(index, np.ndarray) else index
    x, v = (ag.tensor(a, dtype=ag.float64, requires_grad=True) for a in (x0, v0))
    xt, vt = (torch.tensor(a, requires_grad=True) for a in (x0, v0))
    y, yt = x * 2.0, xt * 2.0
    y[ours_index] = v * 3.0
    yt[torch_index] = vt * 3.0
    assert y.grad_fn.name == "IndexPut"
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy())
    (y * y * ag.tensor(w0)).sum().backward()
    (yt * yt * torch.tensor(w0)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(v.grad.numpy(), vt.grad.numpy(), rtol=1e-12)


def test_setitem_is_twice_differentiable(device):
    def put(x, v):
        y = x * 1.0
        y[1:, ::2] = v * v
        return y * y
    x, v = ag.randn(3, 4, dtype=ag.float64, requires_grad=True), ag.randn(2, 2, dtype=ag.float64, requires_grad=True)
    assert ag.gradcheck(put, (x, v)) and ag.gradgradcheck(put, (x, v))


def test_setitem_into_a_tensor_outside_the_graph_joins_it(device):
    # A buffer that does not require grad, filled with values that do: the buffer
    # joins the graph, as in PyTorch.
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    buffer = ag.zeros(3)
    buffer[1:] = w * 2.0
    assert buffer.requires_grad and not buffer.is_leaf
    (buffer * ag.tensor([5.0, 6.0, 7.0])).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [12.0, 14.0])


def test_setitem_without_the_graph_writes_in_place_and_counts_a_change(device):
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    data = ag.tensor([4.0, 5.0, 6.0])
    y = x * data                      # Mul keeps data for x's gradient
    view = data[:2]
    data[ag.tensor([True, False, True])] = -1.0
    np.testing.assert_array_equal(data.numpy(), [-1.0, 5.0, -1.0])
    np.testing.assert_array_equal(view.numpy(), [-1.0, 5.0])  # the same memory
    assert data.grad_fn is None and not data.requires_grad
    with pytest.raises(RuntimeError, match=r"modified in place at .*test_tensor_api.py"):
        y.sum().backward()
    with ag.no_grad():
        x[0] = 10.0                   # a leaf that requires grad, under no_grad: allowed
    assert x.tolist() == [10.0, 2.0, 3.0] and x.is_leaf


def test_setitem_casts_values_to_the_tensors_dtype(device):
    ints = ag.zeros(3, dtype=ag.int64)
    ints[1] = 2.7
    assert ints.dtype == ag.int64 and ints.tolist() == [0, 2, 0]
    halves = ag.zeros(2, dtype=ag.float64, requires_grad=True) * 1.0
    halves[0] = ag.tensor(1.5, dtype=ag.float32)
    assert halves.dtype == ag.float64 and halves.tolist() == [1.5, 0.0]


def test_setitem_errors_name_the_problem_and_change_nothing(device):
    leaf = ag.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="setitem: a leaf tensor that requires grad"):
        leaf[0] = 2.0
    x = ag.ones(2, 3)
    with pytest.raises(ValueError, match=r"setitem: values of shape \(4,\) cannot fill the indexed region of "
                                         r"shape \(2, 3\)"):
        x[...] = ag.zeros(4)
    with pytest.raises(IndexError, match="setitem: too many indices"):
        x[0, 0, 0] = 1.0
    with pytest.raises(TypeError, match="setitem: unsupported index"):
        x["a"] = 1.0
    view = ag.ones(2, 3, requires_grad=True).reshape(6)
    with pytest.raises(RuntimeError, match=r"setitem: this tensor is a view of a leaf tensor that requires grad"):
        view[1] = 5.0
    assert x.tolist() == [[1.0] * 3] * 2 and x._version is None


# --- operators ----------------------------------------------------------------------------
def test_arithmetic_operators_and_reversed_forms(device):
    a_np = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    b_np = np.array([0.5, -2.0], np.float32)
    a, b = ag.tensor(a_np), ag.tensor(b_np)
    cases = [(a + b, a_np + b_np), (a - b, a_np - b_np), (a * b, a_np * b_np), (a / b, a_np / b_np),
             (a ** 2, a_np ** 2), (a @ a, a_np @ a_np), (-a, -a_np), (+a, a_np), (abs(b), np.abs(b_np)),
             (1 + a, 1 + a_np), (1 - a, 1 - a_np), (2 * a, 2 * a_np), (2 / a, 2 / a_np), (2 ** a, 2 ** a_np),
             (a + 1.5, a_np + 1.5), (a_np @ a, a_np @ a_np)]
    for got, want in cases:
        assert got.dtype == ag.float32, (got, want)
        np.testing.assert_allclose(values(got), want, rtol=1e-6)
    ints = ag.tensor([1, 2, 3])
    assert (ints + 1).dtype == ag.int64 and (ints * 2).tolist() == [2, 4, 6]
    assert (ints / 2).dtype == ag.get_default_dtype() and (ints / ints).tolist() == [1.0, 1.0, 1.0]
    assert (ints + 0.5).dtype.kind == "f" and (ints + 0.5).tolist() == [1.5, 2.5, 3.5]


def test_comparisons_give_bool_tensors_without_grad(device):
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = ag.tensor([3.0, 2.0, 1.0])
    cases = [(x < y, [True, False, False]), (x <= y, [True, True, False]), (x > 2, [False, False, True]),
             (x >= 2, [False, True, True]), (x == y, [False, True, False]), (x != y, [True, False, True]),
             (2 < x, [False, False, True])]
    for got, want in cases:
        assert got.dtype == ag.bool
        assert got.tolist() == want
        assert not got.requires_grad and got.grad_fn is None


@pytest.mark.parametrize("axis, keepdims", [(None, False), (None, True), (1, False), (-1, True)])
def test_index_and_boolean_reductions_match_numpy(axis, keepdims, device):
    base = np.array([[3.0, -1.0, 7.0], [0.5, 9.0, -2.0]])
    t = ag.tensor(base, requires_grad=True)
    for name in ("argmax", "argmin"):
        got = getattr(t, name)(axis=axis, keepdims=keepdims)
        want = getattr(np, name)(base, axis=axis, keepdims=keepdims)
        assert got.shape == want.shape and got.dtype.kind == "i" and not got.requires_grad
        np.testing.assert_array_equal(got.numpy(), want)
    mask = ag.tensor(base > 0)
    for name in ("any", "all"):
        got = getattr(ag, name)(mask, axis=axis, keepdims=keepdims)
        want = getattr(np, name)(base > 0, axis=axis, keepdims=keepdims)
        assert got.shape == want.shape and got.dtype == ag.bool
        np.testing.assert_array_equal(got.numpy(), want)


def test_getitem_forms(device):
    base = np.arange(24.0).reshape(2, 3, 4)
    t = ag.tensor(base)
    mask = ag.tensor(base > 10)
    for index in [1, (1, 2), (slice(None), 0), (Ellipsis, -1), (None, 0), (0, slice(None, None, 2)),
                  [1, 0, 1], (0, [2, 0])]:
        np.testing.assert_array_equal(values(t[index]), base[index])
    np.testing.assert_array_equal(values(t[mask]), base[base > 10])
    np.testing.assert_array_equal(values(t[ag.tensor([1, 1, 0])]), base[[1, 1, 0]])
    assert [values(r).tolist() for r in t] == base.tolist()
    with pytest.raises(IndexError, match="too many indices"):
        t[0, 0, 0, 0]
    with pytest.raises(TypeError, match="integer or bool"):
        t[ag.tensor([0.5])]


def test_repr_shows_values_dtype_device_and_grad_fn(device):
    x = ag.tensor([1.5, -2.0], requires_grad=True)
    text = repr(x)
    assert text.startswith("tensor([ 1.5, -2. ]") and "dtype=float32" in text and f"device='{device}'" in text
    assert "requires_grad=True" in text
    y = x * 2
    assert "grad_fn=<Mul>" in repr(y) and "3." in repr(y)
    assert repr(ag.tensor(3)) == f"tensor(3, dtype=int64, device='{device}')"


# --- interop -------------------------------------------------------------------------------
def test_dlpack_both_ways_shares_memory():
    array = np.arange(4.0)
    t = ag.from_dlpack(array)
    assert t.device == "cpu" and t.dtype == ag.float64
    array[0] = 9.0
    assert values(t)[0] == 9.0
    back = np.from_dlpack(ag.tensor([1.0, 2.0], device="cpu"))
    np.testing.assert_array_equal(back, [1.0, 2.0])


def test_dlpack_export_from_any_device(device):
    t = ag.tensor([1.0, 2.0])
    assert ag.from_dlpack(t).tolist() == [1.0, 2.0]  # through the device's own namespace
    if device.startswith("cuda"):
        with pytest.raises(BufferError):  # NumPy imports host memory only, as for PyTorch's CUDA tensors
            np.from_dlpack(t)
    else:
        np.testing.assert_array_equal(np.from_dlpack(t), [1.0, 2.0])


def test_array_protocol_for_cpu_tensors(device):
    t = ag.tensor([1.0, 2.0])
    if device == "cpu":
        np.testing.assert_array_equal(np.asarray(t), [1.0, 2.0])
        assert np.asarray(t, dtype=np.float64).dtype == np.float64
    else:
        with pytest.raises(TypeError, match=r"\.numpy\(\)"):
            np.asarray(t)


# --- default device ----------------------------------------------------------------------
@pytest.mark.skipif(not HAS_STRICT, reason="needs array-api-strict")
def test_set_default_device_and_context_manager():
    with backends.default_device("cpu"):
        previous = backends.set_default_device("strict")
        try:
            assert previous.device == "cpu"
            assert ag.zeros(1).device == "strict" and ag.tensor([1.0]).device == "strict"
        finally:
            backends.set_default_device(previous)
        assert ag.zeros(1).device == "cpu"
        with pytest.raises(KeyError):
            with ag.default_device("strict"):
                assert ag.ones(2).device == "strict"
                raise KeyError("the previous device comes back even on errors")
        assert ag.ones(2).device == "cpu"
        assert ag.ones(2, device="strict").device == "strict"


@pytest.mark.skipif(not HAS_STRICT, reason="needs array-api-strict")
def test_topograd_device_environment_variable():
    env = dict(os.environ, TOPOGRAD_DEVICE="strict")
    out = subprocess.run([sys.executable, "-c", "import autograd as ag; print(ag.zeros(1).device)"],
                         env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "strict"


def test_numpy_array_with_copy_true_does_not_alias_the_tensor():
    t = ag.tensor([1.0, 2.0], device="cpu")  # (another device's refuses np.array)
    a = np.array(t)  # copy=True
    a[0] = 99.0
    assert t.numpy()[0] == 1.0


def test_where_with_two_scalars_and_split_with_negative_offsets():
    cond = ag.tensor([True, False, True])
    np.testing.assert_array_equal(ag.where(cond, 1.0, 0.0).numpy(), [1.0, 0.0, 1.0])
    pieces = ag.split(ag.arange(5), [-2])
    assert [p.shape for p in pieces] == [(3,), (2,)]
    np.testing.assert_array_equal(pieces[1].numpy(), [3, 4])


# --- astype to the dtype a tensor already has: a copy, as NumPy's and the Array API's astype -------
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("how", ["method", "function"])
def test_astype_to_the_same_dtype_gives_a_tensor_of_its_own(device, how):
    x = ag.tensor([1.0, 2.0, 3.0], device=device)
    y = x.astype(x.dtype) if how == "method" else ag.astype(x, x.dtype)
    y.add_(1.0)
    y.requires_grad_()
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0, 3.0])  # as np.ndarray.astype leaves its input
    assert not x.requires_grad
    assert (x.astype(x.dtype, copy=False) if how == "method" else ag.astype(x, x.dtype, copy=False)) is x


def test_astype_copy_stays_in_the_graph():
    x = f64([1.0, -2.0], requires_grad=True)
    y = x.astype("float64")
    assert y is not x and y.grad_fn is not None
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, -4.0])


# --- default_device is per thread, as PyTorch's `with torch.device(...)` ------------------
@pytest.mark.skipif(not HAS_STRICT, reason="needs array-api-strict")
def test_a_default_device_block_in_one_thread_leaves_other_threads_alone():
    inside, release = threading.Event(), threading.Event()
    seen = []

    def worker():
        with ag.default_device("strict"):
            seen.append(ag.zeros(1).device)
            inside.set()
            release.wait(10)

    home = ag.zeros(1).device  # the process' default (cuda:0 under TOPOGRAD_DEVICE=cuda)
    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert inside.wait(10)
        assert ag.zeros(1).device == home  # was 'strict': the worker's block reached this thread
    finally:
        release.set()
        thread.join()
    assert seen == ["strict"]


@pytest.mark.skipif(not HAS_STRICT, reason="needs array-api-strict")
def test_default_device_blocks_that_end_out_of_order_across_threads_restore_each_threads_default():
    # Thread A enters strict, thread B enters cpu, A leaves, then B leaves: with one process-wide
    # default, B's exit restored A's 'strict' and left it as everyone's default for good.
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}
    home = ag.zeros(1).device  # the process' default (cuda:0 under TOPOGRAD_DEVICE=cuda)

    def thread_a():
        with ag.default_device("strict"):
            a_in.set()
            b_in.wait(10)
        seen["a after"] = ag.zeros(1).device
        a_out.set()

    def thread_b():
        a_in.wait(10)
        with ag.default_device("cpu"):
            b_in.set()
            a_out.wait(10)
            seen["b inside"] = ag.zeros(1).device
        seen["b after"] = ag.zeros(1).device

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"a after": home, "b inside": "cpu", "b after": home}
    assert ag.zeros(1).device == home and backends.get_default().device == home


@pytest.mark.skipif(not HAS_STRICT, reason="needs array-api-strict")
def test_set_default_device_still_reaches_new_threads_outside_a_block():
    home = ag.zeros(1).device
    previous = backends.set_default_device("strict")
    try:
        seen = []
        thread = threading.Thread(target=lambda: seen.append(ag.zeros(1).device))
        thread.start()
        thread.join()
        assert seen == ["strict"]
    finally:
        backends.set_default_device(previous)
    assert ag.zeros(1).device == home


def test_a_bad_topograd_device_names_the_environment_variable():
    env = dict(os.environ, TOPOGRAD_DEVICE="tpu")
    out = subprocess.run([sys.executable, "-c", "import autograd"], env=env, capture_output=True, text=True)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("ValueError: the environment variable TOPOGRAD_DEVICE='tpu': unknown device 'tpu'")


# --- a copy to another device never aliases its source, as PyTorch's .to ----------------------
@pytest.mark.skipif(not HAS_STRICT, reason="needs array-api-strict")
@pytest.mark.parametrize("source, target", [("cpu", "strict"), ("strict", "cpu")])
def test_to_another_device_copies(source, target):
    x = ag.tensor([1.0, 2.0], device=source)
    y = x.to(target)
    x += 10.0  # was seen through y: both held one host buffer, each with its own version counter
    np.testing.assert_array_equal(y.numpy(), [1.0, 2.0])
    y += 100.0
    np.testing.assert_array_equal(x.numpy(), [11.0, 12.0])


@pytest.mark.skipif(not HAS_STRICT, reason="needs array-api-strict")
def test_the_tensor_constructor_copies_a_tensor_from_another_device():
    x = ag.tensor([1.0, 2.0], device="strict")
    y = ag.Tensor(x, device="cpu")  # (from cpu to strict it copied already)
    assert y.device == "cpu"
    y += 1.0
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])


@pytest.mark.skipif(not HAS_STRICT, reason="needs array-api-strict")
def test_module_to_another_device_and_back_leaves_a_copy_it_moved_from_alone():
    nn = pytest.importorskip("nn")
    layer = nn.Linear(2, 2)
    before = layer.weight.numpy(force=True).copy()
    kept = layer.weight.detach().to("strict")
    layer.to("strict")
    layer.to("cpu")
    with ag.no_grad():
        layer.weight += 1.0
    np.testing.assert_array_equal(kept.numpy(), before)


# --- ag.tensor(t) keeps t's device, as torch.tensor(t) -----------------------------------------
@pytest.mark.skipif(not HAS_STRICT, reason="needs array-api-strict")
def test_tensor_of_a_tensor_keeps_its_device_as_torch():
    torch = pytest.importorskip("torch")
    with pytest.warns(UserWarning):  # PyTorch's advice to use .detach().clone()
        assert torch.tensor(torch.ones(2, device="meta")).device.type == "meta"
    source = ag.tensor([1.0, 2.0], dtype="float64", device="strict")
    copied = ag.tensor(source)
    assert copied.device == "strict" and copied.dtype == ag.float64  # the device was the default, cpu
    copied += 1.0
    np.testing.assert_array_equal(source.numpy(), [1.0, 2.0])
    assert ag.tensor(source, device="cpu").device == "cpu"


def test_to_device_takes_a_device_name_as_tensor_to_does(device):
    """ag.to_device took only a Backend object: "cpu" raised AttributeError ('str' object
    has no attribute 'from_numpy')."""
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = ag.to_device(x, "cpu")
    assert y.device == "cpu"
    assert (y is x) == (device == "cpu")
    (y * ag.tensor([3.0, 4.0], device="cpu")).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    assert x.grad.device == device
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        ag.to_device(x, "gpu")
    with pytest.raises(TypeError, match="expected a Tensor, got list"):
        ag.to_device([1.0], "cpu")


# --- a size that is not an integer ----------------------------------------------------------------

def test_reshape_refuses_a_non_integer_size(device):
    x = ag.randn(6)
    with pytest.raises(TypeError, match=r"(?i)integer|int\b"):
        x.reshape(2, 3.7)  # silently (2, 3) now


# --- .numpy() and np.asarray of a tensor that requires grad ---------------------------------------

def test_numpy_of_a_tensor_that_requires_grad_is_read_only(device):
    """PyTorch refuses .numpy() on a tensor that requires grad. Here it is a read-only
    view: a write through it would bypass the version counter and make the gradient
    silently wrong. .detach().numpy() stays writable, as in PyTorch."""
    w = ag.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    y = (w * w).sum()
    with pytest.raises(ValueError, match="read-only"):
        w.numpy()[0] = 100.0
    np.testing.assert_array_equal(w.numpy(), [1.0, 2.0, 3.0])
    y.backward()
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 4.0, 6.0])
    w.grad.numpy()[0] = 7.0  # a gradient does not require grad: writable, and shares memory on the CPU
    assert w.grad.tolist()[0] == (2.0 if device.startswith("cuda") else 7.0)  # (from a GPU, numpy() copies to the host)


def test_np_asarray_of_a_tensor_that_requires_grad_is_read_only_too():
    """np.asarray(w) (``__array__``, CPU tensors only) is a second way to the same memory:
    read-only too, unless a copy is asked for."""
    w = ag.tensor([1.0, 2.0, 3.0], device="cpu", requires_grad=True)
    with pytest.raises(ValueError, match="read-only"):
        np.asarray(w)[0] = 100.0
    copied = np.array(w, copy=True)
    copied[0] = 100.0
    assert w.tolist() == [1.0, 2.0, 3.0]
    plain = ag.tensor([1.0, 2.0], device="cpu")
    np.asarray(plain)[0] = 5.0  # a tensor outside the graph shares its memory, writable
    assert plain.tolist() == [5.0, 2.0]


# --- PyTorch-only method names: an error that names the NumPy spelling to use ---------------------

@pytest.mark.parametrize("call, fix", [
    (lambda x: x.view(6), r"use reshape\(\*shape\)"),
    (lambda x: x.unsqueeze(0), r"use expand_dims\(axis\)"),
    (lambda x: x.permute(1, 0), r"use transpose\(\*axes\)"),
    (lambda x: x.expand(4, 2, 3), r"use broadcast_to"),
    (lambda x: x.numel(), r"size is the element count"),
    (lambda x: x.dim(), r"use the ndim attribute"),
    (lambda x: x.float(), r"astype\(ag\.float32\)"),
    (lambda x: x.long(), r"astype\(ag\.int64\)"),
    (lambda x: x.bool(), r"astype\(ag\.bool\)"),
    (lambda x: x.gather(1, ag.zeros(2, 1, dtype=ag.int64)), r"take_along_axis"),
    (lambda x: x.view_as(x), r"use reshape\(other\.shape\)"),
    (lambda x: x.reshape_as(x), r"use reshape\(other\.shape\)"),
    (lambda x: x.expand_as(x), r"use broadcast_to\(other\.shape\)"),
    (lambda x: x.type_as(x), r"use astype\(other\.dtype\)"),
], ids=["view", "unsqueeze", "permute", "expand", "numel", "dim", "float", "long", "bool", "gather",
                         "view_as", "reshape_as", "expand_as", "type_as"])
def test_pytorch_method_names_say_the_numpy_spelling(device, call, fix):
    x = ag.ones(2, 3)
    with pytest.raises(AttributeError, match=rf"^'Tensor' object has no attribute '\w+' \(a PyTorch name\); .*{fix}"):
        call(x)


def test_pytorch_names_still_answer_hasattr_false_and_the_hints_work(device):
    """Duck-typing code (hasattr(t, 'numel') to spot a torch tensor) must still see a
    non-torch object, and each suggested spelling must do what the PyTorch call did."""
    x = ag.arange(6, dtype=ag.float32).reshape(2, 3)
    assert not any(hasattr(x, name) for name in ("view", "unsqueeze", "numel", "dim", "float", "long"))
    assert getattr(nn.Parameter(ag.ones(2)), "contiguous", None) is None
    torch = pytest.importorskip("torch")
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    idx = [[2, 0], [1, 1]]
    pairs = [(x.reshape(3, 2), t.view(3, 2)), (x.expand_dims(0), t.unsqueeze(0)),
             (x.transpose(1, 0), t.permute(1, 0)), (x.broadcast_to(4, 2, 3), t.expand(4, 2, 3)),
             (x.take_along_axis(ag.tensor(idx), 1), t.gather(1, torch.tensor(idx))),
             (x.astype(ag.int64), t.long())]
    for ours, theirs in pairs:
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert (x.size, x.ndim) == (t.numel(), t.dim())


HINTED = {  # PyTorch's call, and the spelling its hint names
    "t": (lambda t: t.t(), lambda x: x.T),
    "chunk": (lambda t: t.chunk(3, 1), lambda x: x.split(3, 1)),
    "unbind": (lambda t: t.unbind(1), lambda x: x.unstack(1)),
    "neg": (lambda t: t.neg(), lambda x: -x),
    "add": (lambda t: t.add(t, alpha=2), lambda x: x + 2 * x),
    "sub": (lambda t: t.sub(t, alpha=0.5), lambda x: x - 0.5 * x),
    "mul": (lambda t: t.mul(t), lambda x: x * x),
    "div": (lambda t: t.div(2), lambda x: x / 2),
    "eq": (lambda t: t.eq(1), lambda x: x == 1),
    "ne": (lambda t: t.ne(1), lambda x: x != 1),
    "lt": (lambda t: t.lt(1), lambda x: x < 1),
    "le": (lambda t: t.le(1), lambda x: x <= 1),
    "gt": (lambda t: t.gt(1), lambda x: x > 1),
    "ge": (lambda t: t.ge(1), lambda x: x >= 1),
    "amax": (lambda t: t.amax(1, keepdim=True), lambda x: x.max(1, keepdims=True)),
    "amin": (lambda t: t.amin(0), lambda x: x.min(0)),
    "softmax": (lambda t: t.softmax(1), lambda x: nn.functional.softmax(x, 1)),
    "log_softmax": (lambda t: t.log_softmax(0), lambda x: nn.functional.log_softmax(x, 0)),
    "masked_select": (lambda t: t.masked_select(t > 2), lambda x: x[x > 2]),
    "where": (lambda t: t.where(t > 2, 0.0), lambda x: ag.where(x > 2, x, 0.0)),
    "mm": (lambda t: t.mm(t.T), lambda x: x @ x.T),
    "bmm": (lambda t: t[None].bmm(t.T[None]), lambda x: x[None] @ x.T[None]),
    "dot": (lambda t: t[1].dot(t[1]), lambda x: ag.vecdot(x[1], x[1])),
    "rsqrt": (lambda t: (t + 1).rsqrt(), lambda x: 1 / (x + 1).sqrt()),
    "is_floating_point": (lambda t: t.is_floating_point(), lambda x: ag.isdtype(x.dtype, "real floating")),
    "element_size": (lambda t: t.element_size(), lambda x: x.dtype.itemsize),
}


@pytest.mark.parametrize("name", HINTED)
def test_more_pytorch_names_name_a_spelling_that_does_what_pytorchs_did(device, torch, name):
    theirs_call, ours_call = HINTED[name]
    x = ag.arange(6, dtype=ag.float32).reshape(2, 3)
    with pytest.raises(AttributeError, match=rf"^'Tensor' object has no attribute '{name}' \(a PyTorch name\); use "):
        theirs_call(x)
    ours, theirs = ours_call(x), theirs_call(torch.arange(6, dtype=torch.float32).reshape(2, 3))
    for a, b in zip(ours if isinstance(ours, (tuple, list)) else [ours],
                    theirs if isinstance(theirs, (tuple, list)) else [theirs]):
        if isinstance(b, torch.Tensor):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
        else:
            assert a == b


def test_the_random_fills_name_nn_init(device):
    x = ag.zeros(3)
    for call, fix in ((lambda: x.uniform_(0, 1), r"nn\.init\.uniform_"), (lambda: x.normal_(), r"nn\.init\.normal_")):
        with pytest.raises(AttributeError, match=fix):
            call()


# --- in-place fills and clamps given strings ------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    (lambda t: t.fill_("1"), r"fill_: value must be a real number, a bool or a 0-d tensor, not str '1'"),
    (lambda t: t.fill_(None), r"fill_: value must be a real number, a bool or a 0-d tensor, not NoneType"),
    (lambda t: nn.init.constant_(t, "0.5"), r"fill_: value must be a real number"),
    (lambda t: t.clamp_("0", 1), r"clip: min must be a real number or a Tensor, not str '0'"),
    (lambda t: t.clamp(max=[1.0]), r"clip: max must be a real number or a Tensor, not list"),
], ids=["fill_-str", "fill_-None", "init.constant_-str", "clamp_-str", "clamp-list"])
def test_fill_and_clamp_refuse_values_that_are_not_numbers(device, torch, change, message):
    """fill_("1") filled 1 (NumPy parses the string; torch raises TypeError), fill_("a")
    raised NumPy's "could not convert string to float", and clamp_("0", 1) Python's
    "'>' not supported between instances of 'str' and 'int'"."""
    with pytest.raises(TypeError):
        torch.zeros(2).fill_("1")
    t = ag.tensor([3.0, -2.0])
    with pytest.raises(TypeError, match=message):
        change(t)
    assert t.tolist() == [3.0, -2.0]


def test_fill_and_clamp_still_take_numpy_scalars_and_0d_arrays(device):
    t = ag.tensor([3.0, -2.0])
    assert t.clamp(np.array(-1.0), np.float32(2.0)).tolist() == [2.0, -1.0]
    assert t.fill_(np.float64(0.5)).tolist() == [0.5, 0.5]
