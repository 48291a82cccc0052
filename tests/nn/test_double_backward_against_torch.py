"""Second- and third-order derivatives through the nn package, in float64, as the
usual recipes need them: a WGAN-GP gradient penalty (the gradient with respect to
interpolated inputs, backpropagated to the critic and the generator), a gradient-norm
penalty through ``.grad`` after ``backward(create_graph=True)``, MAML (inner SGD
steps with create_graph, then an outer loss, and a Hessian-vector product of that),
the forward-mode trick (differentiating a vector-Jacobian product with respect to its
grad_outputs) and Hessians with respect to the input of a network whose weights are
frozen. Against PyTorch's torch.autograd.grad(create_graph=True), and against finite
differences where PyTorch's own third derivative is wrong (layer and batch norm).

The first three groups failed before their fix: each docstring says what topograd
gave and what PyTorch gives."""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from nn.utils.stateless import functional_call

# PyTorch and topograd warn that backward(create_graph=True) makes a cycle through .grad
# (the gradient-norm penalty does that on purpose, to compare), and PyTorch that its own
# 'same' padding with an even kernel copies the input.
pytestmark = [pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True:UserWarning"),
              pytest.mark.filterwarnings("ignore:backward\\(create_graph=True\\) records:UserWarning"),
              pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")]


def _leaves(torch, *arrays):
    """float64 leaves that require grad: ours, then PyTorch's, over the same values."""
    ours = [ag.tensor(a, dtype=ag.float64, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    return ours, theirs


def _np(t, shape=None):
    if t is None:
        return np.zeros(shape)
    if isinstance(t, ag.Tensor):
        return t.numpy()
    return t.detach().numpy(force=True)  # force: PyTorch's zeros may be a lazy ZeroTensor


def _assert_close(ours, theirs, rtol=1e-9, atol=1e-11, what=""):
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        b = _np(b)
        a = _np(a, b.shape)
        assert a.shape == b.shape, f"{what} {i}: shape {a.shape} against {b.shape}"
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"{what} {i}")


def _derivatives(lib, f, xs, orders, seed=0):
    """f(*xs)'s gradients of sum(f * r), then, order after order, the gradients of
    sum(previous gradients * v) (r, v seeded, so both libraries see the same)."""
    rng = np.random.default_rng(seed)
    out = f(*xs)
    wrap = (lambda a: ag.tensor(a, dtype=ag.float64)) if lib is ag else (lambda a: lib.tensor(a))
    grad = ag.grad if lib is ag else lib.autograd.grad
    scalar = (out * wrap(rng.standard_normal(tuple(out.shape)))).sum()
    results = []
    for order in range(1, orders + 1):
        grads = grad(scalar, xs, create_graph=order < orders, allow_unused=True)
        results.append(grads)
        if order < orders:
            terms = [(g * wrap(rng.standard_normal(tuple(x.shape)))).sum() for g, x in zip(grads, xs)]
            scalar = sum(terms[1:], terms[0])
    return results


def _assert_orders_match(torch, ours, theirs, arrays, orders):
    xo, xt = _leaves(torch, *arrays)
    got, expected = _derivatives(ag, ours, xo, orders), _derivatives(torch, theirs, xt, orders)
    for order, (a, b) in enumerate(zip(got, expected), 1):
        _assert_close(a, b, rtol=1e-8, atol=1e-10, what=f"order {order}, input")


def _wrap_for(lib):
    """Arrays as constants of ``lib`` (ag or torch): floats as float64, integers as they are."""
    if lib is not ag:
        return lib.tensor
    return lambda a: ag.tensor(a, dtype=ag.float64) if a.dtype.kind == "f" else ag.tensor(a)


def _module_pair(torch, ours, theirs):
    """PyTorch's module with our module's parameters copied in, by name."""
    reference = dict(theirs.named_parameters())
    assert sorted(reference) == sorted(name for name, _ in ours.named_parameters())
    with torch.no_grad():
        for name, p in ours.named_parameters():
            reference[name].copy_(torch.tensor(p.numpy()))
    return ours, theirs


def _freeze(*modules):
    for m in modules:
        for p in m.parameters():
            p.requires_grad_(False)


# --- bugs: a Hessian that must be zero was missing ------------------------------------------


def test_second_derivative_of_leaky_relu_is_zero_not_missing(device, torch):
    """g = d sum(leaky_relu(x)) / dx with create_graph=True, then d sum(g) / dx.

    topograd gave: RuntimeError "output 0 does not require grad" (the gradient was gy times
    a constant factor, cut off from x). PyTorch: zeros, as its leaky_relu_backward keeps
    x in the graph; ReLU already did so here."""
    (x,), (tx,) = _leaves(torch, [-2.0, -0.0, 0.0, 0.5, 3.0])
    g, = ag.grad(F.leaky_relu(x, 0.2).sum(), [x], create_graph=True)
    h, = ag.grad(g.sum(), [x])
    tg, = torch.autograd.grad(torch.nn.functional.leaky_relu(tx, 0.2).sum(), [tx], create_graph=True)
    th, = torch.autograd.grad(tg.sum(), [tx])
    _assert_close([g, h], [tg, th], what="derivative")


@pytest.mark.parametrize("inplace", [False, True])
def test_input_hessian_through_a_frozen_leaky_relu_critic_is_zero_like_torch(device, torch, inplace):
    """A Hessian-vector product with respect to the input of a critic whose weights are
    frozen (conv, LeakyReLU, linear: piecewise linear in the input, so the Hessian is 0).

    topograd gave: RuntimeError "output 0 does not require grad" at the second ag.grad.
    PyTorch: zeros."""
    rng = np.random.default_rng(1)
    ours, theirs = _module_pair(
        torch, nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, dtype=ag.float64), nn.LeakyReLU(0.2, inplace=inplace),
                             nn.Flatten(), nn.Linear(48, 1, dtype=ag.float64)),
        torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1, dtype=torch.float64),
                            torch.nn.LeakyReLU(0.2, inplace=inplace), torch.nn.Flatten(),
                            torch.nn.Linear(48, 1, dtype=torch.float64)))
    _freeze(ours, theirs)
    _assert_orders_match(torch, ours, theirs, [rng.standard_normal((2, 2, 4, 4))], orders=2)


