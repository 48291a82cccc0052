"""Property-based tests: broadcasting of binary ops, axis/keepdims of reductions,
and random chains of ops against finite differences."""
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import autograd as ag

# The ``device`` fixture holds for every example of a test, which is what we want.
SETTINGS = settings(max_examples=50, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def unbroadcast(g, shape):
    """NumPy reference for the engine's sum_to: sum ``g`` back to ``shape``."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for i, d in enumerate(shape):
        if d == 1 and g.shape[i] != 1:
            g = g.sum(axis=i, keepdims=True)
    return g


# op: (ag function, NumPy value, NumPy d/da, NumPy d/db)
BINARY = {
    "add": (lambda a, b: a + b, np.add, lambda a, b: np.ones_like(a + b), lambda a, b: np.ones_like(a + b)),
    "sub": (lambda a, b: a - b, np.subtract, lambda a, b: np.ones_like(a + b), lambda a, b: -np.ones_like(a + b)),
    "mul": (lambda a, b: a * b, np.multiply, lambda a, b: b + 0 * a, lambda a, b: a + 0 * b),
    "div": (lambda a, b: a / b, np.divide, lambda a, b: 1 / b + 0 * a, lambda a, b: -a / b ** 2),
    "maximum": (ag.maximum, np.maximum, lambda a, b: (a > b) + 0.0 * b, lambda a, b: (b > a) + 0.0 * a),
    "pow": (lambda a, b: a ** b, np.power, lambda a, b: b * a ** (b - 1), lambda a, b: a ** b * np.log(a)),
}


@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3),
       op=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2 ** 16))
def test_binary_ops_broadcast_like_numpy(shapes, op, seed, device):
    fn, value, da, db = BINARY[op]
    (shape_a, shape_b), out_shape = shapes.input_shapes, shapes.result_shape
    rng = np.random.default_rng(seed)
    a_np = rng.uniform(0.5, 2.0, shape_a)   # positive and away from 0: fine for div and pow
    b_np = rng.uniform(0.5, 2.0, shape_b) * rng.choice([-1.0, 1.0], shape_b) if op != "pow" else \
        rng.uniform(-1.5, 1.5, shape_b)
    a = ag.tensor(a_np, dtype="float64", requires_grad=True)
    b = ag.tensor(b_np, dtype="float64", requires_grad=True)
    out = fn(a, b)
    assert out.shape == out_shape
    np.testing.assert_allclose(out.numpy(), value(a_np, b_np), rtol=1e-12)
    v = rng.standard_normal(out_shape)
    out.backward(ag.tensor(v, dtype="float64"))
    assert a.grad.shape == shape_a and b.grad.shape == shape_b
    np.testing.assert_allclose(a.grad.numpy(), unbroadcast(v * da(a_np, b_np), shape_a), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), unbroadcast(v * db(a_np, b_np), shape_b), rtol=1e-10, atol=1e-12)


@st.composite
def shape_and_axis(draw):
    shape = draw(array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=3))
    ndim = len(shape)
    choices = [st.none()]
    if ndim:
        choices.append(st.integers(-ndim, ndim - 1))
        choices.append(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim).flatmap(
            lambda axes: st.tuples(*[st.sampled_from([a, a - ndim]) for a in axes])))
    return shape, draw(st.one_of(*choices))


def _np_logsumexp(x, axis, keepdims):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.sum(out, axis=axis)  # summing size-1 axes drops them


REDUCTIONS = {
    "sum": (ag.sum, np.sum),
    "mean": (ag.mean, np.mean),
    "max": (ag.max, np.max),
    "min": (ag.min, np.min),
    "var": (ag.var, np.var),
    "std": (ag.std, np.std),
    "logsumexp": (ag.logsumexp, _np_logsumexp),
}


@SETTINGS
@given(shape_axis=shape_and_axis(), keepdims=st.booleans(), op=st.sampled_from(sorted(REDUCTIONS)),
       seed=st.integers(0, 2 ** 16))
def test_reductions_follow_numpy_axis_and_keepdims(shape_axis, keepdims, op, seed, device):
    shape, axis = shape_axis
    fn, ref = REDUCTIONS[op]
    x_np = np.random.default_rng(seed).standard_normal(shape)
    want = np.asarray(ref(x_np, axis=axis, keepdims=keepdims))
    n = x_np.size // max(want.size, 1)   # elements reduced into each output
    assume(not (op == "std" and n == 1))  # std of one element is 0, where its gradient is undefined
    x = ag.tensor(x_np, dtype="float64", requires_grad=True)
    out = fn(x, axis, keepdims=keepdims)
    assert out.shape == want.shape
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-10, atol=1e-12)
    out.backward(ag.ones(out.shape, dtype="float64"))
    assert x.grad.shape == shape
    assert np.isfinite(x.grad.numpy()).all()
    if op == "sum":
        np.testing.assert_allclose(x.grad.numpy(), np.ones(shape))
    elif op == "mean":
        np.testing.assert_allclose(x.grad.numpy(), np.full(shape, 1.0 / n))
    elif op in ("max", "min"):  # the gradient lands on the extreme element of each group
        np.testing.assert_allclose(x.grad.numpy().sum(), want.size)
        winners = x_np == np.asarray(ref(x_np, axis=axis, keepdims=True))
        np.testing.assert_array_equal(x.grad.numpy() != 0, winners)
    elif op == "logsumexp":  # softmax over each group sums to one
        np.testing.assert_allclose(x.grad.numpy().sum(), want.size, rtol=1e-10)


# --- random chains ---------------------------------------------------------------------------
# Smooth everywhere, so finite differences are trustworthy wherever the chain goes.
UNARY_STEPS = [
    ("sin", lambda x, y: x.sin()),
    ("tanh", lambda x, y: ag.tanh(x * 1.5)),
    ("sigmoid", lambda x, y: ag.sigmoid(x)),
    ("square", lambda x, y: x * x),
    ("softplus", lambda x, y: ag.log1p(ag.exp(ag.tanh(x)))),
    ("soft_abs", lambda x, y: ag.sqrt(x * x + 1)),
    ("affine", lambda x, y: 0.5 * x - 1.0),
    ("transpose_back", lambda x, y: x.T.reshape(-1).reshape(3, 2).T),
    ("center_rows", lambda x, y: x - x.mean(axis=1, keepdims=True)),
    ("normalize", lambda x, y: x / ag.sqrt(x.var(axis=0, keepdims=True) + 1.0)),
    ("logsumexp", lambda x, y: x - ag.logsumexp(x, axis=-1, keepdims=True)),
    ("times_y", lambda x, y: x * y),
    ("plus_y_column", lambda x, y: x + y[:, :1]),
    ("matmul_y", lambda x, y: (x @ y.T) @ x * 0.3),
    ("stack_split", lambda x, y: ag.split(ag.concat([x, y], axis=0), [2], axis=0)[0] + y),
    ("gather_rows", lambda x, y: x[np.array([1, 0])] * x),
    ("where", lambda x, y: ag.where(y > 0, x, -x * 0.5)),
]


@SETTINGS
@given(steps=st.lists(st.sampled_from(range(len(UNARY_STEPS))), min_size=1, max_size=5),
       seed=st.integers(0, 2 ** 16))
def test_random_op_chains_match_finite_differences(steps, seed, device):
    rng = np.random.default_rng(seed)
    x = ag.tensor(rng.standard_normal((2, 3)), dtype="float64", requires_grad=True)
    # y stays away from 0, so `where(y > 0, ...)` never sits on its switch
    y = ag.tensor(rng.uniform(0.3, 1.0, (2, 3)) * rng.choice([-1.0, 1.0], (2, 3)), dtype="float64",
                  requires_grad=True)

    def chain(x, y):
        for i in steps:
            x = UNARY_STEPS[i][1](x, y)
        return x

    assert chain(x, y).shape == (2, 3)
    assert ag.gradcheck(chain, (x, y)) is True


@pytest.mark.parametrize("seed", [0, 1])
def test_random_chain_second_order(seed, device):
    """One fixed long chain through every step, checked to second order."""
    rng = np.random.default_rng(seed)
    x = ag.tensor(rng.standard_normal((2, 3)), dtype="float64", requires_grad=True)
    y = ag.tensor(rng.uniform(0.3, 1.0, (2, 3)), dtype="float64", requires_grad=True)
    order = rng.permutation(len(UNARY_STEPS))

    def chain(x, y):
        for i in order:
            x = UNARY_STEPS[i][1](x, y)
        return x

    assert ag.gradgradcheck(chain, (x, y)) is True
