"""The sequence ops nn_fused.rnn_sequence, lstm_sequence and gru_sequence (a whole
one-direction layer in one op, which nn.RNN, nn.LSTM without proj_size and nn.GRU use)
against a loop of the step ops, which the layers used before: values, the final states,
first derivatives for every combination of used outputs and inputs that need them,
second derivatives, both directions, and freeing what they saved (retain_graph)."""
import numpy as np
import pytest

import autograd as ag
from autograd.ops import nn_fused

STEPS, BATCH, HIDDEN = 4, 3, 2


def lstm_loop(projected, h0, c0, w_hh_t, steps, reverse):
    return _loop(projected, (h0, c0), steps, reverse, lambda gx, state: nn_fused.lstm_step(gx, *state, w_hh_t))


def gru_loop(projected, h0, w_hh_t, b_hh, steps, reverse):
    return _loop(projected, (h0,), steps, reverse, lambda gx, state: (nn_fused.gru_step(gx, state[0], w_hh_t, b_hh),))


def rnn_loop(nonlinearity):
    def loop(projected, h0, w_hh_t, steps, reverse):
        return _loop(projected, (h0,), steps, reverse,
                     lambda gx, state: (nn_fused.rnn_step(gx, state[0], w_hh_t, nonlinearity),))
    return loop


def rnn_sequence(nonlinearity):
    return lambda projected, h0, w_hh_t, steps, reverse=False: nn_fused.rnn_sequence(projected, h0, w_hh_t,
                                                                                     nonlinearity, steps, reverse)


def _loop(projected, state, steps, reverse, step):
    """The reference: the step op once per time step, in the direction's order; returns
    every h stacked, then the final state."""
    rows = ag.split(projected, steps, axis=0)
    hs = [None] * steps
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        state = step(rows[t], state)
        hs[t] = state[0]
    return (ag.stack(hs, axis=0), *state)


# name: (the op, the reference, its inputs' shapes, the names of its outputs)
CELLS = {
    "lstm": (nn_fused.lstm_sequence, lstm_loop,
             ((STEPS * BATCH, 4 * HIDDEN), (BATCH, HIDDEN), (BATCH, HIDDEN), (HIDDEN, 4 * HIDDEN)), ("hs", "h_n", "c_n")),
    "gru": (nn_fused.gru_sequence, gru_loop,
            ((STEPS * BATCH, 3 * HIDDEN), (BATCH, HIDDEN), (HIDDEN, 3 * HIDDEN), (3 * HIDDEN,)), ("hs", "h_n")),
    **{f"rnn-{act}": (rnn_sequence(act), rnn_loop(act), ((STEPS * BATCH, HIDDEN), (BATCH, HIDDEN), (HIDDEN, HIDDEN)),
                      ("hs", "h_n")) for act in ("tanh", "relu")},
}


def make_inputs(cell, needs, seed=3):
    rng = np.random.default_rng(seed)
    return [ag.tensor(rng.standard_normal(shape) * 1.5, dtype=ag.float64, requires_grad=need)
            for shape, need in zip(CELLS[cell][2], needs)]


def loss_of(cell, run, used, reverse, seed=4):
    """A weighted sum of the outputs named in ``used``."""
    rng = np.random.default_rng(seed)
    names = CELLS[cell][3]
    weights = {name: rng.standard_normal((STEPS, BATCH, HIDDEN) if name == "hs" else (BATCH, HIDDEN))
               for name in names}

    def loss(*inputs):
        outputs = dict(zip(names, run(*inputs, STEPS, reverse)))
        return sum((outputs[name] * ag.tensor(weights[name])).sum() for name in used if name in outputs)
    return loss