@pytest.mark.parametrize("cell", [False, True])
def test_input_hessian_through_a_frozen_relu_rnn_is_zero_like_torch(device, torch, cell):
    """d/dx of the gradient of a ReLU RNN (or RNNCell) whose weights are frozen.

    topograd gave: RuntimeError "output 0 does not require grad" (RNNStep's create_graph
    backward masked the gradient with a ReluGrad joined to nothing). PyTorch: zeros."""
    rng = np.random.default_rng(2)
    if cell:
        ours, theirs = _module_pair(torch, nn.RNNCell(3, 4, nonlinearity="relu", dtype=ag.float64),
                                    torch.nn.RNNCell(3, 4, nonlinearity="relu", dtype=torch.float64))
        arrays = [rng.standard_normal((2, 3)), rng.standard_normal((2, 4))]
        run_ours, run_theirs = ours, theirs
    else:
        ours, theirs = _module_pair(torch, nn.RNN(3, 4, nonlinearity="relu", dtype=ag.float64),
                                    torch.nn.RNN(3, 4, nonlinearity="relu", dtype=torch.float64))
        arrays = [rng.standard_normal((4, 2, 3))]
        run_ours, run_theirs = (lambda x: ours(x)[0]), (lambda x: theirs(x)[0])
    _freeze(ours, theirs)
    _assert_orders_match(torch, run_ours, run_theirs, arrays, orders=2)


# --- bug: a third derivative through conv2d raised ------------------------------------------

CONV_OPTIONS = [dict(), dict(stride=2, padding=1), dict(padding=(1, 0), dilation=(1, 2), groups=2),
                dict(padding="same")]


