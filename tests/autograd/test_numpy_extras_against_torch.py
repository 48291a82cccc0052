"""NumPy's remaining functions (ops/stacking.py, ops/elementwise_extras.py and the
creation functions logspace, geomspace, tril_indices and triu_indices): the integer and
step ones, their special values, dtypes and errors, against NumPy and PyTorch. The
differentiable ones' op-table rows (tests/autograd/test_ops_table.py, NUMPY_EXTRAS)
check ordinary values and gradients."""
import math

import numpy as np
import pytest

import autograd as ag
from autograd.ops import stacking
import backends

INF, NAN = float("inf"), float("nan")
SPECIAL = [-3.7, -0.5, -0.0, 0.0, 0.5, 2.5, 27.0, -8.0, INF, -INF, NAN, 1e-310, -5e-324, 1.7e308]


def _same(got, want):
    """Equal values (NaN where NumPy has NaN, -0.0 where it has -0.0), shape and dtype."""
    want = np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.shape, want.dtype)
    got = got.numpy()
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


def _same_powers(got, want, device, floats):
    """``_same``, but on CUDA, whose float64 pow (CUDA's, within 2 ulp) is not the C library's
    (correctly rounded): the float64 ``floats`` within 4 ulp, and an integer dtype the
    truncation of a value within them, which can be a whole number off it."""
    if not device.startswith("cuda"):
        return _same(got, want)
    want = np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.shape, want.dtype)
    if want.dtype.kind == "f":
        np.testing.assert_allclose(got.numpy(), want, rtol=4 * np.finfo(np.float64).eps, atol=0)
    else:
        ends = (np.trunc(floats * (1 - 4 * np.finfo(np.float64).eps)),
                np.trunc(floats * (1 + 4 * np.finfo(np.float64).eps)))
        assert np.all((np.minimum(*ends) <= got.numpy()) & (got.numpy() <= np.maximum(*ends))), (got.numpy(), want)


def _grads(fn_ours, fn_torch, torch, *arrays, dtype="float64"):
    """Values and the gradients of their sum, ours and PyTorch's."""
    ours = [ag.tensor(np.array(a), dtype=dtype, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(np.array(a), dtype=getattr(torch, dtype), requires_grad=True) for a in arrays]
    y, ty = fn_ours(*ours), fn_torch(*theirs)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    for x, tx in zip(ours, theirs):
        assert x.grad.dtype == x.dtype
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-15, atol=0)


# --- integers: gcd and lcm ----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "uint8"])
def test_gcd_lcm_match_numpy_and_torch(dtype, device, torch):
    a = np.array([[0, 4, 12, 7, 100, 1]], dtype=dtype)
    b = np.array([[0], [6], [18], [35]], dtype=dtype)
    if dtype != "uint8":
        a = a * np.array([1, -1, 1, -1, 1, -1], dtype=dtype)
    for ours, theirs, torch_fn in ((ag.gcd, np.gcd, torch.gcd), (ag.lcm, np.lcm, torch.lcm)):
        got = ours(ag.tensor(a), ag.tensor(b))
        _same(got, theirs(a, b))
        np.testing.assert_array_equal(got.numpy(), torch_fn(torch.tensor(a), torch.tensor(b)).numpy())


def test_gcd_lcm_take_python_ints_and_give_no_gradient():
    x = ag.tensor([12, -18, 0])
    _same(ag.gcd(x, 8), np.gcd([12, -18, 0], 8))
    _same(ag.lcm(10, x), np.lcm(10, [12, -18, 0]))
    _same(ag.gcd(ag.tensor(2 ** 40 * 3), ag.tensor(2 ** 41)), np.gcd(2 ** 40 * 3, 2 ** 41))
    assert not ag.gcd(x, 8).requires_grad


@pytest.mark.parametrize("op", ["gcd", "lcm"])
@pytest.mark.parametrize("dtype", ["float32", "bool"])
def test_gcd_lcm_refuse_floats_and_bools(op, dtype):
    with pytest.raises(TypeError, match=rf"^{op}: takes integer tensors, not {dtype}; convert first"):
        getattr(ag, op)(ag.ones(3, dtype=dtype), ag.ones(3, dtype=dtype))


# --- the step heaviside ---------------------------------------------------------------------------------
def test_heaviside_matches_numpy_at_zeros_infinities_and_nan(device):
    x = np.array([-INF, -2.0, -0.0, 0.0, 3.0, INF, NAN])
    _same(ag.heaviside(ag.tensor(x, dtype="float64"), 0.5), np.heaviside(x, 0.5))
    values = np.array([7.0, 7.0, -1.0, 0.25, 7.0, 7.0, 7.0])
    _same(ag.heaviside(ag.tensor(x, dtype="float64"), ag.tensor(values, dtype="float64")), np.heaviside(x, values))


