"""nn.init: initializers with PyTorch's names and formulas. Each fills its tensor
in place (the same Parameter object, its version bumped), under no_grad, from the
random generator of the tensor's own device, which ag.manual_seed seeds. The random ones
take PyTorch's ``generator=`` for its signatures, and only None."""
import math
import numbers
import warnings

from autograd import Tensor, no_grad
from backends import dtypes

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_", "xavier_uniform_",
           "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "trunc_normal_", "orthogonal_", "eye_",
           "dirac_", "sparse_"]


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (PyTorch's table)."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid")
    if nonlinearity in linear:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor):
    """fan_in = shape[1] * receptive field, fan_out = shape[0] * receptive field."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out cannot be computed for a tensor with fewer than 2 dimensions "
                         f"(shape {tensor.shape})")
    receptive = 1
    for d in tensor.shape[2:]:
        receptive *= d
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor, mode):
    key = mode.lower() if isinstance(mode, str) else mode  # PyTorch takes any case ("FAN_OUT")
    if key not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', not {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if key == "fan_in" else fan_out


def _fill(tensor, array):
    """Write ``array`` into ``tensor``'s storage, outside the graph."""
    with no_grad():
        tensor.copy_(Tensor._make(array, tensor._backend))
    return tensor


def _tensor(name, tensor):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name}: expected a Tensor, not {type(tensor).__name__}")


def _floating(name, tensor):
    _tensor(name, tensor)
    if not dtypes.is_floating(tensor.dtype):
        raise TypeError(f"{name}: needs a floating-point tensor, not {tensor.dtype}")


def _device_generator(name, generator):
    """Every draw comes from the tensor's device generator, so results depend only on
    ag.manual_seed; a PyTorch Generator has no meaning here."""
    if generator is not None:
        raise TypeError(f"{name}: generator= takes only None, not {type(generator).__name__}: topograd draws "
                        "from the tensor's device generator; seed it with ag.manual_seed")


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with values drawn uniformly from [a, b)."""
    _floating("uniform_", tensor)
    _device_generator("uniform_", generator)
    if not (math.isfinite(a) and math.isfinite(b)):
        raise ValueError(f"uniform_: the bounds must be finite, got a={a}, b={b}")
    if a > b:
        raise ValueError(f"uniform_: a ({a}) must not exceed b ({b})")
    if not math.isfinite(float(b) - float(a)):
        raise ValueError(f"uniform_: b - a must be finite in float64, got a={a}, b={b}; narrow the range")
    return _fill(tensor, tensor._backend.uniform(tensor.shape, float(a), float(b), tensor.dtype))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with values drawn from N(mean, std^2)."""
    _floating("normal_", tensor)
    _device_generator("normal_", generator)
    if not std >= 0:  # NaN too, which would fill the tensor with NaN
        raise ValueError(f"normal_: std must be non-negative, got {std}")
    return _fill(tensor, tensor._backend.normal(tensor.shape, float(mean), float(std), tensor.dtype))


def constant_(tensor, val):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"constant_: expected a Tensor, not {type(tensor).__name__}")
    with no_grad():
        return tensor.fill_(val)


def zeros_(tensor):
    return constant_(tensor, 0)


def ones_(tensor):
    return constant_(tensor, 1)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))."""
    _floating("xavier_uniform_", tensor)
    _device_generator("xavier_uniform_", generator)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(2.0 / float(fan_in + fan_out)) * math.sqrt(3.0)
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    _floating("xavier_normal_", tensor)
    _device_generator("xavier_normal_", generator)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)))


def _kaiming_std(tensor, a, mode, nonlinearity):
    """He's std, gain / sqrt(fan), with the arguments checked; None for a zero-element
    tensor, which PyTorch leaves alone with a warning."""
    fan = _fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    if tensor.size == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    return gain / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He: U(-b, b), b = gain * sqrt(3 / fan); with a=sqrt(5) this is PyTorch's
    default for Linear and Conv weights, U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    _floating("kaiming_uniform_", tensor)
    _device_generator("kaiming_uniform_", generator)
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He: N(0, std^2), std = gain / sqrt(fan)."""
    _floating("kaiming_normal_", tensor)
    _device_generator("kaiming_normal_", generator)
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std)


