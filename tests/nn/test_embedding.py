"""nn.Embedding against PyTorch, NumPy scatter-add references and finite differences,
with its options: max_norm, norm_type, scale_grad_by_freq, sparse and _freeze."""
import inspect
import math

import numpy as np
import pytest

import autograd as ag
import nn
from nn.functional import embedding

from .torch_compare import assert_close_to_torch, float64_leaves, named_rng


@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_matches_pytorch(device, torch, padding_idx):
    rng = np.random.default_rng(0)
    theirs = torch.nn.Embedding(7, 4, padding_idx=padding_idx, dtype=torch.float64)
    ours = nn.Embedding(7, 4, padding_idx=padding_idx, dtype=ag.float64)
    assert list(ours.state_dict()) == ["weight"] and ours.weight.shape == (7, 4)
    with torch.no_grad():  # a nonzero padding row: the lookup still returns it
        theirs.weight.copy_(torch.tensor(rng.standard_normal((7, 4))))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    ids = np.array([[0, 2, 2, 6], [6, 1, 2, 0], [3, 3, 3, 5]])
    seed = rng.standard_normal(ids.shape + (4,))

    out_t = theirs(torch.tensor(ids))
    out_a = ours(ag.tensor(ids))
    np.testing.assert_allclose(out_a.numpy(), out_t.detach().numpy(), rtol=0, atol=0)
    (out_t * torch.tensor(seed)).sum().backward()
    (out_a * ag.tensor(seed, dtype=ag.float64)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_repeated_indices_accumulate_and_padding_row_gets_no_gradient(device):
    table = nn.Embedding(5, 3, padding_idx=1, dtype=ag.float64)
    ids = np.array([4, 1, 4, 0, 4, 1])
    seed = np.arange(18, dtype=np.float64).reshape(6, 3)
    (table(ids) * ag.tensor(seed, dtype=ag.float64)).sum().backward()
    expected = np.zeros((5, 3))
    np.add.at(expected, ids, seed)
    expected[1] = 0
    np.testing.assert_allclose(table.weight.grad.numpy(), expected, rtol=0, atol=0)


def test_initialization(device):
    table = nn.Embedding(2000, 16, padding_idx=3)
    values = table.weight.numpy()
    assert values.dtype == np.float32 and table.weight.requires_grad
    np.testing.assert_array_equal(values[3], np.zeros(16))
    rest = np.delete(values, 3, axis=0)
    assert abs(rest.mean()) < 0.02 and abs(rest.std() - 1) < 0.02


@pytest.mark.parametrize("ids", [[[1, 0], [2, 2]], np.array([[1, 0], [2, 2]], dtype=np.int32)],
                         ids=["list", "numpy-int32"])
def test_lists_and_arrays_are_accepted(device, ids):
    table = nn.Embedding(3, 2)
    out = table(ids)
    assert out.shape == (2, 2, 2)
    weight = table.weight.numpy()
    np.testing.assert_array_equal(out.numpy(), weight[np.asarray(ids)])


def test_gradcheck(device):
    weight = ag.randn(6, 3, dtype=ag.float64, requires_grad=True)
    ids = ag.tensor([[5, 0, 5], [2, 3, 0]])
    assert ag.gradcheck(lambda w: embedding(ids, w), (weight,))  # padding_idx blocks gradients on purpose


def test_from_pretrained(device):
    vectors = ag.randn(4, 2, device=device)
    frozen = nn.Embedding.from_pretrained(vectors)
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen(ag.tensor([3, 0], device=device)).numpy(), vectors.numpy()[[3, 0]])
    assert nn.Embedding.from_pretrained(ag.randn(4, 2, device=device), freeze=False).weight.requires_grad


