"""F.linear_cross_entropy and nn.LinearCrossEntropyLoss against PyTorch 2.13: values and
the input's, weight's and bias's gradients for each reduction, with class weights,
ignore_index (every target ignored too) and label smoothing, over chunk sizes that do
not divide the batch, in float64 and float32; second derivatives; K-dimensional and
probability targets; the module's parameters, state_dict and repr; the options; errors;
and the memory the chunks save (the peak stays well below the (N, C) logits)."""
import dataclasses
import types

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from benchmarks.memory import TopogradCpuProbe

from tests.torch_versions import needs_torch, torch_older_than

from .torch_compare import named_rng

LCE = needs_torch("2.13", "F.linear_cross_entropy and nn.LinearCrossEntropyLoss are new in 2.13")

REDUCTIONS = ("none", "mean", "sum")
N, D, C = 11, 5, 7
CASES = {  # name: (class weights, ignored rows, label smoothing)
    "plain": (False, (), 0.0),
    "weight": (True, (), 0.0),
    "ignore": (False, (2, 7), 0.0),
    "smoothing": (False, (), 0.2),
    "all": (True, (0, 5, 10), 0.3),
}
CHUNKS = (1, 4, None)  # 4 does not divide N; None is the automatic pick


def _problem(name, ignored=(), n=N, c=C):
    rng = named_rng(name)
    x, w, b = rng.standard_normal((n, D)), rng.standard_normal((c, D)), rng.standard_normal(c)
    t = rng.integers(0, c, n)
    t[list(ignored)] = -100
    return x, w, b, t, rng.uniform(0.3, 2.0, c)


def _both(torch, x, w, b, t, cw, dtype=np.float64, options=None, **kwargs):
    """The loss and the leaves (x, weight, bias) of ours and PyTorch's (its reference path)."""
    ours = [ag.tensor(a.astype(dtype), requires_grad=True) for a in (x, w, b)]
    theirs = [torch.tensor(a.astype(dtype), requires_grad=True) for a in (x, w, b)]
    loss = F.linear_cross_entropy(ours[0], ours[1], ag.tensor(t), linear_bias=ours[2],
                                  weight=None if cw is None else ag.tensor(cw.astype(dtype)), options=options,
                                  **kwargs)
    ref = torch.nn.functional.linear_cross_entropy(
        theirs[0], theirs[1], torch.tensor(t), linear_bias=theirs[2],
        weight=None if cw is None else torch.tensor(cw.astype(dtype)), **kwargs)
    return loss, ref, ours, theirs


def _backward_both(loss, ref, seed=0):
    g = np.random.default_rng(seed).standard_normal(tuple(ref.shape))
    loss.backward(ag.tensor(g.astype(loss.numpy().dtype)))
    ref.backward(ref.new_tensor(g))


def _assert_grads(ours, theirs, rtol, atol):
    for name, a, b in zip(("input", "linear_weight", "linear_bias"), ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol, err_msg=name)


