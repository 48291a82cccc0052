"""nn.Embedding against PyTorch, NumPy scatter-add references and finite differences."""
import numpy as np
import pytest

import autograd as ag
import nn
from nn.functional import embedding


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
    vectors = ag.randn(4, 2)
    frozen = nn.Embedding.from_pretrained(vectors)
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen(ag.tensor([3, 0])).numpy(), vectors.numpy()[[3, 0]])
    vectors.data[...] = 0  # the module holds a copy
    assert np.abs(frozen.weight.numpy()).sum() > 0
    assert nn.Embedding.from_pretrained(ag.randn(4, 2), freeze=False).weight.requires_grad


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
