"""The nn pieces added for PyTorch users (RReLU, Bilinear, ChannelShuffle, LPPool1d/2d/3d,
pdist and gumbel_softmax) against PyTorch 2.13: values and gradients in float64, each
layer's parameters (names, shapes, initialization bounds, state_dict keys) and repr,
the random ones (rrelu in training, gumbel_softmax) by their distributions and by the
gradient of the noise they drew, and their errors. EmbeddingBag has its own file."""
import math

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

from tests.torch_versions import needs_torch

from .torch_compare import float64_leaves, named_rng


def assert_same(ours, theirs, rtol=1e-10, atol=1e-12):
    theirs = theirs.detach().numpy()
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=rtol, atol=atol)


def backward_both(torch, ours, theirs, seed=0):
    """Backpropagate the same random output gradient through both results."""
    g = np.random.default_rng(seed).standard_normal(tuple(theirs.shape))
    ours.backward(ag.tensor(g, dtype=ag.float64))
    theirs.backward(torch.from_numpy(g))


# --- rrelu ---------------------------------------------------------------------------------

def test_rrelu_in_eval_mode_is_the_leaky_relu_of_the_mean_slope_as_pytorch(device, torch):
    x = np.array([-3.0, -1.0, -0.25, -0.0, 0.0, 0.5, 2.0])
    for lower, upper in ((1 / 8, 1 / 3), (0.1, 0.1), (0.0, 0.9)):
        xo, xt = float64_leaves(torch, x)
        yo, yt = F.rrelu(xo, lower, upper), torch.nn.functional.rrelu(xt, lower, upper)
        assert_same(yo, yt)
        backward_both(torch, yo, yt)
        assert_same(xo.grad, xt.grad)  # the slope at 0 too
        layer, reference = nn.RReLU(lower, upper).eval(), torch.nn.RReLU(lower, upper).eval()
        assert_same(layer(ag.tensor(x)), reference(torch.tensor(x)))


def test_rrelu_in_training_draws_one_slope_per_negative_element_and_its_gradient_is_that_slope(device):
    lower, upper = 0.2, 0.6
    x = ag.tensor(-np.linspace(0.5, 2.0, 20000), requires_grad=True)
    y = F.rrelu(x, lower, upper, training=True)
    y.sum().backward()
    slopes = y.numpy() / x.numpy()
    np.testing.assert_allclose(x.grad.numpy(), slopes, rtol=1e-12)
    assert slopes.min() >= lower and slopes.max() < upper
    # U(0.2, 0.6): mean 0.4, variance 0.4^2 / 12; quartiles at 0.3 and 0.5
    assert abs(slopes.mean() - 0.4) < 0.005
    assert abs(slopes.var() - 0.16 / 12) < 0.0005
    assert abs(np.mean(slopes < 0.3) - 0.25) < 0.015
    assert len(np.unique(slopes)) > 19000  # one draw each


def test_rrelu_in_training_keeps_positive_values_and_is_seeded(device):
    x = np.array([-2.0, -1.0, 0.0, 1.0, 3.0, np.nan])
    ag.manual_seed(3)
    first = F.rrelu(ag.tensor(x), training=True).numpy()
    ag.manual_seed(3)
    again = F.rrelu(ag.tensor(x), training=True).numpy()
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first[2:5], [0.0, 1.0, 3.0])
    assert np.isnan(first[5])
    assert not np.array_equal(first[:2], F.rrelu(ag.tensor(x), training=True).numpy()[:2])


def test_rrelu_layer_follows_train_and_eval_and_writes_in_place_when_asked(device, torch):
    layer = nn.RReLU(0.1, 0.3, inplace=True)
    assert repr(layer) == repr(torch.nn.RReLU(0.1, 0.3, inplace=True))
    assert repr(layer) == "RReLU(lower=0.1, upper=0.3, inplace=True)"
    assert repr(nn.RReLU()) == repr(torch.nn.RReLU())
    x = ag.tensor([-1.0, 2.0])
    assert layer(x) is x and 0.1 <= -x.numpy()[0] < 0.3
    layer.eval()
    x = ag.tensor([-1.0, 2.0])
    y = layer(x)
    assert y is x
    np.testing.assert_allclose(x.numpy(), [-0.2, 2.0])
    leaf = ag.tensor([-1.0, 2.0], dtype=ag.float64, requires_grad=True)
    h = leaf * 1.0
    F.rrelu(h, 0.1, 0.3, training=True, inplace=True).sum().backward()
    assert 0.1 <= leaf.grad.numpy()[0] < 0.3 and leaf.grad.numpy()[1] == 1.0