def test_from_pretrained_shares_the_tables_memory_as_pytorch(torch):
    """A copy held a large pretrained table twice. As PyTorch's, the weight is the table:
    an optimizer's step shows in it, and a backward that saved the table sees the change."""
    table = ag.tensor(np.arange(8.0).reshape(4, 2), requires_grad=True)
    torch_table = torch.tensor(np.arange(8.0).reshape(4, 2), requires_grad=True)
    ours = nn.Embedding.from_pretrained(table.detach(), freeze=False)
    theirs = torch.nn.Embedding.from_pretrained(torch_table.detach(), freeze=False)
    saved = (table.detach() * table).sum()  # saved the table, before the step
    for module, lib in ((ours, nn.optim), (theirs, torch.optim)):
        module(ag.tensor([1, 3]) if module is ours else torch.tensor([1, 3])).sum().backward()
        lib.SGD(module.parameters(), lr=0.5).step()
    np.testing.assert_array_equal(table.detach().numpy(), torch_table.detach().numpy())
    assert table.detach().numpy()[1].tolist() == [1.5, 2.5]
    with pytest.raises(RuntimeError, match="was modified in place"):
        saved.backward()


def test_repr():
    assert repr(nn.Embedding(10, 3)) == "Embedding(10, 3)"
    assert repr(nn.Embedding(10, 3, padding_idx=-1)) == "Embedding(10, 3, padding_idx=9)"


def test_errors(device):
    table = nn.Embedding(5, 2)
    with pytest.raises(IndexError, match=r"index 5 is out of range.*\[0, 4\]"):
        table(ag.tensor([0, 5]))
    with pytest.raises(IndexError, match=r"index -1 is out of range.*\[0, 4\]"):
        table([-1, 2])
    with pytest.raises(TypeError, match="integer dtype"):
        table(ag.tensor([0.0, 1.0]))
    with pytest.raises(TypeError, match="integer dtype"):
        table(ag.tensor([True, False]))
    with pytest.raises(ValueError, match="padding_idx 5 is out of range"):
        nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(ValueError, match="embedding_dim"):
        nn.Embedding(5, 0)


# --- the options: max_norm, norm_type, scale_grad_by_freq, sparse, _freeze -----------------

IDS = np.array([[0, 3, 3, 6], [6, 1, 3, 0]])  # repeats; rows 2, 4 and 5 are never referenced


def _table(rng, dtype=np.float64):
    """Rows of norm about 1 to 6 under every p, so a max_norm of 2 cuts some and spares others."""
    return (rng.standard_normal((7, 4)) * np.array([[0.3], [3], [2], [0.4], [3], [0.2], [2]])).astype(dtype)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.5])
def test_max_norm_renormalizes_referenced_rows_like_pytorch(device, torch, norm_type):
    w0 = _table(np.random.default_rng(0))
    theirs = torch.tensor(w0, requires_grad=True)
    ours = ag.tensor(w0, requires_grad=True)
    out_t = torch.nn.functional.embedding(torch.tensor(IDS), theirs, max_norm=2.0, norm_type=norm_type)
    out_a = embedding(ag.tensor(IDS), ours, max_norm=2.0, norm_type=norm_type)

    np.testing.assert_allclose(out_a.numpy(), out_t.detach().numpy(), rtol=1e-13, atol=0)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-13, atol=0)
    after = ours.numpy()
    norms = np.linalg.norm(w0, ord=norm_type, axis=1)
    cut = np.isin(np.arange(7), IDS) & (norms > 2.0)
    assert cut.any() and (~cut & np.isin(np.arange(7), IDS)).any()  # the data covers both cases
    np.testing.assert_allclose(np.linalg.norm(after[cut], ord=norm_type, axis=1), 2.0, rtol=1e-6)
    np.testing.assert_array_equal(after[~cut], w0[~cut])  # rows under the norm, or unreferenced: untouched
    assert norms[4] > 2.0  # an over-norm row that no id references stays as it was

    seed = np.random.default_rng(1).standard_normal(IDS.shape + (4,))
    (out_t * torch.tensor(seed)).sum().backward()
    (out_a * ag.tensor(seed, dtype=ag.float64)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-13, atol=0)