@pytest.mark.parametrize("options", CONV_OPTIONS, ids=["plain", "stride-padding", "groups-dilation", "same"])
def test_third_derivative_through_conv2d_matches_torch(device, torch, options):
    """Third derivatives of sum(r * conv2d(x, w, b)^3) in x, w and b.

    topograd gave: RuntimeError "Conv2dWeightGrad.backward returned 7 gradients, but its
    forward took 5 arguments" (the second-order ops applied the gradient ops without their
    optional arguments, and the engine counts the arguments given). PyTorch: the values."""
    rng = np.random.default_rng(3)
    c_in = 2 * options.get("groups", 1)
    arrays = [rng.standard_normal((1, c_in, 5, 5)), rng.standard_normal((2, 2, 3, 2)), rng.standard_normal(2)]
    _assert_orders_match(torch, lambda x, w, b: F.conv2d(x, w, b, **options) ** 3,
                         lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **options) ** 3, arrays, orders=3)


def _maml_cnn(lib, steps, x0, y0):
    """Omniglot-style MAML on a two-block CNN (conv, per-channel affine, ReLU or leaky
    ReLU, max or average pool, then linear): ``steps`` inner SGD steps with
    create_graph=True, then the outer loss on other inputs, as a function of the
    initial parameters."""
    Fn = F if lib is ag else lib.nn.functional
    wrap = _wrap_for(lib)
    grad = ag.grad if lib is ag else lib.autograd.grad

    def net(p, x):
        h = x
        for block in range(2):
            w, b, scale, shift = p[4 * block:4 * block + 4]
            h = Fn.conv2d(h, w, b, padding=1) * scale.reshape(1, -1, 1, 1) + shift.reshape(1, -1, 1, 1)
            h = Fn.relu(h) if block == 0 else Fn.leaky_relu(h, 0.2)
            h = Fn.max_pool2d(h, 2) if block == 0 else Fn.avg_pool2d(h, 2)
        return Fn.linear(h.reshape(h.shape[0], -1), p[8], p[9])

    def outer(*params):
        p, x, y = list(params), wrap(x0), wrap(y0)
        for _ in range(steps):
            grads = grad(Fn.cross_entropy(net(p, x), y, label_smoothing=0.1), p, create_graph=True)
            p = [a - 0.4 * g for a, g in zip(p, grads)]
        return Fn.cross_entropy(net(p, x * 0.7), y)
    return outer


@pytest.mark.parametrize("steps", [1, 2])
def test_maml_hessian_vector_product_through_a_cnn_matches_torch(device, torch, steps):
    """The outer gradient of MAML through conv, pooling and cross-entropy, and its
    Hessian-vector product (third derivatives of the inner loss, which raised as above)."""
    rng = np.random.default_rng(4)
    shapes = [(3, 1, 3, 3), (3,), (3,), (3,), (3, 3, 3, 3), (3,), (3,), (3,), (3, 6), (3,)]
    arrays = [rng.standard_normal(s) * 0.5 + (1.0 if i in (2, 6) else 0.0) for i, s in enumerate(shapes)]
    x0, y0 = rng.standard_normal((4, 1, 8, 6)), np.array([0, 1, 2, 1])
    _assert_orders_match(torch, _maml_cnn(ag, steps, x0, y0), _maml_cnn(torch, steps, x0, y0), arrays, orders=2)


# --- verified: the recipes as users write them ---------------------------------------------