def test_heaviside_keeps_integers_and_bools_as_torch(device, torch):
    for x, v in (([-3, 0, 5], [9, 9, 9]), ([True, False], [False, True])):
        got = ag.heaviside(ag.tensor(x), ag.tensor(v))
        want = torch.heaviside(torch.tensor(x), torch.tensor(v))
        assert got.dtype.name == str(want.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_heaviside_gradients_are_zero(device):
    """PyTorch's heaviside has no derivative (backward raises); here it is a step's, zero."""
    x = ag.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    v = ag.tensor([0.5, 0.5, 0.5], requires_grad=True)
    (ag.heaviside(x, v) * ag.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0)
    np.testing.assert_array_equal(v.grad.numpy(), 0)


# --- the index and spacing creation functions ----------------------------------------------------------
@pytest.mark.parametrize("n, k, m", [(4, 0, None), (3, 1, 5), (5, -2, 2), (0, 0, None), (3, 10, None), (4, -9, 3)])
def test_triangle_indices_match_numpy_and_torch(n, k, m, device, torch):
    for name in ("triu_indices", "tril_indices"):
        got = getattr(ag, name)(n, k, m)
        want = getattr(np, name)(n, k, m)
        assert len(got) == 2 and got[0].device == device
        for g, w in zip(got, want):
            _same(g, w.astype(np.int64))
        theirs = getattr(torch, name)(n, n if m is None else m, k)
        np.testing.assert_array_equal(np.stack([g.numpy() for g in got]).reshape(2, -1), theirs.numpy())


def test_triangle_indices_refuse_bad_sizes_and_offsets():
    with pytest.raises(ValueError, match=r"^triu_indices: negative size in \(-1, -1\)"):
        ag.triu_indices(-1)
    with pytest.raises(TypeError, match=r"^tril_indices: the diagonal offset k must be an int, not 0.5"):
        ag.tril_indices(3, 0.5)


@pytest.mark.parametrize("args, kwargs", [
    ((0, 3, 7), {}), ((-1, 2, 5), dict(endpoint=False, base=2.0)), ((2, -1, 4), dict(base=np.e)),
    ((0, 3, 6), dict(dtype="int64")), ((1, 1, 1), {}), ((0, 1, 0), {}),
])
def test_logspace_matches_numpy(args, kwargs, device):
    np_kwargs = {k: (np.dtype(v) if k == "dtype" else v) for k, v in kwargs.items()}
    want = np.logspace(*args, **np_kwargs)
    got = ag.logspace(*args, **{"dtype": "float64", **kwargs})
    _same_powers(got, want, device, np.logspace(*args, **{**np_kwargs, "dtype": np.float64}))
    assert got.device == device
    assert ag.logspace(*args, **{k: v for k, v in kwargs.items() if k != "dtype"}).dtype == ag.get_default_dtype()


def test_logspace_matches_torch(torch):
    np.testing.assert_allclose(ag.logspace(-2, 3, 11, base=3.0, dtype="float64").numpy(),
                               torch.logspace(-2, 3, 11, base=3.0, dtype=torch.float64).numpy(), rtol=1e-15)


@pytest.mark.parametrize("args, kwargs", [
    ((1, 1000, 7), {}), ((-1000, -1, 4), {}), ((3, 7, 5), dict(endpoint=False)), ((1, 256, 9), dict(dtype="int64")),
    ((5, 7, 1), {}), ((2.5, 1e-3, 6), {}), ((1, 2, 0), {}),
])
def test_geomspace_matches_numpy_ends_exact(args, kwargs, device):
    want = np.geomspace(*args, **{k: (np.dtype(v) if k == "dtype" else v) for k, v in kwargs.items()})
    got = ag.geomspace(*args, **{"dtype": "float64", **kwargs})
    _same_powers(got, want, device, np.geomspace(*args, **{**kwargs, "dtype": np.float64}))
    ends = [0, -1] if kwargs.get("endpoint", True) else [0]
    np.testing.assert_array_equal(got.numpy()[ends] if want.size else [], want[ends] if want.size else [])


def test_creation_functions_make_leaves_that_require_grad():
    for t in (ag.logspace(0, 1, 3, requires_grad=True), ag.geomspace(1, 2, 3, requires_grad=True)):
        assert t.requires_grad and t.grad_fn is None and t.dtype == ag.float32


@pytest.mark.parametrize("call, error, message", [
    (lambda: ag.geomspace(0, 4), ValueError, r"^geomspace: a geometric sequence cannot include zero"),
    (lambda: ag.geomspace(-1, 4), ValueError, r"^geomspace: start -1.0 and stop 4.0 have opposite signs"),
    (lambda: ag.logspace(0, 1, -2), ValueError, r"^logspace: negative size in \(-2,\)"),
    (lambda: ag.logspace(0, 1, 3, axis=1), ValueError, r"^logspace: axis 1 is out of range"),
    (lambda: ag.logspace(0, 1, 3, base="10"), TypeError, r"^logspace: base must be a real number"),
])
def test_spacing_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --- special values of the elementwise primitives, on every device ----------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_frexp_modf_cbrt_at_special_values_match_numpy(dtype, device):
    x = np.array(SPECIAL, dtype=np.float64).astype(dtype) if dtype == "float64" else \
        np.array([v for v in SPECIAL if abs(v) < 3e38 and not 0 < abs(v) < 1e-300], dtype=dtype)
    t = ag.tensor(x, dtype=dtype)
    mantissa, exponent = ag.frexp(t)
    want_mantissa, want_exponent = np.frexp(x)
    _same(mantissa, want_mantissa)
    _same(exponent, want_exponent)
    for got, want in zip(ag.modf(t), np.modf(x)):
        _same(got, want)
    cube_root = ag.cbrt(t)
    np.testing.assert_allclose(cube_root.numpy(), np.cbrt(x), rtol=2 * np.finfo(dtype).eps, atol=0)
    np.testing.assert_array_equal(np.signbit(cube_root.numpy()), np.signbit(x))
    _same(ag.cbrt(ag.tensor([27.0, -64.0, 1e-27], dtype="float64")), np.cbrt([27.0, -64.0, 1e-27]))


def test_ldexp_reaches_the_ends_of_the_range_exactly(device):
    """2 ** e overflows (or underflows) where x * 2 ** e does not: frexp's mantissa of the
    largest double needs 2 ** 1024, that of the smallest subnormal 2 ** -1073."""
    x = np.array([0.5, 1e-320, 1.5, 0.0, -INF, 0.75, -3.0, NAN])
    e = np.array([1024, 1060, -1075, 5000, -9, -1074, 2000, 3])
    _same(ag.ldexp(ag.tensor(x, dtype="float64"), ag.tensor(e)), np.ldexp(x, e))
    m, n = np.frexp(np.array(SPECIAL))
    _same(ag.ldexp(ag.tensor(m, dtype="float64"), ag.tensor(n)), np.ldexp(m, n))
    _same(ag.ldexp(ag.tensor([1.5, -2.0], dtype="float32"), 3), np.ldexp(np.float32([1.5, -2.0]), 3))
    # exponents past int32 (which a CUDA kernel's ldexp(x, int) would cut to their low 32 bits)
    big = np.array([2 ** 32 + 3, 2 ** 31, -2 ** 40, -2 ** 31 - 1])
    _same(ag.ldexp(ag.tensor([1.0, 1.0, 3.0, -2.0], dtype="float64"), ag.tensor(big)),
          np.ldexp([1.0, 1.0, 3.0, -2.0], big))


def test_ldexp_refuses_floating_exponents():
    with pytest.raises(TypeError, match=r"^ldexp: the exponents x2 must be integers, not float32"):
        ag.ldexp(ag.ones(2), ag.ones(2))


def test_frexp_mantissa_gradient_matches_torch(torch):
    _grads(lambda x: ag.frexp(x)[0], lambda x: torch.frexp(x).mantissa, torch, [0.0, 3.0, -5e-324, -7.5, 0.5])
    mantissa, exponent = ag.frexp(ag.tensor([3.0], requires_grad=True))
    assert mantissa.requires_grad and not exponent.requires_grad and exponent.dtype == ag.int32


def test_frexp_gradient_survives_a_change_of_the_exponent_output(device):
    """The exponent is outside the graph, so nothing checks it for in-place changes: backward
    must not read it (with it, an ``e += 1`` halved the gradient)."""
    x = ag.tensor([3.0, 10.0], requires_grad=True)
    mantissa, exponent = ag.frexp(x)
    exponent += 1
    mantissa.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.25, 0.0625])


