"""Random programs run twice, once in topograd and once in PyTorch (float64), compared
value for value and gradient for gradient: graphs that mix elementwise ops, broadcasting,
reductions, shape ops, indexing, joins and matmul, with shared subexpressions, several
outputs, retained grads, hooks, repeated backward passes, ag.grad and second order; and
programs of in-place changes of non-leaves and of views of them, where PyTorch's refusals
(a saved tensor changed in place, a leaf changed in place) must be topograd's too.

The programs are drawn by hypothesis with derandomize=True, so CI sees the same ones every
run. The bugs the properties found are pinned by the plain tests at the top."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import autograd as ag

# (PyTorch and topograd warn that backward(create_graph=True) makes a cycle; the programs do it on purpose.)
pytestmark = [pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True:UserWarning"),
              pytest.mark.filterwarnings("ignore:backward\\(create_graph=True\\) records:UserWarning")]

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def assert_close(mine, ref, what=""):
    ref = ref.detach().numpy(force=True) if hasattr(ref, "detach") else np.asarray(ref)  # (force: ZeroTensors)
    got = mine.numpy() if isinstance(mine, ag.Tensor) else np.asarray(mine)
    assert got.shape == ref.shape, f"{what}: shape {got.shape} vs torch's {ref.shape}"
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9, err_msg=what)


def f64(values, requires_grad=False):
    return ag.tensor(np.asarray(values, dtype=np.float64), dtype="float64", requires_grad=requires_grad)


# --- bugs the properties found: each failed before its fix ---------------------------------------

SAME_SHAPE_OPS = {  # shape ops that change nothing: PyTorch still returns a view of its own
    "reshape": (lambda x: x.reshape(x.shape), lambda x: x.reshape(x.shape)),
    "transpose": (lambda x: x.transpose((0, 1)), lambda x: x.permute(0, 1)),
    "broadcast_to": (lambda x: ag.broadcast_to(x, x.shape), lambda x: x.broadcast_to(x.shape)),
    "squeeze": (ag.squeeze, lambda x: x.squeeze()),
}


@pytest.mark.parametrize("name", sorted(SAME_SHAPE_OPS))
@pytest.mark.parametrize("leaf", [True, False])
def test_a_shape_op_that_changes_nothing_is_a_view_of_its_own_for_hooks_and_retain_grad(device, torch, name, leaf):
    """y = x.reshape(x.shape) used to be x itself: a hook on y scaled all of x's gradient,
    and y.grad (retain_grad) was x's whole gradient, not what flows through y."""
    def run(lib, op):
        x0 = lib.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -3.0]], dtype=lib.float64, requires_grad=True)
        x = x0 if leaf else x0 * 1.0
        y = op(x)
        y.retain_grad()
        y.register_hook(lambda g: g * 10.0)
        ((y * 2.0).sum() + (x * 3.0).sum()).backward()
        return x0.grad, y.grad
    mine, theirs = run(ag, SAME_SHAPE_OPS[name][0]), run(torch, SAME_SHAPE_OPS[name][1])
    assert_close(mine[0], theirs[0], "x0.grad")  # 2 * 10 + 3
    assert_close(mine[1], theirs[1], "y.grad")   # 2


def test_grad_of_a_split_piece_that_received_no_gradient_is_unused_as_torch(device, torch):
    """ag.grad with respect to a piece of a split that no output used gave zeros (filled in
    for the split's backward) instead of None, and no error without allow_unused."""
    x = f64([0.0, 1.0, 2.0, 3.0], True)
    a, b = ag.split(x, 2)
    gx, gb = ag.grad((a * a).sum(), [x, b], allow_unused=True, retain_graph=True)
    tx = torch.tensor([0.0, 1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    ta, tb = tx.split(2)
    tgx, tgb = torch.autograd.grad((ta * ta).sum(), [tx, tb], allow_unused=True)
    assert_close(gx, tgx, "x")
    assert gb is None and tgb is None
    with pytest.raises(RuntimeError, match=r"inputs\[0\] was not used.*allow_unused=True"):
        ag.grad((a * a).sum(), [b])


@pytest.mark.parametrize("shapes", [((2, 3), (3, 2)), ((3,), (3,)), ((3,), (3, 2)), ((2, 2, 3), (3, 2))])
def test_matmul_keeps_only_the_operand_a_gradient_needs_as_torch(device, torch, shapes):
    """c @ w with a constant c needs c, not w, for w's gradient: PyTorch lets w change in
    place before backward (an optimizer step, say); topograd's MatMul kept both and refused."""
    rng = np.random.default_rng(0)
    c_np, w_np = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])

    def run(lib, tensor):
        w0 = tensor(w_np, True)
        w = w0 * 1.0
        y = tensor(c_np) @ w
        w.mul_(3.0)
        (y * y).sum().backward()
        return w0.grad
    theirs = run(torch, lambda v, rg=False: torch.tensor(v, requires_grad=rg))
    assert_close(run(ag, f64), theirs, "w.grad")


def test_linear_keeps_only_the_operand_a_gradient_needs_as_torch(device, torch):
    """The fused linear (nn.functional.linear) of an input that needs no gradient keeps
    the input, not the weight, as PyTorch's addmm: an in-place change of the weight
    between forward and backward (an optimizer step) is allowed, and w's gradient right."""
    nn = pytest.importorskip("nn")
    rng = np.random.default_rng(1)
    x_np, w_np, b_np = rng.standard_normal((4, 3)), rng.standard_normal((2, 3)), rng.standard_normal(2)

    def run(lib, functional, tensor):
        w, b = tensor(w_np, True), tensor(b_np, True)
        y = functional.linear(tensor(x_np), w, b)
        with lib.no_grad():
            w.sub_(0.5)  # a step before backward, as in PyTorch's SGD
        (y * y).sum().backward()
        return w.grad, b.grad
    mine = run(ag, nn.functional, f64)
    theirs = run(torch, torch.nn.functional, lambda v, rg=False: torch.tensor(v, requires_grad=rg))
    assert_close(mine[0], theirs[0], "w.grad")
    assert_close(mine[1], theirs[1], "b.grad")


