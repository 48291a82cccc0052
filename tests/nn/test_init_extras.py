"""nn.init's trunc_normal_, orthogonal_, eye_, dirac_ and sparse_: distributions against
their formulas, deterministic fills against PyTorch, in-place behaviour and errors; and the
edges of kaiming_*, uniform_, normal_ and trunc_normal_ against PyTorch."""
import math
import signal
import warnings

import numpy as np
import pytest

import autograd as ag
import nn
from nn import init


def _phi(z):
    return 0.0 if math.isinf(z) else math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def _cdf(z):
    return 0.5 * math.erfc(-z / math.sqrt(2.0))  # erfc keeps the far lower tail's digits


def _truncated_normal(mean, std, a, b):
    """Mean, std and CDF of N(mean, std^2) conditioned on [a, b] (the textbook formulas),
    through the upper tail's survival function where [a, b] lies there, to keep digits."""
    alpha, beta = (a - mean) / std, (b - mean) / std
    if alpha > 0:
        def below(z):  # the mass between alpha and z
            return _cdf(-alpha) - _cdf(-z)
    else:
        def below(z):
            return _cdf(z) - _cdf(alpha)
    mass = below(beta)
    shift = (_phi(alpha) - _phi(beta)) / mass
    tails = ((alpha * _phi(alpha) if math.isfinite(alpha) else 0.0)
             - (beta * _phi(beta) if math.isfinite(beta) else 0.0)) / mass
    cdf = np.vectorize(lambda x: below((x - mean) / std) / mass)
    return mean + std * shift, std * math.sqrt(1 + tails - shift ** 2), cdf


@pytest.mark.parametrize("mean, std, a, b", [
    (0.0, 1.0, -2.0, 2.0),          # most of the mass inside: redraws from the normal itself
    (0.0, 1.0, -0.1, 0.65),         # a narrow interval around the mean: the flat envelope
    (0.0, 1.0, 1.0, 1.5),           # a slice of a tail: the exponential envelope
    (3.0, 2.0, -1.0, 0.0),          # the mean far above [a, b]
    (0.0, 1.0, -math.inf, -3.0),    # a one-sided tail
    (-1.0, 0.5, 4.0, 4.1),          # ten std away
])
def test_trunc_normal_stays_in_bounds_with_the_truncated_moments(device, mean, std, a, b):
    w = ag.empty(400, 500, dtype=ag.float64)
    assert init.trunc_normal_(w, mean=mean, std=std, a=a, b=b) is w
    values = w.numpy().ravel()
    assert values.min() >= a and values.max() <= b
    want_mean, want_std, cdf = _truncated_normal(mean, std, a, b)
    tolerance = 5 * want_std / math.sqrt(values.size)  # five standard errors
    assert abs(values.mean() - want_mean) < tolerance
    assert abs(values.std() - want_std) < 0.01 * want_std
    grid = np.quantile(values, np.linspace(0.02, 0.98, 25))
    assert np.abs(cdf(grid) - np.linspace(0.02, 0.98, 25)).max() < 0.005  # the whole shape, not two moments


def test_trunc_normal_bounds_hold_in_float32_and_float16_and_a_point_interval(device):
    w = ag.empty(300, 300)
    init.trunc_normal_(w, std=0.02)  # timm's ViT call: the bounds are 100 std away
    assert np.abs(w.numpy()).max() <= 2.0 and abs(w.numpy().std() - 0.02) < 0.001
    init.trunc_normal_(w, mean=0.5, a=0.1, b=0.3)
    assert w.numpy().min() >= np.float32(0.1) and w.numpy().max() <= np.float32(0.3)
    init.trunc_normal_(w, a=0.75, b=0.75)
    assert (w.numpy() == 0.75).all()
    if device == "cpu":  # the standard, so the strict device, has no float16
        h = ag.empty(100, 100, dtype=ag.float16)
        init.trunc_normal_(h, a=-1.0, b=0.5)
        assert h.dtype == ag.float16 and h.numpy().min() >= -1.0 and h.numpy().max() <= 0.5