def test_rrelu_refuses_bad_arguments():
    with pytest.raises(ValueError, match="lower must be at most upper"):
        F.rrelu(ag.tensor([1.0]), 0.5, 0.25)
    with pytest.raises(ValueError, match="lower must be at most upper"):
        nn.RReLU(0.5, 0.25)
    with pytest.raises(TypeError, match="floating point"):
        F.rrelu(ag.tensor([1, 2]))


# --- bilinear ------------------------------------------------------------------------------

@pytest.mark.parametrize("lead", [(5,), (2, 3), ()])
def test_bilinear_matches_pytorch_with_gradients_for_every_operand(device, torch, lead):
    rng = named_rng(f"bilinear{lead}")
    x1o, x1t = float64_leaves(torch, rng.standard_normal(lead + (3,)))
    x2o, x2t = float64_leaves(torch, rng.standard_normal(lead + (4,)))
    wo, wt = float64_leaves(torch, rng.standard_normal((2, 3, 4)))
    bo, bt = float64_leaves(torch, rng.standard_normal(2))
    yo, yt = F.bilinear(x1o, x2o, wo, bo), torch.nn.functional.bilinear(x1t, x2t, wt, bt)
    assert_same(yo, yt)
    backward_both(torch, yo, yt)
    for ours, theirs in ((x1o, x1t), (x2o, x2t), (wo, wt), (bo, bt)):
        assert_same(ours.grad, theirs.grad)
    assert_same(F.bilinear(x1o, x2o, wo), torch.nn.functional.bilinear(x1t, x2t, wt))


def test_bilinear_second_derivatives(device):
    rng = named_rng("bilinear-gradgrad")
    inputs = [ag.tensor(rng.standard_normal(s), dtype=ag.float64, requires_grad=True)
              for s in ((2, 3), (2, 2), (4, 3, 2), (4,))]
    assert ag.gradcheck(F.bilinear, inputs) and ag.gradgradcheck(F.bilinear, inputs)


def test_bilinear_layer_has_pytorch_parameters_state_dict_init_and_repr(device, torch):
    layer, reference = nn.Bilinear(20, 3, 4), torch.nn.Bilinear(20, 3, 4)
    ours, theirs = layer.state_dict(), reference.state_dict()
    assert list(ours) == list(theirs) == ["weight", "bias"]
    assert [tuple(v.shape) for v in ours.values()] == [tuple(v.shape) for v in theirs.values()]
    bound = 1 / math.sqrt(20)
    for p in (layer.weight, layer.bias):
        values = p.numpy()
        assert values.min() >= -bound and values.max() <= bound and values.std() > bound / 3
    assert repr(layer) == repr(reference)
    assert repr(nn.Bilinear(2, 3, 4, bias=False)) == repr(torch.nn.Bilinear(2, 3, 4, bias=False))
    assert nn.Bilinear(2, 3, 4, bias=False).bias is None
    layer.load_state_dict({k: v.detach().numpy() for k, v in theirs.items()})
    x1, x2 = np.random.default_rng(0).standard_normal((2, 5, 20)), np.random.default_rng(1).standard_normal((5, 3))
    assert_same(layer(ag.tensor(x1[0], dtype=ag.float32), ag.tensor(x2, dtype=ag.float32)),
                reference(torch.tensor(x1[0], dtype=torch.float32), torch.tensor(x2, dtype=torch.float32)),
                rtol=1e-5, atol=1e-6)


def test_bilinear_refuses_mismatched_shapes():
    w = ag.zeros((2, 3, 4))
    with pytest.raises(ValueError, match="leading axes must agree"):
        F.bilinear(ag.zeros((5, 3)), ag.zeros((6, 4)), w)
    with pytest.raises(ValueError, match="must match the weight"):
        F.bilinear(ag.zeros((5, 4)), ag.zeros((5, 4)), w)
    with pytest.raises(ValueError, match="3-D"):
        F.bilinear(ag.zeros((5, 3)), ag.zeros((5, 4)), ag.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"bias must have shape \(2,\)"):
        F.bilinear(ag.zeros((5, 3)), ag.zeros((5, 4)), w, ag.zeros(3))
    with pytest.raises(TypeError, match="input2 is float64"):
        F.bilinear(ag.zeros((5, 3)), ag.zeros((5, 4), dtype=ag.float64), w)


