"""nn.EmbeddingBag and F.embedding_bag against PyTorch 2.13: the three modes over 2-D
inputs and 1-D inputs with offsets (empty bags, include_last_offset, padding_idx,
per_sample_weights), values and gradients of the weight and of the per-sample weights
in float64, max_norm, scale_grad_by_freq, the layer's parameter, initialization,
state_dict, from_pretrained and repr, and the errors."""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

from .torch_compare import named_rng

MODES = ["sum", "mean", "max"]


def distinct_table(name, rows=7, dim=3):
    """A float64 table whose entries are at least 0.1 apart, so no max ties across rows."""
    rng = named_rng(name)
    return (rng.permutation(rows * dim) * 0.1 - rows * dim * 0.05).reshape(rows, dim)


def both(torch, table, input, offsets=None, per_sample_weights=None, **options):
    """Our and PyTorch's embedding_bag of the same table (leaves), with the same output
    gradient backpropagated; returns (ours, theirs) as (output, weight, psw) triples."""
    wo, wt = ag.tensor(table, requires_grad=True), torch.tensor(table, requires_grad=True)
    pso = pst = None
    if per_sample_weights is not None:
        pso = ag.tensor(per_sample_weights, requires_grad=True)
        pst = torch.tensor(per_sample_weights, requires_grad=True)
    yo = F.embedding_bag(ag.tensor(input), wo, None if offsets is None else ag.tensor(offsets),
                         per_sample_weights=pso, **options)
    yt = torch.nn.functional.embedding_bag(torch.tensor(input), wt, None if offsets is None else
                                           torch.tensor(offsets), per_sample_weights=pst, **options)
    g = np.random.default_rng(0).standard_normal(tuple(yt.shape))
    yo.backward(ag.tensor(g))
    yt.backward(torch.from_numpy(g))
    return (yo, wo, pso), (yt, wt, pst)


def check(torch, table, input, offsets=None, per_sample_weights=None, **options):
    (yo, wo, pso), (yt, wt, pst) = both(torch, table, input, offsets, per_sample_weights, **options)
    np.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert yo.shape == tuple(yt.shape)
    np.testing.assert_allclose(wo.grad.numpy(), wt.grad.numpy(), rtol=1e-12, atol=1e-14)
    if pso is not None:
        np.testing.assert_allclose(pso.grad.numpy(), pst.grad.numpy(), rtol=1e-12, atol=1e-14)
    return yo


@pytest.mark.parametrize("mode", MODES)
def test_two_dimensional_input_is_one_bag_per_row(device, torch, mode):
    input = np.array([[1, 2, 4, 2], [5, 0, 0, 3], [6, 6, 6, 6]])
    check(torch, distinct_table("2d" + mode), input, mode=mode)


@pytest.mark.parametrize("padding_idx", [None, 4, -1])
@pytest.mark.parametrize("mode", MODES)
def test_offsets_with_empty_bags_and_padding(device, torch, mode, padding_idx):
    input = np.array([1, 2, 4, 5, 4, 3, 2, 0, 6, 4])
    offsets = np.array([0, 2, 2, 5, 8, 10])  # bags 1 and 5 are empty
    check(torch, distinct_table("offsets" + mode), input, offsets, mode=mode, padding_idx=padding_idx)
    # a bag of padding only is empty too
    check(torch, distinct_table("padding-bag" + mode), np.array([4, 4, 1]), np.array([0, 2]), mode=mode,
          padding_idx=4)


@pytest.mark.parametrize("mode", MODES)
def test_include_last_offset_ends_the_last_bag(device, torch, mode):
    input = np.array([1, 2, 4, 5, 4, 3, 2, 0])
    for offsets in ([0, 2, 2, 8], [0, 3, 8], [0, 2, 2, 5]):  # (the last bag runs to the end, as in PyTorch)
        check(torch, distinct_table("last" + mode), input, np.array(offsets), mode=mode, include_last_offset=True)
    # a lone last offset means no bags (PyTorch 2.13 crashes there)
    y = F.embedding_bag(ag.tensor(input), ag.ones((7, 3)), ag.tensor([0]), mode=mode, include_last_offset=True)
    assert y.shape == (0, 3)


