"""nn.AdaptiveLogSoftmaxWithLoss against PyTorch 2.13 in float64: PyTorch's initialized
weights copied into ours, then output, loss, log_prob, predict and the gradients of
the input and of every parameter (None for a tail no target reached, as PyTorch's)
over several cutoffs, div_value and head_bias settings and batches whose targets hit
every cluster, only the head, or only some clusters; unbatched and empty batches;
second derivatives; each cluster's rows gathered once; submodule names, shapes,
state_dict keys and repr; and the errors, next to PyTorch's where it raises."""
import numpy as np
import pytest

import autograd as ag
import nn

from .torch_compare import named_rng

# PyTorch warns as it initializes the zero-width bottlenecks of a large div_value
pytestmark = pytest.mark.filterwarnings("ignore:Initializing zero-element tensors is a no-op")

# (in_features, n_classes, cutoffs, div_value, head_bias)
SETTINGS = [
    (8, 20, [4, 9, 15], 2.0, True),
    (8, 20, [4, 9, 15], 4.0, False),
    (6, 10, [3], 4.0, False),
    (16, 30, [2, 3, 10, 29], 1.5, True),   # a one-class cluster and a width-16/1.5**4 -> 3 bottleneck
    (5, 12, [6, 8], 8.0, False),           # div_value past in_features: zero-width bottlenecks
]
ID = [f"{s[0]}-{s[1]}-{s[2]}-{s[3]}-{'bias' if s[4] else 'nobias'}" for s in SETTINGS]


def pair(torch, in_features, n_classes, cutoffs, div_value, head_bias):
    """PyTorch's module (float64) and ours holding the same initialized weights."""
    torch.manual_seed(len(cutoffs) * 100 + n_classes)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, cutoffs, div_value, head_bias).double()
    ours = nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, cutoffs, div_value, head_bias, dtype=ag.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def targets_for(n_classes, cutoffs, pattern, rng, n=11):
    bounds = [0] + list(cutoffs) + [n_classes]
    if pattern == "all":  # every cluster, the head too, in shuffled order
        picks = [rng.integers(lo, hi) for lo, hi in zip(bounds, bounds[1:])]
        return rng.permutation(np.concatenate([picks, rng.integers(0, n_classes, n - len(picks))]))
    if pattern == "head":
        return rng.integers(0, cutoffs[0], n)
    if pattern == "last cluster":  # the head's classes and the last cluster's, no other
        return np.where(rng.random(n) < 0.5, rng.integers(0, cutoffs[0], n), rng.integers(bounds[-2], n_classes, n))
    if pattern == "tail only":  # no row in the head's shortlist
        return rng.integers(cutoffs[0], n_classes, n)
    if pattern == "one row":
        return np.array([n_classes - 1])
    raise AssertionError(pattern)


def assert_grads_match(ours, theirs, rtol=1e-10):
    """Same names in the same order; each gradient PyTorch's, or None where PyTorch's is."""
    theirs_params = dict(theirs.named_parameters())
    assert [n for n, _ in ours.named_parameters()] == list(theirs_params)
    for name, p in ours.named_parameters():
        ref = theirs_params[name].grad
        if ref is None:
            assert p.grad is None, name
        else:
            assert p.grad is not None, name
            np.testing.assert_allclose(p.grad.numpy(), ref.numpy(), rtol=rtol, atol=1e-13, err_msg=name)


def run_forward(torch, ours, theirs, x, target, output_grad_seed=None):
    """forward on both; backward of the loss (or of a random weighting of the output plus
    the loss); compares output, loss, the input's gradient and every parameter's."""
    xo, xt = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    got, ref = ours(xo, ag.tensor(target)), theirs(xt, torch.tensor(target))
    assert got._fields == ("output", "loss")
    assert got.output.shape == tuple(ref.output.shape) and got.loss.shape == ()
    np.testing.assert_allclose(got.output.numpy(), ref.output.detach().numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(got.loss.numpy(), ref.loss.detach().numpy(), rtol=1e-10, atol=1e-13)
    total_o, total_t = got.loss, ref.loss
    if output_grad_seed is not None:
        w = np.random.default_rng(output_grad_seed).standard_normal(tuple(ref.output.shape))
        total_o = total_o + (got.output * ag.tensor(w)).sum()
        total_t = total_t + (ref.output * torch.from_numpy(w)).sum()
    total_o.backward()
    total_t.backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-13)
    assert_grads_match(ours, theirs)
    return got


