"""nn.utils.rnn (packed and padded sequences) and RNN/LSTM/GRU on packed input, against
PyTorch in float64: values, batch_sizes, permutations, final states and every gradient."""
import numpy as np
import pytest

import autograd as ag
import nn
from nn.utils import rnn
from nn.utils.rnn import (PackedSequence, invert_permutation, pack_padded_sequence, pack_sequence,
                          pad_packed_sequence, pad_sequence, unpack_sequence, unpad_sequence)

from .torch_compare import assert_parameter_grads_match, float64_leaves, named_rng

INPUT, HIDDEN, PROJ = 3, 4, 2
STEPS, LENGTHS = 5, [3, 5, 1, 4]       # distinct, so every sort order is unambiguous
SORTED = sorted(LENGTHS, reverse=True)


def _assert_close(ours, theirs, rtol=1e-10):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=rtol, atol=1e-12)


def _weighted_sum(torch, ours, theirs, rng, retain_graph=False):
    """Backward the same scalar, every element weighted differently, on both sides."""
    w = rng.standard_normal(tuple(theirs.shape))
    (ours * ag.tensor(w, dtype=ag.float64)).sum().backward(retain_graph=retain_graph)
    (theirs * torch.tensor(w)).sum().backward()


def _assert_same_packing(ours, theirs):
    assert isinstance(ours, PackedSequence)
    _assert_close(ours.data, theirs.data)
    assert ours.batch_sizes.device == "cpu" and ours.batch_sizes.dtype == ag.int64
    assert ours.batch_sizes.tolist() == theirs.batch_sizes.tolist()
    for mine, reference in ((ours.sorted_indices, theirs.sorted_indices),
                            (ours.unsorted_indices, theirs.unsorted_indices)):
        assert (mine is None) == (reference is None)
        if mine is not None:
            assert mine.tolist() == reference.tolist()


# --- packing and padding ------------------------------------------------------------------

@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_then_pad_matches_pytorch(device, torch, batch_first, enforce_sorted):
    rng = np.random.default_rng(0)
    lengths = SORTED if enforce_sorted else LENGTHS
    shape = (len(lengths), STEPS, INPUT, 2) if batch_first else (STEPS, len(lengths), INPUT, 2)
    xa, xt = float64_leaves(torch, rng.standard_normal(shape))
    packed_a = pack_padded_sequence(xa, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    packed_t = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), batch_first=batch_first,
                                                       enforce_sorted=enforce_sorted)
    _assert_same_packing(packed_a, packed_t)

    padded_a, lengths_a = pad_packed_sequence(packed_a, batch_first=batch_first, padding_value=-1.5,
                                              total_length=STEPS + 1)
    padded_t, lengths_t = torch.nn.utils.rnn.pad_packed_sequence(packed_t, batch_first=batch_first,
                                                                 padding_value=-1.5, total_length=STEPS + 1)
    _assert_close(padded_a, padded_t)
    assert lengths_a.device == "cpu" and lengths_a.tolist() == lengths_t.tolist() == lengths
    _weighted_sum(torch, padded_a, padded_t, rng)
    _assert_close(xa.grad, xt.grad)  # zero at every padded step