def test_per_sample_weights_scale_each_row_and_get_their_gradient(device, torch):
    rng = named_rng("psw")
    table = rng.standard_normal((7, 3))
    input = np.array([1, 2, 4, 5, 4, 3, 2, 0])
    check(torch, table, input, np.array([0, 3, 3, 6]), rng.standard_normal(8), mode="sum")
    check(torch, table, input, np.array([0, 3, 3, 6]), rng.standard_normal(8), mode="sum", padding_idx=4)
    check(torch, table, input.reshape(2, 4), None, rng.standard_normal((2, 4)), mode="sum")


def test_per_sample_weights_or_the_table_alone_get_their_gradient(device, torch):
    """Either one of the table and the per-sample weights may need no gradient (a frozen
    table, fixed weights): the other's gradient is PyTorch's."""
    rng = named_rng("psw-alone")
    table, psw = rng.standard_normal((7, 3)), rng.standard_normal(8)
    input, offsets = np.array([1, 2, 4, 5, 4, 3, 2, 0]), np.array([0, 3, 3, 6])
    g = rng.standard_normal((4, 3))
    for table_grad in (True, False):
        wo, wt = ag.tensor(table, requires_grad=table_grad), torch.tensor(table, requires_grad=table_grad)
        so, st = ag.tensor(psw, requires_grad=not table_grad), torch.tensor(psw, requires_grad=not table_grad)
        F.embedding_bag(ag.tensor(input), wo, ag.tensor(offsets), mode="sum", per_sample_weights=so).backward(
            ag.tensor(g))
        torch.nn.functional.embedding_bag(torch.tensor(input), wt, torch.tensor(offsets), mode="sum",
                                          per_sample_weights=st).backward(torch.tensor(g))
        ours, theirs = (wo, wt) if table_grad else (so, st)
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-14)
        assert (so if table_grad else wo).grad is None

def test_sum_is_linear_in_weight_and_per_sample_weights_to_second_order(device):
    rng = named_rng("psw-gradgrad")
    ids, offsets = ag.tensor([1, 2, 1, 0, 3]), ag.tensor([0, 2, 2])
    weight = ag.tensor(rng.standard_normal((4, 2)), requires_grad=True)
    scale = ag.tensor(rng.standard_normal(5), requires_grad=True)
    fn = lambda w, s: F.embedding_bag(ids, w, offsets, mode="sum", per_sample_weights=s) ** 2  # noqa: E731
    assert ag.gradcheck(fn, [weight, scale]) and ag.gradgradcheck(fn, [weight, scale])
    mean = lambda w: F.embedding_bag(ids, w, offsets, mode="mean") ** 2  # noqa: E731
    assert ag.gradcheck(mean, [weight]) and ag.gradgradcheck(mean, [weight])


@pytest.mark.parametrize("option", ["per_sample_weights", "scale_grad_by_freq"])
def test_the_numpy_route_never_makes_the_rows_of_every_id_whole(device, option):
    """On NumPy the bags' (weighted) sums, the table's (scaled) gradient and the
    per-sample weights' gradient go one block of equal-length bags (or of equally
    repeated ids) at a time: no (ids, dim) array is made whole. (Several alive at once,
    2.7 MB each for 10,000 ids of 64 floats, cost thousands of page faults a step, and
    scale_grad_by_freq's np.add.at took an int64 index of twice that; see
    backends/numpy_runs.py.) The generic route, for CuPy, makes them."""
    import tracemalloc
    if device != "cpu":
        pytest.skip("the NumPy route's memory")
    rng = named_rng("psw-memory")
    lengths = rng.integers(10, 31, 2000)
    ids = rng.integers(0, 1000, int(lengths.sum()))
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    weight = ag.tensor(rng.standard_normal((1000, 64)).astype(np.float32), requires_grad=True)
    options = {"scale_grad_by_freq": True}
    if option == "per_sample_weights":
        options = {"per_sample_weights": ag.tensor(rng.standard_normal(len(ids)).astype(np.float32),
                                                   requires_grad=True)}
    ids, offsets, g = ag.tensor(ids), ag.tensor(offsets), ag.tensor(np.ones((2000, 64), dtype=np.float32))
    whole = len(ids) * 64 * 4  # bytes of one (ids, dim) float32 array
    tracemalloc.start()
    try:
        F.embedding_bag(ids, weight, offsets, mode="sum", **options).backward(g)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < whole, f"{peak / 1e6:.1f} MB at the peak, {whole / 1e6:.1f} MB for the rows of every id"