def test_linear_still_refuses_a_weight_changed_in_place_when_the_input_needs_its_gradient(device, torch):
    """The other side of the fix above: with an input that requires grad, the weight is
    kept (x's gradient needs it), and changing it before backward is refused, as in PyTorch."""
    nn = pytest.importorskip("nn")
    x, w = f64(np.ones((2, 3)), True), f64(np.ones((4, 3)), True)
    y = nn.functional.linear(x, w)
    with ag.no_grad():
        w.sub_(0.5)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()
    tx = torch.ones(2, 3, dtype=torch.float64, requires_grad=True)
    tw = torch.ones(4, 3, dtype=torch.float64, requires_grad=True)
    ty = torch.nn.functional.linear(tx, tw)
    with torch.no_grad():
        tw.sub_(0.5)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        ty.sum().backward()


# --- one program, two libraries ------------------------------------------------------------------

class Pair:
    """The same value in both libraries, and how it was made (for failure messages)."""
    __slots__ = ("ag", "th", "how", "broadcast")

    def __init__(self, mine, theirs, how, broadcast=False):
        self.ag, self.th, self.how = mine, theirs, how
        self.broadcast = broadcast  # (a view of) a broadcast_to view that repeats elements

    @property
    def shape(self):
        return self.ag.shape


def _torch_basic_index(torch, t, index):
    """NumPy's basic index (ints, slices with any step, None) applied in PyTorch, which
    has no negative steps: each slice as an index_select of the positions NumPy picks."""
    t = t[...]  # a view, even for an empty index, as x[()] is in both libraries
    dim = 0
    for p in index:
        if p is None:
            t = t.unsqueeze(dim)
            dim += 1
        elif isinstance(p, int):
            t = t.select(dim, p)
        else:
            picked = np.arange(t.shape[dim])[p].copy()
            t = t.index_select(dim, torch.as_tensor(picked, dtype=torch.int64))
            dim += 1
    return t


