"""What running nn and autograd code on the 'strict' device (array-api-strict, which stands
in for CuPy in CI) turned up, beyond what the op table and the device-parametrized tests
already run there. Layers, functional ops, losses, optimizers and schedulers, swa_utils,
clip_grad, rnn packing, prune, parametrize, fusion, functional_call, both checkpoints,
init, metrics, collation, fit, linalg, ag.functional, indexing, in-place methods, the
profiler and the drawings gave the same values and gradients on 'strict' as on 'cpu' (but
diagonal(), a copy there by design, as that backend makes no strided views).

What failed there was a NumPy scalar argument (np.float32(0.2), np.int64(0): a config
read with NumPy, a value from np.linspace) reaching an array operation as it was given:
the Array API combines arrays with Python numbers only, so array-api-strict refused it
where NumPy took it. Each argument is now made a Python number where it is checked."""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from nn import optim

from .torch_compare import named_rng


def _close(ours, theirs, **tolerance):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **tolerance)


# --- leaky_relu's slope --------------------------------------------------------------------------

@pytest.mark.parametrize("slope", [np.float32(0.2), np.float64(-0.3)])
@pytest.mark.parametrize("form", ["functional", "inplace", "layer"])
def test_leaky_relu_takes_a_numpy_slope(device, torch, slope, form):
    """The slope went into the backend's arithmetic as given; a NumPy scalar failed on the
    strict device (as every other activation's checked hyperparameter did not)."""
    values = named_rng(f"leaky {form} {slope}").standard_normal((3, 4)).astype(np.float32)
    x = ag.tensor(values, requires_grad=True)
    xt = torch.tensor(values, requires_grad=True)
    if form == "functional":
        y = F.leaky_relu(x, slope)
    elif form == "inplace":
        y = F.leaky_relu(x * 1, slope, inplace=True)
    else:
        y = nn.LeakyReLU(slope)(x)
    yt = torch.nn.functional.leaky_relu(xt, float(slope))
    assert y.dtype == ag.float32
    _close(y, yt, rtol=1e-6)
    y.sum().backward()
    yt.sum().backward()
    _close(x.grad, xt.grad, rtol=1e-6)


def test_leaky_relu_refuses_a_slope_that_is_no_number(device):
    with pytest.raises(TypeError, match="leaky_relu: negative_slope must be a real number"):
        F.leaky_relu(ag.ones(3), "0.1")


# --- F.pad's fill value ----------------------------------------------------------------------------

@pytest.mark.parametrize("value", [np.float32(2.5), np.int64(3)])
def test_constant_pad_takes_a_numpy_value(device, value):
    """A fill value for a float tensor reached the backend's full() as given."""
    values = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    x = ag.tensor(values, requires_grad=True)
    y = F.pad(x, (1, 2), value=value)
    assert y.dtype == x.dtype
    np.testing.assert_array_equal(y.numpy(), np.pad(values, ((0, 0), (1, 2)), constant_values=value))
    padding = nn.ConstantPad1d(1, value)(x)
    np.testing.assert_array_equal(padding.numpy(), np.pad(values, ((0, 0), (1, 1)), constant_values=value))
    (y * ag.tensor(np.arange(12.0, dtype=np.float32).reshape(2, 6))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(12.0).reshape(2, 6)[:, 1:4])


# --- Adagrad's initial accumulator ---------------------------------------------------------------

def test_adagrad_takes_a_numpy_initial_accumulator_value(device, torch):
    """The accumulator was filled with the value as given when the optimizer was made."""
    initial = np.float32(0.1)
    values = named_rng("adagrad numpy initial").standard_normal((2, 3)).astype(np.float32)
    p = nn.Parameter(ag.tensor(values))
    pt = torch.nn.Parameter(torch.tensor(values))
    opt = optim.Adagrad([p], lr=0.1, initial_accumulator_value=initial)
    opt_t = torch.optim.Adagrad([pt], lr=0.1, initial_accumulator_value=float(initial))
    for _ in range(2):
        for param, o in ((p, opt), (pt, opt_t)):
            o.zero_grad()
            (param ** 3).sum().backward()
            o.step()
    assert opt.state[p]["sum"].dtype == ag.float32
    _close(opt.state[p]["sum"], opt_t.state[pt]["sum"], rtol=1e-6)
    _close(p, pt, rtol=1e-6)


# --- orthogonal_'s gain ------------------------------------------------------------------------------

@pytest.mark.parametrize("gain", [np.float32(1.5), np.float64(2.0)])
@pytest.mark.parametrize("shape", [(3, 5), (5, 3)])
def test_orthogonal_init_takes_a_numpy_gain(device, gain, shape):
    """The orthogonal matrix was scaled by the gain as given."""
    w = ag.empty(shape)
    nn.init.orthogonal_(w, gain)
    assert w.dtype == ag.float32
    q = w.numpy().astype(np.float64)
    small = q @ q.T if shape[0] < shape[1] else q.T @ q
    np.testing.assert_allclose(small, float(gain) ** 2 * np.eye(min(shape)), atol=1e-5)


# --- class indices: ignore_index and the CTC blank ----------------------------------------------

@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss", "linear_cross_entropy"])
def test_class_losses_take_a_numpy_ignore_index(device, torch, loss):
    """ignore_index was compared with the target array as given."""
    rng = named_rng(f"ignore_index {loss}")
    features = rng.standard_normal((5, 3) if loss == "linear_cross_entropy" else (5, 4))  # 4 classes
    linear_weight = rng.standard_normal((4, 3))
    target = np.array([1, 0, 3, 0, 2])
    x = ag.tensor(features, requires_grad=True)
    xt = torch.tensor(features, requires_grad=True)
    if loss == "linear_cross_entropy":
        y = F.linear_cross_entropy(x, ag.tensor(linear_weight), ag.tensor(target), ignore_index=np.int64(0))
        logits_t = xt @ torch.tensor(linear_weight).T
        yt = torch.nn.functional.cross_entropy(logits_t, torch.tensor(target), ignore_index=0)
    else:
        y = getattr(F, loss)(x, ag.tensor(target), ignore_index=np.int64(0))
        yt = getattr(torch.nn.functional, loss)(xt, torch.tensor(target), ignore_index=0)
    _close(y, yt, rtol=1e-12)
    y.backward()
    yt.backward()
    _close(x.grad, xt.grad, rtol=1e-12)


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
def test_class_losses_refuse_an_ignore_index_that_is_no_int(device, loss):
    """As PyTorch (a TypeError): a float ignore_index matched no integer target."""
    with pytest.raises(TypeError, match=f"{loss.__name__}: ignore_index must be an int, not 1.5"):
        loss(ag.zeros((2, 3)), ag.tensor([0, 1]), ignore_index=1.5)


def test_ctc_loss_takes_a_numpy_blank(device, torch):
    """The blank was compared with the label array as given."""
    logits = named_rng("ctc numpy blank").standard_normal((6, 2, 4))
    targets, input_lengths, target_lengths = np.array([[1, 2], [0, 0]]), [6, 5], [2, 1]
    x = ag.tensor(logits, requires_grad=True)
    xt = torch.tensor(logits, requires_grad=True)
    y = F.ctc_loss(F.log_softmax(x, axis=2), ag.tensor(targets), input_lengths, target_lengths, blank=np.int64(3))
    yt = torch.nn.functional.ctc_loss(xt.log_softmax(2), torch.tensor(targets), input_lengths, target_lengths,
                                      blank=3)
    _close(y, yt, rtol=1e-10)
    y.backward()
    yt.backward()
    _close(x.grad, xt.grad, rtol=1e-8, atol=1e-12)
