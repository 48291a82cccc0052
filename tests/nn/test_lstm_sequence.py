"""nn_fused.lstm_sequence (a whole one-direction LSTM layer in one op, which nn.LSTM
uses without proj_size) against a loop of the step op, lstm_step, which the layer used
before: values, the final states, first derivatives for every combination of used
outputs and inputs that need them, second derivatives, and both directions."""
import numpy as np
import pytest

import autograd as ag
from autograd.ops import nn_fused

STEPS, BATCH, HIDDEN = 4, 3, 2


def step_loop(projected, h0, c0, w_hh_t, steps, reverse):
    """The reference: lstm_step once per time step, in the direction's order."""
    rows = ag.split(projected, steps, axis=0)
    hs = [None] * steps
    h, c = h0, c0
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        h, c = nn_fused.lstm_step(rows[t], h, c, w_hh_t)
        hs[t] = h
    return ag.stack(hs, axis=0), h, c


def make_inputs(needs, seed=3):
    rng = np.random.default_rng(seed)
    shapes = ((STEPS * BATCH, 4 * HIDDEN), (BATCH, HIDDEN), (BATCH, HIDDEN), (HIDDEN, 4 * HIDDEN))
    return [ag.tensor(rng.standard_normal(shape) * 1.5, dtype=ag.float64, requires_grad=need)
            for shape, need in zip(shapes, needs)]


def loss_of(run, used, seed=4):
    """A weighted sum of the outputs in ``used`` ("hs", "h_n", "c_n")."""
    rng = np.random.default_rng(seed)
    weights = {"hs": rng.standard_normal((STEPS, BATCH, HIDDEN)), "h_n": rng.standard_normal((BATCH, HIDDEN)),
               "c_n": rng.standard_normal((BATCH, HIDDEN))}

    def loss(*inputs):
        outputs = dict(zip(("hs", "h_n", "c_n"), run(*inputs, STEPS, run.reverse)))
        return sum((outputs[name] * ag.tensor(weights[name])).sum() for name in used)
    return loss


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("used", [("hs",), ("h_n",), ("c_n",), ("hs", "c_n")], ids="+".join)
@pytest.mark.parametrize("needs", [(True, True, True, True), (True, False, False, True), (False, True, True, False)],
                         ids=["all", "no state grad", "states only"])
def test_sequence_matches_the_step_loop(device, reverse, used, needs):
    results = {}
    for name, run in (("sequence", nn_fused.lstm_sequence), ("steps", step_loop)):
        inputs = make_inputs(needs)
        outputs = run(*inputs, STEPS, reverse)
        run_with = lambda *a, run=run: run(*a)  # noqa: E731
        run_with.reverse = reverse
        wanted = [t for t in inputs if t.requires_grad]
        grads = ag.grad(loss_of(run_with, used)(*inputs), wanted)
        results[name] = [o.numpy() for o in outputs] + [g.numpy() for g in grads]
    for ours, reference in zip(results["sequence"], results["steps"]):
        np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_second_derivatives_by_finite_differences(device, reverse):
    inputs = make_inputs((True, True, True, True), seed=8)
    run = lambda *a: nn_fused.lstm_sequence(*a)  # noqa: E731
    run.reverse = reverse
    loss = loss_of(run, ("hs", "c_n"), seed=9)
    assert ag.gradcheck(loss, inputs)
    assert ag.gradgradcheck(loss, inputs)


def test_one_step_and_an_empty_batch():
    for steps, batch in ((1, 3), (3, 0)):
        projected = ag.randn(steps * batch, 8, dtype=ag.float64, requires_grad=True)
        h0, c0 = ag.zeros(batch, 2, dtype=ag.float64), ag.zeros(batch, 2, dtype=ag.float64)
        w = ag.randn(2, 8, dtype=ag.float64, requires_grad=True)
        hs, h_n, c_n = nn_fused.lstm_sequence(projected, h0, c0, w, steps)
        reference = step_loop(projected, h0, c0, w, steps, False)
        for ours, theirs in zip((hs, h_n, c_n), reference):
            assert ours.shape == theirs.shape
            np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
        (hs.sum() + c_n.sum()).backward()
        assert projected.grad.shape == projected.shape and w.grad.shape == w.shape


def test_a_state_changed_in_place_after_the_call_is_caught():
    projected = ag.randn(STEPS * BATCH, 4 * HIDDEN, requires_grad=True)
    h0 = ag.randn(BATCH, HIDDEN)
    w = ag.randn(HIDDEN, 4 * HIDDEN, requires_grad=True)
    hs, _, _ = nn_fused.lstm_sequence(projected, h0, ag.zeros(BATCH, HIDDEN), w, STEPS)
    h0.mul_(2)  # the op keeps h0 for the recurrent weight's gradient
    with pytest.raises(RuntimeError, match="modified in place"):
        hs.sum().backward()


def test_retain_graph_keeps_the_steps_for_a_second_backward():
    """Without retain_graph the op frees each step's arrays as its backward passes them;
    with it, they stay, and a second backward gives the same gradients again."""
    inputs = make_inputs((True, True, True, True))
    hs, _, c_n = nn_fused.lstm_sequence(*inputs, STEPS)
    loss = hs.sum() + c_n.sum()
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