# --- channel_shuffle -----------------------------------------------------------------------

@pytest.mark.parametrize("shape, groups", [((2, 6, 3), 3), ((1, 8, 2, 3), 2), ((2, 6, 1, 2, 2), 6),
                                           ((2, 4, 5), 1)])
def test_channel_shuffle_matches_pytorch(device, torch, shape, groups):
    x = named_rng(f"shuffle{shape}").standard_normal(shape)
    xo, xt = float64_leaves(torch, x)
    yo, yt = F.channel_shuffle(xo, groups), torch.nn.functional.channel_shuffle(xt, groups)
    assert_same(yo, yt, rtol=0, atol=0)
    backward_both(torch, yo, yt)
    assert_same(xo.grad, xt.grad, rtol=0, atol=0)
    assert_same(nn.ChannelShuffle(groups)(xo), torch.nn.ChannelShuffle(groups)(xt), rtol=0, atol=0)


def test_channel_shuffle_reads_the_groups_out_by_column_and_refuses_bad_arguments(torch):
    np.testing.assert_array_equal(F.channel_shuffle(ag.arange(6.0).reshape(1, 6, 1), 3).numpy().ravel(),
                                  [0, 2, 4, 1, 3, 5])
    assert repr(nn.ChannelShuffle(3)) == repr(torch.nn.ChannelShuffle(3))
    with pytest.raises(ValueError, match="more than 2 dimensions"):
        F.channel_shuffle(ag.zeros((4, 6)), 2)
    with pytest.raises(ValueError, match="divisible by groups"):
        F.channel_shuffle(ag.zeros((1, 5, 4)), 2)
    with pytest.raises(ValueError, match="positive groups"):
        F.channel_shuffle(ag.zeros((1, 4, 4)), 0)
    with pytest.raises(TypeError, match="groups must be an int"):
        F.channel_shuffle(ag.zeros((1, 4, 4)), 2.0)


# --- lp_pool -------------------------------------------------------------------------------

LP_CASES = [
    # (dims, input shape, kernel, stride)
    (1, (2, 3, 9), 3, None),
    (1, (3, 10), 4, 3),
    (2, (2, 2, 7, 6), (3, 2), 2),
    (2, (2, 5, 5), 2, None),
    (3, (1, 2, 5, 6, 4), (2, 3, 2), (2, 2, 1)),
    (3, (2, 4, 5, 5), 2, None),
]


INFINITE_P = needs_torch("2.13", "lp_pool with p=inf or -inf is the max (min) of |x| from 2.13 on")


@pytest.mark.parametrize("norm_type", [1, 2, 3.0, 1.5, pytest.param(math.inf, marks=INFINITE_P),
                                       pytest.param(-math.inf, marks=INFINITE_P)])
@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("case", LP_CASES, ids=lambda c: f"{c[0]}d-{c[1]}")
def test_lp_pool_matches_pytorch_with_gradients(torch, case, norm_type, ceil_mode):
    dims, shape, kernel, stride = case
    rng = named_rng(f"lp{case}{norm_type}{ceil_mode}")
    # positive values (a fractional power of a negative one is NaN), at least 0.1 apart so no max ties
    x = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 + 0.2
    xo, xt = float64_leaves(torch, x)
    ours, theirs = getattr(F, f"lp_pool{dims}d"), getattr(torch.nn.functional, f"lp_pool{dims}d")
    yo, yt = ours(xo, norm_type, kernel, stride, ceil_mode), theirs(xt, norm_type, kernel, stride, ceil_mode)
    assert_same(yo, yt)
    backward_both(torch, yo, yt)
    assert_same(xo.grad, xt.grad)
    layer = getattr(nn, f"LPPool{dims}d")(norm_type, kernel, stride, ceil_mode)
    reference = getattr(torch.nn, f"LPPool{dims}d")(norm_type, kernel, stride, ceil_mode)
    assert repr(layer) == repr(reference)
    assert_same(layer(xo), reference(xt))


@pytest.mark.filterwarnings("ignore:(divide by zero|invalid value):RuntimeWarning")
def test_lp_pool_of_signed_inputs_zero_windows_and_nan_follow_pytorch(device, torch):
    """An integer power keeps the signs (an odd one can make a window's sum negative: NaN
    after the root, as in PyTorch); a window of zeros has value 0 and gradient 0."""
    x = np.array([[[0.0, 0.0, 1.0, -2.0, -0.5, 0.25, 3.0, -1.0]]])
    for p in (1, 2, 3):
        xo, xt = float64_leaves(torch, x)
        yo, yt = F.lp_pool1d(xo, p, 2), torch.nn.functional.lp_pool1d(xt, p, 2)
        np.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), rtol=1e-12, equal_nan=True)
        backward_both(torch, yo, yt)
        np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-12, equal_nan=True)
        assert xo.grad.numpy()[0, 0, 0] == 0.0