def test_wgan_gp_penalty_reaches_critic_and_generator_like_torch(device, torch):
    """The WGAN-GP recipe: interpolates between real samples and a generator's output (not
    a leaf), the critic's gradient there by ag.grad(grad_outputs=ones, create_graph=True,
    retain_graph=True), penalty (||g|| - 1)^2, then one backward of critic loss plus
    penalty: every critic parameter's and the generator's gradient match PyTorch."""
    rng = np.random.default_rng(5)
    ours, theirs = _module_pair(
        torch, nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, dtype=ag.float64), nn.LeakyReLU(0.2), nn.Flatten(),
                             nn.Linear(32, 8, dtype=ag.float64), nn.GELU(), nn.Linear(8, 1, dtype=ag.float64)),
        torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1, dtype=torch.float64), torch.nn.LeakyReLU(0.2),
                            torch.nn.Flatten(), torch.nn.Linear(32, 8, dtype=torch.float64), torch.nn.GELU(),
                            torch.nn.Linear(8, 1, dtype=torch.float64)))
    real, noise = rng.standard_normal((3, 1, 4, 4)), rng.standard_normal((3, 1, 4, 4))
    alpha = rng.uniform(0, 1, (3, 1, 1, 1))
    (gen,), (tgen,) = _leaves(torch, rng.standard_normal((1, 1, 4, 4)))

    def run(lib, critic, generator_weight):
        wrap = (lambda a: ag.tensor(a, dtype=ag.float64)) if lib is ag else lib.tensor
        grad = ag.grad if lib is ag else lib.autograd.grad
        fake = wrap(noise) * generator_weight
        mixed = wrap(alpha) * wrap(real) + (1 - wrap(alpha)) * fake
        score = critic(mixed)
        g, = grad(score, mixed, grad_outputs=wrap(np.ones((3, 1))), create_graph=True, retain_graph=True)
        penalty = (((g.reshape(3, -1) ** 2).sum(1) ** 0.5 - 1) ** 2).mean()
        (score.mean() + 10 * penalty).backward()
        return [p.grad for p in critic.parameters()] + [generator_weight.grad]

    _assert_close(run(ag, ours, gen), run(torch, theirs, tgen), what="gradient")


def test_gradient_norm_penalty_through_dot_grad_matches_torch(device, torch):
    """loss.backward(create_graph=True), then sum ||p.grad||^2 backpropagated: each .grad
    ends as the loss's gradient plus the penalty's, as in PyTorch."""
    rng = np.random.default_rng(6)
    ours, theirs = _module_pair(
        torch, nn.Sequential(nn.Linear(4, 5, dtype=ag.float64), nn.LayerNorm(5, dtype=ag.float64), nn.ELU(0.7),
                             nn.Linear(5, 3, dtype=ag.float64)),
        torch.nn.Sequential(torch.nn.Linear(4, 5, dtype=torch.float64), torch.nn.LayerNorm(5, dtype=torch.float64),
                            torch.nn.ELU(0.7), torch.nn.Linear(5, 3, dtype=torch.float64)))
    x, y = rng.standard_normal((6, 4)), np.array([0, 2, 1, 1, 0, 2])

    def run(lib, model):
        wrap = _wrap_for(lib)
        Fn = F if lib is ag else lib.nn.functional
        Fn.cross_entropy(model(wrap(x)), wrap(y), label_smoothing=0.2).backward(create_graph=True)
        sum((p.grad * p.grad).sum() for p in model.parameters()).backward()
        return [p.grad for p in model.parameters()]

    _assert_close(run(ag, ours), run(torch, theirs), what="gradient")


LOSSES = {  # name: (ours, PyTorch's), each of (F, output, wrap)
    "cross_entropy-weight-ignore-smoothing": lambda Fn, out, w: Fn.cross_entropy(
        out, w(np.array([0, 2, -100, 1, 0, 2])), weight=w(np.array([0.5, 2.0, 1.3])), label_smoothing=0.2),
    "cross_entropy-none": lambda Fn, out, w: (Fn.cross_entropy(out, w(np.array([0, 2, 1, 1, 0, 2])),
                                                               reduction="none") ** 2).sum(),
    "cross_entropy-probabilities": lambda Fn, out, w: Fn.cross_entropy(
        out, w(np.full((6, 3), 1 / 3) + np.array([0.2, -0.1, -0.1])), label_smoothing=0.1),
    "nll_loss-weight": lambda Fn, out, w: Fn.nll_loss(Fn.log_softmax(out, 1), w(np.array([0, 2, -100, 1, 0, 2])),
                                                      weight=w(np.array([0.5, 2.0, 1.3]))),
    "mse_loss": lambda Fn, out, w: Fn.mse_loss(out, w(np.linspace(-1, 1, 18).reshape(6, 3))),
    "huber_loss-delta": lambda Fn, out, w: Fn.huber_loss(out, w(np.linspace(-1, 1, 18).reshape(6, 3)), delta=0.5),
    "bce_with_logits-pos_weight": lambda Fn, out, w: Fn.binary_cross_entropy_with_logits(
        out, w(np.linspace(0, 1, 18).reshape(6, 3)), pos_weight=w(np.array([0.5, 2.0, 3.0])), reduction="sum"),
}


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_maml_through_an_mlp_matches_torch_for_each_loss(device, torch, loss):
    """Two inner SGD steps with create_graph=True on an MLP (linear, GELU, linear), the
    outer loss on other inputs: the outer gradient and its Hessian-vector product."""
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal((5, 4)), rng.standard_normal(5), rng.standard_normal((3, 5)), rng.standard_normal(3)]
    x0 = rng.standard_normal((6, 4))

    def maml(lib):
        Fn = F if lib is ag else lib.nn.functional
        wrap = _wrap_for(lib)
        grad = ag.grad if lib is ag else lib.autograd.grad

        def outer(*p):
            net = lambda p, x: Fn.linear(Fn.gelu(Fn.linear(x, p[0], p[1])), p[2], p[3])  # noqa: E731
            for _ in range(2):
                grads = grad(LOSSES[loss](Fn, net(p, wrap(x0)), wrap), p, create_graph=True)
                p = [a - 0.3 * g for a, g in zip(p, grads)]
            return LOSSES[loss](Fn, net(p, wrap(x0 * 0.5)), wrap)
        return outer

    _assert_orders_match(torch, maml(ag), maml(torch), arrays, orders=2)