def test_fmax_fmin_with_nan_and_ties_match_torch(device, torch):
    """NaN loses to a number; on a tie, and where both are NaN, the gradient goes to x1."""
    a = [1.0, NAN, NAN, 2.0, -0.0, 3.0]
    b = [1.0, 1.0, NAN, NAN, 0.0, 4.0]
    _grads(ag.fmax, torch.fmax, torch, a, b)
    _grads(ag.fmin, torch.fmin, torch, a, b)
    # (not the -0.0/0.0 tie, whose sign NumPy changed: 0.0 in 2.2, -0.0 in 2.4)
    a, b = a[:4] + a[5:], b[:4] + b[5:]
    _same(ag.fmax(ag.tensor(a, dtype="float64"), ag.tensor(b, dtype="float64")), np.fmax(a, b))
    _same(ag.fmin(ag.tensor([1, 5]), ag.tensor([3, 2])), np.fmin([1, 5], [3, 2]))


def test_logaddexp2_at_infinities_matches_torch(device, torch):
    a = [INF, -INF, INF, 0.0, 3.0, -INF, 1000.0]
    b = [INF, -INF, -INF, 0.0, 3.0, 2.0, -1000.0]
    with np.errstate(invalid="ignore"):  # (inf - inf in the gradient, NaN as in PyTorch)
        _grads(ag.logaddexp2, torch.logaddexp2, torch, a, b)
    _same(ag.logaddexp2(ag.tensor(a, dtype="float64"), ag.tensor(b, dtype="float64")), np.logaddexp2(a, b))


def test_sinc_at_zero_matches_torch(torch):
    _grads(ag.sinc, torch.sinc, torch, [0.0, -0.0, 1.0, -0.5, 2.5])
    # at 1e-20 PyTorch's slope cancels to 0; ours is the true -pi**2/3 x (see test_sinc_slope.py)
    tiny = ag.tensor(1e-20, dtype="float64", requires_grad=True)
    ag.sinc(tiny).backward()
    assert tiny.grad.item() == pytest.approx(-math.pi ** 2 / 3 * 1e-20, rel=1e-15)
    x = ag.tensor([0.0], dtype="float64", requires_grad=True)
    (g,) = ag.grad(ag.sinc(x).sum(), [x], create_graph=True)
    assert g.item() == 0.0 and np.isfinite(ag.grad(g.sum(), [x])[0].item())