class Program:
    """Draws a random program op by op and runs each op in both libraries at once."""

    def __init__(self, data, torch, n_leaves=None):
        self.draw, self.torch = data.draw, torch
        self.rng = np.random.default_rng(self.draw(st.integers(0, 2 ** 16), label="seed"))
        self.pool, self.leaves = [], []
        n = n_leaves or self.draw(st.integers(1, 3), label="leaves")
        for _ in range(n):
            self.leaves.append(self.leaf(self.shape()))
        self.pool.extend(self.leaves)

    # --- drawing -------------------------------------------------------------------
    def shape(self, min_dims=0, max_dims=3):
        ndim = self.draw(st.integers(min_dims, max_dims))
        return tuple(self.draw(st.integers(1, 4)) for _ in range(ndim))

    def leaf(self, shape, requires_grad=True):
        values = self.rng.standard_normal(shape)
        return Pair(ag.tensor(values, dtype="float64", requires_grad=requires_grad),
                    self.torch.tensor(values, dtype=self.torch.float64, requires_grad=requires_grad),
                    f"leaf{shape}")

    def constant(self, shape):
        values = self.rng.standard_normal(shape)
        return Pair(ag.tensor(values, dtype="float64"), self.torch.tensor(values, dtype=self.torch.float64),
                    f"const{shape}")

    def pick(self, label="operand"):
        # Recent values more often, so programs grow deep as well as wide.
        i = self.draw(st.integers(0, len(self.pool) - 1), label=label)
        return self.pool[i]

    def axis_arg(self, ndim):
        """None, an int or a tuple of distinct axes (negatives too), and the same for torch."""
        if ndim == 0:
            return None, None
        kind = self.draw(st.sampled_from(["none", "int", "tuple"]))
        if kind == "none":
            return None, tuple(range(ndim))
        if kind == "int":
            a = self.draw(st.integers(-ndim, ndim - 1))
            return a, a
        axes = self.draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
        axes = tuple(a - ndim if self.draw(st.booleans()) else a for a in axes)
        return axes, axes

    # --- ops ---------------------------------------------------------------------------
    UNARY = {
        "exp_tanh": (lambda x: ag.exp(ag.tanh(x)), lambda torch, x: torch.exp(torch.tanh(x))),
        "sin": (ag.sin, lambda torch, x: torch.sin(x)),
        "cos": (ag.cos, lambda torch, x: torch.cos(x)),
        "sigmoid": (ag.sigmoid, lambda torch, x: torch.sigmoid(x)),
        "square": (lambda x: x * x, lambda torch, x: x * x),
        "pow3": (lambda x: x ** 3, lambda torch, x: x ** 3),
        "neg": (lambda x: -x, lambda torch, x: -x),
        "sqrt1p": (lambda x: ag.sqrt(x * x + 1.0), lambda torch, x: torch.sqrt(x * x + 1.0)),
        "log1p_sq": (lambda x: ag.log(x * x + 1.0), lambda torch, x: torch.log(x * x + 1.0)),
        "scale": (lambda x: 0.5 * x - 1.0, lambda torch, x: 0.5 * x - 1.0),
        "rdiv": (lambda x: 1.0 / (x * x + 1.0), lambda torch, x: 1.0 / (x * x + 1.0)),
        "clone": (ag.clone, lambda torch, x: x.clone()),
    }
    BINARY = {
        "add": (lambda a, b: a + b, lambda torch, a, b: a + b),
        "sub": (lambda a, b: a - b, lambda torch, a, b: a - b),
        "mul": (lambda a, b: a * b, lambda torch, a, b: a * b),
        "div": (lambda a, b: a / (b * b + 0.5), lambda torch, a, b: a / (b * b + 0.5)),
        "maximum": (ag.maximum, lambda torch, a, b: torch.maximum(a, b)),
        "minimum": (ag.minimum, lambda torch, a, b: torch.minimum(a, b)),
        "where": (lambda a, b: ag.where(a > b, a * 2.0, b), lambda torch, a, b: torch.where(a > b, a * 2.0, b)),
    }

    def unary(self):
        x = self.pick()
        name = self.draw(st.sampled_from(sorted(self.UNARY)))
        mine, theirs = self.UNARY[name]
        return Pair(mine(x.ag), theirs(self.torch, x.th), f"{name}({x.how})")

    def binary(self):
        a, b = self.pick("a"), self.pick("b")
        name = self.draw(st.sampled_from(sorted(self.BINARY)))
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:  # b summed to a scalar, which broadcasts with anything
            b = Pair(b.ag.sum(), b.th.sum(), f"sum({b.how})")
        mine, theirs = self.BINARY[name]
        return Pair(mine(a.ag, b.ag), theirs(self.torch, a.th, b.th), f"{name}({a.how}, {b.how})")

    def reduce(self):
        x = self.pick()
        name = self.draw(st.sampled_from(["sum", "mean", "max", "min", "logsumexp", "var"]))
        if x.ag.size == 0:  # (PyTorch's max of nothing is an error too, its mean a NaN)
            name = "sum"
        keepdims = self.draw(st.booleans())
        axis, dim = self.axis_arg(x.ag.ndim)
        mine = getattr(ag, name)(x.ag, axis=axis, keepdims=keepdims)
        torch_name = {"max": "amax", "min": "amin"}.get(name, name)
        fn = getattr(self.torch, torch_name)
        if dim is None:  # a 0-d tensor: reduced over no axis
            theirs = fn(x.th, dim=()) if name in ("max", "min", "logsumexp") else fn(x.th)
            if name == "var":
                theirs = self.torch.var(x.th, correction=0)
        elif name == "var":
            theirs = fn(x.th, dim=dim, correction=0, keepdim=keepdims)
        else:
            theirs = fn(x.th, dim=dim, keepdim=keepdims)
        return Pair(mine, theirs, f"{name}({x.how}, axis={axis}, keepdims={keepdims})")

    def reshape(self):
        x = self.pick()
        dims = []
        left = x.ag.size
        for f in (4, 3, 2):
            while left % f == 0 and self.draw(st.booleans()):
                dims.append(f)
                left //= f
        dims.append(left)
        dims = [d for d in dims if d != 1] + [1] * self.draw(st.integers(0, 1))
        dims = self.draw(st.permutations(dims))
        if dims and x.ag.size and self.draw(st.booleans()):
            spot = self.draw(st.integers(0, len(dims) - 1))
            dims = list(dims)
            dims[spot] = -1
        shape = tuple(dims)
        return Pair(x.ag.reshape(shape), x.th.reshape(shape), f"reshape({x.how}, {shape})")

    def transpose(self):
        x = self.pick()
        axes = tuple(self.draw(st.permutations(range(x.ag.ndim))))
        return Pair(x.ag.transpose(axes), x.th.permute(axes), f"transpose({x.how}, {axes})")

    def expand_dims(self):
        x = self.pick()
        n = x.ag.ndim + 1
        axis = self.draw(st.integers(-n, n - 1))
        return Pair(ag.expand_dims(x.ag, axis), x.th.unsqueeze(axis), f"expand_dims({x.how}, {axis})")

    def squeeze(self):
        x = self.pick()
        ones = [i for i, d in enumerate(x.shape) if d == 1]
        if not ones or self.draw(st.booleans()):
            return Pair(ag.squeeze(x.ag), x.th.squeeze(), f"squeeze({x.how})")
        axes = tuple(self.draw(st.lists(st.sampled_from(ones), min_size=1, unique=True)))
        return Pair(ag.squeeze(x.ag, axes), x.th.squeeze(axes), f"squeeze({x.how}, {axes})")

    def broadcast_to(self):
        x = self.pick()
        shape = tuple(self.draw(st.integers(1, 3)) if d == 1 else d for d in x.shape)
        shape = (self.draw(st.integers(1, 3)),) * self.draw(st.integers(0, 1)) + shape
        return Pair(ag.broadcast_to(x.ag, shape), x.th.broadcast_to(shape), f"broadcast_to({x.how}, {shape})")

    def basic_index(self):
        x = self.pick()
        index = []
        for n in x.shape[:self.draw(st.integers(0, x.ag.ndim))]:
            kind = self.draw(st.sampled_from(["int", "slice", "slice", "none"]))
            if kind == "none":  # a new axis, then this axis's own index
                index.append(None)
                kind = "slice"
            if kind == "int" and n:
                index.append(self.draw(st.integers(-n, n - 1)))
            else:
                start = self.draw(st.none() | st.integers(-n - 1, n + 1))
                stop = self.draw(st.none() | st.integers(-n - 1, n + 1))
                step = self.draw(st.sampled_from([None, 1, 2, -1, -2, 3]))
                index.append(slice(start, stop, step))
        index = tuple(index)
        return Pair(x.ag[index], _torch_basic_index(self.torch, x.th, index), f"{x.how}[{index}]")

    def advanced_index(self):
        x = self.pick()
        if x.ag.size == 0 or x.ag.ndim == 0:
            return None
        kind = self.draw(st.sampled_from(["ints", "ints_axis", "two_ints", "mask", "mask_rows"]))
        torch = self.torch
        if kind == "ints":
            n = x.shape[0]
            idx = self.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=5))
            mine, theirs = x.ag[np.array(idx)], x.th[torch.tensor(idx)]
        elif kind == "ints_axis":
            n = x.shape[-1]
            idx = self.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=5))
            mine, theirs = x.ag[..., np.array(idx)], x.th[..., torch.tensor(idx)]
        elif kind == "two_ints" and x.ag.ndim >= 2:
            n, m = x.shape[0], x.shape[1]
            k = self.draw(st.integers(1, 4))
            i = np.array(self.draw(st.lists(st.integers(-n, n - 1), min_size=k, max_size=k)))[:, None]
            j = np.array(self.draw(st.lists(st.integers(-m, m - 1), min_size=1, max_size=3)))
            idx = (i, j)
            mine, theirs = x.ag[i, j], x.th[torch.tensor(i), torch.tensor(j)]
        elif kind == "mask_rows":
            idx = self.rng.random(x.shape[0]) < 0.6
            mine, theirs = x.ag[idx], x.th[torch.tensor(idx)]
        else:
            idx = self.rng.random(x.shape) < 0.6
            mine, theirs = x.ag[idx], x.th[torch.tensor(idx)]
        return Pair(mine, theirs, f"{x.how}[{kind} {idx!r}]")

    def join(self):
        x = self.pick()
        if x.ag.ndim == 0:
            return None
        kind = self.draw(st.sampled_from(["concat", "stack", "split"]))
        axis = self.draw(st.integers(-x.ag.ndim, x.ag.ndim - 1))
        torch = self.torch
        if kind == "split":
            n = x.shape[axis]
            cuts = sorted(self.draw(st.lists(st.integers(0, n), max_size=3)))
            pieces = ag.split(x.ag, cuts, axis=axis)
            theirs = torch.tensor_split(x.th, cuts, dim=axis)
            made = [Pair(p, q, f"split({x.how}, {cuts}, {axis})[{i}]") for i, (p, q) in enumerate(zip(pieces, theirs))]
            self.pool.extend(made[:-1])
            return made[-1]
        # A partner of a fitting shape: from the pool, else a function of x itself (a diamond).
        fits = [p for p in self.pool if p.ag.ndim == x.ag.ndim and all(
            a == b for i, (a, b) in enumerate(zip(p.shape, x.shape)) if kind == "stack" or i != axis % x.ag.ndim)]
        other = self.draw(st.sampled_from(fits))
        if kind == "concat":
            return Pair(ag.concat([x.ag, other.ag, x.ag], axis=axis), torch.cat([x.th, other.th, x.th], dim=axis),
                        f"concat({x.how}, {other.how}, same, axis={axis})")
        axis = self.draw(st.integers(-x.ag.ndim - 1, x.ag.ndim))
        return Pair(ag.stack([x.ag, other.ag], axis=axis), torch.stack([x.th, other.th], dim=axis),
                    f"stack({x.how}, {other.how}, axis={axis})")

    def matmul(self):
        x = self.pick()
        if x.ag.ndim == 0:
            return None
        kind = self.draw(st.sampled_from(["gram", "pool", "vector"]))
        if kind == "vector" or x.ag.ndim == 1:
            k = x.shape[-1]
            fits = [p for p in self.pool if p.ag.ndim == 1 and p.shape[0] == k] or [self.constant((k,))]
            v = self.draw(st.sampled_from(fits))
            if self.draw(st.booleans()) and x.ag.ndim >= 2:
                return None
            return Pair(x.ag @ v.ag, x.th @ v.th, f"({x.how}) @ ({v.how})")
        if kind == "gram":
            return Pair(x.ag @ ag.swapaxes(x.ag, -1, -2), x.th @ x.th.transpose(-1, -2), f"gram({x.how})")
        k = x.shape[-1]
        fits = [p for p in self.pool if p.ag.ndim == 2 and p.shape[0] == k] or [self.constant((k, 2))]
        w = self.draw(st.sampled_from(fits))
        return Pair(x.ag @ w.ag, x.th @ w.th, f"({x.how}) @ ({w.how})")

    OPS = ("unary", "unary", "binary", "binary", "reduce", "reshape", "transpose", "expand_dims", "squeeze",
           "broadcast_to", "basic_index", "advanced_index", "join", "matmul")

    def grow(self, steps):
        for _ in range(steps):
            op = self.draw(st.sampled_from(self.OPS), label="op")
            made = getattr(self, op)()
            if made is not None:
                assert_close(made.ag, made.th, made.how)
                self.pool.append(made)

    def outputs(self):
        """A few values of the pool (always the last one), and fixed weights for each."""
        chosen = {len(self.pool) - 1}
        for _ in range(self.draw(st.integers(0, 2))):
            chosen.add(self.draw(st.integers(0, len(self.pool) - 1)))
        chosen = [self.pool[i] for i in sorted(chosen) if self.pool[i].ag.requires_grad]
        return chosen, [self.constant(p.shape) for p in chosen]

    def loss(self, outs, weights):
        mine = sum(((o.ag * w.ag).sum() for o, w in zip(outs, weights)), ag.tensor(0.0, dtype="float64"))
        theirs = sum((o.th * w.th).sum() for o, w in zip(outs, weights))
        return Pair(mine, theirs, "loss")