NEEDS = {"all": (True, True, True, True), "no state grad": (True, False, False, True),
         "no weight grad": (True, True, True, False), "states only": (False, True, True, False)}


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("used", [("hs",), ("h_n",), ("c_n",), ("hs", "c_n")], ids="+".join)
@pytest.mark.parametrize("needs", list(NEEDS.values()), ids=list(NEEDS))
def test_sequence_matches_the_step_loop(device, cell, reverse, used, needs):
    if cell != "lstm" and "c_n" in used:
        pytest.skip("only the LSTM has a c")
    results = {}
    for name, run in (("sequence", CELLS[cell][0]), ("steps", CELLS[cell][1])):
        inputs = make_inputs(cell, needs)
        outputs = run(*inputs, STEPS, reverse)
        wanted = [t for t in inputs if t.requires_grad]
        grads = ag.grad(loss_of(cell, run, used, reverse)(*inputs), wanted)
        results[name] = [o.numpy() for o in outputs] + [g.numpy() for g in grads]
    for ours, reference in zip(results["sequence"], results["steps"]):
        np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_second_derivatives_by_finite_differences(device, cell, reverse):
    inputs = make_inputs(cell, (True, True, True, True), seed=8)
    loss = loss_of(cell, CELLS[cell][0], ("hs", "c_n"), reverse, seed=9)
    assert ag.gradcheck(loss, inputs)
    assert ag.gradgradcheck(loss, inputs)


def test_a_gru_without_hidden_bias_matches_the_step_loop():
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(shape) for shape in CELLS["gru"][2][:3]]
    results = []
    for run in (nn_fused.gru_sequence, gru_loop):
        inputs = [ag.tensor(a, dtype=ag.float64, requires_grad=True) for a in arrays]
        hs = run(*inputs, None, STEPS, False)[0]
        results.append([hs.numpy()] + [g.numpy() for g in ag.grad((hs * hs).sum(), inputs)])
    for ours, reference in zip(*results):
        np.testing.assert_allclose(ours, reference, rtol=1e-12)


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("steps, batch", [(1, 3), (3, 0)], ids=["one step", "empty batch"])
def test_one_step_and_an_empty_batch(cell, steps, batch):
    run, loop, shapes, _ = CELLS[cell]
    rng = np.random.default_rng(2)
    gates = shapes[0][1] // HIDDEN
    shapes = ((steps * batch, gates * HIDDEN), (batch, HIDDEN)) + tuple(
        (batch, HIDDEN) if shape == (BATCH, HIDDEN) else shape for shape in shapes[2:])
    inputs = [ag.tensor(rng.standard_normal(shape), dtype=ag.float64, requires_grad=True) for shape in shapes]
    ours, reference = run(*inputs, steps), loop(*inputs, steps, False)
    for a, b in zip(ours, reference):
        assert a.shape == b.shape
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)
    grads = [ag.grad(sum(o.sum() for o in outs), inputs, allow_unused=True, materialize_grads=True)
             for outs in (ours, reference)]
    for a, b in zip(*grads):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-14)


def test_bad_arguments_name_the_op_and_the_shapes():
    projected, h0, w = ag.randn(12, 8), ag.zeros(3, 2), ag.randn(2, 8)
    with pytest.raises(ValueError, match=r"lstm_sequence: with h0 of shape \(3, 2\) and 5 steps, expected"):
        nn_fused.lstm_sequence(projected, h0, h0, w, 5)
    with pytest.raises(ValueError, match="lstm_sequence: steps must be a positive int, got 0"):
        nn_fused.lstm_sequence(projected, h0, h0, w, 0)
    with pytest.raises(ValueError, match=r"expected h0 of shape \(batch, hidden\), got \(2,\)"):
        nn_fused.gru_sequence(ag.randn(4, 6), ag.zeros(2), ag.randn(2, 6), None, 2)
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu', got 'sigmoid'"):
        nn_fused.rnn_sequence(ag.randn(12, 2), ag.zeros(3, 2), ag.randn(2, 2), "sigmoid", 4)


