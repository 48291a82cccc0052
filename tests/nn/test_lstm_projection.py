"""nn.LSTM with proj_size (LSTM with projections) against PyTorch: weights copied by
state_dict key, then outputs, final states and every gradient compared in float64."""
import itertools
import math

import numpy as np
import pytest

import autograd as ag
import nn

from .torch_compare import assert_parameter_grads_match

INPUT, HIDDEN, PROJ, SEQ, BATCH = 4, 5, 3, 4, 3


def _pair(torch, **kwargs):
    """Our LSTM and PyTorch's, in float64, with PyTorch's weights loaded into ours."""
    theirs = torch.nn.LSTM(INPUT, HIDDEN, proj_size=PROJ, dtype=torch.float64, **kwargs)
    ours = nn.LSTM(INPUT, HIDDEN, proj_size=PROJ, dtype=ag.float64, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _assert_both_match(torch, ours, theirs, x, hx, rng):
    """Forward both on ``x`` (and the (h_0, c_0) arrays ``hx``), backward a loss that
    weighs every element of the output, h_n and c_n differently; returns our and
    PyTorch's leaves (input, then states) for the gradient checks."""
    leaves_t = [torch.tensor(a, requires_grad=True) for a in [x] + list(hx or [])]
    leaves_a = [ag.tensor(a, dtype=ag.float64, requires_grad=True) for a in [x] + list(hx or [])]
    out_t, (h_t, c_t) = theirs(leaves_t[0], tuple(leaves_t[1:]) if hx else None)
    out_a, (h_a, c_a) = ours(leaves_a[0], tuple(leaves_a[1:]) if hx else None)
    for a, t in ((out_a, out_t), (h_a, h_t), (c_a, c_t)):
        assert a.shape == tuple(t.shape)
        np.testing.assert_allclose(a.numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12)
    weights = [rng.standard_normal(tuple(t.shape)) for t in (out_t, h_t, c_t)]
    sum((t * torch.tensor(w)).sum() for t, w in zip((out_t, h_t, c_t), weights)).backward()
    loss = None
    for a, w in zip((out_a, h_a, c_a), weights):
        term = (a * ag.tensor(w, dtype=ag.float64)).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    for a, t in zip(leaves_a, leaves_t):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)
    assert_parameter_grads_match(ours, theirs, rtol=1e-9)


@pytest.mark.parametrize("num_layers,bidirectional,batch_first,with_state",
                         list(itertools.product((1, 2), (False, True), (False, True), (False, True))))
def test_matches_pytorch(device, torch, num_layers, bidirectional, batch_first, with_state):
    rng = np.random.default_rng(10 + num_layers)
    ours, theirs = _pair(torch, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    x = rng.standard_normal((BATCH, SEQ, INPUT) if batch_first else (SEQ, BATCH, INPUT))
    count = num_layers * (2 if bidirectional else 1)
    hx = [rng.standard_normal((count, BATCH, PROJ)), rng.standard_normal((count, BATCH, HIDDEN))] \
        if with_state else None
    _assert_both_match(torch, ours, theirs, x, hx, rng)


@pytest.mark.parametrize("with_state", [False, True])
def test_unbatched_input_matches_pytorch(device, torch, with_state):
    rng = np.random.default_rng(20)
    ours, theirs = _pair(torch, num_layers=2, bidirectional=True)
    hx = [rng.standard_normal((4, PROJ)), rng.standard_normal((4, HIDDEN))] if with_state else None
    _assert_both_match(torch, ours, theirs, rng.standard_normal((SEQ, INPUT)), hx, rng)


def test_without_bias_and_with_full_dropout_matches_pytorch(device, torch):
    # dropout=1 is deterministic (the second layer sees zeros), so training mode compares exactly.
    rng = np.random.default_rng(21)
    ours, theirs = _pair(torch, num_layers=2, bias=False, dropout=1.0)
    assert [n for n, _ in ours.named_parameters()] == \
        ["weight_ih_l0", "weight_hh_l0", "weight_hr_l0", "weight_ih_l1", "weight_hh_l1", "weight_hr_l1"]
    _assert_both_match(torch, ours, theirs, rng.standard_normal((SEQ, BATCH, INPUT)), None, rng)


def test_second_derivatives_match_pytorch(device, torch):
    """The gradient of a gradient norm (what a gradient penalty needs), through two
    bidirectional layers with projections, against PyTorch's."""
    rng = np.random.default_rng(22)
    ours, theirs = _pair(torch, num_layers=2, bidirectional=True)
    x = rng.standard_normal((3, 2, INPUT))
    seed = rng.standard_normal((3, 2, 2 * PROJ))

    xt = torch.tensor(x, requires_grad=True)
    out_t, (h_t, _) = theirs(xt)
    (gx_t,) = torch.autograd.grad((out_t * torch.tensor(seed)).sum() + (h_t * h_t).sum(), xt, create_graph=True)
    (gx_t * gx_t).sum().backward()

    xa = ag.tensor(x, dtype=ag.float64, requires_grad=True)
    out_a, (h_a, _) = ours(xa)
    (gx_a,) = ag.grad((out_a * ag.tensor(seed, dtype=ag.float64)).sum() + (h_a * h_a).sum(), [xa],
                      create_graph=True)
    np.testing.assert_allclose(gx_a.numpy(), gx_t.detach().numpy(), rtol=1e-9, atol=1e-12)
    (gx_a * gx_a).sum().backward()
    np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-12)
    assert_parameter_grads_match(ours, theirs, rtol=1e-8)