def test_pack_sequence_and_unpack_match_pytorch(device, torch):
    rng = np.random.default_rng(1)
    leaves = [float64_leaves(torch, rng.standard_normal((n, INPUT))) for n in LENGTHS]
    packed_a = pack_sequence([a for a, _ in leaves], enforce_sorted=False)
    packed_t = torch.nn.utils.rnn.pack_sequence([t for _, t in leaves], enforce_sorted=False)
    _assert_same_packing(packed_a, packed_t)
    # Kept for the second backward below, through the packing's index (PyTorch's refuses too)
    _weighted_sum(torch, packed_a.data, packed_t.data, rng, retain_graph=True)
    for a, t in leaves:
        _assert_close(a.grad, t.grad)

    unpacked = unpack_sequence(packed_a)
    assert [u.shape for u in unpacked] == [(n, INPUT) for n in LENGTHS]
    for u, (a, _) in zip(unpacked, leaves):
        _assert_close(u, a.numpy(), rtol=0)
    unpacked[2].sum().backward()  # reaches the sequence it came from only
    assert leaves[2][0].grad.numpy().sum() == pytest.approx(leaves[2][1].grad.numpy().sum() + 1 * INPUT)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_matches_pytorch(device, torch, batch_first, padding_side):
    rng = np.random.default_rng(2)
    leaves = [float64_leaves(torch, rng.standard_normal((n, 2, 3))) for n in LENGTHS + [0]]
    padded_a = pad_sequence([a for a, _ in leaves], batch_first=batch_first, padding_value=7.0,
                            padding_side=padding_side)
    padded_t = torch.nn.utils.rnn.pad_sequence([t for _, t in leaves], batch_first=batch_first,
                                               padding_value=7.0, padding_side=padding_side)
    _assert_close(padded_a, padded_t)
    _weighted_sum(torch, padded_a, padded_t, rng)
    for a, t in leaves[:-1]:
        _assert_close(a.grad, t.grad)


@pytest.mark.parametrize("batch_first", [False, True])
def test_unpad_sequence_inverts_pad_sequence(device, batch_first):
    rng = np.random.default_rng(3)
    sequences = [ag.tensor(rng.standard_normal((n, INPUT)), dtype=ag.float64, requires_grad=True)
                 for n in LENGTHS]
    padded = pad_sequence(sequences, batch_first=batch_first)
    back = unpad_sequence(padded, ag.tensor(LENGTHS), batch_first=batch_first)
    for b, s in zip(back, sequences):
        np.testing.assert_array_equal(b.numpy(), s.numpy())
    (back[1] * 2).sum().backward()
    np.testing.assert_array_equal(sequences[1].grad.numpy(), np.full((LENGTHS[1], INPUT), 2.0))
    assert not sequences[0].grad.numpy().any()  # padded through, but none of it used


def test_integer_data_packs_and_pads(device, torch):
    tokens = [[4, 5, 6], [7], [8, 9]]
    packed_a = pack_sequence([ag.tensor(t) for t in tokens], enforce_sorted=False)
    packed_t = torch.nn.utils.rnn.pack_sequence([torch.tensor(t) for t in tokens], enforce_sorted=False)
    assert packed_a.data.tolist() == packed_t.data.tolist()
    padded_a, _ = pad_packed_sequence(packed_a, batch_first=True, padding_value=-1)
    padded_t, _ = torch.nn.utils.rnn.pad_packed_sequence(packed_t, batch_first=True, padding_value=-1)
    assert padded_a.tolist() == padded_t.tolist()


def test_packed_sequence_behaves_like_pytorchs(device):
    x = ag.tensor(np.arange(12.0).reshape(3, 2, 2), dtype=ag.float32)
    packed = pack_padded_sequence(x, [2, 3], enforce_sorted=False)
    data, batch_sizes, sorted_indices, unsorted_indices = packed  # a 4-tuple, as PyTorch's
    assert batch_sizes.tolist() == [2, 2, 1] and sorted_indices.tolist() == [1, 0]
    assert unsorted_indices.tolist() == [1, 0] and packed.data is data
    assert packed.to(device) is packed  # nothing to change
    as_double = packed.double()
    assert as_double.data.dtype == ag.float64 and as_double.batch_sizes is batch_sizes
    np.testing.assert_array_equal(as_double.data.numpy(), data.numpy())
    moved = packed.to("cpu")
    assert moved.data.device == moved.sorted_indices.device == moved.unsorted_indices.device == "cpu"
    assert packed.is_cuda == device.startswith("cuda")  # (x is on the default device, the test's)
    assert repr(packed).startswith("PackedSequence(data=tensor(")
    # built by hand from a list of batch sizes: unsorted_indices derived, batch_sizes on the CPU
    rebuilt = PackedSequence(data, [2, 2, 1], ag.tensor([1, 0]))
    assert rebuilt.batch_sizes.device == "cpu" and rebuilt.unsorted_indices.tolist() == [1, 0]
    assert invert_permutation(None) is None