JVP_OPS = {  # name: (ours, PyTorch's, input shapes)
    "conv2d-groups-stride": (lambda x, w: F.conv2d(x, w, stride=2, padding=1, groups=2),
                             lambda t, x, w: t.nn.functional.conv2d(x, w, stride=2, padding=1, groups=2),
                             [(2, 4, 5, 5), (4, 2, 3, 3)]),
    "max_pool2d-overlapping": (lambda x: F.max_pool2d(x, 3, 2, 1), lambda t, x: t.nn.functional.max_pool2d(x, 3, 2, 1),
                               [(2, 2, 5, 5)]),
    "cross_entropy-smoothing": (lambda x: F.cross_entropy(x, ag.tensor(np.array([0, 2, 1, 1])), label_smoothing=0.1),
                                lambda t, x: t.nn.functional.cross_entropy(x, t.tensor([0, 2, 1, 1]),
                                                                           label_smoothing=0.1), [(4, 3)]),
    "batch_norm-train": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                         lambda t, x, w, b: t.nn.functional.batch_norm(x, None, None, w, b, training=True),
                         [(4, 3, 2), (3,), (3,)]),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), lambda t, x: t.nn.functional.leaky_relu(x, 0.1), [(4, 3)]),
}


@pytest.mark.parametrize("name", sorted(JVP_OPS))
def test_forward_mode_by_the_double_vjp_trick_matches_torch(device, torch, name):
    """A Jacobian-vector product as the gradient, with respect to its grad_outputs u, of
    the vector-Jacobian product <u, J> (computed with create_graph=True)."""
    ours, theirs, shapes = JVP_OPS[name]
    rng = np.random.default_rng(8)
    xo, xt = _leaves(torch, *[rng.standard_normal(s) for s in shapes])
    yo, yt = ours(*xo), theirs(torch, *xt)
    (uo,), (ut,) = _leaves(torch, rng.standard_normal(tuple(yt.shape)))
    go = ag.grad(yo, xo, grad_outputs=uo, create_graph=True)
    gt = torch.autograd.grad(yt, xt, grad_outputs=ut, create_graph=True)
    vs = [rng.standard_normal(s) for s in shapes]
    jo, = ag.grad(sum((g * ag.tensor(v, dtype=ag.float64)).sum() for g, v in zip(go, vs)), [uo])
    jt, = torch.autograd.grad(sum((g * torch.tensor(v)).sum() for g, v in zip(gt, vs)), [ut])
    _assert_close([jo], [jt], what="jvp")


def _third_directional(f, x0, r, v1, v2):
    """<d/dx <d/dx <d/dx <f(x), r>, v1>, v2>: a third derivative contracted three times."""
    x = ag.tensor(x0, dtype=ag.float64, requires_grad=True)
    g, = ag.grad((f(x) * ag.tensor(r, dtype=ag.float64)).sum(), [x], create_graph=True)
    h, = ag.grad((g * ag.tensor(v1, dtype=ag.float64)).sum(), [x], create_graph=True)
    k, = ag.grad((h * ag.tensor(v2, dtype=ag.float64)).sum(), [x])
    return float((k.numpy() * v2).sum()), h.numpy()