@pytest.mark.parametrize("pattern", ["all", "head", "last cluster", "tail only", "one row"])
@pytest.mark.parametrize("setting", SETTINGS, ids=ID)
def test_forward_loss_and_gradients_match_torch(device, torch, setting, pattern):
    ours, theirs = pair(torch, *setting)
    in_features, n_classes, cutoffs = setting[:3]
    rng = named_rng(f"{setting}{pattern}")
    target = targets_for(n_classes, cutoffs, pattern, rng)
    x = rng.standard_normal((len(target), in_features))
    run_forward(torch, ours, theirs, x, target, output_grad_seed=1)
    if pattern == "head":  # no tail ran, so no tail parameter has a gradient
        assert all(p.grad is None for p in ours.tail.parameters())


@pytest.mark.parametrize("setting", SETTINGS[:3], ids=ID[:3])
def test_log_prob_values_and_gradients_match_torch(device, torch, setting):
    ours, theirs = pair(torch, *setting)
    rng = named_rng(f"log_prob{setting}")
    x = rng.standard_normal((9, setting[0]))
    xo, xt = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    got, ref = ours.log_prob(xo), theirs.log_prob(xt)
    assert got.shape == (9, setting[1])
    np.testing.assert_allclose(got.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(np.exp(got.numpy()).sum(axis=1), 1.0, rtol=1e-12)  # a distribution per row
    w = rng.standard_normal(tuple(ref.shape))
    (got * ag.tensor(w)).sum().backward()
    (ref * torch.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-13)
    assert_grads_match(ours, theirs)
    # forward's output is log_prob at each target
    target = targets_for(setting[1], setting[2], "all", rng, n=9)
    with ag.no_grad():
        output = ours(ag.tensor(x), ag.tensor(target)).output.numpy()
    np.testing.assert_allclose(output, got.numpy()[np.arange(9), target], rtol=1e-12)


@pytest.mark.parametrize("head_shift", [None, -30.0, 30.0], ids=["mixed", "all in shortlist", "all in tail"])
def test_predict_matches_torch_on_each_path(device, torch, head_shift):
    """predict's three paths: every row's best head logit in the shortlist, none, some."""
    in_features, n_classes, cutoffs = 6, 16, [3, 7, 11]
    ours, theirs = pair(torch, in_features, n_classes, cutoffs, 2.0, True)
    with torch.no_grad():  # large cluster logits, so that many rows pick a cluster (or all, or none)
        theirs.head.weight[3:] *= 6.0
        if head_shift is not None:
            theirs.head.bias[3:] += head_shift
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = named_rng(f"predict{head_shift}").standard_normal((40, in_features))
    got, ref = ours.predict(ag.tensor(x)), theirs.predict(torch.tensor(x))
    assert got.dtype == ag.int64 and got.shape == (40,)
    np.testing.assert_array_equal(got.numpy(), ref.numpy())
    np.testing.assert_array_equal(got.numpy(), np.argmax(ours.log_prob(ag.tensor(x)).numpy(), axis=1))
    in_tail = int((got.numpy() >= cutoffs[0]).sum())
    assert in_tail == {None: in_tail if 0 < in_tail < 40 else -1, -30.0: 0, 30.0: 40}[head_shift]


def test_unbatched_input_and_empty_batch_match_torch(device, torch):
    ours, theirs = pair(torch, *SETTINGS[0])
    rng = named_rng("unbatched")
    for target in (2, 6, 19):  # head, first cluster, last cluster
        x = rng.standard_normal(8)
        got = run_forward(torch, ours, theirs, x, np.array(target))
        assert got.output.shape == ()
        ours.zero_grad()
        theirs.zero_grad()
    # an empty batch: an empty output and a NaN loss, as PyTorch's mean of nothing
    got = ours(ag.zeros((0, 8), dtype=ag.float64), ag.zeros((0,), dtype=ag.int64))
    ref = theirs(torch.zeros(0, 8, dtype=torch.float64), torch.zeros(0, dtype=torch.long))
    assert got.output.shape == tuple(ref.output.shape) == (0,)
    assert np.isnan(got.loss.item()) and np.isnan(ref.loss.item())
    assert ours.log_prob(ag.zeros((0, 8), dtype=ag.float64)).shape == (0, 20)
    assert ours.predict(ag.zeros((0, 8), dtype=ag.float64)).shape == (0,)


def test_targets_of_any_integer_dtype(torch):
    ours, theirs = pair(torch, *SETTINGS[0])
    x = named_rng("int32").standard_normal((5, 8))
    target = np.array([0, 4, 19, 9, 15])
    ref = theirs(torch.tensor(x), torch.tensor(target)).output.detach().numpy()
    for dtype in (ag.int32, ag.int64):
        got = ours(ag.tensor(x), ag.tensor(target, dtype=dtype)).output
        np.testing.assert_allclose(got.numpy(), ref, rtol=1e-10)


def test_second_derivatives_match_torch(torch):
    """The gradient of the loss is itself differentiable (every piece is a Tensor op)."""
    ours, theirs = pair(torch, *SETTINGS[0])
    rng = named_rng("second")
    target = targets_for(20, [4, 9, 15], "all", rng, n=7)
    x = rng.standard_normal((7, 8))
    xo, xt = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (go,) = ag.grad(ours(xo, ag.tensor(target)).loss, xo, create_graph=True)
    (gt,) = torch.autograd.grad(theirs(xt, torch.tensor(target)).loss, xt, create_graph=True)
    (go ** 2).sum().backward()
    (gt ** 2).sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-13)
    assert_grads_match(ours, theirs, rtol=1e-9)


