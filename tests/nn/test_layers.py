"""Layers against PyTorch: each is built in both libraries, PyTorch's weights are
copied in by state_dict key, and in float64 the outputs, input gradients,
parameter gradients and buffers must agree, in training and in eval mode. Also:
PyTorch's default initializations, nn.init, reprs, dtype=/device= arguments and
gradcheck through a small network on every backend."""
import math
import zlib

import numpy as np
import pytest

import autograd as ag
import nn
from nn import init

from tests.torch_versions import as_torch_prints, torch_older_than, with_torch_marks

from .torch_compare import run_both

# PyTorch warns that its own 'same' padding with an even kernel copies the input
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")


def _distinct(rng, *shape):
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 - n * 0.05).reshape(shape)


def _copy_weights(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


# name: (build(nn namespace) -> module, input(rng) -> float64 array)
LAYERS = {
    "Linear": (lambda nn: nn.Linear(4, 3), lambda rng: rng.standard_normal((5, 4))),
    "Linear-no-bias-3d": (lambda nn: nn.Linear(4, 2, bias=False), lambda rng: rng.standard_normal((2, 3, 4))),
    "Conv2d": (lambda nn: nn.Conv2d(2, 4, 3), lambda rng: rng.standard_normal((2, 2, 6, 5))),
    "Conv2d-options": (lambda nn: nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2,
                                            bias=False),
                       lambda rng: rng.standard_normal((2, 4, 7, 6))),
    "Conv2d-same": (lambda nn: nn.Conv2d(2, 3, 4, padding="same"), lambda rng: rng.standard_normal((1, 2, 5, 6))),
    # stride 1 takes the input gradient's flat-run col2im; dilated, padded, non-square
    "Conv2d-stride-1-dilated": (lambda nn: nn.Conv2d(3, 2, (2, 3), padding=(2, 1), dilation=(3, 2)),
                                lambda rng: rng.standard_normal((2, 3, 7, 6))),
    "Conv2d-reflect": (lambda nn: nn.Conv2d(2, 3, 3, padding=2, padding_mode="reflect"),
                       lambda rng: rng.standard_normal((1, 2, 5, 4))),
    "Conv2d-replicate": (lambda nn: nn.Conv2d(1, 2, 3, padding=(1, 2), padding_mode="replicate"),
                         lambda rng: rng.standard_normal((2, 1, 4, 4))),
    "Conv2d-circular": (lambda nn: nn.Conv2d(2, 2, (3, 2), padding=(2, 1), padding_mode="circular"),
                        lambda rng: rng.standard_normal((1, 2, 4, 5))),
    "MaxPool2d": (lambda nn: nn.MaxPool2d(2), lambda rng: _distinct(rng, 2, 3, 6, 7)),
    "MaxPool2d-options": (lambda nn: nn.MaxPool2d((3, 2), stride=2, padding=1, ceil_mode=True),
                          lambda rng: _distinct(rng, 1, 2, 7, 6)),
    "AvgPool2d": (lambda nn: nn.AvgPool2d(2, stride=1), lambda rng: rng.standard_normal((2, 2, 4, 5))),
    "AvgPool2d-options": (lambda nn: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
                          lambda rng: rng.standard_normal((1, 2, 7, 6))),
    "AdaptiveAvgPool2d": (lambda nn: nn.AdaptiveAvgPool2d((3, 2)), lambda rng: rng.standard_normal((2, 2, 7, 5))),
    "Flatten": (lambda nn: nn.Flatten(), lambda rng: rng.standard_normal((2, 3, 2, 2))),
    "Flatten-range": (lambda nn: nn.Flatten(0, -2), lambda rng: rng.standard_normal((2, 3, 4))),
    "Dropout": (lambda nn: nn.Dropout(0.0), lambda rng: rng.standard_normal((3, 4))),
    "BatchNorm1d": (lambda nn: nn.BatchNorm1d(3), lambda rng: rng.standard_normal((5, 3)) * 2 + 1),
    "BatchNorm1d-3d": (lambda nn: nn.BatchNorm1d(3, momentum=0.5), lambda rng: rng.standard_normal((4, 3, 2))),
    "BatchNorm2d": (lambda nn: nn.BatchNorm2d(2), lambda rng: rng.standard_normal((3, 2, 2, 3)) + 2),
    "BatchNorm2d-cumulative": (lambda nn: nn.BatchNorm2d(2, momentum=None, eps=1e-3),
                               lambda rng: rng.standard_normal((3, 2, 2, 2))),
    "BatchNorm2d-no-affine": (lambda nn: nn.BatchNorm2d(2, affine=False), lambda rng: rng.standard_normal((3, 2, 2, 2))),
    "BatchNorm2d-no-bias": (lambda nn: nn.BatchNorm2d(2, bias=False), lambda rng: rng.standard_normal((3, 2, 2, 2))),
    "BatchNorm2d-untracked": (lambda nn: nn.BatchNorm2d(2, track_running_stats=False),
                              lambda rng: rng.standard_normal((3, 2, 2, 2))),
    "LayerNorm": (lambda nn: nn.LayerNorm((3, 4)), lambda rng: rng.standard_normal((2, 3, 4))),
    "LayerNorm-no-bias": (lambda nn: nn.LayerNorm(4, eps=1e-3, bias=False), lambda rng: rng.standard_normal((3, 4))),
    "LayerNorm-no-affine": (lambda nn: nn.LayerNorm(4, elementwise_affine=False),
                            lambda rng: rng.standard_normal((3, 4))),
    "ReLU": (lambda nn: nn.ReLU(), lambda rng: rng.standard_normal((3, 4))),
    "LeakyReLU": (lambda nn: nn.LeakyReLU(0.1), lambda rng: rng.standard_normal((3, 4))),
    "ELU": (lambda nn: nn.ELU(0.5), lambda rng: rng.standard_normal((3, 4))),
    "GELU": (lambda nn: nn.GELU(), lambda rng: rng.standard_normal((3, 4)) * 2),
    "GELU-tanh": (lambda nn: nn.GELU("tanh"), lambda rng: rng.standard_normal((3, 4)) * 2),
    "Sigmoid": (lambda nn: nn.Sigmoid(), lambda rng: rng.standard_normal((3, 4))),
    "Tanh": (lambda nn: nn.Tanh(), lambda rng: rng.standard_normal((3, 4))),
    "Softmax": (lambda nn: nn.Softmax(dim=1), lambda rng: rng.standard_normal((3, 4, 2))),
    "LogSoftmax": (lambda nn: nn.LogSoftmax(dim=0), lambda rng: rng.standard_normal((3, 4))),
    "Softplus": (lambda nn: nn.Softplus(beta=2.0, threshold=3.0), lambda rng: rng.standard_normal((3, 4)) * 2),
    "Identity": (lambda nn: nn.Identity(54, unused=True), lambda rng: rng.standard_normal((3, 4))),
    "Sequential-cnn": (lambda nn: nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(),
                                                nn.MaxPool2d(2), nn.Flatten(), nn.Linear(18, 4), nn.LogSoftmax(dim=1)),
                       lambda rng: rng.standard_normal((2, 1, 6, 6))),
    # in-place ReLU after a conv (which keeps its input, not its output) and after batch norm
    "Sequential-cnn-inplace-relu": (lambda nn: nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(inplace=True), nn.BatchNorm2d(2), nn.ReLU(inplace=True),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(18, 4), nn.ReLU(inplace=True), nn.Linear(4, 3)),
        lambda rng: rng.standard_normal((2, 1, 6, 6))),
    # in-place LeakyReLU and ELU (written over a Linear's output; ELU keeps its output for backward)
    "Sequential-inplace-leaky-elu": (lambda nn: nn.Sequential(
        nn.Linear(4, 5), nn.LeakyReLU(0.1, inplace=True), nn.Linear(5, 5), nn.ELU(0.5, inplace=True),
        nn.Linear(5, 2)), lambda rng: rng.standard_normal((3, 4))),
    # where the graph cannot take an overwrite (after max pooling, which keeps its output,
    # and after a view), it is computed out of place, with PyTorch's values and gradients
    "Sequential-inplace-relu-after-pool-and-view": (lambda nn: nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(2), nn.ReLU(inplace=True), nn.Conv2d(2, 2, 1),
        nn.Flatten(), nn.ReLU(inplace=True), nn.Linear(18, 3)),
        lambda rng: rng.standard_normal((2, 1, 6, 6))),
}