@pytest.mark.parametrize("norm", ["layer_norm", "batch_norm"])
def test_third_derivative_through_normalization_matches_finite_differences(device, norm):
    """PyTorch's third derivative through layer_norm and batch_norm is off (its fused double
    backward is not differentiated exactly: 61.7 where the truth is 52.9 here), so
    topograd's composed normalization is checked against central differences of its
    own second derivative instead."""
    rng = np.random.default_rng(9)
    if norm == "layer_norm":
        def f(x):
            return F.layer_norm(x, (4,)) ** 2
        shape = (3, 4)
    else:
        def f(x):
            return F.batch_norm(x, None, None, training=True) ** 2
        shape = (4, 3)
    x0, r, v1, v2 = (rng.standard_normal(shape) for _ in range(4))
    value, _ = _third_directional(f, x0, r, v1, v2)
    eps = 1e-5
    plus = _third_directional(f, x0 + eps * v2, r, v1, v2)[1]
    minus = _third_directional(f, x0 - eps * v2, r, v1, v2)[1]
    numeric = float((((plus - minus) / (2 * eps)) * v2).sum())
    assert value == pytest.approx(numeric, rel=1e-6, abs=1e-8)


def test_gradgradcheck_of_small_float64_layers_with_their_parameters(device):
    """ag.gradgradcheck over layers as modules, their parameters passed as inputs: a grouped
    strided Conv2d with LeakyReLU, a training BatchNorm1d over (N, C, L), and an LSTMCell."""
    rng = np.random.default_rng(10)
    conv = nn.Conv2d(4, 2, (3, 2), stride=(2, 1), padding=1, groups=2, dtype=ag.float64)
    x = ag.tensor(rng.standard_normal((1, 4, 4, 3)), dtype=ag.float64, requires_grad=True)
    assert ag.gradgradcheck(lambda x, w, b: F.leaky_relu(F.conv2d(x, w, b, stride=(2, 1), padding=1, groups=2), 0.3),
                            (x, conv.weight, conv.bias))
    bn = nn.BatchNorm1d(2, dtype=ag.float64)
    x = ag.tensor(rng.standard_normal((3, 2, 2)), dtype=ag.float64, requires_grad=True)
    assert ag.gradgradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                            (x, bn.weight, bn.bias))
    cell = nn.LSTMCell(2, 2, dtype=ag.float64)
    x = ag.tensor(rng.standard_normal((2, 2)), dtype=ag.float64, requires_grad=True)
    h = ag.tensor(rng.standard_normal((2, 2)), dtype=ag.float64, requires_grad=True)
    c = ag.tensor(rng.standard_normal((2, 2)), dtype=ag.float64, requires_grad=True)
    assert ag.gradgradcheck(lambda x, h, c: cell(x, (h, c))[1], (x, h, c))


# --- where PyTorch's own second derivative is off, and Hessian-vector products through modules ---
# Two cases where topograd's second derivative matches finite differences and PyTorch's does not,
# and ag.functional.hvp through modules with their parameters.

def test_weight_norm_gradient_penalty_matches_finite_differences(device):
    """Second derivatives through parametrizations.weight_norm (input, magnitude g and
    direction v all differentiated). PyTorch's second derivatives in v differ from finite
    differences of its own first gradient (its fused weight-norm double backward: -1.30
    where they give -1.96 for one entry in the fuzz), so the reference is finite
    differences of topograd's first gradient."""
    layer = nn.utils.parametrizations.weight_norm(nn.Linear(3, 4, dtype=ag.float64))
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal((2, 3)), dtype=ag.float64, requires_grad=True)
    names = [name for name, _ in layer.named_parameters()]
    params = [p for _, p in layer.named_parameters()]

    def run(x, *values):
        return functional_call(layer, dict(zip(names, values)), (x,)) ** 2

    assert ag.gradgradcheck(run, (x, *params))