def test_max_sends_the_gradient_to_each_bags_first_maximum(device, torch):
    """Ties within a bag (an id twice, or equal rows) go to one entry, so a row used
    twice in a bag gets the gradient once, as PyTorch's."""
    table = np.array([[1.0, 5.0], [1.0, 2.0], [3.0, 2.0], [0.0, 0.0]])
    check(torch, table, np.array([0, 1, 0, 2, 2, 3, 1]), np.array([0, 3, 5]), mode="max")


@pytest.mark.parametrize("mode", MODES)
def test_max_norm_renormalizes_the_looked_up_rows_in_place(device, torch, mode):
    table = named_rng("max-norm").standard_normal((7, 3)) * 3
    input = np.array([1, 2, 4, 5, 4])
    ours, theirs = both(torch, table, input, np.array([0, 2]), mode=mode, max_norm=1.5, norm_type=2.0)
    np.testing.assert_allclose(ours[1].numpy(), theirs[1].detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours[0].numpy(), theirs[0].detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours[1].grad.numpy(), theirs[1].grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_scale_grad_by_freq_divides_each_rows_gradient_by_its_count(device, torch, mode):
    """As F.embedding's: each row's gradient divided by how often its id occurs in the
    input. (PyTorch 2.13's CPU embedding_bag scales by the wrong rows' counts here: for
    ids [1, 2, 4, 5, 4, 3, 2, 0] it gives row 4 twice its gradient and rows 3 and 5 half
    theirs; the reference is PyTorch's embedding with the same option, reduced per bag.)"""
    table = named_rng("freq").standard_normal((7, 3))
    input, offsets = np.array([1, 2, 4, 5, 4, 3, 2, 0]), np.array([0, 2, 2, 5])
    wo = ag.tensor(table, requires_grad=True)
    yo = F.embedding_bag(ag.tensor(input), wo, ag.tensor(offsets), mode=mode, scale_grad_by_freq=True)
    wt = torch.tensor(table, requires_grad=True)
    rows = torch.nn.functional.embedding(torch.tensor(input), wt, scale_grad_by_freq=True)
    bags = [rows[a:b] for a, b in zip(offsets, list(offsets[1:]) + [len(input)])]
    reduce = (lambda r: r.sum(0)) if mode == "sum" else (lambda r: r.mean(0) if len(r) else r.sum(0))
    yt = torch.stack([reduce(b) for b in bags])
    g = np.random.default_rng(1).standard_normal(tuple(yt.shape))
    yo.backward(ag.tensor(g))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(wo.grad.numpy(), wt.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_scale_grad_by_freq_differentiates_twice_as_embedding_reduced_per_bag(device, mode):
    """The scaled gradient is a spread scaled per id, so its own derivative carries the
    scale (as F.embedding's does): second derivatives equal F.embedding's with the
    option, its rows summed (or averaged) per bag, to rounding; with per_sample_weights
    as well, each id's row times its weight first."""
    rng = named_rng("freq-twice" + mode)
    input, offsets = random_bags(rng, 12, rows=6)
    ids = ag.tensor(input)
    bounds = list(zip(offsets, list(offsets[1:]) + [len(input)]))
    weight = ag.tensor(rng.standard_normal((6, 3)), requires_grad=True)
    psw = ag.tensor(rng.standard_normal(len(input)), requires_grad=True)
    for scale in (None, psw) if mode == "sum" else (None,):
        def bags(w):
            return F.embedding_bag(ids, w, ag.tensor(offsets), mode=mode, scale_grad_by_freq=True,
                                   per_sample_weights=scale)

        def by_embedding(w):
            rows = F.embedding(ids, w, scale_grad_by_freq=True)
            if scale is not None:
                rows = rows * scale.reshape(-1, 1)
            reduce = (lambda r: r.sum(axis=0)) if mode == "sum" else (lambda r: r.mean(axis=0))
            return ag.stack([reduce(rows[a:b]) if b > a else rows[:0].sum(axis=0) for a, b in bounds])

        results = []
        for fn in (bags, by_embedding):
            weight.grad = psw.grad = None
            (gw,) = ag.grad((fn(weight) ** 3).sum(), [weight], create_graph=True)
            ((gw * gw).sum()).backward()
            results.append([weight.grad.numpy()] + ([] if scale is None else [psw.grad.numpy()]))
        for ours, reference in zip(*results):
            np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-14)


def test_scale_grad_by_freq_gives_the_bits_of_add_at():
    """The spread scales each id's share and adds a row's shares in id order, as
    np.add.at of the scaled, repeated bag gradients (the route it replaced) does: the
    same float32 bits."""
    rng = named_rng("freq-bits")
    lengths = rng.integers(0, 20, 300)
    input = rng.integers(0, 40, int(lengths.sum()))
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    weight = ag.tensor(rng.standard_normal((40, 16)).astype(np.float32), requires_grad=True)
    g = (rng.standard_normal((300, 16)) * 10.0 ** rng.integers(-4, 5, (300, 1))).astype(np.float32)
    F.embedding_bag(ag.tensor(input), weight, ag.tensor(offsets), mode="sum", scale_grad_by_freq=True).backward(
        ag.tensor(g))
    inverse = (1 / np.bincount(input, minlength=40).astype(np.float32))[input]
    want = np.zeros((40, 16), dtype=np.float32)
    np.add.at(want, input, np.repeat(g, lengths, axis=0) * inverse[:, None])
    np.testing.assert_array_equal(weight.grad.numpy(), want)

def test_empty_inputs_give_zero_bags(device, torch):
    for mode in MODES:
        check(torch, distinct_table("empty"), np.zeros(0, dtype=np.int64), np.array([0, 0]), mode=mode)
    # bags of length 0 (PyTorch 2.13 refuses them: "step must be nonzero")
    for mode in MODES:
        weight = ag.ones((4, 3), requires_grad=True)
        y = F.embedding_bag(ag.zeros((2, 0), dtype=ag.int64), weight, mode=mode)
        np.testing.assert_array_equal(y.numpy(), np.zeros((2, 3)))
        y.sum().backward()
        np.testing.assert_array_equal(weight.grad.numpy(), np.zeros((4, 3)))


def test_float32_values_and_a_larger_batch(device, torch):
    rng = named_rng("large")
    table = rng.standard_normal((50, 8)).astype(np.float32)
    input = rng.integers(0, 50, 400)
    offsets = np.sort(rng.integers(0, 400, 60))
    offsets[0] = 0
    for mode in MODES:
        y = F.embedding_bag(ag.tensor(input), ag.tensor(table), ag.tensor(offsets), mode=mode)
        reference = torch.nn.functional.embedding_bag(torch.tensor(input), torch.tensor(table),
                                                      torch.tensor(offsets), mode=mode)
        assert y.dtype == ag.float32
        np.testing.assert_allclose(y.numpy(), reference.numpy(), rtol=1e-5, atol=1e-6)
        check(torch, distinct_table("large" + mode, 50, 8), input, offsets, mode=mode, padding_idx=7)



def random_bags(rng, num_bags, rows=30):
    """Bags of 0 to 12 ids (a quarter empty) drawn from few rows, so ids repeat within
    and across bags."""
    lengths = rng.integers(0, 13, num_bags) * (rng.random(num_bags) > 0.25)
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    return rng.integers(0, rows, int(lengths.sum())), offsets


@pytest.mark.parametrize("mode", MODES)
def test_many_bags_of_many_lengths_with_repeated_ids(device, torch, mode):
    """Bags of a dozen lengths, empty ones, repeated ids: each length takes its own pass
    on the NumPy backend, and the gradient gathers each row's repeats."""
    rng = named_rng("many-bags" + mode)
    input, offsets = random_bags(rng, 80)
    table = distinct_table("many-bags" + mode, 30, 4)
    check(torch, table, input, offsets, mode=mode)
    check(torch, table, input, offsets, mode=mode, padding_idx=3)
    check(torch, table, input, np.append(offsets, len(input)), mode=mode, include_last_offset=True)
    check(torch, table, input[:72].reshape(6, 12), mode=mode, padding_idx=5)
    if mode == "sum":
        check(torch, table, input, offsets, rng.standard_normal(len(input)), mode=mode, padding_idx=3)


@pytest.mark.parametrize("mode", MODES)
def test_gradients_are_exact_to_second_order(device, mode):
    rng = named_rng("gradcheck" + mode)
    input, offsets = random_bags(rng, 12, rows=6)
    ids, offsets = ag.tensor(input), ag.tensor(offsets)
    weight = ag.tensor(distinct_table("gradcheck" + mode, 6, 3), requires_grad=True)
    fn = lambda w: F.embedding_bag(ids, w, offsets, mode=mode, padding_idx=2) ** 2  # noqa: E731
    assert ag.gradcheck(fn, [weight]) and ag.gradgradcheck(fn, [weight])
    if mode == "sum":
        scale = ag.tensor(rng.standard_normal(len(input)), requires_grad=True)
        fn = lambda w, s: F.embedding_bag(ids, w, offsets, mode=mode, per_sample_weights=s) ** 2  # noqa: E731
        assert ag.gradcheck(fn, [weight, scale]) and ag.gradgradcheck(fn, [weight, scale])


def test_max_keeps_a_leading_nan_and_skips_later_ones(device, torch):
    """PyTorch's loop keeps a value until a greater one comes: a NaN first in its bag
    stays (and gets the gradient), a later one never wins."""
    nan = np.nan
    table = np.array([[1.0, nan], [nan, 2.0], [3.0, 1.0], [0.0, 5.0]])
    (yo, wo, _), (yt, wt, _) = both(torch, table, np.array([0, 1, 2, 3, 1, 0, 2, 1]), np.array([0, 4, 7]),
                                    mode="max")
    np.testing.assert_array_equal(yo.numpy(), yt.detach().numpy())
    np.testing.assert_array_equal(wo.grad.numpy(), wt.grad.numpy())


@pytest.mark.parametrize("mode", MODES)
def test_float16_bags_against_pytorch(device, torch, mode):
    """Bags add up in float32 and round once. (With per_sample_weights each id's
    gradient rounds to float16 before the ids of a row add up, a unit in the last place
    or so from PyTorch's.)"""
    if device == "strict":
        pytest.skip("the Array API standard has no float16")
    rng = named_rng("float16" + mode)
    input, offsets = random_bags(rng, 40)
    table = rng.standard_normal((30, 8)).astype(np.float16)
    psw = rng.standard_normal(len(input)).astype(np.float16) if mode == "sum" else None
    wo, wt = ag.tensor(table, requires_grad=True), torch.tensor(table, requires_grad=True)
    yo = F.embedding_bag(ag.tensor(input), wo, ag.tensor(offsets), mode=mode, padding_idx=4,
                         per_sample_weights=None if psw is None else ag.tensor(psw))
    yt = torch.nn.functional.embedding_bag(torch.tensor(input), wt, torch.tensor(offsets), mode=mode, padding_idx=4,
                                           per_sample_weights=None if psw is None else torch.tensor(psw))
    assert yo.dtype == ag.float16
    g = rng.standard_normal(tuple(yt.shape)).astype(np.float16)
    yo.backward(ag.tensor(g))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(yo.numpy().astype(np.float64), yt.detach().numpy(), rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(wo.grad.numpy().astype(np.float64), wt.grad.numpy(), rtol=4e-3, atol=4e-3)

def test_layer_parameter_init_state_dict_and_repr(device, torch):
    layer = nn.EmbeddingBag(300, 20, mode="max", padding_idx=3)
    reference = torch.nn.EmbeddingBag(300, 20, mode="max", padding_idx=3)
    assert list(layer.state_dict()) == list(reference.state_dict()) == ["weight"]
    assert layer.weight.shape == tuple(reference.weight.shape)
    values = layer.weight.numpy()
    assert np.all(values[3] == 0) and abs(values.std() - 1) < 0.05 and abs(values.mean()) < 0.05
    assert repr(layer) == repr(reference)
    for options in ({}, {"mode": "sum", "max_norm": 2.0, "norm_type": 1.0}, {"scale_grad_by_freq": True}):
        assert repr(nn.EmbeddingBag(5, 2, **options)) == repr(torch.nn.EmbeddingBag(5, 2, **options))
    layer.load_state_dict({"weight": reference.weight.detach().numpy()})
    input, offsets = np.array([1, 3, 2, 7, 7]), np.array([0, 3])
    for mode in MODES:
        layer.mode, reference.mode = mode, mode
        y = layer(ag.tensor(input), ag.tensor(offsets))
        expected = reference(torch.tensor(input), torch.tensor(offsets)).detach().numpy()
        np.testing.assert_allclose(y.numpy(), expected, rtol=1e-6)
    layer = nn.EmbeddingBag(5, 2, mode="sum", include_last_offset=True)
    y = layer(ag.tensor([1, 2, 3]), ag.tensor([0, 1, 3]), per_sample_weights=ag.tensor([1.0, 2.0, 0.5]))
    expected = np.stack([layer.weight.numpy()[1], 2 * layer.weight.numpy()[2] + 0.5 * layer.weight.numpy()[3]])
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-6)


def test_from_pretrained_shares_the_table_and_freezes_it(device, torch):
    table = ag.tensor(distinct_table("pretrained"))
    layer = nn.EmbeddingBag.from_pretrained(table, mode="sum")
    assert layer.weight.requires_grad is False and layer.mode == "sum"
    table.data[0, 0] = 123.0
    assert layer.weight.numpy()[0, 0] == 123.0
    assert nn.EmbeddingBag.from_pretrained(table, freeze=False).weight.requires_grad
    reference = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(table.numpy()), mode="sum")
    input = np.array([[0, 1], [2, 2]])
    np.testing.assert_allclose(layer(ag.tensor(input)).numpy(), reference(torch.tensor(input)).numpy())
    with pytest.raises(ValueError, match="2-D"):
        nn.EmbeddingBag.from_pretrained(ag.zeros(3))


