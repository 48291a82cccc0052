"""RNN/LSTM/GRU, their cells and nn.utils.rnn against torch.nn, weights copied by state_dict
key: option combinations the other recurrent tests leave out (three layers, bias=False with
projections and both directions, unbatched stacks with states, packed stacks with states),
second derivatives through the cells, and PyTorch's API around them (reset_parameters, the
positional device/dtype order, empty batches, pad_sequence of empty sequences)."""
import itertools
import math

import numpy as np
import pytest

import autograd as ag
import nn
from nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

INPUT, HIDDEN = 3, 4
TORCH_NAMES = {"rnn_tanh": "RNN", "rnn_relu": "RNN", "lstm": "LSTM", "gru": "GRU"}


def _pair(torch, kind, **kwargs):
    """Our layer and PyTorch's in float64, PyTorch's weights copied into ours after checking
    that the names, their order and the shapes agree."""
    if kind == "rnn_relu":
        kwargs["nonlinearity"] = "relu"
    name = TORCH_NAMES[kind]
    theirs = getattr(torch.nn, name)(INPUT, HIDDEN, dtype=torch.float64, **kwargs)
    ours = getattr(nn, name)(INPUT, HIDDEN, dtype=ag.float64, **kwargs)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _finals(final):
    return list(final) if isinstance(final, tuple) else [final]


def _pack_state(states):
    return tuple(states) if len(states) == 2 else states[0]


def _assert_close(ours, theirs, rtol=1e-10):
    theirs = theirs.detach().numpy()
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=rtol, atol=1e-12)


def _backward_both(torch, outs, refs, rng):
    """The same scalar on both sides, each element of each result weighted differently."""
    weights = [rng.standard_normal(tuple(r.shape)) for r in refs]
    sum((o * ag.tensor(w, dtype=ag.float64)).sum() for o, w in zip(outs, weights)).backward()
    sum((r * torch.tensor(w)).sum() for r, w in zip(refs, weights)).backward()


def _assert_grads(ours, theirs, leaves):
    for mine, reference in leaves:
        np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-9, atol=1e-12)
    reference = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), reference[name].grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)


# --- bugs: PyTorch's API around the layers -------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: nn.RNN(INPUT, HIDDEN, num_layers=2, bidirectional=True),
    lambda: nn.LSTM(INPUT, HIDDEN, num_layers=2, proj_size=2),
    lambda: nn.GRU(INPUT, HIDDEN, bias=False),
    lambda: nn.RNNCell(INPUT, HIDDEN, nonlinearity="relu"),
    lambda: nn.LSTMCell(INPUT, HIDDEN),
    lambda: nn.GRUCell(INPUT, HIDDEN, bias=False),
], ids=["rnn", "lstm_proj", "gru_no_bias", "rnn_cell", "lstm_cell", "gru_cell"])
def test_reset_parameters_redraws_every_parameter_in_place_within_pytorchs_bound(device, torch, make):
    module = make()
    theirs = getattr(torch.nn, type(module).__name__)(INPUT, HIDDEN)
    assert callable(getattr(theirs, "reset_parameters", None))  # what ported init code calls
    before = {name: (p, p.numpy().copy()) for name, p in module.named_parameters()}
    module.reset_parameters()
    bound = 1 / math.sqrt(HIDDEN)  # PyTorch's stdv for every weight and bias of these modules
    for name, p in module.named_parameters():
        kept, old = before[name]
        assert p is kept, name  # the same Parameter, so an optimizer holding it still trains it
        values = p.numpy()
        assert not np.array_equal(values, old), name
        assert np.all(np.abs(values) <= bound), name
    everything = np.concatenate([p.numpy().ravel() for p in module.parameters()])
    assert everything.max() > 0.8 * bound and everything.min() < -0.8 * bound