# Layers whose PyTorch twin needs a newer PyTorch: {name: (version, what it added)}.
NEWER_TORCH = {"BatchNorm2d-no-bias": ("2.13", "the norm layers' bias= argument is new in 2.13")}


@pytest.mark.parametrize("name", with_torch_marks(sorted(LAYERS), NEWER_TORCH))
def test_layer_matches_torch(torch, name):
    build, make_input = LAYERS[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    ours, theirs = build(nn), build(torch.nn)
    theirs.double()
    ours.double()
    _copy_weights(ours, theirs)
    for step in range(2):  # training twice (running statistics move), then eval
        run_both(torch, ours, theirs, make_input(rng), seed=step)
        ours.zero_grad()
        theirs.zero_grad()
    ours.eval()
    theirs.eval()
    assert not ours.training and all(not m.training for m in ours.modules())
    run_both(torch, ours, theirs, make_input(rng), seed=2)


def test_layers_print_like_torch(torch):
    for name, (build, _) in LAYERS.items():
        if name in NEWER_TORCH and torch_older_than(NEWER_TORCH[name][0]):
            continue  # PyTorch cannot build it
        assert as_torch_prints(repr(build(nn))) == repr(build(torch.nn))
    for build in (lambda nn: nn.ReLU(inplace=True), lambda nn: nn.LeakyReLU(inplace=True),
                  lambda nn: nn.Dropout(0.2, inplace=True), lambda nn: nn.MaxPool2d(3, 1, 1, 2, ceil_mode=True),
                  lambda nn: nn.AdaptiveAvgPool2d(1), lambda nn: nn.Linear(784, 10, bias=False),
                  lambda nn: nn.Conv2d(3, 6, 5, padding="valid"), lambda nn: nn.Softmax()):
        assert repr(build(nn)) == repr(build(torch.nn))


def test_dropout_layer_train_and_eval():
    layer = nn.Dropout(0.5)
    x = ag.ones(50, 40)
    y = layer(x).numpy()
    assert set(np.unique(y)) == {0.0, 2.0} and 0.4 < (y == 0).mean() < 0.6
    layer.eval()
    assert layer(x) is x
    with pytest.raises(ValueError, match="probability"):
        nn.Dropout(-0.1)


def test_batch_norm_checks_its_input():
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(ag.ones(2, 3))
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.BatchNorm1d(3)(ag.ones(2, 3, 4, 5))
    with pytest.raises(ValueError, match="3 channels"):
        nn.BatchNorm1d(3)(ag.ones(2, 4))
    bn = nn.BatchNorm1d(2)
    bn(ag.randn(4, 2))
    bn(ag.randn(4, 2))
    assert bn.num_batches_tracked.item() == 2 and bn.num_batches_tracked.dtype == ag.int64


def _uniform_bound_ok(t, bound):
    values = t.numpy().ravel()
    assert np.all(np.abs(values) <= bound)
    # a uniform on (-b, b) has standard deviation b / sqrt(3)
    assert abs(values.std() - bound / math.sqrt(3)) < 0.1 * bound


def test_default_initialization_matches_torch_rules():
    linear = nn.Linear(400, 300)
    _uniform_bound_ok(linear.weight, 1 / math.sqrt(400))
    _uniform_bound_ok(linear.bias, 1 / math.sqrt(400))
    conv = nn.Conv2d(8, 64, 3, groups=2)
    assert conv.weight.shape == (64, 4, 3, 3)
    _uniform_bound_ok(conv.weight, 1 / math.sqrt(4 * 9))
    _uniform_bound_ok(conv.bias, 1 / math.sqrt(4 * 9))
    bn = nn.BatchNorm2d(3)
    for t, value in ((bn.weight, 1), (bn.bias, 0), (bn.running_mean, 0), (bn.running_var, 1)):
        np.testing.assert_array_equal(t.numpy(), np.full(3, value))
    ln = nn.LayerNorm((2, 3))
    np.testing.assert_array_equal(ln.weight.numpy(), np.ones((2, 3)))
    np.testing.assert_array_equal(ln.bias.numpy(), np.zeros((2, 3)))
    ag.manual_seed(11)
    a = nn.Linear(3, 2).weight.numpy()
    ag.manual_seed(11)
    np.testing.assert_array_equal(nn.Linear(3, 2).weight.numpy(), a)  # from the seeded generator


def test_layers_take_dtype_and_device(device):
    for layer in (nn.Linear(3, 2, dtype=ag.float64, device=device), nn.Conv2d(1, 2, 3, dtype=ag.float64, device=device),
                  nn.BatchNorm1d(2, dtype=ag.float64, device=device), nn.LayerNorm(3, dtype=ag.float64, device=device)):
        for name, t in list(layer.named_parameters()) + list(layer.named_buffers()):
            assert t.device == device
            assert t.dtype == (ag.int64 if name == "num_batches_tracked" else ag.float64)
    assert nn.Linear(2, 2).weight.dtype == ag.float32  # the default dtype


def test_init_functions_follow_torch_formulas(torch):
    w = nn.Parameter(ag.empty(200, 300))
    data = w.data
    cases = [
        (lambda t: init.xavier_uniform_(t, gain=2.0), "uniform", 2.0 * math.sqrt(6 / 500)),
        (lambda t: init.xavier_normal_(t), "normal", math.sqrt(2 / 500)),
        (lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)), "uniform", 1 / math.sqrt(300)),
        (lambda t: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"), "uniform", math.sqrt(6 / 200)),
        (lambda t: init.kaiming_normal_(t, nonlinearity="relu"), "normal", math.sqrt(2 / 300)),
        (lambda t: init.kaiming_normal_(t, a=0.2, mode="fan_out"), "normal",
         math.sqrt(2 / (1 + 0.04)) / math.sqrt(200)),
        (lambda t: init.uniform_(t, -0.3, 0.3), "uniform", 0.3),
        (lambda t: init.normal_(t, 0.0, 0.02), "normal", 0.02),
    ]
    for fill, kind, scale in cases:
        assert fill(w) is w and w.data is data  # in place, on a leaf that requires grad
        values = w.numpy()
        if kind == "uniform":
            assert np.abs(values).max() <= scale and abs(values.std() - scale / math.sqrt(3)) < 0.02 * scale
        else:
            assert abs(values.std() - scale) < 0.02 * scale and abs(values.mean()) < 0.02 * scale
    init.normal_(w, mean=3.0, std=0.5)
    assert abs(w.numpy().mean() - 3.0) < 0.01
    init.constant_(w, 0.25)
    assert (w.numpy() == 0.25).all()
    init.zeros_(w)
    assert not w.numpy().any()
    init.ones_(w)
    assert (w.numpy() == 1).all() and w.grad_fn is None and w.requires_grad
    for nonlinearity, param in (("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                                ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.3), ("selu", None)):
        assert init.calculate_gain(nonlinearity, param) == pytest.approx(
            torch.nn.init.calculate_gain(nonlinearity, param))
    for shape in ((5, 3), (4, 2, 3, 3), (6, 2, 5)):
        assert init._calculate_fan_in_and_fan_out(ag.empty(*shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_uniform_(w, mode="fan_avg")
    with pytest.raises(ValueError, match="fewer than 2"):
        init.xavier_uniform_(ag.empty(3))


def test_gradcheck_through_a_small_network(device):
    ag.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 2, 2, padding=1), nn.BatchNorm2d(2), nn.Tanh(), nn.AvgPool2d(2),
                          nn.Flatten(), nn.Linear(8, 3), nn.LayerNorm(3), nn.GELU()).double()
    x = ag.tensor(np.random.default_rng(0).standard_normal((2, 1, 3, 3)), dtype=ag.float64, requires_grad=True)
    params = list(model.parameters())
    assert ag.gradcheck(lambda x, *_: model(x), [x, *params])


# --- Linear given an input whose last axis does not fit -------------------------------------------

def test_linear_on_a_0d_input_says_so(device):
    """Now: "the input's last axis has size None (shape ())"."""
    layer = nn.Linear(4, 3)
    with pytest.raises(ValueError, match=r"linear") as excinfo:
        layer(ag.tensor(1.0))
    assert "None" not in str(excinfo.value)


def test_linear_with_wrong_in_features_names_the_layer_and_says_to_flatten(device, torch):
    """MNIST images (64, 28, 28) into Linear(784, 10): the message named only the op
    ("linear: the input's last axis has size 28 ..."), not which Linear of the network.
    PyTorch refuses too ("mat1 and mat2 shapes cannot be multiplied")."""
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        torch.nn.Linear(784, 10)(torch.zeros(64, 28, 28))
    model = nn.Sequential(nn.Linear(784, 10))
    x = ag.randn(64, 28, 28)
    with pytest.raises(ValueError, match=r"^Linear\(in_features=784, out_features=10, bias=True\): expected an "
                                         r"input whose last axis has 784 features, got shape \(64, 28, 28\); "
                                         r"flatten the axes after the batch first, with x\.flatten\(1\)"):
        model(x)
    assert model(x.flatten(1)).shape == (64, 10)  # the fix the message gives
    with pytest.raises(ValueError, match=r"^Linear\(in_features=100, .*got shape \(2, 2704\)$"):
        nn.Linear(100, 10)(ag.randn(2, 2704))  # no flatten advice where the sizes do not match