def test_max_norm_float32_module_matches_pytorch(device, torch):
    w0 = _table(np.random.default_rng(2), np.float32)
    theirs = torch.nn.Embedding(7, 4, max_norm=1.5, norm_type=3.5, _weight=torch.tensor(w0))
    ours = nn.Embedding(7, 4, max_norm=1.5, norm_type=3.5, _weight=ag.tensor(w0))
    for ids in (IDS, np.array([[6, 1], [0, 0]])):  # a second call finds rows already cut
        out_t, out_a = theirs(torch.tensor(ids)), ours(ag.tensor(ids))
        np.testing.assert_allclose(out_a.numpy(), out_t.detach().numpy(), rtol=1e-6, atol=0)
        np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-6, atol=0)
    assert ours.weight.numpy().dtype == np.float32


def test_max_norm_counts_as_an_in_place_change_of_the_weight(device, torch):
    """As in PyTorch, whose docs say to pass a clone of the weight to ops run before the lookup."""
    ids = [0, 1]
    theirs = torch.nn.Embedding(3, 2, max_norm=100.0)  # nothing to cut: the version moves anyway
    before_t = theirs.weight * theirs.weight  # saves the weight for backward
    theirs(torch.tensor(ids))
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        before_t.sum().backward()

    ours = nn.Embedding(3, 2, max_norm=100.0)
    saved = ours.weight * ours.weight  # saves the weight for backward
    ours(ids)
    with pytest.raises(RuntimeError, match="modified in place.*clone"):
        saved.sum().backward()
    ours = nn.Embedding(3, 2, max_norm=100.0)
    saved = ours.weight.clone() * ours.weight.clone()
    ours(ids)
    saved.sum().backward()  # the documented fix
    np.testing.assert_allclose(ours.weight.grad.numpy(), 2 * ours.weight.numpy(), rtol=1e-6)


def test_max_norm_with_no_ids_changes_nothing(device):
    w = ag.randn(3, 2, dtype=ag.float64) * 10
    before = w.numpy().copy()
    assert embedding(ag.zeros((0,), dtype=ag.int64), w, max_norm=1.0).shape == (0, 2)
    np.testing.assert_array_equal(w.numpy(), before)


@pytest.mark.parametrize("padding_idx", [None, 3])
def test_scale_grad_by_freq_matches_pytorch(device, torch, padding_idx):
    w0 = _table(np.random.default_rng(3))
    theirs = torch.tensor(w0, requires_grad=True)
    ours = ag.tensor(w0, requires_grad=True)
    out_t = torch.nn.functional.embedding(torch.tensor(IDS), theirs, padding_idx, scale_grad_by_freq=True)
    out_a = embedding(ag.tensor(IDS), ours, padding_idx, scale_grad_by_freq=True)
    np.testing.assert_array_equal(out_a.numpy(), w0[IDS])
    seed = np.random.default_rng(4).standard_normal(IDS.shape + (4,))
    (out_t * torch.tensor(seed)).sum().backward()
    (out_a * ag.tensor(seed, dtype=ag.float64)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-13, atol=1e-15)
    expected = np.zeros((7, 4))
    np.add.at(expected, IDS, seed / np.bincount(IDS.ravel(), minlength=7)[IDS][..., None])
    if padding_idx is not None:
        expected[padding_idx] = 0
    np.testing.assert_allclose(ours.grad.numpy(), expected, rtol=1e-13, atol=1e-15)