def test_each_cluster_runs_once_on_its_own_rows():
    """One call of each reached tail per forward, on exactly that cluster's rows, in batch order."""
    layer = nn.AdaptiveLogSoftmaxWithLoss(4, 12, [3, 6, 9], dtype=ag.float64)
    seen = {i: [] for i in range(3)}
    for i, projection in enumerate(layer.tail):
        projection.register_forward_hook(lambda m, args, out, i=i: seen[i].append(args[0].numpy().copy()))
    x = named_rng("rows").standard_normal((8, 4))
    target = np.array([10, 1, 7, 11, 2, 10, 0, 8])  # cluster 0 (classes 3-5) has no row
    layer(ag.tensor(x), ag.tensor(target))
    assert seen[0] == []
    assert len(seen[1]) == 1 and len(seen[2]) == 1
    np.testing.assert_array_equal(seen[1][0], x[[2, 7]])
    np.testing.assert_array_equal(seen[2][0], x[[0, 3, 5]])


def test_submodules_state_dict_and_repr_match_torch(torch):
    for setting in SETTINGS:
        theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(*setting)
        ours = nn.AdaptiveLogSoftmaxWithLoss(*setting)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert [(n, p.shape) for n, p in ours.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
        assert repr(ours) == repr(theirs)
        for name in ("in_features", "n_classes", "cutoffs", "div_value", "head_bias", "shortlist_size",
                     "n_clusters", "head_size"):
            assert getattr(ours, name) == getattr(theirs, name), name
        assert ours.head.weight.dtype == ag.float32
    # cutoffs may be any iterable of ints, as PyTorch's list() of it
    assert nn.AdaptiveLogSoftmaxWithLoss(4, 10, (c for c in (2, 5))).cutoffs == [2, 5, 10]


def test_initialization_and_reset_parameters():
    layer = nn.AdaptiveLogSoftmaxWithLoss(16, 40, [10, 20], head_bias=True)
    for name, p in layer.named_parameters():
        fan_in = p.shape[-1] if p.ndim == 2 else 16
        bound = 1 / np.sqrt(fan_in)
        assert np.abs(p.numpy()).max() <= bound and np.abs(p.numpy()).max() > 0.5 * bound, name
    before = {k: v.numpy().copy() for k, v in layer.state_dict().items()}
    layer.reset_parameters()
    for k, v in layer.state_dict().items():
        assert not np.array_equal(v.numpy(), before[k]), k


@pytest.mark.parametrize("cutoffs, message", [
    ([], "length larger than 0"),
    ([5, 3], "got 5 before 3"),
    ([3, 3], "got 3 before 3"),
    ([0, 4], "got 0"),
    ([4, 10], "got 10"),
    ([-2], "got -2"),
    ([2.5, 6], "2.5 is not an int"),
])
def test_bad_cutoffs_are_refused_as_by_torch(torch, cutoffs, message):
    with pytest.raises(ValueError, match="unique, positive integers|length larger than 0"):
        torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs)
    with pytest.raises(ValueError, match=message):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs)