# --- dtypes --------------------------------------------------------------------------------------------------
def test_float_power_works_in_float64_and_gives_gradients_in_each_dtype(torch):
    _grads(ag.float_power, torch.float_power, torch, [-2.0, 0.0, 2.0, 1.5], [3.0, 0.0, -1.0, 0.5], dtype="float32")
    assert ag.float_power(ag.tensor([2.0]), 2).dtype == ag.float64
    # 0.1 taken in float64, not rounded to float32 on its way
    np.testing.assert_array_equal(ag.float_power(ag.tensor([2.0]), 0.1).numpy(), np.float_power(np.float32([2.0]), 0.1))
    _same(ag.float_power(ag.tensor([2, 3]), ag.tensor([-1, 2])), np.float_power([2, 3], [-1, 2]))


def test_integers_and_bools_take_the_default_float_where_numpy_gives_a_float():
    ints = ag.tensor([1, -2, 3])
    for fn in (ag.deg2rad, ag.rad2deg, ag.fabs, ag.cbrt, ag.sinc, ag.rint):
        assert fn(ints).dtype == ag.float32, fn.__name__
    assert ag.frexp(ints)[0].dtype == ag.float32 and ag.modf(ints)[0].dtype == ag.float32
    assert ag.logaddexp2(ints, 1).dtype == ag.float32 and ag.ldexp(ints, 2).dtype == ag.float32
    _same(ag.fix(ag.tensor([-3, 4], dtype="int16")), np.fix(np.int16([-3, 4])))  # integers stay, as NumPy 2's
    _same(ag.around(ag.tensor([-3, 4], dtype="int16")), np.around(np.int16([-3, 4])))
    np.testing.assert_array_equal(ag.rint(ag.tensor([0.5, 1.5, -2.5])).numpy(), [0.0, 2.0, -2.0])


@pytest.mark.parametrize("op", ["rint", "fix", "modf"])
def test_rounding_names_refuse_bools_naming_themselves(op):
    with pytest.raises(TypeError, match=rf"^{op}: not defined for bool tensors"):
        getattr(ag, op)(ag.tensor([True, False]))


def test_vander_of_integers_and_bools_is_int64_as_torch(torch):
    x = np.array([2, -3, 0], dtype=np.int32)
    got = ag.vander(ag.tensor(x))
    _same(got, np.vander(x).astype(np.int64))
    np.testing.assert_array_equal(got.numpy(), torch.vander(torch.tensor(x)).numpy())
    assert ag.vander(ag.tensor([True, False]), 3).dtype == ag.int64
    assert ag.vander(ag.tensor([1.5, 2.0]), 0).shape == (2, 0)


def test_divmod_of_tensors_and_python_divmod(device):
    a, b = np.array([7, -7, 6, -1]), np.array([2, 2, -4, 3])
    for got, want in zip(ag.divmod(ag.tensor(a), ag.tensor(b)), np.divmod(a, b)):
        _same(got, want)
    for got, want in zip(divmod(ag.tensor(a), 3), np.divmod(a, 3)):
        _same(got, want)
    for got, want in zip(divmod(7.5, ag.tensor([2.0, -2.0], dtype="float64")), np.divmod(7.5, [2.0, -2.0])):
        _same(got, want)
    with pytest.raises(ZeroDivisionError, match=r"^divmod: integer division by zero$"):
        divmod(ag.tensor([1, 2]), 0)


# --- shapes ---------------------------------------------------------------------------------------------------
ARR = np.arange(12.0).reshape(3, 4)


@pytest.mark.parametrize("obj", [1, -1, 4, [1], [0, 2, 2], [3, 0, -1], slice(0, 4, 2), slice(None, None, -1), [],
                                 np.array([1, 3])])
@pytest.mark.parametrize("values", [7.0, [7.0, 8.0, 9.0], [[1.0], [2.0], [3.0]]])
@pytest.mark.parametrize("axis", [None, 1])
def test_insert_matches_numpy(obj, values, axis, device):
    try:
        want = np.insert(ARR, obj, values, axis=axis)
    except ValueError:  # values that do not fit the slots
        with pytest.raises(ValueError, match=r"^insert: values of shape .* do not broadcast"):
            ag.insert(ag.tensor(ARR, dtype="float64"), obj, values, axis=axis)
        return
    x = ag.tensor(ARR, dtype="float64", requires_grad=True)
    got = ag.insert(x, obj, values, axis=axis)
    _same(got, want)
    got.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 1.0)  # every old element appears once