def test_second_derivative_in_the_bias_alone_of_an_eval_batch_norm(device):
    """y = (x - mean) / sqrt(var + eps) + b with running statistics, f = sum(r * y^3), only
    b requiring grad: d/db <df/db, v> = sum over batch and space of 6 r y v. PyTorch 2.13
    finds b unused in its first gradient's graph (None with allow_unused, else an error)."""
    rng = np.random.default_rng(1)
    x0, r = rng.standard_normal((4, 3, 2)), rng.standard_normal((4, 3, 2))
    mean, var, b0, v = np.array([0.1, -0.2, 0.3]), np.array([1.5, 0.5, 2.0]), rng.standard_normal(3), 0.7
    b = ag.tensor(b0, dtype=ag.float64, requires_grad=True)
    y = F.batch_norm(ag.tensor(x0, dtype=ag.float64), ag.tensor(mean, dtype=ag.float64),
                     ag.tensor(var, dtype=ag.float64), None, b, training=False)
    g, = ag.grad((y ** 3 * ag.tensor(r, dtype=ag.float64)).sum(), [b], create_graph=True)
    h, = ag.grad(g.sum() * v, [b])
    y0 = (x0 - mean[:, None]) / np.sqrt(var[:, None] + 1e-5) + b0[:, None]
    np.testing.assert_allclose(h.numpy(), (6 * r * y0 * v).sum(axis=(0, 2)), rtol=1e-12)


def _lstm(lib, dtype):
    return lib.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2, dtype=dtype), (5, 2, 3)


def _gru(lib, dtype):
    return lib.GRU(3, 4, batch_first=True, bias=False, dtype=dtype), (2, 5, 3)


def _rnn_cell(lib, dtype):
    return lib.RNNCell(3, 4, nonlinearity="relu", dtype=dtype), (2, 3)


def _attention(lib, dtype):
    return lib.MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True, kdim=3, vdim=5, dtype=dtype), None


MODULES = {"lstm-proj-bidirectional": _lstm, "gru-batch_first": _gru, "rnn_cell-relu": _rnn_cell,
           "attention-bias_kv-zero_attn": _attention}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_hvp_through_a_module_and_its_parameters_matches_torch(device, torch, name):
    """ag.functional.hvp (three backward passes, the last through grad_outputs) of
    sum(r * module(x)^2) in the input and every parameter, against PyTorch's hvp."""
    ours, shape = MODULES[name](nn, ag.float64)
    theirs, _ = MODULES[name](torch.nn, torch.float64)
    names = [n for n, _ in ours.named_parameters()]
    reference = dict(theirs.named_parameters())
    assert sorted(names) == sorted(reference)
    rng = np.random.default_rng(2)
    values = [rng.standard_normal(p.shape) * 0.5 for _, p in ours.named_parameters()]
    inputs = [rng.standard_normal(s) for s in ([(3, 2, 4), (2, 2, 3), (2, 2, 5)] if shape is None else [shape])]

    def scalar(wrap, module, call):
        def f(*leaves):
            n = len(inputs)
            out = call(module, dict(zip(names, leaves[n:])), tuple(leaves[:n]))
            out = out[0] if isinstance(out, tuple) else out
            r = np.random.default_rng(3).standard_normal(tuple(out.shape))  # the same r for both
            return (out ** 2 * wrap(r)).sum()
        return f

    directions = [rng.standard_normal(a.shape) for a in inputs + values]
    _, got = ag.functional.hvp(scalar(lambda a: ag.tensor(a, dtype=ag.float64), ours, functional_call),
                               tuple(ag.tensor(a, dtype=ag.float64) for a in inputs + values),
                               tuple(ag.tensor(d, dtype=ag.float64) for d in directions))
    _, expected = torch.autograd.functional.hvp(scalar(torch.tensor, theirs, torch.func.functional_call),
                                                tuple(torch.tensor(a) for a in inputs + values),
                                                tuple(torch.tensor(d) for d in directions))
    assert len(got) == len(expected)
    for i, (a, b) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-8, atol=1e-10, err_msg=f"leaf {i}")