def test_all_options_together_on_the_module(device, torch):
    w0 = _table(np.random.default_rng(5), np.float32)
    kwargs = dict(padding_idx=6, max_norm=2.0, norm_type=1.0, scale_grad_by_freq=True)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(w0), freeze=False, **kwargs)
    ours = nn.Embedding.from_pretrained(ag.tensor(w0), freeze=False, **kwargs)
    assert (ours.padding_idx, ours.max_norm, ours.norm_type, ours.scale_grad_by_freq, ours.sparse) == \
        (theirs.padding_idx, theirs.max_norm, theirs.norm_type, theirs.scale_grad_by_freq, theirs.sparse)
    assert ours.weight.requires_grad
    out_t, out_a = theirs(torch.tensor(IDS)), ours(ag.tensor(IDS))
    np.testing.assert_allclose(out_a.numpy(), out_t.detach().numpy(), rtol=1e-6, atol=0)
    (out_t ** 2).sum().backward()
    (out_a ** 2).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-6, atol=0)


@pytest.mark.parametrize("padding_idx", [None, 0])
def test_scale_grad_by_freq_gradcheck_and_second_order(device, padding_idx):
    """The scaled gradient is, on purpose, not the lookup's derivative. It is the derivative of
    w -> w[ids] * keep / count, so check against that: this function's value is that
    product, while its gradient flows only through the scaled lookup."""
    weight = ag.randn(7, 3, dtype=ag.float64, requires_grad=True)
    ids = ag.tensor(IDS)
    factor = 1 / np.bincount(IDS.ravel(), minlength=7)[IDS]
    if padding_idx is not None:
        factor = factor * (IDS != padding_idx)
    factor = ag.tensor(factor[..., None], dtype=ag.float64)

    def fn(w):
        looked_up = embedding(ids, w, padding_idx, scale_grad_by_freq=True)
        surrogate = looked_up + (w[ids] * factor - looked_up).detach()
        return surrogate ** 2  # squared, so the second derivative is not zero

    assert ag.gradcheck(fn, (weight,))
    assert ag.gradgradcheck(fn, (weight,))


def test_sparse_is_refused_everywhere(device):
    w = ag.randn(4, 2)
    fix = r"sparse=True.*no sparse tensors.*use sparse=False"
    with pytest.raises(ValueError, match=fix):
        embedding(ag.tensor([0, 1]), w, sparse=True)
    with pytest.raises(ValueError, match=fix):
        nn.Embedding(4, 2, sparse=True)
    with pytest.raises(ValueError, match=fix):
        nn.Embedding.from_pretrained(w, sparse=True)
    table = nn.Embedding(4, 2, sparse=False)
    table.sparse = True  # changed after construction: the lookup refuses it too
    with pytest.raises(ValueError, match=fix):
        table([0])


BAD_OPTIONS = [
    (dict(max_norm=-1.0), ValueError, "max_norm must be a positive number"),
    (dict(max_norm=0), ValueError, "max_norm must be a positive number"),
    (dict(max_norm=math.nan), ValueError, "max_norm must be a positive number"),
    (dict(max_norm="1"), TypeError, "max_norm must be a positive number or None, not str"),
    (dict(max_norm=True), TypeError, "max_norm must be a positive number or None, not bool"),
    (dict(max_norm=1.0, norm_type=0), ValueError, "norm_type must be a positive number"),
    (dict(max_norm=1.0, norm_type=-math.inf), ValueError, "norm_type must be a positive number"),
    (dict(max_norm=1.0, norm_type=math.nan), ValueError, "norm_type must be a positive number"),
    (dict(max_norm=1.0, norm_type="fro"), TypeError, "norm_type must be a positive number.*not str"),
    (dict(max_norm=1.0, scale_grad_by_freq=1), TypeError, "scale_grad_by_freq must be True or False, not int"),
    (dict(max_norm=1.0, sparse=None), TypeError, "sparse must be True or False, not NoneType"),
]