def test_insert_keeps_arr_dtype_and_sends_gradients_to_values():
    _same(ag.insert(ag.tensor([1, 2, 3]), 1, 9.7), np.insert(np.array([1, 2, 3]), 1, 9.7))
    v = ag.tensor([10.0, 20.0], requires_grad=True)
    out = ag.insert(ag.zeros(2, 2), [0, 2], v, axis=1)
    _same(out, np.insert(np.zeros((2, 2), np.float32), [0, 2], [10.0, 20.0], axis=1))  # new columns 0 and 3
    (out * ag.tensor([[1.0, 0.0, 0.0, 2.0], [3.0, 0.0, 0.0, 4.0]])).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [4.0, 6.0])


@pytest.mark.parametrize("obj", [1, -1, [1], [0, 2, 2], [3, 0, -1], slice(0, 4, 2), [], [True, False, True],
                                 np.array([True, False, False, True]), np.array([1, 3])])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_delete_matches_numpy(obj, axis, device):
    try:
        want = np.delete(ARR, obj, axis=axis)
    except (ValueError, IndexError) as error:
        with pytest.raises(type(error), match=r"^delete: "):
            ag.delete(ag.tensor(ARR, dtype="float64"), obj, axis=axis)
        return
    _same(ag.delete(ag.tensor(ARR, dtype="float64"), obj, axis=axis), want)


def test_atleast_gives_the_tensor_itself_where_it_has_enough_axes():
    x = ag.ones(2, 3)
    assert ag.atleast_1d(x) is x and ag.atleast_2d(x) is x and ag.atleast_3d(x).shape == (2, 3, 1)
    assert [t.shape for t in ag.atleast_3d(ag.tensor(1.0), ag.ones(4))] == [(1, 1, 1), (1, 4, 1)]


def test_stacks_take_a_tensor_as_its_rows_and_a_dtype():
    x = ag.tensor(ARR)
    _same(ag.vstack(x), np.vstack(ARR))
    _same(ag.hstack([ag.tensor([1, 2]), ag.tensor([3.5])], dtype="float64"),
          np.hstack([[1, 2], [3.5]], dtype=np.float64))
    _same(ag.column_stack([ag.tensor([1, 2]), ag.tensor([[3], [4]])]), np.column_stack([[1, 2], [[3], [4]]]))


def test_rot90_and_flips_are_views(device):
    x = ag.tensor(ARR, dtype="float64")
    for view in (ag.rot90(x), ag.fliplr(x), ag.flipud(x), ag.rot90(x, 4)):
        view[0, 0] = -1.0
    _same(x, np.array([[-1.0, 1, 2, -1], [4, 5, 6, 7], [-1, 9, 10, 11]]))