@pytest.mark.parametrize("cls,args", [
    ("RNNCell", (True, "tanh")), ("LSTMCell", (True,)), ("GRUCell", (False,)),
    ("LSTM", (1, True, False, 0.0, False, 0)),
], ids=["rnn_cell", "lstm_cell", "gru_cell", "lstm"])
def test_device_and_dtype_take_pytorchs_positional_order(device, torch, cls, args):
    """PyTorch's signatures end in (..., device=None, dtype=None)."""
    theirs = getattr(torch.nn, cls)(INPUT, HIDDEN, *args, "cpu", torch.float64)
    ours = getattr(nn, cls)(INPUT, HIDDEN, *args, device, ag.float64)
    assert (theirs.weight_hh if "Cell" in cls else theirs.weight_hh_l0).dtype == torch.float64
    for p in ours.parameters():
        assert p.dtype == ag.float64 and p.device == device


@pytest.mark.parametrize("kind,batch_first,with_state", [
    ("rnn_tanh", False, False), ("lstm", True, True), ("gru", False, True), ("lstm", False, False)])
def test_an_empty_batch_runs_as_in_pytorch(device, torch, kind, batch_first, with_state):
    """PyTorch's layers (and our cells) take a batch of zero sequences: empty outputs and states."""
    ours, theirs = _pair(torch, kind, num_layers=2, bidirectional=True, batch_first=batch_first)
    shape = (0, 5, INPUT) if batch_first else (5, 0, INPUT)
    xo = ag.zeros(shape, dtype=ag.float64, requires_grad=True)
    xt = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
    n_states = 2 if kind == "lstm" else 1
    hx_o = hx_t = None
    if with_state:
        hx_o = _pack_state([ag.zeros((4, 0, HIDDEN), dtype=ag.float64) for _ in range(n_states)])
        hx_t = _pack_state([torch.zeros((4, 0, HIDDEN), dtype=torch.float64) for _ in range(n_states)])
    out, final = ours(xo, hx_o)
    ref, ref_final = theirs(xt, hx_t)
    assert out.shape == tuple(ref.shape)
    assert [f.shape for f in _finals(final)] == [tuple(f.shape) for f in _finals(ref_final)]
    total = out.sum()
    for f in _finals(final):
        total = total + f.sum()
    total.backward()
    assert xo.grad.shape == shape
    for name, p in ours.named_parameters():
        assert np.all(p.grad.numpy() == 0), name


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths", [[0], [0, 0, 0]])
def test_pad_sequence_of_empty_sequences_keeps_the_batch_axis(device, torch, batch_first, lengths):
    ours = pad_sequence([ag.zeros((n, 2), dtype=ag.float64) for n in lengths], batch_first=batch_first)
    theirs = torch.nn.utils.rnn.pad_sequence([torch.zeros((n, 2), dtype=torch.float64) for n in lengths],
                                             batch_first=batch_first)
    assert ours.shape == tuple(theirs.shape)
    assert ours.dtype == ag.float64 and ours.device == device


# --- checked behaviour that already matches PyTorch ------------------------------------------

CONFIGS = {  # option combinations beyond the other recurrent tests' grids
    "3 layers bidirectional batch_first": dict(num_layers=3, bidirectional=True, batch_first=True),
    "3 layers no bias, eval dropout": dict(num_layers=3, bias=False, dropout=0.5),
    "2 layers bidirectional no bias batch_first": dict(num_layers=2, bidirectional=True, bias=False,
                                                       batch_first=True),
}