def test_a_state_changed_in_place_after_the_call_is_caught():
    projected = ag.randn(STEPS * BATCH, 4 * HIDDEN, requires_grad=True)
    h0 = ag.randn(BATCH, HIDDEN)
    w = ag.randn(HIDDEN, 4 * HIDDEN, requires_grad=True)
    hs, _, _ = nn_fused.lstm_sequence(projected, h0, ag.zeros(BATCH, HIDDEN), w, STEPS)
    h0.mul_(2)  # the op keeps h0 for the recurrent weight's gradient
    with pytest.raises(RuntimeError, match="modified in place"):
        hs.sum().backward()


@pytest.mark.parametrize("cell", list(CELLS))
def test_retain_graph_keeps_the_steps_for_a_second_backward(cell):
    """Without retain_graph the op frees each step's arrays as its backward passes them;
    with it, they stay, and a second backward gives the same gradients again."""
    inputs = make_inputs(cell, (True, True, True, True))
    outputs = CELLS[cell][0](*inputs, STEPS)
    loss = outputs[0].sum() + outputs[-1].sum()
    loss.backward(retain_graph=True)
    first = [t.grad.numpy().copy() for t in inputs]
    loss.backward()
    for t, g in zip(inputs, first):
        np.testing.assert_allclose(t.grad.numpy(), 2 * g, rtol=1e-12)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()


def test_the_pass_tells_a_backward_whether_it_keeps_the_graph():
    from autograd.grad_mode import retains_graph
    seen = []

    class Probe(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x.data * 2

        @staticmethod
        def backward(ctx, g):
            seen.append(retains_graph())
            return g * 2

    x = ag.tensor([1.0], requires_grad=True)
    Probe.apply(x).sum().backward(retain_graph=True)
    Probe.apply(x).sum().backward()
    assert seen == [True, False] and retains_graph()  # outside a pass: nothing may be freed


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_the_layer_output_may_change_in_place_before_backward(torch, kind):
    """The ops keep their own copy of each step's h, not the output they return, so a
    change of the output in place (a masked_fill_, an F.relu_) leaves backward valid, as
    in PyTorch."""
    import nn
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 2, 3))
    ours, theirs = getattr(nn, kind)(3, 4, dtype="float64"), getattr(torch.nn, kind)(3, 4).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    out, tout = ours(ag.tensor(x))[0], theirs(torch.tensor(x))[0]
    out.mul_(2)
    tout.mul_(2)
    (out * out).sum().backward()
    (tout * tout).sum().backward()
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, name).grad.numpy(), p.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.filterwarnings("ignore:backward\\(create_graph=True\\) records:UserWarning")  # (the .grad cycle, made on purpose)
def test_a_hook_on_an_input_runs_once_under_create_graph(cell):
    """Under create_graph the ops recompute their steps from aliases of their inputs, so
    the inputs' own hooks run once, in the pass that called backward, and the gradient
    equals the plain pass's."""
    grads, calls = {}, []
    for create_graph in (False, True):
        inputs = make_inputs(cell, (True, True, True, True))
        inputs[1].register_hook(lambda g: (calls.append(create_graph), g * 2)[1])
        outputs = CELLS[cell][0](*inputs, STEPS)
        (outputs[0].sum() + outputs[-1].sum()).backward(create_graph=create_graph)
        grads[create_graph] = inputs[1].grad.detach().numpy()
    assert calls == [False, True]
    np.testing.assert_allclose(grads[True], grads[False], rtol=1e-12)


@pytest.mark.filterwarnings("ignore:backward\\(create_graph=True\\) records:UserWarning")  # (the .grad cycle, made on purpose)
def test_an_input_frozen_after_the_call_gets_no_gradient_under_create_graph():
    inputs = make_inputs("lstm", (True, True, True, True))
    hs, _, c_n = nn_fused.lstm_sequence(*inputs, STEPS)
    inputs[1].requires_grad_(False)
    (hs.sum() + c_n.sum()).backward(create_graph=True)
    assert inputs[1].grad is None and inputs[3].grad is not None