@pytest.mark.parametrize("call, error, message", [
    (lambda: ag.hstack([]), ValueError, r"^hstack: needs at least one tensor$"),
    (lambda: ag.vstack([ag.ones(2, 2), ag.ones(2, 3)]), ValueError, r"^vstack: shapes \(2, 2\) and \(2, 3\) differ"),
    (lambda: ag.dstack(x for x in [ag.ones(2)]), TypeError, r"^dstack: takes a sequence of tensors"),
    (lambda: ag.fliplr(ag.ones(3)), ValueError, r"^fliplr: needs at least 2 dimensions, got shape \(3,\)"),
    (lambda: ag.flipud(ag.tensor(1.0)), ValueError, r"^flipud: needs at least 1 dimension"),
    (lambda: ag.rot90(ag.ones(2, 2), axes=(0, -2)), ValueError, r"^rot90: axes \(0, -2\) name the same axis twice"),
    (lambda: ag.rot90(ag.ones(2, 2), axes=(0, 2)), ValueError, r"^rot90: axis 2 is out of range"),
    (lambda: ag.rot90(ag.ones(2, 2), axes=(0,)), ValueError, r"^rot90: axes must be a pair of axes"),
    (lambda: ag.inner(ag.ones(2, 3), ag.ones(2)), ValueError, r"^inner: the last axes of shapes \(2, 3\) and \(2,\)"),
    (lambda: ag.diagflat(ag.ones(2), 1.0), TypeError, r"^diagflat: the diagonal offset must be an int"),
    (lambda: ag.vander(ag.ones(2, 2)), ValueError, r"^vander: x must be 1-D, got shape \(2, 2\)"),
    (lambda: ag.vander(ag.ones(2), -1), ValueError, r"^vander: N must be >= 0, not -1$"),
    (lambda: ag.vander(ag.ones(2), 2.0), TypeError, r"^vander: N must be an int, not 2.0$"),
    (lambda: ag.insert(ag.ones(3), [True, False], 1.0), TypeError, r"^insert: obj must be an int, a slice"),
    (lambda: ag.append(ag.ones(2, 2), ag.ones(2), axis=0), ValueError, r"^append: values of shape \(2,\) and arr"),
    (lambda: ag.insert(ag.ones(5), 6, 1.0), IndexError, r"^insert: index 6 is out of bounds for axis 0 with size 5$"),
    (lambda: ag.insert(ag.ones(5), [0, -6], 1.0), IndexError, r"^insert: index -6 is out of bounds"),
    (lambda: ag.insert(ag.ones(5), 1.5, 1.0), TypeError, r"^insert: obj must be an int, a slice"),
    (lambda: ag.insert(ag.tensor(1.0), 0, 1.0, axis=0), ValueError, r"^insert: a 0-d tensor has no axis 0"),
    (lambda: ag.delete(ag.ones(5), 5), IndexError, r"^delete: index 5 is out of bounds for axis 0 with size 5$"),
    (lambda: ag.delete(ag.ones(5), [True, False]), ValueError, r"^delete: a bool mask obj must have the axis's"),
    (lambda: ag.polyval(ag.tensor(2.0), ag.ones(2)), ValueError, r"^polyval: p must be a sequence of coefficients"),
])
def test_shape_errors_name_the_op(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_polyval_follows_numpy_dtypes_and_shapes():
    _same(ag.polyval(ag.tensor([1, 2, 3]), ag.tensor([2, 3])), np.polyval([1, 2, 3], [2, 3]))
    _same(ag.polyval(ag.tensor([2.0], dtype="float64"), ag.ones(2, 2, dtype="float64")),
          np.polyval([2.0], np.ones((2, 2))))
    _same(ag.polyval(ag.tensor([], dtype="float64"), ag.ones(3, dtype="float64")), np.polyval(np.zeros(0), np.ones(3)))
    _same(ag.polyval([1.0, -1.0], ag.tensor(3.0, dtype="float64")), np.polyval([1.0, -1.0], 3.0))


# --- fmax and fmin ----------------------------------------------------------------------------
def test_fmax_fmin_of_bools_on_every_backend(device, torch):
    # The strict backend refused the standard's >= on bools (a TypeError); NumPy's answer is or/and
    a = np.array([True, False, True, False])
    b = np.array([True, True, False, False])
    for ours, theirs, np_fn in [(ag.fmax, torch.fmax, np.fmax), (ag.fmin, torch.fmin, np.fmin)]:
        got = ours(ag.tensor(a), ag.tensor(b))
        assert got.dtype == ag.bool
        np.testing.assert_array_equal(got.numpy(), np_fn(a, b))
        np.testing.assert_array_equal(got.numpy(), theirs(torch.tensor(a), torch.tensor(b)).numpy())


# --- gcd and lcm ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["int8", "int16", "int64"])
def test_gcd_at_the_dtypes_least_value_matches_numpy_and_torch(dtype, device, torch):
    # abs(-128) is -128 in int8: Euclid's algorithm on it gave gcd(9, -128) = -1
    least = np.iinfo(dtype).min
    a = np.array([9, least, 0, 6, least, 12, -7], dtype=dtype)
    b = np.array([least, 0, least, least, least, -8, 21], dtype=dtype)
    got = ag.gcd(ag.tensor(a), ag.tensor(b))
    np.testing.assert_array_equal(got.numpy(), np.gcd(a, b))
    # (PyTorch's gcd(6, least) is -2, its own overflow: compared on the others)
    theirs = torch.gcd(torch.tensor(a), torch.tensor(b)).numpy()
    np.testing.assert_array_equal(np.delete(got.numpy(), 3), np.delete(theirs, 3))
    np.testing.assert_array_equal(ag.lcm(ag.tensor(a), ag.tensor(b)).numpy(), np.lcm(a, b))


# --- sinc -------------------------------------------------------------------------------------
def test_sinc_derivatives_at_zero_are_the_true_ones(device, torch):
    # The value at 0 was a constant 1, so every derivative there was 0: the second is -pi**2/3
    # (PyTorch's is NaN); elsewhere they are PyTorch's
    points = np.array([0.0, -0.0, 0.5, -1.3, 2.0])
    x = ag.tensor(points, dtype="float64", requires_grad=True)
    tx = torch.tensor(points, requires_grad=True)
    y, ty = ag.sinc(x), torch.sinc(tx)
    np.testing.assert_array_equal(y.numpy(), np.sinc(points))
    derivatives, current, t_current = [], y, ty
    for _ in range(4):
        current, = ag.grad(current.sum(), x, create_graph=True)
        t_current, = torch.autograd.grad(t_current.sum(), tx, create_graph=True)
        derivatives.append(current.numpy())
        np.testing.assert_allclose(current.numpy()[2:], t_current.detach().numpy()[2:], rtol=1e-12)
    true_at_zero = [0.0, -math.pi ** 2 / 3, 0.0, math.pi ** 4 / 5]
    for order, want in enumerate(true_at_zero):
        np.testing.assert_allclose(derivatives[order][:2], want, rtol=1e-14, atol=0)


def test_sinc_of_huge_values_keeps_its_gradient_finite(device):
    # the series taken at 0 only: its powers of a huge x must not reach the gradient as inf * 0
    x = ag.tensor([1e300, -3e200, 0.0], dtype="float64", requires_grad=True)
    g, = ag.grad(ag.sinc(x).sum(), x, create_graph=True)
    gg, = ag.grad(g.sum(), x)
    assert np.isfinite(g.numpy()).all() and np.isfinite(gg.numpy()).all()


# --- insert and delete along a long axis, and with many positions ---------------------------------------
# Along a long axis, or given many positions (a sequence, array or tensor of more than
# stacking._SHORT_AXIS ints, or a long bool mask), insert and delete work out where each entry goes
# on the device, not in a loop in Python: NumPy's values and gradients, its negatives and repeats,
# and the loop's own errors, on every backend.
LONG = stacking._SHORT_AXIS + 37  # an axis that takes the device route of insert and delete


@pytest.mark.parametrize("obj, axis", [
    (slice(None, None, 2), None), (slice(-3, 4, -5), None), (slice(10, 10_000), 1), ([0, 5, 5, -1], 1),
    (3, 1), ([], None), (np.arange(LONG) % 3 == 0, 1), (ag.tensor([2, 0, LONG - 1]), 1),
])
def test_delete_along_a_long_axis_matches_numpy(obj, axis, device):
    rng = np.random.default_rng(2)
    data = rng.standard_normal((3, LONG))
    x = ag.tensor(data, requires_grad=True)
    np_obj = obj.numpy() if isinstance(obj, ag.Tensor) else obj
    if isinstance(obj, ag.Tensor):
        obj = obj.to(x.device)  # (a tensor of positions on another device is refused)
    y = ag.delete(x, obj, axis=axis)
    want = np.delete(data, np_obj, axis=axis)
    np.testing.assert_array_equal(y.numpy(), want)
    cotangent = rng.standard_normal(want.shape)
    y.backward(ag.tensor(cotangent))
    # the gradient goes back to the kept entries: the same delete of each entry's own position
    kept = np.delete(np.arange(data.size).reshape(data.shape), np_obj, axis=axis)
    grad = np.zeros(data.size)
    grad[kept.ravel()] = cotangent.ravel()
    np.testing.assert_array_equal(x.grad.numpy(), grad.reshape(data.shape))


@pytest.mark.parametrize("obj, values_shape, axis", [
    ([1, 1, -1, LONG, 0, 50], (6,), None), ([LONG - 1, 2, 2], (3, 3), 1), (4, (3,), 1), (7, (2, 3), 1),
    (slice(0, LONG, 40), (1,), 1), (0, (), None),
])
def test_insert_along_a_long_axis_matches_numpy(obj, values_shape, axis, device):
    rng = np.random.default_rng(3)
    data, values = rng.standard_normal((3, LONG)), rng.standard_normal(values_shape)
    x, v = ag.tensor(data, requires_grad=True), ag.tensor(values, requires_grad=True)
    y = ag.insert(x, obj, v, axis=axis)
    want = np.insert(data, obj, values, axis=axis)
    np.testing.assert_array_equal(y.numpy(), want)
    # each entry of the result as its source: x's entries by position, values' as -1 - position
    sources = np.insert(np.arange(data.size).reshape(data.shape), obj,
                        -1 - np.arange(values.size).reshape(values_shape), axis=axis)
    cotangent = rng.standard_normal(want.shape)
    y.backward(ag.tensor(cotangent))
    from_x = sources >= 0
    grad_x = np.zeros(data.size)
    grad_x[sources[from_x]] = cotangent[from_x]
    grad_v = np.zeros(values.size)
    np.add.at(grad_v, -1 - sources[~from_x], cotangent[~from_x])  # values broadcast: their gradients add up
    np.testing.assert_array_equal(x.grad.numpy(), grad_x.reshape(data.shape))
    np.testing.assert_allclose(v.grad.numpy(), grad_v.reshape(values_shape), rtol=1e-12)


MANY = 3 * stacking._SHORT_AXIS  # more positions than the loop in Python takes


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


# --- fmax and fmin on large inputs (the NumPy backend's where on large arrays) -------------------------
@pytest.mark.parametrize("fn", ["fmax", "fmin"])
def test_fmax_fmin_on_large_inputs_match_numpy_and_torch(fn, device, torch):
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((96, 128)), rng.standard_normal(128)
    a[0, :5], b[:3] = np.nan, np.nan  # both NaN at (0, 0)...(0, 2)
    x, y = ag.tensor(a, requires_grad=True), ag.tensor(b, requires_grad=True)
    out = getattr(ag, fn)(x, y)
    np.testing.assert_array_equal(out.numpy(), getattr(np, fn)(a, b))
    cotangent = rng.standard_normal(out.shape)
    out.backward(ag.tensor(cotangent))
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    getattr(torch, fn)(tx, ty).backward(torch.tensor(cotangent))
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-12, atol=1e-12)