@LCE
@pytest.mark.parametrize("chunk", CHUNKS)
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_values_and_gradients_float64(torch, device, reduction, case, chunk):
    use_weight, ignored, smoothing = CASES[case]
    x, w, b, t, cw = _problem(case, ignored)
    options = nn.LinearCrossEntropyOptions(batch_chunk_size=chunk)
    loss, ref, ours, theirs = _both(torch, x, w, b, t, cw if use_weight else None, options=options,
                                    reduction=reduction, label_smoothing=smoothing)
    assert loss.shape == tuple(ref.shape)
    np.testing.assert_allclose(loss.numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    _backward_both(loss, ref)
    _assert_grads(ours, theirs, 1e-10, 1e-12)


@LCE
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_values_and_gradients_float32(torch, reduction):
    x, w, b, t, cw = _problem("float32", (3,), n=40, c=300)
    loss, ref, ours, theirs = _both(torch, x, w, b, t, cw, np.float32, nn.LinearCrossEntropyOptions(batch_chunk_size=7),
                                    reduction=reduction, label_smoothing=0.1)
    assert loss.numpy().dtype == np.float32
    np.testing.assert_allclose(loss.numpy(), ref.detach().numpy(), rtol=2e-5, atol=1e-5)
    _backward_both(loss, ref)
    for a in ours:
        assert a.grad.numpy().dtype == np.float32
    _assert_grads(ours, theirs, 2e-4, 2e-5)


@LCE
@pytest.mark.parametrize("input_dtype", [np.float32, np.float16])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_under_autocast_runs_linear_in_float16_and_the_loss_in_float32_as_torchs(torch, reduction, input_dtype):
    # It ignored autocast (float32 all through), and a float16 activation with the float32
    # head was refused; PyTorch's default path is linear then cross_entropy, each autocast.
    x, w, b, t, _ = _problem("autocast", (4,))
    ours = [ag.tensor(a.astype(d), device="cpu", requires_grad=True)
            for a, d in ((x, input_dtype), (w, np.float32), (b, np.float32))]
    theirs = [torch.tensor(a.astype(d), requires_grad=True) for a, d in ((x, input_dtype), (w, np.float32),
                                                                        (b, np.float32))]
    with ag.autocast("cpu"):
        loss = F.linear_cross_entropy(ours[0], ours[1], ag.tensor(t, device="cpu"), linear_bias=ours[2],
                                      reduction=reduction, label_smoothing=0.1)
    with torch.autocast("cpu", dtype=torch.float16):
        ref = torch.nn.functional.linear_cross_entropy(theirs[0], theirs[1], torch.tensor(t), linear_bias=theirs[2],
                                                       reduction=reduction, label_smoothing=0.1)
    assert str(loss.dtype) == str(ref.dtype).replace("torch.", "") == "float32"
    np.testing.assert_allclose(loss.numpy(), ref.detach().numpy(), rtol=2e-3, atol=2e-3)
    _backward_both(loss, ref)
    for a, b_ in zip(ours, theirs):
        assert str(a.grad.dtype) == str(b_.grad.dtype).replace("torch.", "")
    _assert_grads(ours, theirs, 1e-2, 1e-2)


@LCE
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_every_target_ignored(torch, reduction):
    """'mean' is NaN, as PyTorch's, with gradients of 0; 'sum' and 'none' are 0."""
    x, w, b, t, cw = _problem("ignored", range(N))
    loss, ref, ours, theirs = _both(torch, x, w, b, t, cw, options=nn.LinearCrossEntropyOptions(batch_chunk_size=3),
                                    reduction=reduction, label_smoothing=0.2)
    np.testing.assert_allclose(loss.numpy(), ref.detach().numpy(), rtol=0, atol=0)
    assert np.isnan(loss.numpy()).all() == (reduction == "mean")
    _backward_both(loss, ref)
    _assert_grads(ours, theirs, 0, 0)
    assert not ours[0].grad.numpy().any() and not ours[1].grad.numpy().any()


@LCE
def test_a_nonfinite_input_row_that_is_ignored(torch):
    """An ignored row's logits count as 0, as cross_entropy's: its inf input leaves the
    loss PyTorch's, and its input gradient 0 (a README difference: PyTorch's is NaN); the
    gradients are those of the composed linear and cross_entropy."""
    x, w, b, t, cw = _problem("inf", (4,))
    x[4, 1] = np.inf
    with np.errstate(invalid="ignore"):
        loss, ref, ours, _ = _both(torch, x, w, b, t, cw, options=nn.LinearCrossEntropyOptions(batch_chunk_size=3))
        np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-12)
        loss.backward()
        composed = [ag.tensor(a, requires_grad=True) for a in (x, w, b)]
        F.cross_entropy(F.linear(*composed), ag.tensor(t), weight=ag.tensor(cw)).backward()
    assert not ours[0].grad.numpy()[4].any() and np.isfinite(ours[0].grad.numpy()).all()
    for a, r in zip(ours, composed):
        np.testing.assert_allclose(a.grad.numpy(), r.grad.numpy(), rtol=1e-10, atol=1e-12)