def test_a_plain_lstm_backward_joins_one_array_a_step_and_matches_torch(torch, monkeypatch):
    """Each step's gate derivatives are written into the sigmoid derivatives' array (the
    tanh gate's block in its place) and the gradient at the gates multiplies into its own
    array: one join a step, the four gradients at the gate values, where the derivatives
    were joined from three pieces too (and the product was one more array). The
    gradients stay PyTorch's."""
    import nn
    from autograd.ops.nn_fused import recurrent
    steps, batch = 6, 2
    x = np.random.default_rng(0).standard_normal((steps, batch, 3))
    ours, theirs = nn.LSTM(3, 4, dtype="float64", device="cpu"), torch.nn.LSTM(3, 4).double()  # (NumPy's concat)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    out = ours(ag.tensor(x, device="cpu"))[0]
    joins = []
    concat = np.concat
    monkeypatch.setattr(np, "concat", lambda arrays, **kwargs: joins.append(len(arrays)) or concat(arrays, **kwargs))
    recurrent._array_math.cache_clear()  # (it holds the backend's concat)
    try:
        (out * out).sum().backward()
    finally:
        recurrent._array_math.cache_clear()
    assert joins.count(4) == steps and joins.count(3) == 0, joins
    tout = theirs(torch.tensor(x))[0]
    (tout * tout).sum().backward()
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, name).grad.numpy(), p.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_a_plain_lstm_backward_writes_each_step_into_its_slot_without_a_stack(torch, monkeypatch):
    """Each step's gradient at the gates is joined straight into its time-major slot of
    the projection's gradient (Backend.concat_into), where the steps' arrays were
    stacked at the end (a copy of it all); the gradients stay PyTorch's, both directions."""
    import nn
    x = np.random.default_rng(1).standard_normal((5, 2, 3))
    ours, theirs = nn.LSTM(3, 4, bidirectional=True, dtype="float64"), torch.nn.LSTM(3, 4, bidirectional=True).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    out = ours(ag.tensor(x))[0]
    stacks = []
    stack = np.stack
    monkeypatch.setattr(np, "stack", lambda arrays, **kwargs: stacks.append(len(arrays)) or stack(arrays, **kwargs))
    (out * out).sum().backward()
    assert 5 not in stacks, stacks
    tout = theirs(torch.tensor(x))[0]
    (tout * tout).sum().backward()
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, name).grad.numpy(), p.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_the_forward_steps_multiply_by_a_row_major_weight_and_match_torch(torch, monkeypatch, kind):
    """The layers pass W_hh transposed, a column-major view, which OpenBLAS multiplies
    slowly; each sequence's forward takes a row-major copy once (Backend.gemm_operand)
    and every step's GEMM reads that. Outputs and gradients stay PyTorch's."""
    import nn
    from backends.numpy_backend import NumpyBackend
    steps, batch = 5, 3
    x = np.random.default_rng(2).standard_normal((steps, batch, 3)).astype(np.float32)
    ours, theirs = getattr(nn, kind)(3, 4, device="cpu"), getattr(torch.nn, kind)(3, 4)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    layouts = []
    matmul = NumpyBackend.matmul

    def recording(self, a, b, **kwargs):
        if b.shape == (4, ours.weight_hh_l0.shape[0]):  # the recurrent product h @ W_hh.T
            layouts.append(b.flags.c_contiguous)
        return matmul(self, a, b, **kwargs)
    monkeypatch.setattr(NumpyBackend, "matmul", recording)
    out, _ = ours(ag.tensor(x, device="cpu"))
    assert layouts == [True] * steps, layouts
    tout, _ = theirs(torch.tensor(x))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    (out * out).sum().backward()
    (tout * tout).sum().backward()
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, name).grad.numpy(), p.grad.numpy(), rtol=1e-4, atol=1e-5)
