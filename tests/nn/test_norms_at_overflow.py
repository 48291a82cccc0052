"""The normalizations at large but finite inputs, against PyTorch: no NumPy floating-point
warning, forward or backward (PyTorch's kernels raise none), float16 values past 256 (whose
squares overflow float16) normalized in float32 as PyTorch's are, a float16 running
variance past 65504 stored as inf, as PyTorch stores it, and a float32 row whose variance
overflows normalized to NaN by layer_norm and group_norm, as by PyTorch's."""
import warnings

import numpy as np
import pytest

import autograd as ag
import nn.functional as F

torch = pytest.importorskip("torch")


def _affine(lib, c, dtype):
    rng = np.random.default_rng(1)
    w, b = rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype)
    if lib is ag:
        return ag.tensor(w, requires_grad=True), ag.tensor(b, requires_grad=True)
    return torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)


def _buffers(lib, c, dtype):
    make = ag.tensor if lib is ag else torch.tensor
    return make(np.zeros(c, dtype)), make(np.ones(c, dtype))


def _layer_norm(lib, f, x):
    w, b = _affine(lib, x.shape[-1], _dtype(x))
    return f.layer_norm(x, (x.shape[-1],), w, b), (w, b)


def _group_norm(lib, f, x):
    w, b = _affine(lib, x.shape[1], _dtype(x))
    return f.group_norm(x, 2, w, b), (w, b)


def _rms_norm(lib, f, x):
    w, _ = _affine(lib, x.shape[-1], _dtype(x))
    return f.rms_norm(x, (x.shape[-1],), w), (w,)


def _batch_norm(lib, f, x):
    w, b = _affine(lib, x.shape[1], _dtype(x))
    mean, var = _buffers(lib, x.shape[1], _dtype(x))
    return f.batch_norm(x, mean, var, w, b, training=True), (w, b, mean, var)


def _instance_norm(lib, f, x):
    w, b = _affine(lib, x.shape[1], _dtype(x))
    mean, var = _buffers(lib, x.shape[1], _dtype(x))
    return f.instance_norm(x, mean, var, w, b), (w, b, mean, var)


def _dtype(x):
    return np.float16 if str(x.dtype).endswith("float16") else np.float32


NORMS = {"layer_norm": _layer_norm, "group_norm": _group_norm, "rms_norm": _rms_norm,
         "batch_norm": _batch_norm, "instance_norm": _instance_norm}


def _run(lib, norm, x):
    """The output, the input's gradient and the parameters' gradients (or buffers), as float64."""
    f = F if lib is ag else torch.nn.functional
    leaf = (ag.tensor if lib is ag else torch.tensor)(x, requires_grad=True)
    out, extras = NORMS[norm](lib, f, leaf)
    out.backward((ag.ones_like if lib is ag else torch.ones_like)(out))
    arrays = [out, leaf.grad] + [t.grad if t.requires_grad else t for t in extras]
    if lib is ag:
        return [a.numpy().astype(np.float64) for a in arrays]
    return [a.detach().double().numpy() for a in arrays]


LARGE = ([(norm, "float16", scale) for norm in NORMS for scale in (300, 20000)]
         + [(norm, "float32", 1e15) for norm in NORMS]
         # squares past float32's range: 0 from rms_norm and the batch norms, as PyTorch's (1 / sqrt(inf));
         # layer_norm and group_norm: below
         + [(norm, "float32", 1e20) for norm in ("rms_norm", "batch_norm", "instance_norm")])


@pytest.mark.parametrize("norm, dtype, scale", LARGE, ids=[f"{n}-{d}-{s:g}" for n, d, s in LARGE])
def test_large_inputs_normalize_as_torch_without_warnings(device, norm, dtype, scale):
    """float16 values past 256 and float32 values near 1e15 and 1e20: PyTorch's values and
    gradients, and no floating-point warning. A float16 running variance past 65504 is inf in
    both."""
    if device == "strict" and dtype == "float16":
        pytest.skip("the strict backend has no float16")
    x = (np.random.default_rng(0).standard_normal((4, 6, 5)) * scale).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        ours = _run(ag, norm, x)
    theirs = _run(torch, norm, x)
    tolerance = 2e-2 if dtype == "float16" else 2e-4
    for a, b in zip(ours, theirs):
        scale_of_b = np.maximum(np.abs(np.nan_to_num(b, posinf=0)).max(), 1)
        np.testing.assert_allclose(a, b, rtol=tolerance, atol=tolerance * scale_of_b)