# --- tensors on two devices -----------------------------------------------------------------------

needs_strict = pytest.mark.skipif("strict" not in backends.available_devices(),
                                  reason="needs array-api-strict")


def _cpu_and_strict(values, dtype=None):
    return ag.tensor(values, dtype=dtype, device="cpu"), ag.tensor(values, dtype=dtype, device="strict")


@needs_strict
@pytest.mark.parametrize("call, reference", [
    (lambda s: ag.hstack([s, 1.0]), lambda a: np.hstack([a, 1.0])),
    (lambda s: ag.vstack([s, [4.0, 5.0, 6.0]]), lambda a: np.vstack([a, [4.0, 5.0, 6.0]])),
    (lambda s: ag.column_stack([[4.0, 5.0, 6.0], s]), lambda a: np.column_stack([[4.0, 5.0, 6.0], a])),
    (lambda s: ag.dstack([s, np.ones(3)]), lambda a: np.dstack([a, np.ones(3)])),
    (lambda s: ag.concat([np.ones(2, np.float32), s]), lambda a: np.concatenate([np.ones(2, np.float32), a])),
    (lambda s: ag.stack([s, [4, 5, 6]]), lambda a: np.stack([a, [4, 5, 6]])),
    (lambda s: ag.kron(2.0, s), lambda a: np.kron(2.0, a)),
    (lambda s: ag.inner(s, [1.0, 2.0, 3.0]), lambda a: np.inner(a, [1.0, 2.0, 3.0])),
    (lambda s: ag.searchsorted([1.5, 2.5], s), lambda a: np.searchsorted([1.5, 2.5], a)),
    (lambda s: ag.interp(s, [0.0, 4.0], [1.0, 3.0]), lambda a: np.interp(a, [0.0, 4.0], [1.0, 3.0])),
    (lambda s: ag.isin([2.0, 5.0], s), lambda a: np.isin([2.0, 5.0], a)),
    (lambda s: ag.linalg.lstsq([[1.0], [1.0], [2.0]], s).solution,
     lambda a: np.linalg.lstsq([[1.0], [1.0], [2.0]], a, rcond=None)[0]),
    (lambda s: ag.broadcast_arrays([[1.0], [2.0]], s)[0], lambda a: np.broadcast_arrays([[1.0], [2.0]], a)[0]),
], ids=["hstack", "vstack", "column_stack", "dstack", "concat", "stack", "kron", "inner", "searchsorted", "interp",
        "isin", "lstsq", "broadcast_arrays"])