@pytest.mark.parametrize("shape", [(8, 5), (5, 8), (6, 3, 2, 2), (20, 3, 2), (4, 4)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal_rows_or_columns_are_orthonormal_times_gain(device, shape, gain):
    w = ag.empty(*shape, dtype=ag.float64)
    init.orthogonal_(w, gain=gain)
    flat = w.numpy().reshape(shape[0], -1)
    small = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(small, gain ** 2 * np.eye(len(small)), atol=1e-12)
    w32 = ag.empty(*shape)
    init.orthogonal_(w32, gain=gain)
    flat = w32.numpy().reshape(shape[0], -1).astype(np.float64)
    small = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(small, gain ** 2 * np.eye(len(small)), atol=1e-5 * gain ** 2)


@pytest.mark.parametrize("shape", [(7, 4), (4, 7), (3, 2, 3)])
def test_orthogonal_is_pytorchs_transform_of_the_same_normal_draw(device, torch, shape):
    """QR with R's diagonal made positive is unique, so given the same normal matrix
    the result must be PyTorch's, sign correction and transposes included."""
    rows, cols = shape[0], math.prod(shape[1:])
    ag.manual_seed(11)
    drawn = ag.randn(rows, cols, dtype=ag.float64).numpy()
    ag.manual_seed(11)
    w = init.orthogonal_(ag.empty(*shape, dtype=ag.float64), gain=1.5)
    flat = torch.from_numpy(drawn.T.copy() if rows < cols else drawn)
    q, r = torch.linalg.qr(flat)
    q = q * torch.diag(r).sign()
    want = (q.T if rows < cols else q).reshape(shape) * 1.5
    np.testing.assert_allclose(w.numpy(), want.numpy(), atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4), (1, 6)])
def test_eye_equals_pytorchs(device, torch, shape):
    w = ag.empty(*shape)
    init.normal_(w)
    assert init.eye_(w) is w
    np.testing.assert_array_equal(w.numpy(), torch.nn.init.eye_(torch.empty(*shape)).numpy())
    n = init.eye_(ag.zeros(*shape, dtype=ag.int64))
    np.testing.assert_array_equal(n.numpy(), np.eye(*shape, dtype=np.int64))


@pytest.mark.parametrize("shape, groups", [
    ((4, 2, 3), 1), ((2, 4, 5), 1), ((6, 4, 3, 3), 2), ((6, 2, 3, 3), 3), ((6, 3, 2, 4), 2),
    ((4, 4, 3, 3, 3), 1), ((4, 1, 3, 2, 3), 4), ((3, 5, 1, 1), 1)])
def test_dirac_equals_pytorchs(device, torch, shape, groups):
    w = ag.empty(*shape)
    init.uniform_(w)  # dirac_ must clear what was there
    assert init.dirac_(w, groups=groups) is w
    np.testing.assert_array_equal(w.numpy(), torch.nn.init.dirac_(torch.empty(*shape), groups=groups).numpy())
    n = init.dirac_(ag.zeros(*shape, dtype=ag.int64), groups=groups)  # not only floating point
    np.testing.assert_array_equal(n.numpy(), torch.nn.init.dirac_(torch.zeros(*shape, dtype=torch.int64),
                                                                  groups=groups).numpy())


