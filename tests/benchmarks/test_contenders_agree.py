"""Every benchmark's contenders compute the same thing. Each contender is set up as the
suite sets it up (``cases.all_benchmarks``, quick sizes) and its call run on the same
inputs; its outputs, input gradients and updated parameters must match the others' to
float32 rounding. A contender that skipped work the others do (an input gradient, the
optimizer's update, requires_grad), trained from other weights, kept gradients from one
call to the next or ran a different number of steps would differ here, and its ratio in
the report would compare unlike work. Nothing here is timed."""
import collections
import itertools

import numpy as np
import pytest

import autograd as ag
from benchmarks import attention, cases, embedding_bag, interleaved, norm_layers, recurrent_layers
from benchmarks.contender import FLOOR, TOPOGRAD, TORCH
from benchmarks.settings import Settings

torch = pytest.importorskip("torch")

BENCHMARKS = {b.name: b for b in cases.all_benchmarks(Settings(quick=True))}
STEP_FAMILIES = ("training", "memory", "sweep", "optimizer")
STEPS = sorted(name for name, b in BENCHMARKS.items() if b.family in STEP_FAMILIES)
CHAINS = sorted(name for name, b in BENCHMARKS.items() if b.family == "overhead")
THROUGHPUT = sorted(name for name, b in BENCHMARKS.items() if b.family == "throughput")
TOL = dict(rtol=1e-4, atol=1e-5)


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def _numpy(value):
    """A contender's array or tensor (PyTorch, topograd on any backend, NumPy) as a NumPy array."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, ag.Tensor):
        return value.numpy()
    return np.asarray(value)


def _prepared(name):
    """{label: Prepared} of every contender of the quick run's benchmark ``name``, and the labels by kind."""
    bench = BENCHMARKS[name]
    assert {c.kind for c in bench.contenders} == {TOPOGRAD, FLOOR, TORCH}
    # Not seed 0: topograd's own initialization from it draws the very weights the specs give.
    ag.manual_seed(1)
    torch.manual_seed(1)
    return {c.label: c.setup() for c in bench.contenders}, {c.label: c.kind for c in bench.contenders}


def _torch_label(kinds):
    (label,) = (label for label, kind in kinds.items() if kind == TORCH)
    return label


@pytest.mark.parametrize("name", STEPS)
def test_training_and_optimizer_steps_update_parameters_alike(name):
    """Three calls of each contender's step from the same weights: every parameter moves
    by what PyTorch's moves, to 1% of the largest update (float32 rounding leaves far less).
    Three calls, so that gradients left from one step (no zero_grad) or optimizer state kept
    wrongly show."""
    prepared, kinds = _prepared(name)
    before = {label: {k: _numpy(v).copy() for k, v in p.state().items()} for label, p in prepared.items()}
    for p in prepared.values():
        for _ in range(3):
            p.call()
    reference = _torch_label(kinds)
    moved = {label: {k: _numpy(v) - before[label][k] for k, v in p.state().items()}
             for label, p in prepared.items()}
    for label in prepared:
        assert set(moved[label]) == set(moved[reference]), label
        for key, update in moved[label].items():
            expected = moved[reference][key]
            scale = np.abs(expected).max()
            assert scale > 0, (reference, key)  # the step did move it
            assert before[label][key].dtype == np.float32 and update.shape == expected.shape, (label, key)
            np.testing.assert_allclose(before[label][key], before[reference][key], err_msg=f"{label} {key}")
            np.testing.assert_allclose(update, expected, rtol=1e-2, atol=1e-2 * scale, err_msg=f"{label} {key}")


@pytest.mark.parametrize("name", CHAINS)
def test_chain_contenders_give_the_same_value_and_input_gradient(name):
    """Each call gives the chain's value and, where the benchmark includes backward, x's
    gradient. The second call is compared, so a gradient added onto the first one's
    shows; without backward no contender may compute a gradient, and topograd and
    PyTorch must record the graph (x requires grad)."""
    prepared, kinds = _prepared(name)
    backward = name != "overhead/chain-forward"
    results = {}
    for label, p in prepared.items():
        p.call()
        results[label] = p.call()
    floor_value, floor_grad = results[next(label for label, kind in kinds.items() if kind == FLOOR)]
    # x's gradient has shrunk through the chain to 5e-19 at most (some of it is denormal, some 0):
    # an absolute tolerance would pass any tiny gradient, so it is taken relative to that scale
    grad_tol = dict(rtol=1e-3, atol=1e-6 * np.abs(floor_grad).max()) if backward else None
    for label, (value, grad) in results.items():
        assert _numpy(value).shape == () and _numpy(value).dtype == np.float32, label
        np.testing.assert_allclose(_numpy(value), _numpy(floor_value), rtol=1e-5, err_msg=label)
        if kinds[label] != FLOOR:
            assert value.requires_grad, f"{label} did not record the chain"
        if backward:
            assert _numpy(grad).shape == (16,), label
            np.testing.assert_allclose(_numpy(grad), floor_grad, **grad_tol, err_msg=label)
        else:
            assert grad is None, label