def test_gradgradcheck(device):
    lstm = nn.LSTM(2, 3, proj_size=2, dtype=ag.float64)
    x = ag.randn(2, 2, 2, dtype=ag.float64, requires_grad=True)
    h0 = ag.randn(1, 2, 2, dtype=ag.float64, requires_grad=True)
    c0 = ag.randn(1, 2, 3, dtype=ag.float64, requires_grad=True)

    def run(x, h0, c0, w_hr):  # gradcheck perturbs weight_hr's data in place, so it is an input too
        output, (h, c) = lstm(x, (h0, c0))
        return output, h, c

    assert ag.gradcheck(run, (x, h0, c0, lstm.weight_hr_l0))
    assert ag.gradgradcheck(run, (x, h0, c0, lstm.weight_hr_l0))


def test_parameters_named_shaped_and_initialized_as_pytorch(device, torch):
    hidden, proj = 64, 16
    ours = nn.LSTM(INPUT, hidden, num_layers=2, bidirectional=True, proj_size=proj)
    theirs = torch.nn.LSTM(INPUT, hidden, num_layers=2, bidirectional=True, proj_size=proj)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    assert [[p.shape for p in layer] for layer in ours.all_weights] == \
        [[tuple(p.shape) for p in layer] for layer in theirs.all_weights]
    assert ours.weight_hr_l1_reverse.shape == (proj, hidden) and ours.weight_hh_l0.shape == (4 * hidden, proj)
    assert ours.weight_ih_l1.shape == (4 * hidden, 2 * proj)
    # every parameter, weight_hr included, uniform(-b, b) with b = 1/sqrt(hidden_size)
    bound = 1 / math.sqrt(hidden)
    values = np.concatenate([p.numpy().ravel() for name, p in ours.named_parameters() if "weight_hr" in name])
    assert values.dtype == np.float32
    assert np.abs(values).max() <= bound
    assert abs(values.std() - bound / math.sqrt(3)) < 0.1 * bound  # uniform(-b, b): std b / sqrt(3)
    assert ours.proj_size == proj and nn.LSTM(INPUT, hidden).proj_size == 0


def test_repr_matches_pytorch(torch):
    for kwargs in ({"proj_size": 2}, {"proj_size": 3, "num_layers": 2, "bidirectional": True, "batch_first": True},
                   {"proj_size": 0}):
        assert repr(nn.LSTM(3, 5, **kwargs)) == repr(torch.nn.LSTM(3, 5, **kwargs))


def test_proj_size_is_positional_after_bidirectional_as_in_pytorch():
    lstm = nn.LSTM(3, 5, 1, True, False, 0.0, False, 2)
    assert lstm.proj_size == 2 and lstm.weight_hr_l0.shape == (2, 5)


@pytest.mark.parametrize("proj_size,error,message", [
    (5, ValueError, r"LSTM: proj_size must be 0 \(no projection\) or in \[1, hidden_size\) = \[1, 5\), got 5$"),
    (7, ValueError, r"\[1, hidden_size\) = \[1, 5\), got 7$"),
    (-1, ValueError, r"\[1, hidden_size\) = \[1, 5\), got -1$"),
    (2.0, TypeError, r"LSTM: proj_size must be an int \(0 for no projection\), got 2.0$"),
    (True, TypeError, r"LSTM: proj_size must be an int \(0 for no projection\), got True$"),
    (None, TypeError, r"LSTM: proj_size must be an int \(0 for no projection\), got None$"),
])
def test_bad_proj_size(proj_size, error, message):
    with pytest.raises(error, match=message):
        nn.LSTM(3, 5, proj_size=proj_size)


def test_only_lstm_takes_proj_size():
    with pytest.raises(ValueError, match="GRU: proj_size is only supported by LSTM"):
        nn.GRU(3, 5, proj_size=2)
    with pytest.raises(TypeError, match="proj_size"):
        nn.RNN(3, 5, proj_size=2)


def test_initial_state_shapes_name_proj_size(device):
    lstm = nn.LSTM(3, 5, num_layers=2, proj_size=2)
    x = ag.randn(4, 3, 3)
    with pytest.raises(ValueError, match=r"LSTM: expected h_0 of shape \(2, 3, 2\) \(num_layers \* num_directions, "
                                         r"batch, proj_size\) for an input of shape \(4, 3, 3\), got \(2, 3, 5\)"):
        lstm(x, (ag.zeros(2, 3, 5), ag.zeros(2, 3, 5)))
    with pytest.raises(ValueError, match=r"expected c_0 of shape \(2, 3, 5\) \(num_layers \* num_directions, "
                                         r"batch, hidden_size\)"):
        lstm(x, (ag.zeros(2, 3, 2), ag.zeros(2, 3, 2)))
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(2, 2\) \(num_layers \* num_directions, "
                                         r"proj_size\) for an input of shape \(4, 3\)"):
        lstm(ag.randn(4, 3), (ag.zeros(2, 5), ag.zeros(2, 5)))
    output, (h, c) = lstm(x, (ag.zeros(2, 3, 2), ag.zeros(2, 3, 5)))
    assert output.shape == (4, 3, 2) and h.shape == (2, 3, 2) and c.shape == (2, 3, 5)


def test_load_state_dict_refuses_a_projection_mismatch(torch):
    theirs = torch.nn.LSTM(3, 5, proj_size=2)
    ours = nn.LSTM(3, 5)
    before = ours.weight_hh_l0.numpy().copy()
    with pytest.raises((KeyError, ValueError, RuntimeError), match="weight_hr_l0|weight_hh_l0"):
        ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    np.testing.assert_array_equal(ours.weight_hh_l0.numpy(), before)