@pytest.mark.parametrize("kind", ["float32 tensor", "float64 tensor", "list of floats", "numpy floats"])
def test_float_lengths_holding_whole_numbers_pack_as_pytorch(device, torch, kind):
    """PyTorch takes float lengths (a padding mask summed, say); they were refused. A fractional
    one, which PyTorch truncates silently, is still refused, naming the value."""
    rng = np.random.default_rng(8)
    xa, xt = float64_leaves(torch, rng.standard_normal((STEPS, len(LENGTHS), INPUT)))
    as_kind = {"float32 tensor": lambda v: ag.tensor(v, dtype=ag.float32, device="cpu"),
               "float64 tensor": lambda v: ag.tensor(v, dtype=ag.float64),
               "list of floats": lambda v: [float(n) for n in v],
               "numpy floats": lambda v: np.asarray(v, dtype=np.float32)}[kind]
    torch_lengths = torch.tensor(LENGTHS, dtype=torch.float32)
    packed_a = pack_padded_sequence(xa, as_kind(LENGTHS), enforce_sorted=False)
    packed_t = torch.nn.utils.rnn.pack_padded_sequence(xt, torch_lengths, enforce_sorted=False)
    _assert_same_packing(packed_a, packed_t)
    _weighted_sum(torch, packed_a.data, packed_t.data, rng)
    _assert_close(xa.grad, xt.grad)
    with pytest.raises(TypeError, match=r"integers \(or whole floats\), got 2.5.*truncates"):
        pack_padded_sequence(xa, as_kind([3, 5, 1, 2.5]), enforce_sorted=False)


def test_bad_lengths_and_shapes_raise_clear_errors(device):
    x = ag.zeros((4, 3, 2))
    with pytest.raises(ValueError, match="sorted in decreasing order.*enforce_sorted=False"):
        pack_padded_sequence(x, [2, 4, 1])
    with pytest.raises(ValueError, match="greater than 0"):
        pack_padded_sequence(x, [4, 2, 0])
    with pytest.raises(ValueError, match="greater than 0"):
        pack_sequence([ag.zeros((2, 1)), ag.zeros((0, 1))], enforce_sorted=False)
    with pytest.raises(ValueError, match="length of 5 exceeds the input's 4 time steps"):
        pack_padded_sequence(x, [5, 2, 1], enforce_sorted=False)
    with pytest.raises(ValueError, match=r"len\(lengths\)` to be equal to batch_size, but got 2 \(batch_size=3\)"):
        pack_padded_sequence(x, [4, 2])
    with pytest.raises(ValueError, match="batch_size=4"):
        pack_padded_sequence(x, [3, 3, 2], batch_first=True)
    with pytest.raises(TypeError, match="integers"):
        pack_padded_sequence(x, [2.5, 2, 1])
    with pytest.raises(ValueError, match="total_length=2 and max sequence length being 4"):
        pad_packed_sequence(pack_padded_sequence(x, [4, 2, 1]), total_length=2)
    with pytest.raises(TypeError, match="total_length must be an int or None, not 6.0"):
        pad_packed_sequence(pack_padded_sequence(x, [4, 2, 1]), total_length=6.0)
    with pytest.raises(TypeError, match="batch_sizes must be a 1-D integer tensor"):
        PackedSequence(ag.zeros((3, 2)), ag.tensor([2.0, 1.0], device="cpu"))
    # batch sizes no packing gives: the layers and the unpacking failed in NumPy (a broadcast, an
    # IndexError) or read the wrong rows silently (PyTorch's crash or read past the data)
    for sizes in ([2, 0, 1], [1, 2], [1, 1], [4], [], [-1, 4]):
        with pytest.raises(ValueError, match=r"batch_sizes .* must be positive, non-increasing and add up to the "
                                             r"rows of data \(shape \(3, 2\)\)"):
            PackedSequence(ag.zeros((3, 2)), sizes)
    with pytest.raises(ValueError, match=r"sorted_indices must hold one index per sequence \(2\), got shape \(3,\)"):
        PackedSequence(ag.zeros((3, 2)), [2, 1], ag.tensor([2, 0, 1]))
    with pytest.raises(ValueError, match="padding_side must be 'right' or 'left'"):
        pad_sequence([ag.zeros((2, 1))], padding_side="middle")
    with pytest.raises(ValueError, match="empty list"):
        pad_sequence([])
    with pytest.raises(ValueError, match="trailing shape"):
        pad_sequence([ag.zeros((2, 3)), ag.zeros((2, 4))])