@pytest.mark.parametrize("channels, groups", [(3, 1), (6, 3), (4, 2)])
def test_conv2d_with_a_dirac_weight_returns_its_input(device, channels, groups):
    x = ag.tensor(np.random.default_rng(0).standard_normal((2, channels, 5, 6)), dtype=ag.float32)
    weight = init.dirac_(ag.empty(channels, channels // groups, 3, 3), groups=groups)
    y = nn.functional.conv2d(x, weight, padding=1, groups=groups)
    np.testing.assert_allclose(y.numpy(), x.numpy(), rtol=0, atol=1e-6)


@pytest.mark.parametrize("rows, sparsity", [(10, 0.25), (10, 0.3), (7, 0.0), (7, 1.0), (5, 0.5)])
def test_sparse_zeroes_ceil_of_sparsity_times_rows_in_every_column(device, rows, sparsity):
    w = ag.empty(rows, 40)
    init.sparse_(w, sparsity, std=0.5)
    zeros = (w.numpy() == 0).sum(axis=0)
    np.testing.assert_array_equal(zeros, np.full(40, math.ceil(sparsity * rows)))
    patterns = {tuple(column) for column in (w.numpy() == 0).T}
    assert len(patterns) > 5 if 0 < sparsity < 1 else len(patterns) == 1  # rows drawn per column


def test_sparse_nonzeros_follow_the_normal(device):
    w = ag.empty(400, 100)
    init.sparse_(w, 0.5, std=0.1)
    nonzero = w.numpy()[w.numpy() != 0]
    assert nonzero.size == 200 * 100
    assert abs(nonzero.std() - 0.1) < 0.003 and abs(nonzero.mean()) < 0.003


FILLS = [
    ("trunc_normal_", (6, 4), lambda t: init.trunc_normal_(t, std=0.5)),
    ("orthogonal_", (6, 4), lambda t: init.orthogonal_(t, gain=2)),
    ("eye_", (6, 4), init.eye_),
    ("dirac_", (4, 2, 3, 3), lambda t: init.dirac_(t, groups=2)),
    ("sparse_", (6, 4), lambda t: init.sparse_(t, 0.5)),
]


@pytest.mark.parametrize("name, shape, fill", FILLS, ids=[f[0] for f in FILLS])
def test_fills_in_place_without_recording_a_graph(device, name, shape, fill):
    p = nn.Parameter(ag.empty(*shape))
    data, before = p.data, p._version.value
    assert fill(p) is p and p.data is data
    assert p._version.value == before + 1
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    loss = (p * p).sum()
    loss.backward()  # still a usable leaf
    np.testing.assert_allclose(p.grad.numpy(), 2 * p.numpy())


@pytest.mark.parametrize("name, shape, fill", FILLS, ids=[f[0] for f in FILLS])
def test_manual_seed_makes_fills_reproducible(device, name, shape, fill):
    ag.manual_seed(5)
    first = fill(ag.empty(*shape)).numpy()
    second = fill(ag.empty(*shape)).numpy()
    ag.manual_seed(5)
    np.testing.assert_array_equal(fill(ag.empty(*shape)).numpy(), first)
    if name in ("trunc_normal_", "orthogonal_", "sparse_"):
        assert not np.array_equal(first, second)  # the generator moved on


@pytest.mark.parametrize("call, error, message", [
    (lambda w, v: init.trunc_normal_(w, std=0.0), ValueError, "std positive"),
    (lambda w, v: init.trunc_normal_(w, std=-1.0), ValueError, "std positive"),
    (lambda w, v: init.trunc_normal_(w, mean=math.nan), ValueError, "mean must be finite"),
    (lambda w, v: init.trunc_normal_(w, a=2.0, b=-2.0), ValueError, "a <= b"),
    (lambda w, v: init.trunc_normal_(w, a=math.inf, b=math.inf), ValueError, "finite number"),
    (lambda w, v: init.trunc_normal_(w, a=math.nan), ValueError, "a <= b"),
    (lambda w, v: init.trunc_normal_(w, generator=object()), TypeError, "ag.manual_seed"),
    (lambda w, v: init.trunc_normal_(ag.zeros(3, dtype=ag.int64)), TypeError, "floating-point"),
    (lambda w, v: init.orthogonal_(v), ValueError, "2 or more dimensions"),
    (lambda w, v: init.orthogonal_(w, generator=object()), TypeError, "generator= takes only None"),
    (lambda w, v: init.eye_(ag.empty(2, 2, 3)), ValueError, "2-D tensor.*use dirac_"),
    (lambda w, v: init.eye_(w.numpy()), TypeError, "expected a Tensor"),
    (lambda w, v: init.dirac_(w), ValueError, "3-, 4- or 5-D.*use eye_"),
    (lambda w, v: init.dirac_(ag.empty(6, 2, 3, 3), groups=4), ValueError, "divisor of dim 0.*6.*groups=4"),
    (lambda w, v: init.dirac_(ag.empty(6, 2, 3, 3), groups=0), ValueError, "positive divisor"),
    (lambda w, v: init.dirac_(ag.empty(6, 2, 3, 3), groups=1.5), TypeError, "groups must be an int"),
    (lambda w, v: init.dirac_(ag.empty(1, 1, 1, 1, 1, 1)), ValueError, r"got shape \(1, 1, 1, 1, 1, 1\)"),
    (lambda w, v: init.sparse_(v, 0.5), ValueError, "2-D tensor"),
    (lambda w, v: init.sparse_(w, -0.1), ValueError, r"must lie in \[0, 1\]"),
    (lambda w, v: init.sparse_(w, 1.5), ValueError, r"must lie in \[0, 1\]"),
    (lambda w, v: init.sparse_(w, "0.5"), TypeError, "sparsity must be a number"),
    (lambda w, v: init.sparse_(w, 0.5, std=-1), ValueError, "std must be non-negative"),
    (lambda w, v: init.sparse_(w, 0.5, generator=object()), TypeError, "generator="),
])
def test_bad_arguments_raise_clear_errors_and_change_nothing(device, call, error, message):
    w, v = ag.ones(3, 4), ag.ones(5)
    with pytest.raises(error, match=message):
        call(w, v)
    assert (w.numpy() == 1).all() and (v.numpy() == 1).all()


def test_empty_tensors_are_left_alone(device):
    assert init.orthogonal_(ag.empty(0, 3)).shape == (0, 3)
    assert init.trunc_normal_(ag.empty(0, 3)).shape == (0, 3)
    assert init.sparse_(ag.empty(0, 3), 0.5).shape == (0, 3)
    assert init.dirac_(ag.empty(0, 3, 3)).shape == (0, 3, 3)


RANDOM_INITIALIZERS = ["uniform_", "normal_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
                       "kaiming_normal_", "trunc_normal_", "orthogonal_"]


@pytest.mark.parametrize("name", RANDOM_INITIALIZERS)
def test_random_initializers_take_generator_none_as_pytorch_and_refuse_another(device, name):
    """PyTorch's signatures port unchanged (generator=None draws from the device's
    generator); a generator object would be silently ignored, so it is refused."""
    fill = getattr(init, name)
    ag.manual_seed(3)
    w = ag.zeros(4, 5, device=device)
    fill(w, generator=None)
    ag.manual_seed(3)
    expected = ag.zeros(4, 5, device=device)
    fill(expected)
    np.testing.assert_array_equal(w.numpy(), expected.numpy())
    assert np.any(w.numpy() != 0)
    before = w.numpy().copy()
    with pytest.raises(TypeError, match=rf"{name}: generator= takes only None.*ag.manual_seed"):
        fill(w, generator=object())
    np.testing.assert_array_equal(w.numpy(), before)


def test_sparse_takes_generator_none(device):
    ag.manual_seed(3)
    w = ag.zeros(6, 3, device=device)
    init.sparse_(w, 0.5, generator=None)
    assert (w.numpy() == 0).sum(axis=0).tolist() == [3, 3, 3]


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


# --- orthogonal_'s gain ------------------------------------------------------------------------------
# A NumPy scalar argument (np.float32(0.2), np.int64(0): a config read with NumPy, a value from
# np.linspace) is made a Python number where it is checked: the Array API (the 'strict' device)
# combines arrays with Python numbers only.

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