def default_weight_and_bias_(weight, bias=None):
    """PyTorch's default for Linear and Conv layers: kaiming_uniform_ with a=sqrt(5)
    (uniform within 1/sqrt(fan_in)) for the weight, and the same bound for the bias."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = _calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound)


def _normal_cdf(z):
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with N(mean, std^2) conditioned on [a, b]. Rejection sampling, which is
    exact (the Array API has no erfinv for the inverse-CDF method), from an envelope
    that accepts over 30% of draws wherever [a, b] lies: N(mean, std^2)
    itself when [a, b] holds over 30% of its mass (as PyTorch 2.13), a flat one on a
    narrow [a, b] at or near the mean, an exponential one on a tail."""
    _floating("trunc_normal_", tensor)
    _device_generator("trunc_normal_", generator)
    mean, std, a, b = float(mean), float(std), float(a), float(b)
    if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
        raise ValueError(f"trunc_normal_: mean must be finite and std positive, got mean={mean}, std={std}")
    if not a <= b or a == math.inf or b == -math.inf:
        raise ValueError(f"trunc_normal_: the bounds must satisfy a <= b and hold a finite number, got a={a}, b={b}")
    backend, shape = tensor._backend, tensor.shape
    xp = backend.xp
    # Drawn and tested in float64 (the inverse CDF below needs its range), then rounded
    # once into the tensor: rounding is monotonic, so the result stays in [a, b].
    precise = dtypes.float64

    def uniform():
        return backend.uniform(shape, 0.0, 1.0, precise)  # in [0, 1): log1p below stays finite

    # The density on [a, b] peaks at the point nearest the mean and falls from there by
    # exp(-0.5 * d * (d + 2 * peak_z)) at d std further out.
    peak = min(max(mean, a), b)
    peak_z, far_d = abs(peak - mean) / std, max(peak - a, b - peak) / std
    if _normal_cdf((b - mean) / std) - _normal_cdf((a - mean) / std) > 0.3:
        def propose():
            x = backend.normal(shape, mean, std, precise)
            return x, (x >= a) & (x <= b)
    elif 0.5 * far_d * (far_d + 2 * peak_z) <= 1.2:
        # It falls by less than exp(-1.2) across [a, b], so a flat envelope accepts over
        # 30%. This also takes a narrow [a, b] just beside the mean, where the tail's
        # envelope below has a rate that may underflow to 0 and then accepts nothing.
        def propose():
            x = backend.uniform(shape, a, b, precise)
            d = xp.abs(x - peak) / std  # x lies d std further from the mean than the peak
            return x, uniform() < xp.exp(-0.5 * d * (d + 2 * peak_z))
    else:  # [a, b] in one tail: exp(-rate * d) bounds the density d std past the near bound
        near, side = (a, 1.0) if mean < a else (b, -1.0)
        rate = abs(near - mean) / std
        mass = -math.expm1(-rate * (b - a) / std)  # the envelope's, on [a, b]

        def propose():
            d = -xp.log1p(-mass * uniform()) / rate  # inverse CDF of Exp(rate) cut at b - a
            x = near + side * std * d
            return x, (uniform() < xp.exp(-0.5 * d * d)) & (x >= a) & (x <= b)  # bounds: rounding
    values, accepted = propose()
    while not bool(xp.all(accepted)):
        fresh, fresh_accepted = propose()
        values = xp.where(accepted, values, fresh)
        accepted = accepted | fresh_accepted
    return _fill(tensor, values)