# --- recurrent layers on packed input -----------------------------------------------------

KINDS = {"rnn": ("RNN", {}), "lstm": ("LSTM", {}), "gru": ("GRU", {}), "lstm_proj": ("LSTM", {"proj_size": PROJ})}
CONFIGS = {
    "sorted": dict(enforce_sorted=True),
    "unsorted_batch_first_bidirectional": dict(batch_first=True, bidirectional=True),
    "two_layers_bidirectional_given_hx": dict(num_layers=2, bidirectional=True, with_hx=True),
    "two_layers_full_dropout": dict(num_layers=2, dropout=1.0, with_hx=True),  # dropout=1 is deterministic
}


def _pair(torch, kind, **kwargs):
    torch_name, extra = KINDS[kind]
    kwargs = {**extra, **kwargs}
    theirs = getattr(torch.nn, torch_name)(INPUT, HIDDEN, dtype=torch.float64, **kwargs)
    ours = getattr(nn, torch_name)(INPUT, HIDDEN, dtype=ag.float64, **kwargs)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("kind", list(KINDS))
def test_packed_input_matches_pytorch(device, torch, kind, config):
    settings = dict(CONFIGS[config])
    enforce_sorted = settings.pop("enforce_sorted", False)
    with_hx = settings.pop("with_hx", False)
    batch_first = settings.get("batch_first", False)
    ours, theirs = _pair(torch, kind, **settings)
    rng = np.random.default_rng(sorted(KINDS).index(kind) * 10 + sorted(CONFIGS).index(config))
    lengths = SORTED if enforce_sorted else LENGTHS
    batch = len(lengths)
    xa, xt = float64_leaves(torch, rng.standard_normal((batch, STEPS, INPUT) if batch_first else (STEPS, batch, INPUT)))
    count = settings.get("num_layers", 1) * (2 if settings.get("bidirectional") else 1)
    state_sizes = [PROJ if "proj_size" in KINDS[kind][1] else HIDDEN] + ([HIDDEN] if "lstm" in kind else [])
    states = [float64_leaves(torch, rng.standard_normal((count, batch, size))) for size in state_sizes] if with_hx else []
    hx_a = hx_t = None
    if states:
        hx_a = tuple(a for a, _ in states) if len(states) == 2 else states[0][0]
        hx_t = tuple(t for _, t in states) if len(states) == 2 else states[0][1]

    packed_a = pack_padded_sequence(xa, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    packed_t = torch.nn.utils.rnn.pack_padded_sequence(xt, lengths, batch_first=batch_first,
                                                       enforce_sorted=enforce_sorted)
    out_a, finals_a = ours(packed_a, hx_a)
    out_t, finals_t = theirs(packed_t, hx_t)
    finals_a = list(finals_a) if isinstance(finals_a, tuple) else [finals_a]
    finals_t = list(finals_t) if isinstance(finals_t, tuple) else [finals_t]

    _assert_same_packing(out_a, out_t)
    assert out_a.batch_sizes is packed_a.batch_sizes and out_a.sorted_indices is packed_a.sorted_indices
    for fa, ft in zip(finals_a, finals_t):  # each sequence's state at its own last step, original order
        _assert_close(fa, ft)

    weights = [rng.standard_normal(tuple(t.shape)) for t in [out_t.data] + finals_t]
    loss_a = sum((a * ag.tensor(w, dtype=ag.float64)).sum() for a, w in zip([out_a.data] + finals_a, weights))
    sum((t * torch.tensor(w)).sum() for t, w in zip([out_t.data] + finals_t, weights)).backward()
    loss_a.backward()
    _assert_close(xa.grad, xt.grad, rtol=1e-9)
    for a, t in states:
        _assert_close(a.grad, t.grad, rtol=1e-9)
    assert_parameter_grads_match(ours, theirs, rtol=1e-9)


def test_packed_output_pads_to_the_unpacked_run(device):
    """Sequences of full length give the same outputs packed and unpacked."""
    lstm = nn.LSTM(INPUT, HIDDEN, bidirectional=True, dtype=ag.float64)
    x = ag.tensor(np.random.default_rng(4).standard_normal((STEPS, 3, INPUT)), dtype=ag.float64)
    out, (h, c) = lstm(x)
    packed_out, (ph, pc) = lstm(pack_padded_sequence(x, [STEPS] * 3))
    padded, _ = pad_packed_sequence(packed_out)
    for a, b in ((padded, out), (ph, h), (pc, c)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)


def test_packed_input_with_wrong_state_or_features_raises(device):
    gru = nn.GRU(INPUT, HIDDEN, num_layers=2)
    packed = pack_sequence([ag.zeros((3, INPUT)), ag.zeros((2, INPUT))])
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(2, 2, 4\).*PackedSequence of 2 sequences"):
        gru(packed, ag.zeros((2, 3, HIDDEN)))
    with pytest.raises(ValueError, match="input_size=3, got"):
        gru(pack_sequence([ag.zeros((3, INPUT + 1))]))
    with pytest.raises(TypeError, match="pair"):
        nn.LSTM(INPUT, HIDDEN)(packed, ag.zeros((1, 2, HIDDEN)))


# --- edge cases: a batch of one, ties, tensor lengths, eval dropout, second order ---

def _rnn_pair(torch, kind, **kwargs):
    theirs = getattr(torch.nn, kind)(INPUT, HIDDEN, dtype=torch.float64, **kwargs)
    ours = getattr(nn, kind)(INPUT, HIDDEN, dtype=ag.float64, **kwargs)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _assert_packed_runs_match(torch, ours, theirs, lengths, rng, with_hx, batch_first=False, enforce_sorted=False,
              lengths_as_tensor=False):
    batch, steps = len(lengths), max(lengths)
    xa, xt = float64_leaves(torch, rng.standard_normal((batch, steps, INPUT) if batch_first else (steps, batch, INPUT)))
    count = ours.num_layers * ours.num_directions
    sizes = [ours.proj_size or HIDDEN] + ([HIDDEN] if isinstance(ours, nn.LSTM) else [])
    states = [float64_leaves(torch, rng.standard_normal((count, batch, s))) for s in sizes] if with_hx else []
    hx_a = hx_t = None
    if states:
        hx_a = tuple(a for a, _ in states) if len(states) == 2 else states[0][0]
        hx_t = tuple(t for _, t in states) if len(states) == 2 else states[0][1]
    la = ag.tensor(lengths, dtype=ag.int64, device="cpu") if lengths_as_tensor else lengths
    pa = pack_padded_sequence(xa, la, batch_first=batch_first, enforce_sorted=enforce_sorted)
    pt = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), batch_first=batch_first,
                                                 enforce_sorted=enforce_sorted)
    out_a, fa = ours(pa, hx_a)
    out_t, ft = theirs(pt, hx_t)
    fa = list(fa) if isinstance(fa, tuple) else [fa]
    ft = list(ft) if isinstance(ft, tuple) else [ft]
    pad_a, len_a = pad_packed_sequence(out_a, batch_first=batch_first, total_length=steps + 2)
    pad_t, len_t = torch.nn.utils.rnn.pad_packed_sequence(out_t, batch_first=batch_first, total_length=steps + 2)
    assert len_a.tolist() == len_t.tolist()
    _assert_close(pad_a, pad_t)
    for a, t in zip(fa, ft):
        _assert_close(a, t)
    weights = [rng.standard_normal(tuple(t.shape)) for t in [pad_t] + ft]
    sum((a * ag.tensor(w, dtype=ag.float64)).sum() for a, w in zip([pad_a] + fa, weights)).backward()
    sum((t * torch.tensor(w)).sum() for t, w in zip([pad_t] + ft, weights)).backward()
    _assert_close(xa.grad, xt.grad, rtol=1e-9)
    for a, t in states:
        _assert_close(a.grad, t.grad, rtol=1e-9)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), dict(theirs.named_parameters())[name].grad.numpy(),
                                   rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("case", ["batch_of_one", "equal_lengths", "ties_unsorted", "tensor_lengths"])