@pytest.mark.parametrize("kwargs, error, message", BAD_OPTIONS)
def test_bad_options_are_rejected_before_the_weight_changes(device, kwargs, error, message):
    weight = ag.randn(5, 3, dtype=ag.float64) * 10
    before = weight.numpy().copy()
    with pytest.raises(error, match=message):
        embedding(ag.tensor([0, 1, 4]), weight, **kwargs)
    with pytest.raises(error, match=message):
        nn.Embedding(5, 3, **kwargs)
    with pytest.raises(error, match=message):
        nn.Embedding.from_pretrained(weight, **kwargs)
    table = nn.Embedding(5, 3, max_norm=1.0, _weight=weight)
    for name, value in kwargs.items():
        setattr(table, name, value)
    with pytest.raises(error, match=message):
        table([0, 1, 4])
    np.testing.assert_array_equal(weight.numpy(), before)
    assert weight._version is None or weight._version.value == 0
    with pytest.raises(IndexError, match="index 5 is out of range"):  # bad ids: nothing renormalized either
        embedding(ag.tensor([0, 5]), weight, max_norm=1.0)
    np.testing.assert_array_equal(weight.numpy(), before)


def test_freeze(device):
    assert not nn.Embedding(3, 2, _freeze=True).weight.requires_grad
    assert nn.Embedding(3, 2).weight.requires_grad
    frozen = nn.Embedding(3, 2, _weight=ag.ones((3, 2)), _freeze=True)
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen([2]).numpy(), np.ones((1, 2)))
    with pytest.raises(TypeError, match="_freeze must be True or False"):
        nn.Embedding(3, 2, _freeze=1)
    # from_pretrained takes any truthy freeze, as PyTorch does
    assert not nn.Embedding.from_pretrained(ag.ones((3, 2)), freeze=1).weight.requires_grad
    assert nn.Embedding.from_pretrained(ag.ones((3, 2)), freeze=0).weight.requires_grad


def test_signatures_follow_pytorch(torch):
    def names(fn):
        return [p for p in inspect.signature(fn).parameters if p != "self"]
    assert names(nn.Embedding.__init__) == names(torch.nn.Embedding.__init__)
    assert names(nn.Embedding.from_pretrained) == names(torch.nn.Embedding.from_pretrained)
    assert names(embedding) == names(torch.nn.functional.embedding)
    table = nn.Embedding(5, 3, 1, 2.0, 3.0, True)  # positionally, in PyTorch's order
    assert (table.padding_idx, table.max_norm, table.norm_type, table.scale_grad_by_freq) == (1, 2.0, 3.0, True)


@pytest.mark.parametrize("kwargs", [
    dict(), dict(padding_idx=-1), dict(max_norm=1), dict(max_norm=1.5, norm_type=1.0),
    dict(norm_type=math.inf), dict(norm_type=2), dict(scale_grad_by_freq=True),
    dict(padding_idx=2, max_norm=1.0, norm_type=3, scale_grad_by_freq=True),
])
def test_repr_matches_pytorch(torch, kwargs):
    assert repr(nn.Embedding(10, 3, **kwargs)) == repr(torch.nn.Embedding(10, 3, **kwargs))


# --- the options together, on non-leaf weights and views, and second order, against PyTorch ---

def _embedding_pair(torch, rng, shape=(6, 3), scale=3.0):
    return float64_leaves(torch, rng.standard_normal(shape) * scale)


def _backward_both(torch, rng, ya, yt):
    """Backward through both lookups with the same random output gradient, in their dtype."""
    g = rng.standard_normal(tuple(yt.shape)).astype(ya.numpy().dtype)
    (ya * ag.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5])
def test_max_norm_under_no_grad_renorms_as_pytorch(device, torch, norm_type):
    rng = np.random.default_rng(2)
    wa, wt = _embedding_pair(torch, rng)
    ids = [[0, 2, 2], [5, 0, 1]]
    with ag.no_grad():
        ya = embedding(ag.tensor(ids), wa, max_norm=1.5, norm_type=norm_type)
    with torch.no_grad():
        yt = torch.nn.functional.embedding(torch.tensor(ids), wt, max_norm=1.5, norm_type=norm_type)
    assert_close_to_torch(ya, yt)
    assert_close_to_torch(wa.detach(), wt.detach())
    assert not ya.requires_grad


