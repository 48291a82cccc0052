"""The in-place forms of the elementwise ops (x.exp_(), x.clamp_(a, b), x.remainder_(y),
x.masked_fill_(m, v), ...), masked_fill, and the ag.bitwise_* functions, against
PyTorch 2.13: values and gradients through the changed tensor in float64, dtype
refusals, leaves, views, and the version check of a saved tensor."""
import numpy as np
import pytest

import autograd as ag

RNG = np.random.default_rng(11)
ANY = RNG.uniform(-2, 2, (3, 4))
UNIT = RNG.uniform(-0.9, 0.9, (3, 4))      # arcsin, arccos, arctanh
POSITIVE = RNG.uniform(0.2, 3, (3, 4))     # log, sqrt, reciprocal
ABOVE_ONE = RNG.uniform(1.2, 3, (3, 4))    # arccosh
OTHER = RNG.uniform(0.5, 2, (3, 4))
PROBABILITY = RNG.uniform(0.05, 0.95, (3, 4))  # logit

# (our method, its args, PyTorch's method, input): each args entry that is an array
# becomes a tensor (a leaf that requires grad) on both sides. PyTorch has no derivative
# for its in-place asinh_, acosh_ and atanh_: those are compared with its out-of-place op.
FLOATING = [
    ("exp_", (), "exp_", ANY), ("exp2_", (), "exp2_", ANY), ("expm1_", (), "expm1_", ANY),
    ("log_", (), "log_", POSITIVE), ("log2_", (), "log2_", POSITIVE), ("log10_", (), "log10_", POSITIVE),
    ("log1p_", (), "log1p_", POSITIVE), ("sqrt_", (), "sqrt_", POSITIVE),
    ("reciprocal_", (), "reciprocal_", POSITIVE), ("erf_", (), "erf_", ANY), ("erfc_", (), "erfc_", ANY),
    ("erfinv_", (), "erfinv_", UNIT), ("logit_", (), "logit_", PROBABILITY), ("logit_", (0.2,), "logit_", PROBABILITY),
    ("i0_", (), "i0_", ANY), ("xlogy_", (OTHER,), "xlogy_", ANY), ("xlogy_", (2.5,), "xlogy_", ANY),
    ("lgamma_", (), "lgamma_", POSITIVE),
    ("sigmoid_", (), "sigmoid_", ANY), ("sin_", (), "sin_", ANY), ("cos_", (), "cos_", ANY),
    ("tan_", (), "tan_", UNIT), ("tanh_", (), "tanh_", ANY), ("sinh_", (), "sinh_", ANY),
    ("cosh_", (), "cosh_", ANY), ("arcsin_", (), "arcsin_", UNIT), ("asin_", (), "asin_", UNIT),
    ("arccos_", (), "arccos_", UNIT), ("arctan_", (), "arctan_", ANY), ("arcsinh_", (), "arcsinh", ANY),
    ("arccosh_", (), "arccosh", ABOVE_ONE), ("arctanh_", (), "arctanh", UNIT),
    ("arctan2_", (OTHER,), "arctan2_", ANY), ("atan2_", (OTHER,), "atan2_", ANY),
    ("hypot_", (OTHER,), "hypot_", ANY),
    ("neg_", (), "neg_", ANY), ("abs_", (), "abs_", ANY), ("sign_", (), "sign_", ANY),
    ("square_", (), "square_", ANY), ("floor_", (), "floor_", ANY), ("ceil_", (), "ceil_", ANY),
    ("round_", (), "round_", ANY), ("round_", (1,), "round_decimals", ANY), ("trunc_", (), "trunc_", ANY),
    ("clip_", (-0.5, 1.0), "clamp_", ANY), ("clamp_", (None, 0.3), "clamp_", ANY),
    ("clamp_", (-UNIT, None), "clamp_", ANY), ("pow_", (2.5,), "pow_", POSITIVE),
    ("pow_", (OTHER,), "pow_", POSITIVE), ("fmod_", (0.7,), "fmod_", ANY), ("remainder_", (0.7,), "remainder_", ANY),
    ("remainder_", (OTHER,), "remainder_", ANY),
]