@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_packed_edge_cases_match_pytorch(device, torch, kind, case):
    lengths = {"batch_of_one": [4], "equal_lengths": [3, 3, 3], "ties_unsorted": [2, 4, 2, 4, 1],
               "tensor_lengths": [2, 5, 3]}[case]
    ours, theirs = _rnn_pair(torch, kind, bidirectional=True)
    _assert_packed_runs_match(torch, ours, theirs, lengths, np.random.default_rng(8), with_hx=True,
              lengths_as_tensor=case == "tensor_lengths", batch_first=case == "equal_lengths")


def test_packed_ties_sort_like_pytorch(device, torch):
    lengths = [2, 4, 2, 4, 1, 4]
    x = np.arange(4 * 6, dtype=np.float64).reshape(4, 6, 1)
    pa = pack_padded_sequence(ag.tensor(x, dtype=ag.float64), lengths, enforce_sorted=False)
    pt = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), lengths, enforce_sorted=False)
    assert pa.sorted_indices.tolist() == pt.sorted_indices.tolist()
    _assert_close(pa.data, pt.data)


def test_packed_lstm_proj_bidirectional_two_layers_eval_dropout(device, torch):
    ours, theirs = _rnn_pair(torch, "LSTM", num_layers=2, bidirectional=True, proj_size=PROJ, dropout=0.5)
    ours.eval()
    theirs.eval()
    _assert_packed_runs_match(torch, ours, theirs, [3, 5, 1, 4], np.random.default_rng(9), with_hx=True, batch_first=True)