def _grad_or_zeros(g, like):
    return np.zeros(like.shape) if g is None else (g.numpy() if isinstance(g, ag.Tensor) else g.detach().numpy(force=True))


def _hessian_vector_product(grad, gradients, vectors, leaves):
    """d(sum of gradient . vector)/d(leaves), None for each where no gradient is differentiable
    (a linear program's gradients are constants, in either library)."""
    terms = [(g * v).sum() for g, v in zip(gradients, vectors) if g is not None and g.requires_grad]
    if not terms:
        return [None] * len(leaves)
    return grad(sum(terms[1:], terms[0]), leaves, allow_unused=True)


# --- properties ----------------------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_random_programs_match_torch_in_values_and_leaf_gradients(data, device, torch):
    prog = Program(data, torch)
    prog.grow(data.draw(st.integers(1, 8), label="steps"))
    outs, weights = prog.outputs()
    if not outs:
        return
    loss = prog.loss(outs, weights)
    assert_close(loss.ag, loss.th, "loss")
    loss.ag.backward()
    loss.th.backward()
    for i, leaf in enumerate(prog.leaves):
        assert_close(_grad_or_zeros(leaf.ag.grad, leaf.ag), _grad_or_zeros(leaf.th.grad, leaf.th), f"leaf {i}")


@SETTINGS
@given(data=st.data())
def test_random_programs_retained_grads_hooks_and_repeated_backward_match_torch(data, device, torch):
    """retain_grad and gradient-scaling hooks on random values (leaves too), backward from
    several roots with their own gradients, twice with retain_graph (so grads accumulate)."""
    prog = Program(data, torch)
    prog.grow(data.draw(st.integers(1, 8), label="steps"))
    outs, weights = prog.outputs()
    if not outs:
        return
    candidates = [p for p in prog.pool if p.ag.requires_grad]
    retained = data.draw(st.lists(st.sampled_from(candidates), max_size=3), label="retain")
    for p in retained:
        p.ag.retain_grad()
        p.th.retain_grad()
    for p in data.draw(st.lists(st.sampled_from(candidates), max_size=3), label="hooked"):
        scale = data.draw(st.sampled_from([0.0, -1.0, 2.0, 0.5]))
        p.ag.register_hook(lambda g, scale=scale: None if g is None else g * scale)
        p.th.register_hook(lambda g, scale=scale: None if g is None else g * scale)
    for _ in range(2):
        ag.backward([o.ag for o in outs], [w.ag for w in weights], retain_graph=True)
        torch.autograd.backward([o.th for o in outs], [w.th for w in weights], retain_graph=True)
    for i, leaf in enumerate(prog.leaves):
        assert_close(_grad_or_zeros(leaf.ag.grad, leaf.ag), _grad_or_zeros(leaf.th.grad, leaf.th), f"leaf {i}")
    for p in retained:
        assert_close(_grad_or_zeros(p.ag.grad, p.ag), _grad_or_zeros(p.th.grad, p.th), f"retained {p.how}")