def _pair(torch, value):
    if isinstance(value, np.ndarray):
        return ag.tensor(value, requires_grad=True), torch.tensor(value, requires_grad=True)
    return value, value


@pytest.mark.parametrize("ours, args, theirs, data", FLOATING, ids=[f"{c[0]}{len(c[1])}" for c in FLOATING])
def test_in_place_method_values_and_gradients_match_torch(torch, ours, args, theirs, data):
    x, tx = ag.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    pairs = [_pair(torch, a) for a in args]
    y, ty = x * 1, tx * 1  # a non-leaf, which in-place ops may change while recording
    returned = getattr(y, ours)(*(p[0] for p in pairs))
    if theirs == "round_decimals":  # a keyword in PyTorch
        ty.round_(decimals=args[0])
    else:
        ty = getattr(ty, theirs)(*(p[1] for p in pairs))
    assert returned is y
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-14)
    w = RNG.standard_normal(data.shape)
    (y * ag.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-14)
    for (a, ta) in pairs:
        if isinstance(a, ag.Tensor):
            np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_digamma_in_place_is_the_op_with_its_gradient():
    """Compared with ag.digamma, not PyTorch: its trigamma, digamma's gradient, is 5e-10 off."""
    x = ag.tensor(POSITIVE, requires_grad=True)
    y = x * 1
    assert y.digamma_() is y
    np.testing.assert_array_equal(y.numpy(), ag.digamma(ag.tensor(POSITIVE)).numpy())
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), ag.polygamma(1, ag.tensor(POSITIVE)).numpy())


def test_in_place_methods_are_twice_differentiable(torch):
    x, tx = ag.tensor(UNIT, requires_grad=True), torch.tensor(UNIT, requires_grad=True)
    y = x * 1
    y.tanh_().pow_(3).arcsin_()  # tanh_ keeps its own output array, so pow_ may change y
    ty = (tx * 1).tanh().pow(3).asin()  # PyTorch's tanh_ keeps y itself, and refuses the pow_
    g, = ag.grad(y.sum(), x, create_graph=True)
    tg, = torch.autograd.grad(ty.sum(), tx, create_graph=True)
    gg, = ag.grad((g * g).sum(), x)
    tgg, = torch.autograd.grad((tg * tg).sum(), tx)
    np.testing.assert_allclose(gg.numpy(), tgg.numpy(), rtol=1e-10)


INTEGER = [("remainder_", (3,)), ("floor_divide_", (3,)), ("fmod_", (3,)), ("bitwise_and_", (6,)),
           ("bitwise_or_", (6,)), ("bitwise_xor_", (6,)), ("bitwise_not_", ()), ("neg_", ()), ("abs_", ()),
           ("square_", ()), ("pow_", (2,)), ("clamp_", (-3, 4)), ("sign_", ())]


@pytest.mark.parametrize("name, args", INTEGER, ids=[c[0] for c in INTEGER])
def test_in_place_methods_on_integer_tensors_match_torch(torch, name, args):
    data = np.array([-7, -2, 0, 3, 5, 12])
    x, tx = ag.tensor(data), torch.tensor(data)
    getattr(x, name)(*args)
    getattr(tx, name)(*args)
    assert x.dtype == ag.int64
    np.testing.assert_array_equal(x.numpy(), tx.numpy())


@pytest.mark.parametrize("name", ["logical_and_", "logical_or_", "logical_xor_", "logical_not_"])
def test_logical_in_place_methods_write_truth_values_in_the_tensors_dtype(torch, name):
    data, other = np.array([0.0, 1.5, -2.0, 0.0]), np.array([3.0, 0.0, 1.0, 0.0])
    x, tx = ag.tensor(data), torch.tensor(data)
    args = () if name == "logical_not_" else (other,)
    getattr(x, name)(*(ag.tensor(a) for a in args))
    getattr(tx, name)(*(torch.tensor(a) for a in args))
    assert x.dtype == ag.float64
    np.testing.assert_array_equal(x.numpy(), tx.numpy())