def test_packed_gru_gradgradcheck(device):
    rng = np.random.default_rng(10)
    gru = nn.GRU(2, 2, bidirectional=True, dtype=ag.float64)
    x = ag.tensor(rng.standard_normal((3, 2, 2)), dtype=ag.float64, requires_grad=True)
    h0 = ag.tensor(rng.standard_normal((2, 2, 2)), dtype=ag.float64, requires_grad=True)

    def fn(x, h0):
        out, h = gru(pack_padded_sequence(x, [1, 3], enforce_sorted=False), h0)
        return out.data, h
    assert ag.gradcheck(fn, (x, h0))
    assert ag.gradgradcheck(fn, (x, h0))


def test_packed_second_order_matches_pytorch(device, torch):
    ours, theirs = _rnn_pair(torch, "LSTM", proj_size=PROJ)
    rng = np.random.default_rng(11)
    xa, xt = float64_leaves(torch, rng.standard_normal((4, 3, INPUT)))
    out_a, _ = ours(pack_padded_sequence(xa, [2, 4, 1], enforce_sorted=False))
    out_t, _ = theirs(torch.nn.utils.rnn.pack_padded_sequence(xt, [2, 4, 1], enforce_sorted=False))
    (ga,) = ag.grad((out_a.data ** 2).sum(), [xa], create_graph=True)
    (gt,) = torch.autograd.grad((out_t.data ** 2).sum(), [xt], create_graph=True)
    _assert_close(ga, gt, rtol=1e-9)
    (ga * ga).sum().backward()
    (gt * gt).sum().backward()
    np.testing.assert_allclose(ours.weight_hr_l0.grad.numpy(), theirs.weight_hr_l0.grad.numpy(), rtol=1e-8)
    _assert_close(xa.grad, xt.grad, rtol=1e-8)