@pytest.mark.parametrize("kind", list(TORCH_NAMES))
@pytest.mark.parametrize("config", list(CONFIGS))
def test_option_combinations_match_pytorch_in_values_and_every_gradient(device, torch, kind, config):
    rng = np.random.default_rng(3)
    kwargs = CONFIGS[config]
    ours, theirs = _pair(torch, kind, **kwargs)
    ours.eval()
    theirs.eval()
    directions = 2 if kwargs.get("bidirectional") else 1
    batch_first = kwargs.get("batch_first", False)
    x = rng.standard_normal((2, 4, INPUT) if batch_first else (4, 2, INPUT))
    states = [rng.standard_normal((kwargs["num_layers"] * directions, 2, HIDDEN))
              for _ in range(2 if kind == "lstm" else 1)]
    xo, xt = ag.tensor(x, dtype=ag.float64, requires_grad=True), torch.tensor(x, requires_grad=True)
    ho = [ag.tensor(h, dtype=ag.float64, requires_grad=True) for h in states]
    ht = [torch.tensor(h, requires_grad=True) for h in states]
    out, final = ours(xo, _pack_state(ho))
    ref, ref_final = theirs(xt, _pack_state(ht))
    for mine, reference in zip([out] + _finals(final), [ref] + _finals(ref_final)):
        _assert_close(mine, reference)
    _backward_both(torch, [out] + _finals(final), [ref] + _finals(ref_final), rng)
    _assert_grads(ours, theirs, [(xo, xt)] + list(zip(ho, ht)))


@pytest.mark.parametrize("batch_first", [False, True])
def test_unbatched_three_layer_bidirectional_lstm_with_projection_and_states(device, torch, batch_first):
    """A 2-D input is (seq_len, features) whatever batch_first says; h_0 and c_0 are 2-D."""
    rng = np.random.default_rng(4)
    ours, theirs = _pair(torch, "lstm", num_layers=3, bidirectional=True, proj_size=2, bias=False,
                         batch_first=batch_first)
    x = rng.standard_normal((5, INPUT))
    states = [rng.standard_normal((6, 2)), rng.standard_normal((6, HIDDEN))]
    xo, xt = ag.tensor(x, dtype=ag.float64, requires_grad=True), torch.tensor(x, requires_grad=True)
    ho = [ag.tensor(h, dtype=ag.float64, requires_grad=True) for h in states]
    ht = [torch.tensor(h, requires_grad=True) for h in states]
    out, final = ours(xo, tuple(ho))
    ref, ref_final = theirs(xt, tuple(ht))
    for mine, reference in zip([out, *final], [ref, *ref_final]):
        _assert_close(mine, reference)
    _backward_both(torch, [out, *final], [ref, *ref_final], rng)
    _assert_grads(ours, theirs, [(xo, xt)] + list(zip(ho, ht)))


@pytest.mark.parametrize("kind", ["rnn_relu", "lstm", "gru"])
def test_packed_unsorted_three_layer_stack_with_states_matches_pytorch(device, torch, kind):
    rng = np.random.default_rng(5)
    ours, theirs = _pair(torch, kind, num_layers=3, bidirectional=True)
    lengths = [2, 5, 1, 4]
    x = rng.standard_normal((5, 4, INPUT))
    states = [rng.standard_normal((6, 4, HIDDEN)) for _ in range(2 if kind == "lstm" else 1)]
    xo, xt = ag.tensor(x, dtype=ag.float64, requires_grad=True), torch.tensor(x, requires_grad=True)
    ho = [ag.tensor(h, dtype=ag.float64, requires_grad=True) for h in states]
    ht = [torch.tensor(h, requires_grad=True) for h in states]
    out, final = ours(pack_padded_sequence(xo, lengths, enforce_sorted=False), _pack_state(ho))
    ref, ref_final = theirs(torch.nn.utils.rnn.pack_padded_sequence(xt, lengths, enforce_sorted=False),
                            _pack_state(ht))
    padded, got_lengths = pad_packed_sequence(out, batch_first=True, padding_value=-2.0, total_length=6)
    ref_padded, ref_lengths = torch.nn.utils.rnn.pad_packed_sequence(ref, batch_first=True, padding_value=-2.0,
                                                                     total_length=6)
    assert got_lengths.tolist() == ref_lengths.tolist()
    for mine, reference in zip([padded] + _finals(final), [ref_padded] + _finals(ref_final)):
        _assert_close(mine, reference)
    _backward_both(torch, [padded] + _finals(final), [ref_padded] + _finals(ref_final), rng)
    _assert_grads(ours, theirs, [(xo, xt)] + list(zip(ho, ht)))


