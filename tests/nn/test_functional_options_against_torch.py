"""nn.functional ops and losses across their options against PyTorch, in float64:
forward values, first derivatives (input, weights, targets) and second derivatives
(a Hessian-vector product through ``ag.grad(create_graph=True)``), from small seeded
random configurations; plus the option combinations and edge inputs where topograd
and PyTorch once disagreed, and the errors a wrong call gets."""
import math
import zlib

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

# PyTorch warns that its own 'same' padding with an even kernel copies the input
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")


def _rng(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


def _pick(rng, *options):
    return options[rng.integers(len(options))]


def _numpy(t, shape):
    if t is None:
        return np.zeros(shape)
    if isinstance(t, ag.Tensor):
        return t.numpy()
    return t.detach().numpy(force=True)  # force: PyTorch's gradient may be a lazy ZeroTensor


def _assert_all_close(ours, theirs, shapes, rtol, atol, what):
    for i, (a, b, shape) in enumerate(zip(ours, theirs, shapes)):
        np.testing.assert_allclose(_numpy(a, shape), _numpy(b, shape), rtol=rtol, atol=atol,
                                   err_msg=f"{what} of input {i}")


def _assert_matches_torch(torch, ours, theirs, arrays, second_order=True, seed=0):
    """``ours(*tensors)`` and ``theirs(*torch_tensors)`` over float64 copies of ``arrays``
    (all differentiable) agree in shape and value, in the gradients of sum(out * r) and,
    with ``second_order``, in the gradients of sum(grads * v) (r, v random)."""
    xo = [ag.tensor(a, dtype=ag.float64, requires_grad=True) for a in arrays]
    xt = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out, ref = ours(*xo), theirs(*xt)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    rng = np.random.default_rng(seed)
    r = rng.standard_normal(tuple(ref.shape))
    shapes = [a.shape for a in arrays]
    go = ag.grad((out * ag.tensor(r, dtype=ag.float64)).sum(), xo, create_graph=second_order, allow_unused=True)
    gt = torch.autograd.grad((ref * torch.from_numpy(r)).sum(), xt, create_graph=second_order, allow_unused=True)
    _assert_all_close(go, gt, shapes, 1e-10, 1e-12, "gradient")
    if not second_order:
        return
    vs = [rng.standard_normal(shape) for shape in shapes]
    so = [(g * ag.tensor(v, dtype=ag.float64)).sum() for g, v in zip(go, vs) if g is not None and g.requires_grad]
    st = [(g * torch.from_numpy(v)).sum() for g, v in zip(gt, vs) if g is not None and g.requires_grad]
    if not so and not st:
        return
    ho = ag.grad(sum(so[1:], so[0]), xo, allow_unused=True) if so else [None] * len(xo)
    ht = torch.autograd.grad(sum(st[1:], st[0]), xt, allow_unused=True) if st else [None] * len(xt)
    _assert_all_close(ho, ht, shapes, 1e-8, 1e-10, "second derivative")


def _distinct(rng, shape):
    """Values at least 0.1 apart, so no window of a max pool holds a tie."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 - n * 0.05 + rng.uniform(0, 0.01, n)).reshape(shape)


# --- problems found by the differential fuzz --------------------------------------------

def test_huber_loss_second_derivative_at_zero_residual_is_one_like_torch(device, torch):
    # 0.5 d^2 near d = 0 is smooth: its second derivative there is 1, in x and in the target
    x, y = np.array([0.0, 0.3, -2.0]), np.array([0.0, 0.0, 0.0])
    for reduction in ("none", "sum"):
        _assert_matches_torch(torch, lambda a, b: F.huber_loss(a, b, reduction=reduction),
                              lambda a, b: torch.nn.functional.huber_loss(a, b, reduction=reduction), [x, y])
    xo = ag.tensor([0.0], dtype=ag.float64, requires_grad=True)
    g, = ag.grad(F.huber_loss(xo, ag.zeros(1, dtype=ag.float64), reduction="sum"), [xo], create_graph=True)
    hessian, = ag.grad(g.sum(), [xo])
    assert hessian.numpy().tolist() == [1.0]


def test_huber_loss_second_derivative_at_delta_takes_the_linear_branch_like_torch(device, torch):
    x = np.array([0.7, -0.7, 1.5, 0.2])
    _assert_matches_torch(torch, lambda a: F.huber_loss(a, ag.zeros(4, dtype=ag.float64), reduction="none",
                                                        delta=0.7),
                          lambda a: torch.nn.functional.huber_loss(a, torch.zeros(4, dtype=torch.float64),
                                                                   reduction="none", delta=0.7), [x])


@pytest.mark.parametrize("ignore_index", [0, 2])
def test_cross_entropy_probability_targets_refuse_a_class_ignore_index_like_torch(device, torch, ignore_index):
    # PyTorch refuses a class ignore_index with float targets, where it can mean nothing;
    # silently dropping it hides a mistake
    x, t = np.zeros((2, 3)), np.full((2, 3), 1 / 3)
    with pytest.raises(RuntimeError, match="ignore_index is not supported"):
        torch.nn.functional.cross_entropy(torch.from_numpy(x), torch.from_numpy(t), ignore_index=ignore_index)
    with pytest.raises(ValueError, match="cross_entropy: ignore_index"):
        F.cross_entropy(ag.tensor(x), ag.tensor(t), ignore_index=ignore_index)


def test_cross_entropy_probability_targets_take_a_negative_ignore_index_like_torch(device, torch):
    x, t = _rng("ce-neg-ignore").standard_normal((2, 3)), np.full((2, 3), 1 / 3)
    _assert_matches_torch(torch, lambda a: F.cross_entropy(a, ag.tensor(t, dtype=ag.float64), ignore_index=-1),
                          lambda a: torch.nn.functional.cross_entropy(a, torch.from_numpy(t), ignore_index=-1), [x])


@pytest.mark.parametrize("shape", [(1, 1, 0, 4), (2, 3, 5, 0), (1, 0, 0)])
def test_adaptive_avg_pool2d_of_an_empty_plane_raises_a_clear_error(device, torch, shape):
    with pytest.raises(RuntimeError, match="non-zero size"):
        torch.nn.functional.adaptive_avg_pool2d(torch.zeros(shape), 2)
    with pytest.raises(ValueError, match="adaptive_avg_pool2d: .*height and width"):
        F.adaptive_avg_pool2d(ag.zeros(shape), 2)


@pytest.mark.parametrize("shape, axis", [((2, 0), 1), ((0,), 0), ((3, 0, 2), 1)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_along_an_empty_axis_is_empty_like_torch(device, torch, name, shape, axis):
    _assert_matches_torch(torch, lambda a: getattr(F, name)(a, axis),
                          lambda a: getattr(torch.nn.functional, name)(a, axis), [np.zeros(shape)])


BAD_BCE_WEIGHTS = {
    "bce-weight-mismatch": lambda x, w: F.binary_cross_entropy(x, x, weight=w),
    "bce-with-logits-weight-mismatch": lambda x, w: F.binary_cross_entropy_with_logits(x, x, weight=w),
    "bce-with-logits-pos-weight-mismatch": lambda x, w: F.binary_cross_entropy_with_logits(x, x, pos_weight=w),
}


@pytest.mark.parametrize("name", sorted(BAD_BCE_WEIGHTS))
def test_binary_cross_entropy_weight_that_does_not_fit_raises_a_clear_error(device, name):
    x = ag.full((2, 3), 0.5, dtype=ag.float64)
    for bad in ((2,), (4, 2, 3)):  # no broadcast at all; a broadcast that would grow the loss
        with pytest.raises(ValueError, match=r"binary_cross_entropy.*weight of shape .* input's shape \(2, 3\)"):
            BAD_BCE_WEIGHTS[name](x, ag.ones(bad, dtype=ag.float64))


def test_binary_cross_entropy_weight_broadcasting_past_the_input_is_refused_like_torch(device, torch):
    p = np.full((2, 3), 0.5)
    with pytest.raises(RuntimeError):
        torch.nn.functional.binary_cross_entropy(torch.from_numpy(p), torch.from_numpy(p),
                                                 weight=torch.ones((4, 2, 3), dtype=torch.float64), reduction="none")
    with pytest.raises(ValueError, match="does not broadcast"):
        F.binary_cross_entropy(ag.tensor(p), ag.tensor(p), weight=ag.ones((4, 2, 3), dtype=ag.float64),
                               reduction="none")


CEIL_MODE_OVERHANG = [  # one window, by PyTorch's ceil_mode rule, though the kernel outgrows the input
    dict(kernel_size=(2, 3), stride=(1, 2), dilation=2),
    dict(kernel_size=(1, 5), stride=2),
]


@pytest.mark.parametrize("case", range(len(CEIL_MODE_OVERHANG)))
def test_pooling_with_ceil_mode_takes_a_window_past_a_small_input_like_torch(device, torch, case):
    x = _distinct(_rng("ceil overhang"), (1, 2, 4, 4))
    kwargs = dict(CEIL_MODE_OVERHANG[case], ceil_mode=True)
    _assert_matches_torch(torch, lambda a: F.max_pool2d(a, **kwargs),
                          lambda a: torch.nn.functional.max_pool2d(a, **kwargs), [x])
    kwargs.pop("dilation", None)
    for count_include_pad in (True, False):
        _assert_matches_torch(torch, lambda a: F.avg_pool2d(a, count_include_pad=count_include_pad, **kwargs),
                              lambda a: torch.nn.functional.avg_pool2d(a, count_include_pad=count_include_pad,
                                                                       **kwargs), [x])


# --- seeded mini-fuzz: what was verified, pinned ----------------------------------------

def _conv_config(rng):
    groups = int(_pick(rng, 1, 1, 2, 3))
    cin, cout = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    kernel = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    padding = _pick(rng, 0, 1, (1, 2), (0, 1), "same", "valid")
    kwargs = dict(stride=1 if padding == "same" else _pick(rng, 1, 2, (2, 1), (1, 3)), padding=padding,
                  dilation=_pick(rng, 1, (1, 2), (2, 1)), groups=groups)
    x_shape = (int(_pick(rng, 1, 2)), cin, 5 + int(rng.integers(3)), 5 + int(rng.integers(3)))
    if rng.random() < 0.2:
        x_shape = x_shape[1:]
    arrays = [rng.standard_normal(x_shape), rng.standard_normal((cout, cin // groups) + kernel)]
    if rng.random() < 0.5:
        arrays.append(rng.standard_normal(cout))
    return arrays, kwargs


@pytest.mark.parametrize("seed", range(8))
def test_conv2d_option_fuzz_matches_torch_to_second_order(device, torch, seed):
    rng = _rng(f"conv2d {seed}")
    for _ in range(2):
        arrays, kwargs = _conv_config(rng)
        _assert_matches_torch(torch, lambda *a: F.conv2d(*a, **kwargs),
                              lambda *a: torch.nn.functional.conv2d(*a, **kwargs), arrays, seed=seed)


def _pool_config(rng):
    kernel = _pick(rng, 1, 2, 3, (2, 3), (3, 1))
    pair = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    padding = _pick(rng, 0, 1, (1, 0), (0, 1))
    if any(p > k // 2 for p, k in zip(padding if isinstance(padding, tuple) else (padding, padding), pair)):
        padding = 0
    kwargs = dict(kernel_size=kernel, stride=_pick(rng, None, 1, 2, (1, 2), 3), padding=padding,
                  ceil_mode=bool(rng.integers(2)))
    shape = (int(_pick(rng, 1, 2)), int(_pick(rng, 1, 3)), 4 + int(rng.integers(5)), 4 + int(rng.integers(5)))
    return (shape[1:] if rng.random() < 0.2 else shape), kwargs


@pytest.mark.parametrize("seed", range(8))
def test_pooling_option_fuzz_matches_torch_to_second_order(device, torch, seed):
    rng = _rng(f"pool {seed}")
    for _ in range(3):
        shape, kwargs = _pool_config(rng)
        ties = rng.random() < 0.3
        x = np.round(rng.uniform(-1, 1, shape)) if ties else _distinct(rng, shape)
        max_kwargs = dict(kwargs, dilation=_pick(rng, 1, 1, 2, (1, 2)))
        try:
            ref = torch.nn.functional.max_pool2d(torch.from_numpy(x), return_indices=True, **max_kwargs)
        except RuntimeError:  # a dilated kernel past the input: both refuse
            with pytest.raises(ValueError, match="max_pool2d"):
                F.max_pool2d(ag.tensor(x), **max_kwargs)
        else:
            _assert_matches_torch(torch, lambda a: F.max_pool2d(a, **max_kwargs),
                                  lambda a: torch.nn.functional.max_pool2d(a, **max_kwargs), [x], seed=seed)
            _, indices = F.max_pool2d(ag.tensor(x), return_indices=True, **max_kwargs)
            np.testing.assert_array_equal(indices.numpy(), ref[1].numpy())
        avg_kwargs = dict(kwargs, count_include_pad=bool(rng.integers(2)), divisor_override=_pick(rng, None, None, 3))
        _assert_matches_torch(torch, lambda a: F.avg_pool2d(a, **avg_kwargs),
                              lambda a: torch.nn.functional.avg_pool2d(a, **avg_kwargs), [x], seed=seed)


@pytest.mark.parametrize("output_size", [1, 2, 3, (2, 3), (None, 2), (3, None), (5, 4), 7])
def test_adaptive_avg_pool2d_fuzz_matches_torch_to_second_order(device, torch, output_size):
    rng = _rng(f"adaptive {output_size}")
    shape = (int(_pick(rng, 1, 2)), 2, 1 + int(rng.integers(8)), 1 + int(rng.integers(8)))
    _assert_matches_torch(torch, lambda a: F.adaptive_avg_pool2d(a, output_size),
                          lambda a: torch.nn.functional.adaptive_avg_pool2d(a, output_size),
                          [rng.standard_normal(shape)])


@pytest.mark.parametrize("seed", range(6))
def test_batch_norm_functional_fuzz_matches_torch_with_running_stats(device, torch, seed):
    rng = _rng(f"batch_norm {seed}")
    for _ in range(3):
        c = int(rng.integers(1, 4))
        shape = (int(rng.integers(2, 4)), c) + tuple(int(rng.integers(1, 4)) for _ in range(int(rng.integers(3))))
        training, momentum, eps = bool(rng.integers(2)), _pick(rng, 0.1, 0.0, 1.0, 0.37), _pick(rng, 1e-5, 0.5)
        affine = int(rng.integers(3))  # 0: none, 1: weight, 2: weight and bias
        arrays = [rng.standard_normal(shape) * 2 + 1] + [rng.standard_normal(c) for _ in range(affine)]
        mean, var = rng.standard_normal(c), rng.uniform(0.5, 2, c)
        ours_stats = [ag.tensor(mean, dtype=ag.float64), ag.tensor(var, dtype=ag.float64)]
        theirs_stats = [torch.tensor(mean), torch.tensor(var)]
        _assert_matches_torch(
            torch, lambda x, *wb: F.batch_norm(x, *ours_stats, *wb, training=training, momentum=momentum, eps=eps),
            lambda x, *wb: torch.nn.functional.batch_norm(x, *theirs_stats, *wb, training=training, momentum=momentum,
                                                          eps=eps), arrays, seed=seed)
        for o, t in zip(ours_stats, theirs_stats):
            np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("momentum", [0.1, None, 0.5])
@pytest.mark.parametrize("two_d", [False, True])
def test_batch_norm_layers_over_several_steps_match_torch(device, torch, momentum, two_d):
    rng = _rng(f"BatchNorm {momentum} {two_d}")
    for affine, track in ((True, True), (False, True), (True, False)):
        kwargs = dict(eps=1e-3, momentum=momentum, affine=affine, track_running_stats=track)
        ours = (nn.BatchNorm2d if two_d else nn.BatchNorm1d)(3, dtype=ag.float64, **kwargs)
        theirs = (torch.nn.BatchNorm2d if two_d else torch.nn.BatchNorm1d)(3, dtype=torch.float64, **kwargs)
        if affine:
            w, b = rng.standard_normal(3), rng.standard_normal(3)
            with ag.no_grad(), torch.no_grad():
                ours.weight.copy_(ag.tensor(w, dtype=ag.float64))
                ours.bias.copy_(ag.tensor(b, dtype=ag.float64))
                theirs.weight.copy_(torch.from_numpy(w))
                theirs.bias.copy_(torch.from_numpy(b))
        for step, training in enumerate((True, True, True, False, True)):
            ours.train(training)
            theirs.train(training)
            n = 1 if two_d and step == 2 else 2 + step % 2  # a one-sample batch with 2x2 planes
            shape = (n, 3, 2, 2) if two_d else ((n, 3) if step % 2 else (n, 3, 2))
            _assert_matches_torch(torch, ours, theirs, [rng.standard_normal(shape) * 3], second_order=False)
            for (name, o), (_, t) in zip(ours.named_buffers(), theirs.named_buffers()):
                if t is not None:
                    np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("seed", range(4))
def test_layer_norm_and_linear_fuzz_match_torch_to_second_order(device, torch, seed):
    rng = _rng(f"layer_norm linear {seed}")
    for _ in range(3):
        shape = tuple(int(rng.integers(1, 4)) for _ in range(int(rng.integers(1, 4))))
        normalized = shape[len(shape) - int(rng.integers(1, len(shape) + 1)):]
        eps = _pick(rng, 1e-5, 0.1)
        arrays = [rng.standard_normal(shape)] + [rng.standard_normal(normalized) for _ in range(int(rng.integers(3)))]
        _assert_matches_torch(torch, lambda x, *wb: F.layer_norm(x, normalized, *wb, eps=eps),
                              lambda x, *wb: torch.nn.functional.layer_norm(x, normalized, *wb, eps=eps), arrays)
        fin, fout = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        x_shape = tuple(int(rng.integers(1, 4)) for _ in range(int(rng.integers(4)))) + (fin,)
        arrays = [rng.standard_normal(x_shape), rng.standard_normal((fout, fin))]
        arrays += [rng.standard_normal(fout)] if rng.random() < 0.5 else []
        _assert_matches_torch(torch, F.linear, torch.nn.functional.linear, arrays)



@pytest.mark.parametrize("x_shape, w_shape, b_shape", [
    ((6, 4), (4,), None), ((4,), (4,), None), ((2, 6, 4), (4,), None), ((2, 6, 4), (4,), ()), ((4,), (4,), ()),
    ((6, 4), (3, 4), ()), ((6, 4), (3, 4), (1,)), ((4,), (3, 4), ()), ((6, 4), (3, 4), (6, 3)),
    ((2, 6, 4), (3, 4), (6, 3)), ((2, 6, 4), (3, 4), (1, 3))])
def test_linear_takes_a_vector_weight_and_a_broadcast_bias_like_torch(device, torch, x_shape, w_shape, b_shape):
    # PyTorch documents a weight of (in_features,) (the output loses its last axis) and a bias
    # that broadcasts to the output, () among them; topograd refused both.
    rng = _rng(f"linear shapes {x_shape} {w_shape} {b_shape}")
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    arrays += [] if b_shape is None else [rng.standard_normal(b_shape)]
    _assert_matches_torch(torch, F.linear, torch.nn.functional.linear, arrays)


@pytest.mark.parametrize("x_shape, w_shape, b_shape, match", [
    ((6, 4), (3, 4), (6,), r"bias must have shape \(3,\) or broadcast to the output's \(6, 3\), got \(6,\)"),
    ((4,), (3, 4), (6, 3), r"bias must have shape \(3,\) or broadcast to the output's \(3,\), got \(6, 3\)"),
    ((6, 4), (4,), (1,), r"a weight of shape \(4,\) takes a bias of shape \(\), got \(1,\)"),
    ((6, 4), (2, 3, 4), None, r"weight must be 2-D \(out_features, in_features\) or 1-D \(in_features,\)"),
    ((6, 3), (4,), None, r"the weight \(4,\) expects 4")])
def test_linear_refuses_a_bias_or_weight_that_does_not_fit(device, torch, x_shape, w_shape, b_shape, match):
    tensors = [ag.ones(x_shape, dtype=ag.float64), ag.ones(w_shape, dtype=ag.float64)]
    tensors += [] if b_shape is None else [ag.ones(b_shape, dtype=ag.float64)]
    with pytest.raises(ValueError, match=match):
        F.linear(*tensors)
    with pytest.raises(RuntimeError):  # PyTorch refuses them too
        torch.nn.functional.linear(*(torch.ones(t.shape, dtype=torch.float64) for t in tensors))

ACTIVATIONS = {
    "relu": (F.relu, lambda t, x: t.relu(x)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.3), lambda t, x: t.nn.functional.leaky_relu(x, 0.3)),
    "leaky_relu-negative-slope": (lambda x: F.leaky_relu(x, -0.5), lambda t, x: t.nn.functional.leaky_relu(x, -0.5)),
    "leaky_relu-slope-above-1": (lambda x: F.leaky_relu(x, 2.0), lambda t, x: t.nn.functional.leaky_relu(x, 2.0)),
    "elu": (lambda x: F.elu(x, 0.7), lambda t, x: t.nn.functional.elu(x, 0.7)),
    "elu-negative-alpha": (lambda x: F.elu(x, -0.5), lambda t, x: t.nn.functional.elu(x, -0.5)),
    "gelu": (F.gelu, lambda t, x: t.nn.functional.gelu(x)),
    "gelu-tanh": (lambda x: F.gelu(x, approximate="tanh"), lambda t, x: t.nn.functional.gelu(x, approximate="tanh")),
    "sigmoid": (F.sigmoid, lambda t, x: t.sigmoid(x)),
    "tanh": (F.tanh, lambda t, x: t.tanh(x)),
    "softplus": (F.softplus, lambda t, x: t.nn.functional.softplus(x)),
    "softplus-beta-threshold": (lambda x: F.softplus(x, 2.0, 1.0), lambda t, x: t.nn.functional.softplus(x, 2.0, 1.0)),
    "softplus-small-beta": (lambda x: F.softplus(x, 0.5, 3.0), lambda t, x: t.nn.functional.softplus(x, 0.5, 3.0)),
    "softplus-negative-beta": (lambda x: F.softplus(x, -1.0), lambda t, x: t.nn.functional.softplus(x, -1.0)),
    "softmax-0": (lambda x: F.softmax(x, 0), lambda t, x: t.softmax(x, 0)),
    "softmax-last": (lambda x: F.softmax(x, -1), lambda t, x: t.softmax(x, -1)),
    "log_softmax-0": (lambda x: F.log_softmax(x, 0), lambda t, x: t.log_softmax(x, 0)),
    "log_softmax-last": (lambda x: F.log_softmax(x, -1), lambda t, x: t.log_softmax(x, -1)),
}
# kinks and thresholds (0, softplus's beta * x = threshold), far tails and near-zeros
SPECIAL_POINTS = np.array([0.0, -0.0, 1.0, -1.0, 0.5, 20.0, 19.999, 20.001, 1e-8, -1e-8, 40.0, -40.0, 800.0, -800.0])


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_fuzz_matches_torch(device, torch, name):
    ours, theirs = ACTIVATIONS[name]
    rng = _rng(name)
    # first order at the special points, where PyTorch picks a subgradient at each kink
    _assert_matches_torch(torch, ours, lambda x: theirs(torch, x), [SPECIAL_POINTS], second_order=False)
    for shape in ((), (7,), (2, 3, 2)):
        _assert_matches_torch(torch, ours, lambda x: theirs(torch, x), [rng.standard_normal(shape) * 3])


def _class_loss_config(rng):
    c = int(rng.integers(1, 5))
    n = int(rng.integers(1, 4))
    x_shape = _pick(rng, (c,), (n, c), (n, c, int(rng.integers(1, 4))), (n, c, 2, int(rng.integers(1, 3))))
    t_shape = () if len(x_shape) == 1 else x_shape[:1] + x_shape[2:]
    ignore_index = _pick(rng, -100, 0, 1, -1)
    target = rng.integers(0, c, t_shape)
    if target.size and rng.random() < 0.5:
        target.reshape(-1)[0] = ignore_index
    weight = rng.uniform(0.1, 2, c) if rng.random() < 0.5 else None
    return x_shape, target, weight, ignore_index


@pytest.mark.parametrize("seed", range(8))
def test_cross_entropy_and_nll_fuzz_match_torch_to_second_order(device, torch, seed):
    rng = _rng(f"class losses {seed}")
    for _ in range(3):
        x_shape, target, weight, ignore_index = _class_loss_config(rng)
        reduction, smoothing = _pick(rng, "mean", "sum", "none"), _pick(rng, 0.0, 0.1, 0.5, 1.0)
        x = rng.standard_normal(x_shape) * _pick(rng, 1, 5)
        wo = None if weight is None else ag.tensor(weight, dtype=ag.float64)
        wt = None if weight is None else torch.from_numpy(weight)
        kwargs = dict(ignore_index=ignore_index, reduction=reduction)
        _assert_matches_torch(
            torch, lambda a: F.cross_entropy(a, ag.tensor(target), weight=wo, label_smoothing=smoothing, **kwargs),
            lambda a: torch.nn.functional.cross_entropy(a, torch.from_numpy(target), weight=wt,
                                                        label_smoothing=smoothing, **kwargs), [x], seed=seed)
        _assert_matches_torch(torch, lambda a: F.nll_loss(a, ag.tensor(target), weight=wo, **kwargs),
                              lambda a: torch.nn.functional.nll_loss(a, torch.from_numpy(target), weight=wt, **kwargs),
                              [x], seed=seed)
        probabilities = np.moveaxis(rng.dirichlet(np.ones(x_shape[0 if len(x_shape) == 1 else 1]),
                                                  x_shape[:1] + x_shape[2:] if len(x_shape) > 1 else ()),
                                    -1, 0 if len(x_shape) == 1 else 1)
        _assert_matches_torch(
            torch, lambda a, p: F.cross_entropy(a, p, weight=wo, label_smoothing=smoothing, reduction=reduction),
            lambda a, p: torch.nn.functional.cross_entropy(a, p, weight=wt, label_smoothing=smoothing,
                                                           reduction=reduction),
            [x, np.ascontiguousarray(probabilities)], seed=seed)


@pytest.mark.parametrize("seed", range(6))
def test_elementwise_loss_fuzz_matches_torch_to_second_order_in_input_and_target(device, torch, seed):
    rng = _rng(f"elementwise losses {seed}")
    for _ in range(2):
        shape, reduction = _pick(rng, (), (3,), (2, 3), (2, 1, 3)), _pick(rng, "mean", "sum", "none")
        x, y = rng.standard_normal(shape) * 2, rng.standard_normal(shape)
        delta = _pick(rng, 1.0, 0.5, 2.0)
        for ours, theirs in ((F.mse_loss, torch.nn.functional.mse_loss), (F.l1_loss, torch.nn.functional.l1_loss)):
            _assert_matches_torch(torch, lambda a, b: ours(a, b, reduction=reduction),
                                  lambda a, b: theirs(a, b, reduction=reduction), [x, y], seed=seed)
        _assert_matches_torch(torch, lambda a, b: F.huber_loss(a, b, reduction=reduction, delta=delta),
                              lambda a, b: torch.nn.functional.huber_loss(a, b, reduction=reduction, delta=delta),
                              [x, y], seed=seed)
        weight_shape = _pick(rng, None, shape, shape[-1:])
        weight = None if weight_shape is None else rng.uniform(0.1, 2, weight_shape)
        wo = None if weight is None else ag.tensor(weight, dtype=ag.float64)
        wt = None if weight is None else torch.from_numpy(weight)
        p, t = rng.uniform(0.02, 0.98, shape), rng.uniform(0, 1, shape)
        _assert_matches_torch(torch, lambda a, b: F.binary_cross_entropy(a, b, weight=wo, reduction=reduction),
                              lambda a, b: torch.nn.functional.binary_cross_entropy(a, b, weight=wt,
                                                                                     reduction=reduction),
                              [p, t], seed=seed)
        pos = _pick(rng, None, shape[-1:], shape)
        pos = None if pos is None else rng.uniform(0.1, 3, pos)
        po = None if pos is None else ag.tensor(pos, dtype=ag.float64)
        pt = None if pos is None else torch.from_numpy(pos)
        _assert_matches_torch(
            torch, lambda a, b: F.binary_cross_entropy_with_logits(a, b, weight=wo, reduction=reduction, pos_weight=po),
            lambda a, b: torch.nn.functional.binary_cross_entropy_with_logits(a, b, weight=wt, reduction=reduction,
                                                                              pos_weight=pt),
            [rng.standard_normal(shape) * 4, t], seed=seed)


@pytest.mark.parametrize("seed", range(4))
def test_embedding_option_fuzz_matches_torch(device, torch, seed):
    rng = _rng(f"embedding {seed}")
    for _ in range(6):
        rows, dim = int(rng.integers(1, 6)), int(rng.integers(1, 4))
        indices = rng.integers(0, rows, _pick(rng, (), (4,), (2, 3), (0,)))
        kwargs = dict(padding_idx=_pick(rng, None, 0, -1, rows - 1), max_norm=_pick(rng, None, 0.5, 2.0),
                      norm_type=_pick(rng, 2.0, 1.0, 3.0, math.inf), scale_grad_by_freq=bool(rng.integers(2)))
        w = rng.standard_normal((rows, dim))
        wo, wt = ag.tensor(w, dtype=ag.float64, requires_grad=True), torch.tensor(w, requires_grad=True)
        out, ref = F.embedding(ag.tensor(indices), wo, **kwargs), torch.nn.functional.embedding(
            torch.from_numpy(indices), wt, **kwargs)
        assert out.shape == tuple(ref.shape)
        np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(wo.numpy(), wt.detach().numpy(), rtol=1e-12, atol=1e-15)  # max_norm renorms
        r = rng.standard_normal(out.shape)
        (out * ag.tensor(r, dtype=ag.float64)).sum().backward()
        (ref * torch.from_numpy(r)).sum().backward()
        np.testing.assert_allclose(_numpy(wo.grad, w.shape), _numpy(wt.grad, w.shape), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_dropout_at_p_0_and_1_is_exact_like_torch(device, torch, p):
    x = _rng("dropout").standard_normal((3, 4))
    _assert_matches_torch(torch, lambda a: F.dropout(a, p), lambda a: torch.nn.functional.dropout(a, p), [x])
    xo = ag.tensor(x, dtype=ag.float64)
    assert F.dropout(xo, 0.5, training=False) is xo


def _f64(a):
    return ag.tensor(np.asarray(a, dtype=np.float64), dtype=ag.float64)


X23 = np.arange(6.0).reshape(2, 3) / 7
# name: (ours, torch's, the error we raise, what its message names); torch refuses each too
WRONG_CALLS = {
    "conv2d-rank": (lambda: F.conv2d(_f64(np.ones((3, 3))), _f64(np.ones((1, 1, 2, 2)))),
                    lambda T: T.nn.functional.conv2d(T.ones(3, 3), T.ones(1, 1, 2, 2)), ValueError, "conv2d"),
    "conv2d-channels": (lambda: F.conv2d(_f64(np.ones((1, 2, 3, 3))), _f64(np.ones((1, 1, 2, 2)))),
                        lambda T: T.nn.functional.conv2d(T.ones(1, 2, 3, 3), T.ones(1, 1, 2, 2)), ValueError,
                        "2 channels"),
    "conv2d-same-strided": (lambda: F.conv2d(_f64(np.ones((1, 1, 3, 3))), _f64(np.ones((1, 1, 2, 2))), stride=2,
                                             padding="same"),
                            lambda T: T.nn.functional.conv2d(T.ones(1, 1, 3, 3), T.ones(1, 1, 2, 2), stride=2,
                                                             padding="same"), ValueError, "same"),
    "conv2d-kernel-too-big": (lambda: F.conv2d(_f64(np.ones((1, 1, 2, 2))), _f64(np.ones((1, 1, 3, 3)))),
                              lambda T: T.nn.functional.conv2d(T.ones(1, 1, 2, 2), T.ones(1, 1, 3, 3)), ValueError,
                              "kernel"),
    "max_pool2d-padding": (lambda: F.max_pool2d(_f64(np.ones((1, 1, 4, 4))), 2, padding=2),
                           lambda T: T.nn.functional.max_pool2d(T.ones(1, 1, 4, 4), 2, padding=2), ValueError,
                           "half the kernel"),
    "cross_entropy-target-out-of-range": (lambda: F.cross_entropy(_f64(X23), ag.tensor([0, 3])),
                                          lambda T: T.nn.functional.cross_entropy(T.ones(2, 3), T.tensor([0, 3])),
                                          ValueError, "target 3 is out of bounds"),
    "cross_entropy-float-class-targets": (lambda: F.cross_entropy(_f64(X23), _f64([0, 1])),
                                          lambda T: T.nn.functional.cross_entropy(T.ones(2, 3), T.tensor([0.0, 1.0])),
                                          TypeError, "class-index targets must be integers"),
    "cross_entropy-target-shape": (lambda: F.cross_entropy(_f64(X23), ag.tensor([[0], [1]])),
                                   lambda T: T.nn.functional.cross_entropy(T.ones(2, 3), T.tensor([[0], [1]])),
                                   ValueError, "target of shape"),
    "nll_loss-float-target": (lambda: F.nll_loss(_f64(X23), _f64([0, 1])),
                              lambda T: T.nn.functional.nll_loss(T.ones(2, 3), T.tensor([0.0, 1.0])), TypeError,
                              "integers"),
    "binary_cross_entropy-not-probabilities": (
        lambda: F.binary_cross_entropy(_f64(X23 * 3), _f64(X23)),
        lambda T: T.nn.functional.binary_cross_entropy(T.ones(2, 3) * 2, T.ones(2, 3)), ValueError, "probabilities"),
    "linear-features": (lambda: F.linear(_f64(X23), _f64(np.ones((4, 2)))),
                        lambda T: T.nn.functional.linear(T.ones(2, 3), T.ones(4, 2)), ValueError, "last axis"),
    "layer_norm-shape": (lambda: F.layer_norm(_f64(X23), (2,)),
                         lambda T: T.nn.functional.layer_norm(T.ones(2, 3), (2,)), ValueError, "normalized_shape"),
    "batch_norm-running-shape": (lambda: F.batch_norm(_f64(np.ones((2, 3))), _f64(np.ones(2)), _f64(np.ones(2))),
                                 lambda T: T.nn.functional.batch_norm(T.ones(2, 3), T.ones(2), T.ones(2)),
                                 ValueError, "running_mean"),
    "embedding-out-of-range": (lambda: F.embedding(ag.tensor([0, 3]), _f64(np.ones((3, 2)))),
                               lambda T: T.nn.functional.embedding(T.tensor([0, 3]), T.ones(3, 2)), IndexError,
                               "index 3"),
    "embedding-float-indices": (lambda: F.embedding(_f64([0.0, 1.0]), _f64(np.ones((3, 2)))),
                                lambda T: T.nn.functional.embedding(T.tensor([0.0, 1.0]), T.ones(3, 2)), TypeError,
                                "integer dtype"),
    "softmax-axis": (lambda: F.softmax(_f64(X23), 2), lambda T: T.softmax(T.ones(2, 3), 2), ValueError, "axis 2"),
}


@pytest.mark.parametrize("name", sorted(WRONG_CALLS))
def test_wrong_calls_raise_clear_errors_where_torch_refuses(device, torch, name):
    ours, theirs, error, message = WRONG_CALLS[name]
    with pytest.raises(Exception):
        theirs(torch)
    with pytest.raises(error, match=message):
        ours()
