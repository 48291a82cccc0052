"""What a differential fuzz of nn.init against PyTorch turned up. calculate_gain for every
nonlinearity and param, the fans of 2- to 5-D and zero-size tensors, the distributions of
every random initializer (two-sample tests against PyTorch's draws, float16/32/64), eye_,
dirac_, orthogonal_ and sparse_, and the default initialization and reset_parameters of
every layer with parameters agreed; these are what did not."""
import math
import signal
import warnings

import numpy as np
import pytest

import autograd as ag
from nn import init

from .test_init_extras import _truncated_normal


# --- kaiming_*: the mode in any case, and zero-element tensors -----------------------------------

@pytest.mark.parametrize("fill", ["kaiming_uniform_", "kaiming_normal_"])
@pytest.mark.parametrize("mode", ["FAN_OUT", "Fan_In"])
def test_kaiming_takes_the_mode_in_any_case_as_torch(device, torch, fill, mode):
    getattr(torch.nn.init, fill)(torch.empty(20, 50), mode=mode)  # PyTorch lowercases it
    ag.manual_seed(4)
    ours = getattr(init, fill)(ag.empty(20, 50), mode=mode).numpy()
    ag.manual_seed(4)
    np.testing.assert_array_equal(ours, getattr(init, fill)(ag.empty(20, 50), mode=mode.lower()).numpy())


@pytest.mark.parametrize("fill", ["kaiming_uniform_", "kaiming_normal_"])
@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (2, 0, 3)])
def test_kaiming_on_a_zero_element_tensor_warns_as_torch(device, torch, fill, shape):
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        getattr(torch.nn.init, fill)(torch.empty(*shape))
    w = ag.empty(*shape)
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        assert getattr(init, fill)(w) is w
    # the arguments are still checked (PyTorch returns before it looks at them)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
            getattr(init, fill)(w, mode="fan_avg")
        with pytest.raises(ValueError, match="unsupported nonlinearity 'gelu'"):
            getattr(init, fill)(w, nonlinearity="gelu")


# --- uniform_, normal_ and sparse_: bounds and std that are no numbers ----------------------------

@pytest.mark.parametrize("a, b, message", [
    (-math.inf, 0.0, "bounds must be finite"), (0.0, math.inf, "bounds must be finite"),
    (math.nan, 1.0, "bounds must be finite"), (0.0, math.nan, "bounds must be finite"),
    (-1e308, 1e308, r"b - a must be finite"),
])
def test_uniform_refuses_bounds_torch_refuses(device, torch, a, b, message):
    with pytest.raises(RuntimeError):
        torch.nn.init.uniform_(torch.empty(3, dtype=torch.float64), a, b)
    w = ag.ones(3, dtype=ag.float64)
    with pytest.raises(ValueError, match=rf"uniform_: .*{message}"):
        init.uniform_(w, a, b)
    np.testing.assert_array_equal(w.numpy(), np.ones(3))


def test_normal_and_sparse_refuse_a_nan_std_as_torch(device, torch):
    with pytest.raises(RuntimeError, match="std >= 0.0"):
        torch.nn.init.normal_(torch.empty(3), 0.0, math.nan)
    w = ag.ones(4, 3)
    with pytest.raises(ValueError, match="normal_: std must be non-negative, got nan"):
        init.normal_(w, 0.0, math.nan)  # filled the tensor with NaN
    with pytest.raises(ValueError, match="sparse_: std must be non-negative, got nan"):
        init.sparse_(w, 0.5, std=math.nan)
    np.testing.assert_array_equal(w.numpy(), np.ones((4, 3)))


# --- trunc_normal_ with the mean just beside a narrow [a, b] --------------------------------------

def _alarm(signum, frame):
    raise TimeoutError("trunc_normal_ accepted no draw within 20 seconds")


def test_trunc_normal_with_the_mean_a_hair_below_a_terminates(device):
    """The tail's exponential envelope had a rate of (a - mean) / std = 5e-324 / 2, which
    underflows to 0: every proposal was NaN and the rejection loop never ended."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(20)
    try:
        w = init.trunc_normal_(ag.empty(200, 200, dtype=ag.float64), mean=0.0, std=2.0, a=5e-324, b=0.1)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    values = w.numpy().ravel()
    assert values.min() >= 5e-324 and values.max() <= 0.1
    _, _, cdf = _truncated_normal(0.0, 2.0, 0.0, 0.1)
    grid = np.linspace(0.05, 0.95, 19)
    assert np.abs(cdf(np.quantile(values, grid)) - grid).max() < 0.01


def test_trunc_normal_just_beside_the_mean_spreads_over_the_interval(device):
    """With a = mean + 1e-200 and b = a + 1e-200 the envelope's mass, -expm1(-rate * width),
    underflowed to 0 and every value came out as a. N(0, 1) is flat to 1e-400 there, so
    the values are uniform on [a, b]."""
    w = init.trunc_normal_(ag.empty(200, 200, dtype=ag.float64), mean=-1e-200, std=1.0, a=0.0, b=1e-200)
    scaled = w.numpy().ravel() / 1e-200
    assert scaled.min() >= 0.0 and scaled.max() <= 1.0
    grid = np.linspace(0.05, 0.95, 19)
    assert np.abs(np.quantile(scaled, grid) - grid).max() < 0.01