@pytest.mark.parametrize("cls,kwargs", [("LSTMCell", {}), ("LSTMCell", {"bias": False}), ("GRUCell", {}),
                                        ("GRUCell", {"bias": False}), ("RNNCell", {"nonlinearity": "tanh"})])
@pytest.mark.parametrize("batched", [True, False])
def test_cell_second_derivatives_match_pytorch(device, torch, cls, kwargs, batched):
    """Double backward through one cell step, to the input, the state and every parameter."""
    rng = np.random.default_rng(6)
    theirs = getattr(torch.nn, cls)(INPUT, HIDDEN, dtype=torch.float64, **kwargs)
    ours = getattr(nn, cls)(INPUT, HIDDEN, dtype=ag.float64, **kwargs)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((2, INPUT) if batched else (INPUT,))
    states = [rng.standard_normal((2, HIDDEN) if batched else (HIDDEN,)) for _ in range(2 if "LSTM" in cls else 1)]
    xo, xt = ag.tensor(x, dtype=ag.float64, requires_grad=True), torch.tensor(x, requires_grad=True)
    ho = [ag.tensor(h, dtype=ag.float64, requires_grad=True) for h in states]
    ht = [torch.tensor(h, requires_grad=True) for h in states]
    outs, refs = ours(xo, _pack_state(ho)), theirs(xt, _pack_state(ht))
    outs, refs = _finals(outs), _finals(refs)
    weights = [rng.standard_normal(tuple(r.shape)) for r in refs]
    loss_o = sum(((o * ag.tensor(w, dtype=ag.float64)) ** 2).sum() for o, w in zip(outs, weights))
    loss_t = sum(((r * torch.tensor(w)) ** 2).sum() for r, w in zip(refs, weights))
    inputs_o = [xo, *ho, *ours.parameters()]
    inputs_t = [xt, *ht, *theirs.parameters()]
    grads_o = ag.grad(loss_o, inputs_o, create_graph=True)
    grads_t = torch.autograd.grad(loss_t, inputs_t, create_graph=True)
    for mine, reference in zip(grads_o, grads_t):
        _assert_close(mine, reference)
    probes = [rng.standard_normal(tuple(g.shape)) for g in grads_t]
    second_o = ag.grad(sum((g * ag.tensor(p, dtype=ag.float64)).sum() for g, p in zip(grads_o, probes)), inputs_o)
    second_t = torch.autograd.grad(sum((g * torch.tensor(p)).sum() for g, p in zip(grads_t, probes)), inputs_t)
    for mine, reference in zip(second_o, second_t):
        np.testing.assert_allclose(mine.numpy(), reference.numpy(), rtol=1e-8, atol=1e-11)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_frozen_stack_second_derivative_to_the_input_matches_pytorch(device, torch, kind):
    """requires_grad_(False) on the layer: only the input's gradient, differentiated again."""
    rng = np.random.default_rng(7)
    ours, theirs = _pair(torch, kind, num_layers=2, bidirectional=True)
    ours.requires_grad_(False)
    theirs.requires_grad_(False)
    x = rng.standard_normal((4, 2, INPUT))
    xo, xt = ag.tensor(x, dtype=ag.float64, requires_grad=True), torch.tensor(x, requires_grad=True)
    (go,) = ag.grad((ours(xo)[0] ** 3).sum(), [xo], create_graph=True)
    (gt,) = torch.autograd.grad((theirs(xt)[0] ** 3).sum(), [xt], create_graph=True)
    _assert_close(go, gt)
    (go2,) = ag.grad((go * go).sum(), [xo])
    (gt2,) = torch.autograd.grad((gt * gt).sum(), [xt])
    _assert_close(go2, gt2, rtol=1e-8)