def orthogonal_(tensor, gain=1, generator=None):
    """Fill with a (semi-)orthogonal matrix times ``gain`` (Saxe et al. 2013): dims past
    the first are flattened, and rows or columns are orthonormal, whichever are fewer."""
    _floating("orthogonal_", tensor)
    _device_generator("orthogonal_", generator)
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: needs a tensor with 2 or more dimensions, got shape {tensor.shape}")
    if tensor.size == 0:
        return tensor
    backend = tensor._backend
    xp = backend.xp
    rows = tensor.shape[0]
    dtype = dtypes.float32 if tensor.dtype == dtypes.float16 else tensor.dtype  # float16 has no QR
    flat = backend.normal((rows, tensor.size // rows), 0.0, 1.0, dtype)
    wide = flat.shape[0] < flat.shape[1]
    if wide:
        flat = flat.T  # QR of the tall transpose: its Q has orthonormal columns
    q, r = xp.linalg.qr(flat)
    # Signs of R's diagonal on Q's columns make Q uniform over orthogonal matrices
    # (Mezzadri 2007); the diagonal as a masked sum, since CuPy may lack linalg.diagonal.
    diagonal = xp.sum(r * xp.eye(r.shape[0], r.shape[1], dtype=r.dtype), axis=0)
    q = q * xp.sign(diagonal)
    if wide:
        q = q.T
    # float(): the Array API multiplies arrays by Python numbers, not by NumPy scalars
    return _fill(tensor, xp.reshape(q * float(gain), tensor.shape))


def eye_(tensor):
    """Fill a 2-D tensor with the identity (ones on the main diagonal, any shape), so
    a Linear layer passes through as many of its inputs as it can."""
    _tensor("eye_", tensor)
    if tensor.ndim != 2:
        raise ValueError(f"eye_: needs a 2-D tensor, got shape {tensor.shape}; for a convolution weight "
                         "use dirac_")
    return _fill(tensor, tensor._backend.xp.eye(*tensor.shape, dtype=tensor.data.dtype))


def dirac_(tensor, groups=1):
    """Fill a 3-, 4- or 5-D convolution weight (out, in / groups, *kernel) with the Dirac
    delta: output channel d of each group takes input channel d at the kernel's centre,
    so the convolution passes through as many channels as it can."""
    _tensor("dirac_", tensor)
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"dirac_: needs a 3-, 4- or 5-D convolution weight, got shape {tensor.shape}; "
                         "for a 2-D tensor use eye_")
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool):
        raise TypeError(f"dirac_: groups must be an int, not {type(groups).__name__}")
    out_channels, in_channels, *kernel = tensor.shape
    if groups < 1 or out_channels % groups:
        raise ValueError(f"dirac_: groups must be a positive divisor of dim 0 (out channels, {out_channels}), "
                         f"got groups={groups}")
    backend = tensor._backend
    xp = backend.xp
    ones = backend.native_dtype(dtypes.float32)  # the standard has no bool product; _fill casts
    channels = xp.concat([xp.eye(out_channels // groups, in_channels, dtype=ones)] * groups, axis=0)
    taps, centre = 1, 0
    for k in kernel:
        taps, centre = taps * k, centre * k + k // 2  # the centre's index in the flattened kernel
    centre_tap = xp.reshape(xp.eye(1, taps, k=centre, dtype=ones), (taps,))
    return _fill(tensor, xp.reshape(channels[..., None] * centre_tap, tensor.shape))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """Fill a 2-D tensor from N(0, std^2), then zero ceil(sparsity * rows) entries of
    each column at random rows (Martens 2010)."""
    _floating("sparse_", tensor)
    _device_generator("sparse_", generator)
    if tensor.ndim != 2:
        raise ValueError(f"sparse_: needs a 2-D tensor, got shape {tensor.shape}")
    if not isinstance(sparsity, numbers.Real) or isinstance(sparsity, bool):
        raise TypeError(f"sparse_: sparsity must be a number, not {type(sparsity).__name__}")
    if not 0 <= sparsity <= 1:
        raise ValueError(f"sparse_: sparsity is the fraction of each column set to zero and must lie in "
                         f"[0, 1], got {sparsity}")
    if not std >= 0:  # NaN too
        raise ValueError(f"sparse_: std must be non-negative, got {std}")
    backend = tensor._backend
    xp = backend.xp
    rows = tensor.shape[0]
    values = backend.normal(tensor.shape, 0.0, float(std), tensor.dtype)
    # Each column's ranks of uniform keys are a random permutation of its rows: the
    # rows ranked first are zeroed, exactly ceil(sparsity * rows) per column.
    keys = backend.uniform(tensor.shape, 0.0, 1.0, dtypes.float64)
    ranks = xp.argsort(xp.argsort(keys, axis=0), axis=0)
    zero = xp.zeros((), dtype=values.dtype)
    return _fill(tensor, xp.where(ranks < math.ceil(sparsity * rows), zero, values))