@SETTINGS
@given(data=st.data())
def test_random_programs_ag_grad_with_grad_outputs_and_unused_inputs_match_torch(data, device, torch):
    """ag.grad of several outputs with grad_outputs, with respect to leaves, intermediates
    and a leaf the program never uses (allow_unused), leaving every .grad untouched."""
    prog = Program(data, torch)
    prog.grow(data.draw(st.integers(1, 8), label="steps"))
    outs, weights = prog.outputs()
    if not outs:
        return
    unused = prog.leaf((2,))
    candidates = [p for p in prog.pool if p.ag.requires_grad]
    inputs = data.draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=4), label="inputs") + [unused]
    mine = ag.grad([o.ag for o in outs], [p.ag for p in inputs], [w.ag for w in weights], allow_unused=True)
    theirs = torch.autograd.grad([o.th for o in outs], [p.th for p in inputs], [w.th for w in weights],
                                 allow_unused=True)
    assert mine[-1] is None and theirs[-1] is None
    for p, g, h in zip(inputs, mine, theirs):
        assert (g is None) == (h is None) or p is unused, p.how  # (see the None check below)
        assert_close(_grad_or_zeros(g, p.ag), _grad_or_zeros(h, p.th), f"d/d {p.how}")
    assert all(leaf.ag.grad is None for leaf in prog.leaves)


@settings(SETTINGS, max_examples=30)
@given(data=st.data())
def test_random_programs_second_derivatives_match_torch(data, device, torch):
    """ag.grad(create_graph=True), then the gradient of a weighted sum of those gradients
    (a Hessian-vector product), against torch.autograd.grad."""
    prog = Program(data, torch)
    prog.grow(data.draw(st.integers(1, 6), label="steps"))
    outs, weights = prog.outputs()
    if not outs:
        return
    loss = prog.loss(outs, weights)
    leaves = prog.leaves
    g_mine = ag.grad(loss.ag, [p.ag for p in leaves], create_graph=True, allow_unused=True)
    g_theirs = torch.autograd.grad(loss.th, [p.th for p in leaves], create_graph=True, allow_unused=True)
    vs = [prog.constant(p.shape) for p in leaves]
    for p, g, h in zip(leaves, g_mine, g_theirs):
        assert_close(_grad_or_zeros(g, p.ag), _grad_or_zeros(h, p.th), f"first d/d {p.how}")
    hv_mine = _hessian_vector_product(ag.grad, g_mine, [v.ag for v in vs], [p.ag for p in leaves])
    hv_theirs = _hessian_vector_product(torch.autograd.grad, g_theirs, [v.th for v in vs], [p.th for p in leaves])
    for p, g, h in zip(leaves, hv_mine, hv_theirs):
        assert_close(_grad_or_zeros(g, p.ag), _grad_or_zeros(h, p.th), f"second d/d {p.how}")


# --- in-place changes of non-leaves and of views of them ------------------------------------------

