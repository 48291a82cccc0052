"""nn.RNN, nn.LSTM, nn.GRU against PyTorch (weights copied by state_dict key) and finite differences."""
import gc
import itertools
import math
import weakref

import numpy as np
import pytest

import autograd as ag
import nn
from autograd.ops import nn_fused

from .torch_compare import assert_parameter_grads_match

# (our class, PyTorch's class name, extra constructor arguments)
KINDS = {
    "rnn_tanh": (nn.RNN, "RNN", {}),
    "rnn_relu": (nn.RNN, "RNN", {"nonlinearity": "relu"}),
    "lstm": (nn.LSTM, "LSTM", {}),
    "gru": (nn.GRU, "GRU", {}),
}
INPUT, HIDDEN, SEQ, BATCH = 4, 5, 4, 3


def _pair(torch, kind, **kwargs):
    """Our module and PyTorch's, in float64, with PyTorch's weights copied into ours."""
    cls, torch_name, extra = KINDS[kind]
    kwargs = {**extra, **kwargs}
    theirs = getattr(torch.nn, torch_name)(dtype=torch.float64, **kwargs)
    ours = cls(dtype=ag.float64, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _states(out):
    """(output, [final states]) whatever the module returns."""
    output, final = out
    return output, list(final) if isinstance(final, tuple) else [final]


def _loss(output, finals, weights):
    """A scalar using every output element and final state, with distinct weights so
    that a mixed-up element would change the gradient."""
    total = (output * weights[0]).sum()
    for f, w in zip(finals, weights[1:]):
        total = total + (f * w).sum()
    return total


def _assert_matches_pytorch(torch, ours, theirs, x, hx, rng):
    xt = torch.tensor(x, requires_grad=True)
    xa = ag.tensor(x, dtype=ag.float64, requires_grad=True)
    hx_t = hx_a = None
    if hx is not None:
        hx_t = [torch.tensor(h, requires_grad=True) for h in hx]
        hx_a = [ag.tensor(h, dtype=ag.float64, requires_grad=True) for h in hx]
    pack = (lambda hs: tuple(hs)) if len(hx or ()) == 2 else (lambda hs: hs[0])
    out_t, finals_t = _states(theirs(xt, None if hx is None else pack(hx_t)))
    out_a, finals_a = _states(ours(xa, None if hx is None else pack(hx_a)))

    assert out_a.shape == tuple(out_t.shape)
    np.testing.assert_allclose(out_a.numpy(), out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    for fa, ft in zip(finals_a, finals_t):
        assert fa.shape == tuple(ft.shape)
        np.testing.assert_allclose(fa.numpy(), ft.detach().numpy(), rtol=1e-10, atol=1e-12)

    weights = [rng.standard_normal(tuple(out_t.shape))] + [rng.standard_normal(tuple(f.shape)) for f in finals_t]
    _loss(out_t, finals_t, [torch.tensor(w) for w in weights]).backward()
    _loss(out_a, finals_a, [ag.tensor(w, dtype=ag.float64) for w in weights]).backward()

    np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    if hx is not None:
        for ha, ht in zip(hx_a, hx_t):
            np.testing.assert_allclose(ha.grad.numpy(), ht.grad.numpy(), rtol=1e-9, atol=1e-12)
    torch_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert p.grad is not None, name
        np.testing.assert_allclose(p.grad.numpy(), torch_params[name].grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("num_layers,batch_first,with_state,bidirectional",
                         list(itertools.product((1, 2), (False, True), (False, True), (False, True))))
def test_matches_pytorch(device, torch, kind, num_layers, batch_first, with_state, bidirectional):
    rng = np.random.default_rng(1)
    ours, theirs = _pair(torch, kind, input_size=INPUT, hidden_size=HIDDEN, num_layers=num_layers,
                         batch_first=batch_first, bidirectional=bidirectional)
    x = rng.standard_normal((BATCH, SEQ, INPUT) if batch_first else (SEQ, BATCH, INPUT))
    hx = None
    if with_state:
        n_states = 2 if kind == "lstm" else 1
        directions = 2 if bidirectional else 1
        hx = [rng.standard_normal((num_layers * directions, BATCH, HIDDEN)) for _ in range(n_states)]
    _assert_matches_pytorch(torch, ours, theirs, x, hx, rng)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("with_state", [False, True])
def test_unbatched_input_matches_pytorch(device, torch, kind, with_state):
    rng = np.random.default_rng(2)
    ours, theirs = _pair(torch, kind, input_size=INPUT, hidden_size=HIDDEN, num_layers=2, bidirectional=True)
    hx = None
    if with_state:
        hx = [rng.standard_normal((4, HIDDEN)) for _ in range(2 if kind == "lstm" else 1)]
    _assert_matches_pytorch(torch, ours, theirs, rng.standard_normal((SEQ, INPUT)), hx, rng)


@pytest.mark.parametrize("kind", list(KINDS))
def test_without_bias_matches_pytorch(device, torch, kind):
    rng = np.random.default_rng(3)
    ours, theirs = _pair(torch, kind, input_size=INPUT, hidden_size=HIDDEN, bias=False)
    assert not any("bias" in name for name, _ in ours.named_parameters())
    _assert_matches_pytorch(torch, ours, theirs, rng.standard_normal((SEQ, BATCH, INPUT)), None, rng)


@pytest.mark.parametrize("kind", list(KINDS))
def test_full_dropout_between_layers_matches_pytorch(device, torch, kind):
    # With p = 1 dropout is deterministic (the second layer sees zeros), so the
    # training-mode path can be compared exactly.
    rng = np.random.default_rng(4)
    ours, theirs = _pair(torch, kind, input_size=INPUT, hidden_size=HIDDEN, num_layers=2, dropout=1.0)
    _assert_matches_pytorch(torch, ours, theirs, rng.standard_normal((SEQ, BATCH, INPUT)), None, rng)


def test_dropout_only_in_training(device, torch):
    rng = np.random.default_rng(5)
    ours, theirs = _pair(torch, "lstm", input_size=INPUT, hidden_size=HIDDEN, num_layers=2, dropout=0.5)
    x = rng.standard_normal((SEQ, BATCH, INPUT))
    ours.eval()
    theirs.eval()
    reference = theirs(torch.tensor(x))[0].detach().numpy()
    np.testing.assert_allclose(ours(ag.tensor(x, dtype=ag.float64))[0].numpy(), reference, rtol=1e-10)
    ours.train()
    trained = ours(ag.tensor(x, dtype=ag.float64))[0].numpy()
    assert np.abs(trained - reference).max() > 1e-3


@pytest.mark.parametrize("kind,num_layers,bidirectional", [
    ("rnn_tanh", 1, False), ("rnn_relu", 1, False), ("lstm", 1, False), ("gru", 1, False),
    ("gru", 2, True), ("lstm", 2, True),
])
def test_gradcheck(device, kind, num_layers, bidirectional):
    cls, _, extra = KINDS[kind]
    hidden, seq, batch, features = 3, 3, 2, 2
    module = cls(features, hidden, num_layers=num_layers, bidirectional=bidirectional, dtype=ag.float64, **extra)
    count = num_layers * (2 if bidirectional else 1)
    x = ag.randn(seq, batch, features, dtype=ag.float64, requires_grad=True)
    states = [ag.randn(count, batch, hidden, dtype=ag.float64, requires_grad=True)
              for _ in range(2 if kind == "lstm" else 1)]
    if kind == "rnn_relu":
        # Keep pre-activations away from relu's kink, where finite differences mislead.
        with ag.no_grad():
            for p in module.parameters():
                p.mul_(0.5)
    # Stacked bidirectional runs check the last layer's reverse weights, besides the
    # input and states, whose gradients pass through every layer (the comparison
    # with PyTorch covers every weight); that keeps the finite differences short.
    params = [p for name, p in module.named_parameters() if num_layers == 1 or name.endswith("_l1_reverse")]

    def run(x, *rest):  # gradcheck perturbs the parameters' data in place, so they are inputs too
        states = rest[:len(rest) - len(params)]
        output, final = module(x, tuple(states) if len(states) == 2 else states[0])
        return (output, *final) if isinstance(final, tuple) else (output, final)

    assert ag.gradcheck(run, (x, *states, *params))


@pytest.mark.parametrize("kind", list(KINDS))
def test_parameters_named_shaped_and_initialized_as_pytorch(device, torch, kind):
    cls, torch_name, extra = KINDS[kind]
    ours = cls(INPUT, 64, num_layers=2, bidirectional=True, **extra)
    theirs = getattr(torch.nn, torch_name)(INPUT, 64, num_layers=2, bidirectional=True, **extra)
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    bound = 1 / math.sqrt(64)
    values = np.concatenate([p.numpy().ravel() for p in ours.parameters()])
    assert values.dtype == np.float32
    assert np.abs(values).max() <= bound
    # uniform(-b, b) has standard deviation b / sqrt(3)
    assert abs(values.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert len(ours.all_weights) == 4 and len(ours.all_weights[0]) == 4


@pytest.mark.parametrize("proj_size", [0, 2])
def test_hidden_states_chain_across_calls(device, proj_size):
    # Running a sequence in two halves, passing the (h, c) state along (h projected with
    # proj_size), equals one run.
    module = nn.LSTM(3, 4, num_layers=2, batch_first=True, proj_size=proj_size, dtype=ag.float64)
    x = ag.randn(2, 6, 3, dtype=ag.float64)
    whole, (h, c) = module(x)
    first, state = module(x[:, :3])
    second, (h2, c2) = module(x[:, 3:], state)
    np.testing.assert_allclose(np.concatenate([first.numpy(), second.numpy()], axis=1), whole.numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(h2.numpy(), h.numpy(), rtol=1e-12)
    np.testing.assert_allclose(c2.numpy(), c.numpy(), rtol=1e-12)


def test_no_grad_records_nothing(device):
    module = nn.GRU(3, 4)
    with ag.no_grad():
        output, h = module(ag.randn(5, 2, 3))
    assert output.grad_fn is None and h.grad_fn is None
    assert output.shape == (5, 2, 4) and h.shape == (1, 2, 4)


def test_repr():
    assert repr(nn.RNN(3, 4)) == "RNN(3, 4)"
    assert repr(nn.RNN(3, 4, nonlinearity="relu", num_layers=2)) == "RNN(3, 4, num_layers=2, nonlinearity='relu')"
    assert repr(nn.GRU(3, 4, bias=False, batch_first=True, bidirectional=True)) == \
        "GRU(3, 4, bias=False, batch_first=True, bidirectional=True)"


def test_constructor_errors():
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout"):
        nn.LSTM(3, 4, num_layers=2, dropout=1.5)
    with pytest.raises(ValueError, match="hidden_size"):
        nn.GRU(3, 0)
    with pytest.raises(TypeError, match="floating"):
        nn.GRU(3, 4, dtype=ag.int64)
    with pytest.warns(UserWarning, match="num_layers=1"):
        nn.GRU(3, 4, dropout=0.5)


def test_forward_errors(device):
    lstm = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(ValueError, match="input_size=3"):
        lstm(ag.randn(5, 2, 7))
    with pytest.raises(ValueError, match="input_size=3"):
        lstm(ag.randn(5, 2, 3, 1))
    with pytest.raises(TypeError, match="Tensor"):
        lstm(np.zeros((5, 2, 3)))
    with pytest.raises(TypeError, match=r"\(h_0, c_0\)"):
        lstm(ag.randn(5, 2, 3), ag.zeros(2, 2, 4))
    with pytest.raises(ValueError, match=r"c_0 of shape \(2, 2, 4\)"):
        lstm(ag.randn(5, 2, 3), (ag.zeros(2, 2, 4), ag.zeros(1, 2, 4)))
    gru = nn.GRU(3, 4, batch_first=True)
    with pytest.raises(ValueError, match=r"h_0 of shape \(1, 5, 4\)"):
        gru(ag.randn(5, 2, 3), ag.zeros(1, 2, 4))
    with pytest.raises(TypeError, match="hx must be a Tensor"):
        gru(ag.randn(5, 2, 3), (ag.zeros(1, 5, 4),))


# --- cells ---------------------------------------------------------------------------------
CELLS = {"rnn_cell_tanh": (nn.RNNCell, "RNNCell", {}), "rnn_cell_relu": (nn.RNNCell, "RNNCell", {"nonlinearity": "relu"}),
         "lstm_cell": (nn.LSTMCell, "LSTMCell", {}), "gru_cell": (nn.GRUCell, "GRUCell", {})}


@pytest.mark.parametrize("kind", list(CELLS))
@pytest.mark.parametrize("batched,with_state,bias", [(True, False, True), (True, True, True), (False, True, True),
                                                     (True, True, False)])
def test_cell_matches_torch_over_a_loop(torch, kind, batched, with_state, bias):
    """A cell stepped in a user's loop: outputs, final state and every gradient as PyTorch's."""
    cls, torch_name, extra = CELLS[kind]
    theirs = getattr(torch.nn, torch_name)(INPUT, HIDDEN, bias=bias, dtype=torch.float64, **extra)
    ours = cls(INPUT, HIDDEN, bias=bias, dtype=ag.float64, **extra)
    assert list(ours.state_dict()) == list(theirs.state_dict()) and repr(ours) == repr(theirs)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(len(kind) + 2 * batched + with_state)
    lead = (BATCH,) if batched else ()
    xs = [rng.standard_normal(lead + (INPUT,)) for _ in range(SEQ)]
    n_states = 2 if kind == "lstm_cell" else 1
    hx = [rng.standard_normal(lead + (HIDDEN,)) for _ in range(n_states)] if with_state else None

    def run(lib, tensor):
        inputs = [tensor(x) for x in xs]
        state = None if hx is None else [tensor(h) for h in hx]
        given = state
        cell = theirs if lib is torch else ours
        outs = []
        for x in inputs:
            state = cell(x, None if state is None else (tuple(state) if n_states == 2 else state[0]))
            state = list(state) if n_states == 2 else [state]
            outs.append(state[0])
        return inputs, given, outs, state

    t_in, t_hx, t_outs, t_final = run(torch, lambda a: torch.tensor(a, requires_grad=True))
    a_in, a_hx, a_outs, a_final = run(ag, lambda a: ag.tensor(a, dtype=ag.float64, requires_grad=True))
    weights = [rng.standard_normal(tuple(o.shape)) for o in t_outs + t_final]
    sum(((o * torch.tensor(w)).sum() for o, w in zip(t_outs + t_final, weights))).backward()
    total = None
    for o, w in zip(a_outs + a_final, weights):
        term = (o * ag.tensor(w, dtype=ag.float64)).sum()
        total = term if total is None else total + term
    total.backward()
    for a, t in zip(a_outs + a_final, t_outs + t_final):
        assert a.shape == tuple(t.shape)
        np.testing.assert_allclose(a.numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, t in zip(a_in + (a_hx or []), t_in + (t_hx or [])):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)
    assert_parameter_grads_match(ours, theirs, rtol=1e-9)


def test_cell_gradients_by_finite_differences():
    cell = nn.GRUCell(3, 2, dtype=ag.float64)
    x = ag.tensor(np.random.default_rng(3).standard_normal((2, 3)), dtype=ag.float64, requires_grad=True)
    h = ag.tensor(np.random.default_rng(4).standard_normal((2, 2)), dtype=ag.float64, requires_grad=True)
    assert ag.gradcheck(lambda x, h, w: cell(x, h) * w.sum(), (x, h, cell.weight_hh))
    lstm = nn.LSTMCell(3, 2, dtype=ag.float64)
    assert ag.gradgradcheck(lambda x: lstm(x)[1], (x,))


def test_cell_errors_name_the_shapes():
    cell = nn.LSTMCell(4, 3)
    with pytest.raises(ValueError, match=r"LSTMCell: expected an input of shape \(batch, 4\) or \(4,\), got \(2, 5\)"):
        cell(ag.zeros(2, 5))
    with pytest.raises(ValueError, match=r"LSTMCell: expected h of shape \(2, 3\) for an input of shape \(2, 4\)"):
        cell(ag.zeros(2, 4), (ag.zeros(3), ag.zeros(3)))
    with pytest.raises(TypeError, match=r"LSTMCell: hx must be a pair \(h, c\)"):
        cell(ag.zeros(2, 4), ag.zeros(2, 3))
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        nn.RNNCell(2, 2, nonlinearity="gelu")
    with pytest.raises(TypeError, match=r"LSTMCell: the input is float64 but the cell's weights are float32"):
        cell(ag.zeros(2, 4, dtype="float64"))
    with pytest.raises(TypeError, match=r"LSTMCell: c is float64 but the input is float32"):
        cell(ag.zeros(2, 4), (ag.zeros(2, 3), ag.zeros(2, 3, dtype="float64")))


def _composed_rnn_step(gx, h, w_hh_t, nonlinearity):
    """The Elman step as the unfused ops: what RNNStep must equal, value and gradient."""
    z = gx + h @ w_hh_t
    return ag.tanh(z) if nonlinearity == "tanh" else ag.relu(z)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("needs", ["all", "gx only", "h and weight"])
def test_fused_rnn_step_matches_the_composed_ops(device, nonlinearity, needs):
    """nn_fused.rnn_step (one node) against the composed ops: the value, the gradients
    of each combination of inputs that need them, and second derivatives (its
    create_graph form; ReLU's second derivative is 0 away from the kink)."""
    rng = np.random.default_rng(33)
    arrays = [rng.standard_normal(shape) * 1.5 for shape in ((3, 4), (3, 4), (4, 4))]
    wanted = {"all": (True, True, True), "gx only": (True, False, False), "h and weight": (False, True, True)}[needs]
    seed = rng.standard_normal((3, 4))

    def leaves():
        return [ag.tensor(a, dtype=ag.float64, requires_grad=n) for a, n in zip(arrays, wanted)]

    results = {}
    for name, step in (("fused", nn_fused.rnn_step), ("composed", _composed_rnn_step)):
        inputs = leaves()
        out = step(*inputs, nonlinearity)
        grads = ag.grad((out * out * ag.tensor(seed)).sum(), [t for t in inputs if t.requires_grad])
        results[name] = [out.numpy()] + [g.numpy() for g in grads]
    for ours, reference in zip(results["fused"], results["composed"]):
        np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-14)
    inputs = leaves()
    differentiable = [t for t in inputs if t.requires_grad]

    def of_differentiable(*ts):
        it = iter(ts)
        out = nn_fused.rnn_step(*[next(it) if t.requires_grad else t for t in inputs], nonlinearity)
        return (out * out * ag.tensor(seed)).sum()

    assert ag.gradcheck(of_differentiable, differentiable)
    assert ag.gradgradcheck(of_differentiable, differentiable)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_step_gives_each_input_a_gradient_of_its_own_dtype(device, nonlinearity):
    """A float64 gx with a float32 h and weight promotes to float64, as the composed ops
    do, and each input's gradient keeps its own dtype."""
    rng = np.random.default_rng(34)
    arrays = [rng.standard_normal(shape) for shape in ((3, 4), (3, 4), (4, 4))]
    results = {}
    for name, step in (("fused", nn_fused.rnn_step), ("composed", _composed_rnn_step)):
        inputs = [ag.tensor(a, dtype=ag.float64 if i == 0 else ag.float32, requires_grad=True)
                  for i, a in enumerate(arrays)]
        out = step(*inputs, nonlinearity)
        out.sum().backward()
        results[name] = [out] + [t.grad for t in inputs]
    for ours, reference in zip(results["fused"], results["composed"]):
        assert ours.dtype == reference.dtype
        np.testing.assert_allclose(ours.numpy(), reference.numpy(), rtol=1e-5, atol=1e-6)


def test_rnn_step_keeps_its_output_and_refuses_a_change_of_it_before_backward(device):
    """RNNStep keeps h' for the activation's derivative (not gx, a view of the whole
    sequence's projection): changing h' in place before backward raises, naming the op."""
    rng = np.random.default_rng(35)
    source = ag.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    gx = source * 2  # an intermediate, as the layer's input projection is
    ref = weakref.ref(gx.data)
    w = ag.tensor(rng.standard_normal((4, 4)), requires_grad=True)
    out = nn_fused.rnn_step(gx, ag.zeros(3, 4), w, "tanh")
    del gx
    gc.collect()
    assert ref() is None
    with ag.no_grad():
        out.mul_(2)
    with pytest.raises(RuntimeError, match=r"RNNStep: its output, saved for backward, was modified in place"):
        out.sum().backward()


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("h_shape,gx_shape", [((1, 4), (3, 4)), ((4,), (4,))], ids=["h broadcast", "1-D"])
def test_rnn_step_broadcast_or_1d_state_matches_the_composed_ops(device, nonlinearity, h_shape, gx_shape):
    """The composed ops accept a state that broadcasts against gx, or vectors; the
    fused step must give the same value and gradients (or refuse clearly), not fail
    inside its backward."""
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal(gx_shape), rng.standard_normal(h_shape), rng.standard_normal((4, 4))]
    results = {}
    for name, step in (("fused", nn_fused.rnn_step), ("composed", _composed_rnn_step)):
        inputs = [ag.tensor(a, dtype=ag.float64, requires_grad=True) for a in arrays]
        out = step(*inputs, nonlinearity)
        (out * out).sum().backward()
        results[name] = [out.numpy()] + [t.grad.numpy() for t in inputs]
    for ours, reference in zip(results["fused"], results["composed"]):
        assert ours.shape == reference.shape
        np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("nonlinearity", ["Tanh", "sigmoid", ag.tanh])
def test_rnn_step_refuses_an_unknown_nonlinearity(device, nonlinearity):
    """Anything but "tanh" used to run as ReLU, silently (the old helper took a callable)."""
    gx, h, w = ag.zeros(2, 3), ag.zeros(2, 3), ag.zeros(3, 3)
    with pytest.raises(ValueError, match="nonlinearity"):
        nn_fused.rnn_step(gx, h, w, nonlinearity)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("batched", [True, False])
def test_rnn_cell_at_relu_kink_matches_pytorch_first_and_second_order(device, torch, nonlinearity, batched):
    """Pre-activations exactly 0 in some units (zero rows of the weights and biases),
    the unbatched path, and create_graph, against PyTorch."""
    theirs = torch.nn.RNNCell(3, 4, nonlinearity=nonlinearity, dtype=torch.float64)
    with torch.no_grad():
        for p in theirs.parameters():
            p[:2] = 0  # units 0 and 1: z == 0 exactly
    ours = nn.RNNCell(3, 4, nonlinearity=nonlinearity, dtype=ag.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(5)
    x0 = rng.standard_normal((2, 3) if batched else (3,))
    h0 = rng.standard_normal((2, 4) if batched else (4,))

    def run(lib, module, tensor, weight):
        x, h = tensor(x0), tensor(h0)
        out = module(x, h)
        loss = (out * out * out).sum()
        first = lib.grad(loss, [x, h, weight], create_graph=True)
        second = lib.grad(sum((g * g).sum() for g in first), [x, h, weight])
        return [out] + list(first) + list(second)

    got = run(ag, ours, lambda a: ag.tensor(a, dtype=ag.float64, requires_grad=True), ours.weight_hh)
    expected = run(torch.autograd, theirs, lambda a: torch.tensor(a, requires_grad=True), theirs.weight_hh)
    for ours_g, theirs_g in zip(got, expected):
        np.testing.assert_allclose(ours_g.numpy(), theirs_g.detach().numpy(), rtol=1e-10, atol=1e-12)


def _assert_second_derivatives_match(torch, ours, theirs, run, first, second=()):
    """create_graph through both modules: ``run(module, tensor)`` gives a loss and the
    input tensors it differentiates; the gradient of the norm of the first gradient
    (over those inputs and the parameters named in ``first``), taken over them and the
    parameters named in ``second``, must equal PyTorch's."""
    def second_order(lib, module, tensor):
        loss, inputs = run(module, tensor)
        wanted = inputs + [getattr(module, name) for name in first]
        gradient = lib.grad(loss, wanted, create_graph=True)
        norm = sum((g * g).sum() for g in gradient)
        return [g.detach().numpy() if hasattr(g, "detach") else g.numpy()
                for g in lib.grad(norm, wanted + [getattr(module, name) for name in second])]

    expected = second_order(torch.autograd, theirs, lambda a, **k: torch.tensor(a, **k))
    got = second_order(ag, ours, lambda a, **k: ag.tensor(a, dtype=ag.float64, **k))
    for ours_g, theirs_g in zip(got, expected):
        np.testing.assert_allclose(ours_g, theirs_g, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu"])
def test_rnn_layer_second_derivatives_through_several_steps_match_pytorch(device, torch, kind):
    """create_graph through two layers, both directions and four steps, h_0 needing
    grad; then a gradient of the gradient's norm."""
    ours, theirs = _pair(torch, kind, input_size=3, hidden_size=4, num_layers=2, bidirectional=True)
    rng = np.random.default_rng(36)
    x, h0 = rng.standard_normal((4, 2, 3)), rng.standard_normal((4, 2, 4))

    def run(module, tensor):
        xs, hs = tensor(x, requires_grad=True), tensor(h0, requires_grad=True)
        out, h_n = module(xs, hs)
        return (out * out).sum() + (h_n * h_n * h_n).sum(), [xs, hs]

    _assert_second_derivatives_match(torch, ours, theirs, run, ["weight_hh_l0"], ["weight_ih_l1_reverse"])


def _composed_lstm_step(gx, h, c, w_hh_t):
    """The LSTM step as the unfused ops: what LSTMStep must equal, value and gradient."""
    i, f, g, o = ag.split(gx + h @ w_hh_t, 4, axis=1)
    c = ag.sigmoid(f) * c + ag.sigmoid(i) * ag.tanh(g)
    return ag.sigmoid(o) * ag.tanh(c), c


@pytest.mark.parametrize("wanted", ["all", "h only", "c only", "no state grad"])
def test_fused_lstm_step_matches_the_composed_ops(device, wanted):
    """nn_fused.lstm_step (one node) against the composed ops: values, gradients for
    each combination of used outputs and inputs that need them (an unused output gets
    zeros), and second derivatives (its create_graph form)."""
    rng = np.random.default_rng(31)
    arrays = [rng.standard_normal(shape) * 1.5 for shape in ((3, 8), (3, 2), (3, 2), (2, 8))]
    needs = [True, wanted != "no state grad", wanted != "no state grad", True]
    seeds = [rng.standard_normal((3, 2)) for _ in range(2)]

    def loss(step, *inputs):
        h, c = step(*inputs)
        use_h, use_c = wanted != "c only", wanted != "h only"
        total = (h * ag.tensor(seeds[0])).sum() if use_h else 0
        return (total + (c * ag.tensor(seeds[1])).sum()) if use_c else total

    grads = {}
    for name, step in (("fused", nn_fused.lstm_step), ("composed", _composed_lstm_step)):
        inputs = [ag.tensor(a, dtype=ag.float64, requires_grad=n) for a, n in zip(arrays, needs)]
        h, c = step(*inputs)
        grads[name + " values"] = [h.numpy(), c.numpy()]
        wanted_inputs = [t for t in inputs if t.requires_grad]
        grads[name] = [g.numpy() for g in ag.grad(loss(step, *inputs), wanted_inputs)]
    for ours, reference in zip(grads["fused values"] + grads["fused"], grads["composed values"] + grads["composed"]):
        np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-14)
    inputs = [ag.tensor(a, dtype=ag.float64, requires_grad=n) for a, n in zip(arrays, needs)]
    differentiable = [t for t in inputs if t.requires_grad]

    def of_differentiable(*ts):
        it = iter(ts)
        return loss(nn_fused.lstm_step, *[next(it) if t.requires_grad else t for t in inputs])

    assert ag.gradcheck(of_differentiable, differentiable)
    assert ag.gradgradcheck(of_differentiable, differentiable)


def test_lstm_step_gives_the_dtype_and_values_of_the_composed_ops(device):
    """A float64 gx with a float32 h and weight promotes to float64, as the composed
    ops do (an in-place add into the float32 product would cast it down, or be
    refused by the strict backend)."""
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(shape) for shape in ((3, 8), (3, 2), (3, 2), (2, 8))]
    dtypes = [ag.float64, ag.float32, ag.float32, ag.float32]
    results = {}
    for name, step in (("fused", nn_fused.lstm_step), ("composed", _composed_lstm_step)):
        gx, h, c, w = [ag.tensor(a, dtype=d, requires_grad=True) for a, d in zip(arrays, dtypes)]
        h_new, c_new = step(gx, h, c, w)
        (h_new.sum() + c_new.sum()).backward()
        results[name] = (h_new, c_new, gx.grad)
    for ours, reference in zip(results["fused"], results["composed"]):
        assert ours.dtype == reference.dtype
        np.testing.assert_allclose(ours.numpy(), reference.numpy(), rtol=1e-6, atol=1e-7)


def test_lstm_layer_refuses_a_state_of_another_dtype_than_its_input(device):
    """A float64 input with float32 (h_0, c_0): PyTorch raises, and so does nn.LSTM,
    naming the layer (nn.LSTMCell already did)."""
    lstm = nn.LSTM(3, 4)
    x = ag.tensor(np.ones((2, 1, 3)), dtype=ag.float64)
    h0, c0 = ag.zeros(1, 1, 4), ag.zeros(1, 1, 4)
    with pytest.raises(TypeError, match=r"^LSTM: "):
        lstm(x, (h0, c0))


def test_lstm_step_does_not_keep_its_input_projection_alive(device):
    """In nn.LSTM, gx is a view of the whole (seq_len * batch, 4 * hidden) input
    projection: LSTMStep must not keep it (the composed ops did not), or the layer
    keeps about 30% more memory until backward."""
    rng = np.random.default_rng(6)
    alive = {}
    for name, step in (("fused", nn_fused.lstm_step), ("composed", _composed_lstm_step)):
        source = ag.tensor(rng.standard_normal((3, 8)), requires_grad=True)
        gx = source * 2  # an intermediate, as the layer's input projection is
        ref = weakref.ref(gx.data)
        w = ag.tensor(rng.standard_normal((2, 8)), requires_grad=True)
        h, c = step(gx, ag.zeros(3, 2), ag.zeros(3, 2), w)
        del gx
        gc.collect()
        alive[name] = ref() is not None
        (h.sum() + c.sum()).backward()  # the graph is still usable
    assert alive == {"fused": False, "composed": False}


def test_lstm_layer_second_derivatives_through_several_steps_match_pytorch(device, torch):
    """create_graph through two layers, both directions and five steps, with h_0 needing
    grad and c_0 not, then a gradient of the gradient's norm."""
    ours, theirs = _pair(torch, "lstm", input_size=3, hidden_size=4, num_layers=2, bidirectional=True)
    rng = np.random.default_rng(7)
    x, h0, c0, seed = (rng.standard_normal(s) for s in ((5, 2, 3), (4, 2, 4), (4, 2, 4), (4, 2, 4)))

    def run(module, tensor):
        xs, hs = tensor(x, requires_grad=True), tensor(h0, requires_grad=True)
        out, (_, c_n) = module(xs, (hs, tensor(c0)))
        return (out * out).sum() + (c_n * tensor(seed)).sum(), [xs, hs]

    _assert_second_derivatives_match(torch, ours, theirs, run, ["weight_hh_l0"], ["weight_ih_l1_reverse"])


def _composed_gru_step(gx, h, w_hh_t, b_hh):
    """The GRU step as the unfused ops: what GRUStep must equal, value and gradient."""
    size = h.shape[-1]
    gh = h @ w_hh_t
    if b_hh is not None:
        gh = gh + b_hh
    x_rz, x_n = ag.split(gx, [2 * size], axis=1)
    h_rz, h_n = ag.split(gh, [2 * size], axis=1)
    r, z = ag.split(ag.sigmoid(x_rz + h_rz), 2, axis=1)
    n = ag.tanh(x_n + r * h_n)
    return n + z * (h - n)


@pytest.mark.parametrize("bias, needs", [(True, "all"), (True, "gx only"), (True, "h and weight"),
                                         (True, "bias only"), (False, "all"), (False, "h and weight")])
def test_fused_gru_step_matches_the_composed_ops(device, bias, needs):
    """nn_fused.gru_step (one node) against the composed ops: the value, the gradients
    of each combination of inputs that need them, and second derivatives (its
    create_graph form), with and without a hidden bias."""
    rng = np.random.default_rng(32)
    arrays = [rng.standard_normal(shape) * 1.5 for shape in ((3, 6), (3, 2), (2, 6), (6,))]
    wanted = {"all": (True, True, True, True), "gx only": (True, False, False, False),
              "h and weight": (False, True, True, False), "bias only": (False, False, False, True)}[needs]
    seed = rng.standard_normal((3, 2))

    def leaves():
        ts = [ag.tensor(a, dtype=ag.float64, requires_grad=n) for a, n in zip(arrays, wanted)]
        return ts if bias else ts[:3] + [None]

    results = {}
    for name, step in (("fused", nn_fused.gru_step), ("composed", _composed_gru_step)):
        inputs = leaves()
        out = step(*inputs)
        grads = ag.grad((out * ag.tensor(seed)).sum(), [t for t in inputs if t is not None and t.requires_grad])
        results[name] = [out.numpy()] + [g.numpy() for g in grads]
    for ours, reference in zip(results["fused"], results["composed"]):
        np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-14)
    inputs = leaves()
    differentiable = [t for t in inputs if t is not None and t.requires_grad]

    def of_differentiable(*ts):
        it = iter(ts)
        args = [next(it) if t is not None and t.requires_grad else t for t in inputs]
        return (nn_fused.gru_step(*args) * ag.tensor(seed)).sum()

    assert ag.gradcheck(of_differentiable, differentiable)
    assert ag.gradgradcheck(of_differentiable, differentiable)


@pytest.mark.parametrize("mix", ["gx float64", "b_hh float64", "h float64"])
def test_gru_step_gives_each_input_a_gradient_of_its_own_dtype(device, mix):
    """Mixed float32/float64 inputs: like the composed ops (which promote through astype,
    whose backward casts each gradient back), every input gets a gradient of its own
    dtype."""
    rng = np.random.default_rng(11)
    arrays = [rng.standard_normal(shape) for shape in ((3, 6), (3, 2), (2, 6), (6,))]
    wide = {"gx float64": 0, "h float64": 1, "b_hh float64": 3}[mix]
    results = {}
    for name, step in (("fused", nn_fused.gru_step), ("composed", _composed_gru_step)):
        inputs = [ag.tensor(a, dtype=ag.float64 if i == wide else ag.float32, requires_grad=True)
                  for i, a in enumerate(arrays)]
        out = step(*inputs)
        out.sum().backward()
        results[name] = [out] + [t.grad for t in inputs]
    for ours, reference in zip(results["fused"], results["composed"]):
        assert ours.dtype == reference.dtype
        np.testing.assert_allclose(ours.numpy(), reference.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["rnn_tanh", "gru", "lstm"])
def test_an_input_of_another_dtype_than_the_weights_is_refused(device, kind):
    """As nn.Linear and PyTorch's recurrent layers: a float64 input into float32 weights
    is a TypeError naming both dtypes, not a silent computation in float64."""
    layer = KINDS[kind][0](3, 4)
    with pytest.raises(TypeError, match=r"weight_ih_l0 is float32 but the input is float64"):
        layer(ag.tensor(np.ones((2, 1, 3)), dtype=ag.float64))
    out, _ = layer(ag.tensor(np.ones((2, 1, 3)), dtype=ag.float32))
    out.sum().backward()
    nn.optim.SGD(layer.parameters(), lr=0.1).step()


def test_gru_step_keeps_only_the_n_part_of_gh(device):
    """GRUStep keeps a copy of gh's n part, not a view holding the whole (batch,
    3 * hidden) gh alive until backward."""
    rng = np.random.default_rng(12)
    gx, h, w, b = (ag.tensor(rng.standard_normal(s), requires_grad=True) for s in ((3, 6), (3, 2), (2, 6), (6,)))
    out = nn_fused.gru_step(gx, h, w, b)
    for item in out.grad_fn._saved:
        if item is None or isinstance(item, ag.Tensor):
            continue
        array = getattr(item, "_array", item)  # array-api-strict wraps a NumPy array
        assert getattr(array, "base", None) is None, f"a saved {item.shape} array views a bigger one"
    out.sum().backward()


def test_gru_step_refuses_a_hidden_bias_changed_in_place_before_backward(device):
    """GRUStep keeps b_hh (to recompute gh's n part under create_graph), so changing it
    in place between forward and backward makes backward raise, naming the op; as for
    any saved input, rather than a gradient from the wrong values."""
    rng = np.random.default_rng(13)
    gx, h, w, b = (ag.tensor(rng.standard_normal(s), dtype=ag.float64, requires_grad=True)
                   for s in ((3, 6), (3, 2), (2, 6), (6,)))
    out = nn_fused.gru_step(gx, h, w, b)
    with ag.no_grad():
        b.mul_(2)
    with pytest.raises(RuntimeError, match=r"GRUStep: a tensor it saved for backward .* was modified in place"):
        out.sum().backward()


def test_gru_layer_second_derivatives_through_several_steps_match_pytorch(device, torch):
    """create_graph through two layers, both directions, batch_first, no bias and four
    steps, h_0 needing grad; then a gradient of the gradient's norm (passes: a guard)."""
    for bias in (True, False):
        ours, theirs = _pair(torch, "gru", input_size=3, hidden_size=4, num_layers=2, bidirectional=True,
                             batch_first=True, bias=bias)
        rng = np.random.default_rng(14)
        x, h0, seed = (rng.standard_normal(s) for s in ((2, 4, 3), (4, 2, 4), (4, 2, 4)))

        def run(module, tensor):
            xs, hs = tensor(x, requires_grad=True), tensor(h0, requires_grad=True)
            out, h_n = module(xs, hs)
            return (out * out).sum() + (h_n * tensor(seed)).sum(), [xs, hs]

        names = ["weight_hh_l0", "weight_hh_l1_reverse"] + (["bias_hh_l0", "bias_hh_l1_reverse"] if bias else [])
        _assert_second_derivatives_match(torch, ours, theirs, run, names)


# --- NumPy integers as sizes ----------------------------------------------------------------------

def test_recurrent_layers_and_cells_take_numpy_integer_sizes():
    """Sizes read off arrays are NumPy integers; the recurrent layers and cells take them
    (PyTorch takes them for num_layers, proj_size and the cells' sizes), as plain ints."""
    lstm = nn.LSTM(np.int64(3), np.int64(5), num_layers=np.int64(2), proj_size=np.int64(2))
    cell = nn.GRUCell(3, np.int64(4))
    assert (lstm.input_size, lstm.hidden_size, lstm.num_layers, lstm.proj_size) == (3, 5, 2, 2)
    assert all(type(v) is int for v in (lstm.input_size, lstm.num_layers, lstm.proj_size, cell.hidden_size))
    out, _ = lstm(ag.randn(4, 2, 3))
    assert out.shape == (4, 2, 2)
    with pytest.raises(ValueError, match="RNN: hidden_size must be a positive int, got 0"):
        nn.RNN(3, 0)
    with pytest.raises(TypeError, match="proj_size must be an int"):
        nn.LSTM(3, 5, proj_size=2.0)