@pytest.mark.parametrize("norm", ["layer_norm", "group_norm"])
@pytest.mark.parametrize("scale", [1e20, 1e30, 1e37])
def test_an_overflowing_float32_variance_gives_nan_as_torch(device, norm, scale):
    """Rows whose variance overflows float32: NaN, as PyTorch's (not the 0 of (x - mean) / inf),
    with no warning."""
    x = (np.random.default_rng(0).standard_normal((4, 6, 5)) * scale).astype("float32")
    x[0, 0] = [3e38, -3e38, 1e38, -1e38, 0]  # x - mean overflows too
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        out = F.layer_norm(ag.tensor(x), (5,)) if norm == "layer_norm" else F.group_norm(ag.tensor(x), 6)
    theirs = (torch.nn.functional.layer_norm(torch.tensor(x), (5,)) if norm == "layer_norm"
              else torch.nn.functional.group_norm(torch.tensor(x), 6))
    assert np.isnan(out.numpy()).all()
    if scale > 1e20:  # nearer the threshold PyTorch gives 0 in some rows, NaN in others
        assert torch.isnan(theirs).all()


def test_inputs_with_inf_give_nan_without_warnings(device):
    """An inf in the input: NaN in its row, as PyTorch's, quietly."""
    x = np.random.default_rng(0).standard_normal((4, 6, 5)).astype("float32")
    x[1, 2, 3] = np.inf
    for norm in NORMS:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            ours = _run(ag, norm, x)[0]
        theirs = _run(torch, norm, x)[0]
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs), err_msg=norm)


def _by_running_stats(lib, norm, x, mean, var, weight, bias):
    """Eval batch_norm, or instance_norm by the running statistics: output and gradients (x, weight,
    bias), as float64."""
    f, make = (F, ag.tensor) if lib is ag else (torch.nn.functional, torch.tensor)
    leaf, w, b = make(x, requires_grad=True), make(weight, requires_grad=True), make(bias, requires_grad=True)
    if norm == "batch_norm":
        out = f.batch_norm(leaf, make(mean), make(var), w, b, training=False)
    else:
        out = f.instance_norm(leaf, make(mean), make(var), w, b, use_input_stats=False)
    out.backward((ag.ones_like if lib is ag else torch.ones_like)(out))
    arrays = (out, leaf.grad, w.grad, b.grad)
    if lib is ag:
        return [a.numpy().astype(np.float64) for a in arrays]
    return [a.detach().double().numpy() for a in arrays]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("norm", ["batch_norm", "instance_norm"])
def test_running_statistics_with_infinities_are_quiet_and_give_torchs_values(device, norm, dtype):
    """By the running statistics (eval batch_norm, instance_norm without use_input_stats), an inf
    input, an inf running mean or variance, a zero weight against an inf, an inf bias and a float16
    result past 65504 give PyTorch's infinities and NaNs, in the output and the gradients (whose
    sums meet +inf and -inf), with no NumPy warning: they warned, forward and backward."""
    if device == "strict" and dtype == "float16":
        pytest.skip("the strict backend has no float16")
    x = np.random.default_rng(0).standard_normal((3, 5, 4)).astype(dtype)
    x[0, :, 0], x[1, :, 1], x[2, :, 2] = np.inf, -np.inf, np.nan
    x[2, 4, 3] = 60000  # / sqrt(1e-4): past float16's range
    mean = np.array([0, np.inf, 0, 0, 0], dtype)
    var = np.array([1, 1, np.inf, 1, 1e-4], dtype)
    weight = np.array([1, 1, 1, 0, 2], dtype)
    bias = np.array([0, 0, 0, 0, -np.inf], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        ours = _by_running_stats(ag, norm, x, mean, var, weight, bias)
    theirs = _by_running_stats(torch, norm, x, mean, var, weight, bias)
    for name, a, b in zip(("output", "input gradient", "weight gradient", "bias gradient"), ours, theirs):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=name)
        np.testing.assert_array_equal(np.where(np.isinf(a), a, 0), np.where(np.isinf(b), b, 0), err_msg=name)
        finite = np.isfinite(b)
        np.testing.assert_allclose(a[finite], b[finite], rtol=2e-3 if dtype == "float16" else 1e-6, err_msg=name)