class InplaceProgram(Program):
    """Random views of tensors (leaves, constants, non-leaves), in-place changes of them, and
    ops that may save what is changed later. Each step runs in PyTorch first: where PyTorch
    refuses it, topograd must refuse it too (RuntimeError), changing nothing."""

    def __init__(self, data, torch):
        self.draw, self.torch = data.draw, torch
        self.rng = np.random.default_rng(self.draw(st.integers(0, 2 ** 16), label="seed"))
        self.leaves = [self.leaf(self.shape(1, 3)) for _ in range(self.draw(st.integers(1, 2), label="leaves"))]
        self.pool = list(self.leaves)
        self.pool.append(self.constant(self.shape(1, 3)))
        for leaf in list(self.leaves):
            kind = self.draw(st.sampled_from(["times_one", "exp", "sin", "clone"]), label="base")
            mine, theirs = {"times_one": (lambda x: x * 1.0, lambda x: x * 1.0),
                            "exp": (ag.exp, lambda x: x.exp()),
                            "sin": (ag.sin, lambda x: x.sin()),
                            "clone": (ag.clone, lambda x: x.clone())}[kind]
            self.pool.append(Pair(mine(leaf.ag), theirs(leaf.th), f"{kind}({leaf.how})"))
        self.retained = []
        self.refused = 0

    def check_pool(self, when):
        for p in self.pool:
            assert_close(p.ag.detach(), p.th.detach(), f"{p.how} after {when}")

    def run(self, what, mine, theirs, target=None):
        """Run a step in both libraries (PyTorch first); returns the two results, or None."""
        try:
            result_theirs = theirs()
        except RuntimeError as error:
            if "input tensor and the written-to tensor" in str(error):
                return None  # an overlap PyTorch cannot write, which topograd writes as if copied first
            root = None if target is None else target.ag._root()
            if "leaf Variable" in str(error) and not (root.is_leaf and root.requires_grad):
                # A view taken before its root joined the graph: PyTorch refuses to change it,
                # topograd changes it through the root (see test_inplace_and_views).
                return None
            with pytest.raises(RuntimeError):
                mine()
            self.refused += 1
            self.check_pool(f"refused {what}")
            return None
        result_mine = mine()
        return result_mine, result_theirs

    def operand(self, shape):
        """Something that broadcasts to ``shape``: a value of the pool, a new leaf, or a scalar."""
        fits = [p for p in self.pool if _broadcasts_to(p.shape, shape)]
        kind = self.draw(st.sampled_from(["pool", "leaf", "scalar"] if fits else ["leaf", "scalar"]))
        if kind == "scalar":
            value = self.draw(st.sampled_from([0.5, -2.0, 3.0]))
            return Pair(value, value, repr(value))
        if kind == "leaf":
            new = self.leaf(shape[self.draw(st.integers(0, len(shape))):])
            self.leaves.append(new)
            return new
        return self.draw(st.sampled_from(fits))

    def view(self):
        made = self.a_view()
        made.broadcast = made.broadcast or self.viewed.broadcast
        return made

    def a_view(self):
        x = self.viewed = self.pick("viewed")
        kind = self.draw(st.sampled_from(["slice", "int", "transpose", "reshape", "expand_dims", "squeeze",
                                          "detach", "broadcast"]))
        if kind in ("slice", "int") and x.ag.ndim and x.ag.size:
            axis = self.draw(st.integers(0, x.ag.ndim - 1))
            n = x.shape[axis]
            if kind == "int":
                part = self.draw(st.integers(-n, n - 1))
            else:
                part = slice(self.draw(st.integers(0, n - 1)), self.draw(st.none() | st.integers(1, n)),
                             self.draw(st.sampled_from([None, 1, 2])))
            index = (slice(None),) * axis + (part,)
            return Pair(x.ag[index], x.th[index], f"{x.how}[{index}]")
        if kind == "transpose" and x.ag.ndim >= 2:
            axes = tuple(self.draw(st.permutations(range(x.ag.ndim))))
            return Pair(x.ag.transpose(axes), x.th.permute(axes), f"transpose({x.how}, {axes})")
        if kind == "reshape":
            shape = (-1,) if x.ag.ndim != 1 else (1, x.shape[0])
            return Pair(x.ag.reshape(shape), x.th.reshape(shape), f"reshape({x.how}, {shape})")
        if kind == "squeeze":
            return Pair(ag.squeeze(x.ag), x.th.squeeze(), f"squeeze({x.how})")
        if kind == "detach":
            return Pair(x.ag.detach(), x.th.detach(), f"detach({x.how})")
        if kind == "broadcast":
            shape = (2,) + x.shape if self.draw(st.booleans()) else (1,) + x.shape
            return Pair(ag.broadcast_to(x.ag, shape), x.th.broadcast_to(shape), f"broadcast_to({x.how}, {shape})",
                        shape[0] == 2)
        axis = self.draw(st.integers(0, x.ag.ndim))
        return Pair(ag.expand_dims(x.ag, axis), x.th.unsqueeze(axis), f"expand_dims({x.how}, {axis})")

    def inplace(self):
        x = self.pick("changed")
        kind = self.draw(st.sampled_from(["add_", "sub_", "mul_", "div_", "copy_", "zero_", "fill_", "setitem"]))
        if x.broadcast:
            # Both refuse arithmetic in place on a broadcast view; PyTorch fills one, or
            # writes into a part of one (changing the repeats too), which topograd refuses.
            # (A detached one is left alone: NumPy refuses the write, with its own error.)
            if not (0 in x.th.stride() and x.th.numel() > 1) or x.ag._base is None:
                return
            kind = "add_"
        what = f"{x.how}.{kind}"
        if kind in ("add_", "sub_", "mul_", "div_"):
            o = self.operand(x.shape)
            if kind == "div_":  # a divisor away from 0
                o = Pair(o.ag * o.ag + 1.0, o.th * o.th + 1.0, f"({o.how})**2 + 1")
            done = self.run(f"{what}({o.how})", lambda: getattr(x.ag, kind)(o.ag), lambda: getattr(x.th, kind)(o.th),
                            x)
        elif kind == "copy_":
            o = self.operand(x.shape)
            if not hasattr(o.ag, "shape"):
                o = Pair(ag.tensor(o.ag, dtype="float64"), self.torch.tensor(o.th, dtype=self.torch.float64), o.how)
            done = self.run(f"{what}({o.how})", lambda: x.ag.copy_(o.ag), lambda: x.th.copy_(o.th), x)
        elif kind == "zero_":
            done = self.run(what, x.ag.zero_, x.th.zero_, x)
        elif kind == "fill_":
            value = self.draw(st.sampled_from([1.5, -0.25]))
            done = self.run(what, lambda: x.ag.fill_(value), lambda: x.th.fill_(value), x)
        else:
            index, region = self.setitem_index(x)
            o = self.operand(region)
            what = f"{x.how}[{index}] = {o.how}"
            th_index = tuple(self.torch.as_tensor(p) if isinstance(p, np.ndarray) else p for p in index)

            def mine():
                x.ag[index] = o.ag

            def theirs():
                x.th[th_index] = o.th
            done = self.run(what, mine, theirs, x)
        if done is not None:
            x.how = f"({what})"
            self.check_pool(what)

    def setitem_index(self, x):
        """An index of ``x`` that picks each element at most once, and the shape it picks."""
        if x.ag.size == 0 or x.ag.ndim == 0:
            return (), x.shape
        kind = self.draw(st.sampled_from(["int", "slice", "ints", "mask"]))
        n = x.shape[0]
        if kind == "int":
            index = (self.draw(st.integers(-n, n - 1)),)
        elif kind == "slice":
            index = (slice(self.draw(st.integers(0, n - 1)), None, self.draw(st.sampled_from([1, 2]))),)
        elif kind == "ints":
            index = (np.array(self.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))),)
        else:
            index = (self.rng.random(x.shape) < 0.5,)
        return index, np.zeros(x.shape)[index].shape

    # (No relu, nor relu_ above: topograd's keeps a mask, not its output, so it allows
    # changing the output in place, which PyTorch refuses at backward; see test_engine.
    # No logsumexp or var either, for the same reason: topograd's are composed of other ops.)
    USES = {
        "mul": (lambda a, b: a * b, lambda a, b: a * b),
        "exp": (lambda a, b: ag.exp(a), lambda a, b: a.exp()),
        "sin": (lambda a, b: ag.sin(a), lambda a, b: a.sin()),
        "tanh": (lambda a, b: ag.tanh(a), lambda a, b: a.tanh()),
        "sigmoid": (lambda a, b: ag.sigmoid(a), lambda a, b: a.sigmoid()),
        "square": (lambda a, b: a ** 2, lambda a, b: a ** 2),
        "div": (lambda a, b: a / (b * b + 1.0), lambda a, b: a / (b * b + 1.0)),
        "max": (lambda a, b: a.max(axis=0), lambda a, b: a.amax(dim=0)),
        "sum": (lambda a, b: a.sum(axis=0, keepdims=True), lambda a, b: a.sum(dim=0, keepdim=True)),
        "maximum": (lambda a, b: ag.maximum(a, b), lambda a, b: a.maximum(b)),
        "gather": (lambda a, b: a[np.array([0, 0])], lambda a, b: a[[0, 0]]),
        "clone": (lambda a, b: ag.clone(a), lambda a, b: a.clone()),
        "sqrt": (lambda a, b: ag.sqrt(a * a + 1.0), lambda a, b: (a * a + 1.0).sqrt()),
        "abs": (lambda a, b: ag.abs(a), lambda a, b: a.abs()),
        "cos": (lambda a, b: ag.cos(a), lambda a, b: a.cos()),
        "pow": (lambda a, b: (a * a + 1.0) ** b, lambda a, b: (a * a + 1.0) ** b),
        "where": (lambda a, b: ag.where(b > 0, a, b), lambda a, b: a.where(b > 0, b)),
        "min": (lambda a, b: ag.min(a), lambda a, b: a.amin(dim=tuple(range(a.ndim)))),
        "mean": (lambda a, b: ag.mean(a), lambda a, b: a.mean()),
        "matmul": (lambda a, b: a @ ag.swapaxes(b, -1, -2) if a.ndim > 1 else a @ b,
                   lambda a, b: a @ b.transpose(-1, -2) if a.ndim > 1 else a @ b),
        "clip": (lambda a, b: ag.clip(a, -0.5, 0.5), lambda a, b: a.clamp(-0.5, 0.5)),
    }

    def use(self):
        a = self.pick("used")
        name = self.draw(st.sampled_from(sorted(self.USES)))
        if a.ag.size == 0 or a.ag.ndim == 0 and name in ("max", "sum", "gather", "matmul"):
            name = "exp"
        fits = [p for p in self.pool if _broadcasts_to(p.shape, a.shape)]
        if name == "matmul":
            fits = [p for p in self.pool if p.shape == a.shape]
        b = self.draw(st.sampled_from(fits)) if name in ("mul", "div", "maximum", "pow", "where", "matmul") else a
        mine, theirs = self.USES[name]
        return Pair(mine(a.ag, b.ag), theirs(a.th, b.th), f"{name}({a.how}, {b.how})")

    def retain(self):
        x = self.pick("retained")
        # (Not on a view: PyTorch remakes a view of a view changed through its root from the
        # root, so the middle view's retained grad misses what flows through the outer one.)
        if x.th.requires_grad and x.th.grad_fn is not None and x.th._base is None:
            x.ag.retain_grad()
            x.th.retain_grad()
            self.retained.append(x)

    def hook(self):
        """A hook that scales the gradient; later in-place changes leave it on the value it
        was registered on, in both libraries."""
        x = self.pick("hooked")
        if x.th.requires_grad and x.th._base is None:  # (PyTorch 2.x can crash on a hook on a changed view)
            scale = self.draw(st.sampled_from([0.0, -1.0, 3.0]))
            x.ag.register_hook(lambda g: None if g is None else g * scale)
            x.th.register_hook(lambda g: None if g is None else g * scale)

    def grow(self, steps):
        for _ in range(steps):
            op = self.draw(st.sampled_from(["view", "view", "inplace", "inplace", "inplace", "use", "retain",
                                            "hook"]), label="op")
            made = getattr(self, op)()
            if made is not None:
                self.pool.append(made)
                self.check_pool(made.how)