def test_numbers_and_lists_beside_tensors_go_to_their_device(call, reference):
    """A number, list or NumPy array has no device: it was made on the default one, so beside
    tensors on another it was refused as a second device ('hstack: expected all tensors on
    one device, got strict and cpu')."""
    with backends.default_device("cpu"):
        got = call(ag.tensor([1.0, 2.0, 3.0], device="strict"))
    assert got.device == "strict"
    want = reference(np.array([1.0, 2.0, 3.0], np.float32))
    np.testing.assert_allclose(got.numpy(), want.astype(np.float32), rtol=1e-6)


@needs_strict
@pytest.mark.parametrize("name, call", [
    # these took the other device's array silently (NumPy reads it as its own) or failed inside NumPy
    ("gcd", lambda f, s, i, j: ag.gcd(i, j)),
    ("lcm", lambda f, s, i, j: ag.lcm(i, j)),
    ("bincount", lambda f, s, i, j: ag.bincount(i, weights=s)),
    ("histogram", lambda f, s, i, j: ag.histogram(f, bins=s)),
    ("histogram", lambda f, s, i, j: ag.histogram(f, weights=s)),
    ("isin", lambda f, s, i, j: ag.isin(f, s)),
    ("isclose", lambda f, s, i, j: ag.isclose(f, s)),
    ("delete", lambda f, s, i, j: ag.delete(f, j[:1])),
    ("interp", lambda f, s, i, j: ag.interp(s, f, f)),
    ("take_along_axis", lambda f, s, i, j: ag.take_along_axis(f, j[:1], 0)),
    ("take_along_axis", lambda f, s, i, j: ag.take_along_axis(s, i[:1], 0)),
    # these named the op inside them (where, concat, mul, matmul, add, getitem)
    ("fmax", lambda f, s, i, j: ag.fmax(f, s)),
    ("hstack", lambda f, s, i, j: ag.hstack([f, s])),
    ("kron", lambda f, s, i, j: ag.kron(f, s)),
    ("inner", lambda f, s, i, j: ag.inner(f, s)),
    ("polyval", lambda f, s, i, j: ag.polyval(f, s)),
    ("insert", lambda f, s, i, j: ag.insert(f, 1, s[:1])),
    ("average", lambda f, s, i, j: ag.average(f, weights=s)),
    ("cov", lambda f, s, i, j: ag.corrcoef(f, s)),
    ("trapezoid", lambda f, s, i, j: ag.trapezoid(f, x=s)),
    ("interp", lambda f, s, i, j: ag.interp(f, s, f)),
    ("take", lambda f, s, i, j: ag.take(f, j[:1])),
    ("matrix_rank", lambda f, s, i, j: ag.linalg.matrix_rank(ag.outer(f, f), rtol=s[0])),
], ids=["gcd", "lcm", "bincount", "histogram-bins", "histogram-weights", "isin", "isclose", "delete", "interp-x",
        "take_along_axis-cpu", "take_along_axis-strict", "fmax", "hstack", "kron", "inner", "polyval", "insert", "average", "corrcoef", "trapezoid", "interp-xp",
        "take", "matrix_rank"])
def test_numpy_functions_refuse_tensors_on_two_devices_naming_themselves(name, call):
    f, s = _cpu_and_strict([1.0, 2.0, 3.0])
    i, j = _cpu_and_strict([1, 2, 3], dtype=ag.int64)
    with pytest.raises(ValueError, match=rf"^{name}: expected all tensors on one device, got "
                                         r"(cpu and strict|strict and cpu); move one with \.to\(device\)"):
        call(f, s, i, j)