@pytest.mark.parametrize("kind,hx_shapes,message", [
    ("gru", [(2, 1, HIDDEN)], r"expected h_0 of shape \(2, 4\).*got \(2, 1, 4\)"),
    ("lstm", [(2, HIDDEN), (2, 1, HIDDEN)], r"expected c_0 of shape \(2, 4\).*got \(2, 1, 4\)"),
])
def test_unbatched_input_refuses_a_batched_state_as_pytorch(device, torch, kind, hx_shapes, message):
    ours, theirs = _pair(torch, kind, num_layers=2)
    with pytest.raises(RuntimeError, match="unbatched 2-D input"):
        theirs(torch.zeros((5, INPUT), dtype=torch.float64),
               _pack_state([torch.zeros(s, dtype=torch.float64) for s in hx_shapes]))
    with pytest.raises(ValueError, match=message):
        ours(ag.zeros((5, INPUT), dtype=ag.float64), _pack_state([ag.zeros(s, dtype=ag.float64) for s in hx_shapes]))


def test_parameter_names_order_and_shapes_match_pytorch_for_a_deep_projected_lstm(torch):
    theirs = torch.nn.LSTM(INPUT, HIDDEN, num_layers=3, bidirectional=True, proj_size=3, bias=False)
    ours = nn.LSTM(INPUT, HIDDEN, num_layers=3, bidirectional=True, proj_size=3, bias=False)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [[p.shape for p in layer] for layer in ours.all_weights] == \
        [[tuple(p.shape) for p in layer] for layer in theirs.all_weights]


@pytest.mark.parametrize("padding_side,batch_first", list(itertools.product(["left", "right"], [False, True])))
def test_pad_sequence_of_integer_ids_matches_pytorch(device, torch, padding_side, batch_first):
    ids = [np.arange(n) + 1 for n in (3, 1, 4)]
    ours = pad_sequence([ag.tensor(i) for i in ids], batch_first, -1, padding_side)
    theirs = torch.nn.utils.rnn.pad_sequence([torch.tensor(i) for i in ids], batch_first, -1, padding_side)
    assert ours.dtype == ag.int64 and ours.device == device
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("cell", ["RNNCell", "LSTMCell", "GRUCell"])
def test_a_cell_without_bias_registers_absent_biases_as_pytorch(cell, torch):
    ours, theirs = getattr(nn, cell)(2, 3, bias=False), getattr(torch.nn, cell)(2, 3, bias=False)
    assert list(ours._parameters) == list(theirs._parameters)
    assert ours.bias_ih is None and ours.bias_hh is None
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight_ih", "weight_hh"]


@pytest.mark.parametrize("kind,bias", [("lstm", True), ("gru", True), ("rnn_tanh", False)])
def test_the_input_projection_is_one_linear_op_with_pytorch_gradients(torch, monkeypatch, kind, bias):
    """Each layer-direction projects its whole input in one fused linear op (one GEMM, the
    biases that fold into it added in place, the GRU's b_ih alone), where a GEMM and then
    a broadcast add made a second (rows, gates) array; values and every gradient stay
    PyTorch's, both directions."""
    from autograd.ops import nn_fused
    calls = []
    linear = nn_fused.linear
    monkeypatch.setattr(nn_fused, "linear", lambda *args: calls.append(args[2] is not None) or linear(*args))
    ours, theirs = _pair(torch, kind, bias=bias, bidirectional=True)
    x = np.random.default_rng(3).standard_normal((5, 2, INPUT))
    out, _ = ours(ag.tensor(x))
    assert calls == [bias, bias]
    tout, _ = theirs(torch.tensor(x))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    (out * out).sum().backward()
    (tout * tout).sum().backward()
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, name).grad.numpy(), p.grad.numpy(), rtol=1e-10, atol=1e-12)