def _broadcasts_to(shape, target):
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


@settings(SETTINGS, max_examples=60)
@given(data=st.data())
def test_random_in_place_programs_match_torch_or_are_refused_like_it(data, device, torch):
    """Values after every step, and then the gradients of the leaves and retained grads
    (backward twice with retain_graph), or the first and second derivatives through the
    changes (ag.grad with create_graph)."""
    prog = InplaceProgram(data, torch)
    prog.grow(data.draw(st.integers(1, 8), label="steps"))
    outs = [p for p in prog.pool if p.th.requires_grad]
    weights = [prog.constant(p.shape) for p in outs]
    if not outs:
        return
    loss = prog.loss(outs, weights)
    assert_close(loss.ag, loss.th, "loss")
    second_order = data.draw(st.booleans(), label="second order")
    leaves = prog.leaves
    try:
        if second_order:
            g_theirs = torch.autograd.grad(loss.th, [p.th for p in leaves], create_graph=True, allow_unused=True)
        else:
            loss.th.backward(retain_graph=True)
    except RuntimeError as error:
        assert "modified by an inplace operation" in str(error)
        with pytest.raises(RuntimeError, match="modified in place"):
            loss.ag.backward()
        return
    if not second_order:
        loss.ag.backward(retain_graph=True)
        loss.ag.backward()
        loss.th.backward()
        for i, leaf in enumerate(leaves):
            assert_close(_grad_or_zeros(leaf.ag.grad, leaf.ag), _grad_or_zeros(leaf.th.grad, leaf.th), f"leaf {i}")
        for p in prog.retained:
            assert_close(_grad_or_zeros(p.ag.grad, p.ag), _grad_or_zeros(p.th.grad, p.th), f"retained {p.how}")
        return
    g_mine = ag.grad(loss.ag, [p.ag for p in leaves], create_graph=True, allow_unused=True)
    for p, g, h in zip(leaves, g_mine, g_theirs):
        assert_close(_grad_or_zeros(g, p.ag), _grad_or_zeros(h, p.th), f"first d/d {p.how}")
    vs = [prog.constant(p.shape) for p in leaves]
    hv_mine = _hessian_vector_product(ag.grad, g_mine, [v.ag for v in vs], [p.ag for p in leaves])
    hv_theirs = _hessian_vector_product(torch.autograd.grad, g_theirs, [v.th for v in vs], [p.th for p in leaves])
    for p, g, h in zip(leaves, hv_mine, hv_theirs):
        assert_close(_grad_or_zeros(g, p.ag), _grad_or_zeros(h, p.th), f"second d/d {p.how}")


_CHANGES = {
    "add_": (lambda v, o: v.add_(o), lambda torch, old, o: old + o),
    "sub_": (lambda v, o: v.sub_(o), lambda torch, old, o: old - o),
    "mul_": (lambda v, o: v.mul_(o), lambda torch, old, o: old * o),
    "div_": (lambda v, o: v.div_(o * o + 1.0), lambda torch, old, o: old / (o * o + 1.0)),
    "copy_": (lambda v, o: v.copy_(o), lambda torch, old, o: (o + 0 * old)),
    "fill_": (lambda v, o: v.fill_(2.5), lambda torch, old, o: torch.full_like(old, 2.5)),
    "zero_": (lambda v, o: v.zero_(), lambda torch, old, o: torch.zeros_like(old)),
}


