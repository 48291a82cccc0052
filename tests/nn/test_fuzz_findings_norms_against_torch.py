"""What a differential fuzz of the normalization and embedding layers against PyTorch
turned up. The layers themselves (BatchNorm, InstanceNorm, LayerNorm, GroupNorm,
RMSNorm, LocalResponseNorm, Embedding, EmbeddingBag and the Lazy forms, over momentum,
affine, track_running_stats, eps, dtypes, state dicts and second derivatives) agreed;
these are the functional forms' argument checks and NumPy integer sizes."""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

from tests.torch_versions import needs_torch

from .torch_compare import named_rng


# --- one running buffer without the other -------------------------------------------------------

@pytest.mark.parametrize("op", ["batch_norm", "instance_norm"])
@pytest.mark.parametrize("missing", ["running_mean", "running_var"])
def test_one_running_buffer_alone_is_refused_and_left_unchanged(torch, op, missing):
    """F.batch_norm(training=True) and F.instance_norm(use_input_stats=True) updated the one
    buffer they were given and went on; PyTorch refuses the call, as the pair would drift apart."""
    rng = named_rng(f"one buffer {op} {missing}")
    x = rng.standard_normal((4, 3, 5))
    buffers = {"running_mean": rng.standard_normal(3), "running_var": rng.random(3) + 0.5}
    given = {name: (None if name == missing else ag.tensor(value)) for name, value in buffers.items()}
    given_torch = {name: (None if name == missing else torch.tensor(value)) for name, value in buffers.items()}
    with pytest.raises(ValueError, match="running_mean and running_var must either both be None"):
        getattr(torch.nn.functional, op)(torch.tensor(x), given_torch["running_mean"], given_torch["running_var"],
                                         None, None, True, 0.5)
    kept = "running_var" if missing == "running_mean" else "running_mean"
    with pytest.raises(ValueError, match=rf"^{op}: got {kept} without {missing}; pass both running buffers"):
        getattr(F, op)(ag.tensor(x), given["running_mean"], given["running_var"], None, None, True, 0.5)
    np.testing.assert_array_equal(given[kept].numpy(), buffers[kept])


# --- batch_norm's eps ----------------------------------------------------------------------------

@pytest.mark.parametrize("training, eps, message", [
    (True, 0.0, "eps must be positive in training, got 0.0"),
    (True, -1e-3, "eps must be positive in training, got -0.001"),
    (False, -1e-3, "eps must be non-negative, got -0.001"),
])
def test_batch_norm_refuses_an_eps_that_pytorch_refuses(torch, training, eps, message):
    """F.batch_norm took eps=0 in training (a constant channel gave NaN) and a negative eps
    anywhere (values past sqrt of a negative, or silently wrong ones where var + eps stayed
    positive), and updated the running statistics too; PyTorch raises ValueError."""
    rng = named_rng(f"batch_norm eps {training} {eps}")
    x = rng.standard_normal((4, 3, 5))
    mean, var = rng.standard_normal(3), rng.random(3) + 0.5
    with pytest.raises(ValueError, match="eps must be"):
        torch.nn.functional.batch_norm(torch.tensor(x), torch.tensor(mean), torch.tensor(var), training=training,
                                       eps=eps)
    running_mean, running_var = ag.tensor(mean), ag.tensor(var)
    with pytest.raises(ValueError, match=rf"^batch_norm: {message}"):
        F.batch_norm(ag.tensor(x), running_mean, running_var, training=training, eps=eps)
    np.testing.assert_array_equal(running_mean.numpy(), mean)
    np.testing.assert_array_equal(running_var.numpy(), var)


@needs_torch("2.13", "batch_norm takes eps=0 in evaluation from 2.13 on (2.11 refused it in both modes)")
def test_batch_norm_in_evaluation_takes_eps_zero_as_pytorch(torch):
    rng = named_rng("batch_norm eval eps 0")
    x, mean, var = rng.standard_normal((4, 3, 5)), rng.standard_normal(3), rng.random(3) + 0.5
    ours = F.batch_norm(ag.tensor(x), ag.tensor(mean), ag.tensor(var), training=False, eps=0.0)
    theirs = torch.nn.functional.batch_norm(torch.tensor(x), torch.tensor(mean), torch.tensor(var), training=False,
                                            eps=0.0)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


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


def test_norm_layers_take_numpy_integer_sizes_as_pytorch(torch):
    rng = named_rng("numpy sizes norms")
    x = rng.standard_normal((4, 6, 5))
    channels = np.int64(x.shape[1])
    float64 = {"dtype": torch.float64}
    pairs = [(nn.BatchNorm1d(channels, dtype=ag.float64), torch.nn.BatchNorm1d(channels, **float64)),
             (nn.GroupNorm(np.int64(2), channels, dtype=ag.float64),
              torch.nn.GroupNorm(np.int64(2), channels, **float64)),
             (nn.LocalResponseNorm(np.int64(3)), torch.nn.LocalResponseNorm(np.int64(3)))]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours(ag.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=type(ours).__name__)
    assert type(pairs[0][0].num_features) is int and type(pairs[1][0].num_groups) is int
    with pytest.raises(ValueError, match=r"^BatchNorm1d: num_features must be a positive int, got np\.int64\(0\)"):
        nn.BatchNorm1d(np.int64(0))
    with pytest.raises(ValueError, match=r"^Embedding: num_embeddings must be a positive int, got 2\.0"):
        nn.Embedding(2.0, 3)


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