def test_bad_constructor_arguments():
    with pytest.raises(TypeError, match="cutoffs must hold ints.*'4'"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, ["4"])
    with pytest.raises(TypeError, match="cutoffs must hold ints.*True"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, [True])
    with pytest.raises(TypeError, match="cutoffs must be a sequence of ints, not int"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, 4)
    for div_value in (0, -2.0):
        with pytest.raises(ValueError, match="div_value must be positive"):
            nn.AdaptiveLogSoftmaxWithLoss(8, 10, [4], div_value=div_value)
    with pytest.raises(TypeError, match="div_value must be a real number"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, [4], div_value="4")
    with pytest.raises(ValueError, match="in_features must be a positive int"):
        nn.AdaptiveLogSoftmaxWithLoss(0, 10, [4])
    with pytest.raises(ValueError, match="n_classes must be a positive int"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 2.0, [1])


@pytest.mark.parametrize("target", [[0, 20, 3], [-1, 2, 3], [-4, 25, 3]])
def test_targets_out_of_range_are_refused_as_by_torch(torch, target):
    ours, theirs = pair(torch, *SETTINGS[0])
    x = np.zeros((3, 8))
    with pytest.raises(RuntimeError, match=r"Target values should be in \[0, 19\]"):
        theirs(torch.tensor(x), torch.tensor(target))
    low, high = min(target), max(target)
    with pytest.raises(ValueError, match=rf"target values should be in \[0, 19\], but values in range "
                                         rf"\[{low}, {high}\] were found"):
        ours(ag.tensor(x), ag.tensor(target))
    with pytest.raises(ValueError, match=r"should be in \[0, 19\]"):  # unbatched too
        ours(ag.tensor(x[0]), ag.tensor(low if low < 0 else high))


def test_bad_inputs_and_targets_are_refused():
    layer = nn.AdaptiveLogSoftmaxWithLoss(8, 20, [4, 9])
    x, target = ag.zeros((3, 8)), ag.tensor([1, 5, 12])
    with pytest.raises(TypeError, match="target must hold integer class indices, not float32"):
        layer(x, ag.tensor([1.0, 5.0, 12.0]))
    with pytest.raises(TypeError, match="target must be a Tensor, not list"):
        layer(x, [1, 5, 12])
    with pytest.raises(TypeError, match="input must be floating point"):
        layer(ag.zeros((3, 8), dtype=ag.int64), target)
    with pytest.raises(ValueError, match=r"1-D target of shape \(2,\) needs a 2-D input of shape \(2, 8\), "
                                         r"got \(3, 8\)"):
        layer(x, ag.tensor([1, 5]))
    with pytest.raises(ValueError, match=r"needs a 2-D input.*got \(3,\)"):
        layer(ag.zeros((3,)), target)
    with pytest.raises(ValueError, match=r"0-d target needs a 1-D input of shape \(8,\), got \(3, 8\)"):
        layer(x, ag.tensor(1))
    with pytest.raises(ValueError, match=r"0-d or 1-D target.*got shape \(3, 1\); multi-target"):
        layer(x, ag.tensor([[1], [5], [12]]))
    with pytest.raises(ValueError, match="input has 6 features.*in_features=8"):
        layer(ag.zeros((3, 6)), target)
    for method in ("log_prob", "predict"):
        with pytest.raises(ValueError, match=rf"{method}: expected an input of shape \(N, 8\), got \(8,\)"):
            getattr(layer, method)(ag.zeros((8,)))
        with pytest.raises(ValueError, match="input has 6 features"):
            getattr(layer, method)(ag.zeros((2, 6)))