@LCE
@pytest.mark.parametrize("reduction", ("mean", "none"))
def test_second_derivatives(torch, reduction):
    """create_graph recomputes through linear and cross_entropy: the gradients' own
    gradients are PyTorch's."""
    x, w, b, t, cw = _problem("second", (6,))
    loss, ref, ours, theirs = _both(torch, x, w, b, t, cw, options=nn.LinearCrossEntropyOptions(batch_chunk_size=4),
                                    reduction=reduction, label_smoothing=0.2)
    r = np.random.default_rng(1).standard_normal(tuple(ref.shape))
    grads = ag.grad(loss, ours, ag.tensor(r), create_graph=True)
    ref_grads = torch.autograd.grad(ref, theirs, torch.tensor(r), create_graph=True)
    for g, rg in zip(grads, ref_grads):
        np.testing.assert_allclose(g.numpy(), rg.detach().numpy(), rtol=1e-10, atol=1e-12)
    sum((g * g).sum() for g in grads).backward()
    sum((g * g).sum() for g in ref_grads).backward()
    _assert_grads(ours, theirs, 1e-9, 1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_and_gradgradcheck(device, reduction):
    x, w, b, t, cw = _problem("gradcheck", (3,), n=5, c=4)
    leaves = [ag.tensor(a, requires_grad=True) for a in (x, w, b)]
    options = nn.LinearCrossEntropyOptions(batch_chunk_size=2)

    def loss(x, w, b):
        return F.linear_cross_entropy(x, w, ag.tensor(t), linear_bias=b, weight=ag.tensor(cw), reduction=reduction,
                                      label_smoothing=0.2, options=options)
    assert ag.gradcheck(loss, leaves)
    assert ag.gradgradcheck(loss, leaves)


@LCE
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_retain_graph_backward_twice(torch, reduction):
    x, w, b, t, cw = _problem("twice", (1,))
    loss, ref, ours, theirs = _both(torch, x, w, b, t, cw, options=nn.LinearCrossEntropyOptions(batch_chunk_size=5),
                                    reduction=reduction)
    g = ag.tensor(np.ones(loss.shape))
    loss.backward(g, retain_graph=True)
    loss.backward(g)
    ref.backward(torch.ones(ref.shape), retain_graph=True)
    ref.backward(torch.ones(ref.shape))
    _assert_grads(ours, theirs, 1e-10, 1e-12)


@LCE
def test_only_the_gradients_asked_for(torch):
    """A frozen weight and no bias: the input alone gets a gradient, PyTorch's."""
    x, w, _, t, _ = _problem("frozen")
    xo, xt = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    wo = ag.tensor(w)
    F.linear_cross_entropy(xo, wo, ag.tensor(t), reduction="sum").backward()
    torch.nn.functional.linear_cross_entropy(xt, torch.tensor(w), torch.tensor(t), reduction="sum").backward()
    assert wo.grad is None
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-10)


@LCE
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_unbatched_input(torch, reduction):
    x, w, b, t, cw = _problem("unbatched")
    loss, ref, ours, theirs = _both(torch, x[0], w, b, np.int64(t[0]), cw, reduction=reduction, label_smoothing=0.1)
    assert loss.shape == tuple(ref.shape) == ()
    np.testing.assert_allclose(loss.numpy(), ref.detach().numpy(), rtol=1e-12)
    _backward_both(loss, ref)
    _assert_grads(ours, theirs, 1e-10, 1e-12)


@LCE
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_empty_batch(torch, reduction):
    x, w, b, t, cw = _problem("empty", n=0)
    loss, ref, ours, theirs = _both(torch, x, w, b, t, cw, reduction=reduction)
    assert loss.shape == tuple(ref.shape)
    np.testing.assert_allclose(loss.numpy(), ref.detach().numpy())
    _backward_both(loss, ref)
    _assert_grads(ours, theirs, 0, 0)


@LCE
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_probability_targets(torch, reduction):
    x, w, b, _, cw = _problem("probabilities")
    p = named_rng("p").dirichlet(np.ones(C), N)
    loss, ref, ours, theirs = _both(torch, x, w, b, p, cw, reduction=reduction, label_smoothing=0.1)
    np.testing.assert_allclose(loss.numpy(), ref.detach().numpy(), rtol=1e-12)
    _backward_both(loss, ref)
    _assert_grads(ours, theirs, 1e-10, 1e-12)