def test_the_operators_go_through_the_named_methods():
    x = ag.tensor([7, 9, 12])
    x %= 5
    assert x.tolist() == [2, 4, 2]
    x //= 2
    assert x.tolist() == [1, 2, 1]
    x |= 4
    x ^= 1
    x &= 6
    assert x.tolist() == [4, 6, 4]


def test_in_place_power_changes_the_tensor_and_its_base(torch):
    """``**=`` is pow_, as in PyTorch and NumPy: it once rebound the name to a new tensor, so
    ``row **= 2`` left the tensor it viewed unchanged, and an int tensor took a float power."""
    data = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.5]])
    x, tx = ag.tensor(data), torch.tensor(data)
    row, trow = x[1], tx[1]
    alias = row
    row **= 2
    trow **= 2
    assert alias is row
    np.testing.assert_array_equal(x.numpy(), tx.numpy())
    w = ag.tensor(data, requires_grad=True)
    tw = torch.tensor(data, requires_grad=True)
    y, ty = w * 1, tw * 1
    y **= 3
    ty **= 3
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy())
    ints = ag.tensor([1, 2, 3])
    with pytest.raises(TypeError, match="pow_: the result is floating point but the tensor is int64"):
        ints **= 0.5
    assert ints.tolist() == [1, 2, 3]


@pytest.mark.parametrize("name, args", [("exp_", ()), ("sqrt_", ()), ("sigmoid_", ()), ("arctan2_", (1.0,)),
                                        ("pow_", (0.5,)), ("clamp_", (0.5, 2.5)), ("remainder_", (1.5,))])
def test_a_result_the_tensor_cannot_hold_is_refused_and_nothing_changes(name, args):
    x = ag.tensor([1, 2, 3])
    with pytest.raises(TypeError, match=f"{name}: the result is floating point but the tensor is int64"):
        getattr(x, name)(*args)
    assert x.tolist() == [1, 2, 3] and x.dtype == ag.int64


BOOL = [("square_", ()), ("sign_", ()), ("floor_", ()), ("mul_", (True,)), ("add_", (True,)),
        ("bitwise_xor_", (True,)), ("logical_not_", ())]


@pytest.mark.parametrize("name, args", BOOL, ids=[c[0] for c in BOOL])
def test_in_place_methods_on_bool_tensors_are_taken_or_refused_as_by_torch(device, torch, name, args):
    """A result the op itself widens counts as an operand's would: a bool squared is int64
    (PyTorch's and topograd's square), which a bool tensor cannot hold (square_ wrote it
    back as bools)."""
    data = np.array([True, False, True])
    x, tx = ag.tensor(data), torch.tensor(data)
    try:
        getattr(tx, name)(*args)
    except RuntimeError:
        with pytest.raises(TypeError, match="bool"):
            getattr(x, name)(*args)
        assert x.tolist() == data.tolist()
    else:
        getattr(x, name)(*args)
        np.testing.assert_array_equal(x.numpy(), tx.numpy())
    assert x.dtype == ag.bool


@pytest.mark.parametrize("name, args", [("remainder_", (np.float32(2.5),)), ("floor_divide_", (np.array(2.5),)),
                                        ("pow_", (np.float32(0.5),)), ("clamp_", (None, np.array([2.5, 2.5, 2.5]))),
                                        ("fmod_", (np.float16(1.5),))])
def test_a_numpy_float_operand_into_an_integer_tensor_is_refused_too(name, args):
    """NumPy scalars (np.float32 is no Python float) and arrays count as their dtype, as
    add_'s operand does, rather than being let through to truncate silently."""
    x = ag.tensor([7, 9, 12])
    with pytest.raises(TypeError, match=f"{name}: the result is floating point but the tensor is int64"):
        getattr(x, name)(*args)
    assert x.tolist() == [7, 9, 12]
    with pytest.raises(TypeError, match="remainder_: the result is floating point"):
        x %= np.float32(2.5)
    assert x.tolist() == [7, 9, 12]