def test_errors_name_the_problem(device):
    w = ag.zeros((5, 2))
    ids = ag.tensor([1, 2, 3])
    with pytest.raises(ValueError, match="offsets must be None"):
        F.embedding_bag(ag.tensor([[1, 2]]), w, ag.tensor([0]))
    with pytest.raises(ValueError, match="needs offsets"):
        F.embedding_bag(ids, w)
    with pytest.raises(ValueError, match=r"offsets\[0\] must be 0"):
        F.embedding_bag(ids, w, ag.tensor([1, 2]))
    with pytest.raises(ValueError, match="cannot be greater than the input's length 3"):
        F.embedding_bag(ids, w, ag.tensor([0, 9]))
    with pytest.raises(ValueError, match="non-decreasing"):
        F.embedding_bag(ids, w, ag.tensor([0, 2, 1]))
    with pytest.raises(ValueError, match="mode must be one of"):
        F.embedding_bag(ids, w, ag.tensor([0]), mode="min")
    with pytest.raises(ValueError, match="max mode does not support"):
        F.embedding_bag(ids, w, ag.tensor([0]), mode="max", scale_grad_by_freq=True)
    with pytest.raises(ValueError, match="max mode does not support"):
        nn.EmbeddingBag(5, 2, mode="max", scale_grad_by_freq=True)
    with pytest.raises(ValueError, match="only supported for mode='sum'"):
        F.embedding_bag(ids, w, ag.tensor([0]), per_sample_weights=ag.ones(3))
    with pytest.raises(ValueError, match="same shape as the input"):
        F.embedding_bag(ids, w, ag.tensor([0]), mode="sum", per_sample_weights=ag.ones(4))
    with pytest.raises(IndexError, match="out of range"):
        F.embedding_bag(ag.tensor([1, 7]), w, ag.tensor([0]))
    with pytest.raises(ValueError, match="1-D .* or 2-D"):
        F.embedding_bag(ag.tensor([[[1]]]), w)
    with pytest.raises(TypeError, match="integer dtype"):
        F.embedding_bag(ids, w, ag.tensor([0.0]))
    with pytest.raises(ValueError, match="sparse=True"):
        F.embedding_bag(ids, w, ag.tensor([0]), sparse=True)