@SETTINGS
@given(data=st.data())
def test_in_place_change_through_a_strided_view_matches_torch_index_put(data, device, torch):
    """y = f(leaf); v = y[index] with any steps (negative ones too, which PyTorch's views
    lack); v changed in place; then y and v read. PyTorch does the same change as
    y[positions] = new values (index_put), and v's later values as y[positions]."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 16)))
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    index = []
    for n in shape[:data.draw(st.integers(1, len(shape)))]:
        index.append(slice(data.draw(st.none() | st.integers(-n, n - 1)), data.draw(st.none() | st.integers(-n - 1, n)),
                           data.draw(st.sampled_from([1, 2, -1, -2, -3]))))
    index = tuple(index)
    positions = np.arange(int(np.prod(shape))).reshape(shape)[index]
    name = data.draw(st.sampled_from(sorted(_CHANGES)))
    change, reference = _CHANGES[name]
    x_np, w_np = rng.standard_normal(shape), rng.standard_normal(positions.shape[-1:])
    g_np, h_np = rng.standard_normal(shape), rng.standard_normal(positions.shape)

    x, w = ag.tensor(x_np, dtype="float64", requires_grad=True), ag.tensor(w_np, dtype="float64", requires_grad=True)
    y = ag.sin(x)
    v = y[index]
    change(v, w)
    loss = (y * ag.tensor(g_np, dtype="float64")).sum() + (v * v * ag.tensor(h_np, dtype="float64")).sum()
    loss.backward()

    tx = torch.tensor(x_np, requires_grad=True)
    tw = torch.tensor(w_np, requires_grad=True)
    flat = torch.sin(tx).reshape(-1)
    where = torch.as_tensor(positions.reshape(-1).copy())
    new = reference(torch, flat[where].reshape(positions.shape), tw)
    flat = flat.index_put((where,), new.reshape(-1))
    ty, tv = flat.reshape(shape), flat[where].reshape(positions.shape)
    tloss = (ty * torch.tensor(g_np)).sum() + (tv * tv * torch.tensor(h_np)).sum()
    tloss.backward()
    assert_close(y, ty, "y")
    assert_close(v, tv, "v")
    assert_close(loss, tloss, "loss")
    assert_close(x.grad, tx.grad, "x.grad")
    assert_close(_grad_or_zeros(w.grad, w), _grad_or_zeros(tw.grad, tw), "w.grad")


@SETTINGS
@given(data=st.data())
def test_in_place_change_of_a_split_piece_matches_torch_narrow(data, device, torch):
    """topograd's split pieces are views that may be changed in place (PyTorch refuses it
    on its multi-output views): the same change through torch's narrow() views, then
    every piece and the base read, must give the same values and gradients."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 16)))
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    axis = data.draw(st.integers(0, len(shape) - 1))
    cuts = sorted(data.draw(st.lists(st.integers(0, shape[axis]), min_size=1, max_size=3)))
    bounds = [0, *cuts, shape[axis]]
    k = data.draw(st.integers(0, len(cuts)))
    name = data.draw(st.sampled_from(sorted(_CHANGES)))
    change = _CHANGES[name][0]
    x_np = rng.standard_normal(shape)
    w_shape = shape[:axis] + (bounds[k + 1] - bounds[k],) + shape[axis + 1:]
    w_np = rng.standard_normal(w_shape)
    weights = [rng.standard_normal(shape[:axis] + (b - a,) + shape[axis + 1:]) for a, b in zip(bounds, bounds[1:])]
    g_np = rng.standard_normal(shape)

    x, w = ag.tensor(x_np, dtype="float64", requires_grad=True), ag.tensor(w_np, dtype="float64", requires_grad=True)
    y = ag.tanh(x) * 2.0
    pieces = ag.split(y, cuts, axis=axis)
    change(pieces[k], w)
    loss = (y * ag.tensor(g_np, dtype="float64")).sum()
    for p, q in zip(pieces, weights):
        loss = loss + (p * p * ag.tensor(q, dtype="float64")).sum()
    loss.backward()

    tx, tw = torch.tensor(x_np, requires_grad=True), torch.tensor(w_np, requires_grad=True)
    ty = torch.tanh(tx) * 2.0
    tpieces = [ty.narrow(axis, a, b - a) for a, b in zip(bounds, bounds[1:])]
    change(tpieces[k], tw)
    tloss = (ty * torch.tensor(g_np)).sum()
    for p, q in zip(tpieces, weights):
        tloss = tloss + (p * p * torch.tensor(q)).sum()
    tloss.backward()
    assert_close(y, ty, "y")
    for p, q in zip(pieces, tpieces):
        assert_close(p, q, "piece")
    assert_close(x.grad, tx.grad, "x.grad")
    assert_close(_grad_or_zeros(w.grad, w), _grad_or_zeros(tw.grad, tw), "w.grad")


@SETTINGS
@given(data=st.data())
def test_random_programs_backward_into_inputs_and_with_create_graph_match_torch(data, device, torch):
    """backward(inputs=...) with leaves and intermediates (duplicates too), repeated outputs
    among the roots; or backward(create_graph=True) twice, whose accumulated .grad is then
    differentiated again into the same leaves."""
    prog = Program(data, torch)
    prog.grow(data.draw(st.integers(1, 8), label="steps"))
    outs, weights = prog.outputs()
    if not outs:
        return
    if data.draw(st.booleans(), label="repeat an output"):
        outs, weights = outs + outs[:1], weights + [prog.constant(outs[0].shape)]
    candidates = [p for p in prog.pool if p.ag.requires_grad]
    if data.draw(st.booleans(), label="inputs="):
        inputs = data.draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=4), label="inputs")
        ag.backward([o.ag for o in outs], [w.ag for w in weights], inputs=[p.ag for p in inputs])
        torch.autograd.backward([o.th for o in outs], [w.th for w in weights], inputs=[p.th for p in inputs])
        for p in prog.pool:
            mine, theirs = p.ag._grad, p.th.grad if p.th.is_leaf or p.th.retains_grad or p in inputs else None
            if p in inputs or p.th.is_leaf:
                assert (mine is None) == (theirs is None), p.how
                assert_close(_grad_or_zeros(mine, p.ag), _grad_or_zeros(theirs, p.th), f"grad of {p.how}")
        return
    loss = prog.loss(outs, weights)
    for _ in range(2):
        loss.ag.backward(create_graph=True)
        loss.th.backward(create_graph=True)
    leaves = prog.leaves
    for p in leaves:
        assert_close(_grad_or_zeros(p.ag.grad, p.ag), _grad_or_zeros(p.th.grad, p.th), f"grad of {p.how}")
    vs = [prog.constant(p.shape) for p in leaves]
    mine = [(p.ag.grad * v.ag).sum() for p, v in zip(leaves, vs) if p.ag.grad is not None and p.ag.grad.requires_grad]
    theirs = [(p.th.grad * v.th).sum() for p, v in zip(leaves, vs) if p.th.grad is not None and p.th.grad.requires_grad]
    if mine:  # (one library may leave a gradient that is constant outside the graph: zero is added there)
        sum(mine[1:], mine[0]).backward()
    if theirs:
        sum(theirs).backward()
    for p in leaves:
        assert_close(_grad_or_zeros(p.ag.grad, p.ag), _grad_or_zeros(p.th.grad, p.th), f"grad of {p.how} after")