def test_pad_packed_total_length_batch_first_and_padding_value(device, torch):
    seqs = [np.arange(3.0).reshape(3, 1), np.arange(5.0).reshape(5, 1) + 10, np.array([[7.0]])]
    pa = pack_sequence([ag.tensor(s, dtype=ag.float64) for s in seqs], enforce_sorted=False)
    pt = torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    a, la = pad_packed_sequence(pa, batch_first=True, padding_value=-1.0, total_length=7)
    t, lt = torch.nn.utils.rnn.pad_packed_sequence(pt, batch_first=True, padding_value=-1.0, total_length=7)
    _assert_close(a, t)
    assert la.tolist() == lt.tolist()
    with pytest.raises(ValueError, match="total_length"):
        pad_packed_sequence(pa, total_length=4)


@pytest.mark.parametrize("packed", [False, True])
def test_recurrent_input_of_another_dtype_than_the_weights_is_refused(device, packed):
    """As nn.Linear (and PyTorch's RNNs): float32 input into a float64 LSTM is a TypeError
    naming both dtypes, not a silent promotion to float64."""
    lstm = nn.LSTM(INPUT, HIDDEN, dtype=ag.float64)
    x = ag.zeros((2, 1, INPUT))  # float32
    with pytest.raises(TypeError, match="float64.*float32|float32.*float64"):
        lstm(pack_sequence([x[:, 0]]) if packed else x)


# --- bug: sequences of different dtypes were promoted, not put in the first one's -----------

@pytest.mark.parametrize("first, second", [("float32", "float64"), ("float64", "float32")])
@pytest.mark.parametrize("packed", [False, True], ids=["pad_sequence", "pack_sequence"])
def test_sequences_of_different_dtypes_take_the_first_ones(device, torch, first, second, packed):
    rng = named_rng("mixed dtypes")
    values = [rng.normal(size=(3, 2)).astype(first), rng.normal(size=(2, 2)).astype(second)]
    ours = [ag.tensor(v, requires_grad=True) for v in values]
    theirs = [torch.tensor(v, requires_grad=True) for v in values]
    if packed:
        out, ref = rnn.pack_sequence(ours).data, torch.nn.utils.rnn.pack_sequence(theirs).data
    else:
        out, ref = rnn.pad_sequence(ours, padding_value=-1.5), torch.nn.utils.rnn.pad_sequence(theirs, padding_value=-1.5)
    assert out.dtype == np.dtype(first) and str(ref.dtype) == f"torch.{first}"
    np.testing.assert_array_equal(out.numpy(), ref.detach().numpy())
    weights = rng.normal(size=ref.shape)
    (out * ag.tensor(weights.astype(first))).sum().backward()
    (ref * torch.tensor(weights.astype(first))).sum().backward()
    for x, y in zip(ours, theirs):  # each gradient back in its own sequence's dtype
        assert x.grad.dtype == x.dtype
        np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-6)


# --- bug: a one-element integer tensor was refused as total_length ------------------------

@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_packed_sequence_takes_an_integer_tensor_as_total_length(device, torch, batch_first):
    values = [np.arange(n * 2, dtype=np.float32).reshape(n, 2) + 1 for n in (1, 3, 2)]
    ours = rnn.pack_sequence([ag.tensor(v) for v in values], enforce_sorted=False)
    theirs = torch.nn.utils.rnn.pack_sequence([torch.tensor(v) for v in values], enforce_sorted=False)
    _, lengths = rnn.pad_packed_sequence(ours)
    out, out_lengths = rnn.pad_packed_sequence(ours, batch_first, -1.0, total_length=lengths.max() + 2)
    ref, _ = torch.nn.utils.rnn.pad_packed_sequence(theirs, batch_first, -1.0,
                                                    total_length=torch.tensor(5))
    assert out.shape == tuple(ref.shape) == ((3, 5, 2) if batch_first else (5, 3, 2))
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    assert out_lengths.tolist() == [1, 3, 2]


@pytest.mark.parametrize("total_length", [5.0, ag.tensor(5.0), True])
def test_pad_packed_sequence_refuses_a_total_length_that_is_no_integer(total_length):
    packed = rnn.pack_sequence([ag.ones((3, 2)), ag.ones((1, 2))])
    with pytest.raises(TypeError, match="pad_packed_sequence: total_length must be an int or None"):
        rnn.pad_packed_sequence(packed, total_length=total_length)