def test_an_operand_that_is_no_number_gets_the_ops_own_error():
    x = ag.tensor([1.0, 2.0])
    for method in (x.pow_, x.add_):
        with pytest.raises(TypeError, match="cannot make a tensor of this str"):
            method("2")
    assert x.tolist() == [1.0, 2.0]


def test_bitwise_in_place_on_a_float_tensor_is_refused():
    x = ag.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="bitwise_and .*not defined for floating tensors"):
        x.bitwise_and_(1)
    assert x.tolist() == [1.0, 2.0]


def test_a_leaf_that_requires_grad_is_refused_while_recording():
    x = ag.tensor([0.5, 1.5], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        x.exp_()
    assert x.tolist() == [0.5, 1.5]
    with ag.no_grad():
        x.clamp_(max=1.0)
    assert x.tolist() == [0.5, 1.0]


def test_through_a_view_the_base_gets_the_gradient(torch):
    x, tx = ag.tensor(ANY, requires_grad=True), torch.tensor(ANY, requires_grad=True)
    y, ty = x * 1, tx * 1
    y[1].sin_()
    y.T[2].clamp_(-0.5, 0.5)
    ty[1].sin_()
    ty.T[2].clamp_(-0.5, 0.5)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-14)
    w = RNG.standard_normal(ANY.shape)
    (y * ag.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_changing_a_saved_tensor_is_caught_at_backward_naming_the_line():
    x = ag.tensor([0.5, 1.5], requires_grad=True)
    y = x * 1
    z = y * y  # keeps y for its backward
    y.exp_()
    with pytest.raises(RuntimeError, match=r"modified in place at .*test_inplace_methods_against_torch.py"):
        z.sum().backward()


def test_masked_fill_matches_torch_in_values_and_both_gradients(torch):
    mask = np.array([True, False, True, False])
    x, tx = ag.tensor(ANY, requires_grad=True), torch.tensor(ANY, requires_grad=True)
    v, tv = ag.tensor(0.25, dtype=ag.float64, requires_grad=True), torch.tensor(0.25, dtype=torch.float64, requires_grad=True)
    y, ty = x.masked_fill(ag.tensor(mask), v), tx.masked_fill(torch.tensor(mask), tv)
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    w = RNG.standard_normal(ANY.shape)
    (y * ag.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-14)
    np.testing.assert_allclose(v.grad.numpy(), tv.grad.numpy(), rtol=1e-12)


def test_masked_fill_keeps_the_tensors_dtype_and_its_in_place_form_matches_torch(torch):
    data, mask = np.array([[1, 2], [3, 4]]), np.array([[True, False], [False, True]])
    y, ty = ag.masked_fill(ag.tensor(data), ag.tensor(mask), 2.7), torch.tensor(data).masked_fill(
        torch.tensor(mask), 2.7)
    assert y.dtype == ag.int64
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    x, tx = ag.tensor(ANY), torch.tensor(ANY)
    x.masked_fill_(ag.tensor([True, False, False, True]), -1.0)
    tx.masked_fill_(torch.tensor([True, False, False, True]), -1.0)
    np.testing.assert_array_equal(x.numpy(), tx.numpy())


def test_masked_fill_broadcasts_the_tensor_against_a_larger_mask_as_torch(torch):
    mask = np.array([[[True, False, False, True]], [[False, True, False, False]]])
    x, tx = ag.tensor(ANY, requires_grad=True), torch.tensor(ANY, requires_grad=True)
    y, ty = x.masked_fill(ag.tensor(mask), 0.5), tx.masked_fill(torch.tensor(mask), 0.5)
    assert y.shape == tuple(ty.shape) == (2, 3, 4)
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_masked_fill_errors_name_the_problem():
    x = ag.tensor(ANY)
    with pytest.raises(TypeError, match="masked_fill: the mask must be a bool tensor, not float64"):
        x.masked_fill(ag.tensor(ANY), 0.0)
    with pytest.raises(ValueError, match=r"masked_fill: value must be a Python number or a 0-d tensor, got "
                                         r"shape \(2,\)"):
        x.masked_fill(x > 0, ag.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"masked_fill_: the result has shape \(2, 3, 4\) but the tensor being "
                                         r"changed in place has shape \(3, 4\)"):
        x.masked_fill_(ag.zeros(2, 3, 4, dtype=ag.bool), 0.0)  # (out of place, the two broadcast)
    assert x.tolist() == ANY.tolist()
    with pytest.raises(ValueError, match="masked_fill: cannot broadcast"):
        x.masked_fill(ag.zeros(5, dtype=ag.bool), 0.0)


@pytest.mark.parametrize("name", ["bitwise_and", "bitwise_or", "bitwise_xor"])
def test_bitwise_functions_and_methods_match_torch(torch, name):
    a, b = np.array([-7, -2, 0, 3, 5, 12]), np.array([3, 6, 1, 7, -1, 10])
    expected = getattr(torch, name)(torch.tensor(a), torch.tensor(b)).numpy()
    np.testing.assert_array_equal(getattr(ag, name)(ag.tensor(a), ag.tensor(b)).numpy(), expected)
    np.testing.assert_array_equal(getattr(ag.tensor(a), name)(ag.tensor(b)).numpy(), expected)
    bools = np.array([True, False, True, False]), np.array([True, True, False, False])
    np.testing.assert_array_equal(getattr(ag, name)(*map(ag.tensor, bools)).numpy(),
                                  getattr(torch, name)(*map(torch.tensor, bools)).numpy())


def test_bitwise_not_is_bitwise_invert(torch):
    a = np.array([-7, 0, 12])
    np.testing.assert_array_equal(ag.bitwise_not(ag.tensor(a)).numpy(), torch.bitwise_not(torch.tensor(a)).numpy())
    np.testing.assert_array_equal(ag.tensor(a).bitwise_invert().numpy(), ~a)
    assert ag.bitwise_not(ag.tensor([True, False])).tolist() == [False, True]


def test_in_place_methods_and_masked_fill_on_every_backend(device):
    x = ag.tensor([[0.5, -1.0], [2.0, -3.0]], requires_grad=True)
    y = (x * 1).masked_fill(x < 0, 0.0)
    y.exp_().clamp_(max=5.0).remainder_(2.0)
    assert y.device == device
    np.testing.assert_allclose(y.numpy(), np.remainder(np.minimum(np.exp([[0.5, 0.0], [2.0, 0.0]]), 5.0), 2.0),
                               rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[np.exp(0.5), 0.0], [0.0, 0.0]], rtol=1e-6)
    i = ag.tensor([5, 6, 7])
    i.bitwise_xor_(3)
    assert i.tolist() == [6, 5, 4]


@pytest.mark.parametrize("method", ["add_", "mul_", "hypot_", "copy_"])
def test_an_operand_of_another_dtype_gets_a_gradient_of_its_own_dtype(torch, method):
    """As PyTorch: the result is cast into the changed tensor's dtype inside the graph,
    so a float64 operand of a float32 tensor's in-place op gets a float64 gradient."""
    x, tx = ag.tensor(ANY, dtype=ag.float32, requires_grad=True), torch.tensor(ANY, dtype=torch.float32,
                                                                            requires_grad=True)
    o, to = ag.tensor(OTHER, requires_grad=True), torch.tensor(OTHER, requires_grad=True)
    y, ty = x * 1, tx * 1
    getattr(y, method)(o)
    getattr(ty, method)(to)
    assert y.dtype == ag.float32
    y.sum().backward()
    ty.sum().backward()
    assert o.grad.dtype == ag.float64 and x.grad.dtype == ag.float32
    np.testing.assert_allclose(o.grad.numpy(), to.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)