def _module_pair(torch, seed, **kwargs):
    ours = nn.LinearCrossEntropyLoss(D, C, dtype=ag.float64, **kwargs)
    theirs_kwargs = {k: v for k, v in kwargs.items() if k != "options"}
    if kwargs.get("weight") is not None:
        theirs_kwargs["weight"] = torch.tensor(kwargs["weight"].numpy())
    theirs = torch.nn.LinearCrossEntropyLoss(D, C, dtype=torch.float64, **theirs_kwargs)
    rng = named_rng(f"module{seed}")
    for name, p in ours.named_parameters():
        p.data[...] = rng.standard_normal(p.shape)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    return ours, theirs


@LCE
@pytest.mark.parametrize("bias", (False, True))
def test_module_parameters_state_dict_and_repr(torch, bias):
    ours, theirs = _module_pair(torch, 0, out_features=(2, 3), bias=bias)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    assert ours.linear.in_features == D and ours.linear.out_features == C * 6


@LCE
@pytest.mark.parametrize("out_features", ((), (3,), (2, 3)))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_module_against_torch(torch, reduction, out_features):
    """The flat weight and bias, seen as (C, *out_features, in) and (C, *out_features),
    with a K-dimensional target where out_features is given."""
    cw = named_rng("cw").uniform(0.5, 2, C)
    ours, theirs = _module_pair(torch, 1, out_features=out_features, bias=True, reduction=reduction,
                                weight=ag.tensor(cw), ignore_index=4, label_smoothing=0.15,
                                options=None if out_features else nn.LinearCrossEntropyOptions(batch_chunk_size=3))
    rng = named_rng("module-data")
    x, t = rng.standard_normal((N, D)), rng.integers(0, C, (N,) + out_features)
    xo, xt = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    loss, ref = ours(xo, ag.tensor(t)), theirs(xt, torch.tensor(t))
    assert loss.shape == tuple(ref.shape)
    np.testing.assert_allclose(loss.numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    _backward_both(loss, ref)
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.linear.weight.grad.numpy(), theirs.linear.weight.grad.numpy(), rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(ours.linear.bias.grad.numpy(), theirs.linear.bias.grad.numpy(), rtol=1e-10,
                               atol=1e-12)


def test_module_default_initialization_is_linears():
    """U(+-1/sqrt(in_features)), as nn.Linear (and PyTorch's module) initializes it."""
    loss = nn.LinearCrossEntropyLoss(16, 500, bias=True)
    for p in (loss.linear.weight, loss.linear.bias):
        values = p.numpy()
        assert np.abs(values).max() <= 0.25 and np.abs(values).max() > 0.24


def test_options_fields_and_chunk_sizes_are_pytorchs(torch):
    options = pytest.importorskip("torch.nn.modules.linear_cross_entropy_options")
    assert [f.name for f in dataclasses.fields(nn.LinearCrossEntropyOptions)] == \
        [f.name for f in dataclasses.fields(torch.nn.LinearCrossEntropyOptions)]
    for method in ("aspect_ratio", "aspect_ratio:2", "aspect_ratio:8", None):
        for size in (None, 5):
            for n, d, c in ((1000, 64, 50000), (64, 512, 1000), (37, 3, 999), (5, 4, 7)):
                theirs = options.LinearCrossEntropyOptions(chunking_method=method, batch_chunk_size=size)
                try:
                    expected = theirs._adjust(n, d, c, torch.float32).batch_chunk_size
                except ValueError:
                    with pytest.raises(ValueError, match="give different chunk sizes"):
                        nn.LinearCrossEntropyOptions(chunking_method=method, batch_chunk_size=size).chunk_rows(n, d, c)
                    continue
                ours = nn.LinearCrossEntropyOptions(chunking_method=method, batch_chunk_size=size)
                assert ours.chunk_rows(n, d, c) == expected, (method, size, n, d, c)


def test_automatic_chunks_are_large_enough_for_the_gemms():
    """"auto" is PyTorch's "aspect_ratio:2" with at least 64 rows (or the whole batch)."""
    auto = nn.LinearCrossEntropyOptions()
    assert auto.chunk_rows(512, 64, 32768) == 64
    assert auto.chunk_rows(20, 64, 32768) == 20
    assert auto.chunk_rows(8192, 4096, 131072) == 128
    assert auto.chunk_rows(100, 64, 32768) == 64
    assert nn.LinearCrossEntropyOptions(batch_chunk_size=10).chunk_rows(512, 64, 32768) == 10


@LCE
@pytest.mark.parametrize("kwargs, message", [
    ({"acc_policy": "fast"}, "acc_policy must be"),
    ({"chunking_method": "square"}, "chunking_method must be"),
    ({"chunking_method": "aspect_ratio:0"}, "chunking_method must be"),
    ({"batch_chunk_size": 0}, "batch_chunk_size must be a positive int"),
    ({"batch_chunk_size": 2.0}, "batch_chunk_size must be a positive int"),
])
def test_bad_options(torch, kwargs, message):
    with pytest.raises(ValueError):
        torch.nn.LinearCrossEntropyOptions(**kwargs)
    with pytest.raises(ValueError, match=message):
        nn.LinearCrossEntropyOptions(**kwargs)


def _call_both(torch, x_shape=(N, D), w_shape=(C, D), b_shape=None, t=None, **kwargs):
    rng = named_rng("errors")
    arrays = [rng.standard_normal(s) for s in (x_shape, w_shape)]
    t = rng.integers(0, C, x_shape[:-1]) if t is None else t
    b = None if b_shape is None else rng.standard_normal(b_shape)
    calls = []
    for lib, F_ in ((ag, F), (torch, torch.nn.functional)):
        bias = None if b is None else lib.tensor(b)
        calls.append(lambda F_=F_, lib=lib, bias=bias: F_.linear_cross_entropy(
            lib.tensor(arrays[0]), lib.tensor(arrays[1]), lib.tensor(t), linear_bias=bias, **kwargs))
    return calls


@pytest.mark.parametrize("args, error, message", [
    ({"x_shape": (2, N, D)}, ValueError, "expected an input of shape \\(in_features,\\) or \\(N, in_features\\)"),
    ({"w_shape": (D,)}, ValueError, "linear_weight must be \\(C, in_features\\)"),
    ({"w_shape": (C, D + 1)}, ValueError, "expects 6"),
    ({"b_shape": (C + 1,)}, ValueError, "linear_bias must have shape \\(7,\\)"),
    ({"x_shape": (D,), "w_shape": (C, 2, D), "t": np.zeros((2,), np.int64)}, ValueError, "needs a batched input"),
    ({"t": np.full(N, C)}, ValueError, "target 7 is out of bounds for 7 classes"),
    ({"t": np.zeros(N + 1, np.int64)}, ValueError, "needs a target of shape \\(11,\\)"),
    ({"label_smoothing": 1.5}, ValueError, "label_smoothing must lie in \\[0, 1\\]"),
    ({"reduction": "batchmean"}, ValueError, "reduction must be 'mean', 'sum' or 'none'"),
    ({"t": np.full((N, C), 1 / C), "ignore_index": 3}, ValueError, "ignore_index applies to class-index targets"),
])
def test_errors_where_pytorch_refuses(torch, args, error, message):
    ours, theirs = _call_both(torch, **args)
    if not torch_older_than("2.13"):  # (before, PyTorch had no linear_cross_entropy to refuse them)
        with pytest.raises(Exception):
            theirs()
    with pytest.raises(error, match=message):
        ours()


def test_option_errors():
    x, w, t = ag.tensor(np.ones((3, 2))), ag.tensor(np.ones((4, 2))), ag.tensor(np.zeros(3, np.int64))
    with pytest.raises(TypeError, match="options must be a LinearCrossEntropyOptions"):
        F.linear_cross_entropy(x, w, t, options={"batch_chunk_size": 2})
    with pytest.raises(ValueError, match="acc_dtype=float32 is not the input's dtype float64"):
        F.linear_cross_entropy(x, w, t, options=nn.LinearCrossEntropyOptions(acc_dtype=ag.float32))
    with pytest.raises(ValueError, match="give different chunk sizes"):
        F.linear_cross_entropy(x, w, t, options=nn.LinearCrossEntropyOptions(batch_chunk_size=1,
                                                                              chunking_method="aspect_ratio"))
    with pytest.raises(ValueError, match="weight must have one value per class, shape \\(4,\\)"):
        nn.LinearCrossEntropyLoss(2, 4, weight=ag.tensor(np.ones(3)))
    with pytest.raises(ValueError, match="label_smoothing must lie in \\[0, 1\\]"):
        nn.LinearCrossEntropyLoss(2, 4, label_smoothing=-0.1)


@LCE
def test_options_with_a_k_dimensional_weight_warn_as_pytorchs(torch):
    x, w = np.ones((3, 2)), np.ones((4, 5, 2))
    t = np.zeros((3, 5), np.int64)
    with pytest.warns(UserWarning, match="options"):
        torch.nn.functional.linear_cross_entropy(torch.tensor(x), torch.tensor(w), torch.tensor(t),
                                                 options=torch.nn.LinearCrossEntropyOptions())
    with pytest.warns(UserWarning, match="options are ignored for a K-dimensional weight"):
        loss = F.linear_cross_entropy(ag.tensor(x), ag.tensor(w), ag.tensor(t),
                                      options=nn.LinearCrossEntropyOptions())
    np.testing.assert_allclose(loss.item(), np.log(4))


@pytest.mark.parametrize("reduction", ("mean", "none"))
@pytest.mark.parametrize("chunk", (None, 16))
def test_peak_memory_stays_well_below_the_logits(chunk, reduction):
    """Forward and backward over N=1024 rows and C=16384 classes in float32: the logits
    alone would take 64 MiB; the chunks keep the peak (tracemalloc plus the scratch
    pool's blocks, as the memory benchmark measures it) under a quarter of that. The
    result is checked against the composed ops afterwards."""
    rng = named_rng("memory")
    n, d, c = 1024, 8, 16384
    # on the CPU, whatever the default device: the probe counts host memory (tracemalloc)
    x = ag.tensor(rng.standard_normal((n, d)).astype(np.float32), device="cpu", requires_grad=True)
    w = ag.tensor((rng.standard_normal((c, d)) * 0.3).astype(np.float32), device="cpu", requires_grad=True)
    t = ag.tensor(rng.integers(0, c, n), device="cpu")
    options = nn.LinearCrossEntropyOptions(batch_chunk_size=chunk)
    losses = []

    def step():
        loss = F.linear_cross_entropy(x, w, t, options=options, label_smoothing=0.1, reduction=reduction).sum()
        loss.backward()
        losses.append(loss.item())

    peak = TopogradCpuProbe().measure(types.SimpleNamespace(call=step, sync=None))
    assert peak < n * c * 4 / 4, f"peak {peak / 2**20:.1f} MiB"
    fused = (x.grad.numpy().copy(), w.grad.numpy().copy())
    x.grad = w.grad = None
    composed = F.cross_entropy(F.linear(x, w), t, label_smoothing=0.1, reduction=reduction).sum()
    composed.backward()
    np.testing.assert_allclose(losses[-1], composed.item(), rtol=1e-5)
    np.testing.assert_allclose(fused[0], x.grad.numpy(), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(fused[1], w.grad.numpy(), rtol=1e-4, atol=1e-8)


def test_backward_does_not_hold_the_weight_gradient_twice():
    """For 'mean' and 'sum' forward makes the gradients; backward scales them where they
    are (unless retain_graph), so its peak adds no second weight-sized array (a 32 MiB
    weight here), and the result is the scaled gradient."""
    import tracemalloc
    rng = named_rng("backward memory")
    n, d, c = 64, 512, 16384
    x = ag.tensor(rng.standard_normal((n, d)).astype(np.float32), requires_grad=True)
    w = ag.tensor((rng.standard_normal((c, d)) * 0.05).astype(np.float32), requires_grad=True)
    t = ag.tensor(rng.integers(0, c, n))
    loss = F.linear_cross_entropy(x, w, t) * 3
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        loss.backward()
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert peak < c * d * 4 / 2, f"backward's peak {peak / 2**20:.1f} MiB"
    fused = w.grad.numpy().copy()
    w.grad = None
    (F.cross_entropy(F.linear(x, w), t) * 3).backward()
    np.testing.assert_allclose(fused, w.grad.numpy(), rtol=1e-4, atol=1e-8)