def test_lp_pool_second_derivatives(device):
    x = ag.tensor(named_rng("lp-gradgrad").uniform(0.5, 2.0, (1, 2, 4, 4)), dtype=ag.float64, requires_grad=True)
    fn = lambda t: F.lp_pool2d(t, 3, 2)  # noqa: E731
    assert ag.gradcheck(fn, [x]) and ag.gradgradcheck(fn, [x])


def test_lp_pool_refuses_bad_arguments():
    x = ag.ones((1, 2, 6))
    with pytest.raises(ValueError, match="norm_type must be a nonzero number"):
        F.lp_pool1d(x, 0, 2)
    with pytest.raises(TypeError, match="norm_type must be a real number"):
        F.lp_pool1d(x, "2", 2)
    with pytest.raises(ValueError, match="kernel_size must be at least 1"):
        nn.LPPool2d(2, 0)
    with pytest.raises(ValueError, match=r"expected a \(N, C, H, W\) or \(C, H, W\) input"):
        F.lp_pool2d(ag.ones((2, 6)), 2, 2)
    with pytest.raises(TypeError, match="floating point"):
        F.lp_pool1d(ag.ones((1, 2, 6), dtype=ag.int64), 2, 2)


# --- pdist ---------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [2.0, 1.0, 0.5, 3.0, 0.0, math.inf])
def test_pdist_matches_pytorch_with_gradients(device, torch, p):
    x = named_rng(f"pdist{p}").standard_normal((6, 4))
    x[4] = x[1]  # two equal rows: distance 0, gradient 0
    xo, xt = float64_leaves(torch, x)
    yo, yt = F.pdist(xo, p), torch.nn.functional.pdist(xt, p)
    assert_same(yo, yt)
    backward_both(torch, yo, yt)
    assert_same(xo.grad, xt.grad)


def test_pdist_is_the_upper_triangle_row_by_row_and_handles_few_rows(device, torch):
    x = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    np.testing.assert_allclose(F.pdist(ag.tensor(x)).numpy(), [5.0, 10.0, 5.0])
    for rows in (0, 1):
        xo, xt = float64_leaves(torch, np.ones((rows, 3)))
        assert_same(F.pdist(xo), torch.nn.functional.pdist(xt))
    x = ag.tensor(named_rng("pdist-gg").standard_normal((4, 3)), dtype=ag.float64, requires_grad=True)
    assert ag.gradcheck(F.pdist, [x]) and ag.gradgradcheck(F.pdist, [x])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layout", ["C", "F"])