def test_max_norm_with_padding_idx_and_duplicate_ids(device, torch):
    rng = np.random.default_rng(3)
    wa, wt = _embedding_pair(torch, rng)
    ids = [1, 4, 1, 1, 3, 4]
    ya = embedding(ag.tensor(ids), wa, padding_idx=4, max_norm=0.7)
    yt = torch.nn.functional.embedding(torch.tensor(ids), wt, padding_idx=4, max_norm=0.7)
    assert_close_to_torch(ya, yt)
    assert_close_to_torch(wa.detach(), wt.detach())
    _backward_both(torch, rng, ya, yt)
    assert_close_to_torch(wa.grad, wt.grad)


def test_max_norm_and_scale_grad_by_freq_together_float32(device, torch):
    rng = np.random.default_rng(4)
    w = (rng.standard_normal((7, 4)) * 2).astype(np.float32)
    wa = ag.tensor(w, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    ids = [[2, 2, 6], [2, 0, 6]]
    ya = embedding(ag.tensor(ids), wa, max_norm=1.0, scale_grad_by_freq=True, padding_idx=0)
    yt = torch.nn.functional.embedding(torch.tensor(ids), wt, max_norm=1.0, scale_grad_by_freq=True,
                                       padding_idx=0)
    assert ya.dtype == ag.float32
    np.testing.assert_allclose(ya.numpy(), yt.detach().numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(wa.detach().numpy(), wt.detach().numpy(), rtol=1e-6, atol=1e-7)
    _backward_both(torch, rng, ya, yt)
    np.testing.assert_allclose(wa.grad.numpy(), wt.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_max_norm_on_a_non_leaf_weight_matches_pytorch(device, torch):
    """The renorm writes into the non-leaf (outside autograd); w's gradient comes
    through the lookup only, as in PyTorch."""
    rng = np.random.default_rng(5)
    wa, wt = _embedding_pair(torch, rng)
    ids = [0, 3, 3, 5]
    weight_a, weight_t = wa * 2.0, wt * 2.0
    ya = embedding(ag.tensor(ids), weight_a, max_norm=1.0, scale_grad_by_freq=True)
    yt = torch.nn.functional.embedding(torch.tensor(ids), weight_t, max_norm=1.0, scale_grad_by_freq=True)
    assert_close_to_torch(ya, yt)
    assert_close_to_torch(weight_a.detach(), weight_t.detach())
    _backward_both(torch, rng, ya, yt)
    assert_close_to_torch(wa.grad, wt.grad)


def test_max_norm_on_a_weight_saved_by_its_producer_fails_backward_as_pytorch(device, torch):
    w = ag.tensor(np.full((3, 2), 2.0), dtype=ag.float64, requires_grad=True)
    weight = ag.exp(w)     # Exp keeps its output; the renorm changes it in place
    y = embedding(ag.tensor([0, 1]), weight, max_norm=1.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()


def test_max_norm_on_a_view_writes_through_to_the_base(device, torch):
    rng = np.random.default_rng(6)
    base = rng.standard_normal((8, 3)) * 3
    ba = ag.tensor(base, dtype=ag.float64)
    bt = torch.tensor(base)
    embedding(ag.tensor([0, 2]), ba[2:], max_norm=1.0)
    torch.nn.functional.embedding(torch.tensor([0, 2]), bt[2:], max_norm=1.0)
    assert_close_to_torch(ba, bt)


def test_scale_grad_by_freq_second_order_is_the_adjoint_of_the_scaled_backward(device, torch):
    """First order as PyTorch. Second order: topograd differentiates its scaled backward
    exactly (gather then scale); PyTorch's embedding_dense_double_backward drops the scale
    (a gather only), so the reference here is that backward written out in torch ops."""
    rng = np.random.default_rng(7)
    wa, wt = _embedding_pair(torch, rng, shape=(5, 2), scale=1.0)
    ids = [[1, 1, 3], [3, 1, 0]]
    ids_t = torch.tensor(ids)
    ya = embedding(ag.tensor(ids), wa, scale_grad_by_freq=True)
    yt = torch.nn.functional.embedding(ids_t, wt, scale_grad_by_freq=True)
    (ga,) = ag.grad((ya ** 3).sum(), [wa], create_graph=True)
    (gt,) = torch.autograd.grad((yt ** 3).sum(), [wt], create_graph=True)
    assert_close_to_torch(ga.detach(), gt)
    counts = torch.bincount(ids_t.reshape(-1), minlength=5).double()
    scale = (1 / counts[ids_t]).unsqueeze(-1)
    exact = torch.zeros_like(wt).index_add(0, ids_t.reshape(-1), (3 * yt ** 2 * scale).reshape(-1, 2))
    assert_close_to_torch(ga.detach(), exact)  # the same first-order gradient, now differentiable exactly
    (ga ** 2).sum().backward()
    (exact ** 2).sum().backward()
    assert_close_to_torch(wa.grad, wt.grad)


# --- NumPy integers as sizes ----------------------------------------------------------------------

def test_embedding_layers_take_numpy_integer_sizes_as_pytorch(torch):
    """nn.Embedding(ids.max() + 1, dim) raised "num_embeddings must be a positive int, got
    np.int64(5)" (as EmbeddingBag, the norm layers and every layer checked by positive_int
    did), and a NumPy padding_idx raised TypeError; PyTorch takes both."""
    rng = named_rng("numpy sizes embedding")
    ids = np.array([[3, 1, 4], [1, 0, 2]])
    num, dim, pad = ids.max() + 1, np.int32(3), np.int64(-4)
    table = rng.standard_normal((int(num), int(dim)))
    ours = nn.Embedding(num, dim, padding_idx=pad, _weight=ag.tensor(table, requires_grad=True))
    theirs = torch.nn.Embedding(num, dim, padding_idx=pad, _weight=torch.tensor(table))
    assert (ours.num_embeddings, ours.embedding_dim, ours.padding_idx) == (5, 3, 1)
    assert type(ours.num_embeddings) is int and type(ours.padding_idx) is int
    out, ref = ours(ag.tensor(ids)), theirs(torch.tensor(ids))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12)
    grad = rng.standard_normal(ref.shape)
    out.backward(ag.tensor(grad))
    ref.backward(torch.tensor(grad))
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12)  # row 1 none

    bag = nn.EmbeddingBag(num, dim, mode="sum", padding_idx=np.int64(1), _weight=ag.tensor(table))
    bag_ref = torch.nn.EmbeddingBag(num, dim, mode="sum", padding_idx=np.int64(1), _weight=torch.tensor(table))
    np.testing.assert_allclose(bag(ag.tensor(ids)).numpy(), bag_ref(torch.tensor(ids)).detach().numpy(), rtol=1e-12)


def test_the_indices_range_is_read_from_the_device_in_one_wait(monkeypatch):
    """The bounds check reads the least and greatest index through Backend.read_ints, one
    wait on a GPU where an int() of each device number waits twice (F.embedding runs every
    step of a language model)."""
    import backends
    on = type(backends.get_default())  # (the CUDA backend has a read_ints of its own)
    reads = []
    read_ints = on.read_ints
    monkeypatch.setattr(on, "read_ints", lambda self, *scalars: reads.append(len(scalars))
                        or read_ints(self, *scalars))
    weight = ag.tensor(np.arange(15.0).reshape(5, 3))
    np.testing.assert_array_equal(embedding(ag.tensor([[0, 4], [2, 2]]), weight).numpy(),
                                  np.arange(15.0).reshape(5, 3)[[[0, 4], [2, 2]]])
    assert reads == [2]
    with pytest.raises(IndexError, match=r"embedding: index 5 is out of range; indices must lie in \[0, 4\]"):
        embedding(ag.tensor([1, 5]), weight)
    with pytest.raises(IndexError, match="embedding: index -1 is out of range"):
        embedding(ag.tensor([-1, 2]), weight)