@pytest.mark.parametrize("name", THROUGHPUT)
def test_throughput_contenders_give_the_same_output(name):
    """matmul and conv2d forward: the same (N, C, H, W) result from the same operands,
    recorded for backward by topograd and PyTorch (their operands require grad)."""
    prepared, kinds = _prepared(name)
    outputs = {label: p.call() for label, p in prepared.items()}
    expected = _numpy(outputs[_torch_label(kinds)])
    for label, out in outputs.items():
        if kinds[label] != FLOOR:
            assert out.requires_grad, f"{label} did not record the op"
        assert _numpy(out).dtype == np.float32 and _numpy(out).shape == expected.shape, label
        np.testing.assert_allclose(_numpy(out), expected, **TOL, err_msg=label)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_recurrent_layer_contenders_compute_the_same_loss(kind):
    """topograd's layer, run as one op or step by step, and PyTorch's: the same weights,
    so the same loss."""
    losses = {who: float(_numpy(call())) for who, call in recurrent_layers.contenders(kind).items()}
    assert losses["one op"] == pytest.approx(losses["torch"], rel=1e-4)
    assert losses["step by step"] == pytest.approx(losses["torch"], rel=1e-4)


@pytest.mark.parametrize("case", sorted(norm_layers.CASES))
def test_norm_layer_contenders_compute_the_same_output(case):
    shape, build = norm_layers.CASES[case]
    outputs = {who: _numpy(call()) for who, call in norm_layers.contenders(shape, build).items()}
    np.testing.assert_allclose(outputs["topograd"], outputs["torch"], **TOL)


@pytest.mark.parametrize("case", sorted(embedding_bag.CASES))
def test_embedding_bag_contenders_compute_the_same_output(case):
    outputs = {who: _numpy(call()) for who, call in embedding_bag.contenders(*embedding_bag.CASES[case]).items()}
    np.testing.assert_allclose(outputs["topograd"], outputs["torch"], **TOL)


@pytest.mark.parametrize("index", range(3))
def test_attention_contenders_compute_the_same_output_and_gradients(index):
    """``python -m benchmarks.attention``: topograd's module and PyTorch's, as the script pairs
    them, give the same output, input gradient and parameter gradients from the same input.
    Both time training mode (the encoder's dropout draws differ there), so the values are
    compared with dropout off (eval), after checking that both run in training mode. The
    script's loss, the outputs' sum, has a gradient of 0 through the encoder's last LayerNorm
    (rounding noise, which cannot be compared); fixed weights on the outputs give one that is not."""
    import nn
    name, ours, theirs, call = attention.loaded_cases(ag, nn, torch)[index]
    assert ours.training and theirs.training, name
    x, w = np.random.default_rng(0).standard_normal((2, 4, 8, attention.WIDTH)).astype(np.float32)
    ours.eval()
    theirs.eval()
    xo, xt = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = call(ours, xo), call(theirs, xt)
    np.testing.assert_allclose(_numpy(yo), _numpy(yt), **TOL, err_msg=name)
    (yo * ag.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    grads_ours = {"x": xo.grad, **{k: v.grad for k, v in ours.named_parameters()}}
    grads_theirs = {"x": xt.grad, **{k: v.grad for k, v in theirs.named_parameters()}}
    assert set(grads_ours) == set(grads_theirs), name
    for key, expected in grads_theirs.items():
        expected = _numpy(expected)
        assert np.abs(expected).max() > 0, (name, key)
        np.testing.assert_allclose(_numpy(grads_ours[key]), expected, rtol=1e-3,
                                   atol=1e-4 * np.abs(expected).max(), err_msg=f"{name} {key}")


def test_interleaved_rounds_let_each_contender_follow_every_other_equally_often():
    """The standalone scripts' timing (three contenders in recurrent_layers): within the
    timed rounds each contender's call follows each other one's equally often, as in
    the suite's runner, instead of always following the same one."""
    log = []
    calls = {who: (lambda who=who: log.append(who)) for who in "abc"}
    interleaved.median_times(calls, rounds=6)
    timed = log[len(calls):]  # after one warm-up call each
    rounds = [timed[i:i + len(calls)] for i in range(0, len(timed), len(calls))]
    assert all(sorted(r) == sorted(calls) for r in rounds)
    follows = collections.Counter(pair for r in rounds for pair in zip(r, r[1:]))
    assert follows == {pair: 2 for pair in itertools.permutations("abc", 2)}


@pytest.mark.parametrize("case", ["gelu", "pdist", "depthwise3x3-stride2", "grid_sample"])
def test_op_path_contenders_compute_the_same_output(case, monkeypatch):
    """``python -m benchmarks.op_paths``: both contenders of a case compute the same op
    (at a smaller size here, to keep the test quick)."""
    from benchmarks import op_paths
    op, shapes, dtype = op_paths.CASES[case]
    small = [tuple(min(n, 8) if i < len(s) - 1 or s[-1] != 2 else n for i, n in enumerate(s)) for s in shapes]
    monkeypatch.setitem(op_paths.CASES, case, (op, small, dtype))
    outputs = {who: _numpy(call()) for who, call in op_paths.contenders(case).items()}
    np.testing.assert_allclose(outputs["topograd"], outputs["torch"], **TOL)