def test_euclidean_pdist_op_gives_the_compositions_values_and_gradients_bit_for_bit(device, dtype, layout):
    """The Euclidean pdist is one op (a row at a time); its distances, gradients and second
    derivatives are those of the composition it replaced (both rows of each pair gathered,
    the 2-norm of the difference), equal and NaN rows included."""
    from autograd.ops.nn_fused.pdist import composed_pdist
    rng = named_rng(f"pdist op {dtype} {layout}")
    x = rng.standard_normal((40, 9)).astype(dtype)
    x[3], x[20], x[21], x[5, 2] = x[7], 0.0, 0.0, np.nan
    x = np.asfortranarray(x) if layout == "F" else x
    incoming = ag.tensor(rng.standard_normal(40 * 39 // 2).astype(dtype))
    results = []
    for fn in (F.pdist, composed_pdist):
        xo = ag.tensor(x, requires_grad=True)
        y = fn(xo)
        (g,) = ag.grad(y, xo, incoming)
        small = ag.tensor(x[8:20], requires_grad=True)
        (g1,) = ag.grad(fn(small), small, incoming[:66], create_graph=True)
        (g2,) = ag.grad((g1 * g1).sum(), small)
        results.append([t.numpy() for t in (y, g, g1, g2)])
    for ours, composed in zip(*results):
        assert ours.dtype == composed.dtype == dtype
        if device.startswith("cuda"):  # CuPy's reductions add the composition's terms in another order
            tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-13, atol=1e-15)
            np.testing.assert_allclose(ours, composed, **tol)
            assert np.array_equal(np.isnan(ours), np.isnan(composed))
        else:
            np.testing.assert_array_equal(ours, composed)


def test_euclidean_pdist_of_many_rows_matches_pytorch(torch):
    x = named_rng("pdist many rows").standard_normal((300, 64)).astype(np.float32)
    xo, xt = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = F.pdist(xo), torch.nn.functional.pdist(xt)
    np.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    w = named_rng("pdist many rows w").standard_normal(yt.shape).astype(np.float32)
    yo.backward(ag.tensor(w))
    yt.backward(torch.tensor(w))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_pdist_refuses_bad_arguments():
    with pytest.raises(ValueError, match="2-D input"):
        F.pdist(ag.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="non-negative"):
        F.pdist(ag.ones((2, 3)), -1.0)
    with pytest.raises(TypeError, match="floating point"):
        F.pdist(ag.ones((2, 3), dtype=ag.int64))


# --- gumbel_softmax ------------------------------------------------------------------------

def test_gumbel_softmax_samples_the_categorical_distribution_of_its_logits(device):
    """Gumbel-max: the argmax of a soft sample (any tau) and the hard sample both fall on
    class k with probability softmax(logits)_k."""
    logits = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    batch = ag.tensor(np.tile(logits, (20000, 1)))
    for tau, hard in ((1.0, False), (0.5, True), (3.0, True)):
        y = F.gumbel_softmax(batch, tau=tau, hard=hard).numpy()
        np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)
        frequencies = np.bincount(y.argmax(axis=1), minlength=4) / len(y)
        np.testing.assert_allclose(frequencies, [0.1, 0.2, 0.3, 0.4], atol=0.015)
        if hard:
            assert set(np.unique(y)) == {0.0, 1.0}


def test_gumbel_softmax_noise_is_standard_gumbel_and_the_gradient_is_softmax_s(device, torch):
    """The noise, read back from a soft sample, is Gumbel(0, 1) (mean: Euler's gamma,
    variance pi^2 / 6); the gradient is that of PyTorch's softmax of the same noisy
    logits, and the hard sample's gradient is the soft one's (straight-through)."""
    tau = 0.7
    logits = named_rng("gumbel").standard_normal((4000, 3))
    lo = ag.tensor(logits, requires_grad=True)
    ag.manual_seed(11)
    y = F.gumbel_softmax(lo, tau=tau)
    noisy = tau * np.log(y.numpy())  # (logits + g) less a constant per row
    g = noisy - logits
    g -= g[:, :1]  # differences of two Gumbels are logistic: mean 0, variance pi^2 / 3
    assert abs(g[:, 1:].mean()) < 0.08 and abs(g[:, 1:].var() - math.pi ** 2 / 3) < 0.25
    lt = torch.tensor(logits, requires_grad=True)
    yt = torch.softmax((lt + torch.tensor(noisy - logits)) / tau, -1)
    assert_same(y, yt, rtol=1e-9)
    g = np.random.default_rng(5).standard_normal(logits.shape)
    y.backward(ag.tensor(g))
    yt.backward(torch.tensor(g))
    assert_same(lo.grad, lt.grad, rtol=1e-8, atol=1e-10)
    soft_grad = lo.grad.numpy().copy()
    lo.grad = None
    ag.manual_seed(11)
    hard = F.gumbel_softmax(lo, tau=tau, hard=True)
    np.testing.assert_array_equal(hard.numpy(), np.eye(3)[y.numpy().argmax(axis=1)])
    hard.backward(ag.tensor(g))
    np.testing.assert_allclose(lo.grad.numpy(), soft_grad, rtol=1e-12)


def test_gumbel_softmax_takes_an_axis_and_warns_on_eps(device):
    y = F.gumbel_softmax(ag.zeros((3, 5, 2)), hard=True, axis=1).numpy()
    np.testing.assert_array_equal(y.sum(axis=1), np.ones((3, 2)))
    np.testing.assert_array_equal(F.gumbel_softmax(ag.tensor(2.0), hard=True).numpy(), 1.0)
    with pytest.warns(UserWarning, match="eps"):
        F.gumbel_softmax(ag.zeros(3), eps=1e-5)
    with pytest.raises(ValueError, match="tau"):
        F.gumbel_softmax(ag.zeros(3), tau=0.0)
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        F.gumbel_softmax(ag.zeros((2, 2)), axis=2)
